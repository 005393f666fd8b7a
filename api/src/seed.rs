//! The demo organization: a user of every team and role, so a newcomer can try every
//! permission at once, and a few hundred leads across the whole funnel with their
//! history, engagement, activities and deals, so GraphiQL shows a living funnel.
//! Its e-mails and password are listed in the README.

pub mod synthetic;

use chrono::Utc;
use entity::{Role, Team};
use sea_orm::{DatabaseConnection, TransactionTrait};

use crate::auth::Actor;
use crate::error::Result;
use crate::events::audit::{self, Changes};
use crate::org::{self, users};

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
    let txn = db.begin().await?;
    for (email, name, team, role) in DEMO_USERS {
        let new = users::NewUser {
            email: (*email).into(),
            name: (*name).into(),
            team: *team,
            role: *role,
            password: Some(DEMO_PASSWORD.into()),
        };
        users::insert(&txn, &system, new).await?;
    }
    // A fixed seed: every demo database tells the same story, so the README and
    // support can point at the same records.
    let people = synthetic::People::of_org(&txn, org.id).await?;
    let mut generator = synthetic::Generator::new(org.id, people, synthetic::Naming::Demo, DEMO_SEED, Utc::now());
    let data = generator.batch(DEMO_LEADS);
    let changes = Changes::new().created("leads", &data.leads.len()).created("accounts", &data.accounts.len());
    synthetic::insert(&txn, data).await?;
    audit::record(&txn, &system, "seed.demo", "organization", Some(org.id), changes).await?;
    txn.commit().await?;
    Ok(Some(admin))
}
