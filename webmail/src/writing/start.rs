//! Where a message starts from: a reply (to the sender, to all, to the list), a
//! forward (inline, or the original attached), or a saved draft resumed. Each is a
//! [`State`] for the compose spool plus the files to put in it.

use mail_parser::{Address, HeaderValue, Message, MimeHeaders};

use super::spool::{Marks, MessageRef, State};
use crate::reading::text::unflow;

/// Whom a reply goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyTo {
    /// The author (Reply-To if set, else From).
    Sender,
    /// The author and every other recipient, the user's own addresses left out.
    All,
    /// The mailing list the message came through (its List-Post address).
    List,
}

/// A file to spool with the new message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Its name.
    pub name: String,
    /// Its type.
    pub mime: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Most ids kept in References (RFC 5322 §3.6.4 allows trimming the middle).
const MAX_REFERENCES: usize = 20;

fn mailboxes(address: Option<&Address<'_>>) -> Vec<(Option<String>, String)> {
    address
        .into_iter()
        .flat_map(|a| a.iter())
        .filter_map(|a| Some((a.name().map(str::to_string), a.address()?.to_string())))
        .collect()
}

fn display((name, address): &(Option<String>, String)) -> String {
    match name {
        // Quoted when the name would otherwise be read as several addresses.
        Some(name) if name.contains([',', ';', '<', '>', '"', '@', ':']) => {
            format!("\"{}\" <{address}>", name.replace(['\\', '"'], ""))
        }
        Some(name) => format!("{name} <{address}>"),
        None => address.clone(),
    }
}

fn join(list: &[(Option<String>, String)]) -> String {
    list.iter().map(display).collect::<Vec<_>>().join(", ")
}

/// `Re: subject`, not `Re: Re: subject`.
fn prefixed(prefix: &str, subject: &str) -> String {
    let subject = subject.trim();
    let lower = subject.to_ascii_lowercase();
    if lower.starts_with(&prefix.to_ascii_lowercase()) {
        subject.to_string()
    } else {
        format!("{prefix} {subject}")
    }
}

/// The text of a message as a reader sees it (flowed text rejoined, HTML as text).
pub fn text_of(message: &Message<'_>) -> String {
    let text = message.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    let flowed = message
        .text_body
        .first()
        .and_then(|&id| message.parts.get(id as usize))
        .and_then(|p| p.content_type())
        .is_some_and(|ct| ct.attribute("format").is_some_and(|f| f.eq_ignore_ascii_case("flowed")));
    if flowed { unflow(&text, false) } else { text.replace("\r\n", "\n") }
}

fn quote(text: &str) -> String {
    text.lines()
        .map(|line| if line.starts_with('>') { format!(">{line}") } else { format!("> {line}") })
        .collect::<Vec<_>>()
        .join("\n")
}

fn signature_block(signature: &str) -> String {
    if signature.trim().is_empty() {
        String::new()
    } else {
        format!("\n\n-- \n{}", signature.trim_end())
    }
}

/// A new message: the signature, and `to` if the link gave one.
pub fn new_message(from: &str, to: &str, signature: &str) -> State {
    State {
        from: from.to_string(),
        to: to.to_string(),
        body: signature_block(signature),
        ..State::default()
    }
}

