//! The one implementation of `block_on`, shared by [`Runtime::block_on`] and
//! [`Handle::block_on`].
//!
//! Protocol:
//! 1. enter the runtime's context as a blocking thread (`enter_block_on`, which refuses a
//!    worker thread, even inside an `enter`, and a thread already inside `block_on`); an
//!    `enter` guard of any runtime around the call is fine, as in Tokio;
//! 2. under [`UnhandledPanic::ShutdownRuntime`], register the thread's [`BlockOnSignal`] waker
//!    with the runtime's close watchers, so that a close wakes it (under the default policy
//!    no close needs to interrupt `block_on`, and nothing is registered);
//! 3. loop: if the runtime was shut down because a task panicked
//!    ([`UnhandledPanic::ShutdownRuntime`]), panic; poll the future; check again (also when
//!    the poll was ready); return the output, poll again at once if the future woke itself
//!    during the poll, or park on the signal;
//! 4. the clock: the thread holds the runtime's clock (a paused clock does not
//!    auto-advance; `time` module docs) while it polls the future, and a wake of it holds
//!    the clock until the poll it asked for (see [`BlockOnSignal`]). So, as on Tokio's
//!    current-thread runtime, a paused clock jumps only while `block_on` waits with no wake
//!    pending, never while its future runs or is about to;
//! 5. on return or unwind, release the polling hold, and close the signal (releasing the
//!    hold of a wake not taken): later wakes do nothing.
//!
//! On a current-thread runtime (a driven one: its worker has no thread) step 3's loop is
//! [`drive`]: the thread runs the worker's loop (`genrt_scheduler::Handle::drive`) and polls
//! the future whenever it is woken; a wake also ends the driver's park (the signal's
//! `Unparker`). While another `block_on` drives, this one polls its own future only and
//! waits for a wake of it or for the worker to be free. The clock holds are the same.
//!
//! A close by panic sets `panicked` before `closed` and wakes every watcher after, so a
//! thread that checked before the close parks with a wake pending from the close:
//! it checks again before the poll that wake asks for, and panics. A normal shutdown (the `Runtime` dropped
//! while a `Handle::block_on` runs) leaves it driving its future, whose spawns are
//! cancelled, as in Tokio (under that policy the close wakes it once, harmlessly).
//!
//! [`Runtime::block_on`]: crate::Runtime::block_on
//! [`Handle::block_on`]: crate::Handle::block_on
//! [`UnhandledPanic::ShutdownRuntime`]: crate::UnhandledPanic::ShutdownRuntime

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};

use genrt_scheduler::time::HoldAdder;

use crate::handle::Handle;
use crate::loom::sync::atomic::{AtomicU8, Ordering};
use crate::loom::thread::{self, Thread};

