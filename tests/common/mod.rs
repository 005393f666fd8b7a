//! Shared test harness: `spawn_app()` starts the real server on a random port against
//! a fresh database copied from a migrated template — a copy of a migrated SQLite file,
//! or, when `ACCORD_TEST_DATABASE_URL` names a PostgreSQL server, a database cloned
//! with `CREATE DATABASE … TEMPLATE` — and speaks HTTP to it like a client. Builders
//! create organizations, users and tokens.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use api::auth::Actor;
use api::auth::jwt::JwtKeys;
use api::config::{Config, CorsOrigins, JwtConfig};
use api::org::users::NewUser;
use entity::{Role, Team};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

pub const JWT_SECRET: &str = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
pub const PASSWORD: &str = "correct horse battery staple";

/// The database server for PostgreSQL runs, if any.
fn postgres_url() -> Option<String> {
    std::env::var("ACCORD_TEST_DATABASE_URL").ok().filter(|url| !url.trim().is_empty())
}

/// Configuration for a test server; tests tweak it before spawning.
pub fn test_config(database_url: String) -> Config {
    Config {
        database_url,
        session_url: None,
        read_replica: None,
        bind: "127.0.0.1:0".parse().unwrap(),
        jwt: JwtConfig {
            secret: JWT_SECRET.as_bytes().to_vec(),
            previous_secret: None,
            issuer: "accord".into(),
            audience: "accord".into(),
            public_key_pem: None,
            max_ttl: Duration::from_secs(30 * 24 * 3600),
        },
        cors_origins: CorsOrigins::None,
        introspection: true,
        trusted_documents: api::config::TrustedDocuments::Off,
        max_body_bytes: 1024 * 1024,
        request_timeout: Duration::from_secs(10),
        limits: api::graphql::cost::Limits {
            max_depth: 12,
            max_bytes: 64 * 1024,
            max_tokens: 10_000,
            max_fields: 2_000,
            max_cost: 10_000,
        },
        // The strictest cap: a resolver that waited on its own request's turn would
        // deadlock here before it reached a server.
        max_connections_per_request: 1,
        max_anonymous_body_bytes: 8 * 1024,
        rate_limit_per_minute: 1_200,
        sign_in: api::config::SignInLimits { free_failures: 5, account_ceiling_per_hour: 100 },
        trusted_proxies: Vec::new(),
        metrics_bind: None,
        metrics_token: None,
        token_ttl: Duration::from_secs(3600),
        // Long enough that statement counts never depend on how slow a run is.
        auth_cache_ttl: Duration::from_secs(60),
        db_max_connections: 5,
        outbox_retention: Duration::from_secs(30 * 24 * 3600),
        websocket: api::config::WebSocketLimits::default(),
        // The harness runs no background jobs: tests call them when they mean to.
        jobs: false,
        // Tests serve webhooks from a receiver on 127.0.0.1 over plain HTTP.
        webhooks: api::config::WebhookSettings { allow_private: true, ..Default::default() },
    }
}

/// How many of the server's statements [`TestApp::recent`] keeps.
pub const RECENT_STATEMENTS: usize = 16;

pub struct TestApp {
    pub address: String,
    /// SQL statements the server has run so far (for N+1 tests).
    pub statements: Arc<std::sync::atomic::AtomicUsize>,
    /// The last [`RECENT_STATEMENTS`] statements the server ran, oldest first (for plan tests).
    pub recent: Arc<std::sync::Mutex<std::collections::VecDeque<sea_orm::Statement>>>,
    pub db: DatabaseConnection,
    pub keys: Arc<JwtKeys>,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _database: Arc<TestDatabase>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Config)) -> TestApp {
    spawn(TestDatabase::create(TEST_PREFIX).await, customize).await
}

/// [`spawn_app`] for a server that lives as long as the test process: its PostgreSQL
/// database is never dropped by this process but by a later one's [`sweep_shared`].
pub async fn spawn_shared_app() -> TestApp {
    spawn(TestDatabase::create(SHARED_PREFIX).await, |_| {}).await
}

