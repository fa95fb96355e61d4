//! A worker thread: its local queues and its run loop.
//!
//! # Where a key goes
//!
//! | event                                       | queue                                    |
//! |---------------------------------------------|------------------------------------------|
//! | spawn or wake (of an idle task) on a worker | the worker's LIFO slot; a displaced key goes to the back of the deque |
//! | task woken during its own poll, yielding    | the worker's deferred list               |
//! | task woken during its own poll otherwise    | the back of the deque (as in Tokio)      |
//! | spawn or wake on any other thread           | the injector                             |
//!
//! A task yields when it calls `mark_yield` before its wake (`yield_now`, a spent coop
//! budget: Tokio's `context::defer`). A task that wakes itself without yielding (a
//! `FuturesUnordered`, a channel, a hand-written future) goes where the other workers see
//! it, with a notification: the worker's next poll may block, and an idle worker must not
//! watch the task wait meanwhile. A yield stays aside, seen by nobody, so that a task looping
//! on `yield_now` does not wake idle workers for nothing. A driver (one worker, no thief)
//! defers both.
//!
//! Only a push to the deque or the injector notifies an idle worker: a key in the LIFO slot
//! runs right after the current poll on this worker, so waking another worker for it would
//! only move it across cores (a chain of spawns would bounce between threads). A displaced
//! key does notify, which is how a task spawning many children spreads them.
//!
//! # Picking the next task (`next_task`)
//!
//! The two intervals below are the defaults of `Config::event_interval` and
//! `Config::global_queue_interval` (Tokio's names); the bounds hold with configured ones,
//! except a `global_queue_interval` below `LIFO_POLL_CAP + 4` (the ticks from one pop of the
//! deque to the next, "Fairness"): then step 2 may come more than once between two pops of
//! the deque (at `LIFO_POLL_CAP + 3`, on the tick that would have popped it), and at 1, a
//! steady stream of foreign spawns keeps the deque from being popped at all (as in Tokio,
//! which looks at its global queue first on such ticks too).
//!
//! 1. Every [`DEFERRED_INTERVAL`]th tick, the deferred list (below) moves to the back of the
//!    deque, so a task that yielded is never held back for longer than that by tasks that
//!    keep the queues busy (two tasks waking each other forever, a stream of foreign spawns).
//! 2. Every [`INJECTOR_INTERVAL`]th tick, the injector first, so foreign work is never starved
//!    by a busy local queue.
//! 3. The LIFO slot, unless [`LIFO_POLL_CAP`] LIFO polls ran in a row; then the LIFO key goes
//!    to the back of the deque, so two tasks waking each other cannot starve the rest, and
//!    (once between two pops of the deque) the injector is looked at first, as at step 2,
//!    its batch going ahead of that key: a chain of tasks, each spawning or waking the next
//!    on a worker that stalls in each poll (Tokio's `spawn_many_remote_busy2`), holds
//!    foreign spawns back for `LIFO_POLL_CAP + 1` ticks at most, not [`INJECTOR_INTERVAL`].
//! 4. The front of the deque (FIFO), then the injector; but right after a poll whose task
//!    woke itself without yielding (now at the back of the deque), the injector first, once
//!    between two pops of the deque, so that such a task and one waiting in the injector take
//!    turns, also on a one-worker runtime (a yield, deferred, waits for both anyway).
//! 5. The deferred list, after the timers that are due fire (to the back of the deque, ahead
//!    of it): every task that yielded (woke itself during its poll after `mark_yield`)
//!    since the last time, moved to the back of the deque in yield order. A yielding task
//!    therefore waits until the deque and the injector are drained once, or until step 1,
//!    whichever comes first: a task looping on `yield_now` gets one poll per round and
//!    cannot hold the injector back, even when every task of the deque yields (Tokio's
//!    `defer` list plays the same part, woken every 61 ticks). Moving them to the deque makes
//!    them stealable and notifies an idle worker.
//! 6. Otherwise process the timers that are due, if any (`time`; a busy worker also does it
//!    every [`DEFERRED_INTERVAL`]th tick, with step 1);
//! 7. Otherwise search: steal half of a random victim's deque (`steal_batch_and_pop`), then
//!    park (see `idle/README.md`).
//!
//! # Fairness
//!
//! Every key queued on a worker is polled within a bounded number of that worker's polls,
//! whatever the other tasks do. A key in the LIFO slot runs within two ticks (the next one,
//! or the one after an injector tick), unless it is moved to the deque. A key in the deferred
//! list reaches the deque within [`DEFERRED_INTERVAL`] ticks. The deque is FIFO and at least
//! one tick in every `LIFO_POLL_CAP + 4` pops it (at most `LIFO_POLL_CAP` LIFO polls, the
//! injector poll of step 3, the one of step 4 and one of step 2 come between two pops: the
//! cap's count is reset only by a pop, or by finding the deque empty), so a key at position
//! `p` runs within `p * (LIFO_POLL_CAP + 4)` ticks; `p` is at most the number of tasks
//! queued on the worker, because a task's key is in at most one queue at a time (the slot's
//! SCHEDULED bit). A key in the injector is taken within [`INJECTOR_INTERVAL`] ticks of
//! reaching its front, by any worker. A thief may move a key to another worker's deque,
//! which only restarts the same bound there.

