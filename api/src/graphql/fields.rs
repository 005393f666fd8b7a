//! Personal fields, guarded in one place: every field the schema resolves passes this
//! extension, which looks the field up in the rule table (`auth::fields`) and, when
//! the caller's organization keeps it from them, answers `null` with a FORBIDDEN error
//! on that field instead of running its resolver; sibling fields resolve as usual.
//! Queries, mutations' payloads and subscriptions all go through it.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo};
use async_graphql::{Context, PathSegment, Pos, QueryPathSegment, ServerError, ServerResult, Value};
use tokio::sync::OnceCell;

use crate::auth::Actor;
use crate::auth::fields::{FieldRules, PersonalField};
use crate::config::Config;
use crate::db::request::RequestDb;
use crate::error::ApiError;

/// The schema's extension: one [`Guard`] per request.
pub struct PersonalData;

impl ExtensionFactory for PersonalData {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Guard::default())
    }
}

/// The organization's rules, read once per request and only when it selects a
/// personal field.
#[derive(Default)]
struct Guard {
    rules: OnceCell<Arc<FieldRules>>,
}

#[async_trait::async_trait]
impl Extension for Guard {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let Some(field) = PersonalField::find(info.parent_type, info.name) else {
            return next.run(ctx, info).await;
        };
        // Every field that reaches a personal one needs a caller: none means no data.
        let refusal = match ctx.data_opt::<Actor>() {
            Some(actor) => {
                let rules = self.rules(ctx, actor).await.map_err(|e| error(&info, e))?;
                if rules.may_read(actor, field) {
                    return next.run(ctx, info).await;
                }
                rules.refusal(actor, field)
            }
            None => format!("{} is personal data: sign in to read it", field.name()),
        };
        Err(error(&info, ApiError::Forbidden(refusal)))
    }
}

impl Guard {
    async fn rules(&self, ctx: &ExtensionContext<'_>, actor: &Actor) -> Result<&Arc<FieldRules>, ApiError> {
        self.rules
            .get_or_try_init(|| async {
                let ttl = ctx.data::<Arc<Config>>().map(|c| c.auth_cache_ttl).unwrap_or_default();
                match ctx.data_opt::<RequestDb>() {
                    Some(db) => crate::org::field_rules::rules(db, actor.org_id, ttl).await,
                    None => {
                        let db = ctx
                            .data::<sea_orm::DatabaseConnection>()
                            .map_err(|_| ApiError::internal("no database in the schema"))?;
                        crate::org::field_rules::rules(db, actor.org_id, ttl).await
                    }
                }
            })
            .await
    }
}

/// Which of `fields` the caller may not read: for arguments that would otherwise
/// reveal them, such as a search over e-mail addresses.
pub async fn hidden(
    ctx: &Context<'_>,
    actor: &Actor,
    fields: &[PersonalField],
) -> Result<Vec<PersonalField>, ApiError> {
    let rules = crate::org::field_rules::rules(crate::graphql::db(ctx), actor.org_id, rules_ttl(ctx)).await?;
    Ok(fields.iter().copied().filter(|f| !rules.may_read(actor, *f)).collect())
}

/// How long an organization's rules are trusted (`ACCORD_AUTH_CACHE_TTL`).
pub fn rules_ttl(ctx: &Context<'_>) -> std::time::Duration {
    ctx.data::<Arc<Config>>().map(|c| c.auth_cache_ttl).unwrap_or_default()
}

/// The field's error, placed at the field like a resolver's own.
fn error(info: &ResolveInfo<'_>, error: ApiError) -> ServerError {
    let field = info.field;
    let pos: Pos = field.alias.as_ref().map_or(field.name.pos, |alias| alias.pos);
    let mut error = async_graphql::Error::from(error).into_server_error(pos);
    let mut path: Vec<PathSegment> = std::iter::once(info.path_node)
        .chain(info.path_node.parents())
        .map(|node| match node.segment {
            QueryPathSegment::Name(name) => PathSegment::Field(name.to_owned()),
            QueryPathSegment::Index(index) => PathSegment::Index(index),
        })
        .collect();
    path.reverse();
    error.path = path;
    error
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
