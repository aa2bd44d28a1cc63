//! The command line: `mailroom <command> …`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{self, Output};

/// Mailroom: webmail, MTA and self-administration over plain Maildirs.
#[derive(Debug, Parser)]
#[command(name = "mailroom", version, about)]
pub struct Cli {
    /// The data directory: configuration, accounts, mail, queue.
    #[arg(long, global = true, default_value = "mailroom-data")]
    pub data: PathBuf,
    /// Print one JSON document instead of text (administration commands).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the SMTP listeners and the queue (the default). Prints what listens where.
    Serve,
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
    /// Virtual domains.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Mailboxes.
    #[command(subcommand)]
    User(UserCommand),
    /// Aliases and forwards.
    #[command(subcommand)]
    Alias(AliasCommand),
    /// This host's MTA queue.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Root admins: who may administer every domain in the webmail.
    Admins {
        /// The new list of root admins (addresses of users here); none: just show it.
        addresses: Vec<String>,
        /// Remove every root admin.
        #[arg(long, conflicts_with = "addresses")]
        clear: bool,
    },
    /// The audit log of administrative actions, newest first.
    Audit {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Skip this many newest first.
        #[arg(long, default_value_t = 0)]
        skip: usize,
    },
}

/// `mailroom queue …`.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Every queued message with each recipient's state.
    List,
    /// One message.
    Show {
        /// Its queue id.
        id: String,
    },
    /// Retry deferred recipients now (of one message, or all).
    Flush {
        /// A queue id (default: every message).
        id: Option<String>,
    },
    /// Drop a message from the queue, without a bounce.
    Delete {
        /// Its queue id.
        id: String,
        /// Confirm.
        #[arg(long)]
        yes: bool,
    },
}

/// `mailroom domain …`.
#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Serve a new domain (creates the data directory if needed).
    Add {
        /// The domain, e.g. example.org.
        domain: String,
        /// Its limits.
        #[command(flatten)]
        limits: Limits,
    },
    /// List the domains with their users and aliases.
    List,
    /// Change a domain's limits (only those given).
    Limits {
        /// The domain.
        domain: String,
        /// Most users (0: no limit).
        #[arg(long)]
        max_users: Option<u64>,
        /// Most aliases (0: no limit).
        #[arg(long)]
        max_aliases: Option<u64>,
        /// All mailboxes together, in bytes (0: no limit).
        #[arg(long)]
        max_storage: Option<u64>,
        /// Quota of a new user, in bytes.
        #[arg(long)]
        default_quota: Option<u64>,
        /// Largest quota a user may have, in bytes.
        #[arg(long)]
        max_quota: Option<u64>,
    },
    /// What happens to mail for unknown addresses of a domain.
    CatchAll {
        /// The domain.
        domain: String,
        /// Deliver it to this user.
        #[arg(long, conflicts_with_all = ["bounce", "discard"], required_unless_present_any = ["bounce", "discard"])]
        user: Option<String>,
        /// Refuse it (550 5.1.1): the default.
        #[arg(long)]
        bounce: bool,
        /// Accept it and drop it.
        #[arg(long, conflicts_with = "bounce")]
        discard: bool,
    },
    /// Serve ALIAS as another name of TARGET (x@ALIAS is x@TARGET).
    AddAlias {
        /// The new domain name.
        alias: String,
        /// The domain it stands for.
        target: String,
    },
    /// Set who administers a domain (addresses of users here); none: nobody.
    Admins {
        /// The domain.
        domain: String,
        /// Its admins.
        addresses: Vec<String>,
    },
    /// Set a domain's spam policy (the lists given replace the old ones).
    Spam {
        /// The domain.
        domain: String,
        /// Senders never treated as spam (addresses or domains); repeat the option.
        #[arg(long)]
        allow: Vec<String>,
        /// Senders always treated as spam; repeat the option.
        #[arg(long)]
        block: Vec<String>,
        /// What to do with spam.
        #[arg(long, value_parser = ["reject", "junk", "tag"])]
        action: Option<String>,
        /// The subject tag (with --action tag).
        #[arg(long)]
        tag: Option<String>,
        /// Whether the domain's action applies to every user (true) or users may choose
        /// their own (false).
        #[arg(long)]
        lock_action: Option<bool>,
    },
    /// Stop serving a domain; its files are moved under removed/ for recovery.
    Remove {
        /// The domain.
        domain: String,
        /// Confirm.
        #[arg(long)]
        yes: bool,
    },
}

