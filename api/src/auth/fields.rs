//! Who may read personal data, field by field: one table of `Type.field` → the roles
//! and API-key scopes that may read it. The GraphQL layer applies it with a guard on
//! each of these fields (`graphql::fields`), CSV exports to their columns; an organization's
//! ADMINs adjust a field's rule (`org::field_rules`), within the limits below.

use std::collections::HashMap;

use async_graphql::Enum;
use entity::Role;

use super::permissions::Scope;
use super::{Actor, Identity};

/// A field holding personal data, hidden from callers its rule leaves out.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonalField {
    /// `Lead.email`.
    LeadEmail,
    /// `Lead.firstName`.
    LeadFirstName,
    /// `Lead.lastName`.
    LeadLastName,
    /// `Lead.phone`.
    LeadPhone,
    /// `Activity.notes`: what was said on a call or in a meeting.
    ActivityNotes,
    /// `EngagementEvent.properties`: what the sender recorded (pages, forms filled in).
    EngagementProperties,
    /// `Feedback.body`: free text between the teams, often about a customer.
    FeedbackBody,
    /// `FeedbackEndorsement.comment`.
    EndorsementComment,
    /// `Handover.note`: what marketing tells sales about the person.
    HandoverNote,
    /// `Handover.responseNote`: what sales answered.
    HandoverResponseNote,
}

impl PersonalField {
    pub const ALL: [PersonalField; 10] = [
        PersonalField::LeadEmail,
        PersonalField::LeadFirstName,
        PersonalField::LeadLastName,
        PersonalField::LeadPhone,
        PersonalField::ActivityNotes,
        PersonalField::EngagementProperties,
        PersonalField::FeedbackBody,
        PersonalField::EndorsementComment,
        PersonalField::HandoverNote,
        PersonalField::HandoverResponseNote,
    ];

    /// The GraphQL type and field, such as `("Lead", "email")`.
    pub fn path(self) -> (&'static str, &'static str) {
        match self {
            PersonalField::LeadEmail => ("Lead", "email"),
            PersonalField::LeadFirstName => ("Lead", "firstName"),
            PersonalField::LeadLastName => ("Lead", "lastName"),
            PersonalField::LeadPhone => ("Lead", "phone"),
            PersonalField::ActivityNotes => ("Activity", "notes"),
            PersonalField::EngagementProperties => ("EngagementEvent", "properties"),
            PersonalField::FeedbackBody => ("Feedback", "body"),
            PersonalField::EndorsementComment => ("FeedbackEndorsement", "comment"),
            PersonalField::HandoverNote => ("Handover", "note"),
            PersonalField::HandoverResponseNote => ("Handover", "responseNote"),
        }
    }

    /// `Type.field`, as stored and shown.
    pub fn name(self) -> String {
        let (type_name, field) = self.path();
        format!("{type_name}.{field}")
    }

