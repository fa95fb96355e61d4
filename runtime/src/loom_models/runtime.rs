//! Loom model of a whole runtime: a shell resolving a request while the runtime drops (the
//! registry path from the outside, async-executor #163 and compio #489 are this race).
//!
//! The real `Runtime` with one worker thread (a loom thread running the real loop), the real
//! registry and key waker, and a shell thread. The task's future and the value each hold a
//! loom `Arc`: if the runtime's drop left the future alive (the leak of Crux #268), or a
//! value were neither delivered, dropped with the request, nor handed back, the model fails
//! as a leak; a wake-up lost or a worker never joined fails it as a deadlock.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::loom::future::block_on;
use ::loom::sync::Arc;
use ::loom::thread;

/// A value handed from the shell to the task.
struct Value(#[allow(dead_code)] Arc<()>);

/// Wraps the task's future with a leak tracker.
struct Tracked<F> {
    future: Pin<Box<F>>,
    _track: Arc<()>,
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.future.as_mut().poll(cx)
    }
}

/// A task waits on a shell request; the shell resolves it while the runtime is dropped. The
/// wake goes through the registry to a runtime that is live, shutting down or gone: whatever
/// the interleaving, nothing is touched after it is freed (every access is through the
/// registry's lock), the future is dropped by the time `drop` returns (the join handle
/// reports it), the value is dropped exactly once, and the worker thread is joined.
#[test]
fn shell_resolve_races_runtime_drop() {
    ::loom::model(|| {
        let rt = crate::Builder::new()
            .worker_threads(1)
            .build()
            .expect("a runtime");
        let (request, resolver) = crate::shell::request::<Value>();
        let task = rt.spawn(Tracked {
            future: Box::pin(async move { request.await.is_ok() }),
            _track: Arc::new(()),
        });
        // The task has run up to the request and is waiting for the shell.
        rt.settle();

        let shell = thread::spawn(move || {
            // Ok: the task took the value (or the request did, and dropped it with the
            // task); Err: the task was already gone and the value comes back.
            let _ = resolver.resolve(Value(Arc::new(())));
        });
        drop(rt);
        shell.join().unwrap();

        // The task either completed with the value before the runtime stopped, or was
        // cancelled by the drop; either way its future is gone.
        match block_on(task) {
            Ok(resolved) => assert!(resolved, "the resolver was not dropped unresolved"),
            Err(error) => assert!(error.is_cancelled()),
        }
    });
}
