//! The vacation autoreply (RFC 3834), sent by local delivery for a user whose
//! `prefs.toml` has it on: at most once per sender per seven days, from the null sender
//! (so it cannot loop), and never to a bounce, a mailing list, automatic mail, or mail
//! that did not name the user in To or Cc (a Bcc from a list).
//!
//! Who was answered when is a marker file per sender in `<user>/vacation/`, named by
//! the SHA-256 of the address and created exclusively: two deliveries at once (or two
//! hosts) cannot both answer the same sender. The marker is made before the reply is
//! queued, so a crash between the two loses a reply rather than sending two.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address as BuilderAddress;
use mail_builder::headers::raw::Raw;
use mail_parser::{Message, MessageParser};

use crate::accounts::prefs::VACATION_EVERY_DAYS;
use crate::accounts::{Destination, Directory, Resolution};
use crate::names::{Address, RemoteAddress};
use crate::queue::{Entry, Envelope, Queue, Recipient};

/// Header bytes read to decide (the header block of any sane message fits).
const MAX_HEADER: u64 = 64 * 1024;
/// Markers kept per user; beyond, expired ones are swept.
const SWEEP_AT: usize = 1000;

/// Queues the autoreplies due for the mailboxes that just received `entry`
/// (`delivered`: each mailbox with the address it was sent to). Returns the queue ids.
pub fn respond(
    directory: &Directory,
    queue: &Queue,
    entry: &Entry,
    delivered: &[(Address, String)],
    now: u64,
) -> Vec<String> {
    let sender = entry.envelope.sender.trim();
    if sender.is_empty() || delivered.is_empty() || is_automatic_sender(sender) {
        return Vec::new();
    }
    let on_vacation: Vec<_> = delivered
        .iter()
        .filter_map(|(mailbox, original)| {
            let prefs = directory.prefs(mailbox).ok()?;
            prefs.vacation.active(now).then_some((mailbox, original, prefs))
        })
        .collect();
    if on_vacation.is_empty() {
        return Vec::new();
    }
    let header = match read_header(queue, entry) {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(id = %entry.id, "vacation: cannot read the message: {e}");
            return Vec::new();
        }
    };
    let Some(message) = MessageParser::new().parse_headers(&header[..]) else { return Vec::new() };
    if is_automatic(&message) {
        return Vec::new();
    }
    let mut queued = Vec::new();
    for (mailbox, original, prefs) in on_vacation {
        if !addressed_to(&message, &[&mailbox.to_string(), original]) {
            continue;
        }
        let markers = directory.data().user(&mailbox.domain, &mailbox.local).join("vacation");
        match claim(&markers, sender, now) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(user = %mailbox, "vacation: cannot record the reply: {e}");
                continue;
            }
        }
        match enqueue(directory, queue, mailbox, &prefs, sender, &message, now) {
            Ok(Some(id)) => {
                tracing::info!(user = %mailbox, to = sender, id = %id, "vacation: reply queued");
                queued.push(id);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(user = %mailbox, "vacation: cannot queue the reply: {e}"),
        }
    }
    queued
}

fn read_header(queue: &Queue, entry: &Entry) -> Result<Vec<u8>, crate::queue::Error> {
    let mut bytes = Vec::new();
    let file = queue.open_message(entry)?;
    let _ = file.take(MAX_HEADER).read_to_end(&mut bytes);
    // Up to the end of the header block.
    if let Some(end) = bytes.windows(2).position(|w| w == b"\n\n") {
        bytes.truncate(end + 2);
    }
    Ok(bytes)
}

/// Senders that are programs: bounces, list software, no-reply addresses.
fn is_automatic_sender(sender: &str) -> bool {
    let local = sender.rsplit_once('@').map_or(sender, |(l, _)| l).to_ascii_lowercase();
    [
        "mailer-daemon",
        "postmaster",
        "listserv",
        "majordomo",
        "noreply",
        "no-reply",
        "donotreply",
        "do-not-reply",
    ]
    .contains(&local.as_str())
        || local.starts_with("owner-")
        || local.ends_with("-request")
        || local.ends_with("-owner")
        || local.starts_with("bounce")
}

/// Mail that says it is automatic or from a list (RFC 3834 §2, RFC 2369, RFC 2919).
fn is_automatic(message: &Message<'_>) -> bool {
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    if header("Auto-Submitted").is_some_and(|v| !v.starts_with("no")) {
        return true;
    }
    if header("Precedence")
        .is_some_and(|v| ["bulk", "list", "junk"].iter().any(|p| v.starts_with(p)))
    {
        return true;
    }
    if ["List-Id", "List-Unsubscribe", "List-Post", "List-Help", "Feedback-ID"]
        .iter()
        .any(|h| header(h).is_some())
    {
        return true;
    }
    header("X-Auto-Response-Suppress").is_some_and(|v| v.contains("all") || v.contains("oof"))
}

/// Whether To or Cc names one of `addresses`.
fn addressed_to(message: &Message<'_>, addresses: &[&str]) -> bool {
    let named = |list: Option<&mail_parser::Address<'_>>| {
        list.into_iter()
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address())
            .any(|a| addresses.iter().any(|mine| mine.eq_ignore_ascii_case(a)))
    };
    named(message.to()) || named(message.cc())
}