/// Runs `future` to completion on this thread, inside `handle`'s runtime (the protocol above).
#[track_caller]
pub(crate) fn block_on<F: Future>(handle: &Handle, future: F) -> F::Output {
    let _enter = handle.inner.enter_block_on();
    // A standard `Arc`, which `Waker::from` needs; it holds a thread handle, a state word
    // and the means to add a clock hold (not the runtime).
    let signal = std::sync::Arc::new(BlockOnSignal {
        thread: thread::current(),
        state: AtomicU8::new(IDLE),
        holds: handle.inner.hold_adder(),
        driver: handle.inner.driver_unparker(),
    });
    let waker = Waker::from(signal.clone());
    let _watch = handle.inner.watch_close(waker.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    // The polling hold (step 4): this thread holds the clock while it runs the future.
    signal.holds.add();
    let _finish = Finish {
        signal: &signal,
        handle,
    };
    check_not_panicked(handle);
    if signal.driver.is_some() {
        return drive(handle, &signal, &waker, &mut cx, future.as_mut());
    }
    loop {
        let poll = {
            // Each poll with a fresh cooperative budget, as a task's.
            let _budget = crate::task::coop::BudgetGuard::for_poll();
            future.as_mut().poll(&mut cx)
        };
        // Checked after the poll too, even when it is ready: an output built from the result
        // of a task that panicked (or of anything that ran after that panic) would otherwise
        // slip out of a runtime that has shut down.
        check_not_panicked(handle);
        if let Poll::Ready(output) = poll {
            return output;
        }
        if signal.take_wake() {
            // Woken during the poll (a yield): poll again at once, still holding the clock;
            // the wake's own hold is not needed.
            handle.inner.release_clock_hold();
            continue;
        }
        handle.inner.release_clock_hold();
        // The wake that ends this wait added the hold the next poll runs under.
        signal.wait();
        // Before the poll the wake asks for: it may come from the close of a panic (see
        // `Root::poll`). (Every other way back to the poll comes straight from the check
        // after the last one.)
        check_not_panicked(handle);
    }
}

/// `block_on` on a current-thread runtime (a driven one): this thread runs the runtime's
/// worker beside `future` while no other `block_on` does (`genrt_scheduler::Handle::drive`);
/// while another one does, it polls `future` alone and waits for a wake of it or for the
/// worker to be free. The clock holds are those of the loop in [`block_on`]: one is held
/// whenever a poll of `future` is owed (`Root::owed`), and at the return.
fn drive<F: Future>(
    handle: &Handle,
    signal: &std::sync::Arc<BlockOnSignal>,
    waker: &Waker,
    cx: &mut Context<'_>,
    future: std::pin::Pin<&mut F>,
) -> F::Output {
    let mut root = Root {
        handle,
        signal,
        cx,
        future,
        output: None,
        owed: true,
    };
    /// Once a drive found the worker taken (`waiting`), forgets `waker` among the threads
    /// waiting for it when this `block_on` returns or unwinds (`forget_drive_waiter`): a
    /// `block_on` whose future completes while another thread drives would otherwise leave
    /// it there until that drive ends, however long.
    struct Forget<'a> {
        handle: &'a Handle,
        waker: &'a Waker,
        waiting: bool,
    }
    impl Drop for Forget<'_> {
        fn drop(&mut self) {
            if self.waiting {
                self.handle.inner.forget_drive_waiter(self.waker);
            }
        }
    }
    let mut forget = Forget {
        handle,
        waker,
        waiting: false,
    };
    loop {
        if handle.inner.drive(&mut root, waker) == Some(true) {
            return root
                .output
                .take()
                .expect("a drive ends when the future is done");
        }
        forget.waiting = true;
        // Another thread drives, and wakes `waker` when it stops. A wake cannot tell the two
        // apart (a poll may take the one that says the worker is free), so after every poll
        // and every wait, try to drive again first (which registers `waker` again).
        if genrt_scheduler::Root::take_wake(&mut root) {
            if genrt_scheduler::Root::poll(&mut root) {
                return root.output.take().expect("the future is done");
            }
            continue;
        }
        signal.wait();
        root.owed = true;
    }
}

/// The `block_on` future as a driven runtime's root.
struct Root<'a, 'c, 'f, F: Future> {
    handle: &'a Handle,
    signal: &'a BlockOnSignal,
    cx: &'a mut Context<'c>,
    future: std::pin::Pin<&'f mut F>,
    output: Option<F::Output>,
    /// A poll is owed, and this thread holds the clock hold it runs under.
    owed: bool,
}

impl<F: Future> genrt_scheduler::Root for Root<'_, '_, '_, F> {
    fn take_wake(&mut self) -> bool {
        if !self.owed && self.signal.take_wake() {
            // The wake's hold is now this thread's.
            self.owed = true;
        }
        self.owed
    }

    fn is_woken(&self) -> bool {
        self.owed || self.signal.is_woken()
    }

    fn poll(&mut self) -> bool {
        // Before the poll too: a task of this runtime that panicked under `ShutdownRuntime`
        // (maybe on this very thread, since the future was last polled) ends `block_on`
        // without another poll of the future, as in Tokio's current-thread loop, which
        // checks before it goes back to its future. The future would otherwise run once more
        // in a runtime already shut down, and a panic of its own there (a channel to the
        // panicked task found closed) would stand in for the policy's.
        check_not_panicked(self.handle);
        let poll = {
            let _budget = crate::task::coop::BudgetGuard::for_poll();
            self.future.as_mut().poll(self.cx)
        };
        check_not_panicked(self.handle);
        if let Poll::Ready(output) = poll {
            // Returned holding the polling hold, which `Finish` releases.
            self.output = Some(output);
            return true;
        }
        if self.signal.take_wake() {
            // Woken during the poll: poll again, under the wake's hold.
            self.handle.inner.release_clock_hold();
        } else {
            self.handle.inner.release_clock_hold();
            self.owed = false;
        }
        false
    }
}

/// Step 5: ends the polling hold and closes the signal, also when the future panics.
struct Finish<'a> {
    signal: &'a BlockOnSignal,
    handle: &'a Handle,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.handle.inner.release_clock_hold();
        if self.signal.close() {
            self.handle.inner.release_clock_hold();
        }
    }
}
/// Step 3's check. A worker sets `panicked` (Release) before it closes the runtime, wakes
/// the watchers and delivers the panicking task's result, so whoever observed any of those
/// sees it here (Acquire).
#[track_caller]
fn check_not_panicked(handle: &Handle) {
    if handle.inner.is_panicked() {
        panic!(
            "genrt: a spawned task panicked and the runtime is configured to shut down on \
             unhandled panic (Tokio's words; UnhandledPanic::ShutdownRuntime), so it has shut \
             down and block_on cannot go on; see the panic message above for the task's panic"
        );
    }
}

