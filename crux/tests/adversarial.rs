//! A second adversarial review of genrt-crux's `Core`, after `tests/review.rs`: what a core
//! leaves behind on the caller's runtime once dropped, effects returned exactly once, and
//! parity with `crux_core::Core` on command shapes the other parity tests lack.
//!
//! Every test body runs under a [`Watchdog`]; nothing here asserts an upper bound on time.

// The test app's items are public for `#[effect]`.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use crux_core::capability::Operation;
use crux_core::macros::effect;
use crux_core::render::{render, RenderOperation};
use crux_core::{App, Command, Request};
use futures::channel::oneshot;
use genrt_crux::{Core, EventOrder, Options};
use support::{serial, Watchdog};

/// A one-shot request: the shell answers with a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask(pub u64);

impl Operation for Ask {
    type Output = u64;
}

/// A stream request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticks(pub u64);

impl Operation for Ticks {
    type Output = u64;
}

/// A notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(pub u64);

impl Operation for Note {
    type Output = ();
}

#[effect]
pub enum Effect {
    Ask(Ask),
    Ticks(Ticks),
    Note(Note),
    Render(RenderOperation),
}

fn describe(effect: &Effect) -> String {
    match effect {
        Effect::Ask(request) => format!("ask {}", request.operation.0),
        Effect::Ticks(request) => format!("ticks {}", request.operation.0),
        Effect::Note(request) => format!("note {}", request.operation.0),
        Effect::Render(_) => "render".to_string(),
    }
}

impl std::fmt::Debug for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&describe(self))
    }
}

type Slot<T> = Arc<Mutex<Option<T>>>;

fn slot<T>(value: T) -> Slot<T> {
    Arc::new(Mutex::new(Some(value)))
}

pub enum Event {
    /// A command that awaits `rx` (a value, or its sender's drop), then sends `Log`.
    Gate(Slot<oneshot::Receiver<()>>),
    /// One request `Ask(n)`, answered as `Log`.
    Fetch(u64),
    /// Logged.
    Log(String),
    /// A scripted command shape (see `shape`).
    Shape(u8),
    /// A request, a stream and an event whose command asks again and sends another event
    /// whose command asks again: four requests, all with ids derived from `id`.
    Burst(u64),
    /// From `Burst`: a request and an event.
    Split(u64),
    /// From `Split`: a request.
    Leaf(u64),
    /// A command holding `tx` in its future while it awaits `rx` (its drop drops `tx`).
    Link {
        rx: Slot<oneshot::Receiver<()>>,
        tx: Slot<oneshot::Sender<()>>,
    },
    /// A request whose command holds a drop counter, and sends `Fetch` once answered.
    Held(Arc<AtomicUsize>),
    /// A command that awaits `rx`, then logs `gate {n}` and asks `Ask(n)`.
    Numbered(u64, Slot<oneshot::Receiver<()>>),
    /// A command holding a `CallOnDrop` while it awaits `rx`.
    LinkCalling {
        rx: Slot<oneshot::Receiver<()>>,
        on_drop: Slot<CallOnDrop>,
    },
    /// `Ask(n)`, then `Ask(answer + 1)`, then `Log`.
    Chain(u64),
    /// A command holding `Blocker` in its future, suspended on a request.
    Block(Slot<Blocker>),
    /// A command that panics in its first step.
    PanicAtOnce,
    /// Does nothing.
    Nop,
}

/// Held in a command's future: its drop says so on `dropping`, then waits for `release`.
pub struct Blocker {
    pub dropping: std::sync::mpsc::Sender<()>,
    pub release: std::sync::mpsc::Receiver<()>,
}

impl Drop for Blocker {
    fn drop(&mut self) {
        let _ = self.dropping.send(());
        let _ = self.release.recv_timeout(support::DEADLINE);
    }
}

/// Dropped, drops `tx` (waking the command awaiting it), then calls `process_event(Nop)` on
/// `core` and records how the call ended in `outcome`.
pub struct CallOnDrop {
    pub tx: Option<oneshot::Sender<()>>,
    pub core: std::sync::Weak<Core<Adv>>,
    pub outcome: Arc<Mutex<Option<String>>>,
}

impl Drop for CallOnDrop {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(core) = self.core.upgrade() {
            let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                core.process_event(Event::Nop)
            })) {
                Ok(effects) => format!("{} effects", effects.len()),
                Err(payload) => support::panic_message(&*payload)
                    .unwrap_or_default()
                    .to_string(),
            };
            *self.outcome.lock().unwrap() = Some(outcome);
        }
    }
}

