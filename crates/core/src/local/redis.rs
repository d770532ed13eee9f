//! The private `redis-server`: persistence off, so it starts empty like a Heroku Redis that
//! was restarted.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::process::{Child, Command};

use super::{READY_WITHIN, apt_install, free_port, which};

#[derive(Debug, thiserror::Error)]
pub enum LocalRedisError {
    #[error(
        "redis-server is not installed; install it with: sudo apt-get install -y redis-server \
         (Debian/Ubuntu) or brew install redis (macOS)"
    )]
    NotInstalled,
    #[error(
        "installing redis-server with apt-get failed ({0}); install it by hand: apt-get install -y redis-server"
    )]
    InstallFailed(String),
    #[error("could not start redis-server: {0}")]
    Start(#[source] std::io::Error),
    #[error("redis-server did not accept connections within {0:?}")]
    NotReady(Duration),
}

pub struct LocalRedis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl LocalRedis {
    /// Installs redis-server with apt-get when it is missing and this process may do so
    /// (running as root on Debian); otherwise explains how.
    pub async fn ensure_installed() -> Result<(), LocalRedisError> {
        if which("redis-server") {
            return Ok(());
        }
        match apt_install("redis-server").await {
            Ok(true) if which("redis-server") => Ok(()),
            Ok(true) => Err(LocalRedisError::InstallFailed(
                "redis-server is still not on PATH".into(),
            )),
            Ok(false) => Err(LocalRedisError::NotInstalled),
            Err(error) => Err(LocalRedisError::InstallFailed(error.to_string())),
        }
    }

    /// Starts a server on a free port; retries with another port if it was taken in between.
    pub async fn start() -> Result<Self, LocalRedisError> {
        if !which("redis-server") {
            return Err(LocalRedisError::NotInstalled);
        }
        let mut last_error = None;
        for _ in 0..5 {
            match Self::start_on(free_port().map_err(LocalRedisError::Start)?).await {
                Ok(server) => return Ok(server),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("at least one attempt was made"))
    }

    async fn start_on(port: u16) -> Result<Self, LocalRedisError> {
        let dir = tempfile::Builder::new()
            .prefix("oh-fitbit-redis-")
            .tempdir()
            .map_err(LocalRedisError::Start)?;
        let mut server = Self {
            child: spawn(port, dir.path())?,
            port,
            dir,
        };
        server.wait_until_ready(READY_WITHIN).await?;
        Ok(server)
    }

    /// Kills the server with SIGKILL, as a crashed or restarted Redis add-on goes away.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// Starts the server again on the same port, empty (nothing is persisted).
    pub async fn restart(&mut self) -> Result<(), LocalRedisError> {
        self.kill().await;
        self.child = spawn(self.port, self.dir.path())?;
        self.wait_until_ready(READY_WITHIN).await
    }

    async fn wait_until_ready(&mut self, limit: Duration) -> Result<(), LocalRedisError> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(LocalRedisError::Start(std::io::Error::other(format!(
                    "redis-server exited with {status}"
                ))));
            }
            if ping(self.port).await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(LocalRedisError::NotReady(limit))
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

fn spawn(port: u16, dir: &std::path::Path) -> Result<Child, LocalRedisError> {
    Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(LocalRedisError::Start)
}

async fn ping(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").await.is_ok()
        && stream.read_exact(&mut reply).await.is_ok()
        && &reply == b"+PONG\r\n"
}