use std::cell::{Cell, RefCell};
use std::task::{Context, Poll};

use genrt_waker::{AfterPoll, FreeCache, TaskKey};

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::context::{self, Entry};
use crate::loom::sync::Arc;
use crate::metrics::Event;
use crate::queue::{Steal, Worker};
use crate::shared::Shared;
use crate::task;
use crate::ThreadHook;

/// The injector is checked first on every 13th tick. Tokio checks its global queue every 61
/// ticks because that queue is behind a mutex; crossbeam's injector is lock-free and an empty
/// one costs two loads, so genrt can afford to look more often, which keeps foreign work from
/// waiting behind a worker whose queue never empties (a chain of spawns, tasks that stall).
/// A prime, so it does not beat against periodic task patterns.
pub(crate) const INJECTOR_INTERVAL: u32 = 13;

/// The maintenance tick, by default every 61st (`Config::event_interval`): the deferred
/// list moves to the deque, and due timers are processed (the fired keys go to the back of
/// the deque, `time` module docs). Tokio wakes its deferred tasks (yields) and polls its
/// drivers at its maintenance tick, every 61 ticks (`event_interval`). Often enough to bound
/// a yielding task's wait and a due timer's (at most 61 polls, and never past the worker's
/// next search or park), rarely enough that tasks looping on `yield_now` around a slow poll
/// (Tokio's `spawn_many_remote_busy1`) do not crowd out the queued work. A prime, and not a
/// multiple of [`INJECTOR_INTERVAL`], so the two do not beat against each other or against
/// periodic task patterns.
pub(crate) const DEFERRED_INTERVAL: u32 = 61;

/// At most this many LIFO-slot polls in a row (Tokio's `MAX_LIFO_POLLS_PER_TICK`, PR #5712).
pub(crate) const LIFO_POLL_CAP: u32 = 3;

/// Worker-local state, reachable from the thread-local context.
pub(crate) struct Local {
    index: usize,
    deque: Worker<TaskKey>,
    lifo: Cell<Option<TaskKey>>,
    /// Tasks that yielded (woke themselves during their own poll after [`Local::mark_yield`]),
    /// run after the deque and the injector (step 5), or moved to the deque by step 1.
    deferred: RefCell<Vec<TaskKey>>,
    /// Set by [`Local::mark_yield`] during a poll, cleared when the next poll starts: the
    /// task's wake of itself in this poll is a yield.
    yielded: Cell<bool>,
    /// Set when a task that woke itself without yielding went to the back of the deque,
    /// taken by the next `next_task` (step 4 of the module docs).
    requeued: Cell<bool>,
    /// Slots of tasks this worker completed, for its next spawns (`genrt_waker::FreeCache`);
    /// handed to the shared free list in batches and before the worker parks.
    pub(crate) free: FreeCache,
}

impl Local {
    pub(crate) fn new(index: usize, deque: Worker<TaskKey>) -> Local {
        Local {
            index,
            deque,
            lifo: Cell::new(None),
            deferred: RefCell::new(Vec::new()),
            yielded: Cell::new(false),
            requeued: Cell::new(false),
            free: FreeCache::default(),
        }
    }

    /// The task being polled yields: its wake of itself in this poll defers it (see
    /// `genrt_scheduler::mark_yield`).
    pub(crate) fn mark_yield(&self) {
        self.yielded.set(true);
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }

    pub(crate) fn deque(&self) -> &Worker<TaskKey> {
        &self.deque
    }

    /// Displaced LIFO keys and deferred yields: back of the deque, visible to thieves.
    pub(crate) fn push_back(&self, shared: &Shared, key: TaskKey) {
        self.deque.push(key);
        shared.idle.notify_one();
    }

    /// Yields: kept aside until the deque and the injector were looked at (step 5), or until
    /// step 1 moves them to the deque.
    pub(crate) fn defer(&self, key: TaskKey) {
        self.deferred.borrow_mut().push(key);
    }

    /// Moves the deferred keys to the back of the deque, in yield order, where other workers
    /// can steal them. Returns whether there were any.
    fn flush_deferred(&self, shared: &Shared) -> bool {
        let mut deferred = self.deferred.borrow_mut();
        if deferred.is_empty() {
            return false;
        }
        for key in deferred.drain(..) {
            self.deque.push(key);
        }
        drop(deferred);
        shared.idle.notify_one();
        true
    }

    /// Moves the deferred keys to the back of the deque and pops the first of them.
    fn take_deferred(&self, shared: &Shared) -> Option<TaskKey> {
        if self.flush_deferred(shared) {
            self.deque.pop()
        } else {
            None
        }
    }

    /// Before the worker blocks (`Handle::begin_blocking`): the LIFO key and the deferred
    /// keys go to the back of the deque, where other workers (and a stand-in) steal them, and
    /// an idle worker is notified.
    pub(crate) fn spill(&self, shared: &Shared) {
        if let Some(key) = self.lifo.take() {
            self.deque.push(key);
        }
        for key in self.deferred.borrow_mut().drain(..) {
            self.deque.push(key);
        }
        if !self.deque.is_empty() {
            shared.idle.notify_one();
        }
    }

