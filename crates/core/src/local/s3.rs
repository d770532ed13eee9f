//! A private S3-compatible server (`moto_server`, an S3 imitation), for tests of the S3 staging
//! backend as a member's import meets it: on a free loopback port, stopped when dropped.

use std::{path::PathBuf, process::Stdio, time::Instant};

use tokio::process::{Child, Command};

use super::{READY_WITHIN, free_port};

#[derive(Debug, thiserror::Error)]
pub enum LocalS3Error {
    #[error(
        "moto_server is not installed; run scripts/test, which installs it, or: python3 -m venv \
         ~/.cache/oh-fitbit/moto && ~/.cache/oh-fitbit/moto/bin/pip install 'moto[server]==5.2.5' \
         (or set MOTO_SERVER to its path)"
    )]
    NotInstalled,
    #[error("could not start moto_server: {0}")]
    Start(String),
}

pub struct LocalS3 {
    _child: Child,
    port: u16,
}

impl LocalS3 {
    pub async fn start() -> Result<Self, LocalS3Error> {
        let program = program().ok_or(LocalS3Error::NotInstalled)?;
        let port = free_port().map_err(|error| LocalS3Error::Start(error.to_string()))?;
        let mut child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| LocalS3Error::Start(error.to_string()))?;
        let started = Instant::now();
        let endpoint = format!("http://127.0.0.1:{port}/");
        while started.elapsed() < READY_WITHIN {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(LocalS3Error::Start(format!("it exited with {status}")));
            }
            let answered = reqwest::get(&endpoint)
                .await
                .is_ok_and(|response| response.status().is_success());
            if answered {
                return Ok(Self {
                    _child: child,
                    port,
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(LocalS3Error::Start(format!(
            "it did not answer within {READY_WITHIN:?}"
        )))
    }

    pub fn endpoint(&self) -> url::Url {
        url::Url::parse(&format!("http://127.0.0.1:{}", self.port)).expect("a loopback URL parses")
    }

    /// Empties the server of every bucket and object (moto's reset), as if the bucket had been
    /// emptied or replaced behind the service's back.
    pub async fn reset(&self) -> Result<(), reqwest::Error> {
        reqwest::Client::new()
            .post(
                self.endpoint()
                    .join("moto-api/reset")
                    .expect("a relative path"),
            )
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}

/// `MOTO_SERVER` (set by scripts/test), else `moto_server` on the PATH, else where scripts/test
/// installs it.
fn program() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return Some(PathBuf::from(path)).filter(|path| path.is_file());
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("moto_server"));
    let installed = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/oh-fitbit/moto/bin/moto_server"));
    on_path.chain(installed).find(|path| path.is_file())
}
