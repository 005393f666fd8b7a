//! GraphQL types and resolvers of webhooks: endpoints, the delivery log, redelivery
//! and test deliveries. ADMINs only.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::deliveries::{self, DeliveryCriteria};
use super::{EndpointChanges, NewEndpoint, catalogue};
use crate::config::Config;
use crate::connection;
use crate::error::Result;
use crate::graphql::pagination::{PageArgs, encode_cursor};
use crate::graphql::patch::{clearable, keep_or_set};
use crate::graphql::{actor, db, nodes_select, parse_id, selects};
use crate::leads::graphql::LifecycleStage;

const LIST: &str = "webhookDeliveries";

/// A URL that receives the organization's events as signed HTTP POSTs (Standard
/// Webhooks; see docs/webhooks.md for the catalogue, payloads and verification).
#[derive(SimpleObject, Clone)]
pub struct WebhookEndpoint {
    /// Id of the endpoint.
    pub id: ID,
    /// Where deliveries are posted: `https://` to a public address.
    pub url: String,
    /// What the endpoint is for, for the people who maintain it.
    pub description: Option<String>,
    /// The event types it receives: exact types (`lead.stageChanged`), every type of a
    /// record (`lead.*`) or `*` for all.
    pub event_types: Vec<String>,
    /// Lead events (`lead.*`) are delivered only when the lead is in, enters or leaves
    /// one of these stages; empty for every stage. Other events are not narrowed.
    pub lead_stages: Vec<LifecycleStage>,
    /// Whether deliveries are made. A disabled endpoint gets no new deliveries; those
    /// already waiting are sent once it is enabled again.
    pub enabled: bool,
    /// When it was disabled; null while enabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why it was disabled: by an ADMIN, or automatically after failing every attempt
    /// for `ACCORD_WEBHOOKS_DISABLE_AFTER` (with the last error); null while enabled.
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed; null after a success. Reaching the disable
    /// time disables the endpoint.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when deliveries also carry a signature by the secret before the last
    /// rotation; null when there is no such overlap.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<entity::webhook_endpoint::Model> for WebhookEndpoint {
    fn from(m: entity::webhook_endpoint::Model) -> Self {
        let now = Utc::now();
        Self {
            id: m.id.into(),
            event_types: super::event_types(&m),
            lead_stages: super::lead_stages(&m).into_iter().map(Into::into).collect(),
            url: m.url,
            description: m.description,
            enabled: m.enabled,
            disabled_at: m.disabled_at,
            disabled_reason: m.disabled_reason,
            failing_since: m.failing_since,
            previous_secret_valid_until: m.previous_secret_until.filter(|until| *until > now),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Where a webhook delivery stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::WebhookDeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its first attempt or for a retry (`nextAttemptAt`).
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Every attempt of the retry schedule failed; `redeliverWebhook` sends it again.
    Failed,
}

/// One event delivered (or being delivered) to one endpoint.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct WebhookDelivery {
    /// Id of the delivery, sent as the `webhook-id` header: the same on every attempt
    /// and redelivery, so receivers can ignore a delivery they already processed.
    pub id: ID,
    /// The endpoint it goes to.
    pub endpoint_id: ID,
    /// The event type, such as `lead.stageChanged`, or `webhook.test`.
    pub event_type: String,
    /// The outbox event delivered; null for a test delivery.
    pub event_id: Option<ID>,
    /// Kind of record the event is about, such as `lead`; null for a test delivery.
    pub object_type: Option<String>,
    /// Id of the record the event is about.
    pub object_id: Option<ID>,
    /// Where it stands.
    pub status: WebhookDeliveryStatus,
    /// Attempts made so far, across redeliveries.
    pub attempts: i32,
    /// When the next attempt is due; null once SUCCEEDED or FAILED.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the last attempt was made; null before the first.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last answer; null when there was none (refused,
    /// blocked, timed out).
    pub last_status_code: Option<i32>,
    /// How long the last attempt took, in milliseconds.
    pub last_latency_ms: Option<i32>,
    /// Why the last attempt failed, in words; null when it succeeded.
    pub last_error: Option<String>,
    /// The exact JSON body sent (and signed).
    pub payload: Json<serde_json::Value>,
    /// When the delivery was created (when its event was relayed).
    pub created_at: DateTime<Utc>,
    /// When it SUCCEEDED or FAILED; null while PENDING.
    pub finished_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub prefetched: Option<Vec<WebhookAttempt>>,
}

impl From<entity::webhook_delivery::Model> for WebhookDelivery {
    fn from(m: entity::webhook_delivery::Model) -> Self {
        Self {
            id: m.id.into(),
            endpoint_id: m.endpoint_id.into(),
            event_type: m.event_type,
            event_id: m.event_id.map(Into::into),
            object_type: m.entity,
            object_id: m.entity_id.map(Into::into),
            status: m.status.into(),
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_attempt_at: m.last_attempt_at,
            last_status_code: m.last_status_code,
            last_latency_ms: m.last_latency_ms,
            last_error: m.last_error,
            payload: Json(serde_json::from_str(&m.body).unwrap_or(serde_json::Value::Null)),
            created_at: m.created_at,
            finished_at: m.finished_at,
            prefetched: None,
        }
    }
}

#[ComplexObject]
impl WebhookDelivery {
    /// Every attempt, oldest first.
    async fn attempt_log(&self, ctx: &Context<'_>) -> Result<Vec<WebhookAttempt>> {
        if let Some(attempts) = &self.prefetched {
            return Ok(attempts.clone());
        }
        let id = parse_id("id", &self.id)?;
        let mut found = deliveries::attempts(db(ctx), actor(ctx)?, &[id]).await?;
        Ok(found.remove(&id).unwrap_or_default().into_iter().map(WebhookAttempt::from).collect())
    }
}

/// One HTTP request made to deliver a webhook.
#[derive(SimpleObject, Clone)]
pub struct WebhookAttempt {
    /// 1 for the delivery's first attempt, counting across redeliveries.
    pub number: i32,
    /// When the request was made.
    pub at: DateTime<Utc>,
    /// The HTTP status answered; null when no answer came.
    pub status_code: Option<i32>,
    /// How long it took, in milliseconds.
    pub latency_ms: i32,
    /// Why it failed, in words; null when it succeeded.
    pub error: Option<String>,
    /// The first 1 KB of the answer's body, as text.
    pub response: Option<String>,
}

impl From<entity::webhook_attempt::Model> for WebhookAttempt {
    fn from(m: entity::webhook_attempt::Model) -> Self {
        Self {
            number: m.number,
            at: m.at,
            status_code: m.status_code,
            latency_ms: m.latency_ms,
            error: m.error,
            response: m.response,
        }
    }
}

connection!(WebhookDeliveryConnection, WebhookDeliveryEdge, WebhookDelivery, "webhook deliveries");

/// Narrows the delivery log. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct WebhookDeliveryFilter {
    /// Only deliveries to this endpoint.
    pub endpoint_id: Option<ID>,
    /// Only deliveries in this state.
    pub status: Option<WebhookDeliveryStatus>,
    /// Only this event type, such as `lead.stageChanged`.
    pub event_type: Option<String>,
    /// Only deliveries about this record.
    pub object_id: Option<ID>,
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The organization's webhook endpoints, oldest first (at most 20). ADMINs only.
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> Result<Vec<WebhookEndpoint>> {
        Ok(super::list(db(ctx), actor(ctx)?).await?.into_iter().map(Into::into).collect())
    }

