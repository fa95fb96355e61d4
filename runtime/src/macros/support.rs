//! Not public API: what [`select!`](crate::select), [`join!`](crate::join) and
//! [`try_join!`](crate::try_join) expand to call, reached as `genrt::__private` (hidden from
//! the docs). Anything here may change in any release; call the macros instead.
//!
//! The random start of `select!` is a thread-local xorshift64 (the generator the scheduler
//! uses to pick steal victims, `scheduler/src/worker.rs`), seeded once per thread from std's
//! `RandomState` (random keys per thread): it only spreads the first branch polled, nothing
//! depends on its quality.

use std::cell::Cell;
use std::convert::Infallible;
use std::hash::{BuildHasher, RandomState};

pub use core::future::{Future, IntoFuture};
pub use core::ops::ControlFlow;
pub use core::pin::Pin;
pub use core::task::{Context, Poll};
pub use genrt_macros::select_clean_pattern;
pub use std::future::poll_fn;

std::thread_local! {
    /// This thread's xorshift64 state; 0 until the first draw seeds it (never 0 after).
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A number in `0..n` (`n > 0`) from the thread's generator: the branch `select!` polls
/// first. On a thread whose thread-locals are being destroyed, 0.
///
/// ```
/// let n = genrt::__private::thread_rng_n(3);
/// assert!(n < 3);
/// ```
pub fn thread_rng_n(n: u32) -> u32 {
    RNG.try_with(|rng| {
        let mut x = rng.get();
        if x == 0 {
            // `| 1`: xorshift never leaves 0.
            x = RandomState::new().hash_one(rng as *const Cell<u64> as usize) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rng.set(x);
        // Lemire's multiply-shift: the top 32 bits scaled into 0..n, no division. The
        // product is below 2^64 and its top half below `n`, so the cast is lossless.
        (((x >> 32) * u64::from(n)) >> 32) as u32
    })
    .unwrap_or(0)
}

/// The branch `select!` polls first in a poll: 0 when `biased`, else a random one of
/// `branches`.
///
/// ```
/// assert_eq!(genrt::__private::select_start(true, 5), 0);
/// assert!(genrt::__private::select_start(false, 5) < 5);
/// ```
#[inline]
pub fn select_start(biased: bool, branches: u32) -> u32 {
    if biased {
        0
    } else {
        thread_rng_n(branches)
    }
}

/// `Ready` while the current poll has cooperative budget left; once it is spent, `Pending`
/// after waking `cx` (Tokio's `poll_budget_available`). Spends nothing. `select!` checks it
/// before polling any branch.
///
/// ```
/// use std::task::{Context, Poll};
///
/// // Outside a runtime there is no budget to run out of.
/// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
/// assert_eq!(genrt::__private::poll_budget_available(&mut cx), Poll::Ready(()));
/// ```
#[inline]
pub fn poll_budget_available(cx: &mut Context<'_>) -> Poll<()> {
    crate::task::coop::poll_budget_available(cx)
}

/// Which branch `join!` and `try_join!` poll first at each poll: the first, then the second,
/// and so on round (Tokio's `Rotator`); always the first when `biased`.
///
/// ```
/// let mut rotator = genrt::__private::Rotator::new(false, 3);
/// let starts: Vec<u32> = (0..4).map(|_| rotator.next_start()).collect();
/// assert_eq!(starts, [0, 1, 2, 0]);
/// ```
#[derive(Debug)]
pub struct Rotator {
    next: u32,
    branches: u32,
    biased: bool,
}

impl Rotator {
    /// A rotator over `branches` branches, starting at the first.
    ///
    /// ```
    /// let mut biased = genrt::__private::Rotator::new(true, 3);
    /// assert_eq!((biased.next_start(), biased.next_start()), (0, 0));
    /// ```
    pub fn new(biased: bool, branches: u32) -> Rotator {
        Rotator {
            next: 0,
            branches,
            biased,
        }
    }

    /// The branch to start this poll at (how many to skip before it).
    ///
    /// ```
    /// let mut one = genrt::__private::Rotator::new(false, 1);
    /// assert_eq!((one.next_start(), one.next_start()), (0, 0));
    /// ```
    pub fn next_start(&mut self) -> u32 {
        if self.biased {
            return 0;
        }
        let start = self.next;
        self.next = if start + 1 >= self.branches {
            0
        } else {
            start + 1
        };
        start
    }
}

/// What a [`join!`](crate::join) branch's output does to the join: it continues, always (the
/// join outputs `Result<_, Infallible>` and `join!` unwraps it).
///
/// ```
/// use std::ops::ControlFlow;
/// assert_eq!(genrt::__private::join_output(7), ControlFlow::Continue(7));
/// ```
#[inline]
pub fn join_output<T>(output: T) -> ControlFlow<Infallible, T> {
    ControlFlow::Continue(output)
}

/// What a [`try_join!`](crate::try_join) branch's output does to the join: `Ok` continues
/// with its value, `Err` ends the join with that error.
///
/// ```
/// use std::ops::ControlFlow;
/// let ok: Result<u8, &str> = Ok(7);
/// assert_eq!(genrt::__private::try_join_output(ok), ControlFlow::Continue(7));
/// let err: Result<u8, &str> = Err("no");
/// assert_eq!(genrt::__private::try_join_output(err), ControlFlow::Break("no"));
/// ```
#[inline]
pub fn try_join_output<T, E>(output: Result<T, E>) -> ControlFlow<E, T> {
    match output {
        Ok(value) => ControlFlow::Continue(value),
        Err(error) => ControlFlow::Break(error),
    }
}
