//! Loom models of parking: no wake-up is lost with two workers and a foreign waker.
//!
//! The workers are the real run loop (`worker::run`: next task, search, park through the
//! real `Idle` of `idle/mod.rs`), over the real `Shared` (slab, activity count, `closed`) and
//! the loom stand-ins of the run queues (`queue.rs`). The main thread is the foreign thread:
//! it spawns and wakes through the same entry points as any thread outside the runtime
//! (`Shared::spawn`, the `WakeTarget::wake` that the registry calls), and waits with the
//! activity count, as `Runtime::settle` does. If the protocol ever loses a wake-up, a key sits
//! in the injector while both workers sleep and the main thread waits for it to run: every
//! thread is blocked, and loom fails the model with a deadlock.
//!
//! The task holds a loom `Arc`, so a task the runtime never drops fails the model as a leak.

use std::task::{Context, Poll};

use genrt_waker::registry::{self, Registration, WakeTarget};
use genrt_waker::{TaskKey, WakeOutcome};

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::{Arc, Mutex};
use crate::loom::thread;
use crate::loom::unsize_arc;
use crate::queue::Worker;
use crate::shared::Shared;
use crate::task::{Task, TaskRef};
use crate::worker::{self, Local};

/// A task that completes once its "channel" (a flag under a mutex, as a shell request keeps
/// its value) says so.
struct ChannelTask {
    ready: Mutex<bool>,
    polls: AtomicUsize,
    _track: ::loom::sync::Arc<()>,
}

impl ChannelTask {
    fn new(ready: bool) -> Arc<ChannelTask> {
        Arc::new(ChannelTask {
            ready: Mutex::new(ready),
            polls: AtomicUsize::new(0),
            _track: ::loom::sync::Arc::new(()),
        })
    }
}

impl Task for ChannelTask {
    unsafe fn poll(&self, _cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        if *self.ready.lock() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    unsafe fn shutdown(&self) {}
}

/// A runtime of two workers running the real loop, registered as `Scheduler::start` does;
/// `stop` shuts them down, joins them and unregisters.
struct Workers {
    shared: Arc<Shared>,
    registration: Registration,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Workers {
    fn start() -> Workers {
        let deques: Vec<Worker<TaskKey>> = (0..2).map(|_| Worker::new_fifo()).collect();
        let stealers = deques.iter().map(Worker::stealer).collect();
        let (shared, registration) =
            registry::register(|context, base| Arc::new(Shared::new(context, base, stealers)))
                .expect("a free registry entry");
        let threads = deques
            .into_iter()
            .enumerate()
            .map(|(index, deque)| {
                let shared = shared.clone();
                thread::Builder::new()
                    .spawn(move || worker::run(shared, Local::new(index, deque)))
                    .expect("loom thread")
            })
            .collect();
        Workers {
            shared,
            registration,
            threads,
        }
    }

    /// Waits until no task is queued or running (`Runtime::settle`).
    fn settle(&self) {
        assert!(self.shared.activity.wait(None));
    }

    /// Shutdown, steps 1, 2 and 3.
    fn stop(self) {
        self.shared.close();
        self.shared.idle.unpark_all();
        for thread in self.threads {
            thread.join().expect("a worker panicked");
        }
        drop(self.registration);
    }
}

fn spawn(shared: &Shared, task: &Arc<ChannelTask>) -> TaskKey {
    let task: TaskRef = unsize_arc!(task.clone() => dyn Task);
    shared.spawn(task).expect("the runtime is open")
}

/// The task `key` names has completed: its slot no longer answers to the key.
fn assert_stale(shared: &Shared, key: TaskKey) {
    assert_eq!(
        shared.slab.wake(key.slot(), key.generation()),
        WakeOutcome::Stale,
        "the task is still in its slot"
    );
}

/// A task waits on its channel; the foreign thread fills the channel and wakes the task's key
/// while the two workers go idle, search and park. The wake-up is never lost: the task runs
/// again and completes, and every thread ends.
#[test]
fn foreign_wake_while_workers_park() {
    ::loom::model(|| {
        let workers = Workers::start();
        let task = ChannelTask::new(false);
        let key = spawn(&workers.shared, &task);
        // The first poll returns Pending and the task goes idle; the workers head for sleep.
        workers.settle();
        assert_eq!(task.polls.load(Ordering::Relaxed), 1);

        // The foreign waker: fill the channel, wake the key (what the registry delivers).
        *task.ready.lock() = true;
        let _ = WakeTarget::wake(&*workers.shared, key, None);
        workers.settle();
        assert_eq!(
            task.polls.load(Ordering::Relaxed),
            2,
            "woken, polled, completed"
        );
        assert_stale(&workers.shared, key);

        workers.stop();
    });
}

/// A spawn from the foreign thread racing the two workers' first search and park (they start
/// with nothing to do): the key pushed to the injector is found.
#[test]
fn foreign_spawn_while_workers_park() {
    ::loom::model(|| {
        let workers = Workers::start();
        let task = ChannelTask::new(true);
        let key = spawn(&workers.shared, &task);
        workers.settle();
        assert_eq!(task.polls.load(Ordering::Relaxed), 1);
        assert_stale(&workers.shared, key);
        workers.stop();
    });
}
