//! `mailroom serve` (and `mailroom` with no command): runs the SMTP listeners, the
//! queue and the webmail over the data directory until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mta_core::accounts::{Directory, DomainConfig};
use mta_core::datadir::DataDir;
use mta_core::names::Address;
use mta_core::queue::{Queue, scheduler};
use mta_core::smtp::server::{self, Shared};
use mta_core::smtp::session::Port;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{self, Config};

/// How long sessions in the middle of a message get to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How often expired web sessions are removed from `sessions/` (a session is refused the
/// instant it expires whatever this is; this only keeps the directory small).
const SESSION_SWEEP_EVERY: Duration = Duration::from_secs(10 * 60);
/// How often removed domains and users past `[admin] keep_removed_days` are deleted
/// (and once at start).
const PURGE_REMOVED_EVERY: Duration = Duration::from_secs(60 * 60);

/// Runs everything until a signal.
pub fn run(data: &Path) -> anyhow::Result<()> {
    let first_run = !data.join("domains").is_dir();
    let data = DataDir::create(data)
        .with_context(|| format!("cannot create the data directory {}", data.display()))?;
    let config = Config::load(&data.config_file())?;
    init_logging();

    let directory = Arc::new(Directory::new(data.clone()));
    if first_run && config.demo.enabled {
        create_demo(&directory, &config)?;
    }
    let names =
        vec![config.smtp.hostname.clone(), "localhost".to_string(), "127.0.0.1".to_string()];
    let configured = config.tls.cert.as_deref().zip(config.tls.key.as_deref());
    let (tls, source) = mta_core::tls::server_config(&data, configured, &names).context("TLS")?;
    // The queue directory is named after the machine, not the SMTP name: several hosts
    // serving one domain over shared storage each keep their own queue.
    let queue = Queue::open(data.queue(maildir::name::hostname()))?;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let (stop, shutdown) = watch::channel(false);
        let (scheduler, scheduler_task) =
            scheduler::spawn(queue.clone(), Arc::clone(&directory), config.smtp.hostname.clone(), shutdown.clone());
        let sessions = crate::http::session::SessionStore::new(data.root().join("sessions"), config.web.timeouts())?;
        let store = sessions.clone();
        tokio::spawn(periodically(SESSION_SWEEP_EVERY, shutdown.clone(), move || {
            let removed = store.sweep(mta_core::queue::now());
            if removed > 0 {
                tracing::info!(removed, "web sessions: expired ones removed");
            }
        }));
        if config.admin.keep_removed_days > 0 {
            let (directory, keep) = (Arc::clone(&directory), config.admin.keep_removed_days * 86_400);
            tokio::spawn(periodically(PURGE_REMOVED_EVERY, shutdown.clone(), move || {
                match directory.purge_removed(keep, mta_core::queue::now()) {
                    Ok(purged) => {
                        for copy in purged {
                            tracing::info!(name = %copy.name, path = %copy.path.display(), "removed copy purged");
                        }
                    }
                    Err(e) => tracing::warn!("cannot purge removed copies: {e}"),
                }
            }));
        }
        let web_state = Arc::new(crate::http::AppState {
            directory: Arc::clone(&directory),
            sessions,
            limiter: Default::default(),
            indexes: Default::default(),
            submitter: mta_core::submit::Submitter {
                directory: Arc::clone(&directory),
                queue: queue.clone(),
                scheduler: scheduler.clone(),
                config: config.smtp.clone(),
            },
        });
        let shared = Arc::new(Shared {
            directory,
            queue,
            scheduler,
            tls: Some(tokio_rustls::TlsAcceptor::from(Arc::clone(&tls))),
            config: config.smtp.clone(),
        });
        let mut listeners = Vec::new();
        let mut lines = vec![format!("Mailroom is running; data in {}", data.root().display())];
        for (key, value, port, what) in [
            ("smtp", &config.listen.smtp, Port::Mx, "inbound MX: local recipients, STARTTLS, no AUTH"),
            ("submission", &config.listen.submission, Port::Submission, "submission: STARTTLS, then AUTH"),
            ("submissions", &config.listen.submissions, Port::Submissions, "submission over TLS, AUTH"),
        ] {
            let Some(address) = config::listen_address(key, value)? else {
                lines.push(format!("  {key:<12} off"));
                continue;
            };
            let listener = bind(address).await.with_context(|| format!("[listen] {key} = {address}"))?;
            let bound = listener.local_addr()?;
            lines.push(format!("  {key:<12} smtp://{bound}  ({what})"));
            listeners.push(tokio::spawn(server::serve(listener, port, Arc::clone(&shared), shutdown.clone())));
        }
        let pop3 = Arc::new(mta_core::pop3::server::Shared {
            directory: Arc::clone(&shared.directory),
            tls: shared.tls.clone(),
            config: config.pop3.clone(),
        });
        for (key, value, implicit, what) in [
            ("pop3", &config.listen.pop3, false, "POP3: STLS, then login"),
            ("pop3s", &config.listen.pop3s, true, "POP3 over TLS"),
        ] {
            let Some(address) = config::listen_address(key, value)? else {
                lines.push(format!("  {key:<12} off"));
                continue;
            };
            let listener = bind(address).await.with_context(|| format!("[listen] {key} = {address}"))?;
            let bound = listener.local_addr()?;
            lines.push(format!("  {key:<12} {key}://{bound}  ({what})"));
            listeners.push(tokio::spawn(mta_core::pop3::server::serve(listener, implicit, Arc::clone(&pop3), shutdown.clone())));
        }
        let https = config::listen_address("https", &config.listen.https)?;
        let http = config::listen_address("http", &config.listen.http)?;
        let web = crate::http::start(web_state, https, http, &tls).context("[listen] https/http")?;
        match web.https {
            Some(a) => lines.push(format!("  {:<12} https://{a}/  (webmail)", "https")),
            None => lines.push(format!("  {:<12} off", "https")),
        }
        match web.http {
            Some(a) => lines.push(format!("  {:<12} http://{a}/  (redirects to https)", "http")),
            None => lines.push(format!("  {:<12} off", "http")),
        }
        lines.push(match &source {
            mta_core::tls::Source::Configured(p) => format!("TLS certificate: {}", p.display()),
            mta_core::tls::Source::Generated(p) => format!("TLS certificate: {} (self-signed, made now)", p.display()),
            mta_core::tls::Source::Existing(p) => format!("TLS certificate: {} (self-signed)", p.display()),
        });
        if config.demo.enabled {
            lines.push(format!("Demo login: {}  password: {}", config.demo.address, config.demo.password));
        }
        println!("{}", lines.join("\n"));
        use std::io::Write;
        let _ = std::io::stdout().flush();

        wait_for_signal().await;
        tracing::info!("shutting down: no new connections; sessions finish their message");
        let _ = stop.send(true);
        let drained = async {
            web.stop().await;
            for listener in listeners {
                let _ = listener.await;
            }
            let _ = scheduler_task.await;
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
            tracing::warn!("shutdown: sessions still open after {SHUTDOWN_GRACE:?}; leaving them (nothing unacknowledged is kept)");
        }
        anyhow::Ok(())
    })
}

/// Runs `job` (blocking work) at start and every `period` until shutdown.
async fn periodically(
    period: Duration,
    mut shutdown: watch::Receiver<bool>,
    job: impl Fn() + Clone + Send + 'static,
) {
    let mut every = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        let _ = tokio::task::spawn_blocking(job.clone()).await;
    }
}

async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    Ok(TcpListener::bind(address).await?)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        // No signal handling: run until killed.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

fn create_demo(directory: &Directory, config: &Config) -> anyhow::Result<()> {
    let address = Address::parse(&config.demo.address).context("[demo] address")?;
    directory.add_domain(&address.domain, &DomainConfig::default())?;
    directory.add_user(&address, &config.demo.password, Some(100 * 1024 * 1024))?;
    Ok(())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        // A log that cannot be written (its disk is full) must not take sessions down:
        // tracing-subscriber would report that with eprintln!, which panics then.
        .log_internal_errors(false)
        .try_init();
}
