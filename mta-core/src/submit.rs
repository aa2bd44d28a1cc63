//! Submission from inside the process: the webmail's "Send". The same checks as SMTP
//! submission after AUTH — the sender must be one of the user's own addresses, every
//! recipient is resolved now (unknown local users refused, full mailboxes refused),
//! recipients and size bounded — then the message is streamed into the queue like an
//! SMTP DATA, with its own `Received:` line, and the scheduler is told. No shell, no
//! sendmail binary, no socket.

use std::io::Read;
use std::sync::Arc;

use crate::accounts::{Destination, Directory, Target};
use crate::names::Address;
use crate::queue::{self, Envelope, Queue, Recipient, scheduler};
use crate::smtp::SmtpConfig;
use crate::smtp::server::DirectoryBackend;
use crate::smtp::session::{Backend, RcptCheck};

/// What a submission needs of the running server.
#[derive(Clone)]
pub struct Submitter {
    /// Accounts: the sender's addresses, the recipients.
    pub directory: Arc<Directory>,
    /// This host's queue.
    pub queue: Queue,
    /// Told about each queued message.
    pub scheduler: scheduler::Handle,
    /// The same bounds as SMTP (recipients, size) and the host name for `Received:`.
    pub config: SmtpConfig,
}

/// Why a message was not queued; every message is meant for the person who pressed Send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The From address is not the user's.
    #[error("{0} is not one of your addresses; send from your own address or one of your aliases")]
    NotYourAddress(String),
    /// Nobody to send to.
    #[error("the message has no recipients")]
    NoRecipients,
    /// One recipient was refused.
    #[error("{address}: {reason}")]
    Recipient {
        /// As typed.
        address: String,
        /// Why, in words.
        reason: String,
        /// Whether trying again later may work.
        temporary: bool,
    },
    /// More recipients than a message may have.
    #[error("at most {0} recipients per message")]
    TooManyRecipients(usize),
    /// Bigger than any message accepted here.
    #[error("the message is {size} bytes; at most {max} bytes are accepted")]
    TooBig {
        /// Bytes written.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The queue's disk is full: nothing was queued; try again later.
    #[error("the mail queue's disk is full; nothing was sent, try again later")]
    DiskFull,
    /// Another storage failure: nothing was queued.
    #[error("the mail queue could not be written; nothing was sent, try again later")]
    Storage,
    /// The message could not be read from where the caller keeps it.
    #[error("the message could not be read: {0}")]
    Source(String),
}

impl SubmitError {
    /// Whether trying again later may work (nothing is wrong with the message itself).
    pub fn is_temporary(&self) -> bool {
        match self {
            SubmitError::Recipient { temporary, .. } => *temporary,
            SubmitError::DiskFull | SubmitError::Storage | SubmitError::Source(_) => true,
            _ => false,
        }
    }
}

impl Submitter {
    /// The addresses `user` may send from: their own, and every alias of their domain
    /// whose targets include them directly.
    pub fn own_addresses(&self, user: &Address) -> Vec<Address> {
        let mut own = vec![user.clone()];
        if let Ok(aliases) = self.directory.aliases(&user.domain) {
            for (local, targets) in aliases.iter() {
                if targets.iter().any(|t| matches!(t, Target::Local(a) if a == user)) {
                    own.push(Address { local: local.clone(), domain: user.domain.clone() });
                }
            }
        }
        own
    }

    /// Resolves the recipients as SMTP would after AUTH: each one, with the first
    /// refusal as the error.
    pub fn resolve(
        &self,
        sender: &str,
        recipients: &[String],
    ) -> Result<Vec<Recipient>, SubmitError> {
        if recipients.is_empty() {
            return Err(SubmitError::NoRecipients);
        }
        let backend = DirectoryBackend(&self.directory);
        let mut out: Vec<Recipient> = Vec::new();
        for address in recipients {
            let refuse = |reason: &str, temporary| SubmitError::Recipient {
                address: address.clone(),
                reason: reason.to_string(),
                temporary,
            };
            let destinations: Vec<Destination> =
                match backend.check_recipient(address, true, sender) {
                    RcptCheck::Accept(d) => d,
                    RcptCheck::Unknown => return Err(refuse("no such user here", false)),
                    RcptCheck::OverQuota => {
                        return Err(refuse("that mailbox is full; try again later", true));
                    }
                    RcptCheck::Invalid(why) => return Err(refuse(&why, false)),
                    RcptCheck::TempFail(why) => return Err(refuse(&why, true)),
                    RcptCheck::RelayDenied => return Err(refuse("relaying denied", false)),
                    RcptCheck::Refused(why) => {
                        return Err(refuse(
                            &format!("refused by the recipient's spam policy ({why})"),
                            false,
                        ));
                    }
                };
            for destination in destinations {
                if !out.iter().any(|r| r.destination == destination) {
                    out.push(Recipient { destination, original: address.clone() });
                }
            }
            if out.len() > self.config.max_recipients {
                return Err(SubmitError::TooManyRecipients(self.config.max_recipients));
            }
        }
        Ok(out)
    }

