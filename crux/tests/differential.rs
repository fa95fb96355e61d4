//! A randomized differential test: one crux app whose `update` builds varied commands from a
//! seed (requests, chained requests, streams, a request per stream item, `Command::all` /
//! `.then` / `.and`, `ctx.spawn` sub-tasks joined, `select` races, sub-tasks aborted through
//! their `JoinHandle`, whole commands aborted through their `AbortHandle`, `map_event` /
//! `map_effect`, self-waking tasks, a task fed over a channel by another command, commands
//! that send events back (which start more commands), requests the shell never resolves,
//! `Command::done`, renders and notifications, all nested), driven by a seeded shell through
//! `crux_core::Core` and `genrt_crux::Core` with the same script of events and resolves.
//!
//! - `EventOrder::Fifo`, one shell thread: every call returns the same effects in the same
//!   order as crux_core's, and the final log (the order `update` saw the events in) is the
//!   same.
//! - `EventOrder::Completion` (and `Fifo` under concurrent calls): the same effects per call
//!   as a multiset, each command's effects in the same order within a call, each command's
//!   events in the same order, and the same final view up to order (the app's `update` only
//!   appends to a log: commutative by design). Bursts of calls (resolves of requests of
//!   distinct commands, `process_event`s, dropped requests) run from several threads at once
//!   on genrt_crux (one after another on crux_core), then a `process_tasks`: together they
//!   return the same effects.
//! - The shell also resolves requests twice, resolves notifications, resolves requests whose
//!   command or task is gone (a `select` loser, a stream that ended, an aborted one), and
//!   drops requests it holds: the same `Ok`/`Err` from both cores, never a panic
//!   (crux_core's `resolve` has a `debug_assert!` on the error, so the crux_core side
//!   resolves the request itself and then runs `Layer::process_tasks`, which is what its
//!   `resolve` does in a release build).
//! - At the end both cores are dropped with requests still held (one more dropped just
//!   before, its eviction racing the core's drop): every value the commands own is dropped by
//!   the time genrt_crux's drop returns, and resolving the held requests afterwards gives the
//!   same `Ok`/`Err` from both.
//!
//! Each script runs on a core with a runtime of its own and on the caller's runtime with 1
//! and 2 workers. A current-thread runtime is refused by `Core::with_options` (its docs,
//! "Panics"; `tests/panics.rs` checks it), so no script runs on one.
//!
//! Where the two cores differ by design, the shell steps around it (the comments at each
//! place say how), and the tests at the end of the file pin each difference down in a small
//! deterministic reduction.
//!
//! The seeds are fixed; `GENRT_FUZZ_SEED=<seed>` replays one (every mode and runtime), and
//! `GENRT_FUZZ_SEEDS=<count>` runs that many more. A failure names its seed
//! (`GENRT_FUZZ_TRACE=1` prints both scripts, logs and command trees; `GENRT_FUZZ_STATS=1`
//! what each script did).

// The test app's items are public for `#[effect]`, and documented where it matters.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use crux_core::capability::Operation;
use crux_core::macros::effect;
use crux_core::middleware::Layer;
use crux_core::render::{render, RenderOperation};
use crux_core::{App, Command, Request, Resolvable, ResolveError};
use futures::channel::oneshot;
use futures::StreamExt as _;
use genrt_crux::{EventOrder, Options};
use support::Watchdog;

// ---------------------------------------------------------------------------------------
// The PRNG: xorshift64, seeded through splitmix64's finalizer.

/// splitmix64's finalizer: a good 64-bit mix.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xorshift64.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(mix(seed) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

// ---------------------------------------------------------------------------------------
// The app.

/// Where a request comes from: the command (`cmd`, unique per `update`), the node of its
/// tree (`leaf`), and, for requests made per stream item, the item (`sub`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Op {
    cmd: u64,
    leaf: u32,
    sub: u64,
    /// The command whose progress this request's answer feeds: `cmd`, or for the command a
    /// `Link` event starts, the command of the `Linked` node that awaits it.
    family: u64,
}

impl Op {
    fn new(cmd: u64, leaf: u32) -> Op {
        Op {
            cmd,
            leaf,
            sub: 0,
            family: cmd,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}.{}", self.cmd & 0xffff_ffff, self.leaf)?;
        if self.sub != 0 {
            write!(f, ".{}", self.sub)?;
        }
        if self.family != self.cmd {
            write!(f, "@{:08x}", self.family & 0xffff_ffff)?;
        }
        Ok(())
    }
}

/// A one-shot request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask(Op);
impl Operation for Ask {
    type Output = u64;
}

/// A stream request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticks(Op);
impl Operation for Ticks {
    type Output = u64;
}

/// A one-shot request the shell never resolves (it holds it, or drops it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hang(Op);
impl Operation for Hang {
    type Output = u64;
}

/// A notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(Op);
impl Operation for Note {
    type Output = ();
}

#[effect]
pub enum Effect {
    Ask(Ask),
    Ticks(Ticks),
    Hang(Hang),
    Note(Note),
    Render(RenderOperation),
}

/// An effect's description: unique for every effect but renders (`cmd` is unique per
/// `update`, `leaf` per node of its command).
fn describe(effect: &Effect) -> String {
    match effect {
        Effect::Ask(r) => format!("ask {}", r.operation.0),
        Effect::Ticks(r) => format!("ticks {}", r.operation.0),
        Effect::Hang(r) => format!("hang {}", r.operation.0),
        Effect::Note(r) => format!("note {}", r.operation.0),
        Effect::Render(_) => "render".to_string(),
    }
}

/// The command an effect description belongs to (`None` for renders).
fn command_of(description: &str) -> Option<&str> {
    let (_, op) = description.split_once(' ')?;
    op.split('.').next()
}

/// The command whose progress an answer to the request of `description` feeds.
fn family_of(description: &str) -> Option<&str> {
    match description.split_once('@') {
        Some((_, family)) => Some(family),
        None => command_of(description),
    }
}

#[derive(Debug)]
pub enum Event {
    /// From the shell: `update` builds the command tree of seed `cmd`.
    Start(u64),
    /// From a command: logged; may start a follow-up command tree (depth-bounded).
    Got { op: Op, value: u64, depth: u32 },
    /// From a `Linked` node: `update` starts a command asking the shell for `op` and sending
    /// the answer to the node's command on `tx` (a wake across commands).
    Link { op: Op, tx: oneshot::Sender<u64> },
    /// From the shell: aborts the command `Start(cmd)` made (`AbortHandle::abort`).
    Abort(u64),
    /// Nothing.
    Nop,
}

/// How many levels of follow-up commands events may start.
const MAX_DEPTH: u32 = 2;

#[derive(Default)]
pub struct Model {
    log: Vec<String>,
    got: u64,
    /// The abort handles of the commands `Start` made.
    handles: BTreeMap<u64, crux_core::command::AbortHandle>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    log: Vec<String>,
    got: u64,
}

/// Values the commands own: made and dropped.
#[derive(Default, Debug)]
pub struct Counts {
    made: AtomicUsize,
    dropped: AtomicUsize,
}

impl Counts {
    fn alive(&self) -> usize {
        self.made.load(SeqCst) - self.dropped.load(SeqCst)
    }
}

