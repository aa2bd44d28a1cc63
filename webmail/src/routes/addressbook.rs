//! The address book: list and search, edit and delete contacts and groups, quick-add
//! from a message, import (vCard, CSV) with a report, export (vCard, CSV), and the
//! recipient picker of the compose page (no JavaScript needed).

use std::path::PathBuf;

use actix_multipart::Multipart;
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use actix_web::web::{self, Data, Query, ServiceConfig};
use futures_util::StreamExt;
use serde::Deserialize;

use crate::addressbook::{self, AddressBook, Card, Report};
use crate::http::{AppState, Error, User};
use crate::views::addressbook::{self as view, EditForm};
use crate::views::layout::Viewer;
use crate::writing::addresses::check_address;
use crate::writing::spool::Spool;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/addressbook", web::get().to(list))
        .route("/addressbook/edit", web::get().to(edit))
        .route("/addressbook/save", web::post().to(save))
        .route("/addressbook/delete", web::post().to(delete))
        .route("/addressbook/quick-add", web::post().to(quick_add))
        .route("/addressbook/import", web::post().to(import))
        .route("/addressbook/export.vcf", web::get().to(export_vcf))
        .route("/addressbook/export.csv", web::get().to(export_csv))
        .route("/addressbook/pick", web::get().to(pick_page))
        .route("/addressbook/pick", web::post().to(pick));
}

fn user_dir(state: &AppState, user: &User) -> PathBuf {
    let a = &user.session.user;
    state.directory.data().user(&a.domain, &a.local)
}

/// Loads the book, runs `f` on it off the async workers, and saves it if `f` says so.
async fn with_book<T: Send + 'static>(
    state: &AppState,
    user: &User,
    f: impl FnOnce(&mut AddressBook) -> (T, bool) + Send + 'static,
) -> Result<T, Error> {
    let dir = user_dir(state, user);
    web::block(move || -> Result<T, Error> {
        let mut book = AddressBook::load(&dir).map_err(Error::internal)?;
        let (value, changed) = f(&mut book);
        if changed {
            book.save(&dir).map_err(Error::internal)?;
        }
        Ok(value)
    })
    .await
    .map_err(Error::internal)?
}

fn viewer_page(
    user: &User,
    status: StatusCode,
    page: impl FnOnce(Viewer<'_>) -> maud::Markup,
) -> HttpResponse {
    let csrf = user.csrf();
    let viewer = Viewer { user: &user.session.user.to_string(), csrf: &csrf };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page(viewer).into_string())
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to.to_string())).finish()
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    q: Option<String>,
    notice: Option<String>,
}

async fn list(
    state: Data<AppState>,
    user: User,
    query: Query<ListQuery>,
) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let q: String = query.q.unwrap_or_default().chars().take(200).collect();
    let book = with_book(&state, &user, |book| (book.clone(), false)).await?;
    let found = book.search(&q);
    let notice = query.notice.map(|n| n.chars().take(200).collect::<String>());
    Ok(viewer_page(&user, StatusCode::OK, |v| {
        view::list(v, &found, &q, book.cards.len(), notice.as_deref())
    }))
}

#[derive(Debug, Deserialize)]
struct EditQuery {
    id: Option<String>,
    new: Option<String>,
}

fn form_of(card: &Card) -> EditForm {
    EditForm {
        id: card.uid(),
        group: card.is_group(),
        name: card.name(),
        nicknames: card.nicknames().join(", "),
        emails: if card.is_group() { card.members().join("\n") } else { card.emails().join("\n") },
        phones: card.phones().join("\n"),
        note: card.note(),
    }
}

async fn edit(
    state: Data<AppState>,
    user: User,
    query: Query<EditQuery>,
) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let form = match (query.id, query.new.as_deref()) {
        (Some(id), _) => {
            let card =
                with_book(&state, &user, move |book| (book.get(&id).cloned(), false)).await?;
            form_of(&card.ok_or_else(|| {
                Error::NotFound("there is no such card in your address book".into())
            })?)
        }
        (None, Some("group")) => EditForm { group: true, ..EditForm::default() },
        (None, Some("contact")) => EditForm::default(),
        _ => {
            return Err(Error::BadRequest(
                "which card? give id=, or new=contact or new=group".into(),
            ));
        }
    };
    Ok(viewer_page(&user, StatusCode::OK, |v| view::edit(v, &form, None)))
}

