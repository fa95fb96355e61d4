//! The comparison suite's shared library: contenders, workloads, the measuring method and the
//! report. Both the criterion benches (`benches/*.rs`) and the main job
//! (`examples/compare/main.rs`) include this directory as a module by path, so every figure
//! comes from exactly the same code.
//!
//! Map:
//! - [`contender`]: the one interface every runtime under test implements ([`Contender`] and
//!   [`Spawner`]), so each workload is written once.
//! - [`genrt_rt`], [`tokio_rt`], [`smol_rt`], [`pool_rt`], [`arc_task`]: the five contenders.
//!   [`arc_task`] is the pre-fix Crux executor, written here from its description; it leaks.
//! - [`crux_app`]: a small crux_core app for the effect round trip.
//! - [`workloads`]: what is measured; [`suite`] lists every benchmark with its contenders.
//! - [`method`]: build, warm up, time, drop; ABBA rounds; medians and pairwise ratios.
//! - [`alloc`] and [`memory`]: the counting allocator and the memory scenarios.
//! - [`report`]: the markdown table, `results.json` and `chart.svg`.
//! - [`criterion_glue`]: the same benchmarks under criterion, for `cargo bench`.
//! - [`threads`]: waiting until a dropped runtime's threads are really gone.
//!
//! Each binary uses only part of this library, hence the `dead_code` allowance below.

#![allow(dead_code)]

pub mod alloc;
pub mod arc_task;
pub mod contender;
pub mod criterion_glue;
pub mod crux_app;
pub mod genrt_rt;
pub mod memory;
pub mod method;
pub mod pool_rt;
pub mod report;
pub mod smol_rt;
pub mod suite;
pub mod threads;
pub mod tokio_rt;
pub mod workloads;

pub use contender::{Contender, Spawner};
