//! The loom models of `genrt-waker`, compiled only under `cfg(all(test, loom))` and run by
//! `scripts/loom.sh` (`cargo test -p genrt-waker --lib loom_models` with `--cfg loom`).
//!
//! Every genrt crate keeps its models the same way: this file lists them, one module per
//! subject under `src/loom_models/`, inside the crate so that they run its real, private
//! code.
//!
//! - `slot`: one slab slot's state machine (wake, poll, complete, claim, reuse).
//! - `registry`: key wakers woken from other threads while their runtime registers,
//!   unregisters and drops, while their entry is re-registered, and while the unregistering
//!   thread waits for them.

mod registry;
mod slot;
