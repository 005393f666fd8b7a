//! What a GraphQL request may cost, decided before async-graphql validates or runs
//! it. Validation and execution walk fragments inline, so a small document whose
//! fragments each spread the next one twice is 2^depth work for them; this module
//! walks the parsed document once, remembering each fragment's total, and rejects
//! it when it is too big or too expensive.
//!
//! Limits, in the order they are checked:
//! - the document's size in bytes and in tokens (before parsing);
//! - the fields it expands to through fragments and aliases, in all its operations;
//! - its cost: one point per field, a connection's `edges`/`nodes` times its page size
//!   (`first`/`last`, 20 when absent), `nodes(ids:)` times its ids, any other list of
//!   objects times [`LIST_ITEMS`], and fields that count or aggregate rows (or look ids
//!   up) their [`WEIGHTS`].
//!
//! The cost of the operation that runs is also what the caller's rate limit spends.
//!
//! Nesting is checked here too (async-graphql's depth limit would count introspection):
//! fields nest at most `ACCORD_MAX_QUERY_DEPTH` levels deep, introspection fields not counted, so
//! every standard client can load the schema; introspection is priced per root
//! ([`INTROSPECTION_COST`]) and may nest its lists ([`INTROSPECTION_LISTS`]) at most as
//! deep as the standard introspection query does (`types { fields { args } }`).

use std::cell::Cell;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet, TypeKind,
    TypeSystemDefinition,
};
use async_graphql::{Name, Value, Variables};
// The schema's type and field names, looked up twice a field of every request, and a
// request's fragment names: foldhash, far cheaper than the standard library's SipHash.
use foldhash::HashMap;

use super::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// Items an unpaginated list of objects (`[Definition!]!`) is priced at.
pub const LIST_ITEMS: u64 = 10;
/// What `totalCount` of any connection costs: it counts every matching row.
pub const COUNT_COST: u64 = 50;
/// What `__schema` costs, whatever it selects: the whole schema is a few hundred KB.
pub const INTROSPECTION_COST: u64 = 500;
/// What `__type(name:)` costs: one type.
pub const INTROSPECTION_TYPE_COST: u64 = 10;
/// Lists inside lists an introspection may select: `types { fields { args } }`, the
/// standard query's deepest, is 3; a fourth level would multiply the answer again.
pub const INTROSPECTION_LISTS: u64 = 3;
/// Introspection fields that return lists of objects.
const INTROSPECTION_LIST_FIELDS: &[&str] =
    &["types", "fields", "args", "inputFields", "interfaces", "possibleTypes", "enumValues", "directives"];

/// What `node(id:)` costs beside its selection, and `nodes(ids:)` per id: the type
/// lookup, on top of the load any `lead(id:)` does.
pub const NODE_LOOKUP_COST: u64 = 1;

/// The list whose length multiplies a weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerItem {
    /// A list field of an input object argument: `kpis(input: { metrics })`.
    InputField(&'static str, &'static str),
    /// A list argument of a field that answers one item per argument item, so its
    /// selection counts that many times too (not [`LIST_ITEMS`]): `nodes(ids:)`.
    Argument(&'static str),
}

/// Fields that read or aggregate many rows, beside their selection: (type, field,
/// points, the list whose length multiplies the points).
pub const WEIGHTS: &[(&str, &str, u64, Option<PerItem>)] = &[
    ("Query", "kpis", 50, Some(PerItem::InputField("input", "metrics"))),
    // A subscription reads its object once per delivered event, for as long as it runs.
    ("Subscription", "leadEvents", 20, None),
    ("Subscription", "myQueue", 20, None),
    ("Subscription", "slaAlerts", 20, None),
    ("Subscription", "alignmentEvents", 20, None),
    ("Subscription", "feedbackEvents", 20, None),
    ("Query", "node", NODE_LOOKUP_COST, None),
    ("Query", "nodes", NODE_LOOKUP_COST, Some(PerItem::Argument("ids"))),
    ("Query", "funnel", 100, None),
    ("Query", "scorecard", 200, None),
    ("Query", "handoverCompliance", 100, None),
    ("Query", "handBackReasons", 50, None),
    ("Query", "stageRules", 10, None),
    ("Query", "alignment", 50, None),
    ("Query", "feedbackThemes", 100, None),
    ("Query", "unusedContent", 50, None),
    ("Query", "contentForLead", 20, None),
    ("Query", "contentRecommendation", 20, None),
    ("Query", "messageMatrix", 20, None),
    ("Goal", "progress", 50, None),
    ("Query", "icpReport", 100, None),
    ("Sla", "compliance", 100, None),
    ("Campaign", "leadCount", COUNT_COST, None),
    ("ContentAsset", "usage", 50, None),
    ("ScoringModel", "simulate", 20, None),
    ("Query", "simulateScoringModel", 1000, None),
    // Up to 10,000 rows of each of 13 kinds.
    ("Query", "exportPerson", 1000, None),
];