    /// Queues `message` (CRLF or LF line ends; bare CRs are dropped) from `from` on behalf
    /// of `user` to `recipients`. `client` says where it came from, for `Received:`
    /// (`webmail [192.0.2.1]`). Returns the queue id, after the message and its envelope
    /// are on disk and fsync'ed; the scheduler is told at once.
    pub fn submit(
        &self,
        user: &Address,
        from: &Address,
        recipients: &[String],
        message: &mut dyn Read,
        client: &str,
    ) -> Result<String, SubmitError> {
        if !self.own_addresses(user).contains(from) {
            return Err(SubmitError::NotYourAddress(from.to_string()));
        }
        let recipients = self.resolve(&from.to_string(), recipients)?;
        let now = queue::now();
        let envelope = Envelope {
            sender: from.to_string(),
            received: now,
            client: client.to_string(),
            recipients,
        };
        let storage = |e: queue::Error| {
            tracing::error!("submit: queue failure: {e}");
            if e.is_disk_full() { SubmitError::DiskFull } else { SubmitError::Storage }
        };
        let mut incoming = self.queue.begin(&envelope).map_err(storage)?;
        let date = mail_parser::DateTime::from_timestamp(now as i64).to_rfc822();
        let received = format!(
            "Received: from {client}\n\tby {} (Mailroom) with HTTPSA id {} (authenticated as {user});\n\t{date}\n",
            self.config.hostname,
            incoming.id()
        );
        let written = (|| {
            incoming.write(received.as_bytes()).map_err(storage)?;
            copy_as_lf(
                message,
                |chunk| incoming.write(chunk).map_err(storage),
                self.config.max_message_size,
            )
        })();
        match written {
            Ok(()) => {}
            Err(e) => {
                incoming.abort();
                return Err(e);
            }
        }
        // Q2: +mess — acknowledged only now (INTERNALS.md §5).
        let id = incoming.commit().map_err(storage)?;
        tracing::info!(id = %id, from = %from, rcpts = envelope.recipients.len(), user = %user, client, "submit: queued");
        self.scheduler.notify(id.clone());
        Ok(id)
    }
}

/// Copies `message` to `write` with LF line ends (the queue's form), dropping bare CRs;
/// fails once more than `max` bytes have come.
fn copy_as_lf(
    message: &mut dyn Read,
    mut write: impl FnMut(&[u8]) -> Result<(), SubmitError>,
    max: u64,
) -> Result<(), SubmitError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(buf.len());
    let mut size = 0u64;
    loop {
        let n = message.read(&mut buf).map_err(|e| SubmitError::Source(e.to_string()))?;
        if n == 0 {
            return Ok(());
        }
        size += n as u64;
        if size > max {
            return Err(SubmitError::TooBig { size, max });
        }
        out.clear();
        out.extend(buf[..n].iter().copied().filter(|&b| b != b'\r'));
        write(&out)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_with_lf_ends_and_stops_at_the_limit() {
        let mut got = Vec::new();
        let mut input: &[u8] = b"Subject: x\r\n\r\nline one\r\nline\rtwo\n";
        let collect = |c: &[u8]| {
            got.extend_from_slice(c);
            Ok(())
        };
        copy_as_lf(&mut input, collect, 1000).expect("copy");
        assert_eq!(got, b"Subject: x\n\nline one\nlinetwo\n");
        let mut big: &[u8] = &[b'a'; 5000];
        let err = copy_as_lf(&mut big, |_| Ok(()), 100).expect_err("too big");
        assert_eq!(err, SubmitError::TooBig { size: 5000, max: 100 });
    }
}
