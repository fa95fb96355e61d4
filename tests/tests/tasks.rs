//! The task API: join handles, panics, abort, yield fairness, spawning from everywhere, and
//! the errors and panics of misuse.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Poll, Waker};
use std::thread;

use futures::task::{Spawn, SpawnExt};
use support::{
    drop_runtime, panic_message, recv, runtime, wait_for, wait_until, DropCounter, Watchdog,
};

#[derive(Debug, PartialEq)]
struct Payload(u32);

#[test]
fn a_panicking_task_reports_its_payload_and_the_worker_goes_on() {
    let rt = runtime(1);

    let err = wait_for(
        "a panicking task",
        rt.spawn(async {
            genrt::yield_now().await;
            panic!("boom {}", 7);
        }),
    )
    .unwrap_err();
    assert!(err.is_panic());
    assert!(!err.is_cancelled());
    assert!(
        err.to_string().contains("boom 7"),
        "the error shows the message: {err}"
    );
    let payload = err.into_panic();
    assert_eq!(panic_message(&*payload), Some("boom 7"));

    let err = wait_for(
        "a task panicking with a custom payload",
        rt.spawn(async { std::panic::panic_any(Payload(42)) }),
    )
    .unwrap_err();
    assert!(err.is_panic());
    let payload = err
        .try_into_panic()
        .expect("a panic's error gives its payload");
    assert_eq!(payload.downcast_ref::<Payload>(), Some(&Payload(42)));

    // The one worker survived both panics.
    assert_eq!(
        wait_for("a task after the panics", rt.spawn(async { 5 })).unwrap(),
        5
    );
    // Counted just after the join handle hears of the result.
    wait_until("all three tasks are counted as completed", || {
        rt.metrics().snapshot().completed == 3
    });
    let m = rt.metrics().snapshot();
    assert_eq!((m.spawned, m.live_tasks), (3, 0), "{m:?}");
    drop_runtime(rt);
}

#[test]
fn aborting_a_pending_task_cancels_it_and_drops_its_future() {
    let rt = runtime(1);
    let drops = Arc::new(AtomicUsize::new(0));
    let polled = Arc::new(AtomicBool::new(false));
    let task = {
        let guard = DropCounter(drops.clone());
        let polled = polled.clone();
        rt.spawn(async move {
            let _guard = guard;
            polled.store(true, Ordering::SeqCst);
            std::future::pending::<u32>().await
        })
    };
    wait_until("the task was polled", || polled.load(Ordering::SeqCst));
    assert!(!task.is_finished(), "a pending task is not finished");
    task.abort();
    wait_until("the aborted task finished", || task.is_finished());
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "abort dropped the task's future"
    );
    let err = wait_for("the aborted task", task).unwrap_err();
    assert!(err.is_cancelled());
    assert!(!err.is_panic());
    let err = err
        .try_into_panic()
        .expect_err("a cancelled task has no panic payload");
    assert!(err.is_cancelled());
    drop_runtime(rt);
}

#[test]
fn aborting_before_the_first_poll_cancels_the_task() {
    let rt = runtime(1);
    // Keep the only worker busy so the aborted task is still queued when it is aborted.
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (busy_tx, busy_rx) = mpsc::channel::<()>();
    let blocker = rt.spawn(async move {
        busy_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(support::DEADLINE);
    });
    recv(&busy_rx, "the worker to be busy");
    let polled = Arc::new(AtomicBool::new(false));
    let task = {
        let polled = polled.clone();
        rt.spawn(async move { polled.store(true, Ordering::SeqCst) })
    };
    task.abort();
    release_tx.send(()).unwrap();
    assert!(wait_for("the aborted task", task)
        .unwrap_err()
        .is_cancelled());
    assert!(
        !polled.load(Ordering::SeqCst),
        "an aborted task is never polled"
    );
    wait_for("the blocker", blocker).unwrap();
    drop_runtime(rt);
}

#[test]
fn aborting_a_finished_task_keeps_its_value() {
    let rt = runtime(1);
    let task = rt.spawn(async { 42 });
    wait_until("the task finished", || task.is_finished());
    task.abort();
    assert!(task.is_finished());
    assert_eq!(wait_for("the finished task", task).unwrap(), 42);
    drop_runtime(rt);
}

#[test]
fn dropping_a_join_handle_detaches_the_task() {
    let rt = runtime(1);
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    let task = rt.spawn(async move {
        genrt::yield_now().await;
        // Bounded wait for the test's signal.
        let go = go_rx.recv_timeout(support::DEADLINE).is_ok();
        done_tx.send(go).unwrap();
        "unread result"
    });
    drop(task);
    go_tx.send(()).unwrap();
    assert!(
        recv(&done_rx, "the detached task's completion"),
        "the detached task kept running and got the signal"
    );
    wait_until("the detached task is counted", || {
        rt.metrics().snapshot().live_tasks == 0
    });
    drop_runtime(rt);
}

