//! Who administers what. Root admins (every domain, the queue, the audit log) are
//! listed in `<data>/admins.toml`; each domain's admins in its `domain.toml`. An admin
//! is an address with a mailbox here: they log in like anyone and the pages they may use
//! follow from these two lists, read fresh at every request (a change made by another
//! process or host applies at once).

use serde::{Deserialize, Serialize};

use crate::names::{Address, Domain};

/// `<data>/admins.toml`.
pub const ADMINS_FILE: &str = "admins.toml";

/// `admins.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RootAdmins {
    /// Addresses with every right.
    pub root: Vec<Address>,
}

/// What one user may administer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    /// A root admin: everything.
    pub root: bool,
    /// The domains they administer (every domain, for a root admin).
    pub domains: Vec<Domain>,
}

impl Roles {
    /// Whether they may administer `domain`.
    pub fn can_admin(&self, domain: &Domain) -> bool {
        self.root || self.domains.contains(domain)
    }

    /// Whether they administer anything.
    pub fn is_admin(&self) -> bool {
        self.root || !self.domains.is_empty()
    }
}
