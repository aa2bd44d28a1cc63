//! The command side of an SMTP session on arbitrary bytes: line framing, then every
//! line through the session state machine (on each port). Nothing panics, every reply
//! is a well-formed SMTP reply, and nothing is accepted for relaying without AUTH.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use mta_core::accounts::Destination;
use mta_core::names::Address;
use mta_core::smtp::SmtpConfig;
use mta_core::smtp::session::{Action, Backend, DataOutcome, Port, RcptCheck, Session};
use mta_core::conn::{Line, LineBuffer};
use mta_core::smtp::wire::MAX_LINE;

struct Local;

impl Backend for Local {
    fn check_recipient(&self, address: &str, relay: bool, _sender: &str) -> RcptCheck {
        assert!(!relay, "relaying allowed without AUTH");
        match Address::parse(address) {
            Ok(a) if a.domain.as_str() == "example.org" => RcptCheck::Accept(vec![Destination::Mailbox(a)]),
            Ok(_) => RcptCheck::RelayDenied,
            Err(_) => RcptCheck::Unknown,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for port in [Port::Mx, Port::Submission] {
        let config = SmtpConfig { hostname: "mx.test".into(), ..SmtpConfig::default() };
        let mut session = Session::new(config, port, IpAddr::V4(Ipv4Addr::LOCALHOST), true);
        let mut lines = LineBuffer::new(MAX_LINE);
        lines.push(data);
        while let Some(line) = lines.next_line() {
            let action = match line {
                Line::Complete(line) => session.command(&line, &Local),
                Line::TooLong => session.line_too_long(),
            };
            let reply = match action {
                Action::Reply(r) | Action::StartTls(r) => r,
                // The driver would receive the message now; say the disk was full.
                Action::Data(r) => {
                    let done = session.data_done(DataOutcome::DiskFull);
                    assert_eq!((r.code, done.code), (354, 452));
                    done
                }
                Action::Close(r) => {
                    assert!(r.code == 221 || r.code == 421);
                    break;
                }
                // No credentials are ever right here.
                Action::Authenticate { .. } => match session.auth_done(mta_core::accounts::Login::Refused) {
                    Action::Reply(r) | Action::Close(r) => r,
                    other => panic!("auth_done gave {other:?}"),
                },
            };
            assert!((200..600).contains(&reply.code));
            let wire = reply.to_wire();
            let code = reply.code.to_string();
            for line in wire.split_inclusive(|&b| b == b'\n') {
                assert!(line.starts_with(code.as_bytes()) && line.ends_with(b"\r\n"), "bad reply {wire:?}");
            }
            if session.authenticated().is_some() {
                panic!("authenticated without a password check");
            }
        }
    }
});
