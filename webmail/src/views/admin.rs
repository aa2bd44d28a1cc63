//! The admin pages: the overview of the domains one administers, a domain (limits and
//! usage, unknown addresses, spam policy, admins), its users and aliases (paged and
//! searchable), one user, and for the root admin the queue and the audit log. Every
//! form carries the CSRF token; what may be changed depends on the role, and the routes
//! check it again.

use maud::{Markup, html};
use mta_core::accounts::{DomainConfig, Service, UserInfo};
use mta_core::audit::Event;
use mta_core::queue::Entry;

use super::layout::{self, Viewer};
use super::{MB, date, size};
use crate::routes::folder::encode;

/// One domain in the overview.
#[derive(Debug, Clone)]
pub struct DomainRow {
    /// Its name.
    pub name: String,
    /// Users, aliases, bytes used.
    pub usage: (usize, usize, u64),
    /// Its configuration.
    pub config: DomainConfig,
}

fn limit(n: impl std::fmt::Display, max: u64) -> String {
    if max == 0 { format!("{n}") } else { format!("{n} of {max}") }
}

fn storage(used: u64, max: u64) -> String {
    if max == 0 { size(used) } else { format!("{} of {}", size(used), size(max)) }
}

fn notice_and_error(notice: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        @if let Some(e) = error { p.error role="alert" { (e) } }
    }
}

fn link(path: &str, pairs: &[(&str, &str)]) -> String {
    format!("{path}?{}", encode(pairs))
}

/// Where a paged, searchable list of a domain stands.
#[derive(Debug, Clone, Copy)]
pub struct Paging<'a> {
    /// The search words ("" for all).
    pub query: &'a str,
    /// This page, from 1.
    pub page: usize,
    /// How many pages the search has.
    pub pages: usize,
}

impl Paging<'_> {
    /// The search form; `fixed`: the query pairs every link of the list keeps.
    fn search(&self, action: &str, fixed: &[(&str, &str)], placeholder: &str) -> Markup {
        html! {
            form.search method="get" action=(action) {
                @for (name, value) in fixed { input type="hidden" name=(name) value=(value); }
                input type="search" name="q" value=(self.query) placeholder=(placeholder) aria-label="Search";
                button type="submit" { "Search" }
            }
        }
    }

    fn pager(&self, path: &str, fixed: &[(&str, &str)]) -> Markup {
        let to = |n: usize| {
            let page = n.to_string();
            let mut pairs = fixed.to_vec();
            pairs.extend([("q", self.query), ("page", page.as_str())]);
            link(path, &pairs)
        };
        html! {
            @if self.pages > 1 {
                nav.pages {
                    @if self.page > 1 { a href=(to(self.page - 1)) rel="prev" { "‹ Previous" } }
                    span { "Page " (self.page) " of " (self.pages) }
                    @if self.page < self.pages { a href=(to(self.page + 1)) rel="next" { "Next ›" } }
                }
            }
        }
    }
}

