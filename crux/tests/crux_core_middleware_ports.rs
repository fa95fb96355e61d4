//! crux_core 0.20's middleware tests (`tests/middleware.rs`, `tests/middleware_wasm.rs` in the
//! crux_core crate), ported onto `genrt_crux::Core`: the same apps, the same effect
//! middlewares and their threads (`handle_effects_using`), `map_effect`, and the middleware
//! `bridge` (bincode and JSON), over genrt's core instead of crux_core's.
//!
//! What changed, and only that:
//! - `crux_core::Core` is `genrt_crux::Core` (so, as crux_core's `Core`, it is the innermost
//!   `Layer`; the middleware threads resolve through it from plain threads);
//! - `crux_http` is not in this workspace (offline, not in Cargo.lock): its protocol types and
//!   `Http::post(..).body_json(..)` are replaced by `fake_http` (same serde shape; the app's
//!   `Event::Http` carries the raw `HttpResult`, not `crux_http`'s decoded `Response<()>`);
//! - every test body runs under `support::Watchdog`, and every wait on an effects channel is
//!   bounded (`recv_timeout(support::DEADLINE)`): a hang fails, it never blocks the suite;
//! - the two bridge tests return `Result<(), Box<dyn Error>>` instead of `anyhow::Result`
//!   (anyhow is not a dependency here);
//! - the `println!`/`eprintln!` tracing of the originals is left out.
//!
//! The two bridge tests are `#[ignore]`d upstream ("occasionally fails probably due to effect
//! ordering"): they stay ignored here with the same reason. The race is in the test: the RNG
//! thread's last resolve (the answer to the late one-die stream, which the app ignores) runs
//! while the shell resolves the HTTP request, and either call may return the render
//! (crux_core's `resolve` resolves outside its lock, then `process` runs whatever is woken;
//! genrt-crux's crate docs, "Ordering": a call may return effects another call's work
//! emitted). Run with `--ignored`,
//! they fail in about half the runs on genrt's core, against none in 60 runs on crux_core's
//! in the same harness (on a 2-core machine). Traced, genrt's last RNG resolve takes longer
//! (apparently: the two-dice stream, closed when the RNG thread drops its resolver, steps on
//! a worker, and that resolve's settle waits for it), so the window is wider; yet two
//! resolves started together hand each other's render more often on crux_core's core than
//! on genrt's. `json_bridge_render_reaches_the_shell_exactly_once` (not a port) checks what
//! must hold either way: the render reaches the shell exactly once.
//!
//! Nothing of these two files is skipped.

mod fake_http;

use std::error::Error;
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use crux_core::bridge::{JsonFfiFormat, Request};
use crux_core::middleware::{BincodeFfiFormat, EffectMiddleware, EffectResolver, Layer as _};
use crux_core::render::RenderOperation;
use genrt_crux::Core;
use support::{Watchdog, DEADLINE};

use app::{Dice, Effect, Event};
use fake_http::{HttpResponse, HttpResult};
use middleware::{FakeHttpMiddleware, RemoteTriggerHttp, RngMiddleware};

/// The dice app of crux_core's `tests/middleware.rs`, as is (`crux_http` aside).
mod app {
    use crux_core::{capability::Operation, macros::effect, render::render, App, Command};
    use serde::{Deserialize, Serialize};

    use crate::fake_http::{Http, HttpRequest, HttpResult};

    /// Asks for one random number from 1 to N per entry.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RandomNumberRequest(pub Vec<usize>);

    #[derive(Debug, PartialEq, Eq, Deserialize)]
    pub struct RandomNumber(pub usize);

    impl Operation for RandomNumberRequest {
        type Output = RandomNumber;
    }

    #[effect]
    #[derive(Debug)]
    pub enum Effect {
        Random(RandomNumberRequest),
        Http(HttpRequest),
        Render(crux_core::render::RenderOperation),
    }

