//! The spam policy customers set themselves, enforced while the message is still on the
//! SMTP connection: a domain's (set by its admin, in `domain.toml`) and each user's
//! (in `prefs.toml`, within what the domain allows). Allow and block lists of addresses
//! and domains, and what to do with spam: refuse it (`550 5.7.1`), file it into Junk,
//! or tag its subject.
//!
//! Order of the decision (the first that applies wins):
//! 1. the domain blocks the sender: spam (a user cannot override the domain's block);
//! 2. the user allows the sender: clean;
//! 3. the user blocks the sender: spam;
//! 4. the domain allows the sender: clean;
//! 5. a score at or above the threshold: spam (scores from DNSBLs, SPF, DKIM and DMARC
//!    arrive later; the slot is here);
//! 6. clean.
//!
//! The action is the user's if they chose one and the domain lets users choose
//! ([`SpamPolicy::lock_action`] unset), else the domain's.

use serde::{Deserialize, Serialize};

/// What happens to spam.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpamAction {
    /// Refused during the SMTP conversation with `550 5.7.1`: the sender's server keeps
    /// it and tells its sender; nothing is bounced later.
    #[default]
    Reject,
    /// Accepted and filed into the recipient's Junk folder.
    Junk,
    /// Accepted into the INBOX with the subject tagged.
    Tag,
}

impl SpamAction {
    /// The name used in files, forms and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            SpamAction::Reject => "reject",
            SpamAction::Junk => "junk",
            SpamAction::Tag => "tag",
        }
    }

    /// Parses a name.
    pub fn parse(name: &str) -> Option<SpamAction> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "reject" => SpamAction::Reject,
            "junk" => SpamAction::Junk,
            "tag" => SpamAction::Tag,
            _ => return None,
        })
    }
}

/// Most entries one list may hold.
pub const MAX_ENTRIES: usize = 1000;
/// The subject tag when none is set.
pub const DEFAULT_TAG: &str = "[SPAM]";

/// One policy (a domain's or a user's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpamPolicy {
    /// Senders never treated as spam: `ann@example.org`, `example.org` (and its
    /// subdomains).
    pub allow: Vec<String>,
    /// Senders always treated as spam, same forms.
    pub block: Vec<String>,
    /// What to do with spam; unset in a user's policy: the domain's.
    pub action: Option<SpamAction>,
    /// The subject tag for [`SpamAction::Tag`]; empty: [`DEFAULT_TAG`].
    pub tag: String,
    /// The score from which a message is spam (scores arrive with the checks that make
    /// them); unset: scores decide nothing.
    pub threshold: Option<f64>,
    /// In a domain's policy: its action applies to every user, whatever they chose.
    pub lock_action: bool,
}

/// Why a list entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is neither an address nor a domain: {reason}")]
pub struct EntryError {
    /// As given.
    pub entry: String,
    /// Why.
    pub reason: String,
}

/// The entries of a list typed one a line (blank lines skipped; checked later by
/// [`SpamPolicy::checked`]).
pub fn entries(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// Normalises a list entry: an address (lower-cased), or a domain (lower-cased, a
/// leading `@` or `*.` dropped).
pub fn normalize_entry(entry: &str) -> Result<String, EntryError> {
    let entry = entry.trim();
    let refuse = |reason: &str| EntryError { entry: entry.to_string(), reason: reason.to_string() };
    if entry.is_empty() {
        return Err(refuse("it is empty"));
    }
    if entry.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(refuse("it has spaces or control characters"));
    }
    let domain = entry.trim_start_matches("*.").trim_start_matches('@');
    if domain != entry || !entry.contains('@') {
        return crate::names::Domain::parse(&domain.to_ascii_lowercase())
            .map(|d| d.as_str().to_string())
            .map_err(|e| refuse(e.reason));
    }
    crate::names::RemoteAddress::parse_sender(entry)
        .map(|a| a.to_string().to_ascii_lowercase())
        .map_err(|e| refuse(e.reason))
}

