//! The server's TLS configuration: the configured certificate, or a self-signed one
//! made on first run and kept in `tls/` (so clients that pinned it keep working).
//! TLS 1.2 and 1.3 only, rustls with the ring provider.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::datadir::DataDir;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A PEM file did not parse.
    #[error("{}: {reason}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the certificate or key (they do not match, say).
    #[error("the certificate and key are not usable: {0}")]
    Rustls(#[from] rustls::Error),
    /// Generating the self-signed certificate failed.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// Where the certificate came from (printed at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `[tls] cert` and `key` in the configuration.
    Configured(PathBuf),
    /// The self-signed certificate in `tls/`, made now.
    Generated(PathBuf),
    /// The self-signed certificate in `tls/`, made on an earlier run.
    Existing(PathBuf),
}

/// The TLS configuration: from `cert` and `key` if given, else from `tls/cert.pem` and
/// `tls/key.pem`, generated (for `names`) when missing.
pub fn server_config(
    data: &DataDir,
    configured: Option<(&Path, &Path)>,
    names: &[String],
) -> Result<(Arc<ServerConfig>, Source), TlsError> {
    let (cert, key, source) = match configured {
        Some((cert, key)) => {
            (cert.to_path_buf(), key.to_path_buf(), Source::Configured(cert.to_path_buf()))
        }
        None => {
            let dir = data.tls();
            let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            if cert.is_file() && key.is_file() {
                (cert.clone(), key, Source::Existing(cert))
            } else {
                generate(&dir, &cert, &key, names)?;
                (cert.clone(), key, Source::Generated(cert))
            }
        }
    };
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Pem { path: cert.clone(), reason: e.to_string() })?;
    if chain.is_empty() {
        return Err(TlsError::Pem { path: cert, reason: "no certificate in the file".into() });
    }
    let private = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| TlsError::Pem { path: key.clone(), reason: e.to_string() })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, private)?;
    Ok((Arc::new(config), source))
}

fn generate(dir: &Path, cert: &Path, key: &Path, names: &[String]) -> Result<(), TlsError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let generated = rcgen::generate_simple_self_signed(names.to_vec())?;
    // The key first, readable by its owner only; then the certificate.
    let tmp = dir.join(".key.pem.tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    file.write_all(generated.signing_key.serialize_pem().as_bytes()).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, key).map_err(io(key))?;
    crate::datadir::write_atomic(cert, generated.cert.pem().as_bytes()).map_err(io(cert))?;
    Ok(())
}
