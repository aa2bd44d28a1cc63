//! Benchmarks of the Maildir store and its header index, printed as a table.
//!
//! ```text
//! cargo bench -p maildir              # everything (about 3 minutes, 1.5 GB of scratch files)
//! cargo bench -p maildir -- --quick   # fewer and smaller runs
//! cargo bench -p maildir -- index     # only sections whose name contains "index"
//! ```
//!
//! Scratch files go to `$MAILROOM_BENCH_DIR` (default: the system temp directory) and are
//! removed at the end. Every figure is the median of several runs; the table says how
//! many. Budgets are in DESIGN.md §7 and the foundation issue; README.md has the results.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use maildir::index::{HeaderIndex, Query, Search, SearchField};
use maildir::{Flags, Folder, FolderName, Maildir};

struct Config {
    quick: bool,
    filter: Option<String>,
    scratch: PathBuf,
}

fn main() {
    let mut quick = false;
    let mut filter = None;
    // cargo passes --bench; other flags are ours.
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--bench" => {}
            "--quick" => quick = true,
            a if !a.starts_with('-') => filter = Some(a.to_string()),
            _ => {}
        }
    }
    let base = std::env::var_os("MAILROOM_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let scratch =
        tempfile::Builder::new().prefix("mailroom-bench").tempdir_in(base).expect("scratch dir");
    let config = Config { quick, filter, scratch: scratch.path().to_path_buf() };
    println!("{}", machine());
    let sections: [Section; 3] =
        [("delivery", bench_delivery), ("fanout", bench_fanout), ("index", bench_index)];
    for (name, run) in sections {
        if config.filter.as_deref().is_none_or(|f| name.contains(f)) {
            run(&config);
        }
    }
}

/// A named group of measurements.
type Section = (&'static str, fn(&Config));

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("machine: {cores} cores, {cpu}")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------
// Deliveries per second: the library against the bare system calls it is made of.

fn message(size: usize, n: usize) -> Vec<u8> {
    let mut m = format!(
        "Return-Path: <sender{n}@example.org>\nReceived: from mx.example.org by mail.example.com; Tue, 2 Jan 2024 10:00:00 +0000\n\
         From: Sender {n} <sender{n}@example.org>\nTo: user@example.com\nSubject: Message number {n}\n\
         Date: Tue, 2 Jan 2024 10:00:00 +0000\nMessage-ID: <{n}@example.org>\n\n"
    )
    .into_bytes();
    while m.len() < size {
        m.extend_from_slice(b"The quick brown fox jumps over the lazy dog, again and again.\n");
    }
    m.truncate(size);
    m
}

/// The same durability as `Folder::deliver`, written out with nothing in between:
/// exclusive create in tmp/, write, fsync, rename into new/, fsync new/.
fn raw_deliver(dir: &Path, msg: &[u8], n: usize, writer: usize) {
    let name = format!("raw.{writer}.{n}");
    let tmp = dir.join("tmp").join(&name);
    let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp).expect("create");
    f.write_all(msg).expect("write");
    f.sync_all().expect("fsync");
    drop(f);
    let new_dir = dir.join("new");
    fs::rename(&tmp, new_dir.join(&name)).expect("rename");
    File::open(&new_dir).and_then(|d| d.sync_all()).expect("fsync dir");
}

fn deliveries_per_second(
    config: &Config,
    size: usize,
    writers: usize,
    raw: bool,
    round: usize,
) -> f64 {
    let per_writer = if config.quick { 100 } else { 400 } / writers.min(4);
    let root = config.scratch.join(format!("deliver-{size}-{writers}-{raw}-{round}"));
    let boxes: Vec<Folder> = (0..writers)
        .map(|w| Maildir::create(root.join(format!("box{w}"))).expect("create").inbox())
        .collect();
    let msg = message(size, 0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for (w, inbox) in boxes.iter().enumerate() {
            let msg = &msg;
            s.spawn(move || {
                for n in 0..per_writer {
                    if raw {
                        raw_deliver(inbox.path(), msg, n, w);
                    } else {
                        inbox.deliver(&msg[..]).expect("deliver");
                    }
                }
            });
        }
    });
    let rate = (per_writer * writers) as f64 / started.elapsed().as_secs_f64();
    fs::remove_dir_all(&root).expect("clean up");
    rate
}

