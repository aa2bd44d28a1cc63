//! DATA: when the driver may start receiving, the Received header, and the reply at the
//! end of the message.

use super::{Action, Session};
use crate::smtp::reply::Reply;

/// How receiving the message ended, as the driver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataOutcome {
    /// In the queue, durably, under this id.
    Queued(String),
    /// Larger than the limit (the rest was read and dropped).
    TooBig,
    /// More `Received:` lines than allowed: a loop between servers.
    TooManyHops(usize),
    /// The disk (or its quota) is full.
    DiskFull,
    /// Another local failure.
    TempFail(String),
}

impl Session {
    pub(super) fn data(&mut self) -> Action {
        if self.sender.is_none() {
            return self.error(Reply::new(503, "5.5.1", "need MAIL before DATA"));
        }
        if self.recipients.is_empty() {
            return self.error(Reply::new(554, "5.5.1", "no valid recipients"));
        }
        Action::Data(Reply::new(354, "", "end data with <CR><LF>.<CR><LF>"))
    }

    /// The `Received:` header Mailroom puts first (LF line endings, like the stored
    /// message). `date` is RFC 5322.
    pub fn received_header(&self, id: &str, date: &str) -> String {
        let with = match (self.extended, self.tls, self.authenticated.is_some()) {
            (false, _, _) => "SMTP",
            (true, false, false) => "ESMTP",
            (true, true, false) => "ESMTPS",
            (true, false, true) => "ESMTPA",
            (true, true, true) => "ESMTPSA",
        };
        let helo = self.helo.as_deref().unwrap_or("unknown");
        // "for" only with one recipient: more would tell each who else got the message.
        let only = match self.recipients.as_slice() {
            [one] => format!("\n\tfor <{}>", one.original),
            _ => String::new(),
        };
        format!(
            "Received: from {helo} ([{}])\n\tby {} (Mailroom) with {with} id {id}{only};\n\t{date}\n",
            self.client, self.config.hostname
        )
    }

    /// The message has been received (or not): the reply, and the transaction is over.
    pub fn data_done(&mut self, outcome: DataOutcome) -> Reply {
        self.reset();
        match outcome {
            DataOutcome::Queued(id) => Reply::new(250, "2.0.0", format!("queued as {id}")),
            DataOutcome::TooBig => Reply::new(
                552,
                "5.3.4",
                format!("message too big: at most {} bytes", self.config.max_message_size),
            ),
            DataOutcome::TooManyHops(n) => Reply::new(
                554,
                "5.4.6",
                format!("too many hops ({n} Received headers): mail loop?"),
            ),
            DataOutcome::DiskFull => {
                Reply::new(452, "4.3.1", "insufficient system storage; try again later")
            }
            DataOutcome::TempFail(why) => Reply::new(451, "4.3.0", format!("local error: {why}")),
        }
    }

    /// The reply for a message with a bare CR or LF (the session then closes).
    pub fn bare_newline(&mut self) -> Reply {
        self.reset();
        Reply::new(554, "5.6.11", "bare CR or LF in the message; refused (only CRLF ends a line)")
    }
}