    /// Moves every key of this worker's queues to the injector (a driver putting its worker
    /// back): only a present worker holds keys (`idle/README.md`), so that a settle sees
    /// them, and the next driver, or a settle, runs them.
    fn hand_back(&self, shared: &Shared) {
        while let Some(key) = self.deque.pop() {
            shared.injector.push(key);
        }
        if let Some(key) = self.lifo.take() {
            shared.injector.push(key);
        }
        for key in self.deferred.borrow_mut().drain(..) {
            shared.injector.push(key);
        }
    }

    /// Whether the only keys this worker can run now are its deferred yields: the LIFO slot,
    /// the deque and the injector are empty, the deferred list is not.
    fn only_yields(&self, shared: &Shared) -> bool {
        if self.deferred.borrow().is_empty() || !self.deque.is_empty() {
            return false;
        }
        let lifo = self.lifo.take();
        let empty = lifo.is_none();
        self.lifo.set(lifo);
        empty && shared.injector.is_empty()
    }

    /// Whether this worker's own queues hold a key (the LIFO slot, the deque, the deferred
    /// list).
    fn has_work(&self) -> bool {
        let lifo = self.lifo.take();
        let has = lifo.is_some();
        self.lifo.set(lifo);
        has || !self.deque.is_empty() || !self.deferred.borrow().is_empty()
    }

    /// Spawns and wakes: the LIFO slot, for message-passing latency.
    pub(crate) fn push_lifo(&self, shared: &Shared, key: TaskKey) {
        if let Some(displaced) = self.lifo.replace(Some(key)) {
            self.push_back(shared, displaced);
        }
    }

    /// [`Local::push_lifo`] without the notification: returns whether a key was displaced
    /// to the deque, in which case the caller must notify an idle worker (push, steps 2-4).
    pub(crate) fn push_lifo_unnotified(&self, key: TaskKey) -> bool {
        match self.lifo.replace(Some(key)) {
            Some(displaced) => {
                self.deque.push(displaced);
                true
            }
            None => false,
        }
    }
}

/// How often a busy worker does its periodic steps (`Config::event_interval`,
/// `Config::global_queue_interval`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Intervals {
    /// Every this many ticks: the deferred list to the deque, and due timers.
    pub(crate) event: u32,
    /// Every this many ticks: the injector first.
    pub(crate) injector: u32,
}

impl Default for Intervals {
    fn default() -> Intervals {
        Intervals {
            event: DEFERRED_INTERVAL,
            injector: INJECTOR_INTERVAL,
        }
    }
}

/// The loop-local part of a worker.
struct Core {
    /// Ticks left until the next maintenance tick (deferred list, timers): counted down, so
    /// that a configured interval costs no division per tick.
    until_event: u32,
    /// Ticks left until the next injector-first tick.
    until_injector: u32,
    intervals: Intervals,
    lifo_polls: u32,
    /// Step 4's injector poll after a self-wake came since the last pop of the deque.
    injector_after_requeue: bool,
    searching: bool,
    rng: u64,
    /// Start of the current busy stretch (since the loop began or the last park ended), for
    /// the worker's busy time (`WorkerMetrics::busy`).
    busy_since: std::time::Instant,
}

/// The thread hooks of `Config`, run by each worker inside its context.
pub(crate) struct Hooks {
    pub(crate) start: Option<ThreadHook>,
    pub(crate) stop: Option<ThreadHook>,
    pub(crate) park: Option<ThreadHook>,
    pub(crate) unpark: Option<ThreadHook>,
}

/// Runs a hook; a panic in it is caught and dropped so that it cannot take a worker down
/// (the panic hook has already reported it).
fn run_hook(hook: Option<&ThreadHook>) {
    if let Some(hook) = hook {
        let _ = catch_unwind(AssertUnwindSafe(|| hook()));
    }
}

/// Body of worker thread `local.index()`.
pub(crate) fn run(shared: Arc<Shared>, local: Local, hooks: Hooks, intervals: Intervals) {
    let local = std::rc::Rc::new(local);
    let _context = context::enter(shared.clone(), Entry::Worker(local.clone()), false);
    run_hook(hooks.start.as_ref());
    run_loop(&shared, &local, &hooks, intervals);
    // A runtime closed from inside (a task panicked under `shutdown_on_panic`) has nobody
    // running shutdown yet: each worker leaving the loop sweeps, so every other task is
    // cancelled promptly (sweeps are idempotent: one claim per task).
    if shared.is_panicked() {
        shared.sweep(Some(&local));
    }
    run_hook(hooks.stop.as_ref());
}

