//! The "`Arc<Task>` executor": Crux's executor before its 0.9.1 fix (redbadger/crux #268),
//! written here from its description as the leaking baseline, made multi-threaded.
//!
//! - A task is an `Arc<Task>` holding its future in a `Mutex<Option<BoxFuture>>` and a sender
//!   to the ready queue.
//! - Its waker is `futures::task::ArcWake` on the `Arc<Task>`: **the waker owns the task**.
//!   Waking sends a clone of the `Arc` to the queue, unconditionally (no "already queued" bit).
//! - N worker threads pull from one shared queue (a `Mutex<VecDeque>` and a `Condvar`), take
//!   the future out of its mutex, poll it with the task's waker, and put it back if pending.
//! - Dropping the executor stops and joins the workers and drops the queue. A pending task is
//!   then owned only by its wakers; when a waker is stored in state the future itself owns (a
//!   pending shell request), the cycle `Arc<Task> -> future -> request -> Waker -> Arc<Task>`
//!   keeps the task, its future and everything it captured allocated forever. That is the
//!   leak the memory scenario shows.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Context;
use std::thread::JoinHandle;

use futures::channel::oneshot;
use futures::future::{BoxFuture, Map};
use futures::task::{waker_ref, ArcWake};
use futures::FutureExt;

use crate::{Contender, Spawner};

/// A task: its future (absent once finished) and the way back to the ready queue.
struct Task {
    future: Mutex<Option<BoxFuture<'static, ()>>>,
    queue: Arc<ReadyQueue>,
}

impl ArcWake for Task {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.queue.push(arc_self.clone());
    }
}

/// The channel of ready tasks shared by the workers and every task.
#[derive(Default)]
struct ReadyQueue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

#[derive(Default)]
struct QueueState {
    tasks: VecDeque<Arc<Task>>,
    closed: bool,
}

impl ReadyQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a task and wakes one idle worker. After close, the task is dropped instead.
    fn push(&self, task: Arc<Task>) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.tasks.push_back(task);
        drop(state);
        self.ready.notify_one();
    }

    /// The next ready task, or `None` once closed.
    fn pop(&self) -> Option<Arc<Task>> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            if let Some(task) = state.tasks.pop_front() {
                return Some(task);
            }
            state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Closes the queue and drops the queued tasks (outside the lock).
    fn close(&self) {
        let queued = {
            let mut state = self.lock();
            state.closed = true;
            std::mem::take(&mut state.tasks)
        };
        self.ready.notify_all();
        drop(queued);
    }
}

/// A worker thread: pop a task, take its future out, poll it with the task's own waker,
/// put it back if still pending; until the queue is closed.
fn work(queue: Arc<ReadyQueue>) {
    while let Some(task) = queue.pop() {
        let mut slot = task.future.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut future) = slot.take() {
            let waker = waker_ref(&task);
            let mut cx = Context::from_waker(&waker);
            if future.as_mut().poll(&mut cx).is_pending() {
                *slot = Some(future);
            }
        }
    }
}

/// The pre-fix Crux executor under test. Dropping it closes the queue and joins the workers;
/// pending tasks are left to their wakers (and leak if those form a cycle).
pub struct ArcTaskExecutor {
    queue: Arc<ReadyQueue>,
    threads: Vec<JoinHandle<()>>,
}

impl Contender for ArcTaskExecutor {
    type Spawner = ArcTaskSpawner;
    const NAME: &'static str = "arc-task";

    fn build(workers: usize) -> ArcTaskExecutor {
        let queue = Arc::new(ReadyQueue::default());
        let threads = (0..workers)
            .map(|i| {
                let queue = queue.clone();
                std::thread::Builder::new()
                    .name(format!("arc-task-worker-{i}"))
                    .spawn(move || work(queue))
                    .expect("arc-task worker should start")
            })
            .collect();
        ArcTaskExecutor { queue, threads }
    }

    fn spawner(&self) -> ArcTaskSpawner {
        ArcTaskSpawner(self.queue.clone())
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures::executor::block_on(future)
    }
}

impl Drop for ArcTaskExecutor {
    fn drop(&mut self) {
        self.queue.close();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// The spawning handle of [`ArcTaskExecutor`]: a sender to its ready queue.
#[derive(Clone)]
pub struct ArcTaskSpawner(Arc<ReadyQueue>);

impl ArcTaskSpawner {
    fn submit(&self, future: BoxFuture<'static, ()>) {
        let task = Arc::new(Task {
            future: Mutex::new(Some(future)),
            queue: self.0.clone(),
        });
        self.0.push(task);
    }
}

impl Spawner for ArcTaskSpawner {
    type Join<T: Send + 'static> = Map<oneshot::Receiver<T>, fn(Result<T, oneshot::Canceled>) -> T>;

    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.submit(
            async move {
                let _ = tx.send(future.await);
            }
            .boxed(),
        );
        rx.map(|r| r.expect("arc-task task was dropped before finishing"))
    }

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.submit(future.boxed());
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        genrt::yield_now()
    }
}
