//! Regression tests for failures found by seeded random programs (genrt's work-stealing
//! runtime under random task trees), each minimised to a plain test.

use genrt::Handle;
use support::{serial, Watchdog};

// ---------------------------------------------------------------------------------------------
// Regression tests: failures the random programs found, minimised.
// ---------------------------------------------------------------------------------------------

/// Seed 31 (an extra thread's `Handle::block_on` of a node doing `block_in_place`, on a
/// multi-thread runtime): `block_in_place` on a multi-thread runtime's `block_on` thread
/// leaves the runtime context for its closure, as Tokio's does (`exit_runtime`: it is
/// "on an executor, but not on the thread pool", which is allowed in a multi-thread
/// `block_on`), so a `Handle::block_on` inside works. genrt ran the closure still marked as
/// inside `block_on`, and the nested `block_on` panicked ("this thread is already inside
/// block_on").
#[test]
fn block_in_place_in_a_multi_thread_block_on_can_block_on() {
    let _serial = serial();
    let rt = genrt::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let out = Watchdog::new("block_in_place in a multi-thread block_on").run(move || {
        let out = rt.block_on(async {
            let child = genrt::spawn(async { 7 });
            let inner = genrt::task::block_in_place(|| Handle::current().block_on(child));
            // Back in `block_on` after the closure: a nested `block_on` is refused again.
            let again = std::panic::catch_unwind(|| {
                Handle::current().block_on(async {});
            });
            (inner.unwrap(), again.is_err())
        });
        drop(rt);
        out
    });
    assert_eq!(out, (7, true));
}

/// Tokio's `task_blocking.rs` `can_enter_current_thread_rt_from_within_block_in_place` as
/// Tokio writes it: `block_in_place` in the multi-thread runtime's `block_on` future itself
/// (`block_in_place.rs` ports it inside a spawned task, a worker, which hid the divergence
/// above).
#[test]
fn a_runtime_can_be_driven_in_block_in_place_of_a_multi_thread_block_on() {
    let _serial = serial();
    let out = Watchdog::new("a runtime inside block_in_place of a block_on").run(|| {
        let outer = genrt::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let out = outer.block_on(async {
            genrt::task::block_in_place(|| {
                let inner = genrt::Builder::new_current_thread().build().unwrap();
                inner.block_on(async { genrt::spawn(async { 7 }).await.unwrap() })
            })
        });
        drop(outer);
        out
    });
    assert_eq!(out, 7);
}
