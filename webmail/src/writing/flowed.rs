//! Plain text as `format=flowed` (RFC 3676): what the user typed, with long lines
//! wrapped at spaces into soft breaks (a trailing space), so that readers that know
//! flowed text rejoin them and the others still get lines under 78 characters.

/// Longest line written (RFC 3676 §4.2 recommends 78, and at most 998).
const WIDTH: usize = 76;

/// Turns typed text (any line ends) into flowed lines joined by CRLF.
pub fn to_flowed(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 64);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push_str("\r\n");
        }
        // The signature separator keeps its space; every other line loses trailing
        // spaces, which in flowed text would mean "continued".
        let line = if line == "-- " { line } else { line.trim_end_matches(' ') };
        let (quote, rest) = split_quote(line);
        let mut rest = rest.to_string();
        // Space-stuffing: a line that starts with a space or "From " gets one more.
        if quote.is_empty() && (rest.starts_with(' ') || rest.starts_with("From ")) {
            rest.insert(0, ' ');
        }
        wrap(quote, &rest, &mut out);
    }
    out
}

/// `>>> text` → (`>>> `, `text`): the quote marks stay in front of every piece.
fn split_quote(line: &str) -> (&str, &str) {
    let depth = line.bytes().take_while(|&b| b == b'>').count();
    if depth == 0 {
        return ("", line);
    }
    let end = if line[depth..].starts_with(' ') { depth + 1 } else { depth };
    (&line[..end], &line[end..])
}

fn wrap(quote: &str, text: &str, out: &mut String) {
    let room = WIDTH.saturating_sub(quote.len()).max(20);
    let mut rest = text;
    loop {
        out.push_str(quote);
        if rest.chars().count() <= room {
            out.push_str(rest);
            return;
        }
        // The last space within the width, else the first one after it (a long word
        // stays whole rather than being cut).
        let limit = rest.char_indices().nth(room).map_or(rest.len(), |(i, _)| i);
        let cut = rest[..limit]
            .rfind(' ')
            .filter(|&i| i > 0)
            .or_else(|| rest[limit..].find(' ').map(|i| i + limit));
        match cut {
            Some(i) => {
                // The space stays at the end of the line: that is the soft break.
                out.push_str(&rest[..=i]);
                out.push_str("\r\n");
                rest = &rest[i + 1..];
            }
            None => {
                out.push_str(rest);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rejoins flowed text the way a reader does (RFC 3676 §4.2), for the round trip.
    fn unflow(text: &str) -> String {
        let mut out = String::new();
        let mut continued = false;
        for line in text.split("\r\n") {
            let (quote, rest) = split_quote(line);
            let rest = if quote.is_empty() { rest.strip_prefix(' ').unwrap_or(rest) } else { rest };
            // A continuation repeats the quote marks, which the reader drops.
            if !continued {
                out.push_str(quote);
            }
            out.push_str(rest);
            continued = line.ends_with(' ') && line != "-- ";
            if !continued {
                out.push('\n');
            }
        }
        out.pop();
        out
    }

    #[test]
    fn long_lines_wrap_softly_and_come_back_whole() {
        let para = "word ".repeat(40).trim_end().to_string();
        let typed = format!("Hello,\r\n\r\n{para}\n> {para}\n-- \nAnn");
        let flowed = to_flowed(&typed);
        for line in flowed.split("\r\n") {
            assert!(line.chars().count() <= WIDTH, "{line:?}");
        }
        assert!(flowed.contains("\r\n> word"), "quotes keep their marks: {flowed}");
        assert!(flowed.contains("\r\n-- \r\nAnn"), "signature separator kept");
        assert_eq!(unflow(&flowed), typed.replace("\r\n", "\n"));
    }

    #[test]
    fn trailing_spaces_go_and_special_lines_are_stuffed() {
        assert_eq!(to_flowed("a  \nFrom here\n leading"), "a\r\n From here\r\n  leading");
        let long = "x".repeat(200);
        assert_eq!(to_flowed(&long), long, "a word longer than a line stays whole");
    }
}
