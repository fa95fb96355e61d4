//! The per-slot state word. This module is the only code that reads or writes it.
//!
//! Layout of the `u64`, low bit first:
//!
//! | bits   | name         | invariant while set                                               |
//! |--------|--------------|-------------------------------------------------------------------|
//! | 0..32  | generation   | the generation of the occupant, or of the next occupant if vacant |
//! | 32     | `OCCUPIED`   | the slot holds a task; keys with this generation are live          |
//! | 33     | `SCHEDULED`  | exactly one copy of the key sits in a run queue (or is about to)   |
//! | 34     | `RUNNING`    | one thread holds the poll permission: it alone touches the value   |
//! | 35     | `NOTIFIED`   | woken while `RUNNING`: the poller must schedule it again           |
//! | 36     | `CANCELLED`  | shutdown asked the `RUNNING` holder to drop the task when done     |
//! | 40..64 | link         | vacant slots only: the slab's free-list link (next index + 1)     |
//!
//! Transitions (every one is a single compare-and-swap in [`SlotState::transition`]):
//!
//! 1. `occupy`: vacant → `OCCUPIED | SCHEDULED`, keeping the generation that `vacate` (or the
//!    slab's base) left in the word, one past the previous occupant's (only the slot's owner).
//! 2. `wake(g)`: if the generation is not `g` or the slot is vacant: stale, no change.
//!    Idle → `SCHEDULED` (the caller queues the key). `RUNNING` → `+NOTIFIED`.
//!    Already `SCHEDULED`, or `RUNNING | NOTIFIED`: coalesced, and **nothing is written**:
//!    the wake is published by a `SeqCst` fence and a reload instead (see "Coalesced wakes"
//!    below).
//! 3. `start_poll(g)`: `SCHEDULED` → `RUNNING`, followed by a `SeqCst` fence before the
//!    caller touches the task.
//! 4. `finish_pending`: `RUNNING` → idle, or → `SCHEDULED` if `NOTIFIED`, or stays `RUNNING`
//!    and reports cancellation if `CANCELLED`.
//! 5. `claim`: any occupied, non-`RUNNING` state → `RUNNING` (shutdown takes the task);
//!    `RUNNING` → `+CANCELLED`.
//! 6. `vacate(next)`: `RUNNING` → vacant with the next generation (only the `RUNNING` holder).
//! 7. `set_link`: vacant → vacant with a free-list link (only the thread pushing the slot on
//!    the free list; no transition above writes a vacant word, so nobody else can race it).
//!
//! Keeping the link in the word instead of a field of its own saves 8 bytes per slot.
//!
//! Because `SCHEDULED` is set by exactly one successful CAS and cleared only by `start_poll`,
//! a key is never in the queues twice; because `RUNNING` is set only from a non-`RUNNING`
//! state, a task is never polled by two threads at once.
//!
//! # Coalesced wakes: published by two fences, not by a write
//!
//! A wake that finds the task `SCHEDULED` (not `RUNNING`), or `RUNNING | NOTIFIED`, has
//! nothing to change: a poll is already owed. What it must still ensure is that this owed
//! poll sees what the waker wrote before waking (the value it hands the task, typically a
//! channel's state). Reading the word alone does not ensure it: the poller's claim could be
//! ordered before the read while the poller's reads of the channel miss the waker's writes
//! (store buffering; allowed by the memory model and by x86). The old fix wrote the word back
//! with a CAS, a write to a line that every waker and the poller share. Instead:
//!
//! - **waker** (`wake`): writes its value; loads the word; if the wake coalesces, issues
//!   `fence(SeqCst)` (`F_W`) and reloads the word. The same value: coalesced, nothing
//!   written. A different value: the transition is decided again from it (it may now need
//!   the CAS that schedules or notifies).
//! - **poller** (`start_poll`): its CAS `C` takes `SCHEDULED` → `RUNNING`, then
//!   `fence(SeqCst)` (`F_P`), and only then reads the task (polls the future). On x86 `F_P`
//!   is `C` itself, a locked instruction and so a full barrier there, with a compiler fence
//!   after it (`f_p`); loom and Miri check the fenced form.
//!
//! *Why no wake is lost.* Let the wake coalesce: its reload `R` read the value of some write
//! `w` of the word, and that value is live with `SCHEDULED` and not `RUNNING`, or `RUNNING |
//! NOTIFIED`. From either, the next poll of the task begins with a `start_poll` CAS `C'`
//! that comes after `w` in the word's modification order (from `RUNNING | NOTIFIED`,
//! `finish_pending` first turns the notification into `SCHEDULED` and requeues the key), or
//! the task is claimed by shutdown or abort and never polled again, which loses nothing. The
//! `SeqCst` fences `F_W` and `F_P'` (the one after `C'`) are totally ordered:
//!
//! - if `F_P'` came first, `R` (after `F_W`) would see `C'` or a later write (C++
//!   `[atomics.order]`: a write before one `SeqCst` fence is seen by a read after a later
//!   one), not `w`, which precedes `C'`. So this case does not happen; had `R` seen `C'`,
//!   the value would differ and the waker would have taken the CAS path.
//! - so `F_W` comes first, and by the same rule every read of the poll after `F_P'` sees the
//!   waker's atomic writes before `F_W` (or later ones): the channel's flag, or the unlock of
//!   its mutex, whose Release then hands over the rest.
//!
//! *Fenced by the caller.* The argument needs only that `F_W` follows the waker's writes and
//! precedes the read `R`. A wake through the registry has issued such a fence already (W2 in
//! `registry.rs`, after the waking thread's writes, before it loads anything of the slot), so
//! `wake_fenced` takes any read of the word after it, the first load or a failed CAS's, as
//! `R`: a coalesced wake from another thread costs one fence, not two.
//!
//! Only `start_poll` needs the fence. `finish_pending`'s `NOTIFIED` → `SCHEDULED` does not:
//! the poller reads nothing of the task after it, and the poll it owes starts with a
//! `start_poll` of its own. `claim` does not: the claimer drops the task, never polls it.
//! A wake that takes the CAS path (idle → `SCHEDULED`, `RUNNING` → `+NOTIFIED`) still
//! publishes through the CAS's Release, acquired by the poller's `start_poll` or
//! `finish_pending`. A stale wake only reads. Loom: `wake_races_poll_and_complete` and
//! `coalesced_wakes_are_published_by_fences` (`src/loom_models/slot.rs`).

