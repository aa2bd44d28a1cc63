//! The admin area. Who may do what is read from the files at every request
//! ([`mta_core::accounts::Directory::roles`]): a domain admin sees and changes only their
//! domains; the root admin every domain, their limits and admins, the queue and the audit
//! log. Every change is written to the audit log with the admin's address and client.
//!
//! # Layout
//! - this module: access, the overview, a domain's settings, adding and removing domains
//! - [`users`]: users and aliases of a domain
//! - [`queue`]: the queue and the audit log (root admin)

pub mod queue;
pub mod users;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{self, Data, Form, Query, ServiceConfig};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use mta_core::accounts::{DomainConfig, Roles};
use mta_core::names::{Address, Domain, LocalPart};
use mta_core::policy::{SpamAction, SpamPolicy, entries};
use serde::Deserialize;

use crate::http::{AppState, Error, User};
use crate::routes::folder::encode;
use crate::views::MB;
use crate::views::admin::{self as view, DomainRow};
use crate::views::layout::Viewer;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/admin", web::get().to(overview))
        .route("/admin/domain", web::get().to(domain_page))
        .route("/admin/domain/limits", web::post().to(save_limits))
        .route("/admin/domain/admins", web::post().to(save_admins))
        .route("/admin/domain/catch-all", web::post().to(save_catch_all))
        .route("/admin/domain/spam", web::post().to(save_spam))
        .route("/admin/domains/add", web::post().to(add_domain))
        .route("/admin/domains/remove", web::post().to(remove_domain))
        .configure(users::config)
        .configure(queue::config);
}

/// A logged-in administrator, their rights, and where they came from.
pub struct Admin {
    /// The session.
    pub user: User,
    /// What they may administer.
    pub roles: Roles,
    /// Their client address, for the audit log.
    pub client: String,
}

/// Every admin route takes an `Admin`: no session → the login page; a user who
/// administers nothing → 403. Roles are read from the files at each request.
impl FromRequest for Admin {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Admin, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = User::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let user = user.await?;
            let state = req
                .app_data::<Data<AppState>>()
                .ok_or_else(|| Error::internal("no state"))?
                .clone();
            let (directory, address) = (state.directory.clone(), user.session.user.clone());
            let roles =
                web::block(move || directory.roles(&address)).await.map_err(Error::internal)??;
            if !roles.is_admin() {
                return Err(Error::Forbidden("this page is for administrators".into()));
            }
            let client = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
            Ok(Admin { user, roles, client })
        })
    }
}

impl Admin {
    /// The form's CSRF token is this session's, or 403.
    pub fn check_csrf(&self, token: &str) -> Result<(), Error> {
        self.user.check_csrf(token)
    }

    /// Allowed to administer `domain` (its name as given), or 403.
    pub fn domain(&self, domain: &str) -> Result<Domain, Error> {
        let domain = Domain::parse(domain).map_err(|e| Error::BadRequest(e.to_string()))?;
        if !self.roles.can_admin(&domain) {
            return Err(Error::Forbidden(format!("you do not administer {domain}")));
        }
        Ok(domain)
    }

    /// A root admin, or 403.
    pub fn root(&self) -> Result<(), Error> {
        if self.roles.root {
            Ok(())
        } else {
            Err(Error::Forbidden("this is for the root admin".into()))
        }
    }

    /// Records a change in the audit log.
    pub fn audit(&self, state: &AppState, action: &str, target: &str, detail: &str) {
        mta_core::audit::note(
            state.directory.data(),
            &self.user.session.user.to_string(),
            &self.client,
            action,
            target,
            detail,
        );
    }

    /// The page frame's viewer.
    pub fn render(
        &self,
        status: actix_web::http::StatusCode,
        page: impl FnOnce(Viewer<'_>) -> maud::Markup,
    ) -> HttpResponse {
        let csrf = self.user.csrf();
        let viewer = Viewer { user: &self.user.session.user.to_string(), csrf: &csrf };
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(page(viewer).into_string())
    }
}

/// Back to `path` (with its query pairs) saying what happened.
pub fn back(path: &str, pairs: &[(&str, &str)], outcome: Result<String, String>) -> HttpResponse {
    let mut all: Vec<(&str, &str)> = pairs.to_vec();
    let text = match &outcome {
        Ok(notice) => ("notice", notice.as_str()),
        Err(error) => ("error", error.as_str()),
    };
    all.push(text);
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{path}?{}", encode(&all))))
        .finish()
}

/// `notice=` and `error=` of a page, bounded.
#[derive(Debug, Deserialize)]
pub struct Outcome {
    /// What was done.
    pub notice: Option<String>,
    /// What was refused.
    pub error: Option<String>,
}

impl Outcome {
    fn short(text: &Option<String>) -> Option<String> {
        text.as_ref().map(|t| t.chars().take(300).collect())
    }

