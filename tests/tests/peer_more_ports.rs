//! A second gap audit against the peers' suites: the tests and benches of smol's
//! `async-executor` and of `futures-executor` that `peer_ports.rs`, `peer_gap_ports.rs` and
//! `async_task_ports.rs` did not port yet, translated to genrt's API. Each test names the
//! repository, file and test it ports. (Tokio's `tokio/tests/*.rs` and
//! `tokio/src/runtime/tests/*.rs` were audited test by test against the other port files
//! first: every one that applies to genrt is ported there; the module docs of those files
//! list the skips.)
//!
//! # Translation
//!
//! | peer | genrt |
//! |---|---|
//! | `Executor::spawn`, `ThreadPool::spawn_ok` | `genrt::spawn` inside the runtime |
//! | `LocalExecutor::spawn`, `current_thread::spawn` | `genrt::task::spawn_local` inside a `LocalSet` |
//! | `future::block_on(ex.run(f))` | `Runtime::block_on(f)`, `LocalSet::block_on(&rt, f)` |
//! | `current_thread::run(init)` (waits for every spawned task) | `run_until(init)`, then awaiting the `LocalSet` |
//! | `cancel_all_spawned`, dropping `Task`s | dropping the `LocalSet`, dropping a `JoinSet` |
//! | `Task::detach` | dropping the `JoinHandle` |
//! | `async_channel::bounded(1)`, `fastrand` | `futures::channel::mpsc::channel(0)` (one message per sender) with `SinkExt::feed` (`send` would also wait for the receiver to take the message), a seeded xorshift |
//! | `cx.waker().notify()` (futures 0.2) | `cx.waker().wake_by_ref()` |
//!
//! # Ported
//!
//! - async-executor `benches/executor.rs` and `benches/local_executor.rs`, as behaviours (the
//!   other benches are in `peer_gap_ports.rs`): `channels` (a ring of tasks passing a token
//!   through bounded channels; 100 tasks × 100 steps, not 300 × 300), `web_server` (a database
//!   task, a server task spawning detached connection tasks that call the database; the
//!   database task ends only once every detached task dropped its sender), `spawn_batch`
//!   (`spawn_many` of 250 `yield_now`s whose handles are dropped, which cancels them: a
//!   `JoinSet` dropped at once, 40 rounds; every task is gone afterwards); each on a
//!   current-thread and a 2-worker runtime, with `spawn` and with a `LocalSet`.
//! - async-executor `examples/limit.rs` (an executor that lets at most 10 tasks live: 15
//!   sleeping and 25 chained tasks spawned through it and detached; each slot comes back when
//!   its task's future is dropped, so only if a completed task's future is dropped at once).
//! - futures-executor `tests/current_thread.rs` (the 0.2 `current_thread` executor, whose
//!   scenarios `LocalSet` expresses): `spawning_from_init_future`,
//!   `block_waits_for_non_daemon`, `spawn_many`, `outstanding_tasks_are_dropped_on_cancel`,
//!   `nesting_run` (a nested `LocalSet::block_on` panics with Tokio's text),
//!   `run_in_future` (a `block_on` inside a local task: the task's error is that panic).
//! - futures-executor `benches/thread_notify.rs`, as behaviours:
//!   `thread_yield_single_thread_one_wait` (a future that wakes itself 10,000 times),
//!   `thread_yield_single_thread_many_wait` (2,000 `block_on`s of a future that wakes itself
//!   once), `thread_yield_multi_thread` (a future whose every wake comes from another thread,
//!   1,000 times); in `block_on`, in a task and in a local task, on both flavors.
//! - futures-executor `benches/poll.rs`: `task_init` (a future keeps the waker of its first
//!   poll and wakes only that one, 10,000 times: the waker a genrt poll hands out stays good
//!   for the whole life of the task or `block_on`), also while a second thread takes over
//!   driving a current-thread runtime between polls.
//!
//! - smol's async-io (`async_io::Timer` and `block_on`, the timers smol users have):
//!   `tests/block_on.rs` `yielding`; `tests/timer.rs` `smoke` (50 ms, not 1 s) and
//!   `poll_across_tasks` (a sleep polled once by a task that then finishes, awaited by
//!   another: as genrt tasks, as two threads in `Handle::block_on`, and finished by
//!   `futures`' `block_on` on a plain thread); `tests/driver_not_spawned.rs`
//!   `test_one_block_on` (10,000 timers awaited in order beside 200 tasks looping on
//!   sub-millisecond sleeps, a channel each for the source's TCP pipe, then aborted; on a
//!   paused clock, and on the real one with deadlines ten times shorter).
//! - async-std: `tests/timeout.rs` `timeout_future_many` (60 timeouts, not 100; async-std's
//!   `timeout` is an `async fn`, so each is wrapped in an `async` block, see the test),
//!   `tests/timeout_future.rs` `should_timeout`, `should_not_timeout`; `tests/mutex.rs`
//!   `contention` (`futures`' mutex, 1,000 tasks).
//! - Tokio tests `tokio_gap_ports.rs` skipped for APIs genrt has since gained (`Builder::name`,
//!   the attributes' `name` and `unhandled_panic`): `rt_basic.rs`/`rt_threaded.rs`
//!   `default_runtime_name_should_be_none`, `different_runtime_names`; `macros_test.rs`
//!   `test_macro_should_handle_the_name_if_provided`, `macro_rt_arg_unhandled_panic`'s
//!   `unhandled_panic_shutdown_runtime` and `unhandled_panic_ignore`.
//! - genrt's variants, where its design (timers that store a task's key, a runtime's own
//!   clock, `LocalSet`s apart from runtimes) could differ from the peers': an interval, a
//!   timeout and a reset sleep polled by a task and finished elsewhere; a `FuturesUnordered`
//!   of 500 sleeps (polled with the set's wakers, not the task's); the paused clock exact on a
//!   current-thread runtime run by 4 threads and a multi-thread one beside `block_on` threads;
//!   a local task's handle awaited by a runtime task when the set is dropped; a `LocalSet`
//!   that outlives the runtime it first ran on.
//!
//! # Found
//!
//! No genrt bug: every port passes (30 release runs of the file). One port hung at first and
//! the fault was the translation: `futures`' `SinkExt::send` also flushes, which on a bounded
//! channel waits for the receiver to take the message, where `async_channel`'s `send`
//! returns once the message is queued; the ports use `SinkExt::feed` (the table above).
//! async-std's `timeout` is an `async fn`, whose deadline starts at its first poll, where
//! Tokio's and genrt's start at the call (`async_std_timeout_future_many`).
//!
//! # Skipped, and why
//!
//! - futures-executor `current_thread.rs` `spawning_out_of_executor_context` (`spawn_local`
//!   outside a set panics: `tokio_doc_ports.rs`) and `tasks_are_scheduled_fairly` (its
//!   `local_pool.rs` form is in `async_task_ports.rs`).
//! - async-executor `benches/local_executor.rs`'s `static_local_executor::*` (the same
//!   scenarios on a leaked executor; genrt's runtimes need no leaking to be `'static`-spawnable)
//!   and `executor::create` (in `peer_gap_ports.rs`).
//! - futures `tests/lock_rwlock.rs` (`futures::lock::RwLock` is not in the released futures
//!   0.3 this workspace uses) and `tests/stream_shared.rs` (`StreamExt::shared`, likewise);
//!   futures `tests/poll_loop.rs` (a `LoopPolicy` API that was never released).
//! - async-io `tests/yield_now.rs` (`async_io::yield_now` drives the reactor; genrt's timers
//!   are driven by the runtime), `tests/async.rs`, `copy.rs`, `issue_182.rs` (I/O); async-std
//!   `condvar.rs`, `barrier.rs`, `rwlock.rs`, `channel.rs` (async-std's own sync types; the
//!   executor side is `contention`'s).
//! - Tokio `time_pause.rs`'s `inhibit_auto_advance` tests: genrt has no
//!   `time::inhibit_auto_advance` (a `test-util` API added after the releases genrt follows).
//!
//! Every test runs under a [`Watchdog`]; none bounds a real-time duration from above.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc as std_mpsc, Arc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::future::BoxFuture;
use futures::{FutureExt, SinkExt, StreamExt};
use genrt::task::{spawn_local, LocalSet};
use genrt::{Builder, JoinHandle, JoinSet, Runtime};
use support::{current_thread, multi_thread, FLAVORS};
use support::{panic_message, quiet_panics, Watchdog};

