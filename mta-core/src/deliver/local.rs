//! Local delivery: every pending mailbox recipient of a queued message, through the
//! `maildir` crate, the message written once and hard-linked into each mailbox.
//!
//! - **Delivered-To**: a copy for one mailbox starts with `Delivered-To: <mailbox>`.
//!   Several mailboxes share one file (the hard-link fan-out), so a shared copy carries
//!   no per-mailbox line (which would also tell each recipient who else got it).
//! - **Loops**: a message that already has `Delivered-To: <this mailbox>` has been here
//!   before (an alias forwarding back to itself through another system): that recipient
//!   fails permanently and the sender gets a bounce.
//! - **Temporary failures** (quota, full disk) are retried with backoff until the queue
//!   lifetime ends.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};

use maildir::Maildir;

use crate::accounts::{Destination, Directory};
use crate::names::Address;
use crate::policy::{self, Decision, SpamAction};
use crate::queue::{self, Entry, Queue, RecipientStatus};

/// The header block read for loop detection is at most this long.
const MAX_HEADER_SCAN: u64 = 256 * 1024;

/// Delivers every due mailbox recipient of `entry`, updating its statuses. Returns the
/// indexes of recipients that failed permanently in this run (for the bounce).
pub fn deliver(directory: &Directory, queue: &Queue, entry: &mut Entry, now: u64) -> Vec<usize> {
    let due: Vec<(usize, Address)> = entry
        .envelope
        .recipients
        .iter()
        .enumerate()
        .filter(|(n, _)| match &entry.status[*n] {
            RecipientStatus::Pending => true,
            RecipientStatus::Deferred { next, .. } => *next <= now,
            _ => false,
        })
        .filter_map(|(n, r)| match &r.destination {
            Destination::Mailbox(a) => Some((n, a.clone())),
            Destination::Remote(_) => None,
        })
        .collect();
    if due.is_empty() {
        return Vec::new();
    }
    let mut failed = Vec::new();
    let mut fail = |entry: &mut Entry, n: usize, reason: String| {
        entry.status[n] = RecipientStatus::Failed { at: now, reason };
        failed.push(n);
    };

    let delivered_to = match delivered_to_lines(queue, entry) {
        Ok(set) => set,
        Err(e) => {
            for (n, _) in &due {
                defer(entry, *n, now, format!("4.3.0 cannot read the queued message: {e}"));
            }
            return failed;
        }
    };
    let mut targets = Vec::new();
    for (n, address) in due {
        if delivered_to.contains(&address.to_string()) {
            fail(
                entry,
                n,
                format!("5.4.6 mail loop: the message was already delivered to {address}"),
            );
            continue;
        }
        match Maildir::open(directory.maildir(&address)) {
            Ok(maildir) => {
                // The recipient's spam policy: Junk, a tagged subject, or the INBOX.
                let (folder, tag) =
                    match policy::for_mailbox(directory, &address, &entry.envelope.sender) {
                        Decision::Clean => (maildir.inbox(), None),
                        Decision::Spam { action: SpamAction::Tag, tag, .. } => {
                            (maildir.inbox(), Some(tag))
                        }
                        // Junk, or a refusal the policy now asks for after the message was
                        // accepted: never bounced, filed as spam.
                        Decision::Spam { .. } => (junk(&maildir), None),
                    };
                targets.push((n, address, folder, tag));
            }
            Err(e) if e.is_not_found() || matches!(e, maildir::Error::NotAMaildir { .. }) => {
                fail(entry, n, format!("5.1.1 the mailbox {address} no longer exists"));
            }
            Err(e) => defer(entry, n, now, format!("4.3.0 {e}")),
        }
    }
    if targets.is_empty() {
        return failed;
    }

    // One write per kind of copy: as received (INBOX and Junk alike), and one per subject
    // tag; each written once and hard-linked into its folders.
    let mut groups: Vec<(Option<String>, Vec<Target>)> = Vec::new();
    for (n, address, folder, tag) in targets {
        match groups.iter_mut().find(|(t, _)| *t == tag) {
            Some((_, members)) => members.push((n, address, folder)),
            None => groups.push((tag, vec![(n, address, folder)])),
        }
    }
    for (tag, members) in groups {
        let header = match members.as_slice() {
            [(_, address, _)] => format!("Delivered-To: {address}\n"),
            _ => String::new(),
        };
        let folders: Vec<&maildir::Folder> = members.iter().map(|(_, _, f)| f).collect();
        let message = queue.open_message(entry);
        let results = message.map_err(|e| e.to_string()).and_then(|file| {
            let mut reader: Box<dyn Read> = match &tag {
                Some(tag) => {
                    Box::new(header.as_bytes().chain(tagged(file, tag).map_err(|e| e.to_string())?))
                }
                None => Box::new(header.as_bytes().chain(file)),
            };
            maildir::deliver::fan_out(&mut reader, &folders).map_err(|e| e.to_string())
        });
        match results {
            Ok(results) => {
                for ((n, _, _), result) in members.iter().zip(results) {
                    match result {
                        Ok(_) => entry.status[*n] = RecipientStatus::Delivered { at: now },
                        Err(e @ maildir::Error::OverQuota { .. }) => {
                            defer(entry, *n, now, format!("4.2.2 mailbox full: {e}"))
                        }
                        Err(e) if e.is_temporary() => defer(entry, *n, now, format!("4.3.0 {e}")),
                        Err(e) => fail(entry, *n, format!("5.3.0 {e}")),
                    }
                }
            }
            Err(e) => {
                for (n, _, _) in &members {
                    defer(entry, *n, now, format!("4.3.0 {e}"));
                }
            }
        }
    }
    // Deferred past the queue lifetime: give up.
    for n in 0..entry.status.len() {
        if let RecipientStatus::Deferred { reason, .. } = &entry.status[n]
            && now.saturating_sub(entry.envelope.received) > queue::LIFETIME_SECS
        {
            let reason =
                format!("5.4.7 gave up after {} days: {reason}", queue::LIFETIME_SECS / 86400);
            fail(entry, n, reason);
        }
    }
    failed
}

