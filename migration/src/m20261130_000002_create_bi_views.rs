//! The `bi` schema (PostgreSQL only): documented, read-only views for BI tools. Each
//! view exposes `org_id` and safe columns only: no password hashes, API-key or webhook
//! secrets, phone numbers, or free-text notes and comments (they often carry personal
//! data about customers). `accord bi-role` builds one organization's schema of views
//! over these, so a BI login never reads a base table nor another organization's rows.
//!
//! On SQLite this migration does nothing: the embedded database has no schemas or roles.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The views, each followed by its comments. Times are UTC (`timestamptz`); money is
/// integer minor units with an ISO-4217 `currency`; enumerations are their API names.
const UP: &str = r#"
CREATE SCHEMA IF NOT EXISTS bi;
COMMENT ON SCHEMA bi IS 'Accord read-only views for BI tools: one row per record, org_id on every view. Times are UTC, money is integer minor units plus an ISO-4217 currency.';

CREATE VIEW bi.leads AS
SELECT l.id, l.org_id, l.account_id, a.name AS account_name, l.persona_id, l.email, l.first_name, l.last_name,
       l.title, l.source, l.campaign, l.external_id, l.lifecycle_stage, l.stage_entered_at, l.owner_id,
       l.marketing_owner_id, l.fit_score, l.engagement_score, l.score, l.temperature, l.archived_at,
       l.created_at, l.updated_at
FROM public.leads l
LEFT JOIN public.accounts a ON a.id = l.account_id AND a.org_id = l.org_id;
COMMENT ON VIEW bi.leads IS 'People who may buy, with their lifecycle stage and score. Archived leads are included (archived_at not null); filter them out for current figures.';
COMMENT ON COLUMN bi.leads.campaign IS 'Name of the campaign that brought the lead; equals bi.campaigns.name exactly (case-sensitive) when the campaign is recorded.';
COMMENT ON COLUMN bi.leads.lifecycle_stage IS 'NEW, ENGAGED, MQL, SAL, SQL, OPPORTUNITY, CUSTOMER, RECYCLED or DISQUALIFIED.';
COMMENT ON COLUMN bi.leads.stage_entered_at IS 'When the lead entered its current lifecycle stage (UTC).';
COMMENT ON COLUMN bi.leads.score IS 'fit_score + engagement_score, as computed by the scoring model in force.';
COMMENT ON COLUMN bi.leads.temperature IS 'COLD, WARM or HOT.';
COMMENT ON COLUMN bi.leads.owner_id IS 'The sales owner (a user id); marketing_owner_id is the marketing owner.';

CREATE VIEW bi.stage_transitions AS
SELECT t.id, t.org_id, t.lead_id, t.from_stage, t.to_stage, t.actor_kind, t.actor_id, t.reason, t.at
FROM public.lead_stage_transitions t;
COMMENT ON VIEW bi.stage_transitions IS 'Every lifecycle move of every lead: time in stage, cycle times and the funnel come from here.';
COMMENT ON COLUMN bi.stage_transitions.from_stage IS 'The stage before the move; null for the creation of the lead.';
COMMENT ON COLUMN bi.stage_transitions.actor_kind IS 'USER, API_KEY or SYSTEM: who made the move.';
COMMENT ON COLUMN bi.stage_transitions.at IS 'When the lead entered to_stage (UTC).';

CREATE VIEW bi.handovers AS
SELECT h.id, h.org_id, h.lead_id, h.from_user_id, h.to_user_id, h.handed_at, h.due_at, h.status, h.overdue,
       h.responded_at, h.responded_by, h.reason,
       (EXTRACT(EPOCH FROM (h.responded_at - h.handed_at)) / 3600.0)::double precision AS response_hours
FROM public.handovers h;
COMMENT ON VIEW bi.handovers IS 'Leads handed from marketing to sales, and the answer: SLA compliance and hand-back reasons.';
COMMENT ON COLUMN bi.handovers.status IS 'PENDING, ACCEPTED or REJECTED (handed back).';
COMMENT ON COLUMN bi.handovers.due_at IS 'When the answer was due under the handover SLA (UTC).';
COMMENT ON COLUMN bi.handovers.overdue IS 'True once due_at passed without an answer (stays true after a late answer).';
COMMENT ON COLUMN bi.handovers.reason IS 'Hand-back reason of a REJECTED handover, such as NO_BUDGET or NOT_ICP.';
COMMENT ON COLUMN bi.handovers.response_hours IS 'Hours from handed_at to responded_at; null while unanswered.';

