//! Money and points as integers: `Points` in hundredths of a point, `Amount` in whole
//! currency units, `BasisPoints` for rates. Never floating point in the core; `f64` appears
//! only at the JSON edge, where the wire carries points as numbers.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::{Error, FieldError};

/// Largest deal amount accepted (whole currency units).
pub const MAX_AMOUNT: u64 = 1_000_000_000_000;
/// Largest number of points a single `use` may name (10^12 points).
pub const MAX_POINTS_HUNDREDTHS: i64 = 100_000_000_000_000;
/// The most any points figure the store records may hold: a balance, a deal's points, a
/// forfeit, a member's running totals, a merchant's unbilled total, a billing amount
/// (10^13 points, 10^15 hundredths). A write that would take one past it is refused. The
/// bound keeps every figure exact on the wire, where JSON carries points as a double (exact
/// for integers of hundredths up to 2^53, about 9 x 10^15), and far from `i64`'s end, so
/// sums of many figures cannot wrap.
pub const MAX_BALANCE_HUNDREDTHS: i64 = 1_000_000_000_000_000;
/// The largest hundredths a JSON double carries exactly (2^53).
const JSON_EXACT_HUNDREDTHS: f64 = 9_007_199_254_740_992.0;

/// Points in hundredths (`123.45` points is `Points(12345)`). Signed so that a settlement
/// clawback can be negative; balances are never negative (invariant 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Points(pub i64);

impl Points {
    pub const ZERO: Points = Points(0);

    pub fn hundredths(self) -> i64 {
        self.0
    }

    pub fn from_whole(points: i64) -> Points {
        Points(points * 100)
    }

    /// The wire form: a JSON number with at most two decimals.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// Parses a user-typed number of points: positive, at most two decimals, plain digits
    /// (no exponent, no sign, no thousands separators), at most 10^12.
    pub fn parse_positive(field: &str, text: &str) -> Result<Points, FieldError> {
        let t = text.trim();
        let bad = |rule: &str| FieldError::new(field, rule);
        if t.is_empty() {
            return Err(bad("is required"));
        }
        let (int, frac) = match t.split_once('.') {
            Some((i, f)) => (i, f),
            None => (t, ""),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("must be a positive number with at most two decimals"));
        }
        if t.contains('.') && (frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit())) {
            return Err(bad("must be a positive number with at most two decimals"));
        }
        if frac.len() > 2 {
            return Err(bad("may have at most two decimals"));
        }
        // The value decides, not the length: "00000000000100" is 100.
        let int = int.trim_start_matches('0');
        let int = if int.is_empty() { "0" } else { int };
        if int.len() > 13 {
            return Err(bad("must be at most 1000000000000"));
        }
        let whole: i64 = int.parse().map_err(|_| bad("must be a number"))?;
        let mut cents = 0i64;
        for (i, b) in frac.bytes().enumerate() {
            cents += i64::from(b - b'0') * if i == 0 { 10 } else { 1 };
        }
        let p = whole * 100 + cents;
        if p <= 0 {
            return Err(bad("must be greater than 0"));
        }
        if p > MAX_POINTS_HUNDREDTHS {
            return Err(bad("must be at most 1000000000000"));
        }
        Ok(Points(p))
    }

    /// Converts a JSON double into points, refusing more than two decimals.
    pub fn from_f64(field: &str, v: f64) -> Result<Points, FieldError> {
        if !v.is_finite() {
            return Err(FieldError::new(field, "must be a finite number"));
        }
        let h = (v * 100.0).round();
        if (h - v * 100.0).abs() > 1e-6 * h.abs().max(1.0) {
            return Err(FieldError::new(field, "may have at most two decimals"));
        }
        if h.abs() > MAX_POINTS_HUNDREDTHS as f64 {
            return Err(FieldError::new(field, "must be at most 1000000000000"));
        }
        Ok(Points(h as i64))
    }
}

impl Points {
    /// `self + o`, `None` past `i64`.
    pub fn checked_add(self, o: Points) -> Option<Points> {
        self.0.checked_add(o.0).map(Points)
    }

    /// `self - o`, `None` past `i64`.
    pub fn checked_sub(self, o: Points) -> Option<Points> {
        self.0.checked_sub(o.0).map(Points)
    }