impl SpamPolicy {
    /// Checks and normalises the lists (before saving).
    pub fn checked(mut self) -> Result<SpamPolicy, EntryError> {
        for list in [&mut self.allow, &mut self.block] {
            let mut clean: Vec<String> = Vec::with_capacity(list.len());
            for entry in list.iter() {
                let entry = normalize_entry(entry)?;
                if !clean.contains(&entry) {
                    clean.push(entry);
                }
            }
            if clean.len() > MAX_ENTRIES {
                return Err(EntryError {
                    entry: format!("{} entries", clean.len()),
                    reason: format!("a list holds at most {MAX_ENTRIES}"),
                });
            }
            *list = clean;
        }
        if self.tag.chars().any(char::is_control) || self.tag.chars().count() > 40 {
            return Err(EntryError {
                entry: self.tag.clone(),
                reason: "a tag is one line of at most 40 characters".into(),
            });
        }
        Ok(self)
    }

    /// The subject tag.
    pub fn tag(&self) -> &str {
        if self.tag.trim().is_empty() { DEFAULT_TAG } else { self.tag.trim() }
    }
}

/// Whether `sender` matches a list: an address entry exactly, a domain entry for the
/// sender's domain or any domain below it.
pub fn listed(list: &[String], sender: &str) -> Option<String> {
    let sender = sender.trim().to_ascii_lowercase();
    let domain = sender.rsplit_once('@').map_or("", |(_, d)| d).trim_end_matches('.');
    list.iter()
        .find(|entry| {
            if entry.contains('@') {
                entry.eq_ignore_ascii_case(&sender)
            } else {
                let entry = entry.to_ascii_lowercase();
                domain == entry || domain.ends_with(&format!(".{entry}"))
            }
        })
        .cloned()
}

/// What the policy says of one message for one recipient.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Deliver to the INBOX.
    Clean,
    /// Spam, and what to do with it.
    Spam {
        /// The action.
        action: SpamAction,
        /// The tag, for [`SpamAction::Tag`].
        tag: String,
        /// Why, for the log and the SMTP reply.
        reason: String,
    },
}

/// The decision for a message from `sender` to the mailbox `mailbox`: its domain's
/// policy and its user's. Unreadable files count as no policy (and are logged).
pub fn for_mailbox(
    directory: &crate::accounts::Directory,
    mailbox: &crate::names::Address,
    sender: &str,
) -> Decision {
    let domain = match directory.domain(&mailbox.domain) {
        Ok(Some(config)) => config.spam.clone(),
        Ok(None) => SpamPolicy::default(),
        Err(e) => {
            tracing::warn!(domain = %mailbox.domain, "spam policy unreadable: {e}");
            SpamPolicy::default()
        }
    };
    let user = match directory.prefs(mailbox) {
        Ok(prefs) => Some(prefs.spam.clone()),
        Err(e) => {
            tracing::warn!(user = %mailbox, "spam policy unreadable: {e}");
            None
        }
    };
    decide(sender, &domain, user.as_ref(), None)
}

