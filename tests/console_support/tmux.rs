//! The console in a real terminal: a tmux server of its own, keys sent, the screen read
//! back (with SGR escapes when the highlight matters). Without tmux the end-to-end tests
//! skip with a notice, except under CI (`CI=true`), where a missing tmux fails them.

use std::process::Command;
use std::time::{Duration, Instant};

/// Generous: a debug build and a machine shared with other work.
pub const WAIT: Duration = Duration::from_secs(60);

/// True when tmux can run. Under CI its absence is a failure, never a silent pass.
pub fn available() -> bool {
    if Command::new("tmux").arg("-V").output().is_ok() {
        return true;
    }
    // `CI` set to anything but empty, `0` or `false` (GitHub Actions, GitLab, `.ci/run`).
    if std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false")) {
        panic!(
            "tmux is not installed: CI must run the console end-to-end tests (apt-get install tmux)"
        );
    }
    eprintln!("NOTICE: tmux is not installed; skipping the console end-to-end test");
    false
}

pub struct Tmux {
    pub socket: String,
    pub session: String,
}

impl Tmux {
    /// A detached session of `w` x `h` running `script` under `sh -c`.
    pub fn start(name: &str, w: u16, h: u16, script: &str) -> Tmux {
        let t = Tmux {
            socket: format!("onepoint-{name}-{}", std::process::id()),
            session: name.into(),
        };
        let (w, h) = (w.to_string(), h.to_string());
        let out = t.cmd(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &w,
            "-y",
            &h,
            "sh",
            "-c",
            script,
        ]);
        assert!(out.status.success(), "tmux: {out:?}");
        t
    }

    pub fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut a = vec!["send-keys", "-t", self.session.as_str()];
        a.extend_from_slice(keys);
        self.cmd(&a);
    }

    pub fn text(&self, text: &str) {
        self.cmd(&["send-keys", "-t", &self.session, "-l", text]);
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    /// The screen with its SGR escapes (to see which row is highlighted).
    pub fn screen_styled(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-e", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    /// Waits until the screen shows `needle`; returns the screen.
    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_until(needle, |s| s.contains(needle))
    }

    /// Waits until `ok` holds for the screen; returns it. `what` names the wait on failure.
    pub fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if start.elapsed() > WAIT {
                panic!("{what} never appeared; the screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// Drops SGR escapes (`ESC [ ... m`).
pub fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The highlighted table row (mono theme: reverse video), as plain text.
pub fn highlighted(styled: &str) -> Option<String> {
    styled
        .lines()
        .find(|l| l.starts_with('│') && l.contains("\u{1b}[7m"))
        .map(plain)
}

/// The first cell (the id) of the highlighted row.
pub fn highlighted_id(styled: &str) -> Option<u64> {
    let row = highlighted(styled)?;
    row.trim_start_matches('│')
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `Members 1,234 / 2,500` in a title: (position, total).
pub fn position(screen: &str, name: &str) -> Option<(u64, u64)> {
    let pat = format!("{name} ");
    screen.match_indices(&pat).find_map(|(at, _)| {
        let mut parts = screen[at + pat.len()..].split_whitespace();
        let pos = parts.next()?.replace(',', "").parse().ok()?;
        if parts.next()? != "/" {
            return None;
        }
        let total = parts.next()?.replace(',', "").parse().ok()?;
        Some((pos, total))
    })
}