    #[derive(Serialize, Deserialize, PartialEq, Eq, Debug)]
    pub enum Event {
        /// Roll N dice with F_i faces.
        Roll(Vec<usize>),
        #[serde(skip)]
        Random(RandomNumber),
        #[serde(skip)]
        Http(HttpResult),
    }

    #[derive(Default, Debug)]
    pub struct Model {
        roll: Roll,
    }

    #[derive(Default, Debug)]
    pub enum Roll {
        #[default]
        NotStarted,
        /// (dice, value?)
        InProgress(Vec<(usize, Option<usize>)>),
        Complete(Vec<usize>),
    }

    #[derive(Default)]
    pub struct Dice;

    impl App for Dice {
        type Event = Event;
        type Model = Model;
        type ViewModel = ();
        type Effect = Effect;

        fn update(&self, event: Event, model: &mut Model) -> Command<Effect, Event> {
            match event {
                Event::Roll(dice) => {
                    let Some(&first_dice) = dice.first() else {
                        return Command::done();
                    };
                    model.roll = Roll::InProgress(dice.into_iter().map(|d| (d, None)).collect());
                    Command::request_from_shell(RandomNumberRequest(vec![first_dice]))
                        .then_send(Event::Random)
                }
                Event::Random(new_number) => {
                    match &mut model.roll {
                        Roll::InProgress(results) => {
                            // Fill the first die without a value.
                            let mut incomplete =
                                results.iter_mut().skip_while(|(_, v)| v.is_some());
                            if let Some((_, value)) = incomplete.next() {
                                *value = Some(new_number.0);
                            }
                            // As upstream: the next step asks for two dice at once, so the
                            // second answer of that stream may arrive after the roll is
                            // complete; the early return below absorbs it.
                            if incomplete.next().is_none() {
                                let values = results.iter().map(|(_, v)| v.unwrap()).collect();
                                model.roll = Roll::Complete(values);
                            }
                        }
                        Roll::Complete(_) | Roll::NotStarted => return Command::done(),
                    }
                    match &model.roll {
                        Roll::NotStarted => Command::done(),
                        Roll::InProgress(items) => {
                            let next_die_sizes = items
                                .iter()
                                .filter(|(_, value)| value.is_none())
                                .map(|&(size, _)| size)
                                .take(2)
                                .collect();
                            Command::stream_from_shell(RandomNumberRequest(next_die_sizes))
                                .then_send(Event::Random)
                        }
                        Roll::Complete(items) => {
                            Http::post_json("http://dice-api.example.com/publish", items)
                                .then_send(Event::Http)
                        }
                    }
                }
                Event::Http(_http_result) => {
                    model.roll = Roll::NotStarted;
                    render()
                }
            }
        }

        fn view(&self, _model: &Model) {
            todo!()
        }
    }
}

/// The middlewares of crux_core's `tests/middleware.rs`, as is.
mod middleware {
    use std::thread::spawn;

    use crossbeam_channel::{Receiver, Sender};
    use crux_core::middleware::{EffectMiddleware, EffectResolver};

    use crate::app::{RandomNumber, RandomNumberRequest};
    use crate::fake_http::{HttpRequest, HttpResponse, HttpResult};

    type RngJob = (RandomNumberRequest, EffectResolver<RandomNumber>);

    /// Answers each die with its highest face, on one persistent background thread; a
    /// request for n dice is answered n times (a subscription).
    pub struct RngMiddleware {
        jobs_tx: Sender<RngJob>,
    }

    impl RngMiddleware {
        pub fn new() -> Self {
            let (jobs_tx, jobs_rx) = crossbeam_channel::unbounded::<RngJob>();
            spawn(move || {
                while let Ok((input, mut resolver)) = jobs_rx.recv() {
                    for n in &input.0 {
                        resolver.resolve(RandomNumber(*n));
                    }
                }
            });
            Self { jobs_tx }
        }
    }

    impl EffectMiddleware for RngMiddleware {
        type Op = RandomNumberRequest;

