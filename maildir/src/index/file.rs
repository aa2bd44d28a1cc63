//! The index file `mailroom-index`: a snapshot of the records and of the directory stamps
//! they match, replaced atomically (write a temporary file, rename over).
//!
//! ```text
//! magic "MRHIDX\r\n"  version u32            (little-endian throughout)
//! for new/, cur/: present u8, racy u8, ino u64, mtime i64 i64, ctime i64 i64
//! last_full_scan i64
//! applied journal ids: count u32, then (len u16, bytes) each
//! records: count u32, then each:
//!   dir u8, has_attachment u8, size u64, date i64, arrival i64, subject_sort u16,
//!   ends [u32; 11], text (ends[10] bytes of UTF-8)
//! crc32 u32 of everything before it
//! ```
//!
//! A file that is short, fails its checksum, has another magic or version, or holds an
//! impossible record is not trusted: the index is rebuilt from the Maildir. No fsync: the
//! file is a cache, and a torn one fails the checksum.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::Path;

use super::record::{FIELDS, Field, Record};
use super::{HeaderIndex, Verified};
use crate::error::IoContext;
use crate::journal::DirStamp;
use crate::name::{Subdir, check_file_name, unique_name};
use crate::{Error, Result};

/// The index file's name inside a folder directory.
pub const FILE: &str = "mailroom-index";
const MAGIC: &[u8; 8] = b"MRHIDX\r\n";
/// Bumped whenever the layout or the meaning of a field changes; an index of another
/// version is rebuilt.
pub const VERSION: u32 = 1;

/// What loading found on disk.
pub(crate) struct Snapshot {
    pub records: Vec<Record>,
    pub by_unique: HashMap<Box<str>, u32>,
    pub verified: [Option<Verified>; 2],
    pub last_full_scan: i64,
    pub applied: BTreeSet<String>,
}

/// Why a snapshot was not used.
pub(crate) enum LoadError {
    Missing,
    Invalid(&'static str),
    Io(Error),
}

pub(crate) fn load(folder: &Path) -> Result<Snapshot, LoadError> {
    let path = folder.join(FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(LoadError::Missing),
        Err(e) => return Err(LoadError::Io(Error::io("read", &path, e))),
    };
    decode(&bytes).map_err(LoadError::Invalid)
}

pub(crate) fn save(index: &HeaderIndex) -> Result<()> {
    let bytes = encode(index);
    let folder = index.folder.path();
    let tmp = folder.join(format!("{FILE}.{}.tmp", unique_name()));
    fs::write(&tmp, &bytes).ctx("write", &tmp)?;
    let path = folder.join(FILE);
    if let Err(e) = fs::rename(&tmp, &path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("replace", &path, e));
    }
    Ok(())
}

