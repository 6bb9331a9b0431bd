//! OnePoint console: the membership points core, its operator console, headless CLI and
//! HTTP server, in one crate. Who may import whom: README, "Module map" (checked by
//! `tests/architecture.rs`).

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod headless;
pub mod server;
pub mod traffic;
pub mod transfer;
pub mod views;
