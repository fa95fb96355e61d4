//! What is measured. Every workload is a function `fn(workers) -> Instance`, generic over the
//! [`Contender`], that builds the runtime and its fixtures (not timed) and returns an
//! [`Instance`] whose `iterate` is one timed iteration. Dropping the instance tears the
//! fixtures down and then drops the runtime.
//!
//! Parameters follow Tokio's `benches/rt_multi_threaded.rs` (NUM_SPAWN 10,000, stalls of
//! 10 µs, 200 tasks x 1,000 yields, 1,000 ping-pongs, a chain of 1,000 spawns, busy2 with
//! 1,000 spawns) so figures can be read next to Tokio's.

use std::future::{poll_fn, Future};
use std::hint::black_box;
use std::rc::Rc;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{mpsc, Arc};
use std::task::{Poll, RawWaker, RawWakerVTable, Waker};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::crux_app::{self, RoundTripApp};
use crate::genrt_rt::Genrt;
use crate::tokio_rt::Tokio;
use crate::{BlockingSpawner, Contender, Spawner, TimerContender};

/// Spawns in `spawn_many_*` and `spawn_many_remote_busy1` (Tokio's `NUM_SPAWN`).
pub const NUM_SPAWN: usize = 10_000;
/// Spawns in `spawn_many_remote_busy2` (Tokio's value for that bench).
pub const BUSY2_SPAWN: usize = 1_000;
/// How long a background task of the `remote_busy` benches stalls (Tokio's `STALL_DUR`).
pub const STALL: Duration = Duration::from_micros(10);
/// Tasks in `yield_many`.
pub const YIELD_TASKS: usize = 200;
/// Yields per task in `yield_many`.
pub const NUM_YIELD: usize = 1_000;
/// Rounds in `ping_pong`.
pub const NUM_PINGS: usize = 1_000;
/// Length of the spawn chain in `chained_spawn`.
pub const CHAIN: usize = 1_000;
/// Waker operations per iteration of the waker benches.
pub const WAKER_OPS: u64 = 10_000;
/// Tasks per iteration of the effect round trip.
pub const EFFECT_TASKS: usize = 100;
/// Closures per iteration of `blocking/spawn_blocking_many`.
pub const BLOCKING_CLOSURES: usize = 10_000;
/// The value every shell resolves requests with.
const ANSWER: u64 = 42;

/// One contender set up for one workload: `iterate` runs one timed iteration.
///
/// Drop order: the iteration closure first (its fixtures' guards stop background tasks and
/// release pending ones), then the runtime, which joins its threads.
pub struct Instance {
    iterate: Box<dyn FnMut()>,
    /// Never read: held only so that it drops after `iterate`.
    _runtime: Rc<dyn std::any::Any>,
}

impl Instance {
    /// An instance over `runtime`, which the closure may share through its own `Rc` clone.
    pub fn new<R: 'static>(runtime: Rc<R>, iterate: impl FnMut() + 'static) -> Instance {
        Instance {
            iterate: Box::new(iterate),
            _runtime: runtime,
        }
    }

    /// Runs one iteration.
    pub fn iterate(&mut self) {
        (self.iterate)();
    }
}

/// Sets a flag when dropped: how instances stop their background tasks before the runtime
/// goes.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

/// Busy-waits for [`STALL`], yielding the thread, as Tokio's `stall()` does.
fn stall() {
    let start = Instant::now();
    while start.elapsed() < STALL {
        std::thread::yield_now();
    }
}

// ---------------------------------------------------------------------------------------
// Tokio's suite
// ---------------------------------------------------------------------------------------

/// `spawn_many_local` from inside a task: one task spawns [`NUM_SPAWN`] tasks (its worker's
/// local queue), each decrements a counter; the last one signals the waiting caller.
pub fn spawn_many_local_task<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let spawner = rt.spawner();
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(0));
    Instance::new(rt, move || {
        rem.store(NUM_SPAWN, Relaxed);
        let (inner, tx, rem) = (spawner.clone(), tx.clone(), rem.clone());
        spawner.spawn_detached(async move {
            for _ in 0..NUM_SPAWN {
                let (tx, rem) = (tx.clone(), rem.clone());
                inner.spawn_detached(async move {
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        tx.send(()).unwrap();
                    }
                });
            }
        });
        rx.recv().unwrap();
    })
}

/// `spawn_many_local` as Tokio writes it: [`NUM_SPAWN`] spawns from inside `block_on`, which
/// is not a worker thread, then a blocking wait inside the same `block_on`.
pub fn spawn_many_local_block_on<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let this = rt.clone();
    let spawner = rt.spawner();
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(0));
    Instance::new(rt, move || {
        rem.store(NUM_SPAWN, Relaxed);
        this.block_on(async {
            for _ in 0..NUM_SPAWN {
                let (tx, rem) = (tx.clone(), rem.clone());
                spawner.spawn_detached(async move {
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        tx.send(()).unwrap();
                    }
                });
            }
            rx.recv().unwrap();
        });
    })
}

