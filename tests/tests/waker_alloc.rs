//! A genrt waker is a key in a word: cloning, dropping and waking a stale one allocate
//! nothing. Allocations are counted per thread by a counting global allocator, so other
//! threads (workers, the test harness) cannot disturb the count. The tests still take
//! `serial()`, so that a later test here that counts globally can join them safely.

use std::hint::black_box;
use std::sync::mpsc;
use std::task::{Poll, Waker};

use support::counting::{thread_allocations, CountingAlloc};
use support::{drop_runtime, recv, runtime, serial, wait_for};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Spawns a task that hands out its waker on each of its two polls and returns both.
fn two_wakers_of_one_task(rt: &genrt::Runtime) -> (Waker, Waker) {
    let (tx, rx) = mpsc::channel();
    let mut polls = 0;
    let task = rt.spawn(std::future::poll_fn(move |cx| {
        tx.send(cx.waker().clone()).unwrap();
        polls += 1;
        if polls == 1 {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }));
    wait_for("the waker-lending task", task).unwrap();
    let first = recv(&rx, "the task's first waker");
    let second = recv(&rx, "the task's second waker");
    (first, second)
}

#[test]
fn wakers_of_one_task_will_wake_each_other_and_not_another_tasks() {
    let _serial = serial();
    let rt = runtime(2);
    let (a1, a2) = two_wakers_of_one_task(&rt);
    let (b1, b2) = two_wakers_of_one_task(&rt);
    assert!(
        a1.will_wake(&a2),
        "two wakers of one task wake the same task"
    );
    assert!(a1.will_wake(&a1.clone()), "a clone wakes the same task");
    assert!(b2.will_wake(&b1));
    assert!(!a1.will_wake(&b1), "wakers of two tasks are told apart");
    assert!(!b2.will_wake(&a2), "wakers of two tasks are told apart");
    drop_runtime(rt);
}

#[test]
fn a_million_waker_clones_and_drops_allocate_nothing() {
    const ROUNDS: usize = 1_000_000;
    let _serial = serial();
    let rt = runtime(2);
    // A live task's waker: the task stays pending until the runtime drops.
    let (tx, rx) = mpsc::channel();
    let task = rt.spawn(std::future::poll_fn(move |cx| {
        let _ = tx.send(cx.waker().clone());
        Poll::<()>::Pending
    }));
    let waker = recv(&rx, "the pending task's waker");

    // The counter does count on this thread.
    let before = thread_allocations();
    drop(black_box(Box::new(7u64)));
    assert_eq!(thread_allocations(), before + 1, "the allocator counts");

    let before = thread_allocations();
    for _ in 0..ROUNDS {
        let clone = black_box(&waker).clone();
        drop(black_box(clone));
    }
    let allocated = thread_allocations() - before;
    assert_eq!(
        allocated, 0,
        "{ROUNDS} clones and drops of a live task's waker made {allocated} allocations"
    );

    drop(task);
    drop_runtime(rt);

    // The same for the now stale waker, and waking it (the runtime is gone) allocates
    // nothing either.
    let before = thread_allocations();
    for _ in 0..ROUNDS {
        let clone = black_box(&waker).clone();
        drop(black_box(clone));
    }
    for _ in 0..ROUNDS / 10 {
        black_box(&waker).wake_by_ref();
    }
    let allocated = thread_allocations() - before;
    assert_eq!(
        allocated, 0,
        "clones, drops and wakes of a stale waker made {allocated} allocations"
    );
}