/// Runs `f` under a watchdog named `what`.
#[track_caller]
fn watch<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    Watchdog::new(what).run(f)
}

/// How a scenario spawns its tasks: onto the runtime, or into the `LocalSet` it runs in.
type Spawner = fn(BoxFuture<'static, ()>) -> JoinHandle<()>;

fn spawn_task(future: BoxFuture<'static, ()>) -> JoinHandle<()> {
    genrt::spawn(future)
}

fn spawn_local_task(future: BoxFuture<'static, ()>) -> JoinHandle<()> {
    spawn_local(future)
}

/// Runs `scenario(spawner)` on each flavor, with `spawn` and inside a `LocalSet` with
/// `spawn_local`, and returns what each run returned, named.
fn on_every_way<T: 'static>(scenario: fn(Spawner) -> BoxFuture<'static, T>) -> Vec<(String, T)> {
    let mut results = Vec::new();
    for (name, make) in FLAVORS {
        let rt = make();
        results.push((format!("{name}, spawn"), rt.block_on(scenario(spawn_task))));
        let local = LocalSet::new();
        results.push((
            format!("{name}, LocalSet"),
            local.block_on(&rt, scenario(spawn_local_task)),
        ));
    }
    let rt = current_thread();
    let result = with_runners(&rt, DRIVERS, || rt.block_on(scenario(spawn_task)));
    results.push((
        format!(
            "current-thread runtime run by {} threads, spawn",
            DRIVERS + 1
        ),
        result,
    ));
    results
}

/// How many more threads run a shared current-thread runtime (`Executor::run` on several
/// threads in the benches' multi-threaded mode).
const DRIVERS: usize = 3;

/// Runs `f` while `drivers` threads sit in `Handle::block_on` of `rt`, driving its tasks
/// (async-executor's threads in `ex.run(pending)`); they return once `f` has.
fn with_runners<T>(rt: &Runtime, drivers: usize, f: impl FnOnce() -> T) -> T {
    let mut stops = Vec::new();
    let mut threads = Vec::new();
    for _ in 0..drivers {
        let (stop, stopped) = oneshot::channel::<()>();
        stops.push(stop);
        let handle = rt.handle().clone();
        threads.push(thread::spawn(move || {
            handle.block_on(async move {
                let _ = stopped.await;
            })
        }));
    }
    let result = f();
    drop(stops);
    for thread in threads {
        thread.join().expect("a runner thread panicked");
    }
    result
}

// ---- async-executor: benches/executor.rs and benches/local_executor.rs ----

const RING_TASKS: usize = 100;
const RING_STEPS: usize = 100;

/// The bench's `channels`: `RING_TASKS` tasks in a ring of bounded channels, the token passed
/// round `RING_STEPS` times. Returns the number of hops taken.
fn channel_ring(spawn: Spawner) -> BoxFuture<'static, usize> {
    async move {
        let hops = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        let (mut first_send, first_recv) = mpsc::channel::<()>(0);
        let mut current_recv = first_recv;
        for _ in 0..RING_TASKS {
            let (mut next_send, next_recv) = mpsc::channel::<()>(0);
            let mut recv = std::mem::replace(&mut current_recv, next_recv);
            let hops = hops.clone();
            tasks.push(spawn(
                async move {
                    for _ in 0..RING_STEPS {
                        recv.next().await.expect("the previous task hung up");
                        hops.fetch_add(1, SeqCst);
                        next_send.feed(()).await.expect("the next task hung up");
                    }
                }
                .boxed(),
            ));
        }
        for _ in 0..RING_STEPS {
            first_send.feed(()).await.unwrap();
            current_recv.next().await.unwrap();
        }
        for task in tasks {
            task.await.unwrap();
        }
        hops.load(SeqCst)
    }
    .boxed()
}

// async-executor, benches/executor.rs and benches/local_executor.rs, `channels`.
#[test]
fn bench_channels() {
    let results = watch("async-executor channels", || on_every_way(channel_ring));
    for (way, hops) in results {
        assert_eq!(hops, RING_TASKS * RING_STEPS, "{way}");
    }
}

/// `fastrand::Rng` for the bench's draws: a seeded xorshift, so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `lo..hi`.
    fn below(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo) as u64) as usize
    }

    fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn fork(&mut self) -> Rng {
        Rng(self.next() | 1)
    }
}

const SERVER_CONNECTIONS: usize = 100;
const SERVER_STEPS: usize = 20;

/// What one `web_server` run saw: connections served from cache, connections that called the
/// database, database calls made by connections, calls the database answered.
#[derive(Debug, Default)]
struct ServerCounts {
    cached: AtomicUsize,
    uncached: AtomicUsize,
    calls: AtomicUsize,
    answered: AtomicUsize,
}

