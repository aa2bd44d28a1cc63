//! The real `mailroom serve` on free loopback ports, and a plain SMTP client to talk to
//! it line by line (the tests' own eyes; the clients nobody here wrote are swaks and
//! Python's smtplib).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::binary::mailroom_path;

/// Queues a message from `sender` for `far@remote.example` in the data directory's
/// queue of this host, as the SMTP server would (remote delivery is not there yet, so
/// it stays); returns its queue id.
pub fn queue_for_remote(data: &Path, sender: &str, subject: &str) -> String {
    let queue = mta_core::queue::Queue::open(data.join("queue").join(maildir::name::hostname()))
        .expect("queue");
    let envelope = mta_core::queue::Envelope {
        sender: sender.into(),
        received: mta_core::queue::now(),
        client: "127.0.0.1 test".into(),
        recipients: vec![mta_core::queue::Recipient {
            destination: mta_core::accounts::Destination::Remote(
                mta_core::names::RemoteAddress::parse("far@remote.example").expect("address"),
            ),
            original: "far@remote.example".into(),
        }],
    };
    let mut incoming = queue.begin(&envelope).expect("begin");
    incoming.write(format!("Subject: {subject}\n\nbody\n").as_bytes()).expect("write");
    incoming.commit().expect("commit")
}

/// Waits until `done` holds, checking every 10 ms, for at most `limit`; panics with
/// `what` when the time is up.
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A running `mailroom serve`.
pub struct Server {
    child: Option<Child>,
    /// The data directory.
    pub data: PathBuf,
    /// Inbound MX.
    pub smtp: SocketAddr,
    /// Submission (STARTTLS).
    pub submission: SocketAddr,
    /// Submissions (implicit TLS).
    pub submissions: SocketAddr,
    /// The webmail (HTTPS).
    pub https: SocketAddr,
    /// Plain HTTP (redirects).
    pub http: SocketAddr,
    /// POP3 (STLS).
    pub pop3: SocketAddr,
    /// POP3 over TLS.
    pub pop3s: SocketAddr,
    /// What `serve` printed at start.
    pub banner: String,
}

