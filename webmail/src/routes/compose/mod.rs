//! Writing a message: new, reply, reply-all, reply-to-list, forward (inline or the
//! original attached), a saved draft resumed; files uploaded as streams into the
//! compose spool; save to Drafts; send through the queue with a copy in Sent.
//!
//! Every POST first saves what was typed into the spool, so a failed upload or send
//! loses nothing; the spool ends only when the message is sent or discarded.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use actix_multipart::{Field, Multipart};
use actix_web::http::header;
use actix_web::web::{self, Data, Query, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt;
use mail_parser::MessageParser;
use mta_core::maildir::{Flags, FolderName, Maildir};
use mta_core::names::Address;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::folder::encode;
use super::message::{locate, read};
use crate::addressbook::AddressBook;
use crate::http::{AppState, Error, User};
use crate::views::compose::{self, ComposePage};
use crate::views::layout::Viewer;
use crate::writing::addresses::{Mailbox, check_header_text, parse_field};
use crate::writing::build::{Attachment, Outgoing, bcc_header, write_message};
use crate::writing::spool::{Marks, MessageRef, Spool, SpooledFile, State};
use crate::writing::{clean_mime, start};

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

/// Reads a text field whole, refusing more than `max` bytes.
async fn read_text(field: &mut Field, name: &str, max: usize) -> Result<String, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk =
            chunk.map_err(|e| Error::BadRequest(format!("the form could not be read: {e}")))?;
        if bytes.len() + chunk.len() > max {
            return Err(Error::BadRequest(format!("the {name} field is longer than {max} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::BadRequest(format!("the {name} field is not UTF-8 text")))
}

/// Streams one uploaded file into the spool. `Err` is a refusal to show the user (the
/// file is not kept); the request goes on.
async fn save_upload(
    spool: &mut Spool,
    field: &mut Field,
    name: &str,
    read_past: &mut u64,
) -> Result<Result<(), String>, Error> {
    if spool.state.attachments.len() >= MAX_FILES {
        drain(field, read_past).await?;
        return Ok(Err(format!(
            "{name} was not attached: a message may have at most {MAX_FILES} attachments"
        )));
    }
    let mime =
        clean_mime(&field.content_type().map(|m| m.essence_str().to_string()).unwrap_or_default());
    let file = spool.next_file();
    let path = spool.path(&file);
    let partial = spool.path(&format!("{file}.part"));
    let mut out = tokio::fs::File::create(&partial).await.map_err(Error::internal)?;
    let room = MAX_FILE.min(MAX_TOTAL.saturating_sub(spool.attachment_bytes()));
    let mut size = 0u64;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("the upload broke off: {e}")))?;
        size += chunk.len() as u64;
        if size > room {
            drop(out);
            let _ = tokio::fs::remove_file(&partial).await;
            *read_past += size;
            drain(field, read_past).await?;
            let why = if room < MAX_FILE {
                format!(
                    "{name} was not attached: the attachments together may take {}, and {} is left",
                    crate::views::size(MAX_TOTAL),
                    crate::views::size(room)
                )
            } else {
                format!(
                    "{name} was not attached: it is larger than {}",
                    crate::views::size(MAX_FILE)
                )
            };
            return Ok(Err(why));
        }
        out.write_all(&chunk)
            .await
            .map_err(|e| Error::internal(format!("cannot write {}: {e}", partial.display())))?;
    }
    out.flush().await.map_err(Error::internal)?;
    drop(out);
    tokio::fs::rename(&partial, &path).await.map_err(Error::internal)?;
    spool.state.attachments.push(SpooledFile { file, name: name.to_string(), mime, size });
    Ok(Ok(()))
}

/// Reads and drops the rest of a field, within [`MAX_DRAIN`] for the whole request.
async fn drain(field: &mut Field, read_past: &mut u64) -> Result<(), Error> {
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("the upload broke off: {e}")))?;
        *read_past += chunk.len() as u64;
        if *read_past > MAX_DRAIN {
            return Err(Error::BadRequest(format!(
                "the upload is far larger than the {} a message's attachments may take; what you typed is kept — go back to the message",
                crate::views::size(MAX_TOTAL)
            )));
        }
    }
    Ok(())
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

