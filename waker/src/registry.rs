//! The process-wide runtime registry: maps the runtime part of a [`TaskKey`] to a live
//! runtime, or to nothing once that runtime is gone; and the one thread-local that says which
//! runtime (and, for the runtime's own use, which worker) the current thread belongs to.
//!
//! A waker outlives its runtime whenever someone keeps it, so a wake must find out whether
//! the runtime still exists without touching memory that may have been freed (the bug of
//! async-executor #163). The registry is a static table of [`MAX_RUNTIMES`] entries, each a
//! pointer to the runtime's target (`Arc::into_raw` of its `Arc<T>`; null: no runtime) with a
//! static table of `T`'s calls beside it, and a static
//! pool of per-thread *wake records* (hazard records, Michael 2004, keyed by entry instead of
//! by pointer). Records are never freed: a record is claimed by a thread on its first foreign
//! wake and handed back when the thread exits, for the next thread to reuse.
//!
//! # The protocol
//!
//! Each entry has four words: `taken` (a registration holds the entry), `target` (the
//! pointer a wake follows), `vtable` (the calls for the target's type: stored before
//! `target`, published with it) and `next_base` (the generation handoff). Each record has
//! `announce` (0, or 1 + the index of the entry a wake of its thread is inside) and `in_use`.
//!
//! Registering (`register`):
//!
//! 1. CAS the entry's `taken` from false to true (Acquire: pairs with step U5's Release, so
//!    the previous runtime's unregistering, its `next_base` and the stale counts of its wakes
//!    happen-before this runtime's start);
//! 2. read `next_base`, build the target, store its type's vtable, then its `Arc`'s raw
//!    pointer into `target` (Release: pairs with the Acquire load of W3, so a wake that finds
//!    the pointer sees a complete target and the matching vtable).
//!
//! Waking through the registry (`wake_through_entry`, from a thread outside the key's
//! runtime, with the thread's record `r`):
//!
//! - W1. store `1 + index` into `r.announce` (Release: pairs with U3's Acquire load, see the
//!   proof);
//! - W2. a SeqCst fence (pairs with U2's), or only a compiler fence where U2 is the
//!   system-wide `membarrier` (`barrier.rs`: the same proof, with the kernel's barrier in the
//!   waking thread standing for W2's fence): on the entries below `ASYMMETRIC_ENTRIES`, where
//!   the kernel allows;
//! - W3. load `target` (Acquire); if non-null, call the target's `wake_fenced` through the
//!   vtable (a full W2 also serves the target as a coalesced wake's fence, `state.rs`; after
//!   a light one the wake issues a fence of its own first, or, on a cached page, lets the
//!   slot's state fence a coalesced wake itself);
//! - W4. store 0 into `r.announce` (Release: pairs with U3's Acquire load). A waker the
//!   target hands back (`WakeTarget::wake_fenced_deferred`) is woken after W4: no code but
//!   the target's own runs inside the window. (Its call is the window's last use of the
//!   target, so the cold path that has one closes the window early, wakes it, and leaves
//!   the guard a second, harmless W4.) W4 is issued on every way out, a panicking target's
//!   included: a stale wake on a cached page and a wake that finds no target store it
//!   themselves (nothing between W1 and W4 on their path can panic), and the other paths
//!   (`wake_live`: the slot's transition and the target's `schedule_fenced`;
//!   `wake_uncached`) are tail calls that close the window with a guard of their own. They
//!   load `target` again rather than take W3's value as an argument (`target_again`): inside
//!   the window the entry holds that same pointer or, after U1, null, which makes the wake
//!   one that read null at W3 (it has changed nothing yet).
//!
//! Unregistering (`Registration::drop`):
//!
//! - U1. swap `target` to null (Acquire: pairs with register's Release, as this thread
//!   releases the target);
//! - U2. a SeqCst fence (pairs with W2's), and the system-wide `membarrier` where W2 is
//!   only a compiler fence (`barrier.rs`);
//! - U3. for every record: load `announce` (Acquire) until it has been seen once not holding
//!   `1 + index` (spin, then yield: a wake in its window runs the runtime's `wake`, a few
//!   atomics, and never user code);
//! - U4. store `next_base`;
//! - U5. store false into `taken` (Release: pairs with step 1's Acquire);
//! - U6. release the registry's reference to the target (through the vtable).
//!
//! # Proof sketch
//!
//! *No wake uses a target after U6.* Take a wake that found the old pointer `p` at W3. Its W3
//! load did not read U1's null, so it precedes U1 in `target`'s modification order; if U2
//! came before W2 in the SeqCst order, W3 (after W2) would have to read U1 or later (the
//! fence rule of C++20 [atomics.order]), so W2 precedes U2. By the same rule, U3's load of
//! that record (after U2) reads W1's store or a later one in `announce`'s order. W1's value
//! holds the index, so U3 keeps loading until it reads a later value: W4's 0, or the W1 of a
//! later wake of the same thread. Both are Release stores that follow this wake's use of `p`
//! in the thread's program order, so U3's Acquire load synchronises with it, and the use
//! happens-before U4, U5 and U6. A wake that found null does nothing; a wake that found
//! another pointer found a later registration's (below).
//!
//! *No wake of a runtime reaches it after its `Registration::drop` returns*: a wake that
//! reads `target` after U1 reads null, or the pointer of a later registration of the entry,
//! which is published (step 2) only after U5: never the old runtime.
//!
//! *Re-registration.* A wake that read the old pointer finishes (W4) before U3 lets go, so
//! before U5 frees the entry and before any re-registration can publish a new pointer. A wake
//! that reads the new pointer is protected by its own announcement against the new runtime's
//! unregistering, by the argument above; it carries a key of the old runtime, whose
//! generation lies below the new runtime's base (the handoff in U4 and step 1), so the new
//! runtime treats it as stale.
//!
//! *Records.* Each record is written only by the thread that claimed it (`in_use`, a CAS with
//! Acquire, handed back with a Release store, so the next owner continues after the last);
//! writers and metrics only read records. A record sits on cache lines of its own (its
//! announcement and page cache, its stale counts), so a stale or coalesced wake (a finished
//! or already scheduled task's key: W1-W4 and the slot's state check, which only reads the
//! slot; or a dropped runtime's key: W1-W4 alone) writes no cache line that another thread
//! writes. The entry's words are written only by register and unregister.
//!
//! *Leaks.* A record is static and a target is held only by its entry (until U6) and by
//! threads inside the runtime's context: a waker itself holds nothing, so a stale waker
//! retains 0 bytes, before and after its runtime is gone.
//!
//! # Page caches
//!
//! A target that keeps its tasks in a [`Slab`](crate::Slab) hands out its pages
//! ([`WakeTarget::slab_page`]); a wake through the registry then does the slot's part of the
//! wake itself, between W3 and W4: it reads the key's state word (the generation check, and
//! the coalesced wake with W2 as its fence) and calls the target only when the wake
//! scheduled the task ([`WakeTarget::schedule_fenced`]). Each record remembers, for one
//! registration at a time, the pages its owner has looked up (`PageCache`), keyed by the
//! registration's number (`Entry::registration`: process-wide, never reused). So a stale or
//! coalesced wake follows no pointer of the runtime's after the fence except the state word:
//! the page's address comes from the thread's own record (read after W3 finds a target: a
//! wake of a dropped runtime reads nothing more than the protocol needs).
//!
//! *Why a cached page is alive.* The record's owner stores a page only inside a window in
//! which W3 found registration `n`'s target, and uses it only inside a later window in which
//! W3 found a target and the entry's number read after W3 is `n`. Register (step 2) stores
//! the number before the target (Release; W3 acquires), and no registration can store
//! another while this record announces the entry (U3 of the one before it waits first), so
//! that target is registration `n`'s. By the proof above, registration `n`'s U6 waits for
//! this window; a [`PageRef`] borrows its slab from `&self` of the target, so in safe code
//! that slab lives as long as the target is neither dropped nor mutably borrowed (neither
//! can happen while the entry holds its `Arc`), and a slab frees its pages only when it is
//! dropped: so the page is alive. A number never repeats, so a cache filled under an earlier
//! registration of the entry never matches a later one. *Why the address is a state word.*
//! Only the page asked for is cached (a target may hand out another), and every page in the
//! cache has the cached stride (a page of another stride, from a second slab of the target,
//! empties the cache first): so `first + offset * stride` is slot `offset`'s state word of
//! a live page of `page_len(page)` slots (`Slot<T>` is `repr(C)`, state word first).
//!
//! # Records beyond the pool
//!
//! The pool holds [`RECORDS`] records. A thread claims one for good on its first wake through
//! the registry; a thread that finds them all taken (or whose thread-locals are already being
//! destroyed) borrows one of the [`SPARE_RECORDS`] spare ones for the length of one wake,
//! which is the same protocol with a CAS on a shared line: correct, only slower.
//!
//! # The thread context
//!
//! A thread that belongs to a runtime (a worker, or a thread inside `block_on`) enters the
//! runtime's context with [`WakeContext::enter`]: wakes for that runtime issued on that
//! thread then go straight to the target in this module's thread-local, skipping the entry,
//! and carry the runtime's own per-thread context (an `Rc<dyn Any>` the runtime made, which
//! it alone can name and downcast; the scheduler keeps its worker there). Whoever enters a
//! runtime id decides where that thread's wakes for it go, so entering takes the
//! [`WakeContext`], which only `register` makes, once per registration, and hands to the
//! runtime it registers: code outside that runtime cannot redirect its wakes, and cannot
//! forge the per-thread context (its type is private to the runtime). This is the process's
//! one "which runtime is this thread in" thread-local; [`current_context`] reads it.
//!
//! It comes in two halves. `Fast`, which every wake reads, has no destructor, so reaching it
//! is a plain thread-local load with no registration check, and it stays readable while the
//! thread's other thread-locals are destroyed: it holds the thread's record and a raw
//! pointer to the innermost entered context. `Owner` owns that context (an `Rc`, replaced
//! only together with the pointer, and dropped only after it) and hands the record back in
//! its destructor, after pointing `Fast` at spare records. A wake on the local path marks
//! itself in `Fast`, so a target that entered or left a context inside its `wake` (which
//! could free the context in use) panics instead.
//!
//! # Stale-wake counts
//!
//! A wake that the target reports [`WakeOutcome::Stale`] is counted in the waking thread's
//! record, one counter per entry, written by that thread alone. A runtime's count
//! ([`WakeContext::stale_wakes`]) is the sum over all records for its entry, less that sum when
//! it registered (exact there: step 1's Acquire). Counts are made inside the W1-W4 window or
//! by threads inside the runtime's context, so they are complete once the runtime is quiet.
//!
//! Entries are reused, so each entry also remembers a generation base: a runtime that takes
//! an entry starts its slot generations after the last generation of the runtime before it,
//! and a waker of the old runtime does not name a task of the new one.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::ptr;
use std::rc::Rc;
use std::task::Waker;

use crate::key::{RuntimeId, TaskKey, MAX_RUNTIMES};
use crate::loom::spin;
use crate::loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
use crate::loom::sync::Arc;
use crate::slab::{page_of, state_at, PageRef, PAGES};
use crate::state::{SlotState, WakeOutcome};