async fn spawn(database: TestDatabase, customize: impl FnOnce(&mut Config)) -> TestApp {
    // Internal errors are logged, not shown to clients: print them with a failing test.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "error".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    let mut config = test_config(database.url.clone());
    customize(&mut config);
    // As `api::prepare` connects: statements stop a little before the request's limit.
    let statement_timeout = Some(config.request_timeout * 9 / 10);
    let mut db = api::db::connect_with(&config.database_url, config.db_max_connections, statement_timeout)
        .await
        .expect("connect to the test database");
    // No migrations to run: the database is a copy of a template that holds them all.
    let statements = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = statements.clone();
    let recent = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
    let kept = recent.clone();
    let count: api::db::Observer = Arc::new(move |info: &sea_orm::metric::Info<'_>| {
        // The request limit's shared window (PostgreSQL) takes a statement when a lease
        // runs out or a minute turns, in whichever request comes then: not the request's
        // own work, and it would make two counts of the same work differ.
        if info.statement.sql.starts_with("INSERT INTO rate_limit_windows") {
            return;
        }
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut kept = kept.lock().unwrap();
        if kept.len() == RECENT_STATEMENTS {
            kept.pop_front();
        }
        kept.push_back(info.statement.clone());
    });
    // Requests run their queries past the pool's callback (`AppState::statements`).
    let counted = count.clone();
    db.set_metric_callback(move |info| {
        counted(info);
        api::metrics::record_statement(info);
    });
    let mut state = api::state(db.clone(), config).expect("build the app state");
    state.statements = Some(count);
    let keys = state.keys.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a random port");
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(api::serve(listener, state, async move {
        let _ = rx.await;
    }));
    TestApp {
        address,
        statements,
        recent,
        db,
        keys,
        client: reqwest::Client::new(),
        shutdown: Some(tx),
        _database: Arc::new(database),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestApp {
    /// The same server and database with an HTTP client of its own, for another test:
    /// a client's pooled connections live on the runtime that opened them, and every
    /// `#[tokio::test]` has its own runtime, which ends with the test.
    pub fn handle(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            statements: self.statements.clone(),
            recent: self.recent.clone(),
            db: self.db.clone(),
            keys: self.keys.clone(),
            client: reqwest::Client::new(),
            shutdown: None,
            _database: self._database.clone(),
        }
    }

    /// The tables the [`TestApp::recent`] statements copied rows into with `COPY`, in
    /// order, quoted as in the statement (`"leads"`).
    pub fn copied_tables(&self) -> Vec<String> {
        let recent = self.recent.lock().unwrap();
        let copies = recent.iter().filter(|s| s.sql.starts_with("COPY"));
        copies.map(|s| s.sql.split(' ').nth(1).unwrap_or_default().to_owned()).collect()
    }

    /// The URL of the test's database, for a connection of the test's own.
    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.address)
    }

    /// POST a GraphQL request and return the JSON body (asserting an HTTP 200).
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let response = self.post(token, &json!({ "query": query, "variables": variables })).await;
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(status, 200, "unexpected status, body: {body}");
        body
    }

    /// Run a request that is safe to repeat (a read, or an idempotent write) and return
    /// its body and the SQL statements it cost.
    ///
    /// A DataLoader sends its batch 1 ms after the first key arrives; on a loaded CI machine a
    /// debug build can take longer than that to reach every key of a page, which splits one
    /// batch in two. The fewest statements over three runs is the request's real cost; an N+1
    /// pattern costs one statement per row on every run and still shows.
    pub async fn gql_counting(&self, token: Option<&str>, query: &str, variables: Value) -> (Value, usize) {
        use std::sync::atomic::Ordering;
        let mut fewest = usize::MAX;
        let mut first = None;
        for _ in 0..3 {
            let before = self.statements.load(Ordering::SeqCst);
            let body = self.gql(token, query, variables.clone()).await;
            fewest = fewest.min(self.statements.load(Ordering::SeqCst) - before);
            first.get_or_insert(body);
        }
        (first.expect("three runs"), fewest)
    }

    pub async fn post(&self, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.client.post(self.graphql_url()).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("the server answers")
    }

    /// Create an organization with an ADMIN (password [`PASSWORD`]) and return it.
    pub async fn create_org(&self, name: &str) -> TestOrg {
        let admin = NewUser {
            email: format!("admin@{}.test", api::org::slugify(name)),
            name: format!("{name} Admin"),
            team: Team::Revops,
            role: Role::Admin,
            password: Some(PASSWORD.into()),
        };
        let (org, admin) = api::org::bootstrap(&self.db, name, admin).await.expect("bootstrap an organization");
        let admin = self.user_of(admin);
        TestOrg { id: org.id, slug: org.slug, admin }
    }

    /// Add a user to an organization (no password) and return it with a token.
    pub async fn create_user(&self, org: &TestOrg, team: Team, role: Role) -> TestUser {
        let new = NewUser {
            email: format!("{}.{}@{}.test", format!("{team:?}").to_lowercase(), Uuid::now_v7().simple(), org.slug),
            name: format!("{team:?} {role:?}"),
            team,
            role,
            password: None,
        };
        let user = api::org::users::create(&self.db, &Actor::system(org.id), new).await.expect("create a user");
        self.user_of(user)
    }

    fn user_of(&self, model: entity::user::Model) -> TestUser {
        let (token, _) = self.keys.issue(model.id, model.org_id, model.role, Duration::from_secs(3600)).unwrap();
        TestUser { id: model.id, email: model.email, token }
    }

    /// Create a lead from `input` (a `CreateLeadInput`) and return its id; one created
    /// past NEW is created by someone the stage rights allow. The lead is shown as a
    /// portal shows it, personal fields included: statement-count tests count what
    /// comes after, with the organization's field read rules loaded by this.
    pub async fn create_lead(&self, token: &str, input: Value) -> String {
        let token = match input["lifecycleStage"].as_str() {
            Some(stage) => self.stage_token(token, stage).await,
            None => token.to_owned(),
        };
        let mutation = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id email lifecycleStage version } } }";
        let body = self.gql(Some(&token), mutation, json!({ "input": input })).await;
        body["data"]["createLead"]["lead"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
    }

    /// Create a scoring model from `input` (a `CreateScoringModelInput`, proposed when
    /// it says `propose`) as the holder of `token` and return its id.
    pub async fn create_scoring_model(&self, token: &str, input: Value) -> String {
        let body = self
            .gql(
                Some(token),
                "mutation($input: CreateScoringModelInput!) { createScoringModel(input: $input) { scoringModel { id } } }",
                json!({ "input": input }),
            )
            .await;
        body["data"]["createScoringModel"]["scoringModel"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
    }

    /// Rows in a table, to check that a refused change wrote nothing.
    /// The token of a new user in the organization of `token` whom the default stage
    /// rights let put a lead into `stage` by hand: MARKETING for MQL and RECYCLED,
    /// SALES for SQL, OPPORTUNITY and CUSTOMER; `token` itself for any other stage.
    pub async fn stage_token(&self, token: &str, stage: &str) -> String {
        let team = match stage {
            "MQL" | "RECYCLED" | "ENGAGED" => Team::Marketing,
            "SQL" | "OPPORTUNITY" | "CUSTOMER" => Team::Sales,
            _ => return token.to_owned(),
        };
        let body = self.gql(Some(token), "{ organization { id slug } }", Value::Null).await;
        let org = &body["data"]["organization"];
        let id = org["id"].as_str().and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("{body}"));
        let slug = org["slug"].as_str().unwrap_or_default().to_owned();
        let admin = TestUser { id: Uuid::nil(), email: String::new(), token: token.to_owned() };
        self.create_user(&TestOrg { id, slug, admin }, team, Role::Member).await.token
    }

    /// Outbox events of kind `kind` (such as `lead.archived`) in the organization.
    pub async fn count_outbox_events(&self, org: &TestOrg, kind: &str) -> u64 {
        use sea_orm::{ColumnTrait, QueryFilter};
        entity::outbox_event::Entity::find()
            .filter(entity::outbox_event::Column::OrgId.eq(org.id))
            .filter(entity::outbox_event::Column::Kind.eq(kind))
            .count(&self.db)
            .await
            .unwrap()
    }

    pub async fn count_audit_rows(&self, org: &TestOrg) -> u64 {
        use sea_orm::{ColumnTrait, QueryFilter};
        entity::audit_log::Entity::find()
            .filter(entity::audit_log::Column::OrgId.eq(org.id))
            .count(&self.db)
            .await
            .unwrap()
    }
}

