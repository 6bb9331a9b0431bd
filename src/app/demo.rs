//! `onepoint demo` (SPEC 7): a demo store (fresh and temporary unless `--data`), seeded
//! from `assets/demo/`, with the traffic simulator running under the console.

use std::sync::Arc;

use super::seed::{self, SeedPlan};
use super::simulator::Traffic;
use super::{ConsoleOptions, run_console};
use crate::api::Port;
use crate::api::embedded::Embedded;
use crate::cli::args::{DemoArgs, GlobalOpts};
use crate::domain::core::CoreOptions;
use crate::domain::{Clock, Error, MerchantId, Result};

/// Opens (and seeds, if empty) the demo store at `dir`.
pub fn open_seeded(dir: &std::path::Path) -> Result<(Arc<Embedded>, u64, Vec<MerchantId>)> {
    let settings = crate::config::load()?.core_settings()?;
    let clock = Clock::shifted(0);
    let port = Arc::new(Embedded::open_with(
        dir,
        CoreOptions {
            rates: settings.rates,
            zone: settings.zone,
            clock: clock.clone(),
        },
    )?);
    if port.info()?.members == 0 {
        let t = std::time::Instant::now();
        let plan = SeedPlan {
            clock: Some(clock.clone()),
            ..SeedPlan::default()
        };
        let s = seed::seed(&*port, plan, Clock::System.now(), settings.zone)?;
        tracing::info!("demo seeded in {:?}: {s:?}", t.elapsed());
    }
    let members = port.info()?.members;
    let merchants = seed::merchants()?.into_iter().map(|m| m.id).collect();
    Ok((port, members, merchants))
}

pub fn run(global: &GlobalOpts, args: &DemoArgs) -> Result<i32> {
    if global.remote.is_some() {
        return Err(Error::invalid(
            "--remote",
            "is not used by demo: the demo runs on its own local store",
        ));
    }
    if !(args.rate.is_finite() && (0.0..=100_000.0).contains(&args.rate)) {
        return Err(Error::invalid(
            "--rate",
            "must be from 0 to 100000 operations per second",
        ));
    }
    // A fresh temporary store unless --data names one; removed at exit.
    let temp = match &global.data {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("onepoint-demo-")
                .tempdir()
                .map_err(|e| Error::store(format!("cannot create a temporary demo store: {e}")))?,
        ),
    };
    let dir = match (&global.data, &temp) {
        (Some(d), _) => d.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => unreachable!("a temp dir exists when --data is absent"),
    };
    let (port, members, merchants) = open_seeded(&dir)?;
    let traffic = Traffic::new(args.rate);
    let sim = traffic.start(port.clone(), members, merchants);
    let opts = ConsoleOptions {
        read_only: global.read_only,
        demo: true,
        traffic: Some(traffic.clone()),
    };
    let r = run_console(port.clone(), opts);
    traffic.stop();
    let _ = sim.join();
    drop(port);
    drop(temp);
    r
}
