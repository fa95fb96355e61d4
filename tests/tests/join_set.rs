//! `JoinSet` and `AbortHandle`: completion order, abort on drop, `abort_all`, `shutdown`,
//! `join_all`, `try_join_next`, spawning onto another runtime or outside any, a JoinSet moved
//! between tasks, 10,000 members, and abort handles used from other threads.
//!
//! Ported from Tokio's `tests/task_join_set.rs` before genrt had timers, so `sleep`s became
//! shell requests resolved in a known order (`task_more_ports.rs` has `test_with_sleep`,
//! `abort_tasks`, `task_panics` and `abort_all` again, with sleeps on a paused clock):
//! - `test_with_sleep` -> [`members_come_out_in_completion_order`] and
//!   [`len_and_is_empty_follow_spawns_and_joins`];
//! - `test_abort_on_drop` -> [`dropping_the_set_aborts_every_task`];
//! - `alternating` -> [`alternating_spawn_and_join`];
//! - `abort_tasks` -> [`abort_handles_cancel_some_members`];
//! - `runtime_gone` -> [`members_of_a_dropped_runtime_come_out_cancelled`];
//! - `abort_all` -> [`abort_all_cancels_every_member`];
//! - `join_all` and `task_panics` -> [`join_all_returns_every_value`],
//!   [`join_all_resumes_a_members_panic`];
//! - `try_join_next` -> [`try_join_next_takes_only_finished_members`].
//!
//! `detach_all` is ported in `api_parity_ports.rs`, `spawn_blocking` members in
//! `blocking_tokio_ports.rs`, `join_set_coop` in `coop.rs`, the `spawn_local`/`LocalSet`
//! tests, `replace_parent_waker_drops_outside_lock` and `try_join_next_with_id` in
//! `task_more_ports.rs`, the `join_next_with_id` tests in `task_id.rs`.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::thread;

use support::{
    drop_runtime, panic_message, quiet_panics, runtime, wait_for, wait_until, DropCounter,
    INTENTIONAL,
};

/// `n` tasks of `set`, each awaiting its own shell request and returning its index once the
/// request is resolved; the resolvers, by index.
fn spawn_requests(
    set: &mut genrt::JoinSet<usize>,
    rt: &genrt::Runtime,
    n: usize,
) -> Vec<genrt::shell::Resolver<()>> {
    (0..n)
        .map(|i| {
            let (request, resolver) = genrt::shell::request::<()>();
            set.spawn_on(
                async move {
                    request.await.expect("the test resolves every request");
                    i
                },
                rt.handle(),
            );
            resolver
        })
        .collect()
}

#[test]
fn members_come_out_in_completion_order() {
    let rt = runtime(2);
    let mut set = genrt::JoinSet::new();
    let mut resolvers: Vec<_> = spawn_requests(&mut set, &rt, 6)
        .into_iter()
        .map(Some)
        .collect();
    assert_eq!(set.len(), 6);

    for (joined, &i) in [3, 0, 5, 1, 4, 2].iter().enumerate() {
        resolvers[i].take().unwrap().resolve(()).unwrap();
        let value = wait_for("the member just resolved", set.join_next());
        assert_eq!(value.unwrap().unwrap(), i, "completion order");
        assert_eq!(set.len(), 5 - joined);
    }
    assert!(set.is_empty());
    assert!(wait_for("an empty set", set.join_next()).is_none());
    drop_runtime(rt);
}

#[test]
fn len_and_is_empty_follow_spawns_and_joins() {
    let rt = runtime(2);
    rt.block_on(async {
        let mut set = genrt::JoinSet::new();
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
        for i in 0..10usize {
            set.spawn(async move {
                genrt::yield_now().await;
                i
            });
            assert_eq!(set.len(), 1 + i);
            assert!(!set.is_empty());
        }
        let mut seen = [false; 10];
        while let Some(result) = set.join_next().await {
            seen[result.unwrap()] = true;
        }
        assert!(seen.iter().all(|&seen| seen));
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
        // Slots are reused after joins; the set works as before.
        set.spawn(async { 99 });
        assert_eq!(set.len(), 1);
        assert_eq!(set.join_next().await.unwrap().unwrap(), 99);
    });
    drop_runtime(rt);
}

