//! What a report is asked for, and its one parser: the CLI's flags, the HTTP query string
//! and the console all hand it `name=value` pairs.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::calendar::Month;
use crate::domain::error::{Error, FieldError, FieldErrors};
use crate::domain::money::BasisPoints;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReportKind {
    Liability,
    Activity,
    Segments,
    Dormant,
    Anomalies,
}

impl ReportKind {
    pub const ALL: [ReportKind; 5] = [
        ReportKind::Liability,
        ReportKind::Activity,
        ReportKind::Segments,
        ReportKind::Dormant,
        ReportKind::Anomalies,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Liability => "liability",
            ReportKind::Activity => "activity",
            ReportKind::Segments => "segments",
            ReportKind::Dormant => "dormant",
            ReportKind::Anomalies => "anomalies",
        }
    }
    pub fn parse(field: &str, text: &str) -> Result<ReportKind, FieldError> {
        ReportKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text.trim())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "must be one of liability, activity, segments, dormant, anomalies",
                )
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Grain {
    #[default]
    Day,
    Week,
    Month,
}

impl Grain {
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }
    pub fn parse(field: &str, text: &str) -> Result<Grain, FieldError> {
        match text.trim() {
            "day" => Ok(Grain::Day),
            "week" => Ok(Grain::Week),
            "month" => Ok(Grain::Month),
            _ => Err(FieldError::new(field, "must be day, week or month")),
        }
    }
}

pub const DEFAULT_DORMANT_DAYS: u32 = 90;
pub const MAX_LIMIT: usize = 1000;

/// A report request. Days are business days (see `counters::day_of`); `None` takes the
/// report's default window ending today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportQuery {
    pub kind: ReportKind,
    pub month: Option<Month>,
    pub from: Option<i32>,
    pub to: Option<i32>,
    pub grain: Grain,
    /// Dormant after this many days without a deal.
    pub days: u32,
    pub limit: usize,
    pub min_cancels: u64,
    pub min_failed: u64,
    /// A merchant's clawbacks over its redeemed points at or above this are flagged.
    pub clawback: BasisPoints,
}

impl ReportQuery {
    pub fn new(kind: ReportKind) -> ReportQuery {
        ReportQuery {
            kind,
            month: None,
            from: None,
            to: None,
            grain: Grain::Day,
            days: DEFAULT_DORMANT_DAYS,
            limit: 50,
            min_cancels: 3,
            min_failed: 3,
            clawback: BasisPoints(1000),
        }
    }

    /// Parses `name=value` pairs: `month` (YYYYMM), `from`/`to` (YYYY-MM-DD), `grain`,
    /// `days`, `limit`, `minCancels`, `minFailed`, `clawback` (percent). Every bad field
    /// is reported, and unknown names are refused.
    pub fn parse(kind: &str, params: &[(String, String)]) -> Result<ReportQuery, Error> {
        let mut errs = FieldErrors::default();
        let Some(kind) = errs.take(ReportKind::parse("report", kind)) else {
            return Err(Error::Invalid { errors: errs });
        };
        let mut q = ReportQuery::new(kind);
        for (name, value) in params {
            match name.as_str() {
                "month" => q.month = errs.take(Month::parse("month", value)),
                "from" => q.from = errs.take(parse_day("from", value)),
                "to" => q.to = errs.take(parse_day("to", value)),
                "grain" => {
                    if let Some(g) = errs.take(Grain::parse("grain", value)) {
                        q.grain = g;
                    }
                }
                "days" => {
                    if let Some(d) = errs.take(parse_count("days", value, 1, 36_500)) {
                        q.days = d as u32;
                    }
                }
                "limit" => {
                    if let Some(l) = errs.take(parse_count("limit", value, 1, MAX_LIMIT as u64)) {
                        q.limit = l as usize;
                    }
                }
                "minCancels" => {
                    if let Some(n) = errs.take(parse_count("minCancels", value, 1, 1_000_000)) {
                        q.min_cancels = n;
                    }
                }
                "minFailed" => {
                    if let Some(n) = errs.take(parse_count("minFailed", value, 1, 1_000_000)) {
                        q.min_failed = n;
                    }
                }
                "clawback" => {
                    if let Some(b) = errs.take(BasisPoints::parse_percent("clawback", value)) {
                        q.clawback = b;
                    }
                }
                other => errs.push(FieldError::new(
                    other,
                    "is not a report parameter (month, from, to, grain, days, limit, minCancels, minFailed, clawback)",
                )),
            }
        }
        if let (Some(f), Some(t)) = (q.from, q.to)
            && f > t
        {
            errs.push(FieldError::new("from", "must not be after to"));
        }
        if errs.is_empty() {
            Ok(q)
        } else {
            Err(Error::Invalid { errors: errs })
        }
    }

