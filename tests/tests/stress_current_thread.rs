//! Stress and regression tests of the current-thread runtime (`Builder::new_current_thread`,
//! whose one worker runs inside `block_on`), written by a review of it: foreign wakes of
//! tasks and of the `block_on` future, timers inserted from other threads, `block_on`
//! handovers between threads, `Handle::block_on` in blocking closures, a paused clock with
//! two `block_on`s, a runtime dropped while another thread drives it, `settle` beside a
//! driver. Three found bugs, now fixed: a panic in the `block_on` future lost the worker for
//! good, and `try_settle`/`settle` read a worker put back with keys in its queues as idle.
//! Every test runs under a watchdog. A stress loop (thousands of rounds, most starting a
//! thread) runs under [`LIMIT`], the limit of a whole scenario: its length is what the machine
//! makes it (on one loaded core, `root_foreign_wake_stress` ran past the 60 s it had), and the
//! limit only turns a hang into a failure.
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use support::{Watchdog, LIMIT};

fn ct() -> genrt::Runtime {
    genrt::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn panic_in_block_on_future_keeps_runtime_usable() {
    Watchdog::new("panic_reuse").run(|| {
        let rt = ct();
        let r = catch_unwind(AssertUnwindSafe(|| rt.block_on(async { panic!("boom") })));
        assert!(r.is_err());
        let v = catch_unwind(AssertUnwindSafe(|| rt.block_on(async { 5 })));
        match v {
            Ok(v) => assert_eq!(v, 5),
            Err(e) => panic!(
                "second block_on panicked: {:?}",
                support::panic_message(&*e)
            ),
        }
    });
}

#[test]
fn try_settle_with_busy_task_is_false() {
    Watchdog::new("try_settle_busy").run(|| {
        let rt = ct();
        let busy = rt.spawn(async {
            loop {
                genrt::yield_now().await;
            }
        });
        let settled = rt.try_settle(Duration::from_millis(20));
        busy.abort();
        assert!(
            !settled,
            "try_settle returned true while a task is always ready"
        );
    });
}

/// A task woken from another OS thread, many times, while block_on waits for it.
#[test]
fn foreign_wakes_stress() {
    Watchdog::new("foreign_wakes").limit(LIMIT).run(|| {
        let rt = ct();
        for _ in 0..2000 {
            let (tx, rx) = futures::channel::oneshot::channel::<u32>();
            let (tx2, rx2) = futures::channel::oneshot::channel::<u32>();
            rt.spawn(async move {
                let v = rx.await.unwrap();
                tx2.send(v + 1).unwrap();
            });
            let t = std::thread::spawn(move || {
                tx.send(1).unwrap();
            });
            assert_eq!(rt.block_on(rx2).unwrap(), 2);
            t.join().unwrap();
        }
    });
}

/// Timers inserted from another thread (a spawn from outside whose task sleeps).
#[test]
fn foreign_spawn_with_timer_stress() {
    Watchdog::new("foreign_timer").limit(LIMIT).run(|| {
        let rt = Arc::new(ct());
        for _ in 0..500 {
            let (tx, rx) = futures::channel::oneshot::channel::<u32>();
            let h = rt.handle().clone();
            let t = std::thread::spawn(move || {
                h.spawn(async move {
                    genrt::time::sleep(Duration::from_micros(200)).await;
                    tx.send(1).unwrap();
                });
            });
            assert_eq!(rt.block_on(rx).unwrap(), 1);
            t.join().unwrap();
        }
    });
}

/// Two threads in block_on at once, each waiting on tasks; handover many times.
#[test]
fn concurrent_block_on_stress() {
    Watchdog::new("concurrent_block_on").limit(LIMIT).run(|| {
        let rt = Arc::new(ct());
        let count = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let rt = rt.clone();
                let count = count.clone();
                std::thread::spawn(move || {
                    for i in 0..1000u32 {
                        let v = rt.block_on(async move {
                            let h = genrt::spawn(async move {
                                if i % 3 == 0 {
                                    genrt::time::sleep(Duration::from_micros(50)).await;
                                } else {
                                    genrt::yield_now().await;
                                }
                                i
                            });
                            h.await.unwrap()
                        });
                        assert_eq!(v, i);
                        count.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(count.load(SeqCst), 3000);
    });
}

/// Handle::block_on inside spawn_blocking awaiting a task, while main block_on awaits it.
#[test]
fn spawn_blocking_handle_block_on_stress() {
    Watchdog::new("blocking_block_on").limit(LIMIT).run(|| {
        let rt = ct();
        for i in 0..500u32 {
            let h = rt.handle().clone();
            let v = rt.block_on(async move {
                genrt::spawn_blocking(move || {
                    h.block_on(async move { genrt::spawn(async move { i }).await.unwrap() })
                })
                .await
                .unwrap()
            });
            assert_eq!(v, i);
        }
    });
}

/// Paused clock: block_on auto-advances.
#[test]
fn paused_sleep_loop() {
    Watchdog::new("paused").limit(LIMIT).run(|| {
        let rt = genrt::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        for _ in 0..2000 {
            rt.block_on(async {
                let h = genrt::spawn(async { genrt::time::sleep(Duration::from_secs(3600)).await });
                genrt::time::sleep(Duration::from_secs(10)).await;
                h.await.unwrap();
            });
        }
    });
}

/// The root woken directly from another OS thread, with a busy-ish task beside it.
#[test]
fn root_foreign_wake_stress() {
    Watchdog::new("root_wake").limit(LIMIT).run(|| {
        let rt = ct();
        for i in 0..5000u32 {
            let (tx, rx) = futures::channel::oneshot::channel::<u32>();
            if i % 2 == 0 {
                rt.spawn(async { genrt::time::sleep(Duration::from_micros(100)).await });
            }
            let t = std::thread::spawn(move || {
                if i % 4 == 0 {
                    std::thread::yield_now();
                }
                tx.send(i).unwrap();
            });
            assert_eq!(rt.block_on(rx).unwrap(), i);
            t.join().unwrap();
        }
    });
}

/// Paused clock, two block_ons, timers in both.
#[test]
fn paused_concurrent_stress() {
    Watchdog::new("paused_conc").limit(LIMIT).run(|| {
        let rt = Arc::new(
            genrt::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap(),
        );
        let threads: Vec<_> = (0..2)
            .map(|k| {
                let rt = rt.clone();
                std::thread::spawn(move || {
                    for i in 0..1000u64 {
                        rt.block_on(async move {
                            genrt::time::sleep(Duration::from_millis(1 + (i + k) % 7)).await;
                            let h = genrt::spawn(async move {
                                genrt::time::sleep(Duration::from_secs(1 + i % 5)).await
                            });
                            h.await.unwrap();
                        });
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    });
}

/// A runtime dropped while another thread drives it via Handle::block_on.
#[test]
fn drop_while_driving_stress() {
    Watchdog::new("drop_driving").limit(LIMIT).run(|| {
        for i in 0..300u32 {
            let rt = ct();
            let h = rt.handle().clone();
            let (started_tx, started_rx) = std::sync::mpsc::channel();
            let t = std::thread::spawn(move || {
                h.block_on(async move {
                    let j = genrt::spawn(async { std::future::pending::<()>().await });
                    started_tx.send(()).unwrap();
                    let _ = j.await;
                    if i % 2 == 0 {
                        for _ in 0..10 {
                            genrt::yield_now().await;
                        }
                    }
                });
            });
            started_rx.recv().unwrap();
            drop(rt);
            t.join().unwrap();
        }
    });
}

/// Settle on a current-thread runtime while another thread is in block_on.
#[test]
fn settle_while_other_drives() {
    Watchdog::new("settle_other").limit(LIMIT).run(|| {
        let rt = Arc::new(ct());
        for _ in 0..200 {
            let done = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let rt2 = rt.clone();
            let done2 = done.clone();
            let t = std::thread::spawn(move || {
                rt2.block_on(async move {
                    let _ = rx; // block_on returns at once, leaving spawned tasks queued
                    for _ in 0..5 {
                        let d = done2.clone();
                        genrt::spawn(async move {
                            genrt::yield_now().await;
                            d.fetch_add(1, SeqCst);
                        });
                    }
                    drop(tx);
                });
            });
            std::thread::sleep(Duration::from_micros(10));
            rt.settle();
            t.join().unwrap();
            // This settle may have returned before the block_on spawned; one after it returned
            // runs what it left queued.
            rt.settle();
            assert_eq!(done.load(SeqCst), 5);
        }
    });
}

/// Settle while another block_on holds the worker and returns leaving tasks queued.
#[test]
fn settle_returns_with_tasks_left_by_other_driver() {
    Watchdog::new("settle_left")
        .limit(Duration::from_secs(30))
        .run(|| {
            let rt = Arc::new(ct());
            let done = Arc::new(AtomicUsize::new(0));
            let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
            let (in_tx, in_rx) = std::sync::mpsc::channel::<()>();
            let rt2 = rt.clone();
            let done2 = done.clone();
            let t = std::thread::spawn(move || {
                rt2.block_on(async move {
                    in_tx.send(()).unwrap();
                    go_rx.recv().unwrap(); // blocks this thread while it holds the worker
                    for _ in 0..5 {
                        let d = done2.clone();
                        genrt::spawn(async move {
                            d.fetch_add(1, SeqCst);
                        });
                    }
                });
            });
            in_rx.recv().unwrap();
            let releaser = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                go_tx.send(()).unwrap();
            });
            rt.settle();
            let ran = done.load(SeqCst);
            t.join().unwrap();
            releaser.join().unwrap();
            assert_eq!(ran, 5, "settle returned with tasks queued and never run");
        });
}
