//! The per-core settle: how `process_event` and `resolve` know that **this core's** commands
//! are all suspended or finished, without any shared write on genrt's hot path and without
//! a waker that owns a command; and where a woken command is stepped.
//!
//! Four pieces:
//!
//! - [`Settle`], one per core: `active`, the number of this core's commands that are
//!   runnable or running, the lock and condition variable a settling caller waits on, and a
//!   `Weak` of the core, through which a wake from outside any call reaches a worker.
//! - [`Tracker`], one per command: the command's step state, and the waker the command sees
//!   (`Waker::from(Arc<Tracker>)`). It holds only the state byte and an `Arc` of the core's
//!   [`Settle`]: a request the shell holds keeps at most this 32-byte tracker and the settle
//!   alive, never the command (which lives in its core's cell map), so crux #268 cannot come
//!   back; and the settle forgets the core when the core drops (its `Weak` would keep the
//!   core's allocation, model included).
//! - [`inline`]: the thread-local that lets `resolve` keep the command its resolve wakes and
//!   step it on the calling thread, as crux_core does, instead of a cross-thread hop.
//! - [`next`]: the thread-local that keeps the first command a step starts (through an
//!   event and `update`) for the stepping thread to run next; further ones go to workers.
//!
//! # The step state (owned by this module)
//!
//! | state              | counted in `active` | meaning                                      |
//! |--------------------|---------------------|----------------------------------------------|
//! | `IDLE`             | no                  | suspended, no wake since its last step       |
//! | `NOTIFIED`         | yes                 | woken (or new): some thread will step it     |
//! | `RUNNING`          | yes                 | one thread is stepping it                    |
//! | `RUNNING_NOTIFIED` | yes                 | woken during its step: it steps again        |
//! | `DONE`             | no                  | finished, panicked or dropped                |
//!
//! Transitions, each one compare-and-swap (or swap) on the state word:
//!
//! 1. **New** ([`Tracker::new`]): `NOTIFIED` (handed to a worker) or `RUNNING` (stepped at
//!    once by its creator), after `active += 1`.
//! 2. **Wake** ([`Tracker::wake_by_ref`]): `IDLE -> NOTIFIED` does `active += 1` *before*
//!    its CAS (undone if the CAS fails); then the command goes to the thread's inline call if
//!    it is one of this core's and keeps none yet ([`inline::call`]), else to a worker (a
//!    step task spawned through the core's `Weak`; nothing if the core is gone). Under
//!    `EventOrder::Fifo` (`Settle::defer_outside_wakes`), a wake of the root that no inline
//!    call would keep does nothing at all: the work it signals is in the root's own ready
//!    queue, and every call of the core steps the root (as crux_core's `process` runs it).
//!    `RUNNING -> RUNNING_NOTIFIED` counts nothing; any other state: nothing.
//! 3. **Step start** ([`Tracker::start_step`]): `NOTIFIED -> RUNNING`, by whichever thread
//!    claims it first; the others do nothing (the claimant steps it).
//! 4. **Step end, pending** ([`Tracker::end_step`]): `RUNNING -> IDLE` then `active -= 1`;
//!    `RUNNING_NOTIFIED -> NOTIFIED` keeps the count, and the same thread steps again (3).
//! 5. **Done** ([`Tracker::finish`]): swap to `DONE`; `active -= 1` if it was counted.
//!    The core's drop does it for every command, even one whose step just ended on a worker
//!    (whose `end_step` then finds `DONE` and stops).
//!
//! **Invariant:** a command is stepped by one thread at a time (only the `NOTIFIED ->
//! RUNNING` claim starts a step, and only the claimant ends it).
//!
//! **Invariant:** a `NOTIFIED` command always has a thread coming to step it: the creator
//! (1), the inline caller that kept it, the run that kept it as its next, a step task on a
//! worker (2), or the thread that just ended a step (4). (An inline call or a run that
//! unwinds hands what it kept to a worker.)
//!
//! # Why `active == 0` means "all suspended or finished", and no wake-up is lost
//!
//! *Invariant:* `active` is at least the number of this core's commands in a counted state.
//! Every move into a counted state increments before the state changes (1, 2), every move
//! out of one decrements after it (4, 5), and a command stepping creates the commands of the
//! events it emitted (each counted at 1) before its own step ends (4, 5). So when a settling
//! caller reads `active == 0`, no command of the core is runnable or running at that instant,
//! and every effect emitted before it is in the core's outbox (pushed before the decrement;
//! the decrement's `AcqRel` pairs with the waiter's `Acquire` load).
//!
//! *A resolve is seen:* `request.resolve(..)` wakes the command synchronously on the
//! resolving thread, through crux's `CommandWaker` and the command's `AtomicWaker` to this
//! tracker (2), so the count is raised before `resolve` starts waiting. When crux's
//! `AtomicWaker` is being registered at that moment (the command is mid-step, `RUNNING`,
//! counted), the registering thread delivers the wake (`RUNNING_NOTIFIED`, step 4 repeats).
//!
//! *No lost wake-up of the waiter:* [`Settle::wait`] reads the count while holding `lock` and
//! waits on `cond`, which releases `lock` atomically; [`Settle::sub`] takes `lock` after the
//! decrement that reaches zero and notifies under it. So either the waiter's read under the
//! lock sees zero, or it is already waiting when the notification comes.
//!
//! *No starvation of the waiter:* the decrement that reaches zero also bumps a count of
//! zeros in the same atomic word (`Settle::word`), so a waiter woken after other work was
//! counted again still sees that a zero happened since it started waiting, and returns (its
//! own work, counted before it waited, was settled at that instant). Without it, a shell
//! thread resolving back to back could keep another thread's call waiting for ever.

