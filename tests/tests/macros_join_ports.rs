//! `genrt::join!`, `genrt::try_join!` and `genrt::pin!`: Tokio's
//! `tokio/tests/macros_join.rs`, `macros_try_join.rs` and `macros_pin.rs` translated (each
//! test names the Tokio test it ports), and genrt's own checks: 0 to 100 arguments, the
//! order arguments are evaluated in, each future dropped when it completes, `try_join!`'s
//! short circuit dropping the others, and the fairness the rotating start buys. Every test
//! runs under a watchdog (armed in each `#[genrt::test]` body, or around a `#[test]`'s
//! work); nothing depends on timing.
//!
//! What changed in the port: `tokio::sync::oneshot` is futures'; `tokio_test::task::spawn`
//! is `support::mock` ([`support::MockTask`]); `try_join!`'s `async { rx.await }` arguments are `rx` (clippy's
//! `redundant_async_block`); the `*_does_not_allow_tasks_to_starve` tests spend the budget
//! with `genrt::task::consume_budget` where Tokio acquires semaphore permits (genrt has no
//! semaphore; both spend one unit per completed await). `macros_try_join.rs`'s
//! `a_different_future_is_polled_first_every_time_poll_fn_is_polled` runs `try_join!`
//! (Tokio's copy of the test runs `join!`).
//!
//! Skipped: `join_size`, `join_size_biased` (the size of the future: genrt's layout is its
//! own, a pinned `Option` and an output slot per branch instead of Tokio's `MaybeDone`; no
//! promise is made about it).

#![deny(warnings)]
#![allow(clippy::disallowed_names)]

