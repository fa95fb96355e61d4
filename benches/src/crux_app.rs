//! A small crux_core app for the effect round trip: each `Run` event starts a command that
//! makes a number of `request_from_shell` requests in a row and then counts itself done.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Arc};

use crux_core::capability::Operation;
use crux_core::macros::effect;
use crux_core::{App, Command, Core};

/// The one operation: ask the shell for a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask;

impl Operation for Ask {
    type Output = u64;
}

/// The app's effects.
#[effect]
pub enum Effect {
    /// A request for a number.
    Ask(Ask),
}

/// The app's events.
#[derive(Debug)]
pub enum Event {
    /// Start one command of `requests` round trips.
    Run,
}

/// The app: how many requests each command makes, and the shared countdown whose last
/// decrement signals the benchmark that every command has finished.
pub struct RoundTripApp {
    requests: usize,
    remaining: Arc<AtomicUsize>,
    done: mpsc::SyncSender<()>,
}

impl RoundTripApp {
    /// An app whose commands make `requests` requests each.
    pub fn new(
        requests: usize,
        remaining: Arc<AtomicUsize>,
        done: mpsc::SyncSender<()>,
    ) -> RoundTripApp {
        RoundTripApp {
            requests,
            remaining,
            done,
        }
    }
}

impl App for RoundTripApp {
    type Event = Event;
    type Model = ();
    type ViewModel = ();
    type Effect = Effect;

    fn update(&self, event: Event, _model: &mut ()) -> Command<Effect, Event> {
        match event {
            Event::Run => {
                let (requests, remaining, done) =
                    (self.requests, self.remaining.clone(), self.done.clone());
                Command::new(move |ctx| async move {
                    for _ in 0..requests {
                        let answer = ctx.request_from_shell(Ask).await;
                        assert_eq!(answer, 42);
                    }
                    if remaining.fetch_sub(1, Relaxed) == 1 {
                        done.send(()).unwrap();
                    }
                })
            }
        }
    }

    fn view(&self, _model: &()) {}
}

/// A core over `app`.
pub fn core(app: RoundTripApp) -> Core<RoundTripApp> {
    Core::new_with(app, ())
}

/// The shell side: resolves `effect` with `value` through `Core::resolve`, then every
/// follow-up effect that resolving produced, until none is left.
pub fn resolve_all(core: &Core<RoundTripApp>, effect: Effect, value: u64) {
    let mut pending = vec![effect];
    while let Some(effect) = pending.pop() {
        match effect {
            Effect::Ask(mut request) => {
                let more = core
                    .resolve(&mut request, value)
                    .expect("an Ask request resolves once");
                pending.extend(more);
            }
        }
    }
}
