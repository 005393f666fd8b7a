//! Settings from flags and environment variables, parsed and validated once at
//! start-up into one typed [`Config`]. Nothing else in Accord reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `accord`: the GraphQL backend of the shared revenue-team portal.
#[derive(Debug, Parser)]
#[command(
    name = "accord",
    version,
    about = "Accord: the GraphQL API of a shared revenue-team portal, where sales, marketing and service work from one set of data and one set of agreed rules.",
    long_about = "Accord: the GraphQL API of a shared revenue-team portal, where sales, marketing and service work from one set of data and one set of agreed rules.\n\nWithout a command it serves the API (see `serve`). Every setting is a flag or an environment variable (shown with each flag); a bad one stops with a line naming it and exit code 2.",
    after_help = "Examples:\n  accord                               serve on 127.0.0.1:8000 (a demo organization on a new SQLite file)\n  accord token --email admin@demo.accord.dev\n  accord schema > schema.graphql\n\nDocumentation: README.md, docs/operations.md, docs/security.md"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    #[command(after_help = "Example:\n  DATABASE_URL=postgres://accord@db/accord ACCORD_JWT_SECRET=… accord serve")]
    Serve(ServeArgs),
    /// Apply, roll back or list database migrations.
    #[command(after_help = "Example:\n  accord migrate status")]
    Migrate {
        #[arg(value_enum, default_value_t = MigrateAction::Up)]
        action: MigrateAction,
    },
    /// Fill the database with the demo organization or with synthetic leads.
    ///
    /// `--demo` creates the demo organization; `--leads N` adds a synthetic data set of
    /// N leads (with accounts, history, engagement, activities and deals) to an
    /// existing organization.
    #[command(after_help = "Examples:\n  accord seed --demo\n  accord seed --org acme --leads 100000")]
    Seed {
        /// Create the demo organization with a user of every team and role, and a
        /// few hundred leads across the whole funnel.
        #[arg(long, conflicts_with_all = ["org", "leads"])]
        demo: bool,
        /// The organization to fill; may be left out when there is only one.
        #[arg(long, requires = "leads")]
        org: Option<String>,
        /// How many synthetic leads to generate, such as 1000000.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        leads: Option<u64>,
    },
    /// Import leads from a CSV file of any size.
    ///
    /// The file is streamed and upserted in chunks of 1,000 rows; bad rows are listed,
    /// numbered from 1 without the header, in an error report beside the file.
    #[command(after_help = "Example:\n  accord import leads.csv --org acme --match-on external-id --dry-run")]
    Import(ImportArgs),
    /// Print the GraphQL schema (SDL) to standard output; needs no database.
    #[command(after_help = "Example:\n  accord schema > schema.graphql")]
    Schema,
    /// Manage organizations.
    #[command(after_help = "Example:\n  accord org create --name Acme --admin-email ops@acme.example")]
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Manage an organization's trusted documents (ACCORD_TRUSTED_DOCUMENTS).
    #[command(
        after_help = "Examples:\n  accord documents register queries/leads.graphql --org acme\n  accord documents register persisted-documents.json --org acme"
    )]
    Documents {
        #[command(subcommand)]
        command: DocumentsCommand,
    },
    /// Maintain the outbox (events for webhooks and subscriptions).
    #[command(after_help = "Example:\n  accord outbox prune --older-than 7d")]
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Print (not run) the SQL of a read-only PostgreSQL login for a BI tool.
    ///
    /// The login sees one organization's rows of the `bi` views only. Needs the
    /// database (to name its views), not the JWT secret.
    #[command(after_help = "Example:\n  accord bi-role --name bi_acme --org acme | psql \"$DATABASE_URL\"")]
    BiRole {
        /// The login role to create, such as `bi_acme`: lower-case letters, digits and `_`.
        #[arg(long, value_parser = parse_role_name)]
        name: String,
        /// The organization's slug.
        #[arg(long)]
        org: String,
        /// Let the login read personal columns (leads' e-mail and names), like an API
        /// key with `PII_READ`; its views are in schema `bi_<slug>_pii`.
        #[arg(long)]
        pii: bool,
    },
    /// Erase a person's data on their request, like the `eraseLead` mutation: the lead
    /// with this e-mail keeps its anonymous facts (so KPIs stay) and loses what
    /// identifies the person, everywhere it is stored. Audited as Accord itself.
    #[command(
        after_help = "Example:\n  accord erase --org acme --email ana@payly.io --reason \"erasure request 2026-12-01\""
    )]
    Erase {
        /// The lead's e-mail address.
        #[arg(long)]
        email: String,
        /// The organization's slug; needed when there are several.
        #[arg(long)]
        org: Option<String>,
        /// Why (1 to 500 characters, kept in the audit log): name no personal data.
        #[arg(long)]
        reason: String,
    },
    /// Print a signed JWT for a user, for development and operations.
    #[command(after_help = "Example:\n  TOKEN=$(accord token --email admin@demo.accord.dev --ttl 8h)")]
    Token {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
        /// The organization's slug; needed when the e-mail exists in several organizations.
        #[arg(long)]
        org: Option<String>,
        /// How long the token is valid, such as `1h`, `30m` or `7d`.
        #[arg(long, default_value = "1h", value_parser = parse_duration)]
        ttl: Duration,
    },
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Do not create the demo organization on an empty database.
    #[arg(long)]
    pub no_demo: bool,
}

