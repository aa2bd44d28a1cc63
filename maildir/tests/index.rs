//! The header index: queries, incremental updates that touch only what changed, the
//! snapshot file, and a property test that the index always equals a from-scratch scan.

use std::collections::BTreeSet;
use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use maildir::index::{HeaderIndex, Loaded, Query, Search, SearchField, SortKey, SyncOptions};
use maildir::{Flags, Folder, FolderName, Maildir, MessageFile, Subdir};
use proptest::prelude::*;

/// Stamps taken right after a change are trusted here: these tests check that the
/// journal spares a listing, and this machine's filesystem has fine timestamps. The
/// property tests below use the default window.
const TRUSTING: SyncOptions<'static> =
    SyncOptions { full: false, read_only: false, racy_window: Duration::ZERO, progress: None };

fn message(i: usize) -> Vec<u8> {
    let names = ["Zoe", "ann", "Bob", "Émile", "carl"];
    let subjects = ["Lunch", "Re: lunch", "Budget 2024", "AW: Réunion", "hello world"];
    format!(
        "From: {} <{}@example.org>\nTo: team{}@example.org\nSubject: {} #{i}\n\
         Date: {}\nMessage-ID: <m{i}@example.org>\n{}\n\
         {}\n",
        names[i % 5],
        names[i % 5].to_lowercase(),
        i % 3,
        subjects[i % 5],
        // Dates out of delivery order, some equal, one missing.
        if i == 7 {
            "garbage".to_string()
        } else {
            format!("Tue, {} Jan 2024 10:00:00 +0000", 1 + (i * 7) % 28)
        },
        if i % 4 == 1 {
            format!(
                "In-Reply-To: <m{}@example.org>\nReferences: <m0@example.org> <m{}@example.org>\n",
                i - 1,
                i - 1
            )
        } else {
            String::new()
        },
        "x".repeat(100 + i * 13),
    )
    .into_bytes()
}

fn setup(n: usize) -> (tempfile::TempDir, Maildir, Folder, Vec<MessageFile>) {
    let t = tempfile::tempdir().expect("tempdir");
    let maildir = Maildir::create(t.path().join("Maildir")).expect("create");
    let inbox = maildir.inbox();
    let files = (0..n).map(|i| inbox.deliver(&message(i)[..]).expect("deliver")).collect();
    (t, maildir, inbox, files)
}

fn open(folder: &Folder) -> HeaderIndex {
    HeaderIndex::open_with(folder, &TRUSTING).expect("open").0
}

#[test]
fn pages_match_a_full_sort_for_every_key_and_direction() {
    let (_t, _m, inbox, _) = setup(40);
    let index = open(&inbox);
    assert_eq!(index.len(), 40);
    for sort in [
        SortKey::Date,
        SortKey::Arrival,
        SortKey::From,
        SortKey::To,
        SortKey::Subject,
        SortKey::Size,
    ] {
        for descending in [false, true] {
            let all = Query { sort, descending, limit: 1000, ..Query::default() };
            let full: Vec<String> =
                index.query(&all).records.iter().map(|r| r.unique().to_string()).collect();
            assert_eq!(full.len(), 40);
            // Paging with odd sizes gives the same order, with no gaps and no repeats.
            let mut paged = Vec::new();
            for offset in (0..40).step_by(7) {
                let page = index.query(&Query { offset, limit: 7, ..all.clone() });
                assert_eq!(page.total, 40);
                paged.extend(page.records.iter().map(|r| r.unique().to_string()));
            }
            assert_eq!(paged, full, "{sort:?} descending={descending}");
            // And the order is the one the key says.
            let recs = index.query(&all).records;
            for w in recs.windows(2) {
                let ord = match sort {
                    SortKey::Date => w[0].date().cmp(&w[1].date()),
                    SortKey::Arrival => w[0].arrival().cmp(&w[1].arrival()),
                    SortKey::Size => w[0].size().cmp(&w[1].size()),
                    SortKey::Subject => {
                        let base = |s: &str| {
                            s.to_lowercase()
                                .trim_start_matches("re: ")
                                .trim_start_matches("aw: ")
                                .to_string()
                        };
                        base(w[0].subject()).cmp(&base(w[1].subject()))
                    }
                    SortKey::From => {
                        w[0].from_display().to_lowercase().cmp(&w[1].from_display().to_lowercase())
                    }
                    SortKey::To => w[0].to().to_lowercase().cmp(&w[1].to().to_lowercase()),
                };
                let ord = if descending { ord.reverse() } else { ord };
                assert_ne!(
                    ord,
                    std::cmp::Ordering::Greater,
                    "{sort:?} {descending}: {} then {}",
                    w[0].subject(),
                    w[1].subject()
                );
            }
        }
    }
    let past_the_end = index.query(&Query { offset: 100, ..Query::default() });
    assert_eq!((past_the_end.total, past_the_end.records.len()), (40, 0));
}

