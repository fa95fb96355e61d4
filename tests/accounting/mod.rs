//! Shared by the stress tests (`tests/stress_*.rs`): a counting global allocator and the
//! quiescing needed before comparing live bytes ([`Baseline`]), a watchdog that runs a
//! scenario on its own thread and fails with the last step it reached ([`bounded`]), a panic
//! hook that keeps intentional panics out of the log ([`quiet_panics`]), and a way to print
//! totals past the test harness's output capture ([`report`]).
//!
//! Each stress binary includes this module once, so it has one counting allocator, and holds
//! a single `#[test]` that runs its scenarios one after the other: the test harness allocates
//! on its main thread when a test ends (it records the result, and starts the next test's
//! thread), which another test measuring live bytes at that moment would count as its own.
//!
//! Nothing here measures time. The watchdog's limit only turns a hang into a failure.

#![allow(dead_code)] // each stress binary uses a different subset

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt;
use std::io::Write;
use std::panic::{self, resume_unwind, PanicHookInfo};
use std::sync::atomic::{AtomicIsize, AtomicU8, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError, RwLock};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The counting allocator.
// ---------------------------------------------------------------------------------------------

/// Wraps the system allocator and counts live bytes.
pub struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and only
// adds bookkeeping on an atomic, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::SeqCst);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc_zeroed`'s
        // contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::SeqCst);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::SeqCst);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; `ptr` came from `System` with `layout`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::SeqCst);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated and not yet freed, process-wide.
pub fn live_bytes() -> isize {
    LIVE_BYTES.load(Ordering::SeqCst)
}

// ---------------------------------------------------------------------------------------------
// Baselines.
// ---------------------------------------------------------------------------------------------

/// How long quiescing may wait for threads to exit before the test fails.
const QUIESCE_LIMIT: Duration = Duration::from_secs(60);

/// Live bytes and thread count at a point where everything a scenario keeps for its whole run
/// is allocated; [`Baseline::check`] compares against it after each round.
pub struct Baseline {
    bytes: isize,
    threads: Option<usize>,
}

impl Baseline {
    /// Quiesces the process (see [`quiesce`]) and records its live bytes and threads.
    pub fn take() -> Baseline {
        let threads = thread_count();
        Baseline {
            bytes: quiesce(threads),
            threads,
        }
    }

    /// Quiesces the process and fails unless live bytes are back at the baseline exactly.
    #[track_caller]
    pub fn check(&self, what: fmt::Arguments<'_>) {
        let now = quiesce(self.threads);
        assert!(
            now == self.bytes,
            "live bytes after {what} ({now}) differ from the baseline ({}) by {} bytes",
            self.bytes,
            now - self.bytes
        );
    }
}

/// Number of threads of this process, where the platform tells.
pub fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task")
        .ok()
        .map(|dir| dir.count())
}

/// Brings the process to a state where live bytes can be compared, and returns them:
///
/// 1. waits until the process has no more threads than `threads`: threads a round started
///    (its runtime's workers, its foreign threads) have exited and freed their thread-locals;
/// 2. waits until the test harness's main thread sleeps (it allocates a little right after
///    it starts a test);
/// 3. drains crossbeam-epoch (under crossbeam-deque, the runtime's queues) and reads the live
///    bytes at a point of its cycle that does not depend on the round; see [`drain_epoch`].
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
/// bag, so one node is always in flight, and live bytes never settle on one value. Once the
/// backlog is gone they cycle: one flush in two pushes a bag, and the extra collect of
/// every 128th pin only shifts the phase (before the first such collect after a backlog,
/// every flush pushes one, a level one node higher). Measured with a counting allocator, as
/// printed flush by flush while writing these tests. So:
///
/// 1. flush in windows of 16 until a window's lowest live bytes equal the previous one's:
///    the backlog is drained;
/// 2. 128 more flushes, so that an extra collect has happened since: the cycle is the
///    one-in-two one;
/// 3. return the lowest live bytes over one more window, the cycle's low point.
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
        return None; // the test runs on the main thread itself
    }
    let main = std::fs::read_to_string(format!("/proc/self/task/{pid}/stat")).ok()?;
    // "tid (name) state ...": the name may hold spaces and parentheses.
    let state = main[main.rfind(')')? + 1..].split_whitespace().next()?;
    Some(state == "S")
}

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
    let (tx, rx) = mpsc::channel::<()>();
    let thread = {
        let progress = progress.clone();
        thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                body(&progress);
                let _ = tx.send(());
            })
            .expect("the scenario's thread starts")
    };
    match rx.recv_timeout(limit) {
        Ok(()) => thread.join().expect("the scenario finished"),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "{name}: still running after {limit:?} (a deadlock or a lost wake-up?); last step \
             reached: {progress}"
        ),
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(payload) => resume_unwind(payload),
            Ok(()) => unreachable!("the body sends before it returns"),
        },
    }
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
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
        if message.is_some_and(|m| m.starts_with(INTENTIONAL)) {
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