/// Counts its drops: a model that says when the core let go of it.
pub struct DropCount(pub Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[derive(Default)]
pub struct Model {
    pub log: Vec<String>,
    pub dropped: Option<DropCount>,
}

#[derive(Default)]
pub struct Adv;

impl App for Adv {
    type Event = Event;
    type Model = Model;
    type ViewModel = Vec<String>;
    type Effect = Effect;

    fn update(&self, event: Event, model: &mut Model) -> Command<Effect, Event> {
        match event {
            Event::Gate(rx) => Command::new(move |ctx| async move {
                let rx = rx.lock().unwrap().take().unwrap();
                let _ = rx.await;
                ctx.send_event(Event::Log("gate".into()));
            }),
            Event::Fetch(n) => {
                Command::request_from_shell(Ask(n)).then_send(|v| Event::Log(format!("got {v}")))
            }
            Event::Log(line) => {
                model.log.push(line);
                Command::done()
            }
            Event::Shape(k) => shape(k),
            Event::Burst(id) => Command::all([
                Command::request_from_shell(Ask(10 * id)).then_send(|v| log(format!("a {v}"))),
                Command::event(Event::Split(id)),
                Command::stream_from_shell(Ticks(10 * id + 1)).then_send(|v| log(format!("t {v}"))),
            ]),
            Event::Split(id) => Command::all([
                Command::request_from_shell(Ask(10 * id + 2)).then_send(|v| log(format!("a {v}"))),
                Command::event(Event::Leaf(10 * id + 3)),
            ]),
            Event::Leaf(n) => {
                Command::request_from_shell(Ask(n)).then_send(|v| log(format!("a {v}")))
            }
            Event::Link { rx, tx } => Command::new(move |ctx| async move {
                let rx = rx.lock().unwrap().take().unwrap();
                let _tx = tx.lock().unwrap().take().unwrap();
                let _ = rx.await;
                ctx.send_event(log("link"));
            }),
            Event::Held(drops) => Command::new(move |ctx| async move {
                let _count = DropCount(drops);
                let v = ctx.request_from_shell(Ask(1)).await;
                ctx.send_event(Event::Fetch(v));
            }),
            Event::Numbered(n, rx) => Command::new(move |ctx| async move {
                let rx = rx.lock().unwrap().take().unwrap();
                let _ = rx.await;
                ctx.send_event(log(format!("gate {n}")));
                let v = ctx.request_from_shell(Ask(n)).await;
                ctx.send_event(log(format!("answer {v}")));
            }),
            Event::LinkCalling { rx, on_drop } => Command::new(move |ctx| async move {
                let rx = rx.lock().unwrap().take().unwrap();
                let _on_drop = on_drop.lock().unwrap().take().unwrap();
                let _ = rx.await;
                ctx.send_event(log("link"));
            }),
            Event::Chain(n) => Command::request_from_shell(Ask(n))
                .then_request(|v| Command::request_from_shell(Ask(v + 1)))
                .then_send(|v| log(format!("chain {v}"))),
            Event::Block(blocker) => Command::new(move |ctx| async move {
                let _blocker = blocker.lock().unwrap().take();
                let _ = ctx.request_from_shell(Ask(0)).await;
            }),
            Event::PanicAtOnce => Command::new(|_ctx| async move {
                panic!("{}: the command panics at once", support::INTENTIONAL);
            }),
            Event::Nop => Command::done(),
        }
    }

    fn view(&self, model: &Model) -> Vec<String> {
        model.log.clone()
    }
}

fn log(line: impl Into<String>) -> Event {
    Event::Log(line.into())
}

/// Command shapes the other parity tests lack.
fn shape(k: u8) -> Command<Effect, Event> {
    match k {
        // Effects and events interleaved in one task, across several awaits.
        0 => Command::new(|ctx| async move {
            ctx.notify_shell(Note(1));
            ctx.send_event(log("i0"));
            let a = ctx.request_from_shell(Ask(1)).await;
            ctx.send_event(log(format!("i1 {a}")));
            ctx.notify_shell(Note(2));
            ctx.send_event(Event::Fetch(50));
            ctx.notify_shell(Note(3));
            let b = ctx.request_from_shell(Ask(2)).await;
            ctx.send_event(log(format!("i2 {b}")));
            ctx.send_event(Event::Shape(1));
        }),
        // Nested `all` and `then` chains.
        1 => Command::all([
            Command::all([
                Command::request_from_shell(Ask(10)).then_send(|v| log(format!("n10 {v}"))),
                Command::event(log("n-e")),
            ])
            .then(Command::all([
                Command::request_from_shell(Ask(11)).then_send(|v| log(format!("n11 {v}"))),
                render(),
            ])),
            Command::request_from_shell(Ask(12))
                .then_request(|v| Command::request_from_shell(Ask(v + 1)))
                .then_send(|v| log(format!("n13 {v}"))),
            Command::event(Event::Fetch(14)).then(Command::event(log("n-after"))),
        ]),
        // `ctx.spawn` sub-tasks that outlive the parent's own future and a stream.
        2 => Command::new(|ctx| async move {
            ctx.spawn(|ctx| async move {
                use futures::StreamExt;
                let mut ticks = ctx.stream_from_shell(Ticks(20));
                while let Some(t) = ticks.next().await {
                    ctx.send_event(log(format!("t {t}")));
                }
                ctx.send_event(log("t end"));
            });
            ctx.spawn(|ctx| async move {
                let v = ctx.request_from_shell(Ask(21)).await;
                ctx.spawn(move |ctx| async move {
                    let w = ctx.request_from_shell(Ask(v)).await;
                    ctx.send_event(log(format!("s2 {w}")));
                });
                ctx.send_event(log(format!("s1 {v}")));
            });
            ctx.send_event(log("parent done"));
        }),
        _ => Command::done(),
    }
}

// ---------------------------------------------------------------------------------------
// What a dropped core leaves on the caller's runtime.
// ---------------------------------------------------------------------------------------

/// A runtime with one worker, kept busy by a task the test releases: work handed to a
/// worker waits until then.
struct Blocked {
    rt: genrt::Runtime,
    release: std::sync::mpsc::Sender<()>,
}

fn blocked_runtime() -> Blocked {
    let rt = genrt::Builder::new().worker_threads(1).build().unwrap();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (started_tx, started) = std::sync::mpsc::channel::<()>();
    drop(rt.spawn(async move {
        started_tx.send(()).unwrap();
        let _ = released.recv();
    }));
    support::recv(&started, "the blocking task starts");
    Blocked { rt, release }
}

/// With `with_runtime`, the caller's runtime lives on after the core's drop: a command woken
/// from outside just before the drop has a step task queued on it, which must not hold the
/// core (its model, app and outbox) past the drop. crux_core drops the model with the core.
#[test]
fn a_step_task_queued_on_the_callers_runtime_does_not_keep_the_dropped_cores_model() {
    let _serial = serial();
    Watchdog::new("a queued step task after the core's drop").run_reporting(|p| {
        let blocked = blocked_runtime();
        let drops = Arc::new(AtomicUsize::new(0));
        let model = Model {
            log: Vec::new(),
            dropped: Some(DropCount(drops.clone())),
        };
        let core = Core::with_runtime_and(blocked.rt.handle().clone(), Adv, model);
        let (gate_tx, gate_rx) = oneshot::channel();
        assert!(core.process_event(Event::Gate(slot(gate_rx))).is_empty());
        p.at("waking the command from outside: its step task waits for the busy worker");
        gate_tx.send(()).unwrap();
        p.at("dropping the core");
        drop(core);
        let after_drop = drops.load(SeqCst);
        p.at("releasing the worker");
        blocked.release.send(()).unwrap();
        support::wait_until("the step task runs", || {
            blocked.rt.metrics().num_alive_tasks() == 0
        });
        assert_eq!(drops.load(SeqCst), 1, "the model is dropped once");
        assert_eq!(
            after_drop, 1,
            "the core's model outlived the core's drop (a step task queued on the caller's \
             runtime held the core)"
        );
    });
}

// ---------------------------------------------------------------------------------------
// Parity with crux_core::Core on shapes the other parity tests lack.
// ---------------------------------------------------------------------------------------

/// The two cores' common interface, so one scripted shell drives both.
trait Drive {
    fn event(&self, event: Event) -> Vec<Effect>;
    fn ask(
        &self,
        request: &mut Request<Ask>,
        value: u64,
    ) -> Result<Vec<Effect>, crux_core::ResolveError>;
    fn tick(
        &self,
        request: &mut Request<Ticks>,
        value: u64,
    ) -> Result<Vec<Effect>, crux_core::ResolveError>;
    fn view(&self) -> Vec<String>;
}

macro_rules! drive {
    ($core:ty) => {
        impl Drive for $core {
            fn event(&self, event: Event) -> Vec<Effect> {
                self.process_event(event)
            }
            fn ask(
                &self,
                request: &mut Request<Ask>,
                value: u64,
            ) -> Result<Vec<Effect>, crux_core::ResolveError> {
                self.resolve(request, value)
            }
            fn tick(
                &self,
                request: &mut Request<Ticks>,
                value: u64,
            ) -> Result<Vec<Effect>, crux_core::ResolveError> {
                self.resolve(request, value)
            }
            fn view(&self) -> Vec<String> {
                self.view()
            }
        }
    };
}

drive!(crux_core::Core<Adv>);
drive!(Core<Adv>);

/// What one session saw: each call's effects, and the final view.
#[derive(Debug, PartialEq, Eq)]
struct Session {
    calls: Vec<Vec<String>>,
    view: Vec<String>,
}

/// Starts every shape, then answers the newest request first (a LIFO shell: requests are
/// resolved in the reverse of the order they came), each `Ask(n)` with `2n + 1`; a stream is
/// answered three times, then dropped, and a `Nop` event lets its end run. Notifications are
/// dropped. With `sort`, each call's effects are sorted before the shell sees them (the
/// order across commands is not crux_core's under `EventOrder::Completion`).
fn session(core: &dyn Drive, sort: bool) -> Session {
    let mut calls = Vec::new();
    let mut pending = Vec::new();
    let mut record = |mut effects: Vec<Effect>, pending: &mut Vec<Effect>| {
        if sort {
            effects.sort_by_key(describe);
        }
        calls.push(effects.iter().map(describe).collect::<Vec<_>>());
        pending.extend(effects);
    };
    for k in 0..3 {
        record(core.event(Event::Shape(k)), &mut pending);
    }
    while let Some(effect) = pending.pop() {
        match effect {
            Effect::Ask(mut request) => {
                let value = 2 * request.operation.0 + 1;
                let effects = core.ask(&mut request, value).expect("a first resolve");
                record(effects, &mut pending);
            }
            Effect::Ticks(mut request) => {
                for i in 0..3 {
                    let effects = core.tick(&mut request, 100 + i).expect("a stream item");
                    record(effects, &mut pending);
                }
                drop(request);
                record(core.event(Event::Nop), &mut pending);
            }
            Effect::Note(_) | Effect::Render(_) => {}
        }
    }
    let mut view = core.view();
    if sort {
        view.sort();
    }
    Session { calls, view }
}

fn parity(order: EventOrder, own_runtime: bool) {
    let sort = order == EventOrder::Completion;
    let expected = session(&crux_core::Core::<Adv>::new(), sort);
    assert!(
        expected.view.iter().any(|line| line == "t end") && expected.calls.len() > 10,
        "the script runs every shape: {expected:?}"
    );
    let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
    for round in 0..10 {
        let options = Options::new().event_order(order);
        let options = if own_runtime {
            options
        } else {
            options.runtime(rt.handle().clone())
        };
        let core = Core::with_options(Adv, Model::default(), options);
        let got = session(&core, sort);
        assert_eq!(got, expected, "{order:?}, round {round}");
    }
}

/// Under `EventOrder::Fifo`: crux_core's effects, call by call, and its view, exactly.
#[test]
fn fifo_matches_crux_core_on_interleaved_nested_and_outliving_shapes() {
    let _serial = serial();
    Watchdog::new("Fifo parity on new shapes").run(|| {
        parity(EventOrder::Fifo, true);
        parity(EventOrder::Fifo, false);
    });
}

/// Under `EventOrder::Completion`: the same effects per call and the same view, up to order.
#[test]
fn completion_matches_crux_core_on_interleaved_nested_and_outliving_shapes() {
    let _serial = serial();
    Watchdog::new("Completion parity on new shapes").run(|| {
        parity(EventOrder::Completion, true);
        parity(EventOrder::Completion, false);
    });
}

// ---------------------------------------------------------------------------------------
// Every effect returned by exactly one call.
// ---------------------------------------------------------------------------------------

/// Answers every request in `effects` and in what the answers return, on this thread,
/// recording each effect in `seen` (which must not have it yet); a stream is answered twice,
/// then dropped. Every fourth one-shot request is dropped unanswered instead.
fn answer_all(
    core: &Core<Adv>,
    effects: Vec<Effect>,
    seen: &Mutex<std::collections::HashSet<String>>,
) {
    let mut pending = effects;
    while let Some(effect) = pending.pop() {
        let name = describe(&effect);
        assert!(
            seen.lock().unwrap().insert(name.clone()),
            "{name} was returned by two calls"
        );
        match effect {
            Effect::Ask(mut request) => {
                if request.operation.0 % 4 == 3 {
                    drop(request);
                    pending.extend(core.process_event(Event::Nop));
                } else {
                    let v = request.operation.0;
                    pending.extend(core.resolve(&mut request, v).expect("a first resolve"));
                    assert!(
                        core.resolve(&mut request, v).is_err(),
                        "a second resolve errs"
                    );
                }
            }
            Effect::Ticks(mut request) => {
                for i in 0..2 {
                    pending.extend(core.resolve(&mut request, i).expect("a stream item"));
                }
                drop(request);
            }
            Effect::Note(_) | Effect::Render(_) => panic!("no notifications here"),
        }
    }
}

/// 8 shell threads each start bursts (every burst: four requests, two of its commands
/// started by events, one of them on a worker) and answer what their calls return, while
/// the others do the same: every request is returned by exactly one call (none lost, none
/// twice), and every answered one reaches the model.
fn exactly_once(order: EventOrder, own_runtime: bool) {
    const THREADS: u64 = 8;
    const BURSTS: u64 = 12;
    let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
    let options = Options::new().event_order(order);
    let options = if own_runtime {
        options
    } else {
        options.runtime(rt.handle().clone())
    };
    let core = Arc::new(Core::with_options(Adv, Model::default(), options));
    let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let barrier = Arc::new(std::sync::Barrier::new(THREADS as usize));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (core, seen, barrier) = (core.clone(), seen.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for b in 0..BURSTS {
                    let id = 1 + t * BURSTS + b;
                    answer_all(&core, core.process_event(Event::Burst(id)), &seen);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    // Anything no call returned yet comes back now.
    answer_all(&core, core.process_event(Event::Nop), &seen);
    let bursts = THREADS * BURSTS;
    assert_eq!(
        seen.lock().unwrap().len() as u64,
        4 * bursts,
        "{order:?}: every request returned once"
    );
    let dropped = (1..=bursts)
        .flat_map(|id| [10 * id, 10 * id + 2, 10 * id + 3])
        .filter(|n| n % 4 == 3)
        .count() as u64;
    let log = core.view();
    assert_eq!(
        log.len() as u64,
        3 * bursts - dropped + 2 * bursts,
        "{order:?}: every answer reached update"
    );
}

#[test]
fn every_effect_is_returned_by_exactly_one_call_under_concurrent_calls() {
    let _serial = serial();
    Watchdog::new("exactly once under 8 shell threads").run(|| {
        for round in 0..4 {
            let own = round % 2 == 0;
            exactly_once(EventOrder::Completion, own);
            exactly_once(EventOrder::Fifo, own);
        }
    });
}

// ---------------------------------------------------------------------------------------
// A Fifo core whose root is ending.
// ---------------------------------------------------------------------------------------

/// Under `EventOrder::Fifo` a panic ends the root command and every command of the core, and
/// `process_event` then panics with a message saying so (crate docs, "Panics"). A
/// `process_event` on another thread while the root is being dropped (here, a command's
/// future takes its time to drop) must say so too, not fail inside crux with "tasks channel
/// disconnected" from spawning into the root whose task queue is already gone.
#[test]
fn under_fifo_process_event_racing_the_roots_end_panics_with_the_documented_message() {
    let _serial = serial();
    let _quiet = support::quiet_panics();
    Watchdog::new("process_event racing the Fifo root's end").run_reporting(|p| {
        for own_runtime in [true, false] {
            let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
            let options = Options::new().event_order(EventOrder::Fifo);
            let options = if own_runtime {
                options
            } else {
                options.runtime(rt.handle().clone())
            };
            let core = Arc::new(Core::with_options(Adv, Model::default(), options));
            let (dropping_tx, dropping) = std::sync::mpsc::channel();
            let (release, release_rx) = std::sync::mpsc::channel();
            let blocker = Blocker {
                dropping: dropping_tx,
                release: release_rx,
            };
            p.at("a command holding the blocker");
            let held = core.process_event(Event::Block(slot(blocker)));
            assert_eq!(held.len(), 1);
            p.at("a panicking command on another thread");
            let panicking = {
                let core = core.clone();
                std::thread::spawn(move || {
                    support::panic_text(|| core.process_event(Event::PanicAtOnce))
                })
            };
            support::recv(&dropping, "the root's drop reaches the blocker");
            p.at("process_event while the root drops");
            let racing = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                core.process_event(Event::Nop)
            }));
            release.send(()).unwrap();
            let racing = racing.expect_err("a Fifo core whose root ended panics");
            let text = support::panic_message(&*racing).unwrap_or_default();
            assert!(
                text.contains("EventOrder::Fifo") || text.starts_with(support::INTENTIONAL),
                "the racing call panicked with {text:?}"
            );
            p.at("the panicking call");
            let first = panicking.join().unwrap();
            assert!(first.starts_with(support::INTENTIONAL), "{first:?}");
            p.at("a later call");
            let later = support::panic_text(|| core.process_event(Event::Nop));
            assert!(later.contains("EventOrder::Fifo"), "{later:?}");
            drop(held);
            drop(core);
        }
    });
}

