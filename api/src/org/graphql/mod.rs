//! GraphQL types and resolvers of organizations, users, API keys and the caller;
//! signing in is in `sign_in.rs`.

pub mod exchange_rates;
pub mod field_rules;
pub mod journey_stages;
pub mod sign_in;
pub mod trusted_documents;

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::api_keys::{self, NewApiKey};
use super::users::{self, NewUser, UserCriteria, UserPatch};
use super::{OrgPatch, OrgSettings, SettingsPatch};
use crate::auth::permissions::Scope;
use crate::auth::{Actor, Identity};
use crate::connection;
use crate::db::rows::Shown;
use crate::error::{ApiError, Result};
use crate::graphql::pagination::{PageArgs, encode_cursor};
use crate::graphql::patch::{clearable, keep_or_set};
use crate::graphql::{actor, db, loaders, parse_id, selects};

/// The team a person works in.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::Team")]
pub enum Team {
    /// Marketing: generates and nurtures leads, owns messaging and content.
    Marketing,
    /// Sales: accepts handed-over leads and works opportunities.
    Sales,
    /// Customer service and success.
    Service,
    /// Revenue operations: runs the systems, data and processes of the other teams.
    Revops,
    /// Leadership: executives who set shared goals.
    Leadership,
}

/// What a person may do in the organization.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::Role")]
pub enum Role {
    /// Everything, including users, API keys and organization settings.
    Admin,
    /// A member who may also approve agreed documents for their team.
    Manager,
    /// Reads everything and works the shared records.
    Member,
    /// Reads everything but personal data (unless the organization's `fieldReadRules`
    /// let VIEWERs read a field), changes nothing.
    Viewer,
}

/// A person of the organization.
#[derive(Clone)]
pub struct User(Shown<entity::user::Model>);

crate::graphql::loaders::shown_object!(User, entity::user::Model, users, "user");

/// A person of the organization.
#[Object]
impl User {
    /// Stable id of the user.
    pub async fn id(&self) -> ID {
        self.0.id().into()
    }

    /// E-mail address, lower-cased; unique within the organization.
    async fn email(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.row(ctx).await?.email.clone())
    }

    /// Display name.
    async fn name(&self) -> &str {
        self.0.name()
    }

    /// The team the user works in.
    async fn team(&self, ctx: &Context<'_>) -> Result<Team> {
        Ok(self.row(ctx).await?.team.into())
    }

    /// What the user may do.
    async fn role(&self, ctx: &Context<'_>) -> Result<Role> {
        Ok(self.row(ctx).await?.role.into())
    }

    /// False once an ADMIN deactivated the user: they can no longer sign in.
    async fn active(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(self.row(ctx).await?.active)
    }

    /// Optimistic-lock version; pass it as `expectedVersion` when updating.
    async fn version(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.row(ctx).await?.version)
    }

    /// When the user was created (UTC).
    async fn created_at(&self, ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        Ok(self.row(ctx).await?.created_at)
    }

    /// When the user last changed (UTC).
    async fn updated_at(&self, ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        Ok(self.row(ctx).await?.updated_at)
    }
}

