//! A private `redis-server` for the local stack and the tests: started on a free loopback port
//! with persistence off, in its own temporary directory, and stopped when dropped. Nothing here
//! ever connects to a Redis that someone else left running.

use std::{
    net::TcpListener,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::process::{Child, Command};

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
    _dir: tempfile::TempDir,
}

impl LocalRedis {
    /// Installs redis-server with apt-get when it is missing and this process may do so
    /// (running as root on Debian); otherwise explains how.
    pub async fn ensure_installed() -> Result<(), LocalRedisError> {
        if which("redis-server") {
            return Ok(());
        }
        // /proc/self belongs to the process's effective user.
        let is_root = std::fs::metadata("/proc/self").is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid() == 0
        });
        if !is_root || !which("apt-get") {
            return Err(LocalRedisError::NotInstalled);
        }
        tracing::info!("redis-server is missing; installing it with apt-get");
        let status = Command::new("sh")
            .args(["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server"])
            .status()
            .await
            .map_err(|error| LocalRedisError::InstallFailed(error.to_string()))?;
        if status.success() && which("redis-server") {
            Ok(())
        } else {
            Err(LocalRedisError::InstallFailed(status.to_string()))
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
        let child = Command::new("redis-server")
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
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(LocalRedisError::Start)?;
        let mut server = Self {
            child,
            port,
            _dir: dir,
        };
        server.wait_until_ready(Duration::from_secs(10)).await?;
        Ok(server)
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

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| is_executable(&dir.join(program)))
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
