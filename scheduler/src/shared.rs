//! State shared by the workers of one runtime and by every handle to it: the slab, the
//! queues, the idle workers, the counters. This module owns the `closed` flag.

use std::any::Any;
use std::task::Waker;

use genrt_waker::registry::{Registration, WakeContext, WakeTarget};
use genrt_waker::{Claim, PageRef, RuntimeId, Slab, TaskKey, WakeOutcome, SLAB_CAPACITY};

use crate::context;
use crate::idle::Idle;
use crate::loom::sync::atomic::{fence, AtomicBool, Ordering};
use crate::loom::sync::{Condvar, Mutex};
use crate::metrics::{self, Counters, Event, Metrics};
use crate::queue::{Injector, Steal, Stealer};
use crate::task::{self, TaskRef};
use crate::time::Timers;
use crate::worker::{Driver, Local};
use crate::RuntimeData;

/// Most keys one worker moves from the injector to its deque at a time. crossbeam's default
/// batch is 32; a larger one drains a burst of foreign spawns in fewer injector checks, and
/// the keys moved stay stealable by the other workers.
const INJECTOR_BATCH: usize = 128;

pub(crate) struct Shared {
    pub(crate) id: RuntimeId,
    /// The right to enter this runtime's wake context, from its registration.
    wake_context: WakeContext,
    pub(crate) slab: Slab<TaskRef>,
    pub(crate) injector: Injector<TaskKey>,
    pub(crate) stealers: Box<[Stealer<TaskKey>]>,
    /// Idle workers; also what `settle` waits on (`activity`).
    pub(crate) idle: Idle,
    /// The timing wheel and the clock (`time`).
    pub(crate) timers: Timers,
    /// Set once, by shutdown. SeqCst: spawn's re-check and shutdown's sweep form a Dekker
    /// pair (see `spawn`).
    closed: AtomicBool,
    /// Whether a task's panic closes the runtime (`Config::shutdown_on_panic`).
    shutdown_on_panic: bool,
    /// Set once, by [`Shared::close_on_panic`], before `closed`: the runtime was closed from
    /// inside because a task panicked. Workers leaving their loop then sweep the slab, and
    /// `block_on` panics.
    panicked: AtomicBool,
    /// Threads to wake when the runtime closes (`block_on`s), by watch id; see
    /// [`Shared::watch_close`].
    close_watchers: Mutex<CloseWatchers>,
    /// Keeps the runtime registered while a thread outside its workers is in its context
    /// (`enter`, `block_on`); see [`Shared::hold_registration`].
    registration: Mutex<RegistrationHold>,
    /// Counters of each worker, then one set for all other threads.
    counters: Box<[Counters]>,
    /// The worker threads that have left their loop, and those blocking in place, for
    /// shutdown (`Scheduler::shutdown`), which waits on `exited_cv` for changes.
    pub(crate) exits: Mutex<Exits>,
    pub(crate) exited_cv: Condvar,
    /// The driver of a current-thread runtime that dropped it from inside (one of its tasks),
    /// holding its registration until it stops driving (worker threads hold theirs for life:
    /// `WorkerHold` in lib.rs).
    pub(crate) exit_hold: Mutex<Option<std::thread::ThreadId>>,
    /// The runtime crate's own per-runtime state (`Config::data`), opaque here.
    pub(crate) data: Option<RuntimeData>,
    /// A driven runtime's worker, while no thread drives it (`Config::driven`).
    pub(crate) driver: Option<Driver>,
}

impl Shared {
    pub(crate) fn new(
        wake_context: WakeContext,
        base: u32,
        stealers: Box<[Stealer<TaskKey>]>,
        shutdown_on_panic: bool,
        start_paused: bool,
    ) -> Shared {
        let workers = stealers.len();
        Shared {
            id: wake_context.id(),
            wake_context,
            slab: Slab::new(base),
            injector: Injector::new(),
            stealers,
            idle: Idle::new(workers),
            timers: Timers::new(start_paused),
            closed: AtomicBool::new(false),
            shutdown_on_panic,
            panicked: AtomicBool::new(false),
            close_watchers: Mutex::new(CloseWatchers::default()),
            registration: Mutex::new(RegistrationHold::default()),
            counters: (0..=workers).map(|_| Counters::default()).collect(),
            exits: Mutex::new(Exits::default()),
            exited_cv: Condvar::new(),
            exit_hold: Mutex::new(None),
            data: None,
            driver: None,
        }
    }

    /// Attaches the runtime crate's per-runtime state (`Config::data`).
    pub(crate) fn with_data(mut self, data: Option<RuntimeData>) -> Shared {
        self.data = data;
        self
    }

