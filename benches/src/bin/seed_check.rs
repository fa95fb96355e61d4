//! The seed scenario: a task suspended on a pending request, whose waker sits in that request,
//! must not outlive its runtime.
//!
//! This is the bug of redbadger/crux #268: with wakers that own their task, the chain
//! `Arc<Task> -> future -> request -> Waker -> Arc<Task>` is a cycle, and dropping the
//! executor frees nothing. genrt's waker is a key that owns nothing, so the same scenario
//! frees every byte.
//!
//! Run it with `cargo run --release -p genrt-benches --bin seed_check`. It prints what it verified and panics
//! (exit status 101) if genrt keeps the counter alive or retains a single byte.
//!
//! Steps:
//! - (a) one task on genrt: the counter drops to 1 when the runtime drops, and the stale
//!   waker, woken on this thread and on another one, does nothing and allocates nothing;
//! - (b) 10,000 such tasks on a 2-worker runtime: live bytes return to the baseline exactly
//!   while all 10,000 stale wakers are still held; waking them from 4 threads does nothing;
//! - (c) the same scenario on the comparison suite's `Arc<Task>` executor
//!   ([`ArcTaskExecutor`], the pre-fix Crux design) leaks.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Instant;

use genrt_benches::{ArcTaskExecutor, Contender, Spawner};
use support::counting::{allocations, live_bytes, thread_allocations, Baseline, CountingAlloc};
use support::{runtime, wait_until};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Pending tasks in steps (b) and (c).
const TASKS: usize = 10_000;
/// Threads that wake the stale wakers in step (b).
const WAKING_THREADS: usize = 4;
/// Prints a number with thousands separators: `10,000`.
struct Grouped(isize);

impl std::fmt::Display for Grouped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.0.unsigned_abs().to_string();
        let groups: Vec<&str> = digits
            .as_bytes()
            .rchunks(3)
            .rev()
            .map(|group| std::str::from_utf8(group).expect("ASCII digits"))
            .collect();
        let sign = if self.0 < 0 { "-" } else { "" };
        f.pad(&format!("{sign}{}", groups.join(",")))
    }
}

/// [`TASKS`], for printing.
const N: Grouped = Grouped(TASKS as isize);

// ---------------------------------------------------------------------------------------------
// The scenario: a task holding a counter, suspended on a request that holds its waker.
// ---------------------------------------------------------------------------------------------

/// Where a pending request leaves its task's waker. The task's future holds one `Arc` of it
/// (inside the request) and the "shell", here `main`, holds another.
type WakerSlot = Arc<Mutex<Option<Waker>>>;

/// Requests that have stored a waker at least once, so `main` can wait for them.
static STORED: AtomicUsize = AtomicUsize::new(0);

/// A request the shell never answers: every poll leaves the task's waker in the slot and
/// returns `Pending`. Hand-written, not `genrt::shell::request`, so that the very same future
/// runs on both executors of this program.
struct PendingRequest {
    slot: WakerSlot,
}

impl Future for PendingRequest {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if lock(&self.slot).replace(cx.waker().clone()).is_none() {
            STORED.fetch_add(1, Ordering::SeqCst);
        }
        Poll::Pending
    }
}

/// The task of the scenario: keeps `counter` alive until the request is answered (never).
async fn pending_task(counter: Arc<()>, slot: WakerSlot) {
    PendingRequest { slot }.await;
    drop(counter);
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn new_slots(count: usize) -> Vec<WakerSlot> {
    (0..count).map(|_| Arc::new(Mutex::new(None))).collect()
}

/// Waits for `count` requests to have stored their waker, counting from `STORED == 0`.
fn wait_for_stored(count: usize) {
    wait_until(&format!("{count} tasks stored their waker"), || {
        STORED.load(Ordering::SeqCst) >= count
    });
}

/// Wakes every waker in `slots`, split between `threads` threads, and returns how many
/// allocations the wakes made, counted on each waking thread around its wakes alone.
fn wake_all_from_threads(slots: &[WakerSlot], threads: usize) -> usize {
    let chunk = slots.len().div_ceil(threads).max(1);
    thread::scope(|scope| {
        let wakers: Vec<_> = slots
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    let before = thread_allocations();
                    for slot in chunk {
                        if let Some(waker) = lock(slot).as_ref() {
                            waker.wake_by_ref();
                        }
                    }
                    thread_allocations() - before
                })
            })
            .collect();
        // Joined explicitly: the end of a scope does not wait for a thread to finish exiting,
        // and a thread still exiting would free its last bytes during a later measurement.
        wakers
            .into_iter()
            .map(|waker| waker.join().expect("a waking thread panicked"))
            .sum()
    })
}

