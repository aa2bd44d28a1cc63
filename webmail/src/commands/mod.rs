//! One module per `mailroom` command.
//!
//! The administration commands (`domain`, `user`, `alias`, `queue`, `admins`, `audit`)
//! write what they change to the audit log, and share the
//! [`Output`] convention: a table for people, or with `--json` one JSON document for
//! scripts, on stdout; errors on stderr with a non-zero exit.

pub mod accounts;
pub mod admin;
pub mod index;
pub mod queue;
pub mod serve;

use std::io::Write;

/// How a command prints what it did.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// One JSON document instead of text.
    pub json: bool,
}

impl Output {
    /// Prints `value` as JSON, or `text` (a closure, so nothing is formatted for nothing).
    pub fn print<T: serde::Serialize>(
        self,
        value: &T,
        text: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(&mut out, value)?;
            writeln!(out)?;
        } else {
            let text = text();
            if !text.is_empty() {
                writeln!(out, "{}", text.trim_end())?;
            }
        }
        Ok(())
    }
}
