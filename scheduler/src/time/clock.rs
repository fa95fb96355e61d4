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
//! reads `origin + offset`. [`Clock::pause`] stores into `offset` the running clock's value
//! read *after* it announced the change; [`Clock::resume`] stores into `shift` the
//! difference that makes the running clock continue from the paused value (what `advance`
//! moved stays moved, as in Tokio). Pause, resume and the advances are serialised by the
//! `transition` lock.
//!
//! The state word holds the mode, with two transitional values, and a count of changes, so
//! that the clock never goes back, also for a reader racing a change (a seqlock on the mode):
//! `pause` stores `PAUSING`, then (after a `SeqCst` fence) reads the real time and stores
//! `offset`, then `PAUSED`; `resume` likewise through `RESUMING`. A reader of a running
//! clock reads the state again after the real time, and reads again if it changed: when it
//! did not, no pause has yet announced itself, so any later pause reads the real time after
//! this reader did (the `SeqCst` order of the state's accesses, the fence) and its offset is
//! at least this reading. A reader that sees `PAUSED`, or `RUNNING` after a resume, sees the
//! value stored before that mode (`SeqCst` store and load); a transitional mode lasts a few
//! instructions, which readers wait out.
//!
//! This module owns the words `state`, `offset_ns` and `shift_ns`. `offset_ns` only
//! increases, moved only under the `transition` lock and only while paused (so a resume
//! never misses a move), and is read `Relaxed` otherwise: a task that must see a move of the
//! clock is woken by the timer that the move fired, and that wake (the slot's Release CAS,
//! paired with `start_poll`'s Acquire) publishes the move to its poll.

use std::time::{Duration, Instant};

use crate::loom::sync::atomic::{fence, AtomicU64, Ordering};
use crate::loom::sync::Mutex;

const NANOS_PER_TICK: u64 = 1_000_000;

/// Where the clock and every deadline saturate (about 292 years after the runtime started):
/// a whole tick, so that a deadline capped here is reached by a clock capped here, instead of
/// rounding up to a tick the clock never gets to (a timer that would never fire); and within
/// `i64`, so that a resume's shift (`shift_ns`, signed) always holds the paused value.
const MAX_NANOS: u64 = i64::MAX as u64 / NANOS_PER_TICK * NANOS_PER_TICK;

/// `Clock::state`'s low two bits: the real time plus `shift`.
const RUNNING: u64 = 0;
/// Being paused: `offset` is being stored.
const PAUSING: u64 = 1;
/// `offset`.
const PAUSED: u64 = 2;
/// Being resumed: `shift` is being stored.
const RESUMING: u64 = 3;
const MODE: u64 = 3;
/// `Clock::state` above the mode: a count of mode changes, so that a reader sees whether a
/// change began (and perhaps ended) while it read the real time.
const EPOCH: u64 = 4;

pub(crate) struct Clock {
    origin: Instant,
    /// The mode (low two bits) and the number of mode changes (the rest).
    state: AtomicU64,
    /// Paused clock: how far it is from `origin`, in nanoseconds.
    offset_ns: AtomicU64,
    /// Running clock: what it adds to the real time, in nanoseconds (an `i64`'s bits).
    shift_ns: AtomicU64,
    /// Held by [`Clock::pause`], [`Clock::resume`] and the advances.
    transition: Mutex<()>,
}

impl Clock {
    pub(crate) fn new(paused: bool) -> Clock {
        Clock {
            origin: Instant::now(),
            state: AtomicU64::new(if paused { PAUSED } else { RUNNING }),
            offset_ns: AtomicU64::new(0),
            shift_ns: AtomicU64::new(0),
            transition: Mutex::new(()),
        }
    }

    /// The state, once its mode is not transitional.
    fn settled_state(&self) -> u64 {
        let mut spins = 0u32;
        loop {
            // SeqCst: see `is_paused`.
            let state = self.state.load(Ordering::SeqCst);
            if state & MODE == RUNNING || state & MODE == PAUSED {
                return state;
            }
            // A pause or resume holds the mode transitional for a few instructions.
            if spins < 64 {
                spins += 1;
                std::hint::spin_loop();
            } else {
                crate::loom::thread::yield_now();
            }
        }
    }

    /// Moves to the next mode (`pause`, `resume`, under the `transition` lock).
    fn set_mode(&self, mode: u64) {
        let state = self.state.load(Ordering::Relaxed);
        // SeqCst: see `is_paused` and the module docs.
        self.state
            .store((state & !MODE).wrapping_add(EPOCH) | mode, Ordering::SeqCst);
    }

    pub(crate) fn is_paused(&self) -> bool {
        // SeqCst (in `settled_state`): pairs with the SeqCst stores of `set_mode` (as Acquire
        // for the offset and shift written before them), and orders this load in the single
        // total order with the hold count's read-modify-writes: a last hold released after a
        // worker saw the clock paused (and the hold still held) sees it paused too, and
        // notifies (`release_hold`, `idle/README.md`, "Timers").
        self.settled_state() & MODE == PAUSED
    }

