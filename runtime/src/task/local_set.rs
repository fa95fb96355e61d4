//! [`LocalSet`] and [`spawn_local`]: tasks that are not `Send`, run on the thread that
//! drives their set, as Tokio's.
//!
//! A set is a [`LocalScheduler`] of `genrt-scheduler`: its tasks' wakers are key wakers like
//! any genrt task's (they own nothing, any thread may wake them, and once the task finished or
//! the set is dropped they are no-ops that keep nothing alive), and its tasks are polled only
//! by the future that drives the set: [`LocalSet::run_until`], [`LocalSet::block_on`], or the
//! set itself awaited. A task of a set is a [`TaskCell`] like any other (the same join and
//! abort handles, task ids, task-locals), which the set alone polls.
//!
//! This module's `unsafe` is the `Send`/`Sync` of [`LocalCell`]: see there.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::marker::PhantomData;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};

use genrt_scheduler::local::{LocalScheduler, LocalTask};

use crate::loom::sync::Arc;
use crate::loom::unsize_arc;
use crate::task::abort::Abort;
use crate::task::cell::{self, TaskCell};
use crate::task::id::Id;
use crate::task::join::{Failure, Join, JoinHandle};

/// Tasks polled per turn of a set before it lets the future driving it yield (Tokio's
/// `MAX_TASKS_PER_TICK`), so that a busy set does not starve the runtime's other work.
const TASKS_PER_TICK: usize = 61;

/// A set of tasks that are not `Send`, all run on the thread that drives the set: its
/// [`run_until`](LocalSet::run_until) future, [`block_on`](LocalSet::block_on), or the set
/// awaited as a future (which completes once every task in it has). Tokio's `LocalSet`.
///
/// Inside the set (its driving future, its tasks, or an [`enter`](LocalSet::enter) guard),
/// [`spawn_local`] adds tasks to it. A task's [`JoinHandle`] and
/// [`AbortHandle`](crate::AbortHandle) work as a spawned task's: the join handle is `Send` when the output
/// is, and can be awaited anywhere. Dropping the set drops every task left in it, on its
/// thread; their join handles then report cancelled, and their wakers keep nothing alive.
/// [`block_in_place`](crate::task::block_in_place) panics inside a set being driven or
/// dropped, as Tokio's: the set's other tasks cannot move to another thread meanwhile.
///
/// ```
/// use std::rc::Rc;
/// use genrt::task::{self, LocalSet};
///
/// let rt = genrt::Builder::new_current_thread().build().unwrap();
/// let local = LocalSet::new();
/// let shared = Rc::new(41); // not Send
/// let answer = local.block_on(&rt, async move {
///     let task = task::spawn_local(async move { *shared + 1 });
///     task.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub struct LocalSet {
    inner: Rc<Inner>,
}

struct Inner {
    scheduler: LocalScheduler,
    /// [`LocalSet::id`].
    id: crate::runtime::Id,
}

std::thread_local! {
    /// The set this thread is inside (its driving future, a task of it, an `enter` guard).
    static CURRENT: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
}

std::thread_local! {
    /// How many sets this thread is driving or closing right now (their `run_until` future
    /// or the set awaited, being polled; a set being dropped): where `block_in_place` is
    /// refused, as in Tokio, since the set's other tasks cannot move to another thread.
    static DRIVING: Cell<usize> = const { Cell::new(0) };
}

/// Whether this thread is inside a set's drive or close right now (see `DRIVING`): its
/// driving future, one of its tasks, or a task's drop as the set closes. An
/// [`enter`](LocalSet::enter) guard alone does not count: nothing of the set runs there.
pub(crate) fn driving() -> bool {
    DRIVING.try_with(Cell::get).unwrap_or(0) > 0
}

/// Counts the thread as driving a set (`DRIVING`) until dropped.
struct Driving {
    /// `!Send`: the guard must be dropped on the thread it counted.
    _thread: PhantomData<Rc<()>>,
}

impl Driving {
    fn new() -> Driving {
        // `try_with`: a set may be dropped while thread-locals are being destroyed; it is
        // then not counted, and nothing of it is refused.
        let _ = DRIVING.try_with(|driving| driving.set(driving.get() + 1));
        Driving {
            _thread: PhantomData,
        }
    }
}