#[test]
fn header_search_unread_and_threads() {
    let (_t, _m, inbox, files) = setup(20);
    let mut index = open(&inbox);
    let q = |field, text: &str| Query {
        search: Some(Search::new(field, text)),
        limit: 100,
        ..Query::default()
    };
    assert_eq!(index.query(&q(SearchField::From, "ÉMILE")).total, 4, "case-insensitive, non-ASCII");
    assert_eq!(index.query(&q(SearchField::From, "bob@example")).total, 4, "addresses too");
    assert_eq!(index.query(&q(SearchField::Subject, "lunch")).total, 8);
    assert_eq!(index.query(&q(SearchField::To, "team2")).total, 6);
    assert_eq!(index.query(&q(SearchField::Any, "nobody-has-this")).total, 0);
    assert_eq!(index.query(&q(SearchField::Any, "réunion")).total, 4);

    assert_eq!(index.unread(), 20);
    let mut changes = inbox.changes();
    for f in &files[..5] {
        changes.set_flags(f, Flags::SEEN, Flags::NONE).expect("seen");
    }
    changes.commit().expect("commit");
    index.sync_with(&TRUSTING).expect("sync");
    assert_eq!(index.unread(), 15);
    let unread = index.query(&Query { unread_only: true, limit: 100, ..Query::default() });
    assert_eq!(unread.total, 15);

    let reply =
        index.records().find(|r| r.in_reply_to() == "m4@example.org").expect("m5 replies to m4");
    assert_eq!(reply.thread_key(), "m0@example.org");
    let thread: Vec<&str> = index.thread(reply).iter().map(|r| r.message_id()).collect();
    assert!(thread.contains(&"m0@example.org") && thread.contains(&"m5@example.org"), "{thread:?}");
}