/// The run loop, until the runtime closes.
fn run_loop(shared: &Shared, local: &Local, hooks: &Hooks, intervals: Intervals) {
    let _presence = shared.idle.enter_loop(local.index());
    let mut core = Core::new(local, intervals);
    while !shared.is_closed() {
        if !core.tick(shared, local) {
            core.park(shared, local, hooks);
        }
    }
    shared.add_busy(local, core.busy_since.elapsed());
    shared.slab.flush(&local.free);
    // Keys left in the local queues are plain integers; shutdown's sweep drops the tasks.
}

/// The future a driven runtime's driver runs beside its tasks (a current-thread runtime's
/// `block_on` future), seen from `Handle::drive`.
pub trait Root {
    /// Takes a pending wake of the future, if there is one: `true` means "poll it now". The
    /// first call of a drive may say `true` without a wake (the first poll).
    fn take_wake(&mut self) -> bool;
    /// Whether a wake is pending, without taking it (the park re-check: a driver does not
    /// sleep with its future woken; and between two task polls, where a woken root is
    /// polled before the yields are run again). A wake must also give the driver's worker a
    /// token (`Handle::driver_unparker`), after whatever this reads.
    fn is_woken(&self) -> bool;
    /// Polls the future once; `true` when it is done (the drive then ends).
    fn poll(&mut self) -> bool;
    /// Whether the drive ends, instead of parking, when the driver runs out of work: a
    /// settle of a driven runtime. The default: no.
    fn stop_when_idle(&self) -> bool {
        false
    }
}

/// A driven runtime's one worker, while no thread drives it, and the threads waiting to
/// (`Config::driven`; [`drive`]).
pub(crate) struct Driver {
    state: crate::loom::sync::Mutex<DriverState>,
    hooks: Hooks,
    intervals: Intervals,
    /// Set while a drive runs a batch of ticks (it may be polling a task), clear while it
    /// polls its root, parks or waits: a shutdown from another thread waits for it to clear
    /// before it sweeps ([`Driver::is_ticking`]), as it waits for a worker thread's poll,
    /// so that no future of the runtime is alive when the runtime's drop returns.
    ticking: crate::loom::sync::atomic::AtomicBool,
}

struct DriverState {
    /// Worker 0, put back by each drive as it ends.
    core: Option<Local>,
    /// Set if a drive could not put the core back (it stays missing; later drives panic).
    lost: bool,
    /// Threads that found the core taken, woken when it is put back.
    waiters: Vec<std::task::Waker>,
}

impl Driver {
    pub(crate) fn new(local: Local, hooks: Hooks, intervals: Intervals) -> Driver {
        Driver {
            state: crate::loom::sync::Mutex::new(DriverState {
                core: Some(local),
                lost: false,
                waiters: Vec::new(),
            }),
            hooks,
            intervals,
            ticking: crate::loom::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Marks the drive as running tasks ([`Driver::ticking`]) until the returned guard is
    /// dropped; `None` (and no mark) if the runtime is closed: then no task may start.
    fn start_ticking<'a>(&'a self, shared: &'a Shared) -> Option<Ticking<'a>> {
        use crate::loom::sync::atomic::{fence, Ordering};
        self.ticking.store(true, Ordering::SeqCst);
        let ticking = Ticking {
            driver: self,
            shared,
        };
        // SeqCst fence between the mark and the check, as `Shared::close` has one between
        // its store and shutdown's look at the mark: either this drive sees the close and
        // starts no task, or the shutdown sees the mark and waits for it to clear.
        fence(Ordering::SeqCst);
        if shared.is_closed() {
            return None;
        }
        Some(ticking)
    }

    /// Whether a drive is running tasks now (see [`Driver::ticking`]). SeqCst: pairs with
    /// [`Driver::start_ticking`]; read after `Shared::close`, under `Shared::exits`' lock.
    pub(crate) fn is_ticking(&self) -> bool {
        self.ticking
            .load(crate::loom::sync::atomic::Ordering::SeqCst)
    }

    /// Takes the core, or registers `waiter` to be woken when it is put back.
    fn take_or_wait(&self, waiter: &std::task::Waker) -> Option<Local> {
        let mut state = self.state.lock();
        if state.lost {
            drop(state);
            panic!(
                "genrt: this current-thread runtime lost its scheduler: a block_on on it was \
                 left while a runtime context entered inside it was still alive (a leaked \
                 EnterGuard?), so its tasks cannot run any more"
            );
        }
        if let Some(core) = state.core.take() {
            return Some(core);
        }
        if !state.waiters.iter().any(|w| w.will_wake(waiter)) {
            state.waiters.push(waiter.clone());
        }
        None
    }

    /// Forgets `waiter`, registered by [`Driver::take_or_wait`], if it still is: its thread no
    /// longer waits for the core (its `block_on` future completed while another thread
    /// drove, or its settle returned). Otherwise a drive that lasts (a `block_on` of the
    /// whole program) would keep one waker for each such call until it ends.
    pub(crate) fn forget_waiter(&self, waiter: &std::task::Waker) {
        let forgotten = {
            let mut state = self.state.lock();
            let at = state.waiters.iter().position(|w| w.will_wake(waiter));
            at.map(|at| state.waiters.swap_remove(at))
        };
        drop(forgotten); // outside the lock
    }

    /// Puts the core back and wakes every waiter (one of them takes it, the others register
    /// again).
    fn put_back(&self, core: Option<Local>) {
        let waiters = {
            let mut state = self.state.lock();
            match core {
                Some(core) => state.core = Some(core),
                None => state.lost = true,
            }
            std::mem::take(&mut state.waiters)
        };
        for waiter in waiters {
            waiter.wake();
        }
    }
}

/// A drive's mark while it runs tasks ([`Driver::start_ticking`]): cleared when dropped,
/// waking a shutdown that waits for it.
struct Ticking<'a> {
    driver: &'a Driver,
    shared: &'a Shared,
}

impl Drop for Ticking<'_> {
    fn drop(&mut self) {
        use crate::loom::sync::atomic::{fence, Ordering};
        // Release (SeqCst): the polls of the batch happen before the shutdown's sweep.
        self.driver.ticking.store(false, Ordering::SeqCst);
        // SeqCst fence between the clear and the check, against `Shared::close`'s: either a
        // shutdown sees the mark cleared, or this drive sees the close and notifies it.
        fence(Ordering::SeqCst);
        if self.shared.is_closed() {
            // A shutdown may be waiting for the mark: it checks it under this lock.
            let _exits = self.shared.exits.lock();
            self.shared.exited_cv.notify_all();
        }
    }
}

