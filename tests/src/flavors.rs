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

/// A runtime flavor: its name, and how to build one.
pub type Flavor = (&'static str, fn() -> Runtime);

/// Both flavors, by name: `for (name, build) in FLAVORS { ... }`.
pub const FLAVORS: [Flavor; 2] = [
    ("current-thread runtime", current_thread),
    ("multi-thread runtime", multi_thread),
];
