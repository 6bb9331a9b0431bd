//! Whole-screen snapshots of the console (insta + ratatui's TestBackend): every tab, the
//! member analysis, the help overlay, each form with field errors, the confirm dialogs and
//! the too-small screen; at 80x24 and 200x50 as text, and at 80x24 with styles in the dark
//! and mono themes. Fixed data, fixed clock; no store.

mod console_support;

use console_support::{deal, member, render, state, with_analysis};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use onepoint::app::action::Action;
use onepoint::app::confirms;
use onepoint::app::state::{State, Tab, ThemeName};
use onepoint::app::update::update;

const SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];

fn press(s: &mut State, code: KeyCode) {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        press(s, KeyCode::Char(c));
    }
}

fn clear(s: &mut State, n: usize) {
    for _ in 0..n {
        press(s, KeyCode::Backspace);
    }
}

/// Snapshots the screen built by `make` at both sizes, and its styles in dark and mono.
fn screens(name: &str, make: impl Fn(u16, u16, ThemeName) -> State) {
    for (w, h) in SIZES {
        let s = make(w, h, ThemeName::Dark);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(&s));
    }
    for theme in [ThemeName::Dark, ThemeName::Mono] {
        let s = make(80, 24, theme);
        let b = render(&s);
        insta::assert_snapshot!(
            format!("{name}_80x24_{}_styles", theme.name()),
            format!("{:?}", b.buffer())
        );
    }
}

fn on_tab(tab: Tab) -> impl Fn(u16, u16, ThemeName) -> State {
    move |w, h, t| {
        let mut s = state(w, h, t);
        s.tab = tab;
        s
    }
}

#[test]
fn members_tab() {
    screens("members", on_tab(Tab::Members));
}

#[test]
fn deals_tab() {
    screens("deals", on_tab(Tab::Deals));
}

#[test]
fn points_tab() {
    screens("points", on_tab(Tab::Points));
}

#[test]
fn billing_tab() {
    screens("billing", on_tab(Tab::Billing));
}

#[test]
fn events_tab_following() {
    screens("events", on_tab(Tab::Events));
}

#[test]
fn events_tab_held_counts_new_events() {
    screens("events_held", |w, h, t| {
        let mut s = state(w, h, t);
        s.tab = Tab::Events;
        press(&mut s, KeyCode::Up);
        press(&mut s, KeyCode::Up);
        s.events
            .absorb((121..=130).map(console_support::event).collect());
        s
    });
}

#[test]
fn member_analysis() {
    screens("analysis", |w, h, t| with_analysis(state(w, h, t)));
}

#[test]
fn help_overlay() {
    screens("help", |w, h, t| {
        let mut s = state(w, h, t);
        press(&mut s, KeyCode::Char('?'));
        s
    });
}

#[test]
fn join_form_with_field_errors() {
    screens("form_join", |w, h, t| {
        let mut s = state(w, h, t);
        press(&mut s, KeyCode::Char('n'));
        typed(&mut s, "Kim\u{7}");
        press(&mut s, KeyCode::Tab);
        typed(&mut s, "010-abc");
        s
    });
}

#[test]
fn deal_form_with_field_errors() {
    screens("form_deal", |w, h, t| {
        let mut s = state(w, h, t);
        s.tab = Tab::Deals;
        press(&mut s, KeyCode::Char('n'));
        clear(&mut s, 4);
        typed(&mut s, "use");
        press(&mut s, KeyCode::Tab);
        typed(&mut s, "x1");
        press(&mut s, KeyCode::Tab);
        press(&mut s, KeyCode::Tab);
        typed(&mut s, "1.5");
        press(&mut s, KeyCode::Tab);
        typed(&mut s, "1.234");
        s
    });
}

#[test]
fn withdraw_form_with_field_errors() {
    screens("form_withdraw", |w, h, t| {
        let mut s = state(w, h, t);
        press(&mut s, KeyCode::Char(':'));
        typed(&mut s, "withdraw");
        press(&mut s, KeyCode::Enter);
        typed(&mut s, "0");
        s
    });
}