        fn try_process_effect(
            &self,
            operation: RandomNumberRequest,
            resolver: EffectResolver<RandomNumber>,
        ) {
            self.jobs_tx
                .send((operation, resolver))
                .expect("Job failed to send to worker thread");
        }
    }

    /// Answers every HTTP request with a 201, on a one-off thread each.
    pub struct FakeHttpMiddleware;

    impl EffectMiddleware for FakeHttpMiddleware {
        type Op = HttpRequest;

        fn try_process_effect(
            &self,
            _operation: HttpRequest,
            mut resolver: EffectResolver<HttpResult>,
        ) {
            spawn(move || resolver.resolve(HttpResult::Ok(HttpResponse::status(201))));
        }
    }

    /// Answers every HTTP request with a 201 once the test says so (a one-off thread each,
    /// waiting on `remote`); never, if the trigger's sender hangs up.
    pub struct RemoteTriggerHttp {
        remote: Receiver<()>,
    }

    impl RemoteTriggerHttp {
        pub const fn new(remote: Receiver<()>) -> Self {
            Self { remote }
        }
    }

    impl EffectMiddleware for RemoteTriggerHttp {
        type Op = HttpRequest;

        fn try_process_effect(
            &self,
            _operation: HttpRequest,
            mut resolver: EffectResolver<HttpResult>,
        ) {
            let remote = self.remote.clone();
            spawn(move || {
                if remote.recv() == Ok(()) {
                    resolver.resolve(HttpResult::Ok(HttpResponse::status(201)));
                }
            });
        }
    }
}

/// The next batch of effects the layers hand to the shell's callback, within
/// [`DEADLINE`] (upstream: `let Ok(effects) = effects_rx.recv() else { panic!() }`).
#[track_caller]
fn next_batch<T>(effects_rx: &Receiver<T>, what: &str) -> T {
    match effects_rx.recv_timeout(DEADLINE) {
        Ok(batch) => batch,
        Err(RecvTimeoutError::Timeout) => {
            panic!("no effects within {DEADLINE:?} (waiting for {what})")
        }
        Err(RecvTimeoutError::Disconnected) => {
            panic!("every sender of the effect callback hung up (waiting for {what})")
        }
    }
}

/// Ports crux_core 0.20 `tests/middleware.rs::roll_one_dice`.
#[test]
fn roll_one_dice() {
    Watchdog::new("roll_one_dice").run(|| {
        let (effects_tx, effects_rx) = crossbeam_channel::unbounded();
        let effect_callback = move |effects: Vec<Effect>| effects_tx.send(effects).unwrap();

        let core = Core::<Dice>::new().handle_effects_using(RngMiddleware::new());

        let effects = core.update(Event::Roll(vec![6]), effect_callback);
        assert!(effects.is_empty());

        let mut effects = next_batch(&effects_rx, "the HTTP request");
        let http_request = effects.remove(0).into_http().unwrap().operation;

        assert_eq!(http_request.url, "http://dice-api.example.com/publish");
        assert_eq!(String::from_utf8(http_request.body).unwrap(), "[6]");
    });
}

/// Ports crux_core 0.20 `tests/middleware.rs::roll_three_dice`.
#[test]
fn roll_three_dice() {
    Watchdog::new("roll_three_dice").run(|| {
        let (effects_tx, effects_rx) = crossbeam_channel::unbounded();
        let effect_callback = move |effects: Vec<Effect>| effects_tx.send(effects).unwrap();

        let core = Core::<Dice>::new().handle_effects_using(RngMiddleware::new());

        let effects = core.update(Event::Roll(vec![6, 10, 20]), effect_callback);
        assert!(effects.is_empty());

        let mut effects = next_batch(&effects_rx, "the HTTP request");
        let http_request = effects.remove(0).into_http().unwrap().operation;

        assert_eq!(http_request.url, "http://dice-api.example.com/publish");
        assert_eq!(String::from_utf8(http_request.body).unwrap(), "[6,10,20]");
    });
}