/// Why a message was not sent, for the compose page.
struct SendFailure {
    message: String,
    temporary: bool,
}

impl SendFailure {
    fn fix(message: impl ToString) -> SendFailure {
        SendFailure { message: message.to_string(), temporary: false }
    }
}

/// The message as the form says, checked: what to build and whom to send it to.
fn outgoing(
    state: &AppState,
    user: &Address,
    s: &State,
    spool: &Spool,
    strict: bool,
) -> Result<(Outgoing, Address, Vec<String>), SendFailure> {
    let prefs = state.directory.prefs(user).map_err(|e| SendFailure::fix(e.to_string()))?;
    let own = state.submitter.own_addresses(user);
    let from = Address::parse(s.from.trim())
        .ok()
        .filter(|a| own.contains(a))
        .ok_or_else(|| SendFailure::fix(format!("{} is not one of your addresses", s.from.trim())));
    let from = match (from, strict) {
        (Ok(from), _) => from,
        (Err(e), true) => return Err(e),
        (Err(_), false) => user.clone(),
    };
    let field = |name: &'static str, text: &str| -> Result<Vec<Mailbox>, SendFailure> {
        match parse_field(name, text) {
            Ok(list) => Ok(list),
            Err(e) if strict => Err(SendFailure::fix(e)),
            // A draft keeps what parses; the spool keeps the text as typed.
            Err(_) => {
                Ok(text.split(',').filter_map(|a| parse_field(name, a).ok()).flatten().collect())
            }
        }
    };
    // A line break anywhere is refused as typed, before anything is expanded or trimmed.
    for (name, text) in [("To", &s.to), ("Cc", &s.cc), ("Bcc", &s.bcc), ("Subject", &s.subject)] {
        check_header_text(name, text).map_err(SendFailure::fix)?;
    }
    // Nicknames from the address book (a group's, a contact's) stand for their addresses.
    let book = AddressBook::load(&state.directory.data().user(&user.domain, &user.local))
        .unwrap_or_default();
    let (to, cc, bcc) = (
        field("To", &book.expand_field(&s.to))?,
        field("Cc", &book.expand_field(&s.cc))?,
        field("Bcc", &book.expand_field(&s.bcc))?,
    );
    check_header_text("Subject", &s.subject).map_err(SendFailure::fix)?;
    let recipients: Vec<String> =
        to.iter().chain(&cc).chain(&bcc).map(|m| m.address.clone()).collect();
    if strict && recipients.is_empty() {
        return Err(SendFailure::fix("add at least one recipient in To, Cc or Bcc"));
    }
    let reply_to = Some(prefs.reply_to.trim())
        .filter(|r| !r.is_empty())
        .and_then(|r| parse_field("Reply-To", r).ok())
        .and_then(|list| list.into_iter().next());
    let message = Outgoing {
        from: Some(Mailbox {
            name: Some(prefs.display_name.trim().to_string()).filter(|n| !n.is_empty()),
            address: from.to_string(),
        }),
        reply_to,
        to,
        cc,
        bcc,
        subject: s.subject.trim().to_string(),
        body: s.body.clone(),
        message_id: s.message_id.clone(),
        in_reply_to: s.in_reply_to.clone(),
        references: s.references.clone(),
        date: mta_core::queue::now() as i64,
        attachments: s
            .attachments
            .iter()
            .map(|a| Attachment {
                path: spool.path(&a.file),
                name: a.name.clone(),
                mime: a.mime.clone(),
            })
            .collect(),
    };
    Ok((message, from, recipients))
}

fn write_file(path: &std::path::Path, message: &Outgoing, with_bcc: bool) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    write_message(message, with_bcc, &mut out)?;
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

fn folder(
    state: &AppState,
    user: &Address,
    name: &str,
) -> Result<mta_core::maildir::Folder, String> {
    let maildir = Maildir::open(state.directory.maildir(user)).map_err(|e| e.to_string())?;
    let name = FolderName::parse(name).map_err(|e| e.to_string())?;
    match maildir.folder(&name) {
        Ok(folder) => Ok(folder),
        Err(_) => maildir.create_folder(&name).map_err(|e| e.to_string()),
    }
}

