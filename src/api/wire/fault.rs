//! Errors on the wire. The server answers Spring Boot's error shape (`timestamp`, `status`,
//! `error`, `message`, `path`) plus `errors: [{field, rule}]` and `cause`, the domain error
//! itself, so the remote adapter gives back exactly the error the embedded store would.

use serde_json::{Value, json};

use crate::domain::calendar::format_rfc3339;
use crate::domain::{Error, FieldError, FieldErrors, Millis};

/// The HTTP status for a domain error.
pub fn status_of(e: &Error) -> u16 {
    match e {
        Error::Invalid { .. } => 400,
        Error::NotFound { .. } => 404,
        Error::Refused { rule, .. } if is_conflict(rule) => 409,
        Error::Refused { .. } => 422,
        Error::KeyConflict { .. } => 409,
        Error::Store { .. } => 500,
        Error::Unavailable { .. } => 503,
        Error::Unauthorized { .. } => 401,
        Error::Forbidden { .. } => 403,
    }
}

/// Refusals that conflict with the state already recorded (withdrawn twice, cancelled
/// twice) are 409; other rule refusals 422.
fn is_conflict(rule: &str) -> bool {
    rule.contains("already")
}

pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// The error body and its status.
pub fn error_body(e: &Error, path: &str, now: Millis) -> (u16, Value) {
    let status = status_of(e);
    let errors: Vec<FieldError> = match e {
        Error::Invalid { errors } => errors.0.clone(),
        Error::Refused { field, rule } => vec![FieldError::new(field, rule)],
        _ => Vec::new(),
    };
    let body = json!({
        "timestamp": format_rfc3339(now),
        "status": status,
        "error": reason_phrase(status),
        "message": e.to_string(),
        "path": path,
        "errors": errors,
        "cause": e,
    });
    (status, body)
}

/// The domain error for an HTTP error answer: ours carry `cause`; for anyone else's (the
/// original services, proxies) the status and message decide.
pub fn error_from_response(status: u16, body: &[u8], what: &str) -> Error {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    if let Some(cause) = v.as_ref().and_then(|v| v.get("cause"))
        && let Ok(e) = serde_json::from_value::<Error>(cause.clone())
    {
        return e;
    }
    let message = v
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    let field_errors: Vec<FieldError> = v
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(|e| serde_json::from_value(e.clone()).ok())
        .unwrap_or_default();
    match status {
        400 if !field_errors.is_empty() => Error::Invalid {
            errors: FieldErrors(field_errors),
        },
        400 => Error::invalid("body", &format!("was refused by the server: {message}")),
        401 => Error::Unauthorized {
            message: "the server wants a valid token (--token or ONEPOINT_TOKEN)".into(),
        },
        403 => Error::Forbidden {
            message: "this token may only read".into(),
        },
        404 => Error::not_found(what, "requested"),
        409 | 422 => match field_errors.into_iter().next() {
            Some(fe) => Error::refused(&fe.field, &fe.rule),
            None => Error::refused(what, &message),
        },
        _ => Error::Unavailable {
            message: format!("the server answered {status}: {message}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_error_survives_the_wire() {
        let errors = [
            Error::invalid("dealAmount", "must be greater than 0"),
            Error::not_found("member", 7),
            Error::refused("memberId", "is already withdrawn"),
            Error::refused("memberId", "is withdrawn"),
            Error::KeyConflict { key: "k1".into() },
            Error::store("disk full"),
        ];
        for e in errors {
            let (status, body) = error_body(&e, "/deals", 0);
            let bytes = serde_json::to_vec(&body).unwrap();
            assert_eq!(error_from_response(status, &bytes, "deal"), e);
        }
    }

    #[test]
    fn statuses_follow_the_spec() {
        assert_eq!(status_of(&Error::invalid("a", "b")), 400);
        assert_eq!(status_of(&Error::not_found("deal", 1)), 404);
        assert_eq!(
            status_of(&Error::refused("originalDealId", "is already cancelled")),
            409
        );
        assert_eq!(
            status_of(&Error::refused("billingMonth", "is in the future")),
            422
        );
    }

    #[test]
    fn the_original_500_becomes_unavailable_with_its_message() {
        let body = br#"{"timestamp":"2020-07-13T05:50:00.000+0000","status":500,
            "error":"Internal Server Error","message":"Connection refused","path":"/deals"}"#;
        let e = error_from_response(500, body, "deal");
        assert!(e.to_string().contains("Connection refused"), "{e}");
    }
}
