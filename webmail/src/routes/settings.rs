//! The user's own settings (`prefs.toml`) and password. Each section is its own form;
//! a refused value comes back in the page with the reason, nothing typed lost.

use actix_web::http::{StatusCode, header};
use actix_web::web::{self, Data, Form, Query, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use mta_core::accounts::{Login, Prefs, Service, SortField};
use mta_core::policy::{SpamAction, SpamPolicy, entries};
use serde::Deserialize;

use crate::http::{AppState, Error, User};
use crate::views::layout::Viewer;
use crate::views::settings::{self, Account, Outcome};
use crate::writing::addresses::check_address;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/settings", web::get().to(settings_page))
        .route("/settings", web::post().to(save_reading))
        .route("/settings/identity", web::post().to(save_identity))
        .route("/settings/password", web::post().to(change_password))
        .route("/settings/vacation", web::post().to(save_vacation))
        .route("/settings/trash", web::post().to(save_trash))
        .route("/settings/spam", web::post().to(save_spam));
}

#[derive(Debug, Deserialize)]
struct Saved {
    saved: Option<String>,
}

async fn load(state: &AppState, user: &User) -> Result<Prefs, Error> {
    let (directory, address) = (state.directory.clone(), user.session.user.clone());
    let prefs = web::block(move || directory.prefs(&address)).await.map_err(Error::internal)??;
    Ok((*prefs).clone())
}

/// What the page shows besides the user's own settings: their domain's spam policy
/// (what they choose within) and whether they administer something. The link is shown
/// to root admins and to admins of their own domain; others reach `/admin` directly.
async fn account(state: &AppState, user: &User) -> Result<Account, Error> {
    let (directory, address) = (state.directory.clone(), user.session.user.clone());
    web::block(move || -> Result<Account, mta_core::accounts::Error> {
        let domain = directory.domain(&address.domain)?.unwrap_or_default();
        let admin = domain.admins.contains(&address) || directory.root_admins()?.contains(&address);
        Ok(Account { domain_spam: domain.spam.clone(), admin })
    })
    .await
    .map_err(Error::internal)?
    .map_err(Error::from)
}

async fn render(
    state: &AppState,
    user: &User,
    prefs: &Prefs,
    outcome: &Outcome,
    status: StatusCode,
) -> Result<HttpResponse, Error> {
    let account = account(state, user).await?;
    let csrf = user.csrf();
    let viewer = Viewer { user: &user.session.user.to_string(), csrf: &csrf };
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(settings::page(viewer, prefs, &account, outcome).into_string()))
}

async fn settings_page(
    state: Data<AppState>,
    user: User,
    query: Query<Saved>,
) -> Result<HttpResponse, Error> {
    let prefs = load(&state, &user).await?;
    let saved = query.into_inner().saved.map(|s| match s.as_str() {
        "identity" => "Name and signature".to_string(),
        "password" => "New password".to_string(),
        "vacation" => "Away message".to_string(),
        "trash" => "Trash setting".to_string(),
        "spam" => "Spam policy".to_string(),
        _ => "Reading settings".to_string(),
    });
    render(&state, &user, &prefs, &Outcome { saved, error: None }, StatusCode::OK).await
}

