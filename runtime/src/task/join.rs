//! [`JoinHandle`] and [`JoinError`].

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use genrt_scheduler::TaskKey;

use crate::loom::sync::{Arc, Mutex};
use crate::loom::unsize_arc;
use crate::task::abort::{self, Abort, AbortHandle};
use crate::task::id::Id;

/// The join handle's view of a task cell.
pub(crate) trait Join<T>: Abort {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, Failure>>;
    fn detach(&self);
    /// Stores `waker` as the one the task's completion wakes, unless the task has finished;
    /// returns whether it has (then nothing is stored).
    fn register_waker(&self, waker: &std::task::Waker) -> bool;
}

/// An owned permission to await a spawned task's result.
///
/// A `JoinHandle<T>` is a future of `Result<T, JoinError>`. Dropping it detaches the task,
/// which keeps running; its result is then dropped when it finishes. It is `Unpin`, and
/// `Send` and `Sync` when `T` is `Send` (as Tokio's).
///
/// The handle keeps the task's cell (its result slot) allocated, never the runtime: after the
/// runtime is dropped, the handle of an unfinished task resolves to a cancelled
/// [`JoinError`].
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let handle: genrt::JoinHandle<u32> = rt.spawn(async { 6 * 7 });
/// assert_eq!(rt.block_on(handle).unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    cell: Arc<dyn Join<T>>,
    key: Option<TaskKey>,
    /// Makes the handle `Send` and `Sync` exactly when `T: Send`, as Tokio's is: the handle
    /// hands the output over (so it must be `Send` to move threads), and no `&self` method
    /// gives access to a `&T`. `dyn Join<T>` alone would be both for every `T`. (The box
    /// keeps it `Unpin` for every `T`.)
    _output: PhantomData<std::sync::Mutex<Box<T>>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(cell: Arc<dyn Join<T>>) -> JoinHandle<T> {
        JoinHandle {
            cell,
            key: None,
            _output: PhantomData,
        }
    }

    pub(crate) fn set_key(&mut self, key: Option<TaskKey>) {
        self.key = key;
    }

    /// Stores `waker` as the one the task's completion wakes (as a poll would, without taking
    /// the result), unless the task has finished: returns whether it has, and then stores
    /// nothing. What a `JoinSet` does to each member it takes in.
    pub(crate) fn register_waker(&self, waker: &std::task::Waker) -> bool {
        self.cell.register_waker(waker)
    }

    /// Cancels the task. Its future is dropped the next time a worker would poll it (at once
    /// if it is idle; on a current-thread runtime, when a `block_on` or `settle` next drives
    /// it), and the handle resolves to a [`JoinError`] with
    /// [`is_cancelled`](JoinError::is_cancelled), unless the task finished first.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// handle.abort();
    /// assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn abort(&self) {
        abort::abort(&*self.cell, self.key);
    }

    /// An [`AbortHandle`] for this task: cancels it like [`JoinHandle::abort`], from any
    /// thread, without the right to its result. Detaching (dropping) the join handle does not
    /// affect it.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let join = rt.spawn(std::future::pending::<()>());
    /// let abort = join.abort_handle();
    /// assert!(!abort.is_finished());
    /// abort.abort();
    /// assert!(rt.block_on(join).unwrap_err().is_cancelled());
    /// assert!(abort.is_finished());
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        // The same cell seen as `dyn Abort` (its supertrait): no allocation, no bound on `T`.
        AbortHandle::new(unsize_arc!(self.cell.clone() => dyn Abort), self.key)
    }

    /// The task's [`Id`]: the value [`genrt::task::id`](crate::task::id) returns inside it,
    /// and [`JoinError::id`] of its error. Never reused in the process.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let (a, b) = (rt.spawn(async {}), rt.spawn(async {}));
    /// assert_ne!(a.id(), b.id());
    /// let id = a.id();
    /// assert_eq!(a.abort_handle().id(), id);
    /// ```
    pub fn id(&self) -> Id {
        self.cell.id()
    }

    /// Whether the task has finished: completed, panicked or been cancelled.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let handle = rt.spawn(async {});
    /// while !handle.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.cell.is_finished()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // One unit of the cooperative budget per join (`task::coop`).
        let Poll::Ready(spend) = crate::task::coop::poll_proceed(cx) else {
            return Poll::Pending;
        };
        let poll = self
            .cell
            .poll_join(cx)
            .map(|result| result.map_err(|failure| failure.of_task(self.id())));
        if poll.is_ready() {
            spend.made_progress();
        }
        poll
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.cell.detach();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("key", &self.key)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task did not produce its value: it was cancelled, or it panicked.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let err = rt.block_on(rt.spawn(async { panic!("boom") })).unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
/// ```
pub struct JoinError {
    repr: Repr,
    id: Id,
}