/// `spawn_many_remote_idle`: [`NUM_SPAWN`] spawns from outside the runtime, then `block_on`
/// joins them all.
pub fn spawn_many_remote_idle<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let this = rt.clone();
    let spawner = rt.spawner();
    let mut handles = Vec::with_capacity(NUM_SPAWN);
    Instance::new(rt, move || {
        for _ in 0..NUM_SPAWN {
            handles.push(spawner.spawn(async {}));
        }
        this.block_on(async {
            for handle in handles.drain(..) {
                handle.await;
            }
        });
    })
}

/// `spawn_many_remote_busy1`: as `remote_idle` while 2 x N background tasks loop on
/// `yield_now` and a 10 µs stall.
pub fn spawn_many_remote_busy1<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let this = rt.clone();
    let spawner = rt.spawner();
    let stop = Arc::new(AtomicBool::new(false));
    for _ in 0..2 * workers {
        let stop = stop.clone();
        spawner.spawn_detached(async move {
            while !stop.load(Relaxed) {
                <C::Spawner as Spawner>::yield_now().await;
                stall();
            }
        });
    }
    let guard = StopOnDrop(stop);
    let mut handles = Vec::with_capacity(NUM_SPAWN);
    Instance::new(rt, move || {
        let _ = &guard;
        for _ in 0..NUM_SPAWN {
            handles.push(spawner.spawn(async {}));
        }
        this.block_on(async {
            for handle in handles.drain(..) {
                handle.await;
            }
        });
    })
}

/// One link of `remote_busy2`'s background chains: stall, then spawn the next link.
fn busy_chain<S: Spawner>(spawner: S, stop: Arc<AtomicBool>) {
    let next = spawner.clone();
    spawner.spawn_detached(async move {
        if !stop.load(Relaxed) {
            stall();
            busy_chain(next, stop);
        }
    });
}

/// `spawn_many_remote_busy2`: [`BUSY2_SPAWN`] remote spawns and a join while N background
/// chains keep spawning tasks that stall 10 µs each.
pub fn spawn_many_remote_busy2<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let this = rt.clone();
    let spawner = rt.spawner();
    let stop = Arc::new(AtomicBool::new(false));
    for _ in 0..workers {
        let (inner, stop) = (spawner.clone(), stop.clone());
        spawner.spawn_detached(async move { busy_chain(inner, stop) });
    }
    let guard = StopOnDrop(stop);
    let mut handles = Vec::with_capacity(BUSY2_SPAWN);
    Instance::new(rt, move || {
        let _ = &guard;
        for _ in 0..BUSY2_SPAWN {
            handles.push(spawner.spawn(async {}));
        }
        this.block_on(async {
            for handle in handles.drain(..) {
                handle.await;
            }
        });
    })
}

/// `yield_many`: [`YIELD_TASKS`] tasks spawned from outside each yield [`NUM_YIELD`] times.
pub fn yield_many<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let spawner = rt.spawner();
    let (tx, rx) = mpsc::sync_channel(YIELD_TASKS);
    Instance::new(rt, move || {
        for _ in 0..YIELD_TASKS {
            let tx = tx.clone();
            spawner.spawn_detached(async move {
                for _ in 0..NUM_YIELD {
                    <C::Spawner as Spawner>::yield_now().await;
                }
                tx.send(()).unwrap();
            });
        }
        for _ in 0..YIELD_TASKS {
            rx.recv().unwrap();
        }
    })
}

/// `ping_pong`: a task spawns [`NUM_PINGS`] tasks; each spawns a partner and exchanges two
/// `tokio::sync::oneshot` messages with it (the same channel for every contender).
pub fn ping_pong<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let this = rt.clone();
    let spawner = rt.spawner();
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(0));
    Instance::new(rt, move || {
        rem.store(NUM_PINGS, Relaxed);
        let (outer, done_tx, rem) = (spawner.clone(), done_tx.clone(), rem.clone());
        this.block_on(async {
            spawner.spawn_detached(async move {
                for _ in 0..NUM_PINGS {
                    let (inner, done_tx, rem) = (outer.clone(), done_tx.clone(), rem.clone());
                    outer.spawn_detached(async move {
                        let (tx1, rx1) = oneshot::channel::<()>();
                        let (tx2, rx2) = oneshot::channel::<()>();
                        inner.spawn_detached(async move {
                            rx1.await.unwrap();
                            tx2.send(()).unwrap();
                        });
                        tx1.send(()).unwrap();
                        rx2.await.unwrap();
                        if rem.fetch_sub(1, Relaxed) == 1 {
                            done_tx.send(()).unwrap();
                        }
                    });
                }
            });
            done_rx.recv().unwrap();
        });
    })
}

