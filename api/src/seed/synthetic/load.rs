//! Loading generated batches into PostgreSQL with `COPY`, in one transaction.

use std::time::Instant;

use indicatif::ProgressBar;
use rand::Rng;

use super::generator::Generator;
use super::{Batch, Counts, rate};
use crate::db::copy::{Encoded, encode_rows};
use crate::error::{ApiError, Result};

/// A generated chunk, encoded for `COPY`.
pub(super) struct EncodedBatch {
    counts: Counts,
    accounts: Encoded<entity::account::Entity>,
    leads: Encoded<entity::lead::Entity>,
    scores: Encoded<entity::lead_score::Entity>,
    opportunities: Encoded<entity::opportunity::Entity>,
    transitions: Encoded<entity::lead_stage_transition::Entity>,
    events: Encoded<entity::engagement_event::Entity>,
    activities: Encoded<entity::activity::Entity>,
}

impl EncodedBatch {
    fn of(batch: Batch) -> Result<Self> {
        Ok(Self {
            counts: Counts::of(&batch),
            accounts: encode_rows(&batch.accounts)?,
            leads: encode_rows(&batch.leads)?,
            scores: encode_rows(&batch.scores)?,
            opportunities: encode_rows(&batch.opportunities)?,
            transitions: encode_rows(&batch.transitions)?,
            events: encode_rows(&batch.events)?,
            activities: encode_rows(&batch.activities)?,
        })
    }
}

/// Leads per `COPY` on PostgreSQL: fewer, longer statements than [`LEADS_PER_CHUNK`].
pub(super) const COPY_CHUNK: u64 = 10_000;

/// The tables a synthetic load writes, in the order their rows reference each other.
pub(super) const TABLES: [&str; 7] =
    ["accounts", "leads", "lead_scores", "opportunities", "lead_stage_transitions", "engagement_events", "activities"];

/// Load everything in one transaction with `COPY`, so a failed or interrupted run
/// leaves nothing behind. When the load is at least as large as the leads already
/// stored, the tables' secondary indexes and foreign keys are dropped first and
/// restored at the end, as `pg_restore` does: maintaining some fifty indexes and
/// checking a dozen foreign keys row by row cost several times more than the load
/// itself, while a rebuild sorts once and a foreign key is checked with one join. A
/// foreign key or unique index the data breaks fails the whole run. Dropping locks
/// the tables until the load commits, which suits the empty or benchmark databases
/// such a load is for. Definitions come from the catalog, so none is forgotten and
/// the rebuild matches the migrations exactly.
pub(super) async fn load_postgres(
    pool: &sea_orm::sqlx::PgPool,
    mut generator: Generator,
    leads: u64,
    progress: &ProgressBar,
    started: Instant,
) -> Result<Counts> {
    // Table and index names come from constants and the catalog, never from input.
    use crate::db::copy::{copy_encoded, execute, sqlx_error};
    use sea_orm::sqlx::{query_as, query_scalar};
    let tables: Vec<String> = TABLES.iter().map(|t| (*t).to_owned()).collect();
    let mut txn = pool.begin().await.map_err(sqlx_error)?;
    // Losing the last moments of a commit on a crash is harmless for generated data.
    execute(&mut txn, "SET LOCAL synchronous_commit = off").await?;
    execute(&mut txn, "SET LOCAL maintenance_work_mem = '256MB'").await?;
    // Millions of rows would each mark their days dirty for the KPI rollup; the
    // organization's rollup is discarded at the end instead and rebuilt by the worker.
    execute(&mut txn, "SET LOCAL accord.kpi_marks = 'off'").await?;
    let org_id = generator.org_id;
    let stored: f32 = query_scalar("SELECT greatest(reltuples, 0)::real FROM pg_class WHERE oid = 'leads'::regclass")
        .fetch_one(&mut *txn)
        .await
        .map_err(sqlx_error)?;
    // (name, definition) of each index; (table, name, definition) of each foreign key.
    type Indexes = Vec<(String, String)>;
    type ForeignKeys = Vec<(String, String, String)>;
    let (indexes, foreign_keys): (Indexes, ForeignKeys) = if leads as f32 >= stored {
        // Primary keys stay (foreign keys need them), and so do indexes behind constraints.
        let indexes = query_as(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i \
             WHERE i.indrelid = ANY($1::text[]::regclass[]) AND NOT i.indisprimary \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        )
        .bind(&tables)
        .fetch_all(&mut *txn)
        .await
        .map_err(sqlx_error)?;
        let foreign_keys = query_as(
            "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE contype = 'f' AND conrelid = ANY($1::text[]::regclass[])",
        )
        .bind(&tables)
        .fetch_all(&mut *txn)
        .await
        .map_err(sqlx_error)?;
        (indexes, foreign_keys)
    } else {
        (Vec::new(), Vec::new())
    };
    // Checking foreign keys row by row cost more than the rest of the load: they are
    // checked once, with a join each, when they are added back below.
    for (table, name, _) in &foreign_keys {
        execute(&mut txn, format!("ALTER TABLE {table} DROP CONSTRAINT {name}")).await?;
    }
    for (name, _) in &indexes {
        execute(&mut txn, format!("DROP INDEX {name}")).await?;
    }
    // The next chunk is generated and encoded on another thread while this one is sent.
    let (sender, mut chunks) = tokio::sync::mpsc::channel::<Result<EncodedBatch>>(2);
    let producer = tokio::task::spawn_blocking(move || {
        let mut remaining = leads;
        while remaining > 0 {
            let size = remaining.min(COPY_CHUNK);
            if sender.blocking_send(EncodedBatch::of(generator.batch(size as usize))).is_err() {
                return; // the load failed and stopped listening
            }
            remaining -= size;
        }
    });
    let mut counts = Counts::default();
    while let Some(chunk) = chunks.recv().await {
        let chunk = chunk?;
        copy_encoded(&mut txn, &chunk.accounts).await?;
        copy_encoded(&mut txn, &chunk.leads).await?;
        copy_encoded(&mut txn, &chunk.scores).await?;
        copy_encoded(&mut txn, &chunk.opportunities).await?;
        copy_encoded(&mut txn, &chunk.transitions).await?;
        copy_encoded(&mut txn, &chunk.events).await?;
        copy_encoded(&mut txn, &chunk.activities).await?;
        counts.add(&chunk.counts);
        progress.inc(chunk.counts.leads);
        progress.set_message(rate(&counts, started));
    }
    producer.await.map_err(|e| ApiError::internal(format!("generating rows: {e}")))?;
    for (i, (_, definition)) in indexes.iter().enumerate() {
        progress.set_message(format!("rebuilding indexes: {} of {}", i + 1, indexes.len()));
        execute(&mut txn, definition.as_str()).await?;
    }
    for (i, (table, name, definition)) in foreign_keys.iter().enumerate() {
        progress.set_message(format!("checking foreign keys: {} of {}", i + 1, foreign_keys.len()));
        execute(&mut txn, format!("ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")).await?;
    }
    // The planner's statistics would otherwise describe the empty tables.
    for table in TABLES {
        execute(&mut txn, format!("ANALYZE {table}")).await?;
    }
    execute(&mut txn, format!("DELETE FROM kpi_rollup_states WHERE org_id = '{org_id}'")).await?;
    txn.commit().await.map_err(sqlx_error)?;
    Ok(counts)
}

/// Six lower-case letters and digits, new for every run.
pub(super) fn run_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..6).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}
