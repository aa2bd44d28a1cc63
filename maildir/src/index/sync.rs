//! Bringing an index up to date: the journal first, then a diff of each directory whose
//! stamp the journal cannot explain, then header blocks of the files never seen, read in
//! parallel.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;

use rustix::fs::{Mode, OFlags};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::record::Record;
use super::{HeaderIndex, SyncReport, Verified};
use crate::header::{read_header_block_sized, summarize};
use crate::journal::{self, DirStamp, Op};
use crate::name::{MessageFile, Subdir};
use crate::{Folder, Result};

/// A directory stamp younger than this when it was taken may hide a change made in the
/// same timestamp tick, so it is not trusted (the next sync lists the directory again).
/// It must exceed the coarsest timestamp granularity of the filesystems Mailroom runs on
/// (1 s on ext3 and some NFS servers; kernel ticks of 1–10 ms elsewhere).
pub const RACY_WINDOW: Duration = Duration::from_secs(2);
/// How long an index goes without listing both directories. Changes that other programs
/// (qmail-local, an IMAP server) make while one of this crate's batches is between its two
/// stamps of a directory are explained away by the batch's journal entry; this bounds how
/// long such a change can stay unseen.
pub const FULL_CHECK_EVERY: Duration = Duration::from_secs(15 * 60);
/// Journal entries applied before the snapshot is rewritten and the entries removed.
pub const COMPACT_AT: usize = 64;
/// Record changes that make a sync rewrite the snapshot of a large folder.
pub const SAVE_AFTER_CHANGES: usize = 256;
/// Up to this many records a snapshot takes well under a millisecond to write, so any
/// change is saved at once.
pub const CHEAP_SAVE_RECORDS: usize = 2000;
/// Header reads handed to one thread at least (fewer are not worth a thread).
const READS_PER_THREAD: usize = 256;
/// How often progress is reported, in header reads.
const PROGRESS_EVERY: usize = 256;

/// Progress of a sync, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// This many header blocks are about to be read.
    Found(usize),
    /// This many more have been read.
    Read(usize),
}

/// How to sync.
#[derive(Clone, Copy)]
pub struct SyncOptions<'a> {
    /// List both directories even if the journal explains them (a full verification).
    pub full: bool,
    /// Never write the snapshot nor compact the journal (a read-only Maildir, or an
    /// index built only to compare with another).
    pub read_only: bool,
    /// How recent a directory change may be before its stamp is trusted
    /// ([`RACY_WINDOW`] by default). Zero is right only where timestamps are
    /// fine-grained and local (ext4, xfs, btrfs, tmpfs on Linux 6.13 and later).
    pub racy_window: Duration,
    /// Called as header blocks are found and read, from several threads.
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
}

impl Default for SyncOptions<'_> {
    fn default() -> Self {
        SyncOptions { full: false, read_only: false, racy_window: RACY_WINDOW, progress: None }
    }
}

impl std::fmt::Debug for SyncOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOptions")
            .field("full", &self.full)
            .field("read_only", &self.read_only)
            .field("racy_window", &self.racy_window)
            .finish_non_exhaustive()
    }
}

fn now_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as i128
}

fn is_racy(stamp: &DirStamp, window: Duration) -> bool {
    let ns = |(s, n): (i64, i64)| s as i128 * 1_000_000_000 + n as i128;
    let changed = ns(stamp.mtime).max(ns(stamp.ctime));
    !window.is_zero() && now_ns() - changed < window.as_nanos() as i128
}

impl HeaderIndex {
    /// [`HeaderIndex::sync`] with options.
    pub fn sync_with(&mut self, options: &SyncOptions) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        let folder = self.folder.clone();
        // 1. Where the directories are now.
        let now = [
            DirStamp::of(&folder.subdir(Subdir::New))?,
            DirStamp::of(&folder.subdir(Subdir::Cur))?,
        ];

