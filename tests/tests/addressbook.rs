//! The address book over real HTTPS: importing the vCard and CSV exports of Apple
//! Contacts, Thunderbird and Google Contacts (fixtures in `tests/corpus/contacts/`)
//! with a report of what was skipped and why; exporting again with every field of the
//! fixtures kept; editing with clear refusals; groups used as recipients; quick-add from
//! a message; the recipient picker and completion of the compose page.

use std::path::Path;
use std::time::Duration;

use calcard::vcard::{VCard, VCardProperty};
use calcard::{Entry, Parser};
use mailroom_tests::server::{Server, Smtp, wait_for};
use mailroom_tests::web::{Curl, Part, Response};

const DEMO: &str = "demo@demo.example";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/contacts");

fn start() -> (tempfile::TempDir, Server, Curl) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "");
    let curl = Curl::new(format!("https://{}", server.https), dir.path().join("jar"));
    assert_eq!(curl.login(DEMO, "mailroom-demo").status, 303);
    (dir, server, curl)
}

fn import(curl: &Curl, path: &Path, name: &str) -> Response {
    let page = curl.get("/addressbook");
    curl.post_multipart(
        "/addressbook/import",
        &[
            ("csrf", Part::Text(&page.csrf())),
            ("file", Part::File(path, name, "application/octet-stream")),
        ],
    )
}

fn vcards(text: &str) -> Vec<VCard> {
    let mut out = Vec::new();
    let mut parser = Parser::new(text);
    loop {
        match parser.entry() {
            Entry::VCard(card) => out.push(card),
            Entry::Eof => return out,
            other => panic!("unreadable vCard output: {other:?}"),
        }
    }
}

#[test]
fn vcard_imports_export_again_with_every_field() {
    let (_dir, _server, curl) = start();
    let mut fixture_cards = Vec::new();
    for name in ["apple-contacts.vcf", "vcard4-thunderbird.vcf"] {
        let path = Path::new(FIXTURES).join(name);
        let r = import(&curl, &path, name);
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!r.body.contains("Not imported"), "{name}: {}", r.body);
        fixture_cards.extend(vcards(&std::fs::read_to_string(&path).expect("fixture")));
    }
    assert!(curl.get("/addressbook").body.contains("4 cards"));
    let export = curl.get("/addressbook/export.vcf");
    assert_eq!(export.status, 200);
    assert!(export.header("content-disposition").is_some_and(|d| d.starts_with("attachment")));
    let exported = vcards(&export.body);
    assert_eq!(exported.len(), fixture_cards.len());
    assert!(export.body.contains("VERSION:4.0") && !export.body.contains("VERSION:3.0"));
    for original in &fixture_cards {
        let uid = original.uid().expect("fixtures have UIDs");
        let copy = exported
            .iter()
            .find(|c| c.uid() == Some(uid))
            .unwrap_or_else(|| panic!("{uid} was not exported"));
        for entry in &original.entries {
            if matches!(
                entry.name,
                VCardProperty::Version | VCardProperty::Begin | VCardProperty::End
            ) {
                continue;
            }
            let kept = copy.entries.iter().any(|e| {
                e.name == entry.name && e.group == entry.group && e.values == entry.values
            });
            assert!(
                kept,
                "{uid}: {:?} {:?} was lost or changed; exported:\n{:#?}",
                entry.name, entry.values, copy.entries
            );
        }
    }
    // Importing the export again adds nothing and says why.
    let dir = tempfile::tempdir().expect("tmp");
    let again = dir.path().join("again.vcf");
    std::fs::write(&again, &export.body).expect("write");
    let r = import(&curl, &again, "again.vcf");
    assert!(r.body.contains("0 cards added."), "{}", r.body);
    assert!(r.body.contains("already in the address book"), "{}", r.body);
}

