//! Seeded random programs: each seed draws a runtime configuration and a program, runs it,
//! and checks its outcome exactly.
//!
//! The configuration: multi-thread (1 to 4 workers) or current-thread (driven by the test
//! thread's `block_on`, and sometimes by one or two more threads in `Handle::block_on` at
//! once); sometimes a paused clock; odd `event_interval` and `global_queue_interval` values;
//! 1 to 3 blocking threads; sometimes the root future runs inside a `LocalSet`; sometimes
//! thread park/unpark hooks (start/stop hooks always count threads); sometimes the root and
//! the extra threads' `block_on` futures hold a `Handle::enter` guard across all their
//! awaits; sometimes a foreign thread calls `Runtime::settle` (or `try_settle`, when a task
//! may keep the runtime busy) in a loop while the program runs; sometimes
//! `UnhandledPanic::ShutdownRuntime` (on both flavours: genrt supports it on a multi-thread
//! runtime too, which Tokio does not); on a current-thread runtime, sometimes nodes that
//! pause the clock.
//!
//! The program: a tree of tasks ("nodes", depth at most 4, up to a few hundred). Each node
//! runs a drawn sequence of operations: spawning children and awaiting, aborting (through
//! the join handle or an abort handle), detaching them; `JoinSet`s (spawn, `join_next`,
//! `abort_all`, `shutdown`, `detach_all`, dropped or held to the node's end); `join!` and
//! `select!` over join handles; `yield_now`, `consume_budget`, `unconstrained`; sleeps and
//! timeouts; blocking closures (computing, panicking, `Handle::block_on` of a yield, a sleep
//! or a child task, resolving a shell request, driving a `LocalSet` with `spawn_local`
//! leaves, entering nested `Handle::enter` guards and holding one across the awaits of a
//! `Handle::block_on`); `block_in_place` (multi-thread only); shell requests and streams
//! resolved, abandoned or never resolved by a foreign thread pool; task-locals; nested
//! `Handle::enter` guards in a task (spawning a child inside, dropped in reverse order, the
//! current runtime checked at each step); `time::pause`/`advance`/`resume` (current-thread
//! runtimes whose clock does not start paused). `JoinSet`s also hold blocking closures
//! (`spawn_blocking`, computing or panicking, joined or left to the set's end, sometimes
//! aborted right after the spawn: an aborted one is completed or cancelled as it had started
//! or not, and its closure is dropped exactly once), spawn with `spawn_on` and
//! `spawn_blocking_on` too, are sometimes joined with `try_join_next_with_id` between
//! yields, and their `len` is checked after every join. `block_in_place` closures and one
//! `LocalSet` leaf per set (finishing or aborted inside the set's `block_on`) hold enter
//! guards too, the leaf across all its awaits.
//!
//! A quarter of the nodes spawned as tasks or on a `LocalSet` have a *bomb*: a value whose
//! `Drop` panics, beside the future (so it goes off when the task's cell drops the future)
//! or, for doomed tasks, inside it among what it holds (armed at the first poll; the rest of
//! what it holds is then dropped while the panic unwinds). A blocking set member's closure
//! may capture one too, defused when the closure runs: dropped unrun (aborted, or at the
//! runtime's end), the member reports the bomb's panic instead of cancelled. A bomb beside a
//! future that completes is defused as it returns (a panic in the `Drop` of a completed
//! future is its task's panic, as in Tokio; `lifecycle_review.rs` covers it), so a completed
//! task's output stands; a cancelled one reports `is_panic` with the bomb's payload (checked
//! wherever the parent sees the result), and the runtime's shutdown drops every other
//! future all the same (the drop counts). A poll that panics drops its future while that
//! panic unwinds, so a bomb then stays quiet (a second panic would abort the process, in
//! Tokio too).
//!
//! Every node has a kind that fixes its outcome: *normal* (completes with its value),
//! *panicker* (panics at its end; its `JoinError` says panic), *doomed* (does its work, tells
//! its parent it is ready, then waits for ever: aborted, dropped with a `JoinSet`, or left
//! for the runtime's end to cancel), or *racy* (a leaf aborted while it may be finishing:
//! completed or cancelled, and what its parent saw must agree with what happened). Every node
//! reports to the root when it settles (completes, starts to panic, parks, or is dropped
//! first); the root waits for all of them, on a paused clock advancing the clock at each tick
//! of a foreign ticker (a shell stream), then ends the runtime one of four ways: everything
//! aborted, joined and dropped; dropped with tasks pending; `shutdown_timeout` (sometimes with
//! blocking closures stuck); `shutdown_background`.
//!
//! Then: every node's future was dropped exactly once, its outcome is the expected one, every
//! join result its parent saw was the expected one (and seen only after the future was
//! dropped), nothing else went wrong inside (`errors`), and live bytes are back at the baseline
//! (the counting allocator; `GENRT_FUZZ_MEMORY=0` turns this check off). Also: after the root returns,
//! the runtime settles (`try_settle`, 30 s) unless a task may yield for ever; after a `Join`
//! ending the metrics are exact (`live_tasks` 0, `completed == spawned`, `spawned` the
//! number of tasks the program made, an empty global queue); once the runtime's threads
//! exited, every ending has `completed == spawned`, every thread started stopped (at least
//! one per worker), no thread is left parked (park and unpark hooks alternate on each
//! thread, and no thread stops parked), and every hook ran in the runtime's context.
//! Under `ShutdownRuntime` (never with the `Join` ending) outcomes are checked as in an early
//! ending, and a `block_on` may panic only with the runtime's "a spawned task panicked" message.
//! The closing report counts the bomb panics and cancelled blocking members the parents saw
//! (in 15,000 release seeds: about 29,600 from tasks, 4,700 from blocking closures, 10,500
//! blocking members cancelled).
//!
//! The live-byte check was opt-in for a while because of an observation: in about 55,000
//! memory-checked release seeds it failed 4 times, by 11, 6,467, 8,040 and 8,827 bytes, each after an early
//! `shutdown_background` or `shutdown_timeout` of 0-1 ms, none reproducible alone, the bytes
//! freed late rather than leaked. The cause was the measurement's: a blocking thread started
//! by the root (on the watchdog thread) just before such a shutdown, not yet run on a loaded
//! machine, still had its creator's name, so the wait for the runtime's threads by name
//! missed it; and the baseline's thread count, read just after a join, sometimes still
//! counted the joined thread, so the wait for "no more threads than at the baseline" let one
//! more go. Both waits now go by thread ids (`support::counting::Threads`). The endings that
//! join every thread (`Join`, `Drop`, `shutdown_timeout(MAX)`) never failed it. After the
//! fix, about 96,000 memory-checked release seeds passed (78,000 before the generator's
//! last extensions, 900,000..918,300 on the merged code), so the check is on by default
//! again; whole-runtime byte counts are also checked deterministically by `memory*.rs`,
//! `race_review*.rs` and the stress tests.
//!
//! Run more seeds with `GENRT_FUZZ_SEEDS=<count>` from `GENRT_FUZZ_START=<first>`; replay one
//! with `GENRT_FUZZ_START=<seed> GENRT_FUZZ_SEEDS=1`. The live-byte check quiesces
//! the process after every seed (after six warm-up seeds); `GENRT_FUZZ_MEMORY=0` skips it;
//! `GENRT_FUZZ_DUMP=1` prints each plan's nodes; `GENRT_FUZZ_LIMIT=<seconds>` sets the
//! watchdog's limit per seed (120 s). A hang fails naming the seed, its configuration and
//! the root's last step (how many nodes settled, and the first ones missing).
//!
//! Known limits the generator keeps clear of (each would hang in Tokio too): a blocking
//! closure waiting for the runtime in a program that blocks in place, and fewer blocking
//! threads than `block_in_place` closures that may wait at once (see `Plan::draw`). Not
//! drawn, by design: an `EnterGuard` held across an await of a task (it is not `Send`, as
//! Tokio's; in a `LocalSet` task, another task polled meanwhile would see the context, and
//! two such tasks would drop their guards out of order, which panics in Tokio too); a
//! settle check while a `block_in_place` closure may wait for a paused clock nobody
//! advances (genrt documents that the clock does not auto-advance then), or while a set
//! joined by `try_join_next` between yields may wait for members that cannot finish before
//! an early ending; `time::pause` on a multi-thread runtime (it panics, as Tokio's); an
//! enter guard held by a `LocalSet` leaf left pending past the `block_on` that entered it.
//!
//! An observation about the harness, not the runtime: a thread just spawned has no name until
//! it starts running, so after an early `shutdown_background` "no thread named `rp-rt`" held
//! while workers had not started yet (found by the hooks' counts: 0 of 4 workers had
//! started). The wait for the runtime's threads now first waits, through the start and stop
//! hooks, for every worker to have started and stopped; this may be what the open late-free
//! observation above saw (a blocking thread spawned just before a shutdown can still slip
//! through: the hooks only count threads that started). After that change, 22,000
//! memory-checked release seeds (82,000..104,000) passed, where the old rate predicts
//! about 1.6 failures: suggestive, not conclusive, so the check stays opt-in. Also, any
//! panic reported by the hook while the test runs goes into the harness's captured output,
//! which stays allocated: an unexpected panic report fails the live-byte check by its
//! length (see `QuietShutdowns`).

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use futures::task::AtomicWaker;
use futures::FutureExt;
use genrt::shell::{self, Resolver, ShellStream, StreamResolver};
use genrt::task::{JoinSet, LocalSet};
use genrt::{AbortHandle, Handle, JoinError, JoinHandle};
use support::counting::CountingAlloc;
use support::{panic_message, quiet_panics, report, serial, Baseline, Progress, Watchdog};
use support::{wait_until, INTENTIONAL};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Seeds `cargo test` runs (debug and release alike); `GENRT_FUZZ_SEEDS` runs more.
const DEFAULT_SEEDS: u64 = 200;
/// Seeds run before the baseline, so that lazily allocated process state exists.
const WARM_UP_SEEDS: u64 = 6;
/// The first of them.
const WARM_UP: u64 = 1 << 40;
/// The watchdog's limit for one seed: only turns a hang into a failure naming the seed.
const SEED_LIMIT: Duration = Duration::from_secs(120);
/// What the runtime's threads are called, to wait for them to exit.
const THREADS: &str = "rp-rt";
/// Deepest node (the top node is at depth 0).
const MAX_DEPTH: u8 = 4;
/// Foreign threads resolving shell requests.
const POOL_THREADS: usize = 2;
/// What a `block_on` panics with once a task's panic shut the runtime down.
const SHUT_BY_PANIC: &str = "a spawned task panicked and the runtime is configured to shut down";

genrt::task_local! {
    static TL: u64;
}

/// What the checks saw across seeds, for the report: bomb panics a parent saw (tasks,
/// blocking members), blocking members seen cancelled.
static SEEN: [AtomicUsize; 3] = [
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
];

// ---------------------------------------------------------------------------------------------
// The PRNG.
// ---------------------------------------------------------------------------------------------

/// xorshift64*: small and seedable.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // Mixed so that neighbouring seeds draw unrelated programs; never zero.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        (self.next() >> 11) % n
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// The plan: a configuration and a tree of nodes, with their expected outcomes.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    Multi(usize),
    Current,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// Every parked task aborted, every future dropped, then the runtime dropped.
    Join,
    /// The runtime dropped with tasks pending.
    Drop,
    /// `shutdown_timeout` of this many milliseconds (`u64::MAX`: `Duration::MAX`).
    Timeout(u64),
    /// `shutdown_background`.
    Background,
}

#[derive(Clone, Debug)]
struct Config {
    flavor: Flavor,
    paused: bool,
    event_interval: Option<u32>,
    global_queue_interval: Option<u32>,
    max_blocking: usize,
    /// `block_in_place` is used (multi-thread only); blocking closures then never wait for
    /// the runtime (see `Scope`).
    bip: bool,
    /// The root future runs in a `LocalSet`, and the top node is spawned on it.
    root_local: bool,
    ending: Ending,
    /// Blocking closures the root leaves stuck before a shutdown (released after it).
    stuck: usize,
    /// The root returns without waiting for the program to settle: the runtime ends (drop,
    /// shutdown) with work in flight. Outcomes then depend on timing; what is checked is
    /// that nothing hangs, every future made is dropped exactly once, no node ends in a
    /// state its kind forbids, and live bytes come back.
    early: bool,
    /// Thread start/stop and park/unpark hooks count their calls (see `Hooks`).
    hooks: bool,
    /// The root future, and the extra threads' `block_on` futures, hold a `Handle::enter`
    /// guard of their runtime across all their awaits.
    enter: bool,
    /// A foreign thread calls `Runtime::settle` (`try_settle`, when a task may keep the
    /// runtime busy) in a loop while the program runs.
    settler: bool,
    /// Nodes pause, advance and resume the clock (`Op::Pause`): a current-thread runtime
    /// whose clock does not start paused.
    pauses: bool,
    /// `UnhandledPanic::ShutdownRuntime` (on both flavours: genrt documents it for a
    /// multi-thread runtime too, where Tokio has it on current-thread only; never with the
    /// `Join` ending, which needs the runtime alive): the first task that panics shuts the
    /// runtime down, every `block_on` panics, and outcomes are then as in an early ending.
    shutdown_on_panic: bool,
}

