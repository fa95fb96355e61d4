//! An adversarial review of `genrt::time`: what the other time tests (`time.rs`,
//! `time_pause.rs`, `time_tokio_ports.rs`, `memory_time.rs`) do not try.
//!
//! - The wheel's far end: a deadline past its span (about 795 days; `sleep(Duration::MAX)`)
//!   is clamped into the slot of the top level that `elapsed` is in, and used to hide every
//!   top-level timer of the level's current turn (a 13-day sleep returned after 808 days);
//!   such a sleep read as elapsed once its clamped entry fired. Instants far past the span
//!   and past the clock's saturation never complete early.
//! - Timed parks and kicks: an earlier timer registered in a task, made under `enter` on a
//!   foreign thread, or moved by a foreign `reset`, unparks the worker parked for a later
//!   deadline (also a current-thread driver); a resume of a clock built paused makes some
//!   worker take the timed park; short sleeps from tasks and `block_on` threads, reset and
//!   dropped, beside far ones, all complete, never early.
//! - Sleeps moved between tasks, a thousand with one deadline, past deadlines and zero
//!   durations (ready at the first poll, as in Tokio), zero periods (Tokio's message).
//! - The paused clock does not jump while a task blocks in place; a sleep awaited after
//!   `block_in_place` outlived its runtime cancels the task; `shutdown_background` drops every
//!   sleeper and wakes a `block_on` sleep with a clear panic; timers fire while every worker
//!   spins on `yield_now`.
//!
//! Every wait is bounded (a watchdog, `wait_for`); no test asserts an upper bound on the real
//! clock: exact times are read on a paused clock.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::time::Duration;

use genrt::time::{sleep, Instant};

use support::{paused, wait_until, Watchdog};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const DAY: Duration = Duration::from_secs(86_400);

/// Polls `future` once in the current task; returns whether it was ready.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> bool {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx).is_ready())).await
}

/// A far sleep (clamped to the wheel's span, so in `elapsed`'s slot of the top level) does
/// not hold back a 13-day sleep, which is on the top level too: it returned after about 808
/// days when a level's search started with `elapsed`'s slot (on a real clock, a timer
/// crossing a 2^30 ms boundary of the runtime's age would wait about 795 days).
#[test]
fn a_far_timer_does_not_hide_a_timer_of_the_top_level() {
    let rt = paused(1);
    let slept = Watchdog::new("a 13-day sleep beside a far one").run(move || {
        rt.block_on(async {
            sleep(ms(1)).await;
            let mut far = sleep(Duration::MAX);
            assert!(!poll_once(&mut far).await);
            let start = Instant::now();
            sleep(13 * DAY).await;
            start.elapsed()
        })
    });
    assert_eq!(slept, 13 * DAY);
}