use std::cell::Cell;
use std::future::{pending, ready, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures::channel::oneshot;
use support::{mock, DropCounter, Watchdog};

fn ok<T>(val: T) -> Result<T, ()> {
    Ok(val)
}

/// Appends `x` to `order` at each of its 4 polls, yielding between them.
async fn log_polls(x: i32, order: Arc<Mutex<Vec<i32>>>) {
    for _ in 0..4 {
        order.lock().unwrap().push(x);
        genrt::task::yield_now().await;
    }
}

// ---- Tokio's macros_join.rs ----

/// Tokio's `join::sync_one_lit_expr_comma`.
#[genrt::test]
async fn join_sync_one_lit_expr_comma() {
    let _watchdog = Watchdog::new("join_sync_one_lit_expr_comma").arm();
    let foo = genrt::join!(async { 1 },);
    assert_eq!(foo, (1,));
    let foo = genrt::join!(biased; async { 1 },);
    assert_eq!(foo, (1,));
}

/// Tokio's `join::sync_one_lit_expr_no_comma`.
#[genrt::test]
async fn join_sync_one_lit_expr_no_comma() {
    let _watchdog = Watchdog::new("join_sync_one_lit_expr_no_comma").arm();
    let foo = genrt::join!(async { 1 });
    assert_eq!(foo, (1,));
    let foo = genrt::join!(biased; async { 1 });
    assert_eq!(foo, (1,));
}

/// Tokio's `join::sync_two_lit_expr_comma`.
#[genrt::test]
async fn join_sync_two_lit_expr_comma() {
    let _watchdog = Watchdog::new("join_sync_two_lit_expr_comma").arm();
    let foo = genrt::join!(async { 1 }, async { 2 },);
    assert_eq!(foo, (1, 2));
    let foo = genrt::join!(biased; async { 1 }, async { 2 },);
    assert_eq!(foo, (1, 2));
}

/// Tokio's `join::sync_two_lit_expr_no_comma`.
#[genrt::test]
async fn join_sync_two_lit_expr_no_comma() {
    let _watchdog = Watchdog::new("join_sync_two_lit_expr_no_comma").arm();
    let foo = genrt::join!(async { 1 }, async { 2 });
    assert_eq!(foo, (1, 2));
    let foo = genrt::join!(biased; async { 1 }, async { 2 });
    assert_eq!(foo, (1, 2));
}

/// Tokio's `join::two_await`.
#[test]
fn join_two_await() {
    Watchdog::new("join_two_await").run(|| {
        let (tx1, rx1) = oneshot::channel::<&str>();
        let (tx2, rx2) = oneshot::channel::<u32>();
        let mut join = mock(async {
            genrt::join!(async { rx1.await.unwrap() }, async { rx2.await.unwrap() })
        });
        assert!(join.poll().is_pending());
        tx2.send(123).unwrap();
        assert!(join.is_woken());
        assert!(join.poll().is_pending());
        tx1.send("hello").unwrap();
        assert!(join.is_woken());
        assert_eq!(join.poll(), Poll::Ready(("hello", 123)));
    });
}

/// Spends the whole budget of 5 polls, one unit per await (Tokio's takes semaphore
/// permits).
async fn non_cooperative_task() -> usize {
    let mut exceeded_budget = 0;
    for _ in 0..5 {
        // Another future should run after this one uses its whole budget.
        for _ in 0..128 {
            genrt::task::consume_budget().await;
        }
        exceeded_budget += 1;
    }
    exceeded_budget
}

async fn poor_little_task() -> usize {
    let mut how_many_times_i_got_to_run = 0;
    for _ in 0..5 {
        genrt::task::consume_budget().await;
        how_many_times_i_got_to_run += 1;
    }
    how_many_times_i_got_to_run
}

/// Tokio's `join::join_does_not_allow_tasks_to_starve`.
#[genrt::test]
async fn join_does_not_allow_tasks_to_starve() {
    let _watchdog = Watchdog::new("join_does_not_allow_tasks_to_starve").arm();
    let (non_cooperative_result, little_task_result) =
        genrt::join!(non_cooperative_task(), poor_little_task());
    assert_eq!(5, non_cooperative_result);
    assert_eq!(5, little_task_result);
}

/// Tokio's `join::a_different_future_is_polled_first_every_time_poll_fn_is_polled`.
#[genrt::test]
async fn join_a_different_future_is_polled_first_every_time_poll_fn_is_polled() {
    let _watchdog = Watchdog::new("join_rotates").arm();
    let poll_order = Arc::new(Mutex::new(vec![]));
    genrt::join!(
        log_polls(1, Arc::clone(&poll_order)),
        log_polls(2, Arc::clone(&poll_order)),
        log_polls(3, Arc::clone(&poll_order)),
    );
    // Each time the future made by join! is polled, it starts with a different future.
    assert_eq!(
        vec![1, 2, 3, 2, 3, 1, 3, 1, 2, 1, 2, 3],
        *poll_order.lock().unwrap()
    );
}

/// Tokio's `join::futures_are_polled_in_order_in_biased_mode`.
#[genrt::test]
async fn join_futures_are_polled_in_order_in_biased_mode() {
    let _watchdog = Watchdog::new("join_biased_order").arm();
    let poll_order = Arc::new(Mutex::new(vec![]));
    genrt::join!(
        biased;
        log_polls(1, Arc::clone(&poll_order)),
        log_polls(2, Arc::clone(&poll_order)),
        log_polls(3, Arc::clone(&poll_order)),
    );
    assert_eq!(
        vec![1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3],
        *poll_order.lock().unwrap()
    );
}

/// Tokio's `join::empty_join`.
#[genrt::test]
#[allow(clippy::unit_cmp)]
async fn empty_join() {
    let _watchdog = Watchdog::new("empty_join").arm();
    assert_eq!(genrt::join!(), ());
    assert_eq!(genrt::join!(biased;), ());
}

/// Tokio's `join::join_into_future`.
#[genrt::test]
async fn join_into_future() {
    let _watchdog = Watchdog::new("join_into_future").arm();
    struct NotAFuture;
    impl IntoFuture for NotAFuture {
        type Output = ();
        type IntoFuture = std::future::Ready<()>;
        fn into_future(self) -> Self::IntoFuture {
            ready(())
        }
    }
    genrt::join!(NotAFuture);
}

/// Tokio's `join::caller_names_const_count` (Tokio issue 7637): a caller's `COUNT` is not
/// shadowed by anything of the expansion.
#[genrt::test]
async fn caller_names_const_count() {
    let _watchdog = Watchdog::new("caller_names_const_count").arm();
    let (tx, rx) = oneshot::channel::<u32>();
    const COUNT: u32 = 2;
    let mut join = mock(async { genrt::join!(async { tx.send(COUNT).unwrap() }) });
    assert!(join.poll().is_ready());
    let res = rx.await.unwrap();
    assert_eq!(2, res);
}

/// Tokio's `join::uninhabited_output_type` (Tokio issue 7031): an uninhabited output does
/// not draw `unreachable_code` in the caller.
#[deny(unreachable_code)]
#[genrt::test]
async fn uninhabited_output_type() {
    let _watchdog = Watchdog::new("uninhabited_output_type").arm();
    use std::convert::Infallible;

    let mut join = mock(async { genrt::join!(pending::<Infallible>(), async { 1 }) });
    assert!(join.poll().is_pending());
    let mut join = mock(async { genrt::join!(biased; pending::<Infallible>(), async { 1 }) });
    assert!(join.poll().is_pending());
    let mut join = mock(async { genrt::join!(async { 1 }, pending::<Infallible>()) });
    assert!(join.poll().is_pending());
    let mut join = mock(async { genrt::join!(biased; async { 1 }, pending::<Infallible>()) });
    assert!(join.poll().is_pending());
    let mut join = mock(async { genrt::join!(pending::<Infallible>()) });
    assert!(join.poll().is_pending());
}

// ---- Tokio's macros_try_join.rs ----

/// Tokio's `try_join::sync_one_lit_expr_comma`.
#[genrt::test]
async fn try_join_sync_one_lit_expr_comma() {
    let _watchdog = Watchdog::new("try_join_sync_one_lit_expr_comma").arm();
    let foo = genrt::try_join!(async { ok(1) },);
    assert_eq!(foo, Ok((1,)));
    let foo = genrt::try_join!(biased; async { ok(1) },);
    assert_eq!(foo, Ok((1,)));
}

/// Tokio's `try_join::sync_one_lit_expr_no_comma`.
#[genrt::test]
async fn try_join_sync_one_lit_expr_no_comma() {
    let _watchdog = Watchdog::new("try_join_sync_one_lit_expr_no_comma").arm();
    let foo = genrt::try_join!(async { ok(1) });
    assert_eq!(foo, Ok((1,)));
}

/// Tokio's `try_join::sync_two_lit_expr_comma`.
#[genrt::test]
async fn try_join_sync_two_lit_expr_comma() {
    let _watchdog = Watchdog::new("try_join_sync_two_lit_expr_comma").arm();
    let foo = genrt::try_join!(async { ok(1) }, async { ok(2) },);
    assert_eq!(foo, Ok((1, 2)));
}

/// Tokio's `try_join::sync_two_lit_expr_no_comma`.
#[genrt::test]
async fn try_join_sync_two_lit_expr_no_comma() {
    let _watchdog = Watchdog::new("try_join_sync_two_lit_expr_no_comma").arm();
    let foo = genrt::try_join!(async { ok(1) }, async { ok(2) });
    assert_eq!(foo, Ok((1, 2)));
    let foo = genrt::try_join!(biased; async { ok(1) }, async { ok(2) });
    assert_eq!(foo, Ok((1, 2)));
}

/// Tokio's `try_join::two_await`.
#[test]
fn try_join_two_await() {
    Watchdog::new("try_join_two_await").run(|| {
        let (tx1, rx1) = oneshot::channel::<&str>();
        let (tx2, rx2) = oneshot::channel::<u32>();
        let mut join = mock(async { genrt::try_join!(rx1, rx2) });
        assert!(join.poll().is_pending());
        tx2.send(123).unwrap();
        assert!(join.is_woken());
        assert!(join.poll().is_pending());
        tx1.send("hello").unwrap();
        assert!(join.is_woken());
        assert_eq!(join.poll(), Poll::Ready(Ok(("hello", 123))));
    });
}

/// Tokio's `try_join::err_abort_early`.
#[test]
fn try_join_err_abort_early() {
    Watchdog::new("try_join_err_abort_early").run(|| {
        let (tx1, rx1) = oneshot::channel::<&str>();
        let (tx2, rx2) = oneshot::channel::<u32>();
        let (_tx3, rx3) = oneshot::channel::<u32>();
        let mut join = mock(async { genrt::try_join!(rx1, rx2, rx3) });
        assert!(join.poll().is_pending());
        tx2.send(123).unwrap();
        assert!(join.is_woken());
        assert!(join.poll().is_pending());
        drop(tx1);
        assert!(join.is_woken());
        let Poll::Ready(res) = join.poll() else {
            panic!("try_join! did not stop at the error");
        };
        assert!(res.is_err());
    });
}

async fn non_cooperative_result() -> Result<usize, String> {
    Ok(non_cooperative_task().await)
}

async fn poor_little_result() -> Result<usize, String> {
    Ok(poor_little_task().await)
}

/// Tokio's `try_join::try_join_does_not_allow_tasks_to_starve`.
#[genrt::test]
async fn try_join_does_not_allow_tasks_to_starve() {
    let _watchdog = Watchdog::new("try_join_does_not_allow_tasks_to_starve").arm();
    let result = genrt::try_join!(non_cooperative_result(), poor_little_result());
    let (non_cooperative_result, little_task_result) = result.unwrap();
    assert_eq!(5, non_cooperative_result);
    assert_eq!(5, little_task_result);
}

/// Tokio's `try_join::a_different_future_is_polled_first_every_time_poll_fn_is_polled`,
/// through `try_join!`; and `biased;` polling in order.
#[genrt::test]
async fn try_join_a_different_future_is_polled_first_every_time_poll_fn_is_polled() {
    let _watchdog = Watchdog::new("try_join_rotates").arm();
    let poll_order = Arc::new(Mutex::new(vec![]));
    let logged = |x| {
        let order = Arc::clone(&poll_order);
        async move {
            log_polls(x, order).await;
            ok(())
        }
    };
    genrt::try_join!(logged(1), logged(2), logged(3)).unwrap();
    assert_eq!(
        vec![1, 2, 3, 2, 3, 1, 3, 1, 2, 1, 2, 3],
        std::mem::take(&mut *poll_order.lock().unwrap())
    );
    genrt::try_join!(biased; logged(1), logged(2), logged(3)).unwrap();
    assert_eq!(
        vec![1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3],
        *poll_order.lock().unwrap()
    );
}

/// Tokio's `try_join::empty_try_join`.
#[genrt::test]
async fn empty_try_join() {
    let _watchdog = Watchdog::new("empty_try_join").arm();
    assert_eq!(genrt::try_join!() as Result<_, ()>, Ok(()));
    assert_eq!(genrt::try_join!(biased;) as Result<_, ()>, Ok(()));
}

// ---- Tokio's macros_pin.rs ----

async fn one() {}
async fn two() {}

/// Tokio's `pin::multi_pin`.
#[genrt::test]
async fn multi_pin() {
    let _watchdog = Watchdog::new("multi_pin").arm();
    genrt::pin! {
        let f1 = one();
        let f2 = two();
    }
    (&mut f1).await;
    (&mut f2).await;
}

// ---- genrt's own ----

/// `pin!` on existing locals (with a trailing comma), each shadowed by a `Pin<&mut _>`.
#[genrt::test]
async fn pin_shadows_existing_locals() {
    let _watchdog = Watchdog::new("pin_shadows_existing_locals").arm();
    let a = async { 1 };
    let b = async { 2 };
    genrt::pin!(a, b,);
    let a: Pin<&mut _> = a;
    let b: Pin<&mut _> = b;
    assert_eq!(a.await + b.await, 3);
    genrt::pin!();
}

/// 64 arguments, Tokio's bound, and 100: each output lands in its place.
#[genrt::test]
async fn sixty_four_and_a_hundred_arguments() {
    let _watchdog = Watchdog::new("many_arguments").arm();
    macro_rules! tuple_of {
        ($($i:literal)*) => {
            genrt::join!($( async { $i as u32 }, )*)
        };
    }
    let t = tuple_of!(
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
        33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
        62 63
    );
    assert_eq!((t.0, t.31, t.63), (0, 31, 63));
    let t = tuple_of!(
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
        33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
        62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90
        91 92 93 94 95 96 97 98 99
    );
    assert_eq!((t.0, t.64, t.99), (0, 64, 99));

    macro_rules! ok_tuple_of {
        ($($i:literal)*) => {
            genrt::try_join!($( async { ok($i as u32) }, )*)
        };
    }
    let t = ok_tuple_of!(
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
        33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
        62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90
        91 92 93 94 95 96 97 98 99
    )
    .unwrap();
    assert_eq!((t.0, t.64, t.99), (0, 64, 99));
}

/// The arguments are evaluated (and turned into futures) in order, before any is polled.
#[genrt::test]
async fn arguments_are_evaluated_in_order_before_any_poll() {
    let _watchdog = Watchdog::new("arguments_in_order").arm();
    let log = std::cell::RefCell::new(Vec::new());
    let step = |what: String| log.borrow_mut().push(what);
    let made = |i: u32| {
        step(format!("make {i}"));
        let log = &log;
        async move {
            log.borrow_mut().push(format!("poll {i}"));
            i
        }
    };
    let out = genrt::join!(biased; made(0), made(1), made(2));
    assert_eq!(out, (0, 1, 2));
    assert_eq!(
        *log.borrow(),
        ["make 0", "make 1", "make 2", "poll 0", "poll 1", "poll 2"]
    );
}

/// A branch's future is dropped as soon as it completes, while the others still run.
#[genrt::test]
async fn each_future_is_dropped_when_it_completes() {
    let _watchdog = Watchdog::new("dropped_when_complete").arm();
    let drops = Arc::new(AtomicUsize::new(0));
    let early = DropCounter(drops.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let observed = {
        let drops = drops.clone();
        async move {
            // The first branch completed at the first poll; it must be gone by now.
            genrt::task::yield_now().await;
            let seen = drops.load(Ordering::SeqCst);
            tx.send(()).unwrap();
            seen
        }
    };
    let ((), seen, ()) = genrt::join!(
        async move {
            let _early = early;
        },
        observed,
        async { rx.await.unwrap() },
    );
    assert_eq!(seen, 1);
}

/// `try_join!` returns at the first `Err` and drops the other futures, whether they were
/// never going to finish or were still running, before it returns.
#[genrt::test]
async fn try_join_short_circuits_and_drops_the_others() {
    let _watchdog = Watchdog::new("try_join_short_circuit").arm();
    let drops = Arc::new(AtomicUsize::new(0));
    let pending_branch = |d: DropCounter| async move {
        let _d = d;
        pending::<Result<u8, &str>>().await
    };
    let (tx, rx) = oneshot::channel::<()>();
    let failing = async move {
        rx.await.unwrap();
        Err::<u8, _>("failed")
    };
    let running = {
        let d = DropCounter(drops.clone());
        async move {
            let _d = d;
            genrt::task::yield_now().await;
            tx.send(()).unwrap();
            loop {
                genrt::task::yield_now().await;
            }
        }
    };
    let result: Result<(u8, u8, (), u8), &str> = genrt::try_join!(
        pending_branch(DropCounter(drops.clone())),
        failing,
        running,
        pending_branch(DropCounter(drops.clone())),
    );
    assert_eq!(result, Err("failed"));
    assert_eq!(
        drops.load(Ordering::SeqCst),
        3,
        "a future outlived try_join!"
    );
}

/// Pushes its name to a shared log when dropped.
struct LogDrop(&'static str, Arc<Mutex<Vec<&'static str>>>);

impl Drop for LogDrop {
    fn drop(&mut self) {
        self.1.lock().unwrap().push(self.0);
    }
}

/// The futures still running when `try_join!` returns an `Err`, or when a `join!` is dropped
/// unfinished, are dropped first to last, as the fields of Tokio's tuple of futures are.
#[genrt::test]
async fn unfinished_futures_are_dropped_first_to_last() {
    let _watchdog = Watchdog::new("unfinished_dropped_first_to_last").arm();
    let log = Arc::new(Mutex::new(Vec::new()));
    let waiting = |name| {
        let d = LogDrop(name, log.clone());
        async move {
            let _d = d;
            pending::<Result<(), ()>>().await
        }
    };
    let result = genrt::try_join!(waiting("a"), async { Err(()) }, waiting("b"), waiting("c"));
    assert_eq!(result, Err(()));
    assert_eq!(*log.lock().unwrap(), ["a", "b", "c"]);

    log.lock().unwrap().clear();
    let join = async { genrt::join!(waiting("d"), async {}, waiting("e"), waiting("f")) };
    let mut join = Box::pin(join);
    assert!(futures::poll!(join.as_mut()).is_pending());
    drop(join);
    assert_eq!(*log.lock().unwrap(), ["d", "e", "f"]);
}

/// The first error to come out wins: with two failing branches, the one that completes
/// first (here, the one ready at the first poll).
#[genrt::test]
async fn try_join_returns_the_first_error_to_complete() {
    let _watchdog = Watchdog::new("try_join_first_error").arm();
    let result: Result<((), ()), &str> = genrt::try_join!(
        async {
            genrt::task::yield_now().await;
            Err("late")
        },
        async { Err("early") },
    );
    assert_eq!(result, Err("early"));
}

/// The fairness the rotating start buys: two futures that each want far more than a poll's
/// budget take turns, so neither starves. When the first finishes its 1,280 units (ten
/// budgets), the second has had nine budgets' worth, not nothing. With `biased;` the second
/// gets nothing until the first is done, which is what `biased;` promises.
#[genrt::test]
async fn join_rotation_keeps_a_budget_hungry_future_from_starving_the_other() {
    let _watchdog = Watchdog::new("join_rotation_fairness").arm();
    const UNITS: u32 = 128 * 10;
    let progress = [Cell::new(0u32), Cell::new(0u32)];
    let hungry = |me: usize| {
        let progress = &progress;
        async move {
            for _ in 0..UNITS {
                genrt::task::consume_budget().await;
                progress[me].set(progress[me].get() + 1);
            }
            // The other's progress when this one finished.
            progress[1 - me].get()
        }
    };
    let (other_at_0, other_at_1) = genrt::join!(hungry(0), hungry(1));
    assert_eq!(other_at_0, UNITS - 128, "branch 1 starved");
    assert_eq!(other_at_1, UNITS);

    progress[0].set(0);
    progress[1].set(0);
    let (other_at_0, other_at_1) = genrt::join!(biased; hungry(0), hungry(1));
    assert_eq!((other_at_0, other_at_1), (0, UNITS));
}

/// Join handles joined (the documented way to get parallelism), inside a spawned task on a
/// multi-thread runtime: the futures `join!`, `try_join!` and `select!` make are `Send` when
/// their branches are.
#[genrt::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_of_join_handles_in_a_spawned_task() {
    let _watchdog = Watchdog::new("join_of_join_handles").arm();
    let task = genrt::spawn(async {
        let (a, b) = genrt::join!(genrt::spawn(async { 1 }), genrt::spawn(async { 2 }));
        let both = genrt::try_join!(genrt::spawn(async { 3 }), genrt::spawn(async { 4 }));
        let first = genrt::select! {
            v = genrt::spawn(async { 5 }) => v,
        };
        (a.unwrap(), b.unwrap(), both.unwrap(), first.unwrap())
    });
    assert_eq!(task.await.unwrap(), (1, 2, (3, 4), 5));
}
