//! The webmail in a real headless Chromium, as a new user meets it: log in, the folder
//! list, a folder page (paging, sorting, searching, select all, bulk move), a message
//! with an attachment downloaded byte for byte, a phone-width screen, logging out, and
//! a session that expired. A screenshot of every page is kept in
//! `target/test-artifacts/<test>/`. Every request the browser makes goes through a
//! proxy: none may leave for another origin.

use std::time::Duration;

use mailroom_tests::browser::{Browser, Event};
use mailroom_tests::server::{Server, Smtp, wait_for};

const DEMO: &str = "demo@demo.example";
const PASSWORD: &str = "mailroom-demo";

fn deliver(server: &Server, messages: &[String]) {
    let before = server.inbox(DEMO).len();
    let (mut smtp, _) = Smtp::connect(server.smtp);
    smtp.cmd("EHLO sender.example");
    for message in messages {
        assert!(smtp.send_message("s@far.example", &[DEMO], message).contains("queued"));
    }
    wait_for("the deliveries", Duration::from_secs(30), || {
        server.inbox(DEMO).len() == before + messages.len()
    });
}

fn plain(n: usize) -> String {
    format!(
        "From: Sender {n:02} <s{n}@far{}.example>\r\nTo: {DEMO}\r\nSubject: Note {n:02} about {}\r\n\
         Date: Thu, 3 Dec 2026 {:02}:{:02}:00 +0000\r\nMessage-ID: <n{n}@far.example>\r\n\r\nBody of note {n}.\r\n",
        n % 7,
        ["apples", "boats", "clocks", "doors", "eagles"][n % 5],
        n / 60,
        n % 60
    )
}

