//! Maildir file names.
//!
//! A message file is named `<unique>[:<info>]`. Mailroom writes unique parts of the form
//! `<secs>.M<usec>P<pid>Q<n>.<host>,S=<size>` (the Maildir spec's recommended form plus
//! Maildir++'s size) and info `2,<flags>` with the flags in ASCII order. It reads any name
//! another Maildir program wrote (`1700000000.12345.host` from old qmail,
//! `…,S=1234,W=1260:2,S` from Dovecot), because nothing here needs to parse a name to
//! find a message: directories are listed, and the name is only split at the first `:`
//! (the unique part, which never changes) and read for flags and `,S=`.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Error, Result};

/// Where a message lives inside a Maildir directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subdir {
    /// `new/`: delivered, not yet seen by any reader.
    New,
    /// `cur/`: seen by a reader; the name carries flags.
    Cur,
}

impl Subdir {
    /// The directory name.
    pub fn as_str(self) -> &'static str {
        match self {
            Subdir::New => "new",
            Subdir::Cur => "cur",
        }
    }

    /// Both, in the order scans visit them.
    pub const ALL: [Subdir; 2] = [Subdir::New, Subdir::Cur];

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Maildir flags: the upper-case letters of the spec (`D`raft, `F`lagged, `P`assed,
/// `R`eplied, `S`een, `T`rashed) and the lower-case keyword letters Dovecot uses. A set of
/// letters, written in ASCII order.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u64);

impl Flags {
    /// No flag.
    pub const NONE: Flags = Flags(0);
    /// `D`: a draft.
    pub const DRAFT: Flags = Flags::letter(b'D');
    /// `F`: flagged for urgent attention.
    pub const FLAGGED: Flags = Flags::letter(b'F');
    /// `P`: passed on (forwarded, bounced).
    pub const PASSED: Flags = Flags::letter(b'P');
    /// `R`: replied to.
    pub const REPLIED: Flags = Flags::letter(b'R');
    /// `S`: seen (read).
    pub const SEEN: Flags = Flags::letter(b'S');
    /// `T`: trashed, to be deleted.
    pub const TRASHED: Flags = Flags::letter(b'T');

    const fn letter(c: u8) -> Flags {
        match c {
            b'A'..=b'Z' => Flags(1 << (c - b'A')),
            b'a'..=b'z' => Flags(1 << (26 + c - b'a')),
            _ => Flags(0),
        }
    }

    /// Parses the letters after `2,`. Characters that are not ASCII letters are ignored:
    /// they carry no meaning Mailroom knows and are dropped on the next flag change.
    pub fn parse(letters: &str) -> Flags {
        Flags(letters.bytes().fold(0, |acc, c| acc | Flags::letter(c).0))
    }

    /// Whether every flag of `other` is set here.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union.
    #[must_use]
    pub fn with(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// The difference.
    #[must_use]
    pub fn without(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }

    /// Whether no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The raw bit set (bit 0 is `A`, bit 26 is `a`), for compact storage.
    pub fn bits(self) -> u64 {
        self.0
    }

    /// The inverse of [`Flags::bits`]; bits above `z` are dropped.
    pub fn from_bits(bits: u64) -> Flags {
        Flags(bits & ((1 << 52) - 1))
    }
}

impl fmt::Display for Flags {
    /// The letters in ASCII order, as the Maildir spec requires.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for bit in 0..52u8 {
            if self.0 & (1 << bit) != 0 {
                let c = if bit < 26 { b'A' + bit } else { b'a' + bit - 26 };
                fmt::Write::write_char(f, c as char)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({self})")
    }
}

/// A message file as found in a folder: which subdirectory and its current name. The
/// name changes when flags change; [`MessageFile::unique`] does not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageFile {
    /// `new/` or `cur/`.
    pub dir: Subdir,
    /// The file name inside that directory.
    pub name: String,
}

impl MessageFile {
    /// A message file, checking that the name is one this store can address (see
    /// [`check_file_name`]).
    pub fn new(dir: Subdir, name: impl Into<String>) -> Result<MessageFile> {
        let name = name.into();
        check_file_name(&name)?;
        Ok(MessageFile { dir, name })
    }

    /// The unique part: everything before the first `:`.
    pub fn unique(&self) -> &str {
        unique_part(&self.name)
    }

    /// The flags in the name. A file in `new/` has none: it is unseen whatever its name
    /// says.
    pub fn flags(&self) -> Flags {
        match self.dir {
            Subdir::New => Flags::NONE,
            Subdir::Cur => flags_of(&self.name),
        }
    }

    /// The size written in the name by a Maildir++ writer (`,S=<size>`), if any.
    pub fn size_hint(&self) -> Option<u64> {
        size_of(&self.name)
    }

    /// The path relative to the folder directory, e.g. `cur/123.M4P5Q6.host:2,S`.
    pub fn relative_path(&self) -> String {
        format!("{}/{}", self.dir.as_str(), self.name)
    }
}

/// Whether a directory entry is a message file this store can address: not a dot-file
/// (readers skip those by the spec), valid UTF-8 without control characters or `/`, and
/// no longer than a file name can be.
pub fn check_file_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 255
        && !name.chars().any(|c| c.is_control() || c == '/');
    if ok { Ok(()) } else { Err(Error::InvalidFileName(name.to_string())) }
}

