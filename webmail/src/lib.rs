//! Mailroom's webmail and the command line of the `mailroom` binary.
//!
//! # Layout
//!
//! | module       | its one job |
//! |--------------|-------------|
//! | [`addressbook`] | contacts and groups in `addressbook.vcf`; vCard and CSV import/export |
//! | [`cli`]      | the command line: arguments and dispatch to a command |
//! | [`commands`] | one module per command (`mailroom serve`, `index`, `domain`, …) |
//! | [`config`]   | `mailroom.toml`: every key and its default |
//! | [`http`]     | the HTTPS server: listeners, security headers, sessions, errors |
//! | [`routes`]   | the routes, one module per area (auth, folder, …) |
//! | [`views`]    | the pages as maud functions: a layout, one module per page |
//! | [`indexes`]  | header indexes kept in memory between requests |
//! | [`reading`]  | a message's parts, its text made readable, its HTML made safe |
//! | [`writing`]  | recipients checked, text made flowed, the outgoing message built |
//!
//! The webmail reads Maildirs directly through the `maildir` crate and its header index.

pub mod addressbook;
pub mod cli;
pub mod commands;
pub mod config;
pub mod http;
pub mod indexes;
pub mod reading;
pub mod routes;
pub mod views;
pub mod writing;
