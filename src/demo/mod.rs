//! `onepoint demo` (SPEC 7): a demo store (fresh and temporary unless `--data`), seeded
//! from `assets/demo/` (`history`), with the traffic simulator (`simulator`) running under
//! the console. Not the console runtime: it drives `app` from outside.

pub mod history;
pub mod simulator;

use std::sync::Arc;

use history::{self as seed, SeedPlan};
use simulator::Traffic;

use crate::api::Port;
use crate::api::embedded::Embedded;
use crate::api::{Error, Result};
use crate::app::{ConsoleOptions, run_console};
use crate::domain::{Clock, CoreSettings, MerchantId};

/// Opens (and seeds, if empty) the demo store at `dir`.
pub fn open_seeded(
    dir: &std::path::Path,
    settings: CoreSettings,
) -> Result<(Arc<Embedded>, u64, Vec<MerchantId>)> {
    let clock = Clock::shifted(0);
    let port = Arc::new(Embedded::open_clocked(dir, settings, clock.clone())?);
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

/// Runs the demo: on `data` (kept), else on a fresh temporary store removed at exit, with
/// traffic at `rate` operations a second. `console` is the console's options as the
/// composition root built them; the demo adds its badge and the simulator.
pub fn run(
    data: Option<&std::path::Path>,
    rate: f64,
    settings: CoreSettings,
    console: ConsoleOptions,
) -> Result<i32> {
    // A fresh temporary store unless --data names one; removed at exit.
    let temp = match data {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("onepoint-demo-")
                .tempdir()
                .map_err(|e| Error::system(format!("cannot create a temporary demo store: {e}")))?,
        ),
    };
    let dir = match (data, &temp) {
        (Some(d), _) => d.to_path_buf(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => unreachable!("a temp dir exists when --data is absent"),
    };
    let (port, members, merchants) = open_seeded(&dir, settings)?;
    let traffic = Traffic::new(rate);
    let sim = traffic.start(port.clone(), members, merchants);
    let opts = ConsoleOptions {
        demo: true,
        traffic: Some(Arc::new(traffic.clone())),
        ..console
    };
    let r = run_console(port.clone(), opts);
    traffic.stop();
    let _ = sim.join();
    drop(port);
    drop(temp);
    r
}
