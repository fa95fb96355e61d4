//! `genrt::select!`: Tokio's `tokio/tests/macros_select.rs` translated (each test names the
//! Tokio test it ports), and genrt's own checks of the semantics Tokio documents: the order
//! of preconditions and async expressions, disabled branches never polled, the futures
//! dropped before the handler, the random start, control flow out of handlers, the
//! cooperative budget. Every test runs under a watchdog (armed in each `#[genrt::test]`
//! body, or around a `#[test]`'s runtime); nothing depends on timing.
//!
//! What changed in the port: `tokio::sync::{oneshot, mpsc}` are futures' channels;
//! `tokio_test::task::spawn` is `support::mock` ([`support::MockTask`]) (a future polled by hand with a waker that
//! records wakes); `assert_ok!` is `unwrap`.
//!
//! Skipped: `struct_size_1/2/3` (the size of the future `select!` makes: genrt's layout is
//! its own, a flag and an output slot per branch instead of Tokio's bit mask and output
//! enum; no promise is made about it), the `tokio_unstable` `deterministic_select_*` (genrt
//! has no seeded runtime RNG), and `if_let_patterns` (`, if let P = e` preconditions, in
//! newer versions of Tokio's test file than the releases genrt follows; genrt's `select!`
//! takes `, if <bool>` only).

#![deny(warnings)]
#![allow(clippy::disallowed_names)]

use std::cell::Cell;
use std::future::{pending, poll_fn, ready, Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use support::{mock, panic_message, DropCounter, Watchdog};

async fn one() -> usize {
    1
}

async fn require_mutable(_: &mut i32) {}

async fn async_noop() {}

async fn async_never() -> ! {
    pending().await
}

/// A future that counts its polls and is ready at its first.
struct CountedReady<'a>(&'a Cell<usize>);

impl Future for CountedReady<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        self.0.set(self.0.get() + 1);
        Poll::Ready(())
    }
}

/// [`CountedReady`] that also counts its drop (the counter is only held, for its `Drop`).
struct Probe<'a>(&'a Cell<usize>, #[allow(dead_code)] DropCounter);

impl Future for Probe<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        self.0.set(self.0.get() + 1);
        Poll::Ready(())
    }
}

// ---- Tokio's macros_select.rs ----

/// Tokio's `sync_one_lit_expr_comma`.
#[genrt::test]
async fn sync_one_lit_expr_comma() {
    let _watchdog = Watchdog::new("sync_one_lit_expr_comma").arm();
    let foo = genrt::select! {
        foo = async { 1 } => foo,
    };
    assert_eq!(foo, 1);
}

/// Tokio's `no_branch_else_only`.
#[genrt::test]
async fn no_branch_else_only() {
    let _watchdog = Watchdog::new("no_branch_else_only").arm();
    let foo = genrt::select! {
        else => 1,
    };
    assert_eq!(foo, 1);
}

/// Tokio's `no_branch_else_only_biased`.
#[genrt::test]
async fn no_branch_else_only_biased() {
    let _watchdog = Watchdog::new("no_branch_else_only_biased").arm();
    let foo = genrt::select! {
        biased;
        else => 1,
    };
    assert_eq!(foo, 1);
}

/// Tokio's `nested_one`.
#[genrt::test]
async fn nested_one() {
    let _watchdog = Watchdog::new("nested_one").arm();
    let foo = genrt::select! {
        foo = async { 1 } => genrt::select! {
            bar = async { foo } => bar,
        },
    };
    assert_eq!(foo, 1);
}

/// Tokio's `sync_one_lit_expr_no_comma`.
#[genrt::test]
async fn sync_one_lit_expr_no_comma() {
    let _watchdog = Watchdog::new("sync_one_lit_expr_no_comma").arm();
    let foo = genrt::select! {
        foo = async { 1 } => foo
    };
    assert_eq!(foo, 1);
}

