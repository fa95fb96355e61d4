//! A command that panics hangs neither its core, nor other cores, nor the runtime. What the
//! caller sees (the crate docs, "Panics"): the next `process_event` or `resolve` on that core
//! that settles re-raises the panic with its payload, once; the core carries on
//! (`EventOrder::Completion`), or, under `EventOrder::Fifo`, later `process_event`s panic
//! with a message saying the core's commands are gone.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{Effect, Event, TestApp, INTENTIONAL};
use genrt_crux::{Core, EventOrder, Options};
use support::{panic_message, quiet_panics, Watchdog};

/// A panic's message, or "" if it has none.
fn message(payload: &Box<dyn std::any::Any + Send>) -> String {
    panic_message(&**payload).unwrap_or_default().to_string()
}

/// The one `Ask` of `effects`.
fn only_ask(mut effects: Vec<Effect>) -> crux_core::Request<common::Ask> {
    assert_eq!(effects.len(), 1);
    match effects.pop() {
        Some(Effect::Ask(request)) => request,
        _ => panic!("expected an Ask"),
    }
}

#[test]
fn a_panicking_command_is_reraised_once_and_the_core_carries_on() {
    let _quiet = quiet_panics();
    Watchdog::new("a panicking command").run(|| {
        let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
        let core = Core::<TestApp>::with_runtime(rt.handle().clone());
        let other = Core::<TestApp>::with_runtime(rt.handle().clone());
        // A request in flight on the other core, across the panic.
        let mut other_request = only_ask(other.process_event(Event::Fetch(4)));

        // A panic in the first step: re-raised by the call that started it.
        let payload = catch_unwind(AssertUnwindSafe(|| core.process_event(Event::PanicAtOnce)))
            .expect_err("the command's panic reaches the caller");
        assert!(message(&payload).contains(INTENTIONAL));

        // A panic after a request: re-raised by the resolve that woke it.
        let mut request = only_ask(core.process_event(Event::PanicAfterRequest));
        let payload = catch_unwind(AssertUnwindSafe(|| core.resolve(&mut request, 1)))
            .expect_err("the command's panic reaches the resolving caller");
        assert!(message(&payload).contains("after its request"));

        // Once only, and the core carries on.
        let mut fetch = only_ask(core.process_event(Event::Fetch(1)));
        assert!(core.resolve(&mut fetch, 2).unwrap().is_empty());
        assert_eq!(core.view().got, 1);

        // The other core and the runtime were not disturbed.
        assert!(other.resolve(&mut other_request, 8).unwrap().is_empty());
        assert_eq!(other.view().sum, 8);
        assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
    });
}

#[test]
fn under_fifo_a_panic_ends_the_cores_commands_and_later_events_say_so() {
    let _quiet = quiet_panics();
    Watchdog::new("a panicking command under Fifo").run(|| {
        let core = Core::with_options(
            TestApp,
            Default::default(),
            Options::new().event_order(EventOrder::Fifo),
        );
        let mut held = only_ask(core.process_event(Event::Fetch(1)));
        let payload = catch_unwind(AssertUnwindSafe(|| core.process_event(Event::PanicAtOnce)))
            .expect_err("the command's panic reaches the caller");
        assert!(message(&payload).contains(INTENTIONAL));
        // The root command is gone with its commands: resolving is a no-op...
        assert!(core.resolve(&mut held, 2).unwrap().is_empty());
        assert_eq!(core.view().got, 0);
        // ...and a new event gets a clear panic, not a hang.
        let payload = catch_unwind(AssertUnwindSafe(|| core.process_event(Event::Fetch(2))))
            .expect_err("a core whose root panicked refuses new events");
        assert!(message(&payload).contains("EventOrder::Fifo"));
    });
}

/// A core whose runtime shut down under it (the caller dropped the runtime first) gives a
/// clear panic at the next call after a command needed a worker, never a hang.
#[test]
fn a_core_outliving_its_runtime_panics_with_a_message_instead_of_hanging() {
    let _quiet = quiet_panics();
    Watchdog::new("a core outliving its runtime").run(|| {
        let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
        let core = Core::<TestApp>::with_runtime(rt.handle().clone());
        let (tx, rx) = futures::channel::oneshot::channel();
        let event = Event::External {
            value: std::sync::Arc::new(std::sync::Mutex::new(Some(rx))),
            ran_on: std::sync::Arc::new(std::sync::Mutex::new(None)),
        };
        assert!(core.process_event(event).is_empty());
        drop(rt);
        // A wake from outside any call needs a worker, and there is none any more.
        tx.send(1).unwrap();
        let payload = catch_unwind(AssertUnwindSafe(|| core.process_event(Event::Got(0))))
            .expect_err("the next call panics");
        assert!(
            message(&payload).contains("has shut down"),
            "{}",
            message(&payload)
        );
        drop(core);
    });
}

/// `process_event` and `resolve` from a task (a worker thread) would block that worker until
/// the core settles; with one worker, a command that must step on a worker could never run.
/// They panic with a message instead (the crate docs, "Blocking"), and the core, its pending
/// request and the runtime are unharmed; from `spawn_blocking` they work.
#[test]
fn calls_from_a_worker_thread_panic_instead_of_stalling_it() {
    let _quiet = quiet_panics();
    Watchdog::new("calls from a worker thread").run(|| {
        let rt = genrt::Builder::new().worker_threads(1).build().unwrap();
        let core = std::sync::Arc::new(Core::<TestApp>::with_runtime(rt.handle().clone()));
        let mut request = only_ask(core.process_event(Event::Fetch(3)));

        let in_task = core.clone();
        let err = rt
            .block_on(rt.spawn(async move { in_task.process_event(Event::Fetch(1)) }))
            .expect_err("process_event on a worker panics");
        let payload = err.into_panic();
        assert!(
            message(&payload).contains("worker thread"),
            "{}",
            message(&payload)
        );

        let in_task = core.clone();
        let err = rt
            .block_on(rt.spawn(async move {
                let mut never = crux_core::RequestHandle::<u8>::Never;
                let _ = in_task.resolve(&mut never, 1);
            }))
            .expect_err("resolve on a worker panics");
        assert!(message(&err.into_panic()).contains("worker thread"));

        // From a blocking thread the same calls work, and the core is unharmed.
        let in_pool = core.clone();
        let effects = rt
            .block_on(rt.spawn_blocking(move || in_pool.resolve(&mut request, 5)))
            .expect("the closure ran")
            .expect("the request resolves");
        assert!(effects.is_empty());
        assert_eq!(core.view().sum, 5);
    });
}

#[test]
fn a_current_thread_runtime_is_refused_with_a_message_instead_of_hanging() {
    let _quiet = quiet_panics();
    Watchdog::new("a current-thread runtime").run(|| {
        let rt = genrt::Builder::new_current_thread().build().unwrap();
        let payload = catch_unwind(AssertUnwindSafe(|| {
            Core::<TestApp>::with_runtime(rt.handle().clone())
        }))
        .map(drop)
        .unwrap_err();
        assert!(
            message(&payload).contains("needs a multi-thread genrt runtime"),
            "{}",
            message(&payload)
        );
    });
}