#[derive(Debug, Deserialize)]
struct SaveForm {
    csrf: String,
    id: String,
    kind: String,
    name: String,
    nicknames: String,
    emails: String,
    phones: Option<String>,
    note: Option<String>,
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .flat_map(|l| l.split(','))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

async fn save(
    state: Data<AppState>,
    user: User,
    form: web::Form<SaveForm>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let typed = EditForm {
        id: form.id.clone(),
        group: form.kind == "group",
        name: form.name.trim().to_string(),
        nicknames: form.nicknames.trim().to_string(),
        emails: form.emails.replace("\r\n", "\n"),
        phones: form.phones.clone().unwrap_or_default().replace("\r\n", "\n"),
        note: form.note.clone().unwrap_or_default().replace("\r\n", "\n"),
    };
    let refuse = |why: String| {
        Ok(viewer_page(&user, StatusCode::BAD_REQUEST, |v| view::edit(v, &typed, Some(&why))))
    };
    if [&typed.name, &typed.nicknames]
        .iter()
        .any(|t| t.chars().any(char::is_control) || t.chars().count() > 200)
    {
        return refuse("Names and nicknames are one line of at most 200 characters".into());
    }
    if typed.note.chars().count() > 4000 || typed.phones.chars().count() > 1000 {
        return refuse("The note may have at most 4,000 characters".into());
    }
    let mut emails = Vec::new();
    for e in lines(&typed.emails) {
        match check_address(&e) {
            Ok(address) => emails.push(address),
            Err(why) => return refuse(format!("{e:?} is not an address: {why}")),
        }
    }
    if typed.name.is_empty() && emails.is_empty() {
        return refuse("Give a name or an address".into());
    }
    let phones: Vec<String> =
        typed.phones.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
    if phones.iter().any(|p| p.chars().any(char::is_control)) {
        return refuse("A phone number has a control character".into());
    }
    let nicknames: Vec<String> = typed
        .nicknames
        .split(',')
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    if nicknames.iter().any(|n| n.contains('@')) {
        return refuse("A nickname is a word, not an address".into());
    }
    let group = typed.group;
    let (id, name, note) = (typed.id.clone(), typed.name.clone(), typed.note.clone());
    let saved = with_book(&state, &user, move |book| {
        let mut card = if id.is_empty() {
            if group { Card::group() } else { Card::contact() }
        } else {
            match book.get(&id) {
                Some(card) => card.clone(),
                None => return (Err("this card was deleted meanwhile".to_string()), false),
            }
        };
        card.set_name(&name);
        card.set_nicknames(&nicknames);
        if card.is_group() {
            card.set_members(&emails);
        } else {
            card.set_emails(&emails);
            card.set_phones(&phones);
            card.set_note(&note);
        }
        match book.put(card) {
            Ok(()) => (Ok(()), true),
            Err(why) => (Err(why), false),
        }
    })
    .await?;
    match saved {
        Ok(()) => Ok(see_other(&format!(
            "/addressbook?{}",
            crate::routes::folder::encode(&[(
                "notice",
                &format!(
                    "{} saved.",
                    if typed.name.is_empty() { "The card" } else { typed.name.as_str() }
                )
            )])
        ))),
        Err(why) => refuse(why),
    }
}

#[derive(Debug, Deserialize)]
struct DeleteForm {
    csrf: String,
    id: String,
}

async fn delete(
    state: Data<AppState>,
    user: User,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    let id = form.into_inner().id;
    let removed = with_book(&state, &user, move |book| {
        let removed = book.remove(&id);
        (removed, removed)
    })
    .await?;
    if !removed {
        return Err(Error::NotFound("there is no such card in your address book".into()));
    }
    Ok(see_other("/addressbook?notice=Deleted."))
}

#[derive(Debug, Deserialize)]
struct QuickAdd {
    csrf: String,
    name: String,
    address: String,
    back: Option<String>,
}

async fn quick_add(
    state: Data<AppState>,
    user: User,
    form: web::Form<QuickAdd>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let address = check_address(form.address.trim())
        .map_err(|why| Error::BadRequest(format!("{:?} is not an address: {why}", form.address)))?;
    let name: String = form.name.trim().chars().filter(|c| !c.is_control()).take(200).collect();
    let added = {
        let address = address.clone();
        with_book(&state, &user, move |book| {
            if book.with_address(&address).is_some() {
                return (Ok(false), false);
            }
            let mut card = Card::contact();
            card.set_name(&name);
            card.set_emails(&[address]);
            match book.put(card) {
                Ok(()) => (Ok(true), true),
                Err(why) => (Err(why), false),
            }
        })
        .await?
    };
    let notice = match added {
        Ok(true) => format!("{address} is now in your address book."),
        Ok(false) => format!("{address} was in your address book already."),
        Err(why) => return Err(Error::BadRequest(why)),
    };
    // Back to the message (its own link only), with a word of what happened.
    let back = form
        .back
        .filter(|b| b.starts_with("/message?") && !b.contains(['\r', '\n']))
        .unwrap_or_else(|| "/addressbook?".into());
    let sep = if back.ends_with('?') { "" } else { "&" };
    Ok(see_other(&format!("{back}{sep}{}", crate::routes::folder::encode(&[("notice", &notice)]))))
}

async fn import(
    state: Data<AppState>,
    user: User,
    mut form: Multipart,
) -> Result<HttpResponse, Error> {
    let mut checked = false;
    let mut upload: Option<(String, Vec<u8>)> = None;
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| Error::BadRequest(format!("the form could not be read: {e}")))?;
        let name = field.name().unwrap_or_default().to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| Error::BadRequest(format!("the upload broke off: {e}")))?;
            if bytes.len() + chunk.len() > addressbook::MAX_BYTES {
                return Err(Error::BadRequest(format!(
                    "an import may be at most {}",
                    crate::views::size(addressbook::MAX_BYTES as u64)
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf" => {
                user.check_csrf(&String::from_utf8_lossy(&bytes))?;
                checked = true;
            }
            "file" if checked => {
                let file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .unwrap_or_default()
                    .to_lowercase();
                upload = Some((file_name, bytes));
            }
            "file" => return Err(Error::Forbidden("this form did not come from Mailroom".into())),
            _ => {}
        }
    }
    let (file_name, bytes) =
        upload.ok_or_else(|| Error::BadRequest("choose a file to import".into()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::BadRequest("the file is not UTF-8 text (export it as UTF-8)".into()))?;
    let report = with_book(&state, &user, move |book| {
        let mut report = Report::default();
        let looks_vcard = text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("BEGIN:VCARD");
        let cards = if looks_vcard || file_name.ends_with(".vcf") || file_name.ends_with(".vcard") {
            let (cards, problems) = addressbook::parse_vcards(&text);
            report.skipped.extend(problems);
            cards
        } else {
            addressbook::csv::import(&text, &mut report)
        };
        let before = report.added;
        book.import(cards, &mut report);
        let changed = report.added > before;
        (report, changed)
    })
    .await?;
    tracing::info!(user = %user.session.user, added = report.added, skipped = report.skipped.len(), "webmail: address book import");
    Ok(viewer_page(&user, StatusCode::OK, |v| view::imported(v, &report)))
}

fn download(body: String, content_type: &str, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .body(body)
}

async fn export_vcf(state: Data<AppState>, user: User) -> Result<HttpResponse, Error> {
    let text = with_book(&state, &user, |book| (book.to_vcf(), false)).await?;
    Ok(download(text, "text/vcard; charset=utf-8", "addressbook.vcf"))
}

async fn export_csv(state: Data<AppState>, user: User) -> Result<HttpResponse, Error> {
    let text = with_book(&state, &user, |book| {
        let cards: Vec<&Card> = book.cards.iter().collect();
        (addressbook::csv::export(&cards), false)
    })
    .await?;
    Ok(download(text, "text/csv; charset=utf-8", "addressbook.csv"))
}

#[derive(Debug, Deserialize)]
struct PickQuery {
    c: String,
    field: String,
}

fn check_field(field: &str) -> Result<&'static str, Error> {
    match field {
        "to" => Ok("to"),
        "cc" => Ok("cc"),
        "bcc" => Ok("bcc"),
        other => Err(Error::BadRequest(format!("{other:?} is not a recipient field"))),
    }
}

