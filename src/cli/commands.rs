//! Headless subcommands (SPEC 4): each parses its text with the core's parsers, calls the
//! port, prints a human record or one JSON value, and returns the exit code. Bulk work
//! (seed, export, import) and the event follower live in their own files.

use crate::api::Port;
use crate::api::{Error, Result};
use crate::domain::query::{MAX_PAGE, parse_limit};
use crate::domain::{
    BillingQuery, BillingRequest, DealDraft, DealId, DealQuery, DealRequest, DealStatus, DealType,
    FieldErrors, IdemKey, MemberDraft, MemberId, MemberQuery, MemberStatus, MerchantDraft,
    MerchantId, Month, NewMember, NewMerchant, Outcome,
};

use super::args::{BillingCmd, CommandLine, DealCmd, GlobalOpts, MemberCmd, MerchantCmd};
use super::output::{emit, print};
use super::show;

/// How many recent deals `member show` lists.
const RECENT_DEALS: usize = 10;

/// What every subcommand needs: the port, the output mode and the write's idempotency key.
pub struct Ctx<'a> {
    pub port: &'a dyn Port,
    pub json: bool,
    pub key: Option<IdemKey>,
}

pub fn run(cmd: CommandLine, global: &GlobalOpts, port: std::sync::Arc<dyn Port>) -> Result<i32> {
    let key = match &global.key {
        Some(k) => Some(IdemKey::parse("key", k)?),
        None => None,
    };
    let ctx = Ctx {
        port: port.as_ref(),
        json: global.json,
        key,
    };
    match cmd {
        CommandLine::Member(c) => member(&ctx, c),
        CommandLine::Merchant(c) => merchant(&ctx, c),
        CommandLine::Deal(c) => deal(&ctx, c),
        CommandLine::Points { member_id } => {
            let id = MemberId::parse("memberId", &member_id)?;
            let b = ctx.port.points(id)?;
            print(ctx.json, &b, || show::points(&b))?;
            Ok(0)
        }
        CommandLine::Billing(c) => billing(&ctx, c),
        CommandLine::Events(a) => super::follow::run(&ctx, &a),
        CommandLine::Seed(a) => super::seed::run(&ctx, &a),
        CommandLine::Export(a) => super::export::run(&ctx, &a),
        CommandLine::Report(a) => super::report::run(&ctx, &a),
        CommandLine::Import(super::args::ImportCmd::Deals { file }) => {
            super::import::run(&ctx, &file)
        }
        CommandLine::Check => {
            let r = ctx.port.check()?;
            print(ctx.json, &r, || show::check(&r))?;
            if !r.ok {
                eprintln!(
                    "error: check found {} invariant violation(s)",
                    r.violations.len()
                );
            }
            Ok(if r.ok { 0 } else { 1 })
        }
        CommandLine::Backup { dest } => {
            let r = ctx.port.backup(&dest)?;
            print(ctx.json, &r, || show::backup(&r))?;
            if !r.check.ok {
                eprintln!(
                    "error: the copy in {} fails its check ({} invariant violation(s)): do not rely on it",
                    r.dir,
                    r.check.violations.len()
                );
            }
            Ok(if r.check.ok { 0 } else { 1 })
        }
        CommandLine::Info => {
            let i = ctx.port.info()?;
            let source = ctx.port.source();
            print(ctx.json, &i, || show::info(&i, &source))?;
            Ok(0)
        }
        CommandLine::Demo(_) | CommandLine::Serve(_) | CommandLine::Outbox(_) => Err(
            Error::system("demo, serve and outbox are not headless subcommands"),
        ),
    }
}

/// Prints a write's result and gives its exit code: a deal recorded as failed is printed
/// like any other, then exits 3 with the reason on stderr (SPEC 4).
fn report_write(ctx: &Ctx, outcome: Outcome) -> Result<i32> {
    let text = if ctx.json {
        show::outcome_json(&outcome)?
    } else {
        show::outcome_text(&outcome)
    };
    emit(&text)?;
    match &outcome {
        Outcome::Deal(d) if d.status == DealStatus::Fail => {
            eprintln!(
                "error: deal {} recorded as failed: {}",
                d.id,
                d.reason.as_deref().unwrap_or("no reason given")
            );
            Ok(3)
        }
        _ => Ok(0),
    }
}

fn write(ctx: &Ctx, command: crate::domain::Command) -> Result<i32> {
    let outcome = ctx.port.run_one(command, ctx.key.clone())?;
    report_write(ctx, outcome)
}

/// Parses an optional filter: blank or absent means "no filter".
fn opt<T>(
    errs: &mut FieldErrors,
    text: &Option<String>,
    parse: impl FnOnce(&str) -> std::result::Result<T, crate::domain::FieldError>,
) -> Option<T> {
    match text.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => errs.take(parse(t)),
    }
}

fn member(ctx: &Ctx, c: MemberCmd) -> Result<i32> {
    use crate::domain::Command;
    match c {
        MemberCmd::Join {
            name,
            phone,
            address,
        } => {
            let m = NewMember::parse(&MemberDraft {
                name,
                phone,
                address,
            })?;
            write(ctx, Command::Join(m))
        }
        MemberCmd::Withdraw { id } => {
            let id = MemberId::parse("memberId", &id)?;
            write(ctx, Command::Withdraw(id))
        }
        MemberCmd::Show { id } => {
            let id = MemberId::parse("memberId", &id)?;
            let d = ctx.port.member_detail(id, RECENT_DEALS)?;
            let names = names_for(ctx, std::iter::empty());
            print(ctx.json, &d, || show::member_detail_named(&d, &names))?;
            Ok(0)
        }
        MemberCmd::List {
            status,
            query,
            limit,
        } => {
            let mut errs = FieldErrors::default();
            let status = opt(&mut errs, &status, |t| MemberStatus::parse("status", t));
            let limit = errs.take(parse_limit("limit", &limit));
            let (Some(limit), true) = (limit, errs.is_empty()) else {
                return Err(errs.into());
            };
            let q = MemberQuery {
                status,
                query: query
                    .map(|q| q.trim().to_string())
                    .filter(|q| !q.is_empty()),
                limit,
                ..Default::default()
            };
            let list = ctx.port.members(&q)?;
            print(ctx.json, &list, || show::members(&list))?;
            Ok(0)
        }
    }
}

