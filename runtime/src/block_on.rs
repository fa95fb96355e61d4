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
//! 3. if the runtime was shut down because a task panicked
//!    ([`UnhandledPanic::ShutdownRuntime`]), panic; then loop: poll the future; check again
//!    (also when the poll was ready); return the output or park on the signal.
//!
//! A close by panic sets `panicked` before `closed` and wakes every watcher after, so a
//! thread that checked before the close parks with its `woken` flag set by the close's wake:
//! it polls once more, checks again and panics. A normal shutdown (the `Runtime` dropped
//! while a `Handle::block_on` runs) leaves it driving its future, whose spawns are
//! cancelled, as in Tokio (under that policy the close wakes it once, harmlessly).
//!
//! [`Runtime::block_on`]: crate::Runtime::block_on
//! [`Handle::block_on`]: crate::Handle::block_on
//! [`UnhandledPanic::ShutdownRuntime`]: crate::UnhandledPanic::ShutdownRuntime

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};

use crate::handle::Handle;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::thread::{self, Thread};

/// Runs `future` to completion on this thread, inside `handle`'s runtime (the protocol above).
#[track_caller]
pub(crate) fn block_on<F: Future>(handle: &Handle, future: F) -> F::Output {
    let _enter = handle.inner.enter_block_on();
    // A standard `Arc`, which `Waker::from` needs; it holds a thread handle and a flag.
    let signal = std::sync::Arc::new(BlockOnSignal {
        thread: thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(signal.clone());
    let _watch = handle.inner.watch_close(waker.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    check_not_panicked(handle);
    loop {
        let poll = future.as_mut().poll(&mut cx);
        // Checked after the poll too, even when it is ready: an output built from the result
        // of a task that panicked (or of anything that ran after that panic) would otherwise
        // slip out of a runtime that has shut down.
        check_not_panicked(handle);
        if let Poll::Ready(output) = poll {
            return output;
        }
        signal.wait();
    }
}

/// Step 3's check. A worker sets `panicked` (Release) before it closes the runtime, wakes
/// the watchers and delivers the panicking task's result, so whoever observed any of those
/// sees it here (Acquire).
#[track_caller]
fn check_not_panicked(handle: &Handle) {
    if handle.inner.is_panicked() {
        panic!(
            "genrt: a task panicked and the runtime is configured with \
             UnhandledPanic::ShutdownRuntime, so it has shut down and block_on cannot go on; \
             see the panic message above for the task's panic"
        );
    }
}

/// Wakes a thread blocked in `block_on`.
///
/// The thread's park token alone cannot carry a wake: code inside the future may park the
/// thread itself (`std::sync::mpsc::Receiver::recv`, `std::thread::scope`, a lock) and
/// consume the token that a wake left, and `block_on` would then park with nothing left to
/// end the park. So a wake also sets `woken`, and `block_on` parks only while `woken` is
/// clear: a wake whose token was consumed is still seen.
struct BlockOnSignal {
    thread: Thread,
    woken: AtomicBool,
}

impl BlockOnSignal {
    /// Returns once a wake happened since the last return, parking until then.
    fn wait(&self) {
        // Acquire: pairs with the Release swap in `wake_by_ref`, so what a waker wrote before
        // its wake is visible to the poll that follows.
        while !self.woken.swap(false, Ordering::Acquire) {
            // A spurious return (a token left by an earlier wake) only re-checks the flag.
            thread::park();
        }
    }
}

impl Wake for BlockOnSignal {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        // Release: pairs with the Acquire swap in `wait`. Only the wake that sets the flag
        // unparks: while it is set, `wait` does not park without clearing it first.
        if !self.woken.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }
}