/// A reply to `original` (found at `at`). `own` are the user's addresses, lower-cased,
/// left out of reply-all. Errors say why there is no such reply (no list address).
pub fn reply(
    original: &Message<'_>,
    at: MessageRef,
    how: ReplyTo,
    from: &str,
    own: &[String],
    signature: &str,
    above: bool,
) -> Result<State, String> {
    let author = if original.reply_to().is_some() {
        mailboxes(original.reply_to())
    } else {
        mailboxes(original.from())
    };
    let is_own = |a: &(Option<String>, String)| own.contains(&a.1.to_lowercase());
    let (to, cc) = match how {
        ReplyTo::Sender => (author, Vec::new()),
        ReplyTo::All => {
            let mut to = author;
            for a in mailboxes(original.to()) {
                if !is_own(&a) && !to.iter().any(|t| t.1.eq_ignore_ascii_case(&a.1)) {
                    to.push(a);
                }
            }
            let cc: Vec<_> = mailboxes(original.cc())
                .into_iter()
                .filter(|a| !is_own(a) && !to.iter().any(|t| t.1.eq_ignore_ascii_case(&a.1)))
                .collect();
            // Replying to one's own message: the author is oneself; keep the others.
            if to.len() > 1 {
                to.retain(|a| !is_own(a));
            }
            (to, cc)
        }
        ReplyTo::List => {
            let post = list_post(original).ok_or(
                "this message did not come from a mailing list (it has no List-Post address)",
            )?;
            (vec![(None, post)], Vec::new())
        }
    };
    let mut references: Vec<String> = match original.references() {
        HeaderValue::Text(id) => vec![id.to_string()],
        HeaderValue::TextList(ids) => ids.iter().map(|s| s.to_string()).collect(),
        _ => Vec::new(),
    };
    if let Some(id) = original.message_id() {
        references.push(id.to_string());
    }
    if references.len() > MAX_REFERENCES {
        // Keep the root and the most recent.
        let root = references[0].clone();
        references.drain(..references.len() - (MAX_REFERENCES - 1));
        references.insert(0, root);
    }
    let who = original.from().and_then(|a| a.first()).map_or_else(String::new, |a| {
        match (a.name(), a.address()) {
            (Some(name), _) => name.to_string(),
            (None, Some(address)) => address.to_string(),
            _ => String::new(),
        }
    });
    let when = original.date().map(|d| d.to_rfc822()).unwrap_or_default();
    let attribution = match (when.is_empty(), who.is_empty()) {
        (false, false) => format!("On {when}, {who} wrote:"),
        (true, false) => format!("{who} wrote:"),
        _ => "You wrote:".to_string(),
    };
    Ok(State {
        from: from.to_string(),
        to: join(&to),
        cc: join(&cc),
        subject: prefixed("Re:", original.subject().unwrap_or_default()),
        body: if above {
            // Room to write first, the signature, then what is answered.
            format!(
                "\n{}\n\n{attribution}\n{}",
                signature_block(signature),
                quote(&text_of(original))
            )
        } else {
            format!(
                "{attribution}\n{}\n\n{}",
                quote(&text_of(original)),
                signature_block(signature).trim_start_matches('\n')
            )
        },
        in_reply_to: original.message_id().map(str::to_string),
        references,
        original: Some((at, Marks::Answered)),
        ..State::default()
    })
}

/// The List-Post address (`<mailto:list@example.org>`), if the message has one.
fn list_post(message: &Message<'_>) -> Option<String> {
    let value = message.header_raw("List-Post")?;
    let start = value.find("mailto:")? + "mailto:".len();
    let address: String =
        value[start..].chars().take_while(|c| !matches!(c, '>' | '?' | ',' | ' ')).collect();
    (address.contains('@')).then_some(address)
}

/// A forward with the original's text quoted inline and its attachments attached again.
pub fn forward_inline(
    original: &Message<'_>,
    at: MessageRef,
    from: &str,
    signature: &str,
) -> (State, Vec<File>) {
    let header = |name: &str, value: String| {
        if value.is_empty() { String::new() } else { format!("{name}: {value}\n") }
    };
    let block = format!(
        "---------- Forwarded message ----------\n{}{}{}{}{}\n{}",
        header("From", join(&mailboxes(original.from()))),
        header("Date", original.date().map(|d| d.to_rfc822()).unwrap_or_default()),
        header("Subject", original.subject().unwrap_or_default().to_string()),
        header("To", join(&mailboxes(original.to()))),
        header("Cc", join(&mailboxes(original.cc()))),
        text_of(original)
    );
    let files = original
        .attachments()
        .map(|part| File {
            name: part.attachment_name().unwrap_or("attachment").to_string(),
            mime: mime_of(part),
            bytes: part.contents().to_vec(),
        })
        .collect();
    let state = State {
        from: from.to_string(),
        subject: prefixed("Fwd:", original.subject().unwrap_or_default()),
        body: format!("{}\n\n{block}", signature_block(signature).trim_start_matches('\n')),
        original: Some((at, Marks::Forwarded)),
        ..State::default()
    };
    (state, files)
}

/// A forward with the original attached whole (the caller spools its file).
pub fn forward_attached(
    original: &Message<'_>,
    at: MessageRef,
    from: &str,
    signature: &str,
) -> State {
    State {
        from: from.to_string(),
        subject: prefixed("Fwd:", original.subject().unwrap_or_default()),
        body: signature_block(signature),
        original: Some((at, Marks::Forwarded)),
        ..State::default()
    }
}

/// A saved draft, to write on: its fields, its text, its attachments.
pub fn resume(draft: &Message<'_>, unique: &str) -> (State, Vec<File>) {
    let references = match draft.references() {
        HeaderValue::Text(id) => vec![id.to_string()],
        HeaderValue::TextList(ids) => ids.iter().map(|s| s.to_string()).collect(),
        _ => Vec::new(),
    };
    let state = State {
        from: mailboxes(draft.from()).first().map(|a| a.1.clone()).unwrap_or_default(),
        to: join(&mailboxes(draft.to())),
        cc: join(&mailboxes(draft.cc())),
        bcc: join(&mailboxes(draft.bcc())),
        subject: draft.subject().unwrap_or_default().to_string(),
        body: text_of(draft),
        in_reply_to: draft.in_reply_to().as_text().map(str::to_string),
        references,
        draft: Some(unique.to_string()),
        message_id: draft.message_id().unwrap_or_default().to_string(),
        ..State::default()
    };
    let files = draft
        .attachments()
        .map(|part| File {
            name: part.attachment_name().unwrap_or("attachment").to_string(),
            mime: mime_of(part),
            bytes: match part.message() {
                Some(inner) => inner.raw_message().to_vec(),
                None => part.contents().to_vec(),
            },
        })
        .collect();
    (state, files)
}

