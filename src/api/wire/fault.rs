//! Errors on the wire. The server answers Spring Boot's error shape (`timestamp`, `status`,
//! `error`, `message`, `path`) plus `errors: [{field, rule}]` and `cause`, the domain error
//! itself, so the remote adapter gives back exactly the error the embedded store would.
//! Statuses come from the error's kind (`domain::ErrorKind`), never from its text.

use serde_json::{Value, json};

use crate::api::Error;
use crate::domain::calendar::format_rfc3339;
use crate::domain::{self, ErrorKind, FieldError, FieldErrors, Millis, Refusal};

/// The HTTP status for an error, from its kind: a refusal that conflicts with recorded
/// state (withdrawn twice, cancelled twice, a key reused) is 409, a business rule 422.
pub fn status_of(e: &Error) -> u16 {
    match e {
        Error::Domain(d) => match d.kind() {
            ErrorKind::Malformed => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Rule => 422,
            ErrorKind::Store => 500,
        },
        Error::Unavailable { .. } => 503,
        Error::Unauthorized { .. } => 401,
        Error::Forbidden { .. } => 403,
        Error::System { .. } => 500,
    }
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
        Error::Domain(domain::Error::Invalid { errors }) => errors.0.clone(),
        Error::Domain(domain::Error::Refused { field, rule, .. }) => {
            vec![FieldError::new(field, rule)]
        }
        _ => Vec::new(),
    };
    let mut body = json!({
        "timestamp": format_rfc3339(now),
        "status": status,
        "error": reason_phrase(status),
        "message": e.to_string(),
        "path": path,
        "errors": errors,
    });
    // The core's own error rides along whole; transport and auth errors are told by status.
    if let Error::Domain(d) = e {
        body["cause"] = json!(d);
    }
    (status, body)
}

/// The port error for an HTTP error answer: ours carry `cause` (the core's error); for
/// anyone else's (the original services, proxies) the status decides, the message is kept.
pub fn error_from_response(status: u16, body: &[u8], what: &str) -> Error {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    if let Some(cause) = v.as_ref().and_then(|v| v.get("cause"))
        && let Ok(e) = serde_json::from_value::<domain::Error>(cause.clone())
    {
        return Error::Domain(e);
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
        400 if !field_errors.is_empty() => FieldErrors(field_errors).into(),
        400 => Error::invalid("body", &format!("was refused by the server: {message}")),
        401 => Error::Unauthorized {
            message: "the server wants a valid token (--token or ONEPOINT_TOKEN)".into(),
        },
        403 => Error::Forbidden {
            message: "this token may only read".into(),
        },
        404 => Error::not_found(what, "requested"),
        409 | 422 => {
            let refusal = if status == 409 {
                Refusal::Conflict
            } else {
                Refusal::Rule
            };
            let (field, rule) = match field_errors.into_iter().next() {
                Some(fe) => (fe.field, fe.rule),
                None => (what.to_string(), message),
            };
            Error::Domain(domain::Error::Refused {
                field,
                rule,
                refusal,
            })
        }
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
            domain::Error::conflict("memberId", "is already withdrawn").into(),
            domain::Error::rule("memberId", "is withdrawn").into(),
            domain::Error::KeyConflict { key: "k1".into() }.into(),
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
        // The kind decides, not the words.
        assert_eq!(
            status_of(&domain::Error::conflict("originalDealId", "is cancelled").into()),
            409
        );
        assert_eq!(
            status_of(&domain::Error::rule("billingMonth", "is already in the future").into()),
            422
        );
        assert_eq!(
            status_of(&domain::Error::KeyConflict { key: "k".into() }.into()),
            409
        );
        assert_eq!(status_of(&Error::unavailable("down")), 503);
        assert_eq!(status_of(&Error::system("no terminal")), 500);
    }

    #[test]
    fn the_original_500_becomes_unavailable_with_its_message() {
        let body = br#"{"timestamp":"2020-07-13T05:50:00.000+0000","status":500,
            "error":"Internal Server Error","message":"Connection refused","path":"/deals"}"#;
        let e = error_from_response(500, body, "deal");
        assert!(e.to_string().contains("Connection refused"), "{e}");
    }
}
