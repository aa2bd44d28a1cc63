//! The header index of a folder: one compact record per message, so that the folder page
//! never reads a message body (DESIGN.md §3).
//!
//! The index is a cache, never the truth. It is kept in memory by whoever serves pages and
//! snapshotted to `mailroom-index` in the folder. [`HeaderIndex::sync`] brings it up to
//! date with the least work that is still correct:
//!
//! 1. stat `new/` and `cur/` (two system calls);
//! 2. apply journal entries written by this crate's own changes in any process
//!    ([`crate::journal`]): a delivery, flag change, move or delete touches only its
//!    records;
//! 3. for a directory whose stamp the journal does not explain, list it and diff the
//!    listing against the records: files renamed get their new names (no header read),
//!    files gone are dropped, and only files never seen are opened — reading their header
//!    block alone, on every core;
//! 4. every [`FULL_CHECK_EVERY`], list both directories anyway: the journal cannot see
//!    what programs other than this crate change while one of its batches is under way.
//!
//! A missing, torn, foreign or other-version index file is rebuilt from the directories.
//! Two processes updating one folder each write whole snapshots by atomic rename: the
//! last writer wins, and both are correct, because each sync re-checks the directory
//! stamps. INTERNALS.md gives the argument.
//!
//! # Layout
//! - `record`: one message's record
//! - `query`: sort, page, search, threads
//! - `file`: the snapshot file format
//! - `sync`: the journal and directory diff

mod file;
mod query;
mod record;
mod sync;

use std::collections::{BTreeSet, HashMap};

pub use file::{FILE, VERSION};
pub use query::{Page, Query, Search, SearchField, SortKey};
pub use record::Record;
pub use sync::{COMPACT_AT, FULL_CHECK_EVERY, Progress, RACY_WINDOW, SyncOptions};

use crate::journal::DirStamp;
use crate::name::{Flags, Subdir};
use crate::{Folder, Result};

/// A directory stamp the records are known to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verified {
    stamp: DirStamp,
    /// Taken so soon after the directory last changed that a change in the same clock
    /// tick could hide behind it: trusted for nothing, the next sync lists again.
    racy: bool,
}

/// How loading the snapshot went.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Loaded {
    /// The index was already in memory (a sync of an open index).
    #[default]
    InMemory,
    /// Read from `mailroom-index`.
    FromFile,
    /// No index file: built from the directories.
    Missing,
    /// The file was not trusted (why), so the index was rebuilt.
    Rebuilt(&'static str),
}

/// What a sync did, for logs, progress and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// How the snapshot was loaded (for [`HeaderIndex::open`]).
    pub loaded: Loaded,
    /// Journal entries applied.
    pub journal_entries: usize,
    /// Which directories were listed (`[new, cur]`) because nothing explained their stamp.
    pub listed: [bool; 2],
    /// Records added (header blocks read).
    pub added: usize,
    /// Records removed.
    pub removed: usize,
    /// Records whose file name changed (flags, new→cur).
    pub renamed: usize,
    /// Directory entries that are not addressable messages and were left alone.
    pub skipped: usize,
    /// Whether the snapshot file was written.
    pub saved: bool,
}

impl SyncReport {
    /// Whether the sync changed any record.
    pub fn changed(&self) -> bool {
        self.added + self.removed + self.renamed > 0
    }
}

/// The header index of one folder.
#[derive(Debug)]
pub struct HeaderIndex {
    folder: Folder,
    records: Vec<Record>,
    by_unique: HashMap<Box<str>, u32>,
    verified: [Option<Verified>; 2],
    /// Journal entries whose changes the records include.
    applied: BTreeSet<String>,
    /// Record changes since the snapshot was last written.
    unsaved: usize,
    /// Unix time of the last sync that listed both directories.
    last_full_scan: i64,
}

impl HeaderIndex {
    /// Opens the index of `folder`: loads its snapshot (or starts empty if there is none
    /// or it is not trusted) and syncs it.
    pub fn open(folder: &Folder) -> Result<(HeaderIndex, SyncReport)> {
        HeaderIndex::open_with(folder, &SyncOptions::default())
    }

