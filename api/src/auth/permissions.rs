//! Who may do what (DESIGN §5), as named functions. Guards, resolvers and domain
//! functions all ask these; no rule is written twice.

use async_graphql::Enum;
use entity::{DocumentKind, Role, Team};

use super::{Actor, Identity};
use crate::error::{ApiError, Result};

/// What an API key may do. Users are governed by their role and team instead.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Read accounts, leads, activities and opportunities.
    LeadsRead,
    /// Create and change accounts, leads, activities and opportunities.
    LeadsWrite,
    /// Record engagement events (web visits, e-mail opens, form submits…).
    EventsWrite,
    /// Open a GraphQL WebSocket and subscribe to live events; each subscription also
    /// needs the scope that reads what it delivers (`LEADS_READ` for lead events, …).
    EventsRead,
    /// Read KPIs, the funnel, goals, SLAs and the scorecard.
    KpisRead,
    /// Read messages, content assets and the message matrix.
    ContentRead,
    /// Read the organization and its users.
    OrgRead,
    /// Read the audit log.
    AuditRead,
    /// Read personal data: leads' e-mail, names and phone, activity notes, engagement
    /// properties, free-text feedback and handover notes (each field's rule:
    /// `fieldReadRules`). Needed besides the scope that reads the type.
    PiiRead,
}

impl Scope {
    pub const ALL: [Scope; 9] = [
        Scope::LeadsRead,
        Scope::LeadsWrite,
        Scope::EventsWrite,
        Scope::EventsRead,
        Scope::KpisRead,
        Scope::ContentRead,
        Scope::OrgRead,
        Scope::AuditRead,
        Scope::PiiRead,
    ];

    /// The stored form, such as `LEADS_READ`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::LeadsRead => "leads:read",
            Scope::LeadsWrite => "leads:write",
            Scope::EventsWrite => "events:write",
            Scope::EventsRead => "events:read",
            Scope::KpisRead => "kpis:read",
            Scope::ContentRead => "content:read",
            Scope::OrgRead => "org:read",
            Scope::AuditRead => "audit:read",
            Scope::PiiRead => "pii:read",
        }
    }

    /// The name clients see, such as `LEADS_READ`.
    pub fn graphql_name(self) -> &'static str {
        match self {
            Scope::LeadsRead => "LEADS_READ",
            Scope::LeadsWrite => "LEADS_WRITE",
            Scope::EventsWrite => "EVENTS_WRITE",
            Scope::EventsRead => "EVENTS_READ",
            Scope::KpisRead => "KPIS_READ",
            Scope::ContentRead => "CONTENT_READ",
            Scope::OrgRead => "ORG_READ",
            Scope::AuditRead => "AUDIT_READ",
            Scope::PiiRead => "PII_READ",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Read the JSON array stored in `api_keys.scopes`; unknown strings are ignored.
    pub fn parse_stored(value: &serde_json::Value) -> Vec<Scope> {
        value
            .as_array()
            .map(|items| items.iter().filter_map(|v| v.as_str().and_then(Scope::parse)).collect())
            .unwrap_or_default()
    }

    pub fn to_stored(scopes: &[Scope]) -> serde_json::Value {
        serde_json::Value::from(scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>())
    }
}

fn has_scope(actor: &Actor, scope: Scope) -> bool {
    match &actor.kind {
        Identity::ApiKey { scopes, .. } => scopes.contains(&scope),
        Identity::User { .. } | Identity::System => true,
    }
}

/// Live events (a GraphQL WebSocket): any user; an API key needs `EVENTS_READ`.
pub fn can_subscribe(actor: &Actor) -> bool {
    has_scope(actor, Scope::EventsRead)
}

/// Any user of the organization may read; an API key needs the scope.
pub fn can_read(actor: &Actor, scope: Scope) -> bool {
    has_scope(actor, scope)
}

/// Users other than VIEWERs may write shared records; an API key needs the scope.
pub fn can_write(actor: &Actor, scope: Scope) -> bool {
    match &actor.kind {
        Identity::User { role, .. } => *role != Role::Viewer,
        Identity::ApiKey { .. } => has_scope(actor, scope),
        Identity::System => true,
    }
}

/// Users, API keys, webhooks and organization settings: ADMINs only, never API keys.
pub fn can_administer(actor: &Actor) -> bool {
    match &actor.kind {
        Identity::User { role, .. } => *role == Role::Admin,
        Identity::ApiKey { .. } => false,
        Identity::System => true,
    }
}

