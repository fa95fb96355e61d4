//! The per-core settle: how `process_event` and `resolve` know that **this core's** commands
//! are all suspended or finished, without any shared write on genrt's hot path and without
//! a waker that owns a command.
//!
//! Two pieces:
//!
//! - [`Settle`], one per core: `active`, the number of this core's commands that are
//!   runnable or running, and the lock and condition variable a settling caller waits on.
//! - [`Tracker`], one per command task: the command's step state, and the waker the command
//!   sees (`Waker::from(Arc<Tracker>)`). It holds the task's genrt key waker (a word that
//!   owns nothing) and an `Arc` of the core's [`Settle`]: a request the shell holds keeps at
//!   most this small tracker alive, never the command future (so crux #268 cannot come back).
//!
//! # The step state (owned by this module)
//!
//! | state              | counted in `active` | meaning                                      |
//! |--------------------|---------------------|----------------------------------------------|
//! | `IDLE`             | no                  | suspended, no wake since its last step       |
//! | `NOTIFIED`         | yes                 | woken (or new): a genrt poll is coming       |
//! | `RUNNING`          | yes                 | a worker is stepping it                      |
//! | `RUNNING_NOTIFIED` | yes                 | woken during its step: it steps again        |
//! | `DONE`             | no                  | finished, panicked or dropped                |
//!
//! Transitions, each one compare-and-swap (or swap) on the state word:
//!
//! 1. **New** ([`Tracker::new`]): `NOTIFIED`, after `active += 1` by the spawner.
//! 2. **Wake** ([`Tracker::wake_by_ref`]): `IDLE -> NOTIFIED` does `active += 1` *before*
//!    its CAS (undone if the CAS fails), then wakes the task's key waker;
//!    `RUNNING -> RUNNING_NOTIFIED` counts nothing; any other state: nothing.
//! 3. **Step start** ([`Tracker::start_step`]): `NOTIFIED -> RUNNING`; from `IDLE` (a
//!    spurious genrt poll) `active += 1` first, then `IDLE -> RUNNING`.
//! 4. **Step end, pending** ([`Tracker::end_step`]): `RUNNING -> IDLE` then `active -= 1`;
//!    `RUNNING_NOTIFIED -> NOTIFIED` keeps the count and wakes the task's own key, so genrt
//!    polls it again.
//! 5. **Done** ([`Tracker::finish`]): swap to `DONE`; `active -= 1` if it was counted.
//!
//! # Why `active == 0` means "all suspended or finished", and no wake-up is lost
//!
//! *Invariant:* `active` is at least the number of this core's commands in a counted state.
//! Every move into a counted state increments before the state changes (1, 2, 3), every move
//! out of one decrements after it (4, 5), and a command stepping spawns the commands of the
//! events it emitted (each counted at 1) before its own step ends (4, 5). So when a settling
//! caller reads `active == 0`, no command of the core is runnable or running at that instant,
//! and every effect emitted before it is in the core's outbox (pushed before the decrement;
//! the decrement's `AcqRel` pairs with the waiter's `Acquire` load).
//!
//! *A resolve is seen:* `request.resolve(..)` wakes the command synchronously on the
//! resolving thread, through crux's `CommandWaker` and the command's `AtomicWaker` to this
//! tracker (2), so the count is raised before `resolve` starts waiting. When crux's
//! `AtomicWaker` is being registered at that moment (the command is mid-step, `RUNNING`,
//! counted), the registering worker delivers the wake (`RUNNING_NOTIFIED`, step 4 repeats).
//!
//! *No lost wake-up of the waiter:* [`Settle::wait`] reads `active` while holding `lock` and
//! waits on `cond`, which releases `lock` atomically; [`Settle::sub`] takes `lock` after the
//! decrement that reaches zero and notifies under it. So either the waiter's read under the
//! lock sees zero, or it is already waiting when the notification comes.

use std::sync::atomic::AtomicU8;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::sync::{Arc, OnceLock};
use std::task::{Wake, Waker};

use parking_lot::{Condvar, Mutex};

