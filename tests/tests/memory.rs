//! Allocation accounting: a counting global allocator shows that a dropped runtime gives back
//! every byte while its stale wakers are still held.
//!
//! The live-byte counter is process-global, so every test in this file takes `serial()` first.
//! Keep this file to tests that measure global live bytes: a test that ends while another one
//! measures makes the test harness allocate and free on its own threads, which shows up in a
//! global count (measurements on the current thread only live in `waker_alloc.rs`).

use std::sync::{Arc, Mutex};
use std::task::Waker;

use support::counting::{allocations, live_bytes, warm_up_runtime, Baseline, CountingAlloc};
use support::{drop_runtime, runtime, serial, wait_until, ParkWaker};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn ten_thousand_suspended_tasks_give_back_every_byte_while_their_stale_wakers_are_held() {
    const TASKS: usize = 10_000;
    let _serial = serial();
    warm_up_runtime();

    // Everything the measurement itself keeps is allocated before the baseline.
    let counter = Arc::new(());
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::new(Mutex::new(Vec::with_capacity(TASKS)));
    let baseline = Baseline::take();

    let rt = runtime(2);
    for _ in 0..TASKS {
        let counter = counter.clone();
        let future = ParkWaker {
            held: wakers.clone(),
            parked: false,
        };
        // Detached: the join handle would keep the task cell allocated.
        drop(rt.spawn(async move {
            let _counter = counter;
            future.await;
        }));
    }
    wait_until("all 10,000 tasks suspended", || {
        wakers.lock().unwrap().len() == TASKS
    });
    assert_eq!(Arc::strong_count(&counter), TASKS + 1);
    let during = live_bytes() - baseline.bytes();
    assert!(
        during >= (TASKS * 64) as isize,
        "the allocator sees the runtime's per-task allocations ({during} bytes for {TASKS} \
         tasks), so a leak of them would show"
    );

    drop_runtime(rt);

    assert_eq!(
        Arc::strong_count(&counter),
        1,
        "every suspended future was dropped with the runtime"
    );
    let after = baseline.measure();
    assert_eq!(
        Arc::strong_count(&wakers),
        1,
        "no future keeps the waker vector"
    );
    let held = wakers.lock().unwrap();
    assert_eq!(held.len(), TASKS, "all 10,000 stale wakers are still held");
    assert_eq!(
        after,
        baseline.bytes(),
        "live bytes after dropping the runtime ({after}) differ from the baseline before it \
         ({}) by {} bytes, with the runtime's {TASKS} stale wakers held",
        baseline.bytes(),
        after - baseline.bytes()
    );

    // The stale wakers wake nothing and allocate nothing. (Compared with the count just
    // before the wakes: `after` is the low point of crossbeam-epoch's cycle, which the live
    // bytes may sit one node above; see `support::counting::drain_epoch`.)
    let bytes_before = live_bytes();
    let allocations_before = allocations();
    for waker in held.iter() {
        waker.wake_by_ref();
        let by_value = waker.clone();
        by_value.wake();
    }
    assert_eq!(
        live_bytes(),
        bytes_before,
        "waking stale wakers changed the live bytes"
    );
    assert_eq!(
        allocations(),
        allocations_before,
        "waking stale wakers allocated"
    );
    drop(held);
}
