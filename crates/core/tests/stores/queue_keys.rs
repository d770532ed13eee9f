//! Every key a queue script touches is one it was given in KEYS, as Redis Cluster and proxies
//! require. The queue's whole life cycle runs while a MONITOR connection records every command,
//! those run by scripts (`[0 lua]`) included, and Redis itself names each command's keys
//! (`COMMAND GETKEYS`), so the check knows nothing of what the scripts are meant to do.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use jiff::Timestamp;
use oh_fitbit_core::queue::{Completed, Enqueued, Outcome};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    net::{TcpStream, tcp::OwnedReadHalf},
};

use crate::{
    Loss, Stores, TestRedis,
    fixtures::{LEASE, MAX_ATTEMPTS, id, in_hours},
};

/// Where the queue's scripts are: every one of them must run in the life cycle.
const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/queue/lua");

/// The command ending what MONITOR records for the test.
const END: &str = "the-life-cycle-is-over";

/// A script run first, to learn whether MONITOR shows a script's commands after the script's
/// own line or before it: the check assumes neither.
const CALIBRATION: &str = "return redis.call('EXISTS', KEYS[1])";
const CALIBRATION_KEY: &str = "test:calibration";

/// A command as MONITOR shows it.
struct Seen {
    /// Run by a script.
    by_script: bool,
    args: Vec<String>,
}

impl Seen {
    /// From a line such as `1700000000.123456 [0 lua] "HSET" "test:job:1" "state" "ready"`.
    fn parse(line: &str) -> Self {
        let (_, rest) = line
            .split_once(" [")
            .unwrap_or_else(|| panic!("a MONITOR line: {line}"));
        let (client, args) = rest
            .split_once("] ")
            .unwrap_or_else(|| panic!("a MONITOR line: {line}"));
        Self {
            by_script: client.ends_with(" lua"),
            args: quoted_words(args),
        }
    }

    fn runs_a_script(&self) -> bool {
        ["EVAL", "EVALSHA"].contains(&self.args[0].to_ascii_uppercase().as_str())
    }
}

/// The words of `"HSET" "k\"1" "a\x00b"`, unescaped as Redis escapes them.
fn quoted_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        if byte == b' ' {
            continue;
        }
        assert_eq!(byte, b'"', "a quoted word in {text}");
        let mut word = Vec::new();
        loop {
            let byte = bytes.next().expect("a closing quote");
            match byte {
                b'"' => break,
                b'\\' => {
                    let escaped = bytes.next().expect("an escaped byte");
                    word.push(match escaped {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'a' => 0x07,
                        b'b' => 0x08,
                        b'x' => {
                            let hex = [bytes.next().unwrap(), bytes.next().unwrap()];
                            u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap()
                        }
                        other => other,
                    });
                }
                other => word.push(other),
            }
        }
        words.push(String::from_utf8_lossy(&word).into_owned());
    }
    words
}

/// One run of a script: what it was given, and the commands it ran.
struct Run {
    /// The script's SHA1, or its source when sent whole.
    script: String,
    keys: BTreeSet<String>,
    commands: Vec<Vec<String>>,
}

/// Attributes each command a script ran to that script's run. A script runs atomically, so its
/// commands are next to its own line, after it or before it as `commands_follow` says.
fn runs(seen: Vec<Seen>, commands_follow: bool) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut open = false;
    let mut pending = Vec::new();
    for command in seen {
        if command.by_script {
            if commands_follow {
                assert!(
                    open,
                    "a script's command without its script: {:?}",
                    command.args
                );
                runs.last_mut().unwrap().commands.push(command.args);
            } else {
                pending.push(command.args);
            }
            continue;
        }
        assert!(
            pending.is_empty(),
            "scripts' commands without their script: {pending:?}"
        );
        open = command.runs_a_script();
        if open {
            let args = command.args;
            let count: usize = args[2].parse().expect("the number of keys");
            runs.push(Run {
                script: args[1].clone(),
                keys: args[3..3 + count].iter().cloned().collect(),
                commands: std::mem::take(&mut pending),
            });
        }
    }
    assert!(
        pending.is_empty(),
        "scripts' commands without their script: {pending:?}"
    );
    runs
}

