//! The two runtime flavors the port files run their scenarios on, built the same way
//! everywhere: a current-thread runtime, and a multi-thread runtime of two workers.

use genrt::{Builder, Runtime};

/// A current-thread runtime (`Builder::new_current_thread`).
///
/// ```
/// let rt = support::current_thread();
/// assert_eq!(rt.block_on(async { 1 }), 1);
/// ```
pub fn current_thread() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

/// A multi-thread runtime of two workers.
///
/// ```
/// let rt = support::multi_thread();
/// assert_eq!(rt.metrics().num_workers(), 2);
/// ```
pub fn multi_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// A multi-thread runtime of `workers` workers whose clock starts paused
/// (`Builder::start_paused`), for exact timer tests.
///
/// ```
/// let rt = support::paused(1);
/// rt.block_on(async {
///     let start = genrt::time::Instant::now();
///     genrt::time::sleep(std::time::Duration::from_secs(3600)).await;
///     assert_eq!(start.elapsed(), std::time::Duration::from_secs(3600));
/// });
/// ```
pub fn paused(workers: usize) -> Runtime {
    Builder::new()
        .worker_threads(workers)
        .start_paused(true)
        .build()
        .expect("the runtime starts")
}

/// A current-thread runtime whose clock starts paused.
///
/// ```
/// let rt = support::paused_current_thread();
/// assert_eq!(rt.metrics().num_workers(), 1);
/// ```
pub fn paused_current_thread() -> Runtime {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .expect("the runtime starts")
}

/// A runtime flavor: its name, and how to build one.
pub type Flavor = (&'static str, fn() -> Runtime);

/// Both flavors, by name: `for (name, build) in FLAVORS { ... }`.
pub const FLAVORS: [Flavor; 2] = [
    ("current-thread runtime", current_thread),
    ("multi-thread runtime", multi_thread),
];
