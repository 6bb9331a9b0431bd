//! The port the front ends use, and its adapters: `embedded` (the core on a local store)
//! and `remote` (HTTP). `open_port` opens the one a `Target` names; the composition root
//! (`cli`) builds the target from the command line and the config, read once.

pub mod deferred;
pub mod embedded;
pub mod error;
pub mod port;
pub mod remote;
pub mod wire;

use std::path::PathBuf;
use std::sync::Arc;

pub use error::{Error, Result};
pub use port::{Done, Link, Port};

use crate::domain::CoreSettings;

/// Where the data is: a local store directory (with the core's settings), or a server.
#[derive(Debug, Clone)]
pub enum Target {
    Local {
        dir: PathBuf,
        settings: CoreSettings,
    },
    Remote {
        url: String,
        token: Option<String>,
    },
}

/// Opens the adapter the target names.
pub fn open_port(target: &Target) -> Result<Arc<dyn Port>> {
    match target {
        Target::Remote { url, token } => Ok(Arc::new(remote::RemoteAdapter::connect(
            url,
            token.clone(),
        )?)),
        Target::Local { dir, settings } => Ok(Arc::new(embedded::Embedded::open(dir, *settings)?)),
    }
}

/// `open_port` for a process that stays (the server): a local store starts loading its
/// member names on a thread (`Core::warm_names`), so the first name search finds them.
pub fn open_serving_port(target: &Target) -> Result<Arc<dyn Port>> {
    match target {
        Target::Local { dir, settings } => {
            let e = embedded::Embedded::open(dir, *settings)?;
            e.core().warm_names();
            Ok(Arc::new(e))
        }
        remote => open_port(remote),
    }
}

/// The console's port: a local store opens on a thread (see `deferred`), so the first frame
/// never waits for sled's recovery of a large store, and starts loading its member names (as
/// `open_serving_port`); a remote one is as `open_port`.
pub fn open_console_port(target: &Target) -> Result<Arc<dyn Port>> {
    let Target::Local { dir, settings } = target else {
        return open_port(target);
    };
    let (dir, settings) = (dir.clone(), *settings);
    let source = crate::domain::SourceInfo {
        kind: "embedded".into(),
        location: dir.display().to_string(),
        read_only: false,
    };
    let port =
        deferred::Deferred::open(source, std::time::Duration::from_millis(100), move || {
            let e = embedded::Embedded::open(&dir, settings)?;
            e.core().warm_names();
            Ok(Arc::new(e) as Arc<dyn Port>)
        })?;
    Ok(Arc::new(port))
}
