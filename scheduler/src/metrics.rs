//! Runtime counters. Each worker writes only its own cache line; threads that are not
//! workers share one. A snapshot sums them with Relaxed loads, so it is exact once the
//! runtime is quiet and approximate while tasks run.

use crate::loom::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a runtime's counters.
///
/// ```
/// let metrics = genrt_scheduler::Metrics::default();
/// assert_eq!(metrics.live_tasks, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Number of worker threads.
    pub workers: usize,
    /// Tasks spawned and not yet finished (`spawned - completed`).
    pub live_tasks: u64,
    /// Tasks ever spawned.
    pub spawned: u64,
    /// Tasks that left the runtime: finished, panicked, aborted or cancelled at shutdown.
    pub completed: u64,
    /// Tasks stolen from other workers (Tokio's `worker_steal_count`, summed): each steal
    /// moves a batch, counted here by its tasks as seen right after the steal.
    pub steals: u64,
    /// Successful steals from other workers, each one batch (Tokio's
    /// `worker_steal_operations`, summed).
    pub steal_operations: u64,
    /// Wakes whose key no longer named a live task, while the runtime was alive. Counted by
    /// each waking thread in its own record of the waker registry, summed on read.
    pub stale_wakes: u64,
    /// Times a worker went to sleep for lack of work.
    pub parks: u64,
    /// Tasks waiting in the injector, the queue of tasks scheduled from outside the workers,
    /// at the moment of the snapshot.
    pub global_queue_depth: usize,
}

/// Tokio's names (`tokio::runtime::RuntimeMetrics`) for the same figures, so code written
/// for it keeps its calls.
impl Metrics {
    /// [`Metrics::workers`].
    ///
    /// ```
    /// let scheduler = genrt_scheduler::Scheduler::start(genrt_scheduler::Config::new(2)).unwrap();
    /// assert_eq!(scheduler.handle().metrics().num_workers(), 2);
    /// ```
    pub fn num_workers(&self) -> usize {
        self.workers
    }

    /// [`Metrics::live_tasks`]: tasks spawned and not yet finished.
    ///
    /// ```
    /// let scheduler = genrt_scheduler::Scheduler::start(genrt_scheduler::Config::new(1)).unwrap();
    /// assert_eq!(scheduler.handle().metrics().num_alive_tasks(), 0);
    /// ```
    pub fn num_alive_tasks(&self) -> usize {
        usize::try_from(self.live_tasks).unwrap_or(usize::MAX)
    }

    /// [`Metrics::spawned`]: tasks ever spawned.
    ///
    /// ```
    /// let scheduler = genrt_scheduler::Scheduler::start(genrt_scheduler::Config::new(1)).unwrap();
    /// assert_eq!(scheduler.handle().metrics().spawned_tasks_count(), 0);
    /// ```
    pub fn spawned_tasks_count(&self) -> u64 {
        self.spawned
    }

    /// [`Metrics::global_queue_depth`].
    ///
    /// ```
    /// let scheduler = genrt_scheduler::Scheduler::start(genrt_scheduler::Config::new(1)).unwrap();
    /// assert_eq!(scheduler.handle().metrics().global_queue_depth(), 0);
    /// ```
    pub fn global_queue_depth(&self) -> usize {
        self.global_queue_depth
    }
}

/// One worker's counters (Tokio's per-worker metrics), read live from
/// [`Handle::worker_metrics`](crate::Handle::worker_metrics).
///
/// ```
/// let scheduler = genrt_scheduler::Scheduler::start(genrt_scheduler::Config::new(1)).unwrap();
/// let worker = scheduler.handle().worker_metrics(0).unwrap();
/// assert!(worker.unparks <= worker.parks && worker.parks <= worker.unparks + 1);
/// assert!(scheduler.handle().worker_metrics(1).is_none());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerMetrics {
    /// Times the worker went to sleep for lack of work.
    pub parks: u64,
    /// Times it woke from such a sleep: `parks`, or `parks - 1` while it sleeps.
    pub unparks: u64,
    /// Tasks it stole from other workers, counted as [`Metrics::steals`].
    pub steals: u64,
    /// Its successful steals from other workers, each one batch.
    pub steal_operations: u64,
    /// Time the worker spent in its run loop outside its sleeps, up to its last sleep (or
    /// its exit).
    pub busy: std::time::Duration,
}

