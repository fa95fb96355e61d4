//! The runtime: [`Runtime`], [`Builder`], [`Handle`] and what they hand out, under the paths
//! Tokio's `tokio::runtime` uses, so code written for it ports by changing the crate name.
//! Everything here is also at the crate root.
//!
//! ```
//! use genrt::runtime::{Builder, Handle};
//!
//! let rt = Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
//! let _entered = rt.enter();
//! let handle = Handle::current();
//! assert_eq!(rt.block_on(handle.spawn(async { 1 + 1 })).unwrap(), 2);
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use genrt_scheduler::{Config, Scheduler};

use crate::blocking::{self, Pool};
use crate::task::cell;
use crate::task::join::JoinHandle;

pub use crate::enter::EnterGuard;
pub use crate::handle::{Handle, TryCurrentError};
pub use crate::{MetricsSnapshot, RuntimeMetrics};

/// The index of the worker thread the caller runs on (Tokio's `runtime::worker_index`), the
/// index [`RuntimeMetrics`]' per-worker methods take: on a worker thread of a multi-thread
/// runtime, its index; on the thread that drives a current-thread runtime (inside its
/// `block_on`, future and tasks alike, or its [`settle`](Runtime::settle)), `Some(0)`.
/// `None` elsewhere: a thread that is no worker, a `block_on` thread of a multi-thread runtime,
/// a blocking thread ([`spawn_blocking`](crate::spawn_blocking), and a worker inside
/// [`block_in_place`](crate::task::block_in_place)), and a `block_on` thread of a
/// current-thread runtime while another thread drives it. A task can move to another worker
/// at any `.await`, so the answer may change there.
///
/// ```
/// use genrt::runtime::{worker_index, Builder};
///
/// assert_eq!(worker_index(), None);
/// let rt = Builder::new_multi_thread().worker_threads(2).build().unwrap();
/// let index = rt.block_on(rt.spawn(async { worker_index() })).unwrap();
/// assert!(matches!(index, Some(0 | 1)));
/// assert_eq!(rt.block_on(async { worker_index() }), None); // not a worker
/// assert_eq!(rt.block_on(rt.spawn_blocking(worker_index)).unwrap(), None);
///
/// let ct = Builder::new_current_thread().build().unwrap();
/// assert_eq!(ct.block_on(async { worker_index() }), Some(0));
/// ```
pub fn worker_index() -> Option<usize> {
    genrt_scheduler::worker_index()
}

/// Whether `err` is the error an I/O resource returns once its runtime has shut down
/// (Tokio's `runtime::is_rt_shutdown_err`). genrt has no I/O driver and no I/O resources,
/// so no error it returns is one: this is `false` for every error, here so that code written
/// for Tokio compiles.
///
/// ```
/// let err = std::io::Error::other("connection reset");
/// assert!(!genrt::runtime::is_rt_shutdown_err(&err));
/// ```
pub fn is_rt_shutdown_err(err: &io::Error) -> bool {
    let _ = err;
    false
}

/// A multi-threaded work-stealing runtime.
///
/// Dropping it shuts it down: every task is cancelled and every future dropped before
/// `drop` returns, including futures whose wakers are still held elsewhere (those wakers
/// become no-ops that keep nothing alive); worker threads are joined; join handles of
/// unfinished tasks resolve to a cancelled [`JoinError`](crate::JoinError). Blocking
/// closures ([`Runtime::spawn_blocking`]) that have not started are dropped unrun (their
/// handles report cancelled); `drop` waits for the running ones to return, and joins the
/// blocking threads.
///
/// Dropped from inside one of its own tasks, the runtime cannot wait for the worker it is
/// running on, nor drop the future that is running the drop: it shuts down everything else,
/// joins the other workers and returns; that worker drops the running task's future as soon
/// as its poll returns, then exits. The drop itself waits for nothing on that worker; it
/// does wait for the other workers and for running blocking closures, so a closure (or a
/// worker inside [`block_in_place`](crate::task::block_in_place)) that waits for the
/// dropping task to finish waits for ever, a cycle of the caller's own making. Tokio
/// refuses a drop from a task with a panic instead.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let answer = rt.block_on(async {
///     genrt::spawn(async { 41 + 1 }).await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub struct Runtime {
    handle: Handle,
    scheduler: Scheduler,
    /// The scheduler's per-runtime data (the blocking pool, for shutdown).
    extras: std::sync::Arc<Extras>,
}

