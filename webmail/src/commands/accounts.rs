//! `mailroom domain|user|alias …`: the accounts directory from the command line.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use anyhow::{Context, bail};
use mta_core::accounts::{Directory, DomainConfig, Service};
use mta_core::datadir::DataDir;
use mta_core::names::{Address, Domain, LocalPart};
use serde_json::json;

use super::Output;
use super::admin::{self, record};
use crate::cli::{AliasCommand, DomainCommand, UserCommand};

fn open(data: &Path) -> anyhow::Result<Directory> {
    Ok(Directory::new(DataDir::open(data)?))
}

/// `mailroom domain …`.
pub fn domain(data: &Path, command: DomainCommand, out: Output) -> anyhow::Result<()> {
    match command {
        DomainCommand::Add { domain, limits } => {
            // The first domain may create the data directory itself.
            let directory = Directory::new(DataDir::create(data)?);
            let domain = Domain::parse(&domain)?;
            let config = DomainConfig {
                max_users: limits.max_users,
                max_aliases: limits.max_aliases,
                default_quota: limits.default_quota.unwrap_or(0),
                max_quota: limits.max_quota.unwrap_or(0),
                max_storage: limits.max_storage.unwrap_or(0),
                catch_all: limits.catch_all.as_deref().map(LocalPart::parse).transpose()?,
                ..DomainConfig::default()
            };
            directory.add_domain(&domain, &config)?;
            record(&directory, "domain.add", domain.as_str(), "");
            out.print(&json!({ "added": domain, "config": config }), || format!("added {domain}"))
        }
        DomainCommand::List => {
            let directory = open(data)?;
            let mut rows = Vec::new();
            for domain in directory.domains()? {
                let config = directory.domain(&domain)?.unwrap_or_default();
                let users = directory.users(&domain)?.len();
                let aliases = directory.aliases(&domain)?.len();
                rows.push(json!({
                    "domain": domain, "users": users, "aliases": aliases,
                    "max_users": config.max_users, "max_aliases": config.max_aliases,
                    "default_quota": config.default_quota, "max_quota": config.max_quota,
                    "catch_all": config.catch_all,
                }));
            }
            out.print(&rows, || {
                let mut text = format!("{:<32} {:>7} {:>7}\n", "DOMAIN", "USERS", "ALIASES");
                for r in &rows {
                    let limit = |n: &serde_json::Value, max: &serde_json::Value| match max.as_u64()
                    {
                        Some(0) | None => n.to_string(),
                        Some(max) => format!("{n}/{max}"),
                    };
                    text.push_str(&format!(
                        "{:<32} {:>7} {:>7}\n",
                        r["domain"].as_str().unwrap_or_default(),
                        limit(&r["users"], &r["max_users"]),
                        limit(&r["aliases"], &r["max_aliases"]),
                    ));
                }
                text
            })
        }
        DomainCommand::Limits {
            domain,
            max_users,
            max_aliases,
            max_storage,
            default_quota,
            max_quota,
        } => admin::limits(
            data,
            &domain,
            [max_users, max_aliases, max_storage, default_quota, max_quota],
            out,
        ),
        DomainCommand::CatchAll { domain, user, bounce: _, discard } => {
            admin::catch_all(data, &domain, user, discard, out)
        }
        DomainCommand::AddAlias { alias, target } => {
            admin::add_alias_domain(data, &alias, &target, out)
        }
        DomainCommand::Admins { domain, addresses } => {
            admin::domain_admins(data, &domain, &addresses, out)
        }
        DomainCommand::Spam { domain, allow, block, action, tag, lock_action } => {
            let change = admin::SpamChange { allow, block, action, tag, lock_action };
            admin::spam(data, &domain, change, out)
        }
        DomainCommand::Remove { domain, yes } => {
            let directory = open(data)?;
            let domain = Domain::parse(&domain)?;
            if !yes {
                bail!(
                    "removing {domain} takes all its users and mail offline; add --yes to confirm"
                );
            }
            let aside = directory.remove_domain(&domain)?;
            record(
                &directory,
                "domain.remove",
                domain.as_str(),
                &format!("kept at {}", aside.display()),
            );
            out.print(&json!({ "removed": domain, "kept_at": aside }), || {
                format!("removed {domain}; its files are kept at {}", aside.display())
            })
        }
    }
}