/// `/admin`.
pub fn overview(
    viewer: Viewer<'_>,
    root: bool,
    domains: &[DomainRow],
    paging: Paging<'_>,
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    layout::page(
        "Administration",
        Some(viewer),
        html! {
            nav.crumbs { a href="/" { "Folders" } " › " strong { "Administration" } }
            h1 { "Administration" }
            (notice_and_error(notice, error))
            @if root {
                p.admin-links { a href="/admin/queue" { "Queue" } " · " a href="/admin/audit" { "Audit log" } }
            }
            (paging.search("/admin", &[], "Search domains"))
            table.admin {
                thead { tr { th { "Domain" } th.n { "Users" } th.n { "Aliases" } th.n { "Storage" } th { "Admins" } } }
                tbody {
                    @for d in domains {
                        tr {
                            td { a href=(link("/admin/domain", &[("d", &d.name)])) { (d.name) }
                                @if let Some(target) = &d.config.alias_of { " " span.nick { "(another name of " (target) ")" } } }
                            td.n { (limit(d.usage.0, d.config.max_users)) }
                            td.n { (limit(d.usage.1, d.config.max_aliases)) }
                            td.n { (storage(d.usage.2, d.config.max_storage)) }
                            td { (d.config.admins.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
                        }
                    }
                }
            }
            (paging.pager("/admin", &[]))
            @if root {
                form.settings method="post" action="/admin/domains/add" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    fieldset {
                        legend { "New domain" }
                        label { "Domain " input type="text" name="domain" required placeholder="example.org"; }
                        label { "Another name of (empty: a domain of its own) " input type="text" name="alias_of" placeholder="example.com"; }
                        label { "Most users (0: no limit) " input type="number" name="max_users" min="0" value="0"; }
                        label { "Default quota in MB (0: none) " input type="number" name="default_quota_mb" min="0" value="0"; }
                    }
                    button type="submit" { "Add domain" }
                }
            }
        },
    )
}

/// `/admin/domain?d=`.
pub fn domain(
    viewer: Viewer<'_>,
    root: bool,
    row: &DomainRow,
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let d = row.name.as_str();
    let c = &row.config;
    let mb = |b: u64| (b / MB).to_string();
    let catch_all_mode = match (&c.catch_all, c.discard_unknown) {
        (Some(_), _) => "user",
        (None, true) => "discard",
        (None, false) => "bounce",
    };
    layout::page(
        d,
        Some(viewer),
        html! {
            nav.crumbs { a href="/admin" { "Administration" } " › " strong { (d) } }
            h1 { (d) }
            (notice_and_error(notice, error))
            p.admin-links {
                a href=(link("/admin/users", &[("d", d)])) { "Users" } " · "
                a href=(link("/admin/aliases", &[("d", d)])) { "Aliases and forwards" }
            }
            table.headers {
                tr { th { "Users" } td { (limit(row.usage.0, c.max_users)) } }
                tr { th { "Aliases" } td { (limit(row.usage.1, c.max_aliases)) } }
                tr { th { "Storage" } td { (storage(row.usage.2, c.max_storage)) } }
                tr { th { "Quotas" } td { "default " (if c.default_quota == 0 { "none".to_string() } else { size(c.default_quota) }) ", at most " (if c.max_quota == 0 { "no limit".to_string() } else { size(c.max_quota) }) } }
            }
            @if root {
                form.settings method="post" action="/admin/domain/limits" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    input type="hidden" name="d" value=(d);
                    fieldset {
                        legend { "Limits (root admin)" }
                        label { "Most users (0: no limit) " input type="number" name="max_users" min="0" value=(c.max_users); }
                        label { "Most aliases (0: no limit) " input type="number" name="max_aliases" min="0" value=(c.max_aliases); }
                        label { "Storage in MB (0: no limit) " input type="number" name="max_storage_mb" min="0" value=(mb(c.max_storage)); }
                        label { "Default quota in MB " input type="number" name="default_quota_mb" min="0" value=(mb(c.default_quota)); }
                        label { "Largest quota in MB (0: no limit) " input type="number" name="max_quota_mb" min="0" value=(mb(c.max_quota)); }
                    }
                    button type="submit" { "Save limits" }
                }
                form.settings method="post" action="/admin/domain/admins" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    input type="hidden" name="d" value=(d);
                    fieldset {
                        legend { "Admins of " (d) " (root admin)" }
                        label { "Addresses, one a line " textarea name="admins" rows="3" { (c.admins.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")) } }
                    }
                    button type="submit" { "Save admins" }
                }
            }
            form.settings method="post" action="/admin/domain/catch-all" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="d" value=(d);
                fieldset {
                    legend { "Mail for addresses nobody has" }
                    label.check { input type="radio" name="mode" value="bounce" checked[catch_all_mode == "bounce"]; " Refuse it (550: no such user)" }
                    label.check { input type="radio" name="mode" value="discard" checked[catch_all_mode == "discard"]; " Accept it and drop it" }
                    label.check { input type="radio" name="mode" value="user" checked[catch_all_mode == "user"]; " Deliver it to "
                        input type="text" name="user" value=(c.catch_all.as_ref().map(|u| u.to_string()).unwrap_or_default()) placeholder="user" aria-label="User";
                        " @" (d)
                    }
                }
                button type="submit" { "Save" }
            }
            form.settings method="post" action="/admin/domain/spam" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="d" value=(d);
                fieldset {
                    legend { "Spam policy of " (d) }
                    p.hint { "Applied while the sending server is still connected: a refused sender is told at once, nothing bounces later. Users can add their own lists but cannot let through what the domain blocks." }
                    label { "Always block (addresses or domains, one a line) " textarea name="block" rows="4" { (c.spam.block.join("\n")) } }
                    label { "Never block " textarea name="allow" rows="3" { (c.spam.allow.join("\n")) } }
                    label { "Spam is "
                        select name="action" {
                            @for (value, label) in [("reject", "refused (550 5.7.1)"), ("junk", "filed into Junk"), ("tag", "tagged in the subject")] {
                                option value=(value) selected[c.spam.action.unwrap_or_default().as_str() == value] { (label) }
                            }
                        }
                    }
                    label { "Tag " input type="text" name="tag" value=(c.spam.tag()) maxlength="40"; }
                    label.check { input type="checkbox" name="users_choose" value="1" checked[!c.spam.lock_action]; " Users may choose their own action" }
                }
                button type="submit" { "Save spam policy" }
            }
            @if root {
                form.settings method="post" action="/admin/domains/remove" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    input type="hidden" name="d" value=(d);
                    fieldset {
                        legend { "Remove " (d) }
                        p.hint { "All its users and mail go offline at once; the files are kept aside for recovery for the configured time." }
                        label { "Type the domain's name to confirm " input type="text" name="confirm" autocomplete="off"; }
                    }
                    button type="submit" { "Remove domain" }
                }
            }
        },
    )
}

