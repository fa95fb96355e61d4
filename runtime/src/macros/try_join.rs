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
    // ===== All branches normalized: the expansion =====
    //
    // As `join!`'s: `fut` is a branch's future in a pinned `Option`, `out` its `Ok` value.
    (@final {
        biased = $biased:tt;
        count = ( $($count:tt)* );
        rev = ( $($rev:ident)* );
        $( [$fut:ident $out:ident] $e:expr, )*
    }) => {{
        // The arguments and their futures in one statement, as Tokio's tuple, then each
        // pinned in place.
        let ($($fut,)*) = ($(
            ::core::option::Option::Some($crate::__private::IntoFuture::into_future($e)),
        )*);
        // Last branch first: locals drop in reverse, so the futures left when the join is
        // dropped (or returns an `Err`) drop first to last, as the fields of Tokio's tuple.
        $( let mut $rev = ::core::pin::pin!($rev); )*
        $( let mut $out = ::core::option::Option::None; )*
        let mut rotator = $crate::__private::Rotator::new($biased, $($count)*);
        let done = $crate::__private::poll_fn(|cx| {
            // Branches skipped in the first pass; they are polled in the second.
            let mut skip = rotator.next_start();
            let mut to_poll: u32 = $($count)*;
            let mut pending = false;
            loop {
                $(
                    if skip == 0 {
                        if to_poll == 0 {
                            break;
                        }
                        to_poll -= 1;
                        if let ::core::option::Option::Some(fut) = $fut.as_mut().as_pin_mut() {
                            match $crate::__private::Future::poll(fut, cx) {
                                $crate::__private::Poll::Ready(::core::result::Result::Ok(
                                    output,
                                )) => {
                                    $fut.set(::core::option::Option::None);
                                    $out = ::core::option::Option::Some(output);
                                }
                                $crate::__private::Poll::Ready(::core::result::Result::Err(
                                    error,
                                )) => {
                                    $fut.set(::core::option::Option::None);
                                    return $crate::__private::Poll::Ready(
                                        ::core::result::Result::Err(error),
                                    );
                                }
                                $crate::__private::Poll::Pending => pending = true,
                            }
                        }
                    } else {
                        skip -= 1;
                    }
                )*
            }
            if pending {
                $crate::__private::Poll::Pending
            } else {
                $crate::__private::Poll::Ready(::core::result::Result::Ok(()))
            }
        })
        .await;
        match done {
            ::core::result::Result::Ok(()) => ::core::result::Result::Ok(($(
                match $out {
                    ::core::option::Option::Some(output) => output,
                    ::core::option::Option::None => {
                        ::core::unreachable!("try_join! returned before a branch completed")
                    }
                },
            )*)),
            ::core::result::Result::Err(error) => ::core::result::Result::Err(error),
        }
    }};

    // ===== Normalizing: one branch per step =====

    (@munch { $($acc:tt)* }) => {
        $crate::try_join!(@final { $($acc)* })
    };
    (@munch { biased = $b:tt; count = ( $($n:tt)* ); rev = ( $($r:tt)* ); $($acc:tt)* }
        $e:expr $(, $($rest:tt)*)?) => {
        $crate::try_join!(@munch { biased = $b; count = ( $($n)* + 1 ); rev = ( fut $($r)* );
            $($acc)* [fut out] $e, } $($($rest)*)?)
    };

    // ===== Entry points =====

    ($(biased;)?) => {
        async { ::core::result::Result::Ok(()) }.await
    };
    (biased; $($rest:tt)+) => {
        $crate::try_join!(@munch { biased = true; count = (0); rev = (); } $($rest)+)
    };
    ($($rest:tt)+) => {
        $crate::try_join!(@munch { biased = false; count = (0); rev = (); } $($rest)+)
    };
}
