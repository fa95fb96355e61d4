//! async-executor (smol's executor) as a [`Contender`]: one shared `Executor`, N threads each
//! running `Executor::run` on a future that ends only at shutdown, `block_on` on the caller.
//!
//! Settings: the plain `Executor`. Its `static` feature (`Executor::leak` into a
//! `StaticExecutor`) spawns faster, but a leaked executor can never be dropped, which the
//! method (one runtime alive at a time) and the memory scenarios need; `spawn_many` batches
//! spawns, but the workloads spawn one task at a time for every contender. The caller's
//! `block_on` is `futures::executor::block_on` and does not run tasks: with
//! `Executor::run` on the caller it would be an N+1th worker.

use std::future::Future;
use std::sync::Arc;
use std::thread::JoinHandle;

use async_executor::Executor;
use futures::channel::oneshot;

use std::pin::pin;
use std::task::Context;
use std::time::Duration;

use crate::{BlockingSpawner, Contender, Spawner, TimerContender};

/// An async-executor with its runner threads. Dropping it stops and joins the runners, then
/// drops the executor (which cancels the tasks left in it).
pub struct Smol {
    executor: Arc<Executor<'static>>,
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl Contender for Smol {
    type Spawner = SmolSpawner;
    const NAME: &'static str = "async-executor";

    fn build(workers: usize) -> Smol {
        let executor = Arc::new(Executor::new());
        let mut stops = Vec::with_capacity(workers);
        let mut threads = Vec::with_capacity(workers);
        for i in 0..workers {
            let (stop, stopped) = oneshot::channel::<()>();
            let ex = executor.clone();
            let thread = std::thread::Builder::new()
                .name(format!("smol-worker-{i}"))
                .spawn(move || {
                    // Ends when the sender is dropped (a cancelled oneshot) at shutdown.
                    let _ = futures::executor::block_on(ex.run(stopped));
                })
                .expect("async-executor thread should start");
            stops.push(stop);
            threads.push(thread);
        }
        Smol {
            executor,
            stops,
            threads,
        }
    }

    fn spawner(&self) -> SmolSpawner {
        SmolSpawner(self.executor.clone())
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures::executor::block_on(future)
    }
}

impl Drop for Smol {
    fn drop(&mut self) {
        self.stops.clear();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// The spawning handle of [`Smol`]: a shared reference to the executor.
#[derive(Clone)]
pub struct SmolSpawner(Arc<Executor<'static>>);

impl Spawner for SmolSpawner {
    type Join<T: Send + 'static> = async_executor::Task<T>;

    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // An async-task `Task` cancels on drop; workloads always await it.
        self.0.spawn(future)
    }

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.spawn(future).detach();
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        genrt::yield_now()
    }
}

/// async-executor has no blocking pool: smol's is the `blocking` crate, one process-wide
/// pool (its threads outlive the executor, as they are shared by every user).
impl BlockingSpawner for SmolSpawner {
    type Blocking<T: Send + 'static> = blocking::Task<T>;

    fn spawn_blocking<F, T>(&self, f: F) -> Self::Blocking<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        blocking::unblock(f)
    }
}

/// async-io's `Timer`: its timers live in the global reactor, which a thread of its own
/// ("async-io") drives; every expiry is a wake from that thread. There is no `timeout` in
/// async-io: a timeout is the inner future raced with a `Timer` (`futures::future::select`),
/// the way smol's `FutureExt::or` does it.
impl TimerContender for Smol {
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        futures::FutureExt::map(async_io::Timer::after(duration), drop)
    }

    fn churn_one(duration: Duration, cx: &mut Context<'_>) {
        let timeout = pin!(futures::future::select(
            std::future::pending::<()>(),
            async_io::Timer::after(duration),
        ));
        assert!(timeout.poll(cx).is_pending());
    }
}
