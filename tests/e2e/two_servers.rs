//! Two server processes on one PostgreSQL database, both running the background jobs,
//! under the benchmark's mix of reads (bench/queries) and writes (imports among them)
//! for 30 s, requests alternating between them: no request fails, and every job
//! (rescoring, webhook deliveries, the SLA clock, the KPI rollup) is done exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use entity::{Role, Team};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::common::*;
use crate::webhooks::Receiver;

const LOAD_FOR: Duration = Duration::from_secs(30);
const WORKERS: usize = 8;

const LEADS_PAGE: &str = include_str!("../../bench/queries/a_leads_page.graphql");
const LEAD_DETAIL: &str = include_str!("../../bench/queries/b_lead_detail.graphql");
const MY_QUEUE: &str = include_str!("../../bench/queries/c_my_queue.graphql");
const MESSAGE_MATRIX: &str = include_str!("../../bench/queries/d_message_matrix.graphql");
const CREATE_LEAD: &str = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
const MOVE: &str = "mutation($input: MoveLeadStageInput!) { moveLeadStage(input: $input) { lead { id } } }";
const ENGAGE: &str = "mutation($input: RecordEngagementInput!) { recordEngagement(input: $input) { duplicates } }";
const IMPORT: &str = "mutation($input: ImportLeadsInput!) { importLeads(input: $input) { created errors } }";
const HAND_OVER: &str = "mutation($input: HandOverLeadInput!) { handOverLead(input: $input) { handover { id } } }";
const CREATE_SLA: &str = "mutation($input: CreateSlaInput!) { createSla(input: $input) { sla { id } } }";
const KPIS: &str = "query($input: KpiInput!) { kpis(input: $input) { points { value } } }";
const CREATE_MODEL: &str =
    "mutation($input: CreateScoringModelInput!) { createScoringModel(input: $input) { scoringModel { id } } }";
const APPROVE: &str = "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }";

fn model(name: &str, visit_points: u32) -> Value {
    json!({
        "name": name,
        "propose": true,
        "fitRules": [{ "name": "VP title", "attribute": "LEAD_TITLE", "operator": "CONTAINS", "value": "VP", "points": 10 }],
        "engagementRules": [
            { "name": "Web visits", "kind": "WEB_VISIT", "pointsPerEvent": visit_points, "cap": 50, "halfLifeDays": 30 },
        ],
        "thresholds": { "warm": 15, "hot": 40, "mql": 90 },
    })
}

fn today() -> Value {
    let today = chrono::Utc::now().date_naive();
    json!({ "input": { "metrics": ["LEADS_CREATED"], "from": today.pred_opt().unwrap(), "to": today.succ_opt().unwrap(), "granularity": "DAY" } })
}

struct Load<'a> {
    servers: &'a [Replica; 2],
    marketer: &'a str,
    sales: &'a str,
    /// The sales rep MQLs are handed over to.
    rep: String,
    sent: AtomicUsize,
}

