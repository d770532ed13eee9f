//! Serving a simulator on a loopback listener, with a handle that knows its base URL.

use std::{io, net::SocketAddr};

use axum::Router;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use url::Url;

/// A running simulator HTTP server. Dropping the handle leaves the server running until the
/// runtime ends; call [`SimServer::shutdown`] to stop it early.
#[derive(Debug)]
pub struct SimServer {
    base_url: Url,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl SimServer {
    /// Binds `addr` (port 0 picks a free port) so the caller learns the base URL before it
    /// builds the router, which needs that URL for the links it hands out.
    pub async fn bind(addr: SocketAddr) -> io::Result<(TcpListener, Url)> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let base_url = Url::parse(&format!("http://{local}/"))
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        Ok((listener, base_url))
    }

    pub fn serve(listener: TcpListener, base_url: Url, router: Router) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "simulator server failed");
            }
        });
        Self {
            base_url,
            stop: Some(stop),
            task,
        }
    }

    /// The server's base URL, with a trailing slash, e.g. `http://127.0.0.1:41234/`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}