/// What this crate keeps with each runtime, in the scheduler's per-runtime data
/// (`genrt_scheduler::Config::data`), so that every handle finds it.
pub(crate) struct Extras {
    /// The blocking pool (`blocking` module docs).
    pub(crate) pool: Pool,
    /// What the runtime was built as.
    pub(crate) flavor: RuntimeFlavor,
    /// Its id ([`Handle::id`]).
    pub(crate) id: Id,
    /// Its name ([`Builder::name`], [`Handle::name`]).
    pub(crate) name: Option<String>,
}

/// The id of a runtime ([`Handle::id`], Tokio's `tokio::runtime::Id`): unique in the process,
/// never reused by a later runtime (Tokio only promises uniqueness among the runtimes alive at
/// once). It says nothing else: neither the order runtimes were built in nor their number.
///
/// ```
/// let a = genrt::Runtime::new().unwrap();
/// let b = genrt::Runtime::new().unwrap();
/// assert_eq!(a.handle().id(), a.handle().clone().id());
/// assert_ne!(a.handle().id(), b.handle().id());
/// println!("runtime {}", a.handle().id());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Id(std::num::NonZeroU64);

impl Id {
    /// A new id, never handed out before in this process.
    pub(crate) fn next() -> Id {
        use std::sync::atomic::{AtomicU64, Ordering};
        // Relaxed: only uniqueness matters, which the increment's atomicity gives.
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        Id(std::num::NonZeroU64::new(id).expect("genrt: runtime ids ran out (2^64 runtimes)"))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Extras {
    /// The data of `runtime`.
    pub(crate) fn of(runtime: &genrt_scheduler::Handle) -> &Extras {
        runtime
            .data()
            .and_then(|data| data.downcast_ref::<Extras>())
            .expect("genrt: every runtime built by genrt::Builder has its extras")
    }
}

impl Runtime {
    /// A runtime with one worker thread per CPU (`num_cpus::get()`).
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// assert_eq!(rt.metrics().snapshot().workers, num_cpus::get());
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// Spawns `future` onto the runtime; see [`Handle::spawn`].
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let h = rt.spawn(async { 1 });
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if cell::is_large::<F>() {
            self.handle.spawn_task(Box::pin(future))
        } else {
            self.handle.spawn_task(future)
        }
    }

    /// Runs `f` on a blocking thread of this runtime; see [`Handle::spawn_blocking`].
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let join = rt.spawn_blocking(|| std::fs::metadata(".").is_ok());
    /// assert!(rt.block_on(join).unwrap());
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        if cell::is_large::<F>() {
            self.handle.spawn_blocking_task(Box::new(f))
        } else {
            self.handle.spawn_blocking_task(f)
        }
    }

