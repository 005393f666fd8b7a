//! Accord's library: configuration, authentication, the GraphQL schema, the domain
//! modules and the HTTP router. The `accord` binary only parses flags and calls
//! [`cli::run`].

// The Mutation resolver's future nests every write path's futures; its layout needs
// more query depth than the default 128 allows.
#![recursion_limit = "256"]

pub mod agreements;
pub mod auth;
pub mod bi;
pub mod campaigns;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod export;
pub mod feedback;
pub mod graphiql;
pub mod graphql;
pub mod handover;
pub mod http;
pub mod kpi;
pub mod leads;
pub mod messaging;
pub mod metrics;
pub mod org;
pub mod personas;
pub mod pipeline;
pub mod privacy;
pub mod scoring;
pub mod seed;
pub mod validate;
pub mod webhooks;
pub mod worker;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use graphql::{build_schema, sdl};
pub use http::{AppState, router};

use auth::jwt::JwtKeys;
use auth::rate_limit::{RequestLimiter, SignInThrottle};
use config::Config;

/// Connect to the database, apply pending migrations and build the shared state.
pub async fn prepare(config: Config) -> anyhow::Result<AppState> {
    // A little under the request's own limit, so the database gives up first.
    let statement_timeout = config.request_timeout * 9 / 10;
    let db = if config.session_url.is_some() {
        // Behind a transaction-mode pooler the settings are the role's defaults, set first.
        let migrator = db::connect(config.direct_url(), 1).await?;
        db::migrate(&migrator).await?;
        db::set_pooled_defaults(&migrator, statement_timeout).await?;
        migrator.close().await?;
        db::connect_through_pooler(&config.database_url, config.db_max_connections).await?
    } else {
        let db = db::connect_with(&config.database_url, config.db_max_connections, Some(statement_timeout)).await?;
        if db::dialect::is_postgres(&db) {
            // Migrations may build indexes for longer than a request may take.
            let migrator = db::connect(&config.database_url, 1).await?;
            db::migrate(&migrator).await?;
            migrator.close().await?;
        } else {
            db::migrate(&db).await?;
        }
        db
    };
    let replica = match &config.read_replica {
        Some(read) => {
            let replica = db::replica::ReadReplica::connect(read, config.db_max_connections, statement_timeout).await?;
            replica.watch(db.clone());
            Some(replica)
        }
        None => None,
    };
    Ok(AppState { replica, ..state(db, config)? })
}

/// Build the shared state around an open, migrated connection.
pub fn state(db: sea_orm::DatabaseConnection, config: Config) -> anyhow::Result<AppState> {
    metrics::handle();
    metrics::watch_pool(&db);
    let config = Arc::new(config);
    let keys = Arc::new(JwtKeys::new(&config.jwt)?);
    // On PostgreSQL the replicas share sign-in failures and each credential's per-minute window.
    let shared = db::dialect::is_postgres(&db).then(|| db.clone());
    let throttle = Arc::new(SignInThrottle::new(config.sign_in, shared.clone()));
    let schema = build_schema(db.clone(), keys.clone(), throttle, config.clone());
    let cost_model = Arc::new(graphql::cost::CostModel::from_sdl(&schema.sdl()));
    let limiter = Arc::new(RequestLimiter::new(config.rate_limit_per_minute, shared));
    let sockets = Arc::new(ws::Sockets::default());
    let closing = Arc::new(tokio::sync::watch::channel(false).0);
    let validated = Arc::default();
    let (replica, statements) = (None, None);
    Ok(AppState { db, replica, schema, keys, config, cost_model, limiter, validated, sockets, closing, statements })
}

/// Serve HTTP on `listener` until `shutdown` completes, then finish in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let closing = state.closing.clone();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    // Open WebSockets are not requests the graceful shutdown waits for: tell them to close.
    let shutdown = async move {
        shutdown.await;
        closing.send_replace(true);
    };
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
