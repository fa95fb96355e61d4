//! `settle`: waiting until no task of the runtime is queued or running
//! ([`Handle::settle`](crate::Handle::settle)). Nothing here is written on any per-task path:
//! the settled state is derived from the idle workers (`idle`, whose `README.md`, "Settle",
//! has the protocol and the proof), and this module only states the rule and reads it.
//!
//! # The rule
//!
//! The runtime is settled at an instant when, under the `sleepers` lock of `idle`, **no worker
//! is present** (each is registered to sleep, not started yet, or exited) **and the injector
//! is empty** (or the runtime is closed: its workers leave and shutdown drops what is left).
//!
//! # Why that means "nothing queued or running"
//!
//! **Invariant:** only a present worker runs a task or holds keys in its local queues (LIFO
//! slot, deque, deferred list). A worker registers only after `next_task` and `search` came
//! back empty: its LIFO slot and deferred list were emptied and its deque popped dry, and no
//! other thread pushes to them. A registered worker pushes nothing and polls nothing until it
//! leaves `registered`, which takes the `sleepers` lock; so while `settle` holds that lock,
//! the set of present workers cannot grow. Every other key is in the injector, or is being
//! pushed by a thread outside the runtime's workers (a foreign spawn or wake between its
//! compare-and-swap and its push), which is concurrent with the `settle` and may land on
//! either side of it, as `Runtime::settle` documents.
//!
//! A task's own spawns and wakes go to its worker's local queues, so its worker stays present
//! until they have run, transitively; a foreign push that returned before `settle` was called
//! is in the injector, or was taken from it by a worker that is present, or that registered
//! again after running it (under the lock, so `settle` sees that worker's work).
//!
//! # What replaced the activity count
//!
//! The count of queued or running tasks (one `SeqCst` read-modify-write of one runtime-wide
//! word per schedule, per poll that left a task idle and per completion) is gone. The
//! invariant above replaces it; its cost is on the idle path only (a field check under the
//! lock a parking worker takes anyway). Foreign threads need no accounting at all: their keys
//! are in the injector, which `settle` reads.

use std::time::Instant;

use crate::shared::Shared;

/// Waits until the runtime is settled (the rule above), or until `deadline`. Returns whether
/// it settled.
pub(crate) fn settle(shared: &Shared, deadline: Option<Instant>) -> bool {
    shared.idle.wait_settled(deadline, || {
        shared.injector.is_empty() || shared.is_closed()
    })
}