/// An attachment of every byte value, base64 in 76-character lines.
fn attachment_message(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for (n, chunk) in bytes.chunks(3).enumerate() {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            b64.push(if i <= chunk.len() {
                T[(v >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
        if n % 19 == 18 {
            b64.push_str("\r\n");
        }
    }
    format!(
        "From: Ada <ada@far.example>\r\nTo: {DEMO}\r\nSubject: Quarterly figures\r\nDate: Fri, 4 Dec 2026 09:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"xyz\"\r\n\r\n--xyz\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nThe figures are attached; see https://example.org/q4 too.\r\n--xyz\r\n\
         Content-Type: application/octet-stream; name=\"figures.bin\"\r\nContent-Disposition: attachment; filename=\"figures.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--xyz--\r\n"
    )
}

#[test]
fn a_new_user_reads_mail_in_chromium() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "");
    let bytes: Vec<u8> = (0..40_000u32).map(|n| (n * 7 + n / 256) as u8).collect();
    let mut messages: Vec<String> = (0..55).map(plain).collect();
    messages.push(attachment_message(&bytes));
    deliver(&server, &messages);
    let b = Browser::start(server.https, "a_new_user_reads_mail_in_chromium");

    // Not logged in: the login page, which says nothing about who exists.
    b.goto("/");
    assert_eq!(b.path(), "/login");
    b.screenshot("login");
    b.fill("input[name=user]", DEMO);
    b.fill("input[name=password]", "wrong password");
    b.click("form.login button[type=submit]");
    assert!(b.text("p.notice").contains("Wrong address or password."));
    b.screenshot("login-failed");
    b.fill("input[name=user]", DEMO);
    b.fill("input[name=password]", PASSWORD);
    b.click("form.login button[type=submit]");
    assert_eq!(b.path(), "/");
    assert!(b.text("table.folders").contains("INBOX 56 56"), "{}", b.text("table.folders"));
    b.screenshot("folders");

    // The INBOX: newest first, 50 rows, two pages.
    b.click("a[href='/folder?f=INBOX']");
    assert_eq!(b.count("table.messages tbody tr"), 50);
    assert!(b.text("h1").contains("56 messages, 56 unread"));
    assert_eq!(b.texts("td.subject")[0], "Quarterly figures");
    assert!(b.text("nav.pages").contains("Page 1 of 2"));
    b.screenshot("inbox");
    b.click("nav.pages a[rel=next]");
    assert_eq!(b.count("table.messages tbody tr"), 6);
    assert_eq!(b.texts("td.subject").last().map(String::as_str), Some("Note 00 about apples"));
    b.screenshot("inbox-page-2");
    // Jump to a page by number.
    b.fill("form.jump input[name=page]", "1");
    b.click("form.jump button");
    assert!(b.text("nav.pages").contains("Page 1 of 2"));

    // Sort by subject (A→Z), then reverse it.
    b.click("th a[href*='sort=subject']");
    let subjects = b.texts("td.subject");
    assert_eq!(subjects[0], "Note 00 about apples");
    let mut sorted = subjects.clone();
    sorted.sort_by_key(|s| s.to_lowercase());
    assert_eq!(subjects, sorted, "not sorted by subject");
    b.screenshot("inbox-by-subject");
    b.click("th a[href*='sort=subject']");
    assert_eq!(b.texts("td.subject")[0], "Quarterly figures");

    // Header search.
    b.select("form.search select[name=field]", "subject");
    b.fill("form.search input[name=q]", "EAGLES");
    b.click("form.search button");
    let found = b.texts("td.subject");
    assert_eq!(found.len(), 11, "{found:?}");
    assert!(found.iter().all(|s| s.ends_with("about eagles")));
    b.screenshot("search");

    // Open the message with the attachment: headers, the parts list, the text.
    b.goto("/folder?f=INBOX");
    b.click("td.subject a");
    assert_eq!(b.text("h1.subject"), "Quarterly figures");
    assert!(b.text("table.headers").contains("Ada <ada@far.example>"));
    assert!(b.text("section.parts").contains("figures.bin"));
    assert_eq!(b.count("article.body a[href='https://example.org/q4']"), 1, "link made clickable");
    b.screenshot("message");
    // The attachment, downloaded as a user would: byte for byte.
    // The attachment, as a user opens it: the click makes the browser fetch it as a
    // download (not a page), and that URL with this browser's session gives the bytes
    // that were sent, unchanged.
    b.events();
    b.press("section.parts a[download]");
    let href = b.eval("return document.querySelector('section.parts a[download]').href");
    let href = href.as_str().expect("href").to_string();
    let mut filename = None;
    wait_for("the download to begin", Duration::from_secs(20), || {
        filename = b.events().into_iter().find_map(|e| match e {
            Event::Download { url, filename } if url == href => Some(filename),
            _ => None,
        });
        filename.is_some()
    });
    assert_eq!(filename.as_deref(), Some("figures.bin"));
    let fetched = std::process::Command::new("curl")
        .args(["-sk", "-H", &format!("Cookie: {}", b.cookie_header()), &href])
        .output()
        .expect("curl");
    assert_eq!(fetched.stdout, bytes, "the attachment changed");
    b.click("nav.crumbs a[href='/folder?f=INBOX']");
    assert!(b.text("h1").contains("56 messages, 55 unread"), "reading marked it read");

    // Select all (a link, no script needed), then tick two and move them to Junk.
    b.click("form.bulk a");
    assert_eq!(b.count("td.pick input:checked"), 50);
    b.click("form.bulk a");
    assert_eq!(b.count("td.pick input:checked"), 0);
    b.press("tbody tr:nth-child(2) td.pick input");
    b.press("tbody tr:nth-child(3) td.pick input");
    b.select("form.bulk select[name=to]", "Junk");
    b.click("form.bulk button[value=move]");
    assert!(b.text("h1").contains("54 messages"), "{}", b.text("h1"));
    b.screenshot("after-bulk-move");
    b.goto("/folder?f=Junk");
    assert_eq!(b.count("table.messages tbody tr"), 2);

    // A phone: 360 px wide, no sideways scrolling.
    b.resize(360, 740);
    b.goto("/folder?f=INBOX");
    let width = b.eval("return document.documentElement.scrollWidth").as_u64().expect("width");
    let inner = b.eval("return window.innerWidth").as_u64().expect("inner");
    assert!(width <= inner, "the folder page scrolls sideways at {inner} px: {width} px wide");
    b.screenshot("inbox-360px");
    b.click("td.subject a");
    let width = b.eval("return document.documentElement.scrollWidth").as_u64().expect("width");
    assert!(width <= inner, "the message page scrolls sideways at {inner} px: {width} px wide");
    b.screenshot("message-360px");
    b.resize(1280, 900);

    // Log out: back to the login page, and the old pages are gone.
    b.click("form.logout button");
    assert_eq!(b.path(), "/login?why=out");
    assert!(b.text("p.notice").contains("You have logged out."));
    b.screenshot("logged-out");
    b.goto("/folder?f=INBOX");
    assert_eq!(b.path(), "/login");

    assert_eq!(b.dialog(), None);
    assert_eq!(b.proxy.take_refused(), Vec::<String>::new(), "requests to other origins");
}

#[test]
fn an_expired_session_sends_the_browser_to_the_login_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "[web]\nidle_timeout_secs = 1\n");
    let b = Browser::start(server.https, "an_expired_session_sends_the_browser_to_the_login_page");
    b.goto("/login");
    b.fill("input[name=user]", DEMO);
    b.fill("input[name=password]", PASSWORD);
    b.click("form.login button[type=submit]");
    assert_eq!(b.path(), "/");
    wait_for("the session to expire", Duration::from_secs(10), || {
        b.goto("/folder?f=INBOX");
        b.path() != "/folder?f=INBOX"
    });
    assert_eq!(b.path(), "/login?why=expired");
    assert!(b.text("p.notice").contains("Your session has ended."));
    b.screenshot("expired");
    assert_eq!(b.proxy.take_refused(), Vec::<String>::new(), "requests to other origins");
}

