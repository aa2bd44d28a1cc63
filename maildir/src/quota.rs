//! Maildir++ quota: the `maildirsize` file of Courier's README.maildirquota, so Courier,
//! maildrop, Dovecot and Mailroom enforce the same numbers on a shared Maildir.
//!
//! The first line is the limit (`10000000S,1000C`: bytes and/or messages); each further
//! line is a change, `<bytes> <messages>`, appended as messages arrive or leave. The sum is
//! the usage. Appends are not atomic on every NFS, so the file is recalculated from the
//! directories when it grows past 5,120 bytes, and when it says "over quota" but has more
//! than one change line or is 15 minutes old. Recalculation writes a new file in `tmp/`
//! and renames it over the old one. The Trash folder does not count (Courier's default).
//! A Maildir without `maildirsize` has no quota.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::error::IoContext;
use crate::journal::DirStamp;
use crate::name::{size_of, unique_name};
use crate::{Error, Result};

/// The file name, in the Maildir++ root.
pub const FILE: &str = "maildirsize";
/// A file this long (or longer) is recalculated rather than summed (the spec's number).
const RECALC_AT_BYTES: usize = 5120;
/// An over-quota verdict from a file this old is checked by recalculating (the spec's).
const STALE_AFTER: Duration = Duration::from_secs(15 * 60);
/// Recalculations retried while other writers keep changing the directories.
const RECALC_ATTEMPTS: usize = 3;

/// A quota: at most so many bytes and/or so many messages. Zero means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuotaLimit {
    /// Most bytes, if limited.
    pub bytes: Option<u64>,
    /// Most messages, if limited.
    pub messages: Option<u64>,
}

impl QuotaLimit {
    /// Parses a definition like `10000000S,1000C`. Unknown kinds are ignored, as other
    /// Maildir++ programs do; a definition with no known kind is no limit.
    pub fn parse(def: &str) -> QuotaLimit {
        let mut limit = QuotaLimit::default();
        for part in def.trim().split(',') {
            let (digits, kind) = part.split_at(part.len().saturating_sub(1));
            let value = digits.parse::<u64>().ok().filter(|&v| v > 0);
            match kind {
                "S" => limit.bytes = value,
                "C" => limit.messages = value,
                _ => {}
            }
        }
        limit
    }

    fn exceeded_by(&self, used: Usage, bytes: u64, messages: u64) -> bool {
        self.bytes.is_some_and(|max| used.bytes.saturating_add(bytes) > max)
            || self.messages.is_some_and(|max| used.messages.saturating_add(messages) > max)
    }
}

impl fmt::Display for QuotaLimit {
    /// The `maildirsize` spelling; `0S` when nothing is limited.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.bytes, self.messages) {
            (Some(b), Some(c)) => write!(f, "{b}S,{c}C"),
            (Some(b), None) => write!(f, "{b}S"),
            (None, Some(c)) => write!(f, "{c}C"),
            (None, None) => write!(f, "0S"),
        }
    }
}

/// What a Maildir++ holds, as far as quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Bytes.
    pub bytes: u64,
    /// Messages.
    pub messages: u64,
}

/// A quota and the usage against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaStatus {
    /// The limit.
    pub limit: QuotaLimit,
    /// The usage.
    pub used: Usage,
}

struct Parsed {
    limit: QuotaLimit,
    used: Usage,
    change_lines: usize,
    needs_recalc: bool,
    age: Duration,
}

fn read(root: &Path) -> Result<Option<Parsed>> {
    let path = root.join(FILE);
    let mut file = match fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("open", &path, e)),
    };
    let age = file
        .metadata()
        .and_then(|m| m.modified())
        .map(|t| SystemTime::now().duration_since(t).unwrap_or_default())
        .ctx("stat", &path)?;
    let mut buf = Vec::with_capacity(RECALC_AT_BYTES);
    (&mut file).take(RECALC_AT_BYTES as u64).read_to_end(&mut buf).ctx("read", &path)?;
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.lines();
    let limit = QuotaLimit::parse(lines.next().unwrap_or(""));
    let (mut bytes, mut messages, mut change_lines, mut malformed) = (0i64, 0i64, 0usize, false);
    for line in lines {
        let mut fields = line.split_whitespace();
        match (fields.next().map(str::parse::<i64>), fields.next().map(str::parse::<i64>)) {
            (Some(Ok(b)), Some(Ok(c))) => {
                bytes = bytes.saturating_add(b);
                messages = messages.saturating_add(c);
                change_lines += 1;
            }
            (None, None) => {}
            _ => malformed = true,
        }
    }
    Ok(Some(Parsed {
        limit,
        used: Usage { bytes: bytes.max(0) as u64, messages: messages.max(0) as u64 },
        // The first change line is the recalculated total; the rest are appends.
        change_lines: change_lines.saturating_sub(1),
        needs_recalc: buf.len() >= RECALC_AT_BYTES || malformed || !text.ends_with('\n'),
        age,
    }))
}

/// The quota and usage of a Maildir++, recalculating `maildirsize` if the spec says so.
/// `None` if the Maildir has no quota.
pub fn status(root: &Path) -> Result<Option<QuotaStatus>> {
    let Some(parsed) = read(root)? else {
        return Ok(None);
    };
    if parsed.needs_recalc {
        return Ok(Some(recalculate_with(root, parsed.limit)?));
    }
    Ok(Some(QuotaStatus { limit: parsed.limit, used: parsed.used }))
}

/// Sets (or with `None`, removes) the quota, recalculating the usage.
pub fn set_limit(root: &Path, limit: Option<QuotaLimit>) -> Result<Option<QuotaStatus>> {
    match limit {
        Some(limit) => Ok(Some(recalculate_with(root, limit)?)),
        None => {
            let path = root.join(FILE);
            match fs::remove_file(&path) {
                Ok(()) => Ok(None),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::io("remove", &path, e)),
            }
        }
    }
}

