//! The test app shared by genrt-crux's tests: requests, streams, `Command::all`,
//! `ctx.spawn`, events sent by commands, a request the shell never resolves, a command that
//! panics, and a command that keeps a drop counter (for the leak tests).

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use futures::channel::oneshot;

use crux_core::capability::Operation;
use crux_core::macros::effect;
use crux_core::render::{render, RenderOperation};
use crux_core::{App, Command};

/// A one-shot request: the shell answers `2 * n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask(pub u64);

impl Operation for Ask {
    type Output = u64;
}

/// A stream request: the shell answers `TICKS` times, `k`, `k + 1`, ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticks(pub u64);

impl Operation for Ticks {
    type Output = u64;
}

/// How many answers the scripted shell gives a `Ticks` stream.
pub const TICKS: u64 = 3;

/// The `Ask` the shell never resolves.
pub const NEVER: u64 = 999;

/// The app's effects.
#[effect]
pub enum Effect {
    /// A one-shot request.
    Ask(Ask),
    /// A stream request.
    Ticks(Ticks),
    /// A notification.
    Render(RenderOperation),
}

/// A short description of an effect, to compare sessions.
pub fn describe(effect: &Effect) -> String {
    match effect {
        Effect::Ask(request) => format!("ask {}", request.operation.0),
        Effect::Ticks(request) => format!("ticks {}", request.operation.0),
        Effect::Render(_) => "render".to_string(),
    }
}

impl std::fmt::Debug for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&describe(self))
    }
}

/// The app's events.
#[derive(Debug)]
pub enum Event {
    /// One request; its answer comes back as `Got`.
    Fetch(u64),
    /// An answer: logged.
    Got(u64),
    /// `Command::all` of `n` requests `Ask(100 + i)`, each answered as `Got`.
    FanOut(u64),
    /// A stream `Ticks(k)`; each item comes back as `Tick`.
    Subscribe(u64),
    /// A stream item: logged.
    Tick(u64),
    /// `ctx.spawn` of two sub-tasks, each one request; the main task joins them and sends
    /// `Got(n)`.
    Spawned(u64),
    /// `Command::event(Got(n))`, then (in the same `all`) a render.
    Chain(u64),
    /// A request the shell never resolves.
    Forever,
    /// A command that panics once its request is answered.
    PanicAfterRequest,
    /// A command that panics in its first step.
    PanicAtOnce,
    /// A request, holding a drop counter in its future (the leak tests).
    Hold(Arc<AtomicUsize>),
    /// Two requests in a row, then `Got(n)`: the concurrency tests.
    Twice(u64),
    /// A command that waits for a value sent from outside any call (a plain thread), then
    /// records the thread it runs on and asks for that value.
    External {
        /// Where the value comes from.
        value: Arc<Mutex<Option<oneshot::Receiver<u64>>>>,
        /// Where the command records the thread that stepped it after the value came.
        ran_on: Arc<Mutex<Option<String>>>,
    },
    /// A command that sends `Record` twice.
    RecordTwice(Arc<Mutex<Vec<String>>>),
    /// A command that records the name of the thread stepping it.
    Record(Arc<Mutex<Vec<String>>>),
    /// A command that sets `started`, then spins until `release` is set, then sends
    /// `Got(0)`.
    SpinUntil {
        /// Set by the command when it starts spinning.
        started: Arc<AtomicBool>,
        /// Set by the test to end the spin.
        release: Arc<AtomicBool>,
    },
}

/// The model: a log of what happened and a sum.
#[derive(Default)]
pub struct Model {
    /// What `update` saw, in order.
    pub log: Vec<String>,
    /// Sum of the `Got` values.
    pub sum: u64,
    /// Number of `Got` events.
    pub got: u64,
}

/// The view: the log, the sum and the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// The model's log.
    pub log: Vec<String>,
    /// The model's sum.
    pub sum: u64,
    /// The model's count.
    pub got: u64,
}

/// The test app.
#[derive(Default)]
pub struct TestApp;

