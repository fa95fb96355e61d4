//! The `#[tokio::main]`/`#[tokio::test]` tests of Tokio's `tokio/tests/macros_test.rs`,
//! `tokio/tests/macros_rename_test.rs` and `tests-integration/tests/macros_main.rs`,
//! translated to `#[genrt::main]`/`#[genrt::test]`. Each test names the Tokio test it ports.
//! Most of these are compile-time checks (the attribute expands to code that builds, and that
//! lints do not reject); each test also runs what it defines.
//!
//! Ported here:
//! - `macros_test.rs`: `test_macro_can_be_used_via_use`,
//!   `test_macro_is_resilient_to_shadowing`, `unused_braces_main`/`unused_braces_test`
//!   (issue 3403), `issue_4175_main_2`, `issue_4175_test`, the
//!   `clippy_semicolon_if_nothing_returned` module, `issue_5243`; `trait_method` and
//!   `issue_4175_main_1` do not compile on genrt (bugs below).
//! - `macros_rename_test.rs`: `crate_rename_main`, `crate_rename_test`.
//! - `macros_main.rs` (tests-integration): `shell` (`basic_main`), `main_with_spawn`.
//!
//! What changed in the port:
//! - Tokio's file starts with `use tokio::test;`, so its every plain `#[test]` is Tokio's; here
//!   that import is confined to `mod via_use`, and the other tests are plain `#[test]`s.
//! - Tokio only defines the `#[tokio::main]` functions of issues 3403 and 4175 and the clippy
//!   module; here a test also calls each (those that panic, under `catch_unwind`), under a
//!   watchdog. `#[genrt::test]` bodies arm a watchdog inside, except the one-line and empty
//!   bodies of `unused_braces_test` and `issue_5243::foo`, whose shape is what they test (they
//!   wait for nothing).
//! - Lints Tokio's CI denies are denied in the module that holds the test
//!   (`unused_braces`; `clippy::semicolon_if_nothing_returned`, as in Tokio).
//!
//! genrt bugs found, now fixed (`macros/src/lib.rs`, `rewrite`), each with its test here:
//! - `trait_method`: `#[genrt::main]` on a method taking `self` failed with "the main
//!   function cannot accept arguments"; like Tokio, genrt now refuses arguments only on a
//!   function named `main` (and on tests). Also `a_main_attribute_on_a_function_with_arguments`.
//! - `issue_4175_main_1`: `#[genrt::main] async fn f() -> ! { panic!() }` failed with "the `!`
//!   type is experimental": the expansion wrote the return type into `Pin<&mut dyn
//!   Future<Output = ..>>`; a `!` or `impl Trait` return type is now left to inference, as
//!   in Tokio's `main`.
//! - Not a Tokio test (Tokio 1.54 accepts it, checked by hand): a body passed as a
//!   `macro_rules!` `$b:block` fragment (an invisible group around the braces) failed with
//!   "expected the function's body" (`a_body_from_a_block_fragment`).
//!
//! Skipped: the `select!`/`join!`/`try_join!`/`pin!` files (ported in `macros_select_ports.rs`
//! and `macros_join_ports.rs`), and `macros_test.rs`'s `tokio_unstable` parts
//! (`unhandled_panic` as an attribute argument, `flavor = "local"`), which the stored version
//! of the file does not have anyway.

use std::panic::catch_unwind;

use support::{panic_message, quiet_panics, serial, Watchdog, INTENTIONAL};

/// Runs `f`, which must panic on purpose, under a watchdog; returns the panic's message.
fn panics_on_purpose(what: &'static str, f: fn()) -> String {
    let _serial = serial();
    let _quiet = quiet_panics();
    let payload = Watchdog::new(what).run(move || catch_unwind(f).expect_err("it panics"));
    panic_message(&*payload).unwrap_or_default().to_string()
}

mod via_use {
    use genrt::test;
    use support::Watchdog;

