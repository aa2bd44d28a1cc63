//! The pages, as maud functions: [`layout`] wraps every page; one module per page.
//!
//! Everything is escaped by maud; a `PreEscaped` carries a `// XSS-safety:` comment.

pub mod addressbook;
pub mod admin;
pub mod compose;
pub mod error;
pub mod folder;
pub mod folders;
pub mod layout;
pub mod login;
pub mod message;
pub mod settings;

/// `2026-12-04 05:06` (UTC) from Unix seconds; `—` for none.
pub fn date(ts: i64) -> String {
    if ts <= 0 {
        return "—".to_string();
    }
    let d = mail_parser::DateTime::from_timestamp(ts);
    format!("{:04}-{:02}-{:02} {:02}:{:02}", d.year, d.month, d.day, d.hour, d.minute)
}

/// A megabyte as every page shows and every form reads it: 2^20 bytes, so that a quota
/// typed as 50 MB is shown as 50.0 MB.
pub const MB: u64 = 1_048_576;

/// `12 KB` style sizes for the message list.
pub fn size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..MB => format!("{} KB", bytes.div_ceil(1024)),
        _ => format!("{:.1} MB", bytes as f64 / MB as f64),
    }
}
