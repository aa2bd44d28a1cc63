//! One module per `mailroom` command.

pub mod index;
