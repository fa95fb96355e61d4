//! genrt-crux: a drop-in [`Core`] for crux_core 0.20 apps whose commands run on genrt's
//! worker threads, multi-threaded and leak-free.
//!
//! `crux_core::Core` runs every command of an app on whichever thread calls `process_event`
//! or `resolve`, one at a time, behind one lock. [`genrt_crux::Core`](Core) has the same
//! methods and signatures, so a shell switches by changing one import. Commands step in
//! parallel, on genrt's workers and on the shell's calling threads, with no lock around
//! them, and dropping the core frees every suspended command future, whatever requests the
//! shell still holds.
//!
//! ```
//! use crux_core::{capability::Operation, macros::effect, App, Command};
//!
//! #[derive(Debug, Clone, PartialEq, Eq)]
//! pub struct Double(u64);
//! impl Operation for Double {
//!     type Output = u64;
//! }
//!
//! #[effect]
//! pub enum Effect {
//!     Double(Double),
//! }
//!
//! pub enum Event {
//!     Start(u64),
//!     Done(u64),
//! }
//!
//! #[derive(Default)]
//! pub struct Calc;
//!
//! impl App for Calc {
//!     type Event = Event;
//!     type Model = u64;
//!     type ViewModel = u64;
//!     type Effect = Effect;
//!
//!     fn update(&self, event: Event, model: &mut u64) -> Command<Effect, Event> {
//!         match event {
//!             Event::Start(n) => Command::request_from_shell(Double(n)).then_send(Event::Done),
//!             Event::Done(n) => {
//!                 *model = n;
//!                 Command::done()
//!             }
//!         }
//!     }
//!
//!     fn view(&self, model: &u64) -> u64 {
//!         *model
//!     }
//! }
//!
//! // The one line that changes in the shell: `use genrt_crux::Core;` for `crux_core::Core`.
//! let core: genrt_crux::Core<Calc> = genrt_crux::Core::new();
//! let mut effects = core.process_event(Event::Start(21));
//! let Some(Effect::Double(mut request)) = effects.pop() else { panic!("one request") };
//! let n = request.operation.0;
//! assert!(core.resolve(&mut request, n * 2).unwrap().is_empty());
//! assert_eq!(core.view(), 42);
//! ```
//!
//! # How it runs
//!
//! Each command lives in a cell its core owns; its waker is a 32-byte tracker that owns no
//! command. A command is stepped (`Command::poll_next` until it is pending) by one thread at
//! a time, which one depending on what woke it:
//!
//! - `process_event` runs `update` on the calling thread (as crux_core does) and takes the
//!   new command's first step there too;
//! - `resolve` resolves the request, which wakes its command synchronously, and steps that
//!   command on the calling thread (crux_core's `resolve` does the same): no cross-thread
//!   hop on a round trip;
//! - an event a command emits goes to `update` on the thread stepping that command; the
//!   first command `update` returns during a step is stepped next by that same thread (a
//!   `render()` after a response costs no hop), any further one steps on **genrt's
//!   workers**, in parallel with the command that emitted the event and with the calling
//!   thread;
//! - a command woken from outside any call (a channel fed by another thread, a wake during
//!   another command's step, a second command woken by one resolve) steps on a worker. A
//!   request the shell drops (or resolves itself, without a call) is such a wake: crux_core
//!   evicts the task awaiting a dropped request in its next call, this adapter at once, so a
//!   resolve of that task's other requests right after the drop may find them concluded
//!   (`ResolveError::FinishedMany` for a stream) where crux_core's succeeds once more. Under
//!   [`EventOrder::Fifo`] a wake from outside any call waits for the core's next call instead,
//!   as in crux_core.
//!
//! On a shell thread no genrt runtime is current while a command steps (entering the core's
//! runtime around every step cost 10-20% of a round trip): a command that uses genrt
//! itself makes its timers, and spawns, with the runtime entered,
//! `let sleep = { let _entered = handle.enter(); genrt::time::sleep(d) }; sleep.await;`
//! (a sleep belongs to the runtime it is made in, wherever it is polled; `handle.spawn`
//! needs no guard). A crux app written for crux_core uses none of this.
//!
//! `process_event` and `resolve` then wait for the **per-core settle**: the moment none of
//! this core's commands is runnable or running (other cores on the same runtime do not delay
//! it), and return every effect the core's commands emitted that no other call returned yet.
//! The settle protocol and its proof are in `crux/src/settle.rs`.
//!
//! Parallelism therefore comes from commands that events start, from wakes from outside,
//! and from concurrent calls: calls on one core from several shell threads step their
//! commands on those threads at the same time (crux_core serialises them behind one lock).
//! A single shell thread resolving one request at a time waits, at each call, for the
//! command it woke: its computation is not spread over the workers. Parallelism is across
//! commands: the sub-tasks of one command (`ctx.spawn`, `Command::all`) run inside that
//! command's `poll_next`, on one thread at a time.
//!
//! The price of that parallelism is paid in the allocator: a command allocated on the
//! calling thread (in `update`) is freed on whichever thread ends it, and with calls running
//! at once those frees meet the caller's next allocations. With glibc's malloc this contends
//! on the caller's arena lock (crux's channels are 128-byte aligned, and an aligned
//! allocation always takes the lock); crux_core's one lock happens to keep the two apart.
//! It is the main cause of the `crux/fan_out` gap in BENCHMARKS.md (about 6,700 futex calls
//! per iteration on that one lock, against 2,200 under crux_core). With a thread-caching
//! allocator the gap turns round: under mimalloc (`--features mimalloc` of the comparison)
//! `crux/fan_out` takes 0.83-0.90 of crux_core's time, against 1.12-1.29 under glibc's
//! malloc, and measured alone every `crux/*` row is faster than crux_core's (round trips
//! 0.53 and 0.86, fan_out 0.79, cpu_heavy 0.54; BENCHMARKS.md, 2026-12-01 15:10). Apps whose
//! commands allocate heavily and are resolved from several threads may want one as their
//! global allocator.
//!
//! # Ordering
//!
//! Per command, effects come back in emission order and events reach `update` first in,
//! first out, as in crux_core. Across commands, under the default
//! [`EventOrder::Completion`], events reach `update` in the order the commands' steps
//! produce them, which under real threads is not crux_core's order. Apps that depend on
//! crux_core's order get it with [`EventOrder::Fifo`] (see [`Options::event_order`]): the
//! core's commands then run as sub-tasks of one root command, stepped by one thread at a
//! time, which gives crux_core's event and effect order and gives up parallelism across
//! commands (it keeps the leak-freedom). As in crux_core, what is woken from outside any call
//! (a request the shell drops, a channel fed by another thread, a genrt timer) then runs in
//! the core's next call (`process_event`, `resolve`, `process_tasks`), after that call's own
//! `update` or resolve, not at once on a worker.
//!
//! crux_core hosts every command in one root command whose task slots are reused, and a
//! waker of a finished command (kept, say, by a request the shell still holds) wakes whichever
//! command took its slot. Such a spurious poll shows only through `AbortHandle::abort`, which
//! takes effect at the command's next poll: crux_core may drop an aborted command earlier than
//! this adapter does under [`EventOrder::Completion`], where a wake reaches only its own
//! command (under [`EventOrder::Fifo`] the root is crux's own, as in crux_core).
//!
//! Under concurrent calls on one core, a call may return effects another call's work
//! emitted (and waits for that work to settle too); every emitted effect is returned by
//! exactly one call.
//!
//! # Panics
//!
//! A panic in a command (or in `update` handling an event a command emitted) ends that
//! command: its future is dropped, the core, the runtime and other cores carry on. The panic
//! is re-raised (`std::panic::resume_unwind`, with the original payload) by the next
//! `process_event` or `resolve` on the core that settles (the very call whose step
//! panicked, if the step ran on its thread); that call returns no effects and the effects it
//! would have returned wait for the next call. One re-raise per panic. The model is not
//! poisoned (crux_core poisons its lock): a panicking `update` may leave it half-updated.
//! Under [`EventOrder::Fifo`] a panic ends the root command, and with it every command of
//! the core: after the re-raise, `process_event` panics with a message saying so. A panic in
//! `update` or `view` called by `process_event` or `view` themselves unwinds to their caller,
//! as in crux_core.
//!
//! # Crux issues under real threads
//!
//! - **crux #577** (a task evicted while a resolve races its poll): crux's executor evicts a
//!   suspended sub-task whose waker has no other copy, reading the `woken` flag and the
//!   `Arc` count separately; a resolve on another thread that takes, fires and drops that
//!   very waker between the two reads makes a live sub-task look abandoned. crux_core's own
//!   `resolve` resolves outside its lock, so it is exposed when a shell resolves from several
//!   threads; this adapter **is exposed** the same way, and more often, since commands also
//!   step on workers while shell threads resolve. It does nothing about it beyond stepping
//!   each command on one thread at a time (the race is inside crux's executor, between a
//!   request's channel and the command's task list, where no adapter can reach).
//!   `tests/concurrency.rs` (`crux_577_fan_out_resolved_from_eight_threads`) resolves
//!   `Command::all` fan-outs from 8 threads at once and counts lost sub-tasks: none so far.
//! - **crux #441** (a context used from another command never wakes): a command that
//!   sends on another command's context puts work in that command's queues without waking
//!   it; as in crux_core, that work runs at the other command's next wake.
//! - A command that loops on yields keeps the thread stepping it busy (crux's executor
//!   re-polls it within the same `poll_next`), a settling call on its core waits as long as
//!   it loops, and so does the core's drop.
//!
//! # Leak-freedom
//!
//! Dropping a core drops every command before its drop returns (waiting for a step in
//! progress on a worker to end), whether it runs on a runtime of its own, dropped next, or
//! on the caller's, which lives on without them (with the model: a step task still queued on
//! it, for a command woken just before the drop, holds only that command's tracker, as a
//! held request does); a command that held the last reference and so dropped the core inside
//! its own step is dropped when that step ends. A request the
//! shell still holds keeps crux's own request state, the command's 32-byte tracker and the
//! core's settle counter (a few words), never the command nor the core's model: resolving
//! it afterwards is a no-op (`tests/leak.rs` measures 776 bytes per held request, against
//! crux_core's 800).
//!
//! # A runtime dropped before its core
//!
//! A core on the caller's runtime needs it as long as the core lives. If the runtime shuts
//! down first, a command that needs a worker (a second command started by an event within
//! one step, or one woken from outside a call) is dropped, and the next `process_event` or `resolve` panics with a message
//! saying so, rather than waiting for ever. Under [`EventOrder::Fifo`] no command needs a
//! worker (the calls step the root), so such a core carries on; a command's own genrt timers
//! and spawns still need the runtime.
//!
//! # Bounds
//!
//! Beyond crux_core's: `A: Send + Sync + 'static` and `A::Model: Send + 'static`, because
//! `update` runs on worker threads; the model is behind a mutex (`view` takes it too).
//! `Core<A>` is `Send + Sync`.
//!
//! # Blocking
//!
//! `process_event` and `resolve` block the calling thread until the settle, like
//! crux_core's. On a worker thread of a genrt runtime (a task calling them) they panic, as
//! `Runtime::settle` and `Handle::block_on` do: the wait would stall that worker, and on the
//! core's own runtime with a single worker a command stepping on a worker could never run.
//! Call them from the shell's threads, or from `genrt::spawn_blocking`. Called from inside
//! one of the core's own commands or `update`s (which would wait for their caller to settle),
//! they panic too; calls on another core are fine. An `EffectMiddleware` must therefore not
//! resolve from a genrt task (a worker): from its own thread or `spawn_blocking` it may.
//!
//! # Middleware and bridges
//!
//! The core is a crux middleware `Layer`, as crux_core's is, so the layers compose over it
//! unchanged (`handle_effects_using`, `map_effect`), and `Layer::bridge` gives the FFI bridge
//! (`tests/crux_core_*ports.rs` run crux_core's own middleware and JSON bridge tests through
//! it). Two crux_core types take crux_core's `Core` itself and cannot take this one:
//! `crux_core::bridge::Bridge::new(core)` (use `core.bridge::<Format>(callback)`) and
//! crux_core's `EffectRouter` prototype.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

