//! Writing mail over real HTTPS (curl as the browser, multipart forms as a browser sends
//! them): compose with an attachment, send through the queue, the copy in Sent; the
//! recipient's reply with its thread headers and the answered mark; forwards; a draft
//! that survives logout; and every way a form can be wrong — header injection in each
//! field, a foreign From, unknown recipients, oversized files, a forged form — refused
//! with a clear error, nothing sent and nothing typed lost.

use std::path::Path;
use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders};
use mailroom_tests::server::{Server, wait_for};
use mailroom_tests::web::{Curl, Part, Response};

const DEMO: &str = "demo@demo.example";
const BOB: &str = "bob@demo.example";

fn start() -> (tempfile::TempDir, Server, Curl, Curl) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "");
    server.add_user(BOB, "bob-password-1");
    let demo = Curl::new(format!("https://{}", server.https), dir.path().join("demo-jar"));
    let bob = Curl::new(format!("https://{}", server.https), dir.path().join("bob-jar"));
    assert_eq!(demo.login(DEMO, "mailroom-demo").status, 303);
    assert_eq!(bob.login(BOB, "bob-password-1").status, 303);
    (dir, server, demo, bob)
}

/// Opens the compose page for `query` ("" for a new message): (spool id, page).
fn compose(curl: &Curl, query: &str) -> (String, Response) {
    let started = curl.get(&format!("/compose{query}"));
    assert_eq!(started.status, 303, "{}", started.body);
    let location = started.header("location").expect("location").to_string();
    let id = location.strip_prefix("/compose?c=").expect("a spool").to_string();
    let page = curl.get(&location);
    assert_eq!(page.status, 200, "{}", page.body);
    (id, page)
}