/// A deadline past the wheel's span (about 795 days) is clamped there and registered again
/// when the clamp's tick is reached; until its own deadline the sleep is not elapsed, also
/// read from outside a poll (`is_elapsed`), as Tokio's is never elapsed early.
#[test]
fn a_sleep_past_the_wheel_span_is_not_elapsed_at_the_clamp() {
    let rt = paused(1);
    Watchdog::new("a 1000-day sleep").run(move || {
        rt.block_on(async {
            let start = Instant::now();
            let mut far = sleep(1000 * DAY);
            assert!(!poll_once(&mut far).await);
            genrt::time::advance(800 * DAY).await;
            assert!(!far.is_elapsed(), "elapsed at 800 of 1000 days");
            assert!(!poll_once(&mut far).await);
            assert!(!far.is_elapsed());
            genrt::time::advance(199 * DAY).await;
            assert!(!far.is_elapsed());
            far.await;
            assert_eq!(start.elapsed(), 1000 * DAY);
        })
    });
}

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A runtime dropped while a task blocks in place: a sleep the task awaits after the closure
/// returns stays pending (its wheel is closed, and the poll is the task's own), and the task
/// ends cancelled, not with a panic (`block_in_place`'s docs; it said "panics" before) and
/// without waiting for the sleep.
#[test]
fn a_sleep_awaited_after_block_in_place_outlived_the_runtime_cancels_the_task() {
    let rt = genrt::Builder::new().worker_threads(1).build().unwrap();
    let (in_f_tx, in_f_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let join = rt.spawn(async move {
        genrt::task::block_in_place(move || {
            in_f_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        });
        sleep(Duration::from_secs(3600)).await;
    });
    support::recv(&in_f_rx, "the closure running");
    let swept = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(swept.clone());
    rt.spawn(async move {
        let _flag = flag;
        std::future::pending::<()>().await
    });
    let dropper = std::thread::spawn(move || drop(rt));
    wait_until("the drop's sweep", || swept.load(Ordering::SeqCst));
    go_tx.send(()).unwrap();
    let err = Watchdog::new("the blocked task after the drop")
        .run(move || futures::executor::block_on(join))
        .unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    Watchdog::new("the drop").run(move || dropper.join().unwrap());
}

/// A runtime whose one idle worker holds the timed park for a one-hour sleep.
fn parked_for_an_hour(workers: usize) -> (genrt::Runtime, genrt::task::JoinHandle<()>) {
    let rt = support::runtime(workers);
    let far = rt.spawn(sleep(Duration::from_secs(3600)));
    rt.settle();
    (rt, far)
}

/// A 10 ms sleep registered in a task (its entry holds the task's key, not a waker) while an
/// idle worker is parked until a one-hour deadline: the insert unparks that worker, on one
/// worker or several.
#[test]
fn a_sleep_in_a_task_unparks_a_worker_parked_for_a_later_deadline() {
    for workers in [1, 2, 4] {
        let (rt, far) = parked_for_an_hour(workers);
        let join = rt.spawn(async {
            let start = Instant::now();
            sleep(ms(10)).await;
            start.elapsed()
        });
        assert!(support::wait_for("a 10 ms sleep behind a one-hour one", join).unwrap() >= ms(10));
        far.abort();
    }
}

/// A sleep made on a foreign thread inside an `enter` guard (bound to the runtime there),
/// then moved into a task: the task's poll registers it and the parked worker is unparked.
#[test]
fn a_sleep_made_under_enter_on_a_foreign_thread_and_awaited_in_a_task_fires() {
    let (rt, far) = parked_for_an_hour(2);
    let handle = rt.handle().clone();
    let s = std::thread::spawn(move || {
        let _entered = handle.enter();
        sleep(ms(10))
    })
    .join()
    .unwrap();
    let deadline = s.deadline();
    let join = rt.spawn(async move {
        s.await;
        Instant::now()
    });
    assert!(support::wait_for("a sleep made under enter", join).unwrap() >= deadline);
    far.abort();
}

/// A task waits on a sleep of one hour, which a foreign thread then resets to 10 ms from now
/// (the entry moves and keeps the task's key): the worker parked for the hour is unparked and
/// the task woken.
#[test]
fn a_reset_from_a_foreign_thread_to_an_earlier_deadline_wakes_the_waiting_task() {
    let rt = support::runtime(2);
    let shared = Arc::new(std::sync::Mutex::new({
        let _entered = rt.enter();
        sleep(Duration::from_secs(3600))
    }));
    let polled = Arc::new(AtomicBool::new(false));
    let join = rt.spawn({
        let (shared, polled) = (shared.clone(), polled.clone());
        async move {
            poll_fn(|cx| {
                let poll = Pin::new(&mut *shared.lock().unwrap()).poll(cx);
                polled.store(true, Ordering::SeqCst);
                poll
            })
            .await;
            Instant::now()
        }
    });
    wait_until("the task polled its sleep", || {
        polled.load(Ordering::SeqCst)
    });
    rt.settle(); // every worker parked, one until the hour
    let deadline = {
        let _entered = rt.enter();
        Instant::now() + ms(10)
    };
    Pin::new(&mut *shared.lock().unwrap()).reset(deadline);
    assert!(support::wait_for("the task after the reset", join).unwrap() >= deadline);
}

/// A reset from a foreign thread to a deadline that has already passed wakes the waiting task
/// at once (its entry is removed and the waiter woken), and the task sees the sleep complete.
#[test]
fn a_reset_from_a_foreign_thread_to_a_past_deadline_wakes_the_waiting_task() {
    let rt = paused(2);
    let shared = Arc::new(std::sync::Mutex::new({
        let _entered = rt.enter();
        sleep(Duration::from_secs(3600))
    }));
    // Holds the paused clock, so that the hour does not pass by itself.
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let blocker = rt.spawn_blocking(move || release_rx.recv().ok());
    let polled = Arc::new(AtomicBool::new(false));
    let join = rt.spawn({
        let (shared, polled) = (shared.clone(), polled.clone());
        async move {
            let start = Instant::now();
            poll_fn(|cx| {
                let poll = Pin::new(&mut *shared.lock().unwrap()).poll(cx);
                polled.store(true, Ordering::SeqCst);
                poll
            })
            .await;
            start.elapsed()
        }
    });
    wait_until("the task polled its sleep", || {
        polled.load(Ordering::SeqCst)
    });
    let past = {
        let _entered = rt.enter();
        Instant::now()
    };
    Pin::new(&mut *shared.lock().unwrap()).reset(past);
    assert_eq!(
        support::wait_for("the task after the reset", join).unwrap(),
        Duration::ZERO,
        "the clock did not move"
    );
    release_tx.send(()).unwrap();
    support::wait_for("the blocking closure", blocker).unwrap();
}

/// A registered sleep handed from one task to another (the first one finishes, so the
/// entry's key goes stale): the second task's poll takes the entry over, and a reset there
/// moves it, on a paused clock with exact times.
#[test]
fn a_sleep_moved_between_tasks_wakes_the_task_that_polls_it_last() {
    let rt = paused(2);
    let (tx, rx) = futures::channel::oneshot::channel::<genrt::time::Sleep>();
    let first = rt.spawn(async move {
        let mut s = sleep(Duration::from_secs(10));
        assert!(!poll_once(&mut s).await);
        tx.send(s).unwrap();
    });
    support::wait_for("the first task", first).unwrap();
    // (The clock may reach the deadline before the second task runs: every worker is idle
    // in between, and the entry is pending.)
    let second = rt.spawn(async move {
        let mut s = rx.await.unwrap();
        let deadline = s.deadline();
        (&mut s).await;
        assert!(Instant::now() >= deadline);
        let again = Instant::now() + ms(250);
        Pin::new(&mut s).reset(again);
        s.await;
        (deadline, again, Instant::now())
    });
    let (deadline, again, end) = support::wait_for("the second task", second).unwrap();
    assert_eq!(again, deadline + ms(250), "the first deadline met exactly");
    assert_eq!(end, again);
}

/// A thousand tasks over four workers sleep until one deadline: every one completes, at
/// that deadline exactly on a paused clock.
#[test]
fn a_thousand_sleeps_with_one_deadline_complete_together() {
    let rt = paused(4);
    let deadline = {
        let _entered = rt.enter();
        Instant::now() + Duration::from_secs(5)
    };
    let woken = Arc::new(AtomicUsize::new(0));
    let joins: Vec<_> = (0..1000)
        .map(|_| {
            let woken = woken.clone();
            rt.spawn(async move {
                genrt::time::sleep_until(deadline).await;
                woken.fetch_add(1, Ordering::SeqCst);
                Instant::now()
            })
        })
        .collect();
    for join in joins {
        assert_eq!(support::wait_for("a sleeper", join).unwrap(), deadline);
    }
    assert_eq!(woken.load(Ordering::SeqCst), 1000);
}

/// Deadlines that have passed, and zero durations: ready at the first poll without a yield,
/// as in Tokio; a zero timeout on a pending future elapses at its first poll, and on a ready
/// one gives the output (the future is polled first).
#[test]
fn past_deadlines_and_zero_durations_complete_at_the_first_poll() {
    let rt = paused(1);
    Watchdog::new("past deadlines").run(move || {
        rt.block_on(async {
            genrt::time::advance(Duration::from_secs(10)).await;
            let past = Instant::now() - Duration::from_secs(5);
            assert!(poll_once(&mut genrt::time::sleep_until(past)).await);
            assert!(poll_once(&mut sleep(Duration::ZERO)).await);
            let mut now = genrt::time::sleep_until(Instant::now());
            assert!(poll_once(&mut now).await);
            assert!(now.is_elapsed());
            let mut t = Box::pin(genrt::time::timeout(
                Duration::ZERO,
                std::future::pending::<()>(),
            ));
            let first = poll_fn(|cx| Poll::Ready(t.as_mut().poll(cx))).await;
            assert!(matches!(first, Poll::Ready(Err(_))), "{first:?}");
            let mut t = Box::pin(genrt::time::timeout_at(past, async { 7 }));
            let first = poll_fn(|cx| Poll::Ready(t.as_mut().poll(cx))).await;
            assert_eq!(first, Poll::Ready(Ok(7)));
            // No time passed for any of them.
            assert_eq!(Instant::now(), past + Duration::from_secs(5));
        })
    });
}

/// A task blocking in place counts as running: a paused clock does not auto-advance while
/// its closure runs, whatever the other workers do (`block_in_place`'s docs). The closure
/// spawns a sleeper and watches it for 50 ms of real time; a jump would complete it.
#[test]
fn a_paused_clock_does_not_jump_while_a_task_blocks_in_place() {
    let rt = paused(2);
    let join = rt.spawn(async {
        let start = Instant::now();
        let done = Arc::new(AtomicBool::new(false));
        let sleeper = genrt::task::block_in_place(|| {
            let sleeper = genrt::spawn({
                let done = done.clone();
                async move {
                    sleep(Duration::from_secs(3600)).await;
                    done.store(true, Ordering::SeqCst);
                }
            });
            let until = std::time::Instant::now() + ms(50);
            while std::time::Instant::now() < until {
                assert!(!done.load(Ordering::SeqCst), "the clock jumped");
                std::thread::sleep(ms(1));
            }
            assert_eq!(start.elapsed(), Duration::ZERO);
            sleeper
        });
        sleeper.await.unwrap();
        assert!(done.load(Ordering::SeqCst));
        start.elapsed()
    });
    assert_eq!(
        support::wait_for("the task that blocked in place", join).unwrap(),
        Duration::from_secs(3600)
    );
}

/// A current-thread runtime driven by one thread (`block_on` of a one-hour sleep, so the
/// driver parks until then): a task spawned from another thread sleeps 10 ms, and a second
/// `block_on` thread (which polls its own future only) sleeps 10 ms; both inserts unpark the
/// driver, which fires them.
#[test]
fn timers_from_other_threads_unpark_a_current_thread_driver_parked_for_later() {
    let rt = Arc::new(genrt::Builder::new_current_thread().build().unwrap());
    let (stop_tx, stop_rx) = futures::channel::oneshot::channel::<()>();
    let driver = std::thread::spawn({
        let rt = rt.clone();
        move || {
            rt.block_on(async move {
                let far = sleep(Duration::from_secs(3600));
                genrt::select! {
                    _ = far => panic!("an hour passed"),
                    _ = stop_rx => {}
                }
            })
        }
    });
    // The driver parks (it is the only thread running tasks); wait for it through a task.
    let ran = rt.spawn(async {});
    support::wait_for("a task on the driven runtime", ran).unwrap();
    let handle = rt.handle().clone();
    let spawned = handle.spawn(async {
        let start = Instant::now();
        sleep(ms(10)).await;
        start.elapsed()
    });
    assert!(support::wait_for("a spawned 10 ms sleep", spawned).unwrap() >= ms(10));
    let slept = Watchdog::new("a second block_on's 10 ms sleep").run(move || {
        handle.block_on(async {
            let start = Instant::now();
            sleep(ms(10)).await;
            start.elapsed()
        })
    });
    assert!(slept >= ms(10));
    stop_tx.send(()).unwrap();
    Watchdog::new("the driver").run(move || driver.join().unwrap());
}

/// `shutdown_background` with a thousand tasks asleep and a `block_on` thread asleep: every
/// task's future is dropped, and the `block_on` thread is woken and panics saying why,
/// instead of waiting for its deadline.
#[test]
fn shutdown_background_with_sleeps_pending_drops_every_sleeper_and_wakes_block_on() {
    let _quiet = support::quiet_panics();
    let rt = support::runtime(2);
    let alive = Arc::new(());
    for _ in 0..1000 {
        let alive = alive.clone();
        drop(rt.spawn(async move {
            let _alive = alive;
            sleep(Duration::from_secs(3600)).await;
        }));
    }
    let handle = rt.handle().clone();
    let (registered_tx, registered_rx) = mpsc::channel::<()>();
    let blocker = std::thread::spawn(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handle.block_on(async move {
                let mut s = sleep(Duration::from_secs(3600));
                assert!(!poll_once(&mut s).await);
                registered_tx.send(()).unwrap();
                s.await;
            })
        }))
    });
    support::recv(&registered_rx, "the block_on sleep registered");
    wait_until("every sleeper registered", || rt.try_settle(ms(10)));
    rt.shutdown_background();
    wait_until("every sleeper's future dropped", || {
        Arc::strong_count(&alive) == 1
    });
    let payload = Watchdog::new("the block_on thread")
        .run(move || blocker.join().unwrap())
        .expect_err("its sleep panics");
    let message = support::panic_message(&*payload).unwrap_or_default();
    assert!(message.contains("shut down"), "{message}");
}

