//! The generator: consistent rows for one chunk of leads at a time.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use entity::{ActivityKind, EngagementKind, LifecycleStage, OpportunityStage, SalesStrategy, Temperature};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

use super::words::*;
use super::{Batch, HISTORY_DAYS, Naming, People, Person};
use crate::leads::lifecycle::FUNNEL;

/// Makes batches of consistent rows.
pub struct Generator {
    rng: StdRng,
    pub(super) org_id: Uuid,
    people: People,
    naming: Naming,
    pub(super) now: DateTime<Utc>,
    next_account: u64,
    next_lead: u64,
    /// Demo names in use (only [`Naming::Demo`] fills it).
    taken: HashSet<String>,
    /// Per strategy, the next stage of an account-level deal, so small data sets still
    /// show every strategy in every stage.
    next_deal_stage: [usize; 4],
}

/// One lead's path through the funnel, with the time of every move.
pub(super) struct History {
    steps: Vec<(LifecycleStage, DateTime<Utc>)>,
}

impl History {
    fn created(&self) -> DateTime<Utc> {
        self.steps.first().map_or_else(Utc::now, |s| s.1)
    }

    fn last(&self) -> (LifecycleStage, DateTime<Utc>) {
        self.steps.last().copied().unwrap_or((LifecycleStage::New, self.created()))
    }

    fn reached(&self, stage: LifecycleStage) -> Option<DateTime<Utc>> {
        self.steps.iter().find(|s| s.0 == stage).map(|s| s.1)
    }

    /// When the lead left `stage`'s first visit, or now when it is still there.
    fn left(&self, stage: LifecycleStage, now: DateTime<Utc>) -> DateTime<Utc> {
        let index = self.steps.iter().position(|s| s.0 == stage);
        index.and_then(|i| self.steps.get(i + 1)).map_or(now, |s| s.1)
    }
}

