//! Reading PostgreSQL rows by position, for the hottest list paths. sea-orm's derived
//! decoding looks every column up by name (a hash per column per row) and, for every NULL
//! of an optional column, formats an error message that it then discards: on the leads
//! page that was a large share of the server's CPU (docs/performance.md).
//!
//! [`Columns`] reads a row in select order and checks each column's name and type on the
//! way; the models of the hot paths have readers ([`FromColumns`]). A row laid out
//! differently yields [`Unread::Layout`] and is decoded by name, so a changed select can
//! cost speed but never a wrong value. SQLite rows are always decoded by name.
//!
//! The rows of one result share one layout (sqlx's statement metadata), so [`all`] and
//! [`read_all`] check each column once per result and decode the other rows' values
//! without checking again: the checks were a third of the leads page's row decoding.

use std::any::TypeId;
use std::marker::PhantomData;

use entity::{account, lead, lead_score, user};
use sea_orm::sqlx::postgres::{PgColumn, PgRow};
use sea_orm::sqlx::{Column as _, Decode, Postgres, Row as _, Type, TypeInfo as _, ValueRef as _};
use sea_orm::{ActiveEnum, ConnectionTrait, DbErr, FromQueryResult, Iterable, QueryResult, QueryTrait};
use uuid::Uuid;

/// A cursor over one row's columns.
pub struct Columns<'r> {
    row: &'r PgRow,
    next: usize,
    prefix: &'static str,
    checked: Checked,
}

/// The column checks that passed on earlier rows of the same result.
#[derive(Default)]
struct Checked {
    /// Address of the rows' column list: the layout these checks hold for. The caller keeps
    /// every row of the result alive while it reads, so no other layout can take it.
    layout: usize,
    passed: Vec<Option<Check>>,
}

/// One column read as `ty` under `prefix` and `name`: static strings, compared by address
/// (a different address with the same text only checks again).
#[derive(Clone, Copy)]
struct Check {
    name: &'static str,
    prefix: &'static str,
    ty: TypeId,
}

impl PartialEq for Check {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.name, other.name) && std::ptr::eq(self.prefix, other.prefix) && self.ty == other.ty
    }
}

impl Checked {
    /// These checks for `row`'s layout: kept when it is the layout they were made on.
    fn of(mut self, row: &PgRow) -> Self {
        let layout = row.columns().as_ptr() as usize;
        if self.layout != layout {
            self.layout = layout;
            self.passed.clear();
        }
        self.passed.resize(row.columns().len(), None);
        self
    }
}

/// Why a row could not be read by position.
#[derive(Debug)]
pub enum Unread {
    /// The row is not laid out as expected: decode it by name.
    Layout,
    /// A value did not decode.
    Db(DbErr),
}

impl<'r> Columns<'r> {
    pub fn new(row: &'r PgRow) -> Self {
        Self::with(row, Checked::default())
    }

    /// A cursor that trusts `checked`, the checks passed on earlier rows of `row`'s result.
    fn with(row: &'r PgRow, checked: Checked) -> Self {
        Self { row, next: 0, prefix: "", checked: checked.of(row) }
    }

    /// Expect the following columns' names to start with `prefix` (joined tables).
    pub fn prefixed(&mut self, prefix: &'static str) -> &mut Self {
        self.prefix = prefix;
        self
    }