/// A task's error as its cell stores it: a [`JoinError`] without the task's id, which the
/// join handle adds (the cell's result slot stays one word wider than the output, not two).
pub(crate) struct Failure {
    repr: Repr,
}

enum Repr {
    Cancelled,
    // The mutex makes the payload `Sync`, so `JoinError` can travel in `io::Error`; the box
    // keeps `Failure` one word, which every task cell's result slot pays for.
    Panic(Box<Mutex<Box<dyn Any + Send + 'static>>>),
}

impl Failure {
    pub(crate) fn cancelled() -> Failure {
        Failure {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> Failure {
        Failure {
            repr: Repr::Panic(Box::new(Mutex::new(payload))),
        }
    }

    /// The error of task `id`.
    pub(crate) fn of_task(self, id: Id) -> JoinError {
        JoinError {
            repr: self.repr,
            id,
        }
    }
}

impl JoinError {
    /// The [`Id`] of the task that failed.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let handle = rt.spawn(async { panic!("boom") });
    /// let id = handle.id();
    /// assert_eq!(rt.block_on(handle).unwrap_err().id(), id);
    /// ```
    pub fn id(&self) -> Id {
        self.id
    }

    /// The task was cancelled: aborted, or its runtime shut down before it finished.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// drop(rt);
    /// let err = futures::executor::block_on(handle).unwrap_err();
    /// assert!(err.is_cancelled() && !err.is_panic());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let err = rt.block_on(rt.spawn(async { panic!("oops") })).unwrap_err();
    /// assert!(err.is_panic() && !err.is_cancelled());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, to resume it with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the task was cancelled rather than panicked; see [`JoinError::try_into_panic`].
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let err = rt.block_on(rt.spawn(async { std::panic::panic_any(7u32) })).unwrap_err();
    /// assert_eq!(err.into_panic().downcast_ref::<u32>(), Some(&7));
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        // Tokio's words first, so that a test written for Tokio's panic matches.
        self.try_into_panic().expect(
            "`JoinError` reason is not a panic. (genrt: JoinError::into_panic called on a \
             cancelled task's error; check is_panic() first)",
        )
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// handle.abort();
    /// let err = rt.block_on(handle).unwrap_err();
    /// assert!(err.try_into_panic().unwrap_err().is_cancelled());
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload.into_inner()),
            Repr::Cancelled => Err(self),
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Panic(payload) => match panic_message(&**payload.lock()) {
                Some(message) => write!(f, "task {} panicked with message {message:?}", self.id),
                None => write!(f, "task {} panicked", self.id),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({:?})", self.id),
            Repr::Panic(payload) => match panic_message(&**payload.lock()) {
                // Tokio's exact format, which its tests match on.
                Some(message) => write!(f, "JoinError::Panic({:?}, {message:?}, ...)", self.id),
                None => write!(f, "JoinError::Panic({:?}, ...)", self.id),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err)
    }
}

// A panic caught around code that uses a JoinHandle cannot leave it broken: its state is
// behind atomics and locks, each left consistent by every operation (as Tokio declares).
impl<T> std::panic::UnwindSafe for JoinHandle<T> {}
impl<T> std::panic::RefUnwindSafe for JoinHandle<T> {}