/// `accord import FILE.csv`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file, with a header row (snake_case or camelCase column names).
    pub file: PathBuf,
    /// The organization's slug; may be left out when there is only one.
    #[arg(long)]
    pub org: Option<String>,
    /// Which column identifies an existing lead.
    #[arg(long, value_enum, default_value_t = MatchOnArg::Email)]
    pub match_on: MatchOnArg,
    /// Report what would happen without storing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Where to list bad rows (default: FILE.errors.csv); written only when there are any.
    #[arg(long, value_name = "FILE")]
    pub errors: Option<PathBuf>,
}

/// The `--match-on` of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchOnArg {
    /// The e-mail address.
    Email,
    /// The partner's id of the lead (the `external_id` column).
    ExternalId,
}

/// `ACCORD_LOG_FORMAT`: how log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, with the request's span (its trace id) on each.
    Json,
    /// Human-readable lines, coloured only on a terminal.
    Text,
}

/// `ACCORD_TRUSTED_DOCUMENTS`: which callers may run only the documents their
/// organization registered (`registerTrustedDocument`, `accord documents register`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum TrustedDocuments {
    /// Any document runs (within the limits).
    #[default]
    Off,
    /// API keys (partners, BI tools) run registered documents only.
    ApiKeys,
    /// Every caller does; before signing in, a document any organization registered.
    All,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the last applied migration.
    Down,
    /// List migrations and whether they are applied.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization and its first admin; prints the organization's id.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        /// The admin's password; without it the admin signs in with tokens only.
        #[arg(long)]
        admin_password: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Delete events relayed longer ago than `--older-than` (default
    /// ACCORD_OUTBOX_RETENTION), and webhook deliveries finished as long ago; events not
    /// yet relayed and deliveries still waiting are kept. Prints how many events.
    Prune {
        /// Such as `7d` or `12h`.
        #[arg(long, value_parser = parse_duration)]
        older_than: Option<Duration>,
    },
}

#[derive(Subcommand, Debug)]
pub enum DocumentsCommand {
    /// Register GraphQL documents; prints each one's SHA-256.
    ///
    /// FILE is one GraphQL document, or a JSON object of SHA-256 to document (GraphQL
    /// Code Generator's `persisted-documents.json`), whose hashes are checked.
    Register {
        /// The file to read.
        file: PathBuf,
        /// The organization's slug; may be left out when there is only one.
        #[arg(long)]
        org: Option<String>,
    },
}

