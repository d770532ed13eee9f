//! The private PostgreSQL server: a cluster of its own in a temporary directory, listening on a
//! free loopback port, with durability settings off (the tests crash processes, not machines).
//!
//! `initdb` takes a second or two, so it runs once per machine into a template that every
//! server copies. PostgreSQL refuses to run as root: a root process runs it as the `postgres`
//! user (or `nobody`), which then owns the directory.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tokio::process::{Child, Command};

use super::{READY_WITHIN, apt_install, free_port, is_root, which};

#[derive(Debug, thiserror::Error)]
pub enum LocalPostgresError {
    #[error(
        "PostgreSQL is not installed; install it with: sudo apt-get install -y postgresql \
         (Debian/Ubuntu) or brew install postgresql (macOS)"
    )]
    NotInstalled,
    #[error(
        "installing PostgreSQL with apt-get failed ({0}); install it by hand: apt-get install -y postgresql"
    )]
    InstallFailed(String),
    #[error("could not start PostgreSQL: {0}")]
    Start(String),
    #[error("PostgreSQL did not accept connections within {within:?}; its log ends: {log}")]
    NotReady { within: Duration, log: String },
    #[error("could not create the database {name:?}")]
    CreateDatabase {
        name: String,
        #[source]
        source: sqlx::Error,
    },
}

/// Who the server runs as, when it cannot run as this process's user.
#[derive(Clone, Copy, Debug)]
struct RunAs {
    uid: u32,
    gid: u32,
}

pub struct LocalPostgres {
    child: Option<Child>,
    port: u16,
    bin: PathBuf,
    run_as: Option<RunAs>,
    /// Holds `data/` (the cluster), the socket and `postgres.log`.
    dir: tempfile::TempDir,
}

impl LocalPostgres {
    /// Installs PostgreSQL with apt-get when it is missing and this process may do so (running
    /// as root on Debian); otherwise explains how.
    pub async fn ensure_installed() -> Result<(), LocalPostgresError> {
        if binaries().is_some() {
            return Ok(());
        }
        match apt_install("postgresql").await {
            Ok(true) if binaries().is_some() => Ok(()),
            Ok(true) => Err(LocalPostgresError::InstallFailed(
                "initdb is still not to be found".into(),
            )),
            Ok(false) => Err(LocalPostgresError::NotInstalled),
            Err(error) => Err(LocalPostgresError::InstallFailed(error.to_string())),
        }
    }

    /// Starts a server on a free port; retries with another port if it was taken in between.
    pub async fn start() -> Result<Self, LocalPostgresError> {
        let bin = binaries().ok_or(LocalPostgresError::NotInstalled)?;
        let run_as = is_root().then(unprivileged_user);
        let template = template(&bin, run_as).await?;
        let mut last_error = None;
        for _ in 0..5 {
            let port = free_port().map_err(start_error)?;
            let dir = tempfile::Builder::new()
                .prefix("oh-fitbit-postgres-")
                .tempdir()
                .map_err(start_error)?;
            copy_cluster(&template, &dir.path().join("data")).await?;
            if let Some(user) = run_as {
                std::os::unix::fs::chown(dir.path(), Some(user.uid), Some(user.gid))
                    .map_err(start_error)?;
            }
            let mut server = Self {
                child: None,
                port,
                bin: bin.clone(),
                run_as,
                dir,
            };
            match server.start_again().await {
                Ok(()) => return Ok(server),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("at least one attempt was made"))
    }

    /// The server's maintenance database, as the superuser `postgres` (trust authentication on
    /// loopback).
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    pub fn url_of(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// PostgreSQL's "fast" shutdown (SIGINT): sessions are ended, the cluster is written out.
    pub async fn stop_fast(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                let _ = Command::new("kill")
                    .args(["-INT", &pid.to_string()])
                    .status()
                    .await;
            }
            let _ = child.wait().await;
        }
    }