use crate::loom::sync::atomic::{fence, AtomicU64, Ordering};

const GENERATION_MASK: u64 = u32::MAX as u64;
const OCCUPIED: u64 = 1 << 32;
const SCHEDULED: u64 = 1 << 33;
const RUNNING: u64 = 1 << 34;
const NOTIFIED: u64 = 1 << 35;
const CANCELLED: u64 = 1 << 36;

/// Where a vacant word keeps its free-list link, and how wide it is.
const LINK_SHIFT: u32 = 40;
/// Bits of the free-list link: enough for any slot index + 1 (checked in `slab.rs`).
pub(crate) const LINK_BITS: u32 = 24;
const LINK_MASK: u64 = (1 << LINK_BITS) - 1;

// Flags live above the generation and below the link, and do not overlap each other.
const _: () = assert!(CANCELLED < 1 << LINK_SHIFT);
const _: () = assert!(LINK_SHIFT + LINK_BITS == u64::BITS);
const _: () = assert!(OCCUPIED > GENERATION_MASK);
const _: () = assert!((OCCUPIED | SCHEDULED | RUNNING | NOTIFIED | CANCELLED).count_ones() == 5);

/// What a wake did to the slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[must_use]
pub enum WakeOutcome {
    /// The task went from idle to scheduled: the caller must push its key to a run queue.
    Schedule,
    /// The task was already scheduled or is being polled; nothing more to do.
    Coalesced,
    /// The key's generation does not name the slot's occupant: the wake did nothing.
    Stale,
}

/// What ending a `Pending` poll did to the slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[must_use]
pub(crate) enum FinishOutcome {
    /// Nobody woke the task during the poll; it is idle now.
    Idle,
    /// The task was woken during its poll; it is scheduled again and must be queued.
    Reschedule,
    /// Shutdown asked for the task: the poller still holds it and must drop it.
    Cancel,
}

/// What shutdown's `claim` found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[must_use]
pub(crate) enum ClaimOutcome {
    /// The caller now holds the poll permission of the occupant with this generation.
    Claimed(u32),
    /// Another thread is polling; it was told to drop the task when its poll returns.
    MarkedRunning,
    /// Nothing to claim (vacant, or a different generation than asked for).
    Vacant,
}

#[derive(Clone, Copy)]
struct Snapshot(u64);

