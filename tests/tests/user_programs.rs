//! Small programs a user writes when adopting genrt, run as tests: an effects pipeline with a
//! pool of shell threads, a Tokio-style server loop, a CPU-bound fork-join, a rate-limited
//! producer on a paused clock, a `LocalSet` fed by multi-thread tasks, a loop that builds and
//! drops 2,000 runtimes, the test and main attributes, futures-rs combinators on genrt, and
//! panics in the places programs put them. Each checks its results exactly, and that nothing
//! leaks (drop counters, live counts, thread counts) or hangs.
//!
//! Every test runs under a [`Watchdog`] and takes the file's [`serial`] lock: one of them
//! counts the process's threads, which the others would disturb. Nothing here measures time.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::pending;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::future::{join_all, FutureExt};
use futures::stream::{FuturesUnordered, StreamExt};
use futures::SinkExt;
use genrt::shell::{self, Abandoned, Resolver};
use genrt::task::{JoinSet, LocalSet};
use genrt::time::{interval, sleep, timeout, Instant, MissedTickBehavior};
use genrt::JoinHandle;
use support::{
    drop_runtime, panic_message, quiet_panics, serial, wait_for, wait_until, DropCounter, Live,
    Watchdog, INTENTIONAL,
};

// ---------------------------------------------------------------------------------------------
// Helpers a user would write.
// ---------------------------------------------------------------------------------------------

/// A small deterministic PRNG (xorshift64*), so each run shuffles differently per seed
/// without a dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A seed that differs between runs (the test prints it, so a failure can be replayed).
fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}

/// This process's threads: (thread id, name), from `/proc/self/task`.
fn threads() -> Vec<(u64, String)> {
    let mut threads: Vec<(u64, String)> = std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| {
            let task = task.ok()?;
            let tid = task.file_name().to_str()?.parse().ok()?;
            let name = std::fs::read_to_string(task.path().join("comm")).ok()?;
            Some((tid, name.trim().to_string()))
        })
        .collect();
    threads.sort();
    threads
}

