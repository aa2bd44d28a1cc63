//! The address book pages: the list with search, a contact or group to edit, the
//! import report, and the recipient picker of the compose page.

use maud::{Markup, html};

use super::layout::{self, Viewer};
use crate::addressbook::{Card, Report};

/// The list page.
pub fn list(
    viewer: Viewer<'_>,
    cards: &[&Card],
    query: &str,
    total: usize,
    notice: Option<&str>,
) -> Markup {
    let (groups, contacts): (Vec<&&Card>, Vec<&&Card>) = cards.iter().partition(|c| c.is_group());
    layout::page(
        "Address book",
        Some(viewer),
        html! {
            nav.crumbs { a href="/" { "Folders" } " › " strong { "Address book" } }
            h1 { "Address book " small { (total) " cards" } }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            form.search method="get" action="/addressbook" {
                input type="search" name="q" value=(query) placeholder="Name, address or phone" aria-label="Search";
                button type="submit" { "Search" }
                a href="/addressbook/edit?new=contact" { "New contact" }
                a href="/addressbook/edit?new=group" { "New group" }
            }
            @if cards.is_empty() {
                p.empty { @if query.is_empty() { "No contacts yet." } @else { "No card matches." } }
            }
            @if !contacts.is_empty() {
                table.contacts {
                    thead { tr { th { "Name" } th { "Addresses" } th { "Phones" } th { } } }
                    tbody {
                        @for c in &contacts {
                            tr {
                                td { (c.label()) @for n in c.nicknames() { " " span.nick { "(" (n) ")" } } }
                                td { @for e in c.emails() { a href=(format!("/compose?{}", crate::routes::folder::encode(&[("to", &format!("{} <{e}>", c.name()))]))) { (e) } br; } }
                                td { @for p in c.phones() { (p) br; } }
                                td { a href=(format!("/addressbook/edit?{}", crate::routes::folder::encode(&[("id", &c.uid())]))) { "Edit" } }
                            }
                        }
                    }
                }
            }
            @if !groups.is_empty() {
                h2 { "Groups" }
                ul.groups {
                    @for g in &groups {
                        li {
                            a href=(format!("/addressbook/edit?{}", crate::routes::folder::encode(&[("id", &g.uid())]))) { (g.label()) }
                            @for n in g.nicknames() { " " span.nick { "(" (n) ")" } }
                            " — " (g.members().len()) " members"
                        }
                    }
                }
            }
            h2 { "Import and export" }
            form.import method="post" action="/addressbook/import" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label { "vCard (.vcf) or CSV from Apple, Google, Thunderbird or Outlook "
                    input type="file" name="file" accept=".vcf,.vcard,.csv,text/vcard,text/csv" required;
                }
                button type="submit" { "Import" }
            }
            p { a href="/addressbook/export.vcf" download { "Export as vCard" } " · " a href="/addressbook/export.csv" download { "Export as CSV" } }
        },
    )
}

/// What the edit form shows (typed values come back after a refusal).
#[derive(Debug, Clone, Default)]
pub struct EditForm {
    /// The card's UID; empty for a new one.
    pub id: String,
    /// A group rather than a contact.
    pub group: bool,
    /// Name.
    pub name: String,
    /// Nicknames, comma-separated.
    pub nicknames: String,
    /// Addresses (a group's members), one a line.
    pub emails: String,
    /// Phones, one a line.
    pub phones: String,
    /// Note.
    pub note: String,
}

/// The edit page.
pub fn edit(viewer: Viewer<'_>, form: &EditForm, error: Option<&str>) -> Markup {
    let what = if form.group { "group" } else { "contact" };
    let title = if form.id.is_empty() { format!("New {what}") } else { form.name.clone() };
    layout::page(
        &title,
        Some(viewer),
        html! {
            nav.crumbs { a href="/addressbook" { "Address book" } " › " strong { (title) } }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form.settings method="post" action="/addressbook/save" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="id" value=(form.id);
                input type="hidden" name="kind" value=(what);
                fieldset {
                    legend { (title) }
                    label { "Name " input type="text" name="name" value=(form.name) maxlength="200"; }
                    label { "Nicknames (use one as a recipient) " input type="text" name="nicknames" value=(form.nicknames) maxlength="200"; }
                    @if form.group {
                        label { "Members, one address a line " textarea name="emails" rows="8" { (form.emails) } }
                    } @else {
                        label { "Addresses, one a line " textarea name="emails" rows="3" { (form.emails) } }
                        label { "Phones, one a line " textarea name="phones" rows="2" { (form.phones) } }
                        label { "Note " textarea name="note" rows="3" { (form.note) } }
                    }
                }
                button type="submit" { "Save" }
            }
            @if !form.id.is_empty() {
                form.delete method="post" action="/addressbook/delete" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    input type="hidden" name="id" value=(form.id);
                    button type="submit" { "Delete this " (what) }
                }
            }
        },
    )
}

/// The import report.
pub fn imported(viewer: Viewer<'_>, report: &Report) -> Markup {
    layout::page(
        "Import",
        Some(viewer),
        html! {
            nav.crumbs { a href="/addressbook" { "Address book" } " › " strong { "Import" } }
            h1 { "Import" }
            p.notice role="status" { (report.added) " cards added." }
            @if !report.skipped.is_empty() {
                h2 { "Not imported" }
                ul.report { @for s in &report.skipped { li { (s) } } }
            }
            p { a href="/addressbook" { "Back to the address book" } }
        },
    )
}

/// The recipient picker of a message being written.
pub fn picker(
    viewer: Viewer<'_>,
    spool: &str,
    field: &str,
    choices: &[(String, String)],
) -> Markup {
    layout::page(
        "Choose recipients",
        Some(viewer),
        html! {
            nav.crumbs { a href=(format!("/compose?c={spool}")) { "Back to the message" } }
            h1 { "Add to " (field.to_uppercase()) }
            @if choices.is_empty() { p.empty { "Your address book is empty." } }
            form.pick method="post" action="/addressbook/pick" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="c" value=(spool);
                input type="hidden" name="field" value=(field);
                ul.pick {
                    @for (label, value) in choices {
                        li { label.check { input type="checkbox" name="add" value=(value); " " (label) } }
                    }
                }
                button type="submit" { "Add" }
            }
        },
    )
}
