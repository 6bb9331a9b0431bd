//! `update` and the keymap, driven by key presses on fixed data: what state changes and
//! which effects go to the worker. No store, no terminal.

mod console_support;

use console_support::{deal, member, state};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use onepoint::app::action::{Action, Effect, Loaded};
use onepoint::app::state::{Modal, State, StatusKind, Tab, ThemeName};
use onepoint::app::update::update;
use onepoint::domain::{Command, DealRequest, DealType, Error, MemberId, Outcome, Points};

fn press(s: &mut State, code: KeyCode) -> Vec<Effect> {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ctrl(s: &mut State, c: char) -> Vec<Effect> {
    update(
        s,
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        press(s, KeyCode::Char(c));
    }
}

/// Opens the deal form (`n` on Deals) and types a save.
fn save_form(s: &mut State, member: &str, merchant: &str, amount: &str) {
    press(s, KeyCode::Char('n'));
    for v in [member, merchant, amount] {
        press(s, KeyCode::Tab);
        typed(s, v);
    }
}

fn fresh() -> State {
    state(120, 40, ThemeName::Dark)
}

#[test]
fn number_keys_switch_tabs_and_tab_cycles() {
    let mut s = fresh();
    press(&mut s, KeyCode::Char('4'));
    assert_eq!(s.tab, Tab::Billing);
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.tab, Tab::Events);
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.tab, Tab::Insights);
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.tab, Tab::Members);
    press(&mut s, KeyCode::BackTab);
    assert_eq!(s.tab, Tab::Insights);
    press(&mut s, KeyCode::Char('6'));
    assert_eq!(s.tab, Tab::Insights);
}

#[test]
fn a_tab_not_yet_loaded_asks_for_its_first_page_only() {
    let mut s = onepoint::app::state::State::new(
        console_support::NOW,
        onepoint::domain::Month::from_code(202611),
        Default::default(),
    );
    let fx = press(&mut s, KeyCode::Char('2'));
    match fx.as_slice() {
        [Effect::LoadDeals { query, fetch, .. }] => {
            assert_eq!(query.anchor, onepoint::domain::Anchor::First);
            assert_eq!(*fetch, onepoint::app::state::table::Fetch::First);
            assert!(query.limit <= 200, "a page, not the table: {}", query.limit);
        }
        other => panic!("expected one deal page load, got {other:?}"),
    }
    assert_eq!(s.pending, 1, "the spinner counts the request");
}

#[test]
fn q_quits_but_ctrl_c_in_a_form_only_closes_the_form() {
    let mut s = fresh();
    press(&mut s, KeyCode::Char('n'));
    assert!(matches!(s.modal, Some(Modal::Form(_))));
    typed(&mut s, "q");
    assert!(!s.quit, "q types into the field");
    ctrl(&mut s, 'c');
    assert!(s.modal.is_none());
    assert!(!s.quit);
    ctrl(&mut s, 'c');
    assert!(s.quit);
}

