//! `genrt::time::pause` and `resume`: pausing a running clock, resuming a paused one, and
//! what holds a paused clock back (a `block_on` thread polling its future or woken to poll
//! it, a blocking closure). Ports `pause_time_in_main`, `pause_time_in_task`,
//! `pause_time_in_main_threads` and `pause_time_in_spawn_threads` from Tokio's
//! `time_pause.rs` (as in Tokio, only a current-thread runtime pauses at run time).
//!
//! Every test runs under a watchdog: a paused clock that never jumps, or a resumed one that
//! no worker waits for, is a hang. No test asserts an upper bound on the real clock.

use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use genrt::time::{self, advance, sleep, sleep_until, timeout, Instant};

use support::{panic_message, quiet_panics, Watchdog};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn current_thread() -> genrt::Runtime {
    genrt::Builder::new_current_thread()
        .build()
        .expect("the runtime starts")
}

/// Runs `body` in `block_on` on a fresh current-thread runtime, under a watchdog.
fn run<F: Future<Output = ()> + Send + 'static>(what: &'static str, body: F) {
    Watchdog::new(what).run(move || current_thread().block_on(body));
}

/// Tokio's `assert_elapsed!`: a clock paused at any instant jumps to timer ticks (1 ms), so
/// a sleep of `d` from that instant ends between `d` and `d + 1 ms` later, as in Tokio.
#[track_caller]
fn assert_elapsed(start: Instant, d: Duration) {
    let elapsed = start.elapsed();
    assert!(
        d <= elapsed && elapsed <= d + ms(1),
        "elapsed {elapsed:?}, expected {d:?} to {:?}",
        d + ms(1)
    );
}

/// Polls `future` once with a waker that does nothing; returns whether it was ready.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> bool {
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    future.poll(&mut cx).is_ready()
}

// Tokio: time_pause.rs, `pause_time_in_main`.
#[test]
fn pause_time_in_main() {
    run("pause in main", async { time::pause() });
}

// Tokio: time_pause.rs, `pause_time_in_task`.
#[test]
fn pause_time_in_task() {
    run("pause in a task", async {
        genrt::spawn(async { time::pause() }).await.unwrap();
    });
}

#[test]
fn a_paused_clock_stands_still_and_jumps_to_the_next_timer() {
    run("pause, then a one-hour sleep", async {
        time::pause();
        let start = Instant::now();
        std::thread::sleep(ms(20));
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "a paused clock stands still"
        );
        sleep(Duration::from_secs(3600)).await;
        assert_elapsed(start, Duration::from_secs(3600));
        let before = Instant::now();
        advance(ms(1500)).await;
        assert_eq!(before.elapsed(), ms(1500), "advance is exact");
    });
}

// Tokio: time_pause.rs, `pause_time_in_main_threads` (`#[should_panic]` there).
#[test]
fn pause_time_in_main_threads() {
    let _quiet = quiet_panics();
    let rt = genrt::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let panicked =
        catch_unwind(AssertUnwindSafe(|| rt.block_on(async { time::pause() }))).unwrap_err();
    assert!(panic_message(&*panicked)
        .unwrap()
        .contains("requires a current-thread runtime"));
}

// Tokio: time_pause.rs, `pause_time_in_spawn_threads`.
#[test]
fn pause_time_in_spawn_threads() {
    let _quiet = quiet_panics();
    let rt = genrt::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let joined = Watchdog::new("pause in a multi-thread task")
        .run(move || rt.block_on(async { genrt::spawn(async { time::pause() }).await }));
    assert!(joined.unwrap_err().is_panic());
}

/// A current-thread runtime given two workers: the paused clock jumps only when both are
/// idle.
#[test]
fn a_current_thread_runtime_with_two_workers_pauses() {
    Watchdog::new("pause on two workers").run(|| {
        let rt = genrt::Builder::new_current_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            time::pause();
            let start = Instant::now();
            let sleeps: Vec<_> = (1..=20u64)
                .map(|i| {
                    genrt::spawn(async move {
                        sleep(Duration::from_secs(i * 60)).await;
                        Instant::now()
                    })
                })
                .collect();
            for (i, sleep) in (1..=20u64).zip(sleeps) {
                let woke = sleep.await.unwrap();
                let slept = woke - start;
                let d = Duration::from_secs(i * 60);
                assert!(d <= slept && slept <= d + ms(1), "{slept:?} for {d:?}");
            }
        });
    });
}