/// The audit log: ADMINs and MANAGERs, or an API key with `AUDIT_READ`.
pub fn can_read_audit_log(actor: &Actor) -> bool {
    match &actor.kind {
        Identity::User { role, .. } => matches!(role, Role::Admin | Role::Manager),
        Identity::ApiKey { .. } => has_scope(actor, Scope::AuditRead),
        Identity::System => true,
    }
}

/// How a caller may write agreed documents (definitions, ICPs, personas, SLAs, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authoring {
    /// MARKETING (and Accord itself): may keep DRAFTs and propose them when ready.
    Write,
    /// SALES, SERVICE, REVOPS, LEADERSHIP: every create or edit is at once a
    /// PROPOSED version, open for approval — they suggest, marketing owns the drafts.
    Propose,
}

/// Who may create and edit agreed documents (DESIGN §5): MARKETING writes, the
/// other teams propose; VIEWERs and API keys never write.
pub fn document_authoring(actor: &Actor, _kind: DocumentKind) -> Option<Authoring> {
    match &actor.kind {
        Identity::User { role: Role::Viewer, .. } | Identity::ApiKey { .. } => None,
        Identity::User { team: Team::Marketing, .. } | Identity::System => Some(Authoring::Write),
        Identity::User { .. } => Some(Authoring::Propose),
    }
}

/// Which optional teams co-sign an organization's agreed documents (its
/// `approvalRequiresService` and `approvalRequiresLeadership` settings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Approvers {
    pub service: bool,
    pub leadership: bool,
}

/// The teams whose approval makes a version AGREED: SALES and MARKETING, plus SERVICE
/// and LEADERSHIP when the organization asks for them.
pub fn approving_teams(approvers: Approvers) -> Vec<Team> {
    let mut teams = vec![Team::Sales, Team::Marketing];
    if approvers.service {
        teams.push(Team::Service);
    }
    if approvers.leadership {
        teams.push(Team::Leadership);
    }
    teams
}

/// A MANAGER or ADMIN of an approving team may approve (and withdraw their
/// approval). Approvals are personal: API keys and Accord itself never approve.
pub fn can_approve_documents(actor: &Actor, approvers: Approvers) -> bool {
    match &actor.kind {
        Identity::User { team, role, .. } => {
            matches!(role, Role::Manager | Role::Admin) && approving_teams(approvers).contains(team)
        }
        Identity::ApiKey { .. } | Identity::System => false,
    }
}

/// Retiring takes a document out of force at once, without a second signature, so
/// it is kept to those who may approve, and ADMINs.
pub fn can_retire_documents(actor: &Actor, approvers: Approvers) -> bool {
    can_approve_documents(actor, approvers)
        || matches!(actor.kind, Identity::User { role: Role::Admin, .. } | Identity::System)
}

/// Agreed documents are the organization's shared rules: every user reads them, and
/// an API key with any of `CONTENT_READ`, `KPIS_READ` or `LEADS_READ` (integrations
/// need the glossary and personas to read the data they get).
pub fn can_read_agreements(actor: &Actor) -> bool {
    has_scope(actor, Scope::ContentRead) || has_scope(actor, Scope::KpisRead) || has_scope(actor, Scope::LeadsRead)
}

/// Goals: read like KPIs (`KPIS_READ` for API keys).
pub fn can_read_goals(actor: &Actor) -> bool {
    has_scope(actor, Scope::KpisRead)
}

/// Goals are set by MANAGERs and ADMINs of any team and by LEADERSHIP (who set the
/// shared targets); never by VIEWERs or API keys.
pub fn can_set_goals(actor: &Actor) -> bool {
    match &actor.kind {
        Identity::User { role, team, .. } => {
            matches!(role, Role::Admin | Role::Manager) || (*team == Team::Leadership && *role == Role::Member)
        }
        Identity::ApiKey { .. } => false,
        Identity::System => true,
    }
}

/// Renaming and reordering journey stages changes every message's place: ADMINs only.
pub fn can_edit_journey_stages(actor: &Actor) -> bool {
    can_administer(actor)
}

/// Hand a lead over to sales: anyone who writes shared records (not VIEWERs); API
/// keys need `LEADS_WRITE`.
pub fn can_hand_over(actor: &Actor) -> bool {
    can_write(actor, Scope::LeadsWrite)
}

