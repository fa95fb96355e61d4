//! [`block_in_place`]: blocking inside a task without stalling the tasks queued behind it.
//!
//! genrt does not move a worker's queues to a new thread, as Tokio does: a worker's queues
//! live on its thread. Instead, before `f` runs, the worker puts every task it had queued
//! where others take them (its LIFO slot and deferred yields go to its stealable deque, and
//! an idle worker is notified), the thread stops being a worker until `f` returns (what `f`
//! spawns or wakes goes to the shared queue; `block_on` works inside), and a *stand-in* runs
//! on a thread of the blocking pool: it takes queued tasks one at a time from the shared queue
//! and the workers' deques (which of the two it looks at first alternates, so that tasks it
//! polls that yield, which go back to the shared queue, cannot starve the blocked worker's
//! deque) and polls them, and fires due timers, until `f` returns. So
//! queued tasks keep running even if every worker blocks at once. The stand-in waits for
//! work in slices of at most 1 ms, never for ever; it is told to stop when `f` returns or
//! unwinds, and finishes the poll it is in first.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::runtime::RuntimeFlavor;
use crate::Handle;

/// How long an idle stand-in waits before it looks for work again.
const STAND_IN_WAIT: Duration = Duration::from_millis(1);

/// Runs `f`, which may block, on this thread; if the thread is a worker of a multi-thread
/// runtime, the tasks queued on it keep running elsewhere meanwhile (module docs). Tokio's
/// `task::block_in_place`.
///
/// The worker handed over is the one this thread is, also inside an
/// [`enter`](crate::Handle::enter) guard of another runtime there (as in Tokio, where such a
/// guard does not change the scheduler context); inside `f`, the worker's runtime is the
/// current one.
///
/// On a thread standing in for a blocked worker (polling one of its queued tasks), the same:
/// another stand-in runs the queued tasks while `f` runs. Outside a runtime, on a thread that
/// is not a worker (a blocking closure's, `block_on`'s on a multi-thread runtime), or inside
/// another `block_in_place`, `f` simply runs; on a multi-thread runtime's `block_on` thread it
/// runs outside that `block_on`, as in Tokio (which leaves the runtime there), so `f` may call
/// `block_on` again.
///
/// A runtime dropped while `f` blocks drops its other tasks' futures first, then waits for
/// `f` to return (as Tokio's): so `f` may wait for something that a task's future holds.
/// Its timers are shut down by then: a sleep `f` waits on (through `block_on`) panics as a
/// timer of a runtime that shut down does, and the task ends with that panic; a sleep the
/// task awaits after `f` stays pending, and the task ends cancelled when that poll returns
/// (as a task whose poll outlived `shutdown_timeout` does). Until the worker thread exits,
/// the runtime keeps its registry entry (one of the 1,024 runtimes a process may have
/// alive): an `f` that never returns keeps it for good.
///
/// Each stand-in is a thread of the blocking pool and counts against
/// [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads), as Tokio's
/// hand-over threads do: with a cap that low, an `f` that waits for a `spawn_blocking`
/// closure can wait for ever, in both.
///
/// The worker counts as busy while `f` runs: [`Runtime::settle`](crate::Runtime::settle)
/// waits for it, and a paused clock does not auto-advance meanwhile (so `f` must not wait
/// for a timer of a paused clock to fire by itself; [`advance`](crate::time::advance) still
/// moves it).
///
/// # Panics
///
/// Inside a [`LocalSet`](crate::task::LocalSet) being driven (its `run_until` future or the
/// set awaited, one of its tasks, or a task's drop as the set is dropped), on any runtime,
/// as Tokio's: the set's other tasks cannot move to another thread. (Its
/// [`enter`](crate::task::LocalSet::enter) guard alone is no such place.)
///
/// In a task or the `block_on` future of a current-thread runtime
/// ([`Builder::new_current_thread`](crate::Builder::new_current_thread)), as Tokio's: there is
/// nothing to hand the runtime's work to; also inside an [`enter`](crate::Handle::enter) guard
/// of a multi-thread runtime there, whose workers are elsewhere. (A blocking closure of such
/// a runtime, or a thread merely inside its [`enter`](crate::Runtime::enter) guard, is no
/// worker: `f` simply runs.)
///
/// ```
/// let rt = genrt::Builder::new_multi_thread().worker_threads(1).build().unwrap();
/// let out = rt.block_on(rt.spawn(async {
///     // The only worker blocks; a task it had queued still runs, and can even be joined
///     // from inside the closure.
///     let other = genrt::spawn(async { 2 });
///     genrt::task::block_in_place(move || {
///         genrt::Handle::current().block_on(other).unwrap() * 21
///     })
/// }));
/// assert_eq!(out.unwrap(), 42);
/// ```
#[track_caller]
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    // The closure runs without the task's cooperative budget (as in Tokio): a budget the
    // task spent would make another executor inside spin on the futures it makes yield.
    let f = move || crate::task::coop::without_budget(f);
    // Refused inside a `LocalSet` being driven (its `run_until` future, its tasks, their
    // drops as it closes), whatever the runtime, as Tokio refuses it (tokio-rs/tokio#7368):
    // the set's other tasks cannot be handed to another thread, so they would stall.
    // (`LocalSet` is built without loom: no set runs under `cfg(loom)`.)
    #[cfg(not(loom))]
    let in_local_set = crate::task::local_set::driving();
    #[cfg(loom)]
    let in_local_set = false;
    if in_local_set {
        refuse("not inside a LocalSet: its other tasks cannot move to another thread");
    }
    // Refused where a current-thread runtime's work runs (its `block_on` future, the tasks
    // it runs, a settle's), whatever runtime is entered there since: as in Tokio, whose
    // scheduler context stays the current-thread one inside an `enter` guard of a
    // multi-thread runtime (the guard's runtime has no worker on this thread to hand over).
    if genrt_scheduler::in_driven_runtime() {
        refuse("a current-thread runtime has no other worker to hand its tasks to");
    }
    // The runtime whose worker this thread is, whatever runtime's `enter` guard is held
    // since (Tokio's scheduler context, which such a guard does not change): that worker is
    // the one to hand over. On any other thread, the current runtime's.
    let handle = match genrt_scheduler::Handle::home() {
        Some(inner) => Handle { inner },
        None => match Handle::try_current() {
            Ok(handle) => handle,
            Err(_) => return f(),
        },
    };
    if handle.runtime_flavor() == RuntimeFlavor::CurrentThread {
        // Where a current-thread runtime's work runs, refused above; elsewhere (a blocking
        // closure's thread, a plain thread inside an `enter` guard, a multi-thread
        // runtime's `block_on` thread) no task of it waits for this thread, and `f` simply
        // runs, as in Tokio.
        return f();
    }
    let Some(_not_a_worker) = handle.inner.begin_blocking() else {
        // Not a worker. On a multi-thread runtime's `block_on` thread, `f` runs outside that
        // `block_on`, as in Tokio (whose `block_in_place` leaves the runtime there), so that
        // it may `block_on` again; elsewhere it simply runs.
        let _left = handle.inner.leave_block_on();
        return f();
    };
    let stand_in = Arc::new(StandIn {
        stop: AtomicBool::new(false),
        sleep: Mutex::new(()),
        wake: Condvar::new(),
    });
    {
        let (stand_in, runtime) = (stand_in.clone(), handle.inner.clone());
        // Detached: the closure ends when told to (`Stop`); after a shutdown the pool
        // cancels it unrun, when nothing is left to run anyway.
        drop(handle.spawn_blocking(move || stand_in.run(&runtime)));
    }
    let _stop = Stop(stand_in);
    f()
}

