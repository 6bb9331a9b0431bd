//! OnePoint console: the membership points core, its operator console, headless CLI and
//! HTTP server, in one crate. Dependencies point one way:
//! views -> app -> api -> domain.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod server;
pub mod transfer;
pub mod views;
