//! CSV exports for BI tools and spreadsheets, under `/export/`. Callers authenticate
//! exactly as on `/graphql` (a user's JWT or an API key, see [`crate::http::caller`]);
//! the organization always comes from the credential. Exports stream: rows are read
//! in keyset pages and written as they arrive, so memory stays flat however many
//! rows there are.
//!
//! Exports obey the same scopes as the GraphQL fields they mirror, and personal
//! columns the same `fieldReadRules` (empty for callers they leave out); they spend the
//! caller's rate limit like a request of [`EXPORT_COST`] points and are audited.
//!
//! `GET /export/leads.csv` — the organization's non-archived leads, oldest first.
//! `GET /export/kpis.csv?metrics=MQLS,WIN_RATE&from=2026-01-01&to=2026-12-31&granularity=MONTH&groupBy=NONE`
//! — the same series as the `kpis` query, one row per metric, group and period.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{ActiveEnum, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::fields::PersonalField;
use crate::auth::permissions::{Scope, can_export_leads, can_read};
use crate::db::request::RequestDb;
use crate::error::{ApiError, Result};
use crate::http::{AppState, caller, error_response, rate_limited, unauthorized};

/// Rows read per statement.
const PAGE: u64 = 1_000;

/// The columns of `/export/leads.csv`, in order.
pub const LEAD_COLUMNS: [&str; 15] = [
    "id",
    "email",
    "first_name",
    "last_name",
    "title",
    "source",
    "campaign",
    "lifecycle_stage",
    "stage_entered_at",
    "score",
    "temperature",
    "account_id",
    "account_name",
    "owner_id",
    "created_at",
];

/// What an export spends of the caller's rate limit, in query-cost points.
pub const EXPORT_COST: u64 = 10_000;

/// `GET /export/leads.csv`: 401 without a valid credential, 403 for an API key
/// without `LEADS_READ`.
pub async fn leads_csv(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let actor = match authorized(&state, &headers, can_export_leads, "LEADS_READ", "leads").await {
        Ok(actor) => actor,
        Err(response) => return response,
    };
    tracing::info!(org = %actor.org_id, "exporting leads as CSV");
    let rules = match crate::org::field_rules::rules(&state.db, actor.org_id, state.config.auth_cache_ttl).await {
        Ok(rules) => rules,
        Err(error) => return error_response(&headers, StatusCode::INTERNAL_SERVER_ERROR, &error),
    };
    // Personal columns the caller may not read stay empty, as their fields are null.
    let shown = |field| rules.may_read(&actor, field);
    let personal = [PersonalField::LeadEmail, PersonalField::LeadFirstName, PersonalField::LeadLastName].map(shown);
    // Routed once: a file is read from one database, start to end.
    let db = state.request_db().replica_or_primary().await;
    let pages = LeadPages { db, org_id: actor.org_id, personal, after: None, started: false, done: false };
    let stream = futures_util::stream::unfold(pages, |mut pages| async move {
        match pages.next().await {
            Ok(Some(chunk)) => Some((Ok(chunk), pages)),
            Ok(None) => None,
            Err(e) => {
                // Headers are gone already: end the body early, so the client sees a
                // truncated transfer rather than a file that looks complete.
                pages.done = true;
                Some((Err(std::io::Error::other(e.to_string())), pages))
            }
        }
    });
    csv_response("leads.csv", Body::from_stream(stream))
}

/// The caller, when allowed by `rule`; otherwise the 401 or 403 response.
/// The caller, when allowed by `rule` and within its rate limit, with the export
/// recorded in the audit log; otherwise the 401, 403 or 429 response.
async fn authorized(
    state: &AppState,
    headers: &HeaderMap,
    rule: fn(&Actor) -> bool,
    scopes: &str,
    export: &str,
) -> std::result::Result<Actor, Response> {
    let Some(actor) = caller(state, headers).await? else {
        let error = ApiError::Unauthenticated("send `Authorization: Bearer <token or API key>`".into());
        return Err(unauthorized(headers, &error));
    };
    if !rule(&actor) {
        let error = ApiError::forbidden(format!("this export needs an API key with {scopes}"));
        return Err(error_response(headers, StatusCode::FORBIDDEN, &error));
    }
    match crate::http::spend(state, &actor, EXPORT_COST).await {
        Ok(_) => {}
        Err(error @ ApiError::RateLimited { .. }) => return Err(rate_limited(headers, &error)),
        Err(error) => return Err(error_response(headers, StatusCode::INTERNAL_SERVER_ERROR, &error)),
    }
    let recorded = crate::events::audit::record(&state.db, &actor, "export", export, None, Default::default()).await;
    if let Err(error) = recorded {
        return Err(error_response(headers, StatusCode::INTERNAL_SERVER_ERROR, &error));
    }
    Ok(actor)
}

