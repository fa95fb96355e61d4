//! The lifecycle review's scenarios (`lifecycle_review.rs`) under the counting allocator:
//! a runtime shut down from awkward places gives back every byte, on a current-thread and a
//! multi-thread runtime, three rounds each. Its own binary, one test: live bytes are
//! process-global, so nothing may run beside the measurement.
//!
//! - dropped inside one of its own blocking closures;
//! - dropped by its own task, which held the last `Arc<Runtime>` and completes;
//! - dropped from a `LocalSet` task inside its own `Handle::block_on`;
//! - a task whose future panics in `Drop` right after it returned (its output and the panic
//!   payload freed; awaited, and detached), then the drop;
//! - dropped with a task that owns another runtime, which the sweep drops.
//!
//! (A future awaited *inside* an `async` block whose `Drop` panics after it returned leaks
//! the value it returned, in rustc's generated code, with any executor: such a scenario
//! measures the compiler, not genrt, so the futures here are the tasks themselves.)
//!
//! Every scenario runs under a `support::Watchdog`.

use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};

use futures::FutureExt;
use genrt::{Builder, Runtime};
use support::counting::{warm_up_runtime, Baseline, CountingAlloc};
use support::{quiet_panics, serial, Watchdog, INTENTIONAL};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// A runtime flavor: its name, and how to build one.
type Flavor = (&'static str, fn() -> Runtime);

const FLAVORS: [Flavor; 2] = [
    ("current-thread", || {
        Builder::new_current_thread().build().unwrap()
    }),
    ("2 workers", || {
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
    }),
];

/// Ready at once with the bytes it holds; its `Drop` panics.
struct PanicsAfterReady(Option<Vec<u8>>);

impl Future for PanicsAfterReady {
    type Output = Vec<u8>;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Vec<u8>> {
        Poll::Ready(self.0.take().expect("polled once"))
    }
}

impl Drop for PanicsAfterReady {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{INTENTIONAL}: the future's drop after its output");
        }
    }
}

/// A runtime behind a lock, for code that drops it where it cannot be moved to.
fn slot(rt: Runtime) -> Arc<Mutex<Option<Runtime>>> {
    Arc::new(Mutex::new(Some(rt)))
}

#[test]
fn runtimes_shut_down_from_awkward_places_give_back_every_byte() {
    let _serial = serial();
    let _quiet = quiet_panics();
    warm_up_runtime();
    for round in 0..3 {
        for (name, build) in FLAVORS {
            let baseline = Baseline::take();
            Watchdog::new("dropped in its own blocking closure").run(move || {
                let rt = slot(build());
                let handle = rt.lock().unwrap().as_ref().unwrap().handle().clone();
                let pending_task = handle.spawn(pending::<()>());
                let closure = handle.spawn_blocking(move || drop(rt.lock().unwrap().take()));
                futures::executor::block_on(closure).unwrap();
                drop(pending_task);
            });
            baseline.check(format_args!("round {round}, {name}: own blocking closure"));

            let baseline = Baseline::take();
            Watchdog::new("the last Arc dropped by its own task").run(move || {
                let rt = Arc::new(build());
                let handle = rt.handle().clone();
                let own = rt.clone();
                let (dropped, last) = futures::channel::oneshot::channel::<()>();
                let join = rt.spawn(async move {
                    let _own = own;
                    last.await.unwrap();
                    1
                });
                let abort = join.abort_handle();
                drop(rt);
                dropped.send(()).unwrap();
                if name == "current-thread" {
                    handle.block_on(async {
                        while !abort.is_finished() {
                            genrt::yield_now().await;
                        }
                    });
                }
                assert_eq!(futures::executor::block_on(join).unwrap(), 1);
            });
            baseline.check(format_args!("round {round}, {name}: the last Arc"));

            let baseline = Baseline::take();
            Watchdog::new("dropped from a LocalSet task").run(move || {
                let rt = slot(build());
                let handle = rt.lock().unwrap().as_ref().unwrap().handle().clone();
                let local = genrt::task::LocalSet::new();
                handle.block_on(local.run_until(async move {
                    genrt::task::spawn_local(async move {
                        drop(rt.lock().unwrap().take());
                        genrt::yield_now().await;
                    })
                    .await
                    .unwrap();
                }));
            });
            baseline.check(format_args!("round {round}, {name}: a LocalSet task"));

            let baseline = Baseline::take();
            Watchdog::new("a future that panics in Drop after its output").run(move || {
                let rt = build();
                let awaited = rt.spawn(PanicsAfterReady(Some(vec![1; 1000])));
                assert!(rt.block_on(awaited).unwrap_err().is_panic());
                drop(rt.spawn(PanicsAfterReady(Some(vec![2; 100]))));
                rt.block_on(async {
                    for _ in 0..10 {
                        genrt::yield_now().await;
                    }
                });
                drop(rt);
            });
            baseline.check(format_args!(
                "round {round}, {name}: a drop panic after Ready"
            ));

            let baseline = Baseline::take();
            Watchdog::new("a runtime dropped by another's sweep").run(move || {
                let outer = build();
                let inner = build();
                let inner_task = inner.spawn(pending::<()>());
                let (tx, rx) = mpsc::channel();
                let owner = outer.spawn(async move {
                    let _inner = inner;
                    tx.send(()).unwrap();
                    pending::<()>().await
                });
                outer.block_on(async {
                    while rx.try_recv().is_err() {
                        genrt::yield_now().await;
                    }
                });
                drop(outer);
                drop(owner);
                let result = inner_task.now_or_never().expect("ready after the drop");
                assert!(result.unwrap_err().is_cancelled());
            });
            baseline.check(format_args!(
                "round {round}, {name}: another runtime's sweep"
            ));
        }
    }
}
