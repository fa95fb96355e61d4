//! A value handed from a waking thread to a task by `Relaxed` stores and wakes alone: the
//! scenario of the coalesced-wake stresses (`coalesced_wakes.rs`, `barrier_review.rs`).
//!
//! Each round, [`Handoff::drive`] stores the round's number with `Relaxed` (so the runtime's
//! wake/poll ordering is all that carries it), wakes the task twice (the second wake usually
//! finds it scheduled or running, and coalesces) and waits for the task, a [`Follower`], to
//! acknowledge the number. A lost wake stops a round for good: run it under a watchdog.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;

/// What the waking thread and the task share.
///
/// ```
/// let rt = support::multi_thread();
/// let handoff = support::Handoff::new(100);
/// let task = rt.spawn(handoff.follower());
/// handoff.drive();
/// rt.block_on(task).unwrap();
/// assert!(handoff.is_done());
/// ```
pub struct Handoff {
    rounds: u64,
    /// The value of the round, written `Relaxed` by the waking thread.
    sent: AtomicU64,
    /// The last value the task saw (`Release`, read `Acquire`).
    acked: AtomicU64,
    /// The task's waker, kept fresh by every poll.
    waker: Mutex<Option<Waker>>,
}

impl Handoff {
    /// A handoff of `rounds` rounds.
    pub fn new(rounds: u64) -> Arc<Handoff> {
        Arc::new(Handoff {
            rounds,
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            waker: Mutex::new(None),
        })
    }

    /// The task's future: acknowledges each value it sees, ready once the last round's is.
    pub fn follower(self: &Arc<Handoff>) -> Follower {
        Follower(self.clone())
    }

    /// Whether the task saw the last round's value.
    pub fn is_done(&self) -> bool {
        self.acked.load(Ordering::Acquire) >= self.rounds
    }

    /// Runs the rounds from the calling thread: write, wake twice, wait for the
    /// acknowledgement. Waits first for the task's first poll (its waker).
    pub fn drive(&self) {
        let waker = loop {
            if let Some(waker) = self.waker.lock().unwrap().clone() {
                break waker;
            }
            thread::yield_now();
        };
        for round in 1..=self.rounds {
            self.sent.store(round, Ordering::Relaxed);
            waker.wake_by_ref();
            waker.wake_by_ref();
            let mut spins = 0u32;
            while self.acked.load(Ordering::Acquire) < round {
                spins += 1;
                if spins % 64 == 0 {
                    thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

/// The task of a [`Handoff`].
pub struct Follower(Arc<Handoff>);

impl Future for Follower {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let handoff = &self.0;
        {
            let mut slot = handoff.waker.lock().unwrap();
            if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
        }
        // Relaxed: only the runtime's wake/poll ordering may carry the waker's write here.
        let seen = handoff.sent.load(Ordering::Relaxed);
        handoff.acked.store(seen, Ordering::Release);
        if seen >= handoff.rounds {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
