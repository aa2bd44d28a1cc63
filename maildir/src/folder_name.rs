//! Folder names: what users type, what is on disk, and the strict rules between them.
//!
//! A Maildir++ folder `Work/Projects` lives in the directory `.Work.Projects` of the
//! user's Maildir: a leading dot, levels separated by dots, each level in modified UTF-7
//! (the spelling Courier and Dovecot use, so their Maildirs open unchanged). INBOX is the
//! Maildir itself.
//!
//! Names from users are data, not paths: [`FolderName::parse`] refuses `..`, `/` inside
//! a level, `.`, NUL and every control character, leading and trailing spaces, and
//! overlong names, with a reason a user can act on. Names found on disk
//! ([`FolderName::from_dir_name`]) are accepted as their owner wrote them, so that a
//! folder another program made can still be opened, listed and renamed.

use std::fmt;

use crate::{Error, Result, mutf7};

/// Longest level a user may type, in characters.
pub const MAX_LEVEL_CHARS: usize = 100;
/// Most levels a folder path may have.
pub const MAX_DEPTH: usize = 16;
/// Longest directory name on disk; NAME_MAX is 255 and the name needs room to be renamed
/// aside on delete.
pub const MAX_DIR_NAME_BYTES: usize = 200;

/// A folder of a Maildir++: INBOX or a path of levels under it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FolderName {
    /// The directory name without its leading dot (e.g. `Work.Entw&APw-rfe`); empty for
    /// INBOX. This is the identity of the folder.
    encoded: String,
}

impl FolderName {
    /// INBOX: the Maildir directory itself.
    pub fn inbox() -> FolderName {
        FolderName { encoded: String::new() }
    }

    /// Parses a name typed by a user: levels separated by `/`, e.g. `Work/Entwürfe`.
    /// `INBOX` (any case) is the inbox.
    pub fn parse(user_input: &str) -> Result<FolderName> {
        let refuse = |reason| Error::InvalidFolderName { name: user_input.to_string(), reason };
        if user_input.eq_ignore_ascii_case("inbox") {
            return Ok(FolderName::inbox());
        }
        if user_input.is_empty() {
            return Err(refuse("the name is empty"));
        }
        let levels: Vec<&str> = user_input.split('/').collect();
        if levels.len() > MAX_DEPTH {
            return Err(refuse("too many levels (at most 16)"));
        }
        let mut encoded = Vec::with_capacity(levels.len());
        for (i, level) in levels.iter().enumerate() {
            check_level(level).map_err(refuse)?;
            if i == 0 && level.eq_ignore_ascii_case("inbox") && levels.len() == 1 {
                return Ok(FolderName::inbox());
            }
            encoded.push(mutf7::encode(level));
        }
        if levels[0].eq_ignore_ascii_case("inbox") {
            return Err(refuse("INBOX cannot have subfolders; put the folder at the top level"));
        }
        let encoded = encoded.join(".");
        if encoded.len() + 1 > MAX_DIR_NAME_BYTES {
            return Err(refuse("the name is too long"));
        }
        Ok(FolderName { encoded })
    }

    /// A folder found on disk, from its directory name (with the leading dot). Returns
    /// `None` for what is not a Maildir++ folder: `.` and `..`, names without the dot,
    /// names starting with two dots (reserved by the spec), empty levels, and names with
    /// `/` or control characters.
    pub fn from_dir_name(dir_name: &str) -> Option<FolderName> {
        let encoded = dir_name.strip_prefix('.')?;
        let plausible = !encoded.is_empty()
            && !encoded.split('.').any(str::is_empty)
            && !encoded.chars().any(|c| c.is_control() || c == '/')
            && dir_name.len() <= 255;
        plausible.then(|| FolderName { encoded: encoded.to_string() })
    }

    /// Whether this is INBOX.
    pub fn is_inbox(&self) -> bool {
        self.encoded.is_empty()
    }

    /// The directory name inside the Maildir (`.Work.Projects`), `None` for INBOX.
    pub fn dir_name(&self) -> Option<String> {
        (!self.is_inbox()).then(|| format!(".{}", self.encoded))
    }

    /// The on-disk spelling without the leading dot (empty for INBOX).
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// The levels as users read them (decoded; a level another program wrote in
    /// something other than modified UTF-7 is shown as it is on disk).
    pub fn levels(&self) -> Vec<String> {
        if self.is_inbox() {
            return vec!["INBOX".to_string()];
        }
        self.encoded
            .split('.')
            .map(|level| mutf7::decode(level).unwrap_or_else(|_| level.to_string()))
            .collect()
    }