fn mime_of(part: &mail_parser::MessagePart<'_>) -> String {
    let mime = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| "application/octet-stream".into())
        .to_ascii_lowercase();
    if super::clean_mime(&mime) == mime { mime } else { "application/octet-stream".into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    const ORIGINAL: &str = "From: Ann <ann@x.example>\r\nReply-To: ann.replies@x.example\r\n\
        To: me@example.org, Bob <bob@x.example>\r\nCc: carol@x.example, Me Again <ME@example.org>\r\n\
        Subject: Re: plans\r\nDate: Thu, 3 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m2@x.example>\r\n\
        References: <m0@x.example> <m1@x.example>\r\nList-Post: <mailto:plans@lists.example>\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
        Content-Type: text/plain; format=flowed\r\n\r\nLet us meet \r\non Friday.\r\n> earlier\r\n--b\r\n\
        Content-Type: application/pdf; name=plan.pdf\r\nContent-Disposition: attachment; filename=plan.pdf\r\n\r\nPDF\r\n--b--\r\n";

    fn at() -> MessageRef {
        MessageRef { folder: "INBOX".into(), unique: "1.M1P1Q1.h".into() }
    }

    #[test]
    fn replies_go_to_the_right_people_with_the_thread() {
        let m = MessageParser::default().parse(ORIGINAL.as_bytes()).expect("parses");
        let own = vec!["me@example.org".to_string()];
        let one =
            reply(&m, at(), ReplyTo::Sender, "me@example.org", &own, "Me", false).expect("reply");
        assert_eq!(one.to, "ann.replies@x.example");
        assert_eq!(one.subject, "Re: plans");
        assert_eq!(one.in_reply_to.as_deref(), Some("m2@x.example"));
        assert_eq!(one.references, ["m0@x.example", "m1@x.example", "m2@x.example"]);
        assert!(one.body.starts_with("On Thu, 3 Dec 2026 10:00:00 +0000, Ann wrote:\n> Let us meet on Friday.\n>> earlier"), "{}", one.body);
        assert!(one.body.ends_with("\n-- \nMe"), "{}", one.body);
        assert_eq!(one.original, Some((at(), Marks::Answered)));
        let all =
            reply(&m, at(), ReplyTo::All, "me@example.org", &own, "", false).expect("reply all");
        assert_eq!(all.to, "ann.replies@x.example, Bob <bob@x.example>");
        assert_eq!(all.cc, "carol@x.example", "the user's own address, in any case, left out");
        let list = reply(&m, at(), ReplyTo::List, "me@example.org", &own, "", false).expect("list");
        assert_eq!(list.to, "plans@lists.example");
        let plain = MessageParser::default()
            .parse(b"From: a@x.example\r\nSubject: s\r\n\r\nhi".as_slice())
            .expect("p");
        assert!(reply(&plain, at(), ReplyTo::List, "me@example.org", &own, "", false).is_err());
        let above =
            reply(&m, at(), ReplyTo::Sender, "me@example.org", &own, "Me", true).expect("reply");
        assert!(above.body.starts_with("\n\n\n-- \nMe\n\nOn Thu"), "{:?}", above.body);
        assert!(above.body.ends_with("> Let us meet on Friday.\n>> earlier"), "{:?}", above.body);
    }

    #[test]
    fn forwards_carry_the_text_and_the_files() {
        let m = MessageParser::default().parse(ORIGINAL.as_bytes()).expect("parses");
        let (state, files) = forward_inline(&m, at(), "me@example.org", "");
        assert_eq!(state.subject, "Fwd: Re: plans");
        assert!(
            state.body.contains("From: Ann <ann@x.example>\nDate: Thu, 3 Dec 2026"),
            "{}",
            state.body
        );
        assert!(state.body.contains("Let us meet on Friday."));
        assert_eq!(
            files,
            vec![File {
                name: "plan.pdf".into(),
                mime: "application/pdf".into(),
                bytes: b"PDF".to_vec()
            }]
        );
        assert_eq!(state.original, Some((at(), Marks::Forwarded)));
        assert!(state.to.is_empty());
    }

    #[test]
    fn names_that_look_like_lists_are_quoted() {
        assert_eq!(
            display(&(Some("Doe, Jo".into()), "jo@x.example".into())),
            "\"Doe, Jo\" <jo@x.example>"
        );
    }
}
