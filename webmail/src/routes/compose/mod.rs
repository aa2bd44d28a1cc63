//! Writing a message: new, reply, reply-all, reply-to-list, forward (inline or the
//! original attached), a saved draft resumed; files uploaded as streams into the
//! compose spool; save to Drafts; send through the queue with a copy in Sent.
//!
//! Every POST first saves what was typed into the spool, so a failed upload or send
//! loses nothing; the spool ends only when the message is sent or discarded.
//!
//! # Layout
//! - this module: the routes, starting a message, showing the form, the POST's actions
//! - [`upload`]: the multipart form read as streams: text fields bounded, files spooled
//! - [`outbox`]: the form checked into a message, sent, or saved to Drafts

pub mod outbox;
pub mod upload;

use std::path::PathBuf;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::web::{self, Data, Query, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt;
use mail_parser::MessageParser;
use mta_core::maildir::FolderName;
use mta_core::names::Address;
use serde::Deserialize;

use super::folder::encode;
use super::message::{locate, read};
use crate::addressbook::AddressBook;
use crate::http::{AppState, Error, User};
use crate::views::compose::{self, ComposePage};
use crate::views::layout::Viewer;
use crate::writing::addresses::check_header_text;
use crate::writing::spool::{MessageRef, Spool, SpooledFile};
use crate::writing::{clean_mime, start};
use outbox::{save_draft, send};
use upload::{drain, read_text, save_upload};

/// Largest single attachment.
pub const MAX_FILE: u64 = 20 * 1024 * 1024;
/// All attachments of one message together (base64 makes them a third bigger; the
/// largest message accepted is 50 MiB by default).
pub const MAX_TOTAL: u64 = 25 * 1024 * 1024;
/// Most attachments on one message.
pub const MAX_FILES: usize = 50;
/// Longest message text.
const MAX_BODY: usize = 1024 * 1024;
/// Longest other field.
const MAX_FIELD: usize = 16 * 1024;
/// Bytes read past a refused file before the request is given up (the text fields
/// came before the files and are saved already).
const MAX_DRAIN: u64 = MAX_TOTAL + 1024 * 1024;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/compose", web::get().to(start_or_show)).route("/compose", web::post().to(post));
}

#[derive(Debug, Deserialize)]
struct Start {
    /// An open spool.
    c: Option<String>,
    /// `sender`, `all` or `list`.
    reply: Option<String>,
    /// `inline` or `attached`.
    forward: Option<String>,
    /// A message in Drafts to resume.
    draft: Option<String>,
    /// The original's folder and message.
    f: Option<String>,
    m: Option<String>,
    /// A recipient to start with (a mailto: link, the address book).
    to: Option<String>,
    /// A notice after a redirect (`saved`).
    notice: Option<String>,
}

fn user_dir(state: &AppState, user: &User) -> PathBuf {
    let address = &user.session.user;
    state.directory.data().user(&address.domain, &address.local)
}

fn random_hex(bytes: usize) -> String {
    crate::http::session::random_token()[..bytes * 2].to_string()
}

fn new_message_id(user: &Address) -> String {
    format!("{}.{}@{}", random_hex(12), mta_core::queue::now(), user.domain)
}

/// The From choices: the user's own addresses, with their display name.
fn from_options(state: &AppState, user: &Address) -> Vec<String> {
    state.submitter.own_addresses(user).iter().map(ToString::to_string).collect()
}

async fn start_or_show(
    state: Data<AppState>,
    user: User,
    query: Query<Start>,
) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    if let Some(id) = &query.c {
        let (dir, id) = (user_dir(&state, &user), id.clone());
        let spool = web::block(move || Spool::open(&dir, &id))
            .await
            .map_err(Error::internal)?
            .map_err(Error::internal)?
            .ok_or_else(gone)?;
        let notice = match query.notice.as_deref() {
            Some("saved") => Some(format!("Draft saved in Drafts at {}.", now_hhmm())),
            _ => None,
        };
        return Ok(show(&state, &user, &spool, None, notice, actix_web::http::StatusCode::OK));
    }
    let state2 = state.clone();
    let id = web::block(move || begin(&state2, &user, &query)).await.map_err(Error::internal)??;
    Ok(see_other(&format!("/compose?c={id}")))
}

