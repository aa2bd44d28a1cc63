//! The accounts directory: virtual domains, their users and aliases, on plain files in
//! the data directory (DESIGN.md §2).
//!
//! Reads go through a cache that re-reads a file when it changes on disk
//! ([`cache::FileCache`]), so every process (and every host on shared storage) sees the
//! others' changes at its next lookup. Writes are atomic replacements or renames of whole
//! directories built aside; nothing is rewritten in place and no lock is needed. Two
//! administrators changing the *same* alias file at the same instant: the last writer
//! wins, as with any file (`domains/<d>/aliases` is small and rewritten whole).
//!
//! # Layout
//! - [`records`]: `domain.toml` and `account.toml`
//! - [`admins`]: root admins (`admins.toml`) and what each user may administer
//! - [`aliases`]: the `aliases` file
//! - [`password`]: argon2id hashing
//! - [`prefs`]: `prefs.toml`, what each user sets for themselves
//! - [`removed`]: removed domains and users, kept for a while, then purged
//! - [`cache`]: parsed files re-read on change
//! - [`resolve`]: recipient addresses to mailboxes and remote addresses
//! - [`users`]: the users of a domain: adding, changing, listing, removing, logging in

pub mod admins;
pub mod aliases;
pub mod cache;
pub mod password;
pub mod prefs;
pub mod records;
pub mod removed;
pub mod resolve;
pub mod users;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use admins::{Roles, RootAdmins};
pub use aliases::{Aliases, Target};
pub use prefs::{Prefs, PrefsError, SortField, Vacation};
pub use records::{Account, DomainConfig, Service};
pub use resolve::{Destination, Resolution};
pub use users::UserInfo;

use crate::datadir::{DataDir, write_atomic};
use crate::names::{Address, Domain, LocalPart, NameError};
use cache::{CacheError, FileCache};
use password::PasswordError;

/// `domains/<d>/domain.toml`.
pub const DOMAIN_FILE: &str = "domain.toml";
/// `domains/<d>/aliases`.
pub const ALIASES_FILE: &str = "aliases";
/// `domains/<d>/users/<u>/account.toml`.
pub const ACCOUNT_FILE: &str = "account.toml";
/// `domains/<d>/users/<u>/prefs.toml`.
pub const PREFS_FILE: &str = "prefs.toml";

/// What can go wrong; every message is meant for the person at the keyboard.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name failed the grammar.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A new password was refused.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// A preference value was refused.
    #[error(transparent)]
    Prefs(#[from] PrefsError),
    /// The domain is not served here.
    #[error("domain {0} does not exist")]
    NoSuchDomain(Domain),
    /// The domain is served already.
    #[error("domain {0} exists already")]
    DomainExists(Domain),
    /// No such user.
    #[error("user {0} does not exist")]
    NoSuchUser(Address),
    /// No such alias.
    #[error("alias {0} does not exist")]
    NoSuchAlias(Address),
    /// The name is taken by a user or an alias.
    #[error("{0} is already a {1}")]
    Taken(Address, &'static str),
    /// A limit of the domain's plan.
    #[error("domain {domain} may have at most {limit} {what}")]
    Limit {
        /// The domain.
        domain: Domain,
        /// "users" or "aliases".
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// Quotas together above what the domain's plan sells.
    #[error("{domain} may hold {max} bytes in all; its mailboxes' quotas would come to {total}")]
    StorageAboveMax {
        /// The domain.
        domain: Domain,
        /// The quotas together, with the change.
        total: u64,
        /// Allowed.
        max: u64,
    },
    /// A storage limit on a domain where some mailboxes have no quota.
    #[error(
        "{domain} may hold {max} bytes in all, but {users} have no quota; give each a quota first"
    )]
    QuotaMissing {
        /// The domain.
        domain: Domain,
        /// The mailboxes without one (the first few).
        users: String,
        /// Allowed.
        max: u64,
    },
    /// A quota above the domain's maximum.
    #[error("a quota of {quota} bytes exceeds the maximum of {max} bytes for {domain}")]
    QuotaAboveMax {
        /// The domain.
        domain: Domain,
        /// Asked for.
        quota: u64,
        /// Allowed.
        max: u64,
    },
    /// No quota, where the domain's plan caps every mailbox.
    #[error("{domain} allows no unlimited mailboxes: give a quota of at most {max} bytes")]
    UnlimitedQuota {
        /// The domain.
        domain: Domain,
        /// Allowed.
        max: u64,
    },
    /// A file of the directory does not parse.
    #[error("{}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// A system call failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Creating or configuring the Maildir failed.
    #[error(transparent)]
    Maildir(#[from] maildir::Error),
}

/// `Result` with the accounts [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io { op, path: path.to_path_buf(), source }
}

