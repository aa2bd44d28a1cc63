//! AUTH PLAIN (RFC 4616) and LOGIN, over TLS only, on the submission ports.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN};

use super::{Action, Session, State};
use crate::smtp::reply::Reply;

/// Where a multi-line AUTH exchange stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pending {
    /// AUTH PLAIN sent without an initial response: the next line is it.
    Plain,
    /// AUTH LOGIN: the next line is the user name.
    LoginUser,
    /// AUTH LOGIN: the next line is the password for this user.
    LoginPassword(String),
}

impl Session {
    pub(super) fn auth(&mut self, mechanism: u64, initial: &str) -> Action {
        if self.authenticated.is_some() {
            return self.error(Reply::new(503, "5.5.1", "already authenticated"));
        }
        if self.sender.is_some() {
            return self.error(Reply::new(
                503,
                "5.5.1",
                "AUTH is not allowed during a mail transaction",
            ));
        }
        if !self.tls {
            return self.error(Reply::new(538, "5.7.11", "encryption required: STARTTLS first"));
        }
        if !self.offers_auth() {
            return self.error(Reply::new(502, "5.5.1", "AUTH is not offered on this port"));
        }
        let initial = initial.trim();
        match mechanism {
            AUTH_PLAIN if initial.is_empty() => {
                self.state = State::Auth(Pending::Plain);
                Action::Reply(Reply::new(334, "", ""))
            }
            AUTH_PLAIN => self.plain(initial),
            AUTH_LOGIN if initial.is_empty() => {
                self.state = State::Auth(Pending::LoginUser);
                Action::Reply(Reply::new(334, "", STANDARD.encode("Username:")))
            }
            AUTH_LOGIN => match decode(initial) {
                Some(user) => self.login_user(user),
                None => self.auth_syntax(),
            },
            _ => {
                self.error(Reply::new(504, "5.5.4", "mechanism not supported; use PLAIN or LOGIN"))
            }
        }
    }

    pub(super) fn auth_continue(&mut self, pending: Pending, line: &[u8]) -> Action {
        self.state = State::Greeted;
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        if line == "*" {
            return self.error(Reply::new(501, "5.7.0", "authentication cancelled"));
        }
        match pending {
            Pending::Plain => self.plain(line),
            Pending::LoginUser => match decode(line) {
                Some(user) => self.login_user(user),
                None => self.auth_syntax(),
            },
            Pending::LoginPassword(user) => match decode(line) {
                Some(password) => Action::Authenticate { login: user, password },
                None => self.auth_syntax(),
            },
        }
    }

    fn plain(&mut self, response: &str) -> Action {
        let Some(bytes) = decode(response) else { return self.auth_syntax() };
        // authzid NUL authcid NUL password; an authzid other than the login is refused.
        let mut parts = bytes.split(|&b| b == 0);
        let (Some(authz), Some(user), Some(password), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return self.auth_syntax();
        };
        let Ok(user) = String::from_utf8(user.to_vec()) else { return self.auth_syntax() };
        if !authz.is_empty() && authz != user.as_bytes() {
            return self.error(Reply::new(
                535,
                "5.7.8",
                "authorization identity must be empty or the login",
            ));
        }
        Action::Authenticate { login: user, password: password.to_vec() }
    }

    fn login_user(&mut self, user: Vec<u8>) -> Action {
        let Ok(user) = String::from_utf8(user) else { return self.auth_syntax() };
        self.state = State::Auth(Pending::LoginPassword(user));
        Action::Reply(Reply::new(334, "", STANDARD.encode("Password:")))
    }

    fn auth_syntax(&mut self) -> Action {
        self.error(Reply::new(501, "5.5.2", "cannot decode the AUTH response (base64)"))
    }
}

fn decode(s: &str) -> Option<Vec<u8>> {
    if s == "=" {
        return Some(Vec::new());
    }
    STANDARD.decode(s).ok()
}
