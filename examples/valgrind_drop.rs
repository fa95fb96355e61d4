//! Valgrind's view of a runtime dropped with pending tasks whose wakers and resolvers
//! outlive it.
//!
//! Run it under valgrind with `scripts/valgrind.sh`; on its own, `cargo run --example
//! valgrind_drop` checks the same outcomes without valgrind's eye on memory.
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
//! 5. empty `HELD` and exit.
//!
//! The program exits with status 1 if a check fails (it panics, and `main` reports it);
//! valgrind adds its own exit status 1 for an invalid read or write, or for memory definitely
//! or indirectly lost.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
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

async fn await_request(owned: Owned, request: ShellRequest<Payload>) {
    let _owned = owned;
    let _ = request.await;
    unreachable!("the request is never resolved while the runtime lives");
}

async fn await_stream(owned: Owned, mut stream: ShellStream<Payload>) {
    let _owned = owned;
    let _ = stream.next().await;
    unreachable!("nothing is sent while the runtime lives");
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

fn main() -> ExitCode {
    match std::panic::catch_unwind(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => {
            eprintln!("valgrind_drop: a check failed (see the panic above)");
            ExitCode::FAILURE
        }
    }
}
