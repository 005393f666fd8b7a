//! Builders for KPI test data: rows inserted through the entity ActiveModels where the
//! GraphQL API cannot set a past timestamp (a lead's stage history, a deal closed last
//! month). Shared by the KPI, rollup and KPI-suite tests.

use chrono::{DateTime, Utc};
use entity::Team;
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use crate::common::TestApp;

/// An RFC 3339 instant.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// Inserts the facts of one organization; `account` is the account leads and deals belong to.
pub struct Builder<'a> {
    pub app: &'a TestApp,
    pub org: Uuid,
    pub account: Uuid,
}

impl Builder<'_> {
    pub async fn account(&self, name: &str) -> Uuid {
        let id = Uuid::now_v7();
        let now = Utc::now();
        entity::account::ActiveModel {
            id: Set(id),
            org_id: Set(self.org),
            name: Set(name.into()),
            domain: Set(None),
            industry: Set(None),
            employee_count: Set(None),
            annual_revenue_minor: Set(None),
            currency: Set(None),
            region: Set(None),
            owner_id: Set(None),
            customer_since: Set(None),
            name_key: Set(name.to_lowercase()),
            archived_at: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&self.app.db)
        .await
        .unwrap();
        id
    }

    /// A lead and its stage history: `(stage, time)` from creation on.
    #[allow(clippy::too_many_arguments)]
    pub async fn lead(
        &self,
        email: &str,
        owner: Option<Uuid>,
        marketing_owner: Uuid,
        source: &str,
        campaign: Option<&str>,
        history: &[(&str, &str)],
        archived: bool,
    ) -> Uuid {
        use sea_orm::ActiveEnum;
        let id = Uuid::now_v7();
        let created = at(history[0].1);
        let (last_stage, last_at) = history[history.len() - 1];
        entity::lead::ActiveModel {
            id: Set(id),
            org_id: Set(self.org),
            account_id: Set(Some(self.account)),
            persona_id: Set(None),
            email: Set(email.into()),
            first_name: Set(String::new()),
            last_name: Set(email.into()),
            title: Set(None),
            phone: Set(None),
            source: Set(Some(source.into())),
            campaign: Set(campaign.map(Into::into)),
            external_id: Set(None),
            lifecycle_stage: Set(entity::LifecycleStage::try_from_value(&last_stage.to_owned()).unwrap()),
            stage_entered_at: Set(at(last_at)),
            owner_id: Set(owner),
            marketing_owner_id: Set(Some(marketing_owner)),
            archived_at: Set(archived.then_some(at(last_at))),
            version: Set(1),
            created_at: Set(created),
            updated_at: Set(created),
            persona_manual: Set(false),
            persona_keyword: Set(None),
            persona_candidates: Set(None),
        }
        .insert(&self.app.db)
        .await
        .unwrap();
        entity::lead_score::ActiveModel::from(entity::lead_score::Model::unscored(id, self.org))
            .insert(&self.app.db)
            .await
            .unwrap();
        let mut from = None;
        for (stage, time) in history {
            let to = entity::LifecycleStage::try_from_value(&(*stage).to_owned()).unwrap();
            entity::lead_stage_transition::ActiveModel {
                id: Set(Uuid::now_v7()),
                org_id: Set(self.org),
                lead_id: Set(id),
                from_stage: Set(from),
                to_stage: Set(to),
                actor_kind: Set(entity::ActorKind::System),
                actor_id: Set(None),
                actor_name: Set("Accord".into()),
                reason: Set(None),
                at: Set(at(time)),
                ..Default::default()
            }
            .insert(&self.app.db)
            .await
            .unwrap();
            from = Some(to);
        }
        id
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn opportunity(
        &self,
        lead: Option<Uuid>,
        owner: Uuid,
        strategy: entity::SalesStrategy,
        amount: i64,
        currency: &str,
        created: &str,
        closed: Option<(entity::OpportunityStage, &str)>,
        archived: bool,
    ) {
        let stage = closed.map(|c| c.0).unwrap_or(entity::OpportunityStage::Discovery);
        entity::opportunity::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(self.org),
            account_id: Set(self.account),
            lead_id: Set(lead),
            name: Set("Deal".into()),
            amount_minor: Set(amount),
            amount_reporting_minor: Set((currency == "EUR").then_some(amount)),
            currency: Set(currency.into()),
            stage: Set(stage),
            strategy: Set(strategy),
            owner_id: Set(Some(owner)),
            expected_close: Set(None),
            closed_at: Set(closed.map(|c| at(c.1))),
            lost_reason: Set(None),
            lost_note: Set(None),
            competitor: Set(None),
            competitor_written: Set(None),
            competitor_listed: Set(None),
            archived_at: Set(archived.then(|| at(created))),
            version: Set(1),
            created_at: Set(at(created)),
            updated_at: Set(at(created)),
        }
        .insert(&self.app.db)
        .await
        .unwrap();
    }

    pub async fn handover(
        &self,
        lead: Uuid,
        to: Uuid,
        handed: &str,
        due: &str,
        answer: Option<(entity::HandoverStatus, &str)>,
    ) {
        let status = answer.map(|a| a.0).unwrap_or(entity::HandoverStatus::Pending);
        entity::handover::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(self.org),
            lead_id: Set(lead),
            from_user_id: Set(None),
            from_name: Set("Accord".into()),
            to_user_id: Set(to),
            note: Set(None),
            handed_at: Set(at(handed)),
            due_at: Set(at(due)),
            status: Set(status),
            overdue: Set(false),
            responded_at: Set(answer.map(|a| at(a.1))),
            responded_by: Set(answer.map(|_| to)),
            reason: Set((status == entity::HandoverStatus::Rejected).then(|| "BAD_TIMING".to_owned())),
            response_note: Set(None),
            version: Set(1),
            created_at: Set(at(handed)),
            updated_at: Set(at(handed)),
        }
        .insert(&self.app.db)
        .await
        .unwrap();
    }

    pub async fn campaign(
        &self,
        name: &str,
        channel: entity::CampaignChannel,
        days: (&str, &str),
        spend: i64,
        currency: &str,
    ) {
        entity::campaign::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(self.org),
            name: Set(name.into()),
            channel: Set(channel),
            starts_on: Set(days.0.parse().unwrap()),
            ends_on: Set(days.1.parse().unwrap()),
            budget_minor: Set(spend * 2),
            spend_minor: Set(spend),
            currency: Set(currency.into()),
            owner_id: Set(None),
            archived_at: Set(None),
            version: Set(1),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
        }
        .insert(&self.app.db)
        .await
        .unwrap();
    }

    pub async fn activity(&self, user: Uuid, lead: Option<Uuid>, customer_facing: bool, minutes: i32, when: &str) {
        entity::activity::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(self.org),
            user_id: Set(user),
            lead_id: Set(lead),
            account_id: Set(None),
            opportunity_id: Set(None),
            kind: Set(entity::ActivityKind::Meeting),
            customer_facing: Set(customer_facing),
            duration_minutes: Set(minutes),
            occurred_at: Set(at(when)),
            notes: Set(None),
            created_at: Set(at(when)),
        }
        .insert(&self.app.db)
        .await
        .unwrap();
    }

    pub async fn asset(&self, created: &str, archived: Option<&str>, used: &[(&str, Uuid)]) {
        let id = Uuid::now_v7();
        entity::content_asset::ActiveModel {
            id: Set(id),
            org_id: Set(self.org),
            title: Set(format!("Asset {id}")),
            kind: Set(entity::content_asset::ContentKind::Deck),
            url: Set("https://example.com/deck".into()),
            message_id: Set(None),
            owner_id: Set(None),
            archived_at: Set(archived.map(at)),
            version: Set(1),
            created_at: Set(at(created)),
            updated_at: Set(at(created)),
        }
        .insert(&self.app.db)
        .await
        .unwrap();
        for (when, user) in used {
            entity::content_usage::ActiveModel {
                id: Set(Uuid::now_v7()),
                org_id: Set(self.org),
                asset_id: Set(id),
                user_id: Set(*user),
                lead_id: Set(None),
                opportunity_id: Set(None),
                used_at: Set(at(when)),
                rating: Set(None),
                comment: Set(None),
            }
            .insert(&self.app.db)
            .await
            .unwrap();
        }
    }

    pub async fn feedback(
        &self,
        author: (Uuid, Team),
        account: Option<Uuid>,
        created: &str,
        responded: Option<&str>,
        endorsers: &[(Uuid, Team, Option<Uuid>)],
    ) {
        use entity::feedback::{FeedbackStatus, FeedbackSubject, Sentiment};
        let id = Uuid::now_v7();
        entity::feedback::ActiveModel {
            id: Set(id),
            org_id: Set(self.org),
            author_id: Set(author.0),
            author_team: Set(author.1),
            subject_type: Set(FeedbackSubject::General),
            subject_id: Set(None),
            tag: Set("pricing".into()),
            written_tag: Set("pricing".into()),
            tag_listed: Set(None),
            sentiment: Set(Sentiment::Negative),
            body: Set("Too expensive for small teams".into()),
            account_id: Set(account),
            status: Set(if responded.is_some() { FeedbackStatus::Accepted } else { FeedbackStatus::New }),
            response: Set(responded.map(|_| "We will look at it".into())),
            responded_by: Set(responded.map(|_| author.0)),
            responded_at: Set(responded.map(at)),
            version: Set(1),
            created_at: Set(at(created)),
            updated_at: Set(at(created)),
        }
        .insert(&self.app.db)
        .await
        .unwrap();
        for (user, team, account) in endorsers {
            entity::feedback_endorsement::ActiveModel {
                id: Set(Uuid::now_v7()),
                org_id: Set(self.org),
                feedback_id: Set(id),
                user_id: Set(*user),
                team: Set(*team),
                account_id: Set(*account),
                comment: Set(None),
                created_at: Set(at(created)),
            }
            .insert(&self.app.db)
            .await
            .unwrap();
        }
    }
}

/// Set the organization's KPI rollup aside (the live engine answers, as for a rollup
/// built for another definition), or put it back.
pub async fn set_rollup_aside(db: &sea_orm::DatabaseConnection, org: Uuid, aside: bool) {
    use sea_orm::ConnectionTrait;
    let mut sql = api::db::sql::Sql::new();
    if aside {
        sql.push("UPDATE kpi_rollup_states SET definition = 'x' || definition WHERE org_id = ");
    } else {
        sql.push("UPDATE kpi_rollup_states SET definition = SUBSTR(definition, 2) WHERE org_id = ");
    }
    sql.bind(org);
    db.execute_raw(sql.build(db.get_database_backend())).await.unwrap();
}
