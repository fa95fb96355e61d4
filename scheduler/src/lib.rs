//! Worker threads, work-stealing queues, parking and shutdown of the genrt runtime.
//!
//! A [`Scheduler`] owns N worker threads. Each has a crossbeam-deque [`Worker`] of task keys
//! (plain `u64`s: scheduling allocates nothing) and steals batches from the others when it
//! runs dry; threads that are not workers queue into a shared [`Injector`]. Tasks live in the
//! `genrt-waker` slab; a waker is a key, so nothing here counts references to tasks.
//!
//! Module map:
//! - `shared`: the state every thread of a runtime sees; spawn and wake.
//! - `worker`: the run loop, the LIFO slot, fairness, stealing.
//! - `idle`: parking, with the no-lost-wake-up proof in `idle/README.md`.
//! - `activity`: `settle`, derived from the idle workers (no per-task accounting).
//! - `task`: the [`Task`] trait and the only calls of its `unsafe` methods.
//! - `context`: the thread-local "which runtime am I in".
//! - `time`: the timing wheel, the clock (real or paused) and [`time::TimerEntry`]; workers
//!   process expiries and one of them parks with a timeout (see its module docs).
//! - `queue`: the run queues (crossbeam-deque's, or loom-visible stand-ins under `cfg(loom)`).
//! - `loom`: this crate's loom shim (std and `parking_lot` normally, loom under `cfg(loom)`).
//! - `loom_models`: the loom models (`cfg(all(test, loom))`), one module per subject under
//!   `loom_models/`.
//!
//! # Shutdown protocol
//!
//! [`Scheduler::shutdown`], also run by `Drop`:
//!
//! 1. set `closed` (SeqCst): later spawns are cancelled on the spot;
//! 2. unpark every worker; each leaves its loop after its current poll;
//! 3. wait, up to the timeout, until every worker has left its loop or blocks in place
//!    (inside [`Handle::begin_blocking`]: what it waits for may be another task, whose
//!    future only step 4 drops, as in Tokio's `hang_on_shutdown`); a worker that is the
//!    current thread (the runtime is dropped from inside one of its own tasks, or from a
//!    `block_in_place` closure of one) is not waited for. A driven runtime's one worker has
//!    no thread: wait the same way until the thread driving it (another thread's `block_on`
//!    or `settle`) has left the batch of task polls it may be in (`Driver::is_ticking`; it
//!    starts none once it sees the close), so that its task is swept, not left alive;
//! 4. sweep the slab, with this runtime as the thread's current one (cleanup code in a
//!    future's `Drop` may look it up; a spawn there is cancelled at once): every task not
//!    being polled is claimed and cancelled (its future dropped, its join handle told); a
//!    task being polled by a worker still running (blocked in place, or past the timeout)
//!    is flagged, and that worker cancels it when its poll returns; the keys left in the
//!    injector, which name those tasks, are dropped (as Tokio drains its injection queue,
//!    so `global_queue_depth` reads 0 after shutdown). Every timer entry
//!    left is dropped and its waker woken ([`time`] module docs: who frees an entry; a
//!    closure blocked in place may be waiting in a `block_on` of a sleep); a flagged task
//!    that polls a timer before its poll returns finds it pending, anyone else a panic
//!    (`time::poll_closed`). Then wait, up to
//!    the same timeout, until every worker has left its loop, join them, and sweep once
//!    more (a worker that blocked in place may have woken tasks before it saw the close);
//! 5. unregister from the registry, handing on the next generation base: from now on a wake
//!    from any thread finds nothing. If a thread that is not a worker is still in the
//!    runtime's context (`Handle::enter`, `block_on` through a handle, a `genrt` blocking
//!    thread), unregistering waits for the last of them to leave
//!    (`Shared::hold_registration`; shutdown does not block on it, the last holder
//!    unregisters): the registry's thread context routes wakes by runtime id, which must not
//!    go to a new runtime meanwhile. Every worker thread holds it the same way for its
//!    whole life (so a worker still running after `shutdown_timeout` gave up, or one
//!    blocked in place for ever, keeps the entry until it exits), and so does a driver that
//!    dropped its own runtime, until it stops driving (`Shared::release_exit_hold`). A
//!    thread already holding it may enter again after the unregistration was requested
//!    (`Handle::enter_with`); no other thread can.
//!
//! # Closing from inside (`Config::shutdown_on_panic`)
//!
//! A task's panic is reported by the thread that caught it, a worker in the middle of a poll
//! ([`Handle::task_panicked`]), which must not wait for anything (not for itself):
//!
//! 1. set `panicked` (Release), then `closed` as in step 1 above; wake every close watcher
//!    (the threads in `block_on`, which then panic); unpark every worker;
//! 2. each worker leaves its loop after its current poll and, seeing `panicked`, sweeps the
//!    slab as in step 4 (claims are compare-and-swaps, so sweeps running at once cancel each
//!    task once) before its stop hook and its exit; a current-thread runtime's driver sweeps
//!    as it stops driving (its `block_on` panics, or its settle returns); spawns from now on
//!    are cancelled;
//! 3. the runtime's eventual drop runs the whole protocol above, which finds the workers
//!    exited and the slab empty, and unregisters.
//!
//! [`Worker`]: crossbeam_deque::Worker
//! [`Injector`]: crossbeam_deque::Injector

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

mod activity;
mod context;
mod idle;
pub mod local;
mod loom;
#[cfg(all(test, loom))]
mod loom_models;
mod metrics;
mod queue;
mod shared;
mod task;
pub mod time;
mod worker;