#[test]
fn dropping_the_set_aborts_every_task() {
    let rt = runtime(2);
    let drops = Arc::new(AtomicUsize::new(0));
    let polled = Arc::new(AtomicUsize::new(0));
    let mut set = genrt::JoinSet::new();
    let mut aborts = Vec::new();
    for _ in 0..16 {
        let guard = DropCounter(drops.clone());
        let polled = polled.clone();
        aborts.push(set.spawn_on(
            async move {
                let _guard = guard;
                polled.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>().await
            },
            rt.handle(),
        ));
    }
    wait_until("every member was polled", || {
        polled.load(Ordering::SeqCst) == 16
    });
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(set);
    wait_until("every member's future was dropped", || {
        drops.load(Ordering::SeqCst) == 16
    });
    wait_until("every member is finished", || {
        aborts.iter().all(genrt::AbortHandle::is_finished)
    });
    drop_runtime(rt);
}

#[test]
fn alternating_spawn_and_join() {
    let rt = runtime(2);
    rt.block_on(async {
        let mut set = genrt::JoinSet::new();
        assert_eq!(set.len(), 0);
        set.spawn(async {});
        assert_eq!(set.len(), 1);
        set.spawn(async {});
        assert_eq!(set.len(), 2);
        for _ in 0..16 {
            set.join_next().await.unwrap().unwrap();
            assert_eq!(set.len(), 1);
            set.spawn(async {});
            assert_eq!(set.len(), 2);
        }
    });
    drop_runtime(rt);
}

#[test]
fn abort_handles_cancel_some_members() {
    let rt = runtime(2);
    rt.block_on(async {
        let mut set = genrt::JoinSet::new();
        let mut resolvers = Vec::new();
        for i in 0..10usize {
            let (request, resolver) = genrt::shell::request::<()>();
            let abort = set.spawn(async move {
                let _ = request.await;
                i
            });
            if i % 2 == 1 {
                abort.abort();
            }
            resolvers.push(resolver);
        }
        for resolver in resolvers {
            // A cancelled member's request is gone: resolving it hands the value back.
            let _ = resolver.resolve(());
        }
        let (mut cancelled, mut values) = (0, Vec::new());
        while let Some(result) = set.join_next().await {
            match result {
                Ok(i) => values.push(i),
                Err(err) => {
                    assert!(err.is_cancelled(), "{err}");
                    cancelled += 1;
                }
            }
        }
        values.sort_unstable();
        // An odd member may have finished before its abort was seen; none was cancelled
        // without being aborted.
        assert_eq!(cancelled + values.len(), 10);
        assert!(
            values.iter().filter(|i| *i % 2 == 0).count() == 5,
            "{values:?}"
        );
    });
    drop_runtime(rt);
}

#[test]
fn members_of_a_dropped_runtime_come_out_cancelled() {
    let rt = runtime(1);
    let mut set = genrt::JoinSet::new();
    set.spawn_on(std::future::pending::<()>(), rt.handle());
    drop_runtime(rt);
    let result = wait_for("a member of a dropped runtime", set.join_next()).unwrap();
    assert!(result.unwrap_err().is_cancelled());
    assert!(set.is_empty());
}

#[test]
fn abort_all_cancels_every_member() {
    let rt = runtime(2);
    let drops = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let mut set = genrt::JoinSet::new();
        for _ in 0..5 {
            let guard = DropCounter(drops.clone());
            set.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await
            });
        }
        for _ in 0..5 {
            let guard = DropCounter(drops.clone());
            set.spawn(async move { drop(guard) });
        }
        set.abort_all();
        assert_eq!(set.len(), 10, "aborted members stay until joined");
        let (mut cancelled, mut completed) = (0, 0);
        while let Some(result) = set.join_next().await {
            match result {
                Ok(()) => completed += 1,
                Err(err) => {
                    assert!(err.is_cancelled(), "{err}");
                    cancelled += 1;
                }
            }
        }
        assert_eq!(cancelled + completed, 10);
        assert!(cancelled >= 5, "every pending member was cancelled");
    });
    assert_eq!(drops.load(Ordering::SeqCst), 10);
    drop_runtime(rt);
}

