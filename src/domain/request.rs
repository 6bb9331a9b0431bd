//! Inputs, parsed once: each draft (text as a person or a client typed it) has one parser
//! that returns the typed request or every field error. The CLI, the console's forms, the
//! HTTP server and the CSV import all call these same parsers (parse, don't validate).

use serde::{Deserialize, Serialize};

use super::calendar::{Millis, Month, parse_datetime};
use super::error::{FieldError, FieldErrors};
use super::ids::{DealId, MemberId, MerchantId};
use super::model::DealType;
use super::money::{Amount, BasisPoints, Points};

pub const NAME_MAX_CHARS: usize = 100;
pub const PHONE_MAX_CHARS: usize = 20;
pub const ADDRESS_MAX_CHARS: usize = 200;
pub const KEY_MAX_CHARS: usize = 128;

/// A member as typed in a form or sent by a client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberDraft {
    pub name: String,
    pub phone: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMember {
    pub name: String,
    pub phone: Option<String>,
    pub address: Option<String>,
}

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

/// Bidi embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069) and the line
/// and paragraph separators (U+2028, U+2029): they reorder or break the text around them
/// in every list, log and terminal that shows it.
fn is_layout_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// Characters that show nothing: spaces, zero-width characters and joiners, the byte-order
/// mark, the soft hyphen, the Hangul fillers, the bidi marks.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || is_layout_control(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2060}'..='\u{2064}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
        )
}

/// A whole number as typed (`?page=`, `?recent=`, `?timeoutMs=`): plain digits only (no
/// sign, fraction or exponent: `+1` and `1e5` are refused, as SPEC 9 says), in `min ..= max`.
pub fn parse_count(field: &str, text: &str, min: usize, max: usize) -> Result<usize, FieldError> {
    let t = text.trim();
    let rule = || {
        FieldError::new(
            field,
            &format!("must be a whole number from {min} to {max}"),
        )
    };
    if t.is_empty() || t.len() > 19 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(rule());
    }
    match t.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(rule()),
    }
}

/// A free-text field: trimmed, no control characters, `max` chars; `None` when blank.
fn parse_text(
    field: &str,
    text: &str,
    max: usize,
    required: bool,
) -> Result<Option<String>, FieldError> {
    // Measure before trimming huge inputs, so a 10 MB name costs nothing to refuse.
    if text.len() > max * 4 + 64 {
        return Err(FieldError::new(
            field,
            &format!("must be at most {max} characters"),
        ));
    }
    let t = text.trim();
    if t.is_empty() {
        return if required {
            Err(FieldError::new(field, "is required (1 to 100 characters)"))
        } else {
            Ok(None)
        };
    }
    if has_control(t) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    if t.chars().any(is_layout_control) {
        return Err(FieldError::new(
            field,
            "must not contain bidi overrides, isolates or line separators",
        ));
    }
    if t.chars().all(is_invisible) {
        return Err(FieldError::new(field, "must contain a visible character"));
    }
    if t.chars().count() > max {
        return Err(FieldError::new(
            field,
            &format!("must be at most {max} characters"),
        ));
    }
    Ok(Some(t.to_string()))
}

impl NewMember {
    pub fn parse(d: &MemberDraft) -> Result<NewMember, FieldErrors> {
        let mut errs = FieldErrors::default();
        let name = errs.take(parse_text("name", &d.name, NAME_MAX_CHARS, true));
        let phone = match &d.phone {
            Some(p) => errs.take(parse_phone(p)),
            None => Some(None),
        };
        let address = match &d.address {
            Some(a) => errs.take(parse_text("address", a, ADDRESS_MAX_CHARS, false)),
            None => Some(None),
        };
        match (name, phone, address) {
            (Some(Some(name)), Some(phone), Some(address)) if errs.is_empty() => Ok(NewMember {
                name,
                phone,
                address,
            }),
            _ => Err(errs),
        }
    }
}

fn parse_phone(text: &str) -> Result<Option<String>, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '+' || c == '-')
    {
        return Err(FieldError::new(
            "phone",
            "may contain only digits, spaces, + and -",
        ));
    }
    if t.chars().count() > PHONE_MAX_CHARS {
        return Err(FieldError::new("phone", "must be at most 20 characters"));
    }
    Ok(Some(t.to_string()))
}

/// A merchant registration as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MerchantDraft {
    pub id: String,
    pub name: String,
    /// Percent, e.g. `1.5`; blank for the default.
    pub earn_rate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMerchant {
    pub id: MerchantId,
    pub name: String,
    pub earn_rate: Option<BasisPoints>,
}

impl NewMerchant {
    pub fn parse(d: &MerchantDraft) -> Result<NewMerchant, FieldErrors> {
        let mut errs = FieldErrors::default();
        let id = errs.take(MerchantId::parse("merchantId", &d.id));
        let name = errs.take(parse_text("name", &d.name, NAME_MAX_CHARS, true));
        let rate = match d.earn_rate.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(r) => errs
                .take(BasisPoints::parse_percent("earnRate", r))
                .map(Some),
        };
        match (id, name, rate) {
            (Some(id), Some(Some(name)), Some(earn_rate)) if errs.is_empty() => Ok(NewMerchant {
                id,
                name,
                earn_rate,
            }),
            _ => Err(errs),
        }
    }
}

