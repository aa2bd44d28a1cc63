//! The webmail over real HTTPS against `mailroom serve`, with curl as the browser:
//! login, sessions and their cookie, CSRF, rate limiting, the folder list and a folder
//! page (sort, search, paging), security headers, the HTTP redirect, page weight.

use std::time::Duration;

use mailroom_tests::server::{Server, Smtp, wait_for};
use mailroom_tests::web::Curl;

const DEMO: &str = "demo@demo.example";
const PASSWORD: &str = "mailroom-demo";

fn start(extra: &str) -> (tempfile::TempDir, Server, Curl) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), extra);
    let curl = Curl::new(format!("https://{}", server.https), dir.path().join("jar"));
    (dir, server, curl)
}

fn deliver(server: &Server, subjects: &[&str]) {
    let (mut smtp, _) = Smtp::connect(server.smtp);
    smtp.cmd("EHLO sender.example");
    let before = server.inbox(DEMO).len();
    for (n, subject) in subjects.iter().enumerate() {
        let message = format!(
            "From: Sender {n} <s{n}@far.example>\r\nTo: {DEMO}\r\nSubject: {subject}\r\nDate: Fri, 4 Dec 2026 0{}:00:00 +0000\r\n\r\nbody {n}",
            n % 10
        );
        assert!(
            smtp.send_message(&format!("s{n}@far.example"), &[DEMO], &message).contains("queued")
        );
    }
    wait_for("the deliveries", Duration::from_secs(20), || {
        server.inbox(DEMO).len() == before + subjects.len()
    });
}

#[test]
fn login_folders_a_folder_page_and_logout() {
    let (_dir, server, curl) = start("");
    deliver(&server, &["alpha", "<b>bold</b> & co", "gamma"]);

    let first = curl.get("/");
    assert_eq!((first.status, first.header("location")), (303, Some("/login")));
    for (name, value) in [
        ("content-security-policy", "default-src 'none'"),
        ("x-content-type-options", "nosniff"),
        ("strict-transport-security", "max-age="),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert!(
            first.header(name).is_some_and(|v| v.contains(value)),
            "{name} missing: {:?}",
            first.headers
        );
    }
    assert!(
        first
            .header("content-security-policy")
            .is_some_and(|v| v.contains("frame-ancestors 'none'"))
    );

    let wrong = curl.login(DEMO, "not-the-password");
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("Wrong address or password."));
    assert!(wrong.header("set-cookie").is_none_or(|c| !c.starts_with("__Host-mailroom=")));
    let unknown = curl.login("nobody@demo.example", "not-the-password");
    assert_eq!(unknown.status, 401, "an unknown user looks like a wrong password");
    assert_eq!(unknown.body.replace("nobody@demo.example", DEMO).len(), wrong.body.len());

    let ok = curl.login(DEMO, PASSWORD);
    assert_eq!((ok.status, ok.header("location")), (303, Some("/")));
    let cookie = ok
        .headers
        .iter()
        .find(|(n, v)| n == "set-cookie" && v.starts_with("__Host-mailroom="))
        .expect("cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.1.contains(attribute), "{attribute} missing from {}", cookie.1);
    }
    assert!(!cookie.1.contains("Domain"), "a __Host- cookie has no Domain");

    let folders = curl.get("/");
    assert_eq!(folders.status, 200);
    assert!(folders.body.contains("<a href=\"/folder?f=INBOX\">INBOX</a></td><td class=\"n\">3</td><td class=\"n\"><strong>3</strong>"), "{}", folders.body);
    for folder in ["Drafts", "Junk", "Sent", "Trash"] {
        assert!(folders.body.contains(&format!(">{folder}</a>")), "{folder} missing");
    }

    let inbox = curl.get("/folder?f=INBOX");
    assert_eq!(inbox.status, 200);
    assert!(inbox.body.contains("3 messages, 3 unread"), "{}", inbox.body);
    assert!(inbox.body.contains("&lt;b&gt;bold&lt;/b&gt; &amp; co"), "subject not escaped");
    assert!(!inbox.body.contains("<b>bold"), "raw HTML from a subject");
    // Sorted by subject, ascending: "<b>bold…" < "alpha" < "gamma".
    let sorted = curl.get("/folder?f=INBOX&sort=subject&dir=asc");
    let order: Vec<usize> = ["&lt;b&gt;bold", ">alpha<", ">gamma<"]
        .iter()
        .map(|s| sorted.body.find(s).expect("row"))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "not sorted by subject: {order:?}");
    let reversed = curl.get("/folder?f=INBOX&sort=subject&dir=desc");
    assert!(reversed.body.find(">gamma<") < reversed.body.find(">alpha<"));
    let search = curl.get("/folder?f=INBOX&q=GAMM&field=subject");
    assert!(search.body.contains(">gamma<") && !search.body.contains(">alpha<"), "search");
    assert!(search.body.contains("1 messages"), "search total");
    let none = curl.get("/folder?f=INBOX&q=zzzz");
    assert!(none.body.contains("No message matches."));

    for (path, status) in [
        ("/folder?f=..%2F..%2Fetc", 400),
        ("/folder?f=NoSuchFolder", 404),
        ("/folder?f=INBOX&sort=evil", 400),
        ("/folder?f=INBOX&page=x", 400),
        ("/nowhere", 404),
    ] {
        let r = curl.get(path);
        assert_eq!(r.status, status, "{path}");
        assert!(r.body.contains("<p class=\"error\">"), "{path}: not rendered through the layout");
    }
    // An old link past the end (the folder shrank): its last page.
    let past = curl.get("/folder?f=INBOX&page=99");
    assert_eq!(past.status, 303);
    assert!(past.header("location").is_some_and(|l| l.contains("page=1")), "{:?}", past.headers);

    let no_csrf = curl.post("/logout", &[("csrf", "0000")]);
    assert_eq!(no_csrf.status, 403);
    let page = curl.get("/");
    let out = curl.post("/logout", &[("csrf", &page.csrf())]);
    assert_eq!((out.status, out.header("location")), (303, Some("/login?why=out")));
    let after = curl.get("/");
    assert_eq!(after.status, 303, "the session survived logout");
}