use std::fmt;
use std::io;
use std::task::Waker;
use std::time::{Duration, Instant};

use genrt_waker::registry::{self, Registration};

pub use genrt_waker::{waker, TaskKey};

/// Whether the calling thread is a worker thread of any genrt runtime (also inside an
/// `enter` there): a thread where waiting for the runtime's own work can deadlock. That
/// includes a thread inside `block_on` of a driven runtime, polling its future: whether it
/// drives the runtime at that moment (and would stall it by waiting there) depends on
/// timing, so the answer does not.
///
/// ```
/// assert!(!genrt_scheduler::on_worker_thread());
/// ```
pub fn on_worker_thread() -> bool {
    let flags = context::flags();
    flags.on_worker() || flags.in_driven_block_on()
}

/// The index of the worker the calling thread is (Tokio's `runtime::worker_index`): on a
/// worker thread of a multi-thread runtime, its index, also inside an `enter` guard of
/// another runtime there; on a thread driving a driven runtime (its `block_on` future and
/// the tasks it runs), 0. `None` elsewhere: a plain thread (inside any `enter` guard), a
/// `block_on` thread of a runtime it does not drive, a blocking thread, a worker inside a
/// blocking section.
///
/// ```
/// assert_eq!(genrt_scheduler::worker_index(), None);
/// ```
pub fn worker_index() -> Option<usize> {
    context::worker_index()
}

/// Says that the current task's wake of itself, made in this poll, is a yield (`yield_now`,
/// a spent coop budget; Tokio's `context::defer`): once the poll returns, the task waits on
/// its worker's deferred list, run after the worker's queues drain (or at its next
/// maintenance tick) and visible to no other worker, so that a task looping on yields does
/// not wake idle workers. Any other wake of a task during its own poll sends it to the back
/// of the worker's deque, where an idle worker, notified, may steal it (Tokio's
/// `schedule_task(task, is_yield = true)`). Call it right before the wake. Does nothing on a
/// thread that is not polling a worker's task.
///
/// ```
/// genrt_scheduler::mark_yield(); // outside a runtime: nothing to mark
/// ```
pub fn mark_yield() {
    context::mark_yield();
}

/// Whether the calling thread runs a driven (current-thread) runtime's work: inside its
/// `block_on` (the future, or the tasks the thread runs there), or driving it in `settle`,
/// also inside an `enter` of any runtime there. Such a thread has no other worker to hand
/// that work to while it blocks.
///
/// ```
/// assert!(!genrt_scheduler::in_driven_runtime());
/// ```
pub fn in_driven_runtime() -> bool {
    context::flags().in_driven_runtime()
}

/// Whether the calling thread is inside `block_on` of any genrt runtime (polling its future,
/// or, on a current-thread runtime, running its tasks; also inside an `enter` there).
///
/// ```
/// assert!(!genrt_scheduler::in_block_on());
/// ```
pub fn in_block_on() -> bool {
    context::flags().in_block_on()
}
/// Whether this thread's thread-locals, where the runtime context lives, are already
/// destroyed (the thread is exiting): then no runtime is current on it, whatever it entered.
///
/// ```
/// assert!(!genrt_scheduler::thread_context_destroyed());
/// ```
pub fn thread_context_destroyed() -> bool {
    context::destroyed()
}
pub use idle::Unparker;
pub use metrics::{Metrics, WorkerMetrics};
pub use task::Task;
pub use worker::Root;

use crate::context::Entry;
use crate::loom::sync::Arc;
use crate::loom::thread;
use crate::queue::{Steal, Worker};
use crate::shared::{Exits, Shared};
use crate::worker::Local;

/// How to start a [`Scheduler`].
///
/// ```
/// let config = genrt_scheduler::Config::new(2);
/// assert_eq!(config.workers, 2);
/// ```
#[derive(Clone)]
pub struct Config {
    /// Number of worker threads; at least 1.
    pub workers: usize,
    /// Name given to every worker thread (unless `thread_name_fn` is set).
    pub thread_name: String,
    /// Called for the name of each worker thread as it starts, instead of `thread_name`.
    pub thread_name_fn: Option<ThreadNameFn>,
    /// Stack size of worker threads; `None` keeps the standard library's default.
    pub stack_size: Option<usize>,
    /// Run on every worker thread before its first poll, inside the runtime's context.
    pub on_thread_start: Option<ThreadHook>,
    /// Run on every worker thread after its last poll, before it exits (also on shutdown),
    /// inside the runtime's context.
    pub on_thread_stop: Option<ThreadHook>,
    /// Run on a worker thread just before it parks (sleeps for want of work).
    pub on_thread_park: Option<ThreadHook>,
    /// Run on a worker thread just after it wakes from a park, before it looks for work.
    pub on_thread_unpark: Option<ThreadHook>,
    /// Whether the first panic of a task's poll closes the runtime (see
    /// [`Handle::task_panicked`]).
    pub shutdown_on_panic: bool,
    /// State of the crate built on this one, kept with the runtime and handed back by
    /// [`Handle::data`] (`genrt` keeps its blocking pool there). The scheduler never looks
    /// inside. It lives as long as the scheduler's shared state, so it must not own a
    /// [`Handle`] (that would be a cycle).
    pub data: Option<RuntimeData>,
    /// Whether the runtime's clock starts paused: it then moves only when every worker is
    /// idle (to the next timer) or by [`Handle::advance_clock`] (see the `time` module).
    pub start_paused: bool,
    /// A busy worker's maintenance tick, in polls: every this many, its yielded tasks move
    /// to its deque and due timers fire (61; at least 1).
    pub event_interval: u32,
    /// Every this many polls, a busy worker looks at the injector (foreign spawns and
    /// wakes) before its own queues (13; at least 1).
    pub global_queue_interval: u32,
    /// A *driven* runtime: its one worker (`workers` must be 1) has no thread of its own and
    /// runs tasks only inside [`Handle::drive`], on the thread that calls it (a
    /// current-thread runtime's `block_on`). Its start and stop hooks never run; its park
    /// and unpark hooks run on the driving thread.
    pub driven: bool,
}

