//! The queue: one directory per host (`queue/<host>/`), a message is one file.
//!
//! The state table and the argument that a crash at any instant loses nothing that was
//! acknowledged are in INTERNALS.md §5; each step below is marked with the state it
//! reaches (`// Q2: +mess`).
//!
//! ```text
//! tmp/<id>     a message being received             (Q1: never acknowledged)
//! mess/<id>    envelope + message, fsync'ed          (Q2: acknowledged, "250 queued as <id>")
//! status/<id>  what became of each recipient so far  (Q3: some recipients done)
//! ```
//!
//! # Layout
//! - [`envelope`]: the envelope block and the status file
//! - [`scheduler`]: picks messages and hands them to delivery, with retries
//! - [`bounce`]: delivery status notifications to the sender

pub mod bounce;
pub mod envelope;
pub mod scheduler;

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

pub use envelope::{Envelope, Recipient, RecipientStatus};

use crate::datadir::write_atomic;

/// How long a message may stay in the queue before its undelivered recipients bounce.
pub const LIFETIME_SECS: u64 = 5 * 24 * 3600;
/// First retry after a temporary failure; doubled each attempt up to [`MAX_BACKOFF_SECS`].
pub const FIRST_BACKOFF_SECS: u64 = 60;
/// Longest wait between two attempts (must stay well below [`LIFETIME_SECS`]).
pub const MAX_BACKOFF_SECS: u64 = 3600;

/// The current time in Unix seconds.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Touched by `queue flush` to wake the scheduler of a running server.
pub const FLUSH_FILE: &str = "flush";

/// One host's queue.
#[derive(Debug, Clone)]
pub struct Queue {
    dir: PathBuf,
}

/// A queue entry as `queue list` and `queue show` see it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The id.
    pub id: String,
    /// The envelope.
    pub envelope: Envelope,
    /// One per recipient.
    pub status: Vec<RecipientStatus>,
    /// Bytes of the message.
    pub size: u64,
}

/// Errors of the queue: I/O with what was being done, or a file that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What.
        op: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// No message with that id.
    #[error("no message {0} in the queue")]
    NoSuchMessage(String),
    /// The queue file's envelope is torn or foreign.
    #[error("queue file {} has no valid envelope", .0.display())]
    Corrupt(PathBuf),
}

impl Error {
    /// Whether the failure is a full disk or quota (SMTP answers 452 4.3.1).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Error::Io { source, .. } if matches!(source.raw_os_error(), Some(28) | Some(122)))
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io { op, path: path.to_path_buf(), source }
}

/// Whether `id` has the shape of a queue id (so a name from the command line or a
/// directory listing can be joined to a path).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('.')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
}

