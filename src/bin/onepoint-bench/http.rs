//! The `http` scenario (SPEC 8).

use crate::Opts;

pub fn run(_opts: &Opts) -> Result<(), String> {
    Err("the http scenario is not built yet".into())
}
