//! Task-local storage (`genrt::task_local!`, `LocalKey`, `TaskLocalFuture`) with the meaning
//! of Tokio's: a value belongs to the future it scopes, whichever worker polls it; it is
//! visible while the future is polled and while it is dropped (completed or cancelled),
//! nowhere else; scopes nest and restore; misuse panics with a clear message.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll};

use genrt::task::{AccessError, JoinSet};
use support::{panic_message, quiet_panics, recv, Watchdog};

genrt::task_local! {
    static NUMBER: u32;
    /// A documented key, public within this crate.
    pub(crate) static NAME: String;
}

genrt::task_local!(static COUNTED: Counted);

fn runtime() -> genrt::Runtime {
    genrt::Builder::new().worker_threads(2).build().unwrap()
}

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Pending for ever; sends the task-local `NUMBER` it sees when dropped.
struct ReportOnDrop(mpsc::Sender<Result<u32, AccessError>>);

impl Future for ReportOnDrop {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for ReportOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(NUMBER.try_with(|n| *n));
    }
}

#[test]
fn a_value_follows_its_future_across_workers_and_no_further() {
    let _watchdog = Watchdog::new("task-locals across workers").arm();
    let rt = runtime();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..64u32 {
            set.spawn(NUMBER.scope(i, async move {
                for _ in 0..20 {
                    assert_eq!(NUMBER.get(), i);
                    genrt::yield_now().await;
                }
                i
            }));
        }
        // A task without a scope sees nothing, even on a worker that just ran scoped ones.
        set.spawn(async {
            genrt::yield_now().await;
            assert!(NUMBER.try_with(|_| ()).is_err());
            u32::MAX
        });
        let mut results: Vec<u32> = set.join_all().await;
        results.sort_unstable();
        assert_eq!(results.pop(), Some(u32::MAX));
        assert_eq!(results, (0..64).collect::<Vec<_>>());
    });
    assert!(
        NUMBER.try_with(|_| ()).is_err(),
        "nothing leaks to the caller"
    );
}

#[test]
fn scopes_nest_and_restore() {
    let _watchdog = Watchdog::new("nested scopes").arm();
    let rt = runtime();
    let seen = rt.block_on(NAME.scope("outer".to_string(), async {
        let before = NAME.with(String::clone);
        let inner = NAME
            .scope("inner".to_string(), async { NAME.with(String::clone) })
            .await;
        let synced = NAME.sync_scope("sync".to_string(), || NAME.with(String::clone));
        let after = NAME.with(String::clone);
        (before, inner, synced, after)
    }));
    assert_eq!(
        seen,
        (
            "outer".into(),
            "inner".into(),
            "sync".into(),
            "outer".into()
        )
    );
    // Two keys are independent.
    let both = NUMBER.sync_scope(1, || {
        NAME.sync_scope("x".into(), || (NUMBER.get(), NAME.with(|n| n.len())))
    });
    assert_eq!(both, (1, 1));
}

#[test]
fn a_cancelled_or_finished_future_is_dropped_inside_its_scope() {
    let _watchdog = Watchdog::new("task-locals while dropping").arm();
    let rt = runtime();
    let (tx, rx) = mpsc::channel();
    // Aborted on a worker.
    let aborted = rt.spawn(NUMBER.scope(5, ReportOnDrop(tx.clone())));
    aborted.abort();
    assert!(rt.block_on(aborted).unwrap_err().is_cancelled());
    assert_eq!(recv(&rx, "the aborted future's drop"), Ok(5));
    // Cancelled at shutdown, by the thread dropping the runtime.
    let _pending = rt.spawn(NUMBER.scope(6, ReportOnDrop(tx.clone())));
    drop(rt);
    assert_eq!(recv(&rx, "the shut-down future's drop"), Ok(6));
    // Finished: an async block owning a value with a `Drop` drops it inside the scope.
    let rt = runtime();
    let finished = rt.spawn(NUMBER.scope(7, async move {
        let _report = ReportOnDrop(tx);
    }));
    rt.block_on(finished).unwrap();
    assert_eq!(recv(&rx, "the finished future's drop"), Ok(7));
}

#[test]
fn the_value_is_dropped_with_its_wrapper_or_taken_back() {
    let _watchdog = Watchdog::new("task-local values dropped").arm();
    let drops = Arc::new(AtomicUsize::new(0));
    let rt = runtime();
    rt.block_on(COUNTED.scope(Counted(drops.clone()), async {
        COUNTED.with(|_| ());
    }));
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "dropped once, with the wrapper"
    );
    let mut wrapper = Box::pin(COUNTED.scope(Counted(drops.clone()), async {}));
    let taken = wrapper
        .as_mut()
        .take_value()
        .expect("the value is still in the wrapper");
    assert!(wrapper.as_mut().take_value().is_none());
    drop(wrapper);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "taken, not dropped");
    drop(taken);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn a_panic_inside_a_scope_restores_the_outer_value() {
    let _watchdog = Watchdog::new("a panic inside a scope restores the outer value").arm();
    let _quiet = quiet_panics();
    let outcome = NUMBER.sync_scope(1, || {
        let inner = catch_unwind(|| {
            NUMBER.sync_scope(2, || panic!("{}: inside a scope", support::INTENTIONAL))
        });
        (inner.is_err(), NUMBER.get())
    });
    assert_eq!(outcome, (true, 1));
    assert!(NUMBER.try_with(|_| ()).is_err());
}

