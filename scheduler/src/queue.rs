//! The run queues: crossbeam-deque's [`Worker`], [`Stealer`] and [`Injector`] of task keys.
//!
//! loom cannot see inside crossbeam-deque (its atomics are the standard library's), so under
//! `cfg(loom)` this module swaps in small stand-ins with the same interface, each a loom
//! `Mutex<VecDeque>` with its length in an atomic beside it: a worker pushes and pops at the
//! back and front of its own queue (FIFO, as `Worker::new_fifo`), a thief takes about half of
//! a victim's queue with `steal_batch_and_pop`, and `is_empty` reads the length without the
//! lock. They never answer [`Steal::Retry`]. What the loom models check is the protocol around
//! the queues (parking, waking, shutdown), which relies only on a pushed key being seen by
//! every steal that comes after the push and by every `is_empty` that is ordered after it.

#[cfg(not(loom))]
pub(crate) use crossbeam_deque::{Injector, Steal, Stealer, Worker};

#[cfg(loom)]
pub(crate) use self::mocked::{Injector, Steal, Stealer, Worker};

#[cfg(loom)]
mod mocked {
    use std::collections::VecDeque;

    use crate::loom::sync::atomic::{AtomicUsize, Ordering};
    use crate::loom::sync::{Arc, Mutex};

    /// The outcome of a steal, as crossbeam's.
    #[allow(dead_code)] // `Retry` is never built: these queues are linearizable
    pub(crate) enum Steal<T> {
        Empty,
        Success(T),
        Retry,
    }

    /// A worker's own FIFO queue.
    pub(crate) struct Worker<T> {
        queue: Arc<Queue<T>>,
    }

    /// Another thread's view of a [`Worker`], for stealing.
    pub(crate) struct Stealer<T> {
        queue: Arc<Queue<T>>,
    }

    /// The queue shared by every thread that is not a worker.
    pub(crate) struct Injector<T> {
        queue: Queue<T>,
    }

    /// Keys under a lock, and their number beside it for `is_empty`.
    ///
    /// `is_empty` reads only the number, without the lock, with `Acquire`: no stronger than
    /// crossbeam's own `is_empty` (two loads), so the model cannot lean on the lock for an
    /// ordering the real queues do not give. Were `is_empty` to take the lock, the lock's
    /// total order alone would keep a parking worker from missing a push, and the model would
    /// pass with the parking protocol's `SeqCst` fences removed.
    struct Queue<T> {
        items: Mutex<VecDeque<T>>,
        len: AtomicUsize,
    }

    impl<T> Queue<T> {
        fn new() -> Queue<T> {
            Queue {
                items: Mutex::new(VecDeque::new()),
                len: AtomicUsize::new(0),
            }
        }

        /// Runs `f` on the keys under the lock and publishes their new number.
        fn with<R>(&self, f: impl FnOnce(&mut VecDeque<T>) -> R) -> R {
            let mut items = self.items.lock();
            let result = f(&mut items);
            // Release: pairs with the Acquire in `is_empty`, so a reader that sees the new
            // number sees the keys that made it.
            self.len.store(items.len(), Ordering::Release);
            result
        }

        fn is_empty(&self) -> bool {
            self.len() == 0
        }

        fn len(&self) -> usize {
            // Acquire: pairs with the Release in `with`.
            self.len.load(Ordering::Acquire)
        }

        /// Takes the front half (rounded up), returns its first key and moves the rest to
        /// `dest`. The two locks are never held together, so two workers stealing from each
        /// other cannot deadlock.
        fn steal_one(&self) -> Steal<T> {
            match self.with(|items| items.pop_front()) {
                Some(value) => Steal::Success(value),
                None => Steal::Empty,
            }
        }

        fn steal_half(&self, dest: &Worker<T>) -> Steal<T> {
            let mut batch = self.with(|items| {
                let take = items.len().div_ceil(2);
                items.drain(..take).collect::<VecDeque<T>>()
            });
            let Some(first) = batch.pop_front() else {
                return Steal::Empty;
            };
            if !batch.is_empty() {
                dest.queue.with(|items| items.extend(batch));
            }
            Steal::Success(first)
        }
    }

    impl<T> Worker<T> {
        pub(crate) fn new_fifo() -> Worker<T> {
            Worker {
                queue: Arc::new(Queue::new()),
            }
        }

        pub(crate) fn stealer(&self) -> Stealer<T> {
            Stealer {
                queue: self.queue.clone(),
            }
        }

        pub(crate) fn push(&self, value: T) {
            self.queue.with(|items| items.push_back(value));
        }

        pub(crate) fn pop(&self) -> Option<T> {
            self.queue.with(VecDeque::pop_front)
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.queue.is_empty()
        }

        /// The number of keys, as crossbeam's `Worker::len` (the steal metrics read it).
        pub(crate) fn len(&self) -> usize {
            self.queue.len()
        }
    }

    impl<T> Stealer<T> {
        pub(crate) fn is_empty(&self) -> bool {
            self.queue.is_empty()
        }

        pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            self.queue.steal_half(dest)
        }

        /// One key from the front (`Handle::run_stolen`).
        pub(crate) fn steal(&self) -> Steal<T> {
            self.queue.steal_one()
        }
    }

    impl<T> Injector<T> {
        pub(crate) fn new() -> Injector<T> {
            Injector {
                queue: Queue::new(),
            }
        }

        pub(crate) fn push(&self, value: T) {
            self.queue.with(|items| items.push_back(value));
        }

        /// How many keys it holds (for `Metrics::global_queue_depth`).
        pub(crate) fn len(&self) -> usize {
            self.queue.len()
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.queue.is_empty()
        }

        pub(crate) fn steal_batch_with_limit_and_pop(
            &self,
            dest: &Worker<T>,
            _limit: usize,
        ) -> Steal<T> {
            self.queue.steal_half(dest)
        }

        /// One key from the front (`Handle::run_stolen`).
        pub(crate) fn steal(&self) -> Steal<T> {
            self.queue.steal_one()
        }
    }
}
