//! The worker: runs effects against the blocking port on tokio's blocking threads and posts
//! the results back to the loop as actions; and the event follower, which tails the log
//! from the last offset it saw. The loop never waits on the store.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::action::{Action, DealTable, Effect, Loaded, Target};
use super::state::billing::PreviewRow;
use crate::api::Port;
use crate::api::{Error, Result};
use crate::domain::{BillingQuery, MemberId};

/// Events fetched per follower read.
pub const FOLLOW_BATCH: usize = 5_000;
/// Events shown from before the console opened.
pub const FOLLOW_BACKLOG: u64 = 500;
/// How long one wait for new events blocks a thread.
const WAIT: Duration = Duration::from_millis(500);
/// Pause before the one automatic retry of a write that could not reach the store.
const RETRY_AFTER: Duration = Duration::from_millis(300);
const MERCHANTS_SHOWN: usize = 500;
const HISTORY_SHOWN: usize = 1_000;

#[derive(Clone)]
pub struct Worker {
    port: Arc<dyn Port>,
    tx: UnboundedSender<Action>,
}

impl Worker {
    pub fn new(port: Arc<dyn Port>, tx: UnboundedSender<Action>) -> Worker {
        Worker { port, tx }
    }

    /// Runs one request effect off the loop.
    pub fn spawn(&self, e: Effect) {
        let w = self.clone();
        tokio::task::spawn_blocking(move || {
            let a = run(&*w.port, e);
            let _ = w.tx.send(a);
            // A blocking thread may sit idle for long: what the load freed goes back now.
            crate::domain::memory::collect_this_thread();
        });
    }