/// Saves `prefs` (checked) and goes back to the page, or shows why not.
async fn store(
    state: &AppState,
    user: &User,
    prefs: Prefs,
    section: &str,
) -> Result<HttpResponse, Error> {
    let (directory, address) = (state.directory.clone(), user.session.user.clone());
    let attempt = prefs.clone();
    let saved = web::block(move || directory.set_prefs(&address, &attempt))
        .await
        .map_err(Error::internal)?;
    match saved {
        Ok(()) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/settings?saved={section}")))
            .finish()),
        Err(mta_core::accounts::Error::Prefs(why)) => {
            let outcome = Outcome { saved: None, error: Some(capitalised(&why.to_string())) };
            render(state, user, &prefs, &outcome, StatusCode::BAD_REQUEST).await
        }
        Err(other) => Err(other.into()),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

async fn refuse(
    state: &AppState,
    user: &User,
    prefs: &Prefs,
    why: String,
) -> Result<HttpResponse, Error> {
    let outcome = Outcome { saved: None, error: Some(why) };
    render(state, user, prefs, &outcome, StatusCode::BAD_REQUEST).await
}

#[derive(Debug, Deserialize)]
struct ReadingForm {
    csrf: String,
    page_size: String,
    sort: String,
    dir: String,
    prefer_html: Option<String>,
    always_show_images: Option<String>,
}

async fn save_reading(
    state: Data<AppState>,
    user: User,
    form: Form<ReadingForm>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    let mut prefs = load(&state, &user).await?;
    let form = form.into_inner();
    prefs.prefer_html = form.prefer_html.is_some();
    prefs.always_show_images = form.always_show_images.is_some();
    let Ok(page_size) = form.page_size.trim().parse::<u16>() else {
        return refuse(
            &state,
            &user,
            &prefs,
            format!("{:?} is not a number of messages", form.page_size),
        )
        .await;
    };
    let Some(sort) = SortField::parse(&form.sort) else {
        return refuse(
            &state,
            &user,
            &prefs,
            format!("Cannot sort by {:?}; use date, from, subject or size", form.sort),
        )
        .await;
    };
    let descending = match form.dir.as_str() {
        "natural" => None,
        "desc" => Some(true),
        "asc" => Some(false),
        other => {
            return refuse(
                &state,
                &user,
                &prefs,
                format!("Direction {other:?} is not asc, desc or natural"),
            )
            .await;
        }
    };
    (prefs.page_size, prefs.sort, prefs.descending) = (page_size, sort, descending);
    store(&state, &user, prefs, "reading").await
}

#[derive(Debug, Deserialize)]
struct IdentityForm {
    csrf: String,
    display_name: String,
    reply_to: String,
    signature: String,
    reply_above: Option<String>,
}

async fn save_identity(
    state: Data<AppState>,
    user: User,
    form: Form<IdentityForm>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    let mut prefs = load(&state, &user).await?;
    let form = form.into_inner();
    prefs.display_name = form.display_name.trim().to_string();
    prefs.reply_to = form.reply_to.trim().to_string();
    prefs.signature = form.signature.replace("\r\n", "\n").trim_end().to_string();
    prefs.reply_above = form.reply_above.is_some();
    if !prefs.reply_to.is_empty() {
        match check_address(&prefs.reply_to) {
            Ok(address) => prefs.reply_to = address,
            Err(why) => {
                let why =
                    format!("The reply-to address {:?} is not an address: {why}", prefs.reply_to);
                return refuse(&state, &user, &prefs, why).await;
            }
        }
    }
    store(&state, &user, prefs, "identity").await
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    again: String,
}

async fn change_password(
    req: HttpRequest,
    state: Data<AppState>,
    user: User,
    form: Form<PasswordForm>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let prefs = load(&state, &user).await?;
    let address = user.session.user.clone();
    let client = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    let account = address.to_string();
    let now = mta_core::queue::now();
    // The current password is a login: the same limits apply to guessing it here.
    if let Some(wait) = state.limiter.blocked(&client, &account, now) {
        return Err(Error::TooManyLogins { retry_after: wait, minutes: wait.div_ceil(60) });
    }
    if form.new != form.again {
        return refuse(
            &state,
            &user,
            &prefs,
            "The two new passwords differ; type the same one twice".into(),
        )
        .await;
    }
    let directory = state.directory.clone();
    let (who, current) = (account.clone(), form.current);
    let checked = web::block(move || directory.login(&who, current.as_bytes(), Service::Webmail))
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)?;
    if !matches!(checked, Login::Granted(_)) {
        state.limiter.failed(&client, &account, now);
        return refuse(
            &state,
            &user,
            &prefs,
            "The current password is not right; nothing was changed".into(),
        )
        .await;
    }
    let directory = state.directory.clone();
    let (who, new) = (address.clone(), form.new);
    let changed =
        web::block(move || directory.set_password(&who, &new)).await.map_err(Error::internal)?;
    match changed {
        Ok(()) => {}
        Err(mta_core::accounts::Error::Password(why)) => {
            return refuse(
                &state,
                &user,
                &prefs,
                capitalised(&format!("{why}; nothing was changed")),
            )
            .await;
        }
        Err(other) => return Err(other.into()),
    }
    let (sessions, token) = (state.sessions.clone(), user.token.clone());
    let ended = web::block(move || sessions.end_others(&address, Some(&token)))
        .await
        .map_err(Error::internal)?;
    tracing::info!(user = %user.session.user, %client, ended, "webmail: password changed; other sessions ended");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/settings?saved=password"))
        .finish())
}

#[derive(Debug, Deserialize)]
struct VacationForm {
    csrf: String,
    enabled: Option<String>,
    from: String,
    until: String,
    subject: String,
    body: String,
}

async fn save_vacation(
    state: Data<AppState>,
    user: User,
    form: Form<VacationForm>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    let mut prefs = load(&state, &user).await?;
    let form = form.into_inner();
    let v = &mut prefs.vacation;
    v.enabled = form.enabled.is_some();
    v.from = form.from.trim().to_string();
    v.until = form.until.trim().to_string();
    v.subject = form.subject.trim().to_string();
    v.body = form.body.replace("\r\n", "\n").trim_end().to_string();
    if v.enabled && v.body.trim().is_empty() {
        return refuse(
            &state,
            &user,
            &prefs,
            "Write the message senders will get before turning the away message on".into(),
        )
        .await;
    }
    store(&state, &user, prefs, "vacation").await
}

#[derive(Debug, Deserialize)]
struct TrashForm {
    csrf: String,
    trash_days: String,
}

async fn save_trash(
    state: Data<AppState>,
    user: User,
    form: Form<TrashForm>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    let mut prefs = load(&state, &user).await?;
    match form.trash_days.trim().parse::<u32>() {
        Ok(days) => prefs.trash_days = days,
        Err(_) => {
            return refuse(
                &state,
                &user,
                &prefs,
                format!("{:?} is not a number of days", form.trash_days),
            )
            .await;
        }
    }
    store(&state, &user, prefs, "trash").await
}

#[derive(Debug, Deserialize)]
struct SpamForm {
    csrf: String,
    allow: String,
    block: String,
    /// "" for the domain's.
    action: String,
    tag: String,
}

async fn save_spam(
    state: Data<AppState>,
    user: User,
    form: Form<SpamForm>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    let mut prefs = load(&state, &user).await?;
    let form = form.into_inner();
    let action = match form.action.trim() {
        "" => None,
        name => match SpamAction::parse(name) {
            Some(action) => Some(action),
            None => {
                let why = format!("{name:?} is not reject, junk or tag");
                return refuse(&state, &user, &prefs, why).await;
            }
        },
    };
    let typed = SpamPolicy {
        allow: entries(&form.allow),
        block: entries(&form.block),
        action,
        tag: form.tag.trim().to_string(),
        threshold: prefs.spam.threshold,
        lock_action: false,
    };
    match typed.clone().checked() {
        Ok(policy) => prefs.spam = policy,
        Err(why) => {
            // Shown as typed, so nothing is lost.
            prefs.spam = typed;
            return refuse(&state, &user, &prefs, capitalised(&why.to_string())).await;
        }
    }
    store(&state, &user, prefs, "spam").await
}