#[derive(Clone)]
pub struct TestOrg {
    pub id: Uuid,
    pub slug: String,
    pub admin: TestUser,
}

#[derive(Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub token: String,
}

/// Run `sql` (one count) on `db` until `done` holds of it, for at most 10 s; else
/// panic, saying what never happened (`what`).
pub async fn count_until(db: &DatabaseConnection, sql: &str, done: impl Fn(i64) -> bool, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let statement = Statement::from_string(db.get_database_backend(), sql);
        let row = db.query_one_raw(statement).await.unwrap().unwrap();
        if done(row.try_get_by_index::<i64>(0).unwrap()) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "waited 10 s: {what} ({sql})");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// Assert the body carries an error with `code`; returns the error message.
#[track_caller]
pub fn assert_error(body: &Value, code: &str) -> String {
    assert_eq!(error_code(body), Some(code), "expected {code}, body: {body}");
    body["errors"][0]["message"].as_str().unwrap_or_default().to_owned()
}

/// Name prefixes of PostgreSQL test databases: one test's, and a test process's.
const TEST_PREFIX: &str = "accord_test";
const SHARED_PREFIX: &str = "accord_shared";

/// A database of one test, removed when the test ends.
struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(PathBuf),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// A database that lives as long as the test process.
    None,
}