/// A value a command owns (in its future, or in a closure of it).
struct Owned(Arc<Counts>);

impl Owned {
    fn new(counts: &Arc<Counts>) -> Owned {
        counts.made.fetch_add(1, SeqCst);
        Owned(counts.clone())
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, SeqCst);
    }
}

pub struct FuzzApp {
    counts: Arc<Counts>,
}

impl App for FuzzApp {
    type Event = Event;
    type Model = Model;
    type ViewModel = View;
    type Effect = Effect;

    fn update(&self, event: Event, model: &mut Model) -> Command<Effect, Event> {
        match event {
            Event::Start(cmd) => {
                model.log.push(format!("start {:08x}", cmd & 0xffff_ffff));
                let command = build(tree(cmd, 0), 0, &self.counts);
                model.handles.insert(cmd, command.abort_handle());
                command
            }
            Event::Got { op, value, depth } => {
                model.log.push(format!("got {op}={value}"));
                model.got += 1;
                let key = mix(op.cmd ^ mix(u64::from(op.leaf) ^ mix(op.sub ^ mix(value))));
                let mut rng = Rng::new(key);
                if depth < MAX_DEPTH && rng.chance(35) {
                    build(tree(key, depth + 1), depth + 1, &self.counts)
                } else if rng.chance(25) {
                    render()
                } else {
                    Command::done()
                }
            }
            Event::Link { op, tx } => {
                model.log.push(format!("link {op}"));
                let owned = Owned::new(&self.counts);
                Command::new(move |ctx| async move {
                    let _owned = owned;
                    let v = ctx.request_from_shell(Ask(op)).await;
                    let _ = tx.send(v);
                })
            }
            Event::Abort(cmd) => {
                model.log.push(format!("abort {:08x}", cmd & 0xffff_ffff));
                if let Some(handle) = model.handles.remove(&cmd) {
                    handle.abort();
                }
                Command::done()
            }
            Event::Nop => Command::done(),
        }
    }

    fn view(&self, model: &Model) -> View {
        View {
            log: model.log.clone(),
            got: model.got,
        }
    }
}

/// A command tree.
#[derive(Debug, Clone)]
enum Spec {
    Done,
    Render,
    Note(Op),
    /// `request_from_shell(..).then_send(..)`.
    Ask(Op),
    /// A `Command::new` awaiting `ctx.request_from_shell`, then sending.
    CtxAsk(Op),
    /// `request_from_shell(..).then_request(..).then_send(..)`.
    AskThenAsk(Op, Op),
    /// `stream_from_shell(..).then_send(..)`: lives as long as the stream.
    Stream(Op),
    /// `stream_from_shell(..).then_request(..).then_send(..)`: a request per item.
    StreamThenAsk(Op, Op),
    /// A `Command::new` taking `n` items of a stream, then ending (dropping the stream).
    StreamTake(Op, u8),
    /// A request the shell never resolves.
    Hang(Op),
    /// `Command::event(Got)`.
    Emit(Op),
    /// `select` of two requests; the loser's request is resolved later, its future gone.
    Race(Op, Op),
    /// A `Command::new` sending `Link`, whose command asks `Ask(other)` and sends the
    /// answer back over a oneshot channel; then `Got(op)` (1 if the sender was dropped).
    Linked(Op, Op),
    /// A `Command::new` that wakes itself `n` times, then sends `Got(op)`.
    Yield(Op, u8),
    All(Vec<Spec>),
    Then(Box<Spec>, Box<Spec>),
    And(Box<Spec>, Box<Spec>),
    /// `ctx.spawn` of each child, joined, then `Got(op)`.
    Spawn(Vec<Spec>, Op),
    /// `ctx.spawn` of the child, a request, the child's `JoinHandle::abort`, then `Got`.
    AbortAfter(Op, Box<Spec>),
    MapEvent(Box<Spec>),
    MapEffect(Box<Spec>),
}

/// Generates the command tree of seed `cmd`.
fn tree(cmd: u64, depth: u32) -> Spec {
    let mut g = Gen {
        rng: Rng::new(cmd),
        cmd,
        leaf: 0,
        budget: 6 - 2 * depth,
    };
    g.spec(0)
}

struct Gen {
    rng: Rng,
    cmd: u64,
    leaf: u32,
    budget: u32,
}

impl Gen {
    fn op(&mut self) -> Op {
        self.leaf += 1;
        Op::new(self.cmd, self.leaf)
    }

    fn spec(&mut self, nest: u32) -> Spec {
        let composite = nest < 3 && self.budget > 1 && self.rng.chance(45);
        if composite {
            match self.rng.below(7) {
                0 => {
                    let n = 1 + self.rng.below(3);
                    Spec::All((0..n).map(|_| self.spec(nest + 1)).collect())
                }
                1 => Spec::Then(Box::new(self.spec(nest + 1)), Box::new(self.spec(nest + 1))),
                2 => Spec::And(Box::new(self.spec(nest + 1)), Box::new(self.spec(nest + 1))),
                3 => {
                    let n = 1 + self.rng.below(3);
                    let children = (0..n).map(|_| self.spec(nest + 1)).collect();
                    Spec::Spawn(children, self.op())
                }
                4 => {
                    let op = self.op();
                    Spec::AbortAfter(op, Box::new(self.spec(nest + 1)))
                }
                5 => Spec::MapEvent(Box::new(self.spec(nest + 1))),
                _ => Spec::MapEffect(Box::new(self.spec(nest + 1))),
            }
        } else {
            self.budget = self.budget.saturating_sub(1);
            match self.rng.below(16) {
                0 => Spec::Done,
                1 => Spec::Render,
                2 => Spec::Note(self.op()),
                3 | 4 => Spec::Ask(self.op()),
                5 => Spec::CtxAsk(self.op()),
                6 => Spec::AskThenAsk(self.op(), self.op()),
                7 => Spec::Stream(self.op()),
                8 => Spec::StreamThenAsk(self.op(), self.op()),
                9 => Spec::StreamTake(self.op(), 1 + self.rng.below(2) as u8),
                10 => Spec::Hang(self.op()),
                11 => Spec::Emit(self.op()),
                12 | 13 => Spec::Race(self.op(), self.op()),
                14 => {
                    // The other command's requests are its own (`cmd`).
                    let op = self.op();
                    let other = Op {
                        family: self.cmd,
                        ..Op::new(mix(self.cmd ^ u64::from(op.leaf)), op.leaf)
                    };
                    Spec::Linked(op, other)
                }
                _ => Spec::Yield(self.op(), 1 + self.rng.below(3) as u8),
            }
        }
    }
}

