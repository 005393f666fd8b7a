//! The bulk import of leads for integration partners.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};

use super::LifecycleStage;
use crate::error::Result;
use crate::graphql::{actor, db};
use crate::leads::import::{self, ImportRow, MatchOn};

/// Which field identifies an existing lead in an import.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "MatchOn")]
pub enum ImportMatchOn {
    /// The partner's id of the lead (`externalId`).
    ExternalId,
    /// The e-mail address.
    Email,
}

/// One row of an import: lead columns, and company columns that match or create its account.
#[derive(InputObject)]
pub struct ImportLeadRow {
    /// E-mail address (required for new leads, and for matching by EMAIL).
    pub email: Option<String>,
    /// Your id of the lead (required for matching by EXTERNAL_ID).
    pub external_id: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Where the lead came from.
    pub source: Option<String>,
    /// The campaign that brought the lead.
    pub campaign: Option<String>,
    /// Starting stage of a new lead (default NEW); ignored for existing leads.
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Company name, used when the account is created.
    pub company: Option<String>,
    /// Company domain: the account with it is used, or created.
    pub domain: Option<String>,
    /// Industry of a created account.
    pub industry: Option<String>,
    /// Employees of a created account, 0 to 10,000,000.
    pub employee_count: Option<i32>,
    /// Region of a created account.
    pub region: Option<String>,
}

/// The domain's import row: the same fields under the same names.
impl From<ImportLeadRow> for ImportRow {
    fn from(row: ImportLeadRow) -> Self {
        Self {
            email: row.email,
            external_id: row.external_id,
            first_name: row.first_name,
            last_name: row.last_name,
            title: row.title,
            phone: row.phone,
            source: row.source,
            campaign: row.campaign,
            lifecycle_stage: row.lifecycle_stage.map(Into::into),
            company: row.company,
            domain: row.domain,
            industry: row.industry,
            employee_count: row.employee_count,
            region: row.region,
        }
    }
}

/// Up to 1,000 rows to upsert.
#[derive(InputObject)]
pub struct ImportLeadsInput {
    /// The rows.
    pub rows: Vec<ImportLeadRow>,
    /// How existing leads are found (default EMAIL).
    #[graphql(default_with = "ImportMatchOn::Email")]
    pub match_on: ImportMatchOn,
    /// Report what would happen without storing anything (default false).
    #[graphql(default)]
    pub dry_run: bool,
}

/// What happened to an imported row.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "import::RowStatus")]
pub enum ImportRowStatus {
    /// A new lead was created.
    Created,
    /// An existing lead was changed.
    Updated,
    /// An existing lead already had these values.
    Unchanged,
    /// The same lead as an earlier row of the call (e-mails compared
    /// case-insensitively; see `message`): skipped, whatever its values.
    Duplicate,
    /// The row was refused; see `message` and `field`. Other rows are unaffected.
    Error,
}

/// The outcome of one row.
#[derive(SimpleObject)]
pub struct ImportLeadResult {
    /// Number of the row in `rows`, counted from 1 (the first row is 1), as
    /// spreadsheets and `accord import`'s error file count.
    pub row: i32,
    /// What happened.
    pub status: ImportRowStatus,
    /// The lead created, changed or matched.
    pub lead_id: Option<ID>,
    /// Why the row was refused.
    pub message: Option<String>,
    /// The column at fault.
    pub field: Option<String>,
}

/// The outcome of an import.
#[derive(SimpleObject)]
pub struct ImportLeadsPayload {
    /// One result per row, in order.
    pub results: Vec<ImportLeadResult>,
    /// Rows that created a lead.
    pub created: i32,
    /// Rows that changed a lead.
    pub updated: i32,
    /// Rows that matched a lead with the same values.
    pub unchanged: i32,
    /// Rows skipped as the same lead as an earlier row.
    pub duplicates: i32,
    /// Rows refused.
    pub errors: i32,
    /// True when nothing was stored (`dryRun`).
    pub dry_run: bool,
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Upsert up to 1,000 leads: a result per row; a bad row never affects the others;
    /// repeating a call changes nothing.
    async fn import_leads(&self, ctx: &Context<'_>, input: ImportLeadsInput) -> Result<ImportLeadsPayload> {
        let rows = input.rows.into_iter().map(ImportRow::from).collect();
        let results = import::import(db(ctx), actor(ctx)?, rows, input.match_on.into(), input.dry_run).await?;
        let tally = |s: import::RowStatus| results.iter().filter(|r| r.status == s).count() as i32;
        Ok(ImportLeadsPayload {
            created: tally(import::RowStatus::Created),
            updated: tally(import::RowStatus::Updated),
            unchanged: tally(import::RowStatus::Unchanged),
            duplicates: tally(import::RowStatus::Duplicate),
            errors: tally(import::RowStatus::Error),
            dry_run: input.dry_run,
            results: results
                .into_iter()
                .map(|r| ImportLeadResult {
                    // People count rows from 1, as spreadsheets and the CLI's error file do.
                    row: r.row as i32 + 1,
                    status: r.status.into(),
                    lead_id: r.lead_id.map(ID::from),
                    message: r.message,
                    field: r.field,
                })
                .collect(),
        })
    }
}