#[test]
fn pausing_twice_resuming_a_running_clock_and_pausing_outside_a_runtime_panic() {
    let _quiet = quiet_panics();
    let rt = current_thread();
    let twice = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            time::pause();
            time::pause();
        })
    }))
    .unwrap_err();
    assert!(panic_message(&*twice).unwrap().contains("already paused"));

    let rt = current_thread();
    let running =
        catch_unwind(AssertUnwindSafe(|| rt.block_on(async { time::resume() }))).unwrap_err();
    assert!(panic_message(&*running).unwrap().contains("not paused"));

    let outside = catch_unwind(time::pause).unwrap_err();
    assert!(panic_message(&*outside)
        .unwrap()
        .contains("outside a genrt runtime"));
    let outside = catch_unwind(time::resume).unwrap_err();
    assert!(panic_message(&*outside)
        .unwrap()
        .contains("outside a genrt runtime"));
}

#[test]
fn the_clock_does_not_jump_while_block_on_polls_its_future() {
    run("no jump while block_on polls", async {
        time::pause();
        let start = Instant::now();
        let mut timer = pin!(sleep(ms(10)));
        assert!(!poll_once(timer.as_mut()), "registered, not due");
        // The insert notified a worker, which finds nothing to run: it would jump the clock
        // if this thread, still inside the poll of its future, did not hold it.
        std::thread::sleep(ms(30));
        assert_eq!(start.elapsed(), Duration::ZERO);
        timer.await;
        assert_elapsed(start, ms(10));
    });
}

// As Tokio's `advance_after_poll` (time_pause.rs), in `block_on` and repeated: `advance`
// yields, and the clock must not jump to the pending timer while `block_on` polls again.
#[test]
fn advance_moves_the_clock_by_exactly_its_argument_in_block_on() {
    run("advance in block_on", async {
        time::pause();
        for _ in 0..200 {
            let start = Instant::now();
            let mut timer = pin!(sleep_until(start + ms(300)));
            assert!(!poll_once(timer.as_mut()));
            let before = Instant::now();
            advance(ms(100)).await;
            assert_eq!(before.elapsed(), ms(100));
            assert!(!poll_once(timer.as_mut()));
        }
    });
}

#[test]
fn the_clock_does_not_jump_between_a_wake_of_block_on_and_its_poll() {
    run("no jump between a wake and the poll", async {
        time::pause();
        let start = Instant::now();
        // A timer the clock could jump to whenever the runtime has nothing to do.
        let background = genrt::spawn(sleep(Duration::from_secs(3600)));
        for _ in 0..300 {
            // The task completes and wakes this thread; the worker then has nothing to run,
            // but the wake holds the clock until this thread has polled.
            genrt::spawn(async {}).await.unwrap();
            assert_eq!(start.elapsed(), Duration::ZERO);
        }
        background.await.unwrap();
        assert_elapsed(start, Duration::from_secs(3600));
    });
}

#[test]
fn a_resumed_clock_runs_on_from_where_it_stood() {
    Watchdog::new("resume").run(|| {
        let rt = genrt::Builder::new_current_thread()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let start = Instant::now();
            advance(Duration::from_secs(3600)).await;
            time::resume();
            let real = std::time::Instant::now();
            sleep(ms(20)).await;
            assert!(
                real.elapsed() >= ms(20),
                "after resume, sleeps take real time"
            );
            assert!(start.elapsed() >= Duration::from_secs(3600) + ms(20));
            // Paused again, it does not go back.
            let before_pause = Instant::now();
            time::pause();
            assert!(Instant::now() >= before_pause);
        });
    });
}

#[test]
fn a_timer_set_while_paused_fires_after_resume() {
    // Paused workers park without a timeout; after the resume some worker must wait for
    // this timer on the real clock again.
    run("a timer across a resume", async {
        time::pause();
        let start = Instant::now();
        let timer = genrt::spawn(sleep(ms(50)));
        // Let the task register its timer; this thread holds the clock meanwhile.
        std::thread::sleep(ms(10));
        time::resume();
        timer.await.unwrap();
        assert!(start.elapsed() >= ms(50));
    });
}

