//! An adversarial review of genrt-crux's `Core`: hangs, retained memory and re-entrancy that
//! the other test files do not reach. Each test names the fault it guards against.
//!
//! Every test body runs under a [`Watchdog`]; nothing here asserts an upper bound on time.
//! The live-byte counter is process-global, so every test takes `serial()` first.

// The test app's items are public for `#[effect]`, and documented where it matters.
#![allow(missing_docs)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex, Weak};

use crux_core::capability::Operation;
use crux_core::macros::effect;
use crux_core::render::RenderOperation;
use crux_core::{App, Command, Request};
use futures::channel::oneshot;
use genrt_crux::{Core, EventOrder, Options};
use support::counting::{Baseline, CountingAlloc};
use support::{panic_message, quiet_panics, serial, Watchdog};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// A one-shot request: the shell answers with a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask(pub u64);

impl Operation for Ask {
    type Output = u64;
}

#[effect]
pub enum Effect {
    Ask(Ask),
    Render(RenderOperation),
}

impl std::fmt::Debug for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::Ask(request) => write!(f, "ask {}", request.operation.0),
            Effect::Render(_) => f.write_str("render"),
        }
    }
}

type Slot<T> = Arc<Mutex<Option<T>>>;

fn slot<T>(value: T) -> Slot<T> {
    Arc::new(Mutex::new(Some(value)))
}

pub enum Event {
    /// A command that awaits `rx` (a value, or its sender's drop), then sends `Done`.
    AwaitRx(Slot<oneshot::Receiver<()>>),
    /// A command that holds `tx` in its future and awaits `gate`, then drops `tx`.
    HoldTx {
        tx: Slot<oneshot::Sender<()>>,
        gate: Slot<oneshot::Receiver<()>>,
    },
    /// A command that calls `process_event(Done)` on its own core from inside its step.
    Reenter(Arc<Mutex<Weak<Core<Rev>>>>),
    /// A command that asks the shell, then calls `process_event(Done)` on its own core.
    AskThenReenter(Arc<Mutex<Weak<Core<Rev>>>>),
    /// A command that awaits `gate`, then holds the core (upgrading `core`), says so on
    /// `upgraded`, waits on `dropped` for the test to drop its own reference, reads the view
    /// and drops the last reference to the core inside its step; then sets `finished`.
    LastRef {
        core: Arc<Mutex<Weak<Core<Rev>>>>,
        gate: Slot<oneshot::Receiver<()>>,
        upgraded: std::sync::mpsc::Sender<()>,
        dropped: Slot<std::sync::mpsc::Receiver<()>>,
        finished: Arc<std::sync::atomic::AtomicBool>,
    },
    /// A request, holding a drop counter in its future.
    Hold(Arc<std::sync::atomic::AtomicUsize>),
    /// A command that sleeps on genrt's clock, then sends `Done`.
    Sleep,
    /// Sends `Done` three times: the first command steps on this thread, the others on
    /// workers.
    ThreeDones,
    /// One request, answered as `Got`.
    Fetch,
    Got(u64),
    Done,
    /// Does nothing.
    Nop,
}

#[derive(Default)]
pub struct Model {
    pub done: usize,
    pub got: u64,
}

#[derive(Default)]
pub struct Rev;

impl App for Rev {
    type Event = Event;
    type Model = Model;
    type ViewModel = (usize, u64);
    type Effect = Effect;

