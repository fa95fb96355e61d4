//! The slot slab: task storage addressed by index from any thread.
//!
//! Slots live in pages that never move and are never freed before the slab itself: page `p`
//! holds `32 << p` slots, so 17 pages hold 4,194,272 slots, just under the 2^22 a
//! [`TaskKey`](crate::TaskKey) can name. A page is allocated the first time an index in it is
//! handed out, and published with one compare-and-swap of the page's pointer from null: the
//! thread that loses the race frees its own copy and uses the winner's. Because slots never
//! move, any thread may read any slot's state word at any time; that is what lets a stale
//! waker be checked without a lock.
//!
//! Free slots form a lock-free stack (Treiber) threaded through the link bits of vacant slots'
//! state words (`SlotState::set_link`). The head
//! word carries a tag that every push and pop increments, so a pop that read a stale
//! link fails its compare-and-swap instead of corrupting the list (the ABA problem).
//!
//! A worker keeps the slots it frees in a [`FreeCache`] of its own, a chain linked the same
//! way but reached by no other thread, and takes its next slots from there: a spawn on a
//! worker then reuses a slot that worker just freed (hot in its cache) with no write to the
//! shared head, and a completion writes only the slot. Each [`FREE_BATCH`] freed slots the
//! chain goes to the shared list in one compare-and-swap (its tail linked to the old head),
//! so a thread that spawns from outside the workers finds them there; the owner also hands
//! its chain over before it parks ([`Slab::flush`]). A slot in a chain is vacant: wakes,
//! claims and `next_base` see it as any vacant slot.
//!
//! Who touches a slot's value:
//! - the thread that took the slot off the free list, until `occupy` publishes it;
//! - the holder of the poll permission (`RUNNING`, see [`crate::state`]), through a
//!   [`PollGuard`];
//! - the slab's own `Drop`, which has `&mut self`.
//!
//! Nobody else reads or writes it, which is what the `unsafe` blocks below rely on.

use std::marker::PhantomData;
use std::ptr;

use crate::key::SLOT_BITS;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use crate::state::{ClaimOutcome, FinishOutcome, SlotState, WakeOutcome, LINK_BITS};

/// Slots in the first page; each later page doubles. Under loom, 2: every slot is a handful of
/// modelled objects, and two slots are enough for a model to reuse one while using another.
const FIRST_PAGE_SLOTS: usize = if cfg!(loom) { 2 } else { 32 };
const FIRST_PAGE_SHIFT: u32 = FIRST_PAGE_SLOTS.trailing_zeros();
/// Number of pages.
pub(crate) const PAGES: usize = 17;
/// Total number of slots a slab can hold: `32 * (2^17 - 1)` (under loom, `2 * (2^17 - 1)`).
pub const SLAB_CAPACITY: usize = FIRST_PAGE_SLOTS * ((1 << PAGES) - 1);

const _: () = assert!(FIRST_PAGE_SLOTS.is_power_of_two());
const _: () = assert!(SLAB_CAPACITY <= 1 << SLOT_BITS);
const _: () = assert!(SLAB_CAPACITY < u32::MAX as usize);
// A free-list link is `index + 1` in the vacant state word's link bits.
const _: () = assert!(SLAB_CAPACITY < 1 << LINK_BITS);

/// Free-list head: low 32 bits are `index + 1` (0 = empty), high 32 bits a tag.
const EMPTY: u32 = 0;

/// A [`FreeCache`] goes to the shared free list when it holds this many slots.
pub const FREE_BATCH: u32 = if cfg!(loom) { 2 } else { 32 };

