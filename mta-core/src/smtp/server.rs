//! The tokio driver of SMTP sessions: accepts connections, reads and writes the socket
//! with timeouts, upgrades to TLS, streams DATA into the queue and tells the scheduler.
//! All protocol decisions are the [`Session`]'s.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::SmtpConfig;
use super::reply::Reply;
use super::session::{Action, Backend, DataOutcome, Port, RcptCheck, Session};
use super::wire::{DataDecoder, DataEvent, MAX_LINE};
use crate::accounts::{Destination, Directory, Resolution, Service};
use crate::conn::{Conn, Line, LineBuffer, accept_loop};
use crate::names::RemoteAddress;
use crate::queue::{self, Queue, scheduler};

/// What every session of a server shares.
pub struct Shared {
    /// Accounts, for recipients and AUTH.
    pub directory: Arc<Directory>,
    /// This host's queue.
    pub queue: Queue,
    /// Told about each queued message.
    pub scheduler: scheduler::Handle,
    /// STARTTLS and implicit TLS; `None` when no certificate could be had.
    pub tls: Option<TlsAcceptor>,
    /// Bounds and names.
    pub config: SmtpConfig,
}

/// Looks recipients up in the accounts directory (for SMTP sessions and for in-process
/// submission alike).
pub struct DirectoryBackend<'a>(pub &'a Directory);

impl Backend for DirectoryBackend<'_> {
    fn check_recipient(&self, address: &str, relay: bool, sender: &str) -> RcptCheck {
        match self.0.resolve(address) {
            Ok(Resolution::Found(destinations)) => {
                if let [Destination::Mailbox(mailbox)] = destinations.as_slice()
                    && is_full(&self.0.maildir(mailbox))
                {
                    return RcptCheck::OverQuota;
                }
                // Mailboxes whose spam policy refuses this sender are left out; if that is
                // all of them, the recipient is refused now (never bounced later).
                let mut refused = None;
                let kept: Vec<Destination> = destinations
                    .into_iter()
                    .filter(|d| match d {
                        Destination::Mailbox(mailbox) => {
                            match crate::policy::for_mailbox(self.0, mailbox, sender) {
                                crate::policy::Decision::Spam {
                                    action: crate::policy::SpamAction::Reject,
                                    reason,
                                    ..
                                } => {
                                    refused = Some(reason);
                                    false
                                }
                                _ => true,
                            }
                        }
                        Destination::Remote(_) => true,
                    })
                    .collect();
                match (kept.is_empty(), refused) {
                    (true, Some(reason)) => RcptCheck::Refused(reason),
                    _ => RcptCheck::Accept(kept),
                }
            }
            Ok(Resolution::Unknown) => RcptCheck::Unknown,
            // Accepted, and delivered nowhere (the domain wants unknown mail dropped).
            Ok(Resolution::Discard) => RcptCheck::Accept(Vec::new()),
            Ok(Resolution::NotLocal) if !relay => RcptCheck::RelayDenied,
            Ok(Resolution::NotLocal) => match RemoteAddress::parse(address) {
                Ok(remote) => RcptCheck::Accept(vec![Destination::Remote(remote)]),
                Err(e) => RcptCheck::Invalid(e.reason.to_string()),
            },
            Err(e) => RcptCheck::TempFail(e.to_string()),
        }
    }
}

/// Whether a Maildir is at or over its quota already (known at RCPT time).
fn is_full(maildir: &std::path::Path) -> bool {
    match maildir::quota::status(maildir) {
        Ok(Some(status)) => {
            status.limit.bytes.is_some_and(|max| status.used.bytes >= max)
                || status.limit.messages.is_some_and(|max| status.used.messages >= max)
        }
        _ => false,
    }
}

/// Serves one listener until `shutdown` turns true; then waits for its sessions to end
/// (each ends at its next command, or after its DATA).
pub async fn serve(
    listener: TcpListener,
    port: Port,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    let max = shared.config.max_connections;
    let busy = Reply::new(421, "4.3.2", "too many connections; try again later").to_wire();
    accept_loop(listener, max, busy, "smtp", shutdown.clone(), move |stream, peer| {
        let (shared, shutdown) = (Arc::clone(&shared), shutdown.clone());
        async move { session(stream, peer, port, &shared, shutdown).await }
    })
    .await;
}

/// Read buffer per connection; with the line buffer and the queue file's write buffer
/// this bounds a session's memory (about 100 KiB, whatever the client sends).
const READ_BUF: usize = 16 * 1024;

