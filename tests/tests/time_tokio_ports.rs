//! Tests ported from Tokio's own time suite (`tokio/tests/time_sleep.rs`, `time_timeout.rs`,
//! `time_interval.rs`, `time_pause.rs`), written again for genrt's API. Each names the Tokio
//! test it ports. Every wait is bounded.
//!
//! A Tokio `#[tokio::test(start_paused = true)]` body (or one calling `time::pause()`) runs
//! here as a task on a one-worker runtime built with `start_paused(true)` ([`paused`]): inside
//! a task the worker is busy while the body runs, so the clock moves only where the body
//! awaits, as on Tokio's current-thread runtime. `tokio_test::task::spawn` becomes
//! [`MockTask`], a future polled by hand with a waker that records wakes (a waker clone in the
//! wheel, not a key). `assert_elapsed!` becomes [`assert_elapsed`]: `d <= elapsed <= d + 1 ms`
//! on the paused clock, which is exact, not a real-time bound.
//!
//! Ported:
//! - `time_sleep.rs`: `immediate_sleep`, `is_elapsed`, `delayed_sleep_level_0`,
//!   `sub_ms_delayed_sleep`, `delayed_sleep_wrapping_level_0`,
//!   `reset_future_sleep_before_fire`, `reset_past_sleep_before_turn`,
//!   `reset_past_sleep_before_fire`, `reset_future_sleep_after_fire`, `reset_sleep_to_past`,
//!   `greater_than_max`, `short_sleeps`, `multi_long_sleeps`, `long_sleeps`,
//!   `reset_after_firing`, `exactly_max`, `issue_5183`, `no_out_of_bounds_close_to_max`,
//!   `drop_after_reschedule_at_new_scheduled_time`, `drop_from_wake`.
//! - `time_timeout.rs`: `simultaneous_deadline_future_completion`,
//!   `completed_future_past_deadline`, `future_and_deadline_in_future`,
//!   `future_and_timeout_in_future`, `very_large_timeout`, `deadline_now_elapses`,
//!   `deadline_future_elapses`, `timeout_is_not_exhausted_by_future` (here with a future
//!   that yields forever; `coop.rs` ports it with `consume_budget` in place of Tokio's
//!   `tokio::io::empty()`, both spending the cooperative budget).
//! - `time_interval.rs`: `interval_zero_duration`, `burst`, `delay`, `skip`, `reset`,
//!   `reset_immediately`, `reset_after`, `reset_at`, `reset_at_bigger_than_interval`,
//!   `interval_doesnt_panic_max_duration_when_polling`.
//! - `time_rt.rs`: `timer_with_threaded_runtime`, `starving` (also as a task),
//!   `timeout_value`.
//! - `time_pause.rs`: `paused_time_is_deterministic`, `advance_after_poll`, `sleep_no_poll`,
//!   `sleep_same_task`, `sleep_same_task_no_poll`, `interval`, `test_time_advance_sub_ms`,
//!   `test_time_advance_3ms_and_change`, `regression_3710_with_submillis_advance`,
//!   `exact_1ms_advance`, `advance_once_with_timer`, `advance_multi_with_timer`.
//!
//! Skipped, and why:
//! - `time_sleep.rs` `creating_sleep_outside_of_context`: Tokio panics on creation; genrt
//!   allows it by design and panics when such a sleep is *polled* outside a runtime
//!   (`time.rs`, `polling_a_sleep_outside_a_runtime_panics_with_a_clear_message`).
//! - `time_interval.rs` `stream_with_interval_poll_tick_self_waking` and
//!   `stream_with_interval_poll_tick_no_waking`: they need `tokio-stream`'s `IntervalStream`
//!   (genrt has no streams of its own).
//! - `time_pause.rs` `pause_time_in_main`, `pause_time_in_task`,
//!   `pause_time_in_main_threads`, `pause_time_in_spawn_threads`: ported in `time_pause.rs`,
//!   with the tests of `genrt::time::pause` and `resume`.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures::channel::oneshot;
use genrt::time::{
    advance, interval_at, sleep, sleep_until, timeout, timeout_at, Instant, Interval,
    MissedTickBehavior, Sleep,
};

