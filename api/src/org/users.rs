//! Users of an organization: created, changed and deactivated by ADMINs; a
//! deactivated user's tokens stop working at once (every request re-reads the user).

use chrono::Utc;
use entity::user::{ActiveModel, Column, Entity, Model};
use entity::{Role, Team};
use sea_orm::sea_query::{Expr, ExprTrait, IntoIden};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic, Iterable, PaginatorTrait, QueryFilter,
    QuerySelect, Select, Set,
};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::password;
use crate::auth::permissions::{Scope, can_administer, can_read, require};
use crate::db::keyset::{Direction, Page, Window, fetch_page};
use crate::db::versioned::{check_version, save_versioned};
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::validate::{like_pattern, lower_like};

/// A validated, lower-cased e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        crate::validate::email(field, value).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn parse_name(field: &str, name: &str) -> Result<String> {
    crate::validate::text(field, name, crate::validate::SHORT)
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub team: Team,
    pub role: Role,
    pub password: Option<String>,
}

/// Validate and insert a user, with its audit row, inside the caller's transaction.
pub(crate) async fn insert(txn: &impl ConnectionTrait, actor: &Actor, new: NewUser) -> Result<Model> {
    if let Some(password) = &new.password {
        password::validate("password", password)?;
    }
    let email = Email::parse("email", &new.email)?;
    let name = parse_name("name", &new.name)?;
    let password_hash = match new.password {
        Some(password) => Some(password::hash(password).await?),
        None => None,
    };
    let taken = Entity::find()
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(Column::Email.eq(email.as_str()))
        .count(txn)
        .await?;
    if taken > 0 {
        return Err(ApiError::Conflict(format!("a user with the e-mail {} exists already", email.as_str())));
    }
    let now = Utc::now();
    let user = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        email: Set(email.as_str().to_owned()),
        name: Set(name),
        team: Set(new.team),
        role: Set(new.role),
        password_hash: Set(password_hash),
        active: Set(true),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    let changes = Changes::new()
        .created("email", &user.email)
        .created("name", &user.name)
        .created("team", &user.team)
        .created("role", &user.role)
        .created("password", &user.password_hash.is_some());
    audit::record(txn, actor, "user.create", "user", Some(user.id), changes).await?;
    Ok(user)
}

/// Whether the API shows a user's `column`: every one but the password hash.
pub fn shows(column: Column) -> bool {
    !matches!(column, Column::PasswordHash)
}

/// `select` reading a user's columns from `table` as `<prefix><column>`, in the entity's
/// order, as the API shows users: the password hash is not read (NULL).
pub fn shown_columns<E: EntityTrait>(mut select: Select<E>, table: impl IntoIden + Clone, prefix: &str) -> Select<E> {
    for column in Column::iter() {
        let value = if shows(column) { Expr::col((table.clone(), column)) } else { Expr::cust("NULL") };
        select = select.column_as(value, format!("{prefix}{}", column.as_str()));
    }
    select
}

/// Create a user in the caller's organization. ADMINs only.
#[tracing::instrument(skip(db, actor, new), fields(org = %actor.org_id))]
pub async fn create(db: &impl crate::db::Transactions, actor: &Actor, new: NewUser) -> Result<Model> {
    require(can_administer(actor), "create users")?;
    let txn = crate::db::begin_write(db).await?;
    let user = insert(&txn, actor, new).await?;
    txn.commit().await?;
    Ok(user)
}

/// One user of the caller's organization; another organization's is NOT_FOUND.
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    require(can_read(actor, Scope::OrgRead), "read users")?;
    find(db, actor, id).await
}

async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    crate::db::find_in_org::<Entity>(db, actor.org_id, id, "user").await
}

/// Which users to list.
#[derive(Debug, Default, Clone)]
pub struct UserCriteria {
    pub teams: Vec<Team>,
    pub roles: Vec<Role>,
    pub active: Option<bool>,
    /// Case-insensitive substring of the name or e-mail.
    pub search: Option<String>,
}

/// Users of the caller's organization, oldest first.
#[tracing::instrument(skip(db, actor, window), fields(org = %actor.org_id))]
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    criteria: &UserCriteria,
    window: &Window<Uuid>,
    count: bool,
) -> Result<Page<Model>> {
    require(can_read(actor, Scope::OrgRead), "read users")?;
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id));
    if !criteria.teams.is_empty() {
        select = select.filter(Column::Team.is_in(criteria.teams.iter().copied()));
    }
    if !criteria.roles.is_empty() {
        select = select.filter(Column::Role.is_in(criteria.roles.iter().copied()));
    }
    if let Some(active) = criteria.active {
        select = select.filter(Column::Active.eq(active));
    }
    if let Some(search) = criteria.search.as_deref().filter(|s| !s.trim().is_empty()) {
        crate::validate::no_control_characters("filter.search", search)?;
        let pattern = like_pattern(search);
        select = select.filter(lower_like(Column::Name, &pattern).or(lower_like(Column::Email, &pattern)));
    }
    fetch_page(db, select, Column::Id, Direction::Ascending, window, count).await
}

