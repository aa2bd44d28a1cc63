//! Recipient fields as typed (`Ann <ann@example.org>, bob@example.net`): parsed with
//! mail-parser's RFC 5322 address parser, each address checked before it goes near an
//! envelope. Internationalised domains are turned into their ASCII (`xn--`) form; UTF-8
//! local parts are kept (SMTPUTF8). Nothing with a line break, NUL or a routing
//! character gets through.

use mail_parser::{Address, MessageParser};
use mta_core::names::RemoteAddress;

/// One recipient: the name to show and the address to send to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name, if one was given.
    pub name: Option<String>,
    /// The address, domain in ASCII form.
    pub address: String,
}

impl Mailbox {
    /// `Name <address>` or `address`, as shown back in a form field.
    pub fn display(&self) -> String {
        match &self.name {
            Some(name) => format!("{name} <{}>", self.address),
            None => self.address.clone(),
        }
    }
}

/// The most recipients one field may list (the queue's own bound applies after).
pub const MAX_PER_FIELD: usize = 500;

/// Why a field was refused, in words for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// A line break or NUL: header injection.
    #[error("{field} contains a line break or NUL; addresses go on one line, separated by commas")]
    Injection {
        /// The field.
        field: &'static str,
    },
    /// Not an address.
    #[error("{field}: {input:?} is not an address: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What was typed.
        input: String,
        /// Why.
        reason: String,
    },
    /// Too many.
    #[error("{field} lists more than {MAX_PER_FIELD} addresses")]
    TooMany {
        /// The field.
        field: &'static str,
    },
}

/// Refuses text that would break out of a header line.
pub fn check_header_text(field: &'static str, text: &str) -> Result<(), AddressError> {
    if text.contains(['\r', '\n', '\0']) {
        return Err(AddressError::Injection { field });
    }
    Ok(())
}

/// Parses one typed field (`To`, `Cc`, `Bcc`) into checked mailboxes.
pub fn parse_field(field: &'static str, input: &str) -> Result<Vec<Mailbox>, AddressError> {
    check_header_text(field, input)?;
    let input = input.trim().trim_end_matches([',', ';']).trim();
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let invalid = |what: &str, reason: &str| AddressError::Invalid {
        field,
        input: what.to_string(),
        reason: reason.to_string(),
    };
    // People separate addresses with ";" too (Outlook); RFC 5322 wants ",".
    let header = format!("To: {}\r\n\r\n", input.replace(';', ","));
    let parsed = MessageParser::new()
        .parse_headers(header.as_bytes())
        .ok_or_else(|| invalid(input, "it could not be read as a list of addresses"))?;
    let mut out = Vec::new();
    let mut add = |name: Option<&str>, address: Option<&str>| -> Result<(), AddressError> {
        let Some(address) = address.map(str::trim).filter(|a| !a.is_empty()) else {
            let shown = name.unwrap_or_default();
            return Err(invalid(shown, "there is no address in it (write name <address>)"));
        };
        let checked = check_address(address).map_err(|reason| invalid(address, &reason))?;
        let name =
            name.map(str::trim).filter(|n| !n.is_empty() && *n != address).map(str::to_string);
        out.push(Mailbox { name, address: checked });
        if out.len() > MAX_PER_FIELD {
            return Err(AddressError::TooMany { field });
        }
        Ok(())
    };
    match parsed.to() {
        Some(Address::List(list)) => {
            for a in list {
                add(a.name(), a.address())?;
            }
        }
        Some(Address::Group(groups)) => {
            for group in groups {
                for a in &group.addresses {
                    add(a.name(), a.address())?;
                }
            }
        }
        None => return Err(invalid(input, "it could not be read as a list of addresses")),
    }
    Ok(out)
}

/// Checks one address and gives its sending form: the domain in ASCII (IDNA), the local
/// part as typed (UTF-8 allowed) without characters that route or quote mail.
pub fn check_address(address: &str) -> Result<String, String> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err("it has no @".into());
    };
    let domain = idna::domain_to_ascii(domain.trim_end_matches('.'))
        .map_err(|_| "the part after @ is not a valid domain name".to_string())?;
    let candidate = format!("{local}@{domain}");
    RemoteAddress::parse(&candidate).map(|a| a.to_string()).map_err(|e| e.reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(input: &str) -> Vec<String> {
        parse_field("To", input).expect("parses").into_iter().map(|m| m.display()).collect()
    }

    #[test]
    fn lists_names_groups_and_idn() {
        assert_eq!(
            addresses("Ann Smith <ann@example.org>, bob@Example.NET; \"Doe, Jo\" <jo@x.example>,"),
            ["Ann Smith <ann@example.org>", "bob@example.net", "Doe, Jo <jo@x.example>"]
        );
        assert_eq!(addresses("jörg@bücher.example"), ["jörg@xn--bcher-kva.example"]);
        assert_eq!(addresses("Team: a@x.example, b@x.example;"), ["a@x.example", "b@x.example"]);
        assert!(addresses("  ").is_empty());
    }

    #[test]
    fn injection_and_nonsense_are_refused_with_a_reason() {
        for bad in
            ["a@x.example\r\nBcc: victim@y.example", "a@x.example\nSubject: spam", "a@x.example\0"]
        {
            assert!(
                matches!(parse_field("To", bad), Err(AddressError::Injection { .. })),
                "{bad:?}"
            );
        }
        for bad in [
            "no-at-sign",
            "a@",
            "a@b@c",
            "\"a b\"@x.example",
            "a%b@x.example",
            "Ann <>",
            "a@-x.example",
        ] {
            let err = parse_field("Cc", bad).expect_err(bad);
            assert!(err.to_string().starts_with("Cc"), "{bad}: {err}");
        }
        let many =
            (0..=MAX_PER_FIELD).map(|n| format!("u{n}@x.example")).collect::<Vec<_>>().join(",");
        assert!(matches!(parse_field("To", &many), Err(AddressError::TooMany { .. })));
    }
}