/// A deal as typed: every field as text, blank when not given. `kind` is `save`, `use`,
/// `cancel` (the type taken from the original), `saveCancel` or `useCancel`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DealDraft {
    pub kind: String,
    pub member: String,
    pub merchant: String,
    pub amount: String,
    pub points: String,
    pub original: String,
    pub date: String,
}

/// Which cancel was asked for: a specific type, or whatever the original calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CancelKind {
    Any,
    Exactly(DealType),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DealRequest {
    Save {
        member: MemberId,
        merchant: MerchantId,
        amount: Amount,
        date: Option<Millis>,
    },
    Use {
        member: MemberId,
        merchant: MerchantId,
        points: Points,
        amount: Option<Amount>,
        date: Option<Millis>,
    },
    Cancel {
        original: DealId,
        kind: CancelKind,
        date: Option<Millis>,
    },
}

impl DealRequest {
    pub fn parse(d: &DealDraft) -> Result<DealRequest, FieldErrors> {
        let mut errs = FieldErrors::default();
        let date = if d.date.trim().is_empty() {
            Some(None)
        } else {
            errs.take(parse_datetime("dealDate", &d.date)).map(Some)
        };
        let kind = d.kind.trim();
        let req = match kind {
            "save" => {
                let member = errs.take(MemberId::parse("memberId", &d.member));
                let merchant = errs.take(MerchantId::parse("merchantId", &d.merchant));
                let amount = errs.take(Amount::parse("dealAmount", &d.amount));
                if !d.points.trim().is_empty() {
                    errs.push(FieldError::new(
                        "point",
                        "is computed from the amount for a save; leave it out",
                    ));
                }
                match (member, merchant, amount, date) {
                    (Some(member), Some(merchant), Some(amount), Some(date)) => {
                        Some(DealRequest::Save {
                            member,
                            merchant,
                            amount,
                            date,
                        })
                    }
                    _ => None,
                }
            }
            "use" => {
                let member = errs.take(MemberId::parse("memberId", &d.member));
                let merchant = errs.take(MerchantId::parse("merchantId", &d.merchant));
                let points = errs.take(Points::parse_positive("point", &d.points));
                let amount = if d.amount.trim().is_empty() {
                    Some(None)
                } else {
                    errs.take(Amount::parse("dealAmount", &d.amount)).map(Some)
                };
                match (member, merchant, points, amount, date) {
                    (Some(member), Some(merchant), Some(points), Some(amount), Some(date)) => {
                        Some(DealRequest::Use {
                            member,
                            merchant,
                            points,
                            amount,
                            date,
                        })
                    }
                    _ => None,
                }
            }
            "cancel" | "saveCancel" | "useCancel" => {
                let ck = match kind {
                    "saveCancel" => CancelKind::Exactly(DealType::SaveCancel),
                    "useCancel" => CancelKind::Exactly(DealType::UseCancel),
                    _ => CancelKind::Any,
                };
                let original = errs.take(DealId::parse("originalDealId", &d.original));
                match (original, date) {
                    (Some(original), Some(date)) => Some(DealRequest::Cancel {
                        original,
                        kind: ck,
                        date,
                    }),
                    _ => None,
                }
            }
            "" => {
                errs.push(FieldError::new("type", "is required"));
                None
            }
            _ => {
                errs.push(FieldError::new(
                    "type",
                    "must be one of save, use, saveCancel, useCancel (or cancel)",
                ));
                None
            }
        };
        match req {
            Some(r) if errs.is_empty() => Ok(r),
            _ => Err(errs),
        }
    }

    pub fn date(&self) -> Option<Millis> {
        match self {
            DealRequest::Save { date, .. }
            | DealRequest::Use { date, .. }
            | DealRequest::Cancel { date, .. } => *date,
        }
    }
}

/// A settlement request as typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingRequest {
    pub merchant: MerchantId,
    pub month: Month,
}

impl BillingRequest {
    pub fn parse(merchant: &str, month: &str) -> Result<BillingRequest, FieldErrors> {
        let mut errs = FieldErrors::default();
        let m = errs.take(MerchantId::parse("merchantId", merchant));
        let mo = errs.take(Month::parse("billingMonth", month));
        match (m, mo) {
            (Some(merchant), Some(month)) => Ok(BillingRequest { merchant, month }),
            _ => Err(errs),
        }
    }
}

/// Every write the core takes. One enum, so that the writer, the idempotency table, the
/// HTTP adapter and the console's outbox all speak of writes the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Join(NewMember),
    Withdraw(MemberId),
    AddMerchant(NewMerchant),
    Deal(DealRequest),
    Bill(BillingRequest),
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Join(_) => "join",
            Command::Withdraw(_) => "withdraw",
            Command::AddMerchant(_) => "add merchant",
            Command::Deal(_) => "deal",
            Command::Bill(_) => "billing run",
        }
    }
}

/// An idempotency key: 1 ..= 128 visible characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdemKey(pub String);

