//! The `rxchain` command's library: the composition root ([`modules`]: every application
//! module), node configuration files, an HTTP client for the node API, and the demo's
//! supply-chain story. `main.rs` is only argument parsing.

pub mod bench;
pub mod client;
pub mod cluster;
pub mod config;
pub mod modules;
pub mod story;
