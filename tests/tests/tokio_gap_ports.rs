//! A gap audit of genrt's Tokio ports: the tests of Tokio's runtime, task and time suites
//! (`tokio/tests/*.rs`) that no earlier port file had, translated to genrt. Each test names
//! the Tokio file and test it ports. Every test runs under a watchdog (`support::Watchdog`);
//! none bounds a real-time duration from above.
//!
//! Ported here:
//! - `rt_common.rs`: `send_sync_bound`, `spawn_one_from_block_on_called_on_handle`,
//!   `yield_defers_until_park` and `coop_yield_defers_until_park` (each on Tokio's three
//!   flavors: current-thread, 4 workers, 1 worker).
//! - `rt_basic.rs`: `before_park_yields` (a `futures` oneshot for Tokio's `Notify`).
//! - `rt_panic.rs`: `builder_global_queue_interval_panic_caller`,
//!   `builder_event_interval_interval_panic_caller`.
//! - `task_local_set.rs`: `local_current_thread_scheduler` (the newer name of
//!   `local_basic_scheduler`), the `block_in_place_cases` module
//!   (`block_in_place_in_run_until_{mt,ct}`, `block_in_place_in_spawn_local_{mt,ct}`,
//!   `block_in_place_in_spawn_local_drop_{mt,ct}`), `unstable::run_until_does_not_get_own_budget`
//!   (it uses only `consume_budget`, which genrt has).
//! - `task_blocking.rs`: `coop_disabled_in_block_in_place`,
//!   `coop_disabled_in_block_in_place_in_block_on`.
//! - `task_local.rs`: `take_value`, `poll_after_take_value_should_fail`, `get_value`.
//! - `time_sleep.rs`: `sleep_not_starved_by_eager_combinator` (Tokio issue 7883).
//! - `time_interval.rs`: `stream_with_interval_poll_tick_self_waking`,
//!   `stream_with_interval_poll_tick_no_waking` (`time_tokio_ports.rs` skipped them as
//!   needing `tokio-stream`; they need only `futures::Stream` and `Interval::poll_tick`).
//! - `time_rt.rs`: `timer_with_current_thread_scheduler`.
//!
//! What changed in the port:
//! - `tokio::sync::{oneshot, mpsc}` become `futures::channel`'s; Tokio's coop-aware
//!   `mpsc_stream` (in the `coop_disabled_*` tests) becomes 200 calls of
//!   `task::consume_budget`, which spends the same budget: with the task's budget in force
//!   inside `block_in_place`, `futures::executor::block_on` would spin on it for ever.
//! - `yield_defers_until_park`: Tokio's event is a TCP connection accepted by the I/O driver;
//!   genrt has no I/O driver, and its timers are the driver its workers process before they
//!   poll the tasks that yielded (`scheduler/src/worker.rs`, step 5). So the event here is a
//!   timer made due before the yield loop starts (registered by a first poll, then the worker
//!   blocks 5 ms), and the loop must see it fire within 10 yields. Tokio retries a failed
//!   run (up to 10 runs, 2 s apart); here every one of 10 runs must pass: the timer is due
//!   before the first yield (the blocking 5 ms is past its deadline), and a worker processes
//!   due timers before it polls the tasks that yielded, so nothing here depends on timing and
//!   a retry would only hide a lost timer. The blocked workers are released also when a run
//!   fails (Tokio's would hang on the runtime's drop).
//! - `#[should_panic = ".."]` tests catch the panic and check its message contains Tokio's
//!   text; genrt's `block_in_place` message contains Tokio's sentence "can call blocking only
//!   when running on the multi-threaded runtime".
//! - `tokio_test::task::spawn(..).poll()` becomes one poll with a no-op waker inside the
//!   calling task (the budget is the task's, as in Tokio's mock task).
//!
//! genrt bugs found, now fixed:
//! - `block_in_place_in_run_until_mt`, `block_in_place_in_spawn_local_mt` and
//!   `block_in_place_in_spawn_local_drop_mt`: `block_in_place` inside a `LocalSet` (its
//!   `run_until` future, a local task, or a local task's drop when the set is dropped) on a
//!   multi-thread runtime's `block_on` thread ran `f` in place, silently stalling the set's
//!   other tasks; Tokio panics there ("can call blocking only when running on the
//!   multi-threaded runtime", Tokio issue 7368: a local task cannot be handed to another
//!   thread). genrt now refuses it likewise while a set is being driven or closed on the
//!   thread (`runtime/src/task/local_set.rs`, `driving`).
//!
//! Skipped, and why:
//! - `macros_test.rs` `test_macro_should_handle_the_name_if_provided`, `rt_basic.rs`
//!   `default_runtime_name_should_be_none` and `different_runtime_names`: genrt's runtimes
//!   have no name (`Builder::name`, `Handle::name`) and its attributes no `name` argument;
//!   `macro_rt_arg_unhandled_panic` (`tokio_unstable`): genrt's attributes take no
//!   `unhandled_panic` argument.
//! - `time_pause.rs`'s `inhibit_auto_advance` tests (`auto_advance_guard_*`,
//!   `explicit_advance_works_while_guard_held`, `inhibit_auto_advance_*`): genrt has no
//!   `time::inhibit_auto_advance`.
//! - `rt_common.rs` `io_driver_called_when_under_load`, `io_notify_while_shutting_down`,
//!   `*socket*`, `client_server_*`: Tokio's I/O driver. Everything else in the runtime, task
//!   and time files was ported earlier (the other `*_ports.rs` files list where).

