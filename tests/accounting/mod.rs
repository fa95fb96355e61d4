//! Shared by the stress tests (`tests/stress_*.rs`): the counting global allocator and the
//! quiescing needed before comparing live bytes ([`Baseline`], from `tests/support/counting.rs`),
//! the settings the stress tests share ([`WORKERS`], [`LIMIT`], [`SETTLE_LIMIT`]), a watchdog
//! that runs a scenario on its own thread and fails with the last step it reached
//! ([`bounded`]), a panic hook that keeps intentional panics out of the log ([`quiet_panics`]),
//! and a way to print totals past the test harness's output capture ([`report`]).
//!
//! A stress binary declares `mod common;` next to `mod accounting;`: this module builds on
//! `tests/common/mod.rs`.
//!
//! Each stress binary includes this module once, so it has one counting allocator, and holds
//! a single `#[test]` that runs its scenarios one after the other: the test harness allocates
//! on its main thread when a test ends (it records the result, and starts the next test's
//! thread), which another test measuring live bytes at that moment would count as its own.
//!
//! Nothing here measures time. The watchdog's limit only turns a hang into a failure.

#![allow(dead_code)] // each stress binary uses a different subset

use std::fmt;
use std::io::Write;
use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread;
use std::time::Duration;

use crate::common::{on_own_thread, panic_message};

// ---------------------------------------------------------------------------------------------
// The counting allocator, baselines and settings.
// ---------------------------------------------------------------------------------------------

#[path = "../support/counting.rs"]
mod counting;

pub use counting::Baseline;

/// Workers per runtime: the CI machine has 2 cores.
pub const WORKERS: usize = 2;
/// The watchdog's limit for a whole scenario; it only turns a hang into a failure.
pub const LIMIT: Duration = Duration::from_secs(600);
/// The longest a runtime may take to settle after a storm.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// The watchdog.
// ---------------------------------------------------------------------------------------------

/// The step a scenario last reached and the round it was in, reported if it hangs. A
/// `&'static str` and a number: recording a step allocates nothing, so it cannot move the
/// live-byte count.
#[derive(Clone, Default)]
pub struct Progress(Arc<Mutex<(&'static str, usize)>>);

impl Progress {
    pub fn at(&self, step: &'static str, round: usize) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = (step, round);
    }
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (step, round) = *self.0.lock().unwrap_or_else(PoisonError::into_inner);
        write!(f, "{step:?} in round {round}")
    }
}

/// Runs `body` on its own thread and fails the test if it does not finish within `limit`,
/// naming the last step the body reached (the hung thread is left behind). A panic in `body`
/// fails the test as is.
#[track_caller]
pub fn bounded(name: &'static str, limit: Duration, body: impl FnOnce(&Progress) + Send + 'static) {
    let progress = Progress::default();
    let reached = progress.clone();
    on_own_thread(
        Some(name),
        limit,
        move || body(&progress),
        || {
            format!(
                "{name}: still running after {limit:?} (a deadlock or a lost wake-up?); last step \
             reached: {reached}"
            )
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Intentional panics and reports.
// ---------------------------------------------------------------------------------------------

/// Start the message of every panic a test causes on purpose with this: [`quiet_panics`]
/// keeps those out of the log. (A prefix, not a substring: an assertion that prints an
/// intentional panic's message must still show.)
pub const INTENTIONAL: &str = "intentional panic";

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// The hook [`quiet_panics`] replaced, called for every panic that is not intentional.
static PREVIOUS_HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Restores the previous panic hook when dropped.
pub struct QuietPanics(());

/// Installs a panic hook that says nothing for panics whose message starts with
/// [`INTENTIONAL`] and hands every other panic to the hook it replaces, so a failing
/// assertion still prints. The guard puts the previous hook back.
pub fn quiet_panics() -> QuietPanics {
    let previous = panic::take_hook();
    *PREVIOUS_HOOK
        .write()
        .unwrap_or_else(PoisonError::into_inner) = Some(previous);
    panic::set_hook(Box::new(|info| {
        if panic_message(info.payload()).is_some_and(|m| m.starts_with(INTENTIONAL)) {
            return;
        }
        if let Some(previous) = PREVIOUS_HOOK
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            previous(info);
        }
    }));
    QuietPanics(())
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        if thread::panicking() {
            // `set_hook` panics on a panicking thread. The quiet hook stays; it still hands
            // every unintended panic to the previous hook.
            return;
        }
        let previous = PREVIOUS_HOOK
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(previous) = previous {
            panic::set_hook(previous);
        }
    }
}

/// Prints one line to the process's stderr directly, past the harness's capture of `print!`
/// and `eprint!`, so that a passing stress test still shows its totals.
pub fn report(line: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

// ---------------------------------------------------------------------------------------------
// Drop accounting.
// ---------------------------------------------------------------------------------------------

/// One drop counter per future of a round.
pub type DropCounts = Arc<[AtomicU8]>;

/// `n` drop counters, all zero.
pub fn drop_counts(n: usize) -> DropCounts {
    (0..n).map(|_| AtomicU8::new(0)).collect()
}

/// Counts the drop of the future it sits in, in cell `index` of a [`DropCounts`].
pub struct DropOnce {
    pub counts: DropCounts,
    pub index: usize,
}

impl DropOnce {
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
