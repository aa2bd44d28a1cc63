//! The message page over real HTTPS: headers first, parts on demand (a 10 MB attachment
//! costs nothing until asked for), sanitised HTML with remote images held back, cid
//! images, raw source, and the actions (unread, flag, move, delete to Trash).

use std::time::Duration;

use mailroom_tests::server::{Server, Smtp, wait_for};
use mailroom_tests::web::Curl;

const DEMO: &str = "demo@demo.example";

fn start() -> (tempfile::TempDir, Server, Curl) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "");
    let curl = Curl::new(format!("https://{}", server.https), dir.path().join("jar"));
    assert_eq!(curl.login(DEMO, "mailroom-demo").status, 303);
    (dir, server, curl)
}

fn deliver(server: &Server, message: &str) {
    let before = server.inbox(DEMO).len();
    let (mut smtp, _) = Smtp::connect(server.smtp);
    smtp.cmd("EHLO sender.example");
    assert!(smtp.send_message("s@far.example", &[DEMO], message).contains("queued"));
    wait_for("the delivery", Duration::from_secs(20), || server.inbox(DEMO).len() == before + 1);
}

/// The first message link of the INBOX page.
fn first_message(curl: &Curl) -> String {
    let inbox = curl.get("/folder?f=INBOX");
    let start = inbox.body.find("href=\"/message?").expect("a message link") + 6;
    inbox.body[start..].split('"').next().expect("href").replace("&amp;", "&")
}

fn base64_lines(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + bytes.len() / 57 * 2 + 4);
    for (n, chunk) in bytes.chunks(3).enumerate() {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(v >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
        if n % 19 == 18 {
            out.push_str("\r\n");
        }
    }
    out
}

#[test]
fn a_10_mb_attachment_costs_nothing_until_asked_for() {
    let (_dir, server, curl) = start();
    let attachment: Vec<u8> =
        (0..10 * 1024 * 1024u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let message = format!(
        "From: Big Sender <big@far.example>\r\nTo: {DEMO}\r\nSubject: the report\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Here is the report, see https://example.org/report.\r\n--b1\r\nContent-Type: application/pdf; name=\"r\u{e9}port 2026.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"r\u{e9}port 2026.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        base64_lines(&attachment)
    );
    deliver(&server, &message);
    let href = first_message(&curl);
    let page = curl.get(&href);
    assert_eq!(page.status, 200);
    assert!(
        page.wire_bytes < 100 * 1024,
        "opening the message transferred {} bytes",
        page.wire_bytes
    );
    assert!(page.body.contains("Big Sender &lt;big@far.example&gt;"), "{}", page.body);
    assert!(page.body.contains("application/pdf") && page.body.contains("10.0 MB"), "parts list");
    assert!(
        page.body.contains(
            "<a href=\"https://example.org/report\" rel=\"noopener noreferrer nofollow\">"
        ),
        "link"
    );
    let link = page
        .body
        .split("href=\"/part?")
        .nth(1)
        .expect("a part link")
        .split('"')
        .next()
        .expect("href")
        .replace("&amp;", "&");
    let part = curl.get(&format!("/part?{link}"));
    assert_eq!(part.status, 200);
    assert!(
        part.bytes == attachment,
        "the attachment came back as {} other bytes",
        part.bytes.len()
    );
    let disposition = part.header("content-disposition").expect("disposition");
    assert!(
        disposition.starts_with("attachment;")
            && disposition.contains("filename*=UTF-8''r%C3%A9port%202026.pdf"),
        "{disposition}"
    );
    assert_eq!(part.header("x-content-type-options"), Some("nosniff"));
    assert!(part.header("content-security-policy").is_some_and(|c| c.starts_with("sandbox")));
    // Opening it marked it read.
    assert!(curl.get("/folder?f=INBOX").body.contains("1 messages, 0 unread"));
}

#[test]
fn html_is_sanitised_remote_images_wait_and_cid_images_come_from_the_message() {
    let (_dir, server, curl) = start();
    let message = format!(
        "From: h@far.example\r\nTo: {DEMO}\r\nSubject: html\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/related; boundary=\"r\"\r\n\r\n--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <html><head><style>body{{background:url(https://evil.example/bg)}}</style><script>alert(1)</script></head>\
         <body onload=\"alert(2)\"><p>Hello <b>there</b></p><img src=\"https://tracker.example/pixel.gif\">\
         <img src=\"cid:logo@far.example\"><a href=\"javascript:alert(3)\">click</a><iframe src=\"https://evil.example\"></iframe>\
         </body></html>\r\n--r\r\nContent-Type: image/png\r\nContent-ID: <logo@far.example>\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         iVBORw0KGgo=\r\n--r--\r\n"
    );
    deliver(&server, &message);
    let href = first_message(&curl);
    let page = curl.get(&href);
    for bad in [
        "<script",
        "alert(",
        "onload",
        "<style",
        "evil.example",
        "tracker.example",
        "<iframe",
        "javascript:",
    ] {
        assert!(!page.body.contains(bad), "{bad} survived:\n{}", page.body);
    }
    assert!(page.body.contains("<p>Hello <b>there</b></p>"));
    assert!(page.body.contains("1 remote images were not loaded."), "{}", page.body);
    let cid = page
        .body
        .split("<img src=\"")
        .nth(1)
        .expect("cid image")
        .split('"')
        .next()
        .expect("src")
        .replace("&amp;", "&");
    assert!(cid.starts_with("/part?") && cid.contains("cid=logo%40far.example"), "{cid}");
    let image = curl.get(&cid);
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), Some("image/png"));
    assert!(image.header("content-disposition").is_some_and(|d| d.starts_with("inline")));
    let shown = curl.get(&format!("{href}&images=1"));
    assert!(shown.body.contains("tracker.example/pixel.gif"), "remote image not shown on request");
    assert!(shown.header("content-security-policy").is_some_and(|c| {
        c.contains("img-src 'self' https: http:") && c.contains("default-src 'none'")
    }));
    assert!(
        !curl.get(&href).header("content-security-policy").is_some_and(|c| c.contains("https:")),
        "the exception leaked"
    );
}

