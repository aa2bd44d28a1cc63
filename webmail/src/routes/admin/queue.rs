//! The root admin's view of this host's queue (list, show, retry now, delete) and of the
//! audit log of every host.

use actix_web::web::{self, Data, Form, Query, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{Admin, Outcome, back};
use crate::http::{AppState, Error, User};
use crate::views::admin as view;

/// Most bytes of a queued message's header shown.
const MAX_HEADER_SHOWN: u64 = 64 * 1024;

/// Events per page of the audit log.
const AUDIT_PAGE: usize = 100;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/admin/queue", web::get().to(queue))
        .route("/admin/queue/show", web::get().to(show))
        .route("/admin/queue/retry", web::post().to(retry))
        .route("/admin/queue/delete", web::post().to(delete))
        .route("/admin/audit", web::get().to(audit));
}

async fn queue(
    req: HttpRequest,
    state: Data<AppState>,
    user: User,
    outcome: Query<Outcome>,
) -> Result<HttpResponse, Error> {
    let admin = Admin::of(&state, user, &req).await?;
    admin.root()?;
    let q = state.submitter.queue.clone();
    let entries = web::block(move || -> Result<Vec<_>, mta_core::queue::Error> {
        let mut out = Vec::new();
        for id in q.ids()?.into_iter().take(500) {
            match q.load(&id) {
                Ok(entry) => out.push(entry),
                // Delivered and removed meanwhile.
                Err(mta_core::queue::Error::NoSuchMessage(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    })
    .await
    .map_err(Error::internal)?
    .map_err(Error::internal)?;
    let (notice, error) = outcome.texts();
    Ok(admin.render(actix_web::http::StatusCode::OK, |v| {
        view::queue(v, &entries, notice.as_deref(), error.as_deref())
    }))
}

#[derive(Debug, Deserialize)]
struct IdQuery {
    id: String,
}

/// One queued message: its envelope, each recipient's state, and its header (never the
/// body: the root admin runs the system, they do not read other people's mail).
async fn show(
    req: HttpRequest,
    state: Data<AppState>,
    user: User,
    query: Query<IdQuery>,
) -> Result<HttpResponse, Error> {
    let admin = Admin::of(&state, user, &req).await?;
    admin.root()?;
    let id = query.into_inner().id;
    if !mta_core::queue::valid_id(&id) {
        return Err(Error::BadRequest(format!("{id:?} is not a queue id")));
    }
    let q = state.submitter.queue.clone();
    let found = web::block(move || -> Result<_, mta_core::queue::Error> {
        let entry = q.load(&id)?;
        let file = q.open_message(&entry)?;
        let mut header = String::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(std::io::Read::take(
            file,
            MAX_HEADER_SHOWN,
        ))) {
            let Ok(line) = line else { break };
            if line.trim_end_matches('\r').is_empty() {
                break;
            }
            header.push_str(line.trim_end_matches('\r'));
            header.push('\n');
        }
        Ok((entry, header))
    })
    .await
    .map_err(Error::internal)?;
    let (entry, header) = match found {
        Ok(found) => found,
        Err(mta_core::queue::Error::NoSuchMessage(id)) => {
            return Err(Error::NotFound(format!("no message {id} in the queue")));
        }
        Err(e) => return Err(Error::internal(e)),
    };
    Ok(admin.render(actix_web::http::StatusCode::OK, |v| view::queued(v, &entry, &header)))
}

#[derive(Debug, Deserialize)]
struct IdForm {
    csrf: String,
    id: String,
}

async fn retry(
    req: HttpRequest,
    state: Data<AppState>,
    user: User,
    form: Form<IdForm>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    let admin = Admin::of(&state, user, &req).await?;
    admin.root()?;
    let id = form.into_inner().id;
    if !mta_core::queue::valid_id(&id) {
        return Err(Error::BadRequest(format!("{id:?} is not a queue id")));
    }
    let (q, i) = (state.submitter.queue.clone(), id.clone());
    let done = web::block(move || q.make_due(&i)).await.map_err(Error::internal)?;
    if done.is_ok() {
        state.submitter.scheduler.notify(id.clone());
        admin.audit(&state, "queue.retry", &id, "");
    }
    Ok(back(
        "/admin/queue",
        &[],
        done.map(|()| format!("{id} is due now.")).map_err(|e| e.to_string()),
    ))
}

async fn delete(
    req: HttpRequest,
    state: Data<AppState>,
    user: User,
    form: Form<IdForm>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    let admin = Admin::of(&state, user, &req).await?;
    admin.root()?;
    let id = form.into_inner().id;
    if !mta_core::queue::valid_id(&id) {
        return Err(Error::BadRequest(format!("{id:?} is not a queue id")));
    }
    let (q, i) = (state.submitter.queue.clone(), id.clone());
    let done = web::block(move || q.remove(&i)).await.map_err(Error::internal)?;
    if done.is_ok() {
        admin.audit(&state, "queue.delete", &id, "dropped without a bounce");
    }
    Ok(back(
        "/admin/queue",
        &[],
        done.map(|()| format!("{id} deleted.")).map_err(|e| e.to_string()),
    ))
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<usize>,
}

async fn audit(
    req: HttpRequest,
    state: Data<AppState>,
    user: User,
    query: Query<PageQuery>,
) -> Result<HttpResponse, Error> {
    let admin = Admin::of(&state, user, &req).await?;
    admin.root()?;
    let page = query.page.unwrap_or(1).clamp(1, 10_000);
    let data = state.directory.data().clone();
    let mut events =
        web::block(move || mta_core::audit::read(&data, (page - 1) * AUDIT_PAGE, AUDIT_PAGE + 1))
            .await
            .map_err(Error::internal)?
            .map_err(Error::internal)?;
    let more = events.len() > AUDIT_PAGE;
    events.truncate(AUDIT_PAGE);
    Ok(admin.render(actix_web::http::StatusCode::OK, |v| view::audit(v, &events, page, more)))
}
