//! Plain-text bodies made readable: format=flowed (RFC 3676) reflowed, links made
//! clickable, everything else escaped.

use maud::{Markup, html};

/// Undoes format=flowed (RFC 3676 §4): a line ending in a space continues on the next
/// line of the same quote depth, whose quote marks are then dropped; a leading space is
/// stuffing; with DelSp=yes the trailing space is removed too. The signature separator
/// `-- ` is never joined.
pub fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // The quote depth of the paragraph being joined, if the last line was soft.
    let mut joining: Option<usize> = None;
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let depth = line.bytes().take_while(|&b| b == b'>').count();
        let content = &line[depth..];
        let content = content.strip_prefix(' ').unwrap_or(content);
        let soft = content.ends_with(' ') && content != "-- ";
        let piece = if soft && delsp { &content[..content.len() - 1] } else { content };
        if joining != Some(depth) {
            // A new line (a different depth also ends a paragraph).
            if !out.is_empty() {
                out.push('\n');
            }
            if depth > 0 {
                out.push_str(&">".repeat(depth));
                out.push(' ');
            }
        }
        out.push_str(piece);
        joining = soft.then_some(depth);
    }
    out
}

/// The body as HTML: escaped text with `http(s)://` and `mailto:` links made clickable.
pub fn to_html(text: &str) -> Markup {
    html! {
        div.text {
            @for (n, line) in text.lines().enumerate() {
                @if n > 0 { br; }
                @for (is_link, piece) in split_links(line) {
                    @if is_link {
                        a href=(piece) rel="noopener noreferrer nofollow" { (piece) }
                    } @else {
                        (piece)
                    }
                }
            }
        }
    }
}

/// Splits a line into text and link pieces.
fn split_links(line: &str) -> Vec<(bool, &str)> {
    let mut pieces = Vec::new();
    let mut rest = line;
    while let Some(start) =
        ["https://", "http://", "mailto:"].iter().filter_map(|p| rest.find(p)).min()
    {
        let tail = &rest[start..];
        let mut end =
            tail.find(|c: char| c.is_whitespace() || "<>\"'".contains(c)).unwrap_or(tail.len());
        // Trailing punctuation belongs to the sentence, not the link.
        while end > 0 && tail[..end].ends_with(['.', ',', ')', ';', ':', '!', '?']) {
            end -= 1;
        }
        let link = &tail[..end];
        if !link.contains(|c: char| c.is_alphanumeric())
            || link.ends_with("//")
            || link.ends_with(':')
        {
            // A bare scheme: text. Step past its first (ASCII) byte and look again.
            pieces.push((false, &rest[..start + 1]));
            rest = &rest[start + 1..];
            continue;
        }
        if start > 0 {
            pieces.push((false, &rest[..start]));
        }
        pieces.push((true, link));
        rest = &tail[end..];
    }
    if !rest.is_empty() {
        pieces.push((false, rest));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flowed_text_is_reflowed() {
        assert_eq!(unflow("one \r\ntwo\r\n\r\nthree", false), "one two\n\nthree");
        assert_eq!(unflow("one \ntwo", true), "onetwo");
        assert_eq!(unflow(" From here\n-- \nsig", false), "From here\n-- \nsig");
        // Quoted paragraphs join without their repeated marks; a new depth starts anew.
        assert_eq!(
            unflow("> one \r\n> two\r\n>> deeper \r\n>> still\r\n> back", false),
            "> one two\n>> deeper still\n> back"
        );
        assert_eq!(unflow("> soft \r\nplain", false), "> soft \nplain");
    }

    #[test]
    fn links_are_clickable_and_the_rest_escaped() {
        let html = to_html("see https://example.org/a?b=1&c=2. or <b>mailto:x@example.org</b>")
            .into_string();
        assert!(
            html.contains(
                r#"<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">"#
            ),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;"), "{html}");
        assert!(html.contains(r#"<a href="mailto:x@example.org""#), "{html}");
        assert!(!to_html("javascript:alert(1)").into_string().contains("<a"));
        assert!(
            !to_html("http:// nothing").into_string().contains("<a"),
            "a bare scheme is no link"
        );
    }
}
