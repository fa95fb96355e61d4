//! A small but real effect-processing app on genrt, in the style of a Crux core.
//!
//! The core holds a model and turns events into effects. For each event it spawns the update
//! as a genrt task, lets the runtime settle, and hands every effect the tasks emitted to the
//! shell. Each effect carries its resolver. The shell runs on threads of its own (two by
//! default), and:
//!
//! - resolves `Http` requests once (`genrt::shell::request`);
//! - streams a few values to each `Subscribe` request, then ends it (`genrt::shell::stream`);
//! - keeps every `Timer` resolver and never resolves it. The core aborts the reminder task
//!   when a newer reminder supersedes it, and cancels the last one at the end.
//!
//! It processes 100,000 events and reports events/s, resolved requests/s and the live task
//! count at the end, which must be 0.
//!
//! Midway, it runs a second core and drops its runtime while 10,000 of its tasks are still
//! suspended on `Http` requests that the shell holds. This is the scenario that leaked in Crux
//! (redbadger/crux #268). Every late `resolve` hands its value back (`Err(value)`), and a
//! counting global allocator shows that no byte is retained.
//!
//! ```text
//! cargo run --release -p genrt-benches --bin effects_soak [-- --workers N --shell-threads N --events N]
//! ```
//!
//! Every wait is bounded: anything stuck for 30 s panics with a message saying what.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread;
use std::time::{Duration, Instant};

use genrt::shell::{self, Resolver, ShellRequest, ShellStream, StreamResolver};
use genrt::{Builder, JoinHandle, Runtime};
use support::counting::{live_bytes, Baseline, CountingAlloc};

/// Live bytes, process-wide, and the quiescing a live-byte comparison needs (shared with the
/// tests).
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// How long any single wait may take before the program panics.
const WAIT: Duration = Duration::from_secs(30);
/// How many requests are in flight when the midway runtime is dropped.
const IN_FLIGHT: usize = 10_000;
/// How many values the shell streams to each subscription before it ends the stream.
const STREAM_VALUES: u64 = 3;
/// A shell thread prunes the timers nobody waits for once it holds this many.
const TIMER_PRUNE_AT: usize = 256;

// ---------------------------------------------------------------------------------------
// The app: events, effects, the model, the update function.
// ---------------------------------------------------------------------------------------

/// What the user (or the outside world) does.
#[derive(Clone, Copy, Debug)]
enum Event {
    /// Bump the local counter.
    Increment,
    /// `GET /items/{id}` and add the item's value to the model.
    Fetch(u32),
    /// Subscribe to a topic and add every value it publishes.
    Watch(u32),
    /// Schedule a reminder. The newest one supersedes the previous one.
    Remind(u32),
}

/// What the core asks the shell to do. Every effect that expects an answer carries its
/// resolver.
enum Effect {
    /// Show the model again; no answer expected.
    Render,
    /// Resolved once.
    Http { id: u32, resolver: Resolver<u64> },
    /// Several values, then the end of the stream.
    Subscribe {
        topic: u32,
        resolver: StreamResolver<u64>,
    },
    /// Never resolved: the shell keeps the resolver.
    Timer { resolver: Resolver<()> },
}

impl Effect {
    fn name(&self) -> &'static str {
        match self {
            Effect::Render => "Render",
            Effect::Http { .. } => "Http",
            Effect::Subscribe { .. } => "Subscribe",
            Effect::Timer { .. } => "Timer",
        }
    }
}

/// The app's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Model {
    count: u64,
    fetches: u64,
    fetched_total: u64,
    fetches_abandoned: u64,
    subscriptions_ended: u64,
    stream_values: u64,
    streamed_total: u64,
    reminders_set: u64,
    reminders_fired: u64,
}

/// What an update task can reach: the model and the outbox of effects.
#[derive(Clone)]
struct Context {
    model: Arc<Mutex<Model>>,
    outbox: Arc<Mutex<Vec<Effect>>>,
}

