//! POP3 (RFC 1939, with CAPA, RESP-CODES, STLS, UIDL, TOP and AUTH PLAIN) over the same
//! Maildirs and passwords as the webmail and SMTP AUTH. Logging in needs TLS (the `pop3s`
//! port, or STLS on `pop3`); one session at a time per mailbox; deletions happen only at
//! QUIT; a message's UIDL is its Maildir unique name, the same in every session.
//!
//! # Layout
//! - [`session`]: the sans-IO state machine: every reply
//! - [`maildrop`]: the INBOX as listed at login, its lock, a message on the wire, QUIT
//! - [`server`]: the tokio driver: sockets, TLS, timeouts

pub mod maildrop;
pub mod server;
pub mod session;

use serde::Deserialize;

/// `[pop3]` in `mailroom.toml`: the bounds of POP3 sessions.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pop3Config {
    /// Silence before the session is closed (RFC 1939 §3: at least 10 minutes).
    pub idle_timeout_secs: u64,
    /// Longest session (must stay below the maildrop lock's staleness,
    /// [`maildrop::STALE_LOCK_SECS`]).
    pub max_session_secs: u64,
    /// Sessions at once per listener.
    pub max_connections: usize,
    /// Commands per session (a mailbox of 50,000 messages needs about 100,000).
    pub max_commands: usize,
}

impl Default for Pop3Config {
    fn default() -> Self {
        Pop3Config {
            idle_timeout_secs: 600,
            max_session_secs: 3600,
            max_connections: 1000,
            max_commands: 200_000,
        }
    }
}
