//! The durable outbox: writes that may safely wait (member joins, use cancels) while the
//! server cannot be reached, as JSON lines, each with its idempotency key, so that sending
//! one again never applies it twice.
//!
//! Several processes may share one outbox (a console and a CLI on the same server and
//! token): every operation takes an exclusive `flock` on `<file>.lock`, re-reads the file
//! under it, changes it and writes it back (a temporary file, fsynced, renamed over the old
//! one, the directory fsynced), so a crash leaves the old or the new list and no process
//! writes back a list it read before another's change.
//!
//! An entry leaves the outbox only when the server answered it: applied, or refused for
//! good (400, 404, 409, 422), in which case it stays in the file marked `refused`, for
//! `onepoint outbox list|retry|drop` and the console to report. A 5xx, 401, 403, a timeout
//! or a reset keeps it queued.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::api::{Error, Result};
use crate::domain::{IdemKey, Keyed, Millis};

/// Why the server refused a queued write, for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    pub error: String,
    pub at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub write: Keyed,
    pub queued_at: Millis,
    /// Set when the server refused it: kept to be reported, never sent again by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refusal>,
}

impl Entry {
    pub fn new(write: Keyed, queued_at: Millis) -> Entry {
        Entry {
            write,
            queued_at,
            refused: None,
        }
    }

    pub fn key(&self) -> &str {
        self.write.key.as_ref().map_or("", |k| k.0.as_str())
    }
}

#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
}

fn io(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::store(format!("outbox {}: cannot {what}: {e}", path.display()))
}

/// The exclusive lock of an outbox, held while it lives.
struct Locked {
    _file: File,
}