#[test]
fn pausing_wakes_a_worker_waiting_on_the_real_clock() {
    Watchdog::new("pause during a timed park").run(|| {
        let rt = current_thread();
        // The worker parks with a one-hour timeout for this timer.
        let sleeper = rt.spawn(async {
            let start = Instant::now();
            sleep(Duration::from_secs(3600)).await;
            start.elapsed()
        });
        std::thread::sleep(ms(20));
        let slept = rt.block_on(async {
            time::pause();
            sleeper.await.unwrap()
        });
        assert!(slept >= Duration::from_secs(3600));
    });
}

#[test]
fn a_blocking_closure_started_before_the_pause_holds_the_clock() {
    run("spawn_blocking across a pause", async {
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let closure = genrt::spawn_blocking(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        started_rx.recv().unwrap();
        time::pause();
        // The closure runs while this task waits under a timeout: the clock must not jump
        // to the timeout's deadline while the closure is in flight.
        let waiter = genrt::spawn(timeout(ms(10), closure));
        std::thread::sleep(ms(30));
        release_tx.send(()).unwrap();
        let result = waiter.await.unwrap();
        assert!(
            result.is_ok(),
            "the timeout fired while the blocking closure held the clock"
        );
    });
}

#[test]
fn a_waker_kept_after_block_on_returned_holds_nothing() {
    Watchdog::new("a stale block_on waker").run(|| {
        let rt = current_thread();
        let kept: Arc<Mutex<Option<Waker>>> = Arc::default();
        rt.block_on({
            let kept = kept.clone();
            poll_fn(move |cx| {
                *kept.lock().unwrap() = Some(cx.waker().clone());
                Poll::Ready(())
            })
        });
        let waker = kept.lock().unwrap().take().unwrap();
        // A hold taken by these wakes would keep the paused clock from ever jumping again.
        waker.wake_by_ref();
        waker.wake();
        rt.block_on(async {
            time::pause();
            let start = Instant::now();
            sleep(Duration::from_secs(60)).await;
            assert_elapsed(start, Duration::from_secs(60));
        });
    });
}

#[test]
fn many_pauses_and_resumes_under_running_timers() {
    Watchdog::new("pause/resume storm").run(|| {
        let rt = genrt::Builder::new_current_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let sleepers: Vec<_> = (0..50u64)
                .map(|i| {
                    genrt::spawn(async move {
                        let start = Instant::now();
                        sleep(Duration::from_micros(i * 397 % 5_000)).await;
                        assert!(start.elapsed() >= Duration::from_micros(i * 397 % 5_000));
                    })
                })
                .collect();
            for _ in 0..100 {
                time::pause();
                genrt::task::yield_now().await;
                time::resume();
                genrt::task::yield_now().await;
            }
            for sleeper in sleepers {
                sleeper.await.unwrap();
            }
        });
    });
}

/// Wakes of a `block_on` thread from four threads at once, during its polls, its waits and
/// after it returned: every wake's clock hold is taken over or released, so the paused clock
/// still jumps afterwards (a hold left over would stop it for good: the second watchdog).
///
/// Each waking thread wakes once per poll of the future (and once after it returned): when
/// they woke without pause, on one loaded core each poll waited for the four of them to use
/// up their time slices, a round took up to 19 s and the storm ran past its watchdog. The
/// storm's length still depends on the machine, so it runs under the limit of a whole
/// scenario ([`support::LIMIT`]), reporting its round, and only the jump, which is what a
/// left-over hold would stop, is under the usual limit of one wait.
#[test]
fn concurrent_wakes_of_block_on_leave_no_hold_behind() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let storm = Watchdog::new("block_on wake storm").limit(support::LIMIT);
    let rt = storm.run_reporting(|progress| {
        let rt = current_thread();
        for round in 0..20 {
            progress.at_round("a round of wakes", round);
            let stop = Arc::new(AtomicBool::new(false));
            let polls = Arc::new(AtomicUsize::new(0));
            let wakers: Arc<Mutex<Option<Waker>>> = Arc::default();
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let (stop, wakers, polls) = (stop.clone(), wakers.clone(), polls.clone());
                    std::thread::spawn(move || {
                        let mut wakes = 0usize;
                        let mut seen = usize::MAX;
                        while !stop.load(Ordering::Relaxed) {
                            // One wake per poll of the future (and one after it returned):
                            // a thread waking without pause took the core from the block_on
                            // thread where cores were scarce (a round took seconds).
                            let now = polls.load(Ordering::Relaxed);
                            if now == seen {
                                std::thread::yield_now();
                                continue;
                            }
                            seen = now;
                            let waker = wakers.lock().unwrap().clone();
                            if let Some(waker) = waker {
                                waker.wake_by_ref();
                                wakes += 1;
                            }
                        }
                        wakes
                    })
                })
                .collect();
            rt.block_on({
                let (polls, wakers) = (polls.clone(), wakers.clone());
                poll_fn(move |cx| {
                    *wakers.lock().unwrap() = Some(cx.waker().clone());
                    if polls.fetch_add(1, Ordering::Relaxed) == 2_000 {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
            });
            // The threads go on waking the returned block_on's waker for a moment.
            std::thread::sleep(ms(2));
            stop.store(true, Ordering::Relaxed);
            let wakes: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
            assert!(wakes > 0);
        }
        rt
    });
    Watchdog::new("a paused sleep after the wake storm")
        .suspect("a clock hold left behind by a wake?")
        .run(move || {
            rt.block_on(async {
                time::pause();
                let start = Instant::now();
                sleep(Duration::from_secs(60)).await;
                assert_elapsed(start, Duration::from_secs(60));
            });
        });
}