/// `mailroom user …`.
pub fn user(data: &Path, command: UserCommand, out: Output) -> anyhow::Result<()> {
    let directory = open(data)?;
    match command {
        UserCommand::Add { address, quota } => {
            let address = Address::parse(&address)?;
            if directory.domain(&address.domain)?.is_none() {
                bail!(
                    "domain {} does not exist; add it first with `mailroom domain add`",
                    address.domain
                );
            }
            let password = read_password(&format!("password for {address}"))?;
            let account = directory.add_user(&address, &password, quota)?;
            record(
                &directory,
                "user.add",
                &address.to_string(),
                &format!("quota {}", account.quota),
            );
            out.print(&json!({ "added": address, "quota": account.quota }), || {
                format!("added {address}")
            })
        }
        UserCommand::Passwd { address } => {
            let address = Address::parse(&address)?;
            if directory.account(&address)?.is_none() {
                bail!("user {address} does not exist");
            }
            let password = read_password(&format!("new password for {address}"))?;
            directory.set_password(&address, &password)?;
            record(&directory, "user.password", &address.to_string(), "");
            out.print(&json!({ "changed": address }), || format!("password of {address} changed"))
        }
        UserCommand::Quota { address, bytes } => {
            let address = Address::parse(&address)?;
            directory.set_quota(&address, bytes)?;
            record(&directory, "user.quota", &address.to_string(), &bytes.to_string());
            out.print(&json!({ "address": address, "quota": bytes }), || {
                format!(
                    "quota of {address}: {}",
                    if bytes == 0 { "none".into() } else { format!("{bytes} bytes") }
                )
            })
        }
        UserCommand::Service { address, service, enable, disable: _ } => {
            let address = Address::parse(&address)?;
            directory.set_service(&address, service.into(), enable)?;
            let state = if enable { "enabled" } else { "disabled" };
            record(
                &directory,
                "user.service",
                &address.to_string(),
                &format!("{} {state}", Service::from(service).as_str()),
            );
            out.print(&json!({ "address": address, "service": Service::from(service), "enabled": enable }), || {
                format!("{} {state} for {address}", Service::from(service).as_str())
            })
        }
        UserCommand::Forward { address, targets, only } => {
            admin::forward(data, &address, &targets, only, out)
        }
        UserCommand::List { domain } => {
            let domain = Domain::parse(&domain)?;
            let users = directory.user_infos(&domain)?;
            out.print(&users, || {
                let mut text =
                    format!("{:<40} {:>12} {:>12}  {}\n", "USER", "QUOTA", "USED", "DISABLED");
                for u in &users {
                    let quota = if u.quota == 0 { "-".to_string() } else { u.quota.to_string() };
                    let used = u.used.map_or("-".to_string(), |b| b.to_string());
                    let disabled: Vec<&str> = u.disabled.iter().map(|s| s.as_str()).collect();
                    text.push_str(&format!(
                        "{:<40} {quota:>12} {used:>12}  {}\n",
                        u.address.to_string(),
                        disabled.join(",")
                    ));
                }
                text
            })
        }
        UserCommand::Remove { address, yes } => {
            let address = Address::parse(&address)?;
            if !yes {
                bail!("removing {address} takes their mail offline; add --yes to confirm");
            }
            let aside = directory.remove_user(&address)?;
            record(
                &directory,
                "user.remove",
                &address.to_string(),
                &format!("kept at {}", aside.display()),
            );
            out.print(&json!({ "removed": address, "kept_at": aside }), || {
                format!("removed {address}; their files are kept at {}", aside.display())
            })
        }
    }
}

/// `mailroom alias …`.
pub fn alias(data: &Path, command: AliasCommand, out: Output) -> anyhow::Result<()> {
    let directory = open(data)?;
    match command {
        AliasCommand::Add { alias, targets } => {
            let alias = Address::parse(&alias)?;
            let now = directory.add_alias(&alias, &targets)?;
            record(&directory, "alias.add", &alias.to_string(), &targets.join(", "));
            out.print(&json!({ "alias": alias, "targets": now }), || {
                let list: Vec<String> = now.iter().map(|t| t.to_string()).collect();
                format!("{alias} → {}", list.join(", "))
            })
        }
        AliasCommand::List { domain } => {
            let domain = Domain::parse(&domain)?;
            let aliases = directory.aliases(&domain)?;
            let rows: Vec<_> = aliases
                .iter()
                .map(|(name, targets)| json!({ "alias": format!("{name}@{domain}"), "targets": targets }))
                .collect();
            out.print(&rows, || {
                let mut text = String::new();
                for (name, targets) in aliases.iter() {
                    let list: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
                    text.push_str(&format!("{name}@{domain} → {}\n", list.join(", ")));
                }
                text
            })
        }
        AliasCommand::Remove { alias, targets } => {
            let alias = Address::parse(&alias)?;
            directory.remove_alias(&alias, &targets)?;
            record(&directory, "alias.remove", &alias.to_string(), &targets.join(", "));
            out.print(&json!({ "removed": alias, "targets": targets }), || {
                if targets.is_empty() {
                    format!("removed alias {alias}")
                } else {
                    format!("removed {} from {alias}", targets.join(", "))
                }
            })
        }
    }
}

/// A password from the terminal (asked twice, not echoed) or, when stdin is not a
/// terminal, its first line. Never from the command line, where `ps` would show it.
fn read_password(prompt: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("{prompt}: "))?;
        let again = rpassword::prompt_password("again: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("no password on stdin (give it as the first line)");
    }
    Ok(password.to_string())
}
