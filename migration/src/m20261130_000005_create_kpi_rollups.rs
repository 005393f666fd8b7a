//! Daily KPI rollups: each additive metric's numerator and denominator per local day
//! of the organization, so a dashboard adds up a few hundred rows instead of counting
//! a million facts. Correctness comes from dirty marks: triggers on every table a
//! rolled-up fact reads write the instants whose days a change may alter (for a lead
//! or a stage transition: the lead's creation and every transition of the lead, since
//! conversions and archiving change facts of earlier days). Readers compute marked
//! days live; the worker recomputes them into the rollup and removes the marks it read.
//! Triggers rather than application code, so that no write path (import, seed, SQL by
//! an operator) can leave a stale figure. A session that sets `accord.kpi_marks` to
//! `off` (the bulk seed, which then discards the organization's rollup) skips them.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{index, org_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// PostgreSQL: one function per source table, row triggers that a `WHEN` skips without
/// a function call when nothing a fact reads changed (rescoring updates every lead).
const POSTGRES_UP: &str = r#"
-- PL/pgSQL, not SQL: a SQL function's INSERT is planned again on every call, which
-- made lead imports 50 % slower; PL/pgSQL keeps the plan for the session.
CREATE FUNCTION kpi_mark_lead_facts(org UUID, lead UUID) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO kpi_dirty_marks (org_id, at)
  SELECT org_id, created_at FROM leads WHERE id = lead
  UNION SELECT org_id, at FROM lead_stage_transitions WHERE org_id = org AND lead_id = lead;
END $f$;

CREATE FUNCTION kpi_mark_lead() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO kpi_dirty_marks (org_id, at) VALUES (OLD.org_id, OLD.created_at);
    PERFORM kpi_mark_lead_facts(OLD.org_id, OLD.id);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO kpi_dirty_marks (org_id, at) VALUES (NEW.org_id, NEW.created_at);
  END IF;
  RETURN NULL;
END $f$;

CREATE FUNCTION kpi_mark_transition() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO kpi_dirty_marks (org_id, at) VALUES (OLD.org_id, OLD.at);
    PERFORM kpi_mark_lead_facts(OLD.org_id, OLD.lead_id);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    -- The new row is visible here, so the lead's facts include its instant.
    PERFORM kpi_mark_lead_facts(NEW.org_id, NEW.lead_id);
  END IF;
  RETURN NULL;
END $f$;

CREATE FUNCTION kpi_mark_opportunity() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO kpi_dirty_marks (org_id, at)
    SELECT OLD.org_id, x FROM (VALUES (OLD.created_at), (OLD.closed_at)) v(x) WHERE x IS NOT NULL;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO kpi_dirty_marks (org_id, at)
    SELECT NEW.org_id, x FROM (VALUES (NEW.created_at), (NEW.closed_at)) v(x) WHERE x IS NOT NULL;
  END IF;
  RETURN NULL;
END $f$;

CREATE FUNCTION kpi_mark_activity() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO kpi_dirty_marks (org_id, at) VALUES (OLD.org_id, OLD.occurred_at);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO kpi_dirty_marks (org_id, at) VALUES (NEW.org_id, NEW.occurred_at);
  END IF;
  RETURN NULL;
END $f$;

CREATE FUNCTION kpi_mark_handover() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO kpi_dirty_marks (org_id, at)
    SELECT OLD.org_id, x FROM (VALUES (OLD.handed_at), (OLD.responded_at)) v(x) WHERE x IS NOT NULL;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO kpi_dirty_marks (org_id, at)
    SELECT NEW.org_id, x FROM (VALUES (NEW.handed_at), (NEW.responded_at)) v(x) WHERE x IS NOT NULL;
  END IF;
  RETURN NULL;
END $f$;

