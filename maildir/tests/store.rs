//! The store through its public API, on real directories: delivery, flags, moves,
//! folders, quota, the tmp sweep — and other programs' Maildirs opened unchanged.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use maildir::index::HeaderIndex;
use maildir::quota::{self, QuotaLimit};
use maildir::{Error, Flags, Folder, FolderName, Maildir, MessageFile, Subdir};

fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: Ann <ann@example.org>\nTo: bob@example.org\nSubject: {subject}\n\
         Date: Tue, 2 Jan 2024 10:00:00 +0000\nMessage-ID: <{subject}@example.org>\n\n\
         Body of {subject}.\n"
    )
    .into_bytes()
}

fn new_maildir() -> (tempfile::TempDir, Maildir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let maildir = Maildir::create(dir.path().join("Maildir")).expect("create");
    (dir, maildir)
}

fn folder(maildir: &Maildir, name: &str) -> Folder {
    maildir.folder(&FolderName::parse(name).expect("valid name")).expect("folder exists")
}

fn dir_is_empty(path: &Path) -> bool {
    fs::read_dir(path).expect("list").next().is_none()
}

#[test]
fn delivery_names_and_bytes_follow_the_spec() {
    let (_t, maildir) = new_maildir();
    let inbox = maildir.inbox();
    let body = message("hello");
    let file = inbox.deliver(&body[..]).expect("deliver");
    assert_eq!(file.dir, Subdir::New);
    // <secs>.M<usec>P<pid>Q<n>.<host>,S=<size>
    let (secs, rest) = file.name.split_once(".M").expect("time.M");
    assert!(secs.chars().all(|c| c.is_ascii_digit()), "{}", file.name);
    assert!(rest.contains(&format!("P{}Q", std::process::id())), "{}", file.name);
    assert!(file.name.ends_with(&format!(",S={}", body.len())), "{}", file.name);
    assert_eq!(file.size_hint(), Some(body.len() as u64));
    assert_eq!(fs::read(inbox.file_path(&file)).expect("read"), body);
    assert!(dir_is_empty(&inbox.tmp_dir()), "tmp/ is left clean");
}

#[test]
fn flags_are_set_by_rename_and_new_moves_to_cur() {
    let (_t, maildir) = new_maildir();
    let inbox = maildir.inbox();
    let file = inbox.deliver(&message("f")[..]).expect("deliver");
    let mut changes = inbox.changes();
    let seen = changes.set_flags(&file, Flags::SEEN, Flags::NONE).expect("seen");
    assert_eq!(seen.dir, Subdir::Cur);
    assert_eq!(seen.name, format!("{}:2,S", file.unique()));
    let flagged =
        changes.set_flags(&seen, Flags::FLAGGED.with(Flags::REPLIED), Flags::NONE).expect("f");
    assert_eq!(flagged.name, format!("{}:2,FRS", file.unique()));
    let unseen = changes.set_flags(&flagged, Flags::NONE, Flags::SEEN).expect("unseen");
    assert_eq!(unseen.name, format!("{}:2,FR", file.unique()));
    changes.commit().expect("commit");
    let listing = inbox.list().expect("list");
    assert_eq!(listing.files, vec![unseen]);
}

#[test]
fn another_process_renaming_the_same_file_is_tolerated() {
    let (_t, maildir) = new_maildir();
    let inbox = maildir.inbox();
    let stale = inbox.deliver(&message("race")[..]).expect("deliver");
    // "Another process" reads the message: new/ → cur/ with S.
    let moved = MessageFile { dir: Subdir::Cur, name: format!("{}:2,S", stale.unique()) };
    fs::rename(inbox.file_path(&stale), inbox.file_path(&moved)).expect("rename");

    let (mut reader, found) = inbox.open_message(&stale).expect("open follows the rename");
    assert_eq!(found, moved);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut reader, &mut text).expect("read");
    assert!(text.contains("Subject: race"));

    let mut changes = inbox.changes();
    let flagged = changes.set_flags(&stale, Flags::FLAGGED, Flags::NONE).expect("follows");
    assert_eq!(flagged.name, format!("{}:2,FS", stale.unique()), "both flags kept");
    changes.delete(&stale).expect("delete follows too");
    changes.commit().expect("commit");
    assert!(inbox.list().expect("list").files.is_empty());

    // Really gone: a clear error for flags, success for delete.
    let mut changes = inbox.changes();
    assert!(matches!(
        changes.set_flags(&stale, Flags::SEEN, Flags::NONE),
        Err(Error::MessageGone(_))
    ));
    changes.delete(&stale).expect("deleting a deleted message is done");
    changes.commit().expect("commit");
}

