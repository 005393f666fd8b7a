//! The `accord` command line: serve, migrate, seed, import, schema, org create, bi-role, token.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use migration::{Migrator, MigratorTrait};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, QuerySelect};

use crate::config::{
    Cli, Command, Config, ConfigError, DocumentsCommand, ImportArgs, MatchOnArg, MigrateAction, OrgCommand,
    OutboxCommand, ServeArgs,
};
use crate::leads::csv_import::{self, CsvImportOptions};
use crate::leads::import::MatchOn;
use crate::{auth, db, org, seed};

/// How a command failed: bad configuration exits with 2, anything else with 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<crate::error::ApiError> for CliError {
    fn from(e: crate::error::ApiError) -> Self {
        Self::Other(anyhow::anyhow!(e))
    }
}

impl From<sea_orm::DbErr> for CliError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Other(e.into())
    }
}

/// Run one command to completion.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    if let Command::Schema = command {
        // Needs neither a database nor secrets.
        print!("{}", crate::sdl());
        return Ok(());
    }
    // Only the server and `token` sign or verify tokens.
    let needs_secret = matches!(command, Command::Serve(_) | Command::Token { .. });
    let config = cli.settings.into_config_for(needs_secret)?;
    match command {
        Command::Serve(args) => serve(config, args).await,
        Command::Migrate { action } => {
            let db = db::connect(config.direct_url(), 2).await?;
            match action {
                MigrateAction::Up => db::migrate(&db).await?,
                MigrateAction::Down => db::migrate_down(&db).await?,
                MigrateAction::Status => Migrator::status(&db).await?,
            }
            Ok(())
        }
        Command::Seed { demo: false, org: slug, leads: Some(leads) } => {
            let db = connected(&config).await?;
            let organization = target_org(&db, slug.as_deref()).await?;
            let progress = progress_bar("{spinner} {wide_bar} {human_pos}/{human_len} leads  {elapsed_precise}  {msg}");
            let summary = seed::synthetic::generate(&db, organization.id, leads, &progress).await?;
            progress.finish_and_clear();
            println!("seeded `{}`:\n{summary}", organization.slug);
            Ok(())
        }
        Command::Seed { demo, .. } => {
            if !demo {
                return Err(anyhow::anyhow!(
                    "say what to seed: `accord seed --demo` or `accord seed --org SLUG --leads N`"
                )
                .into());
            }
            let db = connected(&config).await?;
            match seed::demo(&db).await? {
                Some(admin) => {
                    println!("created the demo organization `{}`; admin: {}", seed::DEMO_ORG_SLUG, admin.email)
                }
                None => println!("the demo organization exists already"),
            }
            Ok(())
        }
        Command::Import(args) => import(&config, args).await,
        Command::Org { command: OrgCommand::Create { name, admin_email, admin_password } } => {
            // Before connecting, and long before hashing: the same 8 to 1,024 bytes as the API.
            if let Some(password) = &admin_password {
                auth::password::validate("--admin-password", password)
                    .map_err(|e| anyhow::anyhow!("--admin-password {e}"))?;
            }
            let db = connected(&config).await?;
            let admin = org::users::NewUser {
                email: admin_email,
                name: "Administrator".into(),
                team: entity::Team::Revops,
                role: entity::Role::Admin,
                password: admin_password,
            };
            let (organization, _) = org::bootstrap(&db, &name, admin).await?;
            println!("{}", organization.id);
            eprintln!("organization `{}` created (slug `{}`)", organization.name, organization.slug);
            Ok(())
        }
        Command::Documents { command: DocumentsCommand::Register { file, org: slug } } => {
            let documents = documents_in(&file)?;
            let db = connected(&config).await?;
            let organization = target_org(&db, slug.as_deref()).await?;
            let actor = auth::Actor::system(organization.id);
            for document in documents {
                let name = crate::graphql::persisted::describe(&document).map_err(|e| anyhow::anyhow!("{e}"))?;
                let stored = org::trusted_documents::register(&db, &actor, &document, name).await?;
                println!("{}  {}", stored.sha256, stored.name.as_deref().unwrap_or("(anonymous operation)"));
            }
            Ok(())
        }
        Command::Outbox { command: OutboxCommand::Prune { older_than } } => {
            let db = connected(&config).await?;
            let age = older_than.unwrap_or(config.outbox_retention);
            let before = chrono::Utc::now() - chrono::Duration::from_std(age).map_err(anyhow::Error::from)?;
            let deleted = crate::events::relay::prune(&db, before).await?;
            let deliveries = crate::webhooks::deliveries::prune(&db, before).await?;
            println!("{deleted}");
            eprintln!("deleted {deleted} outbox events relayed before {before}");
            eprintln!("deleted {deliveries} webhook deliveries finished before {before}");
            Ok(())
        }
        Command::BiRole { name, org: slug, pii } => {
            let db = connected(&config).await?;
            let views = crate::bi::views(&db).await?;
            let columns = crate::bi::view_columns(&db).await?;
            let organization = target_org(&db, Some(&slug)).await?;
            let database = crate::bi::current_database(&db).await?;
            let password = crate::bi::generate_password();
            let request = crate::bi::RoleRequest {
                role: &name,
                org_slug: &organization.slug,
                org_id: organization.id,
                database: &database,
                views: &views,
                password: &password,
                columns: &columns,
                pii,
            };
            print!("{}", crate::bi::role_sql(&request));
            Ok(())
        }
        Command::Erase { email, org: slug, reason } => {
            let db = connected(&config).await?;
            let organization = target_org(&db, slug.as_deref()).await?;
            let lead = crate::privacy::lead_by_email(&db, organization.id, &email).await?;
            let actor = auth::Actor::system(organization.id);
            let erased = crate::privacy::erase_lead(&db, &actor, lead.id, &reason).await?;
            println!("erased lead {} of `{}`: it is now {}", erased.id, organization.slug, erased.email);
            Ok(())
        }
        Command::Token { email, org: slug, ttl } => {
            if ttl > config.jwt.max_ttl {
                let max = humantime::format_duration(config.jwt.max_ttl);
                return Err(anyhow::anyhow!("--ttl: at most ACCORD_TOKEN_MAX_TTL ({max})").into());
            }
            let db = connected(&config).await?;
            let user = org::users::find_for_sign_in(&db, slug.as_deref(), &email)
                .await?
                .filter(|u| u.active)
                .ok_or_else(|| anyhow::anyhow!("no active user with the e-mail {email}"))?;
            let keys = auth::jwt::JwtKeys::new(&config.jwt)?;
            let (token, _) = auth::issue_token(&keys, &user, ttl)?;
            println!("{token}");
            Ok(())
        }
        Command::Schema => Ok(()),
    }
}

