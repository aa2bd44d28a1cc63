//! A folder's message list, from the header index only: one page of rows, sortable,
//! searchable, paged.

use maud::{Markup, html};

use super::layout::{self, Viewer};
use super::{date, size};

/// One message of the list.
#[derive(Debug, Clone)]
pub struct Row {
    /// Its unique name (the value of its checkbox).
    pub unique: String,
    /// The link to the message.
    pub href: String,
    /// Date (Unix seconds).
    pub date: i64,
    /// Sender (or recipients in Sent and Drafts).
    pub party: String,
    /// Subject.
    pub subject: String,
    /// Bytes.
    pub size: u64,
    /// Has attachments.
    pub attachment: bool,
    /// Not seen yet.
    pub unread: bool,
    /// Flagged.
    pub flagged: bool,
    /// Answered.
    pub answered: bool,
    /// Forwarded.
    pub forwarded: bool,
}

/// A link to another view of the same folder (sort, page, search).
pub trait Link {
    /// The URL with these changes.
    fn link(&self, page: usize, sort: &str, descending: bool) -> String;
}

/// Everything the page shows.
#[derive(Debug)]
pub struct FolderPage<'a> {
    /// The folder's display name.
    pub name: &'a str,
    /// The rows of this page.
    pub rows: Vec<Row>,
    /// Messages matching (all of the folder without a search).
    pub total: usize,
    /// Unread in the folder.
    pub unread: usize,
    /// This page, from 1.
    pub page: usize,
    /// Pages in all (at least 1).
    pub pages: usize,
    /// The sort key's name.
    pub sort: &'a str,
    /// Largest first.
    pub descending: bool,
    /// The search text.
    pub query: &'a str,
    /// The search field's name.
    pub field: &'a str,
    /// The folder parameter for forms.
    pub folder_param: &'a str,
    /// "To" instead of "From" (Sent, Drafts).
    pub show_to: bool,
    /// Every checkbox ticked ("select all", without JavaScript).
    pub all_selected: bool,
    /// The link that ticks them all (or none, when all are).
    pub select_link: String,
    /// This very view (page, sort, search), where an action comes back to.
    pub here: String,
    /// Other folders, for "move to".
    pub folders: Vec<String>,
    /// This is the Trash (it can be emptied).
    pub is_trash: bool,
}

