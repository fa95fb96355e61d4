//! crux_core 0.20's bridge tests (`tests/json_bridge.rs` in the crux_core crate), ported onto
//! `genrt_crux::Core` through crux_core's middleware bridge, and the list of crux_core's other
//! tests that drive no `Core`, or one genrt's cannot stand in for.
//!
//! Ported (`tests/json_bridge.rs`, every test): upstream builds
//! `crux_core::bridge::Bridge::new(Core::default())`, the old bridge, which takes crux_core's
//! own `Core<A>` by type, so a `genrt_crux::Core` cannot go in it. Each test here builds the
//! middleware bridge instead, `genrt_crux::Core::default().bridge::<JsonFfiFormat>(..)`
//! (`Layer::bridge`): the same `update(event, out)` / `resolve(id, output, out)` calls, the same
//! `ResolveRegistry` behind them (ids, "not found" errors) and the same `BridgeError` messages,
//! so the assertions are upstream's, unchanged. Its effect callback is never called here (a
//! core returns every effect from its calls). Other changes: `crux_http` is replaced by
//! `fake_http` (not in Cargo.lock; same serde shape, `HttpResult` an enum as upstream's), and
//! each test body runs under `support::Watchdog`.
//!
//! Skipped, and why:
//! - `tests/effect_router_prototype.rs` (`trigger_takes_a_picture`,
//!   `trigger_with_timer_takes_a_picture_after_countdown`, `pictures_are_saved_to_file_system`):
//!   `crux_core::effects::EffectRouter::new` takes crux_core's own `Core<App>` by type, and
//!   there is no `Layer`-based router to put a `genrt_crux::Core` under (it also needs
//!   `crux_time`, not in this workspace). A shell using `EffectRouter` cannot switch cores
//!   by changing the import.
//! - `tests/effect_test_ext.rs`, `tests/testing.rs`, `src/command/tests/*.rs`: no `Core`
//!   (they test `Command` and `AppTester` directly); out of scope.
//! - `tests/typegen.rs`: type generation (crux_core's `typegen` feature), no `Core`.
//! - `tests/middleware.rs`, `tests/middleware_wasm.rs`: in `crux_core_middleware_ports.rs`.

mod fake_http;

use crux_core::bridge::{EffectId, JsonFfiFormat, Request};
use crux_core::middleware::{Bridge as MiddlewareBridge, Layer as _};
use genrt_crux::Core;
use serde_json::Value;
use support::Watchdog;

use app::{App, EffectFfi};
use fake_http::{HttpResponse, HttpResult};

/// The app of crux_core's `tests/json_bridge.rs`, as is (`crux_http` aside).
///
/// `#[effect(typegen)]` emits a `#[cfg(feature = "typegen")]` impl; genrt-crux has no such
/// feature, so the cfg is unexpected (and always off) here.
#[allow(unexpected_cfgs)]
mod app {
    use crux_core::macros::effect;
    use crux_core::{
        render::{render, RenderOperation},
        Command,
    };
    use serde::{Deserialize, Serialize};

    use crate::fake_http::{Http, HttpRequest};

    #[derive(Default)]
    pub struct App;

    #[derive(Serialize, Deserialize, Debug)]
    pub enum Event {
        Trigger,
        Get,
        /// Like `Get`, but settles without a follow-up effect, so the request's registry slot
        /// is left free rather than immediately taken by the render `Get` would cause.
        GetQuietly,
        Settle,
    }

    #[effect(typegen)]
    pub enum Effect {
        Http(HttpRequest),
        Render(RenderOperation),
    }

    #[derive(Serialize, Deserialize)]
    pub struct ViewModel;

    impl crux_core::App for App {
        type Event = Event;
        type Model = ();
        type ViewModel = ViewModel;
        type Effect = Effect;

        fn update(&self, event: Event, _model: &mut ()) -> Command<Effect, Event> {
            match event {
                Event::Trigger => render(),
                Event::Get => Http::get("http://example.com/").then_send(|_| Event::Trigger),
                Event::GetQuietly => Http::get("http://example.com/").then_send(|_| Event::Settle),
                Event::Settle => Command::done(),
            }
        }

        fn view(&self, _model: &()) -> ViewModel {
            unimplemented!();
        }
    }
}

/// Upstream's `Bridge` (`crux_core::bridge::Bridge<App, JsonFfiFormat>`), as the middleware
/// bridge over genrt's core.
type Bridge = MiddlewareBridge<Core<App>, JsonFfiFormat>;

/// Upstream's `Bridge::new(Core::default())`.
fn new_bridge() -> Bridge {
    Core::<App>::default().bridge::<JsonFfiFormat>(|_| {
        panic!("a core returns its effects from its calls: the bridge's callback is not called")
    })
}

/// Ports crux_core 0.20 `tests/json_bridge.rs::event_effect_loop`.
#[test]
fn event_effect_loop() {
    Watchdog::new("event_effect_loop").run(|| {
        let bridge = new_bridge();
        let event = b"\"Trigger\"";

        let mut effects_bytes = vec![];
        bridge
            .update(event, &mut effects_bytes)
            .expect("event should process");

        let actual_value: Value = serde_json::from_slice(&effects_bytes).unwrap();
        let Value::Array(effect_vals) = actual_value else {
            panic!("Expected an array of requests")
        };
        let Value::Object(request) = &effect_vals[0] else {
            panic!("Expected request to be an object")
        };
        let Value::Number(id) = &request["id"] else {
            panic!("Expected id to be a number, got: {:?}", request["id"])
        };
        assert_eq!(id.as_u64().unwrap(), 0);

        let Value::Object(effect) = &request["effect"] else {
            panic!(
                "Expected effect to be an object, got: {:?}",
                request["effect"]
            )
        };
        let Value::Null = &effect["Render"] else {
            panic!("Expected effect to be a 'Render' variant, got: {effect:?}")
        };
    });
}