// ---------------------------------------------------------------------------------------
// A request resolved through another core.
// ---------------------------------------------------------------------------------------

/// What resolving core `b`'s request through core `a` gives: `a`'s result, `b`'s next
/// call's effects, `b`'s view after it, and a resolve of `b`'s last request through `a`
/// after `b` dropped.
fn across<C: Drive>(a: &C, b: C) -> (Vec<String>, Vec<String>, Vec<String>, bool) {
    let mut effects = b.event(Event::Chain(5));
    assert_eq!(effects.len(), 1);
    let Some(Effect::Ask(mut request)) = effects.pop() else {
        panic!("an Ask")
    };
    let from_a: Vec<String> = a
        .ask(&mut request, 20)
        .expect("resolves")
        .iter()
        .map(describe)
        .collect();
    let mut next = b.event(Event::Nop);
    let next_names = next.iter().map(describe).collect();
    let Some(Effect::Ask(mut second)) = next.pop() else {
        panic!("b's next call returns its follow-up request: {next_names:?}")
    };
    let view = b.view();
    drop(b);
    let after_drop = a
        .ask(&mut second, 1)
        .is_ok_and(|effects| effects.is_empty());
    (from_a, next_names, view, after_drop)
}

/// A request belongs to its core's command, whichever core's `resolve` takes it: as in
/// crux_core, the call on the other core returns nothing of it, the owning core's next call
/// returns the follow-up effects, and once the owning core has dropped, resolving its request
/// through another core is a quiet `Ok(vec![])`.
#[test]
fn a_request_resolved_through_another_core_runs_in_its_own_core() {
    let _serial = serial();
    Watchdog::new("a request resolved through another core").run(|| {
        let expected = across(&crux_core::Core::<Adv>::new(), crux_core::Core::new());
        assert_eq!(
            expected,
            (vec![], vec!["ask 21".to_string()], vec![], true),
            "crux_core"
        );
        let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
        for order in [EventOrder::Completion, EventOrder::Fifo] {
            for shared_runtime in [false, true] {
                let options = || {
                    let options = Options::new().event_order(order);
                    if shared_runtime {
                        options.runtime(rt.handle().clone())
                    } else {
                        options
                    }
                };
                let a = Core::with_options(Adv, Model::default(), options());
                let b = Core::with_options(Adv, Model::default(), options());
                let got = across(&a, b);
                assert_eq!(got, expected, "{order:?}, shared runtime: {shared_runtime}");
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// Panicking commands among concurrent calls.
// ---------------------------------------------------------------------------------------

/// Runs a call; a re-raised intentional panic counts in `reraised` and gives no effects.
fn call(reraised: &AtomicUsize, f: impl FnOnce() -> Vec<Effect>) -> Vec<Effect> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(effects) => effects,
        Err(payload) => {
            let text = support::panic_message(&*payload).unwrap_or_default();
            assert!(text.starts_with(support::INTENTIONAL), "{text:?}");
            reraised.fetch_add(1, SeqCst);
            Vec::new()
        }
    }
}

/// [`answer_all`], where any call may re-raise a panic of a command started elsewhere.
fn answer_all_reraising(
    core: &Core<Adv>,
    effects: Vec<Effect>,
    seen: &Mutex<std::collections::HashSet<String>>,
    reraised: &AtomicUsize,
) {
    let mut pending = effects;
    while let Some(effect) = pending.pop() {
        let name = describe(&effect);
        assert!(
            seen.lock().unwrap().insert(name.clone()),
            "{name} was returned by two calls"
        );
        match effect {
            Effect::Ask(mut request) => {
                let v = request.operation.0;
                pending.extend(call(reraised, || {
                    core.resolve(&mut request, v).expect("a first resolve")
                }));
            }
            Effect::Ticks(mut request) => {
                for i in 0..2 {
                    pending.extend(call(reraised, || {
                        core.resolve(&mut request, i).expect("a stream item")
                    }));
                }
            }
            Effect::Note(_) | Effect::Render(_) => panic!("no notifications here"),
        }
    }
}

/// Under `EventOrder::Completion`, 8 shell threads start bursts and panicking commands and
/// answer what their calls return: every panic is re-raised by exactly one call (some on
/// another thread than the one that started it), the effects a re-raising call would have
/// returned come back from a later call (none lost, none twice), and the core carries on.
#[test]
fn panics_among_concurrent_calls_are_reraised_once_and_lose_no_effect() {
    let _serial = serial();
    let _quiet = support::quiet_panics();
    Watchdog::new("panics among concurrent calls").run(|| {
        const THREADS: u64 = 8;
        const ROUNDS: u64 = 10;
        for own_runtime in [true, false] {
            let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
            let core = Arc::new(if own_runtime {
                Core::<Adv>::new()
            } else {
                Core::with_runtime(rt.handle().clone())
            });
            let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
            let reraised = Arc::new(AtomicUsize::new(0));
            let barrier = Arc::new(std::sync::Barrier::new(THREADS as usize));
            let threads: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (core, seen) = (core.clone(), seen.clone());
                    let (reraised, barrier) = (reraised.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        for r in 0..ROUNDS {
                            let id = 1 + t * ROUNDS + r;
                            let effects = call(&reraised, || core.process_event(Event::Burst(id)));
                            let more = call(&reraised, || core.process_event(Event::PanicAtOnce));
                            answer_all_reraising(&core, effects, &seen, &reraised);
                            answer_all_reraising(&core, more, &seen, &reraised);
                        }
                    })
                })
                .collect();
            for thread in threads {
                thread.join().unwrap();
            }
            // What re-raising calls did not return comes back now, one panic per call.
            loop {
                let before = reraised.load(SeqCst);
                let effects = call(&reraised, || core.process_event(Event::Nop));
                let quiet = reraised.load(SeqCst) == before && effects.is_empty();
                answer_all_reraising(&core, effects, &seen, &reraised);
                if quiet {
                    break;
                }
            }
            let bursts = THREADS * ROUNDS;
            assert_eq!(
                reraised.load(SeqCst) as u64,
                bursts,
                "every panic is re-raised exactly once"
            );
            assert_eq!(
                seen.lock().unwrap().len() as u64,
                4 * bursts,
                "every request returned once"
            );
            assert_eq!(
                core.view().len() as u64,
                3 * bursts + 2 * bursts,
                "every answer reached update"
            );
        }
    });
}

