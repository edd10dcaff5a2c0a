//! HTTPS: the server's certificate and key (PEM files from `tls_cert` / `tls_key`), served with
//! rustls and reloaded on SIGHUP. The certificate lives behind a resolver that each new
//! handshake asks, so a reload (a renewed certificate) reaches new connections while open ones
//! carry on undisturbed. A reload that fails (a half-written file, a key that does not match)
//! keeps the previous certificate and says why in the log.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use crate::config::Settings;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls_cert and tls_key must be set together (one of them is missing)")]
    HalfConfigured,
    #[error("TLS certificate {path}: {detail}")]
    Cert { path: PathBuf, detail: String },
    #[error("TLS key {path}: {detail}")]
    Key { path: PathBuf, detail: String },
    #[error("TLS key {key} does not belong to certificate {cert}: {detail}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        detail: String,
    },
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The HTTPS side of the server: the acceptor for new connections and its certificate.
pub struct Tls {
    acceptor: TlsAcceptor,
    certs: Arc<ReloadingCert>,
}

/// Installs ring as the process's rustls crypto provider for the outgoing HTTPS clients (reqwest
/// is built without one). Safe to call more than once.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Tls {
    /// `None` when TLS is not configured.
    pub fn from_settings(settings: &Settings) -> Result<Option<Tls>, TlsError> {
        match (&settings.tls_cert, &settings.tls_key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Tls::new(cert, key).map(Some),
            _ => Err(TlsError::HalfConfigured),
        }
    }

    pub fn new(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let first = load(&provider, cert, key)?;
        let certs = Arc::new(ReloadingCert {
            provider: provider.clone(),
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(Arc::new(first)),
        });
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(certs.clone());
        // The server speaks HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            certs,
        })
    }

    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Reads the certificate and key files again; on any error the current pair stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = load(&self.certs.provider, &self.certs.cert, &self.certs.key)?;
        *self
            .certs
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    /// Reloads on every SIGHUP for as long as the server runs.
    pub fn reload_on_sighup(self: &Arc<Self>) {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let tls = Arc::downgrade(self);
            let mut hup = match signal(SignalKind::hangup()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGHUP: TLS reload is off");
                    return;
                }
            };
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    let Some(tls) = tls.upgrade() else { break };
                    match tls.reload() {
                        Ok(()) => {
                            tracing::info!(cert = %tls.certs.cert.display(), "SIGHUP: TLS certificate reloaded")
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "SIGHUP: TLS reload failed; the previous certificate stays")
                        }
                    }
                }
            });
        }
    }
}

/// Answers every handshake with the current certificate.
#[derive(Debug)]
struct ReloadingCert {
    provider: Arc<CryptoProvider>,
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        )
    }
}

/// Reads a PEM certificate chain and its private key and checks that they belong together.
fn load(provider: &CryptoProvider, cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| TlsError::Cert {
            path: cert.to_owned(),
            detail: e.to_string(),
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Cert {
            path: cert.to_owned(),
            detail: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Cert {
            path: cert.to_owned(),
            detail: "no CERTIFICATE block in the file".into(),
        });
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.to_owned(),
        detail: e.to_string(),
    })?;
    let signing = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| TlsError::Key {
            path: key.to_owned(),
            detail: e.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| TlsError::Mismatch {
        cert: cert.to_owned(),
        key: key.to_owned(),
        detail: e.to_string(),
    })?;
    Ok(certified)
}