    /// One webhook endpoint. ADMINs only; NOT_FOUND for another organization's.
    async fn webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookEndpoint> {
        Ok(super::find(db(ctx), actor(ctx)?, parse_id("id", &id)?).await?.into())
    }

    /// Every event type an endpoint may ask for (besides `<record>.*` and `*`).
    async fn webhook_event_types(&self) -> Vec<String> {
        catalogue::all().collect()
    }

    /// The webhook delivery log, newest first. ADMINs only.
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        filter: Option<WebhookDeliveryFilter>,
        #[graphql(desc = "Return at most this many deliveries from the start (default 20, at most 100).")]
        first: Option<i32>,
        #[graphql(desc = "Return deliveries after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return at most this many deliveries from the end (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return deliveries before this cursor.")] before: Option<String>,
    ) -> Result<WebhookDeliveryConnection> {
        let actor = actor(ctx)?;
        let org = actor.org_id;
        let window = PageArgs::new(first, after, last, before).window(LIST, org)?;
        let filter = filter.unwrap_or_default();
        let criteria = DeliveryCriteria {
            endpoint_id: filter.endpoint_id.as_ref().map(|id| parse_id("filter.endpointId", id)).transpose()?,
            status: filter.status.map(Into::into),
            event_type: filter.event_type,
            object_id: filter.object_id.as_ref().map(|id| parse_id("filter.objectId", id)).transpose()?,
        };
        let page = deliveries::list(db(ctx), actor, &criteria, &window, selects(ctx, "totalCount")).await?;
        let mut attempts = if nodes_select(ctx, "attemptLog") {
            let ids: Vec<_> = page.items.iter().map(|d| d.id).collect();
            Some(deliveries::attempts(db(ctx), actor, &ids).await?)
        } else {
            None
        };
        Ok(WebhookDeliveryConnection::from_page(
            ctx,
            page,
            |m| encode_cursor(LIST, org, &m.id),
            |m| {
                let log = attempts
                    .as_mut()
                    .map(|all| all.remove(&m.id).unwrap_or_default().into_iter().map(WebhookAttempt::from).collect());
                WebhookDelivery { prefetched: log, ..m.into() }
            },
        ))
    }

    /// One webhook delivery. ADMINs only; NOT_FOUND for another organization's.
    async fn webhook_delivery(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookDelivery> {
        Ok(deliveries::find(db(ctx), actor(ctx)?, parse_id("id", &id)?).await?.into())
    }
}

