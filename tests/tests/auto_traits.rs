//! Compile-time checks that genrt's public types and the futures its functions return are
//! `Send`, `Sync` and `Unpin` exactly where Tokio's are (Tokio's `tests/async_send_sync.rs`,
//! the `tokio::task`, `tokio::runtime` and `tokio::time` rows), so code and tests ported
//! from Tokio that move these values between threads or pin them compile unchanged. A wrong
//! auto trait fails the build of this file: a positive row by an unmet bound, a negative row
//! (`!Send`...) by an ambiguous method call that only resolves when the trait is *not*
//! implemented.
//!
//! Deliberate differences, documented on the types:
//! - [`genrt::time::Sleep`] is `Unpin` (Tokio's is `!Unpin`), so `sleep(..)` futures are
//!   too, and [`genrt::time::Timeout<F>`] is `Unpin` when `F` is. Everything Tokio allows
//!   with a `!Unpin` sleep still compiles.
//! - [`genrt::EnterGuard`] is `!Sync` (Tokio's is `Sync`): it holds the scheduler's `Rc`
//!   context token, and sharing a guard by reference has no use (it has no methods).
//! - `time::error::Error` and `task::coop::RestoreOnPending` are checked in
//!   `api_gap_ports.rs`.

#![allow(
    dead_code,
    unreachable_code,
    unused_variables,
    unused_mut,
    clippy::diverging_sub_expression
)]

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use genrt::time::{Instant, Interval};
use genrt::JoinSet;

/// `Send + Sync`.
#[derive(Clone)]
struct Yy;
/// `Send`, not `Sync`.
#[derive(Clone)]
struct Yn(Cell<u8>);
/// Neither.
#[derive(Clone)]
struct Nn(Rc<u8>);