/// `advance` racing `resume` and `pause` from another thread: an advance that returns has
/// moved the clock (before, one could land after a resume had read the paused value, and be
/// lost: 715 in 100,000 in a review's run), and one that finds the clock running panics as
/// documented.
#[test]
fn an_advance_racing_a_resume_is_never_lost() {
    use std::sync::atomic::{AtomicBool, Ordering};

    let _quiet = quiet_panics();
    Watchdog::new("advance racing resume")
        .limit(support::LIMIT)
        .run(|| {
            let rt = genrt::Builder::new_current_thread()
                .start_paused(true)
                .build()
                .unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let flipper = std::thread::spawn({
                let (handle, stop) = (rt.handle().clone(), stop.clone());
                move || {
                    let _entered = handle.enter();
                    while !stop.load(Ordering::Relaxed) {
                        if catch_unwind(time::resume).is_ok() {
                            let _ = catch_unwind(time::pause);
                        }
                    }
                }
            });
            let _entered = rt.enter();
            let mut lost = 0;
            for _ in 0..20_000 {
                let before = Instant::now();
                let advanced = catch_unwind(|| {
                    futures::executor::block_on(advance(Duration::from_secs(3600)))
                })
                .is_ok();
                if advanced && before.elapsed() < Duration::from_secs(3600) {
                    lost += 1;
                }
            }
            stop.store(true, Ordering::Relaxed);
            flipper.join().unwrap();
            assert_eq!(lost, 0, "advances that returned but did not move the clock");
        });
}

/// A paused clock advanced by a century, or past where it saturates (about 292 years: 300
/// years, `Duration::MAX`), then resumed, never runs backwards; a sleep after the resume is
/// not early when the clock has room left (a saturated clock stands still, and every timer
/// is due there).
#[test]
fn a_resume_after_an_advance_of_centuries_keeps_the_clock_and_sleeps_honest() {
    const YEAR: u64 = 365 * 86_400;
    for (by, room_left) in [
        (Duration::from_secs(100 * YEAR), true),
        (Duration::from_secs(300 * YEAR), false),
        (Duration::MAX, false),
    ] {
        let (back, slept) = Watchdog::new("resume after a huge advance").run(move || {
            let rt = genrt::Builder::new_current_thread()
                .start_paused(true)
                .build()
                .unwrap();
            rt.block_on(async move {
                genrt::time::advance(by).await;
                let paused_at = genrt::time::Instant::now();
                genrt::time::resume();
                let resumed_at = genrt::time::Instant::now();
                let start = std::time::Instant::now();
                genrt::time::sleep(Duration::from_millis(50)).await;
                (resumed_at < paused_at, start.elapsed())
            })
        });
        assert!(
            !back,
            "the clock went backwards on resume after advancing {by:?}"
        );
        if room_left {
            assert!(
                slept >= Duration::from_millis(50),
                "a sleep was early: {slept:?}"
            );
        }
    }
}
