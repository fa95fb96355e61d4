//! Loom models of the registry protocol (`registry.rs`, steps W1-W4 and U1-U6): a key waker
//! woken from other threads while its runtime unregisters and drops (async-executor #163 is
//! this race), while its entry is taken again by another runtime, and while it is still inside
//! the runtime's `wake` when the unregistering thread reaches its wait. The real registry, the
//! real `waker(key)` and a `WakeTarget` standing in for the runtime. The real code's fences
//! are SeqCst fences, which loom models.
//!
//! The target holds a loom `Arc`, so a target that the registry never lets go fails the model
//! as a leak; it asserts, on every wake, that the runtime has not finished unregistering; and
//! every wake reads a loom cell that the runtime writes once its registration is
//! dropped, so a wake still running after `Registration::drop` returned is a data race.

use std::any::Any;

use ::loom::cell::UnsafeCell;
use ::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use ::loom::sync::Arc;
use ::loom::thread;

use crate::key::{RuntimeId, TaskKey};
use crate::registry::{self, Registration, WakeContext, WakeTarget};
use crate::state::WakeOutcome;
use crate::vtable::waker;

/// What the runtime and the wakers saw.
#[derive(Default)]
struct Log {
    /// Set once `Registration::drop` has returned.
    unregistered: AtomicBool,
    wakes: AtomicUsize,
    target_dropped: AtomicBool,
    /// Read by every wake (`look`), written by the runtime after unregistering (`touch`).
    touched: UnsafeCell<u32>,
}

// SAFETY: `touched` is only reached through `look` and `touch`, which loom checks for races:
// sharing it is what the models test.
unsafe impl Sync for Log {}

impl Log {
    /// A read loom checks against `touch`: a wake's.
    fn look(&self) {
        self.touched.with(|touched| {
            // SAFETY: none needed beyond the model's claim: the registry orders every wake
            // before the end of `Registration::drop`; if it did not, loom reports the race.
            let _ = unsafe { *touched };
        });
    }

    /// A write loom checks against `look`: the runtime's, once unregistered.
    fn touch(&self) {
        self.touched.with_mut(|touched| {
            // SAFETY: none needed beyond the model's claim: the registry orders every wake
            // before the end of `Registration::drop`; if it did not, loom reports the race.
            unsafe { *touched += 1 }
        });
    }
}

/// The runtime's wake target.
struct Runtime {
    context: WakeContext,
    log: Arc<Log>,
    _track: Arc<()>,
}

impl WakeTarget for Runtime {
    fn wake(&self, key: TaskKey, _context: Option<&dyn Any>) -> WakeOutcome {
        assert_eq!(
            (key.slot(), key.generation()),
            (7, 3),
            "the key arrives intact"
        );
        assert!(
            !self.log.unregistered.load(Ordering::SeqCst),
            "a wake reached the runtime after its registration was dropped"
        );
        self.log.look();
        self.log.wakes.fetch_add(1, Ordering::SeqCst);
        WakeOutcome::Schedule
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.log.target_dropped.store(true, Ordering::SeqCst);
    }
}

fn register(log: &Arc<Log>) -> (Arc<Runtime>, Registration) {
    registry::register(|context, _base| {
        Arc::new(Runtime {
            context,
            log: log.clone(),
            _track: Arc::new(()),
        })
    })
    .expect("a free registry entry")
}

/// Wakers on two threads (one owned `Waker::wake`, one `wake_by_ref` of a clone, as a shell
/// holding a stored waker would) race the runtime's drop: unregister, then drop its last
/// handle to the target. Each wake is delivered before the registration is gone or not at
/// all, never after; the registry keeps no reference once unregistered, so the target is
/// dropped; nothing leaks.
#[test]
fn wakes_race_unregister_and_drop() {
    ::loom::model(|| {
        let log = Arc::new(Log::default());
        let (runtime, registration) = register(&log);
        let key = TaskKey::new(runtime.context.id(), 7, 3);
        let stored = waker(key);

        let wakers: Vec<_> = [stored.clone(), stored]
            .into_iter()
            .enumerate()
            .map(|(i, w)| {
                thread::spawn(move || {
                    if i == 0 {
                        w.wake();
                    } else {
                        w.wake_by_ref();
                        drop(w);
                    }
                })
            })
            .collect();

        // The runtime drops: unregister, then its own handle goes.
        drop(registration);
        log.unregistered.store(true, Ordering::SeqCst);
        log.touch();
        drop(runtime);

        for w in wakers {
            w.join().unwrap();
        }
        assert!(log.wakes.load(Ordering::SeqCst) <= 2);
        assert!(
            log.target_dropped.load(Ordering::SeqCst),
            "the registry still holds the runtime after unregistering"
        );
    });
}

