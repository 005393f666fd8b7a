//! Synthetic revenue data: accounts, leads with a plausible lifecycle history,
//! engagement events, activities and opportunities of all four sales strategies.
//!
//! The demo seed uses it for a few hundred leads; `accord seed --leads N` for
//! millions. Generation is deterministic for a given RNG seed, and every history is
//! consistent: each lead's transitions follow the lifecycle table, start with its
//! creation, and end in its `lifecycle_stage` at its `stage_entered_at`, all within
//! the last nine months. On PostgreSQL a large run is one transaction of `COPY`s
//! (see [`load_postgres`]); SQLite takes multi-row `INSERT`s, one transaction per chunk.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use entity::{ActivityKind, EngagementKind, LifecycleStage, OpportunityStage, SalesStrategy, Team, Temperature};
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Actor;
use crate::db::copy::{Encoded, encode_rows};
use crate::db::insert_all;
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::kpi::sql::Sql;

/// How far back histories reach: about nine months.
const HISTORY_DAYS: f64 = 270.0;
/// Leads per transaction of a large run.
pub const LEADS_PER_CHUNK: usize = 1000;

/// A person of the organization who owns, moves and works leads.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
}

/// The people records are attributed to. Both lists are never empty.
#[derive(Debug, Clone)]
pub struct People {
    pub sales: Vec<Person>,
    pub marketing: Vec<Person>,
}

impl People {
    /// The organization's active users by team; teams without anyone borrow everyone.
    pub async fn of_org(db: &impl ConnectionTrait, org_id: Uuid) -> Result<Self> {
        use entity::user::{Column, Entity};
        let users = Entity::find().filter(Column::OrgId.eq(org_id)).filter(Column::Active.eq(true)).all(db).await?;
        let of = |team: Option<Team>| -> Vec<Person> {
            users
                .iter()
                .filter(|u| team.is_none_or(|t| u.team == t && u.role != entity::Role::Viewer))
                .map(|u| Person { id: u.id, name: u.name.clone() })
                .collect()
        };
        let everyone = of(None);
        let pick = |team: Vec<Person>| if team.is_empty() { everyone.clone() } else { team };
        Ok(Self { sales: pick(of(Some(Team::Sales))), marketing: pick(of(Some(Team::Marketing))) })
    }
}

/// How generated e-mails, domains and external ids stay unique.
#[derive(Debug, Clone)]
pub enum Naming {
    /// Natural names (`ana.garcia@payly.com`), de-duplicated in memory: for the demo.
    Demo,
    /// Names carrying a run token and a serial number, unique across runs in the same
    /// organization without reading what is stored.
    Run(String),
}

/// The rows of one chunk, in insertion order.
#[derive(Debug, Default)]
pub struct Batch {
    pub accounts: Vec<entity::account::Model>,
    pub leads: Vec<entity::lead::Model>,
    /// One per lead, in the same order.
    pub scores: Vec<entity::lead_score::Model>,
    pub opportunities: Vec<entity::opportunity::Model>,
    pub transitions: Vec<entity::lead_stage_transition::Model>,
    pub events: Vec<entity::engagement_event::Model>,
    pub activities: Vec<entity::activity::Model>,
}

impl Batch {
    pub fn rows(&self) -> usize {
        self.accounts.len()
            + self.leads.len()
            + self.scores.len()
            + self.opportunities.len()
            + self.transitions.len()
            + self.events.len()
            + self.activities.len()
    }
}

/// Rows written, by table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub accounts: u64,
    pub leads: u64,
    pub transitions: u64,
    pub events: u64,
    pub activities: u64,
    pub opportunities: u64,
}

impl Counts {
    fn of(batch: &Batch) -> Self {
        Self {
            accounts: batch.accounts.len() as u64,
            leads: batch.leads.len() as u64,
            transitions: batch.transitions.len() as u64,
            events: batch.events.len() as u64,
            activities: batch.activities.len() as u64,
            opportunities: batch.opportunities.len() as u64,
        }
    }

    fn add(&mut self, other: &Counts) {
        self.accounts += other.accounts;
        self.leads += other.leads;
        self.transitions += other.transitions;
        self.events += other.events;
        self.activities += other.activities;
        self.opportunities += other.opportunities;
    }

    pub fn rows(&self) -> u64 {
        self.accounts + self.leads + self.transitions + self.events + self.activities + self.opportunities
    }
}

/// What a large run did.
#[derive(Debug, Clone)]
pub struct SeedSummary {
    pub counts: Counts,
    pub token: String,
    pub elapsed: std::time::Duration,
}

impl std::fmt::Display for SeedSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.counts;
        let seconds = self.elapsed.as_secs_f64().max(0.001);
        writeln!(f, "run token: {}", self.token)?;
        writeln!(f, "accounts: {}", c.accounts)?;
        writeln!(f, "leads: {}", c.leads)?;
        writeln!(f, "stage transitions: {}", c.transitions)?;
        writeln!(f, "engagement events: {}", c.events)?;
        writeln!(f, "activities: {}", c.activities)?;
        writeln!(f, "opportunities: {}", c.opportunities)?;
        writeln!(f, "elapsed: {seconds:.1} s")?;
        write!(
            f,
            "rows per second: {:.0} ({:.0} leads per second)",
            c.rows() as f64 / seconds,
            c.leads as f64 / seconds
        )
    }
}