    /// Runs `future` to completion on the current thread, with this runtime as the current
    /// one: [`genrt::spawn`](crate::spawn) and [`Handle::current`] work inside it. Spawned
    /// tasks run on the worker threads (on a current-thread runtime, on this thread between
    /// polls of `future`). The same as [`Handle::block_on`]; see there for what
    /// it does inside an [`enter`](Runtime::enter) guard and on a runtime shut down by a
    /// panic.
    ///
    /// # Panics
    ///
    /// On a worker thread of any genrt runtime (it would stall that worker), or when this
    /// thread is already inside `block_on`. `.await` the future there instead. Also when a
    /// task panics under [`UnhandledPanic::ShutdownRuntime`].
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { 7 }), 7);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if cell::is_large::<F>() {
            crate::block_on::block_on(&self.handle, Box::pin(future))
        } else {
            crate::block_on::block_on(&self.handle, future)
        }
    }

    /// Makes this runtime the current one on this thread until the guard is dropped: see
    /// [`Handle::enter`].
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let join = {
    ///     let _guard = rt.enter();
    ///     genrt::spawn(async { "spawned from a plain thread" })
    /// };
    /// assert_eq!(rt.block_on(join).unwrap(), "spawned from a plain thread");
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// A handle to this runtime (borrowed, as Tokio's: clone it to keep or send it).
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// let answer = std::thread::spawn(move || handle.block_on(async { 3 }));
    /// assert_eq!(answer.join().unwrap(), 3);
    ///
    /// let mut set = genrt::JoinSet::new();
    /// set.spawn_on(async { 4 }, rt.handle());
    /// assert_eq!(rt.block_on(set.join_next()).unwrap().unwrap(), 4);
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// A live view of the runtime's counters; see [`RuntimeMetrics`].
    ///
    /// A worker updates the counters right after a task's poll returns, which can be just
    /// after the task's join handle saw its result; [`Runtime::settle`] first for exact
    /// figures.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// rt.settle();
    /// let m = rt.metrics().snapshot();
    /// assert_eq!((m.spawned, m.completed, m.live_tasks), (1, 1, 0));
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle.metrics()
    }

    /// Blocks the calling thread until the runtime has settled: no task is queued or running,
    /// every live task is suspended (waiting for a wake) or finished.
    ///
    /// This is how a synchronous host drives the runtime, the way Crux's core does: push an
    /// event, spawn the update, `settle`, then collect every effect the tasks emitted. With
    /// no foreign thread waking tasks, the outcome is deterministic.
    ///
    /// The guarantee: when `settle` returns, there was an instant during the call at which no
    /// task of this runtime was queued or running. It waits for every task spawned or woken
    /// before the call, and for everything those tasks spawn or wake in turn, transitively. A
    /// wake from a foreign thread (a shell resolving a request) that happens *during* the
    /// call may land on either side of that instant: if it lands before, `settle` waits for
    /// the woken task too; if after, `settle` may already have returned and the task runs
    /// later. Call `settle` again after such wakes to take them in.
    ///
    /// Blocking closures ([`Runtime::spawn_blocking`]) are not tasks: `settle` does not wait
    /// for them. A task awaiting one is suspended until the closure's completion wakes it,
    /// which, like a shell's wake, may come after `settle` returned.
    ///
    /// Timers are wakes too. A task sleeping is suspended, and `settle` does not wait for
    /// its timer; on a paused clock ([`Builder::start_paused`]) a multi-thread runtime's idle
    /// workers advance the clock to the next timer as soon as they are all idle, so whether a
    /// sleeper pending at the call has run when `settle` returns depends on that race.
    /// A current-thread runtime's `settle` returns once no task is runnable, before its
    /// paused clock would advance.
    ///
    /// A task that never suspends (it loops on [`yield_now`](crate::yield_now), say) keeps
    /// the runtime busy forever, and `settle` then never returns; use
    /// [`Runtime::try_settle`] when that can happen.
    ///
    /// On a current-thread runtime ([`Builder::new_current_thread`]) the calling thread runs
    /// the tasks itself until none is left to run, as a `block_on` would (while another
    /// thread is in `block_on`, it waits for that one, taking over if it returns first).
    ///
    /// # Panics
    ///
    /// On a worker thread of any genrt runtime, in a task that a thread standing in for a
    /// blocked worker polls, or inside a
    /// [`block_in_place`](crate::task::block_in_place) closure: a task calling it would wait
    /// for itself. Also inside a current-thread runtime's `block_on`.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let rt = genrt::Runtime::new().unwrap();
    /// let done = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..10 {
    ///     let done = done.clone();
    ///     rt.spawn(async move {
    ///         genrt::spawn(async move { done.fetch_add(1, Ordering::SeqCst) });
    ///     });
    /// }
    /// rt.settle();
    /// assert_eq!(done.load(Ordering::SeqCst), 10);
    /// ```
    #[track_caller]
    pub fn settle(&self) {
        self.handle.inner.settle(None);
    }

    /// Like [`Runtime::settle`], giving up after `timeout`. Returns whether the runtime
    /// settled in time.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let rt = genrt::Runtime::new().unwrap();
    /// let busy = rt.spawn(async {
    ///     loop {
    ///         genrt::yield_now().await;
    ///     }
    /// });
    /// assert!(!rt.try_settle(Duration::from_millis(20)));
    /// busy.abort();
    /// assert!(rt.try_settle(Duration::from_secs(30)));
    /// ```
    #[track_caller]
    pub fn try_settle(&self, timeout: Duration) -> bool {
        // A timeout past what an `Instant` holds (`Duration::MAX`) waits for ever.
        self.handle
            .inner
            .settle(Instant::now().checked_add(timeout))
    }

    /// Shuts the runtime down, waiting at most `timeout` (in all) for worker threads to
    /// finish the poll they are in and for blocking threads to finish the closure they run.
    /// Every task that is not being polled is cancelled and its future dropped before this
    /// returns, and every blocking closure that has not started is dropped unrun (its handle
    /// reports cancelled); a worker stuck in a long poll is left behind, and drops its task
    /// when that poll returns; a blocking closure still running is left to finish on its
    /// thread. Returns whether every worker and blocking thread had exited.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let rt = genrt::Runtime::new().unwrap();
    /// let pending = rt.spawn(std::future::pending::<()>());
    /// assert!(rt.shutdown_timeout(Duration::from_secs(10)));
    /// assert!(futures::executor::block_on(pending).unwrap_err().is_cancelled());
    ///
    /// let rt = genrt::Runtime::new().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let (started_tx, started) = std::sync::mpsc::channel();
    /// let stuck = rt.spawn_blocking(move || {
    ///     started_tx.send(()).unwrap();
    ///     let _ = rx.recv(); // until `tx` is dropped
    /// });
    /// started.recv().unwrap();
    /// assert!(!rt.shutdown_timeout(Duration::from_millis(10)));
    /// drop(tx);
    /// assert!(futures::executor::block_on(stuck).is_ok());
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> bool {
        // A timeout past what an `Instant` holds (`Duration::MAX`) waits as long as it takes.
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.shutdown(Some(timeout), Some(deadline)),
            None => self.shutdown(None, None),
        }
    }

    /// Shuts the runtime down without waiting for anything: [`shutdown_timeout`] with a zero
    /// timeout, as Tokio's. Tasks are cancelled as on drop; a blocking closure that is
    /// running runs on, on its own thread, and its join handle still gets its result. Fine
    /// to call from inside another runtime's task.
    ///
    /// [`shutdown_timeout`]: Runtime::shutdown_timeout
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let stuck = rt.spawn_blocking(move || rx.recv().is_err());
    /// rt.shutdown_background(); // returns although the closure may be blocked
    /// drop(tx);
    /// let _ = futures::executor::block_on(stuck); // Ok(true) if it had started
    /// ```
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    /// The shutdown of `Drop` and `shutdown_timeout`, in the order the `blocking` module
    /// docs give: close the pool (no thread enters the context after this), shut the
    /// scheduler down, wait for the blocking threads.
    fn shutdown(&mut self, timeout: Option<Duration>, deadline: Option<Instant>) -> bool {
        self.extras.pool.close();
        let workers = self.scheduler.shutdown(timeout);
        let blocking = self.extras.pool.join(deadline);
        workers && blocking
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None, None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("metrics", &self.metrics())
            .field("blocking", &self.extras.pool)
            .finish()
    }
}

