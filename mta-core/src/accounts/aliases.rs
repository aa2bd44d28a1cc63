//! `domains/<domain>/aliases`: one alias a line, `name: target, target, …`.
//!
//! ```text
//! # comments and blank lines are kept out of the way
//! info: alice, bob
//! sales: alice, partner@example.net
//! ```
//!
//! A target without `@` is a user (or alias) of the same domain; one with `@` is any
//! address, local or remote. The file is rewritten whole, atomically.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::names::{Address, Domain, LocalPart, NameError, RemoteAddress};

/// Most targets one alias may have.
pub const MAX_TARGETS: usize = 1000;

/// Where an alias sends mail.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub enum Target {
    /// An address of a domain served here (user or alias).
    Local(Address),
    /// An address elsewhere.
    Remote(RemoteAddress),
}

impl Target {
    /// Parses a target as written in the file or on the command line. `local_domains`
    /// decides whether `x@domain` is local.
    pub fn parse(
        input: &str,
        own: &Domain,
        is_local: impl Fn(&Domain) -> bool,
    ) -> Result<Target, NameError> {
        let input = input.trim();
        if !input.contains('@') {
            return Ok(Target::Local(Address {
                local: LocalPart::parse(input)?,
                domain: own.clone(),
            }));
        }
        let remote = RemoteAddress::parse(input)?;
        let domain = Domain::parse(remote.domain())?;
        if is_local(&domain) {
            return Ok(Target::Local(Address::parse(remote.as_str())?));
        }
        Ok(Target::Remote(remote))
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Local(a) => a.fmt(f),
            Target::Remote(a) => a.fmt(f),
        }
    }
}

impl From<Target> for String {
    fn from(t: Target) -> String {
        t.to_string()
    }
}

/// A domain's aliases, by name.
pub type Aliases = BTreeMap<LocalPart, Vec<Target>>;

/// A line of the file that could not be used, with its number (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// Line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Parses the file. Bad lines are reported and skipped, never fatal: one typo must not
/// stop mail for every other alias of the domain.
pub fn parse(
    text: &str,
    own: &Domain,
    is_local: impl Fn(&Domain) -> bool,
) -> (Aliases, Vec<BadLine>) {
    let mut aliases = Aliases::new();
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fail = |reason: String| bad.push(BadLine { line: n + 1, reason });
        let Some((name, targets)) = line.split_once(':') else {
            fail("no ':' after the alias name".into());
            continue;
        };
        let name = match LocalPart::parse(name.trim()) {
            Ok(name) => name,
            Err(e) => {
                fail(e.to_string());
                continue;
            }
        };
        let mut list = Vec::new();
        for target in targets.split(',').filter(|t| !t.trim().is_empty()).take(MAX_TARGETS) {
            match Target::parse(target, own, &is_local) {
                Ok(t) if !list.contains(&t) => list.push(t),
                Ok(_) => {}
                Err(e) => fail(e.to_string()),
            }
        }
        if list.is_empty() {
            fail(format!("alias {name} has no valid target"));
            continue;
        }
        aliases.insert(name, list);
    }
    (aliases, bad)
}

/// Writes the file's text.
pub fn format(aliases: &Aliases, own: &Domain) -> String {
    let mut out = String::from("# alias: target, target (a bare name is a user of this domain)\n");
    for (name, targets) in aliases {
        let short = |t: &Target| match t {
            Target::Local(a) if &a.domain == own => a.local.to_string(),
            other => other.to_string(),
        };
        let list: Vec<String> = targets.iter().map(short).collect();
        out.push_str(&format!("{name}: {}\n", list.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(s: &str) -> Domain {
        Domain::parse(s).expect("domain")
    }

    #[test]
    fn parses_keeps_going_past_bad_lines_and_round_trips() {
        let own = domain("example.org");
        let text = "# c\ninfo: alice, Bob\nsales: alice, x@Example.NET, y@example.com\nbad line\n\
                    ../x: alice\nempty: ,\n";
        let is_local = |d: &Domain| d.as_str() == "example.com" || d == &own;
        let (aliases, bad) = parse(text, &own, is_local);
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![4, 5, 6]);
        let info = &aliases[&LocalPart::parse("info").expect("name")];
        assert_eq!(info.len(), 2);
        assert_eq!(info[1].to_string(), "bob@example.org");
        let sales = &aliases[&LocalPart::parse("sales").expect("name")];
        assert!(matches!(&sales[1], Target::Remote(a) if a.as_str() == "x@example.net"));
        assert!(matches!(&sales[2], Target::Local(a) if a.to_string() == "y@example.com"));
        // For own-domain targets the file keeps the short form.
        let (again, bad) = parse(&format(&aliases, &own), &own, is_local);
        assert!(bad.is_empty());
        assert_eq!(again, aliases);
    }
}
