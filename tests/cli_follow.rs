//! `events --follow`: everything after the offset, then each new event once, in order, as
//! it is written; a closed pipe ends it quietly. An embedded store has one owner process,
//! so the live part runs the follower in-process on the same port the writes go through;
//! the closed-pipe case runs the real binary.

mod cli_support;

use std::io::{self, BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use cli_support::Store;
use onepoint::api::Port;
use onepoint::api::embedded::Embedded;
use onepoint::cli::follow::follow_to;
use onepoint::config::CoreSettings;
use onepoint::domain::{MemberDraft, NewMember};
use serde_json::Value;

/// A writer that hands each line to a channel, and reports a closed pipe once the
/// receiving side is gone.
struct Lines {
    tx: mpsc::Sender<String>,
    buf: Vec<u8>,
}

impl Write for Lines {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        while let Some(i) = self.buf.iter().position(|&c| c == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let text = String::from_utf8_lossy(&line[..i]).into_owned();
            self.tx
                .send(text)
                .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn join(port: &dyn Port, name: &str) {
    let m = NewMember::parse(&MemberDraft {
        name: name.into(),
        ..Default::default()
    })
    .unwrap();
    port.join(m, None).unwrap();
}

#[test]
fn follow_prints_each_new_event_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let port: Arc<dyn Port> =
        Arc::new(Embedded::open(dir.path(), CoreSettings::default()).unwrap());
    join(port.as_ref(), "Choi");
    let (tx, rx) = mpsc::channel();
    let follower = port.clone();
    let handle = std::thread::spawn(move || {
        let mut out = Lines {
            tx,
            buf: Vec::new(),
        };
        // A small page, so the catch-up and the live part both page.
        follow_to(follower.as_ref(), 1, 2, true, &mut out)
    });
    let next = || -> Value {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a followed event");
        serde_json::from_str(&line).expect("one JSON object per line")
    };
    // What existed after offset 1: the point account.
    let e = next();
    assert_eq!(e["offset"], 2);
    assert_eq!(e["eventType"], "PointCreated");
    // Writes while it follows: each printed once, in order.
    for name in ["Jung", "Han", "Oh"] {
        join(port.as_ref(), name);
    }
    let offsets: Vec<u64> = (0..6).map(|_| next()["offset"].as_u64().unwrap()).collect();
    assert_eq!(offsets, [3, 4, 5, 6, 7, 8]);
    join(port.as_ref(), "Seo");
    let e = next();
    assert_eq!(
        (e["offset"].as_u64(), e["name"].as_str()),
        (Some(9), Some("Seo"))
    );
    assert_eq!(next()["offset"], 10);
    assert!(
        rx.recv_timeout(Duration::from_millis(1500)).is_err(),
        "an event printed twice"
    );
    // The reader goes away: the follower ends cleanly at its next write.
    drop(rx);
    join(port.as_ref(), "Yoon");
    assert!(handle.join().unwrap().is_ok());
}

#[test]
fn a_closed_pipe_ends_the_binary_quietly() {
    let s = Store::new();
    // More events than a pipe buffers (64 KiB), so the follower must write after the
    // reader is gone, however the two are scheduled.
    s.ok(&[
        "seed",
        "--members",
        "600",
        "--deals",
        "0",
        "--merchants",
        "1",
    ]);
    let mut child = s
        .command(&["events", "--follow", "--limit", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains("MerchantRegistered"), "{first}");
    drop(out);
    let status = child.wait().unwrap();
    let mut err = String::new();
    io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(status.code(), Some(0), "{err}");
}
