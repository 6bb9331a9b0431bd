//! The port the front ends use, and its adapters: `embedded` (the core on a local store)
//! and `remote` (HTTP). `open_port` picks one from the command line.

pub mod deferred;
pub mod embedded;
pub mod port;
pub mod remote;
pub mod wire;

use std::path::PathBuf;
use std::sync::Arc;

pub use port::{Link, Port};

use crate::cli::args::GlobalOpts;
use crate::domain::{Error, Result};

/// The store directory: `--data`, else the XDG data dir.
pub fn data_dir(global: &GlobalOpts) -> Result<PathBuf> {
    match &global.data {
        Some(d) => Ok(d.clone()),
        None => dirs::data_dir()
            .map(|d| d.join("onepoint"))
            .ok_or_else(|| Error::store("no data directory: pass --data DIR")),
    }
}

/// Opens the adapter the command line asks for.
pub fn open_port(global: &GlobalOpts) -> Result<Arc<dyn Port>> {
    if let Some(url) = &global.remote {
        let token = global.token.clone();
        return Ok(Arc::new(remote::RemoteAdapter::connect(url, token)?));
    }
    let settings = crate::config::load()?.core_settings()?;
    let dir = data_dir(global)?;
    Ok(Arc::new(embedded::Embedded::open(&dir, settings)?))
}

/// The console's port: a local store opens on a thread (see `deferred`), so the first frame
/// never waits for sled's recovery of a large store; a remote one is as `open_port`.
pub fn open_console_port(global: &GlobalOpts) -> Result<Arc<dyn Port>> {
    if global.remote.is_some() {
        return open_port(global);
    }
    let settings = crate::config::load()?.core_settings()?;
    let dir = data_dir(global)?;
    let source = crate::domain::SourceInfo {
        kind: "embedded".into(),
        location: dir.display().to_string(),
        read_only: false,
    };
    let port =
        deferred::Deferred::open(source, std::time::Duration::from_millis(100), move || {
            embedded::Embedded::open(&dir, settings).map(|e| Arc::new(e) as Arc<dyn Port>)
        })?;
    Ok(Arc::new(port))
}
