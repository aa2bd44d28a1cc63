//! A message: its page (headers first), its parts one by one, its raw source, and the
//! actions on it (mark unread, flag, move, delete to Trash).

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::{self, Data, Form, Query, ServiceConfig};
use mail_parser::{Address, Message, MessageParser, MimeHeaders};
use mta_core::maildir::index::Query as IndexQuery;
use mta_core::maildir::{Flags, Folder, FolderName, Maildir, MessageFile};
use serde::Deserialize;

use super::folder::{encode, folder_href};
use crate::http::{AppState, CSP, Error, User};
use crate::reading::parts::{self, INLINE_IMAGES, Kind, PartInfo};
use crate::reading::{html, text};
use crate::views::layout::Viewer;
use crate::views::message::{self, Body, Links, MessagePage};

/// The CSP of a downloaded part or raw source: a sandbox, nothing loads, nothing runs.
const PART_CSP: &str = "sandbox; default-src 'none'; style-src 'none'; img-src 'none'";

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/message", web::get().to(message_page))
        .route("/part", web::get().to(part))
        .route("/raw", web::get().to(raw))
        .route("/message/action", web::post().to(action));
}

#[derive(Debug, Deserialize)]
struct Params {
    f: Option<String>,
    m: String,
    view: Option<String>,
    images: Option<String>,
    headers: Option<String>,
    p: Option<usize>,
    cid: Option<String>,
    notice: Option<String>,
}

/// The folder and message a request names, checked (also for replies and forwards).
pub(crate) struct Located {
    pub(crate) name: FolderName,
    pub(crate) maildir: Maildir,
    pub(crate) folder: Folder,
    pub(crate) file: MessageFile,
}

pub(crate) fn locate(
    state: &AppState,
    user: &User,
    f: Option<&str>,
    m: &str,
) -> Result<Located, Error> {
    let name = match f {
        None | Some("") => FolderName::inbox(),
        Some(name) => FolderName::parse(name).map_err(|e| Error::BadRequest(e.to_string()))?,
    };
    // A unique name, not a path: the grammar of Maildir file names, no flags part.
    if mta_core::maildir::name::check_file_name(m).is_err() || m.contains(':') {
        return Err(Error::BadRequest(format!("{m:?} is not a message id")));
    }
    let maildir = Maildir::open(state.directory.maildir(&user.session.user))?;
    let folder = maildir.folder(&name)?;
    let file = folder
        .locate(m)?
        .ok_or_else(|| Error::NotFound(format!("this message is no longer in {name}")))?;
    Ok(Located { name, maildir, folder, file })
}

pub(crate) fn read(located: &Located) -> Result<Vec<u8>, Error> {
    std::fs::read(located.folder.file_path(&located.file)).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound("this message was just moved or deleted".into())
        } else {
            Error::internal(e)
        }
    })
}