#[test]
fn a_valid_deal_form_asks_for_confirmation_then_executes_with_a_fresh_key() {
    let mut s = fresh();
    s.tab = Tab::Deals;
    save_form(&mut s, "7", "3", "25000");
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    let Some(Modal::Confirm(c)) = &s.modal else {
        panic!("no confirm: {:?}", s.modal)
    };
    assert!(
        c.lines
            .iter()
            .any(|l| l.contains("Member 7 최하은 buys for 25,000 at merchant 3 Green Mart")),
        "{:?}",
        c.lines
    );
    // The points it will earn, at this merchant's own rate.
    assert!(
        c.lines
            .iter()
            .any(|l| l.contains("Earns 250.00 points at this merchant's 1% rate")),
        "{:?}",
        c.lines
    );
    let fx = press(&mut s, KeyCode::Enter);
    let [Effect::Execute { key, command }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert!(matches!(
        command,
        Command::Deal(DealRequest::Save {
            member: MemberId(7),
            ..
        })
    ));
    // The next action gets a different key.
    save_form(&mut s, "7", "3", "100");
    press(&mut s, KeyCode::Enter);
    let fx = press(&mut s, KeyCode::Enter);
    let [Effect::Execute { key: key2, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_ne!(key, key2);
}

#[test]
fn an_invalid_form_stays_open_and_says_how_many_fields_to_fix() {
    let mut s = fresh();
    s.tab = Tab::Deals;
    press(&mut s, KeyCode::Char('n'));
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    let Some(Modal::Form(f)) = &s.modal else {
        panic!("form closed")
    };
    assert!(
        f.error_count() >= 3,
        "member, merchant, amount: {}",
        f.error_count()
    );
    let st = s.status.as_ref().unwrap();
    assert_eq!(st.kind, StatusKind::Error);
    assert!(st.text.contains("need attention"));
}

#[test]
fn read_only_refuses_writes_and_says_why() {
    // With writes on, `n` opens the join form and `c` on a deal asks for it to cancel...
    let mut writable = fresh();
    press(&mut writable, KeyCode::Char('n'));
    assert!(matches!(writable.modal, Some(Modal::Form(_))));
    let mut writable = fresh();
    writable.tab = Tab::Deals;
    let fx = press(&mut writable, KeyCode::Char('c'));
    assert!(!fx.is_empty(), "c on a deal starts a cancel");
    // ...read-only, neither does anything, and each says why.
    let mut s = fresh();
    s.read_only = true;
    assert!(press(&mut s, KeyCode::Char('n')).is_empty());
    assert!(s.modal.is_none());
    assert!(s.status.as_ref().unwrap().text.contains("read-only"));
    s.tab = Tab::Deals;
    s.status = None;
    assert!(press(&mut s, KeyCode::Char('c')).is_empty());
    assert!(s.modal.is_none());
    assert!(s.status.as_ref().unwrap().text.contains("read-only"));
}

#[test]
fn withdraw_reads_the_member_first_and_confirms_with_the_forfeit() {
    let mut s = fresh();
    let fx = press(&mut s, KeyCode::Char('w'));
    assert_eq!(fx, vec![Effect::PrepareWithdraw(MemberId(3))]);
    update(&mut s, Action::Loaded(Loaded::WithdrawTarget(member(3))));
    let Some(Modal::Confirm(c)) = &s.modal else {
        panic!()
    };
    assert!(
        c.lines
            .iter()
            .any(|l| l.contains("23,757.15 points will be forfeited"))
    );
    press(&mut s, KeyCode::Char('n'));
    assert!(s.modal.is_none());
    assert!(
        s.status
            .as_ref()
            .unwrap()
            .text
            .contains("nothing was written")
    );
}

#[test]
fn a_failed_use_is_reported_with_its_reason_and_an_error_never_ends_the_session() {
    let mut s = fresh();
    let mut d = deal(3);
    d.deal_type = DealType::Use;
    d.reason = Some("insufficient points".into());
    d.status = onepoint::domain::DealStatus::Fail;
    let short_use = Command::Deal(DealRequest::Use {
        member: d.member_id,
        merchant: d.merchant_id,
        points: Points(1_000_000),
        amount: None,
        date: None,
    });
    update(
        &mut s,
        Action::Executed {
            command: short_use,
            result: Ok(Outcome::Deal(d)),
        },
    );
    let st = s.status.clone().unwrap();
    assert_eq!(st.kind, StatusKind::Error);
    assert!(
        st.text.contains("FAILED: insufficient points"),
        "{}",
        st.text
    );
    update(
        &mut s,
        Action::Executed {
            command: Command::Withdraw(MemberId(1)),
            result: Err(Error::conflict("memberId", "has already withdrawn").into()),
        },
    );
    assert!(
        s.status
            .as_ref()
            .unwrap()
            .text
            .contains("already withdrawn")
    );
    assert!(!s.quit);
}

#[test]
fn moving_near_the_end_of_the_window_reads_the_rows_after_it() {
    let mut s = fresh();
    s.tab = Tab::Deals;
    let page: Vec<_> = (2..=121).rev().map(deal).collect();
    console_support::load(&mut s.deals.table, page, 121, 30);
    s.deals.table.selected = 119;
    let fx = press(&mut s, KeyCode::Down);
    match fx.as_slice() {
        [Effect::LoadDeals { query, fetch, .. }] => {
            assert_eq!(*fetch, onepoint::app::state::table::Fetch::After);
            assert_eq!(
                query.anchor,
                onepoint::domain::Anchor::After(onepoint::domain::DealId(2))
            );
        }
        other => panic!("{other:?}"),
    }
    // The move waits for the rows: it is not lost, and not applied twice.
    assert_eq!(s.deals.table.selected, 119);
    assert_eq!(s.deals.table.pending, 1);
}

#[test]
fn sort_is_remembered_per_view_and_reads_the_whole_table_again() {
    use onepoint::domain::{Anchor, MemberOrder};
    let mut s = fresh();
    s.tab = Tab::Deals;
    let fx = press(&mut s, KeyCode::Char('S'));
    assert!(s.deals.sort.oldest_first);
    match fx.as_slice() {
        [Effect::LoadDeals { query, .. }] => {
            assert!(query.oldest_first);
            assert_eq!(query.anchor, Anchor::First);
        }
        other => panic!("{other:?}"),
    }
    press(&mut s, KeyCode::Char('1'));
    press(&mut s, KeyCode::Char('s'));
    let fx = press(&mut s, KeyCode::Char('s'));
    assert_eq!(s.members.sort.by, MemberOrder::Balance);
    assert!(s.members.sort.descending);
    match fx.as_slice() {
        [Effect::LoadMembers { query, .. }] => {
            assert_eq!(query.order, MemberOrder::Balance);
            assert!(query.descending);
            assert_eq!(query.anchor, Anchor::First);
        }
        other => panic!("{other:?}"),
    }
    press(&mut s, KeyCode::Char('S'));
    assert_eq!(s.members.sort.label(), "balance ▲");
    // A reload (the data moved) asks the store to count the place in the balance order;
    // in id order the place comes from the id, nothing to count.
    let reload = |s: &mut State| {
        update(
            s,
            Action::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
        )
    };
    match reload(&mut s).as_slice() {
        [Effect::LoadMembers { query, .. }] => assert!(query.place),
        other => panic!("{other:?}"),
    }
    press(&mut s, KeyCode::Char('I'));
    match reload(&mut s).as_slice() {
        [Effect::LoadMembers { query, .. }] => assert!(!query.place),
        other => panic!("{other:?}"),
    }
    press(&mut s, KeyCode::Char('2'));
    assert!(
        s.deals.sort.oldest_first,
        "the deals sort survived the visit"
    );
}

#[test]
fn deal_filter_goes_through_the_domain_parsers() {
    let mut s = fresh();
    s.tab = Tab::Deals;
    press(&mut s, KeyCode::Char('/'));
    typed(&mut s, "type:refund");
    let Some(Modal::Filter { error, .. }) = &s.modal else {
        panic!()
    };
    assert!(error.as_deref().unwrap().contains("type"));
    for _ in 0..6 {
        press(&mut s, KeyCode::Backspace);
    }
    // The filter applies as it is typed: the last key reads the deals it asks for.
    typed(&mut s, "use member:000");
    let fx = press(&mut s, KeyCode::Char('7'));
    match fx.as_slice() {
        [Effect::LoadDeals { query, .. }] => {
            assert_eq!(query.deal_type, Some(DealType::Use));
            assert_eq!(query.member, Some(MemberId(7)));
        }
        other => panic!("{other:?}"),
    }
    // Enter keeps it (nothing new to read) and closes the prompt.
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert!(s.modal.is_none());
    assert_eq!(s.deals.filter.member, Some(MemberId(7)));
}

#[test]
fn events_scroll_up_holds_and_f_follows_again() {
    let mut s = fresh();
    s.tab = Tab::Events;
    press(&mut s, KeyCode::Up);
    assert!(!s.events.following());
    update(
        &mut s,
        Action::Events((121..=125).map(console_support::event).collect()),
    );
    assert_eq!(s.events.new_since_anchor(), 5);
    assert_eq!(s.events.received, 125);
    press(&mut s, KeyCode::Char('F'));
    assert!(s.events.following());
    press(&mut s, KeyCode::Char('p'));
    assert!(s.events.paused);
}

#[test]
fn help_lists_the_live_keymap_including_overrides() {
    let mut o = std::collections::BTreeMap::new();
    o.insert("new_deal".to_string(), "N".to_string());
    let km = onepoint::app::keymap::Keymap::with_overrides(&o).unwrap();
    let mut s = fresh();
    s.keymap = km;
    s.tab = Tab::Deals;
    press(&mut s, KeyCode::Char('?'));
    let t = onepoint::views::theme::Theme::of(ThemeName::Mono);
    let text: Vec<String> = onepoint::views::widgets::help::lines(&s, &t)
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert!(
        text.iter()
            .any(|l| l.contains("N") && l.contains("new deal"))
    );
    assert!(
        !text
            .iter()
            .any(|l| l.trim_start().starts_with("n ") && l.contains("new deal"))
    );
    // And the key itself now opens the form.
    s.modal = None;
    press(&mut s, KeyCode::Char('N'));
    assert!(matches!(s.modal, Some(Modal::Form(_))));
}

#[test]
fn yank_offers_id_name_phone_and_json_of_the_selection() {
    let mut s = fresh();
    assert!(press(&mut s, KeyCode::Char('y')).is_empty());
    let Some(Modal::Yank { choices, .. }) = &s.modal else {
        panic!("{:?}", s.modal)
    };
    let labels: Vec<&str> = choices.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(labels, ["member id", "name", "phone", "JSON"]);
    assert_eq!(choices[1].1, "이서연");
    let fx = press(&mut s, KeyCode::Char('4'));
    let [Effect::Yank(text)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(v["memberId"], 3);
    assert!(s.modal.is_none());
}

#[test]
fn demo_keys_steer_the_traffic() {
    let mut s = fresh();
    s.demo = Some(onepoint::app::state::DemoInfo {
        rate: 5.0,
        paused: false,
    });
    assert_eq!(
        press(&mut s, KeyCode::Char('+')),
        vec![Effect::DemoRate {
            rate: 10.0,
            paused: false
        }]
    );
    assert_eq!(
        press(&mut s, KeyCode::Char('P')),
        vec![Effect::DemoRate {
            rate: 10.0,
            paused: true
        }]
    );
}

#[test]
fn a_tab_whose_data_moved_while_hidden_reloads_when_shown() {
    let mut s = fresh();
    assert!(
        update(&mut s, Action::Refresh).is_empty(),
        "nothing moved yet"
    );
    update(
        &mut s,
        Action::Events((121..=122).map(console_support::event).collect()),
    );
    let fx = update(&mut s, Action::Refresh);
    assert!(
        matches!(fx.as_slice(), [Effect::LoadMembers { .. }]),
        "{fx:?}"
    );
    let fx = press(&mut s, KeyCode::Char('2'));
    assert!(
        matches!(fx.as_slice(), [Effect::LoadDeals { .. }]),
        "{fx:?}"
    );
    let fx = press(&mut s, KeyCode::Char('1'));
    assert!(fx.is_empty(), "members already caught up: {fx:?}");
}

#[test]
fn a_click_on_the_tab_bar_picks_that_tab_and_the_wheel_scrolls() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut s = fresh();
    let click = |column, row, kind| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // " 1 Members   2 Deals   3 Points": "2 Deals" spans columns 13..=19.
    update(
        &mut s,
        Action::Mouse(click(15, 1, MouseEventKind::Down(MouseButton::Left))),
    );
    assert_eq!(s.tab, Tab::Deals);
    update(
        &mut s,
        Action::Mouse(click(11, 1, MouseEventKind::Down(MouseButton::Left))),
    );
    assert_eq!(s.tab, Tab::Deals, "the gap between labels picks nothing");
    update(
        &mut s,
        Action::Mouse(click(5, 10, MouseEventKind::ScrollDown)),
    );
    assert_eq!(s.deals.table.selected, 1);
}

#[test]
fn a_queued_write_sent_by_the_outbox_is_reported_once_with_its_outcome() {
    use onepoint::api::port::OutboxReport;
    use onepoint::domain::NewMember;
    let mut s = fresh();
    s.header.outbox = 1;
    let join = Command::Join(NewMember {
        name: "Kim".into(),
        phone: None,
        address: None,
    });
    let mut joined = member(41);
    joined.name = "Kim".into();
    update(
        &mut s,
        Action::Tick {
            now: console_support::NOW,
            link: "connected".into(),
            outbox: 0,
            sent: vec![OutboxReport {
                command: join.clone(),
                result: Ok(Outcome::Member(joined)),
            }],
        },
    );
    let st = s.status.clone().unwrap();
    assert_eq!(st.kind, StatusKind::Done);
    assert!(
        st.text.contains("queued join sent: member 41 Kim joined"),
        "{}",
        st.text
    );
    assert_eq!(s.header.outbox, 0, "the header's count drops");
    // Shown on every tab (it belongs to no one view).
    press(&mut s, KeyCode::Char('2'));
    assert!(s.status_shown().is_some());
    update(
        &mut s,
        Action::Tick {
            now: console_support::NOW + 1_000,
            link: "connected".into(),
            outbox: 0,
            sent: vec![OutboxReport {
                command: join,
                result: Err(onepoint::api::Error::from(Error::rule(
                    "name",
                    "must be 1 to 100 characters",
                ))),
            }],
        },
    );
    let st = s.status.clone().unwrap();
    assert_eq!(st.kind, StatusKind::Error);
    assert!(st.text.contains("queued join refused"), "{}", st.text);
}

#[test]
fn status_messages_expire_and_belong_to_their_view() {
    let mut s = fresh();
    s.tab = Tab::Deals;
    s.say(StatusKind::Info, "sorted by id ▲");
    assert!(s.status_shown().is_some());
    press(&mut s, KeyCode::Char('1'));
    assert!(
        s.status_shown().is_none(),
        "another view's message is not shown"
    );
    press(&mut s, KeyCode::Char('2'));
    assert!(s.status_shown().is_some());
    s.now += onepoint::app::state::STATUS_FOR;
    assert!(s.status_shown().is_none(), "expired");
    s.say(StatusKind::Error, "refused");
    s.now += onepoint::app::state::STATUS_FOR;
    assert!(s.status_shown().is_some(), "errors stay a little longer");
}

#[test]
fn c_on_a_deal_that_cannot_be_cancelled_says_why_at_once() {
    let mut s = fresh();
    s.tab = Tab::Deals;
    // Row 0 is deal 40; make it failed.
    s.deals.table.rows[0].status = onepoint::domain::DealStatus::Fail;
    s.deals.table.rows[0].reason = Some("insufficient points".into());
    s.deals.table.selected = 0;
    assert!(
        press(&mut s, KeyCode::Char('c')).is_empty(),
        "no read, no dialog"
    );
    assert!(s.modal.is_none());
    let st = s.status.clone().unwrap();
    assert!(st.text.contains("deal 40 failed"), "{}", st.text);
    // A save that can be: the deal is read again, then confirmed by its id.
    s.deals.table.selected = 4;
    let id = s.deals.table.rows[4].id;
    assert_eq!(s.deals.table.rows[4].deal_type, DealType::Save);
    let fx = press(&mut s, KeyCode::Char('c'));
    assert_eq!(
        fx,
        vec![Effect::FetchDeal(
            id,
            onepoint::app::action::DealUse::Cancel
        )]
    );
}

#[test]
fn esc_and_q_in_the_analysis_go_back_where_it_was_opened() {
    let mut s = fresh();
    press(&mut s, KeyCode::Char('3'));
    press(&mut s, KeyCode::Enter);
    assert!(s.members.analysis.is_some());
    assert_eq!(s.tab, Tab::Members);
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.tab, Tab::Points, "back to Points");
    assert!(s.members.analysis.is_none());
    press(&mut s, KeyCode::Enter);
    press(&mut s, KeyCode::Char('q'));
    assert_eq!(s.tab, Tab::Points);
    assert!(!s.quit, "q in a sub-view goes back");
    press(&mut s, KeyCode::Char('q'));
    assert!(s.quit, "q on a top-level tab quits");
}

#[test]
fn billing_stops_at_the_current_month_and_clears_the_old_rows() {
    let mut s = fresh();
    press(&mut s, KeyCode::Char('4'));
    assert!(press(&mut s, KeyCode::Char(']')).is_empty());
    assert_eq!(s.billing.month, s.billing.current);
    let fx = press(&mut s, KeyCode::Char('['));
    assert!(matches!(fx.as_slice(), [Effect::LoadBilling { .. }]));
    assert!(
        s.billing.rows.is_empty(),
        "no old month's rows under the new title"
    );
}

#[test]
fn in_the_analysis_slash_and_s_act_on_the_history() {
    let mut s = console_support::with_analysis(fresh());
    let members_sort = s.members.sort;
    let fx = press(&mut s, KeyCode::Char('s'));
    assert_eq!(
        s.members.sort, members_sort,
        "the hidden list's sort is untouched"
    );
    assert!(s.members.analysis.as_ref().unwrap().sort.oldest_first);
    assert!(
        matches!(fx.as_slice(), [Effect::LoadDeals { query, .. }] if query.oldest_first && query.member == Some(MemberId(3)))
    );
    press(&mut s, KeyCode::Char('/'));
    let fx = {
        typed(&mut s, "type:us");
        press(&mut s, KeyCode::Char('e'))
    };
    assert!(
        matches!(fx.as_slice(), [Effect::LoadDeals { query, .. }] if query.deal_type == Some(DealType::Use) && query.member == Some(MemberId(3)))
    );
    assert!(
        s.members.query.is_empty(),
        "the member list's filter is untouched"
    );
}

#[test]
fn points_filter_by_name_keeps_the_balance_order_of_the_whole_table() {
    let mut s = fresh();
    press(&mut s, KeyCode::Char('3'));
    press(&mut s, KeyCode::Char('/'));
    typed(&mut s, "ki");
    let fx = press(&mut s, KeyCode::Char('m'));
    match fx.as_slice() {
        [Effect::LoadMembers { query, .. }] => {
            assert_eq!(query.query.as_deref(), Some("kim"));
            assert_eq!(query.order, onepoint::domain::MemberOrder::Balance);
            assert!(query.descending);
            assert_eq!(query.anchor, onepoint::domain::Anchor::First);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        s.points.top(6).is_empty(),
        "top holders are not a filtered list's head"
    );
}

#[test]
fn the_palette_list_is_computed_as_it_is_typed_and_held_in_the_state() {
    let names = |s: &State| match &s.modal {
        Some(Modal::Palette { matches, .. }) => matches.iter().map(|c| c.0).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let mut s = fresh();
    press(&mut s, KeyCode::Char(':'));
    assert!(names(&s).contains(&"join") && names(&s).len() > 10);
    typed(&mut s, "me");
    assert_eq!(names(&s), ["member", "members"]);
    // Tab moves over the held list, wrapping at its end.
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Tab);
    assert!(matches!(s.modal, Some(Modal::Palette { selected: 0, .. })));
    press(&mut s, KeyCode::Backspace);
    press(&mut s, KeyCode::Backspace);
    typed(&mut s, "w");
    assert_eq!(names(&s), ["withdraw"]);
    // Read-only: the writes are not listed at all.
    let mut s = fresh();
    s.read_only = true;
    press(&mut s, KeyCode::Char(':'));
    assert!(!names(&s).contains(&"join"));
    typed(&mut s, "w");
    assert!(names(&s).is_empty());
}

#[test]
fn a_form_note_is_computed_by_update_and_follows_a_name_read_later() {
    let mut s = fresh();
    s.tab = Tab::Deals;
    press(&mut s, KeyCode::Char('n'));
    press(&mut s, KeyCode::Tab);
    typed(&mut s, "42");
    // Member 42 is not read yet: the note says so, then names it once the read lands.
    let screen = console_support::render(&s).to_string();
    assert!(screen.contains("→ looking up"), "{screen}");
    update(
        &mut s,
        Action::Loaded(Loaded::Names {
            asked: vec![MemberId(42)],
            found: vec![member(42)],
        }),
    );
    let Some(Modal::Form(f)) = &s.modal else {
        panic!("{:?}", s.modal)
    };
    let name = member(42).name;
    assert!(
        f.shown_notes
            .iter()
            .flatten()
            .any(|n| n.contains(name.as_str())),
        "{:?}",
        f.shown_notes
    );
    let screen = console_support::render(&s).to_string();
    assert!(screen.contains(&format!("→ {name}")), "{screen}");
}

#[test]
fn last_activity_and_points_are_offered_where_the_store_orders_them_whole() {
    use console_support::render;
    use onepoint::app::state::deals::DealFilter;
    use onepoint::domain::{Anchor, DealOrder, MemberOrder};
    let mut s = fresh();
    // Members: `L` picks last activity, most recent first; again, the other way.
    let fx = press(&mut s, KeyCode::Char('L'));
    assert_eq!(s.members.sort.label(), "last activity ▼");
    match fx.as_slice() {
        [Effect::LoadMembers { query, .. }] => {
            assert_eq!(query.order, MemberOrder::LastActivity);
            assert!(query.descending);
            assert_eq!(query.anchor, Anchor::First);
        }
        other => panic!("{other:?}"),
    }
    let screen = render(&s).to_string();
    assert!(screen.contains("last activity ▼"), "{screen}");
    press(&mut s, KeyCode::Char('L'));
    assert_eq!(s.members.sort.label(), "last activity ▲");
    // `s` from balance reaches it too, and goes on to id.
    press(&mut s, KeyCode::Char('B'));
    press(&mut s, KeyCode::Char('s'));
    assert_eq!(s.members.sort.by, MemberOrder::LastActivity);
    press(&mut s, KeyCode::Char('s'));
    assert_eq!(s.members.sort.by, MemberOrder::Id);
    // Points shows no last activity: `s` there never picks it, `L` does nothing.
    press(&mut s, KeyCode::Char('3'));
    for _ in 0..4 {
        press(&mut s, KeyCode::Char('s'));
        assert_ne!(s.points.sort.by, MemberOrder::LastActivity);
    }
    press(&mut s, KeyCode::Char('L'));
    assert_ne!(s.points.sort.by, MemberOrder::LastActivity);
    // Deals: `O` sorts all deals by points, most first; `s` goes back to id.
    press(&mut s, KeyCode::Char('2'));
    let fx = press(&mut s, KeyCode::Char('O'));
    assert_eq!(s.deals.sort.label(), "points ▼");
    match fx.as_slice() {
        [Effect::LoadDeals { query, .. }] => {
            assert_eq!(query.order, DealOrder::Points);
            assert!(!query.oldest_first);
        }
        other => panic!("{other:?}"),
    }
    s.status = None;
    let screen = render(&s).to_string();
    assert!(screen.contains("points ▼"), "{screen}");
    assert!(!screen.contains("id ▼"), "one column marked: {screen}");
    press(&mut s, KeyCode::Char('S'));
    assert_eq!(s.deals.sort.label(), "points ▲");
    press(&mut s, KeyCode::Char('s'));
    assert_eq!(s.deals.sort.label(), "id ▼");
    // `D`: all deals by date (a deal may be given its date), newest first.
    let fx = press(&mut s, KeyCode::Char('D'));
    assert_eq!(s.deals.sort.label(), "date ▼");
    match fx.as_slice() {
        [Effect::LoadDeals { query, .. }] => assert_eq!(query.order, DealOrder::Date),
        other => panic!("{other:?}"),
    }
    press(&mut s, KeyCode::Char('I'));
    assert_eq!(s.deals.sort.label(), "id ▼");
    // A member's deals are by id only: points is not offered, and a points choice made
    // before the filter reads (and shows) id order until the filter goes.
    press(&mut s, KeyCode::Char('O'));
    s.deals.filter = DealFilter::parse("member:7").unwrap();
    assert_eq!(s.deals.shown_sort().label(), "id ▼");
    s.status = None;
    let screen = render(&s).to_string();
    assert!(
        screen.contains("id ▼") && !screen.contains("points ▼"),
        "{screen}"
    );
    let fx = press(&mut s, KeyCode::Char('S'));
    match fx.as_slice() {
        [Effect::LoadDeals { query, .. }] => {
            assert_eq!(query.order, DealOrder::Id);
            assert!(query.oldest_first);
        }
        other => panic!("{other:?}"),
    }
    let fx = press(&mut s, KeyCode::Char('O'));
    assert!(fx.is_empty());
    assert!(
        s.status
            .as_ref()
            .unwrap()
            .text
            .contains("points order covers all deals")
    );
}
