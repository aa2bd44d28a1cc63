//! The administration commands that match the admin pages: domain limits, catch-all,
//! domain aliases, domain admins, the domain spam policy, forwards, root admins, and the
//! audit log. Every change is written to the audit log as done by `cli:<user>`.

use std::path::Path;

use anyhow::bail;
use mta_core::accounts::{Directory, DomainConfig};
use mta_core::audit;
use mta_core::datadir::DataDir;
use mta_core::names::{Address, Domain, LocalPart};
use mta_core::policy::{SpamAction, SpamPolicy};
use serde_json::json;

use super::Output;

fn open(data: &Path) -> anyhow::Result<Directory> {
    Ok(Directory::new(DataDir::open(data)?))
}

/// Who runs the command, for the audit log.
pub fn cli_user() -> String {
    format!(
        "cli:{}",
        std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "unknown".into())
    )
}

/// Records a command-line change in the audit log.
pub fn record(directory: &Directory, action: &str, target: &str, detail: &str) {
    audit::note(directory.data(), &cli_user(), "cli", action, target, detail);
}

fn domain_config(directory: &Directory, domain: &Domain) -> anyhow::Result<DomainConfig> {
    match directory.domain(domain)? {
        Some(config) => Ok((*config).clone()),
        None => bail!("domain {domain} does not exist"),
    }
}

/// `mailroom domain limits`.
pub fn limits(
    data: &Path,
    domain: &str,
    values: [Option<u64>; 5],
    out: Output,
) -> anyhow::Result<()> {
    let directory = open(data)?;
    let domain = Domain::parse(domain)?;
    let mut config = domain_config(&directory, &domain)?;
    let [users, aliases, storage, default_quota, max_quota] = values;
    if let Some(v) = users {
        config.max_users = v;
    }
    if let Some(v) = aliases {
        config.max_aliases = v;
    }
    if let Some(v) = storage {
        config.max_storage = v;
    }
    if let Some(v) = default_quota {
        config.default_quota = v;
    }
    if let Some(v) = max_quota {
        config.max_quota = v;
    }
    if config.max_quota > 0 && config.default_quota > config.max_quota {
        bail!(
            "the default quota ({}) is above the maximum quota ({})",
            config.default_quota,
            config.max_quota
        );
    }
    directory.set_domain(&domain, &config)?;
    let detail = format!(
        "users {} aliases {} storage {} default quota {} max quota {}",
        config.max_users,
        config.max_aliases,
        config.max_storage,
        config.default_quota,
        config.max_quota
    );
    record(&directory, "domain.limits", domain.as_str(), &detail);
    out.print(&json!({ "domain": domain, "config": config }), || format!("{domain}: {detail}"))
}

/// `mailroom domain catch-all`.
pub fn catch_all(
    data: &Path,
    domain: &str,
    user: Option<String>,
    discard: bool,
    out: Output,
) -> anyhow::Result<()> {
    let directory = open(data)?;
    let domain = Domain::parse(domain)?;
    let mut config = domain_config(&directory, &domain)?;
    let user = user.as_deref().map(LocalPart::parse).transpose()?;
    if let Some(user) = &user
        && directory.account(&Address { local: user.clone(), domain: domain.clone() })?.is_none()
    {
        bail!("{user}@{domain} is not a user; the catch-all must be one");
    }
    config.catch_all = user;
    config.discard_unknown = discard;
    directory.set_domain(&domain, &config)?;
    let what = match (&config.catch_all, discard) {
        (Some(u), _) => format!("deliver to {u}@{domain}"),
        (None, true) => "discard".to_string(),
        (None, false) => "refuse (550 5.1.1)".to_string(),
    };
    record(&directory, "domain.catch-all", domain.as_str(), &what);
    out.print(
        &json!({ "domain": domain, "catch_all": config.catch_all, "discard_unknown": discard }),
        || format!("unknown addresses of {domain}: {what}"),
    )
}

/// `mailroom domain add-alias`.
pub fn add_alias_domain(data: &Path, alias: &str, target: &str, out: Output) -> anyhow::Result<()> {
    let directory = open(data)?;
    let (alias, target) = (Domain::parse(alias)?, Domain::parse(target)?);
    let target_config = domain_config(&directory, &target)?;
    if target_config.alias_of.is_some() {
        bail!("{target} is itself another name of a domain; name the domain it stands for");
    }
    let config = DomainConfig { alias_of: Some(target.clone()), ..DomainConfig::default() };
    directory.add_domain(&alias, &config)?;
    record(&directory, "domain.add-alias", alias.as_str(), &format!("another name of {target}"));
    out.print(&json!({ "added": alias, "alias_of": target }), || {
        format!("{alias} is now another name of {target}")
    })
}

fn addresses(list: &[String]) -> anyhow::Result<Vec<Address>> {
    list.iter().map(|a| Ok(Address::parse(a)?)).collect()
}