impl Generator {
    pub fn new(org_id: Uuid, people: People, naming: Naming, seed: u64, now: DateTime<Utc>) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            org_id,
            people,
            naming,
            now,
            next_account: 0,
            next_lead: 0,
            taken: HashSet::new(),
            next_deal_stage: [0; 4],
        }
    }

    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|i| i.1).sum();
        let mut roll = self.rng.random_range(0..total.max(1));
        for (item, weight) in items {
            if roll < *weight {
                return *item;
            }
            roll -= weight;
        }
        items[0].0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items.choose(&mut self.rng).unwrap_or(&items[0])
    }

    fn salesperson(&mut self) -> Person {
        let index = self.rng.random_range(0..self.people.sales.len());
        self.people.sales[index].clone()
    }

    fn marketer(&mut self) -> Person {
        let index = self.rng.random_range(0..self.people.marketing.len());
        self.people.marketing[index].clone()
    }

    fn days(&mut self, low: f64, high: f64) -> Duration {
        let days = self.rng.random_range(low..high);
        Duration::seconds((days * 86_400.0) as i64)
    }

    /// A demo name not used yet: `base`, then `base2`, `base3`…
    fn unique(&mut self, base: String) -> String {
        let mut candidate = base.clone();
        let mut n = 1;
        while !self.taken.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{base}{n}");
        }
        candidate
    }

    /// `leads` leads spread over about a fifth as many new accounts.
    pub fn batch(&mut self, leads: usize) -> Batch {
        let mut batch = Batch::default();
        let accounts = leads.div_ceil(5).max(1);
        for _ in 0..accounts {
            let account = self.account();
            batch.accounts.push(account);
        }
        for _ in 0..leads {
            let index = self.rng.random_range(0..batch.accounts.len());
            self.lead(&mut batch, index);
        }
        let accounts: Vec<usize> = (0..batch.accounts.len()).collect();
        for index in accounts {
            self.account_deals(&mut batch, index);
        }
        batch
    }

    fn account(&mut self) -> entity::account::Model {
        self.next_account += 1;
        let stem = *self.pick(COMPANY_STEMS);
        let tail = *self.pick(COMPANY_TAILS);
        let kind = *self.pick(COMPANY_KINDS);
        let base = format!("{stem}{tail}");
        let (name, domain) = match &self.naming {
            Naming::Demo => {
                let slug = self.unique(base.to_lowercase());
                let name = if slug == base.to_lowercase() { format!("{base}{kind}") } else { format!("{slug}{kind}") };
                (capitalise(&name), format!("{slug}.com"))
            }
            Naming::Run(token) => {
                let n = self.next_account;
                (format!("{base}{kind} {n}"), format!("{}-{n}-{token}.com", base.to_lowercase()))
            }
        };
        let industry = self.weighted(INDUSTRIES);
        let (region, currency) = {
            let regions: Vec<((&str, &str), u32)> = REGIONS.iter().map(|r| ((r.0, r.1), r.2)).collect();
            self.weighted(&regions)
        };
        // Company sizes are roughly log-uniform: many small, few large.
        let employees = 10f64.powf(self.rng.random_range(1.0..4.7)) as i32;
        let revenue_per_employee = self.rng.random_range(80_000..250_000i64);
        let created = self.now - self.days(HISTORY_DAYS + 5.0, HISTORY_DAYS + 40.0);
        let owner = self.salesperson().id;
        entity::account::Model {
            id: Uuid::now_v7(),
            org_id: self.org_id,
            name_key: name.to_lowercase(),
            name,
            domain: Some(domain),
            industry: Some(industry.to_owned()),
            employee_count: Some(employees),
            annual_revenue_minor: Some(i64::from(employees) * revenue_per_employee * 100),
            currency: Some(currency.to_owned()),
            region: Some(region.to_owned()),
            owner_id: Some(owner),
            customer_since: None,
            archived_at: None,
            version: 1,
            created_at: created,
            updated_at: created,
        }
    }

    /// The stages a lead went through, ending where it is now; every move is allowed
    /// by the lifecycle table.
    fn path(&mut self) -> Vec<LifecycleStage> {
        use LifecycleStage::*;
        let last = self.weighted(&[
            (New, 9),
            (Engaged, 16),
            (Mql, 12),
            (Sal, 7),
            (Sql, 7),
            (Opportunity, 8),
            (Customer, 12),
            (Recycled, 15),
            (Disqualified, 14),
        ]);
        let up_to = |stage: LifecycleStage| -> Vec<LifecycleStage> {
            let end = FUNNEL.iter().position(|s| *s == stage).unwrap_or(0);
            FUNNEL[..=end].to_vec()
        };
        let mut path = match last {
            Recycled => {
                let from = self.weighted(&[(New, 1), (Engaged, 4), (Mql, 4), (Sal, 3), (Sql, 2), (Opportunity, 3)]);
                let mut path = up_to(from);
                path.push(Recycled);
                path
            }
            Disqualified => {
                let from = self.weighted(&[(New, 3), (Engaged, 3), (Mql, 2), (Sal, 3), (Sql, 1)]);
                let mut path = up_to(from);
                path.push(Disqualified);
                path
            }
            Engaged | Mql if self.rng.random_bool(0.2) => {
                // Back from nurture: went as far as MQL..SQL before, now re-engaged.
                let before = *self.pick(&[Mql, Sal, Sql]);
                let mut path = up_to(before);
                path.extend([Recycled, last]);
                path
            }
            stage => up_to(stage),
        };
        // A demo request or a high score takes some leads from NEW straight to MQL.
        if path.len() > 2 && path[1] == Engaged && path[2] == Mql && self.rng.random_bool(0.2) {
            path.remove(1);
        }
        path
    }

    /// How long a lead stays in a stage before it moves on.
    fn dwell(&mut self, stage: LifecycleStage) -> Duration {
        use LifecycleStage::*;
        match stage {
            New => self.days(0.1, 7.0),
            Engaged => self.days(2.0, 40.0),
            Mql => self.days(0.2, 6.0),
            Sal => self.days(0.5, 5.0),
            Sql => self.days(3.0, 25.0),
            Opportunity => self.days(15.0, 75.0),
            Recycled => self.days(20.0, 90.0),
            Customer | Disqualified => self.days(0.0, 1.0),
        }
    }

    /// How long a lead has been in the stage it is in now.
    fn age(&mut self, stage: LifecycleStage) -> Duration {
        use LifecycleStage::*;
        match stage {
            New => self.days(0.0, 30.0),
            Engaged => self.days(0.0, 120.0),
            Mql => self.days(0.0, 10.0),
            Sal => self.days(0.0, 7.0),
            Sql => self.days(0.0, 30.0),
            Opportunity => self.days(0.0, 60.0),
            Customer | Recycled | Disqualified => self.days(0.0, 200.0),
        }
    }

    /// Times for a path, squeezed into the history window when needed.
    fn history(&mut self, path: Vec<LifecycleStage>) -> History {
        let mut spans: Vec<Duration> = Vec::with_capacity(path.len());
        for stage in &path[..path.len().saturating_sub(1)] {
            let span = self.dwell(*stage);
            spans.push(span);
        }
        let current = path.last().copied().unwrap_or(LifecycleStage::New);
        spans.push(self.age(current));
        let total: i64 = spans.iter().map(Duration::num_seconds).sum();
        let window = (HISTORY_DAYS * 86_400.0) as i64;
        let scale = if total > window { window as f64 / total as f64 } else { 1.0 };
        // Each move takes at least a minute; leave room for that so the last move
        // never lands in the future.
        let slack = 60 * spans.len() as i64;
        let mut at = self.now - Duration::seconds((total as f64 * scale) as i64 + slack);
        let mut steps = Vec::with_capacity(path.len());
        for (stage, span) in path.into_iter().zip(spans) {
            steps.push((stage, at));
            at += Duration::seconds(((span.num_seconds() as f64) * scale).max(60.0) as i64);
        }
        History { steps }
    }

    fn lead(&mut self, batch: &mut Batch, account_index: usize) {
        use LifecycleStage::*;
        self.next_lead += 1;
        let n = self.next_lead;
        let account = &batch.accounts[account_index];
        let (account_id, domain, currency, employees) = (
            account.id,
            account.domain.clone().unwrap_or_default(),
            account.currency.clone().unwrap_or_else(|| "EUR".into()),
            account.employee_count.unwrap_or(50),
        );
        let first = *self.pick(FIRST_NAMES);
        let last = *self.pick(LAST_NAMES);
        let (email, external_id) = match &self.naming {
            Naming::Demo => {
                let local = self.unique(format!("{}.{}@{domain}", first.to_lowercase(), last.to_lowercase()));
                (local, format!("crm-{n:05}"))
            }
            Naming::Run(token) => {
                (format!("{}.{}.{n}@{domain}", first.to_lowercase(), last.to_lowercase()), format!("{token}-{n}"))
            }
        };
        let path = self.path();
        let history = self.history(path);
        let (stage, entered) = history.last();
        let created = history.created();
        let marketer = self.marketer();
        let sales = self.salesperson();
        let with_sales = history.reached(Sal).is_some();
        let lead_id = Uuid::now_v7();

        // Stage history: creation first, then every move; automatic moves by the
        // system, handover and qualification by people.
        for (i, (to, at)) in history.steps.iter().enumerate() {
            let from = i.checked_sub(1).map(|p| history.steps[p].0);
            let (reason, person) = match to {
                _ if i == 0 => ("created".to_owned(), None),
                Engaged if from == Some(Recycled) => ("re-engaged from nurture".to_owned(), Some(&marketer)),
                Engaged => ("first engagement".to_owned(), None),
                Mql => ("score crossed the MQL threshold".to_owned(), None),
                Sal => ("accepted by sales".to_owned(), Some(&sales)),
                Sql => ("qualified in a discovery call".to_owned(), Some(&sales)),
                Opportunity => ("opportunity opened".to_owned(), Some(&sales)),
                Customer => ("deal won".to_owned(), Some(&sales)),
                Recycled if from == Some(Opportunity) => ("deal lost".to_owned(), Some(&sales)),
                Recycled => {
                    ((*self.pick(RECYCLE_REASONS)).to_owned(), Some(if with_sales { &sales } else { &marketer }))
                }
                Disqualified => {
                    ((*self.pick(DISQUALIFY_REASONS)).to_owned(), Some(if with_sales { &sales } else { &marketer }))
                }
                New => ("created".to_owned(), None),
            };
            batch.transitions.push(entity::lead_stage_transition::Model {
                id: Uuid::now_v7(),
                org_id: self.org_id,
                lead_id,
                from_stage: from,
                to_stage: *to,
                actor_kind: if person.is_some() { entity::ActorKind::User } else { entity::ActorKind::System },
                actor_id: person.map(|p| p.id),
                actor_name: person.map_or_else(|| "Accord".to_owned(), |p| p.name.clone()),
                reason: Some(reason),
                at: *at,
                // The synthetic history predates any agreed definition.
                definition_id: None,
                definition_version: None,
            });
        }

        // Engagement: none while NEW; the first event is what engaged the lead.
        let end = if stage == Disqualified { entered } else { self.now };
        let mut events = 0;
        if let Some((_, first_at)) = history.steps.get(1) {
            let furthest =
                history.steps.iter().filter_map(|s| FUNNEL.iter().position(|f| *f == s.0)).max().unwrap_or(0);
            let count = match furthest {
                0 | 1 => self.rng.random_range(1..4),
                2 => self.rng.random_range(2..6),
                _ => self.rng.random_range(3..9),
            };
            for i in 0..count {
                let at = if i == 0 { *first_at } else { between(&mut self.rng, *first_at, end) };
                let kind = if i == 0 {
                    *self.pick(&[EngagementKind::WebVisit, EngagementKind::FormSubmit, EngagementKind::ContentDownload])
                } else if furthest >= 3 && i == 1 {
                    EngagementKind::DemoRequest
                } else {
                    self.weighted(&[
                        (EngagementKind::WebVisit, 6),
                        (EngagementKind::PricingPageVisit, 2),
                        (EngagementKind::EmailOpen, 5),
                        (EngagementKind::EmailClick, 3),
                        (EngagementKind::ContentDownload, 2),
                        (EngagementKind::WebinarAttended, 1),
                        (EngagementKind::EventAttended, 1),
                        (EngagementKind::TrialSignup, 1),
                    ])
                };
                let properties = match kind {
                    EngagementKind::WebVisit => json!({ "page": self.pick(PAGES) }),
                    EngagementKind::PricingPageVisit => json!({ "page": "/pricing" }),
                    EngagementKind::ContentDownload => json!({ "asset": self.pick(ASSETS) }),
                    EngagementKind::EmailOpen | EngagementKind::EmailClick | EngagementKind::WebinarAttended => {
                        json!({ "campaign": self.pick(CAMPAIGNS) })
                    }
                    _ => json!({}),
                };
                batch.events.push(entity::engagement_event::Model {
                    id: Uuid::now_v7(),
                    org_id: self.org_id,
                    lead_id,
                    kind,
                    occurred_at: at,
                    properties,
                    external_id: None,
                    created_at: at,
                });
                events += 1;
            }
        }

        // Deals: a lead that reached OPPORTUNITY has one, won, lost or still open.
        let mut opportunity_id = None;
        if let Some(opened) = history.reached(Opportunity) {
            let (deal_stage, closed_at, lost_reason) = match stage {
                Customer => (OpportunityStage::ClosedWon, history.reached(Customer), None),
                Recycled => (OpportunityStage::ClosedLost, Some(entered), Some((*self.pick(LOST_REASONS)).to_owned())),
                _ => (
                    *self.pick(&[
                        OpportunityStage::Discovery,
                        OpportunityStage::Proposal,
                        OpportunityStage::Negotiation,
                    ]),
                    None,
                    None,
                ),
            };
            // As the rule for strategies says: new business, unless the account already
            // was a customer when the deal opened (then another team buying: development).
            let was_customer = batch.accounts[account_index].customer_since.is_some_and(|since| since <= opened);
            let strategy = if was_customer { SalesStrategy::Development } else { SalesStrategy::Acquisition };
            let id = Uuid::now_v7();
            opportunity_id = Some(id);
            let company = batch.accounts[account_index].name.clone();
            let amount = self.amount(employees);
            batch.opportunities.push(self.deal(DealSpec {
                id,
                account_id,
                lead_id: Some(lead_id),
                name: format!("{company}: {}", deal_name(strategy)),
                amount,
                currency: currency.clone(),
                stage: deal_stage,
                strategy,
                owner: Some(sales.id),
                opened,
                closed_at,
                competitor: competitor_for(lost_reason.as_deref(), &company),
                lost_reason,
            }));
            if let Some(won) = closed_at.filter(|_| stage == Customer) {
                let account = &mut batch.accounts[account_index];
                account.customer_since = Some(account.customer_since.map_or(won, |s| s.min(won)));
                account.updated_at = account.updated_at.max(won);
            }
        }

        // Activities: sales works a lead from handover on; marketing meets some
        // engaged leads at events and keeps notes.
        if let Some(accepted) = history.reached(Sal) {
            let until = match stage {
                Recycled | Disqualified => entered,
                _ => history.left(Opportunity, end),
            }
            .max(accepted);
            let count = self.rng.random_range(1..6);
            for _ in 0..count {
                let kind = self.weighted(&[
                    (ActivityKind::Call, 4),
                    (ActivityKind::Email, 4),
                    (ActivityKind::Meeting, 2),
                    (ActivityKind::Demo, 1),
                    (ActivityKind::Note, 1),
                ]);
                let at = between(&mut self.rng, accepted, until);
                let during_deal = history.reached(Opportunity).is_some_and(|o| at >= o);
                let activity = self.activity(
                    kind,
                    sales.id,
                    lead_id,
                    account_id,
                    during_deal.then_some(opportunity_id).flatten(),
                    at,
                );
                batch.activities.push(activity);
            }
        }
        if events > 0 && self.rng.random_bool(0.25) {
            let kind = *self.pick(&[ActivityKind::Event, ActivityKind::Email, ActivityKind::Note]);
            let start = history.steps.get(1).map_or(created, |s| s.1);
            let at = between(&mut self.rng, start, end);
            let activity = self.activity(kind, marketer.id, lead_id, account_id, None, at);
            batch.activities.push(activity);
        }

        let engagement_score = (f64::from(events) * 6.0).min(50.0);
        let fit_score = match employees {
            0..50 => 10.0,
            50..250 => 25.0,
            250..2000 => 40.0,
            _ => 30.0,
        } + f64::from(self.rng.random_range(0..10u8));
        let score = fit_score + engagement_score;
        let temperature = match score {
            s if s >= 70.0 => Temperature::Hot,
            s if s >= 40.0 => Temperature::Warm,
            _ => Temperature::Cold,
        };
        let source = self.weighted(SOURCES);
        let campaign = matches!(source, "webinar" | "paid_search" | "event" | "content")
            .then(|| (*self.pick(CAMPAIGNS)).to_owned());
        let phone = format!(
            "+{} {} {:07}",
            self.rng.random_range(1..50),
            self.rng.random_range(10..99),
            self.rng.random_range(0..10_000_000)
        );
        batch.scores.push(entity::lead_score::Model {
            fit_score,
            engagement_score,
            score,
            temperature,
            ..entity::lead_score::Model::unscored(lead_id, self.org_id)
        });
        batch.leads.push(entity::lead::Model {
            id: lead_id,
            org_id: self.org_id,
            account_id: Some(account_id),
            persona_id: None,
            email,
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            title: Some((*self.pick(TITLES)).to_owned()),
            phone: Some(phone),
            source: Some(source.to_owned()),
            campaign,
            external_id: Some(external_id),
            lifecycle_stage: stage,
            stage_entered_at: entered,
            owner_id: with_sales.then_some(sales.id),
            marketing_owner_id: Some(marketer.id),
            archived_at: None,
            // Every move bumped the version, as `moveLeadStage` does.
            version: history.steps.len() as i32,
            created_at: created,
            updated_at: entered,
            // Matched from the title against the organization's agreed personas when
            // loaded (`synthetic::insert`), by the same matcher as every other write.
            persona_manual: false,
            persona_keyword: None,
            persona_candidates: None,
        });
    }

    /// Deals with existing customers: renewals (retention), upsells (development) and
    /// replacing a competitor's product (substitution), in every stage.
    fn account_deals(&mut self, batch: &mut Batch, index: usize) {
        let account = &batch.accounts[index];
        let Some(since) = account.customer_since else { return };
        let (account_id, company, currency, employees, owner) = (
            account.id,
            account.name.clone(),
            account.currency.clone().unwrap_or_else(|| "EUR".into()),
            account.employee_count.unwrap_or(50),
            account.owner_id,
        );
        let deals = self.rng.random_range(1..3);
        for _ in 0..deals {
            let (strategy, slot) = match self.rng.random_range(0..3) {
                0 => (SalesStrategy::Retention, 1),
                1 => (SalesStrategy::Development, 2),
                _ => (SalesStrategy::Substitution, 3),
            };
            const STAGES: [OpportunityStage; 5] = [
                OpportunityStage::Discovery,
                OpportunityStage::Proposal,
                OpportunityStage::Negotiation,
                OpportunityStage::ClosedWon,
                OpportunityStage::ClosedLost,
            ];
            let stage = STAGES[self.next_deal_stage[slot] % STAGES.len()];
            self.next_deal_stage[slot] += 1;
            let opened = between(&mut self.rng, since, self.now);
            let closed_at = matches!(stage, OpportunityStage::ClosedWon | OpportunityStage::ClosedLost)
                .then(|| between(&mut self.rng, opened, self.now));
            let lost_reason = (stage == OpportunityStage::ClosedLost).then(|| (*self.pick(LOST_REASONS)).to_owned());
            let amount = self.amount(employees) / 3;
            let competitor = competitor_for(lost_reason.as_deref(), &company);
            let deal = self.deal(DealSpec {
                id: Uuid::now_v7(),
                account_id,
                lead_id: None,
                competitor,
                name: format!("{company}: {}", deal_name(strategy)),
                amount,
                currency: currency.clone(),
                stage,
                strategy,
                owner,
                opened,
                closed_at,
                lost_reason,
            });
            batch.opportunities.push(deal);
        }
    }

    /// A deal size in minor units that grows with the company.
    fn amount(&mut self, employees: i32) -> i64 {
        let base = (f64::from(employees.max(10))).sqrt() * 1_500.0;
        let amount = base * self.rng.random_range(0.5..2.0);
        (amount as i64 / 100 * 100).max(1_000) * 100
    }

    fn deal(&mut self, spec: DealSpec) -> entity::opportunity::Model {
        let expected_close = match spec.closed_at {
            Some(closed) => closed.date_naive(),
            None => (self.now + self.days(7.0, 90.0)).date_naive(),
        };
        let updated = spec.closed_at.unwrap_or(spec.opened);
        entity::opportunity::Model {
            id: spec.id,
            org_id: self.org_id,
            account_id: spec.account_id,
            lead_id: spec.lead_id,
            name: spec.name,
            amount_minor: spec.amount,
            // The demo and the benchmark report in EUR; `seed` reprices the rest once rates exist.
            amount_reporting_minor: (spec.currency == "EUR").then_some(spec.amount),
            currency: spec.currency,
            stage: spec.stage,
            strategy: spec.strategy,
            owner_id: spec.owner,
            expected_close: Some(expected_close),
            closed_at: spec.closed_at,
            lost_note: None,
            competitor: spec.competitor.clone(),
            competitor_written: spec.competitor,
            competitor_listed: None,
            lost_reason: spec.lost_reason,
            archived_at: None,
            version: 1,
            created_at: spec.opened,
            updated_at: updated,
        }
    }

    fn activity(
        &mut self,
        kind: ActivityKind,
        user_id: Uuid,
        lead_id: Uuid,
        account_id: Uuid,
        opportunity_id: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> entity::activity::Model {
        let (customer_facing, minutes, note) = match kind {
            ActivityKind::Call => (true, self.rng.random_range(10..46), "discovery call"),
            ActivityKind::Email => (false, 5, "follow-up e-mail"),
            ActivityKind::Meeting => (true, self.rng.random_range(30..61), "meeting with the buying team"),
            ActivityKind::Demo => (true, self.rng.random_range(45..91), "product demo"),
            ActivityKind::Event => (true, self.rng.random_range(60..241), "met at a conference booth"),
            ActivityKind::Note => (false, self.rng.random_range(5..11), "account research"),
        };
        entity::activity::Model {
            id: Uuid::now_v7(),
            org_id: self.org_id,
            user_id,
            lead_id: Some(lead_id),
            account_id: Some(account_id),
            opportunity_id,
            kind,
            customer_facing,
            duration_minutes: minutes,
            occurred_at: at,
            notes: Some(note.to_owned()),
            created_at: at,
        }
    }
}