    /// Tokio's `macros_test::test_macro_can_be_used_via_use`: `use genrt::test;` makes a
    /// plain `#[test]` genrt's.
    #[test]
    async fn test_macro_can_be_used_via_use() {
        let _watchdog = Watchdog::new("test_macro_can_be_used_via_use").arm();
        genrt::spawn(async {}).await.unwrap();
    }

    /// Tokio's `macros_test::test_macro_is_resilient_to_shadowing`: with `test` naming
    /// genrt's attribute, `#[genrt::test]` still marks the function as a (std) test.
    #[genrt::test]
    async fn test_macro_is_resilient_to_shadowing() {
        let _watchdog = Watchdog::new("test_macro_is_resilient_to_shadowing").arm();
        genrt::spawn(async {}).await.unwrap();
    }
}

/// Tokio issue 3403: a one-line body must not draw `unused_braces`.
mod unused_braces {
    #![deny(unused_braces)]

    use support::Watchdog;

    /// Tokio's `macros_test::unused_braces_main`.
    #[rustfmt::skip]
    #[genrt::main]
    pub async fn unused_braces_main() { println!("hello") }

    /// Tokio's `macros_test::unused_braces_test`.
    #[rustfmt::skip]
    #[genrt::test]
    async fn unused_braces_test() { assert_eq!(1 + 1, 2) }

    /// Runs Tokio's `unused_braces_main`.
    #[test]
    fn unused_braces_main_runs() {
        Watchdog::new("unused_braces_main").run(unused_braces_main);
    }
}

/// Tokio's `macros_test::trait_method`: `#[genrt::main]` on a trait method taking `self`.
#[test]
fn trait_method() {
    trait A {
        fn f(self) -> usize;
    }
    impl A for () {
        #[genrt::main]
        async fn f(self) -> usize {
            genrt::spawn(async { 3 }).await.unwrap()
        }
    }
    assert_eq!(Watchdog::new("trait_method").run(|| ().f()), 3);
}

/// `#[genrt::main]` on a function (not named `main`) that takes arguments: its body uses
/// them, as with Tokio's attribute.
#[test]
fn a_main_attribute_on_a_function_with_arguments() {
    #[genrt::main(flavor = "current_thread")]
    async fn add(a: u32, b: &str) -> u32 {
        genrt::yield_now().await;
        a + b.len() as u32
    }
    assert_eq!(
        Watchdog::new("main with arguments").run(|| add(40, "xy")),
        42
    );
}

/// Tokio's `macros_test::issue_4175_main_1`: a `main` returning `!`.
mod issue_4175_main_1_port {
    #[genrt::main]
    pub async fn issue_4175_main_1() -> ! {
        panic!();
    }
}

/// Calls the port of Tokio's `macros_test::issue_4175_main_1`: it panics, as its body does.
#[test]
fn issue_4175_main_1() {
    let message = panics_on_purpose("issue_4175_main_1", || {
        issue_4175_main_1_port::issue_4175_main_1()
    });
    assert!(message.contains("explicit panic"), "{message}");
}

/// A body passed through a `macro_rules!` `$body:block` fragment.
macro_rules! genrt_test_from_fragment {
    (async fn $name:ident() $body:block) => {
        #[genrt::test]
        async fn $name() $body
    };
}

genrt_test_from_fragment! {
    async fn a_body_from_a_block_fragment() {
        assert_eq!(genrt::spawn(async { 1 }).await.unwrap(), 1);
    }
}

/// Tokio issue 4175: a body that diverges, in a function with a return type.
mod issue_4175 {
    use support::Watchdog;

    /// Tokio's `macros_test::issue_4175_main_2`.
    #[genrt::main]
    pub async fn issue_4175_main_2() -> std::io::Result<()> {
        panic!("{}: issue_4175_main_2", support::INTENTIONAL);
    }

