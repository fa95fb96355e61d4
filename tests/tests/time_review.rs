//! An adversarial review of `genrt::time`: cases the other time tests do not cover.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use genrt::time::{sleep, Instant};

use support::Watchdog;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const DAY: Duration = Duration::from_secs(86_400);

fn paused(workers: usize) -> genrt::Runtime {
    genrt::Builder::new()
        .worker_threads(workers)
        .start_paused(true)
        .build()
        .expect("the runtime starts")
}

/// Polls `future` once in the current task; returns whether it was ready.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> bool {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx).is_ready())).await
}

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