fn csv_response(filename: &str, body: Body) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// Keyset pages of one organization's leads by id (UUIDv7, so oldest first), each
/// rendered as CSV; the header row comes with the first page.
struct LeadPages {
    db: RequestDb,
    org_id: Uuid,
    /// Whether the caller may read e-mail, first name and last name.
    personal: [bool; 3],
    after: Option<Uuid>,
    started: bool,
    done: bool,
}

impl LeadPages {
    async fn next(&mut self) -> Result<Option<Bytes>> {
        use entity::lead::{Column, Entity};
        if self.done {
            return Ok(None);
        }
        let mut select = Entity::find().filter(Column::OrgId.eq(self.org_id)).filter(Column::ArchivedAt.is_null());
        if let Some(after) = self.after {
            select = select.filter(Column::Id.gt(after));
        }
        let rows: Vec<crate::leads::Scored> =
            crate::leads::with_scores(select).order_by_asc(Column::Id).limit(PAGE).into_model().all(&self.db).await?;
        self.done = (rows.len() as u64) < PAGE;
        self.after = rows.last().map(|s| s.lead.id).or(self.after);
        let leads: Vec<&entity::lead::Model> = rows.iter().map(|s| &s.lead).collect();
        let accounts = account_names(&self.db, self.org_id, &leads).await?;
        let mut out = csv::Writer::from_writer(Vec::with_capacity(leads.len() * 256));
        if !self.started {
            out.write_record(LEAD_COLUMNS).map_err(ApiError::internal)?;
            self.started = true;
        } else if leads.is_empty() {
            return Ok(None);
        }
        let [email, first_name, last_name] = self.personal;
        for crate::leads::Scored { lead, score } in &rows {
            let account_name = lead.account_id.and_then(|id| accounts.get(&id)).map(String::as_str);
            out.write_record([
                lead.id.to_string().as_str(),
                &personal(email, &lead.email),
                &personal(first_name, &lead.first_name),
                &personal(last_name, &lead.last_name),
                &text(lead.title.as_deref().unwrap_or_default()),
                &text(lead.source.as_deref().unwrap_or_default()),
                &text(lead.campaign.as_deref().unwrap_or_default()),
                &lead.lifecycle_stage.to_value(),
                &timestamp(lead.stage_entered_at),
                &score.score.to_string(),
                &score.temperature.to_value(),
                &lead.account_id.map(|id| id.to_string()).unwrap_or_default(),
                &text(account_name.unwrap_or_default()),
                &lead.owner_id.map(|id| id.to_string()).unwrap_or_default(),
                &timestamp(lead.created_at),
            ])
            .map_err(ApiError::internal)?;
        }
        let bytes = out.into_inner().map_err(ApiError::internal)?;
        Ok(Some(Bytes::from(bytes)))
    }
}

/// Free text as a cell a spreadsheet shows rather than runs. Excel, LibreOffice and
/// Google Sheets evaluate a cell starting with `=`, `+`, `-` or `@` (or a tab or
/// carriage return before one) as a formula, so a lead who typed `=HYPERLINK(…)` into
/// a web form could otherwise run it on the analyst's machine. A leading apostrophe
/// makes such a cell text (OWASP's advice on CSV injection).
/// A personal value, or nothing for a caller who may not read it.
fn personal(shown: bool, value: &str) -> std::borrow::Cow<'_, str> {
    if shown { text(value) } else { "".into() }
}

fn text(value: &str) -> std::borrow::Cow<'_, str> {
    match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

/// Names of the page's accounts, in one statement.
async fn account_names(
    db: &impl sea_orm::ConnectionTrait,
    org_id: Uuid,
    leads: &[&entity::lead::Model],
) -> Result<HashMap<Uuid, String>> {
    use entity::account::{Column, Entity};
    let mut ids: Vec<Uuid> = leads.iter().filter_map(|l| l.account_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, String)> = Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::Name)
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// RFC 3339 in UTC with milliseconds, such as `2026-11-30T10:00:00.000Z`.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn can_export_kpis(actor: &Actor) -> bool {
    can_read(actor, Scope::KpisRead)
}

