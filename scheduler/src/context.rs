//! The thread's runtime context: which runtime this thread belongs to, and, on a worker
//! thread, that worker's local queues.
//!
//! There is one such thread-local in the process, `genrt-waker`'s (see its `registry`
//! module, "The thread context"): entering a runtime's context there makes the thread's wakes
//! for that runtime skip the registry, and stores this module's [`Context`] beside it, as an
//! opaque `Rc<dyn Any>` that only this module can name and downcast. Entering needs the
//! runtime's `WakeContext`, which only the runtime's own `Shared` holds.

use std::any::Any;
use std::rc::{Rc, Weak};

use genrt_waker::registry::{self, WakeContextGuard, WakeTarget};

use crate::loom::sync::Arc;
use crate::loom::unsize_arc;
use crate::shared::Shared;
use crate::worker::Local;

/// What this crate keeps in the thread's runtime context.
struct Context {
    shared: Arc<Shared>,
    /// `Some` on a worker thread of `shared` (also inside an `enter` of `shared` there).
    /// Weak: the worker's loop (a thread's `run`, a driver's `drive`) owns the `Local`, so
    /// that a context kept past the loop (by a leaked `EnterGuard` made inside a task, whose
    /// guard holds the context it covers) keeps no worker: a driver can always put its
    /// worker back, and the leaked context, should it be current again, finds none.
    worker: Option<Weak<Local>>,
    /// The runtime and worker this thread is a worker of (its run loop's, held weakly as
    /// `worker`), whatever runtime is entered since: Tokio's scheduler context, which an
    /// `enter` guard of another runtime does not change. `block_in_place` hands this worker
    /// over. `None` on any thread but a multi-thread worker's (and while it blocks).
    home: Option<(Arc<Shared>, Weak<Local>)>,
    /// The thread facts that every nested context inherits from the one it covers.
    flags: Flags,
}

/// Facts about the thread that outlive a nested `enter`: a worker that enters another
/// runtime is still a worker, and a thread inside `block_on` is still blocking there.
#[derive(Clone, Copy, Default)]
pub(crate) struct Flags {
    /// The `Shared` (as an address, only compared) whose worker this thread is, if any.
    worker_of: Option<usize>,
    /// Whether the thread is inside `block_on` (of any runtime).
    in_block_on: bool,
    /// Whether the thread is inside `block_on` of a driven (current-thread) runtime, also
    /// while another thread drives it (then this one polls only its future, and is no
    /// worker).
    in_driven_block_on: bool,
    /// The `Shared` (as an address, only compared) whose registration a context of this
    /// thread holds (`Shared::hold_registration`, taken by the `enter` or `block_on` guard
    /// that entered it): entering that runtime again inside needs no hold of its own.
    holds: Option<usize>,
    /// The `Shared` (as an address, only compared) for whose blocked worker this thread
    /// stands in, running its queued tasks (`Handle::enter_stand_in`), if any.
    stands_in_for: Option<usize>,
    /// The `Shared` (as an address, only compared) whose worker this thread is while it
    /// blocks in place (`Handle::begin_blocking`), if any.
    blocks_in_place_for: Option<usize>,
    /// Whether this thread is inside a `block_in_place` closure of a task it was polling (as
    /// a worker or a stand-in), whose poll still counts for `settle`.
    in_place: bool,
    /// Whether this thread drives a driven (current-thread) runtime, running its tasks (in
    /// `block_on` or `settle`): its worker context and every context nested there.
    drives: bool,
    /// Whether this is a driver's root context ([`Entry::Root`]) or one nested in it: the
    /// `block_on` future's spawns go to the back of the driver's deque, in spawn order, as
    /// in Tokio's current-thread queue.
    in_root: bool,
    /// How many contexts are entered on this thread, this one included: an `EnterGuard`
    /// checks on drop that it leaves the innermost one.
    pub(crate) depth: usize,
}

impl Flags {
    /// Whether this thread is a worker thread of any genrt runtime.
    pub(crate) fn on_worker(&self) -> bool {
        self.worker_of.is_some()
    }

    pub(crate) fn in_block_on(&self) -> bool {
        self.in_block_on
    }