#[test]
fn move_copy_and_delete_between_folders() {
    let (_t, maildir) = new_maildir();
    let (inbox, archive) = (
        maildir.inbox(),
        maildir.create_folder(&FolderName::parse("Archive").expect("name")).expect("create"),
    );
    let body = message("moving");
    let file = inbox.deliver(&body[..]).expect("deliver");
    let mut changes = inbox.changes();
    let file =
        changes.set_flags(&file, Flags::SEEN.with(Flags::FLAGGED), Flags::NONE).expect("flags");
    let moved = changes.move_to(&file, &archive).expect("move");
    changes.commit().expect("commit");
    assert_eq!(moved.unique(), file.unique(), "a move keeps the unique name");
    assert_eq!(moved.flags(), file.flags(), "and the flags");
    assert!(inbox.list().expect("list").files.is_empty(), "source unlinked at commit");
    assert_eq!(fs::read(archive.file_path(&moved)).expect("read"), body);

    let mut changes = archive.changes();
    let copy = changes.copy_to(&moved, &inbox).expect("copy");
    changes.commit().expect("commit");
    assert_ne!(copy.unique(), moved.unique(), "a copy is a new message");
    let (a, b) = (fs::metadata(archive.file_path(&moved)), fs::metadata(inbox.file_path(&copy)));
    assert_eq!(a.expect("a").ino(), b.expect("b").ino(), "copies share bytes by hard link");

    let mut changes = archive.changes();
    changes.delete(&moved).expect("delete");
    changes.commit().expect("commit");
    assert!(archive.list().expect("list").files.is_empty());
    assert_eq!(fs::read(inbox.file_path(&copy)).expect("the copy stays"), body);
}

#[test]
fn fan_out_writes_once_and_links_everywhere() {
    let t = tempfile::tempdir().expect("tempdir");
    let maildirs: Vec<Maildir> = (0..64)
        .map(|i| Maildir::create(t.path().join(format!("user{i}"))).expect("create"))
        .collect();
    let inboxes: Vec<Folder> = maildirs.iter().map(Maildir::inbox).collect();
    let targets: Vec<&Folder> = inboxes.iter().collect();
    let body = message("everyone");
    let results = maildir::deliver::fan_out(&mut &body[..], &targets).expect("fan out");
    let mut inodes = Vec::new();
    for (inbox, result) in inboxes.iter().zip(results) {
        let file = result.expect("delivered");
        let meta = fs::metadata(inbox.file_path(&file)).expect("stat");
        assert_eq!(meta.nlink(), 64, "one file, 64 names");
        inodes.push(meta.ino());
        assert!(dir_is_empty(&inbox.tmp_dir()));
    }
    inodes.dedup();
    assert_eq!(inodes.len(), 1);
}

#[test]
fn fan_out_respects_each_quota() {
    let t = tempfile::tempdir().expect("tempdir");
    let full = Maildir::create(t.path().join("full")).expect("create");
    let roomy = Maildir::create(t.path().join("roomy")).expect("create");
    quota::set_limit(full.root(), Some(QuotaLimit { bytes: Some(10), messages: None })).expect("q");
    let (a, b) = (full.inbox(), roomy.inbox());
    let results = maildir::deliver::fan_out(&mut &message("q")[..], &[&a, &b]).expect("fan out");
    assert!(matches!(results[0], Err(Error::OverQuota { .. })));
    assert!(results[1].is_ok());
    assert!(a.list().expect("list").files.is_empty());
}