impl Snapshot {
    fn generation(self) -> u32 {
        (self.0 & GENERATION_MASK) as u32
    }
    fn has(self, flag: u64) -> bool {
        self.0 & flag != 0
    }
    fn with(self, flag: u64) -> Snapshot {
        Snapshot(self.0 | flag)
    }
    fn without(self, flag: u64) -> Snapshot {
        Snapshot(self.0 & !flag)
    }
    fn is_live(self, generation: u32) -> bool {
        self.has(OCCUPIED) && self.generation() == generation
    }
}

/// The atomic state word of one slab slot.
pub(crate) struct SlotState(AtomicU64);

impl SlotState {
    /// A vacant slot whose first occupant will get `generation`.
    pub(crate) fn vacant(generation: u32) -> SlotState {
        SlotState(AtomicU64::new(generation as u64))
    }

    /// The generation stored in the word (occupant's, or next occupant's if vacant).
    pub(crate) fn generation(&self) -> u32 {
        Snapshot(self.0.load(Ordering::Relaxed)).generation()
    }

    /// Whether the slot currently holds a task.
    pub(crate) fn is_occupied(&self) -> bool {
        Snapshot(self.0.load(Ordering::Relaxed)).has(OCCUPIED)
    }

    /// Transition 1. Returns the occupant's generation. The caller must own the vacant slot
    /// (it came off the free list or was never used) and must have written the value.
    pub(crate) fn occupy(&self) -> u32 {
        let generation = self.generation();
        // Release: publishes the value written by the caller. Pairs with the Acquire of the
        // CAS in `start_poll` / `claim` that gains the right to read it.
        self.store(generation as u64 | OCCUPIED | SCHEDULED, Ordering::Release);
        generation
    }

    /// Transition 2. A coalesced wake writes nothing; it is published by a `SeqCst` fence
    /// and a reload (module docs, "Coalesced wakes").
    pub(crate) fn wake(&self, generation: u32) -> WakeOutcome {
        self.wake_inner(generation, false)
    }

    /// Transition 2 for a caller that has already issued `fence(SeqCst)` after the writes
    /// this wake publishes (the registry's W2): that fence is `F_W`, so a coalesced wake
    /// needs no fence and no reload of its own ("Coalesced wakes", *Fenced by the caller*).
    pub(crate) fn wake_fenced(&self, generation: u32) -> WakeOutcome {
        self.wake_inner(generation, true)
    }

    /// Whether a wake of `generation` finds its task gone (stale) at this instant: the first
    /// load of [`SlotState::wake`], for a caller that keeps the stale wake's path apart
    /// from the rest (it then calls [`SlotState::wake_after_barrier`], which decides again).
    pub(crate) fn is_stale(&self, generation: u32) -> bool {
        // Acquire: as `wake`'s first load.
        !Snapshot(self.0.load(Ordering::Acquire)).is_live(generation)
    }

    /// [`SlotState::wake_fenced`] if `fenced` (the caller issued `fence(SeqCst)` after the
    /// writes this wake publishes), else [`SlotState::wake`] (the registry's W2, which is a
    /// full fence or not, `barrier.rs` in this crate).
    pub(crate) fn wake_after_barrier(&self, generation: u32, fenced: bool) -> WakeOutcome {
        self.wake_inner(generation, fenced)
    }

    fn wake_inner(&self, generation: u32, fenced: bool) -> WakeOutcome {
        // Acquire: as `transition`'s first load.
        let mut current = Snapshot(self.0.load(Ordering::Acquire));
        loop {
            if !current.is_live(generation) {
                return WakeOutcome::Stale;
            }
            let (next, outcome) = if current.has(RUNNING) {
                (current.with(NOTIFIED), WakeOutcome::Coalesced)
            } else if current.has(SCHEDULED) {
                (current, WakeOutcome::Coalesced)
            } else {
                (current.with(SCHEDULED), WakeOutcome::Schedule)
            };
            if next.0 == current.0 {
                if fenced {
                    // The caller's fence is F_W and `current` was read after it.
                    return WakeOutcome::Coalesced;
                }
                // A poll is owed already. F_W: pairs with F_P in `start_poll`; the reload
                // after it either still reads `current` (then that poll's fence comes after
                // this one and the poll sees this thread's writes) or reads a newer state,
                // decided again.
                fence(Ordering::SeqCst);
                let again = self.0.load(Ordering::Acquire);
                if again == current.0 {
                    return WakeOutcome::Coalesced;
                }
                current = Snapshot(again);
                continue;
            }
            // AcqRel: the Release half hands the waker's writes to the poller whose
            // `start_poll` or `finish_pending` (the Acquire half) reads this write.
            match self.0.compare_exchange_weak(
                current.0,
                next.0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return outcome,
                Err(actual) => current = Snapshot(actual),
            }
        }
    }

