//! The folder list: every folder with total and unread counts, and quota use.

use maud::{Markup, html};

use super::layout::{self, Viewer};
use super::size;

/// One folder of the list.
#[derive(Debug, Clone)]
pub struct FolderRow {
    /// Its name (`Work/Projects`).
    pub name: String,
    /// The link to it.
    pub href: String,
    /// Messages.
    pub total: u64,
    /// Unread messages.
    pub unread: u64,
    /// Bytes.
    pub bytes: u64,
}

/// The page.
pub fn page(
    viewer: Viewer<'_>,
    folders: &[FolderRow],
    quota: Option<(u64, u64)>,
    notices: &[String],
) -> Markup {
    layout::page(
        "Folders",
        Some(viewer),
        html! {
            @for notice in notices { p.notice role="status" { (notice) } }
            h1 { "Folders" }
            @if let Some((used, limit)) = quota {
                p.quota { "Using " (size(used)) " of " (size(limit)) " (" (used * 100 / limit.max(1)) "%)" }
            }
            table.folders {
                thead { tr { th { "Folder" } th.n { "Messages" } th.n { "Unread" } th.n { "Size" } } }
                tbody {
                    @for f in folders {
                        tr.unread[f.unread > 0] {
                            td { a href=(f.href) { (f.name) } }
                            td.n { (f.total) }
                            td.n { @if f.unread > 0 { strong { (f.unread) } } @else { "0" } }
                            td.n { (size(f.bytes)) }
                        }
                    }
                }
            }
        },
    )
}
