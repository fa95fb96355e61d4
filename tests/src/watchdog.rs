//! The one watchdog of the tests: a limit on how long a piece of a test may run, and what the
//! failure says if the piece runs past it.
//!
//! - [`Watchdog::run`] runs a closure on its own thread and fails the test if it has not
//!   returned within the limit (the hung thread is left behind); a panic in the closure fails
//!   the test as is. For calls that may hang: dropping a runtime, joining a thread.
//! - [`Watchdog::run_reporting`] does the same for a test body that records the step it has
//!   reached in a [`Progress`]; a hang fails naming that step.
//! - [`Watchdog::arm`] guards the calling thread itself: the last resort for calls that
//!   cannot be moved to another thread (`Runtime::block_on` of a non-`Send` future); if the
//!   guard is still alive after the limit, the whole test process aborts.
//!
//! The limit only turns a hang into a failure; nothing here measures time.

use std::borrow::Cow;
use std::fmt;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use crate::DEADLINE;

/// What a hang is most likely to be, unless the caller knows better.
const USUAL_SUSPECT: &str = "a deadlock or a lost wake-up?";

/// A limit on how long a piece of a test may run: [`DEADLINE`] unless set with
/// [`Watchdog::limit`].
///
/// ```
/// use support::Watchdog;
///
/// let sum = Watchdog::new("adding").run(|| 1 + 1);
/// assert_eq!(sum, 2);
/// Watchdog::new("two steps").run_reporting(|p| {
///     p.at("the first step");
///     p.at_round("a step of a round", 3);
/// });
/// ```
#[must_use = "a watchdog does nothing until it runs something or is armed"]
pub struct Watchdog<'a> {
    what: &'a str,
    limit: Duration,
    suspect: &'a str,
}

impl<'a> Watchdog<'a> {
    /// A watchdog over `what` (also the name of the thread it runs on), limited to
    /// [`DEADLINE`].
    pub fn new(what: &'a str) -> Watchdog<'a> {
        Watchdog {
            what,
            limit: DEADLINE,
            suspect: USUAL_SUSPECT,
        }
    }

    /// Sets the limit.
    pub fn limit(self, limit: Duration) -> Watchdog<'a> {
        Watchdog { limit, ..self }
    }

    /// Names the likely cause of a hang in the failure's message.
    pub fn suspect(self, suspect: &'a str) -> Watchdog<'a> {
        Watchdog { suspect, ..self }
    }

    /// Runs `f` on a thread of its own and returns its result; fails the test if `f` does not
    /// return within the limit (the thread is then left behind). A panic in `f` fails the
    /// test as is.
    #[track_caller]
    pub fn run<T: Send + 'static>(self, f: impl FnOnce() -> T + Send + 'static) -> T {
        self.run_reporting(move |_| f())
    }

    /// [`Watchdog::run`] for a body that records in a [`Progress`] the step it has reached: a
    /// hang fails naming the last one.
    #[track_caller]
    pub fn run_reporting<T: Send + 'static>(
        self,
        body: impl FnOnce(&Progress) -> T + Send + 'static,
    ) -> T {
        let Watchdog {
            what,
            limit,
            suspect,
        } = self;
        let progress = Progress::default();
        let reached = progress.clone();
        let (tx, rx) = mpsc::channel();
        let thread = thread::Builder::new()
            .name(what.to_string())
            .spawn(move || {
                let _ = tx.send(body(&progress));
            })
            .expect("the watched thread starts");
        match rx.recv_timeout(limit) {
            Ok(value) => {
                thread.join().expect("the thread already sent its result");
                value
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("{what}: still running after {limit:?} ({suspect}){reached}")
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
                Err(payload) => std::panic::resume_unwind(payload),
                Ok(()) => unreachable!("the thread sends before it returns"),
            },
        }
    }

    /// Guards the calling thread: aborts the whole test process if the returned guard is
    /// still alive after the limit. Dropping the guard disarms it.
    pub fn arm(self) -> Armed {
        let (tx, rx) = mpsc::channel::<()>();
        let (what, limit) = (self.what.to_string(), self.limit);
        let thread = thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!(
                    "watchdog: {what} did not finish within {limit:?}; aborting the test process"
                );
                std::process::abort();
            }
        });
        Armed {
            disarm: Some(tx),
            thread: Some(thread),
        }
    }
}

/// An armed [`Watchdog`] (see [`Watchdog::arm`]); disarmed when dropped.
pub struct Armed {
    disarm: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Armed {
    fn drop(&mut self) {
        drop(self.disarm.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The step a watched body last reached (and the round it was in, if it counts rounds),
/// reported if it hangs. Recording a `&'static str` step allocates nothing, so a body that
/// compares live bytes can record its steps.
#[derive(Clone, Default)]
pub struct Progress(Arc<Mutex<Step>>);

/// The contents of a [`Progress`].
#[derive(Default)]
struct Step {
    what: Cow<'static, str>,
    round: Option<usize>,
}

impl Progress {
    /// Records that the body reached `step`.
    pub fn at(&self, step: impl Into<Cow<'static, str>>) {
        self.set(Step {
            what: step.into(),
            round: None,
        });
    }

    /// Records that the body reached `step` in round `round`; allocates nothing.
    pub fn at_round(&self, step: &'static str, round: usize) {
        self.set(Step {
            what: Cow::Borrowed(step),
            round: Some(round),
        });
    }

    fn set(&self, step: Step) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = step;
    }
}

/// `; last step reached: "step" in round 3`, or nothing if no step was recorded.
impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if step.what.is_empty() {
            return Ok(());
        }
        write!(f, "; last step reached: {:?}", step.what)?;
        match step.round {
            Some(round) => write!(f, " in round {round}"),
            None => Ok(()),
        }
    }
}
