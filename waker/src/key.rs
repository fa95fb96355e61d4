//! The task key: `(runtime, slot index, generation)` packed into one `u64`.
//!
//! Layout, low bit first:
//!
//! | bits    | field      | width | meaning                                           |
//! |---------|------------|-------|---------------------------------------------------|
//! | 0..10   | runtime    | 10    | index of the runtime's entry in the [registry]    |
//! | 10..32  | slot       | 22    | index of the task's slot in that runtime's slab   |
//! | 32..64  | generation | 32    | the slot's generation when the task was spawned   |
//!
//! So 1,024 runtimes (and `LocalSet`s, which take an entry each) can be alive at once, each
//! with up to 4,194,272 live tasks (the slab's capacity, just under 2^22).
//!
//! With 32 generation bits a slot must be reused 2^32 = 4,294,967,296 times before a stale
//! key can name a live task again; even then the only effect is one spurious poll, which the
//! `Future` contract allows. Memory safety never depends on the generation.
//!
//! [registry]: crate::registry

use std::fmt;

/// Number of bits of a [`TaskKey`] that name the runtime (its registry entry).
pub(crate) const RUNTIME_BITS: u32 = 10;
/// Number of bits of a [`TaskKey`] that name the slot inside the runtime's slab.
pub(crate) const SLOT_BITS: u32 = 22;
/// Number of bits of a [`TaskKey`] that hold the slot's generation.
pub(crate) const GENERATION_BITS: u32 = 32;

/// How many runtimes can be alive in one process at the same time.
pub const MAX_RUNTIMES: usize = 1 << RUNTIME_BITS;

const RUNTIME_SHIFT: u32 = 0;
const SLOT_SHIFT: u32 = RUNTIME_BITS;
const GENERATION_SHIFT: u32 = RUNTIME_BITS + SLOT_BITS;
const RUNTIME_MASK: u64 = (1 << RUNTIME_BITS) - 1;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;

// The key must fill the waker's data word exactly, and the brief asks for >= 32 bits of
// generation. These assertions keep the table above honest.
const _: () = assert!(RUNTIME_BITS + SLOT_BITS + GENERATION_BITS == u64::BITS);
const _: () = assert!(GENERATION_BITS >= 32);
const _: () = assert!(std::mem::size_of::<usize>() == std::mem::size_of::<u64>());
// A `RuntimeId` holds any runtime index.
const _: () = assert!(RUNTIME_BITS <= u16::BITS);

/// Index of a runtime's entry in the process-wide registry: the runtime part of a
/// [`TaskKey`]. A runtime learns its id from its
/// [`WakeContext`](crate::registry::WakeContext).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RuntimeId(u16);

impl RuntimeId {
    /// Makes a runtime id from its registry index (below [`MAX_RUNTIMES`]).
    pub(crate) const fn new(index: u16) -> RuntimeId {
        debug_assert!((index as usize) < MAX_RUNTIMES);
        RuntimeId(index)
    }

    /// The registry index this id names.
    pub(crate) const fn index(self) -> usize {
        self.0 as usize
    }
}

/// A task's identity: which runtime, which slot, which occupant of that slot.
///
/// A key is a plain integer: copying it, storing it in a queue or in a waker costs nothing and
/// keeps nothing alive.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskKey(u64);

impl TaskKey {
    /// Packs a key. `slot` must be below `2^SLOT_BITS`; higher bits are discarded.
    pub const fn new(runtime: RuntimeId, slot: u32, generation: u32) -> TaskKey {
        TaskKey(
            ((runtime.0 as u64) << RUNTIME_SHIFT)
                | (((slot as u64) & SLOT_MASK) << SLOT_SHIFT)
                | ((generation as u64) << GENERATION_SHIFT),
        )
    }

    /// The runtime this key belongs to.
    pub const fn runtime(self) -> RuntimeId {
        RuntimeId(((self.0 >> RUNTIME_SHIFT) & RUNTIME_MASK) as u16)
    }

    /// The slot index inside the runtime's slab.
    pub const fn slot(self) -> u32 {
        ((self.0 >> SLOT_SHIFT) & SLOT_MASK) as u32
    }

    /// The generation of the slot's occupant this key names.
    pub const fn generation(self) -> u32 {
        (self.0 >> GENERATION_SHIFT) as u32
    }

    /// The packed representation, as stored in a waker's data word.
    pub(crate) const fn into_raw(self) -> u64 {
        self.0
    }

    /// Rebuilds a key from [`TaskKey::into_raw`]'s value.
    pub(crate) const fn from_raw(raw: u64) -> TaskKey {
        TaskKey(raw)
    }
}

impl fmt::Debug for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskKey")
            .field("runtime", &self.runtime().0)
            .field("slot", &self.slot())
            .field("generation", &self.generation())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_at_their_extremes() {
        let max_slot = (1u32 << SLOT_BITS) - 1;
        for (rt, slot, gen) in [
            (0u16, 0u32, 0u32),
            (MAX_RUNTIMES as u16 - 1, max_slot, u32::MAX),
            (7, 1, 1 << 31),
        ] {
            let key = TaskKey::new(RuntimeId::new(rt), slot, gen);
            assert_eq!(key.runtime(), RuntimeId::new(rt));
            assert_eq!(key.slot(), slot);
            assert_eq!(key.generation(), gen);
            assert_eq!(TaskKey::from_raw(key.into_raw()), key);
        }
    }

    #[test]
    fn every_runtime_index_round_trips() {
        for index in 0..MAX_RUNTIMES {
            let key = TaskKey::new(RuntimeId::new(index as u16), 3, 7);
            assert_eq!(key.runtime().index(), index);
        }
    }

    #[test]
    fn fields_do_not_bleed_into_each_other() {
        let a = TaskKey::new(RuntimeId::new(1), 5, 9);
        assert_ne!(a, TaskKey::new(RuntimeId::new(2), 5, 9));
        assert_ne!(a, TaskKey::new(RuntimeId::new(1), 6, 9));
        assert_ne!(a, TaskKey::new(RuntimeId::new(1), 5, 10));
    }
}
