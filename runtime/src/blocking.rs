//! The blocking pool: threads that run the closures of
//! [`spawn_blocking`](crate::spawn_blocking), owned by the runtime.
//!
//! # The task
//!
//! A blocking task is an ordinary task cell (`task::cell`) whose "future" is the closure
//! (`BlockingFuture`, ready on its first poll), so its [`JoinHandle`](crate::JoinHandle) is
//! genrt's ordinary one: `abort`, `abort_handle`, `is_finished`, cancelled and panic errors
//! work as for any task, with no second result path. The cell never enters the scheduler's
//! slab: it has no key, and its one `BlockingTask` (the right to run it) goes into this pool's
//! queue instead. That is one allocation per closure, no async task and no wake in between
//! (the other design, an async task awaiting a one-shot that a blocking thread fills, costs a
//! second task, a second allocation and a wake per closure).
//!
//! - Abort sets the cell's flag. A queued closure whose flag is set is dropped unrun when a
//!   thread takes it (its handle reports cancelled). A running closure is not interrupted: it
//!   runs to completion and its handle reports its value, as in Tokio.
//! - A panic of the closure is caught by the cell and reported through the join handle only:
//!   the runtime's [`UnhandledPanic`](crate::UnhandledPanic) policy does not apply (Tokio's
//!   applies to spawned futures, not to blocking closures).
//!
//! # The pool
//!
//! One `parking_lot` mutex guards the queue of `BlockingTask`s and the counts; idle threads
//! wait on one condition variable. Spawning pushes the task, then hands it to an idle thread
//! if one is unclaimed (`idle` is decremented and `notified` incremented, so a second spawn
//! does not count the same thread twice), else starts a thread if fewer than
//! `max_blocking_threads` are alive and not leaving, else leaves it queued. **Invariant:**
//! every queued task is taken by some thread: a notified idle thread, a new thread, or, at the
//! cap with none idle, one of the busy threads, each of which looks at the queue before it
//! goes idle. An idle thread that sees no notification within `thread_keep_alive` exits (a
//! notification that arrives as its wait times out is still taken: it is checked first); it
//! counts as *leaving* from that decision, under the lock, until it has exited (its stop hook
//! and the context's exit come in between), and a leaving thread never looks at the queue
//! again, so it counts neither toward the cap nor as a thread that will take a task. (It
//! counted until it had exited, and a spawn in between left its task queued for nobody.)
//!
//! The queue owns the closures that have not started; the thread running a closure owns it
//! until it returns.
//!
//! # The paused clock
//!
//! On a runtime built with `start_paused(true)`, each closure takes a
//! [`ClockHold`](genrt_scheduler::time::ClockHold) when it is queued and releases it once its
//! result (or its cancellation, if it is dropped unrun) has been delivered to its join handle:
//! the clock does not auto-advance while blocking work is in flight, as in Tokio, so a task
//! that awaits a closure under a `timeout` is not timed out by a jump while it runs.
//!
//! # Threads and the runtime's context
//!
//! Each thread enters the runtime's context once, for its whole life, so that
//! [`genrt::spawn`](crate::spawn), [`Handle::current`](crate::Handle::current) and
//! [`Handle::block_on`](crate::Handle::block_on) work inside closures; it runs the start hook
//! after entering and the stop hook before leaving, as workers do. Entering takes a hold on
//! the runtime's registration (the scheduler's shutdown step 5), which a runtime already
//! unregistered refuses; so a new thread enters *under the pool's lock, only if the pool is
//! not closed*, and the runtime's shutdown closes the pool (under that lock) before it shuts
//! the scheduler down: no thread can then enter after the unregistration. A thread started
//! just before the close enters nothing and exits at once, running no hook.
//!
//! # Shutdown
//!
//! `Runtime`'s drop and `shutdown_timeout` run, in this order:
//! 1. [`Pool::close`]: mark the pool closed (later spawns are cancelled on the spot), take the
//!    queued tasks and the hooks out, wake every idle thread (they exit), then drop the queued
//!    tasks outside the lock: their closures are dropped unrun and their handles report
//!    cancelled;
//! 2. the scheduler's shutdown (every future dropped, so a closure waiting on a task's
//!    channel gets its answer or a closed channel, rather than holding shutdown up);
//! 3. [`Pool::join`]: wait for the threads running a closure to finish it and exit, up to the
//!    deadline; a thread of this pool that is running the shutdown itself (a runtime dropped
//!    inside a blocking closure) is not waited for.
//!
//! Shutdown never waits on a thread that is inside the context for the unregistration: the
//! scheduler defers it to the last holder's exit (step 5) instead of waiting, so a closure
//! still running when `shutdown_timeout` gives up keeps the runtime registered until it
//! returns, then its thread leaves and unregisters it. A closure still running after the
//! scheduler's shutdown (during step 3, or after `shutdown_timeout` gave up) can still call
//! `Handle::enter` or `Handle::block_on` on its runtime (the thread's own hold covers them,
//! see the scheduler's `enter_with`); what it spawns is cancelled.
//!
//! Not modelled under loom: the pool's waits are timed, which loom cannot model; it uses
//! `parking_lot` and std's threads directly. The `Runtime` that loom models build has a pool
//! that never starts a thread.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