/// The stand-in of a blocked worker (module docs).
/// `block_in_place` where no worker can be handed over: Tokio's words, and why.
#[track_caller]
fn refuse(why: &str) -> ! {
    panic!(
        "genrt::task::block_in_place: can call blocking only when running on the \
         multi-threaded runtime (as Tokio's); {why}. Use spawn_blocking instead"
    )
}

struct StandIn {
    stop: AtomicBool,
    sleep: Mutex<()>,
    wake: Condvar,
}

impl StandIn {
    fn run(&self, runtime: &genrt_scheduler::Handle) {
        // A task polled here that blocks in place gets a stand-in of its own.
        let _standing_in = runtime.enter_stand_in();
        // Which source `run_stolen` looks at first rotates with it (see there).
        let mut turn = 0usize;
        // Acquire: pairs with the Release store of `Stop::drop`.
        while !self.stop.load(Ordering::Acquire) {
            if runtime.is_closed() {
                // Closed by a task's panic (`UnhandledPanic::ShutdownRuntime`): the other
                // tasks are cancelled by the workers as they leave their loops, but the worker
                // this thread stands in for leaves none until `f` returns, and `f` may wait for
                // one of them to end. So cancel them here, as a worker leaving its loop would.
                runtime.sweep_if_panicked();
                return;
            }
            let ran = runtime.run_stolen(turn);
            turn = turn.wrapping_add(1);
            if ran {
                continue;
            }
            let mut sleep = self.sleep.lock();
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            self.wake.wait_for(&mut sleep, STAND_IN_WAIT);
        }
    }
}

/// Tells the stand-in to stop when `f` returns or unwinds.
struct Stop(Arc<StandIn>);

impl Drop for Stop {
    fn drop(&mut self) {
        // Release: pairs with the Acquire loads in `StandIn::run`. Under the lock, so that a
        // stand-in about to wait sees the flag or gets the notification.
        let _sleep = self.0.sleep.lock();
        self.0.stop.store(true, Ordering::Release);
        self.0.wake.notify_one();
    }
}