/// A domain's limits (0 or absent: no limit).
#[derive(Debug, Args)]
pub struct Limits {
    /// Most users.
    #[arg(long, default_value_t = 0)]
    pub max_users: u64,
    /// Most aliases.
    #[arg(long, default_value_t = 0)]
    pub max_aliases: u64,
    /// Quota of a new user, in bytes.
    #[arg(long)]
    pub default_quota: Option<u64>,
    /// Largest quota a user may have, in bytes.
    #[arg(long)]
    pub max_quota: Option<u64>,
    /// All mailboxes of the domain together, in bytes.
    #[arg(long)]
    pub max_storage: Option<u64>,
    /// User that receives mail for unknown addresses of the domain.
    #[arg(long)]
    pub catch_all: Option<String>,
}

/// `mailroom user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a mailbox. The password is read from the terminal, or from stdin's first line.
    Add {
        /// user@domain.
        address: String,
        /// Quota in bytes (default: the domain's default quota).
        #[arg(long)]
        quota: Option<u64>,
    },
    /// Set a password (read from the terminal, or from stdin's first line).
    Passwd {
        /// user@domain.
        address: String,
    },
    /// Set the quota in bytes (0: none).
    Quota {
        /// user@domain.
        address: String,
        /// Bytes.
        bytes: u64,
    },
    /// Enable or disable a service (webmail, smtp, pop3) for a user.
    Service {
        /// user@domain.
        address: String,
        /// The service.
        service: ServiceArg,
        /// Allow it.
        #[arg(long, conflicts_with = "disable", required_unless_present = "disable")]
        enable: bool,
        /// Bar it.
        #[arg(long)]
        disable: bool,
    },
    /// Forward a user's mail (to addresses, or user names of the same domain); no
    /// targets: stop forwarding.
    Forward {
        /// user@domain.
        address: String,
        /// Where to.
        targets: Vec<String>,
        /// Keep no copy in the mailbox.
        #[arg(long)]
        only: bool,
    },
    /// List a domain's users with quota and use.
    List {
        /// The domain.
        domain: String,
    },
    /// Remove a mailbox; its files are moved under removed/ for recovery.
    Remove {
        /// user@domain.
        address: String,
        /// Confirm.
        #[arg(long)]
        yes: bool,
    },
}

/// A service on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ServiceArg {
    /// The webmail.
    Webmail,
    /// SMTP AUTH.
    Smtp,
    /// POP3.
    Pop3,
}

impl From<ServiceArg> for mta_core::accounts::Service {
    fn from(s: ServiceArg) -> Self {
        use mta_core::accounts::Service;
        match s {
            ServiceArg::Webmail => Service::Webmail,
            ServiceArg::Smtp => Service::Smtp,
            ServiceArg::Pop3 => Service::Pop3,
        }
    }
}

/// `mailroom alias …`.
#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Add targets to an alias (creating it): user names of the same domain or addresses.
    Add {
        /// alias@domain.
        alias: String,
        /// Where its mail goes.
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// List a domain's aliases.
    List {
        /// The domain.
        domain: String,
    },
    /// Remove an alias, or only some of its targets.
    Remove {
        /// alias@domain.
        alias: String,
        /// Targets to remove (all, if none).
        targets: Vec<String>,
    },
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let out = Output { json: cli.json };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => commands::serve::run(&cli.data),
        Command::Index { maildir, full, rebuild } => {
            commands::index::run(&maildir, commands::index::Mode::from_flags(full, rebuild))
        }
        Command::Domain(c) => commands::accounts::domain(&cli.data, c, out),
        Command::User(c) => commands::accounts::user(&cli.data, c, out),
        Command::Alias(c) => commands::accounts::alias(&cli.data, c, out),
        Command::Queue(c) => commands::queue::run(&cli.data, c, out),
        Command::Admins { addresses, clear } => {
            commands::admin::root_admins(&cli.data, &addresses, clear, out)
        }
        Command::Audit { limit, skip } => commands::admin::audit(&cli.data, limit, skip, out),
    }
}
