//! RCPT TO: every recipient is checked now, so unknown users are refused in the session
//! (550, no backscatter later) and relaying needs AUTH.

use super::{Accepted, Action, Backend, RcptCheck, Session};
use crate::smtp::reply::Reply;

impl Session {
    pub(super) fn rcpt(&mut self, address: &str, backend: &dyn Backend) -> Action {
        if self.sender.is_none() {
            return self.error(Reply::new(503, "5.5.1", "need MAIL before RCPT"));
        }
        if self.recipients.len() >= self.config.max_recipients
            || self.destinations >= self.config.max_recipients
        {
            return Action::Reply(Reply::new(452, "4.5.3", "too many recipients"));
        }
        let address = address.trim();
        if address.is_empty() || address.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return self.error(Reply::new(501, "5.1.3", "bad recipient address syntax"));
        }
        let sender = self.sender.clone().unwrap_or_default();
        let reply = match backend.check_recipient(address, self.authenticated.is_some(), &sender) {
            RcptCheck::Accept(destinations) => {
                self.destinations += destinations.len();
                self.recipients.push(Accepted { original: address.to_string(), destinations });
                return Action::Reply(Reply::new(250, "2.1.5", "recipient OK"));
            }
            RcptCheck::Unknown => Reply::new(550, "5.1.1", "no such user here"),
            RcptCheck::RelayDenied => {
                Reply::new(550, "5.7.1", "relaying denied: authenticate first")
            }
            RcptCheck::OverQuota => Reply::new(452, "4.2.2", "mailbox full; try again later"),
            RcptCheck::Invalid(why) => {
                Reply::new(501, "5.1.3", format!("bad recipient address: {why}"))
            }
            RcptCheck::TempFail(why) => {
                Reply::new(451, "4.3.0", format!("temporary lookup failure: {why}"))
            }
            RcptCheck::Refused(why) => {
                Reply::new(550, "5.7.1", format!("refused by the recipient's spam policy: {why}"))
            }
        };
        self.error(reply)
    }
}