impl Queue {
    /// Opens (creating) the queue directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Queue, Error> {
        let dir = dir.into();
        for sub in ["tmp", "mess", "status"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(io_err("create", &path))?;
        }
        Ok(Queue { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn mess(&self, id: &str) -> PathBuf {
        self.dir.join("mess").join(id)
    }

    fn status_path(&self, id: &str) -> PathBuf {
        self.dir.join("status").join(id)
    }

    /// Starts a message: creates `tmp/<id>` and writes the envelope. The message bytes
    /// follow with [`Incoming::write`]; nothing is acknowledged before [`Incoming::commit`].
    pub fn begin(&self, envelope: &Envelope) -> Result<Incoming, Error> {
        // Unique per host and process (the Maildir unique name without its host part:
        // this directory belongs to one host).
        let unique = maildir::name::unique_name();
        let id = unique.rsplit_once('.').map_or(unique.as_str(), |(id, _host)| id).to_string();
        let path = self.dir.join("tmp").join(&id);
        // Q1: +tmp/<id>.
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err("create", &path))?;
        let mut incoming = Incoming {
            file: BufWriter::with_capacity(64 * 1024, file),
            path,
            id,
            size: 0,
            queue: self.clone(),
        };
        incoming
            .file
            .write_all(envelope.encode().as_bytes())
            .map_err(io_err("write", &incoming.path))?;
        Ok(incoming)
    }

    /// The ids of every acknowledged message.
    pub fn ids(&self) -> Result<Vec<String>, Error> {
        let dir = self.dir.join("mess");
        let mut ids = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err("list", &dir))? {
            let entry = entry.map_err(io_err("list", &dir))?;
            if let Some(id) = entry.file_name().to_str().filter(|id| valid_id(id)) {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Recovery at start: removes what was never acknowledged (`tmp/`) and status files
    /// of finished messages. Returns the ids to schedule.
    pub fn recover(&self) -> Result<Vec<String>, Error> {
        let tmp = self.dir.join("tmp");
        let ours = format!("P{}Q", std::process::id());
        for entry in fs::read_dir(&tmp).map_err(io_err("list", &tmp))?.flatten() {
            // A message this very process is receiving (its listeners and Send may start
            // before recovery ends) is not a crash's leftover: its id carries our pid.
            if entry.file_name().to_string_lossy().contains(&ours) {
                continue;
            }
            // Q1 → Q0: never acknowledged, so nobody is told anything.
            let _ = fs::remove_file(entry.path());
        }
        let ids = self.ids()?;
        let status = self.dir.join("status");
        for entry in fs::read_dir(&status).map_err(io_err("list", &status))?.flatten() {
            let name = entry.file_name();
            let orphan = name.to_str().is_none_or(|id| !self.mess(id).exists());
            if orphan {
                // Left by a crash between removing mess/<id> and status/<id> (Q4).
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(ids)
    }

    /// Loads a message's envelope and status.
    pub fn load(&self, id: &str) -> Result<Entry, Error> {
        if !valid_id(id) {
            return Err(Error::NoSuchMessage(id.to_string()));
        }
        let path = self.mess(id);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NoSuchMessage(id.to_string()));
            }
            Err(e) => return Err(io_err("open", &path)(e)),
        };
        let len = file.metadata().map_err(io_err("stat", &path))?.len();
        let mut head = Vec::with_capacity(4096);
        (&mut file)
            .take(envelope::MAX_ENVELOPE as u64)
            .read_to_end(&mut head)
            .map_err(io_err("read", &path))?;
        let (envelope, offset) =
            Envelope::decode(&head).ok_or_else(|| Error::Corrupt(path.clone()))?;
        let status = match fs::read_to_string(self.status_path(id)) {
            Ok(text) => envelope::decode_status(&text, envelope.recipients.len()),
            Err(_) => vec![RecipientStatus::Pending; envelope.recipients.len()],
        };
        Ok(Entry { id: id.to_string(), envelope, status, size: len.saturating_sub(offset as u64) })
    }

    /// Opens the message bytes of an entry, positioned after the envelope.
    pub fn open_message(&self, entry: &Entry) -> Result<File, Error> {
        let path = self.mess(&entry.id);
        let mut file = File::open(&path).map_err(io_err("open", &path))?;
        let len = file.metadata().map_err(io_err("stat", &path))?.len();
        file.seek(SeekFrom::Start(len - entry.size)).map_err(io_err("seek", &path))?;
        Ok(file)
    }

    /// Records what became of each recipient. When every recipient is final the message
    /// leaves the queue.
    pub fn record(&self, entry: &Entry) -> Result<(), Error> {
        if entry.status.iter().all(RecipientStatus::is_final) {
            return self.remove(&entry.id);
        }
        let path = self.status_path(&entry.id);
        // Q3: +mess +status. A crash before this rename repeats the deliveries just made
        // (at least once, never lost).
        write_atomic(&path, envelope::encode_status(&entry.status).as_bytes())
            .map_err(io_err("write", &path))
    }

    /// Removes a message from the queue (delivered, bounced, or deleted by the operator).
    pub fn remove(&self, id: &str) -> Result<(), Error> {
        if !valid_id(id) {
            return Err(Error::NoSuchMessage(id.to_string()));
        }
        let path = self.mess(id);
        // Q4: -mess. From here nothing schedules the message; a status file left by a
        // crash right now is removed by `recover`.
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NoSuchMessage(id.to_string()));
            }
            Err(e) => return Err(io_err("remove", &path)(e)),
        }
        // Q0.
        let _ = fs::remove_file(self.status_path(id));
        Ok(())
    }

    /// Asks a running scheduler of this queue to look through it now (it checks this
    /// file's time every second): `queue flush` from another process.
    pub fn poke(&self) -> Result<(), Error> {
        let path = self.dir.join(FLUSH_FILE);
        write_atomic(&path, now().to_string().as_bytes()).map_err(io_err("write", &path))
    }

    /// The time of the last [`Queue::poke`], if any.
    pub fn poked(&self) -> Option<std::time::SystemTime> {
        fs::metadata(self.dir.join(FLUSH_FILE)).and_then(|m| m.modified()).ok()
    }

    /// Makes every deferred recipient of a message due now (`queue flush`).
    pub fn make_due(&self, id: &str) -> Result<(), Error> {
        let mut entry = self.load(id)?;
        for s in &mut entry.status {
            if let RecipientStatus::Deferred { next, .. } = s {
                *next = 0;
            }
        }
        self.record(&entry)
    }
}

/// A message being received into `tmp/`.
#[derive(Debug)]
pub struct Incoming {
    file: BufWriter<File>,
    path: PathBuf,
    id: String,
    size: u64,
    queue: Queue,
}

impl Incoming {
    /// The id the message will have.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Bytes of message written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends message bytes. A full disk fails here (or at commit).
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.size += bytes.len() as u64;
        self.file.write_all(bytes).map_err(io_err("write", &self.path))
    }

    /// Makes the message durable and acknowledged: after this returns, `250 queued as
    /// <id>` may be said. Blocks on fsync: call it off the async runtime's workers.
    pub fn commit(self) -> Result<String, Error> {
        let Incoming { file, path, id, queue, .. } = self;
        let result = (|| {
            let file = file.into_inner().map_err(|e| io_err("write", &path)(e.into_error()))?;
            // Q1 → Q1': the bytes (envelope and message) reach the disk.
            file.sync_all().map_err(io_err("fsync", &path))?;
            drop(file);
            let target = queue.mess(&id);
            // Q2: +mess/<id>. One rename: the file appears whole, envelope and message.
            fs::rename(&path, &target).map_err(io_err("rename into mess/", &path))?;
            // Q2 durable: the name is on disk. Only now is the message acknowledged.
            let dir = queue.dir.join("mess");
            File::open(&dir).and_then(|d| d.sync_all()).map_err(io_err("fsync", &dir))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&path);
        }
        result.map(|()| id)
    }

    /// Gives the message up (the client went away, or the message was refused).
    pub fn abort(self) {
        let _ = fs::remove_file(&self.path);
    }
}
