//! SLA titles in words ("Sales answers handovers from Marketing within 24 hours,
//! measured monthly") in place of the enum names they were built from ("SALES →
//! MARKETING: HANDOVERRESPONSEHOURS AT MOST 24 PER MONTH"). New versions get the new
//! title from `SlaBody::title` in `api`; this rewrites the stored ones once, from each
//! SLA's newest version (the version a title is computed from). The wording is a copy
//! frozen here, so later changes in `api` never rewrite history; a test in `tests/`
//! checks both agree today. Not reversible: the old titles are not kept.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{FromQueryResult, JsonValue, Statement};
use uuid::Uuid;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(FromQueryResult)]
struct Sla {
    id: Uuid,
    body: JsonValue,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let select = "SELECT d.id AS id, v.body AS body FROM documents d JOIN document_versions v \
                      ON v.document_id = d.id AND v.version = d.latest_version WHERE d.kind = 'SLA'";
        let slas =
            Sla::find_by_statement(Statement::from_string(manager.get_database_backend(), select)).all(db).await?;
        for sla in slas {
            // A body this code cannot read keeps its title rather than failing the upgrade.
            let Some(title) = sla_title(&sla.body) else { continue };
            let update = Query::update()
                .table(Alias::new("documents"))
                .value(Alias::new("title"), title)
                .and_where(Expr::col(Alias::new("id")).eq(sla.id))
                .to_owned();
            manager.exec_stmt(update).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

/// The title of an SLA body as stored (`providerTeam`, `metric`, … in their JSON form).
pub fn sla_title(body: &JsonValue) -> Option<String> {
    let team = |field: &str| -> Option<&'static str> {
        Some(match body[field].as_str()? {
            "MARKETING" => "Marketing",
            "SALES" => "Sales",
            "SERVICE" => "Service",
            "REVOPS" => "RevOps",
            "LEADERSHIP" => "Leadership",
            _ => return None,
        })
    };
    let (provider, consumer) = (team("providerTeam")?, team("consumerTeam")?);
    let (adverb, per) = match body["period"].as_str()? {
        "WEEK" => ("weekly", "a week"),
        "MONTH" => ("monthly", "a month"),
        "QUARTER" => ("quarterly", "a quarter"),
        _ => return None,
    };
    let target = body["target"].as_f64()?;
    let amount = |singular: &str, plural: &str| {
        let number = if target.fract() == 0.0 {
            let whole = format!("{target:.0}");
            let len = whole.len();
            whole.char_indices().fold(String::new(), |mut text, (i, c)| {
                if i > 0 && (len - i) % 3 == 0 {
                    text.push(',');
                }
                text.push(c);
                text
            })
        } else {
            format!("{target:.2}").trim_end_matches('0').to_owned()
        };
        format!("{number} {}", if target == 1.0 { singular } else { plural })
    };
    Some(match body["metric"].as_str()? {
        "HANDOVER_RESPONSE_HOURS" => {
            format!(
                "{provider} answers handovers from {consumer} within {}, measured {adverb}",
                amount("hour", "hours")
            )
        }
        "FIRST_TOUCH_HOURS" => format!(
            "{provider} contacts the leads it accepted from {consumer} within {}, measured {adverb}",
            amount("hour", "hours")
        ),
        "MQL_VOLUME" => format!("{provider} delivers at least {} {per} to {consumer}", amount("MQL", "MQLs")),
        "SQL_VOLUME" => format!("{provider} delivers at least {} {per} to {consumer}", amount("SQL", "SQLs")),
        "CUSTOMER_FACING_HOURS_PER_MEMBER" => {
            format!("Each {provider} member spends at least {} {per} with customers", amount("hour", "hours"))
        }
        "FEEDBACK_RESPONSE_DAYS" => {
            format!(
                "{provider} responds to feedback from {consumer} within {}, measured {adverb}",
                amount("day", "days")
            )
        }
        _ => return None,
    })
}
