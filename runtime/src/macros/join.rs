//! [`join!`](crate::join): waits for every one of several async expressions, run
//! concurrently on the current task (Tokio's `tokio::join!`). The expansion is described in
//! the module docs of `macros`.

/// Waits for **all** of several async expressions, run concurrently on the current task, and
/// returns their outputs as a tuple in the order written (Tokio's `tokio::join!`). Must be
/// used inside an async function, block or closure.
///
/// Each argument is anything [`IntoFuture`](std::future::IntoFuture); they are evaluated and
/// turned into futures in order, before any is polled. All of them run on this task, so
/// concurrently but not in parallel: for parallelism, [`spawn`](crate::spawn) them and join
/// the handles. A future is dropped as soon as it completes; its output waits in the macro's
/// frame. `join!` waits for every branch even when some output an `Err`: see
/// [`try_join!`](crate::try_join) to stop at the first.
///
/// `join!()` (also `join!(biased;)`) is `()`; there is no upper limit on the number of
/// arguments but the compiler's recursion limit (over 100 arguments with its default).
///
/// # Fairness
///
/// Each poll of the join polls every unfinished branch once, starting one branch further
/// down than the previous poll did (the first, then the second, and so on round), so a
/// branch that spends the task's whole [budget](crate::task::coop) at each poll cannot keep
/// the ones after it from running. With `biased;` as the first token, every poll goes top
/// to bottom, which fixes the order but makes fairness the caller's job.
///
/// # Examples
///
/// ```
/// async fn fetch(id: u32) -> u32 {
///     genrt::yield_now().await;
///     id * 10
/// }
///
/// # genrt::Runtime::new().unwrap().block_on(async {
/// let (a, b, c) = genrt::join!(fetch(1), fetch(2), async { "three" });
/// assert_eq!((a, b, c), (10, 20, "three"));
///
/// // Polled top to bottom at every poll.
/// let (x,) = genrt::join!(biased; fetch(4));
/// assert_eq!(x, 40);
/// assert_eq!(genrt::join!(), ());
/// # });
/// ```
///
/// `join!` awaits, so it only fits async code:
///
/// ```compile_fail,E0728
/// fn not_async() -> (u8, u8) {
///     genrt::join!(async { 1 }, async { 2 })
/// }
/// ```
#[macro_export]
macro_rules! join {
    ($(biased;)?) => {
        async {}.await
    };
    (biased; $($rest:tt)+) => {
        match $crate::__join_all!(@munch {
            split = join_output; name = "join!"; biased = true; count = (0); rev = ();
        } $($rest)+) {
            ::core::result::Result::Ok(outputs) => outputs,
            ::core::result::Result::Err(never) => match never {},
        }
    };
    ($($rest:tt)+) => {
        match $crate::__join_all!(@munch {
            split = join_output; name = "join!"; biased = false; count = (0); rev = ();
        } $($rest)+) {
            ::core::result::Result::Ok(outputs) => outputs,
            ::core::result::Result::Err(never) => match never {},
        }
    };
}

/// Not public API: the expansion [`join!`](crate::join) and [`try_join!`](crate::try_join)
/// share. It joins one or more branches and outputs `Result<(T, ..), E>`: each branch's
/// output goes through `genrt::__private::$split`, which says whether it continues (its
/// value kept for the tuple) or breaks the join with an error; `join!` splits with
/// `join_output` (never breaks, `E` is `Infallible`), `try_join!` with `try_join_output`
/// (`Err` breaks). `name` is the macro named in the unreachable-branch message.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_all {
    // ===== All branches normalized: the expansion =====
    //
    // Each branch carries the two locals its munching step named (`fut`: its future, in a
    // pinned `Option` emptied when it completes; `out`: its output), distinct per branch by
    // hygiene. `count` is `0 + 1 + ..`, one `+ 1` per branch.
    (@final {
        split = $split:ident;
        name = $name:literal;
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
                            if let $crate::__private::Poll::Ready(output) =
                                $crate::__private::Future::poll(fut, cx)
                            {
                                $fut.set(::core::option::Option::None);
                                match $crate::__private::$split(output) {
                                    $crate::__private::ControlFlow::Continue(output) => {
                                        $out = ::core::option::Option::Some(output);
                                    }
                                    $crate::__private::ControlFlow::Break(error) => {
                                        return $crate::__private::Poll::Ready(
                                            ::core::result::Result::Err(error),
                                        );
                                    }
                                }
                            } else {
                                pending = true;
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
                        ::core::unreachable!(
                            ::core::concat!($name, " returned before a branch completed")
                        )
                    }
                },
            )*)),
            ::core::result::Result::Err(error) => ::core::result::Result::Err(error),
        }
    }};

    // ===== Normalizing: one branch per step =====

    (@munch { $($acc:tt)* }) => {
        $crate::__join_all!(@final { $($acc)* })
    };
    (@munch {
        split = $s:ident; name = $m:literal; biased = $b:tt; count = ( $($n:tt)* );
        rev = ( $($r:tt)* ); $($acc:tt)*
    } $e:expr $(, $($rest:tt)*)?) => {
        $crate::__join_all!(@munch {
            split = $s; name = $m; biased = $b; count = ( $($n)* + 1 ); rev = ( fut $($r)* );
            $($acc)* [fut out] $e,
        } $($($rest)*)?)
    };
}