    /// Whether the thread is inside `block_on` of a driven (current-thread) runtime, whether
    /// it drives that runtime now or not.
    pub(crate) fn in_driven_block_on(&self) -> bool {
        self.in_driven_block_on
    }

    /// Whether this thread stands in for a blocked worker of any genrt runtime (it polls
    /// tasks there, counted as present for `settle`).
    pub(crate) fn stands_in(&self) -> bool {
        self.stands_in_for.is_some()
    }

    /// Whether this thread runs a `block_in_place` closure of a task it was polling (as a
    /// worker or a stand-in): that poll still counts for `settle`.
    pub(crate) fn in_place(&self) -> bool {
        self.in_place
    }

    /// Whether this thread is inside a driven (current-thread) runtime's `block_on` (its
    /// future, or the tasks it runs) or drives one in `settle`: a thread whose own code is
    /// what runs that runtime's work, wherever it entered since.
    pub(crate) fn in_driven_runtime(&self) -> bool {
        self.in_driven_block_on || self.drives
    }

    /// Whether a context of this thread holds `shared`'s registration.
    pub(crate) fn holds(&self, shared: &Shared) -> bool {
        self.holds == Some(shared as *const Shared as usize)
    }
}

/// How a context is entered.
pub(crate) enum Entry {
    /// A worker's run loop, for its whole life.
    Worker(Rc<Local>),
    /// `block_on`: the caller checked that the thread is neither a worker nor blocking.
    BlockOn,
    /// `Handle::enter` or shutdown: only makes the runtime current. Entering the runtime the
    /// thread is a worker of keeps the worker's queues.
    Enter,
    /// A worker about to block (`Handle::begin_blocking`), or a stand-in whose task does:
    /// the runtime stays current, but the thread is no worker (or stand-in) inside (no
    /// queues of its own: spawns and wakes go to the injector, and `block_on` is allowed),
    /// until it leaves.
    Blocking,
    /// A thread standing in for a blocked worker (`Handle::enter_stand_in`): no queues of
    /// its own, but a task it polls that blocks in place gets a stand-in in turn.
    StandIn,
    /// A `block_in_place` closure on a multi-thread runtime's `block_on` thread (not a
    /// worker): the runtime stays current, but the thread is no longer inside `block_on`
    /// until it leaves, as Tokio's `block_in_place` leaves the runtime there
    /// (`exit_runtime`), so that the closure may `block_on` again.
    LeaveBlockOn,
    /// A driver's root context (`worker::drive`): entered over the chain its `block_on`
    /// future is polled in, for the drive. It gives the future's spawns and wakes the
    /// driver's queues (held weakly: a guard the future keeps past the drive keeps no
    /// worker) and nothing else: it is no worker context (the future is no task), and it
    /// takes the depth of the context it covers, so that the `enter` guards of the future,
    /// made before the drive or in it, nest as if it were not there.
    Root(Rc<Local>),
}

/// Leaves the context when dropped, putting back the one it replaced.
#[must_use = "the context is left when the guard is dropped"]
pub(crate) struct ContextGuard {
    entered: WakeContextGuard,
    /// The context this guard entered: kept alive, so its address is never another's.
    context: Rc<Context>,
}

impl ContextGuard {
    /// Leaves without putting back the covered context (see `WakeContextGuard::discard`).
    pub(crate) fn discard(self) {
        self.entered.discard();
    }

    /// Whether the context this guard entered is the thread's innermost one now.
    pub(crate) fn is_current(&self) -> bool {
        with(|c| c.is_some_and(|c| std::ptr::eq(c, &*self.context))).unwrap_or(false)
    }
}

/// Calls `f` with this crate's context of the current thread, if it is in one; `None` if the
/// thread-locals are gone.
fn with<R>(f: impl FnOnce(Option<&Context>) -> R) -> Option<R> {
    registry::current_context(|context| f(context.and_then(|c| c.downcast_ref::<Context>())))
}

/// Whether this thread's thread-locals are already destroyed (it is exiting), so that no
/// runtime context can be found on it any more.
pub(crate) fn destroyed() -> bool {
    with(|_| ()).is_none()
}

/// The current thread's [`Flags`] (all clear outside any context).
pub(crate) fn flags() -> Flags {
    with(|c| c.map(|c| c.flags)).flatten().unwrap_or_default()
}