impl Config {
    /// Whether the runtime may end with work in flight: outcomes then depend on timing.
    fn lax(&self) -> bool {
        self.early || self.shutdown_on_panic
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Completes with `value(id)`.
    Normal,
    /// Panics at its end (at `PanicSite`).
    Panicker(PanicSite),
    /// Does its work, sends "ready", then waits for ever (`Park`): only cancelled.
    Doomed(Park),
    /// A leaf aborted while it may be finishing: completed or cancelled.
    Racy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PanicSite {
    Plain,
    InTaskLocal,
    InBlockInPlace,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Park {
    Pending,
    /// A shell request whose resolver lives until the seed's end.
    Never,
    /// A shell request a foreign thread resolves once the node's future is dropped: the
    /// value must come back.
    Late,
    /// A shell stream that never sends; its resolver is dropped once the stream is.
    Stream,
    /// Busy: yields for ever, so it is queued or being polled when it is aborted or the
    /// runtime ends.
    Busy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Await,
    /// Detached; a doomed child is then parked until the runtime's end (or the `Join`
    /// ending's aborts).
    Detach,
    /// Doomed: wait for ready, abort, await the cancellation.
    AbortAfterReady,
    /// Doomed leaf: abort at once (maybe before its first poll), await the cancellation.
    AbortEarly,
    /// Doomed: wait for ready, drop the join handle, abort through the abort handle.
    AbortHandle,
    /// Racy: yield a few times, abort, await: completed or cancelled.
    AbortRacy,
    /// Racy, or doomed once ready: aborted by a foreign thread (the pool) through an abort
    /// handle, racing the child's end; awaited.
    AbortForeign,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetEnd {
    AbortAll,
    Shutdown,
    Drop,
    Detach,
    /// Kept until the node ends (or unwinds, or is cancelled).
    Hold,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ShellOp {
    Resolve(u8),
    Abandon(u8),
    Early,
    /// Resolved by a blocking closure.
    Blocking,
    Stream {
        items: u8,
        close: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum BlockingOp {
    Compute(u64),
    Panic,
    BlockOnYield,
    BlockOnSleep(u8),
    BlockOnChild(usize),
    Detached(u64),
    /// A `LocalSet` driven by `Handle::block_on`, with these leaves spawned on it.
    Local(Vec<(usize, LocalFate)>),
    /// Checks the blocking thread's runtime context, enters `n` nested guards of it, then
    /// `Handle::block_on` of a future that enters once more and holds that guard across
    /// `yields` yields (and a sleep of `sleep` ms, where sleeps are fine, and a spawned
    /// task's join, where waiting for the runtime is); every guard dropped in reverse order.
    Enter {
        n: u8,
        yields: u8,
        sleep: Option<u8>,
        spawn: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LocalFate {
    Await,
    Abort,
    /// Left pending: dropped with the set.
    Leave,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bip {
    Compute,
    Yield,
    Child(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Yield(u8),
    Budget(u8),
    Unconstrained(u8),
    Sleep(u8),
    /// `interval(1 + ms)`, ticked `n` times.
    Interval(u8, u8),
    TimeoutElapsed(u8),
    /// `timeout(1 hour, child)`: the child always finishes first.
    TimeoutOk(usize),
    Child(usize, Fate),
    Set(SetSpec),
    Join2(usize, usize),
    Select(usize),
    Blocking(BlockingOp),
    BlockInPlace(Bip),
    Shell(ShellOp),
    TaskLocal(u64, Vec<Op>),
    /// `n` nested `Handle::enter` guards of the current runtime (a task cannot hold one
    /// across an await: the guard is not `Send`, as in Tokio), a child spawned inside the
    /// innermost, the guards dropped in reverse order, the child awaited.
    Enter(u8, Option<usize>),
    /// `time::pause`, `time::advance` by this many milliseconds, `time::resume`, under the
    /// world's clock lock (`Config::pauses`).
    Pause(u8),
}

/// A `JoinSet` op.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SetSpec {
    /// Nodes spawned in the set; `true`: a doomed leaf aborted at once (no ready wait).
    members: Vec<(usize, bool)>,
    /// Blocking closures spawned in the set (`JoinSet::spawn_blocking`).
    blocking: Vec<SetBlocking>,
    end: SetEnd,
    /// Members spawned with `spawn_on`/`spawn_blocking_on` and `Handle::current()`.
    on: bool,
    /// Joined by `try_join_next_with_id` between yields (not `join_next_with_id`).
    try_next: bool,
}

/// A blocking closure in a `JoinSet`: returns `bvalue(id)`, or panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SetBlocking {
    id: usize,
    panics: bool,
    /// Joined by the set's `join_next` loop; otherwise left to the set's end (an
    /// `abort_all` then sees it completed or cancelled, as it had started or not).
    joined: bool,
    /// The closure captures a `ClosureBomb`: dropped unrun (aborted before it started, or
    /// at the runtime's end), its `Drop` panics, and the member reports that panic instead
    /// of cancelled, as a task's future would; a closure that runs defuses it first.
    bomb: bool,
    /// Aborted through its abort handle right after the spawn: it ran or it did not, and
    /// its result says which (it is joined either way).
    abort: bool,
}

#[derive(Clone, Debug)]
struct NodeSpec {
    kind: Kind,
    ops: Vec<Op>,
    /// Spawned with `spawn_local` (a `LocalSet` leaf, or the top node of a local root).
    local: bool,
    /// Run by a thread of its own in `Handle::block_on`.
    top_of_thread: bool,
    /// Its future holds a `Bomb`: a value whose `Drop` panics (unless the thread is already
    /// panicking). Only for nodes spawned as tasks of the runtime.
    bomb: bool,
    /// A `LocalSet` leaf that holds a `Handle::enter` guard across all its awaits (at most
    /// one per set: two would drop theirs out of order, which panics in Tokio too; and one
    /// that finishes or is aborted inside the `block_on` driving the set).
    enter: bool,
}

#[derive(Clone, Debug)]
struct Plan {
    seed: u64,
    config: Config,
    nodes: Vec<NodeSpec>,
    /// Nodes run by extra threads in `Handle::block_on`.
    extra: Vec<usize>,
    /// Blocking closures spawned in `JoinSet`s (`SetBlocking::id` is below this).
    blockers: usize,
}

/// What the ops of a node (and of its whole subtree) may do.
#[derive(Clone, Copy)]
struct Scope {
    depth: u8,
    /// No blocking closure, no `block_in_place`: the subtree runs inside a blocking context
    /// (a closure's `Handle::block_on`, a `block_in_place`), where waiting for blocking
    /// threads could deadlock with a low `max_blocking_threads`, in Tokio too.
    blocking_free: bool,
    /// Nothing waited for comes from outside the runtime (the foreign pool): on a paused
    /// clock, the subtree of a `timeout(1 hour, ..)`, which an idle runtime would otherwise
    /// jump to.
    closed: bool,
    /// Runs on a `LocalSet` (no `block_in_place` there).
    local: bool,
}

/// The value a normal node completes with.
fn value(id: usize) -> u64 {
    id as u64 * 1_000 + 7
}

struct Gen<'a> {
    rng: &'a mut Rng,
    config: &'a Config,
    nodes: Vec<NodeSpec>,
    budget: usize,
    blockers: usize,
}

impl Gen<'_> {
    fn multi(&self) -> bool {
        matches!(self.config.flavor, Flavor::Multi(_))
    }

    /// Whether another node fits; each call that answers yes reserves it.
    fn take(&mut self) -> bool {
        if self.budget == 0 {
            return false;
        }
        self.budget -= 1;
        true
    }

    fn push(&mut self, kind: Kind) -> usize {
        self.nodes.push(NodeSpec {
            kind,
            ops: Vec::new(),
            local: false,
            top_of_thread: false,
            bomb: false,
            enter: false,
        });
        self.nodes.len() - 1
    }

    /// A node of `kind` at `scope`, its ops drawn. The budget was taken by the caller.
    fn node(&mut self, kind: Kind, scope: Scope) -> usize {
        let id = self.push(kind);
        // Every node made here is spawned as a task of the runtime, whose cell catches a
        // panic of its future's `Drop` (see `Bomb`).
        self.nodes[id].bomb = self.rng.chance(25);
        let ops = match kind {
            Kind::Racy => self.leaf_ops(scope),
            Kind::Doomed(_) if self.rng.chance(40) => self.leaf_ops(scope),
            _ => self.ops(scope),
        };
        self.nodes[id].ops = ops;
        id
    }

    /// Whether a node only has leaf ops: no children, no blocking closures, nothing its
    /// parent must wait for before aborting it.
    fn is_leafish(&self, id: usize) -> bool {
        fn leaf(op: &Op) -> bool {
            match op {
                Op::Yield(_)
                | Op::Interval(..)
                | Op::Budget(_)
                | Op::Unconstrained(_)
                | Op::Sleep(_)
                | Op::TimeoutElapsed(_) => true,
                Op::Shell(s) => *s != ShellOp::Blocking,
                Op::TaskLocal(_, inner) => inner.iter().all(leaf),
                _ => false,
            }
        }
        self.nodes[id].ops.iter().all(leaf)
    }

    fn leaf_op(&mut self, scope: Scope) -> Op {
        loop {
            return match self.rng.below(9) {
                8 => Op::Interval(1 + self.rng.below(3) as u8, self.rng.below(2) as u8),
                0 => Op::Yield(1 + self.rng.below(4) as u8),
                1 => Op::Budget(1 + self.rng.below(200) as u8),
                2 => Op::Unconstrained(1 + self.rng.below(3) as u8),
                3 => Op::Sleep(self.rng.below(3) as u8),
                4 => Op::TimeoutElapsed(self.rng.below(3) as u8),
                5 | 6 if !scope.closed => Op::Shell(match self.rng.below(4) {
                    0 => ShellOp::Resolve(self.rng.below(3) as u8),
                    1 => ShellOp::Abandon(self.rng.below(3) as u8),
                    2 => ShellOp::Early,
                    _ => ShellOp::Stream {
                        items: self.rng.below(4) as u8,
                        close: self.rng.chance(50),
                    },
                }),
                7 => {
                    let inner = (0..1 + self.rng.below(2))
                        .map(|_| self.leaf_op(scope))
                        .collect();
                    Op::TaskLocal(self.rng.below(1 << 40), inner)
                }
                _ => continue,
            };
        }
    }

    fn leaf_ops(&mut self, scope: Scope) -> Vec<Op> {
        (0..self.rng.below(4))
            .map(|_| self.leaf_op(scope))
            .collect()
    }

    /// A child kind: normal, panicker, doomed or racy.
    fn child_kind(&mut self, scope: Scope, racy_ok: bool) -> Kind {
        let site = if self.multi() && self.config.bip && !scope.blocking_free && self.rng.chance(30)
        {
            PanicSite::InBlockInPlace
        } else if self.rng.chance(30) {
            PanicSite::InTaskLocal
        } else {
            PanicSite::Plain
        };
        let park = if scope.closed {
            self.rng
                .pick(&[Park::Pending, Park::Never, Park::Pending, Park::Busy])
        } else {
            self.rng.pick(&[
                Park::Pending,
                Park::Never,
                Park::Late,
                Park::Stream,
                Park::Pending,
                Park::Never,
                Park::Late,
                Park::Busy,
            ])
        };
        match self.rng.below(20) {
            0..=8 => Kind::Normal,
            9..=11 => Kind::Panicker(site),
            12..=17 => Kind::Doomed(park),
            _ if racy_ok => Kind::Racy,
            _ => Kind::Normal,
        }
    }

    fn child_scope(scope: Scope) -> Scope {
        Scope {
            depth: scope.depth + 1,
            local: false,
            ..scope
        }
    }

    fn ops(&mut self, scope: Scope) -> Vec<Op> {
        let count = 1 + self.rng.below(6);
        let mut ops = Vec::new();
        for _ in 0..count {
            ops.push(self.op(scope));
        }
        ops
    }

    fn op(&mut self, scope: Scope) -> Op {
        let can_child = scope.depth < MAX_DEPTH;
        let child = Gen::child_scope(scope);
        let blocking = !scope.blocking_free;
        loop {
            let roll = self.rng.below(100);
            let op = match roll {
                0..=29 => self.leaf_op(scope),
                30..=49 if can_child && self.take() => {
                    let kind = self.child_kind(scope, true);
                    let id = self.node(kind, child);
                    let fate = match kind {
                        Kind::Normal | Kind::Panicker(_) => {
                            if self.rng.chance(65) {
                                Fate::Await
                            } else {
                                Fate::Detach
                            }
                        }
                        Kind::Racy => {
                            // A foreign abort is a wait on the outside world: not where a
                            // paused clock must not jump (`Scope::closed`).
                            if scope.closed || self.rng.chance(50) {
                                Fate::AbortRacy
                            } else {
                                Fate::AbortForeign
                            }
                        }
                        Kind::Doomed(_) => {
                            let mut fates =
                                vec![Fate::AbortAfterReady, Fate::Detach, Fate::AbortHandle];
                            if !scope.closed {
                                fates.push(Fate::AbortForeign);
                            }
                            if self.is_leafish(id) {
                                fates.push(Fate::AbortEarly);
                                fates.push(Fate::AbortEarly);
                            }
                            self.rng.pick(&fates)
                        }
                    };
                    Op::Child(id, fate)
                }
                50..=59 if can_child => {
                    let mut members = Vec::new();
                    let mut blocking = Vec::new();
                    // Blocking members never wait for anything (a `block_in_place`
                    // program's closures must not): they compute or panic.
                    if !scope.blocking_free && self.rng.chance(40) {
                        for _ in 0..1 + self.rng.below(3) {
                            blocking.push(SetBlocking {
                                id: self.blockers,
                                panics: self.rng.chance(25),
                                joined: self.rng.chance(50),
                                bomb: self.rng.chance(30),
                                abort: self.rng.chance(30),
                            });
                            self.blockers += 1;
                        }
                    }
                    for _ in 0..1 + self.rng.below(5) {
                        if !self.take() {
                            break;
                        }
                        let kind = self.child_kind(scope, true);
                        let id = self.node(kind, child);
                        let early = matches!(kind, Kind::Doomed(_))
                            && self.is_leafish(id)
                            && self.rng.chance(50);
                        members.push((id, early));
                    }
                    if members.is_empty() && blocking.is_empty() {
                        continue;
                    }
                    let end = self.rng.pick(&[
                        SetEnd::AbortAll,
                        SetEnd::Shutdown,
                        SetEnd::Drop,
                        SetEnd::Detach,
                        SetEnd::Hold,
                    ]);
                    Op::Set(SetSpec {
                        members,
                        blocking,
                        end,
                        on: self.rng.chance(30),
                        try_next: self.rng.chance(20),
                    })
                }
                60..=62 if can_child && self.budget >= 2 => {
                    self.budget -= 2;
                    let a = self.child_kind(scope, false);
                    let a = if matches!(a, Kind::Doomed(_)) {
                        Kind::Normal
                    } else {
                        a
                    };
                    let b = if self.rng.chance(70) {
                        Kind::Normal
                    } else {
                        Kind::Panicker(PanicSite::Plain)
                    };
                    Op::Join2(self.node(a, child), self.node(b, child))
                }
                63..=64 if can_child && self.take() => {
                    let kind = if self.rng.chance(75) {
                        Kind::Normal
                    } else {
                        Kind::Panicker(PanicSite::Plain)
                    };
                    Op::Select(self.node(kind, child))
                }
                65..=67 if can_child && self.take() => {
                    let kind = if self.rng.chance(80) {
                        Kind::Normal
                    } else {
                        Kind::Panicker(PanicSite::Plain)
                    };
                    let scope = Scope {
                        // Another node's `Op::Pause` pauses the clock for a while too.
                        closed: scope.closed || self.config.paused || self.config.pauses,
                        ..child
                    };
                    Op::TimeoutOk(self.node(kind, scope))
                }
                68..=79 if blocking => Op::Blocking(self.blocking_op(scope)),
                80..=85 if blocking && self.multi() && self.config.bip && !scope.local => {
                    let bip = match self.rng.below(3) {
                        0 => Bip::Compute,
                        1 => Bip::Yield,
                        _ if can_child && self.take() => {
                            let kind = self.child_kind(scope, false);
                            let kind = if matches!(kind, Kind::Doomed(_)) {
                                Kind::Normal
                            } else {
                                kind
                            };
                            let scope = Scope {
                                blocking_free: true,
                                ..child
                            };
                            Bip::Child(self.node(kind, scope))
                        }
                        _ => Bip::Yield,
                    };
                    Op::BlockInPlace(bip)
                }
                86..=89 if blocking && !scope.closed => Op::Shell(ShellOp::Blocking),
                90..=94 => {
                    let inner = (0..1 + self.rng.below(3)).map(|_| self.op(scope)).collect();
                    Op::TaskLocal(self.rng.below(1 << 40), inner)
                }
                95..=96 => {
                    let n = 1 + self.rng.below(3) as u8;
                    let child = (can_child && self.rng.chance(60) && self.take()).then(|| {
                        let kind = if self.rng.chance(80) {
                            Kind::Normal
                        } else {
                            Kind::Panicker(PanicSite::Plain)
                        };
                        self.node(kind, child)
                    });
                    Op::Enter(n, child)
                }
                97..=98 if self.config.pauses => Op::Pause(self.rng.below(5) as u8),
                _ => continue,
            };
            return op;
        }
    }

    fn blocking_op(&mut self, scope: Scope) -> BlockingOp {
        // In a program with `block_in_place`, a blocking closure never waits for the runtime:
        // with every worker blocked in place and every blocking thread waiting for a task,
        // no stand-in could start (the same in Tokio, whose hand-over threads are blocking
        // threads too).
        let waits_ok = !self.config.bip;
        // A sleep polled by a blocking closure after its runtime shut down panics (as in
        // Tokio); in an early ending that is expected, but its report (a backtrace, whose
        // first resolution caches the binary's debug info for good) would spoil the live-byte
        // check: no sleeps in blocking closures there.
        let sleeps_ok = waits_ok && !self.config.lax();
        let child = Scope {
            blocking_free: true,
            ..Gen::child_scope(scope)
        };
        loop {
            return match self.rng.below(9) {
                0 => BlockingOp::Compute(self.rng.below(1000)),
                1 => BlockingOp::Panic,
                2 => BlockingOp::BlockOnYield,
                3 if sleeps_ok => BlockingOp::BlockOnSleep(self.rng.below(3) as u8),
                4 if waits_ok && scope.depth < MAX_DEPTH && self.take() => {
                    let kind = self.child_kind(scope, false);
                    let kind = if matches!(kind, Kind::Doomed(_)) {
                        Kind::Normal
                    } else {
                        kind
                    };
                    BlockingOp::BlockOnChild(self.node(kind, child))
                }
                5 => BlockingOp::Detached(self.rng.below(1000)),
                6 | 7 => {
                    let mut leaves = Vec::new();
                    for _ in 0..1 + self.rng.below(4) {
                        if !self.take() {
                            break;
                        }
                        let (kind, fate) = match self.rng.below(6) {
                            0 | 1 => (Kind::Normal, LocalFate::Await),
                            2 => (Kind::Panicker(PanicSite::Plain), LocalFate::Await),
                            3 | 4 => (Kind::Doomed(Park::Pending), LocalFate::Abort),
                            _ => (Kind::Doomed(Park::Pending), LocalFate::Leave),
                        };
                        let id = self.push(kind);
                        self.nodes[id].local = true;
                        // A `LocalSet`'s task cell catches a `Drop` panic as the runtime's
                        // does (an abort reports it; the set's drop goes on).
                        self.nodes[id].bomb = self.rng.chance(25);
                        // Not a leaf left pending: dropped with the set after the
                        // `block_on` it entered inside returned, its guard would outlive
                        // that `block_on`'s own context (out of order, a panic in Tokio
                        // too).
                        self.nodes[id].enter =
                            leaves.is_empty() && fate != LocalFate::Leave && self.rng.chance(50);
                        self.nodes[id].ops = (0..self.rng.below(3))
                            .map(|_| match self.rng.below(3) {
                                0 => Op::Yield(1 + self.rng.below(3) as u8),
                                1 if sleeps_ok => Op::Sleep(self.rng.below(2) as u8),
                                _ => Op::Budget(1 + self.rng.below(10) as u8),
                            })
                            .collect();
                        leaves.push((id, fate));
                    }
                    BlockingOp::Local(leaves)
                }
                8 => BlockingOp::Enter {
                    n: self.rng.below(3) as u8,
                    yields: self.rng.below(3) as u8,
                    sleep: (sleeps_ok && self.rng.chance(40)).then(|| self.rng.below(3) as u8),
                    spawn: waits_ok && self.rng.chance(50),
                },
                _ => continue,
            };
        }
    }
}

impl Plan {
    fn draw(seed: u64) -> Plan {
        let mut rng = Rng::new(seed);
        let flavor = if rng.chance(65) {
            Flavor::Multi(1 + rng.below(4) as usize)
        } else {
            Flavor::Current
        };
        let odd = [1, 2, 3, 7, 61, 127];
        let ending = match rng.below(4) {
            0 => Ending::Join,
            1 => Ending::Drop,
            2 => Ending::Timeout(rng.pick(&[0, 1, 5, u64::MAX])),
            _ => Ending::Background,
        };
        let max_blocking = 1 + rng.below(3) as usize;
        let paused = rng.chance(30);
        let config = Config {
            flavor,
            paused,
            event_interval: rng.chance(50).then(|| rng.pick(&odd)),
            global_queue_interval: rng.chance(50).then(|| rng.pick(&odd)),
            max_blocking,
            bip: matches!(flavor, Flavor::Multi(_)) && rng.chance(50),
            root_local: rng.chance(20),
            ending,
            // Not under `Duration::MAX`, which would wait for them for ever.
            early: ending != Ending::Join && rng.chance(25),
            stuck: match ending {
                Ending::Timeout(ms) if ms != u64::MAX => {
                    rng.below(max_blocking as u64 + 1) as usize
                }
                Ending::Background => rng.below(max_blocking as u64 + 1) as usize,
                _ => 0,
            },
            hooks: rng.chance(50),
            enter: rng.chance(30),
            settler: rng.chance(20),
            pauses: flavor == Flavor::Current && !paused && rng.chance(40),
            shutdown_on_panic: ending != Ending::Join && rng.chance(30),
        };
        let budget = 20 + rng.below(280) as usize;
        let mut gen = Gen {
            rng: &mut rng,
            config: &config,
            nodes: Vec::new(),
            budget,
            blockers: 0,
        };
        let top_scope = Scope {
            depth: 0,
            blocking_free: false,
            closed: false,
            local: config.root_local,
        };
        let top = gen.push(Kind::Normal);
        let ops = gen.ops(top_scope);
        gen.nodes[top].ops = ops;
        gen.nodes[top].local = config.root_local;
        // An early ending joins the extra threads before it; their nodes could wait for the
        // root (a paused clock's ticks) or for blocking threads that stuck closures hold:
        // none then.
        let extra_threads = match gen.rng.below(10) {
            _ if config.early => 0,
            0..=5 => 0,
            6..=8 => 1,
            _ => 2,
        };
        let mut extra = Vec::new();
        for _ in 0..extra_threads {
            let kind = if gen.rng.chance(75) {
                Kind::Normal
            } else {
                Kind::Panicker(PanicSite::Plain)
            };
            let scope = Scope {
                depth: 1,
                local: false,
                ..top_scope
            };
            let id = gen.push(kind);
            let ops = gen.ops(scope);
            gen.nodes[id].ops = ops;
            gen.nodes[id].top_of_thread = true;
            extra.push(id);
        }
        let blockers = gen.blockers;
        let mut nodes = gen.nodes;
        let mut config = config;
        if config.bip {
            // Every `block_in_place` may need a stand-in, a blocking thread, while its closure
            // waits: with fewer threads than closures waiting at once, a stand-in that runs a
            // task blocking in place in turn waits for a thread that never frees up, in Tokio
            // too (its hand-over threads are blocking threads): a documented limit, not a bug.
            fn count(ops: &[Op]) -> usize {
                ops.iter()
                    .map(|op| match op {
                        Op::BlockInPlace(_) => 1,
                        Op::TaskLocal(_, inner) => count(inner),
                        _ => 0,
                    })
                    .sum()
            }
            let in_place: usize = nodes
                .iter()
                .map(|n| {
                    count(&n.ops) + usize::from(n.kind == Kind::Panicker(PanicSite::InBlockInPlace))
                })
                .sum();
            config.max_blocking = config.max_blocking.max(in_place + 1);
        }
        nodes.shrink_to_fit();
        Plan {
            seed,
            config,
            nodes,
            extra,
            blockers,
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count =
            |pred: &dyn Fn(&NodeSpec) -> bool| self.nodes.iter().filter(|n| pred(n)).count();
        write!(
            f,
            "seed {}: {:?}; {} nodes ({} panickers, {} doomed, {} racy, {} local, {} bombs), {} extra block_on threads, {} blocking set members",
            self.seed,
            self.config,
            self.nodes.len(),
            count(&|n| matches!(n.kind, Kind::Panicker(_))),
            count(&|n| matches!(n.kind, Kind::Doomed(_))),
            count(&|n| n.kind == Kind::Racy),
            count(&|n| n.local),
            count(&|n| n.bomb),
            self.extra.len(),
            self.blockers
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The world a program runs in: what each node did, and the foreign threads.
// ---------------------------------------------------------------------------------------------

const NOT_STARTED: u8 = 0;
const RUNNING: u8 = 1;
const COMPLETED: u8 = 2;
const PANICKED: u8 = 3;
const PARKED: u8 = 4;
const CANCELLED: u8 = 5;

fn state_name(state: u8) -> &'static str {
    [
        "not started",
        "running",
        "completed",
        "panicked",
        "parked",
        "cancelled",
    ]
    .get(state as usize)
    .copied()
    .unwrap_or("?")
}

/// What a parent saw of a racy child.
const SAW_NOTHING: u8 = 0;
const SAW_COMPLETED: u8 = 1;
const SAW_CANCELLED: u8 = 2;

struct World {
    plan: Plan,
    states: Vec<AtomicU8>,
    drops: Vec<AtomicU8>,
    settled_flags: Vec<AtomicBool>,
    /// Whether the node's future was made (in an early ending, some never are).
    created: Vec<AtomicBool>,
    settled: AtomicUsize,
    dropped: AtomicUsize,
    saw: Vec<AtomicU8>,
    /// Whether the node's bomb inside its future is there (its first poll ran).
    armed: Vec<AtomicBool>,
    root_waker: AtomicWaker,
    errors: Mutex<Vec<String>>,
    /// Abort handles of the doomed nodes left parked (the `Join` ending aborts them).
    parked: Mutex<Vec<(usize, AbortHandle)>>,
    /// Resolvers that never resolve, dropped after the runtime's end.
    graveyard: Mutex<Vec<Resolver<u64>>>,
    /// Releases the stuck blocking closures.
    stuck: Mutex<Vec<mpsc::Sender<()>>>,
    pool: Arc<Pool>,
    /// Per blocking set member: its closure was made, ran, and was dropped (how many times).
    bmade: Vec<AtomicBool>,
    bran: Vec<AtomicBool>,
    bdrops: Vec<AtomicU8>,
    /// The runtime's id, set once it is built.
    rt_id: OnceLock<genrt::runtime::Id>,
    /// Held by an `Op::Pause` from its `pause` to its `resume`.
    clock: futures::lock::Mutex<()>,
    /// Tasks spawned that are not nodes.
    tasks: AtomicUsize,
}

type Held = Box<dyn Any + Send>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl World {
    fn new(plan: Plan) -> World {
        let n = plan.nodes.len();
        World {
            states: (0..n).map(|_| AtomicU8::new(NOT_STARTED)).collect(),
            drops: (0..n).map(|_| AtomicU8::new(0)).collect(),
            settled_flags: (0..n).map(|_| AtomicBool::new(false)).collect(),
            created: (0..n).map(|_| AtomicBool::new(false)).collect(),
            saw: (0..n).map(|_| AtomicU8::new(SAW_NOTHING)).collect(),
            armed: (0..n).map(|_| AtomicBool::new(false)).collect(),
            settled: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            root_waker: AtomicWaker::new(),
            errors: Mutex::new(Vec::new()),
            parked: Mutex::new(Vec::new()),
            graveyard: Mutex::new(Vec::new()),
            stuck: Mutex::new(Vec::new()),
            pool: Arc::new(Pool::default()),
            bmade: (0..plan.blockers).map(|_| AtomicBool::new(false)).collect(),
            bran: (0..plan.blockers).map(|_| AtomicBool::new(false)).collect(),
            bdrops: (0..plan.blockers).map(|_| AtomicU8::new(0)).collect(),
            rt_id: OnceLock::new(),
            clock: futures::lock::Mutex::new(()),
            tasks: AtomicUsize::new(0),
            plan,
        }
    }

    /// Checks that this thread's current runtime is the program's (`how` says where).
    fn check_current(&self, id: usize, how: &str) {
        let current = Handle::try_current().map(|h| h.id());
        if current.as_ref().ok() != self.rt_id.get() {
            self.error(format!(
                "node {id}: {how}: the current runtime is {current:?}, not {:?}",
                self.rt_id.get()
            ));
        }
    }

    fn total(&self) -> usize {
        self.plan.nodes.len()
    }

    fn error(&self, message: String) {
        lock(&self.errors).push(message);
    }

    /// An error about what a node saw, which an early ending can cause (a child or member
    /// cancelled by the shutdown while its parent still ran): ignored then.
    fn soft_error(&self, message: String) {
        if !self.plan.config.lax() {
            self.error(message);
        }
    }

    fn kind(&self, id: usize) -> Kind {
        self.plan.nodes[id].kind
    }

    fn bomb(&self, id: usize) -> bool {
        self.plan.nodes[id].bomb
    }

    /// Checks that a join error is the panic of node `id`'s `Bomb`.
    fn check_bomb(&self, id: usize, e: JoinError, how: &str) {
        SEEN[0].fetch_add(1, SeqCst);
        let payload = e.into_panic();
        let text = panic_message(&*payload).unwrap_or("");
        if !text.contains(&format!("node {id}: a bomb")) {
            self.soft_error(format!("node {id} {how}: bomb panic message {text:?}"));
        }
    }

    fn settle(&self, id: usize) {
        if !self.settled_flags[id].swap(true, SeqCst) {
            self.settled.fetch_add(1, SeqCst);
            self.root_waker.wake();
        }
    }

    fn set_state(&self, id: usize, state: u8) {
        self.states[id].store(state, SeqCst);
        if state != RUNNING {
            self.settle(id);
        }
    }

    /// Checks a join result of node `id`, seen by its parent (`how`).
    fn check(&self, id: usize, result: Result<u64, JoinError>, how: &str) {
        // Whatever the result, the task's future is gone before its handle reports, as in
        // Tokio (the output, or the error, replaces the future in the task's cell).
        let drops = self.drops[id].load(SeqCst);
        if drops != 1 {
            self.error(format!(
                "node {id} ({:?}) {how}: its handle reported {result:?} with its future dropped {drops} times",
                self.kind(id)
            ));
        }
        // A cancelled future whose `Drop` panics makes its task report that panic, as in
        // Tokio; a completed one's bomb was defused as it returned (its output stands).
        // A bomb inside the future is armed at its first poll.
        let bomb = self.bomb(id)
            && (!bomb_inside(id, &self.plan.nodes[id]) || self.armed[id].load(SeqCst));
        match (self.kind(id), result) {
            (Kind::Normal, Ok(v)) if v == value(id) => {}
            (Kind::Racy, Ok(v)) if v == value(id) => self.saw[id].store(SAW_COMPLETED, SeqCst),
            (Kind::Racy, Err(e)) if !bomb && e.is_cancelled() => {
                self.saw[id].store(SAW_CANCELLED, SeqCst)
            }
            (Kind::Racy, Err(e)) if bomb && e.is_panic() => {
                self.saw[id].store(SAW_CANCELLED, SeqCst);
                self.check_bomb(id, e, how);
            }
            (Kind::Doomed(_), Err(e)) if !bomb && e.is_cancelled() => {}
            (Kind::Doomed(_), Err(e)) if bomb && e.is_panic() => self.check_bomb(id, e, how),
            (Kind::Panicker(_), Err(e)) if e.is_panic() => {
                let payload = e.into_panic();
                let text = panic_message(&*payload).unwrap_or("");
                if !text.contains(&format!("node {id}:")) {
                    self.soft_error(format!("node {id} {how}: panic message {text:?}"));
                }
            }
            (kind, result) => {
                self.soft_error(format!("node {id} ({kind:?}) {how}: got {result:?}"))
            }
        }
    }
}

/// Counts the drop of a node's future; its outcome is cancelled if it had not finished.
struct Guard {
    world: Arc<World>,
    id: usize,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let w = &self.world;
        let state = w.states[self.id].load(SeqCst);
        if matches!(state, NOT_STARTED | RUNNING | PARKED) {
            w.states[self.id].store(CANCELLED, SeqCst);
        }
        w.drops[self.id].fetch_add(1, SeqCst);
        w.dropped.fetch_add(1, SeqCst);
        w.settle(self.id);
        // The root may be waiting for drops (the `Join` ending), not only for settling.
        w.root_waker.wake();
    }
}

/// Whether node `id`'s bomb (if it has one) is inside its future, where it is armed at the
/// first poll (a doomed task, which never completes, half the time), rather than beside it.
fn bomb_inside(id: usize, spec: &NodeSpec) -> bool {
    matches!(spec.kind, Kind::Doomed(_)) && !spec.local && id % 2 == 0
}

/// Panics when dropped, unless the thread is already panicking (a panic while unwinding
/// aborts the process: the future of a task whose poll panics is dropped while that panic
/// unwinds, in Tokio too). Its panic unwinds through the rest of `Guarded`'s drop, which
/// still drops the guard.
struct Bomb(usize);

impl Bomb {
    /// Drops it without a bang.
    fn defuse(self) {
        std::mem::forget(self);
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{INTENTIONAL}: node {}: a bomb went off", self.0);
        }
    }
}

/// A node's future and its guard: the future is dropped first (a field's drop order), so
/// that whatever it holds (a shell request) is gone once the drop is counted. The bomb is
/// outside the future: an `async` block drops its locals when it completes, inside the
/// poll, where a bomb's panic would be the task's; here it goes off only when the task's
/// cell drops a future that did not complete (cancelled: the panic is the result). A
/// completed future's bomb is defused as it returns: a panic in the `Drop` of a future that
/// has returned would be its task's panic too, as in Tokio (`lifecycle_review.rs` checks
/// that), and would change a normal node's outcome.
struct Guarded<F: ?Sized> {
    future: Pin<Box<F>>,
    bomb: Option<Bomb>,
    _guard: Guard,
}

impl<F: Future + ?Sized> Future for Guarded<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let poll = self.future.as_mut().poll(cx);
        if poll.is_ready() {
            if let Some(bomb) = self.bomb.take() {
                bomb.defuse();
            }
        }
        poll
    }
}

/// The future of node `id`. `ready` is sent by a doomed node before it parks.
fn node(
    world: Arc<World>,
    id: usize,
    ready: Option<oneshot::Sender<()>>,
) -> Guarded<dyn Future<Output = u64> + Send> {
    world.created[id].store(true, SeqCst);
    let guard = Guard {
        world: world.clone(),
        id,
    };
    // A doomed node (which never completes) holds its bomb inside its future half the time,
    // first among what it holds: the rest is dropped while the bomb's panic unwinds.
    let inside = world.plan.nodes[id].bomb && bomb_inside(id, &world.plan.nodes[id]);
    let bomb = (world.plan.nodes[id].bomb && !inside).then(|| Bomb(id));
    let body = async move {
        let w = &world;
        w.set_state(id, RUNNING);
        if TL.try_with(|_| ()).is_ok() {
            w.error(format!(
                "node {id}: a task-local leaked into a spawned task"
            ));
        }
        let spec = &w.plan.nodes[id];
        let mut held: Vec<Held> = Vec::new();
        if inside {
            held.push(Box::new(Bomb(id)));
            w.armed[id].store(true, SeqCst);
        }
        run_ops(w, id, &spec.ops, &mut held).await;
        finish(w, id, held, ready).await
    };
    Guarded {
        future: Box::pin(body),
        bomb,
        _guard: guard,
    }
}

/// What a node does after its ops, by kind.
async fn finish(
    w: &Arc<World>,
    id: usize,
    held: Vec<Held>,
    ready: Option<oneshot::Sender<()>>,
) -> u64 {
    match w.kind(id) {
        Kind::Normal | Kind::Racy => {
            drop(held);
            w.set_state(id, COMPLETED);
            value(id)
        }
        Kind::Panicker(site) => {
            w.set_state(id, PANICKED);
            match site {
                PanicSite::Plain => panic!("{INTENTIONAL}: node {id}: plain"),
                PanicSite::InTaskLocal => {
                    TL.scope(id as u64, async move {
                        genrt::yield_now().await;
                        if TL.get() == id as u64 {
                            panic!("{INTENTIONAL}: node {id}: in a task-local scope");
                        }
                    })
                    .await
                }
                PanicSite::InBlockInPlace => genrt::task::block_in_place(move || {
                    if !std::hint::black_box(false) {
                        panic!("{INTENTIONAL}: node {id}: in block_in_place");
                    }
                }),
            }
            w.error(format!("node {id}: did not panic"));
            value(id)
        }
        Kind::Doomed(park) => {
            w.set_state(id, PARKED);
            if let Some(ready) = ready {
                let _ = ready.send(());
            }
            match park {
                Park::Pending => std::future::pending::<()>().await,
                Park::Busy => loop {
                    genrt::yield_now().await;
                },
                Park::Never => {
                    let (request, resolver) = shell::request::<u64>();
                    lock(&w.graveyard).push(resolver);
                    let _ = request.await;
                    w.error(format!("node {id}: a request never resolved completed"));
                }
                Park::Late => {
                    let (request, resolver) = shell::request::<u64>();
                    let (world, drops) = (w.clone(), id);
                    w.pool.submit(
                        0,
                        Some(Box::new(move || world.drops[drops].load(SeqCst) > 0)),
                        move || {
                            if resolver.resolve(7).is_ok() {
                                // `world` is gone from this closure's captures; report
                                // through a panic of the pool thread instead.
                                panic!("a late resolve reached the dropped node {drops}");
                            }
                        },
                    );
                    let _ = request.await;
                    w.error(format!("node {id}: a late request completed"));
                }
                Park::Stream => {
                    let (mut stream, resolver) = shell::stream::<u64>();
                    let resolver = Arc::new(resolver);
                    let watched = resolver.clone();
                    w.pool.submit(
                        0,
                        Some(Box::new(move || watched.is_cancelled())),
                        move || drop(resolver),
                    );
                    let _ = stream.next().await;
                    w.error(format!("node {id}: a silent stream yielded"));
                }
            }
            std::future::pending::<u64>().await
        }
    }
}

/// A `LocalSet` leaf: `!Send` (it keeps an `Rc` across its awaits).
fn local_leaf(world: Arc<World>, id: usize) -> Guarded<dyn Future<Output = u64>> {
    world.created[id].store(true, SeqCst);
    let guard = Guard {
        world: world.clone(),
        id,
    };
    let bomb = world.plan.nodes[id].bomb.then(|| Bomb(id));
    let body = async move {
        let w = &world;
        w.set_state(id, RUNNING);
        let rc = Rc::new(id);
        // Across every await of the leaf (other leaves run meanwhile, seeing it current).
        let current = Handle::current();
        let entered = w.plan.nodes[id].enter.then(|| current.enter());
        for op in &w.plan.nodes[id].ops {
            match *op {
                Op::Yield(n) => {
                    for _ in 0..n {
                        genrt::yield_now().await;
                    }
                }
                Op::Sleep(ms) => genrt::time::sleep(Duration::from_millis(ms.into())).await,
                Op::Budget(n) => {
                    for _ in 0..n {
                        genrt::task::consume_budget().await;
                    }
                }
                ref other => unreachable!("not a local leaf's op: {other:?}"),
            }
        }
        assert_eq!(*rc, id);
        if entered.is_some() {
            w.check_current(id, "a local leaf in an enter guard");
        }
        drop(entered);
        match w.kind(id) {
            Kind::Normal => {
                w.set_state(id, COMPLETED);
                value(id)
            }
            Kind::Panicker(_) => {
                w.set_state(id, PANICKED);
                panic!("{INTENTIONAL}: node {id}: local leaf")
            }
            _ => {
                w.set_state(id, PARKED);
                std::future::pending::<u64>().await
            }
        }
    };
    Guarded {
        future: Box::pin(body),
        bomb,
        _guard: guard,
    }
}

fn run_ops<'a>(
    w: &'a Arc<World>,
    id: usize,
    ops: &'a [Op],
    held: &'a mut Vec<Held>,
) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
    Box::pin(async move {
        for op in ops {
            run_op(w, id, op, held).await;
        }
    })
}

/// Spawns node `child` (a doomed one with a ready channel).
fn spawn_child(w: &Arc<World>, child: usize) -> (JoinHandle<u64>, Option<oneshot::Receiver<()>>) {
    let (tx, rx) = match w.kind(child) {
        Kind::Doomed(_) => {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        }
        _ => (None, None),
    };
    (genrt::spawn(node(w.clone(), child, tx)), rx)
}

async fn wait_ready(w: &World, child: usize, ready: Option<oneshot::Receiver<()>>) {
    if let Some(ready) = ready {
        if ready.await.is_err() {
            w.soft_error(format!("node {child}: dropped before it was ready"));
        }
    }
}

async fn run_op(w: &Arc<World>, id: usize, op: &Op, held: &mut Vec<Held>) {
    match op {
        Op::Yield(n) => {
            for _ in 0..*n {
                genrt::yield_now().await;
            }
        }
        Op::Budget(n) => {
            for _ in 0..*n {
                genrt::task::consume_budget().await;
            }
        }
        Op::Unconstrained(n) => {
            let n = *n;
            genrt::task::unconstrained(async move {
                for _ in 0..n {
                    genrt::yield_now().await;
                }
            })
            .await
        }
        Op::Sleep(ms) => genrt::time::sleep(Duration::from_millis((*ms).into())).await,
        Op::Interval(n, ms) => {
            let mut interval = genrt::time::interval(Duration::from_millis(1 + u64::from(*ms)));
            let first = interval.tick().await;
            let mut last = first;
            for _ in 1..*n {
                last = interval.tick().await;
            }
            if last < first {
                w.error(format!("node {id}: an interval went back in time"));
            }
        }
        Op::TimeoutElapsed(ms) => {
            let out = genrt::time::timeout(
                Duration::from_millis((*ms).into()),
                std::future::pending::<()>(),
            )
            .await;
            if out.is_ok() {
                w.error(format!("node {id}: a timeout of pending() did not elapse"));
            }
        }
        Op::TimeoutOk(child) => {
            let (handle, _) = spawn_child(w, *child);
            match genrt::time::timeout(Duration::from_secs(3600), handle).await {
                Ok(result) => w.check(*child, result, "under a 1 h timeout"),
                Err(_) => w.error(format!(
                    "node {id}: the 1 h timeout on node {child} elapsed"
                )),
            }
        }
        Op::Child(child, fate) => {
            let child = *child;
            let (handle, ready) = spawn_child(w, child);
            match fate {
                Fate::Await => w.check(child, handle.await, "awaited"),
                Fate::Detach => {
                    if matches!(w.kind(child), Kind::Doomed(_)) {
                        lock(&w.parked).push((child, handle.abort_handle()));
                    }
                    drop(handle);
                }
                Fate::AbortAfterReady => {
                    wait_ready(w, child, ready).await;
                    handle.abort();
                    w.check(child, handle.await, "aborted when ready");
                }
                Fate::AbortEarly => {
                    handle.abort();
                    w.check(child, handle.await, "aborted at once");
                }
                Fate::AbortHandle => {
                    let abort = handle.abort_handle();
                    drop(handle);
                    wait_ready(w, child, ready).await;
                    abort.abort();
                    // Nobody sees the result: the final check reads the guard.
                }
                Fate::AbortForeign => {
                    wait_ready(w, child, ready).await;
                    let abort = handle.abort_handle();
                    w.pool
                        .submit((child % 2) as u64, None, move || abort.abort());
                    w.check(child, handle.await, "aborted by a foreign thread");
                }
                Fate::AbortRacy => {
                    for _ in 0..(child % 3) {
                        genrt::yield_now().await;
                    }
                    handle.abort();
                    w.check(child, handle.await, "aborted racing its end");
                }
            }
        }
        Op::Set(spec) => run_set(w, id, spec, held).await,
        Op::Enter(n, child) => {
            w.check_current(id, "before entering");
            let join = {
                let handles: Vec<Handle> = (0..*n).map(|_| Handle::current()).collect();
                let mut guards = Vec::new();
                for handle in &handles {
                    guards.push(handle.enter());
                    w.check_current(id, "inside an enter guard");
                }
                let join = child.map(|child| (child, spawn_child(w, child).0));
                // In reverse order, as guards must be.
                while let Some(guard) = guards.pop() {
                    drop(guard);
                    w.check_current(id, "after dropping an enter guard");
                }
                join
            };
            if let Some((child, join)) = join {
                w.check(child, join.await, "spawned inside enter guards");
            }
        }
        Op::Pause(ms) => {
            let _clock = w.clock.lock().await;
            genrt::time::pause();
            // (The clock may also jump by itself meanwhile: an idle driver auto-advances a
            // paused clock while another thread's `block_on` future runs, in Tokio too.)
            let start = genrt::time::Instant::now();
            let by = Duration::from_millis((*ms).into());
            genrt::time::advance(by).await;
            let moved = start.elapsed();
            if moved < by {
                w.error(format!(
                    "node {id}: the clock advanced {moved:?}, asked {by:?}"
                ));
            }
            genrt::time::resume();
        }
        Op::Join2(a, b) => {
            let (ha, _) = spawn_child(w, *a);
            let (hb, _) = spawn_child(w, *b);
            let (ra, rb) = genrt::join!(ha, hb);
            w.check(*a, ra, "joined by join!");
            w.check(*b, rb, "joined by join!");
        }
        Op::Select(child) => {
            let (handle, _) = spawn_child(w, *child);
            let (never, _resolver) = shell::request::<u64>();
            genrt::select! {
                result = handle => w.check(*child, result, "selected"),
                _ = never => w.error(format!("node {id}: select! took a request never resolved")),
            }
        }
        Op::Blocking(op) => run_blocking(w, id, op).await,
        Op::BlockInPlace(bip) => {
            let world = w.clone();
            let bip = *bip;
            genrt::task::block_in_place(move || match bip {
                Bip::Compute => {
                    std::hint::black_box((0..1000u64).sum::<u64>());
                }
                Bip::Yield => {
                    // Inside the closure the worker's runtime is current; an enter guard of
                    // it may be held around (and across the awaits of) a `block_on`.
                    world.check_current(id, "in block_in_place");
                    let handle = Handle::current();
                    let entered = (id % 2 == 0).then(|| handle.enter());
                    handle.block_on(async {
                        genrt::yield_now().await;
                        genrt::yield_now().await;
                        world.check_current(id, "in block_in_place's block_on");
                    });
                    drop(entered);
                    world.check_current(id, "in block_in_place, after block_on");
                }
                Bip::Child(child) => {
                    let (handle, _) = spawn_child(&world, child);
                    let result = Handle::current().block_on(handle);
                    world.check(child, result, "joined in block_in_place");
                }
            });
        }
        Op::Shell(op) => run_shell(w, id, *op).await,
        Op::TaskLocal(v, inner) => {
            let v = *v;
            let outer = TL.try_with(|x| *x).ok();
            TL.scope(v, async move {
                if TL.try_with(|x| *x) != Ok(v) {
                    w.error(format!("node {id}: the task-local is not set in its scope"));
                }
                run_ops(w, id, inner, held).await;
                if TL.try_with(|x| *x) != Ok(v) {
                    w.error(format!("node {id}: the task-local changed in its scope"));
                }
            })
            .await;
            if TL.try_with(|x| *x).ok() != outer {
                w.error(format!(
                    "node {id}: the enclosing task-local is not back after a scope"
                ));
            }
        }
    }
}

/// A member of a `JoinSet`: a node or a blocking closure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Node(usize),
    Blocking(SetBlocking),
}

/// The value a blocking set member returns.
fn bvalue(id: usize) -> u64 {
    id as u64 * 1_000 + 3
}

/// A bomb a blocking closure captures: panics when dropped unless defused (by the closure
/// running) or the thread is already panicking.
struct ClosureBomb(usize, bool);

impl Drop for ClosureBomb {
    fn drop(&mut self) {
        if !self.1 && !std::thread::panicking() {
            panic!("{INTENTIONAL}: blocking member {}: a bomb went off", self.0);
        }
    }
}

/// Counts the drop of a blocking set member's closure.
struct BlockingGuard {
    world: Arc<World>,
    id: usize,
}

impl Drop for BlockingGuard {
    fn drop(&mut self) {
        self.world.bdrops[self.id].fetch_add(1, SeqCst);
    }
}

impl World {
    /// Checks a join result of a set member.
    fn check_member(&self, member: Member, result: Result<u64, JoinError>, how: &str) {
        let b = match member {
            Member::Node(node) => return self.check(node, result, how),
            Member::Blocking(b) => b,
        };
        // The closure is gone (run or dropped unrun) before its handle reports.
        let drops = self.bdrops[b.id].load(SeqCst);
        let ran = self.bran[b.id].load(SeqCst);
        if drops != 1 {
            self.error(format!(
                "blocking member {} {how}: reported {result:?} with its closure dropped {drops} times",
                b.id
            ));
        }
        let fine = match result {
            Ok(v) => ran && !b.panics && v == bvalue(b.id),
            Err(e) if e.is_panic() && ran => {
                b.panics
                    && panic_message(&*e.into_panic())
                        .is_some_and(|m| m.contains(&format!("blocking member {}: panics", b.id)))
            }
            // Dropped unrun: only by an abort, before it started; a bomb's panic then.
            Err(e) if b.bomb => {
                SEEN[1].fetch_add(1, SeqCst);
                (!b.joined || b.abort)
                    && !ran
                    && e.is_panic()
                    && panic_message(&*e.into_panic())
                        .is_some_and(|m| m.contains(&format!("blocking member {}: a bomb", b.id)))
            }
            Err(e) => {
                SEEN[2].fetch_add(1, SeqCst);
                e.is_cancelled() && (!b.joined || b.abort) && !ran
            }
        };
        if !fine {
            self.soft_error(format!(
                "blocking member {b:?} {how}: ran {ran}, got an unexpected result"
            ));
        }
    }
}

async fn run_set(w: &Arc<World>, id: usize, spec: &SetSpec, held: &mut Vec<Held>) {
    let mut set = JoinSet::new();
    let mut ids = Vec::new();
    let mut readies = Vec::new();
    let mut aborts = Vec::new();
    let handle = Handle::current();
    for &(member, early) in &spec.members {
        let (tx, rx) = match w.kind(member) {
            Kind::Doomed(_) => {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some(rx))
            }
            _ => (None, None),
        };
        let future = node(w.clone(), member, tx);
        let abort = if spec.on {
            set.spawn_on(future, &handle)
        } else {
            set.spawn(future)
        };
        ids.push((abort.id(), Member::Node(member)));
        if let Some(rx) = rx {
            if !early {
                readies.push((member, rx));
            }
            aborts.push((member, abort));
        }
    }
    for &b in &spec.blocking {
        w.bmade[b.id].store(true, SeqCst);
        let guard = BlockingGuard {
            world: w.clone(),
            id: b.id,
        };
        let bomb = b.bomb.then(|| ClosureBomb(b.id, false));
        let closure = move || {
            let guard = guard;
            if let Some(mut bomb) = bomb {
                bomb.1 = true;
            }
            guard.world.bran[b.id].store(true, SeqCst);
            if b.panics {
                panic!("{INTENTIONAL}: blocking member {}: panics", b.id);
            }
            bvalue(b.id)
        };
        let abort = if spec.on {
            set.spawn_blocking_on(closure, &handle)
        } else {
            set.spawn_blocking(closure)
        };
        if b.abort {
            abort.abort();
        }
        ids.push((abort.id(), Member::Blocking(b)));
    }
    let member_of = |task: genrt::task::Id| ids.iter().find(|(t, _)| *t == task).map(|(_, m)| *m);
    let joins = |member: Member| match member {
        Member::Node(m) => matches!(w.kind(m), Kind::Normal | Kind::Panicker(_)),
        Member::Blocking(b) => b.joined || b.abort,
    };
    let mut joinable = ids.iter().filter(|(_, m)| joins(*m)).count();
    let mut left = ids.len();
    if set.len() != left {
        w.error(format!(
            "node {id}: a set of {left} members has len {}",
            set.len()
        ));
    }
    while joinable > 0 {
        // Sometimes by polling `try_join_next_with_id` between yields instead.
        let next = if spec.try_next {
            loop {
                match set.try_join_next_with_id() {
                    Some(next) => break Some(next),
                    None if set.is_empty() => break None,
                    None => genrt::yield_now().await,
                }
            }
        } else {
            set.join_next_with_id().await
        };
        if next.is_some() {
            left -= 1;
            if set.len() != left {
                w.error(format!(
                    "node {id}: a set with {left} members left has len {}",
                    set.len()
                ));
            }
        }
        let (task, result) = match next {
            Some(Ok((task, v))) => (task, Ok(v)),
            Some(Err(e)) => (e.id(), Err(e)),
            None => {
                w.soft_error(format!(
                    "node {id}: the set ran dry with {joinable} members to join"
                ));
                return;
            }
        };
        let Some(member) = member_of(task) else {
            w.soft_error(format!(
                "node {id}: join_next returned an unknown task {task:?}"
            ));
            continue;
        };
        if joins(member) {
            joinable -= 1;
        }
        w.check_member(member, result, "joined from a set");
    }
    for (member, ready) in readies {
        wait_ready(w, member, Some(ready)).await;
    }
    match spec.end {
        SetEnd::AbortAll => {
            set.abort_all();
            while let Some(result) = set.join_next_with_id().await {
                let (task, result) = match result {
                    Ok((task, v)) => (task, Ok(v)),
                    Err(e) => (e.id(), Err(e)),
                };
                match member_of(task) {
                    Some(member) => w.check_member(member, result, "drained after abort_all"),
                    None => {
                        w.soft_error(format!("node {id}: unknown task {task:?} after abort_all"))
                    }
                }
            }
        }
        SetEnd::Shutdown => {
            set.shutdown().await;
            if !set.is_empty() {
                w.error(format!("node {id}: a set not empty after shutdown"));
            }
        }
        SetEnd::Drop => drop(set),
        SetEnd::Detach => {
            lock(&w.parked).extend(aborts);
            set.detach_all();
        }
        SetEnd::Hold => held.push(Box::new(set)),
    }
}

async fn run_blocking(w: &Arc<World>, id: usize, op: &BlockingOp) {
    let expect_ok = |result: Result<(), JoinError>, what: &str| {
        if let Err(e) = result {
            w.soft_error(format!("node {id}: blocking {what}: {e:?}"));
        }
    };
    match op {
        BlockingOp::Compute(n) => {
            let n = *n;
            let sum = genrt::spawn_blocking(move || (0..n).sum::<u64>()).await;
            if sum.as_ref().ok() != Some(&(0..n).sum::<u64>()) {
                w.soft_error(format!("node {id}: blocking compute: {sum:?}"));
            }
        }
        BlockingOp::Panic => {
            let result = genrt::spawn_blocking(move || -> u64 {
                panic!("{INTENTIONAL}: the blocking closure of node {id}")
            })
            .await;
            if !result.as_ref().is_err_and(JoinError::is_panic) {
                w.soft_error(format!(
                    "node {id}: a panicking blocking closure: {result:?}"
                ));
            }
        }
        BlockingOp::BlockOnYield => {
            let handle = Handle::current();
            let result = genrt::spawn_blocking(move || {
                handle.block_on(async {
                    genrt::yield_now().await;
                    genrt::yield_now().await;
                })
            })
            .await;
            expect_ok(result, "block_on(yield)");
        }
        BlockingOp::BlockOnSleep(ms) => {
            let handle = Handle::current();
            let ms = u64::from(*ms);
            let result = genrt::spawn_blocking(move || {
                handle.block_on(genrt::time::sleep(Duration::from_millis(ms)))
            })
            .await;
            expect_ok(result, "block_on(sleep)");
        }
        BlockingOp::BlockOnChild(child) => {
            let (handle, world, child) = (Handle::current(), w.clone(), *child);
            let result = genrt::spawn_blocking(move || {
                let join = handle.spawn(node(world.clone(), child, None));
                let result = handle.block_on(join);
                world.check(child, result, "joined by a blocking closure's block_on");
            })
            .await;
            expect_ok(result, "block_on(child)");
        }
        BlockingOp::Detached(n) => {
            let n = *n;
            drop(genrt::spawn_blocking(move || n * 2));
        }
        BlockingOp::Local(leaves) => {
            let (handle, world, leaves) = (Handle::current(), w.clone(), leaves.clone());
            let result = genrt::spawn_blocking(move || {
                let local = LocalSet::new();
                let mut left = Vec::new();
                handle.block_on(local.run_until(async {
                    let joins: Vec<_> = leaves
                        .iter()
                        .map(|&(leaf, fate)| {
                            (
                                leaf,
                                fate,
                                genrt::task::spawn_local(local_leaf(world.clone(), leaf)),
                            )
                        })
                        .collect();
                    for (leaf, fate, join) in joins {
                        match fate {
                            LocalFate::Await => {
                                world.check(leaf, join.await, "a local leaf awaited")
                            }
                            LocalFate::Abort => {
                                join.abort();
                                world.check(leaf, join.await, "a local leaf aborted");
                            }
                            LocalFate::Leave => left.push(join),
                        }
                    }
                }));
                drop(local);
                drop(left);
            })
            .await;
            expect_ok(result, "LocalSet");
        }
        &BlockingOp::Enter {
            n,
            yields,
            sleep,
            spawn,
        } => {
            let (handle, world) = (Handle::current(), w.clone());
            let result = genrt::spawn_blocking(move || {
                let w = &world;
                // A blocking thread runs its closure inside the runtime's context.
                w.check_current(id, "in a blocking closure");
                let handles: Vec<Handle> = (0..n).map(|_| handle.clone()).collect();
                let mut guards = Vec::new();
                for handle in &handles {
                    guards.push(handle.enter());
                    w.check_current(id, "in a blocking closure's enter guard");
                }
                handle.block_on(async {
                    // Held across every await of this future (not a task: it may).
                    let current = Handle::current();
                    let guard = current.enter();
                    w.check_current(id, "in block_on, in an enter guard");
                    for _ in 0..yields {
                        genrt::yield_now().await;
                        w.check_current(id, "in block_on, after a yield");
                    }
                    if let Some(ms) = sleep {
                        genrt::time::sleep(Duration::from_millis(ms.into())).await;
                    }
                    if spawn {
                        w.tasks.fetch_add(1, SeqCst);
                        let join = genrt::spawn(async { 5u8 });
                        if join.await.ok() != Some(5) {
                            w.soft_error(format!("node {id}: a task spawned in block_on failed"));
                        }
                    }
                    w.check_current(id, "in block_on, at its end");
                    drop(guard);
                });
                while let Some(guard) = guards.pop() {
                    drop(guard);
                    w.check_current(id, "in a blocking closure, after dropping a guard");
                }
            })
            .await;
            expect_ok(result, "enter guards");
        }
    }
}

async fn run_shell(w: &Arc<World>, id: usize, op: ShellOp) {
    let v = value(id) + 1;
    match op {
        ShellOp::Resolve(delay) => {
            let (request, resolver) = shell::request::<u64>();
            w.pool.submit(delay.into(), None, move || {
                let _ = resolver.resolve(v);
            });
            let got = request.await;
            if got != Ok(v) {
                w.error(format!("node {id}: a resolved request gave {got:?}"));
            }
        }
        ShellOp::Abandon(delay) => {
            let (request, resolver) = shell::request::<u64>();
            w.pool.submit(delay.into(), None, move || drop(resolver));
            let got = request.await;
            if got.is_ok() {
                w.error(format!("node {id}: an abandoned request gave {got:?}"));
            }
        }
        ShellOp::Early => {
            let (request, resolver) = shell::request::<u64>();
            if resolver.resolve(v).is_err() {
                w.error(format!("node {id}: an early resolve was refused"));
            }
            let got = request.await;
            if got != Ok(v) {
                w.error(format!("node {id}: an early-resolved request gave {got:?}"));
            }
        }
        ShellOp::Blocking => {
            let (request, resolver) = shell::request::<u64>();
            let join = genrt::spawn_blocking(move || resolver.resolve(v).is_ok());
            let got = request.await;
            if got != Ok(v) {
                w.soft_error(format!(
                    "node {id}: a request resolved by a blocking closure gave {got:?}"
                ));
            }
            let resolved = join.await;
            if !matches!(resolved, Ok(true)) {
                w.soft_error(format!(
                    "node {id}: the resolving blocking closure: {resolved:?}"
                ));
            }
        }
        ShellOp::Stream { items, close } => {
            let (mut stream, resolver) = shell::stream::<u64>();
            stream_job(w.pool.clone(), resolver, 0, items.into(), close);
            for i in 0..u64::from(items) {
                let got = stream.next().await;
                if got != Some(i) {
                    w.error(format!("node {id}: stream item {i}: {got:?}"));
                    return;
                }
            }
            if close {
                let got = stream.next().await;
                if got.is_some() {
                    w.error(format!("node {id}: a closed stream gave {got:?}"));
                }
            }
        }
    }
}

/// Sends item `next` of `items` on a foreign thread, then the rest, one job each; then
/// closes the stream, or keeps it open until the receiver is dropped.
fn stream_job(pool: Arc<Pool>, resolver: StreamResolver<u64>, next: u64, items: u64, close: bool) {
    if next < items {
        let again = pool.clone();
        pool.submit(next % 2, None, move || {
            let _ = resolver.send(next);
            stream_job(again, resolver, next + 1, items, close);
        });
    } else if close {
        drop(resolver);
    } else {
        let resolver = Arc::new(resolver);
        let watched = resolver.clone();
        pool.submit(
            0,
            Some(Box::new(move || watched.is_cancelled())),
            move || drop(resolver),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The foreign pool: threads outside the runtime that resolve requests after a delay, or once
// a condition holds.
// ---------------------------------------------------------------------------------------------

type Condition = Box<dyn Fn() -> bool + Send>;

struct Job {
    at: Instant,
    condition: Option<Condition>,
    run: Box<dyn FnOnce() + Send>,
}

#[derive(Default)]
struct Pool {
    state: Mutex<(Vec<Job>, bool)>,
    cv: Condvar,
}

impl Pool {
    fn submit(
        &self,
        delay_ms: u64,
        condition: Option<Condition>,
        run: impl FnOnce() + Send + 'static,
    ) {
        let job = Job {
            at: Instant::now() + Duration::from_millis(delay_ms),
            condition,
            run: Box::new(run),
        };
        lock(&self.state).0.push(job);
        self.cv.notify_one();
    }

    fn work(&self) {
        let mut state = lock(&self.state);
        loop {
            let now = Instant::now();
            let ready = state
                .0
                .iter()
                .position(|job| job.at <= now && job.condition.as_ref().is_none_or(|c| c()));
            if let Some(index) = ready {
                let job = state.0.swap_remove(index);
                drop(state);
                (job.run)();
                state = lock(&self.state);
                continue;
            }
            if state.1 && state.0.is_empty() {
                return;
            }
            state = self
                .cv
                .wait_timeout(state, Duration::from_millis(1))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn close(&self) {
        lock(&self.state).1 = true;
        self.cv.notify_all();
    }
}

// ---------------------------------------------------------------------------------------------
// Running a plan.
// ---------------------------------------------------------------------------------------------

/// Waits until every node settled (`dropped: false`) or every node's future was dropped
/// (`true`), advancing a paused clock at each tick.
async fn wait_all(
    w: &Arc<World>,
    ticks: &mut Option<ShellStream<()>>,
    dropped: bool,
    p: &Progress,
) {
    let count = |w: &World| {
        if dropped {
            w.dropped.load(SeqCst)
        } else {
            w.settled.load(SeqCst)
        }
    };
    let mut last = usize::MAX;
    loop {
        let now = count(w);
        if now == w.total() {
            return;
        }
        if now != last {
            last = now;
            let missing: Vec<usize> = (0..w.total())
                .filter(|&i| {
                    if dropped {
                        w.drops[i].load(SeqCst) == 0
                    } else {
                        !w.settled_flags[i].load(SeqCst)
                    }
                })
                .take(8)
                .collect();
            let states: Vec<String> = missing
                .iter()
                .map(|&i| {
                    let parked = lock(&w.parked);
                    let handle = parked.iter().find(|(id, _)| *id == i);
                    format!(
                        "{}{}",
                        state_name(w.states[i].load(SeqCst)),
                        handle.map_or(String::new(), |(_, h)| format!(
                            ", registered, finished: {}",
                            h.is_finished()
                        ))
                    )
                })
                .collect();
            p.at(format!(
                "root: {now}/{} {}; first missing {missing:?} ({states:?})",
                w.total(),
                if dropped { "dropped" } else { "settled" }
            ));
        }
        let changed = std::future::poll_fn(|cx| {
            w.root_waker.register(cx.waker());
            if count(w) != now {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        match ticks {
            Some(ticks) => {
                genrt::select! {
                    _ = changed => {}
                    tick = ticks.next() => {
                        if tick.is_some() {
                            genrt::time::advance(Duration::from_millis(1)).await;
                        }
                    }
                }
            }
            None => changed.await,
        }
    }
}

/// The root: spawns the top node, waits for every node to settle, prepares the ending.
async fn root(w: Arc<World>, mut ticks: Option<ShellStream<()>>, p: Progress) {
    // Held across every await of the root (a `block_on` future may hold one); on a
    // current-thread runtime this thread runs tasks meanwhile.
    let handle = Handle::current();
    let entered = w.plan.config.enter.then(|| handle.enter());
    let top = if w.plan.config.root_local {
        genrt::task::spawn_local(node(w.clone(), 0, None))
    } else {
        genrt::spawn(node(w.clone(), 0, None))
    };
    if w.plan.config.early {
        // Leave with the program in flight: after a few yields, or a short sleep.
        let pause = w.plan.seed % 7;
        if pause < 4 {
            for _ in 0..pause * 10 {
                genrt::yield_now().await;
            }
        } else if w.plan.config.paused {
            // A paused clock may never move by itself here (a busy task, a closure in
            // flight): move it.
            for _ in 0..pause - 3 {
                genrt::time::advance(Duration::from_millis(1)).await;
            }
        } else {
            genrt::time::sleep(Duration::from_millis(pause - 3)).await;
        }
        drop(top);
    } else {
        wait_all(&w, &mut ticks, false, &p).await;
        w.check(0, top.await, "the top node, awaited by the root");
    }
    match w.plan.config.ending {
        Ending::Join => {
            p.at("root: aborting the parked nodes");
            for (_, abort) in lock(&w.parked).iter() {
                abort.abort();
            }
            wait_all(&w, &mut ticks, true, &p).await;
        }
        Ending::Timeout(_) | Ending::Background => {
            for _ in 0..w.plan.config.stuck {
                let (tx, rx) = mpsc::channel::<()>();
                lock(&w.stuck).push(tx);
                drop(genrt::spawn_blocking(move || {
                    let _ = rx.recv();
                }));
            }
        }
        Ending::Drop => {}
    }
    if entered.is_some() {
        w.check_current(0, "the root, in an enter guard");
    }
    drop(entered);
    w.check_current(0, "the root, at its end");
    p.at("root: returning");
}

/// What one seed did, for the report.
#[derive(Default, Clone, Copy)]
struct Totals {
    seeds: u64,
    nodes: usize,
    multi: u64,
    current: u64,
    paused: u64,
    early: u64,
    endings: [u64; 4],
}

/// What the thread hooks saw (`Config::hooks`).
#[derive(Default)]
struct Hooks {
    started: AtomicUsize,
    stopped: AtomicUsize,
    /// Per thread: parked (the park hook ran, the unpark hook not yet).
    parked: Mutex<HashMap<thread::ThreadId, bool>>,
    /// The runtimes current in the hooks (`None`: none).
    seen: Mutex<Vec<Option<genrt::runtime::Id>>>,
    errors: Mutex<Vec<String>>,
}

impl Hooks {
    fn saw_current(&self) {
        let id = Handle::try_current().ok().map(|h| h.id());
        let mut seen = lock(&self.seen);
        if !seen.contains(&id) {
            seen.push(id);
        }
    }

    /// Flips this thread's parked flag from `from`; an error if it was not `from`.
    fn flip(&self, from: bool, what: &str) {
        self.saw_current();
        let mut parked = lock(&self.parked);
        let flag = parked.entry(thread::current().id()).or_insert(false);
        if *flag != from {
            lock(&self.errors).push(format!(
                "{what} hook on {:?} with the thread {}",
                thread::current().name(),
                if *flag { "parked" } else { "not parked" }
            ));
        }
        *flag = !from;
    }

    /// Checks, once every thread of the runtime exited: each started thread stopped, no
    /// thread left parked, every hook ran in the runtime's context.
    fn check(&self, w: &World, config: &Config) -> Vec<String> {
        let mut errors = std::mem::take(&mut *lock(&self.errors));
        let (started, stopped) = (self.started.load(SeqCst), self.stopped.load(SeqCst));
        if started != stopped {
            errors.push(format!(
                "hooks: {started} threads started, {stopped} stopped"
            ));
        }
        if let Flavor::Multi(workers) = config.flavor {
            if started < workers {
                errors.push(format!(
                    "hooks: {started} threads started, of {workers} workers"
                ));
            }
        }
        let parked: Vec<_> = lock(&self.parked)
            .iter()
            .filter(|(_, &p)| p)
            .map(|(t, _)| *t)
            .collect();
        if !parked.is_empty() {
            errors.push(format!("hooks: threads left parked: {parked:?}"));
        }
        let seen = lock(&self.seen);
        if seen.iter().any(|id| id.as_ref() != w.rt_id.get()) {
            errors.push(format!(
                "hooks: ran in the context of {seen:?}, not only {:?}",
                w.rt_id.get()
            ));
        }
        errors
    }
}

fn build(config: &Config, hooks: &Arc<Hooks>) -> genrt::Runtime {
    let mut builder = match config.flavor {
        Flavor::Multi(workers) => {
            let mut b = genrt::Builder::new_multi_thread();
            b.worker_threads(workers);
            b
        }
        Flavor::Current => genrt::Builder::new_current_thread(),
    };
    if config.shutdown_on_panic {
        builder.unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime);
    }
    builder
        .max_blocking_threads(config.max_blocking)
        .start_paused(config.paused)
        .thread_name(THREADS);
    if let Some(ticks) = config.event_interval {
        builder.event_interval(ticks);
    }
    if let Some(ticks) = config.global_queue_interval {
        builder.global_queue_interval(ticks);
    }
    // Start and stop hooks always: they tell when the runtime's threads are gone (see
    // `run_plan`).
    {
        let h = hooks.clone();
        builder.on_thread_start(move || {
            h.saw_current();
            if thread::current().name() != Some(THREADS) {
                lock(&h.errors).push(format!(
                    "the start hook ran on {:?}",
                    thread::current().name()
                ));
            }
            h.started.fetch_add(1, SeqCst);
        });
        let h = hooks.clone();
        builder.on_thread_stop(move || {
            h.saw_current();
            if lock(&h.parked).get(&thread::current().id()) == Some(&true) {
                lock(&h.errors).push("a thread stopped parked".into());
            }
            h.stopped.fetch_add(1, SeqCst);
        });
    }
    if config.hooks {
        let h = hooks.clone();
        builder.on_thread_park(move || h.flip(false, "park"));
        let h = hooks.clone();
        builder.on_thread_unpark(move || h.flip(true, "unpark"));
    }
    builder.build().expect("the runtime starts")
}

/// Runs `plan` and checks its outcome; `Err` says what went wrong.
fn run_plan(plan: Plan, p: &Progress) -> Result<(), String> {
    let config = plan.config.clone();
    let seed = plan.seed;
    p.at(format!("seed {seed}: building"));
    // Every thread started from here on (the runtime's, the pool's, the ticker, the extra
    // `block_on` threads) has exited by the time this returns.
    let before = support::counting::threads();
    let world = Arc::new(World::new(plan));
    let pool_threads: Vec<_> = (0..POOL_THREADS)
        .map(|_| {
            let pool = world.pool.clone();
            thread::spawn(move || pool.work())
        })
        .collect();
    let hooks = Arc::new(Hooks::default());
    let rt = build(&config, &hooks);
    world
        .rt_id
        .set(rt.handle().id())
        .expect("the runtime's id is set once");

    // The extra block_on threads, each running a top node of its own.
    let extra: Vec<_> = world
        .plan
        .extra
        .iter()
        .map(|&id| {
            let (handle, w) = (rt.handle().clone(), world.clone());
            thread::spawn(move || {
                let enter = w.plan.config.enter;
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let future = node(w.clone(), id, None);
                    handle.block_on(async {
                        // Held across the node's awaits (see `root`).
                        // A panicker's panic is caught here, to drop the guard in order first.
                        let current = Handle::current();
                        let entered = enter.then(|| current.enter());
                        let out = std::panic::AssertUnwindSafe(future).catch_unwind().await;
                        drop(entered);
                        out.unwrap_or_else(|payload| std::panic::resume_unwind(payload))
                    })
                }));
                let drops = w.drops[id].load(SeqCst);
                let outcome = match out {
                    Ok(v) => format!("Ok({v})"),
                    Err(payload) => format!("panic {:?}", panic_message(&*payload)),
                };
                let fine = match w.kind(id) {
                    _ if w.plan.config.shutdown_on_panic && outcome.contains(SHUT_BY_PANIC) => true,
                    Kind::Normal => outcome == format!("Ok({})", value(id)),
                    _ => outcome.contains(&format!("node {id}:")),
                };
                if !fine || drops != 1 {
                    w.error(format!(
                        "node {id}, run by a thread's block_on: {outcome}, dropped {drops} times"
                    ));
                }
            })
        })
        .collect();

    // The ticker of a paused clock.
    let (ticks, ticker) = if config.paused {
        let (stream, resolver) = shell::stream::<()>();
        let ticker = thread::spawn(move || loop {
            thread::sleep(Duration::from_millis(1));
            if resolver.send(()).is_err() {
                break;
            }
        });
        (Some(stream), Some(ticker))
    } else {
        (None, None)
    };

    p.at(format!("seed {seed}: running"));
    let driver = root(world.clone(), ticks, p.clone());
    let settling = AtomicBool::new(config.settler);
    // Whether `settle` always comes back: no task yields for ever, and no `block_in_place`
    // may wait for a paused clock nobody advances (see the check after the program).
    let busy_plan = world
        .plan
        .nodes
        .iter()
        .any(|n| n.kind == Kind::Doomed(Park::Busy));
    // A `block_in_place` closure may wait for a paused clock that nothing advances any more
    // once the root's ticks are over (an early ending): the worker counts as busy
    // meanwhile and the clock does not auto-advance (documented on `block_in_place`), so
    // `settle` waits until the ending cancels the task it waits for.
    // Likewise a set joined by `try_join_next` between yields is a task that keeps the
    // runtime busy while its members cannot finish, which an early ending allows (its
    // blocking members queued behind stuck closures, say).
    fn polls(ops: &[Op]) -> bool {
        ops.iter().any(|op| match op {
            Op::Set(spec) => spec.try_next,
            Op::TaskLocal(_, inner) => polls(inner),
            _ => false,
        })
    }
    let stalled = config.early
        && ((config.paused && config.bip) || world.plan.nodes.iter().any(|n| polls(&n.ops)));
    let settles = !(busy_plan || stalled);
    thread::scope(|scope| {
        if config.settler {
            // A foreign thread settling while the program runs: on a current-thread
            // runtime it waits for the `block_on` threads, or drives in their stead.
            let (rt, settling) = (&rt, &settling);
            scope.spawn(move || {
                while settling.load(SeqCst) {
                    if settles {
                        rt.settle();
                    } else {
                        rt.try_settle(Duration::from_millis(2));
                    }
                }
            });
        }
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if config.root_local {
                LocalSet::new().block_on(&rt, driver);
            } else {
                rt.block_on(driver);
            }
        }));
        settling.store(false, SeqCst);
        if let Err(payload) = out {
            let text = panic_message(&*payload).unwrap_or("");
            // Only a task's panic under `ShutdownRuntime` may end the root's `block_on`.
            if !(config.shutdown_on_panic && text.contains(SHUT_BY_PANIC)) {
                world.error(format!("the root's block_on panicked: {text:?}"));
            }
        }
    });
    p.at(format!("seed {seed}: joining the extra threads"));
    for thread in extra {
        thread
            .join()
            .map_err(|_| "an extra block_on thread panicked".to_string())?;
    }

    // Without a task that yields for ever, the runtime settles: nothing else keeps it
    // busy (a wake from outside, a blocking closure ending, may come after). In an early
    // ending a busy node may not be made yet: any not dropped counts.
    let busy = (0..world.total())
        .any(|i| world.kind(i) == Kind::Doomed(Park::Busy) && world.drops[i].load(SeqCst) == 0);
    // Nor when `stalled`.
    if !busy && !stalled {
        p.at(format!("seed {seed}: settling"));
        if !rt.try_settle(Duration::from_secs(30)) {
            world.error("the runtime did not settle in 30 s with no busy task".into());
        }
    }
    let metrics = rt.metrics();
    p.at(format!("seed {seed}: ending {:?}", config.ending));
    // Strict: every future was dropped by the time the ending returned.
    let strict = match config.ending {
        Ending::Join | Ending::Drop => {
            if config.ending == Ending::Join {
                // Every task joined: the counters are exact once settled.
                rt.settle();
                let m = metrics.snapshot();
                let spawned = (0..world.total())
                    .filter(|&i| {
                        let n = &world.plan.nodes[i];
                        world.created[i].load(SeqCst) && !n.local && !n.top_of_thread
                    })
                    .count()
                    + world.tasks.load(SeqCst);
                if m.live_tasks != 0
                    || m.completed != m.spawned
                    || m.spawned != spawned as u64
                    || m.global_queue_depth != 0
                {
                    world.error(format!(
                        "metrics after every task was joined: {m:?}; {spawned} tasks spawned"
                    ));
                }
            }
            drop(rt);
            true
        }
        Ending::Timeout(ms) => {
            let timeout = if ms == u64::MAX {
                Duration::MAX
            } else {
                Duration::from_millis(ms)
            };
            let all = rt.shutdown_timeout(timeout);
            if ms == u64::MAX && config.stuck == 0 && !all {
                world.error("shutdown_timeout(Duration::MAX) left threads behind".into());
            }
            ms == u64::MAX
        }
        Ending::Background => {
            rt.shutdown_background();
            false
        }
    };
    p.at(format!("seed {seed}: releasing"));
    if strict {
        for id in 0..world.total() {
            let drops = world.drops[id].load(SeqCst);
            if drops != 1 && world.created[id].load(SeqCst) {
                world.error(format!(
                    "node {id} ({:?}): dropped {drops} times when the {:?} ending returned",
                    world.kind(id),
                    config.ending
                ));
            }
        }
    }
    lock(&world.stuck).clear();
    // No future is made once the runtime's threads are gone (a blocking closure's
    // `LocalSet` makes leaves): then every one made must be dropped. A thread just spawned
    // has no name yet (it names itself as it starts), so after an early background
    // shutdown no thread may be named yet while the workers are still to run: the start
    // and stop hooks count them first (every worker stopped, every thread started
    // stopped), then no thread of the name is left.
    let workers = match config.flavor {
        Flavor::Multi(workers) => workers,
        Flavor::Current => 0,
    };
    wait_until("every worker started stopped its thread", || {
        let stopped = hooks.stopped.load(SeqCst);
        stopped >= workers && stopped == hooks.started.load(SeqCst)
    });
    wait_until("the runtime's threads exited", || {
        support::counting::threads_named(THREADS).is_none_or(|n| n == 0)
    });
    let made = |w: &World| {
        (0..w.total())
            .filter(|&i| w.created[i].load(SeqCst))
            .count()
    };
    wait_until("every node's future dropped", || {
        world.dropped.load(SeqCst) >= made(&world)
    });
    wait_until("every blocking member's closure dropped", || {
        (0..world.plan.blockers)
            .all(|b| world.bdrops[b].load(SeqCst) > 0 || !world.bmade[b].load(SeqCst))
    });
    for b in 0..world.plan.blockers {
        let drops = world.bdrops[b].load(SeqCst);
        if drops != u8::from(world.bmade[b].load(SeqCst)) {
            world.error(format!(
                "blocking member {b}: its closure dropped {drops} times"
            ));
        }
    }
    // Every task left the runtime: finished, or cancelled by the ending.
    let m = metrics.snapshot();
    if m.live_tasks != 0 || m.completed != m.spawned {
        world.error(format!("metrics once the runtime's threads exited: {m:?}"));
    }
    let errors = hooks.check(&world, &config);
    lock(&world.errors).extend(errors);
    p.at(format!("seed {seed}: draining the pool"));
    world.pool.close();
    for thread in pool_threads {
        thread.join().map_err(|_| {
            "a pool thread panicked (a late resolve reached a dropped task?)".to_string()
        })?;
    }
    if let Some(ticker) = ticker {
        ticker.join().unwrap();
    }
    // The wait by name above misses a runtime thread that has not run yet: it still has the
    // name of the thread that started it (a blocking thread started by the root, on this
    // watchdog thread, just before a background shutdown), and on a loaded machine it can
    // stay so for hundreds of milliseconds; it frees what it holds (its runtime's last
    // reference among them) only when it exits.
    wait_until("every thread the seed started exited", || {
        before.as_ref().is_none_or(|before| before.others() == 0)
    });
    lock(&world.graveyard).clear();

    // The outcome.
    let mut errors = std::mem::take(&mut *lock(&world.errors));
    for id in 0..world.total() {
        let state = world.states[id].load(SeqCst);
        let drops = world.drops[id].load(SeqCst);
        let (expected, made): (&[u8], u8) = match (world.kind(id), config.lax()) {
            _ if !world.created[id].load(SeqCst) => (&[NOT_STARTED], 0),
            (Kind::Normal, false) => (&[COMPLETED], 1),
            (Kind::Panicker(_), false) => (&[PANICKED], 1),
            (Kind::Normal, true) => (&[COMPLETED, CANCELLED], 1),
            (Kind::Panicker(_), true) => (&[PANICKED, CANCELLED], 1),
            (Kind::Doomed(_), _) => (&[CANCELLED], 1),
            (Kind::Racy, _) => (&[COMPLETED, CANCELLED], 1),
        };
        if !config.lax() && made == 0 {
            errors.push(format!("node {id}: never made"));
        }
        if !expected.contains(&state) || drops != made {
            errors.push(format!(
                "node {id} ({:?}): {} and dropped {drops} times",
                world.kind(id),
                state_name(state)
            ));
        }
        let saw = world.saw[id].load(SeqCst);
        if (saw == SAW_COMPLETED && state != COMPLETED)
            || (saw == SAW_CANCELLED && state != CANCELLED)
        {
            errors.push(format!(
                "node {id}: its parent saw {} but it ended {}",
                if saw == SAW_COMPLETED {
                    "completed"
                } else {
                    "cancelled"
                },
                state_name(state)
            ));
        }
    }
    wait_until("every reference to the world dropped", || {
        Arc::strong_count(&world) == 1
    });
    drop(world);
    if errors.is_empty() {
        Ok(())
    } else {
        errors.truncate(20);
        Err(errors.join("\n  "))
    }
}

/// Runs `seed` under a watchdog; panics naming the seed and its plan on any failure.
fn run_seed(seed: u64, totals: &mut Totals) -> String {
    let plan = Plan::draw(seed);
    let described = plan.to_string();
    totals.seeds += 1;
    totals.nodes += plan.nodes.len();
    match plan.config.flavor {
        Flavor::Multi(_) => totals.multi += 1,
        Flavor::Current => totals.current += 1,
    }
    totals.paused += u64::from(plan.config.paused);
    totals.early += u64::from(plan.config.early);
    totals.endings[match plan.config.ending {
        Ending::Join => 0,
        Ending::Drop => 1,
        Ending::Timeout(_) => 2,
        Ending::Background => 3,
    }] += 1;
    if env_u64("GENRT_FUZZ_DUMP") == Some(1) {
        for (id, node) in plan.nodes.iter().enumerate() {
            report(format_args!("node {id}: {node:?}"));
        }
    }
    let name = format!("random program, {described}");
    let limit = env_u64("GENRT_FUZZ_LIMIT").map_or(SEED_LIMIT, Duration::from_secs);
    let outcome = Watchdog::new(&name).limit(limit).run_reporting(move |p| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_plan(plan, p)))
    });
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(errors)) => panic!("{described}:\n  {errors}"),
        Err(payload) => panic!(
            "{described}: panicked: {:?}",
            panic_message(&*payload).unwrap_or("(not text)")
        ),
    }
    described
}