/// A recipient's number in the envelope, its mailbox, and the folder its copy goes to.
type Target = (usize, Address, maildir::Folder);

/// A mailbox's Junk folder (made if a hand-built Maildir lacks it), else its INBOX.
fn junk(maildir: &Maildir) -> maildir::Folder {
    let Ok(name) = maildir::FolderName::parse("Junk") else { return maildir.inbox() };
    maildir
        .folder(&name)
        .or_else(|_| maildir.create_folder(&name))
        .unwrap_or_else(|_| maildir.inbox())
}

/// The message with `tag` in front of its subject (a `Subject:` line added if it has
/// none): the header block is read (bounded), changed, and the body follows unread.
fn tagged(mut file: std::fs::File, tag: &str) -> std::io::Result<impl Read> {
    let mut head = Vec::new();
    let mut reader = BufReader::new(&mut file);
    let mut line = Vec::new();
    let mut tagged = false;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let end = line == b"\n" || line == b"\r\n";
        if end && !tagged {
            head.extend_from_slice(format!("Subject: {tag}\n").as_bytes());
            tagged = true;
        }
        if !tagged && line.len() >= 8 && line[..8].eq_ignore_ascii_case(b"subject:") {
            let value = String::from_utf8_lossy(&line[8..]).trim_start().to_string();
            head.extend_from_slice(format!("Subject: {tag} {value}").as_bytes());
            tagged = true;
        } else {
            head.extend_from_slice(&line);
        }
        if end || head.len() as u64 > MAX_HEADER_SCAN {
            break;
        }
    }
    // What the buffer read ahead belongs to the body.
    let ahead = reader.buffer().to_vec();
    drop(reader);
    Ok(std::io::Cursor::new(head).chain(std::io::Cursor::new(ahead)).chain(file))
}

/// Marks a recipient as failed for now, with exponential backoff.
fn defer(entry: &mut Entry, n: usize, now: u64, reason: String) {
    let attempts = match &entry.status[n] {
        RecipientStatus::Deferred { attempts, .. } => attempts + 1,
        _ => 1,
    };
    let wait = (queue::FIRST_BACKOFF_SECS << (attempts - 1).min(16)).min(queue::MAX_BACKOFF_SECS);
    entry.status[n] = RecipientStatus::Deferred { attempts, next: now + wait, reason };
}

/// The lower-cased addresses of the message's `Delivered-To:` header lines.
fn delivered_to_lines(queue: &Queue, entry: &Entry) -> Result<HashSet<String>, queue::Error> {
    let file = queue.open_message(entry)?;
    let mut reader = BufReader::new(file.take(MAX_HEADER_SCAN));
    let mut set = HashSet::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line == b"\n" || line == b"\r\n" {
            break;
        }
        if line.len() > 13 && line[..13].eq_ignore_ascii_case(b"delivered-to:") {
            let value = String::from_utf8_lossy(&line[13..]).trim().to_ascii_lowercase();
            set.insert(value);
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(message: &str) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m");
        std::fs::write(&path, message).expect("write");
        let mut out = String::new();
        tagged(std::fs::File::open(&path).expect("open"), "[SPAM]")
            .expect("tag")
            .read_to_string(&mut out)
            .expect("read");
        out
    }

    #[test]
    fn subjects_get_the_tag_and_bodies_stay() {
        let body = "x".repeat(20_000);
        assert_eq!(
            tag(&format!(
                "From: a@b.example\nsubject: Win big\n  today\nTo: c@d.example\n\n{body}\n"
            )),
            format!(
                "From: a@b.example\nSubject: [SPAM] Win big\n  today\nTo: c@d.example\n\n{body}\n"
            )
        );
        assert_eq!(
            tag("From: a@b.example\n\nSubject: not a header\n"),
            "From: a@b.example\nSubject: [SPAM]\n\nSubject: not a header\n"
        );
    }
}