    /// Transition 3. `true` when the caller now holds the poll permission.
    pub(crate) fn start_poll(&self, generation: u32) -> bool {
        let claimed = self.transition(|s| {
            (s.is_live(generation) && s.has(SCHEDULED) && !s.has(RUNNING))
                .then(|| s.without(SCHEDULED).with(RUNNING))
        });
        if claimed {
            // F_P: pairs with F_W in `wake`. A waker whose coalesced wake counts on this poll
            // fenced before this fence, so the poll's reads see what it wrote (module docs).
            f_p();
        }
        claimed
    }

    /// Transition 4. Only the `RUNNING` holder calls this.
    pub(crate) fn finish_pending(&self) -> FinishOutcome {
        let mut outcome = FinishOutcome::Idle;
        self.transition(|s| {
            debug_assert!(s.has(RUNNING) && s.has(OCCUPIED));
            if s.has(CANCELLED) {
                outcome = FinishOutcome::Cancel;
                None
            } else if s.has(NOTIFIED) {
                outcome = FinishOutcome::Reschedule;
                Some(s.without(RUNNING | NOTIFIED).with(SCHEDULED))
            } else {
                outcome = FinishOutcome::Idle;
                Some(s.without(RUNNING))
            }
        });
        outcome
    }

    /// Transition 5. With `Some(g)`, only the occupant of generation `g` is claimed.
    pub(crate) fn claim(&self, generation: Option<u32>) -> ClaimOutcome {
        let mut outcome = ClaimOutcome::Vacant;
        self.transition(|s| {
            let wanted = generation.is_none_or(|g| g == s.generation());
            if !s.has(OCCUPIED) || !wanted {
                outcome = ClaimOutcome::Vacant;
                None
            } else if s.has(RUNNING) {
                outcome = ClaimOutcome::MarkedRunning;
                (!s.has(CANCELLED)).then(|| s.with(CANCELLED))
            } else {
                outcome = ClaimOutcome::Claimed(s.generation());
                Some(s.without(SCHEDULED | NOTIFIED).with(RUNNING))
            }
        });
        outcome
    }

    /// Transition 6. Only the `RUNNING` holder calls this, after taking the value out.
    pub(crate) fn vacate(&self) {
        let next = self.generation().wrapping_add(1);
        // Release: the value was taken out before this store. Pairs with the Acquire in the
        // slab's free-list pop through the push that follows, and with `claim`'s Acquire.
        self.store(next as u64, Ordering::Release);
    }

    /// Transitions 6 and 7 at once, for a slot going to its owner's [`FreeCache`]
    /// (`crate::slab`): vacates the slot with its generation bumped and `link` recorded, in
    /// one store (Release, as `vacate`).
    ///
    /// [`FreeCache`]: crate::FreeCache
    pub(crate) fn vacate_linked(&self, link: u32) {
        debug_assert!(u64::from(link) <= LINK_MASK);
        let next = self.generation().wrapping_add(1) as u64;
        self.store(next | (u64::from(link) << LINK_SHIFT), Ordering::Release);
    }

    /// Transition 7: records the free-list link of a vacant slot. Relaxed: the free-list push
    /// that follows publishes it (the Release CAS on the head in `slab.rs`).
    pub(crate) fn set_link(&self, link: u32) {
        debug_assert!(!self.is_occupied() && u64::from(link) <= LINK_MASK);
        let generation = self.generation() as u64;
        self.store(
            generation | (u64::from(link) << LINK_SHIFT),
            Ordering::Relaxed,
        );
    }

    /// The free-list link of a vacant slot. Read by a free-list pop that may race the slot's
    /// reuse: then the value is meaningless, and the pop's CAS on the tagged head fails.
    pub(crate) fn link(&self) -> u32 {
        ((self.0.load(Ordering::Relaxed) >> LINK_SHIFT) & LINK_MASK) as u32
    }

    /// Stores a whole new state: a plain store in a normal build. Under loom it is a swap with
    /// the same ordering, which means the same here (the old value is not needed): loom does
    /// not yet keep a read-modify-write atomic against a concurrent plain store
    /// (tokio-rs/loom#254), so it would let a `transition` racing this store read the value
    /// the store replaced, an execution the memory model forbids.
    fn store(&self, state: u64, order: Ordering) {
        #[cfg(not(loom))]
        self.0.store(state, order);
        #[cfg(loom)]
        let _ = self.0.swap(state, order);
    }