/// The value of a form field in the compose page.
fn field(page: &Response, name: &str) -> String {
    if name == "body" {
        let start = page.body.find("<textarea name=\"body\"").expect("textarea");
        let start = start + page.body[start..].find('>').expect(">") + 1;
        let end = start + page.body[start..].find("</textarea>").expect("end");
        return unescape(&page.body[start..end]);
    }
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.body.find(&marker).unwrap_or_else(|| panic!("no {name}")) + marker.len();
    unescape(page.body[start..].split('"').next().expect("value"))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

/// Posts the compose form as a browser does: csrf, c, the fields, files, the button.
fn post(
    curl: &Curl,
    id: &str,
    csrf: &str,
    fields: &[(&str, &str)],
    files: &[(&Path, &str, &str)],
    action: &str,
) -> Response {
    let mut form: Vec<(&str, Part<'_>)> = vec![("csrf", Part::Text(csrf)), ("c", Part::Text(id))];
    for (name, value) in fields {
        form.push((name, Part::Text(value)));
    }
    for (path, name, mime) in files {
        form.push(("file", Part::File(path, name, mime)));
    }
    form.push(("action", Part::Text(action)));
    curl.post_multipart("/compose", &form)
}

fn message_files(server: &Server, who: &str) -> Vec<Vec<u8>> {
    server.inbox(who).iter().map(|p| std::fs::read(p).expect("read")).collect()
}

#[test]
fn compose_send_reply_and_forward() {
    let (dir, server, demo, bob) = start();
    let attachment: Vec<u8> = (0..300_000u32).map(|n| (n * 7 + n / 251) as u8).collect();
    let file = dir.path().join("figures.bin");
    std::fs::write(&file, &attachment).expect("file");

    // Demo writes to Bob with an attachment: attach first, then send.
    let (id, page) = compose(&demo, "");
    assert!(page.body.contains("<form class=\"compose\""), "{}", page.body);
    let csrf = page.csrf();
    let fields = [
        ("from", DEMO),
        ("to", "Bob <bob@demo.example>"),
        ("cc", ""),
        ("bcc", ""),
        ("subject", "Quarterly figures — ünïcödé"),
        ("body", "Hello Bob,\r\n\r\nthe figures are attached.\r\n\r\nDemo"),
    ];
    let attached = post(
        &demo,
        &id,
        &csrf,
        &fields,
        &[(&file, "Zahlen Q4 (final).bin", "application/octet-stream")],
        "attach",
    );
    assert_eq!(attached.status, 303, "{}", attached.body);
    let page = demo.get(&format!("/compose?c={id}"));
    assert!(page.body.contains("Zahlen Q4 (final).bin"), "attachment listed: {}", page.body);
    assert_eq!(field(&page, "subject"), "Quarterly figures — ünïcödé", "typed text kept");
    let sent = post(&demo, &id, &page.csrf(), &fields, &[], "send");
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.header("location"), Some("/?sent=1"));
    assert!(demo.get("/?sent=1").body.contains("Your message was sent."));
    assert_eq!(demo.get(&format!("/compose?c={id}")).status, 404, "the spool ends with the send");

    wait_for("the delivery to Bob", Duration::from_secs(20), || server.inbox(BOB).len() == 1);
    let raw = &message_files(&server, BOB)[0];
    let message = MessageParser::default().parse(&raw[..]).expect("parses");
    assert_eq!(message.subject(), Some("Quarterly figures — ünïcödé"));
    assert_eq!(message.from().and_then(|a| a.first()).and_then(|a| a.address()), Some(DEMO));
    let attachments: Vec<_> = message.attachments().collect();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].attachment_name(), Some("Zahlen Q4 (final).bin"));
    assert_eq!(attachments[0].contents(), &attachment[..], "the attachment changed on the way");
    assert!(message.body_text(0).expect("text").contains("the figures are attached."));
    let text = String::from_utf8_lossy(raw);
    assert!(text.contains("with HTTPSA id"), "a Received line for the webmail: {text}");
    let message_id = message.message_id().expect("Message-ID").to_string();

    // The copy in Sent.
    let sent_folder = demo.get("/folder?f=Sent");
    assert!(sent_folder.body.contains("Quarterly figures"), "{}", sent_folder.body);
    assert!(sent_folder.body.contains("bob@demo.example") || sent_folder.body.contains("Bob"));

    // Bob opens it in his webmail; the attachment downloads byte for byte.
    let inbox = bob.get("/folder?f=INBOX");
    let start = inbox.body.find("href=\"/message?").expect("a message") + 6;
    let href = unescape(inbox.body[start..].split('"').next().expect("href"));
    let opened = bob.get(&href);
    assert!(opened.body.contains("Reply all"), "answer links: {}", opened.body);
    let part_start = opened.body.find("href=\"/part?").expect("a part") + 6;
    let part = unescape(opened.body[part_start..].split('"').next().expect("part"));
    assert_eq!(bob.get(&part).bytes, attachment);

    // Bob replies: to Demo, "Re:", the thread headers, the original quoted.
    let m = href.split("m=").nth(1).expect("m");
    let (reply_id, reply) = compose(&bob, &format!("?reply=sender&f=INBOX&m={m}"));
    assert_eq!(field(&reply, "to"), DEMO);
    assert_eq!(field(&reply, "subject"), "Re: Quarterly figures — ünïcödé");
    let body = field(&reply, "body");
    assert!(body.contains("wrote:\n> Hello Bob,"), "{body:?}");
    let reply_fields = [
        ("from", BOB),
        ("to", DEMO),
        ("cc", ""),
        ("bcc", ""),
        ("subject", "Re: Quarterly figures — ünïcödé"),
        ("body", &format!("Thanks!\r\n\r\n{body}")),
    ];
    let sent = post(&bob, &reply_id, &reply.csrf(), &reply_fields, &[], "send");
    assert_eq!(sent.status, 303, "{}", sent.body);
    wait_for("the reply", Duration::from_secs(20), || server.inbox(DEMO).len() == 1);
    let raw = &message_files(&server, DEMO)[0];
    let answer = MessageParser::default().parse(&raw[..]).expect("parses");
    assert_eq!(answer.in_reply_to().as_text(), Some(message_id.as_str()));
    let references: Vec<String> = answer
        .references()
        .as_text_list()
        .unwrap_or_default()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(references, vec![message_id.clone()]);
    assert!(
        bob.get("/folder?f=INBOX").body.contains("title=\"answered\""),
        "the original is marked answered"
    );

    // Demo forwards Bob's reply as an attachment back to Bob.
    let inbox = demo.get("/folder?f=INBOX");
    let start = inbox.body.find("href=\"/message?").expect("a message") + 6;
    let href = unescape(inbox.body[start..].split('"').next().expect("href"));
    let m = href.split("m=").nth(1).expect("m");
    let (fwd_id, fwd) = compose(&demo, &format!("?forward=attached&f=INBOX&m={m}"));
    assert_eq!(field(&fwd, "subject"), "Fwd: Re: Quarterly figures — ünïcödé");
    assert!(fwd.body.contains("Re: Quarterly figures — ünïcödé.eml"), "{}", fwd.body);
    let fwd_fields = [
        ("from", DEMO),
        ("to", BOB),
        ("cc", ""),
        ("bcc", ""),
        ("subject", "Fwd: see below"),
        ("body", "FYI"),
    ];
    assert_eq!(post(&demo, &fwd_id, &fwd.csrf(), &fwd_fields, &[], "send").status, 303);
    wait_for("the forward", Duration::from_secs(20), || server.inbox(BOB).len() == 2);
    let forwarded = message_files(&server, BOB)
        .into_iter()
        .find(|m| String::from_utf8_lossy(m).contains("Fwd: see below"))
        .expect("the forward");
    let forwarded = MessageParser::default().parse(&forwarded[..]).expect("parses");
    let inner = forwarded.attachments().find_map(|a| a.message()).expect("a message/rfc822 part");
    assert_eq!(inner.in_reply_to().as_text(), Some(message_id.as_str()));
    assert!(
        demo.get("/folder?f=INBOX").body.contains("title=\"forwarded\"")
            || demo.get(&href).status == 200
    );

    // Inline forward carries the text and the attachments of the original.
    let sent_page = demo.get("/folder?f=Sent");
    let row =
        sent_page.body.find(">Quarterly figures — ünïcödé<").expect("the first message in Sent");
    let start = sent_page.body[..row].rfind("href=\"/message?").expect("its link") + 6;
    let sent_href = unescape(sent_page.body[start..].split('"').next().expect("href"));
    let m = sent_href.split("m=").nth(1).expect("m");
    let (_, inline) = compose(&demo, &format!("?forward=inline&f=Sent&m={m}"));
    assert!(inline.body.contains("---------- Forwarded message ----------"));
    assert!(inline.body.contains("Zahlen Q4 (final).bin"), "the original's attachment comes along");
}

