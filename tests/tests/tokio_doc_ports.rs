//! Tokio's rustdoc examples, ported: the code blocks in the doc comments of `tokio::runtime`,
//! `tokio::task`, `tokio::time`, the macros (`select!`, `join!`, `try_join!`, `pin!`) and
//! `tokio-macros` (`#[tokio::main]`, `#[tokio::test]`), written again for genrt. Users write
//! their first tests by copying these examples, so each one should behave here as Tokio says
//! it does. Every test names the example it ports (`Builder::thread_name`, "the `Delay`
//! example of `MissedTickBehavior`", ...) and runs under a [`Watchdog`] (around a `#[test]`'s
//! body, or armed inside a `#[genrt::test]` body).
//!
//! What changed in the port:
//! - An example that only prints asserts what it demonstrates instead: the order of events,
//!   the values, and timing relations on a paused clock (`d <= elapsed <= d + 1 ms`, exact on
//!   a paused clock, see [`assert_elapsed`]); on a real clock only lower bounds ("at least
//!   100 ms passed"), never upper ones.
//! - `#[tokio::main]` becomes `#[genrt::main]` on a function called from the watched thread
//!   (genrt's attribute fits any `async fn`, as Tokio's); `# async fn doc()` fragments run in
//!   `block_on` of the runtime the surrounding example would have built.
//! - `tokio::sync::{mpsc, oneshot}` become `futures::channel`'s; `tokio::sync::Barrier`
//!   becomes [`AsyncBarrier`], a small barrier of our own; `tokio_stream::iter` becomes
//!   `futures::stream::iter`.
//! - A `should_panic` example is a test that catches the panic and checks what panicked (the
//!   task's join error, `block_on`), so that the test cannot pass by panicking elsewhere.
//!
//! Ported (tests per module; a test may cover several examples):
//! - runtime (35 tests): `Builder` (struct example, `enable_all`, `enable_time`, `worker_threads`
//!   both, `thread_name`, `thread_name_fn`, `thread_stack_size`, `on_thread_start`,
//!   `on_thread_stop`, `on_thread_park` multi-thread and current-thread, `on_thread_unpark`,
//!   `build`, `thread_keep_alive`, `global_queue_interval`, `event_interval`, `start_paused`,
//!   `UnhandledPanic::Ignore`, `UnhandledPanic::ShutdownRuntime`), `Runtime` (`new`, `handle`,
//!   `spawn`, `spawn_blocking`, `block_on`, `enter`, `shutdown_timeout`, `shutdown_background`),
//!   `Handle` (`enter` both, `current`, `spawn`, `spawn_blocking`, `block_on` both,
//!   `runtime_flavor` both, `id`), `RuntimeMetrics` (`num_workers`, `num_alive_tasks`,
//!   `global_queue_depth`, `worker_total_busy_duration`, `worker_park_count`,
//!   `worker_park_unpark_count`).
//! - task (39 tests): the module docs (spawn, join, join a panic, `spawn_blocking` both,
//!   `block_in_place`, `yield_now`, the cancellation rules), `spawn` (the `Rc` example),
//!   `JoinHandle` (creation from `spawn` and `spawn_blocking`, the typed handles, `??`, a panic, a
//!   detached child, `abort`, `is_finished`, `abort_handle`), `spawn_blocking` (both),
//!   `block_in_place` (both, and its panic on a current-thread runtime), `JoinSet` (the struct
//!   example, dropping a set aborts, `spawn_blocking`, `join_all` both and its panic, `collect`),
//!   `LocalSet` (`run_until`, awaiting a set, the `LocalSpawner` thread, `spawn_local` method,
//!   `run_until` method, `block_on` with `block_in_place` (panics) and with `spawn_blocking`,
//!   `id`), `spawn_local` (the example and its panic outside a set), `task_local!`, `LocalKey` (the
//!   struct example, `scope`, `sync_scope`, `with`/`try_with` without a value, `get`),
//!   `TaskLocalFuture` (the example and `take_value`), `coop::unconstrained`, `consume_budget`,
//!   `coop::has_budget_remaining` (the `Timeout` example), `coop::poll_proceed` (the
//!   `CountdownLatch` example), `coop::cooperative`.
//! - time (25 tests): the module docs (sleep, timeout, the every-two-seconds interval),
//!   `sleep_until`, `sleep` (and its "Panics" about sleeps made outside a runtime), `Sleep` (the
//!   `select!` loop with `reset`, `HasSleep` boxed, `reset`, `deadline`/`is_elapsed`), `interval`
//!   (both, and its zero-period panic), `interval_at`, `MissedTickBehavior` (the missed-tick
//!   example, `Burst`, `Delay`, `Skip`, `Default`), `Interval` (`tick`, `reset`,
//!   `reset_immediately`, `reset_after`, `reset_at`, `missed_tick_behavior`/`period`), `timeout`
//!   (and `into_inner`), `timeout_at`, `Instant` (`now`, `checked_duration_since`,
//!   `saturating_duration_since`, `elapsed`), `pause` (with the `main` example), `resume`,
//!   `advance`, and their panics.
//! - macros (23 tests): `select!` (basic, two streams, collecting streams with `else`, a stream for
//!   at most a second, joining two values, `biased;`, the race-free `if` loop, the `select!` loop
//!   of "Alternatives from the Ecosystem"), `join!` (basic, `biased;`), `try_join!` (basic, with
//!   spawned tasks), `pin!` (`(&mut future).await`, with `select!`, the `let` form),
//!   `#[tokio::main]` (multi-thread with 10 workers, current-thread, 2 workers, start paused,
//!   renamed crate, `unhandled_panic`, each with its "equivalent code not using `#[tokio::main]`"),
//!   `#[tokio::test]` (multi-thread, default, 2 workers, start paused, renamed crate).
//!
//! Skipped, and why:
//! - Examples around I/O and networking: `spawn`'s `TcpListener` server, the `I/O` lines of
//!   `Builder::enable_io`/`max_io_events_per_tick`, `Runtime::enter`'s `TcpStream` mention
//!   (genrt has no I/O driver).
//! - Compile-fail examples (`spawn` holding an `Rc` across `.await`, `LocalSet`'s `Rc` in
//!   `tokio::spawn`, `pin!` without pinning or on an expression): they show what does not
//!   compile; an integration test cannot state that (genrt's own `compile_fail` doctests do).
//! - Unstable Tokio APIs genrt does not have: `Builder::on_task_spawn`/`on_task_terminate`,
//!   `build_local`/`LocalRuntime`, `disable_lifo_slot`, `rng_seed`, the poll-time histogram
//!   builders and metrics, `num_blocking_threads`, `num_idle_blocking_threads`,
//!   `worker_thread_id`, `worker_local_queue_depth`, `JoinSet::build_task`,
//!   `LocalSet::unhandled_panic` (genrt's `UnhandledPanic` is per runtime; a set's task
//!   panic goes to its handle, documented on `UnhandledPanic::ShutdownRuntime`).
//! - `Sleep`'s pin-projection example (`pin_project_lite`, not a dependency of this crate;
//!   the boxed variant is ported), the `merge` and `Race` alternatives of `select!`
//!   (`tokio_stream::StreamExt::merge`, `futures_concurrency`), and the `no_run`
//!   "incorrect usage" of racy `if` preconditions (it demonstrates a race, and ends in
//!   `panic!("This example shows how not to do it!")`).
//!
//! Where genrt's documented behaviour differs from Tokio's, the test asserts genrt's and says
//! so: `Builder::worker_threads(0)` and `max_blocking_threads(0)` are refused by `build` with
//! `InvalidInput` (Tokio panics in the setter); `Runtime::shutdown_timeout` returns whether
//! everything stopped in time (Tokio's returns `()`); a sleep or timeout made outside a
//! runtime belongs to the runtime that first polls it (Tokio panics at creation, so its
//! `rt.block_on(sleep(..))` panics); `LocalKey::get` asks for `Clone` (newer Tokio's; older
//! asked `Copy`). The port found one divergence, since fixed: a second `EnterGuard` dropped
//! after the first one's out-of-order panic was caught panicked again
//! (`handle_enter_second_guard_after_a_caught_out_of_order_panic`).

#![deny(warnings)]
// The examples keep Tokio's code as written (index loops over `seen`, `while let` over an
// iterator, `if let Err(_) =`), so that they read as the docs users copy from.
#![allow(
    clippy::needless_range_loop,
    clippy::while_let_on_iterator,
    clippy::redundant_pattern_matching
)]

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, SinkExt, StreamExt};
use genrt::runtime::{Builder, Handle, Runtime, RuntimeFlavor};
use genrt::task::{self, coop, JoinHandle, JoinSet, LocalSet};
use genrt::time::{self as time, Instant, MissedTickBehavior, Sleep};
use genrt::UnhandledPanic;
use support::{panic_message, quiet_panics, Watchdog, INTENTIONAL};

// `#[tokio1::main(crate = "tokio1")]`: the attribute under another name.
use genrt as genrt1;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Runs `f` on a watched thread (see [`Watchdog::run`]).
#[track_caller]
fn watched<T: Send + 'static>(what: &'static str, f: impl FnOnce() -> T + Send + 'static) -> T {
    Watchdog::new(what).run(f)
}

/// A current-thread runtime, as `#[tokio::main(flavor = "current_thread")]` builds.
fn current_thread() -> Runtime {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the runtime starts")
}

/// A current-thread runtime whose clock starts paused (`start_paused = true`).
fn current_paused() -> Runtime {
    Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("the runtime starts")
}

/// On a paused clock: `least <= elapsed <= least + 1 ms` (the timer's millisecond tick).
#[track_caller]
fn assert_elapsed(start: Instant, least: Duration) {
    let elapsed = start.elapsed();
    assert!(
        elapsed >= least && elapsed <= least + ms(1),
        "elapsed {elapsed:?}, expected {least:?} to {:?} (paused clock)",
        least + ms(1)
    );
}

/// Polls `future` once, with the current task's waker.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

/// `tokio::sync::Barrier`, for the examples that use one: `wait` completes once `parties`
/// callers are waiting.
struct AsyncBarrier {
    parties: usize,
    state: Mutex<(usize, Vec<Waker>)>,
}

impl AsyncBarrier {
    fn new(parties: usize) -> AsyncBarrier {
        AsyncBarrier {
            parties,
            state: Mutex::new((0, Vec::new())),
        }
    }