mod cell;
mod settle;

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use crux_core::command::CommandContext;
use crux_core::middleware::Layer;
use crux_core::{App, Command, Resolvable, ResolveError};
use parking_lot::Mutex;

use cell::{drop_quietly, CommandCell};
use settle::{busy, Dispatch, Settle, StepTask, Tracker, NOTIFIED, RUNNING};

/// Which order events emitted by different commands reach `update` in.
///
/// ```
/// let options = genrt_crux::Options::new().event_order(genrt_crux::EventOrder::Fifo);
/// # let _ = options;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventOrder {
    /// Each command steps on its own (in parallel with the others), and the events it emits
    /// reach `update` on the thread that stepped it, in the order the steps produce them:
    /// FIFO per command, completion order across commands. The default.
    #[default]
    Completion,
    /// crux_core's order: the core's commands run as sub-tasks of one root command stepped
    /// by one thread at a time, its events reach `update` first in, first out across
    /// commands, exactly as in crux_core's `process`. Commands no longer run in parallel
    /// with each other, and, as in crux_core, a command woken from outside any call (a
    /// request the shell drops, a channel fed by another thread, a genrt timer) runs in the
    /// core's next call. Under concurrent calls on one core the order is crux_core's per
    /// step of the root, not per call: crux_core's lock finishes one call's cascade of
    /// events before the next call starts, while here a command woken by another thread's
    /// `resolve` may be stepped in the middle of this call's cascade.
    Fifo,
}