#[test]
fn drafts_survive_logout_and_resume_whole() {
    let (dir, server, demo, _bob) = start();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "draft attachment").expect("file");
    let (id, page) = compose(&demo, "");
    let fields = [
        ("from", DEMO),
        ("to", BOB),
        ("cc", "Carol <carol@elsewhere.example>"),
        ("bcc", "secret@elsewhere.example"),
        ("subject", "Half-written"),
        (
            "body",
            "A first paragraph that is long enough to be wrapped by the flowed encoding because it goes on and on.\r\n\r\nSecond.",
        ),
    ];
    let saved =
        post(&demo, &id, &page.csrf(), &fields, &[(&file, "notes.txt", "text/plain")], "save");
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(
        demo.get(saved.header("location").expect("back")).body.contains("Draft saved in Drafts")
    );
    let drafts = demo.get("/folder?f=Drafts");
    assert!(drafts.body.contains("Half-written"), "{}", drafts.body);
    // Saved twice: still one draft.
    let page = demo.get(&format!("/compose?c={id}"));
    assert_eq!(post(&demo, &id, &page.csrf(), &fields, &[], "save").status, 303);
    assert!(demo.get("/folder?f=Drafts").body.contains("1 messages"), "one draft, not two");
    assert_eq!(server.queued(), 0, "a draft is not sent");

    let out = demo.get("/");
    assert_eq!(demo.post("/logout", &[("csrf", &out.csrf())]).status, 303);
    assert_eq!(demo.login(DEMO, "mailroom-demo").status, 303);
    let drafts = demo.get("/folder?f=Drafts");
    let start =
        drafts.body.find("href=\"/compose?draft=").expect("the draft opens for writing") + 6;
    let href = unescape(drafts.body[start..].split('"').next().expect("href"));
    let (resumed_id, resumed) = compose(&demo, href.strip_prefix("/compose").expect("query"));
    assert_eq!(field(&resumed, "to"), BOB);
    assert_eq!(field(&resumed, "cc"), "Carol <carol@elsewhere.example>");
    assert_eq!(field(&resumed, "bcc"), "secret@elsewhere.example");
    assert_eq!(field(&resumed, "subject"), "Half-written");
    assert_eq!(field(&resumed, "body").replace("\r\n", "\n"), fields[5].1.replace("\r\n", "\n"));
    assert!(resumed.body.contains("notes.txt"), "the attachment comes back");
    // Sending the resumed draft removes it from Drafts.
    let to_bob = [
        ("from", DEMO),
        ("to", BOB),
        ("cc", ""),
        ("bcc", ""),
        ("subject", "Half-written"),
        ("body", "Done."),
    ];
    assert_eq!(post(&demo, &resumed_id, &resumed.csrf(), &to_bob, &[], "send").status, 303);
    assert!(demo.get("/folder?f=Drafts").body.contains("This folder is empty."));
    wait_for("the delivery", Duration::from_secs(20), || server.inbox(BOB).len() == 1);
    let raw = &message_files(&server, BOB)[0];
    let message = MessageParser::default().parse(&raw[..]).expect("parses");
    assert_eq!(
        message.attachments().next().map(|a| a.contents().to_vec()),
        Some(b"draft attachment".to_vec())
    );
}