    /// [`HeaderIndex::open`] with options (progress, a forced full listing).
    pub fn open_with(folder: &Folder, options: &SyncOptions) -> Result<(HeaderIndex, SyncReport)> {
        folder.check()?;
        let (mut index, loaded) = match file::load(folder.path()) {
            Ok(snap) => {
                let index = HeaderIndex {
                    folder: folder.clone(),
                    records: snap.records,
                    by_unique: snap.by_unique,
                    verified: snap.verified,
                    applied: snap.applied,
                    unsaved: 0,
                    last_full_scan: snap.last_full_scan,
                };
                (index, Loaded::FromFile)
            }
            Err(file::LoadError::Missing) => (HeaderIndex::empty(folder.clone()), Loaded::Missing),
            Err(file::LoadError::Invalid(why)) => {
                (HeaderIndex::empty(folder.clone()), Loaded::Rebuilt(why))
            }
            Err(file::LoadError::Io(e)) => return Err(e),
        };
        if loaded != Loaded::FromFile {
            // Nothing on disk to agree with: the first sync writes the snapshot.
            index.unsaved = 1;
        }
        let mut report = index.sync_with(options)?;
        report.loaded = loaded;
        Ok((index, report))
    }

    /// Builds an index from the directories alone, in memory, ignoring and not touching
    /// any snapshot or journal: the from-scratch truth to compare an index with.
    pub fn scan(folder: &Folder) -> Result<HeaderIndex> {
        folder.check()?;
        let mut index = HeaderIndex::empty(folder.clone());
        let options = SyncOptions { full: true, read_only: true, ..SyncOptions::default() };
        index.sync_with(&options)?;
        Ok(index)
    }

    /// Whether two indexes hold the same records (in any order).
    pub fn same_records(&self, other: &HeaderIndex) -> bool {
        fn sorted(index: &HeaderIndex) -> Vec<&Record> {
            let mut v: Vec<&Record> = index.records.iter().collect();
            v.sort_by(|a, b| a.unique().cmp(b.unique()));
            v
        }
        sorted(self) == sorted(other)
    }

    /// An empty index that has verified nothing: its first sync lists both directories.
    pub(crate) fn empty(folder: Folder) -> HeaderIndex {
        HeaderIndex {
            folder,
            records: Vec::new(),
            by_unique: HashMap::new(),
            verified: [None, None],
            applied: BTreeSet::new(),
            unsaved: 0,
            last_full_scan: 0,
        }
    }

    /// Brings the index up to date with the folder (see the module documentation).
    pub fn sync(&mut self) -> Result<SyncReport> {
        self.sync_with(&SyncOptions::default())
    }

    /// Writes the snapshot now (sync writes it when it is worth it).
    pub fn save(&mut self) -> Result<()> {
        file::save(self)?;
        self.unsaved = 0;
        Ok(())
    }

    /// The folder indexed.
    pub fn folder(&self) -> &Folder {
        &self.folder
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the folder is empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Number of unread messages.
    pub fn unread(&self) -> usize {
        self.records.iter().filter(|r| r.is_unread()).count()
    }

    /// Number of messages with all of `flags` set.
    pub fn count_flagged(&self, flags: Flags) -> usize {
        self.records.iter().filter(|r| r.flags().contains(flags)).count()
    }

    /// Total size of the messages, in bytes.
    pub fn total_size(&self) -> u64 {
        self.records.iter().map(|r| r.size).sum()
    }

    /// The record of the message with this unique name.
    pub fn get(&self, unique: &str) -> Option<&Record> {
        self.by_unique.get(unique).map(|&i| &self.records[i as usize])
    }

    /// Every record, in no particular order.
    pub fn records(&self) -> impl ExactSizeIterator<Item = &Record> {
        self.records.iter()
    }

    fn insert(&mut self, record: Record) {
        match self.by_unique.get(record.unique()) {
            Some(&i) => self.records[i as usize] = record,
            None => {
                self.by_unique.insert(record.unique().into(), self.records.len() as u32);
                self.records.push(record);
            }
        }
        self.unsaved += 1;
    }

    fn remove(&mut self, unique: &str) -> bool {
        let Some(i) = self.by_unique.remove(unique) else {
            return false;
        };
        let i = i as usize;
        self.records.swap_remove(i);
        if let Some(moved) = self.records.get(i) {
            self.by_unique.insert(moved.unique().into(), i as u32);
        }
        self.unsaved += 1;
        true
    }

    fn subdir_verified(&self, dir: Subdir) -> Option<Verified> {
        self.verified[dir.index()]
    }
}