fn log_in(b: &Browser, who: &str, password: &str) {
    b.goto("/login");
    b.fill("input[name=user]", who);
    b.fill("input[name=password]", password);
    b.click("form.login button[type=submit]");
    assert_eq!(b.path(), "/", "logged in as {who}");
}

fn log_out(b: &Browser) {
    b.click("form.logout button");
    assert_eq!(b.path(), "/login?why=out");
}

#[test]
fn two_users_write_to_each_other_in_chromium() {
    const BOB: &str = "bob@demo.example";
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "");
    server.add_user(BOB, "bob-password-1");
    let bytes: Vec<u8> = (0..150_000u32).map(|n| (n * 13 + n / 97) as u8).collect();
    let upload = dir.path().join("plan.bin");
    std::fs::write(&upload, &bytes).expect("upload");
    let b = Browser::start(server.https, "two_users_write_to_each_other_in_chromium");

    // Demo writes to Bob, attaches a file, and sends.
    log_in(&b, DEMO, PASSWORD);
    b.click("header.bar a[href='/compose']");
    assert!(b.path().starts_with("/compose?c="), "{}", b.path());
    b.fill("input[name=to]", "Bob <bob@demo.example>");
    b.fill("input[name=subject]", "The plan — v2");
    b.fill("textarea[name=body]", "Hi Bob,\nthe plan is attached.\n");
    b.fill("input[type=file]", upload.to_str().expect("path"));
    b.click("button[value=attach]");
    assert!(b.text("ul.attachments").contains("plan.bin"), "{}", b.source());
    assert_eq!(
        b.eval("return document.querySelector('input[name=subject]').value"),
        "The plan — v2"
    );
    b.screenshot("compose-with-attachment");
    b.click("button[value=send]");
    assert_eq!(b.path(), "/?sent=1");
    assert!(b.text("p.notice").contains("Your message was sent."));
    b.screenshot("sent");
    wait_for("the delivery to Bob", Duration::from_secs(20), || server.inbox(BOB).len() == 1);
    let on_disk = std::fs::read(&server.inbox(BOB)[0]).expect("Bob's message");
    assert!(
        String::from_utf8_lossy(&on_disk).contains("Subject: =?utf-8?"),
        "an encoded subject in Bob's Maildir"
    );
    log_out(&b);

    // Bob reads it; the attachment is the file Demo chose; Bob replies.
    log_in(&b, BOB, "bob-password-1");
    b.click("a[href='/folder?f=INBOX']");
    assert_eq!(b.texts("td.subject"), ["The plan — v2"]);
    b.click("td.subject a");
    assert!(b.text("section.parts").contains("plan.bin"));
    let href = b.eval("return document.querySelector('section.parts a[download]').href");
    let fetched = std::process::Command::new("curl")
        .args([
            "-sk",
            "-H",
            &format!("Cookie: {}", b.cookie_header()),
            href.as_str().expect("href"),
        ])
        .output()
        .expect("curl");
    assert_eq!(
        fetched.stdout, bytes,
        "the attachment changed between Demo's disk and Bob's webmail"
    );
    b.screenshot("bob-reads");
    b.click("nav.write a[href*='reply=sender']");
    assert_eq!(b.eval("return document.querySelector('input[name=to]').value"), DEMO);
    assert_eq!(
        b.eval("return document.querySelector('input[name=subject]').value"),
        "Re: The plan — v2"
    );
    let body = b.eval("return document.querySelector('textarea[name=body]').value");
    assert!(body.as_str().is_some_and(|t| t.contains("> the plan is attached.")), "{body}");
    b.click("button[value=send]");
    assert_eq!(b.path(), "/?sent=1");
    log_out(&b);

    // Demo sees the reply, threaded to the original.
    log_in(&b, DEMO, PASSWORD);
    wait_for("the reply", Duration::from_secs(20), || server.inbox(DEMO).len() == 1);
    b.click("a[href='/folder?f=INBOX']");
    b.click("td.subject a");
    assert_eq!(b.text("h1.subject"), "Re: The plan — v2");
    b.click("p.more a[href*='headers=full']");
    let headers = b.text("table.headers.all");
    assert!(headers.contains("In-Reply-To"), "{headers}");
    b.screenshot("reply-headers");
    b.goto("/folder?f=Sent");
    b.click("td.subject a");
    b.click("p.more a[href*='headers=full']");
    let original = b.text("table.headers.all");
    let id_of = |text: &str, name: &str| {
        text.lines().find(|l| l.starts_with(name)).map(|l| l[name.len()..].trim().to_string())
    };
    let message_id = id_of(&original, "Message-ID").expect("the original's Message-ID");
    assert_eq!(id_of(&headers, "In-Reply-To"), Some(message_id.clone()), "In-Reply-To");
    assert_eq!(id_of(&headers, "References"), Some(message_id), "References");

    // Demo keeps Bob in the address book from the message, and writes to him from there.
    b.goto("/folder?f=INBOX");
    b.click("td.subject a");
    b.click("form.quick-add button");
    assert!(b.text("p.notice").contains("is now in your address book"), "{}", b.source());
    b.click("header.bar a[href='/addressbook']");
    assert!(b.text("table.contacts").contains(BOB));
    b.screenshot("address-book");
    b.click("table.contacts td a[href^='/compose?to=']");
    let to = b.eval("return document.querySelector('input[name=to]').value");
    assert!(to.as_str().is_some_and(|t| t.contains(BOB)), "{to}");
    b.goto("/settings");
    b.screenshot("settings");

    // A draft survives logging out.
    b.goto("/compose");
    b.fill("input[name=to]", "someone@elsewhere.example");
    b.fill("input[name=subject]", "Unfinished thoughts");
    b.fill("textarea[name=body]", "To be continued");
    b.click("div.buttons button[value=save]");
    assert!(b.text("p.notice").contains("Draft saved"));
    log_out(&b);
    log_in(&b, DEMO, PASSWORD);
    b.goto("/folder?f=Drafts");
    b.click("td.subject a");
    assert_eq!(
        b.eval("return document.querySelector('input[name=subject]').value"),
        "Unfinished thoughts"
    );
    assert_eq!(
        b.eval("return document.querySelector('textarea[name=body]').value"),
        "To be continued"
    );
    b.screenshot("draft-resumed");
    assert_eq!(b.dialog(), None);
    assert_eq!(b.proxy.take_refused(), Vec::<String>::new(), "requests to other origins");
}