// ---------------------------------------------------------------------------------------
// A runtime dropped before its core, with a long chain of commands.
// ---------------------------------------------------------------------------------------

/// The crate docs ("A runtime dropped before its core"): a command that needs a worker of a
/// dead runtime is dropped, and the next call panics with a message. Here each command holds
/// the sender the next one awaits, so each drop wakes the next, whose step task the dead
/// runtime drops at once, which drops that command: a chain of `LINKS` commands must be
/// dropped without one nested call per link (a stack overflow aborts the process).
#[test]
fn a_long_chain_of_commands_dropped_for_a_dead_runtime_does_not_overflow_the_stack() {
    const LINKS: usize = 20_000;
    let _serial = serial();
    let _quiet = support::quiet_panics();
    Watchdog::new("a chain of commands dropped for a dead runtime").run_reporting(|p| {
        let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
        let core = Core::<Adv>::with_runtime(rt.handle().clone());
        p.at("building the chain");
        let (first_tx, mut rx) = oneshot::channel::<()>();
        for _ in 0..LINKS {
            let (tx, next_rx) = oneshot::channel::<()>();
            let effects = core.process_event(Event::Link {
                rx: slot(rx),
                tx: slot(tx),
            });
            assert!(effects.is_empty());
            rx = next_rx;
        }
        p.at("dropping the runtime");
        drop(rt);
        p.at("waking the first link from outside");
        drop(first_tx);
        p.at("the next call");
        let text = support::panic_text(|| core.process_event(Event::Nop));
        assert!(text.contains("has shut down"), "{text:?}");
        assert!(core.view().is_empty(), "no link ran");
        drop(rx);
        drop(core);
    });
}