#[test]
fn raw_source_full_headers_and_actions() {
    let (_dir, server, curl) = start();
    deliver(
        &server,
        &format!(
            "From: a@far.example\r\nTo: {DEMO}\r\nX-Custom: kept\r\nSubject: act on me\r\n\r\nbody"
        ),
    );
    let href = first_message(&curl);
    let full = curl.get(&format!("{href}&headers=full"));
    assert!(full.body.contains("<th>X-Custom</th><td>kept</td>"), "{}", full.body);
    assert!(full.body.contains("<th>Received</th>"));
    let raw = curl.get(&href.replacen("/message?", "/raw?", 1));
    assert!(
        raw.body.starts_with("Delivered-To: demo@demo.example\nReceived: from"),
        "{}",
        raw.body
    );
    assert_eq!(raw.header("x-content-type-options"), Some("nosniff"));

    let page = curl.get(&href);
    // The message id, decoded from the link (its ",S=" is percent-encoded there).
    let m = href.split("m=").nth(1).expect("m").replace("%2C", ",").replace("%3D", "=");
    let form = |action: &str, to: &str| {
        let csrf = curl.get(&href).csrf();
        curl.post(
            "/message/action",
            &[("csrf", &csrf), ("f", "INBOX"), ("m", &m), ("action", action), ("to", to)],
        )
    };
    assert!(page.body.contains("Mark unread"));
    assert_eq!(form("unread", "").status, 303);
    assert!(curl.get("/folder?f=INBOX").body.contains("1 messages, 1 unread"));
    assert_eq!(form("flag", "").status, 303);
    assert!(curl.get("/folder?f=INBOX").body.contains("title=\"flagged\""));
    assert_eq!(
        curl.post(
            "/message/action",
            &[("csrf", "bad"), ("f", "INBOX"), ("m", &m), ("action", "delete")]
        )
        .status,
        403
    );
    assert_eq!(form("move", "Junk").status, 303);
    assert!(curl.get("/folder?f=Junk").body.contains("act on me"));
    assert!(curl.get(&href).status == 404, "still in INBOX after the move");
    let encoded = m.replace(',', "%2C").replace('=', "%3D");
    let junk = format!("/message?f=Junk&m={encoded}");
    let csrf = curl.get(&junk).csrf();
    assert_eq!(
        curl.post(
            "/message/action",
            &[("csrf", &csrf), ("f", "Junk"), ("m", &m), ("action", "delete")]
        )
        .status,
        303
    );
    assert!(curl.get("/folder?f=Trash").body.contains("act on me"), "delete goes to Trash");
    let csrf = curl.get(&format!("/message?f=Trash&m={encoded}")).csrf();
    assert_eq!(
        curl.post(
            "/message/action",
            &[("csrf", &csrf), ("f", "Trash"), ("m", &m), ("action", "delete")]
        )
        .status,
        303
    );
    assert!(
        curl.get("/folder?f=Trash").body.contains("This folder is empty."),
        "delete in Trash deletes"
    );
    for bad in [
        "/message?f=INBOX&m=..%2F..%2Fetc%2Fpasswd",
        "/message?f=INBOX&m=x%3A2%2CS",
        "/message?f=INBOX&m=.hidden",
        "/part?f=INBOX&m=nope",
    ] {
        let r = curl.get(bad);
        assert!(r.status == 400 || r.status == 404, "{bad}: {}", r.status);
    }
}