#[test]
fn own_changes_touch_only_their_records() {
    let (_t, maildir, inbox, files) = setup(30);
    let mut index = open(&inbox);
    let quiet = index.sync_with(&TRUSTING).expect("sync");
    assert_eq!(quiet.listed, [false, false], "nothing changed, nothing listed");
    assert!(!quiet.changed());

    // A flag change: one journal entry, one renamed record, no listing, no header read.
    let mut changes = inbox.changes();
    let read = changes.set_flags(&files[3], Flags::SEEN, Flags::NONE).expect("seen");
    changes.commit().expect("commit");
    let r = index.sync_with(&TRUSTING).expect("sync");
    assert_eq!(
        (r.journal_entries, r.renamed, r.added, r.removed, r.listed),
        (1, 1, 0, 0, [false, false])
    );
    assert_eq!(index.get(read.unique()).expect("there").file(), read);

    // A move to another folder: removed here, added there, nothing listed here.
    let archive = maildir.create_folder(&FolderName::parse("Archive").expect("n")).expect("c");
    let mut archive_index = open(&archive);
    let mut changes = inbox.changes();
    let moved = changes.move_to(&read, &archive).expect("move");
    changes.commit().expect("commit");
    let r = index.sync_with(&TRUSTING).expect("sync");
    assert_eq!((r.removed, r.added, r.listed), (1, 0, [false, false]));
    let r = archive_index.sync_with(&TRUSTING).expect("sync");
    assert_eq!(
        (r.added, r.listed),
        (1, [false, false]),
        "its header is read, its folder not listed"
    );
    assert_eq!(archive_index.get(moved.unique()).expect("arrived").subject(), "AW: Réunion #3");

    // A delivery: only new/ is listed and only the new message read.
    inbox.deliver(&message(99)[..]).expect("deliver");
    let r = index.sync_with(&TRUSTING).expect("sync");
    assert_eq!((r.added, r.removed, r.renamed, r.listed), (1, 0, 0, [true, false]));

    // A change behind the crate's back (another program): cur/ is listed and diffed,
    // the renamed file keeps its record without a header read.
    let mut changes = inbox.changes();
    let file = changes.set_flags(&files[5], Flags::SEEN, Flags::NONE).expect("seen");
    changes.commit().expect("commit");
    index.sync_with(&TRUSTING).expect("sync");
    let foreign = MessageFile { dir: Subdir::Cur, name: format!("{}:2,FS", file.unique()) };
    fs::rename(inbox.file_path(&file), inbox.file_path(&foreign)).expect("rename");
    let r = index.sync_with(&TRUSTING).expect("sync");
    assert_eq!((r.renamed, r.added, r.listed), (1, 0, [false, true]));
    assert!(index.get(file.unique()).expect("there").flags().contains(Flags::FLAGGED));
    assert!(index.same_records(&HeaderIndex::scan(&inbox).expect("scan")));
}