/// Slots one thread freed, for it to reuse before the shared free list (module docs): a
/// chain through the slots' link bits, `index + 1` at each end (0: empty). One thread's:
/// not `Sync`. A cache belongs to the first slab it is used with (the slab's process-wide
/// number, never reused); using it with another panics, since its slot indexes would name
/// that slab's slots.
///
/// ```
/// use genrt_waker::{FreeCache, Slab};
/// let slab = Slab::new(0);
/// let cache = FreeCache::default();
/// let (a, ga) = slab.insert_cached(1, &cache).unwrap();
/// slab.start_poll(a, ga).unwrap().complete_cached(&cache);
/// let (b, gb) = slab.insert_cached(2, &cache).unwrap();
/// assert_eq!((a, ga + 1), (b, gb), "the freed slot came back from the cache");
/// ```
#[derive(Debug, Default)]
pub struct FreeCache {
    head: std::cell::Cell<u32>,
    tail: std::cell::Cell<u32>,
    len: std::cell::Cell<u32>,
    /// The number of the slab it belongs to (`Slab::number`); 0 until first used.
    slab: std::cell::Cell<u64>,
}

impl FreeCache {
    /// Binds the cache to the slab numbered `slab` on first use; panics if it belongs to
    /// another (which safe code could otherwise use to hand out an occupied slot).
    #[track_caller]
    fn check(&self, slab: u64) {
        match self.slab.get() {
            0 => self.slab.set(slab),
            bound if bound == slab => {}
            _ => panic!("genrt-waker: a FreeCache was used with a slab other than its own"),
        }
    }
}

/// The next slab's number (`Slab::number`). std's even under loom: a static loom atomic would
/// need `lazy_static!`, and no model is about it.
static SLAB_NUMBERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// `repr(C)` with the state word first: a [`PageRef`] addresses a slot's state word as the
/// page's first byte plus `offset * size_of::<Slot<T>>()`, without knowing `T`.
#[repr(C)]
struct Slot<T> {
    state: SlotState,
    value: UnsafeCell<Option<T>>,
}

/// A fixed-address store of task values, indexed by slot and checked by generation.
///
/// ```
/// use genrt_waker::{Slab, WakeOutcome};
///
/// let slab = Slab::new(0);
/// let (slot, generation) = slab.insert("task").unwrap();
/// // A freshly inserted value is scheduled: the caller queues its key.
/// let guard = slab.start_poll(slot, generation).unwrap();
/// assert_eq!(*guard.value(), "task");
/// assert_eq!(guard.complete(), "task");
/// // The slot's generation moved on: the old key is stale.
/// assert_eq!(slab.wake(slot, generation), WakeOutcome::Stale);
/// ```
pub struct Slab<T> {
    /// Page `p`: null until installed, then the first of `page_len(p)` slots allocated as a
    /// `Box<[Slot<T>]>` by `install_page`, owned by the slab and freed only by its `Drop`.
    pages: [AtomicPtr<Slot<T>>; PAGES],
    /// Slots below this index have been handed out at least once.
    next_unused: AtomicU32,
    free_head: AtomicU64,
    /// The generation every fresh slot starts at.
    base: u32,
    /// Process-wide, never reused (a [`FreeCache`] is bound to it).
    number: u64,
    /// The slab owns its slots (and so their values) through the raw page pointers.
    _owns: PhantomData<Box<[Slot<T>]>>,
}

// SAFETY: a slot's value is only ever accessed by one thread at a time (see the module docs),
// exactly like a `Mutex<T>`, so sharing the slab needs the values to be `Send` and no more.
unsafe impl<T: Send> Sync for Slab<T> {}
// SAFETY: moving the slab moves the values with it.
unsafe impl<T: Send> Send for Slab<T> {}

impl<T> Slab<T> {
    /// An empty slab whose fresh slots start at generation `base`.
    ///
    /// A runtime takes `base` from its registry entry so that its keys do not repeat the
    /// generations of the runtime that used the entry before it.
    pub fn new(base: u32) -> Slab<T> {
        Slab {
            pages: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            next_unused: AtomicU32::new(0),
            free_head: AtomicU64::new(EMPTY as u64),
            base,
            number: SLAB_NUMBERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            _owns: PhantomData,
        }
    }