use std::cell::RefCell;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::{Arc, Weak};
use std::task::{Wake, Waker};

use parking_lot::{Condvar, Mutex, RwLock};

/// Where a command woken outside an inline call goes: its core, which steps it on a worker.
pub(crate) trait Dispatch: Send + Sync {
    /// Steps `tracker`'s command on one of the runtime's workers (spawns a [`StepTask`]).
    fn dispatch(&self, tracker: Arc<Tracker>);
    /// A [`StepTask`] runs on a worker: one step of `tracker`'s command.
    fn step_on_worker(self: Arc<Self>, tracker: &Arc<Tracker>);
    /// A [`StepTask`] was dropped without running (its runtime shut down under the core).
    fn step_dropped(self: Arc<Self>, tracker: &Arc<Tracker>);
}

/// A step on a worker, for a command woken from outside a call (or a second command an
/// event started). It holds the command's tracker and nothing of the core: it reaches the
/// core through the settle's `Weak`, which the core's drop clears, so a step task still
/// queued on the caller's runtime after the core's drop keeps no more than a request the
/// shell holds (it then only uncounts the command). Dropped without running while the core
/// lives (the runtime shut down), it hands the tracker to [`Dispatch::step_dropped`].
pub(crate) struct StepTask {
    /// `None` once run.
    tracker: Option<Arc<Tracker>>,
}

impl StepTask {
    /// A step task for `tracker` (just made `NOTIFIED`).
    pub(crate) fn new(tracker: Arc<Tracker>) -> StepTask {
        StepTask {
            tracker: Some(tracker),
        }
    }
}

impl std::future::Future for StepTask {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if let Some(tracker) = self.tracker.take() {
            match tracker.settle.core() {
                Some(core) => core.step_on_worker(&tracker),
                // The core is gone: nobody waits on its count any more.
                None => tracker.finish(),
            }
        }
        std::task::Poll::Ready(())
    }
}

impl Drop for StepTask {
    fn drop(&mut self) {
        if let Some(tracker) = self.tracker.take() {
            dropped::handle(tracker);
        }
    }
}

/// Step tasks dropped without running, one after the other: the command such a drop ends
/// may wake another of the core's commands, whose step task the dead runtime drops at once,
/// inside the first drop; handled there, a chain of commands each waking the next would nest
/// one drop per link and overflow the stack. The outermost drop on a thread handles the ones
/// dropped inside it after its own, in a loop.
pub(crate) mod dropped {
    use super::*;
    use std::collections::VecDeque;

    thread_local! {
        /// `Some` while a step task's drop is handled on this thread: the trackers of step
        /// tasks dropped inside it, waiting for their turn.
        static QUEUE: RefCell<Option<VecDeque<Arc<Tracker>>>> = const { RefCell::new(None) };
    }