/// Generate `leads` leads (and everything around them) for an existing organization,
/// in chunks of leads, advancing `progress` by leads.
#[tracing::instrument(skip(db, progress))]
pub async fn generate(
    db: &sea_orm::DatabaseConnection,
    org_id: Uuid,
    leads: u64,
    progress: &ProgressBar,
) -> Result<SeedSummary> {
    let started = Instant::now();
    let people = {
        let txn = crate::db::begin_write(db).await?;
        let people = People::of_org(&txn, org_id).await?;
        txn.commit().await?;
        people
    };
    if people.sales.is_empty() {
        return Err(ApiError::bad_input("org", "the organization has no active users"));
    }
    let token = run_token();
    let seed = token.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut generator = Generator::new(org_id, people, Naming::Run(token.clone()), seed, Utc::now());
    progress.set_length(leads);
    let counts = if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        load_postgres(db.get_postgres_connection_pool(), generator, leads, progress, started).await?
    } else {
        // As on PostgreSQL, generated rows skip the KPI rollup's dirty marks (one per
        // fact and stage: half the cost of the load) and the organization's rollup is
        // discarded instead. SQLite has no session switch for triggers, but its DDL is
        // transactional: each chunk drops them and puts them back before it commits.
        let triggers = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'kpi_mark_%'",
            ))
            .await?
            .iter()
            .map(|row| Ok((row.try_get::<String>("", "name")?, row.try_get::<String>("", "sql")?)))
            .collect::<Result<Vec<_>>>()?;
        let mut counts = Counts::default();
        let mut remaining = leads;
        while remaining > 0 {
            let size = remaining.min(LEADS_PER_CHUNK as u64) as usize;
            let batch = generator.batch(size);
            counts.add(&Counts::of(&batch));
            let txn = crate::db::begin_write(db).await?;
            for (name, _) in &triggers {
                txn.execute_unprepared(&format!("DROP TRIGGER {name}")).await?;
            }
            insert(&txn, batch).await?;
            for (_, sql) in &triggers {
                txn.execute_unprepared(sql).await?;
            }
            let mut forget = Sql::new();
            forget.push("DELETE FROM kpi_rollup_states WHERE org_id = ").bind(org_id);
            txn.execute_raw(forget.build(DbBackend::Sqlite)).await?;
            txn.commit().await?;
            remaining -= size as u64;
            progress.inc(size as u64);
            progress.set_message(rate(&counts, started));
        }
        counts
    };
    let actor = Actor::system(org_id);
    let changes = Changes::new()
        .created("token", &token)
        .created("accounts", &counts.accounts)
        .created("leads", &counts.leads)
        .created("opportunities", &counts.opportunities);
    let txn = crate::db::begin_write(db).await?;
    audit::record(&txn, &actor, "seed.generate", "organization", Some(org_id), changes).await?;
    txn.commit().await?;
    Ok(SeedSummary { counts, token, elapsed: started.elapsed() })
}

fn rate(counts: &Counts, started: Instant) -> String {
    format!("{:.0} rows/s", counts.rows() as f64 / started.elapsed().as_secs_f64().max(0.001))
}

