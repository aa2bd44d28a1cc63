//! The envelope block at the head of every queue file, and the per-recipient status file.
//!
//! ```text
//! mailroom-queue 1
//! from alice@example.org          (empty after "from " for the null sender <>)
//! received 1733300000
//! client 127.0.0.1 helo.example   (who handed it over; for Received and bounces)
//! to mailbox bob@example.org bob+x@example.org     (kind, destination, original RCPT)
//! to remote carol@example.net carol@example.net
//! end
//! <the message, LF line endings, Received: header first>
//! ```
//!
//! Text, so an operator can read a stuck message with `less`. Addresses are written with
//! `%XX` escapes for bytes that would break a line (space, controls, `%`).

use std::fmt::Write as _;

use serde::Serialize;

use crate::accounts::Destination;
use crate::names::{Address, RemoteAddress};

/// The first line of a queue file.
pub const MAGIC: &str = "mailroom-queue 1";
/// Most bytes an envelope block may take (2,048 recipients of 250 bytes fit).
pub const MAX_ENVELOPE: usize = 1 << 20;

/// A message's envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Envelope {
    /// The reverse path; empty for `<>` (bounces), which is never bounced to.
    pub sender: String,
    /// When it was accepted (Unix seconds).
    pub received: u64,
    /// The client's address and HELO name.
    pub client: String,
    /// One entry per destination, in order; its index is the recipient's number.
    pub recipients: Vec<Recipient>,
}

/// One destination of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// Where it goes.
    pub destination: Destination,
    /// The address given at RCPT (an alias, a tagged address), for bounces.
    pub original: String,
}

impl Envelope {
    /// The envelope block, ending with `end\n`.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(128 + 80 * self.recipients.len());
        let _ = writeln!(out, "{MAGIC}");
        let _ = writeln!(out, "from {}", escape(&self.sender));
        let _ = writeln!(out, "received {}", self.received);
        let _ = writeln!(out, "client {}", escape(&self.client));
        for r in &self.recipients {
            let (kind, dest) = match &r.destination {
                Destination::Mailbox(a) => ("mailbox", a.to_string()),
                Destination::Remote(a) => ("remote", a.to_string()),
            };
            let _ = writeln!(out, "to {kind} {} {}", escape(&dest), escape(&r.original));
        }
        out.push_str("end\n");
        out
    }

    /// Parses an envelope block from the start of `bytes`; returns it and the offset of
    /// the message. `None` if the block is torn, foreign or malformed.
    pub fn decode(bytes: &[u8]) -> Option<(Envelope, usize)> {
        let end = memchr_end(bytes)?;
        let text = std::str::from_utf8(&bytes[..end]).ok()?;
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let mut env = Envelope {
            sender: String::new(),
            received: 0,
            client: String::new(),
            recipients: Vec::new(),
        };
        for line in lines {
            let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "from" => env.sender = unescape(rest)?,
                "received" => env.received = rest.parse().ok()?,
                "client" => env.client = unescape(rest)?,
                "to" => {
                    let mut f = rest.split(' ');
                    let (kind, dest, original) =
                        (f.next()?, unescape(f.next()?)?, unescape(f.next()?)?);
                    let destination = match kind {
                        "mailbox" => Destination::Mailbox(Address::parse(&dest).ok()?),
                        "remote" => Destination::Remote(RemoteAddress::parse(&dest).ok()?),
                        _ => return None,
                    };
                    env.recipients.push(Recipient { destination, original });
                }
                "end" => return Some((env, end)),
                _ => return None,
            }
        }
        None
    }
}

/// The offset just past the `end\n` line.
fn memchr_end(bytes: &[u8]) -> Option<usize> {
    let limit = bytes.len().min(MAX_ENVELOPE);
    let head = &bytes[..limit];
    if head.starts_with(b"end\n") {
        return Some(4);
    }
    head.windows(5).position(|w| w == b"\nend\n").map(|p| p + 5)
}

