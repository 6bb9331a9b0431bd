//! `POST /batch` (extension): several writes in one request, applied by one `execute` (one
//! group commit), answered in order. Each item is `{"op", "key"?, "body"}` with the same
//! lenient body as its resource's POST; `withdraw` takes `{"memberId"}`. The answer is an
//! array of `{"status", "body"}`: the HAL item, or the error body.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use serde_json::{Map, Value, json};

use super::reply::{Answer, AppState, Base, execute, ok};
use super::routes::{body, outcome_body};
use crate::api::wire::{self, MAX_BATCH, fault};
use crate::api::{Error, Result};
use crate::domain::{Clock, IdemKey, Keyed};

fn item(v: &Value) -> Result<Keyed> {
    let obj = v
        .as_object()
        .ok_or_else(|| Error::invalid("item", "must be a JSON object"))?;
    let key = match obj.get("key") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(IdemKey::parse("key", k)?),
        Some(_) => return Err(Error::invalid("key", "must be a string")),
    };
    let empty = Map::new();
    let b = obj.get("body").and_then(Value::as_object).unwrap_or(&empty);
    let op = obj.get("op").and_then(Value::as_str).unwrap_or("");
    Ok(Keyed::new(wire::command(op, b)?, key))
}

pub async fn batch(
    State(st): State<AppState>,
    Base(base): Base,
    b: std::result::Result<Bytes, BytesRejection>,
) -> Answer {
    let bytes = b.map_err(|e| Error::invalid("body", &format!("could not be read: {e}")))?;
    let bytes = super::routes::quote_exponents(&bytes).into_owned();
    let items: Vec<Value> = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Array(a)) => a,
        Ok(_) => return Err(Error::invalid("body", "must be a JSON array of writes").into()),
        Err(_) => {
            // Let the object reader name the JSON fault (truncated, malformed).
            body(Ok(bytes.into()))?;
            return Err(Error::invalid("body", "must be a JSON array of writes").into());
        }
    };
    if items.len() > MAX_BATCH {
        return Err(Error::invalid("body", &format!("may hold at most {MAX_BATCH} writes")).into());
    }
    let parsed: Vec<Result<Keyed>> = items.iter().map(item).collect();
    let valid: Vec<Keyed> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().cloned())
        .collect();
    let mut results = execute(st.port.clone(), valid).await?.into_iter();
    let now = Clock::System.now();
    let answers: Vec<Value> = parsed
        .into_iter()
        .map(|p| {
            let r = p.and_then(|_| {
                results
                    .next()
                    .unwrap_or_else(|| Err(Error::store("no result for the write")))
            });
            match r {
                Ok(o) => json!({"status": 201, "body": outcome_body(&o, &base)}),
                Err(e) => {
                    let (status, body) = fault::error_body(&e, "/batch", now);
                    json!({"status": status, "body": body})
                }
            }
        })
        .collect();
    ok(&Value::Array(answers))
}
