//! [`JoinSet`]: a group of tasks whose results are taken in completion order.
//!
//! # The ready list
//!
//! `join_next` costs O(1) per completed task: it never scans the set. The members live in a
//! slab (`slots`, a `Vec` with a free list of vacant indices), and the set shares one
//! [`ReadyList`] with the members' cells: a `Mutex<VecDeque<usize>>` of slot indices that may
//! be ready, plus the waker of whoever last awaited the set.
//!
//! Each slot index `i` has one waker for life, `wakers[i]`, an [`EntryWaker`] whose wake
//! pushes `i` onto the ready list and wakes the set's waker. A member's join handle is only
//! ever polled with its slot's waker, so the task cell stores `wakers[i]`, and the cell's
//! completion wakes it. The entry waker holds the ready list, never a task or the set: it is
//! not an owning path back to anything that could keep a task alive.
//!
//! Protocol:
//! 1. Spawn: the task is spawned, its join handle goes into a vacant slot `i`, and `wakers[i]`
//!    is registered in its cell at once (without polling the handle), so that its completion
//!    pushes `i` (step 3) and results come out in completion order, as Tokio's do. If the task
//!    has already finished, nothing is registered: `i` is pushed and the set's waker, if one
//!    is stored, taken and woken, as in step 3 (a set shared behind a lock can get a member
//!    while another task waits in `poll_join_next`). No allocation but the task's own once
//!    `wakers[i]` exists.
//! 2. Join (`poll_join_next`): pop an index; a vacant slot's index is stale and skipped. Poll
//!    that slot's handle with `wakers[i]`: `Ready` takes the result and frees the slot;
//!    `Pending` (a spurious entry) has now registered `wakers[i]` in the cell, so the member is
//!    accounted for again, and the next index is popped. When the list is empty the caller's
//!    waker is stored under the same lock and the poll returns `Pending` (or `None` when the
//!    set is empty).
//! 3. Completion: the cell records the result and takes its registered waker under its own
//!    lock, then wakes it: `i` is pushed and the set's waker taken and woken, under the ready
//!    list's lock.
//!
//! **Invariant:** every member is at all times on the ready list, or its cell holds
//! `wakers[i]`. Step 1 registers it or puts it on the list; a pop either returns its result
//! or registers (step 2); the cell's registration and its completion are ordered by the
//! cell's lock, so a completion after a registration wakes `wakers[i]` and pushes `i`. Hence
//! no completion is lost, and as the set's waker is stored and taken under the ready list's
//! lock, no wake-up of the set is lost either.
//!
//! Stale and duplicate indices are harmless: a vacant slot is skipped, and polling a pending
//! member again only re-registers the same waker (`will_wake`, no clone). Each push answers one
//! registration, so the list holds at most about twice as many indices as spawns and pops
//! made. A spurious wake of the set just polls an empty list again, and a set moved between
//! tasks stores the latest poller's waker.
//!
//! Dropping the set aborts every member and drops the join handles, which takes the entry
//! wakers back out of the cells: the ready list is freed with the set.

use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
// `std::task::Wake` needs std's `Arc`; the set is not modelled under loom.
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::handle::Handle;
use crate::loom::sync::Mutex;
use crate::task::abort::AbortHandle;
use crate::task::cell;
use crate::task::id::Id;
use crate::task::join::{JoinError, JoinHandle};

/// A set of tasks on genrt runtimes, joined in the order they complete.
///
/// Spawn into it with [`spawn`](JoinSet::spawn) or [`spawn_on`](JoinSet::spawn_on), take
/// results with [`join_next`](JoinSet::join_next) as they come in. Each finished task costs
/// `join_next` O(1): the set keeps a ready list fed by the tasks' completions instead of
/// scanning its members (see the module source for the design).
///
/// Dropping the set aborts every task still in it.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let sum = rt.block_on(async {
///     let mut set = genrt::JoinSet::new();
///     for i in 0..10u32 {
///         set.spawn(async move { i });
///     }
///     let mut sum = 0;
///     while let Some(result) = set.join_next().await {
///         sum += result.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 45);
/// ```
pub struct JoinSet<T> {
    /// The members; `None` for a vacant slot, whose index is on `free`.
    slots: Vec<Option<JoinHandle<T>>>,
    /// Vacant indices of `slots`, reused last-in first-out.
    free: Vec<usize>,
    /// `wakers[i]` pushes `i` onto `ready`; kept for the set's life, so a reused slot
    /// allocates nothing.
    wakers: Vec<Waker>,
    /// How many slots are occupied.
    len: usize,
    ready: Arc<ReadyList>,
}

