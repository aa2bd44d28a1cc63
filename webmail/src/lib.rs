//! Mailroom's webmail and the command line of the `mailroom` binary.
//!
//! # Layout
//!
//! | module       | its one job |
//! |--------------|-------------|
//! | [`cli`]      | the command line: arguments and dispatch to a command |
//! | [`commands`] | one module per command (`mailroom serve`, `index`, `domain`, …) |
//! | [`config`]   | `mailroom.toml`: every key and its default |
//!
//! The HTTPS webmail (actix-web, maud) arrives with the webmail reading issue; it reads
//! Maildirs directly through the `maildir` crate.

pub mod cli;
pub mod commands;
pub mod config;
