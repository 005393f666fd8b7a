//! Campaigns: create, update and archive with their budget and spend, who may write
//! them, tenancy, and how leads find their campaign by name.

use entity::{Role, Team};
use serde_json::{Value, json};

use crate::common::*;

const FIELDS: &str = "id name channel startsOn endsOn budget { amountMinor currency } spend { amountMinor currency } owner { id } archivedAt version leadCount";
const CREATE_LEAD: &str = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";

fn create_mutation() -> String {
    format!("mutation($input: CreateCampaignInput!) {{ createCampaign(input: $input) {{ campaign {{ {FIELDS} }} }} }}")
}

fn update_mutation() -> String {
    format!("mutation($input: UpdateCampaignInput!) {{ updateCampaign(input: $input) {{ campaign {{ {FIELDS} }} }} }}")
}

fn archive_mutation() -> String {
    format!(
        "mutation($input: ArchiveCampaignInput!) {{ archiveCampaign(input: $input) {{ campaign {{ {FIELDS} }} }} }}"
    )
}

fn webinar(name: &str) -> Value {
    json!({ "name": name, "channel": "WEBINAR", "startsOn": "2026-11-01", "endsOn": "2026-11-30",
            "budgetMinor": 500_000, "currency": "eur" })
}

async fn create(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app.gql(Some(token), &create_mutation(), json!({ "input": input })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["createCampaign"]["campaign"].clone()
}

async fn lead(app: &TestApp, token: &str, email: &str, campaign: &str) -> String {
    let input = json!({ "email": email, "campaign": campaign });
    let body = app.gql(Some(token), CREATE_LEAD, json!({ "input": input })).await;
    body["data"]["createLead"]["lead"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

/// The stored campaign, as its owner's organization reads it.
async fn read(app: &TestApp, token: &str, id: &Value) -> Value {
    let query = format!("query($id: ID!) {{ campaign(id: $id) {{ {FIELDS} }} }}");
    let body = app.gql(Some(token), &query, json!({ "id": id })).await;
    body["data"]["campaign"].clone()
}

#[tokio::test]
async fn marketing_creates_updates_and_archives_a_campaign() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let marketer = app.create_user(&org, Team::Marketing, Role::Member).await;
    let t = &marketer.token;

    let campaign = create(&app, t, webinar("  Spring Webinar ")).await;
    assert_eq!(campaign["name"], "Spring Webinar", "names are trimmed");
    assert_eq!(campaign["budget"], json!({ "amountMinor": 500_000, "currency": "EUR" }));
    assert_eq!(campaign["spend"], json!({ "amountMinor": 0, "currency": "EUR" }));
    assert_eq!(campaign["owner"]["id"], marketer.id.to_string(), "the creator owns it by default");
    assert_eq!((campaign["version"].as_i64(), campaign["leadCount"].as_i64()), (Some(1), Some(0)));
    let id = campaign["id"].clone();

    lead(&app, &org.admin.token, "ana@payly.io", "Spring Webinar").await;
    lead(&app, &org.admin.token, "bo@payly.io", "spring webinar").await;

    let input = json!({ "id": id, "expectedVersion": 1, "spendMinor": 125_000, "channel": "EVENT", "ownerId": null });
    let body = app.gql(Some(t), &update_mutation(), json!({ "input": input })).await;
    let updated = &body["data"]["updateCampaign"]["campaign"];
    assert_eq!(updated["spend"]["amountMinor"], 125_000, "{body}");
    assert_eq!((updated["channel"].as_str(), updated["version"].as_i64()), (Some("EVENT"), Some(2)));
    assert!(updated["owner"].is_null());
    assert_eq!(updated["leadCount"], 1, "names match exactly, case-sensitive");

    let list = "query($f: CampaignFilter) { campaigns(filter: $f) { name } }";
    let body = app.gql(Some(t), list, json!({ "f": { "activeOn": "2026-11-15", "search": "SPRING" } })).await;
    assert_eq!(body["data"]["campaigns"], json!([{ "name": "Spring Webinar" }]), "{body}");
    let body = app.gql(Some(t), list, json!({ "f": { "activeOn": "2026-12-01" } })).await;
    assert_eq!(body["data"]["campaigns"], json!([]));
    let body = app.gql(Some(t), list, json!({ "f": { "channel": "WEBINAR" } })).await;
    assert_eq!(body["data"]["campaigns"], json!([]));

    let body = app.gql(Some(t), &archive_mutation(), json!({ "input": { "id": id, "expectedVersion": 2 } })).await;
    let archived = &body["data"]["archiveCampaign"]["campaign"];
    assert!(archived["archivedAt"].is_string(), "{body}");
    assert_eq!(archived["version"], 3);
    let body = app.gql(Some(t), list, json!({})).await;
    assert_eq!(body["data"]["campaigns"], json!([]), "archived campaigns leave the list");
    let body = app.gql(Some(t), list, json!({ "f": { "includeArchived": true } })).await;
    assert_eq!(body["data"]["campaigns"], json!([{ "name": "Spring Webinar" }]));

    // An archived campaign no longer changes.
    let body = app.gql(Some(t), &update_mutation(), json!({ "input": { "id": id, "spendMinor": 1 } })).await;
    assert_error(&body, "CONFLICT");

    // Every change left an audit row and an outbox event.
    let audit = app
        .gql(Some(&org.admin.token), "{ auditLog(filter: { entity: \"campaign\" }) { totalCount } }", json!({}))
        .await;
    assert_eq!(audit["data"]["auditLog"]["totalCount"], 3, "{audit}");
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let events = entity::outbox_event::Entity::find()
        .filter(entity::outbox_event::Column::OrgId.eq(org.id))
        .filter(entity::outbox_event::Column::Entity.eq("campaign"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(events, 3);
}

#[tokio::test]
async fn bad_campaign_input_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let t = &org.admin.token;
    let campaign = create(&app, t, webinar("Spring Webinar")).await;
    let id = campaign["id"].clone();
    let audit = app.count_audit_rows(&org).await;

    let mut bad_creates = Vec::new();
    let mut input = webinar("Other");
    input["budgetMinor"] = json!(-1);
    bad_creates.push((input, "BAD_USER_INPUT", Some("budgetMinor")));
    let mut input = webinar("Other");
    input["currency"] = json!("EURO");
    bad_creates.push((input, "BAD_USER_INPUT", Some("currency")));
    let mut input = webinar("Other");
    input["endsOn"] = json!("2026-10-31");
    bad_creates.push((input, "BAD_USER_INPUT", Some("endsOn")));
    let mut input = webinar("Other");
    input["name"] = json!("   ");
    bad_creates.push((input, "BAD_USER_INPUT", Some("name")));
    bad_creates.push((webinar("Spring Webinar"), "CONFLICT", None));
    for (input, code, field) in bad_creates {
        let body = app.gql(Some(t), &create_mutation(), json!({ "input": input })).await;
        assert_error(&body, code);
        if let Some(field) = field {
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
        }
    }
    let list = app.gql(Some(t), "{ campaigns(filter: { includeArchived: true }) { name } }", json!({})).await;
    assert_eq!(list["data"]["campaigns"], json!([{ "name": "Spring Webinar" }]), "no campaign was created");

    let other = create(&app, t, webinar("Autumn Webinar")).await;
    let audit = audit + 1;
    let bad_updates = [
        (json!({ "id": id, "expectedVersion": 1, "budgetMinor": -5 }), "BAD_USER_INPUT"),
        (json!({ "id": id, "expectedVersion": 1, "currency": "XYZ" }), "BAD_USER_INPUT"),
        (json!({ "id": id, "expectedVersion": 1, "endsOn": "2026-01-01" }), "BAD_USER_INPUT"),
        (json!({ "id": id, "expectedVersion": 1, "name": "Autumn Webinar" }), "CONFLICT"),
        (json!({ "id": id, "expectedVersion": 7, "spendMinor": 10 }), "CONFLICT"),
        (json!({ "id": other["id"], "expectedVersion": 0, "spendMinor": 10 }), "CONFLICT"),
    ];
    for (input, code) in bad_updates {
        let body = app.gql(Some(t), &update_mutation(), json!({ "input": input })).await;
        assert_error(&body, code);
    }
    let body = app.gql(Some(t), &archive_mutation(), json!({ "input": { "id": id, "expectedVersion": 9 } })).await;
    assert_error(&body, "CONFLICT");

    assert_eq!(read(&app, t, &id).await, campaign, "the campaign is unchanged");
    assert_eq!(app.count_audit_rows(&org).await, audit, "nothing was audited");
}

#[tokio::test]
async fn viewers_and_sales_may_read_campaigns_but_not_write_them() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let campaign = create(&app, &org.admin.token, webinar("Spring Webinar")).await;
    let id = campaign["id"].clone();
    let viewer = app.create_user(&org, Team::Marketing, Role::Viewer).await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let audit = app.count_audit_rows(&org).await;

    for user in [&viewer, &rep] {
        let t = Some(user.token.as_str());
        let body = app.gql(t, &create_mutation(), json!({ "input": webinar("Mine") })).await;
        assert_error(&body, "FORBIDDEN");
        let body = app.gql(t, &update_mutation(), json!({ "input": { "id": id, "spendMinor": 1 } })).await;
        assert_error(&body, "FORBIDDEN");
        let body = app.gql(t, &archive_mutation(), json!({ "input": { "id": id } })).await;
        assert_error(&body, "FORBIDDEN");
        let body = app.gql(t, "{ campaigns { name } }", json!({})).await;
        assert_eq!(body["data"]["campaigns"], json!([{ "name": "Spring Webinar" }]), "{body}");
    }
    assert_eq!(read(&app, &org.admin.token, &id).await, campaign);
    assert_eq!(app.count_audit_rows(&org).await, audit);

    // API keys read campaigns with `kpis:read`, and only with it.
    for (scope, allowed) in [("KPIS_READ", true), ("LEADS_READ", false)] {
        let mutation =
            format!("mutation {{ createApiKey(input: {{ name: \"BI\", scopes: [{scope}] }}) {{ secret }} }}");
        let body = app.gql(Some(&org.admin.token), &mutation, json!({})).await;
        let secret = body["data"]["createApiKey"]["secret"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
        let body = app.gql(Some(&secret), "{ campaigns { name } }", json!({})).await;
        if allowed {
            assert_eq!(body["data"]["campaigns"], json!([{ "name": "Spring Webinar" }]), "{body}");
        } else {
            assert_error(&body, "FORBIDDEN");
        }
    }
}

#[tokio::test]
async fn organizations_never_see_or_change_each_others_campaigns() {
    let app = spawn_app().await;
    let a = app.create_org("Acme").await;
    let b = app.create_org("Globex").await;
    let id = create(&app, &a.admin.token, webinar("Spring Webinar")).await["id"].clone();
    lead(&app, &a.admin.token, "ana@payly.io", "Spring Webinar").await;
    let campaign = read(&app, &a.admin.token, &id).await;
    assert_eq!(campaign["leadCount"], 1);
    let bt = Some(b.admin.token.as_str());

    let body = app.gql(bt, "query($id: ID!) { campaign(id: $id) { name } }", json!({ "id": id })).await;
    assert_error(&body, "NOT_FOUND");
    assert!(body["data"]["campaign"].is_null());
    let body = app.gql(bt, "{ campaigns(filter: { includeArchived: true }) { name } }", json!({})).await;
    assert_eq!(body["data"]["campaigns"], json!([]));
    let body = app.gql(bt, &update_mutation(), json!({ "input": { "id": id, "spendMinor": 1 } })).await;
    assert_error(&body, "NOT_FOUND");
    let body = app.gql(bt, &archive_mutation(), json!({ "input": { "id": id } })).await;
    assert_error(&body, "NOT_FOUND");
    assert_eq!(read(&app, &a.admin.token, &id).await, campaign);

    // B's lead names a campaign of the same name: it never resolves A's record.
    let b_lead = lead(&app, &b.admin.token, "bo@globex.io", "Spring Webinar").await;
    let query = "query($id: ID!) { lead(id: $id) { campaign campaignDetails { id } } }";
    let body = app.gql(bt, query, json!({ "id": b_lead })).await;
    assert_eq!(body["data"]["lead"], json!({ "campaign": "Spring Webinar", "campaignDetails": null }), "{body}");

    // Once B has its own campaign of that name, B's lead resolves B's, with B's count.
    let mine = create(&app, &b.admin.token, webinar("Spring Webinar")).await;
    assert_eq!(mine["leadCount"], 1, "only B's own leads count");
    let body = app.gql(bt, query, json!({ "id": b_lead })).await;
    assert_eq!(body["data"]["lead"]["campaignDetails"]["id"], mine["id"]);
}

#[tokio::test]
async fn a_page_of_leads_with_their_campaigns_costs_a_constant_number_of_statements() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let t = &org.admin.token;
    let names = ["Spring Webinar", "Autumn Report", "SaaStock Booth"];
    for name in names {
        create(&app, t, webinar(name)).await;
    }
    for i in 0..30 {
        let campaign = if i % 4 == 3 { "No Such Campaign" } else { names[i % 3] };
        lead(&app, t, &format!("l{i}@c{i}.io"), campaign).await;
    }
    let query = "query($n: Int) { leads(first: $n) { nodes { email campaignDetails { name channel leadCount budget { amountMinor } } } } }";
    let (small, few) = app.gql_counting(Some(t), query, json!({ "n": 3 })).await;
    let (large, many) = app.gql_counting(Some(t), query, json!({ "n": 30 })).await;
    let nodes = large["data"]["leads"]["nodes"].as_array().unwrap_or_else(|| panic!("{large}"));
    assert_eq!(nodes.len(), 30);
    assert!(small["errors"].is_null(), "{small}");
    let resolved = nodes.iter().filter(|n| n["campaignDetails"].is_object()).count();
    assert_eq!(resolved, 23, "leads of an unknown campaign have no details");
    assert!(nodes.iter().any(|n| n["campaignDetails"]["leadCount"].as_i64() == Some(8)), "{large}");
    assert_eq!(few, many, "statements for 3 leads vs 30 leads");
    assert!(many <= 5, "{many} statements for a page of leads with their campaigns and lead counts");
}

#[tokio::test]
async fn the_demo_organization_has_a_campaign_record_for_every_campaign_its_leads_name() {
    let app = spawn_app().await;
    let admin = api::seed::demo(&app.db).await.unwrap().expect("a new demo organization");
    let (token, _) = app.keys.issue(admin.id, admin.org_id, admin.role, std::time::Duration::from_secs(600)).unwrap();

    let body = app
        .gql(Some(&token), "{ campaigns { name leadCount budget { amountMinor } spend { amountMinor } } }", json!({}))
        .await;
    let campaigns = body["data"]["campaigns"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(campaigns.len(), 6, "{body}");
    assert!(campaigns.iter().all(|c| c["budget"]["amountMinor"].as_i64() > Some(0)), "{body}");
    assert!(campaigns.iter().any(|c| c["spend"]["amountMinor"].as_i64() > Some(0)), "{body}");
    let named: i64 = campaigns.iter().filter_map(|c| c["leadCount"].as_i64()).sum();
    assert!(named > 0, "{body}");

    let query = "{ leads(first: 100) { nodes { campaign campaignDetails { name } } } }";
    let body = app.gql(Some(&token), query, json!({})).await;
    let leads = body["data"]["leads"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}"));
    let with_campaign = leads.iter().filter(|lead| lead["campaign"].is_string()).count();
    assert!(with_campaign > 0, "{body}");
    for lead in leads {
        assert_eq!(lead["campaign"], lead["campaignDetails"]["name"], "{lead}");
    }
}
