//! The users of a domain: listing them with their quota and use, adding one (a
//! directory built aside and renamed into place), password, quota, services and
//! forward, removing one (moved aside), and checking a login.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{
    ACCOUNT_FILE, Account, Directory, DomainConfig, Error, Login, PREFS_FILE, Prefs, Result,
    Service, Target, aliases, io_err, password, read_toml, rename_into_place, write_toml,
};
use crate::names::{Address, Domain, LocalPart};

/// A user with what the listing commands show.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserInfo {
    /// The address.
    pub address: Address,
    /// Quota in bytes, 0 for none.
    pub quota: u64,
    /// Bytes in use, from `maildirsize` (when the user has a quota).
    pub used: Option<u64>,
    /// Disabled services.
    pub disabled: Vec<Service>,
}

impl Directory {
    /// The users of a domain, sorted.
    pub fn users(&self, domain: &Domain) -> Result<Vec<LocalPart>> {
        self.require_domain(domain)?;
        let dir = self.data.domain(domain).join("users");
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err("list", &dir))? {
            let entry = entry.map_err(io_err("list", &dir))?;
            if let Some(user) = entry.file_name().to_str().and_then(|n| LocalPart::parse(n).ok())
                && entry.path().join(ACCOUNT_FILE).is_file()
            {
                out.push(user);
            }
        }
        out.sort();
        Ok(out)
    }

    /// The users of a domain with quota and usage.
    pub fn user_infos(&self, domain: &Domain) -> Result<Vec<UserInfo>> {
        let mut out = Vec::new();
        for local in self.users(domain)? {
            out.extend(self.user_info(&Address { local, domain: domain.clone() })?);
        }
        Ok(out)
    }

    /// One user's quota, use and disabled services; `None` if there is no such user.
    pub fn user_info(&self, address: &Address) -> Result<Option<UserInfo>> {
        let Some(account) = self.account(address)? else { return Ok(None) };
        let used =
            maildir::quota::status(&self.maildir(address)).ok().flatten().map(|s| s.used.bytes);
        Ok(Some(UserInfo {
            address: address.clone(),
            quota: account.quota,
            used,
            disabled: account.disabled.clone(),
        }))
    }

    /// A user's account; `None` if there is no such user.
    pub fn account(&self, address: &Address) -> Result<Option<Arc<Account>>> {
        let path = self.data.user(&address.domain, &address.local).join(ACCOUNT_FILE);
        read_toml(&self.accounts, &path)
    }

    pub(super) fn require_account(&self, address: &Address) -> Result<Arc<Account>> {
        self.account(address)?.ok_or_else(|| Error::NoSuchUser(address.clone()))
    }

    /// A user's preferences (the defaults when they never saved any).
    pub fn prefs(&self, address: &Address) -> Result<Arc<Prefs>> {
        self.require_account(address)?;
        let path = self.data.user(&address.domain, &address.local).join(PREFS_FILE);
        Ok(read_toml(&self.prefs, &path)?.unwrap_or_default())
    }

    /// Saves a user's preferences (checked first; written atomically, whole).
    pub fn set_prefs(&self, address: &Address, prefs: &Prefs) -> Result<()> {
        prefs.check()?;
        self.require_account(address)?;
        write_toml(&self.data.user(&address.domain, &address.local).join(PREFS_FILE), prefs)
    }

    /// The user's Maildir.
    pub fn maildir(&self, address: &Address) -> PathBuf {
        self.data.maildir(&address.domain, &address.local)
    }

    /// Adds a user with a password and a quota (`None`: the domain's default). The user's
    /// directory (account file, Maildir with its folders and `maildirsize`) is built aside
    /// and renamed into place.
    pub fn add_user(
        &self,
        address: &Address,
        password: &str,
        quota: Option<u64>,
    ) -> Result<Account> {
        let config = self.require_domain(&address.domain)?;
        if config.max_users > 0 && self.users(&address.domain)?.len() as u64 >= config.max_users {
            return Err(Error::Limit {
                domain: address.domain.clone(),
                what: "users",
                limit: config.max_users,
            });
        }
        if self.aliases(&address.domain)?.contains_key(&address.local) {
            return Err(Error::Taken(address.clone(), "alias"));
        }
        // No quota given: the domain's default, else its maximum (never "unlimited" in a
        // domain whose plan caps mailboxes).
        let fallback =
            if config.default_quota > 0 { config.default_quota } else { config.max_quota };
        let quota = quota.unwrap_or(fallback);
        check_quota(&address.domain, &config, quota)?;
        self.check_storage(&address.domain, &config, Some(&address.local), quota)?;
        let account = Account { password: password::hash(password)?, quota, ..Account::default() };

        let target = self.data.user(&address.domain, &address.local);
        if target.exists() {
            return Err(Error::Taken(address.clone(), "user"));
        }
        let users = self.data.domain(&address.domain).join("users");
        let staging = users.join(format!(".new-{}", maildir::name::unique_name()));
        let built = (|| -> Result<()> {
            fs::create_dir_all(&staging).map_err(io_err("create", &staging))?;
            let mailbox = maildir::Maildir::create(staging.join("Maildir"))?;
            set_maildir_quota(mailbox.root(), quota)?;
            write_toml(&staging.join(ACCOUNT_FILE), &account)?;
            rename_into_place(&staging, &target).map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists | io::ErrorKind::DirectoryNotEmpty => {
                    Error::Taken(address.clone(), "user")
                }
                _ => Error::Io { op: "create", path: target.clone(), source: e },
            })
        })();
        if built.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        built.map(|()| account)
    }

    /// Sets a user's password. Takes effect at the next login anywhere (SMTP AUTH, POP3,
    /// webmail), since every check reads the account file.
    pub fn set_password(&self, address: &Address, password: &str) -> Result<()> {
        let mut account = (*self.require_account(address)?).clone();
        account.password = password::hash(password)?;
        self.write_account(address, &account)
    }

    /// Sets a user's quota in bytes (0: none), within the domain's maximum.
    pub fn set_quota(&self, address: &Address, quota: u64) -> Result<()> {
        let config = self.require_domain(&address.domain)?;
        check_quota(&address.domain, &config, quota)?;
        self.check_storage(&address.domain, &config, Some(&address.local), quota)?;
        let mut account = (*self.require_account(address)?).clone();
        account.quota = quota;
        set_maildir_quota(&self.maildir(address), quota)?;
        self.write_account(address, &account)
    }

    /// Enables or disables one service for a user.
    pub fn set_service(&self, address: &Address, service: Service, enabled: bool) -> Result<()> {
        let mut account = (*self.require_account(address)?).clone();
        account.disabled.retain(|s| *s != service);
        if !enabled {
            account.disabled.push(service);
        }
        self.write_account(address, &account)
    }

    /// Sets where a user's mail is forwarded (`targets`: addresses, local or remote, or
    /// user names of the same domain) and whether a copy stays; no targets: no forward.
    pub fn set_forward(
        &self,
        address: &Address,
        targets: &[String],
        forward_only: bool,
    ) -> Result<()> {
        let mut account = (*self.require_account(address)?).clone();
        let mut parsed: Vec<String> = Vec::new();
        for target in targets {
            let target =
                Target::parse(target, &address.domain, |d| self.is_local(d).unwrap_or(false))?;
            if target == Target::Local(address.clone()) {
                continue;
            }
            let text = target.to_string();
            if !parsed.contains(&text) && parsed.len() < aliases::MAX_TARGETS {
                parsed.push(text);
            }
        }
        account.forward_only = forward_only && !parsed.is_empty();
        account.forward = parsed;
        self.write_account(address, &account)
    }

    fn write_account(&self, address: &Address, account: &Account) -> Result<()> {
        let path = self.data.user(&address.domain, &address.local).join(ACCOUNT_FILE);
        write_toml(&path, account)
    }

    /// Removes a user and their mail: moved under `removed/` in one rename. Returns where
    /// it went.
    pub fn remove_user(&self, address: &Address) -> Result<PathBuf> {
        self.require_account(address)?;
        let aside = self.data.removed().join(address.domain.as_str()).join(format!(
            "{}.{}",
            address.local,
            maildir::name::unique_name()
        ));
        self.move_aside(&self.data.user(&address.domain, &address.local), &aside)?;
        Ok(aside)
    }

    /// Checks a login (a full address and its password) for a service. Unknown accounts
    /// cost the same hashing time as known ones. This hashes: call it off the async
    /// runtime's worker threads.
    pub fn login(&self, login: &str, password: &[u8], service: Service) -> Result<Login> {
        let account = match Address::parse(login.trim()) {
            Ok(address) => self.account(&address)?.map(|a| (address, a)),
            Err(_) => None,
        };
        let Some((address, account)) = account else {
            password::verify(password, password::decoy());
            return Ok(Login::Refused);
        };
        if !password::verify(password, &account.password) {
            return Ok(Login::Refused);
        }
        Ok(if account.allows(service) { Login::Granted(address) } else { Login::Disabled(address) })
    }
}

fn check_quota(domain: &Domain, config: &DomainConfig, quota: u64) -> Result<()> {
    if config.max_quota > 0 && quota == 0 {
        return Err(Error::UnlimitedQuota { domain: domain.clone(), max: config.max_quota });
    }
    if config.max_quota > 0 && quota > config.max_quota {
        return Err(Error::QuotaAboveMax { domain: domain.clone(), quota, max: config.max_quota });
    }
    Ok(())
}

fn set_maildir_quota(root: &Path, quota: u64) -> Result<()> {
    let limit =
        (quota > 0).then_some(maildir::quota::QuotaLimit { bytes: Some(quota), messages: None });
    maildir::quota::set_limit(root, limit)?;
    Ok(())
}
