//! `mailroom.toml`: every key has a default (the embedded default: everything on
//! 127.0.0.1, unprivileged ports, a self-signed certificate, a demo account).
//!
//! ```toml
//! [listen]                  # an address, or "off"
//! smtp = "127.0.0.1:2525"   # inbound MX: local recipients only, no AUTH
//! submission = "127.0.0.1:2587"
//! submissions = "127.0.0.1:2465"
//! https = "127.0.0.1:8443"  # the webmail
//! http = "127.0.0.1:8080"   # only redirects to https
//! pop3 = "127.0.0.1:2110"   # STLS, then USER/PASS or AUTH PLAIN
//! pop3s = "127.0.0.1:2995"  # implicit TLS
//!
//! [tls]                     # both, or neither (then tls/ holds a self-signed pair)
//! cert = "/etc/ssl/mail.pem"
//! key = "/etc/ssl/mail.key"
//!
//! [smtp]                    # see mta_core::smtp::SmtpConfig
//! hostname = "mail.example.org"
//! max_message_size = 52428800
//!
//! [web]
//! idle_timeout_secs = 1800  # 300 on a "public computer"
//!
//! [admin]
//! keep_removed_days = 30    # removed domains and users kept for recovery; 0: forever
//!
//! [demo]
//! enabled = true            # create the demo domain and account on first run
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use mta_core::smtp::SmtpConfig;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listener addresses.
    pub listen: Listen,
    /// Certificate and key.
    pub tls: Tls,
    /// SMTP bounds and names.
    pub smtp: SmtpConfig,
    /// POP3 bounds.
    pub pop3: mta_core::pop3::Pop3Config,
    /// Web sessions.
    pub web: Web,
    /// Administration.
    pub admin: Admin,
    /// The public demo account.
    pub demo: Demo,
}

/// `[listen]`: one address per service, or `"off"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Listen {
    /// Inbound MX (port 25 in production).
    pub smtp: String,
    /// Submission with STARTTLS (587 in production).
    pub submission: String,
    /// Submission over implicit TLS (465 in production).
    pub submissions: String,
    /// The webmail (443 in production).
    pub https: String,
    /// Plain HTTP, answering only with a redirect to HTTPS (80 in production).
    pub http: String,
    /// POP3 with STLS (110 in production).
    pub pop3: String,
    /// POP3 over implicit TLS (995 in production).
    pub pop3s: String,
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            smtp: "127.0.0.1:2525".into(),
            submission: "127.0.0.1:2587".into(),
            submissions: "127.0.0.1:2465".into(),
            https: "127.0.0.1:8443".into(),
            http: "127.0.0.1:8080".into(),
            pop3: "127.0.0.1:2110".into(),
            pop3s: "127.0.0.1:2995".into(),
        }
    }
}

/// Parses a listener setting: `None` for `"off"`.
pub fn listen_address(key: &str, value: &str) -> anyhow::Result<Option<SocketAddr>> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    value.parse().map(Some).with_context(|| {
        format!("[listen] {key} = {value:?} is neither an address like 127.0.0.1:25 nor \"off\"")
    })
}

/// `[web]`: session timeouts.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Web {
    /// Idle seconds before a session ends.
    pub idle_timeout_secs: u64,
    /// Idle seconds before a session from a "public computer" ends.
    pub public_idle_timeout_secs: u64,
    /// Longest session, in seconds.
    pub absolute_timeout_secs: u64,
}

impl Default for Web {
    fn default() -> Self {
        let t = crate::http::session::Timeouts::default();
        Web {
            idle_timeout_secs: t.idle.as_secs(),
            public_idle_timeout_secs: t.public_idle.as_secs(),
            absolute_timeout_secs: t.absolute.as_secs(),
        }
    }
}

impl Web {
    /// As the session store wants them.
    pub fn timeouts(&self) -> crate::http::session::Timeouts {
        use std::time::Duration;
        crate::http::session::Timeouts {
            idle: Duration::from_secs(self.idle_timeout_secs),
            public_idle: Duration::from_secs(self.public_idle_timeout_secs),
            absolute: Duration::from_secs(self.absolute_timeout_secs),
        }
    }
}

/// `[tls]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tls {
    /// PEM certificate chain.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
}

/// `[admin]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Admin {
    /// Days a removed domain or user is kept under `removed/` before it is deleted for
    /// good; 0 keeps them until the operator deletes them.
    pub keep_removed_days: u64,
}

impl Default for Admin {
    fn default() -> Self {
        Admin { keep_removed_days: 30 }
    }
}

/// `[demo]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Demo {
    /// Create the demo domain and account on the first run of an empty data directory.
    pub enabled: bool,
    /// The demo address.
    pub address: String,
    /// Its password (public: it is printed at start).
    pub password: String,
}

impl Default for Demo {
    fn default() -> Self {
        Demo {
            enabled: true,
            address: "demo@demo.example".into(),
            password: "mailroom-demo".into(),
        }
    }
}

impl Config {
    /// Reads `path`; a missing file is the embedded default.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let config: Config =
            toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
        if config.tls.cert.is_some() != config.tls.key.is_some() {
            bail!("{}: [tls] needs both cert and key, or neither", path.display());
        }
        if !mta_core::names::is_host_name(&config.smtp.hostname) {
            bail!(
                "{}: [smtp] hostname {:?} is not a host name",
                path.display(),
                config.smtp.hostname
            );
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mailroom.toml");
        let config = Config::load(&path).expect("default");
        assert_eq!(config.listen.smtp, "127.0.0.1:2525");
        std::fs::write(
            &path,
            "[listen]\nsmtp = \"off\"\nsubmission = \"127.0.0.1:0\"\n[smtp]\nmax_hops = 5\n",
        )
        .expect("write");
        let config = Config::load(&path).expect("load");
        assert_eq!(listen_address("smtp", &config.listen.smtp).expect("off"), None);
        assert!(listen_address("submission", &config.listen.submission).expect("addr").is_some());
        assert_eq!(config.smtp.max_hops, 5);
        assert!(listen_address("x", "nonsense").is_err());
        std::fs::write(&path, "[listen]\nsmpt = \"off\"\n").expect("write");
        let err = Config::load(&path).expect_err("typo accepted").to_string();
        assert!(err.contains("not valid"), "{err}");
        std::fs::write(&path, "[tls]\ncert = \"/x\"\n").expect("write");
        assert!(Config::load(&path).is_err());
    }
}