use genrt_scheduler::{ThreadHook, ThreadNameFn};
use parking_lot::{Condvar, Mutex};

use genrt_scheduler::time::ClockHold;

use crate::task::cell::BlockingTask;

/// A queued closure, with its hold on a paused clock (module docs, "The paused clock").
/// Fields drop in order: the task (its result, cancelled if unrun, delivered and its join
/// handle woken) before the hold.
struct Queued {
    task: BlockingTask,
    _hold: ClockHold,
}

/// The default of [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads).
pub(crate) const DEFAULT_MAX_THREADS: usize = 512;

/// The default of [`Builder::thread_keep_alive`](crate::Builder::thread_keep_alive).
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The pool's settings, from the [`Builder`](crate::Builder).
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) thread_name: String,
    pub(crate) thread_name_fn: Option<ThreadNameFn>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_thread_start: Option<ThreadHook>,
    pub(crate) on_thread_stop: Option<ThreadHook>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("max_threads", &self.max_threads)
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}

/// The blocking pool of one runtime, kept in the scheduler's per-runtime data
/// (`genrt_scheduler::Config::data`, see `runtime::Extras`), so that every
/// [`Handle`](crate::Handle) finds it.
pub(crate) struct Pool {
    state: Mutex<State>,
    /// Idle threads wait here for a notification.
    work: Condvar,
    /// `join` waits here for threads to exit.
    exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
    thread_name_fn: Option<ThreadNameFn>,
    stack_size: Option<usize>,
}

struct State {
    /// Closures that have not started, oldest first.
    queue: VecDeque<Queued>,
    /// Idle threads that no spawn has claimed yet.
    idle: usize,
    /// Notifications sent to idle threads and not yet taken.
    notified: usize,
    /// Threads started and not yet exited.
    threads: usize,
    /// Of `threads`, those that left their loop by keep-alive and are exiting: they never
    /// look at the queue again, so they do not count toward `max_threads` (a spawn starts a
    /// thread beside them) nor as a thread that will take a queued task.
    leaving: usize,
    /// Set once, by `close`.
    closed: bool,
    /// Set once, by the first `join`: a later one (`Drop` after `shutdown_timeout`) does not
    /// wait again.
    joined: bool,
    /// The hooks, taken out by `close` (so that a hook holding a `Handle` is not kept by the
    /// runtime's own data after its shutdown).
    hooks: Hooks,
    next_id: u64,
    /// The join handles of live threads; a thread leaving by keep-alive removes its own.
    handles: HashMap<u64, thread::JoinHandle<()>>,
}

#[derive(Clone, Default)]
struct Hooks {
    start: Option<ThreadHook>,
    stop: Option<ThreadHook>,
}

