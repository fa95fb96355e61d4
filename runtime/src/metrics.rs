//! [`RuntimeMetrics`]: a live view of a runtime's counters, under Tokio's names.

use std::fmt;
use std::time::Duration;

/// A live view of a runtime's counters, from [`Runtime::metrics`](crate::Runtime::metrics)
/// or [`Handle::metrics`](crate::Handle::metrics), as Tokio's `RuntimeMetrics`: every call
/// reads the counters now, so a value kept (or moved into a task) keeps reporting, also
/// after the runtime is dropped (it keeps the runtime's counters, not its tasks, alive).
/// [`RuntimeMetrics::snapshot`] gives every figure at once, genrt's own included.
///
/// Each worker counts its own events on a cache line of its own; a reader sums them with
/// relaxed loads, so the figures are exact once the runtime is quiet and approximate while
/// tasks run. A worker counts a task as finished right after the poll that finished it, which
/// can be just after the task's join handle saw its result.
///
/// ```
/// let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
/// let metrics = rt.metrics();
/// assert_eq!(metrics.num_workers(), 2);
/// let inside = rt
///     .block_on(rt.spawn({
///         let metrics = metrics.clone();
///         async move { metrics.num_alive_tasks() }
///     }))
///     .unwrap();
/// assert_eq!(inside, 1);
/// rt.settle();
/// assert_eq!(metrics.num_alive_tasks(), 0);
/// ```
#[derive(Clone)]
pub struct RuntimeMetrics {
    runtime: genrt_scheduler::Handle,
}

/// Every counter of a runtime at one moment ([`RuntimeMetrics::snapshot`]); genrt's own
/// figures (`completed`, `steals`, `stale_wakes`, ...) are here.
pub use genrt_scheduler::Metrics as MetricsSnapshot;

impl RuntimeMetrics {
    pub(crate) fn new(runtime: genrt_scheduler::Handle) -> RuntimeMetrics {
        RuntimeMetrics { runtime }
    }

