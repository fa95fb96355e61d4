//! The stable Tokio 1.54 items of `tokio::runtime`, `tokio::task` and `tokio::time` that
//! genrt lacked (found by diffing the two crates' rustdoc JSON), added with Tokio's
//! semantics and checked here: compile-only signature checks (typed fn pointers, trait
//! bounds) and behaviour. Every test runs under a `support::Watchdog`.
//!
//! Checked here:
//! - `Builder::name` / `Handle::name` (Tokio's `rt_handle.rs` `runtime_name`; an empty name
//!   panics, as Tokio's), and `#[genrt::main]`/`#[genrt::test]`'s `name = "..."`.
//! - `runtime::worker_index` (Tokio's `rt_worker_index.rs`, less its `LocalRuntime` case).
//! - `runtime::is_rt_shutdown_err` (always `false`: genrt has no I/O resources).
//! - `LocalSet::id` (a `runtime::Id`, unique among sets and runtimes).
//! - `task::coop::poll_proceed` and `RestoreOnPending` (`!Send + !Sync + Unpin`, as in
//!   Tokio's `async_send_sync.rs`).
//! - `time::error::Error` (constructors, predicates, `Display + Error + Copy`).
//! - `time::timeout`/`timeout_at` take `IntoFuture`, as Tokio's.
//! - `JoinSet: UnwindSafe + RefUnwindSafe` (Tokio's auto impls).
//! - the macros' `unhandled_panic = "..."` argument (Tokio's, unstable there).

use std::future::{Future, IntoFuture, Ready};
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

use genrt::runtime::{self, Builder, Handle, Id, Runtime};
use genrt::task::coop::{self, RestoreOnPending};
use genrt::task::{JoinSet, LocalSet};
use genrt::time::{error::Error as TimeError, timeout, timeout_at, Instant, Timeout};
use support::{panic_message, quiet_panics, serial, Watchdog};

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
fn assert_unpin<T: Unpin>() {}
fn assert_debug<T: std::fmt::Debug>() {}
fn assert_copy<T: Copy>() {}
fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
fn assert_unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}

/// `T: !Send` (an ambiguous method call resolves only when `T` is not `Send`).
macro_rules! assert_not_send {
    ($t:ty) => {{
        trait AmbiguousIfSend<A> {
            fn some_item() {}
        }
        impl<T: ?Sized> AmbiguousIfSend<()> for T {}
        impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}
        let _ = <$t as AmbiguousIfSend<_>>::some_item;
    }};
}

/// `T: !Sync`, as above.
macro_rules! assert_not_sync {
    ($t:ty) => {{
        trait AmbiguousIfSync<A> {
            fn some_item() {}
        }
        impl<T: ?Sized> AmbiguousIfSync<()> for T {}
        impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}
        let _ = <$t as AmbiguousIfSync<_>>::some_item;
    }};
}

/// A type that is `IntoFuture` but no `Future`, as Tokio's `timeout` accepts.
struct Later(u8);

impl IntoFuture for Later {
    type Output = u8;
    type IntoFuture = Ready<u8>;

    fn into_future(self) -> Ready<u8> {
        std::future::ready(self.0)
    }
}

/// Runs `f`, which must panic, and returns its message.
fn panic_text<R>(f: impl FnOnce() -> R) -> String {
    let _quiet = quiet_panics();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => panic_message(&*payload)
            .expect("a text panic message")
            .to_string(),
    }
}

// ---- signatures (compile-only) ----

