//! Cooperative scheduling: a per-poll budget that makes a busy task yield (Tokio's
//! `tokio::task::coop`, same names and the same budget of 128).
//!
//! A task whose awaits are always ready (a join handle of a task that has finished, a
//! timer already due, a stream that always has an item) never returns `Pending` by itself,
//! and keeps its worker from every other task queued behind it. So each poll of a task (and
//! each poll of a `block_on` future) starts with a budget of 128 units; genrt's
//! leaf futures ([`JoinHandle`](crate::JoinHandle), [`JoinSet::join_next`](
//! crate::JoinSet::join_next), [`Sleep`](crate::time::Sleep), [`ShellRequest`](
//! crate::shell::ShellRequest) and [`ShellStream`](crate::shell::ShellStream)'s values (as
//! Tokio's `oneshot` and `mpsc` receivers), [`consume_budget`], [`cooperative`]) spend one
//! unit each time they complete, and once the budget is spent
//! they return `Pending` after waking their task, which then goes to the back of its
//! worker's queue as [`yield_now`](crate::yield_now) does. A poll that returns `Pending`
//! for its own reasons spends nothing. [`unconstrained`] opts a future out.
//!
//! Outside a task and a `block_on` (a future polled by hand on a plain thread, or by
//! another executor) there is no budget: nothing here ever makes such a poll yield.
//!
//! ```
//! use std::future::poll_fn;
//! use std::task::Poll;
//! use genrt::task::coop;
//!
//! let rt = genrt::Runtime::new().unwrap();
//! let spent = rt.block_on(rt.spawn(async {
//!     let mut spent = 0;
//!     // Poll `consume_budget` by hand inside one poll of the task, until it yields.
//!     poll_fn(|cx| loop {
//!         let mut unit = std::pin::pin!(coop::consume_budget());
//!         match unit.as_mut().poll(cx) {
//!             Poll::Ready(()) => spent += 1,
//!             Poll::Pending => return Poll::Ready(()),
//!         }
//!     })
//!     .await;
//!     spent
//! }));
//! assert_eq!(spent.unwrap(), 128);
//! # use std::future::Future;
//! ```
//
// This module owns the thread-local `CURRENT` (the budget). No atomics: a budget is one
// thread's. `unsafe`: the pin projections of `Unconstrained` and `Coop`.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Units a task gets for each poll (Tokio's figure).
pub(crate) const BUDGET: u8 = 128;

crate::loom::thread_local! {
    /// What is left of the budget of the poll this thread is in; `None`: no budget (outside
    /// any task or `block_on`, or inside [`unconstrained`]).
    static CURRENT: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Sets the thread's budget to `budget` until dropped, then restores the one it replaced
/// (polls nest: a `block_on` inside a blocking closure, a task's drop inside another poll).
pub(crate) struct BudgetGuard {
    previous: Option<u8>,
}

impl BudgetGuard {
    /// A fresh budget, for one poll of a task or of a `block_on` future.
    pub(crate) fn for_poll() -> BudgetGuard {
        BudgetGuard::set(Some(BUDGET))
    }

    fn set(budget: Option<u8>) -> BudgetGuard {
        BudgetGuard {
            // A thread being torn down has no budget to keep.
            previous: CURRENT.try_with(|c| c.replace(budget)).ok().flatten(),
        }
    }
}

impl Drop for BudgetGuard {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.previous));
    }
}