impl Drop for Driving {
    fn drop(&mut self) {
        let _ = DRIVING.try_with(|driving| driving.set(driving.get().saturating_sub(1)));
    }
}

/// Makes `inner` the thread's current set until dropped, then puts back the one before.
struct Entered {
    previous: Option<Rc<Inner>>,
    /// `!Send`: the guard must be dropped on the thread it entered.
    _thread: PhantomData<Rc<()>>,
}

fn enter(inner: &Rc<Inner>) -> Entered {
    try_enter(inner).expect(
        "genrt: a LocalSet was driven or entered while this thread's thread-locals are being \
         destroyed",
    )
}

/// [`enter`], or `None` once the thread-local is destroyed (a set dropped by another
/// thread-local's destructor at thread exit).
fn try_enter(inner: &Rc<Inner>) -> Option<Entered> {
    let previous = CURRENT
        .try_with(|current| current.borrow_mut().replace(inner.clone()))
        .ok()?;
    Some(Entered {
        previous,
        _thread: PhantomData,
    })
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: the guard may be dropped while thread-locals are being destroyed.
        let left = CURRENT
            .try_with(|current| std::mem::replace(&mut *current.borrow_mut(), previous))
            .ok()
            .flatten();
        drop(left);
    }
}

impl Inner {
    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let cell = Arc::new(LocalCell(TaskCell::new(future)));
        let task: Rc<dyn LocalTask> = Rc::new(LocalRef(cell.clone()));
        let key = self.scheduler.spawn(task);
        let mut join = JoinHandle::new(unsize_arc!(cell => dyn Join<F::Output>));
        join.set_key(key);
        join
    }

    /// One turn: polls up to [`TASKS_PER_TICK`] scheduled tasks. Returns whether tasks are
    /// still queued (the caller wakes itself).
    fn tick(&self, cx: &Context<'_>) -> bool {
        self.scheduler.tick(cx, TASKS_PER_TICK)
    }
}

impl LocalSet {
    /// An empty set.
    ///
    /// # Panics
    ///
    /// If as many genrt runtimes and sets are alive in this process as the waker registry
    /// has entries (1,024): a set takes one, as a runtime does.
    ///
    /// ```
    /// let local = genrt::task::LocalSet::new();
    /// drop(local);
    /// ```
    #[track_caller]
    pub fn new() -> LocalSet {
        match LocalScheduler::new() {
            Ok(scheduler) => LocalSet {
                inner: Rc::new(Inner {
                    scheduler,
                    id: crate::runtime::Id::next(),
                }),
            },
            Err(e) => panic!("genrt: cannot create a LocalSet: {e}"),
        }
    }