/// The bench's `web_server`: a database task, and a server task that spawns a detached task
/// per connection; a connection is cached (a yield) or makes several database calls. The
/// server task and then the database task are awaited: the database's loop ends only when
/// every sender is gone, so only after every detached connection task has finished.
fn web_server(spawn: Spawner) -> BoxFuture<'static, Arc<ServerCounts>> {
    async move {
        let counts = Arc::new(ServerCounts::default());
        let (db_send, mut db_recv) =
            mpsc::channel::<oneshot::Sender<usize>>(SERVER_CONNECTIONS / 5);
        let mut db_rng = Rng(0x1234_5678);
        let mut web_rng = db_rng.fork();

        let db_counts = counts.clone();
        let db_task = spawn(
            async move {
                while let Some(incoming) = db_recv.next().await {
                    for _ in 0..db_rng.below(0, 10) {
                        genrt::yield_now().await;
                    }
                    db_counts.answered.fetch_add(1, SeqCst);
                    let _ = incoming.send(db_rng.next() as usize);
                }
            }
            .boxed(),
        );

        let server_counts = counts.clone();
        let server_task = spawn(
            async move {
                for i in 0..SERVER_CONNECTIONS {
                    if web_rng.below(0, 17) == 16 {
                        genrt::yield_now().await;
                    }
                    let mut rng = web_rng.fork();
                    let mut db_send = db_send.clone();
                    let counts = server_counts.clone();
                    // Detached, as the bench's `task.detach()`.
                    drop(spawn(
                        async move {
                            if rng.bool() {
                                genrt::yield_now().await;
                                counts.cached.fetch_add(1, SeqCst);
                                return;
                            }
                            for _ in 0..rng.below(SERVER_STEPS / 2, SERVER_STEPS) {
                                let (resp_send, resp_recv) = oneshot::channel();
                                db_send.feed(resp_send).await.unwrap();
                                resp_recv.await.expect("the database dropped a request");
                                counts.calls.fetch_add(1, SeqCst);
                            }
                            for _ in 0..rng.below(3, 16) {
                                genrt::yield_now().await;
                            }
                            counts.uncached.fetch_add(1, SeqCst);
                        }
                        .boxed(),
                    ));
                    if i & 16 == 0 {
                        genrt::yield_now().await;
                    }
                }
            }
            .boxed(),
        );

        server_task.await.unwrap();
        db_task.await.unwrap();
        counts
    }
    .boxed()
}

// async-executor, benches/executor.rs and benches/local_executor.rs, `web_server`.
#[test]
fn bench_web_server() {
    let results = watch("async-executor web_server", || on_every_way(web_server));
    for (way, counts) in results {
        let cached = counts.cached.load(SeqCst);
        let uncached = counts.uncached.load(SeqCst);
        assert_eq!(cached + uncached, SERVER_CONNECTIONS, "{way}: {counts:?}");
        assert!(
            cached > 0 && uncached > 0,
            "{way}: both kinds drawn: {counts:?}"
        );
        assert_eq!(
            counts.calls.load(SeqCst),
            counts.answered.load(SeqCst),
            "{way}: every call answered: {counts:?}"
        );
    }
}

const BATCH: usize = 250;
const BATCH_ROUNDS: usize = 40;

// async-executor, benches/local_executor.rs, `executor::spawn_batch`: `spawn_many` of 250
// `yield_now` futures, whose `Task`s are then dropped (which cancels them); here a `JoinSet`
// extended with them and dropped at once (which aborts them). Every task is gone afterwards,
// and every future dropped once.
#[test]
fn bench_spawn_batch() {
    watch("async-executor spawn_batch", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let dropped = Arc::new(AtomicUsize::new(0));
            let counter = dropped.clone();
            rt.block_on(async move {
                for _ in 0..BATCH_ROUNDS {
                    let mut set = JoinSet::new();
                    set.extend((0..BATCH).map(|_| {
                        let guard = support::DropCounter(counter.clone());
                        async move {
                            let _guard = guard;
                            genrt::yield_now().await;
                        }
                    }));
                    assert_eq!(set.len(), BATCH);
                    drop(set);
                }
                // Aborted tasks are released as the runtime gets to them.
                while genrt::Handle::current().metrics().num_alive_tasks() != 0 {
                    genrt::yield_now().await;
                }
            });
            assert_eq!(dropped.load(SeqCst), BATCH * BATCH_ROUNDS, "{name}");

            // The same with `JoinSet::spawn_local` in a `LocalSet`.
            let dropped = Arc::new(AtomicUsize::new(0));
            let counter = dropped.clone();
            let local = LocalSet::new();
            local.block_on(&rt, async move {
                for _ in 0..BATCH_ROUNDS {
                    let mut set = JoinSet::new();
                    for _ in 0..BATCH {
                        let guard = support::DropCounter(counter.clone());
                        set.spawn_local(async move {
                            let _guard = guard;
                            genrt::yield_now().await;
                        });
                    }
                    drop(set);
                }
            });
            drop(local);
            assert_eq!(
                dropped.load(SeqCst),
                BATCH * BATCH_ROUNDS,
                "{name}, LocalSet"
            );
        }
    });
}

// ---- async-executor: examples/limit.rs ----

/// The example's `SharedState`: at most `max` tasks alive, and the tasks waiting for a slot
/// (`event_listener::Event` in the source).
struct Slots {
    max: usize,
    state: std::sync::Mutex<(usize, Vec<Waker>)>,
    high_water: AtomicUsize,
}

