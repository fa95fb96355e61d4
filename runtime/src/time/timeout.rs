//! [`Timeout`], [`timeout`], [`timeout_at`] and [`Elapsed`].
//!
//! This module holds the one `unsafe` of `genrt::time`: the pin projection of
//! [`Timeout`] to its inner future (see the `SAFETY` comment there). Boxing the future
//! instead would cost an allocation per timeout.

use std::error::Error;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{sleep, sleep_until, Instant, Sleep};

/// Runs `future` with a time limit: `Ok(output)` if it completes first, `Err(Elapsed)` if
/// `duration` passes first (the future is then dropped with the `Timeout`). The future is
/// polled before the timer, so a future that is ready at once gives `Ok` even with a zero
/// duration. As in Tokio, `future` is anything [`IntoFuture`].
///
/// ```
/// use std::time::Duration;
/// use genrt::time::timeout;
///
/// let rt = genrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     assert_eq!(timeout(Duration::ZERO, async { 1 }).await, Ok(1));
///     let never = std::future::pending::<()>();
///     assert!(timeout(Duration::from_millis(5), never).await.is_err());
/// });
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: future.into_future(),
        delay: sleep(duration),
    }
}

/// [`timeout`] with a deadline instead of a duration.
///
/// ```
/// use std::time::Duration;
/// use genrt::time::{timeout_at, Instant};
///
/// let rt = genrt::Runtime::new().unwrap();
/// let at = Instant::now() + Duration::from_millis(2);
/// let out = rt.block_on(timeout_at(at, std::future::pending::<()>()));
/// assert!(out.is_err());
/// ```
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: future.into_future(),
        delay: sleep_until(deadline),
    }
}

/// The future of [`timeout`] and [`timeout_at`].
///
/// ```
/// use std::time::Duration;
/// let mut t = genrt::time::timeout(Duration::from_secs(1), std::future::ready(5));
/// let _: &mut std::future::Ready<i32> = t.get_mut();
/// let rt = genrt::Runtime::new().unwrap();
/// assert_eq!(rt.block_on(t.into_inner()), 5);
/// ```
#[must_use = "a Timeout does nothing unless polled"]
#[derive(Debug)]
pub struct Timeout<F> {
    future: F,
    delay: Sleep,
}

impl<F> Timeout<F> {
    /// The inner future.
    ///
    /// ```
    /// let t = genrt::time::timeout(std::time::Duration::ZERO, std::future::ready(1));
    /// let _: &std::future::Ready<i32> = t.get_ref();
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The inner future, mutably.
    ///
    /// ```
    /// let mut t = genrt::time::timeout(std::time::Duration::ZERO, std::future::ready(1));
    /// let _: &mut std::future::Ready<i32> = t.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// The inner future, dropping the timer.
    ///
    /// ```
    /// let t = genrt::time::timeout(std::time::Duration::ZERO, std::future::ready(1));
    /// let rt = genrt::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(t.into_inner()), 1);
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `future` is structurally pinned: never moved out of a pinned `Timeout` (`into_inner`
        // takes `self` by value, which needs `F: Unpin` once pinned; `get_mut` needs `&mut
        // self`), `Timeout` has no `Drop` and is `Unpin` only when `F` is (`Sleep` is `Unpin`).
        // SAFETY: so nothing is moved out below; `delay` is not pinned and reached by `&mut`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.future` is not moved while pinned.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        let had_budget = crate::task::coop::has_budget_remaining();
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        // If the future spent the last of the cooperative budget, the timer is polled
        // without one: a future that keeps spending it cannot keep its timeout from firing.
        let delay = &mut this.delay;
        let elapsed = if had_budget && !crate::task::coop::has_budget_remaining() {
            crate::task::coop::without_budget(|| Pin::new(delay).poll(cx))
        } else {
            Pin::new(delay).poll(cx)
        };
        match elapsed {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of a [`Timeout`] whose time ran out.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let err = rt
///     .block_on(genrt::time::timeout(std::time::Duration::ZERO, std::future::pending::<()>()))
///     .unwrap_err();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// let _: &dyn std::error::Error = &err;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}

/// An [`io::Error`](std::io::Error) of kind [`TimedOut`](std::io::ErrorKind::TimedOut), as
/// Tokio's, so a timeout can be `?`-ed in a function returning `io::Result`.
///
/// ```
/// async fn limited() -> std::io::Result<()> {
///     let duration = std::time::Duration::ZERO;
///     genrt::time::timeout(duration, std::future::pending::<()>()).await?;
///     Ok(())
/// }
/// let rt = genrt::Runtime::new().unwrap();
/// let err = rt.block_on(limited()).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
/// ```
impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}
