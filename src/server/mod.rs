//! `onepoint serve` (SPEC 6): the core over HTTP, compatible with the original services.

use std::sync::Arc;

use crate::api::Port;
use crate::cli::args::ServeArgs;
use crate::domain::{Error, Result};

pub fn serve(_port: Arc<dyn Port>, _args: &ServeArgs) -> Result<i32> {
    Err(Error::Unavailable {
        message: "the server is not built yet".into(),
    })
}
