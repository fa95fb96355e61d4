//! An adversarial review of the macros (`select!`, `join!`, `try_join!`, `pin!`,
//! `#[genrt::main]`, `#[genrt::test]`): what `macros.rs`, `macros_ports.rs`,
//! `macros_select_ports.rs` and `macros_join_ports.rs` do not try.
//!
//! Bugs found in `#[genrt::main]`/`#[genrt::test]` (`macros/src/lib.rs`), now fixed, each
//! with its test here or a `compile_fail` doctest on `genrt::main`/`genrt::test`:
//! - A `->` inside the generics (`F: Fn() -> u32`) was taken for the return arrow, and a
//!   `where` clause after the return type was taken into it: the expansion did not parse.
//!   Tokio's `tests-build/tests/pass/macros_main_generics.rs` failed to compile
//!   (`generics_where_clauses_and_arrows_in_signatures`).
//! - Inner attributes of the body (`#![allow(..)]`) stayed in the `async` block the body
//!   becomes, where they are refused ("attributes on expressions are experimental"); they go
//!   on the function now, as tokio-macros does (`inner_attributes_of_the_body_apply`).
//! - `worker_threads` on a current-thread runtime (a `#[genrt::test]` without `flavor`, or
//!   `flavor = "current_thread"`) was silently ignored: a test written for 2 workers ran on
//!   1 (a test that blocks one worker waiting for another hangs). A compile error now, as in
//!   tokio-macros, and so is `worker_threads = 0` (a run-time panic before); doctests.
//! - `#[genrt::test]` with a `#[test]` of its own registered the test twice (it ran twice,
//!   with a `duplicated attribute` warning only); an error now, as in tokio-macros; doctest.
//! - `crate = "foo bar"` (not a path) passed the argument check and failed inside the
//!   expansion with a parse error pointing at the attribute; refused with "is not a path"
//!   now; doctest (`crate = "456"`).
//!
//! Every test runs its runtime under a watchdog (armed in each `#[genrt::test]` body, or
//! around a `#[genrt::main]` call); nothing depends on timing.

use std::fmt::Debug;

use support::Watchdog;

/// Tokio's `tests-build/tests/pass/macros_main_generics.rs`, and a return type after an
/// arrow in the generics and before a `where` clause.
mod generics {
    use super::Debug;

    /// Tokio's `single_parameter`.
    #[genrt::main(flavor = "current_thread")]
    pub async fn single_parameter<T>() {}

    /// Tokio's `where_clause`.
    #[genrt::main(flavor = "current_thread")]
    pub async fn where_clause<T>()
    where
        T: Iterator,
        <T as Iterator>::Item: Debug,
    {
    }

    /// Tokio's `join_bracket_in_return`.
    #[genrt::main(flavor = "current_thread")]
    pub async fn join_bracket_in_return() -> Option<fn() -> ()> {
        let f: fn() = || ();
        Some(f)
    }

    /// Tokio's `joint_bracket_in_generic`.
    #[genrt::main(flavor = "current_thread")]
    pub async fn joint_bracket_in_generic<T: Iterator<Item = Option<fn() -> ()>>>(t: T) -> usize {
        t.count()
    }

    /// An arrow in the generics, then the return type.
    #[genrt::main(flavor = "current_thread")]
    pub async fn arrow_in_generics_then_output<F: Fn() -> u32 + Send + 'static>(f: F) -> u32 {
        genrt::spawn(async move { f() }).await.unwrap()
    }

    /// The return type, then a `where` clause that names it.
    #[genrt::main(flavor = "current_thread")]
    pub async fn output_then_where_clause<T>() -> Vec<T>
    where
        T: Default + Send + 'static,
    {
        vec![genrt::spawn(async { T::default() }).await.unwrap()]
    }
}

/// `#[genrt::main]` on generic functions, with arrows in their generics and `where` clauses
/// around their return types, expands to functions that run (the expansion did not parse).
#[test]
fn generics_where_clauses_and_arrows_in_signatures() {
    Watchdog::new("generic #[genrt::main] functions").run(|| {
        generics::single_parameter::<u8>();
        generics::where_clause::<std::vec::IntoIter<u8>>();
        let f = generics::join_bracket_in_return().expect("Some");
        f();
        assert_eq!(
            generics::joint_bracket_in_generic(vec![None, Some((|| ()) as fn())].into_iter()),
            2
        );
        assert_eq!(generics::arrow_in_generics_then_output(|| 42), 42);
        assert_eq!(generics::output_then_where_clause::<u16>(), vec![0]);
    });
}

/// Inner attributes of a body apply to the whole function: the `allow` of each body
/// answers the module's `deny`, so this module compiles only if they are kept.
mod inner_attributes {
    #![deny(unused_variables)]

    use support::Watchdog;

    /// A test whose body starts with inner attributes (a doc comment too).
    #[genrt::test]
    async fn inner_attributes_of_the_body_apply() {
        //! An inner doc comment, an inner attribute like the others.
        #![allow(unused_variables)]
        let _watchdog = Watchdog::new("inner_attributes_of_the_body_apply").arm();
        let unused = genrt::spawn(async { 1 }).await.unwrap();
    }

    /// The same on `#[genrt::main]`.
    #[genrt::main(flavor = "current_thread")]
    pub async fn main_like() -> u32 {
        #![allow(unused_variables)]
        let unused = 1;
        genrt::spawn(async { 2 }).await.unwrap()
    }

    /// Runs `main_like`.
    #[test]
    fn inner_attributes_of_a_main_body_apply() {
        assert_eq!(Watchdog::new("main_like").run(main_like), 2);
    }
}

/// A panic in the body of a multi-thread test reaches `#[should_panic]` with its own
/// message, after another `#[...]` attribute, as with Tokio's attribute (the body runs in
/// `block_on`, which resumes the panic as it was).
#[genrt::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "the body's own panic")]
async fn a_multi_thread_test_body_panic_reaches_should_panic() {
    let _watchdog = Watchdog::new("a_multi_thread_test_body_panic_reaches_should_panic").arm();
    genrt::spawn(async {}).await.unwrap();
    panic!("the body's own panic");
}
