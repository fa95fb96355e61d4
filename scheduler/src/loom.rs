//! The loom shim: `genrt_waker::loom` (atomics, cells, `Arc`, locks, threads and
//! thread-locals from std and `parking_lot` normally, from loom under `cfg(loom)`). The run
//! queues, which come from crossbeam-deque and which loom cannot see, have their own stand-ins
//! in `queue`.
//!
//! Public only so that `genrt` can share it; not part of the API.

pub use genrt_waker::loom::*;