impl Slots {
    /// Waits for a free slot and takes it.
    async fn acquire(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.state.lock().unwrap();
            if state.0 < self.max {
                state.0 += 1;
                self.high_water.fetch_max(state.0, SeqCst);
                Poll::Ready(())
            } else {
                state.1.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    /// Gives a slot back and wakes every waiter (`notify(usize::MAX)` in the source).
    fn release(&self) {
        let waiters = {
            let mut state = self.state.lock().unwrap();
            state.0 -= 1;
            std::mem::take(&mut state.1)
        };
        for waiter in waiters {
            waiter.wake();
        }
    }
}

/// The example's `DecOnDrop`: its task's slot, given back when the task's future is dropped.
struct DecOnDrop(Arc<Slots>);

impl Drop for DecOnDrop {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// The example's `LimitedExecutor::spawn`: waits for a slot, then spawns `future` holding it.
async fn spawn_limited(
    slots: &Arc<Slots>,
    spawn: Spawner,
    future: BoxFuture<'static, ()>,
) -> JoinHandle<()> {
    slots.acquire().await;
    let slot = DecOnDrop(slots.clone());
    spawn(
        async move {
            let _slot = slot;
            future.await
        }
        .boxed(),
    )
}

/// The example's `main`: 15 tasks sleeping 1-2 ms and 25 tasks passing a message down a
/// chain, each spawned through a limit of 10 alive tasks and detached. A task's slot comes
/// back when its future is dropped, which must happen when the task completes (a detached
/// task's future is not kept until someone reads its output): otherwise the 11th spawn waits
/// for ever.
fn limited_executor(spawn: Spawner) -> BoxFuture<'static, usize> {
    async move {
        let slots = Arc::new(Slots {
            max: 10,
            state: std::sync::Mutex::new((0, Vec::new())),
            high_water: AtomicUsize::new(0),
        });
        let mut rng = Rng(0x5eed);
        for _ in 0..15 {
            let pause = Duration::from_millis(rng.below(1, 3) as u64);
            drop(
                spawn_limited(
                    &slots,
                    spawn,
                    async move { genrt::time::sleep(pause).await }.boxed(),
                )
                .await,
            );
        }
        let (mut start_tx, start_rx) = mpsc::channel::<()>(0);
        let mut current_rx = start_rx;
        start_tx.feed(()).await.unwrap();
        for _ in 0..25 {
            let (mut next_tx, next_rx) = mpsc::channel::<()>(0);
            let mut rx = std::mem::replace(&mut current_rx, next_rx);
            drop(
                spawn_limited(
                    &slots,
                    spawn,
                    async move {
                        rx.next().await.unwrap();
                        next_tx.feed(()).await.unwrap();
                    }
                    .boxed(),
                )
                .await,
            );
        }
        current_rx.next().await.unwrap();
        slots.high_water.load(SeqCst)
    }
    .boxed()
}

// async-executor, examples/limit.rs.
#[test]
fn limited_executor_example() {
    let results = watch("async-executor limit example", || {
        on_every_way(limited_executor)
    });
    for (way, high_water) in results {
        assert!(high_water <= 10, "{way}: {high_water} tasks alive at once");
    }
}

// ---- futures-executor: tests/current_thread.rs (the 0.2 executor), on a LocalSet ----

/// The 0.2 `current_thread::run(init)`: runs `init` in a fresh `LocalSet` on `rt`, then
/// every task spawned until none is left.
fn run_local<F: Future<Output = ()> + 'static>(rt: &Runtime, init: F) {
    let local = LocalSet::new();
    rt.block_on(async move {
        local.run_until(init).await;
        local.await;
    });
}

// futures-executor, tests/current_thread.rs, `spawning_from_init_future`.
#[test]
fn current_thread_spawning_from_init_future() {
    watch("spawning_from_init_future", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let cnt = Rc::new(Cell::new(0));
            let c = cnt.clone();
            run_local(&rt, async move {
                spawn_local(async move { c.set(c.get() + 1) });
            });
            assert_eq!(cnt.get(), 1, "{name}");
        }
    });
}

// futures-executor, tests/current_thread.rs, `block_waits_for_non_daemon`: `run` returns
// only once a task waiting on another thread has finished.
#[test]
fn current_thread_block_waits_for_non_daemon() {
    watch("block_waits_for_non_daemon", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let cnt = Rc::new(Cell::new(0));
            let c = cnt.clone();
            let (tx, rx) = oneshot::channel();
            let sender = thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                tx.send(()).unwrap();
            });
            run_local(&rt, async move {
                spawn_local(async move {
                    rx.await.unwrap();
                    c.set(c.get() + 1);
                });
            });
            assert_eq!(cnt.get(), 1, "{name}");
            sender.join().unwrap();
        }
    });
}

// futures-executor, tests/current_thread.rs, `spawn_many`.
#[test]
fn current_thread_spawn_many() {
    const ITER: usize = 200;
    watch("current_thread spawn_many", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let cnt = Rc::new(Cell::new(0));
            let c = cnt.clone();
            run_local(&rt, async move {
                for _ in 0..ITER {
                    let c = c.clone();
                    spawn_local(async move { c.set(c.get() + 1) });
                }
            });
            assert_eq!(cnt.get(), ITER, "{name}");
        }
    });
}

/// The 0.2 test's `Never`: pending for ever, holding an `Rc`.
struct Never(#[allow(dead_code)] Rc<()>);

impl Future for Never {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

// futures-executor, tests/current_thread.rs, `outstanding_tasks_are_dropped_on_cancel`:
// `cancel_all_spawned` is dropping the `LocalSet`; the never-ending task's future goes with it
// (polled first, and never polled).
#[test]
fn current_thread_outstanding_tasks_are_dropped_on_cancel() {
    watch("outstanding_tasks_are_dropped_on_cancel", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let mut rc = Rc::new(());
            let local = LocalSet::new();
            let polled = rc.clone();
            local.block_on(&rt, async move {
                spawn_local(Never(polled));
                genrt::yield_now().await;
            });
            local.spawn_local(Never(rc.clone()));
            assert_eq!(Rc::strong_count(&rc), 3, "{name}");
            drop(local);
            assert!(
                Rc::get_mut(&mut rc).is_some(),
                "{name}: the daemons are dropped"
            );
        }
    });
}

// futures-executor, tests/current_thread.rs, `nesting_run` (`#[should_panic]`): a
// `LocalSet::block_on` inside another panics, with Tokio's text.
#[test]
fn current_thread_nesting_run() {
    watch("nesting_run", || {
        let _quiet = quiet_panics();
        for (name, make) in FLAVORS {
            let rt = make();
            let outer = LocalSet::new();
            let message = outer.block_on(&rt, async {
                let inner = LocalSet::new();
                let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    inner.block_on(&rt, async {});
                }))
                .expect_err("a nested block_on must panic");
                panic_message(&*payload).unwrap_or_default().to_string()
            });
            assert!(
                message.contains("Cannot start a runtime from within a runtime"),
                "{name}: {message}"
            );
        }
    });
}

// futures-executor, tests/current_thread.rs, `run_in_future` (`#[should_panic]`): a
// `block_on` inside a local task panics; the task reports that panic.
#[test]
fn current_thread_run_in_future() {
    watch("run_in_future", || {
        let _quiet = quiet_panics();
        for (name, make) in FLAVORS {
            let rt = Arc::new(make());
            let inner_rt = rt.clone();
            let local = LocalSet::new();
            let err = local
                .block_on(&rt, async move {
                    spawn_local(async move {
                        inner_rt.block_on(async {});
                    })
                    .await
                })
                .expect_err("block_on inside a task must panic");
            assert!(err.is_panic(), "{name}: {err:?}");
            let payload = err.into_panic();
            let message = panic_message(&*payload).unwrap_or_default();
            assert!(
                message.contains("Cannot start a runtime from within a runtime"),
                "{name}: {message}"
            );
        }
    });
}

// ---- futures-executor: benches/thread_notify.rs and benches/poll.rs ----

/// The benches' `Yield`: pending `rem` times, waking itself each time; counts its polls.
struct Yield {
    rem: usize,
    polls: usize,
}

