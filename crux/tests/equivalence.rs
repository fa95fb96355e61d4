//! The same app, driven by the same scripted shell through `crux_core::Core` and
//! `genrt_crux::Core`, gives the same effects and the same final view: requests, streams,
//! `Command::all`, `ctx.spawn`, events sent by commands, `Command::event`, a request that is
//! never resolved, and resolving a request twice (an error, never a panic).

mod common;

use std::collections::VecDeque;

use common::{describe, Drive, Effect, Event, TestApp, View, NEVER, TICKS};
use genrt_crux::{EventOrder, Options};
use support::{wait_until, Watchdog};

/// What one session saw: the effects of each call, in order, and the final view.
#[derive(Debug, PartialEq, Eq)]
struct Session {
    calls: Vec<Vec<String>>,
    view: View,
}

/// The scripted shell. With `sort`, each call's effects are put in a canonical order before
/// they are recorded and resolved (for `EventOrder::Completion`, where effects of different
/// commands within one call come back in completion order).
fn session(core: &dyn Drive, sort: bool) -> Session {
    let mut calls = Vec::new();
    let mut pending: VecDeque<Effect> = VecDeque::new();
    let mut held_asks = Vec::new();
    let mut held_streams = Vec::new();
    let mut record = |mut effects: Vec<Effect>, pending: &mut VecDeque<Effect>| {
        if sort {
            effects.sort_by_key(describe);
        }
        calls.push(effects.iter().map(describe).collect::<Vec<_>>());
        pending.extend(effects);
    };
    let script = [
        Event::Fetch(1),
        Event::FanOut(3),
        Event::Subscribe(10),
        Event::Spawned(5),
        Event::Chain(7),
        Event::Forever,
        Event::Fetch(2),
        Event::FanOut(2),
    ];
    for event in script {
        record(core.event(event), &mut pending);
        while let Some(effect) = pending.pop_front() {
            match effect {
                Effect::Ask(request) if request.operation.0 == NEVER => held_asks.push(request),
                Effect::Ask(mut request) => {
                    let value = request.operation.0 * 2;
                    record(core.answer(&mut request, value).unwrap(), &mut pending);
                    // A one-shot request resolved twice: an error, never a panic (crux_core
                    // panics in debug builds).
                    if !core.bad_resolve_panics() {
                        assert!(core.answer(&mut request, 0).is_err());
                    }
                }
                Effect::Ticks(mut request) => {
                    for i in 0..TICKS {
                        let value = request.operation.0 + i;
                        record(core.tick(&mut request, value).unwrap(), &mut pending);
                    }
                    held_streams.push(request);
                }
                Effect::Render(mut request) => {
                    // A notification cannot be resolved: an error, never a panic.
                    if !core.bad_resolve_panics() {
                        assert!(core.render(&mut request).is_err());
                    }
                }
            }
        }
    }
    let mut view = core.view();
    if sort {
        view.log.sort();
    }
    Session { calls, view }
}

fn compare(options: Options, sort: bool) {
    let expected = session(&crux_core::Core::<TestApp>::new(), sort);
    let core = genrt_crux::Core::with_options(TestApp, Default::default(), options);
    let actual =
        Watchdog::new("a scripted session on genrt_crux::Core").run(move || session(&core, sort));
    assert_eq!(actual, expected);
    // The script really exercises every kind of command.
    for expected_line in [
        "fan out 3",
        "tick 12",
        "spawned 5",
        "got 10",
        "got 12",
        "got 7",
    ] {
        assert!(
            expected.view.log.iter().any(|line| line == expected_line),
            "the session's log lacks {expected_line:?}: {:?}",
            expected.view.log
        );
    }
}

#[test]
fn fifo_order_gives_crux_cores_effects_and_view_exactly() {
    compare(Options::new().event_order(EventOrder::Fifo), false);
}

#[test]
fn completion_order_gives_the_same_effects_per_call_and_the_same_view() {
    compare(Options::new(), true);
}

#[test]
fn on_the_callers_runtime_too() {
    let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
    compare(Options::new().runtime(rt.handle().clone()), true);
    compare(
        Options::new()
            .runtime(rt.handle().clone())
            .event_order(EventOrder::Fifo),
        false,
    );
    // The cores' drops returned once their command futures were dropped; the runtime frees
    // each task's slot just after, so its count follows within a bounded wait.
    wait_until("the cores' tasks are gone from the runtime", || {
        rt.metrics().snapshot().live_tasks == 0
    });
}