    /// The last level, as users read it.
    pub fn leaf(&self) -> String {
        self.levels().pop().unwrap_or_default()
    }

    /// The parent folder, `None` for top-level folders and INBOX.
    pub fn parent(&self) -> Option<FolderName> {
        let (parent, _) = self.encoded.rsplit_once('.')?;
        Some(FolderName { encoded: parent.to_string() })
    }

    /// Whether `self` is strictly below `ancestor`.
    pub fn is_below(&self, ancestor: &FolderName) -> bool {
        !ancestor.is_inbox()
            && self.encoded.len() > ancestor.encoded.len()
            && self.encoded.starts_with(&ancestor.encoded)
            && self.encoded.as_bytes()[ancestor.encoded.len()] == b'.'
    }

    /// The name this folder gets when its ancestor `from` is renamed to `to`.
    pub(crate) fn rebase(&self, from: &FolderName, to: &FolderName) -> FolderName {
        let suffix = &self.encoded[from.encoded.len()..];
        FolderName { encoded: format!("{}{}", to.encoded, suffix) }
    }

    /// The folder `Trash`, which Maildir++ quota does not count.
    pub fn is_trash(&self) -> bool {
        self.encoded == "Trash"
    }
}

fn check_level(level: &str) -> std::result::Result<(), &'static str> {
    if level.is_empty() {
        return Err("a level is empty (two '/' in a row, or one at an end)");
    }
    if level == "." || level == ".." {
        return Err("'.' and '..' are not folder names");
    }
    if level.contains('.') {
        return Err("'.' separates folder levels on disk; use '/' between levels");
    }
    if level.chars().any(|c| c.is_control()) {
        return Err("control characters (NUL, newline, tab, …) are not allowed");
    }
    if level.trim() != level {
        return Err("a level may not start or end with a space");
    }
    if level.chars().count() > MAX_LEVEL_CHARS {
        return Err("a level is longer than 100 characters");
    }
    Ok(())
}

impl fmt::Display for FolderName {
    /// The path as users read it: `INBOX`, or levels joined by `/`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.levels().join("/"))
    }
}

impl fmt::Debug for FolderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FolderName({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_map_to_courier_and_dovecot_directories() {
        let name = FolderName::parse("Work/Entwürfe").expect("valid");
        assert_eq!(name.dir_name().as_deref(), Some(".Work.Entw&APw-rfe"));
        assert_eq!(name.to_string(), "Work/Entwürfe");
        assert_eq!(name.leaf(), "Entwürfe");
        assert_eq!(name.parent(), FolderName::parse("Work").ok());
        assert!(name.is_below(&FolderName::parse("Work").expect("valid")));
        assert!(!name.is_below(&FolderName::parse("Wor").expect("valid")));
        assert!(FolderName::parse("inbox").expect("valid").is_inbox());
        assert_eq!(FolderName::parse("A & B").expect("valid").encoded(), "A &- B");
    }

    #[test]
    fn hostile_names_are_refused_with_a_reason() {
        for bad in [
            "",
            "..",
            "../x",
            "a/../b",
            ".hidden",
            "a.b",
            "a//b",
            "/abs",
            "trailing/",
            "nul\0",
            "line\nbreak",
            "tab\t",
            "del\u{7f}",
            " padded",
            "padded ",
            "INBOX/child",
        ] {
            let err = FolderName::parse(bad).expect_err(bad);
            assert!(matches!(err, Error::InvalidFolderName { .. }), "{bad:?}: {err}");
        }
        assert!(FolderName::parse(&"x".repeat(101)).is_err());
        assert!(FolderName::parse(&vec!["a"; 17].join("/")).is_err());
        assert!(FolderName::parse(&vec!["ü".repeat(40); 3].join("/")).is_err());
    }

    #[test]
    fn names_from_disk_are_taken_as_written() {
        let sent = FolderName::from_dir_name(".Sent").expect("a folder");
        assert_eq!(sent.to_string(), "Sent");
        // Not valid modified UTF-7 (Dovecot with UTF-8 names): shown as on disk.
        let raw = FolderName::from_dir_name(".Caf\u{e9}").expect("a folder");
        assert_eq!(raw.to_string(), "Caf\u{e9}");
        for not_folder in [".", "..", "..x", "Sent", ".a..b", ".a.", ".x\ny"] {
            assert!(FolderName::from_dir_name(not_folder).is_none(), "{not_folder:?}");
        }
    }
}
