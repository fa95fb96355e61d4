//! Leak-freedom, measured with a counting allocator: dropping a `genrt_crux::Core` while the
//! shell still holds 10,000 unresolved requests frees every command future (on a runtime of
//! its own, and on the caller's, which lives on without the core's tasks); the held requests
//! keep no more than crux_core's own keep; resolving them afterwards is a no-op; dropping
//! them gives back every byte. And a live core gives back a finished burst of commands'
//! memory (its map of live commands shrinks).
//!
//! The live-byte counter is process-global, so every test here takes `serial()` first (this
//! binary has its own `#[global_allocator]`, hence its own file).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use common::{Drive, Effect, Event, TestApp};
use crux_core::Request;
use support::counting::{live_bytes, Baseline, CountingAlloc};
use support::{serial, wait_until, Watchdog};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Requests the shell holds when the core drops.
const HELD: usize = 10_000;

/// Takes the `Ask` out of the one effect of a `Hold` event.
fn only_ask(mut effects: Vec<Effect>) -> Request<common::Ask> {
    assert_eq!(effects.len(), 1, "a Hold command emits one request");
    match effects.pop() {
        Some(Effect::Ask(request)) => request,
        _ => panic!("a Hold command emits an Ask"),
    }
}

/// Starts `HELD` commands on `core`, each suspended on a request the caller keeps.
fn hold(core: &dyn Drive, drops: &Arc<AtomicUsize>) -> Vec<Request<common::Ask>> {
    let mut held = Vec::with_capacity(HELD);
    for _ in 0..HELD {
        held.push(only_ask(core.event(Event::Hold(drops.clone()))));
    }
    assert_eq!(
        drops.load(SeqCst),
        0,
        "every command is suspended, none dropped"
    );
    held
}

/// Runs one core through a request and back, and drops it, so that lazily allocated
/// process-global state exists before a baseline.
fn warm_up() {
    let drops = Arc::new(AtomicUsize::new(0));
    let crux = crux_core::Core::<TestApp>::new();
    let mut request = only_ask(crux.process_event(Event::Hold(drops.clone())));
    let _ = crux.resolve(&mut request, 1).unwrap();
    drop(crux);
    for owned in [true, false] {
        let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
        let core = if owned {
            genrt_crux::Core::<TestApp>::new()
        } else {
            genrt_crux::Core::<TestApp>::with_runtime(rt.handle().clone())
        };
        let mut request = only_ask(core.process_event(Event::Hold(drops.clone())));
        let _ = core.resolve(&mut request, 1).unwrap();
        let _ = hold(&core, &Arc::new(AtomicUsize::new(0)));
        drop(core);
        drop(rt);
    }
}

/// Bytes the `HELD` requests of a dropped crux_core::Core keep.
fn crux_core_held_bytes() -> isize {
    let drops = Arc::new(AtomicUsize::new(0));
    let baseline = Baseline::take();
    let core = crux_core::Core::<TestApp>::new();
    let held = hold(&core, &drops);
    drop(core);
    assert_eq!(
        drops.load(SeqCst),
        HELD,
        "crux_core frees its commands on drop"
    );
    let kept = baseline.measure() - baseline.bytes();
    drop(held);
    baseline.check(format_args!("dropping crux_core's held requests"));
    kept
}

/// The scenario on `genrt_crux::Core`; returns the bytes the held requests keep.
///
/// On the caller's runtime, the runtime is checked to live on without the core's tasks, and
/// is dropped before the bytes are read: it keeps what it grew (slab pages, deque buffers)
/// until it drops, which is not the requests' doing.
fn genrt_crux_held_bytes(owned: bool) -> isize {
    let drops = Arc::new(AtomicUsize::new(0));
    let baseline = Baseline::take();
    let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
    let core = if owned {
        genrt_crux::Core::<TestApp>::new()
    } else {
        genrt_crux::Core::<TestApp>::with_runtime(rt.handle().clone())
    };
    let mut held = hold(&core, &drops);
    let during = live_bytes() - baseline.bytes();
    drop(core);
    assert_eq!(
        drops.load(SeqCst),
        HELD,
        "every command future is freed when the core's drop returns (owned runtime: {owned})"
    );
    if !owned {
        // The runtime frees each task's slot just after its future.
        wait_until("the runtime has none of the core's tasks", || {
            rt.metrics().snapshot().live_tasks == 0
        });
    }
    // The caller's runtime lives on and still runs tasks.
    assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
    drop(rt);
    let kept = baseline.measure() - baseline.bytes();
    assert!(
        kept < during / 2,
        "dropping the core gave back the commands ({during} bytes live with them, {kept} after)"
    );
    // Resolving a held request after the core is gone: a no-op, never a panic or a wake
    // of freed memory.
    for request in &mut held {
        assert!(request.resolve(7).is_ok());
        assert!(
            request.resolve(7).is_err(),
            "a one-shot request resolves once"
        );
    }
    drop(held);
    baseline.check(format_args!(
        "dropping the held requests of a dropped genrt_crux::Core (owned runtime: {owned})"
    ));
    kept
}