/// What `updateUser` may change.
#[derive(Debug, Default, Clone)]
pub struct UserPatch {
    pub name: Option<String>,
    pub team: Option<Team>,
    pub role: Option<Role>,
    pub password: Option<String>,
    pub expected_version: Option<i32>,
}

/// Change a user's name, team, role or password. ADMINs only; an organization keeps
/// at least one active ADMIN.
#[tracing::instrument(skip(db, actor, patch), fields(org = %actor.org_id))]
pub async fn update(db: &impl crate::db::Transactions, actor: &Actor, id: Uuid, patch: UserPatch) -> Result<Model> {
    require(can_administer(actor), "change users")?;
    if let Some(password) = &patch.password {
        password::validate("password", password)?;
    }
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    check_version(patch.expected_version, current.version)?;
    let mut model: ActiveModel = current.clone().into();
    let mut changes = Changes::new();
    if let Some(name) = patch.name {
        let name = parse_name("name", &name)?;
        changes = changes.field("name", Some(&current.name), Some(&name));
        model.name = Set(name);
    }
    if let Some(team) = patch.team {
        changes = changes.field("team", Some(&current.team), Some(&team));
        model.team = Set(team);
    }
    if let Some(role) = patch.role {
        if current.role == Role::Admin && role != Role::Admin && current.active {
            ensure_another_admin(&txn, actor, current.id).await?;
        }
        changes = changes.field("role", Some(&current.role), Some(&role));
        model.role = Set(role);
    }
    if let Some(password) = patch.password {
        model.password_hash = Set(Some(password::hash(password).await?));
        // Say that it changed, never what it is.
        changes = changes.field("password", Some(&"[old]"), Some(&"[new]"));
    }
    if changes.is_empty() {
        return Ok(current);
    }
    let updated = save_versioned(&txn, current.id, current.version, model).await?;
    audit::record(&txn, actor, "user.update", "user", Some(id), changes).await?;
    crate::auth::cache::changed(&txn, id).await?;
    txn.commit().await?;
    crate::auth::cache::forget(id);
    Ok(updated)
}

/// Switch a user off (`active = false`) or back on. A deactivated user cannot sign in
/// and their tokens stop working. ADMINs only; the last active ADMIN stays.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn set_active(db: &impl crate::db::Transactions, actor: &Actor, id: Uuid, active: bool) -> Result<Model> {
    let verb = if active { "reactivate users" } else { "deactivate users" };
    require(can_administer(actor), verb)?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    if current.active == active {
        return Ok(current);
    }
    if !active && current.role == Role::Admin {
        ensure_another_admin(&txn, actor, current.id).await?;
    }
    let mut model: ActiveModel = current.clone().into();
    model.active = Set(active);
    let updated = save_versioned(&txn, current.id, current.version, model).await?;
    let action = if active { "user.reactivate" } else { "user.deactivate" };
    let changes = Changes::new().field("active", Some(&!active), Some(&active));
    audit::record(&txn, actor, action, "user", Some(id), changes).await?;
    crate::auth::cache::changed(&txn, id).await?;
    txn.commit().await?;
    crate::auth::cache::forget(id);
    Ok(updated)
}

async fn ensure_another_admin(txn: &impl ConnectionTrait, actor: &Actor, except: Uuid) -> Result<()> {
    let others = Entity::find()
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(Column::Role.eq(Role::Admin))
        .filter(Column::Active.eq(true))
        .filter(Column::Id.ne(except))
        .count(txn)
        .await?;
    if others == 0 {
        return Err(ApiError::Conflict("the organization must keep at least one active ADMIN".into()));
    }
    Ok(())
}

/// Find a user by e-mail for sign-in or `accord token`: in the organization with
/// `org_slug`, or anywhere when the e-mail is unique across organizations.
pub async fn find_for_sign_in(db: &impl ConnectionTrait, org_slug: Option<&str>, email: &str) -> Result<Option<Model>> {
    let email = email.trim().to_lowercase();
    let mut select = Entity::find().filter(Column::Email.eq(email));
    if let Some(slug) = org_slug {
        let Some(org) = super::find_by_slug(db, slug).await? else { return Ok(None) };
        select = select.filter(Column::OrgId.eq(org.id));
    }
    let mut found = select.all(db).await?;
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(ApiError::bad_input("org", "the e-mail exists in several organizations; name one")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_validated_and_lower_cased() {
        assert_eq!(Email::parse("email", " Ana@Example.COM ").unwrap().as_str(), "ana@example.com");
        assert!(Email::parse("email", "not-an-email").is_err());
        assert!(Email::parse("email", "a@b").is_err());
    }
}
