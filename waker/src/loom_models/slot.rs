//! Loom models of one slab slot's state machine: wake vs poll vs complete vs slot reuse vs
//! stale wake, on the real `Slab` and `SlotState`.
//!
//! Each task is a `Task`: a loom `UnsafeCell` standing for its future, which every poll
//! writes, so two polls that are not ordered by the slot's poll permission fail the model as a
//! data race; and a loom `Arc`, so a task that is never dropped fails the model as a leak.
//! The "run queue" is a loom mutex around a list of keys; pushing a key that is already queued
//! fails the model.

use ::loom::cell::UnsafeCell;
use ::loom::sync::atomic::{AtomicBool, Ordering};
use ::loom::sync::{Arc, Mutex};
use ::loom::thread;

use crate::slab::{AfterPoll, Claim, FreeCache, PollGuard, Slab};
use crate::state::WakeOutcome;

/// A task: its "future" (a poll count only the poll-permission holder touches) and a leak
/// tracker.
struct Task {
    polls: UnsafeCell<u32>,
    _track: Arc<()>,
}

impl Task {
    fn new() -> Task {
        Task {
            polls: UnsafeCell::new(0),
            _track: Arc::new(()),
        }
    }

    /// One poll: a write loom checks for races. Returns the number of polls so far.
    fn poll(&self) -> u32 {
        self.polls.with_mut(|polls| {
            // SAFETY: only called through a `PollGuard`, the slot's poll permission; if the
            // slab ever handed two threads that permission at once, loom reports the race.
            unsafe {
                *polls += 1;
                *polls
            }
        })
    }
}

/// Keys waiting to be polled.
#[derive(Default)]
struct Queue(Mutex<Vec<(u32, u32)>>);

impl Queue {
    fn push(&self, key: (u32, u32)) {
        let mut queue = self.0.lock().unwrap();
        assert!(!queue.contains(&key), "a key is queued twice: {key:?}");
        queue.push(key);
    }

    fn pop(&self) -> Option<(u32, u32)> {
        self.0.lock().unwrap().pop()
    }
}

/// What a worker does with a key it popped: poll the task once. The task completes when it
/// sees `ready`; otherwise it stays pending until woken.
fn run(slab: &Slab<Task>, queue: &Queue, ready: &AtomicBool, (slot, generation): (u32, u32)) {
    let Some(guard) = slab.start_poll(slot, generation) else {
        return; // stale: the task it named is gone
    };
    guard.value().poll();
    // Acquire: pairs with the Release store of the waking thread, as a future reading its
    // channel would.
    if ready.load(Ordering::Acquire) {
        drop(guard.complete());
        return;
    }
    match guard.finish_pending() {
        AfterPoll::Idle => {}
        AfterPoll::Reschedule => queue.push((slot, generation)),
        AfterPoll::Cancel(_) => panic!("nobody cancels in this model"),
    }
}

fn drain(slab: &Slab<Task>, queue: &Queue, ready: &AtomicBool) {
    while let Some(key) = queue.pop() {
        run(slab, queue, ready, key);
    }
}

/// A wake racing the task's poll and completion: whatever the interleaving, the wake is not
/// lost (the task completes once everything queued is run), the key is never queued twice,
/// polls never overlap, and the task is dropped.
#[test]
fn wake_races_poll_and_complete() {
    ::loom::model(|| {
        let slab = Arc::new(Slab::new(0));
        let queue = Arc::new(Queue::default());
        let ready = Arc::new(AtomicBool::new(false));
        let key = slab.insert(Task::new()).ok().expect("room");
        queue.push(key);

        let waker = {
            let (slab, queue, ready) = (slab.clone(), queue.clone(), ready.clone());
            thread::spawn(move || {
                // Release: pairs with the Acquire in `run`.
                ready.store(true, Ordering::Release);
                match slab.wake(key.0, key.1) {
                    WakeOutcome::Schedule => queue.push(key),
                    WakeOutcome::Coalesced | WakeOutcome::Stale => {}
                }
            })
        };
        let worker = {
            let (slab, queue, ready) = (slab.clone(), queue.clone(), ready.clone());
            thread::spawn(move || drain(&slab, &queue, &ready))
        };
        waker.join().unwrap();
        worker.join().unwrap();
        drain(&slab, &queue, &ready);

        assert!(
            !slab.is_occupied(key.0),
            "the wake was lost: the task never completed"
        );
        assert_eq!(slab.wake(key.0, key.1), WakeOutcome::Stale);
    });
}

