//! The command line: `mailroom <command> …`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands;

/// Mailroom: webmail, MTA and self-administration over plain Maildirs.
#[derive(Debug, Parser)]
#[command(name = "mailroom", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build or update the header index of every folder of a Maildir, with progress.
    Index {
        /// The Maildir (a directory with cur/, new/ and tmp/; its Maildir++ folders are
        /// indexed too).
        maildir: PathBuf,
        /// List every directory even where the index looks current (a full check).
        #[arg(long)]
        full: bool,
        /// Throw the existing indexes away and build them from scratch.
        #[arg(long, conflicts_with = "full")]
        rebuild: bool,
    },
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Index { maildir, full, rebuild } => {
            commands::index::run(&maildir, commands::index::Mode::from_flags(full, rebuild))
        }
    }
}