    /// Applies `f` in one CAS loop. `f` returns the new state, or `None` to leave the word
    /// as it is. Returns whether a new state was stored.
    fn transition(&self, mut f: impl FnMut(Snapshot) -> Option<Snapshot>) -> bool {
        // Acquire on load and success: the state a transition reads was published by a
        // Release in `occupy`, `vacate`, `wake` or another transition. AcqRel on success: the
        // Release half publishes what the caller did before (a poll, for `finish_pending`) to
        // the next thread whose transition reads the word (the Acquire half).
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            let Some(next) = f(Snapshot(current)) else {
                return false;
            };
            match self
                .0
                .compare_exchange_weak(current, next.0, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }
}

/// `F_P`, right after a successful claim CAS (`start_poll`): a `fence(SeqCst)`, except on x86,
/// where the claim's CAS was a locked instruction (`lock cmpxchg`, whatever its ordering),
/// which the processor executes as a full barrier (Intel SDM vol. 3, 9.2.2: loads and stores
/// are not reordered with locked instructions), so only the compiler must be kept from moving
/// the poll's accesses above it. An `mfence` there costs 4-5 ns a poll on some hosts
/// (BENCHMARKS.md, 2026-12-01) for nothing. crossbeam-epoch's `pin` uses a locked instruction
/// as its x86 fence the same way. Loom and Miri check the C++ model: they get the fence.
#[inline]
fn f_p() {
    #[cfg(all(any(target_arch = "x86_64", target_arch = "x86"), not(loom), not(miri)))]
    std::sync::atomic::compiler_fence(Ordering::SeqCst);
    #[cfg(not(all(any(target_arch = "x86_64", target_arch = "x86"), not(loom), not(miri))))]
    fence(Ordering::SeqCst);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn occupied(generation: u32) -> SlotState {
        let s = SlotState::vacant(generation);
        assert_eq!(s.occupy(), generation);
        s
    }

    #[test]
    fn a_wake_while_scheduled_is_coalesced() {
        let s = occupied(4);
        assert_eq!(s.wake(4), WakeOutcome::Coalesced);
        assert!(s.start_poll(4));
        assert!(!s.start_poll(4), "poll permission is exclusive");
        assert_eq!(s.finish_pending(), FinishOutcome::Idle);
        assert_eq!(s.wake(4), WakeOutcome::Schedule);
        assert_eq!(s.wake(4), WakeOutcome::Coalesced);
    }

    #[test]
    fn a_wake_during_poll_reschedules_once() {
        let s = occupied(0);
        assert!(s.start_poll(0));
        assert_eq!(s.wake(0), WakeOutcome::Coalesced);
        assert_eq!(s.wake(0), WakeOutcome::Coalesced);
        assert_eq!(s.finish_pending(), FinishOutcome::Reschedule);
        assert!(s.start_poll(0));
        assert_eq!(s.finish_pending(), FinishOutcome::Idle);
    }

    #[test]
    fn stale_generations_and_vacant_slots_ignore_wakes() {
        let s = occupied(9);
        assert_eq!(s.wake(8), WakeOutcome::Stale);
        assert!(s.start_poll(9));
        s.vacate();
        assert!(!s.is_occupied());
        assert_eq!(s.generation(), 10);
        assert_eq!(s.wake(9), WakeOutcome::Stale);
        assert_eq!(s.wake(10), WakeOutcome::Stale, "vacant slot");
        assert_eq!(s.occupy(), 10);
        assert_eq!(
            s.wake(9),
            WakeOutcome::Stale,
            "the old key never names the new occupant"
        );
    }

    #[test]
    fn claim_takes_idle_tasks_and_flags_running_ones() {
        let s = occupied(1);
        assert_eq!(s.claim(Some(2)), ClaimOutcome::Vacant);
        assert_eq!(s.claim(None), ClaimOutcome::Claimed(1));
        assert!(!s.start_poll(1), "a claimed task cannot be polled");
        s.vacate();

        let s = occupied(3);
        assert!(s.start_poll(3));
        assert_eq!(s.claim(None), ClaimOutcome::MarkedRunning);
        assert_eq!(s.wake(3), WakeOutcome::Coalesced);
        assert_eq!(s.finish_pending(), FinishOutcome::Cancel);
    }

    #[test]
    fn generation_wraps_around() {
        let s = occupied(u32::MAX);
        assert!(s.start_poll(u32::MAX));
        s.vacate();
        assert_eq!(s.generation(), 0);
    }
}