/// Spends one unit of the current poll's budget for a leaf future of your own (Tokio's
/// `coop::poll_proceed`): `Ready` with a [`RestoreOnPending`] guard while budget is left,
/// or, once it is spent, `Pending` after waking `cx` (the task yields and runs again from
/// the back of its worker's queue). Call [`RestoreOnPending::made_progress`] when the
/// future completes (or makes progress); dropping the guard without that gives the unit
/// back, so a poll that returns `Pending` for its own reasons spends nothing. Outside a task
/// and a `block_on`, and inside [`unconstrained`], it is always `Ready` and spends nothing.
///
/// ```
/// use std::future::{poll_fn, Future};
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
/// use genrt::task::coop;
///
/// /// A future that is always ready, yet gives other tasks their turn.
/// struct Tick;
///
/// impl Future for Tick {
///     type Output = ();
///     fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
///         let restore = std::task::ready!(coop::poll_proceed(cx));
///         restore.made_progress();
///         Poll::Ready(())
///     }
/// }
///
/// let rt = genrt::Runtime::new().unwrap();
/// let ticks = rt.block_on(rt.spawn(async {
///     // Count the ticks that complete within one poll of the task.
///     poll_fn(|cx| {
///         let mut ticks = 0;
///         while Pin::new(&mut Tick).poll(cx).is_ready() {
///             ticks += 1;
///         }
///         Poll::Ready(ticks)
///     })
///     .await
/// }));
/// assert_eq!(ticks.unwrap(), 128);
/// ```
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let left = CURRENT.try_with(Cell::get).ok().flatten();
    match left {
        None => Poll::Ready(RestoreOnPending::new(false)),
        Some(0) => {
            genrt_scheduler::mark_yield();
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(left) => {
            let _ = CURRENT.try_with(|c| c.set(Some(left - 1)));
            Poll::Ready(RestoreOnPending::new(true))
        }
    }
}

/// One unit of budget taken by [`poll_proceed`] (Tokio's `coop::RestoreOnPending`): given
/// back when dropped, unless [`made_progress`](RestoreOnPending::made_progress) was called.
/// Neither `Send` nor `Sync`: the budget is the polling thread's.
///
/// ```
/// use std::future::poll_fn;
/// use std::task::Poll;
/// use genrt::task::coop;
///
/// let rt = genrt::Runtime::new().unwrap();
/// rt.block_on(rt.spawn(async {
///     poll_fn(|cx| {
///         // Taken and given back: the budget is whole again.
///         drop(coop::poll_proceed(cx));
///         assert!(coop::has_budget_remaining());
///         Poll::Ready(())
///     })
///     .await
/// }))
/// .unwrap();
/// ```
#[must_use = "dropping it at once gives the unit back"]
pub struct RestoreOnPending {
    refund: Cell<bool>,
    _not_send: std::marker::PhantomData<*mut ()>,
}

impl RestoreOnPending {
    fn new(refund: bool) -> RestoreOnPending {
        RestoreOnPending {
            refund: Cell::new(refund),
            _not_send: std::marker::PhantomData,
        }
    }

    /// The leaf future completed or made progress: the unit stays spent when the guard is
    /// dropped.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::task::Poll;
    /// use genrt::task::coop;
    ///
    /// let rt = genrt::Runtime::new().unwrap();
    /// let spent = rt.block_on(rt.spawn(async {
    ///     poll_fn(|cx| {
    ///         let mut spent = 0;
    ///         while let Poll::Ready(restore) = coop::poll_proceed(cx) {
    ///             restore.made_progress();
    ///             spent += 1;
    ///         }
    ///         Poll::Ready(spent)
    ///     })
    ///     .await
    /// }));
    /// assert_eq!(spent.unwrap(), 128);
    /// ```
    pub fn made_progress(&self) {
        self.refund.set(false);
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        if self.refund.get() {
            let _ =
                CURRENT.try_with(|c| c.set(c.get().map(|left| left.saturating_add(1).min(BUDGET))));
        }
    }
}

impl std::fmt::Debug for RestoreOnPending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreOnPending").finish_non_exhaustive()
    }
}

/// Runs `f` with no budget (a timeout's own timer, once the future it guards spent the
/// budget; a join set's handles, whose set spends for them).
pub(crate) fn without_budget<R>(f: impl FnOnce() -> R) -> R {
    let _guard = BudgetGuard::set(None);
    f()
}

/// Whether the current poll has budget left: `true` outside any task or `block_on`, and
/// inside [`unconstrained`].
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// assert!(genrt::task::coop::has_budget_remaining());
/// rt.block_on(async {
///     assert!(genrt::task::coop::has_budget_remaining());
/// });
/// ```
pub fn has_budget_remaining() -> bool {
    CURRENT.try_with(Cell::get).ok().flatten() != Some(0)
}