/// An endpoint to create.
#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// Where to post: `https://` to a public host (at most 2,048 characters).
    pub url: String,
    /// What it is for (at most 500 characters).
    pub description: Option<String>,
    /// The event types to receive (1 to 100): exact types from `webhookEventTypes`,
    /// `<record>.*` or `*`.
    pub event_types: Vec<String>,
    /// Narrow lead events to leads in, entering or leaving these stages; leave out for all.
    #[graphql(default)]
    pub lead_stages: Vec<LifecycleStage>,
}

/// A webhook endpoint and its signing secret.
#[derive(SimpleObject)]
pub struct WebhookSecretPayload {
    /// The endpoint as stored.
    pub endpoint: WebhookEndpoint,
    /// The signing secret (`whsec_…`) receivers verify signatures with. Shown only
    /// now: store it safely; `rotateWebhookSecret` makes a new one.
    pub secret: String,
}

/// Changes to an endpoint; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    /// The endpoint's id.
    pub id: ID,
    /// New URL; null is refused.
    pub url: MaybeUndefined<String>,
    /// New description; null clears it.
    pub description: MaybeUndefined<String>,
    /// New event types; null is refused.
    pub event_types: MaybeUndefined<Vec<String>>,
    /// New lead-stage filter; `[]` for every stage, null is refused.
    pub lead_stages: MaybeUndefined<Vec<LifecycleStage>>,
}

/// Names one webhook endpoint.
#[derive(InputObject)]
pub struct WebhookEndpointInput {
    /// The endpoint's id.
    pub id: ID,
}

/// A webhook endpoint after a change.
#[derive(SimpleObject)]
pub struct WebhookEndpointPayload {
    /// The endpoint as stored after the change.
    pub endpoint: WebhookEndpoint,
}

/// The result of deleting a webhook endpoint.
#[derive(SimpleObject)]
pub struct DeleteWebhookEndpointPayload {
    /// Id of the endpoint deleted, with its delivery log.
    pub deleted_id: ID,
}

/// Names one webhook delivery.
#[derive(InputObject)]
pub struct RedeliverWebhookInput {
    /// The delivery's id.
    pub delivery_id: ID,
}

/// Names the endpoint a test delivery goes to.
#[derive(InputObject)]
pub struct SendTestWebhookInput {
    /// The endpoint's id.
    pub endpoint_id: ID,
}

