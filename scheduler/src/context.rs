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

/// Leaves the context when dropped.
#[must_use = "the context is left when the guard is dropped"]
pub(crate) struct ContextGuard {
    _not_send: std::marker::PhantomData<Rc<()>>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|c| c.borrow_mut().take());
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

/// Enters `shared`'s context on this thread. The caller has checked that the thread is in
/// no context yet.
pub(crate) fn enter(shared: Arc<Shared>, worker: Option<Rc<Local>>) -> ContextGuard {
    CONTEXT.with(|c| {
        let mut c = c.borrow_mut();
        debug_assert!(c.is_none(), "nested runtime context");
        *c = Some(Context { shared, worker });
    });
    ContextGuard {
        _not_send: std::marker::PhantomData,
    }
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
