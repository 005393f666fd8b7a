//! GraphQL types and resolvers of the personal-data read rules (`org::field_rules`).

use async_graphql::{Context, InputObject, Object, SimpleObject};

use super::Role;
use crate::auth::fields::{FieldRules, PersonalField, ReadRule};
use crate::auth::permissions::Scope;
use crate::error::{ApiError, Result};
use crate::graphql::fields::rules_ttl;
use crate::graphql::{actor, db};
use crate::org::field_rules;

/// Who may read one personal field in this organization. Callers it leaves out get
/// `null` and a FORBIDDEN error on that field; the rest of their query resolves. CSV
/// exports leave the matching column empty for them.
#[derive(SimpleObject)]
pub struct FieldReadRule {
    /// The field.
    pub field: PersonalField,
    /// The field as `Type.field`, such as `Lead.phone`.
    pub path: String,
    /// The roles that may read it; always ADMIN.
    pub roles: Vec<Role>,
    /// The scopes of which an API key needs one to read it (besides the scope that
    /// reads the type); empty when every such key may.
    pub scopes: Vec<Scope>,
    /// False while the field follows the default (every role but VIEWER; API keys with `PII_READ`).
    pub changed: bool,
}

fn listed(rules: &FieldRules) -> Vec<FieldReadRule> {
    PersonalField::ALL
        .into_iter()
        .map(|field| {
            let rule = rules.rule(field);
            FieldReadRule {
                field,
                path: field.name(),
                roles: rule.roles.into_iter().map(Into::into).collect(),
                scopes: rule.scopes,
                changed: rules.is_changed(field),
            }
        })
        .collect()
}

/// Who may read one personal field.
#[derive(InputObject)]
pub struct SetFieldReadRuleInput {
    /// The field.
    pub field: PersonalField,
    /// The roles that may read it, at most the four; ADMIN always may, listed or not.
    pub roles: Vec<Role>,
    /// API keys need one of these scopes (at most all nine); an empty list lets every
    /// key that reads the type.
    pub scopes: Vec<Scope>,
}

#[derive(Default)]
pub struct FieldRuleQuery;

#[Object]
impl FieldRuleQuery {
    /// Who may read each personal field, one entry per field. Any user; API keys need `ORG_READ`.
    async fn field_read_rules(&self, ctx: &Context<'_>) -> Result<Vec<FieldReadRule>> {
        let rules = field_rules::current(db(ctx), actor(ctx)?, rules_ttl(ctx)).await?;
        Ok(listed(&rules))
    }
}

#[derive(Default)]
pub struct FieldRuleMutation;

#[Object]
impl FieldRuleMutation {
    /// Set who may read a personal field (ADMINs). Audited; applies to this server's next
    /// request and to other servers within `ACCORD_AUTH_CACHE_TTL`. Returns every rule.
    async fn set_field_read_rule(&self, ctx: &Context<'_>, input: SetFieldReadRuleInput) -> Result<Vec<FieldReadRule>> {
        if input.roles.len() > 4 {
            return Err(ApiError::bad_input("roles", "list each role at most once"));
        }
        if input.scopes.len() > Scope::ALL.len() {
            return Err(ApiError::bad_input("scopes", "list each scope at most once"));
        }
        let rule = ReadRule { roles: input.roles.into_iter().map(Into::into).collect(), scopes: input.scopes };
        let rules = field_rules::set(db(ctx), actor(ctx)?, input.field, Some(rule)).await?;
        Ok(listed(&rules))
    }

    /// Give a personal field its default rule back (ADMINs): every role but VIEWER, API
    /// keys with `PII_READ`. Audited. Returns every rule.
    async fn reset_field_read_rule(&self, ctx: &Context<'_>, field: PersonalField) -> Result<Vec<FieldReadRule>> {
        let rules = field_rules::set(db(ctx), actor(ctx)?, field, None).await?;
        Ok(listed(&rules))
    }
}