/// Wakes `key`, queueing it if the wake scheduled it.
fn wake(slab: &Slab<Task>, queue: &Queue, key: (u32, u32)) {
    match slab.wake(key.0, key.1) {
        WakeOutcome::Schedule => queue.push(key),
        WakeOutcome::Coalesced | WakeOutcome::Stale => {}
    }
}

/// Runs every queued key; a task completes once a poll reads `value` (`Relaxed`: only the
/// wake protocol orders the waker's write before this read).
fn poll_until_done(slab: &Slab<Task>, queue: &Queue, value: &AtomicBool) {
    while let Some((slot, generation)) = queue.pop() {
        let Some(guard) = slab.start_poll(slot, generation) else {
            continue;
        };
        guard.value().poll();
        if value.load(Ordering::Relaxed) {
            drop(guard.complete());
            continue;
        }
        match guard.finish_pending() {
            AfterPoll::Idle => {}
            AfterPoll::Reschedule => queue.push((slot, generation)),
            AfterPoll::Cancel(_) => panic!("nobody cancels in this model"),
        }
    }
}

/// The fence-published coalesced wake (`state.rs`, "Coalesced wakes"). The task is queued;
/// a worker drains the queue while two wakers wake it: the first only wakes, the second
/// first writes the value the task waits for. Each wake may coalesce with the queued key (the
/// task `SCHEDULED`) or with the other's notification (`RUNNING | NOTIFIED`), or schedule or
/// notify with its CAS. Whatever happens, the value is not lost: some poll after the second
/// wake reads it and the task completes; the key is never queued twice.
///
/// The value is an atomic written and read `Relaxed`: nothing but the wake protocol orders
/// the waker's write before the poll's read. (loom models a `SeqCst` fence as synchronising
/// with every earlier one, stronger than C++'s rule, which orders only atomic accesses;
/// hence an atomic value, not a plain cell: the model then checks no more than the C++
/// rule gives.)
#[test]
fn coalesced_wakes_are_published_by_fences() {
    coalesced_wakes(false);
}

/// The same race with the value's waker taking the registry's path: its own `fence(SeqCst)`
/// after writing the value (W2), then `wake_fenced`, which neither fences nor reloads when
/// the wake coalesces ("Fenced by the caller" in `state.rs`).
#[test]
fn coalesced_wakes_fenced_by_the_caller_are_not_lost() {
    coalesced_wakes(true);
}

fn coalesced_wakes(fenced_by_caller: bool) {
    ::loom::model(move || {
        let slab = Arc::new(Slab::new(0));
        let queue = Arc::new(Queue::default());
        let value = Arc::new(AtomicBool::new(false));
        let key = slab.insert(Task::new()).ok().expect("room");
        queue.push(key);

        let bare_waker = {
            let (slab, queue) = (slab.clone(), queue.clone());
            thread::spawn(move || wake(&slab, &queue, key))
        };
        let value_waker = {
            let (slab, queue, value) = (slab.clone(), queue.clone(), value.clone());
            thread::spawn(move || {
                value.store(true, Ordering::Relaxed);
                if fenced_by_caller {
                    ::loom::sync::atomic::fence(Ordering::SeqCst);
                    if slab.wake_fenced(key.0, key.1) == WakeOutcome::Schedule {
                        queue.push(key);
                    }
                } else {
                    wake(&slab, &queue, key);
                }
            })
        };
        let worker = {
            let (slab, queue, value) = (slab.clone(), queue.clone(), value.clone());
            thread::spawn(move || poll_until_done(&slab, &queue, &value))
        };
        bare_waker.join().unwrap();
        value_waker.join().unwrap();
        worker.join().unwrap();
        poll_until_done(&slab, &queue, &value);

        assert!(
            !slab.is_occupied(key.0),
            "the coalesced wake was lost: no poll saw the value"
        );
    });
}

