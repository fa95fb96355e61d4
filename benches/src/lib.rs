//! `genrt-benches`: the comparison suite's library: contenders, workloads, the measuring
//! method and the report. The criterion benches (`benches/*.rs`), the main job (the `compare`
//! binary) and the suite's tests (`tests/*.rs`) all use it, so every figure comes from
//! exactly the same code. The crate also holds the self-checking programs CI runs (the
//! `seed_check`, `effects_soak` and `valgrind_drop` binaries, and the `seed` example).
//!
//! Map:
//! - `contender`: the one interface every runtime under test implements ([`Contender`] and
//!   [`Spawner`]), so each workload is written once.
//! - `genrt_rt`, `tokio_rt`, `smol_rt`, `pool_rt`, `arc_task`: the five contenders.
//!   [`ArcTaskExecutor`] is the pre-fix Crux executor, written here from its description; it
//!   leaks.
//! - `crux_app`: a small crux_core app for the effect round trip.
//! - [`TimerContender`]: the timers of genrt, Tokio ([`TokioTimed`], its time driver on) and
//!   async-io (on async-executor), for the `time/*` rows and the bytes per pending sleep.
//! - `workloads`: what is measured; [`suite`] lists every benchmark with its contenders.
//! - [`method`]: build, warm up, time, drop; ABBA rounds; medians and pairwise ratios.
//! - [`memory`]: the memory scenarios, read with the counting allocator of `support`
//!   (`support::counting`, from the `genrt-tests` package).
//! - [`report`]: the markdown table, `results.json` and `chart.svg`.
//! - [`criterion_glue`]: the same benchmarks under criterion, for `cargo bench`.
//! - `threads`: waiting until a dropped runtime's threads are really gone.

mod arc_task;
mod contender;
pub mod criterion_glue;
mod crux_app;
mod genrt_rt;
pub mod memory;
pub mod method;
mod pool_rt;
pub mod report;
mod smol_rt;
pub mod steady;
pub mod suite;
mod threads;
pub mod tokio_rt;
mod workloads;

pub use arc_task::ArcTaskExecutor;
/// The `crux/*` workloads one by one, for `crux_alone` (profiling one core alone).
pub mod crux_rows {
    pub use crate::workloads::{
        crux_cpu_heavy_crux, crux_cpu_heavy_genrt, crux_fan_out_crux, crux_fan_out_genrt,
        crux_round_trip_crux, crux_round_trip_genrt, Instance, CRUX_CPU, CRUX_FAN_OUT,
    };
}
pub use contender::{BlockingSpawner, Contender, Spawner, TimerContender};
pub use genrt_rt::Genrt;
pub use tokio_rt::{Tokio, TokioTimed};
