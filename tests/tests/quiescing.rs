//! The quiescing that every live-byte comparison relies on (`support::counting`),
//! tested on its own: state that the process keeps for good and that a measurement could
//! reach at any moment is allocated before the baseline.
//!
//! One test, as in the stress binaries: the test harness allocates on its main thread when a
//! test ends, which another test measuring live bytes at that moment would count as its own.

use support::counting::{park_at_once, Baseline, CountingAlloc, PARKING_LOT_THREADS};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// parking_lot (genrt's locks and condition variables) replaces its process-wide table of
/// parked threads by a larger one, and keeps both, when more threads than ever before are
/// alive and have parked at least once. Whether a storm's foreign threads get there depends
/// on scheduling, so the growth once showed as 2,080 live bytes after a stress round
/// (issue 8, item 7). The quiescing grows the table for `PARKING_LOT_THREADS` threads before
/// the first baseline, so that many threads parking at once after it leave the live bytes
/// exactly where they were.
#[test]
fn threads_parking_at_once_after_the_baseline_leave_the_live_bytes_unchanged() {
    let baseline = Baseline::take();
    park_at_once(PARKING_LOT_THREADS);
    baseline.check(format_args!("{PARKING_LOT_THREADS} threads parked at once"));
}