/// Every worker busy with a task looping on `yield_now`: a task woken by a timer still runs
/// (the busy workers fire due timers), on one worker and on two.
#[test]
fn a_timer_wakes_its_task_while_every_worker_spins_on_yields() {
    for workers in [1, 2] {
        let rt = support::runtime(workers);
        let stop = Arc::new(AtomicBool::new(false));
        let spinners: Vec<_> = (0..workers)
            .map(|_| {
                let stop = stop.clone();
                rt.spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        genrt::yield_now().await;
                    }
                })
            })
            .collect();
        let sleeper = rt.spawn({
            let stop = stop.clone();
            async move {
                for _ in 0..5 {
                    sleep(ms(2)).await;
                }
                stop.store(true, Ordering::SeqCst);
            }
        });
        support::wait_for("the sleeper beside the spinners", sleeper).unwrap();
        for spinner in spinners {
            support::wait_for("a spinner", spinner).unwrap();
        }
    }
}

/// A runtime built paused (two workers) whose clock is resumed while a timer is pending and
/// every worker parks without a timeout (a blocking closure holds the clock, so it did not
/// jump): the resume makes some worker take the timed park, and the timer fires on the real
/// clock.
#[test]
fn resuming_a_clock_built_paused_fires_a_pending_timer_on_the_real_clock() {
    let rt = paused(2);
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let blocker = rt.spawn_blocking(move || release_rx.recv().ok());
    let registered = Arc::new(AtomicBool::new(false));
    let sleeper = rt.spawn({
        let registered = registered.clone();
        async move {
            let start = Instant::now();
            let mut s = sleep(ms(30));
            assert!(!poll_once(&mut s).await);
            registered.store(true, Ordering::SeqCst);
            s.await;
            start.elapsed()
        }
    });
    wait_until("the sleep registered", || registered.load(Ordering::SeqCst));
    rt.settle(); // every worker parked, none with a timeout (the clock is paused)
    let handle = rt.handle().clone();
    Watchdog::new("resume").run(move || {
        let _entered = handle.enter();
        genrt::time::resume();
    });
    assert!(support::wait_for("the sleeper after the resume", sleeper).unwrap() >= ms(30));
    release_tx.send(()).unwrap();
    support::wait_for("the blocking closure", blocker).unwrap();
}