/// One link of `chained_spawn`: spawn the next link, or signal at the end.
fn chain<S: Spawner>(spawner: S, done: mpsc::SyncSender<()>, n: usize) {
    if n == 0 {
        done.send(()).unwrap();
    } else {
        let next = spawner.clone();
        spawner.spawn_detached(async move { chain(next, done, n - 1) });
    }
}

/// `chained_spawn`: a chain of [`CHAIN`] tasks, each spawning the next.
pub fn chained_spawn<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let this = rt.clone();
    let spawner = rt.spawner();
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    Instance::new(rt, move || {
        let (inner, done_tx) = (spawner.clone(), done_tx.clone());
        this.block_on(async {
            spawner.spawn_detached(async move { chain(inner, done_tx, CHAIN) });
            done_rx.recv().unwrap();
        });
    })
}

// ---------------------------------------------------------------------------------------
// Wakers
// ---------------------------------------------------------------------------------------

/// A real task waker, taken from inside a task of the contender.
pub(crate) struct Probe {
    pub(crate) waker: Waker,
    pub(crate) polls: Arc<AtomicUsize>,
    release: Arc<AtomicBool>,
}

impl Probe {
    /// Spawns a task that hands out its waker on its first poll, counts its polls, and stays
    /// pending until released (`finish_now`: it finishes on its second poll, leaving a stale
    /// waker). Waits for the task to have finished in that case.
    pub(crate) fn spawn<C: Contender>(rt: &C, finish_now: bool) -> Probe {
        let polls = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(AtomicBool::new(finish_now));
        let (tx, rx) = mpsc::channel();
        let (task_polls, task_release) = (polls.clone(), release.clone());
        let mut tx = Some(tx);
        let task = poll_fn(move |cx| {
            task_polls.fetch_add(1, SeqCst);
            if let Some(tx) = tx.take() {
                tx.send(cx.waker().clone()).unwrap();
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if task_release.load(SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        if finish_now {
            let join = rt.spawner().spawn(task);
            rt.block_on(join);
        } else {
            rt.spawner().spawn_detached(task);
        }
        let waker = rx.recv().unwrap();
        Probe {
            waker,
            polls,
            release,
        }
    }
}

impl Probe {
    /// Wakes the pending task once more and waits until it has been polled after that wake,
    /// so that no queued wake of one iteration runs into the next.
    fn wake_and_wait_for_poll(&self) {
        let seen = self.polls.load(SeqCst);
        self.waker.wake_by_ref();
        while self.polls.load(SeqCst) == seen {
            std::thread::yield_now();
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        // Let a pending task finish, so it releases whatever it holds of its runtime.
        self.release.store(true, SeqCst);
        self.waker.wake_by_ref();
    }
}

/// `clone` then `drop` of a pending task's waker, [`WAKER_OPS`] times per iteration.
pub fn waker_clone_drop<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let probe = Probe::spawn(&*rt, false);
    Instance::new(rt, move || {
        for _ in 0..WAKER_OPS {
            drop(black_box(probe.waker.clone()));
        }
    })
}

/// `wake_by_ref` of a pending task from a foreign thread, [`WAKER_OPS`] times per iteration,
/// then a wait until the task has been polled after the last one. Most calls find the task
/// already scheduled; the Arc<Task> executor queues every one of them.
pub fn waker_wake_by_ref<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let probe = Probe::spawn(&*rt, false);
    Instance::new(rt, move || {
        for _ in 0..WAKER_OPS {
            probe.waker.wake_by_ref();
        }
        probe.wake_and_wait_for_poll();
    })
}

/// `wake_by_ref` of a stale waker (its task has finished), [`WAKER_OPS`] times per
/// iteration. `wake_by_ref` rather than `wake` so no clone is timed with it.
pub fn waker_stale_wake<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let probe = Probe::spawn(&*rt, true);
    Instance::new(rt, move || {
        for _ in 0..WAKER_OPS {
            black_box(&probe.waker).wake_by_ref();
        }
    })
}

/// `Waker::will_wake` between two clones of a task's waker, [`WAKER_OPS`] times per
/// iteration.
pub fn waker_will_wake<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let probe = Probe::spawn(&*rt, false);
    let other = probe.waker.clone();
    Instance::new(rt, move || {
        for _ in 0..WAKER_OPS {
            assert!(black_box(&probe.waker).will_wake(black_box(&other)));
        }
    })
}

/// `wake_by_ref` of a stale waker whose runtime itself has been dropped, from a foreign
/// thread, [`WAKER_OPS`] times per iteration. The task finished first (as in `stale_wake`),
/// then the runtime was dropped ([`Contender::drop_runtime`]) while its waker stayed held;
/// only the waker is left when timing starts.
pub fn waker_stale_wake_dropped<C: Contender>(workers: usize) -> Instance {
    let rt = C::build(workers);
    let probe = Probe::spawn(&rt, true);
    rt.drop_runtime();
    Instance::new(Rc::new(()), move || {
        for _ in 0..WAKER_OPS {
            black_box(&probe.waker).wake_by_ref();
        }
    })
}

/// `wake_by_ref` of one pending task from two foreign threads at once (the calling thread and
/// a [`Partner`]), [`WAKER_OPS`] times on each per iteration; most wakes find the task already
/// scheduled and coalesce. Timed: from the start signal until both threads are done, then one
/// more wake and a wait until the task has been polled after it (as in `wake_by_ref_pending`).
/// Divided by [`WAKER_OPS`], the time per wake per thread.
pub fn waker_coalesced_wake_2t<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let probe = Probe::spawn(&*rt, false);
    let theirs = probe.waker.clone();
    let mut partner = Partner::start(move || {
        for _ in 0..WAKER_OPS {
            black_box(&theirs).wake_by_ref();
        }
    });
    Instance::new(rt, move || {
        partner.together(|| {
            for _ in 0..WAKER_OPS {
                black_box(&probe.waker).wake_by_ref();
            }
        });
        probe.wake_and_wait_for_poll();
    })
}

