//! Valgrind's view of a runtime dropped with pending tasks whose wakers and resolvers
//! outlive it.
//!
//! Run it under valgrind with `scripts/valgrind.sh`; on its own, `cargo run -p genrt-benches
//! --bin valgrind_drop` checks the same outcomes without valgrind's eye on memory.
//!
//! Steps:
//! 1. start a runtime with 2 workers and spawn 1,000 tasks that stay pending: a third await a
//!    shell request, a third a shell stream, a third a hand-made future that parks its waker
//!    in the static [`HELD`]. The resolvers go to `HELD` too. Every future owns a heap
//!    payload and a drop counter, so a future that is never dropped shows up as lost memory;
//! 2. settle, so every task has been polled and has left its waker behind, then spawn 100
//!    more that no worker may poll before the drop;
//! 3. drop the runtime. Every future must be dropped by then, and every join handle kept
//!    must resolve to a cancelled error;
//! 4. from 4 threads, wake every held waker (by reference and by value, from clones) and
//!    resolve every resolver. Every `resolve` and `send` must hand its value back, as
//!    `Err(value)`: nobody waits any more;
//! 5. empty `HELD`;
//! 6. once more with 300 tasks on a second runtime, but this time the 4 threads wake and
//!    resolve *while* the runtime drops: a resolve may reach its task or hand its value back,
//!    and every resolve issued after the drop returned must hand it back. This is the race
//!    that async-executor got wrong (a use-after-free on wake during drop, #163); valgrind
//!    checks every access it makes.
//!
//! The program exits with status 1 if a check fails (it panics, and `main` reports it);
//! valgrind adds its own exit status 1 for an invalid read or write, or for memory definitely
//! or indirectly lost.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use genrt::shell::{self, Resolver, ShellRequest, ShellStream, StreamResolver};

/// Tasks that are polled, and leave a waker or a resolver behind, before the drop.
const SUSPENDED: usize = 1_000;
/// Tasks spawned just before the drop, with no settle in between.
const LATE: usize = 100;
/// Join handles kept across the drop (the others are detached), one every `KEEP_EVERY`.
const KEEP_EVERY: usize = 10;
/// Threads that wake and resolve after the drop.
const THREADS: usize = 4;
/// Tasks of the runtime in step 6, whose drop races the wakes and resolves.
const RACING: usize = 300;
/// Most passes a thread of step 6 makes over its share: a bound on the work. The drop ends
/// the passes sooner.
const RACING_PASSES: usize = 10_000;
/// A thread of step 6 resolves one of its resolvers every this many passes, so that the
/// resolves spread over the drop (a drop takes some 100 to 1,000 passes, natively and under
/// valgrind alike).
const RESOLVE_EVERY: usize = 8;
/// How long `settle` may take before the program gives up; generous, as valgrind runs
/// the program some 50 times slower.
const SETTLE_LIMIT: Duration = Duration::from_secs(300);

/// A value a shell produces: heap-allocated, so a value that nobody frees is lost memory.
type Payload = Box<[u64; 4]>;

/// What the program keeps of the runtime's tasks after the runtime is gone.
enum Held {
    /// A task's waker, parked here by [`ParkWaker`].
    Waker(Waker),
    /// The resolving half of a task's shell request.
    Resolver(Resolver<Payload>),
    /// The sending half of a task's shell stream.
    Stream(StreamResolver<Payload>),
}

/// The wakers and resolvers of every task, in a static: they outlive the runtime and are
/// touched from threads that never belonged to it.
static HELD: Mutex<Vec<Held>> = Mutex::new(Vec::new());

fn held() -> MutexGuard<'static, Vec<Held>> {
    HELD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Futures dropped so far; every task's future bumps it once, when it is dropped.
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Owned by every task's future: its heap payload and its drop count.
struct Owned {
    _payload: Payload,
}

