//! The concurrency primitives genrt is built from, swappable for loom's model-checked ones.
//!
//! Every atomic, `UnsafeCell`, `Arc`, lock, condition variable, thread and thread-local in the
//! three genrt crates comes from here. In a normal build these are the standard library's and
//! `parking_lot`'s own types, re-exported as they are: the shim costs nothing. Under
//! `RUSTFLAGS="--cfg loom"` they are loom's, behind the same API, so that loom can explore the
//! interleavings of the real runtime code (see `scripts/loom.sh` and the "How we know" section
//! of ARCHITECTURE.md).
//!
//! The common API is `parking_lot`'s: `Mutex::lock` returns a guard, `Condvar::wait` takes
//! `&mut guard`, `Condvar::wait_until` takes a deadline and returns a result with
//! `timed_out()`, `RwLock::try_write` returns an `Option`. Cells are reached with
//! `UnsafeCell::with` and `with_mut` (loom's API), so that loom sees each access.
//!
//! Differences under loom, each forced by what loom can model:
//! - loom has no clock: a timed wait waits until notified, as if the deadline were never
//!   reached. Code that passes a deadline gets "no timeout" semantics, and a wait that nobody
//!   ends is reported by loom as a deadlock.
//! - loom's `Arc` cannot be unsized to a trait object. The shim's `Arc` under loom pairs a
//!   standard `Arc` (which can) with a loom `Arc<()>` that every clone and drop updates too, so
//!   loom models the count's synchronisation and reports an `Arc` that is never dropped as a
//!   leak. [`unsize_arc!`](crate::loom::unsize_arc) turns `Arc<T>` into `Arc<dyn Trait>` in
//!   both builds.
//! - statics holding loom types need `lazy_static!` (loom's types have no `const`
//!   constructors and live for one execution).
//! - loom treats `SeqCst` accesses as `AcqRel`. Where code relies on the single total order
//!   of `SeqCst` accesses without a fence (a Dekker pair), it calls
//!   `sync::atomic::loom_only_seq_cst_fence()` after the access: nothing normally, a
//!   `SeqCst` fence (which loom does model) under loom.
//! - loom does not yet keep a read-modify-write atomic against a concurrent plain store
//!   (tokio-rs/loom#254); the one word that mixes the two, a slot's state, stores with a
//!   swap under loom (see `state.rs`).
//!
//! This module is public only so that `genrt-scheduler` and `genrt` can share it; it is not
//! part of genrt's API.

#[cfg(not(loom))]
mod real;
#[cfg(not(loom))]
pub use real::*;

#[cfg(loom)]
mod mocked;
#[cfg(loom)]
pub use mocked::*;

#[cfg(loom)]
pub use loom::lazy_static;

pub use crate::__genrt_unsize_arc as unsize_arc;

/// `unsize_arc!(arc => dyn Trait)`: the shim's `Arc<T>` as an `Arc<dyn Trait>` for the same
/// allocation. A plain unsizing coercion in a normal build.
#[cfg(not(loom))]
#[doc(hidden)]
#[macro_export]
macro_rules! __genrt_unsize_arc {
    ($arc:expr => $target:ty) => {{
        let unsized_arc: $crate::loom::sync::Arc<$target> = $arc;
        unsized_arc
    }};
}

/// `unsize_arc!(arc => dyn Trait)`: the shim's `Arc<T>` as an `Arc<dyn Trait>` for the same
/// allocation. Under loom the standard `Arc` inside the shim's `Arc` is coerced and the loom
/// count carried over.
#[cfg(loom)]
#[doc(hidden)]
#[macro_export]
macro_rules! __genrt_unsize_arc {
    ($arc:expr => $target:ty) => {
        $crate::loom::sync::Arc::unsize($arc, |arc| -> ::std::sync::Arc<$target> { arc })
    };
}