    fn update(&self, event: Event, model: &mut Model) -> Command<Effect, Event> {
        match event {
            Event::AwaitRx(rx) => Command::new(move |ctx| async move {
                let rx = rx.lock().unwrap().take().unwrap();
                let _ = rx.await;
                ctx.send_event(Event::Done);
            }),
            Event::HoldTx { tx, gate } => Command::new(move |_ctx| async move {
                let tx = tx.lock().unwrap().take().unwrap();
                let gate = gate.lock().unwrap().take().unwrap();
                let _ = gate.await;
                drop(tx);
            }),
            Event::Reenter(core) => Command::new(move |_ctx| async move {
                let core = core.lock().unwrap().upgrade().unwrap();
                let _ = core.process_event(Event::Done);
            }),
            Event::AskThenReenter(core) => Command::new(move |ctx| async move {
                let _ = ctx.request_from_shell(Ask(1)).await;
                let core = core.lock().unwrap().upgrade().unwrap();
                let _ = core.process_event(Event::Done);
            }),
            Event::LastRef {
                core,
                gate,
                upgraded,
                dropped,
                finished,
            } => Command::new(move |_ctx| async move {
                let gate = gate.lock().unwrap().take().unwrap();
                let dropped = dropped.lock().unwrap().take().unwrap();
                let _ = gate.await;
                let strong = core.lock().unwrap().upgrade();
                upgraded.send(()).unwrap();
                dropped.recv().unwrap();
                let _ = strong.as_ref().map(|core| core.view());
                drop(strong); // the last reference: the core drops inside this step
                finished.store(true, SeqCst);
            }),
            Event::Hold(drops) => Command::new(move |ctx| async move {
                let _counter = CountDrop(drops);
                let v = ctx.request_from_shell(Ask(7)).await;
                ctx.send_event(Event::Got(v));
            }),
            Event::Sleep => Command::new(|ctx| async move {
                // The documented way (crate docs, "How it runs"): the sleep is made with the
                // runtime entered, and belongs to it wherever the command steps.
                let handle = SLEEP_RUNTIME
                    .lock()
                    .unwrap()
                    .clone()
                    .expect("set by the test");
                let sleep = {
                    let _entered = handle.enter();
                    genrt::time::sleep(std::time::Duration::from_millis(1))
                };
                sleep.await;
                ctx.send_event(Event::Done);
            }),
            Event::ThreeDones => Command::new(|ctx| async move {
                for _ in 0..3 {
                    ctx.send_event(Event::Done);
                }
            }),
            Event::Fetch => Command::request_from_shell(Ask(1)).then_send(Event::Got),
            Event::Got(v) => {
                model.got += v;
                Command::done()
            }
            Event::Done => {
                model.done += 1;
                Command::done()
            }
            Event::Nop => Command::done(),
        }
    }

    fn view(&self, model: &Model) -> (usize, u64) {
        (model.done, model.got)
    }
}