/// How a [`Core`] is built: [`Core::with_options`].
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let options = genrt_crux::Options::new()
///     .runtime(rt.handle().clone())
///     .event_order(genrt_crux::EventOrder::Completion);
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Options {
    event_order: EventOrder,
    runtime: Option<genrt::Handle>,
}

impl Options {
    /// The defaults: [`EventOrder::Completion`], on a runtime of the core's own.
    ///
    /// ```
    /// let _ = genrt_crux::Options::new();
    /// ```
    pub fn new() -> Options {
        Options::default()
    }

    /// The order events from different commands reach `update` in.
    ///
    /// ```
    /// let _ = genrt_crux::Options::new().event_order(genrt_crux::EventOrder::Fifo);
    /// ```
    pub fn event_order(mut self, order: EventOrder) -> Options {
        self.event_order = order;
        self
    }

    /// Run on the caller's runtime instead of one of the core's own (default worker count).
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let _ = genrt_crux::Options::new().runtime(rt.handle().clone());
    /// ```
    pub fn runtime(mut self, handle: genrt::Handle) -> Options {
        self.runtime = Some(handle);
        self
    }
}

/// The Crux core, running the app's commands on genrt's workers: a drop-in for
/// `crux_core::Core<A>` (see the [crate docs](crate) for the differences).
///
/// ```
/// use crux_core::{macros::effect, render::RenderOperation, App, Command};
/// #[effect]
/// pub enum Effect {
///     Render(RenderOperation),
/// }
/// #[derive(Default)]
/// struct Counter;
/// impl App for Counter {
///     type Event = i64;
///     type Model = i64;
///     type ViewModel = i64;
///     type Effect = Effect;
///     fn update(&self, by: i64, model: &mut i64) -> Command<Effect, i64> {
///         *model += by;
///         Command::done()
///     }
///     fn view(&self, model: &i64) -> i64 {
///         *model
///     }
/// }
/// let core = genrt_crux::Core::<Counter>::new();
/// assert!(core.process_event(2).is_empty());
/// assert_eq!(core.view(), 2);
/// ```
pub struct Core<A: App> {
    shared: Arc<Shared<A>>,
    /// The runtime the core owns, if any: dropped in the core's `Drop`, after its commands.
    runtime: Option<genrt::Runtime>,
}

