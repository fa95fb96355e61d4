//! Tokio's `rt_common.rs` (its tests of every runtime flavor), ported to genrt: each test
//! runs on a current-thread runtime, a 4-worker and a 1-worker multi-thread runtime, as in
//! Tokio (`rt_test!`). Tests that need Tokio's I/O (`*_socket`, `client_server_*`,
//! `io_*`) are not ported; `coop` and `coop_unconstrained` are in `coop_review.rs` (with a
//! `ShellStream` for Tokio's coop-aware channel) and `coop_consume_budget` in `coop.rs`; `ping_pong_saturation`,
//! `create_rt_in_block_on`, `panic_in_task`, `runtime_in_thread_local` and the thread-local
//! wakes are in `tokio_ports.rs`; `shutdown_timeout` and `shutdown_timeout_0` are in
//! `blocking_tokio_ports.rs` (with a gate instead of Tokio's 10,000 s sleep, and no upper
//! bound on a duration). `tokio::sync` channels become `futures`'. Every test runs under a
//! watchdog; none bounds a real-time duration from above.

macro_rules! rt_test {
    ($($t:tt)*) => {
        mod current_thread {
            $($t)*

            fn rt() -> Arc<Runtime> {
                genrt::Builder::new_current_thread().enable_all().build().unwrap().into()
            }
        }

        mod threaded_4_workers {
            $($t)*

            fn rt() -> Arc<Runtime> {
                genrt::Builder::new_multi_thread()
                    .worker_threads(4)
                    .enable_all()
                    .build()
                    .unwrap()
                    .into()
            }
        }

        mod threaded_1_worker {
            $($t)*

            fn rt() -> Arc<Runtime> {
                genrt::Builder::new_multi_thread()
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
    use std::future::{poll_fn, Future};
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use std::thread;
    use std::time::{Duration, Instant};

    use futures::channel::{mpsc, oneshot};
    use futures::StreamExt;
    use genrt::{task, time, Runtime};
    use support::Watchdog;

    /// Runs `f` under a watchdog (a hang fails the test instead of stalling the suite).
    fn guarded<T: Send + 'static>(what: &'static str, f: impl FnOnce() -> T + Send + 'static) -> T {
        Watchdog::new(what).run(f)
    }

    async fn yield_once() {
        let mut yielded = false;
        poll_fn(|cx| {
            if yielded {
                Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await
    }

    #[test]
    fn block_on_sync() {
        let rt = rt();
        let mut win = false;
        rt.block_on(async {
            win = true;
        });
        assert!(win);
    }

    #[test]
    fn block_on_async() {
        let out = guarded("block_on_async", || {
            rt().block_on(async {
                let (tx, rx) = oneshot::channel();
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(50));
                    tx.send("ZOMG").unwrap();
                });
                rx.await.unwrap()
            })
        });
        assert_eq!(out, "ZOMG");
    }

    #[test]
    fn spawn_one_bg() {
        let out = guarded("spawn_one_bg", || {
            rt().block_on(async {
                let (tx, rx) = oneshot::channel();
                genrt::spawn(async move {
                    tx.send("ZOMG").unwrap();
                });
                rx.await.unwrap()
            })
        });
        assert_eq!(out, "ZOMG");
    }

    #[test]
    fn spawn_one_join() {
        let out = guarded("spawn_one_join", || {
            rt().block_on(async {
                let (tx, rx) = oneshot::channel();
                let handle = genrt::spawn(async move {
                    tx.send("ZOMG").unwrap();
                    "DONE"
                });
                let msg = rx.await.unwrap();
                assert_eq!(handle.await.unwrap(), "DONE");
                msg
            })
        });
        assert_eq!(out, "ZOMG");
    }

    #[test]
    fn spawn_two() {
        let out = guarded("spawn_two", || {
            rt().block_on(async {
                let (tx1, rx1) = oneshot::channel();
                let (tx2, rx2) = oneshot::channel();
                genrt::spawn(async move {
                    tx1.send("ZOMG").unwrap();
                });
                genrt::spawn(async move {
                    let msg = rx1.await.unwrap();
                    tx2.send(msg).unwrap();
                });
                rx2.await.unwrap()
            })
        });
        assert_eq!(out, "ZOMG");
    }

    #[test]
    fn spawn_many_from_block_on() {
        const ITER: usize = 200;
        let out = guarded("spawn_many_from_block_on", || {
            rt().block_on(async {
                let (done_tx, mut done_rx) = mpsc::unbounded();
                let mut txs = (0..ITER)
                    .map(|i| {
                        let (tx, rx) = oneshot::channel();
                        let done_tx = done_tx.clone();
                        genrt::spawn(async move {
                            let msg = rx.await.unwrap();
                            assert_eq!(i, msg);
                            done_tx.unbounded_send(msg).unwrap();
                        });
                        tx
                    })
                    .collect::<Vec<_>>();
                drop(done_tx);
                thread::spawn(move || {
                    for (i, tx) in txs.drain(..).enumerate() {
                        tx.send(i).unwrap();
                    }
                });
                let mut out = vec![];
                while let Some(i) = done_rx.next().await {
                    out.push(i);
                }
                out.sort_unstable();
                out
            })
        });
        assert_eq!(out, (0..ITER).collect::<Vec<_>>());
    }

    #[test]
    fn spawn_many_from_task() {
        const ITER: usize = 500;
        let out = guarded("spawn_many_from_task", || {
            rt().block_on(async {
                genrt::spawn(async move {
                    let (done_tx, mut done_rx) = mpsc::unbounded();
                    let mut txs = (0..ITER)
                        .map(|i| {
                            let (tx, rx) = oneshot::channel();
                            let done_tx = done_tx.clone();
                            genrt::spawn(async move {
                                let msg = rx.await.unwrap();
                                assert_eq!(i, msg);
                                done_tx.unbounded_send(msg).unwrap();
                            });
                            tx
                        })
                        .collect::<Vec<_>>();
                    drop(done_tx);
                    thread::spawn(move || {
                        for (i, tx) in txs.drain(..).enumerate() {
                            tx.send(i).unwrap();
                        }
                    });
                    let mut out = vec![];
                    while let Some(i) = done_rx.next().await {
                        out.push(i);
                    }
                    out.sort_unstable();
                    out
                })
                .await
                .unwrap()
            })
        });
        assert_eq!(out, (0..ITER).collect::<Vec<_>>());
    }

    #[test]
    fn spawn_await_chain() {
        let out = guarded("spawn_await_chain", || {
            rt().block_on(async {
                genrt::spawn(async { genrt::spawn(async { "hello" }).await.unwrap() })
                    .await
                    .unwrap()
            })
        });
        assert_eq!(out, "hello");
    }

    #[test]
    fn outstanding_tasks_dropped() {
        let rt = rt();
        let cnt = Arc::new(());
        rt.block_on(async {
            let cnt = cnt.clone();
            genrt::spawn(poll_fn(move |_| {
                assert_eq!(2, Arc::strong_count(&cnt));
                Poll::<()>::Pending
            }));
        });
        assert_eq!(2, Arc::strong_count(&cnt));
        drop(rt);
        assert_eq!(1, Arc::strong_count(&cnt));
    }

    #[test]
    fn nested_rt() {
        let _quiet = support::quiet_panics();
        let rt1 = rt();
        let rt2 = rt();
        let nested = std::panic::catch_unwind(move || {
            rt1.block_on(async { rt2.block_on(async { "hello" }) })
        });
        assert!(nested.is_err(), "a block_on inside a block_on panics");
    }

    #[test]
    fn complete_block_on_under_load() {
        guarded("complete_block_on_under_load", || {
            rt().block_on(async {
                let (tx, rx) = oneshot::channel();
                // Spin hard.
                genrt::spawn(async {
                    loop {
                        yield_once().await;
                    }
                });
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(50));
                    tx.send(()).unwrap();
                });
                rx.await.unwrap();
            })
        });
    }

    #[test]
    fn complete_task_under_load() {
        guarded("complete_task_under_load", || {
            rt().block_on(async {
                let (tx1, rx1) = oneshot::channel();
                let (tx2, rx2) = oneshot::channel();
                genrt::spawn(async {
                    loop {
                        yield_once().await;
                    }
                });
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(50));
                    tx1.send(()).unwrap();
                });
                genrt::spawn(async move {
                    rx1.await.unwrap();
                    tx2.send(()).unwrap();
                });
                rx2.await.unwrap();
            })
        });
    }

    #[test]
    fn spawn_from_other_thread_idle() {
        guarded("spawn_from_other_thread_idle", || {
            let rt = rt();
            let handle = rt.clone();
            let (tx, rx) = oneshot::channel();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                handle.spawn(async move {
                    tx.send(()).unwrap();
                });
            });
            rt.block_on(async move {
                rx.await.unwrap();
            });
        });
    }

    #[test]
    fn spawn_from_other_thread_under_load() {
        guarded("spawn_from_other_thread_under_load", || {
            let rt = rt();
            let handle = rt.clone();
            let (tx, rx) = oneshot::channel();
            thread::spawn(move || {
                handle.spawn(async move {
                    tx.send(()).unwrap();
                });
            });
            rt.block_on(async move {
                genrt::spawn(async {
                    loop {
                        yield_once().await;
                    }
                });
                rx.await.unwrap();
            });
        });
    }

    #[test]
    fn sleep_at_root() {
        guarded("sleep_at_root", || {
            let rt = rt();
            let now = Instant::now();
            let dur = Duration::from_millis(50);
            rt.block_on(async move {
                time::sleep(dur).await;
            });
            assert!(now.elapsed() >= dur);
        });
    }

    #[test]
    fn sleep_in_spawn() {
        guarded("sleep_in_spawn", || {
            let rt = rt();
            let now = Instant::now();
            let dur = Duration::from_millis(50);
            rt.block_on(async move {
                let (tx, rx) = oneshot::channel();
                genrt::spawn(async move {
                    time::sleep(dur).await;
                    tx.send(()).unwrap();
                });
                rx.await.unwrap();
            });
            assert!(now.elapsed() >= dur);
        });
    }

    #[test]
    fn spawn_from_blocking() {
        let out = guarded("spawn_from_blocking", || {
            rt().block_on(async move {
                let inner = task::spawn_blocking(|| genrt::spawn(async move { "hello" }))
                    .await
                    .unwrap();
                inner.await.unwrap()
            })
        });
        assert_eq!(out, "hello");
    }

    #[test]
    fn spawn_blocking_from_blocking() {
        let out = guarded("spawn_blocking_from_blocking", || {
            rt().block_on(async move {
                let inner = task::spawn_blocking(|| task::spawn_blocking(|| "hello"))
                    .await
                    .unwrap();
                inner.await.unwrap()
            })
        });
        assert_eq!(out, "hello");
    }

    #[test]
    fn sleep_from_blocking() {
        guarded("sleep_from_blocking", || {
            rt().block_on(async move {
                task::spawn_blocking(|| {
                    let now = std::time::Instant::now();
                    let dur = Duration::from_millis(1);
                    // futures' block_on: no genrt block_on context on this thread.
                    futures::executor::block_on(async {
                        time::sleep(dur).await;
                    });
                    assert!(now.elapsed() >= dur);
                })
                .await
                .unwrap();
            })
        });
    }

    #[test]
    fn always_active_parker() {
        guarded("always_active_parker", || {
            let rt = rt();
            let rt2 = rt.clone();
            let (tx1, rx1) = oneshot::channel();
            let (tx2, rx2) = oneshot::channel();
            let jh1 = thread::spawn(move || {
                rt.block_on(async move {
                    rx2.await.unwrap();
                    time::sleep(Duration::from_millis(5)).await;
                    tx1.send(()).unwrap();
                });
            });
            let jh2 = thread::spawn(move || {
                rt2.block_on(async move {
                    tx2.send(()).unwrap();
                    time::sleep(Duration::from_millis(5)).await;
                    rx1.await.unwrap();
                    time::sleep(Duration::from_millis(5)).await;
                });
            });
            jh1.join().unwrap();
            jh2.join().unwrap();
        });
    }

    #[test]
    fn panic_in_block_on() {
        let _quiet = support::quiet_panics();
        let rt = rt();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { panic!("{}: in block_on", support::INTENTIONAL) })
        }));
        assert!(panicked.is_err());
    }

    #[test]
    fn enter_and_spawn() {
        let rt = rt();
        let handle = {
            let _enter = rt.enter();
            genrt::spawn(async {})
        };
        guarded("enter_and_spawn", move || rt.block_on(handle)).unwrap();
    }

    #[test]
    fn eagerly_drops_futures_on_shutdown() {
        struct Never {
            drop_tx: std::sync::mpsc::Sender<()>,
        }
        impl Future for Never {
            type Output = ();
            fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
                Poll::Pending
            }
        }
        impl Drop for Never {
            fn drop(&mut self) {
                self.drop_tx.send(()).unwrap();
            }
        }
        let rt = rt();
        let (drop_tx, drop_rx) = std::sync::mpsc::channel();
        let (run_tx, run_rx) = oneshot::channel();
        let rt = guarded("eagerly_drops_futures_on_shutdown", move || {
            rt.block_on(async move {
                genrt::spawn(async move {
                    run_tx.send(()).unwrap();
                    Never { drop_tx }.await
                });
                run_rx.await.unwrap();
            });
            rt
        });
        drop(rt);
        drop_rx.recv_timeout(support::DEADLINE).unwrap();
    }

    #[test]
    fn wake_while_rt_is_dropping() {
        struct OnDrop<F: FnMut()>(F);
        impl<F: FnMut()> Drop for OnDrop<F> {
            fn drop(&mut self) {
                (self.0)()
            }
        }
        guarded("wake_while_rt_is_dropping", || {
            let (tx1, rx1) = oneshot::channel::<()>();
            let (tx2, rx2) = oneshot::channel::<()>();
            let (tx3, rx3) = oneshot::channel::<()>();
            let rt = rt();
            let h1 = rt.clone();
            rt.spawn(async move {
                // A waker gets stored in oneshot 1.
                let _ = rx1.await;
                tx3.send(()).unwrap();
            });
            rt.spawn(async move {
                // Dropped at shutdown: spawns a task that owns `tx1`, whose drop wakes
                // the first task again.
                let mut opt_tx1 = Some(tx1);
                let _d = OnDrop(move || {
                    let tx1 = opt_tx1.take().unwrap();
                    h1.spawn(async move {
                        tx1.send(()).unwrap();
                    });
                });
                let _ = rx2.await;
            });
            rt.spawn(async move {
                let _ = rx3.await;
                // Never reached; this task's drop wakes the second one.
                tx2.send(()).unwrap();
            });
            rt.block_on(async {
                task::yield_now().await;
            });
            drop(rt);
        });
    }

    #[test]
    fn shutdown_wakeup_time() {
        guarded("shutdown_wakeup_time", || {
            let runtime = rt();
            runtime.block_on(async move {
                time::sleep(Duration::from_millis(100)).await;
            });
            let _ = Arc::try_unwrap(runtime)
                .ok()
                .unwrap()
                .shutdown_timeout(Duration::from_secs(10_000));
        });
    }

    #[test]
    fn coop_unconstrained() {
        guarded("coop_unconstrained", || {
            rt().block_on(async {
                let mut tasks = (0..1_000).map(|_| genrt::spawn(async {})).collect::<Vec<_>>();
                time::sleep(Duration::from_millis(100)).await;
                // Tokio "hopes" they completed; here, wait until they have.
                while tasks.iter().any(|t| !t.is_finished()) {
                    time::sleep(Duration::from_millis(1)).await;
                }
                task::unconstrained(poll_fn(|cx| {
                    for task in &mut tasks {
                        assert!(Pin::new(task).poll(cx).is_ready());
                    }
                    Poll::Ready(())
                }))
                .await;
            })
        });
    }
}
