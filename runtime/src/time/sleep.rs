//! [`Sleep`], [`sleep`] and [`sleep_until`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use genrt_scheduler::time::TimerEntry;

use super::{far_future, Instant};

/// Waits until `duration` has elapsed on the current runtime's clock. Nothing happens
/// until the returned future is polled; it never completes early (1 ms resolution).
///
/// Made inside a runtime (a task, `block_on`, an `enter` guard, a blocking closure), the
/// sleep belongs to that runtime's clock and timers wherever it is awaited, as Tokio's;
/// made outside any (or in the context of one that has shut down), it reads the real clock
/// and belongs to the runtime that first polls it.
///
/// # Panics
///
/// The future panics when polled outside a genrt runtime if it was made outside one, and
/// when its runtime has shut down (but in a poll of one of that runtime's own tasks still
/// running when `shutdown_background` returned: that task is cancelled once the poll
/// returns, so the sleep stays pending, as in Tokio).
///
/// ```
/// use std::time::Duration;
/// use genrt::time::{sleep, Instant};
///
/// let rt = genrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let start = Instant::now();
///     sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let (entry, now) = TimerEntry::current();
    let now = Instant::from_std(now);
    let deadline = now.checked_add(duration).unwrap_or_else(|| far_future(now));
    Sleep {
        deadline,
        due: duration.is_zero(),
        entry,
    }
}

/// Waits until `deadline` on the current runtime's clock; it belongs to a runtime as
/// [`sleep`]'s does.
///
/// # Panics
///
/// As [`sleep`]'s.
///
/// ```
/// use std::time::Duration;
/// use genrt::time::{sleep_until, Instant};
///
/// let rt = genrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    let (entry, now) = TimerEntry::current();
    Sleep {
        deadline,
        due: deadline.into_std() <= now,
        entry,
    }
}

/// The future of [`sleep`] and [`sleep_until`]. It registers a timer in its runtime's wheel
/// (the one it was made in, else the first to poll it) on its first pending poll; dropping
/// it cancels the timer.
///
/// Unlike Tokio's, it is `Unpin`, so it needs no pinning to be polled in a loop.
///
/// ```
/// use std::time::Duration;
/// use genrt::time::{sleep, Instant};
///
/// let rt = genrt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut s = sleep(Duration::from_millis(1));
///     assert!(!s.is_elapsed());
///     (&mut s).await;
///     assert!(s.is_elapsed());
///     // Re-arm it.
///     let again = Instant::now() + Duration::from_millis(2);
///     std::pin::Pin::new(&mut s).reset(again);
///     assert_eq!(s.deadline(), again);
///     s.await;
///     assert!(Instant::now() >= again);
/// });
/// ```
#[must_use = "a Sleep does nothing unless polled"]
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
    /// The deadline had passed when it was set (the clock was read then): the first poll
    /// completes without registering a timer. Otherwise the first poll reads no clock and
    /// registers, and a deadline that passed meanwhile fires at the wheel's next processing
    /// (one clock read per sleep, as in Tokio).
    due: bool,
    entry: TimerEntry,
}

impl Sleep {
    /// The instant at which it completes: exactly the one given (the wheel rounds it up to
    /// the millisecond internally, this does not).
    ///
    /// ```
    /// let at = genrt::time::Instant::now();
    /// assert_eq!(genrt::time::sleep_until(at).deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The time on the clock of its runtime (the one it belongs to; the current one's, or
    /// the real time, while it belongs to none yet).
    pub(crate) fn now(&self) -> Instant {
        Instant::from_std(self.entry.now())
    }

    /// Whether it has completed (a poll returned ready, or its timer fired).
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let mut s = genrt::time::sleep(std::time::Duration::ZERO);
    /// assert!(!s.is_elapsed());
    /// rt.block_on(&mut s);
    /// assert!(s.is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.entry.is_elapsed()
    }

    /// Sets a new deadline, also on a sleep that has completed (it is re-armed). A pending
    /// timer is moved in O(1) and keeps the waker of its last poll.
    ///
    /// ```
    /// use std::time::Duration;
    /// use genrt::time::{sleep, Instant};
    ///
    /// let rt = genrt::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut s = sleep(Duration::from_secs(3600));
    ///     let soon = Instant::now() + Duration::from_millis(1);
    ///     std::pin::Pin::new(&mut s).reset(soon);
    ///     s.await;
    /// });
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        // Its own runtime's clock: the deadline is on that clock, wherever this is called.
        this.due = deadline.into_std() <= this.entry.now();
        this.entry.reset(deadline.into_std());
    }
}

impl Future for Sleep {
    type Output = ();

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if !this.entry.is_bound() {
            match genrt_scheduler::Handle::current() {
                Some(handle) => this.entry.bind(&handle),
                None => panic!(
                    "genrt::time::sleep polled outside a genrt runtime: poll timers inside a \
                     genrt task, Runtime::block_on, or a Runtime::enter guard"
                ),
            }
        }
        // One unit of the cooperative budget when the sleep completes (`task::coop`).
        let Poll::Ready(spend) = crate::task::coop::poll_proceed(cx) else {
            return Poll::Pending;
        };
        let poll = this
            .entry
            .poll_elapsed(this.deadline.into_std(), this.due, cx);
        if poll.is_ready() {
            spend.made_progress();
        }
        poll
    }
}