#[test]
fn shutdown_aborts_and_waits_for_every_member() {
    let rt = runtime(2);
    let drops = Arc::new(AtomicUsize::new(0));
    let mut set = genrt::JoinSet::new();
    for _ in 0..8 {
        let guard = DropCounter(drops.clone());
        set.spawn_on(
            async move {
                let _guard = guard;
                std::future::pending::<u32>().await
            },
            rt.handle(),
        );
    }
    wait_for("shutdown", set.shutdown());
    assert!(set.is_empty());
    // A member's result exists only after its future was dropped.
    assert_eq!(drops.load(Ordering::SeqCst), 8);
    // The set is usable after a shutdown.
    set.spawn_on(async { 4 }, rt.handle());
    assert_eq!(
        wait_for("a member after shutdown", set.join_next())
            .unwrap()
            .unwrap(),
        4
    );
    drop_runtime(rt);
}

#[test]
fn join_all_returns_every_value() {
    let rt = runtime(2);
    let mut set = genrt::JoinSet::new();
    for i in 0..20u32 {
        set.spawn_on(
            async move {
                genrt::yield_now().await;
                i
            },
            rt.handle(),
        );
    }
    let mut values = wait_for("join_all", set.join_all());
    values.sort_unstable();
    assert_eq!(values, (0..20).collect::<Vec<_>>());
    let empty = genrt::JoinSet::<u8>::new();
    assert!(wait_for("join_all of an empty set", empty.join_all()).is_empty());
    drop_runtime(rt);
}

#[test]
fn join_all_resumes_a_members_panic() {
    let _quiet = quiet_panics();
    let rt = runtime(2);
    let drops = Arc::new(AtomicUsize::new(0));
    let mut set = genrt::JoinSet::new();
    let guard = DropCounter(drops.clone());
    set.spawn_on(
        async move {
            let _guard = guard;
            std::future::pending::<()>().await
        },
        rt.handle(),
    );
    set.spawn_on(
        async { panic!("{INTENTIONAL}: a member of a JoinSet") },
        rt.handle(),
    );
    let payload = catch_unwind(AssertUnwindSafe(|| wait_for("join_all", set.join_all())))
        .expect_err("join_all resumes the member's panic");
    assert_eq!(
        panic_message(&*payload),
        Some(format!("{INTENTIONAL}: a member of a JoinSet").as_str())
    );
    // The set was dropped while unwinding: the pending member was aborted.
    wait_until("the pending member was dropped", || {
        drops.load(Ordering::SeqCst) == 1
    });
    drop_runtime(rt);
}

#[test]
fn join_all_panics_on_a_cancelled_member() {
    let _quiet = quiet_panics();
    let rt = runtime(1);
    let mut set = genrt::JoinSet::new();
    set.spawn_on(std::future::pending::<()>(), rt.handle())
        .abort();
    let payload = catch_unwind(AssertUnwindSafe(|| wait_for("join_all", set.join_all())))
        .expect_err("join_all panics on a cancelled member");
    let message = panic_message(&*payload).unwrap_or_default();
    assert!(
        message.contains("JoinSet::join_all") && message.contains("cancelled"),
        "{message}"
    );
    drop_runtime(rt);
}

