//! Reading only the header block of a message, and summarising it for the index.
//!
//! The header block ends at the first empty line. [`read_header_block`] stops there (or
//! at [`MAX_HEADER_BYTES`]), so a 50 MB message costs the index one small read.
//! [`summarize`] parses just the fields the folder page shows and sorts by, with
//! mail-parser (RFC 2047 encoded words, address groups, obsolete date forms), and bounds
//! every field so that a hostile header cannot bloat the index.

use std::io::{self, Read};
use std::sync::OnceLock;

use mail_parser::{HeaderName, MessageParser, MimeHeaders};

/// The most header bytes read from one message. Real headers are a few KiB; a longer
/// block is cut at the last line that fits and the rest ignored.
pub const MAX_HEADER_BYTES: usize = 128 * 1024;
/// The first read: enough for nearly every header block in one system call.
const FIRST_READ: usize = 8 * 1024;
/// Longest subject, from and to kept in the index, in bytes.
pub const MAX_TEXT_FIELD: usize = 512;
/// Longest message-id kept (a longer one is not a usable thread key anyway).
pub const MAX_ID_FIELD: usize = 250;
/// Most References ids kept for threading: the first (the thread root) and the last ones
/// (the closest ancestors).
pub const MAX_REFERENCES: usize = 12;

/// What the index keeps of a message's header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderSummary {
    /// Display name of the first From address (may be empty).
    pub from_name: String,
    /// The first From address.
    pub from_addr: String,
    /// The To recipients as a reader shows them: names, else addresses, comma-separated.
    pub to: String,
    /// The decoded subject.
    pub subject: String,
    /// Date header as a Unix time, if present and valid.
    pub date: Option<i64>,
    /// Message-ID without angle brackets.
    pub message_id: String,
    /// In-Reply-To ids, space-separated.
    pub in_reply_to: String,
    /// References ids, space-separated (bounded, see [`MAX_REFERENCES`]).
    pub references: String,
    /// Whether the message looks like it carries attachments, judged from the top-level
    /// header alone (multipart/mixed, a non-text single part, or a disposition of
    /// attachment). The message page lists the real parts.
    pub has_attachment: bool,
}

/// Reads the header block of a message into `buf` (cleared first): up to and including
/// the empty line that ends it, or the whole input if it has no body, or
/// [`MAX_HEADER_BYTES`] cut at a line end.
pub fn read_header_block(input: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    let mut want = FIRST_READ;
    loop {
        let start = buf.len();
        buf.resize(start + want, 0);
        let n = read_some(input, &mut buf[start..])?;
        buf.truncate(start + n);
        if let Some(end) = header_end(buf, start.saturating_sub(3)) {
            buf.truncate(end);
            return Ok(());
        }
        if n == 0 {
            return Ok(());
        }
        if buf.len() >= MAX_HEADER_BYTES {
            let cut =
                buf[..MAX_HEADER_BYTES].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            buf.truncate(cut);
            return Ok(());
        }
        want = (buf.len()).min(MAX_HEADER_BYTES - buf.len());
    }
}

fn read_some(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The offset just past the empty line that ends the header block, searching from `from`.
fn header_end(buf: &[u8], from: usize) -> Option<usize> {
    if buf.starts_with(b"\n") {
        return Some(1);
    }
    if buf.starts_with(b"\r\n") {
        return Some(2);
    }
    let mut i = from;
    while let Some(pos) = memchr::memchr(b'\n', &buf[i..]) {
        let nl = i + pos;
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

fn parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        MessageParser::new()
            .header_address(HeaderName::From)
            .header_address(HeaderName::To)
            .header_text(HeaderName::Subject)
            .header_date(HeaderName::Date)
            .header_id(HeaderName::MessageId)
            .header_id(HeaderName::InReplyTo)
            .header_id(HeaderName::References)
            .header_content_type(HeaderName::ContentType)
            .header_content_type(HeaderName::ContentDisposition)
            // Received, DKIM-Signature and the rest are skipped, not parsed.
            .default_header_ignore()
    })
}

/// Summarises a header block. Never fails: what cannot be parsed is left empty.
pub fn summarize(block: &[u8]) -> HeaderSummary {
    let Some(msg) = parser().parse_headers(block) else {
        return HeaderSummary::default();
    };
    let mut s = HeaderSummary::default();
    if let Some(first) = msg.from().and_then(|a| a.first()) {
        s.from_name = clean(first.name().unwrap_or(""), MAX_TEXT_FIELD);
        s.from_addr = clean(first.address().unwrap_or(""), MAX_TEXT_FIELD);
    }
    if let Some(to) = msg.to() {
        let mut shown = String::new();
        for addr in to.iter() {
            let who = addr.name().filter(|n| !n.trim().is_empty()).or(addr.address());
            if let Some(who) = who {
                if !shown.is_empty() {
                    shown.push_str(", ");
                }
                shown.push_str(who);
                if shown.len() > MAX_TEXT_FIELD {
                    break;
                }
            }
        }
        s.to = clean(&shown, MAX_TEXT_FIELD);
    }
    s.subject = clean(msg.subject().unwrap_or(""), MAX_TEXT_FIELD);
    s.date = msg.date().filter(|d| d.is_valid()).map(|d| d.to_timestamp());
    s.message_id = clean(msg.message_id().unwrap_or(""), MAX_ID_FIELD).replace(' ', "");
    s.in_reply_to = ids(msg.in_reply_to().as_text_list().unwrap_or_default(), 2);
    s.references = ids(msg.references().as_text_list().unwrap_or_default(), MAX_REFERENCES);
    s.has_attachment = looks_like_attachments(&msg);
    s
}