/// The keys of a command, as Redis names them.
async fn keys_of(redis: &TestRedis, command: &[String]) -> Vec<String> {
    if command.len() == 1 {
        return Vec::new();
    }
    let mut getkeys = redis::cmd("COMMAND");
    getkeys.arg("GETKEYS").arg(command);
    let keys: redis::RedisResult<Vec<String>> = getkeys
        .query_async(&mut redis.redis.get().await.unwrap())
        .await;
    match keys {
        Ok(keys) => keys,
        Err(error) if error.to_string().contains("no key arguments") => Vec::new(),
        Err(error) => panic!("COMMAND GETKEYS {command:?}: {error}"),
    }
}

/// Every command Redis runs, from now until the END command.
struct Monitor {
    lines: Lines<BufReader<OwnedReadHalf>>,
    /// Kept open: MONITOR stops with its connection.
    _writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Monitor {
    async fn start(redis: &TestRedis) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", redis.server.port()))
            .await
            .expect("a connection to redis-server");
        let (reader, mut writer) = stream.into_split();
        writer.write_all(b"MONITOR\r\n").await.unwrap();
        let mut lines = BufReader::new(reader).lines();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("+OK"));
        Self {
            lines,
            _writer: writer,
        }
    }

    async fn until_end(mut self, redis: &TestRedis) -> Vec<Seen> {
        redis.raw(&["ECHO", END]).await;
        let mut seen = Vec::new();
        loop {
            let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
                .await
                .expect("MONITOR shows the END command")
                .unwrap()
                .expect("MONITOR stays connected");
            let command = Seen::parse(line.strip_prefix('+').expect("a status line"));
            if command.args == ["ECHO", END] {
                return seen;
            }
            seen.push(command);
        }
    }
}

/// The queue's scripts by SHA1, each named by its file.
async fn scripts(redis: &TestRedis) -> BTreeMap<String, String> {
    let mut scripts = BTreeMap::new();
    for entry in std::fs::read_dir(SCRIPTS).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        let redis::Value::BulkString(sha) = redis.raw(&["SCRIPT", "LOAD", &source]).await else {
            panic!("SCRIPT LOAD answers the SHA1")
        };
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        scripts.insert(String::from_utf8(sha).unwrap(), name);
    }
    scripts
}

