//! Time: sleeping, timeouts, intervals, and a clock that tests can pause.
//!
//! Every timer belongs to a runtime: the runtime's timing wheel (in `genrt-scheduler`'s
//! `time` module, which gives the design) holds one entry per pending [`Sleep`], and the
//! runtime's workers fire them; there is no timer thread. A timer polled by a task of that
//! runtime stores the task's key, which owns nothing; any other waker (`block_on`, a
//! `FuturesUnordered`) is cloned into the entry. Dropping a [`Sleep`] cancels its entry in
//! O(1); dropping the runtime frees every entry.
//!
//! Resolution is 1 ms, and a timer never completes before its deadline: the deadline is
//! rounded up to the millisecond, the current time down. [`Sleep::deadline`] still returns
//! exactly the instant given.
//!
//! A [`Sleep`] can be created anywhere. Made inside a runtime, it belongs to that runtime's
//! clock and timers, as Tokio's; made outside any, it binds to the runtime that first polls
//! it, and polling it outside any genrt runtime (a task, `block_on`, or an
//! [`enter`](crate::Runtime::enter) guard) panics.
//!
//! # The paused clock
//!
//! A runtime built with [`Builder::start_paused(true)`](crate::Builder::start_paused), or
//! whose clock was paused by [`pause`], has a clock that only moves by [`advance`], or when
//! every worker is idle (no task queued or running), no thread in
//! [`block_on`](crate::Runtime::block_on) is polling its future and no
//! [`spawn_blocking`](crate::spawn_blocking) closure is in flight (as in Tokio), jumping to
//! the next timer's deadline. [`resume`] lets it run again from where it stands.
//! [`Instant::now`] reads the current runtime's clock, so code under test sees time pass
//! consistently:
//!
//! ```
//! use std::time::Duration;
//! use genrt::time::{sleep, Instant};
//!
//! let rt = genrt::Builder::new().worker_threads(1).start_paused(true).build().unwrap();
//! rt.block_on(async {
//!     let start = Instant::now();
//!     sleep(Duration::from_secs(3600)).await; // returns at once
//!     assert_eq!(start.elapsed(), Duration::from_secs(3600));
//! });
//! ```

mod instant;
mod interval;
mod sleep;
mod timeout;

/// `std::time::Duration`, re-exported as Tokio's `tokio::time::Duration` is, so that
/// `use genrt::time::{sleep, Duration}` works.
pub use std::time::Duration;

pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};

pub mod error;

/// Moves the current runtime's paused clock forward by `duration`, fires every timer then
/// due, and yields once so that the tasks they woke can run. The clock saturates about 292
/// years after the runtime started (`Duration::MAX` goes there): it stands still past that,
/// and every timer is due.
///
/// # Panics
///
/// Outside a genrt runtime, or when the runtime's clock is not paused (build it with
/// [`Builder::start_paused(true)`](crate::Builder::start_paused), or call [`pause`]).
///
/// ```
/// use std::time::Duration;
/// use genrt::time::{advance, Instant};
///
/// let rt = genrt::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = Instant::now();
///     advance(Duration::from_millis(1500)).await;
///     assert_eq!(start.elapsed(), Duration::from_millis(1500));
/// });
/// ```
pub async fn advance(duration: Duration) {
    let Some(handle) = genrt_scheduler::Handle::current() else {
        panic!("genrt::time::advance called outside a genrt runtime");
    };
    if !handle.advance_clock(duration) {
        panic!(
            "genrt::time::advance: the runtime's clock is not paused; call genrt::time::pause() \
             or build the runtime with Builder::start_paused(true) to control time"
        );
    }
    crate::yield_now().await;
}

/// Pauses the current runtime's clock: [`Instant::now`] keeps returning the instant of the
/// pause until [`advance`] moves the clock, or the clock auto-advances to the next timer
/// because the runtime has nothing to run (module docs, "The paused clock"), or [`resume`]
/// lets it run again. `std::time::Instant` is not affected.
///
/// As in Tokio, only a current-thread runtime
/// ([`Builder::new_current_thread`](crate::Builder::new_current_thread)) can be paused this
/// way; any runtime can *start* paused
/// ([`Builder::start_paused`](crate::Builder::start_paused)), and a paused clock then moves
/// when *every* worker is idle.
///
/// # Panics
///
/// Outside a genrt runtime (a task, [`block_on`](crate::Runtime::block_on), or an
/// [`enter`](crate::Runtime::enter) guard), on a multi-thread runtime, or if the clock is
/// already paused.
///
/// ```
/// use std::time::Duration;
/// use genrt::time::{self, Instant};
///
/// let rt = genrt::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     time::pause();
///     let start = Instant::now();
///     std::thread::sleep(Duration::from_millis(5));
///     assert_eq!(start.elapsed(), Duration::ZERO); // stands still
///     time::sleep(Duration::from_secs(3600)).await; // the clock jumps: returns at once
///     // To the timer's millisecond tick (the clock was paused between two ticks).
///     let slept = start.elapsed();
///     assert!(slept >= Duration::from_secs(3600));
///     assert!(slept <= Duration::from_secs(3600) + Duration::from_millis(1));
///     time::resume();
/// });
/// ```
#[track_caller]
pub fn pause() {
    let Ok(handle) = crate::Handle::try_current() else {
        panic!(
            "genrt::time::pause called outside a genrt runtime: the clock to pause is a runtime's"
        );
    };
    if handle.runtime_flavor() != crate::runtime::RuntimeFlavor::CurrentThread {
        panic!(
            "genrt::time::pause requires a current-thread runtime (Builder::new_current_thread), \
             as Tokio's does; a multi-thread runtime can start paused (Builder::start_paused)"
        );
    }
    if !handle.inner.pause_clock() {
        panic!("genrt::time::pause: the runtime's clock is already paused");
    }
}

/// Resumes the current runtime's paused clock: it runs again at the speed of the real time,
/// from the instant it shows (so what [`advance`] and auto-advance added stays added, as in
/// Tokio).
///
/// # Panics
///
/// Outside a genrt runtime, or if the clock is not paused.
///
/// ```
/// use std::time::Duration;
/// use genrt::time::{self, Instant};
///
/// let rt = genrt::Builder::new().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = Instant::now();
///     time::advance(Duration::from_secs(60)).await;
///     time::resume();
///     time::sleep(Duration::from_millis(5)).await; // real time again
///     assert!(start.elapsed() >= Duration::from_millis(60_005));
/// });
/// ```
#[track_caller]
pub fn resume() {
    let Some(handle) = genrt_scheduler::Handle::current() else {
        panic!("genrt::time::resume called outside a genrt runtime: the clock to resume is a runtime's");
    };
    if !handle.resume_clock() {
        panic!("genrt::time::resume: the runtime's clock is not paused");
    }
}

/// Where a deadline that overflows `Instant` is put: about 30 years after `now`, as Tokio
/// does, so that it never fires in practice and no arithmetic on it overflows. `now` is the
/// time on the clock of the timer's own runtime, which the current context's may not be (a
/// paused clock advanced past 30 years would otherwise see it as passed at once).
pub(crate) fn far_future(now: Instant) -> Instant {
    now + Duration::from_secs(86_400 * 365 * 30)
}