/// A stale wake racing the completion of the slot's task and the reuse of the slot by a new
/// task: the old key never schedules the new occupant (which is polled exactly once, from
/// its own key), and every task is dropped.
#[test]
fn stale_wake_races_completion_and_reuse() {
    ::loom::model(|| {
        let slab = Arc::new(Slab::new(0));
        let old = slab.insert(Task::new()).ok().expect("room");
        // The old task ran once and is idle, waiting for a wake.
        match slab
            .start_poll(old.0, old.1)
            .expect("scheduled")
            .finish_pending()
        {
            AfterPoll::Idle => {}
            _ => unreachable!(),
        }

        let waker = {
            let slab = slab.clone();
            thread::spawn(move || slab.wake(old.0, old.1))
        };

        // The owner completes the old task (as shutdown's sweep or an abort would) and
        // reuses its slot for a new one.
        match slab.claim(old.0, Some(old.1)) {
            Claim::Claimed(guard) => drop(guard.complete()),
            _ => unreachable!("the old task is idle and nobody else polls it"),
        }
        let new = slab.insert(Task::new()).ok().expect("room");
        assert_eq!(new.0, old.0, "the freed slot is reused");
        assert_ne!(new.1, old.1, "with a new generation");

        // Any outcome is fine (`Schedule` before the claim, `Coalesced` while the claim holds
        // the task, `Stale` after it is gone); what matters is what it did not do, below.
        let _ = waker.join().unwrap();

        // The old key, whatever the wake did, never polls the new task; the new key polls it
        // once.
        assert!(slab.start_poll(old.0, old.1).is_none());
        let guard = slab
            .start_poll(new.0, new.1)
            .expect("the new task is scheduled");
        assert_eq!(guard.value().poll(), 1);
        match guard.finish_pending() {
            AfterPoll::Idle => {}
            _ => unreachable!("nothing woke the new task"),
        }
        assert!(
            slab.start_poll(new.0, new.1).is_none(),
            "the stale wake scheduled the new occupant"
        );
    });
}

/// Two threads each insert, poll and complete a task at once on a fresh slab: they race to
/// install the first page, then to pop and push the free list. Each gets its own slot,
/// values never mix, and every task is dropped once.
#[test]
fn concurrent_insert_poll_complete_and_reuse() {
    ::loom::model(|| {
        let slab = Arc::new(Slab::new(0));
        let cycle = |slab: &Slab<Task>| {
            for _ in 0..2 {
                let (slot, generation) = slab.insert(Task::new()).ok().expect("room");
                let guard = slab
                    .start_poll(slot, generation)
                    .expect("fresh is scheduled");
                assert_eq!(guard.value().poll(), 1, "a fresh slot holds a fresh task");
                drop(guard.complete());
            }
        };
        let other = {
            let slab = slab.clone();
            thread::spawn(move || cycle(&slab))
        };
        cycle(&slab);
        other.join().unwrap();
        assert!(slab.high_water() <= 2, "freed slots are reused, not leaked");
    });
}

/// Shutdown's claim racing a worker's poll: either the claim takes the idle task and the
/// worker's `start_poll` fails, or the worker is polling and the claim flags it, and the
/// worker cancels it when its poll returns. Exactly one thread drops the task, polls never
/// overlap it, and it is not leaked.
#[test]
fn claim_races_poll() {
    ::loom::model(|| {
        let slab = Arc::new(Slab::new(0));
        let key = slab.insert(Task::new()).ok().expect("room");

        let worker = {
            let slab = slab.clone();
            thread::spawn(move || {
                let Some(guard) = slab.start_poll(key.0, key.1) else {
                    return false; // claimed first
                };
                guard.value().poll();
                match guard.finish_pending() {
                    AfterPoll::Idle => false,
                    AfterPoll::Reschedule => unreachable!("nobody wakes it"),
                    AfterPoll::Cancel(guard) => {
                        drop(guard.complete());
                        true
                    }
                }
            })
        };
        let swept = match slab.claim(key.0, None) {
            Claim::Claimed(guard) => {
                drop(guard.complete());
                true
            }
            Claim::MarkedRunning | Claim::Vacant => false,
        };
        let cancelled_by_worker = worker.join().unwrap();
        assert!(
            swept != cancelled_by_worker,
            "the task must be dropped exactly once (by the sweep: {swept}, by the worker: \
             {cancelled_by_worker})"
        );
        assert!(!slab.is_occupied(key.0));
    });
}