// ---------------------------------------------------------------------------------------------
// Step (a): one task on genrt.
// ---------------------------------------------------------------------------------------------

fn genrt_one_task() -> usize {
    println!("(a) genrt, one task suspended on a request that holds its waker");
    STORED.store(0, Ordering::SeqCst);
    let counter = Arc::new(());
    let slot: WakerSlot = Arc::new(Mutex::new(None));
    let rt = runtime(2);
    let join = rt.spawn(pending_task(counter.clone(), slot.clone()));
    wait_for_stored(1);
    let before = Arc::strong_count(&counter);
    println!("    counter strong_count before the runtime drops: {before}");
    assert_eq!(
        before, 2,
        "the task must hold the counter while it is pending"
    );

    drop(rt);
    let after = Arc::strong_count(&counter);
    println!("    counter strong_count after the runtime dropped: {after}");
    assert_eq!(
        after, 1,
        "genrt leaked the future: dropping the runtime must drop every task's future, \
         even one whose waker is still held"
    );
    assert!(join.is_finished(), "the join handle must see the task end");
    let cancelled = futures::executor::block_on(join).is_err_and(|e| e.is_cancelled());
    assert!(
        cancelled,
        "the join handle must resolve to a cancelled JoinError"
    );
    println!("    the task's JoinHandle resolved to a cancelled JoinError");

    let stale = lock(&slot).clone().expect("the request stored a waker");
    let allocations_before = thread_allocations();
    stale.wake_by_ref();
    let here = thread_allocations() - allocations_before;
    let stale_elsewhere = stale.clone();
    let there = thread::spawn(move || {
        let allocations_before = thread_allocations();
        stale_elsewhere.wake();
        thread_allocations() - allocations_before
    })
    .join()
    .expect("the waking thread panicked");
    assert_eq!(Arc::strong_count(&counter), 1);
    assert_eq!(here + there, 0, "a stale genrt wake must not allocate");
    println!(
        "    stale waker woken on this thread and on another: nothing happened \
         (counter still 1, 0 allocations)"
    );
    after
}

// ---------------------------------------------------------------------------------------------
// Step (b): 10,000 tasks on genrt.
// ---------------------------------------------------------------------------------------------

/// Creates and drops a runtime that runs a few tasks, so that lazily allocated process-wide
/// state (thread machinery, queue internals, the lock tables) exists before the baseline.
fn warm_up() {
    let rt = runtime(2);
    rt.block_on(async {
        let handles: Vec<_> = (0..64).map(|i| genrt::spawn(async move { i })).collect();
        for handle in handles {
            handle.await.expect("a warm-up task failed");
        }
    });
    let slots = new_slots(64);
    STORED.store(0, Ordering::SeqCst);
    for slot in &slots {
        drop(rt.spawn(pending_task(Arc::new(()), slot.clone())));
    }
    wait_for_stored(slots.len());
    drop(rt);
    wake_all_from_threads(&slots, WAKING_THREADS);
}

struct Retention {
    counter_after_drop: usize,
    bytes_per_task: isize,
    retained: isize,
}

fn genrt_many_tasks() -> Retention {
    println!("(b) genrt, {N} such tasks on a 2-worker runtime");
    warm_up();
    // Everything `main` keeps is allocated before the baseline: the counter and the slots
    // that will hold the stale wakers.
    let counter = Arc::new(());
    let slots = new_slots(TASKS);
    STORED.store(0, Ordering::SeqCst);

    let baseline = Baseline::take();
    let allocations_before = allocations();
    let rt = runtime(2);
    for slot in &slots {
        // The join handle is dropped: the task is detached and keeps running (pending).
        drop(rt.spawn(pending_task(counter.clone(), slot.clone())));
    }
    wait_for_stored(TASKS);
    let spawned = live_bytes() - baseline.bytes();
    let task_allocations = allocations() - allocations_before;
    assert_eq!(Arc::strong_count(&counter), TASKS + 1);
    println!(
        "    live bytes: baseline {}, +{} with {N} pending tasks \
         ({} bytes and {:.2} allocations per pending task, runtime included)",
        Grouped(baseline.bytes()),
        Grouped(spawned),
        spawned / TASKS as isize,
        task_allocations as f64 / TASKS as f64
    );

    drop(rt);
    let counter_after_drop = Arc::strong_count(&counter);
    let unsettled = live_bytes() - baseline.bytes();
    let retained = baseline.measure() - baseline.bytes();
    let held = slots.iter().filter(|slot| lock(slot).is_some()).count();
    println!(
        "    after the runtime dropped, with {} stale wakers still held: \
         {} bytes retained, counter strong_count {counter_after_drop}",
        Grouped(held as isize),
        Grouped(retained)
    );
    println!(
        "    (settled as at the baseline; right after Runtime::drop returned, {} bytes were \
         still waiting for crossbeam-epoch's deferred frees, chiefly the per-thread records \
         of the exited workers)",
        Grouped(unsettled)
    );
    assert_eq!(held, TASKS, "every stale waker must still be held");

    let wake_allocations = wake_all_from_threads(&slots, WAKING_THREADS);
    assert_eq!(Arc::strong_count(&counter), 1);
    println!(
        "    woke all {N} stale wakers from {WAKING_THREADS} threads: nothing happened \
         ({wake_allocations} allocations, counter still 1)"
    );
    assert_eq!(wake_allocations, 0, "a stale genrt wake must not allocate");
    Retention {
        counter_after_drop,
        bytes_per_task: spawned / TASKS as isize,
        retained,
    }
}

