//! Writing mail: recipient fields checked, the text made flowed, the message built
//! with its attachments streamed from the spool, and the compose spool itself.
//!
//! # Layout
//! - [`addresses`]: typed recipient fields → checked mailboxes
//! - [`flowed`]: typed text → `format=flowed`
//! - [`build`]: the MIME message, written to any `Write`
//! - [`spool`]: a message being written, kept on disk between requests
//! - [`start`]: a reply, a forward or a resumed draft as fields and files

pub mod addresses;
pub mod build;
pub mod flowed;
pub mod spool;
pub mod start;

/// A MIME type from a browser or a message, if it is a plain `type/subtype` of token
/// characters; anything else becomes `application/octet-stream` where it is used.
pub fn clean_mime(mime: &str) -> String {
    let mime = mime.trim().to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match mime.split_once('/') {
        Some((t, s)) if token(t) && token(s) => mime,
        _ => "application/octet-stream".to_string(),
    }
}
