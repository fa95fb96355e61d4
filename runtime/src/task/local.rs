//! Task-local storage: [`task_local!`](crate::task_local), [`LocalKey`] and
//! [`TaskLocalFuture`], with the meaning of Tokio's.
//!
//! A task-local value belongs to a future, not to a thread: [`LocalKey::scope`] wraps a
//! future, and each time the wrapper is polled (on whichever worker) it moves the value into
//! a thread-local for the length of the poll and takes it back afterwards. The wrapped
//! future's drop runs inside the scope too, so a `Drop` that reads the value works when the
//! task is cancelled. Nothing here knows about the runtime: it works under any executor.
//!
//! The thread-local is a `RefCell<Option<T>>` per key, so no `unsafe` is needed; the wrapped
//! future is boxed to be polled through a safe pin (one allocation per `scope`).

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Declares task-local keys: `static NAME: Type;`, one or more, each a [`LocalKey`].
///
/// ```
/// genrt::task_local! {
///     static REQUEST_ID: u64;
///     pub static USER: String;
/// }
///
/// let rt = genrt::Runtime::new().unwrap();
/// let id = rt.block_on(rt.spawn(REQUEST_ID.scope(7, async {
///     genrt::yield_now().await;
///     REQUEST_ID.get()
/// })));
/// assert_eq!(id.unwrap(), 7);
/// assert!(REQUEST_ID.try_with(|id| *id).is_err(), "not set outside its scope");
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
    };
}

/// One key of [`task_local!`]: not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_key {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static SLOT: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task::LocalKey { slot: SLOT }
        };
    };
}

/// A task-local key, declared with [`task_local!`](crate::task_local). Its value is set for
/// the length of a [`scope`](LocalKey::scope) (a future) or a
/// [`sync_scope`](LocalKey::sync_scope) (a closure) and read with
/// [`with`](LocalKey::with), [`try_with`](LocalKey::try_with) or [`get`](LocalKey::get).
///
/// ```
/// genrt::task_local! { static DEPTH: u32; }
///
/// let inner = DEPTH.sync_scope(1, || DEPTH.sync_scope(2, || DEPTH.get()));
/// assert_eq!(inner, 2);
/// ```
pub struct LocalKey<T: 'static> {
    /// The thread-local the value lives in while a scope of it runs on this thread.
    #[doc(hidden)]
    pub slot: std::thread::LocalKey<RefCell<Option<T>>>,
}

