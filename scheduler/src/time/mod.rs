//! The runtime's timers: a hierarchical timing wheel (`wheel`) on the runtime's clock
//! (`clock`), driven by the workers themselves. There is no timer thread.
//!
//! # Design
//!
//! - **One wheel per runtime, behind one `parking_lot` mutex.** Insert and cancel are O(1)
//!   (slab + intrusive lists, `wheel.rs`), so the critical sections are a few dozen
//!   instructions; sharding the wheel per worker (as Tokio does) is a possible follow-up
//!   if the lock ever shows up in profiles.
//! - **An entry holds a task key, or a waker clone.** A timer polled by a task of this
//!   runtime (its waker is a key waker of this runtime, `key_of_waker`) stores the key: it
//!   owns nothing, and firing it is the ordinary wake path (the slot's `wake`, then a queue).
//!   Any other waker (a `block_on`, a task inside `FuturesUnordered`, another runtime's task)
//!   is cloned into the entry.
//! - **Who frees an entry.** The wheel owns every entry. It is freed, with its waiter, when
//!   it fires (by the worker processing expiries), when its [`TimerEntry`] is dropped or
//!   reset (in O(1)), or at shutdown, which removes every entry left, waking the wakers
//!   among them so that their futures learn of the shutdown (`Timers::shutdown`). A fired
//!   entry's slot is reused under a new generation, so a `TimerEntry` whose id no longer
//!   names a pending entry knows that it fired. Waiters are always dropped or woken after
//!   the wheel's lock is released.
//! - **Expiries are processed by workers**: every `event_interval` ticks (61 by default) of a busy
//!   worker's loop, and before a worker with no work searches or parks. A cheap check comes
//!   first: the atomic `next` word holds the tick of the wheel's next expiration (never later
//!   than the earliest entry), so a worker reads the clock only when something may be due.
//!   Expiries processed late are woken in deadline order (to the nanosecond) and, on a
//!   worker, pushed to the back of its own deque (not the LIFO slot), so on one worker the
//!   tasks run in deadline order.
//! - **Timed parking**: one parked worker at a time, the *holder*, parks with a timeout equal
//!   to the next expiration; the others park without one, so an idle runtime does not wake
//!   every worker at every deadline. An insert that makes the next expiration earlier than
//!   the one the holder waits for unparks the holder (it parks again with the new deadline);
//!   with no holder it notifies an idle worker, which becomes the holder. The proof that no
//!   timer is left without a waiting worker is in `idle/README.md`, "Timers".
//! - **The paused clock** (`Config::start_paused`, or [`Handle::pause_clock`] at any time
//!   until [`Handle::resume_clock`]; `clock.rs` for the two modes) moves only by
//!   [`Handle::advance_clock`] or when the last worker to become idle sees no worker present, the injector empty and a
//!   timer pending: it then moves the clock to the next expiration under the idle lock (an
//!   instant at which no task is queued or running) and processes it. A task waiting on
//!   anything else is not starved: the jump happens only when nothing is runnable, as in
//!   Tokio, and a worker goes back to its loop (which looks at the injector) after each jump.
//!   A pause or resume unparks the timed park's holder and notifies an idle worker
//!   (`Timers::rearm`), so that the idle workers re-decide under the new mode: a paused
//!   clock jumps if every worker is idle, a running one needs a timed park again.
//! - **Clock holds**: work the runtime runs outside its workers (a `spawn_blocking` closure,
//!   from its spawn until its result is delivered or it is dropped unrun; a `block_on`
//!   thread while it polls its future and from a wake of it until it polls again, through
//!   a [`HoldAdder`]) takes a [`ClockHold`] ([`Handle::hold_clock`]); while any is held the paused clock does not
//!   auto-advance, as Tokio inhibits auto-advance while blocking tasks are in flight. So a
//!   task awaiting a closure under a `timeout` is not timed out by a jump taken while the
//!   closure runs. The last release notifies as an insert does (`idle/README.md`,
//!   "Timers"), so a runtime whose workers all parked under the hold jumps again.
//!   [`Handle::advance_clock`] is not affected.
//!
//! This module owns the `next` and `holds` words and the `holder` lock.
//!
//! [`Handle::advance_clock`]: crate::Handle::advance_clock
//! [`Handle::hold_clock`]: crate::Handle::hold_clock
//! [`Handle::pause_clock`]: crate::Handle::pause_clock
//! [`Handle::resume_clock`]: crate::Handle::resume_clock

