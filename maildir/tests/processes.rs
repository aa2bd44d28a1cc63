//! Tests that need a second process: `kill -9` during deliveries, and two processes
//! changing one folder while each keeps its index.
//!
//! The test binary is its own child: run with `MAILDIR_TEST_CHILD` set, `main` plays the
//! child's part instead of running tests. libtest-mimic keeps the libtest protocol, so
//! `cargo test` and `cargo nextest` run these like any other tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use std::{env, fs};

use libtest_mimic::{Arguments, Failed, Trial};
use maildir::index::{HeaderIndex, SyncOptions};
use maildir::{Error, Flags, Folder, FolderName, Maildir, MessageFile, Subdir};

const CHILD: &str = "MAILDIR_TEST_CHILD";

fn main() {
    if let Ok(role) = env::var(CHILD) {
        let args: Vec<String> = env::args().skip(1).collect();
        match role.as_str() {
            "deliver" => child_deliver(&args),
            "mutate" => child_mutate(&args),
            other => panic!("unknown child role {other}"),
        }
        return;
    }
    let args = Arguments::from_args();
    let trials = vec![
        Trial::test("kill_9_during_deliveries_leaves_no_partial_message", kill_during_deliveries),
        Trial::test("two_processes_changing_one_folder_default_window", || {
            two_processes(SyncOptions::default())
        }),
        Trial::test("two_processes_changing_one_folder_trusting_stamps", || {
            two_processes(SyncOptions { racy_window: Duration::ZERO, ..SyncOptions::default() })
        }),
    ];
    libtest_mimic::run(&args, trials).exit();
}

/// A small deterministic generator (xorshift), seeded per test run.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let t =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Rng(t.as_nanos() as u64 | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn spawn(role: &str, args: &[String]) -> Child {
    Command::new(env::current_exe().expect("own path"))
        .env(CHILD, role)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

// ---------------------------------------------------------------------------------------
// kill -9 during deliveries

/// A message that shows whether it is whole: its size is in its first line and its last
/// line says it ended.
fn checkable_message(n: u64, size: usize) -> Vec<u8> {
    let head = format!("X-Check: {n} {size}\nSubject: crash test {n}\n\n");
    let tail = b"\nEND-OF-MESSAGE\n";
    let mut msg = head.into_bytes();
    let fill = size.saturating_sub(msg.len() + tail.len());
    msg.extend((0..fill).map(|i| b"abcdefghijklmnopqrstuvwxyz\n"[i % 27]));
    msg.extend_from_slice(tail);
    msg
}

fn is_whole(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let declared = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("X-Check: "))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<usize>().ok());
    declared == Some(bytes.len()) && text.ends_with("\nEND-OF-MESSAGE\n")
}

/// Child: delivers (and fans out) messages of growing sizes until killed, printing the
/// name of each delivery once `deliver` has returned.
fn child_deliver(args: &[String]) {
    let root = PathBuf::from(&args[0]);
    let inbox = Folder::open_dir(root.join("a")).expect("a");
    let others = [
        Folder::open_dir(root.join("b")).expect("b"),
        Folder::open_dir(root.join("c")).expect("c"),
    ];
    let mut rng = Rng(args[1].parse().expect("seed"));
    // Bounded: the parent kills us long before.
    for n in 0..100_000u64 {
        let size = 200 + rng.below(300_000) as usize;
        let msg = checkable_message(n, size);
        if n % 4 == 3 {
            let targets = [&inbox, &others[0], &others[1]];
            let results = maildir::deliver::fan_out(&mut &msg[..], &targets).expect("fan out");
            for (label, r) in ["a", "b", "c"].iter().zip(results) {
                println!("{label} {}", r.expect("delivered").name);
            }
        } else {
            println!("a {}", inbox.deliver(&msg[..]).expect("deliver").name);
        }
    }
}