/// `clone` then `drop` of one pending task's waker on two threads at once (the calling thread
/// and a [`Partner`], each with its own clone of the waker), [`WAKER_OPS`] times on each per
/// iteration. Timed: from the start signal until both threads are done; divided by
/// [`WAKER_OPS`], the time per clone+drop per thread. An owning waker's reference count is
/// one cache line that both threads write.
pub fn waker_clone_drop_2t<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let probe = Probe::spawn(&*rt, false);
    let theirs = probe.waker.clone();
    let mut partner = Partner::start(move || {
        for _ in 0..WAKER_OPS {
            drop(black_box(black_box(&theirs).clone()));
        }
    });
    Instance::new(rt, move || {
        partner.together(|| {
            for _ in 0..WAKER_OPS {
                drop(black_box(black_box(&probe.waker).clone()));
            }
        });
    })
}

/// `wake_by_ref` from two foreign threads at once, each of its own pending task (the calling
/// thread wakes one, a [`Partner`] the other), [`WAKER_OPS`] times on each per iteration.
/// Timed: from the start signal until both threads are done, then one more wake of each task
/// and a wait until both have been polled after it. Divided by [`WAKER_OPS`], the time per
/// wake per thread. Nothing is shared between the two but the runtime.
pub fn waker_wake_distinct_2t<C: Contender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let mine = Probe::spawn(&*rt, false);
    let other = Probe::spawn(&*rt, false);
    let theirs = other.waker.clone();
    let mut partner = Partner::start(move || {
        for _ in 0..WAKER_OPS {
            black_box(&theirs).wake_by_ref();
        }
    });
    Instance::new(rt, move || {
        partner.together(|| {
            for _ in 0..WAKER_OPS {
                black_box(&mine.waker).wake_by_ref();
            }
        });
        mine.wake_and_wait_for_poll();
        other.wake_and_wait_for_poll();
    })
}

// ---------------------------------------------------------------------------------------
// The floor: a no-op waker, the limit of any waker
// ---------------------------------------------------------------------------------------

/// The floor's vtable: every entry does nothing; `clone` returns the same no-op waker.
static FLOOR_VTABLE: RawWakerVTable =
    RawWakerVTable::new(floor_clone, floor_noop, floor_noop, floor_noop);

fn floor_clone(_data: *const ()) -> RawWaker {
    RawWaker::new(std::ptr::null(), &FLOOR_VTABLE)
}

fn floor_noop(_data: *const ()) {}

/// A no-op waker with a static vtable: what any waker operation costs at the least (the
/// indirect call through the vtable and nothing behind it). Every waker row times it with the
/// same loop as the runtimes' wakers, through `black_box`, so the call is not inlined away.
pub fn floor_waker() -> Waker {
    // SAFETY: the vtable's functions ignore the data pointer and never touch memory, so every
    // contract of `RawWakerVTable` (thread safety, clone returning an equivalent waker) holds.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &FLOOR_VTABLE)) }
}

/// The floor of `clone_drop`: clone and drop the no-op waker.
pub fn floor_clone_drop(_workers: usize) -> Instance {
    let waker = floor_waker();
    Instance::new(Rc::new(()), move || {
        for _ in 0..WAKER_OPS {
            drop(black_box(black_box(&waker).clone()));
        }
    })
}

/// The floor of the single-thread wakes (`wake_by_ref_pending`, `stale_wake`,
/// `stale_wake_dropped`): `wake_by_ref` of the no-op waker; there is no task to wait for.
pub fn floor_wake(_workers: usize) -> Instance {
    let waker = floor_waker();
    Instance::new(Rc::new(()), move || {
        for _ in 0..WAKER_OPS {
            black_box(&waker).wake_by_ref();
        }
    })
}

