//! POP3 against the real server with clients nobody here wrote: curl over pop3s,
//! Python's poplib with STLS (USER/PASS, AUTH PLAIN, STAT, LIST, UIDL, TOP, RETR, DELE,
//! RSET, QUIT), and fetchmail downloading and deleting. Deletions only at QUIT, one
//! session per mailbox, UIDs that stay, logins only over TLS, disabled accounts refused.

use std::process::Command;
use std::time::Duration;

use mailroom_tests::server::{Server, Smtp, wait_for};

const DEMO: &str = "demo@demo.example";
const PASSWORD: &str = "mailroom-demo";

fn start_with_mail(count: usize) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "");
    let (mut smtp, _) = Smtp::connect(server.smtp);
    smtp.cmd("EHLO far.example");
    for n in 0..count {
        let message = format!(
            "From: sender{n}@far.example\r\nTo: {DEMO}\r\nSubject: pop test {n}\r\n\r\nline one of {n}\r\n.a line that starts with a dot\r\nlast line\r\n"
        );
        assert!(
            smtp.send_message(&format!("sender{n}@far.example"), &[DEMO], &message)
                .contains("queued")
        );
    }
    wait_for("the deliveries", Duration::from_secs(20), || server.inbox(DEMO).len() == count);
    (dir, server)
}

fn python(script: &str) -> (bool, String) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3 is installed (tests/run installs it)");
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