use support::{quiet_panics, runtime, wait_for};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A one-worker runtime whose clock starts paused.
fn paused() -> genrt::Runtime {
    genrt::Builder::new()
        .worker_threads(1)
        .start_paused(true)
        .build()
        .expect("the runtime starts")
}

/// Runs `body` as a task on a fresh paused runtime and waits for it (bounded).
fn run_paused<F: Future<Output = ()> + Send + 'static>(body: F) {
    let rt = paused();
    wait_for("the ported test body", rt.spawn(body)).unwrap();
}

/// Runs `body` as a task on a fresh runtime with a real clock.
fn run_real<F: Future<Output = ()> + Send + 'static>(body: F) {
    let rt = runtime(1);
    wait_for("the ported test body", rt.spawn(body)).unwrap();
}

#[track_caller]
fn assert_elapsed(start: Instant, least: Duration) {
    let elapsed = start.elapsed();
    assert!(
        elapsed >= least && elapsed <= least + ms(1),
        "elapsed {elapsed:?}, expected {least:?} to {:?} (paused clock)",
        least + ms(1)
    );
}

/// Records whether it was woken.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// `tokio_test::task::Spawn`: a future polled by hand with a waker that records wakes.
struct MockTask<F> {
    future: Pin<Box<F>>,
    flag: Arc<Flag>,
    waker: Waker,
}

fn mock<F>(future: F) -> MockTask<F> {
    let flag = Arc::new(Flag::default());
    MockTask {
        future: Box::pin(future),
        waker: Waker::from(flag.clone()),
        flag,
    }
}

impl<F: Future> MockTask<F> {
    fn poll(&mut self) -> Poll<F::Output> {
        self.flag.0.store(false, Ordering::SeqCst);
        self.future
            .as_mut()
            .poll(&mut Context::from_waker(&self.waker))
    }

    fn is_woken(&self) -> bool {
        self.flag.0.load(Ordering::SeqCst)
    }
}

impl MockTask<Interval> {
    fn poll_next(&mut self) -> Poll<Instant> {
        let waker = self.waker.clone();
        self.future.poll_tick(&mut Context::from_waker(&waker))
    }
}

// ---- time_sleep.rs ----

#[test]
fn immediate_sleep() {
    run_paused(async {
        let now = Instant::now();
        sleep_until(now).await;
        assert_elapsed(now, Duration::ZERO);
    });
}

#[test]
fn is_elapsed() {
    run_paused(async {
        let mut s = sleep(ms(10));
        assert!(!s.is_elapsed());
        assert!(poll_fn(|cx| Poll::Ready(Pin::new(&mut s).poll(cx)))
            .await
            .is_pending());
        assert!(!s.is_elapsed());
        (&mut s).await;
        assert!(s.is_elapsed());
    });
}

#[test]
fn delayed_sleep_level_0() {
    run_paused(async {
        for i in [1, 10, 60] {
            let now = Instant::now();
            sleep_until(now + ms(i)).await;
            assert_elapsed(now, ms(i));
        }
    });
}

#[test]
fn sub_ms_delayed_sleep() {
    run_paused(async {
        for _ in 0..5 {
            let now = Instant::now();
            let deadline = now + ms(1) + Duration::new(0, 1);
            sleep_until(deadline).await;
            assert!(Instant::now() >= deadline);
            assert_elapsed(now, ms(1));
        }
    });
}

#[test]
fn delayed_sleep_wrapping_level_0() {
    run_paused(async {
        sleep(ms(5)).await;
        let now = Instant::now();
        sleep_until(now + ms(60)).await;
        assert_elapsed(now, ms(60));
    });
}

#[test]
fn reset_future_sleep_before_fire() {
    run_paused(async {
        let now = Instant::now();
        let mut s = mock(sleep_until(now + ms(100)));
        assert!(s.poll().is_pending());
        let mut s = s.future;
        s.as_mut().reset(Instant::now() + ms(200));
        s.await;
        assert_elapsed(now, ms(200));
    });
}