fn bench_delivery(config: &Config) {
    println!("\n## Deliveries per second (fsync on; each writer its own mailbox)");
    println!(
        "{:<10} {:>8} {:>14} {:>14} {:>8}",
        "size", "writers", "raw syscalls/s", "maildir/s", "ratio"
    );
    let rounds = if config.quick { 1 } else { 3 };
    for size in [2048, 50 * 1024] {
        for writers in [1, 8] {
            let (mut raw, mut lib) = (Vec::new(), Vec::new());
            // Interleave the two so that disk weather hits both alike.
            for round in 0..rounds {
                raw.push(deliveries_per_second(config, size, writers, true, round));
                lib.push(deliveries_per_second(config, size, writers, false, round));
            }
            let (raw, lib) = (median(raw), median(lib));
            println!(
                "{:<10} {:>8} {:>14.0} {:>14.0} {:>7.0}%",
                format!("{} KiB", size / 1024),
                writers,
                raw,
                lib,
                100.0 * lib / raw
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// One message to 1,024 mailboxes.

fn bench_fanout(config: &Config) {
    println!("\n## Fan-out: one 4 KiB message to 1,024 mailboxes (written once, hard-linked)");
    let root = config.scratch.join("fanout");
    let boxes: Vec<Folder> = (0..1024)
        .map(|i| Maildir::create(root.join(format!("u{i}"))).expect("create").inbox())
        .collect();
    let targets: Vec<&Folder> = boxes.iter().collect();
    let msg = message(4096, 1);
    let runs = if config.quick { 3 } else { 7 };
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let results = maildir::deliver::fan_out(&mut &msg[..], &targets).expect("fan out");
        times.push(ms(started.elapsed()));
        assert!(results.iter().all(Result::is_ok));
    }
    let med = median(times.clone());
    let verdict = if med <= 1000.0 { "met" } else { "MISSED" };
    println!(
        "median {med:.0} ms, best {:.0} ms over {runs} runs  (budget 1000 ms: {verdict})",
        percentile(times, 0.0)
    );
    fs::remove_dir_all(&root).expect("clean up");
}

// ---------------------------------------------------------------------------------------
// The header index.

/// A realistic message: a header block like today's mail (Received chain, DKIM, ARC,
/// list headers) of 1.5–3 KiB and a body of 1–30 KiB.
fn corpus_message(n: usize) -> Vec<u8> {
    let senders = ["Alice Martin", "bob", "Chloé Durand", "newsletter", "Dmitri Ivanov", "eve"];
    let who = senders[n % senders.len()];
    let mut m = String::with_capacity(8192);
    m.push_str(&format!("Return-Path: <{n}@lists.example.org>\nDelivered-To: user@example.com\n"));
    for hop in 0..3 {
        m.push_str(&format!(
            "Received: from mx{hop}.example.org (mx{hop}.example.org [192.0.2.{hop}])\n\tby mail.example.com (Mailroom) with ESMTPS id {n}{hop}\n\tfor <user@example.com>; Tue, {} Jan 2024 10:{:02}:00 +0000\n",
            1 + n % 28,
            n % 60
        ));
    }
    m.push_str("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=sel;\n\th=from:to:subject:date:message-id;\n\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n\tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR\n\t yPWi+zAelEiCJRNOLEwoG8uTwwuOrzyeY9ujsqdqHUrW0Z1q2fxkIFWSHBV3yoG0\n");
    m.push_str("ARC-Seal: i=1; a=rsa-sha256; t=1704189600; cv=none; d=example.org; s=arc;\n\tb=k6zN0f8H5jVqGDQ2ZZfMZcHJbY6Fr3u4FxzIQeHjfWk7Lv0gQ+q2y0cN9aTtUe3rX\n");
    m.push_str(&format!(
        "From: {who} <{}@example.org>\nTo: User <user@example.com>\nSubject: {} {n}\nDate: Tue, {} Jan 2024 {:02}:{:02}:00 +0000\nMessage-ID: <{n}.{}@example.org>\n",
        who.to_lowercase().replace(' ', "."),
        ["Quarterly report", "Re: lunch on Friday", "Votre facture", "AW: Projekt", "Weekly digest"][n % 5],
        1 + n % 28,
        n % 24,
        n % 60,
        n * 7919
    ));
    if n.is_multiple_of(3) {
        m.push_str(&format!("In-Reply-To: <{}.x@example.org>\nReferences: <root.{}@example.org> <{}.x@example.org>\n", n / 3, n % 100, n / 3));
    }
    m.push_str("List-Id: <news.example.org>\nMIME-Version: 1.0\n");
    if n.is_multiple_of(7) {
        m.push_str(
            "Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\n",
        );
    } else {
        m.push_str("Content-Type: text/plain; charset=utf-8\n\n");
    }
    let body = 1024 + (n * 2654435761) % (29 * 1024);
    while m.len() < body + 2000 {
        m.push_str(
            "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n",
        );
    }
    m.into_bytes()
}

/// A folder of `n` messages in cur/ (most seen) with Maildir++ names, written without
/// fsync (only their presence in the page cache matters here).
fn corpus(config: &Config, n: usize) -> Maildir {
    let root = config.scratch.join(format!("corpus-{n}"));
    let maildir = Maildir::create(&root).expect("create");
    let cur = root.join("cur");
    for i in 0..n {
        let msg = corpus_message(i);
        let flags = if i % 10 == 0 { "" } else { "S" };
        let name = format!("{}.M{i}P1Q{i}.bench,S={}:2,{flags}", 1_700_000_000 + i, msg.len());
        fs::write(cur.join(name), msg).expect("write");
    }
    maildir
}

fn bench_index(config: &Config) {
    let sizes: &[usize] = if config.quick { &[20_000] } else { &[20_000, 100_000] };
    println!("\n## Header index (files in the page cache; server time, no HTTP)");
    for &n in sizes {
        let started = Instant::now();
        let maildir = corpus(config, n);
        let inbox = maildir.inbox();
        println!("\n### {n} messages (corpus written in {:.1} s)", started.elapsed().as_secs_f64());
        let index_file = inbox.path().join(maildir::index::FILE);

        // What the system calls alone cost: list the directories and open, read and close
        // every file on every core, parsing nothing. The first build cannot beat this.
        let runs = if config.quick { 3 } else { 5 };
        let floor: Vec<f64> = (0..runs).map(|_| syscall_floor(&inbox)).collect();
        report("floor: list + open/read 4 KiB/close each file, no parsing", floor, None);

        // First build: no index file.
        let runs = if config.quick { 3 } else { 5 };
        let mut build = Vec::new();
        for _ in 0..runs {
            let _ = fs::remove_file(&index_file);
            let t = Instant::now();
            let (index, _) = HeaderIndex::open(&inbox).expect("build");
            build.push(ms(t.elapsed()));
            assert_eq!(index.len(), n);
        }
        let size = fs::metadata(&index_file).expect("index file").len();
        // The issue's budget: 20,000 messages in 90 ms (SqWebMail: 935 ms).
        let budget = (n == 20_000).then_some(90.0);
        report("first build (list, read headers, write index)", build, budget);
        println!(
            "{:<52} {:>9.1} MiB ({} bytes per message)",
            "index file",
            size as f64 / 1048576.0,
            size / n as u64
        );

        // Open from the snapshot, as a new process would.
        let mut open = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let _ = HeaderIndex::open(&inbox).expect("open");
            open.push(ms(t.elapsed()));
        }
        report("open from the index file (new process)", open, None);

        // Stamps age past the racy window, as they do on a live system between changes
        // (a stamp younger than the window is re-checked by listing; see INTERNALS.md).
        std::thread::sleep(maildir::index::RACY_WINDOW);
        let (mut index, _) = HeaderIndex::open(&inbox).expect("open");
        index.sync().expect("settle");
        let page = Query::default();
        let reps = if config.quick { 50 } else { 200 };

        let mut warm = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            index.sync().expect("sync");
            let p = index.query(&page);
            warm.push(ms(t.elapsed()));
            assert_eq!(p.records.len(), 50);
        }
        report("page 1 warm (sync + sort by date + page of 50)", warm, Some(5.0));

        let files = first_files(&index);
        let mut after_flag = Vec::new();
        for (i, file) in files.iter().take(reps).enumerate() {
            let mut changes = inbox.changes();
            let add = if i % 2 == 0 { Flags::FLAGGED } else { Flags::REPLIED };
            changes.set_flags(file, add, Flags::NONE).expect("flag");
            changes.commit().expect("commit");
            let t = Instant::now();
            let r = index.sync().expect("sync");
            let _ = index.query(&page);
            after_flag.push(ms(t.elapsed()));
            assert_eq!((r.renamed, r.listed), (1, [false, false]));
        }
        report("page 1 right after one flag change", after_flag, Some(5.0));

        let archive = maildir.folder(&FolderName::parse("Junk").expect("n")).expect("junk");
        let files = first_files(&index);
        let mut after_move = Vec::new();
        for file in files.iter().take(reps) {
            let mut changes = inbox.changes();
            changes.move_to(file, &archive).expect("move");
            changes.commit().expect("commit");
            let t = Instant::now();
            let r = index.sync().expect("sync");
            let _ = index.query(&page);
            after_move.push(ms(t.elapsed()));
            assert_eq!((r.removed, r.listed[1]), (1, false));
        }
        report("page 1 right after one move out", after_move, Some(5.0));

        let mut after_delivery = Vec::new();
        for i in 0..reps {
            inbox.deliver(&corpus_message(n + i)[..]).expect("deliver");
            let t = Instant::now();
            let r = index.sync().expect("sync");
            let _ = index.query(&page);
            after_delivery.push(ms(t.elapsed()));
            assert_eq!(r.added, 1);
        }
        report("page 1 right after one delivery", after_delivery, Some(5.0));

        let mut search = Vec::new();
        let absent =
            Query { search: Some(Search::new(SearchField::Any, "zyzzyva")), ..Query::default() };
        for _ in 0..reps.min(50) {
            let t = Instant::now();
            index.sync().expect("sync");
            let p = index.query(&absent);
            search.push(ms(t.elapsed()));
            assert_eq!(p.total, 0);
        }
        report("header search for an absent word (from/to/subject)", search, None);
        fs::remove_dir_all(maildir.root()).expect("clean up");
    }
}

/// Milliseconds to list `new/` and `cur/` and open, read 4 KiB of and close every file,
/// on as many threads as there are cores.
fn syscall_floor(folder: &Folder) -> f64 {
    let t = Instant::now();
    let mut paths = Vec::new();
    for dir in ["new", "cur"] {
        for entry in fs::read_dir(folder.path().join(dir)).expect("list") {
            paths.push(entry.expect("entry").path());
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|s| {
        for chunk in paths.chunks(paths.len().div_ceil(cores).max(1)) {
            s.spawn(move || {
                let mut buf = [0u8; 4096];
                for path in chunk {
                    let mut f = File::open(path).expect("open");
                    std::hint::black_box(std::io::Read::read(&mut f, &mut buf).expect("read"));
                }
            });
        }
    });
    ms(t.elapsed())
}

/// The files of the first 1,000 records in the default order.
fn first_files(index: &HeaderIndex) -> Vec<maildir::MessageFile> {
    let page = index.query(&Query { limit: 1000, ..Query::default() });
    page.records.iter().map(|r| r.file()).collect()
}

fn report(what: &str, times: Vec<f64>, budget: Option<f64>) {
    let (med, p95, n) = (median(times.clone()), percentile(times.clone(), 0.95), times.len());
    let verdict = match budget {
        Some(b) if med <= b => format!("  (budget {b} ms: met)"),
        Some(b) => format!("  (budget {b} ms: MISSED)"),
        None => String::new(),
    };
    println!("{what:<52} {med:>9.2} ms median, {p95:.2} ms p95, {n} runs{verdict}");
}