/// Everything configurable, from flags or the environment variable named beside each.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database URL: `sqlite://FILE?mode=rwc` (embedded) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://accord.db?mode=rwc", global = true)]
    pub database_url: String,
    /// Set when `DATABASE_URL` goes through a pooler in transaction mode (pgbouncer):
    /// a direct (or session-mode) URL of the same database, for what needs a session of
    /// its own: migrations, `LISTEN`, background jobs and commands (docs/operations.md).
    #[arg(long, env = "DATABASE_SESSION_URL", hide_env_values = true, global = true)]
    pub database_session_url: Option<String>,
    /// A PostgreSQL streaming replica (hot standby) of `DATABASE_URL` that serves KPIs,
    /// reports and exports once it has caught up with the primary; unset: every read
    /// goes to the primary (docs/operations.md, "Read replica").
    #[arg(long, env = "DATABASE_READ_URL", hide_env_values = true, global = true)]
    pub database_read_url: Option<String>,
    /// How long a report waits for the read replica to replay the writes committed
    /// before it began, such as `100ms`; past it the primary serves the report.
    #[arg(long, env = "ACCORD_READ_REPLICA_MAX_WAIT", default_value = "100ms", value_parser = parse_duration, global = true)]
    pub read_replica_max_wait: Duration,
    /// Address the HTTP server listens on.
    #[arg(long, env = "ACCORD_BIND", default_value = "127.0.0.1:8000", global = true)]
    pub bind: SocketAddr,
    /// HS256 signing secret (at least 32 bytes). Generated and stored next to the
    /// embedded database when absent; required with PostgreSQL.
    #[arg(long, env = "ACCORD_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    /// The previous HS256 secret, still accepted while tokens signed with it expire.
    #[arg(long, env = "ACCORD_JWT_PREVIOUS_SECRET", hide_env_values = true, global = true)]
    pub jwt_previous_secret: Option<String>,
    /// `iss` claim that tokens must carry.
    #[arg(long, env = "ACCORD_JWT_ISSUER", default_value = "accord", global = true)]
    pub jwt_issuer: String,
    /// `aud` claim that tokens must carry.
    #[arg(long, env = "ACCORD_JWT_AUDIENCE", default_value = "accord", global = true)]
    pub jwt_audience: String,
    /// PEM public key (or a path to one) of an external identity provider whose
    /// RS256, ES256 or EdDSA tokens are accepted besides Accord's own.
    #[arg(long, env = "ACCORD_JWT_PUBLIC_KEY", global = true)]
    pub jwt_public_key: Option<String>,
    /// Comma-separated browser origins allowed by CORS, or `*`. Empty: same origin only.
    #[arg(long, env = "ACCORD_CORS_ORIGINS", default_value = "", global = true)]
    pub cors_origins: String,
    /// Serve schema introspection (and field suggestions in errors). Turn off in production.
    #[arg(long, env = "ACCORD_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub introspection: bool,
    /// Log lines as `json` or `text`; by default JSON unless standard error is a terminal.
    #[arg(long, env = "ACCORD_LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,
    /// Which callers may run only registered documents (`off`, `api-keys` or `all`).
    #[arg(long, env = "ACCORD_TRUSTED_DOCUMENTS", value_enum, default_value_t = TrustedDocuments::Off, global = true)]
    pub trusted_documents: TrustedDocuments,
    /// Largest accepted request body in bytes; larger bodies get 413.
    #[arg(long, env = "ACCORD_MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub max_body_bytes: usize,
    /// Time limit of one request in seconds.
    #[arg(long, env = "ACCORD_REQUEST_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub request_timeout_secs: u64,
    /// Deepest allowed query nesting, in levels of fields (introspection not counted).
    #[arg(long, env = "ACCORD_MAX_QUERY_DEPTH", default_value_t = 12, global = true)]
    pub max_query_depth: usize,
    /// Longest accepted query document, in bytes (variables not included).
    #[arg(long, env = "ACCORD_MAX_QUERY_BYTES", default_value_t = 64 * 1024, global = true)]
    pub max_query_bytes: usize,
    /// Most lexical tokens a query document may have.
    #[arg(long, env = "ACCORD_MAX_QUERY_TOKENS", default_value_t = 10_000, global = true)]
    pub max_query_tokens: usize,
    /// Most fields a query document may expand to, through fragments and aliases.
    #[arg(long, env = "ACCORD_MAX_QUERY_FIELDS", default_value_t = 2_000, global = true)]
    pub max_query_fields: u64,
    /// Largest cost of one request: a field is a point, a connection costs its page
    /// size times its selection, counting fields their weight (docs/security.md).
    #[arg(long, env = "ACCORD_MAX_QUERY_COST", default_value_t = 10_000, global = true)]
    pub max_query_cost: u64,
    /// Pooled database connections one request may hold at once, whatever its aliases.
    #[arg(long, env = "ACCORD_MAX_CONNECTIONS_PER_REQUEST", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub max_connections_per_request: u32,
    /// Largest body accepted before the caller is known (sign-in), in bytes.
    #[arg(long, env = "ACCORD_MAX_ANONYMOUS_BODY_BYTES", default_value_t = 8 * 1024, global = true)]
    pub max_anonymous_body_bytes: usize,
    /// Requests a user or an API key may make per minute (a request spends one, plus
    /// one per full 1,000 points of its cost). An API key's own `requestsPerMinute`
    /// wins; 0 turns the limit off.
    #[arg(long, env = "ACCORD_RATE_LIMIT_PER_MINUTE", default_value_t = 1_200, global = true)]
    pub rate_limit_per_minute: u32,
    /// Failed sign-ins a client may make on one account before each further attempt
    /// waits (1 s, then doubling up to 15 minutes).
    #[arg(long, env = "ACCORD_SIGN_IN_FREE_FAILURES", default_value_t = 5, global = true)]
    pub sign_in_free_failures: u32,
    /// Failed sign-ins on one account per hour, from all clients, above which an alert
    /// is logged and every failing client waits from its first failure.
    #[arg(long, env = "ACCORD_SIGN_IN_ACCOUNT_CEILING", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub sign_in_account_ceiling: u32,
    /// Comma-separated CIDRs of reverse proxies whose `Forwarded` / `X-Forwarded-For`
    /// headers name the client, such as `10.0.0.0/8`. Empty: the socket peer is the client.
    #[arg(long, env = "ACCORD_TRUSTED_PROXIES", default_value = "", global = true)]
    pub trusted_proxies: String,
    /// Address of the separate listener that serves `/metrics`; empty for none.
    #[arg(long, env = "ACCORD_METRICS_BIND", default_value = "127.0.0.1:9100", global = true)]
    pub metrics_bind: String,
    /// Bearer token that also opens `/metrics` on the public listener; unset: it is not served there.
    #[arg(long, env = "ACCORD_METRICS_TOKEN", hide_env_values = true, global = true)]
    pub metrics_token: Option<String>,
    /// Lifetime of tokens issued by `login`, such as `12h`.
    #[arg(long, env = "ACCORD_TOKEN_TTL", default_value = "12h", value_parser = parse_duration, global = true)]
    pub token_ttl: Duration,
    /// Longest lifetime (`exp` − `iat`) accepted of any token, Accord's or an identity
    /// provider's.
    #[arg(long, env = "ACCORD_TOKEN_MAX_TTL", default_value = "30d", value_parser = parse_duration, global = true)]
    pub token_max_ttl: Duration,
    /// How long a token's user, once read, is trusted without reading it again, such
    /// as `2s`. A change to a user through this server applies at once; one made
    /// through another replica applies within this time. `0s` reads the user on every
    /// request.
    #[arg(long, env = "ACCORD_AUTH_CACHE_TTL", default_value = "2s", value_parser = parse_duration, global = true)]
    pub auth_cache_ttl: Duration,
    /// Database connection pool size.
    #[arg(long, env = "ACCORD_DB_MAX_CONNECTIONS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub db_max_connections: u32,
    /// How long outbox events are kept once relayed to webhooks and subscriptions, and
    /// webhook deliveries once finished, such as `30d`; the server prunes older ones
    /// hourly, `accord outbox prune` on demand.
    #[arg(long, env = "ACCORD_OUTBOX_RETENTION", default_value = "30d", value_parser = parse_duration, global = true)]
    pub outbox_retention: Duration,
    /// Run the background jobs (outbox relay, SLA clock, rescoring, KPI rollups, …) in
    /// this process. `false` makes a replica that only serves requests (its WebSocket
    /// subscribers still hear every relayed event); at least one replica must run them.
    #[arg(long, env = "ACCORD_JOBS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub jobs: bool,
    /// How long a WebSocket may stay open without `connection_init`, such as `5s`.
    #[arg(long, env = "ACCORD_WS_INIT_TIMEOUT", default_value = "5s", value_parser = parse_duration, global = true)]
    pub ws_init_timeout: Duration,
    /// How often the server pings an idle WebSocket; one that answers nothing for two
    /// intervals is closed.
    #[arg(long, env = "ACCORD_WS_KEEP_ALIVE", default_value = "15s", value_parser = parse_duration, global = true)]
    pub ws_keep_alive: Duration,
    /// Operations (subscriptions) one WebSocket may run at once.
    #[arg(long, env = "ACCORD_WS_MAX_SUBSCRIPTIONS", default_value_t = 25, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub ws_max_subscriptions: u32,
    /// WebSockets one user or API key may hold open on this server at once.
    #[arg(long, env = "ACCORD_WS_MAX_CONNECTIONS_PER_CREDENTIAL", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub ws_max_connections_per_credential: u32,
    /// Let webhook endpoints use `http://` and private, loopback or link-local
    /// addresses. For development and tests only: it lets anyone who may register a
    /// webhook reach this server's own network.
    #[arg(long, env = "ACCORD_WEBHOOKS_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub webhooks_allow_private: bool,
    /// How long one webhook attempt may take, connection and answer included (≤ 30s).
    #[arg(long, env = "ACCORD_WEBHOOKS_TIMEOUT", default_value = "10s", value_parser = parse_duration, global = true)]
    pub webhooks_timeout: Duration,
    /// The waits between a failed webhook attempt and the next, comma-separated; a
    /// delivery is given up after the last. Each wait is shortened by up to a fifth at
    /// random (jitter). The default retries for 23 h 36 min.
    #[arg(long, env = "ACCORD_WEBHOOKS_RETRY_SCHEDULE", default_value = "10s,1m,5m,30m,2h,5h,8h,8h", global = true)]
    pub webhooks_retry_schedule: String,
    /// An endpoint whose every attempt has failed for this long is disabled (with an
    /// audit entry); its ADMINs enable it again when it is fixed.
    #[arg(long, env = "ACCORD_WEBHOOKS_DISABLE_AFTER", default_value = "5d", value_parser = parse_duration, global = true)]
    pub webhooks_disable_after: Duration,
}