/// Counts its drop.
pub struct CountDrop(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn message(payload: &Box<dyn std::any::Any + Send>) -> String {
    panic_message(&**payload).unwrap_or_default().to_string()
}

fn only_ask(mut effects: Vec<Effect>) -> Request<Ask> {
    assert_eq!(effects.len(), 1, "{} effects", effects.len());
    match effects.pop() {
        Some(Effect::Ask(request)) => request,
        _ => panic!("expected an Ask"),
    }
}

// ---------------------------------------------------------------------------------------
// A runtime dropped before its core.
// ---------------------------------------------------------------------------------------

/// The crate docs ("A runtime dropped before its core") promise a panic at the next call
/// rather than a hang. A command whose step task the dead runtime drops is itself dropped by
/// `Shared::runtime_gone`; when that drop wakes another command of the core (here: a oneshot
/// sender in its future whose receiver another command awaits), the wake needs a worker too,
/// and its step task is dropped at once, re-entering `runtime_gone` on the same thread.
#[test]
fn a_command_dropped_for_a_dead_runtime_that_wakes_another_does_not_deadlock() {
    let _serial = serial();
    let _quiet = quiet_panics();
    Watchdog::new("runtime_gone re-entered").run_reporting(|p| {
        let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
        let core = Core::<Rev>::with_runtime(rt.handle().clone());
        let (tx, rx) = oneshot::channel::<()>();
        let (gate_tx, gate_rx) = oneshot::channel::<()>();
        assert!(core.process_event(Event::AwaitRx(slot(rx))).is_empty());
        assert!(core
            .process_event(Event::HoldTx {
                tx: slot(tx),
                gate: slot(gate_rx),
            })
            .is_empty());
        p.at("dropping the runtime");
        drop(rt);
        // A wake from outside any call: the HoldTx command needs a worker, has none, and is
        // dropped; its drop drops `tx`, which wakes the AwaitRx command.
        p.at("waking the HoldTx command from outside (its step task is dropped)");
        gate_tx.send(()).unwrap();
        p.at("the next call");
        let payload = catch_unwind(AssertUnwindSafe(|| core.process_event(Event::Nop)))
            .expect_err("the next call panics");
        assert!(
            message(&payload).contains("has shut down"),
            "{}",
            message(&payload)
        );
        p.at("dropping the core");
        drop(core);
    });
}

/// Under `EventOrder::Fifo`, every command is a sub-task of the root command, and a wake
/// from outside any call waits for the core's next call, which steps the root on its own
/// thread (as crux_core does; `tests/differential.rs`): the root never needs a worker, so a
/// core outliving its runtime carries on (before, the wake's step task was dropped with the
/// root, and every later call panicked; it must not be crux's "tasks channel disconnected"
/// from spawning into a dropped root either).
#[test]
fn under_fifo_a_core_outliving_its_runtime_steps_its_commands_on_the_calling_thread() {
    let _serial = serial();
    Watchdog::new("a Fifo core outliving its runtime").run_reporting(|p| {
        let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
        let core = Core::with_options(
            Rev,
            Model::default(),
            Options::new()
                .runtime(rt.handle().clone())
                .event_order(EventOrder::Fifo),
        );
        let (tx, rx) = oneshot::channel::<()>();
        assert!(core.process_event(Event::AwaitRx(slot(rx))).is_empty());
        p.at("dropping the runtime");
        drop(rt);
        p.at("waking the root from outside (it waits for the next call)");
        tx.send(()).unwrap();
        assert_eq!(core.view().0, 0, "nothing runs outside a call");
        p.at("the next process_event");
        assert!(core.process_event(Event::Nop).is_empty());
        assert_eq!(core.view().0, 1, "the next call ran the woken command");
        p.at("a later process_event");
        assert!(core.process_event(Event::ThreeDones).is_empty());
        assert_eq!(core.view().0, 4);
    });
}

// ---------------------------------------------------------------------------------------
// Re-entrant calls.
// ---------------------------------------------------------------------------------------

/// `process_event` from inside one of the core's own commands, stepped on the calling shell
/// thread: the inner call waits for the core to settle, and the command calling it is one of
/// the core's running commands, so it never does. On a worker the same call panics with a
/// message ("Blocking"); on a shell thread it must not hang either.
#[test]
fn process_event_from_inside_a_command_on_a_shell_thread_panics_instead_of_hanging() {
    let _serial = serial();
    let _quiet = quiet_panics();
    Watchdog::new("re-entrant process_event").run_reporting(|p| {
        let core = Arc::new(Core::<Rev>::new());
        let weak = Arc::new(Mutex::new(Arc::downgrade(&core)));
        p.at("process_event whose command calls process_event on the same core");
        let payload = catch_unwind(AssertUnwindSafe(|| {
            core.process_event(Event::Reenter(weak))
        }))
        .expect_err("the re-entrant call panics");
        assert!(
            message(&payload).contains("inside"),
            "{}",
            message(&payload)
        );
        // The core carries on.
        assert!(core.process_event(Event::Done).is_empty());
        assert_eq!(core.view().0, 1);
    });
}

/// The same from a command resolved on a shell thread (`resolve` steps the command it wakes
/// on the caller's thread).
#[test]
fn process_event_from_inside_a_command_stepped_by_resolve_panics_instead_of_hanging() {
    let _serial = serial();
    let _quiet = quiet_panics();
    Watchdog::new("re-entrant process_event under resolve").run_reporting(|p| {
        let core = Arc::new(Core::<Rev>::new());
        let weak = Arc::new(Mutex::new(Arc::downgrade(&core)));
        let mut request = only_ask(core.process_event(Event::AskThenReenter(weak)));
        p.at("resolving: the command it wakes calls process_event");
        let payload = catch_unwind(AssertUnwindSafe(|| core.resolve(&mut request, 1)))
            .expect_err("the re-entrant call panics");
        assert!(
            message(&payload).contains("inside"),
            "{}",
            message(&payload)
        );
        assert!(core.process_event(Event::Done).is_empty());
        assert_eq!(core.view().0, 1);
    });
}

/// A command on one core may call another core: that is no re-entry (the other core's
/// settle does not wait for this core's commands).
#[test]
fn process_event_on_another_core_from_inside_a_command_works() {
    let _serial = serial();
    Watchdog::new("a command calling another core").run_reporting(|p| {
        let other = Arc::new(Core::<Rev>::new());
        let weak = Arc::new(Mutex::new(Arc::downgrade(&other)));
        let core = Core::<Rev>::new();
        p.at("process_event whose command calls another core");
        assert!(core.process_event(Event::Reenter(weak)).is_empty());
        assert_eq!(other.view().0, 1);
    });
}

// ---------------------------------------------------------------------------------------
// Resolves racing the core's drop.
// ---------------------------------------------------------------------------------------

/// Shell threads resolve held requests directly (`Request::resolve`, as a middleware's
/// thread may) while the core drops: each wake reaches the core, a worker, or nothing, and
/// when the drop returns every command future is gone, resolved or not.
#[test]
fn direct_resolves_racing_the_cores_drop_leave_no_command_behind() {
    let _serial = serial();
    Watchdog::new("resolves racing the core's drop").run_reporting(|p| {
        const HELD: usize = 400;
        const THREADS: usize = 4;
        for round in 0..10 {
            let owned = round % 2 == 0;
            p.at_round("a round", round);
            let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
            let core = if owned {
                Core::<Rev>::new()
            } else {
                Core::<Rev>::with_runtime(rt.handle().clone())
            };
            let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut shares: Vec<Vec<Request<Ask>>> = (0..THREADS).map(|_| Vec::new()).collect();
            for i in 0..HELD {
                shares[i % THREADS].push(only_ask(core.process_event(Event::Hold(drops.clone()))));
            }
            let start = Arc::new(std::sync::Barrier::new(THREADS + 1));
            let shells: Vec<_> = shares
                .into_iter()
                .map(|mut mine| {
                    let start = start.clone();
                    std::thread::spawn(move || {
                        start.wait();
                        for request in &mut mine {
                            request.resolve(1).unwrap();
                        }
                        mine
                    })
                })
                .collect();
            start.wait();
            drop(core);
            assert_eq!(
                drops.load(SeqCst),
                HELD,
                "a command outlived its core's drop"
            );
            for shell in shells {
                let held = shell.join().unwrap();
                for mut request in held {
                    assert!(
                        request.resolve(2).is_err(),
                        "a one-shot request resolves once"
                    );
                }
            }
            drop(rt);
        }
    });
}

// ---------------------------------------------------------------------------------------
// The core's last reference dropped inside one of its commands.
// ---------------------------------------------------------------------------------------

/// A command holding the core (a `Weak` it upgrades, to read the view) can end up holding
/// the last reference, and the core then drops inside that command's step, on a worker.
/// The drop waits for steps in progress to end, this one included: it must not wait for
/// itself.
#[test]
fn a_core_dropped_inside_one_of_its_own_commands_does_not_deadlock() {
    let _serial = serial();
    Watchdog::new("the core's drop inside its own command").run_reporting(|p| {
        for owned in [true, false] {
            let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
            let core = Arc::new(if owned {
                Core::<Rev>::new()
            } else {
                Core::<Rev>::with_runtime(rt.handle().clone())
            });
            let (gate_tx, gate_rx) = oneshot::channel();
            let (upgraded_tx, upgraded_rx) = std::sync::mpsc::channel();
            let (dropped_tx, dropped_rx) = std::sync::mpsc::channel();
            let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
            p.at("starting the command");
            assert!(core
                .process_event(Event::LastRef {
                    core: Arc::new(Mutex::new(Arc::downgrade(&core))),
                    gate: slot(gate_rx),
                    upgraded: upgraded_tx,
                    dropped: slot(dropped_rx),
                    finished: finished.clone(),
                })
                .is_empty());
            p.at("waking it from outside: it steps on a worker");
            gate_tx.send(()).unwrap();
            support::recv(&upgraded_rx, "the command holding the core");
            p.at("dropping the test's reference");
            drop(core);
            dropped_tx.send(()).unwrap();
            p.at("waiting for the command to drop the core and finish");
            support::wait_until("the core's drop inside the command returns", || {
                finished.load(SeqCst)
            });
            drop(rt);
        }
    });
}

/// `block_in_place` hands the worker's role to a stand-in, so calls from inside it are not
/// on a worker: they work, even on the core's own one-worker runtime, whose only worker is
/// the one blocked (the commands that need a worker run on the stand-in).
#[test]
fn calls_from_block_in_place_on_the_cores_only_worker_settle() {
    let _serial = serial();
    Watchdog::new("calls inside block_in_place").run_reporting(|p| {
        let rt = genrt::Builder::new().worker_threads(1).build().unwrap();
        let core = Arc::new(Core::<Rev>::with_runtime(rt.handle().clone()));
        let in_task = core.clone();
        p.at("process_event and resolve inside block_in_place");
        let got = rt
            .block_on(rt.spawn(async move {
                genrt::task::block_in_place(move || {
                    assert!(in_task.process_event(Event::ThreeDones).is_empty());
                    let mut request = only_ask(in_task.process_event(Event::Fetch));
                    assert!(in_task.resolve(&mut request, 5).unwrap().is_empty());
                    in_task.view()
                })
            }))
            .unwrap();
        assert_eq!(got, (3, 5));
    });
}

// ---------------------------------------------------------------------------------------
// genrt inside commands.
// ---------------------------------------------------------------------------------------

/// The runtime whose timer the `Sleep` command uses.
static SLEEP_RUNTIME: Mutex<Option<genrt::Handle>> = Mutex::new(None);

/// A command awaiting a genrt timer: its first step runs on the thread that called
/// `process_event` (a shell thread, outside any genrt runtime), where no runtime is current
/// (entering the core's runtime around every step cost 10-20% of a round trip). A sleep made
/// inside the runtime's `enter` guard belongs to that runtime, and works wherever the
/// command steps (crate docs, "How it runs").
#[test]
fn a_command_sleeping_on_genrt_time_works_when_stepped_on_a_shell_thread() {
    let _serial = serial();
    Watchdog::new("genrt::time in a command").run_reporting(|p| {
        let rt = genrt::Runtime::new().unwrap();
        *SLEEP_RUNTIME.lock().unwrap() = Some(rt.handle().clone());
        for order in [EventOrder::Completion, EventOrder::Fifo] {
            let options = Options::new()
                .event_order(order)
                .runtime(rt.handle().clone());
            let core = Core::with_options(Rev, Model::default(), options);
            p.at("process_event(Sleep)");
            let effects = catch_unwind(AssertUnwindSafe(|| core.process_event(Event::Sleep)));
            let effects = effects.unwrap_or_else(|payload| {
                panic!(
                    "{order:?}: the command's step panicked: {}",
                    message(&payload)
                )
            });
            assert!(effects.is_empty());
            p.at("waiting for the sleep to end and the command to send Done");
            support::wait_until("the command sends Done", || {
                let _ = core.process_event(Event::Nop);
                core.view().0 == 1
            });
        }
    });
}

// ---------------------------------------------------------------------------------------
// Memory a held request keeps.
// ---------------------------------------------------------------------------------------

/// A model with a large inline part (its bytes live inside the core's shared state).
pub struct Big {
    pub inline: [u64; BIG_WORDS],
}

/// 64 KiB.
const BIG_WORDS: usize = 8 * 1024;

impl Default for Big {
    fn default() -> Big {
        Big {
            inline: [0; BIG_WORDS],
        }
    }
}

#[derive(Default)]
pub struct BigApp;

impl App for BigApp {
    type Event = ();
    type Model = Big;
    type ViewModel = u64;
    type Effect = Effect;

    fn update(&self, (): (), _model: &mut Big) -> Command<Effect, ()> {
        Command::request_from_shell(Ask(1)).then_send(|_| ())
    }

    fn view(&self, model: &Big) -> u64 {
        model.inline[0]
    }
}

/// The crate docs ("Leak-freedom"): a request the shell still holds keeps crux's own request
/// state and the command's 32-byte tracker. It must not keep the dropped core's model (here,
/// its 64 KiB inline part) or anything else the size of the core.
#[test]
fn a_held_request_does_not_keep_the_dropped_cores_model() {
    let _serial = serial();
    Watchdog::new("a held request after the core's drop").run_reporting(|p| {
        // Cores are built on threads of their own (a fresh 2 MiB stack: the model is moved
        // a few times on the way into the core). Warm up: lazily allocated globals exist
        // before the baseline.
        {
            let core = std::thread::spawn(Core::<BigApp>::new).join().unwrap();
            let mut request = only_ask(core.process_event(()));
            let _ = core.resolve(&mut request, 1);
        }
        let baseline = Baseline::take();
        p.at("a core with one held request");
        let core = std::thread::spawn(Core::<BigApp>::new).join().unwrap();
        let held = only_ask(core.process_event(()));
        drop(core);
        let kept = baseline.measure() - baseline.bytes();
        let model = std::mem::size_of::<Big>() as isize;
        assert!(
            kept < model / 4,
            "one request held after the core's drop keeps {kept} bytes; the model alone is \
             {model}"
        );
        // (No exact check after dropping it: the figure moves by a few hundred bytes to
        // 2 KiB from run to run, which `tests/leak.rs` covers with 10,000 requests.)
        drop(held);
    });
}
