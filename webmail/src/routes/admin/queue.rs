//! The root admin's view of this host's queue (list, show, retry now, delete) and of the
//! audit log of every host.

use actix_web::HttpResponse;
use actix_web::web::{self, Data, Form, Query, ServiceConfig};
use serde::Deserialize;

use super::{Admin, Outcome, back};
use crate::http::{AppState, Error};
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
    state: Data<AppState>,
    admin: Admin,
    outcome: Query<Outcome>,
) -> Result<HttpResponse, Error> {
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
    state: Data<AppState>,
    admin: Admin,
    query: Query<IdQuery>,
) -> Result<HttpResponse, Error> {
    admin.root()?;
    let id = checked_id(query.into_inner().id)?;
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

/// A queue id from a request, checked by grammar: it names a file, so it is never a path.
fn checked_id(id: String) -> Result<String, Error> {
    if mta_core::queue::valid_id(&id) {
        Ok(id)
    } else {
        Err(Error::BadRequest(format!("{id:?} is not a queue id")))
    }
}

/// What the root admin does to one queued message.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// Every deferred recipient due now.
    Retry,
    /// Dropped without a bounce.
    Delete,
}

async fn retry(
    state: Data<AppState>,
    admin: Admin,
    form: Form<IdForm>,
) -> Result<HttpResponse, Error> {
    act(&state, &admin, form.into_inner(), Act::Retry).await
}

async fn delete(
    state: Data<AppState>,
    admin: Admin,
    form: Form<IdForm>,
) -> Result<HttpResponse, Error> {
    act(&state, &admin, form.into_inner(), Act::Delete).await
}

async fn act(
    state: &AppState,
    admin: &Admin,
    form: IdForm,
    act: Act,
) -> Result<HttpResponse, Error> {
    admin.check_csrf(&form.csrf)?;
    admin.root()?;
    let id = checked_id(form.id)?;
    let (q, i) = (state.submitter.queue.clone(), id.clone());
    let done = web::block(move || match act {
        Act::Retry => q.make_due(&i),
        Act::Delete => q.remove(&i),
    })
    .await
    .map_err(Error::internal)?;
    let (action, detail, said) = match act {
        Act::Retry => ("queue.retry", "", format!("{id} is due now.")),
        Act::Delete => ("queue.delete", "dropped without a bounce", format!("{id} deleted.")),
    };
    if done.is_ok() {
        if let Act::Retry = act {
            state.submitter.scheduler.notify(id.clone());
        }
        admin.audit(state, action, &id, detail);
    }
    Ok(back("/admin/queue", &[], done.map(|()| said).map_err(|e| e.to_string())))
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<usize>,
}

async fn audit(
    state: Data<AppState>,
    admin: Admin,
    query: Query<PageQuery>,
) -> Result<HttpResponse, Error> {
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