/// Accept or hand back a handover: its assignee, or a MANAGER/ADMIN of SALES.
pub fn can_answer_handover(actor: &Actor, assignee: uuid::Uuid) -> bool {
    match &actor.kind {
        Identity::User { id, team, role, .. } => {
            *id == assignee || (*team == entity::Team::Sales && matches!(role, Role::Manager | Role::Admin))
        }
        Identity::ApiKey { .. } => false,
        Identity::System => true,
    }
}

/// Content assets (create, edit, archive): MARKETING, who owns the collateral, and
/// ADMINs; never VIEWERs or API keys.
pub fn can_write_content(actor: &Actor) -> bool {
    match &actor.kind {
        Identity::User { role: Role::Viewer, .. } | Identity::ApiKey { .. } => false,
        Identity::User { team, role, .. } => *team == Team::Marketing || *role == Role::Admin,
        Identity::System => true,
    }
}

/// Record that content was used, give feedback, endorse feedback: any person of
/// the organization but VIEWERs. API keys never: these are personal signals.
pub fn can_give_signal(actor: &Actor) -> bool {
    match &actor.kind {
        Identity::User { role, .. } => *role != Role::Viewer,
        Identity::ApiKey { .. } => false,
        Identity::System => true,
    }
}

/// Who owns the subject of a piece of feedback, and so answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackOwner {
    /// A team (MARKETING for messages, content, personas, ICPs, scoring models and
    /// definitions; SALES for leads; the provider team for an SLA).
    Team(Team),
    /// GENERAL feedback: any MANAGER.
    AnyManager,
}

/// Change the status of feedback: a non-VIEWER of the owning team (any MANAGER for
/// GENERAL feedback), or an ADMIN.
pub fn can_set_feedback_status(actor: &Actor, owner: FeedbackOwner) -> bool {
    match &actor.kind {
        Identity::User { role: Role::Admin, .. } | Identity::System => true,
        Identity::User { role: Role::Viewer, .. } | Identity::ApiKey { .. } => false,
        Identity::User { team, role, .. } => match owner {
            FeedbackOwner::Team(owning) => *team == owning,
            FeedbackOwner::AnyManager => *role == Role::Manager,
        },
    }
}

/// Start and write up review meetings, and add or change any action item:
/// MANAGERs and ADMINs.
pub fn can_run_review_meetings(actor: &Actor) -> bool {
    match &actor.kind {
        Identity::User { role, .. } => matches!(role, Role::Manager | Role::Admin),
        Identity::ApiKey { .. } => false,
        Identity::System => true,
    }
}

/// Change an action item: those who run review meetings, or its owner.
pub fn can_update_action_item(actor: &Actor, owner: Option<uuid::Uuid>) -> bool {
    can_run_review_meetings(actor)
        || (owner.is_some() && actor.user_id() == owner && actor.role() != Some(Role::Viewer))
}

/// Campaigns (their budget and spend are what marketing ROI is measured by): every
/// user of the organization reads them; an API key needs `KPIS_READ`.
pub fn can_read_campaigns(actor: &Actor) -> bool {
    has_scope(actor, Scope::KpisRead)
}

/// Create, change and archive campaigns: MARKETING, who owns the budget, and ADMINs;
/// never VIEWERs or API keys.
pub fn can_write_campaigns(actor: &Actor) -> bool {
    match &actor.kind {
        Identity::User { role: Role::Viewer, .. } | Identity::ApiKey { .. } => false,
        Identity::User { team, role, .. } => *team == Team::Marketing || *role == Role::Admin,
        Identity::System => true,
    }
}

/// Export the organization's leads as CSV (`/export/leads.csv`): whoever may read
/// leads through GraphQL (every user; an API key with `LEADS_READ`). The export
/// carries e-mail addresses, so `KPIS_READ` alone is not enough.
pub fn can_export_leads(actor: &Actor) -> bool {
    can_read(actor, Scope::LeadsRead)
}

