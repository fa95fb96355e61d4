//! A coalesced wake is never lost: what a waker wrote before a wake that found a poll already
//! owed (the task `SCHEDULED`, or `RUNNING | NOTIFIED`) is seen by that poll.
//!
//! Such a wake writes nothing to the task's state word; it is published by a pair of fences,
//! `F_W` after the waker's writes and `F_P` after the poller's claim (`waker/src/state.rs`,
//! "Coalesced wakes"; on x86 `F_P` is the claim's locked CAS, `f_p`). If either were missing,
//! the waker's write could sit in its store buffer while the poller claims the task and reads
//! the old value: the task returns `Pending` and no later wake comes. Here each round a
//! foreign thread writes a value with `Relaxed` stores (so the runtime's ordering is all that
//! carries it), wakes the task twice (the second wake usually finds it `SCHEDULED` or running
//! and coalesces), and waits for the task to acknowledge the value; a lost wake stops the
//! round, and the watchdog fails the test. Both paths are covered: wakes from a plain thread
//! (through the registry, `W2`) and from a thread inside the runtime's context (a blocking
//! closure of the runtime, whose wakes skip the registry).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;

use support::{drop_runtime, runtime, wait_until, Watchdog};

/// Rounds per test: enough to cross many claims and polls in release.
const ROUNDS: u64 = if cfg!(debug_assertions) {
    20_000
} else {
    200_000
};

/// What the waker and the task share.
#[derive(Default)]
struct Shared {
    /// The value of the round, written `Relaxed` by the waker.
    sent: AtomicU64,
    /// The last value the task saw, written by the task (`Release`, read `Acquire`).
    acked: AtomicU64,
    /// The task's waker, kept fresh by every poll.
    waker: Mutex<Option<Waker>>,
    done: AtomicBool,
}

/// Acknowledges each value it sees; pending until `ROUNDS` is seen.
struct Follower(Arc<Shared>);

impl Future for Follower {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let shared = &self.0;
        {
            let mut slot = shared.waker.lock().unwrap();
            if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
        }
        // Relaxed: what this test checks is that the runtime's wake/poll ordering alone
        // carries the waker's write here.
        let seen = shared.sent.load(Ordering::Relaxed);
        shared.acked.store(seen, Ordering::Release);
        if seen >= ROUNDS {
            shared.done.store(true, Ordering::Release);
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Runs the rounds from the calling thread: write, wake twice, wait for the acknowledgement.
fn drive(shared: &Shared) {
    let waker = loop {
        if let Some(waker) = shared.waker.lock().unwrap().clone() {
            break waker;
        }
        thread::yield_now();
    };
    for round in 1..=ROUNDS {
        shared.sent.store(round, Ordering::Relaxed);
        waker.wake_by_ref();
        waker.wake_by_ref();
        let mut spins = 0u32;
        while shared.acked.load(Ordering::Acquire) < round {
            spins += 1;
            if spins % 64 == 0 {
                thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

#[test]
fn coalesced_wakes_from_a_foreign_thread_are_never_lost() {
    Watchdog::new("coalesced_wakes_from_a_foreign_thread_are_never_lost").run(|| {
        for workers in [1, 2] {
            let rt = runtime(workers);
            let shared = Arc::new(Shared::default());
            let handle = rt.spawn(Follower(shared.clone()));
            drive(&shared);
            wait_until("the follower's end", || shared.done.load(Ordering::Acquire));
            rt.block_on(handle).unwrap();
            drop_runtime(rt);
        }
    });
}

#[test]
fn coalesced_wakes_from_inside_the_runtime_are_never_lost() {
    Watchdog::new("coalesced_wakes_from_inside_the_runtime_are_never_lost").run(|| {
        let rt = runtime(2);
        let shared = Arc::new(Shared::default());
        let follower = rt.spawn(Follower(shared.clone()));
        // A blocking thread of the runtime is inside its context: its wakes go straight to
        // the runtime (no registry window, so no W2) and queue the task on the injector.
        let driver = {
            let shared = shared.clone();
            rt.spawn_blocking(move || drive(&shared))
        };
        rt.block_on(driver).unwrap();
        wait_until("the follower's end", || shared.done.load(Ordering::Acquire));
        rt.block_on(follower).unwrap();
        drop_runtime(rt);
    });
}