impl PerItem {
    fn argument(self) -> &'static str {
        match self {
            Self::InputField(argument, _) | Self::Argument(argument) => argument,
        }
    }
}

pub use crate::config::QueryLimits as Limits;

/// Why a document was refused, with the figures a client needs to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    TooLong { bytes: usize, limit: usize },
    TooManyTokens { limit: usize },
    TooManyFields { fields: u64, limit: u64 },
    TooExpensive { cost: u64, limit: u64 },
    TooDeep { depth: u64, limit: u64 },
    IntrospectionTooDeep { lists: u64 },
    FragmentCycle { fragment: String },
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Self::TooLong { bytes, limit } => {
                format!("the query document is {bytes} bytes; at most {limit} are accepted")
            }
            Self::TooManyTokens { limit } => format!("the query document has more than {limit} tokens"),
            Self::TooManyFields { fields, limit } => format!(
                "the query expands to {fields} fields through its fragments and aliases; at most {limit} are accepted"
            ),
            Self::TooExpensive { cost, limit } => format!(
                "the query costs {cost} points; at most {limit} are accepted (a connection costs its page size times its selection)"
            ),
            Self::TooDeep { depth, limit } => format!(
                "the query is nested too deep: {depth} levels of fields; at most {limit} are accepted (introspection fields do not count)"
            ),
            Self::IntrospectionTooDeep { lists } => format!(
                "the introspection query is nested too deep: {lists} lists inside each other; at most {INTROSPECTION_LISTS} are accepted (`types {{ fields {{ args }} }}`)"
            ),
            Self::FragmentCycle { fragment } => format!("fragment `{fragment}` spreads itself"),
        }
    }

    /// `(cost, limit)` for the error's extensions, where there is one.
    pub fn figures(&self) -> Option<(u64, u64)> {
        match self {
            Self::TooLong { bytes, limit } => Some((*bytes as u64, *limit as u64)),
            Self::TooManyFields { fields, limit } => Some((*fields, *limit)),
            Self::TooExpensive { cost, limit } => Some((*cost, *limit)),
            Self::TooDeep { depth, limit } => Some((*depth, *limit)),
            Self::IntrospectionTooDeep { lists } => Some((*lists, INTROSPECTION_LISTS)),
            Self::TooManyTokens { .. } | Self::FragmentCycle { .. } => None,
        }
    }
}

/// Refuse a document whose text is too long or has too many tokens, before it is parsed.
pub fn check_text(query: &str, limits: &Limits) -> Result<(), Refusal> {
    check_length(query, limits)?;
    check_tokens(count_tokens(query, limits.max_tokens), limits)
}

/// [`check_text`]'s length limit alone.
pub fn check_length(query: &str, limits: &Limits) -> Result<(), Refusal> {
    if query.len() > limits.max_bytes {
        return Err(Refusal::TooLong { bytes: query.len(), limit: limits.max_bytes });
    }
    Ok(())
}

/// [`check_text`]'s token limit alone, for a document of `tokens` tokens.
pub fn check_tokens(tokens: usize, limits: &Limits) -> Result<(), Refusal> {
    if tokens > limits.max_tokens {
        return Err(Refusal::TooManyTokens { limit: limits.max_tokens });
    }
    Ok(())
}

