//! This crate's loom shim: atomics, `Arc`, locks, condition variables and threads from std
//! and `parking_lot` normally, from loom under `cfg(loom)`. (No thread-locals: the thread's
//! runtime context is `genrt-waker`'s one thread-local, see `context.rs`.)
//!
//! The same std/loom switch as `genrt-waker`'s own `src/loom.rs` (whose docs explain the
//! scheme: one private shim per crate, all naming the same `Arc`), cut down to what this
//! crate uses. The run queues, which come from crossbeam-deque and which loom cannot see,
//! have their own stand-ins in `queue`. Differences under loom, beyond those listed there:
//!
//! - loom has no clock: a timed wait waits until notified, as if the deadline were never
//!   reached. Code that passes a deadline gets "no timeout" semantics, and a wait that nobody
//!   ends is reported by loom as a deadlock.
//! - loom treats `SeqCst` accesses as `AcqRel` (loom's README, "Unsupported features";
//!   tokio-rs/loom#180); it does model `SeqCst` fences. So every Dekker pair in this crate
//!   (spawn's and park's, `idle/README.md`; the closed check with shutdown, `shared.rs`)
//!   puts a `fence(SeqCst)` on each side, never relying on the total order of `SeqCst`
//!   accesses alone. (The settle count that needed a loom-only fence is gone: `activity.rs`.)
//! - a loom thread's `JoinHandle::is_finished` always says `false` (loom cannot tell without
//!   blocking).

/// Locks, `Arc` and atomics.
pub(crate) mod sync {
    #[cfg(loom)]
    pub(crate) use self::mocked::{Condvar, Mutex};
    #[cfg(loom)]
    pub(crate) use loom::sync::Arc;
    #[cfg(not(loom))]
    pub(crate) use parking_lot::{Condvar, Mutex};
    #[cfg(not(loom))]
    pub(crate) use std::sync::Arc;

    /// Atomics.
    pub(crate) mod atomic {
        #[cfg(loom)]
        pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
        #[cfg(not(loom))]
        pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
    }

    #[cfg(loom)]
    mod mocked {
        use std::ops::{Deref, DerefMut};
        use std::sync::PoisonError;
        use std::time::Instant;

        /// loom's `Mutex` with `parking_lot`'s API.
        #[derive(Debug)]
        pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

        /// Guard of [`Mutex`]. Empty only inside [`Condvar::wait`].
        pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

        impl<T> Mutex<T> {
            /// A mutex holding `value`.
            pub(crate) fn new(value: T) -> Mutex<T> {
                Mutex(loom::sync::Mutex::new(value))
            }

            /// Locks it. loom's poisoning is ignored, as `parking_lot` has none.
            #[track_caller]
            pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
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

        /// loom's `Condvar` with `parking_lot`'s API.
        #[derive(Debug, Default)]
        pub(crate) struct Condvar(loom::sync::Condvar);

        /// Whether a timed wait timed out: under loom, never.
        #[derive(Clone, Copy, Debug)]
        pub(crate) struct WaitTimeoutResult(bool);

        impl WaitTimeoutResult {
            /// Always `false` under loom, which has no clock.
            pub(crate) fn timed_out(self) -> bool {
                self.0
            }
        }

        impl Condvar {
            /// A condition variable.
            pub(crate) fn new() -> Condvar {
                Condvar(loom::sync::Condvar::new())
            }

            /// Unlocks, waits for a notification, locks again.
            #[track_caller]
            pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
                let inner = guard
                    .0
                    .take()
                    .expect("a guard is only empty inside Condvar::wait");
                guard.0 = Some(self.0.wait(inner).unwrap_or_else(PoisonError::into_inner));
            }

            /// Like [`Condvar::wait`]: loom has no clock, so the deadline is never reached and
            /// only a notification ends the wait.
            #[track_caller]
            pub(crate) fn wait_until<T>(
                &self,
                guard: &mut MutexGuard<'_, T>,
                _deadline: Instant,
            ) -> WaitTimeoutResult {
                self.wait(guard);
                WaitTimeoutResult(false)
            }

