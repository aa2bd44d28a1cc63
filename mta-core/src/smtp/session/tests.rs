//! Transcript tests: each reads like the protocol, `t.cmd("RCPT TO:<x@y>", "550 5.1.1")`.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::names::RemoteAddress;

struct Fake;

impl Backend for Fake {
    fn check_recipient(&self, address: &str, relay: bool, sender: &str) -> RcptCheck {
        if sender == "spammer@spam.example" && address == "alice@example.org" {
            return RcptCheck::Refused("the domain's policy blocks spam.example".into());
        }
        match address {
            "alice@example.org" | "Alice+tag@example.org" => {
                RcptCheck::Accept(vec![Destination::Mailbox(
                    Address::parse("alice@example.org").expect("a"),
                )])
            }
            "full@example.org" => RcptCheck::OverQuota,
            "broken@example.org" => RcptCheck::TempFail("disk".into()),
            a if a.ends_with("@example.org") => RcptCheck::Unknown,
            a if relay => RcptCheck::Accept(vec![Destination::Remote(
                RemoteAddress::parse(a).expect("remote"),
            )]),
            _ => RcptCheck::RelayDenied,
        }
    }
}

struct T {
    s: Session,
}

fn config() -> SmtpConfig {
    SmtpConfig {
        hostname: "mx.test".into(),
        max_recipients: 3,
        max_message_size: 1000,
        ..SmtpConfig::default()
    }
}

impl T {
    fn new(port: Port) -> T {
        T { s: Session::new(config(), port, IpAddr::V4(Ipv4Addr::LOCALHOST), true) }
    }

    /// Sends a line; the reply must start with `expect`. Returns the action.
    fn cmd(&mut self, line: &str, expect: &str) -> Action {
        let action = self.s.command(line.as_bytes(), &Fake);
        let text = match &action {
            Action::Reply(r) | Action::Close(r) | Action::StartTls(r) | Action::Data(r) => {
                r.to_string()
            }
            Action::Authenticate { login, .. } => format!("AUTHENTICATE {login}"),
        };
        assert!(text.starts_with(expect), "{line:?}: expected {expect:?}, got {text:?}");
        action
    }

    fn reply(&mut self, line: &str) -> String {
        match self.s.command(line.as_bytes(), &Fake) {
            Action::Reply(r) | Action::Close(r) | Action::StartTls(r) | Action::Data(r) => {
                r.to_string()
            }
            other => format!("{other:?}"),
        }
    }

    fn submission_authenticated() -> T {
        let mut t = T::new(Port::Submission);
        t.cmd("EHLO client.test", "250");
        t.cmd("STARTTLS", "220 2.0.0");
        t.s.tls_started();
        t.cmd("EHLO client.test", "250");
        let Action::Authenticate { login, password } =
            t.cmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==", "AUTHENTICATE")
        else {
            unreachable!()
        };
        assert_eq!((login.as_str(), password.as_slice()), ("alice@example.org", &b"secret"[..]));
        let Action::Reply(r) =
            t.s.auth_done(Login::Granted(Address::parse("alice@example.org").expect("a")))
        else {
            panic!("no reply")
        };
        assert_eq!(r.to_string(), "235 2.7.0 authenticated\r\n");
        t
    }
}

#[test]
fn greeting_and_ehlo_advertise_what_each_port_offers() {
    let mut t = T::new(Port::Mx);
    assert_eq!(t.s.greeting().to_string(), "220 mx.test ESMTP Mailroom\r\n");
    let ehlo = t.reply("EHLO client.test");
    for ext in [
        "250-PIPELINING",
        "250-SIZE 1000",
        "250-8BITMIME",
        "250-SMTPUTF8",
        "250-ENHANCEDSTATUSCODES",
        "250 STARTTLS",
    ] {
        assert!(ehlo.contains(ext), "{ext} missing from {ehlo}");
    }
    assert!(!ehlo.contains("AUTH"), "AUTH offered on the MX port: {ehlo}");
    t.cmd("HELO client.test", "250 mx.test greets client.test");
    t.cmd("EHLO", "501 5.5.4");

    let mut t = T::new(Port::Submission);
    assert!(!t.reply("EHLO c").contains("AUTH"), "AUTH offered before TLS");
    t.cmd("STARTTLS", "220 2.0.0");
    t.s.tls_started();
    t.cmd("MAIL FROM:<a@example.org>", "503 5.5.1 say EHLO first");
    let ehlo = t.reply("EHLO c");
    assert!(ehlo.contains("AUTH PLAIN LOGIN") && !ehlo.contains("STARTTLS"), "{ehlo}");
    t.cmd("STARTTLS", "503 5.5.1");

    let mut t = T::new(Port::Submissions);
    assert!(t.reply("EHLO c").contains("AUTH PLAIN LOGIN"));
}