type FutSync = Pin<Box<dyn Future<Output = ()> + Send + Sync>>;
type FutSend = Pin<Box<dyn Future<Output = ()> + Send>>;
type FutLocal = Pin<Box<dyn Future<Output = ()>>>;
type PollFnUnpin = std::future::PollFn<fn(&mut std::task::Context<'_>) -> std::task::Poll<()>>;

fn is_send<T: Send>(_: &T) {}
fn is_sync<T: Sync>(_: &T) {}
fn is_unpin<T: Unpin>(_: &T) {}

// `x.check()` through one of these is ambiguous (a compile error) exactly when `T`
// implements the trait, so it compiles only for a `!Trait` type.
trait NotSend<A> {
    fn check(&self) {}
}
impl<T: ?Sized> NotSend<()> for T {}
impl<T: ?Sized + Send> NotSend<u8> for T {}
trait NotSync<A> {
    fn check(&self) {}
}
impl<T: ?Sized> NotSync<()> for T {}
impl<T: ?Sized + Sync> NotSync<u8> for T {}
trait NotUnpin<A> {
    fn check(&self) {}
}
impl<T: ?Sized> NotUnpin<()> for T {}
impl<T: ?Sized + Unpin> NotUnpin<u8> for T {}

macro_rules! check {
    ($v:ident Send) => {
        is_send(&$v)
    };
    ($v:ident !Send) => {
        NotSend::check(&$v)
    };
    ($v:ident Sync) => {
        is_sync(&$v)
    };
    ($v:ident !Sync) => {
        NotSync::check(&$v)
    };
    ($v:ident Unpin) => {
        is_unpin(&$v)
    };
    ($v:ident !Unpin) => {
        NotUnpin::check(&$v)
    };
}

/// `value!(Type: [Send] [!Sync] [Unpin])`: a value of `Type` has exactly those.
macro_rules! value {
    ($ty:ty: [$($send:tt)+] [$($sync:tt)+] [$($unpin:tt)+]) => {
        const _: fn() = || {
            let v: $ty = todo!();
            check!(v $($send)+);
            check!(v $($sync)+);
            check!(v $($unpin)+);
        };
    };
}

/// `future!({ setup } expr; [..] [..] [..])`: the value of `expr` (a future), after the
/// statements `setup`.
macro_rules! future {
    ({ $($setup:tt)* } $e:expr; [$($send:tt)+] [$($sync:tt)+] [$($unpin:tt)+]) => {
        const _: fn() = || {
            $($setup)*
            let v = $e;
            check!(v $($send)+);
            check!(v $($sync)+);
            check!(v $($unpin)+);
        };
    };
}

// ---- tokio::task ----
value!(genrt::AbortHandle: [Send] [Sync] [Unpin]);
value!(genrt::task::Id: [Send] [Sync] [Unpin]);
value!(genrt::JoinError: [Send] [Sync] [Unpin]);
value!(genrt::JoinHandle<Nn>: [!Send] [!Sync] [Unpin]);
value!(genrt::JoinHandle<Yn>: [Send] [Sync] [Unpin]);
value!(genrt::JoinHandle<Yy>: [Send] [Sync] [Unpin]);
value!(JoinSet<Nn>: [!Send] [!Sync] [Unpin]);
value!(JoinSet<Yn>: [Send] [Sync] [Unpin]);
value!(JoinSet<Yy>: [Send] [Sync] [Unpin]);
future!({ let mut s: JoinSet<Cell<u32>> = todo!(); } s.join_next(); [Send] [Sync] [!Unpin]);
future!({ let mut s: JoinSet<Cell<u32>> = todo!(); } s.shutdown(); [Send] [Sync] [!Unpin]);
future!({ let s: JoinSet<Cell<u32>> = todo!(); } s.join_all(); [Send] [!Sync] [!Unpin]);
future!({ let mut s: JoinSet<Rc<u32>> = todo!(); } s.join_next(); [!Send] [!Sync] [!Unpin]);
future!({ let mut s: JoinSet<Rc<u32>> = todo!(); } s.shutdown(); [!Send] [!Sync] [!Unpin]);
future!({ let s: JoinSet<Rc<u32>> = todo!(); } s.join_all(); [!Send] [!Sync] [!Unpin]);
future!({ let mut s: JoinSet<u32> = todo!(); } s.join_next(); [Send] [Sync] [!Unpin]);
future!({ let mut s: JoinSet<u32> = todo!(); } s.shutdown(); [Send] [Sync] [!Unpin]);
future!({ let s: JoinSet<u32> = todo!(); } s.join_all(); [Send] [Sync] [!Unpin]);
future!({  } genrt::yield_now(); [Send] [Sync] [!Unpin]);

// ---- tokio::runtime ----
value!(genrt::Builder: [Send] [Sync] [Unpin]);
value!(genrt::EnterGuard<'static>: [!Send] [!Sync] [Unpin]);
value!(genrt::Handle: [Send] [Sync] [Unpin]);
value!(genrt::Runtime: [Send] [Sync] [Unpin]);
value!(genrt::RuntimeMetrics: [Send] [Sync] [Unpin]);
value!(genrt::TryCurrentError: [Send] [Sync] [Unpin]);
value!(genrt::UnhandledPanic: [Send] [Sync] [Unpin]);
value!(genrt::runtime::Id: [Send] [Sync] [Unpin]);
value!(genrt::runtime::RuntimeFlavor: [Send] [Sync] [Unpin]);

// ---- tokio::time ----
value!(Interval: [Send] [Sync] [Unpin]);
value!(Instant: [Send] [Sync] [Unpin]);
value!(genrt::time::MissedTickBehavior: [Send] [Sync] [Unpin]);
value!(genrt::time::Sleep: [Send] [Sync] [Unpin]);
value!(genrt::time::Timeout<FutSync>: [Send] [Sync] [Unpin]);
value!(genrt::time::Timeout<FutSend>: [Send] [!Sync] [Unpin]);
value!(genrt::time::Timeout<FutLocal>: [!Send] [!Sync] [Unpin]);
value!(genrt::time::Timeout<PollFnUnpin>: [Send] [Sync] [Unpin]);
value!(genrt::time::Elapsed: [Send] [Sync] [Unpin]);
future!({  } genrt::time::advance(Duration::ZERO); [Send] [Sync] [!Unpin]);
future!({  } genrt::time::sleep(Duration::ZERO); [Send] [Sync] [Unpin]);
future!({  } genrt::time::sleep_until(Instant::now()); [Send] [Sync] [Unpin]);
future!({ let f: FutSync = todo!(); } genrt::time::timeout(Duration::ZERO, f); [Send] [Sync] [Unpin]);
future!({ let f: FutSend = todo!(); } genrt::time::timeout(Duration::ZERO, f); [Send] [!Sync] [Unpin]);
future!({ let f: FutLocal = todo!(); } genrt::time::timeout(Duration::ZERO, f); [!Send] [!Sync] [Unpin]);
future!({ let f: FutSync = todo!(); } genrt::time::timeout_at(Instant::now(), f); [Send] [Sync] [Unpin]);
future!({ let f: FutSend = todo!(); } genrt::time::timeout_at(Instant::now(), f); [Send] [!Sync] [Unpin]);
future!({ let f: FutLocal = todo!(); } genrt::time::timeout_at(Instant::now(), f); [!Send] [!Sync] [Unpin]);
future!({ let f = std::future::poll_fn({
        let pinned = std::marker::PhantomPinned;
        move |_| {
            let _ = &pinned;
            std::task::Poll::Pending::<()>
        }
    }); } genrt::time::timeout(Duration::ZERO, f); [Send] [Sync] [!Unpin]
);
future!({ let mut i: Interval = todo!(); } i.tick(); [Send] [Sync] [!Unpin]);

/// The checks above are the test: this file compiling is the assertion.
#[test]
fn auto_traits_match_tokios() {}

// ---- other traits a Tokio user's code relies on ----

fn is_debug<T: std::fmt::Debug + ?Sized>() {}
fn is_clone<T: Clone>() {}
fn is_default<T: Default>() {}
fn is_error<T: std::error::Error + Send + Sync + 'static>() {}

/// `Debug` on every public type (Tokio's all have it), `Clone` on the handle and value
/// types, `Default` on `JoinSet` and `MissedTickBehavior`, `Error` on the error types.
#[test]
fn debug_clone_default_and_error_impls() {
    is_debug::<genrt::Runtime>();
    is_debug::<genrt::Builder>();
    is_debug::<genrt::Handle>();
    is_debug::<genrt::EnterGuard<'static>>();
    is_debug::<genrt::JoinHandle<u8>>();
    is_debug::<genrt::AbortHandle>();
    is_debug::<genrt::JoinError>();
    is_debug::<JoinSet<u8>>();
    is_debug::<genrt::TryCurrentError>();
    is_debug::<genrt::UnhandledPanic>();
    is_debug::<Interval>();
    is_debug::<Instant>();
    is_debug::<genrt::time::Sleep>();
    is_debug::<genrt::time::Timeout<std::future::Ready<()>>>();
    is_debug::<genrt::time::Elapsed>();
    is_debug::<genrt::time::MissedTickBehavior>();
    is_clone::<genrt::Handle>();
    is_clone::<genrt::AbortHandle>();
    is_clone::<genrt::Builder>();
    is_clone::<Instant>();
    is_clone::<genrt::time::Elapsed>();
    is_clone::<genrt::time::MissedTickBehavior>();
    is_default::<JoinSet<u8>>();
    is_default::<genrt::time::MissedTickBehavior>();
    is_error::<genrt::JoinError>();
    is_error::<genrt::time::Elapsed>();
    is_error::<genrt::TryCurrentError>();
}

fn is_unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}

/// Tokio's `unwindsafe.rs`, `join_handle_is_unwind_safe`: a join handle may cross
/// `catch_unwind` (so may the other handles of a runtime).
#[test]
fn handles_are_unwind_safe() {
    is_unwind_safe::<genrt::JoinHandle<()>>();
    is_unwind_safe::<genrt::AbortHandle>();
    is_unwind_safe::<genrt::Handle>();
    is_unwind_safe::<genrt::Runtime>();
}
