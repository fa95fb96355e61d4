//! The behavioural tests of smol's `async-task` (its `tests/` folder), of `async-executor`'s
//! `panic_prop.rs`, and of `futures-executor`'s `local_pool.rs`, translated to genrt's public
//! API. Each test names the upstream tests it ports; "genrt's variant" marks a scenario pushed
//! further where genrt promises more. Every test runs under a watchdog; none bounds a
//! real-time duration from above.
//!
//! # How `async-task` maps onto genrt
//!
//! `async-task` hands its user a `Runnable` (the right to poll the task once, or to drop it)
//! and a schedule function; genrt keeps both inside the runtime. The ports keep what a user
//! can observe: how many times the future is polled, and that the future and its output are
//! each dropped exactly once, at the right moment. So:
//!
//! - `runnable.run()` is the runtime polling the task: `Runtime::settle` (on a current-thread
//!   runtime the settling thread polls the tasks itself), checked in the poll counts;
//! - "not run yet" is a current-thread runtime nobody drives, or a multi-thread runtime whose
//!   every worker is held by a blocking task (`hold`); dropping the `Runnable` unrun is
//!   dropping that runtime;
//! - "during run" is a poll that signals the test and waits for its release: the test acts
//!   (wakes, aborts, drops the join handle, polls it) while the poll is known to be running,
//!   from another thread than the one polling;
//! - `Task::cancel` and dropping a `Task` are `JoinHandle::abort`; `Task::detach` is dropping
//!   the `JoinHandle`; the schedule function's count is the number of extra polls a wake
//!   causes (each wake of a suspended task is exactly one more poll, after `settle`).
//!
//! What differs, by design (Tokio's semantics, which genrt follows):
//! - an abort that arrives while a poll runs lets that poll finish; if it completes the
//!   future, the task keeps its output (`Ok`), where `async-task`'s `cancel` drops the output
//!   and reports `None` (`cancel.rs` and `ready.rs`, `cancel_during_run`); if it panics, the
//!   task reports the panic;
//! - polling a `JoinHandle` again after it returned its result panics (as Tokio's does), where
//!   `async-task`'s returns `None` (`join.rs`, `join_twice`);
//! - a task's panic comes back from its join handle as a `JoinError` rather than being
//!   re-raised by the awaiting code (`panic.rs`, `panic_prop.rs`);
//! - a finished task's output is kept until its join handle takes or drops it, also across
//!   the runtime's drop (`async-task` has no runtime to drop).
//!
//! # Ported
//!
//! - `async-task` `basic.rs`: `drop_and_detach`, `detach_and_drop`, `detach_and_run`,
//!   `run_and_detach`, `cancel_and_run`, `run_and_cancel`, `cancel_join`, `schedule`,
//!   `schedule_counter`, `waker`;
//! - `cancel.rs`: `run_and_cancel`, `cancel_and_run`, `cancel_during_run`;
//! - `join.rs`: `cancel_and_join`, `run_and_join`, `drop_handle_and_run`, `join_twice`,
//!   `join_and_cancel`, `join_and_run`, `try_join_and_run_and_join`,
//!   `try_join_and_cancel_and_run`, `try_join_and_run_and_cancel`, `await_output`;
//! - `panic.rs`: `cancel_during_run`, `run_and_join`, `try_join_and_run_and_join`,
//!   `join_during_run`, `try_join_during_run`, `detach_during_run`;
//! - `ready.rs`: `cancel_during_run`, `join_during_run`, `try_join_during_run`,
//!   `drop_handle_during_run`;
//! - `waker_panic.rs`, `waker_pending.rs`: `wake_during_run`, `cancel_during_run`,
//!   `wake_and_cancel_during_run`, `cancel_and_wake_during_run`;
//! - `waker_ready.rs`: `wake`, `wake_by_ref`, `clone`, `wake_cancelled`, `wake_completed`;
//! - genrt's variants: every `*_during_run` scenario with the poll run by a thread in
//!   `settle` and by one in `block_on` (on a current-thread runtime, the one that drives it),
//!   on a `LocalSet` (`local_set_during_run`) and on a thread standing in for a worker
//!   blocked in place (`stand_in_during_run`); the runtime shut down or dropped during the
//!   poll (`runtime_shut_down_during_run`, `dropping_the_runtime_during_a_poll_waits_for_it`);
//!   a future and an output that panic in `Drop`, through every way genrt drops them
//!   (awaited, detached, aborted, dropped with the runtime or the set); self-wakes during a
//!   poll; detach, abort, join and wake racing the task (`moves_racing_the_task`); a stale
//!   waker does not reach the task that reuses the slot;
//! - `async-executor` `panic_prop.rs`: `test_panic_propagation`,
//!   `test_local_panic_propagation`;
//! - `futures-executor` `local_pool.rs`, on `LocalSet`: `run_until_single_future`,
//!   `run_until_ignores_spawned`, `run_until_executes_spawned`, `run_returns_if_empty`,
//!   `run_executes_spawned`, `run_spawn_many`, `nesting_run`, `tasks_are_scheduled_fairly`
//!   (also on a current-thread and a one-worker runtime), `park_unpark_independence` (in
//!   `block_on`, in a task, in a local task); its `run_until_stalled` tests on
//!   `Runtime::settle`, which is genrt's "run until stalled": `run_until_stalled_returns_if_empty`,
//!   `run_until_stalled_returns_multiple_times`, `run_until_stalled_runs_spawned_sub_futures`,
//!   `run_until_stalled_executes_all_ready`, `self_waking_run_until_stalled`,
//!   `nesting_run_run_until_stalled` (a `settle` inside a task);
//! - genrt's `futures_task::Spawn` for `Handle`: `SpawnExt::spawn`, `spawn_with_handle` (its
//!   `RemoteHandle` dropped early cancels the remote future), and the shutdown status.
//!
//! # Found
//!
//! - A current-thread runtime dropped (or shut down with `shutdown_timeout`) from another
//!   thread while a `Handle::block_on` thread was polling one of its tasks returned at once,
//!   leaving that future alive until the poll ended, against `Runtime`'s "every future
//!   dropped before `drop` returns"; `shutdown_timeout` also said every worker had exited.
//!   The scheduler's shutdown waited only for worker threads, and a driven runtime has none.
//!   Fixed: the driver marks the batches of task polls it runs, and shutdown waits (up to its
//!   timeout) for the mark to clear. `dropping_the_runtime_during_a_poll_waits_for_it` and
//!   `runtime_shut_down_during_run` failed before.
//!
//! # Skipped, and why
//!
//! - `basic.rs` `drop_inside_schedule`, `schedule_intrusive`, and the schedule function's
//!   drop counts everywhere: genrt has no user schedule function;
//! - `async-task`'s `metadata.rs`, `custom_allocator.rs`, `scope.rs`, `is_cancelled.rs`:
//!   APIs genrt does not have (task metadata, allocators, scoped tasks,
//!   `Runnable::is_cancelled`); `pending.rs` (an early version's file): its one live test,
//!   `foo`, is `basic::drop_and_detach`'s scenario, ported above;
//! - `local_pool.rs` `try_run_one_*` and `self_waking_try_run_one`: genrt has no single-step
//!   API (`LocalPool::try_run_one`); `LocalSet` has no "run until stalled" of its own;
//! - `async-executor`'s `drop.rs`, `local_queue.rs`, `different_executors.rs`,
//!   `larger_tasks.rs`, `spawn_many.rs`: in `peer_ports.rs`.

use std::cell::{Cell, RefCell};
use std::future::{pending, poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use futures::task::SpawnExt;
use genrt::runtime::RuntimeFlavor;
use genrt::task::{self, LocalSet};
use genrt::{Builder, JoinError, JoinHandle, Runtime};
use support::{current_thread, multi_thread};
use support::{
    drop_runtime, panic_message, quiet_panics, recv, take_waker, wait_for, wait_until, waker_slot,
    DropCounter, WakerSlot, Watchdog, DEADLINE, INTENTIONAL,
};

// ---- Runtimes ----

fn one_worker() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap()
}

/// A runtime flavor: its name, and how to build one.
type Flavor = (&'static str, fn() -> Runtime);

/// The flavors every scenario runs on.
const FLAVORS: [Flavor; 2] = [
    ("current-thread runtime", current_thread),
    ("multi-thread runtime", multi_thread),
];

/// Runs `body` once per flavor, under one watchdog.
fn each_flavor(what: &'static str, body: fn(&'static str, Runtime)) {
    Watchdog::new(what).run(move || {
        for (name, build) in FLAVORS {
            body(name, build());
        }
    });
}

/// Keeps a runtime from polling what is spawned or woken until [`Hold::release`]: a
/// current-thread runtime runs nothing until a thread drives it; on a multi-thread runtime one
/// blocking task per worker occupies every worker.
struct Hold {
    release: Vec<mpsc::Sender<()>>,
}

fn hold(rt: &Runtime) -> Hold {
    if rt.handle().runtime_flavor() == RuntimeFlavor::CurrentThread {
        return Hold {
            release: Vec::new(),
        };
    }
    let workers = rt.metrics().num_workers();
    let (entered_tx, entered) = mpsc::channel();
    let release = (0..workers)
        .map(|_| {
            let (tx, rx) = mpsc::channel::<()>();
            let entered_tx = entered_tx.clone();
            drop(rt.spawn(async move {
                entered_tx.send(()).unwrap();
                // Until released (the sender dropped), or the deadline as a last resort.
                let _ = rx.recv_timeout(DEADLINE);
            }));
            tx
        })
        .collect();
    for _ in 0..workers {
        recv(&entered, "a blocker occupying a worker");
    }
    Hold { release }
}

impl Hold {
    fn release(self) {
        drop(self.release);
    }
}

/// How [`during_settle`] runs the tasks while the test acts.
#[derive(Clone, Copy, Debug)]
enum Driver {
    /// Another thread settles the runtime (on a current-thread runtime, it polls the tasks).
    Settle,
    /// Another thread is in `block_on` (on a current-thread runtime, it polls the tasks);
    /// this thread settles the runtime beside it once the test acted.
    BlockOn,
}

thread_local! {
    /// The driver of the flavor [`each_driver`] runs now.
    static DRIVER: Cell<Driver> = const { Cell::new(Driver::Settle) };
}

/// A runtime flavor and how [`during_settle`] drives it.
type DriverFlavor = (&'static str, fn() -> Runtime, Driver);

/// Runs `body` once per flavor and per [`Driver`], under one watchdog: for the scenarios
/// where the test acts while the task runs.
fn each_driver(what: &'static str, body: fn(&'static str, Runtime)) {
    Watchdog::new(what).run(move || {
        let flavors: [DriverFlavor; 4] = [
            (
                "current-thread runtime, settled",
                current_thread,
                Driver::Settle,
            ),
            (
                "current-thread runtime, in block_on",
                current_thread,
                Driver::BlockOn,
            ),
            (
                "multi-thread runtime, settled",
                multi_thread,
                Driver::Settle,
            ),
            (
                "multi-thread runtime, in block_on",
                multi_thread,
                Driver::BlockOn,
            ),
        ];
        for (name, build, driver) in flavors {
            DRIVER.with(|d| d.set(driver));
            body(name, build());
        }
        DRIVER.with(|d| d.set(Driver::Settle));
    });
}

