//! The tokio driver of POP3 sessions: accepts connections (in the clear with STLS, or
//! implicit TLS), reads command lines with timeouts, checks passwords and opens the
//! maildrop off the async workers, streams messages, applies QUIT. Every protocol
//! decision is the [`Session`]'s.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use maildir::{Folder, Maildir};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::Pop3Config;
use super::maildrop::{self, Lock, Message, Wire};
use super::session::{Action, Session};
use crate::accounts::{Directory, Login, Service};
use crate::conn::{Conn, Line, LineBuffer, accept_loop};

/// Longest command line: RFC 2449 allows 255 octets; an AUTH PLAIN response with a
/// long password needs more.
const MAX_LINE: usize = 2048;
/// Bytes read from a message file per write to the client.
const CHUNK: usize = 64 * 1024;

/// What every session of a server shares.
pub struct Shared {
    /// Accounts: logins and Maildirs.
    pub directory: Arc<Directory>,
    /// STLS and implicit TLS; `None` when no certificate could be had.
    pub tls: Option<TlsAcceptor>,
    /// Bounds.
    pub config: Pop3Config,
}

/// Serves one listener until `shutdown` turns true. `implicit_tls`: pop3s.
pub async fn serve(
    listener: TcpListener,
    implicit_tls: bool,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    let max = shared.config.max_connections;
    let busy = b"-ERR [SYS/TEMP] too many connections; try again later\r\n".to_vec();
    accept_loop(listener, max, busy, "pop3", shutdown.clone(), move |stream, peer| {
        let (shared, shutdown) = (Arc::clone(&shared), shutdown.clone());
        async move { session(stream, peer, implicit_tls, &shared, shutdown).await }
    })
    .await;
}

/// The maildrop of a logged-in session.
struct Open {
    user: String,
    inbox: Folder,
    messages: Vec<Message>,
    retrieved: usize,
    _lock: Lock,
}

async fn session(
    stream: TcpStream,
    peer: SocketAddr,
    implicit_tls: bool,
    shared: &Shared,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut conn = Conn::Plain(stream);
    if implicit_tls {
        let Some(acceptor) = &shared.tls else { return Ok(()) };
        conn.upgrade(acceptor).await?;
    }
    let mut session = Session::new(implicit_tls, shared.tls.is_some());
    let mut lines = LineBuffer::new(MAX_LINE);
    let mut buf = vec![0u8; 16 * 1024];
    let mut open: Option<Open> = None;
    let deadline = Instant::now() + Duration::from_secs(shared.config.max_session_secs);
    let idle = Duration::from_secs(shared.config.idle_timeout_secs);
    let mut commands = 0usize;
    conn.write_all(session.greeting().as_bytes()).await?;
    let result = async {
        loop {
            while let Some(line) = lines.next_line() {
                commands += 1;
                let action = if commands > shared.config.max_commands {
                    Action::Close("-ERR [SYS/PERM] too many commands; closing\r\n".into())
                } else {
                    match line {
                        Line::Complete(line) => session.command(&line),
                        Line::TooLong => session.line_too_long(),
                    }
                };
                let action = match action {
                    Action::Authenticate { login, password } => {
                        authenticate(shared, &mut session, &mut open, login, password, peer).await
                    }
                    Action::Retrieve { index, top } => {
                        let Some(drop) = open.as_mut() else { return Ok(()) };
                        if top.is_none() {
                            drop.retrieved += 1;
                        }
                        send_message(&mut conn, drop, index, top).await?;
                        continue;
                    }
                    Action::Update { deleted, retrieved } => {
                        let Some(drop) = open.as_ref() else { return Ok(()) };
                        let inbox = drop.inbox.clone();
                        let files = |list: &[usize]| list.iter().map(|&i| drop.messages[i].file.clone()).collect::<Vec<_>>();
                        let (delete, seen) = (files(&deleted), files(&retrieved));
                        let applied = tokio::task::spawn_blocking(move || {
                            maildrop::update(&inbox, &delete.iter().collect::<Vec<_>>(), &seen.iter().collect::<Vec<_>>())
                        })
                        .await;
                        let result = match applied {
                            Ok(Ok(n)) => Ok(n),
                            Ok(Err(e)) => Err(format!("not every deletion could be applied: {e}")),
                            Err(e) => Err(e.to_string()),
                        };
                        tracing::info!(user = %drop.user, client = %peer, retrieved = drop.retrieved, deleted = ?result, "pop3: session ended");
                        session.updated(result)
                    }
                    other => other,
                };
                match action {
                    Action::Reply(text) => conn.write_all(text.as_bytes()).await?,
                    Action::Close(text) => {
                        conn.write_all(text.as_bytes()).await?;
                        conn.flush().await?;
                        return Ok(());
                    }
                    Action::StartTls(text) => {
                        conn.write_all(text.as_bytes()).await?;
                        conn.flush().await?;
                        // Commands pipelined behind STLS came in the clear: dropped.
                        lines.clear();
                        let Some(acceptor) = &shared.tls else { return Ok(()) };
                        conn.upgrade(acceptor).await?;
                        session.tls_started();
                    }
                    Action::Authenticate { .. } | Action::Retrieve { .. } | Action::Update { .. } => {}
                }
            }
            conn.flush().await?;
            let wait = idle.min(deadline.saturating_duration_since(Instant::now()));
            let stopping = async {
                let _ = shutdown.wait_for(|stop| *stop).await;
            };
            let read = tokio::select! {
                read = tokio::time::timeout(wait, conn.read(&mut buf)) => Some(read),
                () = stopping => None,
            };
            let Some(read) = read else {
                // Nothing is deleted: QUIT never came (RFC 1939 §6).
                conn.write_all(b"-ERR [SYS/TEMP] server shutting down; nothing was deleted\r\n").await?;
                return Ok(());
            };
            match read {
                Ok(Ok(0)) => return Ok(()),
                Ok(Ok(n)) => lines.push(&buf[..n]),
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    conn.write_all(b"-ERR idle too long; closing, nothing was deleted\r\n").await?;
                    return Ok(());
                }
            }
        }
    }
    .await;
    let _ = conn.flush().await;
    result
}

