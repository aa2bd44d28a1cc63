//! The two TOML files of the accounts directory: `domain.toml` and `account.toml`.
//! Every key has a default, so a hand-written file may be short.

use serde::{Deserialize, Serialize};

use crate::names::{Address, Domain, LocalPart};
use crate::policy::SpamPolicy;

/// `domains/<domain>/domain.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DomainConfig {
    /// Most users the domain may have; 0 for no limit (the ISP's plan for the customer).
    pub max_users: u64,
    /// Most aliases; 0 for no limit.
    pub max_aliases: u64,
    /// Quota a new user gets when none is given, in bytes; 0 for none.
    pub default_quota: u64,
    /// Largest quota a user of this domain may have, in bytes; 0 for no limit.
    pub max_quota: u64,
    /// All mailboxes together, in bytes; 0 for no limit (what the ISP sells).
    pub max_storage: u64,
    /// Where mail for unknown local parts goes; unset: refused at RCPT with 550 5.1.1
    /// (or dropped, with `discard_unknown`).
    pub catch_all: Option<LocalPart>,
    /// Mail for unknown local parts is accepted and dropped (when there is no
    /// catch-all): for a domain that must not tell which addresses exist.
    pub discard_unknown: bool,
    /// This domain is another name of that one: `x@this` is `x@that`.
    pub alias_of: Option<Domain>,
    /// Who administers the domain (users, aliases, spam policy), by address.
    pub admins: Vec<Address>,
    /// The domain's spam policy.
    pub spam: SpamPolicy,
}

/// Services a user can be barred from, one by one (QMailAdmin's "disable POP", …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// The HTTPS webmail.
    Webmail,
    /// SMTP AUTH on submission.
    Smtp,
    /// POP3.
    Pop3,
}

impl Service {
    /// Every service.
    pub const ALL: [Service; 3] = [Service::Webmail, Service::Smtp, Service::Pop3];

    /// The name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Webmail => "webmail",
            Service::Smtp => "smtp",
            Service::Pop3 => "pop3",
        }
    }
}

/// `domains/<domain>/users/<user>/account.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Account {
    /// argon2id PHC string. Empty: no password login at all.
    pub password: String,
    /// Quota in bytes; 0 for none. Mirrored into the Maildir's `maildirsize`, which is
    /// what delivery checks.
    pub quota: u64,
    /// Services this user may not use.
    pub disabled: Vec<Service>,
    /// Addresses mail for this user is forwarded to (local or remote).
    pub forward: Vec<String>,
    /// With a forward: no copy stays in this mailbox.
    pub forward_only: bool,
}

impl Account {
    /// Whether `service` is allowed.
    pub fn allows(&self, service: Service) -> bool {
        !self.disabled.contains(&service)
    }
}