#[test]
fn stolen_cookies_die_at_logout_and_new_ids_come_with_each_login() {
    let (dir, _server, curl) = start("");
    assert_eq!(curl.login(DEMO, PASSWORD).status, 303);
    let jar = std::fs::read_to_string(dir.path().join("jar")).expect("jar");
    let first =
        jar.lines().find(|l| l.contains("__Host-mailroom\t")).expect("cookie line").to_string();
    // A second browser with a copy of the cookie (a thief).
    std::fs::write(dir.path().join("thief"), &jar).expect("copy");
    let thief = Curl::new(curl.base.clone(), dir.path().join("thief"));
    assert_eq!(thief.get("/").status, 200);
    let page = curl.get("/");
    assert_eq!(curl.post("/logout", &[("csrf", &page.csrf())]).status, 303);
    assert_eq!(thief.get("/").status, 303, "the copied cookie still works after logout");
    assert_eq!(curl.login(DEMO, PASSWORD).status, 303);
    let jar = std::fs::read_to_string(dir.path().join("jar")).expect("jar");
    let second =
        jar.lines().find(|l| l.contains("__Host-mailroom\t")).expect("cookie line").to_string();
    assert_ne!(first, second, "the session id was reused");
}

#[test]
fn logins_are_rate_limited_and_need_the_form() {
    let (_dir, _server, curl) = start("");
    let bare = curl.post("/login", &[("csrf", "x"), ("user", DEMO), ("password", PASSWORD)]);
    assert_eq!(bare.status, 403, "a login without the form's cookie");
    for _ in 0..8 {
        assert_eq!(curl.login(DEMO, "wrong-password").status, 401);
    }
    let blocked = curl.login(DEMO, PASSWORD);
    assert_eq!(blocked.status, 429, "the right password passed the limit");
    assert!(blocked.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s > 0)));
    assert!(blocked.body.contains("too many failed logins; try again in"), "{}", blocked.body);
}

#[test]
fn idle_sessions_expire_and_say_so() {
    let (_dir, _server, curl) = start("[web]\nidle_timeout_secs = 1\n");
    assert_eq!(curl.login(DEMO, PASSWORD).status, 303);
    assert_eq!(curl.get("/").status, 200);
    let mut last = None;
    wait_for("the session to expire", Duration::from_secs(10), || {
        let r = curl.get("/");
        let done = r.status == 303;
        last = r.header("location").map(str::to_string);
        done
    });
    assert_eq!(last.as_deref(), Some("/login?why=expired"));
    assert!(curl.get("/login?why=expired").body.contains("Your session has ended."));
}