#[test]
fn reset_past_sleep_before_turn() {
    run_paused(async {
        let now = Instant::now();
        let mut s = mock(sleep_until(now + ms(100)));
        assert!(s.poll().is_pending());
        let mut s = s.future;
        s.as_mut().reset(now + ms(80));
        s.await;
        assert_elapsed(now, ms(80));
    });
}

#[test]
fn reset_past_sleep_before_fire() {
    run_paused(async {
        let now = Instant::now();
        let mut s = mock(sleep_until(now + ms(100)));
        assert!(s.poll().is_pending());
        let mut s = s.future;
        sleep(ms(10)).await;
        s.as_mut().reset(now + ms(80));
        s.await;
        assert_elapsed(now, ms(80));
    });
}

#[test]
fn reset_future_sleep_after_fire() {
    run_paused(async {
        let now = Instant::now();
        let mut s = Box::pin(sleep_until(now + ms(100)));
        s.as_mut().await;
        assert_elapsed(now, ms(100));
        s.as_mut().reset(now + ms(110));
        s.await;
        assert_elapsed(now, ms(110));
    });
}

#[test]
fn reset_sleep_to_past() {
    run_paused(async {
        let now = Instant::now();
        let mut s = mock(sleep_until(now + ms(100)));
        assert!(s.poll().is_pending());
        sleep(ms(50)).await;
        assert!(!s.is_woken());
        s.future.as_mut().reset(now + ms(40));
        assert!(s.poll().is_ready());
    });
}

#[test]
fn greater_than_max() {
    const YEARS_5: u64 = 5 * 365 * 24 * 60 * 60 * 1000;
    run_paused(async {
        let deadline = Instant::now() + ms(YEARS_5);
        sleep_until(deadline).await;
        assert!(Instant::now() >= deadline, "a clamped deadline fired early");
    });
}

#[test]
fn short_sleeps() {
    run_real(async {
        for _ in 0..10_000 {
            sleep(Duration::ZERO).await;
        }
    });
}