/// A public key of an external identity provider, checked when the configuration is read.
pub struct ExternalKey {
    pub key: jsonwebtoken::DecodingKey,
    pub algorithm: jsonwebtoken::Algorithm,
}

impl ExternalKey {
    /// Read a PEM public key; its type decides the algorithm (RSA → RS256, EC → ES256,
    /// Ed25519 → EdDSA).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let pem = pem.as_bytes();
        if let Ok(key) = jsonwebtoken::DecodingKey::from_rsa_pem(pem) {
            return Ok(Self { key, algorithm: jsonwebtoken::Algorithm::RS256 });
        }
        if let Ok(key) = jsonwebtoken::DecodingKey::from_ec_pem(pem) {
            return Ok(Self { key, algorithm: jsonwebtoken::Algorithm::ES256 });
        }
        if let Ok(key) = jsonwebtoken::DecodingKey::from_ed_pem(pem) {
            return Ok(Self { key, algorithm: jsonwebtoken::Algorithm::EdDSA });
        }
        Err("not an RSA, EC or Ed25519 public key in PEM format".into())
    }
}

/// The request limits of a server, checked before a query document is parsed
/// (`graphql::cost`).
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    pub max_bytes: usize,
    pub max_tokens: usize,
    pub max_fields: u64,
    pub max_cost: u64,
    /// Levels of fields inside each other (introspection fields not counted).
    pub max_depth: u64,
}

