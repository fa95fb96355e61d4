//! Loom models of a task's cell and its join handle: completion vs abort vs drop of the
//! handle vs shutdown.
//!
//! The real `TaskCell` and `JoinHandle`. One loom thread is the worker that holds the task's
//! poll permission: it calls `Task::poll` and `Task::shutdown` as the scheduler does, then
//! drops its reference as the slab does when the slot is freed. The other thread owns the
//! join handle: it awaits it with loom's `block_on` (a lost wake-up of the handle is a loom
//! deadlock), aborts it or drops it. The future and its output each hold a loom `Arc`, so a
//! future, a result or a stored waker that is never dropped fails the model as a leak.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::loom::future::block_on;
use ::loom::thread;
use futures_task::noop_waker_ref;
use genrt_scheduler::Task;

use crate::loom::sync::Arc;
use crate::loom::unsize_arc;
use crate::task::cell::TaskCell;
use crate::task::join::{Join, JoinHandle};

/// A task's output: a number and a leak tracker.
pub(super) struct Output(pub(super) u32, #[allow(dead_code)] ::loom::sync::Arc<()>);

/// A future that is `Pending` for its first `pending_polls` polls, then `Ready(Output(42))`.
pub(super) struct Work {
    pending_polls: u32,
    _track: ::loom::sync::Arc<()>,
}

impl Work {
    pub(super) fn new(pending_polls: u32) -> Work {
        Work {
            pending_polls,
            _track: ::loom::sync::Arc::new(()),
        }
    }
}

impl Future for Work {
    type Output = Output;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Output> {
        if self.pending_polls == 0 {
            Poll::Ready(Output(42, ::loom::sync::Arc::new(())))
        } else {
            self.pending_polls -= 1;
            Poll::Pending
        }
    }
}

/// What `Handle::spawn` builds: the cell, as the slab holds it, and the join handle.
pub(super) fn spawn(work: Work) -> (Arc<TaskCell<Work>>, JoinHandle<Output>) {
    let cell = Arc::new(TaskCell::new(work));
    let join = JoinHandle::new(unsize_arc!(cell.clone() => dyn Join<Output>));
    (cell, join)
}

/// One poll by the holder of the task's poll permission.
pub(super) fn poll(cell: &TaskCell<Work>) -> Poll<()> {
    let mut cx = Context::from_waker(noop_waker_ref());
    // SAFETY: the calling thread is the model's only poller, and each model stops calling
    // `poll` and `shutdown` once one of them returned `Ready` or ran: the poll permission.
    unsafe { cell.poll(&mut cx) }
}

/// The worker completes the task while the handle is awaited: the handle gets the output,
/// whichever comes first, and is woken if it was waiting.
#[test]
fn completion_races_join() {
    ::loom::model(|| {
        let (cell, join) = spawn(Work::new(0));
        let worker = thread::spawn(move || {
            assert!(poll(&cell).is_ready());
            drop(cell); // the slot is freed
        });
        let output = block_on(join).expect("the task completed");
        assert_eq!(output.0, 42);
        worker.join().unwrap();
    });
}

/// The handle aborts the task while the worker polls it for the second time (the abort's
/// wake scheduled it): the handle gets the output if that poll missed the abort, a cancelled
/// error if it saw it, and is woken either way; the future is dropped either way.
#[test]
fn abort_races_completion() {
    ::loom::model(|| {
        let (cell, join) = spawn(Work::new(1));
        assert!(poll(&cell).is_pending());
        let worker = thread::spawn(move || {
            assert!(
                poll(&cell).is_ready(),
                "the second poll completes or cancels"
            );
            drop(cell);
        });
        join.abort();
        match block_on(join) {
            Ok(output) => assert_eq!(output.0, 42),
            Err(error) => assert!(error.is_cancelled()),
        }
        worker.join().unwrap();
    });
}

/// The handle is dropped (the task detached) while the worker completes it: the output,
/// which nobody will read, is dropped, by the worker's `finish` or by the handle's `detach`,
/// whichever comes second, and the waker the handle stored is dropped too.
#[test]
fn detach_races_completion() {
    ::loom::model(|| {
        let (cell, mut join) = spawn(Work::new(0));
        // The handle was polled once and stored its waker.
        let polled = block_on(std::future::poll_fn(|cx| {
            Poll::Ready(Pin::new(&mut join).poll(cx).is_pending())
        }));
        assert!(polled, "nothing has run yet");
        let worker = thread::spawn(move || {
            assert!(poll(&cell).is_ready());
            drop(cell);
        });
        drop(join);
        worker.join().unwrap();
    });
}

/// The runtime shuts down (its sweep calls `Task::shutdown`) while the handle is awaited: the
/// handle gets a cancelled error and is woken; the future is dropped.
#[test]
fn shutdown_races_join() {
    ::loom::model(|| {
        let (cell, join) = spawn(Work::new(1));
        assert!(poll(&cell).is_pending());
        let worker = thread::spawn(move || {
            // SAFETY: as in `poll`: this thread holds the poll permission, and nothing is
            // called on the task after this.
            unsafe { cell.shutdown() };
            drop(cell);
        });
        assert!(block_on(join).err().is_some_and(|e| e.is_cancelled()));
        worker.join().unwrap();
    });
}