/// The command of `spec`; every node with a future or a closure owns an [`Owned`].
fn build(spec: Spec, depth: u32, counts: &Arc<Counts>) -> Command<Effect, Event> {
    let got = move |op: Op, value: u64| Event::Got { op, value, depth };
    match spec {
        Spec::Done => Command::done(),
        Spec::Render => render(),
        Spec::Note(op) => Command::notify_shell(Note(op)).build(),
        Spec::Ask(op) => {
            let owned = Owned::new(counts);
            Command::request_from_shell(Ask(op)).then_send(move |v| {
                let _owned = &owned;
                got(op, v)
            })
        }
        Spec::CtxAsk(op) => {
            let owned = Owned::new(counts);
            Command::new(move |ctx| async move {
                let _owned = owned;
                let v = ctx.request_from_shell(Ask(op)).await;
                ctx.send_event(got(op, v));
            })
        }
        Spec::AskThenAsk(first, second) => {
            let owned = Owned::new(counts);
            Command::request_from_shell(Ask(first))
                .then_request(move |v| Command::request_from_shell(Ask(Op { sub: v, ..second })))
                .then_send(move |v| {
                    let _owned = &owned;
                    got(second, v)
                })
        }
        Spec::Stream(op) => {
            let owned = Owned::new(counts);
            Command::stream_from_shell(Ticks(op)).then_send(move |v| {
                let _owned = &owned;
                got(op, v)
            })
        }
        Spec::StreamThenAsk(stream, ask) => {
            let owned = Owned::new(counts);
            Command::stream_from_shell(Ticks(stream))
                .then_request(move |v| Command::request_from_shell(Ask(Op { sub: v, ..ask })))
                .then_send(move |v| {
                    let _owned = &owned;
                    got(ask, v)
                })
        }
        Spec::StreamTake(op, n) => {
            let owned = Owned::new(counts);
            Command::new(move |ctx| async move {
                let _owned = owned;
                let mut ticks = ctx.stream_from_shell(Ticks(op));
                for _ in 0..n {
                    match ticks.next().await {
                        Some(v) => ctx.send_event(got(op, v)),
                        None => break,
                    }
                }
            })
        }
        Spec::Hang(op) => {
            let owned = Owned::new(counts);
            Command::request_from_shell(Hang(op)).then_send(move |v| {
                let _owned = &owned;
                got(op, v)
            })
        }
        Spec::Emit(op) => Command::event(got(op, 0)),
        Spec::Linked(op, other) => {
            let owned = Owned::new(counts);
            Command::new(move |ctx| async move {
                let _owned = owned;
                let (tx, rx) = oneshot::channel();
                ctx.send_event(Event::Link { op: other, tx });
                let v = rx.await.unwrap_or(1);
                ctx.send_event(got(op, v));
            })
        }
        Spec::Yield(op, n) => {
            let owned = Owned::new(counts);
            Command::new(move |ctx| async move {
                let _owned = owned;
                for _ in 0..n {
                    let mut yielded = false;
                    std::future::poll_fn(|cx| {
                        if yielded {
                            std::task::Poll::Ready(())
                        } else {
                            yielded = true;
                            cx.waker().wake_by_ref();
                            std::task::Poll::Pending
                        }
                    })
                    .await;
                }
                ctx.send_event(got(op, 0));
            })
        }
        Spec::Race(a, b) => {
            let owned = Owned::new(counts);
            Command::new(move |ctx| async move {
                let _owned = owned;
                let left = ctx.request_from_shell(Ask(a));
                let right = ctx.request_from_shell(Ask(b));
                match futures::future::select(left, right).await {
                    futures::future::Either::Left((v, _)) => ctx.send_event(got(a, v)),
                    futures::future::Either::Right((v, _)) => ctx.send_event(got(b, v)),
                }
            })
        }
        Spec::All(children) => Command::all(children.into_iter().map(|c| build(c, depth, counts))),
        Spec::Then(a, b) => build(*a, depth, counts).then(build(*b, depth, counts)),
        Spec::And(a, b) => build(*a, depth, counts).and(build(*b, depth, counts)),
        Spec::Spawn(children, op) => {
            let owned = Owned::new(counts);
            let children: Vec<_> = children
                .into_iter()
                .map(|c| build(c, depth, counts))
                .collect();
            Command::new(move |ctx| async move {
                let _owned = owned;
                let handles: Vec<_> = children
                    .into_iter()
                    .map(|child| ctx.spawn(move |ctx| child.into_future(ctx)))
                    .collect();
                for handle in handles {
                    handle.await;
                }
                ctx.send_event(got(op, 0));
            })
        }
        Spec::AbortAfter(op, child) => {
            let owned = Owned::new(counts);
            let child = build(*child, depth, counts);
            Command::new(move |ctx| async move {
                let _owned = owned;
                let handle = ctx.spawn(move |ctx| child.into_future(ctx));
                let v = ctx.request_from_shell(Ask(op)).await;
                handle.abort();
                ctx.send_event(got(op, v));
            })
        }
        Spec::MapEvent(child) => {
            let owned = Owned::new(counts);
            build(*child, depth, counts).map_event(move |event| {
                let _owned = &owned;
                match event {
                    Event::Got { op, value, depth } => Event::Got {
                        op,
                        value: value + 7,
                        depth,
                    },
                    other => other,
                }
            })
        }
        Spec::MapEffect(child) => {
            let owned = Owned::new(counts);
            build(*child, depth, counts).map_effect(move |effect| {
                let _owned = &owned;
                effect
            })
        }
    }
}

// ---------------------------------------------------------------------------------------
// The two cores behind one interface.

trait Drive: Sync {
    fn event(&self, event: Event) -> Vec<Effect>;
    fn resolve<O>(
        &self,
        request: &mut impl Resolvable<O>,
        output: O,
    ) -> Result<Vec<Effect>, ResolveError>;
    fn flush(&self) -> Vec<Effect>;
    fn view(&self) -> View;
    /// Whether a burst of calls runs from several threads at once.
    fn threads(&self) -> bool;
}

impl Drive for crux_core::Core<FuzzApp> {
    fn event(&self, event: Event) -> Vec<Effect> {
        self.process_event(event)
    }
    /// crux_core's `resolve` as in a release build (its `debug_assert!` panics on an error).
    fn resolve<O>(
        &self,
        request: &mut impl Resolvable<O>,
        output: O,
    ) -> Result<Vec<Effect>, ResolveError> {
        request.resolve(output)?;
        Ok(Layer::process_tasks(self, |_| {}))
    }
    fn flush(&self) -> Vec<Effect> {
        Layer::process_tasks(self, |_| {})
    }
    fn view(&self) -> View {
        crux_core::Core::view(self)
    }
    fn threads(&self) -> bool {
        false
    }
}

impl Drive for genrt_crux::Core<FuzzApp> {
    fn event(&self, event: Event) -> Vec<Effect> {
        self.process_event(event)
    }
    fn resolve<O>(
        &self,
        request: &mut impl Resolvable<O>,
        output: O,
    ) -> Result<Vec<Effect>, ResolveError> {
        genrt_crux::Core::resolve(self, request, output)
    }
    fn flush(&self) -> Vec<Effect> {
        Layer::process_tasks(self, |_| {})
    }
    fn view(&self) -> View {
        genrt_crux::Core::view(self)
    }
    fn threads(&self) -> bool {
        true
    }
}

// ---------------------------------------------------------------------------------------
// The shell.

/// A request the shell holds.
enum Held {
    Ask(Request<Ask>),
    Ticks(Request<Ticks>),
    Hang(Request<Hang>),
}