// ---------------------------------------------------------------------------------------
// The last reference dropped by whichever shell thread ends last.
// ---------------------------------------------------------------------------------------

/// 4 shell threads share a core: each calls it, answers what it gets, resolves some held
/// requests directly (as a middleware's thread would) and opens gates from outside, then
/// drops its reference; the last one drops the core, while the others may still be
/// resolving their held requests. When every thread is done, every command future and the
/// model have been dropped exactly once, nothing hung, and resolving a held request after the
/// drop is an error or a no-op, never a panic.
#[test]
fn the_core_dropped_by_whichever_shell_thread_ends_last_leaves_nothing() {
    let _serial = serial();
    Watchdog::new("the last reference on a shell thread").run_reporting(|p| {
        const THREADS: usize = 4;
        const HELD: usize = 30;
        let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
        for round in 0..24 {
            p.at_round("a round", round);
            let order = if round % 2 == 0 {
                EventOrder::Completion
            } else {
                EventOrder::Fifo
            };
            let options = Options::new().event_order(order);
            let options = if round % 4 < 2 {
                options
            } else {
                options.runtime(rt.handle().clone())
            };
            let model_drops = Arc::new(AtomicUsize::new(0));
            let model = Model {
                log: Vec::new(),
                dropped: Some(DropCount(model_drops.clone())),
            };
            let core = Arc::new(Core::with_options(Adv, model, options));
            let command_drops = Arc::new(AtomicUsize::new(0));
            let barrier = Arc::new(std::sync::Barrier::new(THREADS));
            let threads: Vec<_> = (0..THREADS)
                .map(|t| {
                    let core = core.clone();
                    let (drops, barrier) = (command_drops.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        // Any call may return another thread's effects: each thread takes
                        // what its own calls return.
                        let asks = |effects: Vec<Effect>| {
                            effects.into_iter().map(|effect| match effect {
                                Effect::Ask(request) => request,
                                other => panic!("only requests here: {other:?}"),
                            })
                        };
                        let mut held = Vec::new();
                        let mut gates = Vec::new();
                        for _ in 0..HELD {
                            held.extend(asks(core.process_event(Event::Held(drops.clone()))));
                            let (gate, rx) = oneshot::channel();
                            held.extend(asks(core.process_event(Event::Gate(slot(rx)))));
                            gates.push(gate);
                        }
                        barrier.wait();
                        // Half the held requests through the core (and what that returns), a
                        // quarter directly, a quarter left for after the drop.
                        let mut i = 0;
                        while i < held.len() {
                            match i % 4 {
                                0 | 1 => {
                                    let more = core.resolve(&mut held[i], 3).expect("resolves");
                                    held.extend(asks(more));
                                }
                                2 => held[i].resolve(5).expect("resolves directly"),
                                _ => {}
                            }
                            i += 1;
                        }
                        for (i, gate) in gates.into_iter().enumerate() {
                            if (i + t) % 2 == 0 {
                                let _ = gate.send(());
                            }
                        }
                        drop(core);
                        // The core may be gone now: held requests resolve to an error or
                        // to nothing.
                        for request in &mut held {
                            let _ = request.resolve(6);
                        }
                    })
                })
                .collect();
            drop(core);
            for thread in threads {
                thread.join().unwrap();
            }
            support::wait_until("the model is dropped", || model_drops.load(SeqCst) == 1);
            assert_eq!(
                command_drops.load(SeqCst),
                THREADS * HELD,
                "{order:?}: every command future is dropped once, when the core drops at the \
                 latest"
            );
            assert_eq!(model_drops.load(SeqCst), 1);
        }
    });
}