/// Organization-wide defaults.
#[derive(SimpleObject, Clone, Debug)]
pub struct OrganizationSettings {
    /// Hours sales has to answer a handover when no SLA is agreed (1–720; default 24).
    pub handover_response_hours: u32,
    /// Distinct endorsers that make a piece of feedback actionable (1–1000; default 3);
    /// at least two distinct people are always needed, whatever this says.
    pub feedback_actionable_endorsers: u32,
    /// Distinct customer accounts that make a piece of feedback actionable (0–1000;
    /// default 2), once at least two distinct people are behind it.
    pub feedback_actionable_accounts: u32,
    /// When true, agreed documents also need a SERVICE manager's approval.
    pub approval_requires_service: bool,
    /// When true, agreed documents also need a LEADERSHIP manager's approval, so
    /// leadership co-signs the contract (default false).
    pub approval_requires_leadership: bool,
    /// When true, leads that become MQLs (by their score, by hand or by import) are
    /// handed over at once, round-robin among the active SALES members (default false).
    pub auto_hand_over_mqls: bool,
    /// Most automatic handovers one SALES member receives per calendar day of the
    /// organization (1–1000; default 25). MQLs beyond every rep's cap wait in
    /// `handoverBacklog` and are handed over as soon as a rep has room again.
    pub auto_hand_over_daily_cap: u32,
    /// Agreeing a scoring model that would make more leads MQLs than this (0–10,000,000;
    /// default 100) needs the approver to confirm the number with `confirmPromotions`;
    /// `simulateScoringModel` tells it beforehand.
    pub promotions_needing_confirmation: u32,
    /// Days (0–730; default 90) after a campaign's last day during which new leads still
    /// count as sourced by it for COST_PER_LEAD and COST_PER_MQL.
    pub campaign_attribution_days: u32,
    /// IANA time zone (such as `Europe/Berlin`, default `UTC`) in which KPI and goal
    /// periods begin and end: a "day" or "month" is the organization's calendar day or month.
    pub time_zone: String,
    /// ISO-4217 currency (default `EUR`) that money KPIs, goals and the amount order of
    /// deals report in; other currencies convert at the `exchangeRates` set into it
    /// (changing it needs rates into the new currency: until then money figures are
    /// MISSING_EXCHANGE_RATE).
    pub reporting_currency: String,
    /// Requests per minute (1–1,000,000) of the organization's API keys that have no
    /// `requestsPerMinute` of their own; null for the server's default
    /// (`ACCORD_RATE_LIMIT_PER_MINUTE`, 1,200 unless the operator changed it).
    pub api_requests_per_minute: Option<u32>,
    /// Days (1–36,500) engagement events keep their `properties`; older events keep
    /// their kind and time, so scores and KPIs stay. Null (the default): kept for good.
    pub engagement_properties_retention_days: Option<u32>,
    /// Days (1–36,500) audit entries keep their `changes`; older entries keep who did
    /// what to which record, when. Null (the default): kept for good.
    pub audit_values_retention_days: Option<u32>,
}

impl From<OrgSettings> for OrganizationSettings {
    fn from(s: OrgSettings) -> Self {
        Self {
            handover_response_hours: s.handover_response_hours,
            feedback_actionable_endorsers: s.feedback_actionable_endorsers,
            feedback_actionable_accounts: s.feedback_actionable_accounts,
            approval_requires_service: s.approval_requires_service,
            approval_requires_leadership: s.approval_requires_leadership,
            auto_hand_over_mqls: s.auto_hand_over_mqls,
            auto_hand_over_daily_cap: s.auto_hand_over_daily_cap,
            promotions_needing_confirmation: s.promotions_needing_confirmation,
            campaign_attribution_days: s.campaign_attribution_days,
            time_zone: s.time_zone,
            reporting_currency: s.reporting_currency,
            api_requests_per_minute: s.api_requests_per_minute,
            engagement_properties_retention_days: s.engagement_properties_retention_days,
            audit_values_retention_days: s.audit_values_retention_days,
        }
    }
}

