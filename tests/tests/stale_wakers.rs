//! The seed scenario (Crux #268) and what a stale waker may and may not do.
//!
//! A genrt waker is a key `(runtime, slot, generation)`: it owns nothing, so a suspended
//! future whose waker sits in a pending request is freed with the runtime, and a waker that
//! outlives its task wakes nothing, not even the task that reuses the slot.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;

use genrt_waker::{key_of_waker, TaskKey, MAX_RUNTIMES};
use support::{
    drop_runtime, has_waker, runtime, take_waker, wait_for, wait_until, waker_slot, CountPolls,
    Request, WakerSlot,
};

fn key(waker: &Waker) -> TaskKey {
    key_of_waker(waker).expect("a waker handed out by genrt is a genrt key waker")
}

/// Wakes `waker` in every way a holder can: by reference and by value on this thread, and by
/// value from another thread.
fn wake_every_way(waker: &Waker) {
    waker.wake_by_ref();
    let by_value = waker.clone();
    by_value.wake();
    let remote = waker.clone();
    thread::spawn(move || {
        remote.wake_by_ref();
        let by_value = remote.clone();
        by_value.wake();
        remote.wake();
    })
    .join()
    .expect("waking a stale waker from another thread does not panic");
}

/// Runs a task to completion on `rt` and waits for it: everything queued before it on a
/// one-worker runtime has been polled by then.
fn run_sentinel(rt: &genrt::Runtime) {
    wait_for("a sentinel task", rt.spawn(async {})).unwrap();
}

#[test]
fn seed_a_future_suspended_on_a_request_is_freed_when_the_runtime_drops() {
    let rt = runtime(2);
    let counter = Arc::new(());
    let slot = waker_slot();
    let task = {
        let counter = counter.clone();
        let slot = slot.clone();
        rt.spawn(async move {
            let _counter = counter;
            Request { slot }.await;
        })
    };
    wait_until("the task suspended on its request", || has_waker(&slot));
    assert_eq!(
        Arc::strong_count(&counter),
        2,
        "the suspended future holds its clone of the counter"
    );

    drop_runtime(rt);

    assert_eq!(
        Arc::strong_count(&counter),
        1,
        "dropping the runtime must drop a suspended future even though its waker is still held"
    );
    assert_eq!(
        Arc::strong_count(&slot),
        1,
        "the future's handle on the request was dropped too"
    );
    assert!(
        wait_for("the join handle of the dropped task", task)
            .unwrap_err()
            .is_cancelled(),
        "an unfinished task's join handle resolves to cancelled"
    );

    // The stored waker is stale now: every wake does nothing and nothing crashes.
    let waker = take_waker(&slot);
    waker.wake_by_ref();
    let remote = waker.clone();
    thread::spawn(move || remote.wake())
        .join()
        .expect("a stale wake from another thread does not panic");
    wake_every_way(&waker);
    drop(waker);
    assert_eq!(Arc::strong_count(&counter), 1);
}

/// A future that closes the cycle of Crux #268 inside itself: it keeps its own waker in a
/// request it owns, so `task -> future -> request -> waker` would loop back to the task if a
/// waker owned its task.
struct SelfRequest {
    own_waker: Arc<Mutex<Option<Waker>>>,
    _counter: Arc<()>,
    suspended: Arc<AtomicUsize>,
}