impl Future for Yield {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls += 1;
        if self.rem == 0 {
            Poll::Ready(self.polls)
        } else {
            self.rem -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Runs `make()` in `block_on`, as a task, and as a local task, on each flavor, and checks
/// each returns `expected`.
fn every_way_in<F>(what: &str, expected: usize, make: fn() -> F)
where
    F: Future<Output = usize> + Send + 'static,
{
    for (name, flavor) in FLAVORS {
        let rt = flavor();
        assert_eq!(rt.block_on(make()), expected, "{what}: {name}, block_on");
        assert_eq!(
            rt.block_on(rt.spawn(make())).unwrap(),
            expected,
            "{what}: {name}, a task"
        );
        let local = LocalSet::new();
        assert_eq!(
            local.block_on(&rt, async { spawn_local(make()).await.unwrap() }),
            expected,
            "{what}: {name}, a local task"
        );
        assert_eq!(
            local.block_on(&rt, make()),
            expected,
            "{what}: {name}, a LocalSet's block_on"
        );
    }
}

// futures-executor, benches/thread_notify.rs, `thread_yield_single_thread_one_wait`.
#[test]
fn thread_yield_single_thread_one_wait() {
    const NUM: usize = 10_000;
    watch("thread_yield_single_thread_one_wait", || {
        every_way_in("one wait", NUM + 1, || Yield { rem: NUM, polls: 0 });
    });
}

// futures-executor, benches/thread_notify.rs, `thread_yield_single_thread_many_wait`:
// many `block_on`s in a row of a future that wakes itself once.
#[test]
fn thread_yield_single_thread_many_wait() {
    const NUM: usize = 2_000;
    watch("thread_yield_single_thread_many_wait", || {
        for (name, flavor) in FLAVORS {
            let rt = flavor();
            for i in 0..NUM {
                assert_eq!(
                    rt.block_on(Yield { rem: 1, polls: 0 }),
                    2,
                    "{name}: round {i}"
                );
            }
        }
    });
}

/// The bench's multi-thread `Yield`: every wake comes from another thread, which receives
/// the waker over a channel.
struct RemoteYield {
    rem: usize,
    polls: usize,
    tx: std_mpsc::SyncSender<Waker>,
}

impl Future for RemoteYield {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls += 1;
        if self.rem == 0 {
            Poll::Ready(self.polls)
        } else {
            self.rem -= 1;
            self.tx.send(cx.waker().clone()).unwrap();
            Poll::Pending
        }
    }
}

// futures-executor, benches/thread_notify.rs, `thread_yield_multi_thread`.
#[test]
fn thread_yield_multi_thread() {
    const NUM: usize = 1_000;
    watch("thread_yield_multi_thread", || {
        let (tx, rx) = std_mpsc::sync_channel::<Waker>(10_000);
        let waker_thread = thread::spawn(move || {
            while let Ok(waker) = rx.recv() {
                waker.wake();
            }
        });
        for (name, flavor) in FLAVORS {
            let rt = flavor();
            let make = || RemoteYield {
                rem: NUM,
                polls: 0,
                tx: tx.clone(),
            };
            assert_eq!(rt.block_on(make()), NUM + 1, "{name}, block_on");
            assert_eq!(
                rt.block_on(rt.spawn(make())).unwrap(),
                NUM + 1,
                "{name}, a task"
            );
            let local = LocalSet::new();
            assert_eq!(
                local.block_on(&rt, async { spawn_local(make()).await.unwrap() }),
                NUM + 1,
                "{name}, a local task"
            );
        }
        drop(tx);
        waker_thread.join().unwrap();
    });
}

/// The bench's `MyFuture`: keeps the waker of its first poll and wakes that one at every
/// later poll, never the one it is given.
struct FirstWaker {
    num: usize,
    target: usize,
    waker: Option<Waker>,
}

impl Future for FirstWaker {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if self.num == self.target {
            return Poll::Ready(self.num);
        }
        self.num += 1;
        match &self.waker {
            Some(first) => first.wake_by_ref(),
            None => {
                let first = cx.waker().clone();
                first.wake_by_ref();
                self.waker = Some(first);
            }
        }
        Poll::Pending
    }
}

const TASK_INIT: usize = 10_000;

fn first_waker() -> FirstWaker {
    FirstWaker {
        num: 0,
        target: TASK_INIT,
        waker: None,
    }
}

// futures-executor, benches/poll.rs, `task_init`: the waker of the first poll is good for
// every later poll.
#[test]
fn task_init_the_first_waker_stays_good() {
    watch("task_init", || {
        every_way_in("task_init", TASK_INIT, first_waker);
    });
}

// futures-executor, benches/poll.rs, `task_init`, genrt's variant: a task of a
// current-thread runtime keeps its first waker while the threads in `block_on` take turns
// driving (a thread that returns hands the driver over); the root futures keep theirs too.
#[test]
fn task_init_across_driver_handovers() {
    watch("task_init across handovers", || {
        for round in 0..20 {
            let rt = Arc::new(current_thread());
            let task = rt.spawn(first_waker());
            let drivers: Vec<_> = (0..3)
                .map(|_| {
                    let rt = rt.clone();
                    thread::spawn(move || rt.block_on(first_waker()))
                })
                .collect();
            for driver in drivers {
                assert_eq!(driver.join().unwrap(), TASK_INIT, "round {round}");
            }
            assert_eq!(rt.block_on(task).unwrap(), TASK_INIT, "round {round}");
        }
    });
}

// ---- smol's async-io: tests/timer.rs, tests/block_on.rs, tests/driver_not_spawned.rs ----

// async-io, tests/block_on.rs, `yielding`: `block_on` of a future that wakes itself `i` times,
// for `i` in 0..100.
#[test]
fn async_io_block_on_yielding() {
    watch("async-io yielding", || {
        for (name, flavor) in FLAVORS {
            let rt = flavor();
            for i in 0..100 {
                assert_eq!(
                    rt.block_on(Yield { rem: i, polls: 0 }),
                    i + 1,
                    "{name}: {i}"
                );
            }
        }
    });
}

// async-io, tests/timer.rs, `smoke`: a sleep awaited in `block_on` lasts at least its
// duration (50 ms, not 1 s).
#[test]
fn async_io_timer_smoke() {
    watch("async-io timer smoke", || {
        for (name, flavor) in FLAVORS {
            let rt = flavor();
            let elapsed = rt.block_on(async {
                let start = std::time::Instant::now();
                genrt::time::sleep(Duration::from_millis(50)).await;
                start.elapsed()
            });
            assert!(elapsed >= Duration::from_millis(50), "{name}: {elapsed:?}");
        }
    });
}