/// A zero period panics with Tokio's words, from both constructors.
#[test]
fn a_zero_period_panics_with_tokio_s_message() {
    let _quiet = support::quiet_panics();
    let rt = paused(1);
    let _entered = rt.enter();
    for payload in [
        std::panic::catch_unwind(|| genrt::time::interval(Duration::ZERO)).unwrap_err(),
        std::panic::catch_unwind(|| genrt::time::interval_at(Instant::now(), Duration::ZERO))
            .unwrap_err(),
    ] {
        let message = support::panic_message(&*payload).unwrap_or_default();
        assert!(message.contains("`period` must be non-zero."), "{message}");
    }
}

/// Instants far in the future, past the wheel's span and past where the clock saturates
/// (about 292 years): nothing panics or overflows, nothing completes early on the way, and
/// `advance(Duration::MAX)` (the clock's end) makes every one due.
#[test]
fn far_instants_never_complete_early_and_the_clock_s_end_makes_them_due() {
    let rt = paused(1);
    Watchdog::new("far instants").run(move || {
        rt.block_on(async {
            let start = Instant::now();
            let years = |n: u64| Duration::from_secs(n * 365 * 86_400);
            let mut in_250 = genrt::time::sleep_until(start + years(250));
            let mut in_400 = genrt::time::sleep_until(start + years(400));
            let mut max = sleep(Duration::MAX);
            let mut timed = Box::pin(genrt::time::timeout_at(
                start + years(250),
                std::future::pending::<()>(),
            ));
            let mut every = genrt::time::interval_at(start + years(250), years(100));
            for s in [&mut in_250, &mut in_400, &mut max] {
                assert!(!poll_once(s).await);
            }
            assert!(poll_fn(|cx| Poll::Ready(timed.as_mut().poll(cx).is_pending())).await);
            assert!(poll_fn(|cx| Poll::Ready(every.poll_tick(cx).is_pending())).await);
            // Through many turns of the wheel: never early.
            for _ in 0..5 {
                genrt::time::advance(years(45)).await;
                for s in [&mut in_250, &mut in_400] {
                    assert!(!s.is_elapsed());
                    assert!(!poll_once(s).await);
                }
            }
            assert_eq!(start.elapsed(), years(225));
            genrt::time::advance(years(25)).await;
            assert!(poll_once(&mut in_250).await);
            assert!(poll_fn(|cx| Poll::Ready(timed.as_mut().poll(cx).is_ready())).await);
            assert_eq!(
                poll_fn(|cx| Poll::Ready(every.poll_tick(cx))).await,
                Poll::Ready(start + years(250))
            );
            // `Duration::MAX` is 30 years ahead (Tokio's far future), from the start.
            assert!(poll_once(&mut max).await);
            assert!(!poll_once(&mut in_400).await);
            genrt::time::advance(Duration::MAX).await;
            assert!(poll_once(&mut in_400).await);
            assert!(poll_fn(|cx| Poll::Ready(every.poll_tick(cx).is_ready())).await);
        })
    });
}

