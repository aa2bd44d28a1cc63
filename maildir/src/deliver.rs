//! Durable delivery: qmail-local's algorithm, step by step, and fan-out by hard link.
//!
//! A delivery is reported done only when the message is complete on disk under its final
//! name in `new/` and that name itself is on disk:
//!
//! 1. create `tmp/<unique>` exclusively (`O_CREAT|O_EXCL`): nobody else writes this file;
//! 2. write the message, checking every write (a full disk fails here, not later);
//! 3. `fsync` the file: its bytes are on disk before any name points at it;
//! 4. close it, checking the result (NFS reports write errors at close);
//! 5. `link` it into `new/<unique>,S=<size>` — `link`, not `rename`, because `link` never
//!    replaces an existing file — then unlink the `tmp/` name;
//! 6. `fsync` the `new/` directory: the new name is on disk. Only now is it "delivered".
//!
//! A crash before step 5 leaves at most a file in `tmp/`, which no reader looks at and
//! [`crate::Folder::sweep_tmp`] removes after 36 hours. A crash between 5 and 6 may lose
//! the name (the delivery was not reported, so the sender retries) but never exposes a
//! partial message, because the bytes were synced in step 3.
//!
//! Fan-out writes the message once (steps 1–4) and links it into every mailbox (step 5),
//! then syncs each `new/` directory (step 6). Hard links share the bytes; each mailbox
//! owns its own name and flags, and deleting one link leaves the others.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::IoContext;
use crate::name::{MessageFile, Subdir, unique_name};
use crate::{Error, Folder, Result, quota};

/// How many times to retry with a fresh unique name if one is taken. A taken unique name
/// means a clock step back together with a recycled pid; three fresh names is plenty.
const NAME_ATTEMPTS: usize = 3;

/// A message written, synced and closed in a `tmp/` directory (steps 1–4), not yet
/// visible to any reader. Dropping it removes the `tmp/` file.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    unique: String,
    size: u64,
}

impl Staged {
    /// Steps 1–4: exclusive create in `tmp_dir`, checked writes, fsync, close.
    pub fn write(tmp_dir: &Path, message: &mut dyn Read) -> Result<Staged> {
        let (file, path, unique) = create_exclusive(tmp_dir)?;
        // From here on, `staged` removes the tmp file if anything fails.
        let mut staged = Staged { path, unique, size: 0 };
        staged.size = write_synced(file, message, &staged.path)?;
        Ok(staged)
    }

    /// The message size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The final unique part: `<unique>,S=<size>` (Maildir++ records the size in the
    /// name so quota recalculation need not stat every file).
    pub fn final_unique(&self) -> String {
        format!("{},S={}", self.unique, self.size)
    }

    /// Step 5 for one target: link the staged file to `dir/name`. Returns the name used,
    /// which differs from `name` only if `name` was taken (then a fresh unique name with
    /// the same info suffix is used).
    pub fn link_into(&self, dir: &Path, name: &str) -> Result<String> {
        let mut name = name.to_string();
        for _ in 0..NAME_ATTEMPTS {
            let target = dir.join(&name);
            match fs::hard_link(&self.path, &target) {
                Ok(()) => return Ok(name),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let info = name.split_once(':').map(|(_, info)| info.to_string());
                    name = format!("{},S={}", unique_name(), self.size);
                    if let Some(info) = info {
                        name = format!("{name}:{info}");
                    }
                }
                Err(e) => return Err(Error::io("link into", &target, e)),
            }
        }
        Err(Error::io(
            "link into",
            dir,
            io::Error::new(io::ErrorKind::AlreadyExists, "no free unique name after retries"),
        ))
    }

    /// Whether linking into `dir` failed only because it is on another filesystem, in
    /// which case the caller stages a copy there instead.
    pub fn is_cross_device(err: &Error) -> bool {
        matches!(err, Error::Io { source, .. } if source.kind() == io::ErrorKind::CrossesDevices)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // The tmp name is only a staging name: once linked (or abandoned) it goes. If this
        // unlink is lost in a crash, the tmp sweep removes the file later.
        let _ = fs::remove_file(&self.path);
    }
}

