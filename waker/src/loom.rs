//! This crate's loom shim: the concurrency primitives it is built from, swappable for loom's
//! model-checked ones.
//!
//! Every atomic, fence, `UnsafeCell`, `Arc`, spin-wait and thread-local of `genrt-waker` comes from here.
//! In a normal build these are the standard library's own types,
//! re-exported as they are: the shim costs nothing. Under `RUSTFLAGS="--cfg loom"` they are
//! loom's, behind the same API, so that loom can explore the interleavings of the real code
//! (see `src/loom_models.rs`, `scripts/loom.sh` and TESTING.md).
//!
//! # One shim per crate
//!
//! Each genrt crate has its own private `src/loom.rs`, the same std/loom switch cut down to
//! what that crate uses; none is part of any crate's API. The one type that crosses crate
//! boundaries is `Arc` (a runtime registers an `Arc` of its wake target here, and `genrt`
//! hands its task cells to `genrt-scheduler` as `Arc<dyn Task>`), and every shim names the
//! same one: `std::sync::Arc` normally, `loom::sync::Arc` under loom. The shims therefore
//! agree without sharing code. A shared crate would have had to be published with the three
//! (a path dependency marked `publish = false` cannot be packaged), making the shim public
//! after all.
//!
//! # The API
//!
//! Cells are reached with `UnsafeCell::with` and `with_mut` (loom's API), so that loom sees
//! each access. Thread-locals are declared with [`thread_local!`] (with a `const { .. }`
//! initialiser in both builds). The registry erases its targets' types with
//! `Arc::into_raw`/`from_raw` and a table of functions per type, which loom's `Arc` also
//! supports, so no unsizing coercion of a loom `Arc` is needed here.
//!
//! # Differences under loom, each forced by what loom can model
//!
//! - statics holding loom types need `lazy_static!` (loom's types have no `const`
//!   constructors and live for one execution).
//! - loom's `thread_local!` takes no `const { .. }` initialiser; this crate's macro unwraps it.
//! - loom does not yet keep a read-modify-write atomic against a concurrent plain store
//!   (tokio-rs/loom#254); the one word that mixes the two, a slot's state, stores with a
//!   swap under loom (see `state.rs`).

/// Locks, `Arc` and atomics.
pub(crate) mod sync {
    #[cfg(loom)]
    pub(crate) use loom::sync::Arc;
    #[cfg(not(loom))]
    pub(crate) use std::sync::Arc;

    /// Atomics.
    pub(crate) mod atomic {
        #[cfg(loom)]
        pub(crate) use loom::sync::atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        };
        #[cfg(not(loom))]
        pub(crate) use std::sync::atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        };
    }
}

/// Waiting in a spin loop: a CPU hint, then giving the core away. Under loom both are
/// `loom::thread::yield_now`, which loom needs in every spin loop to explore past it.
pub(crate) mod spin {
    /// One turn of a busy wait.
    #[inline]
    pub(crate) fn spin_loop() {
        #[cfg(not(loom))]
        std::hint::spin_loop();
        #[cfg(loom)]
        loom::thread::yield_now();
    }

    /// Gives the rest of the time slice away.
    #[inline]
    pub(crate) fn yield_now() {
        #[cfg(not(loom))]
        std::thread::yield_now();
        #[cfg(loom)]
        loom::thread::yield_now();
    }
}

/// `UnsafeCell` with loom's closure API.
pub(crate) mod cell {
    #[cfg(loom)]
    pub(crate) use loom::cell::UnsafeCell;

    /// `std::cell::UnsafeCell` behind loom's `with` / `with_mut`, which compile to a plain
    /// pointer access.
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
        /// Calls `f` with a pointer for reading the contents.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Calls `f` with a pointer for writing the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(loom)]
pub(crate) use loom::lazy_static;

#[cfg(not(loom))]
pub(crate) use std::thread_local;

/// loom's `thread_local!`, which takes no `const { .. }` initialiser: this one accepts and
/// unwraps it, so declarations read the same in both builds. One declaration per invocation.
#[cfg(loom)]
macro_rules! loom_thread_local {
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr } $(;)?) => {
        ::loom::thread_local! { $(#[$attr])* $vis static $name: $t = $init; }
    };
}
// Under another name: a macro called `thread_local` would clash with the built-in attribute.
#[cfg(loom)]
pub(crate) use loom_thread_local as thread_local;