/// A configuration problem: which variable, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn parse_role_name(value: &str) -> Result<String, String> {
    if crate::validate::sql_role_name(value) {
        Ok(value.to_owned())
    } else {
        Err("use lower-case letters, digits and `_` (at most 63, not starting with a digit or `pg_`)".into())
    }
}

/// A PostgreSQL URL besides `DATABASE_URL` (`variable`): none when unset or empty; an
/// error when the primary is SQLite (`on_sqlite` says why) or it is not PostgreSQL's.
fn second_postgres_url(
    variable: &'static str,
    value: Option<String>,
    is_sqlite: bool,
    on_sqlite: &str,
) -> Result<Option<String>, ConfigError> {
    let Some(url) = value.map(|url| url.trim().to_owned()).filter(|url| !url.is_empty()) else { return Ok(None) };
    if is_sqlite {
        return Err(ConfigError { variable, problem: on_sqlite.into() });
    }
    if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Err(ConfigError { variable, problem: "must start with postgres://".into() });
    }
    Ok(Some(url))
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value).map_err(|e| e.to_string())
}

impl Config {
    /// The database URL for a connection that needs a session of its own (migrations,
    /// `LISTEN`, jobs, commands): `DATABASE_SESSION_URL` behind a transaction-mode
    /// pooler, else `DATABASE_URL`.
    pub fn direct_url(&self) -> &str {
        self.session_url.as_deref().unwrap_or(&self.database_url)
    }
}

/// A read replica of the primary database (`DATABASE_READ_URL`).
#[derive(Debug, Clone)]
pub struct ReadReplicaConfig {
    pub url: String,
    /// How long a read waits for the replica to catch up before the primary serves it.
    pub max_wait: Duration,
}

/// Validated configuration of the server.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    /// See `DATABASE_SESSION_URL`: set when `database_url` is a transaction-mode pooler.
    pub session_url: Option<String>,
    /// See `DATABASE_READ_URL` and `ACCORD_READ_REPLICA_MAX_WAIT`.
    pub read_replica: Option<ReadReplicaConfig>,
    pub bind: SocketAddr,
    pub jwt: JwtConfig,
    pub cors_origins: CorsOrigins,
    pub introspection: bool,
    pub trusted_documents: TrustedDocuments,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub limits: QueryLimits,
    pub max_connections_per_request: u32,
    pub max_anonymous_body_bytes: usize,
    pub rate_limit_per_minute: u32,
    pub sign_in: SignInLimits,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub metrics_bind: Option<SocketAddr>,
    pub metrics_token: Option<String>,
    pub token_ttl: Duration,
    /// See `ACCORD_AUTH_CACHE_TTL`.
    pub auth_cache_ttl: Duration,
    pub db_max_connections: u32,
    /// See `ACCORD_OUTBOX_RETENTION`.
    pub outbox_retention: Duration,
    /// Limits of GraphQL over WebSocket (`ACCORD_WS_*`).
    pub websocket: WebSocketLimits,
    /// See `ACCORD_JOBS`.
    pub jobs: bool,
    /// How webhooks are sent (`ACCORD_WEBHOOKS_*`).
    pub webhooks: WebhookSettings,
}

/// How webhooks are sent.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Whether `http://` and private, loopback and link-local targets are allowed.
    pub allow_private: bool,
    /// Longest time one attempt may take.
    pub timeout: Duration,
    /// Waits between failed attempts; the delivery is given up after the last.
    pub retry_schedule: Vec<Duration>,
    /// How long an endpoint may fail every attempt before it is disabled.
    pub disable_after: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout: Duration::from_secs(10),
            retry_schedule: parse_retry_schedule("10s,1m,5m,30m,2h,5h,8h,8h").expect("the default schedule parses"),
            disable_after: Duration::from_secs(5 * 24 * 3600),
        }
    }
}

