//! SMTP against the real `mailroom serve`, with clients nobody here wrote (swaks,
//! Python's smtplib) and with hostile input sent line by line.

use std::process::Command;
use std::time::Duration;

use mailroom_tests::server::{Server, Smtp, wait_for};

const DEMO: &str = "demo@demo.example";
const DEMO_PASSWORD: &str = "mailroom-demo";

fn start(extra: &str) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), extra);
    (dir, server)
}

fn swaks(args: &[&str]) -> (bool, String) {
    let out = Command::new("swaks").args(args).output().expect(
        "swaks is installed (tests/run installs it: apt-get install swaks libio-socket-ssl-perl)",
    );
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// swaks' AUTH options for the demo account.
fn demo_auth<'a>(mechanism: &'a str, password: &'a str) -> [&'a str; 6] {
    ["--auth", mechanism, "--auth-user", DEMO, "--auth-password", password]
}

fn contents(server: &Server, address: &str) -> Vec<String> {
    server
        .inbox(address)
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("read message"))
        .collect()
}

#[test]
fn swaks_delivers_with_and_without_starttls_and_relays_only_after_auth() {
    let (_dir, server) = start("");
    assert!(
        server.banner.contains("Demo login: demo@demo.example  password: mailroom-demo"),
        "{}",
        server.banner
    );
    let mx = server.smtp.to_string();
    let (ok, out) = swaks(&[
        "--server",
        &mx,
        "--from",
        "a@far.example",
        "--to",
        DEMO,
        "--header",
        "Subject: plain",
        "--body",
        "hello plain",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("250 2.0.0 queued as"), "{out}");
    let (ok, out) = swaks(&[
        "--server",
        &mx,
        "--tls",
        "--from",
        "a@far.example",
        "--to",
        DEMO,
        "--header",
        "Subject: over tls",
        "--body",
        "hello tls",
    ]);
    assert!(ok, "{out}");
    // swaks' default sender is root@<this host>: a one-label host is a fine sender.
    let (ok, out) = swaks(&["--server", &mx, "--to", DEMO, "--header", "Subject: default sender"]);
    assert!(ok && out.contains("250 2.0.0 queued"), "{out}");
    wait_for("three deliveries", Duration::from_secs(10), || server.inbox(DEMO).len() == 3);
    let all = contents(&server, DEMO).join("\n");
    assert!(all.contains("Subject: plain") && all.contains("hello plain"), "{all}");
    assert!(all.contains("with ESMTPS id") && all.contains("hello tls"), "{all}");
    assert!(all.contains("Delivered-To: demo@demo.example\nReceived: from"), "{all}");

    // The MX port never relays, and offers no AUTH.
    let (ok, out) =
        swaks(&["--server", &mx, "--from", "a@far.example", "--to", "b@elsewhere.example"]);
    assert!(!ok && out.contains("550 5.7.1"), "{out}");

    let sub = server.submission.to_string();
    // AUTH before STARTTLS is not offered: swaks gives up.
    let mut args = vec!["--server", sub.as_str(), "--from", DEMO, "--to", "b@elsewhere.example"];
    args.extend(demo_auth("PLAIN", DEMO_PASSWORD));
    let (ok, out) = swaks(&args);
    assert!(!ok && out.contains("did not advertise"), "{out}");
    // With STARTTLS and the right password: relayed (queued for remote delivery).
    args.push("--tls");
    let (ok, out) = swaks(&args);
    assert!(ok && out.contains("235 2.7.0") && out.contains("250 2.0.0 queued"), "{out}");
    // A wrong password.
    let to_demo = ["--from", DEMO, "--to", DEMO];
    let (ok, out) = swaks(
        &[&["--server", &sub, "--tls"][..], &demo_auth("LOGIN", "wrong-password"), &to_demo]
            .concat(),
    );
    assert!(!ok && out.contains("535 5.7.8"), "{out}");
    // Implicit TLS on submissions, AUTH LOGIN.
    let subs = server.submissions.to_string();
    let subject = ["--header", "Subject: submissions"];
    let (ok, out) = swaks(
        &[
            &["--server", &subs, "--tls-on-connect"][..],
            &demo_auth("LOGIN", DEMO_PASSWORD),
            &to_demo,
            &subject,
        ]
        .concat(),
    );
    assert!(ok, "{out}");
    wait_for("the submitted message", Duration::from_secs(10), || server.inbox(DEMO).len() == 4);
    assert!(contents(&server, DEMO).join("\n").contains("with ESMTPSA id"));

    let list = server.admin(&["queue", "list", "--json"], "");
    let list: String = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        list.contains("\"b@elsewhere.example\"") && list.contains("\"state\": \"pending\""),
        "{list}"
    );
}