/// The part of a runtime that a key waker calls.
pub trait WakeTarget: Send + Sync + 'static {
    /// Wakes the task `key` names, or does nothing if the key is stale, and says which.
    /// `context` is the per-thread context the runtime entered on this thread with
    /// [`WakeContext::enter`] when the wake comes from inside the runtime's context, `None`
    /// when it comes through the registry. It must not wake other key wakers.
    fn wake(&self, key: TaskKey, context: Option<&dyn Any>) -> WakeOutcome;

    /// The wake through the registry (`context` is `None`), called after a `fence(SeqCst)` of
    /// the waking thread (W2's, or one of its own where W2 is asymmetric), which follows every
    /// write the waker's wake publishes: a target may hand that fence on to [`Slab::wake_fenced`](crate::Slab::wake_fenced) so a
    /// coalesced wake costs no second fence (the argument needs only that the fence comes
    /// after the waker's writes and before the read of the state word; what the registry or
    /// the target write in between does not matter). By default, [`WakeTarget::wake`] with
    /// no context.
    fn wake_fenced(&self, key: TaskKey) -> WakeOutcome {
        self.wake(key, None)
    }

    /// Page `page` of the [`Slab`](crate::Slab) whose slots this target's keys name, if the
    /// target keeps its tasks in one and that page is installed: `slab.page_ref(page)`.
    ///
    /// With it, a wake through the registry reads the slot's state word itself (the waking
    /// thread remembers the page for the next wake), and calls the target only through
    /// [`WakeTarget::schedule_fenced`], when the wake scheduled the task: a stale or
    /// coalesced wake makes no call. The slab must live at least as long as the target (a
    /// field of it: the borrow of `&self` says as much), because the registry keeps the
    /// page's address for as long as the target stays registered. A page other than the one
    /// asked for is not used (the wake calls [`WakeTarget::wake_fenced`] instead). By
    /// default, `None`: every wake through the registry calls [`WakeTarget::wake_fenced`].
    fn slab_page(&self, page: usize) -> Option<PageRef<'_>> {
        let _ = page;
        None
    }

    /// Queues `key` after a wake through the registry found its slot idle and marked it
    /// scheduled ([`WakeOutcome::Schedule`]), as [`WakeTarget::wake_fenced`] would have.
    /// Called only for targets whose [`WakeTarget::slab_page`] gives pages, which must
    /// implement it: the default panics (out of the waker's `wake`; the registry closes its
    /// window on the way out, so nothing else is harmed, but the task stays scheduled and
    /// unqueued).
    fn schedule_fenced(&self, key: TaskKey) {
        panic!(
            "genrt: WakeTarget::slab_page gave a page, so WakeTarget::schedule_fenced must be \
             implemented to queue {key:?}"
        )
    }
    /// What the registry calls for [`WakeTarget::wake_fenced`]: the same, plus a waker the
    /// registry wakes once the wake's window (W1-W4) is closed. Inside the window a target
    /// must run no code but its own (a waker's `wake` could be anything: another key waker
    /// needing a record of its own, or code that waits on the thread that is unregistering
    /// this target); a target that has to wake a waker when it queues a task (a
    /// single-threaded scheduler waking the future that drives it) returns it here. By
    /// default, `wake_fenced` and no waker.
    fn wake_fenced_deferred(&self, key: TaskKey) -> (WakeOutcome, Option<Waker>) {
        (self.wake_fenced(key), None)
    }

    /// What the registry calls for [`WakeTarget::schedule_fenced`]: the same, plus a waker
    /// to wake once the window is closed (see [`WakeTarget::wake_fenced_deferred`]). By
    /// default, `schedule_fenced` and no waker.
    fn schedule_fenced_deferred(&self, key: TaskKey) -> Option<Waker> {
        self.schedule_fenced(key);
        None
    }
}

/// Number of entries: one per runtime id. Under loom, 2: a model never has more than a couple
/// of runtimes alive, and a model of re-registration fills both. Under miri, 16: each record
/// holds a counter per entry, and with the full tables (about 280,000 atomics in one static,
/// which `register` and `Registration::drop` walk) each of those two calls takes miri about a
/// minute under tree borrows; a runtime or `LocalSet` makes one of each.
const ENTRIES: usize = if cfg!(loom) {
    2
} else if cfg!(miri) {
    16
} else {
    MAX_RUNTIMES
};

/// Records a thread may claim for as long as it lives: threads waking keys through the
/// registry at the same time, beyond which wakes borrow spare records. Under loom, 2; under
/// miri, 8 (see `ENTRIES`).
pub const RECORDS: usize = if cfg!(loom) {
    2
} else if cfg!(miri) {
    8
} else {
    256
};

/// Records borrowed for one wake at a time (see "Records beyond the pool"). Under loom, 1;
/// under miri, 4.
pub const SPARE_RECORDS: usize = if cfg!(loom) {
    1
} else if cfg!(miri) {
    4
} else {
    16
};

const _: () = assert!(ENTRIES <= MAX_RUNTIMES);

/// Entries below this index pair a light W2 with a heavy U2 where the kernel allows
/// (`barrier.rs`); the others use a `SeqCst` fence on both sides. Which pair an entry uses
/// depends on its index alone, so a wake knows it before W1 and an unregistering agrees with
/// every wake of the entry, whoever holds it. Runtimes look for an entry in the first range
/// first, local sets in the second (a set is made and dropped far more often than a runtime,
/// and a heavy U2 interrupts every running thread of the process: 16 µs a drop against 2.7
/// under concurrent wakes, `barrier_review.rs`); each takes the other range when its own is
/// full, so the capacity stays [`MAX_RUNTIMES`]. Under loom and Miri (no asymmetric barrier)
/// every entry is in the first range.
const ASYMMETRIC_ENTRIES: usize = if cfg!(any(loom, miri)) {
    ENTRIES
} else {
    ENTRIES - ENTRIES / 4
};

/// Whether entry `index` uses the asymmetric pair (see [`ASYMMETRIC_ENTRIES`]).
#[inline]
fn asymmetric_entry(index: usize) -> bool {
    index < ASYMMETRIC_ENTRIES
}

/// Whether the W2 of this thread's open window on entry `index` was a full `fence(SeqCst)`,
/// asked again after W3 loaded a target (so that the wake's fast path need not keep the
/// answer in a register across its calls). Never `true` when W2 was light: the asymmetric
/// barrier is switched on at most once and never off (`barrier.rs`), so once a W2 read it
/// on, this later read does too. It may say `false` where W2 was a fence (that W2 read the
/// switch before the registration that turned it on was visible); the caller then fences
/// again, which costs a fence and is otherwise harmless.
#[inline]
fn w2_was_fence(index: usize) -> bool {
    !(asymmetric_entry(index) && crate::barrier::is_asymmetric())
}

/// The indices of `range`, starting at the one `start` picks and wrapping around.
fn rotated(range: std::ops::Range<usize>, start: usize) -> impl Iterator<Item = usize> {
    let len = range.len();
    (0..len).map(move |k| range.start + (start + k) % len)
}

/// `announce` of a record whose thread is inside no wake.
const IDLE: usize = 0;

/// Spins of U3 on one record before it starts yielding: a wake window is a few dozen
/// nanoseconds, a spin a few.
const SPINS_BEFORE_YIELD: u32 = 64;

/// One registry entry, on a cache line of its own (wakes of different runtimes do not share
/// one; 128 bytes, as adjacent-line prefetchers pair lines).
#[repr(align(128))]
struct Entry {
    /// Whether a registration holds this entry. Written by `register` (CAS) and U5.
    taken: AtomicBool,
    /// The runtime's target (`Arc::into_raw` of its `Arc<T>`, type-erased), or null. Written
    /// by `register` step 2 and U1 only.
    target: AtomicPtr<()>,
    /// The calls for `target`'s type. Written by `register` step 2 only, before `target`.
    vtable: AtomicPtr<TargetVtable>,
    /// The generation the next runtime in this entry starts its slots at; written only by the
    /// holder of `taken`.
    next_base: AtomicU32,
    /// The process-wide number of the registration holding the entry (never 0, never
    /// reused): what a record's page cache is keyed by. Written by `register` step 2 only,
    /// before `target`.
    registration: AtomicU64,
}

impl Entry {
    #[cfg(loom)]
    fn new() -> Entry {
        Entry {
            taken: AtomicBool::new(false),
            target: AtomicPtr::new(ptr::null_mut()),
            vtable: AtomicPtr::new(ptr::null_mut()),
            next_base: AtomicU32::new(0),
            registration: AtomicU64::new(0),
        }
    }
}

/// The calls the registry makes on an entry's type-erased target: one static table per
/// target type, so a wake through the entry follows one pointer to the target and makes one
/// direct call (no box to go through, no trait object).
struct TargetVtable {
    /// `T::wake_fenced_deferred(key)` on the target.
    wake: unsafe fn(*const (), TaskKey) -> (WakeOutcome, Option<Waker>),
    /// `T::slab_page(page)` on the target, as `(first, stride)`.
    page: unsafe fn(*const (), usize) -> Option<(*const u8, usize)>,
    /// `T::schedule_fenced_deferred(key)` on the target.
    schedule: unsafe fn(*const (), TaskKey) -> Option<Waker>,
    /// Drops the entry's reference to the target.
    release: unsafe fn(*const ()),
}

/// The [`TargetVtable`] of `T`.
struct VtableOf<T>(std::marker::PhantomData<T>);

impl<T: WakeTarget> VtableOf<T> {
    const VTABLE: &'static TargetVtable = &TargetVtable {
        wake: wake_erased::<T>,
        page: page_erased::<T>,
        schedule: schedule_erased::<T>,
        release: release_erased::<T>,
    };
}

/// # Safety
///
/// As [`wake_erased`].
unsafe fn page_erased<T: WakeTarget>(target: *const (), page: usize) -> Option<(*const u8, usize)> {
    // SAFETY: as in `wake_erased` (the caller's contract).
    let target = unsafe { &*target.cast::<T>() };
    // A target may hand out another page than the one asked for (a bug of its own, in safe
    // code): only the page asked for tells how many slots follow `first`.
    target
        .slab_page(page)
        .filter(|p| p.page == page)
        .map(|p| (p.first, p.stride))
}

/// # Safety
///
/// As [`wake_erased`].
unsafe fn schedule_erased<T: WakeTarget>(target: *const (), key: TaskKey) -> Option<Waker> {
    // SAFETY: as in `wake_erased` (the caller's contract).
    let target = unsafe { &*target.cast::<T>() };
    target.schedule_fenced_deferred(key)
}

/// # Safety
///
/// `target` is an entry's target of type `T` that this thread may use: loaded at W3 under
/// its announcement (module docs), so it is not released before W4.
unsafe fn wake_erased<T: WakeTarget>(
    target: *const (),
    key: TaskKey,
) -> (WakeOutcome, Option<Waker>) {
    // SAFETY: `target` came from `Arc::into_raw` of an `Arc<T>` (register, step 2) and is
    // alive for this call (the caller's contract).
    let target = unsafe { &*target.cast::<T>() };
    target.wake_fenced_deferred(key)
}