impl Held {
    fn resolve_with<C: Drive>(
        &mut self,
        core: &C,
        value: u64,
    ) -> Result<Vec<Effect>, ResolveError> {
        match self {
            Held::Ask(r) => core.resolve(r, value),
            Held::Ticks(r) => core.resolve(r, value),
            Held::Hang(r) => core.resolve(r, value),
        }
    }

    fn resolve_directly(&mut self, value: u64) -> Result<(), ResolveError> {
        match self {
            Held::Ask(r) => Resolvable::resolve(r, value),
            Held::Ticks(r) => Resolvable::resolve(r, value),
            Held::Hang(r) => Resolvable::resolve(r, value),
        }
    }
}

/// What a script may do beyond one call at a time.
#[derive(Clone, Copy, Debug)]
struct Mode {
    order: EventOrder,
    /// Bursts of calls from several threads at once (genrt_crux only).
    bursts: bool,
    /// The shell drops requests it holds mid-script.
    drops: bool,
}

/// What one call returned: its effects, as returned, or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Effects(Vec<String>),
    Err,
}

/// What one step of the script did and saw.
#[derive(Debug, Clone)]
struct Step {
    action: String,
    /// One per call; a burst's calls in the order the shell listed them.
    outcomes: Vec<Outcome>,
    burst: bool,
}

/// What a whole script saw.
#[derive(Debug)]
struct Session {
    steps: Vec<Step>,
    view: View,
    /// The held requests resolved after the core's drop, by description: `Ok` or not.
    after_drop: Vec<(String, bool)>,
    /// Values the commands own still alive just after the core's drop returned.
    alive_after_drop: usize,
    /// The commands `Start` events made.
    started: Vec<u64>,
}

/// Steps per script.
const STEPS: usize = 70;

struct Shell {
    rng: Rng,
    seed: u64,
    mode: Mode,
    held: BTreeMap<String, Held>,
    spent: BTreeMap<String, Request<Ask>>,
    notes: BTreeMap<String, Request<Note>>,
    renders: Vec<Request<RenderOperation>>,
    next_value: u64,
    next_cmd: u64,
    steps: Vec<Step>,
    /// The commands requests were dropped from, with no call since: a task's eviction runs
    /// at crux_core's next call and at once on a genrt_crux worker, so the shell leaves their
    /// other requests alone until a call has settled them.
    unsettled: Vec<String>,
    /// The commands `Start` events made.
    started: Vec<u64>,
}

impl Shell {
    fn new(seed: u64, mode: Mode) -> Shell {
        Shell {
            rng: Rng::new(seed ^ 0x5eed),
            seed,
            mode,
            held: BTreeMap::new(),
            spent: BTreeMap::new(),
            notes: BTreeMap::new(),
            renders: Vec::new(),
            next_value: 1000,
            next_cmd: 0,
            steps: Vec::new(),
            unsettled: Vec::new(),
            started: Vec::new(),
        }
    }

    fn value(&mut self) -> u64 {
        self.next_value += 1;
        self.next_value
    }

    fn start_event(&mut self) -> (String, Event) {
        self.next_cmd += 1;
        let cmd = mix(self.seed.wrapping_mul(1_000_003) ^ self.next_cmd);
        self.started.push(cmd);
        (
            format!("start {:08x}", cmd & 0xffff_ffff),
            Event::Start(cmd),
        )
    }

    /// Files the effects a call returned (in canonical order, so that both cores' shells
    /// hold the same requests whatever order they came in) and records them as returned.
    fn file(&mut self, effects: Vec<Effect>) -> Outcome {
        let described: Vec<String> = effects.iter().map(describe).collect();
        let mut effects: Vec<_> = effects.into_iter().map(|e| (describe(&e), e)).collect();
        effects.sort_by(|a, b| a.0.cmp(&b.0));
        for (description, effect) in effects {
            match effect {
                Effect::Ask(r) => self.insert(description, Held::Ask(r)),
                Effect::Ticks(r) => self.insert(description, Held::Ticks(r)),
                Effect::Hang(r) => self.insert(description, Held::Hang(r)),
                Effect::Note(r) => {
                    assert!(self.notes.insert(description, r).is_none(), "note twice");
                }
                Effect::Render(r) => self.renders.push(r),
            }
        }
        Outcome::Effects(described)
    }

    fn insert(&mut self, description: String, held: Held) {
        assert!(
            self.held.insert(description.clone(), held).is_none(),
            "{description} emitted twice"
        );
    }

    fn record(&mut self, action: String, outcomes: Vec<Outcome>, burst: bool) {
        if outcomes.iter().any(|o| *o != Outcome::Err) {
            // A call returned: the core settled.
            self.unsettled.clear();
        }
        self.steps.push(Step {
            action,
            outcomes,
            burst,
        });
    }

    /// The `i`-th held request of the kinds `pick` accepts, in canonical order.
    fn pick_held(&mut self, pick: impl Fn(&Held) -> bool) -> Option<String> {
        let unsettled = &self.unsettled;
        let keys: Vec<&String> = self
            .held
            .iter()
            .filter(|(k, h)| pick(h) && !unsettled.iter().any(|c| family_of(k) == Some(c)))
            .map(|(k, _)| k)
            .collect();
        if keys.is_empty() {
            return None;
        }
        let i = self.rng.below(keys.len() as u64) as usize;
        Some(keys[i].clone())
    }

    /// Resolves one held request (an `Ask` or a stream item); keeps a resolved `Ask` to
    /// resolve again later, and a stream until it errs.
    fn resolve_one<C: Drive>(&mut self, core: &C, key: String) {
        let value = self.value();
        let mut held = self.held.remove(&key).expect("picked from held");
        let result = held.resolve_with(core, value);
        let outcome = match result {
            Ok(effects) => self.file(effects),
            Err(_) => Outcome::Err,
        };
        match held {
            Held::Ask(r) => {
                self.spent.insert(key.clone(), r);
            }
            Held::Ticks(_) if outcome == Outcome::Err => {}
            held @ Held::Ticks(_) => {
                self.held.insert(key.clone(), held);
            }
            Held::Hang(_) => unreachable!("hangs are never resolved"),
        }
        self.record(format!("resolve {key} = {value}"), vec![outcome], false);
    }