use std::future::Future;
use std::panic::{self, catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use futures::channel::mpsc;
use futures::{SinkExt, Stream, StreamExt};
use genrt::runtime::{Builder, Runtime};
use genrt::task::{self, JoinHandle, LocalSet};
use genrt::time::{self, Instant, Interval};
use support::{panic_message, quiet_panics, serial, Watchdog};

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

fn current_thread_paused() -> Runtime {
    Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

/// Tokio's `#[tokio::test(flavor = "multi_thread")]` runtime (two workers here).
fn multi_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `body()` in `block_on` of a runtime made by `rt`, then drops the runtime, all under a
/// watchdog. The body is built on the watchdog's thread, so it need not be `Send`.
fn run<F, B>(what: &'static str, rt: fn() -> Runtime, body: B)
where
    B: FnOnce() -> F + Send + 'static,
    F: Future<Output = ()>,
{
    Watchdog::new(what).run(move || {
        let rt = rt();
        rt.block_on(body());
        drop(rt);
    });
}

/// Tokio's `#[should_panic = expected]` around [`run`]: the body must panic with a message
/// containing `expected`.
fn run_should_panic<F, B>(what: &'static str, rt: fn() -> Runtime, expected: &str, body: B)
where
    B: FnOnce() -> F + Send + 'static,
    F: Future<Output = ()>,
{
    let _quiet = quiet_panics();
    let message = Watchdog::new(what).run(move || {
        let rt = rt();
        let outcome = catch_unwind(AssertUnwindSafe(|| rt.block_on(body())));
        drop(rt);
        match outcome {
            Ok(()) => None,
            Err(payload) => Some(panic_message(&*payload).unwrap_or_default().to_string()),
        }
    });
    let message = message.unwrap_or_else(|| panic!("{what}: expected a panic, none came"));
    assert!(
        message.contains(expected),
        "{what}: the panic {message:?} does not contain {expected:?}"
    );
}

/// Tokio's `test_panic`: runs `f`, and returns the file of the location of the panic it
/// raised on this thread (`None` if it did not panic). The hook is swapped under the serial
/// lock; panics of other threads go to the hook it replaced.
fn panic_file(f: impl FnOnce()) -> Option<String> {
    let _serial = serial();
    let me = thread::current().id();
    let seen: Arc<Mutex<Option<String>>> = Arc::default();
    let previous: Arc<dyn Fn(&panic::PanicHookInfo<'_>) + Send + Sync> =
        Arc::from(panic::take_hook());
    {
        let (seen, previous) = (seen.clone(), previous.clone());
        panic::set_hook(Box::new(move |info| {
            if thread::current().id() == me {
                *seen.lock().unwrap() = info.location().map(|at| at.file().to_string());
            } else {
                previous(info);
            }
        }));
    }
    let result = catch_unwind(AssertUnwindSafe(f));
    drop(panic::take_hook());
    panic::set_hook(Box::new(move |info| previous(info)));
    let file = seen.lock().unwrap().take();
    result.err().and(file)
}

// ---- rt_common.rs ----

/// Tokio's `rt_common::send_sync_bound`.
#[test]
fn send_sync_bound() {
    fn is_send<T: Send + Sync>() {}
    is_send::<Runtime>();
}

/// Tokio's `rt_test!` flavors: current-thread, 4 workers, 1 worker.
macro_rules! rt_test {
    ($($t:tt)*) => {
        mod current_thread_scheduler {
            $($t)*

            const NUM_WORKERS: usize = 1;

            fn rt() -> Arc<Runtime> {
                Builder::new_current_thread().enable_all().build().unwrap().into()
            }
        }

        mod threaded_scheduler_4_threads {
            $($t)*

            const NUM_WORKERS: usize = 4;

            fn rt() -> Arc<Runtime> {
                Builder::new_multi_thread()
                    .worker_threads(4)
                    .enable_all()
                    .build()
                    .unwrap()
                    .into()
            }
        }

        mod threaded_scheduler_1_thread {
            $($t)*

            const NUM_WORKERS: usize = 1;

            fn rt() -> Arc<Runtime> {
                Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .unwrap()
                    .into()
            }
        }
    };
}

rt_test! {
    use std::future::pending;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::{Arc, Barrier};
    use std::thread;
    use std::time::Duration;

    use futures::channel::oneshot;
    use genrt::runtime::{Builder, Runtime};
    use genrt::{task, time};
    use support::Watchdog;

    /// Tokio's `rt_common::spawn_one_from_block_on_called_on_handle`.
    #[test]
    fn spawn_one_from_block_on_called_on_handle() {
        let out = Watchdog::new("spawn_one_from_block_on_called_on_handle").run(|| {
            let rt = rt();
            let (tx, rx) = oneshot::channel();
            #[allow(clippy::async_yields_async)]
            let handle = rt.handle().block_on(async {
                genrt::spawn(async move {
                    tx.send("ZOMG").unwrap();
                    "DONE"
                })
            });
            rt.block_on(async {
                let msg = rx.await.unwrap();
                let out = handle.await.unwrap();
                assert_eq!(out, "DONE");
                msg
            })
        });
        assert_eq!(out, "ZOMG");
    }

    /// Tokio's `rt_common::yield_defers_until_park` (the event is a due timer: module docs).
    #[test]
    fn yield_defers_until_park() {
        Watchdog::new("yield_defers_until_park").run(|| {
            for run in 0..10 {
                assert!(
                    yield_defers_until_park_inner(false),
                    "run {run}: the timer did not fire within 10 yields"
                );
            }
        });
    }

    /// Tokio's `rt_common::coop_yield_defers_until_park`: the same, the task yielding by
    /// spending its cooperative budget.
    #[test]
    fn coop_yield_defers_until_park() {
        Watchdog::new("coop_yield_defers_until_park").run(|| {
            for run in 0..10 {
                assert!(
                    yield_defers_until_park_inner(true),
                    "run {run}: the timer did not fire within 10 yields"
                );
            }
        });
    }

    /// Tokio's `yield_defers_until_park_inner`: whether the yielding task saw the event
    /// within 10 yields.
    fn yield_defers_until_park_inner(use_coop: bool) -> bool {
        const BUDGET: usize = 128;

        let rt = rt();
        let flag = Arc::new(AtomicBool::new(false));
        let barrier = Arc::new(Barrier::new(NUM_WORKERS));

        let success = rt.block_on(async {
            // Make sure other workers cannot steal tasks.
            #[allow(clippy::reversed_empty_ranges)]
            for _ in 0..(NUM_WORKERS - 1) {
                let flag = flag.clone();
                let barrier = barrier.clone();
                genrt::spawn(async move {
                    barrier.wait();
                    while !flag.load(SeqCst) {
                        thread::sleep(Duration::from_millis(1));
                    }
                });
            }
            barrier.wait();

            let (fail_test, fail_test_recv) = oneshot::channel::<()>();
            let flag_clone = flag.clone();
            let jh = genrt::spawn(async move {
                // Tokio's listener: a timer, registered by its first poll (the first branch
                // of `join!` is polled first) and due before the loop starts.
                let timer = time::sleep(Duration::from_millis(1));
                futures::join!(
                    async {
                        timer.await;
                        flag_clone.store(true, SeqCst);
                    },
                    async {
                        // Done in a blocking manner intentionally (Tokio: the connect).
                        thread::sleep(Duration::from_millis(5));

                        // Yield until the timer fired.
                        let mut cnt = 0;
                        while !flag_clone.load(SeqCst) {
                            if use_coop {
                                // Consume a good chunk of budget, which should force at
                                // least one yield.
                                for _ in 0..BUDGET {
                                    task::consume_budget().await;
                                }
                            } else {
                                task::yield_now().await;
                            }
                            cnt += 1;

                            if cnt >= 10 {
                                // Yielded too many times: report the failure and wait for
                                // ever, so that `fail_test_recv` gets the message.
                                let _ = fail_test.send(());
                                pending::<()>().await;
                                break;
                            }
                        }
                    }
                );
            });

            // If no message comes on `fail_test`, the test succeeds.
            let success = fail_test_recv.await.is_err();
            // Releases the blocked workers either way (a failed run too, unlike Tokio's).
            flag.store(true, SeqCst);
            if success {
                // Check for panics in the spawned task.
                jh.abort();
                jh.await.unwrap();
            }
            success
        });
        drop(rt);
        success
    }
}

// ---- rt_panic.rs ----

/// Tokio's `rt_panic::builder_global_queue_interval_panic_caller`: the panic of
/// `global_queue_interval(0)` points at the caller.
#[test]
fn builder_global_queue_interval_panic_caller() {
    let _quiet = quiet_panics();
    let file = Watchdog::new("builder_global_queue_interval_panic_caller").run(|| {
        panic_file(|| {
            let _ = Builder::new_multi_thread().global_queue_interval(0).build();
        })
    });
    assert_eq!(file.as_deref(), Some(file!()));
}

/// Tokio's `rt_panic::builder_event_interval_interval_panic_caller`: the panic of
/// `event_interval(0)` points at the caller.
#[test]
fn builder_event_interval_interval_panic_caller() {
    let _quiet = quiet_panics();
    let file = Watchdog::new("builder_event_interval_interval_panic_caller").run(|| {
        panic_file(|| {
            let _ = Builder::new_multi_thread().event_interval(0).build();
        })
    });
    assert_eq!(file.as_deref(), Some(file!()));
}

// ---- rt_basic.rs ----

/// Tokio's `before_park_yields`'s `MyWaker`: its wake sends on a channel (Tokio's `Notify`).
struct SendOnWake(Mutex<Option<futures::channel::oneshot::Sender<()>>>);

impl Wake for SendOnWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(tx) = self.0.lock().unwrap().take() {
            let _ = tx.send(());
        }
    }
}

/// Tokio's `rt_basic::before_park_yields`: a `yield_now` polled by the park hook (with a
/// waker of its own) wakes that waker, which the `block_on` future waits for.
#[test]
fn before_park_yields() {
    Watchdog::new("before_park_yields").run(|| {
        let (tx, rx) = futures::channel::oneshot::channel();
        let waker = Waker::from(Arc::new(SendOnWake(Mutex::new(Some(tx)))));
        let woken = Arc::new(AtomicBool::new(false));
        let woken2 = woken.clone();
        let rt = Builder::new_current_thread()
            .enable_all()
            .on_thread_park(move || {
                if !woken2.swap(true, Ordering::SeqCst) {
                    let mut cx = Context::from_waker(&waker);
                    let _ = pin!(task::yield_now()).poll(&mut cx);
                }
            })
            .build()
            .unwrap();
        rt.block_on(async {
            rx.await.unwrap();
        });
        assert!(woken.load(Ordering::SeqCst));
    });
}

// ---- task_local_set.rs ----

/// Tokio's `task_local_set::local_current_thread_scheduler`.
#[test]
fn local_current_thread_scheduler() {
    run("local_current_thread_scheduler", current_thread, || async {
        LocalSet::new()
            .run_until(async {
                task::spawn_local(async {}).await.unwrap();
            })
            .await;
    });
}

/// Tokio's `task_local_set::block_in_place_cases::BlockInPlaceOnDrop`.
struct BlockInPlaceOnDrop;

impl Future for BlockInPlaceOnDrop {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for BlockInPlaceOnDrop {
    fn drop(&mut self) {
        task::block_in_place(|| {});
    }
}

/// Tokio's `block_in_place_cases::complete`: a task's panic is raised again here.
async fn complete(jh: JoinHandle<()>) {
    match jh.await {
        Ok(()) => {}
        Err(err) if err.is_panic() => panic::resume_unwind(err.into_panic()),
        Err(err) if err.is_cancelled() => panic!("task cancelled"),
        Err(err) => panic!("{err:?}"),
    }
}

/// Tokio's panic message for `block_in_place` where it cannot hand the runtime's work over.
const BLOCKING_REFUSED: &str = "can call blocking only when running on the multi-threaded runtime";

/// Tokio's `block_in_place_cases::block_in_place_in_run_until_mt`.
#[test]
fn block_in_place_in_run_until_mt() {
    run_should_panic(
        "block_in_place_in_run_until_mt",
        multi_thread,
        BLOCKING_REFUSED,
        || async {
            let local_set = LocalSet::new();
            local_set
                .run_until(async {
                    task::block_in_place(|| {});
                })
                .await;
        },
    );
}

/// Tokio's `block_in_place_cases::block_in_place_in_spawn_local_mt`.
#[test]
fn block_in_place_in_spawn_local_mt() {
    run_should_panic(
        "block_in_place_in_spawn_local_mt",
        multi_thread,
        BLOCKING_REFUSED,
        || async {
            let local_set = LocalSet::new();
            let jh = local_set.spawn_local(async {
                task::block_in_place(|| {});
            });
            local_set.await;
            complete(jh).await;
        },
    );
}

/// Tokio's `block_in_place_cases::block_in_place_in_spawn_local_drop_mt`.
#[test]
fn block_in_place_in_spawn_local_drop_mt() {
    run_should_panic(
        "block_in_place_in_spawn_local_drop_mt",
        multi_thread,
        BLOCKING_REFUSED,
        || async {
            let local_set = LocalSet::new();
            let jh = local_set.spawn_local(BlockInPlaceOnDrop);
            local_set.run_until(task::yield_now()).await;
            drop(local_set);
            complete(jh).await;
        },
    );
}

/// Tokio's `block_in_place_cases::block_in_place_in_run_until_ct`.
#[test]
fn block_in_place_in_run_until_ct() {
    run_should_panic(
        "block_in_place_in_run_until_ct",
        current_thread,
        BLOCKING_REFUSED,
        || async {
            let local_set = LocalSet::new();
            local_set
                .run_until(async {
                    task::block_in_place(|| {});
                })
                .await;
        },
    );
}

/// Tokio's `block_in_place_cases::block_in_place_in_spawn_local_ct`.
#[test]
fn block_in_place_in_spawn_local_ct() {
    run_should_panic(
        "block_in_place_in_spawn_local_ct",
        current_thread,
        BLOCKING_REFUSED,
        || async {
            let local_set = LocalSet::new();
            let jh = local_set.spawn_local(async {
                task::block_in_place(|| {});
            });
            local_set.await;
            complete(jh).await;
        },
    );
}

/// Tokio's `block_in_place_cases::block_in_place_in_spawn_local_drop_ct`.
#[test]
fn block_in_place_in_spawn_local_drop_ct() {
    run_should_panic(
        "block_in_place_in_spawn_local_drop_ct",
        current_thread,
        BLOCKING_REFUSED,
        || async {
            let local_set = LocalSet::new();
            let jh = local_set.spawn_local(BlockInPlaceOnDrop);
            local_set.run_until(task::yield_now()).await;
            drop(local_set);
            complete(jh).await;
        },
    );
}

/// Not a Tokio test: `block_in_place` in a plain task of a multi-thread runtime still runs
/// (the refusal above is for a `LocalSet` only), also beside a set entered on another task.
#[test]
fn block_in_place_outside_any_local_set_still_runs() {
    run(
        "block_in_place outside a LocalSet",
        multi_thread,
        || async {
            let ran = genrt::spawn(async { task::block_in_place(|| 7) })
                .await
                .unwrap();
            assert_eq!(ran, 7);
            // A set that was driven and is done with leaves the thread free to block.
            LocalSet::new().run_until(task::yield_now()).await;
            assert_eq!(task::block_in_place(|| 8), 8);
        },
    );
}

/// Polls `future` once, with a no-op waker, inside the calling task (Tokio's
/// `tokio_test::task::spawn(..).poll()`), and says whether it completed.
fn poll_once<F: Future>(future: F) -> bool {
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    pin!(future).poll(&mut cx).is_ready()
}

/// Tokio's `task_local_set::unstable::run_until_does_not_get_own_budget`: the future of
/// `run_until` shares the budget of the task driving it, a spawned task gets a full one.
#[test]
fn run_until_does_not_get_own_budget() {
    run(
        "run_until_does_not_get_own_budget",
        current_thread,
        || async {
            // Consume some budget.
            task::consume_budget().await;

            LocalSet::new()
                .run_until(async {
                    let spawned = genrt::spawn(async {
                        let mut spawned_n = 0;
                        let ready = poll_once(async {
                            loop {
                                spawned_n += 1;
                                task::consume_budget().await;
                            }
                        });
                        assert!(!ready);
                        spawned_n
                    });

                    let mut run_until_n = 0;
                    let ready = poll_once(async {
                        loop {
                            run_until_n += 1;
                            task::consume_budget().await;
                        }
                    });
                    assert!(!ready);

                    let spawned_n = spawned.await.unwrap();
                    assert_ne!(spawned_n, 0);
                    assert_ne!(run_until_n, 0);
                    assert!(
                        spawned_n > run_until_n,
                        "spawned_n = {spawned_n}, run_until_n = {run_until_n}"
                    );
                })
                .await;
        },
    );
}

// ---- task_blocking.rs ----

/// 200 units of cooperative budget, spent one at a time (Tokio's 200-item channel stream).
async fn spend_200_units() -> usize {
    let mut n = 0;
    for _ in 0..200 {
        task::consume_budget().await;
        n += 1;
    }
    n
}

/// Tokio's `task_blocking::coop_disabled_in_block_in_place`: the closure runs without the
/// task's budget, so an executor inside it is not starved by it (Tokio's 1 s timeout is the
/// watchdog here).
#[test]
fn coop_disabled_in_block_in_place() {
    Watchdog::new("coop_disabled_in_block_in_place")
        .suspect("the task's budget in force inside block_in_place: block_on spins on it")
        .run(|| {
            let outer = Builder::new_multi_thread().enable_time().build().unwrap();
            outer.block_on(async move {
                let jh = genrt::spawn(async move {
                    task::block_in_place(move || {
                        assert_eq!(futures::executor::block_on(spend_200_units()), 200);
                    })
                });
                jh.await.unwrap();
            });
        });
}

/// Tokio's `task_blocking::coop_disabled_in_block_in_place_in_block_on`: the same in the
/// `block_on` future of a multi-thread runtime.
#[test]
fn coop_disabled_in_block_in_place_in_block_on() {
    Watchdog::new("coop_disabled_in_block_in_place_in_block_on")
        .suspect("the block_on budget in force inside block_in_place: block_on spins on it")
        .run(|| {
            let outer = Runtime::new().unwrap();
            outer.block_on(async move {
                task::block_in_place(move || {
                    assert_eq!(futures::executor::block_on(spend_200_units()), 200);
                })
            });
        });
}

// ---- task_local.rs ----

genrt::task_local! {
    static KEY: u32;
}

/// Tokio's `task_local::take_value`.
#[test]
fn take_value() {
    run("take_value", current_thread, || async {
        let fut = KEY.scope(1, async {});
        let mut pinned = Box::pin(fut);
        assert_eq!(pinned.as_mut().take_value(), Some(1));
        assert_eq!(pinned.as_mut().take_value(), None);
    });
}

/// Tokio's `task_local::poll_after_take_value_should_fail`.
#[test]
fn poll_after_take_value_should_fail() {
    run(
        "poll_after_take_value_should_fail",
        current_thread,
        || async {
            let fut = KEY.scope(1, async {
                let result = KEY.try_with(|_| {});
                // The task-local value no longer exists.
                assert!(result.is_err());
            });
            let mut fut = Box::pin(fut);
            fut.as_mut().take_value();

            // Poll the future after `take_value` has been called.
            fut.await;
        },
    );
}

/// Tokio's `task_local::get_value`.
#[test]
fn get_value() {
    run("get_value", current_thread, || async {
        KEY.scope(1, async {
            assert_eq!(KEY.get(), 1);
            assert_eq!(KEY.try_get().unwrap(), 1);
        })
        .await;

        let fut = KEY.scope(1, async {
            let result = KEY.try_get();
            // The task-local value no longer exists.
            assert!(result.is_err());
        });
        let mut fut = Box::pin(fut);
        fut.as_mut().take_value();

        // Poll the future after `take_value` has been called.
        fut.await;
    });
}

// ---- time_sleep.rs ----

/// Records whether it was woken, and passes the wake on.
struct TrackingWaker {
    woken: Arc<Mutex<bool>>,
    inner: Waker,
}

impl Wake for TrackingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        *self.woken.lock().unwrap() = true;
        self.inner.wake_by_ref();
    }
}

/// A combinator that polls again at once whenever its sleep was woken during the poll.
struct EagerSelect {
    sleep: Pin<Box<time::Sleep>>,
    poll_count: Arc<AtomicU32>,
    did_reset: bool,
}

impl Future for EagerSelect {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            self.poll_count.fetch_add(1, Ordering::Relaxed);
            let woken = Arc::new(Mutex::new(false));
            let waker = Waker::from(Arc::new(TrackingWaker {
                woken: woken.clone(),
                inner: cx.waker().clone(),
            }));
            let mut inner_cx = Context::from_waker(&waker);
            if self.sleep.as_mut().poll(&mut inner_cx).is_ready() {
                return Poll::Ready(());
            }
            if !self.did_reset {
                self.did_reset = true;
                let past = Instant::now() - Duration::from_millis(10);
                self.sleep.as_mut().reset(past);
            }
            if *woken.lock().unwrap() {
                continue;
            }
            return Poll::Pending;
        }
    }
}