/// # Safety
///
/// `target` is an entry's target of type `T` that U1 took out of the entry and U3 waited
/// for: the entry's reference, dropped exactly once.
unsafe fn release_erased<T: WakeTarget>(target: *const ()) {
    // SAFETY: `target` came from `Arc::into_raw` of an `Arc<T>` in `register`, whose
    // reference the entry held until now (the caller's contract).
    drop(unsafe { Arc::from_raw(target.cast::<T>()) });
}

/// One thread's wake record: its announcement on a cache line of its own, then its stale-wake
/// counters. Written only by the thread that holds `in_use`.
#[repr(align(128))]
struct Record {
    /// `IDLE`, or 1 + the index of the entry a wake of the owner is inside (W1, W4).
    announce: AtomicUsize,
    /// Whether a thread holds this record.
    in_use: AtomicBool,
    /// The slab pages of one registration, as this record's owners found them: read and
    /// written only by the holder of `in_use`; filled inside a wake's W1-W4 window.
    cache: PageCache,
    /// Stale wakes counted by this record's owners, per entry. Each is bumped with a load and
    /// a store: only the owner writes it.
    stale: Counters,
}

#[repr(align(128))]
struct Counters([AtomicU64; ENTRIES]);

/// Where the slots of one registration's slab are (see "Page caches" in the module docs).
struct PageCache {
    /// The `Entry::registration` these pages belong to; 0: none.
    registration: AtomicU64,
    /// The distance between two slots' state words in that slab.
    stride: AtomicUsize,
    /// Each page's first slot, or null if not looked up yet.
    pages: [AtomicPtr<u8>; PAGES],
}

impl PageCache {
    /// Where `slot`'s state word was under the registration this cache holds, if the cache
    /// knows its page: the registration's number and the word's address, not yet valid to
    /// read. The caller reads it only once W3 found that registration holding the entry
    /// (then the page is alive: module docs, "Page caches"). Reads only this record.
    #[inline]
    fn peek(&self, slot: u32) -> Option<(u64, *const SlotState)> {
        let (page, offset) = page_of(slot)?;
        let first = self.pages[page].load(Ordering::Relaxed);
        if first.is_null() {
            return None;
        }
        let stride = self.stride.load(Ordering::Relaxed);
        let registration = self.registration.load(Ordering::Relaxed);
        // `wrapping_add`: the page may be gone by now; nothing is read through the pointer
        // here, and `fill` stored it as slot 0 of a page of more than `offset` slots.
        let state = first.wrapping_add(offset * stride).cast::<SlotState>();
        Some((registration, state.cast_const()))
    }

    /// Remembers page `page` of registration `registration`, found through that
    /// registration's target inside a W1-W4 window of this record's owner.
    ///
    /// Every page the cache holds has the cached stride: a page of another stride (a target
    /// handing out pages of two slabs) empties the cache first.
    fn fill(&self, registration: u64, page: usize, (first, stride): (*const u8, usize)) {
        if self.registration.load(Ordering::Relaxed) != registration
            || self.stride.load(Ordering::Relaxed) != stride
        {
            for p in &self.pages {
                p.store(ptr::null_mut(), Ordering::Relaxed);
            }
            self.stride.store(stride, Ordering::Relaxed);
            self.registration.store(registration, Ordering::Relaxed);
        }
        self.pages[page].store(first.cast_mut(), Ordering::Relaxed);
    }
}

impl Record {
    #[cfg(loom)]
    fn new() -> Record {
        Record {
            announce: AtomicUsize::new(IDLE),
            in_use: AtomicBool::new(false),
            cache: PageCache {
                registration: AtomicU64::new(0),
                stride: AtomicUsize::new(0),
                pages: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            },
            stale: Counters(std::array::from_fn(|_| AtomicU64::new(0))),
        }
    }

    /// Claims the record if nobody holds it.
    fn try_claim(&self) -> bool {
        // Acquire: pairs with the Release in `release`, so this owner's counter updates
        // follow the last owner's.
        !self.in_use.load(Ordering::Relaxed)
            && self
                .in_use
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    fn release(&self) {
        // Release: pairs with the Acquire in `try_claim`. A swap, not a store: the word also
        // takes CASes, and loom does not order a plain store against them (tokio-rs/loom#254).
        self.in_use.swap(false, Ordering::Release);
    }

    /// Counts a stale wake of entry `index` (past the table: nothing, which only loom's
    /// smaller table allows). Never panics: `wake_through_entry` counts inside its window.
    fn count_stale(&self, index: usize) {
        if let Some(counter) = self.stale.0.get(index) {
            counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
    }
}

#[cfg(not(loom))]
static REGISTRY: [Entry; ENTRIES] = [const {
    Entry {
        taken: AtomicBool::new(false),
        target: AtomicPtr::new(ptr::null_mut()),
        vtable: AtomicPtr::new(ptr::null_mut()),
        next_base: AtomicU32::new(0),
        registration: AtomicU64::new(0),
    }
}; ENTRIES];

#[cfg(not(loom))]
static RECORD_POOL: [Record; RECORDS + SPARE_RECORDS] = [const {
    Record {
        announce: AtomicUsize::new(IDLE),
        in_use: AtomicBool::new(false),
        cache: PageCache {
            registration: AtomicU64::new(0),
            stride: AtomicUsize::new(0),
            pages: [const { AtomicPtr::new(ptr::null_mut()) }; PAGES],
        },
        stale: Counters([const { AtomicU64::new(0) }; ENTRIES]),
    }
}; RECORDS + SPARE_RECORDS];

/// The last registration number handed out (`Entry::registration`).
#[cfg(not(loom))]
static REGISTRATIONS: AtomicU64 = AtomicU64::new(0);

/// Where the search for a free entry starts; it rotates so that a freed entry is reused as
/// late as possible.
#[cfg(not(loom))]
static CURSOR: AtomicUsize = AtomicUsize::new(0);

// loom's types have no `const` constructors and live for one execution of a model.
#[cfg(loom)]
crate::loom::lazy_static! {
    static ref REGISTRY: [Entry; ENTRIES] = std::array::from_fn(|_| Entry::new());
    static ref RECORD_POOL: [Record; RECORDS + SPARE_RECORDS] =
        std::array::from_fn(|_| Record::new());
    static ref CURSOR: AtomicUsize = AtomicUsize::new(0);
    static ref REGISTRATIONS: AtomicU64 = AtomicU64::new(0);
}

/// What [`WakeContext::enter`] put in the thread-local.
struct Entered {
    id: RuntimeId,
    target: Arc<dyn WakeTarget>,
    context: Rc<dyn Any>,
}

/// The thread's state that every wake reads. It has no destructor, so an access is a plain
/// thread-local load (no registration check) and it stays readable while the thread's other
/// thread-locals are destroyed. What it points to is owned by [`Owner`].
struct Fast {
    /// The innermost entered context: `Rc::as_ptr` of the `Rc` in `Owner::entered`, or null.
    /// Set only together with `Owner::entered`, before the `Rc` it replaces is dropped.
    entered: Cell<*const Entered>,
    /// Whether a wake on the local path is inside its target's `wake`: entering or leaving a
    /// context meanwhile (which could drop the `Entered` that wake uses) panics instead.
    waking: Cell<bool>,
    /// The record the thread claimed for its lifetime; `None` before it looked for one, and
    /// for good once `spare` is set. An `Option` of a reference, so the wake's check is one
    /// load and a test for null.
    record: Cell<Option<&'static Record>>,
    /// Set when the pool was full, or the thread handed its record back while exiting:
    /// every wake borrows a spare record from then on.
    spare: Cell<bool>,
}

/// The owning half of the thread's state, touched when a context is entered or left and
/// when the thread claims its record. Its destructor hands the record back.
struct Owner {
    entered: RefCell<Option<Rc<Entered>>>,
    /// The record this thread claimed, to hand back when it exits.
    claimed: Cell<Option<&'static Record>>,
}

impl Fast {
    /// The thread's record, claiming one on first use; `None` if it must borrow a spare one.
    fn record(&self) -> Option<&'static Record> {
        match self.record.get() {
            Some(record) => Some(record),
            None if self.spare.get() => None,
            None => self.claim_record(),
        }
    }

    #[cold]
    fn claim_record(&self) -> Option<&'static Record> {
        // The record is claimed through `Owner`, whose destructor hands it back; a thread
        // whose `Owner` is already destroyed borrows spares from now on.
        let claimed = OWNER.try_with(|owner| {
            let found = RECORD_POOL[..RECORDS].iter().find(|r| r.try_claim());
            owner.claimed.set(found);
            found
        });
        let found = claimed.ok().flatten();
        self.record.set(found);
        self.spare.set(found.is_none());
        found
    }

    /// Panics inside a local wake's target: entering or leaving there could free the
    /// `Entered` that wake reads. Called before `Owner::entered` changes, so a panic leaves
    /// it and `entered` as they were.
    fn check_not_waking(&self) {
        assert!(
            !self.waking.get(),
            "genrt: a wake target entered or left a wake context inside its wake"
        );
    }

    /// Points `entered` at what `Owner::entered` now holds.
    fn mirror(&self, entered: &Option<Rc<Entered>>) {
        self.entered
            .set(entered.as_ref().map_or(ptr::null(), Rc::as_ptr));
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        // `Fast` has no destructor: it is still there. From now on this thread's wakes take
        // the registry path with spare records, and find no entered context.
        let _ = FAST.try_with(|fast| {
            fast.entered.set(ptr::null());
            if self.claimed.get().is_some() {
                fast.record.set(None);
                fast.spare.set(true);
            }
        });
        if let Some(record) = self.claimed.take() {
            record.release();
        }
    }
}

crate::loom::thread_local! {
    static FAST: Fast = const {
        Fast {
            entered: Cell::new(ptr::null()),
            waking: Cell::new(false),
            record: Cell::new(None),
            spare: Cell::new(false),
        }
    };
}

crate::loom::thread_local! {
    static OWNER: Owner = const {
        Owner {
            entered: RefCell::new(None),
            claimed: Cell::new(None),
        }
    };
}

/// Runs `f` with a spare record, waiting for one to come free (each is held for one wake).
fn with_spare_record<R>(f: impl FnOnce(&Record) -> R) -> R {
    /// Hands the spare back, also when the wake unwinds (a panicking target).
    struct Borrowed<'a>(&'a Record);
    impl Drop for Borrowed<'_> {
        fn drop(&mut self) {
            self.0.release();
        }
    }
    let spares = &RECORD_POOL[RECORDS..];
    loop {
        if let Some(record) = spares.iter().find(|r| r.try_claim()) {
            let borrowed = Borrowed(record);
            return f(borrowed.0);
        }
        spin::yield_now();
    }
}

/// A runtime's entry in the registry. Dropping it unregisters the runtime and waits for
/// wakes already in flight.
///
/// ```
/// use std::any::Any;
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use genrt_waker::registry::{self, WakeContext, WakeTarget};
/// use genrt_waker::{TaskKey, WakeOutcome};
///
/// struct Runtime {
///     context: WakeContext,
///     wakes: AtomicUsize,
/// }
/// impl WakeTarget for Runtime {
///     fn wake(&self, _key: TaskKey, _context: Option<&dyn Any>) -> WakeOutcome {
///         self.wakes.fetch_add(1, Ordering::Relaxed);
///         WakeOutcome::Schedule
///     }
/// }
///
/// let (runtime, registration) = registry::register(|context, _base| {
///     Arc::new(Runtime { context, wakes: AtomicUsize::new(0) })
/// })
/// .unwrap();
/// let waker = genrt_waker::waker(TaskKey::new(runtime.context.id(), 0, 0));
/// waker.wake_by_ref();
/// drop(registration);
/// waker.wake(); // the runtime is gone: nothing happens
/// assert_eq!(runtime.wakes.load(Ordering::Relaxed), 1);
/// ```
#[derive(Debug)]
pub struct Registration {
    id: RuntimeId,
    base: u32,
    next_base: Option<u32>,
}