impl Context {
    fn model(&self) -> MutexGuard<'_, Model> {
        lock(&self.model, "the model")
    }

    fn send(&self, effect: Effect) {
        lock(&self.outbox, "the outbox").push(effect);
    }

    fn http_get(&self, id: u32) -> ShellRequest<u64> {
        let (request, resolver) = shell::request();
        self.send(Effect::Http { id, resolver });
        request
    }

    fn subscribe(&self, topic: u32) -> ShellStream<u64> {
        let (stream, resolver) = shell::stream();
        self.send(Effect::Subscribe { topic, resolver });
        stream
    }

    fn timer(&self) -> ShellRequest<()> {
        let (request, resolver) = shell::request();
        self.send(Effect::Timer { resolver });
        request
    }
}

/// The update function: one task per event. It may suspend on the shell as often as it
/// likes; the effects it sends are collected after the runtime settles.
async fn update(event: Event, cx: Context) {
    match event {
        Event::Increment => {
            cx.model().count += 1;
            cx.send(Effect::Render);
        }
        Event::Fetch(id) => {
            let response = cx.http_get(id).await;
            {
                let mut model = cx.model();
                match response {
                    Ok(value) => {
                        model.fetches += 1;
                        model.fetched_total += value;
                    }
                    Err(_abandoned) => model.fetches_abandoned += 1,
                }
            }
            cx.send(Effect::Render);
        }
        Event::Watch(topic) => {
            let mut stream = cx.subscribe(topic);
            while let Some(value) = stream.next().await {
                let mut model = cx.model();
                model.stream_values += 1;
                model.streamed_total += value;
            }
            cx.model().subscriptions_ended += 1;
            cx.send(Effect::Render);
        }
        Event::Remind(_id) => {
            let timer = cx.timer();
            cx.model().reminders_set += 1;
            if timer.await.is_ok() {
                cx.model().reminders_fired += 1;
                cx.send(Effect::Render);
            }
        }
    }
}

/// The backend's answer to `GET /items/{id}`: a small deterministic value.
fn item_value(id: u32) -> u64 {
    let mut x = u64::from(id).wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (x ^ (x >> 31)) % 10_000
}

/// The `k`-th value published on `topic`.
fn topic_value(topic: u32, k: u64) -> u64 {
    u64::from(topic) * 7 + k + 1
}

// ---------------------------------------------------------------------------------------
// The core: a genrt runtime, the model, the outbox.
// ---------------------------------------------------------------------------------------

struct Core {
    rt: Runtime,
    cx: Context,
    /// The reminder task in flight, aborted when a newer reminder supersedes it.
    reminder: Option<JoinHandle<()>>,
    reminders_superseded: u64,
}

impl Core {
    fn new(workers: usize) -> Core {
        let rt = Builder::new()
            .worker_threads(workers)
            .thread_name("effects-core")
            .build()
            .unwrap_or_else(|e| panic!("cannot start a genrt runtime with {workers} workers: {e}"));
        Core {
            rt,
            cx: Context {
                model: Arc::new(Mutex::new(Model::default())),
                outbox: Arc::new(Mutex::new(Vec::new())),
            },
            reminder: None,
            reminders_superseded: 0,
        }
    }

    /// Runs the update for `event` until every task has suspended or finished, and returns
    /// every effect emitted since the last call (including those of tasks that the shell
    /// woke in the meantime).
    fn process_event(&mut self, event: Event) -> Vec<Effect> {
        let task = self.rt.spawn(update(event, self.cx.clone()));
        if let Event::Remind(_) = event {
            if let Some(previous) = self.reminder.replace(task) {
                previous.abort();
                self.reminders_superseded += 1;
            }
        }
        // Other tasks are detached: dropping a join handle leaves its task running.
        self.settle("processing an event");
        self.take_effects()
    }

    /// Cancels the reminder still waiting on its never-resolved timer.
    fn cancel_reminder(&mut self) -> bool {
        let cancelled = self.reminder.take().map(|task| task.abort()).is_some();
        self.settle("cancelling the last reminder");
        cancelled
    }

    fn settle(&self, what: &str) {
        if !self.rt.try_settle(WAIT) {
            panic!(
                "the runtime did not settle within {WAIT:?} while {what} ({} live tasks)",
                self.rt.metrics().snapshot().live_tasks
            );
        }
    }

    fn take_effects(&self) -> Vec<Effect> {
        std::mem::take(&mut *lock(&self.cx.outbox, "the outbox"))
    }

    fn live_tasks(&self) -> u64 {
        self.rt.metrics().snapshot().live_tasks
    }

    fn model(&self) -> Model {
        self.cx.model().clone()
    }