impl<T> JoinSet<T> {
    /// An empty set.
    ///
    /// ```
    /// let set = genrt::JoinSet::<u32>::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> JoinSet<T> {
        JoinSet {
            slots: Vec::new(),
            free: Vec::new(),
            wakers: Vec::new(),
            len: 0,
            ready: Arc::new(ReadyList {
                state: Mutex::new(ReadyState {
                    indices: VecDeque::new(),
                    waker: None,
                }),
            }),
        }
    }

    /// How many tasks are in the set: spawned and not yet joined, finished or not.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let mut set = genrt::JoinSet::new();
    /// set.spawn_on(async {}, rt.handle());
    /// assert_eq!(set.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set has no tasks.
    ///
    /// ```
    /// let set = genrt::JoinSet::<()>::default();
    /// assert!(set.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Waits for one of the tasks to finish and returns its result: tasks come out in the
    /// order they complete. `None` once the set is empty.
    ///
    /// Cancel-safe: dropping the returned future before it completes loses no result.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut set = genrt::JoinSet::new();
    ///     set.spawn(async { "done" });
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), "done");
    ///     assert!(set.join_next().await.is_none());
    /// });
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// [`join_next`](JoinSet::join_next), with the [`Id`] of the task that finished (an
    /// error carries it too: [`JoinError::id`]).
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut set = genrt::JoinSet::new();
    ///     let id = set.spawn(async { 5 }).id();
    ///     assert_eq!(set.join_next_with_id().await.unwrap().unwrap(), (id, 5));
    /// });
    /// ```
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// Polls for one finished task: `Ready(Some(result))`, `Ready(None)` if the set is empty,
    /// or `Pending`, in which case `cx`'s waker is woken when a task finishes. The waker of
    /// the latest call is the one woken.
    ///
    /// ```
    /// use std::task::Poll;
    /// let rt = genrt::Runtime::new().unwrap();
    /// let mut set = genrt::JoinSet::<u8>::new();
    /// let first = rt.block_on(std::future::poll_fn(|cx| match set.poll_join_next(cx) {
    ///     Poll::Ready(none) => Poll::Ready(none),
    ///     Poll::Pending => unreachable!("an empty set is ready"),
    /// }));
    /// assert!(first.is_none());
    /// ```
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|next| next.map(|result| result.map(|(_, value)| value)))
    }

    /// [`poll_join_next`](JoinSet::poll_join_next), with the [`Id`] of the task that
    /// finished.
    ///
    /// ```
    /// use std::task::Poll;
    /// let rt = genrt::Runtime::new().unwrap();
    /// let mut set = genrt::JoinSet::<u8>::new();
    /// let first = rt.block_on(std::future::poll_fn(|cx| match set.poll_join_next_with_id(cx) {
    ///     Poll::Ready(none) => Poll::Ready(none),
    ///     Poll::Pending => unreachable!("an empty set is ready"),
    /// }));
    /// assert!(first.is_none());
    /// ```
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        // One unit of the cooperative budget per result (`task::coop`); the handles below
        // are polled without a budget of their own.
        let Poll::Ready(spend) = crate::task::coop::poll_proceed(cx) else {
            return Poll::Pending;
        };
        loop {
            let index = {
                let mut ready = self.ready.state.lock();
                loop {
                    match ready.indices.pop_front() {
                        Some(index) => break index,
                        None if self.len == 0 => return Poll::Ready(None),
                        None => match crate::task::register_waker(
                            || self.ready.state.lock(),
                            ready,
                            cx,
                            |ready| &mut ready.waker,
                            |ready| !ready.indices.is_empty(),
                        ) {
                            None => return Poll::Pending,
                            Some(again) => ready = again,
                        },
                    }
                }
            };
            if let Some(result) = self.poll_slot(index) {
                spend.made_progress();
                return Poll::Ready(Some(result));
            }
        }
    }

    /// Takes the result of a task that has finished, without waiting: `None` if none has
    /// (or the set is empty). A task that finished a moment ago may show up on a later call:
    /// its completion reaches the set just after it is marked finished.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let mut set = genrt::JoinSet::new();
    /// assert!(set.try_join_next().is_none());
    /// set.spawn_on(async { 3 }, rt.handle());
    /// let result = loop {
    ///     if let Some(result) = set.try_join_next() {
    ///         break result;
    ///     }
    ///     std::thread::yield_now();
    /// };
    /// assert_eq!(result.unwrap(), 3);
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id()
            .map(|result| result.map(|(_, value)| value))
    }

    /// [`try_join_next`](JoinSet::try_join_next), with the [`Id`] of the task that finished.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let mut set = genrt::JoinSet::new();
    /// let id = set.spawn_on(async { 3 }, rt.handle()).id();
    /// let result = loop {
    ///     if let Some(result) = set.try_join_next_with_id() {
    ///         break result;
    ///     }
    ///     std::thread::yield_now();
    /// };
    /// assert_eq!(result.unwrap(), (id, 3));
    /// ```
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        loop {
            let index = self.ready.state.lock().indices.pop_front()?;
            if let Some(result) = self.poll_slot(index) {
                return Some(result);
            }
        }
    }

    /// Step 2 of the protocol (module docs): polls slot `index` with its own waker. `Some`
    /// with the result, freeing the slot; `None` for a vacant slot or a pending task, which
    /// has then registered the slot's waker.
    fn poll_slot(&mut self, index: usize) -> Option<Result<(Id, T), JoinError>> {
        let handle = self.slots.get_mut(index)?.as_mut()?;
        let id = handle.id();
        let mut cx = Context::from_waker(&self.wakers[index]);
        match crate::task::coop::without_budget(|| Pin::new(handle).poll(&mut cx)) {
            Poll::Pending => None,
            Poll::Ready(result) => {
                self.slots[index] = None;
                self.free.push(index);
                self.len -= 1;
                Some(result.map(|value| (id, value)))
            }
        }
    }

    /// Aborts every task in the set, as [`AbortHandle::abort`] does. The tasks stay in the
    /// set until joined: their results come out of [`join_next`](JoinSet::join_next), as
    /// cancelled errors unless they finished first.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut set = genrt::JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     set.abort_all();
    ///     assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort_all(&mut self) {
        for handle in self.slots.iter().flatten() {
            handle.abort();
        }
    }

    /// Removes every task from the set without aborting it: the tasks keep running, their
    /// results are dropped when they finish (as when a [`JoinHandle`] is dropped). The set
    /// is empty afterwards and can be reused.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let mut set = genrt::JoinSet::new();
    /// set.spawn_on(async move { tx.send("still ran").unwrap() }, rt.handle());
    /// set.detach_all();
    /// assert!(set.is_empty());
    /// drop(set); // would abort the task, had it not been detached
    /// assert_eq!(rx.recv().unwrap(), "still ran");
    /// ```
    pub fn detach_all(&mut self) {
        for (index, slot) in self.slots.iter_mut().enumerate() {
            // Dropping the handle detaches the task and takes `wakers[index]` back out of
            // its cell, so no later completion pushes `index`; a completion that took the
            // waker just before may still push it once. If the slot is reused meanwhile,
            // that index makes one spurious poll of the new member's handle (`Pending`,
            // step 2), which loses nothing.
            if slot.take().is_some() {
                self.free.push(index);
            }
        }
        self.len = 0;
        // The indices left are all stale now; drop them rather than skip them later.
        self.ready.state.lock().indices.clear();
    }

    /// Aborts every task, then waits until all have finished, dropping their results. The
    /// set is empty afterwards.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut set = genrt::JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     set.shutdown().await;
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their values, in the order they completed.
    ///
    /// # Panics
    ///
    /// If a task panicked, its panic is resumed here; if a task was cancelled, this panics
    /// saying so. Either way the tasks still in the set are aborted (the set is dropped). Use
    /// [`join_next`](JoinSet::join_next) to handle failures one by one.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let mut values = rt.block_on(async {
    ///     let mut set = genrt::JoinSet::new();
    ///     for i in 0..3u32 {
    ///         set.spawn(async move { i * 10 });
    ///     }
    ///     set.join_all().await
    /// });
    /// values.sort();
    /// assert_eq!(values, [0, 10, 20]);
    /// ```
    pub async fn join_all(mut self) -> Vec<T> {
        let mut values = Vec::with_capacity(self.len);
        while let Some(result) = self.join_next().await {
            match result {
                Ok(value) => values.push(value),
                Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                Err(err) => panic!(
                    "genrt::JoinSet::join_all: a task did not finish ({err}); use \
                     JoinSet::join_next to handle cancelled tasks"
                ),
            }
        }
        values
    }

    /// Puts a freshly spawned task's handle into a slot and onto the ready list (step 1).
    pub(crate) fn insert(&mut self, handle: JoinHandle<T>) {
        let index = match self.free.pop() {
            Some(index) => {
                self.slots[index] = Some(handle);
                index
            }
            None => {
                let index = self.slots.len();
                self.slots.push(Some(handle));
                self.wakers.push(Waker::from(Arc::new(EntryWaker {
                    ready: self.ready.clone(),
                    index,
                })));
                index
            }
        };
        self.len += 1;
        // The member's cell gets the slot's waker now, so that its completion queues it:
        // results come out in the order the members complete, also those never polled (as
        // Tokio's, whose insert sets the join waker too). Pushed here only if it has already
        // finished, as an entry waker's push would: that also wakes a poller waiting in
        // `poll_join_next` (the set may be shared behind a lock, so another task can spawn
        // into it while one waits).
        let handle = self.slots[index].as_ref().expect("just inserted");
        if handle.register_waker(&self.wakers[index]) {
            self.wakers[index].wake_by_ref();
        }
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `future` onto the current runtime as a member of the set, and returns an
    /// [`AbortHandle`] for it.
    ///
    /// # Panics
    ///
    /// Outside a task or `block_on` of a genrt runtime, with a message saying so; use
    /// [`JoinSet::spawn_on`] from other threads.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut set = genrt::JoinSet::new();
    ///     let abort = set.spawn(std::future::pending::<()>());
    ///     abort.abort();
    ///     assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        match Handle::try_current() {
            Ok(handle) if cell::is_large::<F>() => self.spawn_on(Box::pin(future), &handle),
            Ok(handle) => self.spawn_on(future, &handle),
            Err(_) => panic!(
                "genrt::JoinSet::spawn called outside a genrt runtime: call it from inside a \
                 task or Runtime::block_on, or use JoinSet::spawn_on with a genrt::Handle"
            ),
        }
    }

    /// Spawns `future` onto the runtime of `handle` as a member of the set, and returns an
    /// [`AbortHandle`] for it. Works from any thread. As with [`Handle::spawn`], a task
    /// spawned onto a runtime that is gone is cancelled at once.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let mut set = genrt::JoinSet::new();
    /// set.spawn_on(async { 1 }, rt.handle());
    /// let one = futures::executor::block_on(set.join_next()).unwrap().unwrap();
    /// assert_eq!(one, 1);
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        let join = handle.spawn(future);
        let abort = join.abort_handle();
        self.insert(join);
        abort
    }

    /// Runs `f` on a blocking thread of the current runtime as a member of the set (see
    /// [`Handle::spawn_blocking`]), and returns an [`AbortHandle`] for it. Aborting it
    /// cancels the closure if it has not started; a running closure runs to completion and
    /// its result is joined as usual, as in Tokio.
    ///
    /// # Panics
    ///
    /// Outside a task, `block_on` or blocking closure of a genrt runtime, with a message
    /// saying so; use [`JoinSet::spawn_blocking_on`] from other threads.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let total = rt.block_on(async {
    ///     let mut set = genrt::JoinSet::new();
    ///     for i in 0..4u64 {
    ///         set.spawn_blocking(move || i * 10);
    ///     }
    ///     let mut total = 0;
    ///     while let Some(result) = set.join_next().await {
    ///         total += result.unwrap();
    ///     }
    ///     total
    /// });
    /// assert_eq!(total, 60);
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        match Handle::try_current() {
            Ok(handle) if cell::is_large::<F>() => self.spawn_blocking_on(Box::new(f), &handle),
            Ok(handle) => self.spawn_blocking_on(f, &handle),
            Err(_) => panic!(
                "genrt::JoinSet::spawn_blocking called outside a genrt runtime: call it from \
                 inside a task or Runtime::block_on, or use JoinSet::spawn_blocking_on with a \
                 genrt::Handle"
            ),
        }
    }

    /// Runs `f` on a blocking thread of `handle`'s runtime as a member of the set, and
    /// returns an [`AbortHandle`] for it; see [`JoinSet::spawn_blocking`]. Works from any
    /// thread.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let mut set = genrt::JoinSet::new();
    /// set.spawn_blocking_on(|| "blocking", rt.handle());
    /// let out = futures::executor::block_on(set.join_next()).unwrap().unwrap();
    /// assert_eq!(out, "blocking");
    /// ```
    #[track_caller]
    pub fn spawn_blocking_on<F>(&mut self, f: F, handle: &Handle) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let (join, abort) = if cell::is_large::<F>() {
            handle.spawn_blocking_abortable(Box::new(f))
        } else {
            handle.spawn_blocking_abortable(f)
        };
        self.insert(join);
        abort
    }
}

