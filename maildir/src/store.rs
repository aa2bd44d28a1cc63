//! A user's Maildir++: INBOX (the Maildir itself) and its folders, `.Name` directories
//! beside `cur/ new/ tmp/`, each with an empty `maildirfolder` file.
//!
//! Everything else in the directory belongs to somebody and is left alone: Courier's
//! `courierimapuiddb`, `courierimapkeywords/` and `sqwebmail-*`, Dovecot's `dovecot-*`
//! and `subscriptions`, the `maildirsize` of quota. Folder operations only ever touch
//! `.Name` directories whose names went through [`FolderName`].

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::IoContext;
use crate::folder::Counts;
use crate::name::{Subdir, unique_name};
use crate::{Error, Folder, FolderName, Result, quota};

/// Folders a new Maildir gets, as SqWebMail and most IMAP clients expect them.
pub const DEFAULT_FOLDERS: [&str; 4] = ["Sent", "Drafts", "Trash", "Junk"];

/// The empty file that marks a Maildir++ folder (so a delivery agent pointed at it knows
/// it is not a top-level Maildir).
pub const FOLDER_MARKER: &str = "maildirfolder";

/// A user's Maildir++.
#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
}

/// A folder with its message counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderInfo {
    /// The folder.
    pub name: FolderName,
    /// Its counts, from file names.
    pub counts: Counts,
}

impl Maildir {
    /// Opens an existing Maildir (it must have `cur/ new/ tmp/`).
    pub fn open(root: impl Into<PathBuf>) -> Result<Maildir> {
        let root = root.into();
        Folder::open_dir(&root)?;
        Ok(Maildir { root })
    }

