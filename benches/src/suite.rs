//! Every timed benchmark with its contenders, as both the criterion benches and the main job
//! see them. The first contender of each benchmark is the reference (genrt) that ratios are
//! taken against.

use crate::arc_task::ArcTaskExecutor;
use crate::genrt_rt::Genrt;
use crate::pool_rt::Pool;
use crate::smol_rt::Smol;
use crate::tokio_rt::{Tokio, TokioTimed};
use crate::workloads::{self as w, Instance};
use crate::Contender;

/// A contender in one benchmark: its name and how to set it up.
pub struct Entry {
    /// The name in tables.
    pub name: String,
    /// Builds the contender and the workload's fixtures.
    pub make: Box<dyn Fn() -> Instance>,
}

/// A timed benchmark.
pub struct Benchmark {
    /// `group/name`, e.g. `tokio_suite/yield_many`.
    pub name: String,
    /// Operations per iteration: figures are shown per operation.
    pub ops_per_iter: u64,
    /// What an operation is ("iter", "op", "task").
    pub op: &'static str,
    /// The contenders, reference first.
    pub contenders: Vec<Entry>,
    /// Why a contender is missing, if one is.
    pub notes: Vec<String>,
    /// A multiple of the plan's per-benchmark budget, for benchmarks whose single iteration
    /// is long (so one sample is long and noisy) and that need more rounds than the rest.
    pub budget_factor: f64,
}

/// A workload for one contender type.
type Make = fn(usize) -> Instance;

/// A contender named `name` whose instances run `make` with `workers` worker threads.
fn entry(name: &str, workers: usize, make: Make) -> Entry {
    Entry {
        name: name.to_string(),
        make: Box::new(move || make(workers)),
    }
}

/// The contenders of a runtime benchmark: all five, or for an A/A run genrt twice.
macro_rules! runtimes {
    ($workers:expr, $aa:expr, $work:ident) => {
        runtimes!($workers, $aa, $work, [Tokio, Smol, Pool, ArcTaskExecutor])
    };
    ($workers:expr, $aa:expr, $work:ident, [$($other:ty),*]) => {
        if $aa {
            vec![
                entry("genrt-A", $workers, w::$work::<Genrt>),
                entry("genrt-B", $workers, w::$work::<Genrt>),
            ]
        } else {
            vec![
                entry(Genrt::NAME, $workers, w::$work::<Genrt>),
                $(entry(<$other>::NAME, $workers, w::$work::<$other>),)*
            ]
        }
    };
}

/// A benchmark with no notes and the plan's budget.
fn bench(name: &str, ops_per_iter: u64, op: &'static str, contenders: Vec<Entry>) -> Benchmark {
    Benchmark {
        name: name.to_string(),
        ops_per_iter,
        op,
        contenders,
        notes: Vec::new(),
        budget_factor: 1.0,
    }
}

/// The name of the floor contender of the waker benchmarks: a no-op waker with a static
/// vtable, the limit of any waker (`workloads::floor_waker`). No other benchmark has it.
pub const FLOOR: &str = "floor";

/// A waker benchmark: the given runtimes' entries and, last, the floor running `floor` (not
/// in an A/A run, which compares genrt with itself only). Figures are per operation
/// ([`w::WAKER_OPS`] per iteration); in the two-thread rows, per operation per thread.
fn waker_bench(name: &str, mut contenders: Vec<Entry>, floor: Make, aa: bool) -> Benchmark {
    if !aa {
        contenders.push(entry(FLOOR, 0, floor));
    }
    bench(name, w::WAKER_OPS, "op", contenders)
}

