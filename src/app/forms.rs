//! The write forms (join, deal, withdraw, settle): `tui-input` fields validated on every
//! keystroke by the domain's own parsers, each field error shown beside its field. A form
//! turns into a `Command` only when the parser accepts it; it never validates by itself.

use tui_input::Input;

use crate::domain::{
    BillingRequest, Command, DealDraft, DealRequest, FieldErrors, MemberDraft, MemberId,
    MerchantId, Month, NewMember,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    Join,
    Deal,
    Withdraw,
    Settle,
}

#[derive(Debug, Clone)]
pub struct Field {
    /// The field name the domain parser uses in its errors (`memberId`, `dealAmount`...).
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub input: Input,
    pub error: Option<String>,
}

impl Field {
    fn new(name: &'static str, label: &'static str, hint: &'static str, value: &str) -> Field {
        Field {
            name,
            label,
            hint,
            input: Input::new(value.to_string()),
            error: None,
        }
    }
    pub fn value(&self) -> &str {
        self.input.value()
    }
}

#[derive(Debug, Clone)]
pub struct Form {
    pub kind: FormKind,
    pub title: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// Errors for fields this form does not show (none expected, but never lost).
    pub other_errors: Vec<String>,
    /// Shown once the user has typed or tried to submit: no red on a fresh form.
    pub touched: bool,
}

impl Form {
    fn new(kind: FormKind, title: &str, fields: Vec<Field>) -> Form {
        Form {
            kind,
            title: title.to_string(),
            fields,
            focus: 0,
            other_errors: Vec::new(),
            touched: false,
        }
    }

    pub fn join() -> Form {
        Form::new(
            FormKind::Join,
            "Join a member",
            vec![
                Field::new("name", "Name", "1 to 100 characters", ""),
                Field::new("phone", "Phone", "digits, spaces, + and - (optional)", ""),
                Field::new("address", "Address", "optional", ""),
            ],
        )
    }

    pub fn deal(member: Option<MemberId>) -> Form {
        let m = member.map(|m| m.to_string()).unwrap_or_default();
        let mut f = Form::new(
            FormKind::Deal,
            "New deal",
            vec![
                Field::new("type", "Type", "save, use or cancel", "save"),
                Field::new("memberId", "Member", "member id (save, use)", &m),
                Field::new("merchantId", "Merchant", "merchant id (save, use)", ""),
                Field::new(
                    "dealAmount",
                    "Amount",
                    "whole units (save; optional for use)",
                    "",
                ),
                Field::new("point", "Points", "points to pay, 2 decimals (use)", ""),
                Field::new(
                    "originalDealId",
                    "Original",
                    "deal id to cancel (cancel)",
                    "",
                ),
                Field::new("dealDate", "Date", "RFC 3339, blank for now", ""),
            ],
        );
        f.focus = if member.is_some() { 2 } else { 0 };
        f
    }

    pub fn cancel(original: crate::domain::DealId) -> Form {
        let mut f = Form::deal(None);
        f.fields[0].input = Input::new("cancel".into());
        f.fields[5].input = Input::new(original.to_string());
        f.focus = 6;
        f
    }

    pub fn withdraw(member: Option<MemberId>) -> Form {
        let m = member.map(|m| m.to_string()).unwrap_or_default();
        Form::new(
            FormKind::Withdraw,
            "Withdraw a member",
            vec![Field::new("memberId", "Member", "member id", &m)],
        )
    }

    pub fn settle(merchant: Option<MerchantId>, month: Month) -> Form {
        let m = merchant.map(|m| m.to_string()).unwrap_or_default();
        Form::new(
            FormKind::Settle,
            "Run a settlement",
            vec![
                Field::new("merchantId", "Merchant", "merchant id", &m),
                Field::new(
                    "billingMonth",
                    "Month",
                    "YYYYMM, not in the future",
                    &month.to_string(),
                ),
            ],
        )
    }