/// As above, with a command whose drop (for the dead runtime) wakes the next link and then
/// calls `process_event` on the core: that call must not wait for the link it woke, whose
/// dropped step task waits for its turn on this very thread; it panics with the dead
/// runtime's message like any call on such a core.
#[test]
fn a_call_from_a_command_dropped_for_a_dead_runtime_does_not_wait_for_itself() {
    let _serial = serial();
    let _quiet = support::quiet_panics();
    Watchdog::new("a call from a dropped command's Drop").run_reporting(|p| {
        let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
        let core = Arc::new(Core::<Adv>::with_runtime(rt.handle().clone()));
        let (next_tx, next_rx) = oneshot::channel::<()>();
        assert!(core
            .process_event(Event::Link {
                rx: slot(next_rx),
                tx: slot(oneshot::channel::<()>().0),
            })
            .is_empty());
        let (first_tx, first_rx) = oneshot::channel::<()>();
        let outcome = Arc::new(Mutex::new(None));
        let on_drop = CallOnDrop {
            tx: Some(next_tx),
            core: Arc::downgrade(&core),
            outcome: outcome.clone(),
        };
        assert!(core
            .process_event(Event::LinkCalling {
                rx: slot(first_rx),
                on_drop: slot(on_drop),
            })
            .is_empty());
        p.at("dropping the runtime");
        drop(rt);
        p.at("waking the first link from outside");
        drop(first_tx);
        let outcome = outcome.lock().unwrap().take();
        let outcome = outcome.expect("the dropped command called process_event");
        assert!(outcome.contains("has shut down"), "{outcome:?}");
        p.at("the next call");
        let _ = support::panic_text(|| core.process_event(Event::Nop));
        assert!(core.view().is_empty(), "no link ran");
    });
}

