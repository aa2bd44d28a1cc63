//! A domain's users (add, quota, services, password, forward, remove) and aliases (add,
//! remove), for its admins and the root admin. Lists are paged and searchable: a domain
//! may have thousands of users.

use actix_web::HttpResponse;
use actix_web::web::{self, Data, Form, Query, ServiceConfig};
use mta_core::accounts::Service;
use mta_core::names::{Address, LocalPart};
use serde::Deserialize;

use super::{Admin, Outcome, back};
use crate::http::{AppState, Error};
use crate::views::MB;
use crate::views::admin as view;

/// Rows per page of the user and alias lists.
const PAGE: usize = 50;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/admin/users", web::get().to(users))
        .route("/admin/user", web::get().to(user_page))
        .route("/admin/user/add", web::post().to(add_user))
        .route("/admin/user/quota", web::post().to(set_quota))
        .route("/admin/user/services", web::post().to(set_services))
        .route("/admin/user/password", web::post().to(set_password))
        .route("/admin/user/forward", web::post().to(set_forward))
        .route("/admin/user/remove", web::post().to(remove_user))
        .route("/admin/aliases", web::get().to(aliases))
        .route("/admin/alias/add", web::post().to(add_alias))
        .route("/admin/alias/remove", web::post().to(remove_alias));
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    d: String,
    q: Option<String>,
    page: Option<usize>,
    notice: Option<String>,
    error: Option<String>,
}

/// What a list is searched for: lower-cased, at most 100 characters.
pub(super) fn search_words(q: Option<&str>) -> String {
    q.unwrap_or_default().trim().to_lowercase().chars().take(100).collect()
}

/// One page of a list: its rows, the page number (clamped), the number of pages.
pub(super) fn paged<T>(all: Vec<T>, page: usize) -> (Vec<T>, usize, usize) {
    let pages = all.len().div_ceil(PAGE).max(1);
    let page = page.clamp(1, pages);
    let rows = all.into_iter().skip((page - 1) * PAGE).take(PAGE).collect();
    (rows, page, pages)
}

async fn users(
    state: Data<AppState>,
    admin: Admin,
    query: Query<ListQuery>,
) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let domain = admin.domain(&query.d)?;
    let q = search_words(query.q.as_deref());
    // Names from the directory listing; quota and use read for the page shown only.
    let (directory, d, words) = (state.directory.clone(), domain.clone(), q.clone());
    let (rows, page, pages) = web::block(move || -> Result<_, mta_core::accounts::Error> {
        let matching: Vec<_> = directory
            .users(&d)?
            .into_iter()
            .filter(|local| words.is_empty() || format!("{local}@{d}").contains(&words))
            .collect();
        let (shown, page, pages) = paged(matching, query.page.unwrap_or(1));
        let mut rows = Vec::with_capacity(shown.len());
        for local in shown {
            rows.extend(directory.user_info(&Address { local, domain: d.clone() })?);
        }
        Ok((rows, page, pages))
    })
    .await
    .map_err(Error::internal)??;
    let (notice, error) = Outcome { notice: query.notice, error: query.error }.texts();
    Ok(admin.render(actix_web::http::StatusCode::OK, |v| {
        let paging = view::Paging { query: &q, page, pages };
        view::users(v, domain.as_str(), &rows, paging, notice.as_deref(), error.as_deref())
    }))
}

#[derive(Debug, Deserialize)]
struct UserQuery {
    a: String,
    notice: Option<String>,
    error: Option<String>,
}

/// The user an admin form names, if the admin may administer its domain.
fn target(admin: &Admin, address: &str) -> Result<Address, Error> {
    let address = Address::parse(address.trim()).map_err(|e| Error::BadRequest(e.to_string()))?;
    admin.domain(address.domain.as_str())?;
    Ok(address)
}

async fn user_page(
    state: Data<AppState>,
    admin: Admin,
    query: Query<UserQuery>,
) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let address = target(&admin, &query.a)?;
    let (directory, a) = (state.directory.clone(), address.clone());
    let found = web::block(move || -> Result<_, mta_core::accounts::Error> {
        Ok(directory.user_info(&a)?.zip(directory.account(&a)?))
    })
    .await
    .map_err(Error::internal)??;
    let (info, account) =
        found.ok_or_else(|| Error::NotFound(format!("{address} is not a user")))?;
    let (notice, error) = Outcome { notice: query.notice, error: query.error }.texts();
    Ok(admin.render(actix_web::http::StatusCode::OK, |v| {
        view::user(
            v,
            &info,
            &account.forward,
            account.forward_only,
            notice.as_deref(),
            error.as_deref(),
        )
    }))
}