impl TestDatabase {
    async fn create(prefix: &str) -> Self {
        match postgres_url() {
            Some(admin_url) => {
                let template = postgres_template(&admin_url).await;
                // A shared database's name carries its birth, so that a sweep spares young ones.
                let name = match prefix {
                    SHARED_PREFIX => format!("{prefix}_{}_{}", unix_seconds(), Uuid::now_v7().simple()),
                    _ => format!("{prefix}_{}", Uuid::now_v7().simple()),
                };
                let admin = admin_connection(&admin_url).await;
                let mut attempt = 0;
                // Cloning needs the template free of sessions; retry briefly if another
                // test process is still closing its connection to it.
                while let Err(e) =
                    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"")).await
                {
                    attempt += 1;
                    assert!(attempt < 50, "cannot clone the template database: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                admin.close().await.ok();
                let url = database_url(&admin_url, &name);
                let cleanup = match prefix {
                    SHARED_PREFIX => Cleanup::None,
                    _ => Cleanup::Postgres { admin_url, name },
                };
                TestDatabase { url, cleanup }
            }
            None => {
                let template = sqlite_template().await;
                let path = process_dir().join(format!("test-{}.db", Uuid::now_v7().simple()));
                std::fs::copy(template, &path).expect("copy the migrated SQLite template");
                let url = format!("sqlite://{}?mode=rwc", path.display());
                TestDatabase { url, cleanup: Cleanup::SqliteFile(path) }
            }
        }
    }
}

/// A PostgreSQL database with no tables at all, removed when dropped: for what happens
/// when servers first start on a new database.
pub struct EmptyDatabase(TestDatabase);

