//! The loom build: loom's types behind the API of `real.rs`.

/// Locks, `Arc` and atomics.
pub mod sync {
    use std::fmt;
    use std::ops::{Deref, DerefMut};
    use std::sync::PoisonError;
    use std::time::Instant;

    /// Atomics.
    pub mod atomic {
        pub use loom::sync::atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        };

        /// A `fence(SeqCst)`, placed right after a `SeqCst` access whose single total order
        /// the code relies on (a Dekker pair: each side writes one word, then reads the
        /// other's). loom treats `SeqCst` accesses as `AcqRel` (loom's README, "Unsupported
        /// features"; tokio-rs/loom#180), which lets both sides read stale values, an
        /// outcome the real `SeqCst` accesses forbid; it does model `SeqCst` fences, and a
        /// fence on each side forbids that outcome too. Compiles to nothing in a normal build.
        pub fn loom_only_seq_cst_fence() {
            fence(Ordering::SeqCst);
        }
    }

    /// An `Arc` whose count loom sees: a standard `Arc` holds the value (so it can be
    /// unsized to a trait object, which loom's `Arc` cannot), and a loom `Arc<()>` beside it
    /// is cloned and dropped with it. Every `Arc` of the shim holds one of each, so the two
    /// counts move together; loom models the count's release/acquire ordering and reports the
    /// loom half, and so the value, as leaked if the last `Arc` is never dropped.
    pub struct Arc<T: ?Sized> {
        count: loom::sync::Arc<()>,
        value: std::sync::Arc<T>,
    }

    impl<T> Arc<T> {
        /// Allocates `value`.
        #[track_caller]
        pub fn new(value: T) -> Arc<T> {
            Arc {
                count: loom::sync::Arc::new(()),
                value: std::sync::Arc::new(value),
            }
        }
    }

    impl<T: ?Sized> Arc<T> {
        /// The same allocation as an `Arc<U>`; `coerce` must be an unsizing coercion (see
        /// `unsize_arc!`).
        pub fn unsize<U: ?Sized>(
            this: Arc<T>,
            coerce: impl FnOnce(std::sync::Arc<T>) -> std::sync::Arc<U>,
        ) -> Arc<U> {
            let Arc { count, value } = this;
            let before = std::sync::Arc::as_ptr(&value).cast::<()>();
            let value = coerce(value);
            assert_eq!(
                before,
                std::sync::Arc::as_ptr(&value).cast::<()>(),
                "Arc::unsize must keep the allocation"
            );
            Arc { count, value }
        }

        /// Address of the value.
        pub fn as_ptr(this: &Arc<T>) -> *const T {
            std::sync::Arc::as_ptr(&this.value)
        }

        /// Whether both point to the same allocation.
        pub fn ptr_eq(a: &Arc<T>, b: &Arc<T>) -> bool {
            std::sync::Arc::ptr_eq(&a.value, &b.value)
        }

        /// Number of `Arc`s of this allocation.
        pub fn strong_count(this: &Arc<T>) -> usize {
            std::sync::Arc::strong_count(&this.value)
        }
    }

    impl<T: ?Sized> Clone for Arc<T> {
        #[track_caller]
        fn clone(&self) -> Arc<T> {
            Arc {
                count: self.count.clone(),
                value: self.value.clone(),
            }
        }
    }

    impl<T: ?Sized> Deref for Arc<T> {
        type Target = T;
        fn deref(&self) -> &T {
            &self.value
        }
    }

    impl<T: ?Sized + fmt::Debug> fmt::Debug for Arc<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(&*self.value, f)
        }
    }

    /// loom's `Mutex` with `parking_lot`'s API.
    #[derive(Debug)]
    pub struct Mutex<T>(loom::sync::Mutex<T>);

    /// Guard of [`Mutex`]. Empty only inside [`Condvar::wait`].
    pub struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

    impl<T> Mutex<T> {
        /// A mutex holding `value`.
        pub fn new(value: T) -> Mutex<T> {
            Mutex(loom::sync::Mutex::new(value))
        }

        /// The value, consuming the mutex.
        pub fn into_inner(self) -> T {
            self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
        }

        /// Locks it. loom's poisoning is ignored, as `parking_lot` has none.
        #[track_caller]
        pub fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().unwrap_or_else(PoisonError::into_inner)))
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0
                .as_deref()
                .expect("a guard is only empty inside Condvar::wait")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0
                .as_deref_mut()
                .expect("a guard is only empty inside Condvar::wait")
        }
    }

    /// loom's `RwLock` with `parking_lot`'s API.
    #[derive(Debug)]
    pub struct RwLock<T>(loom::sync::RwLock<T>);

    pub use loom::sync::{RwLockReadGuard, RwLockWriteGuard};

    impl<T> RwLock<T> {
        /// A lock holding `value`.
        pub fn new(value: T) -> RwLock<T> {
            RwLock(loom::sync::RwLock::new(value))
        }

        /// Shared access.
        #[track_caller]
        pub fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.read().unwrap_or_else(PoisonError::into_inner)
        }

        /// Exclusive access.
        #[track_caller]
        pub fn write(&self) -> RwLockWriteGuard<'_, T> {
            self.0.write().unwrap_or_else(PoisonError::into_inner)
        }

        /// Exclusive access if nobody holds the lock.
        #[track_caller]
        pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
            self.0.try_write().ok()
        }
    }

    /// loom's `Condvar` with `parking_lot`'s API.
    #[derive(Debug, Default)]
    pub struct Condvar(loom::sync::Condvar);

    /// Whether a timed wait timed out: under loom, never.
    #[derive(Clone, Copy, Debug)]
    pub struct WaitTimeoutResult(bool);

    impl WaitTimeoutResult {
        /// Always `false` under loom, which has no clock.
        pub fn timed_out(self) -> bool {
            self.0
        }
    }

    impl Condvar {
        /// A condition variable.
        pub fn new() -> Condvar {
            Condvar(loom::sync::Condvar::new())
        }

        /// Unlocks, waits for a notification, locks again.
        #[track_caller]
        pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard
                .0
                .take()
                .expect("a guard is only empty inside Condvar::wait");
            guard.0 = Some(self.0.wait(inner).unwrap_or_else(PoisonError::into_inner));
        }

        /// Like [`Condvar::wait`]: loom has no clock, so the deadline is never reached and
        /// only a notification ends the wait.
        #[track_caller]
        pub fn wait_until<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            _deadline: Instant,
        ) -> WaitTimeoutResult {
            self.wait(guard);
            WaitTimeoutResult(false)
        }

        /// Wakes one waiter.
        #[track_caller]
        pub fn notify_one(&self) {
            self.0.notify_one();
        }

        /// Wakes every waiter.
        #[track_caller]
        pub fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