    /// Hands a dropped step task's tracker to its core ([`Dispatch::step_dropped`]), or
    /// uncounts it if the core is gone; queued if this thread is handling one already.
    pub(super) fn handle(tracker: Arc<Tracker>) {
        let mut tracker = Some(tracker);
        let outermost = QUEUE
            .try_with(|q| {
                let mut q = q.borrow_mut();
                match q.as_mut() {
                    Some(queue) => {
                        queue.extend(tracker.take());
                        false
                    }
                    None => {
                        *q = Some(VecDeque::new());
                        true
                    }
                }
            })
            // Thread-locals gone (a thread exiting): handled here, nested if need be.
            .unwrap_or(false);
        let Some(tracker) = tracker else {
            return;
        };
        if !outermost {
            one(&tracker);
            return;
        }
        /// Handles what was queued meanwhile, then ends the outermost drop (also if one
        /// of them unwinds: the queue must not be left on for this thread's next drop).
        struct Drain;
        impl Drop for Drain {
            fn drop(&mut self) {
                drain();
                QUEUE.with(|q| *q.borrow_mut() = None);
            }
        }
        let _drain = Drain;
        one(&tracker);
    }

    /// Handles the step tasks queued on this thread, if it is inside the handling of one: a
    /// settling call made from there (a dropped command's `Drop` calling `process_event`)
    /// would otherwise wait for commands whose turn comes only after it returns.
    pub(crate) fn drain() {
        while let Some(tracker) = QUEUE
            .try_with(|q| q.borrow_mut().as_mut()?.pop_front())
            .ok()
            .flatten()
        {
            one(&tracker);
        }
    }

    fn one(tracker: &Arc<Tracker>) {
        match tracker.settle.core() {
            Some(core) => core.step_dropped(tracker),
            // The core is gone: nobody waits on its count any more.
            None => tracker.finish(),
        }
    }
}

/// One core's count of runnable or running commands, the waiters for it to reach zero, and
/// the way to the core for wakes from outside (weak: a held waker never keeps the core).
#[derive(Default)]
pub(crate) struct Settle {
    /// `active` (low 32 bits): commands in a counted state (see the module docs), plus a
    /// transient 1 around a speculative wake; `zeros` (high 32 bits): how many times
    /// `active` reached zero, bumped by the very decrement that reaches it.
    word: AtomicU64,
    /// Held to read `word` before waiting, and to notify after `active` reaches zero.
    lock: Mutex<()>,
    /// Signalled when `active` reaches zero.
    cond: Condvar,
    /// The core, set when it is built and cleared by its drop: a `Weak` keeps the core's
    /// allocation (its model's inline bytes included) until the last one goes, and trackers
    /// held in the shell's requests keep this settle after the core is gone.
    core: RwLock<Option<Weak<dyn Dispatch>>>,
    /// Set for an `EventOrder::Fifo` core, before its root exists: a wake of its root from
    /// outside any of its calls is left in the root's ready queue for the core's next call,
    /// as crux_core does, instead of stepping the root on a worker.
    defer_outside: AtomicBool,
}

/// Loads of the count a settling caller spins through before it sleeps (about 5 µs on the
/// 2-core AMD EPYC of BENCHMARKS.md; std's futex mutex spins 100 times before it parks).
/// Measured against 0, 25 and 75: fewer spins made `crux/fan_out` and `crux/round_trip_16`
/// no faster or slower.
const SPINS: usize = 200;

/// One unit of `active` in [`Settle::word`].
const ACTIVE_ONE: u64 = 1;
/// The `active` bits of [`Settle::word`].
const ACTIVE_MASK: u64 = (1 << 32) - 1;
/// One unit of `zeros` in [`Settle::word`].
const ZEROS_ONE: u64 = 1 << 32;

impl Settle {
    /// Sets the core wakes from outside are dispatched to.
    pub(crate) fn set_core(&self, core: Weak<dyn Dispatch>) {
        *self.core.write() = Some(core);
    }

    /// Wakes from outside any call wait for the core's next call (`EventOrder::Fifo`).
    pub(crate) fn defer_outside_wakes(&self) {
        self.defer_outside.store(true, Relaxed);
    }

    /// Forgets the core (its drop): wakes from outside dispatch nothing from now on.
    pub(crate) fn clear_core(&self) {
        let core = self.core.write().take();
        drop(core);
    }

    /// `active += 1`.
    pub(crate) fn add(&self) {
        // AcqRel: pairs with the Acquire loads of `wait` through the RMW chain.
        let before = self.word.fetch_add(ACTIVE_ONE, AcqRel);
        debug_assert!(before & ACTIVE_MASK < ACTIVE_MASK, "settle count overflow");
    }

