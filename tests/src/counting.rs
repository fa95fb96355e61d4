//! The counting allocator, and the quiescing a live-byte comparison needs: shared by every
//! binary that measures memory (`tests/tests/memory.rs`, `tests/tests/waker_alloc.rs`, the stress tests,
//! and the suite's `compare`, `seed_check`, `effects_soak` and memory benchmark).
//!
//! [`CountingAlloc`] is a type, not an allocator in use: a binary that wants the figures
//! installs it itself,
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: support::counting::CountingAlloc = support::counting::CountingAlloc;
//! ```
//!
//! Counting is on from the start. A binary that also times code can switch it off around the
//! timed part with [`pause`]: while paused each call of the allocator costs one relaxed load
//! more than the system allocator's, and nothing else.
//!
//! Nothing here measures time: the limit on quiescing only turns a hang into a failure.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The counting allocator.
// ---------------------------------------------------------------------------------------------

/// Wraps the system allocator and counts live bytes and allocations, process-wide and per
/// thread, unless [paused](pause). A `realloc` counts as freeing the old block and allocating
/// the new one.
pub struct CountingAlloc;

/// Whether allocations are counted now: on unless a [`Paused`] guard lives. Read with
/// `Relaxed` on every allocation and free; it orders nothing, and a block allocated on one
/// side of a switch and freed on the other only shifts [`live_bytes`] by its size, which a
/// measurement taking differences within one counted stretch never sees.
static COUNTING: AtomicBool = AtomicBool::new(true);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // `const` and a `Cell<usize>`: no lazy initialisation and no destructor to register, so
    // touching it from inside the allocator never allocates.
    static THREAD_ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Whether to count now; the one relaxed load each call of the allocator pays while paused.
fn counting() -> bool {
    COUNTING.load(Ordering::Relaxed)
}