/// Ports crux_core 0.20 `tests/middleware.rs::roll_three_dice_with_http`.
#[test]
fn roll_three_dice_with_http() {
    Watchdog::new("roll_three_dice_with_http").run(|| {
        let (effects_tx, effects_rx) = crossbeam_channel::unbounded();
        let effect_callback = move |effects: Vec<Effect>| effects_tx.send(effects).unwrap();

        let inner_core: Core<Dice> = Core::new();
        let core = inner_core
            .handle_effects_using(RngMiddleware::new())
            .handle_effects_using(FakeHttpMiddleware);

        let effects = core.update(Event::Roll(vec![6, 10, 20]), effect_callback);
        assert!(effects.is_empty());

        let mut effects = next_batch(&effects_rx, "the render");
        let render_operation = effects.remove(0).into_render().unwrap().operation;

        assert_eq!(RenderOperation, render_operation);
    });
}

/// Ports crux_core 0.20 `tests/middleware.rs::roll_with_remote_trigger_http`.
#[test]
fn roll_with_remote_trigger_http() {
    Watchdog::new("roll_with_remote_trigger_http").run(|| {
        let (effects_tx, effects_rx) = crossbeam_channel::unbounded();
        let (remote_tx, remote_rx) = crossbeam_channel::unbounded();
        let effect_callback = move |effects: Vec<Effect>| effects_tx.send(effects).unwrap();

        let core = Core::<Dice>::new()
            .handle_effects_using(RemoteTriggerHttp::new(remote_rx))
            .handle_effects_using(RngMiddleware::new());

        let effects = core.update(Event::Roll(vec![6]), effect_callback);
        assert!(effects.is_empty());

        // Unblock HTTP.
        let _ = remote_tx.send(());

        let mut effects = next_batch(&effects_rx, "the render");
        let render_operation = effects.remove(0).into_render().unwrap().operation;

        assert_eq!(RenderOperation, render_operation);
    });
}

/// Ports crux_core 0.20 `tests/middleware.rs::roll_with_late_remote_trigger_http`: the core
/// (and its layers) dropped while the HTTP thread waits; its trigger then resolves nothing,
/// and every copy of the effect callback is dropped (the channel disconnects).
#[test]
fn roll_with_late_remote_trigger_http() {
    Watchdog::new("roll_with_late_remote_trigger_http").run(|| {
        let (effects_tx, effects_rx) = crossbeam_channel::unbounded();
        let (remote_tx, remote_rx) = crossbeam_channel::unbounded();
        let effect_callback = move |effects: Vec<Effect>| effects_tx.send(effects).unwrap();

        let core = Core::<Dice>::new()
            .handle_effects_using(RemoteTriggerHttp::new(remote_rx))
            .handle_effects_using(RngMiddleware::new());

        let effects = core.update(Event::Roll(vec![6]), effect_callback);
        assert!(effects.is_empty());

        // Give the worker threads a chance to proceed (as upstream; not a bound).
        sleep(Duration::from_millis(1));
        drop(core);

        // Unblock HTTP.
        let _ = remote_tx.send(());

        match effects_rx.recv_timeout(DEADLINE) {
            Err(RecvTimeoutError::Disconnected) => {}
            Ok(effects) => panic!("Should not work! got {effects:?}"),
            Err(RecvTimeoutError::Timeout) => {
                panic!("the effect callback was still alive {DEADLINE:?} after the core's drop")
            }
        }
    });
}

/// The narrowed effect of upstream's `roll_three_dice_with_http_and_effect_narrowing`.
mod narrow {
    use crux_core::{macros::effect, render::RenderOperation};

    use crate::app::Effect;

    #[effect]
    pub enum NarrowEffect {
        Render(RenderOperation),
    }

    #[allow(clippy::fallible_impl_from)]
    impl From<Effect> for NarrowEffect {
        fn from(effect: Effect) -> Self {
            match effect {
                Effect::Render(render_operation) => Self::Render(render_operation),
                Effect::Random(_) => panic!("Attempted to convert Effect::Random to NarrowEffect"),
                Effect::Http(_) => panic!("Attempted to convert Effect::Http to NarrowEffect"),
            }
        }
    }
}

