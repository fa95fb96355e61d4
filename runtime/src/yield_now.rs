//! [`yield_now`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Gives other tasks a turn: the current task goes to the back of its worker's queue.
///
/// A task that loops on `yield_now` cannot starve other tasks. As in Tokio, the task is
/// polled again only after the tasks already queued on its worker and the timers that are
/// due; a [`LocalSet`](crate::task::LocalSet)'s task, in its set's next turn, once the task
/// driving the set has yielded in its turn.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// rt.block_on(rt.spawn(async {
///     for _ in 0..3 {
///         genrt::yield_now().await;
///     }
/// }))
/// .unwrap();
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // A wake during the task's own poll marks it NOTIFIED; marked as a yield, once this
        // poll returns the worker puts it on its deferred list (not its deque, where idle
        // workers would be woken for it), which reaches the back of its deque within a
        // bounded number of ticks (see genrt-scheduler's `worker` module).
        genrt_scheduler::mark_yield();
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