    /// Lets the shell and the core run until neither has anything left to do: the shell
    /// performed every effect, the runtime settled, and the tasks the shell woke emitted
    /// nothing new.
    fn quiesce(&self, shell: &Shell) {
        loop {
            shell.wait_idle();
            self.settle("taking in the shell's answers");
            let effects = self.take_effects();
            if effects.is_empty() {
                return;
            }
            shell.dispatch(effects);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The shell: threads that perform effects.
// ---------------------------------------------------------------------------------------

struct Queue {
    state: Mutex<QueueState>,
    /// Signalled when effects arrive or the shell closes.
    ready: Condvar,
    /// Signalled when the queue is empty and no effect is being performed.
    idle: Condvar,
}

struct QueueState {
    effects: VecDeque<Effect>,
    in_progress: usize,
    closed: bool,
}

/// What one shell thread did.
#[derive(Default)]
struct ShellReport {
    renders: u64,
    resolved: u64,
    resolved_late: u64,
    subscriptions: u64,
    values_sent: u64,
    values_refused: u64,
    timers: u64,
    timers_pruned: u64,
    /// The timer resolvers still held: never resolved.
    held_timers: Vec<Resolver<()>>,
}

struct Shell {
    queue: Arc<Queue>,
    threads: Vec<thread::JoinHandle<ShellReport>>,
}

impl Shell {
    fn start(threads: usize) -> Shell {
        let queue = Arc::new(Queue {
            state: Mutex::new(QueueState {
                effects: VecDeque::new(),
                in_progress: 0,
                closed: false,
            }),
            ready: Condvar::new(),
            idle: Condvar::new(),
        });
        let threads = (0..threads)
            .map(|i| {
                let queue = queue.clone();
                thread::Builder::new()
                    .name(format!("effects-shell-{i}"))
                    .spawn(move || shell_thread(&queue))
                    .expect("cannot start a shell thread")
            })
            .collect();
        Shell { queue, threads }
    }

    fn dispatch(&self, effects: Vec<Effect>) {
        if effects.is_empty() {
            return;
        }
        let n = effects.len();
        lock(&self.queue.state, "the shell queue")
            .effects
            .extend(effects);
        if n == 1 {
            self.queue.ready.notify_one();
        } else {
            self.queue.ready.notify_all();
        }
    }

    /// Waits until every effect dispatched so far has been performed.
    fn wait_idle(&self) {
        let deadline = Instant::now() + WAIT;
        let mut state = lock(&self.queue.state, "the shell queue");
        while !(state.effects.is_empty() && state.in_progress == 0) {
            let now = Instant::now();
            if now >= deadline {
                panic!(
                    "the shell did not finish its effects within {WAIT:?}: {} queued, {} in \
                     progress",
                    state.effects.len(),
                    state.in_progress
                );
            }
            state = self
                .queue
                .idle
                .wait_timeout(state, deadline - now)
                .expect("a shell thread panicked holding the queue")
                .0;
        }
    }

    /// Stops the shell threads and returns their combined report.
    fn finish(self) -> ShellReport {
        lock(&self.queue.state, "the shell queue").closed = true;
        self.queue.ready.notify_all();
        let mut total = ShellReport::default();
        for thread in self.threads {
            let report = thread
                .join()
                .unwrap_or_else(|_| panic!("a shell thread panicked"));
            total.renders += report.renders;
            total.resolved += report.resolved;
            total.resolved_late += report.resolved_late;
            total.subscriptions += report.subscriptions;
            total.values_sent += report.values_sent;
            total.values_refused += report.values_refused;
            total.timers += report.timers;
            total.timers_pruned += report.timers_pruned;
            total.held_timers.extend(report.held_timers);
        }
        total
    }
}

fn shell_thread(queue: &Queue) -> ShellReport {
    let mut report = ShellReport::default();
    loop {
        let effect = {
            let mut state = lock(&queue.state, "the shell queue");
            loop {
                if let Some(effect) = state.effects.pop_front() {
                    state.in_progress += 1;
                    break effect;
                }
                if state.closed {
                    return report;
                }
                // Bounded: the loop re-checks `closed` at least every 100 ms.
                state = queue
                    .ready
                    .wait_timeout(state, Duration::from_millis(100))
                    .expect("a shell thread panicked holding the queue")
                    .0;
            }
        };
        perform(effect, &mut report);
        let mut state = lock(&queue.state, "the shell queue");
        state.in_progress -= 1;
        if state.effects.is_empty() && state.in_progress == 0 {
            queue.idle.notify_all();
        }
    }
}

fn perform(effect: Effect, report: &mut ShellReport) {
    match effect {
        Effect::Render => report.renders += 1,
        Effect::Http { id, resolver } => match resolver.resolve(item_value(id)) {
            Ok(()) => report.resolved += 1,
            Err(_value) => report.resolved_late += 1,
        },
        Effect::Subscribe { topic, resolver } => {
            report.subscriptions += 1;
            for k in 0..STREAM_VALUES {
                match resolver.send(topic_value(topic, k)) {
                    Ok(()) => report.values_sent += 1,
                    Err(_value) => {
                        report.values_refused += 1;
                        break;
                    }
                }
            }
            // Dropping the resolver ends the stream.
        }
        Effect::Timer { resolver } => {
            report.timers += 1;
            report.held_timers.push(resolver);
            if report.held_timers.len() >= TIMER_PRUNE_AT {
                // Skip work nobody waits for: the superseded reminders were aborted.
                let before = report.held_timers.len();
                report.held_timers.retain(|timer| !timer.is_cancelled());
                report.timers_pruned += (before - report.held_timers.len()) as u64;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Midway: drop a runtime with 10,000 requests in flight.
// ---------------------------------------------------------------------------------------

struct DropReport {
    live_tasks_before_drop: u64,
    drop_time: Duration,
    bytes_in_flight: isize,
    bytes_after_drop: isize,
    late_resolves: usize,
    values_handed_back_intact: usize,
    bytes_before_epoch_collection: isize,
    bytes_retained: isize,
}

/// Runs `count` `Fetch` events through a fresh core and keeps the resolvers of the `Http`
/// effects in `held`, unresolved: `count` tasks stay suspended on their requests.
fn core_with_requests_in_flight(
    workers: usize,
    count: usize,
    held: &mut Vec<(u32, Resolver<u64>)>,
) -> Core {
    let mut core = Core::new(workers);
    for id in 0..count as u32 {
        for effect in core.process_event(Event::Fetch(id)) {
            match effect {
                Effect::Http { id, resolver } => held.push((id, resolver)),
                other => panic!("a Fetch emitted a {} effect, expected Http", other.name()),
            }
        }
    }
    core
}

/// Creates and drops a core the way the measurement does, so that process-wide state that is
/// allocated once (the standard library's, the allocator's, the thread registry's) exists
/// before the baseline is taken.
fn warm_up(workers: usize) {
    let mut held = Vec::new();
    let core = core_with_requests_in_flight(workers, 512, &mut held);
    // Half of them are resolved while the runtime lives, half late.
    for (id, resolver) in held.drain(..256) {
        resolver
            .resolve(item_value(id))
            .unwrap_or_else(|_| panic!("warm-up: the request was dropped while its task lived"));
    }
    core.settle("warming up");
    drop(core);
    for (id, resolver) in held.drain(..) {
        assert!(
            resolver.resolve(item_value(id)).is_err(),
            "warm-up: a late resolve was accepted"
        );
    }
}

fn drop_runtime_with_requests_in_flight(workers: usize) -> DropReport {
    warm_up(workers);

    // What the measurement keeps across the check is allocated before the baseline.
    let mut held: Vec<(u32, Resolver<u64>)> = Vec::with_capacity(IN_FLIGHT);
    // The scheduler's queues free some memory late, through crossbeam-epoch (a grown deque's
    // old buffer, the record of each exited worker): both readings quiesce the process the
    // same way, waiting for the dropped runtime's threads and draining those deferred frees.
    let baseline = Baseline::take();

    let core = core_with_requests_in_flight(workers, IN_FLIGHT, &mut held);
    let live_tasks_before_drop = core.live_tasks();
    assert_eq!(
        live_tasks_before_drop, IN_FLIGHT as u64,
        "expected {IN_FLIGHT} tasks suspended on their requests before the drop"
    );
    assert_eq!(held.len(), IN_FLIGHT, "expected {IN_FLIGHT} Http effects");
    // Every suspended future holds a clone of the core's context; this probe sees whether
    // any of them survives the drop. (A `Weak` allocates nothing.)
    let model_probe: Weak<Mutex<Model>> = Arc::downgrade(&core.cx.model);
    let bytes_in_flight = live_bytes() - baseline.bytes();

    let started = Instant::now();
    drop(core); // drops the runtime: every suspended task is cancelled, its future dropped
    let drop_time = started.elapsed();
    assert_eq!(
        model_probe.strong_count(),
        0,
        "{} suspended futures outlived their runtime",
        model_probe.strong_count()
    );
    drop(model_probe);
    let bytes_after_drop = live_bytes() - baseline.bytes();

    // The shell answers late: every request is gone, so each value comes back.
    let mut late_resolves = 0;
    let mut values_handed_back_intact = 0;
    for (id, resolver) in held.drain(..) {
        let value = item_value(id);
        if let Err(returned) = resolver.resolve(value) {
            late_resolves += 1;
            if returned == value {
                values_handed_back_intact += 1;
            }
        }
    }
    // `held` is empty and keeps the capacity it had at the baseline.
    let bytes_before_epoch_collection = live_bytes() - baseline.bytes();
    let bytes_retained = baseline.measure() - baseline.bytes();
    drop(held);

    DropReport {
        live_tasks_before_drop,
        drop_time,
        bytes_in_flight,
        bytes_after_drop,
        late_resolves,
        values_handed_back_intact,
        bytes_before_epoch_collection,
        bytes_retained,
    }
}

// ---------------------------------------------------------------------------------------
// The run.
// ---------------------------------------------------------------------------------------

struct Options {
    workers: usize,
    shell_threads: usize,
    events: usize,
}

fn parse_options() -> Options {
    let mut options = Options {
        workers: 2,
        shell_threads: 2,
        events: 100_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--workers" => &mut options.workers,
            "--shell-threads" => &mut options.shell_threads,
            "--events" => &mut options.events,
            _ => panic!("unknown argument {flag:?}; use --workers N --shell-threads N --events N"),
        };
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a number"));
        *slot = value
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or_else(|| panic!("{flag} needs a positive number, got {value:?}"));
    }
    options
}

/// A small deterministic generator for the event mix.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 32) as u32
    }
}

/// The event mix: 40% Increment, 30% Fetch, 20% Watch, 10% Remind. Also computes what the
/// model must hold once every effect is answered.
fn next_event(rng: &mut Rng, expected: &mut Model) -> Event {
    let roll = rng.next() % 10;
    let arg = rng.next() % 1_000;
    match roll {
        0..=3 => {
            expected.count += 1;
            Event::Increment
        }
        4..=6 => {
            expected.fetches += 1;
            expected.fetched_total += item_value(arg);
            Event::Fetch(arg)
        }
        7..=8 => {
            expected.subscriptions_ended += 1;
            for k in 0..STREAM_VALUES {
                expected.stream_values += 1;
                expected.streamed_total += topic_value(arg, k);
            }
            Event::Watch(arg)
        }
        _ => {
            expected.reminders_set += 1;
            Event::Remind(arg)
        }
    }
}

fn main() {
    let options = parse_options();
    let events = options.events;
    let midway = events / 2;
    println!(
        "genrt effects: {events} events, {} core workers, {} shell threads",
        options.workers, options.shell_threads
    );

    let mut core = Core::new(options.workers);
    let shell = Shell::start(options.shell_threads);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut expected = Model::default();
    let mut run_time = Duration::ZERO;
    let mut drop_report = None;

    let mut segment = Instant::now();
    for i in 0..events {
        if i == midway {
            core.quiesce(&shell);
            run_time += segment.elapsed();
            println!(
                "midway, after {i} events: {} live task(s), waiting on a never-resolved timer",
                core.live_tasks()
            );
            drop_report = Some(drop_runtime_with_requests_in_flight(options.workers));
            segment = Instant::now();
        }
        let effects = core.process_event(next_event(&mut rng, &mut expected));
        shell.dispatch(effects);
    }
    core.quiesce(&shell);
    run_time += segment.elapsed();

    let waiting_on_timers = core.live_tasks();
    let cancelled_last = core.cancel_reminder();
    let live_tasks_at_end = core.live_tasks();
    let model = core.model();
    let superseded = core.reminders_superseded;
    let shell_report = shell.finish();
    let timers_held = shell_report.held_timers.len();
    let timers_still_awaited = shell_report
        .held_timers
        .iter()
        .filter(|timer| !timer.is_cancelled())
        .count();
    drop(shell_report.held_timers);
    drop(core);

    let secs = run_time.as_secs_f64();
    println!(
        "run: {events} events in {secs:.3} s: {:.0} events/s",
        events as f64 / secs
    );
    println!(
        "  requests resolved: {} ({:.0} requests/s), {} late",
        shell_report.resolved,
        shell_report.resolved as f64 / secs,
        shell_report.resolved_late
    );
    println!(
        "  subscriptions: {}, stream values delivered: {} ({} refused)",
        shell_report.subscriptions, shell_report.values_sent, shell_report.values_refused
    );
    println!(
        "  timers never resolved: {} ({} superseded reminders aborted by the core, {} pruned \
         by the shell while running, {timers_held} held at the end, {timers_still_awaited} of \
         them still awaited)",
        shell_report.timers, superseded, shell_report.timers_pruned
    );
    println!(
        "  effects performed by the shell: {} (Http {}, Subscribe {}, Timer {}, Render {})",
        shell_report.resolved
            + shell_report.resolved_late
            + shell_report.subscriptions
            + shell_report.timers
            + shell_report.renders,
        shell_report.resolved + shell_report.resolved_late,
        shell_report.subscriptions,
        shell_report.timers,
        shell_report.renders
    );
    println!(
        "  model: count {}, fetches {} (total {}), stream values {} (total {}), reminders set \
         {}, fired {}",
        model.count,
        model.fetches,
        model.fetched_total,
        model.stream_values,
        model.streamed_total,
        model.reminders_set,
        model.reminders_fired
    );
    println!(
        "  live tasks: {waiting_on_timers} waiting on a never-resolved timer after the run, {} \
         at the end (last reminder cancelled: {cancelled_last})",
        live_tasks_at_end
    );

    if let Some(d) = &drop_report {
        println!("midway: dropped a runtime with {IN_FLIGHT} requests in flight");
        println!(
            "  live tasks before the drop: {}; the drop took {:.2} ms",
            d.live_tasks_before_drop,
            d.drop_time.as_secs_f64() * 1e3
        );
        println!(
            "  live bytes above the baseline: {} with the requests in flight, {} after the \
             drop (the shell still holds the {IN_FLIGHT} resolvers)",
            d.bytes_in_flight, d.bytes_after_drop
        );
        println!(
            "  late resolves that returned Err(value): {} of {IN_FLIGHT} ({} with the value \
             intact)",
            d.late_resolves, d.values_handed_back_intact
        );
        println!(
            "  bytes retained: {} ({} before freeing crossbeam-epoch's deferred garbage)",
            d.bytes_retained, d.bytes_before_epoch_collection
        );
    }

    // The invariants.
    if let Some(d) = &drop_report {
        assert_eq!(
            d.late_resolves, IN_FLIGHT,
            "every late resolve after the drop must return Err(value)"
        );
        assert_eq!(
            d.values_handed_back_intact, IN_FLIGHT,
            "every late resolve must hand back the value it was given"
        );
        assert_eq!(
            d.bytes_retained, 0,
            "live bytes after the drop and the late resolves differ from the baseline by {} \
             (positive: memory of the dropped runtime still allocated; negative: memory \
             allocated before the baseline freed during the measurement)",
            d.bytes_retained
        );
    }
    assert_eq!(
        live_tasks_at_end, 0,
        "live tasks at the end must be 0, found {live_tasks_at_end}"
    );
    assert_eq!(
        timers_still_awaited, 0,
        "every timer the shell held must be cancelled by the end"
    );
    assert_eq!(
        shell_report.resolved_late, 0,
        "no request of the running app may be dropped before its answer"
    );
    assert_eq!(
        model, expected,
        "the model does not match what the shell's answers add up to"
    );
    println!("ok: all late resolves returned Err, 0 bytes retained, 0 live tasks at the end");
}

/// Locks `mutex`, panicking with `what` if a thread panicked while holding it.
fn lock<'a, T>(mutex: &'a Mutex<T>, what: &str) -> MutexGuard<'a, T> {
    mutex
        .lock()
        .unwrap_or_else(|_| panic!("a thread panicked while holding {what}"))
}
