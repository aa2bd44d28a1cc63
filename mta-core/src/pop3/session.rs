//! The POP3 session as a state machine fed command lines (RFC 1939, CAPA and response
//! codes of RFC 2449, STLS of RFC 2595, AUTH PLAIN of RFC 5034). It decides every
//! reply; the driver does the I/O it asks for (TLS, password checks, opening the
//! maildrop, sending a message, applying deletions at QUIT).

use base64::Engine as _;

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this (a `+OK`/`-ERR` line, or a whole multi-line answer) and read on.
    Reply(String),
    /// Send this and close.
    Close(String),
    /// Send this, drop buffered input, do the TLS handshake, then call
    /// [`Session::tls_started`].
    StartTls(String),
    /// Check these credentials off the async workers, open the maildrop, then call
    /// [`Session::logged_in`] or [`Session::login_failed`].
    Authenticate {
        /// The login (an address).
        login: String,
        /// The password.
        password: Vec<u8>,
    },
    /// Send `+OK`, then message `index` (whole, or its header and `top` lines of body),
    /// dot-stuffed, then the terminating `.`.
    Retrieve {
        /// Its number in the listing, from 0.
        index: usize,
        /// `TOP`'s line count.
        top: Option<usize>,
    },
    /// QUIT in the transaction state: delete `deleted` and mark `retrieved` seen, then
    /// call [`Session::updated`].
    Update {
        /// Messages marked deleted.
        deleted: Vec<usize>,
        /// Messages sent whole (RETR): they are seen now.
        retrieved: Vec<usize>,
    },
}

/// One message of the maildrop as the session knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its UIDL (stable across sessions).
    pub uid: String,
    /// Octets as sent (CRLF line ends).
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Before login; `user` after USER.
    Authorization { user: Option<String> },
    /// AUTH PLAIN sent without its response: the next line is it.
    AuthPlain,
    /// Logged in.
    Transaction,
    /// After QUIT or too many errors.
    Closed,
}

/// Failed logins before the connection is closed.
const MAX_FAILED_LOGINS: usize = 3;
/// Failed commands before the connection is closed.
const MAX_ERRORS: usize = 20;

/// One POP3 session.
#[derive(Debug)]
pub struct Session {
    state: State,
    tls: bool,
    tls_available: bool,
    listing: Vec<Listed>,
    deleted: Vec<bool>,
    retrieved: Vec<bool>,
    failed_logins: usize,
    errors: usize,
}

fn ok(text: &str) -> String {
    format!("+OK {text}\r\n")
}

fn err(text: &str) -> String {
    format!("-ERR {text}\r\n")
}

impl Session {
    /// A session on a new connection. `tls`: it is TLS already (pop3s).
    pub fn new(tls: bool, tls_available: bool) -> Session {
        Session {
            state: State::Authorization { user: None },
            tls,
            tls_available,
            listing: Vec::new(),
            deleted: Vec::new(),
            retrieved: Vec::new(),
            failed_logins: 0,
            errors: 0,
        }
    }

    /// The greeting.
    pub fn greeting(&self) -> String {
        ok("Mailroom POP3 ready")
    }

    /// TLS is up: start over in the authorization state.
    pub fn tls_started(&mut self) {
        self.tls = true;
        self.state = State::Authorization { user: None };
    }

