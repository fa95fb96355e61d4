//! Loom models of a `JoinSet`'s ready list: members completing on worker threads while the
//! set is awaited.
//!
//! The real `JoinSet`, `TaskCell` and `JoinHandle` (built as `task`'s models build them). Each
//! worker thread holds one member's poll permission and completes it; the main thread awaits
//! `join_next` with loom's `block_on`, so a completion that never reaches the ready list, or a
//! push that never wakes the set, is a loom deadlock. Members complete before or after the
//! set's first poll of their handle, covering both protocol paths (a `Ready` poll of a popped
//! index, and a registered entry waker pushing it).

use ::loom::future::block_on;
use ::loom::thread;

use super::task::{poll, spawn, Work};
use crate::task::join_set::JoinSet;

/// Two members complete on two workers while `join_next` is awaited twice: both results come
/// out, each once, and the set then reports empty.
#[test]
fn completions_race_join_next() {
    ::loom::model(|| {
        let mut set = JoinSet::new();
        let mut workers = Vec::new();
        for _ in 0..2 {
            let (cell, join) = spawn(Work::new(0));
            set.insert(join);
            workers.push(thread::spawn(move || {
                assert!(poll(&cell).is_ready());
                drop(cell);
            }));
        }
        for _ in 0..2 {
            let output = block_on(set.join_next()).expect("a member is left");
            assert_eq!(output.expect("the member completed").0, 42);
        }
        assert!(set.is_empty());
        assert!(block_on(set.join_next()).is_none());
        for worker in workers {
            worker.join().unwrap();
        }
    });
}

/// A member that is pending at the set's first look completes later: its registered entry
/// waker pushes it, and `try_join_next` (no waker of its own) finds it once the worker is
/// done.
#[test]
fn a_registered_member_reaches_try_join_next() {
    ::loom::model(|| {
        let mut set = JoinSet::new();
        let (cell, join) = spawn(Work::new(1));
        set.insert(join);
        assert!(poll(&cell).is_pending());
        let worker = thread::spawn(move || {
            assert!(poll(&cell).is_ready());
            drop(cell);
        });
        // Races the completion: takes the result, or pops the index and registers the entry
        // waker, which the completion then wakes.
        let early = set.try_join_next();
        worker.join().unwrap();
        let output = match early {
            Some(result) => result,
            None => set.try_join_next().expect("the completion was pushed"),
        };
        assert_eq!(output.expect("the member completed").0, 42);
        assert!(set.try_join_next().is_none() && set.is_empty());
    });
}
