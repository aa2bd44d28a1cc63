//! The journal: a record of the changes this crate makes to a folder, so that the header
//! index of any process (or host) can follow them without rescanning a directory of
//! 100,000 files.
//!
//! Each batch of changes ([`crate::changes::Changes`]) writes one small entry file into
//! `<folder>/mailroom-journal/`, written under a dot-name and renamed into place, so a
//! reader sees a whole entry or none. An entry says, for each subdirectory it touched, the
//! directory's stamp (inode, mtime, ctime) just before the first change and just after
//! the last — only if nobody else changed the directory in between — and the resulting
//! state of each message it touched:
//!
//! ```text
//! mailroom-journal 1
//! stamp cur <ino> <mtime> <ctime> <ino> <mtime> <ctime>
//! put cur 1700000000.M1P2Q3.host,S=1234:2,S
//! del 1700000000.M4P5Q6.host,S=99
//! end
//! ```
//!
//! A reader whose index matched a directory at stamp `A` and finds it now at stamp `B`
//! knows that nothing but journaled changes happened in between if the entries chain from
//! `A` to `B` (one entry's "before" is the previous one's "after"). Otherwise it rescans
//! the directory. The journal is a cache of a cache: losing any entry only costs a scan.
//! INTERNALS.md has the argument in full.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::IoContext;
use crate::name::{MessageFile, Subdir, check_file_name, unique_name};
use crate::{Error, Result};

/// The journal directory inside a folder. No leading dot: Maildir++ readers take
/// dot-directories for folders.
pub const DIR: &str = "mailroom-journal";

const MAGIC: &str = "mailroom-journal 1";

/// Entries older than this are removed by [`sweep`]: an index that has not synced for so
/// long lists its directories anyway.
pub const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// A directory's identity and last-change times: equal stamps mean nothing was added,
/// removed or renamed in between (on filesystems whose timestamps are fine-grained enough;
/// see INTERNALS.md for what happens when they are not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirStamp {
    /// Inode number: a folder deleted and re-created is a different directory.
    pub ino: u64,
    /// Modification time, seconds and nanoseconds.
    pub mtime: (i64, i64),
    /// Status-change time (cannot be set by `utime`), seconds and nanoseconds.
    pub ctime: (i64, i64),
}

impl DirStamp {
    /// The stamp of a directory now.
    pub fn of(dir: &Path) -> Result<DirStamp> {
        let meta = fs::metadata(dir).ctx("stat", dir)?;
        Ok(DirStamp {
            ino: meta.ino(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })
    }

    fn write(&self) -> String {
        format!(
            "{} {}.{:09} {}.{:09}",
            self.ino, self.mtime.0, self.mtime.1, self.ctime.0, self.ctime.1
        )
    }

    fn parse<'a>(fields: &mut impl Iterator<Item = &'a str>) -> Option<DirStamp> {
        let ino = fields.next()?.parse().ok()?;
        let mut time = || -> Option<(i64, i64)> {
            let (s, ns) = fields.next()?.split_once('.')?;
            Some((s.parse().ok()?, ns.parse().ok()?))
        };
        Some(DirStamp { ino, mtime: time()?, ctime: time()? })
    }
}

/// What a journaled change left behind for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// The message with this file's unique part now exists under exactly this name.
    Put(MessageFile),
    /// The message with this unique part is no longer in the folder.
    Del(String),
}

/// The stamps of one subdirectory around a batch of changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Which subdirectory.
    pub dir: Subdir,
    /// Its stamp just before the batch's first change to it.
    pub before: DirStamp,
    /// Its stamp just after the batch's last change to it.
    pub after: DirStamp,
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's file name; entries sort by it in time order.
    pub id: String,
    /// Stamps of the subdirectories the batch changed.
    pub spans: Vec<Span>,
    /// The resulting state of each message touched, in order.
    pub ops: Vec<Op>,
}

fn journal_dir(folder: &Path) -> PathBuf {
    folder.join(DIR)
}

/// Writes an entry. The caller has made the changes already; a crash before this point
/// only costs the readers a rescan.
pub fn append(folder: &Path, spans: &[Span], ops: &[Op]) -> Result<String> {
    let dir = journal_dir(folder);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    // Zero-padded time first, so that names sort in time order across processes.
    let id = format!("{:012}.{:09}.{}", now.as_secs(), now.subsec_nanos(), unique_name());
    let mut text = String::with_capacity(64 + ops.len() * 80);
    text.push_str(MAGIC);
    text.push('\n');
    for span in spans {
        text.push_str(&format!(
            "stamp {} {} {}\n",
            span.dir.as_str(),
            span.before.write(),
            span.after.write()
        ));
    }
    for op in ops {
        match op {
            Op::Put(file) => text.push_str(&format!("put {} {}\n", file.dir.as_str(), file.name)),
            Op::Del(unique) => text.push_str(&format!("del {unique}\n")),
        }
    }
    text.push_str("end\n");

    let tmp = dir.join(format!(".{id}"));
    let write = |path: &Path| -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(path)?;
        f.write_all(text.as_bytes())
    };
    if let Err(e) = write(&tmp) {
        if e.kind() != io::ErrorKind::NotFound {
            return Err(Error::io("write journal entry", &tmp, e));
        }
        // First entry of this folder: make the directory, then try once more.
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("create", &dir, e)),
        }
        write(&tmp).ctx("write journal entry", &tmp)?;
    }
    // No fsync: the journal is a cache. A torn entry lacks "end" and is ignored.
    let path = dir.join(&id);
    fs::rename(&tmp, &path).ctx("publish journal entry", &path)?;
    Ok(id)
}

