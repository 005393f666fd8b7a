//! The demo organization: a user of every team and role, so a newcomer can try every
//! permission at once, a working alignment contract (an agreed ICP, personas, the
//! glossary, SLAs and goals), and a few hundred leads across the whole funnel with
//! their history, engagement, activities and deals, so GraphiQL shows a living
//! funnel. Its e-mails and password are listed in the README.

mod campaigns;
mod messaging;
pub mod synthetic;

use chrono::{NaiveDate, Utc};
use entity::{Role, Team};
use sea_orm::DatabaseConnection;
use serde_json::json;
use uuid::Uuid;

use crate::agreements::definitions::Definition;
use crate::agreements::icps::{IdealCustomerProfile, Range, RevenueRange};
use crate::agreements::slas::{SlaBody, SlaMetric, SlaPeriod};
use crate::agreements::taxonomies::{self, Taxonomy, TaxonomyEntry, TaxonomyList};
use crate::agreements::{self, AgreedBody, goals};
use crate::auth::Actor;
use crate::catalogue::KpiMetric;
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::org::{self, users};
use crate::personas::Persona;

pub const DEMO_ORG_NAME: &str = "Demo";
pub const DEMO_ORG_SLUG: &str = "demo";
pub const DEMO_PASSWORD: &str = "accord-demo";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.accord.dev";
/// Leads of the demo organization (with about a fifth as many accounts).
pub const DEMO_LEADS: usize = 300;
const DEMO_SEED: u64 = 20_261_125;

/// (e-mail, name, team, role) of every demo user after the admin.
const DEMO_USERS: &[(&str, &str, Team, Role)] = &[
    ("marketing.manager@demo.accord.dev", "Mia Marketing", Team::Marketing, Role::Manager),
    ("marketer@demo.accord.dev", "Max Marketer", Team::Marketing, Role::Member),
    ("sales.manager@demo.accord.dev", "Sam Sales", Team::Sales, Role::Manager),
    ("rep@demo.accord.dev", "Riley Rep", Team::Sales, Role::Member),
    ("rep2@demo.accord.dev", "Robin Rep", Team::Sales, Role::Member),
    ("service.manager@demo.accord.dev", "Sasha Service", Team::Service, Role::Manager),
    ("support@demo.accord.dev", "Sky Support", Team::Service, Role::Member),
    ("revops@demo.accord.dev", "Rory RevOps", Team::Revops, Role::Member),
    ("ceo@demo.accord.dev", "Lee Leadership", Team::Leadership, Role::Manager),
    ("viewer@demo.accord.dev", "Vic Viewer", Team::Marketing, Role::Viewer),
];

/// Create the demo organization unless it exists; returns its admin when created.
pub async fn demo(db: &DatabaseConnection) -> Result<Option<entity::user::Model>> {
    if org::find_by_slug(db, DEMO_ORG_SLUG).await?.is_some() {
        return Ok(None);
    }
    let admin = users::NewUser {
        email: DEMO_ADMIN_EMAIL.into(),
        name: "Avery Admin".into(),
        team: Team::Revops,
        role: Role::Admin,
        password: Some(DEMO_PASSWORD.into()),
    };
    let (org, admin) = org::bootstrap(db, DEMO_ORG_NAME, admin).await?;
    let system = Actor::system(org.id);
    let txn = crate::db::begin_write(db).await?;
    let mut people = Vec::new();
    for (email, name, team, role) in DEMO_USERS {
        let new = users::NewUser {
            email: (*email).into(),
            name: (*name).into(),
            team: *team,
            role: *role,
            password: Some(DEMO_PASSWORD.into()),
        };
        people.push(users::insert(&txn, &system, new).await?);
    }
    // A fixed seed: every demo database tells the same story, so the README and
    // support can point at the same records.
    let staff = synthetic::People::of_org(&txn, org.id).await?;
    let mut generator = synthetic::Generator::new(org.id, staff, synthetic::Naming::Demo, DEMO_SEED, Utc::now());
    let data = generator.batch(DEMO_LEADS);
    let changes = Changes::new().created("leads", &data.leads.len()).created("accounts", &data.accounts.len());
    let accepted = accepted_handovers(&data);
    synthetic::insert(&txn, data).await?;
    crate::db::insert_all::<entity::handover::ActiveModel, _>(&txn, accepted).await?;
    audit::record(&txn, &system, "seed.demo", "organization", Some(org.id), changes).await?;
    txn.commit().await?;
    let person = |email: &str| {
        people
            .iter()
            .find(|u| u.email == email)
            .map(Actor::user)
            .ok_or_else(|| ApiError::internal(format!("demo user {email} missing")))
    };
    let cast = Cast {
        marketer: person("marketer@demo.accord.dev")?,
        marketing_manager: person("marketing.manager@demo.accord.dev")?,
        sales_manager: person("sales.manager@demo.accord.dev")?,
    };
    synthetic::exchange_rates(db, org.id).await?;
    alignment_contract(db, &cast).await?;
    word_lists(db, &cast).await?;
    scoring_model(db, &cast).await?;
    qualify_mqls(db, org.id, &cast).await?;
    let reps = [person("rep@demo.accord.dev")?, person("rep2@demo.accord.dev")?];
    personal_goals(db, &cast, &reps[0]).await?;
    handovers(db, org.id, &cast.marketer, &reps).await?;
    messaging::seed(db, org.id).await?;
    campaigns::seed(db, &cast.marketer).await?;
    Ok(Some(admin))
}

