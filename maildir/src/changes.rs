//! Changing messages: flags, new→cur, move, copy, delete, store — journaled, so every
//! header index (in this process or another) follows them without a directory scan.
//!
//! A [`Changes`] batch does the file operations as they are called and, on
//! [`Changes::commit`], writes one journal entry per folder it touched (see
//! [`crate::journal`]). Each operation tolerates another process working on the same
//! message: a rename or link that finds the file gone looks it up again by its unique
//! part and retries once, and a message that is really gone is
//! [`Error::MessageGone`] (for delete: already done).
//!
//! Each operation stamps the directories it changes right before and right after itself.
//! A batch whose stamps do not chain saw another process change the directory between its
//! operations (a delivery, another program), and its journal entry then explains nothing
//! for that directory: indexes list it rather than miss that change.
//!
//! Moves are one `rename` into the destination's `cur/` (the Maildir++ way): atomic, so a
//! crash leaves the message in one folder or the other, never both or neither. Only across
//! filesystems is a move a durable copy, a sync, and an unlink of the source at commit (a
//! crash in between leaves a duplicate, never a loss). Copies are hard links under a new
//! unique name, synced at commit. Flag changes are single renames and not synced: a crash
//! may forget a flag, never a message.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::deliver::{Staged, sync_dir};
use crate::error::IoContext;
use crate::journal::{self, DirStamp, Op, Span};
use crate::name::{Flags, MessageFile, Subdir, unique_name, with_flags};
use crate::{Error, Folder, Result, quota};

/// A batch of changes to one folder (and the folders its messages move or copy to).
/// Dropping it without [`commit`](Changes::commit) commits too, ignoring errors.
#[must_use = "changes are journaled at commit"]
pub struct Changes<'f> {
    folder: &'f Folder,
    /// `[0]` is `folder`; the rest are destinations of moves and copies.
    batches: Vec<Batch>,
    /// Sources of moves across filesystems: unlinked at commit, after the copies' directories
    /// are synced.
    pending_unlinks: Vec<(usize, MessageFile)>,
    /// Destination `cur/` directories of copies, synced at commit (before any source of a
    /// cross-filesystem move is unlinked).
    to_sync: Vec<PathBuf>,
    /// Quota changes to record at commit: (root, bytes, messages).
    quota_deltas: Vec<(PathBuf, i64, i64)>,
    /// (batch, subdirectory) stamped before the operation under way, to stamp after it.
    in_progress: Vec<(usize, Subdir)>,
    done: bool,
}

struct Batch {
    folder: Folder,
    /// What the batch saw of each subdirectory it changed.
    stamps: [Option<Stamps>; 2],
    ops: Vec<Op>,
}

/// A subdirectory's stamps around a batch's changes. The journal entry may say "from
/// `before` to `after`, only these changes" only if every change was ours: the directory
/// is stamped right before and right after each operation, and a stamp before one
/// operation that differs from the stamp after the previous one means another process
/// (a delivery, another program) changed the directory in between. The entry then gives
/// no span for it, and indexes list it.
#[derive(Clone, Copy)]
struct Stamps {
    before: DirStamp,
    after: DirStamp,
    foreign_change: bool,
}

/// One batch's journal entries in this many also sweep the journal of old entries, which
/// nothing else would do for a mailbox that no index reads (one only read by POP3).
const SWEEP_JOURNAL_EVERY: u64 = 64;
static COMMITS: AtomicU64 = AtomicU64::new(0);

impl Folder {
    /// Starts a batch of changes to this folder.
    pub fn changes(&self) -> Changes<'_> {
        Changes {
            folder: self,
            batches: vec![Batch::new(self.clone())],
            pending_unlinks: Vec::new(),
            to_sync: Vec::new(),
            quota_deltas: Vec::new(),
            in_progress: Vec::new(),
            done: false,
        }
    }

    /// Stores a message straight into `cur/` with the given flags (a sent copy, a draft,
    /// an import): durable like a delivery, quota-checked unless this is Trash, journaled.
    pub fn store(&self, mut message: impl io::Read, flags: Flags) -> Result<MessageFile> {
        let mut changes = self.changes();
        let file = changes.store(&mut message, flags)?;
        changes.commit()?;
        Ok(file)
    }
}

