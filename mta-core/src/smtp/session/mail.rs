//! MAIL FROM: the reverse path, its SIZE, and what the port requires first.

use std::borrow::Cow;

use smtp_proto::MailFrom;

use super::{Action, Port, Session, State};
use crate::names::RemoteAddress;
use crate::smtp::reply::Reply;

impl Session {
    pub(super) fn mail(&mut self, from: MailFrom<Cow<'_, str>>) -> Action {
        if self.state != State::Greeted || self.helo.is_none() {
            return self.error(Reply::new(503, "5.5.1", "say EHLO first"));
        }
        if self.sender.is_some() {
            return self.error(Reply::new(503, "5.5.1", "nested MAIL command; RSET first"));
        }
        if self.port != Port::Mx && self.authenticated.is_none() {
            let reply = if self.tls {
                Reply::new(530, "5.7.0", "authentication required")
            } else {
                Reply::new(530, "5.7.0", "must issue STARTTLS and AUTH first")
            };
            return self.error(reply);
        }
        if from.size as u64 > self.config.max_message_size {
            return self.error(Reply::new(
                552,
                "5.3.4",
                format!("message too big: at most {} bytes", self.config.max_message_size),
            ));
        }
        let address = from.address.trim();
        if !address.is_empty()
            && let Err(e) = RemoteAddress::parse_sender(address)
        {
            return self.error(Reply::new(
                553,
                "5.1.7",
                format!("sender address rejected: {}", e.reason),
            ));
        }
        self.sender = Some(address.to_string());
        Action::Reply(Reply::new(250, "2.1.0", "sender OK"))
    }
}
