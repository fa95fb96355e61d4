//! The loom models of `genrt`, compiled only under `cfg(all(test, loom))` and run by
//! `scripts/loom.sh` (`cargo test -p genrt --lib loom_models` with `--cfg loom`).
//!
//! Every genrt crate keeps its models the same way: this file lists them, one module per
//! subject under `src/loom_models/`, inside the crate so that they run its real, private
//! code.
//!
//! - `task`: a task's cell and its join handle (completion, abort, drop of the handle,
//!   shutdown).
//! - `join_set`: a `JoinSet`'s ready list (completions racing `join_next`).
//! - `shell`: shell requests and streams (resolve, cancel, drop of the resolver).
//! - `runtime`: a whole runtime dropped while a shell resolves a request.

mod join_set;
mod runtime;
mod shell;
mod task;