    /// Adds a task to the set; it runs when the set is driven (as Tokio's, it does not run
    /// before). Callable outside the set too, unlike [`spawn_local`].
    ///
    /// ```
    /// let rt = genrt::Builder::new_current_thread().build().unwrap();
    /// let local = genrt::task::LocalSet::new();
    /// let task = local.spawn_local(async { std::rc::Rc::new(5) });
    /// let five = local.block_on(&rt, task).unwrap();
    /// assert_eq!(*five, 5);
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if cell::is_large::<F>() {
            self.inner.spawn(Box::pin(future))
        } else {
            self.inner.spawn(future)
        }
    }

    /// Runs `future` to completion on this thread inside `rt` (as
    /// [`Runtime::block_on`](crate::Runtime::block_on)), driving the set's tasks meanwhile:
    /// [`LocalSet::run_until`] under `rt.block_on`.
    ///
    /// # Panics
    ///
    /// Where [`Runtime::block_on`](crate::Runtime::block_on) panics: on a worker thread, or
    /// inside another `block_on`.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let local = genrt::task::LocalSet::new();
    /// let thread = local.block_on(&rt, async {
    ///     genrt::task::spawn_local(async { std::thread::current().id() }).await.unwrap()
    /// });
    /// assert_eq!(thread, std::thread::current().id(), "local tasks run on this thread");
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, rt: &crate::Runtime, future: F) -> F::Output {
        rt.block_on(self.run_until(future))
    }

    /// Runs `future` inside the set, driving the set's tasks between its polls, until
    /// `future` completes; tasks still unfinished then stay in the set. Each turn polls
    /// `future` first, then up to 61 of the set's scheduled tasks, and yields to whatever
    /// drives it if more are queued.
    ///
    /// ```
    /// let rt = genrt::Builder::new_current_thread().build().unwrap();
    /// let local = genrt::task::LocalSet::new();
    /// let sum = rt.block_on(local.run_until(async {
    ///     let tasks: Vec<_> = (1..=4u32)
    ///         .map(|i| genrt::task::spawn_local(async move { i }))
    ///         .collect();
    ///     let mut sum = 0;
    ///     for task in tasks {
    ///         sum += task.await.unwrap();
    ///     }
    ///     sum
    /// }));
    /// assert_eq!(sum, 10);
    /// ```
    pub async fn run_until<F: Future>(&self, future: F) -> F::Output {
        let mut future = pin!(future);
        poll_fn(|cx| {
            let _entered = enter(&self.inner);
            let _driving = Driving::new();
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(output);
            }
            if self.inner.tick(cx) {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        })
        .await
    }

    /// Makes this the thread's current set until the guard is dropped, so that
    /// [`spawn_local`] adds tasks to it (they run when the set is driven).
    ///
    /// ```
    /// let rt = genrt::Builder::new_current_thread().build().unwrap();
    /// let local = genrt::task::LocalSet::new();
    /// let task = {
    ///     let _guard = local.enter();
    ///     genrt::task::spawn_local(async { "ran" })
    /// };
    /// assert_eq!(local.block_on(&rt, task).unwrap(), "ran");
    /// ```
    pub fn enter(&self) -> LocalEnterGuard {
        LocalEnterGuard {
            _entered: enter(&self.inner),
        }
    }

    /// The set's id (Tokio's `LocalSet::id`): a [`runtime::Id`](crate::runtime::Id) drawn
    /// from the runtimes' ids, so no other set and no runtime of the process has it, also
    /// one made after this set is gone.
    ///
    /// ```
    /// let (a, b) = (genrt::task::LocalSet::new(), genrt::task::LocalSet::new());
    /// assert_ne!(a.id(), b.id());
    /// let rt = genrt::Builder::new_current_thread().build().unwrap();
    /// assert_ne!(a.id(), rt.handle().id());
    /// println!("local set {}", a.id());
    /// ```
    pub fn id(&self) -> crate::runtime::Id {
        self.inner.id
    }

    /// Tasks in the set that have not finished.
    fn live_tasks(&self) -> usize {
        self.inner.scheduler.live_tasks()
    }
}

/// Awaiting a set drives its tasks until every one of them has finished (also those they
/// spawn).
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// let rt = genrt::Builder::new_current_thread().build().unwrap();
/// let local = genrt::task::LocalSet::new();
/// let count = Rc::new(Cell::new(0));
/// for _ in 0..3 {
///     let count = count.clone();
///     local.spawn_local(async move {
///         genrt::task::yield_now().await;
///         count.set(count.get() + 1);
///     });
/// }
/// rt.block_on(local);
/// assert_eq!(count.get(), 3);
/// ```
impl Future for LocalSet {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let _entered = enter(&self.inner);
        let _driving = Driving::new();
        if self.inner.tick(cx) {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else if self.live_tasks() == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Default for LocalSet {
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet")
            .field("live_tasks", &self.live_tasks())
            .finish()
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        // Inside the set, so that a future's `Drop` that spawns a local task finds it (the
        // task is cancelled at once: the set is closing); not when the set is dropped by a
        // thread-local's destructor after `CURRENT`'s (a set kept in a thread-local), where
        // such a spawn then panics as outside any set, caught by the close.
        let _entered = try_enter(&self.inner);
        let _driving = Driving::new();
        self.inner.scheduler.close();
    }
}

/// The guard of [`LocalSet::enter`]: the set stays the thread's current one until it is
/// dropped (on the same thread: it is not `Send`).
///
/// ```
/// let local = genrt::task::LocalSet::new();
/// let guard = local.enter();
/// // Outside `block_on`, but inside the set: the task is queued on it.
/// let handle = genrt::task::spawn_local(async { 5 });
/// drop(guard);
/// let rt = genrt::Builder::new_current_thread().build().unwrap();
/// assert_eq!(local.block_on(&rt, handle).unwrap(), 5);
/// ```
pub struct LocalEnterGuard {
    _entered: Entered,
}

impl fmt::Debug for LocalEnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEnterGuard").finish_non_exhaustive()
    }
}

