//! The `:` command palette: named commands with arguments (`member 7`, `cancel 12`,
//! `theme mono`, `rate 20`), listed as you type. Arguments go through the domain parsers.

use super::forms::Form;
use super::keymap::KeyAction;
use super::state::{Modal, PaletteEntry, State, StatusKind, Tab, ThemeName};
use crate::domain::{DealId, MemberId};

/// (command, arguments, what it does)
pub const COMMANDS: &[(&str, &str, &str)] = &[
    ("join", "", "join a member (form)"),
    ("deal", "[MEMBER]", "place a deal (form)"),
    ("cancel", "DEAL", "cancel a deal (confirm)"),
    ("withdraw", "[MEMBER]", "withdraw a member (form)"),
    ("settle", "[MERCHANT]", "run a settlement (form)"),
    (
        "member",
        "ID|NAME",
        "open a member's analysis (by id, or find by name)",
    ),
    ("deals", "FILTER", "deals, e.g. member:7 type:use"),
    ("members", "", "Members tab"),
    ("points", "", "Points tab"),
    ("billing", "", "Billing tab"),
    ("events", "", "Events tab"),
    ("theme", "dark|light|mono", "switch the theme"),
    ("mouse", "", "mouse on/off"),
    ("rate", "OPS", "demo: traffic per second"),
    ("help", "", "the keys"),
    ("quit", "", "leave the console"),
];

/// The commands that write (hidden with `--read-only`).
pub const WRITES: [&str; 5] = ["join", "deal", "cancel", "withdraw", "settle"];

/// Commands whose name starts with the first word typed (writes left out when read-only).
pub fn matches(text: &str, read_only: bool) -> Vec<PaletteEntry> {
    let word = text.split_whitespace().next().unwrap_or("");
    COMMANDS
        .iter()
        .filter(|c| c.0.starts_with(word) && !(read_only && WRITES.contains(&c.0)))
        .collect()
}

/// What running a palette line asks of `update`.
pub enum Run {
    Done,
    Key(KeyAction),
    Filter(String),
    Rate(f64),
    Member(MemberId),
    /// Filter the Members tab by this name (or phone).
    FindMember(String),
}

pub fn run(s: &mut State, text: &str, selected: usize) -> Run {
    let mut words = text.split_whitespace();
    let typed = words.next().unwrap_or("");
    let arg: String = words.collect::<Vec<_>>().join(" ");
    let list = matches(typed, s.read_only);
    let name = if COMMANDS.iter().any(|c| c.0 == typed) {
        typed
    } else {
        match list.get(selected) {
            Some(c) => c.0,
            None => {
                s.say(StatusKind::Error, format!("no command {typed:?}; try help"));
                return Run::Done;
            }
        }
    };
    let writes = WRITES.contains(&name);
    if writes && s.read_only {
        s.say(
            StatusKind::Error,
            "read-only console (--read-only): writes are off",
        );
        return Run::Done;
    }
    let opt_member = || {
        if arg.is_empty() {
            Ok(None)
        } else {
            MemberId::parse("member", &arg).map(Some)
        }
    };
    match name {
        "join" => s.modal = Some(Modal::Form(Form::join())),
        "deal" => match opt_member() {
            Ok(m) => s.modal = Some(Modal::Form(Form::deal(m))),
            Err(e) => s.say(StatusKind::Error, e.to_string()),
        },
        "withdraw" => match opt_member() {
            Ok(m) => s.modal = Some(Modal::Form(Form::withdraw(m))),
            Err(e) => s.say(StatusKind::Error, e.to_string()),
        },
        "cancel" => match DealId::parse("deal", &arg) {
            Ok(d) => s.modal = Some(Modal::Form(Form::cancel(d))),
            Err(e) => s.say(StatusKind::Error, e.to_string()),
        },
        "settle" => {
            let m = crate::domain::MerchantId::parse("merchant", &arg).ok();
            s.modal = Some(Modal::Form(Form::settle(m, s.billing.month)));
        }
        "member" if arg.trim().is_empty() => {
            s.say(StatusKind::Error, "member: give an id or a name");
        }
        "member" => match MemberId::parse("member", &arg) {
            Ok(m) => return Run::Member(m),
            // Not an id: find the name on the Members tab.
            Err(_) => return Run::FindMember(arg),
        },
        "deals" => {
            s.tab = Tab::Deals;
            return Run::Filter(arg);
        }
        "members" | "points" | "billing" | "events" => {
            if let Some(t) = Tab::parse(name) {
                return Run::Key(KeyAction::GoTab(t));
            }
        }
        "theme" => match ThemeName::parse(&arg) {
            Some(t) => s.theme = t,
            None => s.say(StatusKind::Error, "theme must be dark, light or mono"),
        },
        "mouse" => return Run::Key(KeyAction::Mouse),
        "rate" => match arg.parse::<f64>() {
            Ok(r) if (0.0..=100_000.0).contains(&r) => return Run::Rate(r),
            _ => s.say(StatusKind::Error, "rate must be a number from 0 to 100000"),
        },
        "help" => s.modal = Some(Modal::Help { scroll: 0 }),
        "quit" => s.quit = true,
        _ => {}
    }
    Run::Done
}
