//! State shared by the workers of one runtime and by every handle to it: the slab, the
//! queues, the idle workers, the counters. This module owns the `closed` flag.

use std::any::Any;

use genrt_waker::registry::{WakeContext, WakeTarget};
use genrt_waker::{Claim, RuntimeId, Slab, TaskKey, WakeOutcome, SLAB_CAPACITY};

use crate::context;
use crate::idle::Idle;
use crate::loom::sync::atomic::{fence, AtomicBool, Ordering};
use crate::loom::sync::{Condvar, Mutex};
use crate::metrics::{self, Counters, Event, Metrics};
use crate::queue::{Injector, Steal, Stealer};
use crate::task::{self, TaskRef};
use crate::worker::Local;

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
    /// Set once, by shutdown. SeqCst: spawn's re-check and shutdown's sweep form a Dekker
    /// pair (see `spawn`).
    closed: AtomicBool,
    /// Counters of each worker, then one set for all other threads.
    counters: Box<[Counters]>,
    /// Number of worker threads that have left their loop, for `shutdown_timeout`.
    pub(crate) exited: Mutex<usize>,
    pub(crate) exited_cv: Condvar,
}

impl Shared {
    pub(crate) fn new(
        wake_context: WakeContext,
        base: u32,
        stealers: Box<[Stealer<TaskKey>]>,
    ) -> Shared {
        let workers = stealers.len();
        Shared {
            id: wake_context.id(),
            wake_context,
            slab: Slab::new(base),
            injector: Injector::new(),
            stealers,
            idle: Idle::new(workers),
            closed: AtomicBool::new(false),
            counters: (0..=workers).map(|_| Counters::default()).collect(),
            exited: Mutex::new(0),
            exited_cv: Condvar::new(),
        }
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

    /// Shutdown, step 1.
    pub(crate) fn close(&self) {
        // SeqCst: pairs with the SeqCst fence in `spawn` (see there).
        self.closed.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    pub(crate) fn count(&self, local: Option<&Local>, event: Event) {
        let index = local.map_or(self.workers(), Local::index);
        self.counters[index].add(event);
    }

    pub(crate) fn metrics(&self) -> Metrics {
        let mut metrics = metrics::snapshot(self.workers(), self.counters.iter());
        // Counted by the registry in each waking thread's own record.
        metrics.stale_wakes = self.wake_context.stale_wakes();
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
        let (slot, generation) = match self.slab.insert(task) {
            Ok(placed) => placed,
            Err(_task) => panic!(
                "genrt: this runtime already holds {SLAB_CAPACITY} live tasks, its limit; \
                 wait for some to finish before spawning more"
            ),
        };
        let key = TaskKey::new(self.id, slot, generation);
        let local = context::local_worker(self);
        self.count(local.as_deref(), Event::Spawned);
        let visible = match local.as_deref() {
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

    /// Whether any queue other workers can see holds work (the park re-check).
    pub(crate) fn has_visible_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// Moves a batch from the injector into `local`'s deque and returns one key.
    pub(crate) fn steal_injector(&self, local: &Local) -> Option<TaskKey> {
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
}
