//! The runtime's clock: real time, or a paused clock that moves only when told to; a running
//! clock can be paused and a paused one resumed while the runtime runs.
//!
//! Both read as `std::time::Instant`s. The wheel counts 1 ms ticks from `origin`, the instant
//! the runtime started. A deadline maps to the tick that rounds it *up* and the current time
//! to the tick that rounds it *down*, so an entry whose tick has been reached is due: a
//! timer never fires before its deadline.
//!
//! # Running and paused
//!
//! A running clock reads the real time plus `shift` (0 until the clock was first paused and
//! resumed: then it is the real time itself, read without any arithmetic). A paused clock
//! reads `origin + offset`. [`Clock::pause`] stores the running clock's current value into
//! `offset` and then sets `paused`; [`Clock::resume`] stores into `shift` the difference
//! that makes the running clock continue from the paused value (so time never goes back,
//! and what the paused clock moved by `advance` stays moved, as in Tokio), then clears
//! `paused`. Pause and resume are serialised by the `transition` lock.
//!
//! This module owns the words `paused`, `offset_ns` and `shift_ns`. `offset_ns` only
//! increases while the clock is paused (a saturating `fetch_update`, `fetch_max`), and is
//! read `Relaxed`: a task that must see a move of the clock is woken by the timer that the
//! move fired, and that wake (the slot's Release CAS, paired with `start_poll`'s Acquire)
//! publishes the move to its poll. `offset_ns` is moved only under the `transition` lock
//! and only while paused, so a resume never misses a move. `paused` is stored (SeqCst)
//! after `offset_ns` or `shift_ns` and loaded (SeqCst) before them, so a reader that sees
//! the new mode sees the value written for it. A reader that saw the old mode just before a transition may
//! return a value up to its own read's delay past the one the transition stored: the clock
//! can step back by that much (nanoseconds) at the instant it is paused, never by a tick
//! the wheel has passed, because the wheel is advanced only to a tick the clock reached.

use std::time::{Duration, Instant};

use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::loom::sync::Mutex;

const NANOS_PER_TICK: u64 = 1_000_000;

pub(crate) struct Clock {
    origin: Instant,
    paused: AtomicBool,
    /// Paused clock: how far it is from `origin`, in nanoseconds.
    offset_ns: AtomicU64,
    /// Running clock: what it adds to the real time, in nanoseconds (an `i64`'s bits).
    shift_ns: AtomicU64,
    /// Held by [`Clock::pause`] and [`Clock::resume`].
    transition: Mutex<()>,
}

