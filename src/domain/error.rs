//! The errors the core gives, typed by what the caller should do about them: each carries
//! an `ErrorKind` decided where it is raised. Front ends map the kind (CLI exit codes in
//! `cli`, HTTP statuses in `api::wire::fault`, the console's status line); none reads the text.

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

/// What kind of refusal: decided where the domain raises it, never from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Refusal {
    /// A business rule says no (a date in the future, a withdrawn member's deal).
    #[default]
    Rule,
    /// The request conflicts with state already recorded (withdrawn twice, cancelled twice).
    Conflict,
}

/// What the caller should make of an error; front ends map HTTP statuses and exit codes
/// from this, never from a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A field is malformed: nothing was written.
    Malformed,
    /// The thing named does not exist.
    NotFound,
    /// Conflicts with recorded state (includes an idempotency key reused for another request).
    Conflict,
    /// A business rule refuses a well-formed request.
    Rule,
    /// The store failed (I/O, corruption, locked).
    Store,
}

/// What went wrong with an operation in the core. Transport and authentication failures
/// are not the domain's: they live in the port's error (`api::Error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Error {
    /// Malformed input: nothing was written.
    Invalid { errors: FieldErrors },
    /// The thing named does not exist.
    NotFound { what: String, id: String },
    /// Well-formed, but refused: nothing was written, no event. `refusal` says whether a
    /// business rule or the recorded state refuses it.
    Refused {
        field: String,
        rule: String,
        #[serde(default)]
        refusal: Refusal,
    },
    /// The idempotency key was used before for a different request (a conflict).
    KeyConflict { key: String },
    /// The store failed (I/O, corruption, locked).
    Store { message: String },
}

impl Error {
    pub fn invalid(field: &str, rule: &str) -> Error {
        Error::Invalid {
            errors: FieldError::new(field, rule).into(),
        }
    }
    /// A business rule refuses the request.
    pub fn rule(field: &str, rule: &str) -> Error {
        Error::Refused {
            field: field.to_string(),
            rule: rule.to_string(),
            refusal: Refusal::Rule,
        }
    }
    /// The request conflicts with what is already recorded.
    pub fn conflict(field: &str, rule: &str) -> Error {
        Error::Refused {
            field: field.to_string(),
            rule: rule.to_string(),
            refusal: Refusal::Conflict,
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

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid { .. } => ErrorKind::Malformed,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Refused {
                refusal: Refusal::Conflict,
                ..
            }
            | Error::KeyConflict { .. } => ErrorKind::Conflict,
            Error::Refused {
                refusal: Refusal::Rule,
                ..
            } => ErrorKind::Rule,
            Error::Store { .. } => ErrorKind::Store,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid { errors } => write!(f, "invalid input: {errors}"),
            Error::NotFound { what, id } => write!(f, "{what} {id} not found"),
            Error::Refused { field, rule, .. } => write!(f, "refused: {field} {rule}"),
            Error::KeyConflict { key } => write!(
                f,
                "refused: idempotency key {key:?} was already used for a different request"
            ),
            Error::Store { message } => write!(f, "store error: {message}"),
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