/// Ports crux_core 0.20 `tests/json_bridge.rs::unknown_event`.
#[test]
fn unknown_event() {
    Watchdog::new("unknown_event").run(|| {
        let bridge = new_bridge();
        let mut effects_bytes = vec![];

        let Err(error) = bridge.update(b"\"Nopes\"", &mut effects_bytes) else {
            panic!("Expected a DeserializeEvent error");
        };
        assert_eq!(
            error.to_string(),
            "could not deserialize event: unknown variant `Nopes`, expected one of `Trigger`, `Get`, `GetQuietly`, `Settle` at line 1 column 7"
        );
    });
}

/// Ports crux_core 0.20 `tests/json_bridge.rs::bad_bytes_event`.
#[test]
fn bad_bytes_event() {
    Watchdog::new("bad_bytes_event").run(|| {
        let bridge = new_bridge();
        let mut effects_bytes = vec![];

        let Err(error) = bridge.update(b"123", &mut effects_bytes) else {
            panic!("Expected a DeserializeEvent error");
        };
        assert_eq!(
            error.to_string(),
            "could not deserialize event: expected value at line 1 column 1"
        );
    });
}

/// Ports crux_core 0.20 `tests/json_bridge.rs::resolve_fire_and_forget`: a render has no
/// continuation, so its id is not outstanding.
#[test]
fn resolve_fire_and_forget() {
    Watchdog::new("resolve_fire_and_forget").run(|| {
        let bridge = new_bridge();

        let mut effects_bytes = vec![];
        bridge
            .update(b"\"Trigger\"", &mut effects_bytes)
            .expect("event should process");
        let mut effects: Vec<Request<EffectFfi>> =
            serde_json::from_slice(&effects_bytes).expect("to deserialise");
        let render = effects.remove(0);

        // Render does not expect a value!
        let mut effects_bytes = vec![];
        let Err(error) = bridge.resolve(render.id, b"\"Hi\"", &mut effects_bytes) else {
            panic!("expected an error");
        };
        assert_eq!(
            error.to_string(),
            "could not process response: Request with id 0 not found."
        );
    });
}

/// Ports crux_core 0.20 `tests/json_bridge.rs::resolve_bad_value`.
#[test]
fn resolve_bad_value() {
    Watchdog::new("resolve_bad_value").run(|| {
        let bridge = new_bridge();

        let mut effects_bytes = vec![];
        bridge
            .update(b"\"Get\"", &mut effects_bytes)
            .expect("event should process");
        let mut effects: Vec<Request<EffectFfi>> =
            serde_json::from_slice(&effects_bytes).expect("to deserialise");
        let http = effects.remove(0);

        // Resolve HTTP with a bad value.
        let mut effects_bytes = vec![];
        let Err(error) = bridge.resolve(http.id, b"123", &mut effects_bytes) else {
            panic!("expected an error");
        };
        assert_eq!(
            error.to_string(),
            "could not deserialize provided effect output: expected value at line 1 column 1"
        );
    });
}

/// Ports crux_core 0.20 `tests/json_bridge.rs::ids_are_not_reused_after_a_request_resolves`.
#[test]
fn ids_are_not_reused_after_a_request_resolves() {
    Watchdog::new("ids_are_not_reused_after_a_request_resolves").run(|| {
        let bridge = new_bridge();

        let first = request_http(&bridge);
        resolve_http(&bridge, first.id).expect("first resolve should work");

        // The slot backing `first` is now free.
        let second = request_http(&bridge);
        assert_ne!(
            first.id, second.id,
            "a resolved request's id was handed out again"
        );
    });
}

/// Ports crux_core 0.20 `tests/json_bridge.rs::resolving_a_request_twice_is_an_error`.
#[test]
fn resolving_a_request_twice_is_an_error() {
    Watchdog::new("resolving_a_request_twice_is_an_error").run(|| {
        let bridge = new_bridge();

        let first = request_http(&bridge);
        resolve_http(&bridge, first.id).expect("first resolve should work");

        // A second request, which once inherited `first`'s slot.
        let _second = request_http(&bridge);

        let Err(error) = resolve_http(&bridge, first.id) else {
            panic!("expected resolving a completed request to fail");
        };
        assert_eq!(
            error.to_string(),
            format!(
                "could not process response: Request with id {} not found.",
                first.id.0
            )
        );
    });
}

/// `GetQuietly`'s one HTTP request.
fn request_http(bridge: &Bridge) -> Request<EffectFfi> {
    let mut effects_bytes = vec![];
    bridge
        .update(b"\"GetQuietly\"", &mut effects_bytes)
        .expect("event should process");
    let mut effects: Vec<Request<EffectFfi>> =
        serde_json::from_slice(&effects_bytes).expect("to deserialise");
    effects.remove(0)
}

/// Resolves request `id` with a 200 "hello".
fn resolve_http(
    bridge: &Bridge,
    id: EffectId,
) -> Result<(), crux_core::bridge::BridgeError<JsonFfiFormat>> {
    let response = HttpResult::Ok(HttpResponse::ok().body("hello"));
    let response = serde_json::to_vec(&response).expect("to serialise");
    let mut effects_bytes = vec![];
    bridge.resolve(id, &response, &mut effects_bytes)
}
