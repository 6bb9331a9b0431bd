//! Writes over HTTP: one request per write (or one `/batch` for several on our server),
//! the answer read back into the outcome the embedded store would give, and the outbox's
//! drain, which sends queued writes in order with their keys.

use reqwest::Method;
use serde_json::{Value, json};

use super::client::{Flavour, Sent, Shared};
use super::{RemoteAdapter, original};
use crate::api::wire::fault::error_from_response;
use crate::api::wire::{self, read};
use crate::api::{Error, Result};
use crate::domain::{Clock, Command, ErrorKind, Keyed, Outcome};

/// What became of a write.
pub enum Attempt {
    Answered(Result<Outcome>),
    NotSent(String),
    Lost(String),
}

impl RemoteAdapter {
    /// Several writes in `/batch` requests of at most `MAX_BATCH` (each one group commit on
    /// our server), in order.
    pub(super) fn execute_batch(&self, mut batch: Vec<Keyed>) -> Vec<Result<Outcome>> {
        let mut out = Vec::with_capacity(batch.len());
        while !batch.is_empty() {
            let rest = batch.split_off(batch.len().min(wire::MAX_BATCH));
            out.extend(self.execute_one_batch(batch));
            batch = rest;
        }
        out
    }

    /// At most `MAX_BATCH` writes in one `/batch` request.
    fn execute_one_batch(&self, batch: Vec<Keyed>) -> Vec<Result<Outcome>> {
        let items: Vec<Value> = batch
            .iter()
            .map(|k| {
                let (op, body) = match &k.command {
                    Command::Join(m) => ("join", wire::member_body(m)),
                    Command::Withdraw(id) => ("withdraw", json!({"memberId": id.0})),
                    Command::AddMerchant(m) => ("merchant", wire::merchant_body(m)),
                    Command::Deal(d) => ("deal", wire::deal_body(d)),
                    Command::Bill(b) => ("billing", wire::billing_body(b)),
                };
                json!({"op": op, "key": k.key.as_ref().map(|k| &k.0), "body": body})
            })
            .collect();
        let s = self.shared.clone();
        let timeout = s.timeout * 3;
        let sent = self.run(async move {
            s.send(
                Method::POST,
                "/batch",
                Some(&Value::Array(items)),
                None,
                timeout,
            )
            .await
        });
        match sent {
            Some(Sent::Answer { status: 200, body }) => {
                let answers: Vec<Value> = serde_json::from_slice(&body).unwrap_or_default();
                batch
                    .iter()
                    .enumerate()
                    .map(|(i, k)| {
                        let a = answers.get(i).cloned().unwrap_or(Value::Null);
                        let status = a.get("status").and_then(Value::as_u64).unwrap_or(500) as u16;
                        let body = a.get("body").cloned().unwrap_or(Value::Null);
                        if (200..300).contains(&status) {
                            outcome_of(&k.command, &body)
                        } else {
                            let bytes = serde_json::to_vec(&body).unwrap_or_default();
                            Err(error_from_response(status, &bytes, k.command.name()))
                        }
                    })
                    .collect()
            }
            Some(Sent::Answer { status, body }) => {
                let e = error_from_response(status, &body, "batch");
                batch.iter().map(|_| Err(e.clone())).collect()
            }
            // Unanswered: each write goes its own way (outbox, or a clear failure).
            _ => batch.into_iter().map(|k| self.write_one(k)).collect(),
        }
    }
}

/// Sends queued writes in order, each with its key; stops at the first that gets no
/// definitive answer. A write leaves the outbox only when the server applied it; a
/// definitive refusal (400, 404, 409, 422) marks it refused, to be reported; anything else
/// (a 5xx, 401, 403, a timeout, a reset) keeps it queued for the next drain.
pub async fn drain(s: &Shared) {
    let _one_at_a_time = s.drain_lock.lock().await;
    loop {
        let Some(entry) = s.outbox.lock().first() else {
            return;
        };
        let key = entry.key().to_string();
        let recorded = match write(s, &entry.write).await {
            Attempt::Answered(Ok(o)) => {
                tracing::info!(key, "outbox: sent");
                let r = s.outbox.lock().sent(&entry);
                report(s, &entry, Ok(o));
                r
            }
            Attempt::Answered(Err(e)) if definitive(&e) => {
                tracing::warn!(key, error = %e, "outbox: refused by the server");
                let r = s
                    .outbox
                    .lock()
                    .refuse(&entry, &e.to_string(), Clock::System.now());
                report(s, &entry, Err(e));
                r
            }
            Attempt::Answered(Err(e)) => {
                tracing::warn!(key, error = %e, "outbox: kept, to send again");
                return;
            }
            Attempt::NotSent(_) | Attempt::Lost(_) => return,
        };
        if let Err(e) = recorded {
            tracing::error!(error = %e, "outbox: cannot record what the server answered");
            return;
        }
    }
}