#[test]
fn multi_long_sleeps() {
    run_paused(async {
        for _ in 0..5 {
            sleep(Duration::from_secs(365 * 24 * 3600)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(10 * 365 * 24 * 3600);
        sleep_until(deadline).await;
        assert!(Instant::now() >= deadline);
    });
}

#[test]
fn long_sleeps() {
    run_paused(async {
        let deadline = Instant::now() + Duration::from_secs(10 * 365 * 24 * 3600);
        sleep_until(deadline).await;
        assert!(Instant::now() >= deadline);
        assert!(Instant::now() <= deadline + ms(1));
    });
}

#[test]
fn reset_after_firing() {
    run_real(async {
        let mut timer = Box::pin(sleep(ms(1)));
        let deadline = timer.deadline();
        timer.as_mut().await;
        let noop = Waker::from(Arc::new(Flag::default()));
        let mut cx = Context::from_waker(&noop);
        assert!(timer.as_mut().poll(&mut cx).is_ready());
        timer
            .as_mut()
            .reset(Instant::now() + Duration::from_secs(600));
        assert_ne!(deadline, timer.deadline());
        assert!(timer.as_mut().poll(&mut cx).is_pending());
        assert!(timer.as_mut().poll(&mut cx).is_pending());
    });
}

/// The wheel's span: 6 levels of 64 slots of 1 ms.
const MAX_DURATION: u64 = (1 << 36) - 1;

#[test]
fn exactly_max() {
    run_paused(async {
        sleep(ms(MAX_DURATION)).await;
    });
}

#[test]
fn issue_5183() {
    run_paused(async {
        let big = Duration::from_secs(u64::MAX / 10);
        // The first future that completes wins; the far one must not complete first.
        let far = sleep(big);
        let near = sleep(Duration::from_nanos(1));
        match futures::future::select(far, near).await {
            futures::future::Either::Right(_) => {}
            futures::future::Either::Left(_) => panic!("a sleep of u64::MAX / 10 s completed"),
        }
    });
}

#[test]
fn no_out_of_bounds_close_to_max() {
    run_paused(async {
        sleep(ms(MAX_DURATION - 1)).await;
    });
}

#[test]
fn drop_after_reschedule_at_new_scheduled_time() {
    run_paused(async {
        let start = Instant::now();
        let mut a = mock(sleep(ms(5)));
        let mut b = mock(sleep(ms(5)));
        let mut c = mock(sleep(ms(10)));
        let _ = a.poll();
        let _ = b.poll();
        let _ = c.poll();
        b.future.as_mut().reset(start + ms(10));
        a.future.await;
        drop(b);
    });
}

#[test]
fn drop_from_wake() {
    /// A waker that drops every sleep of the list when woken (the wheel must not hold its
    /// lock while waking).
    struct DropWaker {
        panicked: Arc<AtomicBool>,
        list: Arc<Mutex<Vec<Pin<Box<Sleep>>>>>,
    }
    impl Wake for DropWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                *self.list.lock().expect("the list lock") = Vec::new()
            }));
            if result.is_err() {
                self.panicked.store(true, Ordering::SeqCst);
            }
        }
    }
    run_paused(async {
        let panicked = Arc::new(AtomicBool::new(false));
        let list: Arc<Mutex<Vec<Pin<Box<Sleep>>>>> = Arc::new(Mutex::new(Vec::new()));
        let waker = Waker::from(Arc::new(DropWaker {
            panicked: panicked.clone(),
            list: list.clone(),
        }));
        {
            let mut lock = list.lock().unwrap();
            for _ in 0..100 {
                let mut timer = Box::pin(sleep(ms(10)));
                let _ = timer.as_mut().poll(&mut Context::from_waker(&waker));
                lock.push(timer);
            }
        }
        sleep(ms(11)).await;
        assert!(!panicked.load(Ordering::SeqCst), "panicked dropping timers");
        assert!(list.lock().unwrap().is_empty(), "the waker ran");
    });
}

// ---- time_timeout.rs ----

#[test]
fn simultaneous_deadline_future_completion() {
    run_real(async {
        let mut fut = mock(timeout_at(Instant::now(), async {}));
        assert!(matches!(fut.poll(), Poll::Ready(Ok(()))));
    });
}

#[test]
fn completed_future_past_deadline() {
    run_real(async {
        let mut fut = mock(timeout_at(Instant::now() - ms(1000), async {}));
        assert!(matches!(fut.poll(), Poll::Ready(Ok(()))));
    });
}

#[test]
fn future_and_deadline_in_future() {
    run_paused(async {
        let (tx, rx) = oneshot::channel::<()>();
        let mut fut = mock(timeout_at(Instant::now() + ms(100), rx));
        assert!(fut.poll().is_pending());
        advance(ms(90)).await;
        assert!(fut.poll().is_pending());
        tx.send(()).unwrap();
        assert!(fut.is_woken());
        assert!(matches!(fut.poll(), Poll::Ready(Ok(Ok(())))));
    });
}

#[test]
fn future_and_timeout_in_future() {
    run_paused(async {
        let (tx, rx) = oneshot::channel::<()>();
        let mut fut = mock(timeout(ms(100), rx));
        assert!(fut.poll().is_pending());
        advance(ms(90)).await;
        assert!(fut.poll().is_pending());
        tx.send(()).unwrap();
        assert!(matches!(fut.poll(), Poll::Ready(Ok(Ok(())))));
    });
}

#[test]
fn very_large_timeout() {
    run_paused(async {
        let (tx, rx) = oneshot::channel::<()>();
        let mut fut = mock(timeout(Duration::MAX, rx));
        assert!(fut.poll().is_pending());
        advance(Duration::from_secs(86_400 * 365 * 10)).await;
        assert!(fut.poll().is_pending());
        tx.send(()).unwrap();
        assert!(matches!(fut.poll(), Poll::Ready(Ok(Ok(())))));
    });
}

