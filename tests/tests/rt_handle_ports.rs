//! Tokio's `rt_handle_block_on.rs` and `rt_handle.rs` (`Handle::block_on` from inside and
//! outside runtimes, before and after shutdown, with timers and blocking closures), ported to
//! genrt. Each test names the Tokio test it ports.
//!
//! Ported, and what changed:
//! - `rt_handle_block_on.rs`, the `test_with_runtimes` tests `basic`, `bounded_mpsc_channel`
//!   and `unbounded_mpsc_channel`: on the current-thread, 1-worker and 4-worker runtimes, a
//!   runtime-independent future through `Handle::current().block_on` inside an enter guard,
//!   before and after `shutdown_timeout`. The guard is taken through a cloned `Handle`
//!   (`handle.enter()`), because genrt's `Runtime::enter` guard borrows the `Runtime`, which
//!   `shutdown_timeout` consumes; `tokio::sync::mpsc` becomes `futures::channel::mpsc`.
//! - The `rt_test!` tests, on the same three flavors: `basic_spawn_blocking`,
//!   `spawn_blocking_after_shutdown_fails` and `spawn_blocking_started_before_shutdown_continues`
//!   as Tokio writes them, through `Handle::current()` inside an enter guard held across the
//!   shutdown (`blocking_tokio_ports.rs` has them on a 2-worker runtime only, without the
//!   guard); the last waits until the closure has started before the shutdown (a closure
//!   still queued is cancelled by shutdown in both runtimes; Tokio relies on its 1 s sleep);
//!   `nesting` (genrt's message holds Tokio's first sentence only, "Cannot start a runtime
//!   from within a runtime"); `spawn_after_runtime_dropped`.
//! - The `multi_threaded_rt_test!` timer tests `sleep`, `sleep_before_shutdown_panics` and
//!   `sleep_after_shutdown_panics`, on the current-thread runtime too: genrt's
//!   `Handle::block_on` is `Runtime::block_on` (one implementation) and drives a
//!   current-thread runtime's timers, where Tokio's does not. The panics are genrt's own
//!   message for a timer of a runtime that shut down, in place of Tokio's "A Tokio 1.x
//!   context was found, but it is being shutdown."
//! - `rt_handle.rs`: `drop_tasks_with_reference_cycle` (two tasks each holding the other's
//!   join handle, polled once so that each registered its waker; Tokio's `Barrier` becomes a
//!   small one here; Tokio leaves the leak check to miri, here every future's drop is
//!   counted), plus a variant where the two tasks never finish and the runtime is dropped;
//!   `runtime_id_is_same` (also read inside `block_on`) and `runtime_ids_different` (also
//!   against a runtime built after one is dropped: genrt never reuses an id).
//!
//! Skipped, and why:
//! - `basic_fs`, `fs_shutdown_before_started` (`tokio::fs`); `tcp_listener_*`,
//!   `udp_socket_bind`, `udp_stream_*`, `unix_listener_*` (`tokio::net`): genrt has no I/O
//!   driver.
//! - `rt_handle.rs`: `basic_enter`, `interleave_enter_different_rt`,
//!   `interleave_enter_same_rt`, `interleave_then_enter` are ported in `enter.rs`.
//!
//! Every test runs under a watchdog or a bounded wait; none bounds a real-time duration from
//! above.

use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use genrt::{Handle, Runtime};
use support::{drop_runtime, DropCounter, Watchdog, DEADLINE};

macro_rules! rt_test {
    ($($t:tt)*) => {
        mod current_thread {
            use super::*;

            $($t)*

            fn rt() -> Runtime {
                genrt::Builder::new_current_thread().enable_all().build().unwrap()
            }
        }

        mod threaded_4_workers {
            use super::*;

            $($t)*

            fn rt() -> Runtime {
                genrt::Builder::new_multi_thread()
                    .worker_threads(4)
                    .enable_all()
                    .build()
                    .unwrap()
            }
        }

        mod threaded_1_worker {
            use super::*;

            $($t)*

            fn rt() -> Runtime {
                genrt::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .unwrap()
            }
        }
    };
}