    /// Whether the connection is TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    fn error(&mut self, text: &str) -> Action {
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            self.state = State::Closed;
            return Action::Close(err("too many errors; closing"));
        }
        Action::Reply(err(text))
    }

    /// A line too long to be a command.
    pub fn line_too_long(&mut self) -> Action {
        self.error("line too long")
    }

    /// The maildrop is open: the transaction state begins.
    pub fn logged_in(&mut self, listing: Vec<Listed>) -> Action {
        let (count, octets) = (listing.len(), listing.iter().map(|m| m.size).sum::<u64>());
        self.deleted = vec![false; listing.len()];
        self.retrieved = vec![false; listing.len()];
        self.listing = listing;
        self.state = State::Transaction;
        Action::Reply(ok(&format!("logged in; {count} messages ({octets} octets)")))
    }

    /// The login was refused (`reply` says why, with its response code).
    pub fn login_failed(&mut self, reply: String, counts: bool) -> Action {
        self.state = State::Authorization { user: None };
        if counts {
            self.failed_logins += 1;
            if self.failed_logins >= MAX_FAILED_LOGINS {
                self.state = State::Closed;
                return Action::Close(reply);
            }
        }
        Action::Reply(reply)
    }

    /// The deletions of QUIT were applied (`Err`: some could not be).
    pub fn updated(&mut self, result: Result<usize, String>) -> Action {
        self.state = State::Closed;
        match result {
            Ok(n) => Action::Close(ok(&format!("bye; {n} messages deleted"))),
            Err(why) => Action::Close(err(&format!("[SYS/TEMP] {why}"))),
        }
    }

    /// The capabilities, as this session stands.
    fn capa(&self) -> String {
        let mut lines = vec![
            "+OK capabilities follow",
            "TOP",
            "UIDL",
            "RESP-CODES",
            "AUTH-RESP-CODE",
            "PIPELINING",
        ];
        if self.tls {
            lines.extend(["USER", "SASL PLAIN"]);
        } else if self.tls_available {
            lines.push("STLS");
        }
        lines.extend(["IMPLEMENTATION Mailroom", "."]);
        lines.iter().map(|l| format!("{l}\r\n")).collect()
    }

    /// The message number `arg` names (1-based, not deleted) as an index.
    fn message(&self, arg: Option<&str>) -> Result<usize, &'static str> {
        let n: usize =
            arg.ok_or("a message number is needed")?.parse().map_err(|_| "not a message number")?;
        if n == 0 || n > self.listing.len() {
            return Err("no such message");
        }
        if self.deleted[n - 1] {
            return Err("message already deleted");
        }
        Ok(n - 1)
    }

    /// One command line.
    pub fn command(&mut self, line: &[u8]) -> Action {
        if self.state == State::Closed {
            return Action::Close(err("closed"));
        }
        let Ok(line) = std::str::from_utf8(line) else {
            return self.error("commands are ASCII");
        };
        if self.state == State::AuthPlain {
            return self.auth_plain_response(line.trim());
        }
        let mut words = line.split_ascii_whitespace();
        let verb = words.next().unwrap_or_default().to_ascii_uppercase();
        let args: Vec<&str> = words.collect();
        match (&self.state, verb.as_str()) {
            (_, "CAPA") => Action::Reply(self.capa()),
            (_, "QUIT") if self.state == State::Transaction => Action::Update {
                deleted: (0..self.listing.len()).filter(|&i| self.deleted[i]).collect(),
                retrieved: (0..self.listing.len())
                    .filter(|&i| self.retrieved[i] && !self.deleted[i])
                    .collect(),
            },
            (_, "QUIT") => {
                self.state = State::Closed;
                Action::Close(ok("bye"))
            }
            (_, "NOOP") if self.state == State::Transaction => Action::Reply(ok("")),
            (State::Authorization { .. }, "STLS") => {
                if self.tls {
                    self.error("TLS is already active")
                } else if !self.tls_available {
                    self.error("[SYS/PERM] no certificate; TLS is unavailable")
                } else {
                    Action::StartTls(ok("begin TLS"))
                }
            }
            (State::Authorization { .. }, "USER") => {
                if !self.tls {
                    return self.error("[AUTH] log in over TLS: send STLS first");
                }
                match args.first() {
                    Some(user) if args.len() == 1 => {
                        self.state = State::Authorization { user: Some(user.to_string()) };
                        Action::Reply(ok("now PASS"))
                    }
                    _ => self.error("USER takes one argument"),
                }
            }
            (State::Authorization { user }, "PASS") => {
                let Some(login) = user.clone() else {
                    return self.error("USER first");
                };
                // The password is the rest of the line (it may contain spaces).
                let password = line.trim_start()[4..].strip_prefix(' ').unwrap_or_default();
                self.state = State::Authorization { user: None };
                Action::Authenticate { login, password: password.as_bytes().to_vec() }
            }
            (State::Authorization { .. }, "AUTH") => {
                if !self.tls {
                    return self.error("[AUTH] log in over TLS: send STLS first");
                }
                match args.as_slice() {
                    [] => Action::Reply("+OK\r\nPLAIN\r\n.\r\n".into()),
                    [mechanism, rest @ ..] if mechanism.eq_ignore_ascii_case("PLAIN") => match rest
                    {
                        [] => {
                            self.state = State::AuthPlain;
                            Action::Reply("+ \r\n".into())
                        }
                        [initial] => self.auth_plain_response(initial),
                        _ => self.error("AUTH PLAIN takes at most one argument"),
                    },
                    _ => self.error("[AUTH] only PLAIN is offered"),
                }
            }
            (State::Transaction, "STAT") => {
                let (n, octets) = self
                    .listing
                    .iter()
                    .zip(&self.deleted)
                    .filter(|(_, d)| !**d)
                    .fold((0, 0u64), |(n, o), (m, _)| (n + 1, o + m.size));
                Action::Reply(ok(&format!("{n} {octets}")))
            }
            (State::Transaction, "LIST") => {
                self.list(&args, |i, m| format!("{} {}", i + 1, m.size))
            }
            (State::Transaction, "UIDL") => self.list(&args, |i, m| format!("{} {}", i + 1, m.uid)),
            (State::Transaction, "RETR") => match self.message(args.first().copied()) {
                Ok(index) => {
                    self.retrieved[index] = true;
                    Action::Retrieve { index, top: None }
                }
                Err(why) => self.error(why),
            },
            (State::Transaction, "TOP") => {
                let index = match self.message(args.first().copied()) {
                    Ok(index) => index,
                    Err(why) => return self.error(why),
                };
                match args.get(1).and_then(|n| n.parse::<usize>().ok()) {
                    Some(lines) if args.len() == 2 => Action::Retrieve { index, top: Some(lines) },
                    _ => self.error("TOP takes a message number and a line count"),
                }
            }
            (State::Transaction, "DELE") => match self.message(args.first().copied()) {
                Ok(index) => {
                    self.deleted[index] = true;
                    Action::Reply(ok(&format!("message {} deleted", index + 1)))
                }
                Err(why) => self.error(why),
            },
            (State::Transaction, "RSET") => {
                self.deleted.iter_mut().for_each(|d| *d = false);
                Action::Reply(ok(&format!("{} messages", self.listing.len())))
            }
            (State::Transaction, "USER" | "PASS" | "AUTH" | "STLS") => {
                self.error("already logged in")
            }
            (
                State::Authorization { .. },
                "STAT" | "LIST" | "UIDL" | "RETR" | "TOP" | "DELE" | "RSET" | "NOOP",
            ) => self.error("log in first"),
            _ => self.error("unknown command"),
        }
    }

    fn list(&mut self, args: &[&str], line: impl Fn(usize, &Listed) -> String) -> Action {
        if args.is_empty() {
            let mut out = String::from("+OK listing follows\r\n");
            for (i, m) in self.listing.iter().enumerate() {
                if !self.deleted[i] {
                    out.push_str(&line(i, m));
                    out.push_str("\r\n");
                }
            }
            out.push_str(".\r\n");
            return Action::Reply(out);
        }
        match self.message(args.first().copied()) {
            Ok(i) => Action::Reply(ok(&line(i, &self.listing[i]))),
            Err(why) => self.error(why),
        }
    }

    fn auth_plain_response(&mut self, response: &str) -> Action {
        self.state = State::Authorization { user: None };
        if response == "*" {
            return self.error("[AUTH] authentication cancelled");
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(response) else {
            return self.error("[AUTH] not base64");
        };
        // authzid NUL authcid NUL password
        let mut parts = decoded.splitn(3, |&b| b == 0);
        let (Some(authzid), Some(authcid), Some(password)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return self.error("[AUTH] not a PLAIN response");
        };
        if !authzid.is_empty() && authzid != authcid {
            return self.error("[AUTH] acting for another user is not allowed");
        }
        let login = String::from_utf8_lossy(authcid).into_owned();
        Action::Authenticate { login, password: password.to_vec() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(action: Action) -> String {
        match action {
            Action::Reply(r) | Action::Close(r) | Action::StartTls(r) => r,
            other => panic!("not a reply: {other:?}"),
        }
    }

    fn logged_in() -> Session {
        let mut s = Session::new(true, true);
        let action = s.command(b"USER ann@example.org");
        assert!(reply(action).starts_with("+OK"));
        assert_eq!(
            s.command(b"PASS secret words"),
            Action::Authenticate {
                login: "ann@example.org".into(),
                password: b"secret words".to_vec()
            }
        );
        let listing = vec![
            Listed { uid: "1700000001.M1P1Q1.h,S=10".into(), size: 12 },
            Listed { uid: "1700000002.M1P1Q2.h,S=20".into(), size: 23 },
        ];
        assert!(reply(s.logged_in(listing)).starts_with("+OK logged in; 2 messages (35 octets)"));
        s
    }

    #[test]
    fn plaintext_logins_wait_for_tls() {
        let mut s = Session::new(false, true);
        assert!(s.greeting().starts_with("+OK"));
        let capa = reply(s.command(b"CAPA"));
        assert!(
            capa.contains("STLS") && !capa.contains("USER") && !capa.contains("SASL"),
            "{capa}"
        );
        assert!(reply(s.command(b"USER ann")).starts_with("-ERR [AUTH] log in over TLS"));
        assert!(reply(s.command(b"AUTH PLAIN AGFubgBzZWNyZXQ=")).starts_with("-ERR [AUTH]"));
        assert!(reply(s.command(b"STAT")).starts_with("-ERR log in first"));
        assert_eq!(s.command(b"STLS"), Action::StartTls("+OK begin TLS\r\n".into()));
        s.tls_started();
        let capa = reply(s.command(b"capa"));
        assert!(
            capa.contains("USER") && capa.contains("SASL PLAIN") && !capa.contains("STLS"),
            "{capa}"
        );
        assert!(reply(s.command(b"STLS")).starts_with("-ERR"));
        let no_tls = Session::new(false, false).capa();
        assert!(!no_tls.contains("STLS"));
    }

    #[test]
    fn auth_plain_with_and_without_initial_response() {
        let mut s = Session::new(true, true);
        // "\0ann@example.org\0pw"
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"\0ann@example.org\0pw");
        assert_eq!(
            s.command(format!("AUTH PLAIN {b64}").as_bytes()),
            Action::Authenticate { login: "ann@example.org".into(), password: b"pw".to_vec() }
        );
        assert_eq!(reply(s.command(b"AUTH PLAIN")), "+ \r\n");
        assert!(matches!(s.command(b64.as_bytes()), Action::Authenticate { .. }));
        assert_eq!(reply(s.command(b"AUTH PLAIN")), "+ \r\n");
        assert!(reply(s.command(b"*")).contains("cancelled"));
        let other = base64::engine::general_purpose::STANDARD.encode(b"bob\0ann\0pw");
        assert!(
            reply(s.command(format!("AUTH PLAIN {other}").as_bytes())).contains("another user")
        );
        assert!(reply(s.command(b"AUTH CRAM-MD5")).contains("only PLAIN"));
    }

    #[test]
    fn failed_logins_close_after_three() {
        let mut s = Session::new(true, true);
        for n in 1..=3 {
            let action = s.login_failed(err("[AUTH] invalid login"), true);
            if n < 3 {
                assert!(matches!(action, Action::Reply(_)));
            } else {
                assert!(matches!(action, Action::Close(_)));
            }
        }
    }

    #[test]
    fn transaction_list_uidl_retr_top_dele_rset_quit() {
        let mut s = logged_in();
        assert_eq!(reply(s.command(b"STAT")), "+OK 2 35\r\n");
        assert_eq!(reply(s.command(b"LIST")), "+OK listing follows\r\n1 12\r\n2 23\r\n.\r\n");
        assert_eq!(reply(s.command(b"LIST 2")), "+OK 2 23\r\n");
        assert_eq!(reply(s.command(b"UIDL 1")), "+OK 1 1700000001.M1P1Q1.h,S=10\r\n");
        assert!(reply(s.command(b"LIST 3")).starts_with("-ERR no such message"));
        assert!(reply(s.command(b"RETR 0")).starts_with("-ERR"));
        assert!(reply(s.command(b"RETR x")).starts_with("-ERR"));
        assert_eq!(s.command(b"RETR 1"), Action::Retrieve { index: 0, top: None });
        assert_eq!(s.command(b"TOP 2 5"), Action::Retrieve { index: 1, top: Some(5) });
        assert!(reply(s.command(b"TOP 2")).starts_with("-ERR"));
        assert!(reply(s.command(b"DELE 2")).starts_with("+OK"));
        assert!(reply(s.command(b"DELE 2")).contains("already deleted"));
        assert_eq!(reply(s.command(b"STAT")), "+OK 1 12\r\n");
        assert_eq!(
            reply(s.command(b"UIDL")),
            "+OK listing follows\r\n1 1700000001.M1P1Q1.h,S=10\r\n.\r\n"
        );
        assert!(reply(s.command(b"RSET")).starts_with("+OK"));
        assert_eq!(reply(s.command(b"STAT")), "+OK 2 35\r\n");
        assert!(reply(s.command(b"DELE 1")).starts_with("+OK"));
        assert!(reply(s.command(b"USER x")).contains("already logged in"));
        assert_eq!(s.command(b"QUIT"), Action::Update { deleted: vec![0], retrieved: vec![] });
        assert!(reply(s.updated(Ok(1))).starts_with("+OK bye; 1 messages deleted"));
        assert!(matches!(s.command(b"STAT"), Action::Close(_)));
    }

    #[test]
    fn errors_are_bounded() {
        let mut s = Session::new(true, true);
        for _ in 0..MAX_ERRORS - 1 {
            assert!(matches!(s.command(b"BOGUS"), Action::Reply(_)));
        }
        assert!(matches!(s.command(b"BOGUS"), Action::Close(_)));
        assert!(matches!(Session::new(true, true).command(&[0xff, 0xfe]), Action::Reply(_)));
    }
}
