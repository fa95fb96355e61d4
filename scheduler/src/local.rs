//! A single-threaded executor for tasks that are not `Send`: the engine of the runtime
//! crate's `LocalSet`.
//!
//! Its tasks are polled only on the thread that owns the [`LocalScheduler`] (it is neither
//! `Send` nor `Sync`), from the future that drives it ([`LocalScheduler::tick`]). Their
//! wakers are key wakers like a runtime's: the scheduler registers a wake target of its own
//! in the registry (`genrt-waker`), so a task's waker is a `(scheduler, slot, generation)`
//! key that owns nothing, any thread may wake it, and once the task finished or the
//! scheduler is dropped it is a no-op. The slot states (scheduled, running, notified, the
//! generations) are a [`Slab`] of `()`, shared with wakers; the tasks themselves sit in a
//! list only the owner touches, indexed by slot.
//!
//! A wake that schedules a task queues its key and wakes the owner's waker (the one the last
//! `tick` was polled with), so the future driving the scheduler is polled again.
//!
//! A task woken during its own poll (a yield, a spent cooperative budget) is not polled again
//! in the same `tick`: it is queued when the tick ends, and `tick` then says that tasks are
//! queued, so the owner yields before the next turn. Tokio defers a local task's yield the
//! same way (to its worker's defer list, woken after the worker's other tasks and its
//! driver): a task that yields to let the runtime's other tasks (or timers) run first is not
//! polled 61 times before they do.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use genrt_waker::registry::{self, Registration, WakeTarget};
use genrt_waker::{AfterPoll, Claim, PageRef, RuntimeId, Slab, TaskKey, WakeOutcome};

use crate::loom::sync::{Arc, Mutex};

/// A task of a [`LocalScheduler`] as it sees it: something to poll and something to drop,
/// on the owner thread only.
pub trait LocalTask {
    /// Polls the task once. `Ready` means the task is over: its future is dropped and its
    /// result delivered; the scheduler then forgets it. The scheduler never calls it again
    /// after `Ready` or after [`LocalTask::shutdown`], and catches a panic that escapes it
    /// (which ends the task).
    fn poll(&self, cx: &mut Context<'_>) -> Poll<()>;

    /// Drops the task's future without polling it and reports the task as cancelled.
    fn shutdown(&self);
}

/// The part of a [`LocalScheduler`] that wakers reach, from any thread.
struct LocalShared {
    id: RuntimeId,
    slab: Slab<()>,
    queue: Mutex<Queue>,
}

struct Queue {
    /// Keys of scheduled tasks, in wake order.
    keys: VecDeque<TaskKey>,
    /// The waker of the future driving the scheduler, while it waits for a wake.
    owner: Option<Waker>,
}

impl LocalShared {
    /// Queues a scheduled task's key; returns the owner's waker, for the caller to wake.
    #[must_use]
    fn push(&self, key: TaskKey) -> Option<Waker> {
        let mut queue = self.queue.lock();
        queue.keys.push_back(key);
        queue.owner.take()
    }

    /// Queues a scheduled task's key and wakes the owner (outside any registry window).
    fn push_and_wake(&self, key: TaskKey) {
        if let Some(owner) = self.push(key) {
            owner.wake();
        }
    }
}

/// Through the registry, the owner's waker (any waker: another key waker, user code) is
/// handed back to be woken once the wake's window is closed (`wake_fenced_deferred`), never
/// inside it.
impl WakeTarget for LocalShared {
    fn wake(&self, key: TaskKey, _context: Option<&dyn std::any::Any>) -> WakeOutcome {
        // Reached only from a thread in this target's context, which none enters.
        let outcome = self.slab.wake(key.slot(), key.generation());
        if outcome == WakeOutcome::Schedule {
            self.push_and_wake(key);
        }
        outcome
    }

    fn wake_fenced(&self, key: TaskKey) -> WakeOutcome {
        let (outcome, owner) = self.wake_fenced_deferred(key);
        if let Some(owner) = owner {
            owner.wake();
        }
        outcome
    }

    fn wake_fenced_deferred(&self, key: TaskKey) -> (WakeOutcome, Option<Waker>) {
        // The registry's W2 fence stands for the coalesced wake's, as for a runtime.
        let outcome = self.slab.wake_fenced(key.slot(), key.generation());
        let owner = if outcome == WakeOutcome::Schedule {
            self.push(key)
        } else {
            None
        };
        (outcome, owner)
    }

    fn slab_page(&self, page: usize) -> Option<PageRef<'_>> {
        self.slab.page_ref(page)
    }

    fn schedule_fenced(&self, key: TaskKey) {
        self.push_and_wake(key);
    }

    fn schedule_fenced_deferred(&self, key: TaskKey) -> Option<Waker> {
        self.push(key)
    }
}

