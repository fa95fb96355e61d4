//! Loom models of the registry path: a key waker woken from other threads while its runtime
//! unregisters and drops (async-executor #163 is this race). The real registry, the real
//! `waker(key)` and a `WakeTarget` standing in for the runtime.
//!
//! The target holds a loom `Arc`, so a target that the registry never lets go fails the model
//! as a leak; it also asserts, on every wake, that the runtime has not finished unregistering.

use ::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use ::loom::sync::Arc;
use ::loom::thread;

use crate::key::{RuntimeId, TaskKey};
use crate::registry::{self, Registration, WakeContext, WakeTarget};
use crate::vtable::waker;

/// What the runtime and the wakers saw.
#[derive(Default)]
struct Log {
    /// Set once `Registration::drop` has returned.
    unregistered: AtomicBool,
    wakes: AtomicUsize,
    target_dropped: AtomicBool,
}

/// The runtime's wake target.
struct Runtime {
    context: WakeContext,
    log: Arc<Log>,
    _track: Arc<()>,
}

impl WakeTarget for Runtime {
    fn wake(&self, key: TaskKey) {
        assert_eq!(
            (key.slot(), key.generation()),
            (7, 3),
            "the key arrives intact"
        );
        assert!(
            !self.log.unregistered.load(Ordering::SeqCst),
            "a wake reached the runtime after its registration was dropped"
        );
        self.log.wakes.fetch_add(1, Ordering::SeqCst);
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