fn marker(dir: &Path, sender: &str) -> PathBuf {
    let digest =
        ring::digest::digest(&ring::digest::SHA256, sender.to_ascii_lowercase().as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    dir.join(hex)
}

/// Takes the right to answer `sender` now: `false` if they were answered in the last
/// seven days.
fn claim(dir: &Path, sender: &str, now: u64) -> io::Result<bool> {
    fs::create_dir_all(dir)?;
    let path = marker(dir, sender);
    let every = Duration::from_secs(VACATION_EVERY_DAYS * 86_400);
    let now_time = SystemTime::UNIX_EPOCH + Duration::from_secs(now);
    for _ in 0..2 {
        match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => {
                // The marker's time is the reply's time (the test clock may differ
                // from the file system's).
                file.set_modified(now_time)?;
                if fs::read_dir(dir).map(|d| d.count()).unwrap_or(0) > SWEEP_AT {
                    sweep(dir, now_time, every);
                }
                return Ok(true);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let answered = fs::metadata(&path)?.modified()?;
                if now_time.duration_since(answered).unwrap_or_default() < every {
                    return Ok(false);
                }
                // Expired: remove it and race for a new one (one of two racers wins).
                let _ = fs::remove_file(&path);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

fn sweep(dir: &Path, now: SystemTime, every: Duration) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).unwrap_or_default() >= every);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn enqueue(
    directory: &Directory,
    queue: &Queue,
    mailbox: &Address,
    prefs: &crate::accounts::Prefs,
    sender: &str,
    original: &Message<'_>,
    now: u64,
) -> Result<Option<String>, crate::queue::Error> {
    let destinations = match directory.resolve(sender) {
        Ok(Resolution::Found(list)) => list,
        Ok(Resolution::NotLocal) => match RemoteAddress::parse_sender(sender) {
            Ok(remote) => vec![Destination::Remote(remote)],
            Err(_) => return Ok(None),
        },
        Ok(Resolution::Unknown | Resolution::Discard) | Err(_) => return Ok(None),
    };
    let vacation = &prefs.vacation;
    let subject = if vacation.subject.trim().is_empty() {
        format!("Auto: {}", original.subject().unwrap_or("your message").trim())
    } else {
        vacation.subject.trim().to_string()
    };
    let name = Some(prefs.display_name.trim()).filter(|n| !n.is_empty());
    let mut builder = MessageBuilder::new()
        .from(BuilderAddress::new_address(name, mailbox.to_string()))
        .to(BuilderAddress::new_address(None::<&str>, sender.to_string()))
        .subject(subject)
        .date(now as i64)
        .message_id(format!("vacation.{now}.{}@{}", entry_token(sender, now), mailbox.domain))
        .header("Auto-Submitted", Raw::new("auto-replied (vacation)"))
        .text_body(vacation.body.replace("\r\n", "\n"));
    if let Some(id) = original.message_id() {
        builder = builder.in_reply_to(id.to_string()).references(id.to_string());
    }
    let bytes = builder.write_to_vec().map_err(|e| crate::queue::Error::Io {
        op: "build",
        path: PathBuf::from("vacation reply"),
        source: e,
    })?;
    let envelope = Envelope {
        // RFC 3834 §3.3: the null reverse path, so nothing answers the answer.
        sender: String::new(),
        received: now,
        client: format!("localhost vacation {mailbox}"),
        recipients: destinations
            .into_iter()
            .map(|destination| Recipient { destination, original: sender.to_string() })
            .collect(),
    };
    let mut incoming = queue.begin(&envelope)?;
    let lf: Vec<u8> = bytes.into_iter().filter(|&b| b != b'\r').collect();
    incoming.write(&lf)?;
    incoming.commit().map(Some)
}

/// A short token that makes the reply's Message-ID unique per sender and time.
fn entry_token(sender: &str, now: u64) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("{sender}\0{now}").as_bytes());
    digest.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(text: &str) -> Vec<u8> {
        text.replace('\n', "\r\n").into_bytes()
    }

    #[test]
    fn lists_bounces_and_robots_get_no_reply() {
        for sender in [
            "MAILER-DAEMON@x.example",
            "owner-list@x.example",
            "list-request@x.example",
            "noreply@x.example",
            "bounces+123@x.example",
        ] {
            assert!(is_automatic_sender(sender), "{sender}");
        }
        assert!(!is_automatic_sender("ann@x.example"));
        for extra in [
            "Auto-Submitted: auto-generated",
            "Precedence: bulk",
            "Precedence: list",
            "List-Id: <news.x.example>",
            "List-Unsubscribe: <mailto:u@x.example>",
            "X-Auto-Response-Suppress: OOF, AutoReply",
        ] {
            let bytes = headers(&format!("From: a@x.example\nTo: me@example.org\n{extra}\n\n"));
            let m = MessageParser::new().parse_headers(&bytes[..]).expect("parses");
            assert!(is_automatic(&m), "{extra}");
        }
        let bytes = headers("From: a@x.example\nTo: Me <ME@example.org>\nAuto-Submitted: no\n\n");
        let m = MessageParser::new().parse_headers(&bytes[..]).expect("parses");
        assert!(!is_automatic(&m));
        assert!(addressed_to(&m, &["me@example.org"]));
        assert!(!addressed_to(&m, &["other@example.org"]));
    }

    #[test]
    fn one_reply_per_sender_per_week() {
        let dir = tempfile::tempdir().expect("tempdir");
        let day = 86_400;
        let t0 = 1_796_000_000;
        assert!(claim(dir.path(), "ann@x.example", t0).expect("claim"));
        assert!(!claim(dir.path(), "ANN@x.example", t0 + 60).expect("claim"), "twice in a minute");
        assert!(!claim(dir.path(), "ann@x.example", t0 + 6 * day).expect("claim"));
        assert!(claim(dir.path(), "bob@x.example", t0 + 60).expect("claim"), "another sender");
        assert!(claim(dir.path(), "ann@x.example", t0 + 7 * day).expect("claim"), "a week later");
    }
}
