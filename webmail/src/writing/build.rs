//! The outgoing message, built with mail-builder (headers with RFC 2047 words, RFC 2231
//! file names, the flowed text part) and written to any `Write`. Attachments are read
//! from their spool files and base64-encoded on the way out, never held whole in
//! memory: mail-builder writes the multipart frame with the text part, and each
//! attachment part is appended to that frame as it is read.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use base64::Engine as _;
use mail_builder::MessageBuilder;
use mail_builder::headers::Header;
use mail_builder::headers::address::Address as BuilderAddress;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::message_id::MessageId;
use mail_builder::mime::{BodyPart, MimePart};

use super::addresses::Mailbox;
use super::flowed::to_flowed;

/// A file to attach.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Where its bytes are.
    pub path: PathBuf,
    /// The name the recipient sees.
    pub name: String,
    /// Its type (`application/pdf`); `message/rfc822` for a forwarded message.
    pub mime: String,
}

/// Everything a message is made of.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    /// The author.
    pub from: Option<Mailbox>,
    /// Where replies go, if not to the author.
    pub reply_to: Option<Mailbox>,
    /// Recipients.
    pub to: Vec<Mailbox>,
    /// Copies.
    pub cc: Vec<Mailbox>,
    /// Blind copies: in the envelope; in the header only of the sender's own copies.
    pub bcc: Vec<Mailbox>,
    /// The subject.
    pub subject: String,
    /// The text as typed.
    pub body: String,
    /// `Message-ID` without angle brackets.
    pub message_id: String,
    /// The message replied to, without angle brackets.
    pub in_reply_to: Option<String>,
    /// The thread, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// Unix seconds.
    pub date: i64,
    /// Files, in order.
    pub attachments: Vec<Attachment>,
}

fn addresses(list: &[Mailbox]) -> BuilderAddress<'_> {
    BuilderAddress::new_list(
        list.iter()
            .map(|m| BuilderAddress::new_address(m.name.as_deref(), m.address.as_str()))
            .collect(),
    )
}

/// Writes the message. `with_bcc`: the `Bcc:` header too (the Sent and Drafts copies).
pub fn write_message(m: &Outgoing, with_bcc: bool, out: &mut dyn Write) -> io::Result<()> {
    let mut builder = MessageBuilder::new()
        .message_id(m.message_id.as_str())
        .date(m.date)
        .subject(m.subject.as_str());
    if let Some(from) = &m.from {
        builder =
            builder.from(BuilderAddress::new_address(from.name.as_deref(), from.address.as_str()));
    }
    if let Some(reply_to) = &m.reply_to {
        builder = builder.reply_to(BuilderAddress::new_address(
            reply_to.name.as_deref(),
            reply_to.address.as_str(),
        ));
    }
    if !m.to.is_empty() {
        builder = builder.to(addresses(&m.to));
    }
    if !m.cc.is_empty() {
        builder = builder.cc(addresses(&m.cc));
    }
    if with_bcc && !m.bcc.is_empty() {
        builder = builder.bcc(addresses(&m.bcc));
    }
    if let Some(id) = &m.in_reply_to {
        builder = builder.in_reply_to(id.as_str());
    }
    if !m.references.is_empty() {
        builder = builder.references(MessageId::new_list(m.references.iter().map(String::as_str)));
    }
    builder = builder.header("User-Agent", mail_builder::headers::text::Text::new("Mailroom"));
    let text = MimePart::new(
        ContentType::new("text/plain").attribute("charset", "utf-8").attribute("format", "flowed"),
        BodyPart::Text(Cow::Owned(to_flowed(&m.body))),
    );
    if m.attachments.is_empty() {
        return builder.body(text).write_to(out);
    }
    let boundary = mail_builder::mime::make_boundary("_");
    let frame = MimePart::new(
        ContentType::new("multipart/mixed").attribute("boundary", boundary.as_str()),
        BodyPart::Multipart(vec![text]),
    );
    let mut head = builder.body(frame).write_to_vec()?;
    // mail-builder closes the frame with "--<boundary>--\r\n"; the attachments go
    // before that line.
    let close = format!("--{boundary}--\r\n");
    if !head.ends_with(close.as_bytes()) {
        return Err(io::Error::other("unexpected multipart frame from mail-builder"));
    }
    head.truncate(head.len() - close.len());
    out.write_all(&head)?;
    for attachment in &m.attachments {
        out.write_all(format!("--{boundary}\r\n").as_bytes())?;
        write_attachment(attachment, out)?;
    }
    out.write_all(close.as_bytes())
}

