//! A recording HTTP proxy for the browser tests: Chromium sends *every* request through
//! it (loopback included, `--proxy-bypass-list=<-loopback>`), it tunnels the ones to the
//! webmail under test and refuses and records all others. "No request to any other
//! origin" is then a list that must stay empty.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// Hosts Chromium itself talks to whatever the page does: its component updater (and
/// the download hosts it is redirected to), account and autofill services (which ignore
/// the switches that should silence them) and Debian's default search engine,
/// preconnected at start. They are listed apart so that a page's request is never
/// mistaken for them: no test payload names these hosts.
const BROWSER_OWN: [&str; 6] =
    [".google.com", ".googleapis.com", ".gstatic.com", ".gvt1.com", ".gvt2.com", ".duckduckgo.com"];

/// Longest request head read before a request is refused unread.
const MAX_HEAD: usize = 64 * 1024;

/// The running proxy.
pub struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
    refused: Arc<Mutex<Vec<String>>>,
    browser_own: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Starts a proxy that tunnels only to `allowed` (`host:port` of the webmail).
    pub fn start(allowed: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy port");
        let addr = listener.local_addr().expect("proxy address");
        let refused = Arc::new(Mutex::new(Vec::new()));
        let browser_own = Arc::new(Mutex::new(Vec::new()));
        let (r, b) = (Arc::clone(&refused), Arc::clone(&browser_own));
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (r, b) = (Arc::clone(&r), Arc::clone(&b));
                std::thread::spawn(move || serve(stream, allowed, &r, &b));
            }
        });
        Proxy { addr, refused, browser_own }
    }

    /// Request lines refused so far (every request not to the webmail), emptied.
    pub fn take_refused(&self) -> Vec<String> {
        std::mem::take(&mut *self.refused.lock().expect("lock"))
    }

    /// Requests Chromium made on its own account (for the record).
    pub fn browser_own(&self) -> Vec<String> {
        self.browser_own.lock().expect("lock").clone()
    }
}

fn serve(
    mut client: TcpStream,
    allowed: SocketAddr,
    refused: &Mutex<Vec<String>>,
    browser_own: &Mutex<Vec<String>>,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < MAX_HEAD {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_string();
    let mut words = line.split(' ');
    let (method, target) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
    if method == "CONNECT" && target == allowed.to_string() {
        let Ok(upstream) = TcpStream::connect(allowed) else { return };
        if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").is_err() {
            return;
        }
        tunnel(client, upstream);
        return;
    }
    let host = host_of(method, target);
    if BROWSER_OWN.iter().any(|own| host.ends_with(own)) {
        browser_own.lock().expect("lock").push(line);
    } else {
        refused.lock().expect("lock").push(line);
    }
    let _ = client
        .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

/// The host a request goes to: `CONNECT host:port` or `GET http://host/path`.
fn host_of(method: &str, target: &str) -> String {
    let rest = if method == "CONNECT" {
        target
    } else {
        target.split_once("://").map_or(target, |(_, rest)| rest)
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    format!(".{}", host.to_ascii_lowercase())
}

fn tunnel(client: TcpStream, upstream: TcpStream) {
    let (Ok(mut client_read), Ok(mut upstream_read)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let (mut client_write, mut upstream_write) = (client, upstream);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream_read, &mut client_write);
    let _ = client_write.shutdown(Shutdown::Write);
    let _ = up.join();
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn hosts_of_request_targets() {
        assert_eq!(host_of("CONNECT", "evil.example:443"), ".evil.example");
        assert_eq!(host_of("GET", "http://Evil.Example:8080/x?y"), ".evil.example");
        assert_eq!(host_of("GET", "http://[::1]:9/x"), ".::1");
        assert_eq!(host_of("CONNECT", "update.googleapis.com:443"), ".update.googleapis.com");
    }
}
