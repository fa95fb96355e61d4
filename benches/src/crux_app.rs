//! A small crux_core app for the effect round trip: each `Run` event starts a command of
//! one [`Shape`] (a number of `request_from_shell` requests in a row, a `Command::all` of
//! requests, or two requests with computation between them), which counts itself done.
//! [`CruxCore`] lets the same workload drive `crux_core::Core` and `genrt_crux::Core`.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use crux_core::capability::Operation;
use crux_core::macros::effect;
use crux_core::{App, Command, Core, Request, ResolveError};

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

/// What one `Run` command does.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// This many requests, one after the other; then the countdown.
    Sequential(usize),
    /// `Command::all` of this many single-request commands, each counting down once.
    FanOut(usize),
    /// A request, about this much computation, a request; then the countdown.
    CpuHeavy(Duration),
}

/// The app: what each command does, and the shared countdown whose last decrement signals
/// the benchmark that every command has finished.
pub struct RoundTripApp {
    shape: Shape,
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
        RoundTripApp::with_shape(Shape::Sequential(requests), remaining, done)
    }

    /// An app whose commands have `shape`.
    pub fn with_shape(
        shape: Shape,
        remaining: Arc<AtomicUsize>,
        done: mpsc::SyncSender<()>,
    ) -> RoundTripApp {
        RoundTripApp {
            shape,
            remaining,
            done,
        }
    }
}

/// Counts one unit done; the last one signals the benchmark.
fn count_down(remaining: &AtomicUsize, done: &mpsc::SyncSender<()>) {
    if remaining.fetch_sub(1, Relaxed) == 1 {
        done.send(()).unwrap();
    }
}

/// Iterations of [`compute`] that take about one microsecond here, measured once.
fn iterations_per_micro() -> u64 {
    static CALIBRATED: OnceLock<u64> = OnceLock::new();
    *CALIBRATED.get_or_init(|| {
        const PROBE: u64 = 200_000;
        let best = (0..5)
            .map(|_| {
                let start = Instant::now();
                black_box(spin(PROBE));
                start.elapsed()
            })
            .min()
            .expect("five probes");
        (PROBE as f64 / best.as_secs_f64() / 1e6).max(1.0) as u64
    })
}

/// `n` rounds of a xorshift: computation the optimiser cannot remove.
fn spin(n: u64) -> u64 {
    let mut x = black_box(0x9E37_79B9_7F4A_7C15_u64);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// About `time` of computation (a fixed amount of work, calibrated once, not a clock wait).
pub fn compute(time: Duration) {
    black_box(spin(iterations_per_micro() * time.as_micros() as u64));
}

impl App for RoundTripApp {
    type Event = Event;
    type Model = ();
    type ViewModel = ();
    type Effect = Effect;

    fn update(&self, event: Event, _model: &mut ()) -> Command<Effect, Event> {
        match event {
            Event::Run => {
                let (remaining, done) = (self.remaining.clone(), self.done.clone());
                match self.shape {
                    Shape::Sequential(requests) => Command::new(move |ctx| async move {
                        for _ in 0..requests {
                            let answer = ctx.request_from_shell(Ask).await;
                            assert_eq!(answer, 42);
                        }
                        count_down(&remaining, &done);
                    }),
                    Shape::FanOut(requests) => Command::all((0..requests).map(|_| {
                        let (remaining, done) = (remaining.clone(), done.clone());
                        Command::new(move |ctx| async move {
                            assert_eq!(ctx.request_from_shell(Ask).await, 42);
                            count_down(&remaining, &done);
                        })
                    })),
                    Shape::CpuHeavy(time) => Command::new(move |ctx| async move {
                        assert_eq!(ctx.request_from_shell(Ask).await, 42);
                        compute(time);
                        assert_eq!(ctx.request_from_shell(Ask).await, 42);
                        count_down(&remaining, &done);
                    }),
                }
            }
        }
    }

    fn view(&self, _model: &()) {}
}

/// A core over `app`.
pub fn core(app: RoundTripApp) -> Core<RoundTripApp> {
    Core::new_with(app, ())
}

/// A core the benchmark drives: `crux_core::Core` or `genrt_crux::Core`, same methods.
pub trait CruxCore: Send + Sync + 'static {
    /// `process_event`.
    fn event(&self, event: Event) -> Vec<Effect>;
    /// `resolve`.
    fn answer(&self, request: &mut Request<Ask>, value: u64) -> Result<Vec<Effect>, ResolveError>;
}

impl CruxCore for Core<RoundTripApp> {
    fn event(&self, event: Event) -> Vec<Effect> {
        self.process_event(event)
    }
    fn answer(&self, request: &mut Request<Ask>, value: u64) -> Result<Vec<Effect>, ResolveError> {
        self.resolve(request, value)
    }
}

impl CruxCore for genrt_crux::Core<RoundTripApp> {
    fn event(&self, event: Event) -> Vec<Effect> {
        self.process_event(event)
    }
    fn answer(&self, request: &mut Request<Ask>, value: u64) -> Result<Vec<Effect>, ResolveError> {
        self.resolve(request, value)
    }
}

/// The shell side: resolves `effect` with `value` through `Core::resolve`, then every
/// follow-up effect that resolving produced, until none is left.
pub fn resolve_all(core: &impl CruxCore, effect: Effect, value: u64) {
    let mut pending = vec![effect];
    while let Some(effect) = pending.pop() {
        match effect {
            Effect::Ask(mut request) => {
                let more = core
                    .answer(&mut request, value)
                    .expect("an Ask request resolves once");
                pending.extend(more);
            }
        }
    }
}

/// A shell thread for the `crux/*` comparison: it resolves the effects it is sent, and the
/// follow-ups its calls return, first in, first out (follow-ups join the back of its queue,
/// behind effects already sent to it). Dropping it closes its channel and joins it once
/// its queue is empty.
pub struct FifoShell {
    requests: Option<mpsc::Sender<Effect>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FifoShell {
    /// A shell thread resolving through `core` with `value`.
    pub fn start<C: CruxCore>(core: Arc<C>, value: u64) -> FifoShell {
        let (tx, rx) = mpsc::channel::<Effect>();
        let thread = std::thread::Builder::new()
            .name("crux-shell".into())
            .spawn(move || {
                let mut queue = std::collections::VecDeque::new();
                loop {
                    queue.extend(rx.try_iter());
                    let effect = match queue.pop_front() {
                        Some(effect) => effect,
                        None => match rx.recv() {
                            Ok(effect) => effect,
                            Err(_) => return,
                        },
                    };
                    match effect {
                        Effect::Ask(mut request) => queue.extend(
                            core.answer(&mut request, value)
                                .expect("an Ask request resolves once"),
                        ),
                    }
                }
            })
            .expect("shell thread should start");
        FifoShell {
            requests: Some(tx),
            thread: Some(thread),
        }
    }

    /// Sends `effect` to the thread.
    pub fn send(&self, effect: Effect) {
        self.requests
            .as_ref()
            .expect("open until drop")
            .send(effect)
            .expect("the shell thread runs until drop");
    }
}

impl Drop for FifoShell {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