#[derive(Default)]
#[repr(align(128))] // one counter set per cache line pair: no false sharing between workers
pub(crate) struct Counters {
    spawned: AtomicU64,
    completed: AtomicU64,
    steals: AtomicU64,
    steal_operations: AtomicU64,
    parks: AtomicU64,
    unparks: AtomicU64,
    /// Written only by the worker that owns these counters.
    busy_ns: AtomicU64,
}

/// Which counter to bump.
#[derive(Clone, Copy)]
pub(crate) enum Event {
    Spawned,
    Completed,
    Park,
    Unpark,
}

impl Counters {
    pub(crate) fn add(&self, event: Event) {
        let counter = match event {
            Event::Spawned => &self.spawned,
            Event::Completed => &self.completed,
            Event::Park => &self.parks,
            Event::Unpark => &self.unparks,
        };
        // Release for `Completed`: pairs with `snapshot`'s Acquire loads of the completed
        // counts, so a snapshot that counts a task finished counts its spawn too (the spawn's
        // increment happens before the task can finish: before its key is queued, its slot
        // published). The other counters read nothing through each other.
        let order = match event {
            Event::Completed => Ordering::Release,
            _ => Ordering::Relaxed,
        };
        counter.fetch_add(1, order);
    }

    /// A successful steal of `tasks` tasks by the owning worker (or a thread standing in for
    /// it). Read-modify-writes: a steal is rare next to the polls it feeds, and these then
    /// need no argument about who else may count.
    pub(crate) fn add_steal(&self, tasks: u64) {
        self.steals.fetch_add(tasks, Ordering::Relaxed);
        self.steal_operations.fetch_add(1, Ordering::Relaxed);
    }

    /// A stretch of busy time of the owning worker.
    pub(crate) fn add_busy(&self, busy: std::time::Duration) {
        let ns = u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX);
        // Only the owning worker writes this word: a load and a store, no read-modify-write.
        let total = self.busy_ns.load(Ordering::Relaxed).saturating_add(ns);
        self.busy_ns.store(total, Ordering::Relaxed);
    }

    pub(crate) fn worker(&self) -> WorkerMetrics {
        WorkerMetrics {
            parks: self.parks.load(Ordering::Relaxed),
            unparks: self.unparks.load(Ordering::Relaxed),
            steals: self.steals.load(Ordering::Relaxed),
            steal_operations: self.steal_operations.load(Ordering::Relaxed),
            busy: std::time::Duration::from_nanos(self.busy_ns.load(Ordering::Relaxed)),
        }
    }
}

pub(crate) fn snapshot<'a>(
    workers: usize,
    all: impl Iterator<Item = &'a Counters> + Clone,
) -> Metrics {
    let mut m = Metrics {
        workers,
        ..Metrics::default()
    };
    // Every completed count first, then every spawned count: a task counted finished was
    // counted spawned before (`Counters::add`), so `completed <= spawned` in the snapshot and
    // `live_tasks` is never too low. (Summed worker by worker, a task spawned on one worker
    // after its counter was read and finished on another before its counter was read was
    // counted finished only; a preempted reader saw thousands of those.)
    for c in all.clone() {
        // Acquire: pairs with the Release increment in `Counters::add`.
        m.completed += c.completed.load(Ordering::Acquire);
    }
    for c in all {
        m.spawned += c.spawned.load(Ordering::Relaxed);
        m.steals += c.steals.load(Ordering::Relaxed);
        m.steal_operations += c.steal_operations.load(Ordering::Relaxed);
        m.parks += c.parks.load(Ordering::Relaxed);
    }
    m.live_tasks = m.spawned.saturating_sub(m.completed);
    m
}
