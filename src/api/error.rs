//! The port's error: what the core answered (`Domain`: malformed, not found, refused, the
//! store failed), or what kept a request from reaching it (the remote is unavailable, the
//! token is missing or may only read), or the program's own environment failing (a
//! terminal, thread or runtime). Front ends map these to exit codes and statuses by variant
//! and `domain::ErrorKind`, never by text.

use std::fmt;

use crate::domain::{self, FieldError, FieldErrors};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The core's own answer, as the embedded store gives it (carried whole over the wire).
    Domain(domain::Error),
    /// The remote side could not be reached, or answered garbage.
    Unavailable { message: String },
    /// Authentication missing or wrong.
    Unauthorized { message: String },
    /// Authenticated, but not allowed (a viewer token writing).
    Forbidden { message: String },
    /// This program's environment failed: the terminal, a thread, the async runtime.
    System { message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: &str, rule: &str) -> Error {
        Error::Domain(domain::Error::invalid(field, rule))
    }
    pub fn not_found(what: &str, id: impl fmt::Display) -> Error {
        Error::Domain(domain::Error::not_found(what, id))
    }
    pub fn store(e: impl fmt::Display) -> Error {
        Error::Domain(domain::Error::store(e))
    }
    pub fn unavailable(e: impl fmt::Display) -> Error {
        Error::Unavailable {
            message: e.to_string(),
        }
    }
    pub fn system(e: impl fmt::Display) -> Error {
        Error::System {
            message: e.to_string(),
        }
    }

    /// The core's error, when it is one.
    pub fn domain(&self) -> Option<&domain::Error> {
        match self {
            Error::Domain(e) => Some(e),
            _ => None,
        }
    }

    /// The domain's kind, when the core answered.
    pub fn kind(&self) -> Option<domain::ErrorKind> {
        self.domain().map(domain::Error::kind)
    }

    /// The request never got an answer from the core, or the store failed: retrying later
    /// may work, and bulk work (seed, import) stops rather than counting it as a refusal.
    pub fn is_failure(&self) -> bool {
        match self {
            Error::Domain(e) => e.kind() == domain::ErrorKind::Store,
            Error::Unavailable { .. } | Error::System { .. } => true,
            Error::Unauthorized { .. } | Error::Forbidden { .. } => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Domain(e) => e.fmt(f),
            Error::Unavailable { message } => write!(f, "unavailable: {message}"),
            Error::Unauthorized { message } => write!(f, "unauthorized: {message}"),
            Error::Forbidden { message } => write!(f, "forbidden: {message}"),
            Error::System { message } => write!(f, "system error: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<domain::Error> for Error {
    fn from(e: domain::Error) -> Error {
        Error::Domain(e)
    }
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Error {
        Error::Domain(e.into())
    }
}

impl From<FieldErrors> for Error {
    fn from(e: FieldErrors) -> Error {
        Error::Domain(e.into())
    }
}