/// Every transition of the queue, each script in every branch that writes.
async fn life_cycle(stores: &mut Stores) {
    let queue = stores.queue.clone();
    let [a, b, c, d] = ["11111111", "22222222", "33333333", "44444444"].map(id);
    let now = Timestamp::now;
    assert_eq!(queue.enqueue(&a, now()).await.unwrap(), Enqueued::Queued);
    assert_eq!(
        queue.enqueue(&b, in_hours(1)).await.unwrap(),
        Enqueued::Scheduled
    );
    assert_eq!(queue.enqueue(&b, now()).await.unwrap(), Enqueued::Queued);
    queue.enqueue(&c, in_hours(1)).await.unwrap();

    let lease = stores.fetch(&a, LEASE).await;
    assert_eq!(queue.enqueue(&a, now()).await.unwrap(), Enqueued::Coalesced);
    assert!(queue.heartbeat(&lease, LEASE).await.unwrap());
    assert!(queue.record_progress(&lease).await.unwrap());
    let done = Outcome::Done {
        next_run: in_hours(24),
    };
    assert_eq!(
        queue.complete(&lease, done, MAX_ATTEMPTS).await.unwrap(),
        Completed::Requeued
    );

    // Each completion schedules a run due at once, which the next fetch promotes.
    let lease = stores.fetch(&b, LEASE).await;
    let retry = Outcome::Retry {
        run_at: now(),
        error: "boom".into(),
    };
    assert_eq!(
        queue.complete(&lease, retry, MAX_ATTEMPTS).await.unwrap(),
        Completed::Scheduled
    );
    let lease = stores.fetch(&a, LEASE).await;
    let later = Outcome::Later {
        run_at: now(),
        reason: "quota".into(),
    };
    assert_eq!(
        queue.complete(&lease, later, MAX_ATTEMPTS).await.unwrap(),
        Completed::Scheduled
    );
    let lease = stores.fetch(&b, LEASE).await;
    let parked = Outcome::Parked {
        reason: "reconnect".into(),
    };
    assert_eq!(
        queue.complete(&lease, parked, MAX_ATTEMPTS).await.unwrap(),
        Completed::Parked
    );

    let crashed = stores.fetch(&a, Duration::ZERO).await;
    assert_eq!(queue.reap(MAX_ATTEMPTS).await.unwrap(), 1);
    let done = Outcome::Done {
        next_run: in_hours(24),
    };
    assert_eq!(
        queue.complete(&crashed, done, MAX_ATTEMPTS).await.unwrap(),
        Completed::Stale
    );
    let lease = stores.fetch(&a, LEASE).await;
    assert_eq!(
        queue
            .complete(&lease, Outcome::Gone, MAX_ATTEMPTS)
            .await
            .unwrap(),
        Completed::Forgotten
    );

    let lease = stores.lease(&d, LEASE).await;
    let retry = Outcome::Retry {
        run_at: now(),
        error: "boom".into(),
    };
    assert_eq!(
        queue.complete(&lease, retry, 1).await.unwrap(),
        Completed::Dead
    );
    queue.stats().await.unwrap();
    queue.forget(&c).await.unwrap();

    // Workers racing for the head of the ready list.
    let racing = ["55555555", "66666666", "77777777"].map(id);
    for member in &racing {
        queue.enqueue(member, now()).await.unwrap();
    }
    let (first, second, third) =
        tokio::join!(queue.fetch(LEASE), queue.fetch(LEASE), queue.fetch(LEASE));
    for lease in [first, second, third].into_iter().flatten().flatten() {
        let done = Outcome::Done {
            next_run: in_hours(24),
        };
        queue.complete(&lease, done, MAX_ATTEMPTS).await.unwrap();
    }

    stores.redis.lose_everything(Loss::Flushed).await;
    assert!(queue.repair(&[b]).await.unwrap().rebuilt);
}

#[tokio::test]
async fn every_key_a_queue_script_touches_is_one_of_its_keys() {
    let mut stores = Stores::start().await;
    let monitor = Monitor::start(&stores.redis).await;
    stores
        .redis
        .raw(&["EVAL", CALIBRATION, "1", CALIBRATION_KEY])
        .await;
    life_cycle(&mut stores).await;
    let seen = monitor.until_end(&stores.redis).await;
    let scripts = scripts(&stores.redis).await;

    let position = |wanted: &dyn Fn(&Seen) -> bool| seen.iter().position(wanted).unwrap();
    let calibration =
        position(&|command| command.args.get(..2) == Some(&["EVAL".into(), CALIBRATION.into()]));
    let its_command =
        position(&|command| command.by_script && command.args == ["EXISTS", CALIBRATION_KEY]);
    let runs = runs(seen, its_command > calibration);

    let mut outside = BTreeSet::new();
    let mut ran = BTreeSet::new();
    for run in &runs {
        let name = scripts.get(&run.script).unwrap_or(&run.script);
        if !run.commands.is_empty() {
            ran.insert(name.as_str());
        }
        for command in &run.commands {
            for key in keys_of(&stores.redis, command).await {
                if !run.keys.contains(&key) {
                    outside.insert(format!("{name}: {} {key}, KEYS {:?}", command[0], run.keys));
                }
            }
        }
    }
    assert_eq!(outside, BTreeSet::new(), "scripts touched keys not in KEYS");
    let every: BTreeSet<&str> = scripts.values().map(String::as_str).collect();
    assert_eq!(
        every.difference(&ran).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "scripts the life cycle did not run"
    );
}
