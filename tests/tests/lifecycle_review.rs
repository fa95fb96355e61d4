//! A review of the runtime's lifecycle: `Runtime`, `Handle`, `JoinHandle` and `AbortHandle`
//! across drops and shutdowns, as a Tokio user (and a test ported from Tokio's suite) meets
//! them.
//!
//! genrt bugs found, now fixed (each test failed before):
//! - Tokio's panic texts, which tests written for Tokio match with
//!   `#[should_panic(expected = ...)]`: a `block_on` of a runtime shut down by
//!   `UnhandledPanic::ShutdownRuntime` ("a spawned task panicked and the runtime is configured
//!   to shut down on unhandled panic", Tokio's `rt_basic.rs`/`rt_common.rs`
//!   `shutdown_on_panic`), a `JoinHandle` polled again after its result ("JoinHandle polled
//!   after completion") and `task::id` outside a task ("Can't get a task id when not inside a
//!   task"); genrt's own words follow Tokio's.
//!
//! Every test runs under a `support::Watchdog`; none bounds a real-time duration from above.

use std::future::pending;
use std::panic::{catch_unwind, AssertUnwindSafe};

use futures::FutureExt;
use genrt::{Builder, Runtime, UnhandledPanic};
use support::{panic_message, quiet_panics, Watchdog, INTENTIONAL};

fn mt(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

fn ct() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

/// A runtime flavor: its name, and how to build one.
type Flavor = (&'static str, fn() -> Runtime);

/// Tokio's panic under `UnhandledPanic::ShutdownRuntime`, which its tests match on.
const TOKIO_SHUTDOWN_ON_PANIC: &str =
    "a spawned task panicked and the runtime is configured to shut down on unhandled panic";

// ---------------------------------------------------------------- Tokio's panic texts

/// Tokio's `rt_basic.rs` `shutdown_on_panic` as Tokio writes it (its `rt_common.rs` has the
/// same under `unhandled_panic`): the `block_on` panics with Tokio's words. genrt's message
/// said "a task panicked and the runtime is configured with UnhandledPanic::ShutdownRuntime",
/// which the test's `expected` does not match.
#[test]
#[should_panic(
    expected = "a spawned task panicked and the runtime is configured to shut down on unhandled panic"
)]
fn shutdown_on_panic_uses_tokios_words() {
    let _quiet = quiet_panics();
    Watchdog::new("shutdown_on_panic").run(|| {
        let rt = Builder::new_current_thread()
            .unhandled_panic(UnhandledPanic::ShutdownRuntime)
            .build()
            .unwrap();
        rt.block_on(async {
            genrt::spawn(async { panic!("{INTENTIONAL}: boom") });
            pending::<()>().await;
        })
    });
}

/// The same on every flavor, for a `block_on` in progress and one started after the close:
/// both panic with Tokio's words.
#[test]
fn shutdown_on_panic_uses_tokios_words_on_every_flavor() {
    let _quiet = quiet_panics();
    let flavors: [Flavor; 3] = [
        ("current-thread", || {
            Builder::new_current_thread()
                .unhandled_panic(UnhandledPanic::ShutdownRuntime)
                .build()
                .unwrap()
        }),
        ("1 worker", || shutdown_on_panic_mt(1)),
        ("4 workers", || shutdown_on_panic_mt(4)),
    ];
    for (name, build) in flavors {
        let (during, after) = Watchdog::new(name).run(move || {
            let rt = build();
            let during = catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(async {
                    genrt::spawn(async { panic!("{INTENTIONAL}: boom") });
                    pending::<()>().await;
                })
            }))
            .expect_err("the block_on panics");
            let after = catch_unwind(AssertUnwindSafe(|| rt.block_on(async {})))
                .expect_err("a later block_on panics");
            (text_of(during), text_of(after))
        });
        assert!(during.contains(TOKIO_SHUTDOWN_ON_PANIC), "{name}: {during}");
        assert!(after.contains(TOKIO_SHUTDOWN_ON_PANIC), "{name}: {after}");
    }
}

fn shutdown_on_panic_mt(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .unhandled_panic(UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap()
}

/// A panic's message, or "" for a payload that is no string.
fn text_of(payload: Box<dyn std::any::Any + Send>) -> String {
    panic_message(&*payload).unwrap_or_default().to_owned()
}

/// A `JoinHandle` polled again after it returned its result panics with Tokio's words (its
/// `Core::take_output`), which tests written for Tokio match on.
#[test]
#[should_panic(expected = "JoinHandle polled after completion")]
fn a_join_handle_polled_after_completion_panics_with_tokios_words() {
    let _quiet = quiet_panics();
    Watchdog::new("a JoinHandle polled twice").run(|| {
        let rt = mt(1);
        let mut join = rt.spawn(async { 1 });
        assert_eq!(rt.block_on(&mut join).unwrap(), 1);
        let _ = (&mut join).now_or_never();
    });
}

/// `task::id` outside a task panics with Tokio's words (its `task::id`'s `expect`), in a
/// `block_on` future too.
#[test]
fn task_id_outside_a_task_panics_with_tokios_words() {
    let _quiet = quiet_panics();
    let (outside, in_block_on) = Watchdog::new("task::id outside a task").run(|| {
        let outside = catch_unwind(genrt::task::id).expect_err("no task");
        let rt = ct();
        let in_block_on = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async { genrt::task::id() })
        }))
        .expect_err("a block_on future is no task");
        (text_of(outside), text_of(in_block_on))
    });
    for message in [outside, in_block_on] {
        assert!(
            message.starts_with("Can't get a task id when not inside a task"),
            "{message}"
        );
        assert!(message.contains("try_id"), "{message}");
    }
}
