//! Failure tests of the SMTP → queue → Maildir pipeline with the real binary: kill -9 at
//! random instants during 2,000 deliveries, and a full disk.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailroom_tests::server::{Server, Smtp, wait_for};

const USERS: [&str; 4] =
    ["demo@demo.example", "u1@demo.example", "u2@demo.example", "u3@demo.example"];

fn message(n: usize) -> String {
    format!(
        "Subject: msg {n}\r\nX-Seq: {n}\r\n\r\n{}\r\nend-of-message {n}",
        "line of body text\r\n".repeat(40)
    )
}

/// Sends message `n` until the server acknowledges it (reconnecting across restarts).
/// Returns false if the deadline passes.
fn send_until_acked(server_addr: std::net::SocketAddr, n: usize, deadline: Instant) -> bool {
    while Instant::now() < deadline {
        // Between a kill and the restart nobody listens: try again at once (the
        // restart takes milliseconds; the deadline bounds the loop).
        let Some((mut smtp, greeting)) = Smtp::try_connect(server_addr) else {
            std::thread::yield_now();
            continue;
        };
        if !greeting.starts_with("220") {
            continue;
        }
        if !smtp.cmd("EHLO loader.example").starts_with("250") {
            continue;
        }
        let reply = smtp.send_message("loader@far.example", &[USERS[n % USERS.len()]], &message(n));
        if reply.starts_with("250") {
            smtp.cmd("QUIT");
            return true;
        }
    }
    false
}

#[test]
fn kill_9_at_random_instants_during_2000_deliveries_loses_nothing_acknowledged() {
    const TOTAL: usize = 2000;
    const CLIENTS: usize = 8;
    const KILLS: usize = 5;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(&dir.path().join("data"), "");
    for user in &USERS[1..] {
        server.add_user(user, "password-1");
    }
    let addr = server.smtp;
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let deadline = Instant::now() + Duration::from_secs(240);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (next, acked) = (Arc::clone(&next), Arc::clone(&acked));
            std::thread::spawn(move || {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= TOTAL {
                        return;
                    }
                    assert!(send_until_acked(addr, n, deadline), "message {n} never acknowledged");
                    acked.lock().expect("lock").insert(n);
                }
            })
        })
        .collect();

    // Kill points: one at a random count within each sixth of the run.
    let mut seed = (std::process::id() as u64) ^ 0x9e37_79b9_7f4a_7c15;
    let mut random = |below: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as usize
    };
    for k in 0..KILLS {
        let at = (k + 1) * TOTAL / (KILLS + 1) + random(TOTAL / (KILLS + 1) / 2);
        wait_for("the next kill point", Duration::from_secs(120), || {
            acked.lock().expect("lock").len() >= at
        });
        server.kill9();
        server.spawn();
    }
    for client in clients {
        client.join().expect("client thread");
    }
    let acked = acked.lock().expect("lock").clone();
    assert_eq!(acked.len(), TOTAL);
    wait_for("the queue to empty", Duration::from_secs(120), || server.queued() == 0);

    let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
    for user in USERS {
        for path in server.inbox(user) {
            let text = std::fs::read_to_string(&path).expect("read");
            let n: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("X-Seq: "))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{} has no X-Seq: {text}", path.display()));
            assert!(
                text.ends_with(&format!("end-of-message {n}\n")),
                "{} is partial",
                path.display()
            );
            assert_eq!(USERS[n % USERS.len()], user, "message {n} in the wrong mailbox");
            *seen.entry(n).or_default() += 1;
        }
    }
    let lost: Vec<_> = acked.iter().filter(|n| !seen.contains_key(n)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let duplicates: usize = seen.values().map(|c| c - 1).sum();
    let max = seen.values().max().copied().unwrap_or(0);
    assert!(max <= 1 + KILLS, "a message was delivered {max} times");
    // Each kill can repeat at most the deliveries in flight and the sessions in DATA.
    let bound = KILLS * (mta_core::queue::scheduler::CONCURRENCY + CLIENTS);
    assert!(duplicates <= bound, "{duplicates} duplicates after {KILLS} kills (bound {bound})");
    eprintln!("{TOTAL} acknowledged, {KILLS} kills, {duplicates} duplicates, none lost");
}

/// A small tmpfs, unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &std::path::Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "this test mounts a small tmpfs and needs root (CI runs as root)"
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_answers_452_loses_nothing_and_recovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mount = dir.path().join("small");
    let _tmpfs = Tmpfs::mount(&mount, "6m");
    let mut server = Server::start(&mount.join("data"), "");
    // Fill the disk, leaving about 600 KiB.
    let filler = mount.join("filler");
    std::fs::create_dir_all(&filler).expect("filler dir");
    let mut pieces = 0;
    while std::fs::write(filler.join(pieces.to_string()), vec![0u8; 64 * 1024]).is_ok() {
        pieces += 1;
    }
    for n in 0..10 {
        let _ = std::fs::remove_file(filler.join((pieces - 1 - n).to_string()));
    }
    let big = format!(
        "Subject: big\r\n\r\n{}",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n".repeat(1600)
    );
    let mut acked = 0;
    let mut full = 0;
    for _ in 0..20 {
        let (mut smtp, _) = Smtp::connect(server.smtp);
        smtp.cmd("EHLO x");
        let reply = smtp.send_message("a@far.example", &["demo@demo.example"], &big);
        if reply.starts_with("250") {
            acked += 1;
        } else {
            let log =
                std::fs::read_to_string(server.data.with_extension("log")).unwrap_or_default();
            assert!(
                reply.starts_with("452 4.3.1"),
                "not 452 4.3.1: {reply:?}\n{}\n{log}",
                smtp.transcript
            );
            full += 1;
        }
    }
    assert!(acked >= 1 && full >= 1, "{acked} accepted, {full} refused: the disk never filled");
    assert!(server.alive());
    // Free the space: everything acknowledged arrives, and new mail is accepted again.
    std::fs::remove_dir_all(&filler).expect("free space");
    let out = server.admin(&["queue", "flush"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    wait_for("every acknowledged message", Duration::from_secs(30), || {
        server.queued() == 0 && server.inbox("demo@demo.example").len() == acked
    });
    // Stored with LF line endings, the client's final CRLF before the dot included.
    let stored = format!("{}\n", big.replace("\r\n", "\n"));
    for path in server.inbox("demo@demo.example") {
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.ends_with(&stored), "{} is not the whole message", path.display());
    }
    let (mut smtp, _) = Smtp::connect(server.smtp);
    smtp.cmd("EHLO x");
    assert!(smtp.send_message("a@far.example", &["demo@demo.example"], &big).starts_with("250"));
    server.kill9();
}