#[test]
fn a_whole_transaction_on_the_mx_port() {
    let mut t = T::new(Port::Mx);
    t.cmd("MAIL FROM:<x@remote.net>", "503 5.5.1 say EHLO first");
    t.cmd("EHLO client.test", "250");
    t.cmd("RCPT TO:<alice@example.org>", "503 5.5.1 need MAIL");
    t.cmd("DATA", "503 5.5.1 need MAIL");
    t.cmd("MAIL FROM:<x@remote.net> SIZE=100", "250 2.1.0");
    t.cmd("MAIL FROM:<x@remote.net>", "503 5.5.1 nested");
    t.cmd("DATA", "554 5.5.1 no valid recipients");
    t.cmd("RCPT TO:<nobody@example.org>", "550 5.1.1");
    t.cmd("RCPT TO:<someone@elsewhere.net>", "550 5.7.1 relaying denied");
    t.cmd("RCPT TO:<full@example.org>", "452 4.2.2");
    t.cmd("RCPT TO:<broken@example.org>", "451 4.3.0");
    t.cmd("RCPT TO:<Alice+tag@example.org>", "250 2.1.5");
    t.cmd("DATA", "354 end data with <CR><LF>.<CR><LF>");
    let env = t.s.envelope(7);
    assert_eq!((env.sender.as_str(), env.received, env.recipients.len()), ("x@remote.net", 7, 1));
    assert_eq!(env.recipients[0].original, "Alice+tag@example.org");
    let received = t.s.received_header("ID1", "Fri, 4 Dec 2026 05:00:00 +0000");
    assert_eq!(
        received,
        "Received: from client.test ([127.0.0.1])\n\tby mx.test (Mailroom) with ESMTP id ID1\n\tfor <Alice+tag@example.org>;\n\tFri, 4 Dec 2026 05:00:00 +0000\n"
    );
    assert_eq!(
        t.s.data_done(DataOutcome::Queued("ID1".into())).to_string(),
        "250 2.0.0 queued as ID1\r\n"
    );
    // The transaction is over: a new one starts clean.
    t.cmd("RCPT TO:<alice@example.org>", "503 5.5.1");
    t.cmd("MAIL FROM:<>", "250 2.1.0");
    t.cmd("RSET", "250 2.0.0");
    t.cmd("RCPT TO:<alice@example.org>", "503 5.5.1");
    t.cmd("NOOP", "250 2.0.0");
    t.cmd("VRFY alice", "252 2.5.0");
    t.cmd("EXPN list", "502 5.5.1");
    t.cmd("BDAT 10 LAST", "502 5.5.1");
    t.cmd("HELP", "214");
    assert!(matches!(t.cmd("QUIT", "221 2.0.0"), Action::Close(_)));
}

#[test]
fn every_data_outcome_has_its_code() {
    let mut t = T::new(Port::Mx);
    t.cmd("EHLO c", "250");
    for (outcome, expect) in [
        (DataOutcome::TooBig, "552 5.3.4"),
        (DataOutcome::TooManyHops(101), "554 5.4.6"),
        (DataOutcome::DiskFull, "452 4.3.1"),
        (DataOutcome::TempFail("x".into()), "451 4.3.0"),
    ] {
        t.cmd("MAIL FROM:<x@remote.net>", "250");
        t.cmd("RCPT TO:<alice@example.org>", "250");
        t.cmd("DATA", "354");
        assert!(t.s.data_done(outcome).to_string().starts_with(expect), "{expect}");
    }
    t.cmd("MAIL FROM:<x@remote.net>", "250");
    assert!(t.s.bare_newline().to_string().starts_with("554 5.6.11"));
}

#[test]
fn bounds_answer_with_the_right_codes() {
    let mut t = T::new(Port::Mx);
    t.cmd("EHLO c", "250");
    t.cmd("MAIL FROM:<x@remote.net> SIZE=1001", "552 5.3.4");
    t.cmd("MAIL FROM:<x@remote.net>", "250");
    for _ in 0..3 {
        t.cmd("RCPT TO:<alice@example.org>", "250");
    }
    t.cmd("RCPT TO:<alice@example.org>", "452 4.5.3 too many recipients");
    assert!(matches!(t.s.line_too_long(), Action::Reply(r) if r.code == 500));
    t.cmd("NO\0OP", "500 5.5.2 NUL");
    t.cmd("MAIL FROM:<a b c>", "501");
    t.cmd("MAIL FROM:<x@remote.net> FROBNICATE=1", "555 5.5.4");
    t.cmd("XYZZY", "500 5.5.1 unknown command");
    t.cmd("MAIL FROM:<\"a%b\"@[1.2.3.4]>", "501 5.1.7");

    let mut t = T::new(Port::Mx);
    for _ in 0..MAX_ERRORS {
        t.cmd("XYZZY", "500");
    }
    assert!(matches!(t.cmd("XYZZY", "421 4.7.0"), Action::Close(_)));

    let mut t = T {
        s: Session::new(
            SmtpConfig { max_commands: 5, ..config() },
            Port::Mx,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            false,
        ),
    };
    for _ in 0..5 {
        t.cmd("NOOP", "250");
    }
    assert!(matches!(t.cmd("NOOP", "421 4.7.0"), Action::Close(_)));
    let mut t = T { s: Session::new(config(), Port::Mx, IpAddr::V4(Ipv4Addr::LOCALHOST), false) };
    t.cmd("STARTTLS", "454 4.7.0");
}