/// Score every demo lead with the agreed model now (the job agreeing it queued), so
/// the demo opens on real scores. The generated MQLs below the threshold show the
/// engagement that qualified them (a demo request, downloads, visits in the last
/// days, recorded through the real path); any still below go back to nurture, moved
/// by marketing with the reason. So every MQL of the demo meets the agreed definition.
async fn qualify_mqls(db: &DatabaseConnection, org_id: Uuid, cast: &Cast) -> Result<()> {
    use crate::leads::engagement::{self, LeadRef, NewEvent};
    use entity::EngagementKind as Kind;
    crate::scoring::rescore::run_all(db, Utc::now()).await?;
    let threshold =
        crate::scoring::in_force(db, org_id).await?.map_or(f64::INFINITY, |model| model.body.thresholds.mql);
    let below = mqls_below(db, org_id, threshold).await?;
    let now = Utc::now();
    let mut events = Vec::new();
    for (id, _) in &below {
        let hours = [(Kind::DemoRequest, 30), (Kind::ContentDownload, 50), (Kind::ContentDownload, 70)]
            .into_iter()
            .chain([(Kind::ContentDownload, 90), (Kind::WebVisit, 20), (Kind::WebVisit, 40)])
            .chain([(Kind::WebVisit, 60), (Kind::WebVisit, 80), (Kind::WebVisit, 100)]);
        for (kind, ago) in hours {
            let occurred_at = now - chrono::Duration::hours(ago);
            events.push(NewEvent { lead: LeadRef::Id(*id), kind, occurred_at, properties: None, external_id: None });
        }
    }
    for chunk in events.chunks(engagement::MAX_BATCH) {
        engagement::record(db, &Actor::system(org_id), chunk.to_vec()).await?;
    }
    for (id, score) in mqls_below(db, org_id, threshold).await? {
        let why = format!("score {score:.1} is below the agreed MQL threshold {threshold:.0}: back to nurture");
        let recycled = entity::LifecycleStage::Recycled;
        crate::leads::move_stage(db, &cast.marketing_manager, id, recycled, Some(why), None).await?;
    }
    Ok(())
}

/// The organization's MQLs whose stored score is below `threshold`, with the score.
async fn mqls_below(db: &DatabaseConnection, org_id: Uuid, threshold: f64) -> Result<Vec<(Uuid, f64)>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let ids: Vec<Uuid> = entity::lead::Entity::find()
        .select_only()
        .column(entity::lead::Column::Id)
        .filter(entity::lead::Column::OrgId.eq(org_id))
        .filter(entity::lead::Column::LifecycleStage.eq(entity::LifecycleStage::Mql))
        .order_by_asc(entity::lead::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let scores = crate::leads::lifecycle::stored_scores(db, &ids).await?;
    Ok(ids
        .into_iter()
        .map(|id| (id, scores.get(&id).copied().unwrap_or(0.0)))
        .filter(|(_, score)| *score < threshold)
        .collect())
}

