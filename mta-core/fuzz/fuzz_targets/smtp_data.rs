//! The DATA decoder on arbitrary bytes, fed in arbitrary pieces: it never panics, the
//! result does not depend on how the bytes were split, the end is only ever found at
//! `<CR><LF>.<CR><LF>`, and the output has no CR at all (it is stored with LF endings).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mta_core::smtp::wire::{DataDecoder, DataEvent};

fn decode(data: &[u8], piece: usize) -> (Vec<u8>, Option<DataEvent>) {
    let mut decoder = DataDecoder::default();
    let mut out = Vec::new();
    let mut offset = 0;
    for chunk in data.chunks(piece) {
        match decoder.feed(chunk, &mut out) {
            DataEvent::More => offset += chunk.len(),
            DataEvent::End { consumed } => return (out, Some(DataEvent::End { consumed: offset + consumed })),
            DataEvent::BareNewline => return (out, Some(DataEvent::BareNewline)),
        }
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else { return };
    let (whole, end) = decode(data, data.len().max(1));
    let (pieces, end_pieces) = decode(data, usize::from(split % 16) + 1);
    assert_eq!(end, end_pieces, "the outcome depends on the split");
    if end != Some(DataEvent::BareNewline) {
        assert_eq!(whole, pieces, "the message depends on the split");
    }
    assert!(!whole.contains(&b'\r'), "a CR reached the stored message");
    if let Some(DataEvent::End { consumed }) = end {
        let input = &data[..consumed];
        assert!(input.ends_with(b"\r\n.\r\n") || input == b".\r\n", "ended without CRLF.CRLF");
    }
});