#[test]
fn http_only_redirects_and_pages_stay_light() {
    let (_dir, server, curl) = start("");
    let http = Curl::new(
        format!("http://{}", server.http),
        std::env::temp_dir().join("mailroom-http-jar"),
    );
    let r = http.get("/folder?f=INBOX");
    assert_eq!(r.status, 308);
    assert_eq!(
        r.header("location"),
        Some(format!("https://127.0.0.1:{}/folder?f=INBOX", server.https.port()).as_str())
    );
    assert!(r.body.is_empty());

    let subjects: Vec<String> =
        (0..60).map(|n| format!("A fairly ordinary subject line number {n}")).collect();
    deliver(&server, &subjects.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(curl.login(DEMO, PASSWORD).status, 303);
    let page = curl.get("/folder?f=INBOX");
    assert_eq!(page.header("content-encoding"), Some("gzip"));
    assert_eq!(page.body.matches("<tr class=\"unread\">").count(), 50, "50 rows a page");
    assert!(page.wire_bytes < 30_000, "a 50-row page is {} bytes on the wire", page.wire_bytes);
    eprintln!(
        "a 50-row folder page: {} bytes on the wire (gzip), {} decoded",
        page.wire_bytes,
        page.body.len()
    );
    assert!(page.body.contains("Page 1 of 2"));
    let second = curl.get("/folder?f=INBOX&page=2");
    assert_eq!(second.body.matches("<tr class=\"unread\">").count(), 10);
}

/// The checkbox values (message ids) of a folder page, in order.
fn ids(page: &str) -> Vec<String> {
    page.split("name=\"m\" value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().expect("value").to_string())
        .collect()
}

#[test]
fn page_size_from_settings_and_bulk_actions() {
    let (_dir, server, curl) = start("");
    let subjects: Vec<String> = (0..12).map(|n| format!("bulk {n:02}")).collect();
    deliver(&server, &subjects.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(curl.login(DEMO, PASSWORD).status, 303);

    // Page size: 50 by default, 10 once saved, and nonsense refused with a reason.
    assert!(!curl.get("/folder?f=INBOX").body.contains("Page 1 of"), "12 rows fit one page");
    let settings = curl.get("/settings");
    assert!(settings.body.contains("name=\"page_size\""), "{}", settings.body);
    let form = |size: &str| {
        vec![
            ("csrf", settings.csrf()),
            ("page_size", size.to_string()),
            ("sort", "subject".into()),
            ("dir", "asc".into()),
        ]
    };
    let post = |fields: Vec<(&str, String)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        curl.post("/settings", &fields)
    };
    for bad in ["5", "251", "ten"] {
        let r = post(form(bad));
        assert_eq!(r.status, 400, "page size {bad}");
        assert!(r.body.contains("class=\"error\""), "{}", r.body);
    }
    assert_eq!(post(form("10")).header("location"), Some("/settings?saved=reading"));
    let page1 = curl.get("/folder?f=INBOX");
    assert!(page1.body.contains("Page 1 of 2"), "{}", page1.body);
    let first = ids(&page1.body);
    assert_eq!(first.len(), 10);
    // Sorted by subject, ascending, as saved.
    assert!(page1.body.find(">bulk 00<") < page1.body.find(">bulk 01<"));
    assert!(!page1.body.contains(">bulk 11<"));

    // Select all, without JavaScript: a link that ticks every box of the page.
    let all = curl.get("/folder?f=INBOX&select=all");
    assert_eq!(all.body.matches(" checked").count(), 10, "select all");
    assert_eq!(page1.body.matches(" checked").count(), 0);

    let csrf = page1.csrf();
    let act = |action: &str, ids: &[String], extra: &[(&str, &str)]| {
        let mut form = vec![("csrf", csrf.as_str()), ("f", "INBOX"), ("action", action)];
        form.extend(ids.iter().map(|m| ("m", m.as_str())));
        form.extend_from_slice(extra);
        curl.post("/folder/action", &form)
    };
    let read = act("read", &first[..3], &[("back", "/folder?f=INBOX&page=2")]);
    assert_eq!((read.status, read.header("location")), (303, Some("/folder?f=INBOX&page=2")));
    assert!(curl.get("/folder?f=INBOX").body.contains("12 messages, 9 unread"));
    assert_eq!(act("unread", &first[..1], &[]).status, 303);
    assert!(curl.get("/folder?f=INBOX").body.contains("12 messages, 10 unread"));
    assert_eq!(act("flag", &first[3..4], &[]).status, 303);
    assert_eq!(curl.get("/folder?f=INBOX").body.matches("title=\"flagged\"").count(), 1);
    assert_eq!(act("move", &first[4..6], &[("to", "Junk")]).status, 303);
    assert_eq!(act("delete", &first[6..8], &[]).status, 303);
    let inbox = curl.get("/folder?f=INBOX");
    assert!(inbox.body.contains("8 messages"), "{}", inbox.body);
    assert!(curl.get("/folder?f=Junk").body.contains("2 messages"));
    let trash = curl.get("/folder?f=Trash");
    assert!(trash.body.contains("2 messages") && trash.body.contains("Empty Trash"));
    // Hostile and empty forms: a clear error, nothing done.
    assert_eq!(act("read", &["../../etc/passwd".to_string()], &[]).status, 400);
    assert_eq!(act("explode", &first[8..9], &[]).status, 400);
    assert_eq!(act("read", &[], &[]).status, 400);
    assert_eq!(act("move", &first[8..9], &[("to", "../x")]).status, 400);
    assert_eq!(act("empty", &[], &[]).status, 400, "only Trash can be emptied");
    let forged =
        curl.post("/folder/action", &[("csrf", "0000"), ("action", "empty"), ("f", "Trash")]);
    assert_eq!(forged.status, 403);
    assert!(curl.get("/folder?f=Trash").body.contains("2 messages"), "the forged form acted");
    // A message acted on already (another session) is no error.
    assert_eq!(act("read", &first[4..5], &[]).status, 303);
    let empty =
        curl.post("/folder/action", &[("csrf", &csrf), ("action", "empty"), ("f", "Trash")]);
    assert_eq!(empty.status, 303);
    assert!(curl.get("/folder?f=Trash").body.contains("This folder is empty."));
    assert_eq!(server.inbox(DEMO).len(), 8, "the INBOX on disk");
}
