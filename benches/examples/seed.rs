//! The bug genrt exists to fix (redbadger/crux #268), side by side with the fix.
//!
//! A task holds a counter (an `Arc<()>`) and waits on a request to the "shell". The request
//! keeps the task's waker in a slot that the task's own future reaches. With an executor
//! whose waker owns its task, that is a cycle:
//!
//! ```text
//! Arc<Task> -> future -> request slot -> Waker -> Arc<Task>
//! ```
//!
//! so dropping the executor frees nothing: the counter stays at 2 forever. A genrt waker is a
//! key `(runtime, slot, generation)` that owns nothing, so dropping the runtime drops the
//! future and the counter goes back to 1; the waker left in the request is a no-op.
//!
//! Run it with `cargo run --example seed`. The `Arc<Task>` executor is the comparison
//! suite's `ArcTaskExecutor`, the pre-fix Crux design.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use genrt_benches::{ArcTaskExecutor, Contender, Spawner};

/// Where a pending request keeps the waiting task's waker, shared by the task's future and
/// the shell (which would resolve the request and wake the task).
type RequestSlot = Arc<Mutex<Option<Waker>>>;

/// A request nobody resolves: each poll leaves the task's waker in the slot.
struct Request {
    slot: RequestSlot,
}

impl Future for Request {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// The task of the scenario: holds `counter` while it waits on the request.
async fn waiting_task(counter: Arc<()>, slot: RequestSlot) {
    let _held = counter;
    Request { slot }.await;
}

/// Waits until the task has polled once: its waker is in the slot.
fn wait_until_suspended(slot: &RequestSlot) {
    while slot.lock().unwrap().is_none() {
        thread::sleep(Duration::from_millis(1));
    }
}

/// Runs the scenario on genrt: returns the counter's strong count after the drop.
fn on_genrt() -> usize {
    let counter = Arc::new(());
    let slot = RequestSlot::default();
    let rt = genrt::Builder::new()
        .worker_threads(1)
        .build()
        .expect("the runtime starts");
    drop(rt.spawn(waiting_task(counter.clone(), slot.clone())));
    wait_until_suspended(&slot);
    println!(
        "genrt:    counter while the task waits: {}",
        Arc::strong_count(&counter)
    );

    drop(rt);
    // The shell still holds the waker, and may wake it: it does nothing.
    let waker = slot
        .lock()
        .unwrap()
        .take()
        .expect("the task left its waker");
    waker.wake();
    Arc::strong_count(&counter)
}

/// The same scenario on the `Arc<Task>` executor.
fn on_arc_task() -> usize {
    let counter = Arc::new(());
    let slot = RequestSlot::default();
    let executor = ArcTaskExecutor::build(1);
    executor
        .spawner()
        .spawn_detached(waiting_task(counter.clone(), slot.clone()));
    wait_until_suspended(&slot);
    println!(
        "Arc<Task>: counter while the task waits: {}",
        Arc::strong_count(&counter)
    );

    drop(executor);
    // The shell lets go of its side of the request too: the task's future still holds the
    // slot, the slot holds the waker, and the waker owns the task.
    drop(slot);
    Arc::strong_count(&counter)
}

fn main() {
    let genrt = on_genrt();
    println!("genrt:    counter after dropping the runtime: {genrt} (the future was freed)");
    let arc_task = on_arc_task();
    println!(
        "Arc<Task>: counter after dropping the executor: {arc_task} (the task, its future and \
         everything they hold leaked)"
    );
    assert_eq!(genrt, 1, "genrt must free the suspended task");
    assert_eq!(
        arc_task, 2,
        "the Arc<Task> executor leaks the suspended task"
    );
}
