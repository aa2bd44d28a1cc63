//! Bytes to SMTP units, sans-IO: the bound of command lines (split by
//! [`crate::conn::LineBuffer`]) and the message of DATA ([`DataDecoder`]), bounded and
//! fed whatever the socket delivered.
//!
//! DATA ends only at `<CR><LF>.<CR><LF>`. A CR not followed by LF, or an LF not preceded
//! by CR, anywhere in the message is refused: that is how SMTP smuggling is stopped
//! (every published fake end-of-data sequence contains one of the two), and a message
//! that needs them is not valid SMTP anyway (RFC 5321 §2.3.8).

use memchr::memchr2;

/// Longest command line accepted, CRLF included (RFC 5321 says 512; extensions and
/// AUTH initial responses need more; RFC 4954 allows 12,288 for AUTH).
pub const MAX_LINE: usize = 12_288;

/// What feeding DATA bytes led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataEvent {
    /// All bytes consumed; more are needed.
    More,
    /// The end-of-data line was seen; bytes after `consumed` belong to the next command.
    End {
        /// Bytes of this feed that belonged to the message (and its end marker).
        consumed: usize,
    },
    /// A bare CR or bare LF: the message is refused and the session must end.
    BareNewline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line.
    LineStart,
    /// Inside a line.
    InLine,
    /// Just after a CR (an LF must follow).
    AfterCr,
    /// A line that began with a dot: the dot was dropped (unstuffed), unless CRLF follows.
    AfterDot,
    /// After `.` and CR at the start of a line: LF ends the message.
    AfterDotCr,
}

/// Decodes the message of a DATA command: removes dot-stuffing, turns CRLF into LF (how
/// Maildirs store messages), counts bytes and `Received:` header lines (hops).
#[derive(Debug)]
pub struct DataDecoder {
    state: State,
    /// Still in the header block (no empty line seen yet).
    in_header: bool,
    /// The first bytes of the current line, to recognise `Received:`.
    prefix: Vec<u8>,
    /// `Received:` lines seen in the header block.
    pub hops: usize,
    /// Bytes of decoded message produced so far.
    pub size: u64,
}

impl Default for DataDecoder {
    fn default() -> Self {
        DataDecoder {
            state: State::LineStart,
            in_header: true,
            prefix: Vec::with_capacity(9),
            hops: 0,
            size: 0,
        }
    }
}

const RECEIVED: &[u8] = b"received:";

impl DataDecoder {
    /// Feeds bytes; decoded message bytes are appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> DataEvent {
        let start_len = out.len();
        let mut i = 0;
        let result = loop {
            if i >= bytes.len() {
                break DataEvent::More;
            }
            match self.state {
                State::InLine => {
                    // Copy the run of ordinary bytes at once.
                    let run = memchr2(b'\r', b'\n', &bytes[i..]).unwrap_or(bytes.len() - i);
                    self.line_bytes(&bytes[i..i + run], out);
                    i += run;
                    if i < bytes.len() {
                        if bytes[i] == b'\n' {
                            break DataEvent::BareNewline;
                        }
                        self.state = State::AfterCr;
                        i += 1;
                    }
                }
                State::LineStart => match bytes[i] {
                    b'.' => {
                        self.state = State::AfterDot;
                        i += 1;
                    }
                    b'\r' => {
                        self.state = State::AfterCr;
                        i += 1;
                    }
                    b'\n' => break DataEvent::BareNewline,
                    _ => self.state = State::InLine,
                },
                State::AfterCr => {
                    if bytes[i] != b'\n' {
                        break DataEvent::BareNewline;
                    }
                    i += 1;
                    self.end_line(out);
                }
                State::AfterDot => match bytes[i] {
                    b'\r' => {
                        self.state = State::AfterDotCr;
                        i += 1;
                    }
                    b'\n' => break DataEvent::BareNewline,
                    _ => self.state = State::InLine,
                },
                State::AfterDotCr => {
                    if bytes[i] != b'\n' {
                        break DataEvent::BareNewline;
                    }
                    break DataEvent::End { consumed: i + 1 };
                }
            }
        };
        self.size += (out.len() - start_len) as u64;
        result
    }

    fn line_bytes(&mut self, run: &[u8], out: &mut Vec<u8>) {
        if self.in_header && self.prefix.len() < RECEIVED.len() {
            let take = run.len().min(RECEIVED.len() - self.prefix.len());
            self.prefix.extend_from_slice(&run[..take]);
        }
        out.extend_from_slice(run);
    }

    fn end_line(&mut self, out: &mut Vec<u8>) {
        if self.in_header {
            if self.prefix.is_empty() {
                self.in_header = false;
            } else if self.prefix.eq_ignore_ascii_case(RECEIVED) {
                self.hops += 1;
            }
            self.prefix.clear();
        }
        out.push(b'\n');
        self.state = State::LineStart;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(input: &[u8], piece: usize) -> (Vec<u8>, DataEvent, usize) {
        let mut d = DataDecoder::default();
        let mut out = Vec::new();
        let mut offset = 0;
        for chunk in input.chunks(piece.max(1)) {
            match d.feed(chunk, &mut out) {
                DataEvent::More => offset += chunk.len(),
                DataEvent::End { consumed } => {
                    return (out, DataEvent::End { consumed: offset + consumed }, d.hops);
                }
                DataEvent::BareNewline => return (out, DataEvent::BareNewline, d.hops),
            }
        }
        (out, DataEvent::More, d.hops)
    }

    #[test]
    fn unstuffs_converts_counts_hops_and_stops_at_the_end_in_any_split() {
        let input = b"Received: a\r\nreceived: b\r\nSubject: x\r\n\r\nReceived: not a header\r\n..dot\r\n.\r\nQUIT\r\n";
        for piece in 1..input.len() {
            let (out, event, hops) = decode_in_pieces(input, piece);
            assert_eq!(
                out, b"Received: a\nreceived: b\nSubject: x\n\nReceived: not a header\n.dot\n",
                "piece {piece}"
            );
            assert_eq!(event, DataEvent::End { consumed: input.len() - 6 }, "piece {piece}");
            assert_eq!(hops, 2);
        }
    }

    #[test]
    fn every_fake_end_of_data_is_refused() {
        // The published smuggling sequences (SEC Consult 2023, and the variants that
        // followed), each followed by a second transaction.
        let fakes: [&[u8]; 10] = [
            b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r", b"\r\n.\n", b"\r.\r\n", b"\r.\n", b"\n.\r",
            b"\r", b"\n",
        ];
        for fake in fakes {
            let mut input = b"Subject: x\r\n\r\nbody".to_vec();
            input.extend_from_slice(fake);
            input.extend_from_slice(
                b"MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nsmuggled\r\n.\r\n",
            );
            for piece in [1, 3, input.len()] {
                let (_, event, _) = decode_in_pieces(&input, piece);
                assert_eq!(event, DataEvent::BareNewline, "{fake:?} in pieces of {piece}");
            }
        }
    }
}
