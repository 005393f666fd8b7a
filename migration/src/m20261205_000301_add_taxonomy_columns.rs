//! Agreed word lists (feedback tags, hand-back and lost reasons, competitors) need to
//! keep what was written beside what it maps to, so a list agreed later can re-map:
//! - `feedback.written_tag` (the tag as its author wrote it, normalised) and
//!   `feedback.tag_listed` (whether the agreed tag list knew it; null without a list);
//!   `feedback.tag` stays the theme key.
//! - `opportunities.lost_note`, `competitor`, `competitor_written`, `competitor_listed`.
//!
//! `opportunities.lost_reason` becomes a code of the LOST_REASONS list. Free texts
//! written before map onto the default list as it stood when this landed (frozen here):
//! a code or synonym becomes its code, anything else becomes OTHER with the text moved
//! to `lost_note`. The PostgreSQL `bi.opportunities` view gains `competitor`.
//! SQLite alters one column per statement.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement, TryGetable};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The default LOST_REASONS list when this landed: code and synonyms.
const LOST_REASONS: &[(&str, &[&str])] = &[
    ("PRICE", &["too expensive"]),
    ("COMPETITOR", &["chose a competitor", "lost to competitor"]),
    ("NO_DECISION", &["went dark", "status quo"]),
    ("TIMING", &["bad timing"]),
    ("NO_BUDGET", &["budget cut"]),
    ("PRODUCT_GAP", &["missing integration", "missing feature"]),
    ("OTHER", &[]),
];

fn fold(value: &str) -> String {
    value
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

fn code_of(text: &str) -> Option<&'static str> {
    let folded = fold(text);
    LOST_REASONS
        .iter()
        .find(|(code, synonyms)| fold(code) == folded || synonyms.iter().any(|s| fold(s) == folded))
        .map(|(code, _)| *code)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let feedback = [
            ColumnDef::new(Feedback::WrittenTag).string_len(64).not_null().default("").to_owned(),
            ColumnDef::new(Feedback::TagListed).boolean().null().to_owned(),
        ];
        for mut column in feedback {
            manager.alter_table(Table::alter().table(Feedback::Table).add_column(&mut column).to_owned()).await?;
        }
        let opportunities = [
            ColumnDef::new(Opportunities::LostNote).text().null().to_owned(),
            ColumnDef::new(Opportunities::Competitor).string_len(100).null().to_owned(),
            ColumnDef::new(Opportunities::CompetitorWritten).string_len(100).null().to_owned(),
            ColumnDef::new(Opportunities::CompetitorListed).boolean().null().to_owned(),
        ];
        for mut column in opportunities {
            manager.alter_table(Table::alter().table(Opportunities::Table).add_column(&mut column).to_owned()).await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE feedback SET written_tag = tag").await?;

        let backend = manager.get_database_backend();
        let distinct = Statement::from_string(
            backend,
            "SELECT DISTINCT lost_reason FROM opportunities WHERE lost_reason IS NOT NULL".to_owned(),
        );
        for row in db.query_all_raw(distinct).await? {
            let text: String = String::try_get_by(&row, 0usize).map_err(|e| DbErr::Custom(format!("{e:?}")))?;
            let (code, note) = match code_of(&text) {
                Some(code) => (code, None),
                None => ("OTHER", Some(text.clone())),
            };
            let (p1, p2, p3) = match backend {
                DbBackend::Postgres => ("$1", "$2", "$3"),
                _ => ("?", "?", "?"),
            };
            let update = Statement::from_sql_and_values(
                backend,
                format!("UPDATE opportunities SET lost_reason = {p1}, lost_note = {p2} WHERE lost_reason = {p3}"),
                [code.into(), note.into(), text.into()],
            );
            db.execute_raw(update).await?;
        }

        if backend == DbBackend::Postgres {
            db.execute_unprepared(
                r#"CREATE OR REPLACE VIEW bi.opportunities AS
SELECT o.id, o.org_id, o.account_id, o.lead_id, o.name, o.amount_minor, o.currency, o.stage, o.strategy,
       o.owner_id, o.expected_close, o.closed_at, o.lost_reason, o.archived_at, o.created_at, o.updated_at,
       o.competitor
FROM public.opportunities o;
COMMENT ON COLUMN bi.opportunities.lost_reason IS 'Code of the lost reason of a CLOSED_LOST deal, from the LOST_REASONS list in force when it closed (such as PRICE or COMPETITOR).';
COMMENT ON COLUMN bi.opportunities.competitor IS 'The competitor a lost deal went to: the code of its COMPETITORS entry when the agreed list knows it, else the name as written.';"#,
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "DROP VIEW bi.opportunities; CREATE VIEW bi.opportunities AS \
                     SELECT o.id, o.org_id, o.account_id, o.lead_id, o.name, o.amount_minor, o.currency, o.stage, \
                     o.strategy, o.owner_id, o.expected_close, o.closed_at, o.lost_reason, o.archived_at, \
                     o.created_at, o.updated_at FROM public.opportunities o",
                )
                .await?;
        }
        for column in [
            Opportunities::CompetitorListed,
            Opportunities::CompetitorWritten,
            Opportunities::Competitor,
            Opportunities::LostNote,
        ] {
            manager.alter_table(Table::alter().table(Opportunities::Table).drop_column(column).to_owned()).await?;
        }
        for column in [Feedback::TagListed, Feedback::WrittenTag] {
            manager.alter_table(Table::alter().table(Feedback::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Feedback {
    Table,
    WrittenTag,
    TagListed,
}

#[derive(DeriveIden)]
enum Opportunities {
    Table,
    LostNote,
    Competitor,
    CompetitorWritten,
    CompetitorListed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_texts_map_to_codes_by_code_or_synonym() {
        assert_eq!(code_of("price"), Some("PRICE"));
        assert_eq!(code_of("Chose a competitor"), Some("COMPETITOR"));
        assert_eq!(code_of("missing integration"), Some("PRODUCT_GAP"));
        assert_eq!(code_of("no decision"), Some("NO_DECISION"));
        assert_eq!(code_of("the CFO left"), None);
    }
}