/// Configures and builds a [`Runtime`].
///
/// ```
/// let rt = genrt::Builder::new()
///     .worker_threads(2)
///     .thread_name("genrt-worker")
///     .build()
///     .unwrap();
/// assert_eq!(rt.metrics().snapshot().workers, 2);
///
/// let err = genrt::Builder::new().worker_threads(0).build().unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    config: Config,
    flavor: RuntimeFlavor,
    max_blocking_threads: usize,
    thread_keep_alive: Duration,
    name: Option<String>,
}

impl Builder {
    /// A builder with one worker per CPU, threads named `genrt-worker`.
    ///
    /// ```
    /// let rt = genrt::Builder::new().build().unwrap();
    /// assert_eq!(rt.metrics().snapshot().workers, num_cpus::get());
    /// ```
    pub fn new() -> Builder {
        Builder {
            config: Config::new(num_cpus::get()),
            flavor: RuntimeFlavor::MultiThread,
            max_blocking_threads: blocking::DEFAULT_MAX_THREADS,
            thread_keep_alive: blocking::DEFAULT_KEEP_ALIVE,
            name: None,
        }
    }

    /// [`Builder::new`] under Tokio's name: genrt has one scheduler, the multi-threaded
    /// work-stealing one, so code written for `tokio::runtime::Builder` keeps its first line.
    ///
    /// ```
    /// let rt = genrt::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .enable_all()
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
    /// ```
    pub fn new_multi_thread() -> Builder {
        Builder::new()
    }

    /// A builder for a current-thread runtime, as Tokio's: it starts no worker thread, and
    /// its tasks run on the thread inside [`Runtime::block_on`] (or [`Handle::block_on`]),
    /// between polls of the `block_on` future, one at a time.
    ///
    /// While no thread is in `block_on`, its tasks wait (a spawn from outside queues them);
    /// while one is, a second `block_on` on another thread polls only its own future, and
    /// takes over running the tasks when the first returns. Timers fire, and a paused clock
    /// auto-advances, only while a `block_on` (or [`Runtime::settle`]) runs. Blocking closures
    /// ([`Runtime::spawn_blocking`]) run on the blocking pool's threads, as in Tokio.
    /// Spawned futures must still be `Send` (use a [`LocalSet`](crate::task::LocalSet) for
    /// ones that are not). [`Builder::worker_threads`] is ignored, as in Tokio.
    ///
    /// ```
    /// let rt = genrt::Builder::new_current_thread().enable_all().build().unwrap();
    /// assert_eq!(rt.metrics().snapshot().workers, 1);
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// rt.spawn(async move { tx.send(std::thread::current().id()).unwrap() });
    /// // Not run yet: no thread is in `block_on`.
    /// assert!(rx.try_recv().is_err());
    /// // The task runs on this thread, while `block_on` waits for it.
    /// rt.block_on(genrt::time::sleep(std::time::Duration::from_millis(1)));
    /// assert_eq!(rx.try_recv().unwrap(), std::thread::current().id());
    /// ```
    pub fn new_current_thread() -> Builder {
        let mut builder = Builder::new();
        builder.worker_threads(1);
        builder.flavor = RuntimeFlavor::CurrentThread;
        builder
    }

