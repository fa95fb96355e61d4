//! The process-wide runtime registry: maps the runtime part of a [`TaskKey`] to a live
//! runtime, or to nothing once that runtime is gone.
//!
//! A waker outlives its runtime whenever someone keeps it, so a wake must find out whether
//! the runtime still exists without touching memory that may have been freed (the bug of
//! async-executor #163). The registry is a static table of [`MAX_RUNTIMES`] entries, each a
//! read-write lock around an optional `Arc<dyn WakeTarget>`:
//!
//! 1. [`register`] puts the runtime's target into a free entry and hands back a
//!    [`Registration`] holding the entry's index and generation base, and hands the runtime
//!    (through the target it builds) the entry's [`WakeContext`].
//! 2. A wake from any thread read-locks the entry named by the key and, if a target is
//!    there, calls it while holding the read lock.
//! 3. Dropping the `Registration` write-locks the entry and takes the target out. The write
//!    lock waits for every wake already inside the entry; any wake after it finds nothing.
//!    So once `Registration::drop` returns, no wake can reach the runtime again and the
//!    runtime may free its state.
//!
//! # Local targets
//!
//! A thread that belongs to a runtime (a worker, or a thread inside `block_on`) enters the
//! runtime's wake context with [`WakeContext::enter`]: wakes for that runtime issued on that
//! thread then go straight to the target in a thread-local, skipping the lock. Whoever enters
//! a runtime id decides where that thread's wakes for it go, so entering takes the
//! [`WakeContext`], which only `register` makes, once per registration, and hands to the
//! runtime it registers: code outside that runtime cannot redirect its wakes. The check
//! costs nothing on the wake path, which reads the thread-local exactly as before.
//!
//! Entries are reused, so each entry also remembers a generation base: a runtime that takes
//! an entry starts its slot generations after the last generation of the runtime before it,
//! and a waker of the old runtime does not name a task of the new one.

use std::cell::RefCell;
use std::io;

use crate::key::{RuntimeId, TaskKey, MAX_RUNTIMES};
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::{Arc, RwLock};

/// The part of a runtime that a key waker calls.
pub trait WakeTarget: Send + Sync + 'static {
    /// Wakes the task `key` names, or does nothing if the key is stale.
    fn wake(&self, key: TaskKey);
}

struct Entry {
    target: Option<Arc<dyn WakeTarget>>,
    /// The generation the next runtime in this entry starts its slots at.
    next_base: u32,
}

/// Number of entries: one per runtime id. Under loom, 4: each entry is a modelled lock, and a
/// model never has more than a couple of runtimes alive.
const ENTRIES: usize = if cfg!(loom) { 4 } else { MAX_RUNTIMES };

const _: () = assert!(ENTRIES <= MAX_RUNTIMES);

#[cfg(not(loom))]
static REGISTRY: [RwLock<Entry>; ENTRIES] = [const {
    RwLock::new(Entry {
        target: None,
        next_base: 0,
    })
}; ENTRIES];

/// Where the search for a free entry starts; it rotates so that a freed entry is reused as
/// late as possible.
#[cfg(not(loom))]
static CURSOR: AtomicUsize = AtomicUsize::new(0);

// loom's types have no `const` constructors and live for one execution of a model.
#[cfg(loom)]
crate::loom::lazy_static! {
    static ref REGISTRY: [RwLock<Entry>; ENTRIES] = std::array::from_fn(|_| {
        RwLock::new(Entry {
            target: None,
            next_base: 0,
        })
    });
    static ref CURSOR: AtomicUsize = AtomicUsize::new(0);
}

crate::loom::thread_local! {
    static LOCAL: RefCell<Option<(RuntimeId, Arc<dyn WakeTarget>)>> = const { RefCell::new(None) };
}

/// A runtime's entry in the registry. Dropping it unregisters the runtime and waits for
/// wakes already in flight.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use genrt_waker::registry::{self, WakeContext, WakeTarget};
/// use genrt_waker::TaskKey;
///
/// struct Runtime {
///     context: WakeContext,
///     wakes: AtomicUsize,
/// }
/// impl WakeTarget for Runtime {
///     fn wake(&self, _key: TaskKey) {
///         self.wakes.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// let (runtime, registration) = registry::register(|context, _base| {
///     Arc::new(Runtime { context, wakes: AtomicUsize::new(0) })
/// })
/// .unwrap();
/// let waker = genrt_waker::waker(TaskKey::new(runtime.context.id(), 0, 0));
/// waker.wake_by_ref();
/// drop(registration);
/// waker.wake(); // the runtime is gone: nothing happens
/// assert_eq!(runtime.wakes.load(Ordering::Relaxed), 1);
/// ```
#[derive(Debug)]
pub struct Registration {
    id: RuntimeId,
    base: u32,
    next_base: Option<u32>,
}

/// Registers a runtime. `make` builds the runtime's wake target from the entry it gets: the
/// entry's [`WakeContext`] (which names the runtime id its keys carry; keep it to enter the
/// context later) and the generation its fresh slots must start at. `make` runs while that
/// entry is locked, so no wake can reach the target before `register` returns.
///
/// Fails when [`MAX_RUNTIMES`] runtimes are alive at once.
pub fn register<T: WakeTarget>(
    make: impl FnOnce(WakeContext, u32) -> Arc<T>,
) -> io::Result<(Arc<T>, Registration)> {
    let start = CURSOR.fetch_add(1, Ordering::Relaxed);
    for offset in 0..ENTRIES {
        let index = (start + offset) % ENTRIES;
        let Some(mut entry) = REGISTRY[index].try_write() else {
            continue;
        };
        if entry.target.is_none() {
            let id = RuntimeId::new(index as u8);
            let base = entry.next_base;
            let target = make(WakeContext { id }, base);
            entry.target = Some(crate::loom::unsize_arc!(target.clone() => dyn WakeTarget));
            let registration = Registration {
                id,
                base,
                next_base: None,
            };
            return Ok((target, registration));
        }
    }
    Err(io::Error::other(format!(
        "genrt: {ENTRIES} runtimes are already alive in this process; drop one first"
    )))
}

