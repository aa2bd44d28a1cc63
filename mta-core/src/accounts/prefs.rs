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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Where a reply's text goes: below the quoted message (the Internet's custom) or
    /// above it.
    pub reply_above: bool,
    /// Show the HTML version of a message when it has both (else the plain text).
    pub prefer_html: bool,
    /// Load remote images in HTML mail without asking (off: a click per message).
    pub always_show_images: bool,
    /// Messages in Trash longer than this many days are deleted for good; 0: never.
    pub trash_days: u32,
    /// The autoreply while away.
    pub vacation: Vacation,
    /// The user's own spam policy (within the domain's).
    pub spam: crate::policy::SpamPolicy,
}

/// The vacation autoreply (RFC 3834): sent by local delivery, at most once per sender
/// per [`VACATION_EVERY_DAYS`] days, never to bounces, lists or automatic mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vacation {
    /// On or off.
    pub enabled: bool,
    /// The subject of the replies; empty: "Auto: " and the original subject.
    pub subject: String,
    /// The text of the replies.
    pub body: String,
    /// First day it applies (`YYYY-MM-DD`, UTC); empty: from now.
    pub from: String,
    /// Last day it applies; empty: until switched off.
    pub until: String,
}

/// One autoreply per sender per this many days.
pub const VACATION_EVERY_DAYS: u64 = 7;
/// Longest vacation text.
pub const MAX_VACATION_TEXT: usize = 8000;

impl Vacation {
    /// Whether it answers mail arriving at `now` (Unix seconds).
    pub fn active(&self, now: u64) -> bool {
        let today = day_number(now);
        let after_start = parse_day(&self.from).is_none_or(|d| today >= d);
        let before_end = parse_day(&self.until).is_none_or(|d| today <= d);
        self.enabled && after_start && before_end
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date; `None` for empty or malformed.
pub fn parse_day(date: &str) -> Option<u64> {
    let mut parts = date.trim().splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if d > month_days[(m - 1) as usize] {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    u64::try_from(era * 146_097 + doe - 719_468).ok()
}

fn day_number(unix: u64) -> u64 {
    unix / 86_400
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
            reply_above: false,
            prefer_html: true,
            always_show_images: false,
            trash_days: 30,
            vacation: Vacation::default(),
            spam: crate::policy::SpamPolicy::default(),
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
    /// Not a `YYYY-MM-DD` date.
    #[error("the {0} must be a date like 2026-12-24")]
    Date(&'static str),
    /// The last day before the first.
    #[error("the last day comes before the first day")]
    DatesReversed,
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
        for (what, text, max) in [
            ("signature", &self.signature, MAX_SIGNATURE),
            ("vacation text", &self.vacation.body, MAX_VACATION_TEXT),
        ] {
            if text.chars().count() > max {
                return Err(PrefsError::TooLong { what, max });
            }
            if text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
                return Err(PrefsError::Control(what));
            }
        }
        let subject = &self.vacation.subject;
        if subject.chars().any(char::is_control) {
            return Err(PrefsError::NotOneLine("vacation subject"));
        }
        if subject.chars().count() > MAX_LINE {
            return Err(PrefsError::TooLong { what: "vacation subject", max: MAX_LINE });
        }
        for (what, date) in [("first day", &self.vacation.from), ("last day", &self.vacation.until)]
        {
            if !date.trim().is_empty() && parse_day(date).is_none() {
                return Err(PrefsError::Date(what));
            }
        }
        if let (Some(from), Some(until)) =
            (parse_day(&self.vacation.from), parse_day(&self.vacation.until))
            && until < from
        {
            return Err(PrefsError::DatesReversed);
        }
        if self.trash_days > 3650 {
            return Err(PrefsError::TooLong { what: "Trash period in days", max: 3650 });
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

    #[test]
    fn vacation_dates() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2026-12-04"), Some(1_796_342_400 / 86_400));
        assert_eq!(parse_day("2024-02-29"), Some(19_782));
        for bad in ["2023-02-29", "2026-13-01", "26-12-04", "2026-1-4", "x", "2026-12-04x"] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        let day = |d: &str| parse_day(d).expect("day") * 86_400;
        let v = Vacation {
            enabled: true,
            from: "2026-12-20".into(),
            until: "2026-12-31".into(),
            ..Vacation::default()
        };
        assert!(!v.active(day("2026-12-19") + 86_399));
        assert!(v.active(day("2026-12-20")));
        assert!(v.active(day("2026-12-31") + 86_399));
        assert!(!v.active(day("2027-01-01")));
        assert!(!Vacation { enabled: false, ..v.clone() }.active(day("2026-12-25")));
        let reversed = Prefs {
            vacation: Vacation { from: "2026-12-31".into(), until: "2026-12-01".into(), ..v },
            ..Prefs::default()
        };
        assert_eq!(reversed.check(), Err(PrefsError::DatesReversed));
    }
}
