//! The routes, grouped by area; each area's `config` registers its own.

pub mod addressbook;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod compose;
pub mod folder;
pub mod message;
pub mod settings;

use actix_web::web::ServiceConfig;

/// Every route of the HTTPS app.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.configure(assets::config)
        .configure(addressbook::config)
        .configure(admin::config)
        .configure(auth::config)
        .configure(compose::config)
        .configure(folder::config)
        .configure(message::config)
        .configure(settings::config);
}
