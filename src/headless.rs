//! The console without a terminal: runs `update` and the worker synchronously against a port
//! and draws to a `TestBackend`. For the benches (first frame, frame time, feed) and tests;
//! not part of the console runtime, which it drives from outside.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::api::Port;
use crate::api::{Error, Result};
use crate::app::action::{Action, Effect};
use crate::app::state::{State, Tab};
use crate::app::{ConsoleOptions, initial_state, loads, update, worker};
use crate::domain::Clock;

pub struct Headless {
    pub state: State,
    pub terminal: Terminal<TestBackend>,
}

impl Headless {
    /// A console state for `port` at `width` x `height`, with the first tab loaded.
    pub fn open(port: &dyn Port, width: u16, height: u16) -> Result<Headless> {
        let mut state = initial_state(port, &ConsoleOptions::default(), &Clock::System)?;
        update::update(&mut state, Action::Resize(width, height));
        let terminal = Terminal::new(TestBackend::new(width, height))
            .map_err(|e| Error::system(format!("cannot draw: {e}")))?;
        let mut h = Headless { state, terminal };
        h.load_tab(port, Tab::Members);
        Ok(h)
    }

    /// Shows `tab` and runs its loads to completion (what the worker would do).
    pub fn load_tab(&mut self, port: &dyn Port, tab: Tab) {
        self.state.tab = tab;
        let fx = loads::reload_current(&mut self.state);
        self.run(port, fx);
    }

    /// Feeds actions through `update`, running every effect synchronously.
    pub fn run(&mut self, port: &dyn Port, mut effects: Vec<Effect>) {
        while let Some(e) = effects.pop() {
            if !e.is_request() {
                continue;
            }
            let a = worker::run(port, e);
            effects.extend(update::update(&mut self.state, a));
        }
    }

    pub fn act(&mut self, port: &dyn Port, a: Action) {
        let fx = update::update(&mut self.state, a);
        self.run(port, fx);
    }

    /// Draws one frame.
    pub fn draw(&mut self) -> Result<()> {
        let s = &self.state;
        self.terminal
            .draw(|f| crate::views::draw(f, s))
            .map(|_| ())
            .map_err(|e| Error::system(format!("cannot draw: {e}")))
    }
}