    async fn wait(&self) {
        let mut arrived = false;
        poll_fn(|cx| {
            let mut state = self.state.lock().unwrap();
            if !arrived {
                arrived = true;
                state.0 += 1;
                if state.0 == self.parties {
                    state.1.drain(..).for_each(Waker::wake);
                    return Poll::Ready(());
                }
            }
            if state.0 >= self.parties {
                return Poll::Ready(());
            }
            state.1.push(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

/// The name of the thread a task of `rt` runs on.
fn worker_name(rt: &Runtime) -> Option<String> {
    rt.block_on(rt.spawn(async { thread::current().name().map(str::to_owned) }))
        .expect("the task ran")
}

// =============================================================================================
// tokio::runtime
// =============================================================================================

/// `Builder`'s struct example: 4 workers named "my-custom-name" with 3 MiB stacks.
#[test]
fn builder_struct_example() {
    watched("builder_struct_example", || {
        let runtime = Builder::new_multi_thread()
            .worker_threads(4)
            .thread_name("my-custom-name")
            .thread_stack_size(3 * 1024 * 1024)
            .build()
            .unwrap();
        assert_eq!(runtime.metrics().num_workers(), 4);
        assert_eq!(worker_name(&runtime).as_deref(), Some("my-custom-name"));
    });
}

/// `Builder::enable_all` and `Builder::enable_time`: the runtime's timers work.
#[test]
fn builder_enable_all_and_enable_time() {
    watched("builder_enable_all_and_enable_time", || {
        for rt in [
            Builder::new_multi_thread().enable_all().build().unwrap(),
            Builder::new_multi_thread().enable_time().build().unwrap(),
        ] {
            let start = Instant::now();
            rt.block_on(time::sleep(ms(5)));
            assert!(start.elapsed() >= ms(5));
        }
    });
}

/// `Builder::worker_threads`, "Multi threaded runtime with 4 threads".
#[test]
fn builder_worker_threads_multi_thread() {
    watched("builder_worker_threads_multi_thread", || {
        let rt = Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        let task = rt.spawn(async move { genrt::runtime::worker_index() });
        let index = rt.block_on(task).unwrap();
        assert!(matches!(index, Some(i) if i < 4), "ran on worker {index:?}");
        assert_eq!(rt.metrics().num_workers(), 4);
    });
}

/// `Builder::worker_threads`, "Current thread runtime (will only run on the current thread via
/// `Runtime::block_on`)": the future and the runtime's tasks run on the calling thread.
#[test]
fn builder_worker_threads_current_thread() {
    watched("builder_worker_threads_current_thread", || {
        let rt = Builder::new_current_thread().build().unwrap();
        let here = thread::current().id();
        let task = rt.spawn(async { thread::current().id() });
        let (future_thread, task_thread) =
            rt.block_on(async move { (thread::current().id(), task.await.unwrap()) });
        assert_eq!(future_thread, here);
        assert_eq!(task_thread, here);
        assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
    });
}

/// `Builder::worker_threads`' and `max_blocking_threads`' "Panics if `val` is not larger than
/// `0`": genrt refuses zero in `build` instead, with `InvalidInput` (documented on both
/// setters); a current-thread runtime ignores the worker count, as Tokio's.
#[test]
fn builder_zero_threads_are_refused() {
    watched("builder_zero_threads_are_refused", || {
        let err = Builder::new_multi_thread()
            .worker_threads(0)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let err = Builder::new_multi_thread()
            .max_blocking_threads(0)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let rt = Builder::new_current_thread().worker_threads(0).build();
        assert!(rt.is_ok(), "a current-thread runtime has no worker count");
    });
}

/// `Builder::thread_name`: the pool's threads are named "my-pool".
#[test]
fn builder_thread_name() {
    watched("builder_thread_name", || {
        let rt = Builder::new_multi_thread()
            .thread_name("my-pool")
            .build()
            .unwrap();
        assert_eq!(worker_name(&rt).as_deref(), Some("my-pool"));
        let blocking =
            rt.block_on(rt.spawn_blocking(|| thread::current().name().map(str::to_owned)));
        assert_eq!(blocking.unwrap().as_deref(), Some("my-pool"));
    });
}

/// `Builder::thread_name_fn`: each thread is named by the function, "my-pool-N" with a fresh
/// `N` each.
#[test]
fn builder_thread_name_fn() {
    watched("builder_thread_name_fn", || {
        let names = Arc::new(Mutex::new(Vec::new()));
        let seen = names.clone();
        let rt = Builder::new_multi_thread()
            .worker_threads(3)
            .thread_name_fn(|| {
                static ATOMIC_ID: AtomicUsize = AtomicUsize::new(0);
                let id = ATOMIC_ID.fetch_add(1, Ordering::SeqCst);
                format!("my-pool-{}", id)
            })
            .on_thread_start(move || {
                let name = thread::current().name().map(str::to_owned);
                seen.lock().unwrap().push(name.unwrap_or_default());
            })
            .build()
            .unwrap();
        drop(rt); // joins the workers: all three have started
        let mut names = names.lock().unwrap().clone();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("my-pool-")), "{names:?}");
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 3, "every thread has a name of its own");
    });
}

/// `Builder::thread_stack_size(32 * 1024)`: a runtime with 32 KiB stacks starts, runs a task
/// and shuts down.
#[test]
fn builder_thread_stack_size() {
    watched("builder_thread_stack_size", || {
        let rt = Builder::new_multi_thread()
            .thread_stack_size(32 * 1024)
            .build()
            .unwrap();
        assert_eq!(rt.block_on(rt.spawn(async { 1 + 1 })).unwrap(), 2);
    });
}

/// `Builder::on_thread_start` and `on_thread_stop` ("thread started", "thread stopping"):
/// every worker starts before its work and stops at shutdown.
#[test]
fn builder_on_thread_start_and_stop() {
    watched("builder_on_thread_start_and_stop", || {
        let started = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));
        let (start, stop) = (started.clone(), stopped.clone());
        let runtime = Builder::new_multi_thread()
            .worker_threads(2)
            .on_thread_start(move || {
                start.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_stop(move || {
                stop.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        assert_eq!(runtime.block_on(runtime.spawn(async { 7 })).unwrap(), 7);
        assert_eq!(stopped.load(Ordering::SeqCst), 0);
        drop(runtime);
        assert_eq!(started.load(Ordering::SeqCst), 2);
        assert_eq!(stopped.load(Ordering::SeqCst), 2);
    });
}

/// The park hook of `Builder::on_thread_park`'s examples: the first park spawns a task that
/// waits on the barrier the `block_on` future waits on; `block_on` returns only if the hook's
/// spawn runs.
fn on_thread_park_example(builder: &mut Builder) {
    let once = AtomicBool::new(true);
    let barrier = Arc::new(AsyncBarrier::new(2));
    let runtime = builder
        .on_thread_park({
            let barrier = barrier.clone();
            move || {
                let barrier = barrier.clone();
                if once.swap(false, Ordering::Relaxed) {
                    genrt::spawn(async move {
                        barrier.wait().await;
                    });
                }
            }
        })
        .build()
        .unwrap();
    runtime.block_on(async {
        barrier.wait().await;
    })
}

/// `Builder::on_thread_park`, "Multithreaded executor".
#[test]
fn builder_on_thread_park_multi_thread() {
    watched("builder_on_thread_park_multi_thread", || {
        on_thread_park_example(Builder::new_multi_thread().worker_threads(1));
    });
}

/// `Builder::on_thread_park`, "Current thread executor": the thread inside `block_on` is the
/// one that parks, and the task the hook spawns runs before it sleeps.
#[test]
fn builder_on_thread_park_current_thread() {
    watched("builder_on_thread_park_current_thread", || {
        on_thread_park_example(&mut Builder::new_current_thread());
    });
}

/// `Builder::on_thread_unpark` ("thread unparking", then "Hello from Tokio!" after a yield).
#[test]
fn builder_on_thread_unpark() {
    watched("builder_on_thread_unpark", || {
        let runtime = Builder::new_multi_thread()
            .on_thread_unpark(|| {
                let _ = "thread unparking";
            })
            .build();
        let hello = runtime.unwrap().block_on(async {
            task::yield_now().await;
            "Hello from genrt!"
        });
        assert_eq!(hello, "Hello from genrt!");
    });
}

/// `Builder::build`: "Hello from the Tokio runtime" from `block_on`.
#[test]
fn builder_build() {
    watched("builder_build", || {
        let rt = Builder::new_multi_thread().build().unwrap();
        let said = rt.block_on(async { "Hello from the genrt runtime" });
        assert_eq!(said, "Hello from the genrt runtime");
    });
}

/// `Builder::thread_keep_alive(100 ms)`: a blocking thread idle past it exits (its stop hook
/// runs), and the pool starts a new one for the next closure.
#[test]
fn builder_thread_keep_alive() {
    watched("builder_thread_keep_alive", || {
        let stopped = Arc::new(AtomicUsize::new(0));
        let stop = stopped.clone();
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .thread_keep_alive(ms(100))
            .on_thread_stop(move || {
                stop.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 1)).unwrap(), 1);
        support::wait_until("the idle blocking thread exits", || {
            stopped.load(Ordering::SeqCst) >= 1
        });
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 2)).unwrap(), 2);
    });
}

/// `Builder::global_queue_interval(31)` and `Builder::event_interval(31)`; and the former's
/// "panics if 0 is passed".
#[test]
fn builder_global_queue_and_event_interval() {
    watched("builder_global_queue_and_event_interval", || {
        let rt = Builder::new_multi_thread()
            .global_queue_interval(31)
            .build()
            .unwrap();
        assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
        let rt = Builder::new_multi_thread()
            .event_interval(31)
            .build()
            .unwrap();
        assert_eq!(rt.block_on(rt.spawn(async { 2 })).unwrap(), 2);
        let _quiet = quiet_panics();
        let panicked = catch_unwind(|| {
            Builder::new_multi_thread().global_queue_interval(0);
        });
        assert!(panicked.is_err(), "global_queue_interval(0) must panic");
    });
}

/// `Builder::start_paused(true)` on a current-thread runtime: the clock stands still while
/// the thread sleeps, and jumps to the next timer when nothing is left to run.
#[test]
fn builder_start_paused() {
    watched("builder_start_paused", || {
        let rt = Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let start = Instant::now();
            thread::sleep(ms(5));
            assert_eq!(start.elapsed(), Duration::ZERO);
            time::sleep(secs(3600)).await;
            assert_elapsed(start, secs(3600));
        });
    });
}

/// `UnhandledPanic::Ignore`: the panic goes to the first task's handle; the second task
/// completes normally.
#[test]
fn unhandled_panic_ignore() {
    watched("unhandled_panic_ignore", || {
        let _quiet = quiet_panics();
        let rt = Builder::new_current_thread()
            .unhandled_panic(UnhandledPanic::Ignore)
            .build()
            .unwrap();
        let task1 = rt.spawn(async { panic!("{INTENTIONAL}: boom") });
        let task2 = rt.spawn(async {
            // This task completes normally
            "done"
        });
        rt.block_on(async {
            // The panic on the first task is forwarded to the `JoinHandle`
            assert!(task1.await.is_err());
            // The second task completes normally
            assert!(task2.await.is_ok());
        })
    });
}

/// `UnhandledPanic::ShutdownRuntime` and `Builder::unhandled_panic` (`should_panic`): the
/// first task panics, the runtime shuts down, and the `block_on` that never completes by
/// itself panics; the second task never completes.
#[test]
fn unhandled_panic_shutdown_runtime() {
    watched("unhandled_panic_shutdown_runtime", || {
        let _quiet = quiet_panics();
        let rt = Builder::new_current_thread()
            .unhandled_panic(UnhandledPanic::ShutdownRuntime)
            .build()
            .unwrap();
        rt.spawn(async { panic!("{INTENTIONAL}: boom") });
        let never = rt.spawn(async {
            // This task never completes.
            std::future::pending::<()>().await
        });
        let blocked = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async {
                // Do some work
                loop {
                    task::yield_now().await;
                }
            })
        }));
        assert!(
            blocked.is_err(),
            "block_on must panic once the runtime shut down"
        );
        let never = support::wait_for("the second task's handle", never);
        assert!(never.unwrap_err().is_cancelled());
    });
}

/// `Runtime::new` and `Runtime::handle`: a multi-thread runtime with timers, whose handle
/// spawns on it.
#[test]
fn runtime_new_and_handle() {
    watched("runtime_new_and_handle", || {
        let rt = Runtime::new().unwrap();
        let handle = rt.handle();
        assert_eq!(handle.runtime_flavor(), RuntimeFlavor::MultiThread);
        assert_eq!(handle.id(), rt.handle().id());
        assert_eq!(rt.block_on(handle.spawn(async { 3 })).unwrap(), 3);
    });
}

/// `Runtime::spawn` ("now running on a worker thread") and `Runtime::spawn_blocking`.
#[test]
fn runtime_spawn_and_spawn_blocking() {
    watched("runtime_spawn_and_spawn_blocking", || {
        let rt = Runtime::new().unwrap();
        let on_worker = rt.spawn(async { genrt::on_worker_thread() });
        assert!(rt.block_on(on_worker).unwrap());
        let blocking = rt.spawn_blocking(genrt::on_worker_thread);
        assert!(
            !rt.block_on(blocking).unwrap(),
            "a blocking closure runs off the workers"
        );
    });
}

/// `Runtime::block_on` ("hello"): the future runs on the calling thread.
#[test]
fn runtime_block_on() {
    watched("runtime_block_on", || {
        let rt = Runtime::new().unwrap();
        let here = thread::current().id();
        let (said, thread) = rt.block_on(async { ("hello", thread::current().id()) });
        assert_eq!(said, "hello");
        assert_eq!(thread, here);
    });
}

/// `Runtime::enter`: `function_that_spawns` spawns with `genrt::spawn`, which finds the
/// entered runtime ("Had we not used `rt.enter` below, this would panic").
#[test]
fn runtime_enter() {
    fn function_that_spawns(msg: String) -> JoinHandle<String> {
        genrt::spawn(async move { msg })
    }

    watched("runtime_enter", || {
        let _quiet = quiet_panics();
        assert!(
            catch_unwind(|| function_that_spawns("nowhere".into())).is_err(),
            "spawn outside a runtime panics"
        );
        let rt = Runtime::new().unwrap();
        let s = "Hello World!".to_string();
        let _guard = rt.enter();
        let handle = function_that_spawns(s);
        assert_eq!(rt.block_on(handle).unwrap(), "Hello World!");
    });
}

/// `Runtime::shutdown_timeout(100 ms)` while a blocking closure sleeps "10,000 seconds":
/// shutdown stops waiting after the timeout. (The closure waits on a channel instead of
/// `thread::sleep`, so the test can let it go; genrt's `shutdown_timeout` also says whether
/// everything stopped in time: here `false`, a documented addition to Tokio's `()`.)
#[test]
fn runtime_shutdown_timeout() {
    watched("runtime_shutdown_timeout", || {
        let runtime = Runtime::new().unwrap();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, starting) = std::sync::mpsc::channel::<()>();
        runtime.block_on(async move {
            task::spawn_blocking(move || {
                started.send(()).unwrap();
                let _ = released.recv_timeout(secs(10_000));
            });
        });
        // Shutdown cancels a closure that has not started (as Tokio's): wait for it to run.
        support::recv(&starting, "the blocking closure starts");
        let start = std::time::Instant::now();
        let stopped_in_time = runtime.shutdown_timeout(ms(100));
        assert!(start.elapsed() >= ms(100), "it waited for the timeout");
        assert!(!stopped_in_time);
        drop(release);
    });
}

/// `Runtime::shutdown_background`: a runtime made inside another's `block_on` can be shut
/// down there (dropping it there would block the async context).
#[test]
fn runtime_shutdown_background() {
    watched("runtime_shutdown_background", || {
        let runtime = Runtime::new().unwrap();
        runtime.block_on(async move {
            let inner_runtime = Runtime::new().unwrap();
            let ran = inner_runtime.spawn(async { 5 });
            assert_eq!(ran.await.unwrap(), 5);
            inner_runtime.shutdown_background();
        });
    });
}

/// `Handle::enter`'s first example: `genrt::spawn` works while the guard lives.
#[test]
fn handle_enter() {
    watched("handle_enter", || {
        let rt = Runtime::new().unwrap();
        let _guard = rt.enter();
        let join = genrt::spawn(async { "Hello world!" });
        assert_eq!(rt.block_on(join).unwrap(), "Hello world!");
    });
}