#[test]
fn folders_create_list_rename_delete() {
    let (_t, maildir) = new_maildir();
    let names: Vec<String> =
        maildir.folders().expect("folders").iter().map(|f| f.to_string()).collect();
    assert_eq!(names, ["INBOX", "Drafts", "Junk", "Sent", "Trash"]);

    let work = maildir.create_folder(&FolderName::parse("Work").expect("n")).expect("create");
    assert!(work.path().join("maildirfolder").is_file(), "Maildir++ marker");
    assert_eq!(work.path().file_name().and_then(|n| n.to_str()), Some(".Work"));
    let projects =
        maildir.create_folder(&FolderName::parse("Work/Entwürfe").expect("n")).expect("c");
    assert_eq!(projects.path().file_name().and_then(|n| n.to_str()), Some(".Work.Entw&APw-rfe"));
    projects.deliver(&message("deep")[..]).expect("deliver");
    assert!(matches!(
        maildir.create_folder(&FolderName::parse("Work").expect("n")),
        Err(Error::FolderExists(_))
    ));

    let infos = maildir.folder_infos().expect("infos");
    let deep = infos.iter().find(|i| i.name.to_string() == "Work/Entwürfe").expect("listed");
    assert_eq!((deep.counts.total, deep.counts.unread), (1, 1));

    let archive_work = FolderName::parse("Archive/Work").expect("n");
    maildir.rename_folder(&FolderName::parse("Work").expect("n"), &archive_work).expect("rename");
    let moved = folder(&maildir, "Archive/Work/Entwürfe");
    assert_eq!(moved.list().expect("list").files.len(), 1, "children move with their messages");
    assert!(matches!(
        maildir.folder(&FolderName::parse("Work").expect("n")),
        Err(Error::NoSuchFolder(_))
    ));

    // Refusals, each with its reason.
    let sent = FolderName::parse("Sent").expect("n");
    assert!(matches!(maildir.rename_folder(&archive_work, &sent), Err(Error::FolderExists(_))));
    let inside = FolderName::parse("Archive/Work/Inside").expect("n");
    assert!(matches!(
        maildir.rename_folder(&archive_work, &inside),
        Err(Error::FolderRefused { .. })
    ));
    assert!(matches!(
        maildir.rename_folder(&FolderName::inbox(), &sent),
        Err(Error::FolderRefused { .. })
    ));
    assert!(matches!(
        maildir.delete_folder(&FolderName::inbox()),
        Err(Error::FolderRefused { .. })
    ));
    assert!(matches!(maildir.delete_folder(&archive_work), Err(Error::FolderRefused { .. })));

    maildir.delete_folder(&FolderName::parse("Archive/Work/Entwürfe").expect("n")).expect("delete");
    maildir.delete_folder(&archive_work).expect("delete now that it is empty of children");
    let names: Vec<String> =
        maildir.folders().expect("folders").iter().map(|f| f.to_string()).collect();
    assert_eq!(names, ["INBOX", "Drafts", "Junk", "Sent", "Trash"]);
    assert!(dir_is_empty(&maildir.root().join("tmp")), "nothing left aside");
}

#[test]
fn hostile_folder_names_never_reach_the_filesystem() {
    let (t, maildir) = new_maildir();
    for hostile in ["../../etc", "a/../../b", "..", ".", "x\0y", "a.b", "/etc/passwd", "new\n"] {
        let err = FolderName::parse(hostile).expect_err(hostile);
        assert!(err.to_string().contains("invalid folder name"), "{hostile:?}: {err}");
    }
    // Nothing was created outside the Maildir or inside it.
    let outside: Vec<_> = fs::read_dir(t.path()).expect("list").collect();
    assert_eq!(outside.len(), 1);
    assert_eq!(maildir.folders().expect("folders").len(), 5);
}

