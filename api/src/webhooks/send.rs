//! The sender: claims due deliveries, posts each signed per the Standard Webhooks
//! specification, and records the outcome: success, or a retry after the next wait of
//! the schedule (less up to a fifth at random, so retries spread out), or, after the
//! last, FAILED. An endpoint whose every attempt has failed for
//! `ACCORD_WEBHOOKS_DISABLE_AFTER` is disabled, with an audit entry.
//!
//! A claim moves a delivery's `next_attempt_at` past the attempt's longest time (the
//! lease) and commits before the request is made; the outcome is written after it.
//! A process that stops in between leaves the delivery due again when the lease
//! lapses, so it is sent at least once whatever happens to the sender. Deliveries of
//! one object to one endpoint go one at a time, in the order their events happened: a
//! delivery waits while an earlier one of the same object is unfinished.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, Utc};
use entity::WebhookDeliveryStatus;
use entity::webhook_delivery::{Column, Entity, Model};
use entity::webhook_endpoint::Model as Endpoint;
use hmac::{Hmac, Mac};
use rand::Rng;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use sha2::Sha256;
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::target::{self, Blocked, GuardedResolver};
use crate::auth::Actor;
use crate::config::WebhookSettings;
use crate::db::claim::claim;
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};

/// Attempts one process makes at once.
const CONCURRENCY: usize = 256;
/// Most of an answer's body kept in the delivery log.
pub const KEPT_RESPONSE_BYTES: usize = 1_024;
/// How often the sender looks for retries that came due.
const TICK: Duration = Duration::from_secs(1);

/// Sends webhooks for one process.
#[derive(Clone)]
pub struct Sender {
    db: DatabaseConnection,
    settings: Arc<WebhookSettings>,
    client: reqwest::Client,
    permits: Arc<Semaphore>,
    /// Told when an attempt's slot frees, so waiting deliveries are claimed at once.
    freed: Arc<tokio::sync::Notify>,
    /// Outcomes on their way to the recorder, which writes them many at a time.
    finished: tokio::sync::mpsc::UnboundedSender<Finished>,
}

/// An attempt made, waiting to be recorded; `recorded` is told once it is.
struct Finished {
    delivery: Model,
    endpoint: Endpoint,
    outcome: Outcome,
    recorded: tokio::sync::oneshot::Sender<()>,
}

/// Most outcomes one recording transaction writes.
const RECORD_BATCH: usize = 500;

/// What one attempt came to.
#[derive(Debug)]
struct Outcome {
    at: DateTime<Utc>,
    status_code: Option<u16>,
    latency: Duration,
    error: Option<String>,
    response: Option<String>,
}

impl Outcome {
    fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|code| (200..300).contains(&code))
    }
}