    /// (notice, error), each at most 300 characters.
    pub fn texts(&self) -> (Option<String>, Option<String>) {
        (Self::short(&self.notice), Self::short(&self.error))
    }
}

fn row(state: &AppState, domain: &Domain) -> Result<DomainRow, Error> {
    let config = state
        .directory
        .domain(domain)?
        .ok_or_else(|| Error::NotFound(format!("{domain} is not served here")))?;
    let (users, used) = state.directory.usage(domain)?;
    let aliases = state.directory.aliases(domain)?.len();
    Ok(DomainRow {
        name: domain.to_string(),
        usage: (users, aliases, used),
        config: (*config).clone(),
    })
}

#[derive(Debug, Deserialize)]
struct OverviewQuery {
    q: Option<String>,
    page: Option<usize>,
    notice: Option<String>,
    error: Option<String>,
}

/// The domains one administers, paged and searchable; usage is counted for the page
/// shown only (it reads every mailbox's `maildirsize`).
async fn overview(
    state: Data<AppState>,
    admin: Admin,
    query: Query<OverviewQuery>,
) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let q = users::search_words(query.q.as_deref());
    let matching: Vec<Domain> =
        admin.roles.domains.iter().filter(|d| d.as_str().contains(&q)).cloned().collect();
    let (shown, page, pages) = users::paged(matching, query.page.unwrap_or(1));
    let state2 = state.clone();
    let rows = web::block(move || {
        shown.iter().map(|d| row(&state2, d)).collect::<Result<Vec<_>, Error>>()
    })
    .await
    .map_err(Error::internal)??;
    let (notice, error) = Outcome { notice: query.notice, error: query.error }.texts();
    Ok(admin.render(actix_web::http::StatusCode::OK, |v| {
        let paging = view::Paging { query: &q, page, pages };
        view::overview(v, admin.roles.root, &rows, paging, notice.as_deref(), error.as_deref())
    }))
}

#[derive(Debug, Deserialize)]
struct DomainQuery {
    d: String,
    notice: Option<String>,
    error: Option<String>,
}

async fn domain_page(
    state: Data<AppState>,
    admin: Admin,
    query: Query<DomainQuery>,
) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let domain = admin.domain(&query.d)?;
    let state2 = state.clone();
    let row = web::block(move || row(&state2, &domain)).await.map_err(Error::internal)??;
    let outcome = Outcome { notice: query.notice, error: query.error };
    let (notice, error) = outcome.texts();
    Ok(admin.render(actix_web::http::StatusCode::OK, |v| {
        view::domain(v, admin.roles.root, &row, notice.as_deref(), error.as_deref())
    }))
}

/// Reads, changes and writes a domain's configuration off the async workers; records
/// the change (`action`, with the detail `change` returns) and goes back to the domain
/// page saying `done`, or why not.
async fn change_domain(
    state: &AppState,
    admin: &Admin,
    domain: &Domain,
    action: &str,
    done: &str,
    change: impl FnOnce(&mut DomainConfig) -> Result<String, String> + Send + 'static,
) -> Result<HttpResponse, Error> {
    let (directory, d) = (state.directory.clone(), domain.clone());
    let outcome = web::block(move || -> Result<Result<String, String>, Error> {
        let mut config = (*directory
            .domain(&d)?
            .ok_or_else(|| Error::NotFound(format!("{d} is not served here")))?)
        .clone();
        let detail = match change(&mut config) {
            Ok(detail) => detail,
            Err(why) => return Ok(Err(why)),
        };
        Ok(directory.set_domain(&d, &config).map(|()| detail).map_err(|e| e.to_string()))
    })
    .await
    .map_err(Error::internal)??;
    if let Ok(detail) = &outcome {
        admin.audit(state, action, domain.as_str(), detail);
    }
    Ok(back("/admin/domain", &[("d", domain.as_str())], outcome.map(|_| done.to_string())))
}

/// Megabytes typed in a form, in bytes; empty is 0 (no limit).
fn mb(text: &str, what: &str) -> Result<u64, String> {
    number(text, what).map(|n| n.saturating_mul(MB))
}