/// `mailroom domain admins`.
pub fn domain_admins(
    data: &Path,
    domain: &str,
    list: &[String],
    out: Output,
) -> anyhow::Result<()> {
    let directory = open(data)?;
    let domain = Domain::parse(domain)?;
    let admins = addresses(list)?;
    directory.set_domain_admins(&domain, &admins)?;
    let shown: Vec<String> = admins.iter().map(ToString::to_string).collect();
    record(&directory, "domain.admins", domain.as_str(), &shown.join(", "));
    out.print(&json!({ "domain": domain, "admins": admins }), || {
        if shown.is_empty() {
            format!("{domain} has no admins")
        } else {
            format!("admins of {domain}: {}", shown.join(", "))
        }
    })
}

/// What `mailroom domain spam` changes: the lists always, the rest when given.
#[derive(Debug)]
pub struct SpamChange {
    /// Senders never treated as spam.
    pub allow: Vec<String>,
    /// Senders always treated as spam.
    pub block: Vec<String>,
    /// The action.
    pub action: Option<String>,
    /// The subject tag.
    pub tag: Option<String>,
    /// Whether users may not choose their own action.
    pub lock_action: Option<bool>,
}

/// `mailroom domain spam`.
pub fn spam(data: &Path, domain: &str, change: SpamChange, out: Output) -> anyhow::Result<()> {
    let directory = open(data)?;
    let domain = Domain::parse(domain)?;
    let mut config = domain_config(&directory, &domain)?;
    let action = change
        .action
        .as_deref()
        .map(|a| SpamAction::parse(a).ok_or_else(|| anyhow::anyhow!("unknown action {a:?}")))
        .transpose()?;
    let policy = SpamPolicy {
        allow: change.allow,
        block: change.block,
        action: action.or(config.spam.action),
        tag: change.tag.unwrap_or(config.spam.tag.clone()),
        threshold: config.spam.threshold,
        lock_action: change.lock_action.unwrap_or(config.spam.lock_action),
    }
    .checked()?;
    config.spam = policy;
    directory.set_domain(&domain, &config)?;
    let detail = format!(
        "allow {} block {} action {}{}",
        config.spam.allow.join(" "),
        config.spam.block.join(" "),
        config.spam.action.unwrap_or_default().as_str(),
        if config.spam.lock_action { " (locked)" } else { "" }
    );
    record(&directory, "domain.spam", domain.as_str(), &detail);
    out.print(&json!({ "domain": domain, "spam": config.spam }), || format!("{domain}: {detail}"))
}

/// `mailroom user forward`.
pub fn forward(
    data: &Path,
    address: &str,
    targets: &[String],
    only: bool,
    out: Output,
) -> anyhow::Result<()> {
    let directory = open(data)?;
    let address = Address::parse(address)?;
    directory.set_forward(&address, targets, only)?;
    let account = directory
        .account(&address)?
        .ok_or_else(|| anyhow::anyhow!("user {address} does not exist"))?;
    let detail = if account.forward.is_empty() {
        "no forward".to_string()
    } else {
        format!(
            "to {}{}",
            account.forward.join(", "),
            if account.forward_only { " (no copy kept)" } else { " (a copy kept)" }
        )
    };
    record(&directory, "user.forward", &address.to_string(), &detail);
    out.print(&json!({ "address": address, "forward": account.forward, "forward_only": account.forward_only }), || {
        format!("{address}: {detail}")
    })
}

/// `mailroom admins`.
pub fn root_admins(data: &Path, list: &[String], clear: bool, out: Output) -> anyhow::Result<()> {
    let directory = open(data)?;
    if clear || !list.is_empty() {
        let admins = addresses(list)?;
        directory.set_root_admins(&admins)?;
        let shown: Vec<String> = admins.iter().map(ToString::to_string).collect();
        record(&directory, "admins.root", "", &shown.join(", "));
    }
    let now = directory.root_admins()?;
    out.print(&json!({ "root": now }), || {
        if now.is_empty() {
            "no root admins".to_string()
        } else {
            now.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
        }
    })
}

/// `mailroom audit`.
pub fn audit(data: &Path, limit: usize, skip: usize, out: Output) -> anyhow::Result<()> {
    let data = DataDir::open(data)?;
    let events = audit::read(&data, skip, limit)?;
    out.print(&events, || {
        let mut text = String::new();
        for e in &events {
            let d = mail_parser::DateTime::from_timestamp(e.at as i64);
            text.push_str(&format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}  {:<24} {:<16} {:<20} {} {}\n",
                d.year,
                d.month,
                d.day,
                d.hour,
                d.minute,
                d.second,
                e.who,
                e.from,
                e.action,
                e.target,
                e.detail
            ));
        }
        text
    })
}
