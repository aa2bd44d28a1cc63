//! Removed domains and users, kept under `<data>/removed/` so that a mistaken removal can
//! be undone by moving the directory back, until they are old enough to purge.
//!
//! A removed domain is `removed/<domain>.<unique>`, a removed user
//! `removed/<domain>/<user>.<unique>`, where `<unique>` is a Maildir unique name
//! (`<seconds>.M<usec>P<pid>Q<n>.<host>`): the removal time is read from the name, not
//! from the file system (a rename does not reliably change a directory's times).

use std::fs;
use std::path::PathBuf;

use super::{Directory, Result, io_err};

/// One removed domain or user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedCopy {
    /// Where it is kept.
    pub path: PathBuf,
    /// The domain, or the user's address.
    pub name: String,
    /// When it was removed (Unix seconds).
    pub removed_at: u64,
}

/// Splits `<name>.<seconds>.M…` into the name and the seconds.
fn split_unique(file_name: &str) -> Option<(&str, u64)> {
    file_name.match_indices('.').find_map(|(dot, _)| {
        let rest = &file_name[dot + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || !rest[digits..].starts_with(".M") {
            return None;
        }
        Some((&file_name[..dot], rest[..digits].parse().ok()?))
    })
}

impl Directory {
    /// Every removed domain and user still kept, oldest first.
    pub fn removed_copies(&self) -> Result<Vec<RemovedCopy>> {
        let root = self.data.removed();
        let mut out = Vec::new();
        let Ok(entries) = fs::read_dir(&root) else { return Ok(out) };
        for entry in entries {
            let entry = entry.map_err(io_err("list", &root))?;
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if let Some((name, removed_at)) = split_unique(&file_name) {
                out.push(RemovedCopy { path: entry.path(), name: name.to_string(), removed_at });
                continue;
            }
            // A domain's directory of removed users.
            let Ok(users) = fs::read_dir(entry.path()) else { continue };
            for user in users.flatten() {
                let user_name = user.file_name().to_string_lossy().into_owned();
                if let Some((local, removed_at)) = split_unique(&user_name) {
                    out.push(RemovedCopy {
                        path: user.path(),
                        name: format!("{local}@{file_name}"),
                        removed_at,
                    });
                }
            }
        }
        out.sort_by_key(|c| c.removed_at);
        Ok(out)
    }

    /// Deletes the copies removed more than `keep_secs` before `now`; returns them.
    /// A copy that cannot be deleted is logged and tried again next time.
    pub fn purge_removed(&self, keep_secs: u64, now: u64) -> Result<Vec<RemovedCopy>> {
        let mut purged = Vec::new();
        for copy in self.removed_copies()? {
            if copy.removed_at.saturating_add(keep_secs) > now {
                continue;
            }
            match fs::remove_dir_all(&copy.path) {
                Ok(()) => {
                    if let Some(parent) = copy.path.parent()
                        && parent != self.data.removed()
                    {
                        // The domain's directory of removed users, once empty.
                        let _ = fs::remove_dir(parent);
                    }
                    purged.push(copy);
                }
                Err(e) => tracing::warn!(path = %copy.path.display(), "cannot purge: {e}"),
            }
        }
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{Address, Domain};

    #[test]
    fn names_carry_the_removal_time() {
        assert_eq!(
            split_unique("example.org.1700000000.M1P2Q3.host"),
            Some(("example.org", 1700000000))
        );
        assert_eq!(split_unique("bob.1700000000.M5P6Q7.a.b"), Some(("bob", 1700000000)));
        assert_eq!(split_unique("123.45.example"), None);
        assert_eq!(split_unique("example.org"), None);
    }

    #[test]
    fn copies_are_kept_then_purged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let directory =
            Directory::new(crate::datadir::DataDir::create(dir.path()).expect("data dir"));
        let (a, b) = (
            Domain::parse("a.example").expect("valid"),
            Domain::parse("b.example").expect("valid"),
        );
        directory.add_domain(&a, &Default::default()).expect("a");
        directory.add_domain(&b, &Default::default()).expect("b");
        let bob = Address::parse("bob@b.example").expect("valid");
        directory.add_user(&bob, "a-long-password", None).expect("bob");
        directory.remove_user(&bob).expect("remove bob");
        directory.remove_domain(&a).expect("remove a");
        let copies = directory.removed_copies().expect("copies");
        let names: Vec<&str> = copies.iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"a.example") && names.contains(&"bob@b.example"), "{names:?}");
        let now = crate::queue::now();
        assert!(directory.purge_removed(3600, now).expect("purge").is_empty(), "kept an hour");
        let purged = directory.purge_removed(3600, now + 3601).expect("purge");
        assert_eq!(purged.len(), 2);
        assert!(directory.removed_copies().expect("copies").is_empty());
        assert!(!dir.path().join("removed/b.example").exists(), "empty parent gone");
        assert!(directory.domain(&b).expect("b").is_some(), "the live domain stays");
    }
}