impl Future for SelfRequest {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut own = self.own_waker.lock().unwrap();
        if own.is_none() {
            self.suspended.fetch_add(1, Ordering::SeqCst);
        }
        *own = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn a_future_holding_its_own_waker_is_freed_when_the_runtime_drops() {
    const TASKS: usize = 100;
    let rt = runtime(2);
    let counter = Arc::new(());
    let suspended = Arc::new(AtomicUsize::new(0));
    for _ in 0..TASKS {
        drop(rt.spawn(SelfRequest {
            own_waker: Arc::new(Mutex::new(None)),
            _counter: counter.clone(),
            suspended: suspended.clone(),
        }));
    }
    wait_until("every task suspended with its own waker", || {
        suspended.load(Ordering::SeqCst) == TASKS
    });
    assert_eq!(Arc::strong_count(&counter), TASKS + 1);
    // A handle outlives the runtime (it keeps the runtime's memory, not its tasks): the
    // futures must go with the runtime's drop, not wait for its last handle.
    let handle = rt.handle().clone();
    drop_runtime(rt);
    assert_eq!(
        Arc::strong_count(&counter),
        1,
        "a future that holds its own waker must not keep itself alive"
    );
    drop(handle);
}

#[test]
fn tasks_never_polled_are_freed_at_shutdown() {
    let rt = runtime(1);
    let counter = Arc::new(());
    let busy = waker_slot();
    // The first task keeps the only worker inside its poll until the test releases it, so
    // the tasks spawned after it are still queued, never polled, at shutdown.
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let blocker = {
        let busy = busy.clone();
        rt.spawn(std::future::poll_fn(move |cx| {
            *busy.lock().unwrap() = Some(cx.waker().clone());
            // Bounded, in case the test fails before releasing it.
            let _ = release_rx.recv_timeout(support::DEADLINE);
            Poll::<()>::Pending
        }))
    };
    wait_until("the only worker is busy", || has_waker(&busy));
    let queued: Vec<_> = (0..10)
        .map(|_| {
            let counter = counter.clone();
            rt.spawn(async move {
                let _counter = counter;
                std::future::pending::<()>().await
            })
        })
        .collect();
    assert_eq!(Arc::strong_count(&counter), 11);

    // The worker cannot exit while it is stuck in the blocker's poll, so this gives up
    // waiting for it; it still drops every task that is not running.
    let all_exited = rt.shutdown_timeout(std::time::Duration::from_millis(100));
    assert!(
        !all_exited,
        "the worker was stuck in a poll, so it cannot have exited"
    );
    assert_eq!(
        Arc::strong_count(&counter),
        1,
        "tasks still queued at shutdown were dropped before shutdown_timeout returned"
    );
    for task in queued {
        assert!(wait_for("a queued task's join handle", task)
            .unwrap_err()
            .is_cancelled());
    }
    release_tx.send(()).unwrap();
    assert!(
        wait_for("the blocker's join handle", blocker)
            .unwrap_err()
            .is_cancelled(),
        "the worker left behind drops its task when the poll returns"
    );
}

#[test]
fn a_stale_waker_does_not_poll_the_next_occupant_of_its_slot() {
    let rt = runtime(1);

    // Task A hands out its waker and finishes at once.
    let a_slot = waker_slot();
    let a = {
        let a_slot = a_slot.clone();
        rt.spawn(std::future::poll_fn(move |cx| {
            *a_slot.lock().unwrap() = Some(cx.waker().clone());
            Poll::Ready(())
        }))
    };
    wait_for("task A", a).unwrap();
    // The join handle resolves inside A's last poll; the slot is freed just after.
    wait_until("task A's slot is freed", || {
        rt.metrics().snapshot().completed == 1
    });
    let a_waker = take_waker(&a_slot);

    // Task B, spawned after A is gone, takes A's slot; it stays pending and counts polls.
    let b_polls = Arc::new(AtomicUsize::new(0));
    let b_slot = waker_slot();
    let b = rt.spawn(CountPolls {
        polls: b_polls.clone(),
        waker: b_slot.clone(),
    });
    wait_until("task B's first poll", || {
        b_polls.load(Ordering::SeqCst) == 1
    });
    let b_waker = b_slot.lock().unwrap().clone().expect("B stored its waker");
    let (a_key, b_key) = (key(&a_waker), key(&b_waker));
    assert_eq!(
        a_key.slot(),
        b_key.slot(),
        "precondition: B reuses A's slot ({a_key:?} vs {b_key:?})"
    );
    assert_ne!(
        a_key.generation(),
        b_key.generation(),
        "the slot's generation moved on"
    );
    assert!(!a_waker.will_wake(&b_waker));

    let stale_before = rt.metrics().snapshot().stale_wakes;

    // From threads outside the runtime: a wrongly scheduled B would be queued in the injector
    // ahead of the sentinel.
    wake_every_way(&a_waker);
    run_sentinel(&rt);
    assert_eq!(
        b_polls.load(Ordering::SeqCst),
        1,
        "a stale waker woken outside the runtime polled the slot's next occupant"
    );

    // From the worker thread itself (the thread-local fast path): a wrongly scheduled B
    // would run before this task resumes from its yield.
    let inside = a_waker.clone();
    wait_for(
        "the task that wakes A's stale waker on the worker",
        rt.spawn(async move {
            inside.wake_by_ref();
            let by_value = inside.clone();
            by_value.wake();
            genrt::yield_now().await;
        }),
    )
    .unwrap();
    run_sentinel(&rt);
    assert_eq!(
        b_polls.load(Ordering::SeqCst),
        1,
        "a stale waker woken on a worker polled the slot's next occupant"
    );

    let stale_after = rt.metrics().snapshot().stale_wakes;
    assert!(
        stale_after >= stale_before + 7,
        "every stale wake is counted: {stale_before} before, {stale_after} after 7 stale wakes"
    );

    // Control: B's own waker does reach B, so the poll counter above could have moved.
    b_waker.wake_by_ref();
    wait_until("B's own waker polls B", || {
        b_polls.load(Ordering::SeqCst) == 2
    });
    b.abort();
    assert!(wait_for("B's join handle", b).unwrap_err().is_cancelled());
    drop_runtime(rt);
}

/// Spawns a pending, poll-counting task and returns its poll counter and waker slot once it
/// has been polled.
fn spawn_counted(rt: &genrt::Runtime) -> (Arc<AtomicUsize>, WakerSlot) {
    let polls = Arc::new(AtomicUsize::new(0));
    let slot = waker_slot();
    drop(rt.spawn(CountPolls {
        polls: polls.clone(),
        waker: slot.clone(),
    }));
    wait_until("the counted task's first poll", || {
        polls.load(Ordering::SeqCst) == 1
    });
    (polls, slot)
}

#[test]
fn a_stale_waker_does_not_reach_a_later_runtime_in_the_same_registry_entry() {
    let rt = runtime(1);
    let (_, old_slot) = spawn_counted(&rt);
    let old = take_waker(&old_slot);
    let old_key = key(&old);
    drop_runtime(rt);

    // Registry entries are reused; cycle runtimes until one gets the old runtime's entry.
    // Other tests of this binary start runtimes too, which only changes when that happens.
    for _ in 0..4 * MAX_RUNTIMES {
        let rt = runtime(1);
        let (polls, slot) = spawn_counted(&rt);
        let new_key = key(&slot.lock().unwrap().clone().unwrap());
        if new_key.runtime() != old_key.runtime() {
            drop_runtime(rt);
            continue;
        }
        assert_ne!(
            (new_key.slot(), new_key.generation()),
            (old_key.slot(), old_key.generation()),
            "a later runtime in the same registry entry reissued a key of the dropped one"
        );
        wake_every_way(&old);
        run_sentinel(&rt);
        assert_eq!(
            polls.load(Ordering::SeqCst),
            1,
            "a stale waker of a dropped runtime polled a task of the runtime that reused its \
             registry entry"
        );
        drop_runtime(rt);
        return;
    }
    panic!(
        "no runtime took registry entry {:?} in {} tries",
        old_key.runtime(),
        4 * MAX_RUNTIMES
    );
}