mod clock;
mod wheel;

use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use genrt_waker::TaskKey;

use crate::context;
use crate::loom::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use crate::loom::sync::{Arc, Mutex};
use crate::shared::Shared;
use crate::worker::Local;

pub(crate) use clock::Clock;
use wheel::{EntryId, Fired, Wheel};

/// `next` when the wheel is empty.
const NONE: u64 = u64::MAX;

/// Who to wake when an entry fires.
enum Waiter {
    /// A task of this runtime, woken through the slot and pushed to a queue.
    Key(TaskKey),
    /// Anything else: a clone of the waker it was polled with.
    Waker(Waker),
}

impl Waiter {
    fn of(shared: &Shared, waker: &Waker) -> Waiter {
        match genrt_waker::key_of_waker(waker) {
            Some(key) if key.runtime() == shared.id => Waiter::Key(key),
            _ => Waiter::Waker(waker.clone()),
        }
    }

    fn same_as(&self, waker: &Waker) -> bool {
        match self {
            Waiter::Key(key) => genrt_waker::key_of_waker(waker) == Some(*key),
            Waiter::Waker(stored) => stored.will_wake(waker),
        }
    }
}

struct WheelState {
    wheel: Wheel<Waiter>,
    /// Set by shutdown: the wheel is empty and takes no more entries.
    closed: bool,
}

/// A runtime's timers (see the module docs).
pub(crate) struct Timers {
    clock: Clock,
    wheel: Mutex<WheelState>,
    /// Tick of the wheel's next expiration, [`NONE`] if it is empty. Written only under the
    /// `wheel` lock; never later than the earliest entry's tick.
    next: AtomicU64,
    /// The worker holding the timed park, and the tick it waits for.
    holder: Mutex<Option<(usize, u64)>>,
    /// Paused clock: how many [`ClockHold`]s are alive; auto-advance waits for zero.
    holds: Arc<AtomicUsize>,
}