    /// Whether a recorded figure is within `MAX_BALANCE_HUNDREDTHS` (either sign).
    pub fn within_bound(self) -> bool {
        self.0.unsigned_abs() <= MAX_BALANCE_HUNDREDTHS as u64
    }

    /// `self + o` for a figure the store records: refused (naming `field`) past the bound.
    pub fn add_recorded(self, o: Points, field: &str) -> Result<Points, Error> {
        match self.checked_add(o) {
            Some(p) if p.within_bound() => Ok(p),
            _ => Err(Error::rule(field, &bound_rule())),
        }
    }
}

/// The rule a write breaks when it would take a figure past `MAX_BALANCE_HUNDREDTHS`.
pub fn bound_rule() -> String {
    format!(
        "would take a balance or total past {} points, the most the store records",
        Points(MAX_BALANCE_HUNDREDTHS)
    )
}

// The operators never wrap silently: the ledger keeps every figure within
// `MAX_BALANCE_HUNDREDTHS` (see `add_recorded`), so an overflow here is a bug, and it stops
// loudly instead of recording a wrapped number.
impl std::ops::Add for Points {
    type Output = Points;
    fn add(self, o: Points) -> Points {
        self.checked_add(o).expect("points overflow in +")
    }
}
impl std::ops::Sub for Points {
    type Output = Points;
    fn sub(self, o: Points) -> Points {
        self.checked_sub(o).expect("points overflow in -")
    }
}
impl std::ops::AddAssign for Points {
    fn add_assign(&mut self, o: Points) {
        *self = *self + o;
    }
}
impl std::ops::SubAssign for Points {
    fn sub_assign(&mut self, o: Points) {
        *self = *self - o;
    }
}
impl std::ops::Neg for Points {
    type Output = Points;
    fn neg(self) -> Points {
        Points(self.0.checked_neg().expect("points overflow in negation"))
    }
}
impl std::iter::Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        iter.fold(Points::ZERO, |a, b| a + b)
    }
}

/// Shows up to two decimals: `2623.45`, `2623.5`, `1000`.
impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let (w, c) = (a / 100, a % 100);
        let s = if c == 0 {
            format!("{sign}{w}")
        } else if c % 10 == 0 {
            format!("{sign}{w}.{}", c / 10)
        } else {
            format!("{sign}{w}.{c:02}")
        };
        f.pad(&s)
    }
}

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // JSON carries points as numbers (`123.45`); the store keeps exact hundredths.
        if s.is_human_readable() {
            s.serialize_f64(self.as_f64())
        } else {
            s.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            // A recorded figure (an event, a stored outcome, a server's answer), decoded as
            // a record: any value the store can hold reads back. Input limits are the
            // parsers' business (`parse_positive`, `from_f64`), never applied here.
            let v = f64::deserialize(d)?;
            let h = (v * 100.0).round();
            if !h.is_finite() || h.abs() > JSON_EXACT_HUNDREDTHS {
                return Err(serde::de::Error::custom(format!(
                    "points {v} are beyond what a record holds"
                )));
            }
            Ok(Points(h as i64))
        } else {
            i64::deserialize(d).map(Points)
        }
    }
}

/// A deal amount in whole currency units, 1 ..= 10^12 (0 only for a `use` without amount).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Amount(pub u64);