struct Driver<'a> {
    conn: Conn,
    buf: Vec<u8>,
    lines: LineBuffer,
    out: Vec<u8>,
    shared: &'a Shared,
    deadline: Instant,
    shutdown: watch::Receiver<bool>,
}

enum Read {
    Bytes(usize),
    Eof,
    Idle,
    Shutdown,
}

impl Driver<'_> {
    async fn read(&mut self, allow_shutdown: bool) -> io::Result<Read> {
        let idle = Duration::from_secs(self.shared.config.idle_timeout_secs);
        let left = self.deadline.saturating_duration_since(Instant::now());
        let wait = idle.min(left);
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            read = tokio::time::timeout(wait, self.conn.read(&mut self.buf)) => match read {
                Ok(Ok(0)) => Ok(Read::Eof),
                Ok(Ok(n)) => Ok(Read::Bytes(n)),
                Ok(Err(e)) => Err(e),
                Err(_) => Ok(Read::Idle),
            },
            _ = shutdown.wait_for(|stop| *stop), if allow_shutdown => Ok(Read::Shutdown),
        }
    }

    async fn send(&mut self, reply: &Reply) -> io::Result<()> {
        self.out.extend_from_slice(&reply.to_wire());
        self.flush().await
    }

    async fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.conn.write_all(&self.out).await?;
            self.conn.flush().await?;
            self.out.clear();
        }
        Ok(())
    }
}

async fn session(
    stream: TcpStream,
    peer: SocketAddr,
    port: Port,
    shared: &Shared,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut session = Session::new(shared.config.clone(), port, peer.ip(), shared.tls.is_some());
    let mut driver = Driver {
        conn: Conn::Plain(stream),
        buf: vec![0; READ_BUF],
        lines: LineBuffer::new(MAX_LINE),
        out: Vec::with_capacity(1024),
        shared,
        deadline: Instant::now() + Duration::from_secs(shared.config.max_session_secs),
        shutdown,
    };
    if port == Port::Submissions {
        let Some(acceptor) = &shared.tls else { return Ok(()) };
        driver.conn.upgrade(acceptor).await?;
    }
    driver.send(&session.greeting()).await?;
    let backend = DirectoryBackend(&shared.directory);
    loop {
        // Answer every complete line buffered (a pipelined group), then flush once.
        while let Some(line) = driver.lines.next_line() {
            let action = match line {
                Line::Complete(line) => session.command(&line, &backend),
                Line::TooLong => session.line_too_long(),
            };
            let action = match action {
                Action::Authenticate { login, password } => {
                    authenticate(shared, &mut session, login, password).await
                }
                other => other,
            };
            match action {
                Action::Reply(reply) => driver.out.extend_from_slice(&reply.to_wire()),
                Action::Close(reply) => {
                    driver.send(&reply).await?;
                    return Ok(());
                }
                Action::StartTls(reply) => {
                    driver.send(&reply).await?;
                    // Anything pipelined after STARTTLS came in the clear: dropped.
                    driver.lines.clear();
                    let Some(acceptor) = &shared.tls else { return Ok(()) };
                    driver.conn.upgrade(acceptor).await?;
                    session.tls_started();
                }
                Action::Data(reply) => {
                    driver.send(&reply).await?;
                    let (reply, close) = receive(&mut driver, &mut session).await?;
                    driver.out.extend_from_slice(&reply.to_wire());
                    if close {
                        driver.flush().await?;
                        return Ok(());
                    }
                }
                // `authenticate` answers with a reply or a close, never another AUTH.
                Action::Authenticate { .. } => {}
            }
        }
        driver.flush().await?;
        match driver.read(true).await? {
            Read::Bytes(n) => {
                let bytes = driver.buf[..n].to_vec();
                driver.lines.push(&bytes);
            }
            Read::Eof => return Ok(()),
            Read::Idle => {
                driver.send(&Reply::new(421, "4.4.2", "idle too long; closing")).await?;
                return Ok(());
            }
            Read::Shutdown => {
                driver
                    .send(&Reply::new(421, "4.3.2", "server shutting down; try again later"))
                    .await?;
                return Ok(());
            }
        }
    }
}

/// Checks AUTH credentials on a blocking thread (argon2 takes tens of milliseconds).
async fn authenticate(
    shared: &Shared,
    session: &mut Session,
    login: String,
    password: Vec<u8>,
) -> Action {
    let directory = Arc::clone(&shared.directory);
    let checked =
        tokio::task::spawn_blocking(move || directory.login(&login, &password, Service::Smtp))
            .await;
    match checked {
        Ok(Ok(login)) => session.auth_done(login),
        _ => Action::Reply(Reply::new(454, "4.7.0", "temporary authentication failure")),
    }
}

