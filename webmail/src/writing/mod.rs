//! Writing mail: recipient fields checked, the text made flowed, the message built
//! with its attachments streamed from the spool, and the compose spool itself.
//!
//! # Layout
//! - [`addresses`]: typed recipient fields → checked mailboxes
//! - [`flowed`]: typed text → `format=flowed`
//! - [`build`]: the MIME message, written to any `Write`

pub mod addresses;
pub mod build;
pub mod flowed;
