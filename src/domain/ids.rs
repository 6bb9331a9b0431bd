//! Identifier newtypes and their one parser each. Ids are positive integers, accepted with
//! leading zeros (`7` or `0007`), as the original services accepted them.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::FieldError;

macro_rules! id_type {
    ($name:ident, $what:literal) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// Parses `7` or `0007`; the field name goes into the error.
            pub fn parse(field: &str, text: &str) -> Result<$name, FieldError> {
                parse_id(field, text).map($name)
            }
            pub fn get(self) -> u64 {
                self.0
            }
            pub const WHAT: &'static str = $what;
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

id_type!(MemberId, "member");
id_type!(MerchantId, "merchant");
id_type!(DealId, "deal");
id_type!(BillingId, "billing");

/// The largest id accepted (keeps ids exact as JSON doubles in other clients).
pub const MAX_ID: u64 = (1 << 53) - 1;

pub fn parse_id(field: &str, text: &str) -> Result<u64, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(field, "must be a positive whole number"));
    }
    let digits = t.trim_start_matches('0');
    if digits.is_empty() {
        return Err(FieldError::new(field, "must be greater than 0"));
    }
    if digits.len() > 16 {
        return Err(FieldError::new(field, "is too large"));
    }
    let v: u64 = digits
        .parse()
        .map_err(|_| FieldError::new(field, "must be a positive whole number"))?;
    if v > MAX_ID {
        return Err(FieldError::new(field, "is too large"));
    }
    Ok(v)
}

/// Checks a numeric id given as a JSON number.
pub fn id_from_u64(field: &str, v: u64) -> Result<u64, FieldError> {
    if v == 0 {
        return Err(FieldError::new(field, "must be greater than 0"));
    }
    if v > MAX_ID {
        return Err(FieldError::new(field, "is too large"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_leading_zeros() {
        assert_eq!(MemberId::parse("memberId", "0007").unwrap(), MemberId(7));
        assert_eq!(MemberId::parse("memberId", " 12 ").unwrap(), MemberId(12));
    }

    #[test]
    fn ids_refuse_zero_negative_and_words() {
        for bad in ["0", "000", "-1", "abc", "", "1.0", "99999999999999999999"] {
            let e = MemberId::parse("memberId", bad).unwrap_err();
            assert_eq!(e.field, "memberId");
        }
    }
}
