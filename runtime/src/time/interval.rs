//! [`Interval`], [`interval`] and [`interval_at`].

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{far_future, sleep_until, Instant, Sleep};

/// Ticks every `period`, the first tick at once. Ticks missed because the task was late
/// come in a burst, each returning its scheduled instant (Tokio's default,
/// `MissedTickBehavior::Burst`).
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::Duration;
/// use genrt::time::interval;
///
/// let rt = genrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut every = interval(Duration::from_millis(2));
///     let first = every.tick().await; // at once
///     let second = every.tick().await;
///     assert_eq!(second - first, Duration::from_millis(2));
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// [`interval`] whose first tick is at `start`.
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::Duration;
/// use genrt::time::{interval_at, Instant};
///
/// let rt = genrt::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = Instant::now() + Duration::from_secs(5);
///     let mut every = interval_at(start, Duration::from_secs(1));
///     assert_eq!(every.tick().await, start);
/// });
/// ```
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "genrt::time::interval: the period must be non-zero"
    );
    Interval {
        period,
        delay: sleep_until(start),
    }
}

/// The stream of ticks of [`interval`] and [`interval_at`].
///
/// ```
/// use std::time::Duration;
/// let rt = genrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut every = genrt::time::interval(Duration::from_millis(1));
///     assert_eq!(every.period(), Duration::from_millis(1));
///     every.tick().await;
/// });
/// ```
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    /// Sleeps until the next tick's scheduled instant, its deadline.
    delay: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant (not the instant it was
    /// observed at).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = genrt::Builder::new().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let start = genrt::time::Instant::now();
    ///     let mut every = genrt::time::interval(Duration::from_secs(10));
    ///     assert_eq!(every.tick().await, start);
    ///     assert_eq!(every.tick().await, start + Duration::from_secs(10));
    /// });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick (what [`Interval::tick`] awaits).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = genrt::Runtime::new().unwrap();
    /// let mut every = genrt::time::interval(Duration::from_secs(1));
    /// rt.block_on(std::future::poll_fn(|cx| every.poll_tick(cx)));
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.delay).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.delay.deadline();
        let next = scheduled
            .checked_add(self.period)
            .unwrap_or_else(far_future);
        Pin::new(&mut self.delay).reset(next);
        Poll::Ready(scheduled)
    }

    /// Makes the next tick come one period from now.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = genrt::Builder::new().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let mut every = genrt::time::interval(Duration::from_secs(1));
    ///     every.tick().await;
    ///     genrt::time::advance(Duration::from_millis(500)).await;
    ///     every.reset();
    ///     let now = genrt::time::Instant::now();
    ///     assert_eq!(every.tick().await, now + Duration::from_secs(1));
    /// });
    /// ```
    pub fn reset(&mut self) {
        let next = Instant::now()
            .checked_add(self.period)
            .unwrap_or_else(far_future);
        Pin::new(&mut self.delay).reset(next);
    }

    /// The period between ticks.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let _guard = rt.enter();
    /// let every = genrt::time::interval(std::time::Duration::from_secs(2));
    /// assert_eq!(every.period(), std::time::Duration::from_secs(2));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }
}
