//! The settings page: one form per section (display, identity, password, vacation,
//! Trash, spam), each saved on its own.

use maud::{Markup, html};
use mta_core::accounts::prefs::{MAX_PAGE_SIZE, MAX_SIGNATURE, MAX_VACATION_TEXT, MIN_PAGE_SIZE};
use mta_core::accounts::{Prefs, SortField};
use mta_core::policy::{SpamAction, SpamPolicy};

use super::layout::{self, Viewer};

/// What the page says above the forms.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Saved (which section).
    pub saved: Option<String>,
    /// Refused, and why.
    pub error: Option<String>,
}

/// What the page shows besides the user's own settings.
#[derive(Debug, Clone, Default)]
pub struct Account {
    /// The spam policy of the user's domain, which theirs works within.
    pub domain_spam: SpamPolicy,
    /// Whether to show the way to the admin pages.
    pub admin: bool,
}

fn action_label(action: SpamAction) -> &'static str {
    match action {
        SpamAction::Reject => "refused (550 5.7.1)",
        SpamAction::Junk => "filed into Junk",
        SpamAction::Tag => "tagged in the subject",
    }
}

/// The page.
pub fn page(viewer: Viewer<'_>, prefs: &Prefs, account: &Account, outcome: &Outcome) -> Markup {
    let domain = &account.domain_spam;
    let domain_action = domain.action.unwrap_or_default();
    let dir = match prefs.descending {
        None => "natural",
        Some(true) => "desc",
        Some(false) => "asc",
    };
    let v = &prefs.vacation;
    layout::page(
        "Settings",
        Some(viewer),
        html! {
            h1 { "Settings" }
            @if account.admin { p { a href="/admin" { "Administration" } } }
            @if let Some(section) = &outcome.saved { p.notice role="status" { (section) " saved." } }
            @if let Some(error) = &outcome.error { p.error role="alert" { (error) } }
            form.settings #display method="post" action="/settings" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                fieldset {
                    legend { "Reading" }
                    label { "Messages per page "
                        input type="number" name="page_size" min=(MIN_PAGE_SIZE) max=(MAX_PAGE_SIZE) value=(prefs.page_size) required;
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
                    label.check { input type="checkbox" name="prefer_html" value="1" checked[prefs.prefer_html]; " Show the HTML version of a message when it has one (else its plain text)" }
                    label.check { input type="checkbox" name="always_show_images" value="1" checked[prefs.always_show_images]; " Load remote images without asking (they tell the sender you opened the message)" }
                }
                button type="submit" { "Save reading settings" }
            }
            form.settings #identity method="post" action="/settings/identity" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                fieldset {
                    legend { "Your name and signature" }
                    label { "Name shown with your address " input type="text" name="display_name" value=(prefs.display_name) maxlength="200"; }
                    label { "Replies go to (empty: your address) " input type="email" name="reply_to" value=(prefs.reply_to) maxlength="200"; }
                    label { "Signature " textarea name="signature" rows="4" maxlength=(MAX_SIGNATURE) { (prefs.signature) } }
                    label.check { input type="checkbox" name="reply_above" value="1" checked[prefs.reply_above]; " Write replies above the quoted message (else below it)" }
                }
                button type="submit" { "Save name and signature" }
            }
            form.settings #password method="post" action="/settings/password" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                fieldset {
                    legend { "Password" }
                    p.hint { "One password for the webmail, sending from a mail program (SMTP) and POP3. Changing it logs out every other session." }
                    label { "Current password " input type="password" name="current" autocomplete="current-password" required; }
                    label { "New password " input type="password" name="new" autocomplete="new-password" minlength="8" required; }
                    label { "New password again " input type="password" name="again" autocomplete="new-password" minlength="8" required; }
                }
                button type="submit" { "Change password" }
            }
            form.settings #vacation method="post" action="/settings/vacation" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                fieldset {
                    legend { "Away message" }
                    p.hint { "Answers each sender once a week at most; never mailing lists, automatic mail or bounces." }
                    label.check { input type="checkbox" name="enabled" value="1" checked[v.enabled]; " Answer mail automatically" }
                    label { "From (first day) " input type="date" name="from" value=(v.from); }
                    label { "Until (last day) " input type="date" name="until" value=(v.until); }
                    label { "Subject (empty: \"Auto:\" and theirs) " input type="text" name="subject" value=(v.subject) maxlength="200"; }
                    label { "Message " textarea name="body" rows="6" maxlength=(MAX_VACATION_TEXT) { (v.body) } }
                }
                button type="submit" { "Save away message" }
            }
            form.settings #trash method="post" action="/settings/trash" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                fieldset {
                    legend { "Trash" }
                    label { "Delete messages in Trash for good after (days; 0: never) "
                        input type="number" name="trash_days" min="0" max="3650" value=(prefs.trash_days) required;
                    }
                }
                button type="submit" { "Save" }
            }
            form.settings #spam method="post" action="/settings/spam" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                fieldset {
                    legend { "Spam" }
                    p.hint {
                        "Checked while the sending server is still connected. Your lists come after your domain's: "
                        "what your domain blocks stays blocked ("
                        (domain.block.len()) " " (if domain.block.len() == 1 { "entry" } else { "entries" }) ")."
                    }
                    label { "Always block (addresses or domains, one a line) "
                        textarea name="block" rows="4" { (prefs.spam.block.join("\n")) }
                    }
                    label { "Never block " textarea name="allow" rows="3" { (prefs.spam.allow.join("\n")) } }
                    @if domain.lock_action {
                        p { "Spam is " (action_label(domain_action)) ", as your domain decides." }
                        input type="hidden" name="action" value="";
                    } @else {
                        label { "Spam is "
                            select name="action" {
                                option value="" selected[prefs.spam.action.is_none()] { "as the domain decides (" (action_label(domain_action)) ")" }
                                @for action in [SpamAction::Reject, SpamAction::Junk, SpamAction::Tag] {
                                    option value=(action.as_str()) selected[prefs.spam.action == Some(action)] { (action_label(action)) }
                                }
                            }
                        }
                    }
                    label { "Subject tag (empty: the domain's, " (domain.tag()) ") "
                        input type="text" name="tag" value=(prefs.spam.tag) maxlength="40";
                    }
                }
                button type="submit" { "Save spam policy" }
            }
        },
    )
}