impl<T: 'static> LocalKey<T> {
    /// Wraps `future` so that this key is `value` whenever the future is polled or dropped.
    /// The value is the wrapper's, whichever thread polls it; it is dropped with the wrapper
    /// (or taken back with [`TaskLocalFuture::take_value`]).
    ///
    /// ```
    /// genrt::task_local! { static NAME: &'static str; }
    ///
    /// let rt = genrt::Runtime::new().unwrap();
    /// let name = rt.block_on(NAME.scope("outer", async {
    ///     let inner = genrt::spawn(NAME.scope("inner", async { NAME.get() }));
    ///     (NAME.get(), inner.await.unwrap())
    /// }));
    /// assert_eq!(name, ("outer", "inner"));
    /// ```
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            value: Some(value),
            future: Some(Box::pin(future)),
        }
    }

    /// Runs `f` with this key set to `value`, then drops the value.
    ///
    /// # Panics
    ///
    /// If called inside [`with`](LocalKey::with) of the same key, or while the thread's
    /// thread-locals are being destroyed.
    ///
    /// ```
    /// genrt::task_local! { static LIMIT: usize; }
    ///
    /// assert_eq!(LIMIT.sync_scope(3, || LIMIT.get() * 2), 6);
    /// ```
    #[track_caller]
    pub fn sync_scope<F: FnOnce() -> R, R>(&'static self, value: T, f: F) -> R {
        let mut value = Some(value);
        match self.enter(&mut value, f) {
            Ok(result) => result,
            Err(error) => error.panic(),
        }
    }

    /// Calls `f` with a reference to the value of the current scope.
    ///
    /// # Panics
    ///
    /// Outside any scope of this key (see [`try_with`](LocalKey::try_with)).
    ///
    /// ```
    /// genrt::task_local! { static WORDS: Vec<&'static str>; }
    ///
    /// let n = WORDS.sync_scope(vec!["a", "b"], || WORDS.with(|words| words.len()));
    /// assert_eq!(n, 2);
    /// ```
    #[track_caller]
    pub fn with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> R {
        match self.try_with(f) {
            Ok(result) => result,
            // Tokio's words first, so that a test written for Tokio's panic matches.
            Err(AccessError(())) => panic!(
                "cannot access a task-local storage value without setting it first (genrt: a \
                 task-local value was read outside any scope of its key; set it with \
                 LocalKey::scope or sync_scope, or read it with try_with)"
            ),
        }
    }

    /// Calls `f` with a reference to the value of the current scope; [`AccessError`] outside
    /// any scope of this key (or while the thread-locals are being destroyed).
    ///
    /// ```
    /// genrt::task_local! { static FLAG: bool; }
    ///
    /// assert!(FLAG.try_with(|flag| *flag).is_err());
    /// assert_eq!(FLAG.sync_scope(true, || FLAG.try_with(|flag| *flag)), Ok(true));
    /// ```
    pub fn try_with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> Result<R, AccessError> {
        // The slot is mutably borrowed only inside `enter`'s swaps, which run no other code,
        // so the shared borrow succeeds whenever the thread-local is alive. `f` runs under it:
        // a scope of the same key entered inside `f` is refused (`ScopeError::Borrowed`).
        self.slot
            .try_with(|slot| slot.try_borrow().ok()?.as_ref().map(f))
            .ok()
            .flatten()
            .ok_or(AccessError(()))
    }

    /// Moves `value` into this thread's slot, runs `f`, and moves whatever the slot holds
    /// then back into `value` (also if `f` unwinds).
    fn enter<F: FnOnce() -> R, R>(
        &'static self,
        value: &mut Option<T>,
        f: F,
    ) -> Result<R, ScopeError> {
        /// Swaps the slot back on the way out.
        struct Restore<'a, T: 'static> {
            key: &'static LocalKey<T>,
            value: &'a mut Option<T>,
        }
        impl<T: 'static> Drop for Restore<'_, T> {
            fn drop(&mut self) {
                // The swap in succeeded, so the thread-local is alive; the borrow cannot
                // fail: no borrow of the slot outlives a call of this module.
                let _ = self.key.slot.try_with(|slot| {
                    if let Ok(mut slot) = slot.try_borrow_mut() {
                        std::mem::swap(&mut *slot, self.value);
                    }
                });
            }
        }
        self.slot
            .try_with(|slot| {
                slot.try_borrow_mut()
                    .map(|mut slot| std::mem::swap(&mut *slot, value))
                    .map_err(|_| ScopeError::Borrowed)
            })
            .map_err(|_| ScopeError::Destroyed)??;
        let restore = Restore { key: self, value };
        let result = f();
        drop(restore);
        Ok(result)
    }
}

impl<T: Clone + 'static> LocalKey<T> {
    /// A clone of the value of the current scope.
    ///
    /// # Panics
    ///
    /// Outside any scope of this key (see [`try_get`](LocalKey::try_get)).
    ///
    /// ```
    /// genrt::task_local! { static ID: u32; static NAME: String; }
    ///
    /// assert_eq!(ID.sync_scope(4, || ID.get()), 4);
    /// assert_eq!(NAME.sync_scope("a".to_string(), || NAME.get()), "a");
    /// ```
    #[track_caller]
    pub fn get(&'static self) -> T {
        self.with(T::clone)
    }

    /// A clone of the value of the current scope; [`AccessError`] outside any scope of this
    /// key.
    ///
    /// ```
    /// genrt::task_local! { static ID: u32; }
    ///
    /// assert!(ID.try_get().is_err());
    /// assert_eq!(ID.sync_scope(4, || ID.try_get()), Ok(4));
    /// ```
    pub fn try_get(&'static self) -> Result<T, AccessError> {
        self.try_with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("LocalKey { .. }")
    }
}

/// Why a scope could not be entered.
enum ScopeError {
    /// Inside `with` of the same key: the slot is borrowed.
    Borrowed,
    /// The thread's thread-locals are being destroyed.
    Destroyed,
}