/// Spawn cost at `TASKS` tasks: genrt and Tokio (genrt twice for `aa`).
fn scale<const TASKS: usize>(workers: usize, aa: bool) -> Benchmark {
    let contenders = if aa {
        vec![
            entry("genrt-A", workers, w::spawn_scale::<Genrt, TASKS>),
            entry("genrt-B", workers, w::spawn_scale::<Genrt, TASKS>),
        ]
    } else {
        vec![
            entry(Genrt::NAME, workers, w::spawn_scale::<Genrt, TASKS>),
            entry(Tokio::NAME, workers, w::spawn_scale::<Tokio, TASKS>),
        ]
    };
    Benchmark {
        // One iteration of the two largest sizes takes 50 ms to 1 s, so one sample is long
        // and noisy: give them more rounds than the rest.
        budget_factor: if TASKS >= 100_000 { 3.0 } else { 1.0 },
        ..bench(
            &format!("scale/spawn_{TASKS}"),
            TASKS as u64,
            "task",
            contenders,
        )
    }
}

/// The effect round trip with `REQUESTS` requests per task: genrt, crux_core and Tokio
/// (genrt twice for `aa`).
fn effects<const REQUESTS: usize>(workers: usize, aa: bool) -> Benchmark {
    let contenders = if aa {
        vec![
            entry("genrt-A", workers, w::effects_genrt::<REQUESTS>),
            entry("genrt-B", workers, w::effects_genrt::<REQUESTS>),
        ]
    } else {
        vec![
            entry(Genrt::NAME, workers, w::effects_genrt::<REQUESTS>),
            entry("crux_core", workers, w::effects_crux::<REQUESTS>),
            entry(Tokio::NAME, workers, w::effects_tokio::<REQUESTS>),
        ]
    };
    bench(
        &format!("effects/round_trip_{REQUESTS}"),
        1,
        "iter",
        contenders,
    )
}

/// `spawn_blocking` throughput: genrt, Tokio and async-executor with the `blocking` crate
/// (genrt twice for `aa`). futures' ThreadPool and the `Arc<Task>` executor have no blocking
/// pool.
fn blocking_many(workers: usize, aa: bool) -> Benchmark {
    let contenders = if aa {
        vec![
            entry("genrt-A", workers, w::spawn_blocking_many::<Genrt>),
            entry("genrt-B", workers, w::spawn_blocking_many::<Genrt>),
        ]
    } else {
        vec![
            entry(Genrt::NAME, workers, w::spawn_blocking_many::<Genrt>),
            entry(Tokio::NAME, workers, w::spawn_blocking_many::<Tokio>),
            entry(BLOCKING_CRATE, workers, w::spawn_blocking_many::<Smol>),
        ]
    };
    Benchmark {
        notes: if aa {
            Vec::new()
        } else {
            vec![BLOCKING_NOTE.to_string()]
        },
        ..bench(
            "blocking/spawn_blocking_many",
            w::BLOCKING_CLOSURES as u64,
            "closure",
            contenders,
        )
    }
}

/// The name of async-executor's entry in `blocking/spawn_blocking_many`.
pub const BLOCKING_CRATE: &str = "async-executor+blocking";

/// Who sits out `blocking/spawn_blocking_many`, and what the async-executor entry runs.
const BLOCKING_NOTE: &str = "blocking/spawn_blocking_many: async-executor has no blocking \
     pool, so its entry awaits the `blocking` crate's `unblock` (smol's process-wide pool); \
     futures-pool and arc-task have no blocking pool and sit it out.";

/// A `crux/*` benchmark: the same crux app through `genrt_crux::Core` (the reference) and
/// `crux_core::Core` (genrt-crux twice for `aa`).
fn crux(name: &str, workers: usize, aa: bool, genrt: Make, crux_core: Make) -> Benchmark {
    let contenders = if aa {
        vec![
            entry("genrt-crux-A", workers, genrt),
            entry("genrt-crux-B", workers, genrt),
        ]
    } else {
        vec![
            entry("genrt-crux", workers, genrt),
            entry("crux_core", workers, crux_core),
        ]
    };
    bench(&format!("crux/{name}"), 1, "iter", contenders)
}

