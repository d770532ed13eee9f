//! Private servers for the local stack and the tests: a `redis-server`, a PostgreSQL server and
//! an S3 imitation, each started on a free loopback port (in a temporary directory of its own)
//! and stopped when dropped. Nothing here ever connects to a server that someone else left
//! running.

mod postgres;
mod redis;
mod s3;

use std::{net::TcpListener, path::Path, time::Duration};

use tokio::process::Command;

pub use self::{
    postgres::{LocalPostgres, LocalPostgresError, fresh_database},
    redis::{LocalRedis, LocalRedisError},
    s3::{LocalS3, LocalS3Error},
};

/// How long a freshly started server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(30);

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

/// Whether this process runs as root (`/proc/self` belongs to the effective user).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Installs Debian packages with apt-get; `Ok(false)` when this process may not (not root, or
/// no apt-get), so the caller can explain how instead.
async fn apt_install(packages: &str) -> std::io::Result<bool> {
    if !is_root() || !which("apt-get") {
        return Ok(false);
    }
    tracing::info!(packages, "installing with apt-get");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {packages}"
        ))
        .status()
        .await?;
    if status.success() {
        Ok(true)
    } else {
        Err(std::io::Error::other(format!(
            "apt-get exited with {status}"
        )))
    }
}
