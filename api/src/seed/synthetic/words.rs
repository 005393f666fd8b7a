//! The word tables names, companies, reasons and pages are drawn from.

pub(super) const FIRST_NAMES: &[&str] = &[
    "Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kira", "Liam", "Maya", "Noah",
    "Olivia", "Pavel", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wes", "Xenia", "Yusuf", "Zoe", "Amara",
    "Bruno", "Carla", "Dmitri", "Emma", "Felix", "Gita", "Hugo", "Isla", "Jamal", "Lena", "Marco", "Nadia", "Omar",
    "Priya", "Rafael", "Sofia", "Tomas", "Ulla", "Victor", "Wanda", "Yara",
];
pub(super) const LAST_NAMES: &[&str] = &[
    "Garcia",
    "Schmidt",
    "Okafor",
    "Tanaka",
    "Rossi",
    "Novak",
    "Silva",
    "Kowalski",
    "Dubois",
    "Jensen",
    "Murphy",
    "Haddad",
    "Kim",
    "Larsen",
    "Moreau",
    "Nguyen",
    "Petrov",
    "Quispe",
    "Rahman",
    "Santos",
    "Tremblay",
    "Weber",
    "Yilmaz",
    "Zhang",
    "Andersson",
    "Bianchi",
    "Costa",
    "Eriksen",
    "Fischer",
    "Gomez",
    "Hoffmann",
    "Ivanova",
    "Johansson",
    "Keller",
    "Lopez",
    "Meyer",
    "Nakamura",
    "Olsen",
    "Patel",
    "Richter",
];
pub(super) const TITLES: &[&str] = &[
    "VP Marketing",
    "Head of Demand Generation",
    "Marketing Operations Manager",
    "Chief Revenue Officer",
    "VP Sales",
    "Sales Operations Lead",
    "Head of Customer Success",
    "CFO",
    "Director of Growth",
    "Revenue Operations Analyst",
    "CMO",
    "Head of Sales Enablement",
];
pub(super) const COMPANY_STEMS: &[&str] = &[
    "North", "Blue", "Bright", "Iron", "Silver", "Clear", "Nova", "Peak", "River", "Stone", "Swift", "Terra", "Vertex",
    "Atlas", "Beacon", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Lumen", "Orbit", "Pine", "Quartz",
    "Summit", "Tidal", "Vivid",
];
pub(super) const COMPANY_TAILS: &[&str] =
    &["forge", "wave", "path", "works", "line", "labs", "point", "scale", "field", "bridge", "loop", "stack"];
pub(super) const COMPANY_KINDS: &[&str] =
    &["", " Systems", " Analytics", " Health", " Logistics", " Software", " Group"];
/// (industry, weight)
pub(super) const INDUSTRIES: &[(&str, u32)] = &[
    ("Software", 5),
    ("Fintech", 3),
    ("Healthcare", 2),
    ("Manufacturing", 2),
    ("Retail", 2),
    ("Logistics", 1),
    ("Professional Services", 2),
    ("Education", 1),
];
pub(super) const REGIONS: &[(&str, &str, u32)] =
    &[("EMEA", "EUR", 5), ("NA", "USD", 4), ("APAC", "USD", 2), ("LATAM", "USD", 1)];
pub(super) const SOURCES: &[(&str, u32)] = &[
    ("website", 5),
    ("webinar", 3),
    ("paid_search", 3),
    ("event", 2),
    ("referral", 2),
    ("content", 3),
    ("partner", 1),
    ("outbound", 2),
];
/// Campaign names the generated leads carry (the demo organization has a campaign record of each).
pub const CAMPAIGNS: &[&str] = &[
    "Revenue Alignment Webinar Series",
    "State of RevOps Report",
    "Spring Product Launch",
    "SaaStock Booth",
    "Pipeline Acceleration Ads",
    "Customer Stories Newsletter",
];
pub(super) const DISQUALIFY_REASONS: &[&str] =
    &["not our ideal customer profile", "no budget this year", "bad contact data", "chose a competitor", "student"];
pub(super) const RECYCLE_REASONS: &[&str] =
    &["not ready to buy: back to nurture", "timing: revisit next quarter", "no reply after handover"];
/// Codes of the default LOST_REASONS list.
pub(super) const LOST_REASONS: &[&str] = &["PRICE", "COMPETITOR", "NO_DECISION", "TIMING", "PRODUCT_GAP"];
/// Competitors as reps type them: "SFDC" is a synonym of Salesforce in the demo's agreed list.
pub(super) const COMPETITORS: &[&str] = &["Salesforce", "SFDC", "HubSpot", "Pipedrive"];
pub(super) const PAGES: &[&str] =
    &["/", "/pricing", "/product/alignment", "/customers", "/blog/shared-funnel", "/integrations"];
pub(super) const ASSETS: &[&str] =
    &["RevOps Benchmark 2026", "SLA Playbook", "ICP Worksheet", "Alignment ROI Calculator"];