#[test]
fn misuse_panics_with_a_clear_message() {
    let _watchdog = Watchdog::new("misuse panics with a clear message").arm();
    let _quiet = quiet_panics();
    let outside = catch_unwind(|| NUMBER.get()).unwrap_err();
    let message = panic_message(&*outside).unwrap();
    assert!(
        message.contains("outside any scope of its key"),
        "{message}"
    );

    let reentered =
        catch_unwind(|| NUMBER.sync_scope(1, || NUMBER.with(|_| NUMBER.sync_scope(2, || ()))))
            .unwrap_err();
    let message = panic_message(&*reentered).unwrap();
    assert!(
        message.contains("inside `with` of the same key"),
        "{message}"
    );
    assert!(NUMBER.try_with(|_| ()).is_err(), "the outer scope was left");

    let rt = runtime();
    // Polled inside `with` of the same key: refused, and the outer value stays.
    let inside_with = NUMBER.sync_scope(1, || {
        let refused = catch_unwind(AssertUnwindSafe(|| {
            NUMBER.with(|_| rt.block_on(NUMBER.scope(2, async {})))
        }));
        (refused.is_err(), NUMBER.get())
    });
    assert_eq!(inside_with, (true, 1));

    let mut done = Box::pin(NUMBER.scope(4, async {}));
    rt.block_on(done.as_mut());
    let again = catch_unwind(AssertUnwindSafe(|| rt.block_on(done.as_mut()))).unwrap_err();
    let message = panic_message(&*again).unwrap();
    assert!(message.contains("polled after it completed"), "{message}");
}

#[test]
fn a_taken_value_leaves_the_key_unset_for_the_rest_of_the_future() {
    let _watchdog = Watchdog::new("take_value").arm();
    let rt = runtime();
    // After completion: the value comes back (Tokio's use of `take_value`).
    let mut finished = Box::pin(NAME.scope("kept".to_string(), async { NAME.get() }));
    assert_eq!(rt.block_on(finished.as_mut()), "kept");
    assert_eq!(finished.as_mut().take_value().as_deref(), Some("kept"));
    // Before completion: the future runs, and is dropped, with the key unset, even inside
    // an outer scope of it.
    let (tx, rx) = mpsc::channel();
    let mut taken = Box::pin(NUMBER.scope(3, async move {
        let report = ReportOnDrop(tx);
        genrt::yield_now().await;
        let seen = NUMBER.try_get();
        drop(report);
        seen
    }));
    assert_eq!(taken.as_mut().take_value(), Some(3));
    let seen = NUMBER.sync_scope(9, || rt.block_on(taken.as_mut()));
    assert!(seen.is_err());
    assert!(recv(&rx, "the drop after take_value").is_err());
    let (tx, rx) = mpsc::channel();
    let mut never_polled = Box::pin(NUMBER.scope(4, ReportOnDrop(tx)));
    assert_eq!(never_polled.as_mut().take_value(), Some(4));
    NUMBER.sync_scope(9, || drop(never_polled));
    assert!(recv(&rx, "the drop of a future whose value was taken").is_err());
}

#[test]
fn a_panicking_scoped_future_gives_the_key_back() {
    let _watchdog = Watchdog::new("a panicking scoped future").arm();
    let _quiet = quiet_panics();
    let rt = runtime();
    let panicked = rt.spawn(NUMBER.scope(8, async {
        genrt::yield_now().await;
        panic!("{}: inside a scoped future", support::INTENTIONAL);
    }));
    assert!(rt.block_on(panicked).unwrap_err().is_panic());
    let outcome = NUMBER.sync_scope(1, || {
        let failed = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(NUMBER.scope(2, async {
                panic!("{}: inside a scoped future", support::INTENTIONAL)
            }))
        }));
        (failed.is_err(), NUMBER.get())
    });
    assert_eq!(outcome, (true, 1));
    // The workers that ran the panicking task see no value afterwards.
    let after = rt.block_on(rt.spawn(async { NUMBER.try_get() })).unwrap();
    assert!(after.is_err());
}

/// The macro with every form it accepts: attributes, visibility, generic types, no
/// trailing semicolon.
mod macro_forms {
    genrt::task_local! {
        #[allow(dead_code)]
        /// Documented.
        pub(crate) static LIST: Vec<String>;
        static CELL: std::cell::RefCell<u32>
    }

    #[test]
    fn every_form_declares_a_key() {
        let _watchdog = support::Watchdog::new("every form declares a key").arm();
        let n = LIST.sync_scope(vec!["a".into()], || LIST.with(Vec::len));
        assert_eq!(n, 1);
        let m = CELL.sync_scope(std::cell::RefCell::new(1), || {
            CELL.with(|c| *c.borrow_mut() += 1);
            CELL.with(|c| *c.borrow())
        });
        assert_eq!(m, 2);
    }
}

#[test]
fn access_errors_describe_themselves() {
    let _watchdog = Watchdog::new("access errors describe themselves").arm();
    let err = NUMBER.try_with(|n| *n).unwrap_err();
    assert_eq!(err.to_string(), "task-local value not set");
    assert_eq!(format!("{err:?}"), "AccessError");
    let _: &dyn std::error::Error = &err;
    assert!(format!("{NUMBER:?}").contains("LocalKey"));
}
