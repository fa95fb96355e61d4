//! More programs a Tokio user writes, run on genrt with Tokio's synchronisation primitives
//! (`tokio::sync`, no Tokio runtime) and futures-rs: an actor answering over oneshots and
//! stopped through a `watch`, a bounded pipeline cancelled on the first error, a worker pool
//! (`JoinSet` + `Semaphore`, a timeout per job) on a paused clock, retries with exponential
//! backoff at exact paused instants, a broadcast shutdown of 1,000 tasks awaited through the
//! channel their senders close, a cache refreshed by a background task aborted on drop, a
//! blocking-heavy checksum job beside async tasks, and a request-id `task_local!` kept per
//! task. Each runs on a current-thread runtime and on multi-thread runtimes of 1, 2 and 4
//! workers, checks its results exactly and counts its futures alive (none left after the
//! runtime drops). `programs_give_back_every_byte` reruns three of them in a child process
//! (this binary, one test) under the counting allocator and compares live bytes with a
//! baseline.
//!
//! `user_programs.rs` holds the first set (effects pipeline, server loop, fork-join, intervals,
//! `LocalSet`, runtimes built in a loop); nothing here repeats it.
//!
//! Every test runs under a [`Watchdog`] and takes the file's [`serial`] lock: the child's
//! memory measurement must run alone, and the others are cheap. Nothing here measures time:
//! instants are checked on paused clocks only.

use std::collections::BTreeMap;
use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use genrt::task::JoinSet;
use genrt::time::{sleep, timeout, Instant};
use genrt::{Builder, Runtime};
use support::counting::{warm_up_runtime, Baseline, CountingAlloc};
use support::{drop_runtime, serial, Gate, Live, Watchdog};
use tokio::sync::{broadcast, mpsc, oneshot, watch, RwLock, Semaphore};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

// ---------------------------------------------------------------------------------------------
// Helpers a user would write.
// ---------------------------------------------------------------------------------------------

/// A program: runs on the runtime given, counting its futures alive in the counter given.
type Program = fn(&Runtime, &Arc<AtomicUsize>);

/// The runtimes each program runs on: current-thread, and multi-thread with 1, 2 and 4
/// workers; `paused` starts the clock paused.
fn runtimes(paused: bool) -> Vec<(String, Runtime)> {
    let mut all = vec![(
        "current-thread".to_string(),
        Builder::new_current_thread()
            .start_paused(paused)
            .build()
            .expect("the runtime starts"),
    )];
    for workers in [1, 2, 4] {
        all.push((
            format!("multi-thread, {workers} workers"),
            Builder::new_multi_thread()
                .worker_threads(workers)
                .start_paused(paused)
                .build()
                .expect("the runtime starts"),
        ));
    }
    all
}

/// Runs `program` on every runtime of [`runtimes`], under a watchdog naming the runtime,
/// then drops the runtime and checks that no future counted by `live` survived it.
fn on_every_runtime(what: &'static str, paused: bool, program: Program) {
    let _serial = serial();
    for (name, rt) in runtimes(paused) {
        Watchdog::new(what).run_reporting(move |progress| {
            progress.at(format!("{what} on a {name} runtime"));
            let live = Arc::new(AtomicUsize::new(0));
            program(&rt, &live);
            progress.at(format!("dropping the {name} runtime after {what}"));
            drop_runtime(rt);
            assert_eq!(
                live.load(Ordering::SeqCst),
                0,
                "{what} on a {name} runtime: futures alive after the runtime dropped"
            );
        });
    }
}

// ---------------------------------------------------------------------------------------------
// (1) An actor: requests over mpsc, replies over oneshot, shutdown through a watch.
// ---------------------------------------------------------------------------------------------

enum Command {
    Add(u64, oneshot::Sender<u64>),
    Get(oneshot::Sender<u64>),
}

/// The actor: a running total. Ends on shutdown or when every sender is gone, returning the
/// total and how many commands it served.
async fn counter_actor(
    mut commands: mpsc::Receiver<Command>,
    mut shutdown: watch::Receiver<bool>,
    live: Arc<AtomicUsize>,
) -> (u64, usize) {
    let _live = Live::new(&live);
    let (mut total, mut served) = (0, 0);
    loop {
        genrt::select! {
            biased;
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            command = commands.recv() => match command {
                Some(Command::Add(n, reply)) => {
                    total += n;
                    served += 1;
                    // A caller that gave up is not the actor's problem.
                    let _ = reply.send(total);
                }
                Some(Command::Get(reply)) => {
                    served += 1;
                    let _ = reply.send(total);
                }
                None => break,
            },
        }
    }
    (total, served)
}

/// The actor's handle, as users write it: a cloneable sender with async methods.
#[derive(Clone)]
struct Counter(mpsc::Sender<Command>);

impl Counter {
    async fn add(&self, n: u64) -> Option<u64> {
        let (tx, rx) = oneshot::channel();
        self.0.send(Command::Add(n, tx)).await.ok()?;
        rx.await.ok()
    }

    async fn get(&self) -> Option<u64> {
        let (tx, rx) = oneshot::channel();
        self.0.send(Command::Get(tx)).await.ok()?;
        rx.await.ok()
    }
}

fn actor_program(rt: &Runtime, live: &Arc<AtomicUsize>) {
    const CLIENTS: u64 = 50;
    const ADDS: u64 = 20;
    let live = live.clone();
    rt.block_on(async move {
        let (tx, rx) = mpsc::channel(8);
        let (stop, stopped) = watch::channel(false);
        let actor = genrt::spawn(counter_actor(rx, stopped, live.clone()));
        let counter = Counter(tx);
        let mut clients = JoinSet::new();
        for client in 0..CLIENTS {
            let counter = counter.clone();
            let live = live.clone();
            clients.spawn(async move {
                let _live = Live::new(&live);
                let mut last = 0;
                for i in 0..ADDS {
                    let total = counter.add(client * 100 + i).await.expect("the actor runs");
                    // Every reply is a running total: it only grows, by at least what we added.
                    assert!(total >= last + client * 100 + i);
                    last = total;
                    if i % 7 == 0 {
                        genrt::yield_now().await;
                    }
                }
                client
            });
        }
        let mut finished = Vec::new();
        while let Some(client) = clients.join_next().await {
            finished.push(client.expect("a client failed"));
        }
        finished.sort_unstable();
        assert_eq!(finished, (0..CLIENTS).collect::<Vec<_>>());
        let expected: u64 = (0..CLIENTS)
            .flat_map(|c| (0..ADDS).map(move |i| c * 100 + i))
            .sum();
        assert_eq!(counter.get().await, Some(expected));

        // Graceful shutdown: the actor stops although a sender is still alive.
        stop.send(true).expect("the actor watches");
        let (total, served) = actor.await.expect("the actor panicked");
        assert_eq!(total, expected);
        assert_eq!(served, (CLIENTS * ADDS) as usize + 1);
        // Requests after the shutdown fail instead of hanging.
        assert_eq!(counter.add(1).await, None);
        assert_eq!(counter.get().await, None);
    });
}

