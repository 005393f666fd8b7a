//! Personal fields, guarded in one way: every field of the rule table (`auth::fields`)
//! carries the guard [`Personal`] naming its entry, which answers `null` with a
//! FORBIDDEN error on that field when the caller's organization keeps it from them;
//! sibling fields resolve as usual. Queries, mutation payloads and subscriptions all
//! resolve through it. (A schema extension seeing every field cost 17 % of the leads
//! page's throughput: docs/performance.md.)

use std::sync::Arc;

use async_graphql::{Context, Guard};

use crate::auth::Actor;
use crate::auth::fields::PersonalField;
use crate::config::Config;
use crate::error::ApiError;

/// The guard of a personal field: `#[graphql(guard = "Personal(PersonalField::LeadEmail)")]`.
pub struct Personal(pub PersonalField);

impl Guard for Personal {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let Some(actor) = ctx.data_opt::<Actor>() else {
            return Err(ApiError::Forbidden(format!("{} is personal data: sign in to read it", self.0.name())).into());
        };
        let rules = crate::graphql::loaders(ctx)?.field_rules(rules_ttl(ctx)).await?;
        if rules.may_read(actor, self.0) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(rules.refusal(actor, self.0)).into())
        }
    }
}

/// Which of `fields` the caller may not read: for arguments that would otherwise
/// reveal them, such as a search over e-mail addresses.
pub async fn hidden(
    ctx: &Context<'_>,
    actor: &Actor,
    fields: &[PersonalField],
) -> Result<Vec<PersonalField>, ApiError> {
    let rules = crate::graphql::loaders(ctx)?.field_rules(rules_ttl(ctx)).await?;
    Ok(fields.iter().copied().filter(|f| !rules.may_read(actor, *f)).collect())
}

/// How long an organization's rules are trusted (`ACCORD_AUTH_CACHE_TTL`).
pub fn rules_ttl(ctx: &Context<'_>) -> std::time::Duration {
    ctx.data::<Arc<Config>>().map(|c| c.auth_cache_ttl).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use crate::auth::fields::PersonalField;

    /// Every personal field can be withheld alone (it is nullable) and says so to client developers.
    #[test]
    fn every_personal_field_is_nullable_and_states_its_rule() {
        let sdl = crate::graphql::sdl();
        for field in PersonalField::ALL {
            let (type_name, name) = field.path();
            let start = sdl.find(&format!("\ntype {type_name} ")).unwrap_or_else(|| panic!("type {type_name}"));
            let body = &sdl[start..start + sdl[start..].find("\n}").expect("the type ends")];
            let line = body.find(&format!("\n\t{name}: ")).unwrap_or_else(|| panic!("{type_name}.{name}"));
            let declared = body[line..].lines().nth(1).expect("the field's line");
            assert!(!declared.ends_with('!'), "{type_name}.{name} must be nullable: {declared}");
            let description = &body[body[..line].rfind("\t\"\"\"\n\t").unwrap_or(0)..line];
            assert!(description.contains(&format!("`{type_name}.{name}`")), "{type_name}.{name}: {description}");
            assert!(description.contains("Personal data"), "{type_name}.{name}: {description}");
        }
    }
}