/// Timed parks, kicks and hand-overs of the holder under load: four workers with a one-hour
/// sleep pending (so a parked holder waits long), tasks and two foreign `block_on` threads
/// sleeping short random durations, some of them reset earlier or later from another task or
/// dropped half-way, beside far sleeps registered and dropped. Every short sleep completes,
/// never early; a lost kick leaves one waiting for the hour, and the watchdog fails it.
#[test]
fn short_sleeps_from_everywhere_beside_far_ones_all_complete_never_early() {
    let rt = support::runtime(4);
    let far = rt.spawn(sleep(Duration::from_secs(3600)));
    let early = Arc::new(AtomicUsize::new(0));
    let seeds = 0..24u64;
    let tasks: Vec<_> = seeds
        .map(|seed| {
            let early = early.clone();
            rt.spawn(async move { sleeper_rounds(seed, &early).await })
        })
        .collect();
    let threads: Vec<_> = (100..102u64)
        .map(|seed| {
            let (handle, early) = (rt.handle().clone(), early.clone());
            std::thread::spawn(move || handle.block_on(sleeper_rounds(seed, &early)))
        })
        .collect();
    for task in tasks {
        support::wait_for("a task's sleeps", task).unwrap();
    }
    for thread in threads {
        Watchdog::new("a block_on thread's sleeps").run(move || thread.join().unwrap());
    }
    assert_eq!(early.load(Ordering::SeqCst), 0, "a sleep completed early");
    far.abort();
}

/// Thirty rounds of a short sleep (0 to 3 ms), reset earlier, later, or not at all, with a
/// far sleep registered beside it in some rounds and dropped half-way in others.
async fn sleeper_rounds(seed: u64, early: &AtomicUsize) {
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move |bound: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % bound
    };
    for _ in 0..30 {
        let start = Instant::now();
        let mut s = sleep(Duration::from_micros(next(3000)));
        let mut far = sleep(Duration::from_secs(86_400 * (1 + next(2000))));
        if next(2) == 0 {
            assert!(!poll_once(&mut far).await);
        }
        match next(4) {
            0 => {
                let _ = poll_once(&mut s).await;
                let earlier = start + Duration::from_micros(next(1000));
                Pin::new(&mut s).reset(earlier);
            }
            1 => {
                let _ = poll_once(&mut s).await;
                let later = start + Duration::from_micros(3000 + next(3000));
                Pin::new(&mut s).reset(later);
            }
            2 => {
                let _ = poll_once(&mut s).await;
                drop(s);
                continue;
            }
            _ => {}
        }
        let deadline = s.deadline();
        s.await;
        if Instant::now() < deadline {
            early.fetch_add(1, Ordering::SeqCst);
        }
    }
}
