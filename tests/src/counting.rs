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
//! Besides `std` it uses crossbeam-epoch (the same 0.9 as crossbeam-deque's, so one global
//! collector) and parking_lot (the same 0.12 as genrt's, so one global table of parked
//! threads).
//!
//! Nothing here measures time: the limit on quiescing only turns a hang into a failure.
//!
//! The allocator it wraps is the system's (glibc's malloc on Linux), or mimalloc with the
//! crate's `mimalloc` feature ([`INNER`] names it): a way to measure how much of a figure is
//! the system allocator's (`cargo run --release -p genrt-benches --features mimalloc --bin
//! compare`). Nothing of genrt depends on it.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Arc, Once, RwLock};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The counting allocator.
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "mimalloc")]
use mimalloc::MiMalloc as Inner;
#[cfg(not(feature = "mimalloc"))]
use std::alloc::System as Inner;

/// The allocator [`CountingAlloc`] forwards to: `"system"`, or `"mimalloc"` with the
/// crate's `mimalloc` feature.
pub const INNER: &str = if cfg!(feature = "mimalloc") {
    "mimalloc"
} else {
    "system"
};

/// Wraps the system allocator (or [`INNER`]) and counts live bytes and allocations, process-wide and per
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

// SAFETY: every method forwards to the inner allocator (`System`, or mimalloc) with the caller's arguments unchanged; the only
// addition is bookkeeping on atomics and a destructor-less thread-local, which never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { Inner.alloc(layout) };
        if !ptr.is_null() && counting() {
            record_allocation(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc_zeroed`'s
        // contract.
        let ptr = unsafe { Inner.alloc_zeroed(layout) };
        if !ptr.is_null() && counting() {
            record_allocation(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from the inner one,
        // with `layout`.
        unsafe { Inner.dealloc(ptr, layout) };
        if counting() {
            LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; `ptr` came from the inner allocator with `layout`, and the caller
        // upholds `GlobalAlloc::realloc`'s contract for `new_size`.
        let new = unsafe { Inner.realloc(ptr, layout, new_size) };
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

/// Live bytes and threads at a point where everything a measurement keeps for its whole run
/// is allocated; [`Baseline::check`] compares against it.
pub struct Baseline {
    bytes: isize,
    threads: Option<Threads>,
}

impl Baseline {
    /// Quiesces the process (see [`quiesce`]) and records its live bytes and threads.
    ///
    /// The threads kept are those alive both before and after quiescing: a thread joined just
    /// before (a watchdog's, a runtime's worker) can still be listed for a moment, and a later
    /// thread may be given its id.
    #[track_caller]
    pub fn take() -> Baseline {
        let mut threads = threads();
        let bytes = quiesce(threads.as_ref());
        if let Some(threads) = &mut threads {
            // In place: the baseline's own allocation is the one its bytes were read with.
            threads.keep_alive();
        }
        Baseline { bytes, threads }
    }

    /// The live bytes recorded.
    pub fn bytes(&self) -> isize {
        self.bytes
    }

    /// Quiesces the process as [`Baseline::take`] did and returns its live bytes, to compare
    /// with [`Baseline::bytes`].
    #[track_caller]
    pub fn measure(&self) -> isize {
        quiesce(self.threads.as_ref())
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

/// The ids of this process's threads at one moment (Linux `/proc/self/task`), to wait until
/// every thread started since has exited ([`Threads::others`]).
///
/// Ids, not a count: a thread that has been joined can still be listed for a moment (the
/// kernel wakes the joiner before it removes the thread), so a count read just after a join
/// can be one or two above the process's steady threads, and a later wait for "no more
/// threads than that" would then let as many threads started since go unnoticed. Names are
/// no better: a thread carries its creator's name until it first runs and names itself.
#[derive(Clone, Debug)]
pub struct Threads(Vec<u32>);

/// The ids of the process's threads now, in no particular order, where the platform tells.
fn thread_ids() -> Option<Vec<u32>> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(
        tasks
            .filter_map(|task| task.ok()?.file_name().to_str()?.parse().ok())
            .collect(),
    )
}

/// The process's threads now, where the platform tells (Linux `/proc`).
pub fn threads() -> Option<Threads> {
    thread_ids().map(Threads)
}

impl Threads {
    /// Threads alive now that are not in this snapshot: threads started since it (or given
    /// the id of one of its threads that has exited since: keep the snapshot's threads
    /// alive, as [`Baseline`] does).
    pub fn others(&self) -> usize {
        thread_ids().map_or(0, |now| {
            now.iter().filter(|id| !self.0.contains(id)).count()
        })
    }

    /// How many threads the snapshot holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the snapshot holds no thread.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Drops from the snapshot, in place, the threads that have exited since.
    fn keep_alive(&mut self) {
        if let Some(now) = thread_ids() {
            self.0.retain(|id| now.contains(id));
        }
    }
}

/// Number of threads of this process named `name` (as `/proc/self/task/*/comm` shows a
/// name: at most 15 bytes), where the platform tells (Linux `/proc`). For a test that waits
/// until the threads of the runtimes it made (named with `Builder::thread_name`) have exited:
/// a runtime shut down in the background, or one whose blocking threads are not joined,
/// leaves its threads to exit on their own. A thread that has not run yet still has its
/// creator's name (a thread names itself when it starts), so this can miss a runtime thread
/// started just before its runtime's shutdown; [`Threads::others`] does not.
pub fn threads_named(name: &str) -> Option<usize> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(
        tasks
            .filter_map(Result::ok)
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|comm| comm.trim_end() == name)
            })
            .count(),
    )
}

/// Number of threads of this process, where the platform tells (Linux `/proc`).
pub fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task")
        .ok()
        .map(|dir| dir.count())
}

/// Brings the process to a state where live bytes can be compared, and returns them:
///
/// 1. the first time, grows parking_lot's table of parked threads to its size for more
///    threads than a measurement runs, so that it cannot grow during one; see
///    `grow_parking_lot_table`;
/// 2. waits until the process has no thread that `threads` (the baseline's) does not hold:
///    threads started since (a runtime's workers, foreign threads) have exited and freed their
///    thread-locals. `Runtime`'s drop joins its workers, so this normally holds at once; that
///    the drop really waits is tested in `tests/tests/shutdown.rs`
///    (`dropping_the_runtime_joins_its_worker_threads`), so that a regression there is
///    reported by that test rather than as a flaky byte count. A runtime shut down in the
///    background leaves its threads to exit by themselves, and one started just before the
///    shutdown may not have run yet (on a loaded machine, for hundreds of milliseconds); it
///    frees what it holds, its runtime's last reference among them, only when it exits;
/// 3. waits until the test harness's main thread sleeps: after starting a test it makes a few
///    allocations of its own (its table of running tests, its channel's wait context) before
///    it blocks waiting for results, and on a loaded machine that can come after a baseline.
///    (Nothing to wait for when the caller is the main thread, as in an example.)
/// 4. drains crossbeam-epoch (under crossbeam-deque, the runtime's queues) and reads the live
///    bytes at a point of its cycle that does not depend on what ran before; see
///    [`drain_epoch`].
///
/// Fails if a wait takes longer than a generous limit: only a hang gets there.
#[track_caller]
pub fn quiesce(threads: Option<&Threads>) -> isize {
    grow_parking_lot_table();
    let deadline = Instant::now() + QUIESCE_LIMIT;
    if let Some(threads) = threads {
        while threads.others() > 0 {
            assert!(
                Instant::now() < deadline,
                "threads of the last round did not exit within {QUIESCE_LIMIT:?}: {:?} now, {} at the baseline",
                thread_count(),
                threads.len()
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

/// Creates and drops a 2-worker runtime, spawning and finishing a task on it through the
/// helpers a measurement uses, then quiesces: lazily allocated process-global state (the
/// standard library's, the allocator's, crossbeam's) exists before a baseline is taken. The
/// warm-up of the memory binaries that measure whole runtimes.
#[track_caller]
pub fn warm_up_runtime() {
    let threads = threads();
    let rt = crate::runtime(2);
    let done = Arc::new(AtomicUsize::new(0));
    let task = {
        let done = done.clone();
        rt.spawn(async move {
            genrt::yield_now().await;
            done.fetch_add(1, Ordering::SeqCst);
        })
    };
    crate::wait_for("the warm-up task", task).unwrap();
    crate::wait_until("the warm-up task was counted", || {
        done.load(Ordering::SeqCst) == 1 && rt.metrics().snapshot().live_tasks == 0
    });
    crate::drop_runtime(rt);
    quiesce(threads.as_ref());
}

/// The threads `grow_parking_lot_table` sizes parking_lot's table for: more than any binary
/// that measures live bytes runs at once. The most is stress_spawn's 13 (8 spawning threads,
/// 2 workers, the scenario's own thread and the test harness's two); the other stress tests
/// run 9. The table it gets has 256 buckets (16 KiB), enough for 85 threads.
pub const PARKING_LOT_THREADS: usize = 64;

/// Grows parking_lot's table of parked threads, once per process, to its size for
/// [`PARKING_LOT_THREADS`] threads.
///
/// genrt's locks and condition variables are parking_lot's, which keeps one process-wide hash
/// table of wait queues, sized for the threads alive that have parked at least once: a
/// thread's first park (a wait on a condition variable, or a lock it found held for long)
/// gives it a record, and when the table has fewer than 3 buckets per record it is replaced
/// by one of the next power of two. Neither table is ever freed (parked threads may still
/// read the old one), so each growth adds a table for good: 32 buckets of 64 bytes and the
/// table's 32-byte header (2,080 bytes) when a 6th thread has a record, 4,128 bytes at the
/// 11th. How many threads of a storm park depends on scheduling (a spawning or waking thread
/// parks only if it finds a lock held long enough): the runtime's idle workers and the
/// scenario's thread (waiting for a dropped runtime's workers) have a record in nearly every
/// round, the foreign threads only now and then, and more than two of them at once rarely.
/// So the table could first grow in any round, after the baseline, and show as 2,080 bytes
/// above it (issue 8, item 7: stress_spawn, racing round 20); the warm-up rounds before the
/// baseline cannot be trusted to reach the same peak.
///
/// Here [`park_at_once`] makes a record on `PARKING_LOT_THREADS` threads at once; from then
/// on the table only grows if more threads than that have records at once, which no
/// measurement here does, and which would still show as a difference.
fn grow_parking_lot_table() {
    static GROWN: Once = Once::new();
    GROWN.call_once(|| park_at_once(PARKING_LOT_THREADS));
}

/// Starts `threads` threads that each park once with parking_lot (a wait that times out at
/// once: it gives the thread its record, growing parking_lot's table if needed, without
/// sleeping) and keep their record until every one of them has it; then joins them.
#[track_caller]
pub fn park_at_once(threads: usize) {
    // Write-locked until every thread has its record; a thread exits once it can read. The
    // guard is dropped on every path out of here, a failed assertion included, so no thread
    // is left waiting.
    let gate = Arc::new(RwLock::new(()));
    let closed = gate.write().unwrap_or_else(|e| e.into_inner());
    let recorded = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (gate, recorded) = (gate.clone(), recorded.clone());
            thread::spawn(move || {
                let lock = parking_lot::Mutex::new(());
                let mut guard = lock.lock();
                parking_lot::Condvar::new().wait_for(&mut guard, Duration::ZERO);
                drop(guard);
                recorded.fetch_add(1, Ordering::SeqCst);
                drop(gate.read());
            })
        })
        .collect();
    let deadline = Instant::now() + QUIESCE_LIMIT;
    while recorded.load(Ordering::SeqCst) < threads {
        assert!(
            Instant::now() < deadline,
            "only {} of {threads} threads parked within {QUIESCE_LIMIT:?}",
            recorded.load(Ordering::SeqCst)
        );
        thread::sleep(Duration::from_millis(1));
    }
    drop(closed);
    for handle in handles {
        handle.join().expect("a thread that parked once panicked");
    }
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