/// Runs an account change off the async workers, records it, and goes back.
async fn change(
    state: &AppState,
    admin: &Admin,
    address: &Address,
    action: &'static str,
    detail: String,
    done: &str,
    f: impl FnOnce(&mta_core::accounts::Directory, &Address) -> Result<(), mta_core::accounts::Error>
    + Send
    + 'static,
) -> Result<HttpResponse, Error> {
    let (directory, a) = (state.directory.clone(), address.clone());
    let result = web::block(move || f(&directory, &a)).await.map_err(Error::internal)?;
    if result.is_ok() {
        admin.audit(state, action, &address.to_string(), &detail);
    }
    let text = address.to_string();
    Ok(back(
        "/admin/user",
        &[("a", text.as_str())],
        result.map(|()| done.to_string()).map_err(|e| e.to_string()),
    ))
}

#[derive(Deserialize)]
struct AddForm {
    csrf: String,
    d: String,
    user: String,
    password: String,
    quota_mb: Option<String>,
}

async fn add_user(
    state: Data<AppState>,
    admin: Admin,
    form: Form<AddForm>,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let domain = admin.domain(&form.d)?;
    let local = match LocalPart::parse(form.user.trim()) {
        Ok(l) => l,
        Err(e) => return Ok(back("/admin/users", &[("d", domain.as_str())], Err(e.to_string()))),
    };
    let quota = match form.quota_mb.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        None => None,
        Some(q) => match q.parse::<u64>() {
            Ok(n) => Some(n.saturating_mul(MB)),
            Err(_) => {
                return Ok(back(
                    "/admin/users",
                    &[("d", domain.as_str())],
                    Err(format!("{q:?} is not a number of MB")),
                ));
            }
        },
    };
    let address = Address { local, domain: domain.clone() };
    let (directory, a, password) = (state.directory.clone(), address.clone(), form.password);
    let added = web::block(move || directory.add_user(&a, &password, quota))
        .await
        .map_err(Error::internal)?;
    match added {
        Ok(account) => {
            admin.audit(
                &state,
                "user.add",
                &address.to_string(),
                &format!("quota {}", account.quota),
            );
            Ok(back("/admin/users", &[("d", domain.as_str())], Ok(format!("{address} added."))))
        }
        Err(e) => Ok(back("/admin/users", &[("d", domain.as_str())], Err(e.to_string()))),
    }
}

#[derive(Debug, Deserialize)]
struct QuotaForm {
    csrf: String,
    a: String,
    quota_mb: String,
}

async fn set_quota(
    state: Data<AppState>,
    admin: Admin,
    form: Form<QuotaForm>,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    let address = target(&admin, &form.a)?;
    let Ok(mb) = form.quota_mb.trim().parse::<u64>() else {
        return Ok(back(
            "/admin/user",
            &[("a", &address.to_string())],
            Err(format!("{:?} is not a number of MB", form.quota_mb)),
        ));
    };
    let bytes = mb.saturating_mul(MB);
    change(
        &state,
        &admin,
        &address,
        "user.quota",
        bytes.to_string(),
        "Quota saved.",
        move |d, a| d.set_quota(a, bytes),
    )
    .await
}