#[test]
fn quota_refuses_frees_and_leaves_trash_out() {
    let (_t, maildir) = new_maildir();
    let root = maildir.root();
    let size = message("q1").len() as u64;
    let limit = QuotaLimit { bytes: Some(size * 3), messages: Some(10) };
    quota::set_limit(root, Some(limit)).expect("set");
    let inbox = maildir.inbox();
    let mut files = Vec::new();
    for i in 0..3 {
        files.push(inbox.deliver(&message(&format!("q{i}"))[..]).expect("under quota"));
    }
    let err = inbox.deliver(&message("q3")[..]).expect_err("over quota");
    assert!(matches!(err, Error::OverQuota { used_messages: 3, .. }), "{err}");
    assert!(err.is_temporary(), "over quota is worth a retry later");
    assert_eq!(inbox.list().expect("list").files.len(), 3, "nothing half-delivered");
    assert!(dir_is_empty(&inbox.tmp_dir()));

    // Moving to Trash frees the space (Trash is not counted) ...
    let trash = folder(&maildir, "Trash");
    let mut changes = inbox.changes();
    let trashed = changes.move_to(&files[0], &trash).expect("to trash");
    changes.commit().expect("commit");
    let status = quota::status(root).expect("status").expect("a quota");
    assert_eq!(status.used.messages, 2);
    inbox.deliver(&message("q4")[..]).expect("room again");
    // ... and moving it back out needs room.
    let mut changes = trash.changes();
    assert!(matches!(changes.move_to(&trashed, &inbox), Err(Error::OverQuota { .. })));
    changes.commit().expect("commit");

    // The appended lines sum to what a recalculation finds.
    let before = quota::status(root).expect("status").expect("quota").used;
    let recalculated = quota::recalculate(root).expect("recalc").expect("quota").used;
    assert_eq!(before, recalculated);
    let text = fs::read_to_string(root.join("maildirsize")).expect("read");
    assert_eq!(text.lines().next(), Some(limit.to_string().as_str()));

    // A garbled file is recalculated, not trusted.
    fs::write(root.join("maildirsize"), format!("{limit}\n999999 oops\n")).expect("write");
    assert_eq!(quota::status(root).expect("status").expect("quota").used, recalculated);
    // No maildirsize, no quota.
    quota::set_limit(root, None).expect("remove");
    assert_eq!(quota::status(root).expect("status"), None);
}

#[test]
fn tmp_sweep_removes_only_old_leftovers() {
    let (_t, maildir) = new_maildir();
    let inbox = maildir.inbox();
    let old = inbox.tmp_dir().join("1.M1P1Q1.crashed");
    let fresh = inbox.tmp_dir().join("2.M2P2Q2.writing");
    fs::write(&old, b"partial").expect("write");
    fs::write(&fresh, b"partial").expect("write");
    let f = fs::File::options().write(true).open(&old).expect("open");
    f.set_modified(SystemTime::now() - Duration::from_secs(37 * 3600)).expect("age it");
    assert_eq!(inbox.sweep_tmp(maildir::folder::TMP_MAX_AGE).expect("sweep"), 1);
    assert!(!old.exists() && fresh.exists());
}

#[test]
fn not_a_maildir_says_what_is_missing() {
    let t = tempfile::tempdir().expect("tempdir");
    fs::create_dir(t.path().join("cur")).expect("mkdir");
    let err = Maildir::open(t.path()).expect_err("no new/");
    assert!(err.to_string().contains("has no new/ directory"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Other programs' Maildirs, opened unchanged.

/// Builds a tree from (relative path, contents); a path ending in '/' is a directory.
fn build(root: &Path, entries: &[(&str, &[u8])]) {
    for (path, contents) in entries {
        let full = root.join(path.trim_end_matches('/'));
        if path.ends_with('/') {
            fs::create_dir_all(&full).expect("mkdir");
        } else {
            fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            fs::write(&full, contents).expect("write");
        }
    }
}

/// Every file that is not a message or Mailroom's own, with its bytes.
fn foreign_files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("list").flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if ["cur", "new", "tmp"].contains(&name.as_str()) || name.starts_with("mailroom-") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    path.strip_prefix(root).expect("inside").to_path_buf(),
                    fs::read(&path).expect("read"),
                );
            }
        }
    }
    out
}

fn maildir_dirs(prefix: &str) -> Vec<String> {
    ["cur/", "new/", "tmp/"].iter().map(|d| format!("{prefix}{d}")).collect()
}

struct Fixture {
    entries: Vec<(String, Vec<u8>)>,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture { entries: Vec::new() }
    }
    fn dirs(mut self, folder_prefix: &str) -> Fixture {
        for d in maildir_dirs(folder_prefix) {
            self.entries.push((d, Vec::new()));
        }
        self
    }
    fn file(mut self, path: &str, contents: &[u8]) -> Fixture {
        self.entries.push((path.to_string(), contents.to_vec()));
        self
    }
    fn build(&self, root: &Path) {
        let refs: Vec<(&str, &[u8])> =
            self.entries.iter().map(|(p, c)| (p.as_str(), c.as_slice())).collect();
        build(root, &refs);
    }
}