fn kill_during_deliveries() -> Result<(), Failed> {
    let t = tempfile::tempdir().expect("tempdir");
    for sub in ["a", "b", "c"] {
        Maildir::create(t.path().join(sub)).expect("create");
    }
    let mut rng = Rng::seeded();
    let mut acked = Vec::new();
    let mut kills = 0;
    for _ in 0..25 {
        let mut child = spawn("deliver", &[t.path().display().to_string(), rng.next().to_string()]);
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        // Let it run for a random number of deliveries, then kill it mid-whatever.
        let wait_for = 1 + rng.below(12);
        for _ in 0..wait_for {
            match lines.next() {
                Some(Ok(line)) => acked.push(line),
                _ => {
                    let status = child.wait().expect("reap");
                    return Err(format!("the child stopped before it was killed: {status}").into());
                }
            }
        }
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        kills += 1;
        // What it printed before dying was acknowledged too.
        acked.extend(lines.map_while(Result::ok));
    }
    let mut checked = 0;
    for sub in ["a", "b", "c"] {
        let folder = Folder::open_dir(t.path().join(sub)).expect("open");
        for file in folder.list().expect("list").files {
            let bytes = fs::read(folder.file_path(&file)).expect("read");
            if !is_whole(&bytes) {
                return Err(format!(
                    "{sub}/{} is partial ({} bytes)",
                    file.relative_path(),
                    bytes.len()
                )
                .into());
            }
            checked += 1;
        }
        // Leftovers of killed writers are only ever in tmp/, and the sweep takes them.
        folder.sweep_tmp(Duration::ZERO).expect("sweep");
        assert!(fs::read_dir(folder.tmp_dir()).expect("tmp").next().is_none());
    }
    for line in &acked {
        let (sub, name) = line.split_once(' ').expect("ack line");
        let folder = Folder::open_dir(t.path().join(sub)).expect("open");
        if !folder.subdir(Subdir::New).join(name).exists() {
            return Err(format!("acknowledged delivery {sub}/new/{name} is missing").into());
        }
    }
    assert!(kills == 25 && checked >= acked.len(), "{checked} files, {} acknowledged", acked.len());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Two processes changing one folder

/// One random change through the crate, tolerating what the other process did first.
fn random_change(rng: &mut Rng, inbox: &Folder, junk: &Folder, n: &mut u64) {
    let pick = |rng: &mut Rng, f: &Folder| -> Option<MessageFile> {
        let files = f.list().expect("list").files;
        (!files.is_empty()).then(|| files[rng.below(files.len() as u64) as usize].clone())
    };
    let result = match rng.below(7) {
        0 => {
            *n += 1;
            inbox.deliver(&message(&format!("p{}-{n}", std::process::id()))[..]).map(|_| ())
        }
        1 | 2 => match pick(rng, inbox) {
            Some(f) => {
                let flag = [Flags::SEEN, Flags::FLAGGED, Flags::REPLIED][rng.below(3) as usize];
                let mut c = inbox.changes();
                let r = if rng.below(2) == 0 {
                    c.set_flags(&f, flag, Flags::NONE)
                } else {
                    c.set_flags(&f, Flags::NONE, flag)
                };
                r.and_then(|_| c.commit())
            }
            None => Ok(()),
        },
        3 => match pick(rng, inbox) {
            Some(f) => {
                let mut c = inbox.changes();
                c.move_to(&f, junk).and_then(|_| c.commit())
            }
            None => Ok(()),
        },
        4 => match pick(rng, junk) {
            Some(f) => {
                let mut c = junk.changes();
                c.move_to(&f, inbox).and_then(|_| c.commit())
            }
            None => Ok(()),
        },
        5 => match pick(rng, inbox) {
            Some(f) => {
                let mut c = inbox.changes();
                c.delete(&f).and_then(|_| c.commit())
            }
            None => Ok(()),
        },
        _ => match pick(rng, inbox) {
            Some(f) => {
                let mut c = inbox.changes();
                c.copy_to(&f, inbox).and_then(|_| c.commit())
            }
            None => Ok(()),
        },
    };
    match result {
        Ok(()) | Err(Error::MessageGone(_)) => {}
        Err(e) => panic!("change failed: {e}"),
    }
}

fn message(subject: &str) -> Vec<u8> {
    format!("From: x@example.org\nSubject: {subject}\nMessage-ID: <{subject}@x>\n\nbody\n")
        .into_bytes()
}

fn folders(root: &Path) -> (Folder, Folder) {
    let maildir = Maildir::open(root).expect("open");
    let junk = maildir.folder(&FolderName::parse("Junk").expect("n")).expect("junk");
    (maildir.inbox(), junk)
}

/// Child: `steps` random changes to INBOX and Junk.
fn child_mutate(args: &[String]) {
    let (inbox, junk) = folders(Path::new(&args[0]));
    let mut rng = Rng(args[1].parse().expect("seed"));
    let steps: u64 = args[2].parse().expect("steps");
    let mut n = 0;
    println!("ready");
    for _ in 0..steps {
        random_change(&mut rng, &inbox, &junk, &mut n);
    }
}

fn two_processes(options: SyncOptions<'static>) -> Result<(), Failed> {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("Maildir");
    Maildir::create(&root).expect("create");
    let (inbox, junk) = folders(&root);
    for i in 0..20 {
        inbox.deliver(&message(&format!("seed{i}"))[..]).expect("deliver");
    }
    let mut index = HeaderIndex::open_with(&inbox, &options).expect("open").0;
    let mut junk_index = HeaderIndex::open_with(&junk, &options).expect("open").0;
    let mut rng = Rng::seeded();
    let mut child =
        spawn("mutate", &[root.display().to_string(), rng.next().to_string(), "400".into()]);
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut ready = String::new();
    out.read_line(&mut ready).expect("child ready");
    let mut n = 0;
    // Change and sync while the child changes the same folders.
    let mut overlapped = 0;
    for step in 0..400 {
        random_change(&mut rng, &inbox, &junk, &mut n);
        if step % 5 == 0 {
            index.sync_with(&options).expect("sync under concurrent change");
            junk_index.sync_with(&options).expect("sync under concurrent change");
            if child.try_wait().expect("poll").is_none() {
                overlapped += 1;
            }
        }
    }
    let status = child.wait().expect("child");
    if !status.success() {
        return Err(format!("child failed: {status}").into());
    }
    if overlapped < 5 {
        return Err(format!("the processes barely overlapped ({overlapped} syncs)").into());
    }
    for (name, folder, index) in [("INBOX", &inbox, &mut index), ("Junk", &junk, &mut junk_index)] {
        index.sync_with(&options).expect("final sync");
        let truth = HeaderIndex::scan(folder).expect("scan");
        if !index.same_records(&truth) {
            return Err(format!("{name}: the index of this process differs from a scan").into());
        }
        let reopened = HeaderIndex::open_with(folder, &options).expect("reopen").0;
        if !reopened.same_records(&truth) {
            return Err(format!("{name}: snapshot and journal differ from a scan").into());
        }
    }
    Ok(())
}