    /// Stores `value` in a free slot and marks it scheduled. Returns the slot index and the
    /// generation of the new occupant, or gives `value` back when all
    /// [`SLAB_CAPACITY`] slots are taken.
    pub fn insert(&self, value: T) -> Result<(u32, u32), T> {
        let Some(index) = self.pop_free().or_else(|| self.fresh()) else {
            return Err(value);
        };
        let slot = self.slot(index).expect("a slot handed out has its page");
        slot.value.with_mut(|cell| {
            // SAFETY: the slot came off the free list or was never handed out, so it is vacant
            // and this thread is its only owner until `occupy` below publishes it (module
            // docs); `cell` points into a live page.
            unsafe { *cell = Some(value) }
        });
        Ok((index, slot.state.occupy()))
    }

    /// [`Slab::insert`] that takes the slot `cache` freed last, if it holds one.
    ///
    /// # Panics
    ///
    /// If `cache` was used with another slab.
    #[track_caller]
    pub fn insert_cached(&self, value: T, cache: &FreeCache) -> Result<(u32, u32), T> {
        cache.check(self.number);
        let top = cache.head.get();
        if top == EMPTY {
            return self.insert(value);
        }
        let index = top - 1;
        let slot = self.slot(index).expect("a cached slot has its page");
        // This thread wrote the link (`complete_cached`), and no other thread writes a
        // cached slot's state: the load reads it back.
        let next = slot.state.link();
        cache.head.set(next);
        if next == EMPTY {
            cache.tail.set(EMPTY);
        }
        cache.len.set(cache.len.get() - 1);
        slot.value.with_mut(|cell| {
            // SAFETY: a cached slot is vacant and reachable by this thread alone (the
            // cache is not `Sync`), until `occupy` below publishes it (module docs).
            unsafe { *cell = Some(value) }
        });
        Ok((index, slot.state.occupy()))
    }

    /// Hands every slot in `cache` to the shared free list (a thread about to park or exit).
    ///
    /// # Panics
    ///
    /// If `cache` was used with another slab.
    #[track_caller]
    pub fn flush(&self, cache: &FreeCache) {
        cache.check(self.number);
        let (first, last) = (cache.head.get(), cache.tail.get());
        if first == EMPTY {
            return;
        }
        cache.head.set(EMPTY);
        cache.tail.set(EMPTY);
        cache.len.set(0);
        self.push_chain(first - 1, last - 1);
    }

    /// Wakes the occupant of `slot` if its generation is `generation`.
    pub fn wake(&self, slot: u32, generation: u32) -> WakeOutcome {
        match self.slot(slot) {
            Some(s) => s.state.wake(generation),
            None => WakeOutcome::Stale,
        }
    }

    /// [`Slab::wake`] for a caller that has issued `fence(SeqCst)` after every write this
    /// wake must hand to the task's next poll, and has written nothing since: that fence
    /// stands for the one a coalesced wake would issue (see [`WakeTarget::wake_fenced`]).
    /// Without such a fence, a coalesced wake may be lost: use [`Slab::wake`].
    ///
    /// ```
    /// use std::sync::atomic::{fence, Ordering};
    /// use genrt_waker::{Slab, WakeOutcome};
    /// let slab = Slab::new(0);
    /// let (slot, generation) = slab.insert(()).unwrap(); // inserted scheduled
    /// fence(Ordering::SeqCst);
    /// assert_eq!(slab.wake_fenced(slot, generation), WakeOutcome::Coalesced);
    /// ```
    ///
    /// [`WakeTarget::wake_fenced`]: crate::registry::WakeTarget::wake_fenced
    pub fn wake_fenced(&self, slot: u32, generation: u32) -> WakeOutcome {
        match self.slot(slot) {
            Some(s) => s.state.wake_fenced(generation),
            None => WakeOutcome::Stale,
        }
    }

