//! The command side of a POP3 session on arbitrary bytes: line framing, then every line
//! through the session state machine, in the clear and over TLS, logged in or not.
//! Nothing panics, every reply is a `+OK`/`-ERR` (or a SASL `+ `), nothing authenticates
//! in the clear, and no message number outside the listing is ever asked for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mta_core::conn::{Line, LineBuffer};
use mta_core::pop3::session::{Action, Listed, Session};

fuzz_target!(|data: &[u8]| {
    for tls in [false, true] {
        let mut session = Session::new(tls, true);
        let mut lines = LineBuffer::new(2048);
        lines.push(data);
        let mut logged_in = false;
        while let Some(line) = lines.next_line() {
            let action = match line {
                Line::Complete(line) => session.command(&line),
                Line::TooLong => session.line_too_long(),
            };
            match action {
                Action::Reply(r) | Action::Close(r) | Action::StartTls(r) => {
                    assert!(r.starts_with("+OK") || r.starts_with("-ERR") || r == "+ \r\n", "{r:?}");
                    assert!(r.ends_with("\r\n"));
                }
                Action::Authenticate { .. } => {
                    assert!(session.is_tls(), "a login in the clear");
                    if !logged_in {
                        logged_in = true;
                        let listing = vec![Listed { uid: "a".into(), size: 10 }, Listed { uid: "b".into(), size: 20 }];
                        let _ = session.logged_in(listing);
                    }
                }
                Action::Retrieve { index, .. } => assert!(index < 2, "message {index} does not exist"),
                Action::Update { deleted, retrieved } => {
                    assert!(deleted.iter().chain(&retrieved).all(|&i| i < 2));
                    let _ = session.updated(Ok(deleted.len()));
                }
            }
        }
    }
});
