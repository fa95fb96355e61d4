//! The normal build: the standard library's and `parking_lot`'s types, unchanged.

/// Locks, `Arc` and atomics.
pub mod sync {
    pub use parking_lot::{
        Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, WaitTimeoutResult,
    };
    pub use std::sync::Arc;

    /// Atomics.
    pub mod atomic {
        pub use std::sync::atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        };

        /// Nothing in a normal build; a `fence(SeqCst)` under loom (see `mocked.rs`).
        #[inline(always)]
        pub fn loom_only_seq_cst_fence() {}
    }
}

/// `UnsafeCell` with loom's closure API.
pub mod cell {
    /// `std::cell::UnsafeCell` behind loom's `with` / `with_mut`, which compile to a plain
    /// pointer access.
    #[derive(Debug, Default)]
    #[repr(transparent)]
    pub struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        /// A cell holding `value`.
        #[inline(always)]
        pub const fn new(value: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }
    }

    impl<T: ?Sized> UnsafeCell<T> {
        /// Calls `f` with a pointer for reading the contents.
        #[inline(always)]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Calls `f` with a pointer for writing the contents.
        #[inline(always)]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// Threads.
pub mod thread {
    pub use std::thread::{current, park, Builder, JoinHandle, Thread, ThreadId};
}

pub use std::thread_local;
