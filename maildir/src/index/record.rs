//! One index record: what the folder page shows of a message, without its body.
//!
//! All text of a record lives in one allocation (`text`, with `ends` marking the fields),
//! so 100,000 records cost 100,000 allocations, not a million, to build or load.

use crate::header::HeaderSummary;
use crate::name::{self, Flags, MessageFile, Subdir};

/// The text fields of a record, in the order they are stored.
#[derive(Clone, Copy)]
pub(crate) enum Field {
    Name = 0,
    FromName,
    FromAddr,
    To,
    Subject,
    MessageId,
    InReplyTo,
    References,
    /// Lower-cased "name <addr>" (or "addr"): sorting and searching by sender.
    LcFrom,
    /// Lower-cased To: sorting and searching by recipient.
    LcTo,
    /// Lower-cased subject: searching; its tail from `subject_sort` is the sort key.
    LcSubject,
}

pub(crate) const FIELDS: usize = 11;

/// A message as the index knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub(crate) text: Box<str>,
    pub(crate) ends: [u32; FIELDS],
    pub(crate) dir: Subdir,
    pub(crate) size: u64,
    pub(crate) date: i64,
    pub(crate) arrival: i64,
    pub(crate) has_attachment: bool,
    /// Where the subject's sort key starts in `LcSubject` ("re: " and the like skipped).
    pub(crate) subject_sort: u16,
    // Derived, not stored: cached from the fields above.
    pub(crate) flags: Flags,
    pub(crate) from_key: u64,
    pub(crate) to_key: u64,
    pub(crate) subject_key: u64,
}

impl Record {
    /// A record for `file` from its header summary, size and arrival time (file mtime).
    pub(crate) fn new(file: &MessageFile, h: HeaderSummary, size: u64, arrival: i64) -> Record {
        let plain: [&str; 8] = [
            &file.name,
            &h.from_name,
            &h.from_addr,
            &h.to,
            &h.subject,
            &h.message_id,
            &h.in_reply_to,
            &h.references,
        ];
        // The lower-cased copies (for sorting and search) are written straight into the
        // record's one string: no temporary strings for 100,000 records.
        let capacity = 2 * plain.iter().map(|f| f.len()).sum::<usize>() + 3;
        let mut text = String::with_capacity(capacity);
        let mut ends = [0u32; FIELDS];
        for (i, field) in plain.iter().enumerate() {
            text.push_str(field);
            ends[i] = text.len() as u32;
        }
        // The sort key of the sender: `name <address>`, or the address alone.
        if h.from_name.is_empty() {
            push_lowercase(&mut text, &h.from_addr);
        } else {
            push_lowercase(&mut text, &h.from_name);
            text.push_str(" <");
            push_lowercase(&mut text, &h.from_addr);
            text.push('>');
        }
        ends[8] = text.len() as u32;
        push_lowercase(&mut text, &h.to);
        ends[9] = text.len() as u32;
        let subject_start = text.len();
        push_lowercase(&mut text, &h.subject);
        ends[10] = text.len() as u32;
        let subject_sort = base_subject_offset(&text[subject_start..]) as u16;
        Record::from_parts(
            text.into_boxed_str(),
            ends,
            file.dir,
            size,
            h.date.unwrap_or(arrival),
            arrival,
            h.has_attachment,
            subject_sort,
        )
    }