/// loom's `UnsafeCell`, which checks every access.
pub mod cell {
    pub use loom::cell::UnsafeCell;
}

/// loom's threads, with the parts of `std::thread`'s API genrt uses.
pub mod thread {
    use std::io;

    pub use loom::thread::{current, park, Thread, ThreadId};

    /// loom's thread builder. loom keeps the name for its reports and ignores the stack size.
    #[derive(Debug)]
    pub struct Builder(loom::thread::Builder);

    impl Builder {
        /// A builder with no name.
        #[allow(clippy::new_without_default)] // mirrors std::thread::Builder
        pub fn new() -> Builder {
            Builder(loom::thread::Builder::new())
        }

        /// Names the thread.
        pub fn name(self, name: String) -> Builder {
            Builder(self.0.name(name))
        }

        /// Sets the stack size (ignored by loom).
        pub fn stack_size(self, size: usize) -> Builder {
            Builder(self.0.stack_size(size))
        }

        /// Spawns a loom thread.
        #[track_caller]
        pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
        where
            F: FnOnce() -> T + Send + 'static,
            T: Send + 'static,
        {
            self.0.spawn(f).map(JoinHandle)
        }
    }

    /// A loom thread's join handle.
    #[derive(Debug)]
    pub struct JoinHandle<T>(loom::thread::JoinHandle<T>);

    impl<T> JoinHandle<T> {
        /// Waits for the thread to finish.
        #[track_caller]
        pub fn join(self) -> std::thread::Result<T> {
            self.0.join()
        }

        /// The thread.
        pub fn thread(&self) -> &Thread {
            self.0.thread()
        }

        /// loom cannot tell without blocking, so this says `false`: a caller then waits for the
        /// thread or leaves it detached, and never mistakes a running thread for a finished one.
        pub fn is_finished(&self) -> bool {
            false
        }
    }
}

pub use crate::__genrt_loom_thread_local as thread_local;

/// loom's `thread_local!`, which takes no `const { .. }` initialiser: this one accepts and
/// unwraps it, so declarations read the same in both builds. One declaration per invocation.
#[doc(hidden)]
#[macro_export]
macro_rules! __genrt_loom_thread_local {
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr } $(;)?) => {
        ::loom::thread_local! { $(#[$attr])* $vis static $name: $t = $init; }
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr $(;)?) => {
        ::loom::thread_local! { $(#[$attr])* $vis static $name: $t = $init; }
    };
}