    fn step<C: Drive>(&mut self, core: &C) {
        let roll = self.rng.below(100);
        if roll < 4 && !self.started.is_empty() {
            // An abort (with no dropped request unsettled: its eviction, at once on a
            // genrt_crux worker, would race the abort), then a wake of the aborted command: an
            // abort takes effect at the command's next poll, and crux_core also polls a command
            // for stale wakes of the finished command whose slot of its root it reuses, which
            // genrt_crux's per-command cells do not (see the tests at the end of this file).
            // The wake, dropping one of its requests, has both cores drop it at once.
            if !self.unsettled.is_empty() {
                return self.flush(core);
            }
            let cmd = self.started[self.rng.below(self.started.len() as u64) as usize];
            let name = format!("{:08x}", cmd & 0xffff_ffff);
            let mut outcomes = vec![self.file(core.event(Event::Abort(cmd)))];
            let mut action = format!("event abort {name}");
            let wake = self
                .held
                .keys()
                .find(|k| family_of(k) == Some(&name))
                .cloned();
            if let Some(key) = wake {
                drop(self.held.remove(&key));
                outcomes.push(self.file(core.flush()));
                action += &format!(", drop {key}, process_tasks");
            }
            self.record(action, outcomes, false);
        } else if roll < 20 {
            let (label, event) = self.start_event();
            let effects = core.event(event);
            let outcome = self.file(effects);
            self.record(format!("event {label}"), vec![outcome], false);
        } else if roll < 55 {
            match self.pick_held(|h| matches!(h, Held::Ask(_))) {
                Some(key) => self.resolve_one(core, key),
                None => self.flush(core),
            }
        } else if roll < 70 {
            match self.pick_held(|h| matches!(h, Held::Ticks(_))) {
                Some(key) => self.resolve_one(core, key),
                None => self.flush(core),
            }
        } else if roll < 75 {
            // A one-shot request resolved again: an error from both, never a panic.
            if self.spent.is_empty() {
                return self.flush(core);
            }
            let i = self.rng.below(self.spent.len() as u64) as usize;
            let key = self.spent.keys().nth(i).unwrap().clone();
            let value = self.value();
            let request = self.spent.get_mut(&key).unwrap();
            let outcome = match core.resolve(request, value) {
                Ok(effects) => self.file(effects),
                Err(_) => Outcome::Err,
            };
            self.record(format!("resolve again {key}"), vec![outcome], false);
        } else if roll < 80 {
            // A notification resolved: an error from both, never a panic.
            let outcome = if !self.notes.is_empty() && self.rng.chance(50) {
                let key = self.notes.keys().next().unwrap().clone();
                let mut request = self.notes.remove(&key).unwrap();
                match core.resolve(&mut request, ()) {
                    Ok(effects) => self.file(effects),
                    Err(_) => Outcome::Err,
                }
            } else if let Some(mut request) = self.renders.pop() {
                match core.resolve(&mut request, ()) {
                    Ok(effects) => self.file(effects),
                    Err(_) => Outcome::Err,
                }
            } else {
                return self.flush(core);
            };
            self.record("resolve a notification".to_string(), vec![outcome], false);
        } else if roll < 86 {
            // The shell drops a request it holds: crux evicts the task awaiting it.
            if !self.mode.drops {
                return self.flush(core);
            }
            match self.pick_held(|_| true) {
                Some(key) => {
                    drop(self.held.remove(&key));
                    // crux_core evicts the task awaiting it at its next call; so does genrt_crux
                    // under `Fifo`, and under `Completion` it does so at once, on a worker: a
                    // resolve of that task's other requests before a call would race the
                    // eviction (see the tests at the end of this file), and so would one in a
                    // burst, racing the burst's other calls for the eviction. So either a call
                    // at once, or no call, and then (but under `Fifo` with one call at a time,
                    // which is crux_core's own case) the shell leaves that command alone until
                    // the next call.
                    if self.rng.chance(50) {
                        if matches!(self.mode.order, EventOrder::Completion) || self.mode.bursts {
                            self.unsettled.extend(family_of(&key).map(str::to_string));
                        }
                        self.record(format!("drop {key}"), Vec::new(), false);
                    } else {
                        let effects = core.flush();
                        let outcome = self.file(effects);
                        self.record(format!("drop {key}, process_tasks"), vec![outcome], false);
                    }
                }
                None => self.flush(core),
            }
        } else if self.mode.bursts {
            self.burst(core);
        } else {
            self.flush(core);
        }
    }

    fn flush<C: Drive>(&mut self, core: &C) {
        let effects = core.flush();
        let outcome = self.file(effects);
        self.record("process_tasks".to_string(), vec![outcome], false);
    }

    /// Two to four calls at once (on genrt_crux; one after another on crux_core): resolves
    /// of distinct held requests and `process_event`s.
    fn burst<C: Drive>(&mut self, core: &C) {
        enum Call {
            Resolve(String, Held, u64),
            Event(String, Event),
            Drop(String, Option<Held>),
        }
        let n = 2 + self.rng.below(3);
        let mut calls = Vec::new();
        // Commands whose requests this burst resolves: one request per command, as the
        // outcome of a command resolved from two threads at once depends on which resolve
        // comes first (a `select`, a stream's items).
        let mut commands: Vec<String> = self.unsettled.clone();
        for _ in 0..n {
            let dropping = self.mode.drops && self.rng.chance(15);
            let key = if dropping || self.rng.chance(75) {
                let taken = &commands;
                let keys: Vec<String> = self
                    .held
                    .iter()
                    .filter(|(k, h)| {
                        (dropping || !matches!(h, Held::Hang(_)))
                            && !taken.iter().any(|c| family_of(k) == Some(c.as_str()))
                    })
                    .map(|(k, _)| k.clone())
                    .collect();
                if keys.is_empty() {
                    None
                } else {
                    let key = keys[self.rng.below(keys.len() as u64) as usize].clone();
                    commands.push(family_of(&key).unwrap().to_string());
                    Some(key)
                }
            } else {
                None
            };
            match key {
                Some(key) if dropping => {
                    let held = self.held.remove(&key).unwrap();
                    calls.push(Call::Drop(key, Some(held)));
                }
                Some(key) => {
                    let held = self.held.remove(&key).unwrap();
                    let value = self.value();
                    calls.push(Call::Resolve(key, held, value));
                }
                None => {
                    let (label, event) = self.start_event();
                    calls.push(Call::Event(label, event));
                }
            }
        }
        let run = |call: &mut Call| -> Result<Vec<Effect>, ResolveError> {
            match call {
                Call::Resolve(_, held, value) => held.resolve_with(core, *value),
                Call::Event(_, event) => {
                    let event = std::mem::replace(event, Event::Nop);
                    Ok(core.event(event))
                }
                Call::Drop(_, held) => {
                    drop(held.take());
                    Ok(Vec::new())
                }
            }
        };
        let results: Vec<_> = if core.threads() {
            std::thread::scope(|s| {
                let threads: Vec<_> = calls
                    .iter_mut()
                    .map(|call| s.spawn(move || run(call)))
                    .collect();
                threads.into_iter().map(|t| t.join().unwrap()).collect()
            })
        } else {
            calls.iter_mut().map(run).collect()
        };
        let mut labels = Vec::new();
        let mut outcomes = Vec::new();
        for (call, result) in calls.into_iter().zip(results) {
            let ok = result.is_ok();
            outcomes.push(match result {
                Ok(effects) => self.file(effects),
                Err(_) => Outcome::Err,
            });
            match call {
                Call::Resolve(key, held, value) => {
                    labels.push(format!("resolve {key} = {value}"));
                    match held {
                        Held::Ask(r) => {
                            self.spent.insert(key, r);
                        }
                        held @ Held::Ticks(_) if ok => {
                            self.held.insert(key, held);
                        }
                        _ => {}
                    }
                }
                Call::Event(label, _) => labels.push(format!("event {label}")),
                Call::Drop(key, _) => labels.push(format!("drop {key}")),
            }
        }
        // Then a call: what a drop in the burst woke runs at crux_core's next call, and at
        // once on genrt_crux (returned by one of the burst's calls or by this one).
        outcomes.push(self.file(core.flush()));
        self.record(
            format!("burst [{}], process_tasks", labels.join(", ")),
            outcomes,
            true,
        );
    }
}

