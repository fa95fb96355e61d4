//! A coalesced wake is never lost: what a waker wrote before a wake that found a poll already
//! owed (the task `SCHEDULED`, or `RUNNING | NOTIFIED`) is seen by that poll.
//!
//! Such a wake writes nothing to the task's state word; it is published by a pair of fences,
//! `F_W` after the waker's writes and `F_P` after the poller's claim (`waker/src/state.rs`,
//! "Coalesced wakes"; on x86 `F_P` is the claim's locked CAS, `f_p`). If either were missing,
//! the waker's write could sit in its store buffer while the poller claims the task and reads
//! the old value: the task returns `Pending` and no later wake comes. Here each round a
//! foreign thread writes a value with `Relaxed` stores (so the runtime's ordering is all that
//! carries it), wakes the task twice (the second wake usually finds it `SCHEDULED` or running
//! and coalesces), and waits for the task to acknowledge the value; a lost wake stops the
//! round, and the watchdog fails the test. Both paths are covered: wakes from a plain thread
//! (through the registry, `W2`) and from a thread inside the runtime's context (a blocking
//! closure of the runtime, whose wakes skip the registry).

use support::{drop_runtime, runtime, wait_until, Handoff, Watchdog};

/// Rounds per test: enough to cross many claims and polls in release.
const ROUNDS: u64 = if cfg!(debug_assertions) {
    20_000
} else {
    200_000
};

#[test]
fn coalesced_wakes_from_a_foreign_thread_are_never_lost() {
    Watchdog::new("coalesced_wakes_from_a_foreign_thread_are_never_lost").run(|| {
        for workers in [1, 2] {
            let rt = runtime(workers);
            let handoff = Handoff::new(ROUNDS);
            let handle = rt.spawn(handoff.follower());
            handoff.drive();
            wait_until("the follower's end", || handoff.is_done());
            rt.block_on(handle).unwrap();
            drop_runtime(rt);
        }
    });
}

#[test]
fn coalesced_wakes_from_inside_the_runtime_are_never_lost() {
    Watchdog::new("coalesced_wakes_from_inside_the_runtime_are_never_lost").run(|| {
        let rt = runtime(2);
        let handoff = Handoff::new(ROUNDS);
        let follower = rt.spawn(handoff.follower());
        // A blocking thread of the runtime is inside its context: its wakes go straight to
        // the runtime (no registry window, so no W2) and queue the task on the injector.
        let driver = {
            let handoff = handoff.clone();
            rt.spawn_blocking(move || handoff.drive())
        };
        rt.block_on(driver).unwrap();
        wait_until("the follower's end", || handoff.is_done());
        rt.block_on(follower).unwrap();
        drop_runtime(rt);
    });
}
