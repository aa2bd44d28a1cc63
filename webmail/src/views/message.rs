//! The message page, headers first: From, To, Cc, Date, Subject, then the list of parts
//! with their sizes, then the body (text, or sanitised HTML). Nothing else of the message
//! is sent until asked for.

use maud::{Markup, PreEscaped, html};

use super::layout::{self, Viewer};
use super::size;
use crate::reading::parts::PartInfo;

/// The body shown.
#[derive(Debug, Clone)]
pub enum Body {
    /// Plain text, already turned into safe HTML.
    Text(Markup),
    /// HTML, sanitised by ammonia.
    Html {
        /// The sanitised HTML.
        html: String,
        /// Remote images removed.
        blocked_images: usize,
    },
    /// No text part at all.
    None,
}

/// Everything the page shows.
#[derive(Debug)]
pub struct MessagePage<'a> {
    /// The folder's name.
    pub folder: &'a str,
    /// The header fields to show, in order (name, value).
    pub headers: Vec<(&'static str, String)>,
    /// Every header line, when the full headers were asked for.
    pub all_headers: Option<Vec<(String, String)>>,
    /// The subject (for the title).
    pub subject: String,
    /// The parts.
    pub parts: Vec<PartInfo>,
    /// The body.
    pub body: Body,
    /// URLs of the page's links.
    pub links: Links,
    /// Other folders, for "move to".
    pub folders: Vec<String>,
    /// The form fields naming this message.
    pub ids: (String, String),
    /// The sender's name and address, for "add to the address book".
    pub sender: Option<(String, String)>,
    /// This page's own link (to come back to after adding the sender).
    pub here: String,
    /// What an action just did.
    pub notice: Option<String>,
}

/// The links of a message page.
#[derive(Debug, Default)]
pub struct Links {
    /// The folder.
    pub back: String,
    /// Previous and next message in the folder's order.
    pub previous: Option<String>,
    /// Next.
    pub next: Option<String>,
    /// The same page with all header lines.
    pub full_headers: String,
    /// The raw source.
    pub raw: String,
    /// The same page with remote images shown.
    pub show_images: String,
    /// The other body (text ↔ HTML), if there is one.
    pub other_body: Option<(String, &'static str)>,
    /// One per part, by part id.
    pub parts: Vec<(usize, String)>,
    /// Reply, reply to all, reply to the list (when the message has a List-Post),
    /// forward inline, forward as an attachment: label and link.
    pub write: Vec<(&'static str, String)>,
}

/// The page.
pub fn page(viewer: Viewer<'_>, p: &MessagePage<'_>) -> Markup {
    let title = if p.subject.is_empty() { "(no subject)" } else { p.subject.as_str() };
    layout::page(
        title,
        Some(viewer),
        html! {
            nav.crumbs {
                a href="/" { "Folders" } " › " a href=(p.links.back) { (p.folder) }
                @if let Some(prev) = &p.links.previous { " · " a href=(prev) rel="prev" { "‹ Previous" } }
                @if let Some(next) = &p.links.next { " · " a href=(next) rel="next" { "Next ›" } }
            }
            h1.subject { (title) }
            @if let Some(notice) = &p.notice { p.notice role="status" { (notice) } }
            table.headers {
                @for (name, value) in &p.headers {
                    tr {
                        th { (name) }
                        td {
                            (value)
                            @if *name == "From" && let Some((sender_name, address)) = &p.sender {
                                form.quick-add method="post" action="/addressbook/quick-add" {
                                    input type="hidden" name="csrf" value=(viewer.csrf);
                                    input type="hidden" name="name" value=(sender_name);
                                    input type="hidden" name="address" value=(address);
                                    input type="hidden" name="back" value=(p.here);
                                    button type="submit" { "Add to contacts" }
                                }
                            }
                        }
                    }
                }
            }
            form.actions method="post" action="/message/action" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="f" value=(p.ids.0);
                input type="hidden" name="m" value=(p.ids.1);
                button name="action" value="unread" { "Mark unread" }
                button name="action" value="flag" { "Flag" }
                button name="action" value="delete" { "Delete" }
                select name="to" aria-label="Move to folder" {
                    option value="" { "Move to…" }
                    @for f in &p.folders { option value=(f) { (f) } }
                }
                button name="action" value="move" { "Move" }
            }
            @if !p.links.write.is_empty() {
                nav.write aria-label="Answer" {
                    @for (label, href) in &p.links.write { a href=(href) { (label) } }
                }
            }
            p.more {
                a href=(p.links.full_headers) { "All headers" } " · "
                a href=(p.links.raw) { "Raw source" }
                @if let Some((href, label)) = &p.links.other_body { " · " a href=(href) { (label) } }
            }
            @if let Some(all) = &p.all_headers {
                table.headers.all {
                    @for (name, value) in all { tr { th { (name) } td { (value) } } }
                }
            }
            @let attachments: Vec<&PartInfo> = p.parts.iter().filter(|x| !x.is_body).collect();
            @if !attachments.is_empty() {
                section.parts {
                    h2 { "Parts" }
                    ul {
                        @for part in attachments {
                            li {
                                @if let Some((_, href)) = p.links.parts.iter().find(|(id, _)| *id == part.id) {
                                    a href=(href) download { (crate::reading::parts::file_name(part)) }
                                }
                                " " span.mime { (part.mime) } " " span.size { (size(part.size as u64)) }
                            }
                        }
                    }
                }
            }
            @match &p.body {
                Body::Text(markup) => { article.body { (markup) } }
                Body::Html { html, blocked_images } => {
                    @if *blocked_images > 0 {
                        p.notice { (blocked_images) " remote images were not loaded. " a href=(p.links.show_images) { "Show remote images" } }
                    }
                    // XSS-safety: `html` is ammonia's output (allow-listed tags and
                    // attributes, no script, no event handlers, only http/https/mailto/cid
                    // URLs), and the page's CSP forbids script on top of that.
                    article.body.html { (PreEscaped(html)) }
                }
                Body::None => { p.empty { "This message has no text; see its parts above." } }
            }
        },
    )
}
