//! Domain names, local parts and addresses: the strict grammar every name from a user or
//! from the network passes before it is joined to a path or looked up.
//!
//! The grammar is deliberately narrower than RFC 5321 for *local* names (what Mailroom
//! creates and stores), and addresses from the network that fall outside it are simply
//! not local: a `%`, `!`, quote, source route or IP literal never matches a mailbox, so
//! it can never be relayed by accident (SECURITY.md, "relaying").

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a name was refused, in words for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {given:?}: {reason}")]
pub struct NameError {
    /// "domain", "user name" or "address".
    pub what: &'static str,
    /// The input, as given (truncated to 80 characters).
    pub given: String,
    /// Why it was refused.
    pub reason: &'static str,
}

impl NameError {
    fn new(what: &'static str, given: &str, reason: &'static str) -> NameError {
        NameError { what, given: given.chars().take(80).collect(), reason }
    }
}

/// The separator of sub-addressing: `user+tag@domain` is delivered to `user@domain`.
pub const TAG_SEPARATOR: char = '+';

/// A DNS domain name in lower case, ASCII (internationalised names in their `xn--` form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Domain(String);

impl Domain {
    /// Parses and lower-cases a domain: labels of 1–63 letters, digits and inner hyphens,
    /// at least two labels, 253 characters in all. No trailing dot, no IP literal.
    pub fn parse(input: &str) -> Result<Domain, NameError> {
        let err = |reason| Err(NameError::new("domain", input, reason));
        if input.is_empty() {
            return err("it is empty");
        }
        if input.len() > 253 {
            return err("it is longer than 253 characters");
        }
        if !input.is_ascii() {
            return err("it is not ASCII; give an internationalised name in its xn-- form");
        }
        if input.starts_with('[') {
            return err("an address literal is not a domain");
        }
        if input.ends_with('.') {
            return err("it ends with a dot");
        }
        let lower = input.to_ascii_lowercase();
        let mut labels = 0;
        for label in lower.split('.') {
            labels += 1;
            if label.is_empty() {
                return err("it has an empty label (two dots in a row, or a leading dot)");
            }
            if label.len() > 63 {
                return err("a label is longer than 63 characters");
            }
            if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return err("only letters, digits, hyphens and dots are allowed");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return err("a label starts or ends with a hyphen");
            }
        }
        if labels < 2 {
            return err("it needs at least two labels (example.org)");
        }
        if lower.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
            return err("it looks like an IP address");
        }
        Ok(Domain(lower))
    }

    /// The name, e.g. `example.org`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `name` is a host name: dot-separated labels of letters, digits and inner
/// hyphens, one label or more (`localhost`, `vm`, `mail.example.org`), 253 at most.
pub fn is_host_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The local part of a Mailroom mailbox or alias: lower case, 1–64 of `a-z 0-9 . _ -`,
/// starting with a letter or digit, no `..`, not ending with a dot. `+` is reserved for
/// sub-addressing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalPart(String);

impl LocalPart {
    /// Parses and lower-cases a local part.
    pub fn parse(input: &str) -> Result<LocalPart, NameError> {
        let err = |reason| Err(NameError::new("user name", input, reason));
        if input.is_empty() {
            return err("it is empty");
        }
        if input.len() > 64 {
            return err("it is longer than 64 characters");
        }
        let lower = input.to_ascii_lowercase();
        if !lower
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            return err("only letters, digits, '.', '_' and '-' are allowed");
        }
        if !lower.as_bytes()[0].is_ascii_alphanumeric() {
            return err("it must start with a letter or a digit");
        }
        if lower.contains("..") || lower.ends_with('.') {
            return err("dots must stand between other characters, one at a time");
        }
        Ok(LocalPart(lower))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mailbox address `local@domain` whose both halves pass the local grammar: what
/// Mailroom can own. Addresses of other systems are [`RemoteAddress`]es.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Address {
    /// Before the `@`.
    pub local: LocalPart,
    /// After the `@`.
    pub domain: Domain,
}

impl Address {
    /// Parses `local@domain` (case-insensitive).
    pub fn parse(input: &str) -> Result<Address, NameError> {
        let Some((local, domain)) = input.rsplit_once('@') else {
            return Err(NameError::new("address", input, "it has no @"));
        };
        Ok(Address { local: LocalPart::parse(local)?, domain: Domain::parse(domain)? })
    }
}

