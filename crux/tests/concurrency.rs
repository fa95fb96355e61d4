//! `genrt_crux::Core` under concurrent calls: `resolve` from 8 threads at once, concurrent
//! `process_event`s, the per-core settle (another core's busy command does not delay a
//! call), and no effect lost or returned twice.

mod common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use common::{Effect, Event, TestApp};
use genrt_crux::{Core, EventOrder, Options};
use support::{recv, wait_until, Watchdog};

/// Commands per round.
const COMMANDS: u64 = 400;
/// Resolving threads.
const THREADS: usize = 8;

/// Resolves every `Ask` in `effects` with `2 * n`, and every follow-up the calls return,
/// on this thread; returns how many requests it resolved.
fn resolve_all(core: &Core<TestApp>, effects: Vec<Effect>) -> usize {
    let mut pending = effects;
    let mut resolved = 0;
    while let Some(effect) = pending.pop() {
        match effect {
            Effect::Ask(mut request) => {
                let value = request.operation.0 * 2;
                pending.extend(core.resolve(&mut request, value).expect("resolves once"));
                resolved += 1;
            }
            _ => panic!("the Twice commands only ask"),
        }
    }
    resolved
}

/// `COMMANDS` `Twice` commands started from this thread; their requests resolved from
/// `THREADS` threads at once (each resolving what its calls return); every command must
/// finish, and every request be returned exactly once (`2 * COMMANDS` resolves in all).
fn resolve_from_eight_threads(order: EventOrder) {
    let core = Arc::new(Core::with_options(
        TestApp,
        Default::default(),
        Options::new().event_order(order),
    ));
    let mut effects = Vec::new();
    for n in 0..COMMANDS {
        effects.extend(core.process_event(Event::Twice(n)));
    }
    assert_eq!(
        effects.len() as u64,
        COMMANDS,
        "one request per command so far"
    );
    let mut shares: Vec<Vec<Effect>> = (0..THREADS).map(|_| Vec::new()).collect();
    for (i, effect) in effects.into_iter().enumerate() {
        shares[i % THREADS].push(effect);
    }
    let barrier = Arc::new(std::sync::Barrier::new(THREADS));
    let threads: Vec<_> = shares
        .into_iter()
        .map(|share| {
            let (core, barrier) = (core.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                resolve_all(&core, share)
            })
        })
        .collect();
    let resolved: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    // Effects returned by no thread would be left here (lost ones would hang a command).
    let rest = resolve_all(&core, core.process_event(Event::Got(0)));
    assert_eq!(
        resolved + rest,
        2 * COMMANDS as usize,
        "every request is returned by exactly one call"
    );
    let view = core.view();
    assert_eq!(view.got, COMMANDS + 1, "every command finished ({order:?})");
    assert_eq!(view.sum, (0..COMMANDS).sum::<u64>());
}

#[test]
fn resolve_from_eight_threads_at_once() {
    Watchdog::new("resolve from 8 threads, completion order").run(|| {
        for _ in 0..5 {
            resolve_from_eight_threads(EventOrder::Completion);
        }
    });
}

#[test]
fn resolve_from_eight_threads_at_once_in_fifo_order() {
    Watchdog::new("resolve from 8 threads, fifo order").run(|| {
        for _ in 0..5 {
            resolve_from_eight_threads(EventOrder::Fifo);
        }
    });
}

#[test]
fn process_event_and_resolve_from_eight_threads_at_once() {
    Watchdog::new("process_event and resolve from 8 threads").run(|| {
        let core = Arc::new(Core::<TestApp>::new());
        let threads: Vec<_> = (0..THREADS as u64)
            .map(|t| {
                let core = core.clone();
                thread::spawn(move || {
                    let mut resolved = 0;
                    for n in 0..COMMANDS / THREADS as u64 {
                        let effects = core.process_event(Event::Twice(t * 1000 + n));
                        resolved += resolve_all(&core, effects);
                    }
                    resolved
                })
            })
            .collect();
        let resolved: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let rest = resolve_all(&core, core.process_event(Event::Got(0)));
        assert_eq!(resolved + rest, 2 * COMMANDS as usize);
        assert_eq!(core.view().got, COMMANDS + 1);
    });
}