    /// Takes the poll permission of a scheduled occupant. `None` if the key is stale or the
    /// task is not scheduled.
    pub fn start_poll(&self, slot: u32, generation: u32) -> Option<PollGuard<'_, T>> {
        let s = self.slot(slot)?;
        s.state.start_poll(generation).then(|| PollGuard {
            slab: self,
            index: slot,
        })
    }

    /// Takes the poll permission of an occupant that is not being polled, whatever its
    /// scheduling state, so that it can be dropped. An occupant that is being polled is
    /// flagged instead: its [`PollGuard::finish_pending`] reports [`AfterPoll::Cancel`].
    ///
    /// With `generation == None` any occupant is claimed.
    pub fn claim(&self, slot: u32, generation: Option<u32>) -> Claim<'_, T> {
        let Some(s) = self.slot(slot) else {
            return Claim::Vacant;
        };
        match s.state.claim(generation) {
            ClaimOutcome::Claimed(_) => Claim::Claimed(PollGuard {
                slab: self,
                index: slot,
            }),
            ClaimOutcome::MarkedRunning => Claim::MarkedRunning,
            ClaimOutcome::Vacant => Claim::Vacant,
        }
    }

    /// Number of slots handed out so far (occupied or free); indexes below it may be occupied.
    pub fn high_water(&self) -> u32 {
        self.next_unused.load(Ordering::Acquire)
    }

    /// The generation a later slab should start at so that none of this slab's keys can
    /// name its tasks: one past the newest generation used, counted from `base`.
    pub fn next_base(&self) -> u32 {
        let used = self.high_water().min(SLAB_CAPACITY as u32);
        let newest = (0..used)
            .filter_map(|i| self.slot(i))
            .map(|s| s.state.generation().wrapping_sub(self.base))
            .max()
            .unwrap_or(0);
        self.base.wrapping_add(newest).wrapping_add(1)
    }

    /// Whether the slot holds a task right now (a racy snapshot, for tests).
    #[cfg(test)]
    pub(crate) fn is_occupied(&self, slot: u32) -> bool {
        self.slot(slot).is_some_and(|s| s.state.is_occupied())
    }

    /// Where page `page`'s slots are, once it is installed: what a
    /// [`WakeTarget::slab_page`](crate::registry::WakeTarget::slab_page) hands the registry.
    ///
    /// ```
    /// use genrt_waker::Slab;
    /// let slab = Slab::new(0);
    /// assert!(slab.page_ref(0).is_none()); // no slot handed out yet
    /// slab.insert(()).unwrap();
    /// assert!(slab.page_ref(0).is_some());
    /// ```
    pub fn page_ref(&self, page: usize) -> Option<PageRef<'_>> {
        // Acquire: as in `slot`.
        let first = self.pages.get(page)?.load(Ordering::Acquire);
        (!first.is_null()).then(|| PageRef {
            first: first.cast::<u8>().cast_const(),
            stride: std::mem::size_of::<Slot<T>>(),
            page,
            _slab: PhantomData,
        })
    }

    fn slot(&self, index: u32) -> Option<&Slot<T>> {
        let (page, offset) = page_of(index)?;
        // Acquire: pairs with the Release of the compare-and-swap in `install_page`, so the
        // slots' initialisation is visible before any of them is read.
        let first = self.pages[page].load(Ordering::Acquire);
        if first.is_null() {
            return None;
        }
        // SAFETY: `first` came from `install_page`: a `Box<[Slot<T>]>` of `page_len(page)`
        // initialised slots (acquired above), never moved, freed only by `Drop` (`&mut self`),
        // so it outlives this `&self` borrow; `page_of` keeps `offset < page_len(page)`.
        Some(unsafe { &*first.add(offset) })
    }

    /// Allocates page `page` unless another thread already has, and returns once it is
    /// installed.
    fn install_page(&self, page: usize) {
        let len = page_len(page);
        let base = self.base;
        let slots: Box<[Slot<T>]> = (0..len)
            .map(|_| Slot {
                state: SlotState::vacant(base),
                value: UnsafeCell::new(None),
            })
            .collect();
        let fresh = Box::into_raw(slots).cast::<Slot<T>>();
        // Release on success: publishes the initialised slots; pairs with the Acquire load in
        // `slot`. Relaxed on failure: this thread reads nothing through the winner's pointer
        // here, and any later read goes through `slot`'s Acquire.
        if self.pages[page]
            .compare_exchange(ptr::null_mut(), fresh, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            // SAFETY: `fresh` came from `Box::into_raw` of a boxed slice of `len` slots just
            // above, and the failed compare-and-swap means it was never published, so this
            // thread still owns it alone.
            drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(fresh, len)) });
        }
    }

    fn fresh(&self) -> Option<u32> {
        let index = self.next_unused.fetch_add(1, Ordering::AcqRel);
        if index as usize >= SLAB_CAPACITY {
            // Undo so the counter cannot wrap after 2^32 failed attempts.
            self.next_unused.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        let (page, _) = page_of(index)?;
        // Acquire: as in `slot` (a page seen here is used by `insert` right after).
        if self.pages[page].load(Ordering::Acquire).is_null() {
            self.install_page(page);
        }
        Some(index)
    }

    fn pop_free(&self) -> Option<u32> {
        // Acquire: pairs with the Release CAS in `push_free`, so the slot's vacated state and
        // link written before the push are visible here.
        let mut head = self.free_head.load(Ordering::Acquire);
        loop {
            let top = head as u32;
            if top == EMPTY {
                return None;
            }
            let index = top - 1;
            let next = self.slot(index)?.state.link();
            let new = (((head >> 32) + 1) << 32) | next as u64;
            match self.free_head.compare_exchange_weak(
                head,
                new,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(index),
                Err(actual) => head = actual,
            }
        }
    }

    fn push_free(&self, index: u32) {
        self.push_chain(index, index);
    }

    /// Pushes the chain of vacant slots from `first` to `last` (linked through their link
    /// bits; one slot if they are equal) onto the shared free list.
    fn push_chain(&self, first: u32, last: u32) {
        let slot = self.slot(last).expect("a vacated slot has its page");
        let mut head = self.free_head.load(Ordering::Relaxed);
        loop {
            slot.state.set_link(head as u32);
            let new = (((head >> 32) + 1) << 32) | (first + 1) as u64;
            // Release: publishes the links and the vacated slots of the chain (written by
            // this thread before). Pairs with the Acquire in `pop_free`.
            match self.free_head.compare_exchange_weak(
                head,
                new,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => head = actual,
            }
        }
    }
}

