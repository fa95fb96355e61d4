//! [`pin!`](crate::pin): pins values on the stack, shadowing their names (Tokio's
//! `tokio::pin!`), on top of `core::pin::pin!`.

/// Pins each named local on the stack, shadowing it with a `Pin<&mut T>` of the same name
/// (Tokio's `tokio::pin!`): the value is moved into the macro's frame and can no longer be
/// reached unpinned. A future that is not `Unpin` (an `async` block, a
/// [`Sleep`](crate::time::Sleep)) needs this to be polled through `&mut`, as `select!` in a
/// loop does.
///
/// Two forms: `pin!(a, b)` pins existing locals; `pin! { let a = expr; let b = expr; }`
/// declares and pins them at once.
///
/// ```
/// use std::time::Duration;
///
/// # genrt::Runtime::new().unwrap().block_on(async {
/// let sleep = genrt::time::sleep(Duration::from_millis(5));
/// let work = async { 42 };
/// genrt::pin!(sleep, work);
/// // Both are `Pin<&mut _>` now: polled through `&mut`, kept across the loop.
/// let mut got = None;
/// loop {
///     genrt::select! {
///         _ = &mut sleep => break,
///         v = &mut work, if got.is_none() => got = Some(v),
///     }
/// }
/// assert_eq!(got, Some(42));
///
/// genrt::pin! {
///     let one = async { 1 };
///     let two = async { 2 };
/// }
/// assert_eq!((&mut one).await + (&mut two).await, 3);
/// # });
/// ```
///
/// The original value cannot be reached once pinned:
///
/// ```compile_fail,E0507
/// # async fn f() {
/// let fut = async { 1 };
/// genrt::pin!(fut);
/// let moved: std::pin::Pin<&mut _> = fut;
/// let again = *moved; // moving out of the pin is refused
/// # }
/// ```
#[macro_export]
macro_rules! pin {
    ($($x:ident),* $(,)?) => { $(
        // `core::pin::pin!` moves the value into a temporary that lives as long as the
        // enclosing block, and the shadowing `let` leaves only the `Pin`.
        #[allow(unused_mut)]
        let mut $x = ::core::pin::pin!($x);
    )* };
    ($(let $x:ident = $init:expr;)*) => { $(
        let $x = $init;
        $crate::pin!($x);
    )* };
}
