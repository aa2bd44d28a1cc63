//! The compose page: one form (multipart, so files can come along) that sends, saves a
//! draft, attaches and removes attachments, without JavaScript.

use maud::{Markup, html};

use super::layout::{self, Viewer};
use super::size;
use crate::writing::spool::State;

/// Everything the page shows.
#[derive(Debug)]
pub struct ComposePage<'a> {
    /// The spool id.
    pub id: &'a str,
    /// The fields.
    pub state: &'a State,
    /// The addresses the user may send from.
    pub from_options: Vec<String>,
    /// Why the last action failed.
    pub error: Option<String>,
    /// What the last action did.
    pub notice: Option<String>,
    /// Largest attachment, and all of them together, in bytes.
    pub limits: (u64, u64),
    /// Address book entries, offered as one types (a datalist: no script).
    pub suggestions: Vec<String>,
}

/// The page.
pub fn page(viewer: Viewer<'_>, p: &ComposePage<'_>) -> Markup {
    let s = p.state;
    let title = if s.subject.trim().is_empty() { "New message" } else { s.subject.as_str() };
    layout::page(
        title,
        Some(viewer),
        html! {
            nav.crumbs { a href="/" { "Folders" } " › " strong { "Write" } }
            @if let Some(error) = &p.error { p.error role="alert" { (error) } }
            @if let Some(notice) = &p.notice { p.notice role="status" { (notice) } }
            form.compose method="post" action="/compose" enctype="multipart/form-data" {
                // The CSRF token and the spool come first: they are checked before any
                // file is read.
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="c" value=(p.id);
                // Enter in a one-line field saves rather than sends.
                button.visually-hidden type="submit" name="action" value="save" tabindex="-1" aria-hidden="true" { "Save" }
                label { span { "From" }
                    select name="from" {
                        @for option in &p.from_options {
                            option value=(option) selected[*option == s.from] { (option) }
                        }
                    }
                }
                label { span { "To" }
                    span.recipients {
                        input type="text" name="to" value=(s.to) autocomplete="off" spellcheck="false" list="contacts";
                        button type="submit" name="action" value="pick-to" title="Choose from the address book" { "…" }
                    }
                }
                label { span { "Cc" }
                    span.recipients {
                        input type="text" name="cc" value=(s.cc) autocomplete="off" spellcheck="false" list="contacts";
                        button type="submit" name="action" value="pick-cc" title="Choose from the address book" { "…" }
                    }
                }
                label { span { "Bcc" }
                    span.recipients {
                        input type="text" name="bcc" value=(s.bcc) autocomplete="off" spellcheck="false" list="contacts";
                        button type="submit" name="action" value="pick-bcc" title="Choose from the address book" { "…" }
                    }
                }
                label { span { "Subject" } input type="text" name="subject" value=(s.subject) maxlength="900"; }
                datalist #contacts { @for s in &p.suggestions { option value=(s) {} } }
                label.body { span.visually-hidden { "Message" } textarea name="body" rows="18" { (s.body) } }
                @if !s.attachments.is_empty() {
                    ul.attachments {
                        @for (n, a) in s.attachments.iter().enumerate() {
                            li {
                                (a.name) " " span.size { (size(a.size)) } " "
                                button type="submit" name="action" value=(format!("remove-{n}")) { "Remove" }
                            }
                        }
                    }
                }
                label.files { span { "Attach" }
                    span {
                        input type="file" name="file" multiple;
                        " " small { "up to " (size(p.limits.0)) " each, " (size(p.limits.1)) " in all" }
                    }
                }
                div.buttons {
                    button.primary type="submit" name="action" value="send" { "Send" }
                    button type="submit" name="action" value="save" { "Save draft" }
                    button type="submit" name="action" value="attach" { "Attach" }
                    button type="submit" name="action" value="discard" { "Discard" }
                }
            }
        },
    )
}
