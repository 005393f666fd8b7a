//! The demo organization's messaging and feedback loop: a message matrix with gaps
//! (and one pending proposal), a content library of 21 assets across personas and
//! journey stages (with gaps), some used and some not, feedback below
//! and above the actionable threshold, and one review meeting with an action item.
//! Everything goes through the real domain functions, so audit and outbox rows exist.

use entity::content_asset::ContentKind;
use entity::content_usage::ContentRating;
use entity::feedback::{FeedbackSubject, Sentiment};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::agreements::{self, AgreedBody, DocumentCriteria};
use crate::auth::Actor;
use crate::error::{ApiError, Result};
use crate::feedback::{self, NewFeedback, meetings};
use crate::messaging::content::{self, NewAsset, NewUsage};
use crate::messaging::{self, Message, MessageKind};
use crate::org::journey_stages;
use crate::personas::Persona;

/// Seed the demo organization `org_id` (its demo users and personas exist already).
pub async fn seed(db: &DatabaseConnection, org_id: Uuid) -> Result<()> {
    let users = entity::user::Entity::find().filter(entity::user::Column::OrgId.eq(org_id)).all(db).await?;
    let person = |email: &str| {
        users
            .iter()
            .find(|u| u.email == email)
            .map(Actor::user)
            .ok_or_else(|| ApiError::internal(format!("demo user {email} missing")))
    };
    let marketer = person("marketer@demo.accord.dev")?;
    let marketing_manager = person("marketing.manager@demo.accord.dev")?;
    let sales_manager = person("sales.manager@demo.accord.dev")?;
    let rep = person("rep@demo.accord.dev")?;
    let rep2 = person("rep2@demo.accord.dev")?;
    let support = person("support@demo.accord.dev")?;

    let personas = agreements::list::<Persona>(db, &marketer, &DocumentCriteria::default()).await?;
    let persona = |name: &str| {
        personas
            .iter()
            .find(|p| p.model.title == name)
            .map(|p| p.model.id)
            .ok_or_else(|| ApiError::internal(format!("demo persona {name} missing")))
    };
    let (olivia, frank) = (persona("Operations Olivia")?, persona("Finance Frank")?);
    let (ivan, rita) = (persona("IT Ivan")?, persona("Revenue Rita")?);
    let stages = journey_stages::list(db, &marketer).await?;
    let stage = |position: i32| {
        stages
            .iter()
            .find(|s| s.position == position)
            .map(|s| s.id)
            .ok_or_else(|| ApiError::internal("demo journey stage missing"))
    };

    let write = |kind, persona_id, journey_stage_id, competitor: Option<&str>, title: &str, body: &str| Message {
        kind,
        persona_id,
        journey_stage_id,
        competitor: competitor.map(str::to_owned),
        title: title.into(),
        body: body.into(),
        proof_points: vec!["Customers close their books 3x faster".into()],
        call_to_action: Some("Book a 20-minute demo".into()),
    };
    let messages = [
        (
            write(
                MessageKind::Global,
                None,
                None,
                None,
                "One revenue team",
                "Sales and marketing on one set of rules.",
            ),
            true,
        ),
        (
            write(
                MessageKind::Segment,
                Some(olivia),
                Some(stage(1)?),
                None,
                "Stop building reports by hand",
                "Olivia gets delivery numbers without spreadsheets.",
            ),
            true,
        ),
        (
            write(
                MessageKind::Segment,
                Some(olivia),
                Some(stage(2)?),
                None,
                "Predictable delivery in 30 days",
                "A rollout plan Olivia can hold us to.",
            ),
            true,
        ),
        (
            write(
                MessageKind::Segment,
                Some(frank),
                Some(stage(1)?),
                None,
                "Know the ROI of every tool",
                "Frank sees cost per customer by channel.",
            ),
            false,
        ),
        (
            write(
                MessageKind::Battlecard,
                None,
                None,
                Some("Globex"),
                "Beat Globex on time to value",
                "Live in weeks where Globex takes quarters.",
            ),
            true,
        ),
    ];
    let mut message_ids = Vec::new();
    for (body, agree) in messages {
        let doc = messaging::create(db, &marketer, body, true).await?;
        if agree {
            agreements::approve(db, &sales_manager, Message::KIND, doc.model.id, 1).await?;
            agreements::approve(db, &marketing_manager, Message::KIND, doc.model.id, 1).await?;
        }
        message_ids.push(doc.model.id);
    }

    let asset = |title: &str, kind, url: &str, message_id, personas: Vec<Uuid>, stages: Vec<Uuid>| NewAsset {
        title: title.into(),
        kind,
        url: url.into(),
        message_id,
        persona_ids: personas,
        journey_stage_ids: stages,
        owner_id: None,
    };
    let deck = content::create(
        db,
        &marketer,
        asset(
            "Operations deck",
            ContentKind::Deck,
            "https://demo.accord.dev/content/ops-deck.pdf",
            message_ids.get(1).copied(),
            vec![olivia],
            vec![stage(1)?],
        ),
    )
    .await?;
    let story = content::create(
        db,
        &marketer,
        asset(
            "Payly case study",
            ContentKind::CaseStudy,
            "https://demo.accord.dev/content/payly.pdf",
            message_ids.get(2).copied(),
            vec![olivia],
            vec![stage(2)?],
        ),
    )
    .await?;
    content::create(
        db,
        &marketer,
        asset(
            "2024 brochure",
            ContentKind::OnePager,
            "https://demo.accord.dev/content/brochure-2024.pdf",
            None,
            vec![],
            vec![],
        ),
    )
    .await?;
    // The rest of the library, across personas × journey stages (1 AWARENESS …
    // 5 EXPANSION), with visible gaps: nothing for Olivia's EXPANSION, Frank's
    // ONBOARDING and EXPANSION, Ivan's DECISION and ONBOARDING.
    // (title, kind, file name, personas, journey-stage positions)
    type Entry<'a> = (&'a str, ContentKind, &'a str, Vec<Uuid>, Vec<i32>);
    let library: [Entry; 18] = [
        ("Operations benchmark 2026", ContentKind::Whitepaper, "ops-benchmark", vec![olivia], vec![1]),
        ("Delivery dashboard in 3 minutes", ContentKind::Video, "ops-dashboard-video", vec![olivia], vec![3]),
        ("Operations onboarding checklist", ContentKind::OnePager, "ops-onboarding", vec![olivia], vec![4]),
        ("The CFO's guide to revenue tooling costs", ContentKind::Whitepaper, "cfo-guide", vec![frank], vec![1]),
        ("Cost per customer on one page", ContentKind::OnePager, "cost-per-customer", vec![frank], vec![1]),
        ("Fintech CFO case study", ContentKind::CaseStudy, "fintech-cfo", vec![frank], vec![2]),
        ("Business case template", ContentKind::Other, "business-case.xlsx", vec![frank], vec![3]),
        ("ROI model deck", ContentKind::Deck, "roi-deck", vec![frank], vec![3]),
        ("Integration architecture", ContentKind::Whitepaper, "integration-architecture", vec![ivan], vec![1]),
        ("Security and compliance pack", ContentKind::Other, "security-pack.zip", vec![ivan], vec![2]),
        ("Platform roadmap", ContentKind::Deck, "roadmap", vec![ivan], vec![5]),
        ("Pipeline you can trust", ContentKind::EmailTemplate, "pipeline-email", vec![rita], vec![1]),
        ("Executive summary", ContentKind::OnePager, "executive-summary", vec![olivia, frank, ivan], vec![3]),
        ("Revenue alignment webinar", ContentKind::Video, "alignment-webinar", vec![], vec![1]),
        ("Buyer's guide to revenue platforms", ContentKind::Whitepaper, "buyers-guide", vec![], vec![2]),
        ("Pricing and packaging", ContentKind::OnePager, "pricing", vec![], vec![3]),
        ("Welcome to Accord", ContentKind::EmailTemplate, "welcome-email", vec![], vec![4]),
        ("Expansion playbook", ContentKind::Deck, "expansion-playbook", vec![], vec![5]),
    ];
    for (title, kind, slug, personas, positions) in library {
        let stages = positions.into_iter().map(&stage).collect::<Result<Vec<_>>>()?;
        let url = format!("https://demo.accord.dev/content/{slug}");
        content::create(db, &marketer, asset(title, kind, &url, None, personas, stages)).await?;
    }
    let uses = [
        (&rep, deck.id, Some(ContentRating::Helpful)),
        (&rep2, deck.id, Some(ContentRating::Helpful)),
        (&rep, story.id, Some(ContentRating::NotHelpful)),
    ];
    for (who, asset_id, rating) in uses {
        let usage = NewUsage { asset_id, lead_id: None, opportunity_id: None, rating, comment: None };
        content::record_usage(db, who, usage).await?;
    }

    let pricing = NewFeedback {
        subject_type: FeedbackSubject::General,
        subject_id: None,
        tag: "pricing".into(),
        sentiment: Sentiment::Negative,
        body: "Mid-market prospects say the entry plan is too expensive.".into(),
        account_id: None,
    };
    let pricing = feedback::submit(db, &rep, pricing).await?;
    for who in [&rep2, &marketer] {
        feedback::endorse(db, who, pricing.id, None, Some("Heard the same this month.".into())).await?;
    }
    let tone = NewFeedback {
        subject_type: FeedbackSubject::Message,
        subject_id: message_ids.get(1).copied(),
        tag: "tone".into(),
        sentiment: Sentiment::Neutral,
        body: "Olivia's awareness message sounds too technical for a COO.".into(),
        account_id: None,
    };
    let tone = feedback::submit(db, &support, tone).await?;
    feedback::endorse(db, &rep, tone.id, None, None).await?;

    let today = chrono::Utc::now().date_naive();
    let meeting = meetings::start(db, &sales_manager, today - chrono::Duration::days(30), today).await?;
    meetings::update(db, &sales_manager, meeting.id, Some(Some("Pricing objections are the top theme.".into())), None)
        .await?;
    let owner = marketer.user_id();
    meetings::add_item(
        db,
        &sales_manager,
        meeting.id,
        "Draft a pricing FAQ for sales",
        owner,
        Some(today + chrono::Duration::days(14)),
    )
    .await?;
    Ok(())
}