/// Registers a runtime. `make` builds the runtime's wake target from the entry it gets: the
/// entry's [`WakeContext`] (which names the runtime id its keys carry; keep it to enter the
/// context later) and the generation its fresh slots must start at. Wakes reach the target
/// only once `make` has returned.
///
/// Fails when [`MAX_RUNTIMES`] runtimes are alive at once.
pub fn register<T: WakeTarget>(
    make: impl FnOnce(WakeContext, u32) -> Arc<T>,
) -> io::Result<(Arc<T>, Registration)> {
    register_preferring(make, false)
}

/// [`register`] for a target made and dropped often (a `LocalSet`'s scheduler): it looks for
/// an entry whose unregistering needs no system-wide barrier first (see
/// `ASYMMETRIC_ENTRIES`), so its drop costs a fence, and its foreign wakes one too.
pub fn register_local<T: WakeTarget>(
    make: impl FnOnce(WakeContext, u32) -> Arc<T>,
) -> io::Result<(Arc<T>, Registration)> {
    register_preferring(make, true)
}

fn register_preferring<T: WakeTarget>(
    make: impl FnOnce(WakeContext, u32) -> Arc<T>,
    fenced_first: bool,
) -> io::Result<(Arc<T>, Registration)> {
    // Before any target is published: every wake and unregistering of a target then agrees on
    // the kind of W2/U2 barrier (`barrier.rs`).
    crate::barrier::enable();
    let start = CURSOR.fetch_add(1, Ordering::Relaxed);
    let (mut first, mut second) = (0..ASYMMETRIC_ENTRIES, ASYMMETRIC_ENTRIES..ENTRIES);
    if fenced_first {
        std::mem::swap(&mut first, &mut second);
    }
    for index in rotated(first, start).chain(rotated(second, start)) {
        let entry = &REGISTRY[index];
        // Step 1. Acquire: pairs with the Release of U5.
        if entry.taken.load(Ordering::Relaxed)
            || entry
                .taken
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            continue;
        }
        // Hands the entry back if `make` panics.
        struct Unwinding<'a>(&'a Entry);
        impl Drop for Unwinding<'_> {
            fn drop(&mut self) {
                // Release: pairs with step 1's Acquire, as U5.
                self.0.taken.swap(false, Ordering::Release);
            }
        }
        let unwinding = Unwinding(entry);
        // `index < ENTRIES <= MAX_RUNTIMES`, which a `u16` holds (`key.rs`).
        let id = RuntimeId::new(index as u16);
        let base = entry.next_base.load(Ordering::Relaxed);
        let context = WakeContext {
            id,
            stale_base: stale_total(index),
        };
        let target = make(context, base);
        std::mem::forget(unwinding);
        // Relaxed: published by the Release store of `target` just below.
        let vtable: *const TargetVtable = VtableOf::<T>::VTABLE;
        entry.vtable.store(vtable.cast_mut(), Ordering::Relaxed);
        // Relaxed: only uniqueness matters; published with the vtable.
        let number = REGISTRATIONS.fetch_add(1, Ordering::Relaxed) + 1;
        entry.registration.store(number, Ordering::Relaxed);
        let raw = Arc::into_raw(target.clone()).cast::<()>();
        // Step 2. Release: pairs with the Acquire load of W3 (and U1's), which then see the
        // vtable and the registration number stored above.
        entry.target.store(raw.cast_mut(), Ordering::Release);
        let registration = Registration {
            id,
            base,
            next_base: None,
        };
        return Ok((target, registration));
    }
    Err(io::Error::other(format!(
        "genrt: {ENTRIES} runtimes are already alive in this process; drop one first"
    )))
}

impl Registration {
    /// Tells the registry which generation the entry's next runtime must start at (see
    /// [`Slab::next_base`](crate::Slab::next_base)). Without it, the next runtime starts
    /// half the generation space away, which makes a collision just as unlikely.
    pub fn set_next_base(&mut self, next_base: u32) {
        self.next_base = Some(next_base);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let index = self.id.index();
        let entry = &REGISTRY[index];
        // U1. Acquire: pairs with register's Release store; this thread releases the target
        // through the vtable stored before it.
        let target = entry.target.swap(ptr::null_mut(), Ordering::Acquire);
        let vtable = entry.vtable.load(Ordering::Relaxed);
        // U2: pairs with W2 (see the proof in the module docs and `barrier.rs`); the entry's
        // index says which pair (`ASYMMETRIC_ENTRIES`).
        if asymmetric_entry(index) {
            crate::barrier::heavy();
        } else {
            fence(Ordering::SeqCst);
        }
        // U3.
        let busy = index + 1;
        for record in RECORD_POOL.iter() {
            let mut spins = 0u32;
            // Acquire: pairs with the Release stores of W4 and W1.
            while record.announce.load(Ordering::Acquire) == busy {
                if spins < SPINS_BEFORE_YIELD {
                    spins += 1;
                    spin::spin_loop();
                } else {
                    spin::yield_now();
                }
            }
        }
        // U4.
        let next_base = self.next_base.unwrap_or(self.base.wrapping_add(1 << 31));
        entry.next_base.store(next_base, Ordering::Relaxed);
        // U5. Release: pairs with register's Acquire CAS (step 1). A swap: see `release`.
        entry.taken.swap(false, Ordering::Release);
        // U6.
        if !target.is_null() {
            // U1 took the target out of the entry, so no later wake can load it, and U3
            // waited for every wake that loaded it before U1 (module docs, proof sketch).
            // SAFETY: so the target `register` stored (step 2, after its static vtable, both
            // read after U1's Acquire) is used by nobody else: its reference is released once.
            unsafe { ((*vtable).release)(target) };
        }
    }
}

/// The sum of every record's stale-wake counter for entry `index`.
fn stale_total(index: usize) -> u64 {
    RECORD_POOL
        .iter()
        .map(|r| r.stale.0[index].load(Ordering::Relaxed))
        .fold(0, u64::wrapping_add)
}

/// The right to enter one runtime's wake context on a thread (see [`WakeContext::enter`]).
///
/// Only [`register`] makes one, once per registration, and hands it to the runtime it
/// registers; it cannot be built or cloned anywhere else. So code outside a runtime cannot
/// redirect that runtime's wakes on any thread.
#[derive(Debug)]
pub struct WakeContext {
    id: RuntimeId,
    /// The entry's stale-wake total when this runtime registered.
    stale_base: u64,
}

impl WakeContext {
    /// The runtime id every key of the registered runtime carries.
    pub fn id(&self) -> RuntimeId {
        self.id
    }

    /// Wakes of this runtime's keys that its target reported stale, on any thread, since it
    /// registered: exact once the runtime is quiet, approximate while wakes run.
    pub fn stale_wakes(&self) -> u64 {
        stale_total(self.id.index()).wrapping_sub(self.stale_base)
    }

    /// Makes this thread belong to this runtime until the returned guard is dropped: wakes for
    /// this runtime on this thread go straight to `target`, skipping the registry, with
    /// `context` (see [`WakeTarget::wake`]), and [`current_context`] returns `context`. The
    /// guard restores what was entered before.
    ///
    /// `target` should be the target this runtime registered: wakes issued on this thread go
    /// to it whether or not it is. Only a thread that keeps the runtime registered while the
    /// guard lives (a worker thread, a thread inside `block_on`) should enter it: the guard
    /// holds a strong reference, and a registry entry freed under it may be taken by another
    /// runtime, whose wakes on this thread would then reach `target`.
    pub fn enter(&self, target: Arc<dyn WakeTarget>, context: Rc<dyn Any>) -> WakeContextGuard {
        let entered = Rc::new(Entered {
            id: self.id,
            target,
            context,
        });
        FAST.with(Fast::check_not_waking);
        let previous = OWNER.with(|owner| {
            let mut slot = owner.entered.borrow_mut();
            let previous = slot.replace(entered);
            FAST.with(|fast| fast.mirror(&slot));
            previous
        });
        WakeContextGuard {
            previous,
            restore: true,
        }
    }
}

/// Guard returned by [`WakeContext::enter`].
#[must_use = "the wake context is left when this guard is dropped"]
pub struct WakeContextGuard {
    previous: Option<Rc<Entered>>,
    /// Whether dropping puts `previous` back (cleared by [`WakeContextGuard::discard`]).
    restore: bool,
}

impl WakeContextGuard {
    /// Drops the guard without putting back what it replaced, leaving the thread's context
    /// as it is now: for a guard dropped after one entered before it (out of order), whose
    /// `previous` was already left.
    pub fn discard(mut self) {
        self.restore = false;
    }
}

impl Drop for WakeContextGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        if !self.restore {
            return;
        }
        // `try_with`: the guard may be dropped while thread-locals are being destroyed (then
        // `Owner`'s destructor has already cleared the context).
        let _ = OWNER.try_with(|owner| {
            FAST.with(Fast::check_not_waking);
            let mut slot = owner.entered.borrow_mut();
            let left = std::mem::replace(&mut *slot, previous);
            FAST.with(|fast| fast.mirror(&slot));
            drop(slot);
            // Dropped only now that `Fast` no longer points at it.
            drop(left);
        });
    }
}

/// A thread's chain of entered contexts, set aside: what [`SavedContexts::swap`] exchanges
/// with the thread's current chain. A thread can so keep two chains of nested contexts and
/// switch between them without entering or leaving anything: a current-thread runtime's
/// driver polls its `block_on` future in the chain the caller entered (where the future's
/// own `enter` guards nest) and the runtime's tasks in the worker's chain above it, as
/// Tokio keeps its scheduler context apart from `Handle::enter`'s stack.
///
/// Not `Send`: the chain belongs to the thread that saved it.
///
/// ```
/// use genrt_waker::registry::SavedContexts;
///
/// // Outside any context, the saved chain and the current one are both empty.
/// let mut saved = SavedContexts::current();
/// saved.swap();
/// ```
#[must_use = "a saved chain is only useful to swap back in"]
pub struct SavedContexts(Option<Rc<Entered>>);

impl SavedContexts {
    /// The thread's current chain (the innermost context entered, with the ones it
    /// covers), shared with the thread: entering and leaving contexts later does not change
    /// what this holds. Empty if the thread is in no context or its thread-locals are gone.
    pub fn current() -> SavedContexts {
        SavedContexts(
            OWNER
                .try_with(|owner| owner.entered.borrow().clone())
                .ok()
                .flatten(),
        )
    }

    /// Exchanges the thread's current chain with this one: the thread is now in the chain
    /// this held, and this holds the one the thread was in. Nothing is entered or left, no
    /// guard is dropped. Does nothing if the thread's thread-locals are gone.
    ///
    /// # Panics
    ///
    /// Inside a wake target's `wake` on this thread (as entering or leaving there would).
    pub fn swap(&mut self) {
        let _ = OWNER.try_with(|owner| {
            FAST.with(Fast::check_not_waking);
            let mut slot = owner.entered.borrow_mut();
            std::mem::swap(&mut *slot, &mut self.0);
            FAST.with(|fast| fast.mirror(&slot));
        });
    }
}

