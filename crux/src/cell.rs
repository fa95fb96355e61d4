//! [`CommandCell`]: where one crux `Command` lives (owned by its core, never by a waker),
//! and [`Shared::run`], the one way a command is stepped, inline on a calling thread or on
//! a worker.
//!
//! A step: [`Tracker::start_step`] claims the command (one stepping thread at a time), then
//! `Command::poll_next` until it returns `Pending` (or the command ends), handing each effect
//! to the core's outbox and each event to `update`, then [`Tracker::end_step`] (stepping
//! again at once if it was woken meanwhile) or [`Tracker::finish`]. The poll loop runs under
//! `catch_unwind`: a panic ends the command (dropped at once), is recorded on the core and
//! re-raised by the next settling call, and never reaches a worker, so it cannot hang the
//! core, other cores or the runtime.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crux_core::command::CommandOutput;
use crux_core::{App, Command};
use futures::Stream;
use parking_lot::Mutex;

use crate::settle::{busy, next, StepEnd, Tracker};
use crate::Shared;

/// One command of a core: held by the core's cell map (and, during a step, by the thread
/// stepping it), never by a waker.
pub(crate) struct CommandCell<A: App> {
    /// The command; `None` once it ended or the core dropped it. Locked only by the thread
    /// that holds the step (`RUNNING`), and by the core's drop.
    pub(crate) command: Mutex<Option<Command<A::Effect, A::Event>>>,
    /// Its step state; also keeps the tracker's address (the cell's key) unique.
    pub(crate) tracker: Arc<Tracker>,
    /// The waker the command sees (made once from `tracker`).
    pub(crate) waker: Waker,
    /// Whether this is the root command of a `Fifo` core (it never ends on its own).
    pub(crate) root: bool,
}

/// How one step ended.
enum Stepped {
    /// The command is suspended.
    Pending,
    /// The command ended (or was already gone).
    Finished,
    /// The command panicked; it has been dropped.
    Panicked(Box<dyn std::any::Any + Send>),
}

impl<A> Shared<A>
where
    A: App + Send + Sync + 'static,
    A::Model: Send + 'static,
{
    /// Steps `tracker`'s command until it is suspended or ends, then the command its steps
    /// started that was kept for this thread (`settle::next`), and so on. With `claimed`, the
    /// caller already holds the first step (`RUNNING`); otherwise it claims it, and moves on
    /// at once if there is nothing to step or another thread steps it.
    pub(crate) fn run(self: &Arc<Self>, tracker: &Arc<Tracker>, claimed: bool) {
        let scope = next::Scope::enter();
        self.run_one(tracker, claimed);
        while let Some(next) = scope.take() {
            self.run_one(&next, false);
        }
    }

    /// [`Shared::run`] for one command.
    fn run_one(self: &Arc<Self>, tracker: &Arc<Tracker>, claimed: bool) {
        let mut claimed = claimed;
        let Some(cell) = self.cell(tracker) else {
            // The core dropped it (or it ended): nothing to step, nothing to count.
            tracker.finish();
            return;
        };
        loop {
            if !claimed && !tracker.start_step() {
                return;
            }
            claimed = false;
            match self.step(&cell) {
                Stepped::Pending => match tracker.end_step() {
                    StepEnd::Idle => return,
                    StepEnd::Again => continue,
                },
                Stepped::Finished => {
                    self.remove_cell(tracker);
                    tracker.finish();
                    return;
                }
                Stepped::Panicked(payload) => {
                    self.remove_cell(tracker);
                    self.command_panicked(payload, cell.root);
                    tracker.finish();
                    return;
                }
            }
        }
    }

    /// One step of `cell`'s command, by the thread holding its step.
    fn step(self: &Arc<Self>, cell: &CommandCell<A>) -> Stepped {
        let _busy = busy::Guard::step(&cell.tracker);
        let mut command = cell.command.lock();
        let Some(running) = command.as_mut() else {
            return Stepped::Finished;
        };
        let mut effects = Vec::new();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            // Without genrt's cooperative budget: a step runs crux's own executor, which
            // re-polls a command that woke itself at once; a genrt future that yields because
            // the budget of the task it runs in is spent would have it spin for ever.
            let mut step = std::pin::pin!(genrt::task::unconstrained(std::future::poll_fn(|_| {
                std::task::Poll::Ready(self.poll_until_pending(
                    running,
                    &cell.waker,
                    cell.root,
                    &mut effects,
                ))
            })));
            match std::future::Future::poll(
                step.as_mut(),
                &mut std::task::Context::from_waker(futures::task::noop_waker_ref()),
            ) {
                std::task::Poll::Ready(done) => done,
                std::task::Poll::Pending => unreachable!("a step's poll_fn is always ready"),
            }
        }));
        // Effects emitted before a panic were emitted: the shell gets them.
        self.deliver(&mut effects);
        match outcome {
            Ok(false) => Stepped::Pending,
            Ok(true) => {
                drop_quietly(command.take());
                Stepped::Finished
            }
            Err(payload) => {
                if cell.root {
                    // Every command of a `Fifo` core goes with its root: no more spawns.
                    self.root_ending();
                }
                // Its executor may be inconsistent: drop it now.
                drop_quietly(command.take());
                Stepped::Panicked(payload)
            }
        }
    }

    /// Polls `command` until it is pending or ends; returns whether it ended.
    fn poll_until_pending(
        self: &Arc<Self>,
        command: &mut Command<A::Effect, A::Event>,
        waker: &Waker,
        root: bool,
        effects: &mut Vec<A::Effect>,
    ) -> bool {
        let mut cx = Context::from_waker(waker);
        loop {
            match Pin::new(&mut *command).poll_next(&mut cx) {
                Poll::Ready(Some(CommandOutput::Effect(effect))) => effects.push(effect),
                Poll::Ready(Some(CommandOutput::Event(event))) => {
                    // Effects emitted before this event reach the outbox before the ones the
                    // event's command emits (per-command emission order).
                    self.deliver(effects);
                    self.event_from_command(event, root);
                }
                // The root holds a context of its own in the core, so it never ends; an
                // ordinary command ends here.
                Poll::Ready(None) => return !root,
                Poll::Pending => return false,
            }
        }
    }
}

/// Drops `value`; a panic in its `Drop` is swallowed (what it belonged to is gone anyway),
/// and a payload whose own `Drop` panics is leaked rather than dropped.
pub(crate) fn drop_quietly<T>(value: T) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        std::mem::forget(payload);
    }
}