/// The other thread of the free-cache models: inserts, polls and completes twice through the
/// shared free list.
fn shared_list_user(slab: &Arc<Slab<Task>>) -> thread::JoinHandle<()> {
    let slab = slab.clone();
    thread::spawn(move || {
        for _ in 0..2 {
            let (slot, generation) = slab.insert(Task::new()).ok().expect("room");
            let guard = slab.start_poll(slot, generation).expect("scheduled");
            assert_eq!(guard.value().poll(), 1, "a fresh slot holds a fresh task");
            drop(guard.complete());
        }
    })
}

/// Inserts a fresh task through `cache` and takes its poll permission.
fn insert_cached<'a>(slab: &'a Slab<Task>, cache: &FreeCache) -> (PollGuard<'a, Task>, u32) {
    let (slot, generation) = slab.insert_cached(Task::new(), cache).ok().expect("room");
    let guard = slab.start_poll(slot, generation).expect("scheduled");
    assert_eq!(guard.value().poll(), 1, "a fresh slot holds a fresh task");
    (guard, slot)
}

/// After the free-cache models: at most `most` slots were ever used, and every one is free
/// and on the shared list (as many inserts as slots take no fresh one: a chain pushed with a
/// wrong link would have lost some).
fn every_slot_is_free_and_reachable(slab: &Slab<Task>, most: u32) {
    let slots = slab.high_water();
    assert!(slots <= most, "freed slots are reused, not leaked");
    for _ in 0..slots {
        let _ = slab.insert(Task::new()).ok().expect("room");
    }
    assert_eq!(slab.high_water(), slots, "the chain's links are intact");
}

/// A worker's free cache (`FreeCache`, `FREE_BATCH` = 2 under loom) against a thread that
/// uses the shared free list: the worker completes two tasks into its cache, which then goes
/// to the shared list as one chain (its tail linked to the old head, one CAS), reuses a slot
/// from it and flushes, while the other thread inserts and completes through the shared
/// list. Each slot has one occupant at a time (the tasks' cells would race), values never
/// mix, nothing leaks, and the chain's links are intact.
#[test]
fn a_free_cache_chain_races_the_shared_list() {
    ::loom::model(|| {
        let slab = Arc::new(Slab::new(0));
        let other = shared_list_user(&slab);
        let cache = FreeCache::default();
        // Two at once, completed into the cache: the second completion pushes the chain.
        let ((a, _), (b, _)) = (insert_cached(&slab, &cache), insert_cached(&slab, &cache));
        drop(a.complete_cached(&cache));
        drop(b.complete_cached(&cache));
        // The next insert pops the shared list (the chain, or the other thread's slot).
        let (c, _) = insert_cached(&slab, &cache);
        drop(c.complete_cached(&cache));
        slab.flush(&cache);
        other.join().unwrap();
        every_slot_is_free_and_reachable(&slab, 3);
    });
}

/// The cache-hit path of `insert_cached` (never taken by the model above, whose cache is
/// always empty when it inserts), then a two-slot chain pushed while the other thread pops
/// and pushes the shared list.
#[test]
fn a_cache_hit_then_a_chain_race_the_shared_list() {
    ::loom::model(|| {
        let slab = Arc::new(Slab::new(0));
        let other = shared_list_user(&slab);
        let cache = FreeCache::default();
        let (a, a_slot) = insert_cached(&slab, &cache);
        drop(a.complete_cached(&cache)); // cache: [a]
        let (b, b_slot) = insert_cached(&slab, &cache); // a hit: a's slot back
        assert_eq!(b_slot, a_slot, "the cached slot comes back first");
        let (c, _) = insert_cached(&slab, &cache); // a miss: the shared list or a fresh slot
        drop(b.complete_cached(&cache));
        drop(c.complete_cached(&cache)); // two cached: the chain [c, b] is pushed
        other.join().unwrap();
        every_slot_is_free_and_reachable(&slab, 3);
    });
}