/// Settings to change. A setting left out keeps its stored value; the settings are
/// checked together after the change, and the audit log lists exactly those that changed.
#[derive(InputObject, Default)]
pub struct OrganizationSettingsInput {
    /// Hours sales has to answer a handover when no SLA is agreed (1–720). Left out:
    /// unchanged; null is refused.
    pub handover_response_hours: MaybeUndefined<u32>,
    /// Distinct endorsers that make a piece of feedback actionable (1–1000). Left out:
    /// unchanged; null is refused.
    pub feedback_actionable_endorsers: MaybeUndefined<u32>,
    /// Distinct customer accounts that make a piece of feedback actionable (0–1000, 0
    /// turns the rule off). Left out: unchanged; null is refused.
    pub feedback_actionable_accounts: MaybeUndefined<u32>,
    /// Whether agreed documents also need a SERVICE manager's approval. Left out:
    /// unchanged; null is refused.
    pub approval_requires_service: MaybeUndefined<bool>,
    /// Whether agreed documents also need a LEADERSHIP manager's approval. Left out:
    /// unchanged; null is refused.
    pub approval_requires_leadership: MaybeUndefined<bool>,
    /// Whether leads that become MQLs by their score are handed over at once. Left
    /// out: unchanged; null is refused.
    pub auto_hand_over_mqls: MaybeUndefined<bool>,
    /// Most automatic handovers per SALES member per day (1–1000). Left out:
    /// unchanged; null is refused.
    pub auto_hand_over_daily_cap: MaybeUndefined<u32>,
    /// Promotions to MQL above which agreeing a scoring model needs confirmation
    /// (0–10,000,000). Left out: unchanged; null is refused.
    pub promotions_needing_confirmation: MaybeUndefined<u32>,
    /// Days (0–730) after a campaign's last day during which new leads still count as
    /// sourced by it. Left out: unchanged; null is refused.
    pub campaign_attribution_days: MaybeUndefined<u32>,
    /// IANA time zone of KPI and goal periods, such as `Europe/Berlin`. Left out:
    /// unchanged; null is refused.
    pub time_zone: MaybeUndefined<String>,
    /// ISO-4217 currency that money KPIs report in, such as `EUR`. Left out:
    /// unchanged; null is refused.
    pub reporting_currency: MaybeUndefined<String>,
    /// Requests per minute (1–1,000,000) of API keys without a rate of their own.
    /// Left out: unchanged; null: back to the server's default.
    pub api_requests_per_minute: MaybeUndefined<u32>,
    /// Days (1–36,500) engagement events keep their properties; a background job
    /// empties older ones. Left out: unchanged; null: kept for good.
    pub engagement_properties_retention_days: MaybeUndefined<u32>,
    /// Days (1–36,500) audit entries keep their values; a background job empties older
    /// ones. Left out: unchanged; null: kept for good.
    pub audit_values_retention_days: MaybeUndefined<u32>,
}

impl OrganizationSettingsInput {
    fn into_patch(self) -> Result<SettingsPatch, ApiError> {
        Ok(SettingsPatch {
            handover_response_hours: keep_or_set("settings.handoverResponseHours", self.handover_response_hours)?,
            feedback_actionable_endorsers: keep_or_set(
                "settings.feedbackActionableEndorsers",
                self.feedback_actionable_endorsers,
            )?,
            feedback_actionable_accounts: keep_or_set(
                "settings.feedbackActionableAccounts",
                self.feedback_actionable_accounts,
            )?,
            approval_requires_service: keep_or_set("settings.approvalRequiresService", self.approval_requires_service)?,
            approval_requires_leadership: keep_or_set(
                "settings.approvalRequiresLeadership",
                self.approval_requires_leadership,
            )?,
            auto_hand_over_mqls: keep_or_set("settings.autoHandOverMqls", self.auto_hand_over_mqls)?,
            auto_hand_over_daily_cap: keep_or_set("settings.autoHandOverDailyCap", self.auto_hand_over_daily_cap)?,
            promotions_needing_confirmation: keep_or_set(
                "settings.promotionsNeedingConfirmation",
                self.promotions_needing_confirmation,
            )?,
            campaign_attribution_days: keep_or_set("settings.campaignAttributionDays", self.campaign_attribution_days)?,
            time_zone: keep_or_set("settings.timeZone", self.time_zone)?,
            reporting_currency: keep_or_set("settings.reportingCurrency", self.reporting_currency)?,
            api_requests_per_minute: clearable(self.api_requests_per_minute),
            engagement_properties_retention_days: clearable(self.engagement_properties_retention_days),
            audit_values_retention_days: clearable(self.audit_values_retention_days),
        })
    }
}

/// The tenant: one company's revenue teams.
#[derive(SimpleObject, Clone)]
pub struct Organization {
    /// Stable id of the organization.
    #[graphql(owned)]
    pub id: ID,
    /// Display name.
    pub name: String,
    /// URL-safe short name, used to sign in.
    pub slug: String,
    /// Organization-wide defaults.
    pub settings: OrganizationSettings,
    /// Optimistic-lock version; pass it as `expectedVersion` when updating.
    pub version: i32,
    /// When the organization was created (UTC).
    pub created_at: DateTime<Utc>,
}