#[test]
fn actor_with_oneshot_replies_and_watch_shutdown() {
    on_every_runtime("the actor program", false, actor_program);
}

// ---------------------------------------------------------------------------------------------
// (2) A bounded pipeline: producer -> 3 stages -> consumer, cancelled on the first error.
// ---------------------------------------------------------------------------------------------

const ITEMS: u64 = 600;
const CAPACITY: usize = 4;

/// Runs the pipeline; stage 2 fails on item `fail_at` if given. Returns what the consumer
/// received, in order, how many items the producer sent, and the first error.
async fn pipeline(
    fail_at: Option<u64>,
    live: Arc<AtomicUsize>,
) -> (Vec<u64>, usize, Option<String>) {
    let sent = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(Mutex::new(Vec::new()));
    let mut tasks: JoinSet<Result<(), String>> = JoinSet::new();

    let (tx, mut rx) = mpsc::channel::<u64>(CAPACITY);
    {
        let (sent, live) = (sent.clone(), live.clone());
        tasks.spawn(async move {
            let _live = Live::new(&live);
            for item in 0..ITEMS {
                tx.send(item)
                    .await
                    .map_err(|_| "the first stage hung up".to_string())?;
                sent.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        });
    }
    for stage in 1..=3u64 {
        let (next_tx, next_rx) = mpsc::channel::<u64>(CAPACITY);
        let mut input = std::mem::replace(&mut rx, next_rx);
        let live = live.clone();
        tasks.spawn(async move {
            let _live = Live::new(&live);
            while let Some(item) = input.recv().await {
                // Stage 2 sees stage 1's `item * 2 + 1`.
                if stage == 2 && Some(item / 2) == fail_at {
                    return Err(format!("stage 2 failed on item {}", item / 2));
                }
                if item % 5 == stage {
                    genrt::yield_now().await;
                }
                next_tx
                    .send(item * 2 + stage)
                    .await
                    .map_err(|_| format!("stage {stage}: the next stage hung up"))?;
            }
            Ok(())
        });
    }
    {
        let (received, live) = (received.clone(), live.clone());
        tasks.spawn(async move {
            let _live = Live::new(&live);
            while let Some(item) = rx.recv().await {
                received.lock().unwrap().push(item);
            }
            Ok(())
        });
    }

    let mut error = None;
    while let Some(result) = tasks.join_next().await {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                // Cancel the rest, as `try_join!` users do by hand with a JoinSet.
                error.get_or_insert(e);
                tasks.shutdown().await;
            }
            Err(e) => panic!("a pipeline task panicked or was cancelled: {e}"),
        }
    }
    let received = std::mem::take(&mut *received.lock().unwrap());
    (received, sent.load(Ordering::SeqCst), error)
}

fn expected_item(item: u64) -> u64 {
    ((item * 2 + 1) * 2 + 2) * 2 + 3
}

fn pipeline_program(rt: &Runtime, live: &Arc<AtomicUsize>) {
    // Without an error: every item, in order.
    let (received, sent, error) = rt.block_on(pipeline(None, live.clone()));
    assert_eq!(error, None);
    assert_eq!(sent, ITEMS as usize);
    assert_eq!(received, (0..ITEMS).map(expected_item).collect::<Vec<_>>());
    assert_eq!(live.load(Ordering::SeqCst), 0, "every pipeline task ended");

    // With an error at item 300: a prefix in order, the producer held back by the bounded
    // channels, every task cancelled.
    let (received, sent, error) = rt.block_on(pipeline(Some(300), live.clone()));
    assert_eq!(error.as_deref(), Some("stage 2 failed on item 300"));
    assert_eq!(
        received,
        (0..received.len() as u64)
            .map(expected_item)
            .collect::<Vec<_>>(),
        "the consumer received a prefix, in order"
    );
    assert!(
        received.len() <= 300,
        "{} items got past item 300",
        received.len()
    );
    // Item 300 in stage 2's hands, stage 1 holding one and blocked on a full channel, the
    // channel to stage 1 full, the producer blocked with the next.
    assert!(
        sent <= 301 + 1 + 2 * CAPACITY,
        "the producer ran {sent} items ahead of a pipeline stopped at item 300"
    );
    assert_eq!(live.load(Ordering::SeqCst), 0, "every pipeline task ended");
}

#[test]
fn bounded_pipeline_with_backpressure_and_cancellation_on_error() {
    on_every_runtime("the pipeline program", false, pipeline_program);
}

// ---------------------------------------------------------------------------------------------
// (3) A worker pool: JoinSet + Semaphore, a timeout per job, on a paused clock.
// ---------------------------------------------------------------------------------------------

const JOBS: u64 = 30;
const POOL: usize = 3;
const JOB_TIMEOUT: Duration = Duration::from_millis(45);

fn job_length(job: u64) -> Duration {
    Duration::from_millis((job % 7) * 10)
}

/// When the pool finishes, from its start: jobs start in order as permits free up, each
/// holding its permit for its length or the timeout, whichever is shorter.
fn expected_makespan() -> Duration {
    let mut free_at = [Duration::ZERO; POOL];
    for job in 0..JOBS {
        let slot = (0..POOL).min_by_key(|&s| free_at[s]).unwrap();
        free_at[slot] += job_length(job).min(JOB_TIMEOUT);
    }
    free_at.into_iter().max().unwrap()
}

fn pool_program(rt: &Runtime, live: &Arc<AtomicUsize>) {
    let live = live.clone();
    rt.block_on(async move {
        let start = Instant::now();
        let permits = Arc::new(Semaphore::new(POOL));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut jobs = JoinSet::new();
        for job in 0..JOBS {
            let permit = permits.clone().acquire_owned().await.expect("never closed");
            let (running, most, live) = (running.clone(), most.clone(), live.clone());
            jobs.spawn(async move {
                let _permit = permit;
                let _live = Live::new(&live);
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                let outcome = timeout(JOB_TIMEOUT, async {
                    sleep(job_length(job)).await;
                    job * job
                })
                .await;
                running.fetch_sub(1, Ordering::SeqCst);
                (job, outcome.ok())
            });
        }
        let mut results = BTreeMap::new();
        while let Some(result) = jobs.join_next().await {
            let (job, outcome) = result.expect("a job panicked");
            results.insert(job, outcome);
        }
        let expected: BTreeMap<u64, Option<u64>> = (0..JOBS)
            .map(|job| {
                let done = job_length(job) <= JOB_TIMEOUT;
                (job, done.then_some(job * job))
            })
            .collect();
        assert_eq!(results, expected);
        assert_eq!(
            most.load(Ordering::SeqCst),
            POOL,
            "the semaphore bounds the pool"
        );
        assert_eq!(permits.available_permits(), POOL);
        assert_eq!(
            start.elapsed(),
            expected_makespan(),
            "the paused clock's makespan"
        );
    });
}

