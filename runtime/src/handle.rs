//! [`Handle`], the free function [`spawn`], and the `futures_task::Spawn` implementation.

use std::fmt;
use std::future::Future;

use futures_task::{FutureObj, Spawn, SpawnError};
use genrt_scheduler::Task;

use crate::blocking::Pool;
use crate::enter::EnterGuard;
use crate::loom::sync::Arc;
use crate::loom::unsize_arc;
use crate::task::abort::{Abort, AbortHandle};
use crate::task::cell::{self, TaskCell};
use crate::task::join::{Join, JoinHandle};
use crate::RuntimeMetrics;

/// A cloneable, thread-safe reference to a runtime, for spawning from anywhere.
///
/// A handle does not keep the runtime running: once the [`Runtime`](crate::Runtime) is dropped,
/// a task spawned through a handle is cancelled at once and its join handle resolves to a
/// cancelled [`JoinError`](crate::JoinError).
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let handle = rt.handle().clone();
/// let task = std::thread::spawn(move || handle.spawn(async { 5 }))
///     .join()
///     .unwrap();
/// assert_eq!(rt.block_on(task).unwrap(), 5);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: genrt_scheduler::Handle,
}

impl Handle {
    /// Spawns `future` onto the runtime and returns its [`JoinHandle`].
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let join = rt.handle().spawn(async { "done" });
    /// assert_eq!(rt.block_on(join).unwrap(), "done");
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if cell::is_large::<F>() {
            self.spawn_task(Box::pin(future))
        } else {
            self.spawn_task(future)
        }
    }

    /// [`Handle::spawn`] after its boxing of a large future.
    #[track_caller]
    pub(crate) fn spawn_task<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let cell = Arc::new(TaskCell::new(future));
        let mut join = JoinHandle::new(unsize_arc!(cell.clone() => dyn Join<F::Output>));
        join.set_key(self.inner.spawn(unsize_arc!(cell => dyn Task)));
        join
    }

    /// Runs `f` on a blocking thread of this runtime and returns its [`JoinHandle`]: for
    /// code that blocks (file I/O, a synchronous library, a long computation), which must not
    /// run on a worker thread.
    ///
    /// The runtime owns a pool of blocking threads, started on demand up to
    /// [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads); when all are
    /// busy the closure waits in a queue. An idle thread exits after
    /// [`Builder::thread_keep_alive`](crate::Builder::thread_keep_alive). Inside `f` the
    /// runtime is the current one: [`genrt::spawn`](crate::spawn), [`Handle::current`] and
    /// [`Handle::block_on`] work.
    ///
    /// The join handle is an ordinary one. [`JoinHandle::abort`] cancels a closure that has
    /// not started: it stays in the queue, and the blocking thread that reaches it drops it
    /// unrun, then the handle reports cancelled (shutdown drops it sooner). A running closure
    /// cannot be interrupted, so it runs to completion and the handle reports its value, as
    /// in Tokio. A panic in `f` is reported through the handle only
    /// ([`JoinError::is_panic`](crate::JoinError::is_panic)), whatever the runtime's
    /// [`UnhandledPanic`](crate::UnhandledPanic) policy. On shutdown, closures that have not
    /// started are dropped (cancelled) and running ones are waited for (see
    /// [`Runtime`](crate::Runtime)); after it, `f` is dropped at once, unrun.
    ///
    /// # Panics
    ///
    /// If no blocking thread of the runtime is alive and the operating system refuses to
    /// start one (`f` is dropped first, so the handle reports cancelled).
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// let join = handle.spawn_blocking(|| {
    ///     // A blocking thread: block freely, and reach the runtime from here.
    ///     std::thread::sleep(std::time::Duration::from_millis(1));
    ///     let task = genrt::spawn(async { 40 });
    ///     genrt::Handle::current().block_on(task).unwrap() + 2
    /// });
    /// assert_eq!(rt.block_on(join).unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        if cell::is_large::<F>() {
            self.spawn_blocking_task(Box::new(f))
        } else {
            self.spawn_blocking_task(f)
        }
    }

    /// [`Handle::spawn_blocking`] after its boxing of a large closure.
    #[track_caller]
    pub(crate) fn spawn_blocking_task<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (cell, task) = cell::blocking(f);
        let join = JoinHandle::new(unsize_arc!(cell => dyn Join<R>));
        Pool::of(&self.inner).spawn(task, &self.inner);
        join
    }

    /// [`Handle::spawn_blocking`], also returning an [`AbortHandle`] made from the same cell
    /// (for [`JoinSet`](crate::JoinSet)). The caller boxes a large closure
    /// (`cell::is_large`).
    #[track_caller]
    pub(crate) fn spawn_blocking_abortable<F, R>(&self, f: F) -> (JoinHandle<R>, AbortHandle)
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (cell, task) = cell::blocking(f);
        let abort = AbortHandle::new(unsize_arc!(cell.clone() => dyn Abort), None);
        let join = JoinHandle::new(unsize_arc!(cell => dyn Join<R>));
        Pool::of(&self.inner).spawn(task, &self.inner);
        (join, abort)
    }

    /// The handle of the runtime this code runs in.
    ///
    /// # Panics
    ///
    /// Outside a task, `block_on` or [`enter`](Handle::enter) guard of a genrt runtime; use
    /// [`Handle::try_current`] to ask.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let join = genrt::Handle::current().spawn(async { 1 });
    ///     assert_eq!(join.await.unwrap(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(handle) => handle,
            Err(e) => panic!("{e}"),
        }
    }

    /// The handle of the runtime this code runs in, or an error outside any runtime.
    ///
    /// ```
    /// assert!(genrt::Handle::try_current().is_err());
    /// ```
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        genrt_scheduler::Handle::current()
            .map(|inner| Handle { inner })
            .ok_or_else(|| TryCurrentError {
                destroyed: genrt_scheduler::thread_context_destroyed(),
            })
    }

    /// Makes this handle's runtime the current one on this thread until the guard is
    /// dropped: [`genrt::spawn`](crate::spawn) and [`Handle::current`] find it (as the
    /// current runtime). Works on any thread, a worker of another runtime included; enters
    /// nest, each guard putting back, when dropped, the context it covered (drop them in
    /// reverse order: one dropped out of order panics).
    ///
    /// Entering does not block anything, so [`Handle::block_on`] inside the guard works, as
    /// in Tokio (on a thread that may block: not a worker).
    ///
    /// # Panics
    ///
    /// If the [`Runtime`](crate::Runtime) was already dropped: there is nothing to enter
    /// (except on a thread still inside it, such as a blocking closure's).
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// let answer = std::thread::spawn(move || {
    ///     let _guard = handle.enter();
    ///     let join = genrt::spawn(async { 6 * 7 });
    ///     genrt::Handle::current().block_on(join).unwrap()
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(answer, 42);
    /// ```
    #[track_caller]
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard::new(self.inner.enter())
    }

    /// [`Handle::enter`], or `None` (instead of a panic) if the runtime was already dropped.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// assert!(handle.try_enter().is_some());
    /// drop(rt);
    /// assert!(handle.try_enter().is_none());
    /// ```
    pub fn try_enter(&self) -> Option<EnterGuard<'_>> {
        self.inner.try_enter().map(EnterGuard::new)
    }

    /// Runs `future` to completion on the current thread, with this handle's runtime as the
    /// current one; the same as [`Runtime::block_on`](crate::Runtime::block_on) (one
    /// implementation), callable from any thread that is not a worker, also inside an
    /// [`enter`](Handle::enter) guard of this or another runtime.
    ///
    /// If the runtime is dropped (on another thread) while this runs, the future is still
    /// driven to completion here; what it spawns is cancelled.
    ///
    /// # Panics
    ///
    /// On a worker thread of any genrt runtime (it would stall that worker), or when this
    /// thread is already inside `block_on`: `.await` the future there instead. If the
    /// runtime was already dropped (except on a thread still inside it, such as a blocking
    /// closure's: the future is then driven here and what it spawns is cancelled). When a task panics under
    /// [`UnhandledPanic::ShutdownRuntime`](crate::UnhandledPanic::ShutdownRuntime), with a
    /// message saying that a task panicked.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// let out = std::thread::spawn(move || handle.block_on(async { genrt::spawn(async { 3 }).await }))
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(out.unwrap(), 3);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if cell::is_large::<F>() {
            crate::block_on::block_on(self, Box::pin(future))
        } else {
            crate::block_on::block_on(self, future)
        }
    }

    /// What the runtime was built as (Tokio's `Handle::runtime_flavor`): see
    /// [`RuntimeFlavor`](crate::runtime::RuntimeFlavor).
    ///
    /// ```
    /// use genrt::runtime::RuntimeFlavor;
    ///
    /// let rt = genrt::Runtime::new().unwrap();
    /// let flavor = rt.block_on(async { genrt::Handle::current().runtime_flavor() });
    /// assert_eq!(flavor, RuntimeFlavor::MultiThread);
    /// ```
    pub fn runtime_flavor(&self) -> crate::runtime::RuntimeFlavor {
        crate::runtime::Extras::of(&self.inner).flavor
    }

    /// The runtime's id (Tokio's `Handle::id`): the same through every handle of one runtime,
    /// different for any other runtime of the process, also one built after this one is gone.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let inside = rt.block_on(async { genrt::Handle::current().id() });
    /// assert_eq!(inside, rt.handle().id());
    /// ```
    pub fn id(&self) -> crate::runtime::Id {
        crate::runtime::Extras::of(&self.inner).id
    }

    /// The runtime's name, as given to [`Builder::name`](crate::Builder::name) (Tokio's
    /// `Handle::name`); `None` if it was given none.
    ///
    /// ```
    /// let rt = genrt::Builder::new().worker_threads(1).name("effects").build().unwrap();
    /// let handle = rt.handle().clone();
    /// assert_eq!(handle.name(), Some("effects"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        crate::runtime::Extras::of(&self.inner).name.as_deref()
    }

    /// A live view of the runtime's counters; see [`RuntimeMetrics`].
    ///
    /// ```
    /// let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
    /// assert_eq!(rt.handle().metrics().num_workers(), 2);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::new(self.inner.clone())
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("closed", &self.inner.is_closed())
            .finish()
    }
}

