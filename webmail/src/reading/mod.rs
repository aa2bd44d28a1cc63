//! Reading a message: its parts ([`parts`]), its plain text made readable ([`text`]),
//! its HTML made safe ([`html`]). Pure functions over parsed messages; the routes do the
//! I/O.

pub mod html;
pub mod parts;
pub mod text;