/// Tokio's `sync_one_lit_expr_block`.
#[genrt::test]
async fn sync_one_lit_expr_block() {
    let _watchdog = Watchdog::new("sync_one_lit_expr_block").arm();
    let foo = genrt::select! {
        foo = async { 1 } => { foo }
    };
    assert_eq!(foo, 1);
}

/// Tokio's `sync_one_await`.
#[genrt::test]
async fn sync_one_await() {
    let _watchdog = Watchdog::new("sync_one_await").arm();
    let foo = genrt::select! {
        foo = one() => foo,
    };
    assert_eq!(foo, 1);
}

/// Tokio's `sync_one_ident`.
#[genrt::test]
async fn sync_one_ident() {
    let _watchdog = Watchdog::new("sync_one_ident").arm();
    let one = one();
    let foo = genrt::select! {
        foo = one => foo,
    };
    assert_eq!(foo, 1);
}

/// Tokio's `sync_two`: two ready branches, exactly one runs.
#[genrt::test]
async fn sync_two() {
    let _watchdog = Watchdog::new("sync_two").arm();
    let cnt = Cell::new(0);
    let res = genrt::select! {
        foo = async {
            cnt.set(cnt.get() + 1);
            1
        } => foo,
        bar = async {
            cnt.set(cnt.get() + 1);
            2
        } => bar,
    };
    assert_eq!(1, cnt.get());
    assert!(res == 1 || res == 2);
}

/// Tokio's `drop_in_fut`.
#[genrt::test]
async fn drop_in_fut() {
    let _watchdog = Watchdog::new("drop_in_fut").arm();
    let s = "hello".to_string();
    let res = genrt::select! {
        foo = async {
            let v = one().await;
            drop(s);
            v
        } => foo
    };
    assert_eq!(res, 1);
}

/// Tokio's `one_ready`.
#[genrt::test]
async fn one_ready() {
    let _watchdog = Watchdog::new("one_ready").arm();
    let (tx1, rx1) = oneshot::channel::<i32>();
    let (_tx2, rx2) = oneshot::channel::<i32>();
    tx1.send(1).unwrap();
    let v = genrt::select! {
        res = rx1 => res.unwrap(),
        _ = rx2 => unreachable!(),
    };
    assert_eq!(1, v);
}

/// Tokio's `select_streams`, on two workers (the sender may run in parallel with the select).
#[genrt::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_streams() {
    let _watchdog = Watchdog::new("select_streams").arm();
    let (tx1, mut rx1) = mpsc::unbounded::<i32>();
    let (tx2, mut rx2) = mpsc::unbounded::<i32>();
    genrt::spawn(async move {
        tx2.unbounded_send(1).unwrap();
        genrt::task::yield_now().await;
        tx1.unbounded_send(2).unwrap();
        genrt::task::yield_now().await;
        tx2.unbounded_send(3).unwrap();
        genrt::task::yield_now().await;
        drop((tx1, tx2));
    });
    let mut rem = true;
    let mut msgs = vec![];
    while rem {
        genrt::select! {
            Some(x) = rx1.next() => {
                msgs.push(x);
            }
            Some(y) = rx2.next() => {
                msgs.push(y);
            }
            else => {
                rem = false;
            }
        }
    }
    msgs.sort_unstable();
    assert_eq!(&msgs[..], &[1, 2, 3]);
}

/// Tokio's `move_uncompleted_futures`: `&mut` to an `Unpin` future; the loser is still
/// usable in the handler.
#[genrt::test]
async fn move_uncompleted_futures() {
    let _watchdog = Watchdog::new("move_uncompleted_futures").arm();
    let (tx1, mut rx1) = oneshot::channel::<i32>();
    let (tx2, mut rx2) = oneshot::channel::<i32>();
    tx1.send(1).unwrap();
    tx2.send(2).unwrap();
    let ran;
    genrt::select! {
        res = &mut rx1 => {
            assert_eq!(1, res.unwrap());
            assert_eq!(2, rx2.await.unwrap());
            ran = true;
        },
        res = &mut rx2 => {
            assert_eq!(2, res.unwrap());
            assert_eq!(1, rx1.await.unwrap());
            ran = true;
        },
    }
    assert!(ran);
}