    /// Kills the postmaster with SIGKILL, as a crash would; the next start recovers from WAL.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// Starts the server (again) on its port and data directory, waiting until it accepts
    /// connections. After a SIGKILL the old backends hold the shared memory until they notice
    /// their postmaster is gone, so a start that fails on that is tried again.
    pub async fn start_again(&mut self) -> Result<(), LocalPostgresError> {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let mut child = self.spawn()?;
            match self.wait_until_ready(&mut child, deadline).await {
                Ok(()) => {
                    self.child = Some(child);
                    return Ok(());
                }
                Err(error) if Instant::now() >= deadline => {
                    let _ = child.start_kill();
                    return Err(error);
                }
                Err(_) => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Creates an empty database and returns its URL.
    pub async fn create_database(&self, name: &str) -> Result<String, LocalPostgresError> {
        create_database(&self.url(), name).await?;
        Ok(self.url_of(name))
    }

    fn spawn(&self) -> Result<Child, LocalPostgresError> {
        let log = std::fs::File::create(self.log_path()).map_err(start_error)?;
        if let Some(user) = self.run_as {
            std::os::unix::fs::chown(self.log_path(), Some(user.uid), Some(user.gid))
                .map_err(start_error)?;
        }
        let mut command = Command::new(self.bin.join("postgres"));
        command
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-p", &self.port.to_string()])
            .arg("-k")
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=300"])
            .args(["-c", "shared_buffers=32MB"])
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        if let Some(user) = self.run_as {
            command.uid(user.uid).gid(user.gid);
        }
        command.spawn().map_err(start_error)
    }

    async fn wait_until_ready(
        &self,
        child: &mut Child,
        deadline: Instant,
    ) -> Result<(), LocalPostgresError> {
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(LocalPostgresError::Start(format!(
                    "postgres exited with {status}: {}",
                    self.log_tail()
                )));
            }
            if let Ok(mut connection) = PgConnection::connect(&self.url()).await {
                let ready = connection.execute("SELECT 1").await.is_ok();
                let _ = connection.close().await;
                if ready {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(LocalPostgresError::NotReady {
                    within: READY_WITHIN,
                    log: self.log_tail(),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }
}

/// A fresh, uniquely named database on the server `server_url` points at (any database of it
/// the URL names is only used to connect); returns the new database's URL. What the tests use
/// when `DATABASE_URL` names a server to use instead of starting their own.
pub async fn fresh_database(server_url: &str) -> Result<String, LocalPostgresError> {
    let name = format!("oh_fitbit_test_{}", crate::random_token());
    create_database(server_url, &name).await?;
    let mut url =
        url::Url::parse(server_url).map_err(|error| LocalPostgresError::CreateDatabase {
            name: name.clone(),
            source: sqlx::Error::Configuration(Box::new(error)),
        })?;
    url.set_path(&name);
    Ok(url.to_string())
}

/// Creates an empty database on the server `admin_url` points at.
pub(super) async fn create_database(admin_url: &str, name: &str) -> Result<(), LocalPostgresError> {
    let failed = |source| LocalPostgresError::CreateDatabase {
        name: name.to_owned(),
        source,
    };
    let mut connection = PgConnection::connect(admin_url).await.map_err(failed)?;
    // Names come from this crate (letters, digits and underscores), never from outside.
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut connection)
        .await
        .map_err(failed)?;
    let _ = connection.close().await;
    Ok(())
}

/// The directory of `initdb` and `postgres`: on PATH, or Debian's newest
/// `/usr/lib/postgresql/<version>/bin`.
fn binaries() -> Option<PathBuf> {
    if which("initdb") && which("postgres") {
        let initdb = std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join("initdb"))
            .find(|path| path.exists())?;
        return std::fs::canonicalize(initdb)
            .ok()?
            .parent()
            .map(Path::to_path_buf);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The `postgres` account of Debian's package, or `nobody`.
fn unprivileged_user() -> RunAs {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let account = |name: &str| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&name) && fields.len() > 3).then(|| RunAs {
                uid: fields[2].parse().unwrap_or(65534),
                gid: fields[3].parse().unwrap_or(65534),
            })
        })
    };
    account("postgres")
        .or_else(|| account("nobody"))
        .unwrap_or(RunAs {
            uid: 65534,
            gid: 65534,
        })
}

/// A freshly initialised cluster to copy, made once per machine, PostgreSQL version and user.
/// It is built beside its final name and renamed into place, so a concurrent start never
/// copies half a cluster.
async fn template(bin: &Path, run_as: Option<RunAs>) -> Result<PathBuf, LocalPostgresError> {
    let version = Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .await
        .map_err(start_error)?;
    let version: String = String::from_utf8_lossy(&version.stdout)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let owner = run_as.map_or_else(|| "self".to_owned(), |user| user.uid.to_string());
    let template =
        std::env::temp_dir().join(format!("oh-fitbit-postgres-template-{version}-{owner}"));
    if template.join("PG_VERSION").exists() {
        return Ok(template);
    }
    let building = std::env::temp_dir().join(format!(
        "oh-fitbit-postgres-template-{}",
        crate::random_token()
    ));
    std::fs::create_dir(&building).map_err(start_error)?;
    if let Some(user) = run_as {
        std::os::unix::fs::chown(&building, Some(user.uid), Some(user.gid)).map_err(start_error)?;
    }
    let mut command = Command::new(bin.join("initdb"));
    command
        .arg("-D")
        .arg(building.join("data"))
        .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
        .args(["--no-sync", "--no-instructions"])
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(user) = run_as {
        command.uid(user.uid).gid(user.gid);
    }
    let output = command.output().await.map_err(start_error)?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&building);
        return Err(LocalPostgresError::Start(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    if std::fs::rename(building.join("data"), &template).is_err() && !template.exists() {
        let _ = std::fs::remove_dir_all(&building);
        return Err(LocalPostgresError::Start(
            "could not move the initialised cluster into place".into(),
        ));
    }
    let _ = std::fs::remove_dir_all(&building);
    Ok(template)
}

/// Copies a cluster with its owner and modes (PostgreSQL insists on a 0700 data directory).
async fn copy_cluster(template: &Path, to: &Path) -> Result<(), LocalPostgresError> {
    let status = Command::new("cp")
        .arg("-a")
        .arg(template)
        .arg(to)
        .status()
        .await
        .map_err(start_error)?;
    if status.success() {
        Ok(())
    } else {
        Err(LocalPostgresError::Start(format!(
            "copying the template cluster failed: {status}"
        )))
    }
}

fn start_error(error: std::io::Error) -> LocalPostgresError {
    LocalPostgresError::Start(error.to_string())
}