/// `/admin/users?d=`.
pub fn users(
    viewer: Viewer<'_>,
    d: &str,
    rows: &[UserInfo],
    paging: Paging<'_>,
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    layout::page(
        &format!("Users of {d}"),
        Some(viewer),
        html! {
            nav.crumbs { a href="/admin" { "Administration" } " › " a href=(link("/admin/domain", &[("d", d)])) { (d) } " › " strong { "Users" } }
            h1 { "Users of " (d) }
            (notice_and_error(notice, error))
            (paging.search("/admin/users", &[("d", d)], "Search users"))
            table.admin {
                thead { tr { th { "User" } th.n { "Quota" } th.n { "Used" } th { "Disabled" } } }
                tbody {
                    @for u in rows {
                        tr {
                            td { a href=(link("/admin/user", &[("a", &u.address.to_string())])) { (u.address) } }
                            td.n { (if u.quota == 0 { "-".to_string() } else { size(u.quota) }) }
                            td.n { (u.used.map(size).unwrap_or_else(|| "-".into())) }
                            td { (u.disabled.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")) }
                        }
                    }
                }
            }
            (paging.pager("/admin/users", &[("d", d)]))
            form.settings method="post" action="/admin/user/add" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="d" value=(d);
                fieldset {
                    legend { "New user" }
                    label { "Name (before @" (d) ") " input type="text" name="user" required autocomplete="off"; }
                    label { "Password " input type="password" name="password" required minlength="8" autocomplete="new-password"; }
                    label { "Quota in MB (empty: the domain's default) " input type="number" name="quota_mb" min="0"; }
                }
                button type="submit" { "Add user" }
            }
        },
    )
}

/// `/admin/user?a=`.
pub fn user(
    viewer: Viewer<'_>,
    info: &UserInfo,
    forward: &[String],
    forward_only: bool,
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let a = info.address.to_string();
    let d = info.address.domain.to_string();
    layout::page(
        &a,
        Some(viewer),
        html! {
            nav.crumbs { a href="/admin" { "Administration" } " › " a href=(link("/admin/users", &[("d", &d)])) { (d) } " › " strong { (a) } }
            h1 { (a) }
            (notice_and_error(notice, error))
            p { "Using " (info.used.map(size).unwrap_or_else(|| "—".into())) @if info.quota > 0 { " of " (size(info.quota)) } }
            form.settings method="post" action="/admin/user/quota" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="a" value=(a);
                fieldset { legend { "Quota" } label { "MB (0: none, where the domain allows) " input type="number" name="quota_mb" min="0" value=(info.quota / MB); } }
                button type="submit" { "Save quota" }
            }
            form.settings method="post" action="/admin/user/services" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="a" value=(a);
                fieldset {
                    legend { "Services" }
                    @for s in Service::ALL {
                        label.check { input type="checkbox" name=(s.as_str()) value="1" checked[!info.disabled.contains(&s)]; " " (s.as_str()) }
                    }
                }
                button type="submit" { "Save services" }
            }
            form.settings method="post" action="/admin/user/password" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="a" value=(a);
                fieldset { legend { "Reset password" } label { "New password " input type="password" name="password" required minlength="8" autocomplete="new-password"; } }
                button type="submit" { "Set password" }
            }
            form.settings method="post" action="/admin/user/forward" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="a" value=(a);
                fieldset {
                    legend { "Forward" }
                    label { "Forward to (addresses, one a line; empty: no forward) " textarea name="targets" rows="3" { (forward.join("\n")) } }
                    label.check { input type="checkbox" name="only" value="1" checked[forward_only]; " Keep no copy in this mailbox" }
                }
                button type="submit" { "Save forward" }
            }
            form.settings method="post" action="/admin/user/remove" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="a" value=(a);
                fieldset {
                    legend { "Remove this user" }
                    label { "Type the address to confirm " input type="text" name="confirm" autocomplete="off"; }
                }
                button type="submit" { "Remove user" }
            }
        },
    )
}