/// The handover behind every acceptance of the generated history: each move into
/// SAL answers a handover made when the lead became MQL (automatically, within the
/// hour), accepted by the salesperson who moved it, on time or late.
fn accepted_handovers(data: &synthetic::Batch) -> Vec<entity::handover::Model> {
    use entity::LifecycleStage::{Mql, Sal};
    let leads: std::collections::HashMap<Uuid, &entity::lead::Model> = data.leads.iter().map(|l| (l.id, l)).collect();
    let mut out = Vec::new();
    for pair in data.transitions.windows(2) {
        let (mql, sal) = (&pair[0], &pair[1]);
        if mql.lead_id != sal.lead_id || mql.to_stage != Mql || sal.to_stage != Sal {
            continue;
        }
        let (Some(lead), Some(to)) = (leads.get(&sal.lead_id), sal.actor_id) else { continue };
        let handed = (mql.at + chrono::Duration::hours(1)).min(sal.at);
        let due = handed + chrono::Duration::hours(24);
        out.push(entity::handover::Model {
            id: Uuid::now_v7(),
            org_id: lead.org_id,
            lead_id: lead.id,
            // Handed over automatically when the score made the lead an MQL.
            from_user_id: None,
            from_name: "Accord".into(),
            to_user_id: to,
            note: Some("Qualified by score; please call.".into()),
            handed_at: handed,
            due_at: due,
            status: entity::HandoverStatus::Accepted,
            overdue: sal.at > due,
            responded_at: Some(sal.at),
            responded_by: Some(to),
            reason: None,
            response_note: None,
            version: 2,
            created_at: handed,
            updated_at: sal.at,
        });
    }
    out
}

/// Handovers in every state: accepted, handed back, pending, overdue and cancelled.
async fn handovers(db: &DatabaseConnection, org_id: Uuid, marketer: &Actor, reps: &[Actor; 2]) -> Result<()> {
    use crate::handover::{self, Answer};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let mqls = entity::lead::Entity::find()
        .filter(entity::lead::Column::OrgId.eq(org_id))
        .filter(entity::lead::Column::LifecycleStage.eq(entity::LifecycleStage::Mql))
        .filter(entity::lead::Column::ArchivedAt.is_null())
        .order_by_asc(entity::lead::Column::Id)
        .limit(7)
        .all(db)
        .await?;
    for (i, lead) in mqls.iter().enumerate() {
        let rep = &reps[i % 2];
        let rep_id = rep.user_id().ok_or_else(|| ApiError::internal("a demo rep is a user"))?;
        let note = Some("Downloaded the pricing guide and asked for a call.".to_owned());
        let made = handover::hand_over(db, marketer, lead.id, rep_id, note).await?;
        match i {
            0 => {
                handover::answer(db, rep, made.id, Answer::Accept { note: Some("Calling tomorrow.".into()) }).await?;
            }
            1 => {
                let back =
                    Answer::HandBack { reason: "NO_BUDGET".into(), note: Some("Budget frozen until Q3.".into()) };
                handover::answer(db, rep, made.id, back).await?;
            }
            2 => {
                let back = Answer::HandBack { reason: "NOT_ICP".into(), note: None };
                handover::answer(db, rep, made.id, back).await?;
            }
            3 => {
                // Handed over two days ago and never answered: the SLA clock marks it overdue.
                let two_days_ago = Utc::now() - chrono::Duration::days(2);
                entity::handover::Entity::update_many()
                    .col_expr(entity::handover::Column::HandedAt, sea_orm::sea_query::Expr::value(two_days_ago))
                    .col_expr(
                        entity::handover::Column::DueAt,
                        sea_orm::sea_query::Expr::value(two_days_ago + chrono::Duration::hours(24)),
                    )
                    .filter(entity::handover::Column::Id.eq(made.id))
                    .exec(db)
                    .await?;
            }
            6 => {
                // Marketing took the lead back before sales answered: the handover is cancelled.
                let why = Some("Duplicate of a lead sales already works.".to_owned());
                crate::leads::move_stage(db, marketer, lead.id, entity::LifecycleStage::Disqualified, why, None)
                    .await?;
            }
            _ => {}
        }
    }
    handover::clock::mark_overdue(db, Utc::now()).await?;
    Ok(())
}