#[test]
fn curl_lists_and_retrieves_over_pop3s() {
    let (_dir, server) = start_with_mail(2);
    let url = format!("pop3s://{}/", server.pop3s);
    let curl = |path: &str, user: &str| {
        let out = Command::new("curl")
            .args(["-sk", "--user", user, &format!("{url}{path}")])
            .output()
            .expect("curl is installed");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (ok, list) = curl("", &format!("{DEMO}:{PASSWORD}"));
    assert!(ok, "{list}");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    let (ok, first) = curl("1", &format!("{DEMO}:{PASSWORD}"));
    assert!(ok);
    assert!(first.contains("Subject: pop test 0"), "{first}");
    assert!(
        first.contains("\r\n.a line that starts with a dot\r\n"),
        "curl undoes the dot-stuffing: {first:?}"
    );
    let size: usize =
        lines[0].split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("size");
    assert_eq!(first.len(), size, "LIST's size is the octets sent");
    let (ok, _) = curl("", &format!("{DEMO}:wrong-password"));
    assert!(!ok, "a wrong password listed the mailbox");
    assert_eq!(server.inbox(DEMO).len(), 2, "curl deletes nothing");
}

#[test]
fn poplib_with_stls_uidl_top_and_deletions_at_quit() {
    let (_dir, server) = start_with_mail(3);
    let port = server.pop3.port();
    let script = format!(
        r#"
import poplib, ssl, base64, json
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
out = {{}}
p = poplib.POP3("127.0.0.1", {port})
out["capa_plain"] = sorted(p.capa().keys())
try:
    p.user("{DEMO}")
    out["user_in_clear"] = "accepted"
except poplib.error_proto as e:
    out["user_in_clear"] = e.args[0].decode()
p.stls(ctx)
out["capa_tls"] = sorted(p.capa().keys())
p.user("{DEMO}"); p.pass_("{PASSWORD}")
out["stat"] = list(p.stat())
out["uidl"] = [l.decode() for l in p.uidl()[1]]
out["top"] = [l.decode() for l in p.top(2, 0)[1]]
out["retr"] = [l.decode() for l in p.retr(1)[1]]
p.dele(1); p.dele(3)
out["stat_after_dele"] = list(p.stat())
# A second session now is refused: the mailbox is in use.
q = poplib.POP3_SSL("127.0.0.1", {pop3s}, context=ctx)
q.user("{DEMO}")
try:
    q.pass_("{PASSWORD}")
    out["second"] = "logged in"
except poplib.error_proto as e:
    out["second"] = e.args[0].decode()
q.quit()
out["quit"] = p.quit().decode()
# The next session sees what is left, with the same UID.
r = poplib.POP3_SSL("127.0.0.1", {pop3s}, context=ctx)
auth = base64.b64encode(b"\0{DEMO}\0{PASSWORD}").decode()
out["auth_plain"] = r._shortcmd("AUTH PLAIN " + auth).decode()
out["uidl_again"] = [l.decode() for l in r.uidl()[1]]
# DELE without QUIT deletes nothing.
r.dele(1)
r.sock.close()
print(json.dumps(out))
"#,
        pop3s = server.pop3s.port()
    );
    let (ok, output) = python(&script);
    assert!(ok, "{output}");
    let out: serde_json::Value = serde_json::from_str(output.trim()).expect("json");
    let strings = |key: &str| -> Vec<String> {
        out[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {out}"))
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert!(
        strings("capa_plain").contains(&"STLS".to_string())
            && !strings("capa_plain").contains(&"USER".to_string()),
        "{out}"
    );
    assert!(
        out["user_in_clear"].as_str().expect("user").contains("[AUTH] log in over TLS"),
        "{out}"
    );
    assert!(
        strings("capa_tls").contains(&"USER".to_string())
            && strings("capa_tls").contains(&"UIDL".to_string()),
        "{out}"
    );
    assert_eq!(out["stat"][0], 3);
    let uidl = strings("uidl");
    assert_eq!(uidl.len(), 3);
    let top = strings("top");
    assert!(
        top.iter().any(|l| l == "Subject: pop test 1")
            && !top.iter().any(|l| l.contains("line one")),
        "TOP 2 0: {top:?}"
    );
    let retr = strings("retr");
    assert!(retr.contains(&".a line that starts with a dot".to_string()), "{retr:?}");
    assert_eq!(out["stat_after_dele"][0], 1);
    assert!(out["second"].as_str().expect("second").contains("[IN-USE]"), "{out}");
    assert!(out["quit"].as_str().expect("quit").contains("2 messages deleted"), "{out}");
    assert!(out["auth_plain"].as_str().expect("auth").starts_with("+OK"), "{out}");
    let again = strings("uidl_again");
    assert_eq!(again.len(), 1);
    let kept_uid = |line: &str| line.split_whitespace().nth(1).unwrap_or_default().to_string();
    assert_eq!(
        kept_uid(&again[0]),
        kept_uid(&uidl[1]),
        "the UID of message 2 changed between sessions"
    );
    // Left: message 2; the DELE without QUIT deleted nothing; RETR marked message 1 seen
    // before it was deleted, so the one left was only TOP'd: still unread.
    wait_for("the lock to go", Duration::from_secs(10), || {
        !server.data.join("domains/demo.example/users/demo/Maildir/mailroom-pop3.lock").exists()
    });
    assert_eq!(server.inbox(DEMO).len(), 1);
}

#[test]
fn fetchmail_downloads_and_deletes() {
    let (dir, server) = start_with_mail(3);
    let delivered = dir.path().join("fetched.mbox");
    let rc = dir.path().join("fetchmailrc");
    std::fs::write(
        &rc,
        format!(
            "poll 127.0.0.1 service {} protocol pop3 auth password\n  user \"{DEMO}\" password \"{PASSWORD}\" ssl no sslcertck\n  mda \"/bin/sh -c 'cat >> {}'\"\n",
            server.pop3s.port(),
            delivered.display()
        ),
    )
    .expect("rc");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).expect("0600");
    let out = Command::new("fetchmail")
        .args([
            "-f",
            rc.to_str().expect("path"),
            "--nosyslog",
            "--nodetach",
            "--idfile",
            dir.path().join("ids").to_str().expect("ids"),
        ])
        .env("HOME", dir.path())
        .output()
        .expect("fetchmail is installed (tests/run installs it)");
    let log =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{log}");
    let fetched = std::fs::read_to_string(&delivered).expect("fetched");
    for n in 0..3 {
        assert!(
            fetched.contains(&format!("Subject: pop test {n}")),
            "message {n} missing:\n{fetched}\n{log}"
        );
    }
    assert!(log.contains("3 messages"), "{log}");
    assert!(server.inbox(DEMO).is_empty(), "fetchmail's deletions were not applied at QUIT");
}

#[test]
fn disabled_pop3_and_wrong_passwords_are_refused() {
    let (_dir, server) = start_with_mail(1);
    let out = server.admin(&["user", "service", DEMO, "pop3", "--disable"], "");
    assert!(out.status.success());
    let script = format!(
        r#"
import poplib, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
answers = []
for password in ["wrong-one", "{PASSWORD}"]:
    p = poplib.POP3_SSL("127.0.0.1", {port}, context=ctx)
    p.user("{DEMO}")
    try:
        p.pass_(password); answers.append("in")
    except poplib.error_proto as e:
        answers.append(e.args[0].decode())
    p.quit()
# Three wrong passwords close the session.
p = poplib.POP3_SSL("127.0.0.1", {port}, context=ctx)
closed = "no"
for n in range(4):
    try:
        p.user("{DEMO}"); p.pass_("bad-password")
    except poplib.error_proto as e:
        if "EOF" in str(e.args[0]):
            closed = "yes after %d" % n
            break
    except OSError:
        closed = "yes after %d" % n
        break
answers.append(closed)
print("\n".join(answers))
"#,
        port = server.pop3s.port()
    );
    let (ok, output) = python(&script);
    assert!(ok, "{output}");
    let lines: Vec<&str> = output.lines().collect();
    assert!(lines[0].contains("[AUTH] invalid login"), "{output}");
    assert!(
        lines[1].contains("[AUTH] POP3 is disabled"),
        "a right password on a disabled account: {output}"
    );
    assert!(lines[2].starts_with("yes after 3"), "{output}");
}