    /// Assembles a record from stored parts (the caller has validated `ends`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        text: Box<str>,
        ends: [u32; FIELDS],
        dir: Subdir,
        size: u64,
        date: i64,
        arrival: i64,
        has_attachment: bool,
        subject_sort: u16,
    ) -> Record {
        let mut r = Record {
            text,
            ends,
            dir,
            size,
            date,
            arrival,
            has_attachment,
            subject_sort,
            flags: Flags::NONE,
            from_key: 0,
            to_key: 0,
            subject_key: 0,
        };
        r.derive();
        r
    }

    fn derive(&mut self) {
        self.flags = if self.dir == Subdir::Cur {
            name::flags_of(self.field(Field::Name))
        } else {
            Flags::NONE
        };
        self.from_key = prefix_key(self.field(Field::LcFrom));
        self.to_key = prefix_key(self.field(Field::LcTo));
        self.subject_key = prefix_key(self.subject_sort_key());
    }

    pub(crate) fn field(&self, f: Field) -> &str {
        let i = f as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// Points the record at the message's new file (after a flag change or new→cur).
    pub(crate) fn set_file(&mut self, file: &MessageFile) {
        let old_len = self.ends[0] as usize;
        let mut text = String::with_capacity(self.text.len() - old_len + file.name.len());
        text.push_str(&file.name);
        text.push_str(&self.text[old_len..]);
        let delta = file.name.len() as i64 - old_len as i64;
        for end in &mut self.ends {
            *end = (*end as i64 + delta) as u32;
        }
        self.text = text.into_boxed_str();
        self.dir = file.dir;
        self.derive();
    }

    /// The message's file as last seen.
    pub fn file(&self) -> MessageFile {
        MessageFile { dir: self.dir, name: self.file_name().to_string() }
    }
    /// The file name in `new/` or `cur/`.
    pub fn file_name(&self) -> &str {
        self.field(Field::Name)
    }
    /// The unique part of the file name: the message's identity in its folder.
    pub fn unique(&self) -> &str {
        name::unique_part(self.file_name())
    }
    /// `new/` or `cur/`.
    pub fn dir(&self) -> Subdir {
        self.dir
    }
    /// Maildir flags.
    pub fn flags(&self) -> Flags {
        self.flags
    }
    /// Not yet seen.
    pub fn is_unread(&self) -> bool {
        !self.flags.contains(Flags::SEEN)
    }
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// The Date header as a Unix time, or the arrival time if it had none.
    pub fn date(&self) -> i64 {
        self.date
    }
    /// When the message arrived (the file's modification time), Unix time.
    pub fn arrival(&self) -> i64 {
        self.arrival
    }
    /// Whether the header suggests attachments.
    pub fn has_attachment(&self) -> bool {
        self.has_attachment
    }
    /// The sender's display name (may be empty).
    pub fn from_name(&self) -> &str {
        self.field(Field::FromName)
    }
    /// The sender's address.
    pub fn from_addr(&self) -> &str {
        self.field(Field::FromAddr)
    }
    /// The sender as a list shows it: the name, or the address if there is no name.
    pub fn from_display(&self) -> &str {
        let name = self.from_name();
        if name.is_empty() { self.from_addr() } else { name }
    }
    /// The recipients as a list shows them.
    pub fn to(&self) -> &str {
        self.field(Field::To)
    }
    /// The subject.
    pub fn subject(&self) -> &str {
        self.field(Field::Subject)
    }
    /// Message-ID, without angle brackets.
    pub fn message_id(&self) -> &str {
        self.field(Field::MessageId)
    }
    /// In-Reply-To ids, space-separated.
    pub fn in_reply_to(&self) -> &str {
        self.field(Field::InReplyTo)
    }
    /// References ids, space-separated: the thread's root first.
    pub fn references(&self) -> &str {
        self.field(Field::References)
    }
    /// The id that names this message's thread: the first References id, else the
    /// In-Reply-To id, else its own Message-ID (else its unique name).
    pub fn thread_key(&self) -> &str {
        [self.references(), self.in_reply_to(), self.message_id()]
            .into_iter()
            .find_map(|ids| ids.split(' ').find(|id| !id.is_empty()))
            .unwrap_or_else(|| self.unique())
    }

    pub(crate) fn subject_sort_key(&self) -> &str {
        let lc = self.field(Field::LcSubject);
        lc.get(self.subject_sort as usize..).unwrap_or(lc)
    }
}

/// The first 8 bytes of a sort string as a big-endian number: most comparisons while
/// sorting 100,000 records are settled by this one integer.
fn prefix_key(s: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let n = s.len().min(8);
    bytes[..n].copy_from_slice(&s.as_bytes()[..n]);
    u64::from_be_bytes(bytes)
}

/// Where the base subject starts: after any run of reply and forward prefixes ("Re:",
/// "Fwd:", "AW:", "Re[2]:", …) and white space, so that a thread sorts together.
pub(crate) fn base_subject_offset(lc_subject: &str) -> usize {
    const PREFIXES: [&str; 7] = ["re", "fwd", "fw", "aw", "wg", "sv", "vs"];
    let mut rest = lc_subject;
    loop {
        let trimmed = rest.trim_start();
        let mut advanced = false;
        for p in PREFIXES {
            if let Some(after) = trimmed.strip_prefix(p) {
                // Optional "[n]" counter, then the colon.
                let after = match after.strip_prefix('[') {
                    Some(a) => a.trim_start_matches(|c: char| c.is_ascii_digit()).strip_prefix(']'),
                    None => Some(after),
                };
                if let Some(after) = after.and_then(|a| a.strip_prefix(':')) {
                    rest = after;
                    advanced = true;
                    break;
                }
            }
        }
        if !advanced {
            let offset = lc_subject.len() - trimmed.len();
            return offset.min(u16::MAX as usize);
        }
    }
}

/// Appends `s` lower-cased (as `str::to_lowercase` does), without allocating for ASCII.
fn push_lowercase(out: &mut String, s: &str) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        out.push_str(&s.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, dir: Subdir) -> Record {
        let h = HeaderSummary {
            from_name: "Ann".into(),
            from_addr: "ann@example.org".into(),
            subject: "Re: AW: Hello".into(),
            references: "root@x parent@x".into(),
            ..Default::default()
        };
        Record::new(&MessageFile { dir, name: name.into() }, h, 10, 5)
    }

    #[test]
    fn fields_survive_a_rename() {
        let mut r = record("1.a", Subdir::New);
        assert!(r.is_unread());
        assert_eq!(r.date(), 5, "no Date header: arrival");
        r.set_file(&MessageFile { dir: Subdir::Cur, name: "1.a:2,FS".into() });
        assert_eq!(r.file_name(), "1.a:2,FS");
        assert_eq!(r.unique(), "1.a");
        assert!(!r.is_unread());
        assert!(r.flags().contains(Flags::FLAGGED));
        assert_eq!(r.from_display(), "Ann");
        assert_eq!(r.subject(), "Re: AW: Hello");
        assert_eq!(r.subject_sort_key(), "hello");
        assert_eq!(r.field(Field::LcFrom), "ann <ann@example.org>");
        assert_eq!(r.thread_key(), "root@x");
    }

    #[test]
    fn base_subjects() {
        for (s, base) in [
            ("re: fwd: x", "x"),
            ("re[3]: x", "x"),
            ("  re:re:x", "x"),
            ("regarding", "regarding"),
            ("re", "re"),
            ("", ""),
        ] {
            assert_eq!(&s[base_subject_offset(s)..], base, "{s:?}");
        }
    }
}