/// Tokio's `nested`.
#[genrt::test]
async fn nested() {
    let _watchdog = Watchdog::new("nested").arm();
    let res = genrt::select! {
        x = async { 1 } => {
            genrt::select! {
                y = async { 2 } => x + y,
            }
        }
    };
    assert_eq!(res, 3);
}

/// Tokio's `mutable_borrowing_future_with_same_borrow_in_block`: the futures are dropped
/// before the handler, which may use what they borrowed.
#[genrt::test]
async fn mutable_borrowing_future_with_same_borrow_in_block() {
    let _watchdog = Watchdog::new("mutable_borrowing_future_with_same_borrow_in_block").arm();
    let mut value = 234;
    genrt::select! {
        _ = require_mutable(&mut value) => { },
        _ = async_noop() => {
            value += 5;
        },
    }
    assert!(value >= 234);
}

/// Tokio's `mutable_borrowing_future_with_same_borrow_in_block_and_else`.
#[genrt::test]
async fn mutable_borrowing_future_with_same_borrow_in_block_and_else() {
    let _watchdog =
        Watchdog::new("mutable_borrowing_future_with_same_borrow_in_block_and_else").arm();
    let mut value = 234;
    genrt::select! {
        _ = require_mutable(&mut value) => { },
        _ = async_noop() => {
            value += 5;
        },
        else => {
            value += 27;
        },
    }
    assert!(value >= 234);
}

/// Tokio's `future_panics_after_poll`: a branch whose output missed its pattern is never
/// polled again.
#[test]
fn future_panics_after_poll() {
    Watchdog::new("future_panics_after_poll").run(|| {
        let (tx, rx) = oneshot::channel();
        let mut polled = false;
        let f = poll_fn(|_| {
            assert!(!polled);
            polled = true;
            Poll::Ready(None::<()>)
        });
        let mut f = mock(async {
            genrt::select! {
                Some(_) = f => unreachable!(),
                ret = rx => ret.unwrap(),
            }
        });
        assert!(f.poll().is_pending());
        assert!(f.poll().is_pending());
        tx.send(1).unwrap();
        assert_eq!(f.poll(), Poll::Ready(1));
    });
}

/// Tokio's `disable_with_if`: a branch disabled by its precondition is never polled.
#[test]
fn disable_with_if() {
    Watchdog::new("disable_with_if").run(|| {
        let f = poll_fn(|_| -> Poll<()> { panic!("a disabled branch was polled") });
        let (tx, rx) = oneshot::channel();
        let mut f = mock(async {
            genrt::select! {
                _ = f, if false => unreachable!(),
                _ = rx => (),
            }
        });
        assert!(f.poll().is_pending());
        tx.send(()).unwrap();
        assert!(f.is_woken());
        assert!(f.poll().is_ready());
    });
}

/// Tokio's `join_with_select`.
#[test]
fn join_with_select() {
    Watchdog::new("join_with_select").run(|| {
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = oneshot::channel();
        let mut f = mock(async {
            let mut a = None;
            let mut b = None;
            while a.is_none() || b.is_none() {
                genrt::select! {
                    v1 = &mut rx1, if a.is_none() => a = Some(v1.unwrap()),
                    v2 = &mut rx2, if b.is_none() => b = Some(v2.unwrap())
                }
            }
            (a.unwrap(), b.unwrap())
        });
        assert!(f.poll().is_pending());
        tx1.send(123).unwrap();
        assert!(f.is_woken());
        assert!(f.poll().is_pending());
        tx2.send(456).unwrap();
        assert!(f.is_woken());
        assert_eq!(f.poll(), Poll::Ready((123, 456)));
    });
}