fn courier_sqwebmail() -> Fixture {
    Fixture::new()
        .dirs("")
        .file("cur/1700000001.M100P2000V0000000000000803I00123456_0.mail.example.com,S=180:2,S", &message("courier-read"))
        .file("new/1700000002.M200P2001V0000000000000803I00123457_0.mail.example.com,S=181", &message("courier-new"))
        .file("courierimapuiddb", b"1 1700000000 3\n1700000001.M100P2000V0000000000000803I00123456_0.mail.example.com,S=180 1\n")
        .file("courierimapkeywords/:list", b"$Label1\n\n")
        .file("courierimaphieracl/INBOX", b"owner aceilrstwx\n")
        .file("courierimapacl", b"INBOX owner aceilrstwx\n")
        .file("courierpop3dsizelist", b"/1\n")
        .file("maildirsize", b"10000000S\n     361    2\n")
        .file("sqwebmail-curcache", b"\x00\x01cache\x02")
        .file("sqwebmail-curpos", b"0\n")
        .file("sqwebmail-config", b"PAGESIZE=10\nSORTORDER=D\n")
        .file("sqwebmail-autorenamesent", b"1701000000\n")
        .dirs(".Sent/")
        .file(".Sent/maildirfolder", b"")
        .file(".Sent/courierimapuiddb", b"1 1700000000 1\n")
        .file(".Sent/cur/1700000003.M300P2002V0000000000000803I00123458_0.mail.example.com,S=179:2,S", &message("courier-sent"))
        .dirs(".Trash/")
        .file(".Trash/maildirfolder", b"")
        .dirs(".Drafts/")
        .file(".Drafts/maildirfolder", b"")
        .dirs(".Entw&APw-rfe/")
        .file(".Entw&APw-rfe/maildirfolder", b"")
        .dirs(".Work/")
        .file(".Work/maildirfolder", b"")
        .dirs(".Work.Projects/")
        .file(".Work.Projects/maildirfolder", b"")
        .file(".Work.Projects/new/1700000004.M400P2003V0000000000000803I00123459_0.mail.example.com,S=182", &message("courier-project"))
}

fn dovecot() -> Fixture {
    Fixture::new()
        .dirs("")
        .file("cur/1700000001.M123456P789.imap1,S=180,W=185:2,Sa", &message("dovecot-read"))
        .file("cur/1700000005.M1P2.imap1,S=181,W=186:2,FS", &message("dovecot-flagged"))
        .file("dovecot-uidlist", b"3 V1700000000 N3 G3085f01b7f11094c501100008c4a11c1\n1 :1700000001.M123456P789.imap1,S=180,W=185\n")
        .file("dovecot-uidvalidity", b"65a1b2c3\n")
        .file("dovecot-uidvalidity.65a1b2c3", b"")
        .file("dovecot-keywords", b"0 $Forwarded\n1 Junk\n")
        .file("dovecot.index", &[0x07, 0x02, 0x00, 0xff, 0x10])
        .file("dovecot.index.cache", &[0x01, 0x00, 0xfe])
        .file("dovecot.index.log", &[0x01, 0x02, 0x03])
        .file("subscriptions", b"Sent\nTrash\n\xd0\x9e\xd1\x82\n")
        .dirs(".Sent/")
        .file(".Sent/maildirfolder", b"")
        .file(".Sent/dovecot-uidlist", b"3 V1700000001 N1\n")
        .dirs(".Trash/")
        .dirs(".&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-/")
        .file(".&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-/cur/1700000006.M9P9.imap1,S=183,W=188:2,S", &message("dovecot-russian"))
}

fn qmail() -> Fixture {
    Fixture::new()
        .dirs("")
        .file("new/1700000000.12345.mail.example.org", &message("qmail-1"))
        .file("new/1700000001.12346.mail.example.org", &message("qmail-2"))
        .file("cur/1699999999.12000.mail.example.org:2,S", &message("qmail-old"))
}

