//! Logging on stderr, filtered by `RUST_LOG` (default `info`), in the format `LOG_FORMAT` names:
//! `text` (the default), human-readable lines, or `json`, one JSON object a line with the
//! fields of the event and of every span it is in, for a log drain to index. On Heroku (`DYNO`
//! set) text leaves the timestamp out because the log router adds its own; colours only go to a
//! terminal.

use std::io::{IsTerminal, Write};

use anyhow::bail;
use tracing::Subscriber;
use tracing_subscriber::{EnvFilter, fmt, fmt::MakeWriter};

/// How log lines are written (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// `LOG_FORMAT` as set, `text` when it is not.
    pub fn from_env(value: Option<&str>) -> anyhow::Result<Self> {
        match value.map(str::trim) {
            None | Some("" | "text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => bail!("LOG_FORMAT must be `text` or `json`, not {other:?}"),
        }
    }
}

/// Installs the process' logger; fails only on a `LOG_FORMAT` that is neither format.
pub fn init() -> anyhow::Result<()> {
    let format = LogFormat::from_env(std::env::var("LOG_FORMAT").ok().as_deref())?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let on_heroku = std::env::var_os("DYNO").is_some();
    let subscriber = subscriber(format, filter, std::io::stderr, on_heroku);
    if let Err(error) = tracing::subscriber::set_global_default(subscriber) {
        eprintln!("logging was already initialised: {error}");
    }
    Ok(())
}

/// The logger for `format`, writing to `writer`.
fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    without_time: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w, Writer: Write> + Send + Sync + 'static,
{
    let builder = fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Json => Box::new(
            builder
                .with_ansi(false)
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(true)
                .finish(),
        ),
        LogFormat::Text => {
            let text = builder
                .with_ansi(std::io::stderr().is_terminal())
                .with_target(false);
            if without_time {
                Box::new(text.without_time().finish())
            } else {
                Box::new(text.finish())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_carry_the_event_and_its_spans_fields() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = subscriber(
            LogFormat::Json,
            EnvFilter::new("info"),
            move || writer.clone(),
            false,
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", method = "GET", path = "/dashboard");
            let _entered = span.enter();
            tracing::warn!(member = "12345678", "a sync failed\nwith a second line");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "one line an event: {text}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "a sync failed\nwith a second line");
        assert_eq!(line["member"], "12345678");
        assert_eq!(line["span"]["path"], "/dashboard");
        assert_eq!(line["spans"][0]["method"], "GET");
        assert!(line["timestamp"].is_string());
    }

    #[test]
    fn the_format_is_text_or_json_and_nothing_else() {
        assert_eq!(LogFormat::from_env(None).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::from_env(Some("json")).unwrap(), LogFormat::Json);
        let error = LogFormat::from_env(Some("yaml")).unwrap_err().to_string();
        assert!(error.contains("LOG_FORMAT"), "{error}");
    }
}