impl fmt::Debug for SavedContexts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SavedContexts")
            .field("empty", &self.0.is_none())
            .finish()
    }
}

/// Calls `f` with the per-thread context the current thread entered (see
/// [`WakeContext::enter`]), `None` if it is in no runtime's context. Returns `None` without
/// calling `f` if this thread's thread-locals are already destroyed. `f` must not enter or
/// leave a context.
pub fn current_context<R>(f: impl FnOnce(Option<&dyn Any>) -> R) -> Option<R> {
    OWNER
        .try_with(|owner| match owner.entered.try_borrow() {
            Ok(entered) => f(entered.as_ref().map(|e| &*e.context)),
            Err(_) => f(None),
        })
        .ok()
}

/// Delivers a wake for `key`: to the thread's local target if it is the key's runtime,
/// otherwise through the registry entry. Does nothing for a runtime that is gone.
///
/// Only the foreign wake with the thread's own record (steps W1-W4 and a cached slot) is
/// laid out inline here; the local path, a first wake (claiming a record) and the spare
/// records are calls of their own, so this path saves no registers it does not use.
#[inline]
pub(crate) fn wake(key: TaskKey) {
    let id = key.runtime();
    let delivered = FAST.try_with(|fast| {
        let entered = fast.entered.get();
        // SAFETY: see `wake_local`; only the id is read here.
        if !entered.is_null() && unsafe { (*entered).id } == id {
            return wake_local(fast, entered, key);
        }
        match fast.record.get() {
            // A record already inside a wake (a target that woke a key waker, against
            // `WakeTarget::wake`'s rule) is not reused: its announcement protects that wake.
            Some(record) if record.announce.load(Ordering::Relaxed) == IDLE => {
                wake_through_entry(record, key)
            }
            _ => wake_without_own_record(fast, key),
        }
    });
    if delivered.is_err() {
        // Only under loom, whose thread-locals can be gone; std's `Fast` has no destructor.
        with_spare_record(|record| wake_through_entry(record, key));
    }
}

/// The wake of a key of the runtime this thread has entered: straight to its target.
#[inline(never)]
fn wake_local(fast: &Fast, entered: *const Entered, key: TaskKey) {
    // `Fast::mirror` moves the pointer with `Owner::entered`'s `Rc` before the `Rc` it
    // replaces drops, `Owner`'s destructor nulls it before dropping its own, and `waking`
    // makes entering or leaving inside the target's `wake` panic.
    // SAFETY: so a non-null `entered` is the live `Entered` of that `Rc` throughout.
    let entered = unsafe { &*entered };
    let outcome = {
        let _waking = Waking::mark(&fast.waking);
        entered.target.wake(key, Some(&*entered.context))
    };
    if outcome == WakeOutcome::Stale {
        match fast.record() {
            Some(record) => record.count_stale(entered.id.index()),
            None => with_spare_record(|record| record.count_stale(entered.id.index())),
        }
    }
}

/// A foreign wake on a thread that has not claimed its record yet, has none, or whose record
/// is inside a wake already.
#[cold]
#[inline(never)]
fn wake_without_own_record(fast: &Fast, key: TaskKey) {
    match fast.record() {
        Some(record) if record.announce.load(Ordering::Relaxed) == IDLE => {
            wake_through_entry(record, key)
        }
        _ => with_spare_record(|record| wake_through_entry(record, key)),
    }
}

/// Sets `Fast::waking` for its lifetime (cleared on unwind too, so a panicking target leaves
/// the thread able to enter and leave contexts).
struct Waking<'a>(&'a Cell<bool>);

impl<'a> Waking<'a> {
    fn mark(flag: &'a Cell<bool>) -> Waking<'a> {
        flag.set(true);
        Waking(flag)
    }
}

impl Drop for Waking<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// Steps W1 to W4 of the protocol, with `record` held by this thread.
///
/// Between W3 and W4, a target that keeps its tasks in a slab is woken on the slot's state
/// word, found through the record's page cache (module docs, "Page caches"): a stale or
/// coalesced wake then calls nothing, and a scheduling wake calls the target's
/// `schedule_fenced`. Anything else (a page not cached yet, a target without a slab) takes
/// `wake_uncached`. No value but `record` is needed after a call, which keeps this path's
/// register saves few.
#[inline]
fn wake_through_entry(record: &Record, key: TaskKey) {
    let index = key.runtime().index();
    // An id past the table (only possible under loom's smaller table) names no runtime.
    let Some(entry) = REGISTRY.get(index) else {
        return;
    };
    // W1. Release: pairs with U3's Acquire load (a U3 that reads this store of a later wake
    // also sees the end of this thread's previous one).
    record.announce.store(index + 1, Ordering::Release);
    // From here to W4 this function runs no code but its own: loads, the slot state's
    // transition and stores, none of which can panic. The calls that run a target's code
    // (`wake_live`, `wake_uncached`) close the window themselves, with a guard that
    // also closes it if that code panics (a record left announcing the entry would make the
    // runtime's unregistering wait for ever); so each call here is the last thing this path
    // does, a tail call, and the stale and coalesced wakes save no registers for them.
    //
    // W2: pairs with U2. It also follows every write of this thread that the wake publishes,
    // so when it is a full fence (`w2_was_fence`) the slot's state may use it as a coalesced
    // wake's fence ("Fenced by the caller" in `state.rs`); when it is asymmetric
    // (`barrier.rs`) a coalesced wake fences itself, and a stale one needs no fence.
    if asymmetric_entry(index) {
        crate::barrier::light();
    } else {
        fence(Ordering::SeqCst);
    }
    // W3. Acquire: pairs with register's Release store (step 2), which also publishes the
    // vtable and the registration number loaded after it.
    let target = entry.target.load(Ordering::Acquire);
    if target.is_null() {
        return close(record);
    }
    // Register (step 2) stored the vtable and the number before the target, and no
    // re-registration can store any of them while this record announces the entry (U3
    // waits for it first). U6 releases the target only after U3 saw this record leave
    // the entry (W4, below). So `target` is live until W4, and of the type the entry's
    // vtable was made for, and `registration` is its registration's number (the same
    // however often it is loaded before W4).
    let registration = entry.registration.load(Ordering::Relaxed);
    // The record's own data, looked up only once a runtime holds the entry (a wake of a
    // dropped runtime reads no more than the protocol needs).
    match record.cache.peek(key.slot()) {
        Some((cached, state)) if cached == registration => {
            // The stale wake is decided here, with the few registers this path needs; a
            // live one is decided again, in a call of its own.
            //
            // The cache holds a page of the registration that holds the entry in this
            // window, so the page is alive until W4 (module docs, "Page caches").
            // SAFETY: and `fill` stored it from a `PageRef` of that page, with the stride
            // it kept (every cached page has it), so `state` is the key's slot's state
            // word (`PageCache::peek`, `slab::state_at`).
            if unsafe { &*state }.is_stale(key.generation()) {
                record.count_stale(index);
                close(record);
            } else {
                // SAFETY: `state` is the key's slot's state word alive until W4, inside
                // this record's window, in which W3 found the entry registered; the call
                // closes the window.
                unsafe { wake_live(record, entry, key, state) }
            }
        }
        // SAFETY: as above; this record's window is open, and the call closes it.
        _ => unsafe { wake_uncached(record, entry, key) },
    }
}

/// W3 again, in a call made from `wake_through_entry`'s window: the target W3 loaded there
/// (passing it would keep a register alive across the stale path, whose saves are its
/// cost), or `None` if the entry has been emptied since (U1).
///
/// No registration can store another target while this record announces the entry (U3
/// waits for it first), so a non-null load is W3's target, live until W4 (U6). A null one
/// makes the wake what it would have been had W3 read null: dropped, before anything of the
/// slot changed, which is a wake ordered after U1, as any wake that reads the entry empty.
#[inline]
fn target_again(entry: &Entry) -> Option<*const ()> {
    // Acquire: as W3's load.
    let target = entry.target.load(Ordering::Acquire);
    (!target.is_null()).then_some(target)
}

/// The wake of `wake_through_entry` for a key whose slot was live when it looked: the slot's
/// wake transition, then the target's `schedule_fenced` if that scheduled the task. Closes
/// the window (W4) when it returns, also if the target's code panics.
///
/// # Safety
///
/// Inside `record`'s W1-W4 window (held by this thread), in which W3 loaded a non-null
/// target from `entry`; `state` points to the key's slot's state word, alive until W4 (a
/// page of the registration holding the entry in this window). A raw pointer, not a
/// reference: the target's `schedule_fenced` may hand back a waker that this call wakes
/// after an early W4 (`close_and_wake`), which may free the page before the call returns.
#[inline(never)]
unsafe fn wake_live(record: &Record, entry: &Entry, key: TaskKey, state: *const SlotState) {
    let _window = Window(record);
    let Some(target) = target_again(entry) else {
        return;
    };
    let fenced = w2_was_fence(key.runtime().index());
    // SAFETY: the window is open until `schedule` below, the only code that may close it
    // early, runs; this is the state word's last use (the caller's contract).
    let outcome = unsafe { (*state).wake_after_barrier(key.generation(), fenced) };
    match outcome {
        WakeOutcome::Stale => record.count_stale(key.runtime().index()),
        WakeOutcome::Coalesced => {}
        // SAFETY: the caller's contract.
        WakeOutcome::Schedule => unsafe { schedule(record, entry, target, key) },
    }
}

/// Step W4: closes `record`'s window.
#[inline]
fn close(record: &Record) {
    // W4. Release: pairs with U3's Acquire load.
    record.announce.store(IDLE, Ordering::Release);
}

/// Closes a wake's W1-W4 window when dropped (step W4).
struct Window<'a>(&'a Record);

impl Drop for Window<'_> {
    fn drop(&mut self) {
        close(self.0);
    }
}

/// Queues `key` through its target's `schedule_fenced`, after the wake scheduled its slot.
/// The window's last use of the target: a waker it hands back is woken after an early W4
/// ([`close_and_wake`]).
///
/// # Safety
///
/// Inside `record`'s W1-W4 window (held by this thread) in which W3 loaded `target` from
/// `entry` (non-null).
unsafe fn schedule(record: &Record, entry: &Entry, target: *const (), key: TaskKey) {
    let vtable = entry.vtable.load(Ordering::Relaxed);
    // SAFETY: the vtable stored before `target` (register, step 2), and `target` live in
    // this window (the caller's contract; `wake_through_entry`).
    let deferred = unsafe { ((*vtable).schedule)(target, key) };
    if let Some(waker) = deferred {
        close_and_wake(record, waker);
    }
}

/// A target handed back a waker (`WakeTarget::wake_fenced_deferred`): W4 now, then the
/// wake, so that no code but the target's runs inside the window (the waker may be another
/// key waker, which then finds this thread's record free, or code that waits for the thread
/// unregistering the target). The caller uses nothing of the target after this; the window's
/// guard stores W4's value again, which changes nothing.
#[cold]
#[inline(never)]
fn close_and_wake(record: &Record, waker: Waker) {
    close(record);
    waker.wake();
}

