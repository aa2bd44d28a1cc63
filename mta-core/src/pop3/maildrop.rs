//! The maildrop of a POP3 session: the user's INBOX as it was at login, with each
//! message's size as sent (CRLF line ends) and a UIDL that stays the same across
//! sessions (the Maildir unique name); the lock that keeps a second session out; the
//! byte transformation of a message on the wire; and the deletions applied at QUIT.
//!
//! The lock is a file created exclusively (safe on NFS), holding who took it and when;
//! one older than [`STALE_LOCK_SECS`] was left by a crash and is broken.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use maildir::{Flags, Folder, MessageFile};

use super::session::Listed;

/// The lock file in the Maildir.
pub const LOCK_FILE: &str = "mailroom-pop3.lock";
/// A lock older than this was left by a session that died (sessions last at most an
/// hour; see the driver).
pub const STALE_LOCK_SECS: u64 = 2 * 3600;
/// Longest UIDL (RFC 1939 §7: 70 characters).
const MAX_UID: usize = 70;

/// The exclusive right to a maildrop; released when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Takes the maildrop's lock; `Ok(None)` if another session holds it.
pub fn lock(maildir_root: &Path, who: &str) -> io::Result<Option<Lock>> {
    let path = maildir_root.join(LOCK_FILE);
    for _ in 0..2 {
        match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                let _ = writeln!(file, "{who} {}", crate::queue::now());
                return Ok(Some(Lock { path }));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let age = fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .map(|t| SystemTime::now().duration_since(t).unwrap_or_default())
                    .unwrap_or_default();
                if age < Duration::from_secs(STALE_LOCK_SECS) {
                    return Ok(None);
                }
                let _ = fs::remove_file(&path);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// A message of the maildrop.
#[derive(Debug, Clone)]
pub struct Message {
    /// Its file when the session began.
    pub file: MessageFile,
    /// As the session lists it.
    pub listed: Listed,
}

/// The UIDL of a file: its unique name, or its SHA-256 when that would not do (longer
/// than 70 characters, or characters outside `!`..`~`).
fn uid(file: &MessageFile) -> String {
    let unique = file.unique();
    if unique.len() <= MAX_UID && unique.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return unique.to_string();
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, unique.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Octets of a file once every bare LF is sent as CRLF.
fn wire_size(path: &Path) -> io::Result<u64> {
    let mut file = fs::File::open(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    let (mut size, mut prev) = (0u64, 0u8);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(size);
        }
        size += n as u64;
        for (i, &b) in buf[..n].iter().enumerate() {
            let before = if i == 0 { prev } else { buf[i - 1] };
            if b == b'\n' && before != b'\r' {
                size += 1;
            }
        }
        prev = buf[n - 1];
    }
}

/// The INBOX now, oldest first (by unique name, which starts with the delivery time).
pub fn open(inbox: &Folder) -> maildir::Result<Vec<Message>> {
    let mut files = inbox.list()?.files;
    files.sort_by(|a, b| a.unique().cmp(b.unique()));
    let mut messages = Vec::with_capacity(files.len());
    for file in files {
        // A message renamed or deleted meanwhile (another program) is simply not listed.
        let Ok(size) = wire_size(&inbox.file_path(&file)) else { continue };
        let listed = Listed { uid: uid(&file), size };
        messages.push(Message { file, listed });
    }
    Ok(messages)
}

/// Where a message file is now: where it was, or its new name if its flags changed.
fn current(inbox: &Folder, file: &MessageFile) -> maildir::Result<Option<MessageFile>> {
    if inbox.file_path(file).exists() {
        return Ok(Some(file.clone()));
    }
    inbox.locate(file.unique())
}

/// Opens a message for sending.
pub fn open_message(inbox: &Folder, file: &MessageFile) -> io::Result<fs::File> {
    match current(inbox, file) {
        Ok(Some(now)) => fs::File::open(inbox.file_path(&now)),
        Ok(None) => Err(io::ErrorKind::NotFound.into()),
        Err(e) => Err(io::Error::other(e.to_string())),
    }
}

/// Applies QUIT: deletes, marks seen. Returns how many were deleted.
pub fn update(
    inbox: &Folder,
    delete: &[&MessageFile],
    seen: &[&MessageFile],
) -> maildir::Result<usize> {
    let mut changes = inbox.changes();
    let mut deleted = 0;
    for file in delete {
        if let Some(now) = current(inbox, file)? {
            match changes.delete(&now) {
                Ok(()) => deleted += 1,
                Err(maildir::Error::MessageGone(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    for file in seen {
        if let Some(now) = current(inbox, file)? {
            match changes.set_flags(&now, Flags::SEEN, Flags::NONE) {
                Ok(_) | Err(maildir::Error::MessageGone(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    changes.commit()?;
    Ok(deleted)
}

/// A message on its way to the client: bare LFs become CRLF, a line starting with `.`
/// gets another (RFC 1939 §3), and for TOP only the header and `top` lines of body go.
#[derive(Debug)]
pub struct Wire {
    at_line_start: bool,
    prev_cr: bool,
    in_body: bool,
    /// Body lines still to send (TOP); `None`: all.
    body_lines_left: Option<usize>,
    /// The header block ended (an empty line was seen).
    blank_line: bool,
    done: bool,
}

impl Wire {
    /// For RETR (`None`) or TOP (`Some(lines)`).
    pub fn new(top: Option<usize>) -> Wire {
        Wire {
            at_line_start: true,
            prev_cr: false,
            in_body: false,
            body_lines_left: top,
            blank_line: false,
            done: false,
        }
    }

    /// Whether TOP has sent all it should (the rest of the file need not be read).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Turns file bytes into wire bytes.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        for &b in bytes {
            if self.done {
                return;
            }
            if self.at_line_start {
                if self.in_body && self.body_lines_left == Some(0) {
                    self.done = true;
                    return;
                }
                if b == b'.' {
                    out.push(b'.');
                }
            }
            match b {
                b'\n' => {
                    if !self.prev_cr {
                        out.push(b'\r');
                    }
                    out.push(b'\n');
                    // An empty line ends the header block.
                    if !self.in_body && self.blank_line {
                        self.in_body = true;
                    } else if self.in_body
                        && let Some(left) = self.body_lines_left.as_mut()
                    {
                        *left = left.saturating_sub(1);
                    }
                    self.blank_line = true;
                    self.at_line_start = true;
                    self.prev_cr = false;
                    continue;
                }
                b'\r' => self.prev_cr = true,
                _ => {
                    self.prev_cr = false;
                }
            }
            if b != b'\r' {
                self.blank_line = false;
            }
            self.at_line_start = false;
            out.push(b);
        }
    }

    /// The end: a last line ending if the file had none, then the terminating `.`.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(input: &[u8], top: Option<usize>, chunk: usize) -> Vec<u8> {
        let mut w = Wire::new(top);
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            w.feed(piece, &mut out);
        }
        w.finish(&mut out);
        out
    }

    #[test]
    fn line_ends_dots_and_top() {
        let message = b"Subject: x\n.hidden: y\n\nline 1\n.dot line\r\nline 3\nline 4";
        for chunk in [1, 2, 5, 100] {
            assert_eq!(
                wire(message, None, chunk),
                b"Subject: x\r\n..hidden: y\r\n\r\nline 1\r\n..dot line\r\nline 3\r\nline 4\r\n.\r\n".to_vec(),
                "chunks of {chunk}"
            );
            assert_eq!(
                wire(message, Some(0), chunk),
                b"Subject: x\r\n..hidden: y\r\n\r\n.\r\n".to_vec()
            );
            assert_eq!(
                wire(message, Some(2), chunk),
                b"Subject: x\r\n..hidden: y\r\n\r\nline 1\r\n..dot line\r\n.\r\n".to_vec()
            );
            assert_eq!(wire(message, Some(99), chunk), wire(message, None, chunk));
        }
    }

    #[test]
    fn sizes_count_crlf_and_uids_fit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m");
        fs::write(&path, b"a\nb\r\nc\n").expect("write");
        let sent = wire(b"a\nb\r\nc\n", None, 3);
        assert_eq!(
            wire_size(&path).expect("size"),
            sent.len() as u64 - 3,
            "the size excludes the terminating .CRLF"
        );
        let long =
            MessageFile { dir: maildir::Subdir::Cur, name: format!("{}:2,S", "x".repeat(100)) };
        assert_eq!(uid(&long).len(), 64);
        let normal =
            MessageFile { dir: maildir::Subdir::New, name: "1700000000.M1P2Q3.host,S=10".into() };
        assert_eq!(uid(&normal), "1700000000.M1P2Q3.host,S=10");
    }

    #[test]
    fn one_session_at_a_time_and_stale_locks_break() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = lock(dir.path(), "a").expect("lock").expect("free");
        assert!(lock(dir.path(), "b").expect("lock").is_none(), "a second session got in");
        drop(first);
        let again = lock(dir.path(), "b").expect("lock").expect("released");
        let file = fs::File::options().write(true).open(dir.path().join(LOCK_FILE)).expect("open");
        file.set_modified(SystemTime::now() - Duration::from_secs(STALE_LOCK_SECS + 60))
            .expect("mtime");
        std::mem::forget(again);
        assert!(lock(dir.path(), "c").expect("lock").is_some(), "a stale lock holds forever");
    }
}