/// Read `ACCORD_WEBHOOKS_RETRY_SCHEDULE`: 1 to 20 waits, each at most 24 h.
pub fn parse_retry_schedule(value: &str) -> Result<Vec<Duration>, String> {
    let waits = value
        .split(',')
        .map(|wait| humantime::parse_duration(wait.trim()).map_err(|e| format!("{wait:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if waits.is_empty() || waits.len() > 20 {
        return Err("give 1 to 20 waits, such as `10s,1m,5m`".into());
    }
    if waits.iter().any(|wait| *wait > Duration::from_secs(24 * 3600)) {
        return Err("each wait must be at most 24h".into());
    }
    Ok(waits)
}

/// Limits of GraphQL over WebSocket (subscriptions).
#[derive(Debug, Clone, Copy)]
pub struct WebSocketLimits {
    /// How long a socket may stay open without `connection_init`.
    pub init_timeout: Duration,
    /// How often an idle socket is pinged; it is closed after two silent intervals.
    pub keep_alive: Duration,
    /// Operations running at once on one socket.
    pub max_subscriptions: usize,
    /// Sockets open at once per user or API key, on this server.
    pub max_connections_per_credential: usize,
}

impl Default for WebSocketLimits {
    fn default() -> Self {
        Self {
            init_timeout: Duration::from_secs(5),
            keep_alive: Duration::from_secs(15),
            max_subscriptions: 25,
            max_connections_per_credential: 10,
        }
    }
}

#[derive(Clone)]
pub struct JwtConfig {
    /// Longest accepted `exp` − `iat`.
    pub max_ttl: Duration,
    pub secret: Vec<u8>,
    pub previous_secret: Option<Vec<u8>>,
    pub issuer: String,
    pub audience: String,
    pub public_key_pem: Option<String>,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &"[redacted]")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("public_key", &self.public_key_pem.is_some())
            .finish()
    }
}

/// How failed sign-ins are slowed down (see `auth::rate_limit`).
#[derive(Debug, Clone, Copy)]
pub struct SignInLimits {
    pub free_failures: u32,
    pub account_ceiling_per_hour: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    None,
    Any,
    List(Vec<String>),
}

const MIN_SECRET_BYTES: usize = 32;