    /// Enables every driver genrt has: its timers, which every genrt runtime has anyway
    /// (genrt has no I/O driver). Kept for code written for Tokio's builder.
    ///
    /// ```
    /// let rt = genrt::Builder::new().enable_all().build().unwrap();
    /// rt.block_on(async { genrt::time::sleep(std::time::Duration::from_millis(1)).await });
    /// ```
    pub fn enable_all(&mut self) -> &mut Builder {
        self
    }

    /// Enables the timers ([`genrt::time`](crate::time)), which every genrt runtime has
    /// anyway. Kept for code written for Tokio's builder.
    ///
    /// ```
    /// let rt = genrt::Builder::new().enable_time().build().unwrap();
    /// let slept = rt.block_on(rt.spawn(async {
    ///     genrt::time::timeout(std::time::Duration::from_secs(5), async { 3 }).await
    /// }));
    /// assert_eq!(slept.unwrap().unwrap(), 3);
    /// ```
    pub fn enable_time(&mut self) -> &mut Builder {
        self
    }

    /// Sets the number of worker threads. Zero is refused by [`Builder::build`].
    ///
    /// ```
    /// let rt = genrt::Builder::new().worker_threads(3).build().unwrap();
    /// assert_eq!(rt.metrics().snapshot().workers, 3);
    /// ```
    pub fn worker_threads(&mut self, count: usize) -> &mut Builder {
        self.config.workers = count;
        self
    }

