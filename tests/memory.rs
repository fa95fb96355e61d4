//! Allocation accounting: a counting global allocator shows that a dropped runtime gives back
//! every byte while its stale wakers are still held.
//!
//! The live-byte counter is process-global, so every test in this file takes `SERIAL` first.
//! Keep this file to tests that measure global live bytes: a test that ends while another one
//! measures makes the test harness allocate and free on its own threads, which shows up in a
//! global count (measurements on the current thread only live in `waker_alloc.rs`).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use common::{drop_runtime, runtime, wait_for, wait_until};

/// Wraps the system allocator and counts live bytes and allocations.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

fn record_allocation(bytes: usize) {
    LIVE_BYTES.fetch_add(bytes as isize, Ordering::SeqCst);
    ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and only
// adds bookkeeping on atomics, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            record_allocation(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc_zeroed`'s
        // contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record_allocation(layout.size());
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
            LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::SeqCst);
            record_allocation(new_size);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The counters are global: one test at a time in this file.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn live_bytes() -> isize {
    LIVE_BYTES.load(Ordering::SeqCst)
}

fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::SeqCst)
}

/// Creates and drops a runtime, spawning and finishing a task on it through the same helpers
/// the measurement uses, so that lazily allocated process-global state (the standard
/// library's, the allocator's, crossbeam's) exists before a baseline is taken.
fn warm_up() {
    let threads = thread_count();
    let rt = runtime(2);
    let done = Arc::new(AtomicUsize::new(0));
    let task = {
        let done = done.clone();
        rt.spawn(async move {
            genrt::yield_now().await;
            done.fetch_add(1, Ordering::SeqCst);
        })
    };
    wait_for("the warm-up task", task).unwrap();
    wait_until("the warm-up task was counted", || {
        done.load(Ordering::SeqCst) == 1 && rt.metrics().live_tasks == 0
    });
    drop_runtime(rt);
    settle(threads);
}

/// Number of threads of this process, where the platform tells.
fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task")
        .ok()
        .map(|dir| dir.count())
}

/// Brings the process to a state where live bytes can be compared:
///
/// 1. waits until the process has no more threads than `threads` (the count before a runtime
///    was built). `Runtime`'s drop joins its workers, so this normally holds at once; whether
///    the drop really waits for its threads is tested in `shutdown.rs`
///    (`dropping_the_runtime_joins_its_worker_threads`), so that a regression there is
///    reported by that test rather than as a flaky byte count here;
/// 2. waits until the test harness's main thread sleeps: after starting a test it makes a few
///    allocations of its own (its table of running tests, its channel's wait context) before
///    it blocks waiting for results, and on a loaded machine that can come after a baseline;
/// 3. lets crossbeam-epoch (under crossbeam-deque, the runtime's queues) run the deferred
///    frees it collects lazily: an exited thread's epoch record and its last bag of garbage
///    stay allocated until some other thread pins the epoch and collects. A fixed number of
///    pin-and-flush rounds brings its global queue back to the same state every time.
fn settle(threads: Option<usize>) {
    if let Some(threads) = threads {
        wait_until("the runtime's worker threads exited", || {
            thread_count().is_some_and(|now| now <= threads)
        });
    }
    wait_until("the test harness's main thread waits for results", || {
        main_thread_sleeps().unwrap_or(true)
    });
    for _ in 0..64 {
        crossbeam_epoch::pin().flush();
    }
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

/// Suspends forever; on its first poll it pushes its waker into a vector held by the test
/// and counts itself as suspended.
struct SuspendForever {
    wakers: Arc<Mutex<Vec<Waker>>>,
    suspended: Arc<AtomicUsize>,
    stored: bool,
}

impl Future for SuspendForever {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.stored {
            self.stored = true;
            self.wakers.lock().unwrap().push(cx.waker().clone());
            self.suspended.fetch_add(1, Ordering::SeqCst);
        }
        Poll::Pending
    }
}

#[test]
fn ten_thousand_suspended_tasks_give_back_every_byte_while_their_stale_wakers_are_held() {
    const TASKS: usize = 10_000;
    let _serial = serial();
    warm_up();

    // Everything the measurement itself keeps is allocated before the baseline.
    let counter = Arc::new(());
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::new(Mutex::new(Vec::with_capacity(TASKS)));
    let suspended = Arc::new(AtomicUsize::new(0));
    let threads = thread_count();
    settle(threads);
    let baseline = live_bytes();

    let rt = runtime(2);
    for _ in 0..TASKS {
        let counter = counter.clone();
        let future = SuspendForever {
            wakers: wakers.clone(),
            suspended: suspended.clone(),
            stored: false,
        };
        // Detached: the join handle would keep the task cell allocated.
        drop(rt.spawn(async move {
            let _counter = counter;
            future.await;
        }));
    }
    wait_until("all 10,000 tasks suspended", || {
        suspended.load(Ordering::SeqCst) == TASKS
    });
    assert_eq!(Arc::strong_count(&counter), TASKS + 1);
    let during = live_bytes();
    assert!(
        during - baseline >= (TASKS * 64) as isize,
        "the allocator sees the runtime's per-task allocations ({} bytes for {TASKS} tasks), \
         so a leak of them would show",
        during - baseline
    );

    drop_runtime(rt);

    assert_eq!(
        Arc::strong_count(&counter),
        1,
        "every suspended future was dropped with the runtime"
    );
    settle(threads);
    assert_eq!(
        Arc::strong_count(&wakers),
        1,
        "no future keeps the waker vector"
    );
    let held = wakers.lock().unwrap();
    assert_eq!(held.len(), TASKS, "all 10,000 stale wakers are still held");
    let after = live_bytes();
    assert_eq!(
        after,
        baseline,
        "live bytes after dropping the runtime ({after}) differ from the baseline before it \
         ({baseline}) by {} bytes, with the runtime's {TASKS} stale wakers held",
        after - baseline
    );

    // The stale wakers wake nothing and allocate nothing.
    let allocations_before = allocations();
    for waker in held.iter() {
        waker.wake_by_ref();
        let by_value = waker.clone();
        by_value.wake();
    }
    assert_eq!(
        live_bytes(),
        baseline,
        "waking stale wakers changed the live bytes"
    );
    assert_eq!(
        allocations(),
        allocations_before,
        "waking stale wakers allocated"
    );
    drop(held);
}