/// Runs `control` on this thread while another thread drives `rt` (see [`Driver`]; the one
/// [`each_driver`] chose); returns once `rt` has settled after `control`.
fn during_settle<R>(rt: &Runtime, control: impl FnOnce() -> R) -> R {
    match DRIVER.with(Cell::get) {
        Driver::Settle => thread::scope(|s| {
            let driver = s.spawn(|| rt.settle());
            let result = control();
            driver.join().expect("the settling thread");
            result
        }),
        Driver::BlockOn => thread::scope(|s| {
            let (stop, stopped) = futures::channel::oneshot::channel::<()>();
            let driver = s.spawn(|| rt.block_on(stopped));
            let result = control();
            rt.settle();
            stop.send(()).unwrap();
            driver
                .join()
                .expect("the block_on thread")
                .expect("the stop signal");
            result
        }),
    }
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
}

// ---- The probe: a future with event counters ----

/// What the probe's polls saw happen: `async-task`'s `POLL`, `DROP_F` and `DROP_O` (or
/// `DROP_T`).
#[derive(Debug, Default)]
struct Counts {
    polls: AtomicUsize,
    future_drops: AtomicUsize,
    output_drops: AtomicUsize,
}

/// What the probe's poll number `n` does (1-based): `plan[n - 1]`, `Pending` past its end.
#[derive(Clone, Copy, Debug)]
enum Step {
    Pending,
    Ready,
    Panic,
}

/// The probe's output: counts its drop, and panics in it if asked to.
#[derive(Debug)]
struct Out {
    counts: Arc<Counts>,
    value: u32,
    drop_panics: bool,
}

impl Drop for Out {
    fn drop(&mut self) {
        self.counts.output_drops.fetch_add(1, SeqCst);
        if self.drop_panics {
            panic!("{INTENTIONAL}: the probe's output panics in Drop");
        }
    }
}

/// A future with event counters: each poll stores its waker in `waker`, counts itself,
/// reports its number on `entered`, waits for a release if it is the held one, then does
/// what the plan says.
struct Probe {
    counts: Arc<Counts>,
    plan: &'static [Step],
    waker: WakerSlot,
    entered: mpsc::Sender<usize>,
    held: Option<(usize, mpsc::Receiver<()>)>,
    /// The future panics in `Drop` if dropped unfinished, and so does its output. Not once
    /// it returned its output: that panic would be the task's (as in Tokio, whose poll drops
    /// the future under its `catch_unwind`; `lifecycle_review.rs` checks it), where these
    /// scenarios follow the output's own `Drop` panic.
    drop_panics: bool,
    /// It returned its output.
    completed: bool,
}

impl Future for Probe {
    type Output = Out;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Out> {
        let this = self.get_mut();
        *this.waker.lock().unwrap() = Some(cx.waker().clone());
        let n = this.counts.polls.fetch_add(1, SeqCst) + 1;
        let _ = this.entered.send(n);
        if let Some((at, release)) = &this.held {
            if *at == n {
                // The release, or the deadline as a last resort (the test then fails on
                // what it waited for).
                let _ = release.recv_timeout(DEADLINE);
            }
        }
        match this.plan.get(n - 1).copied().unwrap_or(Step::Pending) {
            Step::Pending => Poll::Pending,
            Step::Ready => {
                this.completed = true;
                Poll::Ready(Out {
                    counts: this.counts.clone(),
                    value: 7,
                    drop_panics: this.drop_panics,
                })
            }
            Step::Panic => panic!("{INTENTIONAL}: the probe panics in poll {n}"),
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.counts.future_drops.fetch_add(1, SeqCst);
        if self.drop_panics && !self.completed && !thread::panicking() {
            panic!("{INTENTIONAL}: the probe panics in Drop");
        }
    }
}

/// The test's side of a probe.
struct Scenario {
    counts: Arc<Counts>,
    waker: WakerSlot,
    entered: mpsc::Receiver<usize>,
    release: Cell<Option<mpsc::Sender<()>>>,
}

/// A probe following `plan` whose poll number `held_at` (if any) waits for
/// [`Scenario::release`], and the test's side of it.
fn probe(plan: &'static [Step], held_at: Option<usize>) -> (Probe, Scenario) {
    let counts = Arc::new(Counts::default());
    let waker = waker_slot();
    let (entered_tx, entered) = mpsc::channel();
    let (release, held) = match held_at {
        Some(at) => {
            let (tx, rx) = mpsc::channel();
            (Some(tx), Some((at, rx)))
        }
        None => (None, None),
    };
    let probe = Probe {
        counts: counts.clone(),
        plan,
        waker: waker.clone(),
        entered: entered_tx,
        held,
        drop_panics: false,
        completed: false,
    };
    (
        probe,
        Scenario {
            counts,
            waker,
            entered,
            release: Cell::new(release),
        },
    )
}

impl Scenario {
    /// `(polls, future drops, output drops)`.
    fn counts(&self) -> (usize, usize, usize) {
        (
            self.counts.polls.load(SeqCst),
            self.counts.future_drops.load(SeqCst),
            self.counts.output_drops.load(SeqCst),
        )
    }

    /// Waits until poll number `n` has begun.
    fn wait_entered(&self, n: usize) {
        loop {
            if recv(&self.entered, "the probe's poll") >= n {
                return;
            }
        }
    }

    /// Lets the held poll go on.
    fn release(&self) {
        self.release
            .take()
            .expect("a held poll")
            .send(())
            .expect("the held poll waits");
    }