/// Spawns with `futures`' executor-agnostic trait. After shutdown it returns
/// [`SpawnError::shutdown`] instead of spawning.
///
/// ```
/// use futures::task::SpawnExt;
/// let rt = genrt::Runtime::new().unwrap();
/// let (tx, rx) = std::sync::mpsc::channel();
/// SpawnExt::spawn(rt.handle(), async move { tx.send(9).unwrap() }).unwrap();
/// assert_eq!(rx.recv().unwrap(), 9);
/// ```
impl Spawn for Handle {
    fn spawn_obj(&self, future: FutureObj<'static, ()>) -> Result<(), SpawnError> {
        self.status()?;
        drop(self.spawn(future));
        Ok(())
    }

    fn status(&self) -> Result<(), SpawnError> {
        if self.inner.is_closed() {
            Err(SpawnError::shutdown())
        } else {
            Ok(())
        }
    }
}

/// Spawns `future` onto the current runtime.
///
/// # Panics
///
/// Outside any genrt runtime's context (a task, `block_on`, an [`enter`](Handle::enter)
/// guard, a blocking closure), with a message saying so; use [`Handle::spawn`] from other
/// threads.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let sum = rt.block_on(async {
///     let a = genrt::spawn(async { 1 });
///     let b = genrt::spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(sum, 3);
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match Handle::try_current() {
        Ok(handle) if cell::is_large::<F>() => handle.spawn_task(Box::pin(future)),
        Ok(handle) => handle.spawn_task(future),
        Err(_) => panic!(
            "genrt::spawn called outside a genrt runtime: call it from inside a task, \
             Runtime::block_on or an enter guard, or spawn through a genrt::Handle"
        ),
    }
}

