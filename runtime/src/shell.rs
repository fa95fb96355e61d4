//! Shell requests: a task asks the outside world (a UI thread, an I/O pool, a test) for a
//! value and suspends until it is resolved.
//!
//! This is the pattern that leaked in Crux (redbadger/crux #268): the pending request stores
//! the waiting task's waker, and with an owning waker that closes the cycle
//! `task -> future -> request -> waker -> task`. Here the stored waker is a genrt key: it
//! keeps nothing alive. Once the waiting task is gone (finished, aborted, cancelled, its
//! runtime dropped), its future and with it the [`ShellRequest`] are dropped, and a late
//! [`Resolver::resolve`] hands the value back instead of waking anything.
//!
//! ```
//! let rt = genrt::Runtime::new().unwrap();
//! let (request, resolver) = genrt::shell::request::<u32>();
//! let task = rt.spawn(async move { request.await.unwrap() * 2 });
//! // The shell, on any thread, performs the effect and resolves it.
//! std::thread::spawn(move || resolver.resolve(21).unwrap()).join().unwrap();
//! assert_eq!(rt.block_on(task).unwrap(), 42);
//! ```
//!
//! Each request is one allocation: the state both halves share. No lock is held while a
//! waker is woken. A request that completes, and each value (or the end) of a stream, spends
//! one unit of the cooperative budget (`task::coop`), as Tokio's `oneshot` and `mpsc`
//! receivers do: a loop over a stream that never runs dry yields to the other tasks.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::{Arc, Mutex};

/// Makes a one-shot request: the [`ShellRequest`] goes to the task that awaits the value,
/// the [`Resolver`] to whoever produces it.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let (request, resolver) = genrt::shell::request::<&str>();
/// resolver.resolve("early").unwrap(); // resolving before the first poll is fine
/// assert_eq!(rt.block_on(rt.spawn(request)).unwrap(), Ok("early"));
/// ```
pub fn request<T: Send + 'static>() -> (ShellRequest<T>, Resolver<T>) {
    let shared = Arc::new(Mutex::new(OnceState {
        value: None,
        waker: None,
        request_alive: true,
        resolver_alive: true,
        done: false,
    }));
    (
        ShellRequest {
            shared: shared.clone(),
        },
        Resolver { shared },
    )
}

struct OnceState<T> {
    value: Option<T>,
    waker: Option<Waker>,
    request_alive: bool,
    resolver_alive: bool,
    /// The request returned its outcome (a value or `Abandoned`): polling it again is a bug.
    done: bool,
}

/// The waiting half of a one-shot request: a future of `Result<T, Abandoned>`.
///
/// It completes with `Ok(value)` once resolved, or with `Err(Abandoned)` if the
/// [`Resolver`] is dropped unresolved. Dropping it (with its task) tells the resolver that
/// nobody is waiting any more. Polled again after it completed, it panics (as a
/// `JoinHandle` does): its value is gone, and `Abandoned` would be false.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let (request, resolver) = genrt::shell::request::<u8>();
/// let task = rt.spawn(async move { request.await });
/// std::thread::spawn(move || resolver.resolve(7)).join().unwrap().unwrap();
/// assert_eq!(rt.block_on(task).unwrap(), Ok(7));
/// ```
#[must_use = "a request does nothing unless awaited"]
pub struct ShellRequest<T> {
    shared: Arc<Mutex<OnceState<T>>>,
}

impl<T> Future for ShellRequest<T> {
    type Output = Result<T, Abandoned>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // One unit of the cooperative budget when the request completes, as Tokio's
        // `oneshot::Receiver` (`task::coop`); taken before the lock, since a spent budget
        // wakes `cx`.
        let Poll::Ready(spend) = crate::task::coop::poll_proceed(cx) else {
            return Poll::Pending;
        };
        let mut state = self.shared.lock();
        assert!(
            !state.done,
            "genrt: a ShellRequest was polled after it returned its outcome"
        );
        loop {
            if let Some(value) = state.value.take() {
                state.done = true;
                spend.made_progress();
                return Poll::Ready(Ok(value));
            }
            if !state.resolver_alive {
                state.done = true;
                spend.made_progress();
                return Poll::Ready(Err(Abandoned(())));
            }
            match crate::task::register_waker(
                || self.shared.lock(),
                state,
                cx,
                |state| &mut state.waker,
                |state| state.value.is_some() || !state.resolver_alive,
            ) {
                None => return Poll::Pending,
                Some(again) => state = again,
            }
        }
    }
}

