//! Liveness under randomized workloads: nothing hangs, and every task keeps making progress,
//! whatever mix of tasks shares the runtime.
//!
//! Each scenario draws, from a seeded RNG, a mix of actors on a runtime of 1, 2 or 4 workers:
//! ping-pong pairs (two tasks waking each other forever over channels), self-wakers (a wake
//! during their own poll, as `FuturesUnordered` does), yielders (`yield_now` loops), burners
//! (a busy poll, then a yield), spawners (children awaited and detached), foreign-woken tasks
//! (each pending on a shell request that a thread of its own resolves), and `block_on`
//! callers (threads running `block_on` of futures that park the thread themselves). Then, at
//! each of a few checkpoints, every actor must make progress again and a set of probe tasks
//! (spawned from outside, spawned on a worker, yielding first) must finish.
//!
//! The limits only turn a starvation or a lost wake-up into a failure that names the seed,
//! the actor and the checkpoint; they measure nothing, and a healthy run takes milliseconds
//! per checkpoint. Replay one scenario with `GENRT_LIVENESS_SEED=<seed>`; run more with
//! `GENRT_LIVENESS_SEEDS=<count>`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use futures::channel::mpsc as channel;
use futures::StreamExt;

use support::{drop_runtime, runtime, wait_for};

/// How long one actor may go without progress, or a probe without finishing, before the
/// scenario fails: far beyond anything a live runtime needs, short enough to name a hang.
const STALL_LIMIT: Duration = Duration::from_secs(10);
/// Checkpoints per scenario: at each, every actor progresses again and the probes finish.
const CHECKPOINTS: usize = 5;
/// Scenarios per worker count in CI.
const SEEDS: u64 = 6;

/// splitmix64: small, seedable, good enough to draw a workload.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What every actor shares: the stop flag.
#[derive(Clone)]
struct Stop(Arc<AtomicBool>);

