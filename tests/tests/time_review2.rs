//! A second adversarial review of `genrt::time` and the timing wheel, against Tokio's own
//! time suite: what `time.rs`, `time_pause.rs`, `time_review.rs`, `time_tokio_ports.rs` and
//! `memory_time.rs` do not port or try.
//!
//! Ported (each test names its original):
//! - `tokio/tests/time_interval.rs`: `reset_doesnt_panic_max_duration`,
//!   `reset_after_doesnt_panic_max_duration`.
//! - `tokio/tests/time_sleep.rs`: `long_wait_sleep_does_not_break_other_timers`,
//!   `long_wait_sleep_does_not_corrupt_wheel`, `drop_from_waker_drop`.
//! - `tokio/tests/time_rt.rs`: `tickspace`.
//! - `tokio/tests/time_alt.rs` (Tokio's alternative timer; the scenarios hold for any timer):
//!   `sleep`, `timeout`, `cancelled_timer_waker_drop_can_register_timer`,
//!   `reset_should_stay_on_same_runtime` (the part that is not the alternative timer's own:
//!   a sleep reset in another runtime stays on its own runtime's clock).
//!
//! Skipped: `time_panic.rs` `timeout_at_panic_caller` (Tokio panics when a timeout is made
//! outside a runtime; genrt makes it and binds it at its first poll, a documented difference);
//! `time_alt.rs` `reset_should_stay_on_same_runtime`'s last line (Tokio's alternative timer
//! completes a sleep polled after its runtime dropped; genrt, as Tokio's default timer, panics:
//! asserted here instead); `time_alt.rs` `reset_should_stay_on_same_runtime2` (the same with a
//! second sleep); `time_pause.rs` `paused_time_*_unix_datagram_*` (genrt has no I/O).
//!
//! Adversarial: resets of fired-unpolled, registered and elapsed sleeps on an exact (paused)
//! clock; sleeps dropped and reset from other threads while the wheel fires them; exact
//! instants of many sleeps on several paused workers; interval alignment after late ticks for
//! each `MissedTickBehavior` against Tokio's formulas (random, and at the 5 ms tolerance's
//! edge); zero, sub-millisecond and far durations and instants, and an interval instant that
//! overflows `Instant` on a paused clock advanced a century (it was put in the far future of
//! the *polling context's* clock, so the next tick came at once: fixed in
//! `genrt::time::far_future`); current-thread runtimes
//! driven only by `block_on` (also two of them handing over); the paused clock held by
//! `spawn_blocking` closures (running, panicking, aborted while queued); timers used after
//! their runtime dropped (a panic with genrt's message, never a hang).
//!
//! Every wait is bounded (a watchdog or `wait_for`); exact times are read on paused clocks;
//! on the real clock only "never before the deadline" is checked.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures::FutureExt;
use genrt::time::{
    advance, interval, interval_at, sleep, sleep_until, timeout, timeout_at, Instant,
    MissedTickBehavior, Sleep,
};

use support::{
    panic_message, paused, paused_current_thread, quiet_panics, recv, runtime, wait_for,
    wait_until, Gate, Watchdog,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `body` as a task of `rt` and waits for it, under a watchdog.
fn run_task<F: Future<Output = ()> + Send + 'static>(
    what: &'static str,
    rt: genrt::Runtime,
    body: F,
) {
    Watchdog::new(what).run(move || {
        let join = rt.spawn(body);
        rt.block_on(join).expect("the test body panicked");
    });
}

/// Polls `future` once in the current task; whether it was ready.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> bool {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx).is_ready())).await
}

/// `d` rounded up to the millisecond: where a paused clock that stood on a tick lands.
fn ceil_ms(d: Duration) -> Duration {
    let nanos = d.as_nanos().div_ceil(1_000_000) * 1_000_000;
    Duration::from_nanos(u64::try_from(nanos).expect("a test duration"))
}

/// A waker that does nothing.
struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

fn noop_waker() -> Waker {
    Waker::from(Arc::new(Noop))
}

// ---- Ported: tokio/tests/time_interval.rs ----

// Tokio: tokio-rs/tokio, tests/time_interval.rs, `reset_doesnt_panic_max_duration`.
#[test]
fn reset_doesnt_panic_max_duration() {
    let rt = runtime(1);
    Watchdog::new("reset of an interval of Duration::MAX").run(move || {
        rt.block_on(async {
            let mut every = interval(Duration::MAX);
            every.reset();
            // And after its first tick (at once), again: the next is ~30 years away.
            let mut every = interval(Duration::MAX);
            every.tick().await;
            every.reset();
            assert!(!poll_once(&mut Box::pin(every.tick())).await);
        })
    });
}

// Tokio: tokio-rs/tokio, tests/time_interval.rs, `reset_after_doesnt_panic_max_duration`.
#[test]
fn reset_after_doesnt_panic_max_duration() {
    let rt = runtime(1);
    Watchdog::new("reset_after(Duration::MAX)").run(move || {
        rt.block_on(async {
            let mut every = interval(ms(1));
            every.reset_after(Duration::MAX);
            assert!(!poll_once(&mut Box::pin(every.tick())).await);
        })
    });
}

// ---- Ported: tokio/tests/time_sleep.rs ----

// Tokio: tokio-rs/tokio, tests/time_sleep.rs, `long_wait_sleep_does_not_break_other_timers`.
#[test]
fn long_wait_sleep_does_not_break_other_timers() {
    run_task(
        "a 10 ms sleep beside a 2^36 * 10 ms one",
        paused(1),
        async {
            genrt::spawn(sleep(ms(10 << 36)));
            advance(ms((1 << 30) - 1)).await;
            let start = Instant::now();
            sleep(ms(10)).await;
            assert_eq!(start.elapsed(), ms(10));
        },
    );
}

// Tokio: tokio-rs/tokio, tests/time_sleep.rs, `long_wait_sleep_does_not_corrupt_wheel`.
#[test]
fn long_wait_sleep_does_not_corrupt_wheel() {
    run_task("two sleeps beside a 2^36 * 10 ms one", paused(1), async {
        genrt::spawn(sleep(ms(10 << 36)));
        advance(ms((1 << 30) - 1)).await;
        let mut first = sleep(ms(10));
        assert!(!poll_once(&mut first).await);
        let mut second = sleep(ms(20));
        assert!(!poll_once(&mut second).await);
        advance(ms(30)).await;
        drop(first);
        advance(ms(1 << 31)).await;
        drop(second);
        // The wheel still works: a later sleep lands on its tick.
        let start = Instant::now();
        sleep(ms(3)).await;
        assert_eq!(start.elapsed(), ms(3));
    });
}