CREATE TRIGGER kpi_mark_leads AFTER INSERT OR DELETE ON leads FOR EACH ROW
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION kpi_mark_lead();
CREATE TRIGGER kpi_mark_leads_update AFTER UPDATE OF archived_at, created_at ON leads FOR EACH ROW
  WHEN ((OLD.archived_at IS DISTINCT FROM NEW.archived_at OR OLD.created_at IS DISTINCT FROM NEW.created_at)
        AND current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off')
  EXECUTE FUNCTION kpi_mark_lead();
CREATE TRIGGER kpi_mark_transitions AFTER INSERT OR UPDATE OR DELETE ON lead_stage_transitions FOR EACH ROW
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION kpi_mark_transition();
CREATE TRIGGER kpi_mark_opportunities AFTER INSERT OR UPDATE OR DELETE ON opportunities FOR EACH ROW
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION kpi_mark_opportunity();
CREATE TRIGGER kpi_mark_activities AFTER INSERT OR UPDATE OR DELETE ON activities FOR EACH ROW
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION kpi_mark_activity();
CREATE TRIGGER kpi_mark_handovers AFTER INSERT OR UPDATE OR DELETE ON handovers FOR EACH ROW
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION kpi_mark_handover();
"#;

const POSTGRES_DOWN: &str = r#"
DROP TRIGGER kpi_mark_leads ON leads;
DROP TRIGGER kpi_mark_leads_update ON leads;
DROP TRIGGER kpi_mark_transitions ON lead_stage_transitions;
DROP TRIGGER kpi_mark_opportunities ON opportunities;
DROP TRIGGER kpi_mark_activities ON activities;
DROP TRIGGER kpi_mark_handovers ON handovers;
DROP FUNCTION kpi_mark_lead();
DROP FUNCTION kpi_mark_transition();
DROP FUNCTION kpi_mark_opportunity();
DROP FUNCTION kpi_mark_activity();
DROP FUNCTION kpi_mark_handover();
DROP FUNCTION kpi_mark_lead_facts(UUID, UUID);
"#;

/// The lead's creation and every transition of the lead (SQLite triggers have no
/// functions, so each trigger repeats it for its `OLD`/`NEW` row).
fn sqlite_lead_facts(row: &str, lead: &str) -> String {
    format!(
        "INSERT INTO kpi_dirty_marks (org_id, at) SELECT org_id, created_at FROM leads WHERE id = {row}.{lead} \
         UNION SELECT org_id, at FROM lead_stage_transitions WHERE org_id = {row}.org_id AND lead_id = {row}.{lead};"
    )
}

/// Marks of `columns` of the `row` (`OLD` or `NEW`), skipping NULLs.
fn sqlite_marks(row: &str, columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| {
            format!(
                "INSERT INTO kpi_dirty_marks (org_id, at) SELECT {row}.org_id, {row}.{c} WHERE {row}.{c} IS NOT NULL;"
            )
        })
        .collect()
}

/// SQLite: a trigger per table and operation.
fn sqlite_triggers() -> Vec<String> {
    let mut sql = vec![];
    let mut trigger = |name: &str, event: &str, table: &str, when: &str, body: String| {
        sql.push(format!("CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW {when} BEGIN {body} END"));
    };
    trigger("kpi_mark_leads_insert", "INSERT", "leads", "", sqlite_marks("NEW", &["created_at"]));
    trigger(
        "kpi_mark_leads_update",
        "UPDATE OF archived_at, created_at",
        "leads",
        "WHEN OLD.archived_at IS NOT NEW.archived_at OR OLD.created_at IS NOT NEW.created_at",
        format!(
            "{}{}{}",
            sqlite_marks("OLD", &["created_at"]),
            sqlite_marks("NEW", &["created_at"]),
            sqlite_lead_facts("NEW", "id")
        ),
    );
    trigger(
        "kpi_mark_leads_delete",
        "DELETE",
        "leads",
        "",
        format!("{}{}", sqlite_marks("OLD", &["created_at"]), sqlite_lead_facts("OLD", "id")),
    );
    let tables: [(&str, &str, &[&str]); 4] = [
        ("transitions", "lead_stage_transitions", &["at"]),
        ("opportunities", "opportunities", &["created_at", "closed_at"]),
        ("activities", "activities", &["occurred_at"]),
        ("handovers", "handovers", &["handed_at", "responded_at"]),
    ];
    for (short, table, columns) in tables {
        let with_lead = |row: &str| {
            let mut body = sqlite_marks(row, columns);
            if short == "transitions" {
                body.push_str(&sqlite_lead_facts(row, "lead_id"));
            }
            body
        };
        trigger(&format!("kpi_mark_{short}_insert"), "INSERT", table, "", with_lead("NEW"));
        trigger(
            &format!("kpi_mark_{short}_update"),
            "UPDATE",
            table,
            "",
            format!("{}{}", with_lead("OLD"), with_lead("NEW")),
        );
        trigger(&format!("kpi_mark_{short}_delete"), "DELETE", table, "", with_lead("OLD"));
    }
    sql
}

