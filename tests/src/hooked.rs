//! [`clone_hook_waker`]: a waker whose `clone` runs a closure once, for tests that check a
//! runtime never clones a user's waker under a lock that the clone's code could need (the
//! `RawWakerVTable` contract lets `clone` run any code). The one `unsafe` of the support
//! crate besides the counting allocator: `Wake` cannot hook `clone`.

use std::sync::{Arc, Mutex};
use std::task::{RawWaker, RawWakerVTable, Waker};

/// What the waker's data pointer points at: `Arc::into_raw` of this.
struct Hooked {
    on_clone: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, drop_one, wake_by_ref, drop_one);

/// # Safety
///
/// `data` is `Arc::into_raw` of a `Hooked` whose count this waker owns one of.
unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: the caller's contract; `ManuallyDrop` leaves this waker's count as it was.
    let this = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(data.cast::<Hooked>()) });
    let hook = this.on_clone.lock().unwrap().take();
    if let Some(hook) = hook {
        hook();
    }
    let copy = Arc::clone(&this);
    RawWaker::new(Arc::into_raw(copy).cast(), &VTABLE)
}

/// # Safety
///
/// As [`clone`]; gives up this waker's count (`wake` and `drop`).
unsafe fn drop_one(data: *const ()) {
    // SAFETY: the caller's contract: this waker's own count, given up once.
    drop(unsafe { Arc::from_raw(data.cast::<Hooked>()) });
}

/// # Safety
///
/// As [`clone`].
unsafe fn wake_by_ref(_data: *const ()) {}

/// A waker that does nothing when woken, and runs `hook` the first time it (or a clone of
/// it) is cloned.
pub fn clone_hook_waker(hook: impl FnOnce() + Send + 'static) -> Waker {
    let data = Arc::into_raw(Arc::new(Hooked {
        on_clone: Mutex::new(Some(Box::new(hook))),
    }));
    // SAFETY: every function of VTABLE keeps the RawWaker contract for a data pointer made
    // by `Arc::into_raw` of a `Hooked`: `clone` takes one more count and returns a waker of
    // the same vtable, `wake` and `drop` give up the waker's count once, `wake_by_ref`
    // touches nothing; `Hooked` is `Send + Sync`, so the waker may move between threads.
    unsafe { Waker::from_raw(RawWaker::new(data.cast(), &VTABLE)) }
}