/// Whether a thread is one of the test harness's (named after a test of this file, which
/// another test may start while one runs): a name of letters, digits and underscores.
fn is_harness_thread(name: &str) -> bool {
    name.contains('_') && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Waits until every thread started since `baseline` was taken has exited, the harness's
/// own aside, failing with their names if that does not happen within
/// [`support::DEADLINE`].
fn threads_return_to(baseline: &[(u64, String)]) {
    let start = std::time::Instant::now();
    loop {
        let new: Vec<_> = threads()
            .into_iter()
            .filter(|(tid, name)| {
                !baseline.iter().any(|(old, _)| old == tid) && !is_harness_thread(name)
            })
            .collect();
        if new.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < support::DEADLINE,
            "threads outlived their runtimes: {new:?} (baseline {baseline:?})"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

// ---------------------------------------------------------------------------------------------
// (1) An effects pipeline.
// ---------------------------------------------------------------------------------------------

/// What the shell does with one request, decided from the task and step alone, so the test
/// knows every outcome in advance.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Resolve,
    /// The shell drops the resolver: the task sees `Abandoned`.
    Drop,
    /// The shell keeps the resolver past the runtime's drop: the task never finishes.
    Hold,
}

fn fate(task: u64, step: u64) -> Fate {
    match (task * 7 + step * 13) % 23 {
        0 => Fate::Drop,
        5 => Fate::Hold,
        _ => Fate::Resolve,
    }
}

fn reply(task: u64, step: u64) -> u64 {
    task * 1000 + step * 10 + 1
}

/// The expected outcome of task `task`: `Some(Ok(sum))`, `Some(Err(step abandoned))`, or
/// `None` for a task whose request the shell holds.
fn expected_outcome(task: u64) -> Option<Result<u64, u64>> {
    let mut sum = 0;
    for step in 0..3 {
        match fate(task, step) {
            Fate::Resolve => sum += reply(task, step),
            Fate::Drop => return Some(Err(step)),
            Fate::Hold => return None,
        }
    }
    Some(Ok(sum))
}

/// The requests the core's tasks emit, shared with the shell threads.
#[derive(Default)]
struct Effects {
    queue: Mutex<EffectQueue>,
    ready: Condvar,
}

#[derive(Default)]
struct EffectQueue {
    pending: Vec<(u64, u64, Resolver<u64>)>,
    held: Vec<(u64, Resolver<u64>)>,
    closed: bool,
}

/// A shell thread: takes a random pending request, performs it (resolve, drop or hold).
fn shell_thread(effects: Arc<Effects>, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut queue = effects.queue.lock().unwrap();
    loop {
        if !queue.pending.is_empty() {
            let i = rng.below(queue.pending.len());
            let (task, step, resolver) = queue.pending.swap_remove(i);
            match fate(task, step) {
                Fate::Resolve => {
                    drop(queue);
                    if rng.below(4) == 0 {
                        thread::yield_now();
                    }
                    resolver
                        .resolve(reply(task, step))
                        .expect("the task waits for its request");
                    queue = effects.queue.lock().unwrap();
                }
                Fate::Drop => {
                    drop(queue);
                    drop(resolver);
                    queue = effects.queue.lock().unwrap();
                }
                Fate::Hold => {
                    queue.held.push((task, resolver));
                    effects.ready.notify_all();
                }
            }
        } else if queue.closed {
            return;
        } else {
            queue = effects.ready.wait(queue).unwrap();
        }
    }
}

/// The user's app: a core spawns 1,000 tasks, each issuing 3 sequential shell requests that a
/// pool of 4 shell threads resolves in random order; some requests are dropped unresolved,
/// some held past the runtime's drop. Every finished task's result is exact, the runtime's
/// drop frees every suspended task (no future stays alive, though its resolver is held), and
/// a late resolve hands the value back.
#[test]
fn effects_pipeline_with_a_pool_of_shell_threads() {
    let _serial = serial();
    Watchdog::new("effects pipeline").run_reporting(|p| {
        const TASKS: u64 = 1000;
        let seed = seed();
        println!("seed {seed}");
        let rt = genrt::Builder::new()
            .worker_threads(2)
            .build()
            .expect("runtime");
        let effects = Arc::new(Effects::default());
        let live = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));

        let shells: Vec<_> = (0..4)
            .map(|i| {
                let effects = effects.clone();
                thread::spawn(move || shell_thread(effects, seed + i))
            })
            .collect();

        p.at("the core spawns its tasks");
        let core = {
            let (effects, live, dropped) = (effects.clone(), live.clone(), dropped.clone());
            rt.spawn(async move {
                (0..TASKS)
                    .map(|task| {
                        let effects = effects.clone();
                        let live = Live::new(&live);
                        let dropped = DropCounter(dropped.clone());
                        genrt::spawn(async move {
                            let (_live, _dropped) = (live, dropped);
                            let mut sum = 0;
                            for step in 0..3 {
                                let (request, resolver) = shell::request::<u64>();
                                {
                                    let mut queue = effects.queue.lock().unwrap();
                                    queue.pending.push((task, step, resolver));
                                    effects.ready.notify_one();
                                }
                                match request.await {
                                    Ok(value) => sum += value,
                                    Err(Abandoned { .. }) => return Err(step),
                                }
                            }
                            Ok(sum)
                        })
                    })
                    .collect::<Vec<JoinHandle<Result<u64, u64>>>>()
            })
        };
        let handles = rt.block_on(core).expect("the core task");

        p.at("joining the tasks that finish");
        let mut held_handles = Vec::new();
        let mut finished = 0;
        for (task, handle) in (0..TASKS).zip(handles) {
            match expected_outcome(task) {
                Some(expected) => {
                    assert_eq!(rt.block_on(handle).expect("task"), expected, "task {task}");
                    finished += 1;
                }
                None => held_handles.push(handle),
            }
        }
        let held = held_handles.len();
        assert!(held > 0 && finished > 0, "the fates cover both cases");
        assert!(
            (0..TASKS).any(|t| matches!(expected_outcome(t), Some(Err(_)))),
            "some requests are dropped"
        );

        p.at("waiting for the shell to hold its requests");
        wait_until("every held request reached the shell", || {
            effects.queue.lock().unwrap().held.len() == held
        });
        rt.settle();
        assert_eq!(
            live.load(Ordering::SeqCst),
            held,
            "only held tasks are alive"
        );
        assert_eq!(rt.metrics().num_alive_tasks(), held);
        assert_eq!(dropped.load(Ordering::SeqCst), finished);

        p.at("dropping the runtime with requests held");
        drop_runtime(rt);
        assert_eq!(
            live.load(Ordering::SeqCst),
            0,
            "a held request keeps no future"
        );
        assert_eq!(dropped.load(Ordering::SeqCst), TASKS as usize);

        effects.queue.lock().unwrap().closed = true;
        effects.ready.notify_all();
        for shell in shells {
            shell.join().expect("a shell thread panicked");
        }
        let held_resolvers = std::mem::take(&mut effects.queue.lock().unwrap().held);
        for (task, resolver) in held_resolvers {
            assert!(
                resolver.is_cancelled(),
                "task {task}'s request went with it"
            );
            assert_eq!(resolver.resolve(task), Err(task), "a late value comes back");
        }
        for handle in held_handles {
            let err = wait_for("a cancelled handle", handle).unwrap_err();
            assert!(err.is_cancelled(), "{err:?}");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// (2) A Tokio-style server loop.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Answers after a short piece of work.
    Fast,
    /// Takes longer than the per-request timeout.
    Slow,
    /// Keeps the connection open until the server shuts down (a websocket, say).
    LongLived,
}

struct Connection {
    id: u32,
    kind: Kind,
    reply: oneshot::Sender<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Served {
    Answered(u32),
    TimedOut(u32),
}

fn kind_of(id: u32) -> Kind {
    match id % 10 {
        3 => Kind::Slow,
        7 => Kind::LongLived,
        _ => Kind::Fast,
    }
}

/// The per-connection handler: a request under a timeout, as a Tokio server writes it.
async fn handle_connection(conn: Connection, live: Arc<AtomicUsize>) -> Served {
    let _live = Live::new(&live);
    let Connection { id, kind, reply } = conn;
    let work = async {
        match kind {
            Kind::Fast => sleep(Duration::from_millis(10)).await,
            Kind::Slow => sleep(Duration::from_secs(10)).await,
            Kind::LongLived => pending::<()>().await,
        }
        format!("hello {id}")
    };
    if kind == Kind::LongLived {
        // No timeout: the connection stays until shutdown aborts it.
        let body = work.await;
        let _ = reply.send(body);
        return Served::Answered(id);
    }
    match timeout(Duration::from_secs(1), work).await {
        Ok(body) => {
            let _ = reply.send(body);
            Served::Answered(id)
        }
        Err(_elapsed) => {
            let _ = reply.send("408".to_string());
            Served::TimedOut(id)
        }
    }
}

/// What woke the accept loop.
enum Event {
    Accepted(Option<Connection>),
    Finished(Option<Result<Served, genrt::JoinError>>),
    Shutdown,
}

/// The server's accept loop: connections from a channel (the listener), one task per
/// connection in a `JoinSet`, finished ones reaped as it goes, until the shutdown signal;
/// then the open connections are aborted and the background tasks shut down.
async fn serve(
    mut listener: mpsc::UnboundedReceiver<Connection>,
    shutdown: oneshot::Receiver<()>,
    live: Arc<AtomicUsize>,
) -> (Vec<Served>, usize, usize) {
    let mut connections = JoinSet::new();
    let mut background = JoinSet::new();
    // A background job of the server: a heartbeat that runs until shutdown.
    {
        let live = live.clone();
        background.spawn(async move {
            let _live = Live::new(&live);
            let mut beat = interval(Duration::from_millis(250));
            loop {
                beat.tick().await;
            }
        });
    }
    let mut served = Vec::new();
    let mut shutdown = shutdown.fuse();
    loop {
        // `futures::select!` has no `Some(x) = ...` patterns to disable a branch, as
        // `tokio::select!` has: an empty set's `join_next` is ready with `None` at once (the
        // loop would spin, and a paused clock would never advance), so the reaping branch
        // pends while the set is empty.
        let reap = async {
            if connections.is_empty() {
                pending().await
            } else {
                connections.join_next().await
            }
        };
        let event = futures::select! {
            conn = listener.next() => Event::Accepted(conn),
            done = reap.fuse() => Event::Finished(done),
            _ = shutdown => Event::Shutdown,
        };
        match event {
            Event::Accepted(Some(conn)) => {
                connections.spawn(handle_connection(conn, live.clone()));
            }
            Event::Finished(Some(result)) => served.push(result.expect("a handler failed")),
            Event::Finished(None) => unreachable!("the set is not empty"),
            Event::Accepted(None) | Event::Shutdown => break,
        }
    }
    // Graceful shutdown: the open connections are aborted and joined one by one ...
    connections.abort_all();
    let mut aborted = 0;
    while let Some(result) = connections.join_next().await {
        match result {
            Ok(done) => served.push(done),
            Err(err) if err.is_cancelled() => aborted += 1,
            Err(err) => panic!("a handler failed: {err}"),
        }
    }
    // ... and the background jobs shut down in one call.
    let background_len = background.len();
    background.shutdown().await;
    assert!(background.is_empty());
    (served, aborted, background_len)
}

/// The user ports a Tokio server: an accept loop fed by a channel, a task per connection
/// under `time::timeout`, a `JoinSet` collecting them, and a graceful shutdown through a
/// oneshot, `abort_all` and `JoinSet::shutdown`. Every fast request is answered, every slow
/// one times out, the long-lived ones are aborted at shutdown, and no handler stays alive.
#[test]
fn server_loop_with_timeouts_and_graceful_shutdown() {
    let _serial = serial();
    Watchdog::new("server loop").run_reporting(|p| {
        const CONNECTIONS: u32 = 100;
        let rt = genrt::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime");
        let live = Arc::new(AtomicUsize::new(0));
        let (mut listener_tx, listener_rx) = mpsc::unbounded();
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let server = rt.spawn(serve(listener_rx, shutdown_rx, live.clone()));

        p.at("clients connect");
        let mut replies = Vec::new();
        for id in 0..CONNECTIONS {
            let (reply, response) = oneshot::channel();
            let conn = Connection {
                id,
                kind: kind_of(id),
                reply,
            };
            wait_for("sending a connection", listener_tx.send(conn)).expect("server listening");
            replies.push((id, response));
        }

        p.at("clients read their responses");
        let mut open = Vec::new();
        for (id, response) in replies {
            match kind_of(id) {
                Kind::Fast => {
                    assert_eq!(wait_for("a response", response), Ok(format!("hello {id}")))
                }
                Kind::Slow => assert_eq!(wait_for("a response", response), Ok("408".into())),
                Kind::LongLived => open.push(response),
            }
        }
        let long_lived = open.len();
        wait_until(
            "only the long-lived handlers and the heartbeat remain",
            || live.load(Ordering::SeqCst) == long_lived + 1,
        );

        p.at("shutting down");
        shutdown_tx
            .send(())
            .expect("the server listens for shutdown");
        let (mut served, aborted, background) =
            rt.block_on(server).expect("the server task failed");
        served.sort_by_key(|s| match s {
            Served::Answered(id) | Served::TimedOut(id) => *id,
        });
        let expected: Vec<Served> = (0..CONNECTIONS)
            .filter_map(|id| match kind_of(id) {
                Kind::Fast => Some(Served::Answered(id)),
                Kind::Slow => Some(Served::TimedOut(id)),
                Kind::LongLived => None,
            })
            .collect();
        assert_eq!(served, expected);
        assert_eq!(aborted, long_lived);
        assert_eq!(background, 1);
        assert_eq!(
            live.load(Ordering::SeqCst),
            0,
            "no handler outlives shutdown"
        );
        for response in open {
            assert_eq!(
                wait_for("an aborted connection's response", response),
                Err(oneshot::Canceled),
                "an aborted handler dropped its reply sender"
            );
        }
        drop(listener_tx);
        drop_runtime(rt);
    });
}

// ---------------------------------------------------------------------------------------------
// (3) A CPU-bound fork-join.
// ---------------------------------------------------------------------------------------------

/// A leaf's value: a bit of CPU work on `i`.
fn leaf_value(i: u64) -> u64 {
    let mut x = i;
    for _ in 0..64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
    x >> 40
}

/// Sums `leaf_value` over `lo..hi` by spawning a task per node of a binary tree.
fn spawn_sum(lo: u64, hi: u64, spawned: Arc<AtomicUsize>, in_place: bool) -> JoinHandle<u64> {
    spawned.fetch_add(1, Ordering::Relaxed);
    genrt::spawn(async move {
        if hi - lo == 1 {
            if in_place {
                // A leaf that blocks (a synchronous library call, say).
                genrt::task::block_in_place(|| leaf_value(lo))
            } else {
                leaf_value(lo)
            }
        } else {
            let mid = lo + (hi - lo) / 2;
            let left = spawn_sum(lo, mid, spawned.clone(), in_place);
            let right = spawn_sum(mid, hi, spawned, in_place);
            left.await.expect("left") + right.await.expect("right")
        }
    })
}

fn fork_join(workers: usize, leaves: u64, in_place: bool) {
    let rt = genrt::Builder::new()
        .worker_threads(workers)
        .build()
        .expect("runtime");
    let spawned = Arc::new(AtomicUsize::new(0));
    let sum = {
        let spawned = spawned.clone();
        rt.block_on(async move { spawn_sum(0, leaves, spawned, in_place).await })
    }
    .expect("the root task");
    assert_eq!(sum, (0..leaves).map(leaf_value).sum::<u64>());
    assert_eq!(spawned.load(Ordering::SeqCst), 2 * leaves as usize - 1);
    rt.settle();
    assert_eq!(rt.metrics().num_alive_tasks(), 0);
    drop_runtime(rt);
}

/// The user sums a tree by recursive spawning: 9,999 tasks, each awaiting its two children,
/// on 1, 2 and 4 workers; the sum is exact on each.
#[test]
fn fork_join_sum_on_1_2_and_4_workers() {
    let _serial = serial();
    Watchdog::new("fork-join").run_reporting(|p| {
        for workers in [1, 2, 4] {
            p.at_round("fork-join on this many workers", workers);
            fork_join(workers, 5000, false);
        }
    });
}

/// The same fork-join with `block_in_place` around every leaf's work: the sum is still
/// exact on 1, 2 and 4 workers, and no thread (stand-ins included) outlives the runtime.
#[test]
fn fork_join_with_block_in_place_in_the_leaves() {
    let _serial = serial();
    Watchdog::new("fork-join in place")
        .limit(support::DEADLINE * 2)
        .run_reporting(|p| {
            let baseline = threads();
            for workers in [1, 2, 4] {
                p.at_round(
                    "fork-join with block_in_place on this many workers",
                    workers,
                );
                fork_join(workers, 500, true);
            }
            threads_return_to(&baseline);
        });
}

// ---------------------------------------------------------------------------------------------
// (4) A rate-limited producer.
// ---------------------------------------------------------------------------------------------

/// Runs a producer that emits one item per tick of a 100 ms interval with `behavior`, and
/// stalls 350 ms after its third item (a slow upstream); returns each item's (scheduled tick,
/// instant received) relative to the start, from the consumer's side.
fn rate_limited(behavior: MissedTickBehavior, items: usize) -> Vec<(u64, u64)> {
    let rt = genrt::Builder::new()
        .worker_threads(2)
        .start_paused(true)
        .build()
        .expect("runtime");
    let out = rt.block_on(async move {
        let start = Instant::now();
        let (mut tx, mut rx) = mpsc::channel::<Instant>(0);
        let producer = genrt::spawn(async move {
            let mut every = interval(Duration::from_millis(100));
            every.set_missed_tick_behavior(behavior);
            for item in 0..items {
                let tick = every.tick().await;
                tx.send(tick).await.expect("the consumer is there");
                if item == 2 {
                    sleep(Duration::from_millis(350)).await;
                }
            }
        });
        let mut received = Vec::new();
        while let Some(tick) = rx.next().await {
            let ms = |i: Instant| (i - start).as_millis() as u64;
            received.push((ms(tick), ms(Instant::now())));
        }
        producer.await.expect("the producer");
        received
    });
    drop_runtime(rt);
    out
}

/// The user rate-limits a producer with `time::interval` on a paused clock and checks the
/// exact instants of its ticks under each `MissedTickBehavior`, after a 350 ms stall.
#[test]
fn rate_limited_producer_ticks_exactly_on_a_paused_clock() {
    let _serial = serial();
    Watchdog::new("rate limiter").run(|| {
        // Ticks at 0, 100, 200; the stall ends at 550: tick 300 is late and comes at once.
        assert_eq!(
            rate_limited(MissedTickBehavior::Burst, 8),
            [
                (0, 0),
                (100, 100),
                (200, 200),
                (300, 550),
                (400, 550),
                (500, 550),
                (600, 600),
                (700, 700)
            ]
        );
        assert_eq!(
            rate_limited(MissedTickBehavior::Delay, 7),
            [
                (0, 0),
                (100, 100),
                (200, 200),
                (300, 550),
                (650, 650),
                (750, 750),
                (850, 850)
            ]
        );
        assert_eq!(
            rate_limited(MissedTickBehavior::Skip, 6),
            [
                (0, 0),
                (100, 100),
                (200, 200),
                (300, 550),
                (600, 600),
                (700, 700)
            ]
        );
    });
}

// ---------------------------------------------------------------------------------------------
// (5) A LocalSet fed by multi-thread tasks.
// ---------------------------------------------------------------------------------------------

enum Command {
    Add(String, u64),
    Get(String, oneshot::Sender<Option<u64>>),
}

/// The user keeps `!Send` state (an `Rc<RefCell<HashMap>>`) in a `LocalSet` on the thread
/// that drives it; multi-thread tasks message it through a channel and read back through
/// oneshots. The totals are exact, the local tasks ran on the driving thread, and dropping the
/// set frees its `Rc`s.
#[test]
fn local_set_serves_multi_thread_tasks() {
    let _serial = serial();
    Watchdog::new("local set").run_reporting(|p| {
        const SENDERS: u64 = 8;
        const EACH: u64 = 200;
        let rt = genrt::Builder::new()
            .worker_threads(2)
            .build()
            .expect("runtime");
        let local = LocalSet::new();
        let state: Rc<RefCell<HashMap<String, u64>>> = Rc::default();
        let (tx, mut rx) = mpsc::unbounded::<Command>();
        let driver = thread::current().id();

        // The owner of the state: a local task that serves commands, spawning a local task
        // per read (which needs the Rc too).
        let served = {
            let state = state.clone();
            local.spawn_local(async move {
                assert_eq!(thread::current().id(), driver);
                let mut reads = Vec::new();
                while let Some(command) = rx.next().await {
                    match command {
                        Command::Add(key, n) => *state.borrow_mut().entry(key).or_default() += n,
                        Command::Get(key, reply) => {
                            let state = state.clone();
                            reads.push(genrt::task::spawn_local(async move {
                                genrt::yield_now().await;
                                let _ = reply.send(state.borrow().get(&key).copied());
                            }));
                        }
                    }
                }
                let count = reads.len();
                for read in reads {
                    read.await.expect("a read task");
                }
                count
            })
        };

        p.at("driving the set while multi-thread tasks send");
        let totals = local.block_on(&rt, async {
            let mut senders = JoinSet::new();
            for s in 0..SENDERS {
                let mut tx = tx.clone();
                senders.spawn(async move {
                    for i in 0..EACH {
                        tx.send(Command::Add(format!("key{}", i % 4), s + 1))
                            .await
                            .expect("the local task listens");
                        if i % 50 == 0 {
                            genrt::yield_now().await;
                        }
                    }
                });
            }
            while let Some(done) = senders.join_next().await {
                done.expect("a sender");
            }
            // Reads from another multi-thread task, answered by local tasks.
            let tx2 = tx.clone();
            let totals = genrt::spawn(async move {
                let mut totals = Vec::new();
                for k in 0..5 {
                    let (reply, answer) = oneshot::channel();
                    tx2.unbounded_send(Command::Get(format!("key{k}"), reply))
                        .expect("the local task listens");
                    totals.push(answer.await.expect("an answer"));
                }
                totals
            })
            .await
            .expect("the reader");
            tx.close_channel();
            totals
        });
        let per_key = (1..=SENDERS).sum::<u64>() * EACH / 4;
        assert_eq!(
            totals,
            [
                Some(per_key),
                Some(per_key),
                Some(per_key),
                Some(per_key),
                None
            ]
        );
        p.at("joining the server task");
        assert_eq!(local.block_on(&rt, served).expect("the local task"), 5);
        assert_eq!(
            Rc::strong_count(&state),
            1,
            "the finished tasks let go of it"
        );

        // A local task left suspended holds the Rc until the set is dropped.
        let parked = {
            let state = state.clone();
            local.spawn_local(async move {
                let _state = state;
                pending::<()>().await
            })
        };
        local.block_on(&rt, genrt::yield_now());
        assert_eq!(Rc::strong_count(&state), 2);
        drop(local);
        assert_eq!(
            Rc::strong_count(&state),
            1,
            "dropping the set drops its tasks"
        );
        assert!(wait_for("a dropped local task", parked)
            .unwrap_err()
            .is_cancelled());
        drop_runtime(rt);
    });
}

// ---------------------------------------------------------------------------------------------
// (6) Many runtimes, one after the other.
// ---------------------------------------------------------------------------------------------

/// The user's program (a CLI, a test harness) builds and drops 2,000 runtimes in a loop,
/// current-thread and multi-thread in turn, each spawning, sleeping, blocking and joining a
/// little; the results are exact and every thread they started has exited (checked every 100
/// runtimes and at the end).
#[test]
fn two_thousand_runtimes_built_and_dropped() {
    let _serial = serial();
    Watchdog::new("2,000 runtimes")
        .limit(support::DEADLINE * 2)
        .run_reporting(|p| {
            let baseline = threads();
            for round in 0..2000usize {
                p.at_round("building and dropping a runtime", round);
                let rt = if round % 2 == 0 {
                    genrt::Builder::new_current_thread().build()
                } else {
                    genrt::Builder::new_multi_thread().worker_threads(2).build()
                }
                .expect("runtime");
                let value = rt.block_on(async move {
                    let a = genrt::spawn(async move { round * 2 });
                    let b = genrt::spawn(async {
                        sleep(Duration::from_millis(1)).await;
                        1
                    });
                    let c = if round % 10 == 0 {
                        genrt::spawn_blocking(move || round)
                            .await
                            .expect("blocking")
                    } else {
                        round
                    };
                    a.await.expect("a") + b.await.expect("b") + c
                });
                assert_eq!(value, round * 3 + 1);
                drop(rt);
                if round % 100 == 99 {
                    threads_return_to(&baseline);
                }
            }
            threads_return_to(&baseline);
        });
}

// ---------------------------------------------------------------------------------------------
// (7) The attributes.
// ---------------------------------------------------------------------------------------------

/// The user's app entry point, written for `#[tokio::main]`; tests call it as a function.
#[genrt::main(flavor = "current_thread", start_paused = true)]
async fn app(requests: u32) -> Result<u32, genrt::JoinError> {
    let mut set = JoinSet::new();
    for i in 0..requests {
        set.spawn(async move {
            sleep(Duration::from_secs(u64::from(i))).await;
            i
        });
    }
    let mut sum = 0;
    while let Some(done) = set.join_next().await {
        sum += done?;
    }
    Ok(sum)
}

/// The user calls a `#[genrt::main]` function (paused clock: its hour of sleeps is instant)
/// from a test, several times in a row; each builds and drops its own runtime.
#[test]
fn a_main_attribute_function_called_from_a_test() {
    let _serial = serial();
    Watchdog::new("#[genrt::main]").run(|| {
        for _ in 0..3 {
            assert_eq!(app(3600).expect("the app"), (0..3600).sum::<u32>());
        }
    });
}

/// The user writes a multi-thread test on a paused clock: a timeout fires at exactly its
/// deadline while a sleep elsewhere completes at exactly its own, and spawned tasks see the
/// same clock.
// The file's lock is held for the whole body, which `block_on` runs on this thread.
#[allow(clippy::await_holding_lock)]
#[genrt::test(flavor = "multi_thread", worker_threads = 2, start_paused = true)]
async fn a_paused_multi_thread_test() {
    let _serial = serial();
    let _armed = Watchdog::new("a paused multi-thread test").arm();
    let start = Instant::now();
    let slow = genrt::spawn(async move {
        sleep(Duration::from_secs(30)).await;
        start.elapsed()
    });
    let timed_out = timeout(Duration::from_secs(5), pending::<()>()).await;
    assert!(timed_out.is_err());
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(slow.await.expect("slow"), Duration::from_secs(30));
    assert_eq!(start.elapsed(), Duration::from_secs(30));
}

/// The user's current-thread test on a paused clock, with a task that runs an interval.
// The file's lock is held for the whole body, which `block_on` runs on this thread.
#[allow(clippy::await_holding_lock)]
#[genrt::test(start_paused = true)]
async fn a_paused_current_thread_test() {
    let _serial = serial();
    let _armed = Watchdog::new("a paused current-thread test").arm();
    let start = Instant::now();
    let ticker = genrt::spawn(async move {
        let mut every = interval(Duration::from_secs(60));
        let mut ticks = Vec::new();
        for _ in 0..4 {
            ticks.push(every.tick().await - start);
        }
        ticks
    });
    let ticks = ticker.await.expect("ticker");
    assert_eq!(ticks, [0, 60, 120, 180].map(Duration::from_secs));
}

// ---------------------------------------------------------------------------------------------
// (8) futures-rs combinators.
// ---------------------------------------------------------------------------------------------

/// The requests a stream has out, and the condition its shell thread waits on.
type ShellQueue = (Mutex<Vec<(u64, Resolver<u64>)>>, Condvar);

/// The user reaches for futures-rs: `select!` between a genrt sleep and a channel,
/// `join_all` over join handles, `FuturesUnordered` of sleeps, and `buffer_unordered` over
/// shell requests (at most 4 in flight, exactly). Results are exact on a multi-thread runtime.
#[test]
fn futures_rs_combinators_on_genrt() {
    let _serial = serial();
    Watchdog::new("futures combinators").run_reporting(|p| {
        let rt = genrt::Builder::new()
            .worker_threads(2)
            .start_paused(true)
            .build()
            .expect("runtime");

        p.at("select!");
        let picked = rt.block_on(async {
            let (tx, mut rx) = mpsc::unbounded::<u32>();
            genrt::spawn(async move {
                sleep(Duration::from_millis(20)).await;
                tx.unbounded_send(7).expect("select listens");
            });
            let mut picked = Vec::new();
            let mut timer = pin!(sleep(Duration::from_millis(50)).fuse());
            loop {
                futures::select! {
                    v = rx.next() => match v {
                        Some(v) => picked.push(("message", v)),
                        None => picked.push(("closed", 0)),
                    },
                    () = timer => {
                        picked.push(("timer", 0));
                        break;
                    }
                }
            }
            picked
        });
        assert_eq!(picked, [("message", 7), ("closed", 0), ("timer", 0)]);

        p.at("join_all");
        let squares = rt.block_on(join_all(
            (0..100u64).map(|i| rt.spawn(async move { i * i })),
        ));
        let squares: Vec<u64> = squares.into_iter().map(|r| r.expect("a task")).collect();
        assert_eq!(squares, (0..100u64).map(|i| i * i).collect::<Vec<_>>());

        p.at("FuturesUnordered");
        let order = rt.block_on(async {
            let start = Instant::now();
            let mut sleeps: FuturesUnordered<_> = [30u64, 10, 20, 40]
                .into_iter()
                .map(|ms| async move {
                    sleep(Duration::from_millis(ms)).await;
                    (ms, (Instant::now() - start).as_millis() as u64)
                })
                .collect();
            let mut order = Vec::new();
            while let Some(done) = sleeps.next().await {
                order.push(done);
            }
            order
        });
        assert_eq!(order, [(10, 10), (20, 20), (30, 30), (40, 40)]);

        p.at("buffer_unordered over shell requests");
        let effects: Arc<ShellQueue> = Arc::default();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let shell = {
            let effects = effects.clone();
            thread::spawn(move || {
                let mut rng = Rng::new(seed());
                let mut remaining = 20;
                while remaining > 0 {
                    let (lock, ready) = &*effects;
                    let mut pending = lock.lock().unwrap();
                    // Resolves only once the stream has as many requests out as it may.
                    while pending.len() < remaining.min(4) {
                        pending = ready.wait(pending).unwrap();
                    }
                    let i = rng.below(pending.len());
                    let (n, resolver) = pending.swap_remove(i);
                    drop(pending);
                    resolver.resolve(n * 10).expect("the request waits");
                    remaining -= 1;
                }
            })
        };
        let mut results = {
            let (effects, in_flight, max) =
                (effects.clone(), in_flight.clone(), max_in_flight.clone());
            rt.block_on(rt.spawn(async move {
                futures::stream::iter(0..20u64)
                    .map(|n| {
                        let (effects, in_flight, max) =
                            (effects.clone(), in_flight.clone(), max.clone());
                        async move {
                            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                            max.fetch_max(now, Ordering::SeqCst);
                            let (request, resolver) = shell::request::<u64>();
                            {
                                let (lock, ready) = &*effects;
                                lock.lock().unwrap().push((n, resolver));
                                ready.notify_all();
                            }
                            let value = request.await.expect("resolved");
                            in_flight.fetch_sub(1, Ordering::SeqCst);
                            value
                        }
                    })
                    .buffer_unordered(4)
                    .collect::<Vec<u64>>()
                    .await
            }))
            .expect("the stream task")
        };
        shell.join().expect("the shell thread");
        results.sort_unstable();
        assert_eq!(results, (0..20u64).map(|n| n * 10).collect::<Vec<_>>());
        assert_eq!(max_in_flight.load(Ordering::SeqCst), 4);
        drop_runtime(rt);
    });
}

// ---------------------------------------------------------------------------------------------
// (9) Panics.
// ---------------------------------------------------------------------------------------------

/// The user's JoinSet has one task that panics while the others are still running: the
/// panic comes out of `join_next` as a `JoinError` with its message and id, the others
/// finish with their values, and the runtime carries on.
#[test]
fn a_task_panics_inside_a_join_set_while_others_run() {
    let _serial = serial();
    let _quiet = quiet_panics();
    Watchdog::new("panic in a join set").run(|| {
        let rt = support::runtime(2);
        let dropped = Arc::new(AtomicUsize::new(0));
        let (ok, panicked) = rt.block_on(async {
            let mut set = JoinSet::new();
            let mut bad_id = None;
            for i in 0..20u32 {
                let counter = DropCounter(dropped.clone());
                let handle = set.spawn(async move {
                    let _counter = counter;
                    for _ in 0..i {
                        genrt::yield_now().await;
                    }
                    if i == 10 {
                        panic!("{INTENTIONAL}: task {i} fails");
                    }
                    i
                });
                if i == 10 {
                    bad_id = Some(handle.id());
                }
            }
            let mut ok = Vec::new();
            let mut panicked = Vec::new();
            while let Some(result) = set.join_next().await {
                match result {
                    Ok(i) => ok.push(i),
                    Err(err) => {
                        assert!(err.is_panic(), "{err:?}");
                        assert_eq!(Some(err.id()), bad_id);
                        let payload = err.into_panic();
                        panicked.push(panic_message(&*payload).map(str::to_owned));
                    }
                }
            }
            ok.sort_unstable();
            (ok, panicked)
        });
        assert_eq!(ok, (0..20).filter(|&i| i != 10).collect::<Vec<_>>());
        assert_eq!(panicked, [Some(format!("{INTENTIONAL}: task 10 fails"))]);
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            20,
            "the panicked task's future too"
        );
        assert_eq!(
            rt.block_on(rt.spawn(async { "still up" })).unwrap(),
            "still up"
        );
        drop_runtime(rt);
    });
}

/// The user wraps `block_on` in `catch_unwind`: the panic of the future comes out, the
/// future's captures are dropped, and the runtime (either flavor) keeps working, tasks spawned
/// before the panic included.
#[test]
fn catch_unwind_around_block_on() {
    let _serial = serial();
    let _quiet = quiet_panics();
    Watchdog::new("catch_unwind around block_on").run(|| {
        for current_thread in [true, false] {
            let rt = if current_thread {
                genrt::Builder::new_current_thread().build()
            } else {
                genrt::Builder::new_multi_thread().worker_threads(2).build()
            }
            .expect("runtime");
            let dropped = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = oneshot::channel::<u32>();
            let background = rt.spawn(async move { rx.await.expect("a value") + 1 });
            let counter = DropCounter(dropped.clone());
            let caught = catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(async move {
                    let _counter = counter;
                    genrt::yield_now().await;
                    panic!("{INTENTIONAL}: block_on's future fails");
                })
            }));
            let payload = caught.expect_err("the panic comes out of block_on");
            assert_eq!(
                panic_message(&*payload),
                Some(&*format!("{INTENTIONAL}: block_on's future fails"))
            );
            assert_eq!(dropped.load(Ordering::SeqCst), 1);
            tx.send(41).expect("the background task waits");
            assert_eq!(rt.block_on(background).expect("background"), 42);
            assert_eq!(
                rt.block_on(async { genrt::spawn(async { 5 }).await })
                    .unwrap(),
                5
            );
            drop_runtime(rt);
        }
    });
}