impl Stop {
    fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// One actor of a scenario: its kind and its progress counter.
struct Actor {
    name: String,
    progress: Arc<AtomicU64>,
}

/// What must end when the scenario stops: join handles of tasks and threads.
#[derive(Default)]
struct Ends {
    tasks: Vec<(String, genrt::JoinHandle<()>)>,
    threads: Vec<(String, thread::JoinHandle<()>)>,
}

/// A future that wakes itself and returns `Pending` on every other poll.
struct SelfWake {
    progress: Arc<AtomicU64>,
    stop: Stop,
    flip: bool,
}

impl Future for SelfWake {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.stop.is_set() {
            return Poll::Ready(());
        }
        self.flip = !self.flip;
        if self.flip {
            self.progress.fetch_add(1, Ordering::Relaxed);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Spins for `micros` microseconds: a poll that keeps its worker busy.
fn burn(micros: u64) {
    let until = Instant::now() + Duration::from_micros(micros);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

struct Scenario {
    seed: u64,
    workers: usize,
    rt: Arc<genrt::Runtime>,
    stop: Stop,
    actors: Vec<Actor>,
    ends: Ends,
}

impl Scenario {
    fn new(seed: u64, workers: usize) -> Scenario {
        Scenario {
            seed,
            workers,
            rt: Arc::new(runtime(workers)),
            stop: Stop(Arc::new(AtomicBool::new(false))),
            actors: Vec::new(),
            ends: Ends::default(),
        }
    }

    fn actor(&mut self, kind: &str) -> Arc<AtomicU64> {
        let progress = Arc::new(AtomicU64::new(0));
        self.actors.push(Actor {
            name: format!("{kind} #{}", self.actors.len()),
            progress: progress.clone(),
        });
        progress
    }

    fn task(&mut self, name: &str, future: impl Future<Output = ()> + Send + 'static) {
        let handle = self.rt.spawn(future);
        self.ends.tasks.push((name.to_string(), handle));
    }

    fn ping_pong(&mut self) {
        let progress = self.actor("ping-pong pair");
        let (to_b, mut b_rx) = channel::unbounded::<u64>();
        let (to_a, mut a_rx) = channel::unbounded::<u64>();
        to_b.unbounded_send(0).unwrap();
        // B echoes until A hangs up.
        self.task("pong", async move {
            while let Some(n) = b_rx.next().await {
                if to_a.unbounded_send(n + 1).is_err() {
                    break;
                }
            }
        });
        let stop = self.stop.clone();
        self.task("ping", async move {
            while let Some(n) = a_rx.next().await {
                progress.fetch_add(1, Ordering::Relaxed);
                if stop.is_set() || to_b.unbounded_send(n + 1).is_err() {
                    break;
                }
            }
        });
    }

    fn self_waker(&mut self) {
        let progress = self.actor("self-waker");
        let stop = self.stop.clone();
        self.task(
            "self-waker",
            SelfWake {
                progress,
                stop,
                flip: false,
            },
        );
    }

    fn yielder(&mut self) {
        let progress = self.actor("yielder");
        let stop = self.stop.clone();
        self.task("yielder", async move {
            while !stop.is_set() {
                genrt::yield_now().await;
                progress.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    fn burner(&mut self, micros: u64) {
        let progress = self.actor("burner");
        let stop = self.stop.clone();
        self.task("burner", async move {
            while !stop.is_set() {
                burn(micros);
                progress.fetch_add(1, Ordering::Relaxed);
                genrt::yield_now().await;
            }
        });
    }

    fn spawner(&mut self, fan_out: u64) {
        let progress = self.actor("spawner");
        let stop = self.stop.clone();
        self.task("spawner", async move {
            let mut round = 0u64;
            while !stop.is_set() {
                let children: Vec<_> = (0..fan_out)
                    .map(|i| {
                        genrt::spawn(async move {
                            if i % 2 == 0 {
                                genrt::yield_now().await;
                            }
                            i
                        })
                    })
                    .collect();
                // Await every other child, detach the rest.
                for (i, child) in children.into_iter().enumerate() {
                    if (i as u64 + round) % 2 == 0 {
                        assert_eq!(child.await.unwrap(), i as u64);
                    }
                }
                round += 1;
                progress.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    /// A task pending on shell requests that a thread of its own resolves.
    fn foreign_woken(&mut self) {
        let progress = self.actor("foreign-woken task");
        let stop = self.stop.clone();
        let pending: Arc<Mutex<Option<genrt::shell::Resolver<()>>>> = Arc::default();
        let done = Arc::new(AtomicBool::new(false));
        let (slot, finished) = (pending.clone(), done.clone());
        self.task("foreign-woken task", async move {
            loop {
                let (request, resolver) = genrt::shell::request::<()>();
                *slot.lock().unwrap() = Some(resolver);
                request
                    .await
                    .expect("the shell thread resolves every request");
                progress.fetch_add(1, Ordering::Relaxed);
                if stop.is_set() {
                    break;
                }
            }
            finished.store(true, Ordering::SeqCst);
        });
        let thread = thread::spawn(move || {
            let deadline = Instant::now() + STALL_LIMIT * 6;
            // Resolves until the task has seen the stop flag and finished.
            while !done.load(Ordering::SeqCst) {
                assert!(
                    Instant::now() < deadline,
                    "a foreign-woken task never finished"
                );
                let resolver = pending.lock().unwrap().take();
                match resolver {
                    Some(resolver) => {
                        let _ = resolver.resolve(());
                    }
                    None => thread::sleep(Duration::from_micros(50)),
                }
            }
        });
        self.ends.threads.push(("shell thread".to_string(), thread));
    }

    /// A thread calling `block_on` in a loop; the future joins a spawned task with a branch
    /// that parks the thread until the task is done (consuming the park token its completion
    /// wake leaves), or receives on a std channel that the task sends on.
    fn block_on_caller(&mut self) {
        let progress = self.actor("block_on caller");
        let stop = self.stop.clone();
        let rt = self.rt.clone();
        let thread = thread::spawn(move || {
            let mut round = 0u64;
            while !stop.is_set() {
                let task_done = Arc::new(AtomicBool::new(false));
                let (tx, rx) = mpsc::channel::<u64>();
                let (value, parked) = rt.block_on(async {
                    let flag = task_done.clone();
                    let child = genrt::spawn(async move {
                        genrt::yield_now().await;
                        let _ = tx.send(round);
                        flag.store(true, Ordering::SeqCst);
                        round
                    });
                    futures::join!(child, async {
                        if round % 2 == 0 {
                            rx.recv().expect("the child sends")
                        } else {
                            while !task_done.load(Ordering::SeqCst) {
                                thread::park_timeout(Duration::from_micros(100));
                            }
                            thread::park_timeout(Duration::from_micros(100));
                            round
                        }
                    })
                });
                assert_eq!((value.unwrap(), parked), (round, round));
                round += 1;
                progress.fetch_add(1, Ordering::Relaxed);
            }
        });
        self.ends
            .threads
            .push(("block_on caller".to_string(), thread));
    }

    /// Draws the mix of actors.
    fn populate(&mut self, rng: &mut Rng) {
        // At least one actor that keeps the runtime busy and one yielder: the shape that
        // starved yields before.
        for _ in 0..1 + rng.below(3) {
            self.ping_pong();
        }
        for _ in 0..1 + rng.below(3) {
            self.yielder();
        }
        for _ in 0..rng.below(3) {
            self.self_waker();
        }
        for _ in 0..rng.below(3) {
            let micros = 5 + rng.below(50);
            self.burner(micros);
        }
        for _ in 0..rng.below(3) {
            let fan_out = 1 + rng.below(8);
            self.spawner(fan_out);
        }
        for _ in 0..rng.below(3) {
            self.foreign_woken();
        }
        for _ in 0..rng.below(2) {
            self.block_on_caller();
        }
    }

    fn describe(&self) -> String {
        format!(
            "seed {} on {} worker(s) (replay with GENRT_LIVENESS_SEED={})",
            self.seed, self.workers, self.seed
        )
    }

    /// Waits until every actor has progressed past `marks`, failing with the laggards.
    fn every_actor_progresses(&self, checkpoint: usize) {
        let marks: Vec<u64> = self
            .actors
            .iter()
            .map(|a| a.progress.load(Ordering::Relaxed))
            .collect();
        let deadline = Instant::now() + STALL_LIMIT;
        loop {
            let stalled: Vec<&str> = self
                .actors
                .iter()
                .zip(&marks)
                .filter(|(a, mark)| a.progress.load(Ordering::Relaxed) <= **mark)
                .map(|(a, _)| a.name.as_str())
                .collect();
            if stalled.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: at checkpoint {checkpoint}, no progress for {STALL_LIMIT:?} from {stalled:?}",
                self.describe()
            );
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Probe tasks queued by each route: the injector (spawned from this thread), a worker's
    /// LIFO slot and deque (spawned by a task), after a yield (the deferred list).
    fn probes_finish(&self, checkpoint: usize) {
        let from_outside = self.rt.spawn(async { 1u32 });
        let yielding = self.rt.spawn(async {
            genrt::yield_now().await;
            2u32
        });
        let from_worker = self.rt.spawn(async {
            let a = genrt::spawn(async { 3u32 });
            let b = genrt::spawn(async {
                genrt::yield_now().await;
                4u32
            });
            a.await.unwrap() + b.await.unwrap()
        });
        let what = format!("a probe at checkpoint {checkpoint}, {}", self.describe());
        let total = wait_for(&what, from_outside).unwrap()
            + wait_for(&what, yielding).unwrap()
            + wait_for(&what, from_worker).unwrap();
        assert_eq!(total, 10);
    }

    fn run(mut self) {
        let mut rng = Rng(self.seed);
        self.populate(&mut rng);
        for checkpoint in 1..=CHECKPOINTS {
            self.every_actor_progresses(checkpoint);
            self.probes_finish(checkpoint);
        }
        self.stop.0.store(true, Ordering::SeqCst);
        let describe = self.describe();
        for (name, task) in self.ends.tasks {
            wait_for(&format!("{name} to stop, {describe}"), task).unwrap();
        }
        for (name, thread) in self.ends.threads {
            let (tx, rx) = mpsc::channel();
            let joiner = thread::spawn(move || {
                let _ = tx.send(thread.join());
            });
            match rx.recv_timeout(STALL_LIMIT * 3) {
                Ok(Ok(())) => joiner.join().unwrap(),
                Ok(Err(payload)) => std::panic::resume_unwind(payload),
                Err(_) => panic!("the {name} did not stop, {describe}"),
            }
        }
        let rt = Arc::try_unwrap(self.rt).unwrap_or_else(|_| {
            panic!("a thread still holds the runtime after stopping, {describe}")
        });
        drop_runtime(rt);
    }
}

/// The seeds to run: `GENRT_LIVENESS_SEED` alone if set, else `GENRT_LIVENESS_SEEDS` (or
/// [`SEEDS`]) seeds derived from the worker count.
fn seeds(workers: usize) -> Vec<u64> {
    if let Some(seed) = std::env::var("GENRT_LIVENESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![seed];
    }
    let count = std::env::var("GENRT_LIVENESS_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEEDS);
    (0..count).map(|i| workers as u64 * 1000 + i).collect()
}

fn scenarios(workers: usize) {
    for seed in seeds(workers) {
        Scenario::new(seed, workers).run();
    }
}

#[test]
fn randomized_workloads_stay_live_on_one_worker() {
    scenarios(1);
}

#[test]
fn randomized_workloads_stay_live_on_two_workers() {
    scenarios(2);
}

#[test]
fn randomized_workloads_stay_live_on_four_workers() {
    scenarios(4);
}