impl From<entity::organization::Model> for Organization {
    fn from(m: entity::organization::Model) -> Self {
        Self {
            id: m.id.into(),
            name: m.name,
            slug: m.slug,
            settings: OrgSettings::from_stored(&m.settings).into(),
            version: m.version,
            created_at: m.created_at,
        }
    }
}

/// Whether an API key works.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyStatus {
    /// The key works.
    Active,
    /// An ADMIN revoked the key.
    Revoked,
    /// The key's expiry time has passed.
    Expired,
}

/// A credential of a BI tool or integration partner. The secret is never shown after creation.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct ApiKey {
    /// Stable id of the key.
    #[graphql(owned)]
    pub id: ID,
    /// What the key is for, such as "Looker dashboards".
    pub name: String,
    /// Public start of the key (`acc_<prefix>_…`), to recognise it in logs.
    pub prefix: String,
    /// What the key may do.
    pub scopes: Vec<Scope>,
    /// Whether the key works now.
    pub status: ApiKeyStatus,
    /// When the key was last used (to the minute); null if never.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When the key stops working; null if never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key was revoked; null if it was not.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the key was created (UTC).
    pub created_at: DateTime<Utc>,
    /// Requests the key may make per minute; null when the server's default applies.
    pub requests_per_minute: Option<i32>,
    #[graphql(skip)]
    pub created_by_id: Option<uuid::Uuid>,
}

#[ComplexObject]
impl ApiKey {
    /// The ADMIN who created the key; null if that user is gone.
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.created_by_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }
}

impl From<entity::api_key::Model> for ApiKey {
    fn from(m: entity::api_key::Model) -> Self {
        let status = if m.revoked_at.is_some() {
            ApiKeyStatus::Revoked
        } else if m.expires_at.is_some_and(|at| at <= Utc::now()) {
            ApiKeyStatus::Expired
        } else {
            ApiKeyStatus::Active
        };
        Self {
            id: m.id.into(),
            name: m.name,
            prefix: m.prefix,
            scopes: Scope::parse_stored(&m.scopes),
            status,
            last_used_at: m.last_used_at,
            expires_at: m.expires_at,
            revoked_at: m.revoked_at,
            requests_per_minute: m.requests_per_minute,
            created_at: m.created_at,
            created_by_id: m.created_by,
        }
    }
}

/// What kind of credential the caller used.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewerKind {
    /// A person, with a JWT.
    User,
    /// A BI tool or integration partner, with an API key.
    ApiKey,
}

impl From<entity::ActorKind> for ViewerKind {
    fn from(kind: entity::ActorKind) -> Self {
        match kind {
            entity::ActorKind::ApiKey => Self::ApiKey,
            // Accord's own work never reaches the API; were it to, it would read as a user.
            entity::ActorKind::User | entity::ActorKind::System => Self::User,
        }
    }
}

pub struct Viewer(Actor);

/// The caller of this request: a person signed in with a JWT, or an API key.
#[Object]
impl Viewer {
    /// Whether the caller is a person or an API key.
    async fn kind(&self) -> ViewerKind {
        self.0.stored_kind().into()
    }

    /// The user's or API key's name.
    async fn name(&self) -> &str {
        self.0.name()
    }

    /// The user's team; null for an API key.
    async fn team(&self) -> Option<Team> {
        self.0.team().map(Into::into)
    }

    /// The user's role; null for an API key.
    async fn role(&self) -> Option<Role> {
        self.0.role().map(Into::into)
    }

    /// What an API key may do; empty for users, whose role decides.
    async fn scopes(&self) -> Vec<Scope> {
        match &self.0.kind {
            Identity::ApiKey { scopes, .. } => scopes.clone(),
            _ => Vec::new(),
        }
    }

    /// The signed-in user; null for an API key.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.user_id() else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// The organization the credential belongs to.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let system = Actor::system(self.0.org_id);
        Ok(super::get(db(ctx), &system).await?.into())
    }
}

connection!(UserConnection, UserEdge, User, "users");

const USERS: &str = "users";

