//! [`CommandTask`]: the genrt task that steps one crux `Command` (or, under
//! [`EventOrder::Fifo`](crate::EventOrder::Fifo), the core's one root command).
//!
//! A step is one genrt poll: [`Tracker::start_step`], then `Command::poll_next` until it
//! returns `Pending` (or the command ends), handing each effect to the core's outbox and each
//! event to `update`, then [`Tracker::end_step`] or [`Tracker::finish`]. The whole step runs
//! under `catch_unwind`: a panic ends the command (its future is dropped), is recorded on
//! the core and re-raised by the next settling call (`Shared::settle`), and never reaches the
//! worker, so it cannot hang the core, other cores or the runtime.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crux_core::command::CommandOutput;
use crux_core::{App, Command};
use futures::Stream;

use crate::settle::{StepEnd, Tracker};
use crate::Shared;

/// The genrt task of one command: owns the command; its tracker and core are shared.
pub(crate) struct CommandTask<A: App> {
    /// `None` once dropped (so `Drop` frees it before telling the core the task is gone).
    pub(crate) command: Option<Command<A::Effect, A::Event>>,
    /// The step state; `waker` is made from it.
    pub(crate) tracker: Arc<Tracker>,
    /// The waker the command sees (an `Arc` of `tracker`, made once).
    pub(crate) waker: Waker,
    /// The core.
    pub(crate) shared: Arc<Shared<A>>,
    /// This task's entry in the core's task set.
    pub(crate) id: u64,
    /// Whether this is the root command of a `Fifo` core (it never ends on its own).
    pub(crate) root: bool,
}

impl<A> CommandTask<A>
where
    A: App + Send + Sync + 'static,
    A::Model: Send + 'static,
{
    /// Polls the command until it is pending or ends; returns whether it ended.
    fn step(&mut self, effects: &mut Vec<A::Effect>) -> bool {
        let Some(command) = self.command.as_mut() else {
            return true;
        };
        let mut cx = Context::from_waker(&self.waker);
        loop {
            match Pin::new(&mut *command).poll_next(&mut cx) {
                Poll::Ready(Some(CommandOutput::Effect(effect))) => effects.push(effect),
                Poll::Ready(Some(CommandOutput::Event(event))) => {
                    // Effects emitted before this event reach the outbox before the ones the
                    // event's command emits (per-command emission order).
                    self.shared.deliver(effects);
                    self.shared.event_from_command(event, self.root);
                }
                // The root holds a context of its own in the core, so it never ends; an
                // ordinary command ends here.
                Poll::Ready(None) => return !self.root,
                Poll::Pending => return false,
            }
        }
    }
}

impl<A> Future for CommandTask<A>
where
    A: App + Send + Sync + 'static,
    A::Model: Send + 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if !this.tracker.start_step(cx.waker()) {
            return Poll::Ready(());
        }
        let mut effects = Vec::new();
        let outcome = catch_unwind(AssertUnwindSafe(|| this.step(&mut effects)));
        // Effects emitted before a panic were emitted: the shell gets them.
        this.shared.deliver(&mut effects);
        match outcome {
            Ok(false) => match this.tracker.end_step(cx.waker()) {
                StepEnd::Idle | StepEnd::Again => Poll::Pending,
            },
            Ok(true) => {
                this.command = None;
                this.tracker.finish();
                Poll::Ready(())
            }
            Err(payload) => {
                // Drop the command now: its executor may be inconsistent.
                this.drop_command_quietly();
                this.shared.command_panicked(payload, this.root);
                this.tracker.finish();
                Poll::Ready(())
            }
        }
    }
}

impl<A: App> CommandTask<A> {
    /// Drops the command; a panic in its `Drop` is swallowed (the command is gone anyway).
    fn drop_command_quietly(&mut self) {
        let command = self.command.take();
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(command))) {
            // A payload whose own Drop panics is leaked rather than dropped.
            std::mem::forget(payload);
        }
    }
}

impl<A: App> Drop for CommandTask<A> {
    fn drop(&mut self) {
        // The command first, so that the core's `Drop`, which waits for the task set to
        // empty, returns only once every command future is freed.
        self.drop_command_quietly();
        self.tracker.finish();
        self.shared.task_gone(self.id);
    }
}