impl Sender {
    pub fn new(db: DatabaseConnection, settings: WebhookSettings) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { allow_private: settings.allow_private }))
            .user_agent(concat!("Accord-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ApiError::internal)?;
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        let settings = Arc::new(settings);
        let (finished, outcomes) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(record_all(db.clone(), settings.clone(), outcomes));
        Ok(Self { db, settings, client, permits, freed: Arc::default(), finished })
    }

    /// How long a claimed delivery stays invisible to other senders: longer than an
    /// attempt can take, with room to record its outcome.
    fn lease(&self) -> Duration {
        self.settings.timeout * 2 + Duration::from_secs(5)
    }

    /// Send every delivery due now (as many as free attempt slots allow) and wait for
    /// their outcomes; returns how many were attempted.
    pub async fn deliver_due(&self) -> Result<usize> {
        let started = self.start_due().await?;
        let count = started.len();
        for handle in started {
            let _ = handle.await;
        }
        Ok(count)
    }

    /// Claim due deliveries for the free attempt slots and start their attempts.
    async fn start_due(&self) -> Result<Vec<tokio::task::JoinHandle<()>>> {
        let free = self.permits.available_permits();
        if free == 0 {
            return Ok(Vec::new());
        }
        let claimed = self.claim(free as u64).await?;
        let mut handles = Vec::with_capacity(claimed.len());
        for (delivery, endpoint) in claimed {
            let Ok(permit) = self.permits.clone().try_acquire_owned() else { break };
            let sender = self.clone();
            handles.push(tokio::spawn(async move {
                let outcome = sender.attempt(&endpoint, &delivery).await;
                let (recorded, done) = tokio::sync::oneshot::channel();
                // The slot is held until the outcome is written: the delivery stays
                // claimed, and a later one of its object waits, until then.
                if sender.finished.send(Finished { delivery, endpoint, outcome, recorded }).is_ok() {
                    let _ = done.await;
                }
                drop(permit);
                sender.freed.notify_one();
            }));
        }
        Ok(handles)
    }

    /// Claim up to `limit` due deliveries of enabled endpoints, none held back by an
    /// earlier unfinished delivery of the same object.
    async fn claim(&self, limit: u64) -> Result<Vec<(Model, Endpoint)>> {
        use entity::webhook_endpoint::{Column as E, Entity as Endpoints};
        let now = Utc::now();
        let earlier = Alias::new("earlier");
        let held_back = Query::select()
            .expr(Expr::val(1))
            .from_as(Entity, earlier.clone())
            .and_where(Expr::col((earlier.clone(), Column::EndpointId)).equals((Entity, Column::EndpointId)))
            .and_where(Expr::col((earlier.clone(), Column::EntityId)).equals((Entity, Column::EntityId)))
            .and_where(Expr::col((earlier.clone(), Column::Status)).eq("PENDING"))
            .and_where(Expr::col((earlier.clone(), Column::Id)).lt(Expr::col((Entity, Column::Id))))
            .to_owned();
        let enabled = Query::select().column(E::Id).from(Endpoints).and_where(E::Enabled.eq(true)).to_owned();
        let txn = crate::db::begin_write(&self.db).await?;
        if crate::db::dialect::is_postgres(&txn) {
            // Planned for the table as it is now: a generic plan made while the table was
            // small walked every waiting delivery per candidate (docs/performance.md).
            txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan").await?;
        }
        let select = Entity::find()
            .filter(Column::Status.eq("PENDING"))
            .filter(Column::NextAttemptAt.lte(now))
            .filter(Column::EndpointId.in_subquery(enabled))
            .filter(Condition::all().add(Expr::exists(held_back).not()))
            .order_by_asc(Column::NextAttemptAt)
            .limit(limit);
        let due = claim(&txn, select).all(&txn).await?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let until = now + chrono::Duration::from_std(self.lease()).unwrap_or(chrono::Duration::minutes(1));
        Entity::update_many()
            .col_expr(Column::NextAttemptAt, Expr::value(until))
            .filter(Column::Id.is_in(due.iter().map(|d| d.id)))
            .exec(&txn)
            .await?;
        let endpoints = Endpoints::find().filter(E::Id.is_in(due.iter().map(|d| d.endpoint_id))).all(&txn).await?;
        txn.commit().await?;
        Ok(due
            .into_iter()
            .filter_map(|d| endpoints.iter().find(|e| e.id == d.endpoint_id).map(|e| (d, e.clone())))
            .collect())
    }

    /// Post one delivery.
    async fn attempt(&self, endpoint: &Endpoint, delivery: &Model) -> Outcome {
        let at = Utc::now();
        let started = Instant::now();
        let failed = |error: String| Outcome {
            at,
            status_code: None,
            latency: started.elapsed(),
            error: Some(error),
            response: None,
        };
        let url = match url::Url::parse(&endpoint.url) {
            Ok(url) => url,
            Err(e) => return failed(format!("the endpoint URL is invalid: {e}")),
        };
        if let Err(why) = target::check_host(&url, self.settings.allow_private) {
            return failed(format!("blocked: {why}"));
        }
        let id = delivery.id.to_string();
        let timestamp = at.timestamp();
        let signature = sign(&super::signing_secrets(endpoint, at), &id, timestamp, &delivery.body);
        let sent = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.body.clone())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => return failed(describe(&e, self.settings.timeout)),
        };
        let status = response.status().as_u16();
        let mut kept = Vec::new();
        // Read no more than is kept; a body still arriving at the time-out is cut there.
        while kept.len() < KEPT_RESPONSE_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        kept.truncate(KEPT_RESPONSE_BYTES);
        let mut text = String::from_utf8_lossy(&kept).into_owned();
        text.retain(|c| c != '\0');
        Outcome {
            at,
            status_code: Some(status),
            latency: started.elapsed(),
            error: (!(200..300).contains(&status)).then(|| format!("the endpoint answered HTTP {status}")),
            response: (!text.is_empty()).then_some(text),
        }
    }
}