impl Batch {
    fn new(folder: Folder) -> Batch {
        Batch { folder, stamps: [None, None], ops: Vec::new() }
    }
}

impl Changes<'_> {
    /// Stamps a subdirectory right before an operation changes it (see [`Stamps`]).
    fn touch(&mut self, batch: usize, dir: Subdir) -> Result<()> {
        let b = &mut self.batches[batch];
        let now = DirStamp::of(&b.folder.subdir(dir))?;
        match &mut b.stamps[dir.index()] {
            None => {
                b.stamps[dir.index()] =
                    Some(Stamps { before: now, after: now, foreign_change: false })
            }
            Some(s) => s.foreign_change |= s.after != now,
        }
        if !self.in_progress.contains(&(batch, dir)) {
            self.in_progress.push((batch, dir));
        }
        Ok(())
    }

    /// Stamps the subdirectories of the operation just done (whether it succeeded or not).
    fn settle(&mut self) {
        for (batch, dir) in std::mem::take(&mut self.in_progress) {
            let b = &mut self.batches[batch];
            let now = DirStamp::of(&b.folder.subdir(dir));
            if let Some(s) = &mut b.stamps[dir.index()] {
                match now {
                    Ok(now) => s.after = now,
                    Err(_) => s.foreign_change = true,
                }
            }
        }
    }

    fn batch_for(&mut self, dest: &Folder) -> usize {
        if let Some(i) = self.batches.iter().position(|b| b.folder.path() == dest.path()) {
            return i;
        }
        self.batches.push(Batch::new(dest.clone()));
        self.batches.len() - 1
    }

    fn relocate(&self, file: &MessageFile) -> Result<MessageFile> {
        self.folder.locate(file.unique())?.ok_or_else(|| Error::MessageGone(file.unique().into()))
    }

    /// Adds and removes flags; a message in `new/` moves to `cur/` on the way. Returns
    /// the message's new file.
    pub fn set_flags(
        &mut self,
        file: &MessageFile,
        add: Flags,
        remove: Flags,
    ) -> Result<MessageFile> {
        let mut current = file.clone();
        for attempt in 0..2 {
            let flags = current.flags().with(add).without(remove);
            let target =
                MessageFile { dir: Subdir::Cur, name: with_flags(current.unique(), flags) };
            if target == current {
                return Ok(target);
            }
            self.touch(0, current.dir)?;
            self.touch(0, Subdir::Cur)?;
            let (from, to) = (self.folder.file_path(&current), self.folder.file_path(&target));
            let renamed = fs::rename(&from, &to);
            self.settle();
            match renamed {
                Ok(()) => {
                    self.batches[0].ops.push(Op::Put(target.clone()));
                    return Ok(target);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempt == 0 => {
                    current = self.relocate(&current)?;
                }
                Err(e) => return Err(Error::io("rename", &from, e)),
            }
        }
        Err(Error::MessageGone(file.unique().into()))
    }

    /// Moves a message from `new/` to `cur/` without changing flags (what a reader does
    /// when it first lists a folder).
    pub fn move_to_cur(&mut self, file: &MessageFile) -> Result<MessageFile> {
        self.set_flags(file, Flags::NONE, Flags::NONE)
    }

    /// Moves a message into another folder of the same Maildir++ (into its `cur/`, flags
    /// kept) by one atomic rename, as the Maildir++ spec says: a crash leaves it in one
    /// folder or the other, and of two processes moving it at once one finds it gone.
    /// Moving out of Trash is quota-checked; moving into Trash frees quota.
    pub fn move_to(&mut self, file: &MessageFile, dest: &Folder) -> Result<MessageFile> {
        if dest.path() == self.folder.path() {
            return Ok(file.clone());
        }
        let (mut source, size) = self.sized(file)?;
        let (into_trash, out_of_trash) = (dest.is_trash(), self.folder.is_trash());
        if out_of_trash && !into_trash {
            quota::check(dest.root(), size, 1)?;
        }
        let batch = self.batch_for(dest);
        self.touch(batch, Subdir::Cur)?;
        let cur = dest.subdir(Subdir::Cur);
        for attempt in 0..2 {
            self.touch(0, source.dir)?;
            let target =
                MessageFile { dir: Subdir::Cur, name: with_flags(source.unique(), source.flags()) };
            let (from, to) = (self.folder.file_path(&source), cur.join(&target.name));
            let renamed = fs::rename(&from, &to);
            self.settle();
            match renamed {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempt == 0 => {
                    source = self.relocate(&source)?;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                    // Another filesystem: a durable copy there, the source unlinked at
                    // commit once the copy's directory is synced.
                    let mut reader = fs::File::open(&from).ctx("open", &from)?;
                    let staged = Staged::write(&dest.tmp_dir(), &mut reader)?;
                    self.touch(batch, Subdir::Cur)?;
                    let linked = staged.link_into(&cur, &target.name);
                    self.settle();
                    linked?;
                    if !self.to_sync.contains(&cur) {
                        self.to_sync.push(cur.clone());
                    }
                    self.pending_unlinks.push((0, source.clone()));
                    self.batches[batch].ops.push(Op::Put(target.clone()));
                    self.record_move_quota(dest, size);
                    return Ok(target);
                }
                Err(e) => return Err(Error::io("move into", &to, e)),
            }
            self.batches[batch].ops.push(Op::Put(target.clone()));
            self.batches[0].ops.push(Op::Del(source.unique().to_string()));
            self.record_move_quota(dest, size);
            return Ok(target);
        }
        Err(Error::MessageGone(file.unique().into()))
    }

    fn record_move_quota(&mut self, dest: &Folder, size: u64) {
        match (self.folder.is_trash(), dest.is_trash()) {
            (false, true) => {
                self.quota_deltas.push((self.folder.root().into(), -(size as i64), -1))
            }
            (true, false) => self.quota_deltas.push((dest.root().into(), size as i64, 1)),
            _ => {}
        }
    }

    /// Copies a message into a folder (possibly this one) under a new unique name, sharing
    /// the bytes by hard link. Quota-checked unless the destination is Trash.
    pub fn copy_to(&mut self, file: &MessageFile, dest: &Folder) -> Result<MessageFile> {
        let (file, size) = self.sized(file)?;
        if !dest.is_trash() {
            quota::check(dest.root(), size, 1)?;
            self.quota_deltas.push((dest.root().into(), size as i64, 1));
        }
        let name = with_flags(&format!("{},S={size}", unique_name()), file.flags());
        self.link_to(&file, dest, name)
    }

    /// Deletes a message for good (moving to Trash is [`move_to`](Self::move_to)). A
    /// message already gone counts as deleted.
    pub fn delete(&mut self, file: &MessageFile) -> Result<()> {
        let (file, size) = match self.sized(file) {
            Ok(found) => found,
            Err(Error::MessageGone(unique)) => {
                self.batches[0].ops.push(Op::Del(unique));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        self.touch(0, file.dir)?;
        let path = self.folder.file_path(&file);
        let removed = fs::remove_file(&path);
        self.settle();
        match removed {
            Ok(()) => {
                if !self.folder.is_trash() {
                    self.quota_deltas.push((self.folder.root().into(), -(size as i64), -1));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", &path, e)),
        }
        self.batches[0].ops.push(Op::Del(file.unique().to_string()));
        Ok(())
    }

    /// Stores a message into `cur/` with flags: steps 1–6 of delivery, into `cur/`.
    pub fn store(&mut self, message: &mut dyn io::Read, flags: Flags) -> Result<MessageFile> {
        let staged = Staged::write(&self.folder.tmp_dir(), message)?;
        if !self.folder.is_trash() {
            quota::check(self.folder.root(), staged.size(), 1)?;
        }
        self.touch(0, Subdir::Cur)?;
        let cur = self.folder.subdir(Subdir::Cur);
        let linked = staged.link_into(&cur, &with_flags(&staged.final_unique(), flags));
        self.settle();
        let name = linked?;
        sync_dir(&cur)?;
        if !self.folder.is_trash() {
            self.quota_deltas.push((self.folder.root().into(), staged.size() as i64, 1));
        }
        let file = MessageFile { dir: Subdir::Cur, name };
        self.batches[0].ops.push(Op::Put(file.clone()));
        Ok(file)
    }

    /// The message as it is now (following a concurrent rename) and its size.
    fn sized(&self, file: &MessageFile) -> Result<(MessageFile, u64)> {
        if let Some(size) = file.size_hint() {
            if self.folder.file_path(file).exists() {
                return Ok((file.clone(), size));
            }
            let current = self.relocate(file)?;
            return Ok((current, size));
        }
        match fs::metadata(self.folder.file_path(file)) {
            Ok(m) => Ok((file.clone(), m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let current = self.relocate(file)?;
                let size = self.folder.message_size(&current)?;
                Ok((current, size))
            }
            Err(e) => Err(Error::io("stat", self.folder.file_path(file), e)),
        }
    }

    /// Links `file` into `dest/cur/name` (a fresh unique name, so nothing is replaced);
    /// falls back to a staged copy across filesystems. Returns the new file.
    fn link_to(&mut self, file: &MessageFile, dest: &Folder, name: String) -> Result<MessageFile> {
        let batch = self.batch_for(dest);
        self.touch(batch, Subdir::Cur)?;
        let cur = dest.subdir(Subdir::Cur);
        let mut source = file.clone();
        for attempt in 0..2 {
            let (from, to) = (self.folder.file_path(&source), cur.join(&name));
            let linked = fs::hard_link(&from, &to);
            self.settle();
            match linked {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempt == 0 => {
                    source = self.relocate(&source)?;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                    let mut reader = fs::File::open(&from).ctx("open", &from)?;
                    let staged = Staged::write(&dest.tmp_dir(), &mut reader)?;
                    self.touch(batch, Subdir::Cur)?;
                    let linked = staged.link_into(&cur, &name);
                    self.settle();
                    linked?;
                }
                Err(e) => return Err(Error::io("link into", &to, e)),
            }
            let file = MessageFile { dir: Subdir::Cur, name };
            self.batches[batch].ops.push(Op::Put(file.clone()));
            if !self.to_sync.contains(&cur) {
                self.to_sync.push(cur);
            }
            return Ok(file);
        }
        Err(Error::MessageGone(file.unique().into()))
    }

    /// Syncs destinations, unlinks move sources, records quota and writes the journal.
    pub fn commit(mut self) -> Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> Result<()> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        // Destinations first: if a sync fails, the sources stay (duplicates, not losses).
        for dir in std::mem::take(&mut self.to_sync) {
            sync_dir(&dir)?;
        }
        for (batch, file) in std::mem::take(&mut self.pending_unlinks) {
            self.touch(batch, file.dir)?;
            let folder = self.batches[batch].folder.clone();
            let mut path = folder.file_path(&file);
            if !path.exists() {
                // Renamed by another process since (a flag change): unlink it where it is.
                match folder.locate(file.unique())? {
                    Some(now) => path = folder.file_path(&now),
                    None => {
                        self.settle();
                        continue;
                    }
                }
            }
            let removed = fs::remove_file(&path);
            self.settle();
            match removed {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove moved message", &path, e)),
            }
            self.batches[batch].ops.push(Op::Del(file.unique().to_string()));
        }
        for (root, bytes, count) in std::mem::take(&mut self.quota_deltas) {
            quota::record(&root, bytes, count);
        }
        for batch in &self.batches {
            if batch.ops.is_empty() {
                continue;
            }
            let spans: Vec<Span> = Subdir::ALL
                .into_iter()
                .filter_map(|dir| match batch.stamps[dir.index()] {
                    Some(s) if !s.foreign_change => {
                        Some(Span { dir, before: s.before, after: s.after })
                    }
                    _ => None,
                })
                .collect();
            journal::append(batch.folder.path(), &spans, &batch.ops)?;
            if COMMITS.fetch_add(1, Ordering::Relaxed).is_multiple_of(SWEEP_JOURNAL_EVERY) {
                journal::sweep(batch.folder.path(), journal::MAX_AGE);
            }
        }
        Ok(())
    }
}

impl Drop for Changes<'_> {
    fn drop(&mut self) {
        // A batch dropped early (an error, a panic) still leaves a consistent store: what
        // was done is journaled; if even that fails, the indexes rescan.
        let _ = self.finish();
    }
}