#[test]
fn deadline_now_elapses() {
    run_paused(async {
        let mut fut = mock(timeout_at(Instant::now(), std::future::pending::<()>()));
        advance(ms(1)).await;
        assert!(matches!(fut.poll(), Poll::Ready(Err(_))));
    });
}

#[test]
fn deadline_future_elapses() {
    run_paused(async {
        let mut fut = mock(timeout_at(
            Instant::now() + ms(300),
            std::future::pending::<()>(),
        ));
        assert!(fut.poll().is_pending());
        advance(ms(301)).await;
        assert!(fut.is_woken());
        assert!(matches!(fut.poll(), Poll::Ready(Err(_))));
    });
}

#[test]
fn timeout_is_not_exhausted_by_future() {
    run_real(async {
        let busy = async {
            loop {
                genrt::yield_now().await;
            }
        };
        assert!(timeout(ms(1), busy).await.is_err());
    });
}

// ---- time_interval.rs ----

#[test]
fn interval_zero_duration() {
    let _quiet = quiet_panics();
    let result = std::panic::catch_unwind(|| interval_at(Instant::now(), ms(0)));
    assert!(result.is_err(), "a zero period panics");
}

/// `check_interval_poll!`: each expected tick is ready in order, then the interval pends.
#[track_caller]
fn check_interval_poll(i: &mut MockTask<Interval>, start: Instant, deltas: &[u64]) {
    for &delta in deltas {
        assert_eq!(i.poll_next(), Poll::Ready(start + ms(delta)));
    }
    assert!(i.poll_next().is_pending());
}

#[test]
fn burst() {
    run_paused(async {
        let start = Instant::now();
        advance(ms(1)).await;
        let mut i = mock(interval_at(start, ms(300)));
        check_interval_poll(&mut i, start, &[0]);
        advance(ms(100)).await;
        check_interval_poll(&mut i, start, &[]);
        advance(ms(200)).await;
        check_interval_poll(&mut i, start, &[300]);
        advance(ms(650)).await;
        check_interval_poll(&mut i, start, &[600, 900]);
        advance(ms(200)).await;
        check_interval_poll(&mut i, start, &[]);
        advance(ms(100)).await;
        check_interval_poll(&mut i, start, &[1200]);
        advance(ms(250)).await;
        check_interval_poll(&mut i, start, &[1500]);
        advance(ms(300)).await;
        check_interval_poll(&mut i, start, &[1800]);
    });
}

#[test]
fn interval_reset() {
    run_paused(async {
        let start = Instant::now();
        advance(ms(1)).await;
        let mut i = mock(interval_at(start, ms(300)));
        check_interval_poll(&mut i, start, &[0]);
        advance(ms(100)).await;
        check_interval_poll(&mut i, start, &[]);
        advance(ms(200)).await;
        check_interval_poll(&mut i, start, &[300]);
        advance(ms(100)).await;
        check_interval_poll(&mut i, start, &[]);
        i.future.reset();
        advance(ms(250)).await;
        check_interval_poll(&mut i, start, &[]);
        advance(ms(50)).await;
        check_interval_poll(&mut i, start, &[701]);
        advance(ms(300)).await;
        check_interval_poll(&mut i, start, &[1001]);
    });
}

#[test]
fn delay() {
    run_paused(async {
        let start = Instant::now();
        advance(ms(1)).await;
        let mut i = mock(interval_at(start, ms(300)));
        i.future.set_missed_tick_behavior(MissedTickBehavior::Delay);
        assert_eq!(i.future.missed_tick_behavior(), MissedTickBehavior::Delay);
        check_interval_poll(&mut i, start, &[0]);
        advance(ms(100)).await;
        check_interval_poll(&mut i, start, &[]);
        advance(ms(200)).await;
        check_interval_poll(&mut i, start, &[300]);
        advance(ms(650)).await;
        check_interval_poll(&mut i, start, &[600]);
        advance(ms(100)).await;
        check_interval_poll(&mut i, start, &[]);
        // One more than the period: after the late tick the next is one period from `now`,
        // which is 1 ms behind the schedule (the `advance(ms(1))` above).
        advance(ms(201)).await;
        check_interval_poll(&mut i, start, &[1251]);
        advance(ms(300)).await;
        check_interval_poll(&mut i, start, &[1551]);
        advance(ms(300)).await;
        check_interval_poll(&mut i, start, &[1851]);
    });
}