/// A waker that owns a sleep and drops it when it is dropped.
struct TimerOwner {
    secondary: Mutex<Option<Sleep>>,
}

impl Wake for TimerOwner {
    fn wake(self: Arc<Self>) {}
}

impl Drop for TimerOwner {
    fn drop(&mut self) {
        drop(self.secondary.lock().unwrap().take());
    }
}

// Tokio: tokio-rs/tokio, tests/time_sleep.rs, `drop_from_waker_drop`: the waker stored in a
// timer's entry drops another timer of the same wheel when it is dropped (it must not be
// dropped under the wheel's lock).
#[test]
fn drop_from_waker_drop() {
    let rt = runtime(1);
    Watchdog::new("a waker's drop dropping a timer").run(move || {
        let _guard = rt.enter();
        let mut secondary = sleep(Duration::from_secs(3600));
        let noop = noop_waker();
        assert!(Pin::new(&mut secondary)
            .poll(&mut Context::from_waker(&noop))
            .is_pending());
        let waker = Waker::from(Arc::new(TimerOwner {
            secondary: Mutex::new(Some(secondary)),
        }));
        let mut primary = sleep(Duration::from_secs(3600));
        assert!(Pin::new(&mut primary)
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        drop(waker);
        drop(primary);
        // The wheel is not left locked.
        rt.block_on(sleep(ms(1)));
    });
}

/// genrt's variants of `drop_from_waker_drop`: the stored waker is dropped when a poll with
/// another waker replaces it, and when the timer fires; both drop a second timer. (On a
/// paused current-thread runtime: its clock moves only where `block_on` drives it, not while
/// the test thread polls under its guard.)
#[test]
fn a_waker_that_drops_a_timer_is_replaced_and_fired_outside_the_wheel_s_lock() {
    let rt = paused_current_thread();
    Watchdog::new("wakers dropping timers when replaced or fired").run(move || {
        let _guard = rt.enter();
        let owner = |at| {
            let mut secondary = sleep(at);
            let noop = noop_waker();
            assert!(Pin::new(&mut secondary)
                .poll(&mut Context::from_waker(&noop))
                .is_pending());
            Waker::from(Arc::new(TimerOwner {
                secondary: Mutex::new(Some(secondary)),
            }))
        };
        // Replaced.
        let mut primary = sleep(Duration::from_secs(3600));
        let waker = owner(Duration::from_secs(7200));
        assert!(Pin::new(&mut primary)
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        drop(waker);
        let noop = noop_waker();
        assert!(Pin::new(&mut primary)
            .poll(&mut Context::from_waker(&noop))
            .is_pending());
        // Fired: the entry's waker is the last clone once the primary fires.
        let mut fired = sleep(ms(5));
        let waker = owner(Duration::from_secs(7200));
        assert!(Pin::new(&mut fired)
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        drop(waker);
        rt.block_on(async {
            advance(ms(5)).await;
            assert!(fired.is_elapsed());
            sleep(ms(1)).await;
        });
        drop(primary);
    });
}

// ---- Ported: tokio/tests/time_rt.rs ----

// Tokio: tokio-rs/tokio, tests/time_rt.rs, `tickspace`: a sleep made in one runtime and
// reset inside another keeps its own runtime's clock.
#[test]
fn tickspace() {
    Watchdog::new("a sleep reset in another runtime").run(|| {
        let rt_past = paused_current_thread();
        std::thread::sleep(ms(1));
        let rt = paused_current_thread();
        let _guard = rt_past.enter();
        let mut sleep = sleep(ms(1));
        let noop = noop_waker();
        assert!(Pin::new(&mut sleep)
            .poll(&mut Context::from_waker(&noop))
            .is_pending());
        let deadline = sleep.deadline();
        rt.block_on(async { Pin::new(&mut sleep).reset(deadline + ms(1)) });
        let now = Instant::now();
        rt_past.block_on(sleep);
        assert_eq!(now.elapsed(), ms(2));
    });
}

// ---- Ported: tokio/tests/time_alt.rs ----

/// Tokio's `rt_combinations` in `time_alt.rs`: multi-thread runtimes of 1 and 4 workers
/// (the alternative timer's pair are the same here), plus a current-thread one.
fn rt_combinations() -> Vec<genrt::Runtime> {
    vec![runtime(1), runtime(4), support::current_thread()]
}

// Tokio: tokio-rs/tokio, tests/time_alt.rs, `sleep`.
#[test]
fn time_alt_sleep() {
    const N: u32 = 512;
    for rt in rt_combinations() {
        Watchdog::new("512 sleeps").run(move || {
            rt.block_on(async {
                let now = Instant::now();
                sleep(ms(10)).await;
                assert!(now.elapsed() >= ms(10));
                let tasks: Vec<_> = (0..N)
                    .map(|_| {
                        genrt::spawn(async {
                            let now = Instant::now();
                            sleep(ms(10)).await;
                            assert!(now.elapsed() >= ms(10));
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
            })
        });
    }
}

// Tokio: tokio-rs/tokio, tests/time_alt.rs, `timeout`.
#[test]
fn time_alt_timeout() {
    const N: u32 = 512;
    for rt in rt_combinations() {
        Watchdog::new("512 timeouts").run(move || {
            rt.block_on(async {
                let now = Instant::now();
                timeout(ms(10), std::future::pending::<()>())
                    .await
                    .expect_err("timeout should occur");
                assert!(now.elapsed() >= ms(10));
                let tasks: Vec<_> = (0..N)
                    .map(|_| {
                        genrt::spawn(async {
                            let now = Instant::now();
                            timeout(ms(10), std::future::pending::<()>())
                                .await
                                .expect_err("timeout should occur");
                            assert!(now.elapsed() >= ms(10));
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
            })
        });
    }
}

/// Makes a sleep and polls it once, in its drop.
struct ReenterOnDrop;

impl Wake for ReenterOnDrop {
    fn wake(self: Arc<Self>) {}
}

impl Drop for ReenterOnDrop {
    fn drop(&mut self) {
        let _ = sleep(Duration::from_secs(5)).now_or_never();
    }
}

// Tokio: tokio-rs/tokio, tests/time_alt.rs, `cancelled_timer_waker_drop_can_register_timer`.
#[test]
fn cancelled_timer_waker_drop_can_register_timer() {
    let rt = runtime(1);
    Watchdog::new("a cancelled timer's waker registering a timer").run(move || {
        rt.block_on(async {
            genrt::spawn(async {
                let mut timer = sleep(Duration::from_secs(10));
                let waker = Waker::from(Arc::new(ReenterOnDrop));
                assert!(Pin::new(&mut timer)
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending());
                drop(waker);
                genrt::yield_now().await;
                drop(timer);
                genrt::yield_now().await;
            })
            .await
            .unwrap();
        })
    });
}

// Tokio: tokio-rs/tokio, tests/time_alt.rs, `reset_should_stay_on_same_runtime`: a sleep of
// `rt1` reset inside `rt2` stays on `rt1` (here `rt1`'s clock is paused, so the sleep
// completes at once in `rt1` after an hour's jump, which `rt2`'s real clock would not do).
// After `rt1` drops, polling it panics with genrt's message (Tokio's default timer panics
// too; its alternative timer, which the original tests, completes it).
#[test]
fn reset_should_stay_on_same_runtime() {
    let _quiet = quiet_panics();
    Watchdog::new("a sleep reset in another runtime").run(|| {
        let rt1 = paused(1);
        let rt2 = runtime(1);
        let (origin, sleep) = rt1
            .block_on(rt1.spawn(async { (Instant::now(), sleep(Duration::from_secs(3600))) }))
            .unwrap();
        let mut sleep = Box::pin(sleep);
        let noop = noop_waker();
        // Registered in rt1, whose idle worker may jump its clock to it at once.
        assert!(sleep
            .as_mut()
            .poll(&mut Context::from_waker(&noop))
            .is_pending());
        let mut sleep = rt2
            .block_on(rt2.spawn(
                #[allow(clippy::async_yields_async)]
                async move {
                    let at = sleep.deadline() + Duration::from_secs(3600);
                    sleep.as_mut().reset(at);
                    sleep
                },
            ))
            .unwrap();
        // On rt2's real clock this would take two hours (the watchdog's failure).
        rt1.block_on(sleep.as_mut());
        let now = rt1.block_on(async { Instant::now() });
        assert_eq!(now - origin, Duration::from_secs(7200));
        // Re-armed on rt1's clock, then rt1 drops: the poll panics, clearly.
        sleep.as_mut().reset(origin + Duration::from_secs(10_000));
        drop(rt1);
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt2.block_on(sleep.as_mut())
        }))
        .unwrap_err();
        assert!(
            panic_message(&*err)
                .unwrap_or_default()
                .contains("after its runtime shut down"),
            "{:?}",
            panic_message(&*err)
        );
    });
}

// ---- Resets on an exact clock ----

/// A sleep whose entry fired but that was not polled yet (`is_elapsed`), reset to a later
/// deadline, waits for the new deadline; as Tokio's (a reset re-arms a completed sleep).
#[test]
fn a_fired_unpolled_sleep_reset_later_waits_for_the_new_deadline() {
    run_task("a fired sleep reset later", paused(1), async {
        let start = Instant::now();
        let mut s = sleep(ms(10));
        assert!(!poll_once(&mut s).await);
        advance(ms(10)).await;
        assert!(s.is_elapsed(), "fired at its tick");
        Pin::new(&mut s).reset(start + ms(25));
        assert!(!s.is_elapsed(), "re-armed");
        assert!(!poll_once(&mut s).await, "ready 15 ms early");
        (&mut s).await;
        assert_eq!(start.elapsed(), ms(25));
        assert!(s.is_elapsed());
        // A completed (polled) sleep reset later, likewise.
        Pin::new(&mut s).reset(start + ms(40));
        assert!(
            !poll_once(&mut s).await,
            "completed sleep reset later is ready"
        );
        s.await;
        assert_eq!(start.elapsed(), ms(40));
    });
}

/// A registered sleep moved later does not complete at its old deadline (a paused clock jumps
/// to the new one), and one moved earlier completes at the new one.
#[test]
fn a_registered_sleep_moved_later_or_earlier_completes_at_the_new_deadline() {
    run_task("registered sleeps moved", paused(2), async {
        let start = Instant::now();
        let mut later = sleep(ms(10));
        assert!(!poll_once(&mut later).await);
        Pin::new(&mut later).reset(start + ms(3000));
        let mut earlier = sleep(ms(5000));
        assert!(!poll_once(&mut earlier).await);
        Pin::new(&mut earlier).reset(start + ms(7) + Duration::from_nanos(1));
        (&mut earlier).await;
        assert_eq!(start.elapsed(), ms(8));
        assert!(!later.is_elapsed());
        (&mut later).await;
        assert_eq!(start.elapsed(), ms(3000));
        // Moved back and forth many times while registered: the last deadline wins.
        let mut s = sleep(ms(1));
        assert!(!poll_once(&mut s).await);
        let base = Instant::now();
        for i in 0..200u64 {
            let at = base + ms(if i % 2 == 0 { 10_000 - i } else { 1 + i });
            Pin::new(&mut s).reset(at);
        }
        Pin::new(&mut s).reset(base + ms(4321));
        s.await;
        assert_eq!(base.elapsed(), ms(4321));
    });
}

/// A sleep that is not registered (never polled, or completed) reset to a deadline the
/// runtime has already passed is elapsed at once, as Tokio's (its reset registers the timer
/// and fires a due one); reset to a later deadline it is not, and waits for it.
#[test]
fn an_unregistered_sleep_reset_into_the_past_is_elapsed_at_once() {
    run_task(
        "an unregistered sleep reset into the past",
        paused(1),
        async {
            let start = Instant::now();
            advance(ms(5)).await;
            // Never polled.
            let mut fresh = sleep(ms(100));
            assert!(!fresh.is_elapsed());
            Pin::new(&mut fresh).reset(start + ms(1));
            assert!(fresh.is_elapsed(), "never polled, reset into the past");
            assert!(poll_once(&mut fresh).await);
            // Completed, then reset into the past again, then later.
            Pin::new(&mut fresh).reset(start);
            assert!(fresh.is_elapsed(), "completed, reset into the past");
            Pin::new(&mut fresh).reset(start + ms(20));
            assert!(!fresh.is_elapsed(), "re-armed for later");
            assert!(!poll_once(&mut fresh).await);
            (&mut fresh).await;
            assert_eq!(
                start.elapsed(),
                ms(20),
                "the clock jumped to the new deadline only"
            );
        },
    );
}

/// A registered sleep reset into the past completes at its next poll (it was woken), and is
/// elapsed; a sleep reset to its own passed deadline after completing completes again.
#[test]
fn a_registered_sleep_reset_into_the_past_completes_at_once() {
    run_task("a sleep reset into the past", paused(1), async {
        let start = Instant::now();
        let mut s = sleep(Duration::from_secs(3600));
        assert!(!poll_once(&mut s).await);
        advance(ms(2)).await;
        Pin::new(&mut s).reset(start);
        // As Tokio's: a reset to a due deadline fires the timer at once.
        assert!(s.is_elapsed(), "reset into the past, not yet polled");
        assert!(poll_once(&mut s).await, "a past deadline pends");
        assert!(s.is_elapsed());
        assert_eq!(start.elapsed(), ms(2), "the clock did not move");
        Pin::new(&mut s).reset(start + ms(1));
        assert!(poll_once(&mut s).await);
        // Far in the past: before the runtime started.
        let long_ago = start
            .checked_sub(Duration::from_secs(86_400 * 100))
            .expect("the machine has run for 100 days, or the clock starts at zero");
        Pin::new(&mut s).reset(long_ago);
        assert!(poll_once(&mut s).await);
        assert!(poll_once(&mut sleep_until(long_ago)).await);
    });
}

// ---- Other threads ----

/// What a test thread shares with the task polling a sleep: the sleep (`None` once dropped)
/// and the waker of the latest poll.
#[derive(Default)]
struct SharedSleep {
    sleep: Option<Sleep>,
    waker: Option<Waker>,
    /// The last deadline set, once the test is done resetting.
    last: Option<Instant>,
}

/// Polls the shared sleep; ready when it is dropped, or completed at or after `last` (a
/// completion before the last reset is waited past: the resetter wakes the poller).
async fn poll_shared(shared: &Mutex<SharedSleep>) {
    poll_fn(|cx| {
        let mut guard = shared.lock().unwrap();
        let state = &mut *guard;
        let Some(s) = state.sleep.as_mut() else {
            return Poll::Ready(());
        };
        let deadline = s.deadline();
        match Pin::new(s).poll(cx) {
            Poll::Ready(()) => {
                let now = Instant::now();
                assert!(now >= deadline, "completed {:?} early", deadline - now);
                match state.last {
                    Some(last) => {
                        assert!(now >= last, "completed before its last deadline");
                        Poll::Ready(())
                    }
                    None => {
                        state.waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                }
            }
            Poll::Pending => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
    .await
}

/// Sleeps polled by tasks and by `block_on`, each dropped or reset by another thread at
/// about the instant the wheel fires it: no panic, no hang, no completion before the
/// deadline, and the runtime keeps working.
#[test]
fn sleeps_dropped_or_reset_from_other_threads_while_they_fire() {
    const ROUNDS: usize = 400;
    let rt = Arc::new(runtime(2));
    Watchdog::new("sleeps dropped and reset while firing").run_reporting(move |progress| {
        for round in 0..ROUNDS {
            progress.at_round("a round", round);
            let shared = Arc::new(Mutex::new(SharedSleep::default()));
            let deadline = {
                let _guard = rt.enter();
                let deadline =
                    Instant::now() + Duration::from_micros(500 + (round as u64 % 7) * 200);
                shared.lock().unwrap().sleep = Some(sleep_until(deadline));
                deadline
            };
            let poller: Box<dyn FnOnce() + Send> = {
                let shared = shared.clone();
                if round % 4 < 2 {
                    let task = rt.spawn(async move { poll_shared(&shared).await });
                    Box::new(move || wait_for("the polling task", task).unwrap())
                } else {
                    let rt = rt.clone();
                    let thread = std::thread::spawn(move || rt.block_on(poll_shared(&shared)));
                    Box::new(move || thread.join().unwrap())
                }
            };
            // Spin to about the deadline (on the runtime's clock), then drop or reset it.
            {
                let _guard = rt.enter();
                while Instant::now() < deadline {
                    std::hint::spin_loop();
                }
                let mut state = shared.lock().unwrap();
                if round % 2 == 0 {
                    state.sleep = None;
                } else if let Some(s) = state.sleep.as_mut() {
                    let last = Instant::now() + Duration::from_micros(300);
                    Pin::new(s).reset(last);
                    state.last = Some(last);
                }
                // A dropped sleep wakes nobody, and a reset of a completed one needs a poll:
                // the test wakes the poller, as a user would.
                if let Some(waker) = state.waker.take() {
                    waker.wake();
                }
            }
            poller();
        }
        rt.block_on(sleep(ms(1)));
    });
}

/// A sleep polled by a task or by `block_on` while three threads reset it again and again to
/// random deadlines (some already passed, some microseconds ahead, some an hour ahead), then
/// once more 2 ms ahead: it completes, never before its deadline, never before the last.
#[test]
fn resets_from_three_threads_never_lose_the_wake_of_a_sleep() {
    let rt = Arc::new(runtime(1));
    Watchdog::new("resets from three threads").run_reporting(move |progress| {
        for round in 0..40u64 {
            progress.at_round("a round", round as usize);
            let shared = Arc::new(Mutex::new(SharedSleep::default()));
            {
                let _guard = rt.enter();
                shared.lock().unwrap().sleep = Some(sleep(Duration::from_secs(3600)));
            }
            let poller: Box<dyn FnOnce() + Send> = {
                let shared = shared.clone();
                if round % 2 == 0 {
                    let task = rt.spawn(async move { poll_shared(&shared).await });
                    Box::new(move || wait_for("the polling task", task).unwrap())
                } else {
                    let rt = rt.clone();
                    let thread = std::thread::spawn(move || rt.block_on(poll_shared(&shared)));
                    Box::new(move || thread.join().unwrap())
                }
            };
            let resetters: Vec<_> = (0..3u64)
                .map(|t| {
                    let (rt, shared) = (rt.clone(), shared.clone());
                    std::thread::spawn(move || {
                        let _guard = rt.enter();
                        let mut x = (round * 7 + t + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                        for _ in 0..300 {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            let now = Instant::now();
                            let at = match x % 4 {
                                0 => now
                                    .checked_sub(Duration::from_micros(x % 2000))
                                    .unwrap_or(now),
                                1 => now + Duration::from_micros(x % 2000),
                                2 => now + Duration::from_secs(3600),
                                _ => now,
                            };
                            let mut state = shared.lock().unwrap();
                            if let Some(s) = state.sleep.as_mut() {
                                Pin::new(s).reset(at);
                            }
                            if let Some(waker) = state.waker.take() {
                                waker.wake();
                            }
                            drop(state);
                            if x % 16 == 0 {
                                std::thread::yield_now();
                            }
                        }
                    })
                })
                .collect();
            for resetter in resetters {
                resetter.join().unwrap();
            }
            {
                let _guard = rt.enter();
                let last = Instant::now() + ms(2);
                let mut state = shared.lock().unwrap();
                Pin::new(state.sleep.as_mut().unwrap()).reset(last);
                state.last = Some(last);
                if let Some(waker) = state.waker.take() {
                    waker.wake();
                }
            }
            poller();
        }
    });
}

// ---- Exact instants on a paused clock ----

/// One chain of sleeps of random durations (sub-millisecond ones included), timeouts and
/// resets, each checked to complete exactly at its deadline's millisecond tick: the clock
/// stands on ticks (it started on one and only jumps to them) and does not move while a task
/// can run or a `block_on` thread polls or is woken.
async fn exact_chain(seed: u64, origin: Instant, steps: usize) {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for step in 0..steps {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let before = Instant::now();
        assert_eq!(
            (before - origin).subsec_nanos() % 1_000_000,
            0,
            "seed {seed} step {step}: the clock stands on a tick"
        );
        let d = match x % 4 {
            0 => Duration::from_micros(x % 3000),
            1 => ms(x % 50),
            2 => Duration::from_nanos(x % 10_000_000),
            _ => Duration::from_secs(x % 5),
        };
        match (x >> 8) % 3 {
            0 => sleep(d).await,
            1 => {
                let r = timeout(d, std::future::pending::<()>()).await;
                assert!(r.is_err());
            }
            _ => {
                let mut s = sleep(d + Duration::from_secs(60));
                assert!(!poll_once(&mut s).await);
                Pin::new(&mut s).reset(before + d);
                s.await;
            }
        }
        assert_eq!(
            Instant::now() - before,
            ceil_ms(d),
            "seed {seed} step {step}: {d:?}"
        );
    }
}

/// Chains of exact sleeps in 64 tasks and in 3 threads' `block_on`s at once: on 3 paused
/// workers, then on a paused current-thread runtime (which those `block_on`s drive).
#[test]
fn chained_sleeps_on_a_paused_clock_land_exactly_on_their_ticks() {
    for rt in [paused(3), paused_current_thread()] {
        Watchdog::new("exact sleeps").run(move || {
            let rt = Arc::new(rt);
            let origin = rt.block_on(async { Instant::now() });
            let tasks: Vec<_> = (0..64u64)
                .map(|seed| rt.spawn(exact_chain(seed, origin, 40)))
                .collect();
            let threads: Vec<_> = (100..103u64)
                .map(|seed| {
                    let rt = rt.clone();
                    std::thread::spawn(move || rt.block_on(exact_chain(seed, origin, 40)))
                })
                .collect();
            for thread in threads {
                thread.join().expect("a block_on chain");
            }
            for task in tasks {
                rt.block_on(task).unwrap();
            }
        });
    }
}

// ---- Intervals ----

/// What Tokio's `Interval::poll_tick` makes the next tick after a tick scheduled at
/// `scheduled` was returned at `now` (Tokio's `time/interval.rs`: late is more than 5 ms
/// after the schedule; `MissedTickBehavior::next_timeout`).
fn tokio_next(
    behavior: MissedTickBehavior,
    scheduled: Instant,
    now: Instant,
    period: Duration,
) -> Instant {
    if now <= scheduled + ms(5) {
        return scheduled + period;
    }
    match behavior {
        MissedTickBehavior::Burst => scheduled + period,
        MissedTickBehavior::Delay => now + period,
        MissedTickBehavior::Skip => {
            let rem = (now - scheduled).as_nanos() % period.as_nanos();
            now + period - Duration::from_nanos(rem as u64)
        }
    }
}

/// Intervals of each behaviour, with random periods (sub-millisecond ones too) and random
/// stalls (advances of the paused clock by up to three periods, off the millisecond), tick
/// exactly as Tokio's formulas say: each tick returns the model's instant, never before it,
/// and no later than the millisecond tick of that instant or of the poll.
#[test]
fn interval_ticks_follow_tokio_s_schedule_after_random_stalls() {
    for behavior in [
        MissedTickBehavior::Burst,
        MissedTickBehavior::Delay,
        MissedTickBehavior::Skip,
    ] {
        run_task("intervals after stalls", paused(1), async move {
            let origin = Instant::now();
            let mut x = 0x2545_f491_4f6c_dd1du64;
            let mut rand = move |bound: u64| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % bound.max(1)
            };
            for round in 0..20 {
                let period = match rand(3) {
                    0 => Duration::from_micros(1 + rand(2_000)),
                    1 => ms(1 + rand(20)),
                    _ => ms(100 + rand(1000)),
                };
                let start = Instant::now() + Duration::from_micros(rand(3000));
                let mut every = interval_at(start, period);
                every.set_missed_tick_behavior(behavior);
                let mut expected = start;
                for step in 0..30 {
                    if rand(2) == 0 {
                        let stall = period.mul_f64(rand(3000) as f64 / 1000.0);
                        advance(stall).await;
                    }
                    let before = Instant::now();
                    let tick = every.tick().await;
                    let now = Instant::now();
                    assert_eq!(
                        tick, expected,
                        "{behavior:?} round {round} step {step}, period {period:?}"
                    );
                    // Never early; at most to the millisecond tick of the later of the two (a
                    // deadline passed within the current tick may wait for the tick's end, as
                    // Tokio's does).
                    let at = expected.max(before);
                    assert!(now >= at, "{behavior:?} round {round} step {step}: early");
                    assert!(
                        now <= origin + ceil_ms(at - origin),
                        "{behavior:?} round {round} step {step}: late"
                    );
                    expected = tokio_next(behavior, tick, now, period);
                }
            }
        });
    }
}

/// The 5 ms tolerance's edge, for each behaviour: a tick observed exactly 5 ms late is on
/// time (the schedule is kept); 1 ns more is late. Skip with the observation exactly on a
/// later scheduled instant skips to the one after it, as Tokio's formula does.
#[test]
fn interval_lateness_is_judged_as_tokio_judges_it() {
    for behavior in [
        MissedTickBehavior::Burst,
        MissedTickBehavior::Delay,
        MissedTickBehavior::Skip,
    ] {
        run_task("intervals at the tolerance's edge", paused(1), async move {
            let start = Instant::now();
            let period = ms(100);
            let mut every = interval(period);
            every.set_missed_tick_behavior(behavior);
            assert_eq!(every.tick().await, start);
            advance(ms(105)).await; // exactly 5 ms late: on time
            assert_eq!(every.tick().await, start + ms(100));
            assert_eq!(every.tick().await, start + ms(200));
            advance(ms(105) + Duration::from_nanos(1)).await; // 5 ms + 1 ns late
            let late = Instant::now();
            assert_eq!(every.tick().await, start + ms(300));
            let next = every.tick().await;
            let want = match behavior {
                MissedTickBehavior::Burst => start + ms(400),
                MissedTickBehavior::Delay => late + period,
                MissedTickBehavior::Skip => start + ms(400),
            };
            assert_eq!(next, want, "{behavior:?}");
        });
    }
    // Skip, observed exactly on a later scheduled instant.
    run_task("skip on the schedule", paused(1), async {
        let start = Instant::now();
        let mut every = interval(ms(10));
        every.set_missed_tick_behavior(MissedTickBehavior::Skip);
        every.tick().await;
        advance(ms(30)).await; // the tick of 10 ms, observed at 30 ms
        assert_eq!(every.tick().await, start + ms(10));
        assert_eq!(every.tick().await, start + ms(40));
    });
}

/// An interval whose start is long past bursts every missed tick (Burst), or ticks once and
/// then keeps its schedule from now (Skip) or from the observation (Delay).
#[test]
fn an_interval_started_in_the_past_catches_up_as_its_behaviour_says() {
    run_task("intervals from the past", paused(1), async {
        let now = Instant::now();
        let start = now.checked_sub(ms(1000)).expect("an uptime of one second");
        let mut burst = interval_at(start, ms(100));
        for k in 0..=10 {
            assert_eq!(burst.tick().await, start + ms(100 * k));
        }
        assert_eq!(Instant::now(), now, "the burst came at once");
        assert_eq!(burst.tick().await, start + ms(1100));
        let now = Instant::now();
        let start = now - ms(1050);
        let mut skip = interval_at(start, ms(100));
        skip.set_missed_tick_behavior(MissedTickBehavior::Skip);
        assert_eq!(skip.tick().await, start);
        assert_eq!(skip.tick().await, start + ms(1100));
        let now = Instant::now();
        let start = now - ms(1050);
        let mut delay = interval_at(start, ms(100));
        delay.set_missed_tick_behavior(MissedTickBehavior::Delay);
        assert_eq!(delay.tick().await, start);
        assert_eq!(delay.tick().await, now + ms(100));
    });
}

// ---- Zero, tiny and far ----

/// Zero durations complete at the first poll without a timer; a 1 ns sleep waits for the next
/// millisecond tick (never early); a zero timeout of a pending future elapses at once, of a
/// ready one gives its output; an interval of 1 ns bursts.
#[test]
fn zero_and_nanosecond_durations() {
    run_task("zero and 1 ns", paused(1), async {
        let start = Instant::now();
        let mut zero = sleep(Duration::ZERO);
        assert!(poll_once(&mut zero).await);
        assert!(zero.is_elapsed());
        assert!(poll_once(&mut zero).await, "a completed sleep stays ready");
        assert!(poll_once(&mut sleep_until(start)).await);
        let mut tiny = sleep(Duration::from_nanos(1));
        assert!(
            !poll_once(&mut tiny).await,
            "1 ns ahead on a paused clock is ahead"
        );
        tiny.await;
        assert_eq!(start.elapsed(), ms(1));
        assert!(timeout(Duration::ZERO, std::future::pending::<()>())
            .await
            .is_err());
        assert_eq!(timeout(Duration::ZERO, async { 3 }).await, Ok(3));
        let now = Instant::now();
        let mut every = interval(Duration::from_nanos(1));
        for k in 0..5u64 {
            assert_eq!(every.tick().await, now + Duration::from_nanos(k));
        }
        assert_eq!(Instant::now(), now + ms(1), "4 ticks past, one tick's jump");
    });
}

/// Far durations and instants never panic where Tokio does not: sleeps, timeouts and
/// intervals of `Duration::MAX` and of instants thousands of years ahead are made, polled,
/// reset and dropped; on a real clock they stay pending.
#[test]
fn far_durations_and_instants_do_not_panic_and_stay_pending() {
    let rt = runtime(1);
    Watchdog::new("far timers").run(move || {
        rt.block_on(async {
            let now = Instant::now();
            let far = now + Duration::from_secs(1 << 40); // ~35,000 years
            let mut a = sleep(Duration::MAX);
            let mut b = sleep_until(far);
            let mut c = timeout(Duration::MAX, std::future::pending::<()>());
            let mut d = timeout_at(far, std::future::pending::<()>());
            let mut e = interval_at(far, Duration::MAX);
            let mut f = interval(Duration::MAX);
            assert!(!poll_once(&mut a).await);
            assert!(!poll_once(&mut b).await);
            assert!(!poll_once(&mut Box::pin(&mut c)).await);
            assert!(!poll_once(&mut Box::pin(&mut d)).await);
            assert!(!poll_once(&mut Box::pin(e.tick())).await);
            assert!(f.tick().await >= now);
            assert!(!poll_once(&mut Box::pin(f.tick())).await);
            e.reset_at(far);
            e.reset_after(Duration::MAX);
            e.reset();
            f.set_missed_tick_behavior(MissedTickBehavior::Skip);
            f.reset_immediately();
            f.tick().await;
            assert!(!poll_once(&mut Box::pin(f.tick())).await);
            Pin::new(&mut a).reset(far);
            Pin::new(&mut b).reset(now + Duration::from_secs(u64::from(u32::MAX)));
            assert!(!poll_once(&mut a).await);
            assert!(!poll_once(&mut b).await);
            assert!(!a.is_elapsed() && !b.is_elapsed());
            // The runtime's timers still work beside them.
            let start = Instant::now();
            sleep(ms(2)).await;
            assert!(start.elapsed() >= ms(2));
        })
    });
}

/// 100 years: a paused clock advanced this far is 70 years past the "far future" (30 years,
/// Tokio's) of the real time.
const CENTURY: Duration = Duration::from_secs(86_400 * 365 * 100);

/// An interval whose next instant overflows `Instant` puts it in the far future (30 years) of
/// its own runtime's clock, wherever it is reset or polled: it used to be the far future of
/// the *current* context's clock (the real time outside any runtime, another runtime's in its
/// task), so on a paused clock advanced past that the next tick came at once. Tokio clamps the
/// period to 30 years and adds it to the tick's own instant, so its interval stays on its own
/// clock there.
#[test]
fn an_overflowing_interval_instant_is_far_on_its_own_runtime_s_clock() {
    let rt = paused(1);
    let other = runtime(1);
    Watchdog::new("far instants of an interval on an advanced clock").run(move || {
        let (mut reset_after, mut reset, mut polled_elsewhere) = rt.block_on(async {
            advance(CENTURY).await;
            let mut reset_after = interval(ms(10));
            reset_after.tick().await;
            let mut reset = interval(Duration::MAX);
            reset.tick().await;
            let polled_elsewhere = interval(Duration::MAX);
            (reset_after, reset, polled_elsewhere)
        });
        // Outside any runtime.
        reset_after.reset_after(Duration::MAX);
        reset.reset();
        // Its first tick (at once) polled by another runtime's `block_on` and by a plain
        // executor: the next one must not be due.
        other.block_on(polled_elsewhere.tick());
        let mut executor_polled = rt.block_on(async { interval(Duration::MAX) });
        futures::executor::block_on(executor_polled.tick());
        rt.block_on(async {
            assert!(
                !poll_once(&mut Box::pin(reset_after.tick())).await,
                "reset_after"
            );
            assert!(!poll_once(&mut Box::pin(reset.tick())).await, "reset");
            assert!(
                !poll_once(&mut Box::pin(polled_elsewhere.tick())).await,
                "ticked in another runtime"
            );
            assert!(
                !poll_once(&mut Box::pin(executor_polled.tick())).await,
                "ticked outside any runtime"
            );
        });
    });
}

// ---- Current-thread runtimes driven only by block_on ----

/// A current-thread runtime's task sleeps only advance while some thread drives the runtime:
/// with nobody in `block_on`, a due timer's task does not run; the next `block_on` runs it,
/// and a `block_on` future's own sleep, timeout and interval complete on the real clock,
/// never early.
#[test]
fn a_current_thread_runtime_fires_timers_only_while_block_on_drives_it() {
    let rt = support::current_thread();
    Watchdog::new("a current-thread runtime's timers").run(move || {
        let ran = Arc::new(AtomicBool::new(false));
        let task = {
            let ran = ran.clone();
            rt.spawn(async move {
                let start = Instant::now();
                sleep(ms(2)).await;
                assert!(start.elapsed() >= ms(2));
                ran.store(true, Ordering::SeqCst);
            })
        };
        // Nobody drives: the task has not even started (not asserting a duration: nothing
        // could have run it).
        std::thread::sleep(ms(20));
        assert!(!ran.load(Ordering::SeqCst), "a task ran with no driver");
        rt.block_on(async {
            let start = Instant::now();
            sleep(ms(3)).await;
            assert!(start.elapsed() >= ms(3));
            assert!(timeout(ms(3), std::future::pending::<()>()).await.is_err());
            assert!(start.elapsed() >= ms(6));
            let mut every = interval(ms(2));
            let first = every.tick().await;
            every.tick().await;
            every.tick().await;
            assert!(Instant::now() >= first + ms(4));
        });
        rt.block_on(task).unwrap();
        assert!(ran.load(Ordering::SeqCst));
    });
}

/// Two threads in `block_on` of one current-thread runtime: the one that drives finishes
/// first, and the other, whose sleep and tasks' sleeps are still pending, takes over and
/// fires them.
#[test]
fn a_current_thread_driver_that_leaves_hands_its_timers_over() {
    Watchdog::new("a current-thread handover with timers").run(|| {
        for round in 0..20 {
            let rt = Arc::new(support::current_thread());
            let tasks: Vec<_> = (0..8u64)
                .map(|i| rt.spawn(async move { sleep(ms(1 + i % 4)).await }))
                .collect();
            let long = {
                let rt = rt.clone();
                std::thread::spawn(move || {
                    rt.block_on(async {
                        let start = Instant::now();
                        sleep(ms(15)).await;
                        assert!(start.elapsed() >= ms(15));
                    })
                })
            };
            rt.block_on(sleep(ms(if round % 2 == 0 { 1 } else { 0 })));
            long.join().expect("the long block_on");
            for task in tasks {
                wait_for("a task's sleep after the handover", task).unwrap();
            }
        }
    });
}

// ---- The paused clock and blocking closures ----

/// While a `spawn_blocking` closure runs, a paused clock does not auto-advance (as Tokio's):
/// a task awaiting it under a one-hour timeout gets its output, and the clock stood still,
/// on both flavours.
#[test]
fn a_running_blocking_closure_holds_the_paused_clock() {
    for rt in [paused(2), paused_current_thread()] {
        Watchdog::new("a blocking closure under a timeout").run(move || {
            let gate = Gate::default();
            let (started_tx, started_rx) = mpsc::channel();
            let driver = Arc::new(rt);
            let join = {
                let gate = gate.clone();
                driver.spawn(async move {
                    let start = Instant::now();
                    let closure = genrt::spawn_blocking(move || {
                        started_tx.send(()).unwrap();
                        gate.wait();
                        5
                    });
                    let out = timeout(Duration::from_secs(3600), closure).await;
                    (out.map(|r| r.unwrap()), start.elapsed())
                })
            };
            // A current-thread runtime needs a driver: a thread in block_on of a sleep that the
            // clock would jump to if it could.
            let drive = {
                let driver = driver.clone();
                std::thread::spawn(move || {
                    driver.block_on(async {
                        sleep(Duration::from_secs(60)).await;
                    })
                })
            };
            recv(&started_rx, "the closure running");
            let before = {
                let _guard = driver.enter();
                Instant::now()
            };
            // Time for a jump to happen, if one could (not a measurement).
            std::thread::sleep(ms(50));
            let after = {
                let _guard = driver.enter();
                Instant::now()
            };
            assert_eq!(before, after, "the clock moved while the closure ran");
            gate.open();
            let (out, elapsed) = wait_for("the task", join).unwrap();
            assert_eq!(out, Ok(5));
            assert!(elapsed < Duration::from_secs(60), "jumped {elapsed:?}");
            drive.join().unwrap();
        });
    }
}

/// A closure that panics, and one aborted while queued behind a busy blocking thread, release
/// their holds: the paused clock jumps again afterwards (a hold left behind would stop every
/// later sleep for ever).
#[test]
fn panicking_and_aborted_blocking_closures_release_the_paused_clock() {
    let _quiet = quiet_panics();
    let rt = genrt::Builder::new()
        .worker_threads(1)
        .max_blocking_threads(1)
        .start_paused(true)
        .build()
        .unwrap();
    Watchdog::new("holds released").run(move || {
        rt.block_on(async {
            let err = genrt::spawn_blocking(|| panic!("intentional")).await;
            assert!(err.unwrap_err().is_panic());
            let start = Instant::now();
            sleep(Duration::from_secs(3600)).await;
            assert_eq!(start.elapsed(), Duration::from_secs(3600));

            let gate = Gate::default();
            let (started_tx, started_rx) = mpsc::channel();
            let busy = {
                let gate = gate.clone();
                genrt::spawn_blocking(move || {
                    started_tx.send(()).unwrap();
                    gate.wait();
                })
            };
            recv(&started_rx, "the first closure running");
            let queued = genrt::spawn_blocking(|| 1);
            queued.abort();
            gate.open();
            busy.await.unwrap();
            let _ = queued.await;
            let start = Instant::now();
            sleep(Duration::from_secs(3600)).await;
            assert_eq!(start.elapsed(), Duration::from_secs(3600));
        })
    });
}

// ---- After the runtime dropped ----

/// A sleep, an interval and a timeout made in a runtime that then dropped: polled in another
/// runtime, each panics with genrt's message (a timeout of a ready future still gives its
/// output: it polls the future first); resets, `is_elapsed` and drops do not panic. Never a
/// hang.
#[test]
fn timers_polled_after_their_runtime_dropped_panic_clearly() {
    let _quiet = quiet_panics();
    Watchdog::new("timers after their runtime dropped").run(|| {
        let rt = runtime(1);
        let (mut s, mut registered, mut every, t, ready) = rt.block_on(async {
            let mut registered = sleep(Duration::from_secs(3600));
            assert!(!poll_once(&mut registered).await);
            let mut every = interval(ms(10));
            every.tick().await;
            (
                sleep(ms(1)),
                registered,
                every,
                timeout(ms(1), std::future::pending::<()>()),
                timeout(Duration::from_secs(1), async { 9 }),
            )
        });
        drop(rt);
        let other = support::current_thread();
        let expect_panic = |what: &str, f: &mut dyn FnMut()| {
            let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
            let message = panic_message(&*err).unwrap_or_default();
            assert!(
                message.contains("after its runtime shut down"),
                "{what}: {message}"
            );
        };
        assert!(!registered.is_elapsed());
        Pin::new(&mut registered).reset(Instant::now() + ms(1));
        Pin::new(&mut s).reset(Instant::now() + ms(1));
        expect_panic("a sleep", &mut || other.block_on(&mut s));
        expect_panic("a registered sleep", &mut || {
            other.block_on(&mut registered)
        });
        expect_panic("an interval", &mut || {
            other.block_on(every.tick());
        });
        let mut t = Some(t);
        expect_panic("a timeout", &mut || {
            let _ = other.block_on(t.take().unwrap());
        });
        assert_eq!(other.block_on(ready), Ok(9));
        // In a task of the other runtime: the panic is the task's.
        let s2 = {
            let rt = runtime(1);
            let s = {
                let _guard = rt.enter();
                sleep(ms(1))
            };
            drop(rt);
            s
        };
        let err = other.block_on(other.spawn(s2)).unwrap_err();
        assert!(err.is_panic());
    });
}

/// A task of one runtime awaits a sleep of another, which drops: the task is woken and its
/// poll panics with genrt's message; its join handle reports the panic, on both flavours.
#[test]
fn a_task_awaiting_a_sleep_of_a_runtime_that_drops_fails_instead_of_hanging() {
    let _quiet = quiet_panics();
    for (name, build) in support::FLAVORS {
        Watchdog::new(name).run(move || {
            let owner = runtime(1);
            let s = {
                let _guard = owner.enter();
                sleep(Duration::from_secs(3600))
            };
            let waiter = build();
            let (polled_tx, polled_rx) = mpsc::channel();
            let join = waiter.spawn(async move {
                let mut s = s;
                assert!(!poll_once(&mut s).await);
                polled_tx.send(()).unwrap();
                s.await;
            });
            let driver = std::thread::spawn(move || {
                let err = waiter.block_on(join).unwrap_err();
                let is_panic = err.is_panic();
                let payload = err.into_panic();
                (
                    is_panic,
                    panic_message(&*payload).unwrap_or_default().to_string(),
                )
            });
            recv(&polled_rx, "the sleep registered");
            drop(owner);
            let (is_panic, message) = driver.join().unwrap();
            assert!(is_panic);
            assert!(message.contains("after its runtime shut down"), "{message}");
        });
    }
}

/// The waits above would be hangs, not failures, without the watchdog; this one makes sure
/// a sleep made with a `Handle` whose runtime has dropped (no runtime to bind to) is refused
/// at its poll inside a live runtime's context: it binds there and completes, as documented
/// (it reads the real clock).
#[test]
fn a_sleep_made_in_the_context_of_a_dropped_runtime_binds_to_the_runtime_that_polls_it() {
    Watchdog::new("a sleep made under a dropped runtime's guard").run(|| {
        let rt = runtime(1);
        let handle = rt.handle().clone();
        let (made_tx, made_rx) = mpsc::channel();
        let maker = std::thread::spawn(move || {
            let _guard = handle.enter();
            let (dropped_tx, dropped_rx) = mpsc::channel::<()>();
            made_tx.send(dropped_tx).unwrap();
            recv(&dropped_rx, "the runtime dropped");
            sleep(ms(2))
        });
        let dropped_tx = recv(&made_rx, "the guard entered");
        drop(rt);
        dropped_tx.send(()).unwrap();
        let s = maker.join().unwrap();
        let other = runtime(1);
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        other.block_on(async move {
            let start = Instant::now();
            s.await;
            assert!(start.elapsed() <= Duration::from_secs(3600));
            c.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(count.load(Ordering::SeqCst), 1);
        wait_until("nothing", || true);
    });
}