    /// Sets the most blocking threads the runtime runs at once (default 512): threads are
    /// started on demand for [`spawn_blocking`](crate::spawn_blocking) closures, at most this
    /// many; further closures wait in a queue. Zero is refused by [`Builder::build`].
    ///
    /// ```
    /// let rt = genrt::Builder::new().max_blocking_threads(2).build().unwrap();
    /// let joins: Vec<_> = (0..8).map(|i| rt.spawn_blocking(move || i * 2)).collect();
    /// for (i, join) in joins.into_iter().enumerate() {
    ///     assert_eq!(rt.block_on(join).unwrap(), i * 2);
    /// }
    /// let err = genrt::Builder::new().max_blocking_threads(0).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn max_blocking_threads(&mut self, count: usize) -> &mut Builder {
        self.max_blocking_threads = count;
        self
    }

    /// Sets how long a blocking thread waits for a new closure before it exits (default 10
    /// seconds); its [`on_thread_stop`](Builder::on_thread_stop) hook runs as it exits.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = genrt::Builder::new()
    ///     .thread_keep_alive(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(rt.spawn_blocking(|| 5)).unwrap(), 5);
    /// ```
    pub fn thread_keep_alive(&mut self, keep_alive: Duration) -> &mut Builder {
        self.thread_keep_alive = keep_alive;
        self
    }

    /// Names the runtime (Tokio's `Builder::name`): [`Handle::name`] returns it. It names the
    /// runtime only, not its threads ([`thread_name`](Builder::thread_name) does that).
    ///
    /// # Panics
    ///
    /// If `name` is empty or only whitespace, as Tokio's.
    ///
    /// ```
    /// let rt = genrt::Builder::new_current_thread().name("core").build().unwrap();
    /// assert_eq!(rt.handle().name(), Some("core"));
    /// let inside = rt.block_on(async { genrt::Handle::current().name().map(str::to_owned) });
    /// assert_eq!(inside.as_deref(), Some("core"));
    /// assert_eq!(genrt::Runtime::new().unwrap().handle().name(), None);
    /// ```
    #[track_caller]
    pub fn name(&mut self, name: impl Into<String>) -> &mut Builder {
        let name = name.into();
        assert!(
            !name.trim().is_empty(),
            "genrt: a runtime name must not be empty"
        );
        self.name = Some(name);
        self
    }

    /// Sets the name of every worker and blocking thread.
    ///
    /// ```
    /// let rt = genrt::Builder::new().thread_name("effects").build().unwrap();
    /// let name = rt.block_on(rt.spawn(async {
    ///     std::thread::current().name().map(str::to_owned)
    /// }));
    /// assert_eq!(name.unwrap().as_deref(), Some("effects"));
    /// ```
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Builder {
        self.config.thread_name = name.into();
        self
    }

    /// Names each worker and blocking thread with what `f` returns as the thread starts
    /// (instead of [`Builder::thread_name`]'s fixed name).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// static NEXT: AtomicUsize = AtomicUsize::new(0);
    /// let rt = genrt::Builder::new()
    ///     .worker_threads(1)
    ///     .thread_name_fn(|| format!("pool-{}", NEXT.fetch_add(1, Ordering::SeqCst)))
    ///     .build()
    ///     .unwrap();
    /// let name = rt.block_on(rt.spawn(async {
    ///     std::thread::current().name().map(str::to_owned)
    /// }));
    /// assert_eq!(name.unwrap().as_deref(), Some("pool-0"));
    /// ```
    pub fn thread_name_fn<F>(&mut self, f: F) -> &mut Builder
    where
        F: Fn() -> String + Send + Sync + 'static,
    {
        self.config.thread_name_fn = Some(std::sync::Arc::new(f));
        self
    }

    /// Starts the runtime's clock paused, for deterministic tests of timed code: the clock
    /// then moves only when every worker is idle (no task queued or running), jumping to
    /// the next timer's deadline, or by [`genrt::time::advance`](crate::time::advance).
    /// [`genrt::time::pause`](crate::time::pause) pauses a running clock later. A thread
    /// in `block_on` holds the clock back while it polls its future (not while it waits), and a
    /// [`spawn_blocking`](crate::spawn_blocking) closure does, from its spawn until its
    /// result is delivered, as in Tokio: a task awaiting it under a `timeout` is not timed
    /// out by a jump while it runs. (So a closure that itself waits for the paused clock,
    /// say `Handle::block_on(sleep(..))`, waits until something calls `advance`.)
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = genrt::Builder::new().start_paused(true).build().unwrap();
    /// let slept = rt.block_on(rt.spawn(async {
    ///     let start = genrt::time::Instant::now();
    ///     genrt::time::sleep(Duration::from_secs(24 * 3600)).await; // returns at once
    ///     start.elapsed()
    /// }));
    /// assert_eq!(slept.unwrap(), Duration::from_secs(24 * 3600));
    /// ```
    pub fn start_paused(&mut self, paused: bool) -> &mut Builder {
        self.config.start_paused = paused;
        self
    }

    /// Every how many polls a busy worker does its maintenance (Tokio's `event_interval`):
    /// its yielded tasks move to the back of its queue, where other workers can steal them,
    /// and due timers fire. 61 by default. Lower: yields and timers are served sooner, at the
    /// cost of more checks. Panics on 0.
    ///
    /// ```
    /// let rt = genrt::Builder::new().event_interval(7).build().unwrap();
    /// assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn event_interval(&mut self, ticks: u32) -> &mut Builder {
        assert!(ticks > 0, "genrt: event_interval must be greater than 0");
        self.config.event_interval = ticks;
        self
    }

    /// Every how many polls a busy worker looks at the runtime's shared queue (spawns and
    /// wakes from outside its workers) before its own (Tokio's `global_queue_interval`). 13
    /// by default. Panics on 0.
    ///
    /// ```
    /// let rt = genrt::Builder::new().global_queue_interval(1).build().unwrap();
    /// assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn global_queue_interval(&mut self, ticks: u32) -> &mut Builder {
        assert!(
            ticks > 0,
            "genrt: global_queue_interval must be greater than 0"
        );
        self.config.global_queue_interval = ticks;
        self
    }

    /// Sets the stack size of worker and blocking threads, in bytes.
    ///
    /// ```
    /// let rt = genrt::Builder::new().thread_stack_size(4 << 20).build().unwrap();
    /// assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    /// ```
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Builder {
        self.config.stack_size = Some(bytes);
        self
    }

    /// Runs `f` on every worker thread when it starts, before its first poll, and on every
    /// blocking thread before its first closure, inside the runtime's context (so
    /// [`Handle::current`] works there). A panic in `f` is caught and ignored (the panic hook
    /// reports it): the thread runs anyway.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let counter = started.clone();
    /// let rt = genrt::Builder::new()
    ///     .worker_threads(2)
    ///     .on_thread_start(move || {
    ///         assert!(genrt::Handle::try_current().is_ok());
    ///         counter.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// drop(rt); // joins the workers, so both have started
    /// assert_eq!(started.load(Ordering::SeqCst), 2);
    /// ```
    pub fn on_thread_start<F>(&mut self, f: F) -> &mut Builder
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.config.on_thread_start = Some(std::sync::Arc::new(f));
        self
    }

    /// Runs `f` on every worker thread after its last poll, just before it exits, and on
    /// every blocking thread after its last closure (when it exits after
    /// [`thread_keep_alive`](Builder::thread_keep_alive) idle, or at shutdown), inside the
    /// runtime's context; also when the thread exits because the runtime shuts down (dropping
    /// the runtime waits for it, except on a thread the runtime is dropped from). A panic in
    /// `f` is caught and ignored (the panic hook reports it).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let stopped = Arc::new(AtomicUsize::new(0));
    /// let counter = stopped.clone();
    /// let rt = genrt::Builder::new()
    ///     .worker_threads(3)
    ///     .on_thread_stop(move || {
    ///         counter.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(stopped.load(Ordering::SeqCst), 0);
    /// drop(rt);
    /// assert_eq!(stopped.load(Ordering::SeqCst), 3);
    /// ```
    pub fn on_thread_stop<F>(&mut self, f: F) -> &mut Builder
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.config.on_thread_stop = Some(std::sync::Arc::new(f));
        self
    }

    /// Runs `f` on a worker thread each time it is about to park for want of work (Tokio's
    /// `on_thread_park`), inside the runtime's context. Work the hook spawns or wakes runs
    /// before the worker parks. A panic in `f` is caught and ignored.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let parks = Arc::new(AtomicUsize::new(0));
    /// let counter = parks.clone();
    /// let rt = genrt::Builder::new()
    ///     .worker_threads(1)
    ///     .on_thread_park(move || {
    ///         counter.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// rt.settle(); // the worker has run the hook and registered to sleep
    /// assert!(parks.load(Ordering::SeqCst) >= 1);
    /// ```
    pub fn on_thread_park<F>(&mut self, f: F) -> &mut Builder
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.config.on_thread_park = Some(std::sync::Arc::new(f));
        self
    }

    /// Runs `f` on a worker thread each time it is back from [`on_thread_park`]'s park
    /// (woken, or finding work after all), before it looks for work (Tokio's
    /// `on_thread_unpark`), inside the runtime's context. A panic in `f` is caught and ignored.
    ///
    /// [`on_thread_park`]: Builder::on_thread_park
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let unparks = Arc::new(AtomicUsize::new(0));
    /// let counter = unparks.clone();
    /// let rt = genrt::Builder::new()
    ///     .worker_threads(1)
    ///     .on_thread_unpark(move || {
    ///         counter.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// rt.settle();
    /// // Wake the parked worker with a task: it unparks before running it.
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert!(unparks.load(Ordering::SeqCst) >= 1);
    /// ```
    pub fn on_thread_unpark<F>(&mut self, f: F) -> &mut Builder
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.config.on_thread_unpark = Some(std::sync::Arc::new(f));
        self
    }

    /// What a panic in a task's poll does to the runtime; see [`UnhandledPanic`]. The
    /// default, [`UnhandledPanic::Ignore`], only reports the panic through the task's
    /// [`JoinHandle`].
    ///
    /// ```
    /// use genrt::UnhandledPanic;
    /// let rt = genrt::Builder::new()
    ///     .unhandled_panic(UnhandledPanic::ShutdownRuntime)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    /// ```
    pub fn unhandled_panic(&mut self, policy: UnhandledPanic) -> &mut Builder {
        self.config.shutdown_on_panic = matches!(policy, UnhandledPanic::ShutdownRuntime);
        self
    }

    /// Starts the runtime (its blocking threads start on demand). Fails with `InvalidInput`
    /// for zero workers (a multi-thread runtime; a current-thread one ignores the count) or
    /// zero blocking threads, with the operating system's error if a thread cannot be
    /// started, and with an error of kind `Other` if 1,024 genrt runtimes (and `LocalSet`s)
    /// are already alive in this process.
    ///
    /// ```
    /// let err = genrt::Builder::new().worker_threads(0).build().unwrap_err();
    /// assert!(err.to_string().contains("worker_threads must be at least 1"));
    /// ```
    pub fn build(&mut self) -> io::Result<Runtime> {
        if self.max_blocking_threads == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "genrt: max_blocking_threads must be at least 1",
            ));
        }
        let pool = Pool::new(blocking::Settings {
            max_threads: self.max_blocking_threads,
            keep_alive: self.thread_keep_alive,
            thread_name: self.config.thread_name.clone(),
            thread_name_fn: self.config.thread_name_fn.clone(),
            stack_size: self.config.stack_size,
            on_thread_start: self.config.on_thread_start.clone(),
            on_thread_stop: self.config.on_thread_stop.clone(),
        });
        let extras = std::sync::Arc::new(Extras {
            pool,
            flavor: self.flavor,
            id: Id::next(),
            name: self.name.clone(),
        });
        let mut config = self.config.clone();
        config.data = Some(extras.clone());
        if self.flavor == RuntimeFlavor::CurrentThread {
            // One worker, run by the thread inside `block_on`; `worker_threads` has no
            // effect on this flavor (as in Tokio, whose setter refuses 0 on any flavor).
            config.workers = 1;
            config.driven = true;
        }
        let scheduler = Scheduler::start(config)?;
        Ok(Runtime {
            handle: Handle {
                inner: scheduler.handle(),
            },
            scheduler,
            extras,
        })
    }
}

