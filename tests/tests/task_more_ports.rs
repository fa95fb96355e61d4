//! The tests of Tokio's `task_local_set.rs`, `task_join_set.rs`, `task_local.rs`,
//! `task_yield_now.rs`, `task_id.rs`, `coop_budget.rs` and `rt_panic.rs` that genrt's suite
//! did not have yet, translated to genrt. Each test names the Tokio test it ports. Every test
//! runs under a watchdog (`support::Watchdog`) or bounded waits; none bounds a real-time
//! duration from above.
//!
//! Ported here:
//! - `task_local_set.rs`: `local_threadpool_blocking_in_place`.
//! - `task_join_set.rs`: `spawn_local::panic_outside_any_runtime`,
//!   `spawn_local::panic_in_multi_thread_runtime`, `spawn_local::local_set::*` and
//!   `spawn_local_on::local_set::*` (`spawn_then_join_next`, `spawn_then_shutdown`,
//!   `spawn_then_drop`), `replace_parent_waker_drops_outside_lock`, `try_join_next_with_id`;
//!   and, on genrt's timers under a paused clock as in Tokio, `test_with_sleep`,
//!   `abort_tasks`, `task_panics` and `abort_all` (`join_set.rs` ported those four with shell
//!   requests in place of sleeps, from before genrt had timers).
//! - `task_local.rs`: `local`, `task_local_available_on_abort`,
//!   `task_local_available_on_completion_drop`.
//! - `task_yield_now.rs`: `yield_now_outside_of_runtime`,
//!   `yield_now_external_executor_and_block_in_place`.
//! - `task_id.rs`: every test (`task_id_spawn` ... `task_id_block_in_place_block_on_spawn`).
//! - `coop_budget.rs`: `test_has_budget_remaining`.
//! - `rt_panic.rs`: `test_current_handle_panic_caller`, `test_into_panic_panic_caller`
//!   (also covered, under other names, by `track_caller.rs`), and the two builder tests as
//!   the documented difference below.
//!
//! What changed in the port:
//! - `tokio::sync::oneshot`/`mpsc` become `futures::channel`'s; `watch` (in
//!   `try_join_next_with_id`) becomes a shared `oneshot` receiver that every member awaits,
//!   and `Sender::closed` a wait until every member dropped its share (an `Arc` count).
//! - A `#[tokio::test]` body runs in `block_on` of a runtime of the same flavor, built, run
//!   and dropped under a watchdog (`run`); `start_paused = true` becomes
//!   `Builder::start_paused(true)`.
//! - Tokio's task-id tests only `println!` `task::id()` in destructors; here the destructors
//!   send `task::try_id()` to the test, which checks it is the task's own id (a stronger
//!   check; a panic in a destructor would otherwise be swallowed into a `JoinError`).
//! - `local_threadpool_blocking_in_place` is `#[should_panic]` in Tokio (the local task's
//!   `JoinError` unwrapped); here the local task's error is checked to be the panic of
//!   `block_in_place` on a current-thread runtime.
//! - `test_panic` (Tokio's panic-location helper) is `panic_file`: it records only panics of
//!   the calling thread, and every test of this file that touches the panic hook takes
//!   `support::serial()`, so hooks are never swapped by two tests at once.
//! - Tokio's stored `task_yield_now.rs`, its `task_id.rs` tests and `try_join_next_with_id`
//!   are gated on `tokio_unstable` there; they use only APIs that current Tokio has stable
//!   (`yield_now`, `block_in_place`, task ids), so they are ported.
//!
//! Documented differences (tests assert genrt's documented behaviour):
//! - `test_builder_worker_threads_panic_caller` and
//!   `test_builder_max_blocking_threads_panic_caller` (here
//!   `test_builder_*_zero_is_refused_by_build`): Tokio panics in `worker_threads(0)` /
//!   `max_blocking_threads(0)`, at the caller's line; genrt's `Builder::build` returns
//!   `InvalidInput` instead (`Builder::worker_threads`' docs, and `blocking_tokio_ports.rs`'s
//!   `max_blocking_threads_set_to_zero`).
//!
//! genrt bugs found, now fixed (each test failed, by its watchdog, before):
//! - `replace_parent_waker_drops_outside_lock` hung: `JoinSet::poll_join_next_with_id`
//!   replaced the stored waker while it held the ready list's lock, so a waker whose drop
//!   completes a member (which pushes onto the same list) deadlocked.
//! - `join_handle_drops_the_replaced_waker_outside_its_lock` (the same on a plain
//!   `JoinHandle`, not a Tokio test) hung: the task cell's `poll_result` replaced the
//!   handle's waker under the cell's `join` lock, which the task's completion takes.
//!   (`shell.rs` and `local_set.rs` check the same for shell requests, streams and a
//!   `LocalSet`'s owner waker.)
//!
//! Skipped, and why:
//! - `task_local_set.rs` `unstable::shutdown_on_panic`: `LocalSet::unhandled_panic` is
//!   `tokio_unstable` (genrt has no such option). The others are in `local_set.rs`.
//! - `task_join_set.rs` `spawn_local::local_runtime::*`, `spawn_local_on::local_runtime::*`:
//!   `flavor = "local"` / `LocalRuntime` are `tokio_unstable` (genrt has none). The others
//!   are in `join_set.rs`, `api_parity_ports.rs` (`extend`, `detach_all`) and `coop.rs`
//!   (`join_set_coop`).
//! - `coop_budget.rs` `coop_budget_udp_send_recv`: Tokio's `UdpSocket`; genrt has no I/O.