/// Runs worker 0 of a driven runtime on this thread, beside `root`, until `root` is done
/// (or, with [`Root::stop_when_idle`], until no work is left): `root` is polled first and
/// whenever it is woken, tasks run in between, and the thread parks as a worker parks when
/// there is nothing to do (a wake of `root` unparks it). A closed runtime runs no task: the
/// driver then only polls `root`. Returns `false` at once, with `waiter` registered to be
/// woken when the core is put back, if another thread drives (Tokio's current-thread
/// runtime: one `block_on` at a time runs the tasks; the others poll only their own future).
pub(crate) fn drive(
    shared: &Arc<Shared>,
    driver: &Driver,
    root: &mut dyn Root,
    waiter: &std::task::Waker,
) -> bool {
    let Some(local) = driver.take_or_wait(waiter) else {
        return false;
    };
    /// Puts the core back when the drive ends, also by a panic of `root`'s poll. Declared
    /// before the context, the presence and the `local` clones below, so dropped after them
    /// (also when unwinding): its `Rc` is the last one by then (contexts hold the worker
    /// weakly, so one that a task leaked, with the `EnterGuard` that covers it, keeps none).
    struct PutBack<'a> {
        driver: &'a Driver,
        local: Option<std::rc::Rc<Local>>,
    }
    impl Drop for PutBack<'_> {
        fn drop(&mut self) {
            let core = self
                .local
                .take()
                .and_then(|rc| std::rc::Rc::try_unwrap(rc).ok());
            self.driver.put_back(core);
        }
    }
    let put_back = PutBack {
        driver,
        local: Some(std::rc::Rc::new(local)),
    };
    let local = put_back.local.clone().expect("just set");
    // Two chains of contexts, as Tokio keeps its scheduler context apart from the stack of
    // `Handle::enter` guards: `root` is polled in the chain the caller is in, topped by the
    // drive's root context (where the `enter` guards of the `block_on` future nest,
    // whichever thread drives when they are made or dropped), the tasks in the worker's
    // context above it.
    let root_context = context::enter(shared.clone(), Entry::Root(local.clone()), false);
    let mut contexts = DriverContexts {
        root_side: context::SavedContexts::current(),
        root: Some(root_context),
        worker: Some(context::enter(
            shared.clone(),
            Entry::Worker(local.clone()),
            false,
        )),
    };
    let presence = shared.idle.enter_loop(local.index());
    /// What a driver undoes as it stops, also by a panic of `root`'s poll, *before* its
    /// presence ends (declared after it, so dropped first):
    /// - its search: a driver leaves with its future done, maybe right after a notification
    ///   made it a searcher, and a searcher left counted would keep every later
    ///   notification away (`Idle::notify_one` does nothing while one searches);
    /// - its queued keys, handed to the injector: only a present worker holds keys
    ///   (`idle/README.md`), so a settle waiting for this worker to be absent then finds
    ///   them, and the next driver, or that settle, runs them.
    struct Leaving<'a> {
        core: Core,
        shared: &'a Shared,
        local: std::rc::Rc<Local>,
    }
    impl Drop for Leaving<'_> {
        fn drop(&mut self) {
            if std::mem::replace(&mut self.core.searching, false) {
                self.shared.idle.end_search();
            }
            self.local.hand_back(self.shared);
            self.shared.slab.flush(&self.local.free);
            // A runtime closed from inside (a task panicked under `shutdown_on_panic`) has
            // nobody running shutdown yet, and no worker thread that sweeps as it leaves its
            // loop (`run`): the driver sweeps as it stops (its `block_on` panics, or a settle
            // returns), so every other task is cancelled promptly, as on a multi-thread
            // runtime and in Tokio.
            if self.shared.is_panicked() {
                self.shared.sweep(Some(&self.local));
            }
        }
    }
    let mut driving = Leaving {
        core: Core::new(&local, driver.intervals),
        shared,
        local: local.clone(),
    };
    let core = &mut driving.core;
    let hooks = &driver.hooks;
    // Tokio's current-thread loop: poll `root` if woken, then run up to `event_interval`
    // tasks, back to `root` early when the queues run dry (after a park, which ends at once
    // if `root` was woken meanwhile).
    let done = 'drive: loop {
        if root.take_wake() && contexts.poll_root(root) {
            break true;
        }
        if shared.is_closed() {
            if root.stop_when_idle() {
                break true;
            }
            // No task runs any more (shutdown's sweep cancels them); wait for `root`.
            if !root.is_woken() {
                shared.idle.wait_token(local.index());
            }
            continue;
        }
        // Marked while it runs tasks, so that a shutdown from another thread waits for the
        // poll in progress (none starts once the close is seen).
        let Some(ticking) = driver.start_ticking(shared) else {
            continue;
        };
        for _ in 0..driver.intervals.event {
            // Checked every tick, as a worker's loop does: after a close, no new poll starts.
            if shared.is_closed() {
                continue 'drive;
            }
            // Back to a woken `root` when only yields are left to run, as in Tokio's
            // current-thread loop, whose yields wait aside until its run queue is empty and
            // which then polls its woken `block_on` future first: tasks looping on
            // `yield_now` hold `root` back for one round of them, not for the whole batch
            // (`event_interval` ticks, which may be `u32::MAX`). A settle past its deadline
            // (its root is woken then) goes back at once, whatever the tasks do. The timers
            // due first, then the yields behind them (step 5's order).
            if root.is_woken() && (root.stop_when_idle() || local.only_yields(shared)) {
                shared.timers.process_if_due(shared, Some(&local));
                local.flush_deferred(shared);
                continue 'drive;
            }
            if core.tick(shared, &local) {
                continue;
            }
            if root.stop_when_idle() {
                break 'drive true;
            }
            // Not running tasks while parked.
            drop(ticking);
            core.park_driver(shared, &local, hooks, &*root);
            continue 'drive;
        }
    };
    shared.add_busy(&local, core.busy_since.elapsed());
    drop(driving);
    drop(presence);
    drop(contexts);
    drop(local);
    drop(put_back);
    done
}