/// The floor of `will_wake`.
pub fn floor_will_wake(_workers: usize) -> Instance {
    let waker = floor_waker();
    let other = waker.clone();
    Instance::new(Rc::new(()), move || {
        for _ in 0..WAKER_OPS {
            assert!(black_box(&waker).will_wake(black_box(&other)));
        }
    })
}

/// The floor of the two-thread wakes (`coalesced_wake_2t`, `wake_distinct_2t`): both
/// threads `wake_by_ref` the no-op waker, started and stopped together as there.
pub fn floor_wake_2t(_workers: usize) -> Instance {
    let waker = floor_waker();
    let theirs = waker.clone();
    let mut partner = Partner::start(move || {
        for _ in 0..WAKER_OPS {
            black_box(&theirs).wake_by_ref();
        }
    });
    Instance::new(Rc::new(()), move || {
        partner.together(|| {
            for _ in 0..WAKER_OPS {
                black_box(&waker).wake_by_ref();
            }
        });
    })
}

/// The floor of `clone_drop_2t`.
pub fn floor_clone_drop_2t(_workers: usize) -> Instance {
    let waker = floor_waker();
    let theirs = waker.clone();
    let mut partner = Partner::start(move || {
        for _ in 0..WAKER_OPS {
            drop(black_box(black_box(&theirs).clone()));
        }
    });
    Instance::new(Rc::new(()), move || {
        partner.together(|| {
            for _ in 0..WAKER_OPS {
                drop(black_box(black_box(&waker).clone()));
            }
        });
    })
}

// ---------------------------------------------------------------------------------------
// Two threads at once
// ---------------------------------------------------------------------------------------

/// Spins before a waiting thread starts yielding its core: a handoff between two running
/// threads takes well under a microsecond, an iteration of a two-thread row 20 µs or more.
const SPINS_BEFORE_YIELD: u32 = 1 << 14;