CREATE VIEW bi.opportunities AS
SELECT o.id, o.org_id, o.account_id, o.lead_id, o.name, o.amount_minor, o.currency, o.stage, o.strategy,
       o.owner_id, o.expected_close, o.closed_at, o.lost_reason, o.archived_at, o.created_at, o.updated_at
FROM public.opportunities o;
COMMENT ON VIEW bi.opportunities IS 'Deals: pipeline, wins and losses, by strategy.';
COMMENT ON COLUMN bi.opportunities.amount_minor IS 'Deal amount in minor units (cents) of currency.';
COMMENT ON COLUMN bi.opportunities.stage IS 'DISCOVERY, PROPOSAL, NEGOTIATION, CLOSED_WON or CLOSED_LOST.';
COMMENT ON COLUMN bi.opportunities.strategy IS 'ACQUISITION, RETENTION, DEVELOPMENT or SUBSTITUTION.';
COMMENT ON COLUMN bi.opportunities.closed_at IS 'When the deal was won or lost (UTC); null while open.';

CREATE VIEW bi.activities AS
SELECT a.id, a.org_id, a.user_id, a.lead_id, a.account_id, a.opportunity_id, a.kind, a.customer_facing,
       a.duration_minutes, a.occurred_at, a.created_at
FROM public.activities a;
COMMENT ON VIEW bi.activities IS 'Calls, e-mails, meetings, demos, events and notes by users (without their notes).';
COMMENT ON COLUMN bi.activities.customer_facing IS 'True when time was spent with a customer: the basis of customer-facing hours per person.';
COMMENT ON COLUMN bi.activities.duration_minutes IS 'Length of the activity in minutes.';

CREATE VIEW bi.content_usage AS
SELECT u.id, u.org_id, u.asset_id, c.title AS asset_title, c.kind AS asset_kind, u.user_id, u.lead_id,
       u.opportunity_id, u.used_at, u.rating
FROM public.content_usages u
JOIN public.content_assets c ON c.id = u.asset_id AND c.org_id = u.org_id;
COMMENT ON VIEW bi.content_usage IS 'Each use of a content asset by a user, optionally with a lead or deal: what sales really uses.';
COMMENT ON COLUMN bi.content_usage.rating IS 'HELPFUL, NOT_HELPFUL, or null when not rated.';

CREATE VIEW bi.feedback AS
SELECT f.id, f.org_id, f.author_id, f.author_team, f.subject_type, f.subject_id, f.tag, f.sentiment,
       f.account_id, f.status, f.responded_at, f.created_at, f.updated_at,
       (SELECT count(*) FROM public.feedback_endorsements e WHERE e.feedback_id = f.id AND e.org_id = f.org_id)
           AS endorsements
FROM public.feedback f;
COMMENT ON VIEW bi.feedback IS 'Feedback between the teams (without its text), with its status and how many endorsed it.';
COMMENT ON COLUMN bi.feedback.subject_type IS 'LEAD, MESSAGE, CONTENT_ASSET, PERSONA, ICP, SCORING_MODEL, SLA, DEFINITION or GENERAL.';
COMMENT ON COLUMN bi.feedback.status IS 'NEW, UNDER_REVIEW, ACCEPTED, DECLINED or DONE.';
COMMENT ON COLUMN bi.feedback.endorsements IS 'How many endorsements the feedback has.';

CREATE VIEW bi.campaigns AS
SELECT c.id, c.org_id, c.name, c.channel, c.starts_on, c.ends_on, c.budget_minor, c.spend_minor, c.currency,
       c.owner_id, c.archived_at, c.created_at, c.updated_at
FROM public.campaigns c;
COMMENT ON VIEW bi.campaigns IS 'Marketing campaigns with budget and spend; join bi.leads on (org_id, campaign = name) for cost per lead and ROI.';
COMMENT ON COLUMN bi.campaigns.name IS 'Unique per organization; leads name their campaign by it (bi.leads.campaign).';
COMMENT ON COLUMN bi.campaigns.budget_minor IS 'Budget in minor units (cents) of currency.';
COMMENT ON COLUMN bi.campaigns.spend_minor IS 'Spend so far in minor units (cents) of currency.';

CREATE VIEW bi.revenue_won_daily AS
SELECT o.org_id, (o.closed_at AT TIME ZONE 'UTC')::date AS day, o.currency,
       count(*) AS deals_won, sum(o.amount_minor)::bigint AS revenue_won_minor
