//! Colours by role for the dark, light and mono themes. Mono uses no colour at all (only
//! bold, reverse and underline), and is what `NO_COLOR` selects.

use ratatui::style::{Color, Modifier, Style};

use crate::app::state::ThemeName;

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub base: Style,
    pub header: Style,
    pub badge: Style,
    pub tab: Style,
    pub tab_active: Style,
    pub border: Style,
    pub title: Style,
    pub table_head: Style,
    pub selected: Style,
    pub muted: Style,
    pub good: Style,
    pub bad: Style,
    pub warn: Style,
    pub accent: Style,
    pub chart: Style,
    pub key: Style,
}

impl Theme {
    pub fn of(name: ThemeName) -> Theme {
        match name {
            ThemeName::Dark => Theme {
                base: Style::new().fg(Color::Gray),
                header: Style::new().fg(Color::White).bg(Color::Rgb(30, 40, 60)),
                badge: Style::new()
                    .fg(Color::Black)
                    .bg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
                tab: Style::new().fg(Color::DarkGray),
                tab_active: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                border: Style::new().fg(Color::DarkGray),
                title: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                table_head: Style::new().fg(Color::White).add_modifier(Modifier::BOLD),
                selected: Style::new().bg(Color::Rgb(40, 60, 90)).fg(Color::White),
                muted: Style::new().fg(Color::DarkGray),
                good: Style::new().fg(Color::Green),
                bad: Style::new().fg(Color::LightRed),
                warn: Style::new().fg(Color::Yellow),
                accent: Style::new().fg(Color::Cyan),
                chart: Style::new().fg(Color::LightBlue),
                key: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            },
            ThemeName::Light => Theme {
                base: Style::new().fg(Color::Black),
                header: Style::new().fg(Color::Black).bg(Color::Rgb(200, 215, 235)),
                badge: Style::new()
                    .fg(Color::White)
                    .bg(Color::Magenta)
                    .add_modifier(Modifier::BOLD),
                tab: Style::new().fg(Color::Gray),
                tab_active: Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
                border: Style::new().fg(Color::Gray),
                title: Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
                table_head: Style::new().fg(Color::Black).add_modifier(Modifier::BOLD),
                selected: Style::new().bg(Color::Rgb(210, 225, 250)).fg(Color::Black),
                muted: Style::new().fg(Color::DarkGray),
                good: Style::new().fg(Color::Rgb(0, 120, 0)),
                bad: Style::new().fg(Color::Red),
                warn: Style::new().fg(Color::Rgb(160, 100, 0)),
                accent: Style::new().fg(Color::Blue),
                chart: Style::new().fg(Color::Blue),
                key: Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            },
            ThemeName::Mono => {
                let plain = Style::new();
                Theme {
                    base: plain,
                    header: plain.add_modifier(Modifier::REVERSED),
                    badge: plain.add_modifier(Modifier::BOLD),
                    tab: plain,
                    tab_active: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
                    border: plain,
                    title: plain.add_modifier(Modifier::BOLD),
                    table_head: plain.add_modifier(Modifier::BOLD),
                    selected: plain.add_modifier(Modifier::REVERSED),
                    muted: plain,
                    good: plain,
                    bad: plain.add_modifier(Modifier::BOLD),
                    warn: plain.add_modifier(Modifier::BOLD),
                    accent: plain,
                    chart: plain,
                    key: plain.add_modifier(Modifier::BOLD),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_forces_mono() {
        assert_eq!(
            ThemeName::resolve(ThemeName::Dark, Some("1")),
            ThemeName::Mono
        );
        assert_eq!(
            ThemeName::resolve(ThemeName::Light, Some("")),
            ThemeName::Light
        );
        assert_eq!(ThemeName::resolve(ThemeName::Light, None), ThemeName::Light);
        let m = Theme::of(ThemeName::Mono);
        assert_eq!(m.good.fg, None);
        assert_eq!(m.selected.bg, None);
    }
}
