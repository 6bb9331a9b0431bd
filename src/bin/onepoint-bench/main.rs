//! `onepoint-bench`: the performance budgets of SPEC 8, measured. Each scenario prints one
//! JSON object per line on stdout. Run in release:
//! `cargo run --release --bin onepoint-bench -- ingest|queries|render|feed|http|abuse [--deals N] [--members N]`
//! (`open` and `write` are the ingest scenario's child processes, also run by hand on a
//! kept store: `open --data DIR`, `write --data DIR [--report-every SECS]`; `kills --data
//! DIR` runs kill -9 cycles of them on a kept store). `ingest`, `open` and `write` take
//! `--cache-mb MB`, sled's cache (the store's 64 unless given), and `render` too (the
//! console's 32 unless given).

mod abuse;
mod feed;
mod http;
mod ingest;
mod kills;
mod queries;
mod render;
mod session;

use std::collections::HashMap;

use onepoint::domain::{Command, Keyed, NewMember, Outcome};

/// `--name value` pairs after the scenario name.
pub struct Opts(HashMap<String, String>);

impl Opts {
    pub fn parse(args: &[String]) -> Result<Opts, String> {
        let mut m = HashMap::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let name = a
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {a:?}"))?;
            let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            m.insert(name.to_string(), v.clone());
        }
        Ok(Opts(m))
    }
    pub fn num(&self, name: &str, default: u64) -> Result<u64, String> {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v
                .replace('_', "")
                .parse()
                .map_err(|_| format!("--{name} must be a whole number, got {v:?}")),
        }
    }
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// Joins members named by `name(n)` (n = 1, 2, ...) until the store holds `target`, in
/// batches through `execute` (a `Core` or any `Port`).
pub fn join_members<E: std::fmt::Display>(
    have: u64,
    target: u64,
    mut name: impl FnMut(u64) -> String,
    execute: impl Fn(Vec<Keyed>) -> Vec<Result<Outcome, E>>,
) -> Result<(), String> {
    let mut next = have;
    while next < target {
        let n = (target - next).min(5000);
        let batch = (next + 1..=next + n)
            .map(|i| {
                let member = NewMember {
                    name: name(i),
                    phone: None,
                    address: None,
                };
                Keyed::new(Command::Join(member), None)
            })
            .collect();
        for r in execute(batch) {
            r.map_err(|e| e.to_string())?;
        }
        next += n;
    }
    Ok(())
}

fn main() {
    // As `onepoint` does: no transparent huge pages, so the RSS measured is the one users
    // see.
    onepoint::domain::memory::no_huge_pages();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(scenario) = args.first() else {
        eprintln!(
            "usage: onepoint-bench ingest|queries|render|feed|http|abuse|kills|open|write [--deals N] [--members N] [--data DIR] [--backdated PCT] [--rounds N] [--report-every SECS]"
        );
        std::process::exit(2);
    };
    let opts = match Opts::parse(&args[1..]) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let r = match scenario.as_str() {
        "ingest" => ingest::run(&opts),
        "open" => session::open(&opts),
        "write" => session::write(&opts),
        "kills" => kills::run(&opts),
        "queries" => queries::run(&opts),
        "render" => render::run(&opts),
        "feed" => feed::run(&opts),
        "http" => http::run(&opts),
        "abuse" => abuse::run(&opts),
        other => Err(format!("unknown scenario {other:?}")),
    };
    if let Err(e) = r {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// jemalloc, as the console's (with its options, `domain::memory::MALLOC_CONF`); built
/// with `RUSTFLAGS="--cfg onepoint_system_alloc"`, the system's, so that a heap profiler
/// that hooks malloc (heaptrack) sees every allocation.
#[cfg(not(onepoint_system_alloc))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