/// An address on another system, as an alias target or a relayed recipient: a local part
/// of printable ASCII (or UTF-8, for SMTPUTF8) without spaces, quotes, `@`, `%`, `!`, `,`
/// or `:` — none of the characters that route mail in old systems — and a valid domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RemoteAddress(String);

impl RemoteAddress {
    /// Parses an address of another system; the domain is lower-cased.
    pub fn parse(input: &str) -> Result<RemoteAddress, NameError> {
        let (local, domain) = Self::split(input)?;
        let domain = Domain::parse(domain)?;
        Ok(RemoteAddress(format!("{local}@{}", domain.as_str())))
    }

    /// Parses an envelope sender: like [`RemoteAddress::parse`], but a one-label host
    /// (`root@localhost`, what cron and local tools send from) is accepted.
    pub fn parse_sender(input: &str) -> Result<RemoteAddress, NameError> {
        let (local, domain) = Self::split(input)?;
        if !is_host_name(domain) {
            return Err(NameError::new("address", input, "the part after @ is not a host name"));
        }
        Ok(RemoteAddress(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// The local part (checked) and the unchecked domain.
    fn split(input: &str) -> Result<(&str, &str), NameError> {
        let err = |reason| Err(NameError::new("address", input, reason));
        let Some((local, domain)) = input.rsplit_once('@') else {
            return err("it has no @");
        };
        if local.is_empty() || local.len() > 64 {
            return err("the part before @ must be 1 to 64 characters");
        }
        if local
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "\"@%!,:;<>()[]\\".contains(c))
        {
            return err("the part before @ has a character that routes or quotes mail");
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return err("dots must stand between other characters, one at a time");
        }
        Ok((local, domain))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain part.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

macro_rules! string_conversions {
    ($($ty:ident),*) => {$(
        impl TryFrom<String> for $ty {
            type Error = NameError;
            fn try_from(s: String) -> Result<$ty, NameError> {
                $ty::parse(&s)
            }
        }
        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.to_string()
            }
        }
        impl std::str::FromStr for $ty {
            type Err = NameError;
            fn from_str(s: &str) -> Result<$ty, NameError> {
                $ty::parse(s)
            }
        }
    )*};
}
string_conversions!(Domain, LocalPart, Address, RemoteAddress);

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for LocalPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

impl fmt::Display for RemoteAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_lower_cased_and_strict() {
        assert_eq!(Domain::parse("Example.ORG").map(|d| d.to_string()), Ok("example.org".into()));
        assert!(Domain::parse("xn--bcher-kva.example").is_ok());
        for bad in [
            "",
            "example",
            "example.org.",
            ".example.org",
            "a..b",
            "-a.org",
            "a-.org",
            "a_b.org",
            "[127.0.0.1]",
            "127.0.0.1",
            "bücher.example",
            "a/b.org",
            "a b.org",
            "a\0.org",
        ] {
            assert!(Domain::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Domain::parse(&format!("{}.org", "a".repeat(64))).is_err());
    }

    #[test]
    fn local_parts_are_strict() {
        assert_eq!(LocalPart::parse("John.Doe").map(|l| l.to_string()), Ok("john.doe".into()));
        for good in ["a", "a-b_c.d", "0day"] {
            assert!(LocalPart::parse(good).is_ok(), "{good:?} refused");
        }
        for bad in [
            "", ".a", "a.", "a..b", "a+b", "a%b", "a!b", "\"a\"", "a b", "../x", "a/b", "_a",
            "a@b", "é",
        ] {
            assert!(LocalPart::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(LocalPart::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn remote_addresses_refuse_routing_characters() {
        assert_eq!(
            RemoteAddress::parse("First.Last+x@Example.COM").map(|a| a.to_string()),
            Ok("First.Last+x@example.com".into())
        );
        assert!(RemoteAddress::parse("jöhn@example.com").is_ok());
        for bad in [
            "a%b@example.com",
            "b!a@example.com",
            "\"a@b\"@example.com",
            "@a:b@example.com",
            "a@[1.2.3.4]",
            "a@example.com.",
            "a@",
            "@example.com",
            "a b@example.com",
        ] {
            assert!(RemoteAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