fn addresses(address: Option<&Address<'_>>) -> String {
    let Some(address) = address else { return String::new() };
    address
        .iter()
        .map(|a| match (a.name(), a.address()) {
            (Some(name), Some(addr)) => format!("{name} <{addr}>"),
            (None, Some(addr)) => addr.to_string(),
            (Some(name), None) => name.to_string(),
            (None, None) => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn message_href(folder: &str, unique: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![("f", folder), ("m", unique)];
    pairs.extend_from_slice(extra);
    format!("/message?{}", encode(&pairs))
}

/// The previous and next messages in the folder's default order (newest first).
fn neighbors(state: &AppState, folder: &Folder, unique: &str) -> (Option<String>, Option<String>) {
    state
        .indexes
        .with(folder, |index| {
            let all = index.query(&IndexQuery { limit: usize::MAX, ..IndexQuery::default() });
            let at = all.records.iter().position(|r| r.unique() == unique)?;
            let previous =
                at.checked_sub(1).and_then(|i| all.records.get(i)).map(|r| r.unique().to_string());
            let next = all.records.get(at + 1).map(|r| r.unique().to_string());
            Some((previous, next))
        })
        .ok()
        .flatten()
        .unwrap_or((None, None))
}

async fn message_page(
    state: Data<AppState>,
    user: User,
    params: Query<Params>,
) -> Result<HttpResponse, Error> {
    let mut params = params.into_inner();
    let notice = params.notice.take();
    let prefs = {
        let (directory, address) = (state.directory.clone(), user.session.user.clone());
        web::block(move || directory.prefs(&address)).await.map_err(Error::internal)??
    };
    let remote_images = params.images.as_deref() == Some("1") || prefs.always_show_images;
    // The user's choice of body, unless this link asks for the other one.
    let view = params.view.clone().or_else(|| (!prefs.prefer_html).then(|| "text".to_string()));
    let state2 = state.clone();
    let user2 = user.clone();
    let (located, bytes, (previous, next), folders) = web::block(move || -> Result<_, Error> {
        let mut located = locate(&state2, &user2, params.f.as_deref(), &params.m)?;
        let bytes = read(&located)?;
        // Opening a message reads it: \Seen, and new/ → cur/.
        if !located.file.flags().contains(Flags::SEEN)
            || located.file.dir == mta_core::maildir::Subdir::New
        {
            let mut changes = located.folder.changes();
            if let Ok(file) = changes.set_flags(&located.file, Flags::SEEN, Flags::NONE) {
                located.file = file;
            }
            changes.commit()?;
        }
        let neighbors = neighbors(&state2, &located.folder, located.file.unique());
        let folders =
            located.maildir.folders()?.into_iter().map(|n| n.to_string()).collect::<Vec<_>>();
        Ok((located, bytes, neighbors, folders))
    })
    .await
    .map_err(Error::internal)??;

    let folder_name = located.name.to_string();
    let unique = located.file.unique().to_string();
    let parsed = MessageParser::default().parse(&bytes[..]);
    let page_link = |extra: &[(&str, &str)]| message_href(&folder_name, &unique, extra);
    let mut links = Links {
        back: folder_href(&located.name),
        previous: previous.map(|m| message_href(&folder_name, &m, &[])),
        next: next.map(|m| message_href(&folder_name, &m, &[])),
        full_headers: page_link(&[("headers", "full")]),
        raw: format!("/raw?{}", encode(&[("f", &folder_name), ("m", &unique)])),
        show_images: page_link(&[("images", "1")]),
        other_body: None,
        parts: Vec::new(),
        write: Vec::new(),
    };
    if parsed.is_some() {
        let write = |extra: (&str, &str)| {
            format!("/compose?{}", encode(&[extra, ("f", &folder_name), ("m", &unique)]))
        };
        links.write =
            vec![("Reply", write(("reply", "sender"))), ("Reply all", write(("reply", "all")))];
        if parsed.as_ref().is_some_and(|m| m.header_raw("List-Post").is_some()) {
            links.write.push(("Reply to list", write(("reply", "list"))));
        }
        links.write.push(("Forward", write(("forward", "inline"))));
        links.write.push(("Forward as attachment", write(("forward", "attached"))));
    }
    let (headers, all_headers, subject, part_list, body) = match &parsed {
        Some(message) => {
            let part_list = parts::list(message);
            links.parts = part_list
                .iter()
                .map(|p| {
                    (
                        p.id,
                        format!(
                            "/part?{}",
                            encode(&[
                                ("f", &folder_name),
                                ("m", &unique),
                                ("p", &p.id.to_string())
                            ])
                        ),
                    )
                })
                .collect();
            let (body, other) = choose_body(
                message,
                &part_list,
                view.as_deref(),
                remote_images,
                &folder_name,
                &unique,
            );
            links.other_body = other.map(|(view, label)| (page_link(&[("view", view)]), label));
            let headers = vec![
                ("From", addresses(message.from())),
                ("To", addresses(message.to())),
                ("Cc", addresses(message.cc())),
                ("Date", message.date().map(|d| d.to_rfc822()).unwrap_or_default()),
                ("Subject", message.subject().unwrap_or_default().to_string()),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
            (
                headers,
                full_headers(message, params.headers.as_deref()),
                message.subject().unwrap_or_default().to_string(),
                part_list,
                body,
            )
        }
        // Not parseable as MIME: shown as what it is, text.
        None => (
            vec![],
            None,
            String::new(),
            vec![],
            Body::Text(text::to_html(&String::from_utf8_lossy(&bytes))),
        ),
    };
    let page = MessagePage {
        folder: &folder_name,
        headers,
        all_headers,
        subject,
        parts: part_list,
        body,
        links,
        folders: folders.into_iter().filter(|f| *f != folder_name).collect(),
        ids: (folder_name.clone(), unique.clone()),
        sender: parsed.as_ref().and_then(|m| m.from()).and_then(|a| a.first()).and_then(|a| {
            Some((a.name().unwrap_or_default().to_string(), a.address()?.to_string()))
        }),
        here: message_href(&folder_name, &unique, &[]),
        notice: notice.map(|n| n.chars().take(200).collect()),
    };
    let csrf = user.csrf();
    let viewer = Viewer { user: &user.session.user.to_string(), csrf: &csrf };
    let mut response = HttpResponse::Ok();
    response.content_type("text/html; charset=utf-8");
    if remote_images {
        // Only this response, and only images, may come from elsewhere.
        response.insert_header((
            header::CONTENT_SECURITY_POLICY,
            CSP.replace("img-src 'self'", "img-src 'self' https: http:"),
        ));
    }
    Ok(response.body(message::page(viewer, &page).into_string()))
}

fn full_headers(message: &Message<'_>, asked: Option<&str>) -> Option<Vec<(String, String)>> {
    if asked != Some("full") {
        return None;
    }
    let raw = message.raw_message();
    let end = message.root_part().raw_body_offset() as usize;
    let block = String::from_utf8_lossy(&raw[..end.min(raw.len())]);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.to_string(), value.trim().to_string()));
        }
    }
    Some(out)
}

