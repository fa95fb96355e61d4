//! Tasks: spawning them, joining them, cancelling them and naming them, under the paths
//! Tokio's `tokio::task` uses, so code written for it ports by changing the crate name.
//!
//! Everything here is also at the crate root ([`genrt::spawn`](crate::spawn),
//! [`genrt::JoinHandle`](crate::JoinHandle), ...) except [`Id`], [`id`], [`try_id`],
//! task-local storage ([`LocalKey`], declared with [`task_local!`](crate::task_local)),
//! [`LocalSet`] and [`spawn_local`] (tasks that need not be `Send`), and the cooperative
//! budget ([`coop`], [`consume_budget`], [`unconstrained`]).
//!
//! ```
//! use genrt::task::{self, JoinSet};
//!
//! let rt = genrt::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let mut set = JoinSet::new();
//!     for i in 0..3u32 {
//!         set.spawn(async move {
//!             task::yield_now().await;
//!             i
//!         });
//!     }
//!     let blocking = task::spawn_blocking(|| 10u32);
//!     let mut sum = blocking.await.unwrap();
//!     while let Some(result) = set.join_next().await {
//!         sum += result.unwrap();
//!     }
//!     assert_eq!(sum, 13);
//! });
//! ```
//
// Inside: the cell that holds a future and its result (`cell`), the join handle that reads
// the result (`join`), the abort handle (`abort`), the join set, the task id and
// task-local storage (`local`).

pub(crate) mod abort;
pub(crate) mod cell;
pub mod coop;
pub(crate) mod id;
pub(crate) mod join;
pub(crate) mod join_set;
pub(crate) mod local;
#[cfg(not(loom))]
pub(crate) mod local_set;

pub use crate::block_in_place::block_in_place;
pub use crate::handle::{spawn, spawn_blocking};
pub use crate::yield_now::yield_now;
pub use abort::AbortHandle;
pub use coop::{consume_budget, unconstrained, Unconstrained};
pub use id::{id, try_id, Id};
pub use join::{JoinError, JoinHandle};
pub use join_set::JoinSet;
pub use local::{AccessError, LocalKey, TaskLocalFuture};
#[cfg(not(loom))]
pub use local_set::{spawn_local, LocalEnterGuard, LocalSet};

/// Stores `cx`'s waker in the `Option<Waker>` that `slot` picks out of a lock's state,
/// unless the one there already wakes the same task. `state` is the lock's guard, under which
/// the caller saw that what it waits for is not there yet; `lock` takes the lock again.
///
/// A waker's `clone` and `Drop` may run any code, the completion of what this lock guards
/// included (Tokio's `replace_parent_waker_drops_outside_lock`), so the new waker is cloned
/// and the replaced one dropped with the lock released. Returns `None` once the waker is
/// stored (the caller returns `Pending`), or the lock's guard again if, while it was
/// released, `ready` came to hold (the caller looks again).
pub(crate) fn register_waker<S, G: std::ops::DerefMut<Target = S>>(
    lock: impl Fn() -> G,
    mut state: G,
    cx: &std::task::Context<'_>,
    slot: impl Fn(&mut S) -> &mut Option<std::task::Waker>,
    ready: impl Fn(&S) -> bool,
) -> Option<G> {
    if slot(&mut state)
        .as_ref()
        .is_some_and(|waker| waker.will_wake(cx.waker()))
    {
        return None;
    }
    drop(state);
    let new = cx.waker().clone();
    let mut state = lock();
    if ready(&state) {
        drop(state);
        drop(new);
        return Some(lock());
    }
    let replaced = slot(&mut state).replace(new);
    drop(state);
    drop(replaced);
    None
}

/// The task module's futures, at Tokio's path (`tokio::task::futures`).
pub mod futures {
    pub use super::local::TaskLocalFuture;
}