#[test]
fn signatures_match_tokio() {
    Watchdog::new("signatures_match_tokio").run(|| {
        // tokio::runtime
        // `Builder::name(&mut self, impl Into<String>) -> &mut Self`.
        fn name_string(builder: &mut Builder, name: String) -> &mut Builder {
            builder.name(name)
        }
        fn name_str<'a>(builder: &'a mut Builder, name: &str) -> &'a mut Builder {
            builder.name(name)
        }
        let _: for<'a> fn(&'a mut Builder, String) -> &'a mut Builder = name_string;
        let _: for<'a, 'b> fn(&'a mut Builder, &'b str) -> &'a mut Builder = name_str;
        let _: for<'a> fn(&'a Handle) -> Option<&'a str> = Handle::name;
        let _: fn() -> Option<usize> = runtime::worker_index;
        let _: fn(&std::io::Error) -> bool = runtime::is_rt_shutdown_err;
        // tokio::task
        let _: fn(&LocalSet) -> Id = LocalSet::id;
        let _: for<'a, 'b> fn(&'a mut Context<'b>) -> Poll<RestoreOnPending> = coop::poll_proceed;
        let _: fn(&RestoreOnPending) = RestoreOnPending::made_progress;
        assert_not_send!(RestoreOnPending);
        assert_not_sync!(RestoreOnPending);
        assert_unpin::<RestoreOnPending>();
        assert_debug::<RestoreOnPending>();
        assert_unwind_safe::<JoinSet<u8>>();
        assert_unwind_safe::<JoinSet<std::rc::Rc<u8>>>();
        // tokio::time
        let _: fn() -> TimeError = TimeError::shutdown;
        let _: fn() -> TimeError = TimeError::at_capacity;
        let _: fn() -> TimeError = TimeError::invalid;
        let _: fn(&TimeError) -> bool = TimeError::is_shutdown;
        let _: fn(&TimeError) -> bool = TimeError::is_at_capacity;
        let _: fn(&TimeError) -> bool = TimeError::is_invalid;
        assert_error::<TimeError>();
        assert_copy::<TimeError>();
        assert_debug::<TimeError>();
        assert_send::<TimeError>();
        assert_sync::<TimeError>();
        let _: fn(Duration, Later) -> Timeout<Ready<u8>> = timeout::<Later>;
        let _: fn(Instant, Later) -> Timeout<Ready<u8>> = timeout_at::<Later>;
        let _: fn(Duration, Ready<u8>) -> Timeout<Ready<u8>> = timeout::<Ready<u8>>;
    });
}

// ---- runtime names ----

#[test]
fn builder_name_is_the_handles_name() {
    Watchdog::new("builder_name_is_the_handles_name").run(|| {
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .name("my-runtime")
            .build()
            .unwrap();
        assert_eq!(rt.handle().name(), Some("my-runtime"));
        let inside = rt
            .block_on(rt.spawn(async { Handle::current().name().map(str::to_owned) }))
            .unwrap();
        assert_eq!(inside.as_deref(), Some("my-runtime"));
        // The name names the runtime, not its threads.
        let thread = rt
            .block_on(rt.spawn(async { std::thread::current().name().map(str::to_owned) }))
            .unwrap();
        assert_ne!(thread.as_deref(), Some("my-runtime"));

        let ct = Builder::new_current_thread()
            .name(String::from("ct"))
            .build()
            .unwrap();
        assert_eq!(
            ct.block_on(async { Handle::current().name().map(str::to_owned) })
                .as_deref(),
            Some("ct")
        );
        // A cloned builder keeps it; the last call wins.
        let mut builder = Builder::new_current_thread();
        builder.name("first").name("second");
        assert_eq!(
            builder.clone().build().unwrap().handle().name(),
            Some("second")
        );
        assert_eq!(Runtime::new().unwrap().handle().name(), None);
    });
}

#[test]
fn an_empty_runtime_name_panics() {
    Watchdog::new("an_empty_runtime_name_panics").run(|| {
        let _serial = serial();
        let message = panic_text(|| {
            Builder::new_current_thread().name("  ");
        });
        assert!(message.contains("must not be empty"), "{message}");
        let message = panic_text(|| {
            Builder::new_current_thread().name("");
        });
        assert!(message.contains("must not be empty"), "{message}");
    });
}

#[genrt::test(name = "named-test")]
async fn the_test_macro_takes_a_name() {
    let _armed = Watchdog::new("the_test_macro_takes_a_name").arm();
    assert_eq!(Handle::current().name(), Some("named-test"));
    assert_eq!(
        Handle::current().runtime_flavor(),
        runtime::RuntimeFlavor::CurrentThread
    );
}

#[genrt::test(flavor = "multi_thread", worker_threads = 2, name = "named-mt")]
async fn the_test_macro_takes_a_name_with_other_arguments() {
    let _armed = Watchdog::new("the_test_macro_takes_a_name_with_other_arguments").arm();
    assert_eq!(Handle::current().name(), Some("named-mt"));
    assert_eq!(Handle::current().metrics().num_workers(), 2);
}