/// Recalculates `maildirsize` from the directories, keeping its limit. `None` if the
/// Maildir has no quota.
pub fn recalculate(root: &Path) -> Result<Option<QuotaStatus>> {
    match read(root)? {
        Some(parsed) => Ok(Some(recalculate_with(root, parsed.limit)?)),
        None => Ok(None),
    }
}

/// Fails with [`Error::OverQuota`] if adding `bytes` in `messages` messages would exceed
/// the quota. The spec's race allowance applies: two deliveries checked at once may both
/// pass.
pub(crate) fn check(root: &Path, bytes: u64, messages: u64) -> Result<()> {
    let Some(mut parsed) = read(root)? else {
        return Ok(());
    };
    let mut used = parsed.used;
    if parsed.needs_recalc {
        used = recalculate_with(root, parsed.limit)?.used;
        parsed.change_lines = 0;
        parsed.age = Duration::ZERO;
    }
    if parsed.limit.exceeded_by(used, bytes, messages)
        && !parsed.needs_recalc
        && (parsed.change_lines > 1 || parsed.age >= STALE_AFTER)
    {
        // Over quota by a sum that may have drifted: recount before refusing.
        used = recalculate_with(root, parsed.limit)?.used;
    }
    if parsed.limit.exceeded_by(used, bytes, messages) {
        return Err(Error::OverQuota {
            used_bytes: used.bytes,
            used_messages: used.messages,
            adding_bytes: bytes,
            limit: parsed.limit.to_string(),
        });
    }
    Ok(())
}

/// Appends a change line if the Maildir has a quota. Called after the change is done, so a
/// failure here must not undo it: the count is off until the next recalculation.
pub(crate) fn record(root: &Path, bytes: i64, messages: i64) {
    let path = root.join(FILE);
    if let Ok(mut file) = OpenOptions::new().append(true).open(&path) {
        // Padded to 14 bytes a line like Courier, which makes NFS append bugs visible.
        let _ = file.write_all(format!("{bytes:>8} {messages:>4}\n").as_bytes());
    }
}

fn recalculate_with(root: &Path, limit: QuotaLimit) -> Result<QuotaStatus> {
    let mut used = Usage::default();
    for _ in 0..RECALC_ATTEMPTS {
        let (counted, stamps) = count(root)?;
        used = counted;
        let tmp = root.join("tmp").join(format!("{}.maildirsize", unique_name()));
        let text = format!("{limit}\n{} {}\n", used.bytes, used.messages);
        fs::write(&tmp, text).ctx("write", &tmp)?;
        fs::rename(&tmp, root.join(FILE)).ctx("replace", &root.join(FILE))?;
        // If a directory changed while we counted, count again (the spec's rule).
        if count_dirs(root)?.into_iter().map(|(_, s)| s).eq(stamps.into_iter().map(|(_, s)| s)) {
            break;
        }
    }
    Ok(QuotaStatus { limit, used })
}

/// The `new/` and `cur/` directories that quota counts (every folder but Trash), each with
/// its stamp taken before it is read.
fn count_dirs(root: &Path) -> Result<Vec<(std::path::PathBuf, DirStamp)>> {
    let mut folders = vec![root.to_path_buf()];
    for entry in fs::read_dir(root).ctx("list", root)? {
        let entry = entry.ctx("list", root)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let counted = name.starts_with('.') && name != "." && name != ".." && name != ".Trash";
        if counted && entry.file_type().is_ok_and(|t| t.is_dir()) {
            folders.push(entry.path());
        }
    }
    let mut dirs = Vec::new();
    for folder in folders {
        for sub in ["new", "cur"] {
            let dir = folder.join(sub);
            if let Ok(stamp) = DirStamp::of(&dir) {
                dirs.push((dir, stamp));
            }
        }
    }
    Ok(dirs)
}

fn count(root: &Path) -> Result<(Usage, Vec<(std::path::PathBuf, DirStamp)>)> {
    let dirs = count_dirs(root)?;
    let mut used = Usage::default();
    for (dir, _) in &dirs {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            // Size from the name where a Maildir++ writer put it; stat otherwise. A file
            // gone between listing and stat was moved or deleted: it does not count here.
            let size = match size_of(&name) {
                Some(size) => size,
                None => match entry.metadata() {
                    Ok(meta) => meta.len(),
                    Err(_) => continue,
                },
            };
            used.bytes += size;
            used.messages += 1;
        }
    }
    Ok((used, dirs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_and_print_like_courier() {
        let l = QuotaLimit::parse("10000000S,1000C");
        assert_eq!(l, QuotaLimit { bytes: Some(10_000_000), messages: Some(1000) });
        assert_eq!(l.to_string(), "10000000S,1000C");
        assert_eq!(QuotaLimit::parse("500S").to_string(), "500S");
        assert_eq!(QuotaLimit::parse("0S,7C").to_string(), "7C");
        assert_eq!(QuotaLimit::parse("garbage"), QuotaLimit::default());
        assert_eq!(QuotaLimit::parse("12X,3C").messages, Some(3));
    }

    #[test]
    fn exceeded_counts_bytes_and_messages() {
        let l = QuotaLimit { bytes: Some(100), messages: Some(2) };
        let used = Usage { bytes: 90, messages: 1 };
        assert!(!l.exceeded_by(used, 10, 1));
        assert!(l.exceeded_by(used, 11, 1));
        assert!(l.exceeded_by(used, 1, 2));
        assert!(!QuotaLimit::default().exceeded_by(used, u64::MAX, u64::MAX));
    }
}