/// The first half of `poll_across_tasks`: polls a fresh 50 ms sleep once (it is not ready)
/// and hands it over.
async fn poll_once_and_send(sender: oneshot::Sender<Pin<Box<genrt::time::Sleep>>>) {
    let mut timer = Box::pin(genrt::time::sleep(Duration::from_millis(50)));
    match futures::future::select(&mut timer, futures::future::ready(())).await {
        futures::future::Either::Left(_) => panic!("timer should not be ready"),
        futures::future::Either::Right(_) => {}
    }
    let _ = sender.send(timer);
}

// async-io, tests/timer.rs, `poll_across_tasks`: a sleep polled once by one task (which then
// finishes), then awaited by another, completes no earlier than its deadline. The source's
// `spawn` is a thread in `block_on`; here the two halves run as genrt tasks, as two threads
// in `Handle::block_on`, and with the second half in `futures`' `block_on` on a plain thread
// (the sleep first polled in a genrt task, which stored the task's key, not a waker).
#[test]
fn async_io_timer_poll_across_tasks() {
    watch("async-io poll_across_tasks", || {
        for (name, flavor) in FLAVORS {
            let rt = Arc::new(flavor());
            let start = std::time::Instant::now();

            // Two tasks.
            rt.block_on(async {
                let (sender, receiver) = oneshot::channel();
                let task1 = genrt::spawn(poll_once_and_send(sender));
                let task2 = genrt::spawn(async move { receiver.await.unwrap().await });
                task1.await.unwrap();
                task2.await.unwrap();
            });
            assert!(
                start.elapsed() >= Duration::from_millis(50),
                "{name}: tasks"
            );

            // Two threads in `Handle::block_on` (the source's `spawn`).
            let start = std::time::Instant::now();
            let (sender, receiver) = oneshot::channel();
            let handle = rt.handle().clone();
            let first = thread::spawn(move || handle.block_on(poll_once_and_send(sender)));
            let handle = rt.handle().clone();
            let second =
                thread::spawn(move || handle.block_on(async { receiver.await.unwrap().await }));
            first.join().unwrap();
            second.join().unwrap();
            assert!(
                start.elapsed() >= Duration::from_millis(50),
                "{name}: threads"
            );

            // A genrt task, then a foreign executor (the runtime driven meanwhile, as a
            // current-thread runtime's timers fire only while someone drives it).
            let start = std::time::Instant::now();
            let (sender, receiver) = oneshot::channel();
            rt.block_on(rt.spawn(poll_once_and_send(sender))).unwrap();
            let timer = futures::executor::block_on(receiver).unwrap();
            let rt2 = rt.clone();
            with_runners(&rt2, 1, move || futures::executor::block_on(timer));
            assert!(
                start.elapsed() >= Duration::from_millis(50),
                "{name}: foreign"
            );
        }
    });
}

const TIMER_COUNT: u64 = 10_000;

// async-io, tests/driver_not_spawned.rs, `test_one_block_on`: 10,000 timers (deadlines
// `i / 5` ms, i in 1..10,000) made at once and awaited in order by the `block_on` future,
// while 200 tasks loop on sub-millisecond sleeps and yields (the source's TCP pipes become a
// channel each); then every task is aborted and joined. On a paused clock (the source takes
// two seconds of real time) and, with deadlines `i / 50` ms, on the real one.
#[test]
fn async_io_one_block_on_many_timers() {
    watch("async-io test_one_block_on", || {
        for (name, flavor, paused, divisor) in [
            (
                "current-thread, paused",
                current_thread as fn() -> Runtime,
                true,
                5,
            ),
            ("multi-thread, paused", multi_thread, true, 5),
            ("current-thread", current_thread, false, 50),
            ("multi-thread", multi_thread, false, 50),
        ] {
            let rt = if paused {
                let rt = if name.starts_with("current") {
                    Builder::new_current_thread().start_paused(true).build()
                } else {
                    Builder::new_multi_thread()
                        .worker_threads(2)
                        .start_paused(true)
                        .build()
                };
                rt.unwrap()
            } else {
                flavor()
            };
            let round_trips = Arc::new(AtomicUsize::new(0));
            let trips = round_trips.clone();
            let (start, end) = rt.block_on(async move {
                let start = genrt::time::Instant::now();
                let timers: Vec<_> = (1..TIMER_COUNT)
                    .map(|i| genrt::time::sleep(Duration::from_millis(i / divisor)))
                    .collect();
                let mut tasks = Vec::new();
                for t in 0..200u64 {
                    let trips = trips.clone();
                    tasks.push(genrt::spawn(async move {
                        let mut rng = Rng(t * 2 + 1);
                        let (mut tx, mut rx) = mpsc::channel::<u64>(1);
                        loop {
                            let sent = rng.next();
                            genrt::time::sleep(Duration::from_micros(rng.next() % 1_000)).await;
                            tx.send(sent).await.unwrap();
                            genrt::time::sleep(Duration::from_micros(rng.next() % 1_000)).await;
                            assert_eq!(rx.next().await, Some(sent));
                            trips.fetch_add(1, SeqCst);
                            genrt::yield_now().await;
                        }
                    }));
                }
                for timer in timers {
                    timer.await;
                }
                let end = genrt::time::Instant::now();
                for task in tasks {
                    task.abort();
                    let err = task.await.expect_err("the task loops for ever");
                    assert!(err.is_cancelled(), "{err:?}");
                }
                (start, end)
            });
            let waited = end - start;
            assert!(
                waited >= Duration::from_millis((TIMER_COUNT - 1) / divisor),
                "{name}: {waited:?}"
            );
            assert!(round_trips.load(SeqCst) > 0, "{name}: the tasks ran");
        }
    });
}

// ---- async-std: tests/timeout.rs, tests/timeout_future.rs, tests/mutex.rs ----

// async-std, tests/timeout.rs, `timeout_future_many`: 60 timeouts (not 100: the sleeps run
// one after the other, 1.8 s in all) (`i * 20` ms around a
// sleep of `i` ms) made at once and awaited in order; each inner sleep wins, including the
// first: a zero timeout around a zero sleep, which is ready at its first poll (a timeout
// polls its future before its timer, as in Tokio). async-std's `timeout` is an `async fn`, so
// its deadline starts at the first poll; Tokio's (and genrt's) starts when `timeout` is
// called, so each is wrapped in an `async` block here, as a faithful port must (called
// eagerly, the 40th timeout would expire while the 39 sleeps before it run one after the
// other). On both flavors, in `block_on` and in a task.
#[test]
fn async_std_timeout_future_many() {
    async fn many() {
        let futures = (0..60u64)
            .map(|i| async move {
                genrt::time::timeout(Duration::from_millis(i * 20), async move {
                    genrt::time::sleep(Duration::from_millis(i)).await;
                    i
                })
                .await
            })
            .collect::<Vec<_>>();
        for (i, future) in futures.into_iter().enumerate() {
            assert_eq!(future.await, Ok(i as u64));
        }
    }
    watch("async-std timeout_future_many", || {
        for (_, flavor) in FLAVORS {
            let rt = flavor();
            rt.block_on(many());
            rt.block_on(rt.spawn(many())).unwrap();
        }
    });
}

