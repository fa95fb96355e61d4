//! Tests ported from Tokio's own suite (`tests/rt_common.rs`, `tests/rt_threaded.rs`), where
//! their semantics apply to genrt, translated to genrt's API. Each names the Tokio test it
//! ports. Every wait is bounded.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;

use futures::channel::mpsc as channel;
use futures::StreamExt;

use support::{drop_runtime, runtime, Watchdog};

/// `rt_common::ping_pong_saturation`: 100 pairs of tasks ping-pong over channels to saturate
/// the runtime; a task that yields five times must still finish; then the pairs stop.
#[test]
fn ping_pong_saturation() {
    const NUM: usize = 100;
    for workers in [1, 2, 4] {
        let rt = runtime(workers);
        let running = Arc::new(AtomicBool::new(true));
        let rt = Watchdog::new("ping_pong_saturation").run(move || {
            rt.block_on(async {
                let (spawned_tx, mut spawned_rx) = channel::unbounded::<()>();
                let mut tasks = Vec::new();
                for _ in 0..NUM {
                    let (tx1, mut rx1) = channel::unbounded::<()>();
                    let (tx2, mut rx2) = channel::unbounded::<()>();
                    let spawned_tx = spawned_tx.clone();
                    let running = running.clone();
                    tasks.push(genrt::spawn(async move {
                        spawned_tx.unbounded_send(()).unwrap();
                        while running.load(Ordering::Relaxed) {
                            tx1.unbounded_send(()).unwrap();
                            rx2.next().await.unwrap();
                        }
                        // Close the channel and wait for the other task to exit.
                        drop(tx1);
                        assert!(rx2.next().await.is_none());
                    }));
                    tasks.push(genrt::spawn(async move {
                        while rx1.next().await.is_some() {
                            tx2.unbounded_send(()).unwrap();
                        }
                    }));
                }
                for _ in 0..NUM {
                    spawned_rx.next().await.unwrap();
                }
                // Another task, which yields: it goes back to the local queue each time.
                let handle = genrt::spawn(async {
                    for _ in 0..5 {
                        genrt::yield_now().await;
                    }
                });
                handle.await.unwrap();
                running.store(false, Ordering::Relaxed);
                for t in tasks {
                    t.await.unwrap();
                }
            });
            rt
        });
        drop_runtime(rt);
    }
}

/// Wakes a stored waker from a thread-local's destructor, as `rt_common`'s
/// `wake_from_thread_local` does.
struct WakeOnThreadExit {
    by_ref: bool,
    waker: Option<Waker>,
    done: mpsc::Sender<bool>,
}

impl Drop for WakeOnThreadExit {
    fn drop(&mut self) {
        let waker = self.waker.take().unwrap();
        if self.by_ref {
            waker.wake_by_ref();
        } else {
            waker.wake();
        }
        let _ = self.done.send(true);
    }
}

thread_local! {
    static TL_DATA: RefCell<Option<WakeOnThreadExit>> = const { RefCell::new(None) };
}

/// `rt_common::wake_by_ref_from_thread_local` and `wake_by_val_from_thread_local`: a task
/// leaves its waker in a thread-local of its worker thread; the worker exits with the
/// runtime, and the thread-local's destructor wakes the (now stale) waker while the thread's
/// other thread-locals, genrt's among them, may already be gone.
#[test]
fn wake_from_thread_local_destructor() {
    for by_ref in [true, false] {
        let (send, recv) = mpsc::channel();
        Watchdog::new("a runtime on a thread of its own").run(move || {
            thread::spawn(move || {
                let rt = runtime(1);
                rt.block_on(rt.spawn(poll_fn(move |cx| {
                    let data = WakeOnThreadExit {
                        by_ref,
                        waker: Some(cx.waker().clone()),
                        done: send.clone(),
                    };
                    TL_DATA.with(|tl| tl.replace(Some(data)));
                    Poll::Ready(())
                })))
                .unwrap();
            })
            .join()
            .unwrap();
        });
        assert!(support::recv(&recv, "the thread-local's destructor"));
    }
}

/// `rt_common::runtime_in_thread_local`: a runtime stored in a thread-local is dropped while
/// the thread's thread-locals are destroyed.
#[test]
fn runtime_in_thread_local() {
    thread_local! {
        static R: RefCell<Option<genrt::Runtime>> = const { RefCell::new(None) };
    }
    Watchdog::new("a thread whose thread-local holds a runtime").run(|| {
        thread::spawn(|| {
            R.with(|cell| *cell.borrow_mut() = Some(runtime(1)));
            let rt = runtime(1);
            assert_eq!(rt.block_on(async { 1 }), 1);
        })
        .join()
        .unwrap();
    });
}

/// A future pending forever that wakes its partner's stored waker when dropped.
struct WakeOnDrop {
    shared: Arc<Mutex<Option<Waker>>>,
    put_waker: bool,
}

impl Future for WakeOnDrop {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.put_waker {
            *self.shared.lock().unwrap() = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        if !self.put_waker {
            if let Some(waker) = self.shared.lock().unwrap().take() {
                waker.wake();
            }
        }
    }
}

/// `rt_threaded::wake_during_shutdown` (tokio #3869): while shutdown drops the futures, one
/// future's drop wakes another task of the same runtime.
#[test]
fn wake_during_shutdown() {
    for _ in 0..20 {
        let rt = runtime(1);
        let shared = Arc::new(Mutex::new(None));
        let f1 = WakeOnDrop {
            shared: shared.clone(),
            put_waker: true,
        };
        let f2 = WakeOnDrop {
            shared,
            put_waker: false,
        };
        let a = rt.spawn(f1);
        let b = rt.spawn(f2);
        rt.settle();
        drop_runtime(rt);
        assert!(support::wait_for("a", a).unwrap_err().is_cancelled());
        assert!(support::wait_for("b", b).unwrap_err().is_cancelled());
    }
}

/// `rt_common::create_rt_in_block_on`: a runtime built and dropped inside another's
/// `block_on`.
#[test]
fn create_rt_in_block_on() {
    let rt1 = runtime(1);
    let rt1 = Watchdog::new("a runtime made inside block_on").run(move || {
        let value = rt1.block_on(async {
            let rt2 = runtime(1);
            let handle = rt2.spawn(async { 7 });
            // Not `rt2.block_on`: this thread is inside rt1's block_on.
            let value = support::wait_for("a task of the inner runtime", handle).unwrap();
            drop(rt2);
            value
        });
        assert_eq!(value, 7);
        rt1
    });
    drop_runtime(rt1);
}

/// `rt_common::panic_in_task`: a task's future whose poll panics is dropped while the panic
/// unwinds (its `Drop` sees `thread::panicking()`), on each flavor.
#[test]
fn panic_in_task() {
    struct Boom(Option<futures::channel::oneshot::Sender<()>>);
    impl Future for Boom {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            panic!("{}: Boom's poll", support::INTENTIONAL);
        }
    }
    impl Drop for Boom {
        fn drop(&mut self) {
            assert!(std::thread::panicking());
            self.0.take().unwrap().send(()).unwrap();
        }
    }
    let _quiet = support::quiet_panics();
    for rt in [
        genrt::Builder::new_current_thread().build().unwrap(),
        genrt::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap(),
        genrt::Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap(),
    ] {
        let (tx, rx) = futures::channel::oneshot::channel();
        let task = rt.spawn(Boom(Some(tx)));
        let rt = Watchdog::new("panic_in_task").run(move || {
            rt.block_on(rx).expect("Boom's drop sent");
            assert!(rt.block_on(task).unwrap_err().is_panic());
            rt
        });
        drop_runtime(rt);
    }
}