/// `Ready` while the current poll has budget left; once it is spent, `Pending` after waking
/// `cx`, as [`poll_proceed`] (Tokio's `poll_budget_available`). Spends nothing: what
/// `select!` checks before it polls any branch, so that a branch that ignores the budget
/// cannot keep a task looping on `select!` once the branches that respect it yield.
pub(crate) fn poll_budget_available(cx: &mut Context<'_>) -> Poll<()> {
    if has_budget_remaining() {
        Poll::Ready(())
    } else {
        genrt_scheduler::mark_yield();
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Spends one unit of the current poll's budget, yielding first if it is spent (Tokio's
/// `tokio::task::consume_budget`): for a loop that does work without awaiting anything
/// that would spend the budget for it.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let sum = rt.block_on(rt.spawn(async {
///     let mut sum = 0u64;
///     for i in 0..1_000 {
///         sum += i; // some work that awaits nothing
///         genrt::task::consume_budget().await; // yields every 128 rounds
///     }
///     sum
/// }));
/// assert_eq!(sum.unwrap(), 499_500);
/// ```
pub async fn consume_budget() {
    let mut done = false;
    std::future::poll_fn(move |cx| {
        if done {
            return Poll::Ready(());
        }
        match poll_proceed(cx) {
            Poll::Ready(spend) => {
                spend.made_progress();
                done = true;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Runs `inner` without a budget (Tokio's `tokio::task::unconstrained`): genrt's futures
/// inside never yield because the budget is spent. A task made of such a future can keep
/// its worker as long as it does not return `Pending` by itself.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let sum = rt.block_on(genrt::task::unconstrained(async {
///     let mut sum = 0u64;
///     for i in 0..1_000 {
///         genrt::task::consume_budget().await; // never yields here
///         sum += i;
///     }
///     sum
/// }));
/// assert_eq!(sum, 499_500);
/// ```
pub fn unconstrained<F: Future>(inner: F) -> Unconstrained<F> {
    Unconstrained { inner }
}

/// The future of [`unconstrained`]: `Unpin` when `F` is.
///
/// ```
/// use genrt::task::Unconstrained;
///
/// let rt = genrt::Runtime::new().unwrap();
/// // `Unpin` like the ready future inside: it can be polled through `&mut`.
/// let mut answer: Unconstrained<std::future::Ready<u8>> =
///     genrt::task::unconstrained(std::future::ready(42));
/// assert_eq!(rt.block_on(&mut answer), 42);
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Unconstrained<F> {
    inner: F,
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: `Unconstrained` never moves it out (no
        // method hands it out by value or by `&mut`), has no `Drop`, and is `Unpin` only
        // when `F` is (an auto trait of its one field).
        let inner = unsafe { self.map_unchecked_mut(|this| &mut this.inner) };
        let _guard = BudgetGuard::set(None);
        inner.poll(cx)
    }
}

/// Makes `inner` spend one unit of the budget each time it completes, and yield (returning
/// `Pending` after waking its task) when the budget is spent before a poll (Tokio's
/// `tokio::task::coop::cooperative`): for a hand-written future whose polls are often
/// ready.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let n = rt.block_on(rt.spawn(async {
///     let mut n = 0;
///     for _ in 0..500 {
///         n += genrt::task::coop::cooperative(std::future::ready(1)).await;
///     }
///     n
/// }));
/// assert_eq!(n.unwrap(), 500);
/// ```
pub fn cooperative<F: Future>(inner: F) -> Coop<F> {
    Coop { inner }
}

/// The future of [`cooperative`]: `Unpin` when `F` is.
///
/// ```
/// use genrt::task::coop::{cooperative, Coop};
///
/// let rt = genrt::Runtime::new().unwrap();
/// let mut answer: Coop<std::future::Ready<u8>> = cooperative(std::future::ready(42));
/// assert_eq!(rt.block_on(rt.spawn(async move { (&mut answer).await })).unwrap(), 42);
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Coop<F> {
    inner: F,
}

impl<F: Future> Future for Coop<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let Poll::Ready(spend) = poll_proceed(cx) else {
            return Poll::Pending;
        };
        // SAFETY: as in `Unconstrained::poll`: `inner` is structurally pinned.
        let inner = unsafe { self.map_unchecked_mut(|this| &mut this.inner) };
        let poll = inner.poll(cx);
        if poll.is_ready() {
            spend.made_progress();
        }
        poll
    }
}
