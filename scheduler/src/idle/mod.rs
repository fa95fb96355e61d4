//! Parking and waking idle workers, and waiting until every worker is idle (`settle`). The
//! protocol and the proofs that it loses no wake-up, and that a settle sees a quiet instant,
//! are in `README.md` beside this file; read it before changing anything here.
//!
//! This module owns the words `searching` and `sleeping`, and the `sleepers` lock with what it
//! guards.

use std::time::Instant;

use crate::loom::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::loom::sync::{Arc, Condvar, Mutex};

pub(crate) struct Idle {
    workers: usize,
    searching: AtomicUsize,
    sleeping: AtomicUsize,
    sleepers: Mutex<Sleepers>,
    /// Signalled, under the `sleepers` lock, when the last worker becomes idle while a settle
    /// waits (README, "Settle").
    settled: Condvar,
    /// In `Arc`s: a driven runtime's `block_on` waker unparks its driver ([`Unparker`]).
    parkers: Box<[Arc<Parker>]>,
}

/// What the `sleepers` lock guards. Every worker is in `registered`, counted in `absent`, or
/// *present* (in its loop, not registered); only a present worker runs tasks or holds keys.
struct Sleepers {
    /// Workers registered to sleep (README, "Park").
    registered: Vec<usize>,
    /// Workers not in their run loop: not started yet, or exited. Starts at `workers`.
    absent: usize,
    /// Threads inside [`Idle::wait_settled`].
    settle_waiters: usize,
    /// Threads outside the workers that may hold a key or poll a task: stand-ins for blocked
    /// workers inside `Handle::run_stolen` ([`Idle::enter_foreign`]). Present as a worker is.
    foreign: usize,
}

impl Sleepers {
    /// No worker (and no stand-in) is present: none runs a task or holds a key.
    fn all_idle(&self, workers: usize) -> bool {
        self.registered.len() + self.absent == workers && self.foreign == 0
    }
}

struct Parker {
    notified: Mutex<bool>,
    condvar: Condvar,
}

impl Idle {
    pub(crate) fn new(workers: usize) -> Idle {
        Idle {
            workers,
            searching: AtomicUsize::new(0),
            sleeping: AtomicUsize::new(0),
            sleepers: Mutex::new(Sleepers {
                registered: Vec::with_capacity(workers),
                absent: workers,
                settle_waiters: 0,
                foreign: 0,
            }),
            settled: Condvar::new(),
            parkers: (0..workers)
                .map(|_| {
                    Arc::new(Parker {
                        notified: Mutex::new(false),
                        condvar: Condvar::new(),
                    })
                })
                .collect(),
        }
    }

    /// Push, steps 2-4: called after work was pushed to any queue.
    pub(crate) fn notify_one(&self) {
        // SeqCst fence F_P: orders the push before the reads below against the parking
        // worker's fence F_W in `park` (README, "Why no wake-up is lost").
        fence(Ordering::SeqCst);
        self.notify_one_after_fence();
    }

    /// Push, steps 3-4, for a caller that issued F_P itself: a `fence(SeqCst)` after its
    /// push and before this call (`Shared::spawn` shares it with its `closed` check).
    pub(crate) fn notify_one_after_fence(&self) {
        if self.searching.load(Ordering::SeqCst) != 0 || self.sleeping.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut sleepers = self.sleepers.lock();
        if self.searching.load(Ordering::SeqCst) != 0 {
            return;
        }
        let Some(worker) = sleepers.registered.pop() else {
            return;
        };
        self.sleeping.fetch_sub(1, Ordering::SeqCst);
        self.searching.fetch_add(1, Ordering::SeqCst);
        drop(sleepers);
        self.parkers[worker].unpark();
    }