impl Clock {
    pub(crate) fn new(paused: bool) -> Clock {
        Clock {
            origin: Instant::now(),
            paused: AtomicBool::new(paused),
            offset_ns: AtomicU64::new(0),
            shift_ns: AtomicU64::new(0),
            transition: Mutex::new(()),
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        // SeqCst: pairs with the SeqCst stores in `pause` and `resume` (as Acquire for the
        // offset and shift written before them), and orders this load in the single total
        // order with the hold count's read-modify-writes: a last hold released after a
        // worker saw the clock paused (and the hold still held) sees it paused too, and
        // notifies (`release_hold`, `idle/README.md`, "Timers").
        self.paused.load(Ordering::SeqCst)
    }

    /// The current time on this clock.
    pub(crate) fn now(&self) -> Instant {
        if self.is_paused() {
            return self.origin + Duration::from_nanos(self.offset_ns.load(Ordering::Relaxed));
        }
        let shift = self.shift_ns.load(Ordering::Relaxed) as i64;
        let real = Instant::now();
        if shift == 0 {
            real
        } else {
            self.origin + Duration::from_nanos(shifted(self.nanos(real), shift))
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

    /// Running clock: the real instant at which this clock reaches `tick` (for a timed
    /// park, which waits on the real time).
    pub(crate) fn real_instant_of(&self, tick: u64) -> Instant {
        let shift = self.shift_ns.load(Ordering::Relaxed) as i64;
        let nanos = tick.saturating_mul(NANOS_PER_TICK);
        self.origin + Duration::from_nanos(shifted(nanos, shift.saturating_neg()))
    }

    /// Paused clock: moves it forward by `by`. Returns `false`, doing nothing, if the clock
    /// is running: under the `transition` lock, so that a resume cannot read the paused
    /// value before this move and lose it.
    pub(crate) fn advance(&self, by: Duration) -> bool {
        let _transition = self.transition.lock();
        if !self.is_paused() {
            return false;
        }
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // Saturating: an `advance(Duration::MAX)` must not wrap the clock around.
        let _ = self
            .offset_ns
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                Some(offset.saturating_add(by))
            });
        true
    }

    /// Paused clock: moves it forward to the start of `tick`, if it is not there yet.
    /// Returns `false`, doing nothing, if the clock is running (see [`Clock::advance`]).
    pub(crate) fn advance_to_tick(&self, tick: u64) -> bool {
        let _transition = self.transition.lock();
        if !self.is_paused() {
            return false;
        }
        self.offset_ns
            .fetch_max(tick.saturating_mul(NANOS_PER_TICK), Ordering::Relaxed);
        true
    }

    /// Pauses a running clock at its current value. Returns `false`, doing nothing, if it is
    /// already paused.
    pub(crate) fn pause(&self) -> bool {
        let _transition = self.transition.lock();
        if self.is_paused() {
            return false;
        }
        let now = self.nanos(self.now());
        // Never back: `advance_to_tick` of an earlier pause may have left `offset` ahead.
        self.offset_ns.fetch_max(now, Ordering::Relaxed);
        // SeqCst: see `is_paused`.
        self.paused.store(true, Ordering::SeqCst);
        true
    }

    /// Resumes a paused clock from its paused value. Returns `false`, doing nothing, if it is
    /// not paused.
    pub(crate) fn resume(&self) -> bool {
        let _transition = self.transition.lock();
        if !self.is_paused() {
            return false;
        }
        let paused_at = self.offset_ns.load(Ordering::Relaxed);
        let real = self.nanos(Instant::now());
        let shift = i128::from(paused_at) - i128::from(real);
        let shift = i64::try_from(shift).unwrap_or(if shift < 0 { i64::MIN } else { i64::MAX });
        self.shift_ns.store(shift as u64, Ordering::Relaxed);
        // SeqCst: see `is_paused`.
        self.paused.store(false, Ordering::SeqCst);
        true
    }
}

/// `nanos + shift`, saturating at 0 and `u64::MAX`.
fn shifted(nanos: u64, shift: i64) -> u64 {
    if shift >= 0 {
        nanos.saturating_add(shift as u64)
    } else {
        nanos.saturating_sub(shift.unsigned_abs())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_clock_continues_from_where_it_was_paused() {
        let clock = Clock::new(false);
        assert!(clock.pause());
        assert!(!clock.pause(), "already paused");
        let paused = clock.now();
        clock.advance(Duration::from_secs(3600));
        assert_eq!(clock.now(), paused + Duration::from_secs(3600));
        assert!(clock.resume());
        assert!(!clock.resume(), "already running");
        let resumed = clock.now();
        assert!(resumed >= paused + Duration::from_secs(3600));
        // The running clock is an hour ahead of the real time, and a timed park for a tick
        // waits for the real instant that maps to it.
        let tick = clock.now_tick() + 5;
        let real = clock.real_instant_of(tick);
        assert!(real <= Instant::now() + Duration::from_millis(5));
        assert!(clock.origin + Duration::from_millis(tick) > real + Duration::from_secs(3599));
    }

    #[test]
    fn a_clock_paused_again_does_not_go_back() {
        let clock = Clock::new(true);
        clock.advance(Duration::from_secs(10));
        let first = clock.now();
        assert!(clock.resume());
        assert!(clock.pause());
        assert!(clock.now() >= first);
    }

    #[test]
    fn shifts_saturate() {
        assert_eq!(shifted(5, -10), 0);
        assert_eq!(shifted(u64::MAX - 1, 10), u64::MAX);
        assert_eq!(shifted(5, 3), 8);
    }
}