/// The wake of `wake_through_entry` when the record does not know the key's page under
/// this registration: asks the target for the page and remembers it, or calls the
/// target's `wake_fenced` if it keeps no slab (or has not installed that page, which makes
/// the key stale). Counts a stale wake. Issues a `fence(SeqCst)` first unless W2 was one
/// (`w2_was_fence`): the target's `wake_fenced` and the state's fenced wake count on it.
/// Closes the window (W4) when it returns, also if the target's code panics.
///
/// # Safety
///
/// Inside `record`'s W1-W4 window (held by this thread), in which W3 loaded a non-null
/// target from `entry`.
#[cold]
#[inline(never)]
unsafe fn wake_uncached(record: &Record, entry: &Entry, key: TaskKey) {
    let _window = Window(record);
    let Some(target) = target_again(entry) else {
        return;
    };
    let index = key.runtime().index();
    if !w2_was_fence(index) {
        fence(Ordering::SeqCst);
    }
    // The registration holding the entry in this window (see `wake_through_entry`).
    let registration = entry.registration.load(Ordering::Relaxed);
    let vtable = entry.vtable.load(Ordering::Relaxed);
    // SAFETY: the vtable stored before `target`, and `target` live in this window (the
    // caller's contract, as in `wake_through_entry`).
    let vtable = unsafe { &*vtable };
    // A waker the target hands back is woken after W4, once the target is no longer used
    // (`close_and_wake`).
    // A stale wake is counted inside the window (module docs): before `close_and_wake`, so
    // that a target handing back a waker with a stale outcome is not credited to the next
    // registration of the entry.
    let count_stale = |outcome| {
        if outcome == WakeOutcome::Stale {
            record.count_stale(index);
        }
    };
    let wake_fenced = |target, key| {
        // SAFETY: as above.
        let (outcome, deferred) = unsafe { (vtable.wake)(target, key) };
        count_stale(outcome);
        if let Some(waker) = deferred {
            close_and_wake(record, waker);
        }
    };
    match page_of(key.slot()) {
        // Past any slab: only a target without one can know what the key names.
        None => wake_fenced(target, key),
        // SAFETY: as above.
        Some((page, offset)) => match unsafe { (vtable.page)(target, page) } {
            Some(found) => {
                record.cache.fill(registration, page, found);
                // SAFETY: `found` is page `page` (checked in `page_erased`) of a slab borrowed
                // from `&self` of the target, which is alive in this window, so the page is
                // (a slab frees pages only when dropped); `offset < page_len(page)`
                // (`page_of`).
                let state = unsafe { state_at(found.0, found.1, offset) };
                let outcome = state.wake_fenced(key.generation());
                count_stale(outcome);
                if outcome == WakeOutcome::Schedule {
                    // SAFETY: as above.
                    unsafe { schedule(record, entry, target, key) };
                }
            }
            None => wake_fenced(target, key),
        },
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::vtable::waker;

    struct Count {
        context: WakeContext,
        wakes: AtomicUsize,
        stale: bool,
    }

    impl WakeTarget for Count {
        fn wake(&self, _key: TaskKey, _context: Option<&dyn Any>) -> WakeOutcome {
            self.wakes.fetch_add(1, Ordering::Relaxed);
            if self.stale {
                WakeOutcome::Stale
            } else {
                WakeOutcome::Schedule
            }
        }
    }

    fn register_count(stale: bool) -> (Arc<Count>, Registration) {
        register(|context, _base| {
            Arc::new(Count {
                context,
                wakes: AtomicUsize::new(0),
                stale,
            })
        })
        .expect("a free registry entry")
    }

    fn enter(context: &WakeContext, target: &Arc<Count>) -> WakeContextGuard {
        context.enter(target.clone(), Rc::new(()))
    }

    #[test]
    fn an_entered_thread_wakes_its_local_target_until_the_guard_drops() {
        let (registered, _registration) = register_count(false);
        let (local, _other) = register_count(false);
        let key = TaskKey::new(registered.context.id(), 1, 1);

        // Only to tell the two paths apart: a runtime enters its own target.
        let guard = enter(&registered.context, &local);
        waker(key).wake();
        assert_eq!(local.wakes.load(Ordering::Relaxed), 1, "the local path");
        assert_eq!(registered.wakes.load(Ordering::Relaxed), 0);

        let nested = enter(&registered.context, &registered);
        waker(key).wake();
        assert_eq!(registered.wakes.load(Ordering::Relaxed), 1);
        drop(nested);
        waker(key).wake();
        assert_eq!(
            local.wakes.load(Ordering::Relaxed),
            2,
            "the outer entry is back"
        );

        drop(guard);
        waker(key).wake();
        assert_eq!(
            registered.wakes.load(Ordering::Relaxed),
            2,
            "the registry path"
        );
        assert_eq!(local.wakes.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_saved_chain_swaps_with_the_current_one_and_guards_nest_in_each() {
        let (registered, _registration) = register_count(false);
        let (root_side, _root) = register_count(false);
        let (worker_side, _worker) = register_count(false);
        let (nested_side, _nested) = register_count(false);
        let key = TaskKey::new(registered.context.id(), 1, 1);
        let wakes = |target: &Count| target.wakes.load(Ordering::Relaxed);

        let root = enter(&registered.context, &root_side);
        let mut saved = SavedContexts::current();
        let worker = enter(&registered.context, &worker_side);
        waker(key).wake();
        assert_eq!(wakes(&worker_side), 1, "the worker's chain is current");

        saved.swap();
        waker(key).wake();
        assert_eq!(wakes(&root_side), 1, "the root's chain is current");
        // A guard made in the root's chain, kept across the swaps.
        let nested = enter(&registered.context, &nested_side);
        waker(key).wake();
        assert_eq!(wakes(&nested_side), 1);
        saved.swap();
        waker(key).wake();
        assert_eq!(wakes(&worker_side), 2, "back in the worker's chain");

        saved.swap();
        waker(key).wake();
        assert_eq!(
            wakes(&nested_side),
            2,
            "the root's chain as the guard left it"
        );
        drop(nested);
        waker(key).wake();
        assert_eq!(
            wakes(&root_side),
            2,
            "the nested guard put the root's entry back"
        );

        // Leaving the worker's chain without restoring what its entry covered: the saved
        // chain now holds it, and dropping it frees it.
        worker.discard();
        drop(saved);
        waker(key).wake();
        assert_eq!(wakes(&root_side), 3);
        assert_eq!(wakes(&worker_side), 2);
        drop(root);
        waker(key).wake();
        assert_eq!(wakes(&registered), 1, "the registry path");
    }

    /// Runtimes take entries of the asymmetric range and local sets the others, while free,
    /// and a foreign wake reaches either kind.
    #[test]
    fn local_targets_prefer_the_fenced_entries_and_runtimes_the_asymmetric_ones() {
        let (runtime, _registration) = register_count(false);
        let (local, _local_registration) = register_local(|context, _base| {
            Arc::new(Count {
                context,
                wakes: AtomicUsize::new(0),
                stale: false,
            })
        })
        .expect("a free registry entry");
        // Other tests of this binary hold a few entries at most, far from either range's size.
        assert!(asymmetric_entry(runtime.context.id().index()));
        // Under Miri every entry is in the first range (no asymmetric barrier there): a local
        // set takes one of those.
        assert_eq!(
            asymmetric_entry(local.context.id().index()),
            ASYMMETRIC_ENTRIES == ENTRIES
        );
        for target in [&runtime, &local] {
            let woken = std::thread::scope(|scope| {
                scope
                    .spawn(|| waker(TaskKey::new(target.context.id(), 0, 0)).wake())
                    .join()
                    .unwrap();
                target.wakes.load(Ordering::Relaxed)
            });
            assert_eq!(woken, 1);
        }
    }

    #[test]
    fn a_wake_for_another_runtime_ignores_the_entered_one() {
        let (entered, _registration) = register_count(false);
        let (other, _other_registration) = register_count(false);
        let _guard = enter(&entered.context, &entered);
        waker(TaskKey::new(other.context.id(), 0, 0)).wake();
        assert_eq!(other.wakes.load(Ordering::Relaxed), 1);
        assert_eq!(entered.wakes.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_entered_context_is_what_the_runtime_put_there() {
        let (runtime, _registration) = register_count(false);
        assert_eq!(current_context(|c| c.is_none()), Some(true));
        let guard = runtime.context.enter(runtime.clone(), Rc::new(7u32));
        assert_eq!(
            current_context(|c| c.and_then(|c| c.downcast_ref::<u32>()).copied()),
            Some(Some(7))
        );
        drop(guard);
        assert_eq!(current_context(|c| c.is_none()), Some(true));
    }

    #[test]
    fn stale_wakes_are_counted_per_runtime_on_both_paths_and_from_other_threads() {
        let (runtime, registration) = register_count(true);
        let key = TaskKey::new(runtime.context.id(), 0, 0);
        waker(key).wake();
        std::thread::spawn(move || waker(key).wake_by_ref())
            .join()
            .unwrap();
        let guard = enter(&runtime.context, &runtime);
        waker(key).wake();
        drop(guard);
        assert_eq!(runtime.context.stale_wakes(), 3);
        drop(registration);
        waker(key).wake();
        assert_eq!(runtime.wakes.load(Ordering::Relaxed), 3, "gone: not called");
        assert_eq!(runtime.context.stale_wakes(), 3, "nor counted");
    }

    /// A target that enters a context inside its own local-path wake would free the context
    /// that wake is using: it panics instead (and the thread's state stays usable).
    #[test]
    fn entering_inside_a_local_wake_panics_instead_of_freeing_the_context() {
        struct Reentrant {
            context: std::sync::Mutex<Option<WakeContext>>,
            me: std::sync::Mutex<Option<Arc<Reentrant>>>,
        }
        impl WakeTarget for Reentrant {
            fn wake(&self, _key: TaskKey, _context: Option<&dyn Any>) -> WakeOutcome {
                let me = self.me.lock().unwrap().clone().expect("set");
                let context = self.context.lock().unwrap();
                let guard = context.as_ref().expect("set").enter(me, Rc::new(()));
                drop(guard);
                WakeOutcome::Schedule
            }
        }
        let (target, _registration) = register(|context, _base| {
            Arc::new(Reentrant {
                context: std::sync::Mutex::new(Some(context)),
                me: std::sync::Mutex::new(None),
            })
        })
        .expect("a free registry entry");
        *target.me.lock().unwrap() = Some(target.clone());
        let id = target.context.lock().unwrap().as_ref().expect("set").id();
        let guard = target
            .context
            .lock()
            .unwrap()
            .as_ref()
            .expect("set")
            .enter(target.clone(), Rc::new(()));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            waker(TaskKey::new(id, 0, 0)).wake();
        }));
        let message = caught.expect_err("entering inside the wake panics");
        let message = message.downcast_ref::<&str>().copied().unwrap_or_default();
        assert!(message.contains("inside its wake"), "{message}");
        drop(guard); // the flag was cleared by the unwind: leaving works

        *target.me.lock().unwrap() = None;
    }

    /// Wakes from another thread-local's destructor, after this module's `Owner` handed the
    /// record back, still reach the runtime (with spare records) and count as before.
    #[test]
    fn wakes_from_thread_local_destructors_still_work() {
        struct WakeOnDrop(TaskKey);
        impl Drop for WakeOnDrop {
            fn drop(&mut self) {
                // Touch the record-holding state first so this thread claims a record and
                // `Owner` exists, then let destruction order decide.
                waker(self.0).wake_by_ref();
                waker(self.0).wake();
            }
        }
        std::thread_local! {
            static LATE: std::cell::RefCell<Option<WakeOnDrop>> =
                const { std::cell::RefCell::new(None) };
        }
        let (runtime, _registration) = register_count(false);
        let key = TaskKey::new(runtime.context.id(), 0, 0);
        std::thread::spawn(move || {
            waker(key).wake(); // claims a record: `Owner` is registered for destruction
            LATE.with(|late| *late.borrow_mut() = Some(WakeOnDrop(key)));
        })
        .join()
        .unwrap();
        assert_eq!(runtime.wakes.load(Ordering::Relaxed), 3);
    }

    /// Wakes from a thread-local's destructor that runs after `Owner`'s (destructors run in
    /// the reverse order of their registration, so a thread-local touched before the
    /// thread's first wake outlives `Owner`): they borrow spare records and never touch the
    /// record the thread handed back, which another thread may hold by then. (The test above
    /// registers its thread-local after `Owner`, so its wakes still find the record.)
    #[test]
    fn wakes_after_the_record_was_handed_back_borrow_spares() {
        struct WakeOnDrop(TaskKey);
        impl Drop for WakeOnDrop {
            fn drop(&mut self) {
                waker(self.0).wake_by_ref();
                waker(self.0).wake();
            }
        }
        std::thread_local! {
            static EARLY: std::cell::RefCell<Option<WakeOnDrop>> =
                const { std::cell::RefCell::new(None) };
        }
        let (runtime, registration) = register_count(true);
        let index = runtime.context.id().index();
        let key = TaskKey::new(runtime.context.id(), 0, 0);
        let claimed = std::thread::spawn(move || {
            // Registered for destruction first, so destroyed after `Owner`.
            EARLY.with(|early| *early.borrow_mut() = Some(WakeOnDrop(key)));
            waker(key).wake(); // claims a record: `Owner` is registered after `EARLY`
            FAST.with(|fast| fast.record.get())
        })
        .join()
        .unwrap()
        .expect("the thread claimed a record");
        assert_eq!(runtime.wakes.load(Ordering::Relaxed), 3);
        assert_eq!(runtime.context.stale_wakes(), 3);
        // Only this runtime's wakes count under its entry, and only this thread made any.
        assert_eq!(claimed.stale.0[index].load(Ordering::Relaxed), 1);
        let spares: u64 = RECORD_POOL[RECORDS..]
            .iter()
            .map(|r| r.stale.0[index].load(Ordering::Relaxed))
            .sum();
        assert_eq!(spares, 2, "the destructor's wakes borrowed spare records");
        drop(registration);
    }

    /// A target that keeps its tasks in a slab and hands out its pages, as a runtime does.
    struct Slabbed {
        context: WakeContext,
        slab: crate::Slab<u32>,
        scheduled: std::sync::Mutex<Vec<TaskKey>>,
        page_lookups: AtomicUsize,
        calls: AtomicUsize,
    }

    impl WakeTarget for Slabbed {
        fn wake(&self, key: TaskKey, _context: Option<&dyn Any>) -> WakeOutcome {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.slab.wake(key.slot(), key.generation())
        }

        fn slab_page(&self, page: usize) -> Option<PageRef<'_>> {
            self.page_lookups.fetch_add(1, Ordering::Relaxed);
            self.slab.page_ref(page)
        }

        fn schedule_fenced(&self, key: TaskKey) {
            self.scheduled.lock().unwrap().push(key);
        }
    }

    impl Slabbed {
        fn new(context: WakeContext, base: u32) -> Slabbed {
            Slabbed {
                context,
                slab: crate::Slab::new(base),
                scheduled: std::sync::Mutex::new(Vec::new()),
                page_lookups: AtomicUsize::new(0),
                calls: AtomicUsize::new(0),
            }
        }
    }

    fn register_slabbed() -> (Arc<Slabbed>, Registration) {
        register(|context, base| Arc::new(Slabbed::new(context, base)))
            .expect("a free registry entry")
    }

    /// Wakes `key` from a thread of its own (through the registry), `times` times, and waits
    /// for it (bounded: a wake that never returns fails the test instead of hanging it).
    fn wake_from_another_thread(key: TaskKey, times: usize) {
        on_another_thread(move || {
            let waker = waker(key);
            for _ in 0..times {
                waker.wake_by_ref();
            }
        });
    }

    /// Runs `f` on a thread of its own (so its wakes go through the registry) and waits for
    /// it, at most 30 s: a wake that never returns fails the test instead of hanging it.
    fn on_another_thread(f: impl FnOnce() + Send + 'static) {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            f();
            done_tx.send(()).unwrap();
        });
        done_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("wakes from another thread did not finish within 30 s");
        thread.join().unwrap();
    }

    #[test]
    fn slab_targets_are_woken_on_their_slots_and_called_only_to_queue() {
        let (runtime, registration) = register_slabbed();
        let id = runtime.context.id();
        // 100 tasks span pages 0 to 2 (32, 64 and 128 slots).
        let keys: Vec<TaskKey> = (0..100)
            .map(|i| {
                let (slot, generation) = runtime.slab.insert(i).unwrap();
                TaskKey::new(id, slot, generation)
            })
            .collect();
        let stale_before = runtime.context.stale_wakes();

        // Inserted scheduled: every wake coalesces, and the target is never called.
        let all = keys.clone();
        on_another_thread(move || {
            for key in &all {
                waker(*key).wake_by_ref();
                waker(*key).wake_by_ref();
            }
        });
        assert_eq!(runtime.calls.load(Ordering::Relaxed), 0);
        assert!(runtime.scheduled.lock().unwrap().is_empty());
        // One lookup per page on that thread, not one per wake.
        assert_eq!(runtime.page_lookups.load(Ordering::Relaxed), 3);

        // Polled and left pending: the next wake schedules and the target queues the key once.
        for key in &keys[..50] {
            let guard = runtime
                .slab
                .start_poll(key.slot(), key.generation())
                .unwrap();
            assert!(matches!(guard.finish_pending(), crate::AfterPoll::Idle));
        }
        // Finished: the key is stale.
        for key in &keys[50..] {
            let guard = runtime
                .slab
                .start_poll(key.slot(), key.generation())
                .unwrap();
            guard.complete();
        }
        for key in &keys {
            wake_from_another_thread(*key, 2);
        }
        let scheduled = runtime.scheduled.lock().unwrap().clone();
        assert_eq!(scheduled, keys[..50].to_vec());
        assert_eq!(runtime.calls.load(Ordering::Relaxed), 0);
        assert_eq!(runtime.context.stale_wakes() - stale_before, 100);
        // Every wake closed its window (W4): a record left announcing the entry would make
        // this wait for ever.
        unregister_within_30s(registration);
    }

    /// Drops `registration` on a thread of its own and waits for it, at most 30 s: an
    /// unregistering that waits for a window never closed fails the test instead of hanging.
    fn unregister_within_30s(registration: Registration) {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            drop(registration);
            done_tx.send(()).unwrap();
        });
        done_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("unregistering waited for a wake's window, left open");
    }

    #[test]
    fn a_key_past_the_installed_pages_is_stale_without_a_page() {
        let (runtime, _registration) = register_slabbed();
        let (slot, generation) = runtime.slab.insert(1).unwrap();
        let id = runtime.context.id();
        // Slot 5000 lies in a page nobody installed: the target's own wake says stale.
        wake_from_another_thread(TaskKey::new(id, 5000, generation), 1);
        assert_eq!(runtime.calls.load(Ordering::Relaxed), 1);
        assert_eq!(runtime.context.stale_wakes(), 1);
        // A slot index past any slab's capacity: no page to look up; the target's own wake
        // decides (a target without a slab may use such keys).
        wake_from_another_thread(TaskKey::new(id, crate::SLAB_CAPACITY as u32, 0), 1);
        assert_eq!(runtime.calls.load(Ordering::Relaxed), 2);
        assert_eq!(runtime.context.stale_wakes(), 2);
        wake_from_another_thread(TaskKey::new(id, slot, generation), 1);
        assert_eq!(runtime.calls.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_target_without_a_slab_gets_every_key_even_past_a_slabs_capacity() {
        let (runtime, _registration) = register_count(false);
        let id = runtime.context.id();
        let top = (1u32 << crate::key::SLOT_BITS) - 1;
        for slot in [0, crate::SLAB_CAPACITY as u32, top] {
            wake_from_another_thread(TaskKey::new(id, slot, 1), 1);
        }
        assert_eq!(runtime.wakes.load(Ordering::Relaxed), 3);
        assert_eq!(runtime.context.stale_wakes(), 0);
    }

    /// A target with two slabs of different value types (slot strides 16 and 80 bytes), page
    /// 0 from one and the others from the other: the cache never applies one stride to the
    /// other's pages (a wrong stride would make the wake read a task's value as a state
    /// word).
    #[test]
    fn pages_of_two_strides_are_never_mixed_in_a_cache() {
        struct TwoSlabs {
            inner: Slabbed,
            big: crate::Slab<[u64; 8]>,
        }
        impl WakeTarget for TwoSlabs {
            fn wake(&self, key: TaskKey, context: Option<&dyn Any>) -> WakeOutcome {
                self.inner.wake(key, context)
            }
            fn slab_page(&self, page: usize) -> Option<PageRef<'_>> {
                if page == 0 {
                    self.inner.slab.page_ref(0)
                } else {
                    self.big.page_ref(page)
                }
            }
            fn schedule_fenced(&self, key: TaskKey) {
                self.inner.schedule_fenced(key)
            }
        }
        let (runtime, _registration) = register(|context, base| {
            Arc::new(TwoSlabs {
                inner: Slabbed::new(context, base),
                big: crate::Slab::new(base),
            })
        })
        .expect("a free registry entry");
        let id = runtime.inner.context.id();
        let (small_slot, small_generation) = runtime.inner.slab.insert(0).unwrap();
        let mut big = Vec::new();
        for i in 0..34 {
            big.push(runtime.big.insert([i; 8]).unwrap());
        }
        // Big slot 33 (page 1) idle, so that a right wake schedules it.
        let (slot, generation) = big[33];
        let guard = runtime.big.start_poll(slot, generation).unwrap();
        assert!(matches!(guard.finish_pending(), crate::AfterPoll::Idle));
        let (tx, rx) = std::sync::mpsc::channel::<TaskKey>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let waking = std::thread::spawn(move || {
            // One thread, one cache, for all three wakes.
            for key in rx {
                waker(key).wake_by_ref();
                done_tx.send(()).unwrap();
            }
        });
        let wake = |key: TaskKey| {
            tx.send(key).unwrap();
            done_rx
                .recv_timeout(std::time::Duration::from_secs(30))
                .expect("a wake on the waking thread did not finish within 30 s");
        };
        wake(TaskKey::new(id, small_slot, small_generation)); // caches page 0, stride 16
        wake(TaskKey::new(id, slot, generation)); // page 1, stride 80: the cache starts over
        let key = TaskKey::new(id, slot, generation);
        assert_eq!(*runtime.inner.scheduled.lock().unwrap(), vec![key]);
        // Polled again and idle: the next wake, from the cache, schedules it once more.
        let guard = runtime.big.start_poll(slot, generation).unwrap();
        assert!(matches!(guard.finish_pending(), crate::AfterPoll::Idle));
        wake(key);
        assert_eq!(*runtime.inner.scheduled.lock().unwrap(), vec![key, key]);
        drop(tx);
        waking.join().unwrap();
        let guard = runtime.big.start_poll(slot, generation).unwrap();
        assert_eq!(*guard.value(), [33; 8], "a wake wrote into a task's value");
    }

    /// A target that panics inside a wake through the registry: the panic reaches the waker's
    /// caller, and the wake's window is closed on the way out, so the runtime still
    /// unregisters (a record left announcing the entry would make that wait for ever).
    #[test]
    fn a_target_panicking_inside_a_wake_does_not_stall_its_unregistering() {
        struct Panics(WakeContext);
        impl WakeTarget for Panics {
            fn wake(&self, _key: TaskKey, _context: Option<&dyn Any>) -> WakeOutcome {
                panic!("intentional panic in a wake target");
            }
        }
        let (runtime, registration) =
            register(|context, _base| Arc::new(Panics(context))).expect("a free registry entry");
        let key = TaskKey::new(runtime.0.id(), 3, 1);
        let panicked = std::thread::spawn(move || {
            let wake = std::panic::catch_unwind(|| waker(key).wake_by_ref());
            // The same thread wakes again: its record is usable.
            let again = std::panic::catch_unwind(|| waker(key).wake_by_ref());
            (wake.is_err(), again.is_err())
        })
        .join()
        .unwrap();
        assert_eq!(panicked, (true, true));
        unregister_within_30s(registration);
    }

    /// A target whose `schedule_fenced` panics, woken on the cached path (the page known to
    /// the thread's record, the slot idle, so the wake schedules): the window is closed on
    /// the way out there too (`wake_live`'s guard), so the runtime still unregisters and the
    /// thread's record stays usable.
    #[test]
    fn a_target_panicking_in_schedule_fenced_on_the_cached_path_does_not_stall_unregistering() {
        struct PanicsOnSchedule(Slabbed);
        impl WakeTarget for PanicsOnSchedule {
            fn wake(&self, key: TaskKey, context: Option<&dyn Any>) -> WakeOutcome {
                self.0.wake(key, context)
            }
            fn slab_page(&self, page: usize) -> Option<PageRef<'_>> {
                self.0.slab_page(page)
            }
            fn schedule_fenced(&self, _key: TaskKey) {
                panic!("intentional panic in schedule_fenced");
            }
        }
        let (runtime, registration) =
            register(|context, base| Arc::new(PanicsOnSchedule(Slabbed::new(context, base))))
                .expect("a free registry entry");
        let id = runtime.0.context.id();
        let (slot, generation) = runtime.0.slab.insert(7).unwrap();
        let key = TaskKey::new(id, slot, generation);
        let idle = || {
            let guard = runtime.0.slab.start_poll(slot, generation).unwrap();
            assert!(matches!(guard.finish_pending(), crate::AfterPoll::Idle));
        };
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    // Scheduled: a coalesced wake on the uncached path, which caches the page.
                    waker(key).wake_by_ref();
                    assert_eq!(runtime.0.page_lookups.load(Ordering::Relaxed), 1);
                    for _ in 0..2 {
                        idle();
                        let wake = std::panic::catch_unwind(|| waker(key).wake_by_ref());
                        assert!(wake.is_err(), "schedule_fenced's panic reaches the waker");
                    }
                    // Both panicking wakes took the cached path; the record is usable after
                    // them (a coalesced wake now: the slot is scheduled).
                    assert_eq!(runtime.0.page_lookups.load(Ordering::Relaxed), 1);
                    waker(key).wake_by_ref();
                    assert_eq!(runtime.0.calls.load(Ordering::Relaxed), 0);
                })
                .join()
                .unwrap();
        });
        unregister_within_30s(registration);
    }

    /// A target whose `schedule_fenced_deferred` hands back a waker that unregisters the
    /// target and drops the last reference to it (its slab, and the page holding the woken
    /// slot's state word, go with it: what a `LocalSet` driven from another thread may do),
    /// woken on the cached path (`wake_live`, then `schedule`). The window is closed before
    /// that waker runs (else its unregistering would wait for ever on this very thread), and
    /// nothing of the target or the page is read after it (miri checks that part).
    #[test]
    fn a_deferred_waker_may_free_the_target_and_its_pages_on_the_cached_path() {
        type Held = Option<(Arc<Deferring>, Registration)>;
        /// Drops the target and its registration when woken.
        struct Unregisters(std::sync::Mutex<Held>, AtomicUsize);
        impl std::task::Wake for Unregisters {
            fn wake(self: Arc<Self>) {
                self.wake_by_ref();
            }
            fn wake_by_ref(self: &Arc<Self>) {
                self.1.fetch_add(1, Ordering::Relaxed);
                let held = self.0.lock().unwrap().take();
                drop(held);
            }
        }
        struct Deferring(Slabbed, Waker);
        impl WakeTarget for Deferring {
            fn wake(&self, key: TaskKey, context: Option<&dyn Any>) -> WakeOutcome {
                self.0.wake(key, context)
            }
            fn slab_page(&self, page: usize) -> Option<PageRef<'_>> {
                self.0.slab_page(page)
            }
            fn schedule_fenced_deferred(&self, key: TaskKey) -> Option<Waker> {
                self.0.schedule_fenced(key);
                Some(self.1.clone())
            }
        }
        let then = Arc::new(Unregisters(
            std::sync::Mutex::new(None),
            AtomicUsize::new(0),
        ));
        let (runtime, registration) = register(|context, base| {
            Arc::new(Deferring(
                Slabbed::new(context, base),
                Waker::from(then.clone()),
            ))
        })
        .expect("a free registry entry");
        let (slot, generation) = runtime.0.slab.insert(7).unwrap();
        let key = TaskKey::new(runtime.0.context.id(), slot, generation);
        // One thread, so one record: a coalesced wake on the uncached path caches the page.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let waking = std::thread::spawn(move || {
            while rx.recv().is_ok() {
                waker(key).wake_by_ref();
                done_tx.send(()).unwrap();
            }
        });
        let wake = || {
            tx.send(()).unwrap();
            done_rx
                .recv_timeout(std::time::Duration::from_secs(30))
                .expect("a wake on the waking thread did not finish within 30 s");
        };
        wake();
        assert_eq!(runtime.0.page_lookups.load(Ordering::Relaxed), 1);
        let guard = runtime.0.slab.start_poll(slot, generation).unwrap();
        assert!(matches!(guard.finish_pending(), crate::AfterPoll::Idle));
        let gone = Arc::downgrade(&runtime);
        *then.0.lock().unwrap() = Some((runtime, registration));
        // The slot is idle: this wake schedules on the cached page, and the waker handed back
        // frees the target, its slab and that page.
        wake();
        assert_eq!(then.1.load(Ordering::Relaxed), 1, "the deferred waker ran");
        assert!(
            gone.upgrade().is_none(),
            "the target was freed inside the wake"
        );
        drop(tx);
        waking.join().unwrap();
    }

    /// A target whose `slab_page` hands out page 0 whatever page is asked for (a bug, in safe
    /// code): the registry does not trust the page for more slots than it has, and wakes
    /// through the target's own `wake` instead (miri checks that nothing is read out of
    /// bounds).
    #[test]
    fn a_target_handing_out_the_wrong_page_is_woken_through_its_wake() {
        struct WrongPage(Slabbed);
        impl WakeTarget for WrongPage {
            fn wake(&self, key: TaskKey, context: Option<&dyn Any>) -> WakeOutcome {
                self.0.wake(key, context)
            }
            fn slab_page(&self, _page: usize) -> Option<PageRef<'_>> {
                self.0.slab.page_ref(0)
            }
            fn schedule_fenced(&self, key: TaskKey) {
                self.0.schedule_fenced(key)
            }
        }
        let (runtime, _registration) =
            register(|context, base| Arc::new(WrongPage(Slabbed::new(context, base))))
                .expect("a free registry entry");
        let id = runtime.0.context.id();
        let keys: Vec<TaskKey> = (0..40)
            .map(|i| {
                let (slot, generation) = runtime.0.slab.insert(i).unwrap();
                TaskKey::new(id, slot, generation)
            })
            .collect();
        // Slot 39 lies in page 1: handed page 0, the registry calls `wake` (coalesced: the
        // task is scheduled).
        wake_from_another_thread(keys[39], 1);
        assert_eq!(runtime.0.calls.load(Ordering::Relaxed), 1);
        // Slot 0 lies in page 0, which is what the target hands out: no call.
        wake_from_another_thread(keys[0], 1);
        assert_eq!(runtime.0.calls.load(Ordering::Relaxed), 1);
    }

    /// A thread that cached an entry's pages, then the entry is unregistered, its slab freed,
    /// and the entry taken by a new runtime: that thread's next wakes look the new pages up
    /// instead of reading freed memory (miri checks the last part).
    #[test]
    fn a_page_cache_is_not_used_after_its_registration_is_gone() {
        let (tx, rx) = std::sync::mpsc::channel::<Option<TaskKey>>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let waking = std::thread::spawn(move || {
            // One thread, so one record and one cache, for every wake below.
            while let Ok(Some(key)) = rx.recv() {
                waker(key).wake_by_ref();
                done_tx.send(()).unwrap();
            }
        });
        let wake = |key: TaskKey| {
            tx.send(Some(key)).unwrap();
            done_rx
                .recv_timeout(std::time::Duration::from_secs(30))
                .expect("a wake on the waking thread did not finish within 30 s");
        };

        let (old, registration) = register_slabbed();
        let index = old.context.id().index();
        let (slot, generation) = old.slab.insert(7).unwrap();
        let old_key = TaskKey::new(old.context.id(), slot, generation);
        wake(old_key);
        assert_eq!(old.page_lookups.load(Ordering::Relaxed), 1);
        drop(registration);
        drop(old); // frees the old slab and its pages

        // Take the same entry again: the search for a free entry starts at the cursor (a
        // test running at the same time may take it first; then try again).
        let mut tries = 0;
        let (new, new_registration) = loop {
            CURSOR.store(index, Ordering::Relaxed);
            let (runtime, registration) = register_slabbed();
            if runtime.context.id().index() == index {
                break (runtime, registration);
            }
            tries += 1;
            assert!(tries < 1000, "entry {index} never came back");
        };
        let (slot, generation) = new.slab.insert(8).unwrap();
        let new_key = TaskKey::new(new.context.id(), slot, generation);
        // The old key names a generation below the new slab's: stale, looked up afresh.
        wake(old_key);
        assert_eq!(new.page_lookups.load(Ordering::Relaxed), 1);
        wake(new_key);
        assert_eq!(new.page_lookups.load(Ordering::Relaxed), 1);
        assert_eq!(new.context.stale_wakes(), 1);
        drop(new_registration);
        tx.send(None).unwrap();
        waking.join().unwrap();
    }
}
