//! The GraphQL layer: the schema root (merged from each domain's part), request
//! context helpers, pagination, DataLoaders and the error-code extension.

pub mod cost;
pub mod fields;
pub mod input;
pub mod json;
pub mod live;
pub mod loaders;
pub mod node;
pub mod pagination;
pub mod parsed_queries;
pub mod patch;
pub mod persisted;
pub mod prefetch;
pub mod scalars;

use std::sync::Arc;

use async_graphql::{Context, ID, Lookahead, MergedObject, MergedSubscription, Schema, SchemaBuilder, SelectionField};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::jwt::JwtKeys;
use crate::auth::rate_limit::SignInThrottle;
use crate::config::Config;
use crate::db::request::RequestDb;
use crate::db::rows::{ColumnSet, Indexed};
use crate::error::{ApiError, Result};
use crate::{
    agreements, campaigns, events, feedback, handover, kpi, leads, messaging, org, personas, pipeline, privacy,
    scoring, webhooks,
};

pub use loaders::Loaders;

/// Every query of the API.
#[derive(MergedObject, Default)]
pub struct Query(
    org::graphql::OrgQuery,
    events::graphql::AuditQuery,
    leads::graphql::LeadsQuery,
    pipeline::graphql::PipelineQuery,
    handover::graphql::HandoverQuery,
    agreements::graphql::AgreementsQuery,
    agreements::graphql::TaxonomyQuery,
    agreements::graphql::GoalQuery,
    personas::graphql::PersonaQuery,
    org::graphql::journey_stages::JourneyStageQuery,
    org::graphql::trusted_documents::TrustedDocumentQuery,
    org::graphql::exchange_rates::ExchangeRateQuery,
    org::graphql::field_rules::FieldRuleQuery,
    privacy::graphql::PrivacyQuery,
    scoring::graphql::ScoringQuery,
    messaging::graphql::MessagingQuery,
    feedback::graphql::FeedbackQuery,
    campaigns::graphql::CampaignQuery,
    kpi::graphql::KpiQuery,
    webhooks::graphql::WebhookQuery,
    node::NodeQuery,
);

/// Every mutation of the API.
#[derive(MergedObject, Default)]
pub struct Mutation(
    org::graphql::sign_in::AuthMutation,
    org::graphql::OrgMutation,
    leads::graphql::LeadsMutation,
    pipeline::graphql::PipelineMutation,
    handover::graphql::HandoverMutation,
    agreements::graphql::AgreementsMutation,
    agreements::graphql::TaxonomyMutation,
    agreements::graphql::GoalMutation,
    personas::graphql::PersonaMutation,
    org::graphql::journey_stages::JourneyStageMutation,
    org::graphql::trusted_documents::TrustedDocumentMutation,
    org::graphql::exchange_rates::ExchangeRateMutation,
    org::graphql::field_rules::FieldRuleMutation,
    privacy::graphql::PrivacyMutation,
    scoring::graphql::ScoringMutation,
    messaging::graphql::MessagingMutation,
    feedback::graphql::FeedbackMutation,
    campaigns::graphql::CampaignMutation,
    webhooks::graphql::WebhookMutation,
);

/// Every subscription of the API: live events over a WebSocket on `/graphql`, protocol
/// graphql-transport-ws (docs/subscriptions.md).
#[derive(MergedSubscription, Default)]
pub struct Subscription(
    handover::graphql::HandoverSubscription,
    leads::graphql::LeadSubscription,
    agreements::graphql::AlignmentSubscription,
    feedback::graphql::FeedbackSubscription,
);

pub type AccordSchema = Schema<Query, Mutation, Subscription>;

/// The schema's types and limits, without runtime data: what `accord schema` prints.
pub fn schema_builder(config: Option<&Config>) -> SchemaBuilder<Query, Mutation, Subscription> {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .limit_recursive_depth(64)
        .limit_directives(8);
    if let Some(config) = config {
        // Depth, cost and size are checked before async-graphql sees the document (cost.rs).
        if !config.introspection {
            builder = builder.disable_introspection().disable_suggestions();
        }
    }
    builder
}

/// The schema with its runtime data: database, keys, sign-in throttle and configuration.
pub fn build_schema(
    db: DatabaseConnection,
    keys: Arc<JwtKeys>,
    throttle: Arc<SignInThrottle>,
    config: Arc<Config>,
) -> AccordSchema {
    schema_builder(Some(&config)).data(db).data(keys).data(throttle).data(config).finish()
}

/// The SDL of the public API, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    schema_builder(None).finish().sdl()
}

/// The client's network address, when known (for sign-in rate limits).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

/// The error of a field that needs a caller when the request named none.
pub const NO_CREDENTIAL: &str = "sign in or send `Authorization: Bearer <token>`";

/// The authenticated caller, or UNAUTHENTICATED.
pub fn actor<'a>(ctx: &Context<'a>) -> Result<&'a Actor> {
    ctx.data_opt::<Actor>().ok_or_else(|| ApiError::Unauthenticated(NO_CREDENTIAL.into()))
}