/// Opens a fixture, indexes and changes it, and checks that every foreign file is
/// byte-for-byte as it was and every message is where the changes put it.
fn exercise(fixture: Fixture, expect_folders: &[&str], expect_inbox: &[&str]) {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("Maildir");
    fixture.build(&root);
    let before = foreign_files(&root);
    let maildir = Maildir::open(&root).expect("opens unchanged");

    let names: Vec<String> =
        maildir.folders().expect("folders").iter().map(|f| f.to_string()).collect();
    assert_eq!(names, expect_folders);

    let (index, _) = HeaderIndex::open(&maildir.inbox()).expect("index");
    let mut subjects: Vec<&str> = index.records().map(|r| r.subject()).collect();
    subjects.sort_unstable();
    assert_eq!(subjects, expect_inbox);
    for name in maildir.folders().expect("folders") {
        let f = maildir.folder(&name).expect("open");
        let (index, _) = HeaderIndex::open(&f).expect("index every folder");
        assert_eq!(index.len(), f.list().expect("list").files.len(), "{name}");
    }

    // Change things: read everything in INBOX, move one message to a new folder, rename it.
    let inbox = maildir.inbox();
    let mut changes = inbox.changes();
    let mut kept = Vec::new();
    for file in inbox.list().expect("list").files {
        kept.push(changes.set_flags(&file, Flags::SEEN, Flags::NONE).expect("seen"));
    }
    let new_folder =
        maildir.create_folder(&FolderName::parse("Mailroom Test").expect("n")).expect("c");
    changes.move_to(&kept[0], &new_folder).expect("move");
    changes.commit().expect("commit");
    maildir
        .rename_folder(
            &FolderName::parse("Mailroom Test").expect("n"),
            &FolderName::parse("Renamed").expect("n"),
        )
        .expect("rename");
    for file in &kept[1..] {
        let name = &file.name;
        assert!(inbox.subdir(Subdir::Cur).join(name).exists(), "{name}");
        // Foreign info survives a flag change: Dovecot's W= size and keyword letters.
        let original = name.split(":2,").next().expect("unique");
        assert!(name.starts_with(original));
    }
    assert_eq!(folder(&maildir, "Renamed").list().expect("list").files.len(), 1);

    let after = foreign_files(&root);
    let mut expected = before.clone();
    // The only foreign-looking file Mailroom adds is the Maildir++ folder marker.
    expected.insert(PathBuf::from(".Renamed/maildirfolder"), Vec::new());
    assert_eq!(after, expected, "files of other programs are left alone");
}

#[test]
fn courier_and_sqwebmail_maildirs_open_unchanged() {
    exercise(
        courier_sqwebmail(),
        &["INBOX", "Drafts", "Entwürfe", "Sent", "Trash", "Work", "Work/Projects"],
        &["courier-new", "courier-read"],
    );
}

#[test]
fn dovecot_maildirs_open_unchanged() {
    exercise(
        dovecot(),
        &["INBOX", "Sent", "Trash", "Отправленные"],
        &["dovecot-flagged", "dovecot-read"],
    );
    // Keyword letters survive a flag change.
    let t = tempfile::tempdir().expect("tempdir");
    dovecot().build(t.path());
    let inbox = Maildir::open(t.path()).expect("open").inbox();
    let file = MessageFile::new(Subdir::Cur, "1700000001.M123456P789.imap1,S=180,W=185:2,Sa")
        .expect("name");
    let mut changes = inbox.changes();
    let flagged = changes.set_flags(&file, Flags::FLAGGED, Flags::NONE).expect("flag");
    changes.commit().expect("commit");
    assert_eq!(flagged.name, "1700000001.M123456P789.imap1,S=180,W=185:2,FSa");
}

#[test]
fn qmail_maildirs_open_unchanged() {
    exercise(qmail(), &["INBOX"], &["qmail-1", "qmail-2", "qmail-old"]);
}

#[test]
fn messages_are_old_by_when_they_came_into_the_folder() {
    let (_t, maildir) = new_maildir();
    let trash = folder(&maildir, "Trash");
    let inbox = maildir.inbox();
    let kept = inbox.deliver(&message("kept")[..]).expect("deliver");
    let moved = inbox.deliver(&message("moved")[..]).expect("deliver");
    let mut changes = inbox.changes();
    let in_trash = changes.move_to(&moved, &trash).expect("move");
    changes.commit().expect("commit");
    let day = Duration::from_secs(86_400);
    let later = SystemTime::now() + 10 * day;
    assert_eq!(trash.arrived_before(7 * day, later).expect("list"), vec![in_trash.clone()]);
    assert!(trash.arrived_before(20 * day, later).expect("list").is_empty(), "too young");
    assert!(trash.arrived_before(day, SystemTime::now()).expect("list").is_empty(), "just moved");
    assert_eq!(inbox.arrived_before(7 * day, later).expect("list"), vec![kept]);
}