/// One core's count of runnable or running commands, and the waiters for it to reach zero.
#[derive(Default)]
pub(crate) struct Settle {
    /// Commands in a counted state (see the module docs), plus a transient 1 around a
    /// speculative wake.
    active: AtomicUsize,
    /// Held to read `active` before waiting, and to notify after it reaches zero.
    lock: Mutex<()>,
    /// Signalled when `active` reaches zero.
    cond: Condvar,
}

impl Settle {
    /// `active += 1`.
    pub(crate) fn add(&self) {
        // AcqRel: pairs with the Acquire loads of `wait` through the RMW chain.
        self.active.fetch_add(1, AcqRel);
    }

    /// `active -= 1`, waking the waiters if it reached zero.
    pub(crate) fn sub(&self) {
        // AcqRel: publishes the step's outbox pushes to the waiter's Acquire load in `wait`.
        let before = self.active.fetch_sub(1, AcqRel);
        debug_assert!(before > 0, "settle count underflow");
        if before == 1 {
            let _guard = self.lock.lock();
            self.cond.notify_all();
        }
    }

    /// Blocks until `active` is zero at some instant.
    pub(crate) fn wait(&self) {
        // Acquire: pairs with the AcqRel decrement in `sub`.
        if self.active.load(Acquire) == 0 {
            return;
        }
        let mut guard = self.lock.lock();
        // Acquire: as above; read under `lock`, so a zero reached after it is notified to us.
        while self.active.load(Acquire) != 0 {
            self.cond.wait(&mut guard);
        }
    }

    /// The current count (for tests and debugging).
    #[cfg(test)]
    pub(crate) fn active(&self) -> usize {
        self.active.load(Acquire)
    }
}

/// Suspended, no wake since its last step. Not counted.
const IDLE: u8 = 0;
/// Woken, or new: a genrt poll is coming. Counted.
const NOTIFIED: u8 = 1;
/// A worker is stepping it. Counted.
const RUNNING: u8 = 2;
/// Woken during its step: it steps again. Counted.
const RUNNING_NOTIFIED: u8 = 3;
/// Finished, panicked or dropped. Not counted.
const DONE: u8 = 4;

/// One command task's step state and the waker its command sees (module docs).
pub(crate) struct Tracker {
    /// The step state; only this type's methods touch it.
    state: AtomicU8,
    /// The task's genrt key waker, set by its first step (a word that owns nothing).
    key: OnceLock<Waker>,
    /// The core's count.
    settle: Arc<Settle>,
}

/// What a step that returned `Pending` must do next.
#[must_use]
pub(crate) enum StepEnd {
    /// Suspended: nothing to do.
    Idle,
    /// Woken during the step: the caller's key has been woken, the task steps again.
    Again,
}

impl Tracker {
    /// A tracker for a new command, `NOTIFIED`, counted: `active += 1` happens here (step 1).
    pub(crate) fn new(settle: Arc<Settle>) -> Arc<Tracker> {
        settle.add();
        Arc::new(Tracker {
            state: AtomicU8::new(NOTIFIED),
            key: OnceLock::new(),
            settle,
        })
    }

    /// The waker the command sees.
    pub(crate) fn waker(self: &Arc<Tracker>) -> Waker {
        Waker::from(self.clone())
    }

    /// Step 3: the task's poll begins; `key` is its genrt waker. Returns `false` if the
    /// command is already `DONE` (the poll must not touch it).
    pub(crate) fn start_step(&self, key: &Waker) -> bool {
        // Set before any `IDLE` can be observed after this step (step 4's Release CAS
        // publishes it to the waker's Acquire load).
        let _ = self.key.get_or_init(|| key.clone());
        // Acquire: pairs with the AcqRel CAS of `wake_by_ref` / `end_step`.
        let mut current = self.state.load(Acquire);
        loop {
            match current {
                NOTIFIED => match self.cas(NOTIFIED, RUNNING) {
                    Ok(()) => return true,
                    Err(actual) => current = actual,
                },
                IDLE => {
                    // A spurious poll: count the step before it becomes visible as RUNNING.
                    self.settle.add();
                    match self.cas(IDLE, RUNNING) {
                        Ok(()) => return true,
                        Err(actual) => {
                            self.settle.sub();
                            current = actual;
                        }
                    }
                }
                DONE => return false,
                _ => unreachable!("a command task is stepped by one thread at a time"),
            }
        }
    }

