//! A client connection of the SMTP and POP3 servers: accepting them within a bound, in
//! the clear or over TLS (STARTTLS and STLS swap one for the other), and the bounded
//! line framing of their commands.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

/// Accepts connections on `listener` until `shutdown` turns true and runs `session` for
/// each, at most `max` at once: one more is told `busy` and closed. Then stops
/// accepting at once and waits for the sessions to end (each notices the shutdown on
/// its own). `what` names the service in the log.
pub async fn accept_loop<F, Fut>(
    listener: TcpListener,
    max: usize,
    busy: Vec<u8>,
    what: &'static str,
    mut shutdown: watch::Receiver<bool>,
    session: F,
) where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let (slots, busy): (_, Arc<[u8]>) = (Arc::new(Semaphore::new(max)), busy.into());
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (mut stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // EMFILE and the like: back off a little rather than spin on the error
                // (this is not a wait for a condition; the next accept may succeed).
                tracing::warn!("{what}: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            let busy = Arc::clone(&busy);
            tokio::spawn(async move {
                let _ = stream.write_all(&busy).await;
            });
            continue;
        };
        let running = session(stream, peer);
        tokio::spawn(async move {
            if let Err(e) = running.await {
                tracing::debug!(%peer, "{what}: session ended: {e}");
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = slots.acquire_many(max as u32).await;
}

/// A connection, in the clear or over TLS (STARTTLS swaps one for the other).
pub enum Conn {
    /// In the clear.
    Plain(TcpStream),
    /// Over TLS.
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// Between the two (a failed upgrade).
    Closed,
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Conn::Closed => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Conn::Closed => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Conn::Closed => Poll::Ready(Ok(())),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Conn::Closed => Poll::Ready(Ok(())),
        }
    }
}

impl Conn {
    /// Starts TLS on a plain connection (STARTTLS, STLS, or implicit TLS at once).
    pub async fn upgrade(&mut self, acceptor: &TlsAcceptor) -> io::Result<()> {
        let Conn::Plain(tcp) = std::mem::replace(self, Conn::Closed) else {
            return Err(io::Error::other("TLS is already active"));
        };
        *self = Conn::Tls(Box::new(acceptor.accept(tcp).await?));
        Ok(())
    }
}

/// What the line buffer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line without its line ending.
    Complete(Vec<u8>),
    /// A line longer than the bound; its bytes were dropped up to its end.
    TooLong,
}

/// Splits a command stream into lines, holding at most `limit` bytes of a line.
#[derive(Debug)]
pub struct LineBuffer {
    buf: Vec<u8>,
    /// Inside an over-long line: dropping bytes until its LF.
    skipping: bool,
    /// Longest line, its line ending included.
    limit: usize,
}

impl LineBuffer {
    /// A buffer for lines of at most `limit` bytes.
    pub fn new(limit: usize) -> LineBuffer {
        LineBuffer { buf: Vec::new(), skipping: false, limit }
    }

    /// Appends bytes read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line, if one is buffered. `LF` or `CRLF` ends a line (commands
    /// are lenient; DATA is not).
    pub fn next_line(&mut self) -> Option<Line> {
        let Some(pos) = memchr::memchr(b'\n', &self.buf) else {
            if self.buf.len() > self.limit {
                self.buf.clear();
                self.skipping = true;
            }
            return None;
        };
        let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
        if std::mem::take(&mut self.skipping) || line.len() > self.limit {
            return Some(Line::TooLong);
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(Line::Complete(line))
    }

    /// Whether bytes of an unfinished line are waiting.
    pub fn has_pending(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Drops everything buffered (after STARTTLS: plaintext pipelined behind it must not
    /// be read as if it came over TLS).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.skipping = false;
    }

    /// Takes what is buffered (the start of DATA's message, when a client pipelined it).
    pub fn take(&mut self) -> Vec<u8> {
        self.skipping = false;
        std::mem::take(&mut self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_and_cleared() {
        let mut lines = LineBuffer::new(100);
        lines.push(b"EHLO a\r\nNOOP\n");
        assert_eq!(lines.next_line(), Some(Line::Complete(b"EHLO a".to_vec())));
        assert_eq!(lines.next_line(), Some(Line::Complete(b"NOOP".to_vec())));
        assert_eq!(lines.next_line(), None);
        lines.push(&[b'x'; 110]);
        assert_eq!(lines.next_line(), None);
        assert!(!lines.has_pending(), "an over-long line is not held");
        lines.push(b"yyy\r\nQUIT\r\n");
        assert_eq!(lines.next_line(), Some(Line::TooLong));
        assert_eq!(lines.next_line(), Some(Line::Complete(b"QUIT".to_vec())));
        lines.push(b"RSET\r\n");
        lines.clear();
        assert_eq!(lines.next_line(), None);
    }
}