/// See [`Config::data`].
pub type RuntimeData = std::sync::Arc<dyn std::any::Any + Send + Sync + 'static>;

/// A thread start, stop, park or unpark hook (see [`Config::on_thread_start`]). A panic in a
/// hook is caught and dropped, so the worker still runs (or still exits cleanly).
pub type ThreadHook = std::sync::Arc<dyn Fn() + Send + Sync + 'static>;

/// Makes a thread's name as the thread starts (see [`Config::thread_name_fn`]).
pub type ThreadNameFn = std::sync::Arc<dyn Fn() -> String + Send + Sync + 'static>;

impl Config {
    /// `workers` threads named `genrt-worker` with the default stack size, no hooks, panics
    /// ignored.
    pub fn new(workers: usize) -> Config {
        Config {
            workers,
            thread_name: "genrt-worker".to_string(),
            thread_name_fn: None,
            stack_size: None,
            on_thread_start: None,
            on_thread_stop: None,
            on_thread_park: None,
            on_thread_unpark: None,
            shutdown_on_panic: false,
            data: None,
            start_paused: false,
            event_interval: worker::Intervals::default().event,
            global_queue_interval: worker::Intervals::default().injector,
            driven: false,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("workers", &self.workers)
            .field("thread_name", &self.thread_name)
            .field("thread_name_fn", &self.thread_name_fn.is_some())
            .field("stack_size", &self.stack_size)
            .field("on_thread_start", &self.on_thread_start.is_some())
            .field("on_thread_stop", &self.on_thread_stop.is_some())
            .field("on_thread_park", &self.on_thread_park.is_some())
            .field("on_thread_unpark", &self.on_thread_unpark.is_some())
            .field("shutdown_on_panic", &self.shutdown_on_panic)
            .field("data", &self.data.is_some())
            .field("start_paused", &self.start_paused)
            .field("event_interval", &self.event_interval)
            .field("global_queue_interval", &self.global_queue_interval)
            .field("driven", &self.driven)
            .finish()
    }
}

/// The owner of a running set of workers. Dropping it shuts them down.
///
/// ```
/// use genrt_scheduler::{Config, Scheduler};
/// let scheduler = Scheduler::start(Config::new(1)).unwrap();
/// assert_eq!(scheduler.handle().metrics().workers, 1);
/// drop(scheduler); // joins the worker
/// ```
pub struct Scheduler {
    shared: Arc<Shared>,
    registration: Option<Registration>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Scheduler {
    /// Registers a runtime and starts its workers.
    pub fn start(config: Config) -> io::Result<Scheduler> {
        if config.workers == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "genrt: worker_threads must be at least 1",
            ));
        }
        if config.driven && config.workers != 1 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "genrt: a driven runtime has exactly one worker",
            ));
        }
        if config.event_interval == 0 || config.global_queue_interval == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "genrt: event_interval and global_queue_interval must be at least 1",
            ));
        }
        let intervals = worker::Intervals {
            event: config.event_interval,
            injector: config.global_queue_interval,
        };
        let mut deques: Vec<Worker<TaskKey>> =
            (0..config.workers).map(|_| Worker::new_fifo()).collect();
        let stealers = deques.iter().map(Worker::stealer).collect();
        let hooks = || worker::Hooks {
            start: config.on_thread_start.clone(),
            stop: config.on_thread_stop.clone(),
            park: config.on_thread_park.clone(),
            unpark: config.on_thread_unpark.clone(),
        };
        let driver = if config.driven {
            let deque = deques.pop().expect("one worker");
            Some(worker::Driver::new(
                Local::new(0, deque),
                hooks(),
                intervals,
            ))
        } else {
            None
        };
        let (shared, registration) = registry::register(|context, base| {
            Arc::new(
                Shared::new(
                    context,
                    base,
                    stealers,
                    config.shutdown_on_panic,
                    config.start_paused,
                )
                .with_data(config.data.clone())
                .with_driver(driver),
            )
        })?;
        let mut scheduler = Scheduler {
            shared,
            registration: Some(registration),
            threads: Vec::with_capacity(config.workers),
        };
        for (index, deque) in deques.into_iter().enumerate() {
            let shared = scheduler.shared.clone();
            let local = Local::new(index, deque);
            let hooks = hooks();
            let name = match &config.thread_name_fn {
                Some(name) => name(),
                None => config.thread_name.clone(),
            };
            let mut builder = thread::Builder::new().name(name);
            if let Some(size) = config.stack_size {
                builder = builder.stack_size(size);
            }
            // Each worker thread keeps the runtime registered for as long as it runs, as any
            // other thread inside the runtime's context does (`Shared::hold_registration`):
            // a worker still running after shutdown gave up on it (`shutdown_timeout`, or
            // a closure blocked in place for ever) keeps the registry entry until it exits,
            // so no later runtime takes the entry while this thread's wakes go to this one.
            let hold = shared
                .hold_registration()
                .then(|| WorkerHold(shared.clone()));
            let spawned = builder.spawn(move || {
                // Dropped last, also when unwinding: out of the runtime's context by then.
                let _hold = hold;
                let exit = ExitSignal(shared.clone());
                worker::run(shared, local, hooks, intervals);
                drop(exit);
            });
            match spawned {
                Ok(handle) => scheduler.threads.push(handle),
                // Dropping `scheduler` shuts down the workers already started.
                Err(e) => return Err(e),
            }
        }
        Ok(scheduler)
    }

    /// A handle to spawn onto this scheduler from anywhere.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Shuts down (see the crate docs for the protocol). Waits at most `timeout` for worker
    /// threads to finish their current poll (`None`: as long as it takes). Returns whether
    /// every worker thread had exited. Calling it again does nothing and returns `true`.
    ///
    /// Under `cfg(loom)` the timeout is treated as none: loom has no clock, so the wait ends
    /// only when every worker has exited (and a worker that never does is a loom deadlock).
    pub fn shutdown(&mut self, timeout: Option<Duration>) -> bool {
        let Some(mut registration) = self.registration.take() else {
            return true;
        };
        let shared = &self.shared;
        shared.close();
        shared.idle.unpark_all();

        // A timeout past what an `Instant` holds (`Duration::MAX`) is none.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        // A worker blocking in place counts itself in `Exits::blocking`.
        let self_blocking = context::blocks_in_place_for(shared);
        let on_own_worker = context::is_worker_of(shared) || self_blocking;
        let waiting_for = self
            .threads
            .len()
            .saturating_sub(usize::from(on_own_worker));
        // Step 3: a worker blocked in place may wait for what only the sweep drops.
        wait_for_exits(shared, deadline, |exits| {
            exits.exited + exits.blocking >= waiting_for + usize::from(self_blocking)
        });
        // A current-thread runtime's worker has no thread: it runs on the thread that drives
        // it (`drive`), which may be in a task's poll. Wait for that poll to end too, unless
        // this is that thread (then the running task is flagged below, as for a worker).
        let driver_idle = match &shared.driver {
            Some(driver) if !on_own_worker => {
                wait_for_exits(shared, deadline, |_| !driver.is_ticking())
            }
            _ => true,
        };
        let context = context::enter_for_shutdown(shared);
        shared.sweep(None);
        // Every timer entry left is dropped, and a waker it holds woken: a worker blocked in
        // place may be in a `block_on` of a sleep, which no worker would ever fire now (its
        // poll then panics: the timer's runtime is shut down, as in Tokio).
        shared.timers.shutdown();
        drop(context);
        // A worker dropping its own runtime stays in its context until it leaves its loop:
        // the registry entry must not go to another runtime before, or that thread's wakes
        // for the new runtime's keys would reach this one. A worker thread holds it for its
        // whole life anyway (`WorkerHold`); a current-thread runtime's driver (its only
        // worker, which has no thread of its own) holds it until it stops driving
        // (`Shared::release_exit_hold`).
        if on_own_worker && shared.driver.is_some() && shared.hold_registration() {
            *shared.exit_hold.lock() = Some(std::thread::current().id());
        }
        let all_exited = wait_for_exits(shared, deadline, |exits| exits.exited >= waiting_for);
        let current = thread::current().id();
        for handle in self.threads.drain(..) {
            // A worker that signalled its exit may still be dropping its thread-locals (its
            // `Arc<Shared>` among them): join it, so that once shutdown returns the runtime's
            // memory is freed. That join is bounded: the worker has left its loop.
            if handle.thread().id() != current && (all_exited || handle.is_finished()) {
                let _ = handle.join();
            }
            // Otherwise detached: a worker stuck in a poll past the timeout, or this very
            // thread. It cancels its task when the poll returns (step 4) and exits.
        }

        let _context = context::enter_for_shutdown(shared);
        // Step 4's second sweep: finds nothing unless a worker that had blocked in place
        // left tasks behind after the first. Timers: none can be added since (a closed
        // wheel refuses them).
        shared.sweep(None);

        registration.set_next_base(shared.slab.next_base());
        shared.unregister(registration);
        all_exited && driver_idle && !on_own_worker
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

/// Waits until `done` holds of the workers' exits or the deadline passes; returns whether it
/// holds.
fn wait_for_exits(
    shared: &Shared,
    deadline: Option<Instant>,
    done: impl Fn(&Exits) -> bool,
) -> bool {
    let mut exits = shared.exits.lock();
    while !done(&exits) {
        match deadline {
            None => shared.exited_cv.wait(&mut exits),
            Some(deadline) => {
                if shared
                    .exited_cv
                    .wait_until(&mut exits, deadline)
                    .timed_out()
                {
                    return done(&exits);
                }
            }
        }
    }
    true
}

/// Counts a worker thread as exited when dropped, even if the worker unwinds.
struct ExitSignal(Arc<Shared>);

impl Drop for ExitSignal {
    fn drop(&mut self) {
        self.0.exits.lock().exited += 1;
        self.0.exited_cv.notify_all();
    }
}

/// A worker thread's hold on its runtime's registration, released when the thread ends.
struct WorkerHold(Arc<Shared>);

impl Drop for WorkerHold {
    fn drop(&mut self) {
        self.0.release_hold();
    }
}

/// Returned by [`Handle::begin_blocking`]: the thread is no worker (and, for a worker, is
/// counted as blocking in place) until it is dropped.
#[must_use = "the thread is a worker again when the guard is dropped"]
pub struct BlockingGuard {
    /// Counted in `Exits::blocking` (a worker's guard; a stand-in's counts nothing).
    counted: Option<Arc<Shared>>,
    _context: EnterGuard,
}

impl Drop for BlockingGuard {
    fn drop(&mut self) {
        if let Some(shared) = self.counted.take() {
            shared.exits.lock().blocking -= 1;
            shared.exited_cv.notify_all();
        }
    }
}

/// A cheap, cloneable reference to a scheduler, usable from any thread.
///
/// A handle keeps the scheduler's memory (not its tasks) alive; after shutdown, spawning
/// through it cancels the task at once.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    /// The scheduler of the current thread: a worker, or a thread inside [`Handle::enter`].
    pub fn current() -> Option<Handle> {
        context::current().map(|shared| Handle { shared })
    }

    /// The multi-thread scheduler this thread is a worker of, also inside an `enter` of
    /// another runtime there (as Tokio's scheduler context, which `Handle::enter` does not
    /// change): the worker that `block_in_place` hands over. `None` on any other thread (a
    /// current-thread runtime's driver included) and while the worker blocks in place.
    ///
    /// ```
    /// use genrt_scheduler::{Config, Handle, Scheduler};
    ///
    /// assert!(Handle::home().is_none());
    /// let scheduler = Scheduler::start(Config::new(1)).unwrap();
    /// let _entered = scheduler.handle().enter();
    /// assert!(Handle::home().is_none(), "an enter guard makes no worker");
    /// ```
    pub fn home() -> Option<Handle> {
        context::home().map(|shared| Handle { shared })
    }

    /// Spawns a task. Returns its key, or `None` if the scheduler is shut down, in which case
    /// the task was cancelled (its `shutdown` ran) before this returned.
    ///
    /// # Panics
    ///
    /// If the runtime already holds as many live tasks as its slab has slots (about 4.2
    /// million).
    #[track_caller]
    pub fn spawn(&self, task: Arc<dyn Task>) -> Option<TaskKey> {
        self.shared.spawn(task)
    }

    /// The state given as [`Config::data`], if any.
    pub fn data(&self) -> Option<&(dyn std::any::Any + Send + Sync + 'static)> {
        self.shared.data.as_deref()
    }

    /// Whether the scheduler has shut down.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// A snapshot of the scheduler's counters.
    pub fn metrics(&self) -> Metrics {
        self.shared.metrics()
    }

    /// Number of worker threads.
    pub fn workers(&self) -> usize {
        self.shared.workers()
    }

    /// Worker `index`'s counters, read now; `None` past the last worker.
    pub fn worker_metrics(&self, index: usize) -> Option<WorkerMetrics> {
        self.shared.worker_counters(index).map(|c| c.worker())
    }

    /// Makes this scheduler the thread's current one until the guard is dropped:
    /// `Handle::current` finds it and wakes for it skip the registry. Nests over any context
    /// (a worker's, a `block_on`'s, another `enter`'s); a worker entering its own runtime
    /// keeps its local queues.
    ///
    /// # Panics
    ///
    /// When the guard is dropped while a context entered after it is still current (guards
    /// dropped out of order), unless the thread is already panicking.
    #[track_caller]
    pub fn enter(&self) -> EnterGuard {
        self.enter_with(Entry::Enter)
    }

    /// [`Handle::enter`] for `block_on`: also marks the thread as blocking, so that a nested
    /// `block_on` of any runtime is refused.
    ///
    /// # Panics
    ///
    /// If this thread is a worker of any genrt runtime (even inside an `enter`), stands in
    /// for a blocked one (`Handle::enter_stand_in`), or is already inside `block_on`:
    /// blocking there would stall a worker or deadlock.
    #[track_caller]
    pub fn enter_block_on(&self) -> EnterGuard {
        let flags = context::flags();
        if flags.on_worker() || flags.stands_in() {
            panic!(
                "genrt: Cannot start a runtime from within a runtime (Tokio's words): \
                 block_on inside a runtime worker thread would stall the worker and may \
                 deadlock; .await the future instead, or spawn it"
            );
        }
        if flags.in_block_on() {
            panic!(
                "genrt: Cannot start a runtime from within a runtime (Tokio's words): this \
                 thread is already inside block_on; .await the future instead"
            );
        }
        self.enter_with(Entry::BlockOn)
    }

    /// Enters with a hold on the registration (see `Shared::hold_registration`), except on
    /// this runtime's own worker, which keeps it registered anyway, and inside a context of
    /// this thread that holds it already (a `block_on` inside an `enter` of the same
    /// runtime, or inside a genrt blocking thread, which stays entered for its whole life):
    /// the outer guard's hold covers the inner context, which cannot outlive it (dropping
    /// the outer guard first puts back the context the outer one covered). So a blocking
    /// closure still running after its runtime's shutdown can enter it and `block_on`.
    #[track_caller]
    fn enter_with(&self, entry: Entry) -> EnterGuard {
        match self.try_enter_with(entry) {
            Some(guard) => guard,
            // Here, not in a closure: `#[track_caller]` names the caller's line.
            None => panic!(
                "genrt: cannot enter a runtime that has been dropped (its Runtime value is \
                 gone, so there is nothing to run on); keep the Runtime alive while entering \
                 it through a Handle"
            ),
        }
    }

    /// [`Handle::enter`], or `None` where it would panic because the runtime was dropped.
    pub fn try_enter(&self) -> Option<EnterGuard> {
        self.try_enter_with(Entry::Enter)
    }

    /// [`Handle::enter_with`], or `None` where it would panic because the runtime was dropped.
    fn try_enter_with(&self, entry: Entry) -> Option<EnterGuard> {
        // A worker thread holds the registration for its whole life (`WorkerHold`), also
        // while it blocks in place (it is no worker inside, but still this runtime's thread):
        // it may enter again after the unregistration was requested, as the module docs say
        // (step 5), so that a `block_in_place` closure can `block_on` after a
        // `shutdown_background`, as in Tokio.
        let hold = if context::is_worker_of(&self.shared)
            || context::blocks_in_place_for(&self.shared)
            || context::flags().holds(&self.shared)
        {
            None
        } else if self.shared.hold_registration() {
            Some(self.shared.clone())
        } else {
            return None;
        };
        let context = context::enter(self.shared.clone(), entry, hold.is_some());
        Some(EnterGuard {
            depth: context::flags().depth,
            context: Some(context),
            hold,
        })
    }

    /// A worker of this scheduler is about to block in a task's poll (the runtime crate's
    /// `block_in_place`): its queued tasks go where other threads take them (the LIFO key and
    /// the deferred ones to its deque, whose stealer every worker and [`Handle::run_stolen`]
    /// reach), an idle worker is notified, and the returned guard makes the thread no worker
    /// until it is dropped (spawns and wakes from it go to the injector; `block_on` works).
    /// The same on a thread standing in for a blocked worker ([`Handle::enter_stand_in`]),
    /// which has no queues: its caller starts a stand-in for it in turn. `None`, doing
    /// nothing, on any other thread: a thread that is not a worker of this scheduler polls
    /// none of its tasks, so nothing waits for it.
    ///
    /// While a worker's guard lives, shutdown counts the worker as blocking in place: it
    /// drops the other tasks' futures without waiting for it (its closure may wait for one
    /// of them), and waits for it afterwards.
    pub fn begin_blocking(&self) -> Option<BlockingGuard> {
        let counted = match context::home_worker(&self.shared) {
            Some(local) => {
                local.spill(&self.shared);
                // Its freed slots too, for spawns elsewhere while it blocks.
                self.shared.slab.flush(&local.free);
                self.shared.exits.lock().blocking += 1;
                self.shared.exited_cv.notify_all();
                Some(self.shared.clone())
            }
            None if context::stands_in_for(&self.shared) => None,
            None => return None,
        };
        let context = context::enter(self.shared.clone(), Entry::Blocking, false);
        Some(BlockingGuard {
            counted,
            _context: EnterGuard {
                depth: context::flags().depth,
                context: Some(context),
                hold: None,
            },
        })
    }

    /// For a `block_in_place` closure on a thread inside a multi-thread runtime's `block_on`
    /// (polling its future; not a worker, nor a stand-in): until the guard is dropped the
    /// thread counts as outside `block_on`, so that the closure may call `block_on` again,
    /// as in Tokio, whose `block_in_place` leaves the runtime there. `None` on any other
    /// thread: a worker (see [`Handle::begin_blocking`]), a stand-in, a thread inside a
    /// current-thread runtime's `block_on` (where `block_in_place` is refused), or one in
    /// no `block_on`.
    pub fn leave_block_on(&self) -> Option<EnterGuard> {
        let flags = context::flags();
        if !flags.in_block_on()
            || flags.in_driven_runtime()
            || flags.on_worker()
            || flags.stands_in()
        {
            return None;
        }
        let context = context::enter(self.shared.clone(), Entry::LeaveBlockOn, false);
        Some(EnterGuard {
            depth: context::flags().depth,
            context: Some(context),
            hold: None,
        })
    }

    /// Marks this thread as standing in for a blocked worker (running queued tasks through
    /// [`Handle::run_stolen`]) until the guard is dropped, so that a task it polls that blocks
    /// in place in turn ([`Handle::begin_blocking`]) gets a stand-in of its own instead of
    /// stalling the queued tasks with it.
    pub fn enter_stand_in(&self) -> EnterGuard {
        let context = context::enter(self.shared.clone(), Entry::StandIn, false);
        EnterGuard {
            depth: context::flags().depth,
            context: Some(context),
            hold: None,
        }
    }

    /// Runs one queued task on this thread, which is not a worker: one taken from the
    /// injector or stolen from a worker's deque, after firing the timers that are due.
    /// Returns whether a task ran. What a thread standing in for a blocked worker calls in a
    /// loop (the runtime crate's `block_in_place`), so that queued tasks run even while every
    /// worker blocks.
    ///
    /// `turn` counts the caller's calls (0, 1, 2, ...): it decides where the search starts,
    /// so that no source starves another. On even turns the injector comes first, on odd ones
    /// the deques, starting from a deque that moves on each time. A task this thread polls
    /// that is woken meanwhile goes back to the injector (this thread has no queue), so a
    /// search that always began there would, beside a task that yields for ever, never reach
    /// the blocked worker's deque again.
    ///
    /// ```
    /// use genrt_scheduler::{Config, Scheduler};
    ///
    /// let scheduler = Scheduler::start(Config::new(1)).unwrap();
    /// // Nothing is queued: nothing runs, whichever source comes first.
    /// assert!(!scheduler.handle().run_stolen(0));
    /// assert!(!scheduler.handle().run_stolen(1));
    /// ```
    pub fn run_stolen(&self, turn: usize) -> bool {
        let shared = &*self.shared;
        // Present for settle from before it takes a key until the poll has ended.
        let _present = shared.idle.enter_foreign();
        shared.timers.process_if_due(shared, None);
        let deques_first = turn % 2 == 1;
        let workers = shared.stealers.len();
        let start = (turn / 2) % workers.max(1);
        let take = |steal: Steal<TaskKey>, retry: &mut bool| match steal {
            Steal::Success(key) => Some(key),
            Steal::Retry => {
                *retry = true;
                None
            }
            Steal::Empty => None,
        };
        let from_deques = |retry: &mut bool| {
            (0..workers).find_map(|i| take(shared.stealers[(start + i) % workers].steal(), retry))
        };
        let mut key = None;
        for _ in 0..4 {
            let mut retry = false;
            key = if deques_first {
                from_deques(&mut retry).or_else(|| take(shared.injector.steal(), &mut retry))
            } else {
                take(shared.injector.steal(), &mut retry).or_else(|| from_deques(&mut retry))
            };
            if key.is_some() || !retry {
                break;
            }
        }
        match key {
            Some(key) => {
                worker::run_foreign(shared, key);
                true
            }
            None => false,
        }
    }

    /// Reports that a task's poll panicked; call it from the thread that caught the panic.
    /// Under [`Config::shutdown_on_panic`] the first report closes the scheduler from inside:
    /// `closed` is set, the threads watching for the close ([`Handle::watch_close`]) are
    /// woken, every worker leaves its loop after its current poll and cancels every task that
    /// is not being polled. Nothing waits, so it is safe in the middle of a poll. Otherwise
    /// it does nothing.
    pub fn task_panicked(&self) {
        self.shared.close_on_panic();
    }

    /// Whether the scheduler was closed by [`Handle::task_panicked`].
    pub fn is_panicked(&self) -> bool {
        self.shared.is_panicked()
    }

    /// For a thread standing in for a blocked worker ([`Handle::enter_stand_in`]) that sees
    /// the scheduler closed: if a task's panic closed it ([`Handle::task_panicked`]), cancels
    /// every task that is not being polled, as each worker does as it leaves its loop. A
    /// worker blocked in place leaves no loop until its closure returns, and that closure may
    /// wait for one of those tasks to end: with every worker blocked, nobody else would
    /// cancel them before the runtime's drop. Otherwise (not closed, or closed by a shutdown,
    /// which sweeps itself) it does nothing. Idempotent: each task is cancelled once.
    ///
    /// ```
    /// use genrt_scheduler::{Config, Scheduler};
    ///
    /// let scheduler = Scheduler::start(Config::new(1)).unwrap();
    /// scheduler.handle().sweep_if_panicked(); // not closed: nothing happens
    /// ```
    pub fn sweep_if_panicked(&self) {
        if self.shared.is_panicked() {
            self.shared.sweep(None);
        }
    }

    /// Wakes `waker` when the scheduler closes, until the returned guard is dropped. Check
    /// [`Handle::is_closed`] after this returns: a close that happened before is not
    /// reported.
    ///
    /// Only a scheduler started with [`Config::shutdown_on_panic`] has watchers (`None`
    /// otherwise): only a close from inside, by a task's panic, must interrupt a `block_on`;
    /// any other close leaves it driving its future. So the default configuration pays no
    /// lock per `block_on` for it.
    pub fn watch_close(&self, waker: Waker) -> Option<CloseWatch> {
        let id = self.shared.watch_close(waker)?;
        Some(CloseWatch {
            shared: self.shared.clone(),
            id,
        })
    }

    /// Blocks until no task is queued or running, or until `deadline`; returns whether that
    /// happened. See `genrt::Runtime::settle` for the exact guarantee.
    ///
    /// # Panics
    ///
    /// On a worker thread of any genrt runtime, a thread standing in for a blocked one, or
    /// inside a `block_in_place` closure of a task either was polling: the caller's own task
    /// would never stop running, so the wait could never end. Also inside `block_on` of a
    /// driven runtime, whether this thread drives it at the time (it is a worker then) or
    /// another one does: which thread drives is a matter of timing.
    #[track_caller]
    pub fn settle(&self, deadline: Option<Instant>) -> bool {
        let flags = context::flags();
        if flags.on_worker() || flags.stands_in() || flags.in_place() || flags.in_driven_block_on()
        {
            panic!(
                "genrt: cannot settle a runtime from inside a runtime worker thread, a \
                 current-thread runtime's block_on, a block_in_place closure or a task run \
                 while a worker blocks in place: the code calling it is running there, so the \
                 runtime can never settle; call settle from the host thread"
            );
        }
        if self.shared.driver.is_none() {
            return activity::settle(&self.shared, deadline);
        }
        // A driven runtime runs its tasks only while a thread drives it: drive it until it
        // runs out of work, or, while another thread drives, wait for that one in short
        // steps (it may stop driving with work left, which this thread then runs).
        let waiter = thread_waker();
        /// Forgets the waiter when the settle returns (see [`Handle::forget_drive_waiter`]).
        struct Forget<'a>(&'a Handle, &'a Waker);
        impl Drop for Forget<'_> {
            fn drop(&mut self) {
                self.0.forget_drive_waiter(self.1);
            }
        }
        let _forget = Forget(self, &waiter);
        loop {
            let mut root = SettleRoot { deadline };
            if self.drive(&mut root, &waiter) == Some(true) {
                return deadline.is_none_or(|d| Instant::now() < d)
                    || activity::settle(&self.shared, deadline);
            }
            let step = Instant::now() + Duration::from_millis(5);
            let until = deadline.map_or(step, |d| d.min(step));
            if activity::settle(&self.shared, Some(until)) {
                return true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
        }
    }

    /// Whether this is a driven runtime ([`Config::driven`]).
    pub fn is_driven(&self) -> bool {
        self.shared.driver.is_some()
    }

    /// Drives a driven runtime ([`Config::driven`]) on this thread beside `root`: takes its
    /// worker, polls `root` first and whenever it is woken, runs tasks in between, and parks
    /// when there is nothing to do, until `root` is done; then puts the worker back.
    /// `Some(true)` then. `Some(false)` at once if another thread drives it: `waiter` is
    /// woken when that one stops (call again then, or [`Handle::forget_drive_waiter`] once
    /// no longer waiting). `None` for a runtime that is not driven.
    ///
    /// A wake of `root` must give the driver a token after making [`Root::is_woken`] true:
    /// wake the [`Handle::driver_unparker`].
    ///
    /// # Panics
    ///
    /// If an earlier drive could not put the worker back (a context entered inside it was
    /// leaked), and whatever `root`'s poll panics with (the worker is put back first).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::task::{Wake, Waker};
    /// use genrt_scheduler::{Config, Root, Scheduler};
    ///
    /// /// A root that is done at its first poll.
    /// struct Once(bool);
    /// impl Root for Once {
    ///     fn take_wake(&mut self) -> bool { !self.0 }
    ///     fn is_woken(&self) -> bool { !self.0 }
    ///     fn poll(&mut self) -> bool { self.0 = true; true }
    /// }
    /// struct Nothing;
    /// impl Wake for Nothing { fn wake(self: Arc<Self>) {} }
    ///
    /// let mut config = Config::new(1);
    /// config.driven = true;
    /// let scheduler = Scheduler::start(config).unwrap();
    /// let handle = scheduler.handle();
    /// assert!(handle.is_driven());
    /// let waker = Waker::from(Arc::new(Nothing));
    /// assert_eq!(handle.drive(&mut Once(false), &waker), Some(true));
    /// ```
    pub fn drive(&self, root: &mut dyn Root, waiter: &Waker) -> Option<bool> {
        let driver = self.shared.driver.as_ref()?;
        /// A driver that dropped its own runtime holds its registration until it has left
        /// the worker's context (`Scheduler::shutdown`): when `worker::drive` returns or
        /// unwinds.
        struct ReleaseExitHold<'a>(&'a Shared);
        impl Drop for ReleaseExitHold<'_> {
            fn drop(&mut self) {
                self.0.release_exit_hold();
            }
        }
        let _release = ReleaseExitHold(&self.shared);
        Some(worker::drive(&self.shared, driver, root, waiter))
    }

    /// Stops `waiter` from being woken when the worker of a driven runtime is put back: for
    /// a caller of [`Handle::drive`] that got `Some(false)` and no longer waits (its root
    /// completed while another thread drove). A waiter is otherwise kept until the drive in
    /// progress ends, however long that is. Does nothing if `waiter` is not registered.
    pub fn forget_drive_waiter(&self, waiter: &Waker) {
        if let Some(driver) = &self.shared.driver {
            driver.forget_waiter(waiter);
        }
    }

    /// What a driven runtime's [`Root`] wakes so that the driver's park ends; `None` for a
    /// runtime that is not driven. Holds the driver's parker only, not the runtime.
    pub fn driver_unparker(&self) -> Option<Unparker> {
        self.shared.driver.as_ref()?;
        Some(self.shared.idle.unparker(0))
    }
}