impl EmptyDatabase {
    pub async fn create() -> Self {
        let admin_url = postgres_url().expect("PostgreSQL only: set ACCORD_TEST_DATABASE_URL");
        let name = format!("{TEST_PREFIX}_{}", Uuid::now_v7().simple());
        let admin = admin_connection(&admin_url).await;
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create an empty database");
        admin.close().await.ok();
        let url = database_url(&admin_url, &name);
        Self(TestDatabase { url, cleanup: Cleanup::Postgres { admin_url, name } })
    }

    pub fn url(&self) -> &str {
        &self.0.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => remove_sqlite_files(path),
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs outside async; use a short-lived runtime on its own thread.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    runtime.block_on(async {
                        let admin = admin_connection(&admin_url).await;
                        let _ =
                            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                        admin.close().await.ok();
                    });
                })
                .join();
            }
            Cleanup::None => {}
        }
    }
}

fn remove_sqlite_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// The SQLite files of this test process: a directory of its own, next to a lock file
/// it holds until it exits. Directories whose lock is free belong to processes that
/// are gone (their shared databases and template stay behind) and are removed.
fn process_dir() -> &'static Path {
    static DIR: OnceLock<(PathBuf, std::fs::File)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let root = std::env::temp_dir().join("accord-tests");
        std::fs::create_dir_all(&root).expect("create the test database directory");
        let name = format!("{}-{}", std::process::id(), Uuid::now_v7().simple());
        let lock = std::fs::File::create(root.join(format!("{name}.lock"))).expect("create a lock file");
        lock.try_lock().expect("lock a new lock file");
        let dir = root.join(name);
        std::fs::create_dir(&dir).expect("create this process's database directory");
        sweep_sqlite(&root);
        (dir, lock)
    })
    .0
}

/// Remove what test processes that have exited left in `root`. A lock file only a
/// minute old may not be locked yet by the process that created it, and is spared.
fn sweep_sqlite(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "lock") {
            continue;
        }
        let old =
            entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().unwrap_or_default().as_secs() > 60);
        let Ok(lock) = std::fs::File::open(&path) else { continue };
        if old && lock.try_lock().is_ok() {
            let _ = std::fs::remove_dir_all(path.with_extension(""));
            let _ = std::fs::remove_file(&path);
        }
    }
}

static SQLITE_TEMPLATE: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();

/// A migrated SQLite file, named after the migrations it holds, built once per test
/// process; each test gets a copy, so no test pays for the migrations.
async fn sqlite_template() -> &'static Path {
    SQLITE_TEMPLATE
        .get_or_init(|| async {
            let path = process_dir().join(format!("template-{}.db", migrations_hash()));
            let db = api::db::connect(&format!("sqlite://{}?mode=rwc", path.display()), 1).await.unwrap();
            api::db::migrate(&db).await.expect("migrate the SQLite template");
            // Everything into the main file: a copy of it alone is the whole database.
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
            db.close().await.unwrap();
            let wal = std::fs::metadata(format!("{}-wal", path.display())).map(|m| m.len()).unwrap_or(0);
            assert_eq!(wal, 0, "the template's write-ahead log is checkpointed");
            path
        })
        .await
}