fn gone() -> Error {
    Error::NotFound(
        "this message was sent or discarded; its text is in Sent or Drafts if it was kept".into(),
    )
}

fn now_hhmm() -> String {
    let d = mail_parser::DateTime::from_timestamp(mta_core::queue::now() as i64);
    format!("{:02}:{:02} UTC", d.hour, d.minute)
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location.to_string())).finish()
}

/// Creates the spool for a new message, a reply, a forward or a resumed draft.
fn begin(state: &AppState, user: &User, query: &Start) -> Result<String, Error> {
    let address = &user.session.user;
    let prefs = state.directory.prefs(address)?;
    let from = address.to_string();
    let own: Vec<String> =
        from_options(state, address).into_iter().map(|a| a.to_lowercase()).collect();
    let original = |m: &str| -> Result<(super::message::Located, Vec<u8>), Error> {
        let located = locate(state, user, query.f.as_deref(), m)?;
        let bytes = read(&located)?;
        Ok((located, bytes))
    };
    fn parse(bytes: &[u8]) -> Result<mail_parser::Message<'_>, Error> {
        MessageParser::default()
            .parse(bytes)
            .ok_or_else(|| Error::BadRequest("that message cannot be read as mail".into()))
    }
    let mut attach_original: Option<(PathBuf, String)> = None;
    let (mut fields, files) = match (&query.reply, &query.forward, &query.draft, &query.m) {
        (Some(how), None, None, Some(m)) => {
            let how = match how.as_str() {
                "sender" => start::ReplyTo::Sender,
                "all" => start::ReplyTo::All,
                "list" => start::ReplyTo::List,
                other => return Err(Error::BadRequest(format!("cannot reply to {other:?}"))),
            };
            let (located, bytes) = original(m)?;
            let message = parse(&bytes)?;
            let at = MessageRef {
                folder: located.name.to_string(),
                unique: located.file.unique().to_string(),
            };
            let fields =
                start::reply(&message, at, how, &from, &own, &prefs.signature, prefs.reply_above)
                    .map_err(Error::BadRequest)?;
            (fields, Vec::new())
        }
        (None, Some(how), None, Some(m)) => {
            let (located, bytes) = original(m)?;
            let message = parse(&bytes)?;
            let at = MessageRef {
                folder: located.name.to_string(),
                unique: located.file.unique().to_string(),
            };
            match how.as_str() {
                "inline" => start::forward_inline(&message, at, &from, &prefs.signature),
                "attached" => {
                    let name = format!(
                        "{}.eml",
                        message
                            .subject()
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .unwrap_or("message")
                    );
                    attach_original =
                        Some((located.folder.file_path(&located.file), clean_file_name(&name)));
                    (start::forward_attached(&message, at, &from, &prefs.signature), Vec::new())
                }
                other => return Err(Error::BadRequest(format!("cannot forward {other:?}"))),
            }
        }
        (None, None, Some(draft), None) => {
            let drafts = FolderName::parse("Drafts")?;
            let located = locate(state, user, Some(&drafts.to_string()), draft)?;
            let bytes = read(&located)?;
            let message = parse(&bytes)?;
            start::resume(&message, located.file.unique())
        }
        (None, None, None, None) => {
            let to = query.to.as_deref().unwrap_or_default();
            check_header_text("To", to).map_err(|e| Error::BadRequest(e.to_string()))?;
            (
                start::new_message(
                    &from,
                    &to.chars().take(MAX_FIELD).collect::<String>(),
                    &prefs.signature,
                ),
                Vec::new(),
            )
        }
        _ => {
            return Err(Error::BadRequest(
                "give one of reply, forward or draft, with its message".into(),
            ));
        }
    };
    if fields.message_id.is_empty() {
        fields.message_id = new_message_id(address);
    }
    if !own.contains(&fields.from.to_lowercase()) {
        fields.from = from.clone();
    }
    let mut spool =
        Spool::create(&user_dir(state, user), random_hex(16), fields).map_err(Error::internal)?;
    for file in files {
        let name = spool.next_file();
        std::fs::write(spool.path(&name), &file.bytes).map_err(Error::internal)?;
        spool.state.attachments.push(SpooledFile {
            file: name,
            name: clean_file_name(&file.name),
            mime: clean_mime(&file.mime),
            size: file.bytes.len() as u64,
        });
    }
    if let Some((path, name)) = attach_original {
        let file = spool.next_file();
        let size = std::fs::copy(&path, spool.path(&file)).map_err(Error::internal)?;
        spool.state.attachments.push(SpooledFile {
            file,
            name,
            mime: "message/rfc822".into(),
            size,
        });
    }
    spool.save().map_err(Error::internal)?;
    Ok(spool.id.clone())
}

