//! Typed configuration, one struct per subsystem, each read from the environment with
//! `from_env`. The web and worker processes compose the parts they need, so each fails fast on
//! exactly the variables it uses.

mod env;

use std::{net::IpAddr, path::PathBuf, time::Duration};

pub use env::{ConfigError, Environment};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::{crypto::TokenCipher, staging::StagingKey};

/// The public address of the web process, from which every callback URL is derived.
#[derive(Clone, Debug)]
pub struct PublicUrl(Url);

impl PublicUrl {
    pub fn parse(variable: &'static str, text: &str) -> Result<Self, ConfigError> {
        let mut url = http_url(variable, text)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::new(
                variable,
                "must not have a query or fragment",
            ));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(Self(url))
    }

    pub fn from_env(env: &Environment) -> Result<Self, ConfigError> {
        Self::parse("APP_BASE_URL", &env.required("APP_BASE_URL")?)
    }

    /// `path` is relative, without a leading slash, e.g. `"fitbit/callback"`.
    pub fn join(&self, path: &str) -> Url {
        self.0
            .join(path)
            .expect("a relative path joins onto an http(s) base URL")
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }
}

#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// May carry a password, hence secret.
    pub url: SecretString,
    /// Prefix of every key this service writes, so one Redis can be shared.
    pub key_prefix: String,
}

impl RedisConfig {
    pub fn from_env(env: &Environment) -> Result<Self, ConfigError> {
        let (variable, mut url) = match env.var("REDIS_TLS_URL") {
            Some(url) => ("REDIS_TLS_URL", url),
            None => ("REDIS_URL", env.required("REDIS_URL")?),
        };
        if !["redis://", "rediss://", "redis+unix://", "unix://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            return Err(ConfigError::new(
                variable,
                "must start with redis://, rediss:// or redis+unix://",
            ));
        }
        // Heroku's Key-Value Store presents a self-signed certificate, which every client
        // ecosystem accepts without verification; REDIS_TLS_VERIFY=true opts back in.
        if url.starts_with("rediss://") && !env.flag("REDIS_TLS_VERIFY")? && !url.contains('#') {
            url.push_str("#insecure");
        }
        Ok(Self {
            url: SecretString::from(url),
            key_prefix: env
                .var("REDIS_KEY_PREFIX")
                .unwrap_or_else(|| "ohfb:".to_owned()),
        })
    }
}

/// The PostgreSQL database, the system of record.
#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// Carries the password, hence secret.
    pub url: SecretString,
    /// Connections this process keeps at most (`DATABASE_POOL_SIZE`); Heroku's smallest plans
    /// allow 20 in all.
    pub pool_size: u32,
    /// TLS is required (without verifying the certificate, as `sslmode=require` does) when
    /// the URL does not say otherwise: Heroku Postgres refuses plain connections and does not
    /// present a certificate a client could verify.
    pub require_tls: bool,
}

impl DatabaseConfig {
    pub fn from_env(env: &Environment) -> Result<Self, ConfigError> {
        const VARIABLE: &str = "DATABASE_URL";
        let url = env.required(VARIABLE)?;
        let parsed = Url::parse(&url).ok().filter(|url| {
            matches!(url.scheme(), "postgres" | "postgresql") && url.host().is_some()
        });
        if parsed.is_none() {
            return Err(ConfigError::new(
                VARIABLE,
                "must be a postgres:// URL with a host",
            ));
        }
        let pool_size = env.parsed_or("DATABASE_POOL_SIZE", 8)?;
        if pool_size == 0 {
            return Err(ConfigError::new("DATABASE_POOL_SIZE", "must be at least 1"));
        }
        Ok(Self {
            url: SecretString::from(url),
            pool_size,
            require_tls: env.var("DYNO").is_some(),
        })
    }

    /// A database of the local stack or the tests, on loopback without TLS.
    pub fn local(url: String) -> Self {
        Self {
            url: SecretString::from(url),
            pool_size: 5,
            require_tls: false,
        }
    }
}