/// Enters `shared`'s context on this thread until the guard is dropped: `current` finds it,
/// and wakes for it skip the registry. Workers and `block_on` check first that the thread is
/// in no conflicting context; `Handle::enter` and shutdown enter over whatever the thread is
/// in (see [`enter_for_shutdown`]). `holds`: the caller took a hold on `shared`'s
/// registration for this context, which the nested contexts inherit.
pub(crate) fn enter(shared: Arc<Shared>, entry: Entry, holds: bool) -> ContextGuard {
    let (outer, outer_worker, mut home) = with(|c| match c {
        Some(c) if Arc::ptr_eq(&c.shared, &shared) => (c.flags, c.worker.clone(), c.home.clone()),
        Some(c) => (c.flags, None, c.home.clone()),
        None => (Flags::default(), None, None),
    })
    .unwrap_or_default();
    let mut flags = Flags {
        depth: match entry {
            Entry::Root(_) => outer.depth,
            _ => outer.depth + 1,
        },
        ..outer
    };
    if holds {
        flags.holds = Some(Arc::as_ptr(&shared) as usize);
    }
    let worker = match entry {
        Entry::Worker(local) => {
            flags.worker_of = Some(Arc::as_ptr(&shared) as usize);
            flags.in_root = false;
            // A driven runtime's worker is no home: its driver cannot hand it over.
            home = shared
                .driver
                .is_none()
                .then(|| (shared.clone(), Rc::downgrade(&local)));
            flags.drives |= shared.driver.is_some();
            Some(Rc::downgrade(&local))
        }
        Entry::BlockOn => {
            flags.in_block_on = true;
            flags.in_driven_block_on |= shared.driver.is_some();
            None
        }
        Entry::Enter => outer_worker,
        Entry::LeaveBlockOn => {
            flags.in_block_on = false;
            None
        }
        Entry::Blocking => {
            if flags.worker_of == Some(Arc::as_ptr(&shared) as usize) {
                flags.blocks_in_place_for = flags.worker_of;
            }
            flags.worker_of = None;
            flags.stands_in_for = None;
            flags.in_place = true;
            home = None;
            None
        }
        Entry::StandIn => {
            flags.stands_in_for = Some(Arc::as_ptr(&shared) as usize);
            home = None;
            None
        }
        Entry::Root(local) => {
            flags.in_root = true;
            Some(Rc::downgrade(&local))
        }
    };
    let target = unsize_arc!(shared.clone() => dyn WakeTarget);
    let context = Rc::new(Context {
        shared: shared.clone(),
        worker,
        home,
        flags,
    });
    let entered = shared.wake_context().enter(target, context.clone());
    ContextGuard { entered, context }
}

/// The thread's chain of contexts set aside while a driver runs a current-thread runtime's
/// tasks: the chain its `block_on` future is polled in (see `worker::drive`).
pub(crate) use genrt_waker::registry::SavedContexts;

/// Makes `shared` the current runtime while shutdown drops its tasks' futures, so that
/// cleanup code in a `Drop` finds it with `Handle::current` (a spawn there is cancelled at
/// once: the runtime is closed). `None` if the thread is already in `shared`'s context (a
/// worker dropping its own runtime) or its thread-locals are gone (thread exit).
pub(crate) fn enter_for_shutdown(shared: &Arc<Shared>) -> Option<ContextGuard> {
    let inside = with(|c| c.is_some_and(|c| Arc::ptr_eq(&c.shared, shared)))?;
    (!inside).then(|| enter(shared.clone(), Entry::Enter, false))
}

/// Calls `f` with the runtime this thread is in, without cloning its `Arc`; `None` outside
/// any runtime.
pub(crate) fn with_shared<R>(f: impl FnOnce(&Shared) -> R) -> Option<R> {
    with(|c| c.map(|c| f(&c.shared))).flatten()
}

/// The runtime this thread is in, if any.
pub(crate) fn current() -> Option<Arc<Shared>> {
    with(|c| c.map(|c| c.shared.clone())).flatten()
}

