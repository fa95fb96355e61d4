//! Panic messages, and a panic hook that keeps the panics a test causes on purpose out of the
//! log.

use std::panic::{self, PanicHookInfo};
use std::sync::{PoisonError, RwLock};
use std::thread;

/// The message of a panic payload, if it is a string.
///
/// ```
/// let payload = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
/// assert_eq!(support::panic_message(&*payload), Some("boom"));
/// ```
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// Start the message of every panic a test causes on purpose with this: [`quiet_panics`]
/// keeps those out of the log. (A prefix, not a substring: an assertion that prints an
/// intentional panic's message must still show.)
pub const INTENTIONAL: &str = "intentional panic";

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// The hook [`quiet_panics`] replaced, called for every panic that is not intentional.
static PREVIOUS_HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Restores the previous panic hook when dropped.
pub struct QuietPanics(());

/// Installs a panic hook that says nothing for panics whose message starts with
/// [`INTENTIONAL`] and hands every other panic to the hook it replaces, so a failing
/// assertion still prints. The guard puts the previous hook back.
pub fn quiet_panics() -> QuietPanics {
    let previous = panic::take_hook();
    *PREVIOUS_HOOK
        .write()
        .unwrap_or_else(PoisonError::into_inner) = Some(previous);
    panic::set_hook(Box::new(|info| {
        if panic_message(info.payload()).is_some_and(|m| m.starts_with(INTENTIONAL)) {
            return;
        }
        if let Some(previous) = PREVIOUS_HOOK
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            previous(info);
        }
    }));
    QuietPanics(())
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        if thread::panicking() {
            // `set_hook` panics on a panicking thread. The quiet hook stays; it still hands
            // every unintended panic to the previous hook.
            return;
        }
        let previous = PREVIOUS_HOOK
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(previous) = previous {
            panic::set_hook(previous);
        }
    }
}
