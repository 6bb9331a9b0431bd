//! Issue 8.11 end to end: the console in remote mode, with its server down, queues a join
//! typed into its form (once); a use cancel waits beside it. `onepoint serve` then starts
//! on that address, the outbox sends both, and the console's next clock ticks report what
//! became of each in the status line (the new member's id; the refusal) while the header's
//! outbox count drops to zero. Real server process, real remote adapter, the console's own
//! `update`, worker and views through the headless harness; no timed assertion (polls have
//! a generous deadline only against hanging).

mod remote_support;
mod serve_process;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use onepoint::api::Port;
use onepoint::app::action::Action;
use onepoint::app::state::{Modal, StatusKind};
use onepoint::domain::{CancelKind, Clock, DealId, DealRequest, DealType, MemberQuery};
use onepoint::headless::Headless;
use serve_process::ServeProcess;

const DEADLINE: Duration = Duration::from_secs(60);

/// A loopback address nobody listens on (yet).
fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `onepoint serve` on `addr`. The address was free a moment ago, but a parallel test's
/// client socket may hold the port for a while: a server that could not bind is started
/// again until the deadline.
fn serve_at(data: &Path, addr: SocketAddr) -> ServeProcess {
    let t = Instant::now();
    loop {
        let mut child = Process::new(env!("CARGO_BIN_EXE_onepoint"))
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", &addr.to_string()])
            .env("XDG_CONFIG_HOME", data.join("config"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start onepoint serve");
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        if let Some(a) = line.trim().strip_prefix("listening on http://") {
            return ServeProcess {
                child,
                addr: a.to_string(),
            };
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            t.elapsed() < DEADLINE,
            "onepoint serve never listened on {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn key(h: &mut Headless, port: &dyn Port, code: KeyCode) {
    h.act(port, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// The console's clock tick, as its event loop builds it (`app::run`): the link, the
/// outbox count, and what the outbox sent since the last tick.
fn tick(h: &mut Headless, port: &dyn Port) -> usize {
    let sent = port.outbox_reports();
    let n = sent.len();
    h.act(
        port,
        Action::Tick {
            now: Clock::System.now(),
            link: port.link().label(),
            outbox: port.pending_outbox(),
            sent,
        },
    );
    n
}

/// The drawn frame as text, one line per row.
fn screen(h: &mut Headless) -> String {
    h.draw().unwrap();
    let buf = h.terminal.backend().buffer();
    let w = buf.area.width as usize;
    buf.content
        .chunks(w)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn writes_queued_while_the_server_is_down_are_reported_in_the_console_once_sent() {
    let data = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let url = format!("http://{addr}");
    let adapter = remote_support::remote(&url, None, state.path());
    let port: &dyn Port = &adapter;
    let mut h = Headless::open(port, 120, 40).expect("the console opens with its server down");

    // A join typed into the console's form, confirmed: the server is down, so it waits.
    key(&mut h, port, KeyCode::Char('n'));
    assert!(
        matches!(h.state.modal, Some(Modal::Form(_))),
        "n opens the join form"
    );
    for c in "Offline Kim".chars() {
        key(&mut h, port, KeyCode::Char(c));
    }
    key(&mut h, port, KeyCode::Enter);
    if matches!(h.state.modal, Some(Modal::Confirm(_))) {
        key(&mut h, port, KeyCode::Enter);
    }
    assert!(h.state.modal.is_none(), "{:?}", h.state.modal);
    let st = h
        .state
        .status
        .clone()
        .expect("the console says what became of the join");
    assert!(st.text.contains("outbox"), "{}", st.text);
    // A use cancel of a deal the server does not have waits too: it will be refused.
    let cancel = DealRequest::Cancel {
        original: DealId(999),
        kind: CancelKind::Exactly(DealType::UseCancel),
        date: None,
    };
    let e = port.place_deal(cancel, None).unwrap_err();
    assert!(e.to_string().contains("outbox"), "{e}");

    assert_eq!(tick(&mut h, port), 0, "nothing can be sent yet");
    assert_eq!(port.pending_outbox(), 2, "the join is queued once");
    assert_eq!(h.state.header.outbox, 2);
    assert!(screen(&mut h).contains("outbox 2"), "{}", screen(&mut h));

    // The server comes up on that address; ticks report each sent write once.
    let _server = serve_at(data.path(), addr);
    let t = Instant::now();
    let mut said = Vec::new();
    while said.len() < 2 || h.state.header.outbox > 0 {
        assert!(
            t.elapsed() < DEADLINE,
            "gave up waiting for the outbox: {said:?}, header {}",
            h.state.header.outbox
        );
        let n = tick(&mut h, port);
        if n > 0 {
            let st = h.state.status.clone().unwrap();
            let drawn = screen(&mut h);
            for part in st.text.split(" · ") {
                assert!(drawn.contains(part), "status not drawn: {part}\n{drawn}");
                said.push((st.kind, part.to_string()));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    let joined = port
        .members(&MemberQuery {
            limit: 100,
            ..MemberQuery::default()
        })
        .unwrap();
    let kims: Vec<_> = joined.iter().filter(|m| m.name == "Offline Kim").collect();
    assert_eq!(kims.len(), 1, "the queued join was applied once");
    let id = kims[0].member_id;
    let sent = said
        .iter()
        .find(|(_, t)| t.starts_with("queued join sent"))
        .unwrap_or_else(|| panic!("{said:?}"));
    assert!(
        sent.1.contains(&format!("member {} Offline Kim", id.0)),
        "the status names the new member: {said:?}"
    );
    let refused = said
        .iter()
        .find(|(_, t)| t.contains("refused"))
        .unwrap_or_else(|| panic!("{said:?}"));
    assert_eq!(refused.0, StatusKind::Error, "{said:?}");
    assert!(refused.1.contains("999"), "the refusal says why: {said:?}");
    assert_eq!(said.len(), 2, "each reported once: {said:?}");
    assert_eq!(
        port.refused_outbox(),
        1,
        "the refusal is kept for the operator"
    );
    assert!(!screen(&mut h).contains("outbox 2"));
}