impl<A> Core<A>
where
    A: App + Default + Send + Sync + 'static,
    A::Model: Default + Send + 'static,
{
    /// A core over `A::default()` and `A::Model::default()`, on a runtime of its own
    /// (default worker count), dropped with the core.
    ///
    /// # Panics
    ///
    /// If the runtime's threads cannot be started.
    ///
    /// ```
    /// # use crux_core::{App, Command};
    /// # #[derive(Default)] struct Nop;
    /// # impl App for Nop {
    /// #     type Event = (); type Model = (); type ViewModel = (); type Effect = Fx;
    /// #     fn update(&self, _: (), _: &mut ()) -> Command<Fx, ()> { Command::done() }
    /// #     fn view(&self, _: &()) {}
    /// # }
    /// # #[crux_core::macros::effect] pub enum Fx { Render(crux_core::render::RenderOperation) }
    /// let core: genrt_crux::Core<Nop> = genrt_crux::Core::new();
    /// assert!(core.process_event(()).is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Core<A> {
        Core::new_with(A::default(), A::Model::default())
    }

    /// A core over `A::default()` and `A::Model::default()` on the caller's runtime: when
    /// the core drops, its commands are freed and the runtime lives on.
    ///
    /// ```
    /// # use crux_core::{App, Command};
    /// # #[derive(Default)] struct Nop;
    /// # impl App for Nop {
    /// #     type Event = (); type Model = (); type ViewModel = (); type Effect = Fx;
    /// #     fn update(&self, _: (), _: &mut ()) -> Command<Fx, ()> { Command::done() }
    /// #     fn view(&self, _: &()) {}
    /// # }
    /// # #[crux_core::macros::effect] pub enum Fx { Render(crux_core::render::RenderOperation) }
    /// let rt = genrt::Runtime::new().unwrap();
    /// let core: genrt_crux::Core<Nop> = genrt_crux::Core::with_runtime(rt.handle().clone());
    /// assert!(core.process_event(()).is_empty());
    /// ```
    #[must_use]
    pub fn with_runtime(handle: genrt::Handle) -> Core<A> {
        Core::with_runtime_and(handle, A::default(), A::Model::default())
    }
}