fn escape(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    for b in s.bytes() {
        if b <= b' ' || b == b'%' || b == 0x7f {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
    // Only ASCII was replaced, so the UTF-8 of the input is intact.
    String::from_utf8(out).unwrap_or_default()
}

fn unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What became of one recipient so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum RecipientStatus {
    /// Not tried yet.
    Pending,
    /// In the mailbox (local) or accepted by the next hop (remote).
    Delivered {
        /// When.
        at: u64,
    },
    /// Will not be delivered; the sender is told (unless the sender is `<>`).
    Failed {
        /// When.
        at: u64,
        /// Why, with its SMTP code (e.g. `5.1.1 no such user`).
        reason: String,
    },
    /// Failed for now; tried again at `next`.
    Deferred {
        /// Attempts made.
        attempts: u32,
        /// Next attempt (Unix seconds).
        next: u64,
        /// Why the last attempt failed.
        reason: String,
    },
}

impl RecipientStatus {
    /// In words, for people (the CLI and the admin pages); `now` in Unix seconds.
    pub fn describe(&self, now: u64) -> String {
        match self {
            RecipientStatus::Pending => "pending".to_string(),
            RecipientStatus::Delivered { .. } => "delivered".to_string(),
            RecipientStatus::Failed { reason, .. } => format!("failed: {reason}"),
            RecipientStatus::Deferred { attempts, next, reason } => {
                let wait = next.saturating_sub(now);
                format!("deferred ({attempts} attempts, next in {wait} s): {reason}")
            }
        }
    }

    /// Delivered or failed: nothing more to do.
    pub fn is_final(&self) -> bool {
        matches!(self, RecipientStatus::Delivered { .. } | RecipientStatus::Failed { .. })
    }
}

/// Encodes the status file: one line per recipient that is not pending.
pub fn encode_status(statuses: &[RecipientStatus]) -> String {
    let mut out = String::from("mailroom-status 1\n");
    for (n, s) in statuses.iter().enumerate() {
        let _ = match s {
            RecipientStatus::Pending => Ok(()),
            RecipientStatus::Delivered { at } => writeln!(out, "{n} delivered {at}"),
            RecipientStatus::Failed { at, reason } => {
                writeln!(out, "{n} failed {at} {}", escape(reason))
            }
            RecipientStatus::Deferred { attempts, next, reason } => {
                writeln!(out, "{n} deferred {attempts} {next} {}", escape(reason))
            }
        };
    }
    out
}

/// Decodes a status file into one status per recipient (`count` of them). A torn or
/// foreign file counts as "all pending": at worst a delivery is repeated.
pub fn decode_status(text: &str, count: usize) -> Vec<RecipientStatus> {
    let mut out = vec![RecipientStatus::Pending; count];
    let mut lines = text.lines();
    if lines.next() != Some("mailroom-status 1") {
        return out;
    }
    for line in lines {
        let f: Vec<&str> = line.splitn(5, ' ').collect();
        let Some(n) = f.first().and_then(|n| n.parse::<usize>().ok()).filter(|&n| n < count) else {
            continue;
        };
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
        let text = |i: usize| f.get(i).and_then(|v| unescape(v)).unwrap_or_default();
        let status = match f.get(1).copied() {
            Some("delivered") => num(2).map(|at| RecipientStatus::Delivered { at }),
            Some("failed") => num(2).map(|at| RecipientStatus::Failed { at, reason: text(3) }),
            Some("deferred") => match (num(2), num(3)) {
                (Some(a), Some(next)) => Some(RecipientStatus::Deferred {
                    attempts: a as u32,
                    next,
                    reason: f.get(4).and_then(|v| unescape(v)).unwrap_or_default(),
                }),
                _ => None,
            },
            _ => None,
        };
        if let Some(status) = status {
            out[n] = status;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_and_statuses_round_trip() {
        let env = Envelope {
            sender: String::new(),
            received: 1_733_300_000,
            client: "127.0.0.1 helo name%".into(),
            recipients: vec![
                Recipient {
                    destination: Destination::Mailbox(
                        Address::parse("bob@example.org").expect("a"),
                    ),
                    original: "Bob+x y@example.org".into(),
                },
                Recipient {
                    destination: Destination::Remote(
                        RemoteAddress::parse("jöhn@example.net").expect("a"),
                    ),
                    original: "team@example.org".into(),
                },
            ],
        };
        let mut file = env.encode().into_bytes();
        let offset = file.len();
        file.extend_from_slice(b"Subject: hi\n\nend\n");
        assert_eq!(Envelope::decode(&file), Some((env.clone(), offset)));
        assert_eq!(Envelope::decode(&file[..offset - 1]), None, "a torn envelope parsed");
        assert_eq!(Envelope::decode(b"something else\nend\n"), None);

        let statuses = vec![
            RecipientStatus::Delivered { at: 5 },
            RecipientStatus::Deferred { attempts: 2, next: 99, reason: "4.2.2 over quota".into() },
        ];
        assert_eq!(decode_status(&encode_status(&statuses), 2), statuses);
        let failed = vec![
            RecipientStatus::Pending,
            RecipientStatus::Failed { at: 7, reason: "5.4.6 loop".into() },
        ];
        assert_eq!(decode_status(&encode_status(&failed), 2), failed);
        assert_eq!(decode_status("garbage", 2), vec![RecipientStatus::Pending; 2]);
    }
}
