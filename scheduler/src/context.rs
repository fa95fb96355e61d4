//! The thread's runtime context: which runtime this thread belongs to, and, on a worker
//! thread, that worker's local queues.
//!
//! There is one such thread-local in the process, `genrt-waker`'s (see its `registry`
//! module, "The thread context"): entering a runtime's context there makes the thread's wakes
//! for that runtime skip the registry, and stores this module's [`Context`] beside it, as an
//! opaque `Rc<dyn Any>` that only this module can name and downcast. Entering needs the
//! runtime's `WakeContext`, which only the runtime's own `Shared` holds.

use std::any::Any;
use std::rc::Rc;

use genrt_waker::registry::{self, WakeContextGuard, WakeTarget};

use crate::loom::sync::Arc;
use crate::loom::unsize_arc;
use crate::shared::Shared;
use crate::worker::Local;

/// What this crate keeps in the thread's runtime context.
struct Context {
    shared: Arc<Shared>,
    /// `Some` on a worker thread of `shared`.
    worker: Option<Rc<Local>>,
}

/// Leaves the context when dropped, putting back the one it replaced.
#[must_use = "the context is left when the guard is dropped"]
pub(crate) struct ContextGuard {
    _entered: WakeContextGuard,
}

/// Calls `f` with this crate's context of the current thread, if it is in one; `None` if the
/// thread-locals are gone.
fn with<R>(f: impl FnOnce(Option<&Context>) -> R) -> Option<R> {
    registry::current_context(|context| f(context.and_then(|c| c.downcast_ref::<Context>())))
}

/// What kind of runtime context, if any, the current thread is in.
pub(crate) enum Current {
    None,
    BlockOn,
    Worker,
}

pub(crate) fn current_kind() -> Current {
    with(|c| match c {
        None => Current::None,
        Some(Context { worker: None, .. }) => Current::BlockOn,
        Some(Context {
            worker: Some(_), ..
        }) => Current::Worker,
    })
    .unwrap_or(Current::None)
}

/// Enters `shared`'s context on this thread until the guard is dropped: `current` finds it,
/// and wakes for it skip the registry. Workers and `block_on` check first that the thread is
/// in no context; shutdown enters its runtime's context over whatever the thread is in (see
/// [`enter_for_shutdown`]).
pub(crate) fn enter(shared: Arc<Shared>, worker: Option<Rc<Local>>) -> ContextGuard {
    let target = unsize_arc!(shared.clone() => dyn WakeTarget);
    let entered = shared.wake_context().enter(
        target,
        Rc::new(Context {
            shared: shared.clone(),
            worker,
        }),
    );
    ContextGuard { _entered: entered }
}

/// Makes `shared` the current runtime while shutdown drops its tasks' futures, so that
/// cleanup code in a `Drop` finds it with `Handle::current` (a spawn there is cancelled at
/// once: the runtime is closed). `None` if the thread is already in `shared`'s context (a
/// worker dropping its own runtime) or its thread-locals are gone (thread exit).
pub(crate) fn enter_for_shutdown(shared: &Arc<Shared>) -> Option<ContextGuard> {
    let inside = with(|c| c.is_some_and(|c| Arc::ptr_eq(&c.shared, shared)))?;
    (!inside).then(|| enter(shared.clone(), None))
}

/// The runtime this thread is in, if any.
pub(crate) fn current() -> Option<Arc<Shared>> {
    with(|c| c.map(|c| c.shared.clone())).flatten()
}

/// The worker-local state if this thread is a worker of `shared`.
pub(crate) fn local_worker(shared: &Shared) -> Option<Rc<Local>> {
    with(|c| worker_in(c.map(|c| c as &dyn Any), shared).cloned()).flatten()
}

/// The worker-local state in `context`, the per-thread context a wake carries (see
/// `WakeTarget::wake`), if it is a worker of `shared`.
pub(crate) fn worker_in<'a>(
    context: Option<&'a dyn Any>,
    shared: &Shared,
) -> Option<&'a Rc<Local>> {
    match context?.downcast_ref::<Context>()? {
        Context {
            shared: s,
            worker: Some(local),
        } if std::ptr::eq(Arc::as_ptr(s), shared) => Some(local),
        _ => None,
    }
}
