//! Liveness of the multi-thread scheduler under review (adversarial): parking, unparking,
//! timers and stealing while workers sleep or block in a long synchronous poll.
//!
//! - A task that wakes itself during its own poll without yielding (the wake a
//!   `FuturesUnordered`, a channel or a hand-written future makes) while the next poll of its
//!   worker blocks: an idle worker steals and polls it meanwhile, as in Tokio, whose
//!   self-woken task goes to the back of the worker's run queue with a notification. genrt
//!   kept every self-woken task on the worker's deferred list, which no other worker sees,
//!   so it waited for the whole blocking poll (found by this review; now only `yield_now` and
//!   a spent coop budget defer, as Tokio's `context::defer` does).
//! - Foreign wakes storming 2, 3, 4 and 8 workers as they park (`GENRT_IDLE_ROUNDS` rounds
//!   per worker count, 200 by default; run in release with thousands for a deeper look).
//! - A timer that falls due while the worker that held the timed park blocks in a task it was
//!   woken for: another idle worker fires it (the last searcher's notification hands the
//!   timed park on).
//! - A child displaced from the LIFO slot to the deque while its parent blocks: stolen.
//! - Timers keep firing while every worker blocks in place (the stand-ins fire them).
//!
//! Every wait is bounded: a lost wake-up fails within seconds ([`within`], the blockers' own
//! bound), never by a CI timeout. No test asserts how long anything takes.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use support::Watchdog;

/// How long a blocked worker waits for what an idle worker must do meanwhile, and how long
/// the test waits for a task a foreign thread woke: far beyond what a live runtime needs.
const BOUND: Duration = Duration::from_secs(5);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A flag a thread raises, and the waker of the task waiting for it.
#[derive(Clone, Default)]
struct Flag(Arc<(AtomicBool, Mutex<Option<Waker>>)>);

