//! Modified UTF-7 (RFC 3501 §5.1.3): how Courier and Dovecot name folders on disk.
//!
//! Printable ASCII (0x20–0x7e) stands for itself except `&`, written `&-`. Any other run of
//! characters is UTF-16BE, base64-encoded with `,` for `/` and no padding, between `&`
//! and `-`. Decoding is strict: a name that another program could not have produced
//! (padding, a base64 run that encodes ASCII, a lone surrogate, trailing bits) is an
//! error, so every valid name has exactly one spelling and round-trips.

use base64::Engine as _;
use base64::alphabet::Alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Why a modified UTF-7 string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A byte outside printable ASCII appears unencoded.
    #[error("raw byte outside printable ASCII")]
    RawByte,
    /// `&` without a closing `-`.
    #[error("unterminated &…- run")]
    Unterminated,
    /// The run is not valid modified base64 or not a whole number of UTF-16 units.
    #[error("invalid base64 in a &…- run")]
    Base64,
    /// The UTF-16 is invalid (a lone surrogate).
    #[error("invalid UTF-16 in a &…- run")]
    Utf16,
    /// The run encodes something that must be written directly (printable ASCII), or two
    /// runs follow each other: not the one spelling an encoder produces.
    #[error("non-canonical encoding")]
    NonCanonical,
}

fn engine() -> GeneralPurpose {
    // The alphabet is a fixed, valid constant: 64 distinct printable characters.
    #[allow(clippy::unwrap_used)]
    let alphabet =
        Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").unwrap();
    GeneralPurpose::new(
        &alphabet,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(false),
    )
}

fn is_direct(c: char) -> bool {
    (' '..='~').contains(&c)
}

/// Encodes a Unicode name.
pub fn encode(name: &str) -> String {
    let engine = engine();
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if !pending.is_empty() {
            let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
            out.push('&');
            out.push_str(&engine.encode(bytes));
            out.push('-');
            pending.clear();
        }
    };
    for c in name.chars() {
        if is_direct(c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Decodes a name, refusing anything that is not the canonical encoding of some string.
pub fn decode(encoded: &str) -> Result<String, DecodeError> {
    let engine = engine();
    let mut out = String::with_capacity(encoded.len());
    let mut rest = encoded;
    let mut last_was_run = false;
    while let Some(pos) = rest.find(|c: char| c == '&' || !is_direct(c)) {
        let (direct, tail) = rest.split_at(pos);
        if !direct.is_empty() {
            last_was_run = false;
        }
        out.push_str(direct);
        let tail = tail.strip_prefix('&').ok_or(DecodeError::RawByte)?;
        let end = tail.find('-').ok_or(DecodeError::Unterminated)?;
        let run = &tail[..end];
        rest = &tail[end + 1..];
        if run.is_empty() {
            out.push('&');
            last_was_run = false;
            continue;
        }
        if last_was_run {
            return Err(DecodeError::NonCanonical);
        }
        let bytes = engine.decode(run).map_err(|_| DecodeError::Base64)?;
        if bytes.len() % 2 != 0 {
            return Err(DecodeError::Base64);
        }
        let units = bytes.chunks_exact(2).map(|p| u16::from_be_bytes([p[0], p[1]]));
        for c in char::decode_utf16(units) {
            let c = c.map_err(|_| DecodeError::Utf16)?;
            if is_direct(c) {
                return Err(DecodeError::NonCanonical);
            }
            out.push(c);
        }
        last_was_run = true;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_spellings() {
        // RFC 3501's example and what Courier/Dovecot write for common folder names.
        assert_eq!(encode("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode("Отправленные"), "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-");
        assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(encode("😀"), "&2D3eAA-");
        assert_eq!(decode("Entw&APw-rfe").as_deref(), Ok("Entwürfe"));
        assert_eq!(decode("&2D3eAA-").as_deref(), Ok("😀"));
        assert_eq!(decode("Tom &- Jerry").as_deref(), Ok("Tom & Jerry"));
    }

    #[test]
    fn refuses_what_no_encoder_writes() {
        assert_eq!(decode("a&APw"), Err(DecodeError::Unterminated));
        assert_eq!(decode("a&A!w-"), Err(DecodeError::Base64));
        assert_eq!(decode("a&APw=-"), Err(DecodeError::Base64));
        assert_eq!(decode("&AGE-"), Err(DecodeError::NonCanonical)); // "a" encoded
        assert_eq!(decode("&APw-&APw-"), Err(DecodeError::NonCanonical)); // split run
        assert_eq!(decode("&2D0-"), Err(DecodeError::Utf16)); // lone high surrogate
        assert_eq!(decode("caf\u{e9}"), Err(DecodeError::RawByte));
        assert_eq!(decode("a\tb"), Err(DecodeError::RawByte));
    }

    proptest! {
        #[test]
        fn round_trips(s in "\\PC*") {
            let encoded = encode(&s);
            prop_assert!(encoded.chars().all(is_direct));
            prop_assert_eq!(decode(&encoded), Ok(s));
        }

        #[test]
        fn decode_never_panics_and_is_canonical(s in "[ -~]{0,40}") {
            if let Ok(decoded) = decode(&s) {
                prop_assert_eq!(encode(&decoded), s);
            }
        }
    }
}
