//! The run queues: crossbeam-deque's [`Worker`], [`Stealer`] and [`Injector`] of task keys.
//!
//! loom cannot see inside crossbeam-deque (its atomics are the standard library's), so under
//! `cfg(loom)` this module swaps in small stand-ins with the same interface, each a loom
//! `Mutex<VecDeque>`: a worker pushes and pops at the back and front of its own queue (FIFO, as
//! `Worker::new_fifo`), a thief takes about half of a victim's queue with
//! `steal_batch_and_pop`. They are linearizable, so they never answer [`Steal::Retry`]; what the
//! loom models check is the protocol around the queues (parking, waking, shutdown), which only
//! relies on a pushed key being visible to every later `is_empty` and steal.

#[cfg(not(loom))]
pub(crate) use crossbeam_deque::{Injector, Steal, Stealer, Worker};

#[cfg(loom)]
pub(crate) use self::mocked::{Injector, Steal, Stealer, Worker};

#[cfg(loom)]
mod mocked {
    use std::collections::VecDeque;

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
        queue: Arc<Mutex<VecDeque<T>>>,
    }

    /// Another thread's view of a [`Worker`], for stealing.
    pub(crate) struct Stealer<T> {
        queue: Arc<Mutex<VecDeque<T>>>,
    }

    /// The queue shared by every thread that is not a worker.
    pub(crate) struct Injector<T> {
        queue: Mutex<VecDeque<T>>,
    }

    impl<T> Worker<T> {
        pub(crate) fn new_fifo() -> Worker<T> {
            Worker {
                queue: Arc::new(Mutex::new(VecDeque::new())),
            }
        }

        pub(crate) fn stealer(&self) -> Stealer<T> {
            Stealer {
                queue: self.queue.clone(),
            }
        }

        pub(crate) fn push(&self, value: T) {
            self.queue.lock().push_back(value);
        }

        pub(crate) fn pop(&self) -> Option<T> {
            self.queue.lock().pop_front()
        }
    }

    impl<T> Stealer<T> {
        pub(crate) fn is_empty(&self) -> bool {
            self.queue.lock().is_empty()
        }

        pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            steal_half(&self.queue, dest)
        }
    }

    impl<T> Injector<T> {
        pub(crate) fn new() -> Injector<T> {
            Injector {
                queue: Mutex::new(VecDeque::new()),
            }
        }

        pub(crate) fn push(&self, value: T) {
            self.queue.lock().push_back(value);
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.queue.lock().is_empty()
        }

        pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            steal_half(&self.queue, dest)
        }
    }

    /// Takes the front half (rounded up) of `source`, returns its first key and moves the
    /// rest to `dest`. The two locks are never held together, so two workers stealing from
    /// each other cannot deadlock.
    fn steal_half<T>(source: &Mutex<VecDeque<T>>, dest: &Worker<T>) -> Steal<T> {
        let mut batch = {
            let mut source = source.lock();
            let take = source.len().div_ceil(2);
            source.drain(..take).collect::<VecDeque<T>>()
        };
        let Some(first) = batch.pop_front() else {
            return Steal::Empty;
        };
        if !batch.is_empty() {
            dest.queue.lock().extend(batch);
        }
        Steal::Success(first)
    }
}