#[test]
fn the_snapshot_is_reused_and_never_trusted_blindly() {
    let (_t, _m, inbox, _) = setup(10);
    let (index, report) = HeaderIndex::open_with(&inbox, &TRUSTING).expect("open");
    assert_eq!(report.loaded, Loaded::Missing);
    assert!(report.saved);
    let path = inbox.path().join(maildir::index::FILE);
    assert!(path.is_file());

    let (again, report) = HeaderIndex::open_with(&inbox, &TRUSTING).expect("reopen");
    assert_eq!((report.loaded, report.listed, report.added), (Loaded::FromFile, [false, false], 0));
    assert!(again.same_records(&index));

    let mut bytes = fs::read(&path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    fs::write(&path, &bytes).expect("corrupt");
    let (rebuilt, report) = HeaderIndex::open(&inbox).expect("open corrupt");
    assert_eq!(report.loaded, Loaded::Rebuilt("checksum mismatch"));
    assert!(rebuilt.same_records(&index));

    fs::write(&path, b"MRHIDX\r\n\x02\x00\x00\x00 from the future").expect("foreign");
    let (_, report) = HeaderIndex::open(&inbox).expect("open foreign");
    assert!(matches!(report.loaded, Loaded::Rebuilt(_)));
    fs::write(&path, b"").expect("empty");
    let (_, report) = HeaderIndex::open(&inbox).expect("open empty");
    assert!(matches!(report.loaded, Loaded::Rebuilt(_)));
}

#[test]
fn two_indexes_of_one_folder_follow_each_other() {
    // Two independent indexes behave like two processes: each sees only the files.
    let (_t, _m, inbox, files) = setup(12);
    let mut a = open(&inbox);
    let mut b = open(&inbox);
    let mut changes = inbox.changes();
    for f in &files[..6] {
        changes.set_flags(f, Flags::SEEN, Flags::NONE).expect("seen");
    }
    changes.delete(&files[11]).expect("delete");
    changes.commit().expect("commit");
    let rb = b.sync_with(&TRUSTING).expect("b");
    assert_eq!((rb.renamed, rb.removed, rb.listed), (6, 1, [false, false]));
    a.sync_with(&TRUSTING).expect("a");
    assert!(a.same_records(&b));
    assert!(a.same_records(&HeaderIndex::scan(&inbox).expect("scan")));
}

#[test]
fn the_journal_is_compacted_into_the_snapshot() {
    let (_t, _m, inbox, files) = setup(3);
    let mut index = open(&inbox);
    let journal = inbox.path().join(maildir::journal::DIR);
    let mut file = files[0].clone();
    for i in 0..70 {
        let mut changes = inbox.changes();
        let flag = if i % 2 == 0 { Flags::FLAGGED } else { Flags::NONE };
        file = changes.set_flags(&file, flag, Flags::FLAGGED.without(flag)).expect("toggle");
        changes.commit().expect("commit");
    }
    assert_eq!(fs::read_dir(&journal).expect("journal").count(), 70);
    let r = index.sync_with(&TRUSTING).expect("sync");
    assert_eq!(r.journal_entries, 70);
    assert!(r.saved);
    assert_eq!(fs::read_dir(&journal).expect("journal").count(), 0, "compacted");
    let (reloaded, report) = HeaderIndex::open_with(&inbox, &TRUSTING).expect("reopen");
    assert_eq!(report.listed, [false, false]);
    assert_eq!(reloaded.get(file.unique()).expect("there").file(), file);
}

#[test]
fn a_journal_entry_applied_out_of_order_is_caught() {
    let (_t, _m, inbox, files) = setup(3);
    let mut index = open(&inbox);
    let mut changes = inbox.changes();
    let seen = changes.set_flags(&files[0], Flags::SEEN, Flags::NONE).expect("seen");
    let flagged = changes.set_flags(&seen, Flags::FLAGGED, Flags::NONE).expect("flagged");
    changes.commit().expect("commit");
    // Another host, its clock ahead, journaled an older state that now sorts last: it
    // claims the message is still `:2,S`, with stamps that chain.
    let s = maildir::journal::DirStamp::of(&inbox.subdir(Subdir::Cur)).expect("stamp");
    let stamp = format!("{} {}.{:09} {}.{:09}", s.ino, s.mtime.0, s.mtime.1, s.ctime.0, s.ctime.1);
    let entry =
        format!("mailroom-journal 1\nstamp cur {stamp} {stamp}\nput cur {}\nend\n", seen.name);
    let journal = inbox.path().join(maildir::journal::DIR);
    fs::write(journal.join("999999999999.000000000.skewed-host"), entry).expect("write");
    let report = index.sync_with(&TRUSTING).expect("sync");
    assert_eq!(report.listed, [true, true], "the stale name is noticed and the folder listed");
    assert_eq!(index.get(flagged.unique()).expect("there").file(), flagged);
    assert!(index.same_records(&HeaderIndex::scan(&inbox).expect("scan")));
}

// ---------------------------------------------------------------------------------------
// The property: whatever happens, after a sync the index equals a from-scratch scan.

#[derive(Debug, Clone)]
enum Step {
    Deliver,
    /// Deliver the way qmail does, without this crate.
    ForeignDeliver,
    SetFlags(usize, u8, u8),
    /// Rename with new flags behind the crate's back.
    ForeignFlags(usize, u8),
    MoveAway(usize),
    MoveBack(usize),
    Copy(usize),
    Delete(usize),
    ForeignDelete(usize),
    Sync,
    Reopen,
    CorruptSnapshot,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::Deliver),
        1 => Just(Step::ForeignDeliver),
        4 => (any::<usize>(), any::<u8>(), any::<u8>()).prop_map(|(i, a, r)| Step::SetFlags(i, a, r)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, f)| Step::ForeignFlags(i, f)),
        2 => any::<usize>().prop_map(Step::MoveAway),
        1 => any::<usize>().prop_map(Step::MoveBack),
        1 => any::<usize>().prop_map(Step::Copy),
        2 => any::<usize>().prop_map(Step::Delete),
        1 => any::<usize>().prop_map(Step::ForeignDelete),
        3 => Just(Step::Sync),
        1 => Just(Step::Reopen),
        1 => Just(Step::CorruptSnapshot),
    ]
}