/// A count typed in a form; empty is 0 (no limit).
fn number(text: &str, what: &str) -> Result<u64, String> {
    match text.trim() {
        "" => Ok(0),
        n => n.parse::<u64>().map_err(|_| format!("{what}: {text:?} is not a number")),
    }
}

#[derive(Debug, Deserialize)]
struct LimitsForm {
    csrf: String,
    d: String,
    max_users: String,
    max_aliases: String,
    max_storage_mb: String,
    default_quota_mb: String,
    max_quota_mb: String,
}

async fn save_limits(
    state: Data<AppState>,
    admin: Admin,
    form: Form<LimitsForm>,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    admin.root()?;
    let form = form.into_inner();
    let domain = admin.domain(&form.d)?;
    change_domain(&state, &admin, &domain, "domain.limits", "Limits saved.", move |c| {
        c.max_users = number(&form.max_users, "most users")?;
        c.max_aliases = number(&form.max_aliases, "most aliases")?;
        c.max_storage = mb(&form.max_storage_mb, "storage")?;
        c.default_quota = mb(&form.default_quota_mb, "default quota")?;
        c.max_quota = mb(&form.max_quota_mb, "largest quota")?;
        if c.max_quota > 0 && c.default_quota > c.max_quota {
            return Err("the default quota is above the largest quota".into());
        }
        Ok(format!(
            "users {} aliases {} storage {} default {} max {}",
            c.max_users, c.max_aliases, c.max_storage, c.default_quota, c.max_quota
        ))
    })
    .await
}

#[derive(Debug, Deserialize)]
struct AdminsForm {
    csrf: String,
    d: String,
    admins: String,
}

async fn save_admins(
    state: Data<AppState>,
    admin: Admin,
    form: Form<AdminsForm>,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    admin.root()?;
    let form = form.into_inner();
    let domain = admin.domain(&form.d)?;
    let mut list = Vec::new();
    for line in form.admins.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match Address::parse(line) {
            Ok(a) => list.push(a),
            Err(e) => {
                return Ok(back("/admin/domain", &[("d", domain.as_str())], Err(e.to_string())));
            }
        }
    }
    let (directory, d, l) = (state.directory.clone(), domain.clone(), list.clone());
    let set =
        web::block(move || directory.set_domain_admins(&d, &l)).await.map_err(Error::internal)?;
    let shown = list.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    if set.is_ok() {
        admin.audit(&state, "domain.admins", domain.as_str(), &shown);
    }
    Ok(back(
        "/admin/domain",
        &[("d", domain.as_str())],
        set.map(|()| "Admins saved.".into()).map_err(|e| e.to_string()),
    ))
}

#[derive(Debug, Deserialize)]
struct CatchAllForm {
    csrf: String,
    d: String,
    mode: String,
    user: Option<String>,
}

async fn save_catch_all(
    state: Data<AppState>,
    admin: Admin,
    form: Form<CatchAllForm>,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let domain = admin.domain(&form.d)?;
    let refuse = |why: String| back("/admin/domain", &[("d", domain.as_str())], Err(why));
    let user = form.user.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let target = match (form.mode.as_str(), user) {
        ("user", Some(u)) => match LocalPart::parse(u.trim_end_matches(&format!("@{domain}"))) {
            Ok(local) => Some(local),
            Err(e) => return Ok(refuse(format!("{u:?}: {e}"))),
        },
        ("user", None) => return Ok(refuse("Deliver to which user? Type their name.".into())),
        ("bounce" | "discard", _) => None,
        (other, _) => return Err(Error::BadRequest(format!("{other:?} is not a choice"))),
    };
    if let Some(u) = &target {
        let exists = state
            .directory
            .account(&Address { local: u.clone(), domain: domain.clone() })?
            .is_some();
        if !exists {
            return Ok(back(
                "/admin/domain",
                &[("d", domain.as_str())],
                Err(format!("{u}@{domain} is not a user")),
            ));
        }
    }
    let discard = form.mode == "discard";
    change_domain(&state, &admin, &domain, "domain.catch-all", "Saved.", move |c| {
        c.catch_all = target.clone();
        c.discard_unknown = discard;
        Ok(match (&target, discard) {
            (Some(u), _) => format!("deliver to {u}"),
            (None, true) => "discard".into(),
            (None, false) => "refuse".into(),
        })
    })
    .await
}