/// A file name from a browser or a message: its last path component, printable, short.
fn clean_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    let clean = clean.trim().trim_start_matches('.').trim();
    if clean.is_empty() { "attachment".to_string() } else { clean.to_string() }
}

fn show(
    state: &AppState,
    user: &User,
    spool: &Spool,
    error: Option<String>,
    notice: Option<String>,
    status: actix_web::http::StatusCode,
) -> HttpResponse {
    let address = &user.session.user;
    let page = ComposePage {
        id: &spool.id,
        state: &spool.state,
        from_options: from_options(state, address),
        error,
        notice,
        limits: (MAX_FILE, MAX_TOTAL),
        suggestions: AddressBook::load(&user_dir(state, user))
            .map(|b| b.suggestions())
            .unwrap_or_default(),
    };
    let csrf = user.csrf();
    let viewer = Viewer { user: &address.to_string(), csrf: &csrf };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(compose::page(viewer, &page).into_string())
}

async fn post(
    req: HttpRequest,
    state: Data<AppState>,
    user: User,
    mut form: Multipart,
) -> Result<HttpResponse, Error> {
    let mut spool: Option<Spool> = None;
    let mut action = String::new();
    let mut upload_errors: Vec<String> = Vec::new();
    let mut read_past = 0u64;
    let mut checked = false;
    let dir = user_dir(&state, &user);
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| Error::BadRequest(format!("the form could not be read: {e}")))?;
        let name = field.name().unwrap_or_default().to_string();
        if !checked {
            // The CSRF token comes first, before anything is written.
            if name != "csrf" {
                return Err(Error::Forbidden("this form did not come from Mailroom".into()));
            }
            user.check_csrf(&read_text(&mut field, "csrf", 512).await?)?;
            checked = true;
            continue;
        }
        if name == "c" {
            let id = read_text(&mut field, "c", 64).await?;
            let dir = dir.clone();
            spool = Some(
                web::block(move || Spool::open(&dir, &id))
                    .await
                    .map_err(Error::internal)?
                    .map_err(Error::internal)?
                    .ok_or_else(gone)?,
            );
            continue;
        }
        let Some(open) = spool.as_mut() else {
            return Err(Error::BadRequest("the form is incomplete; reload the page".into()));
        };
        let s = &mut open.state;
        match name.as_str() {
            "from" => s.from = read_text(&mut field, "From", MAX_FIELD).await?,
            "to" => s.to = read_text(&mut field, "To", MAX_FIELD).await?,
            "cc" => s.cc = read_text(&mut field, "Cc", MAX_FIELD).await?,
            "bcc" => s.bcc = read_text(&mut field, "Bcc", MAX_FIELD).await?,
            "subject" => s.subject = read_text(&mut field, "Subject", MAX_FIELD).await?,
            "body" => s.body = read_text(&mut field, "message", MAX_BODY).await?,
            "action" => action = read_text(&mut field, "action", 64).await?,
            "file" => {
                let file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .unwrap_or_default()
                    .to_string();
                if file_name.is_empty() {
                    // The file input with nothing chosen.
                    drain(&mut field, &mut read_past).await?;
                    continue;
                }
                let file_name = clean_file_name(&file_name);
                // What was typed is saved before the file is read.
                open.save().map_err(Error::internal)?;
                if let Err(why) = save_upload(open, &mut field, &file_name, &mut read_past).await? {
                    upload_errors.push(why);
                }
            }
            _ => drain(&mut field, &mut read_past).await?,
        }
    }
    let Some(mut spool) = spool else {
        return Err(Error::BadRequest("the form is incomplete; reload the page".into()));
    };
    spool.save().map_err(Error::internal)?;
    let here = format!("/compose?c={}", spool.id);
    if !upload_errors.is_empty() {
        let error = upload_errors.join("; ");
        return Ok(show(
            &state,
            &user,
            &spool,
            Some(error),
            None,
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        ));
    }
    match action.as_str() {
        "" | "attach" => Ok(see_other(&here)),
        "pick-to" | "pick-cc" | "pick-bcc" => Ok(see_other(&format!(
            "/addressbook/pick?c={}&field={}",
            spool.id,
            &action["pick-".len()..]
        ))),
        "discard" => {
            web::block(move || spool.discard()).await.map_err(Error::internal)?;
            Ok(see_other("/"))
        }
        remove if remove.starts_with("remove-") => {
            let n: usize = remove["remove-".len()..]
                .parse()
                .map_err(|_| Error::BadRequest(format!("{remove:?} names no attachment")))?;
            web::block(move || spool.remove_attachment(n))
                .await
                .map_err(Error::internal)?
                .map_err(Error::internal)?;
            Ok(see_other(&here))
        }
        "save" => {
            let (state2, user2) = (state.clone(), user.clone());
            let saved = web::block(move || {
                let result = save_draft(&state2, &user2.session.user, &mut spool);
                (result, spool)
            })
            .await
            .map_err(Error::internal)?;
            match saved {
                (Ok(()), _) => Ok(see_other(&format!("{here}&notice=saved"))),
                (Err(why), spool) => Ok(show(
                    &state,
                    &user,
                    &spool,
                    Some(why),
                    None,
                    actix_web::http::StatusCode::INSUFFICIENT_STORAGE,
                )),
            }
        }
        "send" => {
            let client = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
            let (state2, user2) = (state.clone(), user.clone());
            let sent = web::block(move || {
                let result = send(&state2, &user2.session.user, &mut spool, &client);
                (result, spool)
            })
            .await
            .map_err(Error::internal)?;
            match sent {
                (Ok(note), _) => {
                    let mut pairs = vec![("sent", "1")];
                    if let Some(note) = &note {
                        pairs.push(("note", note.as_str()));
                    }
                    Ok(see_other(&format!("/?{}", encode(&pairs))))
                }
                (Err(failure), spool) => {
                    let status = if failure.temporary {
                        actix_web::http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        actix_web::http::StatusCode::BAD_REQUEST
                    };
                    Ok(show(&state, &user, &spool, Some(failure.message), None, status))
                }
            }
        }
        other => Err(Error::BadRequest(format!("unknown action {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::clean_file_name;

    #[test]
    fn file_names_lose_paths_and_controls() {
        assert_eq!(clean_file_name("C:\\Users\\ann\\report.pdf"), "report.pdf");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name(".hidden"), "hidden");
        assert_eq!(clean_file_name("a\r\nb.txt"), "ab.txt");
        assert_eq!(clean_file_name(""), "attachment");
    }
}