/// A name for the current migrations: a template built from others is never reused.
fn migrations_hash() -> String {
    use migration::MigratorTrait;
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    for m in migration::Migrator::migrations() {
        m.name().hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

/// Replace the database name of a PostgreSQL URL.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

async fn admin_connection(admin_url: &str) -> DatabaseConnection {
    let mut options = sea_orm::ConnectOptions::new(admin_url.to_owned());
    options.max_connections(1).connect_timeout(Duration::from_secs(5)).sqlx_logging(false);
    sea_orm::Database::connect(options)
        .await
        .unwrap_or_else(|e| panic!("ACCORD_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"))
}

static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// The migrated template database, named after the migrations it holds; built once
/// (under an advisory lock, so parallel test processes agree) and reused.
async fn postgres_template(admin_url: &str) -> String {
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("accord_template_{}", migrations_hash());
            let admin = admin_connection(admin_url).await;
            admin.execute_unprepared("SELECT pg_advisory_lock(74726551)").await.unwrap();
            sweep_shared(&admin).await;
            let exists = admin
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT 1 FROM pg_database WHERE datname = $1",
                    [name.clone().into()],
                ))
                .await
                .unwrap()
                .is_some();
            if !exists {
                let building = format!("{name}_building");
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"))
                    .await
                    .unwrap();
                admin.execute_unprepared(&format!("CREATE DATABASE \"{building}\"")).await.unwrap();
                let db = api::db::connect(&database_url(admin_url, &building), 1).await.unwrap();
                api::db::migrate(&db).await.unwrap();
                db.close().await.unwrap();
                admin.execute_unprepared(&format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\"")).await.unwrap();
            }
            admin.execute_unprepared("SELECT pg_advisory_unlock(74726551)").await.unwrap();
            admin.close().await.ok();
            name
        })
        .await
        .clone()
}

/// Drop the databases that test processes which have exited kept for their whole run:
/// those more than ten minutes old that nobody is connected to (a live process keeps a
/// pooled connection open; `DROP DATABASE` without `FORCE` refuses a database in use).
async fn sweep_shared(admin: &DatabaseConnection) {
    let names = admin
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT datname FROM pg_database WHERE datname LIKE '{SHARED_PREFIX}\\_%'"),
        ))
        .await
        .unwrap();
    let ten_minutes_ago = unix_seconds() - 600;
    for row in names {
        let name: String = row.try_get("", "datname").unwrap();
        let born =
            name.strip_prefix(&format!("{SHARED_PREFIX}_")).and_then(|rest| rest.split('_').next()?.parse().ok());
        if born.is_some_and(|born: u64| born < ten_minutes_ago) {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\"")).await;
        }
    }
}

/// The guard of a PostgreSQL-only test. Such tests are `#[ignore]`d, so a SQLite run
/// lists them as ignored rather than passing them; run with `-- --include-ignored` on
/// SQLite, they fail here instead of passing without testing anything.
pub fn require_postgres() {
    assert!(on_postgres(), "PostgreSQL only: set ACCORD_TEST_DATABASE_URL to run this test");
}

/// Is this run against PostgreSQL?
pub fn on_postgres() -> bool {
    postgres_url().is_some()
}