impl Registration {
    /// Tells the registry which generation the entry's next runtime must start at (see
    /// [`Slab::next_base`](crate::Slab::next_base)). Without it, the next runtime starts
    /// half the generation space away, which makes a collision just as unlikely.
    pub fn set_next_base(&mut self, next_base: u32) {
        self.next_base = Some(next_base);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut entry = REGISTRY[self.id.index()].write();
        entry.next_base = self.next_base.unwrap_or(self.base.wrapping_add(1 << 31));
        // Dropped outside the lock: the target's own drop may be long.
        let target = entry.target.take();
        drop(entry);
        drop(target);
    }
}

/// The right to enter one runtime's wake context on a thread (see [`WakeContext::enter`]).
///
/// Only [`register`] makes one, once per registration, and hands it to the runtime it
/// registers; it cannot be built or cloned anywhere else. So code outside a runtime cannot
/// redirect that runtime's wakes on any thread.
#[derive(Debug)]
pub struct WakeContext {
    id: RuntimeId,
}

impl WakeContext {
    /// The runtime id every key of the registered runtime carries.
    pub fn id(&self) -> RuntimeId {
        self.id
    }

    /// Makes wakes for this runtime on this thread go straight to `target`, skipping the
    /// registry lock, until the returned guard is dropped. The guard restores what was
    /// entered before.
    ///
    /// `target` should be the target this runtime registered: wakes issued on this thread go
    /// to it whether or not it is. Only a thread that keeps the runtime registered while the
    /// guard lives (a worker thread, a thread inside `block_on`) should enter it: the guard
    /// holds a strong reference, and a registry entry freed under it may be taken by another
    /// runtime, whose wakes on this thread would then reach `target`.
    pub fn enter(&self, target: Arc<dyn WakeTarget>) -> WakeContextGuard {
        let previous = LOCAL.with(|local| local.borrow_mut().replace((self.id, target)));
        WakeContextGuard { previous }
    }
}

/// Guard returned by [`WakeContext::enter`].
#[must_use = "the wake context is left when this guard is dropped"]
pub struct WakeContextGuard {
    previous: Option<(RuntimeId, Arc<dyn WakeTarget>)>,
}

impl Drop for WakeContextGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: the guard may be dropped while thread-locals are being destroyed.
        let _ = LOCAL.try_with(|local| *local.borrow_mut() = previous);
    }
}

/// Delivers a wake for `key`: to the thread's local target if it is the key's runtime,
/// otherwise through the registry entry. Does nothing for a runtime that is gone.
pub(crate) fn wake(key: TaskKey) {
    let id = key.runtime();
    let delivered = LOCAL
        .try_with(|local| match local.try_borrow().as_deref() {
            Ok(Some((local_id, target))) if *local_id == id => {
                target.wake(key);
                true
            }
            _ => false,
        })
        .unwrap_or(false);
    if !delivered {
        // An id past the table (only possible under loom's smaller table) names no runtime.
        let Some(entry) = REGISTRY.get(id.index()) else {
            return;
        };
        let entry = entry.read();
        if let Some(target) = &entry.target {
            target.wake(key);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::vtable::waker;

    struct Count {
        context: WakeContext,
        wakes: AtomicUsize,
    }

    impl WakeTarget for Count {
        fn wake(&self, _key: TaskKey) {
            self.wakes.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn register_count() -> (Arc<Count>, Registration) {
        register(|context, _base| {
            Arc::new(Count {
                context,
                wakes: AtomicUsize::new(0),
            })
        })
        .expect("a free registry entry")
    }

    #[test]
    fn an_entered_thread_wakes_its_local_target_until_the_guard_drops() {
        let (registered, _registration) = register_count();
        let (local, _other) = register_count();
        let key = TaskKey::new(registered.context.id(), 1, 1);

        // Only to tell the two paths apart: a runtime enters its own target.
        let guard = registered.context.enter(local.clone());
        waker(key).wake();
        assert_eq!(local.wakes.load(Ordering::Relaxed), 1, "the local path");
        assert_eq!(registered.wakes.load(Ordering::Relaxed), 0);

        let nested = registered.context.enter(registered.clone());
        waker(key).wake();
        assert_eq!(registered.wakes.load(Ordering::Relaxed), 1);
        drop(nested);
        waker(key).wake();
        assert_eq!(
            local.wakes.load(Ordering::Relaxed),
            2,
            "the outer entry is back"
        );

        drop(guard);
        waker(key).wake();
        assert_eq!(
            registered.wakes.load(Ordering::Relaxed),
            2,
            "the registry path"
        );
        assert_eq!(local.wakes.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_wake_for_another_runtime_ignores_the_entered_one() {
        let (entered, _registration) = register_count();
        let (other, _other_registration) = register_count();
        let _guard = entered.context.enter(entered.clone());
        waker(TaskKey::new(other.context.id(), 0, 0)).wake();
        assert_eq!(other.wakes.load(Ordering::Relaxed), 1);
        assert_eq!(entered.wakes.load(Ordering::Relaxed), 0);
    }
}
