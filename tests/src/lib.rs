//! `support`: the one helper library of genrt's integration, stress and bad-use tests
//! (`tests/tests/*.rs`), also used by the comparison suite (`genrt-benches`) for its counting
//! allocator.
//!
//! Map:
//! - [`wait`]: bounded waits ([`wait_until`], [`wait_for`], [`recv`]) and [`serial`], the lock
//!   for tests that must not overlap. Every wait ends within [`DEADLINE`] or fails the test.
//! - [`watchdog`]: the one watchdog, [`Watchdog`]: a piece of a test run on its own thread
//!   under a limit, reporting its [`Progress`] if it hangs, or a guard that aborts the process.
//! - [`futures`]: the small futures the scenarios are built from ([`Request`], [`ParkWaker`],
//!   [`CountPolls`], [`DropCounter`]) and the runtime helpers ([`runtime`], [`settle`],
//!   [`drop_runtime`]).
//! - [`flavors`]: [`current_thread`], [`multi_thread`] (two workers) and [`FLAVORS`], the
//!   runtimes the port files run their scenarios on.
//! - [`handoff`]: [`Handoff`], a value handed to a task by `Relaxed` stores and wakes alone
//!   (the coalesced-wake stresses).
//! - [`panics`]: [`panic_message`] and [`quiet_panics`], for tests that panic on purpose.
//! - [`hooked`]: [`clone_hook_waker`], a waker whose `clone` runs a closure.
//! - [`counting`]: the counting allocator a binary installs with `#[global_allocator]`, and
//!   the quiescing a live-byte comparison needs ([`Baseline`]).
//! - [`stress`]: the settings and drop accounting of the stress tests.

pub mod counting;
pub mod flavors;
pub mod futures;
pub mod handoff;
pub mod hooked;
pub mod panics;
pub mod stress;
pub mod wait;
pub mod watchdog;

pub use counting::Baseline;
pub use flavors::{current_thread, multi_thread, paused, paused_current_thread, Flavor, FLAVORS};
pub use futures::{
    drop_runtime, has_waker, mock, runtime, settle, take_waker, waker_slot, CountPolls,
    DropCounter, Live, MockTask, ParkWaker, Request, WakerSlot,
};
pub use handoff::{Follower, Handoff};
pub use hooked::clone_hook_waker;
pub use panics::{panic_message, panic_text, quiet_panics, QuietPanics, INTENTIONAL};
pub use stress::{
    assert_dropped_once, count_dropped_at_most_once, drop_counts, report, DropCounts, DropOnce,
    LIMIT, SETTLE_LIMIT, WORKERS,
};
pub use wait::{recv, serial, wait_for, wait_until, Gate, DEADLINE};
pub use watchdog::{Armed, Progress, Watchdog};