#[test]
fn try_join_next_takes_only_finished_members() {
    let rt = runtime(2);
    let mut set = genrt::JoinSet::new();
    assert!(set.try_join_next().is_none(), "an empty set");
    let mut resolvers = spawn_requests(&mut set, &rt, 3);
    set.spawn_on(async { 100 }, rt.handle());

    let mut finished = None;
    wait_until("the ready member is joined", || {
        finished = set.try_join_next();
        finished.is_some()
    });
    assert_eq!(finished.take().unwrap().unwrap(), 100);
    assert_eq!(set.len(), 3);
    assert!(set.try_join_next().is_none(), "the others are pending");

    resolvers.remove(1).resolve(()).unwrap();
    wait_until("the resolved member is joined", || {
        finished = set.try_join_next();
        finished.is_some()
    });
    assert_eq!(finished.take().unwrap().unwrap(), 1);
    assert!(set.try_join_next().is_none());
    assert_eq!(set.len(), 2);

    for resolver in resolvers {
        resolver.resolve(()).unwrap();
    }
    let mut rest = Vec::new();
    wait_until("both others are joined", || {
        rest.extend(set.try_join_next().map(Result::unwrap));
        rest.len() == 2
    });
    rest.sort_unstable();
    assert_eq!(rest, [0, 2]);
    assert!(set.is_empty() && set.try_join_next().is_none());
    drop_runtime(rt);
}

#[test]
fn spawn_on_another_runtime() {
    let here = runtime(1);
    let there = runtime(1);
    let there_handle = there.handle().clone();
    let values = here.block_on(async move {
        let mut set = genrt::JoinSet::new();
        set.spawn(async { 1 });
        set.spawn_on(async { 2 }, &there_handle);
        let mut values = Vec::new();
        while let Some(result) = set.join_next().await {
            values.push(result.unwrap());
        }
        values
    });
    let mut values = values;
    values.sort_unstable();
    assert_eq!(values, [1, 2]);
    assert_eq!(there.metrics().snapshot().spawned, 1);
    assert_eq!(here.metrics().snapshot().spawned, 1);
    drop_runtime(there);
    drop_runtime(here);
}

#[test]
fn spawn_outside_a_runtime_panics_saying_so() {
    let mut set = genrt::JoinSet::<()>::new();
    let payload = catch_unwind(AssertUnwindSafe(|| drop(set.spawn(async {}))))
        .expect_err("JoinSet::spawn outside a runtime panics");
    let message = panic_message(&*payload).unwrap_or_default();
    assert!(
        message.contains("JoinSet::spawn") && message.contains("outside a genrt runtime"),
        "{message}"
    );
    assert!(
        message.contains("spawn_on"),
        "it says what to do instead: {message}"
    );
    assert!(set.is_empty());
}

#[test]
fn ten_thousand_members_are_all_joined() {
    const MEMBERS: usize = 10_000;
    let rt = runtime(2);
    let sum = rt.block_on(async {
        let mut set = genrt::JoinSet::new();
        for i in 0..MEMBERS {
            set.spawn(async move {
                if i % 3 == 0 {
                    genrt::yield_now().await;
                }
                i
            });
        }
        assert_eq!(set.len(), MEMBERS);
        let mut seen = vec![false; MEMBERS];
        let mut sum = 0;
        while let Some(result) = set.join_next().await {
            let i = result.unwrap();
            assert!(!seen[i], "member {i} joined twice");
            seen[i] = true;
            sum += i;
        }
        sum
    });
    assert_eq!(sum, MEMBERS * (MEMBERS - 1) / 2);
    drop_runtime(rt);
}

#[test]
fn a_set_polled_from_one_task_then_awaited_in_another() {
    let rt = runtime(2);
    let (request, resolver) = genrt::shell::request::<()>();
    let (handed_over, handed_over_resolver) = genrt::shell::request::<()>();
    let first = rt.spawn(async move {
        let mut set = genrt::JoinSet::new();
        set.spawn(async move {
            request.await.unwrap();
            7
        });
        // Polled once here, so the set stores this task's waker...
        {
            let mut next = pin!(set.join_next());
            assert!(futures::poll!(next.as_mut()).is_pending());
        }
        set
    });
    let set = wait_for("the first task", first).unwrap();
    // ...then awaited by another task: the member's completion must wake that one.
    let second = rt.spawn(async move {
        let mut set = set;
        handed_over.await.unwrap();
        set.join_next().await.unwrap().unwrap()
    });
    handed_over_resolver.resolve(()).unwrap();
    resolver.resolve(()).unwrap();
    assert_eq!(wait_for("the second task", second).unwrap(), 7);
    drop_runtime(rt);
}