#[test]
fn submission_needs_tls_then_auth_and_then_relays() {
    let mut t = T::new(Port::Submission);
    t.cmd("EHLO c", "250");
    t.cmd("AUTH PLAIN AGFAYgBj", "538 5.7.11");
    t.cmd("MAIL FROM:<alice@example.org>", "530 5.7.0 must issue STARTTLS");
    t.cmd("STARTTLS", "220");
    t.s.tls_started();
    t.cmd("EHLO c", "250");
    t.cmd("MAIL FROM:<alice@example.org>", "530 5.7.0 authentication required");

    let mut t = T::submission_authenticated();
    t.cmd("AUTH PLAIN AGFAYgBj", "503 5.5.1 already");
    t.cmd("MAIL FROM:<alice@example.org>", "250");
    t.cmd("RCPT TO:<someone@elsewhere.net>", "250 2.1.5");
    t.cmd("DATA", "354");
    assert!(t.s.received_header("I", "D").contains("with ESMTPSA id I"));
}

#[test]
fn auth_exchanges_and_failures() {
    let mut t = T::new(Port::Submissions);
    t.cmd("EHLO c", "250");
    // LOGIN, step by step.
    t.cmd("AUTH LOGIN", "334 VXNlcm5hbWU6");
    t.cmd("YWxpY2VAZXhhbXBsZS5vcmc=", "334 UGFzc3dvcmQ6");
    assert!(
        matches!(t.cmd("c2VjcmV0", "AUTHENTICATE alice@example.org"), Action::Authenticate { password, .. } if password == b"secret")
    );
    assert!(matches!(t.s.auth_done(Login::Refused), Action::Reply(r) if r.code == 535));
    // PLAIN with a challenge; then a cancel; then garbage.
    t.cmd("AUTH PLAIN", "334");
    t.cmd("AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==", "AUTHENTICATE alice@example.org");
    assert!(
        matches!(t.s.auth_done(Login::Disabled(Address::parse("alice@example.org").expect("a"))), Action::Reply(r) if r.to_string().contains("disabled"))
    );
    t.cmd("AUTH LOGIN", "334");
    t.cmd("*", "501 5.7.0 authentication cancelled");
    t.cmd("AUTH PLAIN !!!notbase64", "501 5.5.2");
    t.cmd("AUTH PLAIN Ym9iAGFsaWNlAHNlY3JldA==", "535 5.7.8 authorization identity");
    t.cmd("AUTH CRAM-MD5", "504 5.5.4");
    // The third refused password closes the session.
    t.cmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==", "AUTHENTICATE");
    assert!(matches!(t.s.auth_done(Login::Refused), Action::Close(r) if r.code == 421));
}

#[test]
fn starttls_starts_the_session_over() {
    let mut t = T::new(Port::Mx);
    t.cmd("EHLO c", "250");
    t.cmd("MAIL FROM:<x@remote.net>", "250");
    assert!(matches!(t.cmd("STARTTLS", "220 2.0.0"), Action::StartTls(_)));
    t.s.tls_started();
    assert!(t.s.is_tls());
    t.cmd("RCPT TO:<alice@example.org>", "503");
    t.cmd("MAIL FROM:<x@remote.net>", "503 5.5.1 say EHLO first");
    t.cmd("EHLO c", "250");
    t.cmd("MAIL FROM:<x@remote.net>", "250");
    t.cmd("RCPT TO:<alice@example.org>", "250");
    t.cmd("DATA", "354");
    assert!(t.s.received_header("I", "D").contains("with ESMTPS id I"));
}

#[test]
fn a_spam_policy_refusal_is_550_at_rcpt_and_others_go_on() {
    let mut t = T::new(Port::Mx);
    t.cmd("EHLO client.test", "250");
    t.cmd("MAIL FROM:<spammer@spam.example>", "250");
    t.cmd(
        "RCPT TO:<alice@example.org>",
        "550 5.7.1 refused by the recipient's spam policy: the domain's policy blocks spam.example",
    );
    t.cmd("DATA", "554");
    t.cmd("RSET", "250");
    t.cmd("MAIL FROM:<friend@ok.example>", "250");
    t.cmd("RCPT TO:<alice@example.org>", "250");
}
