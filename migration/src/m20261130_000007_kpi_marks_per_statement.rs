//! PostgreSQL: KPI dirty marks for inserted leads, stage transitions and activities
//! are written once per statement instead of once per row. An import of 1,000 leads
//! called the row triggers' functions 2,000 times and wrote about 3,000 marks (about
//! 0.2 ms a lead), though the rows of one statement share their instants: statement
//! triggers with a transition table write each distinct instant once. Updates and
//! deletes keep their row triggers (PostgreSQL allows no transition table with a
//! column list, and they are rare). SQLite has no statement triggers; it keeps its own.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE FUNCTION kpi_mark_leads_inserted() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO kpi_dirty_marks (org_id, at) SELECT DISTINCT org_id, created_at FROM inserted;
  RETURN NULL;
END $f$;

-- A new transition changes the conversion facts of every earlier stage of its lead:
-- mark the lead's creation and all its transitions (the new rows are visible here).
CREATE FUNCTION kpi_mark_transitions_inserted() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO kpi_dirty_marks (org_id, at)
  SELECT l.org_id, l.created_at FROM leads l JOIN (SELECT DISTINCT lead_id FROM inserted) i ON l.id = i.lead_id
  UNION
  SELECT t.org_id, t.at FROM lead_stage_transitions t
  JOIN (SELECT DISTINCT org_id, lead_id FROM inserted) i ON t.org_id = i.org_id AND t.lead_id = i.lead_id;
  RETURN NULL;
END $f$;

CREATE FUNCTION kpi_mark_activities_inserted() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO kpi_dirty_marks (org_id, at) SELECT DISTINCT org_id, occurred_at FROM inserted;
  RETURN NULL;
END $f$;

DROP TRIGGER kpi_mark_leads ON leads;
CREATE TRIGGER kpi_mark_leads AFTER DELETE ON leads FOR EACH ROW
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION kpi_mark_lead();
CREATE TRIGGER kpi_mark_leads_insert AFTER INSERT ON leads REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION kpi_mark_leads_inserted();

DROP TRIGGER kpi_mark_transitions ON lead_stage_transitions;
CREATE TRIGGER kpi_mark_transitions AFTER UPDATE OR DELETE ON lead_stage_transitions FOR EACH ROW
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION kpi_mark_transition();
CREATE TRIGGER kpi_mark_transitions_insert AFTER INSERT ON lead_stage_transitions
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off')
  EXECUTE FUNCTION kpi_mark_transitions_inserted();

DROP TRIGGER kpi_mark_activities ON activities;
CREATE TRIGGER kpi_mark_activities AFTER UPDATE OR DELETE ON activities FOR EACH ROW
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION kpi_mark_activity();
CREATE TRIGGER kpi_mark_activities_insert AFTER INSERT ON activities REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off')
  EXECUTE FUNCTION kpi_mark_activities_inserted();
"#;

const DOWN: &str = r#"
DROP TRIGGER kpi_mark_leads_insert ON leads;
DROP TRIGGER kpi_mark_leads ON leads;
CREATE TRIGGER kpi_mark_leads AFTER INSERT OR DELETE ON leads FOR EACH ROW
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION kpi_mark_lead();
DROP TRIGGER kpi_mark_transitions_insert ON lead_stage_transitions;
DROP TRIGGER kpi_mark_transitions ON lead_stage_transitions;
CREATE TRIGGER kpi_mark_transitions AFTER INSERT OR UPDATE OR DELETE ON lead_stage_transitions FOR EACH ROW
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION kpi_mark_transition();
DROP TRIGGER kpi_mark_activities_insert ON activities;
DROP TRIGGER kpi_mark_activities ON activities;
CREATE TRIGGER kpi_mark_activities AFTER INSERT OR UPDATE OR DELETE ON activities FOR EACH ROW
  WHEN (current_setting('accord.kpi_marks', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION kpi_mark_activity();
DROP FUNCTION kpi_mark_leads_inserted();
DROP FUNCTION kpi_mark_transitions_inserted();
DROP FUNCTION kpi_mark_activities_inserted();
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared(UP).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared(DOWN).await?;
        }
        Ok(())
    }
}
