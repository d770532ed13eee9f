//! A private `moto_server` (an S3 imitation) for the staging tests: one per test process, started
//! on first use on a free loopback port; each test makes its own bucket in it.
//!
//! Statics are never dropped, so the server runs under a small shell that kills it as soon as
//! this process's end of the shell's stdin closes, which happens however the process ends.

use std::{
    io::{Read, Seek},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    time::{Duration, Instant},
};

use tokio::sync::OnceCell;

const INSTALL: &str = "moto_server is needed for the S3 staging tests; run scripts/test, which \
    installs it, or install it by hand: python3 -m venv ~/.cache/oh-fitbit/moto && \
    ~/.cache/oh-fitbit/moto/bin/pip install 'moto[server]==5.2.5' (or set MOTO_SERVER to its path)";

/// Runs `"$@"` until it exits by itself or stdin reaches its end; fd 3 keeps stdin for the
/// watcher because a background job's own stdin is /dev/null.
const WATCHDOG: &str = r#"exec 3<&0
"$@" </dev/null 3<&- &
server=$!
{ read -r _ <&3; kill "$server" 2>/dev/null; } &
watcher=$!
wait "$server"
status=$?
kill "$watcher" 2>/dev/null
exit "$status""#;

const READY_WITHIN: Duration = Duration::from_secs(30);

pub struct Moto {
    port: u16,
    _server: Child,
    _lifeline: ChildStdin,
}

static MOTO: OnceCell<Moto> = OnceCell::const_new();

/// The endpoint URL of this process's moto_server, started on first use.
pub async fn endpoint() -> String {
    let moto = MOTO.get_or_init(Moto::start).await;
    format!("http://127.0.0.1:{}", moto.port)
}

impl Moto {
    /// Retries with another port if the free one was taken in between.
    async fn start() -> Self {
        let program = program();
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::start_on(&program, free_port()).await {
                Ok(moto) => return moto,
                Err(failure) => failures.push(failure),
            }
        }
        panic!("moto_server did not start:\n{}", failures.join("\n"));
    }

    async fn start_on(program: &Path, port: u16) -> Result<Self, String> {
        // An anonymous file: moto logs every request, and only a failed start needs the log.
        let mut log = tempfile::tempfile().map_err(|error| error.to_string())?;
        let mut server = Command::new("sh")
            .args(["-c", WATCHDOG, "moto-watchdog"])
            .arg(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log.try_clone().map_err(|error| error.to_string())?)
            .spawn()
            .map_err(|error| format!("could not run sh: {error}"))?;
        let lifeline = server.stdin.take().expect("stdin is piped");
        let started = Instant::now();
        while started.elapsed() < READY_WITHIN {
            if let Ok(Some(status)) = server.try_wait() {
                let mut output = String::new();
                log.rewind()
                    .and_then(|()| log.read_to_string(&mut output))
                    .ok();
                return Err(format!(
                    "{} exited with {status}: {output}",
                    program.display()
                ));
            }
            if answers(port).await {
                return Ok(Self {
                    port,
                    _server: server,
                    _lifeline: lifeline,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "{} did not answer within {READY_WITHIN:?}",
            program.display()
        ))
    }
}

async fn answers(port: u16) -> bool {
    reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .is_ok_and(|response| response.status().is_success())
}

/// `MOTO_SERVER` (set by scripts/test), else `moto_server` on the PATH, else where scripts/test
/// installs it.
fn program() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "MOTO_SERVER={} is not a file. {INSTALL}",
            path.display()
        );
        return path;
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("moto_server"));
    let installed = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/oh-fitbit/moto/bin/moto_server"));
    on_path
        .chain(installed)
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{INSTALL}"))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}
