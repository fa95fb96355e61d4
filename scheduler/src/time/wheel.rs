//! The hierarchical timing wheel (Varghese & Lauck, 1987; Tokio's `runtime/time/wheel` has
//! the same shape): [`LEVELS`] levels of [`SLOTS`] slots, level `l` slot covering `64^l`
//! ticks of 1 ms. All code here is plain data: the caller holds the wheel's lock.
//!
//! # Storage
//!
//! Entries live in a slab (pages of slots, a free list threaded through vacant slots); an
//! [`EntryId`] is an index and a generation, so a handle to a freed entry is recognised as
//! stale, never confused with the next occupant. Each wheel slot is an intrusive doubly
//! linked list of slab indices (`prev`/`next` fields in the entries, a head per slot): insert
//! and cancel are O(1) and need no `unsafe`. A 64-bit `occupied` mask per level finds the next
//! non-empty slot in O(1).
//!
//! # Placement
//!
//! An entry due at tick `when` is placed, relative to the wheel's `elapsed` tick, on the
//! level of the highest 6-bit group in which `when` and `elapsed` differ, in the slot named
//! by `when`'s bits of that group. So below the top level an entry is never in the slot
//! `elapsed` is in, and the first occupied slot after `elapsed`'s position at each level gives
//! the next instant at which something must happen (an entry is due, or a slot of a higher
//! level must be cascaded down). Deadlines further than [`MAX_TICKS`] away are clamped to it:
//! the entry's tick is then reached after 2^36 ms (about 795 days), and its timer registers
//! again (`TimerEntry::poll_elapsed`), so it never completes early.
//!
//! The top level has no level above it: an entry whose `when` differs from `elapsed` above
//! its bits (the next turn of the level, up to [`MAX_TICKS`] ahead) is placed there too, by
//! the same bits. Such an entry may land in `elapsed`'s own slot, and a clamped one always
//! does (`elapsed + MAX_TICKS` has the bits of `elapsed - 1` there); that slot's entries then
//! all belong to the next turn, which starts after every other slot of the level. So
//! `elapsed`'s slot is looked at last (`next_in_level`): looked at first, it would stand for
//! the whole level, and an entry of this turn in a later slot would wait for the next turn.
//!
//! # Processing (`advance`)
//!
//! Up to `now`: take the next slot whose start is at or before `now`, move `elapsed` to that
//! start, fire each of its entries that is due (`when <= elapsed`), place the others again
//! (one level lower at least). Then `elapsed = now`. An entry fires only once `elapsed >=
//! when`, and `elapsed` never passes the caller's `now`: that is "never early".

/// Number of levels: 6 levels of 64 slots span 2^36 ticks.
pub(crate) const LEVELS: usize = 6;
/// Slots per level (one bit each in a `u64` mask).
pub(crate) const SLOTS: usize = 64;
/// The farthest deadline, in ticks from `elapsed`, the wheel can place exactly.
pub(crate) const MAX_TICKS: u64 = (1 << (6 * LEVELS)) - 1;

/// "No entry" in the intrusive lists and the free list.
const NIL: u32 = u32::MAX;

/// A handle to an entry: its slab index and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EntryId {
    index: u32,
    generation: u32,
}

/// A fired entry, handed to the caller to wake after the lock is released.
pub(crate) struct Fired<W> {
    /// Exact deadline, in nanoseconds from the clock's origin: the firing order.
    pub(crate) deadline_ns: u64,
    pub(crate) waiter: W,
}

struct Entry<W> {
    /// Tick at which it is due: the deadline rounded up to the millisecond.
    when: u64,
    deadline_ns: u64,
    prev: u32,
    next: u32,
    waiter: W,
}

enum SlotState<W> {
    Occupied(Entry<W>),
    /// Next vacant slot of the free list.
    Vacant(u32),
}

struct Slot<W> {
    generation: u32,
    state: SlotState<W>,
}