fn sqlite_trigger_names() -> Vec<String> {
    let mut names: Vec<String> =
        ["kpi_mark_leads_insert", "kpi_mark_leads_update", "kpi_mark_leads_delete"].map(String::from).to_vec();
    for short in ["transitions", "opportunities", "activities", "handovers"] {
        for op in ["insert", "update", "delete"] {
            names.push(format!("kpi_mark_{short}_{op}"));
        }
    }
    names
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KpiRollups::Table)
                    .col(uuid(KpiRollups::OrgId))
                    .col(string(KpiRollups::Metric))
                    .col(date(KpiRollups::Day))
                    .col(double(KpiRollups::Num))
                    .col(double(KpiRollups::Den))
                    .primary_key(Index::create().col(KpiRollups::OrgId).col(KpiRollups::Metric).col(KpiRollups::Day))
                    .foreign_key(&mut org_fk(KpiRollups::Table, KpiRollups::OrgId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KpiRollupStates::Table)
                    .col(uuid(KpiRollupStates::OrgId).primary_key())
                    .col(string(KpiRollupStates::Definition))
                    .col(string(KpiRollupStates::TimeZone))
                    .col(string(KpiRollupStates::Currency))
                    .col(timestamp_with_time_zone(KpiRollupStates::BuiltAt))
                    .col(timestamp_with_time_zone(KpiRollupStates::RefreshedAt))
                    .foreign_key(&mut org_fk(KpiRollupStates::Table, KpiRollupStates::OrgId))
                    .to_owned(),
            )
            .await?;
        // No foreign key: marks are written by triggers, also while an organization's
        // rows are deleted; the worker drops marks of organizations that are gone.
        manager
            .create_table(
                Table::create()
                    .table(KpiDirtyMarks::Table)
                    .col(big_integer(KpiDirtyMarks::Id).auto_increment().primary_key())
                    .col(uuid(KpiDirtyMarks::OrgId))
                    .col(timestamp_with_time_zone(KpiDirtyMarks::At))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_kpi_dirty_marks_org_at",
            KpiDirtyMarks::Table,
            &[KpiDirtyMarks::OrgId, KpiDirtyMarks::At],
            false,
        )
        .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(POSTGRES_UP).await?;
            }
            _ => {
                for trigger in sqlite_triggers() {
                    db.execute_unprepared(&trigger).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(POSTGRES_DOWN).await?;
            }
            _ => {
                for name in sqlite_trigger_names() {
                    db.execute_unprepared(&format!("DROP TRIGGER {name}")).await?;
                }
            }
        }
        manager.drop_table(Table::drop().table(KpiDirtyMarks::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(KpiRollupStates::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(KpiRollups::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum KpiRollups {
    Table,
    OrgId,
    Metric,
    Day,
    Num,
    Den,
}

#[derive(DeriveIden, Clone, Copy)]
enum KpiRollupStates {
    Table,
    OrgId,
    Definition,
    TimeZone,
    Currency,
    BuiltAt,
    RefreshedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum KpiDirtyMarks {
    Table,
    Id,
    OrgId,
    At,
}