/// Lexical tokens of a GraphQL document, counted up to `stop + 1`.
pub(crate) fn count_tokens(query: &str, stop: usize) -> usize {
    let bytes = query.as_bytes();
    let (mut i, mut tokens) = (0, 0);
    while i < bytes.len() && tokens <= stop {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                tokens += 1;
                if bytes[i..].starts_with(b"\"\"\"") {
                    i += 3;
                    while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 3;
                } else {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                tokens += 1;
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                tokens += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
            }
            _ => {
                tokens += 1;
                i += 1;
            }
        }
    }
    tokens
}

/// What the schema says about one field, as far as cost goes.
#[derive(Debug, Clone)]
struct FieldInfo {
    /// The named type the field returns (lists unwrapped).
    ty: Name,
    /// Returns a list of objects that is not a connection's `edges`/`nodes`.
    list: bool,
    /// Returns a Relay connection: its `edges`/`nodes` count `first`/`last` times.
    connection: bool,
    weight: u64,
    weight_per: Option<PerItem>,
}

/// The schema's types and fields, read once from its SDL.
#[derive(Debug, Default)]
pub struct CostModel {
    types: HashMap<Name, HashMap<Name, FieldInfo>>,
}

impl CostModel {
    /// Read the object and interface types of `sdl` (the schema's own SDL).
    pub fn from_sdl(sdl: &str) -> Self {
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            tracing::error!("the schema's own SDL does not parse: queries are priced one point per field");
            return Self::default();
        };
        let mut types = HashMap::default();
        let mut object_types = std::collections::HashSet::new();
        for definition in &document.definitions {
            if let TypeSystemDefinition::Type(ty) = definition
                && matches!(ty.node.kind, TypeKind::Object(_) | TypeKind::Interface(_) | TypeKind::Union(_))
            {
                object_types.insert(ty.node.name.node.clone());
            }
        }
        for definition in document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else { continue };
            let type_name = ty.node.name.node.clone();
            let fields = match ty.node.kind {
                TypeKind::Object(object) => object.fields,
                TypeKind::Interface(interface) => interface.fields,
                _ => continue,
            };
            let is_connection_type = type_name.ends_with("Connection");
            let mut by_name = HashMap::default();
            for field in fields {
                let field = field.node;
                let (named, is_list) = unwrap_type(&field.ty.node.base);
                let name = field.name.node;
                let connection =
                    named.ends_with("Connection") && field.arguments.iter().any(|a| a.node.name.node == "first");
                let list = is_list
                    && object_types.contains(&named)
                    && !(is_connection_type && (name == "edges" || name == "nodes"));
                let (weight, weight_per) = if is_connection_type && name == "totalCount" {
                    (COUNT_COST, None)
                } else {
                    WEIGHTS
                        .iter()
                        .find(|(t, f, ..)| *t == type_name.as_str() && *f == name.as_str())
                        .map(|(_, _, points, per)| (*points, *per))
                        .unwrap_or((0, None))
                };
                by_name.insert(name, FieldInfo { ty: named, list, connection, weight, weight_per });
            }
            types.insert(type_name, by_name);
        }
        Self { types }
    }

    /// Walk every operation of the document, for [`Walked::judge`] against the limits;
    /// true when a variable's value went into the totals (which then hold for these
    /// variables alone, else for any).
    pub fn walk(&self, document: &ExecutableDocument, variables: &Variables) -> Result<(Walked, bool), Refusal> {
        let mut walk = Walk {
            model: self,
            document,
            variables,
            memo: HashMap::default(),
            defaults: None,
            read_variables: Cell::new(false),
        };
        let multiple = matches!(document.operations, DocumentOperations::Multiple(_));
        let mut walked = Walked { fields: 0, depth: 0, costs: Vec::new(), multiple };
        for (name, operation) in document.operations.iter() {
            walk.defaults = Some(&operation.node);
            let root = match operation.node.ty {
                async_graphql::parser::types::OperationType::Query => "Query",
                async_graphql::parser::types::OperationType::Mutation => "Mutation",
                async_graphql::parser::types::OperationType::Subscription => "Subscription",
            };
            let totals = walk.selection_set(Some(root), &operation.node.selection_set.node, None)?;
            walked.fields = walked.fields.saturating_add(totals.fields);
            walked.depth = walked.depth.max(totals.depth);
            walked.costs.push((name.cloned(), totals.cost));
        }
        Ok((walked, walk.read_variables.get()))
    }
}