use narrow::NarrowEffect;

/// Ports crux_core 0.20 `tests/middleware.rs::roll_three_dice_with_http_and_effect_narrowing`.
#[test]
fn roll_three_dice_with_http_and_effect_narrowing() {
    Watchdog::new("roll_three_dice_with_http_and_effect_narrowing").run(|| {
        let (effects_tx, effects_rx) = crossbeam_channel::unbounded();
        let effect_callback = move |effects: Vec<NarrowEffect>| effects_tx.send(effects).unwrap();

        let inner_core: Core<Dice> = Core::new();
        let core = inner_core
            .handle_effects_using(RngMiddleware::new())
            .handle_effects_using(FakeHttpMiddleware)
            .map_effect::<NarrowEffect>();

        let effects = core.update(Event::Roll(vec![6, 10, 20]), effect_callback);
        assert!(effects.is_empty());

        let mut effects = next_batch(&effects_rx, "the render");
        let NarrowEffect::Render(request) = effects.remove(0);

        assert_eq!(RenderOperation, request.operation);
    });
}

/// `#[effect(typegen)]` emits a `#[cfg(feature = "typegen")]` impl; genrt-crux has no such
/// feature, so the cfg is unexpected (and always off) here.
#[allow(unexpected_cfgs)]
mod bridge_effect {
    use crux_core::{macros::effect, render::RenderOperation};

    use crate::app::Effect;
    use crate::fake_http::HttpRequest;

    #[effect(typegen)]
    pub enum BridgeEffect {
        Http(HttpRequest),
        Render(RenderOperation),
    }

    #[allow(clippy::fallible_impl_from)]
    impl From<Effect> for BridgeEffect {
        fn from(effect: Effect) -> Self {
            match effect {
                Effect::Render(render_operation) => Self::Render(render_operation),
                Effect::Http(http_request) => Self::Http(http_request),
                Effect::Random(_) => panic!("Attempted to convert Effect::Random to NarrowEffect"),
            }
        }
    }
}

use bridge_effect::{BridgeEffect, BridgeEffectFfi};

/// What the bridge tests return (upstream: `anyhow::Result<()>`).
type TestResult = Result<(), Box<dyn Error + Send + Sync>>;

/// Ports crux_core 0.20
/// `tests/middleware.rs::roll_three_dice_with_type_narrowing_and_bridge` (ignored upstream).
#[test]
#[ignore = "as upstream: occasionally fails, probably due to effect ordering (the RNG thread's last resolve races the shell's resolve)"]
fn roll_three_dice_with_type_narrowing_and_bridge() -> TestResult {
    Watchdog::new("roll_three_dice_with_type_narrowing_and_bridge").run(|| -> TestResult {
        let (effects_tx, effects_rx) = crossbeam_channel::unbounded();
        let effect_callback = move |effects| effects_tx.send(effects).unwrap();

        let inner_core: Core<Dice> = Core::new();
        let core = inner_core
            .handle_effects_using(RngMiddleware::new())
            .map_effect::<BridgeEffect>()
            .bridge::<BincodeFfiFormat>(effect_callback);

        let event: Vec<u8> = bincode::serialize(&Event::Roll(vec![6, 10, 20]))?;

        let mut effects_bytes = Vec::new();
        core.update(&event, &mut effects_bytes)?;
        let effects: Vec<Request<BridgeEffectFfi>> = bincode::deserialize(&effects_bytes)?;
        assert!(effects.is_empty());

        let effects_bytes = next_batch(&effects_rx, "the HTTP request")?;
        let mut effects: Vec<Request<BridgeEffectFfi>> = bincode::deserialize(&effects_bytes)?;
        let Request {
            effect: BridgeEffectFfi::Http(_),
            id: effect_id,
        } = effects.remove(0)
        else {
            panic!("Expected a HTTP request")
        };

        let response = HttpResult::Ok(HttpResponse::status(201));
        let response_bytes = bincode::serialize(&response)?;

        let mut effects_bytes = Vec::new();
        core.resolve(effect_id, &response_bytes, &mut effects_bytes)?;
        let mut effects: Vec<Request<BridgeEffectFfi>> = bincode::deserialize(&effects_bytes)?;
        let Request {
            effect: BridgeEffectFfi::Render(render_operation),
            ..
        } = effects.remove(0)
        else {
            panic!("Expected a render")
        };
        assert_eq!(RenderOperation, render_operation);
        Ok(())
    })
}