/// A driver's two chains of contexts ([`drive`]): the worker's, current while it runs
/// tasks, and `root_side`, the chain its root is polled in, set aside meanwhile. `root` is
/// the drive's root context on top of the caller's chain (`Entry::Root`: the root's spawns
/// and wakes reach the driver's queues through it).
///
/// The root's chain holds no worker context, only `root`, which holds the worker weakly and
/// counts no depth of its own: an `enter` guard that the future keeps (across an `.await`,
/// while it unwinds, or leaked) covers no context of the worker, and dropping such a guard
/// later, out of the drive or in another drive of the same thread, finds the chain it
/// entered in. (Every context holds its worker weakly: one kept past the drive, by a guard
/// a task or the future leaked, does not keep the worker from being put back.)
struct DriverContexts {
    root_side: context::SavedContexts,
    root: Option<context::ContextGuard>,
    worker: Option<context::ContextGuard>,
}

impl DriverContexts {
    /// Polls `root` in its own chain, back to the worker's after the poll, also when it
    /// panics.
    fn poll_root(&mut self, root: &mut dyn Root) -> bool {
        /// Swaps the worker's chain back in when the root's poll returns or unwinds.
        struct Back<'a>(&'a mut context::SavedContexts);
        impl Drop for Back<'_> {
            fn drop(&mut self) {
                self.0.swap();
            }
        }
        self.root_side.swap();
        let _back = Back(&mut self.root_side);
        root.poll()
    }
}

impl Drop for DriverContexts {
    /// Leaves the worker's context for the root's chain as the root left it (not for the
    /// context the worker's entry covered, which the root's guards may have left since).
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.discard();
        }
        self.root_side.swap();
        // The root context is left as a guard is: put back what it covered if it is the
        // innermost (the root's guards all dropped). Otherwise a guard the root keeps
        // (leaked, or dropped as the root unwinds) is above it, and putting that guard's
        // context back later makes it current again, harmlessly (its worker is gone with
        // the drive), until the `block_on` guard leaves; or the root dropped a guard made
        // before the drive, which left the root context with it: nothing to put back.
        if let Some(root) = self.root.take() {
            if root.is_current() {
                drop(root);
            } else {
                root.discard();
            }
        }
    }
}

impl Core {
    fn new(local: &Local, intervals: Intervals) -> Core {
        Core {
            until_event: intervals.event,
            until_injector: intervals.injector,
            intervals,
            lifo_polls: 0,
            injector_after_requeue: false,
            searching: false,
            rng: 0x9e37_79b9_7f4a_7c15 ^ (local.index() as u64 + 1),
            busy_since: std::time::Instant::now(),
        }
    }