/// Slots per page of the entry slab. A page is allocated whole and never grows or moves, so
/// the slab holds at most one partly used page beyond its entries (a `Vec` that doubles would
/// hold up to as many unused slots as used ones: tens of bytes per pending timer).
const PAGE_SLOTS: usize = 256;

/// The entry slab's storage: pages of [`PAGE_SLOTS`] slots, slot `i` in page `i / PAGE_SLOTS`.
struct Pages<W> {
    pages: Vec<Vec<Slot<W>>>,
    len: usize,
}

impl<W> Pages<W> {
    fn new() -> Pages<W> {
        Pages {
            pages: Vec::new(),
            len: 0,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, slot: Slot<W>) {
        if self.len % PAGE_SLOTS == 0 {
            // Exactly one page's capacity: pushes below never reallocate it.
            self.pages.push(Vec::with_capacity(PAGE_SLOTS));
        }
        let page = self.pages.last_mut().expect("a page with room");
        debug_assert!(page.len() < PAGE_SLOTS);
        page.push(slot);
        self.len += 1;
    }

    fn get(&self, index: usize) -> Option<&Slot<W>> {
        self.pages.get(index / PAGE_SLOTS)?.get(index % PAGE_SLOTS)
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut Slot<W>> {
        self.pages
            .get_mut(index / PAGE_SLOTS)?
            .get_mut(index % PAGE_SLOTS)
    }

    fn into_iter(self) -> impl Iterator<Item = Slot<W>> {
        self.pages.into_iter().flatten()
    }
}

impl<W> std::ops::Index<usize> for Pages<W> {
    type Output = Slot<W>;

    fn index(&self, index: usize) -> &Slot<W> {
        self.get(index).expect("a slot index the slab handed out")
    }
}

impl<W> std::ops::IndexMut<usize> for Pages<W> {
    fn index_mut(&mut self, index: usize) -> &mut Slot<W> {
        self.get_mut(index)
            .expect("a slot index the slab handed out")
    }
}

/// The wheel. See the module docs.
pub(crate) struct Wheel<W> {
    /// Every entry due at or before this tick has fired.
    elapsed: u64,
    slots: Pages<W>,
    free: u32,
    len: usize,
    heads: [[u32; SLOTS]; LEVELS],
    occupied: [u64; LEVELS],
}

/// Why an insert did not happen.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AlreadyDue;

impl<W> Wheel<W> {
    pub(crate) fn new() -> Wheel<W> {
        Wheel {
            elapsed: 0,
            slots: Pages::new(),
            free: NIL,
            len: 0,
            heads: [[NIL; SLOTS]; LEVELS],
            occupied: [0; LEVELS],
        }
    }

    /// Number of pending entries.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Inserts an entry due at tick `when` (exact deadline `deadline_ns`). Refused, with the
    /// waiter given back, when `when` is not after `elapsed`: the deadline has passed.
    pub(crate) fn insert(
        &mut self,
        when: u64,
        deadline_ns: u64,
        waiter: W,
    ) -> Result<EntryId, (AlreadyDue, W)> {
        if when <= self.elapsed {
            return Err((AlreadyDue, waiter));
        }
        let when = when.min(self.elapsed + MAX_TICKS);
        let entry = Entry {
            when,
            deadline_ns,
            prev: NIL,
            next: NIL,
            waiter,
        };
        let index = if self.free != NIL {
            let index = self.free;
            let slot = &mut self.slots[index as usize];
            let SlotState::Vacant(next) = slot.state else {
                unreachable!("the free list holds only vacant slots")
            };
            self.free = next;
            slot.state = SlotState::Occupied(entry);
            index
        } else {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("genrt: more than 4 billion pending timers in one runtime");
            self.slots.push(Slot {
                generation: 0,
                state: SlotState::Occupied(entry),
            });
            index
        };
        self.len += 1;
        self.link(index);
        Ok(EntryId {
            index,
            generation: self.slots[index as usize].generation,
        })
    }

    /// The entry `id` names, if it is still pending.
    fn entry_mut(&mut self, id: EntryId) -> Option<&mut Entry<W>> {
        match self.slots.get_mut(id.index as usize) {
            Some(Slot {
                generation,
                state: SlotState::Occupied(entry),
            }) if *generation == id.generation => Some(entry),
            _ => None,
        }
    }

    /// Every entry due at or before this tick has fired.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Whether `id` is still pending (not fired, not cancelled).
    pub(crate) fn contains(&self, id: EntryId) -> bool {
        matches!(
            self.slots.get(id.index as usize),
            Some(Slot { generation, state: SlotState::Occupied(_) }) if *generation == id.generation
        )
    }

    /// The waiter of a pending entry, to compare or replace.
    pub(crate) fn waiter_mut(&mut self, id: EntryId) -> Option<&mut W> {
        self.entry_mut(id).map(|entry| &mut entry.waiter)
    }

    /// Removes a pending entry in O(1) and returns its waiter (to drop after unlocking).
    pub(crate) fn remove(&mut self, id: EntryId) -> Option<W> {
        self.entry_mut(id)?;
        self.unlink(id.index);
        Some(self.free_slot(id.index))
    }

    /// Moves a pending entry to a new deadline; `Err` gives its waiter back (the entry is
    /// then removed) when the new deadline is not after `elapsed`.
    pub(crate) fn reschedule(
        &mut self,
        id: EntryId,
        when: u64,
        deadline_ns: u64,
    ) -> Option<Result<(), W>> {
        self.entry_mut(id)?;
        self.unlink(id.index);
        if when <= self.elapsed {
            return Some(Err(self.free_slot(id.index)));
        }
        let when = when.min(self.elapsed + MAX_TICKS);
        let entry = self.entry_mut(id).expect("checked above");
        entry.when = when;
        entry.deadline_ns = deadline_ns;
        self.link(id.index);
        Some(Ok(()))
    }

    /// The tick of the next slot to process: a due entry, or a slot to cascade. Never later
    /// than the earliest entry's `when`.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        (0..LEVELS).find_map(|level| self.next_in_level(level))
    }

    /// Fires every entry due at or before `now` into `fired`, and sets `elapsed = now` (if
    /// `now` is later). Returns whether anything fired.
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<Fired<W>>) -> bool {
        let before = fired.len();
        while let Some((level, slot, start)) = self.next_slot() {
            if start > now {
                break;
            }
            self.elapsed = self.elapsed.max(start);
            let mut index = std::mem::replace(&mut self.heads[level][slot], NIL);
            self.occupied[level] &= !(1u64 << slot);
            while index != NIL {
                let Some(Slot {
                    state: SlotState::Occupied(entry),
                    ..
                }) = self.slots.get_mut(index as usize)
                else {
                    unreachable!("a wheel list holds only occupied slots")
                };
                let next = entry.next;
                entry.prev = NIL;
                entry.next = NIL;
                if entry.when <= self.elapsed {
                    let deadline_ns = entry.deadline_ns;
                    let waiter = self.free_slot(index);
                    fired.push(Fired {
                        deadline_ns,
                        waiter,
                    });
                } else {
                    self.link(index);
                }
                index = next;
            }
        }
        self.elapsed = self.elapsed.max(now);
        fired.len() > before
    }

