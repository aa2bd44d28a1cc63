//! From a recipient address to where its mail goes: users first (and where they forward
//! to), then aliases (followed to other aliases, at most [`MAX_DEPTH`] deep), then the
//! domain's catch-all, then, if the domain says so, nowhere (discarded). A domain that is
//! another name of a domain resolves in that one. `user+tag@domain` is looked up as
//! `user@domain`.

use serde::Serialize;

use super::{Directory, Result, Target};
use crate::names::{Address, Domain, LocalPart, RemoteAddress, TAG_SEPARATOR};

/// How deep aliases may point to aliases; a longer chain is cut (and logged), which also
/// ends alias loops.
pub const MAX_DEPTH: usize = 8;
/// Most destinations one recipient may expand to.
pub const MAX_DESTINATIONS: usize = 10_000;

/// One place a message goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "address", rename_all = "lowercase")]
pub enum Destination {
    /// A mailbox here.
    Mailbox(Address),
    /// An address elsewhere (delivered by remote delivery).
    Remote(RemoteAddress),
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Mailbox(a) => a.fmt(f),
            Destination::Remote(a) => a.fmt(f),
        }
    }
}

/// What a recipient address is, for this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Its domain is not served here (relaying, for authenticated senders only).
    NotLocal,
    /// Its domain is served here but nothing answers to it.
    Unknown,
    /// Where it goes (never empty).
    Found(Vec<Destination>),
    /// Nothing answers to it and the domain drops such mail rather than refusing it.
    Discard,
}

impl Directory {
    /// Resolves an envelope recipient. Anything that is not `local@domain` in the strict
    /// grammar of a served domain is `NotLocal` or `Unknown`, never a mailbox.
    pub fn resolve(&self, recipient: &str) -> Result<Resolution> {
        let Some((local, domain)) = recipient.rsplit_once('@') else {
            return Ok(Resolution::NotLocal);
        };
        let Ok(domain) = Domain::parse(domain) else {
            return Ok(Resolution::NotLocal);
        };
        let Some(config) = self.domain(&domain)? else {
            return Ok(Resolution::NotLocal);
        };
        // Another name of a domain: the same address there (one step, never a chain).
        let (domain, config) = match &config.alias_of {
            Some(target) => match self.domain(target)? {
                Some(target_config) => (target.clone(), target_config),
                None => return Ok(Resolution::Unknown),
            },
            None => (domain, config),
        };
        let base = local.split_once(TAG_SEPARATOR).map_or(local, |(base, _tag)| base);
        let Ok(local) = LocalPart::parse(base) else {
            return Ok(Resolution::Unknown);
        };
        let mut out = Vec::new();
        self.expand(&Address { local, domain: domain.clone() }, 0, &mut out)?;
        if out.is_empty()
            && let Some(catch_all) = &config.catch_all
        {
            self.expand(&Address { local: catch_all.clone(), domain }, 0, &mut out)?;
        }
        Ok(match (out.is_empty(), config.discard_unknown) {
            (false, _) => Resolution::Found(out),
            (true, true) => Resolution::Discard,
            (true, false) => Resolution::Unknown,
        })
    }

    fn expand(&self, address: &Address, depth: usize, out: &mut Vec<Destination>) -> Result<()> {
        if out.len() >= MAX_DESTINATIONS {
            return Ok(());
        }
        if let Some(account) = self.account(address)? {
            if account.forward.is_empty() || !account.forward_only {
                let dest = Destination::Mailbox(address.clone());
                if !out.contains(&dest) {
                    out.push(dest);
                }
            }
            if depth >= MAX_DEPTH {
                tracing::warn!(user = %address, "forward chain deeper than {MAX_DEPTH}: cut");
                return Ok(());
            }
            for target in &account.forward {
                match Target::parse(target, &address.domain, |d| self.is_local(d).unwrap_or(false))
                {
                    Ok(Target::Local(next)) => self.expand(&next, depth + 1, out)?,
                    Ok(Target::Remote(remote)) => {
                        let dest = Destination::Remote(remote);
                        if !out.contains(&dest) && out.len() < MAX_DESTINATIONS {
                            out.push(dest);
                        }
                    }
                    Err(e) => tracing::warn!(user = %address, "forward to {target:?} skipped: {e}"),
                }
            }
            return Ok(());
        }
        let Some(config) = self.domain(&address.domain)? else {
            return Ok(());
        };
        if let Some(target) = &config.alias_of
            && depth < MAX_DEPTH
        {
            let next = Address { local: address.local.clone(), domain: target.clone() };
            return self.expand(&next, depth + 1, out);
        }
        let aliases = self.aliases(&address.domain)?;
        let Some(targets) = aliases.get(&address.local) else {
            return Ok(());
        };
        if depth >= MAX_DEPTH {
            tracing::warn!(alias = %address, "alias chain deeper than {MAX_DEPTH}: cut");
            return Ok(());
        }
        for target in targets {
            match target {
                Target::Local(next) => self.expand(next, depth + 1, out)?,
                Target::Remote(remote) => {
                    let dest = Destination::Remote(remote.clone());
                    if !out.contains(&dest) && out.len() < MAX_DESTINATIONS {
                        out.push(dest);
                    }
                }
            }
        }
        Ok(())
    }
}
