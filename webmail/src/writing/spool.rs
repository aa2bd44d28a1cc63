//! The compose spool: what a user is writing, kept on disk between requests (the
//! fields, the uploaded attachments, what it answers), so that an upload, a failed
//! send or a closed tab loses nothing typed. One directory per message being written:
//!
//! ```text
//! <user>/compose/<id>/state.toml     the fields and the attachment list (atomic writes)
//! <user>/compose/<id>/att-<n>         an uploaded file, as uploaded
//! <user>/compose/<id>/message.eml     the built message while it is being sent
//! ```
//!
//! `<id>` is 128 random bits in hex, checked before it is joined to a path. A spool
//! untouched for [`MAX_AGE_SECS`] is removed the next time the user starts writing;
//! drafts saved to the Drafts folder are not spool and stay.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use mta_core::datadir::write_atomic;
use serde::{Deserialize, Serialize};

/// A spool untouched this long is removed.
pub const MAX_AGE_SECS: u64 = 30 * 24 * 3600;
/// Most messages one user may have open for writing; beyond, the oldest is removed.
pub const MAX_OPEN: usize = 50;

/// An attachment in the spool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpooledFile {
    /// Its file in the spool directory (`att-3`).
    pub file: String,
    /// The name the recipient sees.
    pub name: String,
    /// Its type.
    pub mime: String,
    /// Bytes.
    pub size: u64,
}

/// A message (folder, unique name) that sending this one marks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    /// Its folder.
    pub folder: String,
    /// Its unique name.
    pub unique: String,
}

/// What sending this message does to the one it answers or forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Marks {
    /// A reply: the original gets the answered flag.
    Answered,
    /// A forward: the original gets the forwarded (passed) flag.
    Forwarded,
}

/// The fields of a message being written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// The chosen From address.
    pub from: String,
    /// As typed.
    pub to: String,
    /// As typed.
    pub cc: String,
    /// As typed.
    pub bcc: String,
    /// As typed.
    pub subject: String,
    /// As typed.
    pub body: String,
    /// The message answered, without angle brackets.
    pub in_reply_to: Option<String>,
    /// The thread.
    pub references: Vec<String>,
    /// The original this message answers or forwards, and how.
    pub original: Option<(MessageRef, Marks)>,
    /// The saved draft this message was resumed from, or last saved as (in Drafts).
    pub draft: Option<String>,
    /// Attachments, in order.
    pub attachments: Vec<SpooledFile>,
    /// The next attachment's number.
    pub next_file: u32,
    /// The Message-ID it will be sent with (kept across drafts: one message, one id).
    pub message_id: String,
}

/// One message being written.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    /// Its id (in the form, as `c`).
    pub id: String,
    /// Its fields.
    pub state: State,
}

/// Whether `id` has the shape of a spool id (so it can be joined to a path).
pub fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The spool root of a user directory.
pub fn root(user_dir: &Path) -> PathBuf {
    user_dir.join("compose")
}

impl Spool {
    /// A new spool for `state`, after removing the user's stale ones.
    pub fn create(user_dir: &Path, id: String, state: State) -> io::Result<Spool> {
        assert!(valid_id(&id), "spool ids are made here");
        let root = root(user_dir);
        fs::create_dir_all(&root)?;
        sweep(&root);
        let dir = root.join(&id);
        fs::create_dir(&dir)?;
        let spool = Spool { dir, id, state };
        spool.save()?;
        Ok(spool)
    }

    /// Opens the spool `id` of a user; `None` if there is none (sent, expired, forged).
    pub fn open(user_dir: &Path, id: &str) -> io::Result<Option<Spool>> {
        if !valid_id(id) {
            return Ok(None);
        }
        let dir = root(user_dir).join(id);
        let text = match fs::read_to_string(dir.join("state.toml")) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let state = toml::from_str(&text).map_err(io::Error::other)?;
        Ok(Some(Spool { dir, id: id.to_string(), state }))
    }

    /// Writes the fields (atomically).
    pub fn save(&self) -> io::Result<()> {
        let text = toml::to_string(&self.state).map_err(io::Error::other)?;
        write_atomic(&self.dir.join("state.toml"), text.as_bytes())
    }

    /// The path of a file in the spool (names made here only).
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// A name for the next attachment file.
    pub fn next_file(&mut self) -> String {
        self.state.next_file += 1;
        format!("att-{}", self.state.next_file)
    }

    /// Total bytes of the attachments.
    pub fn attachment_bytes(&self) -> u64 {
        self.state.attachments.iter().map(|a| a.size).sum()
    }

    /// Drops attachment number `index` (its file too).
    pub fn remove_attachment(&mut self, index: usize) -> io::Result<()> {
        if index < self.state.attachments.len() {
            let gone = self.state.attachments.remove(index);
            let _ = fs::remove_file(self.path(&gone.file));
            self.save()?;
        }
        Ok(())
    }

    /// Removes the whole spool (the message was sent, or abandoned).
    pub fn discard(self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Removes spools untouched for [`MAX_AGE_SECS`], and the oldest beyond [`MAX_OPEN`].
fn sweep(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else { return };
    let mut spools: Vec<(SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| valid_id(&e.file_name().to_string_lossy()))
        .map(|e| {
            let touched = fs::metadata(e.path().join("state.toml"))
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            (touched, e.path())
        })
        .collect();
    spools.sort();
    let old = SystemTime::now() - Duration::from_secs(MAX_AGE_SECS);
    let excess = (spools.len() + 1).saturating_sub(MAX_OPEN);
    for (n, (touched, path)) in spools.iter().enumerate() {
        if n < excess || *touched < old {
            let _ = fs::remove_dir_all(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> String {
        format!("{n:032x}")
    }

    #[test]
    fn state_survives_and_forged_ids_find_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State {
            to: "a@x.example".into(),
            body: "Hello\n\"quoted\"\n".into(),
            ..State::default()
        };
        let mut spool = Spool::create(dir.path(), id(1), state.clone()).expect("create");
        let file = spool.next_file();
        std::fs::write(spool.path(&file), b"bytes").expect("att");
        spool.state.attachments.push(SpooledFile {
            file,
            name: "a.txt".into(),
            mime: "text/plain".into(),
            size: 5,
        });
        spool.save().expect("save");
        let again = Spool::open(dir.path(), &id(1)).expect("open").expect("there");
        assert_eq!(again.state.body, state.body);
        assert_eq!(again.attachment_bytes(), 5);
        for forged in ["../../etc", "", "ABCDEF00000000000000000000000000", &id(2)] {
            assert!(Spool::open(dir.path(), forged).expect("open").is_none(), "{forged}");
        }
        again.discard();
        assert!(Spool::open(dir.path(), &id(1)).expect("open").is_none());
    }

    #[test]
    fn old_and_excess_spools_are_swept() {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in 0..MAX_OPEN as u32 {
            Spool::create(dir.path(), id(n), State::default()).expect("create");
        }
        let old = root(dir.path()).join(id(7)).join("state.toml");
        let file = std::fs::File::options().write(true).open(&old).expect("open");
        file.set_modified(SystemTime::now() - Duration::from_secs(MAX_AGE_SECS + 60))
            .expect("mtime");
        Spool::create(dir.path(), id(1000), State::default()).expect("create");
        let left = std::fs::read_dir(root(dir.path())).expect("list").count();
        assert!(left <= MAX_OPEN, "{left} spools");
        assert!(!old.exists(), "the stale spool stayed");
        assert!(Spool::open(dir.path(), &id(1000)).expect("open").is_some());
    }
}
