//! The loom models of `genrt-scheduler`, compiled only under `cfg(all(test, loom))` and run by
//! `scripts/loom.sh` (`cargo test -p genrt-scheduler --lib loom_models` with `--cfg loom`).
//!
//! Every genrt crate keeps its models the same way: this file lists them, one module per
//! subject under `src/loom_models/`, inside the crate so that they run its real, private
//! code.
//!
//! - `parking`: two workers running the real loop search and park while a foreign thread
//!   spawns and wakes; no wake-up is lost.

mod parking;