    /// The personal field of a GraphQL type, if `field` is one.
    pub fn find(type_name: &str, field: &str) -> Option<Self> {
        match type_name {
            "Lead" | "Activity" | "EngagementEvent" | "Feedback" | "FeedbackEndorsement" | "Handover" => {
                Self::ALL.into_iter().find(|f| f.path() == (type_name, field))
            }
            _ => None,
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Who may read one personal field. ADMINs always may (they set the rules, erase and
/// export people); Accord itself always may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRule {
    /// The roles that may read it; ADMIN always may, listed or not.
    pub roles: Vec<Role>,
    /// An API key reads it when it holds any of these scopes (and the scope that reads
    /// the type); an empty list lets every key that reads the type.
    pub scopes: Vec<Scope>,
}

impl Default for ReadRule {
    /// Every user but VIEWERs; API keys with `PII_READ`.
    fn default() -> Self {
        Self { roles: vec![Role::Admin, Role::Manager, Role::Member], scopes: vec![Scope::PiiRead] }
    }
}

/// An organization's rules: the defaults, with the fields its ADMINs changed.
#[derive(Debug, Clone, Default)]
pub struct FieldRules {
    changed: HashMap<PersonalField, ReadRule>,
}

impl FieldRules {
    pub fn new(changed: HashMap<PersonalField, ReadRule>) -> Self {
        Self { changed }
    }

    pub fn rule(&self, field: PersonalField) -> ReadRule {
        self.changed.get(&field).cloned().unwrap_or_default()
    }

    pub fn is_changed(&self, field: PersonalField) -> bool {
        self.changed.contains_key(&field)
    }

    /// Whether `actor` may read `field` in this organization.
    pub fn may_read(&self, actor: &Actor, field: PersonalField) -> bool {
        match &actor.kind {
            Identity::System | Identity::User { role: Role::Admin, .. } => true,
            Identity::User { role, .. } => {
                self.changed.get(&field).map_or(*role != Role::Viewer, |r| r.roles.contains(role))
            }
            Identity::ApiKey { scopes, .. } => match self.changed.get(&field) {
                Some(rule) => rule.scopes.is_empty() || rule.scopes.iter().any(|s| scopes.contains(s)),
                None => scopes.contains(&Scope::PiiRead),
            },
        }
    }

    /// The message of the FORBIDDEN error a hidden field carries.
    pub fn refusal(&self, actor: &Actor, field: PersonalField) -> String {
        let name = field.name();
        match &actor.kind {
            Identity::ApiKey { .. } => {
                let scopes: Vec<&str> = self.rule(field).scopes.iter().map(|s| s.graphql_name()).collect();
                format!("{name} is personal data: the API key needs the {} scope", scopes.join(" or "))
            }
            _ => format!("{name} is personal data your role may not read in this organization"),
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn user(role: Role) -> Actor {
        Actor {
            org_id: Uuid::nil(),
            kind: Identity::User {
                id: Uuid::nil(),
                name: String::new(),
                email: String::new(),
                team: entity::Team::Sales,
                role,
            },
        }
    }

    fn key(scopes: Vec<Scope>) -> Actor {
        Actor {
            org_id: Uuid::nil(),
            kind: Identity::ApiKey { id: Uuid::nil(), name: String::new(), scopes, requests_per_minute: None },
        }
    }

    #[test]
    fn defaults_hide_personal_fields_from_viewers_and_keys_without_pii_read() {
        let rules = FieldRules::default();
        for field in PersonalField::ALL {
            assert!(rules.may_read(&user(Role::Admin), field));
            assert!(rules.may_read(&user(Role::Manager), field));
            assert!(rules.may_read(&user(Role::Member), field));
            assert!(!rules.may_read(&user(Role::Viewer), field));
            assert!(!rules.may_read(&key(vec![Scope::LeadsRead]), field));
            assert!(rules.may_read(&key(vec![Scope::LeadsRead, Scope::PiiRead]), field));
        }
    }

    #[test]
    fn a_changed_rule_applies_to_its_field_only_and_never_to_admins() {
        let rule = ReadRule { roles: vec![Role::Viewer], scopes: vec![] };
        let rules = FieldRules::new(HashMap::from([(PersonalField::LeadPhone, rule)]));
        assert!(rules.may_read(&user(Role::Viewer), PersonalField::LeadPhone));
        assert!(!rules.may_read(&user(Role::Member), PersonalField::LeadPhone));
        assert!(rules.may_read(&user(Role::Admin), PersonalField::LeadPhone));
        assert!(rules.may_read(&key(vec![Scope::LeadsRead]), PersonalField::LeadPhone));
        assert!(!rules.may_read(&user(Role::Viewer), PersonalField::LeadEmail));
    }

    #[test]
    fn every_field_is_found_by_its_type_and_name() {
        for field in PersonalField::ALL {
            let (type_name, name) = field.path();
            assert_eq!(PersonalField::find(type_name, name), Some(field));
            assert_eq!(PersonalField::parse(&field.name()), Some(field));
        }
        assert_eq!(PersonalField::find("Lead", "title"), None);
        assert_eq!(PersonalField::find("Account", "email"), None);
    }
}