impl<T> Drop for Slab<T> {
    fn drop(&mut self) {
        for (page, first) in self.pages.iter().enumerate() {
            // Relaxed: `&mut self` means every other thread's use of the slab already
            // happened-before this drop (through whatever handed over the ownership).
            let first = first.load(Ordering::Relaxed);
            if !first.is_null() {
                // SAFETY: a non-null page pointer came from `Box::into_raw` of a boxed slice
                // of `page_len(page)` slots in `install_page`; nobody else can reach it any
                // more (`&mut self`), and it is freed exactly once, here. Dropping the slots
                // drops the values still in them.
                drop(unsafe {
                    Box::from_raw(ptr::slice_from_raw_parts_mut(first, page_len(page)))
                });
            }
        }
    }
}

/// One installed page of a [`Slab`], borrowed from it: enough to find the state word of any
/// of its slots without knowing the slab's value type. Only [`Slab::page_ref`] makes one.
///
/// The registry keeps the address beyond the borrow, for as long as the target that handed
/// it out stays registered: a page is freed only with its slab, and a slab reached through
/// `&self` of a target lives at least as long as that target (see
/// [`WakeTarget::slab_page`](crate::registry::WakeTarget::slab_page)).
#[derive(Clone, Copy, Debug)]
pub struct PageRef<'a> {
    /// The page's first slot.
    pub(crate) first: *const u8,
    /// `size_of::<Slot<T>>()`: the distance between two slots' state words.
    pub(crate) stride: usize,
    /// Which page of its slab it is: `page_len(page)` slots long.
    pub(crate) page: usize,
    _slab: PhantomData<&'a ()>,
}

/// The state word of slot `offset` of the page that starts at `first`, slots `stride` bytes
/// apart.
///
/// # Safety
///
/// `first` and `stride` come from a [`PageRef`] of page `page` of a slab that is still alive,
/// and `offset < page_len(page)` (as [`page_of`] returns it).
pub(crate) unsafe fn state_at<'a>(first: *const u8, stride: usize, offset: usize) -> &'a SlotState {
    // SAFETY: the page is a live `[Slot<T>]` of more than `offset` slots whose size is
    // `stride` (the caller's contract), and `Slot<T>` is `repr(C)` with the state word first,
    // so this is slot `offset`'s state word, initialised since the page was installed.
    unsafe { &*first.add(offset * stride).cast::<SlotState>() }
}

