//! The HTTPS server of the webmail (actix-web over rustls), the plain-HTTP listener
//! that only redirects, the security headers every response carries, and the
//! logged-in-user extractor.
//!
//! # Layout
//! - [`session`]: server-side sessions in `sessions/`, CSRF tokens
//! - [`limiter`]: login rate limiting per address and per account
//! - [`error`]: the error type, rendered through the layout

pub mod error;
pub mod limiter;
pub mod session;

use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::{Payload, ServerHandle};
use actix_web::http::header;
use actix_web::middleware::{Compress, DefaultHeaders};
use actix_web::{App, FromRequest, HttpRequest, HttpResponse, HttpServer, web};
use mta_core::accounts::Directory;

use crate::indexes::IndexCache;
use crate::routes;
pub use error::Error;
use session::{Invalid, Session, SessionStore};

/// The Content-Security-Policy of every page: nothing but this origin's stylesheet and
/// images, no script at all, no framing, forms post only here.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

/// What every request handler shares.
pub struct AppState {
    /// Accounts, for logins.
    pub directory: Arc<Directory>,
    /// Web sessions.
    pub sessions: SessionStore,
    /// Failed-login counts.
    pub limiter: limiter::LoginLimiter,
    /// Header indexes of folders being viewed.
    pub indexes: IndexCache,
    /// Sending: into this host's queue, with SMTP submission's checks.
    pub submitter: mta_core::submit::Submitter,
}

/// The running web listeners.
pub struct Web {
    /// Where HTTPS listens.
    pub https: Option<SocketAddr>,
    /// Where plain HTTP (redirects only) listens.
    pub http: Option<SocketAddr>,
    handles: Vec<ServerHandle>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Web {
    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn stop(self) {
        for handle in &self.handles {
            handle.stop(true).await;
        }
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Binds and starts the listeners on the current tokio runtime.
pub fn start(
    state: Arc<AppState>,
    https: Option<SocketAddr>,
    http: Option<SocketAddr>,
    tls: &rustls::ServerConfig,
) -> std::io::Result<Web> {
    let mut web = Web { https: None, http: None, handles: Vec::new(), tasks: Vec::new() };
    if let Some(address) = https {
        let mut tls = tls.clone();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let data = web::Data::from(state);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(Compress::default())
                .wrap(security_headers())
                .wrap_fn(server_timing)
                // Malformed query strings and forms get the same page as every error.
                .app_data(web::QueryConfig::default().error_handler(|e, _| {
                    Error::BadRequest(format!("this link is malformed: {e}")).into()
                }))
                .app_data(web::FormConfig::default().limit(64 * 1024).error_handler(|e, _| {
                    Error::BadRequest(format!("this form could not be read: {e}")).into()
                }))
                .configure(routes::config)
                .default_service(web::to(|| async {
                    Err::<HttpResponse, _>(Error::NotFound("there is no such page".into()))
                }))
        })
        .workers(2)
        .shutdown_timeout(10)
        .disable_signals()
        .listen_rustls_0_23(listener(address)?, tls)?;
        web.https = server.addrs().first().copied();
        let server = server.run();
        web.handles.push(server.handle());
        web.tasks.push(tokio::spawn(server));
    }
    if let Some(address) = http {
        let https_port = web.https.map(|a| a.port()).unwrap_or(443);
        let server = HttpServer::new(move || {
            App::new()
                .wrap(security_headers())
                .default_service(web::to(move |req: HttpRequest| redirect(req, https_port)))
        })
        .workers(1)
        .disable_signals()
        .listen(listener(address)?)?;
        web.http = server.addrs().first().copied();
        let server = server.run();
        web.handles.push(server.handle());
        web.tasks.push(tokio::spawn(server));
    }
    Ok(web)
}

/// A listening socket with TCP_NODELAY, which Linux passes on to every accepted
/// connection: a page goes out as soon as it is written, not after the client's delayed
/// ACK of its first piece (40 ms).
fn listener(address: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(address)?;
    socket2::SockRef::from(&listener).set_tcp_nodelay(true)?;
    Ok(listener)
}

/// Adds `Server-Timing: app;dur=<ms>`: the time from the request to its response,
/// without the network and TLS. It tells an operator (and the benchmark) what the server
/// spent, and a client nothing its own clock does not.
fn server_timing<S, B>(
    req: actix_web::dev::ServiceRequest,
    service: &S,
) -> impl std::future::Future<Output = Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>>
+ use<S, B>
where
    S: actix_web::dev::Service<
            actix_web::dev::ServiceRequest,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    let start = std::time::Instant::now();
    let response = service.call(req);
    async move {
        let mut response = response.await?;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        if let Ok(value) = header::HeaderValue::from_str(&format!("app;dur={ms:.3}")) {
            response.headers_mut().insert(header::HeaderName::from_static("server-timing"), value);
        }
        Ok(response)
    }
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CSP))
        .add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::CACHE_CONTROL, "no-store"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

/// Plain HTTP: the same path on HTTPS, nothing else.
async fn redirect(req: HttpRequest, https_port: u16) -> HttpResponse {
    let host = req.connection_info().host().to_string();
    // The name without the port: "[::1]:8080" → "[::1]", "mail.example.org:80" → "mail.example.org".
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(String::new(), |(v6, _)| format!("[{v6}]")),
        None => host.split(':').next().unwrap_or_default().to_string(),
    };
    // Only a host name or address goes into the Location, never other header bytes.
    let safe = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
    let name = if safe { name } else { "localhost".to_string() };
    let port = if https_port == 443 { String::new() } else { format!(":{https_port}") };
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, format!("https://{name}{port}{path}")))
        .finish()
}

/// The logged-in user of a request; a handler taking it is for logged-in users only.
#[derive(Debug, Clone)]
pub struct User {
    /// The session.
    pub session: Session,
    /// The cookie token (for logout).
    pub token: String,
}

impl User {
    /// A masked CSRF token for a form on the page being built.
    pub fn csrf(&self) -> String {
        session::csrf::mask(&self.session.csrf)
    }

    /// Checks a submitted CSRF token.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), Error> {
        if session::csrf::verify(&self.session.csrf, submitted) {
            Ok(())
        } else {
            Err(Error::Forbidden("this form has expired or did not come from Mailroom; reload the page and try again".into()))
        }
    }
}

/// The value of a cookie of the request.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    let header = req.headers().get(header::COOKIE)?.to_str().ok()?;
    cookie::Cookie::split_parse(header)
        .flatten()
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

impl FromRequest for User {
    type Error = Error;
    type Future = Ready<Result<User, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready((|| {
            let state =
                req.app_data::<web::Data<AppState>>().ok_or_else(|| Error::internal("no state"))?;
            let token = cookie(req, session::COOKIE).ok_or(Error::NeedLogin { reason: "" })?;
            let client = req
                .peer_addr()
                .map(|a| a.ip())
                .ok_or_else(|| Error::internal("no peer address"))?;
            match state.sessions.load(&token, client, mta_core::queue::now()) {
                Ok(session) => Ok(User { session, token }),
                Err(Invalid::Unknown) => Err(Error::NeedLogin { reason: "" }),
                Err(Invalid::Expired) => Err(Error::NeedLogin { reason: "expired" }),
                Err(Invalid::WrongAddress) => Err(Error::NeedLogin { reason: "address" }),
            }
        })())
    }
}
