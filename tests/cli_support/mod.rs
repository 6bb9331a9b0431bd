//! Shared fixture for the CLI tests: the real `onepoint` binary on its own temporary store,
//! with the shipped default config (a user's config file never leaks in).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{Datelike, Duration, Utc};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_onepoint");

/// What one run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as exactly one JSON value (fails the test otherwise).
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim_end())
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {:?}", self.stdout))
    }
    /// The single `error: ` line on stderr.
    pub fn error_line(&self) -> &str {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(lines.len(), 1, "one error line in {:?}", self.stderr);
        lines[0]
    }
}

pub struct Store {
    pub dir: tempfile::TempDir,
}

impl Store {
    pub fn new() -> Store {
        Store {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// A command on this store, ready to run or spawn.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--data")
            .arg(self.data())
            .args(args)
            .env("ONEPOINT_CONFIG", self.dir.path().join("no-config.toml"))
            .env_remove("ONEPOINT_DATA")
            .env_remove("ONEPOINT_TOKEN")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run onepoint");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs with `--json`, expects exit `code`, returns the one JSON value printed.
    pub fn json(&self, args: &[&str], code: i32) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let r = self.run(&all);
        assert_eq!(r.code, code, "exit code of {args:?}: {r:?}");
        r.json()
    }

    /// Runs a command that must succeed.
    pub fn ok(&self, args: &[&str]) -> Value {
        self.json(args, 0)
    }

    pub fn join(&self, name: &str) -> u64 {
        self.ok(&["member", "join", "--name", name])["memberId"]
            .as_u64()
            .expect("memberId")
    }

    pub fn points(&self, member: u64) -> f64 {
        self.ok(&["points", &member.to_string()])["point"]
            .as_f64()
            .expect("point")
    }

    /// Everything a refused or malformed write must leave alone: the counts, every
    /// member's balance and status, and the event log.
    pub fn state(&self) -> Value {
        let mut info = self.ok(&["info"]);
        info.as_object_mut().unwrap().remove("storeBytes");
        let members = self.ok(&["member", "list", "--limit", "10000"]);
        let events = self.ok(&["events", "--limit", "10000"]);
        serde_json::json!({ "info": info, "members": members, "events": events })
    }
}

/// The calendar month before this one (UTC, the default business zone): `(YYYYMM, a date
/// in it)`. Its settlement is allowed, and deals dated in it are in the past.
pub fn previous_month() -> (String, String) {
    let first_of_this = Utc::now().date_naive().with_day(1).unwrap();
    let prev = first_of_this - Duration::days(1);
    (
        format!("{:04}{:02}", prev.year(), prev.month()),
        format!("{:04}-{:02}-10T09:00:00Z", prev.year(), prev.month()),
    )
}

/// A command line split on whitespace, for arguments without spaces:
/// `s.ok(&w("deal save --member 1 --merchant 7 --amount 1000"))`.
pub fn w(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}