impl Load<'_> {
    /// Send to the next server in turn; the request must succeed.
    async fn send(&self, token: &str, query: &str, variables: Value) -> Value {
        let turn = self.sent.fetch_add(1, Ordering::Relaxed);
        let body = self.servers[turn % 2].gql(Some(token), query, variables).await;
        assert!(body.get("errors").is_none() && body["data"].is_object(), "{query}: {body}");
        body
    }

    /// Agree a new scoring model (proposed by marketing, approved by both teams): a
    /// rescoring job for the servers to run.
    async fn agree_model(&self, name: &str, visit_points: u32) {
        let body = self.send(self.marketer, CREATE_MODEL, json!({ "input": model(name, visit_points) })).await;
        let id = body["data"]["createScoringModel"]["scoringModel"]["id"].as_str().unwrap().to_owned();
        self.agree("SCORING_MODEL", &id).await;
    }

    /// Both teams approve version 1 of document `id`.
    async fn agree(&self, kind: &str, id: &str) {
        let version = json!({ "input": { "kind": kind, "id": id, "version": 1 } });
        self.send(self.sales, APPROVE, version.clone()).await;
        let agreed = self.send(self.marketer, APPROVE, version).await;
        assert_eq!(agreed["data"]["approveDocument"]["agreed"], true, "{agreed}");
    }

    /// Sales answers handovers within `hours`, agreed: the SLA clock's deadline.
    async fn agree_response_sla(&self, hours: f64) {
        let input = json!({ "input": { "providerTeam": "SALES", "consumerTeam": "MARKETING",
            "metric": "HANDOVER_RESPONSE_HOURS", "target": hours, "period": "MONTH", "propose": true } });
        let body = self.send(self.sales, CREATE_SLA, input).await;
        self.agree("SLA", body["data"]["createSla"]["sla"]["id"].as_str().unwrap()).await;
    }

    /// One worker's share of the mix until `until`; the leads it created.
    async fn work(&self, worker: usize, until: Instant) -> usize {
        let mut mine: Vec<String> = Vec::new();
        let mut step = 0usize;
        let mut imported = 0usize;
        let mut mqls: Vec<String> = Vec::new();
        while Instant::now() < until {
            step += 1;
            let last = mine.last().cloned();
            match (step % 10, last) {
                (0..=2, _) | (_, None) => {
                    let email = format!("w{worker}-{step}@load.test");
                    let input = json!({ "input": { "email": email, "title": "VP Sales" } });
                    let body = self.send(self.marketer, CREATE_LEAD, input).await;
                    mine.push(body["data"]["createLead"]["lead"]["id"].as_str().unwrap().to_owned());
                }
                (3, Some(lead)) => {
                    self.send(self.marketer, MOVE, json!({ "input": { "leadId": lead, "to": "MQL" } })).await;
                    mqls.push(lead);
                }
                (4, Some(lead)) => {
                    let at = chrono::Utc::now().to_rfc3339();
                    let event = json!({ "leadId": lead, "kind": "WEB_VISIT", "occurredAt": at });
                    self.send(self.marketer, ENGAGE, json!({ "input": { "events": [event] } })).await;
                }
                (5, _) => _ = self.send(self.marketer, LEADS_PAGE, json!({})).await,
                (6, Some(lead)) => _ = self.send(self.marketer, LEAD_DETAIL, json!({ "id": lead })).await,
                (7, _) => _ = self.send(self.sales, MY_QUEUE, json!({})).await,
                (8, _) => _ = self.send(self.marketer, MESSAGE_MATRIX, json!({})).await,
                (_, _) if step % 20 == 9 => {
                    // Every other import is large (copied on PostgreSQL): the leads grow by
                    // thousands in the first seconds, past the plans made on empty tables.
                    let n = if step % 40 == 9 { 120 } else { 20 };
                    let rows: Vec<Value> = (0..n)
                        .map(|r| json!({ "email": format!("w{worker}-{step}-{r}@import.test"), "title": "VP" }))
                        .collect();
                    let body = self.send(self.marketer, IMPORT, json!({ "input": { "rows": rows } })).await;
                    assert_eq!(body["data"]["importLeads"]["created"], n, "{body}");
                    imported += n;
                }
                (_, _) if step % 20 == 19 && !mqls.is_empty() => {
                    let lead = mqls.remove(0);
                    let input = json!({ "input": { "leadId": lead, "toUserId": self.rep, "note": "load" } });
                    self.send(self.marketer, HAND_OVER, input).await;
                }
                _ => _ = self.send(self.marketer, KPIS, today()).await,
            }
        }
        mine.len() + imported
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let row = app.db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned())).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
#[ignore = "PostgreSQL only: two server processes share one PostgreSQL database (ACCORD_TEST_DATABASE_URL)"]
async fn two_servers_under_the_mixed_load_fail_nothing_and_do_every_job_exactly_once() {
    require_postgres();
    let app = spawn_app().await;
    mixed_load(&app, &[], LOAD_FOR).await;
}

