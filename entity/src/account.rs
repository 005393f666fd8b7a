//! `accounts`: the companies leads work for and deals are made with.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// Lower-cased web domain such as `acme.com`; unique per organization when set.
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employee_count: Option<i32>,
    /// Annual revenue in minor units of `currency`.
    pub annual_revenue_minor: Option<i64>,
    pub currency: Option<String>,
    pub region: Option<String>,
    pub owner_id: Option<Uuid>,
    /// When the account's first deal was won; `None` while it is a prospect.
    pub customer_since: Option<DateTimeUtc>,
    /// Lower-cased name, for search and sorting without a function index.
    pub name_key: String,
    pub archived_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