#[test]
fn skip() {
    run_paused(async {
        let start = Instant::now();
        advance(ms(1)).await;
        let mut i = mock(interval_at(start, ms(300)));
        i.future.set_missed_tick_behavior(MissedTickBehavior::Skip);
        check_interval_poll(&mut i, start, &[0]);
        advance(ms(100)).await;
        check_interval_poll(&mut i, start, &[]);
        advance(ms(200)).await;
        check_interval_poll(&mut i, start, &[300]);
        advance(ms(650)).await;
        check_interval_poll(&mut i, start, &[600]);
        advance(ms(250)).await;
        check_interval_poll(&mut i, start, &[1200]);
        advance(ms(300)).await;
        check_interval_poll(&mut i, start, &[1500]);
        advance(ms(300)).await;
        check_interval_poll(&mut i, start, &[1800]);
    });
}

/// The common start of Tokio's `reset_*` tests: ticks at 0 and 300, then 100 ms more.
async fn interval_until_400(start: Instant) -> MockTask<Interval> {
    advance(ms(1)).await;
    let mut i = mock(interval_at(start, ms(300)));
    check_interval_poll(&mut i, start, &[0]);
    advance(ms(100)).await;
    check_interval_poll(&mut i, start, &[]);
    advance(ms(200)).await;
    check_interval_poll(&mut i, start, &[300]);
    advance(ms(100)).await;
    check_interval_poll(&mut i, start, &[]);
    i
}

#[test]
fn reset_immediately() {
    run_paused(async {
        let start = Instant::now();
        let mut i = interval_until_400(start).await;
        i.future.reset_immediately();
        check_interval_poll(&mut i, start, &[401]);
        advance(ms(100)).await;
        check_interval_poll(&mut i, start, &[]);
        advance(ms(200)).await;
        check_interval_poll(&mut i, start, &[701]);
    });
}

#[test]
fn reset_after() {
    run_paused(async {
        let start = Instant::now();
        let mut i = interval_until_400(start).await;
        i.future.reset_after(ms(20));
        advance(ms(20)).await;
        check_interval_poll(&mut i, start, &[421]);
        advance(ms(100)).await;
        check_interval_poll(&mut i, start, &[]);
        advance(ms(200)).await;
        check_interval_poll(&mut i, start, &[721]);
    });
}

#[test]
fn reset_at() {
    run_paused(async {
        let start = Instant::now();
        let mut i = interval_until_400(start).await;
        i.future.reset_at(Instant::now() + ms(40));
        advance(ms(40)).await;
        check_interval_poll(&mut i, start, &[441]);
        advance(ms(100)).await;
        check_interval_poll(&mut i, start, &[]);
        advance(ms(200)).await;
        check_interval_poll(&mut i, start, &[741]);
    });
}

#[test]
fn reset_at_bigger_than_interval() {
    run_paused(async {
        let start = Instant::now();
        let mut i = interval_until_400(start).await;
        i.future.reset_at(Instant::now() + ms(1000));
        for _ in 0..3 {
            advance(ms(300)).await;
            check_interval_poll(&mut i, start, &[]);
        }
        advance(ms(100)).await;
        check_interval_poll(&mut i, start, &[1401]);
        advance(ms(300)).await;
        check_interval_poll(&mut i, start, &[1701]);
    });
}

#[test]
fn interval_doesnt_panic_max_duration_when_polling() {
    run_paused(async {
        let mut i = mock(genrt::time::interval(Duration::MAX));
        assert!(i.poll_next().is_ready());
        assert!(i.poll_next().is_pending());
    });
}