#[genrt::main(flavor = "current_thread", name = "main-rt")]
async fn a_named_main() -> Option<String> {
    Handle::current().name().map(str::to_owned)
}

#[test]
fn the_main_macro_takes_a_name() {
    Watchdog::new("the_main_macro_takes_a_name").run(|| {
        assert_eq!(a_named_main().as_deref(), Some("main-rt"));
    });
}

// ---- unhandled_panic as a macro argument ----

#[genrt::main(flavor = "current_thread", unhandled_panic = "shutdown_runtime")]
async fn shuts_down_at_the_first_panic() {
    drop(genrt::spawn(async { panic!("{}", support::INTENTIONAL) }));
    std::future::pending::<()>().await;
}

#[genrt::main(flavor = "current_thread", unhandled_panic = "ignore")]
async fn ignores_panics() -> bool {
    genrt::spawn(async { panic!("{}", support::INTENTIONAL) })
        .await
        .unwrap_err()
        .is_panic()
}

#[test]
fn the_macros_take_unhandled_panic() {
    Watchdog::new("the_macros_take_unhandled_panic").run(|| {
        let _serial = serial();
        let _quiet = quiet_panics();
        assert!(ignores_panics());
        // The block_on of the body panics once the task's panic shut the runtime down.
        assert!(std::panic::catch_unwind(shuts_down_at_the_first_panic).is_err());
    });
}

// ---- worker_index (Tokio's rt_worker_index.rs) ----

#[test]
fn worker_index_outside_runtime() {
    Watchdog::new("worker_index_outside_runtime").run(|| {
        assert_eq!(runtime::worker_index(), None);
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let _guard = rt.enter(); // entered, but no worker
        assert_eq!(runtime::worker_index(), None);
    });
}

#[test]
fn worker_index_current_thread() {
    Watchdog::new("worker_index_current_thread").run(|| {
        let rt = Builder::new_current_thread().enable_all().build().unwrap();
        assert_eq!(rt.block_on(async { runtime::worker_index() }), Some(0));
        let task = rt.spawn(async { runtime::worker_index() });
        assert_eq!(rt.block_on(task).unwrap(), Some(0));
        // A blocking closure is on no worker.
        assert_eq!(
            rt.block_on(rt.spawn_blocking(runtime::worker_index))
                .unwrap(),
            None
        );
    });
}

#[test]
fn worker_index_current_thread_concurrent_block_on() {
    Watchdog::new("worker_index_current_thread_concurrent_block_on").run(|| {
        let rt = std::sync::Arc::new(Builder::new_current_thread().enable_all().build().unwrap());
        let (entered_tx, entered_rx) = mpsc::sync_channel(1);
        let (release_tx, release_rx) = futures::channel::oneshot::channel::<()>();

        let owner_rt = rt.clone();
        let owner = std::thread::spawn(move || {
            owner_rt.block_on(async {
                entered_tx.send(()).unwrap();
                release_rx.await.unwrap();
                runtime::worker_index()
            })
        });
        entered_rx.recv().unwrap();

        // The owner drives the runtime while it waits: a second block_on only polls its own
        // future, on no worker.
        let other_rt = rt.clone();
        let other =
            std::thread::spawn(move || other_rt.block_on(async { runtime::worker_index() }));
        assert_eq!(other.join().unwrap(), None);
        release_tx.send(()).unwrap();
        assert_eq!(owner.join().unwrap(), Some(0));
    });
}

#[test]
fn worker_index_multi_thread() {
    Watchdog::new("worker_index_multi_thread").run(|| {
        let rt = Builder::new_multi_thread()
            .worker_threads(3)
            .build()
            .unwrap();
        // The block_on thread is no worker.
        assert_eq!(rt.block_on(async { runtime::worker_index() }), None);
        let mut seen = Vec::new();
        for _ in 0..32 {
            let index = rt
                .block_on(rt.spawn(async { runtime::worker_index() }))
                .unwrap();
            let index = index.expect("a task runs on a worker");
            assert!(index < 3, "{index}");
            seen.push(index);
        }
        // Blocking threads, and a worker inside block_in_place, are no workers.
        assert_eq!(
            rt.block_on(rt.spawn_blocking(runtime::worker_index))
                .unwrap(),
            None
        );
        let in_place = rt.spawn(async { genrt::task::block_in_place(runtime::worker_index) });
        assert_eq!(rt.block_on(in_place).unwrap(), None);
        // The index matches the per-worker metrics' range.
        assert_eq!(rt.metrics().num_workers(), 3);
    });
}