#[test]
fn a_dropped_core_frees_every_command_and_its_held_requests_keep_no_more_than_crux_cores() {
    let _serial = serial();
    let _watchdog = Watchdog::new("the leak scenario")
        .limit(std::time::Duration::from_secs(300))
        .arm();
    {
        warm_up();
        let crux = crux_core_held_bytes();
        let owned = genrt_crux_held_bytes(true);
        let caller = genrt_crux_held_bytes(false);
        let per = |bytes: isize| bytes as f64 / HELD as f64;
        println!(
            "bytes kept per held request after the core's drop: crux_core {:.0}, \
                 genrt_crux (own runtime) {:.0}, genrt_crux (caller's runtime) {:.0}",
            per(crux),
            per(owned),
            per(caller)
        );
        for (what, kept) in [("own runtime", owned), ("caller's runtime", caller)] {
            assert!(
                kept <= crux,
                "held requests of a dropped genrt_crux::Core ({what}) keep {} B each, \
                     more than crux_core's {} B",
                per(kept),
                per(crux)
            );
        }
    }
}

/// An app whose commands each wait for one request and end, leaving the model unchanged:
/// what a burst of them costs a live core is only the core's own bookkeeping. (In a module of
/// its own: crux's `effect` macro makes public items without docs.)
mod burst {
    /// The app.
    #[derive(Default)]
    pub struct Burst;

    /// The burst app's one effect.
    #[crux_core::macros::effect]
    pub enum BurstEffect {
        /// A request of one command.
        Ask(crate::common::Ask),
    }

    impl crux_core::App for Burst {
        type Event = ();
        type Model = ();
        type ViewModel = ();
        type Effect = BurstEffect;

        fn update(&self, (): (), _model: &mut ()) -> crux_core::Command<BurstEffect, ()> {
            crux_core::Command::new(|ctx| async move {
                ctx.request_from_shell(crate::common::Ask(1)).await;
            })
        }

        fn view(&self, _model: &()) {}
    }
}

use burst::{Burst, BurstEffect};

/// A live core gives back what a finished burst of commands took: after 10,000 suspended
/// commands are resolved and end, it keeps less than 16 KiB of the 10,000 commands' memory
/// (its map of live commands shrinks with them; without that it kept the burst's table,
/// 278,460 B).
#[test]
fn a_live_core_gives_back_a_finished_bursts_memory() {
    let _serial = serial();
    let _watchdog = Watchdog::new("the burst scenario")
        .limit(std::time::Duration::from_secs(300))
        .arm();
    warm_up();
    let rt = genrt::Builder::new().worker_threads(2).build().unwrap();
    let core = genrt_crux::Core::<Burst>::with_runtime(rt.handle().clone());
    let ask = |effects: Vec<BurstEffect>| match <[_; 1]>::try_from(effects) {
        Ok([BurstEffect::Ask(request)]) => request,
        _ => panic!("a command emits one Ask"),
    };
    // One round trip first: what a core allocates once is in the baseline.
    let mut first = ask(core.process_event(()));
    assert!(core.resolve(&mut first, 2).unwrap().is_empty());
    drop(first);
    let baseline = Baseline::take();
    let mut held: Vec<_> = (0..HELD).map(|_| ask(core.process_event(()))).collect();
    let during = live_bytes() - baseline.bytes();
    for request in &mut held {
        assert!(core.resolve(request, 2).unwrap().is_empty());
    }
    drop(held);
    let kept = baseline.measure() - baseline.bytes();
    println!("a burst of {HELD} commands: {during} B live during it, {kept} B kept after it");
    assert!(
        kept < 16 * 1024,
        "the core kept {kept} B of a finished burst of {HELD} commands ({during} B during it)"
    );
    drop(core);
    drop(rt);
}
