//! What the stress tests (`tests/stress_*.rs`) share: their settings, drop accounting, and a
//! way to print totals past the test harness's output capture.
//!
//! Each stress binary installs the [counting allocator](crate::counting) and holds a single
//! `#[test]` that runs its scenarios one after the other, under a [`Watchdog`](crate::Watchdog)
//! with the limit [`LIMIT`]: the test harness allocates on its main thread when a test ends (it
//! records the result, and starts the next test's thread), which another test measuring live
//! bytes at that moment would count as its own.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Workers per runtime: the CI machine has 2 cores.
pub const WORKERS: usize = 2;
/// The watchdog's limit for a whole scenario; it only turns a hang into a failure.
pub const LIMIT: Duration = Duration::from_secs(600);
/// The longest a runtime may take to settle after a storm.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(60);

/// Prints one line to the process's stderr directly, past the harness's capture of `print!`
/// and `eprint!`, so that a passing stress test still shows its totals.
pub fn report(line: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// One drop counter per future of a round.
pub type DropCounts = Arc<[AtomicU8]>;

/// `n` drop counters, all zero.
pub fn drop_counts(n: usize) -> DropCounts {
    (0..n).map(|_| AtomicU8::new(0)).collect()
}

/// Counts the drop of the future it sits in, in cell `index` of a [`DropCounts`].
pub struct DropOnce {
    /// The counters of the round.
    pub counts: DropCounts,
    /// This future's cell.
    pub index: usize,
}

impl DropOnce {
    /// Counts into cell `index` of `counts`.
    pub fn new(counts: &DropCounts, index: usize) -> DropOnce {
        DropOnce {
            counts: counts.clone(),
            index,
        }
    }
}

impl Drop for DropOnce {
    fn drop(&mut self) {
        self.counts[self.index].fetch_add(1, Ordering::SeqCst);
    }
}

/// Fails unless every counter in `range` is exactly 1: each of those futures was dropped, and
/// only once.
#[track_caller]
pub fn assert_dropped_once(
    counts: &DropCounts,
    range: std::ops::Range<usize>,
    what: fmt::Arguments<'_>,
) {
    for index in range {
        let count = counts[index].load(Ordering::SeqCst);
        assert!(
            count == 1,
            "{what}: future {index} was dropped {count} times, not once"
        );
    }
}

/// Fails if a counter in `range` is above 1, and returns how many are at 1: futures that may
/// or may not have been created, each dropped at most once.
#[track_caller]
pub fn count_dropped_at_most_once(
    counts: &DropCounts,
    range: std::ops::Range<usize>,
    what: fmt::Arguments<'_>,
) -> usize {
    let mut dropped = 0;
    for index in range {
        let count = counts[index].load(Ordering::SeqCst);
        assert!(
            count <= 1,
            "{what}: future {index} was dropped {count} times"
        );
        dropped += usize::from(count);
    }
    dropped
}