/// Ports crux_core 0.20
/// `tests/middleware.rs::roll_three_dice_with_type_narrowing_and_json_bridge` (ignored
/// upstream).
#[test]
#[ignore = "as upstream: occasionally fails, probably due to effect ordering (the RNG thread's last resolve races the shell's resolve)"]
fn roll_three_dice_with_type_narrowing_and_json_bridge() -> TestResult {
    Watchdog::new("roll_three_dice_with_type_narrowing_and_json_bridge").run(|| -> TestResult {
        let (effects_tx, effects_rx) = crossbeam_channel::unbounded();
        let effect_callback = move |effects| effects_tx.send(effects).unwrap();

        let inner_core: Core<Dice> = Core::new();
        let core = inner_core
            .handle_effects_using(RngMiddleware::new())
            .map_effect::<BridgeEffect>()
            .bridge::<JsonFfiFormat>(effect_callback);

        let event = serde_json::to_vec(&Event::Roll(vec![6, 10, 20]))?;

        let mut effects_bytes = Vec::new();
        core.update(&event, &mut effects_bytes)?;
        assert_eq!(std::str::from_utf8(&effects_bytes)?, "[]");

        let effects_bytes = next_batch(&effects_rx, "the HTTP request")?;
        assert_eq!(
            std::str::from_utf8(&effects_bytes)?,
            r#"[{"id":0,"effect":{"Http":{"method":"POST","url":"http://dice-api.example.com/publish","headers":[{"name":"content-type","value":"application/json"}],"body":[91,54,44,49,48,44,50,48,93]}}}]"#
        );
        let mut effects: Vec<Request<BridgeEffectFfi>> = serde_json::from_slice(&effects_bytes)?;
        let Request {
            effect: BridgeEffectFfi::Http(_),
            id: effect_id,
        } = effects.remove(0)
        else {
            panic!("Expected a HTTP request")
        };

        let response = HttpResult::Ok(HttpResponse::status(201));
        let response_bytes = serde_json::to_vec(&response)?;

        let mut effects_bytes = Vec::new();
        core.resolve(effect_id, &response_bytes, &mut effects_bytes)?;

        let effects: Vec<Request<BridgeEffectFfi>> = serde_json::from_slice(&effects_bytes)?;
        assert_eq!(effects.len(), 1);
        assert!(matches!(
            effects[0],
            Request {
                effect: BridgeEffectFfi::Render(RenderOperation),
                ..
            }
        ));
        Ok(())
    })
}

