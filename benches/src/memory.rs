//! The memory scenarios, measured with the counting allocator of `support`
//! ([`support::counting`]), which the binary must install and have counting.
//!
//! Each task awaits a request that is never resolved. The request stores the task's waker in
//! a slot that is also held outside the runtime (by a shell that never answers), the way a
//! pending shell request keeps its waker: `task -> future -> request slot -> waker`. Three
//! figures:
//!
//! - **bytes per pending task**: live bytes added by spawning the tasks, once all of them
//!   are suspended, divided by their number. The slots and the futures' own fields are
//!   created before the first reading and are the same for every contender, so this is
//!   what the runtime spends per task (its task record, slab or queue share, the future's
//!   space inside its allocation).
//! - **retained after drop**: the runtime is dropped while the held wakers are still alive;
//!   live bytes above the reading taken before the runtime was built. A key waker keeps
//!   nothing; an owning waker keeps its task's allocation (and what that references).
//! - **leaked**: the held wakers are dropped too; live bytes above the reading taken before
//!   anything was created. Only a cycle through the waker survives this: the `Arc<Task>`
//!   executor's `Arc<Task> -> future -> slot -> Waker -> Arc<Task>`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use support::counting::{live_bytes, quiesce, thread_count};

use crate::{Contender, TimerContender};

/// Tasks in the bytes-per-pending-task scenario.
pub const PENDING_TASKS: usize = 100_000;
/// Tasks in the leak scenario.
pub const LEAK_TASKS: usize = 10_000;
/// Tasks in the unmeasured warm-up run that initialises lazily built statics.
const WARMUP_TASKS: usize = 64;
/// How long to wait for a dropped runtime's threads to be gone.
const THREAD_EXIT_WAIT: Duration = Duration::from_secs(2);
/// How long to wait for every task's first poll before giving up.
const SUSPEND_TIMEOUT: Duration = Duration::from_secs(30);

/// The figures of one memory scenario for one contender.
#[derive(Clone, Debug)]
pub struct MemoryFigures {
    /// Tasks spawned.
    pub tasks: usize,
    /// Live bytes per pending task.
    pub bytes_per_task: f64,
    /// Live bytes left after the runtime was dropped, held wakers still alive.
    pub retained_bytes: isize,
    /// Live bytes left after the held wakers were dropped as well.
    pub leaked_bytes: isize,
    /// Worker threads still running after the runtime was dropped (the futures ThreadPool's
    /// workers stay while any pending task holds a clone of the pool).
    pub threads_left: usize,
}

/// The slot a pending request and its outside holder share.
struct WakerSlot(Mutex<Option<Waker>>);

/// A request that is never resolved: stores its task's waker in the shared slot and counts
/// its task as suspended on the first poll.
struct NeverResolved {
    slot: Arc<WakerSlot>,
    suspended: Arc<AtomicUsize>,
    counted: bool,
}

impl Future for NeverResolved {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        {
            let mut waker = self.slot.0.lock().unwrap_or_else(|e| e.into_inner());
            match &*waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *waker = Some(cx.waker().clone()),
            }
        }
        if !self.counted {
            self.counted = true;
            self.suspended.fetch_add(1, SeqCst);
        }
        Poll::Pending
    }
}

/// Runs the scenario for `C` with `tasks` pending tasks. Counting must be on
/// (not [paused](support::counting::pause)).
pub fn pending_tasks<C: Contender>(workers: usize, tasks: usize) -> MemoryFigures {
    // Unmeasured: lazily built statics (thread-locals of this thread, registries, ...) are
    // created here, not inside the measured run.
    scenario::<C>(workers, WARMUP_TASKS);
    scenario::<C>(workers, tasks)
}

/// Live bytes at a point that does not depend on what ran before: `support`'s quiescing
/// (it grows parking_lot's table of parked threads once, so that the runtime's workers
/// parking for the first time cannot grow it during a scenario, and drains crossbeam-epoch,
/// whose collector frees genrt's old deque buffers later and on whichever thread pins next,
/// to the low point of its cycle). The same reading the tests' exact comparisons use.
fn settled_live_bytes() -> isize {
    quiesce(None)
}