/// Tokio's `use_future_in_if_condition`.
#[genrt::test]
async fn use_future_in_if_condition() {
    let _watchdog = Watchdog::new("use_future_in_if_condition").arm();
    genrt::select! {
        _ = genrt::time::sleep(Duration::from_millis(10)), if false => {
            panic!("if condition ignored")
        }
        _ = async { 1u32 } => {
        }
    }
}

/// Tokio's `use_future_in_if_condition_biased`.
#[genrt::test]
async fn use_future_in_if_condition_biased() {
    let _watchdog = Watchdog::new("use_future_in_if_condition_biased").arm();
    genrt::select! {
        biased;
        _ = genrt::time::sleep(Duration::from_millis(10)), if false => {
            panic!("if condition ignored")
        }
        _ = async { 1u32 } => {
        }
    }
}

/// Tokio's `many_branches`: 64 branches.
#[genrt::test]
async fn many_branches() {
    let _watchdog = Watchdog::new("many_branches").arm();
    let num = genrt::select! {
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
        x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
    };
    assert_eq!(1, num);
}

/// Tokio's `never_branch_no_warnings` (this file denies warnings).
#[genrt::test]
async fn never_branch_no_warnings() {
    let _watchdog = Watchdog::new("never_branch_no_warnings").arm();
    let t = genrt::select! {
        _ = async_never() => 0,
        one_async_ready = one() => one_async_ready,
    };
    assert_eq!(t, 1);
}

/// Tokio's `mut_on_left_hand_side` (Tokio issue 2857).
#[genrt::test]
async fn mut_on_left_hand_side() {
    let _watchdog = Watchdog::new("mut_on_left_hand_side").arm();
    let v = async move {
        let ok = async { 1 };
        genrt::pin!(ok);
        genrt::select! {
            mut a = &mut ok => {
                a += 1;
                a
            }
        }
    }
    .await;
    assert_eq!(v, 2);
}

/// Tokio's `biased_one_not_ready`.
#[genrt::test]
async fn biased_one_not_ready() {
    let _watchdog = Watchdog::new("biased_one_not_ready").arm();
    let (_tx1, rx1) = oneshot::channel::<i32>();
    let (tx2, rx2) = oneshot::channel::<i32>();
    let (tx3, rx3) = oneshot::channel::<i32>();
    tx2.send(2).unwrap();
    tx3.send(3).unwrap();
    let v = genrt::select! {
        biased;

        _ = rx1 => unreachable!(),
        res = rx2 => {
            res.unwrap()
        },
        _ = rx3 => {
            panic!("This branch should never be activated: `biased;` polls `rx2` before `rx3`.")
        }
    };
    assert_eq!(2, v);
}

/// Tokio's `biased_eventually_ready`.
#[genrt::test]
async fn biased_eventually_ready() {
    let _watchdog = Watchdog::new("biased_eventually_ready").arm();
    let one = async {};
    let two = async { genrt::task::yield_now().await };
    let three = async { genrt::task::yield_now().await };
    let mut count = 0u8;
    genrt::pin!(one, two, three);
    loop {
        genrt::select! {
            biased;

            _ = &mut two, if count < 2 => {
                count += 1;
                assert_eq!(count, 2);
            }
            _ = &mut three, if count < 3 => {
                count += 1;
                assert_eq!(count, 3);
            }
            _ = &mut one, if count < 1 => {
                count += 1;
                assert_eq!(count, 1);
            }
            else => break,
        }
    }
    assert_eq!(count, 3);
}

/// Tokio's `default_numeric_fallback` (Tokio issue 3830, rust-clippy 7304): the expansion
/// draws no `clippy::default_numeric_fallback` (clippy runs on this file with `-D
/// warnings`).
#[warn(clippy::default_numeric_fallback)]
async fn default_numeric_fallback() {
    genrt::select! {
        _ = async {} => (),
        else => (),
    }
}

#[genrt::test]
async fn default_numeric_fallback_runs() {
    let _watchdog = Watchdog::new("default_numeric_fallback").arm();
    default_numeric_fallback().await;
}

