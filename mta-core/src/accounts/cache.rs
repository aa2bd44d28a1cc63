//! Parsed files kept in memory and re-read when the file changes on disk, so that the
//! SMTP server sees an account added by `mailroom user add` in another process (or on
//! another host) at the next lookup, without a restart and without re-parsing on every
//! RCPT.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What identifies one version of a file: every write here is a rename over (a new
/// inode), and a hand edit changes size or mtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Stamp {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Stamp {
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// A cache of files parsed into `T`. A missing file is `None`, not an error.
#[derive(Debug)]
pub struct FileCache<T> {
    entries: Mutex<HashMap<PathBuf, (Stamp, Arc<T>)>>,
}

impl<T> Default for FileCache<T> {
    fn default() -> Self {
        FileCache { entries: Mutex::new(HashMap::new()) }
    }
}

/// Entries beyond this are dropped wholesale (a domain with more users than this still
/// works; it re-reads more often).
const MAX_ENTRIES: usize = 100_000;

impl<T> FileCache<T> {
    /// The parsed file, from memory when the file has not changed since it was parsed.
    pub fn get<E>(
        &self,
        path: &Path,
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<Option<Arc<T>>, CacheError<E>> {
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.lock().remove(path);
                return Ok(None);
            }
            Err(e) => return Err(CacheError::Io(e)),
        };
        let stamp = Stamp::of(&meta);
        if let Some((seen, value)) = self.lock().get(path)
            && *seen == stamp
        {
            return Ok(Some(Arc::clone(value)));
        }
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CacheError::Io(e)),
        };
        let value = Arc::new(parse(&bytes).map_err(CacheError::Parse)?);
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(path.to_path_buf(), (stamp, Arc::clone(&value)));
        Ok(Some(value))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, (Stamp, Arc<T>)>> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Reading failed, or the file did not parse.
#[derive(Debug)]
pub enum CacheError<E> {
    /// The system said no.
    Io(io::Error),
    /// The contents are wrong.
    Parse(E),
}
