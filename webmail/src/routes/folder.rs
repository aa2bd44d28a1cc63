//! The folder list and a folder's message list.

use actix_web::Either;
use actix_web::web::{self, Data, Query, ServiceConfig};
use maud::Markup;
use mta_core::maildir::index::{Query as IndexQuery, Search, SearchField, SortKey};
use mta_core::maildir::{Flags, FolderName, Maildir};
use serde::Deserialize;

use crate::http::{AppState, Error, User};
use crate::views::folder::{self, FolderPage, Link, Row};
use crate::views::folders::{self, FolderRow};
use crate::views::layout::Viewer;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/", web::get().to(folder_list))
        .route("/folder", web::get().to(folder_page))
        .route("/folder/action", web::post().to(bulk_action));
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

#[derive(Debug, Deserialize)]
struct ListNotice {
    sent: Option<String>,
    note: Option<String>,
}

async fn folder_list(
    state: Data<AppState>,
    user: User,
    notice: Query<ListNotice>,
) -> Result<Markup, Error> {
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
    let notice = notice.into_inner();
    let mut notices = Vec::new();
    if notice.sent.is_some() {
        notices.push("Your message was sent.".to_string());
    }
    if let Some(note) = notice.note {
        notices.push(note.chars().take(500).collect());
    }
    Ok(folders::page(viewer, &rows, quota, &notices))
}

#[derive(Debug, Deserialize)]
struct FolderParams {
    f: Option<String>,
    page: Option<usize>,
    sort: Option<String>,
    dir: Option<String>,
    q: Option<String>,
    field: Option<String>,
    select: Option<String>,
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
) -> Result<Either<Markup, actix_web::HttpResponse>, Error> {
    let params = params.into_inner();
    let name = match params.f.as_deref() {
        None | Some("") => FolderName::inbox(),
        Some(name) => FolderName::parse(name).map_err(|e| Error::BadRequest(e.to_string()))?,
    };
    let prefs = {
        let (directory, address) = (state.directory.clone(), user.session.user.clone());
        web::block(move || directory.prefs(&address)).await.map_err(Error::internal)??
    };
    let page_size = prefs.page_size();
    let (sort_name, sort) = match params.sort.as_deref().unwrap_or(prefs.sort.as_str()) {
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
        None if params.sort.is_none() => prefs.descending(),
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
    let is_trash = folder.is_trash();
    let folders: Vec<String> =
        maildir.folders()?.into_iter().filter(|n| *n != name).map(|n| n.to_string()).collect();
    let all_selected = params.select.as_deref() == Some("all");
    let show_to = matches!(name.to_string().as_str(), "Sent" | "Drafts");
    let is_drafts = name.to_string() == "Drafts";
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
                offset: (page - 1) * page_size,
                limit: page_size,
            };
            let result = index.query(&query);
            let rows: Vec<Row> = result
                .records
                .iter()
                .map(|r| Row {
                    unique: r.unique().to_string(),
                    // A draft opens for writing; everything else for reading.
                    href: if is_drafts {
                        format!("/compose?{}", encode(&[("draft", r.unique())]))
                    } else {
                        format!("/message?{}", encode(&[("f", &folder_param), ("m", r.unique())]))
                    },
                    date: r.date(),
                    party: if show_to { r.to().to_string() } else { r.from_display().to_string() },
                    subject: r.subject().to_string(),
                    size: r.size(),
                    attachment: r.has_attachment(),
                    unread: r.is_unread(),
                    flagged: r.flags().contains(Flags::FLAGGED),
                    answered: r.flags().contains(Flags::REPLIED),
                    forwarded: r.flags().contains(Flags::PASSED),
                })
                .collect();
            (rows, result.total, index.unread())
        })
    })
    .await
    .map_err(Error::internal)??;
    let pages = total.div_ceil(page_size).max(1);
    let display = name.to_string();
    let links = Links { folder: &display, query: &query_text, field: field_name };
    if page > pages {
        // The folder shrank under an old link (a bulk move from the last page, another
        // session's deletes): its last page now.
        let last = links.link(pages, sort_name, descending);
        return Ok(Either::Right(
            actix_web::HttpResponse::SeeOther()
                .insert_header((actix_web::http::header::LOCATION, last))
                .finish(),
        ));
    }
    let here = links.link(page, sort_name, descending);
    let select_link = if all_selected { here.clone() } else { format!("{here}&select=all") };
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
        all_selected,
        select_link,
        here,
        folders,
        is_trash,
    };
    let csrf = user.csrf();
    let viewer = Viewer { user: &user.session.user.to_string(), csrf: &csrf };
    Ok(Either::Left(folder::page(viewer, &view, &links)))
}