/// `BlockOnSignal::state`: not woken since the last `take_wake`.
const IDLE: u8 = 0;
/// A wake is adding its clock hold.
const WAKING: u8 = 1;
/// Woken; the wake's clock hold is added.
const WOKEN: u8 = 2;
/// `block_on` returned (or unwound): wakes do nothing.
const DONE: u8 = 3;

/// Wakes a thread blocked in `block_on`.
///
/// The thread's park token alone cannot carry a wake: code inside the future may park the
/// thread itself (`std::sync::mpsc::Receiver::recv`, `std::thread::scope`, a lock) and
/// consume the token that a wake left, and `block_on` would then park with nothing left to
/// end the park. So a wake also moves `state` to `WOKEN`, and `block_on` parks only while it
/// is `IDLE`: a wake whose token was consumed is still seen.
///
/// A wake also holds the runtime's clock (a paused clock does not auto-advance) from the wake
/// until the woken thread polls: the wake that moves `state` from `IDLE` adds a hold
/// (`WAKING`, then `WOKEN` once it is added), and `block_on` takes that hold over as its
/// polling hold when it takes the wake. So the clock never jumps between a task's wake of
/// `block_on` and the poll that wake asked for, as on Tokio's current-thread runtime, where
/// the woken `block_on` future is work that keeps the driver from parking. After `DONE` a
/// wake adds nothing: a waker kept after `block_on` returned holds nothing.
struct BlockOnSignal {
    thread: Thread,
    state: AtomicU8,
    holds: HoldAdder,
    /// On a current-thread runtime: ends the park of the thread that drives it, which may
    /// be this `block_on`'s (`drive`); it parks as a worker, not on its thread's token.
    driver: Option<genrt_scheduler::Unparker>,
}

impl BlockOnSignal {
    /// Takes a pending wake: returns whether there was one, whose clock hold the caller now
    /// owns.
    fn take_wake(&self) -> bool {
        loop {
            // Acquire: pairs with the Release store of `WOKEN` in `wake_by_ref`, so what a
            // waker wrote before its wake is visible to the poll that follows.
            match self.state.load(Ordering::Acquire) {
                WOKEN => {
                    if self
                        .state
                        .compare_exchange(WOKEN, IDLE, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                    {
                        return true;
                    }
                }
                // A waker between its two steps: adding its hold, a few instructions.
                WAKING => thread::yield_now(),
                _ => return false,
            }
        }
    }

    /// Whether a wake is pending (or being added), without taking it.
    fn is_woken(&self) -> bool {
        // Acquire: as in `take_wake`.
        matches!(self.state.load(Ordering::Acquire), WAKING | WOKEN)
    }

    /// Returns once a wake happened since the last return, parking until then; the caller
    /// owns the wake's clock hold.
    fn wait(&self) {
        while !self.take_wake() {
            // A spurious return (a token left by an earlier wake) only re-checks the state.
            thread::park();
        }
    }

    /// `block_on` is over: later wakes do nothing. Returns whether a wake's clock hold was
    /// left for the caller to release.
    fn close(&self) -> bool {
        loop {
            match self.state.load(Ordering::Acquire) {
                WAKING => thread::yield_now(),
                current => {
                    if self
                        .state
                        .compare_exchange(current, DONE, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                    {
                        return current == WOKEN;
                    }
                }
            }
        }
    }
}

impl Wake for BlockOnSignal {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        // Every wake writes `state` with a Release read-modify-write, including one that
        // finds a wake already pending and leaves the state as it is: the RMWs form one
        // release sequence, so `take_wake`'s Acquire CAS, whichever value it reads, makes
        // what *each* waker wrote before its wake visible to the poll that follows. Only the
        // wake that leaves `IDLE` adds a hold and unparks: until `block_on` takes it, the
        // state is not `IDLE` and `wait` does not park.
        let mut current = self.state.load(Ordering::Relaxed);
        loop {
            let next = match current {
                IDLE => WAKING,
                DONE => return,
                pending => pending,
            };
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) if current == IDLE => break,
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
        self.holds.add();
        // Release RMW: continues the release sequence of any wake that found `WAKING`.
        self.state.swap(WOKEN, Ordering::Release);
        self.thread.unpark();
        if let Some(driver) = &self.driver {
            // After the state: a driver that re-checks `is_woken` before parking either sees
            // the wake or gets this token.
            driver.unpark();
        }
    }
}
