//! Shared test fixtures: a core on a fresh temporary store with a fixed clock.
#![allow(dead_code)]

use onepoint::domain::core::{Core, CoreOptions};
use onepoint::domain::{
    Amount, CancelKind, Clock, Command, DealId, DealRequest, IdemKey, Keyed, MemberId, MerchantId,
    NewMember, Outcome, Points, Rates, Result,
};

/// 2026-10-15T09:00:00Z: deals in October, settlement of 202610 allowed.
pub const NOW_MS: i64 = 1_792_054_800_000;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub core: Core,
    pub clock: Clock,
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Clock::fixed(NOW_MS);
    let core = open(dir.path(), &clock);
    Fixture { dir, core, clock }
}

pub fn open(path: &std::path::Path, clock: &Clock) -> Core {
    Core::open(
        path,
        CoreOptions {
            rates: Rates::default(),
            zone: chrono::FixedOffset::east_opt(0).unwrap(),
            clock: clock.clone(),
        },
    )
    .expect("open core")
}

impl Fixture {
    pub fn reopen(&mut self) {
        let placeholder = tempfile::tempdir().unwrap();
        let old = std::mem::replace(&mut self.core, open(placeholder.path(), &self.clock));
        drop(old);
        self.core = open(self.dir.path(), &self.clock);
    }

    pub fn one(&self, c: Command) -> Result<Outcome> {
        self.core.execute(vec![Keyed::new(c, None)]).pop().unwrap()
    }

    pub fn keyed(&self, c: Command, key: &str) -> Result<Outcome> {
        self.core
            .execute(vec![Keyed::new(c, Some(IdemKey(key.into())))])
            .pop()
            .unwrap()
    }

    pub fn join(&self, name: &str) -> MemberId {
        match self
            .one(Command::Join(NewMember {
                name: name.into(),
                phone: None,
                address: None,
            }))
            .unwrap()
        {
            Outcome::Member(m) => m.member_id,
            o => panic!("unexpected {o:?}"),
        }
    }

    pub fn deal(&self, r: DealRequest) -> Result<onepoint::domain::Deal> {
        match self.one(Command::Deal(r))? {
            Outcome::Deal(d) => Ok(d),
            o => panic!("unexpected {o:?}"),
        }
    }

    pub fn save(&self, m: u64, merchant: u64, amount: u64) -> Result<onepoint::domain::Deal> {
        self.deal(DealRequest::Save {
            member: MemberId(m),
            merchant: MerchantId(merchant),
            amount: Amount(amount),
            date: None,
        })
    }

    pub fn use_pts(
        &self,
        m: u64,
        merchant: u64,
        hundredths: i64,
    ) -> Result<onepoint::domain::Deal> {
        self.deal(DealRequest::Use {
            member: MemberId(m),
            merchant: MerchantId(merchant),
            points: Points(hundredths),
            amount: None,
            date: None,
        })
    }

    pub fn cancel(&self, original: u64) -> Result<onepoint::domain::Deal> {
        self.deal(DealRequest::Cancel {
            original: DealId(original),
            kind: CancelKind::Any,
            date: None,
        })
    }

    pub fn balance(&self, m: u64) -> Points {
        self.core.points(MemberId(m)).unwrap().point
    }

    pub fn assert_check(&self) {
        let r = self.core.check().unwrap();
        assert!(r.ok, "invariants violated: {:#?}", r.violations);
    }
}

/// A save at merchant 1 under the idempotency key `key` (the durability tests' write).
pub fn keyed_save(key: &str, member: u64, amount: u64) -> Keyed {
    Keyed::new(
        Command::Deal(DealRequest::Save {
            member: MemberId(member),
            merchant: MerchantId(1),
            amount: Amount(amount),
            date: None,
        }),
        Some(IdemKey(key.into())),
    )
}

/// Places `keyed_save(key, member, amount)` on `core`: the deal it answered (panics,
/// naming the key, on anything else).
pub fn saved(core: &Core, key: &str, member: u64, amount: u64) -> onepoint::domain::Deal {
    match core.execute(vec![keyed_save(key, member, amount)]).pop() {
        Some(Ok(Outcome::Deal(d))) => d,
        r => panic!("{key}: {r:?}"),
    }
}

/// Joins `n` members named `member 0`, `member 1`... in one batch.
pub fn join_many(core: &Core, n: usize) {
    let names: Vec<String> = (0..n).map(|i| format!("member {i}")).collect();
    join_named(core, &names);
}

/// Joins members with these names, in order, in one batch.
pub fn join_named(core: &Core, names: &[String]) {
    let batch = names
        .iter()
        .map(|n| {
            Keyed::new(
                Command::Join(NewMember {
                    name: n.clone(),
                    phone: None,
                    address: None,
                }),
                None,
            )
        })
        .collect();
    for r in core.execute(batch) {
        r.unwrap();
    }
}

/// What one run of the binary printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn cli(data: &std::path::Path, args: &[&str]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_onepoint"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("ONEPOINT_CONFIG", data.with_extension("no-config.toml"))
        .env_remove("ONEPOINT_DATA")
        .env_remove("ONEPOINT_TOKEN")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run onepoint");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every file under `dir` and its bytes, except the lock file (it holds the pid of the
/// last process that opened the store).
pub fn files(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().is_some_and(|n| n != "onepoint.lock") {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}
