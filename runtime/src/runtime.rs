//! [`Runtime`] and [`Builder`].

use std::fmt;
use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use genrt_scheduler::{Config, Scheduler};

use crate::enter::EnterGuard;
use crate::handle::Handle;
use crate::task::join::JoinHandle;
use crate::RuntimeMetrics;

/// A multi-threaded work-stealing runtime.
///
/// Dropping it shuts it down: every task is cancelled and every future dropped before
/// `drop` returns, including futures whose wakers are still held elsewhere (those wakers
/// become no-ops that keep nothing alive); worker threads are joined; join handles of
/// unfinished tasks resolve to a cancelled [`JoinError`](crate::JoinError).
///
/// Dropped from inside one of its own tasks, the runtime cannot wait for the worker it is
/// running on, nor drop the future that is running the drop: it shuts down everything else,
/// joins the other workers and returns; that worker drops the running task's future as soon
/// as its poll returns, then exits. Nothing deadlocks.
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
}

impl Runtime {
    /// A runtime with one worker thread per CPU (`num_cpus::get()`).
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// assert_eq!(rt.metrics().workers, num_cpus::get());
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
        self.handle.spawn(future)
    }

    /// Runs `future` to completion on the current thread, with this runtime as the current
    /// one: [`genrt::spawn`](crate::spawn) and [`Handle::current`] work inside it. Spawned
    /// tasks run on the worker threads. The same as [`Handle::block_on`]; see there for what
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
        crate::block_on::block_on(&self.handle, future)
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

    /// A handle to this runtime.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// assert_eq!(rt.block_on(handle.spawn(async { 3 })).unwrap(), 3);
    /// ```
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// A snapshot of the runtime's counters; see [`RuntimeMetrics`].
    ///
    /// A worker updates the counters right after a task's poll returns, which can be just
    /// after the task's join handle saw its result; [`Runtime::settle`] first for exact
    /// figures.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// rt.settle();
    /// let m = rt.metrics();
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
    /// A task that never suspends (it loops on [`yield_now`](crate::yield_now), say) keeps
    /// the runtime busy forever, and `settle` then never returns; use
    /// [`Runtime::try_settle`] when that can happen.
    ///
    /// # Panics
    ///
    /// On a worker thread of any genrt runtime (a task calling it would wait for itself).
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
        self.handle.inner.settle(Some(Instant::now() + timeout))
    }

    /// Shuts the runtime down, waiting at most `timeout` for worker threads to finish the
    /// poll they are in. Every task that is not being polled is cancelled and its future
    /// dropped before this returns; a worker stuck in a long poll is left behind, and drops
    /// its task when that poll returns. Returns whether every worker thread had exited.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let rt = genrt::Runtime::new().unwrap();
    /// let pending = rt.spawn(std::future::pending::<()>());
    /// assert!(rt.shutdown_timeout(Duration::from_secs(10)));
    /// assert!(futures::executor::block_on(pending).unwrap_err().is_cancelled());
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> bool {
        self.scheduler.shutdown(Some(timeout))
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("metrics", &self.metrics())
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
/// assert_eq!(rt.metrics().workers, 2);
///
/// let err = genrt::Builder::new().worker_threads(0).build().unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    config: Config,
}

impl Builder {
    /// A builder with one worker per CPU, threads named `genrt-worker`.
    ///
    /// ```
    /// let rt = genrt::Builder::new().build().unwrap();
    /// assert_eq!(rt.metrics().workers, num_cpus::get());
    /// ```
    pub fn new() -> Builder {
        Builder {
            config: Config::new(num_cpus::get()),
        }
    }

    /// Sets the number of worker threads. Zero is refused by [`Builder::build`].
    ///
    /// ```
    /// let rt = genrt::Builder::new().worker_threads(3).build().unwrap();
    /// assert_eq!(rt.metrics().workers, 3);
    /// ```
    pub fn worker_threads(&mut self, count: usize) -> &mut Builder {
        self.config.workers = count;
        self
    }

    /// Sets the name of every worker thread.
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

    /// Starts the runtime's clock paused, for deterministic tests of timed code: the clock
    /// then moves only when every worker is idle (no task queued or running), jumping to
    /// the next timer's deadline, or by [`genrt::time::advance`](crate::time::advance). A
    /// thread in `block_on` is not a worker: it does not hold the clock back.
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

    /// Sets the stack size of worker threads, in bytes.
    ///
    /// ```
    /// let rt = genrt::Builder::new().thread_stack_size(4 << 20).build().unwrap();
    /// assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    /// ```
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Builder {
        self.config.stack_size = Some(bytes);
        self
    }

    /// Runs `f` on every worker thread when it starts, before its first poll, inside the
    /// runtime's context (so [`Handle::current`] works there). When genrt gets a blocking
    /// pool, the hook will run on its threads too. A panic in `f` is caught and ignored (the
    /// panic hook reports it): the worker runs anyway.
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

    /// Runs `f` on every worker thread after its last poll, just before it exits, inside the
    /// runtime's context; also when it exits because the runtime shuts down (dropping the
    /// runtime waits for it, except on a worker the runtime is dropped from). When genrt gets
    /// a blocking pool, the hook will run on its threads too. A panic in `f` is caught and
    /// ignored (the panic hook reports it).
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

    /// Starts the runtime. Fails with `InvalidInput` for zero workers, and with the
    /// operating system's error if a thread cannot be started or if 256 genrt runtimes are
    /// already alive in this process.
    ///
    /// ```
    /// let err = genrt::Builder::new().worker_threads(0).build().unwrap_err();
    /// assert!(err.to_string().contains("worker_threads must be at least 1"));
    /// ```
    pub fn build(&mut self) -> io::Result<Runtime> {
        let scheduler = Scheduler::start(self.config.clone())?;
        Ok(Runtime {
            handle: Handle {
                inner: scheduler.handle(),
            },
            scheduler,
        })
    }
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
    /// panic; every other task is cancelled by the workers as they leave their loops (its
    /// handle reports cancelled); later spawns are cancelled at once; every `block_on` in
    /// progress on the runtime, and any later one, panics with a message saying a task
    /// panicked. Dropping the runtime afterwards finishes the shutdown as usual.
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
