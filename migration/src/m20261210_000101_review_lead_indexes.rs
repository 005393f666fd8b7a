//! The leads table's indexes, reviewed (#29): every new lead maintained seventeen, and
//! most imported leads have no owner, marketing owner, persona, campaign or external id.
//! Indexes on those columns serve only `column = value` lookups, so they become partial
//! (`WHERE column IS NOT NULL`), which a lead without the value skips; both databases
//! use a partial index for any comparison on its column. The two indexes on
//! `(org_id, created_at, id)`, one of them for live leads only, become one that also
//! holds `archived_at`: lists by creation and the live-lead KPI counts read it alike.
//! Which query each index serves is in docs/performance.md.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (index, `UNIQUE ` or not, column): each on `(org_id, column)`, partial on the column being set.
const PARTIAL: &[(&str, &str, &str)] = &[
    ("ix_leads_org_owner", "", "owner_id"),
    ("ix_leads_org_marketing_owner", "", "marketing_owner_id"),
    ("ix_leads_org_persona", "", "persona_id"),
    ("ix_leads_org_account", "", "account_id"),
    ("ix_leads_org_campaign", "", "campaign"),
    ("ix_leads_org_source", "", "source"),
    ("ux_leads_org_external_id", "UNIQUE ", "external_id"),
];

// Each migration's statements go in one call: on SQLite, a name dropped through one pooled
// connection could still be taken on another one.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut sql = String::new();
        for (name, unique, column) in PARTIAL {
            sql += &format!(
                "DROP INDEX {name}; CREATE {unique}INDEX {name} ON leads (org_id, {column}) WHERE {column} IS NOT NULL;\n"
            );
        }
        sql += "DROP INDEX ix_leads_org_created_live; DROP INDEX ix_leads_org_created;\n\
                CREATE INDEX ix_leads_org_created ON leads (org_id, created_at, id, archived_at);";
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut sql = String::from(
            "DROP INDEX ix_leads_org_created;\n\
             CREATE INDEX ix_leads_org_created ON leads (org_id, created_at, id);\n\
             CREATE INDEX ix_leads_org_created_live ON leads (org_id, created_at, id) WHERE archived_at IS NULL;\n",
        );
        for (name, unique, column) in PARTIAL {
            sql += &format!("DROP INDEX {name}; CREATE {unique}INDEX {name} ON leads (org_id, {column});\n");
        }
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }
}