/// Another core's command that keeps a worker busy does not delay this core's call: the
/// settle is per core.
#[test]
fn the_settle_is_per_core() {
    Watchdog::new("the per-core settle").run(|| {
        let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
        let busy = Arc::new(Core::<TestApp>::with_runtime(rt.handle().clone()));
        let quick = Core::<TestApp>::with_runtime(rt.handle().clone());
        let (started, release) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let (done_tx, done_rx) = mpsc::channel();
        let spinner = {
            let (busy, started, release) = (busy.clone(), started.clone(), release.clone());
            thread::spawn(move || {
                let effects = busy.process_event(Event::SpinUntil { started, release });
                done_tx.send(effects.len()).unwrap();
            })
        };
        wait_until("the busy core's command spins", || started.load(SeqCst));
        // The busy core's call is still waiting for its command...
        assert!(done_rx.recv_timeout(Duration::from_millis(20)).is_err());
        // ...while the other core's calls settle on their own.
        let effects = quick.process_event(Event::Fetch(3));
        assert_eq!(effects.len(), 1);
        assert!(resolve_all(&quick, effects) == 1);
        assert_eq!(quick.view().got, 1);
        assert!(!release.load(SeqCst), "the busy command was still spinning");
        release.store(true, SeqCst);
        assert_eq!(recv(&done_rx, "the busy core's call"), 0);
        spinner.join().unwrap();
        assert_eq!(busy.view().got, 1);
    });
}

