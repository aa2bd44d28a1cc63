//! EHLO and HELO: the greeting, and what this session offers.

use super::{Action, Port, Session, State};
use crate::smtp::reply::Reply;

/// Longest HELO name kept (for Received and logs).
const MAX_HELO: usize = 255;

impl Session {
    pub(super) fn ehlo(&mut self, host: &str, extended: bool) -> Action {
        // The name is the client's word, kept only as printable text for Received.
        let name: String = host.chars().filter(|c| c.is_ascii_graphic()).take(MAX_HELO).collect();
        if name.is_empty() {
            return self.error(Reply::new(
                501,
                "5.5.4",
                "EHLO needs a host name or address literal",
            ));
        }
        self.helo = Some(name.clone());
        self.extended = extended;
        self.state = State::Greeted;
        self.reset();
        let hello = format!("{} greets {name} [{}]", self.config.hostname, self.client);
        if !extended {
            return Action::Reply(Reply::new(250, "", hello));
        }
        let mut lines = vec![
            hello,
            "PIPELINING".to_string(),
            format!("SIZE {}", self.config.max_message_size),
            "8BITMIME".to_string(),
            "SMTPUTF8".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
        ];
        if !self.tls && self.tls_available {
            lines.push("STARTTLS".to_string());
        }
        if self.offers_auth() {
            lines.push("AUTH PLAIN LOGIN".to_string());
        }
        Action::Reply(Reply { code: 250, status: "", lines })
    }

    /// AUTH is offered on the submission ports, over TLS only.
    pub(super) fn offers_auth(&self) -> bool {
        self.port != Port::Mx && self.tls && self.authenticated.is_none()
    }
}