/// Tokio's `mut_ref_patterns` (Tokio issue 4182).
#[genrt::test]
async fn mut_ref_patterns() {
    let _watchdog = Watchdog::new("mut_ref_patterns").arm();
    genrt::select! {
        Some(mut foo) = async { Some("1".to_string()) } => {
            assert_eq!(foo, "1");
            foo = "2".to_string();
            assert_eq!(foo, "2");
        },
    };
    genrt::select! {
        Some(ref foo) = async { Some("1".to_string()) } => {
            assert_eq!(*foo, "1");
        },
    };
    genrt::select! {
        Some(ref mut foo) = async { Some("1".to_string()) } => {
            assert_eq!(*foo, "1");
            *foo = "2".to_string();
            assert_eq!(*foo, "2");
        },
    };
}

/// Tokio's `select_into_future`.
#[genrt::test]
async fn select_into_future() {
    let _watchdog = Watchdog::new("select_into_future").arm();
    struct NotAFuture;
    impl IntoFuture for NotAFuture {
        type Output = ();
        type IntoFuture = std::future::Ready<()>;
        fn into_future(self) -> Self::IntoFuture {
            ready(())
        }
    }
    genrt::select! {
        () = NotAFuture => {},
    }
}

/// Tokio's `temporary_lifetime_extension` (Tokio issue 6721).
#[genrt::test]
async fn temporary_lifetime_extension() {
    let _watchdog = Watchdog::new("temporary_lifetime_extension").arm();
    genrt::select! {
        () = &mut std::future::ready(()) => {},
    }
}

/// Tokio's `select_is_budget_aware`: once the poll's budget is spent, `select!` yields
/// before polling any branch, even one that ignores the budget.
#[genrt::test]
async fn select_is_budget_aware() {
    let _watchdog = Watchdog::new("select_is_budget_aware").arm();
    const BUDGET: usize = 128;
    let task = || {
        Box::pin(async move {
            genrt::select! {
                biased;

                () = genrt::task::consume_budget() => {},
                () = std::future::ready(()) => {}
            }
        })
    };
    for _ in 0..BUDGET {
        assert!(futures::poll!(&mut task()).is_ready());
    }
    assert!(futures::poll!(&mut task()).is_pending());
}

// ---- genrt's own ----