/// Most messages one bulk action may name.
const MAX_BULK: usize = 1000;

/// POST /folder/action: mark, flag, move or delete the ticked messages; empty Trash.
async fn bulk_action(
    state: Data<AppState>,
    user: User,
    body: web::Bytes,
) -> Result<actix_web::HttpResponse, Error> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|e| Error::BadRequest(format!("a malformed form: {e}")))?;
    let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    user.check_csrf(get("csrf").unwrap_or_default())?;
    let name = match get("f") {
        None | Some("") => FolderName::inbox(),
        Some(f) => FolderName::parse(f).map_err(|e| Error::BadRequest(e.to_string()))?,
    };
    let action = get("action").unwrap_or_default().to_string();
    let to = get("to").map(str::to_string);
    let ids: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "m")
        .map(|(_, v)| v.clone())
        .take(MAX_BULK + 1)
        .collect();
    if ids.len() > MAX_BULK {
        return Err(Error::BadRequest(format!("at most {MAX_BULK} messages at once")));
    }
    if ids.is_empty() && action != "empty" {
        return Err(Error::BadRequest("no message was selected; tick the ones to act on".into()));
    }
    // Back to the page the form was on (its sort, search and page), when it is one.
    let back = match get("back") {
        Some(back) if back.starts_with("/folder?") && !back.contains(['\r', '\n']) => {
            back.to_string()
        }
        _ => folder_href(&name),
    };
    let maildir = mailbox(&state, &user)?;
    web::block(move || -> Result<(), Error> {
        let folder = maildir.folder(&name)?;
        let dest = match action.as_str() {
            "move" => {
                let to = to.ok_or_else(|| Error::BadRequest("move to which folder?".into()))?;
                Some(maildir.folder(
                    &FolderName::parse(&to).map_err(|e| Error::BadRequest(e.to_string()))?,
                )?)
            }
            "delete" if !folder.is_trash() => Some(maildir.folder(&FolderName::parse("Trash")?)?),
            _ => None,
        };
        let files = if action == "empty" {
            if !folder.is_trash() {
                return Err(Error::BadRequest("only Trash can be emptied".into()));
            }
            folder.list()?.files
        } else {
            let mut files = Vec::new();
            for id in &ids {
                if mta_core::maildir::name::check_file_name(id).is_err() || id.contains(':') {
                    return Err(Error::BadRequest(format!("{id:?} is not a message id")));
                }
                // Gone already (another session acted first): nothing to do for it.
                if let Some(file) = folder.locate(id)? {
                    files.push(file);
                }
            }
            files
        };
        let mut changes = folder.changes();
        for file in &files {
            let done = match (action.as_str(), &dest) {
                ("read", _) => changes.set_flags(file, Flags::SEEN, Flags::NONE).map(drop),
                ("unread", _) => changes.set_flags(file, Flags::NONE, Flags::SEEN).map(drop),
                ("flag", _) => changes.set_flags(file, Flags::FLAGGED, Flags::NONE).map(drop),
                ("unflag", _) => changes.set_flags(file, Flags::NONE, Flags::FLAGGED).map(drop),
                ("move" | "delete", Some(dest)) => changes.move_to(file, dest).map(drop),
                ("delete" | "empty", None) => changes.delete(file),
                (other, _) => return Err(Error::BadRequest(format!("unknown action {other:?}"))),
            };
            match done {
                Ok(()) | Err(mta_core::maildir::Error::MessageGone(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        changes.commit()?;
        Ok(())
    })
    .await
    .map_err(Error::internal)??;
    Ok(actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, back))
        .finish())
}

/// Deletes for good what has been in the user's Trash longer than their setting says
/// (run at login, off the request). Returns how many went.
pub fn purge_trash(state: &AppState, user: &mta_core::names::Address) -> Result<usize, Error> {
    let prefs = state.directory.prefs(user)?;
    if prefs.trash_days == 0 {
        return Ok(0);
    }
    let maildir = Maildir::open(state.directory.maildir(user))?;
    let Ok(trash) = maildir.folder(&FolderName::parse("Trash")?) else { return Ok(0) };
    let age = std::time::Duration::from_secs(u64::from(prefs.trash_days) * 86_400);
    let old = trash.arrived_before(age, std::time::SystemTime::now())?;
    let mut changes = trash.changes();
    let mut purged = 0;
    for file in &old {
        match changes.delete(file) {
            Ok(()) => purged += 1,
            Err(mta_core::maildir::Error::MessageGone(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    changes.commit()?;
    Ok(purged)
}
