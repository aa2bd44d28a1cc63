//! `prefs.toml`: what a user sets for themselves. The webmail reads the page size and
//! sort; later issues add the signature, identities, vacation and personal spam policy
//! (which local delivery and the SMTP server read), all in this one file.
//!
//! Unknown keys are kept out of errors on purpose: a newer Mailroom on another host of
//! the same data directory may write keys this one does not know, and a user must not be
//! locked out of their settings by that. Values out of range are clamped on read (a hand
//! edit of `page_size = 5000` gives 250) and refused on write.

use serde::{Deserialize, Serialize};

/// Fewest messages a folder page shows.
pub const MIN_PAGE_SIZE: u16 = 10;
/// Most messages a folder page shows (the 30 KB page budget holds up to about 250 rows).
pub const MAX_PAGE_SIZE: u16 = 250;
/// Messages per page for a user who never chose.
pub const DEFAULT_PAGE_SIZE: u16 = 50;

/// How a folder page is sorted when the link does not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortField {
    /// Arrival or `Date:` (newest first by default).
    #[default]
    Date,
    /// Sender (recipient in Sent and Drafts).
    From,
    /// Subject.
    Subject,
    /// Size.
    Size,
}

impl SortField {
    /// The name used in links and files.
    pub fn as_str(self) -> &'static str {
        match self {
            SortField::Date => "date",
            SortField::From => "from",
            SortField::Subject => "subject",
            SortField::Size => "size",
        }
    }

    /// Parses a name from a link or a form.
    pub fn parse(name: &str) -> Option<SortField> {
        Some(match name {
            "date" => SortField::Date,
            "from" => SortField::From,
            "subject" => SortField::Subject,
            "size" => SortField::Size,
            _ => return None,
        })
    }

    /// The direction a user expects when they pick this key: newest and biggest first,
    /// names A→Z.
    pub fn natural_descending(self) -> bool {
        matches!(self, SortField::Date | SortField::Size)
    }
}

/// `domains/<domain>/users/<user>/prefs.toml`. Every key has a default: a user who never
/// saved settings has no file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// Messages per folder page, [`MIN_PAGE_SIZE`]–[`MAX_PAGE_SIZE`].
    pub page_size: u16,
    /// The sort of a folder page opened from the folder list.
    pub sort: SortField,
    /// Its direction; unset: the key's natural direction.
    pub descending: Option<bool>,
    /// The name shown with the user's address in mail they send.
    pub display_name: String,
    /// Where replies to their mail should go, if not to the From address.
    pub reply_to: String,
    /// Appended to new messages and replies, after a `-- ` line.
    pub signature: String,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            page_size: DEFAULT_PAGE_SIZE,
            sort: SortField::Date,
            descending: None,
            display_name: String::new(),
            reply_to: String::new(),
            signature: String::new(),
        }
    }
}

/// A value a user may not save.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefsError {
    /// The page size is outside what pages can carry.
    #[error("a page shows {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE} messages, not {0}")]
    PageSize(u16),
    /// A one-line setting has a line break or a control character.
    #[error("the {0} must be one line without control characters")]
    NotOneLine(&'static str),
    /// Control characters other than line breaks and tabs.
    #[error("the {0} contains control characters")]
    Control(&'static str),
    /// Longer than a setting may be.
    #[error("the {what} may have at most {max} characters")]
    TooLong {
        /// Which setting.
        what: &'static str,
        /// The limit.
        max: usize,
    },
}

/// Longest display name or reply-to address.
pub const MAX_LINE: usize = 200;
/// Longest signature.
pub const MAX_SIGNATURE: usize = 4000;

impl Prefs {
    /// The page size within bounds, whatever the file says.
    pub fn page_size(&self) -> usize {
        usize::from(self.page_size.clamp(MIN_PAGE_SIZE, MAX_PAGE_SIZE))
    }

    /// The sort direction, explicit or natural.
    pub fn descending(&self) -> bool {
        self.descending.unwrap_or_else(|| self.sort.natural_descending())
    }

    /// Checks the values before they are written.
    pub fn check(&self) -> Result<(), PrefsError> {
        if !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&self.page_size) {
            return Err(PrefsError::PageSize(self.page_size));
        }
        for (what, value) in
            [("display name", &self.display_name), ("reply-to address", &self.reply_to)]
        {
            if value.chars().any(char::is_control) {
                return Err(PrefsError::NotOneLine(what));
            }
            if value.chars().count() > MAX_LINE {
                return Err(PrefsError::TooLong { what, max: MAX_LINE });
            }
        }
        if self.signature.chars().count() > MAX_SIGNATURE {
            return Err(PrefsError::TooLong { what: "signature", max: MAX_SIGNATURE });
        }
        if self.signature.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
            return Err(PrefsError::Control("signature"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_defaults_and_unknown_keys_are_kept_out_of_errors() {
        let p: Prefs = toml::from_str("").expect("empty");
        assert_eq!(p, Prefs::default());
        assert_eq!((p.page_size(), p.descending()), (50, true));
        let p: Prefs =
            toml::from_str("page_size = 20\nsort = \"subject\"\nfuture_key = 1\n").expect("newer");
        assert_eq!((p.page_size(), p.sort, p.descending()), (20, SortField::Subject, false));
    }

    #[test]
    fn out_of_range_sizes_are_clamped_on_read_and_refused_on_write() {
        let p: Prefs = toml::from_str("page_size = 5000").expect("parse");
        assert_eq!(p.page_size(), 250);
        assert_eq!(p.check(), Err(PrefsError::PageSize(5000)));
        let p = Prefs { page_size: 9, ..Prefs::default() };
        assert_eq!(p.page_size(), 10);
        assert!(p.check().is_err());
        assert!(Prefs { page_size: 10, ..Prefs::default() }.check().is_ok());
        assert!(toml::from_str::<Prefs>("sort = \"colour\"").is_err());
        let injected = Prefs { display_name: "Ann\r\nBcc: x@y.example".into(), ..Prefs::default() };
        assert_eq!(injected.check(), Err(PrefsError::NotOneLine("display name")));
        let signed = Prefs { signature: "Ann\n+1 555 0100".into(), ..Prefs::default() };
        assert!(signed.check().is_ok());
    }
}
