//! Tokio's control-flow macros: [`select!`](crate::select), [`join!`](crate::join),
//! [`try_join!`](crate::try_join) and [`pin!`](crate::pin), exported at the crate root with
//! Tokio 1.x's syntax and meaning, so code written for them ports by changing the crate name.
//!
//! ```
//! # genrt::Runtime::new().unwrap().block_on(async {
//! let (a, b) = genrt::join!(async { 1 }, async { 2 });
//! let sum: Result<(u8, u8), ()> = genrt::try_join!(async { Ok(a) }, async { Ok(b) });
//! let sleep = genrt::time::sleep(std::time::Duration::from_secs(60));
//! genrt::pin!(sleep);
//! let first = genrt::select! {
//!     _ = &mut sleep => 0,
//!     (a, b) = async { sum.unwrap() } => a + b,
//! };
//! assert_eq!(first, 3);
//! # });
//! ```
//!
//! # How they expand
//!
//! All of them are `macro_rules!` tt-munchers that expand in the caller, so the handlers of
//! `select!` may `break`, `continue`, `return` or use `?` for the enclosing loop or function.
//! `select!`, `join!` and `try_join!` munch one branch per step, and each step names the
//! locals of its branch (its future, its output slot, its disabled flag): identifiers a
//! macro step writes are hygienic, so each branch gets its own, distinct from every other
//! branch's and from the caller's names. Hence no tuple of futures, no pin projection into
//! it and no `unsafe`: each future is pinned on its own with `core::pin::pin!`, and a future
//! that must go before the others (a completed `join!` branch) is held in a pinned `Option`
//! and dropped in place with `Pin::set(None)`. Nothing is counted in a lookup table either,
//! so the only limit on branches is the compiler's recursion limit, one level per branch:
//! over 100 branches with the default limit of 128, more with `#![recursion_limit]`
//! (Tokio's limit is 64).
//!
//! What they need at run time is in [`support`], reached as `genrt::__private` (hidden; not
//! public API): the re-exported std items, the thread-local random start of `select!`, the
//! budget check, the rotating start of `join!`, and the pattern cleaner of `select!` (a
//! proc macro of `genrt-macros`, which strips `mut` and `ref` so a pattern can be tried on a
//! reference to an output before it is moved out).
//!
//! # `select!`, step by step (Tokio's order)
//!
//! 1. Every `if` precondition, top to bottom; a `false` one disables its branch for this
//!    `select!`.
//! 2. Every async expression, top to bottom, disabled branches' included (Tokio evaluates
//!    them too, and never polls the futures they make), then each through `IntoFuture`.
//! 3. Each poll: if the task's cooperative budget is spent, `Pending` (after a wake) before
//!    any branch is polled; otherwise the enabled branches are polled once each from a
//!    random start (branch 0 with `biased;`). A branch that completes is disabled; if its
//!    output matches its pattern, the poll returns.
//! 4. The futures are dropped, first to last as Tokio's tuple (they live in an inner block,
//!    pinned last to first), then the matching branch's handler runs with the pattern's
//!    bindings, or, if every branch was disabled, the `else` expression (without one, a
//!    panic with Tokio's message).
//!
//! `join!` and `try_join!` poll each unfinished branch once per poll, starting one branch
//! later at each poll (always at the first with `biased;`), and drop a branch's future as
//! soon as it completes; `try_join!` returns at the first `Err`, dropping the others (first
//! to last, as Tokio's tuple; so does a join dropped unfinished). Both expand through one
//! hidden macro, `__join_all!`, told how a branch's output continues or breaks the join
//! (`support::join_output`, `support::try_join_output`).

mod join;
mod pin;
mod select;
pub mod support;
mod try_join;
