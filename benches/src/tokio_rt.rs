//! Tokio's multi-thread runtime as a [`Contender`]: `new_multi_thread().worker_threads(N)`.
//!
//! Setting: no I/O or time driver (`enable_all` is not called). No workload needs them, and
//! without a driver Tokio's idle workers park on a condvar instead of `epoll_wait`, which is
//! its cheaper configuration (its own benches enable both drivers).

use std::future::Future;

use futures::future::Map;
use futures::FutureExt;

use std::pin::pin;
use std::task::Context;
use std::time::Duration;

use crate::{BlockingSpawner, Contender, Spawner, TimerContender};

/// A Tokio multi-thread runtime under test. Dropping it shuts the runtime down and waits for
/// its worker threads (they live in its blocking pool, which is joined on drop).
pub struct Tokio {
    rt: tokio::runtime::Runtime,
}

impl Contender for Tokio {
    type Spawner = tokio::runtime::Handle;
    const NAME: &'static str = "tokio";

    fn build(workers: usize) -> Tokio {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
            .expect("tokio runtime should start");
        Tokio { rt }
    }

    fn spawner(&self) -> tokio::runtime::Handle {
        self.rt.handle().clone()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }
}

/// Tokio with its time driver (`enable_time`), for the `time/*` rows only: the driver
/// changes how idle workers park (one of them parks in the driver with a timeout), so the
/// other rows keep the driverless [`Tokio`].
pub struct TokioTimed {
    rt: tokio::runtime::Runtime,
}

impl Contender for TokioTimed {
    type Spawner = tokio::runtime::Handle;
    const NAME: &'static str = "tokio";

    fn build(workers: usize) -> TokioTimed {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_time()
            .build()
            .expect("tokio runtime should start");
        TokioTimed { rt }
    }

    fn spawner(&self) -> tokio::runtime::Handle {
        self.rt.handle().clone()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }
}

impl TimerContender for TokioTimed {
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep(duration)
    }

    fn churn_one(duration: Duration, cx: &mut Context<'_>) {
        let timeout = pin!(tokio::time::timeout(duration, std::future::pending::<()>()));
        assert!(timeout.poll(cx).is_pending());
    }
}

// `Handle::spawn` from one of the runtime's workers goes to that worker's local queue (or LIFO
// slot), exactly as `tokio::spawn` does: Tokio decides by the current thread's context.
impl Spawner for tokio::runtime::Handle {
    type Join<T: Send + 'static> =
        Map<tokio::task::JoinHandle<T>, fn(Result<T, tokio::task::JoinError>) -> T>;

    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::runtime::Handle::spawn(self, future).map(|r| r.expect("tokio task failed"))
    }

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::runtime::Handle::spawn(self, future));
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        tokio::task::yield_now()
    }
}

impl BlockingSpawner for tokio::runtime::Handle {
    type Blocking<T: Send + 'static> =
        Map<tokio::task::JoinHandle<T>, fn(Result<T, tokio::task::JoinError>) -> T>;

    fn spawn_blocking<F, T>(&self, f: F) -> Self::Blocking<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        tokio::runtime::Handle::spawn_blocking(self, f)
            .map(|r| r.expect("tokio blocking closure failed"))
    }
}