impl Settings {
    /// Validate the settings into a [`Config`]. A missing HS256 secret is generated and
    /// stored next to an embedded SQLite database, so a newcomer needs no set-up.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        self.into_config_for(true)
    }

    /// [`Settings::into_config`] for a command that neither signs nor verifies tokens
    /// (`needs_secret` false): a missing secret is not an error there, and a
    /// throwaway one stands in.
    pub fn into_config_for(self, needs_secret: bool) -> Result<Config, ConfigError> {
        let database_url = self.database_url.trim().to_owned();
        let is_sqlite = database_url.starts_with("sqlite:");
        if !is_sqlite && !database_url.starts_with("postgres://") && !database_url.starts_with("postgresql://") {
            return Err(ConfigError {
                variable: "DATABASE_URL",
                problem: "must start with sqlite: or postgres://".into(),
            });
        }
        let secret = match self.jwt_secret.filter(|s| !s.is_empty()) {
            Some(secret) => check_secret("ACCORD_JWT_SECRET", secret)?,
            None if is_sqlite => embedded_secret(&database_url)?,
            None if !needs_secret => random_secret().into_bytes(),
            None => {
                return Err(ConfigError {
                    variable: "ACCORD_JWT_SECRET",
                    problem: "required with PostgreSQL (at least 32 bytes)".into(),
                });
            }
        };
        let previous_secret = self
            .jwt_previous_secret
            .filter(|s| !s.is_empty())
            .map(|s| check_secret("ACCORD_JWT_PREVIOUS_SECRET", s))
            .transpose()?;
        let session_url = second_postgres_url(
            "DATABASE_SESSION_URL",
            self.database_session_url,
            is_sqlite,
            "only for PostgreSQL behind a transaction-mode pooler",
        )?;
        let read_replica = second_postgres_url(
            "DATABASE_READ_URL",
            self.database_read_url,
            is_sqlite,
            "a read replica needs PostgreSQL: the embedded SQLite database has none",
        )?
        .map(|url| ReadReplicaConfig { url, max_wait: self.read_replica_max_wait });
        let public_key_pem = self.jwt_public_key.filter(|s| !s.trim().is_empty()).map(read_public_key).transpose()?;
        let cors_origins = parse_cors(&self.cors_origins)?;
        for (variable, value) in [
            ("ACCORD_MAX_BODY_BYTES", self.max_body_bytes),
            ("ACCORD_MAX_QUERY_DEPTH", self.max_query_depth),
            ("ACCORD_MAX_QUERY_BYTES", self.max_query_bytes),
            ("ACCORD_MAX_QUERY_TOKENS", self.max_query_tokens),
            ("ACCORD_MAX_QUERY_FIELDS", self.max_query_fields as usize),
            ("ACCORD_MAX_QUERY_COST", self.max_query_cost as usize),
            ("ACCORD_MAX_ANONYMOUS_BODY_BYTES", self.max_anonymous_body_bytes),
        ] {
            if value == 0 {
                return Err(ConfigError { variable, problem: "must be greater than 0".into() });
            }
        }
        if self.token_ttl.is_zero() {
            return Err(ConfigError { variable: "ACCORD_TOKEN_TTL", problem: "must be longer than 0s".into() });
        }
        if self.token_ttl > self.token_max_ttl {
            return Err(ConfigError {
                variable: "ACCORD_TOKEN_TTL",
                problem: "must not be longer than ACCORD_TOKEN_MAX_TTL".into(),
            });
        }
        let trusted_proxies = parse_cidrs(&self.trusted_proxies)?;
        let metrics_bind = match self.metrics_bind.trim() {
            "" => None,
            bind => Some(bind.parse().map_err(|_| ConfigError {
                variable: "ACCORD_METRICS_BIND",
                problem: format!("{bind:?} is not an address such as 127.0.0.1:9100"),
            })?),
        };
        if self.webhooks_timeout.is_zero() || self.webhooks_timeout > Duration::from_secs(30) {
            return Err(ConfigError { variable: "ACCORD_WEBHOOKS_TIMEOUT", problem: "must be from 1ms to 30s".into() });
        }
        let metrics_token = self.metrics_token.filter(|t| !t.is_empty());
        if metrics_token.as_ref().is_some_and(|t| t.len() < MIN_SECRET_BYTES) {
            return Err(ConfigError {
                variable: "ACCORD_METRICS_TOKEN",
                problem: format!("must be at least {MIN_SECRET_BYTES} bytes long"),
            });
        }
        Ok(Config {
            database_url,
            session_url,
            read_replica,
            bind: self.bind,
            jwt: JwtConfig {
                max_ttl: self.token_max_ttl,
                secret,
                previous_secret,
                issuer: self.jwt_issuer,
                audience: self.jwt_audience,
                public_key_pem,
            },
            cors_origins,
            introspection: self.introspection,
            trusted_documents: self.trusted_documents,
            max_body_bytes: self.max_body_bytes,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            limits: QueryLimits {
                max_depth: self.max_query_depth as u64,
                max_bytes: self.max_query_bytes,
                max_tokens: self.max_query_tokens,
                max_fields: self.max_query_fields,
                max_cost: self.max_query_cost,
            },
            max_connections_per_request: self.max_connections_per_request,
            max_anonymous_body_bytes: self.max_anonymous_body_bytes,
            rate_limit_per_minute: self.rate_limit_per_minute,
            sign_in: SignInLimits {
                free_failures: self.sign_in_free_failures,
                account_ceiling_per_hour: self.sign_in_account_ceiling,
            },
            trusted_proxies,
            metrics_bind,
            metrics_token,
            token_ttl: self.token_ttl,
            auth_cache_ttl: self.auth_cache_ttl,
            db_max_connections: self.db_max_connections,
            outbox_retention: self.outbox_retention,
            websocket: WebSocketLimits {
                init_timeout: self.ws_init_timeout,
                keep_alive: self.ws_keep_alive,
                max_subscriptions: self.ws_max_subscriptions as usize,
                max_connections_per_credential: self.ws_max_connections_per_credential as usize,
            },
            jobs: self.jobs,
            webhooks: WebhookSettings {
                allow_private: self.webhooks_allow_private,
                timeout: self.webhooks_timeout,
                retry_schedule: parse_retry_schedule(&self.webhooks_retry_schedule)
                    .map_err(|problem| ConfigError { variable: "ACCORD_WEBHOOKS_RETRY_SCHEDULE", problem })?,
                disable_after: self.webhooks_disable_after,
            },
        })
    }
}

fn check_secret(variable: &'static str, secret: String) -> Result<Vec<u8>, ConfigError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(ConfigError { variable, problem: format!("must be at least {MIN_SECRET_BYTES} bytes long") });
    }
    Ok(secret.into_bytes())
}

/// The file beside an embedded database that keeps its generated JWT secret.
pub fn sqlite_secret_path(database_url: &str) -> Option<PathBuf> {
    let path = database_url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(format!("{path}.jwt-secret")))
}

fn embedded_secret(database_url: &str) -> Result<Vec<u8>, ConfigError> {
    let err = |problem: String| ConfigError { variable: "ACCORD_JWT_SECRET", problem };
    let Some(path) = sqlite_secret_path(database_url) else {
        // An in-memory database lives as long as the process; so may its secret.
        return Ok(random_secret().into_bytes());
    };
    match std::fs::read_to_string(&path) {
        Ok(secret) => check_secret("ACCORD_JWT_SECRET", secret.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = random_secret();
            write_private(&path, &secret)
                .map_err(|e| err(format!("cannot store a generated secret in {}: {e}", path.display())))?;
            Ok(secret.into_bytes())
        }
        Err(e) => Err(err(format!("cannot read {}: {e}", path.display()))),
    }
}