    /// Tails the event log until the loop goes away.
    pub fn follow_events(&self) {
        let w = self.clone();
        tokio::spawn(async move {
            let port = w.port.clone();
            let start = tokio::task::spawn_blocking(move || port.info().map(|i| i.events))
                .await
                .ok()
                .and_then(|r| r.ok())
                .unwrap_or(0);
            let mut after = start.saturating_sub(FOLLOW_BACKLOG);
            let mut backoff = Duration::from_millis(500);
            let mut told = false;
            while !w.tx.is_closed() {
                let port = w.port.clone();
                let r = tokio::task::spawn_blocking(move || {
                    let batch = port.events(after, FOLLOW_BATCH)?;
                    if batch.is_empty() {
                        port.wait_events(after, WAIT)?;
                    }
                    Ok::<_, Error>(batch)
                })
                .await;
                match r {
                    Ok(Ok(batch)) => {
                        backoff = Duration::from_millis(500);
                        told = false;
                        if let Some(last) = batch.last() {
                            after = last.offset;
                            if w.tx.send(Action::Events(batch)).is_err() {
                                break;
                            }
                        }
                    }
                    Ok(Err(e)) => {
                        if !told {
                            let _ = w.tx.send(Action::EventsUnavailable(e.to_string()));
                            told = true;
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
                    Err(_) => break,
                }
            }
        });
    }
}

fn fail(target: Target, generation: u64, error: Error) -> Action {
    Action::Failed {
        target,
        generation,
        error,
    }
}

/// One effect against the port, as the action that reports it. Blocking.
pub fn run(port: &dyn Port, e: Effect) -> Action {
    match e {
        Effect::LoadMembers {
            table,
            generation,
            fetch,
            query,
        } => match port.member_window(&query) {
            Ok(window) => Action::Loaded(Loaded::Members {
                table,
                generation,
                fetch,
                window,
            }),
            Err(e) => fail(Target::Members(table), generation, e),
        },
        Effect::LoadDeals {
            table,
            generation,
            fetch,
            mut query,
            member_name,
        } => match member_named(port, member_name.as_deref()).and_then(|m| {
            query.member = query.member.or(m);
            deals_with_names(port, &query, table)
        }) {
            Ok((window, names)) => Action::Loaded(Loaded::Deals {
                table,
                generation,
                fetch,
                window,
                names,
            }),
            Err(e) => fail(Target::Deals(table), generation, e),
        },
        Effect::LoadNames(ids) => match port.members_by_ids(&ids) {
            Ok(found) => Action::Loaded(Loaded::Names { asked: ids, found }),
            Err(e) => fail(Target::Names, 0, e),
        },
        Effect::LoadDetail(m) => match port.member_detail(m, super::loads::CHART_DEALS) {
            Ok(d) => Action::Loaded(Loaded::Detail(Box::new(d))),
            Err(e) => fail(Target::Detail, 0, e),
        },
        Effect::LoadMerchants => match port.merchants(MERCHANTS_SHOWN) {
            Ok(ms) => Action::Loaded(Loaded::Merchants(ms)),
            Err(e) => fail(Target::Lookup, 0, e),
        },
        Effect::LoadSummary => match port.points_summary() {
            Ok(s) => Action::Loaded(Loaded::Summary(s)),
            Err(e) => fail(Target::Summary, 0, e),
        },
        Effect::LoadReport { generation, query } => match port.report(&query) {
            Ok(r) => Action::Loaded(Loaded::Report {
                generation,
                report: Box::new(r),
            }),
            Err(e) => fail(Target::Report, generation, e),
        },
        Effect::LoadBilling { generation, month } => match billing(port, month) {
            Ok((rows, history)) => Action::Loaded(Loaded::Billing {
                generation,
                month,
                rows,
                history,
            }),
            Err(e) => fail(Target::Billing, generation, e),
        },
        Effect::PrepareWithdraw(m) => match port.member(m) {
            Ok(v) => Action::Loaded(Loaded::WithdrawTarget(v)),
            Err(e) => fail(Target::Lookup, 0, e),
        },
        Effect::PrepareSettle(b) => match port.preview_billing(b.merchant, b.month) {
            Ok(p) => {
                let name = port.merchants(MERCHANTS_SHOWN).ok().and_then(|ms| {
                    ms.into_iter()
                        .find(|m| m.merchant.merchant_id == b.merchant)
                        .and_then(|m| m.merchant.name)
                });
                Action::Loaded(Loaded::SettleTarget(p, name))
            }
            Err(e) => fail(Target::Lookup, 0, e),
        },
        Effect::FetchDeal(d, why) => match port.deal(d) {
            Ok(deal) => {
                let name = port.member(deal.member_id).ok().map(|m| m.name);
                Action::Loaded(Loaded::Deal(Box::new(deal), why, name))
            }
            Err(e) => fail(Target::Lookup, 0, e),
        },
        Effect::Execute { key, command } => {
            let mut result = port.run_one(command.clone(), Some(key.clone()));
            // The same key makes the retry safe: a write that did land is not applied twice.
            if matches!(result, Err(Error::Unavailable { .. })) {
                std::thread::sleep(RETRY_AFTER);
                result = port.run_one(command.clone(), Some(key));
            }
            Action::Executed { command, result }
        }
        Effect::Yank(_) | Effect::SetMouse(_) | Effect::DemoRate { .. } => Action::Refresh,
    }
}

/// The one member a name (or phone) names, for the deal filter `member:NAME`.
fn member_named(port: &dyn Port, name: Option<&str>) -> Result<Option<MemberId>> {
    let Some(name) = name else {
        return Ok(None);
    };
    let w = port.member_window(&crate::domain::MemberWindow {
        query: Some(name.to_string()),
        limit: 3,
        ..Default::default()
    })?;
    match w.rows.as_slice() {
        [one] => Ok(Some(one.member_id)),
        [] => Err(crate::domain::Error::invalid(
            "member",
            &format!("no member's name or phone matches {name:?}"),
        )
        .into()),
        some => {
            let n = w.total.unwrap_or(some.len() as u64);
            let eg: Vec<String> = some
                .iter()
                .take(2)
                .map(|m| format!("{} {}", m.member_id, m.name))
                .collect();
            Err(crate::domain::Error::invalid(
                "member",
                &format!(
                    "{n} members match {name:?} (e.g. {}): give member:ID",
                    eg.join(", ")
                ),
            )
            .into())
        }
    }
}

/// A deal window and the names of its members.
type NamedDeals = (
    crate::domain::Window<crate::domain::Deal>,
    Vec<(MemberId, String)>,
);

/// A deal window and the names of its members: two reads, whatever the page's size.
fn deals_with_names(
    port: &dyn Port,
    q: &crate::domain::DealWindow,
    table: DealTable,
) -> Result<NamedDeals> {
    let w = port.deal_window(q)?;
    if matches!(table, DealTable::History(_)) {
        return Ok((w, Vec::new()));
    }
    let mut ids: Vec<MemberId> = w.rows.iter().map(|d| d.member_id).collect();
    ids.sort_unstable();
    ids.dedup();
    // Names are a help, not the data: a failed name read leaves ids on screen.
    let names = port
        .members_by_ids(&ids)
        .map(|ms| ms.into_iter().map(|m| (m.member_id, m.name)).collect())
        .unwrap_or_default();
    Ok((w, names))
}

/// Every merchant's preview for the month (one read), and the billing history.
fn billing(
    port: &dyn Port,
    month: crate::domain::Month,
) -> Result<(Vec<PreviewRow>, Vec<crate::domain::Billing>)> {
    let rows = port.previews(month, MERCHANTS_SHOWN)?;
    let mut history = port.billings(&BillingQuery {
        merchant: None,
        month: None,
        limit: HISTORY_SHOWN,
    })?;
    history.sort_by_key(|b| std::cmp::Reverse(b.id));
    Ok((rows, history))
}