#[test]
fn bad_forms_are_refused_clearly_and_lose_nothing() {
    let (dir, server, demo, _bob) = start();
    let (id, page) = compose(&demo, "");
    let csrf = page.csrf();
    let good = |name: &str, value: &str| -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = [
            ("from", DEMO),
            ("to", BOB),
            ("cc", ""),
            ("bcc", ""),
            ("subject", "hello"),
            ("body", "typed text that must survive"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for f in &mut fields {
            if f.0 == name {
                f.1 = value.to_string();
            }
        }
        fields
    };
    let send = |fields: Vec<(String, String)>| {
        let fields: Vec<(&str, &str)> =
            fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        post(&demo, &id, &csrf, &fields, &[], "send")
    };
    for (name, value, says) in [
        ("to", "bob@demo.example\r\nBcc: victim@elsewhere.example", "line break"),
        ("cc", "x@elsewhere.example\nX-Injected: 1", "line break"),
        ("bcc", "y@elsewhere.example\r\n", "line break"),
        ("subject", "hello\r\nBcc: victim@elsewhere.example", "line break"),
        ("from", "bob@demo.example", "not one of your addresses"),
        ("from", "demo@demo.example\r\nBcc: v@elsewhere.example", "not one of your addresses"),
        ("to", "nobody@demo.example", "no such user"),
        ("to", "not an address", "is not an address"),
        ("to", "a%b@elsewhere.example", "is not an address"),
        ("to", "", "add at least one recipient"),
    ] {
        let r = send(good(name, value));
        assert!(r.status == 400 || r.status == 503, "{name}={value:?}: {}", r.status);
        assert!(r.body.contains(says), "{name}={value:?}: expected {says:?} in\n{}", r.body);
        assert!(r.body.contains("typed text that must survive"), "{name}: the text was lost");
    }
    assert_eq!(server.queued(), 0, "something was queued");
    assert!(server.inbox(BOB).is_empty(), "something was delivered");

    // A file over the limit: refused by name, the rest kept.
    let big = dir.path().join("big.bin");
    let f = std::fs::File::create(&big).expect("big");
    f.set_len(21 * 1024 * 1024).expect("size");
    let fields = good("subject", "with a big file");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r =
        post(&demo, &id, &csrf, &fields, &[(&big, "huge.bin", "application/octet-stream")], "send");
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body.contains("huge.bin was not attached: it is larger than 20.0 MB"), "{}", r.body);
    assert!(r.body.contains("with a big file") && r.body.contains("typed text that must survive"));
    assert_eq!(server.queued(), 0);
    let spool = server.data.join("domains/demo.example/users/demo/compose").join(&id);
    let leftovers: Vec<_> =
        std::fs::read_dir(&spool).expect("spool").flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 1, "only state.toml: {leftovers:?}");

    // Forged and broken forms.
    let forged = post(&demo, &id, "0000", &fields, &[], "send");
    assert_eq!(forged.status, 403);
    let no_csrf =
        demo.post_multipart("/compose", &[("c", Part::Text(&id)), ("action", Part::Text("send"))]);
    assert_eq!(no_csrf.status, 403);
    let other = post(&demo, "00000000000000000000000000000000", &csrf, &fields, &[], "send");
    assert_eq!(other.status, 404);
    let traversal = post(&demo, "../../../../etc", &csrf, &fields, &[], "send");
    assert_eq!(traversal.status, 404);
    assert_eq!(demo.get("/compose?reply=sender&f=INBOX&m=..%2Fx").status, 400);
    assert_eq!(demo.get("/compose?to=a%0d%0aBcc:%20x@y.example").status, 400);
    assert_eq!(server.queued(), 0);

    // The queue cannot be written (its tmp/ is not a directory): the failure is shown,
    // the message goes to Drafts, and it is sent once the queue is back.
    let hosts: Vec<_> =
        std::fs::read_dir(server.data.join("queue")).expect("queue").flatten().collect();
    let tmp = hosts[0].path().join("tmp");
    std::fs::rename(&tmp, tmp.with_extension("aside")).expect("aside");
    std::fs::write(&tmp, "in the way").expect("a file in the way");
    let r = send(good("subject", "queue trouble"));
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.body.contains(
            "Not sent: the mail queue could not be written; nothing was sent, try again later."
        ),
        "{}",
        r.body
    );
    assert!(r.body.contains("The message is saved in Drafts."), "{}", r.body);
    assert!(r.body.contains("typed text that must survive"));
    assert!(demo.get("/folder?f=Drafts").body.contains("queue trouble"), "the draft is kept");
    std::fs::remove_file(&tmp).expect("remove");
    std::fs::rename(tmp.with_extension("aside"), &tmp).expect("back");
    let r = send(good("subject", "queue trouble"));
    assert_eq!(r.status, 303, "{}", r.body);
    wait_for("the delivery", Duration::from_secs(20), || server.inbox(BOB).len() == 1);
    assert!(
        demo.get("/folder?f=Drafts").body.contains("This folder is empty."),
        "the draft went with the send"
    );
    wait_for("the queue to empty", Duration::from_secs(20), || server.queued() == 0);
}