/// Checks a login and opens the maildrop, off the async workers.
async fn authenticate(
    shared: &Shared,
    session: &mut Session,
    open: &mut Option<Open>,
    login: String,
    password: Vec<u8>,
    peer: SocketAddr,
) -> Action {
    let directory = Arc::clone(&shared.directory);
    let who = format!("{} pop3 {peer}", crate::smtp::system_hostname());
    let checked = tokio::task::spawn_blocking(move || -> Result<_, String> {
        match directory.login(&login, &password, Service::Pop3).map_err(|e| e.to_string())? {
            Login::Granted(address) => {
                let maildir =
                    Maildir::open(directory.maildir(&address)).map_err(|e| e.to_string())?;
                let Some(lock) = maildrop::lock(maildir.root(), &who).map_err(|e| e.to_string())?
                else {
                    return Ok(Err(
                        "-ERR [IN-USE] this mailbox is open in another POP3 session\r\n"
                            .to_string(),
                    ));
                };
                let inbox = maildir.inbox();
                let messages = maildrop::open(&inbox).map_err(|e| e.to_string())?;
                Ok(Ok((address.to_string(), inbox, messages, lock)))
            }
            Login::Disabled(_) => {
                Ok(Err("-ERR [AUTH] POP3 is disabled for this account\r\n".to_string()))
            }
            Login::Refused => Ok(Err("-ERR [AUTH] invalid login\r\n".to_string())),
        }
    })
    .await;
    match checked {
        Ok(Ok(Ok((user, inbox, messages, lock)))) => {
            tracing::info!(%user, client = %peer, tls = session.is_tls(), messages = messages.len(), "pop3: login");
            let listed = messages.iter().map(|m| m.listed.clone()).collect();
            *open = Some(Open { user, inbox, messages, retrieved: 0, _lock: lock });
            session.logged_in(listed)
        }
        Ok(Ok(Err(reply))) => {
            let counts = reply.contains("[AUTH]");
            if counts {
                tracing::warn!(client = %peer, "pop3: login refused");
            }
            session.login_failed(reply, counts)
        }
        Ok(Err(e)) => {
            tracing::error!(client = %peer, "pop3: cannot open the maildrop: {e}");
            session.login_failed(
                "-ERR [SYS/TEMP] the mailbox cannot be opened; try again later\r\n".into(),
                false,
            )
        }
        Err(e) => session.login_failed(format!("-ERR [SYS/TEMP] {e}\r\n"), false),
    }
}

/// Sends message `index` (or its top) through [`Wire`], a chunk at a time.
async fn send_message(
    conn: &mut Conn,
    open: &Open,
    index: usize,
    top: Option<usize>,
) -> io::Result<()> {
    let message = &open.messages[index];
    let (inbox, file) = (open.inbox.clone(), message.file.clone());
    let opened = tokio::task::spawn_blocking(move || maildrop::open_message(&inbox, &file))
        .await
        .map_err(io::Error::other)?;
    let Ok(file) = opened else {
        conn.write_all(b"-ERR [SYS/TEMP] this message was removed by another program\r\n").await?;
        return Ok(());
    };
    let mut file = tokio::fs::File::from_std(file);
    let head = match top {
        None => format!("+OK {} octets\r\n", message.listed.size),
        Some(_) => "+OK top of message follows\r\n".to_string(),
    };
    conn.write_all(head.as_bytes()).await?;
    let mut wire = Wire::new(top);
    let mut chunk = vec![0u8; CHUNK];
    let mut out = Vec::with_capacity(CHUNK + CHUNK / 8);
    loop {
        let n = file.read(&mut chunk).await?;
        if n == 0 || wire.is_done() {
            break;
        }
        out.clear();
        wire.feed(&chunk[..n], &mut out);
        conn.write_all(&out).await?;
    }
    out.clear();
    wire.finish(&mut out);
    conn.write_all(&out).await?;
    conn.flush().await
}
