//! The stylesheet (and later icons and the little JavaScript), embedded in the binary.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::{self, ServiceConfig};

/// `assets/style.css`.
const STYLE: &str = include_str!("../../../assets/style.css");
/// `assets/attachment.svg`: the attachment mark of the message list (an icon, not an
/// emoji: not every system has an emoji font).
const ATTACHMENT: &str = include_str!("../../../assets/attachment.svg");

/// Registers the asset routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/static/style.css", web::get().to(|| asset("text/css; charset=utf-8", STYLE)))
        .route("/static/attachment.svg", web::get().to(|| asset("image/svg+xml", ATTACHMENT)));
}

async fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        // Assets change only with the binary; a day of caching is safe.
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(body)
}
