//! How values read on screen: times in the store's business zone, short relative ages,
//! points with two decimals and thousands separators, amounts with separators, compact
//! units for charts, and plurals.

use chrono::{FixedOffset, TimeZone};

use crate::domain::{Millis, Points};

fn local(ms: Millis, zone: FixedOffset) -> Option<chrono::DateTime<FixedOffset>> {
    zone.timestamp_millis_opt(ms).single()
}

/// `2026-11-22 18:00` in the business zone.
pub fn date_time_in(ms: Millis, zone: FixedOffset) -> String {
    local(ms, zone).map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// `2026-11-22` in the business zone.
pub fn date_in(ms: Millis, zone: FixedOffset) -> String {
    local(ms, zone).map_or("-".into(), |t| t.format("%Y-%m-%d").to_string())
}

/// `18:00:05` in the business zone.
pub fn time_in(ms: Millis, zone: FixedOffset) -> String {
    local(ms, zone).map_or("-".into(), |t| t.format("%H:%M:%S").to_string())
}

/// `3s`, `5m`, `2h`, `4d` before `now`.
pub fn age(now: Millis, then: Millis) -> String {
    let s = (now - then).max(0) / 1000;
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86_400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}

/// `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Points always with two decimals and separators: `12,345.50`, `-3.00`.
pub fn points(p: Points) -> String {
    let h = p.hundredths();
    let sign = if h < 0 { "-" } else { "" };
    let a = h.unsigned_abs();
    format!("{sign}{}.{:02}", thousands(a / 100), a % 100)
}

/// Compact units for chart labels: `950`, `60k`, `1.2M`, `3.4B`.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    let (x, unit) = if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        return format!("{v:.0}");
    };
    if x.abs() >= 10.0 {
        format!("{x:.0}{unit}")
    } else {
        let s = format!("{x:.1}");
        format!("{}{unit}", s.trim_end_matches(".0"))
    }
}

/// `1 deal`, `2 deals`, `1,000 deals`.
pub fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {one}s", thousands(n))
    }
}

/// Pads (or cuts) to `cols` terminal columns: Korean letters take two.
pub fn pad(text: &str, cols: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    let mut s = String::new();
    let mut w = 0;
    for c in text.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw > cols {
            break;
        }
        s.push(c);
        w += cw;
    }
    let used = s.width();
    s.push_str(&" ".repeat(cols.saturating_sub(used)));
    s
}

/// Cuts to `max` characters with an ellipsis (names may be long or wide).
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_the_largest_unit() {
        assert_eq!(age(10_000, 5_000), "5s ago");
        assert_eq!(age(3_600_000 * 5, 0), "5h ago");
        assert_eq!(age(86_400_000 * 3, 0), "3d ago");
        assert_eq!(clip("안녕하세요", 3), "안녕…");
        assert_eq!(pad("안녕하세요", 5), "안녕 ");
        assert_eq!(pad("ab", 4), "ab  ");
    }

    #[test]
    fn numbers_read_with_separators_and_two_decimals() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(4_268_184), "4,268,184");
        assert_eq!(points(Points(4_920_090)), "49,200.90");
        assert_eq!(points(Points(1_234_550)), "12,345.50");
        assert_eq!(points(Points(-300)), "-3.00");
        assert_eq!(points(Points(5)), "0.05");
        assert_eq!(compact(60_000.0), "60k");
        assert_eq!(compact(1_200_000.0), "1.2M");
        assert_eq!(compact(2_000_000.0), "2M");
        assert_eq!(compact(950.0), "950");
        assert_eq!(plural(1, "deal"), "1 deal");
        assert_eq!(plural(1_200, "deal"), "1,200 deals");
    }

    #[test]
    fn times_read_in_the_business_zone() {
        let kst = FixedOffset::east_opt(9 * 3600).unwrap();
        // 2026-11-29T16:00:00Z is 01:00 the next day in Seoul.
        let ms = 1_795_968_000_000;
        assert_eq!(date_time_in(ms, kst), "2026-11-30 01:00");
        assert_eq!(date_in(ms, FixedOffset::east_opt(0).unwrap()), "2026-11-29");
    }
}
