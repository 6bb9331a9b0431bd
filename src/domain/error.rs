//! The errors every operation can give, typed by what the caller should do about them.
//! Front ends map them: CLI exit codes (2 malformed, 3 refused, 1 store), HTTP statuses
//! (400, 404, 409/422, 500/503), and the console's status line.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One broken input rule: which field, and the rule it breaks ("must be greater than 0").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub rule: String,
}

impl FieldError {
    pub fn new(field: &str, rule: &str) -> FieldError {
        FieldError {
            field: field.to_string(),
            rule: rule.to_string(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.rule)
    }
}

/// All field errors of one input, in field order (a form shows each beside its field).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get(&self, field: &str) -> Option<&FieldError> {
        self.0.iter().find(|e| e.field == field)
    }
    /// Records the error of `r` (if any) and passes its value on.
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| e.to_string()).collect();
        write!(f, "{}", parts.join("; "))
    }
}

impl From<FieldError> for FieldErrors {
    fn from(e: FieldError) -> FieldErrors {
        FieldErrors(vec![e])
    }
}

/// What went wrong with an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Error {
    /// Malformed input: nothing was written. CLI exit 2, HTTP 400.
    Invalid {
        errors: FieldErrors,
    },
    /// The thing named does not exist. CLI exit 3, HTTP 404.
    NotFound {
        what: String,
        id: String,
    },
    /// Well-formed, but a business rule refuses it: nothing was written, no event.
    /// CLI exit 3, HTTP 422 (409 for conflicts with existing state).
    Refused {
        field: String,
        rule: String,
    },
    /// The idempotency key was used before for a different request. HTTP 409.
    KeyConflict {
        key: String,
    },
    /// The store failed (I/O, corruption, locked). CLI exit 1, HTTP 500.
    Store {
        message: String,
    },
    /// The remote side could not be reached or answered garbage. CLI exit 1, HTTP 503.
    Unavailable {
        message: String,
    },
    /// Authentication missing or wrong (HTTP 401) / not allowed (HTTP 403).
    Unauthorized {
        message: String,
    },
    Forbidden {
        message: String,
    },
}

impl Error {
    pub fn invalid(field: &str, rule: &str) -> Error {
        Error::Invalid {
            errors: FieldError::new(field, rule).into(),
        }
    }
    pub fn refused(field: &str, rule: &str) -> Error {
        Error::Refused {
            field: field.to_string(),
            rule: rule.to_string(),
        }
    }
    pub fn not_found(what: &str, id: impl fmt::Display) -> Error {
        Error::NotFound {
            what: what.to_string(),
            id: id.to_string(),
        }
    }
    pub fn store(e: impl fmt::Display) -> Error {
        Error::Store {
            message: e.to_string(),
        }
    }

    /// The CLI exit code (SPEC 4).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid { .. } => 2,
            Error::NotFound { .. } | Error::Refused { .. } | Error::KeyConflict { .. } => 3,
            Error::Forbidden { .. } | Error::Unauthorized { .. } => 3,
            Error::Store { .. } | Error::Unavailable { .. } => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid { errors } => write!(f, "invalid input: {errors}"),
            Error::NotFound { what, id } => write!(f, "{what} {id} not found"),
            Error::Refused { field, rule } => write!(f, "refused: {field} {rule}"),
            Error::KeyConflict { key } => write!(
                f,
                "refused: idempotency key {key:?} was already used for a different request"
            ),
            Error::Store { message } => write!(f, "store error: {message}"),
            Error::Unavailable { message } => write!(f, "unavailable: {message}"),
            Error::Unauthorized { message } => write!(f, "unauthorized: {message}"),
            Error::Forbidden { message } => write!(f, "forbidden: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Error {
        Error::Invalid { errors: e.into() }
    }
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Error {
        Error::Invalid { errors }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