    /// Search: become a searcher if fewer than half of the workers search.
    pub(crate) fn try_begin_search(&self) -> bool {
        let searching = self.searching.load(Ordering::SeqCst);
        if 2 * searching >= self.workers {
            return false;
        }
        self.searching.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// A searcher found work. Returns whether it was the last searcher; the caller then
    /// notifies one more worker.
    pub(crate) fn end_search(&self) -> bool {
        self.searching.fetch_sub(1, Ordering::SeqCst) == 1
    }

    /// Park, steps 1-3. Returns `false` if the worker must not sleep because `has_work`
    /// found work after registration; the worker is then searching.
    pub(crate) fn prepare_park(
        &self,
        worker: usize,
        was_searching: bool,
        has_work: impl FnOnce() -> bool,
    ) -> bool {
        {
            let mut sleepers = self.sleepers.lock();
            sleepers.registered.push(worker);
            self.sleeping.fetch_add(1, Ordering::SeqCst);
            self.signal_if_settled(&sleepers);
        }
        if was_searching {
            self.searching.fetch_sub(1, Ordering::SeqCst);
        }
        // SeqCst fence F_W: pairs with F_P in `notify_one` (README).
        fence(Ordering::SeqCst);
        if self.searching.load(Ordering::SeqCst) == 0 && has_work() {
            if !self.leave_sleepers(worker) {
                // A notifier popped this worker and is about to hand it a token: take it now,
                // so that no stale token makes the worker leave `registered` later without a
                // push (README, "Settle": the idle set is stable).
                self.parkers[worker].park();
            }
            return false;
        }
        true
    }

    /// Park, step 4: waits for the worker's token, then makes sure it is a searcher.
    pub(crate) fn park(&self, worker: usize) {
        self.parkers[worker].park();
        self.leave_sleepers(worker);
    }

    /// Park, step 4, for the worker holding the timed park (`time`): as [`Idle::park`], but
    /// returns at `deadline` at the latest.
    pub(crate) fn park_until(&self, worker: usize, deadline: Instant) {
        self.parkers[worker].park_until(deadline);
        self.leave_sleepers(worker);
    }

    /// Gives `worker` a token without touching `sleepers`: a registered worker returns from
    /// its park and leaves `sleepers` itself (the timer kick, README "Timers").
    pub(crate) fn unpark_worker(&self, worker: usize) {
        self.parkers[worker].unpark();
    }

    /// A handle that gives `worker` a token, as [`Idle::unpark_worker`] does: for a driven
    /// runtime's `block_on`, whose future's wakes must end its driver's park.
    pub(crate) fn unparker(&self, worker: usize) -> Unparker {
        Unparker(self.parkers[worker].clone())
    }

    /// Waits for `worker`'s token without registering to sleep: a driver of a closed runtime,
    /// which runs no task any more and waits only for its `block_on` future's wake.
    pub(crate) fn wait_token(&self, worker: usize) {
        self.parkers[worker].park();
    }

    /// Paused clock (README, "Timers"): if, under the `sleepers` lock, no worker is present
    /// and `advance()` (the injector is empty and the clock moved to a pending timer) holds,
    /// moves the registered `worker` to *searching* and returns `true`.
    pub(crate) fn leave_if_all_idle(&self, worker: usize, advance: impl FnOnce() -> bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        if !sleepers.all_idle(self.workers) {
            return false;
        }
        let Some(i) = sleepers.registered.iter().position(|&w| w == worker) else {
            return false;
        };
        if !advance() {
            return false;
        }
        sleepers.registered.swap_remove(i);
        self.sleeping.fetch_sub(1, Ordering::SeqCst);
        self.searching.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// Wakes every worker (shutdown).
    pub(crate) fn unpark_all(&self) {
        for parker in self.parkers.iter() {
            parker.unpark();
        }
    }

    /// Moves `worker` from *registered* to *searching* if it is still registered, and says
    /// whether it was. If a notifier already popped it, the notifier did the move and a
    /// token is on its way.
    fn leave_sleepers(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        let Some(i) = sleepers.registered.iter().position(|&w| w == worker) else {
            return false;
        };
        sleepers.registered.swap_remove(i);
        self.sleeping.fetch_sub(1, Ordering::SeqCst);
        self.searching.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// Worker `worker` enters its run loop: it stops being absent until the returned guard
    /// drops (when the worker leaves the loop, or unwinds).
    pub(crate) fn enter_loop(&self, worker: usize) -> Presence<'_> {
        self.sleepers.lock().absent -= 1;
        Presence { idle: self, worker }
    }

    /// A thread outside the workers that is about to take a key from the queues and poll its
    /// task (a stand-in, `Handle::run_stolen`) counts as present until the guard drops, from
    /// before it takes the key until the poll has ended (README, "Settle").
    pub(crate) fn enter_foreign(&self) -> Foreign<'_> {
        self.sleepers.lock().foreign += 1;
        Foreign { idle: self }
    }

    /// Settle: waits until no worker is present and `quiet()` holds (read under the
    /// `sleepers` lock), or until `deadline`. Returns whether that happened (README,
    /// "Settle").
    pub(crate) fn wait_settled(&self, deadline: Option<Instant>, quiet: impl Fn() -> bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        sleepers.settle_waiters += 1;
        let settled = loop {
            if sleepers.all_idle(self.workers) && quiet() {
                break true;
            }
            match deadline {
                None => self.settled.wait(&mut sleepers),
                Some(deadline) => {
                    if self.settled.wait_until(&mut sleepers, deadline).timed_out() {
                        break sleepers.all_idle(self.workers) && quiet();
                    }
                }
            }
        };
        sleepers.settle_waiters -= 1;
        settled
    }

    /// Called under the `sleepers` lock after a worker stopped being present: wakes the
    /// settle waiters if it was the last one. A waiter that finds `quiet` false waits for
    /// the next time (README, "Settle").
    fn signal_if_settled(&self, sleepers: &Sleepers) {
        if sleepers.settle_waiters != 0 && sleepers.all_idle(self.workers) {
            self.settled.notify_all();
        }
    }
}

/// A thread outside the workers taking and polling a task (see [`Idle::enter_foreign`]).
#[must_use = "the thread counts as idle again when the guard drops"]
pub(crate) struct Foreign<'a> {
    idle: &'a Idle,
}

impl Drop for Foreign<'_> {
    fn drop(&mut self) {
        let mut sleepers = self.idle.sleepers.lock();
        sleepers.foreign -= 1;
        self.idle.signal_if_settled(&sleepers);
    }
}