/// `Handle::enter`'s second example (`should_panic`): guards of two runtimes dropped out of
/// order panic (once: the second guard is dropped while the first one's panic unwinds).
#[test]
fn handle_enter_guards_dropped_out_of_order_panic() {
    watched("handle_enter_guards_dropped_out_of_order_panic", || {
        let _quiet = quiet_panics();
        let rt1 = Runtime::new().unwrap();
        let rt2 = Runtime::new().unwrap();
        let dropped = catch_unwind(AssertUnwindSafe(|| {
            let enter1 = rt1.enter();
            let enter2 = rt2.enter();

            drop(enter1);
            drop(enter2);
        }));
        let payload = dropped.expect_err("dropping the older guard first must panic");
        let message = panic_message(&*payload).unwrap_or_default();
        assert!(message.contains("dropped out of order"), "{message}");
        assert!(Handle::try_current().is_err(), "no runtime is left entered");
    });
}

/// `Handle::enter`'s second example, with the first guard's panic caught before the second
/// guard is dropped. Tokio's out-of-order drop panics before it changes anything, so the
/// second guard's drop finds its own depth and restores quietly (leaving the first runtime
/// entered: the "possible memory leak" its docs mention).
#[test]
fn handle_enter_second_guard_after_a_caught_out_of_order_panic() {
    watched(
        "handle_enter_second_guard_after_a_caught_out_of_order_panic",
        || {
            let _quiet = quiet_panics();
            let rt1 = Runtime::new().unwrap();
            let rt2 = Runtime::new().unwrap();
            let enter1 = rt1.enter();
            let enter2 = rt2.enter();
            let dropped = catch_unwind(AssertUnwindSafe(move || drop(enter1)));
            assert!(
                dropped.is_err(),
                "dropping the older guard first must panic"
            );
            let second = catch_unwind(AssertUnwindSafe(move || drop(enter2)));
            assert!(second.is_ok(), "the second guard is dropped in order");
        },
    );
}

/// `Handle::current`: inside a task it is the task's runtime; a plain thread given the
/// handle can spawn with it but has no current runtime until it enters one.
#[test]
fn handle_current() {
    watched("handle_current", || {
        let rt = Runtime::new().unwrap();
        let id = rt.handle().id();
        let done = rt.spawn(async move {
            // Inside an async block or function.
            let handle = Handle::current();
            assert_eq!(handle.id(), id);
            let spawned = handle.spawn(async { "now running in the existing Runtime" });
            let joined = thread::spawn(move || {
                // Notice that the handle is created outside of this thread and then moved in
                let from_thread = handle.spawn(async { 1 });
                // This next line would cause a panic because we haven't entered the runtime
                assert!(Handle::try_current().is_err());
                let _guard = handle.enter();
                // Now we can call Handle::current();
                let handle2 = Handle::current();
                assert_eq!(handle2.id(), handle.id());
                from_thread
            })
            .join()
            .unwrap();
            (spawned.await.unwrap(), joined.await.unwrap())
        });
        let (said, one) = rt.block_on(done).unwrap();
        assert_eq!(said, "now running in the existing Runtime");
        assert_eq!(one, 1);
    });
}

/// `Handle::spawn` and `Handle::spawn_blocking` ("now running on a worker thread").
#[test]
fn handle_spawn_and_spawn_blocking() {
    watched("handle_spawn_and_spawn_blocking", || {
        let rt = Runtime::new().unwrap();
        let handle = rt.handle();
        let spawned = handle.spawn(async { genrt::on_worker_thread() });
        let blocking = handle.spawn_blocking(|| "blocking done");
        assert!(rt.block_on(spawned).unwrap());
        assert_eq!(rt.block_on(blocking).unwrap(), "blocking done");
    });
}

/// `Handle::block_on`'s first example ("hello").
#[test]
fn handle_block_on() {
    watched("handle_block_on", || {
        let rt = Runtime::new().unwrap();
        let handle = rt.handle();
        assert_eq!(handle.block_on(async { "hello" }), "hello");
    });
}

/// `Handle::block_on`'s second example: `Handle::current` moved to a new thread, which runs
/// async code with `block_on`. (Tokio's `main` does not wait for the thread; here it joins
/// it and checks what it ran.)
#[test]
fn handle_block_on_from_a_thread() {
    #[genrt::main]
    async fn main() -> &'static str {
        let handle = Handle::current();
        let thread = std::thread::spawn(move || {
            // Using Handle::block_on to run async code in the new thread.
            handle.block_on(async {
                time::sleep(ms(1)).await;
                "hello"
            })
        });
        task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap()
    }

    assert_eq!(watched("handle_block_on_from_a_thread", main), "hello");
}

/// `Handle::runtime_flavor`, both examples.
#[test]
fn handle_runtime_flavor() {
    #[genrt::main(flavor = "current_thread")]
    async fn current() {
        assert_eq!(
            RuntimeFlavor::CurrentThread,
            Handle::current().runtime_flavor()
        );
    }

    #[genrt::main(flavor = "multi_thread", worker_threads = 4)]
    async fn multi() {
        assert_eq!(
            RuntimeFlavor::MultiThread,
            Handle::current().runtime_flavor()
        );
    }

    watched("handle_runtime_flavor", || {
        current();
        multi();
    });
}

/// `Handle::id` ("Current runtime id: {}"): the id of the runtime `main` runs on, the same
/// from every handle of it, another runtime's differs.
#[test]
fn handle_id() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() -> genrt::runtime::Id {
        let id = Handle::current().id();
        assert_eq!(format!("{id}"), id.to_string());
        assert_eq!(
            genrt::spawn(async { Handle::current().id() })
                .await
                .unwrap(),
            id
        );
        id
    }

    watched("handle_id", || assert_ne!(main(), main()));
}

/// `RuntimeMetrics::num_workers`, `num_alive_tasks` and `global_queue_depth` in a
/// `#[genrt::main]` (multi-thread, a worker per CPU).
#[test]
fn metrics_counts() {
    #[genrt::main]
    async fn main() {
        let metrics = Handle::current().metrics();

        let n = metrics.num_workers();
        assert!(n >= 1, "Runtime is using {n} workers");

        // No task spawned yet: `main`'s body is no task.
        assert_eq!(metrics.num_alive_tasks(), 0);
        let (tx, rx) = oneshot::channel::<()>();
        let waiting = genrt::spawn(async move { rx.await.is_err() });
        assert_eq!(metrics.num_alive_tasks(), 1);
        drop(tx);
        assert!(waiting.await.unwrap());

        let n = metrics.global_queue_depth();
        assert_eq!(
            n, 0,
            "{n} tasks currently pending in the runtime's global queue"
        );
    }

    watched("metrics_counts", main);
}

/// `RuntimeMetrics::worker_total_busy_duration`, `worker_park_count` and
/// `worker_park_unpark_count` ("An odd count means that the worker is currently parked. An
/// even count means that the worker is currently active."), read on worker 0 from a task
/// running on it; and "panics when `worker` ... is greater than or equal to `num_workers()`".
#[test]
fn metrics_worker_counts() {
    watched("metrics_worker_counts", || {
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let metrics = rt.metrics();
        let before = metrics.worker_total_busy_duration(0);
        let seen = rt.block_on(rt.spawn(async {
            let metrics = Handle::current().metrics();
            assert_eq!(genrt::runtime::worker_index(), Some(0));
            thread::sleep(ms(2));
            (
                metrics.worker_park_unpark_count(0),
                metrics.worker_park_count(0),
            )
        }));
        let (park_unpark, parks) = seen.unwrap();
        assert_eq!(park_unpark % 2, 0, "worker 0 is active: the count is even");
        assert!(park_unpark >= parks);
        drop(rt);
        assert!(metrics.worker_total_busy_duration(0) >= before + ms(2));
        let _quiet = quiet_panics();
        assert!(catch_unwind(AssertUnwindSafe(|| metrics.worker_park_count(1))).is_err());
    });
}

// =============================================================================================
// tokio::task
// =============================================================================================

/// The task module's "Spawning" examples: `task::spawn` of some work; a `JoinHandle` awaited
/// for "hello world!"; a panicking task's handle reports an error.
#[test]
fn task_module_spawning() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() -> Result<(), Box<dyn std::error::Error>> {
        let join = task::spawn(async {
            // ...
            "hello world!"
        });
        // Await the result of the spawned task.
        let result = join.await?;
        assert_eq!(result, "hello world!");

        let join = task::spawn(async { panic!("{INTENTIONAL}: something bad happened!") });
        // The returned result indicates that the task failed.
        assert!(join.await.is_err());
        Ok(())
    }

    let _quiet = quiet_panics();
    watched("task_module_spawning", || main().map_err(|e| e.to_string())).unwrap();
}

/// The task module's "Cancellation" rules: an abort takes effect at the task's next
/// `.await` (its locals are dropped), `is_finished` is false until the cancellation has
/// completed, aborting twice is aborting once, and a task that does not yield between the
/// abort and its end exits normally.
#[test]
fn task_module_cancellation() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let local = support::DropCounter(dropped.clone());
        let sleeper = genrt::spawn(async move {
            let _local = local;
            time::sleep(secs(3600)).await;
        });
        task::yield_now().await; // the task starts and waits at its `.await`
        sleeper.abort();
        sleeper.abort(); // the same as once
        assert!(
            !sleeper.is_finished(),
            "abort only schedules the cancellation"
        );
        let err = sleeper.await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "its locals were dropped");

        // Aborted from inside its own last poll, with no `.await` after: it exits normally.
        let (tx, rx) = std::sync::mpsc::channel::<genrt::AbortHandle>();
        let finisher = genrt::spawn(async move {
            task::yield_now().await;
            rx.recv().unwrap().abort();
            "finished"
        });
        tx.send(finisher.abort_handle()).unwrap();
        assert_eq!(finisher.await.unwrap(), "finished");

        // "If you call `abort` on a `spawn_blocking` task, then this *will not have any
        // effect*" once it runs.
        let (started, starting) = std::sync::mpsc::channel::<()>();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let blocking = task::spawn_blocking(move || {
            started.send(()).unwrap();
            released.recv().unwrap();
            "ran to the end"
        });
        support::recv(&starting, "the blocking closure starts");
        blocking.abort();
        release.send(()).unwrap();
        assert_eq!(blocking.await.unwrap(), "ran to the end");
    }

    watched("task_module_cancellation", main);
}

/// The task module's `spawn_blocking` examples ("blocking completed"), and its
/// `block_in_place` example, on a multi-thread runtime.
#[test]
fn task_module_blocking() {
    #[genrt::main]
    async fn main() -> Result<(), Box<dyn std::error::Error>> {
        task::spawn_blocking(|| {
            // do some compute-heavy work or call synchronous code
        })
        .await?;

        let join = task::spawn_blocking(|| {
            // do some compute-heavy work or call synchronous code
            "blocking completed"
        });
        let result = join.await?;
        assert_eq!(result, "blocking completed");

        let result = genrt::spawn(async {
            task::block_in_place(|| {
                // do some compute-heavy work or call synchronous code
                "blocking completed"
            })
        })
        .await?;
        assert_eq!(result, "blocking completed");
        Ok(())
    }

    watched("task_module_blocking", || main().map_err(|e| e.to_string())).unwrap();
}

/// The task module's `yield_now` example on a current-thread runtime: "Yield, allowing the
/// newly-spawned task to execute first." ("spawned task done!" before "main task done!").
#[test]
fn task_module_yield_now() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() -> Vec<&'static str> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let spawned_log = log.clone();
        async {
            task::spawn(async move {
                // ...
                spawned_log.lock().unwrap().push("spawned task done!");
            });

            // Yield, allowing the newly-spawned task to execute first.
            task::yield_now().await;
            log.lock().unwrap().push("main task done!");
        }
        .await;
        let log = log.lock().unwrap().clone();
        log
    }

    assert_eq!(
        watched("task_module_yield_now", main),
        ["spawned task done!", "main task done!"]
    );
}

/// `spawn`'s "Using `!Send` values from a task": an `Rc` kept in a scope with no `.await`
/// leaves the task `Send`.
#[test]
fn spawn_with_rc_between_awaits() {
    fn use_rc(rc: Rc<()>) {
        // Do stuff w/ rc
        assert_eq!(Rc::strong_count(&rc), 2);
    }

    #[genrt::main]
    async fn main() {
        genrt::spawn(async {
            // Force the `Rc` to stay in a scope with no `.await`
            {
                let rc = Rc::new(());
                use_rc(rc.clone());
            }

            task::yield_now().await;
        })
        .await
        .unwrap();
    }

    watched("spawn_with_rc_between_awaits", main);
}

/// `JoinHandle`'s creation examples (from `spawn` and `spawn_blocking`, typed `i32` and
/// `()`), `join_handle.await??`, and the panicking task's `JoinError::is_panic`.
#[test]
fn join_handle_examples() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() -> std::io::Result<()> {
        let join_handle: task::JoinHandle<_> = task::spawn(async {
            // some work here
        });
        join_handle.await?;
        let join_handle: task::JoinHandle<_> = task::spawn_blocking(|| {
            // some blocking work here
        });
        join_handle.await?;
        let join_handle: task::JoinHandle<i32> = task::spawn(async { 5 + 3 });
        assert_eq!(join_handle.await?, 8);
        let join_handle: task::JoinHandle<()> = task::spawn(async {
            let _ = "I return nothing.";
        });
        join_handle.await?;

        let join_handle: task::JoinHandle<Result<i32, std::io::Error>> =
            genrt::spawn(async { Ok(5 + 3) });
        let result = join_handle.await??;
        assert_eq!(result, 8);

        let join_handle: task::JoinHandle<Result<i32, std::io::Error>> =
            genrt::spawn(async { panic!("{INTENTIONAL}: boom") });
        let err = join_handle.await.unwrap_err();
        assert!(err.is_panic());
        Ok(())
    }

    let _quiet = quiet_panics();
    watched("join_handle_examples", main).unwrap();
}

