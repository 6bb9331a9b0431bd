//! How values read on screen: dates in UTC, short relative ages, right-aligned points.

use chrono::{TimeZone, Utc};

use crate::domain::Millis;

pub fn date_time(ms: Millis) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => "-".into(),
    }
}

pub fn date(ms: Millis) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => "-".into(),
    }
}

pub fn time(ms: Millis) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%H:%M:%S").to_string(),
        None => "-".into(),
    }
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
}
