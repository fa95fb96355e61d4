//! This crate's loom shim: atomics, cells, `Arc`, locks, threads and thread-locals from std and
//! `parking_lot` normally, from loom under `cfg(loom)`.
//!
//! The same std/loom switch as `genrt-waker`'s own `src/loom.rs` (whose docs explain the
//! scheme: one private shim per crate, all naming the same `Arc`), cut down to what this
//! crate uses.

/// Locks, `Arc` and atomics.
pub(crate) mod sync {
    #[cfg(loom)]
    pub(crate) use self::mocked::Mutex;
    #[cfg(loom)]
    pub(crate) use loom::sync::Arc;
    #[cfg(not(loom))]
    pub(crate) use parking_lot::Mutex;
    #[cfg(not(loom))]
    pub(crate) use std::sync::Arc;

    /// Atomics.
    pub(crate) mod atomic {
        #[cfg(loom)]
        pub(crate) use loom::sync::atomic::{AtomicU64, AtomicU8, Ordering};
        #[cfg(not(loom))]
        pub(crate) use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
    }

    #[cfg(loom)]
    mod mocked {
        use std::sync::PoisonError;

        use loom::sync::MutexGuard;

        /// loom's `Mutex` with `parking_lot`'s API.
        #[derive(Debug)]
        pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

        impl<T> Mutex<T> {
            /// A mutex holding `value`.
            pub(crate) fn new(value: T) -> Mutex<T> {
                Mutex(loom::sync::Mutex::new(value))
            }

            /// The value, consuming the mutex.
            pub(crate) fn into_inner(self) -> T {
                self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
            }

            /// Locks it. loom's poisoning is ignored, as `parking_lot` has none.
            #[track_caller]
            pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
                self.0.lock().unwrap_or_else(PoisonError::into_inner)
            }
        }
    }
}

/// `UnsafeCell` with loom's closure API.
pub(crate) mod cell {
    #[cfg(loom)]
    pub(crate) use loom::cell::UnsafeCell;

    /// `std::cell::UnsafeCell` behind loom's `with_mut` (the only access this crate makes),
    /// which compiles to a plain pointer access.
    #[cfg(not(loom))]
    #[derive(Debug, Default)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

    #[cfg(not(loom))]
    impl<T> UnsafeCell<T> {
        /// A cell holding `value`.
        #[inline(always)]
        pub(crate) const fn new(value: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }
    }

    #[cfg(not(loom))]
    impl<T: ?Sized> UnsafeCell<T> {
        /// Calls `f` with a pointer for writing the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// Threads.
pub(crate) mod thread {
    #[cfg(loom)]
    pub(crate) use loom::thread::{current, park, yield_now, Thread};
    #[cfg(not(loom))]
    pub(crate) use std::thread::{current, park, yield_now, Thread};
}

#[cfg(not(loom))]
pub(crate) use std::thread_local;

/// loom's `thread_local!`, which takes no `const { .. }` initialiser: this one accepts and
/// unwraps it, as `genrt-waker`'s shim does. One declaration per invocation.
#[cfg(loom)]
macro_rules! loom_thread_local {
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr } $(;)?) => {
        ::loom::thread_local! { $(#[$attr])* $vis static $name: $t = $init; }
    };
}
// Under another name: a macro called `thread_local` would clash with the built-in attribute.
#[cfg(loom)]
pub(crate) use loom_thread_local as thread_local;

/// `unsize_arc!(arc => dyn Trait)`: the shim's `Arc<T>` as an `Arc<dyn Trait>` for the same
/// allocation. A plain unsizing coercion in a normal build.
#[cfg(not(loom))]
macro_rules! unsize_arc {
    ($arc:expr => $target:ty) => {{
        let unsized_arc: $crate::loom::sync::Arc<$target> = $arc;
        unsized_arc
    }};
}

/// `unsize_arc!(arc => dyn Trait)`: the shim's `Arc<T>` as an `Arc<dyn Trait>` for the same
/// allocation. Under loom the `Arc` is turned into its raw pointer, the pointer is coerced
/// (only an unsizing coercion compiles here: no `as`), and loom's `from_raw` finds the
/// allocation's count by address.
#[cfg(loom)]
macro_rules! unsize_arc {
    ($arc:expr => $target:ty) => {{
        let raw = ::loom::sync::Arc::into_raw($arc);
        let unsized_raw: *const $target = raw;
        // SAFETY: `unsized_raw` is the pointer `into_raw` just returned, unsized in place: the
        // same allocation and address, with the metadata of the value's own type, which is
        // what `Arc::from_raw` asks of a pointer of an unsized type. `into_raw` kept the
        // reference it consumed, and `from_raw` takes it over, so the count is unchanged.
        unsafe { ::loom::sync::Arc::from_raw(unsized_raw) }
    }};
}
pub(crate) use unsize_arc;