/// Calls on one core from many threads, each with a few commands, many rounds: a lost
/// wake-up of a settling caller would hang (and the watchdog report it).
#[test]
fn no_lost_wake_up_of_a_settling_caller() {
    Watchdog::new("many short settles from 4 threads").run(|| {
        let core = Arc::new(Core::<TestApp>::new());
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let core = core.clone();
                thread::spawn(move || {
                    for n in 0..2_000u64 {
                        let effects = core.process_event(Event::Fetch(t * 10_000 + n));
                        resolve_all(&core, effects);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(core.view().got, 8_000);
    });
}

/// crux #577 under real threads: `Command::all` of 16 requests per command, resolved from
/// 8 threads at once, so that one thread resolves a request while another steps the same
/// command (crux's executor can then evict a live sub-task: its command would never finish,
/// and the watchdog would report it). The same load runs through `crux_core::Core`, whose
/// `resolve` also resolves outside its lock, as a reference.
fn fan_out_from_eight_threads(core: Arc<dyn common::Drive + Send>, rounds: usize) -> u64 {
    let mut lost = 0;
    for _ in 0..rounds {
        let before = core.view().got;
        let mut effects = Vec::new();
        for _ in 0..8 {
            effects.extend(core.event(Event::FanOut(16)));
        }
        assert_eq!(effects.len(), 8 * 16);
        let mut shares: Vec<Vec<Effect>> = (0..THREADS).map(|_| Vec::new()).collect();
        for (i, effect) in effects.into_iter().enumerate() {
            shares[i % THREADS].push(effect);
        }
        let barrier = Arc::new(std::sync::Barrier::new(THREADS));
        let threads: Vec<_> = shares
            .into_iter()
            .map(|share| {
                let (core, barrier) = (core.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    for effect in share {
                        let Effect::Ask(mut request) = effect else {
                            panic!("asks only")
                        };
                        let value = request.operation.0;
                        assert!(core.answer(&mut request, value).unwrap().is_empty());
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        lost += 8 * 16 - (core.view().got - before);
    }
    lost
}

#[test]
fn crux_577_fan_out_resolved_from_eight_threads() {
    Watchdog::new("fan out resolved from 8 threads").run(|| {
        let genrt: Arc<dyn common::Drive + Send> = Arc::new(Core::<TestApp>::new());
        let lost = fan_out_from_eight_threads(genrt, 200);
        assert_eq!(lost, 0, "sub-tasks lost to crux #577 on genrt_crux::Core");
    });
}

/// A command woken outside any call (a plain thread completes what it awaits) steps on one
/// of the runtime's workers; the effects it emits wait for the next call, which settles
/// after that step (the wake was counted when it happened).
#[test]
fn a_command_woken_from_outside_steps_on_a_worker() {
    Watchdog::new("a wake from outside").run(|| {
        let rt = genrt::Builder::new()
            .worker_threads(2)
            .thread_name("crux-worker")
            .build()
            .unwrap();
        let core = Core::<TestApp>::with_runtime(rt.handle().clone());
        let (tx, rx) = futures::channel::oneshot::channel();
        let ran_on = Arc::new(std::sync::Mutex::new(None));
        let event = Event::External {
            value: Arc::new(std::sync::Mutex::new(Some(rx))),
            ran_on: ran_on.clone(),
        };
        assert!(
            core.process_event(event).is_empty(),
            "waiting for the value"
        );
        thread::Builder::new()
            .name("outsider".into())
            .spawn(move || tx.send(21).unwrap())
            .unwrap()
            .join()
            .unwrap();
        // The next call returns the effect the woken command emitted.
        let effects = core.process_event(Event::Got(0));
        let stepped_on = ran_on.lock().unwrap().clone();
        assert_eq!(
            stepped_on.as_deref(),
            Some("crux-worker"),
            "stepped on a worker"
        );
        assert_eq!(effects.len(), 1);
        assert_eq!(resolve_all(&core, effects), 1);
        assert_eq!(core.view().sum, 42);
    });
}

#[test]
fn core_is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Core<TestApp>>();
}

/// Dropping a core while workers step its commands (woken from another thread at that
/// moment) hangs nothing and panics nowhere: the runtime shuts down on any unhandled panic
/// of a task, so a step task panicking would show as a dead runtime.
#[test]
fn dropping_a_core_while_its_commands_step_on_workers() {
    Watchdog::new("drop during steps").run(|| {
        let rt = genrt::Builder::new()
            .worker_threads(2)
            .unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime)
            .build()
            .unwrap();
        for _ in 0..50 {
            let core = Core::<TestApp>::with_runtime(rt.handle().clone());
            let mut senders = Vec::new();
            for _ in 0..50 {
                let (tx, rx) = futures::channel::oneshot::channel();
                let event = Event::External {
                    value: Arc::new(std::sync::Mutex::new(Some(rx))),
                    ran_on: Arc::new(std::sync::Mutex::new(None)),
                };
                assert!(core.process_event(event).is_empty());
                senders.push(tx);
            }
            let waker = thread::spawn(move || {
                for tx in senders {
                    let _ = tx.send(1);
                }
            });
            drop(core);
            waker.join().unwrap();
        }
        assert_eq!(
            rt.block_on(rt.spawn(async { 1 })).unwrap(),
            1,
            "the runtime is alive"
        );
    });
}

/// Commands started by events a command emits: the first steps next on the thread that ran
/// `update` (no hop), any further one on a worker.
#[test]
fn the_first_command_an_event_starts_steps_on_the_same_thread_the_next_on_a_worker() {
    Watchdog::new("commands started by events").run(|| {
        let rt = genrt::Builder::new()
            .worker_threads(2)
            .thread_name("crux-worker")
            .build()
            .unwrap();
        let core = Core::<TestApp>::with_runtime(rt.handle().clone());
        let names = Arc::new(std::sync::Mutex::new(Vec::new()));
        let caller = thread::Builder::new()
            .name("caller".into())
            .spawn({
                let names = names.clone();
                move || core.process_event(Event::RecordTwice(names)).len()
            })
            .unwrap();
        assert_eq!(caller.join().unwrap(), 0);
        let mut names = names.lock().unwrap().clone();
        names.sort();
        assert_eq!(names, ["caller", "crux-worker"]);
    });
}

/// A call is not starved by another thread that keeps the core busy: it returns at the
/// first instant its core settles after it started waiting, even if the other thread
/// counts new work right after that instant. (A settle that needed to *see* zero when it
/// woke could wait until the busy thread stopped.)
#[test]
fn a_settling_call_is_not_starved_by_a_busy_caller_on_another_thread() {
    Watchdog::new("a call next to a busy caller").run(|| {
        let core = Arc::new(Core::<TestApp>::new());
        let done = Arc::new(AtomicBool::new(false));
        let busy = {
            let (core, done) = (core.clone(), done.clone());
            thread::spawn(move || {
                let mut rounds = 0u64;
                // Bounded: the test fails (rather than hangs) if the other call never returns.
                while !done.load(SeqCst) && rounds < 200_000 {
                    let effects = core.process_event(Event::Fetch(rounds));
                    resolve_all(&core, effects);
                    rounds += 1;
                }
                rounds
            })
        };
        for n in 0..200 {
            // Started while the busy thread keeps the count above zero most of the time.
            // (Either thread's calls may return the other's effects.)
            let effects = core.process_event(Event::Fetch(1_000_000 + n));
            resolve_all(&core, effects);
        }
        done.store(true, SeqCst);
        let rounds = busy.join().unwrap();
        assert!(
            rounds < 200_000,
            "the calls of this thread returned only once the busy thread stopped"
        );
        resolve_all(&core, core.process_event(Event::Got(0)));
        assert_eq!(core.view().got, rounds + 200 + 1, "no command lost");
    });
}
