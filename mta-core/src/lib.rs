//! Mailroom's MTA core: qmail's pipeline as async tasks in one process.
//!
//! ```text
//! SMTP session ──▶ queue (enqueue) ──▶ scheduler ──▶ local delivery ──▶ Maildir
//! webmail send ──▶                                └─▶ remote delivery ──▶ SMTP to MX
//! ```
//!
//! # Layout
//!
//! | module       | its one job |
//! |--------------|-------------|
//! | [`names`]    | the grammar of domains, local parts and addresses |
//! | [`conn`]     | a client connection, plain or TLS, and its line framing (SMTP, POP3) |
//! | [`audit`]    | the audit log of administrative actions, one file per host |
//! | [`datadir`]  | where every file of the data directory lives; atomic replacement |
//! | [`accounts`] | virtual domains, users, aliases, logins and recipient resolution |
//! | [`queue`]    | the crash-proof queue: enqueue, status per recipient, scheduler, bounces |
//! | [`deliver`]  | delivery of queued messages: local (Maildir); remote comes later |
//! | [`smtp`]     | the SMTP server: wire framing, the session state machine, the driver |
//! | [`pop3`]     | the POP3 server over the same Maildirs and passwords |
//! | [`policy`]   | the customers' spam policy: allow and block lists, the action |
//! | [`submit`]   | submission from inside the process (the webmail's Send), with SMTP's checks |
//! | [`tls`]      | the server certificate: configured, or self-signed on first run |
//!
//! Delivery into Maildirs is the `maildir` crate's ([`maildir::deliver`]); this crate
//! calls it and nothing else writes into a mailbox.

pub mod accounts;
pub mod audit;
pub mod conn;
pub mod datadir;
pub mod deliver;
pub mod names;
pub mod policy;
pub mod pop3;
pub mod queue;
pub mod smtp;
pub mod submit;
pub mod tls;

pub use maildir;