pub(super) struct DealSpec {
    id: Uuid,
    account_id: Uuid,
    lead_id: Option<Uuid>,
    name: String,
    amount: i64,
    currency: String,
    stage: OpportunityStage,
    strategy: SalesStrategy,
    owner: Option<Uuid>,
    opened: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    lost_reason: Option<String>,
    /// Who a deal lost to COMPETITOR went to, as a rep would type it.
    competitor: Option<String>,
}

pub(super) fn deal_name(strategy: SalesStrategy) -> &'static str {
    match strategy {
        SalesStrategy::Acquisition => "new business",
        SalesStrategy::Retention => "renewal",
        SalesStrategy::Development => "upsell to more teams",
        SalesStrategy::Substitution => "replace the incumbent tool",
    }
}

/// A uniformly random time in `[from, to]` (`from` when the range is empty).
pub(super) fn between(rng: &mut StdRng, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
    let span = (to - from).num_seconds();
    if span <= 0 {
        return from;
    }
    from + Duration::seconds(rng.random_range(0..=span))
}

pub(super) fn capitalise(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

/// Who a deal lost to COMPETITOR went to, spelled the ways reps type it; picked from the
/// company name so the random stream (and every other figure of the demo) stays as it was.
fn competitor_for(lost_reason: Option<&str>, company: &str) -> Option<String> {
    (lost_reason == Some("COMPETITOR")).then(|| COMPETITORS[company.len() % COMPETITORS.len()].to_owned())
}
