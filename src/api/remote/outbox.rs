//! The durable outbox: writes that may safely wait (member joins, use cancels) while the
//! server cannot be reached, as JSON lines, each with its idempotency key, so that sending
//! one again never applies it twice. Every change is written to a temporary file, fsynced
//! and renamed over the old one (then the directory is fsynced), so a crash leaves either
//! the old or the new list.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::api::{Error, Result};
use crate::domain::{Keyed, Millis};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub write: Keyed,
    pub queued_at: Millis,
}

#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    entries: Vec<Entry>,
}

fn io(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::store(format!("outbox {}: cannot {what}: {e}", path.display()))
}

impl Outbox {
    /// Opens (or starts) the outbox at `path`. A line that cannot be read is kept aside in
    /// `path.bad` rather than silently dropped.
    pub fn open(path: &Path) -> Result<Outbox> {
        let mut entries = Vec::new();
        match fs::read_to_string(path) {
            Ok(text) => {
                let mut bad = Vec::new();
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    match serde_json::from_str::<Entry>(line) {
                        Ok(e) => entries.push(e),
                        Err(_) => bad.push(line.to_string()),
                    }
                }
                if !bad.is_empty() {
                    let aside = path.with_extension("bad");
                    let mut f = OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&aside)
                        .map_err(|e| io(&aside, "open", e))?;
                    for l in bad {
                        writeln!(f, "{l}").map_err(|e| io(&aside, "write", e))?;
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(path, "read", e)),
        }
        Ok(Outbox {
            path: path.to_path_buf(),
            entries,
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn first(&self) -> Option<&Entry> {
        self.entries.first()
    }

    /// Adds an entry; returns once it is on disk.
    pub fn push(&mut self, e: Entry) -> Result<()> {
        self.entries.push(e);
        if let Err(err) = self.persist() {
            self.entries.pop();
            return Err(err);
        }
        Ok(())
    }

    /// Removes the first entry (it was answered); returns once that is on disk.
    pub fn pop_first(&mut self) -> Result<()> {
        if self.entries.is_empty() {
            return Ok(());
        }
        let e = self.entries.remove(0);
        if let Err(err) = self.persist() {
            self.entries.insert(0, e);
            return Err(err);
        }
        Ok(())
    }

    fn persist(&self) -> Result<()> {
        let p = &self.path;
        let dir = p.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(|e| io(p, "create its directory", e))?;
        let tmp = p.with_extension("tmp");
        {
            let mut f = File::create(&tmp).map_err(|e| io(&tmp, "create", e))?;
            for e in &self.entries {
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
        Entry {
            write: Keyed::new(
                Command::Join(NewMember {
                    name: name.into(),
                    phone: None,
                    address: None,
                }),
                Some(IdemKey(format!("k-{name}"))),
            ),
            queued_at: 1,
        }
    }

    #[test]
    fn entries_survive_reopening_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/outbox.jsonl");
        let mut o = Outbox::open(&path).unwrap();
        o.push(entry("a")).unwrap();
        o.push(entry("b")).unwrap();
        o.push(entry("c")).unwrap();
        o.pop_first().unwrap();
        let again = Outbox::open(&path).unwrap();
        assert_eq!(again.len(), 2);
        assert_eq!(again.first(), Some(&entry("b")));
    }

    #[test]
    fn an_unreadable_line_is_kept_aside_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        let good = serde_json::to_string(&entry("a")).unwrap();
        fs::write(&path, format!("{good}\n{{\"trunc\n")).unwrap();
        let o = Outbox::open(&path).unwrap();
        assert_eq!(o.len(), 1);
        let aside = fs::read_to_string(path.with_extension("bad")).unwrap();
        assert!(aside.contains("trunc"));
    }
}