/// A `time/*` benchmark: genrt, Tokio with its time driver and async-io's `Timer` on
/// async-executor (genrt twice for `aa`).
fn time_bench(
    name: &str,
    ops_per_iter: u64,
    op: &'static str,
    workers: usize,
    aa: bool,
    work: [Make; 3],
    note: bool,
) -> Benchmark {
    let contenders = if aa {
        vec![
            entry("genrt-A", workers, work[0]),
            entry("genrt-B", workers, work[0]),
        ]
    } else {
        vec![
            entry(Genrt::NAME, workers, work[0]),
            entry(TokioTimed::NAME, workers, work[1]),
            entry("async-io", workers, work[2]),
        ]
    };
    Benchmark {
        notes: if aa || !note {
            Vec::new()
        } else {
            vec![TIME_NOTE.to_string()]
        },
        ..bench(name, ops_per_iter, op, contenders)
    }
}

/// What the `time/*` rows compare.
const TIME_NOTE: &str = "time/*: tokio has its time driver enabled there (and only there); \
     async-io is async-io's Timer (a reactor thread of its own fires every timer) on \
     async-executor, a timeout being a select of the future and a Timer.";

/// Why futures' ThreadPool sits out `spawn_many_remote_busy1`.
const BUSY1_POOL: &str = "futures-pool is not in spawn_many_remote_busy1: a ThreadPool task \
     woken during its own poll is polled again at once on the same worker (its UnparkMutex \
     REPOLL state), so a yield does not yield; the 2 x N yielding background tasks then hold \
     every worker forever and the spawned tasks never run (the benchmark never finishes).";

/// Every timed benchmark, for `workers` worker threads; `aa` makes each one genrt against
/// genrt.
pub fn timed(workers: usize, aa: bool) -> Vec<Benchmark> {
    vec![
        bench(
            "tokio_suite/spawn_many_local_task",
            1,
            "iter",
            runtimes!(workers, aa, spawn_many_local_task),
        ),
        bench(
            "tokio_suite/spawn_many_local_block_on",
            1,
            "iter",
            runtimes!(workers, aa, spawn_many_local_block_on),
        ),
        bench(
            "tokio_suite/spawn_many_remote_idle",
            1,
            "iter",
            runtimes!(workers, aa, spawn_many_remote_idle),
        ),
        Benchmark {
            notes: if aa {
                Vec::new()
            } else {
                vec![BUSY1_POOL.to_string()]
            },
            // An iteration takes ~100 ms on genrt and its stalls make it load-sensitive.
            budget_factor: 3.0,
            ..bench(
                "tokio_suite/spawn_many_remote_busy1",
                1,
                "iter",
                runtimes!(
                    workers,
                    aa,
                    spawn_many_remote_busy1,
                    [Tokio, Smol, ArcTaskExecutor]
                ),
            )
        },
        bench(
            "tokio_suite/spawn_many_remote_busy2",
            1,
            "iter",
            runtimes!(workers, aa, spawn_many_remote_busy2),
        ),
        bench(
            "tokio_suite/yield_many",
            1,
            "iter",
            runtimes!(workers, aa, yield_many),
        ),
        bench(
            "tokio_suite/ping_pong",
            1,
            "iter",
            runtimes!(workers, aa, ping_pong),
        ),
        bench(
            "tokio_suite/chained_spawn",
            1,
            "iter",
            runtimes!(workers, aa, chained_spawn),
        ),
        waker_bench(
            "wakers/clone_drop",
            runtimes!(workers, aa, waker_clone_drop),
            w::floor_clone_drop,
            aa,
        ),
        waker_bench(
            "wakers/clone_drop_2t",
            runtimes!(workers, aa, waker_clone_drop_2t),
            w::floor_clone_drop_2t,
            aa,
        ),
        waker_bench(
            "wakers/wake_by_ref_pending",
            runtimes!(workers, aa, waker_wake_by_ref),
            w::floor_wake,
            aa,
        ),
        waker_bench(
            "wakers/coalesced_wake_2t",
            runtimes!(workers, aa, waker_coalesced_wake_2t),
            w::floor_wake_2t,
            aa,
        ),
        waker_bench(
            "wakers/wake_distinct_2t",
            runtimes!(workers, aa, waker_wake_distinct_2t),
            w::floor_wake_2t,
            aa,
        ),
        waker_bench(
            "wakers/stale_wake",
            runtimes!(workers, aa, waker_stale_wake),
            w::floor_wake,
            aa,
        ),
        waker_bench(
            "wakers/stale_wake_dropped",
            runtimes!(workers, aa, waker_stale_wake_dropped),
            w::floor_wake,
            aa,
        ),
        waker_bench(
            "wakers/will_wake",
            runtimes!(workers, aa, waker_will_wake),
            w::floor_will_wake,
            aa,
        ),
        effects::<1>(workers, aa),
        effects::<16>(workers, aa),
        crux(
            "round_trip_1",
            workers,
            aa,
            w::crux_round_trip_genrt::<1>,
            w::crux_round_trip_crux::<1>,
        ),
        crux(
            "round_trip_16",
            workers,
            aa,
            w::crux_round_trip_genrt::<16>,
            w::crux_round_trip_crux::<16>,
        ),
        crux(
            "fan_out",
            workers,
            aa,
            w::crux_fan_out_genrt,
            w::crux_fan_out_crux,
        ),
        crux(
            "cpu_heavy",
            workers,
            aa,
            w::crux_cpu_heavy_genrt,
            w::crux_cpu_heavy_crux,
        ),
        time_bench(
            "time/sleep_many",
            1,
            "iter",
            workers,
            aa,
            [
                w::sleep_many::<Genrt>,
                w::sleep_many::<TokioTimed>,
                w::sleep_many::<Smol>,
            ],
            true,
        ),
        time_bench(
            "time/timer_churn",
            w::CHURN,
            "op",
            workers,
            aa,
            [
                w::timer_churn::<Genrt>,
                w::timer_churn::<TokioTimed>,
                w::timer_churn::<Smol>,
            ],
            false,
        ),
        scale::<1_000>(workers, aa),
        scale::<10_000>(workers, aa),
        scale::<100_000>(workers, aa),
        scale::<1_000_000>(workers, aa),
        // Last: the `blocking` crate's process-wide pool outlives its entry (hundreds of idle
        // threads), so no other row runs after it.
        blocking_many(workers, aa),
    ]
}