/// Flags from the low bits: S, F, R, T, D.
fn flags(bits: u8) -> Flags {
    [Flags::SEEN, Flags::FLAGGED, Flags::REPLIED, Flags::TRASHED, Flags::DRAFT]
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .fold(Flags::NONE, |acc, (_, f)| acc.with(*f))
}

fn pick(folder: &Folder, i: usize) -> Option<MessageFile> {
    let mut files = folder.list().expect("list").files;
    files.sort_by(|a, b| a.unique().cmp(b.unique()));
    (!files.is_empty()).then(|| files[i % files.len()].clone())
}

fn run_steps(steps: &[Step], options: &SyncOptions) {
    let (_t, maildir, inbox, _) = setup(3);
    let other = maildir.folder(&FolderName::parse("Junk").expect("n")).expect("junk");
    let mut index = HeaderIndex::open_with(&inbox, options).expect("open").0;
    let mut n = 3;
    for step in steps {
        let mut changes = inbox.changes();
        match step.clone() {
            Step::Deliver => {
                inbox.deliver(&message(n)[..]).expect("deliver");
                n += 1;
            }
            Step::ForeignDeliver => {
                let name = format!("{}.{n}.qmail", 1_700_000_000 + n);
                fs::write(inbox.tmp_dir().join(&name), message(n)).expect("tmp");
                fs::rename(inbox.tmp_dir().join(&name), inbox.subdir(Subdir::New).join(&name))
                    .expect("new");
                n += 1;
            }
            Step::SetFlags(i, add, remove) => {
                if let Some(f) = pick(&inbox, i) {
                    changes.set_flags(&f, flags(add), flags(remove)).expect("flags");
                }
            }
            Step::ForeignFlags(i, bits) => {
                if let Some(f) = pick(&inbox, i) {
                    let to = MessageFile {
                        dir: Subdir::Cur,
                        name: format!("{}:2,{}", f.unique(), flags(bits)),
                    };
                    fs::rename(inbox.file_path(&f), inbox.file_path(&to)).expect("rename");
                }
            }
            Step::MoveAway(i) => {
                if let Some(f) = pick(&inbox, i) {
                    changes.move_to(&f, &other).expect("move");
                }
            }
            Step::MoveBack(i) => {
                if let Some(f) = pick(&other, i) {
                    let mut back = other.changes();
                    back.move_to(&f, &inbox).expect("move back");
                    back.commit().expect("commit");
                }
            }
            Step::Copy(i) => {
                if let Some(f) = pick(&inbox, i) {
                    changes.copy_to(&f, &inbox).expect("copy");
                }
            }
            Step::Delete(i) => {
                if let Some(f) = pick(&inbox, i) {
                    changes.delete(&f).expect("delete");
                }
            }
            Step::ForeignDelete(i) => {
                if let Some(f) = pick(&inbox, i) {
                    fs::remove_file(inbox.file_path(&f)).expect("rm");
                }
            }
            Step::Sync => {
                changes.commit().expect("commit");
                index.sync_with(options).expect("sync");
                assert!(
                    index.same_records(&HeaderIndex::scan(&inbox).expect("scan")),
                    "after {step:?}"
                );
                continue;
            }
            Step::Reopen => {
                changes.commit().expect("commit");
                index = HeaderIndex::open_with(&inbox, options).expect("reopen").0;
                continue;
            }
            Step::CorruptSnapshot => {
                let _ = fs::write(inbox.path().join(maildir::index::FILE), b"MRHIDX\r\nbroken");
            }
        }
        changes.commit().expect("commit");
    }
    index.sync_with(options).expect("final sync");
    let truth = HeaderIndex::scan(&inbox).expect("scan");
    assert!(index.same_records(&truth), "in-memory index differs from a scan");
    let reopened = HeaderIndex::open_with(&inbox, options).expect("reopen").0;
    assert!(reopened.same_records(&truth), "snapshot + journal differ from a scan");
}

