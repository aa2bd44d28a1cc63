//! Helpers for the end-to-end tests: find the real `mailroom` binary, run it, and build
//! Maildirs to run it on.
//!
//! # Layout
//! - [`binary`]: locating and running `mailroom`

pub mod binary;