impl IdemKey {
    pub fn parse(field: &str, text: &str) -> Result<IdemKey, FieldError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(FieldError::new(field, "must not be empty"));
        }
        if t.chars().count() > KEY_MAX_CHARS || has_control(t) {
            return Err(FieldError::new(
                field,
                "must be 1 to 128 characters without control characters",
            ));
        }
        Ok(IdemKey(t.to_string()))
    }
}

/// A command with its optional idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyed {
    pub key: Option<IdemKey>,
    pub command: Command,
}

impl Keyed {
    pub fn new(command: Command, key: Option<IdemKey>) -> Keyed {
        Keyed { key, command }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(kind: &str) -> DealDraft {
        DealDraft {
            kind: kind.into(),
            member: "0001".into(),
            merchant: "20".into(),
            ..Default::default()
        }
    }

    #[test]
    fn join_trims_the_name_and_accepts_korean() {
        let m = NewMember::parse(&MemberDraft {
            name: "  안서연 ".into(),
            phone: Some("010-1111-1111".into()),
            address: None,
        })
        .unwrap();
        assert_eq!(m.name, "안서연");
    }

    #[test]
    fn join_refuses_empty_long_and_control_names() {
        for (name, rule) in [
            ("   ", "is required"),
            ("a\u{7}b", "control"),
            (&"x".repeat(101), "at most 100"),
            (&"x".repeat(10_000_000), "at most 100"),
        ] {
            let e = NewMember::parse(&MemberDraft {
                name: name.to_string(),
                ..Default::default()
            })
            .unwrap_err();
            let fe = e.get("name").expect("a name error");
            assert!(fe.rule.contains(rule), "{rule} in {}", fe.rule);
        }
    }

    #[test]
    fn names_refuse_bidi_overrides_separators_and_invisible_only_text() {
        for (name, rule) in [
            ("evil\u{202E}gnp.exe", "bidi"),
            ("a\u{2066}b\u{2069}", "bidi"),
            ("first\u{2028}second", "line separators"),
            ("a\u{2029}b", "line separators"),
            ("\u{200B}\u{200D}\u{FEFF}", "visible"),
            ("\u{3164}", "visible"),
        ] {
            let e = NewMember::parse(&MemberDraft {
                name: name.to_string(),
                ..Default::default()
            })
            .unwrap_err();
            let fe = e.get("name").expect("a name error");
            assert!(fe.rule.contains(rule), "{name:?}: {rule} in {}", fe.rule);
        }
        // A joiner inside a visible name (emoji sequences, Korean) stays accepted.
        for ok in ["\u{1F468}\u{200D}\u{1F469}", "안서연", "Kim\u{200B}Lee"] {
            let m = NewMember::parse(&MemberDraft {
                name: ok.to_string(),
                ..Default::default()
            });
            assert!(m.is_ok(), "{ok:?}: {m:?}");
        }
    }

    #[test]
    fn counts_take_plain_digits_only() {
        assert_eq!(parse_count("page", "007", 0, 10), Ok(7));
        assert_eq!(parse_count("page", "0", 0, 10), Ok(0));
        for bad in ["+1", "-1", "1e5", "1.0", "", "11", " 1 2", "0x1"] {
            let e = parse_count("page", bad, 0, 10).unwrap_err();
            assert_eq!(e.field, "page");
            assert!(
                e.rule.contains("whole number from 0 to 10"),
                "{bad}: {}",
                e.rule
            );
        }
    }

    #[test]
    fn join_refuses_letters_in_phone() {
        let e = NewMember::parse(&MemberDraft {
            name: "Kim".into(),
            phone: Some("010-abc".into()),
            address: None,
        })
        .unwrap_err();
        assert!(e.get("phone").is_some());
    }

    #[test]
    fn save_needs_member_merchant_and_amount() {
        let mut d = draft("save");
        d.amount = "100000".into();
        assert_eq!(
            DealRequest::parse(&d).unwrap(),
            DealRequest::Save {
                member: MemberId(1),
                merchant: MerchantId(20),
                amount: Amount(100_000),
                date: None
            }
        );
        d.amount = "0".into();
        d.member = "x".into();
        let e = DealRequest::parse(&d).unwrap_err();
        assert!(e.get("dealAmount").is_some() && e.get("memberId").is_some());
    }

    #[test]
    fn use_refuses_three_decimal_points() {
        let mut d = draft("use");
        d.points = "1.234".into();
        let e = DealRequest::parse(&d).unwrap_err();
        assert_eq!(
            e.get("point").unwrap().rule,
            "may have at most two decimals"
        );
    }

    #[test]
    fn unknown_deal_type_is_refused_by_name() {
        let e = DealRequest::parse(&draft("refund")).unwrap_err();
        assert!(e.get("type").is_some());
    }

    #[test]
    fn cancel_names_its_original() {
        let mut d = draft("cancel");
        d.original = "3".into();
        assert!(matches!(
            DealRequest::parse(&d).unwrap(),
            DealRequest::Cancel {
                original: DealId(3),
                kind: CancelKind::Any,
                ..
            }
        ));
    }
}
