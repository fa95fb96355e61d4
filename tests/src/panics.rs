//! Panic messages, and a panic hook that keeps the panics a test causes on purpose out of the
//! log.

use std::panic::{self, PanicHookInfo};
use std::sync::{Mutex, PoisonError, RwLock};
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

/// Runs `f`, which must panic, and returns the panic's message (empty if it is not text).
///
/// ```
/// let _quiet = support::quiet_panics();
/// assert_eq!(support::panic_text(|| panic!("boom")), "boom");
/// ```
#[track_caller]
pub fn panic_text<R>(f: impl FnOnce() -> R) -> String {
    match panic::catch_unwind(panic::AssertUnwindSafe(f)) {
        Ok(_) => panic!("the call was expected to panic"),
        Err(payload) => panic_message(&*payload).unwrap_or_default().to_string(),
    }
}

/// Start the message of every panic a test causes on purpose with this: [`quiet_panics`]
/// keeps those out of the log. (A prefix, not a substring: an assertion that prints an
/// intentional panic's message must still show.)
pub const INTENTIONAL: &str = "intentional panic";

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// The hook [`quiet_panics`] replaced, called for every panic that is not intentional.
static PREVIOUS_HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Restores the previous panic hook when the last guard is dropped.
pub struct QuietPanics(());

/// Guards alive, and whether the quiet hook is the one installed. Installing is idempotent:
/// a second `quiet_panics` (another test, or one after a test failed while holding a guard)
/// must not take the quiet hook itself as "the previous one", or the hook would call itself
/// until the stack overflows.
static STATE: Mutex<(usize, bool)> = Mutex::new((0, false));

/// Installs a panic hook that says nothing for panics whose message starts with
/// [`INTENTIONAL`] and hands every other panic to the hook it replaces, so a failing
/// assertion still prints. Guards nest; the last one dropped puts the previous hook back.
pub fn quiet_panics() -> QuietPanics {
    let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
    state.0 += 1;
    if !state.1 {
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
        state.1 = true;
    }
    QuietPanics(())
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 -= 1;
        if state.0 > 0 || thread::panicking() {
            // Still in use; or `set_hook` would panic on this panicking thread, so the quiet
            // hook stays (it still hands every unintended panic to the previous hook) and the
            // next `quiet_panics` finds it installed.
            return;
        }
        let previous = PREVIOUS_HOOK
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(previous) = previous {
            panic::set_hook(previous);
        }
        state.1 = false;
    }
}
