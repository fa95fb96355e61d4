//! The key waker: one static `RawWakerVTable` whose data word is a [`TaskKey`].
//!
//! The data pointer is never dereferenced; it is an integer carried in a pointer-sized word,
//! made with `ptr::without_provenance` and read back with `addr`. So cloning and dropping a
//! waker copy a word: no allocation, no reference count, no atomic read-modify-write. A
//! waker keeps nothing alive.

use std::ptr;
use std::task::{RawWaker, RawWakerVTable, Waker};

use crate::key::TaskKey;
use crate::registry;

/// The one vtable of every key waker. A `static` has a single address, so
/// [`Waker::will_wake`] is true for any two wakers of the same key.
static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop);

fn raw(key: TaskKey) -> RawWaker {
    let data = ptr::without_provenance::<()>(key.into_raw() as usize);
    RawWaker::new(data, &VTABLE)
}

fn key_of(data: *const ()) -> TaskKey {
    TaskKey::from_raw(data.addr() as u64)
}

fn clone(data: *const ()) -> RawWaker {
    raw(key_of(data))
}

fn wake(data: *const ()) {
    registry::wake(key_of(data));
}

fn drop(_data: *const ()) {}

/// Makes the waker for `key`. It allocates nothing and owns nothing; two wakers of the same
/// key [`will_wake`](Waker::will_wake) each other.
pub fn waker(key: TaskKey) -> Waker {
    // SAFETY: every function of VTABLE upholds the RawWaker contract: the data word is a
    // plain integer that is never dereferenced, clone returns a RawWaker with the same data
    // and vtable, and wake/drop release nothing because nothing was acquired. All of them are
    // thread-safe because they only copy integers or go through the registry's locks.
    unsafe { Waker::from_raw(raw(key)) }
}

/// The key inside `waker` if it is a genrt key waker (`None` for any other waker).
pub fn key_of_waker(waker: &Waker) -> Option<TaskKey> {
    ptr::eq(waker.vtable(), &VTABLE).then(|| key_of(waker.data()))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::key::RuntimeId;

    #[test]
    fn wakers_of_one_key_will_wake_each_other_and_carry_it() {
        let key = TaskKey::new(RuntimeId::new(0), 3, 1);
        let a = waker(key);
        let b = a.clone();
        assert!(a.will_wake(&b));
        assert!(!a.will_wake(&waker(TaskKey::new(RuntimeId::new(0), 3, 2))));
        assert_eq!(key_of_waker(&b), Some(key));
    }
}
