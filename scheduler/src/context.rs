//! The thread-local runtime context: which runtime this thread belongs to, and, on a worker
//! thread, that worker's local queues.

use std::cell::RefCell;
use std::rc::Rc;

use crate::loom::sync::Arc;
use crate::shared::Shared;
use crate::worker::Local;

struct Context {
    shared: Arc<Shared>,
    /// `Some` on a worker thread of `shared`.
    worker: Option<Rc<Local>>,
}

crate::loom::thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Leaves the context when dropped, putting back the one it replaced.
#[must_use = "the context is left when the guard is dropped"]
pub(crate) struct ContextGuard {
    previous: Option<Context>,
    _not_send: std::marker::PhantomData<Rc<()>>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CONTEXT.try_with(|c| *c.borrow_mut() = previous);
    }
}

/// What kind of runtime context, if any, the current thread is in.
pub(crate) enum Current {
    None,
    BlockOn,
    Worker,
}

pub(crate) fn current_kind() -> Current {
    CONTEXT
        .try_with(|c| match &*c.borrow() {
            None => Current::None,
            Some(Context { worker: None, .. }) => Current::BlockOn,
            Some(Context {
                worker: Some(_), ..
            }) => Current::Worker,
        })
        .unwrap_or(Current::None)
}

/// Enters `shared`'s context on this thread until the guard is dropped. Workers and
/// `block_on` check first that the thread is in no context; shutdown enters its runtime's
/// context over whatever the thread is in (see [`enter_for_shutdown`]).
pub(crate) fn enter(shared: Arc<Shared>, worker: Option<Rc<Local>>) -> ContextGuard {
    let previous = CONTEXT.with(|c| c.borrow_mut().replace(Context { shared, worker }));
    ContextGuard {
        previous,
        _not_send: std::marker::PhantomData,
    }
}

/// Makes `shared` the current runtime while shutdown drops its tasks' futures, so that
/// cleanup code in a `Drop` finds it with `Handle::current` (a spawn there is cancelled at
/// once: the runtime is closed). `None` if the thread is already in `shared`'s context (a
/// worker dropping its own runtime) or its thread-locals are gone (thread exit).
pub(crate) fn enter_for_shutdown(shared: &Arc<Shared>) -> Option<ContextGuard> {
    let inside = CONTEXT
        .try_with(|c| {
            c.borrow()
                .as_ref()
                .is_some_and(|c| Arc::ptr_eq(&c.shared, shared))
        })
        .ok()?;
    (!inside).then(|| enter(shared.clone(), None))
}

/// The runtime this thread is in, if any.
pub(crate) fn current() -> Option<Arc<Shared>> {
    CONTEXT
        .try_with(|c| c.borrow().as_ref().map(|c| c.shared.clone()))
        .ok()
        .flatten()
}

/// The worker-local state if this thread is a worker of `shared`.
pub(crate) fn local_worker(shared: &Shared) -> Option<Rc<Local>> {
    CONTEXT
        .try_with(|c| match &*c.borrow() {
            Some(Context {
                shared: s,
                worker: Some(local),
            }) if std::ptr::eq(Arc::as_ptr(s), shared) => Some(local.clone()),
            _ => None,
        })
        .ok()
        .flatten()
}