/// The demo users who write and sign the alignment contract.
struct Cast {
    marketer: Actor,
    marketing_manager: Actor,
    sales_manager: Actor,
}

/// Propose a document as the marketer and have both managers approve it (or only
/// sales, when `agree` is false): through the real workflow, so audit and outbox
/// rows exist as they would in use.
async fn sign<B: AgreedBody>(db: &DatabaseConnection, cast: &Cast, body: B, agree: bool) -> Result<Uuid> {
    let doc = agreements::create(db, &cast.marketer, body, true).await?;
    let (kind, id) = (B::KIND, doc.model.id);
    agreements::approve(db, &cast.sales_manager, kind, id, 1).await?;
    if agree {
        agreements::approve(db, &cast.marketing_manager, kind, id, 1).await?;
    }
    Ok(id)
}

/// The agreed word lists: the reasons as Accord offers them, the competitors sales
/// meets ("SFDC" is Salesforce, so the demo's lost deals group as one) and the feedback
/// tags, whose synonyms gather "too expensive" and "pricing" into one theme.
async fn word_lists(db: &DatabaseConnection, cast: &Cast) -> Result<()> {
    let entry = |code: &str, label: &str, synonyms: &[&str]| TaxonomyEntry {
        code: code.into(),
        label: label.into(),
        description: None,
        synonyms: list(synonyms),
        needs_note: false,
        needs_competitor: false,
    };
    let competitors = vec![
        entry("SALESFORCE", "Salesforce", &["SFDC", "salesforce.com", "Sales Cloud"]),
        entry("HUBSPOT", "HubSpot", &["Hubspot CRM"]),
        entry("PIPEDRIVE", "Pipedrive", &[]),
    ];
    let tags = vec![
        entry("pricing", "Pricing", &["price", "too expensive", "pricing too high"]),
        entry("tone", "Tone of our messages", &["messaging tone", "too technical"]),
        entry("lead-quality", "Quality of handed-over leads", &["bad leads", "junk leads"]),
        entry("onboarding", "Onboarding", &[]),
        entry("integrations", "Integrations", &["missing integration"]),
    ];
    let lists = [
        (TaxonomyList::HandBackReasons, taxonomies::defaults(TaxonomyList::HandBackReasons)),
        (TaxonomyList::LostReasons, taxonomies::defaults(TaxonomyList::LostReasons)),
        (TaxonomyList::Competitors, competitors),
        (TaxonomyList::FeedbackTags, tags),
    ];
    for (list, entries) in lists {
        sign(db, cast, Taxonomy { list, entries }, true).await?;
    }
    Ok(())
}

/// A rep's own goals for the running month: 40 hours with at least 15 different
/// customers, counted from that rep's activities only; the sales manager answers for them.
async fn personal_goals(db: &DatabaseConnection, cast: &Cast, rep: &Actor) -> Result<()> {
    use crate::kpi::periods::{Granularity, next_start, period_start};
    let today = chrono::Utc::now().date_naive();
    let month = period_start(today, Granularity::Month);
    let month_end = next_start(month, Granularity::Month).pred_opt().unwrap_or(month);
    let goals = [
        ("Rep: 40 hours with customers this month", KpiMetric::CustomerFacingHours, 40.0),
        ("Rep: 15 different customers this month", KpiMetric::DistinctCustomersTouched, 15.0),
    ];
    for (name, metric, target) in goals {
        let new = goals::NewGoal {
            name: name.into(),
            metric,
            target,
            period_start: month,
            period_end: month_end,
            team: Some(Team::Sales),
            owner_id: cast.sales_manager.user_id(),
            person_id: rep.user_id(),
            scope: goals::GoalScope::default(),
        };
        goals::create(db, &cast.sales_manager, new).await?;
    }
    Ok(())
}

