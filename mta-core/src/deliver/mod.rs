//! Delivery of queued messages: [`local`] into Maildirs, and the [`vacation`]
//! autoreplies that local delivery triggers; remote delivery (SMTP to the next hop)
//! arrives with its issue, until then remote recipients wait in the queue.

pub mod local;
pub mod vacation;
