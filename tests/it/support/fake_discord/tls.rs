//! The fake's REST side over TLS as `discord.com`, for the test that runs
//! the bot exactly as production does (base URL `https://discord.com`,
//! serenity's rate limiter on). A certificate authority made for the test
//! run signs a certificate for `discord.com`; [`FakeDiscord::production_client`]
//! trusts that authority alone and resolves `discord.com` to the fake.
//!
//! reqwest's `resolve` override keeps the port it is given when the URL has
//! none (hyper-util's `set_port` replaces only an explicit URL port or a
//! zero), so `https://discord.com/api/v10/...` reaches 127.0.0.1:<port> with
//! the URL, the SNI and the certificate check all for `discord.com`.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::server::TlsStream;

use super::FakeDiscord;

/// The host name the fake's certificate is for.
pub const DISCORD_HOST: &str = "discord.com";

/// Where the fake serves TLS and the authority its certificate chains to.
pub(super) struct TlsEndpoint {
    pub(super) addr: SocketAddr,
    ca_der: CertificateDer<'static>,
}

/// A CA and a `discord.com` certificate it signed, made fresh per fake.
struct TestPki {
    ca: CertificateDer<'static>,
    leaf: CertificateDer<'static>,
    leaf_key: PrivateKeyDer<'static>,
}

fn test_pki() -> TestPki {
    let ca_key = KeyPair::generate().expect("a CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "admin-panel test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key).expect("the CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().expect("a server key");
    let mut leaf_params = CertificateParams::new(vec![DISCORD_HOST.to_owned()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, DISCORD_HOST);
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf_params
        .signed_by(&leaf_key, &issuer)
        .expect("the discord.com certificate");
    TestPki {
        ca: ca.der().clone(),
        leaf: leaf.der().clone(),
        leaf_key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
    }
}

/// Accepts TCP connections and hands axum those whose TLS handshake
/// succeeded. Handshakes run in their own tasks, so a slow or failed one
/// holds up no other connection.
pub(super) struct TlsListener {
    addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop ended with the runtime: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// Binds 127.0.0.1 on a free port and starts accepting TLS connections.
pub(super) async fn listen() -> (TlsListener, TlsEndpoint) {
    let pki = test_pki();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![pki.leaf, pki.ca.clone()], pki.leaf_key)
        .expect("the server certificate");
    // The fake speaks HTTP/1.1 only (axum's `http1`).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let (sender, ready) = mpsc::channel(64);
    tokio::spawn(async move {
        while let Ok((stream, peer)) = tcp.accept().await {
            let (acceptor, sender) = (acceptor.clone(), sender.clone());
            tokio::spawn(async move {
                match acceptor.accept(stream).await {
                    Ok(tls) => {
                        let _ = sender.send((tls, peer)).await;
                    }
                    Err(error) => eprintln!("fake Discord: TLS handshake failed: {error}"),
                }
            });
        }
    });
    let endpoint = TlsEndpoint {
        addr,
        ca_der: pki.ca,
    };
    (TlsListener { addr, ready }, endpoint)
}

impl FakeDiscord {
    /// A fake that also serves its REST side over TLS as `discord.com`;
    /// reach it with [`Self::production_client`].
    pub async fn start_tls() -> FakeDiscord {
        let fake = Self::start().await;
        let (listener, endpoint) = listen().await;
        let _ = fake.inner.tls.set(endpoint);
        tokio::spawn(super::rest::serve(fake.clone(), listener, true));
        fake
    }

    /// The HTTP client a production bot would have, but for two things: it
    /// resolves `discord.com` to this fake's TLS port, and it trusts the
    /// fake's test authority instead of the built-in roots. Certificate and
    /// host name checks stay on, and plain `http://` is refused.
    pub fn production_client(&self) -> reqwest::Client {
        self.client_trusting(true)
    }

    /// [`Self::production_client`] with or without the test authority (without
    /// it no certificate is trusted: the check that verification is on).
    pub fn client_trusting(&self, test_ca: bool) -> reqwest::Client {
        let endpoint = self.inner.tls.get().expect("a fake started with start_tls");
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .https_only(true)
            .resolve(DISCORD_HOST, endpoint.addr);
        if test_ca {
            let ca = reqwest::Certificate::from_der(&endpoint.ca_der).expect("the test CA");
            builder = builder.add_root_certificate(ca);
        }
        builder.build().expect("a reqwest client")
    }
}
