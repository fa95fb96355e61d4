//! genrt as a [`Contender`]: `genrt::Builder::new().worker_threads(N)`, default settings.

use std::future::Future;

use futures::future::Map;
use futures::FutureExt;

use std::pin::pin;
use std::task::Context;
use std::time::Duration;

use crate::{BlockingSpawner, Contender, Spawner, TimerContender};

/// A genrt runtime under test. Dropping it drops the [`genrt::Runtime`], which cancels every
/// task and joins the worker threads before returning.
pub struct Genrt {
    rt: genrt::Runtime,
}

impl Contender for Genrt {
    type Spawner = genrt::Handle;
    const NAME: &'static str = "genrt";

    fn build(workers: usize) -> Genrt {
        let rt = genrt::Builder::new()
            .worker_threads(workers)
            .build()
            .expect("genrt runtime should start");
        Genrt { rt }
    }

    fn spawner(&self) -> genrt::Handle {
        self.rt.handle().clone()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }
}

// `Handle::spawn` from a worker thread of the same runtime pushes to that worker's local
// deque, from any other thread to the injector: the same paths `genrt::spawn` takes.
impl Spawner for genrt::Handle {
    type Join<T: Send + 'static> = Map<genrt::JoinHandle<T>, fn(Result<T, genrt::JoinError>) -> T>;

    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        genrt::Handle::spawn(self, future).map(|r| r.expect("genrt task failed"))
    }

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // Dropping a genrt JoinHandle detaches the task.
        drop(genrt::Handle::spawn(self, future));
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        genrt::yield_now()
    }
}

impl BlockingSpawner for genrt::Handle {
    type Blocking<T: Send + 'static> =
        Map<genrt::JoinHandle<T>, fn(Result<T, genrt::JoinError>) -> T>;

    fn spawn_blocking<F, T>(&self, f: F) -> Self::Blocking<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        genrt::Handle::spawn_blocking(self, f).map(|r| r.expect("genrt blocking closure failed"))
    }
}

impl TimerContender for Genrt {
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        genrt::time::sleep(duration)
    }

    fn churn_one(duration: Duration, cx: &mut Context<'_>) {
        let timeout = pin!(genrt::time::timeout(duration, std::future::pending::<()>()));
        assert!(timeout.poll(cx).is_pending());
    }
}