// async-std, tests/timeout_future.rs, `should_timeout` and `should_not_timeout`.
#[test]
fn async_std_should_timeout_and_should_not_timeout() {
    watch("async-std should_timeout", || {
        for (name, flavor) in FLAVORS {
            let rt = flavor();
            rt.block_on(async {
                let dur = Duration::from_millis(100);
                let res = genrt::time::timeout(dur, futures::future::pending::<()>()).await;
                assert!(res.is_err(), "{name}");
                let res = genrt::time::timeout(dur, futures::future::ready(0)).await;
                assert_eq!(res, Ok(0), "{name}");
            });
        }
    });
}

// async-std, tests/mutex.rs, `contention` (with `futures`' mutex; 1,000 tasks, the number the
// source comments out): every task takes the lock once, the awaiting root sees all of them.
#[test]
fn async_std_mutex_contention() {
    const NUM_TASKS: usize = 1_000;
    watch("async-std mutex contention", || {
        for (name, flavor) in FLAVORS {
            let rt = flavor();
            let count = rt.block_on(async {
                let (tx, mut rx) = mpsc::unbounded();
                let tx = Arc::new(tx);
                let mutex = Arc::new(futures::lock::Mutex::new(0));
                let mut handles = Vec::new();
                for _ in 0..NUM_TASKS {
                    let tx = tx.clone();
                    let mutex = mutex.clone();
                    handles.push(genrt::spawn(async move {
                        let mut lock = mutex.lock().await;
                        genrt::yield_now().await;
                        *lock += 1;
                        tx.unbounded_send(()).unwrap();
                        drop(lock);
                    }));
                }
                for _ in 0..NUM_TASKS {
                    rx.next().await.unwrap();
                }
                for handle in handles {
                    handle.await.unwrap();
                }
                let lock = mutex.lock().await;
                *lock
            });
            assert_eq!(count, NUM_TASKS, "{name}");
        }
    });
}

// ---- Tokio: the tests an earlier port skipped for APIs genrt has since gained ----

// Tokio, tests/rt_basic.rs and tests/rt_threaded.rs, `default_runtime_name_should_be_none`
// (`tokio_gap_ports.rs` skipped it when genrt's runtimes had no name).
#[test]
fn default_runtime_name_should_be_none() {
    watch("default_runtime_name_should_be_none", || {
        for (name, flavor) in FLAVORS {
            assert!(flavor().handle().name().is_none(), "{name}");
        }
    });
}

// Tokio, tests/rt_basic.rs and tests/rt_threaded.rs, `different_runtime_names`.
#[test]
fn different_runtime_names() {
    watch("different_runtime_names", || {
        for builder in [Builder::new_current_thread, Builder::new_multi_thread] {
            let rt1 = builder().name("test-runtime-1").build().unwrap();
            let rt2 = builder().name("test-runtime-2").build().unwrap();
            assert_ne!(rt1.handle().name().unwrap(), rt2.handle().name().unwrap());
            assert_eq!(rt1.handle().name(), Some("test-runtime-1"));
        }
    });
}

// Tokio, tests/macros_test.rs, `test_macro_should_handle_the_name_if_provided`.
#[genrt::test(name = "a valid runtime name")]
async fn test_macro_should_handle_the_name_if_provided() {
    let _watchdog = Watchdog::new("the name attribute").arm();
    let handle = genrt::Handle::current();
    assert_eq!("a valid runtime name", handle.name().unwrap())
}

// Tokio, tests/macros_test.rs, `macro_rt_arg_unhandled_panic::unhandled_panic_shutdown_runtime`
// (`#[should_panic]`; `tokio_unstable` there, an argument genrt's attributes take).
#[genrt::test(flavor = "current_thread", unhandled_panic = "shutdown_runtime")]
#[should_panic]
async fn unhandled_panic_shutdown_runtime() {
    let _watchdog = Watchdog::new("unhandled_panic = shutdown_runtime").arm();
    let _quiet = quiet_panics();
    let _ = genrt::spawn(async {
        panic!("This panic should shutdown the runtime.");
    })
    .await;
}

// Tokio, tests/macros_test.rs, `macro_rt_arg_unhandled_panic::unhandled_panic_ignore`.
#[genrt::test(flavor = "current_thread", unhandled_panic = "ignore")]
async fn unhandled_panic_ignore() {
    let _watchdog = Watchdog::new("unhandled_panic = ignore").arm();
    let _quiet = quiet_panics();
    let rt = genrt::spawn(async {
        panic!("This panic should be forwarded to rt as an error.");
    })
    .await;
    assert!(rt.is_err());
}

// ---- genrt's variants: the same scenarios pushed where genrt's design could differ ----

// async-io, tests/timer.rs, `poll_across_tasks`, genrt's variant: an interval, a timeout and a
// sleep reset to an earlier deadline, each polled first by a genrt task (which registers the
// task's key, not a waker), then finished by a foreign executor or another task.
#[test]
// The timers and the task are handed out of the async blocks on purpose, to be awaited elsewhere.
#[allow(clippy::async_yields_async)]
fn timers_polled_by_a_task_then_finished_elsewhere() {
    watch("timers moved out of their task", || {
        for workers in [1, 2] {
            let rt = Builder::new_multi_thread()
                .worker_threads(workers)
                .build()
                .unwrap();
            let mut interval = rt
                .block_on(rt.spawn(async {
                    let mut interval = genrt::time::interval(Duration::from_millis(20));
                    interval.tick().await;
                    let mut tick = Box::pin(interval.tick());
                    assert!(futures::poll!(&mut tick).is_pending());
                    drop(tick);
                    interval
                }))
                .unwrap();
            futures::executor::block_on(interval.tick());

            let mut timeout = rt
                .block_on(rt.spawn(async {
                    let mut timeout = Box::pin(genrt::time::timeout(
                        Duration::from_millis(20),
                        futures::future::pending::<()>(),
                    ));
                    assert!(futures::poll!(&mut timeout).is_pending());
                    timeout
                }))
                .unwrap();
            assert!(futures::executor::block_on(&mut timeout).is_err());

            let mut sleep = rt
                .block_on(rt.spawn(async {
                    let mut sleep = Box::pin(genrt::time::sleep(Duration::from_secs(3600)));
                    assert!(futures::poll!(&mut sleep).is_pending());
                    sleep
                }))
                .unwrap();
            sleep
                .as_mut()
                .reset(genrt::time::Instant::now() + Duration::from_millis(10));
            rt.block_on(rt.spawn(sleep)).unwrap();

            // Moved while the first task is still alive and pending.
            let (tx, rx) = oneshot::channel();
            let (done_tx, done_rx) = oneshot::channel::<()>();
            let first = rt.spawn(async move {
                let mut sleep = Box::pin(genrt::time::sleep(Duration::from_millis(30)));
                assert!(futures::poll!(&mut sleep).is_pending());
                let _ = tx.send(sleep);
                let _ = done_rx.await;
            });
            rt.block_on(rt.spawn(async move { rx.await.unwrap().await }))
                .unwrap();
            done_tx.send(()).unwrap();
            rt.block_on(first).unwrap();
        }
    });
}