    /// One step of the loop: runs one task, or fires the timers that are due. `false` if
    /// there was nothing to do (the caller parks).
    fn tick(&mut self, shared: &Shared, local: &Local) -> bool {
        if let Some(key) = self.next_task(shared, local) {
            self.found_work(shared);
            run_task(shared, local, key);
            return true;
        }
        // Before searching or parking: expiries due now (the cheap check first).
        if shared.timers.process_if_due(shared, Some(local)) {
            return true;
        }
        if let Some(key) = self.search(shared, local) {
            self.found_work(shared);
            run_task(shared, local, key);
            return true;
        }
        false
    }

    fn next_task(&mut self, shared: &Shared, local: &Local) -> Option<TaskKey> {
        self.until_event -= 1;
        if self.until_event == 0 {
            self.until_event = self.intervals.event;
            local.flush_deferred(shared);
            // A busy worker processes expiries too (the fired keys go to the back of its
            // deque, `time` module docs).
            shared.timers.process_if_due(shared, Some(local));
        }
        self.until_injector -= 1;
        if self.until_injector == 0 {
            self.until_injector = self.intervals.injector;
            // `lifo_polls` is not reset here: the cap bounds the LIFO polls between two pops
            // of the deque whatever the injector ticks do, as the fairness bound assumes.
            if let Some(key) = shared.steal_injector(local) {
                return Some(key);
            }
        }
        if let Some(key) = local.lifo.take() {
            if self.lifo_polls < LIFO_POLL_CAP {
                self.lifo_polls += 1;
                return Some(key);
            }
            // The slot held a chain of tasks (each spawning or waking the next) for the cap:
            // foreign work first, once between two pops of the deque (a task taken from the
            // injector may start a chain of its own), and ahead of the chain's key, as on an
            // injector tick.
            let foreign = if self.lifo_polls == LIFO_POLL_CAP {
                self.lifo_polls += 1;
                shared.steal_injector(local)
            } else {
                None
            };
            local.push_back(shared, key);
            if foreign.is_some() {
                return foreign;
            }
        }
        // Step 4: a task that woke itself is at the back of the deque; one waiting in the
        // injector goes first, once between two pops (a stream of self-waking foreign tasks
        // must not keep the deque from being popped). `lifo_polls` is reset only past this
        // point: the LIFO cap counts the LIFO polls between two pops of the deque, and a
        // reset here let a second run of them (and a second injector poll at the cap) come
        // before the next pop.
        if local.requeued.take() && !self.injector_after_requeue {
            self.injector_after_requeue = true;
            if let Some(key) = shared.steal_injector(local) {
                return Some(key);
            }
        }
        self.lifo_polls = 0;
        self.injector_after_requeue = false;
        local
            .deque
            .pop()
            .or_else(|| shared.steal_injector(local))
            .or_else(|| {
                // Step 5, after the timers due now: tasks looping on yields never let the
                // queues run dry (step 6), and step 1's interval may be configured long.
                // What fired went to the deque or, woken through a waker of a task of this
                // worker, to the LIFO slot; the yields follow it into the deque (so timers
                // firing at every turn cannot hold them back), and the slot is taken first
                // (it must not hold a key when this returns nothing: the worker would park).
                if shared.timers.process_if_due(shared, Some(local)) {
                    local.flush_deferred(shared);
                    if let Some(key) = local.lifo.take().or_else(|| local.deque.pop()) {
                        return Some(key);
                    }
                }
                local.take_deferred(shared)
            })
    }