/// Counts a drop: held by the `Hold` command's future.
pub struct CountDrop(pub Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

impl App for TestApp {
    type Event = Event;
    type Model = Model;
    type ViewModel = View;
    type Effect = Effect;

    fn update(&self, event: Event, model: &mut Model) -> Command<Effect, Event> {
        match event {
            Event::Fetch(n) => {
                model.log.push(format!("fetch {n}"));
                Command::request_from_shell(Ask(n)).then_send(Event::Got)
            }
            Event::Got(v) => {
                model.log.push(format!("got {v}"));
                model.sum += v;
                model.got += 1;
                Command::done()
            }
            Event::FanOut(n) => {
                model.log.push(format!("fan out {n}"));
                Command::all(
                    (0..n).map(|i| Command::request_from_shell(Ask(100 + i)).then_send(Event::Got)),
                )
            }
            Event::Subscribe(k) => {
                model.log.push(format!("subscribe {k}"));
                Command::stream_from_shell(Ticks(k)).then_send(Event::Tick)
            }
            Event::Tick(v) => {
                model.log.push(format!("tick {v}"));
                render()
            }
            Event::Spawned(n) => {
                model.log.push(format!("spawned {n}"));
                Command::new(move |ctx| async move {
                    let a = ctx.spawn(move |ctx| async move {
                        let v = ctx.request_from_shell(Ask(n)).await;
                        ctx.send_event(Event::Got(v));
                    });
                    let b = ctx.spawn(move |ctx| async move {
                        let v = ctx.request_from_shell(Ask(n + 1)).await;
                        ctx.send_event(Event::Got(v));
                    });
                    a.await;
                    b.await;
                    ctx.send_event(Event::Got(n));
                })
            }
            Event::Chain(n) => {
                model.log.push(format!("chain {n}"));
                Command::all([Command::event(Event::Got(n)), render()])
            }
            Event::Forever => {
                model.log.push("forever".to_string());
                Command::request_from_shell(Ask(NEVER)).then_send(Event::Got)
            }
            Event::PanicAfterRequest => Command::new(|ctx| async move {
                let v = ctx.request_from_shell(Ask(1)).await;
                panic!(
                    "{}: the command panics after its request ({v})",
                    INTENTIONAL
                );
            }),
            Event::PanicAtOnce => Command::new(|_ctx| async move {
                panic!("{}: the command panics at once", INTENTIONAL);
            }),
            Event::Hold(drops) => Command::new(move |ctx| async move {
                let _counter = CountDrop(drops);
                let v = ctx.request_from_shell(Ask(7)).await;
                ctx.send_event(Event::Got(v));
            }),
            Event::External { value, ran_on } => Command::new(move |ctx| async move {
                let receiver = value
                    .lock()
                    .unwrap()
                    .take()
                    .expect("one External per value");
                let v = receiver.await.expect("the test sends a value");
                *ran_on.lock().unwrap() = std::thread::current().name().map(str::to_string);
                let answer = ctx.request_from_shell(Ask(v)).await;
                ctx.send_event(Event::Got(answer));
            }),
            Event::RecordTwice(names) => Command::new(move |ctx| async move {
                ctx.send_event(Event::Record(names.clone()));
                ctx.send_event(Event::Record(names));
            }),
            Event::Record(names) => Command::new(move |_ctx| async move {
                let name = std::thread::current()
                    .name()
                    .unwrap_or("unnamed")
                    .to_string();
                names.lock().unwrap().push(name);
            }),
            Event::SpinUntil { started, release } => Command::new(move |ctx| async move {
                started.store(true, SeqCst);
                while !release.load(SeqCst) {
                    std::hint::spin_loop();
                }
                ctx.send_event(Event::Got(0));
            }),
            Event::Twice(n) => Command::new(move |ctx| async move {
                let a = ctx.request_from_shell(Ask(n)).await;
                let b = ctx.request_from_shell(Ask(n)).await;
                assert_eq!(a, b);
                ctx.send_event(Event::Got(n));
            }),
        }
    }

    fn view(&self, model: &Model) -> View {
        View {
            log: model.log.clone(),
            sum: model.sum,
            got: model.got,
        }
    }
}

/// The marker in the message of every intentional panic.
pub const INTENTIONAL: &str = "intentional";

/// The two cores' common interface, so one scripted shell drives both.
pub trait Drive: Sync + Send {
    /// `process_event`.
    fn event(&self, event: Event) -> Vec<Effect>;
    /// `resolve` of an `Ask`.
    fn answer(
        &self,
        request: &mut crux_core::Request<Ask>,
        value: u64,
    ) -> Result<Vec<Effect>, crux_core::ResolveError>;
    /// `resolve` of a `Ticks` item.
    fn tick(
        &self,
        request: &mut crux_core::Request<Ticks>,
        value: u64,
    ) -> Result<Vec<Effect>, crux_core::ResolveError>;
    /// `view`.
    fn view(&self) -> View;
    /// `resolve` of a notification (an error).
    fn render(
        &self,
        request: &mut crux_core::Request<RenderOperation>,
    ) -> Result<Vec<Effect>, crux_core::ResolveError>;
    /// Whether a bad `resolve` panics in debug builds (crux_core's `debug_assert!`).
    fn bad_resolve_panics(&self) -> bool;
}

macro_rules! drive {
    ($core:ty, $panics:expr) => {
        impl Drive for $core {
            fn event(&self, event: Event) -> Vec<Effect> {
                self.process_event(event)
            }
            fn answer(
                &self,
                request: &mut crux_core::Request<Ask>,
                value: u64,
            ) -> Result<Vec<Effect>, crux_core::ResolveError> {
                self.resolve(request, value)
            }
            fn tick(
                &self,
                request: &mut crux_core::Request<Ticks>,
                value: u64,
            ) -> Result<Vec<Effect>, crux_core::ResolveError> {
                self.resolve(request, value)
            }
            fn view(&self) -> View {
                self.view()
            }
            fn render(
                &self,
                request: &mut crux_core::Request<RenderOperation>,
            ) -> Result<Vec<Effect>, crux_core::ResolveError> {
                self.resolve(request, ())
            }
            fn bad_resolve_panics(&self) -> bool {
                $panics
            }
        }
    };
}

drive!(crux_core::Core<TestApp>, cfg!(debug_assertions));
drive!(genrt_crux::Core<TestApp>, false);
