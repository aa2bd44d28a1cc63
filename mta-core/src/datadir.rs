//! The data directory (DESIGN.md §2): where every file lives, and the one way files are
//! replaced.
//!
//! ```text
//! mailroom.toml                 configuration
//! secrets/  tls/                created on first run
//! domains/<domain>/domain.toml  limits, catch-all
//! domains/<domain>/aliases      alias → targets
//! domains/<domain>/users/<user>/account.toml, Maildir/
//! queue/<host>/                 this host's MTA queue
//! removed/                      domains and users removed, kept for recovery
//! ```
//!
//! Every path below the root is built from validated names ([`crate::names`]); nothing a
//! user or a peer sends becomes a path segment any other way.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::names::{Domain, LocalPart};

/// The root of one Mailroom installation's files.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// A data directory at `root` (created with its `domains/` if missing).
    pub fn create(root: impl Into<PathBuf>) -> io::Result<DataDir> {
        let dir = DataDir { root: root.into() };
        fs::create_dir_all(dir.domains())?;
        Ok(dir)
    }

    /// A data directory that must exist already (for the administration commands, so a
    /// typo in `--data` is an error rather than a new, empty installation).
    pub fn open(root: impl Into<PathBuf>) -> io::Result<DataDir> {
        let dir = DataDir { root: root.into() };
        if !dir.domains().is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{} is not a Mailroom data directory (it has no domains/); \
                     run `mailroom serve --data {0}` or `mailroom domain add` first",
                    dir.root.display()
                ),
            ));
        }
        Ok(dir)
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `mailroom.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.root.join("mailroom.toml")
    }

    /// `domains/`.
    pub fn domains(&self) -> PathBuf {
        self.root.join("domains")
    }

    /// `domains/<domain>/`.
    pub fn domain(&self, domain: &Domain) -> PathBuf {
        self.domains().join(domain.as_str())
    }

    /// `domains/<domain>/users/<user>/`.
    pub fn user(&self, domain: &Domain, user: &LocalPart) -> PathBuf {
        self.domain(domain).join("users").join(user.as_str())
    }

    /// `domains/<domain>/users/<user>/Maildir/`.
    pub fn maildir(&self, domain: &Domain, user: &LocalPart) -> PathBuf {
        self.user(domain, user).join("Maildir")
    }

    /// `queue/<host>/`: each host has its own queue (DESIGN.md §8).
    pub fn queue(&self, host: &str) -> PathBuf {
        self.root.join("queue").join(host)
    }

    /// `tls/`.
    pub fn tls(&self) -> PathBuf {
        self.root.join("tls")
    }

    /// `secrets/`.
    pub fn secrets(&self) -> PathBuf {
        self.root.join("secrets")
    }

    /// `removed/`: what `domain remove` and `user remove` set aside.
    pub fn removed(&self) -> PathBuf {
        self.root.join("removed")
    }
}

/// Replaces `path` with `contents` atomically and durably: a temporary file in the same
/// directory, written, fsync'ed, renamed over `path`, then the directory fsync'ed. A
/// reader sees the old file or the new one, never a mix; a crash leaves one of the two.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", maildir::name::unique_name()));
    let result = (|| {
        let mut file = fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates a file that must not exist yet, durably (`O_EXCL`, fsync, directory fsync).
pub fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = fs::OpenOptions::new().write(true).create_new(true).open(path)?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(e);
    }
    File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("account.toml");
        write_atomic(&path, b"one").expect("write");
        write_atomic(&path, b"two").expect("replace");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
        assert!(write_new(&path, b"three").is_err(), "write_new replaced a file");
        assert_eq!(fs::read(&path).expect("read"), b"two");
    }
}
