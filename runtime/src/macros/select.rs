//! [`select!`](crate::select): waits on several branches at once and runs the handler of the
//! first that completes with a value its pattern matches (Tokio's `tokio::select!`). The
//! expansion is described in the module docs of `macros`; the steps in the macro's docs.

/// Waits on several async expressions at once, on the current task, and runs the handler of
/// the **first** to complete with a value matching its pattern; the other futures are
/// dropped (cancelled). Tokio's `tokio::select!`, with its syntax and meaning.
///
/// Each branch is
///
/// ```text
/// <pattern> = <async expression> (, if <precondition>)? => <handler>,
/// ```
///
/// and a last, optional `else => <expression>` runs when every branch is disabled.
/// `biased;` as the first token polls the branches top to bottom instead of from a random
/// one. Must be used inside an async function, block or closure.
///
/// What happens, in order:
///
/// 1. Every `<precondition>` is evaluated, top to bottom. A branch whose precondition is
///    `false` is disabled for the rest of this `select!` (a loop around it starts afresh).
/// 2. Every `<async expression>` is evaluated, top to bottom, **disabled branches'
///    included** (as in Tokio: the future is made, never polled, and dropped with the
///    others), and turned into a future with [`IntoFuture`](std::future::IntoFuture).
/// 3. The futures of the enabled branches are polled, concurrently on this task, from a
///    random branch at each poll (or from the first, with `biased;`). A poll first checks
///    the task's [cooperative budget](crate::task::coop): once it is spent, `select!`
///    yields before polling any branch.
/// 4. When a future completes, its branch is disabled. If its output matches the
///    `<pattern>`, every future is dropped and the `<handler>` runs with the pattern's
///    bindings; its value is the value of `select!`. If not, the other branches go on.
/// 5. When every branch is disabled, the `else` expression is the value; without an `else`,
///    `select!` panics.
///
/// Since the futures are dropped before the handler runs, a handler may use what they
/// borrowed. Handlers, preconditions and async expressions are code of the enclosing
/// function: `break`, `continue`, `return` and `?` act on its loop or on it.
///
/// # Fairness
///
/// By default the branch polled first is picked at random at each poll, so that in a loop
/// a branch that is always ready does not starve the ones below it. `biased;` polls them in
/// the order written, which costs no random number and gives a known order, but makes
/// fairness the caller's job (put a shutdown branch above a busy stream).
///
/// # Panics
///
/// When every branch is disabled (by its precondition, or by an output its pattern did not
/// match) and there is no `else` branch: "all branches are disabled and there is no else
/// branch".
///
/// # Cancellation safety
///
/// The futures of the branches that lose are dropped. In a loop, use futures that lose
/// nothing when dropped before they complete (a channel's `recv`, a `&mut` to a pinned
/// future that lives across the loop), or keep the future itself across iterations.
///
/// # Examples
///
/// The first of two to complete:
///
/// ```
/// use std::time::Duration;
///
/// # genrt::Runtime::new().unwrap().block_on(async {
/// let winner = genrt::select! {
///     _ = genrt::time::sleep(Duration::from_secs(60)) => "sleep",
///     n = async { 7 } => if n == 7 { "seven" } else { "other" },
/// };
/// assert_eq!(winner, "seven");
/// # });
/// ```
///
/// Two channels drained in a loop: a branch whose pattern does not match (`None`, a closed
/// channel) is disabled, and once both are, `else` breaks the loop.
///
/// ```
/// use futures::channel::mpsc;
/// use futures::StreamExt;
///
/// # genrt::Runtime::new().unwrap().block_on(async {
/// let (tx1, mut rx1) = mpsc::unbounded::<i32>();
/// let (tx2, mut rx2) = mpsc::unbounded::<i32>();
/// genrt::spawn(async move {
///     for i in 0..3 {
///         tx1.unbounded_send(i).unwrap();
///         tx2.unbounded_send(10 + i).unwrap();
///         genrt::yield_now().await;
///     }
/// });
/// let mut values = Vec::new();
/// loop {
///     genrt::select! {
///         Some(v) = rx1.next() => values.push(v),
///         Some(v) = rx2.next() => values.push(v),
///         else => break,
///     }
/// }
/// values.sort();
/// assert_eq!(values, [0, 1, 2, 10, 11, 12]);
/// # });
/// ```
///
/// A future kept across a loop, through `&mut` once [pinned](crate::pin), and a
/// precondition that disables a branch:
///
/// ```
/// use std::time::Duration;
///
/// # genrt::Runtime::new().unwrap().block_on(async {
/// let deadline = genrt::time::sleep(Duration::from_millis(20));
/// genrt::pin!(deadline);
/// let mut ticks = 0;
/// loop {
///     genrt::select! {
///         _ = &mut deadline => break,
///         _ = genrt::time::sleep(Duration::from_millis(1)), if ticks < 5 => ticks += 1,
///     }
/// }
/// assert!(ticks <= 5);
/// # });
/// ```
///
/// `biased;` polls top to bottom:
///
/// ```
/// # genrt::Runtime::new().unwrap().block_on(async {
/// let mut order = Vec::new();
/// loop {
///     genrt::select! {
///         biased;
///         _ = async {}, if order.len() < 1 => order.push("first"),
///         _ = async {}, if order.len() < 2 => order.push("second"),
///         else => break,
///     }
/// }
/// assert_eq!(order, ["first", "second"]);
/// # });
/// ```
///
/// A `select!` needs a branch, or at least an `else`:
///
/// ```compile_fail
/// # async fn f() {
/// genrt::select! {}
/// # }
/// ```
///
/// and it awaits, so it only fits async code:
///
/// ```compile_fail,E0728
/// fn not_async() -> u8 {
///     genrt::select! { v = async { 1 } => v }
/// }
/// ```
#[macro_export]
macro_rules! select {
    // ===== All branches normalized: the expansion =====
    //
    // Each branch carries the four locals its munching step named (`init`: the async
    // expression's value; `fut`: its future, pinned; `off`: disabled; `out`: its output if it
    // matched), distinct per branch by hygiene. `count` is `0 + 1 + ..`, one `+ 1` per
    // branch; `rev` holds the branches' `fut`s, last branch first.
    (@final {
        biased = $biased:tt;
        count = ( $($count:tt)* );
        rev = ( $($rev:ident)* );
        $( [$init:ident $fut:ident $off:ident $out:ident]
            $bind:pat = $expr:expr, if $cond:expr => $handle:expr, )+
    } else = $else:expr) => {{
        // 1. The preconditions, before any async expression.
        $( let mut $off: bool = !$cond; )+
        // The outputs, `Some` for the branch that matched, come out of the block of the
        // futures to reach the handlers. They are made in the poll that returns, so none is
        // held across the `.await` (a `!Send` output leaves the future `Send`, as in Tokio).
        #[allow(unused_mut)]
        let ($(mut $out,)+) = {
            // 2. The async expressions in one statement (its temporaries live to its end, as
            // in Tokio's tuple), then their futures, first to last.
            let ($($init,)+) = ($($expr,)+);
            let ($($fut,)+) = ($($crate::__private::IntoFuture::into_future($init),)+);
            // Each pinned in place, last branch first: locals drop in reverse, so the futures
            // drop first to last, as the fields of Tokio's tuple.
            $( let mut $rev = ::core::pin::pin!($rev); )+
            // 3. and 4.: until a branch's output matches (its `out` set) or all are off.
            $crate::__private::poll_fn(|cx| {
                if $crate::__private::poll_budget_available(cx).is_pending() {
                    return $crate::__private::Poll::Pending;
                }
                $( let mut $out = ::core::option::Option::None; )+
                let branches: u32 = $($count)*;
                // Branches skipped in the first pass; they are polled in the second.
                let mut skip = $crate::__private::select_start($biased, branches);
                let mut to_poll = branches;
                let mut pending = false;
                loop {
                    $(
                        if skip == 0 {
                            if to_poll == 0 {
                                break;
                            }
                            to_poll -= 1;
                            if !$off {
                                #[allow(unreachable_code)]
                                match $crate::__private::Future::poll($fut.as_mut(), cx) {
                                    $crate::__private::Poll::Ready(output) => {
                                        $off = true;
                                        #[allow(unused_variables, unreachable_patterns)]
                                        match &output {
                                            $crate::__private::select_clean_pattern!($bind) => {
                                                $out = ::core::option::Option::Some(output);
                                                pending = false;
                                                break;
                                            }
                                            _ => {}
                                        };
                                    }
                                    $crate::__private::Poll::Pending => pending = true,
                                };
                            }
                        } else {
                            skip -= 1;
                        }
                    )+
                }
                if pending {
                    $crate::__private::Poll::Pending
                } else {
                    // One branch matched, or every branch is off (all `None`).
                    $crate::__private::Poll::Ready(($($out,)+))
                }
            })
            .await
        };
        // The futures are gone: the handler of the branch that matched, or `else`.
        $(
            if let ::core::option::Option::Some($bind) = $out {
                $handle
            } else
        )+
        {
            $else
        }
    }};

    // ===== Normalizing: one branch per step =====

    (@munch { $($acc:tt)* }) => {
        $crate::select!(@final { $($acc)* } else = ::core::panic!(
            "all branches are disabled and there is no else branch"
        ))
    };
    (@munch { $($acc:tt)* } else => $else:expr $(,)?) => {
        $crate::select!(@final { $($acc)* } else = $else)
    };
    (@munch { biased = $b:tt; count = ( $($n:tt)* ); rev = ( $($r:tt)* ); $($acc:tt)* }
        $p:pat = $f:expr, if $c:expr => $h:block, $($rest:tt)*) => {
        $crate::select!(@munch { biased = $b; count = ( $($n)* + 1 ); rev = ( fut $($r)* );
            $($acc)* [init fut off out] $p = $f, if $c => $h, } $($rest)*)
    };
    (@munch { biased = $b:tt; count = ( $($n:tt)* ); rev = ( $($r:tt)* ); $($acc:tt)* }
        $p:pat = $f:expr => $h:block, $($rest:tt)*) => {
        $crate::select!(@munch { biased = $b; count = ( $($n)* + 1 ); rev = ( fut $($r)* );
            $($acc)* [init fut off out] $p = $f, if true => $h, } $($rest)*)
    };
    (@munch { biased = $b:tt; count = ( $($n:tt)* ); rev = ( $($r:tt)* ); $($acc:tt)* }
        $p:pat = $f:expr, if $c:expr => $h:block $($rest:tt)*) => {
        $crate::select!(@munch { biased = $b; count = ( $($n)* + 1 ); rev = ( fut $($r)* );
            $($acc)* [init fut off out] $p = $f, if $c => $h, } $($rest)*)
    };
    (@munch { biased = $b:tt; count = ( $($n:tt)* ); rev = ( $($r:tt)* ); $($acc:tt)* }
        $p:pat = $f:expr => $h:block $($rest:tt)*) => {
        $crate::select!(@munch { biased = $b; count = ( $($n)* + 1 ); rev = ( fut $($r)* );
            $($acc)* [init fut off out] $p = $f, if true => $h, } $($rest)*)
    };
    (@munch { biased = $b:tt; count = ( $($n:tt)* ); rev = ( $($r:tt)* ); $($acc:tt)* }
        $p:pat = $f:expr, if $c:expr => $h:expr) => {
        $crate::select!(@munch { biased = $b; count = ( $($n)* + 1 ); rev = ( fut $($r)* );
            $($acc)* [init fut off out] $p = $f, if $c => $h, })
    };
    (@munch { biased = $b:tt; count = ( $($n:tt)* ); rev = ( $($r:tt)* ); $($acc:tt)* }
        $p:pat = $f:expr => $h:expr) => {
        $crate::select!(@munch { biased = $b; count = ( $($n)* + 1 ); rev = ( fut $($r)* );
            $($acc)* [init fut off out] $p = $f, if true => $h, })
    };
    (@munch { biased = $b:tt; count = ( $($n:tt)* ); rev = ( $($r:tt)* ); $($acc:tt)* }
        $p:pat = $f:expr, if $c:expr => $h:expr, $($rest:tt)*) => {
        $crate::select!(@munch { biased = $b; count = ( $($n)* + 1 ); rev = ( fut $($r)* );
            $($acc)* [init fut off out] $p = $f, if $c => $h, } $($rest)*)
    };
    (@munch { biased = $b:tt; count = ( $($n:tt)* ); rev = ( $($r:tt)* ); $($acc:tt)* }
        $p:pat = $f:expr => $h:expr, $($rest:tt)*) => {
        $crate::select!(@munch { biased = $b; count = ( $($n)* + 1 ); rev = ( fut $($r)* );
            $($acc)* [init fut off out] $p = $f, if true => $h, } $($rest)*)
    };

    // ===== Entry points =====

    () => {
        ::core::compile_error!("select! requires at least one branch.")
    };
    (biased;) => {
        ::core::compile_error!("select! requires at least one branch.")
    };
    ($(biased;)? else => $else:expr $(,)?) => {{
        $else
    }};
    (biased; $p:pat = $($rest:tt)*) => {
        $crate::select!(@munch { biased = true; count = (0); rev = (); } $p = $($rest)*)
    };
    ($p:pat = $($rest:tt)*) => {
        $crate::select!(@munch { biased = false; count = (0); rev = (); } $p = $($rest)*)
    };
}