impl<A> Core<A>
where
    A: App + Send + Sync + 'static,
    A::Model: Send + 'static,
{
    /// A core over `app` and `model`, on a runtime of its own (default worker count),
    /// dropped with the core.
    ///
    /// # Panics
    ///
    /// If the runtime's threads cannot be started.
    ///
    /// ```
    /// # use crux_core::{App, Command};
    /// # struct Nop;
    /// # impl App for Nop {
    /// #     type Event = (); type Model = u8; type ViewModel = u8; type Effect = Fx;
    /// #     fn update(&self, _: (), _: &mut u8) -> Command<Fx, ()> { Command::done() }
    /// #     fn view(&self, m: &u8) -> u8 { *m }
    /// # }
    /// # #[crux_core::macros::effect] pub enum Fx { Render(crux_core::render::RenderOperation) }
    /// let core = genrt_crux::Core::new_with(Nop, 7);
    /// assert_eq!(core.view(), 7);
    /// ```
    #[must_use]
    pub fn new_with(app: A, model: A::Model) -> Core<A> {
        Core::with_options(app, model, Options::new())
    }

    /// A core over `app` and `model` on the caller's runtime: when the core drops, its
    /// commands are freed and the runtime lives on.
    ///
    /// ```
    /// # use crux_core::{App, Command};
    /// # struct Nop;
    /// # impl App for Nop {
    /// #     type Event = (); type Model = u8; type ViewModel = u8; type Effect = Fx;
    /// #     fn update(&self, _: (), _: &mut u8) -> Command<Fx, ()> { Command::done() }
    /// #     fn view(&self, m: &u8) -> u8 { *m }
    /// # }
    /// # #[crux_core::macros::effect] pub enum Fx { Render(crux_core::render::RenderOperation) }
    /// let rt = genrt::Runtime::new().unwrap();
    /// let core = genrt_crux::Core::with_runtime_and(rt.handle().clone(), Nop, 3);
    /// assert_eq!(core.view(), 3);
    /// ```
    #[must_use]
    pub fn with_runtime_and(handle: genrt::Handle, app: A, model: A::Model) -> Core<A> {
        Core::with_options(app, model, Options::new().runtime(handle))
    }

    /// A core over `app` and `model` built as `options` say (runtime, [`EventOrder`]).
    ///
    /// # Panics
    ///
    /// If `options` has no runtime and the core's own cannot be started; if its runtime is
    /// a current-thread one (`genrt::Builder::new_current_thread`): such a runtime runs
    /// tasks only inside its `block_on`, and `process_event` and `resolve` wait for commands
    /// that run as tasks, so the core would hang. Every constructor with a runtime comes
    /// here.
    ///
    /// ```
    /// # use crux_core::{App, Command};
    /// # struct Nop;
    /// # impl App for Nop {
    /// #     type Event = (); type Model = u8; type ViewModel = u8; type Effect = Fx;
    /// #     fn update(&self, _: (), _: &mut u8) -> Command<Fx, ()> { Command::done() }
    /// #     fn view(&self, m: &u8) -> u8 { *m }
    /// # }
    /// # #[crux_core::macros::effect] pub enum Fx { Render(crux_core::render::RenderOperation) }
    /// use genrt_crux::{Core, EventOrder, Options};
    /// let core = Core::with_options(Nop, 1, Options::new().event_order(EventOrder::Fifo));
    /// assert!(core.process_event(()).is_empty());
    /// ```
    #[must_use]
    pub fn with_options(app: A, model: A::Model, options: Options) -> Core<A> {
        let (runtime, handle) = match options.runtime {
            Some(handle) => {
                if handle.runtime_flavor() == genrt::runtime::RuntimeFlavor::CurrentThread {
                    panic!(
                        "genrt_crux::Core needs a multi-thread genrt runtime: a current-thread \
                         one runs its tasks only inside block_on, so the core's commands would \
                         never run while process_event and resolve wait for them"
                    );
                }
                (None, handle)
            }
            None => {
                let rt = genrt::Runtime::new().unwrap_or_else(|e| {
                    panic!("genrt_crux::Core could not start its runtime: {e}")
                });
                let handle = rt.handle().clone();
                (Some(rt), handle)
            }
        };
        let shared = Arc::new(Shared {
            model: Mutex::new(model),
            app,
            handle,
            settle: Arc::new(Settle::default()),
            outbox: Mutex::new(Vec::new()),
            panics: Mutex::new(VecDeque::new()),
            cells: Mutex::new(Cells::default()),
            root: Mutex::new(None),
            root_dead: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&shared);
        shared.settle.set_core(weak);
        if options.event_order == EventOrder::Fifo {
            shared.settle.defer_outside_wakes();
            shared.start_root();
        }
        Core { shared, runtime }
    }

    /// Runs `update` with `event` on this thread, starts the command it returns (its first
    /// step on this thread, the commands its events start on genrt's workers), and returns
    /// once this core's commands are all suspended or finished, with the effects they
    /// emitted (see the [crate docs](crate) on where commands run, order and concurrency).
    ///
    /// # Panics
    ///
    /// If `update` panics (on this thread); re-raises a panic of one of the core's commands
    /// (see the crate docs, "Panics"); on a genrt worker thread (crate docs, "Blocking").
    ///
    /// ```
    /// # use crux_core::{App, Command};
    /// # #[derive(Default)] struct Nop;
    /// # impl App for Nop {
    /// #     type Event = (); type Model = (); type ViewModel = (); type Effect = Fx;
    /// #     fn update(&self, _: (), _: &mut ()) -> Command<Fx, ()> { Command::done() }
    /// #     fn view(&self, _: &()) {}
    /// # }
    /// # #[crux_core::macros::effect] pub enum Fx { Render(crux_core::render::RenderOperation) }
    /// let core: genrt_crux::Core<Nop> = genrt_crux::Core::new();
    /// assert!(core.process_event(()).is_empty());
    /// ```
    #[track_caller]
    pub fn process_event(&self, event: A::Event) -> Vec<A::Effect> {
        refuse_worker_thread("process_event");
        refuse_reentry(&self.shared.settle, "process_event");
        let command = self.shared.update(event);
        self.shared.start(command);
        self.shared.settle()
    }

    /// Resolves `request` with `result` (from any thread, concurrently with other calls),
    /// steps the command it wakes on this thread, and returns once this core's commands are
    /// all suspended or finished, with the effects they emitted.
    ///
    /// # Errors
    ///
    /// crux's [`ResolveError`] if the request cannot be resolved (a notification, or a
    /// request already resolved); never a panic, in debug builds too.
    ///
    /// # Panics
    ///
    /// Re-raises a panic of one of the core's commands (see the crate docs, "Panics"); on a
    /// genrt worker thread (crate docs, "Blocking").
    ///
    /// ```
    /// # use crux_core::{App, Command, RequestHandle};
    /// # #[derive(Default)] struct Nop;
    /// # impl App for Nop {
    /// #     type Event = (); type Model = (); type ViewModel = (); type Effect = Fx;
    /// #     fn update(&self, _: (), _: &mut ()) -> Command<Fx, ()> { Command::done() }
    /// #     fn view(&self, _: &()) {}
    /// # }
    /// # #[crux_core::macros::effect] pub enum Fx { Render(crux_core::render::RenderOperation) }
    /// let core: genrt_crux::Core<Nop> = genrt_crux::Core::new();
    /// let mut never = RequestHandle::<u8>::Never;
    /// assert!(core.resolve(&mut never, 1).is_err());
    /// ```
    #[track_caller]
    pub fn resolve<Output>(
        &self,
        request: &mut impl Resolvable<Output>,
        result: Output,
    ) -> Result<Vec<A::Effect>, ResolveError> {
        refuse_worker_thread("resolve");
        refuse_reentry(&self.shared.settle, "resolve");
        // The command the resolve wakes is stepped on this thread, as in crux_core.
        // Under `EventOrder::Fifo` that is the root, woken even if the wake did not reach it:
        // a wake from outside any call since its last step took the wakers on the way up (it
        // is left in the root's ready queue), and crux_core's `resolve` runs it all.
        let root = self.shared.root_waker();
        let (resolved, kept) = settle::inline::call(&self.shared.settle, || {
            let resolved = request.resolve(result);
            if let (Ok(()), Some(root)) = (&resolved, root) {
                root.wake();
            }
            resolved
        });
        if let Some(tracker) = kept {
            self.shared.run(&tracker, false);
        }
        resolved?;
        Ok(self.shared.settle())
    }

    /// The app's view of the current model.
    ///
    /// ```
    /// # use crux_core::{App, Command};
    /// # struct Nop;
    /// # impl App for Nop {
    /// #     type Event = (); type Model = u8; type ViewModel = u8; type Effect = Fx;
    /// #     fn update(&self, _: (), _: &mut u8) -> Command<Fx, ()> { Command::done() }
    /// #     fn view(&self, m: &u8) -> u8 { *m }
    /// # }
    /// # #[crux_core::macros::effect] pub enum Fx { Render(crux_core::render::RenderOperation) }
    /// let core = genrt_crux::Core::new_with(Nop, 5);
    /// assert_eq!(core.view(), 5);
    /// ```
    pub fn view(&self) -> A::ViewModel {
        let model = self.shared.model.lock();
        self.shared.app.view(&model)
    }
}

/// crux_core's middleware composes over this core as over its own (`crux_core::Core` is a
/// [`Layer`] too): [`Layer::handle_effects_using`], [`Layer::map_effect`], [`Layer::bridge`].
/// As crux_core's, it returns every effect from the call that settles it and never calls the
/// effect callback; [`Layer::process_tasks`] settles the core's commands (under
/// [`EventOrder::Fifo`], first running what was woken from outside any call, as crux_core's
/// does).
///
/// ```
/// # use crux_core::{App, Command};
/// # #[derive(Default)] struct Nop;
/// # impl App for Nop {
/// #     type Event = (); type Model = (); type ViewModel = (); type Effect = Fx;
/// #     fn update(&self, _: (), _: &mut ()) -> Command<Fx, ()> { Command::done() }
/// #     fn view(&self, _: &()) {}
/// # }
/// # #[crux_core::macros::effect] pub enum Fx { Render(crux_core::render::RenderOperation) }
/// use crux_core::middleware::Layer;
///
/// let core: genrt_crux::Core<Nop> = genrt_crux::Core::new();
/// assert!(Layer::update(&core, (), |_| {}).is_empty());
/// assert!(core.process_tasks(|_| {}).is_empty());
/// ```
impl<A> Layer for Core<A>
where
    A: App + Send + Sync + 'static,
    A::Model: Send + 'static,
{
    type Event = A::Event;
    type Effect = A::Effect;
    type ViewModel = A::ViewModel;

    fn update<F>(&self, event: A::Event, _effect_callback: F) -> Vec<A::Effect>
    where
        F: Fn(Vec<A::Effect>) + Sync + Send + 'static,
    {
        self.process_event(event)
    }

    fn resolve<Output, F>(
        &self,
        request: &mut impl Resolvable<Output>,
        output: Output,
        _effect_callback: F,
    ) -> Result<Vec<A::Effect>, ResolveError>
    where
        F: Fn(Vec<A::Effect>) + Sync + Send + 'static,
    {
        Core::resolve(self, request, output)
    }

    fn process_tasks<F>(&self, _effect_callback: F) -> Vec<A::Effect>
    where
        F: Fn(Vec<A::Effect>) + Sync + Send + 'static,
    {
        refuse_worker_thread("process_tasks");
        refuse_reentry(&self.shared.settle, "process_tasks");
        // Under `EventOrder::Fifo`, what was woken from outside any call runs now, as in
        // crux_core's `process_tasks`.
        let root = self.shared.root_waker();
        if let Some(waker) = root {
            if !self.shared.root_dead.load(Relaxed) {
                self.shared.wake_root(waker);
            }
        }
        self.shared.settle()
    }

    fn view(&self) -> A::ViewModel {
        Core::view(self)
    }
}

impl<A> Default for Core<A>
where
    A: App + Default + Send + Sync + 'static,
    A::Model: Default + Send + 'static,
{
    fn default() -> Core<A> {
        Core::new()
    }
}

impl<A: App> fmt::Debug for Core<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("genrt_crux::Core")
            .field("owns_runtime", &self.runtime.is_some())
            .finish_non_exhaustive()
    }
}