    /// Tokio's `macros_test::issue_4175_test`.
    #[allow(unreachable_code)]
    #[genrt::test]
    pub async fn issue_4175_test() -> std::io::Result<()> {
        let _watchdog = Watchdog::new("issue_4175_test").arm();
        return Ok(());
        panic!();
    }
}

/// Runs Tokio's `issue_4175_main_2`, which panics.
#[test]
fn issue_4175_main_2_panics() {
    let message = panics_on_purpose("issue_4175_main_2", || {
        let _ = issue_4175::issue_4175_main_2();
    });
    assert_eq!(message, format!("{INTENTIONAL}: issue_4175_main_2"));
}

/// Tokio's `macros_test::clippy_semicolon_if_nothing_returned` (issue 4175): the expansion
/// must not draw clippy's `semicolon_if_nothing_returned`, whatever the body ends with.
#[allow(clippy::let_unit_value)]
mod clippy_semicolon_if_nothing_returned {
    #![deny(clippy::semicolon_if_nothing_returned)]

    #[genrt::main]
    pub async fn local() {
        let _x = ();
    }
    #[genrt::main]
    pub async fn item() {
        fn _f() {}
    }
    #[genrt::main]
    pub async fn semi() {
        panic!("{}: semi", support::INTENTIONAL);
    }
    #[genrt::main]
    pub async fn empty() {
        // A comment: the lint only looks at bodies that span lines.
    }
}

/// Runs the functions of Tokio's `clippy_semicolon_if_nothing_returned` module.
#[test]
fn clippy_semicolon_if_nothing_returned_functions_run() {
    use clippy_semicolon_if_nothing_returned as m;
    Watchdog::new("clippy_semicolon_if_nothing_returned").run(|| {
        m::local();
        m::item();
        m::empty();
    });
    let message = panics_on_purpose("semi", m::semi);
    assert_eq!(message, format!("{INTENTIONAL}: semi"));
}

/// Tokio's `macros_test::issue_5243`: the attribute inside a `macro_rules!` expansion, the
/// body made of a `$b:block` fragment.
mod issue_5243 {
    macro_rules! mac {
        (async fn $name:ident() $b:block) => {
            #[::genrt::test]
            async fn $name() {
                $b
            }
        };
    }
    mac!(
        async fn foo() {}
    );
}

/// Tokio's `macros_rename_test.rs`: genrt under another name, and `genrt` naming something
/// else (`std`), with `crate = ".."`.
mod rename {
    #[allow(unused_imports)]
    use std as genrt;

    use ::genrt as genrt1;
    use support::Watchdog;

    async fn compute() -> usize {
        let join = genrt1::spawn(async { 1 });
        join.await.unwrap()
    }

    #[genrt1::main(crate = "genrt1")]
    async fn compute_main() -> usize {
        compute().await
    }

    /// Tokio's `macros_rename_test::crate_rename_main`.
    #[::core::prelude::v1::test]
    fn crate_rename_main() {
        assert_eq!(1, Watchdog::new("crate_rename_main").run(compute_main));
    }

    /// Tokio's `macros_rename_test::crate_rename_test`.
    #[genrt1::test(crate = "genrt1")]
    async fn crate_rename_test() {
        let _watchdog = Watchdog::new("crate_rename_test").arm();
        assert_eq!(1, compute().await);
    }
}

/// Tokio's tests-integration `macros_main.rs`: `#[genrt::main]` on plain functions.
mod main_attribute {
    use support::Watchdog;

    #[genrt::main]
    async fn basic_main() -> usize {
        1
    }

    #[genrt::main]
    async fn spawning() -> usize {
        let join = genrt::spawn(async { 1 });
        join.await.unwrap()
    }

    /// Tokio's `macros_main::shell`.
    #[test]
    fn shell() {
        assert_eq!(1, Watchdog::new("basic_main").run(basic_main));
    }

    /// Tokio's `macros_main::spawn::main_with_spawn`.
    #[test]
    fn main_with_spawn() {
        assert_eq!(1, Watchdog::new("spawning").run(spawning));
    }
}
