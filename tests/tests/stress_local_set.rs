//! Stress: `LocalSet`s under foreign wakes, aborts and drops. Each round a set on a
//! current-thread runtime holds 300 local tasks (each awaits a value another thread sends,
//! some spawn a child, some yield in a loop); three foreign threads send the values, abort
//! some tasks and drop some senders while the set runs; then the set is either run until
//! every task is done or dropped mid-way, with the foreign threads still waking it.
//!
//! After each round: every future was dropped exactly once, every join handle resolved
//! (value, cancelled, or the channel's closing), and nothing hung (the watchdog).

use std::rc::Rc;
use std::sync::{Arc, Mutex};

use futures::channel::oneshot;
use genrt::task::{self, LocalSet};
use support::{assert_dropped_once, drop_counts, report, DropOnce, Watchdog};

const ROUNDS: usize = 60;
const TASKS: usize = 300;
const FOREIGN: usize = 3;

/// A tiny deterministic generator (xorshift), so that a failing round can be replayed.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn local_sets_survive_foreign_wakes_aborts_and_drops() {
    let totals = Watchdog::new("stress_local_set")
        .limit(support::stress::LIMIT)
        .run(|| {
            let mut totals = (0usize, 0usize, 0usize);
            for round in 0..ROUNDS {
                let (done, cancelled, closed) = one_round(round);
                totals.0 += done;
                totals.1 += cancelled;
                totals.2 += closed;
            }
            totals
        });
    report(format_args!(
        "stress_local_set: {ROUNDS} rounds of {TASKS} local tasks: {} finished, {} cancelled, \
         {} saw their sender dropped",
        totals.0, totals.1, totals.2
    ));
}

/// One round; returns how many tasks finished with their value, were cancelled, and saw
/// their sender dropped.
fn one_round(round: usize) -> (usize, usize, usize) {
    let mut seed = 0x9e37_79b9_7f4a_7c15 ^ (round as u64 + 1);
    let rt = genrt::Builder::new_current_thread().build().unwrap();
    let local = LocalSet::new();
    let counts = drop_counts(TASKS);
    let not_send = Rc::new(());
    let mut senders = Vec::with_capacity(TASKS);
    let mut joins = Vec::with_capacity(TASKS);
    let mut aborts = Vec::new();
    for index in 0..TASKS {
        let (tx, rx) = oneshot::channel::<usize>();
        senders.push(tx);
        let guard = DropOnce::new(&counts, index);
        let not_send = not_send.clone();
        let kind = next(&mut seed) % 4;
        let join = local.spawn_local(async move {
            let _guard = guard;
            let _not_send = not_send;
            match kind {
                // Spawns a child that yields, and joins it.
                0 => {
                    let child = task::spawn_local(async {
                        task::yield_now().await;
                        1
                    });
                    assert_eq!(child.await.unwrap(), 1);
                }
                // Yields a few times first.
                1 => {
                    for _ in 0..3 {
                        task::yield_now().await;
                    }
                }
                _ => {}
            }
            rx.await.map_err(|_| ())
        });
        if next(&mut seed) % 5 == 0 {
            aborts.push(join.abort_handle());
        }
        joins.push(join);
    }

    // Foreign threads: each takes a share of the senders; sends, or drops the sender, and
    // aborts some tasks, while the set runs.
    let shared = Arc::new(Mutex::new(
        senders.into_iter().enumerate().collect::<Vec<_>>(),
    ));
    let aborts = Arc::new(Mutex::new(aborts));
    let foreign: Vec<_> = (0..FOREIGN)
        .map(|t| {
            let (shared, aborts) = (shared.clone(), aborts.clone());
            std::thread::spawn(move || {
                let mut seed = (round * FOREIGN + t) as u64 + 7;
                loop {
                    if next(&mut seed) % 7 == 0 {
                        if let Some(abort) = aborts.lock().unwrap().pop() {
                            abort.abort();
                        }
                    }
                    let Some((index, tx)) = shared.lock().unwrap().pop() else {
                        break;
                    };
                    if next(&mut seed) % 6 == 0 {
                        drop(tx);
                    } else {
                        let _ = tx.send(index);
                    }
                    if next(&mut seed) % 16 == 0 {
                        std::thread::yield_now();
                    }
                }
            })
        })
        .collect();

    let drop_mid_way = round % 3 == 2;
    let outcomes = if drop_mid_way {
        // Run a little, then drop the set while the foreign threads may still wake it.
        local.block_on(&rt, async {
            for _ in 0..5 {
                task::yield_now().await;
            }
        });
        drop(local);
        None
    } else {
        let joins = std::mem::take(&mut joins);
        Some(local.block_on(&rt, async move {
            let mut outcomes = Vec::with_capacity(TASKS);
            for join in joins {
                outcomes.push(join.await);
            }
            outcomes
        }))
    };
    for thread in foreign {
        thread.join().expect("a foreign thread panicked");
    }
    let (mut done, mut cancelled, mut closed) = (0, 0, 0);
    match outcomes {
        Some(outcomes) => {
            for (index, outcome) in outcomes.into_iter().enumerate() {
                match outcome {
                    Ok(Ok(value)) => {
                        assert_eq!(
                            value, index,
                            "round {round}: task {index} got another value"
                        );
                        done += 1;
                    }
                    Ok(Err(())) => closed += 1,
                    Err(err) => {
                        assert!(err.is_cancelled(), "round {round}: task {index}: {err:?}");
                        cancelled += 1;
                    }
                }
            }
        }
        None => {
            // The set was dropped: every unfinished task's handle reports cancelled.
            let rt2 = genrt::Builder::new_current_thread().build().unwrap();
            for join in joins {
                match rt2.block_on(join) {
                    Ok(Ok(_)) => done += 1,
                    Ok(Err(())) => closed += 1,
                    Err(err) => {
                        assert!(err.is_cancelled(), "round {round}: {err:?}");
                        cancelled += 1;
                    }
                }
            }
        }
    }
    assert_eq!(done + cancelled + closed, TASKS);
    assert_dropped_once(&counts, 0..TASKS, format_args!("round {round}"));
    assert_eq!(
        Rc::strong_count(&not_send),
        1,
        "round {round}: a future was kept"
    );
    drop(rt);
    (done, cancelled, closed)
}
