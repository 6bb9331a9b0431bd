//! `onepoint demo` (SPEC 7): a seeded demo store and a traffic simulator under the console.

use crate::cli::args::{DemoArgs, GlobalOpts};
use crate::domain::{Error, Result};

pub fn run(_global: &GlobalOpts, _args: &DemoArgs) -> Result<i32> {
    Err(Error::Unavailable {
        message: "demo mode is not built yet".into(),
    })
}
