//! The `queries` scenario (SPEC 8).

use crate::Opts;

pub fn run(_opts: &Opts) -> Result<(), String> {
    Err("the queries scenario is not built yet".into())
}
