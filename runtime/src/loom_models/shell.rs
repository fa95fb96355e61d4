//! Loom models of shell requests and streams (runtime/src/shell.rs): resolve vs cancel (the
//! request dropped with its task) vs drop of the resolver.
//!
//! The task side awaits with loom's `block_on`, whose waker loom sees: a wake that is lost
//! leaves it blocked, and loom reports a deadlock. Every value holds a loom `Arc`, so a value
//! (or a stored waker) that neither side ever drops fails the model as a leak.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use ::loom::future::block_on;
use ::loom::sync::Arc;
use ::loom::thread;

/// A value handed from the shell to a task.
#[derive(Debug)]
struct Value(u32, #[allow(dead_code)] Arc<()>);

impl Value {
    fn new(n: u32) -> Value {
        Value(n, Arc::new(()))
    }
}

/// Polls `future` once with `block_on`'s waker, so that the waker is stored, and says
/// whether it was pending.
fn poll_once<F: Future + Unpin>(future: &mut F) -> bool {
    block_on(poll_fn(|cx| {
        Poll::Ready(Pin::new(&mut *future).poll(cx).is_pending())
    }))
}

/// The shell resolves while the task awaits: the task gets the value, and is woken if it
/// was already waiting.
#[test]
fn resolve_races_await() {
    ::loom::model(|| {
        let (request, resolver) = crate::shell::request::<Value>();
        let shell = thread::spawn(move || resolver.resolve(Value::new(7)).expect("awaited"));
        let value = block_on(request).expect("resolved, not abandoned");
        assert_eq!(value.0, 7);
        shell.join().unwrap();
    });
}

/// The shell resolves while the task is cancelled (its future, and so the request, is
/// dropped after one poll stored its waker): either the request took the value and dropped
/// it, or `resolve` handed it back to the shell; the value is dropped exactly once, and the
/// stored waker too.
#[test]
fn resolve_races_cancel() {
    ::loom::model(|| {
        let (mut request, resolver) = crate::shell::request::<Value>();
        assert!(poll_once(&mut request));
        let shell = thread::spawn(move || {
            if let Err(value) = resolver.resolve(Value::new(7)) {
                assert_eq!(value.0, 7, "handed back intact");
            }
        });
        drop(request);
        shell.join().unwrap();
    });
}

/// The shell drops the resolver unresolved while the task awaits: the task is woken and
/// sees `Abandoned`.
#[test]
fn resolver_drop_races_await() {
    ::loom::model(|| {
        let (request, resolver) = crate::shell::request::<Value>();
        let shell = thread::spawn(move || drop(resolver));
        assert!(block_on(request).is_err(), "abandoned");
        shell.join().unwrap();
    });
}

/// The resolver is dropped while the task is cancelled: nothing is woken that is gone, the
/// stored waker is dropped, nothing leaks.
#[test]
fn resolver_drop_races_cancel() {
    ::loom::model(|| {
        let (mut request, resolver) = crate::shell::request::<Value>();
        assert!(poll_once(&mut request));
        let shell = thread::spawn(move || drop(resolver));
        drop(request);
        shell.join().unwrap();
    });
}

/// A stream: the shell sends two values and drops its resolver while the task receives.
/// The task gets both, in order, then the end of the stream; it is woken whenever it waits.
#[test]
fn stream_send_and_close_race_receive() {
    ::loom::model(|| {
        let (mut stream, resolver) = crate::shell::stream::<Value>();
        let shell = thread::spawn(move || {
            resolver.send(Value::new(1)).expect("receiving");
            resolver.send(Value::new(2)).expect("receiving");
        });
        let received = block_on(async {
            let mut received = Vec::new();
            while let Some(value) = stream.next().await {
                received.push(value.0);
            }
            received
        });
        assert_eq!(received, [1, 2]);
        shell.join().unwrap();
    });
}

/// A stream's receiver is dropped (its task cancelled) while the shell sends: each value is
/// either queued and dropped with the stream, or handed back to the shell.
#[test]
fn stream_send_races_cancel() {
    ::loom::model(|| {
        let (mut stream, resolver) = crate::shell::stream::<Value>();
        let pending = block_on(poll_fn(|cx| Poll::Ready(stream.poll_next(cx).is_pending())));
        assert!(pending);
        let shell = thread::spawn(move || {
            let first = resolver.send(Value::new(1)).is_ok();
            let second = resolver.send(Value::new(2)).is_ok();
            assert!(first || !second, "once refused, always refused");
        });
        drop(stream);
        shell.join().unwrap();
    });
}