/// `JoinHandle`'s "Child being detached and outliving its parent": the child's handle is
/// dropped when the parent returns, and it still runs ("♫ Still alive ♫") within the main
/// task's 1000 ms sleep. (On a paused clock: both sleeps are exact and instant.)
#[test]
fn join_handle_detached_child_outlives_parent() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() -> Vec<&'static str> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let child_log = log.clone();
        let original_task = task::spawn(async move {
            let _detached_task = task::spawn(async move {
                // Here we sleep to make sure that the first task returns before.
                time::sleep(ms(10)).await;
                // This will be called, even though the JoinHandle is dropped.
                child_log.lock().unwrap().push("♫ Still alive ♫");
            });
        });

        original_task
            .await
            .expect("The task being joined has panicked");
        log.lock().unwrap().push("Original task is joined.");

        // We make sure that the new task has time to run, before the main
        // task returns.
        time::sleep(ms(1000)).await;
        let log = log.lock().unwrap().clone();
        log
    }

    assert_eq!(
        watched("join_handle_detached_child_outlives_parent", main),
        ["Original task is joined.", "♫ Still alive ♫"]
    );
}

/// `JoinHandle::abort`: both sleeping tasks report cancelled.
#[test]
fn join_handle_abort() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let mut handles = Vec::new();

        handles.push(genrt::spawn(async {
            time::sleep(time::Duration::from_secs(10)).await;
            true
        }));

        handles.push(genrt::spawn(async {
            time::sleep(time::Duration::from_secs(10)).await;
            false
        }));

        for handle in &handles {
            handle.abort();
        }

        for handle in handles {
            assert!(handle.await.unwrap_err().is_cancelled());
        }
    }

    watched("join_handle_abort", main);
}

/// `JoinHandle::is_finished`: one second later the finished task and the aborted one are
/// both finished.
#[test]
fn join_handle_is_finished() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let handle1 = genrt::spawn(async {
            // do some stuff here
        });
        let handle2 = genrt::spawn(async {
            // do some other stuff here
            time::sleep(time::Duration::from_secs(10)).await;
        });
        // Wait for the task to finish
        handle2.abort();
        time::sleep(time::Duration::from_secs(1)).await;
        assert!(handle1.is_finished());
        assert!(handle2.is_finished());
    }

    watched("join_handle_is_finished", main);
}

/// `JoinHandle::abort_handle`: aborting through the abort handles cancels both tasks.
#[test]
fn join_handle_abort_handle() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let mut handles = Vec::new();

        handles.push(genrt::spawn(async {
            time::sleep(time::Duration::from_secs(10)).await;
            true
        }));

        handles.push(genrt::spawn(async {
            time::sleep(time::Duration::from_secs(10)).await;
            false
        }));

        let abort_handles: Vec<task::AbortHandle> =
            handles.iter().map(|h| h.abort_handle()).collect();

        for handle in abort_handles {
            handle.abort();
        }

        for handle in handles {
            assert!(handle.await.unwrap_err().is_cancelled());
        }
    }

    watched("join_handle_abort_handle", main);
}

/// `spawn_blocking`'s "Pass an input value and receive result of computation".
#[test]
fn spawn_blocking_passes_a_value_back() {
    watched("spawn_blocking_passes_a_value_back", || {
        Runtime::new().unwrap().block_on(async {
            // Initial input
            let mut v = "Hello, ".to_string();
            let res = task::spawn_blocking(move || {
                // Stand-in for compute-heavy work or using synchronous APIs
                v.push_str("world");
                // Pass ownership of the value back to the asynchronous context
                v
            })
            .await
            .unwrap();

            // `res` is the value returned from the thread
            assert_eq!(res.as_str(), "Hello, world");
        })
    });
}

/// `spawn_blocking`'s "Use a channel": the closure sends 5..15 through a channel of 2 slots
/// (blocking sends); the task sums them to 95.
#[test]
fn spawn_blocking_with_a_channel() {
    watched("spawn_blocking_with_a_channel", || {
        Runtime::new().unwrap().block_on(async {
            let (mut tx, mut rx) = mpsc::channel(2);
            let start = 5;
            let worker = task::spawn_blocking(move || {
                for x in 0..10 {
                    // Stand in for complex computation
                    futures::executor::block_on(tx.send(start + x)).unwrap();
                }
            });

            let mut acc = 0;
            while let Some(v) = rx.next().await {
                acc += v;
            }
            assert_eq!(acc, 95);
            worker.await.unwrap();
        })
    });
}

/// `block_in_place`'s examples, inside a task of a multi-thread runtime: compute-heavy work,
/// and `Handle::current().block_on` to reenter the async context (a task it spawns runs).
#[test]
fn block_in_place_examples() {
    watched("block_in_place_examples", || {
        let rt = Runtime::new().unwrap();
        let out = rt.block_on(rt.spawn(async {
            task::block_in_place(move || {
                // do some compute-heavy work or call synchronous code
            });
            task::block_in_place(move || {
                Handle::current().block_on(async move {
                    // do something async
                    genrt::spawn(async { 6 * 7 }).await.unwrap()
                })
            })
        }));
        assert_eq!(out.unwrap(), 42);
    });
}

/// `block_in_place`'s "Panics: if called from a current_thread runtime".
#[test]
fn block_in_place_panics_on_a_current_thread_runtime() {
    watched("block_in_place_panics_on_a_current_thread_runtime", || {
        let _quiet = quiet_panics();
        let rt = current_thread();
        let err = rt
            .block_on(rt.spawn(async { task::block_in_place(|| 1) }))
            .unwrap_err();
        assert!(err.is_panic());
    });
}

/// `JoinSet`'s struct example: ten tasks, each output seen once.
#[test]
fn join_set_struct_example() {
    #[genrt::main]
    async fn main() {
        let mut set = JoinSet::new();

        for i in 0..10 {
            set.spawn(async move { i });
        }

        let mut seen = [false; 10];
        while let Some(res) = set.join_next().await {
            let idx = res.unwrap();
            seen[idx] = true;
        }

        for i in 0..10 {
            assert!(seen[i]);
        }
    }

    watched("join_set_struct_example", main);
}

/// `JoinSet`: "When the `JoinSet` is dropped, all tasks in the `JoinSet` are immediately
/// aborted."
#[test]
fn join_set_drop_aborts() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() {
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel::<()>();
        let abort = set.spawn(async move {
            let _tx = tx;
            std::future::pending::<()>().await
        });
        task::yield_now().await;
        drop(set);
        assert!(rx.await.is_err(), "the task's future was dropped");
        assert!(abort.is_finished());
    }

    watched("join_set_drop_aborts", main);
}

/// `JoinSet::spawn_blocking`: ten blocking closures, each output seen once.
#[test]
fn join_set_spawn_blocking() {
    #[genrt::main]
    async fn main() {
        let mut set = JoinSet::new();

        for i in 0..10 {
            set.spawn_blocking(move || i);
        }

        let mut seen = [false; 10];
        while let Some(res) = set.join_next().await {
            let idx = res.unwrap();
            seen[idx] = true;
        }

        for i in 0..10 {
            assert!(seen[i]);
        }
    }

    watched("join_set_spawn_blocking", main);
}

/// `JoinSet::join_all`: outputs in completion order (the task sleeping least first), here
/// on a paused clock, 3 s in all.
#[test]
fn join_set_join_all() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let start = Instant::now();
        let mut set = JoinSet::new();

        for i in 0..3 {
            set.spawn(async move {
                time::sleep(Duration::from_secs(3 - i)).await;
                i
            });
        }

        let output = set.join_all().await;
        assert_eq!(output, vec![2, 1, 0]);
        assert_elapsed(start, secs(3));
    }

    watched("join_set_join_all", main);
}

/// `JoinSet::join_all`'s "equivalent implementation ... using `join_next` and loop".
#[test]
fn join_set_join_all_by_hand() {
    #[genrt::main]
    async fn main() {
        let mut set = JoinSet::new();

        for i in 0..3 {
            set.spawn(async move { i });
        }

        let mut output = Vec::new();
        while let Some(res) = set.join_next().await {
            match res {
                Ok(t) => output.push(t),
                Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                Err(err) => panic!("{err}"),
            }
        }
        assert_eq!(output.len(), 3);
    }

    watched("join_set_join_all_by_hand", main);
}

/// `JoinSet::join_all`: "If any tasks on the `JoinSet` fail with an `JoinError`, then this
/// call to `join_all` will panic and all remaining tasks on the `JoinSet` are cancelled."
/// (The task's own panic payload is resumed.)
#[test]
fn join_set_join_all_panics_with_the_task_panic() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() -> (String, bool) {
        let dropped = Arc::new(AtomicUsize::new(0));
        let counter = support::DropCounter(dropped.clone());
        let mut set = JoinSet::new();
        set.spawn(async move {
            let _counter = counter;
            std::future::pending::<()>().await
        });
        set.spawn(async { panic!("{INTENTIONAL}: a task failed") });
        let payload = AssertUnwindSafe(set.join_all())
            .catch_unwind()
            .await
            .unwrap_err();
        task::yield_now().await;
        let message = panic_message(&*payload).unwrap_or_default().to_owned();
        (message, dropped.load(Ordering::SeqCst) == 1)
    }

    let _quiet = quiet_panics();
    let (message, cancelled) = watched("join_set_join_all_panics_with_the_task_panic", main);
    assert_eq!(message, format!("{INTENTIONAL}: a task failed"));
    assert!(cancelled, "the remaining task was cancelled");
}

/// `FromIterator for JoinSet`: the struct example written with `collect`.
#[test]
fn join_set_collect() {
    #[genrt::main]
    async fn main() {
        let mut set: JoinSet<_> = (0..10).map(|i| async move { i }).collect();

        let mut seen = [false; 10];
        while let Some(res) = set.join_next().await {
            let idx = res.unwrap();
            seen[idx] = true;
        }

        for i in 0..10 {
            assert!(seen[i]);
        }
    }

    watched("join_set_collect", main);
}

/// `LocalSet`'s "Use with `run_until`" (and `spawn_local`'s example): an `Rc` used by a
/// local task, run on the thread of `main`'s `block_on`.
#[test]
fn local_set_run_until_with_rc() {
    #[genrt::main]
    async fn main() -> String {
        let nonsend_data = Rc::new("my nonsend data...");
        let main_thread = thread::current().id();

        // Construct a local task set that can run `!Send` futures.
        let local = task::LocalSet::new();

        // Run the local task set.
        local
            .run_until(async move {
                let nonsend_data = nonsend_data.clone();
                // `spawn_local` ensures that the future is spawned on the local
                // task set.
                task::spawn_local(async move {
                    assert_eq!(thread::current().id(), main_thread);
                    format!("{}", nonsend_data)
                })
                .await
                .unwrap()
            })
            .await
    }

    assert_eq!(
        watched("local_set_run_until_with_rc", main),
        "my nonsend data..."
    );
}

/// `LocalSet`'s "Awaiting a `LocalSet`": the set completes when both tasks have, "hello
/// world" first and "goodbye world" at least 100 ms later.
#[test]
fn local_set_awaited() {
    #[genrt::main]
    async fn main() -> Vec<String> {
        let start = Instant::now();
        let log = Rc::new(RefCell::new(Vec::new()));
        let nonsend_data = Rc::new("world");
        let local = task::LocalSet::new();

        let nonsend_data2 = nonsend_data.clone();
        let hello_log = log.clone();
        local.spawn_local(async move {
            // ...
            hello_log
                .borrow_mut()
                .push(format!("hello {}", nonsend_data2))
        });

        let goodbye_log = log.clone();
        local.spawn_local(async move {
            time::sleep(time::Duration::from_millis(100)).await;
            goodbye_log
                .borrow_mut()
                .push(format!("goodbye {}", nonsend_data))
        });

        // ...

        local.await;
        assert!(start.elapsed() >= ms(100));
        let log = log.borrow().clone();
        log
    }

    assert_eq!(
        watched("local_set_awaited", main),
        ["hello world", "goodbye world"]
    );
}

