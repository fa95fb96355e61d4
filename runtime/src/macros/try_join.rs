//! [`try_join!`](crate::try_join): [`join!`](crate::join) for async expressions that output
//! `Result`, returning at the first `Err` (Tokio's `tokio::try_join!`).

/// Waits for all of several async expressions that output `Result<T, E>`, run concurrently
/// on the current task, and returns `Ok` of their `T`s as a tuple in the order written, or
/// the **first** `Err` as soon as one branch outputs it (Tokio's `tokio::try_join!`). Must
/// be used inside an async function, block or closure.
///
/// As [`join!`](crate::join) otherwise: the arguments are anything
/// [`IntoFuture`](std::future::IntoFuture), evaluated in order; each future is dropped as
/// soon as it completes; each poll starts one branch further down than the previous one,
/// unless `biased;` comes first. Every branch must have the same error type. When a branch
/// fails, the futures of the others are dropped (cancelled) before `try_join!` returns.
/// `try_join!()` is `Ok(())`.
///
/// # Examples
///
/// ```
/// async fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
///     genrt::yield_now().await;
///     text.parse()
/// }
///
/// # genrt::Runtime::new().unwrap().block_on(async {
/// assert_eq!(genrt::try_join!(parse("1"), parse("2")), Ok((1, 2)));
///
/// // The first error wins; the other future is dropped unfinished.
/// let failed = genrt::try_join!(biased; parse("x"), std::future::pending());
/// assert!(failed.is_err());
/// # let _: Result<(u32, u32), _> = failed;
/// # });
/// ```
///
/// Each branch must output a `Result`:
///
/// ```compile_fail,E0308
/// # async fn f() {
/// let _ = genrt::try_join!(async { 1 });
/// # }
/// ```
#[macro_export]
macro_rules! try_join {
    ($(biased;)?) => {
        async { ::core::result::Result::Ok(()) }.await
    };
    (biased; $($rest:tt)+) => {
        $crate::__join_all!(@munch {
            split = try_join_output; name = "try_join!"; biased = true; count = (0); rev = ();
        } $($rest)+)
    };
    ($($rest:tt)+) => {
        $crate::__join_all!(@munch {
            split = try_join_output; name = "try_join!"; biased = false; count = (0); rev = ();
        } $($rest)+)
    };
}