/// A webhook delivery after a change.
#[derive(SimpleObject)]
pub struct WebhookDeliveryPayload {
    /// The delivery as stored: PENDING and due now. Read it again (`webhookDelivery`)
    /// to see the outcome.
    pub delivery: WebhookDelivery,
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Register a webhook endpoint. ADMINs only; an organization has at most 20.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> Result<WebhookSecretPayload> {
        let new = NewEndpoint {
            url: input.url,
            description: input.description,
            event_types: input.event_types,
            lead_stages: input.lead_stages.into_iter().map(Into::into).collect(),
        };
        let (endpoint, secret) = super::create(db(ctx), actor(ctx)?, &settings(ctx).webhooks, new).await?;
        Ok(WebhookSecretPayload { endpoint: endpoint.into(), secret })
    }

    /// Change an endpoint's URL, description, event types or lead-stage filter. ADMINs only.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookEndpointInput,
    ) -> Result<WebhookEndpointPayload> {
        let id = parse_id("id", &input.id)?;
        let changes = EndpointChanges {
            url: keep_or_set("url", input.url)?,
            description: clearable(input.description),
            event_types: keep_or_set("eventTypes", input.event_types)?,
            lead_stages: keep_or_set("leadStages", input.lead_stages)?.map(|s| s.into_iter().map(Into::into).collect()),
        };
        let endpoint = super::update(db(ctx), actor(ctx)?, &settings(ctx).webhooks, id, changes).await?;
        Ok(WebhookEndpointPayload { endpoint: endpoint.into() })
    }

    /// Stop deliveries to an endpoint (waiting ones are kept). ADMINs only.
    async fn disable_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> Result<WebhookEndpointPayload> {
        let endpoint = super::set_enabled(db(ctx), actor(ctx)?, parse_id("id", &input.id)?, false).await?;
        Ok(WebhookEndpointPayload { endpoint: endpoint.into() })
    }

    /// Resume deliveries to an endpoint, waiting ones first. ADMINs only.
    async fn enable_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> Result<WebhookEndpointPayload> {
        let endpoint = super::set_enabled(db(ctx), actor(ctx)?, parse_id("id", &input.id)?, true).await?;
        Ok(WebhookEndpointPayload { endpoint: endpoint.into() })
    }

    /// Replace an endpoint's signing secret. For 24 hours deliveries carry a signature
    /// by the old secret too, so receivers can switch without losing one. ADMINs only.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> Result<WebhookSecretPayload> {
        let (endpoint, secret) = super::rotate_secret(db(ctx), actor(ctx)?, parse_id("id", &input.id)?).await?;
        Ok(WebhookSecretPayload { endpoint: endpoint.into(), secret })
    }

    /// Delete an endpoint and its delivery log. ADMINs only.
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> Result<DeleteWebhookEndpointPayload> {
        let id = super::delete(db(ctx), actor(ctx)?, parse_id("id", &input.id)?).await?;
        Ok(DeleteWebhookEndpointPayload { deleted_id: id.into() })
    }

    /// Send a delivery again (same `webhook-id` and body, new signature), with a new
    /// round of retries. ADMINs only; CONFLICT while its endpoint is disabled.
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        input: RedeliverWebhookInput,
    ) -> Result<WebhookDeliveryPayload> {
        let id = parse_id("deliveryId", &input.delivery_id)?;
        let delivery = deliveries::redeliver(db(ctx), actor(ctx)?, id).await?;
        Ok(WebhookDeliveryPayload { delivery: delivery.into() })
    }

    /// Queue a `webhook.test` delivery to an endpoint, whatever event types it asked
    /// for, to check its URL and signature verification. ADMINs only.
    async fn send_test_webhook(
        &self,
        ctx: &Context<'_>,
        input: SendTestWebhookInput,
    ) -> Result<WebhookDeliveryPayload> {
        let id = parse_id("endpointId", &input.endpoint_id)?;
        let delivery = deliveries::send_test(db(ctx), actor(ctx)?, id).await?;
        Ok(WebhookDeliveryPayload { delivery: delivery.into() })
    }
}

fn settings<'a>(ctx: &Context<'a>) -> &'a Config {
    ctx.data_unchecked::<Arc<Config>>()
}
