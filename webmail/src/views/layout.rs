//! The frame of every page: head, the bar with the user and logout, the body.

use maud::{DOCTYPE, Markup, html};

/// Who is looking, for the bar (and the CSRF token of the logout form).
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The logged-in address.
    pub user: &'a str,
    /// This response's masked CSRF token.
    pub csrf: &'a str,
}

/// A whole page.
pub fn page(title: &str, viewer: Option<Viewer<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Mailroom" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                header.bar {
                    a.brand href="/" { "Mailroom" }
                    @if let Some(v) = viewer {
                        a href="/compose" { "Write" }
                        a href="/addressbook" { "Contacts" }
                        span.user { (v.user) }
                        a href="/settings" { "Settings" }
                        form.logout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(v.csrf);
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}