/// A runtime flavor: its name, and how to build one.
type Flavor = (&'static str, fn() -> Runtime);

/// The three flavors of `test_with_runtimes`, by name.
const FLAVORS: [Flavor; 3] = [
    ("current-thread runtime", || {
        genrt::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }),
    ("multi-thread runtime, 1 worker", || {
        genrt::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }),
    ("multi-thread runtime, 4 workers", || {
        genrt::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap()
    }),
];

/// Tokio's `test_with_runtimes`: runs `f` inside an enter guard of each flavor, then again
/// after the runtime's `shutdown_timeout`, the guard still held; each under a watchdog.
fn test_with_runtimes(f: fn()) {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let rt = build();
            let handle = rt.handle().clone();
            let _enter = handle.enter();
            f();
            assert!(rt.shutdown_timeout(DEADLINE), "{name}: threads left behind");
            f();
        });
    }
}

// ==== runtime independent futures ======

/// Tokio: `rt_handle_block_on.rs`, `basic`.
#[test]
fn basic() {
    test_with_runtimes(|| {
        let one = Handle::current().block_on(async { 1 });
        assert_eq!(1, one);
    });
}

/// Tokio: `rt_handle_block_on.rs`, `bounded_mpsc_channel`.
#[test]
fn bounded_mpsc_channel() {
    test_with_runtimes(|| {
        let (mut tx, mut rx) = mpsc::channel(1024);
        Handle::current().block_on(tx.send(42)).unwrap();
        let value = Handle::current().block_on(rx.next()).unwrap();
        assert_eq!(value, 42);
    });
}

/// Tokio: `rt_handle_block_on.rs`, `unbounded_mpsc_channel`.
#[test]
fn unbounded_mpsc_channel() {
    test_with_runtimes(|| {
        let (tx, mut rx) = mpsc::unbounded();
        let _ = tx.unbounded_send(42);
        let value = Handle::current().block_on(rx.next()).unwrap();
        assert_eq!(value, 42);
    });
}

