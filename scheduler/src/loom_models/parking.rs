//! Loom models of parking: no wake-up is lost with two workers and a foreign waker.
//!
//! The workers are the real run loop (`worker::run`: next task, search, park through the
//! real `Idle` of `idle/mod.rs`), over the real `Shared` (slab, `closed`) and the loom
//! stand-ins of the run queues (`queue.rs`). The main thread is the foreign thread: it spawns
//! and wakes through the same entry points as any thread outside the runtime
//! (`Shared::spawn`, the `WakeTarget::wake_fenced` that the registry calls after its W2
//! fence), and waits with the real `activity::settle`, as `Runtime::settle` does. If the protocol ever loses a wake-up, a key
//! sits in the injector while both workers sleep and the main thread waits for it to run:
//! every thread is blocked, and loom fails the model with a deadlock. If a settle returned
//! while a task spawned or woken before it was still queued or running, the poll counts the
//! models check after it would be short.
//!
//! The task holds a loom `Arc`, so a task the runtime never drops fails the model as a leak.

use std::task::{Context, Poll};

use genrt_waker::registry::{self, Registration, WakeTarget};
use genrt_waker::{Claim, TaskKey, WakeOutcome};

use crate::activity;
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

/// A runtime of `count` workers running the real loop, registered as `Scheduler::start`
/// does; `stop` shuts them down, joins them and unregisters.
struct Workers {
    shared: Arc<Shared>,
    registration: Registration,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Workers {
    fn start(count: usize) -> Workers {
        let deques: Vec<Worker<TaskKey>> = (0..count).map(|_| Worker::new_fifo()).collect();
        let stealers = deques.iter().map(Worker::stealer).collect();
        let (shared, registration) = registry::register(|context, base| {
            Arc::new(Shared::new(context, base, stealers, false, false))
        })
        .expect("a free registry entry");
        let threads = deques
            .into_iter()
            .enumerate()
            .map(|(index, deque)| {
                let shared = shared.clone();
                thread::Builder::new()
                    .spawn(move || {
                        let hooks = worker::Hooks {
                            start: None,
                            stop: None,
                            park: None,
                            unpark: None,
                        };
                        let intervals = worker::Intervals::default();
                        worker::run(shared, Local::new(index, deque), hooks, intervals)
                    })
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
        assert!(activity::settle(&self.shared, None));
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
/// A wake from a thread outside the runtime, as the registry delivers it: its W2 fence
/// (after the waking thread's writes), then the target's `wake_fenced`.
fn foreign_wake(shared: &Shared, key: TaskKey) {
    ::loom::sync::atomic::fence(Ordering::SeqCst);
    let _ = WakeTarget::wake_fenced(shared, key);
}

#[test]
fn foreign_wake_while_workers_park() {
    ::loom::model(|| {
        let workers = Workers::start(2);
        let task = ChannelTask::new(false);
        let key = spawn(&workers.shared, &task);
        // The first poll returns Pending and the task goes idle; the workers head for sleep.
        workers.settle();
        assert_eq!(task.polls.load(Ordering::Relaxed), 1);

        // The foreign waker: fill the channel, wake the key (what the registry delivers).
        *task.ready.lock() = true;
        foreign_wake(&workers.shared, key);
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
        let workers = Workers::start(2);
        let task = ChannelTask::new(true);
        let key = spawn(&workers.shared, &task);
        workers.settle();
        assert_eq!(task.polls.load(Ordering::Relaxed), 1);
        assert_stale(&workers.shared, key);
        workers.stop();
    });
}

/// A settle racing a foreign wake while the runtime's worker goes idle after the task's first
/// poll: the settle returns (it is not left waiting by a wake-up it missed), whichever side of
/// it the wake lands on; and a settle after the wake (the waker thread joined) waits for the
/// woken task, which completes. One worker, so that the waker and the main thread fit in
/// loom's bound.
#[test]
fn settle_races_foreign_wake_and_worker_going_idle() {
    ::loom::model(|| {
        let workers = Workers::start(1);
        let task = ChannelTask::new(false);
        let key = spawn(&workers.shared, &task);
        let waker = {
            let (shared, task) = (workers.shared.clone(), task.clone());
            ::loom::thread::spawn(move || {
                *task.ready.lock() = true;
                foreign_wake(&shared, key);
            })
        };
        // Racing: the first poll, the worker's search and park, and the wake.
        workers.settle();
        let polls = task.polls.load(Ordering::Relaxed);
        assert!(
            (1..=2).contains(&polls),
            "the task spawned before the settle was polled ({polls} polls)"
        );
        waker.join().unwrap();
        workers.settle();
        assert_stale(&workers.shared, key);
        workers.stop();
    });
}

/// A foreign spawn racing shutdown (close, unpark and join the worker, then sweep the slab, as
/// `Scheduler::shutdown` does): spawn's one fence `F_S` serves its `closed` re-check, the
/// Dekker pair with shutdown's store and fence (`Shared::spawn`, step 4), as well as its
/// notification. Whatever the interleaving, the task is not left in the slab after both
/// finish: the sweep claimed it, or the spawn saw `closed` and cancelled it, or a worker ran it.
#[test]
fn foreign_spawn_races_shutdown() {
    ::loom::model(|| {
        let workers = Workers::start(1);
        let shared = workers.shared.clone();
        let task = ChannelTask::new(true);
        let spawner = {
            let (shared, task) = (shared.clone(), task.clone());
            ::loom::thread::spawn(move || {
                let task: TaskRef = unsize_arc!(task => dyn Task);
                shared.spawn(task)
            })
        };
        // Shutdown, steps 1-4 (`Scheduler::shutdown`): close, unpark and join the worker,
        // sweep.
        let Workers {
            shared: _,
            registration,
            threads,
        } = workers;
        shared.close();
        shared.idle.unpark_all();
        for thread in threads {
            thread.join().expect("a worker panicked");
        }
        for slot in 0..shared.slab.high_water() {
            if let Claim::Claimed(guard) = shared.slab.claim(slot, None) {
                crate::task::cancel(guard);
            }
        }
        // Only after the sweep: a late spawn must have cancelled its task itself.
        let _ = spawner.join().unwrap();
        for slot in 0..shared.slab.high_water() {
            assert!(
                matches!(shared.slab.claim(slot, None), Claim::Vacant),
                "a task spawned while shutting down outlived the sweep"
            );
        }
        drop(registration);
    });
}