impl Owned {
    fn new(seed: usize) -> Owned {
        Owned {
            _payload: Box::new([seed as u64; 4]),
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

/// A hand-made pending future: on its first poll it parks a clone of its waker in [`HELD`];
/// it never completes.
struct ParkWaker {
    parked: bool,
}

impl Future for ParkWaker {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.parked {
            self.parked = true;
            held().push(Held::Waker(cx.waker().clone()));
        }
        Poll::Pending
    }
}

/// Waits for one value (only step 6 delivers any before its runtime drops).
async fn await_request(owned: Owned, request: ShellRequest<Payload>) {
    let _owned = owned;
    let _ = request.await;
}

/// Waits for one value (only step 6 delivers any before its runtime drops).
async fn await_stream(owned: Owned, mut stream: ShellStream<Payload>) {
    let _owned = owned;
    let _ = stream.next().await;
}

async fn await_parked(owned: Owned) {
    let _owned = owned;
    ParkWaker { parked: false }.await;
}

/// Spawns task `i`, of the kind `i % 3` picks, and returns its join handle.
fn spawn_pending(rt: &genrt::Runtime, i: usize) -> genrt::JoinHandle<()> {
    let owned = Owned::new(i);
    match i % 3 {
        0 => {
            let (request, resolver) = shell::request::<Payload>();
            held().push(Held::Resolver(resolver));
            rt.spawn(await_request(owned, request))
        }
        1 => {
            let (stream, resolver) = shell::stream::<Payload>();
            held().push(Held::Stream(resolver));
            rt.spawn(await_stream(owned, stream))
        }
        _ => rt.spawn(await_parked(owned)),
    }
}

/// What one waking thread did.
#[derive(Default)]
struct Tally {
    wakes: usize,
    handed_back: usize,
}

/// Takes items out of [`HELD`] until it is empty: wakes each waker three ways, resolves
/// each resolver. Panics if a resolve or a send is accepted.
fn wake_and_resolve(thread_index: usize) -> Tally {
    let mut tally = Tally::default();
    loop {
        let Some(item) = held().pop() else {
            return tally;
        };
        let value: Payload = Box::new([thread_index as u64; 4]);
        match item {
            Held::Waker(waker) => {
                waker.wake_by_ref();
                let copy = waker.clone();
                copy.wake();
                waker.wake();
                tally.wakes += 3;
            }
            Held::Resolver(resolver) => {
                let back = resolver
                    .resolve(value)
                    .expect_err("a resolve after the runtime dropped must hand its value back");
                assert_eq!(
                    back[0], thread_index as u64,
                    "the value handed back is ours"
                );
                tally.handed_back += 1;
            }
            Held::Stream(resolver) => {
                let back = resolver
                    .send(value)
                    .expect_err("a send after the runtime dropped must hand its value back");
                assert_eq!(
                    back[0], thread_index as u64,
                    "the value handed back is ours"
                );
                assert!(resolver.is_cancelled());
                tally.handed_back += 1;
            }
        }
    }
}

fn run() {
    // 1. Pending tasks.
    let rt = genrt::Builder::new()
        .worker_threads(2)
        .build()
        .expect("the runtime starts");
    let mut kept = Vec::new();
    for i in 0..SUSPENDED {
        let join = spawn_pending(&rt, i);
        if i % KEEP_EVERY == 0 {
            kept.push(join);
        }
    }
    // 2. Every task polled once, then a few that are not.
    assert!(
        rt.try_settle(SETTLE_LIMIT),
        "the runtime did not settle within {SETTLE_LIMIT:?}"
    );
    let parked = held()
        .iter()
        .filter(|item| matches!(item, Held::Waker(_)))
        .count();
    assert_eq!(
        parked,
        SUSPENDED / 3,
        "every hand-made future parked its waker"
    );
    for i in SUSPENDED..SUSPENDED + LATE {
        let join = spawn_pending(&rt, i);
        if i % KEEP_EVERY == 0 {
            kept.push(join);
        }
    }

    // 3. The drop.
    assert_eq!(DROPPED.load(Ordering::SeqCst), 0, "no future dropped early");
    drop(rt);
    assert_eq!(
        DROPPED.load(Ordering::SeqCst),
        SUSPENDED + LATE,
        "dropping the runtime dropped every future"
    );
    for join in kept {
        let err = futures::executor::block_on(join)
            .expect_err("a task of a dropped runtime cannot have finished");
        assert!(err.is_cancelled(), "{err:?}");
    }

    // 4. Wakes and resolves from 4 threads.
    let held_before = held().len();
    let tallies: Vec<Tally> = (0..THREADS)
        .map(|t| thread::spawn(move || wake_and_resolve(t)))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|thread| thread.join().expect("a waking thread panicked"))
        .collect();
    let wakes: usize = tallies.iter().map(|t| t.wakes).sum();
    let handed_back: usize = tallies.iter().map(|t| t.handed_back).sum();
    let resolvers = (0..SUSPENDED + LATE).filter(|i| i % 3 != 2).count();
    assert_eq!(
        handed_back, resolvers,
        "every resolver handed its value back"
    );
    assert_eq!(
        wakes,
        3 * (held_before - resolvers),
        "every waker was woken"
    );

    // 5. Nothing left in the static.
    drop(std::mem::take(&mut *held()));
    println!(
        "valgrind_drop: {} futures dropped with the runtime; {wakes} stale wakes and {handed_back} \
         resolves handed back from {THREADS} threads",
        SUSPENDED + LATE
    );
}

/// One thread of step 6: pass after pass over its share, waking every waker and resolving one
/// resolver every [`RESOLVE_EVERY`] passes, until a pass starts after the drop returned; then
/// everything left.
/// Returns (wakes, resolves delivered, resolves handed back).
fn race_share(share: Vec<Held>, start: &Barrier, dropped: &AtomicBool) -> (usize, usize, usize) {
    let (wakers, mut resolvers): (Vec<Held>, Vec<Held>) = share
        .into_iter()
        .partition(|item| matches!(item, Held::Waker(_)));
    let (mut wakes, mut delivered, mut handed_back) = (0, 0, 0);
    start.wait();
    for pass in 0..RACING_PASSES {
        let after_drop = dropped.load(Ordering::SeqCst);
        for item in &wakers {
            if let Held::Waker(waker) = item {
                waker.wake_by_ref();
                wakes += 1;
            }
        }
        let take = if after_drop {
            resolvers.len()
        } else {
            usize::from(pass % RESOLVE_EVERY == 0)
        };
        for item in resolvers.drain(..take.min(resolvers.len())) {
            let value: Payload = Box::new([0; 4]);
            let accepted = match item {
                Held::Resolver(resolver) => resolver.resolve(value).is_ok(),
                Held::Stream(resolver) => resolver.send(value).is_ok(),
                Held::Waker(_) => unreachable!("partitioned out"),
            };
            assert!(
                !(accepted && after_drop),
                "a resolve issued after the runtime's drop returned was accepted"
            );
            if accepted {
                delivered += 1;
            } else {
                handed_back += 1;
            }
        }
        if after_drop {
            break;
        }
    }
    // Resolvers left if the drop outlasted every pass.
    for item in resolvers {
        let value: Payload = Box::new([0; 4]);
        let accepted = match item {
            Held::Resolver(resolver) => resolver.resolve(value).is_ok(),
            Held::Stream(resolver) => resolver.send(value).is_ok(),
            Held::Waker(_) => unreachable!("partitioned out"),
        };
        if accepted {
            delivered += 1;
        } else {
            handed_back += 1;
        }
    }
    (wakes, delivered, handed_back)
}

/// Step 6: wakes and resolves from 4 threads racing the drop of a second runtime.
fn race_the_drop() {
    let dropped_before = DROPPED.load(Ordering::SeqCst);
    let rt = genrt::Builder::new()
        .worker_threads(2)
        .build()
        .expect("the second runtime starts");
    for i in 0..RACING {
        drop(spawn_pending(&rt, i));
    }
    assert!(
        rt.try_settle(SETTLE_LIMIT),
        "the second runtime did not settle within {SETTLE_LIMIT:?}"
    );
    let mut shares: Vec<Vec<Held>> = (0..THREADS).map(|_| Vec::new()).collect();
    for (i, item) in std::mem::take(&mut *held()).into_iter().enumerate() {
        shares[i % THREADS].push(item);
    }
    let start = Arc::new(Barrier::new(THREADS + 1));
    let dropped = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = shares
        .into_iter()
        .map(|share| {
            let (start, dropped) = (start.clone(), dropped.clone());
            thread::spawn(move || race_share(share, &start, &dropped))
        })
        .collect();
    start.wait();
    drop(rt);
    dropped.store(true, Ordering::SeqCst);
    let (mut wakes, mut delivered, mut handed_back) = (0, 0, 0);
    for thread in threads {
        let (w, d, h) = thread.join().expect("a racing thread's check failed");
        wakes += w;
        delivered += d;
        handed_back += h;
    }
    assert_eq!(
        DROPPED.load(Ordering::SeqCst) - dropped_before,
        RACING,
        "every future of the second runtime was dropped once"
    );
    assert_eq!(
        delivered + handed_back,
        (0..RACING).filter(|i| i % 3 != 2).count()
    );
    assert!(held().is_empty(), "no future outlived the second runtime");
    drop(std::mem::take(&mut *held()));
    println!(
        "valgrind_drop: {RACING} futures dropped while {THREADS} threads woke ({wakes} wakes) \
         and resolved ({delivered} delivered, {handed_back} handed back)"
    );
}

fn main() -> ExitCode {
    match std::panic::catch_unwind(|| {
        run();
        race_the_drop();
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => {
            eprintln!("valgrind_drop: a check failed (see the panic above)");
            ExitCode::FAILURE
        }
    }
}
