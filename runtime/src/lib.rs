//! genrt: a multi-threaded work-stealing async runtime whose wakers are generation-tagged
//! keys.
//!
//! A genrt waker encodes `(runtime, slot index, generation)` instead of owning its task. A
//! waker left behind in a pending request can therefore never keep a future alive: once the
//! task ends or the runtime drops, the waker is a harmless no-op holding zero bytes. That
//! removes by construction the `Arc<Task> -> future -> request -> Waker -> Arc<Task>` cycle
//! that leaked every suspended future in Crux (redbadger/crux #268).
//!
//! ```
//! let rt = genrt::Builder::new().worker_threads(2).build()?;
//! let handle = rt.spawn(async {
//!     let child = genrt::spawn(async { 20 });
//!     genrt::yield_now().await;
//!     child.await.unwrap() + 22
//! });
//! assert_eq!(rt.block_on(handle).unwrap(), 42);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Crates: `genrt-waker` (keys, slab, waker, registry) <- `genrt-scheduler` (workers,
//! queues, parking, shutdown) <- `genrt` (this API). See ARCHITECTURE.md in the repository.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

mod block_in_place;
mod block_on;
mod blocking;
mod enter;
mod handle;
mod loom;
#[cfg(all(test, loom))]
mod loom_models;
mod macros;
mod metrics;
pub mod runtime;
pub mod shell;
pub mod task;
pub mod time;
mod yield_now;

pub use enter::EnterGuard;
pub use handle::{spawn, spawn_blocking, Handle, TryCurrentError};
pub use runtime::{Builder, Runtime, UnhandledPanic};
pub use task::abort::AbortHandle;
pub use task::join::{JoinError, JoinHandle};
pub use task::join_set::JoinSet;
pub use yield_now::yield_now;

/// Whether the calling thread is a worker thread of any genrt runtime (also a thread driving
/// a current-thread runtime, in its `settle`, and any thread inside a current-thread
/// runtime's `block_on`, whether it drives the runtime at the time or another thread does).
/// Blocking waits for a runtime's work ([`Runtime::settle`], [`Handle::block_on`]) panic
/// there rather than stall the worker; code that waits in its own way (a synchronous API
/// over a runtime) can check it to do the same.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// assert!(!genrt::on_worker_thread());
/// assert!(rt.block_on(rt.spawn(async { genrt::on_worker_thread() })).unwrap());
/// ```
pub fn on_worker_thread() -> bool {
    genrt_scheduler::on_worker_thread()
}

pub use metrics::{MetricsSnapshot, RuntimeMetrics};

/// Not public API: what [`select!`], [`join!`] and [`try_join!`] expand to call. Hidden from
/// the docs; anything in it may change in any release.
#[doc(hidden)]
pub use macros::support as __private;