/// Not a Tokio test: a tick more than a period late under `Skip` with a period too long for
/// `u64` nanoseconds neither panics nor overflows.
#[test]
fn skip_with_a_huge_period_does_not_overflow() {
    run_paused(async {
        let start = Instant::now();
        let mut i = mock(interval_at(start, Duration::from_secs(u64::MAX / 4)));
        i.future.set_missed_tick_behavior(MissedTickBehavior::Skip);
        check_interval_poll(&mut i, start, &[0]);
        assert_eq!(i.future.missed_tick_behavior(), MissedTickBehavior::Skip);
        assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Burst);
    });
}

// ---- time_rt.rs ----

#[test]
fn timer_with_threaded_runtime() {
    let rt = genrt::Runtime::new().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    rt.spawn(async move {
        let when = Instant::now() + ms(10);
        sleep_until(when).await;
        assert!(Instant::now() >= when);
        tx.send(()).unwrap();
    });
    support::recv(&rx, "the timer task");
}

/// Wakes itself on every poll until its inner future is ready; counts the polls.
struct Starve<T: Future<Output = ()> + Unpin>(T, u64);

impl<T: Future<Output = ()> + Unpin> Future for Starve<T> {
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        if Pin::new(&mut self.0).poll(cx).is_ready() {
            return Poll::Ready(self.1);
        }
        self.1 += 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// `starving`, as a task (a busy worker still fires timers) and in `block_on` (the
/// `#[tokio::test]` body).
#[test]
fn starving() {
    run_real(async {
        let when = Instant::now() + ms(10);
        Starve(sleep_until(when), 0).await;
        assert!(Instant::now() >= when);
    });
    let rt = runtime(1);
    let when = Instant::now() + ms(10);
    support::Watchdog::new("a starving block_on")
        .run(move || rt.block_on(Starve(sleep_until(when), 0)));
    assert!(Instant::now() >= when);
}

#[test]
fn timeout_value() {
    run_real(async {
        let (_tx, rx) = oneshot::channel::<()>();
        let now = Instant::now();
        let dur = ms(10);
        let res = timeout(dur, rx).await;
        assert!(res.is_err());
        assert!(Instant::now() >= now + dur);
    });
}

// ---- time_pause.rs ----

/// Ten thousand sleeps of pseudo-random length; returns the clock after each.
fn paused_time_stress_run() -> Vec<Duration> {
    let rt = paused();
    let body = rt.spawn(async {
        let mut state: u64 = 1;
        let start = Instant::now();
        let mut times = Vec::with_capacity(10_000);
        for _ in 0..10_000 {
            // xorshift64, seeded: the same sequence on every run.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            sleep(Duration::from_nanos(state % 1_000_000_000)).await;
            times.push(start.elapsed());
        }
        times
    });
    wait_for("the paused stress run", body).unwrap()
}

#[test]
fn paused_time_is_deterministic() {
    let run_1 = paused_time_stress_run();
    let run_2 = paused_time_stress_run();
    assert_eq!(run_1, run_2);
}

#[test]
fn advance_after_poll() {
    run_paused(async {
        sleep(ms(1)).await;
        let start = Instant::now();
        let mut s = mock(sleep_until(start + ms(300)));
        assert!(s.poll().is_pending());
        let before = Instant::now();
        advance(ms(100)).await;
        assert_elapsed(before, ms(100));
        assert!(s.poll().is_pending());
    });
}

#[test]
fn sleep_no_poll() {
    run_paused(async {
        let start = Instant::now();
        advance(ms(1)).await;
        let mut s = mock(sleep_until(start + ms(300)));
        let before = Instant::now();
        advance(ms(100)).await;
        assert_elapsed(before, ms(100));
        assert!(s.poll().is_pending());
    });
}

/// Polls `sleep` (optionally), advances 100 ms from inside the same poll loop, then checks
/// that the sleep is still pending (Tokio's `Tester`).
struct Tester {
    sleep: Pin<Box<Sleep>>,
    advance: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    before: Option<Instant>,
    poll: bool,
}

impl Future for Tester {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.advance.is_none() {
            if self.poll {
                assert!(self.sleep.as_mut().poll(cx).is_pending());
            }
            self.before = Some(Instant::now());
            self.advance = Some(Box::pin(advance(ms(100))));
        }
        if self
            .advance
            .as_mut()
            .unwrap()
            .as_mut()
            .poll(cx)
            .is_pending()
        {
            return Poll::Pending;
        }
        assert_elapsed(self.before.unwrap(), ms(100));
        assert!(self.sleep.as_mut().poll(cx).is_pending());
        Poll::Ready(())
    }
}