/// Two servers with jobs (`server` their settings besides the test's) under the mix for
/// `load_for`, then the checks: no request failed, every job done exactly once.
pub(crate) async fn mixed_load(app: &TestApp, server: &[(&str, &str)], load_for: Duration) {
    let org = app.create_org("Acme").await;
    let marketer = app.create_user(&org, Team::Marketing, Role::Manager).await;
    let sales = app.create_user(&org, Team::Sales, Role::Manager).await;
    let receiver = Receiver::start().await;
    let hook = json!({ "input": { "url": receiver.url("load"), "eventTypes": ["lead.stageChanged"] } });
    let created = app
        .gql(
            Some(&org.admin.token),
            "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }",
            hook,
        )
        .await;
    let secret = created["data"]["createWebhookEndpoint"]["secret"].as_str().unwrap_or_else(|| panic!("{created}"));
    // The benchmark's load, not its limits: every request spends the shared window still.
    let mut settings = vec![
        ("ACCORD_WEBHOOKS_ALLOW_PRIVATE", "true"),
        ("ACCORD_WEBHOOKS_TIMEOUT", "5s"),
        ("ACCORD_RATE_LIMIT_PER_MINUTE", "1000000"),
    ];
    settings.extend_from_slice(server);
    let servers = [0, 1].map(|_| Replica::start_with(app.database_url(), true, &settings));
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let load = Load {
        servers: &servers,
        marketer: &marketer.token,
        sales: &sales.token,
        rep: rep.id.to_string(),
        sent: AtomicUsize::new(0),
    };
    load.agree_model("First", 5).await;
    // Handovers fall due 36 s after they are made, for the SLA clock to mark (every 30 s).
    load.agree_response_sla(0.01).await;

    // The mix, and a new scoring model agreed every 8 s (each a rescoring job).
    let until = Instant::now() + load_for;
    let models = async {
        let mut agreed = 1;
        while Instant::now() + Duration::from_secs(8) < until {
            tokio::time::sleep(Duration::from_secs(8)).await;
            agreed += 1;
            load.agree_model(&format!("Model {agreed}"), agreed).await;
        }
        agreed
    };
    let workers = futures_util::future::join_all((0..WORKERS).map(|w| load.work(w, until)));
    let (models, created) = tokio::join!(models, workers);
    let leads: usize = created.iter().sum();
    let sent = load.sent.load(Ordering::Relaxed);
    println!("{sent} requests in {load_for:?} over two servers; {leads} leads created, {models} models agreed");
    assert!(sent as u64 > 5 * load_for.as_secs(), "only {sent} requests were sent");

    // Let the queues drain: rescoring, the outbox relay and the webhook deliveries.
    let org_id = org.id;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting =
            count(app, &format!("SELECT count(*) FROM rescore_jobs WHERE org_id = '{org_id}' AND status <> 'DONE'"))
                .await
                + count(
                    app,
                    &format!("SELECT count(*) FROM outbox_events WHERE org_id = '{org_id}' AND relayed_at IS NULL"),
                )
                .await
                + count(
                    app,
                    &format!(
                        "SELECT count(*) FROM webhook_deliveries WHERE org_id = '{org_id}' AND finished_at IS NULL"
                    ),
                )
                .await
                + count(app, &format!("SELECT count(*) FROM kpi_dirty_marks WHERE org_id = '{org_id}'")).await;
        if waiting == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} jobs, events, deliveries or KPI marks still waiting after a minute"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Rescoring: every job done whole, and finished once.
    let jobs =
        count(app, &format!("SELECT count(*) FROM rescore_jobs WHERE org_id = '{org_id}' AND kind = 'MODEL'")).await;
    assert!(jobs >= i64::from(models), "{jobs} rescoring jobs for {models} models");
    let unfinished = count(app, &format!("SELECT count(*) FROM rescore_jobs WHERE org_id = '{org_id}' AND (processed <> total OR finished_at IS NULL)")).await;
    assert_eq!(unfinished, 0);
    let finished = app.count_outbox_events(&org, "rescoreJob.finished").await as i64;
    let all_jobs = count(app, &format!("SELECT count(*) FROM rescore_jobs WHERE org_id = '{org_id}'")).await;
    assert_eq!(finished, all_jobs, "each rescoring job announces its end once");

    // Webhooks: every stage change delivered once, none twice, each signature valid.
    let moved: HashSet<String> = {
        let sql =
            format!("SELECT id::text FROM outbox_events WHERE org_id = '{org_id}' AND kind = 'lead.stageChanged'");
        let rows = app.db.query_all_raw(Statement::from_string(DbBackend::Postgres, sql)).await.unwrap();
        rows.iter().map(|r| r.try_get_by_index::<String>(0).unwrap()).collect()
    };
    assert!(!moved.is_empty());
    let received = receiver.received("load", secret).await;
    let mut deliveries: HashMap<String, usize> = HashMap::new();
    for delivery in &received {
        assert_eq!(delivery["verified"], true, "{delivery}");
        *deliveries.entry(delivery["body"]["data"]["eventId"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    let twice: Vec<_> = deliveries.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(deliveries.keys().cloned().collect::<HashSet<_>>(), moved, "every stage change delivered");

    // The SLA clock: wait for its next round past the first handovers' deadline; every
    // handover it marked overdue is announced once.
    let handed = count(app, &format!("SELECT count(*) FROM handovers WHERE org_id = '{org_id}'")).await;
    assert!(handed > 0, "no handover was made");
    let deadline = Instant::now() + Duration::from_secs(75);
    loop {
        let overdue =
            count(app, &format!("SELECT count(*) FROM handovers WHERE org_id = '{org_id}' AND overdue")).await;
        if overdue > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the SLA clock marked none of {handed} handovers overdue");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Marked and announced in one transaction per batch: counted in one snapshot.
    let sql = format!(
        "SELECT (SELECT count(*) FROM handovers WHERE org_id = '{org_id}' AND overdue), \
         (SELECT count(*) FROM outbox_events WHERE org_id = '{org_id}' AND kind = 'handover.overdue'), \
         (SELECT count(DISTINCT entity_id) FROM outbox_events WHERE org_id = '{org_id}' AND kind = 'handover.overdue')"
    );
    let row = app.db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await.unwrap().unwrap();
    let [overdue, announced, distinct] = [0, 1, 2].map(|i| row.try_get_by_index::<i64>(i).unwrap());
    assert!(overdue > 0);
    assert_eq!((announced, distinct), (overdue, overdue), "each overdue handover announced once");

    // KPI rollup: both servers rolled up the days; the figure counts each lead once.
    let stored = count(app, &format!("SELECT count(*) FROM leads WHERE org_id = '{org_id}'")).await;
    let body = servers[0].gql(Some(&marketer.token), KPIS, today()).await;
    let reported: f64 =
        body["data"]["kpis"][0]["points"].as_array().unwrap().iter().map(|p| p["value"].as_f64().unwrap_or(0.0)).sum();
    assert_eq!(reported, stored as f64, "{body}");
    assert_eq!(stored, leads as i64);
}