/// Runs an `async fn main` on a genrt runtime, as Tokio's `#[tokio::main]`: the body becomes
/// the future of [`Runtime::block_on`] on a runtime built for it (by default a multi-thread
/// one with a worker per CPU), which is dropped when `main` returns.
///
/// Arguments, as Tokio's: `flavor = "multi_thread"` (the default) or `"current_thread"`
/// ([`Builder::new_current_thread`]), `worker_threads = N`, `start_paused = true`,
/// `name = "runtime name"` ([`Builder::name`]), `unhandled_panic = "ignore"` or
/// `"shutdown_runtime"` ([`Builder::unhandled_panic`]; Tokio's is unstable and
/// current-thread only, genrt's fits both flavors), and `crate = "path"` when genrt is
/// renamed.
///
/// ```
/// #[genrt::main(worker_threads = 2)]
/// async fn main() -> Result<(), genrt::JoinError> {
///     let answer = genrt::spawn(async { 6 * 7 }).await?;
///     assert_eq!(answer, 42);
///     assert_eq!(genrt::Handle::current().metrics().num_workers(), 2);
///     Ok(())
/// }
/// ```
///
/// A named runtime:
///
/// ```
/// #[genrt::main(flavor = "current_thread", name = "app")]
/// async fn main() {
///     assert_eq!(genrt::Handle::current().name(), Some("app"));
/// }
/// ```
///
/// It expands to about this:
///
/// ```
/// fn main() -> Result<(), genrt::JoinError> {
///     let body = async {
///         let answer = genrt::spawn(async { 6 * 7 }).await?;
///         Ok(())
///     };
///     genrt::runtime::Builder::new_multi_thread()
///         .worker_threads(2)
///         .enable_all()
///         .build()
///         .expect("failed to build the genrt runtime")
///         .block_on(body)
/// }
/// ```
///
/// It also fits any other `async fn`, a method taking `self` or a function taking arguments
/// (its body captures them), as Tokio's does; only a function named `main` must take none:
///
/// ```compile_fail
/// #[genrt::main]
/// async fn main(count: u32) {}
/// ```
///
/// An argument given twice is an error, as in Tokio ("`name` set multiple times"):
///
/// ```compile_fail
/// #[genrt::main(name = "one", name = "two")]
/// async fn main() {}
/// ```
///
/// So is a blank name, escapes included (`Builder::name` would refuse it at run time):
///
/// ```compile_fail
/// #[genrt::main(name = "\n")]
/// async fn main() {}
/// ```
///
/// `worker_threads` needs the multi-thread flavor, as in Tokio (a current-thread runtime has
/// one worker whatever the count, so the count would be ignored):
///
/// ```compile_fail
/// #[genrt::main(flavor = "current_thread", worker_threads = 2)]
/// async fn main() {}
/// ```
///
/// and may not be 0 (a run-time error otherwise: `Builder::build` refuses it):
///
/// ```compile_fail
/// #[genrt::main(worker_threads = 0)]
/// async fn main() {}
/// ```
///
/// Generics, a `where` clause and inner attributes of the body are kept, as in Tokio (inner
/// attributes go on the function):
///
/// ```
/// #[genrt::main(flavor = "current_thread")]
/// async fn call<F: Fn() -> u32>(f: F) -> u32
/// where
///     F: Send,
/// {
///     #![allow(clippy::redundant_closure_call)]
///     f()
/// }
///
/// assert_eq!(call(|| 7), 7);
/// ```
pub use genrt_macros::main;

/// Runs an `async fn` test on a genrt runtime of its own, as Tokio's `#[tokio::test]`: by
/// default a current-thread one ([`Builder::new_current_thread`], one worker); the same
/// arguments as [`main`](macro@main) (`flavor`, `worker_threads`, `start_paused`, `name`,
/// `unhandled_panic`, `crate`).
///
/// In a test crate (`tests/tests/macros.rs` runs tests written this way):
///
/// ```
/// #[genrt::test(start_paused = true)]
/// async fn sleeps_are_instant_on_a_paused_clock() {
///     let start = genrt::time::Instant::now();
///     genrt::time::sleep(std::time::Duration::from_secs(60)).await;
///     assert!(start.elapsed() >= std::time::Duration::from_secs(60));
/// }
/// # fn main() {}
/// ```
///
/// A test has a current-thread runtime unless told otherwise, so `worker_threads` alone is
/// an error, as in Tokio (it would be ignored: one worker, whatever the count); write
/// `flavor = "multi_thread"` with it:
///
/// ```compile_fail
/// #[genrt::test(worker_threads = 2)]
/// async fn on_two_workers() {}
/// # fn main() {}
/// ```
///
/// `#[genrt::test]` marks the function `#[test]`; a second test attribute is an error, as in
/// Tokio (the test would be registered, and run, twice):
///
/// ```compile_fail
/// #[genrt::test]
/// #[test]
/// async fn twice() {}
/// # fn main() {}
/// ```
pub use genrt_macros::test;