/// Tokio's order: every precondition, top to bottom, before any async expression; then the
/// async expressions, top to bottom, a disabled branch's included (Tokio evaluates it too);
/// a disabled branch's future is never polled, and is dropped with the others.
#[genrt::test]
async fn preconditions_run_before_the_async_expressions_and_disable_polling() {
    let _watchdog = Watchdog::new("preconditions_before_expressions").arm();
    let log = std::cell::RefCell::new(Vec::new());
    let polls = Cell::new(0);
    let drops = Arc::new(AtomicUsize::new(0));
    let condition = |i: u8, value: bool| {
        log.borrow_mut().push(format!("condition {i}"));
        value
    };
    let probe = |i: u8| {
        log.borrow_mut().push(format!("expression {i}"));
        Probe(&polls, DropCounter(drops.clone()))
    };
    let v = genrt::select! {
        _ = probe(0), if condition(0, false) => 0,
        _ = probe(1), if condition(1, true) => 1,
        _ = probe(2), if condition(2, false) => 2,
    };
    assert_eq!(v, 1);
    let expected = [
        "condition 0",
        "condition 1",
        "condition 2",
        "expression 0",
        "expression 1",
        "expression 2",
    ];
    assert_eq!(*log.borrow(), expected);
    assert_eq!(polls.get(), 1, "a disabled branch's future was polled");
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

/// A precondition that is false never has its future polled, however often the select
/// runs; with every branch disabled, the `else` branch runs without polling anything.
#[genrt::test]
async fn all_branches_disabled_by_preconditions_runs_else() {
    let _watchdog = Watchdog::new("all_disabled_runs_else").arm();
    let polls = Cell::new(0);
    for _ in 0..10 {
        let v = genrt::select! {
            _ = CountedReady(&polls), if false => 0,
            _ = CountedReady(&polls), if 1 > 2 => 1,
            else => 2,
        };
        assert_eq!(v, 2);
    }
    assert_eq!(polls.get(), 0);
}

/// A completed branch whose output misses its pattern is disabled, and the select goes on
/// with the others within the same poll: biased, the first two complete with `None`, the
/// third wins.
#[genrt::test]
async fn a_pattern_mismatch_disables_the_branch_and_the_select_goes_on() {
    let _watchdog = Watchdog::new("pattern_mismatch").arm();
    let polls = Cell::new(0);
    let counted = |v: Option<u8>| {
        let polls = &polls;
        async move {
            polls.set(polls.get() + 1);
            v
        }
    };
    let v = genrt::select! {
        biased;
        Some(v) = counted(None) => v,
        Some(v) = counted(None) => v + 10,
        Some(v) = counted(Some(3)) => v + 20,
        Some(v) = counted(Some(4)) => v + 30,
    };
    assert_eq!(v, 23);
    assert_eq!(polls.get(), 3, "the fourth branch was polled");
}

/// Every branch completes and misses its pattern: the `else` branch runs.
#[genrt::test]
async fn every_pattern_missed_runs_else() {
    let _watchdog = Watchdog::new("every_pattern_missed").arm();
    let v = genrt::select! {
        Some(v) = async { None::<u8> } => v,
        Ok(v) = async { Err::<u8, ()>(()) } => v,
        else => 99,
    };
    assert_eq!(v, 99);
}

/// Without an `else`, every branch disabled panics with Tokio's message; so does every
/// pattern missed.
#[test]
fn all_disabled_without_else_panics_with_tokios_message() {
    Watchdog::new("all_disabled_panics").run(|| {
        let rt = genrt::Builder::new_current_thread().build().unwrap();
        let by_condition = rt.block_on(rt.spawn(async {
            genrt::select! {
                v = async { 1 }, if false => v,
            }
        }));
        let by_pattern = rt.block_on(rt.spawn(async {
            genrt::select! {
                Some(v) = async { None::<u8> } => v,
            }
        }));
        for result in [by_condition.map(drop), by_pattern.map(drop)] {
            let error = result.expect_err("select! panicked");
            let payload = error.into_panic();
            assert_eq!(
                panic_message(&*payload),
                Some("all branches are disabled and there is no else branch")
            );
        }
    });
}

/// The futures (and what they own) are dropped before the handler runs.
#[genrt::test]
async fn the_futures_are_dropped_before_the_handler_runs() {
    let _watchdog = Watchdog::new("futures_dropped_before_handler").arm();
    let drops = Arc::new(AtomicUsize::new(0));
    let winner = DropCounter(drops.clone());
    let loser = DropCounter(drops.clone());
    let disabled = DropCounter(drops.clone());
    genrt::select! {
        _ = async move { let _d = winner; } => {
            assert_eq!(drops.load(Ordering::SeqCst), 3, "a future outlived the select");
        }
        _ = async move { let _d = loser; pending::<()>().await } => unreachable!(),
        _ = async move { let _d = disabled; }, if false => unreachable!(),
    }
}

/// Pushes its name to a shared log when dropped.
struct LogDrop(&'static str, Arc<std::sync::Mutex<Vec<&'static str>>>);

impl Drop for LogDrop {
    fn drop(&mut self) {
        self.1.lock().unwrap().push(self.0);
    }
}

/// The futures are dropped first branch to last, as the fields of Tokio's tuple of futures
/// are: whichever branch won, and a disabled branch's future too.
#[genrt::test]
async fn the_futures_are_dropped_first_to_last() {
    let _watchdog = Watchdog::new("futures_dropped_first_to_last").arm();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let [a, b, c, d] = ["a", "b", "c", "d"].map(|name| LogDrop(name, log.clone()));
    genrt::select! {
        biased;
        _ = async move { let _d = a; pending::<()>().await } => unreachable!(),
        _ = async move { let _d = b; }, if false => unreachable!(),
        _ = async move { let _d = c; } => log.lock().unwrap().push("handler"),
        _ = async move { let _d = d; pending::<()>().await } => unreachable!(),
    }
    assert_eq!(*log.lock().unwrap(), ["c", "a", "b", "d", "handler"]);
}

/// A branch may output a `!Send` value: the output is made in the poll that returns and
/// never held across an `.await`, so the `select!` future stays `Send` (as Tokio's) and
/// can be spawned.
#[genrt::test]
async fn a_not_send_output_leaves_the_future_send() {
    let _watchdog = Watchdog::new("not_send_output_leaves_future_send").arm();
    let task = genrt::spawn(async {
        genrt::select! {
            Some(v) = async { Some(std::rc::Rc::new(1)) } => *v,
            _ = pending::<std::rc::Rc<u8>>() => 0,
            else => 2,
        }
    });
    assert_eq!(task.await.unwrap(), 1);
}

/// Handlers are code of the enclosing function: `continue` and `break` act on its loop,
/// `return` and `?` on it.
#[genrt::test]
async fn handlers_break_continue_return_and_question_mark() {
    let _watchdog = Watchdog::new("handlers_control_flow").arm();
    let mut seen = Vec::new();
    for i in 0..10 {
        genrt::select! {
            v = async { i } => {
                if v % 2 == 0 {
                    continue;
                }
                if v > 6 {
                    break;
                }
                seen.push(v);
            }
        }
    }
    assert_eq!(seen, [1, 3, 5]);

    async fn first_even(values: &[u32]) -> Option<u32> {
        for &v in values {
            genrt::select! {
                v = async { v } => if v % 2 == 0 { return Some(v) },
            }
        }
        None
    }
    assert_eq!(first_even(&[1, 3, 4, 5]).await, Some(4));

    async fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
        let n = genrt::select! {
            n = async { text.parse::<u32>() } => n?,
        };
        Ok(n + 1)
    }
    assert_eq!(parse("41").await, Ok(42));
    assert!(parse("x").await.is_err());

    // A labelled loop around a nested select.
    let mut rounds = 0;
    'outer: loop {
        rounds += 1;
        genrt::select! {
            _ = async {} => genrt::select! {
                _ = async {} => if rounds == 3 { break 'outer },
            },
        }
    }
    assert_eq!(rounds, 3);
}