/// `LocalSet`'s "Use inside `tokio::spawn`": a `LocalSpawner` whose set runs on a thread of
/// its own, in `block_on` of a current-thread runtime, fed by a channel; `AddOne(10)` answers
/// 11, and the thread returns once every spawner is dropped and its tasks are done.
#[test]
fn local_set_spawner_on_a_thread() {
    // This struct describes the task you want to spawn. Here we include
    // some simple examples. The oneshot channel allows sending a response
    // to the spawner.
    #[derive(Debug)]
    enum Task {
        PrintNumber(u32),
        AddOne(u32, oneshot::Sender<u32>),
    }

    #[derive(Clone)]
    struct LocalSpawner {
        send: mpsc::UnboundedSender<Task>,
    }

    impl LocalSpawner {
        pub fn new(printed: Arc<Mutex<Vec<u32>>>) -> (Self, thread::JoinHandle<()>) {
            let (send, mut recv) = mpsc::unbounded();

            let rt = Builder::new_current_thread().enable_all().build().unwrap();

            let thread = std::thread::spawn(move || {
                let local = LocalSet::new();

                local.spawn_local(async move {
                    while let Some(new_task) = recv.next().await {
                        task::spawn_local(run_task(new_task, printed.clone()));
                    }
                    // If the while loop returns, then all the LocalSpawner
                    // objects have been dropped.
                });

                // This will return once all senders are dropped and all
                // spawned tasks have returned.
                rt.block_on(local);
            });

            (Self { send }, thread)
        }

        pub fn spawn(&self, task: Task) {
            self.send
                .unbounded_send(task)
                .expect("Thread with LocalSet has shut down.");
        }
    }

    // This task may do !Send stuff. We use printing a number as an example,
    // but it could be anything.
    //
    // The Task struct is an enum to support spawning many different kinds
    // of operations.
    async fn run_task(task: Task, printed: Arc<Mutex<Vec<u32>>>) {
        let not_send = Rc::new(());
        match task {
            Task::PrintNumber(n) => {
                printed.lock().unwrap().push(n);
            }
            Task::AddOne(n, response) => {
                // We ignore failures to send the response.
                let _ = response.send(n + 1);
            }
        }
        drop(not_send);
    }

    #[genrt::main]
    async fn main() -> Vec<u32> {
        let printed = Arc::new(Mutex::new(Vec::new()));
        let (spawner, thread) = LocalSpawner::new(printed.clone());

        spawner.spawn(Task::PrintNumber(7));
        let (send, response) = oneshot::channel();
        spawner.spawn(Task::AddOne(10, send));
        let eleven = response.await.unwrap();
        assert_eq!(eleven, 11);

        drop(spawner);
        task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();
        let printed = printed.lock().unwrap().clone();
        printed
    }

    assert_eq!(watched("local_set_spawner_on_a_thread", main), [7]);
}

/// `LocalSet::spawn_local` (the method): a task spawned before `run_until` runs in it, one
/// spawned after runs in the next `run_until`; nothing runs while the set is not driven.
#[test]
fn local_set_spawn_local_method() {
    #[genrt::main]
    async fn main() {
        let local = task::LocalSet::new();
        let ran = Rc::new(Cell::new(0));

        // Spawn a future on the local set. This future will be run when
        // we call `run_until` to drive the task set.
        let first = ran.clone();
        local.spawn_local(async move {
            first.set(first.get() + 1);
        });
        task::yield_now().await;
        assert_eq!(ran.get(), 0, "not driven yet");

        // Run the local task set.
        local
            .run_until(async move {
                task::yield_now().await;
            })
            .await;
        assert_eq!(ran.get(), 1);

        // When `run` finishes, we can spawn _more_ futures, which will
        // run in subsequent calls to `run_until`.
        let second = ran.clone();
        local.spawn_local(async move {
            second.set(second.get() + 10);
        });

        local
            .run_until(async move {
                task::yield_now().await;
            })
            .await;
        assert_eq!(ran.get(), 11);
    }

    watched("local_set_spawn_local_method", main);
}

/// `LocalSet::run_until`'s example, on a fresh set.
#[test]
fn local_set_run_until() {
    #[genrt::main]
    async fn main() -> u32 {
        task::LocalSet::new()
            .run_until(async {
                let v = task::spawn_local(async move { Rc::new(4) }).await.unwrap();
                // ...
                *v
            })
            .await
    }

    assert_eq!(watched("local_set_run_until", main), 4);
}

/// `LocalSet::block_on`'s notes: `block_in_place` in a local task panics (so the example's
/// `join.await.unwrap()` panics with the task's panic); `spawn_blocking` does not.
#[test]
fn local_set_block_on_and_blocking() {
    watched("local_set_block_on_and_blocking", || {
        let _quiet = quiet_panics();
        let rt = Runtime::new().unwrap();
        let local = task::LocalSet::new();
        let err = local.block_on(&rt, async {
            let join = task::spawn_local(async {
                task::block_in_place(|| {
                    // ...
                });
                // ...
            });
            join.await.unwrap_err()
        });
        assert!(err.is_panic(), "block_in_place panicked in the local task");

        let result = local.block_on(&rt, async {
            let join = task::spawn_local(async {
                task::spawn_blocking(|| {
                    // ...
                    "blocking"
                })
                .await
                .unwrap()
            });
            join.await.unwrap()
        });
        assert_eq!(result, "blocking");
    });
}

/// `LocalSet::id` ("Local set id: {}"): a set has an id no other set or runtime has.
#[test]
fn local_set_id() {
    #[genrt::main]
    async fn main() {
        let local_set = task::LocalSet::new();
        let other = task::LocalSet::new();
        let shown = format!("Local set id: {}", local_set.id());
        assert!(shown.len() > "Local set id: ".len());
        assert_ne!(local_set.id(), other.id());
        assert_ne!(local_set.id(), Handle::current().id());
    }

    watched("local_set_id", main);
}

/// `spawn_local`'s "Panics: This function panics if called outside of a `LocalSet`."
#[test]
fn spawn_local_outside_a_local_set_panics() {
    watched("spawn_local_outside_a_local_set_panics", || {
        let _quiet = quiet_panics();
        let rt = current_thread();
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async {
                drop(task::spawn_local(async {}));
            })
        }));
        assert!(panicked.is_err());
    });
}

/// `task_local!`'s example: several keys in one macro, with their visibility and attributes.
mod task_local_syntax {
    genrt::task_local! {
        pub static ONE: u32;

        #[allow(unused)]
        static TWO: f32;
    }
}

/// `task_local!`: the declared keys are `LocalKey`s usable in a scope.
#[test]
fn task_local_macro() {
    watched("task_local_macro", || {
        current_thread().block_on(async {
            let one = task_local_syntax::ONE.scope(1, async { task_local_syntax::ONE.get() });
            assert_eq!(one.await, 1);
        })
    });
}

genrt::task_local! {
    static NUMBER: u32;
}

/// `LocalKey`'s struct example: nested scopes each see their own value.
#[test]
fn local_key_struct_example() {
    watched("local_key_struct_example", || {
        current_thread().block_on(async {
            NUMBER
                .scope(1, async move {
                    assert_eq!(NUMBER.get(), 1);
                })
                .await;

            NUMBER
                .scope(2, async move {
                    assert_eq!(NUMBER.get(), 2);

                    NUMBER
                        .scope(3, async move {
                            assert_eq!(NUMBER.get(), 3);
                        })
                        .await;
                    assert_eq!(NUMBER.get(), 2);
                })
                .await;
        })
    });
}

/// `LocalKey::scope`, `LocalKey::sync_scope` and `TaskLocalFuture`'s example ("task local
/// value: 1"); and the value is gone after the scope.
#[test]
fn local_key_scope_and_sync_scope() {
    watched("local_key_scope_and_sync_scope", || {
        current_thread().block_on(async {
            let value = NUMBER
                .scope(
                    1,
                    async move { format!("task local value: {}", NUMBER.get()) },
                )
                .await;
            assert_eq!(value, "task local value: 1");

            let value = NUMBER.sync_scope(1, || format!("task local value: {}", NUMBER.get()));
            assert_eq!(value, "task local value: 1");
            assert!(
                NUMBER.try_with(|_| ()).is_err(),
                "no value after the scopes"
            );
        })
    });
}

/// `LocalKey::with` ("will panic if the task local doesn't have a value set") and
/// `LocalKey::try_with` ("will return an `AccessError`"), outside any scope; both see the
/// value inside one.
#[test]
fn local_key_with_and_try_with() {
    watched("local_key_with_and_try_with", || {
        let _quiet = quiet_panics();
        assert!(NUMBER.try_with(|n| *n).is_err());
        assert!(catch_unwind(|| NUMBER.with(|n| *n)).is_err());
        assert!(catch_unwind(|| NUMBER.get()).is_err());
        NUMBER.sync_scope(5, || {
            assert_eq!(NUMBER.with(|n| *n), 5);
            assert_eq!(NUMBER.try_with(|n| *n + 1), Ok(6));
        });
    });
}

/// `TaskLocalFuture::take_value`: after the future completed, the value it held comes back.
#[test]
fn task_local_future_take_value() {
    genrt::task_local! {
        static KEY: u32;
    }

    watched("task_local_future_take_value", || {
        current_thread().block_on(async {
            let fut = KEY.scope(42, async {
                // Do some async work
                KEY.get()
            });

            let mut pinned = Box::pin(fut);

            // Complete the TaskLocalFuture
            assert_eq!(pinned.as_mut().await, 42);

            // And here, we can take task local value
            let value = pinned.as_mut().take_value();

            assert_eq!(value, Some(42));
            assert_eq!(pinned.as_mut().take_value(), None);
        })
    });
}

/// Whether a task spawned before `f` runs while `f`'s future runs, on a current-thread
/// runtime: there it can only run when that future yields to the runtime.
fn sibling_ran_during<F: Future<Output = ()>>(f: impl FnOnce(Arc<AtomicBool>) -> F) -> bool {
    let rt = current_thread();
    rt.block_on(async {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        genrt::spawn(async move { flag.store(true, Ordering::SeqCst) });
        f(ran.clone()).await;
        ran.load(Ordering::SeqCst)
    })
}

/// The `coop` module's `unconstrained` example: 1,000 receives that are always ready. With
/// the budget in effect (the receive made cooperative with `coop::cooperative`, as Tokio's
/// `mpsc::Receiver::recv` is) the code "would be forced to yield periodically"; left
/// unconstrained, it "will never yield".
#[test]
fn coop_unconstrained() {
    async fn receive_1000(sibling: Arc<AtomicBool>, constrained: bool) -> bool {
        let (tx, mut rx) = mpsc::unbounded();
        let mut yielded = false;
        for _ in 0..1000 {
            let _ = tx.unbounded_send(());
            // This will always be ready. If coop was in effect, this code would be forced to
            // yield periodically. However, if left unconstrained, then this code will never
            // yield.
            coop::cooperative(rx.next()).await;
            yielded |= sibling.load(Ordering::SeqCst);
        }
        assert_eq!(yielded, constrained);
        yielded
    }

    watched("coop_unconstrained", || {
        assert!(sibling_ran_during(|sibling| async move {
            receive_1000(sibling, true).await;
        }));
        let ran = sibling_ran_during(|sibling| async move {
            coop::unconstrained(receive_1000(sibling.clone(), false)).await;
            assert!(!sibling.load(Ordering::SeqCst), "it never yielded");
        });
        assert!(!ran);
    });
}

/// `consume_budget`'s `sum_iterator`: a long sum that spends budget yields once the budget
/// is spent (a sibling task runs meanwhile) and still sums right.
#[test]
fn consume_budget_sum_iterator() {
    async fn sum_iterator(input: &mut impl std::iter::Iterator<Item = i64>) -> i64 {
        let mut sum: i64 = 0;
        while let Some(i) = input.next() {
            sum += i;
            task::consume_budget().await
        }
        sum
    }

    watched("consume_budget_sum_iterator", || {
        let ran = sibling_ran_during(|sibling| async move {
            assert!(!sibling.load(Ordering::SeqCst));
            assert_eq!(sum_iterator(&mut (0..1000)).await, 499_500);
        });
        assert!(ran, "the sum yielded to the runtime");
        // The path Tokio names now.
        current_thread().block_on(coop::consume_budget());
    });
}

/// `coop::has_budget_remaining`'s example: a `Timeout` that polls its delay unconstrained
/// when the future it guards spent the budget, so the timeout fires even against a future
/// that always spends all of it. (The example only defines the type; the test uses it.)
#[test]
fn coop_has_budget_remaining_timeout() {
    pub struct Timeout<T> {
        future: T,
        delay: Pin<Box<Sleep>>,
    }

    impl<T> Future for Timeout<T>
    where
        T: Future + Unpin,
    {
        type Output = Result<T::Output, ()>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let this = Pin::into_inner(self);
            let future = Pin::new(&mut this.future);
            let delay = Pin::new(&mut this.delay);

            // check if the future is ready
            let had_budget_before = coop::has_budget_remaining();
            if let Poll::Ready(v) = future.poll(cx) {
                return Poll::Ready(Ok(v));
            }
            let has_budget_now = coop::has_budget_remaining();

            // evaluate the timeout
            if let (true, false) = (had_budget_before, has_budget_now) {
                // it is the underlying future that exhausted the budget
                ready!(pin!(coop::unconstrained(delay)).poll(cx));
            } else {
                ready!(delay.poll(cx));
            }
            Poll::Ready(Err(()))
        }
    }

    /// Spends the whole budget at each poll and never completes.
    struct Hog;

    impl Future for Hog {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            while let Poll::Ready(restore) = coop::poll_proceed(cx) {
                restore.made_progress();
            }
            Poll::Pending
        }
    }

    watched("coop_has_budget_remaining_timeout", || {
        let rt = Runtime::new().unwrap();
        let elapsed = rt.block_on(rt.spawn(async {
            let start = Instant::now();
            let timeout = Timeout {
                future: Hog,
                delay: Box::pin(time::sleep(ms(10))),
            };
            assert_eq!(timeout.await, Err(()));
            start.elapsed()
        }));
        assert!(elapsed.unwrap() >= ms(10));
    });
}