#[test]
fn spurious_wakes_of_the_awaiting_task_are_harmless() {
    let rt = runtime(1);
    let (request, resolver) = genrt::shell::request::<()>();
    let polls = Arc::new(AtomicUsize::new(0));
    let task = {
        let polls = polls.clone();
        rt.spawn(async move {
            let mut set = genrt::JoinSet::new();
            set.spawn(async move {
                request.await.unwrap();
                "late"
            });
            let mut next = pin!(set.join_next());
            std::future::poll_fn(|cx| {
                polls.fetch_add(1, Ordering::SeqCst);
                match next.as_mut().poll(cx) {
                    Poll::Ready(result) => Poll::Ready(result),
                    Poll::Pending => {
                        // A spurious wake of ourselves, a few times.
                        if polls.load(Ordering::SeqCst) < 5 {
                            cx.waker().wake_by_ref();
                        }
                        Poll::Pending
                    }
                }
            })
            .await
            .unwrap()
            .unwrap()
        })
    };
    wait_until("the spurious wakes are spent", || {
        polls.load(Ordering::SeqCst) >= 5
    });
    resolver.resolve(()).unwrap();
    assert_eq!(wait_for("the awaiting task", task).unwrap(), "late");
    drop_runtime(rt);
}

#[test]
fn abort_handles_work_from_another_thread() {
    let rt = runtime(2);
    let drops = Arc::new(AtomicUsize::new(0));
    let mut set = genrt::JoinSet::new();
    let guard = DropCounter(drops.clone());
    let abort = set.spawn_on(
        async move {
            let _guard = guard;
            std::future::pending::<()>().await
        },
        rt.handle(),
    );
    let clone = abort.clone();
    assert!(!abort.is_finished());
    thread::spawn(move || {
        assert!(!clone.is_finished());
        clone.abort();
        clone
    })
    .join()
    .map(|clone| {
        wait_until("the clone sees the task finished", || clone.is_finished());
    })
    .unwrap();
    assert!(wait_for("the aborted member", set.join_next())
        .unwrap()
        .unwrap_err()
        .is_cancelled());
    assert!(abort.is_finished());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    // Aborting a finished task, or one of a dropped runtime, does nothing.
    abort.abort();
    drop_runtime(rt);
    abort.abort();
}

#[test]
fn a_join_handles_abort_handle_outlives_the_join_handle() {
    let rt = runtime(1);
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCounter(drops.clone());
    let join = rt.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await
    });
    let abort = join.abort_handle();
    drop(join); // detached: the task keeps running
    assert!(!abort.is_finished());
    thread::spawn(move || abort.abort()).join().unwrap();
    wait_until("the detached task's future was dropped", || {
        drops.load(Ordering::SeqCst) == 1
    });
    drop_runtime(rt);
}

#[test]
fn debug_formats() {
    let rt = runtime(1);
    let mut set = genrt::JoinSet::new();
    let abort = set.spawn_on(std::future::pending::<()>(), rt.handle());
    assert_eq!(format!("{set:?}"), "JoinSet { len: 1 }");
    let abort_debug = format!("{abort:?}");
    assert!(
        abort_debug.starts_with("AbortHandle") && abort_debug.contains("finished: false"),
        "{abort_debug}"
    );
    drop(set);
    wait_until("the dropped set's member finished", || abort.is_finished());
    drop_runtime(rt);
}

#[test]
fn abort_handle_and_join_set_are_send_and_sync() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<genrt::AbortHandle>();
    send_sync::<genrt::JoinSet<u32>>();
}