/// A branch's future and its precondition may borrow what the handler then mutates, and a
/// pinned future passed by `&mut` survives the select that did not pick it.
#[genrt::test]
async fn borrowed_and_pinned_futures() {
    let _watchdog = Watchdog::new("borrowed_and_pinned_futures").arm();
    let mut data = vec![1, 2, 3];
    let total = genrt::select! {
        sum = async { data.iter().sum::<i32>() }, if !data.is_empty() => {
            data.push(sum);
            sum
        }
    };
    assert_eq!((total, data.len()), (6, 4));

    let (tx, rx) = oneshot::channel::<u8>();
    let slow = async move { rx.await.unwrap() };
    genrt::pin!(slow);
    let mut rounds = 0;
    let mut tx = Some(tx);
    let got = loop {
        rounds += 1;
        genrt::select! {
            biased;
            v = &mut slow => break v,
            _ = async {} => {
                if rounds == 3 {
                    tx.take().unwrap().send(9).unwrap();
                }
            }
        }
    };
    assert_eq!((got, rounds), (9, 4));
}

/// The start is random without `biased;`: over many selects of always-ready branches, each
/// branch wins sometimes (never, with a fair start, fails with probability about 4 * (3/4)^400).
#[genrt::test]
async fn the_start_is_random_unless_biased() {
    let _watchdog = Watchdog::new("random_start").arm();
    let mut wins = [0u32; 4];
    let mut biased_wins = [0u32; 4];
    for _ in 0..400 {
        let i = genrt::select! {
            _ = async {} => 0,
            _ = async {} => 1,
            _ = async {} => 2,
            _ = async {} => 3,
        };
        wins[i] += 1;
        let i = genrt::select! {
            biased;
            _ = async {} => 0,
            _ = async {} => 1,
            _ = async {} => 2,
            _ = async {} => 3,
        };
        biased_wins[i] += 1;
    }
    assert!(wins.iter().all(|&w| w > 0), "{wins:?}");
    assert_eq!(biased_wins, [400, 0, 0, 0]);
}

