//! The SMTP session as a state machine, sans-IO: it is given command lines and answers
//! with [`Action`]s; the driver ([`super::server`]) owns the socket, TLS, the queue file
//! and the clock. One file per verb that carries logic.
//!
//! ```text
//! connected ──EHLO/HELO──▶ greeted ──MAIL──▶ mail ──RCPT──▶ rcpt ──DATA──▶ (driver) ──▶ greeted
//!     ▲                       │ STARTTLS: back to connected, over TLS
//!     └───────────────────────┘ RSET / EHLO: back to greeted
//! ```

mod auth;
mod data;
mod ehlo;
mod mail;
mod rcpt;

pub use data::DataOutcome;

use std::net::IpAddr;

use smtp_proto::Request;

use super::SmtpConfig;
use super::reply::Reply;
use crate::accounts::{Destination, Login};
use crate::names::Address;
use crate::queue::{Envelope, Recipient};

/// Which listener the session came in on; it decides what is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// Inbound MX (25): no AUTH, local recipients only.
    Mx,
    /// Submission (587): STARTTLS, then AUTH before MAIL.
    Submission,
    /// Submissions (465): TLS from the first byte, AUTH before MAIL.
    Submissions,
}

/// What the recipient check says (the driver's [`Backend`] looks it up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptCheck {
    /// Accepted: where it goes.
    Accept(Vec<Destination>),
    /// A served domain, but no such user.
    Unknown,
    /// Not a served domain, and the client may not relay.
    RelayDenied,
    /// The mailbox is over quota now.
    OverQuota,
    /// Not an address this server can deliver to or relay to.
    Invalid(String),
    /// The lookup failed; try again later.
    TempFail(String),
    /// The recipient's spam policy refuses this sender (`550 5.7.1`).
    Refused(String),
}

/// The lookups a session needs, provided by the driver (real accounts, or a test double).
pub trait Backend {
    /// Checks one recipient of a message from `sender` (empty for `<>`); `relay` says
    /// whether the client may send elsewhere.
    fn check_recipient(&self, address: &str, relay: bool, sender: &str) -> RcptCheck;
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this reply and read on.
    Reply(Reply),
    /// Send this reply and close the connection.
    Close(Reply),
    /// Send this reply (220), drop any buffered input, do the TLS handshake, then call
    /// [`Session::tls_started`].
    StartTls(Reply),
    /// Send this reply (354) and receive the message; then call [`Session::data_done`].
    Data(Reply),
    /// Check these credentials off the async workers, then call [`Session::auth_done`].
    Authenticate {
        /// The login (an address).
        login: String,
        /// The password.
        password: Vec<u8>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Connected,
    Greeted,
    /// Waiting for a line of an AUTH exchange.
    Auth(auth::Pending),
}

/// One accepted RCPT.
#[derive(Debug, Clone)]
struct Accepted {
    original: String,
    destinations: Vec<Destination>,
}

/// One SMTP session.
#[derive(Debug)]
pub struct Session {
    config: SmtpConfig,
    port: Port,
    /// The client's address, for Received and logs.
    pub client: IpAddr,
    tls: bool,
    tls_available: bool,
    helo: Option<String>,
    extended: bool,
    authenticated: Option<Address>,
    state: State,
    sender: Option<String>,
    recipients: Vec<Accepted>,
    destinations: usize,
    commands: usize,
    errors: usize,
    auth_failures: usize,
}

/// Bad commands tolerated before the session is closed.
pub const MAX_ERRORS: usize = 20;
/// Failed AUTH attempts tolerated before the session is closed.
pub const MAX_AUTH_FAILURES: usize = 3;

impl Session {
    /// A new session; `tls` is true on the implicit-TLS port, `tls_available` says
    /// whether STARTTLS can be offered.
    pub fn new(config: SmtpConfig, port: Port, client: IpAddr, tls_available: bool) -> Session {
        Session {
            config,
            port,
            client,
            tls: port == Port::Submissions,
            tls_available,
            helo: None,
            extended: false,
            authenticated: None,
            state: State::Connected,
            sender: None,
            recipients: Vec::new(),
            destinations: 0,
            commands: 0,
            errors: 0,
            auth_failures: 0,
        }
    }

    /// The greeting.
    pub fn greeting(&self) -> Reply {
        Reply::new(220, "", format!("{} ESMTP Mailroom", self.config.hostname))
    }

    /// Whether the session is over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Who authenticated, if anyone.
    pub fn authenticated(&self) -> Option<&Address> {
        self.authenticated.as_ref()
    }

    /// The largest message accepted.
    pub fn max_message_size(&self) -> u64 {
        self.config.max_message_size
    }

    /// A line that was too long.
    pub fn line_too_long(&mut self) -> Action {
        self.error(Reply::new(500, "5.5.2", "line too long"))
    }