/// Turn a rule's answer into FORBIDDEN with a message saying what was refused.
pub fn require(allowed: bool, what: &str) -> Result<()> {
    if allowed { Ok(()) } else { Err(ApiError::forbidden(format!("you may not {what}"))) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn scope_names_in_messages_are_the_schema_names() {
        for item in <Scope as async_graphql::resolver_utils::EnumType>::items() {
            assert_eq!(item.value.graphql_name(), item.name);
        }
    }

    fn user(role: Role) -> Actor {
        Actor {
            org_id: Uuid::now_v7(),
            kind: Identity::User {
                id: Uuid::now_v7(),
                name: "U".into(),
                email: "u@x.io".into(),
                team: Team::Sales,
                role,
            },
        }
    }

    fn key(scopes: Vec<Scope>) -> Actor {
        Actor {
            org_id: Uuid::now_v7(),
            kind: Identity::ApiKey { id: Uuid::now_v7(), name: "BI".into(), scopes, requests_per_minute: None },
        }
    }

    #[test]
    fn viewers_read_but_never_write() {
        assert!(can_read(&user(Role::Viewer), Scope::LeadsRead));
        assert!(!can_write(&user(Role::Viewer), Scope::LeadsWrite));
        assert!(can_write(&user(Role::Member), Scope::LeadsWrite));
    }

    #[test]
    fn api_keys_are_bound_by_their_scopes() {
        let bi = key(vec![Scope::KpisRead]);
        assert!(can_read(&bi, Scope::KpisRead));
        assert!(!can_read(&bi, Scope::LeadsRead));
        assert!(!can_write(&bi, Scope::LeadsWrite));
        assert!(!can_administer(&key(Scope::ALL.to_vec())));
    }

    #[test]
    fn only_admins_administer() {
        assert!(can_administer(&user(Role::Admin)));
        assert!(!can_administer(&user(Role::Manager)));
        assert!(can_read_audit_log(&user(Role::Manager)));
        assert!(!can_read_audit_log(&user(Role::Member)));
    }

    fn person(team: Team, role: Role) -> Actor {
        Actor {
            org_id: Uuid::now_v7(),
            kind: Identity::User { id: Uuid::now_v7(), name: "P".into(), email: "p@x.io".into(), team, role },
        }
    }

    #[test]
    fn marketing_writes_agreed_documents_and_the_other_teams_propose() {
        let kind = DocumentKind::Persona;
        assert_eq!(document_authoring(&person(Team::Marketing, Role::Member), kind), Some(Authoring::Write));
        for team in [Team::Sales, Team::Service, Team::Revops, Team::Leadership] {
            assert_eq!(document_authoring(&person(team, Role::Member), kind), Some(Authoring::Propose));
        }
        assert_eq!(document_authoring(&person(Team::Marketing, Role::Viewer), kind), None);
        assert_eq!(document_authoring(&key(Scope::ALL.to_vec()), kind), None);
    }

    #[test]
    fn only_managers_and_admins_of_sales_and_marketing_approve() {
        let (default, service) = (Approvers::default(), Approvers { service: true, leadership: false });
        let leadership = Approvers { service: false, leadership: true };
        assert!(can_approve_documents(&person(Team::Sales, Role::Manager), default));
        assert!(can_approve_documents(&person(Team::Marketing, Role::Admin), default));
        assert!(!can_approve_documents(&person(Team::Sales, Role::Member), default));
        assert!(!can_approve_documents(&person(Team::Leadership, Role::Manager), default));
        assert!(!can_approve_documents(&person(Team::Service, Role::Manager), default));
        assert!(can_approve_documents(&person(Team::Service, Role::Manager), service));
        assert!(can_approve_documents(&person(Team::Leadership, Role::Manager), leadership));
        assert!(!can_approve_documents(&person(Team::Leadership, Role::Member), leadership));
        assert!(!can_approve_documents(&key(Scope::ALL.to_vec()), default));
        assert_eq!(approving_teams(service), vec![Team::Sales, Team::Marketing, Team::Service]);
        let both = Approvers { service: true, leadership: true };
        assert_eq!(approving_teams(both), vec![Team::Sales, Team::Marketing, Team::Service, Team::Leadership]);
    }

    #[test]
    fn approvers_and_admins_retire_documents() {
        let default = Approvers::default();
        assert!(can_retire_documents(&person(Team::Marketing, Role::Manager), default));
        assert!(can_retire_documents(&person(Team::Revops, Role::Admin), default));
        assert!(!can_retire_documents(&person(Team::Marketing, Role::Member), default));
    }

    #[test]
    fn goals_are_set_by_managers_and_leadership() {
        assert!(can_set_goals(&person(Team::Sales, Role::Manager)));
        assert!(can_set_goals(&person(Team::Leadership, Role::Member)));
        assert!(!can_set_goals(&person(Team::Sales, Role::Member)));
        assert!(!can_set_goals(&person(Team::Leadership, Role::Viewer)));
        assert!(can_read_goals(&key(vec![Scope::KpisRead])));
        assert!(!can_read_goals(&key(vec![Scope::LeadsRead])));
        assert!(can_read_agreements(&key(vec![Scope::ContentRead])));
        assert!(!can_read_agreements(&key(vec![Scope::EventsWrite])));
    }

    #[test]
    fn handovers_are_answered_by_their_assignee_or_a_sales_manager() {
        let rep = user(Role::Member);
        let assignee = rep.user_id().unwrap();
        assert!(can_answer_handover(&rep, assignee));
        assert!(!can_answer_handover(&user(Role::Member), assignee));
        assert!(can_answer_handover(&user(Role::Manager), assignee), "a SALES manager");
        let mut marketing_manager = user(Role::Manager);
        if let Identity::User { team, .. } = &mut marketing_manager.kind {
            *team = Team::Marketing;
        }
        assert!(!can_answer_handover(&marketing_manager, assignee));
        assert!(!can_answer_handover(&key(Scope::ALL.to_vec()), assignee));
        assert!(!can_hand_over(&user(Role::Viewer)));
    }

    #[test]
    fn marketing_and_admins_write_content_and_everyone_but_viewers_gives_signal() {
        assert!(can_write_content(&person(Team::Marketing, Role::Member)));
        assert!(can_write_content(&person(Team::Revops, Role::Admin)));
        assert!(!can_write_content(&person(Team::Sales, Role::Manager)));
        assert!(!can_write_content(&person(Team::Marketing, Role::Viewer)));
        assert!(can_give_signal(&person(Team::Sales, Role::Member)));
        assert!(!can_give_signal(&person(Team::Sales, Role::Viewer)));
        assert!(!can_give_signal(&key(Scope::ALL.to_vec())));
    }

    #[test]
    fn feedback_is_answered_by_the_owning_team_or_an_admin() {
        let marketing = FeedbackOwner::Team(Team::Marketing);
        assert!(can_set_feedback_status(&person(Team::Marketing, Role::Member), marketing));
        assert!(!can_set_feedback_status(&person(Team::Sales, Role::Manager), marketing));
        assert!(can_set_feedback_status(&person(Team::Service, Role::Admin), marketing));
        assert!(!can_set_feedback_status(&person(Team::Marketing, Role::Viewer), marketing));
        assert!(can_set_feedback_status(&person(Team::Sales, Role::Manager), FeedbackOwner::AnyManager));
        assert!(!can_set_feedback_status(&person(Team::Sales, Role::Member), FeedbackOwner::AnyManager));
        assert!(!can_set_feedback_status(&key(Scope::ALL.to_vec()), marketing));
    }

    #[test]
    fn managers_run_review_meetings_and_owners_update_their_action_items() {
        assert!(can_run_review_meetings(&person(Team::Sales, Role::Manager)));
        assert!(!can_run_review_meetings(&person(Team::Sales, Role::Member)));
        let rep = person(Team::Sales, Role::Member);
        assert!(can_update_action_item(&rep, rep.user_id()));
        assert!(!can_update_action_item(&rep, Some(Uuid::now_v7())));
        assert!(!can_update_action_item(&rep, None));
    }

    #[test]
    fn marketing_and_admins_write_campaigns_and_everyone_reads_them() {
        assert!(can_write_campaigns(&person(Team::Marketing, Role::Member)));
        assert!(can_write_campaigns(&person(Team::Marketing, Role::Manager)));
        assert!(can_write_campaigns(&person(Team::Sales, Role::Admin)));
        assert!(!can_write_campaigns(&person(Team::Sales, Role::Manager)));
        assert!(!can_write_campaigns(&person(Team::Marketing, Role::Viewer)));
        assert!(!can_write_campaigns(&key(Scope::ALL.to_vec())));
        assert!(can_read_campaigns(&person(Team::Service, Role::Viewer)));
        assert!(can_read_campaigns(&key(vec![Scope::KpisRead])));
        assert!(!can_read_campaigns(&key(vec![Scope::LeadsRead])));
    }

    #[test]
    fn leads_are_exported_by_users_and_lead_reading_keys() {
        assert!(can_export_leads(&user(Role::Viewer)));
        assert!(can_export_leads(&key(vec![Scope::LeadsRead])));
        assert!(!can_export_leads(&key(vec![Scope::KpisRead])), "KPI keys see no e-mail addresses");
        assert!(!can_export_leads(&key(vec![Scope::LeadsWrite, Scope::EventsWrite])));
    }

    #[test]
    fn scopes_round_trip_through_storage() {
        let stored = Scope::to_stored(&Scope::ALL);
        assert_eq!(Scope::parse_stored(&stored), Scope::ALL.to_vec());
    }
}