fn record_allocation(bytes: usize) {
    LIVE_BYTES.fetch_add(bytes as isize, Ordering::SeqCst);
    ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    // `try_with`: a thread being torn down may still allocate after its thread-locals are gone.
    let _ = THREAD_ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the only
// addition is bookkeeping on atomics and a destructor-less thread-local, which never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && counting() {
            record_allocation(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc_zeroed`'s
        // contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() && counting() {
            record_allocation(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `System`,
        // with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        if counting() {
            LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; `ptr` came from `System` with `layout`, and the caller
        // upholds `GlobalAlloc::realloc`'s contract for `new_size`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && counting() {
            LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::SeqCst);
            record_allocation(new_size);
        }
        new
    }
}

/// Bytes allocated and not yet freed, process-wide, as counted.
pub fn live_bytes() -> isize {
    LIVE_BYTES.load(Ordering::SeqCst)
}

/// Allocations made so far, process-wide, as counted.
pub fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::SeqCst)
}

/// Allocations made so far by the calling thread: other threads (workers, the test harness)
/// cannot disturb this count.
pub fn thread_allocations() -> usize {
    THREAD_ALLOCATIONS.with(Cell::get)
}

/// Switches counting off until the returned guard is dropped: for timed code, which then pays
/// one relaxed load per allocation and per free. Figures taken while paused are meaningless.
pub fn pause() -> Paused {
    Paused(COUNTING.swap(false, Ordering::Relaxed))
}

/// Counting switched off; see [`pause`]. Dropping it switches counting back on, if it was on.
#[must_use = "counting resumes as soon as the guard is dropped"]
pub struct Paused(bool);

impl Drop for Paused {
    fn drop(&mut self) {
        COUNTING.store(self.0, Ordering::Relaxed);
    }
}

/// Panics unless [`CountingAlloc`] is this binary's global allocator and counting is on:
/// every figure would read zero otherwise.
#[track_caller]
pub fn assert_counting() {
    let before = allocations();
    drop(std::hint::black_box(Box::new([0u8; 64])));
    assert!(
        allocations() > before,
        "memory figures need `#[global_allocator] static ALLOC: \
         support::counting::CountingAlloc = support::counting::CountingAlloc;` in this binary, \
         and counting not paused"
    );
}

// ---------------------------------------------------------------------------------------------
// Quiescing.
// ---------------------------------------------------------------------------------------------

/// How long quiescing may wait for threads to exit or sleep before it fails.
const QUIESCE_LIMIT: Duration = Duration::from_secs(60);

/// Live bytes and thread count at a point where everything a measurement keeps for its whole
/// run is allocated; [`Baseline::check`] compares against it.
pub struct Baseline {
    bytes: isize,
    threads: Option<usize>,
}

impl Baseline {
    /// Quiesces the process (see [`quiesce`]) and records its live bytes and threads.
    #[track_caller]
    pub fn take() -> Baseline {
        let threads = thread_count();
        Baseline {
            bytes: quiesce(threads),
            threads,
        }
    }

    /// The live bytes recorded.
    pub fn bytes(&self) -> isize {
        self.bytes
    }

    /// Quiesces the process as [`Baseline::take`] did and returns its live bytes, to compare
    /// with [`Baseline::bytes`].
    #[track_caller]
    pub fn measure(&self) -> isize {
        quiesce(self.threads)
    }

    /// Quiesces the process and fails unless live bytes are back at the baseline exactly.
    #[track_caller]
    pub fn check(&self, what: fmt::Arguments<'_>) {
        let now = self.measure();
        assert!(
            now == self.bytes,
            "live bytes after {what} ({now}) differ from the baseline ({}) by {} bytes",
            self.bytes,
            now - self.bytes
        );
    }
}

/// Number of threads of this process, where the platform tells (Linux `/proc`).
pub fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task")
        .ok()
        .map(|dir| dir.count())
}

/// Brings the process to a state where live bytes can be compared, and returns them:
///
/// 1. waits until the process has no more threads than `threads` (the count at the baseline):
///    threads started since (a runtime's workers, foreign threads) have exited and freed their
///    thread-locals. `Runtime`'s drop joins its workers, so this normally holds at once; that
///    the drop really waits is tested in `tests/tests/shutdown.rs`
///    (`dropping_the_runtime_joins_its_worker_threads`), so that a regression there is
///    reported by that test rather than as a flaky byte count;
/// 2. waits until the test harness's main thread sleeps: after starting a test it makes a few
///    allocations of its own (its table of running tests, its channel's wait context) before
///    it blocks waiting for results, and on a loaded machine that can come after a baseline.
///    (Nothing to wait for when the caller is the main thread, as in an example.)
/// 3. drains crossbeam-epoch (under crossbeam-deque, the runtime's queues) and reads the live
///    bytes at a point of its cycle that does not depend on what ran before; see
///    [`drain_epoch`].
///
/// Fails if a wait takes longer than a generous limit: only a hang gets there.
#[track_caller]
pub fn quiesce(threads: Option<usize>) -> isize {
    let deadline = Instant::now() + QUIESCE_LIMIT;
    if let Some(threads) = threads {
        while thread_count().is_some_and(|now| now > threads) {
            assert!(
                Instant::now() < deadline,
                "threads of the last round did not exit within {QUIESCE_LIMIT:?}: {:?} now, {threads} at the baseline",
                thread_count()
            );
            thread::sleep(Duration::from_millis(1));
        }
    }
    while !main_thread_sleeps().unwrap_or(true) {
        assert!(
            Instant::now() < deadline,
            "the test harness's main thread did not go to sleep within {QUIESCE_LIMIT:?}"
        );
        thread::sleep(Duration::from_millis(1));
    }
    drain_epoch()
}

/// Pin-and-flush rounds per window of [`drain_epoch`].
const EPOCH_WINDOW: usize = 16;
/// Most windows [`drain_epoch`] spends draining: 4,096 flushes, each collecting up to 8 bags.
const EPOCH_DRAIN_WINDOWS: usize = 256;
/// crossbeam-epoch 0.9's `Local::PINNINGS_BETWEEN_COLLECT`: every 128th pin of a thread also
/// collects.
const EPOCH_PINS_BETWEEN_COLLECTS: usize = 128;

/// Runs crossbeam-epoch's deferred frees until only its own perpetual garbage is left, and
/// returns the live bytes at the low point of that garbage's cycle.
///
/// An exited thread's epoch record and its last bag of garbage, and a grown deque's old
/// buffer, stay allocated until some thread pins the epoch and collects. Each flush of this
/// thread pushes its bag of garbage to the global queue and pops up to 8 expired bags; but
/// each pop defers the free of the queue's old head node (2,072 bytes) into this thread's
/// bag, so one node is always in flight, and live bytes never settle on one value: a fixed
/// number of flushes leaves them on either side of that node. Once the backlog is gone they
/// cycle: one flush in two pushes a bag, and the extra collect of every 128th pin only shifts
/// the phase (before the first such collect after a backlog, every flush pushes one, a level
/// one node higher). Measured with this allocator, as printed flush by flush. So:
///
/// 1. flush in windows of 16 until a window's lowest live bytes equal the previous one's:
///    the backlog is drained;
/// 2. 128 more flushes, so that an extra collect has happened since: the cycle is the
///    one-in-two one;
/// 3. return the lowest live bytes over one more window, the cycle's low point.
///
/// The live bytes right after this returns may be one node above the value it returns;
/// compare the returned values of two drains, not a drain's and a later `live_bytes()`.
pub fn drain_epoch() -> isize {
    let window = || {
        let mut lowest = isize::MAX;
        for _ in 0..EPOCH_WINDOW {
            crossbeam_epoch::pin().flush();
            lowest = lowest.min(live_bytes());
        }
        lowest
    };
    let mut previous = window();
    for _ in 0..EPOCH_DRAIN_WINDOWS {
        let lowest = window();
        if lowest == previous {
            break;
        }
        previous = lowest;
    }
    for _ in 0..EPOCH_PINS_BETWEEN_COLLECTS {
        crossbeam_epoch::pin().flush();
    }
    window()
}

/// Whether the process's main thread is asleep, if this is not the main thread and the
/// platform tells (Linux `/proc`).
fn main_thread_sleeps() -> Option<bool> {
    let pid = std::process::id();
    let this = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    if this.split_whitespace().next()? == pid.to_string() {
        return None; // the caller is the main thread itself
    }
    let main = std::fs::read_to_string(format!("/proc/self/task/{pid}/stat")).ok()?;
    // "tid (name) state ...": the name may hold spaces and parentheses.
    let state = main[main.rfind(')')? + 1..].split_whitespace().next()?;
    Some(state == "S")
}