/// A wake racing registration itself: a key of the entry the new runtime is taking. The
/// target is built while the entry is locked, so the wake either finds no runtime or the
/// complete target; after the runtime is gone, a late wake is a no-op.
#[test]
fn wake_races_register_then_late_wake_is_a_noop() {
    ::loom::model(|| {
        let log = Arc::new(Log::default());
        // The first registration of this execution takes entry 0 (the cursor starts there).
        let key = TaskKey::new(RuntimeId::new(0), 7, 3);
        let early = thread::spawn(move || waker(key).wake());

        let (runtime, registration) = register(&log);
        assert_eq!(runtime.context.id(), key.runtime());
        early.join().unwrap();
        assert!(log.wakes.load(Ordering::SeqCst) <= 1);

        drop(registration);
        log.unregistered.store(true, Ordering::SeqCst);
        let late = thread::spawn(move || waker(key).wake());
        drop(runtime);
        late.join().unwrap();
        assert!(log.target_dropped.load(Ordering::SeqCst));
    });
}

/// A wake racing the re-registration of its entry by another runtime (W3 reading the old
/// pointer, null, or the new one): the old runtime is reached only before its registration is
/// dropped, the new one at most once, the old target is freed, nothing leaks. Loom's table
/// has 2 entries: the second registration takes entry 1, and once it is freed, the third
/// finds only entry 1 free.
#[test]
fn wake_races_reregistration_of_its_entry() {
    ::loom::model(|| {
        let filler_log = Arc::new(Log::default());
        let (filler, filler_registration) = register(&filler_log);
        let old_log = Arc::new(Log::default());
        let (old, old_registration) = register(&old_log);
        let key = TaskKey::new(old.context.id(), 7, 3);
        let waking = thread::spawn(move || waker(key).wake());

        drop(old_registration);
        old_log.unregistered.store(true, Ordering::SeqCst);
        old_log.touch();
        drop(old);
        let new_log = Arc::new(Log::default());
        let (new, new_registration) = register(&new_log);
        assert_eq!(new.context.id(), key.runtime(), "the entry is reused");

        waking.join().unwrap();
        let wakes = old_log.wakes.load(Ordering::SeqCst) + new_log.wakes.load(Ordering::SeqCst);
        assert!(wakes <= 1, "one wake delivered {wakes} times");
        assert!(old_log.target_dropped.load(Ordering::SeqCst));

        drop(new_registration);
        drop(new);
        drop(filler_registration);
        drop(filler);
        assert!(new_log.target_dropped.load(Ordering::SeqCst));
        assert!(filler_log.target_dropped.load(Ordering::SeqCst));
    });
}

/// The unregistering thread reaches its wait (U3) while a waker is inside the runtime's
/// `wake`, between W3 and W4, on each of two threads (one with a record of the pool, one that
/// may borrow the spare): `Registration::drop` returns only after both wakes are done, which
/// the cell written by every wake and by the runtime afterwards checks (a race otherwise).
#[test]
fn unregister_waits_for_busy_wakers() {
    ::loom::model(|| {
        let log = Arc::new(Log::default());
        let (runtime, registration) = register(&log);
        let key = TaskKey::new(runtime.context.id(), 7, 3);
        let wakers: Vec<_> = (0..2)
            .map(|_| thread::spawn(move || waker(key).wake_by_ref()))
            .collect();

        drop(registration);
        log.unregistered.store(true, Ordering::SeqCst);
        log.touch();
        drop(runtime);
        for w in wakers {
            w.join().unwrap();
        }
        assert!(log.target_dropped.load(Ordering::SeqCst));
    });
}