/// Decides for a message from `sender` (the envelope sender; empty for bounces) to a
/// user with `user` policy in a domain with `domain` policy. `score`: none yet.
pub fn decide(
    sender: &str,
    domain: &SpamPolicy,
    user: Option<&SpamPolicy>,
    score: Option<f64>,
) -> Decision {
    let empty = SpamPolicy::default();
    let user = user.unwrap_or(&empty);
    let chosen = if domain.lock_action { None } else { user.action };
    let action = chosen.or(domain.action).unwrap_or_default();
    let tag = if user.tag.trim().is_empty() { domain.tag() } else { user.tag() }.to_string();
    let spam = |reason: String| Decision::Spam { action, tag: tag.clone(), reason };
    if sender.trim().is_empty() {
        // Bounces have no sender to list; only a score could make them spam.
    } else if let Some(entry) = listed(&domain.block, sender) {
        return spam(format!("the domain's policy blocks {entry}"));
    } else if listed(&user.allow, sender).is_some() {
        return Decision::Clean;
    } else if let Some(entry) = listed(&user.block, sender) {
        return spam(format!("the recipient blocks {entry}"));
    } else if listed(&domain.allow, sender).is_some() {
        return Decision::Clean;
    }
    let threshold = user.threshold.or(domain.threshold);
    match (score, threshold) {
        (Some(score), Some(threshold)) if score >= threshold => {
            spam(format!("spam score {score:.1} ≥ {threshold:.1}"))
        }
        _ => Decision::Clean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str], block: &[&str], action: Option<SpamAction>) -> SpamPolicy {
        SpamPolicy {
            allow: allow.iter().map(|s| s.to_string()).collect(),
            block: block.iter().map(|s| s.to_string()).collect(),
            action,
            ..SpamPolicy::default()
        }
        .checked()
        .expect("valid")
    }

    #[test]
    fn entries_are_checked_and_normalised() {
        assert_eq!(normalize_entry("Ann@Example.ORG").as_deref(), Ok("ann@example.org"));
        assert_eq!(normalize_entry("@Spam.Example").as_deref(), Ok("spam.example"));
        assert_eq!(normalize_entry("*.spam.example").as_deref(), Ok("spam.example"));
        for bad in ["", "a b@x.example", "not a domain", "a@", "x@@y", "-bad.example"] {
            assert!(normalize_entry(bad).is_err(), "{bad}");
        }
        let p = policy(&["A@x.example", "a@x.example"], &[], None);
        assert_eq!(p.allow, ["a@x.example"], "duplicates collapse");
    }

    #[test]
    fn the_order_of_the_decision() {
        let domain = policy(
            &["partner.example"],
            &["spam.example", "evil@partner.example"],
            Some(SpamAction::Junk),
        );
        let user = policy(
            &["friend@spam.example", "ok@other.example"],
            &["other.example", "partner.example"],
            Some(SpamAction::Tag),
        );
        let spam = |d: Decision| matches!(d, Decision::Spam { .. });
        // 1. the domain's block wins over the user's allow.
        assert!(spam(decide("friend@spam.example", &domain, Some(&user), None)));
        assert!(spam(decide("x@mx.spam.example", &domain, None, None)), "subdomains too");
        // 2. the user's allow.
        assert_eq!(decide("ok@other.example", &domain, Some(&user), None), Decision::Clean);
        // 3. the user's block wins over the domain's allow.
        assert!(spam(decide("anyone@other.example", &domain, Some(&user), None)));
        assert!(spam(decide("someone@partner.example", &domain, Some(&user), None)));
        // 4. the domain's allow.
        assert_eq!(decide("someone@partner.example", &domain, None, None), Decision::Clean);
        // 5. scores, when there are any.
        let scored = SpamPolicy { threshold: Some(5.0), ..SpamPolicy::default() };
        assert!(spam(decide("x@y.example", &scored, None, Some(7.5))));
        assert_eq!(decide("x@y.example", &scored, None, Some(2.0)), Decision::Clean);
        assert_eq!(
            decide("x@y.example", &SpamPolicy::default(), None, Some(99.0)),
            Decision::Clean
        );
        // The action: the user's, else the domain's, else reject.
        match decide("a@other.example", &domain, Some(&user), None) {
            Decision::Spam { action, tag, .. } => {
                assert_eq!((action, tag.as_str()), (SpamAction::Tag, "[SPAM]"))
            }
            other => panic!("{other:?}"),
        }
        let locked = SpamPolicy { lock_action: true, ..domain.clone() };
        match decide("a@other.example", &locked, Some(&user), None) {
            Decision::Spam { action, .. } => assert_eq!(action, SpamAction::Junk, "locked"),
            other => panic!("{other:?}"),
        }
        match decide("a@spam.example", &domain, None, None) {
            Decision::Spam { action, .. } => assert_eq!(action, SpamAction::Junk),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            decide("", &domain, Some(&user), None),
            Decision::Clean,
            "bounces are not listed"
        );
    }
}