impl<T> Drop for ShellRequest<T> {
    fn drop(&mut self) {
        let (value, waker) = {
            let mut state = self.shared.lock();
            state.request_alive = false;
            (state.value.take(), state.waker.take())
        };
        drop((value, waker));
    }
}

impl<T> fmt::Debug for ShellRequest<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("ShellRequest")
            .field("resolved", &state.value.is_some())
            .field("resolver_alive", &state.resolver_alive)
            .finish()
    }
}

/// The producing half of a one-shot request. `Send`: resolve it from any thread.
///
/// Dropping it unresolved completes the request with [`Abandoned`].
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let (request, resolver) = genrt::shell::request::<u8>();
/// let task = rt.spawn(request);
/// drop(resolver); // the shell gave up
/// assert!(rt.block_on(task).unwrap().is_err());
/// ```
pub struct Resolver<T> {
    shared: Arc<Mutex<OnceState<T>>>,
}

impl<T> Resolver<T> {
    /// Delivers `value` and wakes the waiting task with its own (key) waker.
    ///
    /// Returns `Err(value)` when nobody waits any more: the request was dropped because its
    /// task finished, was aborted or cancelled, or its runtime was dropped. That is never a
    /// panic and wakes nothing.
    ///
    /// ```
    /// let (request, resolver) = genrt::shell::request::<String>();
    /// drop(request); // the task that held it was cancelled
    /// assert_eq!(resolver.resolve("late".into()), Err("late".to_string()));
    /// ```
    pub fn resolve(self, value: T) -> Result<(), T> {
        let waker = {
            let mut state = self.shared.lock();
            if !state.request_alive {
                return Err(value);
            }
            state.value = Some(value);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Whether the request was dropped, so resolving it would hand the value back. A shell
    /// can check it to skip work nobody waits for.
    ///
    /// ```
    /// let (request, resolver) = genrt::shell::request::<()>();
    /// assert!(!resolver.is_cancelled());
    /// drop(request);
    /// assert!(resolver.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        !self.shared.lock().request_alive
    }
}

impl<T> Drop for Resolver<T> {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.shared.lock();
            state.resolver_alive = false;
            if state.value.is_none() {
                state.waker.take()
            } else {
                None
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for Resolver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The error of a [`ShellRequest`] whose [`Resolver`] was dropped without resolving it.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let (request, resolver) = genrt::shell::request::<u8>();
/// drop(resolver);
/// assert!(rt.block_on(request).is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Abandoned(());

impl fmt::Debug for Abandoned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Abandoned")
    }
}

impl fmt::Display for Abandoned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the shell dropped the resolver without resolving the request")
    }
}

impl std::error::Error for Abandoned {}

/// Makes a many-value request (Crux's `stream_from_shell`): the [`ShellStream`] receives,
/// the [`StreamResolver`] sends. The stream ends (`None`) once the resolver is dropped and
/// every sent value was received.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let (mut stream, resolver) = genrt::shell::stream::<u32>();
/// let sum = rt.spawn(async move {
///     let mut sum = 0;
///     while let Some(v) = stream.next().await {
///         sum += v;
///     }
///     sum
/// });
/// for v in 1..=4 {
///     resolver.send(v).unwrap();
/// }
/// drop(resolver);
/// assert_eq!(rt.block_on(sum).unwrap(), 10);
/// ```
pub fn stream<T: Send + 'static>() -> (ShellStream<T>, StreamResolver<T>) {
    let shared = Arc::new(Mutex::new(StreamState {
        queue: VecDeque::new(),
        waker: None,
        receiver_alive: true,
        sender_alive: true,
    }));
    (
        ShellStream {
            shared: shared.clone(),
        },
        StreamResolver { shared },
    )
}

struct StreamState<T> {
    queue: VecDeque<T>,
    waker: Option<Waker>,
    receiver_alive: bool,
    sender_alive: bool,
}

/// The receiving half of a many-value request.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let (mut stream, resolver) = genrt::shell::stream::<char>();
/// std::thread::spawn(move || {
///     for c in ['o', 'k'] {
///         resolver.send(c).unwrap();
///     }
/// });
/// let word = rt.block_on(rt.spawn(async move {
///     let mut word = String::new();
///     while let Some(c) = stream.next().await {
///         word.push(c);
///     }
///     word
/// }));
/// assert_eq!(word.unwrap(), "ok");
/// ```
pub struct ShellStream<T> {
    shared: Arc<Mutex<StreamState<T>>>,
}