fn list(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The glossary, an agreed ICP, four personas (one awaiting marketing's approval),
/// three SLAs and two goals.
async fn alignment_contract(db: &DatabaseConnection, cast: &Cast) -> Result<()> {
    let glossary = [
        ("Lead", "A person at a company who gave us contact data or whom sales sourced.", None),
        (
            "MQL",
            "A lead that fits the ICP and engaged enough to be worth a sales conversation.",
            Some(json!({ "minScore": 60, "requiredFields": ["email", "company", "title"] })),
        ),
        ("SAL", "An MQL a sales rep accepted and will contact within the handover SLA.", None),
        (
            "SQL",
            "A SAL with confirmed need, budget, authority and timing (BANT), ready for an opportunity.",
            Some(json!({ "bant": ["need", "budget", "authority", "timing"] })),
        ),
        ("Sale", "A signed contract with a first invoice issued.", Some(json!({ "stage": "CLOSED_WON" }))),
        (
            "Profitable customer",
            "A customer whose gross margin over the last twelve months exceeds 25 %, after service costs.",
            Some(json!({ "minGrossMarginPercent": 25, "windowMonths": 12 })),
        ),
    ];
    for (term, body, criteria) in glossary {
        let definition =
            Definition { term: term.into(), body: body.into(), criteria: criteria.map(async_graphql::Json) };
        sign(db, cast, definition, true).await?;
    }

    let icp = IdealCustomerProfile {
        name: "Mid-market B2B software in Europe".into(),
        industries: list(&["Software", "IT services", "Fintech"]),
        employee_range: Some(Range { min: Some(50), max: Some(1000) }),
        revenue_range: Some(RevenueRange { min: Some(5_000_000), max: Some(250_000_000), currency: "EUR".into() }),
        regions: list(&["EMEA"]),
        extra_criteria: Some(async_graphql::Json(json!({ "crm": ["Salesforce", "HubSpot"] }))),
    };
    let icp_id = sign(db, cast, icp, true).await?;

    let personas = [
        (
            "Operations Olivia",
            &["COO", "Head of Operations"][..],
            &["Predictable delivery"][..],
            &["Manual reporting"][..],
            true,
        ),
        (
            "Finance Frank",
            &["CFO", "VP Finance"][..],
            &["Lower cost per customer"][..],
            &["Unclear ROI of tools"][..],
            true,
        ),
        ("IT Ivan", &["CTO", "Head of IT"][..], &["Fewer systems to run"][..], &["Integration effort"][..], true),
        (
            "Revenue Rita",
            &["CRO", "VP Sales"][..],
            &["Pipeline she can trust"][..],
            &["Leads sales ignores"][..],
            false,
        ),
    ];
    for (name, titles, goals, pains, agree) in personas {
        let persona = Persona {
            name: name.into(),
            icp_id: Some(icp_id),
            title_keywords: list(titles),
            goals: list(goals),
            pains: list(pains),
            objections: list(&["We built something in-house"]),
            buying_triggers: list(&["New leadership", "Funding round"]),
            preferred_channels: list(&["LinkedIn", "Events"]),
        };
        sign(db, cast, persona, agree).await?;
    }

    let slas = [
        (Team::Sales, Team::Marketing, SlaMetric::HandoverResponseHours, 24.0, SlaPeriod::Month),
        (Team::Sales, Team::Marketing, SlaMetric::FirstTouchHours, 48.0, SlaPeriod::Month),
        (Team::Marketing, Team::Sales, SlaMetric::MqlVolume, 300.0, SlaPeriod::Month),
    ];
    for (provider_team, consumer_team, metric, target, period) in slas {
        let sla = SlaBody { provider_team, consumer_team, metric, target, period, description: None };
        sign(db, cast, sla, true).await?;
    }

    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| ApiError::internal("invalid demo goal date"));
    // A goal of the running quarter, so GraphiQL shows live progress.
    let today = chrono::Utc::now().date_naive();
    let quarter = crate::kpi::periods::period_start(today, crate::kpi::periods::Granularity::Quarter);
    let quarter_end = crate::kpi::periods::next_start(quarter, crate::kpi::periods::Granularity::Quarter)
        .pred_opt()
        .unwrap_or(quarter);
    let goals = [
        ("This quarter's SQLs", KpiMetric::Sqls, 60.0, quarter, quarter_end, Some(Team::Sales), &cast.sales_manager),
        (
            "Q1 2027 MQLs",
            KpiMetric::Mqls,
            900.0,
            day(2027, 1, 1)?,
            day(2027, 3, 31)?,
            Some(Team::Marketing),
            &cast.marketing_manager,
        ),
        (
            "Q1 2027 revenue won",
            KpiMetric::RevenueWon,
            // €750,000 in cents, as every money figure.
            75_000_000.0,
            day(2027, 1, 1)?,
            day(2027, 3, 31)?,
            Some(Team::Sales),
            &cast.sales_manager,
        ),
    ];
    for (name, metric, target, period_start, period_end, team, owner) in goals {
        let new = goals::NewGoal {
            name: name.into(),
            metric,
            target,
            period_start,
            period_end,
            team,
            owner_id: owner.user_id(),
            person_id: None,
            scope: goals::GoalScope::default(),
        };
        goals::create(db, owner, new).await?;
    }
    Ok(())
}

/// The agreed demo scoring model: fit on industry, size, region and title, engagement
/// on visits, downloads and demo requests. Leads seeded after it are scored at once.
async fn scoring_model(db: &DatabaseConnection, cast: &Cast) -> Result<()> {
    use crate::scoring::{EngagementRule, FitAttribute, FitRule, RuleOperator, ScoringModel, Thresholds};
    use entity::EngagementKind as Kind;
    let fit = |name: &str,
               attribute,
               operator,
               value: Option<&str>,
               values: &[&str],
               range: (Option<f64>, Option<f64>),
               points| {
        FitRule {
            name: name.into(),
            attribute,
            operator,
            value: value.map(Into::into),
            values: list(values),
            min: range.0,
            max: range.1,
            points,
        }
    };
    let engagement = |name: &str, kind, points_per_event, cap, half_life_days| EngagementRule {
        name: name.into(),
        kind,
        points_per_event,
        cap,
        half_life_days,
    };
    let model = ScoringModel {
        name: "Default scoring model".into(),
        description: Some("Fit to the agreed ICP plus recent engagement; 60 points make an MQL.".into()),
        fit_rules: vec![
            fit(
                "Target industry",
                FitAttribute::AccountIndustry,
                RuleOperator::OneOf,
                None,
                &["Fintech", "Software", "Logistics"],
                (None, None),
                20.0,
            ),
            fit(
                "Mid-market size",
                FitAttribute::AccountEmployeeCount,
                RuleOperator::Range,
                None,
                &[],
                (Some(200.0), Some(5000.0)),
                15.0,
            ),
            fit("Core region", FitAttribute::AccountRegion, RuleOperator::Equals, Some("EMEA"), &[], (None, None), 5.0),
            fit("Senior title", FitAttribute::LeadTitle, RuleOperator::Contains, Some("Head"), &[], (None, None), 10.0),
            fit("Known persona", FitAttribute::Persona, RuleOperator::IsSet, None, &[], (None, None), 5.0),
        ],
        engagement_rules: vec![
            engagement("Web visits", Kind::WebVisit, 2.0, 10.0, 30.0),
            engagement("Content downloads", Kind::ContentDownload, 5.0, 15.0, 60.0),
            engagement("Demo requests", Kind::DemoRequest, 30.0, 30.0, 90.0),
        ],
        thresholds: Thresholds { warm: 30.0, hot: 60.0, mql: 60.0 },
    };
    // The demo's marketing manager co-signs knowing how many leads the model promotes.
    let id = sign(db, cast, model.clone(), false).await?;
    let promotions = crate::scoring::rescore::count_promotions(db, &cast.marketing_manager, id, 1, &model).await?;
    let confirmed = agreements::Confirmations { promotions: Some(promotions) };
    agreements::approve_confirming(db, &cast.marketing_manager, ScoringModel::KIND, id, 1, confirmed).await?;
    Ok(())
}