fn merchant(ctx: &Ctx, c: MerchantCmd) -> Result<i32> {
    match c {
        MerchantCmd::Add {
            id,
            name,
            earn_rate,
        } => {
            let m = NewMerchant::parse(&MerchantDraft {
                id,
                name,
                earn_rate,
            })?;
            write(ctx, crate::domain::Command::AddMerchant(m))
        }
        MerchantCmd::List => {
            let list = ctx.port.merchants(MAX_PAGE)?;
            print(ctx.json, &list, || show::merchants(&list))?;
            Ok(0)
        }
    }
}

fn place(ctx: &Ctx, draft: DealDraft) -> Result<i32> {
    let req = DealRequest::parse(&draft)?;
    write(ctx, crate::domain::Command::Deal(req))
}

fn deal(ctx: &Ctx, c: DealCmd) -> Result<i32> {
    let text = |o: Option<String>| o.unwrap_or_default();
    match c {
        DealCmd::Save {
            member,
            merchant,
            amount,
            date,
        } => place(
            ctx,
            DealDraft {
                kind: "save".into(),
                member,
                merchant,
                amount,
                date: text(date),
                ..Default::default()
            },
        ),
        DealCmd::Use {
            member,
            merchant,
            points,
            amount,
            date,
        } => place(
            ctx,
            DealDraft {
                kind: "use".into(),
                member,
                merchant,
                points,
                amount: text(amount),
                date: text(date),
                ..Default::default()
            },
        ),
        DealCmd::Cancel { deal_id, date } => place(
            ctx,
            DealDraft {
                kind: "cancel".into(),
                original: deal_id,
                date: text(date),
                ..Default::default()
            },
        ),
        DealCmd::Show { id } => {
            let id = DealId::parse("dealId", &id)?;
            let d = ctx.port.deal(id)?;
            print(ctx.json, &d, || show::deal(&d))?;
            Ok(0)
        }
        DealCmd::List {
            member,
            merchant,
            month,
            deal_type,
            status,
            limit,
        } => {
            let mut errs = FieldErrors::default();
            let q = DealQuery {
                member: opt(&mut errs, &member, |t| MemberId::parse("member", t)),
                merchant: opt(&mut errs, &merchant, |t| MerchantId::parse("merchant", t)),
                month: opt(&mut errs, &month, |t| Month::parse("month", t)),
                deal_type: opt(&mut errs, &deal_type, |t| DealType::parse("type", t)),
                status: opt(&mut errs, &status, |t| DealStatus::parse("status", t)),
                before: None,
                limit: errs.take(parse_limit("limit", &limit)).unwrap_or(0),
            };
            if !errs.is_empty() {
                return Err(errs.into());
            }
            let list = ctx.port.deals(&q)?;
            let names = names_for(ctx, list.iter().map(|d| d.member_id));
            print(ctx.json, &list, || show::deals_named(&list, &names))?;
            Ok(0)
        }
    }
}

/// Names to print beside ids: the members in one batch read, the merchants in one list.
/// Only for text (`--json` keeps the records as they are); a failed read leaves ids alone.
fn names_for(ctx: &Ctx, members: impl Iterator<Item = MemberId>) -> show::Names {
    let mut names = show::Names::default();
    if ctx.json {
        return names;
    }
    let mut ids: Vec<MemberId> = members.collect();
    ids.sort_unstable();
    ids.dedup();
    if !ids.is_empty()
        && let Ok(ms) = ctx.port.members_by_ids(&ids)
    {
        names.members = ms.into_iter().map(|m| (m.member_id, m.name)).collect();
    }
    if let Ok(ms) = ctx.port.merchants(MAX_PAGE) {
        names.merchants = ms
            .into_iter()
            .filter_map(|m| Some((m.merchant.merchant_id, m.merchant.name?)))
            .collect();
    }
    names
}

fn billing(ctx: &Ctx, c: BillingCmd) -> Result<i32> {
    match c {
        BillingCmd::Run { merchant, month } => {
            let req = BillingRequest::parse(&merchant, &month)?;
            write(ctx, crate::domain::Command::Bill(req))
        }
        BillingCmd::Preview { merchant, month } => {
            let req = BillingRequest::parse(&merchant, &month)?;
            let p = ctx.port.preview_billing(req.merchant, req.month)?;
            print(ctx.json, &p, || show::billing_preview(&p))?;
            Ok(0)
        }
        BillingCmd::List { merchant, month } => {
            let mut errs = FieldErrors::default();
            let q = BillingQuery {
                merchant: opt(&mut errs, &merchant, |t| MerchantId::parse("merchant", t)),
                month: opt(&mut errs, &month, |t| Month::parse("month", t)),
                limit: MAX_PAGE,
            };
            if !errs.is_empty() {
                return Err(errs.into());
            }
            let list = ctx.port.billings(&q)?;
            let names = names_for(ctx, std::iter::empty());
            print(ctx.json, &list, || show::billings_named(&list, &names))?;
            Ok(0)
        }
    }
}