/// Narrows the users list. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct UserFilter {
    /// Only users of these teams.
    pub teams: Option<Vec<Team>>,
    /// Only users with these roles.
    pub roles: Option<Vec<Role>>,
    /// Only active (true) or deactivated (false) users.
    pub active: Option<bool>,
    /// Case-insensitive part of the name or e-mail address.
    pub search: Option<String>,
}

#[derive(Default)]
pub struct OrgQuery;

#[Object]
impl OrgQuery {
    /// The caller: a user or an API key, with organization, team and role.
    async fn me(&self, ctx: &Context<'_>) -> Result<Viewer> {
        Ok(Viewer(actor(ctx)?.clone()))
    }

    /// The caller's organization.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        Ok(super::get(db(ctx), actor(ctx)?).await?.into())
    }

    /// People of the organization, oldest first. API keys need `ORG_READ`.
    async fn users(
        &self,
        ctx: &Context<'_>,
        filter: Option<UserFilter>,
        #[graphql(desc = "Return at most this many users from the start (default 20, at most 100).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Return users after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return at most this many users from the end (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return users before this cursor.")] before: Option<String>,
    ) -> Result<UserConnection> {
        let actor = actor(ctx)?;
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = PageArgs::new(first, after, last, before).window(USERS, org)?;
        let filter = filter.unwrap_or_default();
        let criteria = UserCriteria {
            teams: filter.teams.unwrap_or_default().into_iter().map(Into::into).collect(),
            roles: filter.roles.unwrap_or_default().into_iter().map(Into::into).collect(),
            active: filter.active,
            search: filter.search,
        };
        let page = users::list(db(ctx), actor, &criteria, &window, selects(ctx, "totalCount")).await?;
        Ok(UserConnection::from_page(ctx, page, |u| encode_cursor(USERS, org, &u.id), User::from))
    }

    /// One user; null with NOT_FOUND when absent or of another organization.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        let id = parse_id("id", &id)?;
        Ok(Some(users::get(db(ctx), actor(ctx)?, id).await?.into()))
    }

    /// Every API key of the organization, newest first, revoked ones included. ADMINs only.
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>> {
        Ok(api_keys::list(db(ctx), actor(ctx)?).await?.into_iter().map(ApiKey::from).collect())
    }
}

/// A person to add to the organization.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// E-mail address; unique within the organization.
    pub email: String,
    /// Display name.
    pub name: String,
    /// The team the person works in.
    pub team: Team,
    /// What the person may do.
    pub role: Role,
    /// Initial password, 8 to 1,024 bytes of UTF-8; without it the user signs in with tokens only.
    pub password: Option<String>,
}

/// Changes to a user: a field left out stays as it is. No field of a user can be
/// cleared: null is BAD_USER_INPUT naming the field.
#[derive(InputObject)]
pub struct UpdateUserInput {
    /// The user to change.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New display name. Left out: unchanged. null is refused.
    pub name: MaybeUndefined<String>,
    /// New team. Left out: unchanged. null is refused.
    pub team: MaybeUndefined<Team>,
    /// New role. Demoting or deactivating the last active ADMIN is CONFLICT. Left out:
    /// unchanged. null is refused.
    pub role: MaybeUndefined<Role>,
    /// A new password, 8 to 1,024 bytes of UTF-8. Left out: unchanged. null is refused.
    pub password: MaybeUndefined<String>,
}

/// Names one user.
#[derive(InputObject)]
pub struct UserIdInput {
    /// The user's id.
    pub id: ID,
}

/// The result of a user mutation.
#[derive(SimpleObject)]
pub struct UserPayload {
    /// The user as stored after the change.
    pub user: User,
}

/// A key to create for a BI tool or integration partner.
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// What the key is for, such as "Looker dashboards".
    pub name: String,
    /// What the key may do; at least one.
    pub scopes: Vec<Scope>,
    /// When the key stops working; null for never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Requests the key may make per minute (1–1,000,000; a request spends one more per
    /// full 1,000 points of query cost); null for the server's default.
    pub requests_per_minute: Option<u32>,
}

/// A new API key and its secret.
#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    /// The stored key.
    pub api_key: ApiKey,
    /// The full key to send as `Authorization: Bearer <secret>`. Shown only now: store it safely.
    pub secret: String,
}