/// One measured run: create the requests and their holders, build, spawn, wait until every
/// task is suspended, drop the runtime, drop the holders; read live bytes at each step.
fn scenario<C: Contender>(workers: usize, tasks: usize) -> MemoryFigures {
    let begin = settled_live_bytes();
    let suspended = Arc::new(AtomicUsize::new(0));
    let mut requests = Vec::with_capacity(tasks);
    let mut held = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let slot = Arc::new(WakerSlot(Mutex::new(None)));
        held.push(slot.clone());
        requests.push(NeverResolved {
            slot,
            suspended: suspended.clone(),
            counted: false,
        });
    }
    let before_runtime = settled_live_bytes();

    let threads_before = thread_count().unwrap_or(0);
    let rt = C::build(workers);
    let spawner = rt.spawner();
    let before_spawn = live_bytes();
    for request in requests.drain(..) {
        crate::Spawner::spawn_detached(&spawner, request);
    }
    wait_suspended::<C>(&suspended, tasks);
    let all_pending = live_bytes();
    drop(spawner);
    let threads_left = rt.shutdown();
    // Threads that never exit (futures' ThreadPool with pending tasks) are not waited for.
    crate::threads::wait_for_at_most(threads_before + threads_left, THREAD_EXIT_WAIT);
    let after_drop = settled_live_bytes();
    drop(held);
    drop(requests);
    drop(suspended);
    let after_all = settled_live_bytes();

    MemoryFigures {
        tasks,
        bytes_per_task: (all_pending - before_spawn) as f64 / tasks as f64,
        retained_bytes: after_drop - before_runtime,
        leaked_bytes: after_all - begin,
        threads_left,
    }
}

/// Pending sleeps in the bytes-per-pending-sleep scenario.
pub const PENDING_SLEEPS: usize = 100_000;

/// Counts its task as suspended once its inner future has been polled (and, for a sleep,
/// registered) for the first time.
struct AfterFirstPoll<F> {
    inner: Pin<Box<F>>,
    suspended: Arc<AtomicUsize>,
    counted: bool,
}

impl<F: Future> Future for AfterFirstPoll<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let poll = self.inner.as_mut().poll(cx);
        if !self.counted {
            self.counted = true;
            self.suspended.fetch_add(1, SeqCst);
        }
        poll
    }
}

/// Bytes per pending sleep for `C`: live bytes with `sleeps` tasks each pending on a one-hour
/// sleep, minus live bytes with as many tasks pending on a future that never completes and
/// holds nothing, divided by `sleeps`. Each task boxes its inner future (the same wrapper for
/// both), so the difference is everything a pending sleep costs: the sleep future itself
/// (Tokio's timer entry lives inside it) and the timer's storage out of line (genrt's wheel
/// slot, async-io's reactor map node). Counting must be on.
pub fn pending_sleeps<C: TimerContender>(workers: usize, sleeps: usize) -> f64 {
    let sleep = || C::sleep(Duration::from_secs(3600));
    // Unmeasured warm-up, as in `pending_tasks`.
    sleep_scenario::<C, _>(workers, WARMUP_TASKS, sleep);
    let with = sleep_scenario::<C, _>(workers, sleeps, sleep);
    let without = sleep_scenario::<C, _>(workers, sleeps, std::future::pending::<()>);
    (with - without) as f64 / sleeps as f64
}

/// Live bytes added by spawning `tasks` tasks that each pend on a boxed future awaiting
/// `make()`, read once all of them were polled.
fn sleep_scenario<C: Contender, F>(
    workers: usize,
    tasks: usize,
    make: impl Fn() -> F + Copy + Send + 'static,
) -> isize
where
    F: Future<Output = ()> + Send + 'static,
{
    let suspended = Arc::new(AtomicUsize::new(0));
    let rt = C::build(workers);
    let spawner = rt.spawner();
    let before = settled_live_bytes();
    for _ in 0..tasks {
        crate::Spawner::spawn_detached(
            &spawner,
            AfterFirstPoll {
                // Made on the first poll, inside the runtime (Tokio's needs its context).
                inner: Box::pin(async move { make().await }),
                suspended: suspended.clone(),
                counted: false,
            },
        );
    }
    wait_suspended::<C>(&suspended, tasks);
    let all_pending = settled_live_bytes();
    drop(spawner);
    drop(rt);
    all_pending - before
}

/// Waits (at most [`SUSPEND_TIMEOUT`]) until `tasks` tasks of `C` counted themselves in
/// `suspended`.
fn wait_suspended<C: Contender>(suspended: &AtomicUsize, tasks: usize) {
    let deadline = Instant::now() + SUSPEND_TIMEOUT;
    while suspended.load(SeqCst) < tasks {
        assert!(
            Instant::now() < deadline,
            "{}: only {} of {tasks} tasks suspended",
            C::NAME,
            suspended.load(SeqCst)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