/// The totals of a document's operations ([`CostModel::walk`]), to judge against the
/// limits for the operation a request names.
#[derive(Debug, Clone)]
pub struct Walked {
    fields: u64,
    depth: u64,
    /// Each operation's name and cost.
    costs: Vec<(Option<Name>, u64)>,
    /// The document has operations by name (rather than a single anonymous one).
    multiple: bool,
}

impl Walked {
    /// The cost of the operation that runs for `operation_name` (the most expensive one
    /// when that is not yet known), unless the document is over a limit.
    pub fn judge(&self, operation_name: Option<&str>, limits: &Limits) -> Result<u64, Refusal> {
        let runs = |name: &Option<Name>| match (self.multiple, operation_name) {
            (true, Some(wanted)) => name.as_ref().is_some_and(|n| n.as_str() == wanted),
            _ => true,
        };
        let cost = self.costs.iter().filter(|(name, _)| runs(name)).map(|(_, cost)| *cost).max().unwrap_or(0);
        let Walked { fields, depth, .. } = *self;
        if fields > limits.max_fields {
            return Err(Refusal::TooManyFields { fields, limit: limits.max_fields });
        }
        if depth > limits.max_depth {
            return Err(Refusal::TooDeep { depth, limit: limits.max_depth });
        }
        if cost > limits.max_cost {
            return Err(Refusal::TooExpensive { cost, limit: limits.max_cost });
        }
        Ok(cost)
    }
}

/// The named type under any list wrappers, and whether there was a list.
fn unwrap_type(base: &BaseType) -> (Name, bool) {
    match base {
        BaseType::Named(name) => (name.clone(), false),
        BaseType::List(inner) => (unwrap_type(&inner.base).0, true),
    }
}

/// What a selection adds up to; depths are relative to the selection, so a fragment's
/// totals hold wherever it is spread.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    fields: u64,
    cost: u64,
    /// Levels of fields, introspection not counted.
    depth: u64,
    /// Introspection lists inside each other.
    lists: u64,
}

impl Totals {
    fn add(&mut self, other: Totals) {
        self.fields = self.fields.saturating_add(other.fields);
        self.cost = self.cost.saturating_add(other.cost);
        self.depth = self.depth.max(other.depth);
        self.lists = self.lists.max(other.lists);
    }
}

/// Whether a selection is inside `__schema` or `__type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mode {
    Api,
    Introspection,
}

enum Memo {
    Walking,
    Done(Totals),
}

struct Walk<'a> {
    model: &'a CostModel,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    /// Fragments already walked, by name, the page size of the connection they sit in
    /// and whether they are inside an introspection.
    memo: HashMap<(&'a str, Option<u64>, Mode), Memo>,
    defaults: Option<&'a OperationDefinition>,
    /// Set when an argument the walk read held a variable.
    read_variables: Cell<bool>,
}

impl<'a> Walk<'a> {
    /// `page`: the page size when this selection is a connection's.
    fn selection_set(&mut self, ty: Option<&str>, set: &'a SelectionSet, page: Option<u64>) -> Result<Totals, Refusal> {
        self.selections(ty, set, page, Mode::Api)
    }