/// A generated chunk, encoded for `COPY`.
struct EncodedBatch {
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
const COPY_CHUNK: u64 = 10_000;

/// The tables a synthetic load writes, in the order their rows reference each other.
const TABLES: [&str; 7] =
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
async fn load_postgres(
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
fn run_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..6).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

/// Write a batch with multi-row `INSERT`s inside the caller's transaction.
pub async fn insert(txn: &impl ConnectionTrait, batch: Batch) -> Result<()> {
    insert_all::<entity::account::ActiveModel, _>(txn, batch.accounts).await?;
    insert_all::<entity::lead::ActiveModel, _>(txn, batch.leads).await?;
    insert_all::<entity::lead_score::ActiveModel, _>(txn, batch.scores).await?;
    insert_all::<entity::opportunity::ActiveModel, _>(txn, batch.opportunities).await?;
    insert_all::<entity::lead_stage_transition::ActiveModel, _>(txn, batch.transitions).await?;
    insert_all::<entity::engagement_event::ActiveModel, _>(txn, batch.events).await?;
    insert_all::<entity::activity::ActiveModel, _>(txn, batch.activities).await?;
    Ok(())
}

const FIRST_NAMES: &[&str] = &[
    "Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kira", "Liam", "Maya", "Noah",
    "Olivia", "Pavel", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wes", "Xenia", "Yusuf", "Zoe", "Amara",
    "Bruno", "Carla", "Dmitri", "Emma", "Felix", "Gita", "Hugo", "Isla", "Jamal", "Lena", "Marco", "Nadia", "Omar",
    "Priya", "Rafael", "Sofia", "Tomas", "Ulla", "Victor", "Wanda", "Yara",
];
const LAST_NAMES: &[&str] = &[
    "Garcia",
    "Schmidt",
    "Okafor",
    "Tanaka",
    "Rossi",
    "Novak",
    "Silva",
    "Kowalski",
    "Dubois",
    "Jensen",
    "Murphy",
    "Haddad",
    "Kim",
    "Larsen",
    "Moreau",
    "Nguyen",
    "Petrov",
    "Quispe",
    "Rahman",
    "Santos",
    "Tremblay",
    "Weber",
    "Yilmaz",
    "Zhang",
    "Andersson",
    "Bianchi",
    "Costa",
    "Eriksen",
    "Fischer",
    "Gomez",
    "Hoffmann",
    "Ivanova",
    "Johansson",
    "Keller",
    "Lopez",
    "Meyer",
    "Nakamura",
    "Olsen",
    "Patel",
    "Richter",
];
const TITLES: &[&str] = &[
    "VP Marketing",
    "Head of Demand Generation",
    "Marketing Operations Manager",
    "Chief Revenue Officer",
    "VP Sales",
    "Sales Operations Lead",
    "Head of Customer Success",
    "CFO",
    "Director of Growth",
    "Revenue Operations Analyst",
    "CMO",
    "Head of Sales Enablement",
];
const COMPANY_STEMS: &[&str] = &[
    "North", "Blue", "Bright", "Iron", "Silver", "Clear", "Nova", "Peak", "River", "Stone", "Swift", "Terra", "Vertex",
    "Atlas", "Beacon", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Lumen", "Orbit", "Pine", "Quartz",
    "Summit", "Tidal", "Vivid",
];
const COMPANY_TAILS: &[&str] =
    &["forge", "wave", "path", "works", "line", "labs", "point", "scale", "field", "bridge", "loop", "stack"];
const COMPANY_KINDS: &[&str] = &["", " Systems", " Analytics", " Health", " Logistics", " Software", " Group"];
/// (industry, weight)
const INDUSTRIES: &[(&str, u32)] = &[
    ("Software", 5),
    ("Fintech", 3),
    ("Healthcare", 2),
    ("Manufacturing", 2),
    ("Retail", 2),
    ("Logistics", 1),
    ("Professional Services", 2),
    ("Education", 1),
];
const REGIONS: &[(&str, &str, u32)] = &[("EMEA", "EUR", 5), ("NA", "USD", 4), ("APAC", "USD", 2), ("LATAM", "USD", 1)];
const SOURCES: &[(&str, u32)] = &[
    ("website", 5),
    ("webinar", 3),
    ("paid_search", 3),
    ("event", 2),
    ("referral", 2),
    ("content", 3),
    ("partner", 1),
    ("outbound", 2),
];
/// Campaign names the generated leads carry (the demo organization has a campaign record of each).
pub const CAMPAIGNS: &[&str] = &[
    "Revenue Alignment Webinar Series",
    "State of RevOps Report",
    "Spring Product Launch",
    "SaaStock Booth",
    "Pipeline Acceleration Ads",
    "Customer Stories Newsletter",
];
const DISQUALIFY_REASONS: &[&str] =
    &["not our ideal customer profile", "no budget this year", "bad contact data", "chose a competitor", "student"];
const RECYCLE_REASONS: &[&str] =
    &["not ready to buy: back to nurture", "timing: revisit next quarter", "no reply after handover"];
const LOST_REASONS: &[&str] = &["price", "chose a competitor", "no decision", "timing", "missing integration"];
const PAGES: &[&str] = &["/", "/pricing", "/product/alignment", "/customers", "/blog/shared-funnel", "/integrations"];
const ASSETS: &[&str] = &["RevOps Benchmark 2026", "SLA Playbook", "ICP Worksheet", "Alignment ROI Calculator"];

/// Funnel order of the forward stages.
const FUNNEL: [LifecycleStage; 7] = [
    LifecycleStage::New,
    LifecycleStage::Engaged,
    LifecycleStage::Mql,
    LifecycleStage::Sal,
    LifecycleStage::Sql,
    LifecycleStage::Opportunity,
    LifecycleStage::Customer,
];

/// Makes batches of consistent rows.
pub struct Generator {
    rng: StdRng,
    org_id: Uuid,
    people: People,
    naming: Naming,
    now: DateTime<Utc>,
    next_account: u64,
    next_lead: u64,
    /// Demo names in use (only [`Naming::Demo`] fills it).
    taken: HashSet<String>,
    /// Per strategy, the next stage of an account-level deal, so small data sets still
    /// show every strategy in every stage.
    next_deal_stage: [usize; 4],
}

/// One lead's path through the funnel, with the time of every move.
struct History {
    steps: Vec<(LifecycleStage, DateTime<Utc>)>,
}

impl History {
    fn created(&self) -> DateTime<Utc> {
        self.steps.first().map_or_else(Utc::now, |s| s.1)
    }

    fn last(&self) -> (LifecycleStage, DateTime<Utc>) {
        self.steps.last().copied().unwrap_or((LifecycleStage::New, self.created()))
    }

    fn reached(&self, stage: LifecycleStage) -> Option<DateTime<Utc>> {
        self.steps.iter().find(|s| s.0 == stage).map(|s| s.1)
    }