/// Write outcomes as they come, many per transaction, telling each attempt when its
/// outcome is written. A batch that fails to commit leaves its deliveries claimed
/// until the lease lapses; they are then sent again.
async fn record_all(
    db: DatabaseConnection,
    settings: Arc<WebhookSettings>,
    mut outcomes: tokio::sync::mpsc::UnboundedReceiver<Finished>,
) {
    while let Some(first) = outcomes.recv().await {
        let mut batch = vec![first];
        while batch.len() < RECORD_BATCH {
            match outcomes.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        if let Err(e) = record(&db, &settings, &batch).await {
            tracing::warn!(error = %e, count = batch.len(), "recording webhook attempts failed; they are sent again when their claims lapse");
        }
        for finished in batch {
            let _ = finished.recorded.send(());
        }
    }
}

/// Write attempts' outcomes in one transaction: the attempt rows, where each delivery
/// stands, and each endpoint's failure streak (disabling it once the streak is too long).
async fn record(db: &DatabaseConnection, settings: &WebhookSettings, batch: &[Finished]) -> Result<()> {
    use entity::webhook_endpoint::{ActiveModel as EndpointModel, Column as E, Entity as Endpoints};
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let attempts = batch.iter().map(|f| entity::webhook_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(f.delivery.org_id),
        delivery_id: Set(f.delivery.id),
        number: Set(f.delivery.attempts + 1),
        at: Set(f.outcome.at),
        status_code: Set(f.outcome.status_code.map(i32::from)),
        latency_ms: Set(latency_ms(&f.outcome)),
        error: Set(f.outcome.error.clone()),
        response: Set(f.outcome.response.clone()),
    });
    crate::db::insert_all(&txn, attempts.collect::<Vec<_>>()).await?;
    let mut results = Vec::with_capacity(batch.len());
    for Finished { delivery, outcome, .. } in batch {
        // Counted from the claimed row: nothing else writes a delivery while it is claimed.
        let round = delivery.round_attempts + 1;
        let (status, next) = if outcome.succeeded() {
            (WebhookDeliveryStatus::Succeeded, None)
        } else {
            match settings.retry_schedule.get(round as usize - 1) {
                Some(wait) => (WebhookDeliveryStatus::Pending, Some(now + jittered(*wait))),
                None => (WebhookDeliveryStatus::Failed, None),
            }
        };
        let finished_at = (status != WebhookDeliveryStatus::Pending).then_some(now);
        Entity::update_many()
            .col_expr(Column::Attempts, Expr::value(delivery.attempts + 1))
            .col_expr(Column::RoundAttempts, Expr::value(round))
            .col_expr(Column::Status, Expr::value(status))
            .col_expr(Column::NextAttemptAt, Expr::value(next))
            .col_expr(Column::LastAttemptAt, Expr::value(Some(outcome.at)))
            .col_expr(Column::LastStatusCode, Expr::value(outcome.status_code.map(i32::from)))
            .col_expr(Column::LastLatencyMs, Expr::value(Some(latency_ms(outcome))))
            .col_expr(Column::LastError, Expr::value(outcome.error.clone()))
            .col_expr(Column::FinishedAt, Expr::value(finished_at))
            .filter(Column::Id.eq(delivery.id))
            .exec(&txn)
            .await?;
        results.push(status);
    }
    // An endpoint that answered once in the batch is not failing; one that only failed
    // is failing from its first failure, unless it already was.
    let answered: std::collections::BTreeSet<Uuid> =
        batch.iter().filter(|f| f.outcome.succeeded()).map(|f| f.endpoint.id).collect();
    let failing: std::collections::BTreeSet<Uuid> =
        batch.iter().map(|f| f.endpoint.id).filter(|id| !answered.contains(id)).collect();
    if !answered.is_empty() {
        Endpoints::update_many()
            .col_expr(E::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(E::Id.is_in(answered))
            .filter(E::FailingSince.is_not_null())
            .exec(&txn)
            .await?;
    }
    if !failing.is_empty() {
        let first_failure = batch.iter().map(|f| f.outcome.at).min().unwrap_or(now);
        Endpoints::update_many()
            .col_expr(E::FailingSince, Expr::value(Some(first_failure)))
            .filter(E::Id.is_in(failing.iter().copied()))
            .filter(E::FailingSince.is_null())
            .exec(&txn)
            .await?;
        let disable_after = chrono::Duration::from_std(settings.disable_after).unwrap_or(chrono::Duration::days(5));
        let stale = Endpoints::find()
            .filter(E::Id.is_in(failing))
            .filter(E::Enabled.eq(true))
            .filter(E::FailingSince.lte(now - disable_after))
            .all(&txn)
            .await?;
        for endpoint in stale {
            let last_error = batch
                .iter()
                .rev()
                .find(|f| f.endpoint.id == endpoint.id)
                .and_then(|f| f.outcome.error.clone())
                .unwrap_or_else(|| "no answer".into());
            let since = endpoint.failing_since.unwrap_or(now);
            let reason = format!(
                "every attempt failed from {} to {}; the last: {last_error}",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
            let (id, org_id) = (endpoint.id, endpoint.org_id);
            let mut model: EndpointModel = endpoint.into();
            model.enabled = Set(false);
            model.disabled_at = Set(Some(now));
            model.disabled_reason = Set(Some(reason.clone()));
            model.updated_at = Set(now);
            model.update(&txn).await?;
            let changes = Changes::new().field("enabled", Some(&true), Some(&false)).created("reason", &reason);
            audit::record(
                &txn,
                &Actor::system(org_id),
                "webhookEndpoint.autoDisable",
                "webhookEndpoint",
                Some(id),
                changes,
            )
            .await?;
            tracing::warn!(endpoint = %id, org = %org_id, "disabled a failing webhook endpoint");
        }
    }
    txn.commit().await?;
    for (finished, status) in batch.iter().zip(results) {
        let result = match status {
            WebhookDeliveryStatus::Succeeded => "succeeded",
            WebhookDeliveryStatus::Pending => "retrying",
            WebhookDeliveryStatus::Failed => "failed",
        };
        metrics::counter!("accord_webhook_attempts_total", "result" => result).increment(1);
        metrics::histogram!("accord_webhook_attempt_seconds").record(finished.outcome.latency.as_secs_f64());
    }
    Ok(())
}

fn latency_ms(outcome: &Outcome) -> i32 {
    outcome.latency.as_millis().min(i32::MAX as u128) as i32
}

/// A wait of the schedule, shortened by up to a fifth at random.
fn jittered(wait: Duration) -> chrono::Duration {
    let factor = 1.0 - rand::rng().random_range(0.0..0.2);
    chrono::Duration::from_std(wait.mul_f64(factor)).unwrap_or(chrono::Duration::hours(1))
}

/// The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256, keyed by the
/// secret's bytes (base64 after `whsec_`), of `{id}.{timestamp}.{body}`; one per
/// secret, separated by spaces.
pub fn sign(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    let base64 = base64::engine::general_purpose::STANDARD;
    secrets
        .iter()
        .filter_map(|secret| {
            let key = base64.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
            Some(format!("v1,{}", base64.encode(mac.finalize().into_bytes())))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a request got no answer, in words for the delivery log (no URL: it is shown
/// beside it).
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(blocked) = cause.downcast_ref::<Blocked>() {
            return format!("blocked: {blocked}");
        }
        source = cause.source();
    }
    if error.is_timeout() {
        return format!("no answer within {}", humantime::format_duration(timeout));
    }
    let mut detail = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    let what = if error.is_connect() { "could not connect" } else { "the request failed" };
    let mut text = if detail.is_empty() { what.to_owned() } else { format!("{what}: {detail}") };
    text.truncate(text.floor_char_boundary(500));
    text
}

/// Send webhooks in this process: at once when the relay hands over new events, and
/// every second for retries that came due. Once an hour, deliveries finished more than
/// `retention` ago are deleted.
pub fn spawn(db: DatabaseConnection, settings: WebhookSettings, retention: Duration) {
    let sender = match Sender::new(db, settings) {
        Ok(sender) => sender,
        Err(e) => {
            tracing::error!(error = %e, "webhooks cannot be sent: the HTTP client failed to start");
            return;
        }
    };
    let mut relayed = crate::events::relay::subscribe();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_prune: Option<Instant> = None;
        loop {
            if last_prune.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
                last_prune = Some(Instant::now());
                let before = Utc::now() - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::days(30));
                match super::deliveries::prune(&sender.db, before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "pruned finished webhook deliveries"),
                    Err(e) => tracing::warn!(error = %e, "pruning webhook deliveries failed; retrying in an hour"),
                }
            }
            tokio::select! {
                _ = tick.tick() => {}
                _ = sender.freed.notified(), if sender.permits.available_permits() == 0 => {}
                heard = relayed.recv() => {
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) = heard {
                        return;
                    }
                    // One claim for the whole burst a relay pass announced, not one per event.
                    while !matches!(relayed.try_recv(), Err(tokio::sync::broadcast::error::TryRecvError::Empty | tokio::sync::broadcast::error::TryRecvError::Closed)) {}
                }
            }
            loop {
                match sender.start_due().await {
                    // Claim again while slots are free and deliveries were waiting.
                    Ok(started) if !started.is_empty() && sender.permits.available_permits() > 0 => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming webhook deliveries failed; retrying");
                        break;
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        // The specification's own example (standard-webhooks, spec/standard-webhooks.md).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let signature = sign(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let two = sign(&[secret, secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(two, format!("{signature} {signature}"));
    }

    #[test]
    fn jitter_only_shortens_a_wait_by_up_to_a_fifth() {
        for _ in 0..100 {
            let wait = jittered(Duration::from_secs(100)).num_milliseconds();
            assert!((80_000..=100_000).contains(&wait), "{wait}");
        }
    }
}
