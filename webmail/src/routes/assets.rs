//! The stylesheet (and later icons and the little JavaScript), embedded in the binary.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::{self, ServiceConfig};

/// `assets/style.css`.
const STYLE: &str = include_str!("../../../assets/style.css");

/// Registers the asset routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/static/style.css", web::get().to(style));
}

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        // Assets change only with the binary; a day of caching is safe.
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(STYLE)
}
