//! `mailroom index <maildir>` run as an operator runs it: the real binary on a real
//! Maildir++ tree, checked by what it prints, the files it leaves and its exit status.

use std::fs;
use std::path::Path;

use maildir::index::{self, HeaderIndex};
use maildir::{Flags, FolderName, Maildir};
use mailroom_tests::binary;

fn message(n: usize) -> Vec<u8> {
    format!(
        "From: Sender {n} <s{n}@example.org>\nTo: you@example.net\nSubject: message {n}\n\
         Date: Tue, 2 Jan 2024 10:00:00 +0000\nMessage-ID: <m{n}@example.org>\n\nbody {n}\n"
    )
    .into_bytes()
}

/// A Maildir++ with 30 messages in INBOX (10 read) and 5 in a folder with a non-ASCII name.
fn mailbox(root: &Path) -> Maildir {
    let mailbox = Maildir::create(root.join("Maildir")).expect("create");
    let inbox = mailbox.inbox();
    let mut changes = inbox.changes();
    for n in 0..30 {
        let file = inbox.deliver(&message(n)[..]).expect("deliver");
        if n < 10 {
            changes.set_flags(&file, Flags::SEEN, Flags::NONE).expect("seen");
        }
    }
    changes.commit().expect("commit");
    let reports =
        mailbox.create_folder(&FolderName::parse("Reports/Été").expect("name")).expect("folder");
    for n in 30..35 {
        reports.deliver(&message(n)[..]).expect("deliver");
    }
    mailbox
}

fn stdout_of(args: &[&str]) -> String {
    let out = binary::run(args);
    assert!(
        out.status.success(),
        "mailroom {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn line_of<'a>(out: &'a str, folder: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(folder))
        .unwrap_or_else(|| panic!("no line for {folder} in:\n{out}"))
}

#[test]
fn builds_then_finds_every_index_up_to_date() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mailbox = mailbox(dir.path());
    let root = mailbox.root().to_str().expect("UTF-8 path");

    let first = stdout_of(&["index", root]);
    let inbox = line_of(&first, "INBOX");
    assert!(inbox.contains(" 30 messages") && inbox.contains(" 20 unread"), "{inbox}");
    assert!(inbox.contains("built"), "{inbox}");
    let reports = line_of(&first, "Reports/Été");
    assert!(reports.contains(" 5 messages") && reports.contains(" 5 unread"), "{reports}");
    let total = first.lines().last().expect("a total line");
    // INBOX, the four default folders and Reports/Été (Maildir++ needs no parent folder).
    assert!(total.starts_with("6 folders, 35 messages (25 unread"), "{total}");

    // Each folder's index is on disk and equals a fresh scan.
    for name in mailbox.folders().expect("folders") {
        let folder = mailbox.folder(&name).expect("folder");
        assert!(folder.path().join(index::FILE).is_file(), "{name} has no index file");
        let (saved, _) = HeaderIndex::open(&folder).expect("open");
        assert!(saved.same_records(&HeaderIndex::scan(&folder).expect("scan")), "{name}");
    }

    let second = stdout_of(&["index", root]);
    assert!(line_of(&second, "INBOX").contains("up to date"), "{second}");

    // A delivery behind its back is picked up; --rebuild starts from nothing.
    mailbox.inbox().deliver(&message(99)[..]).expect("deliver");
    let third = stdout_of(&["index", root]);
    assert!(line_of(&third, "INBOX").contains(" 31 messages"), "{third}");
    let rebuilt = stdout_of(&["index", "--rebuild", root]);
    assert!(line_of(&rebuilt, "INBOX").contains("built"), "{rebuilt}");
}

#[test]
fn a_corrupt_index_is_rebuilt_and_said_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mailbox = mailbox(dir.path());
    let root = mailbox.root().to_str().expect("UTF-8 path");
    stdout_of(&["index", root]);
    let file = mailbox.inbox().path().join(index::FILE);
    let mut bytes = fs::read(&file).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(&file, bytes).expect("write");
    let out = stdout_of(&["index", root]);
    let inbox = line_of(&out, "INBOX");
    assert!(inbox.contains("rebuilt") && inbox.contains(" 30 messages"), "{inbox}");
}

#[test]
fn what_is_not_a_maildir_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    for path in [dir.path().join("missing"), dir.path().to_path_buf()] {
        let out = binary::run(&["index", path.to_str().expect("UTF-8 path")]);
        assert_eq!(out.status.code(), Some(1), "{path:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("mailroom: error: cannot index"), "{err}");
        assert!(err.contains(&*path.to_string_lossy()), "{err}");
        assert!(out.stdout.is_empty());
    }
    let out = binary::run(&["index"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));
}