impl Flag {
    fn raise(&self) {
        self.0 .0.store(true, Ordering::SeqCst);
        let waker = self.0 .1.lock().unwrap().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn is_raised(&self) -> bool {
        self.0 .0.load(Ordering::SeqCst)
    }

    /// Ready once the flag is raised.
    fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let flag = self.clone();
        poll_fn(move |cx| {
            if flag.is_raised() {
                return Poll::Ready(());
            }
            *flag.0 .1.lock().unwrap() = Some(cx.waker().clone());
            if flag.is_raised() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    /// Blocks the calling thread (a worker, in these tests) until the flag is raised, for
    /// [`BOUND`] at most; returns whether it was.
    fn block_until_raised(&self) -> bool {
        let deadline = Instant::now() + BOUND;
        while !self.is_raised() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        true
    }
}

/// Unparks the thread in [`within`].
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `future` on this thread; panics naming `what` if it is not ready within [`BOUND`].
#[track_caller]
fn within<F: Future>(what: &str, future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let deadline = Instant::now() + BOUND;
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        let now = Instant::now();
        assert!(
            now < deadline,
            "{what}: not ready within {BOUND:?} (a lost wake-up?)"
        );
        std::thread::park_timeout((deadline - now).min(ms(10)));
    }
}

/// splitmix64, for the storm's jitter.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Nothing, a yield, a short spin or a short sleep: lands the next step anywhere in the
    /// workers' way to sleep.
    fn jitter(&mut self) {
        match self.next() % 4 {
            0 => {}
            1 => std::thread::yield_now(),
            2 => {
                for _ in 0..self.next() % 2000 {
                    std::hint::spin_loop();
                }
            }
            _ => std::thread::sleep(Duration::from_micros(self.next() % 100)),
        }
    }
}

/// A task wakes itself during its poll (not a yield) and spawns a child that then blocks its
/// worker until the task has been polled again: an idle worker must steal the task. It used
/// to wait on the worker's deferred list, seen by nobody, until the child gave up.
#[test]
fn a_self_woken_task_runs_on_an_idle_worker_while_its_own_worker_blocks() {
    for workers in [2, 4] {
        let rt = support::runtime(workers);
        let handle = rt.handle().clone();
        let blocked_throughout =
            Watchdog::new("a self-woken task beside a blocking poll").run(move || {
                let polled_again = Flag::default();
                let child = Arc::new(Mutex::new(None));
                let polls = AtomicU64::new(0);
                let task = handle.spawn({
                    let (polled_again, child) = (polled_again.clone(), child.clone());
                    poll_fn(move |cx| {
                        if polls.fetch_add(1, Ordering::SeqCst) > 0 {
                            polled_again.raise();
                            return Poll::Ready(());
                        }
                        // In the LIFO slot: the worker's next poll, after this one.
                        let flag = polled_again.clone();
                        let blocker = genrt::spawn(async move { flag.block_until_raised() });
                        *child.lock().unwrap() = Some(blocker);
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    })
                });
                within("the self-woken task", task).unwrap();
                let blocker = child.lock().unwrap().take().expect("the child was spawned");
                within("the blocking child", blocker).unwrap()
            });
        assert!(
            blocked_throughout,
            "{workers} workers: the self-woken task waited for its worker's blocking poll \
             while another worker was idle"
        );
        drop(rt);
    }
}

/// Tasks pending on flags that foreign threads raise at random moments, round after round,
/// while the workers go idle, search and park: every wake-up reaches a worker.
#[test]
fn foreign_wakes_at_random_moments_reach_parking_workers() {
    let rounds: usize = std::env::var("GENRT_IDLE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    for workers in [2, 3, 4, 8] {
        let rt = support::runtime(workers);
        let handle = rt.handle().clone();
        Watchdog::new("foreign wakes storming parking workers").run_reporting(move |progress| {
            let mut rng = Rng(workers as u64);
            for round in 0..rounds {
                progress.at_round("a round of foreign wakes", round);
                let flags: Vec<Flag> = (0..1 + rng.next() % 8).map(|_| Flag::default()).collect();
                let tasks: Vec<_> = flags.iter().map(|f| handle.spawn(f.wait())).collect();
                rng.jitter();
                let wakers: Vec<_> = flags
                    .into_iter()
                    .map(|flag| {
                        let mut rng = Rng(rng.next());
                        std::thread::spawn(move || {
                            rng.jitter();
                            flag.raise();
                        })
                    })
                    .collect();
                for waker in wakers {
                    waker.join().unwrap();
                }
                for task in tasks {
                    within("a task woken by a foreign thread", task).unwrap();
                }
            }
        });
        drop(rt);
    }
}

/// One sleeping task, so one idle worker holds the timed park; then a task for every worker
/// but one, each blocking its worker until the sleep fires. Whichever
/// worker the notifications pick (the holder, too), one worker stays idle, and it must fire
/// the timer: the holder, woken for a task, gives the role up, and the last searcher's
/// notification wakes a sleeper that takes it.
#[test]
fn a_timer_fires_on_an_idle_worker_while_the_former_holder_blocks() {
    for round in 0..10 {
        for workers in [2, 3, 4] {
            let rt = support::runtime(workers);
            let fired = Flag::default();
            let sleeper = rt.spawn({
                let fired = fired.clone();
                async move {
                    genrt::time::sleep(ms(20)).await;
                    fired.raise();
                }
            });
            rt.settle();
            let blockers: Vec<_> = (1..workers)
                .map(|_| {
                    let fired = fired.clone();
                    rt.spawn(async move { fired.block_until_raised() })
                })
                .collect();
            for blocker in blockers {
                assert!(
                    within("a blocking task", blocker).unwrap(),
                    "round {round}, {workers} workers: the sleep did not fire while a worker \
                     was idle"
                );
            }
            within("the sleeper", sleeper).unwrap();
            support::drop_runtime(rt);
        }
    }
}

/// A task spawns two children (the second displaces the first from the LIFO slot to the
/// deque, with a notification) and blocks its worker until the first has run: the idle
/// worker steals it.
#[test]
fn a_child_displaced_to_the_deque_is_stolen_while_its_parent_blocks() {
    for workers in [2, 4] {
        for _ in 0..10 {
            let rt = support::runtime(workers);
            let parent = rt.spawn(async {
                let ran = Flag::default();
                let first = {
                    let ran = ran.clone();
                    genrt::spawn(async move { ran.raise() })
                };
                let second = genrt::spawn(async {});
                let stolen = ran.block_until_raised();
                first.await.unwrap();
                second.await.unwrap();
                stolen
            });
            assert!(
                within("the parent", parent).unwrap(),
                "{workers} workers: the displaced child waited for its parent's blocking poll"
            );
            support::drop_runtime(rt);
        }
    }
}

/// Every worker blocks in place until a sleep fires: the stand-ins fire it.
#[test]
fn a_timer_fires_while_every_worker_blocks_in_place() {
    for workers in [1, 2] {
        let rt = support::runtime(workers);
        let fired = Flag::default();
        let sleeper = rt.spawn({
            let fired = fired.clone();
            async move {
                genrt::time::sleep(ms(20)).await;
                fired.raise();
            }
        });
        let blockers: Vec<_> = (0..workers)
            .map(|_| {
                let fired = fired.clone();
                rt.spawn(async move { genrt::task::block_in_place(|| fired.block_until_raised()) })
            })
            .collect();
        for blocker in blockers {
            assert!(
                within("a task blocking in place", blocker).unwrap(),
                "{workers} workers: the sleep did not fire while every worker blocked in place"
            );
        }
        within("the sleeper", sleeper).unwrap();
        support::drop_runtime(rt);
    }
}