/// Runs `f` on a blocking thread of the current runtime; see [`Handle::spawn_blocking`].
///
/// # Panics
///
/// Outside a task, `block_on`, blocking closure or `enter` guard of a genrt runtime, with a
/// message saying so; use [`Handle::spawn_blocking`] from other threads.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let text = rt.block_on(async {
///     genrt::spawn_blocking(|| "read from a blocking thread".to_string())
///         .await
///         .unwrap()
/// });
/// assert_eq!(text, "read from a blocking thread");
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match Handle::try_current() {
        Ok(handle) if cell::is_large::<F>() => handle.spawn_blocking_task(Box::new(f)),
        Ok(handle) => handle.spawn_blocking_task(f),
        Err(_) => panic!(
            "genrt::spawn_blocking called outside a genrt runtime: call it from inside a \
             task, Runtime::block_on, a blocking closure or an enter guard, or spawn through \
             a genrt::Handle"
        ),
    }
}

/// The error of [`Handle::try_current`]: this thread is not inside a genrt runtime, or its
/// thread-locals are already destroyed (it is exiting), as Tokio's.
///
/// ```
/// let err = genrt::Handle::try_current().unwrap_err();
/// assert!(err.is_missing_context());
/// assert!(!err.is_thread_local_destroyed());
/// assert!(err.to_string().contains("outside a genrt runtime"));
/// ```
#[derive(Debug)]
pub struct TryCurrentError {
    destroyed: bool,
}

impl TryCurrentError {
    /// Whether the thread is in no runtime's context (Tokio's name).
    ///
    /// ```
    /// assert!(genrt::Handle::try_current().unwrap_err().is_missing_context());
    /// ```
    pub fn is_missing_context(&self) -> bool {
        !self.destroyed
    }

    /// Whether the thread's thread-locals, where the context lives, are already destroyed
    /// (the call came from a thread-local's destructor at thread exit).
    ///
    /// ```
    /// assert!(!genrt::Handle::try_current().unwrap_err().is_thread_local_destroyed());
    /// ```
    pub fn is_thread_local_destroyed(&self) -> bool {
        self.destroyed
    }
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.destroyed {
            return f.write_str(
                "genrt::Handle::current() called while this thread's thread-locals are being \
                 destroyed (a thread-local's destructor at thread exit): no runtime is current \
                 any more; pass a Handle along",
            );
        }
        f.write_str(
            "genrt::Handle::current() called outside a genrt runtime: call it from inside a \
             task, Runtime::block_on or an enter guard, or pass a Handle along",
        )
    }
}

impl std::error::Error for TryCurrentError {}

// A panic caught around code that uses a Handle cannot leave it broken: its state is
// behind atomics and locks, each left consistent by every operation (as Tokio declares).
impl std::panic::UnwindSafe for Handle {}
impl std::panic::RefUnwindSafe for Handle {}