// ---- is_rt_shutdown_err ----

#[test]
fn no_genrt_error_is_a_runtime_shutdown_error() {
    Watchdog::new("no_genrt_error_is_a_runtime_shutdown_error").run(|| {
        let rt = Runtime::new().unwrap();
        let join_error: std::io::Error = {
            let task = rt.spawn(std::future::pending::<()>());
            task.abort();
            rt.block_on(task).unwrap_err().into()
        };
        assert!(!runtime::is_rt_shutdown_err(&join_error));
        let elapsed: std::io::Error = rt
            .block_on(timeout(Duration::ZERO, std::future::pending::<()>()))
            .unwrap_err()
            .into();
        assert!(!runtime::is_rt_shutdown_err(&elapsed));
        assert!(!runtime::is_rt_shutdown_err(&std::io::Error::other(
            "A Tokio 1.x context was found, but it is being shutdown."
        )));
    });
}

// ---- LocalSet::id ----

#[test]
fn local_set_ids_are_unique() {
    Watchdog::new("local_set_ids_are_unique").run(|| {
        let rt = Builder::new_current_thread().build().unwrap();
        let sets: Vec<LocalSet> = (0..8).map(|_| LocalSet::new()).collect();
        let mut ids: Vec<Id> = sets.iter().map(LocalSet::id).collect();
        ids.push(rt.handle().id());
        let unique: std::collections::HashSet<Id> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len());
        // Stable over the set's life, and printable.
        let set = LocalSet::new();
        let id = set.id();
        set.block_on(&rt, async {
            genrt::task::spawn_local(async {}).await.unwrap()
        });
        assert_eq!(set.id(), id);
        assert!(!id.to_string().is_empty());
        assert!(format!("{set:?}").contains("LocalSet"));
        // Never reused by a later set.
        drop(sets);
        assert!(!ids.contains(&LocalSet::new().id()));
    });
}

// ---- coop::poll_proceed / RestoreOnPending ----

/// A leaf future that completes at once, spending a unit of budget through `poll_proceed`.
struct Leaf;

impl Future for Leaf {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let restore = std::task::ready!(coop::poll_proceed(cx));
        restore.made_progress();
        Poll::Ready(())
    }
}

#[test]
fn poll_proceed_spends_the_budget_and_yields() {
    Watchdog::new("poll_proceed_spends_the_budget_and_yields").run(|| {
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let (ready_in_one_poll, polls) = rt
            .block_on(rt.spawn(async {
                let mut polls = 0u32;
                let ready = std::future::poll_fn(|cx| {
                    polls += 1;
                    let mut ready = 0;
                    while Pin::new(&mut Leaf).poll(cx).is_ready() {
                        ready += 1;
                    }
                    Poll::Ready(ready)
                })
                .await;
                // Awaiting leaves in a loop yields every 128 and goes on.
                for _ in 0..1_000 {
                    Leaf.await;
                }
                (ready, polls)
            }))
            .unwrap();
        assert_eq!(ready_in_one_poll, 128);
        assert_eq!(polls, 1);
    });
}

#[test]
fn restore_on_pending_gives_the_unit_back_unless_progress_was_made() {
    Watchdog::new("restore_on_pending_gives_the_unit_back").run(|| {
        let rt = Runtime::new().unwrap();
        let counts = rt
            .block_on(rt.spawn(async {
                std::future::poll_fn(|cx| {
                    // 200 units taken and given back: the budget is whole.
                    for _ in 0..200 {
                        match coop::poll_proceed(cx) {
                            Poll::Ready(restore) => drop(restore),
                            Poll::Pending => panic!("the budget ran out"),
                        }
                    }
                    let mut spent = 0;
                    while let Poll::Ready(restore) = coop::poll_proceed(cx) {
                        restore.made_progress();
                        spent += 1;
                    }
                    let after = coop::has_budget_remaining();
                    Poll::Ready((spent, after))
                })
                .await
            }))
            .unwrap();
        assert_eq!(counts, (128, false));
    });
}