/// The documents of `accord documents register FILE`: a JSON object of hash to
/// document (each hash checked), or the whole file as one document.
fn documents_in(file: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if !text.trim_start().starts_with('{') || file.extension().is_none_or(|e| e != "json") {
        return Ok(vec![text]);
    }
    let manifest: std::collections::BTreeMap<String, String> = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a JSON object of hash to document: {e}", file.display()))?;
    manifest
        .into_iter()
        .map(|(hash, document)| {
            if org::trusted_documents::sha256_hex(&document) == hash {
                Ok(document)
            } else {
                Err(anyhow::anyhow!("{}: {hash} is not the SHA-256 of its document", file.display()))
            }
        })
        .collect()
}

async fn connected(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let db = db::connect(config.direct_url(), 2).await?;
    db::migrate(&db).await?;
    Ok(db)
}

/// The organization a command works on: the one named, or the only one there is.
async fn target_org(db: &DatabaseConnection, slug: Option<&str>) -> anyhow::Result<entity::organization::Model> {
    if let Some(slug) = slug {
        return org::find_by_slug(db, slug)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no organization with the slug `{slug}`"));
    }
    let mut found = entity::organization::Entity::find().limit(2).all(db).await?;
    match (found.pop(), found.is_empty()) {
        (Some(only), true) => Ok(only),
        (Some(_), false) => Err(anyhow::anyhow!("there are several organizations: name one with --org SLUG")),
        (None, _) => Err(anyhow::anyhow!("there is no organization yet: create one with `accord org create`")),
    }
}