impl<A: App> Drop for Core<A> {
    /// Drops every command of the core before returning (see the crate docs,
    /// "Leak-freedom"), then its own runtime, if it has one.
    fn drop(&mut self) {
        let cells = {
            let mut cells = self.shared.cells.lock();
            cells.closed = true;
            std::mem::take(&mut cells.map)
        };
        for cell in cells.values() {
            // A command holding the last reference dropped the core inside its own step, on
            // this thread: its command goes with its cell, just after that step.
            if !busy::is_stepping(&cell.tracker) {
                // Waits for a step in progress on another thread to end.
                let command = cell.command.lock().take();
                drop_quietly(command);
            }
            cell.tracker.finish();
        }
        drop(cells);
        drop(self.shared.root.lock().take());
        // Requests the shell holds keep the settle (through their trackers): without this,
        // its `Weak` would keep the core's whole allocation, model bytes included.
        self.shared.settle.clear_core();
        if let Some(runtime) = self.runtime.take() {
            drop(runtime);
        }
    }
}

/// What a core's calls, its workers' steps and its commands' wakes share.
pub(crate) struct Shared<A: App> {
    model: Mutex<A::Model>,
    app: A,
    handle: genrt::Handle,
    settle: Arc<Settle>,
    /// Effects emitted and not yet returned by a call.
    outbox: Mutex<Vec<A::Effect>>,
    /// Panics of commands, each re-raised by one settling call.
    panics: Mutex<VecDeque<Box<dyn Any + Send>>>,
    /// The live commands, by their tracker's address.
    cells: Mutex<Cells<A>>,
    /// Under `EventOrder::Fifo`: the root command's context and tracker.
    root: Mutex<Option<Root<A>>>,
    /// Under `EventOrder::Fifo`: the root command panicked and is gone.
    root_dead: AtomicBool,
}