/// Spawns a task that need not be `Send` onto the thread's current [`LocalSet`]; it runs on
/// this thread when the set is driven. Tokio's `task::spawn_local`.
///
/// # Panics
///
/// Outside a [`LocalSet`] (its driving future, one of its tasks, or an
/// [`enter`](LocalSet::enter) guard), as Tokio's.
///
/// ```
/// use std::rc::Rc;
///
/// let rt = genrt::Builder::new_current_thread().build().unwrap();
/// let local = genrt::task::LocalSet::new();
/// local.block_on(&rt, async {
///     let not_send = Rc::new("here");
///     let task = genrt::task::spawn_local(async move { *not_send });
///     assert_eq!(task.await.unwrap(), "here");
/// });
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let current = CURRENT
        .try_with(|current| current.borrow().clone())
        .ok()
        .flatten();
    match current {
        Some(inner) if cell::is_large::<F>() => inner.spawn(Box::pin(future)),
        Some(inner) => inner.spawn(future),
        None => panic!(
            "`spawn_local` called from outside of a `task::LocalSet`: call it inside \
             LocalSet::run_until, LocalSet::block_on, a task of the set, or a LocalSet::enter \
             guard (genrt::task::spawn_local)"
        ),
    }
}

/// A set's task cell: a [`TaskCell`] whose future (and output) need not be `Send`.
struct LocalCell<F: Future>(TaskCell<F>);

// SAFETY: what is not `Send` in the cell is its future and its output; both stay on the
// set's thread:
// - the future is touched only by `LocalRef::poll` and `LocalRef::shutdown`, which only the
//   set's `LocalScheduler` calls, on its thread (it is neither `Send` nor `Sync`), and it is
//   dropped there (when the task finishes, is cancelled, or the set closes). The scheduler
//   holds its `LocalRef` (an `Arc` of the cell) until the future is gone, so a last `Arc`
//   dropped elsewhere (a join or abort handle) drops a cell without a future; a set that is
//   leaked leaks its cells with their futures, and drops nothing anywhere;
// - the output is stored on the set's thread, and taken or dropped by the join handle,
//   which is `Send` only when the output is (`JoinHandle`'s `PhantomData`): an output that
//   is not `Send` is read or dropped on the thread that spawned the task, the set's. An
//   output nobody wants is dropped when the task finishes, on the set's thread;
// - the rest (the id and abort word, the join lock, the join waker) is `Send + Sync` as in
//   any cell; an `AbortHandle` (always `Send`) touches only that.
unsafe impl<F: Future> Send for LocalCell<F> {}
// SAFETY: as for `Send`: no `&LocalCell` method used off the set's thread reaches the future
// or an output that is not `Send`.
unsafe impl<F: Future> Sync for LocalCell<F> {}

impl<F> Abort for LocalCell<F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn request_abort(&self) {
        self.0.set_abort();
    }

    fn is_finished(&self) -> bool {
        self.0.finished()
    }

    fn id(&self) -> Id {
        self.0.id()
    }
}

impl<F> Join<F::Output> for LocalCell<F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, Failure>> {
        self.0.poll_result(cx)
    }

    fn detach(&self) {
        self.0.detach_handle();
    }

    fn register_waker(&self, waker: &std::task::Waker) -> bool {
        self.0.register_join_waker(waker)
    }
}

/// The set's hold on a task: what its `LocalScheduler` polls.
struct LocalRef<F: Future>(Arc<LocalCell<F>>);

