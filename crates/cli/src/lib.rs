//! The `quickcache` command's library: the benchmark workloads (shared with the
//! `quickcache-benches` comparison) and the subcommands.
//!
//! The binary (`src/main.rs`) only parses arguments ([`args`]) and hands them to
//! [`cmd::run`]; everything it does is here and returns a [`CliError`] on failure.

#![forbid(unsafe_code)]

pub mod args;
pub mod bench;
pub mod cmd;
mod error;
pub mod escape;
pub mod exit;
mod help;
pub mod json;

pub use error::CliError;
pub use exit::Exit;
