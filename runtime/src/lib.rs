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

mod block_on;
mod blocking;
mod enter;
mod handle;
mod loom;
#[cfg(all(test, loom))]
mod loom_models;
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

/// Whether the calling thread is a worker thread of any genrt runtime. Blocking waits for a
/// runtime's work ([`Runtime::settle`], [`Handle::block_on`]) panic there rather than stall
/// the worker; code that waits in its own way (a synchronous API over a runtime) can check
/// it to do the same.
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