/// Runs the script of `seed` on `core`, drops the core with its requests still held, and
/// resolves them afterwards.
fn session<C: Drive>(core: C, counts: &Counts, seed: u64, mode: Mode) -> Session {
    let mut shell = Shell::new(seed, mode);
    for _ in 0..STEPS {
        shell.step(&core);
    }
    shell.flush(&core);
    let view = core.view();
    if mode.drops && shell.rng.chance(50) {
        // A drop whose eviction (on a genrt_crux worker at once) races the core's drop.
        if let Some(key) = shell.pick_held(|_| true) {
            drop(shell.held.remove(&key));
        }
    }
    drop(core);
    let alive_after_drop = counts.alive();
    let mut after_drop = Vec::new();
    let mut held = std::mem::take(&mut shell.held);
    for (key, request) in held.iter_mut() {
        after_drop.push((key.clone(), request.resolve_directly(1).is_ok()));
    }
    drop(held);
    Session {
        steps: shell.steps,
        view,
        after_drop,
        alive_after_drop,
        started: shell.started,
    }
}

// ---------------------------------------------------------------------------------------
// The comparison.

#[derive(Clone, Copy, Debug)]
enum Rt {
    Own,
    Callers(usize),
}

fn sorted(outcome: &Outcome) -> Outcome {
    match outcome {
        Outcome::Effects(e) => {
            let mut e = e.clone();
            e.sort();
            Outcome::Effects(e)
        }
        Outcome::Err => Outcome::Err,
    }
}

/// Each command's effects within one call, in the order returned.
fn per_command(outcome: &Outcome) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Outcome::Effects(effects) = outcome {
        for e in effects {
            if let Some(cmd) = command_of(e) {
                map.entry(cmd.to_string()).or_default().push(e.clone());
            }
        }
    }
    map
}

/// The first difference between `expected` (crux_core) and `actual` (genrt_crux), if any.
fn difference(expected: &Session, actual: &Session, exact: bool) -> Option<String> {
    for (i, (e, a)) in expected.steps.iter().zip(&actual.steps).enumerate() {
        let same = if exact {
            e.outcomes == a.outcomes
        } else if e.burst {
            // A burst: the same effects in all, the same Ok/Err per call.
            let mut all_e: Vec<String> = Vec::new();
            let mut all_a: Vec<String> = Vec::new();
            let mut errs_same = e.outcomes.len() == a.outcomes.len();
            for (oe, oa) in e.outcomes.iter().zip(&a.outcomes) {
                errs_same &= (*oe == Outcome::Err) == (*oa == Outcome::Err);
                if let Outcome::Effects(x) = oe {
                    all_e.extend(x.iter().cloned());
                }
                if let Outcome::Effects(x) = oa {
                    all_a.extend(x.iter().cloned());
                }
            }
            all_e.sort();
            all_a.sort();
            errs_same && all_e == all_a
        } else {
            e.outcomes
                .iter()
                .map(sorted)
                .eq(a.outcomes.iter().map(sorted))
                && e.outcomes
                    .iter()
                    .map(per_command)
                    .eq(a.outcomes.iter().map(per_command))
        };
        if !same || e.action != a.action {
            let from = i.saturating_sub(6);
            let context: Vec<String> = expected.steps[from..i]
                .iter()
                .enumerate()
                .map(|(j, s)| format!("  #{} {}: {:?}", from + j, s.action, s.outcomes))
                .collect();
            return Some(format!(
                "step #{i} differs\n  crux_core:  {} -> {:?}\n  genrt_crux: {} -> {:?}\n\
                 steps before (crux_core):\n{}",
                e.action,
                e.outcomes,
                a.action,
                a.outcomes,
                context.join("\n")
            ));
        }
    }
    if expected.steps.len() != actual.steps.len() {
        return Some("the scripts have different lengths".to_string());
    }
    let (mut log_e, mut log_a) = (expected.view.log.clone(), actual.view.log.clone());
    if !exact {
        log_e.sort();
        log_a.sort();
    }
    if log_e != log_a || expected.view.got != actual.view.got {
        let first = log_e.iter().zip(&log_a).position(|(x, y)| x != y);
        return Some(format!(
            "the final views differ (first at {first:?}):\n  crux_core:  {log_e:?}\n  genrt_crux: {log_a:?}"
        ));
    }
    // Each command's events reach `update` first in, first out, as in crux_core.
    let events_of = |log: &[String]| {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in log {
            if let Some(op) = line.strip_prefix("got ") {
                let cmd = op.split('.').next().unwrap().to_string();
                map.entry(cmd).or_default().push(line.clone());
            }
        }
        map
    };
    let (events_e, events_a) = (events_of(&expected.view.log), events_of(&actual.view.log));
    if events_e != events_a {
        let (cmd, e) = events_e
            .iter()
            .find(|(cmd, e)| events_a.get(*cmd) != Some(e))
            .unwrap();
        return Some(format!(
            "the events of command {cmd} reached update in another order:\n  crux_core:  {e:?}\n  \
             genrt_crux: {:?}",
            events_a.get(cmd)
        ));
    }
    if expected.after_drop != actual.after_drop {
        return Some(format!(
            "resolves after the drop differ:\n  crux_core:  {:?}\n  genrt_crux: {:?}",
            expected.after_drop, actual.after_drop
        ));
    }
    if actual.alive_after_drop != 0 {
        return Some(format!(
            "{} command-owned values alive after genrt_crux's drop returned",
            actual.alive_after_drop
        ));
    }
    None
}

fn genrt_session(seed: u64, mode: Mode, rt: Rt) -> Session {
    let counts = Arc::new(Counts::default());
    let app = FuzzApp {
        counts: counts.clone(),
    };
    let options = Options::new().event_order(mode.order);
    match rt {
        Rt::Own => {
            let core = genrt_crux::Core::with_options(app, Model::default(), options);
            session(core, &counts, seed, mode)
        }
        Rt::Callers(workers) => {
            let runtime = genrt::Builder::new()
                .worker_threads(workers)
                .build()
                .unwrap();
            let core = genrt_crux::Core::with_options(
                app,
                Model::default(),
                options.runtime(runtime.handle().clone()),
            );
            let s = session(core, &counts, seed, mode);
            drop(runtime);
            s
        }
    }
}

fn crux_session(seed: u64, mode: Mode) -> Session {
    let counts = Arc::new(Counts::default());
    let app = FuzzApp {
        counts: counts.clone(),
    };
    session(
        crux_core::Core::new_with(app, Model::default()),
        &counts,
        seed,
        mode,
    )
}

/// The fixed seeds, `GENRT_FUZZ_SEED` alone if set, and `GENRT_FUZZ_SEEDS` more.
fn seeds(fixed: &[u64]) -> Vec<u64> {
    if let Ok(seed) = std::env::var("GENRT_FUZZ_SEED") {
        return vec![seed.parse().expect("GENRT_FUZZ_SEED is a u64")];
    }
    let mut seeds = fixed.to_vec();
    if let Ok(more) = std::env::var("GENRT_FUZZ_SEEDS") {
        let more: u64 = more.parse().expect("GENRT_FUZZ_SEEDS is a count");
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        seeds.extend((0..more).map(|i| mix(start ^ i)));
    }
    seeds
}