#[test]
fn worker_pool_with_a_semaphore_and_timeouts_on_a_paused_clock() {
    on_every_runtime("the worker pool program", true, pool_program);
}

// ---------------------------------------------------------------------------------------------
// (4) Retries with exponential backoff, on a paused clock.
// ---------------------------------------------------------------------------------------------

const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(250);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Calls `attempt` until it succeeds or `max_attempts` are used, each under
/// [`ATTEMPT_TIMEOUT`], backing off 100 ms, 200 ms, 400 ms ... between attempts. Records the
/// instant (from `start`) of every attempt.
async fn retry<F, Fut>(
    max_attempts: u32,
    start: Instant,
    at: &mut Vec<Duration>,
    mut attempt: F,
) -> Result<u64, String>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<u64, String>>,
{
    let mut backoff = FIRST_BACKOFF;
    for n in 1..=max_attempts {
        at.push(start.elapsed());
        match timeout(ATTEMPT_TIMEOUT, attempt(n)).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(_)) | Err(_) if n < max_attempts => {
                sleep(backoff).await;
                backoff *= 2;
            }
            Ok(Err(e)) => return Err(e),
            Err(elapsed) => return Err(elapsed.to_string()),
        }
    }
    unreachable!("the last attempt returns")
}

/// Attempts 1 and 2 hang, 3 and 4 fail at once, 5 succeeds.
async fn flaky(n: u32, live: Arc<AtomicUsize>) -> Result<u64, String> {
    let _live = Live::new(&live);
    match n {
        1 | 2 => pending().await,
        3 | 4 => Err(format!("attempt {n} refused")),
        _ => Ok(u64::from(n) * 11),
    }
}

fn retry_program(rt: &Runtime, live: &Arc<AtomicUsize>) {
    let live = live.clone();
    let ms = Duration::from_millis;
    let task = rt.spawn(async move {
        let start = Instant::now();
        let mut at = Vec::new();
        let result = retry(5, start, &mut at, |n| flaky(n, live.clone())).await;
        assert_eq!(result, Ok(55));
        // 0: hangs until 250, backs off 100; 350: hangs until 600, backs off 200; 800: fails,
        // backs off 400; 1200: fails, backs off 800; 2000: succeeds.
        assert_eq!(at, [ms(0), ms(350), ms(800), ms(1200), ms(2000)]);
        assert_eq!(start.elapsed(), ms(2000));

        let start = Instant::now();
        let mut at = Vec::new();
        let result = retry(3, start, &mut at, |n| flaky(n, live.clone())).await;
        assert_eq!(result, Err("attempt 3 refused".to_string()));
        assert_eq!(at, [ms(0), ms(350), ms(800)]);

        let start = Instant::now();
        let mut at = Vec::new();
        let result = retry(1, start, &mut at, |n| flaky(n, live.clone())).await;
        assert_eq!(result, Err("deadline has elapsed".to_string()));
        assert_eq!(start.elapsed(), ATTEMPT_TIMEOUT);
        assert_eq!(live.load(Ordering::SeqCst), 0, "every attempt was dropped");
    });
    rt.block_on(task).expect("the retry program failed");
}

#[test]
fn retries_with_exponential_backoff_at_exact_paused_instants() {
    on_every_runtime("the retry program", true, retry_program);
}

/// The same with the clock paused by `time::pause()` inside a current-thread runtime, as
/// Tokio's tests do with `#[tokio::test(start_paused = true)]`'s older spelling.
#[test]
fn retries_with_time_pause_on_a_current_thread_runtime() {
    let _serial = serial();
    Watchdog::new("retries with time::pause").run(|| {
        let rt = Builder::new_current_thread().build().unwrap();
        let live = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            genrt::time::pause();
            // Paused between two of the timer's millisecond ticks, as Tokio's clock would be:
            // deadlines round up to a tick, so the first sleep lands the clock on one.
            sleep(Duration::from_millis(1)).await;
        });
        retry_program(&rt, &live);
        drop_runtime(rt);
        assert_eq!(live.load(Ordering::SeqCst), 0);
    });
}

// ---------------------------------------------------------------------------------------------
// (5) A shutdown broadcast to 1,000 tasks, awaited through the channel their senders close
// (Tokio's "graceful shutdown" guide), then `shutdown_timeout` with a stuck blocking closure.
// ---------------------------------------------------------------------------------------------