    /// Creates a Maildir with the default folders, or opens it if it exists (adding any
    /// default folder that is missing).
    pub fn create(root: impl Into<PathBuf>) -> Result<Maildir> {
        let root = root.into();
        make_maildir_dirs(&root)?;
        let maildir = Maildir { root };
        for name in DEFAULT_FOLDERS {
            let name = FolderName::parse(name)?;
            match maildir.create_folder(&name) {
                Ok(_) | Err(Error::FolderExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(maildir)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// INBOX.
    pub fn inbox(&self) -> Folder {
        Folder::at(&self.root, FolderName::inbox())
    }

    /// A folder, checked to exist.
    pub fn folder(&self, name: &FolderName) -> Result<Folder> {
        let folder = Folder::at(&self.root, name.clone());
        match folder.check() {
            Ok(()) => Ok(folder),
            Err(Error::NotAMaildir { .. }) => Err(Error::NoSuchFolder(name.to_string())),
            Err(e) => Err(e),
        }
    }

    /// All folders, INBOX first, the rest in reading order. Directories that are not
    /// Maildir++ folders are not listed.
    pub fn folders(&self) -> Result<Vec<FolderName>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.root).ctx("list", &self.root)? {
            let entry = entry.ctx("list", &self.root)?;
            let Some(name) = entry.file_name().to_str().and_then(FolderName::from_dir_name) else {
                continue;
            };
            if entry.path().join("cur").is_dir() {
                names.push(name);
            }
        }
        // As users read them: level by level, case-insensitive, so children follow
        // their parent whatever the on-disk encoding.
        names.sort_by_cached_key(|n| {
            let levels = n.levels();
            (levels.iter().map(|l| l.to_lowercase()).collect::<Vec<_>>(), levels)
        });
        names.insert(0, FolderName::inbox());
        Ok(names)
    }

    /// All folders with total, unread and size, from file names.
    pub fn folder_infos(&self) -> Result<Vec<FolderInfo>> {
        let mut infos = Vec::new();
        for name in self.folders()? {
            let folder = Folder::at(&self.root, name.clone());
            match folder.counts() {
                Ok(counts) => infos.push(FolderInfo { name, counts }),
                // Deleted or renamed by someone else since the listing.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(infos)
    }

    /// Creates a folder (its parent levels need not exist, as in Courier).
    pub fn create_folder(&self, name: &FolderName) -> Result<Folder> {
        let Some(dir_name) = name.dir_name() else {
            return Err(Error::FolderExists(name.to_string()));
        };
        let path = self.root.join(&dir_name);
        // Build the folder under a temporary name and rename it into place, so nobody
        // ever sees a folder without cur/ new/ tmp/ or its marker.
        let staging = self.root.join("tmp").join(format!("{}.folder", unique_name()));
        make_maildir_dirs(&staging)?;
        let marker = staging.join(FOLDER_MARKER);
        fs::write(&marker, b"").ctx("create", &marker)?;
        if path.exists() {
            let _ = fs::remove_dir_all(&staging);
            return Err(Error::FolderExists(name.to_string()));
        }
        if let Err(e) = fs::rename(&staging, &path) {
            let _ = fs::remove_dir_all(&staging);
            // rename(2) onto an existing non-empty directory fails with ENOTEMPTY/EEXIST.
            return Err(match e.kind() {
                io::ErrorKind::DirectoryNotEmpty | io::ErrorKind::AlreadyExists => {
                    Error::FolderExists(name.to_string())
                }
                _ => Error::io("create folder", &path, e),
            });
        }
        Ok(Folder::at(&self.root, name.clone()))
    }

    /// Renames a folder and every folder below it (`Work` → `Archive/Work` moves
    /// `Work/Projects` to `Archive/Work/Projects`). Each directory is one atomic rename;
    /// a crash between them leaves some children under the old name, with every message
    /// still in place.
    pub fn rename_folder(&self, from: &FolderName, to: &FolderName) -> Result<()> {
        if from.is_inbox() || to.is_inbox() {
            return Err(Error::FolderRefused {
                name: from.to_string(),
                reason: "INBOX cannot be renamed, and nothing can be renamed to INBOX",
            });
        }
        if to == from || to.is_below(from) {
            return Err(Error::FolderRefused {
                name: from.to_string(),
                reason: "a folder cannot be moved into itself",
            });
        }
        self.folder(from)?;
        let moving: Vec<FolderName> = self
            .folders()?
            .into_iter()
            .filter(|name| name == from || name.is_below(from))
            .collect();
        // Check every target first so that a clash refuses the whole rename.
        for name in &moving {
            let target = name.rebase(from, to);
            if target.dir_name().is_some_and(|d| d.len() > 255) {
                return Err(Error::InvalidFolderName {
                    name: target.to_string(),
                    reason: "the name is too long",
                });
            }
            if self.root.join(target.dir_name().unwrap_or_default()).exists() {
                return Err(Error::FolderExists(target.to_string()));
            }
        }
        for name in &moving {
            let target = name.rebase(from, to);
            let (src, dst) = (self.dir_of(name), self.dir_of(&target));
            fs::rename(&src, &dst).ctx("rename folder", &src)?;
        }
        Ok(())
    }

    /// Deletes a folder and its messages. Refused for INBOX and for a folder with
    /// subfolders. The folder is first renamed aside (readers see it vanish at once), then
    /// removed; a crash leaves the aside copy in `tmp/`, where the next delete of any
    /// folder or [`Maildir::sweep`] finishes the job.
    pub fn delete_folder(&self, name: &FolderName) -> Result<()> {
        if name.is_inbox() {
            return Err(Error::FolderRefused {
                name: name.to_string(),
                reason: "INBOX cannot be deleted",
            });
        }
        let folder = self.folder(name)?;
        if self.folders()?.iter().any(|other| other.is_below(name)) {
            return Err(Error::FolderRefused {
                name: name.to_string(),
                reason: "it has subfolders; delete or move them first",
            });
        }
        let counts = if folder.is_trash() { Counts::default() } else { folder.counts()? };
        let aside = self.root.join("tmp").join(format!("{}.deleted-folder", unique_name()));
        fs::rename(folder.path(), &aside).ctx("delete folder", folder.path())?;
        if counts.total > 0 {
            quota::record(&self.root, -(counts.bytes as i64), -(counts.total as i64));
        }
        fs::remove_dir_all(&aside).ctx("remove deleted folder", &aside)?;
        Ok(())
    }

    /// Housekeeping: sweeps stale `tmp/` files of every folder and removes folders left
    /// half-deleted by a crash. Returns the number of files removed.
    pub fn sweep(&self) -> Result<usize> {
        let mut removed = 0;
        for name in self.folders()? {
            removed += Folder::at(&self.root, name).sweep_tmp(crate::folder::TMP_MAX_AGE)?;
        }
        let tmp = self.root.join("tmp");
        for entry in fs::read_dir(&tmp).ctx("list", &tmp)?.flatten() {
            let is_aside = entry.file_name().to_string_lossy().ends_with(".deleted-folder")
                || entry.file_name().to_string_lossy().ends_with(".folder");
            if is_aside && entry.file_type().is_ok_and(|t| t.is_dir()) {
                let age = entry.metadata().and_then(|m| m.modified()).ok();
                let stale = age
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|a| a > std::time::Duration::from_secs(3600));
                if stale && fs::remove_dir_all(entry.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    fn dir_of(&self, name: &FolderName) -> PathBuf {
        match name.dir_name() {
            Some(dir) => self.root.join(dir),
            None => self.root.clone(),
        }
    }

    /// Opens `new/` or `cur/` of a folder — for callers that list directories directly.
    pub fn subdir(&self, name: &FolderName, dir: Subdir) -> PathBuf {
        self.dir_of(name).join(dir.as_str())
    }
}

/// `mkdir -p root/{cur,new,tmp}`, tolerating what exists.
fn make_maildir_dirs(root: &Path) -> Result<()> {
    for sub in ["", "cur", "new", "tmp"] {
        let dir = root.join(sub);
        match fs::create_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("create", &dir, e)),
        }
    }
    Ok(())
}
