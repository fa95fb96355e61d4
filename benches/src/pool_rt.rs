//! futures-executor's `ThreadPool` as a [`Contender`]: `ThreadPool::builder().pool_size(N)`,
//! joined through `SpawnExt::spawn_with_handle`.
//!
//! A `ThreadPool` cannot be joined: its workers exit by themselves once the last clone of the
//! pool is dropped, and every pending task holds a clone (futures-rs #1470). So the contender
//! records each worker's exit through a thread-local guard and waits for all of them on drop.

use std::cell::RefCell;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use futures::future::RemoteHandle;
use futures::task::SpawnExt;
use futures_executor::ThreadPool;

use crate::{Contender, Spawner};

/// How long a drop waits for the pool's workers to exit. They do not exit while a pending
/// task still holds a clone of the pool; then the drop gives up and the threads stay behind.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// How long [`Contender::shutdown`] waits: the memory scenarios expect the workers to stay.
const SHUTDOWN_WAIT: Duration = Duration::from_millis(300);

/// A futures `ThreadPool` under test.
pub struct Pool {
    pool: Option<ThreadPool>,
    exits: Arc<ExitLatch>,
    workers: usize,
}

impl Pool {
    /// Drops the pool and waits at most `timeout` for its workers to exit. Returns how many
    /// are still running.
    fn stop(&mut self, timeout: Duration) -> usize {
        if self.pool.take().is_none() {
            return 0;
        }
        self.workers - self.exits.wait_for(self.workers, timeout)
    }
}

impl Contender for Pool {
    type Spawner = ThreadPool;
    const NAME: &'static str = "futures-pool";

    fn build(workers: usize) -> Pool {
        let exits = Arc::new(ExitLatch::default());
        let on_start = exits.clone();
        let pool = ThreadPool::builder()
            .pool_size(workers)
            .name_prefix("futures-pool-")
            .after_start(move |_| ExitLatch::arm(&on_start))
            .create()
            .expect("futures ThreadPool should start");
        Pool {
            pool: Some(pool),
            exits,
            workers,
        }
    }

    fn spawner(&self) -> ThreadPool {
        self.pool.clone().expect("the pool is alive until drop")
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures::executor::block_on(future)
    }

    fn shutdown(mut self) -> usize {
        self.stop(SHUTDOWN_WAIT)
    }

    fn drop_runtime(mut self) {
        // Drops this handle of the pool without waiting: the held waker keeps a clone, so the
        // workers stay (parked) until it goes; `Drop` then finds no pool to stop.
        self.pool = None;
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let left = self.stop(EXIT_WAIT);
        if left > 0 {
            eprintln!("note: futures ThreadPool: {left} worker(s) still alive after drop");
        }
    }
}

impl Spawner for ThreadPool {
    type Join<T: Send + 'static> = RemoteHandle<T>;

    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // A `RemoteHandle` cancels on drop; workloads always await it.
        self.spawn_with_handle(future)
            .expect("futures ThreadPool spawn should succeed")
    }

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn_ok(future);
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        genrt::yield_now()
    }
}

/// Counts threads that have exited, each detected by a thread-local guard whose destructor
/// runs after the thread's main function has returned.
#[derive(Default)]
struct ExitLatch {
    exited: Mutex<usize>,
    changed: Condvar,
}

thread_local! {
    static EXIT_GUARD: RefCell<Option<ExitGuard>> = const { RefCell::new(None) };
}

/// Counts its thread as exited when the thread-local holding it is destroyed.
struct ExitGuard(Arc<ExitLatch>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let mut exited = self.0.exited.lock().unwrap_or_else(|e| e.into_inner());
        *exited += 1;
        self.0.changed.notify_all();
    }
}

impl ExitLatch {
    /// Arms the current thread: its exit will be counted.
    fn arm(latch: &Arc<ExitLatch>) {
        EXIT_GUARD.with(|guard| *guard.borrow_mut() = Some(ExitGuard(latch.clone())));
    }

    /// Waits until `count` threads have exited or `timeout` passed; returns how many did.
    fn wait_for(&self, count: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut exited = self.exited.lock().unwrap_or_else(|e| e.into_inner());
        while *exited < count {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            exited = self
                .changed
                .wait_timeout(exited, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *exited
    }
}
