//! The loom shim, shared with the other genrt crates (see `genrt_waker::loom`): atomics,
//! cells, `Arc`, locks, threads and thread-locals from std and `parking_lot` normally, from
//! loom under `cfg(loom)`.

pub(crate) use genrt_scheduler::loom::*;