/// Spawns each future onto the current runtime, as [`JoinSet::spawn`] does.
///
/// # Panics
///
/// Outside a task or `block_on` of a genrt runtime (when the iterator is not empty).
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let mut values = rt.block_on(async {
///     let set: genrt::JoinSet<u32> = (0..3).map(|i| async move { i * 2 }).collect();
///     set.join_all().await
/// });
/// values.sort();
/// assert_eq!(values, [0, 2, 4]);
/// ```
impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn from_iter<I: IntoIterator<Item = F>>(futures: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        set.extend(futures);
        set
    }
}

/// Spawns each future onto the current runtime, as [`JoinSet::spawn`] does.
///
/// # Panics
///
/// Outside a task or `block_on` of a genrt runtime (when the iterator is not empty).
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut set = genrt::JoinSet::new();
///     set.spawn(async { 1 });
///     set.extend((2..4).map(|i| async move { i }));
///     assert_eq!(set.len(), 3);
/// });
/// ```
impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn extend<I: IntoIterator<Item = F>>(&mut self, futures: I) {
        for future in futures {
            self.spawn(future);
        }
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
        // The join handles drop with `slots` and detach, taking the entry wakers back out of
        // the cells.
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}

// A panic caught around code that uses a JoinSet cannot leave it broken, as Tokio's (whose
// set is unwind-safe by its fields): every method that panics (a spawn outside a runtime)
// does so before it touches the set, the members' handles are unwind-safe (`join.rs`), and
// the ready list is behind a lock that no user code runs under.
impl<T> std::panic::UnwindSafe for JoinSet<T> {}
impl<T> std::panic::RefUnwindSafe for JoinSet<T> {}

/// What the set and its members' entry wakers share.
struct ReadyList {
    state: Mutex<ReadyState>,
}

struct ReadyState {
    /// Slot indices whose task may have finished; may hold stale or repeated indices.
    indices: VecDeque<usize>,
    /// The waker of the latest `poll_join_next` that returned `Pending`; taken by the first
    /// push after it.
    waker: Option<Waker>,
}

/// The waker a member's join handle is polled with: step 3 of the protocol.
struct EntryWaker {
    ready: Arc<ReadyList>,
    index: usize,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waker = {
            let mut state = self.ready.state.lock();
            state.indices.push_back(self.index);
            state.waker.take()
        };
        // Woken outside the lock: the set's task may be polled on this very thread.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}
