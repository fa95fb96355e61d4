//! Generation-tagged task keys and the key waker of the genrt runtime.
//!
//! A [`TaskKey`] packs `(runtime, slot index, generation)` into 64 bits. The [`waker`] built
//! from it carries the key in its data word and owns nothing, so a waker left behind in a
//! pending request can never keep a task, a future or a runtime alive. A wake goes through
//! the [`registry`] to the runtime, if it still exists, and the runtime's [`Slab`] compares
//! generations: a stale key does nothing.
//!
//! This crate knows nothing of queues or threads; `genrt-scheduler` builds on it.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

#[cfg(not(target_pointer_width = "64"))]
compile_error!("genrt packs a 64-bit task key into a waker's data word and needs 64-bit pointers");

mod barrier;
mod key;
mod loom;
#[cfg(all(test, loom))]
mod loom_models;
pub mod registry;
mod slab;
mod state;
mod vtable;

pub use barrier::is_asymmetric;
pub use key::{RuntimeId, TaskKey, MAX_RUNTIMES};
pub use slab::{AfterPoll, Claim, FreeCache, PageRef, PollGuard, Slab, FREE_BATCH, SLAB_CAPACITY};
pub use state::WakeOutcome;
pub use vtable::{key_of_waker, waker};