#[test]
fn poll_proceed_without_a_budget_is_always_ready() {
    Watchdog::new("poll_proceed_without_a_budget_is_always_ready").run(|| {
        // A plain thread: no budget.
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        for _ in 0..1_000 {
            match coop::poll_proceed(&mut cx) {
                Poll::Ready(restore) => restore.made_progress(),
                Poll::Pending => panic!("no budget outside a runtime"),
            }
        }
        // Inside `unconstrained`.
        let rt = Runtime::new().unwrap();
        let ready = rt
            .block_on(rt.spawn(coop::unconstrained(async {
                std::future::poll_fn(|cx| {
                    let mut ready = 0;
                    while ready < 1_000 && Pin::new(&mut Leaf).poll(cx).is_ready() {
                        ready += 1;
                    }
                    Poll::Ready(ready)
                })
                .await
            })))
            .unwrap();
        assert_eq!(ready, 1_000);
        assert!(format!(
            "{:?}",
            rt.block_on(async {
                std::future::poll_fn(|cx| coop::poll_proceed(cx).map(|r| format!("{r:?}"))).await
            })
        )
        .contains("RestoreOnPending"));
    });
}

// ---- time::error::Error ----

#[test]
fn time_error_kinds() {
    Watchdog::new("time_error_kinds").run(|| {
        let errors = [
            TimeError::shutdown(),
            TimeError::at_capacity(),
            TimeError::invalid(),
        ];
        let kinds: Vec<(bool, bool, bool)> = errors
            .iter()
            .map(|e| (e.is_shutdown(), e.is_at_capacity(), e.is_invalid()))
            .collect();
        assert_eq!(
            kinds,
            [
                (true, false, false),
                (false, true, false),
                (false, false, true)
            ]
        );
        let texts: std::collections::HashSet<String> =
            errors.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 3);
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(errors[0]);
        assert!(boxed.source().is_none());
        assert!(format!("{:?}", errors[1]).contains("AtCapacity"));
    });
}

// ---- timeout with IntoFuture ----

#[test]
fn timeout_takes_into_future() {
    Watchdog::new("timeout_takes_into_future").run(|| {
        let rt = Runtime::new().unwrap();
        rt.block_on(async {
            assert_eq!(timeout(Duration::from_secs(60), Later(7)).await, Ok(7));
            let at = Instant::now() + Duration::from_secs(60);
            assert_eq!(timeout_at(at, Later(8)).await, Ok(8));
            // A join handle, the common case, still works.
            let join = genrt::spawn(async { 9 });
            assert_eq!(
                timeout(Duration::from_secs(60), join)
                    .await
                    .unwrap()
                    .unwrap(),
                9
            );
            let t = timeout(Duration::ZERO, Later(1));
            let inner: &Ready<u8> = t.get_ref(); // the type is `Timeout<Later::IntoFuture>`
            assert!(format!("{inner:?}").contains("Ready"));
            assert_eq!(t.await, Ok(1));
        });
    });
}

// ---- JoinSet and unwinding ----

#[test]
fn join_set_crosses_catch_unwind() {
    Watchdog::new("join_set_crosses_catch_unwind").run(|| {
        let _serial = serial();
        let rt = Runtime::new().unwrap();
        let handle = rt.handle().clone();
        // No AssertUnwindSafe needed, as with Tokio's: a set moves into the closure, or is
        // borrowed by it.
        let set = std::panic::catch_unwind(move || {
            let mut set = JoinSet::new();
            set.spawn_on(async { 1 }, &handle);
            set
        })
        .unwrap();
        let set_ref = &set;
        assert_eq!(std::panic::catch_unwind(|| set_ref.len()).unwrap(), 1);
        let caught = {
            let _quiet = quiet_panics();
            let doomed: JoinSet<u8> = JoinSet::new();
            std::panic::catch_unwind(move || {
                let _doomed = doomed;
                panic!("{}", support::INTENTIONAL);
            })
        };
        assert!(caught.is_err());
        let mut set = set;
        assert_eq!(rt.block_on(set.join_next()).unwrap().unwrap(), 1);
    });
}
