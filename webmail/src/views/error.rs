//! The error page: status, what happened, a way back.

use maud::{Markup, html};

use super::layout;

/// An error page for `status`.
pub fn page(status: u16, title: &str, message: &str) -> Markup {
    layout::page(
        title,
        None,
        html! {
            h1 { (status) " " (title) }
            p.error { (message) }
            p { a href="/" { "Back to your folders" } }
        },
    )
}
