//! The runtime's clock: real time, or a paused clock that moves only when told to.
//!
//! Both read as `std::time::Instant`s. The wheel counts 1 ms ticks from `origin`, the instant
//! the runtime started. A deadline maps to the tick that rounds it *up* and the current time
//! to the tick that rounds it *down*, so an entry whose tick has been reached is due: a
//! timer never fires before its deadline.
//!
//! This module owns the `offset_ns` word of a paused clock. It is only ever increased (a
//! saturating `fetch_update`, `fetch_max`), and read `Relaxed`: a task that must see a move
//! of the clock is woken by the timer that the move fired, and that wake (the slot's Release
//! CAS, paired with `start_poll`'s Acquire) publishes the move to its poll.

use std::time::{Duration, Instant};

use crate::loom::sync::atomic::{AtomicU64, Ordering};

const NANOS_PER_TICK: u64 = 1_000_000;

pub(crate) struct Clock {
    origin: Instant,
    paused: bool,
    /// Paused clock only: how far it has moved from `origin`, in nanoseconds.
    offset_ns: AtomicU64,
}

impl Clock {
    pub(crate) fn new(paused: bool) -> Clock {
        Clock {
            origin: Instant::now(),
            paused,
            offset_ns: AtomicU64::new(0),
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused
    }

    /// The current time on this clock.
    pub(crate) fn now(&self) -> Instant {
        if self.paused {
            self.origin + Duration::from_nanos(self.offset_ns.load(Ordering::Relaxed))
        } else {
            Instant::now()
        }
    }

    /// The current tick, rounded down.
    pub(crate) fn now_tick(&self) -> u64 {
        self.nanos(self.now()) / NANOS_PER_TICK
    }

    /// Nanoseconds from `origin` to `instant` (0 if before it).
    pub(crate) fn nanos(&self, instant: Instant) -> u64 {
        let nanos = instant.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }

    /// The tick at which a deadline is due: rounded up.
    pub(crate) fn deadline_tick(&self, deadline: Instant) -> u64 {
        self.nanos(deadline).div_ceil(NANOS_PER_TICK)
    }

    /// The instant at which `tick` begins.
    pub(crate) fn instant_of(&self, tick: u64) -> Instant {
        self.origin + Duration::from_millis(tick)
    }

    /// Paused clock: moves it forward by `by`.
    pub(crate) fn advance(&self, by: Duration) {
        debug_assert!(self.paused);
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // Saturating: an `advance(Duration::MAX)` must not wrap the clock around.
        let _ = self
            .offset_ns
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                Some(offset.saturating_add(by))
            });
    }

    /// Paused clock: moves it forward to the start of `tick`, if it is not there yet.
    pub(crate) fn advance_to_tick(&self, tick: u64) {
        debug_assert!(self.paused);
        self.offset_ns
            .fetch_max(tick.saturating_mul(NANOS_PER_TICK), Ordering::Relaxed);
    }
}