    /// Makes the runtime driven: its one worker runs only inside `drive` (`Config::driven`).
    pub(crate) fn with_driver(mut self, driver: Option<Driver>) -> Shared {
        self.driver = driver;
        self
    }

    /// The right to enter this runtime's context on a thread (see `context::enter`).
    pub(crate) fn wake_context(&self) -> &WakeContext {
        &self.wake_context
    }

    pub(crate) fn workers(&self) -> usize {
        self.stealers.len()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Shutdown, step 1; also wakes every thread watching for the close (`block_on`).
    pub(crate) fn close(&self) {
        // SeqCst: pairs with the SeqCst fence in `spawn` (see there).
        self.closed.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        // A watcher registered after this drain sees `closed` (the lock orders the store
        // before its registration's unlock; it checks after registering).
        let watchers = std::mem::take(&mut self.close_watchers.lock().wakers);
        for (_, waker) in watchers {
            waker.wake();
        }
    }

    /// Whether the runtime was closed because a task panicked (`close_on_panic`).
    pub(crate) fn is_panicked(&self) -> bool {
        // Acquire: pairs with the Release store in `close_on_panic`.
        self.panicked.load(Ordering::Acquire)
    }

    /// A task's poll panicked. Under `shutdown_on_panic`, closes the runtime from inside
    /// (any thread, typically a worker in the middle of a poll), without waiting for
    /// anything: sets `panicked` then `closed`, wakes the `block_on` threads and unparks every
    /// worker. Each worker leaves its loop after its current poll and sweeps the slab
    /// (`worker::run`), so every other task is cancelled promptly; the runtime's eventual
    /// shutdown sweeps again (finding nothing) and unregisters.
    pub(crate) fn close_on_panic(&self) {
        if !self.shutdown_on_panic || self.panicked.swap(true, Ordering::Release) {
            return;
        }
        self.close();
        self.idle.unpark_all();
    }

    /// Registers `waker` to be woken when the runtime closes; returns the id to pass to
    /// [`Shared::unwatch_close`]. The caller checks `is_closed` after this returns. `None`
    /// without `shutdown_on_panic`: nobody needs to hear of a close then.
    pub(crate) fn watch_close(&self, waker: Waker) -> Option<u64> {
        if !self.shutdown_on_panic {
            return None;
        }
        let mut watchers = self.close_watchers.lock();
        let id = watchers.next_id;
        watchers.next_id += 1;
        watchers.wakers.push((id, waker));
        Some(id)
    }

    pub(crate) fn unwatch_close(&self, id: u64) {
        let waker = {
            let mut watchers = self.close_watchers.lock();
            let at = watchers.wakers.iter().position(|(w, _)| *w == id);
            at.map(|at| watchers.wakers.swap_remove(at))
        };
        drop(waker); // outside the lock: a waker's drop is user code
    }

    /// Called before a thread that is not one of this runtime's workers enters its context
    /// (`Handle::enter`, `block_on`). The registry's thread context routes this thread's
    /// wakes by runtime id, so the id must not be handed to a new runtime while the thread
    /// is in this one's context: shutdown's unregistering (step 5) is put off until the last
    /// holder calls [`Shared::release_hold`]. Returns `false`, holding nothing, if the
    /// runtime is already unregistered.
    pub(crate) fn hold_registration(&self) -> bool {
        let mut hold = self.registration.lock();
        if hold.released {
            return false;
        }
        hold.holders += 1;
        true
    }

    /// Ends the hold shutdown took for the current thread, the driver of a current-thread
    /// runtime that dropped it (`Scheduler::shutdown`), once that thread has stopped driving.
    /// Does nothing on any other thread.
    pub(crate) fn release_exit_hold(&self) {
        let mine = {
            let mut hold = self.exit_hold.lock();
            let mine = *hold == Some(std::thread::current().id());
            if mine {
                *hold = None;
            }
            mine
        };
        if mine {
            self.release_hold();
        }
    }

    /// Ends a [`Shared::hold_registration`]; the last one unregisters a shut-down runtime.
    pub(crate) fn release_hold(&self) {
        let last = {
            let mut hold = self.registration.lock();
            hold.holders -= 1;
            if hold.holders == 0 {
                hold.registration.take()
            } else {
                None
            }
        };
        drop(last);
    }

    /// Shutdown, step 5: unregisters now, or when the last holder leaves.
    pub(crate) fn unregister(&self, registration: Registration) {
        let mut hold = self.registration.lock();
        hold.released = true;
        if hold.holders > 0 {
            hold.registration = Some(registration);
            return;
        }
        drop(hold);
        drop(registration);
    }

    /// Shutdown, step 4 (also run by each worker leaving a runtime closed on panic): every
    /// task not being polled is claimed and cancelled; a task being polled is flagged and its
    /// poller cancels it when the poll returns. Claims are compare-and-swaps, so concurrent
    /// sweeps cancel each task once. Then the injector's keys are dropped: each names a task
    /// just cancelled (or one a poller cancels as its poll returns), which no worker will look
    /// for, and `global_queue_depth` reads 0 with no task left (Tokio drains its injection
    /// queue at shutdown too).
    pub(crate) fn sweep(&self, local: Option<&Local>) {
        for slot in 0..self.slab.high_water() {
            if let Claim::Claimed(guard) = self.slab.claim(slot, None) {
                task::cancel(guard);
                self.count(local, Event::Completed);
            }
        }
        while !matches!(self.injector.steal(), Steal::Empty) {}
    }

    pub(crate) fn count(&self, local: Option<&Local>, event: Event) {
        let index = local.map_or(self.workers(), Local::index);
        self.counters[index].add(event);
    }

    /// Counts a steal of `tasks` tasks by `local`'s worker from another worker.
    pub(crate) fn count_steal(&self, local: &Local, tasks: u64) {
        self.counters[local.index()].add_steal(tasks);
    }

    /// Adds a busy stretch to `local`'s counters (its worker's busy time).
    pub(crate) fn add_busy(&self, local: &Local, busy: std::time::Duration) {
        self.counters[local.index()].add_busy(busy);
    }

    /// Worker `index`'s own counters.
    pub(crate) fn worker_counters(&self, index: usize) -> Option<&Counters> {
        self.counters[..self.workers()].get(index)
    }

    pub(crate) fn metrics(&self) -> Metrics {
        let mut metrics = metrics::snapshot(self.workers(), self.counters.iter());
        // Counted by the registry in each waking thread's own record.
        metrics.stale_wakes = self.wake_context.stale_wakes();
        metrics.global_queue_depth = self.injector.len();
        metrics
    }

    /// Spawn protocol:
    /// 1. if closed, cancel the task at once;
    /// 2. insert it into the slab (scheduled);
    /// 3. queue the key: the LIFO slot on a worker of this runtime (the task it displaces goes
    ///    to the deque), else the injector;
    /// 4. one `SeqCst` fence, `F_S`, then re-check `closed`: shutdown stores `closed`,
    ///    fences, then sweeps the slab, so either the sweep sees this slot or this check sees
    ///    `closed` and cancels the task itself (the slot's CAS decides who; a key already
    ///    queued is a plain integer that then names nothing, and a worker that took it first
    ///    holds the poll permission and cancels or completes the task itself, as for any task
    ///    running when shutdown sweeps);
    /// 5. if the key went where other workers look (the injector, or a displaced key in the
    ///    deque), notify an idle worker, with `F_S` as the push's fence `F_P`
    ///    (`idle/README.md`).
    ///
    /// `F_S` serves both Dekker pairs, the closed check's with shutdown and the push's with
    /// parking, because in both this thread's write comes before the fence (the slot's
    /// `occupy`, then the push) and its reads after it (`closed`, then `searching` and
    /// `sleeping`); an extra read between the fence and the other pair's reads changes
    /// neither argument. Before, the closed check had a fence of its own ahead of the push,
    /// and the notification another one after it.
    #[track_caller]
    pub(crate) fn spawn(&self, task: TaskRef) -> Option<TaskKey> {
        if self.is_closed() {
            task::cancel_unqueued(task);
            return None;
        }
        let target = context::spawn_target(self);
        let (local, root) = match target {
            Some((local, root)) => (Some(local), root),
            None => (None, false),
        };
        // Counted before the slot is published: a shutdown's sweep may cancel (and count
        // finished) the task as soon as it is in the slab (`metrics::snapshot`).
        self.count(local.as_deref(), Event::Spawned);
        // On a worker, a slot it freed (`Local::free`): hot in its cache, no shared write.
        let inserted = match local.as_deref() {
            Some(local) => self.slab.insert_cached(task, &local.free),
            None => self.slab.insert(task),
        };
        let (slot, generation) = match inserted {
            Ok(placed) => placed,
            Err(task) => {
                drop(task);
                self.count(local.as_deref(), Event::Completed);
                panic!(
                    "genrt: this runtime already holds {SLAB_CAPACITY} live tasks, its limit; \
                     wait for some to finish before spawning more"
                )
            }
        };
        let key = TaskKey::new(self.id, slot, generation);
        let visible = match local.as_deref() {
            // A current-thread `block_on` future's spawns: in spawn order, as Tokio's.
            Some(local) if root => {
                local.deque().push(key);
                true
            }
            Some(local) => local.push_lifo_unnotified(key),
            None => {
                self.injector.push(key);
                true
            }
        };
        // F_S: pairs with the SeqCst fence in `close` (the closed check) and with F_W in
        // `Idle::prepare_park` (the notification), see step 4.
        fence(Ordering::SeqCst);
        if self.closed.load(Ordering::SeqCst) {
            if let Claim::Claimed(guard) = self.slab.claim(slot, Some(generation)) {
                task::cancel(guard);
                self.count(local.as_deref(), Event::Completed);
            }
            return Some(key);
        }
        if visible {
            self.idle.notify_one_after_fence();
        }
        Some(key)
    }

    /// Queues a key from a thread that is not a worker of this runtime.
    pub(crate) fn push_remote(&self, key: TaskKey) {
        self.injector.push(key);
        self.idle.notify_one();
    }

    /// A timer of this runtime fired for `key`: wakes its slot and, if that schedules it,
    /// pushes the key to the back of `local`'s deque (so that expiries processed together
    /// run in deadline order on this worker) or to the injector. Returns whether a key was
    /// pushed; the caller notifies an idle worker once for all of them.
    pub(crate) fn wake_fired(&self, key: TaskKey, local: Option<&Local>) -> bool {
        if self.slab.wake(key.slot(), key.generation()) != WakeOutcome::Schedule {
            return false;
        }
        match local {
            Some(local) => local.deque().push(key),
            None => self.injector.push(key),
        }
        true
    }

    /// Whether any queue other workers can see holds work (the park re-check).
    pub(crate) fn has_visible_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// Moves a batch from the injector into `local`'s deque and returns one key.
    ///
    /// An injector that looks empty is left alone: a steal from an empty one costs a `SeqCst`
    /// fence in crossbeam, and the ticks look often (steps 2 to 4 of `worker.rs`). A key
    /// pushed while this looks is found at the next look, or by the park re-check
    /// ([`Shared::has_visible_work`], after the parking fence).
    pub(crate) fn steal_injector(&self, local: &Local) -> Option<TaskKey> {
        if self.injector.is_empty() {
            return None;
        }
        loop {
            match self
                .injector
                .steal_batch_with_limit_and_pop(local.deque(), INJECTOR_BATCH)
            {
                Steal::Success(key) => return Some(key),
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
    }
}

/// Where the worker threads are, for shutdown (`Shared::exits`).
#[derive(Default)]
pub(crate) struct Exits {
    /// Workers that have left their loop (each counted once, by its `ExitSignal`).
    pub(crate) exited: usize,
    /// Workers inside `Handle::begin_blocking` (a `block_in_place` closure) right now.
    pub(crate) blocking: usize,
}

/// Who keeps the runtime registered after its shutdown (`Shared::hold_registration`).
#[derive(Default)]
struct RegistrationHold {
    /// Threads outside the workers in this runtime's context.
    holders: usize,
    /// Set by shutdown's step 5.
    released: bool,
    /// Parked by shutdown while `holders > 0`.
    registration: Option<Registration>,
}

/// The `block_on` threads waiting on a runtime, woken by its close.
#[derive(Default)]
struct CloseWatchers {
    next_id: u64,
    wakers: Vec<(u64, Waker)>,
}

impl WakeTarget for Shared {
    /// A stale or coalesced wake writes nothing here (the registry counts stale ones in the
    /// waking thread's record); `context` is the thread's `context::Context` when the wake
    /// comes from inside this runtime's context.
    fn wake(&self, key: TaskKey, context: Option<&dyn Any>) -> WakeOutcome {
        let outcome = self.slab.wake(key.slot(), key.generation());
        if outcome == WakeOutcome::Schedule {
            match context::worker_in(context, self) {
                Some(local) => local.push_lifo(self, key),
                None => self.push_remote(key),
            }
        }
        outcome
    }

    fn wake_fenced(&self, key: TaskKey) -> WakeOutcome {
        // The registry's W2 fence stands for the coalesced wake's (state.rs in genrt-waker).
        let outcome = self.slab.wake_fenced(key.slot(), key.generation());
        if outcome == WakeOutcome::Schedule {
            self.push_remote(key);
        }
        outcome
    }

    fn slab_page(&self, page: usize) -> Option<PageRef<'_>> {
        self.slab.page_ref(page)
    }

    fn schedule_fenced(&self, key: TaskKey) {
        self.push_remote(key);
    }
}