    fn selections(
        &mut self,
        ty: Option<&str>,
        set: &'a SelectionSet,
        page: Option<u64>,
        mode: Mode,
    ) -> Result<Totals, Refusal> {
        let mut totals = Totals::default();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) if mode == Mode::Introspection => {
                    totals.add(self.introspection_field(&field.node)?)
                }
                Selection::Field(field) => totals.add(self.field(ty, &field.node, page)?),
                Selection::InlineFragment(inline) => {
                    let inner = inline.node.type_condition.as_ref().map(|c| c.node.on.node.as_str()).or(ty);
                    totals.add(self.selections(inner, &inline.node.selection_set.node, page, mode)?);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let Some(fragment) = self.document.fragments.get(name) else { continue };
                    match self.memo.get(&(name, page, mode)) {
                        Some(Memo::Done(done)) => totals.add(*done),
                        Some(Memo::Walking) => return Err(Refusal::FragmentCycle { fragment: name.to_owned() }),
                        None => {
                            self.memo.insert((name, page, mode), Memo::Walking);
                            let on = fragment.node.type_condition.node.on.node.as_str();
                            let done = self.selections(Some(on), &fragment.node.selection_set.node, page, mode)?;
                            self.memo.insert((name, page, mode), Memo::Done(done));
                            totals.add(done);
                        }
                    }
                }
            }
        }
        Ok(totals)
    }

    fn field(&mut self, ty: Option<&str>, field: &'a Field, page: Option<u64>) -> Result<Totals, Refusal> {
        let name = field.name.node.as_str();
        if matches!(name, "__schema" | "__type") {
            let children = self.selections(None, &field.selection_set.node, None, Mode::Introspection)?;
            if children.lists > INTROSPECTION_LISTS {
                return Err(Refusal::IntrospectionTooDeep { lists: children.lists });
            }
            let cost = if name == "__schema" { INTROSPECTION_COST } else { INTROSPECTION_TYPE_COST };
            return Ok(Totals { fields: children.fields.saturating_add(1), cost, depth: 0, lists: 0 });
        }
        let info = ty.and_then(|t| self.model.types.get(t)).and_then(|fields| fields.get(name));
        let Some(info) = info else {
            // `__typename` and unknown fields (which validation reports): one point each.
            let children = self.selection_set(None, &field.selection_set.node, None)?;
            return Ok(Totals {
                fields: children.fields.saturating_add(1),
                cost: children.cost.saturating_add(1),
                depth: children.depth.saturating_add(1),
                lists: 0,
            });
        };
        let child_page = info.connection.then(|| self.page_size(field));
        let children = self.selection_set(Some(info.ty.as_str()), &field.selection_set.node, child_page)?;
        let per_item = info.weight_per.map(|per| self.list_length(field, per).max(1));
        let items = if let Some(size) = page.filter(|_| name == "edges" || name == "nodes") {
            size
        } else if let (true, Some(count), Some(PerItem::Argument(_))) = (info.list, per_item, info.weight_per) {
            count
        } else if info.list {
            LIST_ITEMS
        } else {
            1
        };
        let weight = info.weight.saturating_mul(per_item.unwrap_or(1));
        let cost = children.cost.saturating_mul(items).saturating_add(1).saturating_add(weight);
        Ok(Totals {
            fields: children.fields.saturating_add(1),
            cost,
            depth: children.depth.saturating_add(1),
            lists: 0,
        })
    }

    /// A field inside `__schema` or `__type`: counted as a field, free, not nested.
    fn introspection_field(&mut self, field: &'a Field) -> Result<Totals, Refusal> {
        let children = self.selections(None, &field.selection_set.node, None, Mode::Introspection)?;
        let list = INTROSPECTION_LIST_FIELDS.contains(&field.name.node.as_str());
        Ok(Totals {
            fields: children.fields.saturating_add(1),
            cost: 0,
            depth: 0,
            lists: children.lists.saturating_add(u64::from(list)),
        })
    }

    /// `first` or `last` as the request gives it, clamped to what a page may hold.
    fn page_size(&self, field: &Field) -> u64 {
        ["first", "last"]
            .iter()
            .find_map(|name| match self.argument(field, name) {
                Some(Value::Number(n)) => Some(n.as_i64().unwrap_or(i64::MAX).clamp(0, MAX_PAGE_SIZE as i64) as u64),
                _ => None,
            })
            .unwrap_or(DEFAULT_PAGE_SIZE)
    }

    fn list_length(&self, field: &Field, per: PerItem) -> u64 {
        let list = match (per, self.argument(field, per.argument())) {
            (PerItem::InputField(_, name), Some(Value::Object(mut object))) => object.swap_remove(name),
            (PerItem::Argument(_), value) => value,
            _ => None,
        };
        match list {
            Some(Value::List(items)) => items.len() as u64,
            _ => 1,
        }
    }

    /// An argument's value with variables put in (from the request, else their defaults).
    fn argument(&self, field: &Field, name: &str) -> Option<Value> {
        let (_, value) = field.arguments.iter().find(|(n, _)| n.node == name)?;
        value
            .node
            .clone()
            .into_const_with(|variable| {
                self.read_variables.set(true);
                if let Some(value) = self.variables.get(&variable) {
                    return Ok(value.clone());
                }
                self.defaults
                    .and_then(|op| op.variable_definitions.iter().find(|d| d.node.name.node == variable))
                    .and_then(|d| d.node.default_value.as_ref().map(|v| v.node.clone()))
                    .ok_or(())
            })
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL: &str = r#"
        type Query { leads(first: Int, last: Int): LeadConnection! kpis(input: KpiInput!): [KpiSeries!]! me: User!
                     node(id: ID!): Node nodes(ids: [ID!]!): [Node]! }
        interface Node { id: ID! }
        type LeadConnection { edges: [LeadEdge!]! nodes: [Lead!]! totalCount: Int! }
        type LeadEdge { cursor: String! node: Lead! }
        type Lead implements Node { id: ID! owner: User history: [Change!]! tags: [String!]! }
        type User { name: String! }
        type Change { at: String! }
        type KpiSeries { value: Float! }
        input KpiInput { metrics: [String!]! }
    "#;

    const LIMITS: Limits =
        Limits { max_bytes: 10_000, max_tokens: 2_000, max_fields: 2_000, max_cost: 10_000, max_depth: 12 };

    fn check(query: &str, variables: serde_json::Value) -> Result<u64, Refusal> {
        let model = CostModel::from_sdl(SDL);
        let document = async_graphql::parser::parse_query(query).unwrap();
        model.walk(&document, &Variables::from_json(variables)).and_then(|(walked, _)| walked.judge(None, &LIMITS))
    }

    #[test]
    fn a_connection_costs_its_page_size_times_its_selection() {
        // leads 1 + nodes 1 + 50 × (id 1 + owner 1 + name 1).
        assert_eq!(
            check("{ leads(first: 50) { nodes { id owner { name } } } }", serde_json::json!({})),
            Ok(2 + 50 * 3)
        );
        assert_eq!(
            check("query($n: Int) { leads(first: $n) { nodes { id } } }", serde_json::json!({ "n": 10 })),
            Ok(2 + 10)
        );
        assert_eq!(check("query($n: Int = 5) { leads(first: $n) { nodes { id } } }", serde_json::json!({})), Ok(2 + 5));
        // Absent: the default page; above the maximum: priced at the maximum (and refused when run).
        assert_eq!(check("{ leads { nodes { id } } }", serde_json::json!({})), Ok(2 + 20));
        assert_eq!(check("{ leads(first: 100000) { nodes { id } } }", serde_json::json!({})), Ok(2 + 100));
    }

    #[test]
    fn counting_fields_and_lists_carry_their_weight() {
        assert_eq!(check("{ leads(first: 1) { totalCount } }", serde_json::json!({})), Ok(2 + COUNT_COST));
        // history: a list of objects, priced at LIST_ITEMS; tags: scalars.
        assert_eq!(
            check("{ leads(first: 1) { nodes { history { at } tags } } }", serde_json::json!({})),
            Ok(2 + (1 + LIST_ITEMS) + 1)
        );
        assert_eq!(
            check(r#"{ kpis(input: { metrics: ["A", "B", "C"] }) { value } }"#, serde_json::json!({})),
            Ok(1 + LIST_ITEMS + 3 * 50)
        );
    }

    #[test]
    fn nodes_cost_their_lookup_and_selection_per_id() {
        // node 1 + lookup + (id 1 + owner 1 + name 1).
        let one = 2 + 3;
        assert_eq!(check(r#"{ node(id: "a") { ... on Lead { id owner { name } } } }"#, serde_json::json!({})), Ok(one));
        // nodes 1 + per id: lookup + selection, ids given inline or as a variable.
        let per_id = NODE_LOOKUP_COST + 3;
        let selection = "{ ... on Lead { id owner { name } } }";
        assert_eq!(
            check(&format!(r#"{{ nodes(ids: ["a", "b", "c"]) {selection} }}"#), serde_json::json!({})),
            Ok(1 + 3 * per_id)
        );
        let ids: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        assert_eq!(
            check(
                &format!("query($ids: [ID!]!) {{ nodes(ids: $ids) {selection} }}"),
                serde_json::json!({ "ids": ids })
            ),
            Ok(1 + 40 * per_id)
        );
    }

    #[test]
    fn a_thousand_aliased_counts_are_refused() {
        let aliases: String = (0..1000).map(|i| format!("a{i}: leads(first: 1) {{ totalCount }} ")).collect();
        let refusal = check(&format!("{{ {aliases} }}"), serde_json::json!({})).unwrap_err();
        assert!(matches!(refusal, Refusal::TooExpensive { cost: 52_000, limit: 10_000 }), "{refusal:?}");
    }

    #[test]
    fn fragment_fan_out_is_counted_once_per_fragment() {
        let mut query = String::from("{ ...F0 }");
        for level in 0..40 {
            query.push_str(&format!(" fragment F{level} on Query {{ ...F{next} ...F{next} }}", next = level + 1));
        }
        query.push_str(" fragment F40 on Query { me { name } }");
        let started = std::time::Instant::now();
        let refusal = check(&query, serde_json::json!({})).unwrap_err();
        assert!(matches!(refusal, Refusal::TooManyFields { .. }), "{refusal:?}");
        // Linear, not 2^40 walks: well under a second even on a loaded CI machine (a
        // 50 ms bound failed while two other builds shared its two cores).
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn depth_counts_fields_through_fragments_but_not_introspection() {
        // leads, nodes, owner, name: 4 levels; through a fragment, the same.
        let model = CostModel::from_sdl(SDL);
        let limits = Limits { max_depth: 3, ..LIMITS };
        let run = |query: &str| {
            let document = async_graphql::parser::parse_query(query).unwrap();
            model.walk(&document, &Variables::default()).and_then(|(walked, _)| walked.judge(None, &limits))
        };
        assert_eq!(run("{ leads { nodes { owner { name } } } }"), Err(Refusal::TooDeep { depth: 4, limit: 3 }));
        assert_eq!(
            run("{ leads { ...N } } fragment N on LeadConnection { nodes { owner { name } } }"),
            Err(Refusal::TooDeep { depth: 4, limit: 3 })
        );
        assert!(run("{ leads { nodes { id } } }").is_ok());
        let type_ref = format!("{{ __type(name: \"Lead\") {{ {} name {} }} }}", "ofType {".repeat(20), "}".repeat(20));
        assert_eq!(run(&type_ref), Ok(INTROSPECTION_TYPE_COST));
        assert_eq!(run("{ __schema { types { fields { args { name } } } } }"), Ok(INTROSPECTION_COST));
        assert_eq!(
            run(
                "{ __schema { types { ...F } } } fragment F on __Type { fields { type { fields { args { name } } } } }"
            ),
            Err(Refusal::IntrospectionTooDeep { lists: 4 })
        );
    }

    #[test]
    fn a_fragment_cycle_is_refused() {
        let refusal =
            check("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", serde_json::json!({}));
        assert!(matches!(refusal, Err(Refusal::FragmentCycle { .. })));
    }

    #[test]
    fn tokens_are_counted_without_strings_and_comments() {
        assert_eq!(count_tokens(r#"{ a(b: "x y z") # c d e"#, 100), 7);
        assert_eq!(count_tokens("{ ...F }", 100), 4);
        assert_eq!(count_tokens("query { a }", 100), 4);
        assert!(count_tokens(&"a ".repeat(1000), 10) <= 11);
    }
}
