//! One Maildir directory (INBOX or a Maildir++ folder): its `cur/`, `new/` and `tmp/`.
//!
//! Readers here tolerate other writers: a file listed in `new/` may be in `cur/` by the
//! time it is opened, under another name, because another process (or host) read it or
//! changed its flags. [`Folder::open_message`] follows such a move by its unique part.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use rustix::fs::{Dir, Mode, OFlags};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::IoContext;
use crate::name::{self, Flags, MessageFile, Subdir};
use crate::{Error, FolderName, Result};

/// How long a file may sit in `tmp/` before it is taken for the leftover of a crashed
/// writer. The Maildir spec's 36 hours: far longer than any delivery takes.
pub const TMP_MAX_AGE: Duration = Duration::from_secs(36 * 3600);

/// A Maildir directory, as part of a Maildir++ (or on its own, as its INBOX).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// The Maildir++ root, where `maildirsize` lives.
    root: PathBuf,
    /// This folder's directory (the root itself for INBOX).
    path: PathBuf,
    name: FolderName,
}

/// What a listing found.
#[derive(Debug, Default)]
pub struct Listing {
    /// The message files, `new/` first, each directory in directory order.
    pub files: Vec<MessageFile>,
    /// Entries that are not addressable messages (not UTF-8, control characters) and
    /// were left alone. Dot-files are skipped silently, as the spec says.
    pub skipped: Vec<OsString>,
}

/// Message counts of a folder, from its file names alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Messages in `new/` and `cur/`.
    pub total: u64,
    /// Messages without the `S` flag.
    pub unread: u64,
    /// Their total size in bytes (from `,S=` where present, else from `stat`).
    pub bytes: u64,
}

impl Folder {
    /// The folder `name` of the Maildir++ at `root`; nothing is checked on disk.
    pub(crate) fn at(root: &Path, name: FolderName) -> Folder {
        let path = match name.dir_name() {
            Some(dir) => root.join(dir),
            None => root.to_path_buf(),
        };
        Folder { root: root.to_path_buf(), path, name }
    }

    /// A plain Maildir directory, opened as the INBOX of itself. Fails if it lacks `cur/`,
    /// `new/` or `tmp/`.
    pub fn open_dir(path: impl Into<PathBuf>) -> Result<Folder> {
        let path = path.into();
        let folder = Folder { root: path.clone(), path, name: FolderName::inbox() };
        folder.check()?;
        Ok(folder)
    }