/// `coop::poll_proceed`'s `CountdownLatch`: pending (with its budget unit given back) until
/// counted down to zero, then it releases its value and wakes the waiting task.
#[test]
fn coop_poll_proceed_countdown_latch() {
    struct CountdownLatch<T> {
        counter: usize,
        value: Option<T>,
        waker: Option<Waker>,
    }

    impl<T> CountdownLatch<T> {
        fn new(value: T, count: usize) -> Self {
            CountdownLatch {
                counter: count,
                value: Some(value),
                waker: None,
            }
        }
        fn count_down(&mut self) {
            // Tokio's `self.counter <= 0` (always `== 0` for a `usize`).
            if self.counter == 0 {
                return;
            }

            self.counter -= 1;
            if self.counter == 0 {
                if let Some(w) = self.waker.take() {
                    w.wake();
                }
            }
        }
    }

    impl<T> Future for CountdownLatch<T> {
        type Output = T;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            // `poll_proceed` checks with the runtime if this task is still allowed to proceed
            // with performing work.
            // If not, `Pending` is returned and `ready!` ensures this function returns.
            // If we are allowed to proceed, coop now represents the budget consumption
            let coop = ready!(coop::poll_proceed(cx));

            // Get a mutable reference to the CountdownLatch
            let this = Pin::get_mut(self);

            // Next we check if the latch is ready to release its value
            if this.counter == 0 {
                let t = this.value.take();
                // The latch made progress so call `made_progress` to ensure the budget
                // is not reverted.
                coop.made_progress();
                Poll::Ready(t.unwrap())
            } else {
                // If the latch is not ready so return pending and simply drop `coop`.
                // This will restore the budget making it available again to perform any
                // other work.
                this.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    impl<T> Unpin for CountdownLatch<T> {}

    watched("coop_poll_proceed_countdown_latch", || {
        let rt = Runtime::new().unwrap();
        let out = rt.block_on(rt.spawn(async {
            let mut latch = CountdownLatch::new("released", 2);
            for _ in 0..1000 {
                // Pending polls give their unit back: the budget never runs out.
                assert!(poll_once(&mut latch).await.is_pending());
                assert!(coop::has_budget_remaining());
            }
            latch.count_down();
            assert!(poll_once(&mut latch).await.is_pending());
            latch.count_down();
            latch.await
        }));
        assert_eq!(out.unwrap(), "released");
    });
}

/// `coop::cooperative`'s `receive_next`: a futures channel's receive made to spend budget;
/// the values arrive in order.
#[test]
fn coop_cooperative_receive_next() {
    async fn receive_next<T>(receiver: &mut mpsc::Receiver<T>) -> Option<T> {
        // Use `StreamExt::next` to obtain a `Future` that resolves to the next value
        let recv_future = receiver.next();
        // Wrap it a cooperative wrapper
        let coop_future = coop::cooperative(recv_future);
        // And await
        coop_future.await
    }

    watched("coop_cooperative_receive_next", || {
        current_thread().block_on(async {
            let (mut tx, mut rx) = mpsc::channel(4);
            tx.send(1).await.unwrap();
            tx.send(2).await.unwrap();
            drop(tx);
            assert_eq!(receive_next(&mut rx).await, Some(1));
            assert_eq!(receive_next(&mut rx).await, Some(2));
            assert_eq!(receive_next(&mut rx).await, None);
        })
    });
}

// =============================================================================================
// tokio::time
// =============================================================================================

/// The time module's examples: "100 ms have elapsed" after a sleep; a `timeout` of a future
/// that completes in time is `Ok`.
#[test]
fn time_module_examples() {
    async fn long_future() {
        // do work here
    }

    #[genrt::main]
    async fn main() {
        let start = Instant::now();
        time::sleep(Duration::from_millis(100)).await;
        assert!(start.elapsed() >= ms(100), "100 ms have elapsed");

        let res = time::timeout(Duration::from_secs(1), long_future()).await;
        assert!(res.is_ok(), "operation timed out");
    }

    watched("time_module_examples", main);
}

/// `interval`'s (and the time module's) "execute a task every two seconds": ticks at 0, 2, 4,
/// 6 and 8 s, each followed by a one-second task, so 9 s in all, where a `sleep` of 2 s in
/// place of the tick would take 15 s. (On a paused clock: exact.)
#[test]
fn interval_every_two_seconds() {
    async fn task_that_takes_a_second() {
        time::sleep(time::Duration::from_secs(1)).await
    }

    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let start = Instant::now();
        let mut interval = time::interval(time::Duration::from_secs(2));
        let mut ticks = Vec::new();
        for _i in 0..5 {
            ticks.push(interval.tick().await - start);
            task_that_takes_a_second().await;
        }
        assert_eq!(ticks, [secs(0), secs(2), secs(4), secs(6), secs(8)]);
        assert_elapsed(start, secs(9));

        let start = Instant::now();
        for _i in 0..5 {
            time::sleep(secs(2)).await;
            task_that_takes_a_second().await;
        }
        assert_elapsed(start, secs(15));
    }

    watched("interval_every_two_seconds", main);
}

/// `sleep_until` ("100 ms have elapsed"), on a real clock.
#[test]
fn sleep_until_example() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() {
        let start = Instant::now();
        time::sleep_until(Instant::now() + Duration::from_millis(100)).await;
        assert!(start.elapsed() >= ms(100));
    }

    watched("sleep_until_example", main);
}

/// `sleep` and `Sleep`'s first example ("100 ms have elapsed"), on a real clock.
#[test]
fn sleep_example() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() {
        let start = Instant::now();
        time::sleep(Duration::from_millis(100)).await;
        assert!(start.elapsed() >= ms(100));
    }

    watched("sleep_example", main);
}

/// `sleep`'s and `timeout`'s "Panics": Tokio's `rt.block_on(sleep(...))` panics (the sleep
/// is made outside the runtime) where `rt.block_on(async { sleep(...).await })` does not. In
/// genrt both work: a sleep made outside any runtime "belongs to the runtime that first
/// polls it" (documented on `genrt::time::sleep`); it panics only when polled outside a
/// runtime.
#[test]
fn sleep_made_outside_a_runtime() {
    watched("sleep_made_outside_a_runtime", || {
        let _quiet = quiet_panics();
        let rt = current_thread();
        let start = Instant::now();
        rt.block_on(async { time::sleep(ms(5)).await });
        rt.block_on(time::sleep(ms(5)));
        assert!(rt
            .block_on(time::timeout(ms(5), std::future::pending::<()>()))
            .is_err());
        assert!(start.elapsed() >= ms(15));
        let outside = catch_unwind(|| futures::executor::block_on(time::sleep(ms(1))));
        assert!(outside.is_err(), "polled outside any runtime");
    });
}

/// `interval`'s and `interval_at`'s "Panics: This function panics if `period` is zero."
#[test]
fn interval_zero_period_panics() {
    watched("interval_zero_period_panics", || {
        let _quiet = quiet_panics();
        current_paused().block_on(async {
            assert!(catch_unwind(|| time::interval(Duration::ZERO)).is_err());
            let start = Instant::now();
            assert!(catch_unwind(|| time::interval_at(start, Duration::ZERO)).is_err());
        })
    });
}

/// `Sleep`'s "Use with `select!`" (`no_run`: it loops for ever): a pinned sleep selected on
/// repeatedly, reset 50 ms ahead each time it fires; here three rounds on a paused clock, at
/// 10, 60 and 110 ms.
#[test]
fn sleep_in_select_with_reset() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let start = Instant::now();
        let sleep = time::sleep(Duration::from_millis(10));
        genrt::pin!(sleep);

        let mut fired = Vec::new();
        while fired.len() < 3 {
            genrt::select! {
                () = &mut sleep => {
                    fired.push(Instant::now() - start);
                    sleep.as_mut().reset(Instant::now() + Duration::from_millis(50));
                },
            }
        }
        assert_eq!(fired, [ms(10), ms(60), ms(110)]);
    }

    watched("sleep_in_select_with_reset", main);
}

/// `Sleep`'s "Use in a struct with boxing": `HasSleep` is `Unpin` and completes when its
/// sleep does.
#[test]
fn sleep_in_a_struct_with_boxing() {
    struct HasSleep {
        sleep: Pin<Box<Sleep>>,
    }

    impl Future for HasSleep {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.sleep.as_mut().poll(cx)
        }
    }

    fn assert_unpin<T: Unpin>(_: &T) {}

    watched("sleep_in_a_struct_with_boxing", || {
        current_paused().block_on(async {
            let start = Instant::now();
            let mut has_sleep = HasSleep {
                sleep: Box::pin(time::sleep(ms(25))),
            };
            assert_unpin(&has_sleep);
            assert!(poll_once(&mut has_sleep).await.is_pending());
            has_sleep.await;
            assert_elapsed(start, ms(25));
        })
    });
}

/// `Sleep::reset`: reset from 10 ms to 20 ms ahead, the sleep completes at the new deadline;
/// `deadline` and `is_elapsed` follow.
#[test]
fn sleep_reset_deadline_is_elapsed() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let start = Instant::now();
        let sleep = time::sleep(Duration::from_millis(10));
        genrt::pin!(sleep);
        assert_eq!(sleep.deadline(), start + ms(10));

        sleep
            .as_mut()
            .reset(Instant::now() + Duration::from_millis(20));
        assert_eq!(sleep.deadline(), start + ms(20));
        assert!(!sleep.is_elapsed());
        (&mut sleep).await;
        assert!(sleep.is_elapsed());
        assert_elapsed(start, ms(20));

        // "This function can be called both before and after the future has completed."
        sleep.as_mut().reset(Instant::now() + ms(5));
        assert!(!sleep.is_elapsed());
        sleep.await;
        assert_elapsed(start, ms(25));
    }

    watched("sleep_reset_deadline_is_elapsed", main);
}

/// `interval`'s first example and `Interval::tick`'s: the first tick is immediate, the next
/// two 10 ms apart: 20 ms in all.
#[test]
fn interval_three_ticks() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let start = Instant::now();
        let mut interval = time::interval(Duration::from_millis(10));

        interval.tick().await; // ticks immediately
        assert_elapsed(start, ms(0));
        interval.tick().await; // ticks after 10ms
        interval.tick().await; // ticks after 10ms

        // approximately 20ms have elapsed.
        assert_elapsed(start, ms(20));
    }

    watched("interval_three_ticks", main);
}

/// `interval`'s first example on a real clock: at least 20 ms.
#[test]
fn interval_three_ticks_real_clock() {
    #[genrt::main]
    async fn main() {
        let start = Instant::now();
        let mut interval = time::interval(Duration::from_millis(10));
        interval.tick().await;
        interval.tick().await;
        interval.tick().await;
        assert!(start.elapsed() >= ms(20));
    }

    watched("interval_three_ticks_real_clock", main);
}

/// `interval_at`: first tick at 50 ms, then 10 ms apart: 70 ms.
#[test]
fn interval_at_example() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let t0 = Instant::now();
        let start = Instant::now() + Duration::from_millis(50);
        let mut interval = time::interval_at(start, Duration::from_millis(10));

        assert_eq!(interval.tick().await, start); // ticks after 50ms
        interval.tick().await; // ticks after 10ms
        interval.tick().await; // ticks after 10ms

        // approximately 70ms have elapsed.
        assert_elapsed(t0, ms(70));
    }

    watched("interval_at_example", main);
}

/// `MissedTickBehavior`'s first example: a 2 ms interval whose work takes 1 to 3 ms. Misses
/// of up to 5 ms are not handled ("these strategies will only apply when the delay is greater
/// than 5 milliseconds"), so every tick is still a multiple of 2 ms from the start.
#[test]
fn missed_tick_small_delays() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let start = Instant::now();
        // ticks every 2 milliseconds
        let mut interval = time::interval(Duration::from_millis(2));
        let mut ticks = Vec::new();
        for i in 0..5 {
            ticks.push(interval.tick().await - start);
            // if this takes more than 2 milliseconds, a tick will be delayed
            time::sleep(ms(1 + i % 3)).await;
        }
        assert_eq!(ticks, [ms(0), ms(2), ms(4), ms(6), ms(8)]);
    }

    watched("missed_tick_small_delays", main);
}

/// `MissedTickBehavior::Burst`: after 200 ms of work on a 50 ms interval, the next four ticks
/// resolve at once (with their scheduled instants 50 to 200 ms), the one after at 250 ms.
#[test]
fn missed_tick_burst() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let start = Instant::now();
        let mut interval = time::interval(Duration::from_millis(50));
        assert_eq!(interval.missed_tick_behavior(), MissedTickBehavior::Burst);

        // First tick resolves immediately after creation
        interval.tick().await;

        time::sleep(ms(200)).await; // task_that_takes_200_millis
                                    // The `Interval` has missed a tick

        for scheduled in [50, 100, 150, 200] {
            // Each resolves immediately: it was supposed to resolve `scheduled` ms after the
            // start of `interval`.
            assert_eq!(interval.tick().await - start, ms(scheduled));
            assert_elapsed(start, ms(200));
        }

        // Since we have gotten to 200ms after the start of `interval`, this
        // will resolve after 50ms
        assert_eq!(interval.tick().await - start, ms(250));
        assert_elapsed(start, ms(250));
    }

    watched("missed_tick_burst", main);
}

