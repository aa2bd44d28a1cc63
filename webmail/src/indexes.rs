//! The header indexes of the folders being viewed, kept in memory between requests so
//! that a page is a sync (a few stats) plus a sort, never a rebuild.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use mta_core::maildir::Folder;
use mta_core::maildir::index::{HeaderIndex, Loaded, SyncOptions};

/// Folders whose index stays in memory; beyond, the cache starts over (a reopened index
/// loads its snapshot file, which is fast).
const MAX_FOLDERS: usize = 2000;

/// Indexes by folder path.
#[derive(Debug, Default)]
pub struct IndexCache {
    map: Mutex<HashMap<PathBuf, Arc<Mutex<HeaderIndex>>>>,
}

impl IndexCache {
    /// Runs `f` on the folder's index, brought up to date first. Blocking: call it from
    /// a blocking thread.
    pub fn with<T>(
        &self,
        folder: &Folder,
        f: impl FnOnce(&HeaderIndex) -> T,
    ) -> mta_core::maildir::Result<T> {
        let path = folder.path().to_path_buf();
        let cached = self.map.lock().unwrap_or_else(|p| p.into_inner()).get(&path).cloned();
        if let Some(index) = cached {
            let mut index = index.lock().unwrap_or_else(|p| p.into_inner());
            index.sync()?;
            return Ok(f(&index));
        }
        // The first view of a folder answers from memory; writing the snapshot (tens of
        // megabytes for a big folder, with fsync) happens after, off the request.
        let options = SyncOptions { read_only: true, ..SyncOptions::default() };
        let (index, report) = HeaderIndex::open_with(folder, &options)?;
        let result = f(&index);
        let index = Arc::new(Mutex::new(index));
        {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() >= MAX_FOLDERS {
                map.clear();
            }
            map.insert(path, Arc::clone(&index));
        }
        if report.loaded != Loaded::FromFile || report.changed() {
            std::thread::spawn(move || {
                let mut index = index.lock().unwrap_or_else(|p| p.into_inner());
                // A read-only or full disk: the index keeps working from memory and the
                // next sync of any process tries again.
                if let Err(e) = index.save() {
                    tracing::warn!(
                        "header index of {}: not saved: {e}",
                        index.folder().path().display()
                    );
                }
            });
        }
        Ok(result)
    }
}