/// The body to show, and the other one the user can switch to.
fn choose_body(
    message: &Message<'_>,
    part_list: &[PartInfo],
    view: Option<&str>,
    remote_images: bool,
    folder: &str,
    unique: &str,
) -> (Body, Option<(&'static str, &'static str)>) {
    let html_part = message
        .html_body
        .first()
        .map(|&id| id as usize)
        .filter(|id| part_list.iter().any(|p| p.id == *id && p.kind == Kind::Html));
    let text_part = message
        .text_body
        .first()
        .map(|&id| id as usize)
        .filter(|id| part_list.iter().any(|p| p.id == *id && p.kind == Kind::Text));
    let show_html = html_part.is_some() && (view != Some("text") || text_part.is_none());
    let other = match (html_part, text_part) {
        (Some(_), Some(_)) if show_html => Some(("text", "Plain text")),
        (Some(_), Some(_)) => Some(("html", "HTML")),
        _ => None,
    };
    if show_html && let Some(id) = html_part {
        let source = message.parts[id].text_contents().unwrap_or_default();
        let (folder, unique) = (folder.to_string(), unique.to_string());
        let clean = html::sanitize(
            source,
            move |cid| {
                format!(
                    "{}{}",
                    html::PART_URL,
                    encode(&[("f", &folder), ("m", &unique), ("cid", cid)])
                )
            },
            remote_images,
        );
        return (Body::Html { html: clean.html, blocked_images: clean.blocked_images }, other);
    }
    match text_part {
        Some(id) => {
            let part = &message.parts[id];
            let text_body = part.text_contents().unwrap_or_default();
            let ct = part.content_type();
            let flowed = ct
                .and_then(|c| c.attribute("format"))
                .is_some_and(|f| f.eq_ignore_ascii_case("flowed"));
            let delsp = ct
                .and_then(|c| c.attribute("delsp"))
                .is_some_and(|d| d.eq_ignore_ascii_case("yes"));
            let body = if flowed { text::unflow(text_body, delsp) } else { text_body.to_string() };
            (Body::Text(text::to_html(&body)), other)
        }
        None => (Body::None, other),
    }
}