/// Result of [`Slab::claim`].
pub enum Claim<'a, T> {
    /// The caller holds the occupant; drop it through the guard.
    Claimed(PollGuard<'a, T>),
    /// The occupant is being polled; its poller will be told to drop it.
    MarkedRunning,
    /// Nothing to claim.
    Vacant,
}

/// What [`PollGuard::finish_pending`] decided.
pub enum AfterPoll<'a, T> {
    /// The task is idle until woken.
    Idle,
    /// The task was woken during its poll and is scheduled again: queue its key.
    Reschedule,
    /// Shutdown wants the task dropped: the guard is handed back to do it.
    Cancel(PollGuard<'a, T>),
}

/// The poll permission of one occupied slot.
///
/// While a guard exists no other thread touches the slot's value. Dropping a guard without
/// calling [`finish_pending`](PollGuard::finish_pending) or [`complete`](PollGuard::complete)
/// completes the slot (the value is dropped), so a panic cannot leave a slot stuck.
pub struct PollGuard<'a, T> {
    slab: &'a Slab<T>,
    index: u32,
}

impl<'a, T> PollGuard<'a, T> {
    /// The occupant's value.
    pub fn value(&self) -> &T {
        let value = self.slot().value.with(|cell| {
            // SAFETY: the guard holds the poll permission (`RUNNING`), so no other thread
            // writes the value while this borrow, tied to `&self`, lives (module docs); the
            // guard's own `take` runs only in `complete(self)` and `drop`, which the borrow
            // checker keeps from overlapping this borrow.
            unsafe { &*cell }
        });
        value.as_ref().expect("an occupied slot holds a value")
    }

    /// Ends a poll that returned `Pending`.
    pub fn finish_pending(self) -> AfterPoll<'a, T> {
        match self.slot().state.finish_pending() {
            FinishOutcome::Idle => {
                std::mem::forget(self);
                AfterPoll::Idle
            }
            FinishOutcome::Reschedule => {
                std::mem::forget(self);
                AfterPoll::Reschedule
            }
            FinishOutcome::Cancel => AfterPoll::Cancel(self),
        }
    }

    /// Removes the occupant, frees the slot with its generation bumped, and returns the value
    /// so the caller can drop it outside any critical section.
    pub fn complete(self) -> T {
        let value = self.take();
        std::mem::forget(self);
        value
    }

    /// [`PollGuard::complete`] that puts the slot in `cache` (for this thread's next
    /// [`Slab::insert_cached`]) instead of the shared free list; a cache that reaches
    /// [`FREE_BATCH`] slots goes to the shared list.
    ///
    /// # Panics
    ///
    /// If `cache` was used with another slab (the slot is then freed to the shared list).
    #[track_caller]
    pub fn complete_cached(self, cache: &FreeCache) -> T {
        // Checked before anything changes: a panic here drops the guard, which completes
        // the slot the plain way.
        cache.check(self.slab.number);
        let slot = self.slot();
        let value = slot.value.with_mut(|cell| {
            // SAFETY: as in `take`: the guard holds the poll permission, and the slot is
            // vacated only after the value is out.
            unsafe { (*cell).take() }
        });
        let top = cache.head.get();
        slot.state.vacate_linked(top);
        cache.head.set(self.index + 1);
        if top == EMPTY {
            cache.tail.set(self.index + 1);
        }
        cache.len.set(cache.len.get() + 1);
        let slab = self.slab;
        std::mem::forget(self);
        if cache.len.get() >= FREE_BATCH {
            slab.flush(cache);
        }
        value.expect("an occupied slot holds a value")
    }

    fn take(&self) -> T {
        let slot = self.slot();
        let value = slot.value.with_mut(|cell| {
            // SAFETY: the guard holds the poll permission, so this thread alone touches the
            // value; `vacate` below happens after the take, so the next owner sees an empty
            // cell.
            unsafe { (*cell).take() }
        });
        slot.state.vacate();
        self.slab.push_free(self.index);
        value.expect("an occupied slot holds a value")
    }

    fn slot(&self) -> &'a Slot<T> {
        self.slab
            .slot(self.index)
            .expect("a guarded slot has its page")
    }
}

