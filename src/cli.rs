//! Command line: every flag is also an `AFTERCARE_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use aftercare_platform::auth::Role;
use aftercare_platform::ratelimit::{Cidr, Rate};
use aftercare_platform::telemetry::LogFormat;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "aftercare",
    version,
    about = "After-sales backend: returns, warranty, maintenance and loyalty"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Common {
    /// Postgres URL. Without it, a private cluster is run from the machine's
    /// Postgres binaries in --data-dir.
    #[arg(long, global = true, env = "AFTERCARE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where the embedded cluster and the generated JWT secret live. Default:
    /// the nearest `.aftercare` in the working directory or above it (so
    /// every command run anywhere in a checkout finds the server's), else
    /// `./.aftercare`.
    #[arg(long, global = true, env = "AFTERCARE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// HS256 secret (at least 32 bytes). Without it and without
    /// --jwt-public-key, a secret is generated once and kept in --data-dir.
    #[arg(long, global = true, env = "AFTERCARE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// PEM public key file to verify tokens with instead of a shared secret.
    #[arg(long, global = true, env = "AFTERCARE_JWT_PUBLIC_KEY", conflicts_with = "jwt_secret")]
    pub jwt_public_key: Option<PathBuf>,

    /// The `iss` tokens must carry (an identity provider's, in public-key mode).
    #[arg(long, global = true, env = "AFTERCARE_JWT_ISSUER", default_value = "aftercare")]
    pub jwt_issuer: String,

    /// The audience tokens must be for (`aud`, a string or an array).
    #[arg(long, global = true, env = "AFTERCARE_JWT_AUDIENCE", default_value = "aftercare")]
    pub jwt_audience: String,

    /// Algorithm of --jwt-public-key.
    #[arg(
        long,
        global = true,
        env = "AFTERCARE_JWT_ALGORITHM",
        value_enum,
        default_value = "rs256"
    )]
    pub jwt_algorithm: PublicKeyAlgorithm,

    /// Log format.
    #[arg(
        long,
        global = true,
        env = "AFTERCARE_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormatArg,
}

/// The data directory's name when none is configured.
pub const DEFAULT_DATA_DIR: &str = ".aftercare";

