//! Allocation accounting for `LocalSet`: a dropped set gives back every byte while its tasks'
//! stale wakers are still held. Its own file (one test per process), as `memory.rs`: the
//! quiescing of the counting allocator counts the process's threads, which another test of
//! the same binary would add to.

use std::sync::{Arc, Mutex};
use std::task::Waker;

use support::counting::{live_bytes, warm_up_runtime, Baseline, CountingAlloc};
use support::{drop_runtime, runtime, serial, ParkWaker};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn a_dropped_local_set_gives_back_every_byte_while_its_stale_wakers_are_held() {
    const TASKS: usize = 10_000;
    let _serial = serial();
    warm_up_runtime();

    let counter = std::rc::Rc::new(());
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::new(Mutex::new(Vec::with_capacity(TASKS)));
    let baseline = Baseline::take();

    let rt = runtime(1);
    let local = genrt::task::LocalSet::new();
    for _ in 0..TASKS {
        // Not `Send`: a local task.
        let counter = counter.clone();
        let future = ParkWaker {
            held: wakers.clone(),
            parked: false,
        };
        drop(local.spawn_local(async move {
            let _counter = counter;
            future.await;
        }));
    }
    local.block_on(&rt, async {
        // Each turn of the set polls up to 61 tasks: bounded by the task count.
        for _ in 0..=TASKS {
            if wakers.lock().unwrap().len() == TASKS {
                break;
            }
            genrt::task::yield_now().await;
        }
    });
    assert_eq!(std::rc::Rc::strong_count(&counter), TASKS + 1);
    drop(local);
    assert_eq!(
        std::rc::Rc::strong_count(&counter),
        1,
        "every suspended local future was dropped with its set"
    );
    drop_runtime(rt);
    let after = baseline.measure();
    assert_eq!(
        wakers.lock().unwrap().len(),
        TASKS,
        "the stale wakers are still held"
    );
    assert_eq!(
        after,
        baseline.bytes(),
        "live bytes after dropping the set ({after}) differ from the baseline before it ({}) \
         by {} bytes, with its {TASKS} stale wakers held",
        baseline.bytes(),
        after - baseline.bytes()
    );
    let bytes_before = live_bytes();
    for waker in wakers.lock().unwrap().iter() {
        waker.wake_by_ref();
    }
    assert_eq!(
        live_bytes(),
        bytes_before,
        "waking stale local wakers allocated"
    );
}