#[test]
fn sleep_same_task() {
    run_paused(async {
        let start = Instant::now();
        advance(ms(1)).await;
        Tester {
            sleep: Box::pin(sleep_until(start + ms(300))),
            advance: None,
            before: None,
            poll: true,
        }
        .await;
    });
}

#[test]
fn sleep_same_task_no_poll() {
    run_paused(async {
        let start = Instant::now();
        advance(ms(1)).await;
        Tester {
            sleep: Box::pin(sleep_until(start + ms(300))),
            advance: None,
            before: None,
            poll: false,
        }
        .await;
    });
}

#[test]
fn interval() {
    run_paused(async {
        let start = Instant::now();
        advance(ms(1)).await;
        let mut i = mock(interval_at(start, ms(300)));
        assert_eq!(i.poll_next(), Poll::Ready(start));
        assert!(i.poll_next().is_pending());
        for (step, ready) in [
            (100, &[][..]),
            (200, &[300][..]),
            (400, &[600][..]),
            (500, &[900, 1200][..]),
        ] {
            let before = Instant::now();
            advance(ms(step)).await;
            assert_elapsed(before, ms(step));
            check_interval_poll(&mut i, start, ready);
        }
    });
}

#[test]
fn test_time_advance_sub_ms() {
    run_paused(async {
        for dur in [Duration::from_micros(51_592), Duration::from_micros(1)] {
            let now = Instant::now();
            advance(dur).await;
            assert_eq!(now.elapsed(), dur);
        }
    });
}

#[test]
fn test_time_advance_3ms_and_change() {
    run_paused(async {
        for dur in [
            Duration::from_micros(3_141_592),
            Duration::from_micros(3_123_456),
        ] {
            let now = Instant::now();
            advance(dur).await;
            assert_eq!(now.elapsed(), dur);
        }
    });
}

#[test]
fn regression_3710_with_submillis_advance() {
    run_paused(async {
        let start = Instant::now();
        advance(ms(1)).await;
        let mut s = mock(sleep_until(start + Duration::from_secs(60)));
        assert!(s.poll().is_pending());
        let before = Instant::now();
        let dur = Duration::from_micros(51_592);
        advance(dur).await;
        assert_eq!(before.elapsed(), dur);
        assert!(s.poll().is_pending());
    });
}

#[test]
fn exact_1ms_advance() {
    run_paused(async {
        for _ in 0..2 {
            let now = Instant::now();
            advance(ms(1)).await;
            assert_eq!(now.elapsed(), ms(1));
        }
    });
}

#[test]
fn advance_once_with_timer() {
    run_paused(async {
        let mut s = mock(sleep(ms(1)));
        assert!(s.poll().is_pending());
        advance(Duration::from_micros(250)).await;
        assert!(s.poll().is_pending());
        advance(Duration::from_micros(1500)).await;
        assert!(s.is_woken());
        assert!(s.poll().is_ready());
    });
}

#[test]
fn advance_multi_with_timer() {
    run_paused(async {
        let mut s = mock(sleep(ms(1)));
        assert!(s.poll().is_pending());
        for _ in 0..3 {
            advance(Duration::from_micros(250)).await;
            assert!(s.poll().is_pending());
        }
        advance(Duration::from_micros(250)).await;
        assert!(s.is_woken());
        assert!(s.poll().is_ready());
    });
}