// ---------------------------------------------------------------------------------------------
// Step (c): the same scenario on an executor whose wakers own their task.
// ---------------------------------------------------------------------------------------------

fn arc_one_task() -> usize {
    println!(
        "(c) the same scenario on the suite's Arc<Task> executor, one worker (wakers own \
         their task)"
    );
    STORED.store(0, Ordering::SeqCst);
    let counter = Arc::new(());
    let slot: WakerSlot = Arc::new(Mutex::new(None));
    let executor = ArcTaskExecutor::build(1);
    let spawner = executor.spawner();
    spawner.spawn_detached(pending_task(counter.clone(), slot.clone()));
    wait_for_stored(1);
    println!(
        "    counter strong_count before the executor drops: {}",
        Arc::strong_count(&counter)
    );
    drop(spawner);
    drop(executor);
    let after = Arc::strong_count(&counter);
    println!("    counter strong_count after the executor and spawner dropped: {after}");
    drop(slot);
    println!(
        "    ... and after main also dropped its slot and waker: {} \
         (Arc<Task> -> future -> request -> Waker -> Arc<Task> is a cycle)",
        Arc::strong_count(&counter)
    );
    after
}

fn arc_many_tasks() -> Retention {
    println!("    {N} such tasks on the Arc<Task> executor");
    let counter = Arc::new(());
    let slots = new_slots(TASKS);
    STORED.store(0, Ordering::SeqCst);

    let baseline = live_bytes();
    let executor = ArcTaskExecutor::build(1);
    let spawner = executor.spawner();
    for slot in &slots {
        spawner.spawn_detached(pending_task(counter.clone(), slot.clone()));
    }
    wait_for_stored(TASKS);
    let spawned = live_bytes() - baseline;
    println!(
        "    live bytes: +{} with {N} pending tasks ({} bytes per pending task)",
        Grouped(spawned),
        spawned / TASKS as isize
    );

    drop(spawner);
    drop(executor);
    let retained = live_bytes() - baseline;
    let counter_after_drop = Arc::strong_count(&counter);
    println!(
        "    after the executor and spawner dropped: {} bytes retained, counter \
         strong_count {}",
        Grouped(retained),
        Grouped(counter_after_drop as isize)
    );
    drop(slots);
    println!(
        "    after main also dropped every slot and waker: {} bytes still retained, \
         forever",
        Grouped(live_bytes() - baseline)
    );
    Retention {
        counter_after_drop,
        bytes_per_task: spawned / TASKS as isize,
        retained,
    }
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let started = Instant::now();

    let genrt_counter = genrt_one_task();
    println!();
    let genrt = genrt_many_tasks();
    println!();
    let arc_counter = arc_one_task();
    let arc = arc_many_tasks();

    println!();
    println!(
        "| executor | counter after drop | bytes retained after drop with {N} pending tasks |"
    );
    println!("|---|---|---|");
    println!("| genrt | {genrt_counter} | {} |", Grouped(genrt.retained));
    println!(
        "| Arc<Task> executor (benches/src/arc_task.rs) | {arc_counter} | {} |",
        Grouped(arc.retained)
    );
    println!();
    println!(
        "bytes per pending task while running: genrt {}, Arc<Task> executor {}",
        genrt.bytes_per_task, arc.bytes_per_task
    );

    assert!(
        genrt_counter == 1 && genrt.counter_after_drop == 1 && genrt.retained == 0,
        "genrt failed the seed scenario: counter after drop {genrt_counter} and {} \
         (expected 1 and 1), {} bytes retained (expected 0)",
        genrt.counter_after_drop,
        genrt.retained
    );
    assert!(
        arc_counter == 2 && arc.retained > 0,
        "the Arc<Task> contrast no longer leaks (counter {arc_counter}, {} bytes): the \
         comparison is broken",
        arc.retained
    );
    println!(
        "seed scenario verified: genrt frees every pending future and every byte when the \
         runtime drops ({:.2?})",
        started.elapsed()
    );
}
