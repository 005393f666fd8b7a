//! Synthetic revenue data: accounts, leads with a plausible lifecycle history,
//! engagement events, activities and opportunities of all four sales strategies.
//!
//! The demo seed uses it for a few hundred leads; `accord seed --leads N` for
//! millions. Generation is deterministic for a given RNG seed, and every history is
//! consistent: each lead's transitions follow the lifecycle table, start with its
//! creation, and end in its `lifecycle_stage` at its `stage_entered_at`, all within
//! the last nine months. On PostgreSQL a large run is one transaction of `COPY`s
//! (see `load.rs`); SQLite takes multi-row `INSERT`s, one transaction per chunk.

mod generator;
mod load;
mod words;

use std::time::Instant;

use chrono::Utc;
use entity::Team;
use indicatif::ProgressBar;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use uuid::Uuid;

use crate::auth::Actor;
use crate::db::dialect;
use crate::db::insert_all;
use crate::db::sql::Sql;
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};

pub use generator::Generator;
use load::*;
pub use words::CAMPAIGNS;

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
    let counts = if dialect::is_postgres(db) {
        load_postgres(db.get_postgres_connection_pool(), generator, leads, progress, started).await?
    } else {
        // As on PostgreSQL, generated rows skip the KPI rollup's dirty marks (one per
        // fact and stage: half the cost of the load) and the organization's rollup is
        // discarded instead. SQLite has no session switch for triggers, but its DDL is
        // transactional: each chunk drops them and puts them back before it commits.
        let triggers = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
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
            txn.execute_raw(forget.build(txn.get_database_backend())).await?;
            txn.commit().await?;
            remaining -= size as u64;
            progress.inc(size as u64);
            progress.set_message(rate(&counts, started));
        }
        counts
    };
    exchange_rates(db, org_id).await?;
    // Pricing the generated deals marked their days; the rollup is rebuilt whole anyway.
    let mut forget = Sql::new();
    forget.push("DELETE FROM kpi_dirty_marks WHERE org_id = ").bind(org_id);
    db.execute_raw(forget.build(db.get_database_backend())).await?;
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

/// Monthly exchange rates into the organization's reporting currency for the
/// generated currencies, from before the generated history to now, unless the
/// organization has rates already: so every money figure of generated data converts.
pub async fn exchange_rates(db: &sea_orm::DatabaseConnection, org_id: Uuid) -> Result<()> {
    use chrono::Datelike;
    let actor = Actor::system(org_id);
    if !crate::org::exchange_rates::list(db, &actor, None, 1).await?.is_empty() {
        return Ok(());
    }
    let quote = crate::org::settings(db, org_id).await?.reporting_currency;
    let today = Utc::now().date_naive();
    let first = today - chrono::Duration::days(HISTORY_DAYS as i64 + 90);
    let mut month = chrono::NaiveDate::from_ymd_opt(first.year(), first.month(), 1).unwrap_or(first);
    let mut rates = Vec::new();
    let mut i = 0;
    while month <= today {
        // USD per EUR drifts between 0.90 and 0.94 by month; the reverse is its inverse.
        let usd_in_eur = 0.90 + 0.01 * f64::from(i % 5);
        for (currency, rate) in [("USD", usd_in_eur), ("EUR", 1.0 / usd_in_eur)] {
            if currency != quote {
                rates.push(crate::org::exchange_rates::NewRate { currency: currency.into(), valid_from: month, rate });
            }
        }
        month = month.checked_add_months(chrono::Months::new(1)).unwrap_or(today.succ_opt().unwrap_or(today));
        i += 1;
    }
    if !rates.is_empty() {
        crate::org::exchange_rates::set(db, &actor, rates).await?;
    }
    Ok(())
}

fn rate(counts: &Counts, started: Instant) -> String {
    format!("{:.0} rows/s", counts.rows() as f64 / started.elapsed().as_secs_f64().max(0.001))
}

/// Write a batch with multi-row `INSERT`s inside the caller's transaction.
pub async fn insert(txn: &impl ConnectionTrait, mut batch: Batch) -> Result<()> {
    // Personas by the matcher every lead write uses, against the personas agreed now.
    if let Some(org_id) = batch.leads.first().map(|l| l.org_id) {
        let matcher = crate::personas::matching::Matcher::of_org(txn, org_id).await?;
        for lead in batch.leads.iter_mut().filter(|l| !l.persona_manual) {
            let found = crate::leads::persona_match::Assignment::of(matcher.match_title(lead.title.as_deref()));
            lead.persona_id = found.persona_id;
            lead.persona_keyword = found.keyword;
            lead.persona_candidates = found.candidates;
        }
    }
    insert_all::<entity::account::ActiveModel, _>(txn, batch.accounts).await?;
    insert_all::<entity::lead::ActiveModel, _>(txn, batch.leads).await?;
    insert_all::<entity::lead_score::ActiveModel, _>(txn, batch.scores).await?;
    insert_all::<entity::opportunity::ActiveModel, _>(txn, batch.opportunities).await?;
    insert_all::<entity::lead_stage_transition::ActiveModel, _>(txn, batch.transitions).await?;
    insert_all::<entity::engagement_event::ActiveModel, _>(txn, batch.events).await?;
    insert_all::<entity::activity::ActiveModel, _>(txn, batch.activities).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::Duration;
    use entity::{LifecycleStage, OpportunityStage, SalesStrategy};

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