#[test]
fn database_urls_get_their_name_replaced() {
    assert_eq!(database_url("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
    assert_eq!(database_url("postgres://u@h/postgres?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    assert_eq!(database_url("postgres://u@h", "x"), "postgres://u@h/x");
}

/// The Node.js package directory `tests/<name>`, with its pinned packages installed
/// (`npm ci`) on first use, when `node_modules/<package>` is not there yet.
pub async fn node_packages(name: &str, package: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(name);
    if !dir.join("node_modules").join(package).exists() {
        let cwd = dir.clone();
        let installed = tokio::task::spawn_blocking(move || {
            std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--silent"])
                .current_dir(cwd)
                .status()
        })
        .await
        .expect("npm ran")
        .expect("npm (Node.js) is installed: this test needs it");
        assert!(installed.success(), "npm ci in tests/{name} failed");
    }
    dir
}

/// A server process (`accord serve`) on the test's database, killed when dropped.
pub struct Replica {
    process: std::process::Child,
    pub address: String,
}

impl Replica {
    pub fn start(database_url: &str, jobs: bool) -> Replica {
        Self::start_with(database_url, jobs, &[])
    }

    /// [`Replica::start`] with more settings in its environment.
    pub fn start_with(database_url: &str, jobs: bool, settings: &[(&str, &str)]) -> Replica {
        use std::io::BufRead;
        let mut process = std::process::Command::new(env!("CARGO_BIN_EXE_accord"))
            .env("DATABASE_URL", database_url)
            .env("ACCORD_BIND", "127.0.0.1:0")
            .env("ACCORD_METRICS_BIND", "")
            .env("ACCORD_JWT_SECRET", JWT_SECRET)
            .env("RUST_LOG", "warn")
            .env("ACCORD_JOBS", jobs.to_string())
            .envs(settings.iter().copied())
            .args(["serve", "--no-demo"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the server starts");
        let mut out = std::io::BufReader::new(process.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let url = first.trim().rsplit(' ').next().unwrap().to_owned();
        let address = url.trim_end_matches("/graphql").to_owned();
        assert!(address.starts_with("http://127.0.0.1:"), "{first}");
        // Keep reading: a server whose stdout is closed fails its next line.
        std::thread::spawn(move || for _ in out.lines() {});
        Replica { process, address }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Replica {
    /// Send a GraphQL request to this server process.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = reqwest::Client::new().post(format!("{}/graphql", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.json(&json!({ "query": query, "variables": variables })).send().await.unwrap().json().await.unwrap()
    }
}

/// A helper process around the test PostgreSQL server, run by a script in `tests/`
/// (`SCRIPT start DIR PORT …`, `SCRIPT stop DIR`) on a free port with its files in a
/// temporary directory; stopped and removed when dropped.
pub struct Helper {
    script: &'static str,
    dir: PathBuf,
    pub port: u16,
}

impl Helper {
    fn start(script: &'static str, args: &[&str]) -> Helper {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("accord-{}-{}", script, uuid::Uuid::new_v4().simple()));
        let helper = Helper { script, dir, port };
        helper.run("start", &[&port.to_string()], args);
        helper
    }

    fn run(&self, action: &str, before: &[&str], args: &[&str]) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(format!("{}.sh", self.script));
        let mut command = std::process::Command::new("bash");
        command.arg(script).arg(action).arg(&self.dir).args(before).args(args);
        // The server the tests use: host and port of ACCORD_TEST_DATABASE_URL.
        if let Some(host) = postgres_url().as_deref().map(host_and_port) {
            command.env("ACCORD_HELPER_UPSTREAM", host);
        }
        let status = command.status().expect("bash runs the helper's script");
        assert!(status.success() || action == "stop", "tests/{}.sh {action} failed", self.script);
    }

    /// `database_url` (a URL of the test server) pointed at this helper.
    pub fn url_of(&self, database_url: &str) -> String {
        let (_, name) = database_url.rsplit_once('/').expect("a database URL names its database");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.run("stop", &[], &[]);
    }
}

/// A streaming replica (hot standby) of the test PostgreSQL server, made by
/// `tests/pg-standby.sh` with `settings` (`name=value`).
pub struct Standby(pub Helper);

impl Standby {
    pub fn start(settings: &[&str]) -> Standby {
        Standby(Helper::start("pg-standby", settings))
    }

    /// Change settings of the running standby (`name=value`) and reload it.
    pub fn set(&self, settings: &[&str]) {
        self.0.run("set", &[], settings);
    }

    /// Stop the standby at once, as a crash would.
    pub fn stop(&self) {
        self.0.run("stop", &[], &[]);
    }
}

/// pgbouncer in transaction mode in front of the test PostgreSQL server, run by
/// `tests/pgbouncer.sh` (which builds it when needed).
pub struct Pgbouncer(pub Helper);

impl Pgbouncer {
    pub fn start() -> Pgbouncer {
        Pgbouncer(Helper::start("pgbouncer", &[]))
    }
}

/// `host:port` of a PostgreSQL URL (5432 when it names none).
fn host_and_port(url: &str) -> String {
    let host = url.split_once('@').map_or(url, |(_, rest)| rest);
    let host = host.split(['/', '?']).next().unwrap_or(host);
    if host.contains(':') { host.to_owned() } else { format!("{host}:5432") }
}

impl std::ops::Deref for Standby {
    type Target = Helper;

    fn deref(&self) -> &Helper {
        &self.0
    }
}

impl std::ops::Deref for Pgbouncer {
    type Target = Helper;

    fn deref(&self) -> &Helper {
        &self.0
    }
}