    /// The parameters that `parse` reads back to this query (for the remote adapter).
    pub fn params(&self) -> Vec<(String, String)> {
        let d = ReportQuery::new(self.kind);
        let mut p = Vec::new();
        let mut add = |n: &str, v: String| p.push((n.to_string(), v));
        if let Some(m) = self.month {
            add("month", m.to_string());
        }
        if let Some(f) = self.from {
            add("from", day_string(f));
        }
        if let Some(t) = self.to {
            add("to", day_string(t));
        }
        if self.grain != d.grain {
            add("grain", self.grain.as_str().into());
        }
        if self.days != d.days {
            add("days", self.days.to_string());
        }
        if self.limit != d.limit {
            add("limit", self.limit.to_string());
        }
        if self.min_cancels != d.min_cancels {
            add("minCancels", self.min_cancels.to_string());
        }
        if self.min_failed != d.min_failed {
            add("minFailed", self.min_failed.to_string());
        }
        if self.clawback != d.clawback {
            add("clawback", self.clawback.as_percent());
        }
        p
    }
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
}

/// `YYYY-MM-DD` as a day number.
pub fn parse_day(field: &str, text: &str) -> Result<i32, FieldError> {
    let d = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "must be a date as YYYY-MM-DD, e.g. 2026-11-30"))?;
    if d < epoch() {
        return Err(FieldError::new(field, "must not be before 1970-01-01"));
    }
    Ok((d - epoch()).num_days() as i32)
}

pub fn day_string(day: i32) -> String {
    (epoch() + chrono::Days::new(day.max(0) as u64))
        .format("%Y-%m-%d")
        .to_string()
}

fn parse_count(field: &str, text: &str, min: u64, max: u64) -> Result<u64, FieldError> {
    let rule = format!("must be a whole number from {min} to {max}");
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(field, &rule));
    }
    let digits = t.trim_start_matches('0');
    match digits.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ if digits.is_empty() && min == 0 => Ok(0),
        _ => Err(FieldError::new(field, &rule)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn every_bad_field_is_named_and_parameters_round_trip() {
        let e = ReportQuery::parse(
            "activity",
            &p(&[
                ("grain", "year"),
                ("from", "2026-13-01"),
                ("days", "0"),
                ("x", "1"),
            ]),
        )
        .unwrap_err();
        let Error::Invalid { errors } = e else {
            panic!("not invalid: {e:?}")
        };
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["grain", "from", "days", "x"]);
        assert!(ReportQuery::parse("profit", &[]).is_err());
        let q = ReportQuery::parse(
            "anomalies",
            &p(&[
                ("from", "2026-11-01"),
                ("to", "2026-11-30"),
                ("minCancels", "0005"),
                ("clawback", "12.5"),
                ("limit", "20"),
            ]),
        )
        .unwrap();
        assert_eq!(q.min_cancels, 5);
        assert_eq!(q.clawback, BasisPoints(1250));
        assert_eq!(day_string(q.from.unwrap()), "2026-11-01");
        assert_eq!(ReportQuery::parse("anomalies", &q.params()).unwrap(), q);
        assert!(
            ReportQuery::parse(
                "activity",
                &p(&[("from", "2026-11-02"), ("to", "2026-11-01")])
            )
            .is_err()
        );
    }
}