    /// Removes every entry and frees the storage; returns the waiters, for the caller to
    /// wake or drop after unlocking.
    pub(crate) fn clear(&mut self) -> Vec<W> {
        self.heads = [[NIL; SLOTS]; LEVELS];
        self.occupied = [0; LEVELS];
        self.free = NIL;
        self.len = 0;
        std::mem::replace(&mut self.slots, Pages::new())
            .into_iter()
            .filter_map(|slot| match slot.state {
                SlotState::Occupied(entry) => Some(entry.waiter),
                SlotState::Vacant(_) => None,
            })
            .collect()
    }

    /// The next occupied slot of any level, as (level, slot, start tick).
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        (0..LEVELS).find_map(|level| {
            let start = self.next_in_level(level)?;
            let slot = ((start >> (6 * level)) % SLOTS as u64) as usize;
            Some((level, slot, start))
        })
    }

    /// The start tick of the first occupied slot at `level` after `elapsed`'s position,
    /// `elapsed`'s own slot last (module docs, "Placement"). Levels are searched lowest
    /// first: a lower level's slots all start before the next slot boundary of a higher
    /// level, so the first level with an occupied slot holds the earliest one.
    fn next_in_level(&self, level: usize) -> Option<u64> {
        let occupied = self.occupied[level];
        if occupied == 0 {
            return None;
        }
        let slot_ticks = 1u64 << (6 * level);
        let level_ticks = slot_ticks << 6;
        let now_slot = (self.elapsed / slot_ticks) % SLOTS as u64;
        // `elapsed`'s own slot last: occupied only at the top level, by entries of the
        // level's next turn (module docs, "Placement").
        let later = occupied.rotate_right(now_slot as u32) & !1;
        let distance = if later != 0 {
            u64::from(later.trailing_zeros())
        } else {
            0
        };
        let slot = (now_slot + distance) % SLOTS as u64;
        let level_start = self.elapsed & !(level_ticks - 1);
        let mut start = level_start + slot * slot_ticks;
        if start <= self.elapsed && level > 0 {
            // A slot "behind" `elapsed` at this level belongs to the next turn of the level.
            start += level_ticks;
        }
        Some(start)
    }

    /// Level and slot for tick `when`, relative to `elapsed`.
    fn position(&self, when: u64) -> (usize, usize) {
        let differing = (when ^ self.elapsed) | (SLOTS as u64 - 1);
        let significant = 63 - differing.leading_zeros() as usize;
        let level = (significant / 6).min(LEVELS - 1);
        (level, ((when >> (6 * level)) % SLOTS as u64) as usize)
    }

    fn link(&mut self, index: u32) {
        let when = self.occupied_entry(index).when;
        let (level, slot) = self.position(when);
        let head = self.heads[level][slot];
        {
            let entry = self.occupied_entry(index);
            entry.prev = NIL;
            entry.next = head;
        }
        if head != NIL {
            self.occupied_entry(head).prev = index;
        }
        self.heads[level][slot] = index;
        self.occupied[level] |= 1 << slot;
    }

    fn unlink(&mut self, index: u32) {
        let when = self.occupied_entry(index).when;
        let (level, slot) = self.position(when);
        let (prev, next) = {
            let entry = self.occupied_entry(index);
            (
                std::mem::replace(&mut entry.prev, NIL),
                std::mem::replace(&mut entry.next, NIL),
            )
        };
        if prev == NIL {
            self.heads[level][slot] = next;
            if next == NIL {
                self.occupied[level] &= !(1u64 << slot);
            }
        } else {
            self.occupied_entry(prev).next = next;
        }
        if next != NIL {
            self.occupied_entry(next).prev = prev;
        }
    }

    fn occupied_entry(&mut self, index: u32) -> &mut Entry<W> {
        match &mut self.slots[index as usize].state {
            SlotState::Occupied(entry) => entry,
            SlotState::Vacant(_) => unreachable!("linked entries are occupied"),
        }
    }

    /// Frees an unlinked slot under a new generation; returns its waiter.
    fn free_slot(&mut self, index: u32) -> W {
        let slot = &mut self.slots[index as usize];
        let state = std::mem::replace(&mut slot.state, SlotState::Vacant(self.free));
        slot.generation = slot.generation.wrapping_add(1);
        self.free = index;
        self.len -= 1;
        match state {
            SlotState::Occupied(entry) => entry.waiter,
            SlotState::Vacant(_) => unreachable!("only occupied slots are freed"),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn key(n: u32) -> u32 {
        n
    }

    fn fired_keys(fired: &[Fired<u32>]) -> Vec<u32> {
        fired.iter().map(|f| f.waiter).collect()
    }

    #[test]
    fn entries_fire_exactly_at_their_tick_across_levels() {
        let mut wheel = Wheel::<u32>::new();
        let whens = [1u64, 2, 63, 64, 65, 4095, 4096, 4097, 300_000, 20_000_000];
        for (i, &when) in whens.iter().enumerate() {
            wheel.insert(when, when, key(i as u32)).unwrap();
        }
        for (i, &when) in whens.iter().enumerate() {
            let mut fired = Vec::new();
            // Nothing fires one tick early...
            wheel.advance(when - 1, &mut fired);
            assert!(fired.is_empty(), "entry {i} fired before tick {when}");
            assert!(wheel.next_expiration().unwrap() <= when);
            // ...and it fires at its tick.
            wheel.advance(when, &mut fired);
            assert_eq!(fired_keys(&fired), vec![i as u32], "at tick {when}");
        }
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.next_expiration(), None);
    }

    #[test]
    fn a_late_advance_fires_everything_due_and_nothing_else() {
        let mut wheel = Wheel::<u32>::new();
        for i in 1..=1000u32 {
            wheel.insert(u64::from(i) * 7, 0, key(i)).unwrap();
        }
        let mut fired = Vec::new();
        wheel.advance(3500, &mut fired);
        let mut got = fired_keys(&fired);
        got.sort_unstable();
        assert_eq!(got, (1..=500).collect::<Vec<_>>());
        assert_eq!(wheel.len(), 500);
    }

    #[test]
    fn remove_and_reschedule_are_exact() {
        let mut wheel = Wheel::<u32>::new();
        let a = wheel.insert(10, 0, key(1)).unwrap();
        let b = wheel.insert(10, 0, key(2)).unwrap();
        let c = wheel.insert(5000, 0, key(3)).unwrap();
        assert!(wheel.remove(a).is_some());
        assert!(wheel.remove(a).is_none(), "a removed id is stale");
        assert_eq!(wheel.reschedule(c, 20, 0), Some(Ok(())));
        let mut fired = Vec::new();
        wheel.advance(19, &mut fired);
        assert_eq!(fired_keys(&fired), vec![2]);
        assert!(!wheel.contains(b));
        fired.clear();
        wheel.advance(20, &mut fired);
        assert_eq!(fired_keys(&fired), vec![3]);
        // A reused slot gets a new generation.
        let d = wheel.insert(30, 0, key(4)).unwrap();
        assert_ne!(d, a);
        assert!(wheel.contains(d) && !wheel.contains(c));
        assert!(matches!(wheel.insert(20, 0, key(5)), Err((AlreadyDue, _))));
    }

    /// A clamped entry lands in `elapsed`'s own slot of the top level (its next turn); an
    /// entry of this turn in a later slot of that level still fires at its tick, not after
    /// the clamped one's turn (it did, about 795 days late, when the search of a level
    /// started with `elapsed`'s slot).
    #[test]
    fn a_clamped_entry_does_not_hide_the_top_level_of_this_turn() {
        let top = LEVELS - 1;
        let slot_ticks = 1u64 << (6 * top);
        for elapsed in [1, 5 * slot_ticks + 7] {
            let mut wheel = Wheel::<u32>::new();
            let mut fired = Vec::new();
            wheel.advance(elapsed, &mut fired);
            wheel.insert(u64::MAX / 2, 0, key(1)).unwrap();
            assert_eq!(wheel.position(elapsed + MAX_TICKS).0, top);
            let when = (elapsed / slot_ticks + 1) * slot_ticks + 5;
            assert_eq!(wheel.position(when).0, top);
            wheel.insert(when, 0, key(2)).unwrap();
            assert!(wheel.next_expiration().unwrap() <= when);
            wheel.advance(when - 1, &mut fired);
            assert!(fired.is_empty());
            wheel.advance(when, &mut fired);
            assert_eq!(fired_keys(&fired), vec![2], "elapsed {elapsed}");
            fired.clear();
            wheel.advance(elapsed + MAX_TICKS, &mut fired);
            assert_eq!(fired_keys(&fired), vec![1]);
        }
    }

    #[test]
    fn far_deadlines_are_clamped_never_early() {
        let mut wheel = Wheel::<u32>::new();
        wheel.insert(u64::MAX / 2, 0, key(1)).unwrap();
        let mut fired = Vec::new();
        wheel.advance(MAX_TICKS - 1, &mut fired);
        assert!(fired.is_empty());
        wheel.advance(MAX_TICKS, &mut fired);
        assert_eq!(fired.len(), 1);
    }

    /// The wheel against a model (a map of pending ticks), on random inserts, removes,
    /// reschedules and advances of every size, deadlines near the clamp included: each
    /// advance fires exactly the entries whose (clamped) tick it reached, and
    /// `next_expiration` is never later than the earliest entry.
    #[test]
    fn random_operations_agree_with_a_model() {
        // 200,000 operations; 500 under miri (minutes otherwise).
        let (rounds, steps) = if cfg!(miri) { (1, 500) } else { (40, 5_000) };
        use std::collections::HashMap;
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |bound: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % bound.max(1)
        };
        for round in 0..rounds {
            let mut wheel = Wheel::<u32>::new();
            let mut model: HashMap<u32, (EntryId, u64)> = HashMap::new();
            let mut fired = Vec::new();
            let mut now = 0u64;
            for step in 0..steps {
                // A distance of any magnitude: ticks, a level's span, the clamp and beyond.
                let far = |r: u64, n: &mut dyn FnMut(u64) -> u64| match r {
                    0 => 1 + n(70),
                    1 => 1 + n(5_000),
                    2 => 1 + n(1 << 24),
                    3 => 1 + n(1 << 31),
                    4 => MAX_TICKS - n(1 << 31),
                    5 => MAX_TICKS + n(1 << 40),
                    _ => 1 + n(1 << 36),
                };
                match next(10) {
                    0..=3 => {
                        let when = now + far(next(7), &mut next);
                        let id = wheel.insert(when, 0, step).unwrap();
                        model.insert(step, (id, when.min(now + MAX_TICKS)));
                    }
                    4 if !model.is_empty() => {
                        let k = *model.keys().nth(next(model.len() as u64) as usize).unwrap();
                        let (id, _) = model.remove(&k).unwrap();
                        assert_eq!(wheel.remove(id), Some(k));
                    }
                    5 if !model.is_empty() => {
                        let k = *model.keys().nth(next(model.len() as u64) as usize).unwrap();
                        let when = now + far(next(7), &mut next);
                        let (id, _) = model[&k];
                        assert_eq!(wheel.reschedule(id, when, 0), Some(Ok(())));
                        model.insert(k, (id, when.min(now + MAX_TICKS)));
                    }
                    _ => {
                        if let Some(&earliest) = model.values().map(|(_, w)| w).min() {
                            let next_exp = wheel.next_expiration().expect("entries pending");
                            assert!(next_exp <= earliest, "round {round} step {step}");
                        }
                        now += match next(4) {
                            0 => next(3),
                            1 => next(200),
                            2 => next(1 << 30),
                            _ => next(1 << 37),
                        };
                        fired.clear();
                        wheel.advance(now, &mut fired);
                        let mut got = fired_keys(&fired);
                        got.sort_unstable();
                        let mut due: Vec<u32> = model
                            .iter()
                            .filter(|(_, (_, when))| *when <= now)
                            .map(|(k, _)| *k)
                            .collect();
                        due.sort_unstable();
                        assert_eq!(got, due, "round {round} step {step}, now {now}");
                        model.retain(|_, (_, when)| *when > now);
                    }
                }
            }
        }
    }
}
