//! The user's own settings (`prefs.toml`): how folder pages are shown.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::{self, Data, Form, Query, ServiceConfig};
use maud::Markup;
use mta_core::accounts::{Prefs, SortField};
use serde::Deserialize;

use crate::http::{AppState, Error, User};
use crate::views::layout::Viewer;
use crate::views::settings;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/settings", web::get().to(settings_page)).route("/settings", web::post().to(save));
}

#[derive(Debug, Deserialize)]
struct Saved {
    saved: Option<String>,
}

async fn settings_page(
    state: Data<AppState>,
    user: User,
    query: Query<Saved>,
) -> Result<Markup, Error> {
    let (directory, address) = (state.directory.clone(), user.session.user.clone());
    let prefs = web::block(move || directory.prefs(&address)).await.map_err(Error::internal)??;
    let csrf = user.csrf();
    let viewer = Viewer { user: &user.session.user.to_string(), csrf: &csrf };
    Ok(settings::page(viewer, &prefs, query.saved.is_some()))
}

#[derive(Debug, Deserialize)]
struct SettingsForm {
    csrf: String,
    page_size: String,
    sort: String,
    dir: String,
}

async fn save(
    state: Data<AppState>,
    user: User,
    form: Form<SettingsForm>,
) -> Result<HttpResponse, Error> {
    user.check_csrf(&form.csrf)?;
    let page_size = form.page_size.trim().parse::<u16>().map_err(|_| {
        Error::BadRequest(format!("{:?} is not a number of messages", form.page_size))
    })?;
    let sort = SortField::parse(&form.sort).ok_or_else(|| {
        Error::BadRequest(format!(
            "cannot sort by {:?}; use date, from, subject or size",
            form.sort
        ))
    })?;
    let descending = match form.dir.as_str() {
        "natural" => None,
        "desc" => Some(true),
        "asc" => Some(false),
        other => {
            return Err(Error::BadRequest(format!(
                "direction {other:?} is not asc, desc or natural"
            )));
        }
    };
    let (directory, address) = (state.directory.clone(), user.session.user.clone());
    web::block(move || {
        // Other settings in the file are kept as they are.
        let mut prefs: Prefs = (*directory.prefs(&address)?).clone();
        (prefs.page_size, prefs.sort, prefs.descending) = (page_size, sort, descending);
        directory.set_prefs(&address, &prefs)
    })
    .await
    .map_err(Error::internal)??;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/settings?saved=1")).finish())
}
