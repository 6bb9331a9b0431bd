//! Faults on real files: a store on a small filesystem (a loop-mounted ext4 image, so
//! fdatasync is real) written until the disk is full, and data files with bytes flipped in
//! their middle, opened by the real `onepoint` binary.
//!
//! Mounting needs root. Under CI (`CI=true`, set by `.ci/run`, which runs as root) a disk
//! that cannot be mounted fails the test; elsewhere the test is skipped with the reason.

mod serve_process;
mod support;

use support::{Run, cli, files, keyed_save};

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Stdio};

use onepoint::domain::core::Core;
use onepoint::domain::{Clock, DealId, Keyed, MemberId, Outcome};

const BIN: &str = env!("CARGO_BIN_EXE_onepoint");

/// A small ext4 filesystem mounted on a temporary directory, unmounted when dropped (also
/// when the test fails).
struct SmallDisk {
    mnt: PathBuf,
    mounted: bool,
    _tmp: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u64) -> Result<SmallDisk, String> {
        let tmp = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let img = tmp.path().join("disk.img");
        let mnt = tmp.path().join("mnt");
        std::fs::create_dir(&mnt).map_err(|e| format!("mkdir {}: {e}", mnt.display()))?;
        std::fs::File::create(&img)
            .and_then(|f| f.set_len(megabytes << 20))
            .map_err(|e| format!("image {}: {e}", img.display()))?;
        run_tool("mkfs.ext4", &["-q", "-F", "-m", "0"], &[&img])?;
        run_tool("mount", &["-o", "loop"], &[&img, &mnt])?;
        Ok(SmallDisk {
            mnt,
            mounted: true,
            _tmp: tmp,
        })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if self.mounted && run_tool("umount", &[], &[&self.mnt]).is_err() {
            // Something still holds a file on it: detach it now, it goes when released.
            let _ = run_tool("umount", &["-l"], &[&self.mnt]);
        }
    }
}

fn run_tool(tool: &str, flags: &[&str], paths: &[&Path]) -> Result<(), String> {
    let out = Proc::new(tool)
        .args(flags)
        .args(paths)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{tool} {flags:?} {paths:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A mounted small disk, or `None` (with the reason printed) outside CI when mounting is
/// not possible; under CI it must be possible.
fn small_disk(megabytes: u64) -> Option<SmallDisk> {
    match SmallDisk::mount(megabytes) {
        Ok(d) => Some(d),
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but no small filesystem could be mounted (run as root): {why}")
        }
        Err(why) => {
            eprintln!("skipped: no small filesystem could be mounted (needs root): {why}");
            None
        }
    }
}

/// A run that must fail cleanly: a non-zero exit that is not a panic (101), one `error:`
/// line, no backtrace. Returns that line.
fn refused(r: &Run) -> String {
    assert!(r.code != 0 && r.code != 101, "a clean refusal, not {r:?}");
    assert!(!r.stderr.contains("panicked"), "a panic: {r:?}");
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(lines.len(), 1, "one error line in {r:?}");
    lines[0].to_string()
}

/// Writes `path` until the filesystem refuses, and returns its length.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    for chunk in [1 << 20, 64 << 10, 4 << 10, 512] {
        let buf = vec![0xA5u8; chunk];
        while f.write_all(&buf).is_ok() {}
    }
    let _ = f.sync_all();
    f.metadata().unwrap().len()
}

fn open(dir: &Path) -> Core {
    support::open(dir, &Clock::fixed(support::NOW_MS))
}

/// The amount the writing loop gave key `k{n}`.
fn first_amount(key: &str) -> u64 {
    1_000 + key[1..].parse::<u64>().unwrap()
}

fn says_disk_full(e: &str) -> bool {
    e.contains("the disk is full") && e.contains("free space")
}