/// Not a port: the last step of upstream's (racy, ignored)
/// `roll_three_dice_with_type_narrowing_and_json_bridge`, made race-free. The render that
/// answers the shell's HTTP resolve may be returned by that resolve or, when the RNG
/// thread's last resolve runs at the same time, by that call and so through the bridge's
/// callback (genrt-crux's crate docs: under concurrent calls, a call may return effects
/// another call's work emitted; each effect is returned by exactly one call). Either way the
/// shell sees it exactly once.
#[test]
fn json_bridge_render_reaches_the_shell_exactly_once() {
    Watchdog::new("json_bridge_render_reaches_the_shell_exactly_once").run(|| -> TestResult {
        let renders = |bytes: &[u8]| -> Result<usize, Box<dyn Error + Send + Sync>> {
            let effects: Vec<Request<BridgeEffectFfi>> = serde_json::from_slice(bytes)?;
            Ok(effects
                .iter()
                .filter(|request| matches!(request.effect, BridgeEffectFfi::Render(_)))
                .count())
        };
        let (effects_tx, effects_rx) = crossbeam_channel::unbounded();
        let effect_callback = move |effects| effects_tx.send(effects).unwrap();

        let inner_core: Core<Dice> = Core::new();
        let core = inner_core
            .handle_effects_using(RngMiddleware::new())
            .map_effect::<BridgeEffect>()
            .bridge::<JsonFfiFormat>(effect_callback);

        let mut effects_bytes = Vec::new();
        core.update(&serde_json::to_vec(&Event::Roll(vec![6, 10, 20]))?, &mut effects_bytes)?;
        assert_eq!(std::str::from_utf8(&effects_bytes)?, "[]");

        let effects_bytes = next_batch(&effects_rx, "the HTTP request")?;
        let mut effects: Vec<Request<BridgeEffectFfi>> = serde_json::from_slice(&effects_bytes)?;
        let Request {
            effect: BridgeEffectFfi::Http(_),
            id: effect_id,
        } = effects.remove(0)
        else {
            panic!("Expected a HTTP request")
        };

        let response_bytes = serde_json::to_vec(&HttpResult::Ok(HttpResponse::status(201)))?;
        let mut effects_bytes = Vec::new();
        core.resolve(effect_id, &response_bytes, &mut effects_bytes)?;
        let returned = renders(&effects_bytes)?;

        // Every copy of the callback goes with the core and the middleware's resolvers.
        drop(core);
        let mut through_callback = 0;
        loop {
            match effects_rx.recv_timeout(DEADLINE) {
                Ok(batch) => through_callback += renders(&batch?)?,
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("the effect callback was still alive {DEADLINE:?} after the core's drop")
                }
            }
        }
        assert_eq!(
            (returned + through_callback, through_callback <= 1),
            (1, true),
            "renders returned by the resolve: {returned}, through the callback: {through_callback}"
        );
        Ok(())
    })
    .unwrap();
}

/// The ping apps of crux_core's `tests/middleware.rs::synchronous_middleware_panics`
/// (`LoopPingApp`) and of `tests/middleware_wasm.rs` (`PingApp`), sharing one effect and one
/// event type (the former has no `Pong`, which it never sees).
mod ping {
    use crux_core::{capability::Operation, macros::effect, render::RenderOperation, Command};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct PingOperation;

    #[derive(Debug, PartialEq, Eq, Deserialize)]
    pub struct PingOutput;

    impl Operation for PingOperation {
        type Output = PingOutput;
    }

    #[effect]
    #[derive(Debug)]
    pub enum PingEffect {
        Ping(PingOperation),
        Render(RenderOperation),
    }

    #[derive(Serialize, Deserialize, PartialEq, Eq, Debug)]
    pub enum PingEvent {
        Go,
        #[serde(skip)]
        Pong(PingOutput),
    }

    #[derive(Default)]
    pub struct PingApp;

    impl crux_core::App for PingApp {
        type Event = PingEvent;
        type Model = ();
        type ViewModel = ();
        type Effect = PingEffect;

        fn update(&self, event: PingEvent, _model: &mut ()) -> Command<PingEffect, PingEvent> {
            match event {
                PingEvent::Go => {
                    Command::request_from_shell(PingOperation).then_send(PingEvent::Pong)
                }
                PingEvent::Pong(_) => crux_core::render::render(),
            }
        }

        fn view(&self, _model: &()) {}
    }

    /// `tests/middleware.rs::synchronous_middleware_panics`'s app: each ping answered by
    /// another `Go`.
    #[derive(Default)]
    pub struct LoopPingApp;

    impl crux_core::App for LoopPingApp {
        type Event = PingEvent;
        type Model = ();
        type ViewModel = ();
        type Effect = PingEffect;