/// While alive, panics whose message says a task's panic shut the runtime down
/// (`SHUT_BY_PANIC`, expected under `Config::shutdown_on_panic`) are not reported: each
/// report would go into the test harness's captured output, which stays allocated until the
/// test ends and so counts as live bytes (`GENRT_FUZZ_MEMORY=1` failed by 860 bytes after
/// one such seed, 82,003, and passed with `--nocapture`). Other panics go to the hook it
/// covers (`quiet_panics`'), which it puts back when dropped.
struct QuietShutdowns(Arc<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync>);

impl QuietShutdowns {
    fn install() -> QuietShutdowns {
        let covered: Arc<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync> =
            Arc::from(std::panic::take_hook());
        let inner = covered.clone();
        std::panic::set_hook(Box::new(move |info| {
            if !panic_message(info.payload()).is_some_and(|m| m.contains(SHUT_BY_PANIC)) {
                inner(info);
            }
        }));
        QuietShutdowns(covered)
    }
}

impl Drop for QuietShutdowns {
    fn drop(&mut self) {
        let covered = self.0.clone();
        std::panic::set_hook(Box::new(move |info| covered(info)));
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
    })
}

#[test]
fn random_programs() {
    let _serial = serial();
    let _quiet = quiet_panics();
    let _quiet_shutdowns = QuietShutdowns::install();
    let start = env_u64("GENRT_FUZZ_START").unwrap_or(0);
    let seeds = env_u64("GENRT_FUZZ_SEEDS").unwrap_or(DEFAULT_SEEDS);
    // On unless `GENRT_FUZZ_MEMORY=0` (module docs: the late frees once seen were the
    // measurement's).
    let memory = env_u64("GENRT_FUZZ_MEMORY") != Some(0);
    let mut totals = Totals::default();
    // Warm-up: seeds far from the ones checked, so that lazily allocated process state
    // exists before the baseline.
    let baseline = memory.then(|| {
        for seed in WARM_UP..WARM_UP + WARM_UP_SEEDS {
            run_seed(seed, &mut Totals::default());
        }
        Baseline::take()
    });
    let began = Instant::now();
    for seed in start..start + seeds {
        drop(run_seed(seed, &mut totals));
        if let Some(baseline) = &baseline {
            // Nothing of this loop's is allocated while measuring; the plan is drawn again
            // for the message.
            let now = baseline.measure();
            if now != baseline.bytes() {
                // Still a failure; measured again after a while, to tell a late free from a
                // leak in the report.
                thread::sleep(Duration::from_millis(500));
                let later = baseline.measure();
                panic!(
                    "live bytes after {} ({now}) differ from the baseline ({}) by {} bytes \
                     ({} bytes half a second later)",
                    Plan::draw(seed),
                    baseline.bytes(),
                    now - baseline.bytes(),
                    later - baseline.bytes()
                );
            }
        }
    }
    report(format_args!(
        "random programs: seeds {start}..{}: {} nodes; {} multi-thread, {} current-thread, {} paused; endings join/drop/timeout/background {:?}, {} of them early; bomb panics seen from tasks {}, from blocking closures {}, blocking closures seen cancelled {}; {:?}",
        start + seeds,
        totals.nodes,
        totals.multi,
        totals.current,
        totals.paused,
        totals.endings,
        totals.early,
        SEEN[0].load(SeqCst),
        SEEN[1].load(SeqCst),
        SEEN[2].load(SeqCst),
        began.elapsed()
    ));
}