    /// Step 4: the step ended with `Pending`. `key` is the task's own waker.
    pub(crate) fn end_step(&self, key: &Waker) -> StepEnd {
        // Acquire: pairs with the AcqRel CAS of `wake_by_ref`.
        let mut current = self.state.load(Acquire);
        loop {
            match current {
                RUNNING => match self.cas(RUNNING, IDLE) {
                    Ok(()) => {
                        self.settle.sub();
                        return StepEnd::Idle;
                    }
                    Err(actual) => current = actual,
                },
                RUNNING_NOTIFIED => match self.cas(RUNNING_NOTIFIED, NOTIFIED) {
                    Ok(()) => {
                        key.wake_by_ref();
                        return StepEnd::Again;
                    }
                    Err(actual) => current = actual,
                },
                _ => unreachable!("only the stepping thread ends a step"),
            }
        }
    }

    /// Step 5: the command is finished (or being dropped); uncount it if it was counted.
    pub(crate) fn finish(&self) {
        // AcqRel: pairs with the Acquire loads of wakes that now see DONE.
        let before = self.state.swap(DONE, AcqRel);
        if matches!(before, NOTIFIED | RUNNING | RUNNING_NOTIFIED) {
            self.settle.sub();
        }
    }

    /// One compare-and-swap of the state word.
    fn cas(&self, from: u8, to: u8) -> Result<(), u8> {
        // AcqRel on success: publishes the step's writes (and `key`) to the next
        // transition's Acquire load, and sees the previous one's. Acquire on failure: the
        // value read feeds the next attempt.
        self.state
            .compare_exchange(from, to, AcqRel, Acquire)
            .map(|_| ())
    }
}

impl Wake for Tracker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    /// Step 2.
    fn wake_by_ref(self: &Arc<Self>) {
        // Acquire: pairs with the AcqRel CAS of `end_step`, which published `key`.
        let mut current = self.state.load(Acquire);
        loop {
            match current {
                IDLE => {
                    // Count first: a step that starts and ends between our CAS and an
                    // increment after it would otherwise let `active` reach zero early.
                    self.settle.add();
                    match self.cas(IDLE, NOTIFIED) {
                        Ok(()) => {
                            if let Some(key) = self.key.get() {
                                key.wake_by_ref();
                            }
                            // No key yet: the task has not been polled, its first poll comes.
                            return;
                        }
                        Err(actual) => {
                            self.settle.sub();
                            current = actual;
                        }
                    }
                }
                RUNNING => match self.cas(RUNNING, RUNNING_NOTIFIED) {
                    Ok(()) => return,
                    Err(actual) => current = actual,
                },
                _ => return, // NOTIFIED, RUNNING_NOTIFIED: already coming; DONE: nothing.
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_state() {
        let settle = Arc::new(Settle::default());
        let tracker = Tracker::new(settle.clone());
        let key = futures::task::noop_waker_ref();
        assert_eq!(settle.active(), 1);
        assert!(tracker.start_step(key));
        let waker = tracker.waker();
        waker.wake_by_ref(); // RUNNING -> RUNNING_NOTIFIED
        assert!(matches!(tracker.end_step(key), StepEnd::Again));
        assert_eq!(settle.active(), 1);
        assert!(tracker.start_step(key));
        assert!(matches!(tracker.end_step(key), StepEnd::Idle));
        assert_eq!(settle.active(), 0);
        waker.wake_by_ref(); // IDLE -> NOTIFIED
        waker.wake_by_ref(); // coalesced
        assert_eq!(settle.active(), 1);
        assert!(tracker.start_step(key));
        tracker.finish();
        assert_eq!(settle.active(), 0);
        waker.wake_by_ref(); // DONE: nothing
        assert_eq!(settle.active(), 0);
        assert!(!tracker.start_step(key));
        settle.wait();
    }
}
