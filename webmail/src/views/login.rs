//! The login page.

use maud::{Markup, html};

use super::layout;

/// What the login page says above the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Nothing.
    None,
    /// The last attempt failed.
    Failed,
    /// The session ended (timeout, logout elsewhere).
    Expired,
    /// The session is bound to another address.
    Address,
    /// Logged out.
    LoggedOut,
}

/// The form. `token` is the login form's CSRF token (also in its cookie).
pub fn page(notice: Notice, token: &str, user: &str) -> Markup {
    let message = match notice {
        Notice::None => None,
        Notice::Failed => Some("Wrong address or password."),
        Notice::Expired => Some("Your session has ended. Please log in again."),
        Notice::Address => {
            Some("Your session is bound to another network address. Please log in again.")
        }
        Notice::LoggedOut => Some("You have logged out."),
    };
    layout::page(
        "Log in",
        None,
        html! {
            h1 { "Log in" }
            @if let Some(message) = message {
                p.notice role="status" { (message) }
            }
            form.login method="post" action="/login" {
                input type="hidden" name="csrf" value=(token);
                label { "Address" input type="email" name="user" value=(user) autocomplete="username" required autofocus; }
                label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                label.check { input type="checkbox" name="public" value="1"; " Public computer (log out after 5 idle minutes)" }
                label.check { input type="checkbox" name="bind" value="1"; " Bind the session to my network address" }
                button type="submit" { "Log in" }
            }
        },
    )
}
