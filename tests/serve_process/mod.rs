//! `onepoint serve` as a child process of a test: started from a prepared command, returned
//! once the server says where it listens, killed when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct ServeProcess {
    pub child: Child,
    /// `host:port`, from the server's first line.
    pub addr: String,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `command` (an `onepoint ... serve` command line) and waits for its
/// `listening on http://ADDR` line.
pub fn start(mut command: Command) -> ServeProcess {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start onepoint serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("no address in the first line {line:?}"))
        .to_string();
    ServeProcess { child, addr }
}