    /// The next column's value, when that column is `name` (after the prefix) and of a
    /// type `T` decodes.
    pub fn get<T>(&mut self, name: &'static str) -> Result<T, Unread>
    where
        T: Decode<'r, Postgres> + Type<Postgres> + 'static,
    {
        let at = self.next;
        let check = Check { name, prefix: self.prefix, ty: TypeId::of::<T>() };
        if self.checked.passed.get(at) != Some(&Some(check)) {
            let Some(column) = self.row.columns().get(at).filter(|_| self.next_is(name)) else {
                return Err(Unread::Layout);
            };
            // As sqlx checks: the type of a value, not of a NULL (a select's `NULL` stands
            // for a column it does not read). A NULL is not a check that later rows can trust.
            if !self.is_null(at)? {
                if !T::compatible(column.type_info()) {
                    return Err(Unread::Db(mismatched::<T>(column)));
                }
                self.checked.passed[at] = Some(check);
            }
        }
        self.next += 1;
        self.row.try_get_unchecked(at).map_err(|e| Unread::Db(DbErr::Type(format!("column `{name}`: {e}"))))
    }

    /// True when this row's column `at` holds NULL.
    fn is_null(&self, at: usize) -> Result<bool, Unread> {
        Ok(self.row.try_get_raw(at).map_err(|e| Unread::Db(DbErr::Type(e.to_string())))?.is_null())
    }

    /// True when the next column is `name` (after the prefix): for optional columns.
    pub fn next_is(&self, name: &str) -> bool {
        self.row.columns().get(self.next).is_some_and(|column| match self.prefix {
            "" => column.name() == name,
            prefix => column.name().strip_prefix(prefix) == Some(name),
        })
    }

    /// The next column as a string-valued enum, when that column is `name`.
    pub fn enumeration<E>(&mut self, name: &'static str) -> Result<E, Unread>
    where
        E: ActiveEnum<Value = String>,
    {
        E::try_from_value(&self.get::<String>(name)?).map_err(Unread::Db)
    }

    /// A joined relation's model, read with `read` when the next column is `<prefix>id`
    /// and not NULL; `None` when that id is NULL (its columns are passed over) or the
    /// relation was not joined (no such column).
    pub fn optional<M>(
        &mut self,
        prefix: &'static str,
        read: fn(&mut Columns<'r>) -> Option<Result<M, Unread>>,
    ) -> Result<Option<M>, Unread> {
        self.prefix = prefix;
        if !self.next_is("id") {
            return Ok(None);
        }
        if self.is_null(self.next)? {
            while self.row.columns().get(self.next).is_some_and(|column| column.name().starts_with(prefix)) {
                self.next += 1;
            }
            return Ok(None);
        }
        read(self).unwrap_or(Err(Unread::Layout)).map(Some)
    }

    /// Done reading: a row with more columns than were read is laid out differently too.
    pub fn finish(&self) -> Result<(), Unread> {
        if self.next == self.row.columns().len() { Ok(()) } else { Err(Unread::Layout) }
    }
}

fn mismatched<T: Type<Postgres>>(column: &PgColumn) -> DbErr {
    DbErr::Type(format!(
        "column `{}`: the Rust type {} does not decode the SQL type {}",
        column.name(),
        std::any::type_name::<T>(),
        column.type_info().name()
    ))
}

/// A joined row as a list read it: whole, or only its id and name when the list shows no
/// more of it (the GraphQL type fetches the rest, through its DataLoader, if a field asks).
#[derive(Debug, Clone, PartialEq)]
pub enum Shown<M> {
    Whole(M),
    Named { id: Uuid, name: String },
}

/// A row with an id and a name, which [`Shown::Named`] reads alone.
pub trait Named {
    fn id(&self) -> Uuid;
    fn name(&self) -> &str;
}

impl Named for account::Model {
    fn id(&self) -> Uuid {
        self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for user::Model {
    fn id(&self) -> Uuid {
        self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl<M: Named> Shown<M> {
    pub fn id(&self) -> Uuid {
        match self {
            Self::Whole(m) => m.id(),
            Self::Named { id, .. } => *id,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Whole(m) => m.name(),
            Self::Named { name, .. } => name,
        }
    }

    /// The whole row when it was read.
    pub fn whole(&self) -> Option<&M> {
        match self {
            Self::Whole(m) => Some(m),
            Self::Named { .. } => None,
        }
    }
}

/// Read a joined row (its columns prefixed) whole with `M`'s reader, or named when its
/// only columns are `id` and `name`.
pub fn shown<M: FromColumns>(c: &mut Columns<'_>) -> Option<Result<Shown<M>, Unread>> {
    let prefix = c.prefix;
    let named =
        c.row.columns().get(c.next + 1).is_some_and(|column| column.name().strip_prefix(prefix) == Some("name"))
            && !c.row.columns().get(c.next + 2).is_some_and(|column| column.name().starts_with(prefix));
    if named {
        return Some((|| Ok(Shown::Named { id: c.get("id")?, name: c.get("name")? }))());
    }
    M::from_columns(c).map(|m| m.map(Shown::Whole))
}

/// A model with a hand-written reader of its entity's columns, in the entity's order
/// (the order in which sea-orm selects them). Models without one (the default) are
/// decoded by name.
pub trait FromColumns: FromQueryResult {
    /// Read the model from `columns`; `None` when the model has no reader.
    fn from_columns(_columns: &mut Columns<'_>) -> Option<Result<Self, Unread>> {
        None
    }
}

/// `res` read as an `M` by position: `None` when `M` has no reader or the row is not a
/// PostgreSQL row laid out as the reader expects; decode it by name then.
pub fn read<M: FromColumns>(res: &QueryResult) -> Result<Option<M>, DbErr> {
    read_checked(res, &mut Checked::default())
}

/// The rows of one result as `M`s, read by position where they can be (see [`read`]),
/// each column checked on the first row that reads it.
pub fn read_all<M: FromColumns>(results: &[QueryResult]) -> Result<Vec<M>, DbErr> {
    let mut checked = Checked::default();
    // Sized once: collecting through `Result` grows the vector a model at a time.
    let mut models = Vec::with_capacity(results.len());
    for res in results {
        models.push(match read_checked(res, &mut checked)? {
            Some(model) => model,
            None => M::from_query_result(res, "")?,
        });
    }
    Ok(models)
}

/// Every row of `select` as an `M` (see [`read_all`]): `into_model::<M>().all(db)`, faster.
pub async fn all<M: FromColumns>(db: &impl ConnectionTrait, select: impl QueryTrait) -> Result<Vec<M>, DbErr> {
    read_all(&db.query_all(&select.into_query()).await?)
}

fn read_checked<M: FromColumns>(res: &QueryResult, checked: &mut Checked) -> Result<Option<M>, DbErr> {
    let Some(row) = res.try_as_pg_row() else { return Ok(None) };
    let mut columns = Columns::with(row, std::mem::take(checked));
    let read = M::from_columns(&mut columns).map(|m| m.and_then(|m| columns.finish().map(|()| m)));
    *checked = columns.checked;
    match read {
        Some(Ok(model)) => Ok(Some(model)),
        Some(Err(Unread::Db(e))) => Err(e),
        // Only a select that no longer matches its reader gets here: debug builds (the
        // PostgreSQL test run) say so.
        Some(Err(Unread::Layout)) if cfg!(debug_assertions) => {
            panic!("{} rows no longer match their reader", std::any::type_name::<M>())
        }
        Some(Err(Unread::Layout)) | None => Ok(None),
    }
}

impl FromColumns for lead::Model {
    fn from_columns(c: &mut Columns<'_>) -> Option<Result<Self, Unread>> {
        Some(read_lead(c))
    }
}

/// Calls `$each!(field, Column)` for the lead's columns in the entity's order, around
/// `lifecycle_stage`, whose enum each reader decodes its own way (`$stage`).
macro_rules! lead_columns {
    ($each:ident, $stage:block) => {
        $each!(id, Id);
        $each!(org_id, OrgId);
        $each!(account_id, AccountId);
        $each!(persona_id, PersonaId);
        $each!(email, Email);
        $each!(first_name, FirstName);
        $each!(last_name, LastName);
        $each!(title, Title);
        $each!(phone, Phone);
        $each!(source, Source);
        $each!(campaign, Campaign);
        $each!(external_id, ExternalId);
        $stage;
        $each!(stage_entered_at, StageEnteredAt);
        $each!(owner_id, OwnerId);
        $each!(marketing_owner_id, MarketingOwnerId);
        $each!(archived_at, ArchivedAt);
        $each!(version, Version);
        $each!(created_at, CreatedAt);
        $each!(updated_at, UpdatedAt);
        $each!(persona_manual, PersonaManual);
        $each!(persona_keyword, PersonaKeyword);
        $each!(persona_candidates, PersonaCandidates);
    };
}

/// A whole lead, every column in the entity's order.
pub(crate) fn read_lead(c: &mut Columns<'_>) -> Result<lead::Model, Unread> {
    let mut m = unread_lead();
    macro_rules! each {
        ($field:ident, $column:ident) => {
            m.$field = c.get(stringify!($field))?;
        };
    }
    lead_columns!(each, {
        m.lifecycle_stage = c.enumeration("lifecycle_stage")?;
    });
    Ok(m)
}

/// A column of an entity, numbered by its place in the entity.
pub trait Indexed: Iterable + Copy {
    fn index(self) -> u32;
}

macro_rules! indexed {
    ($($column:ty),*) => {$(
        impl Indexed for $column {
            fn index(self) -> u32 {
                self as u32
            }
        }
    )*};
}

indexed!(lead::Column, entity::activity::Column, entity::lead_stage_transition::Column);

/// Which of an entity's columns a select read, by their place in the entity; by default all.
pub struct ColumnSet<C>(u64, PhantomData<fn() -> C>);

impl<C: Indexed> ColumnSet<C> {
    /// Every column: a whole row.
    pub fn all() -> Self {
        C::iter().fold(Self::none(), Self::with)
    }

    pub fn none() -> Self {
        Self(0, PhantomData)
    }

    pub fn with(self, column: C) -> Self {
        Self(self.0 | 1 << column.index(), PhantomData)
    }

    pub fn contains(self, column: C) -> bool {
        self.0 & 1 << column.index() != 0
    }

    /// Whether every column of `other` is one of these.
    pub fn covers(self, other: Self) -> bool {
        other.0 & !self.0 == 0
    }
}

impl<C: Indexed> Default for ColumnSet<C> {
    fn default() -> Self {
        Self::all()
    }
}

// By hand: derived, they would ask the column type for each trait, not the set.
impl<C> Clone for ColumnSet<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for ColumnSet<C> {}

impl<C> PartialEq for ColumnSet<C> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<C> Eq for ColumnSet<C> {}

impl<C> std::hash::Hash for ColumnSet<C> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl<C> std::fmt::Debug for ColumnSet<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ColumnSet({:#x})", self.0)
    }
}

/// Which of a lead's columns a select read.
pub type LeadColumns = ColumnSet<lead::Column>;

/// The values of a lead's unread columns: shown nowhere (the reader reads those columns
/// whole before it shows them), they only fill the model.
fn unread_lead() -> lead::Model {
    let never = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    lead::Model {
        id: Uuid::nil(),
        org_id: Uuid::nil(),
        account_id: None,
        persona_id: None,
        email: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        title: None,
        phone: None,
        source: None,
        campaign: None,
        external_id: None,
        lifecycle_stage: entity::LifecycleStage::New,
        stage_entered_at: never,
        owner_id: None,
        marketing_owner_id: None,
        archived_at: None,
        version: 0,
        created_at: never,
        updated_at: never,
        persona_manual: false,
        persona_keyword: None,
        persona_candidates: None,
    }
}

impl LeadColumns {
    /// The lead's id alone, which every read of a lead needs.
    pub fn id() -> Self {
        Self::none().with(lead::Column::Id)
    }

    /// `select` of leads reading these columns alone, in the entity's order (every
    /// column when all are asked for).
    pub fn select(self, select: sea_orm::Select<lead::Entity>) -> sea_orm::Select<lead::Entity> {
        use sea_orm::QuerySelect;
        if self == Self::all() {
            return select;
        }
        select.select_only().columns(lead::Column::iter().filter(|c| self.contains(*c)))
    }
}

/// A lead read from a select of some of its columns ([`LeadColumns::select`]), and
/// which it read; the others hold blanks, never shown.
pub struct PartialLead(pub lead::Model, pub LeadColumns);

impl FromQueryResult for PartialLead {
    /// By name (SQLite); [`read_all`] reads PostgreSQL rows by position.
    fn from_query_result(res: &QueryResult, _: &str) -> Result<Self, DbErr> {
        let (lead, read) = lead_shown_by_name(res, &res.column_names())?;
        Ok(Self(lead, read))
    }
}

impl FromColumns for PartialLead {
    fn from_columns(c: &mut Columns<'_>) -> Option<Result<Self, Unread>> {
        Some(read_lead_shown(c).map(|(lead, read)| Self(lead, read)))
    }
}

/// A lead as far as a select read its columns (in the entity's order, the id always),
/// and which it read.
pub(crate) fn read_lead_shown(c: &mut Columns<'_>) -> Result<(lead::Model, LeadColumns), Unread> {
    let (mut m, mut read) = (unread_lead(), LeadColumns::none());
    macro_rules! each {
        ($field:ident, $column:ident) => {
            if c.next_is(stringify!($field)) {
                m.$field = c.get(stringify!($field))?;
                read = read.with(lead::Column::$column);
            }
        };
    }
    lead_columns!(each, {
        if c.next_is("lifecycle_stage") {
            m.lifecycle_stage = c.enumeration("lifecycle_stage")?;
            read = read.with(lead::Column::LifecycleStage);
        }
    });
    if !read.contains(lead::Column::Id) {
        return Err(Unread::Layout);
    }
    Ok((m, read))
}

/// [`read_lead_shown`] by name, for rows not read by position (SQLite).
pub(crate) fn lead_shown_by_name(res: &QueryResult, names: &[String]) -> Result<(lead::Model, LeadColumns), DbErr> {
    let (mut m, mut read) = (unread_lead(), LeadColumns::none());
    let has = |name: &str| names.iter().any(|n| n == name);
    macro_rules! each {
        ($field:ident, $column:ident) => {
            if has(stringify!($field)) {
                m.$field = res.try_get("", stringify!($field))?;
                read = read.with(lead::Column::$column);
            }
        };
    }
    lead_columns!(each, {
        if has("lifecycle_stage") {
            m.lifecycle_stage = res.try_get("", "lifecycle_stage")?;
            read = read.with(lead::Column::LifecycleStage);
        }
    });
    if !read.contains(lead::Column::Id) {
        return Err(DbErr::Type("a lead read without its id".into()));
    }
    Ok((m, read))
}

impl FromColumns for lead_score::Model {
    fn from_columns(c: &mut Columns<'_>) -> Option<Result<Self, Unread>> {
        Some(read_lead_score(c))
    }
}

pub(crate) fn read_lead_score(c: &mut Columns<'_>) -> Result<lead_score::Model, Unread> {
    let mut score = read_lead_score_figures(c)?;
    score.engagement_state = c.get("engagement_state")?;
    Ok(score)
}

/// A score row's columns before its engagement state (left `None`), which the caller
/// reads next as it needs it.
pub(crate) fn read_lead_score_figures(c: &mut Columns<'_>) -> Result<lead_score::Model, Unread> {
    Ok(lead_score::Model {
        lead_id: c.get("lead_id")?,
        org_id: c.get("org_id")?,
        fit_score: c.get("fit_score")?,
        engagement_score: c.get("engagement_score")?,
        score: c.get("score")?,
        temperature: c.enumeration("temperature")?,
        scoring_model_id: c.get("scoring_model_id")?,
        scoring_model_version: c.get("scoring_model_version")?,
        scored_at: c.get("scored_at")?,
        engagement_state: None,
    })
}

impl FromColumns for account::Model {
    fn from_columns(c: &mut Columns<'_>) -> Option<Result<Self, Unread>> {
        Some(read_account(c))
    }
}

fn read_account(c: &mut Columns<'_>) -> Result<account::Model, Unread> {
    Ok(account::Model {
        id: c.get("id")?,
        org_id: c.get("org_id")?,
        name: c.get("name")?,
        domain: c.get("domain")?,
        industry: c.get("industry")?,
        employee_count: c.get("employee_count")?,
        annual_revenue_minor: c.get("annual_revenue_minor")?,
        currency: c.get("currency")?,
        region: c.get("region")?,
        owner_id: c.get("owner_id")?,
        customer_since: c.get("customer_since")?,
        name_key: c.get("name_key")?,
        archived_at: c.get("archived_at")?,
        version: c.get("version")?,
        created_at: c.get("created_at")?,
        updated_at: c.get("updated_at")?,
    })
}

impl FromColumns for user::Model {
    fn from_columns(c: &mut Columns<'_>) -> Option<Result<Self, Unread>> {
        Some(read_user(c))
    }
}

fn read_user(c: &mut Columns<'_>) -> Result<user::Model, Unread> {
    Ok(user::Model {
        id: c.get("id")?,
        org_id: c.get("org_id")?,
        email: c.get("email")?,
        name: c.get("name")?,
        team: c.enumeration("team")?,
        role: c.enumeration("role")?,
        password_hash: c.get("password_hash")?,
        active: c.get("active")?,
        version: c.get("version")?,
        created_at: c.get("created_at")?,
        updated_at: c.get("updated_at")?,
    })
}

// Read by name: not on a hot list path.
impl FromColumns for entity::opportunity::Model {}
impl FromColumns for entity::journey_stage::Model {}
impl FromColumns for entity::handover::Model {}
impl FromColumns for entity::activity::Model {}
impl FromColumns for entity::engagement_event::Model {}
impl FromColumns for entity::goal::Model {}
impl FromColumns for entity::api_key::Model {}
impl FromColumns for entity::audit_log::Model {}
impl FromColumns for entity::campaign::Model {}
impl FromColumns for entity::content_asset::Model {}
impl FromColumns for entity::content_usage::Model {}
impl FromColumns for entity::feedback::Model {}
impl FromColumns for entity::feedback_endorsement::Model {}
impl FromColumns for entity::review_meeting::Model {}
impl FromColumns for entity::action_item::Model {}
impl FromColumns for entity::rescore_job::Model {}
impl FromColumns for entity::webhook_delivery::Model {}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lead_columns!` names every column of the entity: a column it missed would be
    /// read by no reader and keep its placeholder.
    #[test]
    fn the_lead_column_list_names_every_column() {
        let mut listed = LeadColumns::none();
        macro_rules! each {
            ($field:ident, $column:ident) => {
                listed = listed.with(lead::Column::$column);
            };
        }
        lead_columns!(each, {
            listed = listed.with(lead::Column::LifecycleStage);
        });
        assert_eq!(listed, LeadColumns::all());
        assert!(lead::Column::iter().count() < 64, "LeadColumns holds at most 64 columns");
    }
}