#[test]
fn settle_form_with_field_errors() {
    screens("form_settle", |w, h, t| {
        let mut s = state(w, h, t);
        s.tab = Tab::Billing;
        press(&mut s, KeyCode::Char('R'));
        clear(&mut s, 2);
        typed(&mut s, "x");
        press(&mut s, KeyCode::Tab);
        clear(&mut s, 6);
        typed(&mut s, "202613");
        s
    });
}

#[test]
fn confirm_withdraw_names_the_member_and_the_points() {
    screens("confirm_withdraw", |w, h, t| {
        let mut s = state(w, h, t);
        confirms::withdraw(&mut s, &member(3));
        s
    });
}

#[test]
fn confirm_cancel_names_the_deal() {
    screens("confirm_cancel", |w, h, t| {
        let mut s = state(w, h, t);
        s.tab = Tab::Deals;
        confirms::cancel(&mut s, &deal(13));
        s
    });
}

#[test]
fn confirm_settlement_names_the_amount() {
    screens("confirm_settle", |w, h, t| {
        let mut s = state(w, h, t);
        s.tab = Tab::Billing;
        press(&mut s, KeyCode::Down);
        press(&mut s, KeyCode::Char('r'));
        s
    });
}

#[test]
fn command_palette() {
    screens("palette", |w, h, t| {
        let mut s = state(w, h, t);
        press(&mut s, KeyCode::Char(':'));
        typed(&mut s, "me");
        s
    });
}

#[test]
fn terminal_too_small() {
    for (w, h) in [(59, 24), (80, 14), (30, 8)] {
        let s = state(w, h, ThemeName::Dark);
        let text = render(&s).to_string();
        assert!(text.contains("terminal too small"), "{w}x{h}:\n{text}");
        insta::assert_snapshot!(format!("too_small_{w}x{h}"), text);
    }
    let s = state(60, 15, ThemeName::Dark);
    assert!(!render(&s).to_string().contains("too small"));
}

/// The cells that carry meaning, beside the whole-screen snapshots.
fn lines_of(s: &State) -> Vec<String> {
    let b = render(s);
    let buf = b.buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}

#[test]
fn the_hint_line_always_ends_with_help_at_any_width() {
    for w in [60u16, 80, 120, 200] {
        for tab in ['1', '2', '3', '4', '5'] {
            let mut s = state(w, 24, ThemeName::Mono);
            press(&mut s, KeyCode::Char(tab));
            let hints = lines_of(&s)[22].trim_end().to_string();
            assert!(hints.ends_with("? help"), "{w} cols, tab {tab}: {hints:?}");
        }
    }
}

#[test]
fn titles_carry_position_total_and_the_sorted_columns_arrow() {
    let mut s = state(120, 30, ThemeName::Mono);
    let l = lines_of(&s);
    assert!(l[2].contains("Members 3 / 1,234"), "{}", l[2]);
    assert!(l[3].contains("id ▲"), "{}", l[3]);
    assert!(!l[3].contains("balance ▼"));
    press(&mut s, KeyCode::Char('B'));
    let l = lines_of(&s);
    assert!(l[3].contains("balance ▼"), "{}", l[3]);
    assert!(l[2].contains("sort balance ▼"), "{}", l[2]);
    // The selected row is the one the state holds, with its balance as people read it.
    let mut s = state(120, 30, ThemeName::Mono);
    s.members.table.selected = 2;
    let row = lines_of(&s)
        .into_iter()
        .find(|l| l.starts_with("│3 "))
        .unwrap();
    assert!(row.contains("23,757.15"), "{row}");
}

#[test]
fn read_only_hides_writes_from_hints_help_and_palette() {
    let mut s = state(200, 50, ThemeName::Mono);
    s.read_only = true;
    press(&mut s, KeyCode::Char('2'));
    let l = lines_of(&s);
    assert!(
        !l[47].contains("new deal") && !l[47].contains("cancel"),
        "{}",
        l[47]
    );
    press(&mut s, KeyCode::Char('?'));
    let help = lines_of(&s).join("\n");
    assert!(
        !help.contains("new deal") && !help.contains("withdraw"),
        "{help}"
    );
    press(&mut s, KeyCode::Esc);
    press(&mut s, KeyCode::Char(':'));
    let palette = lines_of(&s).join("\n");
    assert!(palette.contains("member ID|NAME"));
    assert!(!palette.contains("join "), "{palette}");
}