/// Names one API key.
#[derive(InputObject)]
pub struct RevokeApiKeyInput {
    /// The key's id.
    pub id: ID,
}

/// The result of revoking an API key.
#[derive(SimpleObject)]
pub struct ApiKeyPayload {
    /// The key as stored after the change.
    pub api_key: ApiKey,
}

/// Changes to the organization; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New display name. Left out: unchanged; null is refused.
    pub name: MaybeUndefined<String>,
    /// Settings to change; those left out keep their stored values.
    pub settings: Option<OrganizationSettingsInput>,
}

/// The result of changing the organization.
#[derive(SimpleObject)]
pub struct OrganizationPayload {
    /// The organization as stored after the change.
    pub organization: Organization,
}

#[derive(Default)]
pub struct OrgMutation;

#[Object]
impl OrgMutation {
    /// Add a person to the organization. ADMINs only.
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<UserPayload> {
        let new = NewUser {
            email: input.email,
            name: input.name,
            team: input.team.into(),
            role: input.role.into(),
            password: input.password,
        };
        let user = users::create(db(ctx), actor(ctx)?, new).await?;
        Ok(UserPayload { user: user.into() })
    }

    /// Change a person's name, team, role or password. ADMINs only; the organization keeps one active ADMIN.
    async fn update_user(&self, ctx: &Context<'_>, input: UpdateUserInput) -> Result<UserPayload> {
        let id = parse_id("id", &input.id)?;
        let patch = UserPatch {
            name: keep_or_set("name", input.name)?,
            team: keep_or_set("team", input.team)?.map(Into::into),
            role: keep_or_set("role", input.role)?.map(Into::into),
            password: keep_or_set("password", input.password)?,
            expected_version: input.expected_version,
        };
        let user = users::update(db(ctx), actor(ctx)?, id, patch).await?;
        Ok(UserPayload { user: user.into() })
    }

    /// Switch a person off: they can no longer sign in and their tokens stop working. ADMINs only.
    async fn deactivate_user(&self, ctx: &Context<'_>, input: UserIdInput) -> Result<UserPayload> {
        let id = parse_id("id", &input.id)?;
        let user = users::set_active(db(ctx), actor(ctx)?, id, false).await?;
        Ok(UserPayload { user: user.into() })
    }

    /// Switch a deactivated person back on. ADMINs only.
    async fn reactivate_user(&self, ctx: &Context<'_>, input: UserIdInput) -> Result<UserPayload> {
        let id = parse_id("id", &input.id)?;
        let user = users::set_active(db(ctx), actor(ctx)?, id, true).await?;
        Ok(UserPayload { user: user.into() })
    }

    /// Create an API key; the payload's `secret` is shown only once. ADMINs only.
    async fn create_api_key(&self, ctx: &Context<'_>, input: CreateApiKeyInput) -> Result<CreateApiKeyPayload> {
        let new = NewApiKey {
            name: input.name,
            scopes: input.scopes,
            expires_at: input.expires_at,
            requests_per_minute: input.requests_per_minute,
        };
        let (key, secret) = api_keys::create(db(ctx), actor(ctx)?, new).await?;
        Ok(CreateApiKeyPayload { api_key: key.into(), secret })
    }

    /// Revoke an API key; it stops working at once. ADMINs only.
    async fn revoke_api_key(&self, ctx: &Context<'_>, input: RevokeApiKeyInput) -> Result<ApiKeyPayload> {
        let id = parse_id("id", &input.id)?;
        let key = api_keys::revoke(db(ctx), actor(ctx)?, id).await?;
        Ok(ApiKeyPayload { api_key: key.into() })
    }

    /// Rename the organization or change its settings. ADMINs only.
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> Result<OrganizationPayload> {
        let patch = OrgPatch {
            name: keep_or_set("name", input.name)?,
            settings: input.settings.map(OrganizationSettingsInput::into_patch).transpose()?,
            expected_version: input.expected_version,
        };
        let org = super::update(db(ctx), actor(ctx)?, patch).await?;
        Ok(OrganizationPayload { organization: org.into() })
    }
}
