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
    /// A pick-list (`←`/`→` or Space cycle it; typing a letter picks the first that
    /// starts with it), or empty for free text.
    pub choices: &'static [&'static str],
}

/// The deal types the form offers, as the parser spells them.
pub const DEAL_TYPES: [&str; 3] = ["save", "use", "cancel"];

impl Field {
    fn new(name: &'static str, label: &'static str, hint: &'static str, value: &str) -> Field {
        Field {
            name,
            label,
            hint,
            input: Input::new(value.to_string()),
            error: None,
            choices: &[],
        }
    }

    fn pick(mut self, choices: &'static [&'static str]) -> Field {
        self.choices = choices;
        self
    }

    /// Moves a pick-list to the next (or previous) choice.
    pub fn cycle(&mut self, forward: bool) {
        let n = self.choices.len();
        if n == 0 {
            return;
        }
        let i = self
            .choices
            .iter()
            .position(|c| *c == self.value())
            .unwrap_or(0);
        let j = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.input = Input::new(self.choices[j].to_string());
    }

    /// Picks the first choice starting with `c`; false when none does.
    pub fn pick_letter(&mut self, c: char) -> bool {
        match self.choices.iter().find(|x| x.starts_with(c)) {
            Some(x) => {
                self.input = Input::new(x.to_string());
                true
            }
            None => false,
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
    /// Each field's note (`notes`), computed by `update` after every change, not per frame:
    /// what the view shows under the field.
    pub shown_notes: Vec<Option<String>>,
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
            shown_notes: Vec::new(),
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
                Field::new("type", "Type", "←/→ save, use or cancel", "save").pick(&DEAL_TYPES),
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

    pub fn focused(&mut self) -> &mut Field {
        &mut self.fields[self.focus]
    }

    /// What each field's value means, from what the console has read (names, rates,
    /// balances, the deal a cancel reverses): shown under the field as it is typed.
    pub fn notes(&self, s: &crate::app::state::State) -> Vec<Option<String>> {
        use crate::views::format::points;
        let member = MemberId::parse("memberId", &self.value("memberId")).ok();
        let merchant = MerchantId::parse("merchantId", &self.value("merchantId")).ok();
        let kind = self.value("type");
        self.fields
            .iter()
            .map(|f| match (self.kind, f.name) {
                (FormKind::Deal | FormKind::Withdraw, "memberId") => {
                    member.map(|m| match s.member_names.get(&m) {
                        Some(n) => match s.member_points.get(&m) {
                            Some(p) => format!("→ {n} · balance {}", points(*p)),
                            None => format!("→ {n}"),
                        },
                        None if s.unknown_members.contains(&m) => format!("no member {m}"),
                        None => "→ looking up…".to_string(),
                    })
                }
                (FormKind::Deal | FormKind::Settle, "merchantId") => {
                    merchant.map(|m| match s.merchant_names.get(&m) {
                        Some(n) => {
                            let rate = s.merchant_rates.get(&m).copied().unwrap_or(0);
                            format!(
                                "→ {n} · earns {}%",
                                crate::domain::BasisPoints(rate).as_percent()
                            )
                        }
                        None => "→ unknown merchant: defaults apply".to_string(),
                    })
                }
                (FormKind::Deal, "dealAmount") if kind == "save" => {
                    let amount = crate::domain::Amount::parse("dealAmount", f.value()).ok()?;
                    let rate = merchant.and_then(|m| s.merchant_rates.get(&m))?;
                    Some(format!(
                        "earns {} points at this merchant",
                        points(crate::domain::BasisPoints(*rate).earn(amount))
                    ))
                }
                (FormKind::Deal, "point") if kind == "use" => {
                    let p = crate::domain::Points::parse_positive("point", f.value()).ok()?;
                    let have = member.and_then(|m| s.member_points.get(&m))?;
                    Some(if p.0 <= have.0 {
                        format!(
                            "balance after: {}",
                            points(crate::domain::Points(have.0 - p.0))
                        )
                    } else {
                        format!(
                            "short by {}: will be recorded as failed",
                            points(crate::domain::Points(p.0 - have.0))
                        )
                    })
                }
                (FormKind::Deal, "originalDealId") if kind == "cancel" => {
                    let id = crate::domain::DealId::parse("originalDealId", f.value()).ok()?;
                    Some(match &s.form_original {
                        Some(d) if d.id == id => match crate::app::confirms::why_not_cancellable(d)
                        {
                            Some(why) => why,
                            None => format!(
                                "reverses the {} of {} points by member {} {}",
                                d.deal_type.as_str(),
                                points(d.point),
                                d.member_id,
                                s.member_label(d.member_id)
                            ),
                        },
                        _ => "→ looking up…".to_string(),
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// Reads the form needs to explain its values (a member's name and balance, the deal a
    /// cancel reverses), for ids not read yet.
    pub fn lookups(&self, s: &crate::app::state::State) -> Vec<crate::app::action::Effect> {
        use crate::app::action::{DealUse, Effect};
        let mut v = Vec::new();
        if let Ok(m) = MemberId::parse("memberId", &self.value("memberId"))
            && !s.member_points.contains_key(&m)
            && !s.unknown_members.contains(&m)
        {
            v.push(Effect::LoadNames(vec![m]));
        }
        if self.kind == FormKind::Deal
            && self.value("type") == "cancel"
            && let Ok(d) =
                crate::domain::DealId::parse("originalDealId", &self.value("originalDealId"))
            && s.form_original.as_ref().is_none_or(|o| o.id != d)
        {
            v.push(Effect::FetchDeal(d, DealUse::Echo));
        }
        v
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

#[cfg(test)]
mod note_tests {
    use super::*;
    use crate::app::state::State;
    use crate::domain::{Month, Points};

    fn set(f: &mut Form, name: &str, v: &str) {
        let field = f.fields.iter_mut().find(|x| x.name == name).unwrap();
        field.input = Input::new(v.to_string());
    }

    fn state() -> State {
        let mut s = State::new(0, Month::from_code(202611), Default::default());
        s.member_names.insert(MemberId(7), "김민준".into());
        s.member_points.insert(MemberId(7), Points(50_000));
        s.merchant_names.insert(MerchantId(3), "Green Mart".into());
        s.merchant_rates.insert(MerchantId(3), 500);
        s
    }

    fn note(f: &Form, s: &State, name: &str) -> Option<String> {
        let i = f.fields.iter().position(|x| x.name == name).unwrap();
        f.notes(s)[i].clone()
    }

    #[test]
    fn the_deal_type_is_a_pick_list() {
        let mut f = Form::deal(None);
        assert_eq!(f.fields[0].value(), "save");
        f.fields[0].cycle(true);
        assert_eq!(f.fields[0].value(), "use");
        f.fields[0].cycle(false);
        f.fields[0].cycle(false);
        assert_eq!(f.fields[0].value(), "cancel");
        assert!(f.fields[0].pick_letter('u'));
        assert_eq!(f.fields[0].value(), "use");
        assert!(!f.fields[0].pick_letter('x'));
        assert_eq!(f.fields[0].value(), "use");
    }

    #[test]
    fn ids_are_echoed_with_names_and_a_save_with_the_merchants_own_rate() {
        let s = state();
        let mut f = Form::deal(Some(MemberId(7)));
        set(&mut f, "merchantId", "3");
        set(&mut f, "dealAmount", "20000");
        assert_eq!(
            note(&f, &s, "memberId").as_deref(),
            Some("→ 김민준 · balance 500.00")
        );
        assert_eq!(
            note(&f, &s, "merchantId").as_deref(),
            Some("→ Green Mart · earns 5%")
        );
        // 5% of 20,000, not the default 1%.
        assert_eq!(
            note(&f, &s, "dealAmount").as_deref(),
            Some("earns 1,000.00 points at this merchant")
        );
        set(&mut f, "merchantId", "9");
        assert_eq!(
            note(&f, &s, "merchantId").as_deref(),
            Some("→ unknown merchant: defaults apply")
        );
    }

    #[test]
    fn a_use_shows_the_balance_after_or_the_shortfall() {
        let s = state();
        let mut f = Form::deal(Some(MemberId(7)));
        set(&mut f, "type", "use");
        set(&mut f, "merchantId", "3");
        set(&mut f, "point", "120.5");
        assert_eq!(
            note(&f, &s, "point").as_deref(),
            Some("balance after: 379.50")
        );
        set(&mut f, "point", "600");
        assert_eq!(
            note(&f, &s, "point").as_deref(),
            Some("short by 100.00: will be recorded as failed")
        );
    }

    #[test]
    fn an_unknown_member_is_looked_up_once_then_named_missing() {
        let mut s = state();
        let mut f = Form::deal(Some(MemberId(8)));
        set(&mut f, "merchantId", "3");
        assert_eq!(
            f.lookups(&s),
            vec![crate::app::action::Effect::LoadNames(vec![MemberId(8)])]
        );
        s.unknown_members.insert(MemberId(8));
        assert!(f.lookups(&s).is_empty());
        assert_eq!(note(&f, &s, "memberId").as_deref(), Some("no member 8"));
    }
}
