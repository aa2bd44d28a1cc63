//! Logging in and out.

use actix_web::http::header;
use actix_web::web::{self, Data, Form, Query, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use cookie::{Cookie, SameSite};
use mta_core::accounts::{Login, Service};
use serde::Deserialize;

use crate::http::session::{self, COOKIE};
use crate::http::{AppState, Error, User, cookie};
use crate::views::login::{self, Notice};

/// The cookie that carries the login form's CSRF token (there is no session yet).
const LOGIN_COOKIE: &str = "__Host-mailroom-login";

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout));
}

#[derive(Debug, Deserialize)]
struct Why {
    why: Option<String>,
}

fn secure_cookie(name: &str, value: String, max_age: Option<i64>) -> String {
    let mut c = Cookie::build((name.to_string(), value))
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/");
    if let Some(seconds) = max_age {
        c = c.max_age(cookie::time::Duration::seconds(seconds));
    }
    c.build().to_string()
}

fn login_form(notice: Notice, user: &str, status: actix_web::http::StatusCode) -> HttpResponse {
    let token = session::random_token();
    HttpResponse::build(status)
        .insert_header((header::SET_COOKIE, secure_cookie(LOGIN_COOKIE, token.clone(), Some(3600))))
        .content_type("text/html; charset=utf-8")
        .body(login::page(notice, &token, user).into_string())
}

async fn login_page(query: Query<Why>) -> HttpResponse {
    let notice = match query.why.as_deref() {
        Some("expired") => Notice::Expired,
        Some("address") => Notice::Address,
        Some("out") => Notice::LoggedOut,
        _ => Notice::None,
    };
    login_form(notice, "", actix_web::http::StatusCode::OK)
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    user: String,
    password: String,
    public: Option<String>,
    bind: Option<String>,
}

async fn login(
    req: HttpRequest,
    state: Data<AppState>,
    form: Form<LoginForm>,
) -> Result<HttpResponse, Error> {
    let form = form.into_inner();
    match cookie(&req, LOGIN_COOKIE) {
        Some(expected) if session::same_token(&expected, &form.csrf) => {}
        _ => {
            return Err(Error::Forbidden(
                "the login form has expired or cookies are off; reload the login page (Mailroom needs cookies)".into(),
            ));
        }
    }
    let client =
        req.peer_addr().map(|a| a.ip()).ok_or_else(|| Error::internal("no peer address"))?;
    let account = form.user.trim().to_ascii_lowercase();
    let now = mta_core::queue::now();
    if let Some(wait) = state.limiter.blocked(&client.to_string(), &account, now) {
        return Err(Error::TooManyLogins { retry_after: wait, minutes: wait.div_ceil(60) });
    }
    let directory = state.directory.clone();
    let (user, password) = (account.clone(), form.password);
    let result = web::block(move || directory.login(&user, password.as_bytes(), Service::Webmail))
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)?;
    match result {
        Login::Granted(address) => {
            let bound = form.bind.is_some().then_some(client);
            let (token, _) = state
                .sessions
                .create(address.clone(), form.public.is_some(), bound, now)
                .map_err(Error::internal)?;
            tracing::info!(user = %address, %client, "webmail: login");
            // Trash older than the user's setting goes now, off this request.
            let (state2, who) = (state.clone(), address.clone());
            actix_web::rt::spawn(async move {
                match web::block(move || super::folder::purge_trash(&state2, &who)).await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(n)) => {
                        tracing::info!(purged = n, "webmail: old messages in Trash deleted")
                    }
                    Ok(Err(e)) => tracing::warn!("webmail: Trash not purged: {e}"),
                    Err(e) => tracing::warn!("webmail: Trash not purged: {e}"),
                }
            });
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/"))
                .append_header((header::SET_COOKIE, secure_cookie(COOKIE, token, None)))
                .append_header((
                    header::SET_COOKIE,
                    secure_cookie(LOGIN_COOKIE, String::new(), Some(0)),
                ))
                .finish())
        }
        Login::Disabled(address) => Err(Error::Forbidden(format!(
            "webmail is disabled for {address}; ask your administrator"
        ))),
        Login::Refused => {
            state.limiter.failed(&client.to_string(), &account, now);
            tracing::warn!(user = %account, %client, "webmail: login refused");
            Ok(login_form(Notice::Failed, &account, actix_web::http::StatusCode::UNAUTHORIZED))
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    state: Data<AppState>,
    user: User,
    form: Form<CsrfForm>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    state.sessions.destroy(&user.token);
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login?why=out"))
        .append_header((header::SET_COOKIE, secure_cookie(COOKIE, String::new(), Some(0))))
        .finish())
}
