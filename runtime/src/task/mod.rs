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

/// Stores `cx`'s waker in `slot` unless the one there wakes the same task; returns the
/// waker it replaced, which the caller drops only after releasing the lock that guards
/// `slot`: dropping a waker may run any code (Tokio's `replace_parent_waker_drops_outside_lock`:
/// its `Drop` may complete the very task whose lock this is).
pub(crate) fn register_waker(
    slot: &mut Option<std::task::Waker>,
    cx: &std::task::Context<'_>,
) -> Option<std::task::Waker> {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => None,
        _ => slot.replace(cx.waker().clone()),
    }
}

/// The task module's futures, at Tokio's path (`tokio::task::futures`).
pub mod futures {
    pub use super::local::TaskLocalFuture;
}