/// The root command of a `Fifo` core: where its commands are spawned, and how it is woken.
struct Root<A: App> {
    context: CommandContext<A::Effect, A::Event>,
    tracker: Arc<Tracker>,
}

/// The live commands of one core.
struct Cells<A: App> {
    /// By [`Tracker::id`], unique while the cell (which holds the tracker) is here.
    map: HashMap<usize, Arc<CommandCell<A>>>,
    /// Set by the core's drop: commands made after it are dropped at once.
    closed: bool,
}

impl<A: App> Cells<A> {
    /// Forgets the cell of tracker `id`. The map gives memory back once it is a quarter full
    /// (to half full): a burst of commands does not keep its peak's table for the core's
    /// life, and a core that stays large pays an amortised constant per removal.
    fn remove(&mut self, id: usize) -> Option<Arc<CommandCell<A>>> {
        let cell = self.map.remove(&id);
        let capacity = self.map.capacity();
        if capacity > MIN_CELLS_CAPACITY && self.map.len() * 4 < capacity {
            self.map.shrink_to(self.map.len() * 2);
        }
        cell
    }
}

/// A core's cell map keeps at least this much room (no shrinking below it).
const MIN_CELLS_CAPACITY: usize = 64;

impl<A: App> Default for Cells<A> {
    fn default() -> Cells<A> {
        Cells {
            map: HashMap::new(),
            closed: false,
        }
    }
}

impl<A> Shared<A>
where
    A: App + Send + Sync + 'static,
    A::Model: Send + 'static,
{
    /// Runs `update` under the model lock.
    fn update(&self, event: A::Event) -> Command<A::Effect, A::Event> {
        let _busy = busy::Guard::update(&self.settle);
        let mut model = self.model.lock();
        self.app.update(event, &mut model)
    }

    /// Starts a command `update` returned on the caller's thread, stepping it here first
    /// (its own cell, or the root it is spawned into).
    fn start(self: &Arc<Self>, command: Command<A::Effect, A::Event>) {
        let root = self.root.lock();
        let Some(root_ref) = root.as_ref() else {
            drop(root);
            if let Some(tracker) = self.new_cell(command, false, RUNNING) {
                self.run(&tracker, true);
            }
            return;
        };
        // Checked and spawned under the root's lock, which the root's end takes to set
        // `root_dead` before it drops the root: spawning into a root whose task queue is
        // already dropped would panic inside crux ("tasks channel disconnected").
        if self.root_dead.load(Relaxed) {
            drop(root);
            // Why the root is gone first (a dead runtime's message), if not told yet.
            let told = self.panics.lock().pop_front();
            if let Some(payload) = told {
                std::panic::resume_unwind(payload);
            }
            panic!(
                "genrt_crux::Core: under EventOrder::Fifo, a command panicked (or the \
                 runtime the core runs on shut down), which ended the root command and \
                 every command of this core; build a new core"
            );
        }
        root_ref.context.spawn(|ctx| command.into_future(ctx));
        let waker = root_ref.tracker.waker();
        drop(root);
        self.wake_root(waker);
    }

    /// The root command of a `Fifo` core is ending (a panic, or its dead runtime): from now
    /// on `start` spawns nothing into it. Called before the root is dropped.
    pub(crate) fn root_ending(&self) {
        let _root = self.root.lock();
        self.root_dead.store(true, Relaxed);
    }

    /// The root command's waker under `EventOrder::Fifo` (`None` otherwise, or once it is
    /// gone).
    fn root_waker(&self) -> Option<std::task::Waker> {
        self.root.lock().as_ref().map(|root| root.tracker.waker())
    }

    /// Under `EventOrder::Fifo`, steps the root on this thread (or leaves it to the thread
    /// stepping it): what was woken from outside any call since its last step runs now, in
    /// the root's ready queue order, as in crux_core's `process`.
    fn wake_root(self: &Arc<Self>, waker: std::task::Waker) {
        let ((), kept) = settle::inline::call(&self.settle, || waker.wake());
        if let Some(tracker) = kept {
            self.run(&tracker, false);
        }
    }

    /// An event a command emitted, on the thread stepping it.
    fn event_from_command(self: &Arc<Self>, event: A::Event, from_root: bool) {
        let command = self.update(event);
        if from_root {
            // Into the root whose step is running: its next `poll_next` runs it, after
            // the events already queued, as crux_core's `process` does.
            let root = self.root.lock();
            if let Some(root) = &*root {
                root.context.spawn(|ctx| command.into_future(ctx));
            }
        } else if let Some(tracker) = self.new_cell(command, false, NOTIFIED) {
            // The first such command steps on this thread after this step; any other on a
            // worker, in parallel with this one.
            if let Some(tracker) = settle::next::offer(tracker) {
                self.dispatch(tracker);
            }
        }
    }

    /// Creates the root command of a `Fifo` core and steps it once.
    fn start_root(self: &Arc<Self>) {
        let mut context = None;
        let root = Command::new(|ctx| {
            context = Some(ctx);
            std::future::ready(())
        });
        let tracker = self
            .new_cell(root, true, RUNNING)
            .expect("a new core is open");
        *self.root.lock() = Some(Root {
            context: context.expect("Command::new calls its closure"),
            tracker: tracker.clone(),
        });
        self.run(&tracker, true);
    }

    /// Puts `command` in a new cell, counted in the settle from now on (`state`: `RUNNING`
    /// if the caller steps it now, `NOTIFIED` if it dispatches it). `None` if the core is
    /// dropping (the command is dropped).
    fn new_cell(
        self: &Arc<Self>,
        command: Command<A::Effect, A::Event>,
        root: bool,
        state: u8,
    ) -> Option<Arc<Tracker>> {
        let tracker = Tracker::new(self.settle.clone(), state);
        let cell = Arc::new(CommandCell {
            command: Mutex::new(Some(command)),
            waker: tracker.waker(),
            tracker: tracker.clone(),
            root,
        });
        let mut cells = self.cells.lock();
        if cells.closed {
            drop(cells);
            tracker.finish();
            drop_quietly(cell);
            return None;
        }
        cells.map.insert(tracker.id(), cell);
        Some(tracker)
    }

    /// The cell of `tracker`'s command, if it is still live.
    fn cell(&self, tracker: &Arc<Tracker>) -> Option<Arc<CommandCell<A>>> {
        self.cells.lock().map.get(&tracker.id()).cloned()
    }

    /// A step task was dropped unrun: the runtime shut down under a live core. The command
    /// is dropped and uncounted, and the next settling call panics saying so.
    fn runtime_gone(&self, tracker: &Arc<Tracker>) {
        // Not `if let Some(cell) = self.cells.lock()...`: the guard would live through the
        // block, and the command's drop can wake another command of this core, whose step
        // task the dead runtime drops at once (handled after this one, `settle::dropped`).
        let cell = self.cells.lock().remove(tracker.id());
        if cell.as_ref().is_some_and(|cell| cell.root) {
            // Every command of a `Fifo` core goes with its root.
            self.root_ending();
        }
        if !self.cells.lock().closed {
            let message = "genrt_crux::Core: the genrt runtime this core runs on has shut down \
                           (a command woken on it was dropped); drop the core before its runtime, \
                           or give it a runtime of its own (Core::new)";
            self.panics.lock().push_back(Box::new(message));
        }
        // Uncounted (after the message, which a call settling at once must see) before its
        // command drops: that drop may call this core (a `Drop` calling `process_event`),
        // and the call must not wait for the very command being dropped.
        tracker.finish();
        if let Some(cell) = cell {
            let command = cell.command.lock().take();
            drop_quietly(command);
        }
    }

    /// Forgets an ended command's cell.
    fn remove_cell(&self, tracker: &Arc<Tracker>) {
        let cell = self.cells.lock().remove(tracker.id());
        drop(cell);
    }

    /// Waits for the settle; re-raises a recorded panic or returns the outbox.
    fn settle(&self) -> Vec<A::Effect> {
        settle::dropped::drain();
        self.settle.wait();
        let panic = self.panics.lock().pop_front();
        if let Some(payload) = panic {
            std::panic::resume_unwind(payload);
        }
        std::mem::take(&mut *self.outbox.lock())
    }
}