impl<T> ShellStream<T> {
    /// The next value, or `None` once the resolver is dropped and nothing is left.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let (mut stream, resolver) = genrt::shell::stream::<u8>();
    /// resolver.send(1).unwrap();
    /// drop(resolver);
    /// rt.block_on(async {
    ///     assert_eq!(stream.next().await, Some(1));
    ///     assert_eq!(stream.next().await, None);
    /// });
    /// ```
    // The name is `StreamExt::next`'s (an async stream, not an `Iterator`).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Next<'_, T> {
        Next { stream: self }
    }

    /// The polling form of [`ShellStream::next`], for hand-written futures and stream
    /// adapters.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// let rt = genrt::Runtime::new().unwrap();
    /// let (mut stream, resolver) = genrt::shell::stream::<u8>();
    /// resolver.send(5).unwrap();
    /// assert_eq!(rt.block_on(poll_fn(|cx| stream.poll_next(cx))), Some(5));
    /// ```
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // One unit of the cooperative budget per value (and for the end), as Tokio's
        // `mpsc::Receiver::recv` (`task::coop`): a loop over a stream that never runs dry
        // yields. Taken before the lock, since a spent budget wakes `cx`.
        let Poll::Ready(spend) = crate::task::coop::poll_proceed(cx) else {
            return Poll::Pending;
        };
        let mut state = self.shared.lock();
        loop {
            if let Some(value) = state.queue.pop_front() {
                spend.made_progress();
                return Poll::Ready(Some(value));
            }
            if !state.sender_alive {
                spend.made_progress();
                return Poll::Ready(None);
            }
            match crate::task::register_waker(
                || self.shared.lock(),
                state,
                cx,
                |state| &mut state.waker,
                |state| !state.queue.is_empty() || !state.sender_alive,
            ) {
                None => return Poll::Pending,
                Some(again) => state = again,
            }
        }
    }
}

/// A [`ShellStream`] is a `futures` stream, so `StreamExt`'s adapters (`collect`, `map`,
/// `for_each`, `select`, ...) work on it; it ends, and stays ended, once its resolver is
/// dropped and every value sent was taken.
///
/// ```
/// use futures::StreamExt;
///
/// let rt = genrt::Runtime::new().unwrap();
/// let (stream, resolver) = genrt::shell::stream::<u32>();
/// std::thread::spawn(move || {
///     for v in 1..=3 {
///         resolver.send(v).unwrap();
///     }
/// });
/// let doubled: Vec<u32> = rt.block_on(stream.map(|v| v * 2).collect());
/// assert_eq!(doubled, [2, 4, 6]);
/// ```
impl<T> futures_core::Stream for ShellStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // `ShellStream` is `Unpin` (an `Arc`), so the pin gives out `&mut Self`.
        ShellStream::poll_next(self.get_mut(), cx)
    }
}

/// Terminated once the resolver is dropped and nothing is left: every later poll returns
/// `None` (what `futures::select!` needs to skip the stream).
///
/// ```
/// use futures::stream::FusedStream;
///
/// let (stream, resolver) = genrt::shell::stream::<u8>();
/// resolver.send(1).unwrap();
/// drop(resolver);
/// assert!(!stream.is_terminated(), "a value is still buffered");
/// ```
impl<T> futures_core::FusedStream for ShellStream<T> {
    fn is_terminated(&self) -> bool {
        let state = self.shared.lock();
        !state.sender_alive && state.queue.is_empty()
    }
}

/// The future of [`ShellStream::next`]: the stream's next value, or `None` once it ended.
///
/// It is also a `futures` `FusedFuture` (terminated when its stream is), as the future of
/// `StreamExt::next` is, which the inherent method shadows; so `futures::select!` takes it.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let (mut stream, resolver) = genrt::shell::stream::<u8>();
/// resolver.send(4).unwrap();
/// let next: genrt::shell::Next<'_, u8> = stream.next();
/// assert_eq!(rt.block_on(next), Some(4));
/// ```
#[must_use = "futures do nothing unless awaited or polled"]
pub struct Next<'a, T> {
    stream: &'a mut ShellStream<T>,
}

impl<T> Future for Next<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // `Next` is `Unpin` (a reference).
        self.get_mut().stream.poll_next(cx)
    }
}

/// Terminated when its stream is ([`futures_core::FusedStream`] below).
impl<T> futures_core::FusedFuture for Next<'_, T> {
    fn is_terminated(&self) -> bool {
        futures_core::FusedStream::is_terminated(&*self.stream)
    }
}