/// The [`Root`] of a settle of a driven runtime: no future, the drive ends when the worker
/// runs out of work, or at the deadline.
struct SettleRoot {
    deadline: Option<Instant>,
}

impl Root for SettleRoot {
    fn take_wake(&mut self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Past the deadline: the drive then comes back to this root between two task polls
    /// (and ends), also while tasks keep it busy.
    fn is_woken(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn poll(&mut self) -> bool {
        true
    }

    fn stop_when_idle(&self) -> bool {
        true
    }
}

/// A waker that unparks this thread.
fn thread_waker() -> Waker {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    Waker::from(std::sync::Arc::new(Unpark(std::thread::current())))
}

/// Returned by [`Handle::enter`]; leaves the scheduler's context when dropped, putting back
/// the one it covered.
#[must_use = "the context is left when the guard is dropped"]
pub struct EnterGuard {
    /// The context depth this guard entered, checked on drop.
    depth: usize,
    context: Option<context::ContextGuard>,
    /// The runtime whose registration this guard holds (see `Shared::hold_registration`).
    hold: Option<Arc<Shared>>,
}

impl Drop for EnterGuard {
    /// Guards must be dropped innermost first. One dropped while guards entered after it are
    /// still alive (the current depth is above its own) puts back what it covered, leaving
    /// those; one whose covered context was already left that way (the depth is below its
    /// own) leaves the thread's context as it is. Either way the thread ends up in a context
    /// entered before, never in one already left, and can enter again.
    ///
    /// Only the guard dropped too early panics (Tokio's rule): one whose context an earlier
    /// out-of-order drop already left is quiet, as in Tokio, where that guard is then in
    /// order. The misuse was reported by the earlier drop's panic (or happened while the
    /// thread was unwinding, when no guard panics).
    fn drop(&mut self) {
        let current = context::flags().depth;
        if let Some(context) = self.context.take() {
            if current >= self.depth {
                drop(context);
            } else {
                context.discard();
            }
        }
        if let Some(shared) = self.hold.take() {
            shared.release_hold();
        }
        if current > self.depth && !std::thread::panicking() {
            panic!(
                "genrt: EnterGuard values dropped out of order: guards returned by \
                 Runtime::enter and Handle::enter must be dropped in the reverse order of \
                 their creation"
            );
        }
    }
}

/// Returned by [`Handle::watch_close`]; stops watching when dropped.
#[must_use = "the watch ends when the guard is dropped"]
pub struct CloseWatch {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for CloseWatch {
    fn drop(&mut self) {
        self.shared.unwatch_close(self.id);
    }
}