/// The ids of the entries present now, oldest first.
pub fn list(folder: &Path) -> Result<Vec<String>> {
    let dir = journal_dir(folder);
    let mut ids = Vec::new();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ids),
        Err(e) => return Err(Error::io("list", &dir, e)),
    };
    for entry in entries {
        let entry = entry.ctx("list", &dir)?;
        if let Ok(name) = entry.file_name().into_string()
            && !name.starts_with('.')
        {
            ids.push(name);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Reads one entry. `None` if it vanished (compacted by another process) or is not a
/// whole, well-formed entry.
pub fn read(folder: &Path, id: &str) -> Result<Option<Entry>> {
    let path = journal_dir(folder).join(id);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::InvalidData) => {
            return Ok(None);
        }
        Err(e) => return Err(Error::io("read journal entry", &path, e)),
    };
    Ok(parse(id, &text))
}

fn parse(id: &str, text: &str) -> Option<Entry> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let mut entry = Entry { id: id.to_string(), spans: Vec::new(), ops: Vec::new() };
    for line in lines {
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        match verb {
            "end" => return Some(entry),
            "stamp" => {
                let mut fields = rest.split(' ');
                let dir = subdir(fields.next()?)?;
                let before = DirStamp::parse(&mut fields)?;
                let after = DirStamp::parse(&mut fields)?;
                entry.spans.push(Span { dir, before, after });
            }
            "put" => {
                let (dir, name) = rest.split_once(' ')?;
                check_file_name(name).ok()?;
                entry.ops.push(Op::Put(MessageFile { dir: subdir(dir)?, name: name.to_string() }));
            }
            "del" => {
                check_file_name(rest).ok()?;
                entry.ops.push(Op::Del(rest.to_string()));
            }
            _ => return None,
        }
    }
    None // no "end": torn
}

fn subdir(s: &str) -> Option<Subdir> {
    match s {
        "new" => Some(Subdir::New),
        "cur" => Some(Subdir::Cur),
        _ => None,
    }
}

/// Removes entries that an index snapshot now contains. Entries another process removed
/// first are not an error.
pub fn remove(folder: &Path, ids: &[String]) {
    let dir = journal_dir(folder);
    for id in ids {
        let _ = fs::remove_file(dir.join(id));
    }
}

/// Removes entries older than `age`: published ones (by the time their id starts with)
/// and dot-files whose writer died before publishing them (by their mtime). An index that
/// had not applied a removed entry finds its stamps unexplained and lists the directory,
/// so this costs a scan, never a wrong index. It keeps the journal of a folder that no
/// index reads (a mailbox nobody opens) from growing with every delivery.
pub fn sweep(folder: &Path, age: std::time::Duration) {
    let dir = journal_dir(folder);
    let Ok(entries) = fs::read_dir(&dir) else {
        return;
    };
    let now = SystemTime::now();
    let cutoff = now.duration_since(UNIX_EPOCH).unwrap_or_default().saturating_sub(age).as_secs();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale = if name.starts_with('.') {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > age)
        } else {
            name.split('.').next().and_then(|s| s.parse::<u64>().ok()).is_some_and(|t| t < cutoff)
        };
        if stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_torn_ones_are_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stamp = DirStamp::of(dir.path()).expect("stamp");
        let spans = [Span { dir: Subdir::Cur, before: stamp, after: stamp }];
        let ops = [
            Op::Put(MessageFile { dir: Subdir::Cur, name: "1.a b:2,S".into() }),
            Op::Del("2.b".into()),
        ];
        let id = append(dir.path(), &spans, &ops).expect("append");
        let entry = read(dir.path(), &id).expect("read").expect("whole");
        assert_eq!(entry.spans, spans);
        assert_eq!(entry.ops, ops);
        assert_eq!(list(dir.path()).expect("list"), vec![id.clone()]);

        let text = fs::read_to_string(dir.path().join(DIR).join(&id)).expect("text");
        let torn = &text[..text.len() - 4];
        assert_eq!(parse(&id, torn), None);
        assert_eq!(parse(&id, &text.replace("put cur", "put cur/x")), None);
        remove(dir.path(), std::slice::from_ref(&id));
        assert!(list(dir.path()).expect("list").is_empty());
        assert_eq!(read(dir.path(), &id).expect("read"), None);
    }
}