/// A single-threaded scheduler of `!Send` tasks (module docs). Dropping it drops every task
/// left, on this thread, and makes every waker of its tasks a no-op.
///
/// ```
/// use std::rc::Rc;
/// use std::cell::Cell;
/// use std::task::{Context, Poll};
/// use genrt_scheduler::local::{LocalScheduler, LocalTask};
///
/// struct Count(Rc<Cell<u32>>);
/// impl LocalTask for Count {
///     fn poll(&self, _cx: &mut Context<'_>) -> Poll<()> {
///         self.0.set(self.0.get() + 1);
///         Poll::Ready(())
///     }
///     fn shutdown(&self) {}
/// }
///
/// let scheduler = LocalScheduler::new().unwrap();
/// let polls = Rc::new(Cell::new(0));
/// scheduler.spawn(Rc::new(Count(polls.clone())));
/// struct Noop;
/// impl std::task::Wake for Noop {
///     fn wake(self: std::sync::Arc<Self>) {}
/// }
/// let waker = std::task::Waker::from(std::sync::Arc::new(Noop));
/// assert!(!scheduler.tick(&Context::from_waker(&waker), 61), "nothing left queued");
/// assert_eq!(polls.get(), 1);
/// assert_eq!(scheduler.live_tasks(), 0);
/// ```
pub struct LocalScheduler {
    shared: Arc<LocalShared>,
    registration: Option<Registration>,
    /// The tasks, by slot; touched only on the owner thread, never across a task's poll.
    tasks: RefCell<Vec<Option<Rc<dyn LocalTask>>>>,
    live: Cell<usize>,
    /// Tasks woken during their own poll in the current `tick`, queued when it ends (module
    /// docs); empty between ticks.
    yielded: RefCell<Vec<TaskKey>>,
    /// Set when the drop begins: a task spawned from a dropped future's `Drop` is cancelled
    /// at once.
    closing: Cell<bool>,
    /// Neither `Send` nor `Sync`: the tasks are `!Send` and polled here only.
    _owner_thread: PhantomData<Rc<()>>,
}

impl LocalScheduler {
    /// A scheduler with no tasks, registered with the waker registry.
    ///
    /// Fails when the registry is full (as many runtimes and local schedulers alive at once
    /// as [`genrt_waker::MAX_RUNTIMES`]).
    pub fn new() -> io::Result<LocalScheduler> {
        let (shared, registration) = registry::register_local(|context, base| {
            Arc::new(LocalShared {
                id: context.id(),
                slab: Slab::new(base),
                queue: Mutex::new(Queue {
                    keys: VecDeque::new(),
                    owner: None,
                }),
            })
        })?;
        Ok(LocalScheduler {
            shared,
            registration: Some(registration),
            tasks: RefCell::new(Vec::new()),
            live: Cell::new(0),
            yielded: RefCell::new(Vec::new()),
            closing: Cell::new(false),
            _owner_thread: PhantomData,
        })
    }

    /// Adds a task, scheduled: the next [`tick`](LocalScheduler::tick) polls it. Returns its
    /// key (its waker is `genrt_waker::waker(key)`), or `None` if the scheduler is being
    /// dropped, in which case the task was shut down before this returned.
    ///
    /// # Panics
    ///
    /// If the scheduler already holds as many live tasks as its slab has slots.
    #[track_caller]
    pub fn spawn(&self, task: Rc<dyn LocalTask>) -> Option<TaskKey> {
        if self.closing.get() {
            task.shutdown();
            return None;
        }
        let Ok((slot, generation)) = self.shared.slab.insert(()) else {
            panic!(
                "genrt: this LocalSet already holds {} live tasks, its limit",
                genrt_waker::SLAB_CAPACITY
            );
        };
        {
            let mut tasks = self.tasks.borrow_mut();
            let slot = slot as usize;
            if tasks.len() <= slot {
                tasks.resize_with(slot + 1, || None);
            }
            tasks[slot] = Some(task);
        }
        self.live.set(self.live.get() + 1);
        let key = TaskKey::new(self.shared.id, slot, generation);
        self.shared.push_and_wake(key);
        Some(key)
    }

    /// Tasks spawned and not finished.
    pub fn live_tasks(&self) -> usize {
        self.live.get()
    }

    /// Polls scheduled tasks, in wake order, at most `max` of them; a task woken during its
    /// own poll is queued again only when the tick ends (module docs). Returns whether tasks
    /// are still queued (the caller then polls again soon: it should wake itself). When it
    /// returns `false`, `cx`'s waker is woken by the next wake that schedules a task.
    pub fn tick(&self, cx: &Context<'_>, max: usize) -> bool {
        for _ in 0..max {
            let Some(key) = self.shared.queue.lock().keys.pop_front() else {
                break;
            };
            self.run(key);
        }
        if self.queue_yielded() {
            return true;
        }
        let queue = self.shared.queue.lock();
        if queue.keys.is_empty() {
            drop(queue);
            self.register_owner(cx.waker())
        } else {
            true
        }
    }