        fn update(&self, event: PingEvent, _model: &mut ()) -> Command<PingEffect, PingEvent> {
            match event {
                PingEvent::Go => {
                    Command::request_from_shell(PingOperation).then_send(|_| PingEvent::Go)
                }
                PingEvent::Pong(_) => unreachable!("upstream's app has no Pong"),
            }
        }

        fn view(&self, _model: &()) {}
    }
}

use ping::{LoopPingApp, PingApp, PingEffect, PingEvent, PingOperation, PingOutput};

/// Resolves in `try_process_effect` itself, which `EffectResolver` refuses (crux #492).
struct SyncPingMiddleware;

impl EffectMiddleware for SyncPingMiddleware {
    type Op = PingOperation;

    fn try_process_effect(
        &self,
        _operation: PingOperation,
        mut resolver: EffectResolver<PingOutput>,
    ) {
        resolver.resolve(PingOutput);
    }
}

/// Ports crux_core 0.20 `tests/middleware.rs::synchronous_middleware_panics` (crux #492).
#[test]
#[should_panic(expected = "must not call resolve() synchronously")]
fn synchronous_middleware_panics() {
    Watchdog::new("synchronous_middleware_panics").run(|| {
        let (effects_tx, _effects_rx) = crossbeam_channel::unbounded();
        let effect_callback = move |effects: Vec<PingEffect>| effects_tx.send(effects).unwrap();

        let core = Core::<LoopPingApp>::new().handle_effects_using(SyncPingMiddleware);

        // Panics inside try_process_effect -> resolve().
        let _ = core.update(PingEvent::Go, effect_callback);
    });
}

/// Keeps the resolver for a later resolve on the same thread (WASM's `spawn_local`).
struct DeferredPingMiddleware {
    stash: Arc<Mutex<Option<EffectResolver<PingOutput>>>>,
}

impl EffectMiddleware for DeferredPingMiddleware {
    type Op = PingOperation;

    fn try_process_effect(&self, _operation: PingOperation, resolver: EffectResolver<PingOutput>) {
        *self.stash.lock().unwrap() = Some(resolver);
    }
}

/// Ports crux_core 0.20 `tests/middleware_wasm.rs::deferred_same_thread_resolve_does_not_panic`,
/// and checks what upstream leaves implicit: the resolve reaches the app (its render comes
/// back through the callback).
#[test]
fn deferred_same_thread_resolve_does_not_panic() {
    Watchdog::new("deferred_same_thread_resolve_does_not_panic").run(|| {
        let stash = Arc::new(Mutex::new(None));
        let middleware = DeferredPingMiddleware {
            stash: stash.clone(),
        };
        let (effects_tx, effects_rx) = crossbeam_channel::unbounded();
        let effect_callback = move |effects: Vec<PingEffect>| effects_tx.send(effects).unwrap();

        let core = Core::<PingApp>::new().handle_effects_using(middleware);

        let effects = core.update(PingEvent::Go, effect_callback);
        assert!(effects.is_empty());

        // The same thread, after try_process_effect returned: must not panic.
        let mut resolver = stash.lock().unwrap().take().expect("resolver was stashed");
        resolver.resolve(PingOutput);

        let effects = next_batch(&effects_rx, "the render after the pong");
        assert!(matches!(effects[..], [PingEffect::Render(_)]));
    });
}

/// Ports crux_core 0.20 `tests/middleware_wasm.rs::synchronous_same_thread_resolve_panics`.
#[test]
#[should_panic(expected = "must not call resolve() synchronously")]
fn synchronous_same_thread_resolve_panics() {
    Watchdog::new("synchronous_same_thread_resolve_panics").run(|| {
        let (effects_tx, _effects_rx) = crossbeam_channel::unbounded();
        let effect_callback = move |effects: Vec<PingEffect>| effects_tx.send(effects).unwrap();

        let core = Core::<PingApp>::new().handle_effects_using(SyncPingMiddleware);
        let _ = core.update(PingEvent::Go, effect_callback);
    });
}