/// Waits until `ready` returns true: spins, then yields the thread between looks (on a
/// loaded two-core machine the other thread may need this core).
fn wait_until(mut ready: impl FnMut() -> bool) {
    let mut spins = 0u32;
    while !ready() {
        if spins < SPINS_BEFORE_YIELD {
            spins += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// The partner thread's side of a [`Partner`]: the round it was asked to run, that it
/// started it, that it finished it.
#[derive(Default)]
struct PartnerState {
    /// The round asked for (0: none yet).
    go: AtomicU64,
    /// The last round the partner started.
    started: AtomicU64,
    /// The last round the partner finished.
    done: AtomicU64,
    /// Set once, when the partner should exit.
    stop: AtomicBool,
}

/// A second foreign thread that runs its work together with the calling thread: a
/// two-party barrier at the start (the caller asks for a round, the partner announces that
/// it has started it, and only then does the caller start its own share), and at the end
/// the caller waits until the partner's share is done too. Both wait by spinning, so they
/// start within a cache-line transfer of each other. Dropping it stops and joins the
/// thread, so no thread outlives the instance (the method's rule 1).
struct Partner {
    state: Arc<PartnerState>,
    thread: Option<std::thread::JoinHandle<()>>,
    round: u64,
}

impl Partner {
    /// Starts the partner thread; `work` is its share of each round.
    fn start(mut work: impl FnMut() + Send + 'static) -> Partner {
        let state = Arc::new(PartnerState::default());
        let theirs = state.clone();
        let thread = std::thread::Builder::new()
            .name("bench-partner".into())
            .spawn(move || {
                let mut last = 0;
                loop {
                    let mut round = 0;
                    wait_until(|| {
                        round = theirs.go.load(Acquire);
                        round != last || theirs.stop.load(Acquire)
                    });
                    if round == last {
                        return;
                    }
                    last = round;
                    theirs.started.store(round, Release);
                    work();
                    theirs.done.store(round, Release);
                }
            })
            .expect("the partner thread should start");
        Partner {
            state,
            thread: Some(thread),
            round: 0,
        }
    }

    /// Runs one round: `mine` on this thread and the partner's work on its thread, started
    /// together; returns when both are done.
    fn together(&mut self, mine: impl FnOnce()) {
        self.round += 1;
        let round = self.round;
        self.state.go.store(round, Release);
        wait_until(|| self.state.started.load(Acquire) == round);
        mine();
        wait_until(|| self.state.done.load(Acquire) == round);
    }
}

impl Drop for Partner {
    fn drop(&mut self) {
        self.state.stop.store(true, Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Effects: spawn -> shell request -> resolved on a shell thread -> task completes
// ---------------------------------------------------------------------------------------

/// A one-shot request a task awaits and a shell thread resolves.
pub trait ShellChannel: 'static {
    /// The awaiting half.
    type Request: Future<Output = u64> + Send + 'static;
    /// The resolving half, sent to the shell thread.
    type Resolver: Send + 'static;
    /// A new request.
    fn pair() -> (Self::Request, Self::Resolver);
    /// Resolves on the shell thread.
    fn resolve(resolver: Self::Resolver, value: u64);
}

/// genrt's own shell requests (`genrt::shell::request`).
pub struct GenrtShell;

impl ShellChannel for GenrtShell {
    type Request = futures::future::Map<
        genrt::shell::ShellRequest<u64>,
        fn(Result<u64, genrt::shell::Abandoned>) -> u64,
    >;
    type Resolver = genrt::shell::Resolver<u64>;

    fn pair() -> (Self::Request, Self::Resolver) {
        use futures::FutureExt;
        let (request, resolver) = genrt::shell::request::<u64>();
        let unwrap: fn(Result<u64, genrt::shell::Abandoned>) -> u64 =
            |r| r.expect("the shell resolves every request");
        (request.map(unwrap), resolver)
    }

    fn resolve(resolver: Self::Resolver, value: u64) {
        resolver
            .resolve(value)
            .expect("the task awaits its request");
    }
}

/// A `tokio::sync::oneshot` channel standing in for a shell request on Tokio.
pub struct TokioOneshot;

impl ShellChannel for TokioOneshot {
    type Request = futures::future::Map<
        oneshot::Receiver<u64>,
        fn(Result<u64, oneshot::error::RecvError>) -> u64,
    >;
    type Resolver = oneshot::Sender<u64>;

    fn pair() -> (Self::Request, Self::Resolver) {
        use futures::FutureExt;
        let (tx, rx) = oneshot::channel::<u64>();
        let unwrap: fn(Result<u64, oneshot::error::RecvError>) -> u64 =
            |r| r.expect("the shell resolves every request");
        (rx.map(unwrap), tx)
    }

    fn resolve(resolver: Self::Resolver, value: u64) {
        resolver.send(value).expect("the task awaits its request");
    }
}

/// A shell thread that resolves each resolver it receives at once. Dropping it closes the
/// channel and joins the thread.
struct ShellThread<R: Send + 'static> {
    requests: Option<mpsc::Sender<R>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<R: Send + 'static> ShellThread<R> {
    fn start(mut resolve: impl FnMut(R) + Send + 'static) -> ShellThread<R> {
        let (tx, rx) = mpsc::channel::<R>();
        let thread = std::thread::Builder::new()
            .name("shell".into())
            .spawn(move || {
                for resolver in rx {
                    resolve(resolver);
                }
            })
            .expect("shell thread should start");
        ShellThread {
            requests: Some(tx),
            thread: Some(thread),
        }
    }

    fn sender(&self) -> mpsc::Sender<R> {
        self.requests.clone().expect("open until drop")
    }
}

impl<R: Send + 'static> Drop for ShellThread<R> {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The round trip on a runtime: [`EFFECT_TASKS`] tasks spawned from the caller, each making
/// `REQUESTS` requests one after the other, each resolved by the shell thread.
pub fn effects_runtime<C: Contender, K: ShellChannel, const REQUESTS: usize>(
    workers: usize,
) -> Instance {
    let rt = Rc::new(C::build(workers));
    let spawner = rt.spawner();
    let shell = ShellThread::<K::Resolver>::start(|r| K::resolve(r, ANSWER));
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(0));
    Instance::new(rt, move || {
        rem.store(EFFECT_TASKS, Relaxed);
        for _ in 0..EFFECT_TASKS {
            let (to_shell, done_tx, rem) = (shell.sender(), done_tx.clone(), rem.clone());
            spawner.spawn_detached(async move {
                for _ in 0..REQUESTS {
                    let (request, resolver) = K::pair();
                    to_shell.send(resolver).unwrap();
                    assert_eq!(request.await, ANSWER);
                }
                if rem.fetch_sub(1, Relaxed) == 1 {
                    done_tx.send(()).unwrap();
                }
            });
        }
        done_rx.recv().unwrap();
    })
}

/// The round trip on genrt with `genrt::shell::request`.
pub fn effects_genrt<const REQUESTS: usize>(workers: usize) -> Instance {
    effects_runtime::<Genrt, GenrtShell, REQUESTS>(workers)
}

/// The round trip on Tokio with `tokio::sync::oneshot`.
pub fn effects_tokio<const REQUESTS: usize>(workers: usize) -> Instance {
    effects_runtime::<Tokio, TokioOneshot, REQUESTS>(workers)
}

/// The round trip on crux_core: the caller sends [`EFFECT_TASKS`] events through
/// `Core::process_event`; each starts a command making `REQUESTS` `request_from_shell`
/// requests in a row; the shell thread resolves each through `Core::resolve`, which runs the
/// command on that thread (crux_core has no threads of its own: `workers` is unused).
pub fn effects_crux<const REQUESTS: usize>(_workers: usize) -> Instance {
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(0));
    let core = Arc::new(crux_app::core(RoundTripApp::new(
        REQUESTS,
        rem.clone(),
        done_tx,
    )));
    let shell_core = core.clone();
    let shell = ShellThread::<crux_app::Effect>::start(move |effect| {
        crux_app::resolve_all(&*shell_core, effect, ANSWER);
    });
    let this = core.clone();
    Instance::new(Rc::new(core), move || {
        rem.store(EFFECT_TASKS, Relaxed);
        let to_shell = shell.sender();
        for _ in 0..EFFECT_TASKS {
            for effect in this.process_event(crux_app::Event::Run) {
                to_shell.send(effect).unwrap();
            }
        }
        done_rx.recv().unwrap();
    })
}

/// `Command::all` width in `crux/fan_out`.
pub const CRUX_FAN_OUT: usize = 16;
/// Computation between the two requests of a `crux/cpu_heavy` command.
pub const CRUX_CPU: Duration = Duration::from_micros(50);

/// Shell threads resolving requests in the `crux/*` comparison.
pub const CRUX_SHELL_THREADS: usize = 2;

/// The `crux/*` comparison: [`EFFECT_TASKS`] `Run` events per iteration sent through
/// `core`'s `process_event` from the caller, each starting a command of `shape`;
/// [`CRUX_SHELL_THREADS`] shell threads resolve the requests through `resolve`, effects
/// dealt to them in turn, each thread first in, first out with the follow-ups its calls
/// return ([`crux_app::FifoShell`]). The same app,
/// caller and shell for `crux_core::Core` and `genrt_crux::Core`; `keep` (the runtime, if
/// any) drops after the core. Under `CpuHeavy`, the caller sends all its events first and
/// hands the shells the requests as one burst (responses arriving together): under a
/// caller that hands each request over as its call returns, every call's settle waits for
/// the command computing at that moment, so no core could compute two at once.
fn crux_bench<C: crux_app::CruxCore, R: 'static>(
    shape: crux_app::Shape,
    make: impl FnOnce(RoundTripApp) -> (C, Rc<R>),
) -> Instance {
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(0));
    let units = match shape {
        crux_app::Shape::FanOut(width) => EFFECT_TASKS * width,
        _ => EFFECT_TASKS,
    };
    let burst = matches!(shape, crux_app::Shape::CpuHeavy(_));
    let (core, keep) = make(RoundTripApp::with_shape(shape, rem.clone(), done_tx));
    let core = Arc::new(core);
    let shells: Vec<crux_app::FifoShell> = (0..CRUX_SHELL_THREADS)
        .map(|_| crux_app::FifoShell::start(core.clone(), ANSWER))
        .collect();
    Instance::new(keep, move || {
        rem.store(units, Relaxed);
        let mut next = 0;
        let mut held = Vec::new();
        for _ in 0..EFFECT_TASKS {
            for effect in core.event(crux_app::Event::Run) {
                if burst {
                    held.push(effect);
                } else {
                    shells[next % shells.len()].send(effect);
                    next += 1;
                }
            }
        }
        for effect in held {
            shells[next % shells.len()].send(effect);
            next += 1;
        }
        done_rx.recv().unwrap();
    })
}