/// RFC 5987 percent-encoding of a file name for `filename*=`.
fn ext_value(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn part(
    state: Data<AppState>,
    user: User,
    params: Query<Params>,
) -> Result<HttpResponse, Error> {
    let params = params.into_inner();
    let state2 = state.clone();
    let bytes = web::block(move || -> Result<_, Error> {
        let located = locate(&state2, &user, params.f.as_deref(), &params.m)?;
        read(&located)
    })
    .await
    .map_err(Error::internal)??;
    let message = MessageParser::default()
        .parse(&bytes[..])
        .ok_or_else(|| Error::NotFound("this message has no parts".into()))?;
    let list = parts::list(&message);
    let (info, inline) = match (params.p, params.cid.as_deref()) {
        (Some(p), _) => (list.iter().find(|x| x.id == p), false),
        (None, Some(cid)) => (list.iter().find(|x| x.content_id.as_deref() == Some(cid)), true),
        (None, None) => return Err(Error::BadRequest("which part? give p= or cid=".into())),
    };
    let info = info.ok_or_else(|| Error::NotFound("this message has no such part".into()))?;
    let contents = parts::contents(&message, info.id).unwrap_or_default();
    let name = parts::file_name(info);
    let inline = inline && INLINE_IMAGES.contains(&info.mime.as_str());
    // A type a browser would run or render as a page is never served as itself.
    let mime = if inline
        || !(info.mime.contains("html")
            || info.mime.contains("xml")
            || info.mime.contains("svg")
            || info.mime.contains("javascript"))
    {
        info.mime.clone()
    } else {
        "application/octet-stream".to_string()
    };
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).collect();
    let disposition = format!(
        "{}; filename=\"{}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        ascii.replace('"', "_"),
        ext_value(&name)
    );
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        // Attachments are mostly compressed already (PDF, images, archives): sent as is.
        .insert_header(header::ContentEncoding::Identity)
        .insert_header((header::CONTENT_SECURITY_POLICY, PART_CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(contents.to_vec()))
}

async fn raw(
    state: Data<AppState>,
    user: User,
    params: Query<Params>,
) -> Result<HttpResponse, Error> {
    let params = params.into_inner();
    let bytes = web::block(move || -> Result<_, Error> {
        let located = locate(&state, &user, params.f.as_deref(), &params.m)?;
        read(&located)
    })
    .await
    .map_err(Error::internal)??;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, "inline; filename=\"message.eml\""))
        .insert_header((header::CONTENT_SECURITY_POLICY, PART_CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(bytes))
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    csrf: String,
    f: Option<String>,
    m: String,
    action: String,
    to: Option<String>,
}

async fn action(
    state: Data<AppState>,
    user: User,
    form: Form<ActionForm>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let location = web::block(move || -> Result<String, Error> {
        let located = locate(&state, &user, form.f.as_deref(), &form.m)?;
        let mut changes = located.folder.changes();
        let folder_link = folder_href(&located.name);
        let location = match form.action.as_str() {
            "unread" => {
                changes.set_flags(&located.file, Flags::NONE, Flags::SEEN)?;
                folder_link
            }
            "flag" => {
                let file = changes.set_flags(&located.file, Flags::FLAGGED, Flags::NONE)?;
                message_href(&located.name.to_string(), file.unique(), &[])
            }
            "delete" if located.folder.is_trash() => {
                changes.delete(&located.file)?;
                folder_link
            }
            "delete" => {
                let trash = located.maildir.folder(&FolderName::parse("Trash")?)?;
                changes.move_to(&located.file, &trash)?;
                folder_link
            }
            "move" => {
                let to = form
                    .to
                    .as_deref()
                    .ok_or_else(|| Error::BadRequest("move to which folder?".into()))?;
                let to = FolderName::parse(to).map_err(|e| Error::BadRequest(e.to_string()))?;
                let dest = located.maildir.folder(&to)?;
                changes.move_to(&located.file, &dest)?;
                folder_link
            }
            other => return Err(Error::BadRequest(format!("unknown action {other:?}"))),
        };
        changes.commit()?;
        Ok(location)
    })
    .await
    .map_err(Error::internal)??;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}