/// Tokio's `time_sleep::sleep_not_starved_by_eager_combinator` (Tokio issue 7883): a sleep
/// reset to a deadline already past completes, and an eager combinator around it does not
/// spin.
#[test]
fn sleep_not_starved_by_eager_combinator() {
    run(
        "sleep_not_starved_by_eager_combinator",
        current_thread,
        || async {
            let poll_count = Arc::new(AtomicU32::new(0));
            EagerSelect {
                sleep: Box::pin(time::sleep(Duration::from_secs(3600))),
                poll_count: poll_count.clone(),
                did_reset: false,
            }
            .await;
            let polls = poll_count.load(Ordering::Relaxed);
            assert!(
                polls <= 10,
                "Sleep took {polls} polls: unexpected synchronous looping (issue #7883)"
            );
        },
    );
}

// ---- time_interval.rs ----

/// Tokio's `IntervalStreamer`: counts the interval's ticks and yields every fourth count;
/// with `wake_on_pending`, it wakes itself when it returns `Pending` after a tick.
struct IntervalStreamer {
    counter: u32,
    timer: Interval,
    wake_on_pending: bool,
}

impl Stream for IntervalStreamer {
    type Item = u32;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        let this = Pin::into_inner(self);
        if this.counter > 12 {
            return Poll::Ready(None);
        }
        match this.timer.poll_tick(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => {
                this.counter += 1;
                if this.counter % 4 == 0 {
                    Poll::Ready(Some(this.counter))
                } else {
                    if this.wake_on_pending {
                        cx.waker().wake_by_ref();
                    }
                    Poll::Pending
                }
            }
        }
    }
}