/// The bytes-per-pending-sleep scenario for one contender type: `(workers, sleeps)` to
/// bytes per pending sleep.
pub type SleepMemoryRun = fn(usize, usize) -> f64;

/// The contenders of the bytes-per-pending-sleep scenario.
pub fn sleep_memory(aa: bool) -> Vec<(String, SleepMemoryRun)> {
    use crate::memory::pending_sleeps;
    if aa {
        return vec![
            (
                "genrt-A".to_string(),
                pending_sleeps::<Genrt> as SleepMemoryRun,
            ),
            ("genrt-B".to_string(), pending_sleeps::<Genrt>),
        ];
    }
    vec![
        (
            Genrt::NAME.to_string(),
            pending_sleeps::<Genrt> as SleepMemoryRun,
        ),
        (TokioTimed::NAME.to_string(), pending_sleeps::<TokioTimed>),
        ("async-io".to_string(), pending_sleeps::<Smol>),
    ]
}

/// A memory scenario for one contender type: `(workers, tasks)` to its figures.
pub type MemoryRun = fn(usize, usize) -> crate::memory::MemoryFigures;

/// The contenders of the memory scenarios: the five runtimes, or genrt twice for `aa`.
pub fn memory(aa: bool) -> Vec<(String, MemoryRun)> {
    use crate::memory::pending_tasks;
    if aa {
        return vec![
            ("genrt-A".to_string(), pending_tasks::<Genrt> as MemoryRun),
            ("genrt-B".to_string(), pending_tasks::<Genrt>),
        ];
    }
    vec![
        (Genrt::NAME.to_string(), pending_tasks::<Genrt> as MemoryRun),
        (Tokio::NAME.to_string(), pending_tasks::<Tokio>),
        (Smol::NAME.to_string(), pending_tasks::<Smol>),
        (Pool::NAME.to_string(), pending_tasks::<Pool>),
        (
            ArcTaskExecutor::NAME.to_string(),
            pending_tasks::<ArcTaskExecutor>,
        ),
    ]
}