impl Server {
    /// Writes `mailroom.toml` (every listener on port 0, plus `extra` TOML), starts the
    /// server, reads the ports it bound from what it prints, and writes them into the
    /// configuration so that a restart binds the same ones. No port is picked before the
    /// server binds it, so no other process can take it in between.
    pub fn start(data: &Path, extra: &str) -> Server {
        std::fs::create_dir_all(data).expect("data dir");
        let listen = |ports: [u16; 7]| {
            format!(
                "[listen]\nsmtp = \"127.0.0.1:{}\"\nsubmission = \"127.0.0.1:{}\"\n\
                 submissions = \"127.0.0.1:{}\"\nhttps = \"127.0.0.1:{}\"\nhttp = \"127.0.0.1:{}\"\n\
                 pop3 = \"127.0.0.1:{}\"\npop3s = \"127.0.0.1:{}\"\n{extra}\n",
                ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6]
            )
        };
        std::fs::write(data.join("mailroom.toml"), listen([0; 7])).expect("config");
        let unbound = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut server = Server {
            child: None,
            data: data.to_path_buf(),
            smtp: unbound,
            submission: unbound,
            submissions: unbound,
            https: unbound,
            http: unbound,
            pop3: unbound,
            pop3s: unbound,
            banner: String::new(),
        };
        server.spawn();
        let ports = [
            server.smtp,
            server.submission,
            server.submissions,
            server.https,
            server.http,
            server.pop3,
            server.pop3s,
        ]
        .map(|a| a.port());
        std::fs::write(data.join("mailroom.toml"), listen(ports)).expect("config");
        server
    }

    /// The addresses the banner says each listener is bound to.
    fn read_addresses(&mut self) {
        for line in self.banner.lines() {
            let mut words = line.split_whitespace();
            let (Some(key), Some(url)) = (words.next(), words.next()) else { continue };
            let Some(rest) = url.split_once("://").map(|(_, rest)| rest.trim_end_matches('/'))
            else {
                continue;
            };
            let Ok(address) = rest.parse::<SocketAddr>() else { continue };
            match key {
                "smtp" => self.smtp = address,
                "submission" => self.submission = address,
                "submissions" => self.submissions = address,
                "https" => self.https = address,
                "http" => self.http = address,
                "pop3" => self.pop3 = address,
                "pop3s" => self.pop3s = address,
                _ => {}
            }
        }
    }

    /// Starts the process (again) on the same data directory and ports.
    pub fn spawn(&mut self) {
        self.spawn_with(&[]);
    }

    /// Starts the process (again) behind a wrapper command, e.g. `["faketime", "-f", "+31d"]`
    /// to run it a month in the future.
    pub fn spawn_with(&mut self, wrapper: &[&str]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data.with_extension("log"))
            .expect("log file");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(mailroom_path());
                c
            }
            None => Command::new(mailroom_path()),
        };
        let mut child = command
            .arg("--data")
            .arg(&self.data)
            .arg("serve")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("mailroom serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = String::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    banner.push_str(&line);
                    banner.push('\n');
                    if line.starts_with("TLS certificate") {
                        break;
                    }
                }
                Err(_) => {
                    let log = std::fs::read_to_string(self.data.with_extension("log"))
                        .unwrap_or_default();
                    panic!("mailroom serve did not start; it printed:\n{banner}\nlog:\n{log}");
                }
            }
        }
        // The demo line follows the certificate line when the demo is on.
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            banner.push_str(&line);
            banner.push('\n');
        }
        self.banner = banner;
        self.read_addresses();
        self.child = Some(child);
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("running")
    }

    /// SIGKILL, and reap.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM; returns the exit status once it has exited (within `limit`).
    pub fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "mailroom did not exit within {limit:?} of SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Resident memory of the server, in KiB (from /proc).
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Whether the process is still alive.
    pub fn alive(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Runs a `mailroom` administration command on this data directory, with `stdin`.
    pub fn admin(&self, args: &[&str], stdin: &str) -> std::process::Output {
        crate::binary::run_in(&self.data, args, stdin)
    }

    /// Adds a user with a password (through the CLI, as an operator would).
    pub fn add_user(&self, address: &str, password: &str) {
        let out = self.admin(&["user", "add", address], &format!("{password}\n"));
        assert!(
            out.status.success(),
            "user add {address}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The message files in a user's INBOX (`new/` and `cur/`).
    pub fn inbox(&self, address: &str) -> Vec<PathBuf> {
        let (user, domain) = address.split_once('@').expect("address");
        let maildir =
            self.data.join("domains").join(domain).join("users").join(user).join("Maildir");
        let mut files = Vec::new();
        for dir in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(maildir.join(dir)) {
                files.extend(entries.flatten().map(|e| e.path()));
            }
        }
        files.sort();
        files
    }

    /// Sends one short message over inbound SMTP; returns the reply to the last step
    /// (a refusal at RCPT is that reply).
    pub fn mail(&self, from: &str, to: &str, subject: &str) -> String {
        let (mut smtp, _) = Smtp::connect(self.smtp);
        smtp.cmd("EHLO far.example");
        let message = format!("From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nhello\r\n");
        smtp.send_message(from, &[to], &message)
    }

    /// The texts of the messages in a user's folder ("" for the INBOX).
    pub fn folder_texts(&self, address: &str, folder: &str) -> Vec<String> {
        let (user, domain) = address.split_once('@').expect("address");
        let root = self.data.join("domains").join(domain).join("users").join(user).join("Maildir");
        let dir = if folder.is_empty() { root } else { root.join(format!(".{folder}")) };
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            for entry in std::fs::read_dir(dir.join(sub)).into_iter().flatten().flatten() {
                out.push(std::fs::read_to_string(entry.path()).expect("read"));
            }
        }
        out
    }

    /// The number of messages in this host's queue.
    pub fn queued(&self) -> usize {
        let Ok(hosts) = std::fs::read_dir(self.data.join("queue")) else { return 0 };
        hosts
            .flatten()
            .map(|h| std::fs::read_dir(h.path().join("mess")).map_or(0, |d| d.count()))
            .sum()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A line-by-line SMTP client over plain TCP.
pub struct Smtp {
    stream: BufReader<TcpStream>,
    /// Everything said both ways, for assertion messages.
    pub transcript: String,
}

impl Smtp {
    /// Connects and reads the greeting.
    pub fn connect(addr: SocketAddr) -> (Smtp, String) {
        Smtp::try_connect(addr).expect("connect")
    }

    /// Connects and reads the greeting; `None` if nobody listens.
    pub fn try_connect(addr: SocketAddr) -> Option<(Smtp, String)> {
        let stream = TcpStream::connect(addr).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
        let mut smtp = Smtp { stream: BufReader::new(stream), transcript: String::new() };
        let greeting = smtp.read_reply();
        Some((smtp, greeting))
    }

    /// Connects without reading anything.
    pub fn connect_silent(addr: SocketAddr) -> Smtp {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        Smtp { stream: BufReader::new(stream), transcript: String::new() }
    }

    /// Reads one (multi-line) reply; empty at end of stream.
    pub fn read_reply(&mut self) -> String {
        let mut reply = String::new();
        loop {
            let mut line = Vec::new();
            match self.stream.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            reply.push_str(&text);
            if text.len() < 4 || text.as_bytes()[3] != b'-' {
                break;
            }
        }
        self.transcript.push_str(&format!("S: {reply}"));
        reply
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) -> bool {
        self.transcript
            .push_str(&format!("C: {}\n", String::from_utf8_lossy(bytes).escape_debug()));
        self.stream.get_mut().write_all(bytes).is_ok()
    }

    /// Sends a command line and reads its reply.
    pub fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.read_reply()
    }

    /// Reads until the server closes, returning what it said.
    pub fn read_to_end(&mut self) -> String {
        let mut rest = Vec::new();
        let _ = self.stream.read_to_end(&mut rest);
        String::from_utf8_lossy(&rest).into_owned()
    }

    /// Sends one message in one transaction; returns the final reply.
    pub fn send_message(&mut self, from: &str, to: &[&str], message: &str) -> String {
        let reply = self.cmd(&format!("MAIL FROM:<{from}>"));
        if !reply.starts_with("250") {
            return reply;
        }
        for rcpt in to {
            let reply = self.cmd(&format!("RCPT TO:<{rcpt}>"));
            if !reply.starts_with("250") {
                return reply;
            }
        }
        let reply = self.cmd("DATA");
        if !reply.starts_with("354") {
            return reply;
        }
        // Dot-stuffing (RFC 5321 §4.5.2): a line that starts with "." gets another.
        let stuffed = message.replace("\r\n.", "\r\n..");
        let stuffed = if stuffed.starts_with('.') { format!(".{stuffed}") } else { stuffed };
        self.send(stuffed.as_bytes());
        self.send(b"\r\n.\r\n");
        self.read_reply()
    }
}