/// A value whose `Drop` panics, held by a suspended task.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{INTENTIONAL}: a Drop fails during shutdown");
    }
}

/// The user's task holds a value whose `Drop` panics, and the runtime is dropped while it is
/// suspended: as in Tokio, the drop of the runtime completes, every other task's future is
/// dropped too, and the panicking task's handle reports that panic.
#[test]
fn a_panic_in_a_drop_during_runtime_shutdown() {
    let _serial = serial();
    let _quiet = quiet_panics();
    Watchdog::new("panic in a drop at shutdown").run_reporting(|p| {
        for current_thread in [true, false] {
            let rt = if current_thread {
                genrt::Builder::new_current_thread().build()
            } else {
                genrt::Builder::new_multi_thread().worker_threads(2).build()
            }
            .expect("runtime");
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut handles = Vec::new();
            for i in 0..50 {
                let counter = DropCounter(dropped.clone());
                let bomb = if i == 25 { Some(PanicOnDrop) } else { None };
                handles.push(rt.spawn(async move {
                    let _counter = counter;
                    let _bomb = bomb;
                    pending::<()>().await
                }));
            }
            rt.block_on(genrt::yield_now());
            if !current_thread {
                rt.settle();
            }
            p.at("dropping the runtime");
            let rt_drop = thread::spawn(move || drop(rt)).join();
            assert!(rt_drop.is_ok(), "dropping the runtime must not panic");
            assert_eq!(
                dropped.load(Ordering::SeqCst),
                50,
                "every future is dropped"
            );
            for (i, handle) in handles.into_iter().enumerate() {
                let err = wait_for("a handle after shutdown", handle).unwrap_err();
                if i == 25 {
                    // As Tokio's: the panic of dropping the future is the task's outcome.
                    assert!(err.is_panic(), "{err:?}");
                    assert_eq!(
                        panic_message(&*err.into_panic()),
                        Some(&*format!("{INTENTIONAL}: a Drop fails during shutdown"))
                    );
                } else {
                    assert!(err.is_cancelled(), "task {i}: {err:?}");
                }
            }
        }
    });
}
