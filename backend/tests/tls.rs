//! HTTPS on the server's own socket: answers with HSTS, a certificate reloaded on SIGHUP reaches
//! new connections while an open one carries on, a broken reload keeps the old certificate,
//! bad files are refused at start, and plain HTTP stays on loopback unless allowed.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

struct Pair {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

fn self_signed() -> Pair {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = params.self_signed(&key).unwrap();
    Pair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        der: cert.der().clone(),
    }
}

fn write_pair(dir: &Path, p: &Pair) {
    std::fs::write(dir.join("cert.pem"), &p.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &p.key_pem).unwrap();
}

/// A client that trusts every given certificate.
fn connector(trusted: &[&Pair]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for p in trusted {
        roots.add(p.der.clone()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn connect(c: &TlsConnector, addr: SocketAddr) -> TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake")
}

fn served_cert(s: &TlsStream<tokio::net::TcpStream>) -> CertificateDer<'static> {
    s.get_ref().1.peer_certificates().unwrap()[0].clone()
}

/// One keep-alive request; reads the answer up to the end of its (small) body.
async fn get(s: &mut TlsStream<tokio::net::TcpStream>, path: &str) -> String {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let mut out = String::new();
    loop {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed: {out}");
        out.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some(head_end) = out.find("\r\n\r\n") {
            let len: usize = out[..head_end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if out.len() >= head_end + 4 + len {
                return out;
            }
        }
    }
}

fn tls_settings(dir: &Path) -> faceid_server::config::Settings {
    let mut s = common::settings();
    s.tls_cert = Some(dir.join("cert.pem"));
    s.tls_key = Some(dir.join("key.pem"));
    s
}

#[sqlx::test(migrations = "./migrations")]
async fn https_with_hsts_and_a_sighup_reload_that_keeps_open_connections(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (self_signed(), self_signed());
    write_pair(dir.path(), &a);
    let app = common::TestApp::with_settings(pool, tls_settings(dir.path()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(faceid_server::run(listener, app.state.clone(), async {
        stopped.await.ok();
    }));
    let both = connector(&[&a, &b]);

    let mut old = connect(&both, addr).await;
    assert_eq!(served_cert(&old), a.der);
    let health = get(&mut old, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        health
            .to_ascii_lowercase()
            .contains("strict-transport-security: max-age=31536000"),
        "{health}"
    );

    // A client trusting only another certificate refuses the server.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let only_b = connector(&[&b]);
    assert!(
        only_b
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .is_err()
    );

    // A renewed certificate, then SIGHUP: new handshakes get it, the open connection goes on.
    write_pair(dir.path(), &b);
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let mut renewed = None;
    for _ in 0..200 {
        let s = connect(&both, addr).await;
        if served_cert(&s) == b.der {
            renewed = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut renewed = renewed.expect("the reloaded certificate is served after SIGHUP");
    assert!(
        get(&mut renewed, "/healthz")
            .await
            .starts_with("HTTP/1.1 200")
    );
    assert!(get(&mut old, "/readyz").await.starts_with("HTTP/1.1 200"));

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops")
        .unwrap()
        .unwrap();
}

/// The certificate an acceptor presents, over an in-memory pipe.
async fn presented(tls: &faceid_server::tls::Tls, trusted: &[&Pair]) -> CertificateDer<'static> {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let acceptor = tls.acceptor().clone();
    let server = tokio::spawn(async move { acceptor.accept(server_io).await.map(|_| ()) });
    let client = connector(trusted)
        .connect(ServerName::try_from("localhost").unwrap(), client_io)
        .await
        .expect("handshake");
    server.await.unwrap().unwrap();
    client.get_ref().1.peer_certificates().unwrap()[0].clone()
}

#[tokio::test]
async fn a_failed_reload_keeps_the_previous_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (self_signed(), self_signed());
    write_pair(dir.path(), &a);
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let tls = faceid_server::tls::Tls::new(&cert, &key).unwrap();
    assert_eq!(presented(&tls, &[&a, &b]).await, a.der);

    // Half-renewed: the new certificate with the old key.
    std::fs::write(&cert, &b.cert_pem).unwrap();
    let err = tls.reload().unwrap_err();
    assert!(
        matches!(err, faceid_server::tls::TlsError::Mismatch { .. }),
        "{err}"
    );
    assert_eq!(presented(&tls, &[&a, &b]).await, a.der);

    // Renewal complete: the reload takes.
    std::fs::write(&key, &b.key_pem).unwrap();
    tls.reload().unwrap();
    assert_eq!(presented(&tls, &[&a, &b]).await, b.der);
}

#[sqlx::test(migrations = "./migrations")]
async fn plain_http_is_refused_off_loopback_unless_allowed(pool: PgPool) {
    let app = common::TestApp::new(pool.clone());
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let err = faceid_server::run(listener, app.state.clone(), std::future::pending())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("allow_plain_http"), "{err}");

    let mut settings = common::settings();
    settings.allow_plain_http = true;
    let app = common::TestApp::with_settings(pool, settings);
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(faceid_server::run(listener, app.state.clone(), async {
        stopped.await.ok();
    }));
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(
        !out.to_ascii_lowercase()
            .contains("strict-transport-security")
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[test]
fn bad_certificate_files_are_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let a = self_signed();
    write_pair(dir.path(), &a);
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let missing = dir.path().join("nope.pem");

    let err = faceid_server::tls::Tls::new(&missing, &key).err().unwrap();
    assert!(err.to_string().contains("nope.pem"), "{err}");
    std::fs::write(dir.path().join("empty.pem"), "not a certificate\n").unwrap();
    let err = faceid_server::tls::Tls::new(&dir.path().join("empty.pem"), &key)
        .err()
        .unwrap();
    assert!(
        matches!(err, faceid_server::tls::TlsError::Cert { .. }),
        "{err}"
    );
    let err = faceid_server::tls::Tls::new(&cert, &cert).err().unwrap();
    assert!(
        matches!(err, faceid_server::tls::TlsError::Key { .. }),
        "{err}"
    );
    assert!(faceid_server::tls::Tls::new(&cert, &key).is_ok());

    let mut half = common::settings();
    half.tls_cert = Some(cert);
    assert!(matches!(
        faceid_server::tls::Tls::from_settings(&half),
        Err(faceid_server::tls::TlsError::HalfConfigured)
    ));
}