    /// The current time on this clock.
    pub(crate) fn now(&self) -> Instant {
        loop {
            let state = self.settled_state();
            if state & MODE == PAUSED {
                return self.origin + Duration::from_nanos(self.offset_ns.load(Ordering::Relaxed));
            }
            let shift = self.shift_ns.load(Ordering::Relaxed) as i64;
            let real = Instant::now();
            // SeqCst: unchanged since the first load, so no pause has read the real time
            // before `real` (module docs): the reading stands. Otherwise read again.
            if self.state.load(Ordering::SeqCst) != state {
                continue;
            }
            return if shift == 0 {
                real
            } else {
                self.origin + Duration::from_nanos(shifted(self.nanos(real), shift))
            };
        }
    }

    /// The current tick, rounded down.
    pub(crate) fn now_tick(&self) -> u64 {
        self.nanos(self.now()) / NANOS_PER_TICK
    }

    /// Nanoseconds from `origin` to `instant` (0 if before it).
    pub(crate) fn nanos(&self, instant: Instant) -> u64 {
        let nanos = instant.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos).map_or(MAX_NANOS, |nanos| nanos.min(MAX_NANOS))
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
        // Saturating at `MAX_NANOS`: an `advance(Duration::MAX)` must not wrap the clock
        // around, and must leave it on a tick that deadlines (capped the same way) reach.
        let _ = self
            .offset_ns
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                Some(offset.saturating_add(by).min(MAX_NANOS))
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
        self.offset_ns.fetch_max(
            tick.saturating_mul(NANOS_PER_TICK).min(MAX_NANOS),
            Ordering::Relaxed,
        );
        true
    }

    /// Pauses a running clock at its current value. Returns `false`, doing nothing, if it is
    /// already paused.
    pub(crate) fn pause(&self) -> bool {
        let _transition = self.transition.lock();
        if self.is_paused() {
            return false;
        }
        // A SeqCst fence between the announcement and the read of the real time (module docs).
        self.set_mode(PAUSING);
        fence(Ordering::SeqCst);
        let shift = self.shift_ns.load(Ordering::Relaxed) as i64;
        let now = shifted(self.nanos(Instant::now()), shift);
        // Never back: an advance of an earlier pause may have left `offset` ahead.
        self.offset_ns.fetch_max(now, Ordering::Relaxed);
        self.set_mode(PAUSED);
        true
    }

    /// Resumes a paused clock from its paused value. Returns `false`, doing nothing, if it is
    /// not paused.
    pub(crate) fn resume(&self) -> bool {
        let _transition = self.transition.lock();
        if !self.is_paused() {
            return false;
        }
        self.set_mode(RESUMING);
        fence(Ordering::SeqCst);
        let paused_at = self.offset_ns.load(Ordering::Relaxed);
        let real = self.nanos(Instant::now());
        let shift = i128::from(paused_at) - i128::from(real);
        let shift = i64::try_from(shift).unwrap_or(if shift < 0 { i64::MIN } else { i64::MAX });
        self.shift_ns.store(shift as u64, Ordering::Relaxed);
        self.set_mode(RUNNING);
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

    /// Readers racing pauses, resumes and advances never see the clock go back. The rounds
    /// go on until the readers have read the clock 10,000 times while they ran (a loaded
    /// machine may not schedule a reader at first).
    #[test]
    // 20,000 rounds against two reader threads: over 20 minutes under miri.
    #[cfg_attr(miri, ignore)]
    fn the_clock_never_goes_back_across_pauses_and_resumes() {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use std::sync::{Arc, Barrier};

        let clock = Arc::new(Clock::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let reads = Arc::new(AtomicU64::new(0));
        let started = Arc::new(Barrier::new(3));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (clock, stop) = (clock.clone(), stop.clone());
                let (reads, started) = (reads.clone(), started.clone());
                std::thread::spawn(move || {
                    started.wait();
                    let mut last = clock.now();
                    while !stop.load(Ordering::Relaxed) {
                        let now = clock.now();
                        assert!(now >= last, "the clock went back by {:?}", last - now);
                        last = now;
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        started.wait();
        let mut round = 0u64;
        while round < 20_000 || reads.load(Ordering::Relaxed) < 10_000 {
            assert!(clock.pause());
            if round % 3 == 0 {
                assert!(clock.advance(Duration::from_micros(7)));
            }
            assert!(clock.resume());
            round += 1;
        }
        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            reader.join().unwrap();
        }
    }

    #[test]
    fn shifts_saturate() {
        assert_eq!(shifted(5, -10), 0);
        assert_eq!(shifted(u64::MAX - 1, 10), u64::MAX);
        assert_eq!(shifted(5, 3), 8);
    }
}