/// [`crux_bench`] on `crux_core::Core` (no threads of its own: `workers` is unused).
fn crux_on_crux_core(shape: crux_app::Shape) -> Instance {
    crux_bench(shape, |app| (crux_app::core(app), Rc::new(())))
}

/// [`crux_bench`] on `genrt_crux::Core`, over a genrt runtime of `workers` workers.
fn crux_on_genrt(shape: crux_app::Shape, workers: usize) -> Instance {
    crux_bench(shape, |app| {
        let rt = genrt::Builder::new()
            .worker_threads(workers)
            .build()
            .expect("the runtime starts");
        let core = genrt_crux::Core::with_runtime_and(rt.handle().clone(), app, ());
        (core, Rc::new(rt))
    })
}

/// `crux/round_trip_N` on `genrt_crux::Core`: each command makes `REQUESTS` requests in a row.
pub fn crux_round_trip_genrt<const REQUESTS: usize>(workers: usize) -> Instance {
    crux_on_genrt(crux_app::Shape::Sequential(REQUESTS), workers)
}

/// `crux/round_trip_N` on `crux_core::Core`.
pub fn crux_round_trip_crux<const REQUESTS: usize>(_workers: usize) -> Instance {
    crux_on_crux_core(crux_app::Shape::Sequential(REQUESTS))
}