/// `/admin/aliases?d=`.
pub fn aliases(
    viewer: Viewer<'_>,
    d: &str,
    rows: &[(String, Vec<String>)],
    paging: Paging<'_>,
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    layout::page(
        &format!("Aliases of {d}"),
        Some(viewer),
        html! {
            nav.crumbs { a href="/admin" { "Administration" } " › " a href=(link("/admin/domain", &[("d", d)])) { (d) } " › " strong { "Aliases" } }
            h1 { "Aliases of " (d) }
            (notice_and_error(notice, error))
            (paging.search("/admin/aliases", &[("d", d)], "Search aliases"))
            table.admin {
                thead { tr { th { "Alias" } th { "Goes to" } th {} } }
                tbody {
                    @for (name, targets) in rows {
                        tr {
                            td { (name) "@" (d) }
                            td { (targets.join(", ")) }
                            td {
                                form method="post" action="/admin/alias/remove" {
                                    input type="hidden" name="csrf" value=(viewer.csrf);
                                    input type="hidden" name="d" value=(d);
                                    input type="hidden" name="alias" value=(name);
                                    button type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
            (paging.pager("/admin/aliases", &[("d", d)]))
            form.settings method="post" action="/admin/alias/add" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="d" value=(d);
                fieldset {
                    legend { "New alias, or more targets for one" }
                    label { "Alias (before @" (d) ") " input type="text" name="alias" required autocomplete="off"; }
                    label { "Goes to (user names or addresses, one a line) " textarea name="targets" rows="3" required {} }
                }
                button type="submit" { "Add" }
            }
        },
    )
}

/// `/admin/queue`.
pub fn queue(
    viewer: Viewer<'_>,
    entries: &[Entry],
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    layout::page(
        "Queue",
        Some(viewer),
        html! {
            @let now = mta_core::queue::now();
            nav.crumbs { a href="/admin" { "Administration" } " › " strong { "Queue" } }
            h1 { "Queue " small { (entries.len()) " messages" } }
            (notice_and_error(notice, error))
            @if entries.is_empty() { p.empty { "The queue is empty." } }
            @for e in entries {
                section.queued {
                    h2 { a href=(link("/admin/queue/show", &[("id", &e.id)])) { code { (e.id) } } " " small { (size(e.size)) ", from " (if e.envelope.sender.is_empty() { "<>" } else { e.envelope.sender.as_str() }) ", " (date(e.envelope.received as i64)) } }
                    ul {
                        @for (r, s) in e.envelope.recipients.iter().zip(&e.status) {
                            li { (r.destination) " — " (s.describe(now)) }
                        }
                    }
                    (queue_actions(viewer.csrf, &e.id))
                }
            }
        },
    )
}

/// Retry now and delete, for one queued message.
fn queue_actions(csrf: &str, id: &str) -> Markup {
    html! {
        form.inline method="post" action="/admin/queue/retry" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="id" value=(id);
            button type="submit" { "Retry now" }
        }
        form.inline method="post" action="/admin/queue/delete" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="id" value=(id);
            button type="submit" { "Delete (no bounce)" }
        }
    }
}

/// `/admin/queue/show?id=`.
pub fn queued(viewer: Viewer<'_>, e: &Entry, header: &str) -> Markup {
    let now = mta_core::queue::now();
    let sender = if e.envelope.sender.is_empty() { "<>" } else { e.envelope.sender.as_str() };
    layout::page(
        &format!("Queued {}", e.id),
        Some(viewer),
        html! {
            nav.crumbs { a href="/admin" { "Administration" } " › " a href="/admin/queue" { "Queue" } " › " strong { (e.id) } }
            h1 { "Queued message " code { (e.id) } }
            dl.envelope {
                dt { "From" } dd { (sender) }
                dt { "Received" } dd { (date(e.envelope.received as i64)) }
                dt { "Size" } dd { (size(e.size)) }
            }
            h2 { "Recipients" }
            ul {
                @for (r, s) in e.envelope.recipients.iter().zip(&e.status) {
                    li { (r.destination) " — " (s.describe(now)) }
                }
            }
            h2 { "Header" }
            pre.header { (header) }
            (queue_actions(viewer.csrf, &e.id))
        },
    )
}

/// `/admin/audit`.
pub fn audit(viewer: Viewer<'_>, events: &[Event], page: usize, more: bool) -> Markup {
    layout::page(
        "Audit log",
        Some(viewer),
        html! {
            nav.crumbs { a href="/admin" { "Administration" } " › " strong { "Audit log" } }
            h1 { "Audit log" }
            table.admin {
                thead { tr { th { "When" } th { "Who" } th { "From" } th { "What" } th { "On" } th { "Detail" } } }
                tbody {
                    @for e in events {
                        tr { td.date { (date(e.at as i64)) } td { (e.who) } td { (e.from) } td { (e.action) } td { (e.target) } td { (e.detail) } }
                    }
                }
            }
            nav.pages {
                @if page > 1 { a href=(format!("/admin/audit?page={}", page - 1)) rel="prev" { "‹ Newer" } }
                span { "Page " (page) }
                @if more { a href=(format!("/admin/audit?page={}", page + 1)) rel="next" { "Older ›" } }
            }
        },
    )
}