#[test]
fn python_smtplib_pipelines_and_sees_each_recipient_checked() {
    let (_dir, server) = start("");
    let script = format!(
        r#"
import smtplib, ssl, json
out = {{}}
s = smtplib.SMTP("127.0.0.1", {port})
s.ehlo()
out["pipelining"] = s.has_extn("pipelining")
s.starttls(context=ssl._create_unverified_context())
s.ehlo()
refused = s.sendmail("a@far.example", ["{demo}", "nobody@demo.example"], "Subject: py\r\n\r\nfrom python\r\n")
out["refused"] = {{k: [v[0], v[1].decode()] for k, v in refused.items()}}
try:
    s.sendmail("a@far.example", ["x@elsewhere.example"], "Subject: relay\r\n\r\nx\r\n")
    out["relay"] = "accepted"
except smtplib.SMTPRecipientsRefused as e:
    out["relay"] = {{k: v[0] for k, v in e.recipients.items()}}
for n in range(5):
    s.sendmail("a@far.example", ["{demo}"], "Subject: batch %d\r\n\r\nb\r\n" % n)
s.quit()
print(json.dumps(out))
"#,
        port = server.smtp.port(),
        demo = DEMO
    );
    let out = Command::new("python3").arg("-c").arg(&script).output().expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("\"pipelining\": true"), "{text}");
    assert!(text.contains("\"nobody@demo.example\": [550, \"5.1.1 no such user here\"]"), "{text}");
    assert!(text.contains("\"relay\": {\"x@elsewhere.example\": 550}"), "{text}");
    wait_for("six deliveries", Duration::from_secs(10), || server.inbox(DEMO).len() == 6);
}

/// The fake end-of-data sequences of the SMTP smuggling research (SEC Consult, 2023) and
/// the variants published after it.
const FAKE_ENDS: [&str; 12] = [
    "\n.\n",
    "\n.\r\n",
    "\r.\r",
    "\r\n.\r",
    "\r\n.\n",
    "\r.\r\n",
    "\r.\n",
    "\n.\r",
    "\r",
    "\n",
    "\r\n\n.\r\n",
    "\r\n.\r\r\n",
];

#[test]
fn smuggled_second_messages_are_never_accepted() {
    let (_dir, server) = start("");
    for fake in FAKE_ENDS {
        let (mut smtp, _) = Smtp::connect(server.smtp);
        smtp.cmd("EHLO attacker.example");
        assert!(smtp.cmd("MAIL FROM:<a@far.example>").starts_with("250"));
        assert!(smtp.cmd(&format!("RCPT TO:<{DEMO}>")).starts_with("250"));
        assert!(smtp.cmd("DATA").starts_with("354"));
        smtp.send(format!("Subject: first\r\n\r\nfirst body{fake}").as_bytes());
        smtp.send(
            format!(
                "MAIL FROM:<ceo@bank.example>\r\nRCPT TO:<{DEMO}>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n"
            )
            .as_bytes(),
        );
        let mut said = smtp.read_reply();
        said.push_str(&smtp.read_to_end());
        assert!(!said.contains("queued"), "{fake:?}: {}", smtp.transcript);
        assert!(said.starts_with("554 5.6.11"), "{fake:?}: {said}");
    }
    // The control: a proper message is accepted on the same server.
    let (mut smtp, _) = Smtp::connect(server.smtp);
    smtp.cmd("EHLO honest.example");
    assert!(
        smtp.send_message("a@far.example", &[DEMO], "Subject: honest\r\n\r\nok").contains("queued")
    );
    wait_for("the honest message", Duration::from_secs(10), || server.inbox(DEMO).len() == 1);
    let all = contents(&server, DEMO).join("\n");
    assert!(
        all.contains("Subject: honest") && !all.contains("smuggled") && !all.contains("first body"),
        "{all}"
    );
}

