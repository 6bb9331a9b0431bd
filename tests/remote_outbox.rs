//! The outbox never loses a write: a queued write leaves it only when the server applied it
//! or refused it for good; a 500 or a 403 keeps it; two processes sharing one outbox lose
//! nothing; a refusal is kept and reported (`onepoint outbox list|retry|drop`); an outbox an
//! earlier version left under its old name is taken in and sent, not lost.

mod cli_support;
mod remote_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use onepoint::api::Port;
use onepoint::domain::{Keyed, NewMember};
use onepoint::server::{self, ServerConfig};
use remote_support::{embedded, remote};
use serde_json::Value;

/// A free loopback address nobody listens on (yet).
fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Listens on `addr` again. The address was free a moment ago, but a client socket of a
/// parallel test can hold the same port for a short while (the kernel hands out ephemeral
/// ports from one range), so a refused bind is retried for a few seconds before failing.
fn bind_again(addr: SocketAddr) -> TcpListener {
    let t = Instant::now();
    loop {
        match TcpListener::bind(addr) {
            Ok(l) => return l,
            Err(e) if t.elapsed() < Duration::from_secs(10) => {
                eprintln!("bind {addr}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("bind {addr}: {e}"),
        }
    }
}

/// A stand-in server answering every write with one status and body; `/health` says it is
/// ours. Counts the writes it saw.
struct Fake {
    stop: Arc<AtomicBool>,
    writes: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Fake {
    fn start(addr: SocketAddr, status: u16, body: &'static str) -> Fake {
        let listener = bind_again(addr);
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(AtomicUsize::new(0));
        let (flag, count) = (stop.clone(), writes.clone());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => answer(s, status, body, &count),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Fake {
            stop,
            writes,
            thread: Some(thread),
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(s: TcpStream, status: u16, body: &str, writes: &AtomicUsize) {
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut r = BufReader::new(s);
    let mut first = String::new();
    if r.read_line(&mut first).is_err() {
        return;
    }
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut b = vec![0u8; len];
    let _ = r.read_exact(&mut b);
    let (status, body) = if first.starts_with("GET /health") {
        (200, r#"{"status":"UP","service":"onepoint"}"#)
    } else {
        writes.fetch_add(1, Ordering::Relaxed);
        (status, body)
    };
    let mut s = r.into_inner();
    let _ = write!(
        s,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
}

fn until(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(20), "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn join(name: &str) -> Keyed {
    Keyed::new(
        onepoint::domain::Command::Join(NewMember {
            name: name.into(),
            phone: None,
            address: None,
        }),
        None,
    )
}

fn serve_at(addr: SocketAddr, dir: &Path) -> server::RunningServer {
    // Wait out a parallel test's client socket on the same port, as `bind_again` does.
    drop(bind_again(addr));
    let port: Arc<dyn Port> = embedded(dir);
    server::start(port, ServerConfig::loopback(addr)).expect("start the server")
}

/// The members' names on a server, read over plain HTTP.
fn names(url: &str) -> Vec<String> {
    let r = remote_support::call("GET", &format!("{url}/members?size=100"), &[], None);
    r.json()["_embedded"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_500_or_a_403_keeps_the_write_and_the_recovered_server_gets_it_once() {
    let addr = free_addr();
    let url = format!("http://{addr}");
    let dir = tempfile::tempdir().unwrap();
    let adapter = remote(&url, None, dir.path());
    let r = adapter.execute(vec![join("Queued Kim")]).remove(0);
    let e = r.unwrap_err().to_string();
    assert!(e.contains("outbox"), "{e}");
    assert!(e.contains("not sent") || e.contains("waits"), "{e}");
    assert_eq!(adapter.pending_outbox(), 1);

    for (status, body) in [
        (500, r#"{"status":500,"message":"cannot fsync the store"}"#),
        (
            403,
            r#"{"status":403,"message":"a viewer token may only read"}"#,
        ),
        (
            401,
            r#"{"status":401,"message":"a valid bearer token is required"}"#,
        ),
    ] {
        let fake = Fake::start(addr, status, body);
        until("the fake sees the queued write twice", || {
            fake.writes.load(Ordering::Relaxed) >= 2
        });
        drop(fake);
        assert_eq!(adapter.pending_outbox(), 1, "a {status} dropped the write");
        assert_eq!(adapter.refused_outbox(), 0, "a {status} is no refusal");
    }

    let store = tempfile::tempdir().unwrap();
    let real = serve_at(addr, store.path());
    until("the outbox drains", || adapter.pending_outbox() == 0);
    assert_eq!(names(&real.url()), vec!["Queued Kim".to_string()]);
}

fn cli_outbox_env(
    store: &cli_support::Store,
    state: &Path,
) -> impl Fn(&[&str]) -> cli_support::Run + Send + Sync + use<> {
    let state = state.to_path_buf();
    let data = store.data();
    move |args: &[&str]| {
        let out = std::process::Command::new(cli_support::BIN)
            .arg("--data")
            .arg(&data)
            .args(args)
            .env("XDG_STATE_HOME", &state)
            .env("ONEPOINT_CONFIG", state.join("no-config.toml"))
            .env_remove("ONEPOINT_TOKEN")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        cli_support::Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

#[test]
fn two_processes_queueing_into_one_outbox_lose_nothing() {
    let addr = free_addr();
    let url = format!("http://{addr}");
    let store = cli_support::Store::new();
    let state = tempfile::tempdir().unwrap();
    let run = Arc::new(cli_outbox_env(&store, state.path()));
    let workers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|who| {
            let (run, url) = (run.clone(), url.clone());
            std::thread::spawn(move || {
                for i in 0..6 {
                    let name = format!("{who}{i}");
                    let r = run(&["--remote", &url, "member", "join", "--name", &name]);
                    assert_ne!(r.code, 0, "the server is down: {r:?}");
                    assert!(r.stderr.contains("outbox"), "{r:?}");
                    assert!(!r.stderr.contains("may or may not"), "{r:?}");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let list = run(&["--json", "--remote", &url, "outbox", "list"]);
    assert_eq!(list.code, 0, "{list:?}");
    let rows = list.json();
    assert_eq!(rows.as_array().unwrap().len(), 12, "{rows}");

    let dir = tempfile::tempdir().unwrap();
    let real = serve_at(addr, dir.path());
    // Any command on the remote sends what waits, in order.
    let info = run(&["--remote", &url, "info"]);
    assert_eq!(info.code, 0, "{info:?}");
    let mut got = names(&real.url());
    got.sort();
    let mut want: Vec<String> = ["a", "b"]
        .iter()
        .flat_map(|w| (0..6).map(move |i| format!("{w}{i}")))
        .collect();
    want.sort();
    assert_eq!(got, want);
    let list = run(&["--json", "--remote", &url, "outbox", "list"]);
    assert_eq!(list.json(), Value::Array(vec![]));
}

#[test]
fn a_refusal_is_kept_reported_and_retried_or_dropped_by_the_operator() {
    let addr = free_addr();
    let url = format!("http://{addr}");
    let store = cli_support::Store::new();
    let state = tempfile::tempdir().unwrap();
    let run = cli_outbox_env(&store, state.path());
    for name in ["Refused Lee", "Dropped Park"] {
        let r = run(&["--remote", &url, "member", "join", "--name", name]);
        assert!(r.stderr.contains("outbox"), "{r:?}");
    }
    let refusal = r#"{"status":422,"message":"refused: name is on the blocklist","errors":[{"field":"name","rule":"is on the blocklist"}]}"#;
    let fake = Fake::start(addr, 422, refusal);
    // Nothing sends the queue yet: an unknown key is refused before any connection.
    let r = run(&["--remote", &url, "outbox", "retry", "no-such-key"]);
    assert_eq!(r.code, 3, "{r:?}");
    let list = run(&["--json", "--remote", &url, "outbox", "list"]);
    let rows = list.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        fake.writes.load(Ordering::Relaxed) == 0,
        "list sends nothing"
    );

    let first_key = rows[0]["key"].as_str().unwrap().to_string();
    let second_key = rows[1]["key"].as_str().unwrap().to_string();
    // Retrying sends the queue: both are refused, kept and reported with why.
    let r = run(&["--remote", &url, "outbox", "retry", &first_key]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("blocklist"), "{r:?}");
    let list = run(&["--json", "--remote", &url, "outbox", "list"]);
    let rows = list.json();
    for row in rows.as_array().unwrap() {
        assert_eq!(row["state"], "refused", "{rows}");
        assert!(
            row["refusal"].as_str().unwrap().contains("blocklist"),
            "{rows}"
        );
    }
    let human = run(&["--remote", &url, "outbox", "list"]);
    assert!(human.stdout.contains("refused: "), "{human:?}");

    let dropped = run(&["--remote", &url, "outbox", "drop", &second_key]);
    assert_eq!(dropped.code, 0, "{dropped:?}");
    drop(fake);
    let dir = tempfile::tempdir().unwrap();
    let real = serve_at(addr, dir.path());
    let retry_key = run(&["--json", "--remote", &url, "outbox", "list"]).json()[0]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let r = run(&["--remote", &url, "outbox", "retry", &retry_key]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("sent"), "{r:?}");
    assert_eq!(names(&real.url()), vec!["Refused Lee".to_string()]);
    let list = run(&["--json", "--remote", &url, "outbox", "list"]);
    assert_eq!(list.json(), Value::Array(vec![]));
}

#[test]
fn an_outbox_left_under_an_earlier_versions_name_is_listed_and_sent_after_the_upgrade() {
    let addr = free_addr();
    let url = format!("http://{addr}");
    let store = cli_support::Store::new();
    let state = tempfile::tempdir().unwrap();
    let run = cli_outbox_env(&store, state.path());
    // What an earlier version wrote: one file per server, `outbox-HOST_PORT.jsonl`.
    let dir = state.path().join("onepoint");
    std::fs::create_dir_all(&dir).unwrap();
    let legacy = dir.join(format!("outbox-127_0_0_1_{}.jsonl", addr.port()));
    let line = |key: &str, name: &str| {
        format!(
            r#"{{"write":{{"key":"{key}","command":{{"Join":{{"name":"{name}","phone":null,"address":null}}}}}},"queuedAt":1792054800000}}"#
        )
    };
    let keys = [
        "outbox-0000000000000000000000000000a001",
        "outbox-0000000000000000000000000000a002",
    ];
    std::fs::write(
        &legacy,
        format!(
            "{}\n{}\n",
            line(keys[0], "Legacy Kim"),
            line(keys[1], "Legacy Lee")
        ),
    )
    .unwrap();

    let list = run(&["--json", "--remote", &url, "outbox", "list"]);
    assert_eq!(list.code, 0, "{list:?}");
    let rows = list.json();
    let listed: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(listed, keys, "{rows}");
    assert!(!legacy.exists(), "the old file was taken in, not copied");

    let data = tempfile::tempdir().unwrap();
    let real = serve_at(addr, data.path());
    let info = run(&["--remote", &url, "info"]);
    assert_eq!(info.code, 0, "{info:?}");
    assert_eq!(
        names(&real.url()),
        vec!["Legacy Kim".to_string(), "Legacy Lee".to_string()]
    );
    let list = run(&["--json", "--remote", &url, "outbox", "list"]);
    assert_eq!(list.json(), Value::Array(vec![]));
}