rt_test! {
    use std::sync::mpsc as std_mpsc;
    use std::thread;

    use futures::FutureExt;
    use genrt::time;
    use support::recv;

    // ==== spawn blocking futures ======

    /// Tokio: `rt_handle_block_on.rs`, `basic_spawn_blocking`.
    #[test]
    fn basic_spawn_blocking() {
        let answer = Watchdog::new("basic_spawn_blocking").run(|| {
            let rt = rt();
            let _enter = rt.enter();
            Handle::current()
                .block_on(genrt::spawn_blocking(|| {
                    thread::sleep(Duration::from_millis(100));
                    42
                }))
                .unwrap()
        });
        assert_eq!(answer, 42);
    }

    /// Tokio: `rt_handle_block_on.rs`, `spawn_blocking_after_shutdown_fails`.
    #[test]
    fn spawn_blocking_after_shutdown_fails() {
        let join_err = Watchdog::new("spawn_blocking_after_shutdown_fails").run(|| {
            let rt = rt();
            let handle = rt.handle().clone();
            let _enter = handle.enter();
            assert!(rt.shutdown_timeout(DEADLINE));
            Handle::current()
                .block_on(genrt::spawn_blocking(|| {
                    thread::sleep(Duration::from_millis(100));
                    42
                }))
                .unwrap_err()
        });
        assert!(join_err.is_cancelled());
    }

    /// Tokio: `rt_handle_block_on.rs`, `spawn_blocking_started_before_shutdown_continues`
    /// (the shutdown waits until the closure has started, see the module docs).
    #[test]
    fn spawn_blocking_started_before_shutdown_continues() {
        let answer = Watchdog::new("spawn_blocking_started_before_shutdown_continues").run(|| {
            let rt = rt();
            let handle = rt.handle().clone();
            let _enter = handle.enter();
            let (started_tx, started) = std_mpsc::channel();
            let join = genrt::spawn_blocking(move || {
                started_tx.send(()).unwrap();
                thread::sleep(Duration::from_millis(300));
                42
            });
            recv(&started, "the closure to start");
            assert!(rt.shutdown_timeout(DEADLINE));
            Handle::current().block_on(join).unwrap()
        });
        assert_eq!(answer, 42);
    }

    // ==== nesting ======

    /// Tokio: `rt_handle_block_on.rs`, `nesting` (genrt's message holds Tokio's first
    /// sentence).
    #[test]
    #[should_panic(expected = "Cannot start a runtime from within a runtime")]
    fn nesting() {
        fn some_non_async_function() -> i32 {
            Handle::current().block_on(time::sleep(Duration::from_millis(10)));
            1
        }

        Watchdog::new("nesting").run(|| {
            let rt = rt();
            rt.block_on(async { some_non_async_function() });
        });
    }

    /// Tokio: `rt_handle_block_on.rs`, `spawn_after_runtime_dropped`.
    #[test]
    fn spawn_after_runtime_dropped() {
        let (err1, err2) = Watchdog::new("spawn_after_runtime_dropped").run(|| {
            let rt = rt();
            let handle = rt.block_on(async move { Handle::current() });
            let jh1 = handle.spawn(futures::future::pending::<()>());
            drop(rt);
            let jh2 = handle.spawn(futures::future::pending::<()>());
            let err1 = jh1.now_or_never().expect("a cancelled task's handle is ready");
            let err2 = jh2.now_or_never().expect("a cancelled task's handle is ready");
            (err1.unwrap_err(), err2.unwrap_err())
        });
        assert!(err1.is_cancelled());
        assert!(err2.is_cancelled());
    }

    // ==== timers ======

    /// Tokio: `rt_handle_block_on.rs`, `sleep` (multi-thread only in Tokio, whose
    /// `Handle::block_on` does not drive a current-thread runtime's timers; genrt's does).
    #[test]
    fn sleep() {
        Watchdog::new("sleep").run(|| {
            let rt = rt();
            let _enter = rt.enter();
            let start = std::time::Instant::now();
            Handle::current().block_on(time::sleep(Duration::from_millis(100)));
            assert!(start.elapsed() >= Duration::from_millis(100));
        });
    }

    /// Tokio: `rt_handle_block_on.rs`, `sleep_before_shutdown_panics` (genrt's message).
    #[test]
    #[should_panic(expected = "a timer was polled after its runtime shut down")]
    fn sleep_before_shutdown_panics() {
        Watchdog::new("sleep_before_shutdown_panics").run(|| {
            let rt = rt();
            let handle = rt.handle().clone();
            let _enter = handle.enter();
            let f = time::sleep(Duration::from_millis(100));
            assert!(rt.shutdown_timeout(DEADLINE));
            Handle::current().block_on(f);
        });
    }

    /// Tokio: `rt_handle_block_on.rs`, `sleep_after_shutdown_panics` (genrt's message).
    #[test]
    #[should_panic(expected = "a timer was polled after its runtime shut down")]
    fn sleep_after_shutdown_panics() {
        Watchdog::new("sleep_after_shutdown_panics").run(|| {
            let rt = rt();
            let handle = rt.handle().clone();
            let _enter = handle.enter();
            assert!(rt.shutdown_timeout(DEADLINE));
            Handle::current().block_on(time::sleep(Duration::from_millis(100)));
        });
    }

    /// Tokio: `rt_handle.rs`, `runtime_id_is_same`.
    #[test]
    fn runtime_id_is_same() {
        let rt = rt();
        let handle1 = rt.handle();
        let handle2 = rt.handle().clone();
        assert_eq!(handle1.id(), handle2.id());
        let inside = Watchdog::new("runtime_id_is_same").run({
            let handle = handle2.clone();
            move || handle.block_on(async { Handle::current().id() })
        });
        assert_eq!(inside, handle1.id());
        drop_runtime(rt);
    }

    /// Tokio: `rt_handle.rs`, `runtime_ids_different`; genrt also never reuses an id of a
    /// dropped runtime.
    #[test]
    fn runtime_ids_different() {
        let rt1 = rt();
        let rt2 = rt();
        assert_ne!(rt1.handle().id(), rt2.handle().id());
        let gone = rt1.handle().id();
        drop_runtime(rt1);
        let rt3 = rt();
        assert_ne!(rt3.handle().id(), gone);
        assert!(rt3.handle().id().to_string().parse::<u64>().is_ok());
        drop_runtime(rt2);
        drop_runtime(rt3);
    }
}

