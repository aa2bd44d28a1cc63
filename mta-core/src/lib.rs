//! Mailroom's MTA core: qmail's pipeline as async tasks in one process.
//!
//! ```text
//! SMTP session ──▶ queue (enqueue) ──▶ scheduler ──▶ local delivery ──▶ Maildir
//! webmail send ──▶                                └─▶ remote delivery ──▶ SMTP to MX
//! ```
//!
//! # Layout
//!
//! Nothing is built here yet: the accounts directory, the SMTP server, the queue and
//! local delivery arrive with the MTA inbound issue. Delivery into Maildirs is already
//! the `maildir` crate's ([`maildir::deliver`]); this crate will call it and nothing
//! else will write into a mailbox.

pub use maildir;