impl Outbox {
    /// Opens (or starts) the outbox at `path`. A line that cannot be read is kept aside in
    /// `path.bad` rather than silently dropped.
    pub fn open(path: &Path) -> Result<Outbox> {
        let o = Outbox {
            path: path.to_path_buf(),
        };
        o.change(|_| Ok(()))?;
        Ok(o)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> Result<Locked> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(|e| io(&self.path, "create its directory", e))?;
        let lock_path = self.path.with_extension("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io(&lock_path, "open", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: flock on a descriptor we own; released when the file is closed.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if r != 0 {
                return Err(io(&lock_path, "lock", std::io::Error::last_os_error()));
            }
        }
        Ok(Locked { _file: file })
    }

    /// Reads the file (under the caller's lock); unreadable lines go to `.bad`.
    fn read(&self) -> Result<(Vec<Entry>, bool)> {
        self.read_from(&self.path)
    }

    /// Reads the entries of `path` (this outbox or one being adopted); its unreadable lines
    /// go to this outbox's `.bad`.
    fn read_from(&self, path: &Path) -> Result<(Vec<Entry>, bool)> {
        let mut entries = Vec::new();
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((entries, false)),
            Err(e) => return Err(io(path, "read", e)),
        };
        let mut bad = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<Entry>(line) {
                Ok(e) => entries.push(e),
                Err(_) => bad.push(line.to_string()),
            }
        }
        if !bad.is_empty() {
            let aside = self.path.with_extension("bad");
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&aside)
                .map_err(|e| io(&aside, "open", e))?;
            for l in &bad {
                writeln!(f, "{l}").map_err(|e| io(&aside, "write", e))?;
            }
            f.sync_all().map_err(|e| io(&aside, "fsync", e))?;
        }
        Ok((entries, !bad.is_empty()))
    }

    /// Locks, re-reads, lets `f` change the list, writes it back if it changed.
    fn change<T>(&self, f: impl FnOnce(&mut Vec<Entry>) -> Result<T>) -> Result<T> {
        let _lock = self.lock()?;
        let (mut entries, had_bad) = self.read()?;
        let before = entries.clone();
        let r = f(&mut entries)?;
        if entries != before || had_bad {
            self.persist(&entries)?;
        }
        Ok(r)
    }

    /// Takes in the entries of an outbox an earlier version kept at `legacy` (one file per
    /// server, whatever the token), so that an upgrade loses no queued write; returns how
    /// many were added. Under this outbox's lock the file is first renamed beside it (a
    /// rename is atomic: of two processes upgrading at once, one takes it, the other finds
    /// nothing), then its entries are added after ours, skipping any already here, and
    /// only once that is on disk is the renamed file removed; a crash in between leaves it
    /// for the next open to finish. The old format reads as is (it had no refusals).
    pub fn adopt(&self, legacy: &Path) -> Result<usize> {
        let claimed = self.path.with_extension("legacy");
        let _lock = self.lock()?;
        match fs::rename(legacy, &claimed) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(legacy, "move into the new outbox", e)),
        }
        let (old, old_bad) = self.read_from(&claimed)?;
        if old.is_empty() && !old_bad && !claimed.exists() {
            return Ok(0);
        }
        let (mut entries, _) = self.read()?;
        let before = entries.len();
        for e in old {
            let known = match &e.write.key {
                Some(_) => entries.iter().any(|x| x.key() == e.key()),
                None => entries.contains(&e),
            };
            if !known {
                entries.push(e);
            }
        }
        self.persist(&entries)?;
        fs::remove_file(&claimed).map_err(|e| io(&claimed, "remove", e))?;
        Ok(entries.len() - before)
    }

    /// Every entry, queued and refused, in order.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let _lock = self.lock()?;
        Ok(self.read()?.0)
    }

    /// Entries still to send.
    pub fn queued(&self) -> usize {
        self.entries()
            .map(|v| v.iter().filter(|e| e.refused.is_none()).count())
            .unwrap_or(0)
    }

    /// Entries the server refused, waiting for the operator to retry or drop them.
    pub fn refused(&self) -> usize {
        self.entries()
            .map(|v| v.iter().filter(|e| e.refused.is_some()).count())
            .unwrap_or(0)
    }

    /// The oldest entry still to send.
    pub fn first(&self) -> Option<Entry> {
        self.entries()
            .ok()?
            .into_iter()
            .find(|e| e.refused.is_none())
    }

    /// Adds an entry; returns once it is on disk. A write already queued under the same
    /// key (an automatic retry of one user action) is queued once.
    pub fn push(&self, e: Entry) -> Result<()> {
        self.change(|v| {
            if e.write.key.is_none() || !v.iter().any(|x| x.key() == e.key()) {
                v.push(e);
            }
            Ok(())
        })
    }

    /// Removes `e` (the server applied it), if it is still there.
    pub fn sent(&self, e: &Entry) -> Result<()> {
        self.change(|v| {
            v.retain(|x| x != e);
            Ok(())
        })
    }

    /// Marks `e` refused by the server, with why.
    pub fn refuse(&self, e: &Entry, error: &str, at: Millis) -> Result<()> {
        self.change(|v| {
            if let Some(x) = v.iter_mut().find(|x| *x == e) {
                x.refused = Some(Refusal {
                    error: error.to_string(),
                    at,
                });
            }
            Ok(())
        })
    }

    /// Queues a refused entry again under `new_key` (the old key holds the refusal);
    /// whether there was one with `key`.
    pub fn retry(&self, key: &str, new_key: IdemKey) -> Result<bool> {
        self.change(|v| {
            Ok(match v.iter_mut().find(|x| x.key() == key) {
                Some(x) => {
                    x.refused = None;
                    x.write.key = Some(new_key);
                    true
                }
                None => false,
            })
        })
    }

    /// Removes the entry with `key`, queued or refused; whether there was one.
    pub fn drop_key(&self, key: &str) -> Result<bool> {
        self.change(|v| {
            let before = v.len();
            v.retain(|x| x.key() != key);
            Ok(v.len() != before)
        })
    }

    fn persist(&self, entries: &[Entry]) -> Result<()> {
        let p = &self.path;
        let dir = p.parent().unwrap_or(Path::new("."));
        let tmp = p.with_extension("tmp");
        {
            let mut f = File::create(&tmp).map_err(|e| io(&tmp, "create", e))?;
            for e in entries {
                let line = serde_json::to_string(e).map_err(Error::store)?;
                writeln!(f, "{line}").map_err(|e| io(&tmp, "write", e))?;
            }
            f.sync_all().map_err(|e| io(&tmp, "fsync", e))?;
        }
        fs::rename(&tmp, p).map_err(|e| io(p, "replace", e))?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Command, IdemKey, NewMember};

    fn entry(name: &str) -> Entry {
        Entry::new(
            Keyed::new(
                Command::Join(NewMember {
                    name: name.into(),
                    phone: None,
                    address: None,
                }),
                Some(IdemKey(format!("k-{name}"))),
            ),
            1,
        )
    }

    #[test]
    fn entries_survive_reopening_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/outbox.jsonl");
        let o = Outbox::open(&path).unwrap();
        o.push(entry("a")).unwrap();
        o.push(entry("b")).unwrap();
        o.push(entry("c")).unwrap();
        o.sent(&entry("a")).unwrap();
        let again = Outbox::open(&path).unwrap();
        assert_eq!(again.queued(), 2);
        assert_eq!(again.first(), Some(entry("b")));
    }

    #[test]
    fn a_write_pushed_again_under_its_key_is_queued_once() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(&dir.path().join("outbox.jsonl")).unwrap();
        o.push(entry("a")).unwrap();
        o.push(entry("a")).unwrap();
        o.push(entry("b")).unwrap();
        assert_eq!(o.queued(), 2);
    }

    #[test]
    fn an_unreadable_line_is_kept_aside_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        let good = serde_json::to_string(&entry("a")).unwrap();
        fs::write(&path, format!("{good}\n{{\"trunc\n")).unwrap();
        let o = Outbox::open(&path).unwrap();
        assert_eq!(o.queued(), 1);
        let aside = fs::read_to_string(path.with_extension("bad")).unwrap();
        assert!(aside.contains("trunc"));
    }

    #[test]
    fn two_handles_writing_at_once_lose_nothing() {
        // Two processes, as far as the file is concerned: each handle re-reads under flock.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        let a = Outbox::open(&path).unwrap();
        let b = Outbox::open(&path).unwrap();
        let ta = std::thread::spawn(move || {
            for i in 0..40 {
                a.push(entry(&format!("a{i}"))).unwrap();
            }
        });
        let tb = std::thread::spawn(move || {
            for i in 0..40 {
                b.push(entry(&format!("b{i}"))).unwrap();
                if i % 4 == 0 {
                    b.sent(&entry(&format!("b{i}"))).unwrap();
                }
            }
        });
        ta.join().unwrap();
        tb.join().unwrap();
        let o = Outbox::open(&path).unwrap();
        assert_eq!(o.queued(), 80 - 10);
        let keys: Vec<String> = o
            .entries()
            .unwrap()
            .iter()
            .map(|e| e.key().into())
            .collect();
        for i in 0..40 {
            assert!(keys.contains(&format!("k-a{i}")), "a{i} lost");
        }
    }

    #[test]
    fn a_refused_entry_is_kept_reported_and_can_be_retried_or_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(&dir.path().join("outbox.jsonl")).unwrap();
        o.push(entry("a")).unwrap();
        o.push(entry("b")).unwrap();
        o.refuse(&entry("a"), "name must be ...", 5).unwrap();
        assert_eq!((o.queued(), o.refused()), (1, 1));
        assert_eq!(o.first(), Some(entry("b")), "a refusal is not sent again");
        assert!(o.retry("k-a", IdemKey("k-a2".into())).unwrap());
        assert_eq!((o.queued(), o.refused()), (2, 0));
        assert!(o.drop_key("k-a2").unwrap());
        assert!(!o.drop_key("k-a2").unwrap());
        assert_eq!(o.queued(), 1);
    }

    /// An earlier version's outbox file: the same lines, without refusals.
    fn legacy_file(path: &Path, names: &[&str]) {
        let lines: Vec<String> = names
            .iter()
            .map(|n| serde_json::to_string(&entry(n)).unwrap())
            .collect();
        assert!(
            lines
                .iter()
                .all(|l| l.contains("queuedAt") && !l.contains("refused"))
        );
        fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn an_earlier_versions_outbox_is_taken_in_once_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let legacy = dir.path().join("outbox-127_0_0_1_8088.jsonl");
        legacy_file(&legacy, &["old1", "old2", "mine"]);
        let o = Outbox::open(&dir.path().join("outbox-127_0_0_1_8088-open.jsonl")).unwrap();
        o.push(entry("mine")).unwrap();
        assert_eq!(o.adopt(&legacy).unwrap(), 2, "mine was already queued");
        let keys: Vec<String> = o
            .entries()
            .unwrap()
            .iter()
            .map(|e| e.key().into())
            .collect();
        assert_eq!(keys, ["k-mine", "k-old1", "k-old2"]);
        assert!(!legacy.exists(), "the old file is gone once taken in");
        assert!(!o.path().with_extension("legacy").exists());
        // Nothing is taken twice.
        assert_eq!(o.adopt(&legacy).unwrap(), 0);
        assert_eq!(o.queued(), 3);
    }

    #[test]
    fn a_takeover_cut_short_by_a_crash_is_finished_by_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox-h-open.jsonl");
        let legacy = dir.path().join("outbox-h.jsonl");
        // The crash came after the rename, and after one entry was already merged.
        legacy_file(&path.with_extension("legacy"), &["a", "b"]);
        let o = Outbox::open(&path).unwrap();
        o.push(entry("a")).unwrap();
        assert_eq!(o.adopt(&legacy).unwrap(), 1);
        assert_eq!(o.queued(), 2);
        assert!(!path.with_extension("legacy").exists());
    }

    #[test]
    fn two_identities_upgrading_at_once_take_each_old_write_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let legacy = dir.path().join("outbox-h.jsonl");
        let names: Vec<String> = (0..30).map(|i| format!("w{i}")).collect();
        legacy_file(
            &legacy,
            &names.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let a = Outbox::open(&dir.path().join("outbox-h-open.jsonl")).unwrap();
        let b = Outbox::open(&dir.path().join("outbox-h-t1.jsonl")).unwrap();
        let (la, lb) = (legacy.clone(), legacy.clone());
        let ta = std::thread::spawn(move || (a.adopt(&la).unwrap(), a));
        let tb = std::thread::spawn(move || (b.adopt(&lb).unwrap(), b));
        let (na, a) = ta.join().unwrap();
        let (nb, b) = tb.join().unwrap();
        assert_eq!(na + nb, 30, "each old write once, in one outbox");
        assert_eq!(a.queued() + b.queued(), 30);
        assert!(!legacy.exists());
    }
}