fn broadcast_program(rt: &Runtime, live: &Arc<AtomicUsize>) {
    const TASKS: usize = 1_000;
    let (notify, _) = broadcast::channel::<()>(1);
    let (done_tx, mut done_rx) = mpsc::channel::<usize>(1);
    let ready = Arc::new(Semaphore::new(0));
    let work = Arc::new(AtomicUsize::new(0));
    for i in 0..TASKS {
        let mut shutdown = notify.subscribe();
        let done = done_tx.clone();
        let (ready, work, live) = (ready.clone(), work.clone(), live.clone());
        drop(rt.spawn(async move {
            let _live = Live::new(&live);
            let _done = done;
            ready.add_permits(1);
            loop {
                genrt::select! {
                    _ = shutdown.recv() => break,
                    _ = sleep(Duration::from_millis(1 + (i % 5) as u64)) => {
                        work.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            // Clean-up after the signal still runs on the runtime.
            genrt::yield_now().await;
            i
        }));
    }
    drop(done_tx);
    rt.block_on(async {
        let all = ready
            .acquire_many(TASKS as u32)
            .await
            .expect("never closed");
        all.forget();
        assert_eq!(notify.send(()).expect("1,000 subscribers"), TASKS);
        // Every task's sender closes the channel when the task ends.
        let deadline = timeout(support::DEADLINE, done_rx.recv()).await;
        assert_eq!(deadline, Ok(None), "every task ended after the broadcast");
    });
    // A task's sender is dropped inside its last poll, before the task completes (as in
    // Tokio): its future's other locals and the task itself go a moment later.
    support::wait_until("every task completed and dropped its future", || {
        live.load(Ordering::SeqCst) == 0 && rt.metrics().num_alive_tasks() == 0
    });
}

#[test]
fn broadcast_shutdown_to_a_thousand_tasks() {
    on_every_runtime("the broadcast program", false, broadcast_program);
}

#[test]
fn shutdown_timeout_returns_false_beside_a_stuck_blocking_closure_and_drops_the_tasks() {
    let _serial = serial();
    Watchdog::new("shutdown_timeout with a stuck closure").run(|| {
        for (name, rt) in runtimes(false) {
            let live = Arc::new(AtomicUsize::new(0));
            let gate = Gate::default();
            let (started_tx, started_rx) = std::sync::mpsc::channel();
            let stuck = {
                let gate = gate.clone();
                rt.spawn_blocking(move || {
                    started_tx.send(()).unwrap();
                    gate.wait();
                    7
                })
            };
            let mut waiting = Vec::new();
            for _ in 0..100 {
                let live = live.clone();
                waiting.push(rt.spawn(async move {
                    let _live = Live::new(&live);
                    pending::<()>().await
                }));
            }
            support::recv(&started_rx, "the blocking closure started");
            assert!(
                !rt.shutdown_timeout(Duration::from_millis(20)),
                "{name}: shutdown_timeout reports the closure still running"
            );
            assert_eq!(live.load(Ordering::SeqCst), 0, "{name}: tasks dropped");
            for task in waiting {
                let err = support::wait_for("a cancelled task", task).unwrap_err();
                assert!(err.is_cancelled(), "{name}: {err}");
            }
            gate.open();
            assert_eq!(support::wait_for("the stuck closure", stuck).ok(), Some(7));
        }
    });
}

// ---------------------------------------------------------------------------------------------
// (6) A cache behind an RwLock, refreshed by a background task aborted when the cache drops.
// ---------------------------------------------------------------------------------------------

struct Cache {
    data: Arc<RwLock<(u64, String)>>,
    refresher: genrt::AbortHandle,
}

impl Cache {
    fn new(period: Duration, live: &Arc<AtomicUsize>) -> Cache {
        let data = Arc::new(RwLock::new((0, "v0".to_string())));
        let refresher = {
            let (data, live) = (data.clone(), live.clone());
            genrt::spawn(async move {
                let _live = Live::new(&live);
                let mut every = genrt::time::interval(period);
                every.tick().await;
                loop {
                    every.tick().await;
                    let mut guard = data.write().await;
                    guard.0 += 1;
                    guard.1 = format!("v{}", guard.0);
                }
            })
            .abort_handle()
        };
        Cache { data, refresher }
    }

    async fn get(&self) -> (u64, String) {
        self.data.read().await.clone()
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        self.refresher.abort();
    }
}

fn cache_program(rt: &Runtime, live: &Arc<AtomicUsize>) {
    let live = live.clone();
    rt.block_on(async move {
        let cache = Cache::new(Duration::from_secs(1), &live);
        let data = Arc::downgrade(&cache.data);
        assert_eq!(cache.get().await, (0, "v0".to_string()));
        sleep(Duration::from_millis(5_500)).await;
        assert_eq!(cache.get().await, (5, "v5".to_string()));
        let readers: Vec<_> = (0..10)
            .map(|_| {
                let data = cache.data.clone();
                genrt::spawn(async move { data.read().await.0 })
            })
            .collect();
        for reader in readers {
            assert_eq!(reader.await.unwrap(), 5);
        }
        let refresher = cache.refresher.clone();
        drop(cache);
        // The abort is seen at the refresher's next poll; give it one.
        sleep(Duration::from_millis(10)).await;
        assert!(refresher.is_finished(), "the refresher was aborted");
        assert_eq!(
            live.load(Ordering::SeqCst),
            0,
            "the refresher's future was dropped"
        );
        assert!(data.upgrade().is_none(), "nothing keeps the cache's data");
    });
}

#[test]
fn cache_with_a_background_refresh_aborted_on_drop() {
    on_every_runtime("the cache program", true, cache_program);
}

// ---------------------------------------------------------------------------------------------
// (7) A blocking-heavy job (checksums of "files") beside async tasks.
// ---------------------------------------------------------------------------------------------

fn file(i: u64) -> Vec<u8> {
    (0..(1_000 + i * 37)).map(|b| (b * 31 + i) as u8).collect()
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn blocking_program(rt: &Runtime, live: &Arc<AtomicUsize>) {
    const FILES: u64 = 64;
    let live = live.clone();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let most_seen = most.clone();
    let sums = rt.block_on(async move {
        let (tx, mut rx) = futures::channel::mpsc::unbounded::<(u64, u64)>();
        // An async aggregator beside the blocking closures.
        let aggregator = {
            let live = live.clone();
            genrt::spawn(async move {
                let _live = Live::new(&live);
                let mut sums = BTreeMap::new();
                while let Some((i, sum)) = futures::StreamExt::next(&mut rx).await {
                    assert!(sums.insert(i, sum).is_none(), "file {i} twice");
                }
                sums
            })
        };
        let mut set = JoinSet::new();
        for i in 0..FILES {
            let tx = tx.clone();
            let (in_flight, most) = (in_flight.clone(), most.clone());
            // Reading is blocking; hashing a big file is too.
            set.spawn_blocking(move || {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                let bytes = file(i);
                std::thread::sleep(Duration::from_micros(200));
                let sum = checksum(&bytes);
                in_flight.fetch_sub(1, Ordering::SeqCst);
                tx.unbounded_send((i, sum)).expect("the aggregator runs");
                i
            });
            // Async work in between, as a server keeps serving.
            set.spawn(async move {
                genrt::yield_now().await;
                u64::MAX - i
            });
        }
        drop(tx);
        let mut ids = Vec::new();
        while let Some(id) = set.join_next().await {
            ids.push(id.expect("a job failed"));
        }
        ids.sort_unstable();
        let mut expected_ids: Vec<u64> =
            (0..FILES).chain((0..FILES).map(|i| u64::MAX - i)).collect();
        expected_ids.sort_unstable();
        assert_eq!(ids, expected_ids);
        aggregator.await.expect("the aggregator panicked")
    });
    let expected: BTreeMap<u64, u64> = (0..FILES).map(|i| (i, checksum(&file(i)))).collect();
    assert_eq!(sums, expected);
    assert!(
        most_seen.load(Ordering::SeqCst) <= 3,
        "max_blocking_threads(3) bounds the closures"
    );
}

#[test]
fn blocking_checksums_beside_async_tasks() {
    let _serial = serial();
    Watchdog::new("blocking checksums").run(|| {
        for workers in [None, Some(1), Some(2), Some(4)] {
            let rt = match workers {
                None => Builder::new_current_thread()
                    .max_blocking_threads(3)
                    .build()
                    .unwrap(),
                Some(n) => Builder::new_multi_thread()
                    .worker_threads(n)
                    .max_blocking_threads(3)
                    .build()
                    .unwrap(),
            };
            let live = Arc::new(AtomicUsize::new(0));
            blocking_program(&rt, &live);
            drop_runtime(rt);
            assert_eq!(live.load(Ordering::SeqCst), 0, "{workers:?} workers");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// (8) A request id in a task_local!, kept per task across awaits and spawns.
// ---------------------------------------------------------------------------------------------

genrt::task_local! {
    static REQUEST_ID: u64;
}

async fn log_line(what: &str) -> String {
    genrt::yield_now().await;
    format!("[req {}] {what}", REQUEST_ID.get())
}

fn task_local_program(rt: &Runtime, live: &Arc<AtomicUsize>) {
    let live = live.clone();
    let lines = rt.block_on(async move {
        let mut set = JoinSet::new();
        for id in 0..200u64 {
            let live = live.clone();
            set.spawn(REQUEST_ID.scope(id, async move {
                let _live = Live::new(&live);
                let mut lines = vec![log_line("start").await];
                // A spawned task does not inherit the scope; a user re-scopes it.
                let child = genrt::spawn(REQUEST_ID.scope(id + 1_000, async {
                    assert!(REQUEST_ID.try_with(|_| ()).is_ok());
                    log_line("child").await
                }));
                let outside = genrt::spawn(async { REQUEST_ID.try_with(|id| *id).is_err() });
                sleep(Duration::from_millis(id % 3)).await;
                lines.push(child.await.unwrap());
                assert!(outside.await.unwrap(), "a spawned task sees no scope");
                lines.push(log_line("end").await);
                (id, lines)
            }));
        }
        let mut all = BTreeMap::new();
        while let Some(result) = set.join_next().await {
            let (id, lines) = result.unwrap();
            all.insert(id, lines);
        }
        all
    });
    for (id, lines) in lines {
        assert_eq!(
            lines,
            [
                format!("[req {id}] start"),
                format!("[req {}] child", id + 1_000),
                format!("[req {id}] end"),
            ]
        );
    }
}

#[test]
fn request_ids_in_a_task_local() {
    on_every_runtime("the task-local program", false, task_local_program);
}

// ---------------------------------------------------------------------------------------------
// (9) Memory: three programs rerun alone in a child process under the counting allocator.
// ---------------------------------------------------------------------------------------------

/// Set in the child's environment: the child test runs only there.
const CHILD: &str = "GENRT_USER_PROGRAMS2_MEMORY_CHILD";

#[test]
fn programs_give_back_every_byte() {
    let _serial = serial();
    let output = Watchdog::new("the memory child").run(|| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "memory_child",
                "--ignored",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .output()
            .expect("the child runs")
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the memory child failed:\n{stdout}\n{stderr}"
    );
}

/// Run by [`programs_give_back_every_byte`] in a child process (the only test running there):
/// the actor, the pipeline and the paused-clock pool give back every byte when their runtime
/// drops, on each runtime of [`runtimes`].
#[test]
#[ignore = "run by programs_give_back_every_byte in a child process"]
fn memory_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    warm_up_runtime();
    let programs: [(&str, bool, Program); 3] = [
        ("the actor program", false, actor_program),
        ("the pipeline program", false, pipeline_program),
        ("the worker pool program", true, pool_program),
    ];
    for (what, paused, program) in programs {
        for round in 0..4 {
            // Twice: the first run makes what a process allocates once (lazy statics,
            // thread-locals of the test thread); the second is measured.
            for measured in [false, true] {
                let baseline = Baseline::take();
                // The name is a `String` allocated after the baseline: not kept.
                let (_, rt) = runtimes(paused).swap_remove(round);
                let name = ["current-thread", "1-worker", "2-worker", "4-worker"][round];
                let live = Arc::new(AtomicUsize::new(0));
                Watchdog::new(what).run(move || {
                    program(&rt, &live);
                    drop(rt);
                    assert_eq!(live.load(Ordering::SeqCst), 0);
                });
                if measured {
                    baseline.check(format_args!("{what} on a {name} runtime"));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (10) Smaller programs: the shapes users write around the runtime's edges.
// ---------------------------------------------------------------------------------------------

/// A std thread (a callback of a C library, a GUI thread) hands work to the runtime through
/// its `Handle` while `block_on` waits for the answer; on a current-thread runtime the
/// spawned task must run on the `block_on` thread.
#[test]
fn a_foreign_thread_spawns_through_a_handle_while_block_on_waits() {
    let _serial = serial();
    Watchdog::new("foreign spawns").run(|| {
        for (name, rt) in runtimes(false) {
            let handle = rt.handle().clone();
            let (tx, rx) = oneshot::channel::<u64>();
            let thread = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                handle.spawn(async move {
                    let inner = genrt::spawn(async { 40 }).await.unwrap();
                    sleep(Duration::from_millis(1)).await;
                    tx.send(inner + 2).unwrap();
                })
            });
            assert_eq!(rt.block_on(rx), Ok(42), "{name}");
            let task = thread.join().unwrap();
            assert!(rt.block_on(task).is_ok(), "{name}");
            drop_runtime(rt);
        }
    });
}

/// `block_in_place` around a synchronous wait for a value another task produces: on a
/// one-worker runtime the other task must still run (Tokio hands the worker's queue to a new
/// thread).
#[test]
fn block_in_place_waits_for_a_task_on_a_one_worker_runtime() {
    let _serial = serial();
    Watchdog::new("block_in_place on one worker").run(|| {
        for workers in [1, 2] {
            let rt = Builder::new_multi_thread()
                .worker_threads(workers)
                .build()
                .unwrap();
            let result = rt.block_on(async {
                let (tx, rx) = std::sync::mpsc::channel::<u64>();
                let waiter = genrt::spawn(async move {
                    genrt::task::block_in_place(|| rx.recv_timeout(support::DEADLINE))
                });
                // Spawned after the waiter blocks: queued behind it on its worker.
                genrt::yield_now().await;
                let producer = genrt::spawn(async move {
                    genrt::yield_now().await;
                    tx.send(7).unwrap();
                });
                producer.await.unwrap();
                waiter.await.unwrap()
            });
            assert_eq!(result, Ok(7), "{workers} workers");
            drop_runtime(rt);
        }
    });
}

/// On a paused clock, a timeout around a blocking closure: the clock must not jump to the
/// timeout's deadline while the closure runs on real time (Tokio inhibits auto-advance while
/// a `spawn_blocking` closure is in flight).
#[test]
fn a_paused_clock_waits_for_blocking_work_under_a_timeout() {
    on_every_runtime("a paused clock beside blocking work", true, |rt, live| {
        let live = live.clone();
        rt.block_on(async move {
            let start = Instant::now();
            for i in 0..5u64 {
                let live = live.clone();
                let work = genrt::spawn_blocking(move || {
                    let _live = Live::new(&live);
                    std::thread::sleep(Duration::from_millis(20));
                    i
                });
                let result = timeout(Duration::from_secs(1), work).await;
                assert_eq!(result.map(Result::ok), Ok(Some(i)), "closure {i} timed out");
            }
            assert_eq!(
                start.elapsed(),
                Duration::ZERO,
                "the paused clock stood still"
            );
        });
    });
}

/// A shared resource behind Tokio's fair `Mutex`, each holder sleeping 10 ms of paused time
/// with the guard held: 100 holders take exactly one second.
#[test]
fn a_fair_mutex_held_across_sleeps_on_a_paused_clock() {
    on_every_runtime("a mutex held across sleeps", true, |rt, live| {
        let live = live.clone();
        rt.block_on(async move {
            let start = Instant::now();
            let shared = Arc::new(tokio::sync::Mutex::new(Vec::new()));
            let mut set = JoinSet::new();
            for i in 0..100u64 {
                let (shared, live) = (shared.clone(), live.clone());
                set.spawn(async move {
                    let _live = Live::new(&live);
                    let mut guard = shared.lock().await;
                    let at = start.elapsed();
                    sleep(Duration::from_millis(10)).await;
                    guard.push((i, at));
                });
            }
            while let Some(done) = set.join_next().await {
                done.unwrap();
            }
            assert_eq!(start.elapsed(), Duration::from_secs(1));
            let mut held_at: Vec<Duration> =
                shared.lock().await.iter().map(|(_, at)| *at).collect();
            held_at.sort_unstable();
            let expected: Vec<Duration> = (0..100).map(|i| Duration::from_millis(10 * i)).collect();
            assert_eq!(held_at, expected, "one holder at a time, back to back");
        });
    });
}

/// A debouncer: events arrive on a channel; each pushes the deadline of a pinned `Sleep` back
/// with `reset`; the debouncer fires once the events pause for 100 ms.
#[test]
fn a_debouncer_resets_a_sleep_on_a_paused_clock() {
    on_every_runtime("a debouncer", true, |rt, live| {
        let live = live.clone();
        rt.block_on(async move {
            let ms = Duration::from_millis;
            let start = Instant::now();
            let (tx, mut rx) = mpsc::channel::<u32>(16);
            let debouncer = {
                let live = live.clone();
                genrt::spawn(async move {
                    let _live = Live::new(&live);
                    let quiet = sleep(Duration::from_secs(3600));
                    genrt::pin!(quiet);
                    let mut batch = Vec::new();
                    let mut fired = Vec::new();
                    loop {
                        genrt::select! {
                            event = rx.recv() => match event {
                                Some(event) => {
                                    batch.push(event);
                                    quiet.as_mut().reset(Instant::now() + ms(100));
                                }
                                None => break,
                            },
                            _ = &mut quiet, if !batch.is_empty() => {
                                fired.push((start.elapsed(), std::mem::take(&mut batch)));
                            }
                        }
                    }
                    fired
                })
            };
            // Bursts: 0, 30, 60 ms; then 300, 350 ms; then 1000 ms.
            let mut last = Duration::ZERO;
            for (at, event) in [(0, 1), (30, 2), (60, 3), (300, 4), (350, 5), (1000, 6)] {
                sleep(ms(at) - last).await;
                last = ms(at);
                tx.send(event).await.unwrap();
            }
            sleep(ms(500)).await;
            drop(tx);
            let fired = debouncer.await.unwrap();
            assert_eq!(
                fired,
                [
                    (ms(160), vec![1, 2, 3]),
                    (ms(450), vec![4, 5]),
                    (ms(1100), vec![6])
                ]
            );
        });
    });
}

/// A `JoinSet` of 2,000 sleeping tasks dropped mid-flight: every future is dropped, as Tokio
/// aborts a dropped set's tasks.
#[test]
fn a_join_set_dropped_mid_flight_drops_every_future() {
    on_every_runtime("a join set dropped mid-flight", false, |rt, live| {
        let live = live.clone();
        rt.block_on(async move {
            let mut set = JoinSet::new();
            let started = Arc::new(Semaphore::new(0));
            for i in 0..2_000u64 {
                let (live, started) = (live.clone(), started.clone());
                set.spawn(async move {
                    let _live = Live::new(&live);
                    started.add_permits(1);
                    sleep(Duration::from_secs(3600 + i)).await;
                });
            }
            started.acquire_many(2_000).await.unwrap().forget();
            assert_eq!(live.load(Ordering::SeqCst), 2_000);
            drop(set);
            for _ in 0..1000 {
                if live.load(Ordering::SeqCst) == 0 {
                    break;
                }
                sleep(Duration::from_millis(1)).await;
            }
            assert_eq!(live.load(Ordering::SeqCst), 0, "the aborted tasks' futures");
        });
    });
}

/// A task aborts itself (a supervisor pattern gone wrong): it is cancelled at its next
/// await, and its handle says so.
#[test]
fn a_task_that_aborts_itself_is_cancelled_at_its_next_await() {
    on_every_runtime("a task aborting itself", false, |rt, live| {
        let live = live.clone();
        rt.block_on(async move {
            let (handle_tx, handle_rx) = oneshot::channel::<genrt::AbortHandle>();
            let reached = Arc::new(AtomicUsize::new(0));
            let task = {
                let (live, reached) = (live.clone(), reached.clone());
                genrt::spawn(async move {
                    let _live = Live::new(&live);
                    let me = handle_rx.await.unwrap();
                    me.abort();
                    reached.fetch_add(1, Ordering::SeqCst);
                    genrt::yield_now().await;
                    reached.fetch_add(1, Ordering::SeqCst);
                })
            };
            handle_tx.send(task.abort_handle()).unwrap();
            let err = task.await.unwrap_err();
            assert!(err.is_cancelled(), "{err}");
            assert_eq!(reached.load(Ordering::SeqCst), 1);
            assert_eq!(live.load(Ordering::SeqCst), 0);
        });
    });
}

/// A `JoinSet` yields its tasks in the order they complete: on a paused clock, tasks
/// sleeping 50, 49, ... 1 ms come out last spawned first, on every runtime.
#[test]
fn a_join_set_yields_in_completion_order_on_a_paused_clock() {
    on_every_runtime("completion order", true, |rt, live| {
        let live = live.clone();
        rt.block_on(async move {
            let mut set = JoinSet::new();
            for i in 0..50u64 {
                let live = live.clone();
                set.spawn(async move {
                    let _live = Live::new(&live);
                    sleep(Duration::from_millis(50 - i)).await;
                    i
                });
            }
            let mut order = Vec::new();
            while let Some(i) = set.join_next().await {
                order.push(i.unwrap());
            }
            assert_eq!(order, (0..50).rev().collect::<Vec<_>>());
        });
    });
}

/// On a paused clock a busy runtime does not move time: a timer raced against 2,000 yields
/// of another task loses, whichever worker runs what (Tokio advances only when idle).
#[test]
fn a_paused_clock_does_not_jump_while_a_task_yields() {
    on_every_runtime("paused clock beside yields", true, |rt, live| {
        let live = live.clone();
        rt.block_on(async move {
            let worker = {
                let live = live.clone();
                genrt::spawn(async move {
                    let _live = Live::new(&live);
                    let start = Instant::now();
                    for _ in 0..2_000 {
                        genrt::yield_now().await;
                    }
                    start.elapsed()
                })
            };
            let start = Instant::now();
            let winner = genrt::select! {
                _ = sleep(Duration::from_millis(10)) => "the timer",
                worked = worker => {
                    assert_eq!(worked.unwrap(), Duration::ZERO);
                    "the yields"
                }
            };
            assert_eq!(winner, "the yields");
            assert_eq!(start.elapsed(), Duration::ZERO);
        });
    });
}

/// `yield_now` puts the task at the back of the queue: two tasks that yield alternate on a
/// current-thread runtime, as Tokio documents.
#[test]
fn yielding_tasks_alternate_on_a_current_thread_runtime() {
    let _serial = serial();
    Watchdog::new("alternating yields").run(|| {
        let rt = Builder::new_current_thread().build().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let order = rt.block_on(async {
            let tasks: Vec<_> = ["a", "b", "c"]
                .into_iter()
                .map(|name| {
                    let log = log.clone();
                    genrt::spawn(async move {
                        for round in 0..3 {
                            log.lock().unwrap().push(format!("{name}{round}"));
                            genrt::yield_now().await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            std::mem::take(&mut *log.lock().unwrap())
        });
        assert_eq!(
            order,
            ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]
        );
        drop_runtime(rt);
    });
}

/// A library that runs its own runtime inside a task of the application's: it builds one,
/// uses it, and shuts it down in the background from async code (Tokio's advice for a
/// runtime dropped in an async context). Its tasks' handles then report cancelled.
#[test]
fn a_runtime_owned_by_a_task_of_another_runtime() {
    on_every_runtime("a nested library runtime", false, |rt, live| {
        let live = live.clone();
        rt.block_on(async move {
            let library = Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap();
            let answer = library.spawn(async {
                sleep(Duration::from_millis(2)).await;
                42
            });
            assert_eq!(answer.await.unwrap(), 42);
            let stuck = {
                let live = live.clone();
                library.spawn(async move {
                    let _live = Live::new(&live);
                    pending::<()>().await
                })
            };
            genrt::yield_now().await;
            library.shutdown_background();
            let err = timeout(support::DEADLINE, stuck)
                .await
                .unwrap()
                .unwrap_err();
            assert!(err.is_cancelled(), "{err}");
            assert_eq!(live.load(Ordering::SeqCst), 0);
        });
    });
}

/// A single-threaded model (`Rc<RefCell<_>>`) in a `LocalSet`, fed by `Send` tasks over
/// Tokio's mpsc: driven by `run_until` twice with work left between the calls, then awaited
/// to completion; the set's tasks are dropped with it.
#[test]
fn a_local_set_model_fed_by_send_tasks_across_run_until_calls() {
    on_every_runtime("a LocalSet model", true, |rt, live| {
        use std::cell::RefCell;
        use std::rc::Rc;
        let live = live.clone();
        let model = Rc::new(RefCell::new(Vec::<u64>::new()));
        let local = genrt::task::LocalSet::new();
        let (tx, mut rx) = mpsc::channel::<u64>(4);
        {
            let (model, live) = (model.clone(), live.clone());
            local.spawn_local(async move {
                let _live = Live::new(&live);
                while let Some(v) = rx.recv().await {
                    model.borrow_mut().push(v);
                    genrt::task::spawn_local({
                        let model = model.clone();
                        async move {
                            sleep(Duration::from_millis(v)).await;
                            model.borrow_mut().push(1_000 + v);
                        }
                    });
                }
            });
        }
        let feeder = {
            let tx = tx.clone();
            rt.spawn(async move {
                for v in 1..=5 {
                    tx.send(v).await.unwrap();
                }
            })
        };
        local.block_on(rt, async {
            feeder.await.unwrap();
            // Until the model saw the five values (not their echoes).
            while model.borrow().len() < 5 {
                genrt::yield_now().await;
            }
        });
        // Work left between the calls: a send from another thread.
        let sender = std::thread::spawn(move || tx.blocking_send(6).unwrap());
        sender.join().unwrap();
        let start = rt.block_on(async { Instant::now() });
        // The receiving task ends only when every sender is gone: `tx` went with the thread,
        // the feeder's clone with the feeder.
        rt.block_on(async { timeout(Duration::from_secs(60), local).await })
            .expect("the set finished");
        // Values in the order received; their echoes in any order (on a paused multi-thread
        // runtime the clock may move between `block_on` calls, as nothing drives it there).
        let (seen, mut echoes): (Vec<u64>, Vec<u64>) =
            model.borrow().iter().partition(|&&v| v < 1_000);
        assert_eq!(seen, [1, 2, 3, 4, 5, 6]);
        echoes.sort_unstable();
        assert_eq!(echoes, [1_001, 1_002, 1_003, 1_004, 1_005, 1_006]);
        assert!(rt.block_on(async { start.elapsed() }) <= Duration::from_millis(6));
        assert_eq!(live.load(Ordering::SeqCst), 0);
    });
}

/// A relay race on a paused clock: 200 tasks, each waiting for the baton from the one
/// before (a oneshot, a blocking closure or a yield in between), holding it 1 ms, passing
/// it on. Time moves only when every task waits on a timer, so the race takes exactly
/// 200 ms of paused time and each runner starts on its own millisecond.
#[test]
fn a_relay_race_takes_exact_paused_time() {
    on_every_runtime("a relay race", true, |rt, live| {
        const RUNNERS: u64 = 200;
        let live = live.clone();
        rt.block_on(async move {
            let start = Instant::now();
            let (first_tx, mut baton) = oneshot::channel::<u64>();
            let mut runners = JoinSet::new();
            for i in 0..RUNNERS {
                let (tx, next) = oneshot::channel::<u64>();
                let from = std::mem::replace(&mut baton, next);
                let live = live.clone();
                runners.spawn(async move {
                    let _live = Live::new(&live);
                    let got = from.await.expect("the runner before passed the baton");
                    let at = start.elapsed();
                    match i % 3 {
                        0 => genrt::yield_now().await,
                        1 => {
                            genrt::spawn_blocking(std::thread::yield_now).await.unwrap();
                        }
                        _ => {}
                    }
                    sleep(Duration::from_millis(1)).await;
                    tx.send(got + 1).unwrap();
                    (i, at)
                });
            }
            first_tx.send(0).unwrap();
            assert_eq!(baton.await, Ok(RUNNERS));
            assert_eq!(start.elapsed(), Duration::from_millis(RUNNERS));
            let mut starts = BTreeMap::new();
            while let Some(done) = runners.join_next().await {
                let (i, at) = done.unwrap();
                starts.insert(i, at);
            }
            let expected: BTreeMap<u64, Duration> = (0..RUNNERS)
                .map(|i| (i, Duration::from_millis(i)))
                .collect();
            assert_eq!(starts, expected);
        });
    });
}

/// Rounds of a simulation on a paused clock: 300 tasks each sleep their own length, then
/// meet at Tokio's `Barrier`; every round ends when its slowest task arrives, so each task
/// sees exactly the sum of the rounds' longest sleeps after each barrier.
#[test]
fn simulation_rounds_meet_at_a_barrier_at_exact_paused_instants() {
    on_every_runtime("barrier rounds", true, |rt, live| {
        const TASKS: u64 = 300;
        const ROUNDS: u64 = 10;
        fn length(task: u64, round: u64) -> u64 {
            (task * 7919 + round * 104_729) % 37 + round % 3
        }
        let live = live.clone();
        rt.block_on(async move {
            let start = Instant::now();
            let barrier = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
            let mut set = JoinSet::new();
            for task in 0..TASKS {
                let (barrier, live) = (barrier.clone(), live.clone());
                set.spawn(async move {
                    let _live = Live::new(&live);
                    let mut seen = Vec::new();
                    let mut leaders = 0;
                    for round in 0..ROUNDS {
                        sleep(Duration::from_millis(length(task, round))).await;
                        if barrier.wait().await.is_leader() {
                            leaders += 1;
                        }
                        seen.push(start.elapsed());
                    }
                    (seen, leaders)
                });
            }
            let mut expected = Vec::new();
            let mut at = 0;
            for round in 0..ROUNDS {
                at += (0..TASKS).map(|t| length(t, round)).max().unwrap();
                expected.push(Duration::from_millis(at));
            }
            let mut leaders = 0;
            while let Some(done) = set.join_next().await {
                let (seen, led) = done.unwrap();
                assert_eq!(seen, expected);
                leaders += led;
            }
            assert_eq!(leaders, ROUNDS, "one leader per round");
        });
    });
}

/// Deadlines that meet, as a paused-clock test meets them: a timeout and the sleep it guards
/// expire on the same tick (the future is polled first: `Ok`), nested timeouts of the same
/// length (the inner one reports), a `sleep_until` of an instant already past, and a
/// `select!` between two sleeps of one deadline that always has a winner.
#[test]
fn deadlines_that_meet_on_a_paused_clock() {
    on_every_runtime("deadlines that meet", true, |rt, _live| {
        rt.block_on(async {
            let ms = Duration::from_millis;
            let start = Instant::now();
            assert_eq!(timeout(ms(10), sleep(ms(10))).await, Ok(()));
            assert_eq!(start.elapsed(), ms(10));
            let nested = timeout(ms(10), timeout(ms(10), pending::<()>())).await;
            assert!(matches!(nested, Ok(Err(_))), "{nested:?}");
            assert_eq!(start.elapsed(), ms(20));
            sleep_until_past(start).await;
            assert_eq!(start.elapsed(), ms(20));
            let deadline = Instant::now() + ms(5);
            let winner = genrt::select! {
                biased;
                _ = genrt::time::sleep_until(deadline) => 1,
                _ = genrt::time::sleep_until(deadline) => 2,
            };
            assert_eq!(winner, 1);
            assert_eq!(start.elapsed(), ms(25));
            let guarded = timeout(ms(3), async {
                sleep(ms(1)).await;
                sleep(ms(1)).await;
                sleep(ms(1)).await;
                "three sleeps"
            });
            assert_eq!(guarded.await, Ok("three sleeps"));
            assert_eq!(start.elapsed(), ms(28));
        });
    });
}

async fn sleep_until_past(start: Instant) {
    genrt::time::sleep_until(start).await;
}

/// A blocking worker outlives its runtime's `shutdown_timeout` and then reports back the way
/// it always does: `genrt::spawn` and `Handle::block_on` of a `JoinHandle`. Tokio cancels a
/// task spawned on a runtime that is shut down (its handle reports it), and panics on a timer
/// polled there ("A Tokio 1.x context was found, but it is being shutdown."): genrt's panic
/// says the same.
#[test]
fn a_blocking_worker_reports_back_after_its_runtime_shut_down() {
    let _serial = serial();
    Watchdog::new("a late blocking worker").run(|| {
        for (name, rt) in runtimes(false) {
            let gate = Gate::default();
            let (started_tx, started_rx) = std::sync::mpsc::channel();
            let worker = {
                let gate = gate.clone();
                rt.spawn_blocking(move || {
                    started_tx.send(()).unwrap();
                    gate.wait();
                    let handle = genrt::Handle::current();
                    let report = genrt::spawn(async { 1 });
                    let joined = handle.block_on(report);
                    let _quiet = support::quiet_panics();
                    let timer = std::panic::catch_unwind(|| {
                        handle.block_on(timeout(Duration::from_millis(1), pending::<()>()))
                    });
                    let message = support::panic_message(&*timer.unwrap_err())
                        .unwrap_or_default()
                        .to_string();
                    (joined.map_err(|e| e.is_cancelled()), message)
                })
            };
            support::recv(&started_rx, "the worker started");
            assert!(!rt.shutdown_timeout(Duration::from_millis(10)), "{name}");
            gate.open();
            let (joined, message) = support::wait_for("the late worker", worker).unwrap();
            assert_eq!(joined, Err(true), "{name}: the late spawn is cancelled");
            assert!(
                message.contains("after its runtime shut down"),
                "{name}: {message}"
            );
        }
    });
}