// ---------------------------------------------------------------------------------------
// Fifo: wakes from outside any call, in crux_core's order.
// ---------------------------------------------------------------------------------------

/// Commands woken from a plain thread between calls, in a scrambled order: under
/// `EventOrder::Fifo` they run in the next call, in the order they were woken, as crux_core
/// runs its root's ready queue; their requests, answered newest-first, too.
fn wakes_between_calls(
    core: &dyn Drive,
    make: &dyn Fn(u64, Slot<oneshot::Receiver<()>>) -> Event,
) -> Session {
    const GATES: u64 = 6;
    let mut calls = Vec::new();
    let mut gates = Vec::new();
    for n in 0..GATES {
        let (tx, rx) = oneshot::channel();
        calls.push(
            core.event(make(n, slot(rx)))
                .iter()
                .map(describe)
                .collect::<Vec<_>>(),
        );
        gates.push(Some(tx));
    }
    let order = [3, 1, 5, 0, 4, 2];
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in order {
                gates[i].take().unwrap().send(()).unwrap();
            }
        });
    });
    let mut pending = core.event(Event::Nop);
    calls.push(pending.iter().map(describe).collect());
    while let Some(effect) = pending.pop() {
        let Effect::Ask(mut request) = effect else {
            panic!("only requests")
        };
        let v = request.operation.0 + 10;
        let more = core.ask(&mut request, v).unwrap();
        calls.push(more.iter().map(describe).collect());
        pending.extend(more);
    }
    Session {
        calls,
        view: core.view(),
    }
}

#[test]
fn under_fifo_commands_woken_between_calls_run_in_crux_cores_order() {
    let _serial = serial();
    Watchdog::new("Fifo: wakes between calls").run(|| {
        let make = |n, rx| Event::Numbered(n, rx);
        let expected = wakes_between_calls(&crux_core::Core::<Adv>::new(), &make);
        assert!(expected.view.len() == 12, "{expected:?}");
        let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
        for round in 0..10 {
            let options = Options::new().event_order(EventOrder::Fifo);
            let options = if round % 2 == 0 {
                options
            } else {
                options.runtime(rt.handle().clone())
            };
            let core = Core::with_options(Adv, Model::default(), options);
            assert_eq!(wakes_between_calls(&core, &make), expected, "round {round}");
        }
    });
}