/// What a runtime was built as ([`Handle::runtime_flavor`]): Tokio's two flavors, for code
/// that asks. A [`CurrentThread`](RuntimeFlavor::CurrentThread) runtime, built by
/// [`Builder::new_current_thread`], runs its tasks inside `block_on`; it is the only kind
/// whose clock [`genrt::time::pause`](crate::time::pause) pauses, as in Tokio.
///
/// ```
/// use genrt::runtime::RuntimeFlavor;
///
/// let rt = genrt::Builder::new_current_thread().build().unwrap();
/// assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
/// let rt = genrt::Builder::new_multi_thread().worker_threads(1).build().unwrap();
/// assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// Built by [`Builder::new_current_thread`].
    CurrentThread,
    /// Built by [`Builder::new`] or [`Builder::new_multi_thread`].
    MultiThread,
}

/// What a runtime does when a task's poll panics; set with [`Builder::unhandled_panic`].
///
/// ```
/// assert_eq!(genrt::UnhandledPanic::default(), genrt::UnhandledPanic::Ignore);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnhandledPanic {
    /// The panic is the task's result: its [`JoinHandle`] reports it
    /// ([`JoinError::is_panic`](crate::JoinError::is_panic)) and nothing else happens.
    /// (Whatever the policy, this is also what a panic of a blocking closure does: the
    /// policy applies to spawned futures only, as in Tokio.)
    ///
    /// ```
    /// let rt = genrt::Builder::new()
    ///     .unhandled_panic(genrt::UnhandledPanic::Ignore)
    ///     .build()
    ///     .unwrap();
    /// let err = rt.block_on(rt.spawn(async { panic!("boom") })).unwrap_err();
    /// assert!(err.is_panic());
    /// assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    /// ```
    #[default]
    Ignore,
    /// The first panic shuts the runtime down promptly, from the worker that caught it
    /// (nothing waits there, so nothing deadlocks): the panicking task's handle reports the
    /// panic; every other task is cancelled by the workers as they leave their loops, or by
    /// the thread standing in for a worker blocked in
    /// [`block_in_place`](crate::task::block_in_place) (its handle reports cancelled); later
    /// spawns are cancelled at once; every `block_on` in
    /// progress on the runtime, and any later one, panics with a message saying a task
    /// panicked. Dropping the runtime afterwards finishes the shutdown as usual. A panic of a
    /// blocking closure ([`Runtime::spawn_blocking`]) does not count, as in Tokio: only its
    /// handle reports it. The blocking pool stays open until the runtime is dropped. Nor does
    /// a panic of a [`LocalSet`](crate::task::LocalSet)'s task: a set is an executor of its
    /// own, whose tasks' handles report their panics.
    ///
    /// ```
    /// let rt = genrt::Builder::new()
    ///     .worker_threads(1)
    ///     .unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime)
    ///     .build()
    ///     .unwrap();
    /// let pending = rt.spawn(std::future::pending::<()>());
    /// let boom = rt.spawn(async { panic!("boom") });
    /// let err = futures::executor::block_on(boom).unwrap_err();
    /// assert!(err.is_panic());
    /// assert!(futures::executor::block_on(pending).unwrap_err().is_cancelled());
    /// let late = rt.spawn(async {});
    /// assert!(futures::executor::block_on(late).unwrap_err().is_cancelled());
    /// ```
    ShutdownRuntime,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

// A panic caught around code that uses a Runtime cannot leave it broken: its state is
// behind atomics and locks, each left consistent by every operation (as Tokio declares).
impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}
