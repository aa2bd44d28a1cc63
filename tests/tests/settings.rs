//! Self-service settings against the real server: a password change that SMTP AUTH
//! (swaks) and every other session feel at once; name, reply-to and signature in sent
//! mail; the away message answering once per sender and never lists, bounces or robots;
//! Trash emptied of old messages at login, a month later (faketime).

use std::process::Command;
use std::time::Duration;

use mail_parser::MessageParser;
use mailroom_tests::server::{Server, Smtp, wait_for};
use mailroom_tests::web::{Curl, Part};

const DEMO: &str = "demo@demo.example";
const PASSWORD: &str = "mailroom-demo";

fn start() -> (tempfile::TempDir, Server, Curl) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "");
    let curl = Curl::new(format!("https://{}", server.https), dir.path().join("jar"));
    assert_eq!(curl.login(DEMO, PASSWORD).status, 303);
    (dir, server, curl)
}

fn swaks_auth(server: &Server, password: &str) -> (bool, String) {
    let out = Command::new("swaks")
        .args(["--server", &server.submissions.to_string(), "--tls-on-connect"])
        .args(["--auth", "PLAIN", "--auth-user", DEMO, "--auth-password", password])
        .args(["--from", DEMO, "--to", DEMO, "--header", "Subject: after the change"])
        .output()
        .expect("swaks is installed (tests/run installs it)");
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

#[test]
fn a_password_change_takes_effect_everywhere_at_once() {
    let (dir, server, curl) = start();
    let phone = Curl::new(curl.base.clone(), dir.path().join("phone-jar"));
    assert_eq!(phone.login(DEMO, PASSWORD).status, 303);
    let (ok, out) = swaks_auth(&server, PASSWORD);
    assert!(ok && out.contains("235 2.7.0"), "{out}");

    let page = curl.get("/settings");
    let change = |current: &str, new: &str, again: &str| {
        curl.post(
            "/settings/password",
            &[("csrf", &page.csrf()), ("current", current), ("new", new), ("again", again)],
        )
    };
    let wrong = change("not-the-password", "correct horse battery", "correct horse battery");
    assert_eq!(wrong.status, 400);
    assert!(
        wrong.body.contains("The current password is not right; nothing was changed"),
        "{}",
        wrong.body
    );
    let differ = change(PASSWORD, "correct horse battery", "correct horse batterz");
    assert!(differ.status == 400 && differ.body.contains("differ"), "{}", differ.body);
    let short = change(PASSWORD, "short", "short");
    assert!(short.status == 400 && short.body.contains("nothing was changed"), "{}", short.body);
    assert_eq!(phone.get("/").status, 200, "a refused change ended a session");

    let done = change(PASSWORD, "correct horse battery", "correct horse battery");
    assert_eq!((done.status, done.header("location")), (303, Some("/settings?saved=password")));
    assert!(curl.get("/settings?saved=password").body.contains("New password saved."));
    assert_eq!(curl.get("/").status, 200, "the session that changed it goes on");
    assert_eq!(phone.get("/").status, 303, "the other session ended");

    let (ok, out) = swaks_auth(&server, PASSWORD);
    assert!(!ok && out.contains("535 5.7.8"), "the old password still works for SMTP AUTH: {out}");
    let (ok, out) = swaks_auth(&server, "correct horse battery");
    assert!(ok && out.contains("235 2.7.0") && out.contains("queued"), "{out}");
    assert_eq!(phone.login(DEMO, PASSWORD).status, 401);
    assert_eq!(phone.login(DEMO, "correct horse battery").status, 303);
}

#[test]
fn name_reply_to_and_signature_go_into_sent_mail() {
    let (_dir, server, curl) = start();
    server.add_user("bob@demo.example", "bob-password-1");
    let page = curl.get("/settings");
    let save = |name: &str, reply_to: &str, signature: &str| {
        curl.post(
            "/settings/identity",
            &[
                ("csrf", &page.csrf()),
                ("display_name", name),
                ("reply_to", reply_to),
                ("signature", signature),
            ],
        )
    };
    let injected = save("Demo\r\nBcc: victim@elsewhere.example", "", "");
    assert!(injected.status == 400 && injected.body.contains("one line"), "{}", injected.body);
    assert!(injected.body.contains("victim@elsewhere.example"), "what was typed comes back");
    let bad = save("Demo", "not an address", "");
    assert!(bad.status == 400 && bad.body.contains("is not an address"), "{}", bad.body);
    assert_eq!(
        save("Démo Persön", "replies@demo.example", "Demo\r\nhttps://demo.example").status,
        303
    );

    let started = curl.get("/compose");
    let location = started.header("location").expect("spool").to_string();
    let id = location.strip_prefix("/compose?c=").expect("id").to_string();
    let form = curl.get(&location);
    assert!(
        form.body.contains("-- \nDemo\nhttps://demo.example"),
        "the signature starts the message: {}",
        form.body
    );
    let sent = curl.post_multipart(
        "/compose",
        &[
            ("csrf", Part::Text(&form.csrf())),
            ("c", Part::Text(&id)),
            ("from", Part::Text(DEMO)),
            ("to", Part::Text("bob@demo.example")),
            ("subject", Part::Text("signed")),
            ("body", Part::Text("Hello\n\n-- \nDemo\nhttps://demo.example")),
            ("action", Part::Text("send")),
        ],
    );
    assert_eq!(sent.status, 303, "{}", sent.body);
    wait_for("the delivery", Duration::from_secs(20), || {
        server.inbox("bob@demo.example").len() == 1
    });
    let raw = std::fs::read(&server.inbox("bob@demo.example")[0]).expect("read");
    let message = MessageParser::default().parse(&raw[..]).expect("parses");
    let from = message.from().and_then(|a| a.first()).expect("from");
    assert_eq!((from.name(), from.address()), (Some("Démo Persön"), Some(DEMO)));
    assert_eq!(
        message.reply_to().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("replies@demo.example")
    );
}

#[test]
fn reading_settings_choose_the_plain_text_and_page_size() {
    let (_dir, server, curl) = start();
    let (mut smtp, _) = Smtp::connect(server.smtp);
    smtp.cmd("EHLO far.example");
    let both = "From: a@far.example\r\nTo: demo@demo.example\r\nSubject: two bodies\r\nMIME-Version: 1.0\r\n\
                Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nthe plain version\r\n\
                --b\r\nContent-Type: text/html\r\n\r\n<p>the <b>html</b> version</p>\r\n--b--\r\n";
    assert!(smtp.send_message("a@far.example", &[DEMO], both).contains("queued"));
    wait_for("the delivery", Duration::from_secs(20), || server.inbox(DEMO).len() == 1);
    let inbox = curl.get("/folder?f=INBOX");
    let start = inbox.body.find("href=\"/message?").expect("link") + 6;
    let href = inbox.body[start..].split('"').next().expect("href").replace("&amp;", "&");
    assert!(curl.get(&href).body.contains("<b>html</b>"), "HTML first by default");
    let page = curl.get("/settings");
    let saved = curl.post(
        "/settings",
        &[("csrf", &page.csrf()), ("page_size", "25"), ("sort", "date"), ("dir", "natural")],
    );
    assert_eq!(saved.status, 303);
    let shown = curl.get(&href);
    assert!(
        shown.body.contains("the plain version") && !shown.body.contains("<b>html</b>"),
        "{}",
        shown.body
    );
    assert!(shown.body.contains(">HTML</a>"), "the other version is one click away");
    let refused = curl.post(
        "/settings",
        &[("csrf", &page.csrf()), ("page_size", "1000"), ("sort", "date"), ("dir", "natural")],
    );
    assert!(refused.status == 400 && refused.body.contains("10 to 250"), "{}", refused.body);
    assert!(
        refused.body.contains("value=\"250\"") || refused.body.contains("value=\"1000\""),
        "the typed value is shown"
    );
}

/// Sends `message` (headers and body) from `sender` to the demo account over SMTP.
fn to_demo(server: &Server, sender: &str, message: &str) {
    let (mut smtp, _) = Smtp::connect(server.smtp);
    smtp.cmd("EHLO far.example");
    let reply = smtp.send_message(sender, &[DEMO], message);
    assert!(reply.contains("queued"), "{reply}");
}

/// Waits until every queued message is delivered (an autoreply is queued before the
/// message that caused it is marked delivered, so nothing is missed).
fn settle(server: &Server, demo_messages: usize) {
    wait_for("the deliveries", Duration::from_secs(20), || {
        server.inbox(DEMO).len() == demo_messages
    });
    wait_for("the queue to settle", Duration::from_secs(20), || {
        let list = server.admin(&["queue", "list", "--json"], "");
        !String::from_utf8_lossy(&list.stdout).contains("\"pending\"") || server.queued() <= 1
    });
}

#[test]
fn the_away_message_answers_once_and_never_lists_bounces_or_robots() {
    let (_dir, server, curl) = start();
    server.add_user("carol@demo.example", "carol-password-1");
    let page = curl.get("/settings");
    let vacation = |enabled: &str, from: &str, until: &str, body: &str| {
        let mut form = vec![
            ("csrf", page.csrf()),
            ("from", from.to_string()),
            ("until", until.to_string()),
            ("subject", "Away until January".to_string()),
            ("body", body.to_string()),
        ];
        if !enabled.is_empty() {
            form.push(("enabled", "1".to_string()));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        curl.post("/settings/vacation", &form)
    };
    let empty = vacation("1", "", "", "");
    assert!(empty.status == 400 && empty.body.contains("Write the message"), "{}", empty.body);
    let reversed = vacation("1", "2026-12-31", "2026-12-01", "away");
    assert!(
        reversed.status == 400 && reversed.body.contains("before the first day"),
        "{}",
        reversed.body
    );
    let bad_date = vacation("1", "31/12/2026", "", "away");
    assert!(
        bad_date.status == 400 && bad_date.body.contains("must be a date"),
        "{}",
        bad_date.body
    );
    assert_eq!(vacation("1", "", "", "I am away until January.").status, 303);

    let carol = |n: usize, extra: &str| {
        format!(
            "From: Carol <carol@demo.example>\r\nTo: Demo <demo@demo.example>\r\nSubject: question {n}\r\n\
             Message-ID: <q{n}@demo.example>\r\n{extra}\r\nAre you there?\r\n"
        )
    };
    let carol_inbox = |server: &Server| server.inbox("carol@demo.example");
    to_demo(&server, "carol@demo.example", &carol(1, ""));
    wait_for("the autoreply", Duration::from_secs(20), || carol_inbox(&server).len() == 1);
    let raw = std::fs::read(&carol_inbox(&server)[0]).expect("read");
    let reply = MessageParser::default().parse(&raw[..]).expect("parses");
    assert_eq!(reply.subject(), Some("Away until January"));
    assert_eq!(reply.in_reply_to().as_text(), Some("q1@demo.example"));
    assert!(reply.header_raw("Auto-Submitted").is_some_and(|v| v.contains("auto-replied")));
    assert!(reply.body_text(0).expect("text").contains("I am away until January."));

    // Again from Carol, and mail that must never be answered.
    to_demo(&server, "carol@demo.example", &carol(2, ""));
    to_demo(&server, "carol@demo.example", &carol(3, "List-Id: <team.demo.example>\r\n"));
    to_demo(&server, "carol@demo.example", &carol(4, "Precedence: bulk\r\n"));
    to_demo(&server, "carol@demo.example", &carol(5, "Auto-Submitted: auto-generated\r\n"));
    to_demo(&server, "", &carol(6, ""));
    to_demo(&server, "mailer-daemon@demo.example", &carol(7, ""));
    let bcc = "From: carol@demo.example\r\nTo: team@elsewhere.example\r\nSubject: bcc'd\r\n\r\nnot named\r\n";
    to_demo(&server, "carol@demo.example", bcc);
    settle(&server, 8);
    assert_eq!(
        carol_inbox(&server).len(),
        1,
        "answered twice, or a list, robot or Bcc was answered"
    );

    // A sender elsewhere gets one too (queued for remote delivery), from <>.
    to_demo(
        &server,
        "ann@far.example",
        &carol(9, "").replace("carol@demo.example", "ann@far.example"),
    );
    settle(&server, 9);
    let list = server.admin(&["queue", "list", "--json"], "");
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(list.contains("ann@far.example"), "{list}");
    assert!(list.contains("\"sender\": \"\""), "the autoreply comes from <>: {list}");

    // Switched off: no more replies.
    assert_eq!(vacation("", "", "", "I am away until January.").status, 303);
    server.add_user("dave@demo.example", "dave-password-1");
    to_demo(
        &server,
        "dave@demo.example",
        &carol(10, "").replace("carol@demo.example", "dave@demo.example"),
    );
    settle(&server, 10);
    assert!(server.inbox("dave@demo.example").is_empty(), "answered while off");
    // Later dates: not yet.
    assert_eq!(vacation("1", "2099-01-01", "2099-01-31", "Later.").status, 303);
    to_demo(
        &server,
        "dave@demo.example",
        &carol(11, "").replace("carol@demo.example", "dave@demo.example"),
    );
    settle(&server, 11);
    assert!(server.inbox("dave@demo.example").is_empty(), "answered before the first day");
}

#[test]
fn old_trash_is_emptied_at_login_a_month_later() {
    let (dir, mut server, curl) = start();
    to_demo(
        &server,
        "a@far.example",
        "From: a@far.example\r\nTo: demo@demo.example\r\nSubject: old news\r\n\r\nbye\r\n",
    );
    to_demo(
        &server,
        "a@far.example",
        "From: a@far.example\r\nTo: demo@demo.example\r\nSubject: keep me\r\n\r\nhi\r\n",
    );
    wait_for("the deliveries", Duration::from_secs(20), || server.inbox(DEMO).len() == 2);
    let inbox = curl.get("/folder?f=INBOX");
    // The checkbox of the "old news" row: the last one before its subject.
    let row = inbox.body.find(">old news<").expect("row");
    let marker = "name=\"m\" value=\"";
    let start = inbox.body[..row].rfind(marker).expect("its checkbox") + marker.len();
    let old = inbox.body[start..].split('"').next().expect("id").to_string();
    let moved = curl.post(
        "/folder/action",
        &[("csrf", &inbox.csrf()), ("f", "INBOX"), ("action", "delete"), ("m", &old)],
    );
    assert_eq!(moved.status, 303);
    assert!(curl.get("/folder?f=Trash").body.contains("old news"));
    // Logging in again today purges nothing (30 days by default).
    assert_eq!(curl.login(DEMO, PASSWORD).status, 303);
    assert!(curl.get("/folder?f=Trash").body.contains("old news"));

    // The same server a month and a day later.
    server.kill9();
    server.spawn_with(&["faketime", "-f", "+31d"]);
    let later = Curl::new(format!("https://{}", server.https), dir.path().join("later-jar"));
    assert_eq!(later.login(DEMO, PASSWORD).status, 303);
    wait_for("Trash to be emptied", Duration::from_secs(20), || {
        later.get("/folder?f=Trash").body.contains("This folder is empty.")
    });
    assert!(later.get("/folder?f=INBOX").body.contains("keep me"), "only Trash is purged");
    let log = std::fs::read_to_string(server.data.with_extension("log")).expect("log");
    assert!(log.contains("purged=1"), "the purge was not logged: {log}");
}

#[test]
fn a_personal_spam_policy_is_felt_at_smtp_time_within_the_domains() {
    let (_dir, server, curl) = start();
    let spam = |block: &str, allow: &str, action: &str| {
        let page = curl.get("/settings");
        curl.post(
            "/settings/spam",
            &[
                ("csrf", &page.csrf()),
                ("block", block),
                ("allow", allow),
                ("action", action),
                ("tag", ""),
            ],
        )
    };
    let saved = spam("pest.example\nnag@bulk.example", "", "");
    assert_eq!(saved.header("location"), Some("/settings?saved=spam"), "{}", saved.body);
    let page = curl.get("/settings?saved=spam");
    assert!(page.body.contains("Spam policy saved."), "{}", page.body);
    assert!(page.body.contains("pest.example\nnag@bulk.example"), "the lists come back");

    // The domain's action (refuse) for what the user blocks, at RCPT.
    let refused = server.mail("x@pest.example", DEMO, "hello");
    assert!(refused.starts_with("550 5.7.1") && refused.contains("pest.example"), "{refused}");
    let refused = server.mail("nag@bulk.example", DEMO, "hello");
    assert!(refused.starts_with("550 5.7.1"), "{refused}");
    assert!(server.mail("other@bulk.example", DEMO, "fine").contains("queued"));

    // The user's own action: into Junk.
    assert_eq!(spam("pest.example", "", "junk").status, 303);
    assert!(server.mail("x@pest.example", DEMO, "into junk").contains("queued"));
    wait_for("delivery into Junk", Duration::from_secs(20), || {
        server.folder_texts(DEMO, "Junk").iter().any(|m| m.contains("Subject: into junk"))
    });

    // The domain's block wins over the user's allow; a locked domain action wins over
    // the user's choice, and the page says so.
    let out = server.admin(
        &[
            "domain",
            "spam",
            "demo.example",
            "--block",
            "evil.example",
            "--action",
            "tag",
            "--lock-action",
            "true",
        ],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(spam("pest.example", "friend@evil.example", "junk").status, 303);
    assert!(server.mail("friend@evil.example", DEMO, "still spam").contains("queued"));
    assert!(server.mail("x@pest.example", DEMO, "tagged").contains("queued"));
    wait_for("the tagged deliveries", Duration::from_secs(20), || {
        let inbox = server.folder_texts(DEMO, "");
        ["Subject: [SPAM] still spam", "Subject: [SPAM] tagged"]
            .iter()
            .all(|s| inbox.iter().any(|m| m.contains(s)))
    });
    let page = curl.get("/settings");
    assert!(page.body.contains("as your domain decides"), "{}", page.body);

    // A wrong entry: refused with the reason, what was typed kept, nothing saved.
    let wrong = spam("pest.example\nnot a domain!", "", "");
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("neither an address nor a domain"), "{}", wrong.body);
    assert!(wrong.body.contains("not a domain!"), "what was typed is kept");
    let prefs =
        std::fs::read_to_string(server.data.join("domains/demo.example/users/demo/prefs.toml"))
            .expect("prefs");
    assert!(!prefs.contains("not a domain"), "{prefs}");
    let wrong = spam("", "", "explode");
    assert!(wrong.status == 400 && wrong.body.contains("is not reject, junk or tag"));
}