    /// Checks that the three subdirectories exist.
    pub fn check(&self) -> Result<()> {
        for sub in ["cur", "new", "tmp"] {
            let dir = self.path.join(sub);
            match fs::metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(Error::NotAMaildir { path: self.path.clone(), missing: sub });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(Error::NotAMaildir { path: self.path.clone(), missing: sub });
                }
                Err(e) => return Err(Error::io("stat", &dir, e)),
            }
        }
        Ok(())
    }

    /// The folder's name.
    pub fn name(&self) -> &FolderName {
        &self.name
    }

    /// The folder's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The Maildir++ root this folder belongs to.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `new/` or `cur/` of this folder.
    pub fn subdir(&self, dir: Subdir) -> PathBuf {
        self.path.join(dir.as_str())
    }

    /// `tmp/` of this folder.
    pub fn tmp_dir(&self) -> PathBuf {
        self.path.join("tmp")
    }

    /// The path of a message file.
    pub fn file_path(&self, file: &MessageFile) -> PathBuf {
        self.subdir(file.dir).join(&file.name)
    }

    /// Whether Maildir++ quota leaves this folder out (Trash).
    pub fn is_trash(&self) -> bool {
        self.name.is_trash()
    }

    /// Lists one subdirectory.
    pub fn list_dir(&self, dir: Subdir) -> Result<Listing> {
        let mut listing = Listing::default();
        self.list_into(dir, &mut listing)?;
        Ok(listing)
    }

    /// Lists `new/` then `cur/`.
    pub fn list(&self) -> Result<Listing> {
        let mut listing = Listing::default();
        for dir in Subdir::ALL {
            self.list_into(dir, &mut listing)?;
        }
        Ok(listing)
    }

    /// The messages that came into this folder at least `age` before `now`: their
    /// inode change time, which a rename into the folder sets (for Trash: when they were
    /// deleted). A message gone meanwhile is simply not listed.
    pub fn arrived_before(
        &self,
        age: std::time::Duration,
        now: std::time::SystemTime,
    ) -> Result<Vec<MessageFile>> {
        use std::os::unix::fs::MetadataExt;
        let limit = now.checked_sub(age).and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        let Some(limit) = limit else { return Ok(Vec::new()) };
        let mut old = Vec::new();
        for file in self.list()?.files {
            if let Ok(meta) = std::fs::symlink_metadata(self.file_path(&file))
                && (meta.ctime() as u64) < limit.as_secs()
            {
                old.push(file);
            }
        }
        Ok(old)
    }

    fn list_into(&self, dir: Subdir, listing: &mut Listing) -> Result<()> {
        let path = self.subdir(dir);
        let fd = rustix::fs::open(
            &path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io("list", &path, e.into()))?;
        // rustix's Dir reads entries in large batches and lends each name without an
        // allocation: a folder of 100,000 messages costs 100,000 strings, not 300,000.
        let mut entries = Dir::read_from(&fd).map_err(|e| Error::io("list", &path, e.into()))?;
        while let Some(entry) = entries.read() {
            let entry = entry.map_err(|e| Error::io("list", &path, e.into()))?;
            let raw = entry.file_name().to_bytes();
            if raw.first() == Some(&b'.') {
                continue;
            }
            match std::str::from_utf8(raw) {
                Ok(n) if name::check_file_name(n).is_ok() => {
                    listing.files.push(MessageFile { dir, name: n.to_string() });
                }
                _ => listing.skipped.push(OsString::from_vec(raw.to_vec())),
            }
        }
        Ok(())
    }

    /// Finds the message whose unique part is `unique`, wherever it is now. `cur/` wins
    /// over `new/` if both have it (a move caught half-way).
    pub fn locate(&self, unique: &str) -> Result<Option<MessageFile>> {
        let mut found = None;
        for dir in Subdir::ALL {
            for file in self.list_dir(dir)?.files {
                if file.unique() == unique {
                    found = Some(file);
                }
            }
        }
        Ok(found)
    }

    /// Opens a message for reading. If another process renamed it since it was listed,
    /// follows it by its unique part; returns the file as it was found.
    pub fn open_message(&self, file: &MessageFile) -> Result<(File, MessageFile)> {
        let path = self.file_path(file);
        match File::open(&path) {
            Ok(f) => Ok((f, file.clone())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let moved = self
                    .locate(file.unique())?
                    .ok_or_else(|| Error::MessageGone(file.unique().to_string()))?;
                let path = self.file_path(&moved);
                let f = File::open(&path).map_err(|e| match e.kind() {
                    io::ErrorKind::NotFound => Error::MessageGone(file.unique().to_string()),
                    _ => Error::io("open", &path, e),
                })?;
                Ok((f, moved))
            }
            Err(e) => Err(Error::io("open", &path, e)),
        }
    }

    /// The size of a message: from its name if a Maildir++ writer put it there, else from
    /// the file.
    pub fn message_size(&self, file: &MessageFile) -> Result<u64> {
        if let Some(size) = file.size_hint() {
            return Ok(size);
        }
        let (f, _) = self.open_message(file)?;
        Ok(f.metadata().ctx("stat", &self.file_path(file))?.len())
    }

    /// Counts messages from file names alone (no message is opened unless its name lacks
    /// `,S=`).
    pub fn counts(&self) -> Result<Counts> {
        let mut counts = Counts::default();
        for file in self.list()?.files {
            counts.total += 1;
            if !file.flags().contains(Flags::SEEN) {
                counts.unread += 1;
            }
            counts.bytes += match file.size_hint() {
                Some(size) => size,
                // Gone since the listing: it no longer counts.
                None => fs::metadata(self.file_path(&file)).map_or(0, |m| m.len()),
            };
        }
        Ok(counts)
    }

    /// Removes files in `tmp/` last modified more than `older_than` ago (use
    /// [`TMP_MAX_AGE`]): leftovers of writers that crashed before step 5 of delivery.
    /// Returns how many were removed.
    pub fn sweep_tmp(&self, older_than: Duration) -> Result<usize> {
        let tmp = self.tmp_dir();
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in fs::read_dir(&tmp).ctx("list", &tmp)? {
            let entry = entry.ctx("list", &tmp)?;
            let Ok(meta) = entry.metadata() else { continue };
            let age = meta.modified().ok().and_then(|t| now.duration_since(t).ok());
            if meta.is_file() && age.is_some_and(|age| age > older_than) {
                match fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io("remove", entry.path(), e)),
                }
            }
        }
        crate::journal::sweep(&self.path, crate::journal::MAX_AGE);
        Ok(removed)
    }
}