use std::any::Any;
use std::cell::Cell;
use std::future::{pending, Future};
use std::panic::{self, catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use futures::channel::oneshot;
use futures::FutureExt;
use genrt::runtime::{Builder, Handle, Runtime};
use genrt::task::{self, Id, JoinSet, LocalSet};
use support::{panic_message, quiet_panics, recv, serial, QuietPanics, Watchdog, INTENTIONAL};

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

fn current_thread_paused() -> Runtime {
    Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

/// Tokio's `#[tokio::test(flavor = "multi_thread")]` runtime: one worker per CPU.
fn multi_thread() -> Runtime {
    Builder::new_multi_thread().enable_all().build().unwrap()
}

/// Runs `body()` in `block_on` of a runtime made by `rt`, then drops the runtime, all under a
/// watchdog. The body is built on the watchdog's thread, so it need not be `Send`.
fn run<F, B>(what: &'static str, rt: fn() -> Runtime, body: B)
where
    B: FnOnce() -> F + Send + 'static,
    F: Future<Output = ()>,
{
    Watchdog::new(what).run(move || {
        let rt = rt();
        rt.block_on(body());
        drop(rt);
    });
}

/// `quiet_panics`, taken under this binary's serial lock (see [`panic_file`]).
struct Quiet {
    _quiet: QuietPanics,
    _serial: MutexGuard<'static, ()>,
}

fn quiet() -> Quiet {
    let serial = serial();
    Quiet {
        _quiet: quiet_panics(),
        _serial: serial,
    }
}

/// Tokio's `test_panic`: runs `f`, and returns the file of the location of the panic it
/// raised on this thread (`None` if it did not panic). The hook is swapped under the serial
/// lock; panics of other threads go to the hook it replaced.
fn panic_file(f: impl FnOnce()) -> Option<String> {
    let _serial = serial();
    let me = thread::current().id();
    let seen: Arc<Mutex<Option<String>>> = Arc::default();
    let previous: Arc<dyn Fn(&panic::PanicHookInfo<'_>) + Send + Sync> =
        Arc::from(panic::take_hook());
    {
        let (seen, previous) = (seen.clone(), previous.clone());
        panic::set_hook(Box::new(move |info| {
            if thread::current().id() == me {
                *seen.lock().unwrap() = info.location().map(|at| at.file().to_string());
            } else {
                previous(info);
            }
        }));
    }
    let result = catch_unwind(AssertUnwindSafe(f));
    drop(panic::take_hook());
    panic::set_hook(Box::new(move |info| previous(info)));
    let file = seen.lock().unwrap().take();
    result.err().and(file)
}

/// The message of a payload, for assertions.
fn message_of(payload: &(dyn Any + Send)) -> String {
    panic_message(payload)
        .unwrap_or("<not a string>")
        .to_string()
}

// ---- task_local_set.rs ----

/// Tokio's `task_local_set::local_threadpool_blocking_in_place`: `block_in_place` in a local
/// task of a set driven by a current-thread runtime's `block_on` panics (Tokio's test is
/// `#[should_panic]`: the task's `JoinError` is unwrapped); the task stays on the thread.
#[test]
fn local_threadpool_blocking_in_place() {
    let _quiet = quiet();
    let err = Watchdog::new("local_threadpool_blocking_in_place").run(|| {
        thread_local! {
            static ON_RT_THREAD: Cell<bool> = const { Cell::new(false) };
        }
        ON_RT_THREAD.set(true);
        let rt = current_thread();
        let err = LocalSet::new().block_on(&rt, async {
            assert!(ON_RT_THREAD.get());
            let join = task::spawn_local(async move {
                assert!(ON_RT_THREAD.get());
                task::block_in_place(|| {});
                assert!(ON_RT_THREAD.get());
            });
            join.await.unwrap_err()
        });
        drop(rt);
        err
    });
    assert!(err.is_panic(), "{err:?}");
    let message = message_of(&*err.into_panic());
    assert!(message.contains("block_in_place"), "{message}");
}

// ---- task_join_set.rs ----

/// Spawns `n` local members returning their index (each holds an `Rc`): onto the current
/// set, or onto `on`. Tokio's `spawn_index_tasks`.
fn spawn_index_tasks(set: &mut JoinSet<usize>, n: usize, on: Option<&LocalSet>) {
    for i in 0..n {
        let not_send = Rc::new(i);
        let member = async move { *not_send };
        match on {
            None => set.spawn_local(member),
            Some(local) => set.spawn_local_on(member, local),
        };
    }
}

/// Spawns `n` local members pending for ever, each owning a sender whose receiver goes to
/// `receivers`: a receiver fails once its member's future is dropped. Tokio's
/// `spawn_pending_tasks`.
fn spawn_pending_tasks(
    set: &mut JoinSet<()>,
    receivers: &mut Vec<oneshot::Receiver<()>>,
    n: usize,
    on: Option<&LocalSet>,
) {
    for _ in 0..n {
        let (tx, rx) = oneshot::channel::<()>();
        receivers.push(rx);
        let member = async move {
            pending::<()>().await;
            drop(tx);
        };
        match on {
            None => set.spawn_local(member),
            Some(local) => set.spawn_local_on(member, local),
        };
    }
}

/// Joins every member and checks each index came back once. Tokio's
/// `drain_joinset_and_assert`.
async fn drain_joinset_and_assert(mut set: JoinSet<usize>, n: usize) {
    let mut seen = vec![false; n];
    while let Some(joined) = set.join_next().await {
        seen[joined.expect("a member panicked")] = true;
    }
    assert!(seen.into_iter().all(|s| s));
    assert!(set.is_empty());
}

/// Checks that every member was dropped (its sender with it). Tokio's
/// `await_receivers_and_assert`.
async fn await_receivers_and_assert(receivers: Vec<oneshot::Receiver<()>>) {
    for rx in receivers {
        assert!(
            rx.await.is_err(),
            "the member was aborted and its sender dropped"
        );
    }
}

/// Tokio's `task_join_set::spawn_local::panic_outside_any_runtime`: `JoinSet::spawn_local`
/// outside a set panics (Tokio's message names `LocalRuntime` too, which genrt lacks).
#[test]
fn spawn_local_panic_outside_any_runtime() {
    let _quiet = quiet();
    let payload = Watchdog::new("spawn_local outside any runtime").run(|| {
        catch_unwind(|| {
            let mut set = JoinSet::new();
            set.spawn_local(async {});
        })
        .unwrap_err()
    });
    let message = message_of(&*payload);
    assert!(
        message.contains("`spawn_local` called from outside of a `task::LocalSet`"),
        "{message}"
    );
}

/// Tokio's `task_join_set::spawn_local::panic_in_multi_thread_runtime`: inside a
/// multi-thread runtime's `block_on` but outside any set, the same panic.
#[test]
fn spawn_local_panic_in_multi_thread_runtime() {
    let _quiet = quiet();
    let message = Arc::new(Mutex::new(String::new()));
    let out = message.clone();
    run(
        "spawn_local in a multi-thread runtime",
        multi_thread,
        || async move {
            let payload = catch_unwind(|| {
                let mut set = JoinSet::new();
                set.spawn_local(async {});
            })
            .unwrap_err();
            *out.lock().unwrap() = message_of(&*payload);
        },
    );
    let message = message.lock().unwrap();
    assert!(
        message.contains("`spawn_local` called from outside of a `task::LocalSet`"),
        "{message}"
    );
}

/// Tokio's `task_join_set::spawn_local::local_set::spawn_then_join_next`.
#[test]
fn spawn_local_local_set_spawn_then_join_next() {
    run("spawn_local, then join_next", current_thread, || async {
        const N: usize = 8;
        LocalSet::new()
            .run_until(async {
                let mut set = JoinSet::new();
                spawn_index_tasks(&mut set, N, None);
                drain_joinset_and_assert(set, N).await;
            })
            .await;
    });
}

/// Tokio's `task_join_set::spawn_local::local_set::spawn_then_shutdown`.
#[test]
fn spawn_local_local_set_spawn_then_shutdown() {
    run("spawn_local, then shutdown", current_thread, || async {
        const N: usize = 8;
        LocalSet::new()
            .run_until(async {
                let mut set = JoinSet::new();
                let mut receivers = Vec::new();
                spawn_pending_tasks(&mut set, &mut receivers, N, None);
                assert!(set.try_join_next().is_none());
                set.shutdown().await;
                assert!(set.is_empty());
                await_receivers_and_assert(receivers).await;
            })
            .await;
    });
}

/// Tokio's `task_join_set::spawn_local::local_set::spawn_then_drop`.
#[test]
fn spawn_local_local_set_spawn_then_drop() {
    run("spawn_local, then drop", current_thread, || async {
        const N: usize = 8;
        LocalSet::new()
            .run_until(async {
                let mut set = JoinSet::new();
                let mut receivers = Vec::new();
                spawn_pending_tasks(&mut set, &mut receivers, N, None);
                assert!(set.try_join_next().is_none());
                drop(set);
                await_receivers_and_assert(receivers).await;
            })
            .await;
    });
}

/// Tokio's `task_join_set::spawn_local_on::local_set::spawn_then_join_next`: members spawned
/// onto a set before it runs, joined inside it.
#[test]
fn spawn_local_on_local_set_spawn_then_join_next() {
    run("spawn_local_on, then join_next", current_thread, || async {
        const N: usize = 8;
        let local = LocalSet::new();
        let mut set = JoinSet::new();
        spawn_index_tasks(&mut set, N, Some(&local));
        assert!(set.try_join_next().is_none());
        local.run_until(drain_joinset_and_assert(set, N)).await;
    });
}

/// Tokio's `task_join_set::spawn_local_on::local_set::spawn_then_shutdown`.
#[test]
fn spawn_local_on_local_set_spawn_then_shutdown() {
    run("spawn_local_on, then shutdown", current_thread, || async {
        const N: usize = 8;
        let local = LocalSet::new();
        let mut set = JoinSet::new();
        let mut receivers = Vec::new();
        spawn_pending_tasks(&mut set, &mut receivers, N, Some(&local));
        assert!(set.try_join_next().is_none());
        local
            .run_until(async move {
                set.shutdown().await;
                assert!(set.is_empty());
                await_receivers_and_assert(receivers).await;
            })
            .await;
    });
}

/// Tokio's `task_join_set::spawn_local_on::local_set::spawn_then_drop`: the join set dropped
/// before the local set is first driven, and while it is driven.
#[test]
fn spawn_local_on_local_set_spawn_then_drop() {
    run("spawn_local_on, then drop", current_thread, || async {
        const N: usize = 8;
        {
            let local = LocalSet::new();
            let mut set = JoinSet::new();
            let mut receivers = Vec::new();
            spawn_pending_tasks(&mut set, &mut receivers, N, Some(&local));
            assert!(set.try_join_next().is_none());
            drop(set);
            local.run_until(await_receivers_and_assert(receivers)).await;
        }
        {
            let local = LocalSet::new();
            let mut set = JoinSet::new();
            let mut receivers = Vec::new();
            spawn_pending_tasks(&mut set, &mut receivers, N, Some(&local));
            assert!(set.try_join_next().is_none());
            local
                .run_until(async move {
                    drop(set);
                    await_receivers_and_assert(receivers).await;
                })
                .await;
        }
    });
}

/// A waker that runs its runtime's `block_on` once when dropped (Tokio's `DriveOnDrop`).
struct DriveOnDrop(Runtime);

impl Wake for DriveOnDrop {
    fn wake(self: Arc<Self>) {}
}

impl Drop for DriveOnDrop {
    fn drop(&mut self) {
        self.0.block_on(task::yield_now());
    }
}

/// Tokio's `task_join_set::replace_parent_waker_drops_outside_lock`: the set replaces the
/// waker of its last `Pending` poll; the old waker's drop drives the runtime, which finishes
/// the member and so pushes onto the set's ready list. Dropped under that list's lock, it
/// deadlocks (it did on genrt: `task::register_waker` now hands the old waker back to be
/// dropped after the lock).
#[test]
fn replace_parent_waker_drops_outside_lock() {
    Watchdog::new("replace_parent_waker_drops_outside_lock")
        .suspect("the old waker dropped under the JoinSet's ready-list lock")
        .run(|| {
            let rt = current_thread();
            let mut set = JoinSet::new();
            set.spawn_on(async { 42 }, rt.handle());
            let waker = Waker::from(Arc::new(DriveOnDrop(rt)));
            assert!(set
                .poll_join_next(&mut Context::from_waker(&waker))
                .is_pending());
            drop(waker);
            assert!(set
                .poll_join_next(&mut Context::from_waker(futures::task::noop_waker_ref()))
                .is_pending());
            assert_eq!(set.try_join_next().unwrap().unwrap(), 42);
        });
}

/// The same bug on a plain `JoinHandle` (a variant of Tokio's
/// `replace_parent_waker_drops_outside_lock`; Tokio's handle swaps its waker through the
/// task's atomic state, with no lock held): the cell's `poll_result` replaces the handle's
/// waker under the cell's `join` lock, and the old waker's drop finishes the task, whose
/// completion takes that lock. (Checked by hand on Tokio 1.54: its second poll returns
/// `Ready(Ok(42))`.)
#[test]
fn join_handle_drops_the_replaced_waker_outside_its_lock() {
    Watchdog::new("join handle: replaced waker dropped")
        .suspect("the old waker dropped under the task cell's join lock")
        .run(|| {
            let rt = current_thread();
            let mut handle = rt.spawn(async { 42 });
            let waker = Waker::from(Arc::new(DriveOnDrop(rt)));
            assert!(Pin::new(&mut handle)
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            drop(waker);
            let noop = futures::task::noop_waker_ref();
            let joined = match Pin::new(&mut handle).poll(&mut Context::from_waker(noop)) {
                Poll::Ready(joined) => joined,
                Poll::Pending => support::wait_for("the task", handle),
            };
            assert_eq!(joined.unwrap(), 42);
        });
}

/// Tokio's `task_join_set::try_join_next_with_id` (`tokio_unstable` in Tokio's file, but
/// genrt has the API): 1,000 members wait on one signal; none is joinable before it; after
/// it, and after every member dropped its receiver, each is joined once with its id.
#[test]
fn try_join_next_with_id() {
    run("try_join_next_with_id", current_thread, || async {
        const TASK_NUM: usize = 1000;
        let (send, recv) = oneshot::channel::<()>();
        let recv = recv.shared();
        // The `watch` channel's receiver count: one share per live member.
        let alive = Arc::new(());
        let mut set = JoinSet::new();
        let mut spawned = std::collections::HashSet::with_capacity(TASK_NUM);
        for _ in 0..TASK_NUM {
            let (recv, alive) = (recv.clone(), alive.clone());
            let handle = set.spawn(async move {
                recv.await.unwrap();
                drop(alive);
            });
            spawned.insert(handle.id());
        }
        drop(recv);
        assert!(set.try_join_next_with_id().is_none());
        send.send(()).unwrap();
        // `send.closed().await`: until every member dropped its receiver.
        while Arc::strong_count(&alive) > 1 {
            task::yield_now().await;
        }
        let mut count = 0;
        let mut joined = std::collections::HashSet::with_capacity(TASK_NUM);
        while let Some(next) = set.try_join_next_with_id() {
            let (id, ()) = next.expect("a member failed");
            count += 1;
            joined.insert(id);
        }
        assert_eq!(count, TASK_NUM);
        assert_eq!(joined, spawned);
    });
}

/// Tokio's `task_join_set::test_with_sleep` on genrt's timers (paused clock): members sleep
/// 0..10 s; every one is joined, twice over; `detach_all` empties the set first.
#[test]
fn test_with_sleep() {
    run("test_with_sleep", current_thread_paused, || async {
        let mut set = JoinSet::new();
        for i in 0..10 {
            set.spawn(async move { i });
            assert_eq!(set.len(), 1 + i);
        }
        set.detach_all();
        assert_eq!(set.len(), 0);
        assert!(set.join_next().await.is_none());
        for round in 0..2 {
            for i in 0..10 {
                set.spawn(async move {
                    genrt::time::sleep(Duration::from_secs(i as u64)).await;
                    i
                });
                if round == 0 {
                    assert_eq!(set.len(), 1 + i);
                }
            }
            let mut seen = [false; 10];
            while let Some(i) = set.join_next().await.transpose().unwrap() {
                seen[i] = true;
            }
            assert!(seen.iter().all(|s| *s));
            assert!(set.join_next().await.is_none());
        }
    });
}

/// Tokio's `task_join_set::abort_tasks` on genrt's timers (paused clock): odd members are
/// aborted through their abort handles; 8 complete, 8 are cancelled.
#[test]
fn abort_tasks() {
    run("abort_tasks", current_thread_paused, || async {
        let mut set = JoinSet::new();
        let (mut canceled, mut completed) = (0, 0);
        for i in 0..16u64 {
            let abort = set.spawn(async move {
                genrt::time::sleep(Duration::from_secs(i)).await;
                i
            });
            if i % 2 != 0 {
                abort.abort();
            }
        }
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(i) => {
                    completed += 1;
                    assert_eq!(i % 2, 0);
                }
                Err(err) => {
                    assert!(err.is_cancelled());
                    canceled += 1;
                }
            }
        }
        assert_eq!((canceled, completed), (8, 8));
    });
}

/// Tokio's `task_join_set::task_panics` on genrt's timers (paused clock): `join_all` of a set
/// whose member panics (at 1 s) panics, and aborts the member that would send at 2 s.
#[test]
fn task_panics() {
    let _quiet = quiet();
    run("task_panics", current_thread_paused, || async {
        let mut set: JoinSet<()> = JoinSet::new();
        let (tx, mut rx) = oneshot::channel();
        assert_eq!(set.len(), 0);
        set.spawn(async move {
            genrt::time::sleep(Duration::from_secs(2)).await;
            tx.send(()).unwrap();
        });
        assert_eq!(set.len(), 1);
        set.spawn(async {
            genrt::time::sleep(Duration::from_secs(1)).await;
            panic!("{INTENTIONAL}: task_panics");
        });
        assert_eq!(set.len(), 2);
        let panic = genrt::spawn(set.join_all()).await.unwrap_err();
        assert!(
            !matches!(rx.try_recv(), Ok(Some(()))),
            "the sender never sent"
        );
        assert!(panic.is_panic());
    });
}

/// Tokio's `task_join_set::abort_all` on genrt's timers (paused clock): 5 members pending for
/// ever and 5 finished by the time `abort_all` runs; all 10 are joined.
#[test]
fn abort_all() {
    run("abort_all", current_thread_paused, || async {
        let mut set: JoinSet<()> = JoinSet::new();
        for _ in 0..5 {
            set.spawn(pending());
        }
        for _ in 0..5 {
            set.spawn(async {
                genrt::time::sleep(Duration::from_secs(1)).await;
            });
        }
        genrt::time::sleep(Duration::from_secs(2)).await;
        set.abort_all();
        assert_eq!(set.len(), 10);
        let mut count = 0;
        while let Some(joined) = set.join_next().await {
            if let Err(err) = joined {
                assert!(err.is_cancelled());
            }
            count += 1;
        }
        assert_eq!(count, 10);
        assert_eq!(set.len(), 0);
    });
}

// ---- task_local.rs ----

/// Tokio's `task_local::local`: two keys (one `pub`) declared in a function; each task sees
/// its own value, also across a sleep on a multi-thread runtime.
#[test]
fn task_local_local() {
    run("task_local::local", multi_thread, || async {
        genrt::task_local! {
            static REQ_ID: u32;
            pub static FOO: bool;
        }
        let j1 = genrt::spawn(REQ_ID.scope(1, async move {
            assert_eq!(REQ_ID.get(), 1);
            assert_eq!(REQ_ID.get(), 1);
        }));
        let j2 = genrt::spawn(REQ_ID.scope(2, async move {
            REQ_ID.with(|v| {
                assert_eq!(REQ_ID.get(), 2);
                assert_eq!(*v, 2);
            });
            genrt::time::sleep(Duration::from_millis(10)).await;
            assert_eq!(REQ_ID.get(), 2);
        }));
        let j3 = genrt::spawn(FOO.scope(true, async move {
            assert!(FOO.get());
        }));
        j1.await.unwrap();
        j2.await.unwrap();
        j3.await.unwrap();
    });
}

genrt::task_local! {
    static KEY: u32;
}

/// Pending for ever; tells when first polled, and sends `KEY` when dropped.
struct PendingReportsKey {
    tx_poll: Option<oneshot::Sender<()>>,
    tx_drop: Option<oneshot::Sender<u32>>,
}

impl Future for PendingReportsKey {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if let Some(tx) = self.tx_poll.take() {
            let _ = tx.send(());
        }
        Poll::Pending
    }
}

impl Drop for PendingReportsKey {
    fn drop(&mut self) {
        let _ = self.tx_drop.take().unwrap().send(KEY.get());
    }
}

/// Tokio's `task_local::task_local_available_on_abort`: an aborted task's future is dropped
/// inside its scope.
#[test]
fn task_local_available_on_abort() {
    run("task_local_available_on_abort", current_thread, || async {
        let (tx_drop, rx_drop) = oneshot::channel();
        let (tx_poll, rx_poll) = oneshot::channel();
        let h = genrt::spawn(KEY.scope(
            42,
            PendingReportsKey {
                tx_poll: Some(tx_poll),
                tx_drop: Some(tx_drop),
            },
        ));
        rx_poll.await.unwrap();
        h.abort();
        assert_eq!(rx_drop.await.unwrap(), 42);
        let err = h.await.unwrap_err();
        if !err.is_cancelled() {
            match err.try_into_panic() {
                Ok(payload) => panic::resume_unwind(payload),
                Err(err) => panic!("neither cancelled nor a panic: {err:?}"),
            }
        }
    });
}

/// Ready at once; sends `KEY` when dropped.
struct ReadyReportsKey(Option<oneshot::Sender<u32>>);

impl Future for ReadyReportsKey {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
}

impl Drop for ReadyReportsKey {
    fn drop(&mut self) {
        let _ = self.0.take().unwrap().send(KEY.get());
    }
}

/// Tokio's `task_local::task_local_available_on_completion_drop`: a finished task's future
/// is dropped inside its scope.
#[test]
fn task_local_available_on_completion_drop() {
    run(
        "task_local_available_on_completion_drop",
        current_thread,
        || async {
            let (tx, rx) = oneshot::channel();
            let h = genrt::spawn(KEY.scope(42, ReadyReportsKey(Some(tx))));
            assert_eq!(rx.await.unwrap(), 42);
            h.await.unwrap();
        },
    );
}

// ---- task_yield_now.rs ----

/// Counts its wakes.
#[derive(Default)]
struct CountWakes(AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Tokio's `task_yield_now::yield_now_outside_of_runtime`: polled by hand outside any
/// runtime, `yield_now` is pending once, having woken its waker, then ready.
#[test]
fn yield_now_outside_of_runtime() {
    Watchdog::new("yield_now outside a runtime").run(|| {
        let wakes = Arc::new(CountWakes::default());
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut yielding = pin!(task::yield_now());
        assert!(yielding.as_mut().poll(&mut cx).is_pending());
        assert!(
            wakes.0.load(Ordering::SeqCst) > 0,
            "yield_now woke its waker"
        );
        assert!(yielding.as_mut().poll(&mut cx).is_ready());
    });
}

/// Tokio's `task_yield_now::yield_now_external_executor_and_block_in_place`: inside
/// `block_in_place`, another executor drives `yield_now` to completion.
#[test]
fn yield_now_external_executor_and_block_in_place() {
    run("yield_now in block_in_place", multi_thread, || async {
        let j = genrt::spawn(async {
            task::block_in_place(|| futures::executor::block_on(task::yield_now()));
        });
        j.await.unwrap();
    });
}

// ---- task_id.rs ----

/// Tokio's `task_id::task_id_spawn`.
#[test]
fn task_id_spawn() {
    run("task_id_spawn", current_thread, || async {
        genrt::spawn(async { println!("task id: {}", task::id()) })
            .await
            .unwrap();
    });
}

/// Tokio's `task_id::task_id_spawn_blocking`.
#[test]
fn task_id_spawn_blocking() {
    run("task_id_spawn_blocking", current_thread, || async {
        task::spawn_blocking(|| println!("task id: {}", task::id()))
            .await
            .unwrap();
    });
}

async fn two_ids_differ() {
    let handle1 = genrt::spawn(async { task::id() });
    let handle2 = genrt::spawn(async { task::id() });
    let (id1, id2) = futures::join!(handle1, handle2);
    assert_ne!(id1.unwrap(), id2.unwrap());
}

/// Tokio's `task_id::task_id_collision_current_thread`.
#[test]
fn task_id_collision_current_thread() {
    run("task_id_collision_current_thread", current_thread, || {
        two_ids_differ()
    });
}

/// Tokio's `task_id::task_id_collision_multi_thread`.
#[test]
fn task_id_collision_multi_thread() {
    run("task_id_collision_multi_thread", multi_thread, || {
        two_ids_differ()
    });
}

async fn handle_id_is_inside_id() {
    let (tx, rx) = oneshot::channel();
    let handle = genrt::spawn(async {
        let id = rx.await.unwrap();
        assert_eq!(id, task::id());
    });
    tx.send(handle.id()).unwrap();
    handle.await.unwrap();
}

/// Tokio's `task_id::task_ids_match_current_thread`.
#[test]
fn task_ids_match_current_thread() {
    run("task_ids_match_current_thread", current_thread, || {
        handle_id_is_inside_id()
    });
}

/// Tokio's `task_id::task_ids_match_multi_thread`.
#[test]
fn task_ids_match_multi_thread() {
    run("task_ids_match_multi_thread", multi_thread, || {
        handle_id_is_inside_id()
    });
}

/// Ready at once, or pending for ever; sends `task::try_id()` when dropped.
struct IdOnDrop {
    ready: bool,
    tx: mpsc::Sender<(&'static str, Option<Id>)>,
}

impl Future for IdOnDrop {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.ready {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for IdOnDrop {
    fn drop(&mut self) {
        let _ = self.tx.send(("future", task::try_id()));
    }
}

/// Tokio's `task_id::task_id_future_destructor_completion`: a finished future is dropped
/// inside its task.
#[test]
fn task_id_future_destructor_completion() {
    let (tx, rx) = mpsc::channel();
    let id = Arc::new(Mutex::new(None));
    let seen = id.clone();
    run(
        "task_id_future_destructor_completion",
        multi_thread,
        || async move {
            let handle = genrt::spawn(IdOnDrop { ready: true, tx });
            *seen.lock().unwrap() = Some(handle.id());
            handle.await.unwrap();
        },
    );
    let expected = *id.lock().unwrap();
    assert_eq!(recv(&rx, "the future's drop"), ("future", expected));
}

/// Tokio's `task_id::task_id_future_destructor_abort`: an aborted future is dropped inside
/// its task (on abort, or at the latest when the runtime drops).
#[test]
fn task_id_future_destructor_abort() {
    let (tx, rx) = mpsc::channel();
    let id = Arc::new(Mutex::new(None));
    let seen = id.clone();
    run(
        "task_id_future_destructor_abort",
        multi_thread,
        || async move {
            let handle = genrt::spawn(IdOnDrop { ready: false, tx });
            *seen.lock().unwrap() = Some(handle.id());
            handle.abort();
        },
    );
    let expected = *id.lock().unwrap();
    assert_eq!(recv(&rx, "the future's drop"), ("future", expected));
}

/// An output that sends `task::try_id()` when dropped.
struct OutputIdOnDrop(mpsc::Sender<(&'static str, Option<Id>)>);

impl Drop for OutputIdOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(("output", task::try_id()));
    }
}

/// Tells `tx` when polled and returns an [`OutputIdOnDrop`]; sends `task::try_id()` when
/// dropped.
struct ReadyWithOutput {
    tx: Option<oneshot::Sender<()>>,
    ids: mpsc::Sender<(&'static str, Option<Id>)>,
}

impl Future for ReadyWithOutput {
    type Output = OutputIdOnDrop;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<OutputIdOnDrop> {
        let _ = self.tx.take().unwrap().send(());
        Poll::Ready(OutputIdOnDrop(self.ids.clone()))
    }
}

impl Drop for ReadyWithOutput {
    fn drop(&mut self) {
        let _ = self.ids.send(("future", task::try_id()));
    }
}

/// Runs Tokio's `task_id_output_destructor_*` body, the handle dropped before or after the
/// task finished; returns the handle's id and what the destructors saw.
fn output_destructor(
    what: &'static str,
    drop_before: bool,
) -> (Id, Vec<(&'static str, Option<Id>)>) {
    let (ids, seen) = mpsc::channel();
    let id = Arc::new(Mutex::new(None));
    let out = id.clone();
    run(what, current_thread, move || async move {
        let (tx, rx) = oneshot::channel();
        let handle = genrt::spawn(ReadyWithOutput { tx: Some(tx), ids });
        *out.lock().unwrap() = Some(handle.id());
        if drop_before {
            drop(handle);
            rx.await.unwrap();
        } else {
            rx.await.unwrap();
            drop(handle);
        }
    });
    let id = id.lock().unwrap().unwrap();
    let mut drops = vec![recv(&seen, "a destructor"), recv(&seen, "a destructor")];
    drops.sort();
    (id, drops)
}

/// Tokio's `task_id::task_id_output_destructor_handle_dropped_before_completion`.
#[test]
fn task_id_output_destructor_handle_dropped_before_completion() {
    let (id, drops) = output_destructor("output destructor, handle dropped before", true);
    assert_eq!(drops, [("future", Some(id)), ("output", Some(id))]);
}

/// Tokio's `task_id::task_id_output_destructor_handle_dropped_after_completion`: the output
/// is dropped by the join handle's drop, in `block_on`, still inside the task's id.
#[test]
fn task_id_output_destructor_handle_dropped_after_completion() {
    let (id, drops) = output_destructor("output destructor, handle dropped after", false);
    assert_eq!(drops, [("future", Some(id)), ("output", Some(id))]);
}

/// Tokio's `task_id::task_try_id_outside_task`.
#[test]
fn task_try_id_outside_task() {
    Watchdog::new("task_try_id_outside_task").run(|| assert_eq!(None, task::try_id()));
}

/// Tokio's `task_id::task_try_id_inside_block_on`.
#[test]
fn task_try_id_inside_block_on() {
    Watchdog::new("task_try_id_inside_block_on").run(|| {
        let rt = Runtime::new().unwrap();
        rt.block_on(async {
            assert_eq!(None, task::try_id());
        });
    });
}

/// Tokio's `task_id::task_id_spawn_local`.
#[test]
fn task_id_spawn_local() {
    run("task_id_spawn_local", current_thread, || async {
        LocalSet::new()
            .run_until(async {
                task::spawn_local(async { println!("task id: {}", task::id()) })
                    .await
                    .unwrap();
            })
            .await;
    });
}

/// Tokio's `task_id::task_id_nested_spawn_local`: a set driven inside a local task; its task
/// has an id of its own, and the outer task's id is current again afterwards.
#[test]
fn task_id_nested_spawn_local() {
    run("task_id_nested_spawn_local", current_thread, || async {
        LocalSet::new()
            .run_until(async {
                task::spawn_local(async {
                    let outer_id = task::id();
                    LocalSet::new()
                        .run_until(async {
                            task::spawn_local(async move {
                                assert_ne!(outer_id, task::id());
                            })
                            .await
                            .unwrap();
                        })
                        .await;
                    assert_eq!(outer_id, task::id());
                })
                .await
                .unwrap();
            })
            .await;
    });
}

/// Tokio's `task_id::task_id_outside_task_panic_caller`: the panic points at the caller.
#[test]
fn task_id_outside_task_panic_caller() {
    let file = Watchdog::new("task_id_outside_task_panic_caller").run(|| {
        panic_file(|| {
            let _ = task::id();
        })
    });
    assert_eq!(file.as_deref(), Some(file!()));
}

/// Tokio's `task_id::task_id_inside_block_on_panic_caller`.
#[test]
fn task_id_inside_block_on_panic_caller() {
    let file = Watchdog::new("task_id_inside_block_on_panic_caller").run(|| {
        panic_file(|| {
            let rt = Runtime::new().unwrap();
            rt.block_on(async {
                task::id();
            });
        })
    });
    assert_eq!(file.as_deref(), Some(file!()));
}

/// Tokio's `task_id::task_id_block_in_place_block_on_spawn`: a task blocking in place builds
/// a runtime and runs a task on it; its own id is the same afterwards.
#[test]
fn task_id_block_in_place_block_on_spawn() {
    run(
        "task_id_block_in_place_block_on_spawn",
        multi_thread,
        || async {
            task::spawn(async {
                let id1 = task::id();
                task::block_in_place(|| {
                    let rt = Builder::new_current_thread().build().unwrap();
                    rt.block_on(rt.spawn(async {})).unwrap();
                });
                let id2 = task::id();
                assert_eq!(id1, id2);
            })
            .await
            .unwrap();
        },
    );
}

// ---- coop_budget.rs ----

/// Tokio's `coop_budget::test_has_budget_remaining`: a `block_on` poll starts with budget;
/// 128 `consume_budget` calls spend it.
#[test]
fn test_has_budget_remaining() {
    run("test_has_budget_remaining", current_thread, || async {
        const BUDGET: usize = 128;
        assert!(task::coop::has_budget_remaining());
        for _ in 0..BUDGET {
            task::consume_budget().await;
        }
        assert!(!task::coop::has_budget_remaining());
    });
}

// ---- rt_panic.rs ----

/// Tokio's `rt_panic::test_current_handle_panic_caller`.
#[test]
fn test_current_handle_panic_caller() {
    let file = Watchdog::new("test_current_handle_panic_caller").run(|| {
        panic_file(|| {
            let _ = Handle::current();
        })
    });
    assert_eq!(file.as_deref(), Some(file!()));
}

/// Tokio's `rt_panic::test_into_panic_panic_caller`.
#[test]
fn test_into_panic_panic_caller() {
    let file = Watchdog::new("test_into_panic_panic_caller").run(|| {
        panic_file(|| {
            let rt = current_thread();
            rt.block_on(async {
                let handle = genrt::spawn(pending::<()>());
                handle.abort();
                let err = handle.await.unwrap_err();
                assert!(!err.is_panic());
                let _ = err.into_panic();
            });
        })
    });
    assert_eq!(file.as_deref(), Some(file!()));
}

/// Tokio's `rt_panic::test_builder_worker_threads_panic_caller`. A documented difference:
/// Tokio panics in `worker_threads(0)`, at the caller's line; genrt's `worker_threads` takes
/// any count and `build` refuses zero with `InvalidInput` ("Zero is refused by
/// `Builder::build`").
#[test]
fn test_builder_worker_threads_zero_is_refused_by_build() {
    let _quiet = quiet();
    let built = Watchdog::new("worker_threads(0)")
        .run(|| catch_unwind(|| Builder::new_multi_thread().worker_threads(0).build().err()));
    let err = built
        .expect("genrt does not panic")
        .expect("genrt's build refuses zero workers");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

/// Tokio's `rt_panic::test_builder_max_blocking_threads_panic_caller`. The same documented
/// difference as `worker_threads(0)`.
#[test]
fn test_builder_max_blocking_threads_zero_is_refused_by_build() {
    let _quiet = quiet();
    let built = Watchdog::new("max_blocking_threads(0)").run(|| {
        catch_unwind(|| {
            Builder::new_multi_thread()
                .max_blocking_threads(0)
                .build()
                .err()
        })
    });
    let err = built
        .expect("genrt does not panic")
        .expect("genrt's build refuses zero blocking threads");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