/// A runtime that keeps its tasks in a real `Slab` and hands out its pages, so wakes through
/// the registry take the page-cache path (`registry.rs`, "Page caches").
struct Slabbed {
    context: WakeContext,
    slab: crate::Slab<u8>,
    log: Arc<Log>,
    /// Keys this runtime queued (`schedule_fenced`), as `slot + 1` of the last one.
    scheduled: AtomicUsize,
    _track: Arc<()>,
}

impl WakeTarget for Slabbed {
    fn wake(&self, key: TaskKey, _context: Option<&dyn Any>) -> WakeOutcome {
        self.slab.wake(key.slot(), key.generation())
    }

    fn slab_page(&self, page: usize) -> Option<crate::PageRef<'_>> {
        assert!(
            !self.log.unregistered.load(Ordering::SeqCst),
            "a wake looked a page up after the registration was dropped"
        );
        self.log.look();
        self.slab.page_ref(page)
    }

    fn schedule_fenced(&self, key: TaskKey) {
        assert!(
            !self.log.unregistered.load(Ordering::SeqCst),
            "a wake queued a task after the registration was dropped"
        );
        self.log.look();
        self.log.wakes.fetch_add(1, Ordering::SeqCst);
        self.scheduled
            .store(key.slot() as usize + 1, Ordering::SeqCst);
    }
}

impl Drop for Slabbed {
    fn drop(&mut self) {
        self.log.target_dropped.store(true, Ordering::SeqCst);
    }
}

fn register_slabbed(log: &Arc<Log>) -> (Arc<Slabbed>, Registration) {
    registry::register(|context, base| {
        Arc::new(Slabbed {
            context,
            slab: crate::Slab::new(base),
            log: log.clone(),
            scheduled: AtomicUsize::new(0),
            _track: Arc::new(()),
        })
    })
    .expect("a free registry entry")
}

/// Inserts a task into `runtime`'s slab and leaves it idle (polled once, pending), so that a
/// wake of its key schedules it. Returns the key.
fn idle_task(runtime: &Slabbed) -> TaskKey {
    let (slot, generation) = runtime.slab.insert(0).unwrap();
    let guard = runtime.slab.start_poll(slot, generation).unwrap();
    assert!(matches!(guard.finish_pending(), crate::AfterPoll::Idle));
    TaskKey::new(runtime.context.id(), slot, generation)
}

/// One thread wakes two idle tasks of one page (the first wake looks the page up and caches
/// it, the second finds it in its record) while the runtime unregisters, drops its slab and
/// a new runtime takes the entry. The old runtime queues each task at most once and never
/// after its registration is gone; the new runtime never queues an old key (a cached page of
/// the old slab would show the second task idle and live); both targets are freed.
#[test]
fn cached_pages_race_unregister_and_reregistration() {
    ::loom::model(|| {
        let filler_log = Arc::new(Log::default());
        let (filler, filler_registration) = register(&filler_log);
        let old_log = Arc::new(Log::default());
        let (old, old_registration) = register_slabbed(&old_log);
        let (first, second) = (idle_task(&old), idle_task(&old));
        let waking = thread::spawn(move || {
            waker(first).wake_by_ref();
            waker(second).wake_by_ref();
        });

        drop(old_registration);
        old_log.unregistered.store(true, Ordering::SeqCst);
        old_log.touch();
        drop(old);
        let new_log = Arc::new(Log::default());
        let (new, new_registration) = register_slabbed(&new_log);
        assert_eq!(new.context.id(), first.runtime(), "the entry is reused");
        let _ = (idle_task(&new), idle_task(&new));

        waking.join().unwrap();
        assert!(old_log.wakes.load(Ordering::SeqCst) <= 2);
        assert_eq!(
            new.scheduled.load(Ordering::SeqCst),
            0,
            "an old key woke a new task"
        );
        assert!(old_log.target_dropped.load(Ordering::SeqCst));

        drop(new_registration);
        drop(new);
        drop(filler_registration);
        drop(filler);
        assert!(new_log.target_dropped.load(Ordering::SeqCst));
        assert!(filler_log.target_dropped.load(Ordering::SeqCst));
    });
}
