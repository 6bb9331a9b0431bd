//! Terminal hygiene: raw mode and the alternate screen on the way in, restored on every way
//! out (normal exit, error, panic via a hook, drop); mouse capture on demand; OSC 52 yank;
//! logs to a file in the XDG state dir, never to the screen.

use std::io::{Write, stdout};

use base64::Engine;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;

use crate::api::{Error, Result};
use crate::app::state::State;

/// Frames go out through one buffer, flushed once per draw: a frame reaches the terminal in
/// one write (stdout alone flushes at every newline, and a terminal read between those
/// writes shows half of one frame over half of the last).
type Out = std::io::BufWriter<std::io::Stdout>;

/// Room for a whole frame of a large screen (a 300x100 screen with colour changes is
/// well under this); a bigger one is written in more than one piece, never lost.
const FRAME_BUFFER_BYTES: usize = 1 << 20;

pub struct Terminal {
    inner: ratatui::Terminal<CrosstermBackend<Out>>,
    active: bool,
}

/// Puts the terminal back as we found it. Safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
}

impl Terminal {
    pub fn enter(mouse: bool) -> Result<Terminal> {
        let io = |e: std::io::Error| Error::system(format!("terminal: {e}"));
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            prev(info);
        }));
        enable_raw_mode().map_err(io)?;
        execute!(stdout(), EnterAlternateScreen, cursor::Hide).map_err(io)?;
        if mouse {
            execute!(stdout(), EnableMouseCapture).map_err(io)?;
        }
        let out = std::io::BufWriter::with_capacity(FRAME_BUFFER_BYTES, stdout());
        let inner = ratatui::Terminal::new(CrosstermBackend::new(out)).map_err(io)?;
        Ok(Terminal {
            inner,
            active: true,
        })
    }

    pub fn size(&self) -> (u16, u16) {
        self.inner
            .size()
            .map(|s| (s.width, s.height))
            .unwrap_or((80, 24))
    }

    pub fn draw(&mut self, s: &State) -> Result<()> {
        self.inner
            .draw(|f| crate::views::draw(f, s))
            .map(|_| ())
            .map_err(|e| Error::system(format!("terminal: {e}")))
    }

    pub fn set_mouse(&mut self, on: bool) {
        let _ = if on {
            execute!(stdout(), EnableMouseCapture)
        } else {
            execute!(stdout(), DisableMouseCapture)
        };
    }

    /// Copies to the system clipboard through the terminal (OSC 52), over SSH too.
    pub fn yank(&mut self, text: &str) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(text);
        let mut out = stdout();
        let _ = write!(out, "\x1b]52;c;{b64}\x07");
        let _ = out.flush();
    }

    pub fn leave(&mut self) {
        if self.active {
            // Anything still buffered belongs to the alternate screen we are leaving.
            let _ = ratatui::backend::Backend::flush(self.inner.backend_mut());
            restore();
            self.active = false;
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.leave();
    }
}

/// Logs go to `$XDG_STATE_HOME/onepoint/console.log` (or the temp dir); the guard flushes.
pub fn init_logging() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let dir = dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("onepoint");
    std::fs::create_dir_all(&dir).ok()?;
    let file = tracing_appender::rolling::never(&dir, "console.log");
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("ONEPOINT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    tracing::info!("console started; logging to {}", dir.display());
    Some(guard)
}
