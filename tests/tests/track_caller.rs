//! Every genrt API that panics on misuse is `#[track_caller]`: the panic names the line of
//! the caller's mistake, not a line inside genrt.
//!
//! One test in its own binary: it replaces the process's panic hook to record locations.

use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::sync::{Arc, Mutex};

use support::{drop_runtime, runtime, wait_for};

/// Where the last panic was raised, as the panic hook saw it.
static LAST: Mutex<Option<(String, u32)>> = Mutex::new(None);

/// Runs `f`, which must panic, and returns the file and line the panic reported.
fn panic_location(f: impl FnOnce()) -> (String, u32) {
    *LAST.lock().unwrap() = None;
    catch_unwind(AssertUnwindSafe(f)).expect_err("the call must panic");
    LAST.lock().unwrap().take().expect("the hook saw the panic")
}

/// The file and line right after the caller's: call it on the line before the misuse.
#[track_caller]
fn next_line() -> (String, u32) {
    let at = Location::caller();
    (at.file().to_string(), at.line() + 1)
}

#[test]
fn misuse_panics_point_at_the_callers_line() {
    // genrt's misuse messages all start with "genrt", or with Tokio's words and then
    // "(genrt: "; any other panic (a failed assertion) goes to the default hook and shows in
    // the log.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let genrts = |m: &str| m.starts_with("genrt") || m.contains("(genrt: ");
        if !support::panic_message(info.payload()).is_some_and(genrts) {
            return default_hook(info);
        }
        if let Some(at) = info.location() {
            *LAST.lock().unwrap() = Some((at.file().to_string(), at.line()));
        }
    }));

    let expected = next_line();
    let at = panic_location(|| drop(genrt::spawn(async {})));
    assert_eq!(at, expected, "genrt::spawn outside a runtime");

    let expected = next_line();
    let at = panic_location(|| drop(genrt::Handle::current()));
    assert_eq!(at, expected, "Handle::current outside a runtime");

    let mut set = genrt::JoinSet::<()>::new();
    let expected = next_line();
    let at = panic_location(|| drop(set.spawn(async {})));
    assert_eq!(at, expected, "JoinSet::spawn outside a runtime");

    let rt = runtime(1);
    let handle = rt.spawn(std::future::pending::<()>());
    handle.abort();
    let err = wait_for("an aborted task", handle).unwrap_err();
    let expected = next_line();
    let at = panic_location(|| drop(err.into_panic()));
    assert_eq!(at, expected, "JoinError::into_panic on a cancelled task");

    let expected = next_line();
    let at = panic_location(|| rt.block_on(async { rt.block_on(async {}) }));
    assert_eq!(at, expected, "Runtime::block_on inside block_on");

    // On a worker: the panic is raised on the worker thread; the hook still records it.
    let rt = Arc::new(rt);
    for (what, misuse) in [
        (
            "Runtime::block_on on a worker",
            Box::new(|rt: &genrt::Runtime| {
                let expected = next_line();
                let _ = catch_unwind(AssertUnwindSafe(|| rt.block_on(async {})));
                expected
            }) as Box<dyn Fn(&genrt::Runtime) -> (String, u32) + Send>,
        ),
        (
            "Runtime::settle on a worker",
            Box::new(|rt: &genrt::Runtime| {
                let expected = next_line();
                let _ = catch_unwind(AssertUnwindSafe(|| rt.settle()));
                expected
            }),
        ),
        (
            "Runtime::try_settle on a worker",
            Box::new(|rt: &genrt::Runtime| {
                let wait = std::time::Duration::from_secs(1);
                let expected = next_line();
                let _ = catch_unwind(AssertUnwindSafe(|| rt.try_settle(wait)));
                expected
            }),
        ),
    ] {
        *LAST.lock().unwrap() = None;
        let inner = rt.clone();
        let expected = wait_for(what, rt.spawn(async move { misuse(&inner) })).unwrap();
        let at = LAST.lock().unwrap().take().expect("the hook saw the panic");
        assert_eq!(at, expected, "{what}");
    }

    let _ = std::panic::take_hook();
    let rt = Arc::try_unwrap(rt).expect("every task dropped its reference");
    drop_runtime(rt);
}