impl<A: App> Shared<A> {
    /// Moves `effects` to the outbox.
    fn deliver(&self, effects: &mut Vec<A::Effect>) {
        if !effects.is_empty() {
            self.outbox.lock().append(effects);
        }
    }

    /// Records a command's panic for the next settling call.
    fn command_panicked(&self, payload: Box<dyn Any + Send>, root: bool) {
        if root {
            self.root_dead.store(true, Relaxed);
        }
        self.panics.lock().push_back(payload);
    }
}

impl<A> Dispatch for Shared<A>
where
    A: App + Send + Sync + 'static,
    A::Model: Send + 'static,
{
    /// A step task on the core's runtime. It holds only the tracker, not the core: one still
    /// queued when the core drops (a worker was busy) must not keep the model, the app and
    /// the outbox alive on the caller's runtime after the drop.
    fn dispatch(&self, tracker: Arc<Tracker>) {
        drop(self.handle.spawn(StepTask::new(tracker)));
    }

    fn step_on_worker(self: Arc<Self>, tracker: &Arc<Tracker>) {
        self.run(tracker, false);
    }

    fn step_dropped(self: Arc<Self>, tracker: &Arc<Tracker>) {
        self.runtime_gone(tracker);
    }
}

/// Panics if the caller is inside one of this core's steps or `update`s on this thread
/// (crate docs, "Blocking"): the call would wait for the core to settle, its caller among
/// the commands it waits for.
#[track_caller]
fn refuse_reentry(settle: &Arc<Settle>, call: &str) {
    if busy::is_busy(settle) {
        panic!(
            "genrt_crux::Core::{call} called from inside one of this core's commands (or an \
             update it runs): it waits until the core's commands settle, the calling one among \
             them, so it would never return; send an event from the command instead"
        );
    }
}

/// Panics if the caller is on a genrt worker thread (crate docs, "Blocking").
#[track_caller]
fn refuse_worker_thread(call: &str) {
    if genrt::on_worker_thread() {
        panic!(
            "genrt_crux::Core::{call} called on a genrt worker thread: it blocks until the \
             core settles, which would stall the worker (and can deadlock); call it from a \
             shell thread or from genrt::spawn_blocking"
        );
    }
}