fn random_secret() -> String {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

fn read_public_key(value: String) -> Result<String, ConfigError> {
    let pem = if value.contains("-----BEGIN") {
        value
    } else {
        std::fs::read_to_string(value.trim()).map_err(|e| ConfigError {
            variable: "ACCORD_JWT_PUBLIC_KEY",
            problem: format!("neither a PEM key nor a readable file: {e}"),
        })?
    };
    ExternalKey::from_pem(&pem).map_err(|problem| ConfigError { variable: "ACCORD_JWT_PUBLIC_KEY", problem })?;
    Ok(pem)
}

fn parse_cidrs(value: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|cidr| {
            // A bare address is a network of one.
            cidr.parse::<ipnet::IpNet>().or_else(|_| cidr.parse::<std::net::IpAddr>().map(ipnet::IpNet::from)).map_err(
                |_| ConfigError {
                    variable: "ACCORD_TRUSTED_PROXIES",
                    problem: format!("{cidr:?} is not a CIDR such as 10.0.0.0/8"),
                },
            )
        })
        .collect()
}

fn parse_cors(value: &str) -> Result<CorsOrigins, ConfigError> {
    let origins: Vec<String> =
        value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.trim_end_matches('/').to_owned()).collect();
    if origins.is_empty() {
        return Ok(CorsOrigins::None);
    }
    if origins.iter().any(|o| o == "*") {
        return Ok(CorsOrigins::Any);
    }
    for origin in &origins {
        let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
            && axum::http::HeaderValue::from_str(origin).is_ok();
        if !valid {
            return Err(ConfigError {
                variable: "ACCORD_CORS_ORIGINS",
                problem: format!("{origin:?} is not an http(s) origin"),
            });
        }
    }
    Ok(CorsOrigins::List(origins))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> Settings {
        let mut argv = vec!["accord"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("valid flags").settings
    }

    #[test]
    fn postgres_requires_a_jwt_secret() {
        let err = settings(&["--database-url", "postgres://localhost/accord"]).into_config().unwrap_err();
        assert_eq!(err.variable, "ACCORD_JWT_SECRET");
    }

    #[test]
    fn a_read_replica_needs_postgresql() {
        let err = settings(&["--database-url", "sqlite::memory:", "--database-read-url", "postgres://standby/accord"])
            .into_config()
            .unwrap_err();
        assert_eq!(err.variable, "DATABASE_READ_URL");
        let secret = "0123456789abcdef0123456789abcdef";
        let primary = ["--database-url", "postgres://primary/accord", "--jwt-secret", secret];
        let err = settings(&[&primary[..], &["--database-read-url", "mysql://standby/accord"]].concat())
            .into_config()
            .unwrap_err();
        assert_eq!(err.variable, "DATABASE_READ_URL");
        let config = settings(&[&primary[..], &["--database-read-url", " postgres://standby/accord "]].concat())
            .into_config()
            .unwrap();
        let replica = config.read_replica.expect("a read replica");
        assert_eq!((replica.url.as_str(), replica.max_wait), ("postgres://standby/accord", Duration::from_millis(100)));
        let config = settings(&primary).into_config().unwrap();
        assert!(config.read_replica.is_none());
    }

    #[test]
    fn a_session_url_is_for_postgresql_behind_a_pooler() {
        let err = settings(&["--database-url", "sqlite::memory:", "--database-session-url", "postgres://db/accord"])
            .into_config()
            .unwrap_err();
        assert_eq!(err.variable, "DATABASE_SESSION_URL");
        let secret = "0123456789abcdef0123456789abcdef";
        let pooled = ["--database-url", "postgres://pgbouncer:6432/accord", "--jwt-secret", secret];
        let config = settings(&[&pooled[..], &["--database-session-url", "postgres://db/accord"]].concat())
            .into_config()
            .unwrap();
        assert_eq!(config.direct_url(), "postgres://db/accord");
        assert_eq!(settings(&pooled).into_config().unwrap().direct_url(), "postgres://pgbouncer:6432/accord");
    }

    #[test]
    fn a_short_secret_is_rejected() {
        let err = settings(&["--database-url", "sqlite::memory:", "--jwt-secret", "short"]).into_config().unwrap_err();
        assert_eq!(err.variable, "ACCORD_JWT_SECRET");
    }

    #[test]
    fn cors_origins_are_parsed() {
        assert_eq!(parse_cors("").unwrap(), CorsOrigins::None);
        assert_eq!(parse_cors("*").unwrap(), CorsOrigins::Any);
        assert_eq!(
            parse_cors("https://a.example, http://b.example/").unwrap(),
            CorsOrigins::List(vec!["https://a.example".into(), "http://b.example".into()])
        );
        assert_eq!(parse_cors("ftp://x").unwrap_err().variable, "ACCORD_CORS_ORIGINS");
    }

    #[test]
    fn the_secret_file_sits_beside_the_database() {
        assert_eq!(
            sqlite_secret_path("sqlite://data/accord.db?mode=rwc"),
            Some(PathBuf::from("data/accord.db.jwt-secret"))
        );
        assert_eq!(sqlite_secret_path("sqlite::memory:"), None);
    }
}