/// `crux/fan_out` on `genrt_crux::Core`: `Command::all` of [`CRUX_FAN_OUT`] requests.
pub fn crux_fan_out_genrt(workers: usize) -> Instance {
    crux_on_genrt(crux_app::Shape::FanOut(CRUX_FAN_OUT), workers)
}

/// `crux/fan_out` on `crux_core::Core`.
pub fn crux_fan_out_crux(_workers: usize) -> Instance {
    crux_on_crux_core(crux_app::Shape::FanOut(CRUX_FAN_OUT))
}

/// `crux/cpu_heavy` on `genrt_crux::Core`: a request, [`CRUX_CPU`] of computation, a request.
pub fn crux_cpu_heavy_genrt(workers: usize) -> Instance {
    crux_on_genrt(crux_app::Shape::CpuHeavy(CRUX_CPU), workers)
}

/// `crux/cpu_heavy` on `crux_core::Core`.
pub fn crux_cpu_heavy_crux(_workers: usize) -> Instance {
    crux_on_crux_core(crux_app::Shape::CpuHeavy(CRUX_CPU))
}

// ---------------------------------------------------------------------------------------
// Scale
// ---------------------------------------------------------------------------------------

/// Spawn cost at scale: a task spawns `TASKS` empty tasks (its worker's local queue), keeps
/// every join handle, then awaits them all. Divided by `TASKS` it is the cost per task.
pub fn spawn_scale<C: Contender, const TASKS: usize>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let this = rt.clone();
    let spawner = rt.spawner();
    Instance::new(rt, move || {
        let inner = spawner.clone();
        this.block_on(spawner.spawn(async move {
            let mut handles = Vec::with_capacity(TASKS);
            for _ in 0..TASKS {
                handles.push(inner.spawn(async {}));
            }
            for handle in handles {
                handle.await;
            }
        }));
    })
}

// ---------------------------------------------------------------------------------------
// Blocking work
// ---------------------------------------------------------------------------------------

/// `spawn_blocking` throughput: a task spawns [`BLOCKING_CLOSURES`] tiny closures onto the
/// runtime's blocking pool, keeps every join future, then awaits them all. The pool's
/// threads are started by the first (warm-up) iterations and then stay within their
/// keep-alive, so this measures queueing, hand-off and completion, not thread creation.
pub fn spawn_blocking_many<C: Contender>(workers: usize) -> Instance
where
    C::Spawner: BlockingSpawner,
{
    let rt = Rc::new(C::build(workers));
    let this = rt.clone();
    let spawner = rt.spawner();
    Instance::new(rt, move || {
        let inner = spawner.clone();
        this.block_on(spawner.spawn(async move {
            let mut joins = Vec::with_capacity(BLOCKING_CLOSURES);
            for i in 0..BLOCKING_CLOSURES {
                joins.push(inner.spawn_blocking(move || black_box(i)));
            }
            for join in joins {
                black_box(join.await);
            }
        }));
    })
}

// ---------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------

/// Tasks of `time/sleep_many`.
pub const SLEEP_TASKS: usize = 10_000;
/// How long each of them sleeps.
pub const SLEEP_FOR: Duration = Duration::from_millis(1);
/// Timeouts created and cancelled per iteration of `time/timer_churn`.
pub const CHURN: u64 = 1_000_000;
/// The duration of the churned timeouts: they never fire.
const CHURN_TIMEOUT: Duration = Duration::from_secs(3600);

/// `time/sleep_many`: a task spawns [`SLEEP_TASKS`] tasks that each sleep [`SLEEP_FOR`]; the
/// last to wake signals the waiting caller. The time per iteration is at least 1 ms; what
/// it adds is the cost of registering, firing and waking 10,000 timers.
pub fn sleep_many<C: TimerContender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let spawner = rt.spawner();
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(0));
    Instance::new(rt, move || {
        rem.store(SLEEP_TASKS, Relaxed);
        let (inner, tx, rem) = (spawner.clone(), tx.clone(), rem.clone());
        spawner.spawn_detached(async move {
            for _ in 0..SLEEP_TASKS {
                let (tx, rem) = (tx.clone(), rem.clone());
                inner.spawn_detached(async move {
                    C::sleep(SLEEP_FOR).await;
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        tx.send(()).unwrap();
                    }
                });
            }
        });
        rx.recv().unwrap();
    })
}

/// `time/timer_churn`: inside one task, [`CHURN`] timeouts that never fire are created,
/// polled once (registered) and dropped (cancelled).
pub fn timer_churn<C: TimerContender>(workers: usize) -> Instance {
    let rt = Rc::new(C::build(workers));
    let this = rt.clone();
    let spawner = rt.spawner();
    Instance::new(rt, move || {
        this.block_on(spawner.spawn(poll_fn(|cx| {
            for _ in 0..CHURN {
                C::churn_one(CHURN_TIMEOUT, cx);
            }
            Poll::Ready(())
        })));
    })
}