#[test]
fn csv_exports_of_thunderbird_and_google_come_in_whole() {
    let (dir, server, curl) = start();
    let r = import(&curl, &Path::new(FIXTURES).join("thunderbird.csv"), "thunderbird.csv");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("4 cards added."), "{}", r.body);
    assert!(r.body.contains("line 6: the row is empty"), "{}", r.body);
    assert!(r.body.contains("not-an-address is not an address and was left out"), "{}", r.body);
    let r = import(&curl, &Path::new(FIXTURES).join("google.csv"), "google.csv");
    assert!(r.body.contains("2 cards added."), "{}", r.body);

    let vcf = curl.get("/addressbook/export.vcf").body;
    for expected in [
        "FN:Alice Martin",
        "N:Martin;Alice;;;",
        "NICKNAME:ali",
        "alice@martin.example",
        "alice.m@mail.example",
        "+1 555 0101",
        "+1 555 0102",
        "+1 555 0103",
        "Springfield",
        "62701",
        "TITLE:Engineer",
        "Acme Corp",
        "https://alice.example",
        "19900714",
        "Team lead\\, platform.\\nSecond line of the note.",
        "FN:Ева Петрова",
        "eva@petrova.example",
        "NOTE:Привет",
        "FN:Dana Okafor",
        "NICKNAME:dee",
        "dana@okafor.example",
        "d.okafor@sons.example",
        "+234 800 000 0000",
        "TITLE:CEO",
        "Okafor & Sons",
        "19791102",
        "Board meeting every March\\; ask about the kids",
        "Family",
        "https://dana.example",
        "eli@cohen.example",
        "eli.cohen@alt.example",
    ] {
        assert!(vcf.contains(expected), "{expected:?} missing from the export:\n{vcf}");
    }
    let csv = curl.get("/addressbook/export.csv");
    assert!(csv.header("content-type").is_some_and(|t| t.starts_with("text/csv")));
    // The CSV export read back by another user gives the same people.
    server.add_user("bob@demo.example", "bob-password-1");
    let bob = Curl::new(curl.base.clone(), dir.path().join("bob-jar"));
    assert_eq!(bob.login("bob@demo.example", "bob-password-1").status, 303);
    let file = dir.path().join("export.csv");
    std::fs::write(&file, &csv.body).expect("write");
    let r = import(&bob, &file, "export.csv");
    assert!(r.body.contains("6 cards added."), "{}", r.body);
    let list = bob.get("/addressbook").body;
    for who in [
        "Alice Martin",
        "Ева Петрова",
        "Dana Okafor",
        "Eli Cohen",
        "nobody-without-a-name@example.org",
        "+1 555 0103",
        "d.okafor@sons.example",
    ] {
        assert!(list.contains(who), "{who} missing after the CSV round trip");
    }
}

