//! A counting global allocator for the memory scenarios.
//!
//! A binary that wants memory figures installs it:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: common::alloc::CountingAlloc = common::alloc::CountingAlloc;
//! ```
//!
//! Counting is off until [`Counting::start`], so the timed benchmarks pay one relaxed load per
//! allocation and nothing more. While on, it keeps the number of live bytes, allocated minus
//! freed; a scenario takes differences of [`live_bytes`] at points where every thread it
//! started has been joined.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};

/// Whether allocations are counted now.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed while counting was on.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// The system allocator, counting live bytes while counting is on.
pub struct CountingAlloc;

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s
// contract; the counters only observe sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout, as the caller promised it is valid.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && ENABLED.load(Relaxed) {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() && ENABLED.load(Relaxed) {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ENABLED.load(Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Relaxed);
        }
        // SAFETY: `ptr` came from this allocator (so from `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator (so from `System`) with `layout`, and the
        // caller guarantees `new_size` is valid for it.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && ENABLED.load(Relaxed) {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        new
    }
}

/// Bytes allocated and not yet freed since counting started (allocations made before it
/// started and freed while it is on count negative).
pub fn live_bytes() -> isize {
    LIVE.load(Relaxed)
}

/// Counting switched on for as long as this guard lives.
pub struct Counting(());

impl Counting {
    /// Switches counting on. Panics if [`CountingAlloc`] is not this binary's global
    /// allocator, since every figure would then read zero.
    pub fn start() -> Counting {
        ENABLED.store(true, Relaxed);
        let before = live_bytes();
        let probe = std::hint::black_box(Box::new([0u8; 64]));
        let counted = live_bytes() - before;
        drop(probe);
        assert!(
            counted >= 64,
            "memory figures need `#[global_allocator] static ALLOC: CountingAlloc` in this binary"
        );
        Counting(())
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        ENABLED.store(false, Relaxed);
    }
}
