//! The Maildir++ store and its header index.
//!
//! Plain files only, safe on NFS and other shared POSIX filesystems: every write is an
//! exclusive create or an atomic rename, every name is unique per host, and nothing needs
//! a lock held across processes or hosts. Sync std I/O; nothing here knows about SMTP or
//! HTTP.
//!
//! # Layout
//!
//! | module          | its one job |
//! |-----------------|-------------|
//! | [`name`]        | Maildir file names: unique names, `,S=<size>`, `:2,<flags>` |
//! | [`folder_name`] | folder names from users and from disk: validation, modified UTF-7 |
//! | [`mutf7`]       | the modified UTF-7 codec (RFC 3501 §5.1.3) used on disk |
//! | [`deliver`]     | durable delivery into `new/` (qmail-local's steps) and fan-out by hard link |
//! | [`folder`]      | one Maildir directory: list, read, locate, store, sweep `tmp/` |
//! | [`changes`]     | flag changes, moves, copies and deletes, journaled for the index |
//! | [`journal`]     | the record of this crate's own changes, so indexes follow without a scan |
//! | [`store`]       | a user's Maildir++: the folder tree (create, rename, delete, list, counts) |
//! | [`quota`]       | Maildir++ quota (`maildirsize`) |
//! | [`header`]      | reading only the header block of a message and summarising it |
//! | [`index`]       | the header index: records, file format, incremental sync, queries |
//!
//! # A tour
//!
//! ```
//! # fn main() -> Result<(), maildir::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! use maildir::{store::Maildir, index::{HeaderIndex, Query}};
//!
//! let mailbox = Maildir::create(dir.path().join("Maildir"))?;
//! let inbox = mailbox.inbox();
//! inbox.deliver(&b"From: a@example.org\nSubject: hello\n\nbody\n"[..])?;
//!
//! let (index, _report) = HeaderIndex::open(&inbox)?;
//! let page = index.query(&Query::default());
//! assert_eq!(page.records[0].subject(), "hello");
//! # Ok(()) }
//! ```

pub mod changes;
pub mod deliver;
mod error;
pub mod folder;
pub mod folder_name;
pub mod header;
pub mod index;
pub mod journal;
pub mod mutf7;
pub mod name;
pub mod quota;
pub mod store;

pub use error::{Error, Result};
pub use folder::Folder;
pub use folder_name::FolderName;
pub use name::{Flags, MessageFile, Subdir};
pub use store::Maildir;
