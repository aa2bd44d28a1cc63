//! The parts of a message as the message page lists them: every leaf part with its
//! type, name and size, so the user picks what to download.

use mail_parser::{Message, MimeHeaders, PartType};

/// What kind of part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// text/plain (or other text/*).
    Text,
    /// text/html.
    Html,
    /// Anything else, including images.
    Binary,
    /// An attached message (message/rfc822).
    Message,
}

/// One part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    /// Its index in the parsed message (the `p=` of links).
    pub id: usize,
    /// `type/subtype`, lower case.
    pub mime: String,
    /// The file name, if it has one.
    pub name: Option<String>,
    /// Decoded bytes.
    pub size: usize,
    /// What it is.
    pub kind: Kind,
    /// Its Content-ID (for `cid:` references), without angle brackets.
    pub content_id: Option<String>,
    /// Shown as the message body (not listed as an attachment).
    pub is_body: bool,
}

/// Image types shown inline when the HTML refers to them by `cid:`. Not SVG: an SVG is
/// a document that can carry script.
pub const INLINE_IMAGES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// The leaf parts of a message, in order.
pub fn list(message: &Message<'_>) -> Vec<PartInfo> {
    let bodies: Vec<u32> = message.text_body.iter().chain(&message.html_body).copied().collect();
    message
        .parts
        .iter()
        .enumerate()
        .filter(|(_, part)| !part.is_multipart())
        .map(|(id, part)| {
            let mime = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "text/plain".to_string())
                .to_ascii_lowercase();
            let kind = match &part.body {
                PartType::Text(_) => Kind::Text,
                PartType::Html(_) => Kind::Html,
                PartType::Message(_) => Kind::Message,
                _ => Kind::Binary,
            };
            PartInfo {
                id,
                mime,
                name: part.attachment_name().map(str::to_string),
                size: part.len(),
                kind,
                content_id: part
                    .content_id()
                    .map(|c| c.trim_matches(|c| c == '<' || c == '>').to_string()),
                is_body: bodies.contains(&(id as u32)) && part.attachment_name().is_none(),
            }
        })
        .collect()
}

/// The decoded bytes of part `id`.
pub fn contents<'a>(message: &'a Message<'_>, id: usize) -> Option<&'a [u8]> {
    let part = message.parts.get(id)?;
    match &part.body {
        PartType::Multipart(_) => None,
        PartType::Message(inner) => Some(inner.raw_message()),
        _ => Some(part.contents()),
    }
}

/// A download name for a part: its own, cleaned, or `part-N.bin`.
pub fn file_name(part: &PartInfo) -> String {
    let cleaned: String = part
        .name
        .as_deref()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && !"/\\\"".contains(*c))
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        let ext = match part.kind {
            Kind::Text => "txt",
            Kind::Html => "html",
            Kind::Message => "eml",
            Kind::Binary => "bin",
        };
        format!("part-{}.{ext}", part.id)
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    #[test]
    fn parts_are_listed_with_names_sizes_and_bodies() {
        let raw = b"From: a@example.org\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
--b\r\nContent-Type: application/pdf; name=\"../../r\xc3\xa9port.pdf\"\r\nContent-Disposition: attachment; filename=\"../../r\xc3\xa9port.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n\
--b\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0K\r\n--b--\r\n";
        let message = MessageParser::default().parse(&raw[..]).expect("parses");
        let parts = list(&message);
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert_eq!(
            (parts[0].mime.as_str(), parts[0].kind, parts[0].is_body),
            ("text/plain", Kind::Text, true)
        );
        assert_eq!(parts[1].mime, "application/pdf");
        assert_eq!(parts[1].size, 8);
        assert_eq!(file_name(&parts[1]), "réport.pdf");
        assert_eq!(parts[2].content_id.as_deref(), Some("logo@x"));
        assert_eq!(contents(&message, parts[1].id), Some(&b"%PDF-1.4"[..]));
        assert_eq!(
            file_name(&PartInfo { name: None, ..parts[2].clone() }),
            format!("part-{}.bin", parts[2].id)
        );
    }
}
