//! The one error type of this crate.

use std::io;
use std::path::{Path, PathBuf};

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the store. Each variant says whether retrying later can
/// help ([`Error::is_temporary`]), which is what an MTA needs to choose 4xx or 5xx.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed; `op` names the step, `path` the file it touched.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// The step that failed, e.g. "fsync" or "link into new/".
        op: &'static str,
        /// The file or directory the step worked on.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// A directory that should be a Maildir lacks `cur/`, `new/` or `tmp/`.
    #[error("{} is not a Maildir: it has no {missing}/ directory", path.display())]
    NotAMaildir {
        /// The directory looked at.
        path: PathBuf,
        /// The subdirectory that is missing.
        missing: &'static str,
    },
    /// A folder name failed validation; the reason is meant for the user.
    #[error("invalid folder name {name:?}: {reason}")]
    InvalidFolderName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The folder asked for does not exist.
    #[error("folder {0:?} does not exist")]
    NoSuchFolder(String),
    /// A folder of that name exists already.
    #[error("folder {0:?} already exists")]
    FolderExists(String),
    /// The operation is not allowed on this folder (INBOX cannot be renamed, say).
    #[error("folder {name:?}: {reason}")]
    FolderRefused {
        /// The folder.
        name: String,
        /// Why the operation is refused.
        reason: &'static str,
    },
    /// The message is not in the folder any more (another process moved or deleted it).
    #[error("message {0} is no longer in this folder")]
    MessageGone(String),
    /// A file name that is not a message this store can address.
    #[error("{0:?} is not a valid Maildir message file name")]
    InvalidFileName(String),
    /// Delivering or storing would take the Maildir++ over its quota.
    #[error(
        "over quota: {used_bytes} bytes in {used_messages} messages used, \
         adding {adding_bytes} bytes would exceed the limit ({limit})"
    )]
    OverQuota {
        /// Bytes in use before this message.
        used_bytes: u64,
        /// Messages in use before this message.
        used_messages: u64,
        /// The size of the message refused.
        adding_bytes: u64,
        /// The limit, as written in `maildirsize` (e.g. `1000000S,1000C`).
        limit: String,
    },
}

impl Error {
    /// Wraps an I/O error with the step and the path it concerns.
    pub fn io(op: &'static str, path: impl AsRef<Path>, source: io::Error) -> Self {
        Error::Io { op, path: path.as_ref().to_path_buf(), source }
    }

    /// Whether the same operation may succeed later without anyone changing the request:
    /// a full disk, a quota that will be freed, a transient I/O failure.
    pub fn is_temporary(&self) -> bool {
        match self {
            Error::Io { source, .. } => !matches!(
                source.kind(),
                io::ErrorKind::PermissionDenied | io::ErrorKind::InvalidInput
            ),
            Error::OverQuota { .. } => true,
            _ => false,
        }
    }

    /// Whether this is a "file not found" from the system: another process got there first.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// Attach an operation and a path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: &Path) -> Result<T> {
        self.map_err(|e| Error::io(op, path, e))
    }
}