/// A worker in its run loop (see [`Idle::enter_loop`]).
#[must_use = "the worker counts as absent again when the guard drops"]
pub(crate) struct Presence<'a> {
    idle: &'a Idle,
    worker: usize,
}

impl Drop for Presence<'_> {
    fn drop(&mut self) {
        let idle = self.idle;
        let mut sleepers = idle.sleepers.lock();
        // A worker that saw `closed` right after registering leaves without unregistering:
        // count it once, as absent.
        if let Some(i) = sleepers.registered.iter().position(|&w| w == self.worker) {
            sleepers.registered.swap_remove(i);
            idle.sleeping.fetch_sub(1, Ordering::SeqCst);
        }
        sleepers.absent += 1;
        idle.signal_if_settled(&sleepers);
    }
}

/// Gives one worker a token (`Handle::driver_unparker`): ends its park, or its next one. Holds
/// only that worker's parker, not the runtime.
#[derive(Clone)]
pub struct Unparker(Arc<Parker>);

impl Unparker {
    /// Gives the token.
    pub fn unpark(&self) {
        self.0.unpark();
    }
}

impl std::fmt::Debug for Unparker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unparker")
    }
}

impl Parker {
    fn park(&self) {
        let mut notified = self.notified.lock();
        while !*notified {
            self.condvar.wait(&mut notified);
        }
        *notified = false;
    }

    /// [`Parker::park`] that gives up at `deadline` (a token is consumed if there is one).
    fn park_until(&self, deadline: Instant) {
        let mut notified = self.notified.lock();
        while !*notified {
            if self.condvar.wait_until(&mut notified, deadline).timed_out() {
                break;
            }
        }
        *notified = false;
    }

    fn unpark(&self) {
        *self.notified.lock() = true;
        self.condvar.notify_one();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn a_notify_wakes_a_registered_worker_once() {
        let idle = Idle::new(2);
        assert!(idle.prepare_park(0, false, || false));
        idle.notify_one();
        idle.park(0); // returns: the token was set before the wait
        assert_eq!(idle.searching.load(Ordering::SeqCst), 1);
        assert_eq!(idle.sleeping.load(Ordering::SeqCst), 0);
        // A second notify while a searcher exists wakes nobody.
        assert!(idle.prepare_park(1, false, || false));
        idle.notify_one();
        assert_eq!(idle.sleeping.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn parking_with_work_pending_is_cancelled() {
        let idle = Idle::new(1);
        assert!(idle.try_begin_search());
        assert!(!idle.prepare_park(0, true, || true));
        assert_eq!(
            idle.searching.load(Ordering::SeqCst),
            1,
            "back to searching"
        );
        assert_eq!(idle.sleeping.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn at_most_half_of_the_workers_search() {
        let idle = Idle::new(4);
        assert!(idle.try_begin_search());
        assert!(idle.try_begin_search());
        assert!(!idle.try_begin_search());
        assert!(!idle.end_search());
        assert!(idle.end_search());
    }

    #[test]
    fn a_timed_park_returns_at_its_deadline_and_leaves_the_sleepers() {
        let idle = Idle::new(1);
        assert!(idle.prepare_park(0, false, || false));
        let deadline = Instant::now() + std::time::Duration::from_millis(5);
        idle.park_until(0, deadline);
        assert!(Instant::now() >= deadline);
        assert_eq!(idle.sleeping.load(Ordering::SeqCst), 0);
        assert_eq!(
            idle.searching.load(Ordering::SeqCst),
            1,
            "back to searching"
        );
    }

    #[test]
    fn the_paused_clock_moves_only_when_no_worker_is_present() {
        let idle = Idle::new(2);
        let _w0 = idle.enter_loop(0);
        let _w1 = idle.enter_loop(1);
        assert!(idle.prepare_park(0, false, || false));
        // Worker 1 is present: no jump, and the condition is not even asked.
        assert!(!idle.leave_if_all_idle(0, || panic!("asked while a worker is present")));
        assert!(idle.prepare_park(1, false, || false));
        // Every worker idle, but nothing to jump to.
        assert!(!idle.leave_if_all_idle(1, || false));
        assert_eq!(idle.sleeping.load(Ordering::SeqCst), 2);
        // Every worker idle and a timer pending: worker 1 leaves to process it.
        assert!(idle.leave_if_all_idle(1, || true));
        assert_eq!(idle.sleeping.load(Ordering::SeqCst), 1);
        assert_eq!(idle.searching.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_worker_woken_from_another_thread_returns() {
        let idle = Arc::new(Idle::new(1));
        let done = Arc::new(AtomicBool::new(false));
        assert!(idle.prepare_park(0, false, || false));
        let t = {
            let (idle, done) = (idle.clone(), done.clone());
            std::thread::spawn(move || {
                idle.park(0);
                done.store(true, Ordering::SeqCst);
            })
        };
        idle.notify_one();
        t.join().unwrap();
        assert!(done.load(Ordering::SeqCst));
    }
}