    /// When the lead left `stage`'s first visit, or now when it is still there.
    fn left(&self, stage: LifecycleStage, now: DateTime<Utc>) -> DateTime<Utc> {
        let index = self.steps.iter().position(|s| s.0 == stage);
        index.and_then(|i| self.steps.get(i + 1)).map_or(now, |s| s.1)
    }
}

impl Generator {
    pub fn new(org_id: Uuid, people: People, naming: Naming, seed: u64, now: DateTime<Utc>) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            org_id,
            people,
            naming,
            now,
            next_account: 0,
            next_lead: 0,
            taken: HashSet::new(),
            next_deal_stage: [0; 4],
        }
    }

    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|i| i.1).sum();
        let mut roll = self.rng.random_range(0..total.max(1));
        for (item, weight) in items {
            if roll < *weight {
                return *item;
            }
            roll -= weight;
        }
        items[0].0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items.choose(&mut self.rng).unwrap_or(&items[0])
    }

    fn salesperson(&mut self) -> Person {
        let index = self.rng.random_range(0..self.people.sales.len());
        self.people.sales[index].clone()
    }

    fn marketer(&mut self) -> Person {
        let index = self.rng.random_range(0..self.people.marketing.len());
        self.people.marketing[index].clone()
    }

    fn days(&mut self, low: f64, high: f64) -> Duration {
        let days = self.rng.random_range(low..high);
        Duration::seconds((days * 86_400.0) as i64)
    }

    /// A demo name not used yet: `base`, then `base2`, `base3`…
    fn unique(&mut self, base: String) -> String {
        let mut candidate = base.clone();
        let mut n = 1;
        while !self.taken.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{base}{n}");
        }
        candidate
    }

    /// `leads` leads spread over about a fifth as many new accounts.
    pub fn batch(&mut self, leads: usize) -> Batch {
        let mut batch = Batch::default();
        let accounts = leads.div_ceil(5).max(1);
        for _ in 0..accounts {
            let account = self.account();
            batch.accounts.push(account);
        }
        for _ in 0..leads {
            let index = self.rng.random_range(0..batch.accounts.len());
            self.lead(&mut batch, index);
        }
        let accounts: Vec<usize> = (0..batch.accounts.len()).collect();
        for index in accounts {
            self.account_deals(&mut batch, index);
        }
        batch
    }

    fn account(&mut self) -> entity::account::Model {
        self.next_account += 1;
        let stem = *self.pick(COMPANY_STEMS);
        let tail = *self.pick(COMPANY_TAILS);
        let kind = *self.pick(COMPANY_KINDS);
        let base = format!("{stem}{tail}");
        let (name, domain) = match &self.naming {
            Naming::Demo => {
                let slug = self.unique(base.to_lowercase());
                let name = if slug == base.to_lowercase() { format!("{base}{kind}") } else { format!("{slug}{kind}") };
                (capitalise(&name), format!("{slug}.com"))
            }
            Naming::Run(token) => {
                let n = self.next_account;
                (format!("{base}{kind} {n}"), format!("{}-{n}-{token}.com", base.to_lowercase()))
            }
        };
        let industry = self.weighted(INDUSTRIES);
        let (region, currency) = {
            let regions: Vec<((&str, &str), u32)> = REGIONS.iter().map(|r| ((r.0, r.1), r.2)).collect();
            self.weighted(&regions)
        };
        // Company sizes are roughly log-uniform: many small, few large.
        let employees = 10f64.powf(self.rng.random_range(1.0..4.7)) as i32;
        let revenue_per_employee = self.rng.random_range(80_000..250_000i64);
        let created = self.now - self.days(HISTORY_DAYS + 5.0, HISTORY_DAYS + 40.0);
        let owner = self.salesperson().id;
        entity::account::Model {
            id: Uuid::now_v7(),
            org_id: self.org_id,
            name_key: name.to_lowercase(),
            name,
            domain: Some(domain),
            industry: Some(industry.to_owned()),
            employee_count: Some(employees),
            annual_revenue_minor: Some(i64::from(employees) * revenue_per_employee * 100),
            currency: Some(currency.to_owned()),
            region: Some(region.to_owned()),
            owner_id: Some(owner),
            customer_since: None,
            archived_at: None,
            version: 1,
            created_at: created,
            updated_at: created,
        }
    }

    /// The stages a lead went through, ending where it is now; every move is allowed
    /// by the lifecycle table.
    fn path(&mut self) -> Vec<LifecycleStage> {
        use LifecycleStage::*;
        let last = self.weighted(&[
            (New, 9),
            (Engaged, 16),
            (Mql, 12),
            (Sal, 7),
            (Sql, 7),
            (Opportunity, 8),
            (Customer, 12),
            (Recycled, 15),
            (Disqualified, 14),
        ]);
        let up_to = |stage: LifecycleStage| -> Vec<LifecycleStage> {
            let end = FUNNEL.iter().position(|s| *s == stage).unwrap_or(0);
            FUNNEL[..=end].to_vec()
        };
        let mut path = match last {
            Recycled => {
                let from = self.weighted(&[(New, 1), (Engaged, 4), (Mql, 4), (Sal, 3), (Sql, 2), (Opportunity, 3)]);
                let mut path = up_to(from);
                path.push(Recycled);
                path
            }
            Disqualified => {
                let from = self.weighted(&[(New, 3), (Engaged, 3), (Mql, 2), (Sal, 3), (Sql, 1)]);
                let mut path = up_to(from);
                path.push(Disqualified);
                path
            }
            Engaged | Mql if self.rng.random_bool(0.2) => {
                // Back from nurture: went as far as MQL..SQL before, now re-engaged.
                let before = *self.pick(&[Mql, Sal, Sql]);
                let mut path = up_to(before);
                path.extend([Recycled, last]);
                path
            }
            stage => up_to(stage),
        };
        // A demo request or a high score takes some leads from NEW straight to MQL.
        if path.len() > 2 && path[1] == Engaged && path[2] == Mql && self.rng.random_bool(0.2) {
            path.remove(1);
        }
        path
    }

    /// How long a lead stays in a stage before it moves on.
    fn dwell(&mut self, stage: LifecycleStage) -> Duration {
        use LifecycleStage::*;
        match stage {
            New => self.days(0.1, 7.0),
            Engaged => self.days(2.0, 40.0),
            Mql => self.days(0.2, 6.0),
            Sal => self.days(0.5, 5.0),
            Sql => self.days(3.0, 25.0),
            Opportunity => self.days(15.0, 75.0),
            Recycled => self.days(20.0, 90.0),
            Customer | Disqualified => self.days(0.0, 1.0),
        }
    }

    /// How long a lead has been in the stage it is in now.
    fn age(&mut self, stage: LifecycleStage) -> Duration {
        use LifecycleStage::*;
        match stage {
            New => self.days(0.0, 30.0),
            Engaged => self.days(0.0, 120.0),
            Mql => self.days(0.0, 10.0),
            Sal => self.days(0.0, 7.0),
            Sql => self.days(0.0, 30.0),
            Opportunity => self.days(0.0, 60.0),
            Customer | Recycled | Disqualified => self.days(0.0, 200.0),
        }
    }

    /// Times for a path, squeezed into the history window when needed.
    fn history(&mut self, path: Vec<LifecycleStage>) -> History {
        let mut spans: Vec<Duration> = Vec::with_capacity(path.len());
        for stage in &path[..path.len().saturating_sub(1)] {
            let span = self.dwell(*stage);
            spans.push(span);
        }
        let current = path.last().copied().unwrap_or(LifecycleStage::New);
        spans.push(self.age(current));
        let total: i64 = spans.iter().map(Duration::num_seconds).sum();
        let window = (HISTORY_DAYS * 86_400.0) as i64;
        let scale = if total > window { window as f64 / total as f64 } else { 1.0 };
        // Each move takes at least a minute; leave room for that so the last move
        // never lands in the future.
        let slack = 60 * spans.len() as i64;
        let mut at = self.now - Duration::seconds((total as f64 * scale) as i64 + slack);
        let mut steps = Vec::with_capacity(path.len());
        for (stage, span) in path.into_iter().zip(spans) {
            steps.push((stage, at));
            at += Duration::seconds(((span.num_seconds() as f64) * scale).max(60.0) as i64);
        }
        History { steps }
    }

    fn lead(&mut self, batch: &mut Batch, account_index: usize) {
        use LifecycleStage::*;
        self.next_lead += 1;
        let n = self.next_lead;
        let account = &batch.accounts[account_index];
        let (account_id, domain, currency, employees) = (
            account.id,
            account.domain.clone().unwrap_or_default(),
            account.currency.clone().unwrap_or_else(|| "EUR".into()),
            account.employee_count.unwrap_or(50),
        );
        let first = *self.pick(FIRST_NAMES);
        let last = *self.pick(LAST_NAMES);
        let (email, external_id) = match &self.naming {
            Naming::Demo => {
                let local = self.unique(format!("{}.{}@{domain}", first.to_lowercase(), last.to_lowercase()));
                (local, format!("crm-{n:05}"))
            }
            Naming::Run(token) => {
                (format!("{}.{}.{n}@{domain}", first.to_lowercase(), last.to_lowercase()), format!("{token}-{n}"))
            }
        };
        let path = self.path();
        let history = self.history(path);
        let (stage, entered) = history.last();
        let created = history.created();
        let marketer = self.marketer();
        let sales = self.salesperson();
        let with_sales = history.reached(Sal).is_some();
        let lead_id = Uuid::now_v7();

        // Stage history: creation first, then every move; automatic moves by the
        // system, handover and qualification by people.
        for (i, (to, at)) in history.steps.iter().enumerate() {
            let from = i.checked_sub(1).map(|p| history.steps[p].0);
            let (reason, person) = match to {
                _ if i == 0 => ("created".to_owned(), None),
                Engaged if from == Some(Recycled) => ("re-engaged from nurture".to_owned(), Some(&marketer)),
                Engaged => ("first engagement".to_owned(), None),
                Mql => ("score crossed the MQL threshold".to_owned(), None),
                Sal => ("accepted by sales".to_owned(), Some(&sales)),
                Sql => ("qualified in a discovery call".to_owned(), Some(&sales)),
                Opportunity => ("opportunity opened".to_owned(), Some(&sales)),
                Customer => ("deal won".to_owned(), Some(&sales)),
                Recycled if from == Some(Opportunity) => ("deal lost".to_owned(), Some(&sales)),
                Recycled => {
                    ((*self.pick(RECYCLE_REASONS)).to_owned(), Some(if with_sales { &sales } else { &marketer }))
                }
                Disqualified => {
                    ((*self.pick(DISQUALIFY_REASONS)).to_owned(), Some(if with_sales { &sales } else { &marketer }))
                }
                New => ("created".to_owned(), None),
            };
            batch.transitions.push(entity::lead_stage_transition::Model {
                id: Uuid::now_v7(),
                org_id: self.org_id,
                lead_id,
                from_stage: from,
                to_stage: *to,
                actor_kind: if person.is_some() { entity::ActorKind::User } else { entity::ActorKind::System },
                actor_id: person.map(|p| p.id),
                actor_name: person.map_or_else(|| "Accord".to_owned(), |p| p.name.clone()),
                reason: Some(reason),
                at: *at,
            });
        }

        // Engagement: none while NEW; the first event is what engaged the lead.
        let end = if stage == Disqualified { entered } else { self.now };
        let mut events = 0;
        if let Some((_, first_at)) = history.steps.get(1) {
            let furthest =
                history.steps.iter().filter_map(|s| FUNNEL.iter().position(|f| *f == s.0)).max().unwrap_or(0);
            let count = match furthest {
                0 | 1 => self.rng.random_range(1..4),
                2 => self.rng.random_range(2..6),
                _ => self.rng.random_range(3..9),
            };
            for i in 0..count {
                let at = if i == 0 { *first_at } else { between(&mut self.rng, *first_at, end) };
                let kind = if i == 0 {
                    *self.pick(&[EngagementKind::WebVisit, EngagementKind::FormSubmit, EngagementKind::ContentDownload])
                } else if furthest >= 3 && i == 1 {
                    EngagementKind::DemoRequest
                } else {
                    self.weighted(&[
                        (EngagementKind::WebVisit, 6),
                        (EngagementKind::PricingPageVisit, 2),
                        (EngagementKind::EmailOpen, 5),
                        (EngagementKind::EmailClick, 3),
                        (EngagementKind::ContentDownload, 2),
                        (EngagementKind::WebinarAttended, 1),
                        (EngagementKind::EventAttended, 1),
                        (EngagementKind::TrialSignup, 1),
                    ])
                };
                let properties = match kind {
                    EngagementKind::WebVisit => json!({ "page": self.pick(PAGES) }),
                    EngagementKind::PricingPageVisit => json!({ "page": "/pricing" }),
                    EngagementKind::ContentDownload => json!({ "asset": self.pick(ASSETS) }),
                    EngagementKind::EmailOpen | EngagementKind::EmailClick | EngagementKind::WebinarAttended => {
                        json!({ "campaign": self.pick(CAMPAIGNS) })
                    }
                    _ => json!({}),
                };
                batch.events.push(entity::engagement_event::Model {
                    id: Uuid::now_v7(),
                    org_id: self.org_id,
                    lead_id,
                    kind,
                    occurred_at: at,
                    properties,
                    external_id: None,
                    created_at: at,
                });
                events += 1;
            }
        }

        // Deals: a lead that reached OPPORTUNITY has one, won, lost or still open.
        let mut opportunity_id = None;
        if let Some(opened) = history.reached(Opportunity) {
            let (deal_stage, closed_at, lost_reason) = match stage {
                Customer => (OpportunityStage::ClosedWon, history.reached(Customer), None),
                Recycled => (OpportunityStage::ClosedLost, Some(entered), Some((*self.pick(LOST_REASONS)).to_owned())),
                _ => (
                    *self.pick(&[
                        OpportunityStage::Discovery,
                        OpportunityStage::Proposal,
                        OpportunityStage::Negotiation,
                    ]),
                    None,
                    None,
                ),
            };
            let strategy =
                if self.rng.random_bool(0.15) { SalesStrategy::Substitution } else { SalesStrategy::Acquisition };
            let id = Uuid::now_v7();
            opportunity_id = Some(id);
            let company = batch.accounts[account_index].name.clone();
            let amount = self.amount(employees);
            batch.opportunities.push(self.deal(DealSpec {
                id,
                account_id,
                lead_id: Some(lead_id),
                name: format!("{company}: {}", deal_name(strategy)),
                amount,
                currency: currency.clone(),
                stage: deal_stage,
                strategy,
                owner: Some(sales.id),
                opened,
                closed_at,
                lost_reason,
            }));
            if let Some(won) = closed_at.filter(|_| stage == Customer) {
                let account = &mut batch.accounts[account_index];
                account.customer_since = Some(account.customer_since.map_or(won, |s| s.min(won)));
                account.updated_at = account.updated_at.max(won);
            }
        }

        // Activities: sales works a lead from handover on; marketing meets some
        // engaged leads at events and keeps notes.
        if let Some(accepted) = history.reached(Sal) {
            let until = match stage {
                Recycled | Disqualified => entered,
                _ => history.left(Opportunity, end),
            }
            .max(accepted);
            let count = self.rng.random_range(1..6);
            for _ in 0..count {
                let kind = self.weighted(&[
                    (ActivityKind::Call, 4),
                    (ActivityKind::Email, 4),
                    (ActivityKind::Meeting, 2),
                    (ActivityKind::Demo, 1),
                    (ActivityKind::Note, 1),
                ]);
                let at = between(&mut self.rng, accepted, until);
                let during_deal = history.reached(Opportunity).is_some_and(|o| at >= o);
                let activity = self.activity(
                    kind,
                    sales.id,
                    lead_id,
                    account_id,
                    during_deal.then_some(opportunity_id).flatten(),
                    at,
                );
                batch.activities.push(activity);
            }
        }
        if events > 0 && self.rng.random_bool(0.25) {
            let kind = *self.pick(&[ActivityKind::Event, ActivityKind::Email, ActivityKind::Note]);
            let start = history.steps.get(1).map_or(created, |s| s.1);
            let at = between(&mut self.rng, start, end);
            let activity = self.activity(kind, marketer.id, lead_id, account_id, None, at);
            batch.activities.push(activity);
        }

        let engagement_score = (f64::from(events) * 6.0).min(50.0);
        let fit_score = match employees {
            0..50 => 10.0,
            50..250 => 25.0,
            250..2000 => 40.0,
            _ => 30.0,
        } + f64::from(self.rng.random_range(0..10u8));
        let score = fit_score + engagement_score;
        let temperature = match score {
            s if s >= 70.0 => Temperature::Hot,
            s if s >= 40.0 => Temperature::Warm,
            _ => Temperature::Cold,
        };
        let source = self.weighted(SOURCES);
        let campaign = matches!(source, "webinar" | "paid_search" | "event" | "content")
            .then(|| (*self.pick(CAMPAIGNS)).to_owned());
        let phone = format!(
            "+{} {} {:07}",
            self.rng.random_range(1..50),
            self.rng.random_range(10..99),
            self.rng.random_range(0..10_000_000)
        );
        batch.scores.push(entity::lead_score::Model {
            fit_score,
            engagement_score,
            score,
            temperature,
            ..entity::lead_score::Model::unscored(lead_id, self.org_id)
        });
        batch.leads.push(entity::lead::Model {
            id: lead_id,
            org_id: self.org_id,
            account_id: Some(account_id),
            persona_id: None,
            email,
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            title: Some((*self.pick(TITLES)).to_owned()),
            phone: Some(phone),
            source: Some(source.to_owned()),
            campaign,
            external_id: Some(external_id),
            lifecycle_stage: stage,
            stage_entered_at: entered,
            owner_id: with_sales.then_some(sales.id),
            marketing_owner_id: Some(marketer.id),
            archived_at: None,
            // Every move bumped the version, as `moveLeadStage` does.
            version: history.steps.len() as i32,
            created_at: created,
            updated_at: entered,
        });
    }

    /// Deals with existing customers: renewals (retention), upsells (development) and
    /// replacing a competitor's product (substitution), in every stage.
    fn account_deals(&mut self, batch: &mut Batch, index: usize) {
        let account = &batch.accounts[index];
        let Some(since) = account.customer_since else { return };
        let (account_id, company, currency, employees, owner) = (
            account.id,
            account.name.clone(),
            account.currency.clone().unwrap_or_else(|| "EUR".into()),
            account.employee_count.unwrap_or(50),
            account.owner_id,
        );
        let deals = self.rng.random_range(1..3);
        for _ in 0..deals {
            let (strategy, slot) = match self.rng.random_range(0..3) {
                0 => (SalesStrategy::Retention, 1),
                1 => (SalesStrategy::Development, 2),
                _ => (SalesStrategy::Substitution, 3),
            };
            const STAGES: [OpportunityStage; 5] = [
                OpportunityStage::Discovery,
                OpportunityStage::Proposal,
                OpportunityStage::Negotiation,
                OpportunityStage::ClosedWon,
                OpportunityStage::ClosedLost,
            ];
            let stage = STAGES[self.next_deal_stage[slot] % STAGES.len()];
            self.next_deal_stage[slot] += 1;
            let opened = between(&mut self.rng, since, self.now);
            let closed_at = matches!(stage, OpportunityStage::ClosedWon | OpportunityStage::ClosedLost)
                .then(|| between(&mut self.rng, opened, self.now));
            let lost_reason = (stage == OpportunityStage::ClosedLost).then(|| (*self.pick(LOST_REASONS)).to_owned());
            let amount = self.amount(employees) / 3;
            let deal = self.deal(DealSpec {
                id: Uuid::now_v7(),
                account_id,
                lead_id: None,
                name: format!("{company}: {}", deal_name(strategy)),
                amount,
                currency: currency.clone(),
                stage,
                strategy,
                owner,
                opened,
                closed_at,
                lost_reason,
            });
            batch.opportunities.push(deal);
        }
    }

    /// A deal size in minor units that grows with the company.
    fn amount(&mut self, employees: i32) -> i64 {
        let base = (f64::from(employees.max(10))).sqrt() * 1_500.0;
        let amount = base * self.rng.random_range(0.5..2.0);
        (amount as i64 / 100 * 100).max(1_000) * 100
    }

    fn deal(&mut self, spec: DealSpec) -> entity::opportunity::Model {
        let expected_close = match spec.closed_at {
            Some(closed) => closed.date_naive(),
            None => (self.now + self.days(7.0, 90.0)).date_naive(),
        };
        let updated = spec.closed_at.unwrap_or(spec.opened);
        entity::opportunity::Model {
            id: spec.id,
            org_id: self.org_id,
            account_id: spec.account_id,
            lead_id: spec.lead_id,
            name: spec.name,
            amount_minor: spec.amount,
            currency: spec.currency,
            stage: spec.stage,
            strategy: spec.strategy,
            owner_id: spec.owner,
            expected_close: Some(expected_close),
            closed_at: spec.closed_at,
            lost_reason: spec.lost_reason,
            archived_at: None,
            version: 1,
            created_at: spec.opened,
            updated_at: updated,
        }
    }

    fn activity(
        &mut self,
        kind: ActivityKind,
        user_id: Uuid,
        lead_id: Uuid,
        account_id: Uuid,
        opportunity_id: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> entity::activity::Model {
        let (customer_facing, minutes, note) = match kind {
            ActivityKind::Call => (true, self.rng.random_range(10..46), "discovery call"),
            ActivityKind::Email => (false, 5, "follow-up e-mail"),
            ActivityKind::Meeting => (true, self.rng.random_range(30..61), "meeting with the buying team"),
            ActivityKind::Demo => (true, self.rng.random_range(45..91), "product demo"),
            ActivityKind::Event => (true, self.rng.random_range(60..241), "met at a conference booth"),
            ActivityKind::Note => (false, self.rng.random_range(5..11), "account research"),
        };
        entity::activity::Model {
            id: Uuid::now_v7(),
            org_id: self.org_id,
            user_id,
            lead_id: Some(lead_id),
            account_id: Some(account_id),
            opportunity_id,
            kind,
            customer_facing,
            duration_minutes: minutes,
            occurred_at: at,
            notes: Some(note.to_owned()),
            created_at: at,
        }
    }
}