/// The budget, as a user sees it: on a one-worker (current-thread) runtime, a task looping
/// on a `select!` whose one branch spends the budget and whose other is always ready (and
/// ignores the budget) still lets another task run. Without the check, the always-ready
/// branch would win every round once the budget is spent, and the loop would never yield.
/// The setter waits until the spinner has done a round, so the spinner must yield for it.
#[test]
fn a_select_loop_respects_the_budget_on_one_worker() {
    Watchdog::new("select_loop_budget").run(|| {
        let rt = genrt::Builder::new_current_thread().build().unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let spun = Arc::new(AtomicBool::new(false));
        let spinner = {
            let (flag, spun) = (flag.clone(), spun.clone());
            rt.spawn(async move {
                let mut rounds = 0u64;
                while !flag.load(Ordering::SeqCst) {
                    rounds += 1;
                    assert!(rounds < 1_000_000, "the other task never ran");
                    genrt::select! {
                        biased;
                        () = genrt::task::consume_budget() => {},
                        () = ready(()) => {},
                    }
                    spun.store(true, Ordering::SeqCst);
                }
                rounds
            })
        };
        let setter = rt.spawn(async move {
            while !spun.load(Ordering::SeqCst) {
                genrt::yield_now().await;
            }
            flag.store(true, Ordering::SeqCst);
        });
        rt.block_on(setter).unwrap();
        let rounds = rt.block_on(spinner).unwrap();
        // The first yield comes when the first poll's budget of 128 is spent.
        assert!(rounds > 128, "{rounds}");
    });
}

/// Within one poll, `select!` spends nothing itself: a select of branches that ignore the
/// budget never yields because of it.
#[genrt::test]
async fn a_select_of_budget_ignoring_branches_spends_nothing() {
    let _watchdog = Watchdog::new("select_spends_nothing").arm();
    poll_fn(|cx| {
        for _ in 0..1_000 {
            let mut select = std::pin::pin!(async {
                genrt::select! {
                    _ = ready(()) => {},
                    _ = ready(()) => {},
                }
            });
            assert!(select.as_mut().poll(cx).is_ready());
        }
        assert!(genrt::task::coop::has_budget_remaining());
        Poll::Ready(())
    })
    .await;
}

/// More branches than Tokio's 64: 100 (the recursion limit is the only bound).
#[genrt::test]
async fn a_hundred_branches() {
    let _watchdog = Watchdog::new("a_hundred_branches").arm();
    macro_rules! hundred {
        ($($i:literal)*) => {
            genrt::select! { biased; $( v = async { $i }, if $i >= 57 => v, )* }
        };
    }
    let v = hundred!(
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
        33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
        62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90
        91 92 93 94 95 96 97 98 99
    );
    assert_eq!(v, 57);
}

/// Names the macro uses inside stay its own: a caller's locals called `cx`, `skip`,
/// `pending`, `output` or `branches` are the caller's in every expression.
#[genrt::test]
async fn the_expansion_does_not_capture_callers_names() {
    let _watchdog = Watchdog::new("hygiene").arm();
    let cx = 1;
    let skip = 2;
    let pending = 3;
    let output = 4;
    let branches = 5;
    let v = genrt::select! {
        biased;
        output = async { cx + skip }, if pending == 3 => output + branches,
        _ = async { output } => 0,
    };
    assert_eq!(v, 8);
}