/// `MissedTickBehavior::Delay`: after more than 50 ms of work (60 here), the missed tick
/// resolves at once, and the next one 50 ms after that call, not on the original grid.
#[test]
fn missed_tick_delay() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let start = Instant::now();
        let mut interval = time::interval(Duration::from_millis(50));
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);

        time::sleep(ms(60)).await; // task_that_takes_more_than_50_millis
                                   // The `Interval` has missed a tick

        // Since we have exceeded our timeout, this will resolve immediately
        assert_eq!(interval.tick().await, start);
        assert_elapsed(start, ms(60));

        // But this one, rather than also resolving immediately, as might happen
        // with the `Burst` or `Skip` behaviors, will not resolve until
        // 50ms after the call to `tick` up above.
        interval.tick().await;
        assert_elapsed(start, ms(110));
    }

    watched("missed_tick_delay", main);
}

/// `MissedTickBehavior::Skip`: after 75 ms of work, the missed tick resolves at once, and the
/// next one at 100 ms, the next multiple of the period from the start.
#[test]
fn missed_tick_skip() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let start = Instant::now();
        let mut interval = time::interval(Duration::from_millis(50));
        interval.set_missed_tick_behavior(MissedTickBehavior::Skip);

        time::sleep(ms(75)).await; // task_that_takes_75_millis
                                   // The `Interval` has missed a tick

        // Since we have exceeded our timeout, this will resolve immediately
        interval.tick().await;
        assert_elapsed(start, ms(75));

        // This one will resolve after 25ms, 100ms after the start of
        // `interval`, which is the closest multiple of `period` from the start
        // of `interval` after the call to `tick` up above.
        assert_eq!(interval.tick().await - start, ms(100));
        assert_elapsed(start, ms(100));
    }

    watched("missed_tick_skip", main);
}

/// `MissedTickBehavior`'s `Default`: `Burst`; and `Interval::period`.
#[test]
fn missed_tick_default_and_period() {
    watched("missed_tick_default_and_period", || {
        assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Burst);
        current_paused().block_on(async {
            let mut interval = time::interval(ms(7));
            assert_eq!(interval.period(), ms(7));
            interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
            assert_eq!(interval.missed_tick_behavior(), MissedTickBehavior::Skip);
        })
    });
}

/// `Interval::reset`: 250 ms in all; `reset_immediately`: 150 ms; `reset_after(20 ms)`: 170
/// ms; `reset_at(now + 30 ms)`: 180 ms.
#[test]
fn interval_resets() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        for (reset, total) in [(0, 250), (1, 150), (2, 170), (3, 180)] {
            let start = Instant::now();
            let mut interval = time::interval(Duration::from_millis(100));

            interval.tick().await;

            time::sleep(Duration::from_millis(50)).await;
            match reset {
                0 => interval.reset(),
                1 => interval.reset_immediately(),
                2 => interval.reset_after(Duration::from_millis(20)),
                _ => interval.reset_at(Instant::now() + Duration::from_millis(30)),
            }

            interval.tick().await;
            interval.tick().await;

            assert_elapsed(start, ms(total));
        }
    }

    watched("interval_resets", main);
}

/// `timeout`'s example: a receive whose value was sent is `Ok`; one whose value never comes
/// is "did not receive value within 10 ms" (at least 10 ms later, real clock).
#[test]
fn timeout_example() {
    watched("timeout_example", || {
        current_thread().block_on(async {
            let (tx, rx) = oneshot::channel();
            tx.send(()).unwrap();
            // Wrap the future with a `Timeout` set to expire in 10 milliseconds.
            assert_eq!(
                time::timeout(Duration::from_millis(10), rx).await,
                Ok(Ok(()))
            );

            let (_tx, rx) = oneshot::channel::<()>();
            let start = Instant::now();
            if let Err(_) = time::timeout(Duration::from_millis(10), rx).await {
                assert!(
                    start.elapsed() >= ms(10),
                    "did not receive value within 10 ms"
                );
            } else {
                panic!("nothing was sent");
            }
        })
    });
}

/// `timeout`'s "Cancelation": "The original future may be obtained by calling
/// `Timeout::into_inner`"; `get_ref`/`get_mut` reach it in place.
#[test]
fn timeout_into_inner() {
    watched("timeout_into_inner", || {
        current_thread().block_on(async {
            let (tx, rx) = oneshot::channel::<u8>();
            let mut timeout = time::timeout(secs(3600), rx);
            assert!(poll_once(&mut timeout).await.is_pending());
            let _: &oneshot::Receiver<u8> = timeout.get_ref();
            timeout.get_mut().close();
            let rx = timeout.into_inner();
            assert!(tx.send(1).is_err(), "the receiver taken out was closed");
            drop(rx);
        })
    });
}

/// `timeout_at`'s example, as `timeout`'s.
#[test]
fn timeout_at_example() {
    watched("timeout_at_example", || {
        current_thread().block_on(async {
            let (tx, rx) = oneshot::channel();
            tx.send(()).unwrap();
            let deadline = Instant::now() + Duration::from_millis(10);
            assert!(time::timeout_at(deadline, rx).await.is_ok());

            let (_tx, rx) = oneshot::channel::<()>();
            let deadline = Instant::now() + Duration::from_millis(10);
            let res = time::timeout_at(deadline, rx).await;
            assert!(res.is_err(), "did not receive value within 10 ms");
            assert!(Instant::now() >= deadline);
        })
    });
}

/// `Instant::now`, `checked_duration_since` (`Some`, then `None` backwards),
/// `saturating_duration_since` (zero backwards) and `elapsed` (at least the sleep). On a
/// paused clock, so the second-long sleeps are exact and instant.
#[test]
fn instant_examples() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let now = Instant::now();
        time::sleep(Duration::new(1, 0)).await;
        let new_now = Instant::now();
        assert_eq!(new_now.checked_duration_since(now), Some(secs(1)));
        assert_eq!(now.checked_duration_since(new_now), None);
        assert_eq!(new_now.saturating_duration_since(now), secs(1));
        assert_eq!(now.saturating_duration_since(new_now), Duration::ZERO);

        let instant = Instant::now();
        let three_secs = Duration::from_secs(3);
        time::sleep(three_secs).await;
        assert!(instant.elapsed() >= three_secs);
    }

    watched("instant_examples", main);
}

/// `pause`'s example (`#[tokio::main(flavor = "current_thread", start_paused = true)]`) and
/// its "Auto-advance": with nothing to do, the paused clock jumps to the next timer.
#[test]
fn pause_start_paused_main() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() -> &'static str {
        let start = Instant::now();
        thread::sleep(ms(5));
        assert_eq!(start.elapsed(), Duration::ZERO, "the clock is paused");
        time::sleep(secs(60)).await;
        assert_elapsed(start, secs(60));
        "Hello world"
    }

    assert_eq!(watched("pause_start_paused_main", main), "Hello world");
}

/// `pause`, `resume` and `advance`: pausing freezes `Instant::now`; `advance` moves it by
/// exactly its argument; after `resume` real time flows again from where the clock stood.
#[test]
fn pause_advance_resume() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() {
        time::pause();
        let start = Instant::now();
        thread::sleep(ms(5));
        assert_eq!(start.elapsed(), Duration::ZERO);
        time::advance(secs(3)).await;
        assert_eq!(start.elapsed(), secs(3));
        time::resume();
        time::sleep(ms(5)).await;
        assert!(start.elapsed() >= secs(3) + ms(5));
    }

    watched("pause_advance_resume", main);
}

/// The panics `pause`, `resume` and `advance` document: `pause` "if time is already frozen
/// or if called from outside of a `current_thread` Tokio runtime"; `resume` and `advance`
/// "if time is not frozen or if called from outside of the Tokio runtime".
#[test]
fn pause_resume_advance_panics() {
    watched("pause_resume_advance_panics", || {
        let _quiet = quiet_panics();
        assert!(
            catch_unwind(time::pause).is_err(),
            "pause outside a runtime"
        );
        assert!(
            catch_unwind(time::resume).is_err(),
            "resume outside a runtime"
        );
        assert!(
            catch_unwind(|| futures::executor::block_on(time::advance(ms(1)))).is_err(),
            "advance outside a runtime"
        );

        let rt = current_thread();
        rt.block_on(async {
            assert!(
                catch_unwind(time::resume).is_err(),
                "resume of a running clock"
            );
            let advanced = AssertUnwindSafe(time::advance(ms(1))).catch_unwind().await;
            assert!(advanced.is_err(), "advance of a running clock");
            time::pause();
            assert!(
                catch_unwind(time::pause).is_err(),
                "pause of a paused clock"
            );
            time::resume();
        });

        let multi = Runtime::new().unwrap();
        multi.block_on(async {
            assert!(
                catch_unwind(time::pause).is_err(),
                "pause on a multi-thread runtime"
            );
        });
    });
}

// =============================================================================================
// Macros
// =============================================================================================

async fn do_stuff_async() {
    // async work
}

async fn more_async_work() {
    // more here
}

/// `select!`'s "Basic select with two branches": one of the two completes first.
#[test]
fn select_basic() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() -> &'static str {
        genrt::select! {
            _ = do_stuff_async() => {
                "do_stuff_async() completed first"
            }
            _ = more_async_work() => {
                "more_async_work() completed first"
            }
        }
    }

    let first = watched("select_basic", main);
    assert!(first.ends_with("completed first"), "{first}");
}

/// `select!`'s "Basic stream selecting": the first value of one stream or the other.
#[test]
fn select_basic_streams() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() -> i32 {
        let mut stream1 = futures::stream::iter(vec![1, 2, 3]);
        let mut stream2 = futures::stream::iter(vec![4, 5, 6]);

        genrt::select! {
            v = stream1.next() => v.unwrap(),
            v = stream2.next() => v.unwrap(),
        }
    }

    watched("select_basic_streams", || {
        for _ in 0..20 {
            let next = main();
            assert!(next == 1 || next == 4, "{next}");
        }
    });
}

/// `select!`'s "Collect the contents of two streams": `Some(v)` patterns disable each
/// stream once it ends; `else` breaks once both have.
#[test]
fn select_collect_two_streams() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() {
        let mut stream1 = futures::stream::iter(vec![1, 2, 3]);
        let mut stream2 = futures::stream::iter(vec![4, 5, 6]);

        let mut values = vec![];

        loop {
            genrt::select! {
                Some(v) = stream1.next() => values.push(v),
                Some(v) = stream2.next() => values.push(v),
                else => break,
            }
        }

        values.sort();
        assert_eq!(&[1, 2, 3, 4, 5, 6], &values[..]);
    }

    watched("select_collect_two_streams", main);
}

/// `select!`'s "a stream is consumed for at most 1 second": the stream ends first, so every
/// value is seen and the sleep never fires.
#[test]
fn select_stream_for_at_most_a_second() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() -> (Vec<i32>, bool) {
        let mut stream = futures::stream::iter(vec![1, 2, 3]);
        let sleep = time::sleep(Duration::from_secs(1));
        genrt::pin!(sleep);

        let mut got = Vec::new();
        let mut timed_out = false;
        loop {
            genrt::select! {
                maybe_v = stream.next() => {
                    if let Some(v) = maybe_v {
                        got.push(v);
                    } else {
                        break;
                    }
                }
                _ = &mut sleep => {
                    timed_out = true;
                    break;
                }
            }
        }
        (got, timed_out)
    }

    assert_eq!(
        watched("select_stream_for_at_most_a_second", main),
        (vec![1, 2, 3], false)
    );
}

/// `select!`'s "a stream is consumed for at most 1 second", with a stream that never ends:
/// the sleep stops it after a second (paused clock).
#[test]
fn select_stream_stopped_by_the_sleep() {
    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() {
        let start = Instant::now();
        let stream = futures::stream::unfold(0, |n| async move {
            time::sleep(ms(300)).await;
            Some((n, n + 1))
        });
        genrt::pin!(stream);
        let sleep = time::sleep(Duration::from_secs(1));
        genrt::pin!(sleep);

        let mut got = Vec::new();
        loop {
            genrt::select! {
                maybe_v = stream.next() => got.push(maybe_v.unwrap()),
                _ = &mut sleep => break,
            }
        }
        assert_eq!(got, [0, 1, 2]);
        assert_elapsed(start, secs(1));
    }

    watched("select_stream_stopped_by_the_sleep", main);
}

/// `select!`'s "Joining two values using `select!`": with preconditions disabling the
/// finished branch, both values are received.
#[test]
fn select_joining_two_values() {
    #[genrt::main]
    async fn main() {
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = oneshot::channel();

        genrt::spawn(async move {
            tx1.send("first").unwrap();
        });

        genrt::spawn(async move {
            tx2.send("second").unwrap();
        });

        let mut a = None;
        let mut b = None;

        while a.is_none() || b.is_none() {
            genrt::select! {
                v1 = (&mut rx1), if a.is_none() => a = Some(v1.unwrap()),
                v2 = (&mut rx2), if b.is_none() => b = Some(v2.unwrap()),
            }
        }

        let res = (a.unwrap(), b.unwrap());

        assert_eq!(res.0, "first");
        assert_eq!(res.1, "second");
    }

    watched("select_joining_two_values", main);
}

