//! `Runtime::block_on` never loses a wake, even when the future it runs parks the thread
//! itself (`std::sync::mpsc::Receiver::recv`, `std::thread::scope`, a park loop) and so
//! consumes the park token that a wake left. Every test runs under a watchdog: a lost wake
//! fails it instead of hanging the suite.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use support::{drop_runtime, runtime, wait_until, DropCounter, Watchdog};

/// Spawns a task that finishes once a shell thread resolves its request; the thread then
/// waits until the task's future is dropped (its completion, whose wake follows at once),
/// gives that wake a moment to land, and only then sends on `tx`. The wake therefore lands
/// while the `block_on` thread is blocked inside the other branch of its `join!`.
fn task_finishing_during_a_blocking_recv(
    rt: &genrt::Runtime,
    tx: mpsc::Sender<u32>,
) -> (genrt::JoinHandle<u32>, thread::JoinHandle<()>) {
    let (request, resolver) = genrt::shell::request::<u32>();
    let dropped = Arc::new(AtomicUsize::new(0));
    let guard = DropCounter(dropped.clone());
    let task = rt.spawn(async move {
        let _guard = guard;
        request.await.expect("resolved")
    });
    let shell = thread::spawn(move || {
        // Give `block_on` time to enter `recv`; only the order matters, not the time.
        thread::sleep(Duration::from_millis(20));
        resolver.resolve(41).expect("the task is waiting");
        wait_until("the task finishes", || dropped.load(Ordering::SeqCst) == 1);
        thread::sleep(Duration::from_millis(50));
        tx.send(1).unwrap();
    });
    (task, shell)
}

/// The reproduction: a join handle and a blocking `recv` joined in one `block_on`.
#[test]
fn a_wake_during_a_blocking_recv_inside_block_on_is_not_lost() {
    let rt = runtime(2);
    let (tx, rx) = mpsc::channel();
    let (task, shell) = task_finishing_during_a_blocking_recv(&rt, tx);
    let rt = Watchdog::new("block_on of a join handle and a blocking recv").run(move || {
        let (value, received) =
            rt.block_on(async { futures::join!(task, async { rx.recv().unwrap() }) });
        assert_eq!(value.unwrap() + received, 42);
        rt
    });
    shell.join().unwrap();
    drop_runtime(rt);
}

/// The same with `std::thread::scope`, which parks the calling thread until its threads end.
#[test]
fn a_wake_during_a_thread_scope_inside_block_on_is_not_lost() {
    let rt = runtime(2);
    let (tx, rx) = mpsc::channel();
    let (task, shell) = task_finishing_during_a_blocking_recv(&rt, tx);
    let rt = Watchdog::new("block_on of a join handle and a thread scope").run(move || {
        let (value, received) = rt.block_on(async {
            futures::join!(task, async {
                let mut received = 0;
                let out = &mut received;
                thread::scope(|s| {
                    s.spawn(move || *out = rx.recv().unwrap());
                });
                received
            })
        });
        assert_eq!(value.unwrap() + received, 42);
        rt
    });
    shell.join().unwrap();
    drop_runtime(rt);
}

/// A future that parks the thread itself in a loop (consuming any token) until a task has
/// finished, so the task's completion wake lands while it parks: `block_on` still sees it.
#[test]
fn a_future_that_parks_the_thread_until_a_task_finishes_still_completes() {
    let rt = runtime(2);
    let rt = Watchdog::new("block_on of a future that parks its thread").run(move || {
        let total = rt.block_on(async {
            let mut sum = 0;
            for i in 0..20u32 {
                let dropped = Arc::new(AtomicUsize::new(0));
                let guard = DropCounter(dropped.clone());
                let task = genrt::spawn(async move {
                    let _guard = guard;
                    i
                });
                sum += futures::join!(task, async {
                    // The future is dropped just before the completion wake; park a few
                    // more times so that the wake's token is eaten here.
                    while dropped.load(Ordering::SeqCst) == 0 {
                        thread::park_timeout(Duration::from_millis(1));
                    }
                    for _ in 0..5 {
                        thread::park_timeout(Duration::from_millis(1));
                    }
                })
                .0
                .unwrap();
            }
            sum
        });
        assert_eq!(total, (0..20).sum::<u32>());
        rt
    });
    drop_runtime(rt);
}