#[test]
fn a_task_yielding_in_a_loop_does_not_starve_a_task_spawned_from_outside() {
    let rt = runtime(1);
    let flag = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let looper = {
        let (flag, started) = (flag.clone(), started.clone());
        rt.spawn(async move {
            let mut yields = 0u64;
            while !flag.load(Ordering::SeqCst) {
                started.store(true, Ordering::SeqCst);
                genrt::yield_now().await;
                yields += 1;
            }
            yields
        })
    };
    wait_until("the looping task runs", || started.load(Ordering::SeqCst));
    let setter = {
        let flag = flag.clone();
        rt.spawn(async move { flag.store(true, Ordering::SeqCst) })
    };
    wait_for(
        "the flag-setting task, queued behind a yielding loop",
        setter,
    )
    .unwrap();
    assert!(wait_for("the looping task", looper).unwrap() >= 1);
    drop_runtime(rt);
}

#[test]
fn a_task_yielding_in_a_loop_does_not_starve_a_task_it_spawned() {
    let rt = runtime(1);
    let looper = rt.spawn(async move {
        let flag = Arc::new(AtomicBool::new(false));
        let setter = {
            let flag = flag.clone();
            genrt::spawn(async move { flag.store(true, Ordering::SeqCst) })
        };
        while !flag.load(Ordering::SeqCst) {
            genrt::yield_now().await;
        }
        setter.await.unwrap();
    });
    wait_for("a yielding task waiting for the task it spawned", looper).unwrap();
    drop_runtime(rt);
}

#[test]
fn two_tasks_waking_each_other_do_not_starve_a_third() {
    // On a worker a wake goes to the LIFO slot; two tasks that wake each other forever would
    // keep it full. The third task sits in the same worker's deque.
    let rt = runtime(1);
    let flag = Arc::new(AtomicBool::new(false));
    let wakers: Arc<[std::sync::Mutex<Option<Waker>>; 2]> = Arc::new(Default::default());
    let ping_pong = |me: usize| {
        let (flag, wakers) = (flag.clone(), wakers.clone());
        let mut spawned = false;
        std::future::poll_fn(move |cx| {
            if flag.load(Ordering::SeqCst) {
                // Let the partner see the flag too.
                if let Some(other) = wakers[1 - me].lock().unwrap().take() {
                    other.wake();
                }
                return Poll::Ready(());
            }
            if me == 0 && !spawned {
                spawned = true;
                // On the worker: queued at the back of its deque.
                let flag = flag.clone();
                drop(genrt::spawn(
                    async move { flag.store(true, Ordering::SeqCst) },
                ));
            }
            *wakers[me].lock().unwrap() = Some(cx.waker().clone());
            if let Some(other) = wakers[1 - me].lock().unwrap().take() {
                other.wake();
            }
            Poll::Pending
        })
    };
    let b = rt.spawn(ping_pong(1));
    let a = rt.spawn(ping_pong(0));
    wait_for("ping", a).unwrap();
    wait_for("pong", b).unwrap();
    assert!(flag.load(Ordering::SeqCst));
    drop_runtime(rt);
}

#[test]
fn eighty_thousand_spawns_from_eight_foreign_threads_all_complete() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 10_000;
    const TOTAL: usize = THREADS * PER_THREAD;
    let rt = runtime(2);
    let completed = Arc::new(AtomicUsize::new(0));
    let spawners: Vec<_> = (0..THREADS)
        .map(|_| {
            let handle = rt.handle().clone();
            let completed = completed.clone();
            thread::spawn(move || {
                for _ in 0..PER_THREAD {
                    let completed = completed.clone();
                    drop(handle.spawn(async move {
                        completed.fetch_add(1, Ordering::SeqCst);
                    }));
                }
            })
        })
        .collect();
    for spawner in spawners {
        spawner.join().expect("a spawning thread panicked");
    }
    wait_until("all 80,000 tasks ran", || {
        completed.load(Ordering::SeqCst) == TOTAL
    });
    wait_until("all 80,000 tasks are counted as completed", || {
        rt.metrics().snapshot().completed == TOTAL as u64
    });
    let m = rt.metrics().snapshot();
    assert_eq!(m.spawned, TOTAL as u64, "{m:?}");
    assert_eq!(m.completed, TOTAL as u64, "{m:?}");
    assert_eq!(m.live_tasks, 0, "{m:?}");
    assert_eq!(completed.load(Ordering::SeqCst), TOTAL, "no task ran twice");
    drop_runtime(rt);
}