fn looks_like_attachments(msg: &mail_parser::Message<'_>) -> bool {
    if msg.content_disposition().is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment")) {
        return true;
    }
    match msg.content_type() {
        None => false,
        Some(ct) => {
            let sub = ct.subtype().unwrap_or("");
            match ct.ctype().to_ascii_lowercase().as_str() {
                "multipart" => sub.eq_ignore_ascii_case("mixed"),
                "text" => false,
                // message/rfc822 and the like count; message/delivery-status alone not.
                "message" => !sub.eq_ignore_ascii_case("delivery-status"),
                _ => true,
            }
        }
    }
}

/// Keeps the first id and the last `max - 1`, each bounded, space-separated.
fn ids<S: AsRef<str>>(list: &[S], max: usize) -> String {
    let usable = |id: &&S| {
        let id = id.as_ref();
        !id.is_empty() && id.len() <= MAX_ID_FIELD && !id.chars().any(|c| c.is_whitespace())
    };
    let all: Vec<&S> = list.iter().filter(usable).collect();
    let kept: Vec<&str> = if all.len() <= max {
        all.iter().map(|s| s.as_ref()).collect()
    } else {
        std::iter::once(all[0].as_ref())
            .chain(all[all.len() - (max - 1)..].iter().map(|s| s.as_ref()))
            .collect()
    };
    kept.iter()
        .filter(|id| !id.chars().any(char::is_control))
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// One line of text: control characters become spaces, runs of white space shrink to one,
/// and the result is cut to `max` bytes at a character boundary.
fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    let mut space = false;
    for c in text.trim().chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
            continue;
        }
        space = false;
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(input: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        read_header_block(&mut &input[..], &mut buf).expect("read");
        buf
    }

    #[test]
    fn the_block_stops_at_the_first_empty_line() {
        assert_eq!(block(b"A: 1\nB: 2\n\nbody\n\nmore"), b"A: 1\nB: 2\n\n");
        assert_eq!(block(b"A: 1\r\nB: 2\r\n\r\nbody"), b"A: 1\r\nB: 2\r\n\r\n");
        assert_eq!(block(b"A: 1\nno body"), b"A: 1\nno body");
        assert_eq!(block(b"\nbody only"), b"\n");
        assert_eq!(block(b""), b"");
    }

    #[test]
    fn a_huge_header_is_cut_at_a_line() {
        let mut msg = Vec::new();
        while msg.len() < MAX_HEADER_BYTES * 2 {
            msg.extend_from_slice(b"X-Filler: 0123456789abcdef0123456789abcdef\n");
        }
        let got = block(&msg);
        assert!(got.len() <= MAX_HEADER_BYTES && got.len() > MAX_HEADER_BYTES - 100);
        assert!(got.ends_with(b"\n"));
    }

    #[test]
    fn the_block_ends_across_read_boundaries() {
        // The blank line straddles the first read of 8 KiB.
        let mut msg = b"Subject: x\n".to_vec();
        msg.extend(std::iter::repeat_n(b'a', FIRST_READ - msg.len() - 1));
        msg.extend_from_slice(b"\n\nbody");
        let got = block(&msg);
        assert_eq!(got.len(), FIRST_READ + 1);
    }

    #[test]
    fn summary_of_a_typical_message() {
        let s = summarize(
            b"Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\n\
              From: =?UTF-8?Q?J=C3=BCrgen?= <jurgen@example.de>\n\
              To: Ann <ann@example.org>, bob@example.org\n\
              Subject: =?UTF-8?B?R3LDvMOfZQ==?=\n\
              Date: Tue, 2 Jan 2024 10:00:00 +0100\n\
              Message-ID: <abc@example.de>\n\
              In-Reply-To: <parent@example.org>\n\
              References: <root@example.org> <parent@example.org>\n\
              Content-Type: multipart/mixed; boundary=x\n\n",
        );
        assert_eq!(s.from_name, "Jürgen");
        assert_eq!(s.from_addr, "jurgen@example.de");
        assert_eq!(s.to, "Ann, bob@example.org");
        assert_eq!(s.subject, "Grüße");
        assert_eq!(s.date, Some(1_704_186_000));
        assert_eq!(s.message_id, "abc@example.de");
        assert_eq!(s.in_reply_to, "parent@example.org");
        assert_eq!(s.references, "root@example.org parent@example.org");
        assert!(s.has_attachment);
    }

    #[test]
    fn hostile_fields_are_bounded_and_single_line() {
        let long = "A".repeat(5000);
        let msg = format!("Subject: {long}\nFrom: \"a\tb\x01c\" <x@y>\nDate: not a date\n\n");
        let s = summarize(msg.as_bytes());
        assert_eq!(s.subject.len(), MAX_TEXT_FIELD);
        assert_eq!(s.from_name, "a b c");
        assert_eq!(s.date, None);
        assert!(!s.has_attachment);
    }

    #[test]
    fn references_keep_the_root_and_the_nearest() {
        let refs: Vec<String> = (0..30).map(|i| format!("id{i}@x")).collect();
        let kept = ids(&refs, MAX_REFERENCES);
        let kept: Vec<&str> = kept.split(' ').collect();
        assert_eq!(kept.len(), MAX_REFERENCES);
        assert_eq!(kept[0], "id0@x");
        assert_eq!(kept[MAX_REFERENCES - 1], "id29@x");
    }

    #[test]
    fn attachment_heuristic() {
        let has = |ct: &str| summarize(format!("Content-Type: {ct}\n\n").as_bytes()).has_attachment;
        assert!(has("multipart/mixed; boundary=a"));
        assert!(!has("multipart/alternative; boundary=a"));
        assert!(!has("text/plain"));
        assert!(has("application/pdf"));
        assert!(has("message/rfc822"));
        assert!(!has("message/delivery-status"));
    }
}