        // 2. The journal: apply what is new, and see which stamps it explains.
        let mut explained: [Vec<DirStamp>; 2] = [Vec::new(), Vec::new()];
        for dir in Subdir::ALL {
            if let Some(v) = self.subdir_verified(dir).filter(|v| !v.racy) {
                explained[dir.index()].push(v.stamp);
            }
        }
        // Files to read: from the journal (few, deduplicated as they come) and from
        // listings (each unique once per directory).
        let mut to_read: Vec<MessageFile> = Vec::new();
        let mut touched: Vec<String> = Vec::new();
        let ids = journal::list(folder.path())?;
        self.applied.retain(|id| ids.binary_search(id).is_ok());
        for id in &ids {
            if self.applied.contains(id) {
                continue;
            }
            let Some(entry) = journal::read(folder.path(), id)? else {
                continue;
            };
            for span in &entry.spans {
                let chain = &mut explained[span.dir.index()];
                if chain.contains(&span.before) {
                    chain.push(span.after);
                }
            }
            for op in entry.ops {
                self.apply(op, &mut to_read, &mut touched, &mut report);
            }
            self.applied.insert(id.clone());
            report.journal_entries += 1;
        }

        // 3. Which directories must be listed: those the journal does not explain, and
        // those where a journaled name turns out not to exist (entries from hosts with
        // skewed clocks can apply out of order).
        let due = (now_ns() / 1_000_000_000) as i64 - self.last_full_scan
            > FULL_CHECK_EVERY.as_secs() as i64;
        let mut list = [options.full || due; 2];
        for dir in Subdir::ALL {
            if !explained[dir.index()].contains(&now[dir.index()]) {
                list[dir.index()] = true;
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for unique in &touched {
            if let Some(r) = self.get(unique)
                && !folder.file_path(&r.file()).exists()
            {
                list = [true, true];
            }
        }

        // 4. List and diff.
        let mut listed_at = [None, None];
        if list.contains(&true) {
            listed_at = self.list_and_diff(&folder, list, &mut to_read, &mut report)?;
        }

        // 5. Read the header blocks of messages never seen.
        let files = to_read;
        self.records.reserve(files.len());
        self.by_unique.reserve(files.len());
        if let Some(progress) = options.progress {
            progress(Progress::Found(files.len()));
        }
        let mut gone_unlisted = false;
        for (file, outcome) in read_records(&folder, files, options.progress) {
            match outcome {
                Some(record) => {
                    self.insert(record);
                    report.added += 1;
                }
                // Renamed or deleted since it was listed or journaled. If its directory
                // was listed, the stamp taken before listing already differs from the
                // directory now, so the next sync lists again; if not, make it.
                None => gone_unlisted |= !list[file.dir.index()],
            }
        }

        // 6. What the records now match.
        for dir in Subdir::ALL {
            let d = dir.index();
            self.verified[d] = match listed_at[d] {
                Some(stamp) => Some(Verified { stamp, racy: is_racy(&stamp, options.racy_window) }),
                None => Some(Verified { stamp: now[d], racy: false }),
            };
            if gone_unlisted {
                self.verified[d] = None;
            }
        }
        report.listed = list;
        if list == [true, true] {
            self.last_full_scan = (now_ns() / 1_000_000_000) as i64;
        }

        // 7. Snapshot, when it is worth its cost.
        if !options.read_only {
            self.save_if_worth(list == [true, true], &mut report);
        }
        Ok(report)
    }

    fn apply(
        &mut self,
        op: Op,
        to_read: &mut Vec<MessageFile>,
        touched: &mut Vec<String>,
        report: &mut SyncReport,
    ) {
        match op {
            Op::Put(file) => {
                let unique = file.unique().to_string();
                match self.by_unique.get(unique.as_str()) {
                    Some(&i) => {
                        let r = &mut self.records[i as usize];
                        if r.dir != file.dir || r.file_name() != file.name {
                            r.set_file(&file);
                            self.unsaved += 1;
                            report.renamed += 1;
                        }
                    }
                    None => {
                        to_read.retain(|f| f.unique() != unique);
                        to_read.push(file);
                    }
                }
                touched.push(unique);
            }
            Op::Del(unique) => {
                to_read.retain(|f| f.unique() != unique);
                if self.remove(&unique) {
                    report.removed += 1;
                }
            }
        }
    }

    /// Lists the directories in `list` and diffs them against the records: renames are
    /// applied, vanished records removed, unknown files queued for reading. Returns the
    /// stamp each listed directory had just before it was listed.
    fn list_and_diff(
        &mut self,
        folder: &Folder,
        list: [bool; 2],
        to_read: &mut Vec<MessageFile>,
        report: &mut SyncReport,
    ) -> Result<[Option<DirStamp>; 2]> {
        // A file the journal queued and the listing found is read once, under the name
        // the listing found: it may have been renamed since it was journaled.
        let queued: HashMap<String, usize> =
            to_read.iter().enumerate().map(|(i, f)| (f.unique().to_string(), i)).collect();
        let mut listed_at = [None, None];
        let mut seen = vec![false; self.records.len()];
        // new/ before cur/: a message caught in both (a move half done) ends up in cur/.
        for dir in Subdir::ALL {
            if !list[dir.index()] {
                continue;
            }
            listed_at[dir.index()] = Some(DirStamp::of(&folder.subdir(dir))?);
            let listing = folder.list_dir(dir)?;
            report.skipped += listing.skipped.len();
            for file in listing.files {
                let Some(&i) = self.by_unique.get(file.unique()) else {
                    match queued.get(file.unique()) {
                        Some(&q) => to_read[q] = file,
                        None => to_read.push(file),
                    }
                    continue;
                };
                let i = i as usize;
                let r = &mut self.records[i];
                if dir == Subdir::New && r.dir == Subdir::Cur && !list[Subdir::Cur.index()] {
                    // The cur/ copy stands (its directory is explained); this is the
                    // other half of a move in progress.
                    continue;
                }
                if r.dir != file.dir || r.file_name() != file.name {
                    r.set_file(&file);
                    self.unsaved += 1;
                    report.renamed += 1;
                }
                seen[i] = true;
            }
        }
        let gone: Vec<String> = self
            .records
            .iter()
            .enumerate()
            .filter(|(i, r)| list[r.dir.index()] && !seen[*i])
            .map(|(_, r)| r.unique().to_string())
            .collect();
        for unique in gone {
            if self.remove(&unique) {
                report.removed += 1;
            }
        }
        Ok(listed_at)
    }

    fn save_if_worth(&mut self, full_listing: bool, report: &mut SyncReport) {
        let compact = self.applied.len() >= COMPACT_AT;
        let worth = self.unsaved > 0
            && (full_listing
                || self.unsaved >= SAVE_AFTER_CHANGES
                || self.records.len() <= CHEAP_SAVE_RECORDS);
        if !(worth || compact) {
            return;
        }
        // A read-only or full disk leaves the index working in memory; the next sync of
        // any process tries again.
        if self.save().is_ok() {
            report.saved = true;
            if compact {
                let ids: Vec<String> = std::mem::take(&mut self.applied).into_iter().collect();
                journal::remove(self.folder.path(), &ids);
                journal::sweep(self.folder.path(), journal::MAX_AGE);
            }
        }
    }
}

/// Reads header blocks on every core. Each file comes back with its record, or `None` if
/// it vanished before it could be opened.
fn read_records(
    folder: &Folder,
    files: Vec<MessageFile>,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Vec<(MessageFile, Option<Record>)> {
    if files.is_empty() {
        return Vec::new();
    }
    // Files are opened relative to their directory: one path component to walk, not the
    // whole data-directory path, for each of 100,000 files.
    let dirs = Subdir::ALL.map(|d| {
        rustix::fs::open(
            folder.subdir(d),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()
    });
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let threads = cores.min(files.len().div_ceil(READS_PER_THREAD)).max(1);
    let chunk = files.len().div_ceil(threads);
    let read_chunk = |chunk: &[MessageFile]| -> Vec<Option<Record>> {
        let mut reader = Reader { buf: Vec::with_capacity(16 * 1024), noatime: true, typical: 0 };
        let mut out = Vec::with_capacity(chunk.len());
        for (n, file) in chunk.iter().enumerate() {
            out.push(reader.record(folder, dirs[file.dir.index()].as_ref(), file));
            if let Some(progress) = progress
                && (n + 1) % PROGRESS_EVERY == 0
            {
                progress(Progress::Read(PROGRESS_EVERY));
            }
        }
        if let Some(progress) = progress {
            progress(Progress::Read(chunk.len() % PROGRESS_EVERY));
        }
        out
    };
    let results: Vec<Vec<Option<Record>>> = if threads == 1 {
        vec![read_chunk(&files)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = files.chunks(chunk).map(|c| s.spawn(|| read_chunk(c))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        })
    };
    files.into_iter().zip(results.into_iter().flatten()).collect()
}

/// One reading thread's state.
struct Reader {
    buf: Vec<u8>,
    /// `O_NOATIME` is allowed only to a file's owner; after one refusal, go without.
    noatime: bool,
    /// A running average of header block sizes (0 before the first): the first read of
    /// the next message is sized to hold a block a little larger than typical, so that
    /// one read usually does without copying the body along.
    typical: usize,
}

impl Reader {
    fn open(
        &mut self,
        dir: Option<&OwnedFd>,
        folder: &Folder,
        file: &MessageFile,
    ) -> std::io::Result<File> {
        let Some(dir) = dir else { return File::open(folder.file_path(file)) };
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        if self.noatime {
            // Without it, the first read after delivery would write every inode back
            // (relatime updates atime once after each change).
            match rustix::fs::openat(
                dir,
                file.name.as_str(),
                flags | OFlags::NOATIME,
                Mode::empty(),
            ) {
                Ok(fd) => return Ok(File::from(fd)),
                Err(rustix::io::Errno::PERM) => self.noatime = false,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(File::from(rustix::fs::openat(dir, file.name.as_str(), flags, Mode::empty())?))
    }

    /// One message's record. A file that cannot be opened or read for another reason than
    /// having vanished still gets a record (empty header fields), so that the user sees it
    /// and can delete it.
    fn record(
        &mut self,
        folder: &Folder,
        dir: Option<&OwnedFd>,
        file: &MessageFile,
    ) -> Option<Record> {
        let mut f = match self.open(dir, folder, file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(_) => {
                let size = file.size_hint().unwrap_or(0);
                return Some(Record::new(
                    file,
                    Default::default(),
                    size,
                    arrival_from_name(&file.name).unwrap_or(0),
                ));
            }
        };
        // Size and arrival time from the name where a Maildir writer put them (`,S=` and
        // the leading delivery time); a stat only for names without them.
        let (size, arrival) = match (file.size_hint(), arrival_from_name(&file.name)) {
            (Some(size), Some(arrival)) => (size, arrival),
            (hint, from_name) => match f.metadata() {
                Ok(m) => (hint.unwrap_or(m.len()), from_name.unwrap_or(m.mtime())),
                Err(_) => (hint.unwrap_or(0), from_name.unwrap_or(0)),
            },
        };
        let first_read = match self.typical {
            0 => 8 * 1024,
            typical => (typical + typical / 2).next_power_of_two().clamp(2048, 64 * 1024),
        };
        let summary = match read_header_block_sized(&mut f, &mut self.buf, first_read) {
            Ok(()) => {
                self.typical = (self.typical * 7 + self.buf.len()) / 8;
                summarize(&self.buf)
            }
            Err(_) => Default::default(),
        };
        Some(Record::new(file, summary, size, arrival))
    }
}

/// The delivery time a Maildir name starts with (`<secs>.…`), if it is plausible (after
/// 1990, before 2200).
fn arrival_from_name(name: &str) -> Option<i64> {
    let (secs, _) = name.split_once('.')?;
    let secs: i64 = secs.parse().ok()?;
    (631_152_000..7_258_118_400).contains(&secs).then_some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Maildir;

    #[test]
    fn both_directories_are_listed_once_the_last_full_check_is_old() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inbox = Maildir::create(dir.path().join("Maildir")).expect("create").inbox();
        inbox.deliver(&b"Subject: x\n\nbody\n"[..]).expect("deliver");
        let trusting = SyncOptions { racy_window: Duration::ZERO, ..SyncOptions::default() };
        let (mut index, _) = HeaderIndex::open_with(&inbox, &trusting).expect("open");
        assert_eq!(index.sync_with(&trusting).expect("sync").listed, [false, false]);
        index.last_full_scan -= FULL_CHECK_EVERY.as_secs() as i64 + 1;
        assert_eq!(index.sync_with(&trusting).expect("sync").listed, [true, true]);
        assert_eq!(index.sync_with(&trusting).expect("sync").listed, [false, false]);
    }
}