impl Pool {
    pub(crate) fn new(settings: Settings) -> Pool {
        Pool {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                idle: 0,
                notified: 0,
                threads: 0,
                leaving: 0,
                closed: false,
                joined: false,
                hooks: Hooks {
                    start: settings.on_thread_start,
                    stop: settings.on_thread_stop,
                },
                next_id: 0,
                handles: HashMap::new(),
            }),
            work: Condvar::new(),
            exited: Condvar::new(),
            max_threads: settings.max_threads,
            keep_alive: settings.keep_alive,
            thread_name: settings.thread_name,
            thread_name_fn: settings.thread_name_fn,
            stack_size: settings.stack_size,
        }
    }

    /// The pool of `runtime`.
    pub(crate) fn of(runtime: &genrt_scheduler::Handle) -> &Pool {
        &crate::runtime::Extras::of(runtime).pool
    }

    /// Queues `task` to run on a blocking thread of `runtime` (this pool's runtime). On a
    /// closed pool the task is dropped at once: its handle reports cancelled.
    ///
    /// # Panics
    ///
    /// If no blocking thread is alive and none can be started (the operating system refused):
    /// the closure is dropped first, so its handle reports cancelled.
    #[track_caller]
    pub(crate) fn spawn(&self, task: BlockingTask, runtime: &genrt_scheduler::Handle) {
        let mut state = self.state.lock();
        if state.closed {
            drop(state);
            drop(task);
            return;
        }
        state.queue.push_back(Queued {
            task,
            _hold: runtime.hold_clock(),
        });
        if state.idle > 0 {
            state.idle -= 1;
            state.notified += 1;
            drop(state);
            self.work.notify_one();
        } else if state.threads - state.leaving < self.max_threads {
            if let Err(error) = self.start_thread(&mut state, runtime) {
                if state.threads == state.leaving {
                    // Nobody will ever take it: give it back (cancelled) and say why.
                    let task = state.queue.pop_back();
                    drop(state);
                    drop(task);
                    panic!(
                        "genrt: spawn_blocking could not start a blocking thread and none is \
                         running, so the closure cannot run (it was dropped; its JoinHandle \
                         reports cancelled): {error}"
                    );
                }
                // Otherwise a running thread takes it when it finishes its closure.
            }
        }
    }

    /// Starts one thread, under the lock (`state`).
    fn start_thread(&self, state: &mut State, runtime: &genrt_scheduler::Handle) -> io::Result<()> {
        let id = state.next_id;
        let name = match &self.thread_name_fn {
            Some(name) => name(),
            None => self.thread_name.clone(),
        };
        let mut builder = thread::Builder::new().name(name);
        if let Some(size) = self.stack_size {
            builder = builder.stack_size(size);
        }
        let runtime = runtime.clone();
        let handle = builder.spawn(move || run_thread(runtime, id))?;
        state.next_id += 1;
        state.threads += 1;
        state.handles.insert(id, handle);
        Ok(())
    }

    /// Shutdown, step 1 (module docs). Idempotent.
    pub(crate) fn close(&self) {
        let (queue, hooks) = {
            let mut state = self.state.lock();
            if state.closed {
                return;
            }
            state.closed = true;
            (
                std::mem::take(&mut state.queue),
                std::mem::take(&mut state.hooks),
            )
        };
        self.work.notify_all();
        // Outside the lock: each drop runs a closure's `Drop` and wakes its join handle.
        drop(queue);
        drop(hooks);
    }

    /// Shutdown, step 3 (module docs): waits until every thread has exited or `deadline`
    /// passes, and joins the exited ones. Returns whether every thread (but the current one,
    /// if it is one of them, which makes it `false`) had exited. Only the first call waits;
    /// later ones return `true`.
    pub(crate) fn join(&self, deadline: Option<Instant>) -> bool {
        let current = thread::current().id();
        let mut state = self.state.lock();
        if state.joined {
            return true;
        }
        state.joined = true;
        let on_own_thread = state
            .handles
            .values()
            .any(|handle| handle.thread().id() == current);
        let waiting_for = usize::from(on_own_thread);
        while state.threads > waiting_for {
            match deadline {
                None => self.exited.wait(&mut state),
                Some(deadline) => {
                    if self.exited.wait_until(&mut state, deadline).timed_out() {
                        break;
                    }
                }
            }
        }
        let all_exited = state.threads <= waiting_for;
        let handles = std::mem::take(&mut state.handles);
        drop(state);
        for handle in handles.into_values() {
            // An exited thread may still be dropping its thread-locals: join it, bounded. A
            // thread still running a closure past the deadline (or this very thread) is
            // detached.
            if handle.thread().id() != current && (all_exited || handle.is_finished()) {
                let _ = handle.join();
            }
        }
        all_exited && !on_own_thread
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("Pool")
            .field("threads", &state.threads)
            .field("leaving", &state.leaving)
            .field("idle", &state.idle)
            .field("queued", &state.queue.len())
            .field("closed", &state.closed)
            .finish()
    }
}

/// Runs a hook; a panic in it is caught and dropped (the panic hook reported it), as on
/// workers.
fn run_hook(hook: Option<&ThreadHook>) {
    if let Some(hook) = hook {
        let _ = catch_unwind(AssertUnwindSafe(|| hook()));
    }
}

/// Counts the thread out when dropped, even if it unwinds.
struct Exit<'a> {
    pool: &'a Pool,
    id: u64,
    /// Whether the thread left its loop by keep-alive (and so counts in `leaving`).
    leaving: bool,
}