// futures, tests/stream_futures_unordered.rs (a `FuturesUnordered` driven by a task), with
// genrt's sleeps: each sleep is polled with the set's own per-future waker, not the task's,
// and must wake that one. 500 sleeps of 0-49 ms, in a task, on both flavors; on a paused
// clock they complete in deadline order.
#[test]
fn futures_unordered_of_sleeps() {
    watch("FuturesUnordered of sleeps", || {
        for paused in [true, false] {
            for rt in [
                Builder::new_current_thread()
                    .start_paused(paused)
                    .build()
                    .unwrap(),
                Builder::new_multi_thread()
                    .worker_threads(2)
                    .start_paused(paused)
                    .build()
                    .unwrap(),
            ] {
                let order = rt
                    .block_on(rt.spawn(async {
                        let mut set = futures::stream::FuturesUnordered::new();
                        for i in 0..500u64 {
                            let ms = (i * 7919) % 500 / 10;
                            set.push(
                                genrt::time::sleep(Duration::from_millis(ms)).map(move |_| ms),
                            );
                        }
                        let mut order = Vec::new();
                        while let Some(ms) = set.next().await {
                            order.push(ms);
                        }
                        order
                    }))
                    .unwrap();
                assert_eq!(order.len(), 500);
                if paused {
                    let mut sorted = order.clone();
                    sorted.sort_unstable();
                    assert_eq!(order, sorted, "a paused clock fires in deadline order");
                }
            }
        }
    });
}

// async-executor, benches `run` on several threads, genrt's variant with a paused clock: a
// current-thread runtime run by 4 threads (and a multi-thread one, with and without extra
// `block_on` threads) jumps its clock to exactly each next timer: 200 sleeps of 1-997 ms wake
// at their deadline on the paused clock, never before and never past it. 10 rounds each.
#[test]
fn paused_clock_is_exact_with_several_drivers() {
    async fn sleepers() -> Vec<(u64, Duration)> {
        let start = genrt::time::Instant::now();
        let mut tasks = Vec::new();
        for i in 0..200u64 {
            let ms = (i * 7919) % 997 + 1;
            tasks.push(genrt::spawn(async move {
                genrt::time::sleep(Duration::from_millis(ms)).await;
                (ms, start.elapsed())
            }));
        }
        let mut woke = Vec::new();
        for task in tasks {
            woke.push(task.await.unwrap());
        }
        woke
    }
    watch("paused clock with several drivers", || {
        for round in 0..10 {
            for (name, drivers, rt) in [
                (
                    "current-thread",
                    0,
                    Builder::new_current_thread().start_paused(true).build(),
                ),
                (
                    "current-thread run by 4 threads",
                    3,
                    Builder::new_current_thread().start_paused(true).build(),
                ),
                (
                    "multi-thread",
                    0,
                    Builder::new_multi_thread()
                        .worker_threads(2)
                        .start_paused(true)
                        .build(),
                ),
                (
                    "multi-thread, 2 more block_on threads",
                    2,
                    Builder::new_multi_thread()
                        .worker_threads(2)
                        .start_paused(true)
                        .build(),
                ),
            ] {
                let rt = Arc::new(rt.unwrap());
                let driver = rt.clone();
                let woke = with_runners(&rt, drivers, move || driver.block_on(sleepers()));
                for (ms, at) in woke {
                    assert_eq!(
                        at,
                        Duration::from_millis(ms),
                        "{name}, round {round}: a {ms} ms sleep woke at {at:?}"
                    );
                }
            }
        }
    });
}

// futures-executor, tests/current_thread.rs, `outstanding_tasks_are_dropped_on_cancel`,
// genrt's variant: a local task's `JoinHandle` awaited by a task of the runtime (on another
// thread for a multi-thread runtime) reports cancelled when the set is dropped, whether the
// task never ran or was pending; one that finished keeps its output.
#[test]
fn local_join_handles_awaited_elsewhere_when_the_set_drops() {
    watch("local handles when the set drops", || {
        for (name, flavor) in FLAVORS {
            let rt = flavor();
            let local = LocalSet::new();
            let never_run = local.spawn_local(async { 1u32 });
            let waiting = rt.spawn(never_run);
            drop(local);
            let err = rt.block_on(waiting).unwrap().unwrap_err();
            assert!(err.is_cancelled(), "{name}: {err:?}");

            let local = LocalSet::new();
            let pending = local.spawn_local(futures::future::pending::<u32>());
            let finished = local.spawn_local(async { 5u32 });
            let waiting = rt.spawn(async move { (pending.await, finished.await) });
            local.block_on(&rt, genrt::time::sleep(Duration::from_millis(5)));
            drop(local);
            let (pending, finished) = rt.block_on(waiting).unwrap();
            assert!(pending.unwrap_err().is_cancelled(), "{name}");
            assert_eq!(finished.unwrap(), 5, "{name}");
        }
    });
}

// futures-executor, tests/current_thread.rs, genrt's variant: a `LocalSet` is not tied to
// a runtime (as in Tokio): a local task started under one runtime, which is then dropped,
// finishes under another, woken by a plain thread.
#[test]
// The timers and the task are handed out of the async blocks on purpose, to be awaited elsewhere.
#[allow(clippy::async_yields_async)]
fn a_local_set_outlives_the_runtime_it_first_ran_on() {
    watch("a LocalSet across runtimes", || {
        for first in [current_thread as fn() -> Runtime, multi_thread] {
            for (name, second) in FLAVORS {
                let rt1 = first();
                let local = LocalSet::new();
                let (tx, rx) = oneshot::channel::<u32>();
                let task = local.block_on(&rt1, async {
                    let task = spawn_local(async move {
                        genrt::yield_now().await;
                        rx.await.unwrap() + 1
                    });
                    genrt::yield_now().await;
                    task
                });
                drop(rt1);
                let sender = thread::spawn(move || tx.send(41).unwrap());
                let rt2 = second();
                assert_eq!(local.block_on(&rt2, task).unwrap(), 42, "{name}");
                sender.join().unwrap();
            }
        }
    });
}