struct DealSpec {
    id: Uuid,
    account_id: Uuid,
    lead_id: Option<Uuid>,
    name: String,
    amount: i64,
    currency: String,
    stage: OpportunityStage,
    strategy: SalesStrategy,
    owner: Option<Uuid>,
    opened: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    lost_reason: Option<String>,
}

fn deal_name(strategy: SalesStrategy) -> &'static str {
    match strategy {
        SalesStrategy::Acquisition => "new business",
        SalesStrategy::Retention => "renewal",
        SalesStrategy::Development => "upsell to more teams",
        SalesStrategy::Substitution => "replace the incumbent tool",
    }
}

/// A uniformly random time in `[from, to]` (`from` when the range is empty).
fn between(rng: &mut StdRng, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
    let span = (to - from).num_seconds();
    if span <= 0 {
        return from;
    }
    from + Duration::seconds(rng.random_range(0..=span))
}

fn capitalise(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leads::lifecycle::check_move;

    fn generator(naming: Naming) -> Generator {
        let person = |name: &str| Person { id: Uuid::now_v7(), name: name.into() };
        let people = People { sales: vec![person("Sam")], marketing: vec![person("Mia")] };
        Generator::new(Uuid::now_v7(), people, naming, 7, Utc::now())
    }

    #[test]
    fn every_history_follows_the_lifecycle_table_and_ends_in_the_leads_stage() {
        let mut generator = generator(Naming::Run("abc123".into()));
        let batch = generator.batch(2000);
        let window = Duration::days(HISTORY_DAYS as i64 + 1);
        for lead in &batch.leads {
            let steps: Vec<_> = batch.transitions.iter().filter(|t| t.lead_id == lead.id).collect();
            assert_eq!(steps[0].from_stage, None);
            for pair in steps.windows(2) {
                assert_eq!(pair[1].from_stage, Some(pair[0].to_stage));
                check_move(pair[0].to_stage, pair[1].to_stage).unwrap();
                assert!(pair[0].at < pair[1].at, "moves are in time order");
            }
            let last = steps.last().unwrap();
            assert_eq!((last.to_stage, last.at), (lead.lifecycle_stage, lead.stage_entered_at));
            assert!(lead.created_at > generator.now - window && lead.stage_entered_at <= generator.now);
        }
    }

    #[test]
    fn a_batch_covers_the_whole_funnel_and_all_four_strategies() {
        use sea_orm::Iterable;
        let batch = generator(Naming::Demo).batch(300);
        assert_eq!(batch.accounts.len(), 60);
        for stage in LifecycleStage::iter() {
            assert!(batch.leads.iter().any(|l| l.lifecycle_stage == stage), "{stage:?}");
        }
        for strategy in SalesStrategy::iter() {
            assert!(batch.opportunities.iter().any(|o| o.strategy == strategy), "{strategy:?}");
        }
        for stage in OpportunityStage::iter() {
            assert!(batch.opportunities.iter().any(|o| o.stage == stage), "{stage:?}");
        }
        let emails: HashSet<_> = batch.leads.iter().map(|l| &l.email).collect();
        assert_eq!(emails.len(), batch.leads.len());
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let a = generator(Naming::Demo).batch(50);
        let b = generator(Naming::Demo).batch(50);
        let key = |batch: &Batch| batch.leads.iter().map(|l| (l.email.clone(), l.lifecycle_stage)).collect::<Vec<_>>();
        assert_eq!(key(&a), key(&b));
    }
}