impl<T> fmt::Debug for Next<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next")
            .field("stream", &self.stream)
            .finish()
    }
}

impl<T> Drop for ShellStream<T> {
    fn drop(&mut self) {
        let (queue, waker) = {
            let mut state = self.shared.lock();
            state.receiver_alive = false;
            (std::mem::take(&mut state.queue), state.waker.take())
        };
        drop((queue, waker));
    }
}

impl<T> fmt::Debug for ShellStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("ShellStream")
            .field("buffered", &state.queue.len())
            .field("sender_alive", &state.sender_alive)
            .finish()
    }
}

/// The sending half of a many-value request. `Send`: send from any thread. Dropping it ends
/// the stream.
///
/// ```
/// let (stream, resolver) = genrt::shell::stream::<u8>();
/// assert!(!resolver.is_cancelled());
/// drop(stream);
/// assert!(resolver.is_cancelled());
/// ```
pub struct StreamResolver<T> {
    shared: Arc<Mutex<StreamState<T>>>,
}

impl<T> StreamResolver<T> {
    /// Delivers one value and wakes the receiving task. Returns `Err(value)` once the
    /// [`ShellStream`] is dropped (its task finished, was aborted or cancelled, or its
    /// runtime was dropped).
    ///
    /// ```
    /// let (stream, resolver) = genrt::shell::stream::<u8>();
    /// assert_eq!(resolver.send(1), Ok(()));
    /// drop(stream);
    /// assert_eq!(resolver.send(2), Err(2));
    /// ```
    pub fn send(&self, value: T) -> Result<(), T> {
        let waker = {
            let mut state = self.shared.lock();
            if !state.receiver_alive {
                return Err(value);
            }
            state.queue.push_back(value);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Whether the receiving stream was dropped.
    ///
    /// ```
    /// let (stream, resolver) = genrt::shell::stream::<()>();
    /// drop(stream);
    /// assert!(resolver.is_cancelled());
    /// assert_eq!(resolver.send(()), Err(()));
    /// ```
    pub fn is_cancelled(&self) -> bool {
        !self.shared.lock().receiver_alive
    }
}

impl<T> Drop for StreamResolver<T> {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.shared.lock();
            state.sender_alive = false;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for StreamResolver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamResolver")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct CountWakes(AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll_once<F: Future + Unpin>(f: &mut F, wakes: &Arc<CountWakes>) -> Poll<F::Output> {
        let waker = Waker::from(wakes.clone());
        Pin::new(f).poll(&mut Context::from_waker(&waker))
    }

    #[test]
    fn resolve_before_the_first_poll_is_kept() {
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let (mut request, resolver) = request::<u8>();
        resolver.resolve(3).unwrap();
        assert_eq!(poll_once(&mut request, &wakes), Poll::Ready(Ok(3)));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn dropping_the_resolver_wakes_and_abandons() {
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let (mut request, resolver) = request::<u8>();
        assert_eq!(poll_once(&mut request, &wakes), Poll::Pending);
        drop(resolver);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            poll_once(&mut request, &wakes),
            Poll::Ready(Err(Abandoned(())))
        );
    }

    #[test]
    fn a_resolved_value_is_not_lost_when_the_resolver_drops() {
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let (mut request, resolver) = request::<u8>();
        assert_eq!(poll_once(&mut request, &wakes), Poll::Pending);
        resolver.resolve(9).unwrap(); // consumes and drops the resolver
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "one wake, not two");
        assert_eq!(poll_once(&mut request, &wakes), Poll::Ready(Ok(9)));
    }

    #[test]
    fn a_dropped_request_drops_an_unread_value() {
        let value = Arc::new(());
        let (request, resolver) = request::<Arc<()>>();
        resolver.resolve(value.clone()).unwrap();
        drop(request);
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[test]
    fn stream_delivers_in_order_then_ends() {
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let (mut stream, resolver) = stream::<u8>();
        assert_eq!(stream.poll_next(&mut cx), Poll::Pending);
        resolver.send(1).unwrap();
        resolver.send(2).unwrap();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        drop(resolver);
        assert_eq!(stream.poll_next(&mut cx), Poll::Ready(Some(1)));
        assert_eq!(stream.poll_next(&mut cx), Poll::Ready(Some(2)));
        assert_eq!(stream.poll_next(&mut cx), Poll::Ready(None));
    }
}
