//! Time in the core: a `Clock` (fixed in tests), instants as UTC milliseconds, deal dates,
//! and calendar months (`YYYYMM`) in the business time zone (a fixed UTC offset).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::error::FieldError;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// How far in the future a given deal date may be.
pub const MAX_FUTURE_MS: Millis = 5 * 60 * 1000;

/// The source of "now". Tests use `Clock::fixed`, and can move it with `advance`; the demo
/// seeds its history on a `Clock::shifted` system clock set back in time.
#[derive(Clone)]
pub enum Clock {
    System,
    Fixed(Arc<AtomicI64>),
    /// System time plus an adjustable offset.
    Shifted(Arc<AtomicI64>),
}

impl Clock {
    pub fn fixed(at: Millis) -> Clock {
        Clock::Fixed(Arc::new(AtomicI64::new(at)))
    }
    pub fn shifted(offset: Millis) -> Clock {
        Clock::Shifted(Arc::new(AtomicI64::new(offset)))
    }
    pub fn now(&self) -> Millis {
        match self {
            Clock::System => Utc::now().timestamp_millis(),
            Clock::Fixed(t) => t.load(Ordering::SeqCst),
            Clock::Shifted(off) => Utc::now().timestamp_millis() + off.load(Ordering::SeqCst),
        }
    }
    pub fn advance(&self, ms: Millis) {
        if let Clock::Fixed(t) = self {
            t.fetch_add(ms, Ordering::SeqCst);
        }
    }
    /// Sets the offset of a shifted clock (no effect on the others).
    pub fn set_offset(&self, ms: Millis) {
        if let Clock::Shifted(off) = self {
            off.store(ms, Ordering::SeqCst);
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Clock::System => write!(f, "Clock::System"),
            Clock::Fixed(t) => write!(f, "Clock::Fixed({})", t.load(Ordering::SeqCst)),
            Clock::Shifted(o) => write!(f, "Clock::Shifted({})", o.load(Ordering::SeqCst)),
        }
    }
}

/// RFC 3339 in UTC with a `Z`, milliseconds only when present: `2026-10-02T09:00:00Z`.
pub fn format_rfc3339(ms: Millis) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => ms.to_string(),
    }
}

/// Parses an RFC 3339 date (`2026-10-02T09:00:00Z`, `+09:00` offsets, and the original
/// services' `2020-07-13T05:20:11.123+0000`).
pub fn parse_datetime(field: &str, text: &str) -> Result<Millis, FieldError> {
    let t = text.trim();
    let parsed = DateTime::parse_from_rfc3339(t)
        .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map_err(|_| {
            FieldError::new(
                field,
                "must be an RFC 3339 date and time, e.g. 2026-10-02T09:00:00Z",
            )
        })?;
    let ms = parsed.timestamp_millis();
    if !(0..=253_402_300_799_000).contains(&ms) {
        return Err(FieldError::new(field, "is out of range"));
    }
    Ok(ms)
}

/// Serde helpers for deal dates as RFC 3339 strings.
pub mod rfc3339 {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&format_rfc3339(*ms))
        } else {
            s.serialize_i64(*ms)
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            parse_datetime("date", &s).map_err(serde::de::Error::custom)
        } else {
            Millis::deserialize(d)
        }
    }
}

/// A calendar month, `YYYYMM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn parse(field: &str, text: &str) -> Result<Month, FieldError> {
        let t = text.trim();
        let rule = "must be a month as YYYYMM, e.g. 202610";
        if t.len() != 6 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(field, rule));
        }
        let year: i32 = t[..4].parse().map_err(|_| FieldError::new(field, rule))?;
        let month: u32 = t[4..].parse().map_err(|_| FieldError::new(field, rule))?;
        if !(1..=12).contains(&month) || year < 1970 {
            return Err(FieldError::new(field, rule));
        }
        Ok(Month { year, month })
    }

    /// As a sortable number: 202610.
    pub fn code(self) -> u32 {
        self.year as u32 * 100 + self.month
    }

    pub fn from_code(code: u32) -> Month {
        Month {
            year: (code / 100) as i32,
            month: code % 100,
        }
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The first instant of this month in the business zone.
    pub fn start_ms(self, zone: FixedOffset) -> Millis {
        let d = NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("valid month");
        let naive = d.and_hms_opt(0, 0, 0).expect("midnight");
        zone.from_local_datetime(&naive)
            .single()
            .expect("fixed offset is unambiguous")
            .timestamp_millis()
    }

    /// The last millisecond of this month in the business zone (inclusive end).
    pub fn end_ms(self, zone: FixedOffset) -> Millis {
        self.next().start_ms(zone) - 1
    }

    /// The month an instant falls in, in the business zone.
    pub fn of(ms: Millis, zone: FixedOffset) -> Month {
        let t = zone
            .timestamp_millis_opt(ms)
            .single()
            .unwrap_or_else(|| zone.timestamp_millis_opt(0).unwrap());
        Month {
            year: t.year(),
            month: t.month(),
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}{:02}", self.year, self.month)
    }
}

impl From<Month> for String {
    fn from(m: Month) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for Month {
    type Error = String;
    fn try_from(s: String) -> Result<Month, String> {
        Month::parse("billingMonth", &s).map_err(|e| e.to_string())
    }
}

/// Parses a UTC offset like `+09:00`, `-05:30` or `Z`.
pub fn parse_offset(field: &str, text: &str) -> Result<FixedOffset, FieldError> {
    let t = text.trim();
    if t == "Z" || t == "+00:00" || t == "UTC" {
        return Ok(FixedOffset::east_opt(0).unwrap());
    }
    let rule = "must be a UTC offset like +09:00";
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(FieldError::new(field, rule)),
    };
    let (h, m) = rest
        .split_once(':')
        .ok_or_else(|| FieldError::new(field, rule))?;
    let h: i32 = h.parse().map_err(|_| FieldError::new(field, rule))?;
    let m: i32 = m.parse().map_err(|_| FieldError::new(field, rule))?;
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return Err(FieldError::new(field, rule));
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or_else(|| FieldError::new(field, rule))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> FixedOffset {
        FixedOffset::east_opt(0).unwrap()
    }

    #[test]
    fn month_bounds_cover_the_whole_last_day() {
        let m = Month::parse("month", "202607").unwrap();
        let end = m.end_ms(utc());
        assert_eq!(format_rfc3339(end), "2026-07-31T23:59:59.999Z");
        assert_eq!(format_rfc3339(m.start_ms(utc())), "2026-07-01T00:00:00Z");
        let feb = Month::parse("month", "202402").unwrap();
        assert_eq!(
            format_rfc3339(feb.end_ms(utc())),
            "2024-02-29T23:59:59.999Z"
        );
    }

    #[test]
    fn month_of_uses_the_business_offset() {
        let seoul = parse_offset("tz", "+09:00").unwrap();
        let ms = parse_datetime("d", "2026-06-30T16:00:00Z").unwrap();
        assert_eq!(Month::of(ms, utc()).to_string(), "202606");
        assert_eq!(Month::of(ms, seoul).to_string(), "202607");
    }

    #[test]
    fn month_parse_refuses_bad_forms() {
        for bad in ["2026-10", "202613", "202600", "20261", "abcdef", ""] {
            assert!(Month::parse("month", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_parse_rfc3339_and_the_original_form() {
        let a = parse_datetime("d", "2020-07-13T05:20:11.123+0000").unwrap();
        let b = parse_datetime("d", "2020-07-13T05:20:11.123Z").unwrap();
        assert_eq!(a, b);
        assert!(parse_datetime("d", "yesterday").is_err());
    }
}