#[test]
fn editing_groups_quick_add_picker_and_completion() {
    let (_dir, server, curl) = start();
    for user in ["bob", "carol"] {
        server.add_user(&format!("{user}@demo.example"), "password-123");
    }
    let page = curl.get("/addressbook/edit?new=contact");
    let save = |fields: &[(&str, &str)]| {
        let mut form = vec![("csrf", page.csrf())];
        form.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        curl.post("/addressbook/save", &form)
    };
    let bad = save(&[
        ("id", ""),
        ("kind", "contact"),
        ("name", "Bob <b>Builder</b>"),
        ("nicknames", "bobby"),
        ("emails", "bob@demo.example\nnot an address"),
        ("phones", "+1 555"),
        ("note", "keep me"),
    ]);
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("&quot;not an address&quot; is not an address"), "{}", bad.body);
    assert!(
        bad.body.contains("keep me") && bad.body.contains("Bob &lt;b&gt;Builder&lt;/b&gt;"),
        "typed values come back, escaped"
    );
    let ok = save(&[
        ("id", ""),
        ("kind", "contact"),
        ("name", "Bob <b>Builder</b>"),
        ("nicknames", "bobby"),
        ("emails", "bob@demo.example"),
        ("phones", "+1 555"),
        ("note", "keep me"),
    ]);
    assert_eq!(ok.status, 303, "{}", ok.body);
    let list = curl.get("/addressbook");
    assert!(
        list.body.contains("Bob &lt;b&gt;Builder&lt;/b&gt;") && !list.body.contains("<b>Builder"),
        "escaped in the list"
    );
    assert!(curl.get("/addressbook?q=BUILDER").body.contains("bob@demo.example"));
    assert!(curl.get("/addressbook?q=zzz").body.contains("No card matches."));
    let group = save(&[
        ("id", ""),
        ("kind", "group"),
        ("name", "The crew"),
        ("nicknames", "crew"),
        ("emails", "bob@demo.example\ncarol@demo.example"),
    ]);
    assert_eq!(group.status, 303);

    // A message from a stranger: add them from the message page.
    let (mut smtp, _) = Smtp::connect(server.smtp);
    smtp.cmd("EHLO far.example");
    let message = "From: Zed Stranger <zed@far.example>\r\nTo: demo@demo.example\r\nSubject: hello\r\n\r\nhi\r\n";
    assert!(smtp.send_message("zed@far.example", &[DEMO], message).contains("queued"));
    wait_for("the delivery", Duration::from_secs(20), || server.inbox(DEMO).len() == 1);
    let inbox = curl.get("/folder?f=INBOX");
    let start = inbox.body.find("href=\"/message?").expect("link") + 6;
    let href = inbox.body[start..].split('"').next().expect("href").replace("&amp;", "&");
    let opened = curl.get(&href);
    assert!(opened.body.contains("Add to contacts"), "{}", opened.body);
    let added = curl.post(
        "/addressbook/quick-add",
        &[
            ("csrf", &opened.csrf()),
            ("name", "Zed Stranger"),
            ("address", "zed@far.example"),
            ("back", &href),
        ],
    );
    assert_eq!(added.status, 303);
    let back = added.header("location").expect("back").to_string();
    assert!(back.starts_with("/message?"), "{back}");
    assert!(curl.get(&back).body.contains("zed@far.example is now in your address book."));
    let again = curl.post(
        "/addressbook/quick-add",
        &[
            ("csrf", &opened.csrf()),
            ("name", "Zed"),
            ("address", "zed@far.example"),
            ("back", "https://evil.example/"),
        ],
    );
    assert_eq!(
        again.header("location").map(|l| l.starts_with("/addressbook?")),
        Some(true),
        "an outside back link is not followed"
    );
    assert_eq!(
        curl.post(
            "/addressbook/quick-add",
            &[("csrf", &opened.csrf()), ("name", "x"), ("address", "a@b@c")]
        )
        .status,
        400
    );

    // Compose: completion from the book, the picker without script, a group as recipient.
    let started = curl.get("/compose");
    let location = started.header("location").expect("spool").to_string();
    let id = location.strip_prefix("/compose?c=").expect("id").to_string();
    let form = curl.get(&location);
    assert!(form.body.contains("<datalist id=\"contacts\">"), "{}", form.body);
    assert!(form.body.contains("value=\"Zed Stranger &lt;zed@far.example&gt;\""), "{}", form.body);
    let to_picker = curl.post_multipart(
        "/compose",
        &[
            ("csrf", Part::Text(&form.csrf())),
            ("c", Part::Text(&id)),
            ("to", Part::Text("")),
            ("subject", Part::Text("crew news")),
            ("body", Part::Text("All hands.")),
            ("action", Part::Text("pick-to")),
        ],
    );
    assert_eq!(to_picker.status, 303);
    let picker_url = to_picker.header("location").expect("picker").to_string();
    assert_eq!(picker_url, format!("/addressbook/pick?c={id}&field=to"));
    let picker = curl.get(&picker_url);
    assert!(picker.body.contains("value=\"crew\""), "the group is offered: {}", picker.body);
    let picked = curl.post(
        "/addressbook/pick",
        &[("csrf", &picker.csrf()), ("c", &id), ("field", "to"), ("add", "crew")],
    );
    assert_eq!(picked.header("location"), Some(location.as_str()));
    let form = curl.get(&location);
    assert!(
        form.body.contains("name=\"to\" value=\"crew\""),
        "the pick landed in To: {}",
        form.body
    );
    assert!(
        form.body.contains("crew news") && form.body.contains("All hands."),
        "what was typed stayed"
    );
    let sent = curl.post_multipart(
        "/compose",
        &[
            ("csrf", Part::Text(&form.csrf())),
            ("c", Part::Text(&id)),
            ("from", Part::Text(DEMO)),
            ("to", Part::Text("crew")),
            ("subject", Part::Text("crew news")),
            ("body", Part::Text("All hands.")),
            ("action", Part::Text("send")),
        ],
    );
    assert_eq!(sent.status, 303, "{}", sent.body);
    for who in ["bob@demo.example", "carol@demo.example"] {
        wait_for(who, Duration::from_secs(20), || server.inbox(who).len() == 1);
    }
    let bad_field = curl.post(
        "/addressbook/pick",
        &[("csrf", &picker.csrf()), ("c", &id), ("field", "subject"), ("add", "x")],
    );
    assert_eq!(bad_field.status, 400);

    // Hostile and broken imports.
    let dir = tempfile::tempdir().expect("tmp");
    let hostile = dir.path().join("hostile.vcf");
    std::fs::write(&hostile, "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:<img src=x onerror=alert(1)>\r\nEMAIL:h@x.example\r\nEND:VCARD\r\n").expect("write");
    assert_eq!(import(&curl, &hostile, "h.vcf").status, 200);
    let list = curl.get("/addressbook").body;
    assert!(
        list.contains("&lt;img src=x onerror=alert(1)&gt;") && !list.contains("<img src=x"),
        "escaped"
    );
    let binary = dir.path().join("binary.vcf");
    std::fs::write(&binary, [0xffu8, 0xfe, 0x00, 0x42]).expect("write");
    assert_eq!(import(&curl, &binary, "b.vcf").status, 400);
    let big = dir.path().join("big.csv");
    std::fs::write(&big, "Name,E-mail\n".to_string() + &"x,y@z.example\n".repeat(500_000))
        .expect("write");
    let r = import(&curl, &big, "big.csv");
    assert!(r.status == 400 && r.body.contains("at most"), "{}", r.status);
    let forged = curl.post_multipart(
        "/addressbook/import",
        &[("csrf", Part::Text("00")), ("file", Part::File(&hostile, "h.vcf", "text/vcard"))],
    );
    assert_eq!(forged.status, 403);
}