    /// Handles one command line (without its line ending).
    pub fn command(&mut self, line: &[u8], backend: &dyn Backend) -> Action {
        self.commands += 1;
        if self.commands > self.config.max_commands {
            return Action::Close(Reply::new(421, "4.7.0", "too many commands; closing"));
        }
        if let State::Auth(pending) = self.state.clone() {
            return self.auth_continue(pending, line);
        }
        if line.contains(&0) {
            return self.error(Reply::new(500, "5.5.2", "NUL in command"));
        }
        let mut framed = Vec::with_capacity(line.len() + 2);
        framed.extend_from_slice(line);
        framed.extend_from_slice(b"\r\n");
        let request = match Request::parse(&mut framed.iter()) {
            Ok(request) => request,
            Err(e) => return self.parse_error(e),
        };
        match request {
            Request::Ehlo { host } => self.ehlo(&host, true),
            Request::Helo { host } => self.ehlo(&host, false),
            Request::StartTls => self.starttls(),
            Request::Auth { mechanism, initial_response } => {
                self.auth(mechanism, &initial_response)
            }
            Request::Mail { from } => self.mail(from),
            Request::Rcpt { to } => self.rcpt(&to.address, backend),
            Request::Data => self.data(),
            Request::Rset => {
                self.reset();
                Action::Reply(Reply::new(250, "2.0.0", "OK"))
            }
            Request::Noop { .. } => Action::Reply(Reply::new(250, "2.0.0", "OK")),
            Request::Quit => Action::Close(Reply::new(221, "2.0.0", "bye")),
            Request::Vrfy { .. } => {
                Action::Reply(Reply::new(252, "2.5.0", "cannot verify; send mail and see"))
            }
            Request::Help { .. } => Action::Reply(Reply::new(
                214,
                "2.0.0",
                "see RFC 5321; commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT STARTTLS AUTH",
            )),
            Request::Expn { .. } => self.error(Reply::new(502, "5.5.1", "EXPN is not offered")),
            Request::Bdat { .. } => {
                self.error(Reply::new(502, "5.5.1", "BDAT (CHUNKING) is not offered; use DATA"))
            }
            other => {
                self.error(Reply::new(502, "5.5.1", format!("{} is not offered", other.name())))
            }
        }
    }

    fn parse_error(&mut self, e: smtp_proto::Error) -> Action {
        use smtp_proto::Error as E;
        let reply = match e {
            E::UnknownCommand => Reply::new(500, "5.5.1", "unknown command"),
            E::InvalidSenderAddress => Reply::new(501, "5.1.7", "bad sender address syntax"),
            E::InvalidRecipientAddress => Reply::new(501, "5.1.3", "bad recipient address syntax"),
            E::SyntaxError { syntax } => Reply::new(501, "5.5.4", format!("syntax: {syntax}")),
            E::InvalidParameter { param } => {
                Reply::new(501, "5.5.4", format!("invalid parameter {param}"))
            }
            E::UnsupportedParameter { param } => {
                let param: String =
                    param.chars().filter(|c| c.is_ascii_graphic()).take(40).collect();
                Reply::new(555, "5.5.4", format!("unsupported parameter {param}"))
            }
            E::NeedsMoreData { .. } | E::ResponseTooLong | E::InvalidResponse { .. } => {
                Reply::new(500, "5.5.2", "syntax error")
            }
        };
        self.error(reply)
    }

    /// A failed command: counted, and the session ends after too many.
    fn error(&mut self, reply: Reply) -> Action {
        self.errors += 1;
        if self.errors > MAX_ERRORS {
            return Action::Close(Reply::new(421, "4.7.0", "too many errors; closing"));
        }
        Action::Reply(reply)
    }

    fn starttls(&mut self) -> Action {
        if self.tls {
            return self.error(Reply::new(503, "5.5.1", "TLS is already active"));
        }
        if !self.tls_available {
            return self.error(Reply::new(454, "4.7.0", "TLS not available"));
        }
        Action::StartTls(Reply::new(220, "2.0.0", "ready to start TLS"))
    }

    /// The TLS handshake succeeded: the session starts over (RFC 3207 §4.2).
    pub fn tls_started(&mut self) {
        self.tls = true;
        self.helo = None;
        self.state = State::Connected;
        self.reset();
    }

    /// Forgets the mail transaction.
    fn reset(&mut self) {
        self.sender = None;
        self.recipients.clear();
        self.destinations = 0;
    }

    /// The envelope of the transaction, for the queue.
    pub fn envelope(&self, now: u64) -> Envelope {
        let recipients = self
            .recipients
            .iter()
            .flat_map(|a| {
                a.destinations
                    .iter()
                    .map(|d| Recipient { destination: d.clone(), original: a.original.clone() })
            })
            .collect();
        Envelope {
            sender: self.sender.clone().unwrap_or_default(),
            received: now,
            client: format!("{} {}", self.client, self.helo.as_deref().unwrap_or("unknown")),
            recipients,
        }
    }

    /// The login result for a pending AUTH.
    pub fn auth_done(&mut self, login: Login) -> Action {
        match login {
            Login::Granted(address) => {
                self.authenticated = Some(address);
                Action::Reply(Reply::new(235, "2.7.0", "authenticated"))
            }
            Login::Disabled(address) => {
                self.auth_failures += 1;
                Action::Reply(Reply::new(
                    535,
                    "5.7.8",
                    format!("SMTP AUTH is disabled for {address}"),
                ))
            }
            Login::Refused => {
                self.auth_failures += 1;
                if self.auth_failures >= MAX_AUTH_FAILURES {
                    return Action::Close(Reply::new(
                        421,
                        "4.7.0",
                        "too many failed logins; closing",
                    ));
                }
                Action::Reply(Reply::new(535, "5.7.8", "authentication failed"))
            }
        }
    }
}

#[cfg(test)]
mod tests;