#[test]
fn spawn_works_inside_block_on_and_inside_tasks() {
    let rt = runtime(2);
    let _watchdog = Watchdog::new("block_on of nested spawns").arm();
    let total = rt.block_on(async {
        assert!(
            genrt::Handle::try_current().is_ok(),
            "block_on enters the runtime"
        );
        let outer = genrt::spawn(async {
            let inner = genrt::spawn(async { 1 });
            let via_handle = genrt::Handle::current().spawn(async { 10 });
            inner.await.unwrap() + via_handle.await.unwrap() + 100
        });
        let sibling = genrt::Handle::current().spawn(async { 1000 });
        outer.await.unwrap() + sibling.await.unwrap()
    });
    assert_eq!(total, 1111);
    assert!(
        genrt::Handle::try_current().is_err(),
        "block_on leaves the runtime when it returns"
    );
    assert_eq!(rt.metrics().snapshot().spawned, 4);
    drop_runtime(rt);
}

#[test]
fn handles_spawn_from_other_threads_and_report_metrics() {
    let rt = genrt::Builder::new()
        .worker_threads(3)
        .thread_name("genrt-test-name")
        .build()
        .unwrap();
    assert_eq!(rt.metrics().snapshot().workers, 3);
    let handle = rt.handle().clone();
    assert_eq!(handle.metrics().snapshot().workers, 3);
    let task = thread::spawn(move || {
        handle.spawn(async {
            let name = thread::current().name().map(str::to_owned);
            let current = genrt::Handle::try_current().is_ok();
            (name, current)
        })
    })
    .join()
    .unwrap();
    let (name, current) = wait_for("a task spawned from another thread", task).unwrap();
    assert_eq!(name.as_deref(), Some("genrt-test-name"));
    assert!(current, "a task runs inside its runtime");
    drop_runtime(rt);
}

#[test]
fn spawning_after_shutdown_gives_a_cancelled_join_handle() {
    let rt = runtime(1);
    let handle = rt.handle().clone();
    assert!(Spawn::status(&handle).is_ok());
    drop_runtime(rt);

    let drops = Arc::new(AtomicUsize::new(0));
    let task = {
        let guard = DropCounter(drops.clone());
        handle.spawn(async move {
            let _guard = guard;
            5
        })
    };
    assert!(
        task.is_finished(),
        "a task spawned after shutdown ends at once"
    );
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "its future was dropped at once"
    );
    let err = {
        let _watchdog = Watchdog::new("futures::executor::block_on of a post-shutdown spawn").arm();
        futures::executor::block_on(task).unwrap_err()
    };
    assert!(err.is_cancelled());

    let status = Spawn::status(&handle).unwrap_err();
    assert!(status.is_shutdown(), "Spawn::status reports the shutdown");
    let err = SpawnExt::spawn(&handle, async {}).unwrap_err();
    assert!(err.is_shutdown());
}

#[test]
fn zero_worker_threads_is_an_error_not_a_panic() {
    let result = catch_unwind(|| genrt::Builder::new().worker_threads(0).build())
        .expect("building with zero workers must not panic");
    let err = result.expect_err("zero workers must be refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn spawning_outside_a_runtime_panics_with_a_clear_message() {
    let payload =
        catch_unwind(|| drop(genrt::spawn(async {}))).expect_err("genrt::spawn must panic here");
    let message = panic_message(&*payload).unwrap_or_default();
    assert!(
        message.contains("outside a genrt runtime"),
        "unhelpful panic message: {message:?}"
    );

    let payload = catch_unwind(genrt::Handle::current).expect_err("Handle::current must panic");
    let message = panic_message(&*payload).unwrap_or_default();
    assert!(
        message.contains("outside a genrt runtime"),
        "unhelpful panic message: {message:?}"
    );
    let err = genrt::Handle::try_current().unwrap_err();
    assert!(err.to_string().contains("outside a genrt runtime"));
}

#[test]
fn block_on_inside_a_task_panics_and_the_task_reports_it() {
    let rt = Arc::new(runtime(1));
    let task = {
        let inner = rt.clone();
        rt.spawn(async move { inner.block_on(async { 1 }) })
    };
    let err = wait_for("a task calling block_on", task).unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    let payload = err.into_panic();
    let message = panic_message(&*payload).unwrap_or_default();
    assert!(
        message.contains("block_on"),
        "the panic should say that block_on is the problem: {message:?}"
    );
    // The worker survived.
    assert_eq!(wait_for("a later task", rt.spawn(async { 2 })).unwrap(), 2);
    let rt = Arc::try_unwrap(rt).expect("the task dropped its runtime reference");
    drop_runtime(rt);
}

#[test]
fn block_on_inside_block_on_panics() {
    let rt = runtime(1);
    let _watchdog = Watchdog::new("nested block_on").arm();
    let result = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { rt.block_on(async { 1 }) })
    }));
    let payload = result.expect_err("a nested block_on must panic");
    let message = panic_message(&*payload).unwrap_or_default();
    assert!(message.contains("block_on"), "{message:?}");
    // The thread left the runtime while unwinding and can enter it again.
    assert!(genrt::Handle::try_current().is_err());
    assert_eq!(rt.block_on(async { 3 }), 3);
    drop_runtime(rt);
}