impl<F> LocalTask for LocalRef<F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: only the set's scheduler calls this, on its thread, one call at a time,
        // never after `Ready` or `shutdown` (`LocalTask`'s contract): exclusive access to
        // the future. No panic policy: a local task's panic is reported through its join
        // handle only.
        unsafe { self.0 .0.poll_future(cx, false) }
    }

    fn shutdown(&self) {
        // SAFETY: as in `poll`.
        unsafe { self.0 .0.shutdown_future() }
    }
}

impl<T: 'static> crate::JoinSet<T> {
    /// Spawns `future`, which need not be `Send`, onto the thread's current [`LocalSet`] as
    /// a member of the set (Tokio's `JoinSet::spawn_local`), and returns an
    /// [`AbortHandle`](crate::AbortHandle) for it.
    ///
    /// # Panics
    ///
    /// Outside a [`LocalSet`], as [`spawn_local`].
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let rt = genrt::Builder::new_current_thread().build().unwrap();
    /// let local = genrt::task::LocalSet::new();
    /// let sum = local.block_on(&rt, async {
    ///     let mut set = genrt::JoinSet::new();
    ///     for i in 1..=3u32 {
    ///         let not_send = Rc::new(i);
    ///         set.spawn_local(async move { *not_send });
    ///     }
    ///     let mut sum = 0;
    ///     while let Some(joined) = set.join_next().await {
    ///         sum += joined.unwrap();
    ///     }
    ///     sum
    /// });
    /// assert_eq!(sum, 6);
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> crate::AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let join = spawn_local(future);
        let abort = join.abort_handle();
        self.insert(join);
        abort
    }

    /// Spawns `future` onto `local_set` as a member of the set (Tokio's
    /// `JoinSet::spawn_local_on`); it runs when `local_set` is driven.
    ///
    /// ```
    /// let rt = genrt::Builder::new_current_thread().build().unwrap();
    /// let local = genrt::task::LocalSet::new();
    /// let mut set = genrt::JoinSet::new();
    /// set.spawn_local_on(async { std::rc::Rc::new(7) }, &local);
    /// let seven = local.block_on(&rt, set.join_next()).unwrap().unwrap();
    /// assert_eq!(*seven, 7);
    /// ```
    pub fn spawn_local_on<F>(&mut self, future: F, local_set: &LocalSet) -> crate::AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let join = local_set.spawn_local(future);
        let abort = join.abort_handle();
        self.insert(join);
        abort
    }
}

/// Small enough for miri (`cargo +nightly miri test -p genrt --lib local_set`): the paths of
/// `LocalCell`'s `Send` argument, with other threads aborting, joining and dropping handles
/// of a set's tasks, and the set dropped with a task left. No real-time bound: every wait
/// ends by a message or a join.
#[cfg(all(test, not(loom)))]
mod tests {
    use std::rc::Rc;

    use super::*;

    #[test]
    fn handles_of_local_tasks_cross_threads() {
        let rt = crate::Builder::new_current_thread().build().unwrap();
        let local = LocalSet::new();
        // A task whose output is `Send`: its join handle is awaited on another thread.
        let not_send = Rc::new(5u32);
        let sendable = local.spawn_local(async move { *not_send + 1 });
        // A task whose future holds something not `Send`, aborted from another thread.
        let pending = local.spawn_local({
            let not_send = Rc::new(());
            async move {
                let _keep = not_send;
                std::future::pending::<()>().await;
            }
        });
        let abort = pending.abort_handle();
        std::thread::spawn(move || abort.abort()).join().unwrap();
        let cancelled = local.block_on(&rt, pending).unwrap_err();
        assert!(cancelled.is_cancelled());
        // One left pending when the set is dropped, its handle dropped on another thread.
        let left = local.spawn_local({
            let not_send = Rc::new(());
            async move {
                let _keep = not_send;
                std::future::pending::<()>().await;
            }
        });
        local.block_on(&rt, crate::task::yield_now());
        drop(local);
        std::thread::spawn(move || drop(left)).join().unwrap();
        // The `Send` output, joined on another thread after the set is gone.
        let rt2 = crate::Builder::new_current_thread().build().unwrap();
        let six = std::thread::spawn(move || rt2.block_on(sendable))
            .join()
            .unwrap();
        assert_eq!(six.unwrap(), 6);
    }
}