impl Common {
    /// The data directory every command uses, resolved the same way: the
    /// configured one, else the nearest `.aftercare` at or above the working
    /// directory that belongs to this user and no one else may write (its
    /// secret signs tokens), else `./.aftercare`.
    pub fn data_dir(&self) -> PathBuf {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let me = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
        let trusted = |dir: &std::path::Path| {
            std::fs::symlink_metadata(dir)
                .is_ok_and(|m| m.is_dir() && Some(m.uid()) == me && m.permissions().mode() & 0o022 == 0)
        };
        cwd.ancestors()
            .map(|dir| dir.join(DEFAULT_DATA_DIR))
            .find(|dir| trusted(dir))
            .unwrap_or_else(|| cwd.join(DEFAULT_DATA_DIR))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the gRPC services (migrating the database first).
    Serve(Box<ServeArgs>),
    /// Apply pending migrations and exit.
    Migrate,
    /// Print a signed token this server accepts.
    Token(TokenArgs),
    /// Prints the REST gateway's OpenAPI 3.1 document (every service's
    /// routes), as checked in at `proto/openapi.json`.
    Openapi,
    /// Inspect and replay the outbox's dead letters.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Make the service-insight read model again from the outbox's
    /// history (after a first deploy, or a change to its figures).
    RebuildInsight,
    /// Prints the configuration reference (every command's flags, their
    /// environment variables and defaults) as Markdown, as checked in at
    /// `docs/configuration.md`.
    ConfigReference,
}

/// The configuration reference, from the flags' own definitions: `--help`
/// stays the one source of truth and this is a view of it.
pub fn reference() -> String {
    use clap::CommandFactory;
    use std::fmt::Write;
    let cli = Cli::command();
    let mut out = String::from(
        "# Configuration reference\n\n\
         Generated from the command line's definitions by `aftercare config-reference`; \
         a test fails when it and the flags disagree. Every flag can also be set by its \
         environment variable.\n",
    );
    let mut section = |title: &str, cmd: &clap::Command| {
        let args: Vec<&clap::Arg> = cmd
            .get_arguments()
            .filter(|a| a.get_long().is_some() && !a.is_hide_set() && a.get_id() != "help" && a.get_id() != "version")
            .collect();
        if args.is_empty() {
            return;
        }
        let _ = write!(
            out,
            "\n## {title}\n\n| flag | environment | default | what it does |\n|---|---|---|---|\n"
        );
        for a in args {
            let env = a
                .get_env()
                .map(|e| format!("`{}`", e.to_string_lossy()))
                .unwrap_or_default();
            let default: Vec<String> = a
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let default = if default.is_empty() {
                String::new()
            } else {
                format!("`{}`", default.join(","))
            };
            let help = a
                .get_long_help()
                .or(a.get_help())
                .map(|h| h.to_string().replace('\n', " ").replace('|', "\\|"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| `--{}` | {env} | {default} | {help} |",
                a.get_long().unwrap_or_default()
            );
        }
    };
    section("Every command", &cli);
    for sub in cli.get_subcommands() {
        section(&format!("`aftercare {}`", sub.get_name()), sub);
        for nested in sub.get_subcommands() {
            section(&format!("`aftercare {} {}`", sub.get_name(), nested.get_name()), nested);
        }
    }
    out
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List deliveries that used up their attempts, oldest first.
    Dead {
        /// Only this consumer's (e.g. returns.orders).
        #[arg(long)]
        consumer: Option<String>,
    },
    /// Queue dead letters again with a fresh set of attempts: all of them,
    /// or those of one consumer and/or one event.
    Replay {
        #[arg(long)]
        consumer: Option<String>,
        /// The event id, as `outbox dead` shows it.
        #[arg(long)]
        event: Option<uuid::Uuid>,
    },
    /// Give up on dead letters for good (they stop holding back later events
    /// of their aggregate): those of one consumer and/or one event.
    Discard {
        #[arg(long, required_unless_present = "event")]
        consumer: Option<String>,
        #[arg(long)]
        event: Option<uuid::Uuid>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// gRPC listen address.
    #[arg(long, env = "AFTERCARE_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Admin HTTP address (/metrics, /healthz).
    #[arg(long, env = "AFTERCARE_ADMIN_LISTEN", default_value = "127.0.0.1:9090")]
    pub admin_listen: SocketAddr,

    /// Services to serve, comma separated: `all`, or names from the
    /// registry (orders, returns, loyalty, store-credit, warranty,
    /// maintenance, feedback, insight, events, webhooks).
    #[arg(long, env = "AFTERCARE_SERVICES", value_delimiter = ',', default_value = "all", value_parser = parse_service)]
    pub services: Vec<String>,

    /// How long in-flight calls may take to finish after SIGINT/SIGTERM.
    #[arg(long, env = "AFTERCARE_SHUTDOWN_GRACE", value_parser = parse_duration, default_value = "10s")]
    pub shutdown_grace: Duration,

    /// Database connections in the pool.
    #[arg(long, env = "AFTERCARE_DB_MAX_CONNECTIONS", default_value_t = 20)]
    pub db_max_connections: u32,

    /// Where the REST/JSON gateway listens (`/v1/...`, `/openapi.json`), or
    /// `off`.
    #[arg(long, env = "AFTERCARE_HTTP_LISTEN", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    pub http_listen: Listen,

    /// A browser origin allowed to call gRPC-Web and REST
    /// (`https://app.example.com`); repeat or separate with commas.
    #[arg(long, env = "AFTERCARE_CORS_ORIGIN", value_delimiter = ',', value_parser = parse_origin)]
    pub cors_origin: Vec<http::HeaderValue>,

    /// Each customer's (and partner's) calls, by token: `20/s` or `20/s:40`
    /// (with its burst), or `off`. Staff and service tokens are not limited.
    #[arg(long, env = "AFTERCARE_RATE_LIMIT_CALLER", default_value = "20/s:40", value_parser = parse_rate)]
    pub rate_limit_caller: Limit,

    /// Load balancers (address or range, e.g. `10.0.0.0/8`; repeat or
    /// separate with commas) whose `X-Forwarded-For` names the client the
    /// per-IP limit counts. Without one, the peer's own address counts.
    #[arg(long, env = "AFTERCARE_TRUSTED_PROXY", value_delimiter = ',', value_parser = Cidr::parse)]
    pub trusted_proxy: Vec<Cidr>,

    /// Calls without a valid token, per client IP; or `off`.
    #[arg(long, env = "AFTERCARE_RATE_LIMIT_IP", default_value = "10/s:20", value_parser = parse_rate)]
    pub rate_limit_ip: Limit,

    /// A NATS server (`nats://host:4222`) to relay every event to, through
    /// JetStream (stream AFTERCARE, subjects `aftercare.<area>.<Event>`).
    /// Relayed by the servers running the `events` service.
    #[arg(long, env = "AFTERCARE_NATS_URL")]
    pub nats_url: Option<String>,

    /// The largest REST request body, in bytes.
    #[arg(long, env = "AFTERCARE_HTTP_MAX_BODY", default_value_t = 1 << 20)]
    pub http_max_body: usize,

    /// Where reminders are posted for delivery to customers (push, e-mail,
    /// SMS): an http:// URL of the store's notification provider, each
    /// message signed with --notifier-secret. Without it, reminders stay
    /// `MaintenanceReminderDue` events for another consumer.
    #[arg(long, env = "AFTERCARE_NOTIFIER_URL", requires = "notifier_secret")]
    pub notifier_url: Option<String>,

    /// The notifier's HMAC-SHA256 secret (32 bytes at least).
    #[arg(long, env = "AFTERCARE_NOTIFIER_SECRET", hide_env_values = true)]
    pub notifier_secret: Option<String>,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// customer, agent, admin or service.
    #[arg(long, env = "AFTERCARE_TOKEN_ROLE", value_parser = parse_role)]
    pub role: Role,
    /// Customer id for customers; a staff or system id otherwise.
    #[arg(long, env = "AFTERCARE_TOKEN_SUBJECT")]
    pub subject: String,
    /// Lifetime, e.g. 90s, 30m, 1h, 7d.
    #[arg(long, env = "AFTERCARE_TOKEN_TTL", value_parser = parse_duration, default_value = "1h")]
    pub ttl: Duration,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PublicKeyAlgorithm {
    Rs256,
    Es256,
    Eddsa,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

impl From<LogFormatArg> for LogFormat {
    fn from(f: LogFormatArg) -> LogFormat {
        match f {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        }
    }
}

/// An address to listen on, or none (`off`).
#[derive(Debug, Clone, Copy)]
pub struct Listen(pub Option<SocketAddr>);

fn parse_listen(s: &str) -> Result<Listen, String> {
    match s {
        "off" => Ok(Listen(None)),
        _ => s
            .parse()
            .map(|a| Listen(Some(a)))
            .map_err(|_| format!("{s:?} is not an address like 127.0.0.1:8080 or off")),
    }
}

/// A rate limit, or none (`off`).
#[derive(Debug, Clone, Copy)]
pub struct Limit(pub Option<Rate>);

fn parse_rate(s: &str) -> Result<Limit, String> {
    match s {
        "off" => Ok(Limit(None)),
        _ => Rate::parse(s).map(|r| Limit(Some(r))),
    }
}

/// `scheme://host[:port]`, as a browser sends it in `Origin`.
fn parse_origin(s: &str) -> Result<http::HeaderValue, String> {
    // As a browser sends it: lower case, no path, no trailing dot.
    let valid = s.split_once("://").is_some_and(|(scheme, host)| {
        matches!(scheme, "http" | "https")
            && !host.is_empty()
            && !host.contains('/')
            && !host.ends_with('.')
            && !host.chars().any(|c| c.is_ascii_uppercase())
    });
    if !valid {
        return Err(format!("{s:?} is not an origin like https://app.example.com"));
    }
    http::HeaderValue::from_str(s).map_err(|_| format!("{s:?} is not an origin"))
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn parse_service(s: &str) -> Result<String, String> {
    crate::registry::select(&[s.to_owned()]).map(|_| s.to_owned())
}

/// "90s", "30m", "1h", "7d" (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30s, 15m, 1h or 7d"))?;
    let unit_secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use s, m, h or d)")),
    };
    n.checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse_duration("15").unwrap(), Duration::from_secs(15));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
