//! HTML mail made safe to show: ammonia's allow-list (no script, no styles, no forms,
//! no frames, no event handlers, only http/https/mailto links), `cid:` images pointed
//! at the message's own parts, and remote images removed unless the user asked for them.
//! The page's CSP forbids script and remote loads as well: two independent walls.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The only relative URLs kept: this server's part downloads (what `cid:` becomes).
pub const PART_URL: &str = "/part?";

fn keep_part_urls(url: &str) -> Option<Cow<'_, str>> {
    url.starts_with(PART_URL).then_some(Cow::Borrowed(url))
}

/// The result of sanitising.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clean {
    /// Safe HTML to put in the page.
    pub html: String,
    /// Remote images removed (the page offers to show them).
    pub blocked_images: usize,
}

/// Sanitises `html`. `cid_url` turns a Content-ID into this server's URL of that part;
/// `remote_images` keeps `http(s)` image sources.
pub fn sanitize(
    html: &str,
    cid_url: impl Fn(&str) -> String + Send + Sync + 'static,
    remote_images: bool,
) -> Clean {
    let blocked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&blocked);
    let cleaned = ammonia::Builder::default()
        // Image maps: an <area> is a link the user cannot see; mail has no use for them.
        .rm_tags(["map", "area"])
        .url_schemes(["http", "https", "mailto", "cid"].into_iter().collect())
        // Relative URLs in mail are refused, except the part URLs written just below.
        .url_relative(ammonia::UrlRelative::Custom(Box::new(keep_part_urls)))
        .link_rel(Some("noopener noreferrer nofollow"))
        .strip_comments(true)
        .attribute_filter(move |element, attribute, value| {
            if element != "img" || attribute != "src" {
                // Links to cid: make no sense outside an img.
                if value.trim_start().to_ascii_lowercase().starts_with("cid:") {
                    return None;
                }
                return Some(Cow::Borrowed(value));
            }
            let trimmed = value.trim();
            if let Some(cid) = trimmed.strip_prefix("cid:").or_else(|| trimmed.strip_prefix("CID:"))
            {
                return Some(Cow::Owned(cid_url(cid)));
            }
            if remote_images {
                return Some(Cow::Borrowed(value));
            }
            counter.fetch_add(1, Ordering::Relaxed);
            None
        })
        .clean(html)
        .to_string();
    Clean { html: cleaned, blocked_images: blocked.load(Ordering::Relaxed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str, remote: bool) -> Clean {
        sanitize(html, |cid| format!("{PART_URL}cid={cid}"), remote)
    }

    #[test]
    fn script_styles_and_handlers_go_images_are_blocked_or_rewritten() {
        let c = clean(
            r#"<p onclick="x()">hi<script>alert(1)</script><style>p{}</style>
               <a href="javascript:alert(1)">j</a><a href="https://e.example/">ok</a>
               <img src="https://track.example/p.gif"><img src="cid:logo@x">
               <iframe src="https://e.example"></iframe><form><input></form></p>"#,
            false,
        );
        for bad in
            ["script", "onclick", "style", "javascript", "iframe", "form", "input", "track.example"]
        {
            assert!(!c.html.contains(bad), "{bad} survived: {}", c.html);
        }
        assert!(
            c.html.contains(r#"href="https://e.example/" rel="noopener noreferrer nofollow""#),
            "{}",
            c.html
        );
        assert!(c.html.contains(r#"src="/part?cid=logo@x""#), "{}", c.html);
        assert_eq!(c.blocked_images, 1);
        let shown = clean(r#"<img src="https://track.example/p.gif">"#, true);
        assert!(shown.html.contains("track.example") && shown.blocked_images == 0);
    }
}
