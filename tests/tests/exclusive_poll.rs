//! A task is never polled by two threads at once, however many threads wake it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;

use support::{drop_runtime, runtime, wait_for, wait_until, Watchdog};

/// What the foreign threads and the test see of one task.
#[derive(Default)]
struct Probe {
    in_poll: AtomicBool,
    overlaps: AtomicUsize,
    polls: AtomicUsize,
    finish: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

/// Flags "in poll" for the whole of each poll, and records any poll that finds the flag
/// already set. Each poll lingers a little (and sometimes wakes itself) to widen the window
/// in which a second poller could come in.
struct Exclusive(Arc<Probe>);

impl Future for Exclusive {
    type Output = usize;

    // `usize::is_multiple_of` is newer than the workspace's rust-version (1.84).
    #[allow(clippy::manual_is_multiple_of)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let probe = &self.0;
        if probe.in_poll.swap(true, Ordering::SeqCst) {
            probe.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        let polls = probe.polls.fetch_add(1, Ordering::SeqCst) + 1;
        *probe.waker.lock().unwrap() = Some(cx.waker().clone());
        for _ in 0..200 {
            std::hint::spin_loop();
        }
        if polls % 7 == 0 {
            thread::yield_now();
        }
        if polls % 5 == 0 {
            cx.waker().wake_by_ref(); // woken during its own poll
        }
        let finish = probe.finish.load(Ordering::SeqCst);
        probe.in_poll.store(false, Ordering::SeqCst);
        if finish {
            Poll::Ready(polls)
        } else {
            Poll::Pending
        }
    }
}

#[test]
fn a_task_woken_from_four_threads_is_never_polled_by_two_at_once() {
    const WAKERS: usize = 4;
    const WAKES_PER_THREAD: usize = 1_000;
    const TASKS: usize = 4;
    let rt = runtime(4);
    let probes: Vec<Arc<Probe>> = (0..TASKS).map(|_| Arc::default()).collect();
    let tasks: Vec<_> = probes
        .iter()
        .map(|probe| rt.spawn(Exclusive(probe.clone())))
        .collect();
    wait_until("every task was polled once", || {
        probes.iter().all(|p| p.polls.load(Ordering::SeqCst) >= 1)
    });

    let start = Arc::new(Barrier::new(WAKERS));
    let threads: Vec<_> = (0..WAKERS)
        .map(|_| {
            let (probes, start) = (probes.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for i in 0..WAKES_PER_THREAD {
                    for probe in &probes {
                        let waker = probe.waker.lock().unwrap().clone().unwrap();
                        if i % 2 == 0 {
                            waker.wake_by_ref();
                        } else {
                            waker.wake();
                        }
                    }
                    // Let the workers poll between rounds, so the wakes land on every state
                    // of the task (idle, queued, being polled), not only on "queued".
                    thread::yield_now();
                }
            })
        })
        .collect();
    for thread in threads {
        Watchdog::new("a waking thread")
            .run(move || thread.join())
            .expect("a waker panicked");
    }

    for probe in &probes {
        probe.finish.store(true, Ordering::SeqCst);
        probe.waker.lock().unwrap().clone().unwrap().wake();
    }
    for (task, probe) in tasks.into_iter().zip(&probes) {
        let polls = wait_for("a woken task to finish", task).unwrap();
        assert!(
            polls >= 2,
            "polled once at spawn and once to finish: {polls}"
        );
        assert_eq!(
            probe.overlaps.load(Ordering::SeqCst),
            0,
            "a task was polled by two threads at once ({polls} polls)"
        );
    }
    drop_runtime(rt);
}
