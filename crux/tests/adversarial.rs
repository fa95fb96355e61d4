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
    /// Does nothing.
    Nop,
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

fn only_ask(mut effects: Vec<Effect>) -> Request<Ask> {
    assert_eq!(effects.len(), 1, "{effects:?}");
    match effects.pop() {
        Some(Effect::Ask(request)) => request,
        other => panic!("expected an Ask, got {other:?}"),
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