/// `select!`'s "Using the `biased;` mode to control polling order": the branches complete in
/// the order written.
#[test]
fn select_biased_count() {
    #[genrt::main(flavor = "current_thread")]
    async fn main() -> u8 {
        let mut count = 0u8;

        loop {
            genrt::select! {
                // If you run this example without `biased;`, the polling order is
                // pseudo-random, and the assertions on the value of count will
                // (probably) fail.
                biased;

                _ = async {}, if count < 1 => {
                    count += 1;
                    assert_eq!(count, 1);
                }
                _ = async {}, if count < 2 => {
                    count += 1;
                    assert_eq!(count, 2);
                }
                _ = async {}, if count < 3 => {
                    count += 1;
                    assert_eq!(count, 3);
                }
                _ = async {}, if count < 4 => {
                    count += 1;
                    assert_eq!(count, 4);
                }

                else => {
                    break;
                }
            };
        }
        count
    }

    assert_eq!(watched("select_biased_count", main), 4);
}

/// `select!`'s race-free version of "repeatedly run an asynchronous task for up to 50
/// milliseconds": 10 ms of work at a time, so four or five rounds complete before the pinned
/// sleep ends the loop at 50 ms (paused clock; at 50 ms both are ready, and `select!` starts
/// at a random branch).
#[test]
fn select_racy_if_fixed() {
    async fn some_async_work() {
        time::sleep(Duration::from_millis(10)).await;
        // do work
    }

    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn main() -> usize {
        let start = Instant::now();
        let sleep = time::sleep(Duration::from_millis(50));
        genrt::pin!(sleep);

        let mut completed = 0;
        loop {
            genrt::select! {
                _ = &mut sleep => {
                    // operation timed out
                    break;
                }
                _ = some_async_work() => {
                    completed += 1;
                }
            }
        }
        assert_elapsed(start, ms(50));
        completed
    }

    let completed = watched("select_racy_if_fixed", main);
    assert!((4..=5).contains(&completed), "{completed} rounds completed");
}

/// `select!`'s "Alternatives from the Ecosystem", the `select!` loop: the loop runs until
/// the always-ready `futures::future::ready(())` branch is the one picked.
#[test]
fn select_loop_with_ready_break() {
    struct File;
    struct Channel;
    struct Socket;

    impl Socket {
        async fn read_packet(&mut self) -> Vec<u8> {
            vec![]
        }
    }

    async fn read_send(_file: &mut File, _channel: &mut Channel) {
        // do work that is not cancel safe
    }

    #[genrt::main(flavor = "current_thread")]
    async fn main() -> usize {
        // open our IO types
        let mut file = File;
        let mut channel = Channel;
        let mut socket = Socket;

        let mut rounds = 0;
        loop {
            rounds += 1;
            genrt::select! {
                _ = read_send(&mut file, &mut channel) => { /* ... */ },
                _data = socket.read_packet() => { /* ... */ }
                _ = futures::future::ready(()) => break
            }
        }
        rounds
    }

    watched("select_loop_with_ready_break", || {
        let rounds: Vec<usize> = (0..50).map(|_| main()).collect();
        assert!(rounds.iter().all(|&r| r >= 1));
        assert!(
            rounds.iter().any(|&r| r > 1),
            "select! starts at a random branch"
        );
    });
}

/// `join!`'s "Basic join with two branches" and its `biased;` form: the outputs as a tuple.
#[test]
fn join_examples() {
    async fn value(n: u32) -> u32 {
        task::yield_now().await;
        n
    }

    #[genrt::main(flavor = "current_thread")]
    async fn main() {
        let (first, second) = genrt::join!(do_stuff_async(), more_async_work());
        assert_eq!((first, second), ((), ()));

        let (first, second) = genrt::join!(
            biased;
            do_stuff_async(),
            more_async_work()
        );
        assert_eq!((first, second), ((), ()));

        assert_eq!(genrt::join!(value(1), value(2)), (1, 2));
    }

    watched("join_examples", main);
}

/// `try_join!`'s "Basic try_join with two branches": both `Ok`, the values as a tuple; an
/// `Err` is "processing failed".
#[test]
fn try_join_basic() {
    async fn do_stuff_async() -> Result<u8, &'static str> {
        // async work
        Ok(1)
    }

    async fn more_async_work() -> Result<u8, &'static str> {
        // more here
        Ok(2)
    }

    async fn failing_work() -> Result<u8, &'static str> {
        Err("failed")
    }

    #[genrt::main]
    async fn main() {
        let res = genrt::try_join!(do_stuff_async(), more_async_work());
        match res {
            Ok((first, second)) => assert_eq!((first, second), (1, 2)),
            Err(err) => panic!("processing failed; error = {}", err),
        }
        let res = genrt::try_join!(do_stuff_async(), failing_work());
        assert_eq!(res, Err("failed"));
    }

    watched("try_join_basic", main);
}

/// `try_join!`'s "Using `try_join!` with spawned tasks": the failing task's error comes
/// through `flatten`.
#[test]
fn try_join_with_spawned_tasks() {
    async fn do_stuff_async() -> Result<(), &'static str> {
        // async work
        Err("failed")
    }

    async fn more_async_work() -> Result<(), &'static str> {
        // more here
        Ok(())
    }

    async fn flatten<T>(handle: JoinHandle<Result<T, &'static str>>) -> Result<T, &'static str> {
        match handle.await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(err)) => Err(err),
            Err(_err) => Err("handling failed"),
        }
    }

    #[genrt::main]
    async fn main() {
        let handle1 = genrt::spawn(do_stuff_async());
        let handle2 = genrt::spawn(more_async_work());
        match genrt::try_join!(flatten(handle1), flatten(handle2)) {
            Ok(_val) => panic!("the first task fails"),
            Err(err) => {
                assert_eq!(err, "failed");
            }
        }
    }

    watched("try_join_with_spawned_tasks", main);
}

async fn my_async_fn() {
    // async logic here
}

/// `pin!`: a pinned future can be awaited through `&mut`.
#[test]
fn pin_then_await_by_reference() {
    #[genrt::main]
    async fn main() {
        let future = my_async_fn();
        genrt::pin!(future);

        (&mut future).await;
    }

    watched("pin_then_await_by_reference", main);
}

/// `pin!`'s "Using with select": the loop takes the stream's values until the pinned future
/// completes (it is ready at once, so possibly before any value).
#[test]
fn pin_with_select() {
    #[genrt::main]
    async fn main() -> Vec<i32> {
        let mut stream = futures::stream::iter(vec![1, 2, 3, 4]);

        let future = my_async_fn();
        genrt::pin!(future);

        let mut got = Vec::new();
        loop {
            genrt::select! {
                _ = &mut future => {
                    // Stop looping `future` will be polled after completion
                    break;
                }
                Some(val) = stream.next() => {
                    got.push(val);
                }
            }
        }
        got
    }

    watched("pin_with_select", || {
        let got = main();
        assert_eq!(got, [1, 2, 3, 4][..got.len()], "values in order, a prefix");
    });
}

/// `pin!`'s assign-and-pin form, `pin! { let future1 = ...; let future2 = ...; }`, used in a
/// `select!`.
#[test]
fn pin_let_form() {
    #[genrt::main]
    async fn main() {
        genrt::pin! {
            let future1 = my_async_fn();
            let future2 = my_async_fn();
        }

        genrt::select! {
            _ = &mut future1 => {}
            _ = &mut future2 => {}
        }
    }

    watched("pin_let_form", main);
}

/// What `main` reports about the runtime it runs on.
fn runtime_seen() -> (RuntimeFlavor, usize, bool) {
    let start = Instant::now();
    thread::sleep(ms(2));
    (
        Handle::current().runtime_flavor(),
        Handle::current().metrics().num_workers(),
        start.elapsed() == Duration::ZERO,
    )
}

/// `#[tokio::main]`'s examples and their "equivalent code not using `#[tokio::main]`": the
/// flavor, worker count and paused clock each asks for, the same from both.
#[test]
fn main_attribute_examples() {
    #[genrt::main(flavor = "multi_thread", worker_threads = 10)]
    async fn multi_thread_10() -> (RuntimeFlavor, usize, bool) {
        runtime_seen()
    }

    #[genrt::main]
    async fn multi_thread() -> (RuntimeFlavor, usize, bool) {
        runtime_seen()
    }

    fn multi_thread_by_hand() -> (RuntimeFlavor, usize, bool) {
        Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { runtime_seen() })
    }

    #[genrt::main(flavor = "current_thread")]
    async fn current_thread() -> (RuntimeFlavor, usize, bool) {
        runtime_seen()
    }

    fn current_thread_by_hand() -> (RuntimeFlavor, usize, bool) {
        Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { runtime_seen() })
    }

    #[genrt::main(worker_threads = 2)]
    async fn two_workers() -> (RuntimeFlavor, usize, bool) {
        runtime_seen()
    }

    fn two_workers_by_hand() -> (RuntimeFlavor, usize, bool) {
        Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { runtime_seen() })
    }

    #[genrt::main(flavor = "current_thread", start_paused = true)]
    async fn start_paused() -> (RuntimeFlavor, usize, bool) {
        runtime_seen()
    }

    fn start_paused_by_hand() -> (RuntimeFlavor, usize, bool) {
        Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(async { runtime_seen() })
    }

    #[genrt1::main(crate = "genrt1")]
    async fn renamed() -> (RuntimeFlavor, usize, bool) {
        runtime_seen()
    }

    fn renamed_by_hand() -> (RuntimeFlavor, usize, bool) {
        genrt1::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { runtime_seen() })
    }

    watched("main_attribute_examples", || {
        use RuntimeFlavor::{CurrentThread, MultiThread};
        assert_eq!(multi_thread_10(), (MultiThread, 10, false));
        let default = multi_thread();
        assert_eq!(default, multi_thread_by_hand());
        assert_eq!(default.0, MultiThread);
        assert_eq!(current_thread(), (CurrentThread, 1, false));
        assert_eq!(current_thread_by_hand(), (CurrentThread, 1, false));
        assert_eq!(two_workers(), (MultiThread, 2, false));
        assert_eq!(two_workers_by_hand(), (MultiThread, 2, false));
        assert_eq!(start_paused(), (CurrentThread, 1, true));
        assert_eq!(start_paused_by_hand(), (CurrentThread, 1, true));
        assert_eq!(renamed(), default);
        assert_eq!(renamed_by_hand(), default);
    });
}

/// `#[tokio::main]`'s "Configure unhandled panic behavior" (`no_run`, and
/// `Builder::unhandled_panic(UnhandledPanic::ShutdownRuntime)` in its equivalent code): the
/// spawned task's panic shuts the runtime down, and `main`'s `block_on` panics.
#[test]
fn main_attribute_unhandled_panic() {
    #[genrt::main(flavor = "current_thread", unhandled_panic = "shutdown_runtime")]
    async fn main() {
        let _ = genrt::spawn(async {
            panic!("{INTENTIONAL}: This panic will shutdown the runtime.");
        })
        .await;
    }

    fn by_hand() {
        Builder::new_current_thread()
            .enable_all()
            .unhandled_panic(UnhandledPanic::ShutdownRuntime)
            .build()
            .unwrap()
            .block_on(async {
                let _ = genrt::spawn(async {
                    panic!("{INTENTIONAL}: This panic will shutdown the runtime.");
                })
                .await;
            })
    }

    watched("main_attribute_unhandled_panic", || {
        let _quiet = quiet_panics();
        assert!(catch_unwind(main).is_err(), "main's block_on panics");
        assert!(catch_unwind(by_hand).is_err(), "block_on panics");
    });
}

/// `#[tokio::test]`'s "Multi-threaded runtime" example (`worker_threads = 1`).
#[genrt::test(flavor = "multi_thread", worker_threads = 1)]
async fn test_attribute_multi_thread_one_worker() {
    let _watchdog = Watchdog::new("test_attribute_multi_thread_one_worker").arm();
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::MultiThread
    );
    assert_eq!(Handle::current().metrics().num_workers(), 1);
}

/// `#[tokio::test]`'s "Using the multi-thread runtime" (a worker per CPU).
#[genrt::test(flavor = "multi_thread")]
async fn test_attribute_multi_thread() {
    let _watchdog = Watchdog::new("test_attribute_multi_thread").arm();
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::MultiThread
    );
}

/// `#[tokio::test]`'s "Current thread runtime": "The default test runtime is
/// single-threaded. Each test gets a separate current-thread runtime."
#[genrt::test]
async fn test_attribute_default_current_thread() {
    let _watchdog = Watchdog::new("test_attribute_default_current_thread").arm();
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::CurrentThread
    );
    let here = thread::current().id();
    assert_eq!(
        genrt::spawn(async { thread::current().id() })
            .await
            .unwrap(),
        here
    );
}

/// `#[tokio::test]`'s "Set number of worker threads".
#[genrt::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_attribute_two_workers() {
    let _watchdog = Watchdog::new("test_attribute_two_workers").arm();
    assert_eq!(Handle::current().metrics().num_workers(), 2);
}

/// `#[tokio::test]`'s "Configure the runtime to start with time paused".
#[genrt::test(start_paused = true)]
async fn test_attribute_start_paused() {
    let _watchdog = Watchdog::new("test_attribute_start_paused").arm();
    let start = Instant::now();
    time::sleep(secs(3600)).await;
    assert_elapsed(start, secs(3600));
}

/// `#[tokio::test]`'s "Rename package".
#[genrt1::test(crate = "genrt1")]
async fn test_attribute_renamed_crate() {
    let _watchdog = Watchdog::new("test_attribute_renamed_crate").arm();
    assert_eq!(
        genrt1::spawn(async { "Hello world" }).await.unwrap(),
        "Hello world"
    );
}
