//! Smoke benchmark: two figures that show the runtime and its waker are in working order.
//! Kept short on purpose; the comparison suite against other executors is a later issue.
//!
//! - `spawn_many_from_block_on`: spawn 10,000 empty tasks from `block_on` (not a worker
//!   thread, so every spawn goes through the injector, as in Tokio's `spawn_many_local`) and
//!   await every join handle, on a 2-worker runtime.
//! - `task_waker_clone_drop`: clone and drop the waker of a live genrt task: a copy of one
//!   word, with no reference count.
//!
//! `cargo bench --bench smoke` runs it; `cargo bench --bench smoke -- --test` runs each
//! benchmark once as a check.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

/// Tasks per iteration of `spawn_many_from_block_on`, as in Tokio's spawn_many benchmarks.
const SPAWNS: usize = 10_000;

fn runtime() -> genrt::Runtime {
    genrt::Builder::new()
        .worker_threads(2)
        .build()
        .expect("genrt: could not start a 2-worker runtime")
}

fn spawn_many_from_block_on(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("spawn_many_from_block_on/10000", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..SPAWNS)
                    .map(|i| genrt::spawn(async move { i }))
                    .collect();
                for handle in handles {
                    black_box(handle.await.expect("a spawned task failed"));
                }
            })
        })
    });
}

/// Leaves its task's waker in a slot the benchmark holds and stays pending.
struct Parked {
    slot: Arc<Mutex<Option<Waker>>>,
}

impl Future for Parked {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(cx.waker().clone());
        Poll::Pending
    }
}

fn task_waker_clone_drop(c: &mut Criterion) {
    let rt = runtime();
    let slot = Arc::new(Mutex::new(None));
    let _task = rt.spawn(Parked { slot: slot.clone() });
    let deadline = Instant::now() + Duration::from_secs(10);
    let waker = loop {
        if let Some(waker) = slot.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            break waker;
        }
        assert!(
            Instant::now() < deadline,
            "the parked task did not leave its waker within 10 s"
        );
        thread::sleep(Duration::from_millis(1));
    };
    c.bench_function("task_waker_clone_drop", |b| {
        b.iter(|| drop(black_box(black_box(&waker).clone())))
    });
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = smoke;
    config = config();
    targets = spawn_many_from_block_on, task_waker_clone_drop
}
criterion_main!(smoke);