    /// Every counter at once (genrt's own figures included).
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// rt.settle();
    /// let m = rt.metrics().snapshot();
    /// assert_eq!((m.spawned, m.completed, m.live_tasks), (1, 1, 0));
    /// ```
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.runtime.metrics()
    }

    /// Number of worker threads.
    ///
    /// ```
    /// let rt = genrt::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.metrics().num_workers(), 1);
    /// ```
    pub fn num_workers(&self) -> usize {
        self.runtime.workers()
    }

    /// Tasks spawned and not finished yet.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let task = rt.spawn(std::future::pending::<()>());
    /// assert_eq!(rt.metrics().num_alive_tasks(), 1);
    /// task.abort();
    /// let _ = rt.block_on(task);
    /// rt.settle();
    /// assert_eq!(rt.metrics().num_alive_tasks(), 0);
    /// ```
    pub fn num_alive_tasks(&self) -> usize {
        self.snapshot().num_alive_tasks()
    }

    /// Tasks ever spawned on the runtime.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert_eq!(rt.metrics().spawned_tasks_count(), 1);
    /// ```
    pub fn spawned_tasks_count(&self) -> u64 {
        self.snapshot().spawned
    }

    /// Tasks waiting in the injector (the queue of tasks scheduled from outside the
    /// workers) now.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// rt.settle();
    /// assert_eq!(rt.metrics().global_queue_depth(), 0);
    /// ```
    pub fn global_queue_depth(&self) -> usize {
        self.snapshot().global_queue_depth
    }

    /// Times worker `worker` went to sleep for lack of work.
    ///
    /// # Panics
    ///
    /// If `worker` is not below [`num_workers`](RuntimeMetrics::num_workers), as Tokio.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
    /// let metrics = rt.metrics();
    /// // Workers with nothing to do park (how soon depends on the machine: wait, bounded).
    /// let deadline = Instant::now() + Duration::from_secs(30);
    /// while (0..2).any(|worker| metrics.worker_park_count(worker) == 0) {
    ///     assert!(Instant::now() < deadline, "an idle worker never parked");
    ///     std::thread::sleep(Duration::from_millis(1));
    /// }
    /// drop(rt);
    /// assert!(metrics.worker_park_count(0) >= 1 && metrics.worker_park_count(1) >= 1);
    /// ```
    #[track_caller]
    pub fn worker_park_count(&self, worker: usize) -> u64 {
        self.worker(worker).parks
    }

    /// Times worker `worker` went to sleep plus times it woke up (Tokio's count): even while
    /// it runs, odd while it sleeps.
    ///
    /// # Panics
    ///
    /// If `worker` is not below [`num_workers`](RuntimeMetrics::num_workers).
    ///
    /// ```
    /// let rt = genrt::Builder::new_current_thread().build().unwrap();
    /// let metrics = rt.metrics();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// drop(rt);
    /// assert_eq!(metrics.worker_park_unpark_count(0) % 2, 0, "the worker exited awake");
    /// ```
    #[track_caller]
    pub fn worker_park_unpark_count(&self, worker: usize) -> u64 {
        let counts = self.worker(worker);
        counts.parks + counts.unparks
    }

    /// Time worker `worker` spent outside its sleeps (polling tasks, looking for work), up to
    /// its last sleep or its exit.
    ///
    /// # Panics
    ///
    /// If `worker` is not below [`num_workers`](RuntimeMetrics::num_workers).
    ///
    /// ```
    /// let rt = genrt::Builder::new_current_thread().build().unwrap();
    /// let metrics = rt.metrics();
    /// rt.block_on(rt.spawn(async { std::thread::sleep(std::time::Duration::from_millis(2)) }))
    ///     .unwrap();
    /// drop(rt);
    /// assert!(metrics.worker_total_busy_duration(0) >= std::time::Duration::from_millis(2));
    /// ```
    #[track_caller]
    pub fn worker_total_busy_duration(&self, worker: usize) -> Duration {
        self.worker(worker).busy
    }

    /// Tasks worker `worker` stole from other workers, as Tokio's `worker_steal_count`: a
    /// steal moves a batch of tasks, each counted (as seen right after the steal).
    ///
    /// # Panics
    ///
    /// If `worker` is not below [`num_workers`](RuntimeMetrics::num_workers).
    ///
    /// ```
    /// let rt = genrt::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.metrics().worker_steal_count(0), 0, "one worker: nobody to steal from");
    /// ```
    #[track_caller]
    pub fn worker_steal_count(&self, worker: usize) -> u64 {
        self.worker(worker).steals
    }

    /// Times worker `worker` stole from another worker (each time a batch of one or more
    /// tasks), as Tokio's `worker_steal_operations`: at most
    /// [`worker_steal_count`](RuntimeMetrics::worker_steal_count).
    ///
    /// # Panics
    ///
    /// If `worker` is not below [`num_workers`](RuntimeMetrics::num_workers).
    ///
    /// ```
    /// let rt = genrt::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    /// let metrics = rt.metrics();
    /// for worker in 0..metrics.num_workers() {
    ///     assert!(metrics.worker_steal_operations(worker) <= metrics.worker_steal_count(worker));
    /// }
    /// ```
    #[track_caller]
    pub fn worker_steal_operations(&self, worker: usize) -> u64 {
        self.worker(worker).steal_operations
    }

    #[track_caller]
    fn worker(&self, worker: usize) -> genrt_scheduler::WorkerMetrics {
        match self.runtime.worker_metrics(worker) {
            Some(counts) => counts,
            None => panic!(
                "genrt: worker index {worker} out of range: the runtime has {} workers",
                self.runtime.workers()
            ),
        }
    }
}

impl fmt::Debug for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RuntimeMetrics")
            .field(&self.snapshot())
            .finish()
    }
}

// Reading counters cannot be left half done by a panic (as Tokio's `Handle`, which its
// metrics hold).
impl std::panic::UnwindSafe for RuntimeMetrics {}
impl std::panic::RefUnwindSafe for RuntimeMetrics {}