impl Timers {
    pub(crate) fn new(paused: bool) -> Timers {
        Timers {
            clock: Clock::new(paused),
            wheel: Mutex::new(WheelState {
                wheel: Wheel::new(),
                closed: false,
            }),
            next: AtomicU64::new(NONE),
            holder: Mutex::new(None),
            holds: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Whether an expiration may be due now (the cheap check: one load, and a clock read
    /// only when something is pending).
    fn may_be_due(&self) -> bool {
        let next = self.next.load(Ordering::Relaxed);
        next != NONE && next <= self.clock.now_tick()
    }

    /// Processes expiries if any may be due; returns whether anything fired.
    pub(crate) fn process_if_due(&self, shared: &Shared, local: Option<&Local>) -> bool {
        self.may_be_due() && self.process(shared, local)
    }

    /// Fires every entry due now, in deadline order, outside the lock. A key of this
    /// runtime goes to `local`'s deque (a worker) or the injector; one idle worker is
    /// notified once. Returns whether anything fired.
    pub(crate) fn process(&self, shared: &Shared, local: Option<&Local>) -> bool {
        let now = self.clock.now_tick();
        let mut fired: Vec<Fired<Waiter>> = Vec::new();
        {
            let mut state = self.wheel.lock();
            state.wheel.advance(now, &mut fired);
            let next = state.wheel.next_expiration().unwrap_or(NONE);
            // SeqCst: read by the parking worker after its fence (`claim_timed_park`).
            self.next.store(next, Ordering::SeqCst);
        }
        if fired.is_empty() {
            return false;
        }
        fired.sort_unstable_by_key(|f| f.deadline_ns);
        let mut pushed = false;
        for f in fired {
            match f.waiter {
                Waiter::Key(key) => pushed |= shared.wake_fired(key, local),
                Waiter::Waker(waker) => waker.wake(),
            }
        }
        if pushed {
            shared.idle.notify_one();
        }
        true
    }

    /// Inserts an entry for `deadline`; `None` if it is already due. Then makes sure some
    /// worker will process it in time (the module docs, "Timed parking"). Returns the entry
    /// and the deadline's tick (not clamped).
    /// `Err` if the wheel is closed (see [`poll_closed`]).
    fn insert(
        &self,
        shared: &Shared,
        deadline: Instant,
        waker: &Waker,
    ) -> Result<Option<(EntryId, u64)>, Closed> {
        let when = self.clock.deadline_tick(deadline);
        let waiter = Waiter::of(shared, waker);
        let (id, earlier) = {
            let mut state = self.wheel.lock();
            if state.closed {
                drop(state);
                drop(waiter);
                return Err(Closed);
            }
            match state.wheel.insert(when, self.clock.nanos(deadline), waiter) {
                Ok(id) => {
                    let earlier = when < self.next.load(Ordering::Relaxed);
                    if earlier {
                        // SeqCst: the timer's "push", ordered before F_T below.
                        self.next.store(when, Ordering::SeqCst);
                    }
                    (id, earlier)
                }
                Err((_, waiter)) => {
                    drop(state);
                    drop(waiter);
                    return Ok(None);
                }
            }
        };
        if earlier || self.clock.is_paused() {
            self.kick(shared, when);
        }
        Ok(Some((id, when)))
    }

    /// After `next` became `when` (or, on a paused clock, after any insert): make sure a
    /// worker will wait for it. F_T pairs with the parking worker's F_W (`idle/README.md`,
    /// "Timers").
    fn kick(&self, shared: &Shared, when: u64) {
        // F_T: SeqCst fence; pairs with F_W in `Idle::prepare_park`.
        fence(Ordering::SeqCst);
        if !self.clock.is_paused() {
            let mut holder = self.holder.lock();
            match *holder {
                Some((worker, until)) if until > when => {
                    // Only one kick per earlier deadline: the holder parks again with it.
                    *holder = Some((worker, when));
                    drop(holder);
                    shared.idle.unpark_worker(worker);
                    return;
                }
                Some(_) => return,
                None => {}
            }
        }
        shared.idle.notify_one_after_fence();
    }

    /// Timed parking: called by a registered worker after its fence F_W. Returns the
    /// instant to park until if this worker now holds the timed park (`None`: park without
    /// a timeout, nothing is pending or another worker waits for an earlier tick).
    pub(crate) fn claim_timed_park(&self, shared: &Shared, worker: usize) -> Option<Instant> {
        if self.clock.is_paused() {
            return None;
        }
        // SeqCst: pairs with the stores in `insert` and `process` (after F_W / before F_T).
        let next = self.next.load(Ordering::SeqCst);
        if next == NONE {
            return None;
        }
        let mut holder = self.holder.lock();
        let displaced = match *holder {
            None => None,
            Some((other, until)) if next < until => Some(other),
            Some(_) => return None,
        };
        *holder = Some((worker, next));
        drop(holder);
        if let Some(other) = displaced {
            shared.idle.unpark_worker(other);
        }
        // The park waits on the real time: the instant at which the running clock (shifted
        // if it was paused and resumed) reaches `next`.
        Some(self.clock.real_instant_of(next))
    }

    /// Ends a timed park: gives the holder role up, if this worker still has it.
    pub(crate) fn release_timed_park(&self, worker: usize) {
        let mut holder = self.holder.lock();
        if matches!(*holder, Some((w, _)) if w == worker) {
            *holder = None;
        }
    }

    /// After the clock was paused or resumed: the worker holding the timed park (if any)
    /// parks again under the new mode, and an idle worker re-decides (a paused clock
    /// auto-advances when every worker is idle; a running one needs a timed park). F_T as in
    /// `kick`: the mode's store comes before it, the idle words' loads after.
    fn rearm(&self, shared: &Shared) {
        fence(Ordering::SeqCst);
        let holder = self.holder.lock().map(|(worker, _)| worker);
        if let Some(worker) = holder {
            shared.idle.unpark_worker(worker);
        }
        shared.idle.notify_one_after_fence();
    }

    /// Paused clock: whether no [`ClockHold`] is alive, so that the clock may auto-advance.
    /// Read *before* the injector is checked: a release that this reads as done was made
    /// after its holder's last push (a blocking closure's result waking its joiner), and
    /// that push is then visible to the injector check.
    pub(crate) fn auto_advance_allowed(&self) -> bool {
        // SeqCst: pairs with the `fetch_sub` in `ClockHold::drop` (release: the holder's
        // pushes before it are visible after this load reads its result).
        self.holds.load(Ordering::SeqCst) == 0
    }

    /// Paused clock, called under the idle lock when no worker is present and the injector
    /// is empty: moves the clock to the next expiration. Returns whether there was one.
    pub(crate) fn auto_advance(&self) -> bool {
        let state = self.wheel.lock();
        match state.wheel.next_expiration() {
            // `false` if the clock was resumed meanwhile: the timer is then the running
            // clock's, and waits for a timed park.
            Some(tick) => self.clock.advance_to_tick(tick),
            None => false,
        }
    }

    /// Shutdown: removes every entry and refuses new ones. Keys are dropped (their tasks
    /// were cancelled by the sweep); wakers are woken, outside the lock, so that a future
    /// polled elsewhere (a `block_on` through a handle, another runtime's task) is polled
    /// again and its timer reports the shutdown with a panic instead of leaving it waiting
    /// for ever.
    pub(crate) fn shutdown(&self) {
        let waiters = {
            let mut state = self.wheel.lock();
            state.closed = true;
            self.next.store(NONE, Ordering::SeqCst);
            state.wheel.clear()
        };
        for waiter in waiters {
            match waiter {
                Waiter::Key(_) => {}
                Waiter::Waker(waker) => waker.wake(),
            }
        }
    }
}

/// The wheel was closed: the runtime has shut down.
struct Closed;

/// A timer of `shared` polled after its runtime shut down (its wheel closed). Polled by one
/// of the runtime's own tasks (the waker is its key), it is a poll the shutdown stopped
/// waiting for (`shutdown_background`, or a `shutdown_timeout` that expired, while a worker
/// or the thread driving a current-thread runtime was inside it): the sweep flagged that
/// task, and it is cancelled when this poll returns (the crate docs' shutdown protocol,
/// step 4), so the timer stays pending and the task ends cancelled, as in Tokio, whose time
/// driver shuts down only after the last worker has left. Polled by anything else (a
/// `block_on` through a handle, another runtime's task), nothing would ever fire it: it
/// panics saying why.
#[track_caller]
fn poll_closed(shared: &Shared, waker: &Waker) -> Poll<()> {
    match genrt_waker::key_of_waker(waker) {
        Some(key) if key.runtime() == shared.id => Poll::Pending,
        _ => panic_shut_down(),
    }
}

#[track_caller]
fn panic_shut_down() -> ! {
    panic!(
        "genrt::time: a timer was polled after its runtime shut down; timers need a running \
         runtime"
    )
}

/// The current time on the clock of the thread's current runtime (real or paused), or the
/// real time outside any runtime.
///
/// ```
/// let now = genrt_scheduler::time::now();
/// assert!(now <= std::time::Instant::now());
/// ```
pub fn now() -> Instant {
    context::with_shared(|shared| shared.timers.clock().now()).unwrap_or_else(Instant::now)
}

/// One timer: the scheduler side of `genrt::time::Sleep`. It is bound to a runtime on
/// [`TimerEntry::bind`] and registered in that runtime's wheel on its first pending poll.
/// Dropping it cancels its entry in O(1).
///
/// ```
/// use genrt_scheduler::{time::TimerEntry, Config, Scheduler};
/// let scheduler = Scheduler::start(Config::new(1)).unwrap();
/// let mut timer = TimerEntry::new();
/// timer.bind(&scheduler.handle());
/// assert!(timer.is_bound() && !timer.is_elapsed());
/// ```
#[derive(Default)]
pub struct TimerEntry {
    shared: Option<Arc<Shared>>,
    id: Option<EntryId>,
    /// The tick of the deadline `id` was registered for, before the wheel clamped it: its
    /// entry fired for the deadline only once the wheel's `elapsed` reached it
    /// ([`TimerEntry::is_elapsed`]).
    tick: u64,
    elapsed: bool,
}

impl TimerEntry {
    /// An unbound, unregistered timer.
    pub fn new() -> TimerEntry {
        TimerEntry::default()
    }

    /// A timer bound to the thread's current runtime, if there is one and it has not shut
    /// down, with the time on that runtime's clock (real or paused): one context lookup for
    /// both, so a deadline made from it belongs to the clock that will fire it. Otherwise an
    /// unbound timer (bound at its first poll) and the real time: a thread left in a dropped
    /// runtime's context (a `block_in_place` closure that dropped it) can still make a
    /// sleep that another runtime's `block_on` fires.
    ///
    /// ```
    /// use genrt_scheduler::{time::TimerEntry, Config, Scheduler};
    /// let (outside, _) = TimerEntry::current();
    /// assert!(!outside.is_bound());
    /// let scheduler = Scheduler::start(Config::new(1)).unwrap();
    /// let _entered = scheduler.handle().enter();
    /// let (inside, _) = TimerEntry::current();
    /// assert!(inside.is_bound());
    /// ```
    pub fn current() -> (TimerEntry, Instant) {
        match context::current().filter(|shared| !shared.is_closed()) {
            Some(shared) => {
                let now = shared.timers.clock().now();
                let entry = TimerEntry {
                    shared: Some(shared),
                    id: None,
                    tick: 0,
                    elapsed: false,
                };
                (entry, now)
            }
            None => (TimerEntry::new(), Instant::now()),
        }
    }

    /// The time on the clock of the runtime it is bound to, or [`now`] (the current
    /// runtime's, else the real time) while unbound.
    ///
    /// ```
    /// use genrt_scheduler::{time::TimerEntry, Config, Scheduler};
    /// let scheduler = Scheduler::start(Config::new(1)).unwrap();
    /// let mut timer = TimerEntry::new();
    /// timer.bind(&scheduler.handle());
    /// assert!(timer.now() <= std::time::Instant::now());
    /// ```
    pub fn now(&self) -> Instant {
        match &self.shared {
            Some(shared) => shared.timers.clock().now(),
            None => now(),
        }
    }

    /// Whether it is bound to a runtime.
    pub fn is_bound(&self) -> bool {
        self.shared.is_some()
    }

    /// Binds it to `handle`'s runtime, if it is not bound yet.
    pub fn bind(&mut self, handle: &crate::Handle) {
        if self.shared.is_none() {
            self.shared = Some(handle.shared.clone());
        }
    }

    /// Ready once `deadline` has passed on the runtime's clock and, if the timer was
    /// registered, once its entry fired. Registers the entry (holding the task's key, or a
    /// clone of the waker) on the first pending poll; updates its waiter on later ones.
    ///
    /// `known_due` says that the caller already saw the deadline pass (it read the clock when
    /// it made the deadline): an unregistered timer then completes at once. Otherwise the
    /// first poll reads no clock (see inside).
    ///
    /// # Panics
    ///
    /// If it is not bound, or its runtime has shut down (except in a poll of one of that
    /// runtime's own tasks, which the shutdown cancels once the poll returns: pending).
    #[track_caller]
    pub fn poll_elapsed(
        &mut self,
        deadline: Instant,
        known_due: bool,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        if self.elapsed || (known_due && self.id.is_none()) {
            self.elapsed = true;
            return Poll::Ready(());
        }
        let Some(shared) = self.shared.as_deref() else {
            panic!("genrt::time: TimerEntry polled before it was bound to a runtime");
        };
        let timers = &shared.timers;
        match self.id {
            None => {
                // No clock read here: the insert compares the deadline's tick with the
                // wheel's `elapsed` (a lower bound of the current time, moved by every
                // processing), and one already due completes at once. A deadline that has
                // passed since the last processing is registered and fires at the next one,
                // which the insert asks for (its tick is the earliest), as Tokio does.
                match timers.insert(shared, deadline, cx.waker()) {
                    Ok(Some((id, tick))) => {
                        self.id = Some(id);
                        self.tick = tick;
                        Poll::Pending
                    }
                    Ok(None) => {
                        self.elapsed = true;
                        Poll::Ready(())
                    }
                    Err(Closed) => poll_closed(shared, cx.waker()),
                }
            }
            Some(id) => {
                // A new waiter is made (a waker cloned) with the wheel's lock released, and
                // the one it replaces dropped after it: a waker's `clone` or `Drop` may run
                // any code, this runtime's timers included.
                let mut new = None;
                loop {
                    let mut state = timers.wheel.lock();
                    if state.closed {
                        drop(state);
                        drop(new);
                        return poll_closed(shared, cx.waker());
                    }
                    let old = match state.wheel.waiter_mut(id) {
                        Some(waiter) if waiter.same_as(cx.waker()) => None,
                        Some(waiter) => match new.take() {
                            Some(new) => Some(std::mem::replace(waiter, new)),
                            None => {
                                drop(state);
                                new = Some(Waiter::of(shared, cx.waker()));
                                continue;
                            }
                        },
                        None => {
                            drop(state);
                            drop(new);
                            self.id = None;
                            // Fired. A deadline beyond the wheel's span was clamped to it: if
                            // it is still ahead, register again (never early).
                            return self.poll_elapsed(deadline, known_due, cx);
                        }
                    };
                    drop(state);
                    drop(old);
                    drop(new);
                    return Poll::Pending;
                }
            }
        }
    }

    /// Whether the timer completed: a poll returned ready, or its entry fired for its
    /// deadline. An entry whose deadline was beyond the wheel's span fires at the span's end
    /// (`wheel.rs`, "Placement"), early: that is not a completion (the next poll registers
    /// it again).
    pub fn is_elapsed(&self) -> bool {
        if self.elapsed {
            return true;
        }
        match (&self.shared, self.id) {
            (Some(shared), Some(id)) => {
                let state = shared.timers.wheel.lock();
                !state.closed && !state.wheel.contains(id) && state.wheel.elapsed() >= self.tick
            }
            _ => false,
        }
    }

    /// Re-arms the timer for `deadline`, also after it completed. A pending entry is moved in
    /// O(1) and keeps its waiter (if the new deadline is already due, that waiter is woken
    /// now); otherwise the next poll registers a new one. Either way a deadline already due
    /// (its tick not after the wheel's `elapsed`, the test `insert` makes) leaves the entry
    /// elapsed at once, as Tokio's reset registers the timer and fires a due one.
    pub fn reset(&mut self, deadline: Instant) {
        self.elapsed = false;
        let Some(shared) = self.shared.as_deref() else {
            return;
        };
        let timers = &shared.timers;
        let when = timers.clock.deadline_tick(deadline);
        let Some(id) = self.id else {
            let state = timers.wheel.lock();
            self.elapsed = !state.closed && when <= state.wheel.elapsed();
            return;
        };
        let outcome = {
            let mut state = timers.wheel.lock();
            let outcome = state
                .wheel
                .reschedule(id, when, timers.clock.nanos(deadline));
            if matches!(outcome, Some(Ok(()))) {
                self.tick = when;
                if when < timers.next.load(Ordering::Relaxed) {
                    // SeqCst: as in `insert`.
                    timers.next.store(when, Ordering::SeqCst);
                    drop(state);
                    timers.kick(shared, when);
                    return;
                }
            }
            outcome
        };
        match outcome {
            Some(Ok(())) => {}
            Some(Err(waiter)) => {
                // Already due: the entry fired now (as Tokio's reset fires a due timer), so
                // `is_elapsed` says so before the next poll, which completes at once.
                self.id = None;
                self.elapsed = true;
                match waiter {
                    Waiter::Key(key) => genrt_waker::waker(key).wake(),
                    Waiter::Waker(waker) => waker.wake(),
                }
            }
            None => self.id = None,
        }
    }
}

impl Drop for TimerEntry {
    fn drop(&mut self) {
        if let (Some(shared), Some(id)) = (self.shared.as_deref(), self.id) {
            let waiter = shared.timers.wheel.lock().wheel.remove(id);
            drop(waiter); // outside the lock: a waker's drop is user code
        }
    }
}

impl std::fmt::Debug for TimerEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerEntry")
            .field("bound", &self.shared.is_some())
            .field("registered", &self.id.is_some())
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

/// Keeps a paused clock from auto-advancing while it is alive (module docs, "Clock holds");
/// from [`Handle::hold_clock`](crate::Handle::hold_clock).
pub struct ClockHold {
    shared: Arc<Shared>,
}

impl Drop for ClockHold {
    fn drop(&mut self) {
        release_hold(&self.shared);
    }
}

/// Ends a hold ([`ClockHold`], [`HoldAdder`]).
fn release_hold(shared: &Shared) {
    // SeqCst: pairs with the load in `auto_advance_allowed` (this holder's earlier pushes,
    // e.g. a join handle's wake, are visible to a worker that reads the release).
    if shared.timers.holds.fetch_sub(1, Ordering::SeqCst) == 1 && shared.timers.clock.is_paused() {
        // The last hold: as an insert on a paused clock does, make sure some worker
        // re-checks, in case all parked while the clock was held. F_H: SeqCst fence, pairs
        // with F_W in `Idle::prepare_park` (idle/README.md, "Timers"). A clock paused after
        // the `is_paused` load above is re-checked by the pause itself (`Timers::rearm`).
        fence(Ordering::SeqCst);
        shared.idle.notify_one_after_fence();
    }
}

/// Adds holds to one runtime's clock, and can do nothing else: for a waker that must hold
/// the clock from its wake until the thread it wakes runs (a `block_on` thread's: module docs,
/// "Clock holds"). It keeps the count alive, not the runtime, so a waker holding it retains
/// no task and no runtime. Each [`HoldAdder::add`] is ended by one
/// [`Handle::release_clock_hold`](crate::Handle::release_clock_hold) of the same runtime.
#[derive(Clone)]
pub struct HoldAdder(Arc<AtomicUsize>);

impl HoldAdder {
    /// Adds one hold.
    pub fn add(&self) {
        // SeqCst: as in `Handle::hold_clock`.
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for HoldAdder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HoldAdder").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ClockHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClockHold").finish_non_exhaustive()
    }
}

impl crate::Handle {
    /// A hold that keeps a paused clock from auto-advancing until it is dropped (module
    /// docs, "Clock holds"). Taken whether or not the clock is paused now, because it may be
    /// paused while the hold lives ([`Handle::pause_clock`](crate::Handle::pause_clock)).
    /// [`Handle::advance_clock`](crate::Handle::advance_clock) still moves a held clock.
    pub fn hold_clock(&self) -> ClockHold {
        // SeqCst: with the load in `auto_advance_allowed`; a worker that decides to advance
        // before this increment is visible may still jump once (the spawn raced the idle
        // instant), as in Tokio.
        self.shared.timers.holds.fetch_add(1, Ordering::SeqCst);
        ClockHold {
            shared: self.shared.clone(),
        }
    }

    /// A [`HoldAdder`] for this runtime's clock.
    pub fn hold_adder(&self) -> HoldAdder {
        HoldAdder(self.shared.timers.holds.clone())
    }

    /// Ends one hold taken by [`HoldAdder::add`] (as dropping a [`ClockHold`] does): the
    /// last one lets a paused clock auto-advance again.
    pub fn release_clock_hold(&self) {
        release_hold(&self.shared);
    }

    /// The current time on this runtime's clock (real, or paused).
    pub fn clock_now(&self) -> Instant {
        self.shared.timers.clock().now()
    }

    /// Whether this runtime's clock is paused now (`Config::start_paused`,
    /// [`Handle::pause_clock`](crate::Handle::pause_clock)).
    pub fn is_clock_paused(&self) -> bool {
        self.shared.timers.clock().is_paused()
    }

    /// Paused clock: moves it forward by `by` and fires every timer that is then due (keys
    /// go to this worker's deque if called on one of the runtime's workers, else to the
    /// injector). Returns `false`, doing nothing, if the clock is not paused.
    pub fn advance_clock(&self, by: Duration) -> bool {
        let timers = &self.shared.timers;
        if !timers.clock().advance(by) {
            return false;
        }
        let local = context::local_worker(&self.shared);
        timers.process(&self.shared, local.as_deref());
        true
    }

    /// Pauses this runtime's running clock at its current value (module docs, "The paused
    /// clock"): from now on it moves only by [`Handle::advance_clock`](crate::Handle::advance_clock)
    /// or when every worker is idle. Returns `false`, doing nothing, if it is already paused.
    pub fn pause_clock(&self) -> bool {
        let timers = &self.shared.timers;
        if !timers.clock().pause() {
            return false;
        }
        // A worker in a timed park waits on the real time, which no longer moves this clock,
        // and a worker that became idle before the pause did not try to advance it: wake one
        // so that the idle workers re-decide under the paused rules (`idle/README.md`,
        // "Timers").
        timers.rearm(&self.shared);
        true
    }

    /// Resumes this runtime's paused clock: it runs again from its paused value, at the
    /// speed of the real time. Returns `false`, doing nothing, if it is not paused.
    pub fn resume_clock(&self) -> bool {
        let timers = &self.shared.timers;
        if !timers.clock().resume() {
            return false;
        }
        // Paused workers park without a timeout: wake one so that some worker takes the
        // timed park for the next timer.
        timers.rearm(&self.shared);
        true
    }
}