impl Drop for Exit<'_> {
    fn drop(&mut self) {
        let mut state = self.pool.state.lock();
        state.threads -= 1;
        if self.leaving {
            state.leaving -= 1;
        }
        if !state.closed {
            // A keep-alive exit: nobody will join it, so detach it (it is about to return).
            // After the close, `join` joins it.
            state.handles.remove(&self.id);
        }
        drop(state);
        self.pool.exited.notify_all();
    }
}

/// The body of blocking thread `id` of `runtime`.
fn run_thread(runtime: genrt_scheduler::Handle, id: u64) {
    let pool = Pool::of(&runtime);
    let mut exit = Exit {
        pool,
        id,
        leaving: false,
    };
    let state = pool.state.lock();
    if state.closed {
        return; // started just before the close: nothing to run, nothing entered
    }
    // Under the lock and with the pool open, so before the runtime's unregistration (module
    // docs, "Threads and the runtime's context").
    let context = runtime.enter();
    let hooks = state.hooks.clone();
    drop(state);
    run_hook(hooks.start.as_ref());
    exit.leaving = run_loop(pool);
    run_hook(hooks.stop.as_ref());
    drop(context);
    drop(exit);
}

/// Takes and runs closures until the pool closes or the thread has been idle for the
/// keep-alive. Returns `true` in the second case, where the thread was counted in
/// `leaving`, under the lock, as it gave up: from then on a spawn does not count on it to
/// take a queued task (it would still run its stop hook and leave the context first).
fn run_loop(pool: &Pool) -> bool {
    let mut state = pool.state.lock();
    loop {
        if let Some(Queued { task, _hold }) = state.queue.pop_front() {
            drop(state);
            task.run();
            // `_hold` is released here, after the result was delivered (module docs).
            drop(_hold);
            state = pool.state.lock();
            continue;
        }
        if state.closed {
            return false;
        }
        // A keep-alive too long for an `Instant` (`Duration::MAX`) means for ever. Computed
        // before the thread counts as idle: a spawn hands work to an idle thread.
        let deadline = Instant::now().checked_add(pool.keep_alive);
        state.idle += 1;
        loop {
            let timed_out = match deadline {
                Some(deadline) => pool.work.wait_until(&mut state, deadline).timed_out(),
                None => {
                    pool.work.wait(&mut state);
                    false
                }
            };
            // A notification first: one that raced the timeout is still taken.
            if state.notified > 0 {
                state.notified -= 1;
                break;
            }
            if state.closed {
                state.idle -= 1;
                return false;
            }
            if timed_out {
                state.idle -= 1;
                state.leaving += 1;
                return true;
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::*;
    use crate::loom::unsize_arc;
    use crate::task::cell;
    use crate::task::join::{Join, JoinHandle};

    /// A closure whose thread the operating system refuses to start, with no thread running,
    /// is not lost silently: it is dropped (its handle reports cancelled) and the spawn
    /// panics saying why. A stack larger than the address space makes the start fail.
    #[test]
    // Miri does not allocate a thread's stack, so the start this test needs to fail succeeds
    // there (and the thread then runs against the runtime's own pool).
    #[cfg_attr(miri, ignore)]
    fn a_thread_that_cannot_start_with_none_running_cancels_and_panics() {
        let rt = crate::Builder::new().worker_threads(1).build().unwrap();
        let pool = Pool::new(Settings {
            max_threads: 4,
            keep_alive: DEFAULT_KEEP_ALIVE,
            thread_name: "genrt-unstartable".to_string(),
            thread_name_fn: None,
            stack_size: Some(1 << 60),
            on_thread_start: None,
            on_thread_stop: None,
        });
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = DropFlag(dropped.clone());
        let (cell, task) = cell::blocking(move || {
            let _flag = flag;
            1
        });
        let join: JoinHandle<i32> = JoinHandle::new(unsize_arc!(cell => dyn Join<i32>));
        let runtime = rt.handle().inner.clone();
        let payload = catch_unwind(AssertUnwindSafe(|| pool.spawn(task, &runtime))).unwrap_err();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        assert!(
            message.contains("could not start a blocking thread and none is running"),
            "{message}"
        );
        assert!(dropped.load(std::sync::atomic::Ordering::SeqCst));
        assert!(join.is_finished());
        let err = futures::executor::block_on(join).unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(pool.state.lock().threads, 0);
        assert!(pool.state.lock().queue.is_empty());
    }

    struct DropFlag(std::sync::Arc<std::sync::atomic::AtomicBool>);

    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}
