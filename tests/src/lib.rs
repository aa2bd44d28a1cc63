//! Helpers for the end-to-end tests: find the real `mailroom` binary, run it, and talk
//! to it.
//!
//! # Layout
//! - [`binary`]: locating and running `mailroom`
//! - [`browser`]: headless Chromium over WebDriver, for the pages
//! - [`proxy`]: the browser's recording proxy (no request may leave for another origin)
//! - [`server`]: `mailroom serve` on free loopback ports, and a line-by-line SMTP client
//! - [`web`]: an HTTPS client (curl with a cookie jar) for the webmail

pub mod binary;
pub mod browser;
pub mod proxy;
pub mod server;
pub mod web;
