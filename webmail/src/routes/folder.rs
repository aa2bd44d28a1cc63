//! The folder list and a folder's message list.

use actix_web::web::{self, Data, Query, ServiceConfig};
use maud::Markup;
use mta_core::maildir::index::{Query as IndexQuery, Search, SearchField, SortKey};
use mta_core::maildir::{Flags, FolderName, Maildir};
use serde::Deserialize;

use crate::http::{AppState, Error, User};
use crate::views::folder::{self, FolderPage, Link, Row};
use crate::views::folders::{self, FolderRow};
use crate::views::layout::Viewer;

/// Messages per page (until preferences arrive: 10–250, default 50).
pub const PAGE_SIZE: usize = 50;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/", web::get().to(folder_list)).route("/folder", web::get().to(folder_page));
}

/// `/folder?f=…` for a folder name.
pub fn folder_href(name: &FolderName) -> String {
    format!("/folder?{}", encode(&[("f", &name.to_string())]))
}

/// An urlencoded query string.
pub fn encode(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn mailbox(state: &AppState, user: &User) -> Result<Maildir, Error> {
    Ok(Maildir::open(state.directory.maildir(&user.session.user))?)
}

async fn folder_list(state: Data<AppState>, user: User) -> Result<Markup, Error> {
    let maildir = mailbox(&state, &user)?;
    let (infos, quota) = web::block(move || {
        let infos = maildir.folder_infos();
        let quota = mta_core::maildir::quota::status(maildir.root()).ok().flatten();
        (infos, quota)
    })
    .await
    .map_err(Error::internal)?;
    let rows: Vec<FolderRow> = infos?
        .into_iter()
        .map(|i| FolderRow {
            href: folder_href(&i.name),
            name: i.name.to_string(),
            total: i.counts.total,
            unread: i.counts.unread,
            bytes: i.counts.bytes,
        })
        .collect();
    let quota = quota.and_then(|q| q.limit.bytes.map(|limit| (q.used.bytes, limit)));
    let csrf = user.csrf();
    let viewer = Viewer { user: &user.session.user.to_string(), csrf: &csrf };
    Ok(folders::page(viewer, &rows, quota))
}

#[derive(Debug, Deserialize)]
struct FolderParams {
    f: Option<String>,
    page: Option<usize>,
    sort: Option<String>,
    dir: Option<String>,
    q: Option<String>,
    field: Option<String>,
}

struct Links<'a> {
    folder: &'a str,
    query: &'a str,
    field: &'a str,
}

impl Link for Links<'_> {
    fn link(&self, page: usize, sort: &str, descending: bool) -> String {
        let page = page.to_string();
        let mut pairs = vec![
            ("f", self.folder),
            ("sort", sort),
            ("dir", if descending { "desc" } else { "asc" }),
            ("page", &page),
        ];
        if !self.query.is_empty() {
            pairs.push(("q", self.query));
            pairs.push(("field", self.field));
        }
        format!("/folder?{}", encode(&pairs))
    }
}

async fn folder_page(
    state: Data<AppState>,
    user: User,
    params: Query<FolderParams>,
) -> Result<Markup, Error> {
    let params = params.into_inner();
    let name = match params.f.as_deref() {
        None | Some("") => FolderName::inbox(),
        Some(name) => FolderName::parse(name).map_err(|e| Error::BadRequest(e.to_string()))?,
    };
    let (sort_name, sort) = match params.sort.as_deref().unwrap_or("date") {
        "date" => ("date", SortKey::Date),
        "from" => ("from", SortKey::From),
        "to" => ("to", SortKey::To),
        "subject" => ("subject", SortKey::Subject),
        "size" => ("size", SortKey::Size),
        other => {
            return Err(Error::BadRequest(format!(
                "cannot sort by {other:?}; use date, from, to, subject or size"
            )));
        }
    };
    let descending = match params.dir.as_deref() {
        None => matches!(sort, SortKey::Date | SortKey::Size),
        Some("desc") => true,
        Some("asc") => false,
        Some(other) => {
            return Err(Error::BadRequest(format!("direction {other:?} is neither asc nor desc")));
        }
    };
    let query_text = params.q.unwrap_or_default();
    let query_text = query_text.trim().chars().take(200).collect::<String>();
    let (field_name, field) = match params.field.as_deref().unwrap_or("any") {
        "any" => ("any", SearchField::Any),
        "from" => ("from", SearchField::From),
        "to" => ("to", SearchField::To),
        "subject" => ("subject", SearchField::Subject),
        other => return Err(Error::BadRequest(format!("cannot search in {other:?}"))),
    };
    let page = params.page.unwrap_or(1).max(1);

    let maildir = mailbox(&state, &user)?;
    let folder = maildir.folder(&name)?;
    let show_to = matches!(name.to_string().as_str(), "Sent" | "Drafts");
    let folder_param = name.to_string();
    let state2 = state.clone();
    let search = (!query_text.is_empty()).then(|| Search::new(field, &query_text));
    let (rows, total, unread) = web::block(move || {
        state2.indexes.with(&folder, |index| {
            let query = IndexQuery {
                sort,
                descending,
                search,
                unread_only: false,
                offset: (page - 1) * PAGE_SIZE,
                limit: PAGE_SIZE,
            };
            let result = index.query(&query);
            let rows: Vec<Row> = result
                .records
                .iter()
                .map(|r| Row {
                    href: format!(
                        "/message?{}",
                        encode(&[("f", &folder_param), ("m", r.unique())])
                    ),
                    date: r.date(),
                    party: if show_to { r.to().to_string() } else { r.from_display().to_string() },
                    subject: r.subject().to_string(),
                    size: r.size(),
                    attachment: r.has_attachment(),
                    unread: r.is_unread(),
                    flagged: r.flags().contains(Flags::FLAGGED),
                    answered: r.flags().contains(Flags::REPLIED),
                })
                .collect();
            (rows, result.total, index.unread())
        })
    })
    .await
    .map_err(Error::internal)??;
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    if page > pages {
        return Err(Error::NotFound(format!("page {page} does not exist; this view has {pages}")));
    }
    let display = name.to_string();
    let view = FolderPage {
        name: &display,
        rows,
        total,
        unread,
        page,
        pages,
        sort: sort_name,
        descending,
        query: &query_text,
        field: field_name,
        folder_param: &display,
        show_to,
    };
    let csrf = user.csrf();
    let viewer = Viewer { user: &user.session.user.to_string(), csrf: &csrf };
    let links = Links { folder: &display, query: &query_text, field: field_name };
    Ok(folder::page(viewer, &view, &links))
}