/// Compares crux_core and genrt_crux on every seed and runtime; names the seed on failure.
fn differential(what: &'static str, mode: Mode, exact: bool) {
    let seeds = seeds(SEEDS);
    // The watchdog only turns a hang into a failure: its limit grows with the seeds asked for.
    let limit = support::DEADLINE + std::time::Duration::from_secs(4) * seeds.len() as u32;
    Watchdog::new(what)
        .limit(limit)
        .run_reporting(move |p| compare_seeds(&seeds, mode, exact, p));
}

fn compare_seeds(seeds: &[u64], mode: Mode, exact: bool, p: &support::Progress) {
    let mut events = 0;
    for &seed in seeds {
        p.at(format!("seed {seed}, crux_core"));
        let expected = crux_session(seed, mode);
        for rt in [Rt::Own, Rt::Callers(1), Rt::Callers(2)] {
            p.at(format!("seed {seed}, genrt_crux on {rt:?}"));
            let actual = std::panic::catch_unwind(|| genrt_session(seed, mode, rt)).unwrap_or_else(
                |payload| {
                    eprintln!(
                        "genrt_crux panicked: seed {seed} ({mode:?}, {rt:?}); replay with \
                         GENRT_FUZZ_SEED={seed}"
                    );
                    std::panic::resume_unwind(payload)
                },
            );
            if let Some(difference) = difference(&expected, &actual, exact) {
                if std::env::var("GENRT_FUZZ_TRACE").is_ok() {
                    for (i, (e, a)) in expected.steps.iter().zip(&actual.steps).enumerate() {
                        eprintln!(
                            "#{i} {}\n    crux  {:?}\n    genrt {:?}",
                            e.action, e.outcomes, a.outcomes
                        );
                    }
                    eprintln!("crux log:  {:?}", expected.view.log);
                    eprintln!("genrt log: {:?}", actual.view.log);
                    for cmd in &expected.started {
                        eprintln!("tree {:08x}: {:?}", cmd & 0xffff_ffff, tree(*cmd, 0));
                    }
                }
                panic!(
                    "seed {seed} ({mode:?}, {rt:?}), replay with GENRT_FUZZ_SEED={seed}: {difference}"
                );
            }
        }
        events += expected.view.got;
        if std::env::var("GENRT_FUZZ_STATS").is_ok() {
            let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
            for step in &expected.steps {
                let kind: String = step.action.split(' ').next().unwrap().to_string();
                *kinds.entry(kind).or_default() += 1;
                for o in &step.outcomes {
                    match o {
                        Outcome::Err => *kinds.entry("=err".into()).or_default() += 1,
                        Outcome::Effects(e) => {
                            for d in e {
                                *kinds
                                    .entry(format!("+{}", d.split(' ').next().unwrap()))
                                    .or_default() += 1;
                            }
                        }
                    }
                }
            }
            eprintln!(
                "seed {seed} {mode:?}: got {} log {} held-at-end {} crux-alive-after-drop {} {:?}",
                expected.view.got,
                expected.view.log.len(),
                expected.after_drop.len(),
                expected.alive_after_drop,
                kinds
            );
        }
    }
    // The scripts exercised something (a single replayed one may not).
    assert!(
        events > 0 || seeds.len() == 1,
        "no event came back from any command"
    );
}

/// The fixed seeds: 32 scripts per test, each on three runtimes (about 2 s in all, debug).
const SEEDS: &[u64] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
    27, 28, 29, 30, 31, 32,
];

#[test]
fn fifo_order_matches_crux_core_call_by_call() {
    let mode = Mode {
        order: EventOrder::Fifo,
        bursts: false,
        drops: true,
    };
    differential("differential, fifo, one shell thread", mode, true);
}

#[test]
fn completion_order_matches_crux_core_up_to_order() {
    let mode = Mode {
        order: EventOrder::Completion,
        bursts: true,
        drops: true,
    };
    differential("differential, completion order", mode, false);
}

#[test]
fn fifo_order_under_concurrent_calls_matches_crux_core_up_to_order() {
    let mode = Mode {
        order: EventOrder::Fifo,
        bursts: true,
        drops: true,
    };
    differential("differential, fifo, bursts and drops", mode, false);
}

// ---------------------------------------------------------------------------------------
// The differences the scripts above step around, each reduced to a deterministic test.

/// The small app of the reductions.
mod small {
    use super::*;

    #[effect]
    pub enum Fx {
        Ask(Ask),
        Ticks(Ticks),
    }

    #[derive(Debug)]
    pub enum Ev {
        /// A sub-task awaiting `Ask(1)`, joined, then `Log("joined")`.
        Join,
        /// A task taking one item of `Ticks(2)`, then awaiting `Ask(1)`.
        StreamThenAsk,
        /// A `select` of `Ask(1)` and `Ask(2)`.
        Race,
        /// A stream `Ticks(3)`, its abort handle kept in the model.
        Subscribe,
        /// Aborts the `Subscribe` command.
        Abort,
        Log(String),
    }

    #[derive(Default)]
    pub struct M {
        pub log: Vec<String>,
        handle: Option<crux_core::command::AbortHandle>,
    }

    #[derive(Default)]
    pub struct Small;

    impl App for Small {
        type Event = Ev;
        type Model = M;
        type ViewModel = Vec<String>;
        type Effect = Fx;

        fn update(&self, event: Ev, model: &mut M) -> Command<Fx, Ev> {
            let op = |leaf| Op::new(0, leaf);
            match event {
                Ev::Join => Command::new(move |ctx| async move {
                    let sub = ctx.spawn(move |ctx| async move {
                        ctx.request_from_shell(Ask(op(1))).await;
                    });
                    sub.await;
                    ctx.send_event(Ev::Log("joined".into()));
                }),
                Ev::StreamThenAsk => Command::new(move |ctx| async move {
                    let mut ticks = ctx.stream_from_shell(Ticks(op(2)));
                    let _ = ticks.next().await;
                    ctx.request_from_shell(Ask(op(1))).await;
                    drop(ticks);
                }),
                Ev::Race => Command::new(move |ctx| async move {
                    let a = ctx.request_from_shell(Ask(op(1)));
                    let b = ctx.request_from_shell(Ask(op(2)));
                    let _ = futures::future::select(a, b).await;
                }),
                Ev::Subscribe => {
                    let command = Command::stream_from_shell(Ticks(op(3)))
                        .then_send(|v| Ev::Log(format!("tick {v}")));
                    model.handle = Some(command.abort_handle());
                    command
                }
                Ev::Abort => {
                    model.handle.take().expect("subscribed").abort();
                    Command::done()
                }
                Ev::Log(line) => {
                    model.log.push(line);
                    Command::done()
                }
            }
        }

        fn view(&self, model: &M) -> Vec<String> {
            model.log.clone()
        }
    }

    pub fn asks(effects: Vec<Fx>) -> Vec<Request<Ask>> {
        effects
            .into_iter()
            .map(|effect| match effect {
                Fx::Ask(request) => request,
                Fx::Ticks(_) => panic!("an Ask"),
            })
            .collect()
    }