/// A progress bar on standard error, or a hidden one when standard error is not a
/// terminal (logs, CI, tests), so redirected output holds no control codes.
fn progress_bar(template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// `accord import FILE.csv`: row errors go to the report and still exit 0; an
/// unreadable file or an unknown organization exits 1.
async fn import(config: &Config, args: ImportArgs) -> Result<(), CliError> {
    let db = connected(config).await?;
    let organization = target_org(&db, args.org.as_deref()).await?;
    // Audit rows show SYSTEM: the file, not a signed-in person, is the source.
    let actor = auth::Actor::system(organization.id);
    let mut options = CsvImportOptions::for_file(&args.file);
    options.match_on = match args.match_on {
        MatchOnArg::Email => MatchOn::Email,
        MatchOnArg::ExternalId => MatchOn::ExternalId,
    };
    options.dry_run = args.dry_run;
    if let Some(path) = args.errors {
        options.error_report = path;
    }
    let progress = progress_bar("{spinner} {wide_bar} {bytes}/{total_bytes}  {elapsed_precise}  {msg}");
    let result = csv_import::import_file(&db, &actor, &args.file, &options, &progress).await;
    progress.finish_and_clear();
    let summary = result.map_err(anyhow::Error::from)?;
    println!("imported {} into `{}`:\n{summary}", args.file.display(), organization.slug);
    Ok(())
}

async fn serve(config: Config, args: ServeArgs) -> Result<(), CliError> {
    let bind = config.bind;
    let metrics_bind = config.metrics_bind;
    let database_url = config.direct_url().to_owned();
    let outbox_retention = config.outbox_retention;
    let jobs_here = config.jobs;
    let webhooks = config.webhooks.clone();
    let state = crate::prepare(config).await?;
    let embedded = !crate::db::dialect::is_postgres(&state.db);
    let empty = entity::organization::Entity::find().count(&state.db).await? == 0;
    let mut admin_token = None;
    if embedded
        && empty
        && !args.no_demo
        && let Some(admin) = seed::demo(&state.db).await?
    {
        // Clamped to ACCORD_TOKEN_MAX_TTL by `issue`.
        let (token, _) = auth::issue_token(&state.keys, &admin, std::time::Duration::from_secs(30 * 24 * 3600))?;
        admin_token = Some(token);
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| anyhow::anyhow!("ACCORD_BIND: cannot listen on {bind}: {e}"))?;
    let address = listener.local_addr().map_err(anyhow::Error::from)?;
    println!("Accord is serving GraphiQL at http://{address}/graphql");
    if let Some(token) = admin_token {
        println!(
            "Created the demo organization `{}` (password for every demo user: {}).",
            seed::DEMO_ORG_SLUG,
            seed::DEMO_PASSWORD
        );
        println!("Admin token ({}, valid 30 days). Try it:\n", seed::DEMO_ADMIN_EMAIL);
        println!("TOKEN={token}");
        println!(
            "curl -s http://{address}/graphql -H 'Content-Type: application/json' -H \"Authorization: Bearer $TOKEN\" -d '{{\"query\":\"{{ me {{ name team role }} }}\"}}'\n"
        );
    } else if embedded {
        println!("Mint a token with: accord token --email {}", seed::DEMO_ADMIN_EMAIL);
    }
    if let Some(metrics_bind) = metrics_bind {
        let metrics = tokio::net::TcpListener::bind(metrics_bind)
            .await
            .map_err(|e| anyhow::anyhow!("ACCORD_METRICS_BIND: cannot listen on {metrics_bind}: {e}"))?;
        println!("Prometheus metrics at http://{}/metrics", metrics.local_addr().map_err(anyhow::Error::from)?);
        tokio::spawn(async move { axum::serve(metrics, crate::http::metrics_router()).await });
    }
    // Background jobs get a pool of their own on PostgreSQL: no request time limit on
    // their statements, and no competition with requests for connections. Two of its
    // connections listen: for the other replicas' outbox notifications, and for changes
    // to what this process caches.
    let jobs = if embedded { state.db.clone() } else { db::connect(&database_url, 4).await? };
    db::notify::listen(&jobs);
    if jobs_here {
        // The webhook sender too (a claim and a recorder), so that a burst of deliveries
        // never makes the outbox relay wait for a connection.
        let sender = if embedded { state.db.clone() } else { db::connect(&database_url, 2).await? };
        crate::worker::spawn_all(&jobs, outbox_retention, &sender, webhooks);
    } else {
        crate::events::relay::follow_others(&jobs);
    }
    crate::serve(listener, state, crate::shutdown_signal()).await?;
    Ok(())
}

/// Log to standard error (standard output carries command results such as the SDL
/// or a token): JSON lines unless it is a terminal or `format` says otherwise, colour
/// only on a terminal. `RUST_LOG` overrides the default level.
pub fn init_tracing(format: Option<crate::config::LogFormat>) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let terminal = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let json = format.map_or(!terminal, |f| f == crate::config::LogFormat::Json);
    let _ = if json {
        // Every enclosing span, so a request's trace id is on each of its lines.
        builder.json().flatten_event(true).with_current_span(false).with_span_list(true).try_init()
    } else {
        builder.with_ansi(terminal).try_init()
    };
}

/// A flag-parsing error as one line that names the environment variable behind the
/// flag, such as `error: ACCORD_BIND (--bind): invalid value 'x': invalid socket address syntax`.
pub fn one_line_error(error: &clap::Error) -> String {
    use clap::CommandFactory;
    use clap::error::{ContextKind, ContextValue};
    let line = error.to_string().lines().next().unwrap_or("error: invalid arguments").to_owned();
    let Some(ContextValue::String(flag)) = error.get(ContextKind::InvalidArg) else { return line };
    let command = crate::config::Cli::command();
    let env = command.get_arguments().find_map(|arg| {
        let long = arg.get_long()?;
        let matches = flag == &format!("--{long}") || flag.starts_with(&format!("--{long} "));
        matches.then(|| arg.get_env().map(|env| env.to_string_lossy().into_owned())).flatten()
    });
    match env {
        Some(env) => line.replacen(
            &format!("'{flag}'"),
            &format!("{env} (--{})", flag.trim_start_matches("--").split(' ').next().unwrap_or_default()),
            1,
        ),
        None => line,
    }
}
