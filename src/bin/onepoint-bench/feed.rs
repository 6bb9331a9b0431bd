//! The `feed` scenario (SPEC 8).

use crate::Opts;

pub fn run(_opts: &Opts) -> Result<(), String> {
    Err("the feed scenario is not built yet".into())
}