// ---------------------------------------------------------------------------------------------
// Regression tests: failures the random programs found, minimised.
// ---------------------------------------------------------------------------------------------

/// Seed 31 (an extra thread's `Handle::block_on` of a node doing `block_in_place`, on a
/// multi-thread runtime): `block_in_place` on a multi-thread runtime's `block_on` thread
/// leaves the runtime context for its closure, as Tokio's does (`exit_runtime`: it is
/// "on an executor, but not on the thread pool", which is allowed in a multi-thread
/// `block_on`), so a `Handle::block_on` inside works. genrt ran the closure still marked as
/// inside `block_on`, and the nested `block_on` panicked ("this thread is already inside
/// block_on").
#[test]
fn block_in_place_in_a_multi_thread_block_on_can_block_on() {
    let _serial = serial();
    let rt = genrt::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let out = Watchdog::new("block_in_place in a multi-thread block_on").run(move || {
        let out = rt.block_on(async {
            let child = genrt::spawn(async { 7 });
            let inner = genrt::task::block_in_place(|| Handle::current().block_on(child));
            // Back in `block_on` after the closure: a nested `block_on` is refused again.
            let again = std::panic::catch_unwind(|| {
                Handle::current().block_on(async {});
            });
            (inner.unwrap(), again.is_err())
        });
        drop(rt);
        out
    });
    assert_eq!(out, (7, true));
}

