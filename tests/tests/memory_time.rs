//! Allocation accounting for timers: a runtime dropped with 10,000 pending sleeps (their
//! wakers held outside) gives back every byte: the wheel's entries, their storage and the
//! tasks.
//!
//! Its own binary, with one test: the live-byte counter and the thread count are
//! process-global, so a second test in the binary (started by the harness while this one
//! measures, or waiting for it) would move them (see `memory.rs`).

use std::sync::{Arc, Mutex};
use std::task::Waker;

use support::counting::{live_bytes, warm_up_runtime, Baseline, CountingAlloc};
use support::{drop_runtime, runtime, wait_until, ParkWaker};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Issue 11: a runtime dropped with 10,000 pending sleeps (each task also left its waker
/// outside) gives back every byte: the wheel's entries, their storage and the tasks.
#[test]
fn ten_thousand_pending_sleeps_give_back_every_byte_when_the_runtime_drops() {
    const TASKS: usize = 10_000;
    warm_up_runtime();

    let counter = Arc::new(());
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::new(Mutex::new(Vec::with_capacity(TASKS)));
    let baseline = Baseline::take();

    let rt = runtime(2);
    for _ in 0..TASKS {
        let counter = counter.clone();
        let park = ParkWaker {
            held: wakers.clone(),
            parked: false,
        };
        drop(rt.spawn(async move {
            let _counter = counter;
            // Both are polled: the sleep registers its entry, the other leaves the waker.
            futures::future::join(
                genrt::time::sleep(std::time::Duration::from_secs(3600)),
                park,
            )
            .await;
        }));
    }
    wait_until("all 10,000 sleeps registered", || {
        wakers.lock().unwrap().len() == TASKS
    });
    let during = live_bytes() - baseline.bytes();
    assert!(
        during >= (TASKS * 64) as isize,
        "the allocator sees the runtime's per-task allocations ({during} bytes)"
    );

    drop_runtime(rt);

    assert_eq!(
        Arc::strong_count(&counter),
        1,
        "every sleeping future was dropped"
    );
    let after = baseline.measure();
    assert_eq!(
        wakers.lock().unwrap().len(),
        TASKS,
        "the wakers are still held"
    );
    assert_eq!(
        after,
        baseline.bytes(),
        "live bytes after dropping the runtime with {TASKS} pending sleeps differ from the \
         baseline by {} bytes",
        after - baseline.bytes()
    );
}
