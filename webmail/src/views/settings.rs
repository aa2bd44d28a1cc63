//! The settings page.

use maud::{Markup, html};
use mta_core::accounts::prefs::{MAX_PAGE_SIZE, MIN_PAGE_SIZE};
use mta_core::accounts::{Prefs, SortField};

use super::layout::{self, Viewer};

/// The page; `saved` after a successful save.
pub fn page(viewer: Viewer<'_>, prefs: &Prefs, saved: bool) -> Markup {
    let dir = match prefs.descending {
        None => "natural",
        Some(true) => "desc",
        Some(false) => "asc",
    };
    layout::page(
        "Settings",
        Some(viewer),
        html! {
            h1 { "Settings" }
            @if saved { p.notice role="status" { "Saved." } }
            form.settings method="post" action="/settings" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                fieldset {
                    legend { "Folder pages" }
                    label { "Messages per page "
                        input type="number" name="page_size" min=(MIN_PAGE_SIZE) max=(MAX_PAGE_SIZE) value=(prefs.page_size()) required;
                    }
                    label { "Sort by "
                        select name="sort" {
                            @for (key, label) in [(SortField::Date, "Date"), (SortField::From, "From"), (SortField::Subject, "Subject"), (SortField::Size, "Size")] {
                                option value=(key.as_str()) selected[prefs.sort == key] { (label) }
                            }
                        }
                    }
                    label { "Order "
                        select name="dir" {
                            option value="natural" selected[dir == "natural"] { "Newest and largest first, names A–Z" }
                            option value="desc" selected[dir == "desc"] { "Descending" }
                            option value="asc" selected[dir == "asc"] { "Ascending" }
                        }
                    }
                }
                button type="submit" { "Save" }
            }
        },
    )
}