/// The page. `link` builds URLs for paging and sorting.
pub fn page(viewer: Viewer<'_>, p: &FolderPage<'_>, link: &dyn Link) -> Markup {
    // The bulk form stands on its own; the table's checkboxes join it with form="bulk",
    // so no form is nested in another.
    let sort_link = |key: &str| {
        // A click on the current key flips the direction; a new key starts descending
        // for dates and sizes, ascending for text.
        let descending = if p.sort == key { !p.descending } else { matches!(key, "date" | "size") };
        link.link(1, key, descending)
    };
    let arrow = |key: &str| {
        if p.sort != key {
            ""
        } else if p.descending {
            " ↓"
        } else {
            " ↑"
        }
    };
    let party = if p.show_to { "To" } else { "From" };
    let party_key = if p.show_to { "to" } else { "from" };
    layout::page(
        p.name,
        Some(viewer),
        html! {
            nav.crumbs { a href="/" { "Folders" } " › " strong { (p.name) } }
            h1 { (p.name) " " small { (p.total) " messages, " (p.unread) " unread" } }
            form.search method="get" action="/folder" {
                input type="hidden" name="f" value=(p.folder_param);
                select name="field" aria-label="Search in" {
                    @for (value, label) in [("any", "From, To or Subject"), ("from", "From"), ("to", "To"), ("subject", "Subject")] {
                        option value=(value) selected[p.field == value] { (label) }
                    }
                }
                input type="search" name="q" value=(p.query) placeholder="Search headers" aria-label="Search text";
                button type="submit" { "Search" }
            }
            @if p.rows.is_empty() {
                p.empty { @if p.query.is_empty() { "This folder is empty." } @else { "No message matches." } }
                @if p.is_trash && p.total > 0 {
                    form.bulk method="post" action="/folder/action" {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        input type="hidden" name="f" value=(p.folder_param);
                        button name="action" value="empty" { "Empty Trash" }
                    }
                }
            } @else {
                form #bulk .bulk method="post" action="/folder/action" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    input type="hidden" name="f" value=(p.folder_param);
                    input type="hidden" name="back" value=(p.here);
                    a href=(p.select_link) { @if p.all_selected { "Select none" } @else { "Select all" } }
                    button name="action" value="read" { "Mark read" }
                    button name="action" value="unread" { "Mark unread" }
                    button name="action" value="flag" { "Flag" }
                    button name="action" value="unflag" { "Unflag" }
                    button name="action" value="delete" { @if p.is_trash { "Delete for good" } @else { "Delete" } }
                    select name="to" aria-label="Move to folder" {
                        option value="" { "Move to…" }
                        @for f in &p.folders { option value=(f) { (f) } }
                    }
                    button name="action" value="move" { "Move" }
                    @if p.is_trash { button name="action" value="empty" { "Empty Trash" } }
                }
                table.messages {
                    thead { tr {
                        th.pick { span.visually-hidden { "Select" } }
                        th.flags { span.visually-hidden { "Marks" } }
                        th { a href=(sort_link(party_key)) { (party) (arrow(party_key)) } }
                        th { a href=(sort_link("subject")) { "Subject" (arrow("subject")) } }
                        th.date { a href=(sort_link("date")) { "Date" (arrow("date")) } }
                        th.n { a href=(sort_link("size")) { "Size" (arrow("size")) } }
                    } }
                    tbody {
                        @for r in &p.rows {
                            tr class=[r.unread.then_some("unread")] {
                                td.pick { input type="checkbox" name="m" value=(r.unique) form="bulk" checked[p.all_selected] aria-label="Select"; }
                                td.flags {
                                    @if r.unread { span.mark title="unread" { "●" } }
                                    @if r.flagged { span.mark title="flagged" { "★" } }
                                    @if r.answered { span.mark title="answered" { "↩" } }
                                    @if r.forwarded { span.mark title="forwarded" { "→" } }
                                    @if r.attachment { img.mark src="/static/attachment.svg" alt="📎" title="has attachments" width="14" height="14"; }
                                }
                                td.party { (r.party) }
                                td.subject { a href=(r.href) { @if r.subject.is_empty() { "(no subject)" } @else { (r.subject) } } }
                                td.date { (date(r.date)) }
                                td.n { (size(r.size)) }
                            }
                        }
                    }
                }
            }
            @if p.pages > 1 {
                nav.pages aria-label="Pages" {
                    @if p.page > 1 {
                        a href=(link.link(1, p.sort, p.descending)) { "« First" }
                        a href=(link.link(p.page - 1, p.sort, p.descending)) rel="prev" { "‹ Previous" }
                    }
                    span { "Page " (p.page) " of " (p.pages) }
                    @if p.page < p.pages {
                        a href=(link.link(p.page + 1, p.sort, p.descending)) rel="next" { "Next ›" }
                        a href=(link.link(p.pages, p.sort, p.descending)) { "Last »" }
                    }
                    form.jump method="get" action="/folder" {
                        input type="hidden" name="f" value=(p.folder_param);
                        input type="hidden" name="sort" value=(p.sort);
                        input type="hidden" name="dir" value=(if p.descending { "desc" } else { "asc" });
                        @if !p.query.is_empty() {
                            input type="hidden" name="q" value=(p.query);
                            input type="hidden" name="field" value=(p.field);
                        }
                        input type="number" name="page" min="1" max=(p.pages) value=(p.page) aria-label="Page number";
                        button type="submit" { "Go" }
                    }
                }
            }
        },
    )
}