#[test]
fn messages_other_programs_left_broken_still_open_as_text() {
    let (_dir, server, curl) = start();
    // Files another program (or a disk error) left in the Maildir: empty, binary, only
    // headers, no headers at all, a header block that never ends.
    let new = server.data.join("domains/demo.example/users/demo/Maildir/new");
    let files: [(&str, &[u8]); 5] = [
        ("1700000001.M1P1Q1.other", b""),
        ("1700000002.M2P1Q2.other", b"\x00\x01\x02\xff\xfe<script>alert(1)</script>\x00"),
        ("1700000003.M3P1Q3.other", b"Subject: only headers\r\nFrom: a@b.example\r\n"),
        ("1700000004.M4P1Q4.other", b"no header here, just <b>text</b>\nand a second line\n"),
        ("1700000005.M5P1Q5.other", b"Subject: endless\r\nX-Long: aaaa\r\n\tbbbb\r\n\tcccc"),
    ];
    for (name, bytes) in files {
        std::fs::write(new.join(name), bytes).expect("write");
    }
    let inbox = curl.get("/folder?f=INBOX");
    assert_eq!(inbox.status, 200);
    assert!(inbox.body.contains("5 messages"), "{}", inbox.body);
    for (name, bytes) in files {
        let page = curl.get(&format!("/message?f=INBOX&m={name}"));
        assert_eq!(page.status, 200, "{name}: {}", page.body);
        assert!(!page.body.contains("<script>alert"), "{name}: unescaped");
        let text = String::from_utf8_lossy(bytes);
        if let Some(line) = text.lines().next().filter(|l| l.is_ascii() && l.len() > 3) {
            let shown = line.trim().replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            let subject = line.strip_prefix("Subject: ").unwrap_or("\u{0}");
            assert!(
                page.body.contains(&shown) || page.body.contains(subject),
                "{name}: {line:?} is not shown:\n{}",
                page.body
            );
        }
        let raw = curl.get(&format!("/raw?f=INBOX&m={name}"));
        assert_eq!(raw.bytes, bytes, "{name}: the raw source is the file");
    }
}

#[test]
fn a_user_whose_webmail_is_disabled_is_told_so_after_the_right_password_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "");
    let out = server.admin(&["user", "service", DEMO, "webmail", "--disable"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let curl = Curl::new(format!("https://{}", server.https), dir.path().join("jar"));
    let wrong = curl.login(DEMO, "not-the-password");
    assert_eq!(wrong.status, 401, "a wrong password says nothing about the account");
    let right = curl.login(DEMO, "mailroom-demo");
    assert_eq!(right.status, 403);
    assert!(right.body.contains("webmail is disabled for demo@demo.example"), "{}", right.body);
    assert!(right.header("set-cookie").is_none_or(|c| !c.starts_with("__Host-mailroom=")));
    assert_eq!(curl.get("/").status, 303, "no session");
    // Enabled again: the same login goes through.
    let out = server.admin(&["user", "service", DEMO, "webmail", "--enable"], "");
    assert!(out.status.success());
    assert_eq!(curl.login(DEMO, "mailroom-demo").status, 303);
}