#[test]
fn a_full_disk_refuses_writes_clearly_loses_no_ack_and_opens_normally_once_freed() {
    let Some(disk) = small_disk(24) else { return };
    let data = disk.mnt.join("store");
    let filler = disk.mnt.join("filler");
    const MEMBERS: u64 = 20;

    let core = open(&data);
    support::join_many(&core, MEMBERS as usize);
    // Leave the store a little room, then write until it is refused.
    let len = fill(&filler);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .and_then(|f| {
            f.set_len(len.saturating_sub(1 << 20))
                .and_then(|_| f.sync_all())
        })
        .unwrap();
    let mut acked: Vec<(String, onepoint::domain::Deal)> = Vec::new();
    let mut refusal = None;
    let mut n = 0u64;
    'writing: for _ in 0..20_000 {
        let batch: Vec<Keyed> = (0..25)
            .map(|i| keyed_save(&format!("k{}", n + i), 1 + (n + i) % MEMBERS, 1_000 + n + i))
            .collect();
        let keys: Vec<String> = (0..25).map(|i| format!("k{}", n + i)).collect();
        n += 25;
        for (key, r) in keys.into_iter().zip(core.execute(batch)) {
            match r {
                Ok(Outcome::Deal(d)) => acked.push((key, d)),
                Ok(o) => panic!("a save answered {o:?}"),
                Err(e) => {
                    refusal = Some(e.to_string());
                    break 'writing;
                }
            }
        }
    }
    let refusal = refusal.expect("the disk never filled");
    eprintln!("{} acknowledged, then refused: {refusal}", acked.len());
    assert!(
        !acked.is_empty(),
        "nothing was acknowledged before the disk filled"
    );
    assert!(
        says_disk_full(&refusal) && refusal.contains(&data.display().to_string()),
        "the refusal says the disk is full and names the path: {refusal}"
    );
    // Later writes are refused too, while the disk stays full.
    let later = core
        .execute(vec![keyed_save("later", 1, 5_000)])
        .pop()
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(says_disk_full(&later), "{later}");
    drop(core);

    // Opening on the full disk, for a read or a write, changes nothing on disk.
    let before = files(&data);
    for args in [
        &["info"][..],
        &[
            "deal",
            "save",
            "--member",
            "1",
            "--merchant",
            "1",
            "--amount",
            "1000",
        ][..],
    ] {
        let r = cli(&data, args);
        eprintln!("{args:?} on a full disk: {r:?}");
        if r.code != 0 {
            let e = refused(&r);
            assert!(
                e.contains(&data.display().to_string()) && says_disk_full(&e),
                "{args:?}: the error says the disk is full and names the store: {e}"
            );
        }
        assert!(
            args[0] == "info" || r.code != 0,
            "a write on a full disk is refused: {r:?}"
        );
        let after = files(&data);
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>(),
            "{args:?} on a full disk created or removed files"
        );
        for (p, bytes) in &before {
            let first = bytes.iter().zip(&after[p]).position(|(a, b)| a != b);
            let last = bytes.iter().zip(&after[p]).rposition(|(a, b)| a != b);
            assert!(
                after[p] == *bytes,
                "{args:?} on a full disk changed {} (length {} -> {}, bytes {first:?}..={last:?})",
                p.display(),
                bytes.len(),
                after[p].len()
            );
        }
    }

    // Space freed: the store opens, every acknowledged write is there, writes work.
    std::fs::remove_file(&filler).unwrap();
    let core = open(&data);
    for (_, d) in &acked {
        assert_eq!(&core.deal(d.id).unwrap(), d, "acknowledged deal {}", d.id.0);
    }
    let report = core.check().unwrap();
    assert!(report.ok, "{:?}", report.violations);
    // Retried with its key, an acknowledged write answers what it answered before.
    let (key, first) = &acked[acked.len() / 2];
    match core
        .execute(vec![keyed_save(key, first.member_id.0, first_amount(key))])
        .pop()
        .unwrap()
        .unwrap()
    {
        Outcome::Deal(d) => assert_eq!(&d, first),
        o => panic!("{o:?}"),
    }
    let deals = core.info().unwrap().deals;
    assert!(deals >= acked.len() as u64, "{deals} < {}", acked.len());
    core.execute(vec![keyed_save("after", 2, 7_000)])
        .pop()
        .unwrap()
        .unwrap();
    drop(core);
    let r = cli(
        &data,
        &[
            "--json",
            "deal",
            "save",
            "--member",
            "3",
            "--merchant",
            "1",
            "--amount",
            "9000",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let r = cli(&data, &["--json", "info"]);
    assert_eq!(r.code, 0, "{r:?}");
    let info: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(info["deals"].as_u64(), Some(deals + 2), "{info}");
    let r = cli(&data, &["check"]);
    assert_eq!(r.code, 0, "{r:?}");
}

/// Fills the disk with `path`, then gives `room` bytes back.
fn leave_room(path: &Path, room: u64) {
    let len = fill(path);
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(len.saturating_sub(room)).unwrap();
    f.sync_all().unwrap();
}

/// One keyed save: its key, member and amount.
type Spec = (String, u64, u64);

/// Saves batches of 25 keyed deals (keys `k{n}`...) until one is refused; pushes every
/// acknowledged deal on `acked` and returns the refusal and the refused batch.
fn write_until_refused(
    core: &Core,
    members: u64,
    n: &mut u64,
    acked: &mut Vec<(String, onepoint::domain::Deal)>,
) -> (String, Vec<Spec>) {
    for _ in 0..20_000 {
        let specs: Vec<Spec> = (*n..*n + 25)
            .map(|i| (format!("k{i}"), 1 + i % members, 1_000 + i))
            .collect();
        *n += 25;
        let batch = specs
            .iter()
            .map(|(k, m, a)| keyed_save(k, *m, *a))
            .collect();
        let mut refusal = None;
        for ((key, ..), r) in specs.iter().zip(core.execute(batch)) {
            match r {
                Ok(Outcome::Deal(d)) => acked.push((key.clone(), d)),
                Ok(o) => panic!("a save answered {o:?}"),
                Err(e) => refusal = Some(e.to_string()),
            }
        }
        if let Some(e) = refusal {
            return (e, specs);
        }
    }
    panic!("the disk never filled");
}

/// Every acknowledged deal reads back as it was answered, no two share an id, and
/// `check` replays the store clean.
fn assert_acked_kept(core: &Core, acked: &[(String, onepoint::domain::Deal)]) {
    let mut ids = std::collections::BTreeSet::new();
    for (key, d) in acked {
        assert!(
            ids.insert(d.id.0),
            "deal id {} answered twice ({key})",
            d.id.0
        );
        assert_eq!(&core.deal(d.id).unwrap(), d, "acknowledged deal {}", d.id.0);
    }
    let report = core.check().unwrap();
    assert!(report.ok, "{:?}", report.violations);
}

#[test]
fn writes_refused_on_a_full_disk_resume_on_the_same_open_store_once_space_is_freed() {
    let Some(disk) = small_disk(64) else { return };
    let data = disk.mnt.join("store");
    let filler = disk.mnt.join("filler");
    const MEMBERS: u64 = 20;
    let core = open(&data);
    support::join_many(&core, MEMBERS as usize);
    let mut acked = Vec::new();
    let mut n = 0u64;
    // Round after round: the disk fills, writes are refused, space is freed, and the next
    // write on the same open store (never reopened by the test) is taken. With no room the
    // log's append is refused; with some, the log's or sled's own write, whichever needs
    // the space first (sled then refuses every later call until it is reopened inside the
    // store): rounds go on until both were seen (a few, at most 20).
    let mut refused_by = BTreeMap::new();
    let rooms = [0u64, 1 << 20, 3 << 20].into_iter().chain([2 << 20; 17]);
    for (round, room) in rooms.enumerate() {
        if round >= 3 && refused_by.contains_key("log") && refused_by.contains_key("sled") {
            break;
        }
        leave_room(&filler, room);
        let before = acked.len();
        let (refusal, refused) = write_until_refused(&core, MEMBERS, &mut n, &mut acked);
        eprintln!(
            "round {round}: {} acknowledged, then refused: {refusal}",
            acked.len() - before
        );
        assert!(
            says_disk_full(&refusal) && refusal.contains(&data.display().to_string()),
            "the refusal says the disk is full and names the path: {refusal}"
        );
        // Refused by the log's append, by sled's write, or (sled having failed while the
        // disk was full, before the room was given back) by the retry: too little room yet
        // to reopen sled.
        let by = if refusal.contains(&data.join("wal").display().to_string()) {
            "log"
        } else if refusal.contains(&data.join("sled").display().to_string()) {
            "sled"
        } else if refusal.contains("writing needs") {
            "retry"
        } else {
            panic!("the refusal names the log or the database: {refusal}")
        };
        *refused_by.entry(by).or_insert(0) += 1;
        // Every write answered is durable, and ids are dense: the store holds exactly the
        // acknowledged deals. A read sees them all, or, while sled cannot apply what the
        // log made durable, is refused saying the disk is full (never answered without
        // an acknowledged write).
        let deals = acked.iter().map(|(_, d)| d.id.0).max().unwrap_or(0);
        let visible = |core: &Core| match core.info() {
            Ok(info) => assert_eq!(info.deals, deals, "round {round}"),
            Err(e) => assert!(says_disk_full(&e.to_string()), "{e}"),
        };
        visible(&core);
        // Refused again while the disk stays full; nothing of it becomes visible.
        let full = format!("full{round}");
        let later = core
            .execute(vec![keyed_save(&full, 1, 5_000)])
            .pop()
            .unwrap();
        let later = later.unwrap_err().to_string();
        assert!(says_disk_full(&later), "{later}");
        visible(&core);
        std::fs::remove_file(&filler).unwrap();
        // The very next write is taken. What the log made durable (and answered) before
        // sled failed is applied first (as a reopen would), so the id is past those.
        let key = format!("resumed{round}");
        // The first write after space was freed (the key names the round).
        let d = support::saved(&core, &key, 2, 7_000);
        assert!(d.id.0 > deals, "round {round}: {} <= {deals}", d.id.0);
        assert_eq!(core.info().unwrap().deals, d.id.0, "round {round}");
        acked.push((key, d));
        // The refused writes, retried with their keys, are each taken once: every deal
        // in the store is one key's.
        for (key, m, a) in refused.into_iter().chain([(full, 1, 5_000)]) {
            let d = support::saved(&core, &key, m, a);
            let again = core.execute(vec![keyed_save(&key, m, a)]).pop().unwrap();
            assert_eq!(again, Ok(Outcome::Deal(d.clone())), "{key}");
            acked.push((key, d));
        }
        assert_eq!(core.info().unwrap().deals, acked.len() as u64);
        assert_acked_kept(&core, &acked);
    }
    assert!(
        refused_by.contains_key("log") && refused_by.contains_key("sled"),
        "both the log's append and sled's write were refused in some round: {refused_by:?}"
    );
    drop(core);
    // Everything acknowledged, before and after each refusal, survives a reopen.
    let core = open(&data);
    assert_acked_kept(&core, &acked);
    assert_eq!(core.info().unwrap().deals, acked.len() as u64);
}

/// One request on a fresh connection to `onepoint serve`: the status and the JSON body.
fn http(addr: &str, method: &str, path: &str, key: &str, body: &str) -> (u16, serde_json::Value) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let key = if key.is_empty() {
        String::new()
    } else {
        format!("Idempotency-Key: {key}\r\n")
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{key}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let json = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or_else(|| panic!("no JSON body in {answer:?}"));
    (status, json)
}

fn post_save(addr: &str, key: &str, member: u64, amount: u64) -> (u16, serde_json::Value) {
    let body =
        format!(r#"{{"type":"save","memberId":{member},"merchantId":1,"dealAmount":{amount}}}"#);
    http(addr, "POST", "/deals", key, &body)
}

#[test]
fn over_http_a_full_disk_is_a_clear_5xx_and_the_running_server_takes_writes_once_freed() {
    let Some(disk) = small_disk(24) else { return };
    let data = disk.mnt.join("store");
    let filler = disk.mnt.join("filler");
    let command = {
        let mut c = Proc::new(BIN);
        c.arg("--data")
            .arg(&data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("ONEPOINT_CONFIG", data.with_extension("no-config.toml"))
            .env_remove("ONEPOINT_DATA")
            .env_remove("ONEPOINT_TOKEN")
            .stdin(Stdio::null());
        c
    };
    let mut server = serve_process::start(command);
    let addr = server.addr.clone();
    for i in 0..5 {
        let (status, body) = http(
            &addr,
            "POST",
            "/members",
            "",
            &format!(r#"{{"name":"M{i}"}}"#),
        );
        assert_eq!(status, 201, "{body}");
    }
    leave_room(&filler, 256 << 10);
    let mut acked: Vec<serde_json::Value> = Vec::new();
    let mut refused = None;
    for i in 0..20_000u64 {
        let key = format!("h{i}");
        let (status, body) = post_save(&addr, &key, 1 + i % 5, 1_000 + i);
        match status {
            201 => acked.push(body),
            _ => {
                refused = Some((key, i, status, body));
                break;
            }
        }
    }
    let (key, i, status, body) = refused.expect("the disk never filled");
    eprintln!("{} acknowledged, then {status}: {body}", acked.len());
    let says = |status: u16, body: &serde_json::Value| {
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            (500..600).contains(&status)
                && says_disk_full(message)
                && message.contains(&data.display().to_string())
                && body["cause"]["kind"] == "store",
            "a 5xx saying the disk is full and naming the store: {status} {body}"
        );
    };
    says(status, &body);
    // Refused again while the disk stays full.
    let (status, body) = post_save(&addr, &key, 1 + i % 5, 1_000 + i);
    says(status, &body);
    // Space freed: the same server (not restarted) takes the refused write, once.
    std::fs::remove_file(&filler).unwrap();
    let (status, taken) = post_save(&addr, &key, 1 + i % 5, 1_000 + i);
    assert_eq!(status, 201, "{taken}");
    let (status, again) = post_save(&addr, &key, 1 + i % 5, 1_000 + i);
    assert!(
        status / 100 == 2 && again == taken,
        "{status} {again} != {taken}"
    );
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server stopped"
    );
    acked.push(taken);
    for d in &acked {
        let id = d["id"].as_u64().unwrap_or_else(|| panic!("no id in {d}"));
        let (status, read) = http(&addr, "GET", &format!("/deals/{id}"), "", "");
        assert_eq!((status, &read), (200, d), "acknowledged deal {id}");
    }
    drop(server);
    let r = cli(&data, &["check"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = cli(&data, &["--json", "info"]);
    let info: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(info["deals"].as_u64(), Some(acked.len() as u64), "{info}");
}

/// A store with injected faults (`Faults`), failing as a full disk does.
fn open_faulty(dir: &Path) -> (Core, std::sync::Arc<onepoint::domain::wal::Faults>) {
    use onepoint::domain::core::CoreOptions;
    use onepoint::domain::store::StoreOptions;
    let faults = onepoint::domain::wal::Faults::new();
    faults.as_disk_full(true);
    let core = Core::open_with_store(
        dir,
        CoreOptions {
            clock: Clock::fixed(support::NOW_MS),
            ..CoreOptions::default()
        },
        StoreOptions {
            faults: Some(faults.clone()),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    (core, faults)
}

#[test]
fn a_log_sync_refused_for_a_full_disk_is_retried_by_the_next_write_without_a_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let (core, faults) = open_faulty(tmp.path());
    support::join_many(&core, 3);
    let first = core
        .execute(vec![keyed_save("first", 1, 10_000)])
        .pop()
        .unwrap();
    let first = first.unwrap();
    let before = core.info().unwrap();
    faults.fail_syncs_after(0);
    for key in ["lost", "lost-again"] {
        let e = core
            .execute(vec![keyed_save(key, 2, 20_000)])
            .pop()
            .unwrap();
        let e = e.unwrap_err().to_string();
        assert!(says_disk_full(&e) && e.contains("fsync"), "{e}");
    }
    let after = core.info().unwrap();
    assert_eq!((after.deals, after.events), (before.deals, before.events));
    // The fault gone (space freed), the next write on the same store is taken, with the
    // next id; the earlier one is unchanged.
    faults.fail_syncs_after(-1);
    let d = support::saved(&core, "lost", 2, 20_000);
    assert_eq!(d.id.0, before.deals + 1);
    assert_eq!(
        core.execute(vec![keyed_save("first", 1, 10_000)])
            .pop()
            .unwrap(),
        Ok(first)
    );
    assert_eq!(core.info().unwrap().deals, before.deals + 1);
    assert!(core.check().unwrap().ok);
    drop(core);
    let core = open(tmp.path());
    assert_eq!(core.deal(d.id).unwrap(), d);
    assert_eq!(core.info().unwrap().deals, before.deals + 1);
}

#[test]
fn an_apply_refused_for_a_full_disk_is_completed_from_the_log_without_a_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let (core, faults) = open_faulty(tmp.path());
    support::join_many(&core, 50);
    let batch = || -> Vec<Keyed> {
        (0..800)
            .map(|i| keyed_save(&format!("k{i}"), 1 + i % 50, 1_000 + i))
            .collect()
    };
    // Many log records in one group, which the apply thread writes to sled in several
    // batches (`APPLY_KEYS`); the third fails after the group was logged, and answered
    // (durable) as done. Until sled has it all, reads are refused, never answered without it.
    // Sled has applied the joins (a read waits for that) before its applies fail.
    core.info().unwrap();
    faults.fail_applies_after(2);
    assert!(core.execute(batch()).iter().all(|r| r.is_ok()));
    let e = core.info().unwrap_err().to_string();
    assert!(says_disk_full(&e), "{e}");
    assert!(says_disk_full(
        &core.deal(DealId(800)).unwrap_err().to_string()
    ));
    // Space freed: the next write applies the rest of the logged group first.
    faults.fail_applies_after(-1);
    let after = support::saved(&core, "after", 1, 1_000);
    assert_eq!(after.id.0, 801);
    let r = core.check().unwrap();
    assert!(r.ok, "{:?}", r.violations);
    // Retried with the same keys, each command answers its recorded outcome, once.
    let again = core.execute(batch());
    for (i, r) in again.into_iter().enumerate() {
        match r.unwrap() {
            Outcome::Deal(d) => {
                assert_eq!(d.member_id, MemberId(1 + i as u64 % 50));
                assert!(d.id.0 <= 800, "{}", d.id.0);
            }
            o => panic!("{o:?}"),
        }
    }
    assert_eq!(core.info().unwrap().deals, 801);
}

/// Flips `n` bytes of `path` from `at`.
fn flip(path: &Path, at: usize, n: usize) {
    let mut b = std::fs::read(path).unwrap();
    let end = (at + n).min(b.len());
    for x in &mut b[at..end] {
        *x ^= 0xFF;
    }
    std::fs::write(path, &b).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The counts `info` prints (not the bytes: opening may write a new snapshot).
fn counts(data: &Path) -> Option<(u64, u64, u64)> {
    let r = cli(data, &["--json", "info"]);
    (r.code == 0).then(|| {
        let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
        let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
        (n("members"), n("deals"), n("events"))
    })
}

#[test]
fn a_database_file_with_bytes_flipped_in_its_middle_is_a_clear_error_never_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    let r = cli(&good, &["seed", "--members", "300", "--deals", "3000"]);
    assert_eq!(r.code, 0, "{r:?}");
    let expected = counts(&good).expect("the undamaged store opens");
    let db_len = std::fs::metadata(good.join("sled").join("db"))
        .unwrap()
        .len() as usize;
    let sled_dir = tmp.path().join("bad").join("sled");
    let mut refused_open = 0;
    let mut refused_check = 0;
    for at in (100..db_len).step_by(db_len / 24) {
        let (open, check) = refusals_of_a_damaged_copy(
            &good,
            &tmp.path().join("bad"),
            |db| flip(db, at, 64),
            (&sled_dir, "restore the store from a backup"),
            &expected,
            &format!("bytes {at}.. flipped"),
        );
        refused_open += open;
        refused_check += check;
    }
    assert!(
        refused_check > 0,
        "damage in live records must be found by `check`, which reads every record \
         ({refused_open} opens, {refused_check} checks refused)"
    );
}

#[test]
fn a_log_with_bytes_flipped_in_its_middle_is_an_error_naming_the_file_never_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, seg) = store_with_a_log_tail(tmp.path());
    let seg = &seg;
    let len = std::fs::metadata(seg).unwrap().len() as usize;
    flip(seg, len / 2, 16);
    let before = files(&data);
    for args in [&["info"][..], &["check"][..], &["member", "show", "1"][..]] {
        let e = refused(&cli(&data, args));
        assert!(
            e.contains(&seg.display().to_string())
                && e.contains("damaged")
                && e.contains("restore it from a backup"),
            "{args:?}: the error names the log file and what to do: {e}"
        );
    }
    let after = files(&data);
    for (p, b) in &before {
        assert!(
            after.get(p) == Some(b),
            "a refused open changed {}",
            p.display()
        );
    }
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "a refused open created or removed files"
    );
}

/// A store whose log ends in records sled never applied (as after a crash): a keyed group
/// logged, its apply failed, the store closed. Returns the store and its one log segment.
fn store_with_a_log_tail(tmp: &Path) -> (PathBuf, PathBuf) {
    use onepoint::domain::core::CoreOptions;
    use onepoint::domain::store::StoreOptions;
    let data = tmp.join("store");
    let faults = onepoint::domain::wal::Faults::new();
    let core = Core::open_with_store(
        &data,
        CoreOptions {
            clock: Clock::fixed(support::NOW_MS),
            ..CoreOptions::default()
        },
        StoreOptions {
            faults: Some(faults.clone()),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    support::join_many(&core, 50);
    // Sled has applied the joins (a read waits for that) before its applies fail.
    core.info().unwrap();
    faults.fail_applies_after(0);
    let batch = (0..300)
        .map(|i| keyed_save(&format!("k{i}"), 1 + i % 50, 1_000 + i))
        .collect();
    // Durable in the log, so answered as done; sled never applies it.
    assert!(core.execute(batch).iter().all(|r| r.is_ok()));
    drop(core);
    let segments: Vec<PathBuf> = std::fs::read_dir(data.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    let seg = segments[0].clone();
    (data, seg)
}

/// Where each record of a log segment starts (`len u32 | crc u32 | seq u64 | payload`).
fn record_starts(seg: &Path) -> Vec<usize> {
    let b = std::fs::read(seg).unwrap();
    let mut at = 0;
    let mut out = Vec::new();
    while at + 16 <= b.len() {
        out.push(at);
        at += 16 + u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    }
    out
}

#[test]
fn a_last_log_record_cut_or_damaged_is_cut_with_a_warning_naming_the_file_and_the_bytes() {
    for damage in ["flipped", "truncated"] {
        let tmp = tempfile::tempdir().unwrap();
        let (data, seg) = store_with_a_log_tail(tmp.path());
        let starts = record_starts(&seg);
        assert!(starts.len() > 2, "{starts:?}");
        let last = *starts.last().unwrap();
        let len = std::fs::metadata(&seg).unwrap().len() as usize;
        let cut = match damage {
            // One byte of the last record's payload: its checksum fails.
            "flipped" => {
                flip(&seg, last + 20, 1);
                len - last
            }
            _ => {
                let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
                f.set_len(len as u64 - 7).unwrap();
                len - 7 - last
            }
        };
        let r = cli(&data, &["--json", "info"]);
        assert_eq!(r.code, 0, "{damage}: {r:?}");
        let warning = format!(
            "warning: the write-ahead log {} ended in an unreadable record: {cut} bytes cut at byte {last}",
            seg.display()
        );
        let warned: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| l.starts_with("warning: "))
            .collect();
        assert!(
            warned.len() == 1 && warned[0].starts_with(&warning),
            "{damage}: one warning, `{warning}...`, in {r:?}"
        );
        assert!(
            warned[0].contains("a checksum cannot tell apart"),
            "{}",
            warned[0]
        );
        eprintln!("{}", warned[0]);
        // Every whole record before it was applied; the next open has nothing to say.
        let info: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
        let deals = info["deals"].as_u64().unwrap();
        assert!(deals > 0 && deals < 300, "{damage}: {deals}");
        let again = cli(&data, &["check"]);
        assert_eq!(again.code, 0, "{again:?}");
        assert!(!again.stderr.contains("warning"), "{again:?}");
    }
}

/// Copies the store `good` to `bad`, damages the copy's sled `db` with `damage`, and runs
/// `info` and `check` on it: each either succeeds or is refused with one error line naming
/// `names.0`, saying "damaged" and `names.1`; a store that still opens reads the counts of
/// `good`. Returns how many opens (`info`) and checks were refused.
fn refusals_of_a_damaged_copy(
    good: &Path,
    bad: &Path,
    damage: impl Fn(&Path),
    names: (&Path, &str),
    expected: &(u64, u64, u64),
    what: &str,
) -> (usize, usize) {
    let _ = std::fs::remove_dir_all(bad);
    copy_dir(good, bad);
    damage(&bad.join("sled").join("db"));
    let (mut open, mut check) = (0, 0);
    for args in [&["info"][..], &["check"][..]] {
        let r = cli(bad, args);
        if r.code == 0 {
            continue;
        }
        let e = refused(&r);
        assert!(
            e.contains(&names.0.display().to_string())
                && e.contains("damaged")
                && e.contains(names.1),
            "{args:?} with {what}: the error names the file and what to do: {e}"
        );
        if args[0] == "info" {
            open += 1;
        } else {
            check += 1;
        }
    }
    // Damage sled did not see (in space it no longer uses) changed nothing readable.
    if let Some(c) = counts(bad) {
        assert_eq!(&c, expected, "{what}");
    }
    (open, check)
}

#[test]
fn a_truncated_database_file_is_one_clear_error_line_from_the_binary_never_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    let r = cli(&good, &["seed", "--members", "300", "--deals", "3000"]);
    assert_eq!(r.code, 0, "{r:?}");
    let expected = counts(&good).expect("the undamaged store opens");
    let db = good.join("sled").join("db");
    let len = std::fs::metadata(&db).unwrap().len();
    let mut refused_opens = 0;
    for cut in [len * 3 / 4, len / 2, len / 4, 4096, 9, 0] {
        let bad = tmp.path().join("bad");
        let (open, _) = refusals_of_a_damaged_copy(
            &good,
            &bad,
            |db| {
                let f = std::fs::OpenOptions::new().write(true).open(db).unwrap();
                f.set_len(cut).unwrap();
            },
            (&bad, "from a backup"),
            &expected,
            &format!("the database cut at {cut}"),
        );
        refused_opens += open;
    }
    assert!(refused_opens > 0, "some cut must be refused");
}
