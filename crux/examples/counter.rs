//! A small crux app on `genrt_crux::Core`: a counter kept on a pretend server, behind an
//! HTTP-like effect that a pool of shell threads resolves.
//!
//! `cargo run --release -p genrt-crux --example counter`
//!
//! The shell is what a crux shell is, with one changed import: `genrt_crux::Core` instead of
//! `crux_core::Core`. Each event's command runs on genrt's workers; the shell's threads
//! resolve requests concurrently, and each `resolve` returns the follow-up effects.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use app::{Counter, Effect, Event};
use genrt_crux::Core; // was: use crux_core::Core;

/// The app, as a crux app is written (the module keeps the `#[effect]` macro's generated
/// items private to this example).
mod app {
    use crux_core::capability::Operation;
    use crux_core::macros::effect;
    use crux_core::render::{render, RenderOperation};
    use crux_core::{App, Command};

    /// An HTTP-like request: `POST /counter/add?by=N`, answered with the new count.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct HttpPost {
        /// The path.
        pub path: String,
    }

    impl Operation for HttpPost {
        type Output = Result<u64, String>;
    }

    /// The effects: an HTTP-like request, and a render.
    #[effect]
    pub enum Effect {
        /// To the server.
        Http(HttpPost),
        /// Show the view.
        Render(RenderOperation),
    }

    /// The app's events.
    pub enum Event {
        /// Add 1, `times` times, as concurrent requests, then refresh the view.
        IncrementMany(u64),
        /// The server's answer.
        Set(Result<u64, String>),
    }

    /// The counter as the app last heard it.
    #[derive(Default)]
    pub struct Model {
        count: u64,
        answers: u64,
    }

    /// The app.
    #[derive(Default)]
    pub struct Counter;

    impl App for Counter {
        type Event = Event;
        type Model = Model;
        type ViewModel = String;
        type Effect = Effect;

        fn update(&self, event: Event, model: &mut Model) -> Command<Effect, Event> {
            match event {
                Event::IncrementMany(times) => Command::all((0..times).map(|_| {
                    let post = HttpPost {
                        path: "/counter/add?by=1".into(),
                    };
                    Command::request_from_shell(post).then_send(Event::Set)
                })),
                Event::Set(Ok(count)) => {
                    // Answers arrive in completion order: keep the highest count seen.
                    model.count = model.count.max(count);
                    model.answers += 1;
                    render()
                }
                Event::Set(Err(e)) => panic!("the server failed: {e}"),
            }
        }

        fn view(&self, model: &Model) -> String {
            format!("count {} after {} answers", model.count, model.answers)
        }
    }
}

/// The shell's thread pool: each thread takes an effect, performs it, resolves it through
/// the core, and queues the effects that come back.
fn shell_pool(core: Arc<Core<Counter>>, threads: usize) -> mpsc::Sender<Effect> {
    let (tx, rx) = mpsc::channel::<Effect>();
    let rx = Arc::new(Mutex::new(rx));
    let server = Arc::new(AtomicU64::new(0));
    for _ in 0..threads {
        let (core, rx, tx, server) = (core.clone(), rx.clone(), tx.clone(), server.clone());
        thread::spawn(move || loop {
            let Ok(effect) = rx.lock().unwrap().recv() else {
                return;
            };
            match effect {
                Effect::Http(mut request) => {
                    thread::sleep(Duration::from_millis(2)); // the network
                    assert!(request.operation.path.ends_with("by=1"));
                    let count = server.fetch_add(1, SeqCst) + 1;
                    for effect in core.resolve(&mut request, Ok(count)).unwrap() {
                        let _ = tx.send(effect);
                    }
                }
                Effect::Render(_) => println!("render: {}", core.view()),
            }
        });
    }
    tx
}

fn main() {
    let core = Arc::new(Core::<Counter>::new());
    let shell = shell_pool(core.clone(), 4);
    for effect in core.process_event(Event::IncrementMany(16)) {
        shell.send(effect).unwrap();
    }
    // A real shell would wait for its UI; here, poll the view until every answer is in.
    for _ in 0..5_000 {
        if core.view().starts_with("count 16 ") {
            println!("done: {}", core.view());
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
    panic!("the counter did not reach 16: {}", core.view());
}
