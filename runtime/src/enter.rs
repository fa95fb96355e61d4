//! [`EnterGuard`], returned by [`Runtime::enter`](crate::Runtime::enter) and
//! [`Handle::enter`](crate::Handle::enter).
//!
//! Entering only makes a runtime the thread's current one, in the one thread context that
//! `genrt-waker` keeps (see `genrt_scheduler`'s `context` module): nothing runs on the
//! thread because of it. Contexts nest: a guard puts back, when dropped, the context it
//! covered, so guards must be dropped in the reverse order of their creation; one dropped out
//! of order panics (unless the thread is already panicking), as Tokio's does.

use std::fmt;
use std::marker::PhantomData;

/// The thread is inside a runtime's context while this guard lives: [`genrt::spawn`] and
/// [`Handle::current`](crate::Handle::current) find that runtime (as the current runtime). Not
/// `Send`: the context belongs to the thread that entered it.
///
/// Dropping it puts back the context it replaced, if any.
///
/// # Panics
///
/// When dropped while a guard created after it is still alive (guards dropped out of order).
///
/// [`genrt::spawn`]: crate::spawn
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let guard: genrt::EnterGuard<'_> = rt.enter();
/// let join = genrt::spawn(async { 2 });
/// drop(guard);
/// assert!(genrt::Handle::try_current().is_err());
/// assert_eq!(rt.block_on(join).unwrap(), 2);
/// ```
#[must_use = "the runtime is left as soon as the guard is dropped"]
pub struct EnterGuard<'a> {
    _inner: genrt_scheduler::EnterGuard,
    /// Borrows the runtime or handle entered; `*const ()` keeps the guard `!Send + !Sync`.
    _marker: PhantomData<(&'a (), *const ())>,
}

impl EnterGuard<'_> {
    pub(crate) fn new(inner: genrt_scheduler::EnterGuard) -> Self {
        EnterGuard {
            _inner: inner,
            _marker: PhantomData,
        }
    }
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}