/// This request's database handle: the shared pool, at most a few statements at once
/// (`ACCORD_MAX_CONNECTIONS_PER_REQUEST`). `http::execute` gives every request one.
pub fn db<'a>(ctx: &Context<'a>) -> &'a RequestDb {
    ctx.data_unchecked::<RequestDb>()
}

/// This request's DataLoaders (present whenever a caller is).
pub fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders> {
    ctx.data_opt::<Loaders>().ok_or_else(|| ApiError::internal("loaders missing from an authenticated request"))
}

/// Parse an `ID` argument; `field` names it in the error.
pub fn parse_id(field: &str, id: &ID) -> Result<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(field, "not a valid id"))
}

/// True when the current field's selection asks for `field` (such as `totalCount`).
pub fn selects(ctx: &Context<'_>, field: &str) -> bool {
    ctx.look_ahead().field(field).exists()
}

/// True when the current connection field's nodes (`edges.node` or `nodes`) select `field`.
pub fn nodes_select(ctx: &Context<'_>, field: &str) -> bool {
    node_fields(&ctx.look_ahead()).any(|f| f.name() == field)
}

/// The fields the connection `look` selects of its nodes, through `edges.node` and
/// `nodes`, fragments and aliases included.
pub fn node_fields<'a>(look: &Lookahead<'a>) -> impl Iterator<Item = SelectionField<'a>> {
    let nodes =
        look.field("edges").field("node").selection_fields().into_iter().chain(look.field("nodes").selection_fields());
    fields_of(nodes)
}

/// The columns the selected `fields` of an object show, starting from `always`:
/// `columns_of` names each field's columns, and `None` for a field it does not know,
/// for which every column is read.
pub fn columns_shown<'a, C: Indexed + 'static>(
    fields: impl IntoIterator<Item = SelectionField<'a>>,
    always: ColumnSet<C>,
    columns_of: impl Fn(&str) -> Option<&'static [C]>,
) -> ColumnSet<C> {
    let mut read = always;
    for field in fields {
        let Some(columns) = columns_of(field.name()) else { return ColumnSet::all() };
        read = columns.iter().fold(read, |read, c| read.with(*c));
    }
    read
}

/// The fields selected under each of `selections`, fragments and aliases included.
pub fn fields_of<'a>(
    selections: impl IntoIterator<Item = SelectionField<'a>>,
) -> impl Iterator<Item = SelectionField<'a>> {
    selections.into_iter().flat_map(|s| s.selection_set().collect::<Vec<_>>())
}

/// Which way a list is sorted.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Smallest (or oldest, or A) first.
    Asc,
    /// Largest (or newest, or Z) first.
    #[default]
    Desc,
}

impl From<OrderDirection> for pagination::Direction {
    fn from(d: OrderDirection) -> Self {
        match d {
            OrderDirection::Asc => pagination::Direction::Ascending,
            OrderDirection::Desc => pagination::Direction::Descending,
        }
    }
}

/// An amount of money: integer minor units (cents) and an ISO-4217 currency.
#[derive(async_graphql::SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct Money {
    /// The amount in minor units of the currency, such as cents: 1250 EUR-cents is €12.50.
    pub amount_minor: scalars::MinorUnits,
    /// ISO-4217 currency code, such as `EUR`.
    pub currency: String,
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_schema;
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

    /// Every type, field (of objects and interfaces), input field and enum value of the public API has a description:
    /// it is the documentation front-end and BI developers read in GraphiQL.
    #[test]
    fn every_part_of_the_schema_is_described() {
        let document = parse_schema(super::sdl()).expect("the SDL parses");
        let mut missing = Vec::new();
        for definition in document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else { continue };
            let ty = ty.node;
            let name = ty.name.node.to_string();
            if name.starts_with("__") {
                continue;
            }
            if ty.description.is_none() && !matches!(ty.kind, TypeKind::Scalar) {
                missing.push(name.clone());
            }
            match ty.kind {
                TypeKind::Object(async_graphql::parser::types::ObjectType { fields, .. })
                | TypeKind::Interface(async_graphql::parser::types::InterfaceType { fields, .. }) => {
                    for field in fields {
                        if field.node.description.is_none() {
                            missing.push(format!("{name}.{}", field.node.name.node));
                        }
                    }
                }
                TypeKind::InputObject(input) => {
                    for field in input.fields {
                        if field.node.description.is_none() {
                            missing.push(format!("{name}.{}", field.node.name.node));
                        }
                    }
                }
                TypeKind::Enum(enumeration) => {
                    for value in enumeration.values {
                        if value.node.description.is_none() {
                            missing.push(format!("{name}.{}", value.node.value.node));
                        }
                    }
                }
                _ => {}
            }
        }
        assert!(missing.is_empty(), "undescribed: {missing:#?}");
    }
}