/// Whether this thread is a worker thread of `shared`, even inside an `enter` of another
/// runtime.
pub(crate) fn is_worker_of(shared: &Shared) -> bool {
    flags().worker_of == Some(shared as *const Shared as usize)
}

/// Whether this thread stands in for a blocked worker of `shared` (`Entry::StandIn`), and
/// has not blocked in place since.
pub(crate) fn stands_in_for(shared: &Shared) -> bool {
    flags().stands_in_for == Some(shared as *const Shared as usize)
}

/// Whether this thread is a worker of `shared` blocking in place (`Entry::Blocking`).
pub(crate) fn blocks_in_place_for(shared: &Shared) -> bool {
    flags().blocks_in_place_for == Some(shared as *const Shared as usize)
}

/// Where a spawn on `shared` from this thread goes: the worker-local state if this thread is
/// a worker of `shared` (or polls a driver's root, [`Entry::Root`]), and whether it is that
/// root (whose spawns go to the back of the deque, in spawn order).
pub(crate) fn spawn_target(shared: &Shared) -> Option<(Rc<Local>, bool)> {
    with(|c| {
        let c = c?;
        let local = worker_in(Some(c as &dyn Any), shared)?;
        Some((local, c.flags.in_root))
    })
    .flatten()
}

/// The index of the worker whose queues this thread's innermost context holds (a worker
/// thread, a driver, a driver's root), if any; else, inside an `enter` of another runtime
/// on a multi-thread worker, that worker's (its `home`: Tokio's scheduler context, which
/// such a guard does not change).
pub(crate) fn worker_index() -> Option<usize> {
    with(|c| {
        let c = c?;
        match worker_or_home(c) {
            Some(local) => Some(local.index()),
            // A driver (its tasks, or its root) inside an `enter` guard of another runtime:
            // still worker 0 of the runtime it drives, as Tokio's scheduler context.
            None if c.flags.drives || c.flags.in_root => Some(0),
            None => None,
        }
    })
    .flatten()
}

/// Marks the poll in progress on this thread's worker (the innermost context's, else its
/// `home`) as a yield: a wake of the task during this poll sends it to the worker's deferred
/// list, not to its deque (`worker.rs`, "Where a key goes"). Does nothing elsewhere.
pub(crate) fn mark_yield() {
    with(|c| {
        if let Some(local) = c.and_then(worker_or_home) {
            local.mark_yield();
        }
    });
}

/// The worker whose queues `c` holds, else (inside an `enter` of another runtime on a
/// multi-thread worker) its `home` worker.
fn worker_or_home(c: &Context) -> Option<Rc<Local>> {
    c.worker
        .as_ref()
        .and_then(Weak::upgrade)
        .or_else(|| c.home.as_ref()?.1.upgrade())
}

/// The worker-local state if this thread's innermost context holds `shared`'s worker (a
/// worker thread, a driver, a driver's root).
pub(crate) fn local_worker(shared: &Shared) -> Option<Rc<Local>> {
    with(|c| worker_in(c.map(|c| c as &dyn Any), shared)).flatten()
}

/// The worker-local state if this thread is a worker of `shared` (a multi-thread runtime),
/// also inside an `enter` of another runtime there (see `Context::home`).
pub(crate) fn home_worker(shared: &Shared) -> Option<Rc<Local>> {
    with(|c| match &c?.home {
        Some((home, local)) if std::ptr::eq(Arc::as_ptr(home), shared) => local.upgrade(),
        _ => None,
    })
    .flatten()
}

/// The multi-thread runtime this thread is a worker of, whatever runtime is entered since
/// (see `Context::home`).
pub(crate) fn home() -> Option<Arc<Shared>> {
    with(|c| Some(c?.home.as_ref()?.0.clone())).flatten()
}

/// The worker-local state in `context`, the per-thread context a wake carries (see
/// `WakeTarget::wake`), if it is a worker of `shared` whose loop still runs.
pub(crate) fn worker_in(context: Option<&dyn Any>, shared: &Shared) -> Option<Rc<Local>> {
    match context?.downcast_ref::<Context>()? {
        Context {
            shared: s,
            worker: Some(local),
            ..
        } if std::ptr::eq(Arc::as_ptr(s), shared) => local.upgrade(),
        _ => None,
    }
}