/// Whether a change right after a stat always gets a new directory stamp here (Linux
/// 6.13+ "multigrain" timestamps on ext4, xfs, btrfs, tmpfs). The trusting property test
/// below is only meaningful where it does.
fn assert_fine_grained_timestamps() {
    let t = tempfile::tempdir().expect("tempdir");
    for i in 0..200 {
        let before = maildir::journal::DirStamp::of(t.path()).expect("stat");
        fs::write(t.path().join(i.to_string()), b"").expect("create");
        let after = maildir::journal::DirStamp::of(t.path()).expect("stat");
        assert_ne!(
            before, after,
            "this filesystem gave a directory the same stamp before and after a change; the \
             journal-path property test needs fine-grained timestamps (Linux 6.13+ on ext4, \
             xfs, btrfs or tmpfs) - run the tests on such a machine"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    /// Default options: fresh stamps are not trusted, so syncs soon after a change list
    /// the directories.
    #[test]
    fn index_equals_a_fresh_scan_after_any_steps(steps in prop::collection::vec(step(), 1..40)) {
        run_steps(&steps, &SyncOptions::default());
    }

    /// Fresh stamps trusted: syncs follow the journal and list only what it cannot
    /// explain - the path that makes a page after a change as fast as a warm one.
    #[test]
    fn journal_path_equals_a_fresh_scan_after_any_steps(steps in prop::collection::vec(step(), 1..40)) {
        assert_fine_grained_timestamps();
        run_steps(&steps, &TRUSTING);
    }
}

/// A delivery made while a batch of changes is under way in `new/` must not be explained
/// away by that batch's journal entry: the batch sees the foreign change and gives no span
/// for `new/`, so indexes list it.
#[test]
fn a_delivery_during_a_batch_of_changes_is_seen() {
    let (_t, _m, inbox, files) = setup(3);
    let mut index = open(&inbox);
    index.sync_with(&TRUSTING).expect("sync");
    let mut changes = inbox.changes();
    changes.set_flags(&files[0], Flags::SEEN, Flags::NONE).expect("new → cur");
    let delivered = inbox.deliver(&message(7)[..]).expect("deliver");
    changes.set_flags(&files[1], Flags::SEEN, Flags::NONE).expect("new → cur");
    changes.commit().expect("commit");
    let report = index.sync_with(&TRUSTING).expect("sync");
    assert_eq!(report.listed, [true, false], "new/ is listed, cur/ explained");
    assert!(index.get(delivered.unique()).is_some(), "the delivery is in the index");
    assert!(index.same_records(&HeaderIndex::scan(&inbox).expect("scan")));
}

#[test]
fn old_journal_entries_are_swept_and_cost_only_a_listing() {
    let (_t, _m, inbox, files) = setup(2);
    let mut index = open(&inbox);
    let journal = inbox.path().join(maildir::journal::DIR);
    let names = || -> BTreeSet<String> {
        let entries = fs::read_dir(&journal).into_iter().flatten();
        entries.map(|e| e.expect("entry").file_name().into_string().expect("UTF-8")).collect()
    };
    let mut changes = inbox.changes();
    changes.set_flags(&files[0], Flags::SEEN, Flags::NONE).expect("seen");
    let before = names();
    changes.commit().expect("commit");
    // The entry is made an hour and a half old, unapplied by the index.
    let entry = names().difference(&before).next().expect("one new entry").clone();
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let old = format!("{:012}.000000000.old-host", secs - 5400);
    fs::rename(journal.join(&entry), journal.join(&old)).expect("age the entry");
    let mut changes = inbox.changes();
    changes.set_flags(&files[1], Flags::FLAGGED, Flags::NONE).expect("flagged");
    changes.commit().expect("commit");

    maildir::journal::sweep(inbox.path(), maildir::journal::MAX_AGE);
    let left = names();
    assert!(!left.contains(&old), "the old entry is swept");
    assert_eq!(left.len(), 1, "the young entry stays: {left:?}");
    let report = index.sync_with(&TRUSTING).expect("sync");
    assert!(report.listed.contains(&true), "the broken chain costs a listing");
    assert!(index.same_records(&HeaderIndex::scan(&inbox).expect("scan")));
}