/// Step 1: a new file in `tmp_dir` that did not exist before (`O_EXCL`).
fn create_exclusive(tmp_dir: &Path) -> Result<(File, PathBuf, String)> {
    for _ in 0..NAME_ATTEMPTS {
        let unique = unique_name();
        let path = tmp_dir.join(&unique);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, path, unique)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("create in tmp/", &path, e)),
        }
    }
    Err(Error::io(
        "create in tmp/",
        tmp_dir,
        io::Error::new(io::ErrorKind::AlreadyExists, "no free unique name after retries"),
    ))
}

/// Steps 2–4: stream the message in (never held whole in memory), fsync, close.
fn write_synced(mut file: File, message: &mut dyn Read, path: &Path) -> Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = match message.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("read the message for", path, e)),
        };
        // Step 2: a short or failed write (ENOSPC, EDQUOT, EIO) fails the delivery here.
        file.write_all(&buf[..n]).ctx("write", path)?;
        size += n as u64;
    }
    // Step 3: the bytes reach the disk before any name in new/ points at them.
    file.sync_all().ctx("fsync", path)?;
    // Step 4: close. std's File ignores close errors, so they were surfaced by the fsync
    // above (on NFS, close-to-open consistency flushes at fsync too).
    drop(file);
    Ok(size)
}

/// Step 6: sync a directory so that the names created in it are on disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).ctx("fsync directory", dir)
}

impl Folder {
    /// Delivers a message into `new/`, durably, respecting the Maildir++ quota of the
    /// Maildir this folder belongs to. Returns the message's file once it is on disk.
    pub fn deliver(&self, mut message: impl Read) -> Result<MessageFile> {
        let staged = Staged::write(&self.tmp_dir(), &mut message)?;
        quota::check(self.root(), staged.size(), 1)?;
        let new_dir = self.subdir(Subdir::New);
        // Step 5.
        let name = staged.link_into(&new_dir, &staged.final_unique())?;
        // Step 6: delivered.
        sync_dir(&new_dir)?;
        quota::record(self.root(), staged.size() as i64, 1);
        Ok(MessageFile { dir: Subdir::New, name })
    }
}

/// One message delivered into many folders: written once, hard-linked into each.
/// Returns one result per target, in order; a target over quota or on a broken disk fails
/// alone. The outer error means the message could not be written at all.
pub fn fan_out(message: &mut dyn Read, targets: &[&Folder]) -> Result<Vec<Result<MessageFile>>> {
    let Some(first) = targets.first() else {
        return Ok(Vec::new());
    };
    // Steps 1–4, once.
    let staged = Staged::write(&first.tmp_dir(), message)?;
    let name = staged.final_unique();
    let mut results = Vec::with_capacity(targets.len());
    let mut copies = Vec::new();
    for target in targets {
        results.push(link_one(&staged, target, &name, &mut copies));
    }
    // Step 6 for every target. On a journaling filesystem the first fsync commits every
    // link made above, so the rest are cheap.
    for (target, result) in targets.iter().zip(results.iter_mut()) {
        if let Ok(file) = result {
            let synced = sync_dir(&target.subdir(Subdir::New));
            match synced {
                Ok(()) => quota::record(target.root(), staged.size() as i64, 1),
                Err(e) => {
                    let _ = fs::remove_file(target.subdir(Subdir::New).join(&file.name));
                    *result = Err(e);
                }
            }
        }
    }
    Ok(results)
}

/// Step 5 for one fan-out target, with the quota check and the cross-device fallback.
fn link_one(
    staged: &Staged,
    target: &Folder,
    name: &str,
    copies: &mut Vec<Staged>,
) -> Result<MessageFile> {
    quota::check(target.root(), staged.size(), 1)?;
    let new_dir = target.subdir(Subdir::New);
    match staged.link_into(&new_dir, name) {
        Ok(name) => Ok(MessageFile { dir: Subdir::New, name }),
        Err(e) if Staged::is_cross_device(&e) => {
            // Another filesystem: stage a copy there (steps 1–4 again) and link that.
            let mut source = File::open(&staged.path).ctx("reopen staged message", &staged.path)?;
            let copy = Staged::write(&target.tmp_dir(), &mut source)?;
            let name = copy.link_into(&new_dir, &copy.final_unique())?;
            copies.push(copy);
            Ok(MessageFile { dir: Subdir::New, name })
        }
        Err(e) => Err(e),
    }
}
