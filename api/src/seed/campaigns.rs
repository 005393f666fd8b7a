//! The demo organization's campaigns: one record for every campaign name its leads
//! carry, with a channel, dates around the nine months of seeded history, a budget
//! and the spend so far, so `campaigns { leadCount budget spend }` shows ROI at once.
//! Created through [`campaigns::create`], so audit and outbox rows exist as in use.

use chrono::{Duration, Utc};
use entity::CampaignChannel;
use uuid::Uuid;

use crate::auth::Actor;
use crate::campaigns::{self, NewCampaign};
use crate::error::Result;

/// (name, channel, started days ago, runs for days, budget in euro, spent share in percent).
/// The names are the synthetic data set's campaign names (see the test below).
const DEMO_CAMPAIGNS: &[(&str, CampaignChannel, i64, i64, i64, i64)] = &[
    ("Revenue Alignment Webinar Series", CampaignChannel::Webinar, 270, 300, 24_000, 85),
    ("State of RevOps Report", CampaignChannel::Content, 240, 365, 18_000, 70),
    ("Spring Product Launch", CampaignChannel::PaidSocial, 200, 90, 45_000, 100),
    ("SaaStock Booth", CampaignChannel::Event, 120, 3, 60_000, 100),
    ("Pipeline Acceleration Ads", CampaignChannel::PaidSearch, 180, 240, 36_000, 80),
    ("Customer Stories Newsletter", CampaignChannel::Email, 270, 365, 6_000, 60),
];

/// Create the demo campaigns in `org_id`, owned by `marketer`.
pub async fn seed(db: &sea_orm::DatabaseConnection, marketer: &Actor) -> Result<()> {
    let today = Utc::now().date_naive();
    for &(name, channel, ago, days, budget_euro, spent_percent) in DEMO_CAMPAIGNS {
        let starts_on = today - Duration::days(ago);
        let budget_minor = budget_euro * 100;
        // Spend accrues over the running time; finished campaigns spent their share.
        let elapsed = (ago.min(days) * 100 / days.max(1)).min(100);
        let new = NewCampaign {
            name: name.to_owned(),
            channel,
            starts_on,
            ends_on: starts_on + Duration::days(days - 1),
            budget_minor,
            spend_minor: Some(budget_minor * spent_percent / 100 * elapsed / 100),
            currency: "EUR".into(),
            owner_id: None::<Uuid>,
        };
        campaigns::create(db, marketer, new).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_campaign_name_of_the_demo_leads_has_a_record() {
        let mut names: Vec<&str> = DEMO_CAMPAIGNS.iter().map(|c| c.0).collect();
        let mut expected = crate::seed::synthetic::CAMPAIGNS.to_vec();
        names.sort_unstable();
        expected.sort_unstable();
        assert_eq!(names, expected);
    }
}
