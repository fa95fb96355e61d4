//! Allocation accounting for the blocking pool: a dropped runtime gives back every byte of
//! its pool, its threads and its closures, those queued at shutdown and those that ran.
//!
//! Its own binary, with one test: the live-byte counter is process-global, and a test that
//! ends while another one measures makes the test harness allocate on its own threads (see
//! `memory.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use support::counting::{quiesce, threads, Baseline, CountingAlloc};
use support::{drop_runtime, runtime, wait_for, wait_until};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Creates and drops a runtime that runs a task and a blocking closure, through the same
/// helpers the measurement uses, so that lazily allocated process-global state exists before
/// the baseline is taken.
fn warm_up() {
    let threads = threads();
    let rt = runtime(2);
    wait_for(
        "a warm-up task",
        rt.spawn(async { genrt::yield_now().await }),
    )
    .unwrap();
    wait_for("a warm-up closure", rt.spawn_blocking(|| 1)).unwrap();
    drop_runtime(rt);
    quiesce(threads.as_ref());
}

/// The blocking pool gives back every byte with the runtime: closures queued at shutdown
/// (dropped unrun), closures that ran, their cells and results, the threads' state, and the
/// pool itself, which the runtime's shared state owns (a cycle between them would leak both).
#[test]
fn a_dropped_runtime_gives_back_its_blocking_pool_and_closures() {
    const CLOSURES: usize = 1_000;
    const THREADS: usize = 2;
    warm_up();

    let dropped = Arc::new(AtomicUsize::new(0));
    let running = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let baseline = Baseline::take();

    let rt = genrt::Builder::new()
        .worker_threads(2)
        .max_blocking_threads(THREADS)
        .build()
        .unwrap();
    for i in 0..CLOSURES {
        let guard = DropCount(dropped.clone(), vec![0u8; 64]);
        let (gate, running) = (gate.clone(), running.clone());
        // Detached: the join handle would keep the cell allocated.
        drop(rt.spawn_blocking(move || {
            let _guard = guard;
            running.fetch_add(1, Ordering::SeqCst);
            let (open, cv) = &*gate;
            let open = open.lock().unwrap();
            let _open = cv
                .wait_timeout_while(open, support::DEADLINE, |open| !*open)
                .unwrap();
            i
        }));
    }
    // Both threads hold a closure (a thread just started may not have taken one yet, and
    // the shutdown would drop that one as queued).
    wait_until("both blocking threads run a closure", || {
        running.load(Ordering::SeqCst) == THREADS
    });
    let dropper = std::thread::spawn(move || drop(rt));
    // The queued closures are dropped by the shutdown while the running ones are held.
    wait_until("the queued closures are dropped", || {
        dropped.load(Ordering::SeqCst) == CLOSURES - THREADS
    });
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    support::Watchdog::new("the drop waiting for running closures")
        .run(move || dropper.join().unwrap());
    assert_eq!(dropped.load(Ordering::SeqCst), CLOSURES);
    let after = baseline.measure();
    assert_eq!(
        after,
        baseline.bytes(),
        "live bytes after dropping a runtime with a busy blocking pool ({after}) differ from \
         the baseline ({}) by {} bytes",
        baseline.bytes(),
        after - baseline.bytes()
    );
}

/// Counts its drop; carries a buffer so that a leaked closure shows in live bytes.
struct DropCount(Arc<AtomicUsize>, #[allow(dead_code)] Vec<u8>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
