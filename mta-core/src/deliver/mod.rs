//! Delivery of queued messages: [`local`] into Maildirs; remote delivery (SMTP to the
//! next hop) arrives with its issue, until then remote recipients wait in the queue.

pub mod local;