/// The items the streamer yields within a 150 ms timeout, on a paused clock.
async fn stream_items(wake_on_pending: bool) -> Vec<u32> {
    let stream = IntervalStreamer {
        counter: 0,
        timer: time::interval(Duration::from_millis(10)),
        wake_on_pending,
    };
    let (mut res_tx, mut res_rx) = mpsc::channel(12);
    // Wrapped in a timeout, so that it finishes even if the stream stalls.
    genrt::spawn(time::timeout(Duration::from_millis(150), async move {
        let mut stream = pin!(stream);
        while let Some(item) = stream.next().await {
            res_tx.send(item).await.ok();
        }
    }));
    let mut items = Vec::new();
    while let Some(result) = res_rx.next().await {
        items.push(result);
    }
    items
}

/// Tokio's `time_interval::stream_with_interval_poll_tick_self_waking`.
#[test]
fn stream_with_interval_poll_tick_self_waking() {
    run(
        "stream_with_interval_poll_tick_self_waking",
        current_thread_paused,
        || async {
            // The stream yields normally, thus three items.
            assert_eq!(stream_items(true).await, vec![4, 8, 12]);
        },
    );
}

/// Tokio's `time_interval::stream_with_interval_poll_tick_no_waking`: `poll_tick` registers
/// the waker only when it returns `Pending`, so a stream that does not wake itself stalls.
#[test]
fn stream_with_interval_poll_tick_no_waking() {
    run(
        "stream_with_interval_poll_tick_no_waking",
        current_thread_paused,
        || async {
            assert_eq!(stream_items(false).await, Vec::<u32>::new());
        },
    );
}

// ---- time_rt.rs ----

/// Tokio's `time_rt::timer_with_current_thread_scheduler`.
#[test]
fn timer_with_current_thread_scheduler() {
    Watchdog::new("timer_with_current_thread_scheduler").run(|| {
        let rt = current_thread();
        let (tx, rx) = std::sync::mpsc::channel();
        rt.block_on(async move {
            let when = Instant::now() + Duration::from_millis(10);
            time::sleep_until(when).await;
            assert!(Instant::now() >= when);
            tx.send(()).unwrap();
        });
        rx.recv().unwrap();
    });
}