fn encode(index: &HeaderIndex) -> Vec<u8> {
    let text_bytes: usize = index.records.iter().map(|r| r.text.len() + 100).sum();
    let mut out = Vec::with_capacity(256 + text_bytes);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    for v in &index.verified {
        let (present, racy, s) = match v {
            Some(v) => (1u8, v.racy as u8, v.stamp),
            None => (0, 0, DirStamp::default()),
        };
        out.extend_from_slice(&[present, racy]);
        out.extend_from_slice(&s.ino.to_le_bytes());
        for t in [s.mtime.0, s.mtime.1, s.ctime.0, s.ctime.1] {
            out.extend_from_slice(&t.to_le_bytes());
        }
    }
    out.extend_from_slice(&index.last_full_scan.to_le_bytes());
    out.extend_from_slice(&(index.applied.len() as u32).to_le_bytes());
    for id in &index.applied {
        out.extend_from_slice(&(id.len() as u16).to_le_bytes());
        out.extend_from_slice(id.as_bytes());
    }
    out.extend_from_slice(&(index.records.len() as u32).to_le_bytes());
    for r in &index.records {
        out.extend_from_slice(&[r.dir as u8, r.has_attachment as u8]);
        out.extend_from_slice(&r.size.to_le_bytes());
        out.extend_from_slice(&r.date.to_le_bytes());
        out.extend_from_slice(&r.arrival.to_le_bytes());
        out.extend_from_slice(&r.subject_sort.to_le_bytes());
        for end in r.ends {
            out.extend_from_slice(&end.to_le_bytes());
        }
        out.extend_from_slice(r.text.as_bytes());
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.bytes.len() < n {
            return Err("truncated");
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, &'static str> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, &'static str> {
        Ok(i64::from_le_bytes(self.array()?))
    }
}

fn decode(bytes: &[u8]) -> Result<Snapshot, &'static str> {
    if bytes.len() < MAGIC.len() + 8 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a Mailroom index");
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return Err("checksum mismatch");
    }
    let mut r = Reader { bytes: &body[MAGIC.len()..] };
    if r.u32()? != VERSION {
        return Err("another version");
    }
    let mut verified = [None, None];
    for v in &mut verified {
        let (present, racy) = (r.u8()?, r.u8()?);
        let ino = r.u64()?;
        let (ms, mn, cs, cn) = (r.i64()?, r.i64()?, r.i64()?, r.i64()?);
        if present == 1 {
            let stamp = DirStamp { ino, mtime: (ms, mn), ctime: (cs, cn) };
            *v = Some(Verified { stamp, racy: racy == 1 });
        }
    }
    let last_full_scan = r.i64()?;
    let mut applied = BTreeSet::new();
    for _ in 0..r.u32()? {
        let len = r.u16()? as usize;
        let id = std::str::from_utf8(r.take(len)?).map_err(|_| "journal id not UTF-8")?;
        applied.insert(id.to_string());
    }
    let count = r.u32()? as usize;
    // Each record takes at least 72 bytes: a count larger than the file is a lie.
    if count > r.bytes.len() / 72 {
        return Err("record count larger than the file");
    }
    let mut records = Vec::with_capacity(count);
    let mut by_unique = HashMap::with_capacity(count);
    for i in 0..count {
        let dir = match r.u8()? {
            0 => Subdir::New,
            1 => Subdir::Cur,
            _ => return Err("bad directory"),
        };
        let has_attachment = r.u8()? == 1;
        let (size, date, arrival) = (r.u64()?, r.i64()?, r.i64()?);
        let subject_sort = r.u16()?;
        let mut ends = [0u32; FIELDS];
        let mut last = 0;
        for end in &mut ends {
            *end = r.u32()?;
            if *end < last {
                return Err("field ends out of order");
            }
            last = *end;
        }
        let text = std::str::from_utf8(r.take(last as usize)?).map_err(|_| "text not UTF-8")?;
        let boundary = |i: usize| text.is_char_boundary(ends[i] as usize);
        if !(0..FIELDS).all(boundary) {
            return Err("field splits a character");
        }
        let record = Record::from_parts(
            text.into(),
            ends,
            dir,
            size,
            date,
            arrival,
            has_attachment,
            subject_sort,
        );
        let lc_subject = record.field(Field::LcSubject);
        if !lc_subject.is_char_boundary((subject_sort as usize).min(lc_subject.len())) {
            return Err("subject sort offset splits a character");
        }
        if check_file_name(record.file_name()).is_err() {
            return Err("bad file name");
        }
        if by_unique.insert(record.unique().into(), i as u32).is_some() {
            return Err("duplicate message");
        }
        records.push(record);
    }
    if !r.bytes.is_empty() {
        return Err("trailing bytes");
    }
    Ok(Snapshot { records, by_unique, verified, last_full_scan, applied })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::HeaderSummary;
    use crate::name::MessageFile;

    fn index_with(n: usize) -> (tempfile::TempDir, HeaderIndex) {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = crate::Maildir::create(dir.path().join("M")).expect("maildir").inbox();
        let mut index = HeaderIndex::empty(folder);
        for i in 0..n {
            let h = HeaderSummary {
                subject: format!("Re: sujet ünïcode {i}"),
                from_addr: format!("a{i}@x"),
                date: Some(i as i64),
                ..Default::default()
            };
            let file = MessageFile { dir: Subdir::Cur, name: format!("{i}.x:2,S") };
            index.insert(Record::new(&file, h, i as u64, 7));
        }
        index.applied.insert("000.1.x".into());
        (dir, index)
    }

    #[test]
    fn round_trip() {
        let (_dir, index) = index_with(50);
        let snap = decode(&encode(&index)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(snap.records, index.records);
        assert_eq!(snap.applied, index.applied);
        assert_eq!(snap.by_unique.len(), 50);
    }

    #[test]
    fn every_damage_is_detected() {
        let (_dir, index) = index_with(3);
        let good = encode(&index);
        for cut in [0, 5, 12, good.len() / 2, good.len() - 1] {
            assert!(decode(&good[..cut]).is_err(), "truncated at {cut}");
        }
        for i in (0..good.len()).step_by(7) {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            assert!(decode(&bad).is_err(), "flipped byte {i}");
        }
        let mut other = good.clone();
        other[8] = 99; // version
        let crc = crc32fast::hash(&other[..other.len() - 4]).to_le_bytes();
        let n = other.len();
        other[n - 4..].copy_from_slice(&crc);
        assert!(matches!(decode(&other), Err("another version")));
    }
}