/// Copies `from`'s account files to `count` new users `u01`…: an operator's migration
/// script would do the same, and it is quicker than hashing a password for each.
fn clone_users(server: &Server, from: &str, count: usize) {
    let users = server.data.join("domains/demo.example/users");
    for n in 1..=count {
        let to = users.join(format!("u{n:02}"));
        std::fs::create_dir_all(&to).expect("user dir");
        std::fs::copy(users.join(from).join("account.toml"), to.join("account.toml"))
            .expect("account");
    }
}

#[test]
fn admins_manage_their_domains_in_chromium() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "");
    server.add_user("postmaster@demo.example", "this-admin-password");
    server.add_user("bob@demo.example", "bob-password-1");
    server.add_user("root@demo.example", "root-admin-password");
    clone_users(&server, "bob", 55);
    for args in [
        &["domain", "add", "other.example"][..],
        &["domain", "admins", "demo.example", "postmaster@demo.example"],
        &["admins", "root@demo.example"],
    ] {
        let out = server.admin(args, "");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let b = Browser::start(server.https, "admins_manage_their_domains_in_chromium");

    // The domain's admin finds the way from Settings and sees only their domain.
    log_in(&b, "postmaster@demo.example", "this-admin-password");
    b.click("header.bar a[href='/settings']");
    b.click("a[href='/admin']");
    assert_eq!(b.path(), "/admin");
    let domains = b.texts("table.admin tbody td:first-child a");
    assert_eq!(domains, ["demo.example"]);
    assert_eq!(b.count("form[action='/admin/domains/add']"), 0, "no root forms");
    b.screenshot("admin-overview");
    b.click("table.admin tbody a");
    assert_eq!(b.path(), "/admin/domain?d=demo.example");
    assert!(b.text("main").contains("59"), "users counted: {}", b.text("main"));
    assert_eq!(b.count("form[action='/admin/domain/limits']"), 0, "limits are the root's");
    b.screenshot("admin-domain");
    // Unknown addresses to a user typed by name; no name: told, nothing changed.
    b.press("form[action='/admin/domain/catch-all'] input[value=user]");
    b.click("form[action='/admin/domain/catch-all'] button");
    assert!(b.text("p.error").contains("Deliver to which user?"), "{}", b.text("main"));
    b.press("form[action='/admin/domain/catch-all'] input[value=user]");
    b.fill("form[action='/admin/domain/catch-all'] input[name=user]", "bob");
    b.click("form[action='/admin/domain/catch-all'] button");
    assert!(b.text("p.notice").contains("Saved."), "{}", b.text("main"));
    let config = std::fs::read_to_string(server.data.join("domains/demo.example/domain.toml"))
        .expect("domain.toml");
    assert!(config.contains("catch_all = \"bob\""), "{config}");

    // 59 users: two pages, and a search.
    b.goto("/admin/users?d=demo.example");
    assert_eq!(b.count("table.admin tbody tr"), 50);
    b.click("nav.pages a[rel=next]");
    assert_eq!(b.count("table.admin tbody tr"), 9);
    b.fill("form.search input[name=q]", "u1");
    b.click("form.search button");
    let found = b.texts("table.admin tbody td:first-child a");
    assert_eq!(found.len(), 10, "{found:?}");
    assert!(found.iter().all(|a| a.starts_with("u1")), "{found:?}");
    b.screenshot("admin-users-search");

    // A new user, then their services and a forward.
    b.fill("form[action='/admin/user/add'] input[name=user]", "newbie");
    b.fill("form[action='/admin/user/add'] input[name=password]", "newbie-password-1");
    b.fill("form[action='/admin/user/add'] input[name=quota_mb]", "50");
    b.click("form[action='/admin/user/add'] button");
    assert!(b.text("p.notice").contains("newbie@demo.example"), "{}", b.text("main"));
    b.goto("/admin/user?a=newbie%40demo.example");
    b.press("form[action='/admin/user/services'] input[name=pop3]");
    b.click("form[action='/admin/user/services'] button");
    assert!(b.text("p.notice").contains("Services saved."));
    assert_eq!(
        b.eval("return document.querySelector('input[name=pop3]').checked"),
        false,
        "POP3 off"
    );
    b.fill("form[action='/admin/user/forward'] textarea", "bob@demo.example");
    b.click("form[action='/admin/user/forward'] button");
    assert!(b.text("p.notice").contains("saved"), "{}", b.text("main"));
    assert!(b.text("main").contains("Using 0 B of 50.0 MB"), "{}", b.text("main"));
    b.screenshot("admin-user");
    let account =
        std::fs::read_to_string(server.data.join("domains/demo.example/users/newbie/account.toml"))
            .expect("account");
    assert!(account.contains("pop3"), "{account}");

    // An alias.
    b.goto("/admin/aliases?d=demo.example");
    b.fill("form[action='/admin/alias/add'] input[name=alias]", "sales");
    b.fill("form[action='/admin/alias/add'] textarea[name=targets]", "bob@demo.example\nnewbie");
    b.click("form[action='/admin/alias/add'] button");
    assert!(b.text("table.admin").contains("sales@demo.example"), "{}", b.text("main"));
    b.screenshot("admin-aliases");
    // Another domain is out of reach, even typed in.
    b.goto("/admin/domain?d=other.example");
    assert!(b.text("body").contains("you do not administer other.example"));
    b.screenshot("admin-forbidden");
    b.goto("/");
    log_out(&b);

    // The root admin: every domain, limits, a new domain, the queue and the audit log.
    log_in(&b, "root@demo.example", "root-admin-password");
    b.goto("/admin");
    let domains = b.texts("table.admin tbody td:first-child a");
    assert_eq!(domains, ["demo.example", "other.example"]);
    b.fill("form[action='/admin/domains/add'] input[name=domain]", "new.example");
    b.fill("form[action='/admin/domains/add'] input[name=max_users]", "10");
    b.click("form[action='/admin/domains/add'] button");
    assert!(b.texts("table.admin tbody td:first-child a").contains(&"new.example".to_string()));
    b.screenshot("root-overview");
    b.fill("form.search input[name=q]", "OTHER");
    b.click("form.search button");
    assert_eq!(b.texts("table.admin tbody td:first-child a"), ["other.example"]);
    b.goto("/admin/domain?d=new.example");
    b.fill("form[action='/admin/domain/limits'] input[name=max_aliases]", "20");
    b.click("form[action='/admin/domain/limits'] button");
    assert!(b.text("p.notice").contains("saved"), "{}", b.text("main"));
    assert!(b.text("main").contains("0 of 20"), "aliases against the limit: {}", b.text("main"));
    b.goto("/admin/queue");
    assert!(b.text("main").contains("The queue is empty."));
    b.goto("/admin/audit");
    let audit = b.text("table.admin");
    for line in ["user.add", "user.services", "user.forward", "alias.add", "domain.add"] {
        assert!(audit.contains(line), "{line} in the audit log: {audit}");
    }
    assert!(audit.contains("postmaster@demo.example") && audit.contains("root@demo.example"));
    b.screenshot("root-audit");

    assert_eq!(b.dialog(), None);
    assert_eq!(b.proxy.take_refused(), Vec::<String>::new(), "requests to other origins");
}