    /// `active -= 1`; reaching zero bumps `zeros` in the same step and wakes the waiters.
    pub(crate) fn sub(&self) {
        // AcqRel: publishes the step's outbox pushes to the waiter's Acquire load in `wait`;
        // Acquire on failure: the value read feeds the next attempt.
        let mut current = self.word.load(Acquire);
        loop {
            debug_assert!(current & ACTIVE_MASK > 0, "settle count underflow");
            let next = if current & ACTIVE_MASK == 1 {
                (current - ACTIVE_ONE).wrapping_add(ZEROS_ONE)
            } else {
                current - ACTIVE_ONE
            };
            match self
                .word
                .compare_exchange_weak(current, next, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        if current & ACTIVE_MASK == 1 {
            let _guard = self.lock.lock();
            self.cond.notify_all();
        }
    }

    /// Blocks until `active` is zero at some instant after the call (an instant at which
    /// everything counted before the call had settled). Returns at the first such instant,
    /// even if new work is counted right after it: a waiter woken late is not made to wait
    /// for a later zero (no starvation by a busy caller on another thread).
    pub(crate) fn wait(&self) {
        // Acquire: pairs with the AcqRel RMWs of `add`/`sub`.
        let first = self.word.load(Acquire);
        if first & ACTIVE_MASK == 0 {
            return;
        }
        // A step on another thread is usually a few microseconds from its end: spin a
        // little before sleeping (as std's and parking_lot's mutexes do before parking).
        let settled = |now: u64| now & ACTIVE_MASK == 0 || (now ^ first) & !ACTIVE_MASK != 0;
        for _ in 0..SPINS {
            std::hint::spin_loop();
            // Acquire: as above.
            if settled(self.word.load(Acquire)) {
                return;
            }
        }
        let mut guard = self.lock.lock();
        // Acquire: as above; read under `lock`, so a zero reached after it is notified to us.
        if settled(self.word.load(Acquire)) {
            return;
        }
        loop {
            self.cond.wait(&mut guard);
            // Acquire: as above.
            if settled(self.word.load(Acquire)) {
                return;
            }
        }
    }

    /// Hands `tracker` (just made `NOTIFIED`) to the core for a worker; nothing if the core
    /// is gone (then nobody waits on this count any more).
    fn dispatch(&self, tracker: Arc<Tracker>) {
        if let Some(core) = self.core() {
            core.dispatch(tracker);
        }
    }

    /// The core, unless it has dropped (or is dropping and done with its commands).
    fn core(&self) -> Option<Arc<dyn Dispatch>> {
        self.core.read().as_ref().and_then(Weak::upgrade)
    }

    /// The current count (for tests and debugging).
    #[cfg(test)]
    pub(crate) fn active(&self) -> usize {
        (self.word.load(Acquire) & ACTIVE_MASK) as usize
    }
}

/// Suspended, no wake since its last step. Not counted.
const IDLE: u8 = 0;
/// Woken, or new: some thread will step it. Counted.
pub(crate) const NOTIFIED: u8 = 1;
/// A thread is stepping it. Counted.
pub(crate) const RUNNING: u8 = 2;
/// Woken during its step: it steps again. Counted.
const RUNNING_NOTIFIED: u8 = 3;
/// Finished, panicked or dropped. Not counted.
const DONE: u8 = 4;

/// One command's step state and the waker its command sees (module docs). Two words and a
/// byte: this is all a request the shell holds keeps of genrt-crux.
pub(crate) struct Tracker {
    /// The step state; only this type's methods touch it.
    state: AtomicU8,
    /// The core's count (and its way to the core).
    settle: Arc<Settle>,
}

/// What a step that returned `Pending` must do next.
#[must_use]
pub(crate) enum StepEnd {
    /// Suspended: nothing to do.
    Idle,
    /// Woken during the step: the stepping thread steps it again.
    Again,
}

impl Tracker {
    /// A tracker for a new command, counted: `active += 1` happens here (step 1). `state`
    /// is `NOTIFIED` (someone will step it) or `RUNNING` (the caller steps it now).
    pub(crate) fn new(settle: Arc<Settle>, state: u8) -> Arc<Tracker> {
        debug_assert!(state == NOTIFIED || state == RUNNING);
        settle.add();
        Arc::new(Tracker {
            state: AtomicU8::new(state),
            settle,
        })
    }

    /// The waker the command sees.
    pub(crate) fn waker(self: &Arc<Tracker>) -> Waker {
        Waker::from(self.clone())
    }

    /// The identity of this tracker while it is alive (its command's key in the core).
    pub(crate) fn id(self: &Arc<Tracker>) -> usize {
        Arc::as_ptr(self) as usize
    }

    /// Step 3: claims the step, `NOTIFIED -> RUNNING`. `false`: nothing to do here (idle:
    /// no wake; running: another thread steps it and will see any wake; done).
    pub(crate) fn start_step(&self) -> bool {
        self.cas(NOTIFIED, RUNNING).is_ok()
    }

    /// Step 4: the step ended with `Pending`.
    pub(crate) fn end_step(&self) -> StepEnd {
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
                    Ok(()) => return StepEnd::Again,
                    Err(actual) => current = actual,
                },
                // The core's drop took the command between the step and here.
                DONE => return StepEnd::Idle,
                _ => unreachable!("only the stepping thread ends a step"),
            }
        }
    }

    /// Step 5: the command is finished (or dropped); uncount it if it was counted.
    pub(crate) fn finish(&self) {
        // AcqRel: pairs with the Acquire loads of wakes that now see DONE.
        let before = self.state.swap(DONE, AcqRel);
        if matches!(before, NOTIFIED | RUNNING | RUNNING_NOTIFIED) {
            self.settle.sub();
        }
    }

    /// One compare-and-swap of the state word.
    fn cas(&self, from: u8, to: u8) -> Result<(), u8> {
        // AcqRel on success: publishes the step's writes to the next transition's Acquire
        // load, and sees the previous one's. Acquire on failure: the value read feeds the
        // next attempt.
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
        // Acquire: pairs with the AcqRel CAS of `end_step`.
        let mut current = self.state.load(Acquire);
        loop {
            match current {
                // `EventOrder::Fifo`: the wake is in the root's ready queue, which the next
                // call's step of the root runs, as crux_core's next `process` would.
                IDLE if self.settle.defer_outside.load(Relaxed) && !inline::would_keep(self) => {
                    return;
                }
                IDLE => {
                    // Count first: a step that starts and ends between our CAS and an
                    // increment after it would otherwise let `active` reach zero early.
                    self.settle.add();
                    match self.cas(IDLE, NOTIFIED) {
                        Ok(()) => {
                            // This thread's inline call takes it, or a worker does.
                            if let Some(tracker) = inline::offer(self) {
                                self.settle.dispatch(tracker);
                            }
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

/// The command a step started: while a thread runs steps ([`next::Scope`]), the first
/// command `update` returns for an event it emitted is kept for that thread to step next
/// (a render, say, costs no hop to a worker); any other goes to a worker at once.
pub(crate) mod next {
    use super::*;

    thread_local! {
        /// `Some` while a run is in progress on this thread: the command kept for it.
        static NEXT: RefCell<Option<Option<Arc<Tracker>>>> = const { RefCell::new(None) };
    }

    /// A run in progress on this thread; restores the outer one when dropped (handing a
    /// command still kept, on unwind, to a worker).
    pub(crate) struct Scope {
        outer: Option<Option<Arc<Tracker>>>,
    }

    impl Scope {
        /// Starts a run's scope.
        pub(crate) fn enter() -> Scope {
            Scope {
                outer: NEXT.with(|c| c.replace(Some(None))),
            }
        }

        /// The command kept for this run, if any.
        pub(crate) fn take(&self) -> Option<Arc<Tracker>> {
            NEXT.with(|c| c.borrow_mut().as_mut().and_then(Option::take))
        }
    }

    impl Drop for Scope {
        fn drop(&mut self) {
            let mine = NEXT.with(|c| c.replace(self.outer.take()));
            if let Some(tracker) = mine.flatten() {
                let settle = tracker.settle.clone();
                settle.dispatch(tracker);
            }
        }
    }

    /// A command just made (`NOTIFIED`) during a step on this thread: kept for this run if
    /// it keeps none yet, else returned, for a worker.
    pub(crate) fn offer(tracker: Arc<Tracker>) -> Option<Arc<Tracker>> {
        NEXT.with(|c| match c.borrow_mut().as_mut() {
            Some(slot @ None) => {
                *slot = Some(tracker);
                None
            }
            _ => Some(tracker),
        })
    }
}

/// The cores busy on this thread: a step or an `update` of theirs is running here. A call on
/// such a core from this thread (`process_event` inside a command or inside `update`) would
/// wait for its own caller to settle: [`busy::is_busy`] lets the call refuse instead. And a
/// core dropped inside one of its steps (a command held the last reference) must not wait for
/// that very step to end: [`busy::is_stepping`].
pub(crate) mod busy {
    use super::*;

    thread_local! {
        /// The settles (by address) of the cores busy on this thread, innermost last, each
        /// with the id of the command stepping ([`Tracker::id`]), or 0 for an `update`.
        static BUSY: RefCell<Vec<(*const Settle, usize)>> = const { RefCell::new(Vec::new()) };
    }

    /// Marks a core busy on this thread until dropped.
    pub(crate) struct Guard(());

    impl Guard {
        /// The core of `settle` runs an `update` on this thread.
        pub(crate) fn update(settle: &Arc<Settle>) -> Guard {
            BUSY.with(|b| b.borrow_mut().push((Arc::as_ptr(settle), 0)));
            Guard(())
        }

        /// `tracker`'s command steps on this thread.
        pub(crate) fn step(tracker: &Arc<Tracker>) -> Guard {
            BUSY.with(|b| {
                b.borrow_mut()
                    .push((Arc::as_ptr(&tracker.settle), tracker.id()))
            });
            Guard(())
        }
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = BUSY.try_with(|b| b.borrow_mut().pop());
        }
    }

    /// Whether the core of `settle` is busy on this thread.
    pub(crate) fn is_busy(settle: &Arc<Settle>) -> bool {
        BUSY.try_with(|b| b.borrow().iter().any(|&(s, _)| s == Arc::as_ptr(settle)))
            .unwrap_or(false)
    }

    /// Whether `tracker`'s command is stepping on this thread.
    pub(crate) fn is_stepping(tracker: &Arc<Tracker>) -> bool {
        BUSY.try_with(|b| b.borrow().iter().any(|&(_, id)| id == tracker.id()))
            .unwrap_or(false)
    }
}

/// Inline calls: while `resolve` (or `process_event` waking a `Fifo` root) resolves a
/// request on its thread, the first command of its core that the resolve wakes is kept
/// for that thread to step itself, as crux_core does, instead of a cross-thread hop to a
/// worker. Any other wake goes to a worker.
pub(crate) mod inline {
    use super::*;

    /// The inline call running on this thread, if any.
    struct Inline {
        /// The core's settle (by address): only its commands are kept.
        settle: *const Settle,
        /// The command kept for this thread.
        kept: Option<Arc<Tracker>>,
    }

    thread_local! {
        static INLINE: RefCell<Option<Inline>> = const { RefCell::new(None) };
    }

    /// Runs `f` (which resolves a request) as an inline call of the core of `settle`;
    /// returns its result and the command it woke and kept for this thread, if any.
    pub(crate) fn call<R>(
        settle: &Arc<Settle>,
        f: impl FnOnce() -> R,
    ) -> (R, Option<Arc<Tracker>>) {
        /// Restores the outer inline call if `f` unwinds; a command kept by then goes to a
        /// worker (it is counted: dropping it would hang the settle).
        struct Restore {
            outer: Option<Inline>,
            armed: bool,
        }
        impl Drop for Restore {
            fn drop(&mut self) {
                if self.armed {
                    let mine = INLINE.with(|c| c.replace(self.outer.take()));
                    if let Some(tracker) = mine.and_then(|inline| inline.kept) {
                        let settle = tracker.settle.clone();
                        settle.dispatch(tracker);
                    }
                }
            }
        }
        let outer = INLINE.with(|c| {
            c.replace(Some(Inline {
                settle: Arc::as_ptr(settle),
                kept: None,
            }))
        });
        let mut restore = Restore { outer, armed: true };
        let result = f();
        restore.armed = false;
        let mine = INLINE.with(|c| c.replace(restore.outer.take()));
        (result, mine.and_then(|inline| inline.kept))
    }

    /// Whether a wake of `tracker` on this thread would be kept by an inline call.
    pub(super) fn would_keep(tracker: &Arc<Tracker>) -> bool {
        INLINE
            .try_with(|c| {
                matches!(c.borrow().as_ref(), Some(inline)
                    if inline.kept.is_none()
                        && std::ptr::eq(inline.settle, Arc::as_ptr(&tracker.settle)))
            })
            .unwrap_or(false)
    }

    /// A wake of `tracker` (just made `NOTIFIED`): kept for this thread's inline call if
    /// it is one of its core's and the call keeps none yet; otherwise returned, for a worker.
    pub(super) fn offer(tracker: &Arc<Tracker>) -> Option<Arc<Tracker>> {
        let kept = INLINE
            .try_with(|c| {
                let mut current = c.borrow_mut();
                match current.as_mut() {
                    Some(inline)
                        if inline.kept.is_none()
                            && std::ptr::eq(inline.settle, Arc::as_ptr(&tracker.settle)) =>
                    {
                        inline.kept = Some(tracker.clone());
                        true
                    }
                    _ => false,
                }
            })
            .unwrap_or(false);
        if kept {
            None
        } else {
            Some(tracker.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_state() {
        let settle = Arc::new(Settle::default());
        let tracker = Tracker::new(settle.clone(), NOTIFIED);
        assert_eq!(settle.active(), 1);
        assert!(tracker.start_step());
        assert!(!tracker.start_step(), "one stepper at a time");
        let waker = tracker.waker();
        waker.wake_by_ref(); // RUNNING -> RUNNING_NOTIFIED
        assert!(matches!(tracker.end_step(), StepEnd::Again));
        assert_eq!(settle.active(), 1);
        assert!(tracker.start_step());
        assert!(matches!(tracker.end_step(), StepEnd::Idle));
        assert_eq!(settle.active(), 0);
        assert!(!tracker.start_step(), "idle: nothing to step");
        // A wake inside an inline call of this core is kept for the caller.
        let ((), kept) = inline::call(&settle, || waker.wake_by_ref());
        assert_eq!(kept.map(|t| t.id()), Some(tracker.id()));
        waker.wake_by_ref(); // coalesced
        assert_eq!(settle.active(), 1);
        assert!(tracker.start_step());
        tracker.finish();
        assert_eq!(settle.active(), 0);
        waker.wake_by_ref(); // DONE: nothing
        assert_eq!(settle.active(), 0);
        assert!(!tracker.start_step());
        settle.wait();
    }

    #[test]
    fn an_inline_call_keeps_only_its_own_cores_first_wake() {
        let (mine, other) = (Arc::new(Settle::default()), Arc::new(Settle::default()));
        let a = Tracker::new(mine.clone(), RUNNING);
        let b = Tracker::new(mine.clone(), RUNNING);
        let c = Tracker::new(other.clone(), RUNNING);
        for t in [&a, &b, &c] {
            assert!(matches!(t.end_step(), StepEnd::Idle));
        }
        let ((), kept) = inline::call(&mine, || {
            c.waker().wake_by_ref(); // another core's: a worker's (no core here: dropped)
            a.waker().wake_by_ref(); // kept
            b.waker().wake_by_ref(); // a worker's
        });
        assert_eq!(kept.map(|t| t.id()), Some(a.id()));
        assert_eq!(mine.active(), 2);
        assert_eq!(other.active(), 1);
    }

    /// Threads that each publish work, wake the command inside an inline call and step it
    /// if their call kept it (as `resolve` does), racing each other's steps, then settle:
    /// when `wait` returns, the work it published has been seen by a step that started after
    /// it (a lost wake would leave it unseen, a miscount would hang `wait`).
    #[test]
    fn wakes_racing_steps_are_never_lost() {
        use std::sync::atomic::Ordering::SeqCst;
        const THREADS: usize = 4;
        const ROUNDS: usize = 20_000;
        let settle = Arc::new(Settle::default());
        let tracker = Tracker::new(settle.clone(), RUNNING);
        assert!(matches!(tracker.end_step(), StepEnd::Idle));
        let published = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (settle, tracker) = (settle.clone(), tracker.clone());
                let (published, seen) = (published.clone(), seen.clone());
                std::thread::spawn(move || {
                    let waker = tracker.waker();
                    for _ in 0..ROUNDS {
                        let mine = published.fetch_add(1, SeqCst) + 1;
                        let ((), kept) = inline::call(&settle, || waker.wake_by_ref());
                        if let Some(kept) = kept {
                            while kept.start_step() {
                                seen.fetch_max(published.load(SeqCst), SeqCst);
                                if matches!(kept.end_step(), StepEnd::Idle) {
                                    break;
                                }
                            }
                        }
                        settle.wait();
                        assert!(seen.load(SeqCst) >= mine, "a wake was lost");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(settle.active(), 0);
        assert_eq!(seen.load(SeqCst), published.load(SeqCst), "a wake was lost");
    }
}