/// Tokio's `task_blocking.rs` `can_enter_current_thread_rt_from_within_block_in_place` as
/// Tokio writes it: `block_in_place` in the multi-thread runtime's `block_on` future itself
/// (`block_in_place.rs` ports it inside a spawned task, a worker, which hid the divergence
/// above).
#[test]
fn a_runtime_can_be_driven_in_block_in_place_of_a_multi_thread_block_on() {
    let _serial = serial();
    let out = Watchdog::new("a runtime inside block_in_place of a block_on").run(|| {
        let outer = genrt::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let out = outer.block_on(async {
            genrt::task::block_in_place(|| {
                let inner = genrt::Builder::new_current_thread().build().unwrap();
                inner.block_on(async { genrt::spawn(async { 7 }).await.unwrap() })
            })
        });
        drop(outer);
        out
    });
    assert_eq!(out, 7);
}

/// Found by the random programs (early `shutdown_background` endings of programs that block in
/// place, 5 seeds in 18,000, e.g. 203534 in 1 run of 5): a `block_in_place` closure on a worker
/// whose runtime is shut down in the background meanwhile calls `Handle::block_on` of a
/// future that needs no timer. Tokio runs it (its `Handle::block_on` panics after a shutdown
/// only for a timer), and genrt's own shutdown protocol says a worker thread holds the
/// runtime's registration for its whole life, blocked in place included, so it may enter
/// again; genrt panicked "cannot enter a runtime that has been dropped" (the worker blocked
/// in place was not counted as holding the registration).
#[test]
fn block_in_place_can_block_on_after_a_background_shutdown() {
    let _serial = serial();
    let _quiet = quiet_panics();
    let rt = genrt::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let (inside_tx, inside) = mpsc::channel::<()>();
    let (go_tx, go) = mpsc::channel::<()>();
    let (out_tx, out) = mpsc::channel();
    drop(rt.spawn(async move {
        genrt::task::block_in_place(move || {
            inside_tx.send(()).unwrap();
            go.recv().unwrap();
            let got = std::panic::catch_unwind(|| {
                Handle::current().block_on(async {
                    genrt::yield_now().await;
                    5
                })
            });
            out_tx
                .send(got.map_err(|p| panic_message(&*p).unwrap_or("").to_string()))
                .unwrap();
        })
    }));
    support::recv(&inside, "the closure blocking in place");
    rt.shutdown_background();
    go_tx.send(()).unwrap();
    let got = support::recv(&out, "the closure's block_on");
    assert_eq!(got, Ok(5));
}
