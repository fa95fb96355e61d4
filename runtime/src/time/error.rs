//! The time module's errors, at Tokio's path (`tokio::time::error`): [`Elapsed`], the error
//! of a [`timeout`](super::timeout), and [`Error`], Tokio's timer error.
//!
//! genrt's timers report misuse (a timer polled outside a runtime or after its runtime shut
//! down) by panicking with a message, as Tokio's `Sleep` does, so no genrt API returns an
//! [`Error`]; it is here, with Tokio's constructors and predicates, for code that names it.
//!
//! ```
//! use genrt::time::error::{Elapsed, Error};
//!
//! fn describe(err: &dyn std::error::Error) -> String {
//!     err.to_string()
//! }
//! assert!(describe(&Error::shutdown()).contains("shutdown"));
//! let elapsed: Result<(), Elapsed> = genrt::Runtime::new()
//!     .unwrap()
//!     .block_on(genrt::time::timeout(std::time::Duration::ZERO, std::future::pending()));
//! assert_eq!(describe(&elapsed.unwrap_err()), "deadline has elapsed");
//! ```

use std::fmt;

pub use super::timeout::Elapsed;

/// A timer error (Tokio's `tokio::time::error::Error`): the timer's runtime has shut down,
/// the timer wheel is full, or the deadline is past what the timer can hold. genrt returns
/// none (see the [module docs](self)).
///
/// ```
/// use genrt::time::error::Error;
///
/// let err = Error::at_capacity();
/// assert!(err.is_at_capacity() && !err.is_shutdown() && !err.is_invalid());
/// let copy = err; // `Copy`
/// assert_eq!(copy.to_string(), err.to_string());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Error(Kind);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Shutdown,
    AtCapacity,
    Invalid,
}

impl Error {
    /// The error of a timer whose runtime has shut down.
    ///
    /// ```
    /// assert!(genrt::time::error::Error::shutdown().is_shutdown());
    /// ```
    pub fn shutdown() -> Error {
        Error(Kind::Shutdown)
    }

    /// Whether this is the error of a timer whose runtime has shut down.
    ///
    /// ```
    /// assert!(!genrt::time::error::Error::invalid().is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.0 == Kind::Shutdown
    }

    /// The error of a timer that found the timer wheel full.
    ///
    /// ```
    /// assert!(genrt::time::error::Error::at_capacity().is_at_capacity());
    /// ```
    pub fn at_capacity() -> Error {
        Error(Kind::AtCapacity)
    }

    /// Whether this is the error of a timer that found the timer wheel full.
    ///
    /// ```
    /// assert!(!genrt::time::error::Error::shutdown().is_at_capacity());
    /// ```
    pub fn is_at_capacity(&self) -> bool {
        self.0 == Kind::AtCapacity
    }

    /// The error of a timer whose deadline is past what the timer can hold.
    ///
    /// ```
    /// assert!(genrt::time::error::Error::invalid().is_invalid());
    /// ```
    pub fn invalid() -> Error {
        Error(Kind::Invalid)
    }

    /// Whether this is the error of a timer whose deadline is past what the timer can hold.
    ///
    /// ```
    /// assert!(!genrt::time::error::Error::at_capacity().is_invalid());
    /// ```
    pub fn is_invalid(&self) -> bool {
        self.0 == Kind::Invalid
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Kind::Shutdown => {
                "the timer is shutdown, must be called from the context of genrt runtime"
            }
            Kind::AtCapacity => "timer is at capacity and cannot create a new entry",
            Kind::Invalid => "timer duration exceeds maximum duration",
        })
    }
}

impl std::error::Error for Error {}