pub fn token_cipher_from_env(env: &Environment) -> Result<TokenCipher, ConfigError> {
    let primary = env.secret("TOKEN_ENCRYPTION_KEY")?;
    let previous: Vec<SecretString> = env
        .var("TOKEN_ENCRYPTION_OLD_KEYS")
        .map(|list| {
            list.split(',')
                .map(|key| SecretString::from(key.trim().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    TokenCipher::from_keys("TOKEN_ENCRYPTION_KEY", &primary, &previous)
}

#[derive(Clone, Debug)]
pub struct OpenHumansConfig {
    pub base_url: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The project's deauthorisation webhook secret: webhooks must then carry its HMAC-SHA1
    /// signature. `None` only when the operator chose to run without one
    /// (`OPEN_HUMANS_WEBHOOK_UNSIGNED`): a webhook is then believed only once Open Humans
    /// refuses to refresh the member's token (see the web crate's `deauth` route).
    pub webhook_secret: Option<SecretString>,
}

impl OpenHumansConfig {
    pub fn from_env(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            base_url: base_url(env, "OPEN_HUMANS_URL", "https://www.openhumans.org/")?,
            client_id: env.required("OPEN_HUMANS_CLIENT_ID")?,
            client_secret: env.secret("OPEN_HUMANS_CLIENT_SECRET")?,
            webhook_secret: webhook_secret(env)?,
        })
    }
}

/// Open Humans accepts 16 to 64 ASCII characters as a webhook secret. Running without one is
/// an explicit choice: anybody can then post a notice, and only Open Humans' refusal of the
/// member's token makes it believed.
fn webhook_secret(env: &Environment) -> Result<Option<SecretString>, ConfigError> {
    const VARIABLE: &str = "OPEN_HUMANS_WEBHOOK_SECRET";
    let Some(secret) = env.var(VARIABLE) else {
        return match env.flag("OPEN_HUMANS_WEBHOOK_UNSIGNED")? {
            true => Ok(None),
            false => Err(ConfigError::new(
                VARIABLE,
                "is required: paste it into the Open Humans project's \"Webhook secret\" \
                 (or set OPEN_HUMANS_WEBHOOK_UNSIGNED=true to accept unsigned webhooks)",
            )),
        };
    };
    if !(16..=64).contains(&secret.len()) || !secret.is_ascii() {
        return Err(ConfigError::new(
            VARIABLE,
            "must be the 16 to 64 ASCII characters set as the project's webhook secret",
        ));
    }
    Ok(Some(SecretString::from(secret)))
}

#[derive(Clone, Debug)]
pub struct GoogleConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    pub authorize_url: Url,
    pub token_url: Url,
    pub revoke_url: Url,
    pub health_api_url: Url,
    /// Intraday data is only read through a member's own OAuth client, with its own quota
    /// (`INTRADAY_REQUIRES_OWN_CLIENT`, default true). Off, members may turn intraday on with
    /// this service's client, whose per-project quota they then share.
    pub intraday_requires_own_client: bool,
    /// Where members create their own OAuth client (the intraday guide links to it).
    pub cloud_console_url: Url,
}

impl GoogleConfig {
    pub fn from_env(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            client_id: env.required("GOOGLE_CLIENT_ID")?,
            client_secret: env.secret("GOOGLE_CLIENT_SECRET")?,
            authorize_url: url_var(
                env,
                "GOOGLE_AUTHORIZE_URL",
                "https://accounts.google.com/o/oauth2/v2/auth",
            )?,
            token_url: url_var(
                env,
                "GOOGLE_TOKEN_URL",
                "https://oauth2.googleapis.com/token",
            )?,
            revoke_url: url_var(
                env,
                "GOOGLE_REVOKE_URL",
                "https://oauth2.googleapis.com/revoke",
            )?,
            health_api_url: base_url(
                env,
                "GOOGLE_HEALTH_API_URL",
                "https://health.googleapis.com/",
            )?,
            intraday_requires_own_client: env.flag_or("INTRADAY_REQUIRES_OWN_CLIENT", true)?,
            cloud_console_url: url_var(
                env,
                "GOOGLE_CLOUD_CONSOLE_URL",
                "https://console.cloud.google.com/auth/clients/create",
            )?,
        })
    }

    /// All endpoints under one base URL, as the simulator serves them.
    pub fn simulated(base: &Url, client_id: String, client_secret: SecretString) -> Self {
        let at = |path: &str| base.join(path).expect("simulator paths are relative");
        Self {
            client_id,
            client_secret,
            authorize_url: at("o/oauth2/v2/auth"),
            token_url: at("token"),
            revoke_url: at("revoke"),
            health_api_url: base.clone(),
            intraday_requires_own_client: true,
            cloud_console_url: at("console/clients/new"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub public_url: PublicUrl,
    pub bind: IpAddr,
    pub port: u16,
    /// Master key for the private (encrypted and signed) cookies.
    pub session_key: SecretString,
    pub limits: WebLimits,
}

/// What the web process lets one client address do, and whom it believes about addresses.
#[derive(Clone, Debug)]
pub struct WebLimits {
    /// Requests per client address per minute to the OAuth start and callback routes.
    pub oauth_requests_per_minute: u32,
    /// Deauthorisation webhooks per client address per minute: each unsigned one costs an
    /// Open Humans call.
    pub webhooks_per_minute: u32,
    /// Proxies in front of the web process that append the address they saw to
    /// `X-Forwarded-For` (Heroku's router is one). Addresses further left are whatever the
    /// client wrote; 0 means the peer's address is the client's.
    pub trusted_proxy_hops: usize,
    /// How old a deauthorisation notice may be; a signature is remembered this long, so a
    /// captured notice cannot be replayed.
    pub webhook_max_age: Duration,
}

impl Default for WebLimits {
    fn default() -> Self {
        Self {
            oauth_requests_per_minute: 30,
            webhooks_per_minute: 30,
            trusted_proxy_hops: 0,
            webhook_max_age: Duration::from_secs(600),
        }
    }
}

impl WebLimits {
    pub fn from_env(env: &Environment) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        // Heroku's router sits in front of every web dyno; anywhere else, say what there is.
        let hops = usize::from(env.var("DYNO").is_some());
        let max_age_minutes: u64 = env.parsed_or("WEBHOOK_MAX_AGE_MINUTES", 10)?;
        if max_age_minutes == 0 {
            return Err(ConfigError::new(
                "WEBHOOK_MAX_AGE_MINUTES",
                "must be at least 1",
            ));
        }
        Ok(Self {
            oauth_requests_per_minute: env.parsed_or(
                "OAUTH_RATE_LIMIT_PER_MINUTE",
                defaults.oauth_requests_per_minute,
            )?,
            webhooks_per_minute: env.parsed_or(
                "WEBHOOK_RATE_LIMIT_PER_MINUTE",
                defaults.webhooks_per_minute,
            )?,
            trusted_proxy_hops: env.parsed_or("TRUSTED_PROXY_HOPS", hops)?,
            webhook_max_age: Duration::from_secs(60 * max_age_minutes),
        })
    }
}

impl HttpConfig {
    pub fn from_env(env: &Environment) -> Result<Self, ConfigError> {
        let session_key = env.secret("SESSION_KEY")?;
        if session_key.expose_secret().len() < 32 {
            return Err(ConfigError::new(
                "SESSION_KEY",
                "must be at least 32 characters",
            ));
        }
        // Heroku routes to 0.0.0.0:$PORT; everywhere else stay on loopback unless told otherwise.
        let default_bind = if env.var("DYNO").is_some() {
            "0.0.0.0"
        } else {
            "127.0.0.1"
        };
        Ok(Self {
            public_url: PublicUrl::from_env(env)?,
            bind: env.parsed_or("BIND_ADDRESS", default_bind.parse().expect("valid address"))?,
            port: env.parsed_or("PORT", 8080)?,
            session_key,
            limits: WebLimits::from_env(env)?,
        })
    }
}

/// Where the staging store lives: S3 when `STAGING_S3_BUCKET` is set, else a local directory.
#[derive(Clone, Debug)]
pub enum StagingConfig {
    LocalDirectory(PathBuf),
    S3(S3Config),
}

#[derive(Clone, Debug)]
pub struct S3Config {
    pub bucket: String,
    /// An S3-compatible server instead of AWS.
    pub endpoint: Option<Url>,
    pub region: String,
    /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`; most
    /// S3-compatible servers (and any endpoint that is an IP address) need it.
    pub path_style: bool,
    /// Empty, or ends with `/`; prepended to every key so the bucket can be shared.
    pub key_prefix: String,
    pub access_key_id: SecretString,
    pub secret_access_key: SecretString,
}

impl StagingConfig {
    pub fn from_env(env: &Environment) -> Result<Self, ConfigError> {
        Ok(match env.var("STAGING_S3_BUCKET") {
            Some(bucket) => Self::S3(S3Config::from_env(env, bucket)?),
            None => Self::LocalDirectory(
                env.var("STAGING_DIR")
                    .unwrap_or_else(|| "staging".to_owned())
                    .into(),
            ),
        })
    }
}

impl S3Config {
    fn from_env(env: &Environment, bucket: String) -> Result<Self, ConfigError> {
        let endpoint = env
            .var("STAGING_S3_ENDPOINT")
            .map(|text| http_url("STAGING_S3_ENDPOINT", &text))
            .transpose()?;
        let path_style = match env.var("STAGING_S3_PATH_STYLE") {
            Some(_) => env.flag("STAGING_S3_PATH_STYLE")?,
            None => endpoint.is_some(),
        };
        Ok(Self {
            bucket,
            endpoint,
            region: env
                .var("STAGING_S3_REGION")
                .unwrap_or_else(|| "us-east-1".to_owned()),
            path_style,
            key_prefix: s3_key_prefix(env)?,
            access_key_id: env.secret("AWS_ACCESS_KEY_ID")?,
            secret_access_key: env.secret("AWS_SECRET_ACCESS_KEY")?,
        })
    }
}

/// `STAGING_S3_PREFIX` with any surrounding slashes dropped and one trailing slash added, held to
/// the staging key rules so that prefixed keys stay well-formed.
fn s3_key_prefix(env: &Environment) -> Result<String, ConfigError> {
    let Some(text) = env.var("STAGING_S3_PREFIX") else {
        return Ok(String::new());
    };
    let prefix = text.trim().trim_matches('/');
    StagingKey::parse(prefix).map_err(|_| {
        ConfigError::new(
            "STAGING_S3_PREFIX",
            "must be segments of letters, digits, '.', '_' or '-' separated by '/'",
        )
    })?;
    Ok(format!("{prefix}/"))
}

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// How long after a successful sync the next one runs.
    pub sync_interval: Duration,
    /// How long a worker may hold a member without a heartbeat before the job is handed on.
    pub lease: Duration,
    /// Failed attempts (crashes included) before a member's job goes to the dead set.
    pub max_attempts: u32,
    /// Members synced at once by one worker process.
    pub concurrency: usize,
    /// How long a running job may continue after SIGTERM before it is handed back (Heroku
    /// kills the dyno 30 seconds after SIGTERM).
    pub shutdown_grace: Duration,
    /// How long a data type that failed on its own waits before it is tried again; each
    /// failure in a row doubles it, up to a day.
    pub type_retry_wait: Duration,
}

impl WorkerConfig {
    pub fn from_env(env: &Environment) -> Result<Self, ConfigError> {
        let hours: u64 = env.parsed_or("SYNC_INTERVAL_HOURS", 24)?;
        let lease: u64 = env.parsed_or("JOB_LEASE_SECONDS", 300)?;
        if lease < 30 {
            return Err(ConfigError::new("JOB_LEASE_SECONDS", "must be at least 30"));
        }
        let concurrency = env.parsed_or("WORKER_CONCURRENCY", 4)?;
        if concurrency == 0 {
            return Err(ConfigError::new("WORKER_CONCURRENCY", "must be at least 1"));
        }
        Ok(Self {
            sync_interval: Duration::from_secs(hours * 3600),
            lease: Duration::from_secs(lease),
            max_attempts: env.parsed_or("JOB_MAX_ATTEMPTS", 8)?,
            concurrency,
            shutdown_grace: Duration::from_secs(
                env.parsed_or("WORKER_SHUTDOWN_GRACE_SECONDS", 20)?,
            ),
            type_retry_wait: Duration::from_secs(
                60 * env.parsed_or::<u64>("TYPE_RETRY_MINUTES", 30)?,
            ),
        })
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            sync_interval: Duration::from_secs(24 * 3600),
            lease: Duration::from_secs(300),
            max_attempts: 8,
            concurrency: 4,
            shutdown_grace: Duration::from_secs(20),
            type_retry_wait: Duration::from_secs(30 * 60),
        }
    }
}

fn url_var(env: &Environment, variable: &'static str, default: &str) -> Result<Url, ConfigError> {
    let text = env.var(variable).unwrap_or_else(|| default.to_owned());
    parse_url(variable, &text)
}

fn parse_url(variable: &'static str, text: &str) -> Result<Url, ConfigError> {
    Url::parse(text).map_err(|error| ConfigError::new(variable, format!("is not a URL ({error})")))
}

fn http_url(variable: &'static str, text: &str) -> Result<Url, ConfigError> {
    let url = parse_url(variable, text)?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ConfigError::new(
            variable,
            "must be an http(s) URL with a host",
        ));
    }
    Ok(url)
}

/// A URL that other paths are joined onto, so it must end with a slash.
fn base_url(env: &Environment, variable: &'static str, default: &str) -> Result<Url, ConfigError> {
    let mut url = url_var(env, variable, default)?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, path::Path};

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
        )
    }

    #[test]
    fn a_webhook_secret_is_required_unless_unsigned_webhooks_are_chosen() {
        let base = [
            ("OPEN_HUMANS_CLIENT_ID", "id"),
            ("OPEN_HUMANS_CLIENT_SECRET", "secret"),
        ];
        let with = |secret: &str| {
            let mut pairs = base.to_vec();
            pairs.push(("OPEN_HUMANS_WEBHOOK_SECRET", secret));
            OpenHumansConfig::from_env(&env(&pairs))
        };
        let missing = OpenHumansConfig::from_env(&env(&base)).unwrap_err();
        assert_eq!(missing.variable, "OPEN_HUMANS_WEBHOOK_SECRET");
        assert!(missing.to_string().contains("OPEN_HUMANS_WEBHOOK_UNSIGNED"));
        let mut unsigned = base.to_vec();
        unsigned.push(("OPEN_HUMANS_WEBHOOK_UNSIGNED", "true"));
        assert!(
            OpenHumansConfig::from_env(&env(&unsigned))
                .unwrap()
                .webhook_secret
                .is_none()
        );
        assert!(with("0123456789abcdef").unwrap().webhook_secret.is_some());
        for bad in ["too short", &"x".repeat(65), "sixteen chars ünïcode"] {
            let error = with(bad).unwrap_err();
            assert_eq!(error.variable, "OPEN_HUMANS_WEBHOOK_SECRET", "{bad}");
        }
    }

    #[test]
    fn proxy_hops_default_to_heroku_s_router_on_a_dyno_and_to_none_elsewhere() {
        assert_eq!(
            WebLimits::from_env(&env(&[])).unwrap().trusted_proxy_hops,
            0
        );
        let heroku = WebLimits::from_env(&env(&[("DYNO", "web.1")])).unwrap();
        assert_eq!(heroku.trusted_proxy_hops, 1);
        let chosen = WebLimits::from_env(&env(&[("DYNO", "web.1"), ("TRUSTED_PROXY_HOPS", "2")]));
        assert_eq!(chosen.unwrap().trusted_proxy_hops, 2);
        for (variable, value) in [
            ("TRUSTED_PROXY_HOPS", "-1"),
            ("WEBHOOK_MAX_AGE_MINUTES", "0"),
        ] {
            let error = WebLimits::from_env(&env(&[(variable, value)])).unwrap_err();
            assert_eq!(error.variable, variable);
        }
        assert_eq!(
            WebLimits::from_env(&env(&[])).unwrap().webhook_max_age,
            Duration::from_secs(600)
        );
    }

    #[test]
    fn public_url_gets_a_trailing_slash_and_joins_paths() {
        let url = PublicUrl::parse("APP_BASE_URL", "https://fitbit.example.org/app").unwrap();
        assert_eq!(
            url.join("fitbit/callback").as_str(),
            "https://fitbit.example.org/app/fitbit/callback"
        );
        assert!(url.is_https());
        assert!(PublicUrl::parse("APP_BASE_URL", "ftp://x/").is_err());
        assert!(PublicUrl::parse("APP_BASE_URL", "https://x/?a=b").is_err());
    }

    #[test]
    fn heroku_tls_redis_is_accepted_without_verification_unless_asked() {
        let config = RedisConfig::from_env(&env(&[("REDIS_URL", "rediss://:p@h:1/")])).unwrap();
        assert_eq!(config.url.expose_secret(), "rediss://:p@h:1/#insecure");
        let config = RedisConfig::from_env(&env(&[
            ("REDIS_URL", "rediss://:p@h:1/"),
            ("REDIS_TLS_VERIFY", "true"),
        ]))
        .unwrap();
        assert_eq!(config.url.expose_secret(), "rediss://:p@h:1/");
        let error = RedisConfig::from_env(&env(&[("REDIS_URL", "http://h")])).unwrap_err();
        assert_eq!(error.variable, "REDIS_URL");
    }

    #[test]
    fn the_database_url_is_checked_and_tls_required_on_heroku() {
        let url = "postgres://u:p@db.example:5432/d";
        let local = DatabaseConfig::from_env(&env(&[("DATABASE_URL", url)])).unwrap();
        assert!(!local.require_tls);
        assert_eq!(local.pool_size, 8);
        let heroku = DatabaseConfig::from_env(&env(&[
            ("DATABASE_URL", url),
            ("DYNO", "worker.1"),
            ("DATABASE_POOL_SIZE", "12"),
        ]))
        .unwrap();
        assert!(heroku.require_tls);
        assert_eq!(heroku.pool_size, 12);
        for (variable, pairs) in [
            ("DATABASE_URL", vec![]),
            ("DATABASE_URL", vec![("DATABASE_URL", "mysql://h/d")]),
            ("DATABASE_URL", vec![("DATABASE_URL", "not a url")]),
            (
                "DATABASE_POOL_SIZE",
                vec![("DATABASE_URL", url), ("DATABASE_POOL_SIZE", "0")],
            ),
        ] {
            let error = DatabaseConfig::from_env(&env(&pairs)).unwrap_err();
            assert_eq!(error.variable, variable, "{pairs:?}");
            assert!(!error.to_string().contains(":p@"), "no password in {error}");
        }
    }

    #[test]
    fn http_config_binds_all_interfaces_on_heroku_only() {
        let base = [
            ("APP_BASE_URL", "https://a.example/"),
            ("SESSION_KEY", "0123456789abcdef0123456789abcdef"),
        ];
        let local = HttpConfig::from_env(&env(&base)).unwrap();
        assert_eq!(local.bind.to_string(), "127.0.0.1");
        assert_eq!(local.port, 8080);
        let mut heroku = base.to_vec();
        heroku.extend([("DYNO", "web.1"), ("PORT", "5000")]);
        let heroku = HttpConfig::from_env(&env(&heroku)).unwrap();
        assert_eq!(heroku.bind.to_string(), "0.0.0.0");
        assert_eq!(heroku.port, 5000);
        let short = HttpConfig::from_env(&env(&[
            ("APP_BASE_URL", "https://a/"),
            ("SESSION_KEY", "short"),
        ]))
        .unwrap_err();
        assert_eq!(short.variable, "SESSION_KEY");
    }

    #[test]
    fn google_endpoints_default_to_google() {
        let config = GoogleConfig::from_env(&env(&[
            ("GOOGLE_CLIENT_ID", "id"),
            ("GOOGLE_CLIENT_SECRET", "secret"),
        ]))
        .unwrap();
        assert_eq!(
            config.token_url.as_str(),
            "https://oauth2.googleapis.com/token"
        );
        assert_eq!(
            config.health_api_url.as_str(),
            "https://health.googleapis.com/"
        );
    }

    const S3_BASE: [(&str, &str); 3] = [
        ("STAGING_S3_BUCKET", "staging"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
    ];

    fn s3_config(extra: &[(&str, &str)]) -> Result<S3Config, ConfigError> {
        let mut pairs = S3_BASE.to_vec();
        pairs.extend_from_slice(extra);
        match StagingConfig::from_env(&env(&pairs))? {
            StagingConfig::S3(config) => Ok(config),
            StagingConfig::LocalDirectory(dir) => panic!("expected S3, got the directory {dir:?}"),
        }
    }

    #[test]
    fn staging_is_a_local_directory_unless_a_bucket_is_set() {
        let config = StagingConfig::from_env(&env(&[("STAGING_DIR", "/data/staging")])).unwrap();
        assert!(
            matches!(config, StagingConfig::LocalDirectory(dir) if dir == Path::new("/data/staging"))
        );
    }

    #[test]
    fn s3_staging_defaults_to_aws_virtual_hosts_and_no_prefix() {
        let config = s3_config(&[]).unwrap();
        assert_eq!(config.bucket, "staging");
        assert_eq!(config.region, "us-east-1");
        assert!(config.endpoint.is_none());
        assert!(!config.path_style);
        assert_eq!(config.key_prefix, "");
        assert_eq!(config.secret_access_key.expose_secret(), "wJalrXUtnFEMI");
    }

    #[test]
    fn an_s3_endpoint_implies_path_style_unless_told_otherwise() {
        let config = s3_config(&[
            ("STAGING_S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("STAGING_S3_REGION", "eu-west-1"),
            ("STAGING_S3_PREFIX", "/oh-fitbit/staging/"),
        ])
        .unwrap();
        assert!(config.path_style);
        assert_eq!(config.region, "eu-west-1");
        assert_eq!(config.key_prefix, "oh-fitbit/staging/");
        let config = s3_config(&[
            ("STAGING_S3_ENDPOINT", "https://s3.example.org"),
            ("STAGING_S3_PATH_STYLE", "false"),
        ])
        .unwrap();
        assert!(!config.path_style);
    }

    #[test]
    fn s3_staging_errors_name_the_variable() {
        for missing in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let pairs: Vec<_> = S3_BASE
                .into_iter()
                .filter(|(name, _)| *name != missing)
                .collect();
            let error = StagingConfig::from_env(&env(&pairs)).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("{missing}: is required but not set")
            );
        }
        for (variable, value) in [
            ("STAGING_S3_ENDPOINT", "127.0.0.1:9000"),
            ("STAGING_S3_ENDPOINT", "ftp://s3.example.org"),
            ("STAGING_S3_PATH_STYLE", "sometimes"),
            ("STAGING_S3_PREFIX", "a/../b"),
        ] {
            let error = s3_config(&[(variable, value)]).unwrap_err();
            assert_eq!(error.variable, variable, "{value:?}");
        }
    }
}
