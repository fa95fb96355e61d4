//! Counting tasks that are queued or running, so a host can wait until none is
//! ([`Handle::settle`](crate::Handle::settle)). This module owns the words `active` and
//! `waiters`.
//!
//! `active` counts the tasks whose slot state has `SCHEDULED` or `RUNNING`:
//!
//! - `+1` after a spawn inserts a task and after a wake moves a task from idle to
//!   `SCHEDULED`, in both cases before its key is pushed to a queue;
//! - `-1` after a poll leaves the task idle (`Pending`, not woken during the poll), or after
//!   the task is completed or cancelled by its worker. A task woken during its own poll stays
//!   counted.
//!
//! Because the increment happens before the push, and the decrement after the pop, the poll
//! and the transition back to idle, the count never goes below the number of queued or
//! running tasks except in the instant between a wake's compare-and-swap and its increment.
//! A wake in that instant was issued by a thread other than a task of this runtime (a task's
//! own wakes happen while it is counted as running), so it is concurrent with the settle and
//! may land on either side of it; see the guarantee on `Handle::settle`.

use std::time::Instant;

use crate::loom::sync::atomic::{loom_only_seq_cst_fence, AtomicUsize, Ordering};
use crate::loom::sync::{Condvar, Mutex};

#[repr(align(128))] // every worker updates `active`: keep it off other hot words' lines
pub(crate) struct Activity {
    active: AtomicUsize,
    waiters: AtomicUsize,
    lock: Mutex<()>,
    settled: Condvar,
}

impl Activity {
    pub(crate) fn new() -> Activity {
        Activity {
            active: AtomicUsize::new(0),
            waiters: AtomicUsize::new(0),
            lock: Mutex::new(()),
            settled: Condvar::new(),
        }
    }

    /// A task became scheduled.
    pub(crate) fn begin(&self) {
        // SeqCst (with `end` and `wait`): a settle that reads 0 must not miss a task that a
        // running task scheduled before it ended; all three use one total order.
        self.active.fetch_add(1, Ordering::SeqCst);
    }

    /// A task stopped being scheduled or running.
    pub(crate) fn end(&self) {
        let last = self.active.fetch_sub(1, Ordering::SeqCst) == 1;
        // The Dekker pair with `wait`, for loom's sake (its `SeqCst` accesses are `AcqRel`).
        loom_only_seq_cst_fence();
        if last && self.waiters.load(Ordering::SeqCst) != 0 {
            // Taking the lock orders this notify after a waiter that read `active != 0` has
            // started waiting (it holds the lock from its read until `wait` releases it).
            let _guard = self.lock.lock();
            self.settled.notify_all();
        }
    }

    /// Waits until no task is queued or running, or until `deadline`. Returns whether the
    /// runtime settled.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut guard = self.lock.lock();
        // SeqCst: the increment is ordered before the read of `active`, so an `end` that
        // brings `active` to 0 after that read sees the waiter (pairs with `end`).
        self.waiters.fetch_add(1, Ordering::SeqCst);
        // The Dekker pair with `end`, for loom's sake (its `SeqCst` accesses are `AcqRel`).
        loom_only_seq_cst_fence();
        let settled = loop {
            if self.active.load(Ordering::SeqCst) == 0 {
                break true;
            }
            match deadline {
                None => self.settled.wait(&mut guard),
                Some(deadline) => {
                    if self.settled.wait_until(&mut guard, deadline).timed_out() {
                        break self.active.load(Ordering::SeqCst) == 0;
                    }
                }
            }
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        settled
    }

    /// The current count (racy; for tests and debugging).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn wait_returns_at_once_when_idle_and_times_out_when_busy() {
        let a = Activity::new();
        assert!(a.wait(None));
        a.begin();
        assert!(!a.wait(Some(Instant::now() + Duration::from_millis(10))));
        a.end();
        assert_eq!(a.active(), 0);
        assert!(a.wait(Some(Instant::now())));
    }

    #[test]
    fn the_last_end_wakes_a_waiter() {
        let a = Arc::new(Activity::new());
        a.begin();
        let waiter = {
            let a = a.clone();
            std::thread::spawn(move || a.wait(None))
        };
        // Whether the waiter is already waiting or not, it must return.
        a.end();
        assert!(waiter.join().unwrap());
    }
}