    fn value(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value().to_string())
            .unwrap_or_default()
    }

    fn optional(&self, name: &str) -> Option<String> {
        Some(self.value(name)).filter(|v| !v.trim().is_empty())
    }

    /// Runs the domain parser over the fields as typed: the command, or every field error.
    pub fn parse(&self) -> Result<Command, FieldErrors> {
        match self.kind {
            FormKind::Join => NewMember::parse(&MemberDraft {
                name: self.value("name"),
                phone: self.optional("phone"),
                address: self.optional("address"),
            })
            .map(Command::Join),
            FormKind::Deal => DealRequest::parse(&DealDraft {
                kind: self.value("type"),
                member: self.value("memberId"),
                merchant: self.value("merchantId"),
                amount: self.value("dealAmount"),
                points: self.value("point"),
                original: self.value("originalDealId"),
                date: self.value("dealDate"),
            })
            .map(Command::Deal),
            FormKind::Withdraw => MemberId::parse("memberId", &self.value("memberId"))
                .map(Command::Withdraw)
                .map_err(FieldErrors::from),
            FormKind::Settle => {
                BillingRequest::parse(&self.value("merchantId"), &self.value("billingMonth"))
                    .map(Command::Bill)
            }
        }
    }

    /// Validates and puts each error beside its field. Returns the command when valid.
    pub fn validate(&mut self) -> Option<Command> {
        for f in &mut self.fields {
            f.error = None;
        }
        self.other_errors.clear();
        match self.parse() {
            Ok(c) => Some(c),
            Err(errs) => {
                for e in errs.0 {
                    match self.fields.iter_mut().find(|f| f.name == e.field) {
                        Some(f) if f.error.is_none() => f.error = Some(e.rule),
                        Some(_) => {}
                        None => self.other_errors.push(e.to_string()),
                    }
                }
                None
            }
        }
    }

    pub fn error_count(&self) -> usize {
        self.fields.iter().filter(|f| f.error.is_some()).count() + self.other_errors.len()
    }

    pub fn focus_next(&mut self, forward: bool) {
        let n = self.fields.len();
        self.focus = if forward {
            (self.focus + 1) % n
        } else {
            (self.focus + n - 1) % n
        };
    }

    pub fn focused_input(&mut self) -> &mut Input {
        &mut self.fields[self.focus].input
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Amount, CancelKind, DealId};

    fn set(f: &mut Form, name: &str, v: &str) {
        let field = f.fields.iter_mut().find(|x| x.name == name).unwrap();
        field.input = Input::new(v.to_string());
    }

    #[test]
    fn deal_form_puts_each_parser_error_beside_its_field() {
        let mut f = Form::deal(None);
        set(&mut f, "memberId", "abc");
        set(&mut f, "dealAmount", "-5");
        assert!(f.validate().is_none());
        let err = |n: &str| f.fields.iter().find(|x| x.name == n).unwrap().error.clone();
        assert_eq!(
            err("memberId").as_deref(),
            Some("must be a positive whole number")
        );
        assert!(err("dealAmount").is_some());
        assert_eq!(err("merchantId").as_deref(), Some("is required"));
        assert!(err("type").is_none());
    }

    #[test]
    fn a_valid_save_becomes_the_core_command() {
        let mut f = Form::deal(Some(MemberId(7)));
        set(&mut f, "merchantId", "3");
        set(&mut f, "dealAmount", "25000");
        match f.validate() {
            Some(Command::Deal(DealRequest::Save { member, amount, .. })) => {
                assert_eq!(member, MemberId(7));
                assert_eq!(amount, Amount(25_000));
            }
            other => panic!("not a save: {other:?}"),
        }
    }

    #[test]
    fn cancel_form_names_the_original() {
        let mut f = Form::cancel(DealId(12));
        assert!(matches!(
            f.validate(),
            Some(Command::Deal(DealRequest::Cancel {
                original: DealId(12),
                kind: CancelKind::Any,
                ..
            }))
        ));
    }

    #[test]
    fn join_form_refuses_control_characters_in_the_name() {
        let mut f = Form::join();
        set(&mut f, "name", "Kim\u{7}");
        assert!(f.validate().is_none());
        assert!(f.fields[0].error.as_deref().unwrap().contains("control"));
        set(&mut f, "name", "김민지");
        assert!(matches!(f.validate(), Some(Command::Join(_))));
    }

    #[test]
    fn settle_form_checks_the_month() {
        let mut f = Form::settle(Some(MerchantId(3)), Month::from_code(202610));
        assert!(f.validate().is_some());
        set(&mut f, "billingMonth", "2026-10");
        assert!(f.validate().is_none());
        assert!(f.fields[1].error.as_deref().unwrap().contains("YYYYMM"));
    }
}