/// The unique part of a file name: everything before the first `:`.
pub fn unique_part(name: &str) -> &str {
    name.split_once(':').map_or(name, |(unique, _)| unique)
}

/// The flags of a file name: the letters after `:2,`, none otherwise.
pub fn flags_of(name: &str) -> Flags {
    match name.split_once(':') {
        Some((_, info)) => info.strip_prefix("2,").map_or(Flags::NONE, Flags::parse),
        None => Flags::NONE,
    }
}

/// The `,S=<size>` a Maildir++ writer put in the unique part, if any.
pub fn size_of(name: &str) -> Option<u64> {
    unique_part(name)
        .split(',')
        .skip(1)
        .filter_map(|field| field.strip_prefix("S="))
        .filter_map(|digits| digits.parse().ok())
        .last()
}

/// The name a message has in `cur/` with the given flags: the unique part, `:2,` and the
/// flags in ASCII order.
pub fn with_flags(unique: &str, flags: Flags) -> String {
    format!("{unique}:2,{flags}")
}

/// Makes unique names: `<secs>.M<usec>P<pid>Q<n>.<host>`. The time, the process id and a
/// per-process counter make a name unique on one host; the host name makes it unique
/// across the hosts that share a data directory. The counter alone would do within one
/// process; the time keeps names unique across restarts that reuse a pid.
pub fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format!(
        "{}.M{}P{}Q{}.{}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        n,
        hostname()
    )
}

/// This host's name as it appears in unique names, with the characters that would break
/// a Maildir name escaped the way the spec says (`/` → `\057`, `:` → `\072`), and `,`
/// (which starts Maildir++ fields) as `\054`.
pub fn hostname() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let uname = rustix::system::uname();
        sanitize_host(&String::from_utf8_lossy(uname.nodename().to_bytes()))
    })
}

fn sanitize_host(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '/' => out.push_str("\\057"),
            ':' => out.push_str("\\072"),
            ',' => out.push_str("\\054"),
            c if c.is_control() || c.is_whitespace() => out.push('_'),
            c => out.push(c),
        }
    }
    if out.is_empty() || out.starts_with('.') {
        out.insert_str(0, "host");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_written_in_ascii_order() {
        let flags = Flags::parse("TSRa");
        assert_eq!(flags.to_string(), "RSTa");
        assert!(flags.contains(Flags::SEEN));
        assert!(!flags.contains(Flags::FLAGGED));
        assert_eq!(Flags::parse("S!x1").to_string(), "Sx");
        assert_eq!(Flags::from_bits(flags.bits()), flags);
    }

    #[test]
    fn with_and_without() {
        let f = Flags::NONE.with(Flags::SEEN).with(Flags::FLAGGED);
        assert_eq!(f.to_string(), "FS");
        assert_eq!(f.without(Flags::SEEN).to_string(), "F");
        assert!(f.without(f).is_empty());
    }

    #[test]
    fn names_are_split_without_guessing() {
        let dovecot = "1700000000.M123P456.host,S=1234,W=1260:2,RS";
        assert_eq!(unique_part(dovecot), "1700000000.M123P456.host,S=1234,W=1260");
        assert_eq!(size_of(dovecot), Some(1234));
        assert_eq!(flags_of(dovecot).to_string(), "RS");

        let qmail = "1700000000.12345.mail.example.org";
        assert_eq!(unique_part(qmail), qmail);
        assert_eq!(size_of(qmail), None);
        assert!(flags_of(qmail).is_empty());

        // Experimental info ("1,") carries no flags.
        assert!(flags_of("123.x:1,2").is_empty());
        // A bad size is no size.
        assert_eq!(size_of("1.x,S=12a:2,"), None);
        assert_eq!(with_flags("1.x,S=5", Flags::parse("SF")), "1.x,S=5:2,FS");
    }

    #[test]
    fn unique_names_follow_the_spec_and_do_not_repeat() {
        let a = unique_name();
        let b = unique_name();
        assert_ne!(a, b);
        let (secs, rest) = a.split_once('.').expect("a dot after the seconds");
        assert!(secs.chars().all(|c| c.is_ascii_digit()));
        assert!(rest.starts_with('M'));
        assert!(rest.contains(&format!("P{}Q", std::process::id())));
        assert!(!a.contains(':') && !a.contains('/') && !a.contains(','));
        check_file_name(&a).expect("a valid file name");
    }

    #[test]
    fn host_names_are_escaped() {
        assert_eq!(sanitize_host("a/b:c,d e"), "a\\057b\\072c\\054d_e");
        assert_eq!(sanitize_host(""), "host");
        assert_eq!(sanitize_host(".x"), "host.x");
    }

    #[test]
    fn file_names_from_disk_are_checked() {
        assert!(check_file_name("123.abc:2,S").is_ok());
        for bad in ["", ".hidden", "a\nb", "a/b", "a\u{7f}b"] {
            assert!(check_file_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_file_name(&"x".repeat(256)).is_err());
    }
}