/// Keeps what became of a queued write for the console to say (the last 100 at most).
fn report(s: &Shared, entry: &super::outbox::Entry, result: Result<Outcome>) {
    let mut v = s.sent_reports.lock();
    if v.len() >= 100 {
        v.remove(0);
    }
    v.push(crate::api::port::OutboxReport {
        command: entry.write.command.clone(),
        result,
    });
}

/// An answer that sending again will not change: the write is malformed, names what does
/// not exist, or conflicts with what is recorded. Server faults and auth answers are not.
pub fn definitive(e: &Error) -> bool {
    matches!(
        e.kind(),
        Some(ErrorKind::Malformed | ErrorKind::NotFound | ErrorKind::Rule | ErrorKind::Conflict)
    )
}

/// One write, as the remote's flavour wants it.
pub async fn write(s: &Shared, k: &Keyed) -> Attempt {
    if s.flavour() == Flavour::Original {
        return original::write(s, k).await;
    }
    let (method, path, body) = match &k.command {
        Command::Join(m) => (
            Method::POST,
            "/members".to_string(),
            Some(wire::member_body(m)),
        ),
        Command::Withdraw(id) => (Method::DELETE, format!("/members/{id}"), None),
        Command::AddMerchant(m) => (
            Method::POST,
            "/merchants".into(),
            Some(wire::merchant_body(m)),
        ),
        Command::Deal(d) => (Method::POST, "/deals".into(), Some(wire::deal_body(d))),
        Command::Bill(b) => (
            Method::POST,
            "/billings".into(),
            Some(wire::billing_body(b)),
        ),
    };
    answer(
        s.send(method, &path, body.as_ref(), k.key.as_ref(), s.timeout)
            .await,
        &k.command,
        |v| outcome_of(&k.command, v),
    )
}

/// A write's answer read with `read`, or what became of it.
pub fn answer(sent: Sent, c: &Command, read: impl FnOnce(&Value) -> Result<Outcome>) -> Attempt {
    match sent {
        Sent::Answer { status, body } if (200..300).contains(&status) => {
            Attempt::Answered(match serde_json::from_slice::<Value>(&body) {
                Ok(v) => read(&v),
                Err(e) => Err(Error::Unavailable {
                    message: format!("the server's answer to the {} is unreadable: {e}", c.name()),
                }),
            })
        }
        Sent::Answer { status, body } => {
            Attempt::Answered(Err(error_from_response(status, &body, what(c))))
        }
        Sent::Refrained(w) => Attempt::NotSent(w),
        Sent::Lost(w) => Attempt::Lost(w),
    }
}

fn what(c: &Command) -> &'static str {
    match c {
        Command::Join(_) | Command::Withdraw(_) => "member",
        Command::AddMerchant(_) => "merchant",
        Command::Deal(_) => "deal",
        Command::Bill(_) => "billing",
    }
}

/// Our server's answer to a write, as the outcome the embedded store would give.
fn outcome_of(c: &Command, v: &Value) -> Result<Outcome> {
    Ok(match c {
        Command::Join(_) => Outcome::Member(read::member(v)?),
        Command::Withdraw(_) => Outcome::Withdrawal(read::withdrawal(v)?),
        Command::AddMerchant(_) => Outcome::Merchant(read::strict("merchant", v.clone())?),
        Command::Deal(_) => Outcome::Deal(read::deal(v)?),
        Command::Bill(_) => Outcome::Billing(read::billing(v)?),
    })
}