async fn set_services(
    state: Data<AppState>,
    admin: Admin,
    body: web::Bytes,
) -> Result<HttpResponse, Error> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|e| Error::BadRequest(format!("a malformed form: {e}")))?;
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    admin.check_csrf(&get("csrf").unwrap_or_default())?;
    let address = target(&admin, &get("a").unwrap_or_default())?;
    let enabled: Vec<(Service, bool)> =
        Service::ALL.iter().map(|s| (*s, get(s.as_str()).is_some())).collect();
    let detail = enabled
        .iter()
        .map(|(s, on)| format!("{} {}", s.as_str(), if *on { "on" } else { "off" }))
        .collect::<Vec<_>>()
        .join(", ");
    let sessions = state.sessions.clone();
    change(&state, &admin, &address, "user.services", detail, "Services saved.", move |d, a| {
        for (service, on) in enabled {
            d.set_service(a, service, on)?;
            if service == Service::Webmail && !on {
                // Turned off now, not at their next login.
                sessions.end_others(a, None);
            }
        }
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    a: String,
    password: String,
}

async fn set_password(
    state: Data<AppState>,
    admin: Admin,
    form: Form<PasswordForm>,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let address = target(&admin, &form.a)?;
    let sessions = state.sessions.clone();
    change(
        &state,
        &admin,
        &address,
        "user.password",
        "reset by an admin".into(),
        "Password set; the user's sessions ended.",
        move |d, a| {
            d.set_password(a, &form.password)?;
            sessions.end_others(a, None);
            Ok(())
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
struct ForwardForm {
    csrf: String,
    a: String,
    targets: String,
    only: Option<String>,
}

async fn set_forward(
    state: Data<AppState>,
    admin: Admin,
    form: Form<ForwardForm>,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let address = target(&admin, &form.a)?;
    let targets: Vec<String> =
        form.targets.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    let only = form.only.is_some();
    let detail = format!("{}{}", targets.join(", "), if only { " (no copy)" } else { "" });
    change(&state, &admin, &address, "user.forward", detail, "Forward saved.", move |d, a| {
        d.set_forward(a, &targets, only)
    })
    .await
}

#[derive(Debug, Deserialize)]
struct RemoveForm {
    csrf: String,
    a: String,
    confirm: String,
}

async fn remove_user(
    state: Data<AppState>,
    admin: Admin,
    form: Form<RemoveForm>,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let address = target(&admin, &form.a)?;
    if form.confirm.trim() != address.to_string() {
        return Ok(back(
            "/admin/user",
            &[("a", &address.to_string())],
            Err(format!("type {address} to confirm the removal")),
        ));
    }
    let (directory, a) = (state.directory.clone(), address.clone());
    let removed = web::block(move || directory.remove_user(&a)).await.map_err(Error::internal)?;
    let domain = address.domain.to_string();
    match removed {
        Ok(aside) => {
            admin.audit(
                &state,
                "user.remove",
                &address.to_string(),
                &format!("kept at {}", aside.display()),
            );
            state.sessions.end_others(&address, None);
            Ok(back(
                "/admin/users",
                &[("d", &domain)],
                Ok(format!("{address} removed; the files are kept aside.")),
            ))
        }
        Err(e) => Ok(back("/admin/user", &[("a", &address.to_string())], Err(e.to_string()))),
    }
}

async fn aliases(
    state: Data<AppState>,
    admin: Admin,
    query: Query<ListQuery>,
) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let domain = admin.domain(&query.d)?;
    let q = search_words(query.q.as_deref());
    let (directory, d) = (state.directory.clone(), domain.clone());
    let all = web::block(move || directory.aliases(&d)).await.map_err(Error::internal)??;
    let matching: Vec<(String, Vec<String>)> = all
        .iter()
        .map(|(name, targets)| {
            (name.to_string(), targets.iter().map(ToString::to_string).collect::<Vec<_>>())
        })
        .filter(|(name, targets)| {
            q.is_empty() || name.contains(&q) || targets.iter().any(|t| t.contains(&q))
        })
        .collect();
    let (rows, page, pages) = paged(matching, query.page.unwrap_or(1));
    let (notice, error) = Outcome { notice: query.notice, error: query.error }.texts();
    Ok(admin.render(actix_web::http::StatusCode::OK, |v| {
        let paging = view::Paging { query: &q, page, pages };
        view::aliases(v, domain.as_str(), &rows, paging, notice.as_deref(), error.as_deref())
    }))
}

#[derive(Debug, Deserialize)]
struct AliasForm {
    csrf: String,
    d: String,
    alias: String,
    targets: Option<String>,
}

async fn add_alias(
    state: Data<AppState>,
    admin: Admin,
    form: Form<AliasForm>,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let domain = admin.domain(&form.d)?;
    let to_list = |text: &str| {
        text.lines()
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let targets = to_list(form.targets.as_deref().unwrap_or_default());
    let alias = match LocalPart::parse(form.alias.trim()) {
        Ok(l) => Address { local: l, domain: domain.clone() },
        Err(e) => return Ok(back("/admin/aliases", &[("d", domain.as_str())], Err(e.to_string()))),
    };
    if targets.is_empty() {
        return Ok(back(
            "/admin/aliases",
            &[("d", domain.as_str())],
            Err("give at least one target".into()),
        ));
    }
    let (directory, a, t) = (state.directory.clone(), alias.clone(), targets.clone());
    let added = web::block(move || directory.add_alias(&a, &t)).await.map_err(Error::internal)?;
    if added.is_ok() {
        admin.audit(&state, "alias.add", &alias.to_string(), &targets.join(", "));
    }
    Ok(back(
        "/admin/aliases",
        &[("d", domain.as_str())],
        added.map(|_| format!("{alias} saved.")).map_err(|e| e.to_string()),
    ))
}

async fn remove_alias(
    state: Data<AppState>,
    admin: Admin,
    form: Form<AliasForm>,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let domain = admin.domain(&form.d)?;
    let alias = match LocalPart::parse(form.alias.trim()) {
        Ok(l) => Address { local: l, domain: domain.clone() },
        Err(e) => return Ok(back("/admin/aliases", &[("d", domain.as_str())], Err(e.to_string()))),
    };
    let (directory, a) = (state.directory.clone(), alias.clone());
    let removed =
        web::block(move || directory.remove_alias(&a, &[])).await.map_err(Error::internal)?;
    if removed.is_ok() {
        admin.audit(&state, "alias.remove", &alias.to_string(), "");
    }
    Ok(back(
        "/admin/aliases",
        &[("d", domain.as_str())],
        removed.map(|()| format!("{alias} removed.")).map_err(|e| e.to_string()),
    ))
}