    fn search(&mut self, shared: &Shared, local: &Local) -> Option<TaskKey> {
        if !self.searching {
            if !shared.idle.try_begin_search() {
                return None;
            }
            self.searching = true;
        }
        let workers = shared.stealers.len();
        // Two rounds: a `Retry` means a race with another thief, worth one more look.
        for _ in 0..2 {
            let mut retry = false;
            let start = self.next_random() as usize % workers;
            for i in 0..workers {
                let victim = (start + i) % workers;
                if victim == local.index() {
                    continue;
                }
                let before = local.deque.len();
                match shared.stealers[victim].steal_batch_and_pop(&local.deque) {
                    Steal::Success(key) => {
                        // The batch: the key returned and what went into this deque (other
                        // thieves may take some back at once; counted as seen now).
                        let batch = local.deque.len().saturating_sub(before) + 1;
                        shared.count_steal(local, batch as u64);
                        return Some(key);
                    }
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if let Some(key) = shared.steal_injector(local) {
                return Some(key);
            }
            if !retry {
                break;
            }
        }
        None
    }

    /// Leaves the searching state after finding work; the last searcher wakes another worker
    /// because the batch it took may hold more than it can run alone.
    fn found_work(&mut self, shared: &Shared) {
        if self.searching {
            self.searching = false;
            if shared.idle.end_search() {
                shared.idle.notify_one();
            }
        }
    }

    /// Parks until notified, with the park and unpark hooks around it: the park hook runs
    /// before the worker registers to sleep, so that what it spawns or wakes (in this
    /// worker's own queues, which no other worker looks at) runs first; the unpark hook runs
    /// once the worker is back, whether it slept or not.
    fn park(&mut self, shared: &Shared, local: &Local, hooks: &Hooks) {
        if hooks.park.is_none() && hooks.unpark.is_none() {
            return self.sleep(shared, local, &|| false);
        }
        run_hook(hooks.park.as_ref());
        if !local.has_work() {
            self.sleep(shared, local, &|| false);
        }
        run_hook(hooks.unpark.as_ref());
    }

    /// [`Core::park`] for a driver: parks unless `root` is woken, and counts a park that ends
    /// at once when it is (as Tokio's current-thread runtime parks its driver with the
    /// `block_on` future's wake pending: the park returns on the token the wake left).
    fn park_driver(&mut self, shared: &Shared, local: &Local, hooks: &Hooks, root: &dyn Root) {
        run_hook(hooks.park.as_ref());
        if !local.has_work() {
            if root.is_woken() {
                shared.count(Some(local), Event::Park);
                shared.count(Some(local), Event::Unpark);
            } else {
                self.sleep(shared, local, &|| root.is_woken());
            }
        }
        run_hook(hooks.unpark.as_ref());
    }

    /// Registers to sleep and sleeps, unless work shows up meanwhile (the park protocol,
    /// `idle/README.md`), or moves a paused clock. `woken`: work of the caller's own that the
    /// park re-check counts too (a driver's root future; its wake gives a token after what
    /// this reads).
    fn sleep(&mut self, shared: &Shared, local: &Local, woken: &dyn Fn() -> bool) {
        // Freed slots go where spawns from other threads find them.
        shared.slab.flush(&local.free);
        let was_searching = std::mem::replace(&mut self.searching, true);
        if !shared.idle.prepare_park(local.index(), was_searching, || {
            shared.has_visible_work() || woken()
        }) {
            return;
        }
        if shared.is_closed() {
            // Registered, not searching (only leaving `sleepers` makes it a searcher again).
            self.searching = false;
            return;
        }
        let timers = &shared.timers;
        if timers.clock().is_paused() {
            // Paused clock: the last worker to become idle moves the clock to the next timer
            // and fires it (`time` module docs; `idle/README.md`, "Timers").
            // Holds first: see `Timers::auto_advance_allowed`.
            let advanced = shared.idle.leave_if_all_idle(local.index(), || {
                timers.auto_advance_allowed() && shared.injector.is_empty() && timers.auto_advance()
            });
            if advanced {
                timers.process(shared, Some(local));
                return;
            }
        }
        shared.count(Some(local), Event::Park);
        shared.add_busy(local, self.busy_since.elapsed());
        match timers.claim_timed_park(shared, local.index()) {
            Some(deadline) => {
                shared.idle.park_until(local.index(), deadline);
                timers.release_timed_park(local.index());
            }
            None => shared.idle.park(local.index()),
        }
        shared.count(Some(local), Event::Unpark);
        self.busy_since = std::time::Instant::now();
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64: enough to spread victims; not for anything else.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }
}

/// Polls the task `key` names once on a thread that is not a worker (a stand-in for a worker
/// that blocks, `Handle::run_stolen`): a task woken during its poll goes to the injector.
pub(crate) fn run_foreign(shared: &Shared, key: TaskKey) {
    let Some(guard) = shared.slab.start_poll(key.slot(), key.generation()) else {
        return;
    };
    let waker = genrt_waker::waker(key);
    let mut cx = Context::from_waker(&waker);
    match task::poll(&guard, &mut cx) {
        Poll::Ready(()) => {
            drop(guard.complete());
            shared.count(None, Event::Completed);
        }
        Poll::Pending => match guard.finish_pending() {
            AfterPoll::Idle => {}
            AfterPoll::Reschedule => shared.push_remote(key),
            AfterPoll::Cancel(guard) => {
                task::cancel(guard);
                shared.count(None, Event::Completed);
            }
        },
    }
}

/// Polls the task `key` names once, if the key is still current.
fn run_task(shared: &Shared, local: &Local, key: TaskKey) {
    let Some(guard) = shared.slab.start_poll(key.slot(), key.generation()) else {
        return; // cancelled by shutdown while queued
    };
    let waker = genrt_waker::waker(key);
    let mut cx = Context::from_waker(&waker);
    local.yielded.set(false);
    match task::poll(&guard, &mut cx) {
        Poll::Ready(()) => {
            drop(guard.complete_cached(&local.free));
            shared.count(Some(local), Event::Completed);
        }
        Poll::Pending => match guard.finish_pending() {
            AfterPoll::Idle => {}
            // Woken during its poll. A yield waits aside, unseen by the other workers; any
            // other self-wake goes where they see it, with a notification (Tokio's
            // `yield_now(task)`): the worker may be about to block in its next poll, and an
            // idle worker must not watch the task wait meanwhile. A driver (one worker, no
            // thief) defers both.
            AfterPoll::Reschedule if local.yielded.take() || shared.driver.is_some() => {
                local.defer(key)
            }
            AfterPoll::Reschedule => {
                local.push_back(shared, key);
                local.requeued.set(true);
            }
            AfterPoll::Cancel(guard) => {
                task::cancel(guard);
                shared.count(Some(local), Event::Completed);
            }
        },
    }
}