    pub fn ticks(mut effects: Vec<Fx>) -> Request<Ticks> {
        assert_eq!(effects.len(), 1);
        match effects.pop() {
            Some(Fx::Ticks(request)) => request,
            _ => panic!("a Ticks"),
        }
    }

    /// A core the reductions drive: crux_core's, or genrt_crux's on the caller's runtime
    /// (whose `settle` lets the test wait for whatever an outside wake made it run).
    pub enum Any {
        Crux(crux_core::Core<Small>),
        Genrt(genrt_crux::Core<Small>, genrt::Runtime),
    }

    impl Any {
        pub fn crux() -> Any {
            Any::Crux(crux_core::Core::new())
        }

        pub fn genrt(order: EventOrder) -> Any {
            let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
            let options = Options::new()
                .event_order(order)
                .runtime(rt.handle().clone());
            Any::Genrt(
                genrt_crux::Core::with_options(Small, M::default(), options),
                rt,
            )
        }

        pub fn event(&self, event: Ev) -> Vec<Fx> {
            match self {
                Any::Crux(core) => core.process_event(event),
                Any::Genrt(core, _) => core.process_event(event),
            }
        }

        /// crux_core's `resolve` as in a release build (see `Drive`).
        pub fn resolve<O>(
            &self,
            request: &mut impl Resolvable<O>,
            output: O,
        ) -> Result<Vec<Fx>, ResolveError> {
            match self {
                Any::Crux(core) => {
                    request.resolve(output)?;
                    Ok(Layer::process_tasks(core, |_| {}))
                }
                Any::Genrt(core, _) => core.resolve(request, output),
            }
        }

        pub fn process_tasks(&self) -> Vec<Fx> {
            match self {
                Any::Crux(core) => Layer::process_tasks(core, |_| {}),
                Any::Genrt(core, _) => Layer::process_tasks(core, |_| {}),
            }
        }

        /// Waits until the runtime has nothing left to run (nothing for crux_core, which
        /// runs nothing outside its calls).
        pub fn settle_runtime(&self) {
            if let Any::Genrt(_, rt) = self {
                rt.settle();
            }
        }

        pub fn log(&self) -> Vec<String> {
            match self {
                Any::Crux(core) => core.view(),
                Any::Genrt(core, _) => core.view(),
            }
        }
    }
}

/// Under `EventOrder::Fifo` (crux_core's order), a request the shell drops between two calls:
/// crux_core evicts the task awaiting it in its next call, after that call's own `update`, so
/// the events the eviction leads to reach `update` after the next event. genrt_crux used to
/// step the root command at once on a worker (a wake from outside any call), so they came
/// first (or raced the next call, without the `settle` here).
#[test]
fn under_fifo_a_request_dropped_between_calls_is_handled_in_the_next_call() {
    Watchdog::new("a request dropped between calls, fifo").run(|| {
        let run = |core: small::Any| {
            let mut asks = small::asks(core.event(small::Ev::Join));
            assert_eq!(asks.len(), 1);
            drop(asks.pop());
            core.settle_runtime();
            assert!(core.event(small::Ev::Log("next".into())).is_empty());
            core.log()
        };
        let expected = run(small::Any::crux());
        assert_eq!(expected, ["next", "joined"]);
        assert_eq!(run(small::Any::genrt(EventOrder::Fifo)), expected);
    });
}

/// The same under `EventOrder::Fifo`, seen through a resolve: a task awaiting a request the
/// shell dropped and a stream: crux_core evicts it (and its stream) in the next call, so a
/// resolve of the stream right after the drop still succeeds.
#[test]
fn under_fifo_a_stream_of_a_task_whose_request_was_dropped_resolves_until_the_next_call() {
    Watchdog::new("a stream resolved after a drop, fifo").run(|| {
        let run = |core: small::Any| {
            let mut ticks = small::ticks(core.event(small::Ev::StreamThenAsk));
            let mut asks = small::asks(core.resolve(&mut ticks, 1).unwrap());
            drop(asks.pop());
            core.settle_runtime();
            let first = core.resolve(&mut ticks, 2).map(|effects| effects.len());
            let second = core.resolve(&mut ticks, 3).map(|effects| effects.len());
            (first.ok(), second.ok())
        };
        let expected = run(small::Any::crux());
        assert_eq!(expected, (Some(0), None), "Ok, then FinishedMany");
        assert_eq!(run(small::Any::genrt(EventOrder::Fifo)), expected);
    });
}

/// A documented difference (crate docs, "How it runs"): under `EventOrder::Completion` a
/// request the shell drops is a wake from outside any call, and genrt_crux steps its
/// command at once on a worker, where crux_core waits for its next call. A task awaiting
/// that request and a stream is evicted with its stream before the shell's next call: a
/// resolve of the stream errs (`FinishedMany`) where crux_core's succeeds once more. (The
/// scripts above follow a drop with a call before touching that command again.)
#[test]
fn under_completion_a_request_dropped_between_calls_is_handled_at_once() {
    Watchdog::new("a stream resolved after a drop, completion").run(|| {
        let core = small::Any::genrt(EventOrder::Completion);
        let mut ticks = small::ticks(core.event(small::Ev::StreamThenAsk));
        let mut asks = small::asks(core.resolve(&mut ticks, 1).unwrap());
        drop(asks.pop());
        core.settle_runtime();
        assert!(matches!(
            core.resolve(&mut ticks, 2),
            Err(ResolveError::FinishedMany)
        ));
    });
}

/// Not a genrt_crux bug, a crux_core quirk: crux_core hosts every command in one root
/// command whose task slots are reused, and a waker of a finished command (kept by a request
/// the shell still holds: here the loser of a `select`) wakes whichever command took its
/// slot. An aborted command is dropped at its next poll, so there crux_core drops the
/// aborted stream early (the next resolve errs). genrt_crux's `Completion` cells wake no one
/// else (the resolve succeeds and drops the command then); its `Fifo` root is crux_core's
/// own executor, and behaves as crux_core. (The scripts above wake an aborted command at once,
/// which both cores then drop.)
#[test]
fn a_stale_wake_polls_the_command_reusing_the_slot_only_in_crux_cores_root() {
    Watchdog::new("stale wakes and abort").run(|| {
        let run = |core: small::Any| {
            let mut asks = small::asks(core.event(small::Ev::Race));
            let loser = asks.pop().unwrap();
            let mut winner = asks.pop().unwrap();
            assert!(core.resolve(&mut winner, 1).unwrap().is_empty());
            let mut ticks = small::ticks(core.event(small::Ev::Subscribe));
            assert!(core.event(small::Ev::Abort).is_empty());
            drop(loser);
            core.settle_runtime();
            assert!(core.process_tasks().is_empty());
            core.resolve(&mut ticks, 5).is_ok()
        };
        assert!(
            !run(small::Any::crux()),
            "crux_core: the stale wake dropped the stream"
        );
        assert!(
            !run(small::Any::genrt(EventOrder::Fifo)),
            "fifo: as crux_core"
        );
        assert!(
            run(small::Any::genrt(EventOrder::Completion)),
            "completion: no stale wake reaches the aborted command"
        );
    });
}
