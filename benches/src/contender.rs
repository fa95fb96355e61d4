//! The interface every runtime under test implements, so each workload is written once.
//!
//! A [`Contender`] is a running runtime with a fixed worker count. Its [`Spawner`] is a cheap,
//! cloneable handle that tasks capture to spawn more tasks, from any thread. Dropping a
//! contender shuts it down **and waits for its worker threads**, so that when the next
//! contender is measured no thread of this one is left spinning or parking on the same cores.

use std::future::Future;
use std::task::Context;
use std::time::Duration;

/// A runtime under test, built with `workers` worker threads.
///
/// Contract for implementors: `Drop` stops the runtime and joins (or, where the runtime
/// cannot be joined, waits for) every worker thread before it returns.
pub trait Contender: Sized + 'static {
    /// The handle tasks capture to spawn more tasks.
    type Spawner: Spawner;

    /// The contender's name in tables and charts.
    const NAME: &'static str;

    /// Starts the runtime with `workers` worker threads.
    fn build(workers: usize) -> Self;

    /// A spawning handle to this runtime.
    fn spawner(&self) -> Self::Spawner;

    /// Runs `future` to completion on the calling thread, which is not a worker: tasks it
    /// spawns run on the worker threads. Blocking inside the future (as Tokio's own benches
    /// do with `std::sync::mpsc::Receiver::recv`) is allowed.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Shuts the runtime down as `Drop` does and returns how many worker threads are still
    /// running afterwards (0 for every contender that joins its threads).
    fn shutdown(self) -> usize {
        drop(self);
        0
    }

    /// Drops the runtime while wakers of its tasks are still held elsewhere (the
    /// `stale_wake_dropped` benchmark), without waiting for worker threads that those wakers
    /// keep alive. The same as `Drop` for every contender whose workers exit regardless;
    /// futures' ThreadPool overrides it (a waker holds a clone of the pool, so its workers exit
    /// only once the waker is dropped, and the method then waits for them).
    fn drop_runtime(self) {
        drop(self);
    }
}

/// A cloneable, thread-safe spawning handle of a [`Contender`].
pub trait Spawner: Clone + Send + Sync + 'static {
    /// The join future of a task with output `T`.
    type Join<T: Send + 'static>: Future<Output = T> + Send + 'static;

    /// Spawns `future`; the returned future resolves to its output (it panics if the task
    /// failed, which no workload expects). For some contenders dropping it cancels the task;
    /// workloads always await it.
    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns `future` and forgets it: it runs to completion with nobody awaiting it.
    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// The runtime's way for a task to give others a turn: its native `yield_now` where it
    /// has one. The others use `genrt::yield_now`, which is runtime-neutral (it wakes its own
    /// task and returns `Pending` once, as futures-lite's, async-executor's own, does).
    fn yield_now() -> impl Future<Output = ()> + Send + 'static;
}

/// A [`Spawner`] whose runtime runs blocking closures on a thread pool (the
/// `blocking/spawn_blocking_many` benchmark): genrt's and Tokio's `spawn_blocking`, and for
/// async-executor, which has no pool of its own, the `blocking` crate's `unblock`.
pub trait BlockingSpawner: Spawner {
    /// The join future of a closure with output `T`.
    type Blocking<T: Send + 'static>: Future<Output = T> + Send + 'static;

    /// Runs `f` on the pool; the returned future resolves to its output (it panics if the
    /// closure failed, which no workload expects).
    fn spawn_blocking<F, T>(&self, f: F) -> Self::Blocking<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;
}

/// A contender with timers, for the `time/*` rows: genrt's wheel, Tokio's (with its time
/// driver enabled, [`TokioTimed`](crate::tokio_rt::TokioTimed)) and async-io's `Timer` on
/// async-executor.
pub trait TimerContender: Contender {
    /// Sleeps for `duration` on this contender's timer.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static;

    /// One operation of `time/timer_churn`: makes a timeout of `duration` around a future
    /// that never completes, polls it once with `cx` (which registers its timer) and drops it
    /// (which cancels the timer). Called from inside a task of the contender.
    fn churn_one(duration: Duration, cx: &mut Context<'_>);
}