    /// Stores the owner's waker, once the queue was seen empty; returns whether keys were
    /// queued meanwhile (the owner then polls again, as `tick` returning `true` says). The
    /// new waker is cloned and the replaced one dropped with the queue's lock released: a
    /// waker's `clone` and `Drop` may run any code, a wake of this set's tasks included.
    fn register_owner(&self, waker: &Waker) -> bool {
        let queue = self.shared.queue.lock();
        if queue
            .owner
            .as_ref()
            .is_some_and(|owner| owner.will_wake(waker))
        {
            // Stored before the queue was seen empty: a push since then woke it.
            return false;
        }
        drop(queue);
        let mut new = Some(waker.clone());
        let mut queue = self.shared.queue.lock();
        let queued = !queue.keys.is_empty();
        let replaced = if queued {
            None
        } else {
            std::mem::replace(&mut queue.owner, new.take())
        };
        drop(queue);
        drop(replaced);
        drop(new);
        queued
    }

    /// Polls the task `key` names once, if the key is still current.
    fn run(&self, key: TaskKey) {
        let Some(guard) = self.shared.slab.start_poll(key.slot(), key.generation()) else {
            return;
        };
        let slot = key.slot() as usize;
        // Cloned out so that no borrow of the list lives across the poll (a task may spawn).
        let Some(task) = self.tasks.borrow().get(slot).cloned().flatten() else {
            return;
        };
        let waker = genrt_waker::waker(key);
        let mut cx = Context::from_waker(&waker);
        let poll = catch_unwind(AssertUnwindSafe(|| task.poll(&mut cx))).unwrap_or(Poll::Ready(()));
        match poll {
            Poll::Ready(()) => {
                guard.complete();
                self.forget(slot);
            }
            Poll::Pending => match guard.finish_pending() {
                AfterPoll::Idle => {}
                // Woken during its own poll (a yield): to the back of the queue when the tick
                // ends (module docs).
                AfterPoll::Reschedule => self.yielded.borrow_mut().push(key),
                AfterPoll::Cancel(guard) => {
                    let _ = catch_unwind(AssertUnwindSafe(|| task.shutdown()));
                    guard.complete();
                    self.forget(slot);
                }
            },
        }
        drop(task);
    }

    /// Queues the tasks that yielded during this tick, in yield order, waking the owner's
    /// waker if one is stored; returns whether there were any.
    fn queue_yielded(&self) -> bool {
        let owner = {
            // Drained, not taken: the list keeps its capacity for the next tick's yields.
            let mut yielded = self.yielded.borrow_mut();
            if yielded.is_empty() {
                return false;
            }
            let mut queue = self.shared.queue.lock();
            queue.keys.extend(yielded.drain(..));
            queue.owner.take()
        };
        if let Some(owner) = owner {
            owner.wake();
        }
        true
    }

    /// A finished task leaves the list (its `Rc` is dropped outside the borrow).
    fn forget(&self, slot: usize) {
        let task = self.tasks.borrow_mut()[slot].take();
        self.live.set(self.live.get() - 1);
        drop(task);
    }
}

impl LocalScheduler {
    /// Shuts down every task left, on this thread: each future is dropped and its task
    /// reports cancelled. From then on, [`spawn`](LocalScheduler::spawn) shuts a new task
    /// down at once. Idempotent; dropping the scheduler does it too.
    pub fn close(&self) {
        self.closing.set(true);
        // Every task left is claimed and shut down here, on the owner thread; one that is
        // spawned meanwhile (from a future's `Drop`) is shut down by `spawn`.
        for slot in 0..self.shared.slab.high_water() {
            if let Claim::Claimed(guard) = self.shared.slab.claim(slot, None) {
                let task = self.tasks.borrow_mut()[slot as usize].take();
                if let Some(task) = task {
                    let _ = catch_unwind(AssertUnwindSafe(|| task.shutdown()));
                    self.live.set(self.live.get() - 1);
                    let _ = catch_unwind(AssertUnwindSafe(move || drop(task)));
                }
                guard.complete();
            }
        }
        self.shared.queue.lock().keys.clear();
        self.yielded.borrow_mut().clear();
    }
}

impl Drop for LocalScheduler {
    fn drop(&mut self) {
        self.close();
        if let Some(mut registration) = self.registration.take() {
            registration.set_next_base(self.shared.slab.next_base());
            drop(registration);
        }
        // The owner's waker is dropped with the shared part, which no waker keeps alive.
        self.shared.queue.lock().owner = None;
    }
}

impl std::fmt::Debug for LocalScheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalScheduler")
            .field("live_tasks", &self.live.get())
            .finish_non_exhaustive()
    }
}
