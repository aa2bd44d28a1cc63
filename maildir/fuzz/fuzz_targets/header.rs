//! The header reader on arbitrary bytes: reading the header block from a stream, then
//! summarising it, never panics, and every kept field stays within its bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maildir::header::{
    MAX_HEADER_BYTES, MAX_ID_FIELD, MAX_REFERENCES, MAX_TEXT_FIELD, read_header_block, summarize,
};

fuzz_target!(|data: &[u8]| {
    let mut block = Vec::new();
    // A reader that hands out bytes in small uneven pieces, as a pipe or NFS might.
    let mut input = Chunked { data, at: 0 };
    if read_header_block(&mut input, &mut block).is_err() {
        return;
    }
    assert!(block.len() <= MAX_HEADER_BYTES);
    assert!(data.starts_with(&block), "the block is a prefix of the message");
    let s = summarize(&block);
    for text in [&s.from_name, &s.from_addr, &s.to, &s.subject] {
        assert!(text.len() <= MAX_TEXT_FIELD);
        assert!(!text.chars().any(char::is_control), "{text:?}");
    }
    assert!(s.message_id.len() <= MAX_ID_FIELD);
    assert!(s.references.split(' ').count() <= MAX_REFERENCES);
    // Summarising the summary's own block again gives the same summary.
    assert_eq!(summarize(&block), s);
});

struct Chunked<'a> {
    data: &'a [u8],
    at: usize,
}

impl std::io::Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.data[self.at..];
        let n = rest.len().min(buf.len()).min(1 + self.at % 977);
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}