// ==== rt_handle.rs ======

/// Tokio's `sync::Barrier`, reduced to what `drop_tasks_with_reference_cycle` needs: the
/// `n`th `wait` releases every waiter.
#[derive(Clone)]
struct Barrier(Arc<Mutex<(usize, Vec<Waker>)>>);

impl Barrier {
    fn new(n: usize) -> Barrier {
        Barrier(Arc::new(Mutex::new((n, Vec::new()))))
    }

    async fn wait(&self) {
        let mut arrived = false;
        poll_fn(|cx| {
            let mut state = self.0.lock().unwrap();
            if !arrived {
                arrived = true;
                state.0 -= 1;
                if state.0 == 0 {
                    state.1.drain(..).for_each(Waker::wake);
                }
            }
            if state.0 == 0 {
                Poll::Ready(())
            } else {
                state.1.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// The scenario of `drop_tasks_with_reference_cycle`: task `a` receives `b`'s join handle,
/// and each polls the other's join handle once (registering its waker in the other's cell),
/// then waits on `barrier`. Every future holds a drop counter.
fn reference_cycle(rt: &Runtime, barrier: &Barrier, drops: &Arc<AtomicUsize>) {
    let (tx, mut rx) = mpsc::channel(1);
    let (barrier_a, counter_a) = (barrier.clone(), DropCounter(drops.clone()));
    let a = rt.spawn(async move {
        let _counter = counter_a;
        let b: genrt::JoinHandle<()> = rx.next().await.unwrap();
        // Polls the join handle once: the other task cannot have finished (barrier below).
        futures::future::select(b, std::future::ready(())).await;
        barrier_a.wait().await;
    });
    let (barrier_b, counter_b) = (barrier.clone(), DropCounter(drops.clone()));
    let b = rt.spawn(async move {
        let _counter = counter_b;
        futures::future::select(a, std::future::ready(())).await;
        barrier_b.wait().await;
    });
    rt.block_on(async move {
        let mut tx = tx;
        tx.send(b).await.unwrap();
    });
}

/// Tokio: `rt_handle.rs`, `drop_tasks_with_reference_cycle` (current-thread runtime, as in
/// Tokio); here every future's drop is counted instead of leaving the leak to miri.
#[test]
fn drop_tasks_with_reference_cycle() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counted = drops.clone();
    Watchdog::new("drop_tasks_with_reference_cycle").run(move || {
        let rt = genrt::Builder::new_current_thread().build().unwrap();
        let barrier = Barrier::new(3);
        reference_cycle(&rt, &barrier, &counted);
        rt.block_on(barrier.wait());
        drop(rt);
    });
    assert_eq!(drops.load(Ordering::SeqCst), 2, "both task futures dropped");
}

/// genrt's variant of `drop_tasks_with_reference_cycle`: the barrier never opens, so both
/// tasks stay suspended, each holding the other's join handle (whose cell holds its waker);
/// dropping the runtime drops both futures anyway.
#[test]
fn suspended_tasks_with_reference_cycle_are_dropped_with_the_runtime() {
    for build in FLAVORS.map(|(_, build)| build) {
        let drops = Arc::new(AtomicUsize::new(0));
        let counted = drops.clone();
        Watchdog::new("a suspended reference cycle").run(move || {
            let rt = build();
            // Three parties, only the two tasks arrive.
            let barrier = Barrier::new(3);
            reference_cycle(&rt, &barrier, &counted);
            // Both tasks have arrived when the barrier's count is down to 1.
            rt.block_on(async {
                while barrier.0.lock().unwrap().0 > 1 {
                    genrt::time::sleep(Duration::from_millis(1)).await;
                }
            });
            assert_eq!(counted.load(Ordering::SeqCst), 0);
            drop(rt);
        });
        assert_eq!(drops.load(Ordering::SeqCst), 2, "both task futures dropped");
    }
}