/// A `Bcc:` header line for the sender's own copy (the sent message has none).
pub fn bcc_header(bcc: &[Mailbox]) -> Vec<u8> {
    if bcc.is_empty() {
        return Vec::new();
    }
    let mut line = b"Bcc: ".to_vec();
    addresses(bcc).write_header(&mut line, 5);
    line
}

fn header(name: &str, value: &impl Header, out: &mut dyn Write) -> io::Result<()> {
    let mut line = format!("{name}: ").into_bytes();
    value.write_header(&mut line, name.len() + 2);
    out.write_all(&line)
}

fn write_attachment(a: &Attachment, out: &mut dyn Write) -> io::Result<()> {
    let file = File::open(&a.path)?;
    if a.mime == "message/rfc822" {
        // A forwarded message goes as itself (RFC 2046 §5.2.1: no base64), its lines
        // in CRLF form.
        header("Content-Type", &ContentType::new("message/rfc822"), out)?;
        header(
            "Content-Disposition",
            &ContentType::new("attachment").attribute("filename", a.name.as_str()),
            out,
        )?;
        out.write_all(b"Content-Transfer-Encoding: 8bit\r\n\r\n")?;
        let mut last_was_newline = true;
        for line in BufReader::new(file).split(b'\n') {
            let mut line = line?;
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            out.write_all(&line)?;
            out.write_all(b"\r\n")?;
            last_was_newline = true;
        }
        if !last_was_newline {
            out.write_all(b"\r\n")?;
        }
        return Ok(());
    }
    header(
        "Content-Type",
        &ContentType::new(a.mime.as_str()).attribute("name", a.name.as_str()),
        out,
    )?;
    header(
        "Content-Disposition",
        &ContentType::new("attachment").attribute("filename", a.name.as_str()),
        out,
    )?;
    out.write_all(b"Content-Transfer-Encoding: base64\r\n\r\n")?;
    // 57 bytes make one 76-character line; read a few hundred lines at a time.
    let mut reader = BufReader::new(file);
    let mut chunk = vec![0u8; 57 * 512];
    let mut encoded = String::with_capacity(78 * 512);
    loop {
        let n = read_full(&mut reader, &mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        encoded.clear();
        for line in chunk[..n].chunks(57) {
            base64::engine::general_purpose::STANDARD.encode_string(line, &mut encoded);
            encoded.push_str("\r\n");
        }
        out.write_all(encoded.as_bytes())?;
        if n < chunk.len() {
            return Ok(());
        }
    }
}

/// Fills `buf` as far as the reader goes (short only at the end).
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::{MessageParser, MimeHeaders};

    fn mailbox(name: Option<&str>, address: &str) -> Mailbox {
        Mailbox { name: name.map(str::to_string), address: address.to_string() }
    }

    #[test]
    fn a_message_with_attachments_parses_back_byte_for_byte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let binary: Vec<u8> = (0..200_000u32).map(|n| (n * 31 + n / 7) as u8).collect();
        std::fs::write(dir.path().join("a"), &binary).expect("a");
        std::fs::write(dir.path().join("b"), b"").expect("b");
        std::fs::write(
            dir.path().join("c"),
            b"From: x@y.example\nSubject: inner\n\nthe forwarded text\n",
        )
        .expect("c");
        let m = Outgoing {
            from: Some(mailbox(Some("Zoë Ünal"), "zoe@example.org")),
            to: vec![
                mailbox(Some("Doe, Jo"), "jo@x.example"),
                mailbox(None, "jörg@xn--bcher-kva.example"),
            ],
            cc: vec![mailbox(None, "cc@x.example")],
            bcc: vec![mailbox(None, "hidden@x.example")],
            subject: "Résumé of the ½-year — 😀".into(),
            body: "Hello,\n\nthe figures.\n-- \nZoë".into(),
            message_id: "abc.123@example.org".into(),
            in_reply_to: Some("parent@x.example".into()),
            references: vec!["root@x.example".into(), "parent@x.example".into()],
            date: 1_796_000_000,
            attachments: vec![
                Attachment {
                    path: dir.path().join("a"),
                    name: "Jahresabschluß 2026.bin".into(),
                    mime: "application/octet-stream".into(),
                },
                Attachment {
                    path: dir.path().join("b"),
                    name: "empty.txt".into(),
                    mime: "text/plain".into(),
                },
                Attachment {
                    path: dir.path().join("c"),
                    name: "inner.eml".into(),
                    mime: "message/rfc822".into(),
                },
            ],
            ..Outgoing::default()
        };
        let mut bytes = Vec::new();
        write_message(&m, false, &mut bytes).expect("write");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("hidden@x.example"), "Bcc leaked");
        for line in text.split("\r\n") {
            assert!(line.len() <= 998, "an over-long line");
        }
        assert!(!text.replace("\r\n", "").contains('\n'), "a bare LF");
        let parsed = MessageParser::default().parse(&bytes[..]).expect("parses");
        assert_eq!(parsed.subject(), Some("Résumé of the ½-year — 😀"));
        assert_eq!(parsed.from().and_then(|a| a.first()).and_then(|a| a.name()), Some("Zoë Ünal"));
        let to: Vec<_> = parsed.to().expect("to").iter().filter_map(|a| a.address()).collect();
        assert_eq!(to, ["jo@x.example", "jörg@xn--bcher-kva.example"]);
        assert_eq!(parsed.in_reply_to().as_text(), Some("parent@x.example"));
        assert_eq!(parsed.message_id(), Some("abc.123@example.org"));
        assert!(parsed.body_text(0).expect("text").contains("the figures."));
        let attachments: Vec<_> = parsed.attachments().collect();
        assert_eq!(attachments.len(), 3);
        assert_eq!(attachments[0].attachment_name(), Some("Jahresabschluß 2026.bin"));
        assert_eq!(attachments[0].contents(), &binary[..], "the attachment changed");
        assert_eq!(attachments[1].contents(), b"");
        let inner = attachments[2].message().expect("a message/rfc822 part");
        assert_eq!(inner.subject(), Some("inner"));
        let mut with_bcc = Vec::new();
        write_message(&m, true, &mut with_bcc).expect("write");
        assert!(String::from_utf8_lossy(&with_bcc).contains("hidden@x.example"));
    }

    #[test]
    fn a_plain_message_is_one_flowed_part() {
        let m = Outgoing {
            from: Some(mailbox(None, "a@example.org")),
            to: vec![mailbox(None, "b@example.org")],
            subject: "hi".into(),
            body: "line one\nline two".into(),
            message_id: "x@example.org".into(),
            date: 1_796_000_000,
            ..Outgoing::default()
        };
        let mut bytes = Vec::new();
        write_message(&m, false, &mut bytes).expect("write");
        let text = String::from_utf8(bytes.clone()).expect("ascii");
        assert!(text.contains("format=\"flowed\""), "{text}");
        assert!(!text.contains("multipart"), "{text}");
        let parsed = MessageParser::default().parse(&bytes[..]).expect("parses");
        assert_eq!(parsed.body_text(0).as_deref(), Some("line one\r\nline two"));
    }
}