/// The outcome of checking a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// The password is right and the service allowed.
    Granted(Address),
    /// Unknown account or wrong password (never says which).
    Refused,
    /// The password is right but this service is disabled for the account.
    Disabled(Address),
}

/// The accounts directory of one data directory.
#[derive(Debug)]
pub struct Directory {
    data: DataDir,
    domains: FileCache<DomainConfig>,
    accounts: FileCache<Account>,
    aliases: FileCache<Aliases>,
    prefs: FileCache<Prefs>,
    root_admins: FileCache<RootAdmins>,
}

impl Directory {
    /// The directory over `data`.
    pub fn new(data: DataDir) -> Directory {
        Directory {
            data,
            domains: FileCache::default(),
            accounts: FileCache::default(),
            aliases: FileCache::default(),
            prefs: FileCache::default(),
            root_admins: FileCache::default(),
        }
    }

    /// The data directory.
    pub fn data(&self) -> &DataDir {
        &self.data
    }

    // --- domains --------------------------------------------------------------------

    /// Every domain served, sorted.
    pub fn domains(&self) -> Result<Vec<Domain>> {
        let dir = self.data.domains();
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err("list", &dir))? {
            let entry = entry.map_err(io_err("list", &dir))?;
            // Staging directories start with a dot and never parse.
            if let Some(domain) = entry.file_name().to_str().and_then(|n| Domain::parse(n).ok())
                && entry.path().join(DOMAIN_FILE).is_file()
            {
                out.push(domain);
            }
        }
        out.sort();
        Ok(out)
    }

    /// A domain's configuration; `None` if it is not served here.
    pub fn domain(&self, domain: &Domain) -> Result<Option<Arc<DomainConfig>>> {
        let path = self.data.domain(domain).join(DOMAIN_FILE);
        read_toml(&self.domains, &path)
    }

    /// Whether mail for `domain` is delivered here.
    pub fn is_local(&self, domain: &Domain) -> Result<bool> {
        Ok(self.domain(domain)?.is_some())
    }

    fn require_domain(&self, domain: &Domain) -> Result<Arc<DomainConfig>> {
        self.domain(domain)?.ok_or_else(|| Error::NoSuchDomain(domain.clone()))
    }

    /// Adds a domain: its directory is built aside and renamed into place, so nobody sees
    /// half a domain.
    pub fn add_domain(&self, domain: &Domain, config: &DomainConfig) -> Result<()> {
        let target = self.data.domain(domain);
        if target.exists() {
            return Err(Error::DomainExists(domain.clone()));
        }
        let staging = self.data.domains().join(format!(".new-{}", maildir::name::unique_name()));
        let built = (|| -> Result<()> {
            fs::create_dir_all(staging.join("users")).map_err(io_err("create", &staging))?;
            write_toml(&staging.join(DOMAIN_FILE), config)?;
            let aliases = aliases::format(&Aliases::new(), domain);
            write_atomic(&staging.join(ALIASES_FILE), aliases.as_bytes())
                .map_err(io_err("write", &staging))?;
            rename_into_place(&staging, &target).map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists | io::ErrorKind::DirectoryNotEmpty => {
                    Error::DomainExists(domain.clone())
                }
                _ => Error::Io { op: "create", path: target.clone(), source: e },
            })
        })();
        if built.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        built
    }

    /// Replaces a domain's configuration (limits, catch-all). A new storage limit must
    /// hold the quotas the users already have.
    pub fn set_domain(&self, domain: &Domain, config: &DomainConfig) -> Result<()> {
        let current = self.require_domain(domain)?;
        if config.max_storage != current.max_storage {
            self.check_storage(domain, config, None, 0)?;
        }
        write_toml(&self.data.domain(domain).join(DOMAIN_FILE), config)
    }

    /// Removes a domain with all its users and mail: the whole directory is moved under
    /// `removed/` in one rename (mail for it is refused from that instant) and kept there
    /// for the operator to restore or delete. Returns where it went.
    pub fn remove_domain(&self, domain: &Domain) -> Result<PathBuf> {
        self.require_domain(domain)?;
        let aside = self.data.removed().join(format!("{domain}.{}", maildir::name::unique_name()));
        self.move_aside(&self.data.domain(domain), &aside)?;
        Ok(aside)
    }

    fn move_aside(&self, from: &Path, to: &Path) -> Result<()> {
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        fs::rename(from, to).map_err(io_err("move aside", from))
    }

    /// Sets a domain's admins (each must be a user here).
    pub fn set_domain_admins(&self, domain: &Domain, admins: &[Address]) -> Result<()> {
        let mut config = (*self.require_domain(domain)?).clone();
        for admin in admins {
            self.require_account(admin)?;
        }
        let mut list: Vec<Address> = Vec::new();
        for admin in admins {
            if !list.contains(admin) {
                list.push(admin.clone());
            }
        }
        config.admins = list;
        self.set_domain(domain, &config)
    }

    /// Checks that quotas together stay within the domain's storage: every other user's
    /// quota plus `quota` for `user` (a new one, or a change), or every user's when `user`
    /// is `None` (a new limit). Under a storage limit every mailbox needs a quota.
    fn check_storage(
        &self,
        domain: &Domain,
        config: &DomainConfig,
        user: Option<&LocalPart>,
        quota: u64,
    ) -> Result<()> {
        if config.max_storage == 0 {
            return Ok(());
        }
        if user.is_some() && quota == 0 {
            return Err(Error::UnlimitedQuota { domain: domain.clone(), max: config.max_storage });
        }
        let (mut total, mut unlimited) = (quota, Vec::new());
        for other in self.user_infos(domain)? {
            if Some(&other.address.local) == user {
                continue;
            }
            if other.quota == 0 {
                unlimited.push(other.address.to_string());
            }
            total = total.saturating_add(other.quota);
        }
        if !unlimited.is_empty() {
            let mut users = unlimited.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
            if unlimited.len() > 5 {
                users.push_str(&format!(" and {} more", unlimited.len() - 5));
            }
            return Err(Error::QuotaMissing {
                domain: domain.clone(),
                users,
                max: config.max_storage,
            });
        }
        if total > config.max_storage {
            return Err(Error::StorageAboveMax {
                domain: domain.clone(),
                total,
                max: config.max_storage,
            });
        }
        Ok(())
    }

    /// A domain's users counted, and the bytes all their mailboxes use (from their
    /// `maildirsize`), in one listing of the users.
    pub fn usage(&self, domain: &Domain) -> Result<(usize, u64)> {
        let users = self.users(domain)?;
        let mut used = 0u64;
        for local in &users {
            let maildir = self.maildir(&Address { local: local.clone(), domain: domain.clone() });
            if let Ok(Some(status)) = maildir::quota::status(&maildir) {
                used = used.saturating_add(status.used.bytes);
            }
        }
        Ok((users.len(), used))
    }

    // --- admins ---------------------------------------------------------------------

    /// The root admins.
    pub fn root_admins(&self) -> Result<Vec<Address>> {
        let path = self.data.root().join(admins::ADMINS_FILE);
        Ok(read_toml(&self.root_admins, &path)?.map(|r| r.root.clone()).unwrap_or_default())
    }

    /// Sets the root admins (each must be a user here).
    pub fn set_root_admins(&self, list: &[Address]) -> Result<()> {
        for admin in list {
            self.require_account(admin)?;
        }
        let mut root: Vec<Address> = Vec::new();
        for admin in list {
            if !root.contains(admin) {
                root.push(admin.clone());
            }
        }
        write_toml(&self.data.root().join(admins::ADMINS_FILE), &RootAdmins { root })
    }

    /// What `user` may administer, as the files say now.
    pub fn roles(&self, user: &Address) -> Result<Roles> {
        if self.root_admins()?.contains(user) {
            return Ok(Roles { root: true, domains: self.domains()? });
        }
        let mut domains = Vec::new();
        for domain in self.domains()? {
            if self.domain(&domain)?.is_some_and(|c| c.admins.contains(user)) {
                domains.push(domain);
            }
        }
        Ok(Roles { root: false, domains })
    }

    // --- aliases --------------------------------------------------------------------

    /// A domain's aliases (bad lines of a hand-edited file are skipped, with a warning).
    pub fn aliases(&self, domain: &Domain) -> Result<Arc<Aliases>> {
        self.require_domain(domain)?;
        let path = self.data.domain(domain).join(ALIASES_FILE);
        let parsed = self.aliases.get(&path, |bytes| {
            let text = String::from_utf8_lossy(bytes);
            let (aliases, bad) =
                aliases::parse(&text, domain, |d| self.is_local(d).unwrap_or(false));
            for line in bad {
                tracing::warn!(file = %path.display(), line = line.line, "{}", line.reason);
            }
            Ok::<_, std::convert::Infallible>(aliases)
        });
        match parsed {
            Ok(Some(aliases)) => Ok(aliases),
            Ok(None) => Ok(Arc::new(Aliases::new())),
            Err(CacheError::Io(e)) => Err(Error::Io { op: "read", path, source: e }),
            Err(CacheError::Parse(never)) => match never {},
        }
    }

    /// Adds targets to an alias, creating it if needed. Returns its targets now.
    pub fn add_alias(&self, alias: &Address, targets: &[String]) -> Result<Vec<Target>> {
        let config = self.require_domain(&alias.domain)?;
        if self.account(alias)?.is_some() {
            return Err(Error::Taken(alias.clone(), "user"));
        }
        let mut all = (*self.aliases(&alias.domain)?).clone();
        if !all.contains_key(&alias.local)
            && config.max_aliases > 0
            && all.len() as u64 >= config.max_aliases
        {
            return Err(Error::Limit {
                domain: alias.domain.clone(),
                what: "aliases",
                limit: config.max_aliases,
            });
        }
        let mut parsed = Vec::new();
        for target in targets {
            parsed
                .push(Target::parse(target, &alias.domain, |d| self.is_local(d).unwrap_or(false))?);
        }
        let list = all.entry(alias.local.clone()).or_default();
        for target in parsed {
            if !list.contains(&target) && list.len() < aliases::MAX_TARGETS {
                list.push(target);
            }
        }
        let now = list.clone();
        self.write_aliases(&alias.domain, &all)?;
        Ok(now)
    }

    /// Removes an alias, or with `targets`, only those targets (the alias goes when its
    /// last target does).
    pub fn remove_alias(&self, alias: &Address, targets: &[String]) -> Result<()> {
        let mut all = (*self.aliases(&alias.domain)?).clone();
        let Some(list) = all.get_mut(&alias.local) else {
            return Err(Error::NoSuchAlias(alias.clone()));
        };
        if targets.is_empty() {
            all.remove(&alias.local);
        } else {
            for target in targets {
                let target =
                    Target::parse(target, &alias.domain, |d| self.is_local(d).unwrap_or(false))?;
                list.retain(|t| *t != target);
            }
            if list.is_empty() {
                all.remove(&alias.local);
            }
        }
        self.write_aliases(&alias.domain, &all)
    }

    fn write_aliases(&self, domain: &Domain, all: &Aliases) -> Result<()> {
        let path = self.data.domain(domain).join(ALIASES_FILE);
        write_atomic(&path, aliases::format(all, domain).as_bytes()).map_err(io_err("write", &path))
    }
}

/// `rename(2)` of a directory built aside onto a name that must not exist; a non-empty
/// directory there makes it fail (so two creators cannot both win).
fn rename_into_place(staging: &Path, target: &Path) -> io::Result<()> {
    if target.exists() {
        return Err(io::Error::from(io::ErrorKind::AlreadyExists));
    }
    fs::rename(staging, target)?;
    if let Some(parent) = target.parent() {
        fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

fn read_toml<T: serde::de::DeserializeOwned>(
    cache: &FileCache<T>,
    path: &Path,
) -> Result<Option<Arc<T>>> {
    let parsed = cache.get(path, |bytes| {
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        toml::from_str::<T>(text).map_err(|e| e.to_string())
    });
    match parsed {
        Ok(value) => Ok(value),
        Err(CacheError::Io(e)) => {
            Err(Error::Io { op: "read", path: path.to_path_buf(), source: e })
        }
        Err(CacheError::Parse(reason)) => Err(Error::Corrupt { path: path.to_path_buf(), reason }),
    }
}

fn write_toml<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = toml::to_string(value)
        .map_err(|e| Error::Corrupt { path: path.to_path_buf(), reason: e.to_string() })?;
    write_atomic(path, text.as_bytes()).map_err(io_err("write", path))
}
