//! Rendering only: `(&State) -> frame`. No I/O, no channels, no mutation. One file per tab,
//! the overlays in `widgets/`, colours by role in `theme`.

pub mod billing;
pub mod chrome;
pub mod deals;
pub mod events;
pub mod format;
pub mod insights;
pub mod members;
pub mod points;
pub mod theme;
pub mod widgets;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::state::{State, Tab};
use theme::Theme;

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;

/// Draws the whole screen from the state.
pub fn draw(f: &mut Frame, s: &State) {
    let area = f.area();
    let t = Theme::of(s.theme);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        chrome::too_small(f, area, &t);
        return;
    }
    let [header, tabs, body, hints, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(5),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    f.buffer_mut().set_style(area, t.base);
    chrome::header(f, header, s, &t);
    chrome::tabs(f, tabs, s, &t);
    body_view(f, body, s, &t);
    chrome::hints(f, hints, s, &t);
    chrome::status(f, status, s, &t);
    widgets::overlay(f, area, s, &t);
}

fn body_view(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    match s.tab {
        Tab::Members => match &s.members.analysis {
            Some(a) => members::analysis(f, area, s, a, t),
            None => members::table(f, area, s, t),
        },
        Tab::Deals => deals::draw(f, area, s, t),
        Tab::Points => points::draw(f, area, s, t),
        Tab::Billing => billing::draw(f, area, s, t),
        Tab::Events => events::draw(f, area, s, t),
        Tab::Insights => insights::draw(f, area, s, t),
    }
}