impl<T> Drop for PollGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// Number of slots in page `page`.
const fn page_len(page: usize) -> usize {
    FIRST_PAGE_SLOTS << page
}

/// Maps a slot index to `(page, offset)`; `None` past the capacity.
pub(crate) fn page_of(index: u32) -> Option<(usize, usize)> {
    if index as usize >= SLAB_CAPACITY {
        return None;
    }
    let shifted = index as usize + FIRST_PAGE_SLOTS;
    let page = (usize::BITS - 1 - shifted.leading_zeros() - FIRST_PAGE_SHIFT) as usize;
    Some((page, shifted - page_len(page)))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn pages_tile_the_index_space() {
        assert_eq!(page_of(0), Some((0, 0)));
        assert_eq!(page_of(31), Some((0, 31)));
        assert_eq!(page_of(32), Some((1, 0)));
        assert_eq!(page_of(95), Some((1, 63)));
        assert_eq!(page_of(96), Some((2, 0)));
        let last = SLAB_CAPACITY as u32 - 1;
        assert_eq!(
            page_of(last),
            Some((PAGES - 1, (FIRST_PAGE_SLOTS << (PAGES - 1)) - 1))
        );
        assert_eq!(page_of(last + 1), None);
    }

    #[test]
    fn freed_slots_are_reused_with_a_new_generation() {
        let slab = Slab::new(100);
        let (a, ga) = slab.insert(1).unwrap();
        assert_eq!(ga, 100);
        slab.start_poll(a, ga).unwrap().complete();
        let (b, gb) = slab.insert(2).unwrap();
        assert_eq!(a, b, "the freed slot is reused first");
        assert_eq!(gb, 101);
        assert_eq!(slab.wake(a, ga), WakeOutcome::Stale);
        assert!(slab.start_poll(a, ga).is_none());
        assert_eq!(slab.high_water(), 1);
        assert_eq!(slab.next_base(), 102);
    }

    #[test]
    fn a_free_cache_hands_its_slots_back_whole() {
        let slab = Slab::new(0);
        let cache = FreeCache::default();
        let n = FREE_BATCH + 5;
        let keys: Vec<_> = (0..n)
            .map(|i| slab.insert_cached(i, &cache).unwrap())
            .collect();
        assert_eq!(slab.high_water(), n);
        for &(s, g) in &keys {
            slab.start_poll(s, g).unwrap().complete_cached(&cache);
            assert_eq!(
                slab.wake(s, g),
                WakeOutcome::Stale,
                "a cached slot is vacant"
            );
        }
        // FREE_BATCH of them went to the shared list as one chain; 5 stay cached and come
        // back first, newest first.
        let (s, g) = slab.insert_cached(100, &cache).unwrap();
        assert_eq!((s, g), (keys[n as usize - 1].0, 1));
        slab.start_poll(s, g).unwrap().complete_cached(&cache);
        slab.flush(&cache);
        // Every freed slot is reachable from the shared list: no fresh slot is needed.
        let again: Vec<_> = (0..n).map(|i| slab.insert(i).unwrap()).collect();
        assert_eq!(slab.high_water(), n, "the chain's links are intact");
        let mut slots: Vec<_> = again.iter().map(|&(s, _)| s).collect();
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), n as usize);
        assert_eq!(slab.next_base(), 3);
    }

    #[test]
    fn concurrent_caches_and_the_shared_list_keep_every_value_once() {
        let slab = Arc::new(Slab::new(0));
        let rounds = if cfg!(miri) { 40 } else { 20_000 };
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let slab = slab.clone();
                std::thread::spawn(move || {
                    // Threads 0 and 1 go through caches of their own, 2 and 3 through the
                    // shared list; each holds three tasks at a time.
                    let cache = FreeCache::default();
                    let cached = t < 2;
                    let mut sum = 0u64;
                    for i in 0..rounds {
                        let keys: Vec<_> = (0..3u64)
                            .map(|k| {
                                let v = t * 10_000_000 + i * 3 + k;
                                let key = if cached {
                                    slab.insert_cached(v, &cache).unwrap()
                                } else {
                                    slab.insert(v).unwrap()
                                };
                                (key, v)
                            })
                            .collect();
                        for ((s, g), v) in keys {
                            let guard = slab.start_poll(s, g).unwrap();
                            let got = if cached {
                                guard.complete_cached(&cache)
                            } else {
                                guard.complete()
                            };
                            sum += got - v;
                        }
                    }
                    slab.flush(&cache);
                    sum
                })
            })
            .collect();
        for t in threads {
            assert_eq!(
                t.join().unwrap(),
                0,
                "a value came back from another's slot"
            );
        }
        // At most 3 live per thread, and up to FREE_BATCH - 1 parked in each of two caches
        // between flushes.
        assert!(
            slab.high_water() <= 4 * 3 + 2 * FREE_BATCH,
            "slots are recycled"
        );
    }

    #[test]
    fn a_free_cache_refuses_a_second_slab() {
        let (a, b) = (Slab::new(0), Slab::new(0));
        let cache = FreeCache::default();
        let (s, g) = a.insert_cached("a", &cache).unwrap();
        a.start_poll(s, g).unwrap().complete_cached(&cache);
        let (s, g) = b.insert("b").unwrap();
        let guard = b.start_poll(s, g).unwrap();
        let hit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            b.insert_cached("intruder", &cache)
        }));
        assert!(
            hit.is_err(),
            "a's cached slot 0 would have been handed out in b"
        );
        assert_eq!(*guard.value(), "b");
        assert!(
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| b.flush(&cache))).is_err()
        );
        // A guard completed into the wrong cache panics and frees its slot the plain way.
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            guard.complete_cached(&cache)
        }))
        .is_err());
        assert!(!b.is_occupied(s));
        a.flush(&cache);
    }

    #[test]
    fn dropping_a_guard_frees_the_slot_and_the_value() {
        let slab = Slab::new(0);
        let value = Arc::new(());
        let (s, g) = slab.insert(value.clone()).unwrap();
        drop(slab.start_poll(s, g).unwrap());
        assert_eq!(Arc::strong_count(&value), 1);
        assert!(!slab.is_occupied(s));
    }

    #[test]
    fn dropping_the_slab_drops_its_values() {
        let value = Arc::new(());
        {
            let slab = Slab::new(0);
            for _ in 0..100 {
                slab.insert(value.clone()).unwrap();
            }
            assert_eq!(Arc::strong_count(&value), 101);
        }
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[test]
    fn claim_respects_running_holders() {
        let slab = Slab::new(0);
        let (s, g) = slab.insert(5).unwrap();
        let guard = slab.start_poll(s, g).unwrap();
        assert!(matches!(slab.claim(s, None), Claim::MarkedRunning));
        match guard.finish_pending() {
            AfterPoll::Cancel(guard) => assert_eq!(guard.complete(), 5),
            _ => panic!("a flagged task must be cancelled"),
        }
        assert!(matches!(slab.claim(s, None), Claim::Vacant));
    }

    #[test]
    fn concurrent_insert_and_complete_keep_every_value_once() {
        let slab = Arc::new(Slab::new(0));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let slab = slab.clone();
                std::thread::spawn(move || {
                    let mut sum = 0u64;
                    for i in 0..if cfg!(miri) { 50 } else { 20_000 } {
                        let v = (t * 1_000_000 + i) as u64;
                        let (s, g) = slab.insert(v).unwrap();
                        sum += slab.start_poll(s, g).unwrap().complete();
                        sum -= v;
                    }
                    sum
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 0);
        }
        assert!(slab.high_water() <= 4 * 2, "slots are recycled, not leaked");
    }
}
