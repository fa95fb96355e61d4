//! [`Interval`], [`interval`], [`interval_at`] and [`MissedTickBehavior`].

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{far_future, sleep_until, Instant, Sleep};

/// Ticks every `period`, the first tick at once. Ticks missed because the task was late
/// come in a burst by default, each returning its scheduled instant
/// ([`MissedTickBehavior::Burst`]; see [`Interval::set_missed_tick_behavior`]).
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
        "genrt::time::interval: `period` must be non-zero."
    );
    Interval {
        period,
        delay: sleep_until(start),
        missed_tick_behavior: MissedTickBehavior::Burst,
    }
}

/// What an [`Interval`] does when a tick comes late: when it is polled more than 5 ms after
/// the tick's scheduled instant (the task was busy, or the machine stalled). The late tick is
/// returned at once in every case; the behaviours differ in when the following ticks come.
/// The same three behaviours, and the same 5 ms tolerance, as Tokio's.
///
/// ```
/// use std::time::Duration;
/// use genrt::time::{advance, interval, Instant, MissedTickBehavior};
///
/// let rt = genrt::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = Instant::now();
///     let mut every = interval(Duration::from_secs(1));
///     every.set_missed_tick_behavior(MissedTickBehavior::Skip);
///     every.tick().await;
///     advance(Duration::from_millis(2500)).await; // a stall: ticks at 1 s and 2 s missed
///     assert_eq!(every.tick().await, start + Duration::from_secs(1)); // late, at once
///     assert_eq!(every.tick().await, start + Duration::from_secs(3)); // 2 s skipped
/// });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// The missed ticks come at once, one per poll, each returning its scheduled instant,
    /// until the interval has caught up; the schedule (`start + n * period`) is kept. The
    /// default.
    #[default]
    Burst,
    /// The schedule restarts from the late tick: the next tick comes one period after the
    /// instant the late one was observed at, and every period after that.
    Delay,
    /// The missed ticks are dropped: the next tick is the next instant of the original
    /// schedule (`start + n * period`) after the late tick was observed.
    Skip,
}

impl MissedTickBehavior {
    /// The instant of the tick after one scheduled at `scheduled` and observed late, at
    /// `now`.
    fn next_after_late(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        let next = match self {
            MissedTickBehavior::Burst => scheduled.checked_add(period),
            MissedTickBehavior::Delay => now.checked_add(period),
            MissedTickBehavior::Skip => {
                // How far `now` is past the last scheduled instant before it; less than a
                // period, so `period - into` is positive and the result is on schedule.
                let behind = now.saturating_duration_since(scheduled).as_nanos();
                let into = behind % period.as_nanos();
                let into =
                    Duration::new((into / 1_000_000_000) as u64, (into % 1_000_000_000) as u32);
                now.checked_add(period - into)
            }
        };
        next.unwrap_or_else(|| far_future(now))
    }
}

/// How late a tick can be and still count as on time (Tokio's tolerance).
const LATE: Duration = Duration::from_millis(5);

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
    missed_tick_behavior: MissedTickBehavior,
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
        // The far future of this interval's own clock, not the polling context's.
        let on_schedule = || {
            scheduled
                .checked_add(self.period)
                .unwrap_or_else(|| far_future(self.delay.now()))
        };
        let next = match self.missed_tick_behavior {
            // `Burst` keeps the schedule however late the tick is: no clock read.
            MissedTickBehavior::Burst => on_schedule(),
            behavior => {
                let now = self.delay.now();
                match scheduled.checked_add(LATE) {
                    Some(tolerated) if now > tolerated => {
                        behavior.next_after_late(scheduled, now, self.period)
                    }
                    _ => on_schedule(),
                }
            }
        };
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
        let now = self.delay.now();
        let next = now
            .checked_add(self.period)
            .unwrap_or_else(|| far_future(now));
        Pin::new(&mut self.delay).reset(next);
    }

    /// Makes the next tick come at once; the ticks after it follow one period apart from
    /// now.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = genrt::Builder::new().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let mut every = genrt::time::interval(Duration::from_secs(1));
    ///     every.tick().await;
    ///     genrt::time::advance(Duration::from_millis(300)).await;
    ///     every.reset_immediately();
    ///     let now = genrt::time::Instant::now();
    ///     assert_eq!(every.tick().await, now);
    ///     assert_eq!(every.tick().await, now + Duration::from_secs(1));
    /// });
    /// ```
    pub fn reset_immediately(&mut self) {
        let now = self.delay.now();
        Pin::new(&mut self.delay).reset(now);
    }

    /// Makes the next tick come `after` from now; the ticks after it follow one period
    /// apart.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = genrt::Builder::new().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let mut every = genrt::time::interval(Duration::from_secs(1));
    ///     every.tick().await;
    ///     every.reset_after(Duration::from_millis(100));
    ///     let now = genrt::time::Instant::now();
    ///     assert_eq!(every.tick().await, now + Duration::from_millis(100));
    /// });
    /// ```
    pub fn reset_after(&mut self, after: Duration) {
        let now = self.delay.now();
        let next = now.checked_add(after).unwrap_or_else(|| far_future(now));
        Pin::new(&mut self.delay).reset(next);
    }

    /// Makes the next tick come at `deadline` (at once if it has passed); the ticks after
    /// it follow one period apart.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = genrt::Builder::new().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let mut every = genrt::time::interval(Duration::from_secs(1));
    ///     every.tick().await;
    ///     let at = genrt::time::Instant::now() + Duration::from_secs(5);
    ///     every.reset_at(at);
    ///     assert_eq!(every.tick().await, at);
    ///     assert_eq!(every.tick().await, at + Duration::from_secs(1));
    /// });
    /// ```
    pub fn reset_at(&mut self, deadline: Instant) {
        Pin::new(&mut self.delay).reset(deadline);
    }

    /// What it does when a tick comes late ([`MissedTickBehavior::Burst`] unless set).
    ///
    /// ```
    /// use genrt::time::MissedTickBehavior;
    /// let rt = genrt::Runtime::new().unwrap();
    /// let _guard = rt.enter();
    /// let every = genrt::time::interval(std::time::Duration::from_secs(1));
    /// assert_eq!(every.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what it does when a tick comes late, from the next tick on.
    ///
    /// ```
    /// use genrt::time::MissedTickBehavior;
    /// let rt = genrt::Runtime::new().unwrap();
    /// let _guard = rt.enter();
    /// let mut every = genrt::time::interval(std::time::Duration::from_secs(1));
    /// every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    /// assert_eq!(every.missed_tick_behavior(), MissedTickBehavior::Delay);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
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