    /// The waker the latest poll stored.
    fn take_waker(&self) -> Waker {
        take_waker(&self.waker)
    }
}

/// The plans of `async-task`'s futures.
const READY: &[Step] = &[Step::Ready];
const PANICS: &[Step] = &[Step::Panic];
const PENDING: &[Step] = &[];
const PENDING_THEN_READY: &[Step] = &[Step::Pending, Step::Ready];
const PENDING_THEN_PANIC: &[Step] = &[Step::Pending, Step::Panic];

/// Unwraps a join result the probe produced.
#[track_caller]
fn output(result: Result<Out, JoinError>) -> Out {
    match result {
        Ok(out) => out,
        Err(e) => panic!("the task failed: {e}"),
    }
}

/// Settles `rt` (on a current-thread runtime, this thread runs the tasks), then takes
/// `task`'s result.
#[track_caller]
fn join<T>(rt: &Runtime, task: JoinHandle<T>) -> Result<T, JoinError> {
    rt.settle();
    wait_for("the task's handle", task)
}

/// Checks that `e` is the probe's panic.
#[track_caller]
fn assert_probe_panic(name: &str, e: JoinError) {
    assert!(e.is_panic(), "{name}: {e:?}");
    let payload = e.into_panic();
    let message = panic_message(&*payload).unwrap_or_default();
    assert!(
        message.starts_with(INTENTIONAL) && message.contains("panics in poll"),
        "{name}: {message:?}"
    );
}

/// The runtime still runs tasks.
#[track_caller]
fn assert_runs_tasks(name: &str, rt: &Runtime) {
    let answer = wait_for("a later task", {
        let task = rt.spawn(async { 40 + 2 });
        rt.settle();
        task
    });
    assert_eq!(answer.unwrap(), 42, "{name}");
}

// ---- async-task: tests/basic.rs ----

/// `basic::drop_and_detach`: the runnable dropped unrun (the runtime dropped before it
/// polled the task) drops the future, unpolled; detaching afterwards changes nothing, and a
/// join handle kept instead reports cancelled. (Not run on a multi-thread runtime, which may
/// poll the task at once.)
#[test]
fn basic_drop_and_detach() {
    Watchdog::new("basic_drop_and_detach").run(|| {
        for detach in [true, false] {
            let rt = current_thread();
            let (probe, s) = probe(READY, None);
            let task = rt.spawn(probe);
            assert_eq!(s.counts(), (0, 0, 0));
            drop_runtime(rt);
            assert_eq!(s.counts(), (0, 1, 0));
            assert!(task.is_finished());
            if detach {
                drop(task);
            } else {
                let e = wait_for("the handle", task).expect_err("cancelled");
                assert!(e.is_cancelled(), "{e:?}");
            }
            assert_eq!(s.counts(), (0, 1, 0));
        }
    });
}

/// `basic::detach_and_drop`: detached, then the runtime dropped before it polled the task:
/// the future is dropped once, unpolled.
#[test]
fn basic_detach_and_drop() {
    Watchdog::new("basic_detach_and_drop").run(|| {
        let rt = current_thread();
        let (probe, s) = probe(READY, None);
        drop(rt.spawn(probe));
        assert_eq!(s.counts(), (0, 0, 0));
        drop_runtime(rt);
        assert_eq!(s.counts(), (0, 1, 0));
    });
}

/// `basic::detach_and_run`, `join::drop_handle_and_run`: detached before the task runs;
/// running it polls once, drops the future, and drops the output nobody will read, once.
#[test]
fn basic_detach_and_run() {
    each_flavor("basic_detach_and_run", |name, rt| {
        let held = hold(&rt);
        let (probe, s) = probe(READY, None);
        drop(rt.spawn(probe));
        assert_eq!(s.counts(), (0, 0, 0), "{name}");
        held.release();
        rt.settle();
        assert_eq!(s.counts(), (1, 1, 1), "{name}");
        drop_runtime(rt);
        assert_eq!(s.counts(), (1, 1, 1), "{name}");
    });
}

/// `basic::run_and_detach`, `join::run_and_join`: run, then detached (or joined): the
/// future is dropped when it completes, the output only when the handle drops it (or the
/// joiner drops the value), once.
#[test]
fn basic_run_and_detach() {
    each_flavor("basic_run_and_detach", |name, rt| {
        for join in [false, true] {
            let (probe, s) = probe(READY, None);
            let task = rt.spawn(probe);
            rt.settle();
            assert_eq!(s.counts(), (1, 1, 0), "{name}");
            assert!(task.is_finished(), "{name}");
            if join {
                let out = output(wait_for("the handle", task));
                assert_eq!(out.value, 7);
                assert_eq!(s.counts(), (1, 1, 0), "{name}");
                drop(out);
            } else {
                drop(task);
            }
            assert_eq!(s.counts(), (1, 1, 1), "{name}");
        }
        drop_runtime(rt);
    });
}

/// `basic::cancel_and_run`, `join::cancel_and_join`: aborted before the task runs: the
/// runtime drops the future unpolled, the handle reports cancelled, and no output is ever
/// made.
#[test]
fn basic_cancel_and_run() {
    each_flavor("basic_cancel_and_run", |name, rt| {
        let held = hold(&rt);
        let (probe, s) = probe(READY, None);
        let task = rt.spawn(probe);
        task.abort();
        assert_eq!(s.counts(), (0, 0, 0), "{name}");
        held.release();
        rt.settle();
        assert_eq!(s.counts(), (0, 1, 0), "{name}");
        let e = wait_for("the handle", task).expect_err("cancelled");
        assert!(e.is_cancelled(), "{name}: {e:?}");
        assert_eq!(s.counts(), (0, 1, 0), "{name}");
        drop_runtime(rt);
    });
}

/// `basic::run_and_cancel`, `cancel::run_and_cancel`: aborting a task that has completed
/// changes nothing: the handle still gives the output (`cancel` returns `Some`), dropped
/// once with the value.
#[test]
fn basic_run_and_cancel() {
    each_flavor("basic_run_and_cancel", |name, rt| {
        let (probe, s) = probe(READY, None);
        let task = rt.spawn(probe);
        rt.settle();
        assert_eq!(s.counts(), (1, 1, 0), "{name}");
        task.abort();
        task.abort_handle().abort();
        rt.settle();
        assert_eq!(s.counts(), (1, 1, 0), "{name}");
        let out = output(wait_for("the handle", task));
        assert_eq!(s.counts(), (1, 1, 0), "{name}");
        drop(out);
        assert_eq!(s.counts(), (1, 1, 1), "{name}");
        drop_runtime(rt);
    });
}

/// `basic::cancel_join`, `join::try_join_and_run_and_join`: the handle polled before the
/// task runs is pending and changes nothing; after the run it is ready with the output.
#[test]
fn basic_cancel_join() {
    each_flavor("basic_cancel_join", |name, rt| {
        let held = hold(&rt);
        let (probe, s) = probe(READY, None);
        let mut task = rt.spawn(probe);
        assert!(poll_once(&mut task).is_pending(), "{name}");
        assert_eq!(s.counts(), (0, 0, 0), "{name}");
        held.release();
        rt.settle();
        assert_eq!(s.counts(), (1, 1, 0), "{name}");
        let Poll::Ready(result) = poll_once(&mut task) else {
            panic!("{name}: the handle of a finished task is pending");
        };
        drop(output(result));
        assert_eq!(s.counts(), (1, 1, 1), "{name}");
        drop(task);
        assert_eq!(s.counts(), (1, 1, 1), "{name}");
        drop_runtime(rt);
    });
}

/// `basic::schedule`, `basic::schedule_counter`: each wake of a suspended task schedules
/// exactly one more poll (the schedule function runs once per wake); wakes before that poll
/// runs are one.
#[test]
fn basic_schedule() {
    each_flavor("basic_schedule", |name, rt| {
        let (probe, s) = probe(PENDING, None);
        let task = rt.spawn(probe);
        rt.settle();
        assert_eq!(s.counts().0, 1, "{name}");
        for polls in 2..=4 {
            s.take_waker().wake();
            rt.settle();
            assert_eq!(s.counts(), (polls, 0, 0), "{name}");
        }
        // Three wakes before the poll they ask for: one poll.
        let held = hold(&rt);
        let waker = s.take_waker();
        waker.wake_by_ref();
        waker.wake_by_ref();
        waker.wake();
        held.release();
        rt.settle();
        assert_eq!(s.counts(), (5, 0, 0), "{name}");
        task.abort();
        rt.settle();
        assert_eq!(s.counts(), (5, 1, 0), "{name}");
        drop_runtime(rt);
    });
}

/// `basic::waker`: a waker taken from the first poll keeps waking the task after later
/// polls: `wake_by_ref`, then `wake`, each one poll more.
#[test]
fn basic_waker() {
    each_flavor("basic_waker", |name, rt| {
        let (probe, s) = probe(PENDING, None);
        let task = rt.spawn(probe);
        rt.settle();
        let waker = s.take_waker();
        waker.wake_by_ref();
        rt.settle();
        assert_eq!(s.counts().0, 2, "{name}");
        waker.wake();
        rt.settle();
        assert_eq!(s.counts(), (3, 0, 0), "{name}");
        drop(task);
        drop_runtime(rt);
        assert_eq!(s.counts(), (3, 1, 0), "{name}");
    });
}

// ---- async-task: tests/cancel.rs ----

/// `cancel::cancel_and_run`, `join::join_and_cancel`: one thread aborts the task before it
/// runs and waits on its handle; the runtime runs it later: the waiter gets cancelled, the
/// future is dropped unpolled.
#[test]
fn cancel_cancel_and_run() {
    each_flavor("cancel_cancel_and_run", |name, rt| {
        let held = hold(&rt);
        let (probe, s) = probe(READY, None);
        let task = rt.spawn(probe);
        let (waiting_tx, waiting) = mpsc::channel();
        let e = thread::scope(|scope| {
            let joiner = scope.spawn(move || {
                task.abort();
                waiting_tx.send(()).unwrap();
                wait_for("the aborted task's handle", task)
            });
            recv(&waiting, "the joiner");
            assert_eq!(s.counts(), (0, 0, 0), "{name}");
            held.release();
            rt.settle();
            joiner.join().unwrap()
        })
        .expect_err("cancelled");
        assert!(e.is_cancelled(), "{name}: {e:?}");
        assert_eq!(s.counts(), (0, 1, 0), "{name}");
        drop_runtime(rt);
    });
}

/// `cancel::cancel_during_run`, `ready::cancel_during_run`: an abort while the completing
/// poll runs lets it finish; the task keeps its output (Tokio's semantics, where
/// `async-task` drops it), and the future and the output are each dropped once.
#[test]
fn cancel_cancel_during_run() {
    each_driver("cancel_cancel_during_run", |name, rt| {
        let (probe, s) = probe(READY, Some(1));
        let task = rt.spawn(probe);
        during_settle(&rt, || {
            s.wait_entered(1);
            task.abort();
            assert_eq!(s.counts(), (1, 0, 0), "{name}");
            assert!(!task.is_finished(), "{name}");
            s.release();
        });
        assert_eq!(s.counts(), (1, 1, 0), "{name}");
        let out = output(wait_for("the handle", task));
        drop(out);
        assert_eq!(s.counts(), (1, 1, 1), "{name}");
        assert_runs_tasks(name, &rt);
        drop_runtime(rt);
    });
}

// ---- async-task: tests/join.rs ----

/// `join::join_twice`: after the handle returned the output, polling it again panics with a
/// clear message (as Tokio's; `async-task` returns `None`); nothing is dropped twice.
#[test]
fn join_join_twice() {
    let _quiet = quiet_panics();
    each_flavor("join_join_twice", |name, rt| {
        let (probe, s) = probe(READY, None);
        let mut task = rt.spawn(probe);
        rt.settle();
        let Poll::Ready(result) = poll_once(&mut task) else {
            panic!("{name}: the handle of a finished task is pending");
        };
        drop(output(result));
        assert_eq!(s.counts(), (1, 1, 1), "{name}");
        let again = catch_unwind(AssertUnwindSafe(|| poll_once(&mut task)))
            .expect_err("polling a handle after its result panics");
        let message = panic_message(&*again).unwrap_or_default();
        assert!(
            message.contains("JoinHandle polled after completion"),
            "{message}"
        );
        drop(task);
        assert_eq!(s.counts(), (1, 1, 1), "{name}");
        assert_runs_tasks(name, &rt);
        drop_runtime(rt);
    });
}

/// `join::join_and_run`: a thread waits on the handle before the task runs; the run wakes
/// it with the output.
#[test]
fn join_join_and_run() {
    each_flavor("join_join_and_run", |name, rt| {
        let held = hold(&rt);
        let (probe, s) = probe(READY, None);
        let task = rt.spawn(probe);
        let (waiting_tx, waiting) = mpsc::channel();
        let out = thread::scope(|scope| {
            let joiner = scope.spawn(move || {
                waiting_tx.send(()).unwrap();
                wait_for("the handle", task)
            });
            recv(&waiting, "the joiner");
            held.release();
            rt.settle();
            joiner.join().unwrap()
        });
        let out = output(out);
        assert_eq!(s.counts(), (1, 1, 0), "{name}");
        drop(out);
        assert_eq!(s.counts(), (1, 1, 1), "{name}");
        drop_runtime(rt);
    });
}

/// `join::try_join_and_cancel_and_run`: the handle polled (pending), the task aborted and
/// the handle dropped before the run: the run drops the future, unpolled, and nothing else.
#[test]
fn join_try_join_and_cancel_and_run() {
    each_flavor("join_try_join_and_cancel_and_run", |name, rt| {
        let held = hold(&rt);
        let (probe, s) = probe(READY, None);
        let mut task = rt.spawn(probe);
        assert!(poll_once(&mut task).is_pending(), "{name}");
        task.abort();
        drop(task);
        assert_eq!(s.counts(), (0, 0, 0), "{name}");
        held.release();
        rt.settle();
        assert_eq!(s.counts(), (0, 1, 0), "{name}");
        drop_runtime(rt);
    });
}

/// `join::try_join_and_run_and_cancel`: the handle polled (pending), the task run, then
/// aborted (no effect) and the handle dropped: that drops the output, once.
#[test]
fn join_try_join_and_run_and_cancel() {
    each_flavor("join_try_join_and_run_and_cancel", |name, rt| {
        let held = hold(&rt);
        let (probe, s) = probe(READY, None);
        let mut task = rt.spawn(probe);
        assert!(poll_once(&mut task).is_pending(), "{name}");
        held.release();
        rt.settle();
        assert_eq!(s.counts(), (1, 1, 0), "{name}");
        task.abort();
        rt.settle();
        assert_eq!(s.counts(), (1, 1, 0), "{name}");
        drop(task);
        assert_eq!(s.counts(), (1, 1, 1), "{name}");
        drop_runtime(rt);
    });
}

/// `join::await_output`: outputs of several types come back through the handle intact.
#[test]
fn join_await_output() {
    each_flavor("join_await_output", |name, rt| {
        for i in 0..10u32 {
            assert_eq!(join(&rt, rt.spawn(async move { i })).unwrap(), i);
        }
        for i in 0..10usize {
            let v = join(&rt, rt.spawn(async move { vec![7u8; i] })).unwrap();
            assert_eq!(v, vec![7u8; i], "{name}");
        }
        let s = join(&rt, rt.spawn(async { "foo".to_string() })).unwrap();
        assert_eq!(s, "foo", "{name}");
        // The same through a runtime that is only driven by `block_on`.
        assert_eq!(
            rt.block_on(rt.spawn(async { Box::new(5u64) })).unwrap(),
            Box::new(5)
        );
        drop_runtime(rt);
    });
}

// ---- async-task: tests/panic.rs ----

/// `panic::run_and_join`, `panic::try_join_and_run_and_join`: a poll that panics drops the
/// future once; the handle (polled before the run, or not) reports the panic; the runtime
/// goes on.
#[test]
fn panic_run_and_join() {
    let _quiet = quiet_panics();
    each_flavor("panic_run_and_join", |name, rt| {
        for try_join_first in [false, true] {
            let held = hold(&rt);
            let (probe, s) = probe(PANICS, None);
            let mut task = rt.spawn(probe);
            if try_join_first {
                assert!(poll_once(&mut task).is_pending(), "{name}");
            }
            assert_eq!(s.counts(), (0, 0, 0), "{name}");
            held.release();
            rt.settle();
            assert_eq!(s.counts(), (1, 1, 0), "{name}");
            let e = wait_for("the handle", task).expect_err("a panic");
            assert_probe_panic(name, e);
            assert_runs_tasks(name, &rt);
        }
        drop_runtime(rt);
    });
}

/// `panic::cancel_during_run`, `panic::detach_during_run`: the task aborted (or its handle
/// dropped) while the poll that panics runs: the future is dropped once, the panic goes
/// nowhere (nobody joins), the runtime goes on.
#[test]
fn panic_cancel_during_run() {
    let _quiet = quiet_panics();
    each_driver("panic_cancel_during_run", |name, rt| {
        for abort in [true, false] {
            let (probe, s) = probe(PANICS, Some(1));
            let task = rt.spawn(probe);
            during_settle(&rt, || {
                s.wait_entered(1);
                if abort {
                    task.abort();
                }
                drop(task);
                assert_eq!(s.counts(), (1, 0, 0), "{name}");
                s.release();
            });
            assert_eq!(s.counts(), (1, 1, 0), "{name}");
            assert_runs_tasks(name, &rt);
        }
        drop_runtime(rt);
    });
}

/// `panic::join_during_run`: a thread waits on the handle while the poll that panics runs;
/// it is woken with the panic. Also with an abort during the poll: the panic wins.
#[test]
fn panic_join_during_run() {
    let _quiet = quiet_panics();
    each_driver("panic_join_during_run", |name, rt| {
        for abort in [false, true] {
            let (probe, s) = probe(PANICS, Some(1));
            let task = rt.spawn(probe);
            let abort_handle = task.abort_handle();
            let (waiting_tx, waiting) = mpsc::channel();
            let result = thread::scope(|scope| {
                let joiner = scope.spawn(move || {
                    waiting_tx.send(()).unwrap();
                    wait_for("the handle", task)
                });
                during_settle(&rt, || {
                    s.wait_entered(1);
                    recv(&waiting, "the joiner");
                    if abort {
                        abort_handle.abort();
                    }
                    s.release();
                });
                joiner.join().unwrap()
            });
            assert_probe_panic(name, result.expect_err("a panic"));
            assert_eq!(s.counts(), (1, 1, 0), "{name}");
            assert!(abort_handle.is_finished());
        }
        drop_runtime(rt);
    });
}

/// `panic::try_join_during_run`, `ready::try_join_during_run`,
/// `ready::drop_handle_during_run`: the handle polled (pending) while the poll runs, then
/// dropped: the runtime drops what the task leaves (output or panic payload) once.
#[test]
fn try_join_during_run() {
    let _quiet = quiet_panics();
    each_driver("try_join_during_run", |name, rt| {
        for plan in [PANICS, READY] {
            for try_join in [true, false] {
                let (probe, s) = probe(plan, Some(1));
                let mut task = rt.spawn(probe);
                during_settle(&rt, || {
                    s.wait_entered(1);
                    if try_join {
                        assert!(poll_once(&mut task).is_pending(), "{name}");
                    }
                    drop(task);
                    assert_eq!(s.counts(), (1, 0, 0), "{name}");
                    s.release();
                });
                let outputs = usize::from(matches!(plan[0], Step::Ready));
                assert_eq!(s.counts(), (1, 1, outputs), "{name}: {plan:?}");
            }
        }
        assert_runs_tasks(name, &rt);
        drop_runtime(rt);
    });
}

// ---- async-task: tests/ready.rs ----

/// `ready::join_during_run`: a thread waits on the handle while the completing poll runs;
/// it gets the output, dropped once with the value.
#[test]
fn ready_join_during_run() {
    each_driver("ready_join_during_run", |name, rt| {
        let (probe, s) = probe(READY, Some(1));
        let task = rt.spawn(probe);
        let (waiting_tx, waiting) = mpsc::channel();
        let result = thread::scope(|scope| {
            let joiner = scope.spawn(move || {
                waiting_tx.send(()).unwrap();
                wait_for("the handle", task)
            });
            during_settle(&rt, || {
                s.wait_entered(1);
                recv(&waiting, "the joiner");
                s.release();
            });
            joiner.join().unwrap()
        });
        let out = output(result);
        assert_eq!(s.counts(), (1, 1, 0), "{name}");
        drop(out);
        assert_eq!(s.counts(), (1, 1, 1), "{name}");
        drop_runtime(rt);
    });
}

// ---- async-task: tests/waker_panic.rs, tests/waker_pending.rs ----

/// What the test does while the task's second poll runs.
#[derive(Clone, Copy, Debug)]
enum Act {
    Wake,
    Abort,
    DropHandle,
}

/// The `*_during_run` scenarios of `waker_panic.rs` and `waker_pending.rs`: the first poll
/// stores the waker and is pending; the test wakes it; while the second poll runs (held),
/// the test does `acts` from another thread; then the poll is released. Returns the
/// scenario, the join handle if `acts` kept it, and the waker of the first poll.
fn during_second_poll(
    name: &str,
    rt: &Runtime,
    plan: &'static [Step],
    acts: &[Act],
) -> (Scenario, Option<JoinHandle<Out>>, Waker) {
    let (probe, s) = probe(plan, Some(2));
    let mut task = Some(rt.spawn(probe));
    rt.settle();
    assert_eq!(s.counts(), (1, 0, 0), "{name}");
    let w = s.take_waker();
    w.wake_by_ref();
    during_settle(rt, || {
        s.wait_entered(2);
        for act in acts {
            match act {
                Act::Wake => w.wake_by_ref(),
                Act::Abort => task.as_ref().expect("the handle").abort(),
                Act::DropHandle => drop(task.take()),
            }
            assert_eq!(s.counts(), (2, 0, 0), "{name}: {acts:?}");
        }
        s.release();
    });
    (s, task, w)
}

/// `waker_panic::wake_during_run`, `cancel_during_run`, `wake_and_cancel_during_run`,
/// `cancel_and_wake_during_run`: whatever the test does while the second poll runs and
/// panics (wake, abort, drop the handle), the task is over after it: polled twice, its future
/// dropped once, never scheduled again; a kept handle reports the panic; the wakers left
/// (the test's, the one the second poll stored) are no-ops.
#[test]
fn waker_panic_during_run() {
    let _quiet = quiet_panics();
    each_driver("waker_panic_during_run", |name, rt| {
        let scenarios: [&[Act]; 5] = [
            &[Act::Wake, Act::DropHandle],
            &[Act::Abort, Act::DropHandle],
            &[Act::Wake, Act::Abort, Act::DropHandle],
            &[Act::Abort, Act::DropHandle, Act::Wake],
            &[Act::Wake, Act::Abort],
        ];
        for acts in scenarios {
            let (s, task, w) = during_second_poll(name, &rt, PENDING_THEN_PANIC, acts);
            assert_eq!(s.counts(), (2, 1, 0), "{name}: {acts:?}");
            if let Some(task) = task {
                assert_probe_panic(name, wait_for("the handle", task).expect_err("a panic"));
            }
            w.wake();
            s.take_waker().wake();
            rt.settle();
            assert_eq!(s.counts(), (2, 1, 0), "{name}: {acts:?}");
        }
        assert_runs_tasks(name, &rt);
        drop_runtime(rt);
    });
}

/// `waker_pending::wake_during_run`: a wake from another thread while the poll runs (and
/// returns pending) schedules exactly one more poll.
#[test]
fn waker_pending_wake_during_run() {
    each_driver("waker_pending_wake_during_run", |name, rt| {
        let (s, task, w) = during_second_poll(name, &rt, PENDING, &[Act::Wake, Act::Wake]);
        rt.settle();
        assert_eq!(s.counts(), (3, 0, 0), "{name}");
        // The task is suspended again: one more wake, one more poll.
        w.wake();
        rt.settle();
        assert_eq!(s.counts(), (4, 0, 0), "{name}");
        let task = task.expect("the handle");
        task.abort();
        let e = join(&rt, task).expect_err("cancelled");
        assert!(e.is_cancelled(), "{name}: {e:?}");
        assert_eq!(s.counts(), (4, 1, 0), "{name}");
        drop_runtime(rt);
    });
}

/// `waker_pending::cancel_during_run`, `wake_and_cancel_during_run`,
/// `cancel_and_wake_during_run`: an abort while the poll runs (and returns pending) lets it
/// finish, then drops the future without polling it again, whatever wakes come around it;
/// a kept handle reports cancelled.
#[test]
fn waker_pending_cancel_during_run() {
    each_driver("waker_pending_cancel_during_run", |name, rt| {
        let scenarios: [&[Act]; 4] = [
            &[Act::Abort, Act::DropHandle],
            &[Act::Wake, Act::Abort, Act::DropHandle],
            &[Act::Abort, Act::DropHandle, Act::Wake],
            &[Act::Abort, Act::Wake],
        ];
        for acts in scenarios {
            let (s, task, w) = during_second_poll(name, &rt, PENDING, acts);
            rt.settle();
            assert_eq!(s.counts(), (2, 1, 0), "{name}: {acts:?}");
            if let Some(task) = task {
                let e = wait_for("the handle", task).expect_err("cancelled");
                assert!(e.is_cancelled(), "{name}: {e:?}");
            }
            w.wake();
            rt.settle();
            assert_eq!(s.counts(), (2, 1, 0), "{name}: {acts:?}");
        }
        drop_runtime(rt);
    });
}

// ---- The same on a LocalSet, and on a thread standing in for a blocked worker ----

/// Runs `probe` as a task of a `LocalSet` that a thread of its own creates and drives inside
/// `rt` (`LocalSet::block_on`), while `control` runs here with the task's join handle; once
/// `control` returns, the set runs until its tasks are quiet, `check` runs here, and then the
/// set is dropped on its thread.
fn on_local_set<R>(
    rt: &Runtime,
    probe: Probe,
    control: impl FnOnce(JoinHandle<Out>) -> R,
    check: impl FnOnce(R),
) {
    let (task_tx, task_rx) = mpsc::channel();
    let (stop, stopped) = futures::channel::oneshot::channel::<()>();
    let (quiet_tx, quiet) = mpsc::channel();
    let (finish, finished) = mpsc::channel::<()>();
    thread::scope(|scope| {
        let set = scope.spawn(move || {
            let local = LocalSet::new();
            task_tx.send(local.spawn_local(probe)).unwrap();
            local.block_on(rt, stopped).expect("the stop signal");
            // Until quiet: each turn of `run_until` polls every task queued in the set.
            local.block_on(rt, async {
                for _ in 0..16 {
                    task::yield_now().await;
                }
            });
            quiet_tx.send(()).unwrap();
            let _ = finished.recv_timeout(DEADLINE);
            drop(local);
        });
        let result = control(recv(&task_rx, "the local task's handle"));
        stop.send(()).unwrap();
        recv(&quiet, "the set running until quiet");
        check(result);
        drop(finish);
        set.join().expect("the set's thread");
    });
}

/// The `*_during_run` scenarios of `cancel.rs`, `ready.rs`, `panic.rs`, `waker_panic.rs`
/// and `waker_pending.rs` on a task of a `LocalSet`: the test wakes, aborts, polls and drops
/// the handle from another thread than the set's while the task's poll runs there.
#[test]
fn local_set_during_run() {
    let _quiet = quiet_panics();
    each_flavor("local_set_during_run", |name, rt| {
        // cancel::cancel_during_run, ready::cancel_during_run: the output is kept.
        let (future, s) = probe(READY, Some(1));
        on_local_set(
            &rt,
            future,
            |task| {
                s.wait_entered(1);
                task.abort();
                s.release();
                task
            },
            |task| {
                assert_eq!(s.counts(), (1, 1, 0), "{name}");
                drop(output(wait_for("the handle", task)));
                assert_eq!(s.counts(), (1, 1, 1), "{name}");
            },
        );

        // panic::cancel_during_run, panic::try_join_during_run, ready::try_join_during_run,
        // ready::drop_handle_during_run.
        for plan in [PANICS, READY] {
            let (probe, s) = probe(plan, Some(1));
            on_local_set(
                &rt,
                probe,
                |mut task| {
                    s.wait_entered(1);
                    assert!(poll_once(&mut task).is_pending(), "{name}");
                    task.abort();
                    drop(task);
                    s.release();
                },
                |()| {
                    let outputs = usize::from(matches!(plan[0], Step::Ready));
                    assert_eq!(s.counts(), (1, 1, outputs), "{name}: {plan:?}");
                },
            );
        }

        // waker_pending.rs and waker_panic.rs: the second poll held.
        let scenarios: [&[Act]; 6] = [
            &[Act::Wake, Act::Wake],
            &[Act::Wake, Act::DropHandle],
            &[Act::Abort, Act::DropHandle],
            &[Act::Wake, Act::Abort, Act::DropHandle],
            &[Act::Abort, Act::DropHandle, Act::Wake],
            &[Act::Abort, Act::Wake],
        ];
        for plan in [PENDING, PENDING_THEN_PANIC] {
            for acts in scenarios {
                let (probe, s) = probe(plan, Some(2));
                on_local_set(
                    &rt,
                    probe,
                    |task| {
                        let mut task = Some(task);
                        s.wait_entered(1);
                        let w = s.take_waker();
                        w.wake_by_ref();
                        s.wait_entered(2);
                        for act in acts {
                            match act {
                                Act::Wake => w.wake_by_ref(),
                                Act::Abort => task.as_ref().expect("the handle").abort(),
                                Act::DropHandle => drop(task.take()),
                            }
                        }
                        assert_eq!(s.counts(), (2, 0, 0), "{name}: {acts:?}");
                        s.release();
                        (task, w)
                    },
                    |(task, w)| {
                        let panics = plan.len() == 2;
                        let aborted = acts.iter().any(|a| matches!(a, Act::Abort));
                        let expected = if panics || aborted {
                            (2, 1, 0)
                        } else {
                            // Woken during the poll: exactly one poll more.
                            (3, 0, 0)
                        };
                        assert_eq!(s.counts(), expected, "{name}: {plan:?} {acts:?}");
                        w.wake();
                        if let Some(task) = task {
                            if panics {
                                let e = wait_for("the handle", task).expect_err("a panic");
                                assert_probe_panic(name, e);
                            } else if aborted {
                                let e = wait_for("the handle", task).expect_err("cancelled");
                                assert!(e.is_cancelled(), "{name}: {e:?}");
                            } else {
                                assert!(!task.is_finished(), "{name}");
                            }
                        }
                    },
                );
                // The set is dropped: a task left pending is dropped with it.
                assert_eq!(s.counts().1, 1, "{name}: {plan:?} {acts:?}");
            }
        }
        drop_runtime(rt);
    });
}

/// The `*_during_run` scenarios of `waker_pending.rs`, `waker_panic.rs` and `ready.rs` on a
/// task that a thread standing in for a blocked worker polls (genrt's `block_in_place`):
/// the only worker of the runtime blocks in place, so the task runs on the stand-in, while
/// the test wakes it, aborts it and drops its handle.
#[test]
fn stand_in_during_run() {
    let _quiet = quiet_panics();
    Watchdog::new("stand_in_during_run").run(|| {
        let scenarios: [&[Act]; 5] = [
            &[Act::Wake, Act::Wake],
            &[Act::Wake, Act::DropHandle],
            &[Act::Abort, Act::DropHandle],
            &[Act::Wake, Act::Abort],
            &[Act::Abort, Act::DropHandle, Act::Wake],
        ];
        let rt = one_worker();
        let mut done = Vec::new();
        for plan in [PENDING, PENDING_THEN_PANIC, PENDING_THEN_READY] {
            for acts in scenarios {
                let what = format!("{plan:?} {acts:?}");
                // The worker blocks in place until released.
                let (blocked_tx, blocked) = mpsc::channel();
                let (unblock, unblocked) = mpsc::channel::<()>();
                let blocker = rt.spawn(async move {
                    task::block_in_place(move || {
                        blocked_tx.send(()).unwrap();
                        let _ = unblocked.recv_timeout(DEADLINE);
                    })
                });
                recv(&blocked, "the worker blocking in place");
                let (probe, s) = probe(plan, Some(2));
                let mut task = Some(rt.spawn(probe));
                s.wait_entered(1);
                wait_until("the first poll ends", || support::has_waker(&s.waker));
                let w = s.take_waker();
                w.wake_by_ref();
                s.wait_entered(2);
                for act in acts {
                    match act {
                        Act::Wake => w.wake_by_ref(),
                        Act::Abort => task.as_ref().expect("the handle").abort(),
                        Act::DropHandle => drop(task.take()),
                    }
                }
                assert_eq!(s.counts(), (2, 0, 0), "{what}");
                s.release();
                drop(unblock);
                wait_for("the blocker", blocker).unwrap();
                rt.settle();
                let aborted = acts.iter().any(|a| matches!(a, Act::Abort));
                let woken = acts.iter().any(|a| matches!(a, Act::Wake));
                let expected = match (plan.len(), aborted, woken) {
                    // Completed by the second poll; the output dropped with the handle.
                    (2, _, _) if matches!(plan[1], Step::Ready) => {
                        (2, 1, usize::from(task.is_none()))
                    }
                    (2, _, _) | (_, true, _) => (2, 1, 0),
                    (_, false, true) => (3, 0, 0),
                    (_, false, false) => (2, 0, 0),
                };
                assert_eq!(s.counts(), expected, "{what}");
                drop(task);
                // A wake now polls a pending task once more, and a finished one not at all.
                w.wake();
                rt.settle();
                let again = usize::from(expected.1 == 0);
                assert_eq!(s.counts().0, expected.0 + again, "{what}");
                done.push((what, s));
            }
        }
        drop_runtime(rt);
        for (what, s) in done {
            assert_eq!(s.counts().1, 1, "{what}: the future was not dropped once");
        }
    });
}

/// `cancel::cancel_during_run`, `ready::cancel_during_run`, `panic::cancel_during_run`,
/// `waker_pending::wake_and_cancel_during_run`, genrt's variant: the runtime is shut down
/// (`shutdown_timeout`, which gives up on the worker stuck in the poll) while the task's
/// poll runs, the handle kept or dropped. The poll finishes; its completion or panic is
/// the task's result, a pending task is cancelled without another poll (a wake during the
/// poll notwithstanding); the future and any output are dropped once. On a current-thread
/// runtime the poll runs in a `Handle::block_on` on another thread, which drives it.
#[test]
fn runtime_shut_down_during_run() {
    let _quiet = quiet_panics();
    Watchdog::new("runtime_shut_down_during_run").run(|| {
        for (name, build) in FLAVORS {
            for plan in [READY, PANICS, PENDING] {
                for (keep, wake) in [(true, false), (false, false), (true, true)] {
                    let what = format!("{name}: {plan:?}, handle kept {keep}, woken {wake}");
                    let rt = build();
                    let handle = rt.handle().clone();
                    let (probe, s) = probe(plan, Some(1));
                    let task = rt.spawn(probe);
                    let (stop, stopped) = futures::channel::oneshot::channel::<()>();
                    let driver = (rt.handle().runtime_flavor() == RuntimeFlavor::CurrentThread)
                        .then(|| thread::spawn(move || handle.block_on(stopped)));
                    s.wait_entered(1);
                    wait_until("the poll stores its waker", || support::has_waker(&s.waker));
                    let w = s.take_waker();
                    if wake {
                        w.wake_by_ref();
                    }
                    let task = keep.then_some(task);
                    // The worker (or driver) is stuck in the poll: gives up on it.
                    let exited = rt.shutdown_timeout(Duration::from_millis(10));
                    assert!(!exited, "{what}: shutdown_timeout says every worker exited");
                    s.release();
                    let _ = stop.send(());
                    if let Some(driver) = driver {
                        let _ = driver.join().expect("the driver");
                    }
                    let made = usize::from(matches!(plan.first(), Some(Step::Ready)));
                    wait_until("the poll's task is dropped", || s.counts().1 == 1);
                    assert_eq!(s.counts().0, 1, "{what}");
                    if let Some(task) = task {
                        let result = wait_for("the handle", task);
                        match plan.first() {
                            Some(Step::Ready) => drop(output(result)),
                            Some(Step::Panic) => {
                                assert_probe_panic(name, result.expect_err("a failure"))
                            }
                            _ => assert!(result.expect_err("a failure").is_cancelled(), "{what}"),
                        }
                    }
                    wait_until("the output is dropped", || s.counts().2 == made);
                    w.wake();
                    assert_eq!(s.counts(), (1, 1, made), "{what}");
                }
            }
        }
    });
}

/// `panic::cancel_during_run`, `waker_pending::cancel_during_run`, genrt's variant: the
/// runtime dropped (on a thread of its own) while one of its tasks is in a poll that another
/// thread runs; the drop returns only once that future is dropped, as `Runtime`'s drop
/// promises for every future ("every future dropped before `drop` returns"). On a
/// current-thread runtime the poll runs in a `Handle::block_on` on another thread, which
/// drives the runtime.
#[test]
fn dropping_the_runtime_during_a_poll_waits_for_it() {
    Watchdog::new("dropping_the_runtime_during_a_poll_waits_for_it").run(|| {
        for (name, build) in FLAVORS {
            let rt = build();
            let handle = rt.handle().clone();
            let (probe, s) = probe(PENDING, Some(1));
            let task = rt.spawn(probe);
            let (stop, stopped) = futures::channel::oneshot::channel::<()>();
            let driver = (rt.handle().runtime_flavor() == RuntimeFlavor::CurrentThread)
                .then(|| thread::spawn(move || handle.block_on(stopped)));
            s.wait_entered(1);
            let counts = s.counts.clone();
            let (dropped_tx, dropped) = mpsc::channel();
            let dropper = thread::spawn(move || {
                drop(rt);
                // What the future's drop count was when the runtime's drop returned.
                dropped_tx.send(counts.future_drops.load(SeqCst)).unwrap();
            });
            // Gives the drop a chance to return early (the bug); a correct drop waits for
            // the poll either way, which ends only after the release below.
            let early = dropped.recv_timeout(Duration::from_millis(100)).ok();
            s.release();
            let at_return = early.unwrap_or_else(|| recv(&dropped, "the runtime's drop"));
            dropper.join().unwrap();
            let _ = stop.send(());
            if let Some(driver) = driver {
                let _ = driver.join().expect("the driver");
            }
            assert_eq!(
                at_return, 1,
                "{name}: the runtime's drop returned while a future of it was still alive"
            );
            let e = wait_for("the handle", task).expect_err("cancelled");
            assert!(e.is_cancelled(), "{name}: {e:?}");
            assert_eq!(s.counts(), (1, 1, 0), "{name}");
        }
    });
}

// ---- async-task: tests/waker_ready.rs ----

/// A task that counts its polls and stays pending: a bystander that a stale wake must not
/// reach (it may take the finished task's slot).
fn bystander(rt: &Runtime) -> (Scenario, JoinHandle<Out>) {
    let (probe, s) = probe(PENDING, None);
    let task = rt.spawn(probe);
    rt.settle();
    assert_eq!(s.counts().0, 1);
    (s, task)
}

/// `waker_ready::wake`, `wake_by_ref`, `wake_completed`: a wake (either way) after the
/// first poll runs the second, which completes; a wake after completion, by the waker of
/// either poll, does nothing: no poll, no panic, not even of a task spawned since (genrt's
/// variant: it may sit in the finished task's slot).
#[test]
fn waker_ready_wake() {
    each_flavor("waker_ready_wake", |name, rt| {
        for by_ref in [false, true] {
            let (probe, s) = probe(PENDING_THEN_READY, None);
            let task = rt.spawn(probe);
            rt.settle();
            assert_eq!(s.counts(), (1, 0, 0), "{name}");
            let first = s.take_waker();
            if by_ref {
                first.wake_by_ref();
            } else {
                // Woken by value, the first waker kept.
                let clone = first.clone();
                clone.wake();
            }
            rt.settle();
            assert_eq!(s.counts(), (2, 1, 0), "{name}");
            assert!(task.is_finished());
            let (other, other_task) = bystander(&rt);
            let second = s.take_waker();
            if by_ref {
                second.wake_by_ref();
                first.wake_by_ref();
            } else {
                second.wake();
                first.wake();
            }
            rt.settle();
            assert_eq!(s.counts(), (2, 1, 0), "{name}");
            assert_eq!(
                other.counts(),
                (1, 0, 0),
                "{name}: a stale wake reached another task"
            );
            drop(output(wait_for("the handle", task)));
            assert_eq!(s.counts(), (2, 1, 1), "{name}");
            drop(other_task);
        }
        drop_runtime(rt);
    });
}

/// `waker_ready::clone`: clones of the first poll's waker; the last clone's wake runs the
/// completing poll; the others then do nothing, and dropping them is harmless.
#[test]
fn waker_ready_clone() {
    each_flavor("waker_ready_clone", |name, rt| {
        let (probe, s) = probe(PENDING_THEN_READY, None);
        let task = rt.spawn(probe);
        rt.settle();
        let w2 = s.take_waker().clone();
        let w3 = w2.clone();
        let w4 = w3.clone();
        w4.wake();
        rt.settle();
        assert_eq!(s.counts(), (2, 1, 0), "{name}");
        w3.wake();
        rt.settle();
        assert_eq!(s.counts(), (2, 1, 0), "{name}");
        drop(w2);
        drop(s.take_waker());
        drop(task);
        assert_eq!(s.counts(), (2, 1, 1), "{name}");
        drop_runtime(rt);
    });
}

/// `waker_ready::wake_cancelled`: woken, then aborted before the poll it asked for runs:
/// the future is dropped without that poll; a later wake does nothing.
#[test]
fn waker_ready_wake_cancelled() {
    each_flavor("waker_ready_wake_cancelled", |name, rt| {
        let (probe, s) = probe(PENDING_THEN_READY, None);
        let task = rt.spawn(probe);
        rt.settle();
        let w = s.take_waker();
        let held = hold(&rt);
        w.wake_by_ref();
        task.abort();
        held.release();
        rt.settle();
        assert_eq!(s.counts(), (1, 1, 0), "{name}");
        w.wake();
        rt.settle();
        assert_eq!(s.counts(), (1, 1, 0), "{name}");
        let e = wait_for("the handle", task).expect_err("cancelled");
        assert!(e.is_cancelled(), "{name}: {e:?}");
        drop_runtime(rt);
    });
}

// ---- genrt's variant: futures and outputs that panic in Drop ----

/// A probe whose output, and future if dropped unfinished, panic in `Drop` (after counting
/// the drop).
fn panicky_probe(plan: &'static [Step], held_at: Option<usize>) -> (Probe, Scenario) {
    let (mut probe, s) = probe(plan, held_at);
    probe.drop_panics = true;
    (probe, s)
}

/// A future and an output that panic in `Drop`, through every way genrt drops them: each is
/// dropped exactly once, a `Drop` panic reaches only the code that drops the value itself (the
/// joiner dropping the output) or the join handle (a cancelled future's), never hangs the
/// runtime nor kills a worker, and the runtime goes on.
#[test]
fn panics_in_drop_never_hang_nor_double_drop() {
    let _quiet = quiet_panics();
    each_driver("panics_in_drop_never_hang_nor_double_drop", |name, rt| {
        // Completed and joined: the output's panics in the joiner's hands.
        let (probe, s) = panicky_probe(READY, None);
        let out = output(join(&rt, rt.spawn(probe)));
        assert_eq!(s.counts(), (1, 1, 0), "{name}");
        assert!(catch_unwind(AssertUnwindSafe(|| drop(out))).is_err());
        assert_eq!(s.counts(), (1, 1, 1), "{name}");

        // Completed, then the handle dropped: the output's panic is caught.
        let (probe, s) = panicky_probe(READY, None);
        let task = rt.spawn(probe);
        rt.settle();
        catch_unwind(AssertUnwindSafe(|| drop(task))).expect("dropping the handle panicked");
        assert_eq!(s.counts(), (1, 1, 1), "{name}");

        // Detached while the completing poll runs: the worker drops both.
        let (probe, s) = panicky_probe(READY, Some(1));
        let task = rt.spawn(probe);
        during_settle(&rt, || {
            s.wait_entered(1);
            drop(task);
            s.release();
        });
        assert_eq!(s.counts(), (1, 1, 1), "{name}");

        // Aborted while pending: the handle reports the future's `Drop` panic (Tokio's).
        let (probe, s) = panicky_probe(PENDING, None);
        let task = rt.spawn(probe);
        rt.settle();
        task.abort();
        let e = join(&rt, task).expect_err("a panic");
        assert!(e.is_panic(), "{name}: {e:?}");
        assert_eq!(s.counts(), (1, 1, 0), "{name}");
        assert_runs_tasks(name, &rt);

        // Completed with the handle kept, the runtime dropped, then the handle: the output
        // survives the runtime and is dropped once, quietly.
        let (probe, done) = panicky_probe(READY, None);
        let finished = rt.spawn(probe);
        // Pending when the runtime drops: the handle reports the `Drop` panic.
        let (probe, cut) = panicky_probe(PENDING, None);
        let cut_short = rt.spawn(probe);
        rt.settle();
        drop_runtime(rt);
        assert_eq!(done.counts(), (1, 1, 0), "{name}");
        assert_eq!(cut.counts(), (1, 1, 0), "{name}");
        let e = wait_for("the cut-short handle", cut_short).expect_err("a panic");
        assert!(e.is_panic(), "{name}: {e:?}");
        catch_unwind(AssertUnwindSafe(|| drop(finished))).expect("dropping the handle panicked");
        assert_eq!(done.counts(), (1, 1, 1), "{name}");
    });
}

/// The same drops on a `LocalSet`, whose close and whose turns drop what its tasks leave:
/// each value dropped once, a `Drop` panic never reaching the code driving or dropping the
/// set.
#[test]
fn panics_in_drop_on_a_local_set() {
    let _quiet = quiet_panics();
    each_flavor("panics_in_drop_on_a_local_set", |name, rt| {
        let local = LocalSet::new();
        // Completed and joined.
        let (probe, joined) = panicky_probe(READY, None);
        let out = output(local.block_on(&rt, local.spawn_local(probe)));
        assert!(catch_unwind(AssertUnwindSafe(|| drop(out))).is_err());
        assert_eq!(joined.counts(), (1, 1, 1), "{name}");
        // Detached before it runs: the set's turn drops both.
        let (probe, detached) = panicky_probe(READY, None);
        drop(local.spawn_local(probe));
        local.block_on(&rt, task::yield_now());
        assert_eq!(detached.counts(), (1, 1, 1), "{name}");
        // Aborted while pending: the handle reports the future's `Drop` panic.
        let (probe, aborted) = panicky_probe(PENDING, None);
        let task = local.spawn_local(probe);
        local.block_on(&rt, task::yield_now());
        task.abort();
        let e = local.block_on(&rt, task).expect_err("a panic");
        assert!(e.is_panic(), "{name}: {e:?}");
        assert_eq!(aborted.counts(), (1, 1, 0), "{name}");
        // Left when the set is dropped: pending (its handle reports the panic), finished with
        // its handle kept (the output outlives the set), detached and pending.
        let (probe, cut) = panicky_probe(PENDING, None);
        let cut_short = local.spawn_local(probe);
        let (probe, done) = panicky_probe(READY, None);
        let finished = local.spawn_local(probe);
        let (probe, orphan) = panicky_probe(PENDING, None);
        drop(local.spawn_local(probe));
        local.block_on(&rt, task::yield_now());
        catch_unwind(AssertUnwindSafe(|| drop(local))).expect("dropping the set panicked");
        assert_eq!(cut.counts(), (1, 1, 0), "{name}");
        assert_eq!(done.counts(), (1, 1, 0), "{name}");
        assert_eq!(orphan.counts(), (1, 1, 0), "{name}");
        let e = wait_for("the cut-short handle", cut_short).expect_err("a panic");
        assert!(e.is_panic(), "{name}: {e:?}");
        catch_unwind(AssertUnwindSafe(|| drop(finished))).expect("dropping the handle panicked");
        assert_eq!(done.counts(), (1, 1, 1), "{name}");
        drop_runtime(rt);
    });
}

/// `basic::waker`, `basic::schedule_counter`, genrt's variant: however many times a task
/// wakes itself during one poll (by reference, by a clone, by a clone of the first poll's
/// waker), that is one poll more; on a runtime and on a `LocalSet`.
#[test]
fn self_wakes_during_a_poll_are_one_poll() {
    each_flavor("self_wakes_during_a_poll_are_one_poll", |name, rt| {
        /// Pending until its fourth poll; in each of the first three it wakes itself four
        /// ways.
        fn self_waking(polls: Arc<AtomicUsize>) -> impl Future<Output = ()> + Send {
            let mut first: Option<Waker> = None;
            poll_fn(move |cx| {
                let n = polls.fetch_add(1, SeqCst) + 1;
                if n > 3 {
                    return Poll::Ready(());
                }
                let first = first.get_or_insert_with(|| cx.waker().clone());
                cx.waker().wake_by_ref();
                cx.waker().wake_by_ref();
                let clone = cx.waker().clone();
                clone.wake();
                first.wake_by_ref();
                Poll::Pending
            })
        }
        let polls = Arc::new(AtomicUsize::new(0));
        let task = rt.spawn(self_waking(polls.clone()));
        rt.settle();
        assert_eq!(polls.load(SeqCst), 4, "{name}");
        assert!(task.is_finished(), "{name}");

        let local_polls = Arc::new(AtomicUsize::new(0));
        let mut local = LocalSet::new();
        let local_task = local.spawn_local(self_waking(local_polls.clone()));
        rt.block_on(&mut local);
        assert_eq!(local_polls.load(SeqCst), 4, "{name}");
        assert!(local_task.is_finished(), "{name}");
        drop_runtime(rt);
    });
}

/// `basic.rs`, `join.rs` and `cancel.rs` with the test's moves racing the task instead of
/// ordered around it (genrt's variant): on a multi-thread runtime, rounds of tasks that
/// complete after a yield while the test detaches, aborts, joins or wakes them at once;
/// every future is dropped once, and every output made is dropped once.
#[test]
fn moves_racing_the_task() {
    Watchdog::new("moves_racing_the_task").run(|| {
        const ROUNDS: usize = 400;
        let rt = multi_thread();
        let counts = Arc::new(Counts::default());
        let outputs_made = Arc::new(AtomicUsize::new(0));
        for round in 0..ROUNDS {
            let counts2 = counts.clone();
            let made = outputs_made.clone();
            let slot = waker_slot();
            let slot2 = slot.clone();
            let guard = CountFuture(counts.clone());
            let task = rt.spawn(async move {
                let _guard = guard;
                poll_fn(|cx| {
                    *slot2.lock().unwrap() = Some(cx.waker().clone());
                    Poll::Ready(())
                })
                .await;
                task::yield_now().await;
                made.fetch_add(1, SeqCst);
                Out {
                    counts: counts2,
                    value: 1,
                    drop_panics: false,
                }
            });
            match round % 4 {
                0 => drop(task),
                1 => {
                    task.abort();
                    drop(task);
                }
                2 => {
                    task.abort();
                    match wait_for("a racing handle", task) {
                        Ok(out) => drop(out),
                        Err(e) => assert!(e.is_cancelled(), "{e:?}"),
                    }
                }
                _ => {
                    if let Some(waker) = slot.lock().unwrap().take() {
                        waker.wake();
                    }
                    drop(output(wait_for("a racing handle", task)));
                }
            }
        }
        rt.settle();
        drop_runtime(rt);
        assert_eq!(counts.future_drops.load(SeqCst), ROUNDS);
        assert_eq!(
            counts.output_drops.load(SeqCst),
            outputs_made.load(SeqCst),
            "an output was not dropped exactly once"
        );
    });
}

/// Counts the drop of the future it sits in, in [`Counts::future_drops`].
struct CountFuture(Arc<Counts>);

impl Drop for CountFuture {
    fn drop(&mut self) {
        self.0.future_drops.fetch_add(1, SeqCst);
    }
}

// ---- async-executor: tests/panic_prop.rs ----

/// `panic_prop::test_panic_propagation`: running the runtime while a task panics does not
/// panic (`settle`, `block_on` of something else); the task's handle reports the panic
/// (where `async-task`'s re-raises it).
#[test]
fn test_panic_propagation() {
    let _quiet = quiet_panics();
    each_flavor("test_panic_propagation", |name, rt| {
        let task = rt.spawn(async { panic!("{INTENTIONAL}: should be caught by the task") });
        rt.settle();
        rt.block_on(task::yield_now());
        let e = wait_for("the handle", task).expect_err("a panic");
        assert!(e.is_panic(), "{name}: {e:?}");
        let payload = e.into_panic();
        assert!(panic_message(&*payload).is_some_and(|m| m.contains("should be caught")));
        drop_runtime(rt);
    });
}

/// `panic_prop::test_local_panic_propagation`: the same for a local task: driving the set
/// does not panic.
#[test]
fn test_local_panic_propagation() {
    let _quiet = quiet_panics();
    each_flavor("test_local_panic_propagation", |name, rt| {
        let local = LocalSet::new();
        let task = local.spawn_local(async {
            let _not_send = Rc::new(());
            panic!("{INTENTIONAL}: should be caught by the task")
        });
        local.block_on(&rt, task::yield_now());
        let e = local.block_on(&rt, task).expect_err("a panic");
        assert!(e.is_panic(), "{name}: {e:?}");
        drop(local);
        drop_runtime(rt);
    });
}

// ---- futures-executor: tests/local_pool.rs, on LocalSet ----

/// Pends forever; not `Send`.
fn pending_local() -> impl Future<Output = ()> {
    let not_send = Rc::new(());
    async move {
        pending::<()>().await;
        drop(not_send);
    }
}

/// `local_pool::run_until_single_future`: `run_until` runs its future to completion, once.
#[test]
fn run_until_single_future() {
    each_flavor("run_until_single_future", |name, rt| {
        let count = Cell::new(0);
        let local = LocalSet::new();
        local.block_on(&rt, async { count.set(count.get() + 1) });
        rt.block_on(local.run_until(async { count.set(count.get() + 1) }));
        assert_eq!(count.get(), 2, "{name}");
        drop(local);
        drop_runtime(rt);
    });
}

/// `local_pool::run_until_ignores_spawned`: `run_until` returns when its future does, a
/// pending task of the set notwithstanding.
#[test]
fn run_until_ignores_spawned() {
    each_flavor("run_until_ignores_spawned", |name, rt| {
        let local = LocalSet::new();
        let task = local.spawn_local(pending_local());
        local.block_on(&rt, async {});
        local.block_on(&rt, task::yield_now());
        assert!(!task.is_finished(), "{name}");
        drop(local);
        assert!(task.is_finished(), "{name}");
        drop_runtime(rt);
    });
}

/// `local_pool::run_until_executes_spawned`: a task of the set runs while `run_until`
/// waits for what it sends.
#[test]
fn run_until_executes_spawned() {
    each_flavor("run_until_executes_spawned", |name, rt| {
        let (tx, rx) = futures::channel::oneshot::channel();
        let local = LocalSet::new();
        local.spawn_local(async move {
            let _not_send = Rc::new(());
            tx.send(()).unwrap();
        });
        local.block_on(&rt, rx).unwrap();
        assert_eq!(format!("{local:?}"), "LocalSet { live_tasks: 0 }", "{name}");
        drop_runtime(rt);
    });
}

/// `local_pool::run_returns_if_empty`: awaiting an empty set returns, twice.
#[test]
fn run_returns_if_empty() {
    each_flavor("run_returns_if_empty", |_name, rt| {
        let mut local = LocalSet::new();
        rt.block_on(&mut local);
        rt.block_on(&mut local);
        drop_runtime(rt);
    });
}

/// `local_pool::run_executes_spawned`: awaiting the set runs a task that a task of it
/// spawns.
#[test]
fn run_executes_spawned() {
    each_flavor("run_executes_spawned", |name, rt| {
        let count = Rc::new(Cell::new(0));
        let mut local = LocalSet::new();
        let inner = count.clone();
        local.spawn_local(async move {
            task::spawn_local(async move { inner.set(inner.get() + 1) });
        });
        rt.block_on(&mut local);
        assert_eq!(count.get(), 1, "{name}");
        drop_runtime(rt);
    });
}

/// `local_pool::run_spawn_many`: awaiting the set runs its 200 tasks.
#[test]
fn run_spawn_many() {
    each_flavor("run_spawn_many", |name, rt| {
        const ITER: usize = 200;
        let count = Rc::new(Cell::new(0));
        let mut local = LocalSet::new();
        for _ in 0..ITER {
            let count = count.clone();
            local.spawn_local(async move { count.set(count.get() + 1) });
        }
        rt.block_on(&mut local);
        assert_eq!(count.get(), ITER, "{name}");
        drop_runtime(rt);
    });
}

/// `local_pool::nesting_run`: a task that starts another executor's run on the thread that
/// drives it (`block_on` of another runtime, or of a set on it) panics; the task reports the
/// panic and the outer run goes on.
#[test]
fn nesting_run() {
    let _quiet = quiet_panics();
    each_flavor("nesting_run", |name, rt| {
        let local = LocalSet::new();
        let nested = local.spawn_local(async {
            let other = current_thread();
            let inner = LocalSet::new();
            let result = catch_unwind(AssertUnwindSafe(|| inner.block_on(&other, async {})));
            drop(inner);
            drop(other);
            result.map_err(|payload| panic_message(&*payload).unwrap_or_default().to_string())
        });
        let outcome = local.block_on(&rt, nested).unwrap();
        let message = outcome.expect_err("a nested block_on panics");
        assert!(message.contains("block_on"), "{name}: {message}");
        let spawned = rt.spawn(async {
            let other = current_thread();
            let result = catch_unwind(AssertUnwindSafe(|| other.block_on(async {})));
            drop(other);
            result.is_err()
        });
        assert!(join(&rt, spawned).unwrap(), "{name}");
        drop(local);
        drop_runtime(rt);
    });
}

/// `local_pool::nesting_run_run_until_stalled`: a task that settles another runtime (genrt's
/// "run until stalled") from inside a runtime panics, as the source's nested run does; the
/// outer run goes on.
#[test]
fn nesting_run_run_until_stalled() {
    let _quiet = quiet_panics();
    each_flavor("nesting_run_run_until_stalled", |name, rt| {
        let nested = rt.spawn(async {
            let other = current_thread();
            drop(other.spawn(async {}));
            let result = catch_unwind(AssertUnwindSafe(|| other.settle()));
            drop(other);
            result.map_err(|payload| panic_message(&*payload).unwrap_or_default().to_string())
        });
        let outcome = rt.block_on(nested).unwrap();
        let message = outcome.expect_err("a nested settle panics");
        assert!(message.contains("settle"), "{name}: {message}");
        drop_runtime(rt);
    });
}

/// The source's `Spin`: two tasks waking themselves; task 0 asserts at every poll that
/// neither got more than one poll ahead of the other.
async fn spin(state: Rc<RefCell<[i32; 2]>>, idx: usize) {
    poll_fn(|cx| {
        let mut state = state.borrow_mut();
        if idx == 0 {
            let diff = state[0] - state[1];
            assert!(diff.abs() <= 1, "unfair: {state:?}");
            if state[0] >= 50 {
                return Poll::Ready(());
            }
        }
        state[idx] += 1;
        if state[idx] >= 100 {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// `local_pool::tasks_are_scheduled_fairly`: two tasks of a set that wake themselves are
/// polled in turn.
#[test]
fn tasks_are_scheduled_fairly() {
    each_flavor("tasks_are_scheduled_fairly", |name, rt| {
        let state = Rc::new(RefCell::new([0, 0]));
        let mut local = LocalSet::new();
        let first = local.spawn_local(spin(state.clone(), 0));
        let second = local.spawn_local(spin(state.clone(), 1));
        rt.block_on(&mut local);
        local.block_on(&rt, first).unwrap();
        local.block_on(&rt, second).unwrap();
        assert_eq!(*state.borrow(), [50, 100], "{name}");
        drop_runtime(rt);
    });
}

/// The source's `Spin` for a runtime's tasks (`Send`).
async fn spin_send(state: Arc<Mutex<[i32; 2]>>, idx: usize) {
    poll_fn(|cx| {
        let mut state = state.lock().unwrap();
        if idx == 0 {
            let diff = state[0] - state[1];
            assert!(diff.abs() <= 1, "unfair: {state:?}");
            if state[0] >= 50 {
                return Poll::Ready(());
            }
        }
        state[idx] += 1;
        if state[idx] >= 100 {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// `local_pool::tasks_are_scheduled_fairly`, genrt's variant: the same two tasks on a
/// runtime with one thread to poll them (a current-thread runtime, a one-worker runtime)
/// are polled in turn.
#[test]
fn tasks_are_scheduled_fairly_on_one_thread() {
    Watchdog::new("tasks_are_scheduled_fairly_on_one_thread").run(|| {
        for (name, build) in [
            ("current-thread runtime", current_thread as fn() -> Runtime),
            ("one-worker runtime", one_worker),
        ] {
            let rt = build();
            let held = hold(&rt);
            let state = Arc::new(Mutex::new([0, 0]));
            let first = rt.spawn(spin_send(state.clone(), 0));
            let second = rt.spawn(spin_send(state.clone(), 1));
            held.release();
            rt.settle();
            wait_for("the first spinner", first).unwrap();
            wait_for("the second spinner", second).unwrap();
            assert_eq!(*state.lock().unwrap(), [50, 100], "{name}");
            drop_runtime(rt);
        }
    });
}

/// The source's `park_unpark_independence` future: it wakes itself, then parks the thread
/// until a helper thread unparks it (consuming the park token the wake may have left), and
/// is pending; it must be polled again.
fn park_unpark_future() -> impl Future<Output = ()> {
    let mut done = false;
    poll_fn(move |cx| {
        if done {
            return Poll::Ready(());
        }
        done = true;
        // The source's `cx.waker().clone().wake()`: woken by value.
        let waker = cx.waker().clone();
        waker.wake();
        let test = thread::current();
        let latch = Arc::new(AtomicBool::new(false));
        let signal = latch.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            signal.store(true, SeqCst);
            test.unpark()
        });
        while !latch.load(SeqCst) {
            thread::park();
        }
        Poll::Pending
    })
}

/// `local_pool::park_unpark_independence`: user code that parks the thread does not keep
/// `block_on`, a task or a local task from being polled again after it woke itself.
#[test]
fn park_unpark_independence() {
    each_flavor("park_unpark_independence", |_name, rt| {
        rt.block_on(park_unpark_future());
        join(&rt, rt.spawn(park_unpark_future())).unwrap();
        rt.block_on(rt.spawn(park_unpark_future())).unwrap();
        let local = LocalSet::new();
        let local_task = local.spawn_local(park_unpark_future());
        local.block_on(&rt, local_task).unwrap();
        drop(local);
        drop_runtime(rt);
    });
}

// ---- futures-executor: local_pool.rs's run_until_stalled, on Runtime::settle ----

/// `local_pool::run_until_stalled_returns_if_empty`: settling an empty runtime returns,
/// twice.
#[test]
fn run_until_stalled_returns_if_empty() {
    each_flavor("run_until_stalled_returns_if_empty", |_name, rt| {
        rt.settle();
        rt.settle();
        drop_runtime(rt);
    });
}

/// `local_pool::run_until_stalled_returns_multiple_times`: settle runs what was spawned
/// since the last one.
#[test]
fn run_until_stalled_returns_multiple_times() {
    each_flavor("run_until_stalled_returns_multiple_times", |name, rt| {
        let count = Arc::new(AtomicUsize::new(0));
        for expected in 1..=2 {
            let count2 = count.clone();
            drop(rt.spawn(async move { count2.fetch_add(1, SeqCst) }));
            rt.settle();
            assert_eq!(count.load(SeqCst), expected, "{name}");
        }
        drop_runtime(rt);
    });
}

/// `local_pool::run_until_stalled_runs_spawned_sub_futures`: settle also runs what the
/// tasks spawn, the spawner staying pending.
#[test]
fn run_until_stalled_runs_spawned_sub_futures() {
    each_flavor("run_until_stalled_runs_spawned_sub_futures", |name, rt| {
        let count = Arc::new(AtomicUsize::new(0));
        let count1 = count.clone();
        let spawner = rt.spawn(async move {
            count1.fetch_add(1, SeqCst);
            let count2 = count1.clone();
            drop(genrt::spawn(async move { count2.fetch_add(1, SeqCst) }));
            pending::<()>().await
        });
        rt.settle();
        assert_eq!(count.load(SeqCst), 2, "{name}");
        drop(spawner);
        drop_runtime(rt);
    });
}

/// `local_pool::run_until_stalled_executes_all_ready`: each settle runs every ready task
/// spawned since the last one, with pending tasks around them.
#[test]
fn run_until_stalled_executes_all_ready() {
    each_flavor("run_until_stalled_executes_all_ready", |name, rt| {
        const ITER: usize = 200;
        const PER_ITER: usize = 3;
        let count = Arc::new(AtomicUsize::new(0));
        let mut pending_tasks = Vec::new();
        for i in 0..ITER {
            for _ in 0..PER_ITER {
                pending_tasks.push(rt.spawn(pending::<()>()));
                let count = count.clone();
                drop(rt.spawn(async move { count.fetch_add(1, SeqCst) }));
                pending_tasks.push(rt.spawn(pending::<()>()));
            }
            rt.settle();
            assert_eq!(count.load(SeqCst), (i + 1) * PER_ITER, "{name}");
        }
        drop(pending_tasks);
        drop_runtime(rt);
    });
}

/// `local_pool::self_waking_run_until_stalled` (futures-rs #2593): settle keeps polling
/// tasks that wake themselves until none does.
#[test]
fn self_waking_run_until_stalled() {
    each_flavor("self_waking_run_until_stalled", |name, rt| {
        let remaining = Arc::new(AtomicUsize::new(10));
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let remaining = remaining.clone();
                rt.spawn(poll_fn(move |cx| {
                    if remaining
                        .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        cx.waker().wake_by_ref();
                    }
                    Poll::<()>::Pending
                }))
            })
            .collect();
        rt.settle();
        assert_eq!(remaining.load(SeqCst), 0, "{name}");
        drop(tasks);
        drop_runtime(rt);
    });
}

// ---- genrt's futures_task::Spawn ----

/// genrt's `Spawn` for `Handle`: `SpawnExt::spawn` runs the future; `spawn_with_handle`
/// gives its output through a `RemoteHandle`, whose drop cancels the remote future (dropped
/// once); after the runtime is gone the status says shut down and a spawn fails, dropping
/// the future unpolled.
#[test]
fn spawn_trait() {
    each_flavor("spawn_trait", |name, rt| {
        let handle = rt.handle().clone();
        assert!(futures::task::Spawn::status(&handle).is_ok(), "{name}");
        let (tx, rx) = mpsc::channel();
        SpawnExt::spawn(&handle, async move { tx.send(9).unwrap() }).unwrap();
        rt.settle();
        assert_eq!(recv(&rx, "the spawned future"), 9, "{name}");

        let remote = handle.spawn_with_handle(async { 6 * 7 }).unwrap();
        rt.settle();
        assert_eq!(wait_for("the remote handle", remote), 42, "{name}");

        // A remote future dropped with its handle.
        let drops = Arc::new(AtomicUsize::new(0));
        let counter = DropCounter(drops.clone());
        let remote = handle
            .spawn_with_handle(async move {
                let _counter = counter;
                pending::<()>().await
            })
            .unwrap();
        rt.settle();
        assert_eq!(drops.load(SeqCst), 0, "{name}");
        drop(remote);
        rt.settle();
        wait_until("the remote future is dropped", || drops.load(SeqCst) == 1);

        drop_runtime(rt);
        let status = futures::task::Spawn::status(&handle);
        assert!(status.is_err_and(|e| e.is_shutdown()), "{name}");
        let (polls, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let counter = DropCounter(drops.clone());
        let polled = polls.clone();
        let spawned = SpawnExt::spawn(&handle, async move {
            let _counter = counter;
            polled.fetch_add(1, SeqCst);
        });
        assert!(spawned.is_err_and(|e| e.is_shutdown()), "{name}");
        assert_eq!((polls.load(SeqCst), drops.load(SeqCst)), (0, 1), "{name}");
    });
}