FROM public.opportunities o
WHERE o.stage = 'CLOSED_WON' AND o.closed_at IS NOT NULL AND o.archived_at IS NULL
GROUP BY o.org_id, (o.closed_at AT TIME ZONE 'UTC')::date, o.currency;
COMMENT ON VIEW bi.revenue_won_daily IS 'Deals won and revenue won per organization, UTC day and currency (amounts in different currencies are never added up).';

CREATE VIEW bi.kpi_daily AS
WITH facts AS (
    SELECT org_id, (created_at AT TIME ZONE 'UTC')::date AS day,
           1 AS leads_created, 0 AS mqls, 0 AS sals, 0 AS sqls, 0 AS opportunities_created, 0 AS deals_won,
           0 AS customer_facing_minutes
    FROM public.leads WHERE archived_at IS NULL
    UNION ALL
    SELECT org_id, (at AT TIME ZONE 'UTC')::date, 0, (to_stage = 'MQL')::int, (to_stage = 'SAL')::int,
           (to_stage = 'SQL')::int, 0, 0, 0
    FROM public.lead_stage_transitions WHERE to_stage IN ('MQL', 'SAL', 'SQL')
    UNION ALL
    SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, 0, 0, 0, 0, 1, 0, 0
    FROM public.opportunities WHERE archived_at IS NULL
    UNION ALL
    SELECT org_id, (closed_at AT TIME ZONE 'UTC')::date, 0, 0, 0, 0, 0, 1, 0
    FROM public.opportunities WHERE stage = 'CLOSED_WON' AND closed_at IS NOT NULL AND archived_at IS NULL
    UNION ALL
    SELECT org_id, (occurred_at AT TIME ZONE 'UTC')::date, 0, 0, 0, 0, 0, 0, duration_minutes
    FROM public.activities WHERE customer_facing
), revenue AS (
    SELECT org_id, day, jsonb_object_agg(currency, revenue_won_minor) AS revenue_won_minor_by_currency
    FROM bi.revenue_won_daily
    GROUP BY org_id, day
)
SELECT f.org_id, f.day,
       sum(f.leads_created)::bigint AS leads_created,
       sum(f.mqls)::bigint AS mqls,
       sum(f.sals)::bigint AS sals,
       sum(f.sqls)::bigint AS sqls,
       sum(f.opportunities_created)::bigint AS opportunities_created,
       sum(f.deals_won)::bigint AS deals_won,
       coalesce(r.revenue_won_minor_by_currency, '{}'::jsonb) AS revenue_won_minor_by_currency,
       sum(f.customer_facing_minutes)::bigint AS customer_facing_minutes
FROM facts f
LEFT JOIN revenue r ON r.org_id = f.org_id AND r.day = f.day
GROUP BY f.org_id, f.day, r.revenue_won_minor_by_currency;
COMMENT ON VIEW bi.kpi_daily IS 'One row per organization and UTC day with any activity: the daily KPIs, computed from the base tables on every read. Archived leads and deals do not count.';
COMMENT ON COLUMN bi.kpi_daily.day IS 'The UTC calendar day.';
COMMENT ON COLUMN bi.kpi_daily.leads_created IS 'Leads created that day (not archived since).';
COMMENT ON COLUMN bi.kpi_daily.mqls IS 'Moves into MQL that day (a lead recycled and qualified again counts again).';
COMMENT ON COLUMN bi.kpi_daily.sals IS 'Moves into SAL (handovers sales accepted) that day.';
COMMENT ON COLUMN bi.kpi_daily.sqls IS 'Moves into SQL that day.';
COMMENT ON COLUMN bi.kpi_daily.opportunities_created IS 'Opportunities opened that day.';
COMMENT ON COLUMN bi.kpi_daily.deals_won IS 'Opportunities closed won that day.';
COMMENT ON COLUMN bi.kpi_daily.revenue_won_minor_by_currency IS 'Revenue won that day as a JSON object of ISO-4217 currency to minor units, such as {"EUR": 1250000}: currencies are never added up. One row per currency: bi.revenue_won_daily.';
COMMENT ON COLUMN bi.kpi_daily.customer_facing_minutes IS 'Minutes of customer-facing activities that day.';
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(UP).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared("DROP SCHEMA IF EXISTS bi CASCADE").await?;
        Ok(())
    }
}