/// The columns of `/export/kpis.csv`, in order.
pub const KPI_COLUMNS: [&str; 12] = [
    "metric",
    "unit",
    "group_by",
    "group_key",
    "group_label",
    "stage",
    "period_start",
    "period_end",
    "value",
    "numerator",
    "denominator",
    "currency",
];

/// `GET /export/kpis.csv`: the `kpis` query as CSV. 401 without a credential, 403 for
/// an API key without `KPIS_READ`, 400 naming the bad parameter.
pub async fn kpis_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let actor = match authorized(&state, &headers, can_export_kpis, "KPIS_READ", "kpis").await {
        Ok(actor) => actor,
        Err(response) => return response,
    };
    let request = match kpi_request(&params) {
        Ok(request) => request,
        Err(error) => return error_response(&headers, StatusCode::BAD_REQUEST, &error),
    };
    let (actor, request) = (&actor, &request);
    match state.request_db().replica_read(|db| async move { crate::kpi::kpis(&db, actor, request).await }).await {
        Ok(series) => match kpi_rows(&series) {
            Ok(bytes) => csv_response("kpis.csv", Body::from(bytes)),
            Err(error) => error_response(&headers, StatusCode::INTERNAL_SERVER_ERROR, &error),
        },
        Err(error) => {
            let status = match error {
                ApiError::BadUserInput { .. } => StatusCode::BAD_REQUEST,
                ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
                ApiError::NotFound(_) => StatusCode::NOT_FOUND,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            error_response(&headers, status, &error)
        }
    }
}

/// Parse the query string: `metrics` (comma-separated `KpiMetric` names), `from`, `to`
/// (dates), `granularity` (default MONTH), `groupBy` (default NONE).
fn kpi_request(params: &HashMap<String, String>) -> Result<crate::kpi::KpiRequest> {
    use crate::catalogue::{KpiGroupBy, KpiMetric, from_name};
    use crate::kpi::periods::Granularity;
    let required = |name: &str| {
        params
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| ApiError::bad_input(name, format!("the `{name}` parameter is required")))
    };
    let metrics = required("metrics")?
        .split(',')
        .map(|name| {
            let name = name.trim();
            from_name::<KpiMetric>(name)
                .ok_or_else(|| ApiError::bad_input("metrics", format!("`metrics`: `{name}` is not a KPI metric")))
        })
        .collect::<Result<Vec<_>>>()?;
    let date = |name: &str| {
        required(name)?
            .trim()
            .parse::<chrono::NaiveDate>()
            .map_err(|_| ApiError::bad_input(name, format!("`{name}` must be a date such as 2026-01-31")))
    };
    // Query-string values are the GraphQL enum names, with the same defaults.
    let granularity = match params.get("granularity").map(|g| g.trim()) {
        None => Granularity::Month,
        Some(name) => from_name(name)
            .ok_or_else(|| ApiError::bad_input("granularity", "`granularity` must be DAY, WEEK, MONTH or QUARTER"))?,
    };
    let group_by = match params.get("groupBy").map(|g| g.trim()) {
        None => KpiGroupBy::None,
        Some(name) => {
            from_name(name).ok_or_else(|| ApiError::bad_input("groupBy", "`groupBy` is not a KpiGroupBy value"))?
        }
    };
    Ok(crate::kpi::KpiRequest {
        metrics,
        from: date("from")?,
        to: date("to")?,
        granularity,
        group_by,
        filter: crate::kpi::KpiFilter::default(),
    })
}

fn kpi_rows(series: &[crate::kpi::Series]) -> Result<Vec<u8>> {
    use crate::catalogue::name_of;
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(KPI_COLUMNS).map_err(ApiError::internal)?;
    for s in series {
        let (group_by, unit) = (name_of(s.group_by), name_of(s.metric.unit()));
        for p in &s.points {
            out.write_record([
                s.metric.name(),
                unit,
                group_by,
                s.group.as_deref().unwrap_or_default(),
                s.label.as_deref().unwrap_or_default(),
                &s.stage.map(|st| st.to_value()).unwrap_or_default(),
                &p.period.start.to_string(),
                &p.period.last_day().to_string(),
                &number(p.value),
                &number(p.numerator),
                &number(p.denominator),
                s.currency.as_deref().unwrap_or_default(),
            ])
            .map_err(ApiError::internal)?;
        }
    }
    out.into_inner().map_err(ApiError::internal)
}
