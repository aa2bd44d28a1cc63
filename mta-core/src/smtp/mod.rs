//! The SMTP server: receipt on the MX port and the two submission ports.
//!
//! # Layout
//! - [`reply`]: replies with codes and enhanced status codes
//! - [`wire`]: sans-IO framing: command lines and DATA (strict CRLF, dot-unstuffing)
//! - [`session`]: the protocol state machine, one file per verb
//! - [`server`]: the tokio driver: sockets, TLS, timeouts, the queue file

pub mod reply;
pub mod server;
pub mod session;
pub mod wire;

use serde::Deserialize;

/// The `[smtp]` section of `mailroom.toml`: every bound of a session.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// The name in the greeting, EHLO and Received headers (default: the system's
    /// host name).
    pub hostname: String,
    /// Largest message accepted, in bytes (advertised as SIZE).
    pub max_message_size: u64,
    /// Most recipients (after alias expansion) of one message.
    pub max_recipients: usize,
    /// Most commands in one session.
    pub max_commands: usize,
    /// Seconds a client may stay silent before the session is closed (RFC 5321 §4.5.3.2
    /// asks for at least 5 minutes).
    pub idle_timeout_secs: u64,
    /// Seconds one session may last at most.
    pub max_session_secs: u64,
    /// Sessions served at once per listener; more are told 421 and closed.
    pub max_connections: usize,
    /// Most `Received:` headers a message may carry (a loop between servers otherwise).
    pub max_hops: usize,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            hostname: system_hostname(),
            max_message_size: 50 * 1024 * 1024,
            max_recipients: 2000,
            max_commands: 10_000,
            idle_timeout_secs: 300,
            max_session_secs: 3600,
            max_connections: 1000,
            max_hops: 100,
        }
    }
}

/// The kernel's host name, or `localhost`.
pub fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
        })
        .unwrap_or_else(|| "localhost".to_string())
}