impl ScopeError {
    #[track_caller]
    fn panic(self) -> ! {
        match self {
            // Tokio's words first (its `ScopeInnerErr`), then genrt's.
            ScopeError::Borrowed => panic!(
                "cannot enter a task-local scope while the task-local storage is borrowed \
                 (genrt: a scope of a task-local key was entered inside `with` of the same key)"
            ),
            ScopeError::Destroyed => panic!(
                "cannot enter a task-local scope during or after destruction of the underlying \
                 thread-local (genrt: a scope of a task-local key was entered while the \
                 thread's thread-locals were being destroyed)"
            ),
        }
    }
}

/// A future with a task-local value, made by [`LocalKey::scope`]; also at Tokio's path,
/// `genrt::task::futures::TaskLocalFuture`.
///
/// ```
/// genrt::task_local! { static KEY: u8; }
///
/// let future: genrt::task::futures::TaskLocalFuture<u8, _> = KEY.scope(1, async { KEY.get() });
/// let rt = genrt::Runtime::new().unwrap();
/// assert_eq!(rt.block_on(future), 1);
/// ```
pub struct TaskLocalFuture<T: 'static, F> {
    key: &'static LocalKey<T>,
    /// `None` while a poll has it in the thread-local, or after `take_value` (then the key
    /// is unset while the future is polled or dropped).
    value: Option<T>,
    /// `None` once finished.
    future: Option<Pin<Box<F>>>,
}

impl<T: 'static, F> TaskLocalFuture<T, F> {
    /// Takes the value out of the wrapper (after it completed, say, to get the value back).
    /// The future inside, if still there, then runs and is dropped with the key unset: it
    /// sees no value, not even an outer scope's.
    ///
    /// ```
    /// genrt::task_local! { static KEY: u8; }
    ///
    /// let rt = genrt::Runtime::new().unwrap();
    /// let mut future = Box::pin(KEY.scope(9, async { KEY.try_get().ok() }));
    /// assert_eq!(rt.block_on(future.as_mut()), Some(9));
    /// assert_eq!(future.as_mut().take_value(), Some(9));
    /// assert_eq!(future.as_mut().take_value(), None);
    ///
    /// let mut unset = Box::pin(KEY.scope(3, async { KEY.try_get().ok() }));
    /// assert_eq!(unset.as_mut().take_value(), Some(3));
    /// assert_eq!(KEY.sync_scope(1, || rt.block_on(unset)), None);
    /// ```
    pub fn take_value(self: Pin<&mut Self>) -> Option<T> {
        self.get_mut().value.take()
    }
}

// The fields are never pinned: the future is boxed.
impl<T: 'static, F> Unpin for TaskLocalFuture<T, F> {}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let future = this.future.as_mut().expect(
            "`TaskLocalFuture` polled after completion (genrt: a TaskLocalFuture was polled \
                 after it completed)",
        );
        let polled = this.key.enter(&mut this.value, || future.as_mut().poll(cx));
        match polled {
            Ok(Poll::Ready(output)) => {
                // Finished: drop the future now, inside the scope, as a cancelled one is.
                let future = this.future.take();
                let _ = this.key.enter(&mut this.value, move || drop(future));
                Poll::Ready(output)
            }
            Ok(Poll::Pending) => Poll::Pending,
            Err(error) => error.panic(),
        }
    }
}

impl<T: 'static, F> Drop for TaskLocalFuture<T, F> {
    fn drop(&mut self) {
        // A future dropped before it finished (a cancelled task) sees its value in `Drop`
        // (or, after `take_value`, the key unset).
        if let Some(future) = self.future.take() {
            let mut future = Some(future);
            let _ = self.key.enter(&mut self.value, || drop(future.take()));
            // Not entered (thread-locals gone, or inside `with`): drop it outside.
            drop(future);
        }
    }
}

impl<T: fmt::Debug + 'static, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("value", &self.value)
            .field("finished", &self.future.is_none())
            .finish()
    }
}

/// A task-local value was read outside any scope of its key.
///
/// ```
/// genrt::task_local! { static KEY: u8; }
///
/// let err = KEY.try_with(|_| ()).unwrap_err();
/// assert_eq!(err.to_string(), "task-local value not set");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError(());

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessError")
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set")
    }
}

impl Error for AccessError {}