async fn pick_page(
    state: Data<AppState>,
    user: User,
    query: Query<PickQuery>,
) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let field = check_field(&query.field)?;
    let dir = user_dir(&state, &user);
    let id = query.c.clone();
    let exists = web::block(move || Spool::open(&dir, &id))
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)?
        .is_some();
    if !exists {
        return Err(Error::NotFound("that message was sent or discarded".into()));
    }
    let choices = with_book(&state, &user, |book| {
        let mut choices = Vec::new();
        for card in book.search("") {
            if card.is_group() {
                let nick = card.nicknames().into_iter().next().unwrap_or_else(|| card.name());
                choices.push((
                    format!("{} (group: {} members)", card.label(), card.members().len()),
                    nick,
                ));
            } else {
                for email in card.emails() {
                    let value = if card.name().is_empty() {
                        email.clone()
                    } else {
                        format!("{} <{email}>", card.name())
                    };
                    choices.push((value.clone(), value));
                }
            }
        }
        (choices, false)
    })
    .await?;
    Ok(viewer_page(&user, StatusCode::OK, |v| view::picker(v, &query.c, field, &choices)))
}

async fn pick(state: Data<AppState>, user: User, body: web::Bytes) -> Result<HttpResponse, Error> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|e| Error::BadRequest(format!("a malformed form: {e}")))?;
    let get = |key: &str| {
        fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    user.check_csrf(&get("csrf"))?;
    let field = check_field(&get("field"))?;
    let chosen: Vec<String> =
        fields.iter().filter(|(k, _)| k == "add").map(|(_, v)| v.clone()).take(500).collect();
    if chosen.iter().any(|c| c.contains(['\r', '\n', '\0'])) {
        return Err(Error::BadRequest("a chosen address has a line break".into()));
    }
    let (dir, id) = (user_dir(&state, &user), get("c"));
    let back = format!("/compose?c={}", id);
    web::block(move || -> Result<(), Error> {
        let mut spool = Spool::open(&dir, &id)
            .map_err(Error::internal)?
            .ok_or_else(|| Error::NotFound("that message was sent or discarded".into()))?;
        let target = match field {
            "to" => &mut spool.state.to,
            "cc" => &mut spool.state.cc,
            _ => &mut spool.state.bcc,
        };
        for value in chosen {
            if !target.trim().is_empty() {
                target.push_str(", ");
            }
            target.push_str(&value);
        }
        spool.save().map_err(Error::internal)
    })
    .await
    .map_err(Error::internal)??;
    Ok(see_other(&back))
}
