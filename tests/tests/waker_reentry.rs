//! A waker's `clone` and `Drop` may run any code (the `RawWakerVTable` contract), this
//! runtime's included: genrt never clones or drops a waker it was handed while it holds a
//! lock that such code could need (Tokio's `replace_parent_waker_drops_outside_lock`, for
//! every place that stores a waker). Each test re-polls with a waker whose `clone` does what
//! needs the lock (completes the task, drops another timer, wakes a task of the set); the
//! drop side is in `task_more_ports.rs`, `shell.rs` and `local_set.rs`. Every test runs under
//! a watchdog: a self-deadlock fails it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use support::{clone_hook_waker, Watchdog};

fn noop() -> Waker {
    futures::task::noop_waker()
}

/// A registered sleep polled again with a waker whose clone drops another sleep of the same
/// runtime: the clone runs with the timer wheel's lock released.
#[test]
fn a_sleep_clones_a_new_waker_outside_the_wheel_lock() {
    Watchdog::new("sleep: the new waker's clone drops another sleep").run(|| {
        let rt = genrt::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let _enter = rt.enter();
        let mut first = Box::pin(genrt::time::sleep(Duration::from_secs(3600)));
        let second = Arc::new(Mutex::new(Some(Box::pin(genrt::time::sleep(
            Duration::from_secs(3600),
        )))));
        let noop = noop();
        let mut cx = Context::from_waker(&noop);
        assert!(first.as_mut().poll(&mut cx).is_pending());
        let polled = second
            .lock()
            .unwrap()
            .as_mut()
            .unwrap()
            .as_mut()
            .poll(&mut cx);
        assert!(polled.is_pending());
        let hook = {
            let second = second.clone();
            clone_hook_waker(move || drop(second.lock().unwrap().take()))
        };
        assert!(first
            .as_mut()
            .poll(&mut Context::from_waker(&hook))
            .is_pending());
        assert!(second.lock().unwrap().is_none());
    });
}

/// A join handle polled with a waker whose clone drives the (current-thread) runtime until
/// the task completes, which takes the handle's lock.
#[test]
fn a_join_handle_clones_a_new_waker_outside_its_lock() {
    Watchdog::new("join handle: the new waker's clone completes the task").run(|| {
        let rt = Arc::new(genrt::Builder::new_current_thread().build().unwrap());
        let mut handle = rt.spawn(async { 42 });
        let hook = {
            let rt = rt.clone();
            clone_hook_waker(move || rt.block_on(genrt::yield_now()))
        };
        let joined = match Pin::new(&mut handle).poll(&mut Context::from_waker(&hook)) {
            Poll::Ready(joined) => joined,
            Poll::Pending => futures::executor::block_on(handle),
        };
        assert_eq!(joined.unwrap(), 42);
    });
}

/// The same for a `JoinSet` (its ready list's lock).
#[test]
fn a_join_set_clones_a_new_waker_outside_its_lock() {
    Watchdog::new("join set: the new waker's clone completes a member").run(|| {
        let rt = Arc::new(genrt::Builder::new_current_thread().build().unwrap());
        let mut set = genrt::JoinSet::new();
        set.spawn_on(async { 7 }, rt.handle());
        let hook = {
            let rt = rt.clone();
            clone_hook_waker(move || rt.block_on(genrt::yield_now()))
        };
        let joined = match set.poll_join_next(&mut Context::from_waker(&hook)) {
            Poll::Ready(joined) => joined,
            Poll::Pending => futures::executor::block_on(set.join_next()),
        };
        assert_eq!(joined.unwrap().unwrap(), 7);
    });
}

/// A shell request polled with a waker whose clone resolves it (the request's lock).
#[test]
fn a_request_clones_a_new_waker_outside_its_lock() {
    Watchdog::new("request: the new waker's clone resolves it").run(|| {
        let (mut request, resolver) = genrt::shell::request::<u32>();
        let hook = clone_hook_waker(move || resolver.resolve(3).unwrap());
        let value = match Pin::new(&mut request).poll(&mut Context::from_waker(&hook)) {
            Poll::Ready(value) => value,
            Poll::Pending => futures::executor::block_on(request),
        };
        assert_eq!(value.unwrap(), 3);
    });
}

/// A `LocalSet` polled with an owner waker whose clone wakes one of the set's tasks, which
/// queues it under the set's lock; the task then runs.
#[test]
fn a_local_set_clones_its_owner_waker_outside_its_lock() {
    Watchdog::new("local set: the owner waker's clone wakes a task").run(|| {
        let local = genrt::task::LocalSet::new();
        let task_waker = Arc::new(Mutex::new(None::<Waker>));
        let polls = Arc::new(Mutex::new(0));
        {
            let (task_waker, polls) = (task_waker.clone(), polls.clone());
            local.spawn_local(std::future::poll_fn(move |cx| {
                *polls.lock().unwrap() += 1;
                *task_waker.lock().unwrap() = Some(cx.waker().clone());
                Poll::<()>::Pending
            }));
        }
        let mut run = Box::pin(local.run_until(std::future::pending::<()>()));
        let noop = noop();
        assert!(run
            .as_mut()
            .poll(&mut Context::from_waker(&noop))
            .is_pending());
        assert_eq!(*polls.lock().unwrap(), 1);
        let hook = {
            let task_waker = task_waker.clone();
            clone_hook_waker(move || {
                if let Some(waker) = task_waker.lock().unwrap().take() {
                    waker.wake();
                }
            })
        };
        for _ in 0..2 {
            assert!(run
                .as_mut()
                .poll(&mut Context::from_waker(&hook))
                .is_pending());
        }
        assert_eq!(*polls.lock().unwrap(), 2);
    });
}
