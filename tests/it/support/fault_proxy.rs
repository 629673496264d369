//! A fault-injecting TCP proxy between the bot and PostgreSQL, for the
//! hostile-database tests. It passes bytes both ways until told to:
//! - [`FaultProxy::stall`]: every connection, open or new, stops moving bytes
//!   (packets dropped, not refused: the client just waits);
//! - [`FaultProxy::refuse`]: open connections are cut and new ones refused
//!   (nothing listens on the port);
//! - [`FaultProxy::cut`]: open connections are cut once, new ones pass (a
//!   failover);
//! - [`FaultProxy::heal`]: back to passing bytes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Pass,
    Stall,
    Refuse,
}

struct Inner {
    addr: SocketAddr,
    upstream: SocketAddr,
    mode: watch::Sender<Mode>,
    /// Bumped to cut every open connection.
    generation: watch::Sender<u64>,
    listener: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[derive(Clone)]
pub struct FaultProxy {
    inner: Arc<Inner>,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1 to `upstream` (host:port).
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let proxy = FaultProxy {
            inner: Arc::new(Inner {
                addr,
                upstream,
                mode: watch::channel(Mode::Pass).0,
                generation: watch::channel(0).0,
                listener: Mutex::new(None),
            }),
        };
        proxy.listen(listener);
        proxy
    }

    /// `url` (a postgres:// URL) with its host and port replaced by the proxy's.
    pub fn url_through(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let credentials = authority.rsplit_once('@').map(|(c, _)| format!("{c}@"));
        format!(
            "{scheme}://{}{}/{path}",
            credentials.unwrap_or_default(),
            self.inner.addr
        )
    }

    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    pub fn stall(&self) {
        self.inner.mode.send_replace(Mode::Stall);
    }

    pub fn refuse(&self) {
        self.inner.mode.send_replace(Mode::Refuse);
        self.cut();
        if let Some(accepting) = self.inner.listener.lock().unwrap().take() {
            accepting.abort();
        }
    }

    /// Cuts every open connection (as a failover does); new ones pass.
    pub fn cut(&self) {
        self.inner.generation.send_modify(|g| *g += 1);
    }

    pub async fn heal(&self) {
        let was = self.inner.mode.send_replace(Mode::Pass);
        if was == Mode::Refuse {
            // Listen again on the same port.
            let listener = loop {
                match TcpListener::bind(self.inner.addr).await {
                    Ok(listener) => break listener,
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                }
            };
            self.listen(listener);
        }
    }

    fn listen(&self, listener: TcpListener) {
        let proxy = self.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(proxy.clone().relay(client));
            }
        });
        *self.inner.listener.lock().unwrap() = Some(accepting);
    }

    async fn relay(self, client: TcpStream) {
        let Ok(server) = TcpStream::connect(self.inner.upstream).await else {
            return;
        };
        let generation = *self.inner.generation.borrow();
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        let up = self.clone().pump(client_read, server_write, generation);
        let down = self.pump(server_read, client_write, generation);
        // Either side ending (or a cut) ends both: the sockets are dropped.
        tokio::select! {
            () = up => {}
            () = down => {}
        }
    }

    /// Copies bytes one way while the mode is Pass; holds them while stalled.
    async fn pump(
        self,
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        generation: u64,
    ) {
        let mut mode = self.inner.mode.subscribe();
        let mut cuts = self.inner.generation.subscribe();
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            if *cuts.borrow_and_update() != generation {
                return;
            }
            if *mode.borrow_and_update() != Mode::Pass {
                // Stalled: move nothing until the mode changes or a cut.
                tokio::select! {
                    _ = mode.changed() => continue,
                    _ = cuts.changed() => continue,
                }
            }
            let read = tokio::select! {
                read = from.read(&mut buffer) => read,
                _ = mode.changed() => continue,
                _ = cuts.changed() => continue,
            };
            match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if to.write_all(&buffer[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// The host and port of a postgres:// URL.
pub fn upstream_of(url: &str) -> SocketAddr {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split(['/', '?']).next().unwrap();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    let host_port = host_port.replace("localhost", "127.0.0.1");
    host_port.parse().unwrap()
}