#[test]
fn no_relay_trick_gets_through() {
    let (_dir, server) = start("");
    let tricks = [
        "victim%far.example@demo.example",
        "far.example!victim@demo.example",
        "@demo.example:victim@far.example",
        "@demo.example,@other.example:victim@far.example",
        "\"victim@far.example\"@demo.example",
        "\"victim%far.example\"@demo.example",
        "\"far.example!victim\"@demo.example",
        "victim@far.example",
        "victim@FAR.Example",
        "victim@far.example.",
        "victim@demo.example.",
        "victim@demo.example.far.example",
        "victim@far.example@demo.example",
        "victim%far.example",
        "far.example!victim",
        "victim@[127.0.0.1]",
        "victim@[IPv6:::1]",
        "victim@127.0.0.1",
        "victim@localhost",
        "victim@far.example%demo.example",
        "DEMO@demo.example.",
        "VICTIM@FAR.EXAMPLE.",
    ];
    assert!(tricks.len() >= 16);
    for trick in tricks {
        // One session per trick: a session that collects refusals is closed after
        // MAX_ERRORS of them, which would end the test early.
        let (mut smtp, _) = Smtp::connect(server.smtp);
        smtp.cmd("EHLO relay-tester.example");
        assert!(
            smtp.cmd("MAIL FROM:<spammer@far.example>").starts_with("250"),
            "{}",
            smtp.transcript
        );
        let reply = smtp.cmd(&format!("RCPT TO:<{trick}>"));
        assert!(reply.starts_with('5') || reply.starts_with('4'), "{trick} got {reply}");
        let data = smtp.cmd("DATA");
        assert!(!data.starts_with("354"), "{trick}: DATA accepted");
    }
    // And nothing unauthenticated passes MAIL on the submission port.
    let (mut smtp, _) = Smtp::connect(server.submission);
    smtp.cmd("EHLO relay-tester.example");
    assert!(smtp.cmd("MAIL FROM:<spammer@far.example>").starts_with("530 5.7.0"));
    assert_eq!(server.queued(), 0, "something was queued");
    assert!(server.inbox(DEMO).is_empty());
}

#[test]
fn malformed_input_gets_a_reply_or_a_close_and_memory_stays_bounded() {
    let (_dir, mut server) = start("");
    // Commands before the greeting.
    let mut early = Smtp::connect_silent(server.smtp);
    early.send(b"EHLO early.example\r\n");
    assert!(early.read_reply().starts_with("220"));
    assert!(early.read_reply().starts_with("250"));

    let (mut smtp, _) = Smtp::connect(server.smtp);
    smtp.send(&vec![b'A'; 100_000]);
    smtp.send(b"\r\n");
    assert!(smtp.read_reply().starts_with("500 5.5.2 line too long"));
    assert!(smtp.cmd("NO\0OP").starts_with("500 5.5.2"));
    let eight_bit = smtp.cmd("MAIL FROM:<\u{e9}\u{ff}@far.example>");
    assert!(eight_bit.starts_with('5') || eight_bit.starts_with("503"), "{eight_bit}");
    smtp.send(b"\xff\xfe\x80garbage\r\n");
    assert!(smtp.read_reply().starts_with('5'));
    assert!(smtp.cmd("NOOP").starts_with("250"), "the session survived");

    // A pipelining flood: answered until the command bound, then closed.
    let (mut flood, _) = Smtp::connect(server.smtp);
    let burst = b"NOOP\r\n".repeat(20_000);
    flood.send(&burst);
    let said = flood.read_to_end();
    assert!(
        said.lines().filter(|l| l.starts_with("250 2.0.0")).count() >= 9_000,
        "too few replies"
    );
    assert!(said.contains("421 4.7.0 too many commands"), "no bound");

    // Random bytes, a megabyte of them.
    let (mut noise, _) = Smtp::connect(server.smtp);
    let mut x: u32 = 0x1234_5678;
    let bytes: Vec<u8> = (0..1_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    noise.send(&bytes);
    let _ = noise.read_to_end();

    assert!(server.alive(), "the server died");
    let rss = server.rss_kib();
    assert!(rss > 0 && rss < 100 * 1024, "server RSS {rss} KiB after the floods");
    let (mut smtp, greeting) = Smtp::connect(server.smtp);
    assert!(greeting.starts_with("220"));
    smtp.cmd("EHLO after.example");
    assert!(
        smtp.send_message("a@far.example", &[DEMO], "Subject: after\r\n\r\nstill fine")
            .contains("queued")
    );
}

#[test]
fn idle_clients_are_closed_and_sigterm_stops_cleanly() {
    let (_dir, mut server) = start("[smtp]\nidle_timeout_secs = 1\n");
    let (mut idle, _) = Smtp::connect(server.smtp);
    assert!(idle.read_reply().starts_with("421 4.4.2"), "{}", idle.transcript);
    let (mut waiting, _) = Smtp::connect(server.smtp);
    waiting.cmd("EHLO x");
    let status = server.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
    assert!(std::net::TcpStream::connect(server.smtp).is_err(), "still listening after exit");
}

#[test]
fn over_quota_is_refused_at_rcpt_when_known() {
    let (_dir, server) = start("");
    server.add_user("small@demo.example", "password-1");
    let out = server.admin(&["user", "quota", "small@demo.example", "200"], "");
    assert!(out.status.success());
    let (mut smtp, _) = Smtp::connect(server.smtp);
    smtp.cmd("EHLO x");
    let body = format!("Subject: fill\r\n\r\n{}", "x".repeat(300));
    // Under quota when it arrives: accepted, then deferred by delivery (it does not fit).
    assert!(smtp.send_message("a@far.example", &["small@demo.example"], &body).contains("queued"));
    wait_for("the deferral", Duration::from_secs(10), || {
        let out = server.admin(&["queue", "list"], "");
        String::from_utf8_lossy(&out.stdout).contains("deferred")
    });
    // Fill the mailbox behind Mailroom's back, as another delivery agent would.
    let small = server.data.join("domains/demo.example/users/small/Maildir");
    std::fs::write(small.join("new/1.M1P1Q1.other,S=250"), "x".repeat(250)).expect("fill");
    std::fs::write(small.join("maildirsize"), "200S\n250 1\n").expect("maildirsize");
    assert!(smtp.cmd("MAIL FROM:<a@far.example>").starts_with("250"));
    assert!(
        smtp.cmd("RCPT TO:<small@demo.example>").starts_with("452 4.2.2"),
        "{}",
        smtp.transcript
    );
}

#[test]
fn commands_pipelined_behind_starttls_are_discarded() {
    let (_dir, server) = start("");
    // Python's ssl wraps the same socket after the raw, pipelined STARTTLS.
    let script = format!(
        r#"
import socket, ssl
s = socket.create_connection(("127.0.0.1", {port}))
def reader(sock):
    f = sock.makefile("rb")
    def reply():
        out = b""
        while True:
            line = f.readline()
            out += line
            if len(line) < 4 or line[3:4] != b"-":
                return out.decode()
    return reply
reply = reader(s)
print(reply().split()[0])
s.sendall(b"EHLO x\r\n"); reply()
s.sendall(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\nRCPT TO:<{demo}>\r\n")
print(reply().split()[0])
t = ssl._create_unverified_context().wrap_socket(s)
treply = reader(t)
t.sendall(b"EHLO y\r\n"); print(treply().splitlines()[-1])
t.sendall(b"MAIL FROM:<honest@far.example>\r\n"); print(treply().strip())
t.sendall(b"DATA\r\n"); print(treply().strip())
"#,
        port = server.smtp.port(),
        demo = DEMO
    );
    let out = Command::new("python3").arg("-c").arg(&script).output().expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..2], ["220", "220"], "{text}");
    assert!(lines[2].starts_with("250 ENHANCEDSTATUSCODES"), "EHLO over TLS: {text}");
    // Had the injected MAIL been read over TLS, this would be "503 nested MAIL".
    assert_eq!(lines[3], "250 2.1.0 sender OK", "{text}");
    // And the injected RCPT did not count either.
    assert!(lines[4].starts_with("503 5.5.1") || lines[4].starts_with("554 5.5.1"), "{text}");
}