/// Delivers `path` (with `prefix` in front) into a folder of the user, flagged.
fn keep_copy(
    state: &AppState,
    user: &Address,
    folder_name: &str,
    prefix: &[u8],
    path: &std::path::Path,
    flags: Flags,
) -> Result<String, String> {
    let folder = folder(state, user, folder_name)?;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let delivered =
        folder.deliver(std::io::Read::chain(prefix, file)).map_err(|e| e.to_string())?;
    let mut changes = folder.changes();
    let kept = changes.set_flags(&delivered, flags, Flags::NONE).map_err(|e| e.to_string())?;
    changes.commit().map_err(|e| e.to_string())?;
    Ok(kept.unique().to_string())
}

/// Removes an earlier saved version of the draft.
fn drop_draft(state: &AppState, user: &Address, unique: &str) {
    let Ok(drafts) = folder(state, user, "Drafts") else { return };
    if let Ok(Some(file)) = drafts.locate(unique) {
        let mut changes = drafts.changes();
        if changes.delete(&file).is_ok() {
            let _ = changes.commit();
        }
    }
}

/// Saves the message to Drafts (replacing its earlier version there).
fn save_draft(state: &AppState, user: &Address, spool: &mut Spool) -> Result<(), String> {
    let (message, _, _) =
        outgoing(state, user, &spool.state, spool, false).map_err(|f| f.message)?;
    let path = spool.path("draft.eml");
    write_file(&path, &message, true)
        .map_err(|e| format!("the draft could not be written: {e}"))?;
    let unique = keep_copy(state, user, "Drafts", b"", &path, Flags::DRAFT.with(Flags::SEEN))
        .map_err(|e| format!("the draft could not be saved in Drafts: {e}"))?;
    let _ = std::fs::remove_file(&path);
    if let Some(old) = spool.state.draft.replace(unique) {
        drop_draft(state, user, &old);
    }
    spool.save().map_err(|e| format!("the draft could not be recorded: {e}"))
}

/// Sends: checks, builds, queues; then the copy in Sent, the original marked, the
/// draft and the spool gone. `Ok` carries a note for the user when a copy could not be
/// kept (the message itself is sent).
fn send(
    state: &AppState,
    user: &Address,
    spool: &mut Spool,
    client: &str,
) -> Result<Option<String>, SendFailure> {
    let (message, from, recipients) = outgoing(state, user, &spool.state, spool, true)?;
    let path = spool.path("message.eml");
    write_file(&path, &message, false).map_err(|e| SendFailure {
        message: format!("the message could not be written before sending: {e}; nothing was sent"),
        temporary: true,
    })?;
    let mut file = std::fs::File::open(&path)
        .map_err(|e| SendFailure { message: e.to_string(), temporary: true })?;
    let queued = state.submitter.submit(
        user,
        &from,
        &recipients,
        &mut file,
        &format!("webmail ([{client}])"),
    );
    if let Err(e) = queued {
        let _ = std::fs::remove_file(&path);
        let temporary = e.is_temporary();
        // Nothing typed is lost: the spool stays, and a copy goes to Drafts if it can.
        let kept = save_draft(state, user, spool).is_ok();
        let mut message = format!("Not sent: {e}.");
        if kept {
            message.push_str(" The message is saved in Drafts.");
        }
        return Err(SendFailure { message, temporary });
    }
    let mut note = None;
    let bcc = bcc_header(&message.bcc);
    if let Err(e) = keep_copy(state, user, "Sent", &bcc, &path, Flags::SEEN) {
        tracing::warn!(user = %user, "webmail: the copy in Sent was not kept: {e}");
        note = Some(format!("The message was sent, but its copy in Sent could not be kept: {e}"));
    }
    if let Some((original, marks)) = &spool.state.original {
        let flag = match marks {
            Marks::Answered => Flags::REPLIED,
            Marks::Forwarded => Flags::PASSED,
        };
        if let Ok(folder) = folder(state, user, &original.folder)
            && let Ok(Some(file)) = folder.locate(&original.unique)
        {
            let mut changes = folder.changes();
            if changes.set_flags(&file, flag, Flags::NONE).is_ok() {
                let _ = changes.commit();
            }
        }
    }
    if let Some(draft) = &spool.state.draft {
        drop_draft(state, user, draft);
    }
    let finished = std::mem::replace(spool, spool.clone());
    finished.discard();
    Ok(note)
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