/// Receives the message after 354: decode, stream to the queue, commit. Returns the
/// reply and whether the session must close.
async fn receive(driver: &mut Driver<'_>, session: &mut Session) -> io::Result<(Reply, bool)> {
    let shared = driver.shared;
    let max = session.max_message_size();
    let mut incoming = shared.queue.begin(&session.envelope(queue::now()));
    let mut failure: Option<DataOutcome> = None;
    if let Ok(incoming) = &mut incoming {
        let date = mail_parser::DateTime::from_timestamp(queue::now() as i64).to_rfc822();
        let header = session.received_header(incoming.id(), &date);
        if let Err(e) = incoming.write(header.as_bytes()) {
            failure = Some(storage_failure(&e));
        }
    } else if let Err(e) = &incoming {
        failure = Some(storage_failure(e));
    }
    let mut decoder = DataDecoder::default();
    let mut chunk = Vec::with_capacity(READ_BUF);
    // Bytes pipelined right behind DATA are the start of the message.
    let mut pending = driver.lines.take();
    loop {
        chunk.clear();
        let event = decoder.feed(&pending, &mut chunk);
        if failure.is_none() && decoder.size > max {
            failure = Some(DataOutcome::TooBig);
        }
        if failure.is_none()
            && let Ok(incoming) = &mut incoming
            && let Err(e) = incoming.write(&chunk)
        {
            failure = Some(storage_failure(&e));
        }
        match event {
            DataEvent::More => {}
            DataEvent::End { consumed } => {
                // What follows the end of data is the next command (QUIT, pipelined).
                driver.lines.push(&pending[consumed..]);
                break;
            }
            DataEvent::BareNewline => {
                if let Ok(incoming) = incoming {
                    incoming.abort();
                }
                tracing::warn!(client = %session.client, "smtp: bare CR or LF in DATA; refused and closed");
                return Ok((session.bare_newline(), true));
            }
        }
        match driver.read(false).await? {
            Read::Bytes(n) => pending = driver.buf[..n].to_vec(),
            Read::Eof | Read::Shutdown => {
                if let Ok(incoming) = incoming {
                    incoming.abort();
                }
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            Read::Idle => {
                if let Ok(incoming) = incoming {
                    incoming.abort();
                }
                return Ok((Reply::new(421, "4.4.2", "idle too long in DATA; closing"), true));
            }
        }
    }
    if failure.is_none() && decoder.hops > shared.config.max_hops {
        failure = Some(DataOutcome::TooManyHops(decoder.hops));
    }
    let outcome = match (failure, incoming) {
        (Some(failure), Ok(incoming)) => {
            incoming.abort();
            failure
        }
        (Some(failure), Err(_)) => failure,
        (None, Ok(incoming)) => {
            match tokio::task::spawn_blocking(move || incoming.commit()).await {
                Ok(Ok(id)) => DataOutcome::Queued(id),
                Ok(Err(e)) => storage_failure(&e),
                Err(e) => DataOutcome::TempFail(e.to_string()),
            }
        }
        (None, Err(e)) => storage_failure(&e),
    };
    log_transaction(session, &outcome, decoder.size);
    if let DataOutcome::Queued(id) = &outcome {
        shared.scheduler.notify(id.clone());
    }
    Ok((session.data_done(outcome), false))
}

fn storage_failure(e: &queue::Error) -> DataOutcome {
    if e.is_disk_full() {
        tracing::error!("smtp: queue storage full: {e}");
        DataOutcome::DiskFull
    } else {
        tracing::error!("smtp: queue failure: {e}");
        DataOutcome::TempFail("cannot write the queue".into())
    }
}

/// One summary line per transaction, with the queue id.
fn log_transaction(session: &Session, outcome: &DataOutcome, size: u64) {
    let envelope = session.envelope(0);
    let rcpts = envelope.recipients.len();
    let auth = session.authenticated().map(|a| a.to_string()).unwrap_or_default();
    match outcome {
        DataOutcome::Queued(id) => tracing::info!(
            id = %id, from = %envelope.sender, rcpts, size, client = %session.client,
            tls = session.is_tls(), auth = %auth, "smtp: queued"
        ),
        other => tracing::warn!(
            from = %envelope.sender, rcpts, size, client = %session.client,
            tls = session.is_tls(), auth = %auth, outcome = ?other, "smtp: refused"
        ),
    }
}