#[derive(Debug, Deserialize)]
struct SpamForm {
    csrf: String,
    d: String,
    block: String,
    allow: String,
    action: String,
    tag: String,
    /// Present when users may choose their own action.
    users_choose: Option<String>,
}

/// A policy from a form's lists (one entry a line), checked.
fn policy_from(
    block: &str,
    allow: &str,
    action: &str,
    tag: &str,
    threshold: Option<f64>,
    lock_action: bool,
) -> Result<SpamPolicy, String> {
    let action = SpamAction::parse(action).ok_or_else(|| format!("{action:?} is not an action"))?;
    SpamPolicy {
        block: entries(block),
        allow: entries(allow),
        action: Some(action),
        tag: tag.trim().to_string(),
        threshold,
        lock_action,
    }
    .checked()
    .map_err(|e| e.to_string())
}

async fn save_spam(
    state: Data<AppState>,
    admin: Admin,
    form: Form<SpamForm>,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let domain = admin.domain(&form.d)?;
    change_domain(&state, &admin, &domain, "domain.spam", "Spam policy saved.", move |c| {
        let locked = form.users_choose.is_none();
        let policy = policy_from(
            &form.block,
            &form.allow,
            &form.action,
            &form.tag,
            c.spam.threshold,
            locked,
        )?;
        let detail = format!(
            "block {} allow {} action {}{}",
            policy.block.join(" "),
            policy.allow.join(" "),
            form.action,
            if locked { " (locked)" } else { "" }
        );
        c.spam = policy;
        Ok(detail)
    })
    .await
}

#[derive(Debug, Deserialize)]
struct AddDomainForm {
    csrf: String,
    domain: String,
    alias_of: String,
    max_users: String,
    default_quota_mb: String,
}

async fn add_domain(
    state: Data<AppState>,
    admin: Admin,
    form: Form<AddDomainForm>,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    admin.root()?;
    let form = form.into_inner();
    let parsed = (|| -> Result<(Domain, DomainConfig), String> {
        let domain = Domain::parse(form.domain.trim()).map_err(|e| e.to_string())?;
        let alias_of = match form.alias_of.trim() {
            "" => None,
            target => Some(Domain::parse(target).map_err(|e| e.to_string())?),
        };
        let config = DomainConfig {
            max_users: number(&form.max_users, "most users")?,
            default_quota: mb(&form.default_quota_mb, "default quota")?,
            alias_of,
            ..DomainConfig::default()
        };
        Ok((domain, config))
    })();
    let (domain, config) = match parsed {
        Ok(p) => p,
        Err(why) => return Ok(back("/admin", &[], Err(why))),
    };
    if let Some(target) = &config.alias_of
        && state.directory.domain(target)?.is_none_or(|c| c.alias_of.is_some())
    {
        return Ok(back("/admin", &[], Err(format!("{target} is not a domain of its own here"))));
    }
    let (directory, d, c) = (state.directory.clone(), domain.clone(), config.clone());
    let added = web::block(move || directory.add_domain(&d, &c)).await.map_err(Error::internal)?;
    if added.is_ok() {
        admin.audit(
            &state,
            "domain.add",
            domain.as_str(),
            &config.alias_of.map(|t| format!("another name of {t}")).unwrap_or_default(),
        );
    }
    Ok(back("/admin", &[], added.map(|()| format!("{domain} added.")).map_err(|e| e.to_string())))
}

#[derive(Debug, Deserialize)]
struct RemoveDomainForm {
    csrf: String,
    d: String,
    confirm: String,
}

async fn remove_domain(
    state: Data<AppState>,
    admin: Admin,
    form: Form<RemoveDomainForm>,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    admin.root()?;
    let form = form.into_inner();
    let domain = admin.domain(&form.d)?;
    if form.confirm.trim() != domain.as_str() {
        return Ok(back(
            "/admin/domain",
            &[("d", domain.as_str())],
            Err(format!("type {domain} to confirm the removal")),
        ));
    }
    let (directory, d) = (state.directory.clone(), domain.clone());
    let removed = web::block(move || directory.remove_domain(&d)).await.map_err(Error::internal)?;
    match removed {
        Ok(aside) => {
            admin.audit(
                &state,
                "domain.remove",
                domain.as_str(),
                &format!("kept at {}", aside.display()),
            );
            Ok(back(
                "/admin",
                &[],
                Ok(format!("{domain} removed; its files are kept aside for recovery.")),
            ))
        }
        Err(e) => Ok(back("/admin/domain", &[("d", domain.as_str())], Err(e.to_string()))),
    }
}