#[test]
fn too_many_hops_and_disabled_services_are_refused() {
    let (_dir, server) = start("[smtp]\nmax_hops = 5\n");
    let (mut smtp, _) = Smtp::connect(server.smtp);
    smtp.cmd("EHLO x");
    let looping =
        format!("{}Subject: loop\r\n\r\nround and round", "Received: from a by b; x\r\n".repeat(6));
    let reply = smtp.send_message("a@far.example", &[DEMO], &looping);
    assert!(reply.starts_with("554 5.4.6 too many hops"), "{reply}");
    let ok = format!("{}Subject: fine\r\n\r\nfive hops", "Received: from a by b; x\r\n".repeat(5));
    assert!(smtp.send_message("a@far.example", &[DEMO], &ok).contains("queued"));

    let out = server.admin(&["user", "service", DEMO, "smtp", "--disable"], "");
    assert!(out.status.success());
    let sub = server.submission.to_string();
    let to_demo = ["--from", DEMO, "--to", DEMO];
    let (ok, text) = swaks(
        &[&["--server", &sub, "--tls"][..], &demo_auth("PLAIN", DEMO_PASSWORD), &to_demo].concat(),
    );
    assert!(!ok && text.contains("535 5.7.8 SMTP AUTH is disabled"), "{text}");
}

#[test]
fn a_configured_certificate_is_used() {
    // Make a pair with one server, then give it to another as [tls] cert and key.
    let (dir, mut first) = start("");
    first.kill9();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::copy(first.data.join("tls/cert.pem"), &cert).expect("copy cert");
    std::fs::copy(first.data.join("tls/key.pem"), &key).expect("copy key");
    let extra = format!("[tls]\ncert = {:?}\nkey = {:?}\n", cert, key);
    let second = Server::start(&dir.path().join("second"), &extra);
    assert!(
        second.banner.contains(&format!("TLS certificate: {}", cert.display())),
        "{}",
        second.banner
    );
    assert!(!second.data.join("tls/cert.pem").exists(), "a self-signed pair was made anyway");
    let mx = second.smtp.to_string();
    let (ok, out) = swaks(&["--server", &mx, "--tls", "--from", "a@far.example", "--to", DEMO]);
    assert!(ok && out.contains("250 2.0.0 queued"), "{out}");
}