            /// Wakes one waiter.
            #[track_caller]
            pub(crate) fn notify_one(&self) {
                self.0.notify_one();
            }

            /// Wakes every waiter.
            #[track_caller]
            pub(crate) fn notify_all(&self) {
                self.0.notify_all();
            }
        }
    }
}

/// Threads.
pub(crate) mod thread {
    #[cfg(loom)]
    pub(crate) use self::mocked::{Builder, JoinHandle};
    #[cfg(loom)]
    pub(crate) use loom::thread::{current, yield_now};
    #[cfg(not(loom))]
    pub(crate) use std::thread::{current, yield_now, Builder, JoinHandle};

    #[cfg(loom)]
    mod mocked {
        use std::io;

        use loom::thread::Thread;

        /// loom's thread builder. loom keeps the name for its reports and ignores the stack
        /// size.
        #[derive(Debug)]
        pub(crate) struct Builder(loom::thread::Builder);

        impl Builder {
            /// A builder with no name.
            pub(crate) fn new() -> Builder {
                Builder(loom::thread::Builder::new())
            }

            /// Names the thread.
            pub(crate) fn name(self, name: String) -> Builder {
                Builder(self.0.name(name))
            }

            /// Sets the stack size (ignored by loom).
            pub(crate) fn stack_size(self, size: usize) -> Builder {
                Builder(self.0.stack_size(size))
            }

            /// Spawns a loom thread.
            #[track_caller]
            pub(crate) fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
            where
                F: FnOnce() -> T + Send + 'static,
                T: Send + 'static,
            {
                self.0.spawn(f).map(JoinHandle)
            }
        }

        /// A loom thread's join handle.
        #[derive(Debug)]
        pub(crate) struct JoinHandle<T>(loom::thread::JoinHandle<T>);

        impl<T> JoinHandle<T> {
            /// Waits for the thread to finish.
            #[track_caller]
            pub(crate) fn join(self) -> std::thread::Result<T> {
                self.0.join()
            }

            /// The thread.
            pub(crate) fn thread(&self) -> &Thread {
                self.0.thread()
            }

            /// loom cannot tell without blocking, so this says `false`: a caller then waits
            /// for the thread or leaves it detached, and never mistakes a running thread for a
            /// finished one.
            pub(crate) fn is_finished(&self) -> bool {
                false
            }
        }
    }
}

/// `unsize_arc!(arc => dyn Trait)`: the shim's `Arc<T>` as an `Arc<dyn Trait>` for the same
/// allocation. A plain unsizing coercion in a normal build.
#[cfg(not(loom))]
macro_rules! unsize_arc {
    ($arc:expr => $target:ty) => {{
        let unsized_arc: $crate::loom::sync::Arc<$target> = $arc;
        unsized_arc
    }};
}

/// `unsize_arc!(arc => dyn Trait)`: the shim's `Arc<T>` as an `Arc<dyn Trait>` for the same
/// allocation. Under loom the `Arc` is turned into its raw pointer, the pointer is coerced
/// (only an unsizing coercion compiles here: no `as`), and loom's `from_raw` finds the
/// allocation's count by address.
#[cfg(loom)]
macro_rules! unsize_arc {
    ($arc:expr => $target:ty) => {{
        let raw = ::loom::sync::Arc::into_raw($arc);
        let unsized_raw: *const $target = raw;
        // SAFETY: `unsized_raw` is the pointer `into_raw` just returned, unsized in place: the
        // same allocation and address, with the metadata of the value's own type, which is
        // what `Arc::from_raw` asks of a pointer of an unsized type. `into_raw` kept the
        // reference it consumed, and `from_raw` takes it over, so the count is unchanged.
        unsafe { ::loom::sync::Arc::from_raw(unsized_raw) }
    }};
}
pub(crate) use unsize_arc;
