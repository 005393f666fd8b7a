//! End-to-end tests: the real server on a random port, a fresh database per test,
//! HTTP like a client. One test binary (instead of one per file) keeps link time low
//! on small CI machines. `ACCORD_TEST_DATABASE_URL=postgres://…` runs them on PostgreSQL.

#[path = "../common/mod.rs"]
mod common;

mod agreements;
mod archive;
mod auth;
mod bi;
mod campaigns;
mod cli;
mod concurrency;
mod currencies;
mod export;
mod feedback;
mod graphiql;
mod handover;
mod http;
mod icp;
mod kpi_data;
mod kpi_rollup;
mod kpi_suite;
mod kpis;
mod leads;
mod messaging;
mod observability;
mod org_admin;
mod outbox;
mod patch;
mod persisted;
mod personas;
mod pgbouncer;
mod pii;
mod read_replica;
mod relay;
mod replicas;
mod schema;
mod scoring;
mod security;
mod security_inputs;
mod seed;
mod spec;
mod stages;
mod subscriptions;
mod taxonomies;
mod two_servers;
mod webhooks;