impl Amount {
    pub fn parse(field: &str, text: &str) -> Result<Amount, FieldError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if t.starts_with('-') {
            return Err(FieldError::new(field, "must be greater than 0"));
        }
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                field,
                "must be a whole number of currency units (digits only)",
            ));
        }
        // The value decides, not the length: "00000000000100" is 100.
        let digits = t.trim_start_matches('0');
        let t = if digits.is_empty() { "0" } else { digits };
        if t.len() > 13 {
            return Err(FieldError::new(field, "must be at most 1000000000000"));
        }
        let v: u64 = t
            .parse()
            .map_err(|_| FieldError::new(field, "must be a whole number"))?;
        Amount::new(field, v)
    }

    pub fn new(field: &str, v: u64) -> Result<Amount, FieldError> {
        if v == 0 {
            return Err(FieldError::new(field, "must be greater than 0"));
        }
        if v > MAX_AMOUNT {
            return Err(FieldError::new(field, "must be at most 1000000000000"));
        }
        Ok(Amount(v))
    }

    pub fn from_f64(field: &str, v: f64) -> Result<Amount, FieldError> {
        if !v.is_finite() || v.fract() != 0.0 {
            return Err(FieldError::new(field, "must be a whole number"));
        }
        if v <= 0.0 {
            return Err(FieldError::new(field, "must be greater than 0"));
        }
        if v > MAX_AMOUNT as f64 {
            return Err(FieldError::new(field, "must be at most 1000000000000"));
        }
        Ok(Amount(v as u64))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A rate in basis points (100 bp = 1%).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BasisPoints(pub u32);

impl BasisPoints {
    /// Parses a percentage such as `1`, `1.5` or `0.25` (at most two decimals, 0 ..= 100).
    pub fn parse_percent(field: &str, text: &str) -> Result<BasisPoints, FieldError> {
        let t = text.trim();
        let rule = "must be a percentage from 0 to 100 with at most two decimals";
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 2
            || int.len() > 3
            || (t.contains('.') && frac.is_empty())
        {
            return Err(FieldError::new(field, rule));
        }
        let whole: u32 = int.parse().map_err(|_| FieldError::new(field, rule))?;
        let mut f = 0u32;
        for (i, b) in frac.bytes().enumerate() {
            f += u32::from(b - b'0') * if i == 0 { 10 } else { 1 };
        }
        let bp = whole * 100 + f;
        if bp > 10_000 {
            return Err(FieldError::new(field, rule));
        }
        Ok(BasisPoints(bp))
    }

    /// Points earned on `amount`: floor(amount x rate), in hundredths.
    pub fn earn(self, amount: Amount) -> Points {
        // amount <= 10^12 and rate <= 10^4, so the product fits i64 (and u128 keeps it obvious).
        let h = (u128::from(amount.0) * u128::from(self.0)) / 100;
        Points(h as i64)
    }

    /// `net x (1 - self)`, rounded half away from zero to hundredths.
    pub fn net_of_commission(self, net: Points) -> Points {
        let keep = 10_000i128 - i128::from(self.0);
        let x = i128::from(net.0) * keep;
        let q = x / 10_000;
        let r = x % 10_000;
        let adj = if r.abs() * 2 >= 10_000 { x.signum() } else { 0 };
        Points((q + adj) as i64)
    }

    pub fn as_percent(self) -> String {
        Points(i64::from(self.0)).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_percent_of_250000_is_2500_points() {
        assert_eq!(BasisPoints(100).earn(Amount(250_000)), Points(250_000));
        assert_eq!(Points(250_000).to_string(), "2500");
    }

    #[test]
    fn one_percent_of_12345_is_123_45() {
        assert_eq!(BasisPoints(100).earn(Amount(12_345)), Points(12_345));
        assert_eq!(Points(12_345).to_string(), "123.45");
    }

    #[test]
    fn earning_floors_to_hundredths() {
        // 1.5% of 1 unit = 0.015 points -> 0.01
        assert_eq!(BasisPoints(150).earn(Amount(1)), Points(1));
        assert_eq!(BasisPoints(100).earn(Amount(1)), Points(1));
        assert_eq!(BasisPoints(1).earn(Amount(99)), Points(0));
    }

    #[test]
    fn settlement_keeps_98_percent_rounded_half_up() {
        assert_eq!(
            BasisPoints(200).net_of_commission(Points(50_000)),
            Points(49_000)
        );
        // 0.25 * 0.98 = 0.245 -> 0.25 (half up)
        assert_eq!(BasisPoints(200).net_of_commission(Points(25)), Points(25));
        assert_eq!(BasisPoints(200).net_of_commission(Points(-25)), Points(-25));
        assert_eq!(
            BasisPoints(200).net_of_commission(Points(-10_000)),
            Points(-9_800)
        );
    }

    #[test]
    fn points_parse_accepts_two_decimals_and_refuses_three() {
        assert_eq!(
            Points::parse_positive("points", "300").unwrap(),
            Points(30_000)
        );
        assert_eq!(Points::parse_positive("points", "0.5").unwrap(), Points(50));
        assert_eq!(
            Points::parse_positive("points", "12.34").unwrap(),
            Points(1234)
        );
        for bad in [
            "1.234", "1e5", "-1", "0", "0.00", "", "abc", "1.", ".5", "1,000",
        ] {
            let e = Points::parse_positive("points", bad).unwrap_err();
            assert_eq!(e.field, "points", "{bad}");
        }
    }

    #[test]
    fn amount_parse_refuses_zero_negative_fraction_huge_and_exponent() {
        assert_eq!(Amount::parse("amount", "100000").unwrap(), Amount(100_000));
        assert_eq!(
            Amount::parse("amount", "1000000000000").unwrap(),
            Amount(MAX_AMOUNT)
        );
        for bad in [
            "0",
            "-5",
            "1.5",
            "1000000000001",
            "1e5",
            "",
            "99999999999999999999",
        ] {
            assert!(Amount::parse("amount", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_are_judged_by_value_not_length() {
        assert_eq!(
            Amount::parse("dealAmount", "00000000000100").unwrap(),
            Amount(100)
        );
        assert_eq!(
            Amount::parse("dealAmount", "0001000000000000").unwrap(),
            Amount(MAX_AMOUNT)
        );
        assert!(Amount::parse("dealAmount", "0001000000000001").is_err());
        assert!(Amount::parse("dealAmount", "0000").is_err());
        assert_eq!(
            Points::parse_positive("point", "00000000000100.5").unwrap(),
            Points(10_050)
        );
        assert!(Points::parse_positive("point", "000.00").is_err());
    }

    #[test]
    fn recorded_points_read_back_past_the_input_limit() {
        // A balance of 10^13 points is past what one use may name but a record holds it.
        let big = Points(MAX_BALANCE_HUNDREDTHS);
        let json = serde_json::to_string(&big).unwrap();
        let back: Points = serde_json::from_str(&json).unwrap();
        assert_eq!(back, big);
        let odd = Points(MAX_BALANCE_HUNDREDTHS - 1);
        let back: Points = serde_json::from_str(&serde_json::to_string(&odd).unwrap()).unwrap();
        assert_eq!(back, odd);
    }

    #[test]
    fn recorded_figures_stop_at_the_bound() {
        let max = Points(MAX_BALANCE_HUNDREDTHS);
        assert_eq!(
            Points(MAX_BALANCE_HUNDREDTHS - 5)
                .add_recorded(Points(5), "x")
                .unwrap(),
            max
        );
        assert!(max.add_recorded(Points(1), "dealAmount").is_err());
        assert!(Points(i64::MAX).add_recorded(Points(1), "x").is_err());
        assert_eq!(Points(i64::MAX).checked_add(Points(1)), None);
    }

    #[test]
    #[should_panic(expected = "points overflow")]
    fn points_arithmetic_never_wraps() {
        let _ = Points(i64::MAX) + Points(1);
    }

    #[test]
    fn points_display_shows_up_to_two_decimals() {
        assert_eq!(Points(262_345).to_string(), "2623.45");
        assert_eq!(Points(262_350).to_string(), "2623.5");
        assert_eq!(Points(-980).to_string(), "-9.8");
        assert_eq!(Points(5).to_string(), "0.05");
    }

    #[test]
    fn from_f64_refuses_three_decimals() {
        assert_eq!(Points::from_f64("point", 123.45).unwrap(), Points(12_345));
        assert!(Points::from_f64("point", 1.234).is_err());
        assert!(Points::from_f64("point", f64::NAN).is_err());
    }

    #[test]
    fn percent_parses_to_basis_points() {
        assert_eq!(
            BasisPoints::parse_percent("earnRate", "1").unwrap(),
            BasisPoints(100)
        );
        assert_eq!(
            BasisPoints::parse_percent("earnRate", "2.5").unwrap(),
            BasisPoints(250)
        );
        assert!(BasisPoints::parse_percent("earnRate", "101").is_err());
        assert!(BasisPoints::parse_percent("earnRate", "-1").is_err());
        assert!(BasisPoints::parse_percent("earnRate", "1.234").is_err());
    }
}
