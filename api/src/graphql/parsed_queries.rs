//! Parsed GraphQL queries (not agreed documents), remembered by their text: portals,
//! BI tools and partners send the same few queries over and over with new variables,
//! so each is parsed once, and what its text alone decides is worked out once
//! ([`Known`]; docs/performance.md). Neither depends on the caller, so the cache is
//! process-wide.

use std::num::NonZeroUsize;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};

use async_graphql::CacheControl;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use lru::LruCache;

use super::cost::{self, Walked};

/// Documents remembered at most; the least recently used go first.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(512).unwrap();
/// Longer documents are parsed every time, which keeps the cache a few megabytes at most.
const MAX_CACHED_LEN: usize = 8 * 1024;

type Documents = LruCache<String, Arc<Known>>;

static DOCUMENTS: LazyLock<Mutex<Documents>> = LazyLock::new(|| Mutex::new(LruCache::new(CAPACITY)));

fn documents() -> MutexGuard<'static, Documents> {
    // Entries are whole values: a panic elsewhere cannot leave one half-written.
    DOCUMENTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A parsed document and what its text alone decides, worked out once for every request
/// that sends it. The limits are the server's, so they are applied to these facts on
/// each request, never remembered.
pub struct Known {
    pub document: ExecutableDocument,
    /// Its lexical tokens, all counted (a remembered document is short).
    pub tokens: usize,
    /// Whether an operation asks for `__schema` or `__type`.
    pub introspection: bool,
    /// Whether its argument literals are free of the characters `input::check_literals`
    /// refuses.
    literals_clean: OnceLock<bool>,
    /// The cost walk of its operations, once a walk read no variable (then it holds for
    /// any variables).
    walked: OnceLock<Walked>,
}

impl Known {
    fn new(query: &str, document: ExecutableDocument) -> Self {
        Self {
            tokens: cost::count_tokens(query, usize::MAX),
            introspection: asks_introspection(&document),
            document,
            literals_clean: OnceLock::new(),
            walked: OnceLock::new(),
        }
    }

    /// The walk of [`cost::CostModel::walk`], remembered when it read no variable.
    pub fn walk(
        &self,
        model: &cost::CostModel,
        variables: &async_graphql::Variables,
    ) -> Result<std::borrow::Cow<'_, Walked>, cost::Refusal> {
        if let Some(walked) = self.walked.get() {
            return Ok(std::borrow::Cow::Borrowed(walked));
        }
        let (walked, read_variables) = model.walk(&self.document, variables)?;
        if !read_variables {
            return Ok(std::borrow::Cow::Borrowed(self.walked.get_or_init(|| walked)));
        }
        Ok(std::borrow::Cow::Owned(walked))
    }

    /// [`super::input::check_literals`], remembered when it passes.
    pub fn check_literals(&self) -> crate::error::Result<()> {
        if self.literals_clean.get() == Some(&true) {
            return Ok(());
        }
        let checked = super::input::check_literals(&self.document);
        let _ = self.literals_clean.set(checked.is_ok());
        checked
    }
}

/// The document of `query` when it was parsed before and remembered.
pub fn remembered(query: &str) -> Option<Arc<Known>> {
    documents().get(query).cloned()
}

/// The document of `query`, parsed now and remembered when short. `None` when it does
/// not parse. Check its text's size first ([`cost::check_text`]).
pub fn parse(query: &str) -> Option<Arc<Known>> {
    let document = async_graphql::parser::parse_query(query).ok()?;
    let known = Arc::new(Known::new(query, document));
    if query.len() <= MAX_CACHED_LEN {
        documents().put(query.to_owned(), known.clone());
    }
    Some(known)
}

/// Documents that passed a schema's validation, by text, with the cache control it
/// computed (it depends on the document alone). A request with one of them checks only
/// its arguments' values again, as variables can make those wrong (vendor/README.md):
/// validation was 7 % of the lead detail's server time. One per schema (in `AppState`),
/// bounded like the parsed documents; any message a request gets is the one a full
/// validation gives.
pub struct Validated(Mutex<LruCache<String, CacheControl>>);

impl Default for Validated {
    fn default() -> Self {
        Self(Mutex::new(LruCache::new(CAPACITY)))
    }
}

impl Validated {
    fn entries(&self) -> MutexGuard<'_, LruCache<String, CacheControl>> {
        // Entries are whole values: a panic elsewhere cannot leave one half-written.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Mark `request` (with its parsed document set) as validated when its document
    /// passed before; otherwise return its text, to [`Self::passed`] once it ran.
    pub fn check(&self, request: &mut async_graphql::Request) -> Option<String> {
        if request.query.len() > MAX_CACHED_LEN {
            return None;
        }
        let remembered = self.entries().get(&request.query).copied();
        if let Some(cache_control) = remembered {
            metrics::counter!("accord_graphql_validations_skipped_total").increment(1);
            request.set_document_validated(cache_control);
            return None;
        }
        Some(request.query.clone())
    }

    /// Remember `query` when its `response` shows that it passed validation: a response
    /// whose every error has a path came from execution, which runs only after it.
    pub fn passed(&self, query: String, response: &async_graphql::Response) {
        if response.errors.iter().all(|e| !e.path.is_empty()) {
            self.entries().put(query, response.cache_control);
        }
    }
}

/// True when an operation of `document` asks for `__schema` or `__type` (directly, or
/// through fragments and inline fragments on the root).
pub fn asks_introspection(document: &ExecutableDocument) -> bool {
    fn asks(document: &ExecutableDocument, set: &SelectionSet, seen: &mut Vec<String>) -> bool {
        set.items.iter().any(|selection| match &selection.node {
            Selection::Field(field) => matches!(field.node.name.node.as_str(), "__schema" | "__type"),
            Selection::InlineFragment(inline) => asks(document, &inline.node.selection_set.node, seen),
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if seen.iter().any(|s| s == name) {
                    return false;
                }
                seen.push(name.to_owned());
                document.fragments.get(name).is_some_and(|f| asks(document, &f.node.selection_set.node, seen))
            }
        })
    }
    let mut seen = Vec::new();
    document.operations.iter().any(|(_, op)| asks(document, &op.node.selection_set.node, &mut seen))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Give `request` its parsed document, remembered or parsed now, as `http::admit`
    /// does. A document that does not parse is left to the executor, which reports the
    /// error.
    fn prepare(request: &mut async_graphql::Request) {
        if let Some(known) = remembered(&request.query).or_else(|| parse(&request.query)) {
            request.set_parsed_query(known.document.clone());
        }
    }

    fn operation_name(request: &mut async_graphql::Request) -> Option<String> {
        let document = request.parsed_query().ok()?;
        document.operations.iter().next().and_then(|(name, _)| name.map(|n| n.to_string()))
    }

    struct Numbers;

    #[async_graphql::Object]
    impl Numbers {
        async fn twice(&self, n: i32) -> i32 {
            n * 2
        }

        #[graphql(cache_control(max_age = 60))]
        async fn constant(&self) -> i32 {
            7
        }

        async fn me(&self) -> Numbers {
            Numbers
        }
    }

    /// A request for `query` with `variables`, its document parsed and checked against
    /// `validated` as the HTTP handler does; remembered when it passes.
    async fn run(
        schema: &async_graphql::Schema<Numbers, async_graphql::EmptyMutation, async_graphql::EmptySubscription>,
        validated: &Validated,
        query: &str,
        variables: serde_json::Value,
    ) -> async_graphql::Response {
        let mut request = async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(variables));
        prepare(&mut request);
        let unvalidated = validated.check(&mut request);
        let response = schema.execute(request).await;
        if let Some(query) = unvalidated {
            validated.passed(query, &response);
        }
        response
    }

    #[tokio::test]
    async fn a_document_that_passed_checks_only_its_argument_values_again() {
        use async_graphql::{EmptyMutation, EmptySubscription, Schema};
        let schema = Schema::new(Numbers, EmptyMutation, EmptySubscription);
        let validated = Validated::default();
        let text = "query($n: Int) { twice(n: $n) }";
        let bad = run(&schema, &validated, text, serde_json::json!({ "n": "x" })).await;
        assert!(!validated.entries().contains(text), "a refused request proves nothing of the document");
        assert_eq!(run(&schema, &validated, text, serde_json::json!({ "n": 2 })).await.data.to_string(), "{twice: 4}");
        assert!(validated.entries().contains(text));
        let again = run(&schema, &validated, text, serde_json::json!({ "n": "x" })).await;
        assert_eq!(again.errors, bad.errors, "argument values are still checked, with the same message");
        assert!(again.errors[0].message.starts_with("Invalid value for argument"), "{:?}", again.errors);

        // A remembered document skips the rules that read the document alone: planted,
        // an unused variable is not reported (it would be, validated whole).
        let unused = "query($n: Int, $unused: Int) { twice(n: $n) }";
        assert!(!run(&schema, &validated, unused, serde_json::json!({ "n": 1 })).await.errors.is_empty());
        validated.entries().put(unused.to_owned(), CacheControl::default());
        assert!(run(&schema, &validated, unused, serde_json::json!({ "n": 1 })).await.errors.is_empty());
    }

    /// A remembered document is walked again only where it uses variables, and every
    /// use is checked wherever it is (a nested field, a fragment, an inline fragment, a
    /// directive), with the errors a whole validation gives.
    #[tokio::test]
    async fn a_remembered_document_checks_every_variable_wherever_it_is_used() {
        use async_graphql::{EmptyMutation, EmptySubscription, Schema};
        let schema = Schema::new(Numbers, EmptyMutation, EmptySubscription);
        let validated = Validated::default();
        let text = "query($a: Int, $b: Int, $c: Int, $show: Boolean!) { \
            constant me { one: twice(n: 1) me { a: twice(n: $a) } ...F ... on Numbers { c: twice(n: $c) } } \
            two: twice(n: 2) @include(if: $show) } \
            fragment F on Numbers { b: twice(n: $b) }";
        let bad = serde_json::json!({ "a": "x", "b": [1], "c": 1.5, "show": "yes" });
        let whole = run(&schema, &Validated::default(), text, bad.clone()).await;
        assert_eq!(whole.errors.len(), 4, "{:?}", whole.errors);
        let good = run(&schema, &validated, text, serde_json::json!({ "a": 1, "b": 2, "c": 3, "show": true })).await;
        assert!(good.errors.is_empty(), "{:?}", good.errors);
        assert!(validated.entries().contains(text));
        let again = run(&schema, &validated, text, bad).await;
        assert_eq!(again.errors, whole.errors);
    }

    /// A remembered document that declares no variables has only constant arguments,
    /// which passed: nothing of it is walked again. Planted, a wrong constant is then
    /// left to execution, which reports it at its field (validation gives no path).
    #[tokio::test]
    async fn a_document_without_variables_is_not_walked_again() {
        use async_graphql::{EmptyMutation, EmptySubscription, Schema};
        let schema = Schema::new(Numbers, EmptyMutation, EmptySubscription);
        let validated = Validated::default();
        let text = "{ twice(n: \"x\") }";
        let whole = run(&schema, &validated, text, serde_json::json!({})).await;
        assert!(whole.errors[0].path.is_empty(), "validation refuses it: {:?}", whole.errors);
        validated.entries().put(text.to_owned(), CacheControl::default());
        let remembered = run(&schema, &validated, text, serde_json::json!({})).await;
        assert!(!remembered.errors.is_empty());
        assert!(!remembered.errors[0].path.is_empty(), "not walked again: {:?}", remembered.errors);
    }

    /// The cache control a document's first validation computed is what its later
    /// requests get, without computing it again.
    #[tokio::test]
    async fn a_remembered_document_keeps_its_cache_control() {
        use async_graphql::{EmptyMutation, EmptySubscription, Schema};
        let schema = Schema::new(Numbers, EmptyMutation, EmptySubscription);
        let validated = Validated::default();
        let text = "{ constant }";
        let first = run(&schema, &validated, text, serde_json::json!({})).await;
        assert_eq!(first.cache_control.max_age, 60);
        assert_eq!(validated.entries().get(text).map(|c| c.max_age), Some(60));
        assert_eq!(run(&schema, &validated, text, serde_json::json!({})).await.cache_control.max_age, 60);
        // Planted: what is remembered is what the response carries.
        let planted = CacheControl { max_age: 5, ..CacheControl::default() };
        validated.entries().put(text.to_owned(), planted);
        assert_eq!(run(&schema, &validated, text, serde_json::json!({})).await.cache_control, planted);
    }

    #[test]
    fn introspection_is_found_through_fragments() {
        let asks = |q: &str| asks_introspection(&async_graphql::parser::parse_query(q).unwrap());
        assert!(asks("{ __schema { queryType { name } } }"));
        assert!(asks("{ ...F } fragment F on Query { ... on Query { __type(name: \"Lead\") { name } } }"));
        assert!(!asks("{ __typename me { name } }"));
    }

    #[test]
    fn a_document_is_parsed_once_and_a_bad_one_is_left_to_the_executor() {
        let text = "query DocumentsCacheTest { __typename }";
        prepare(&mut async_graphql::Request::new(text));
        assert!(documents().contains(text), "remembered after the first request");
        // What is remembered is what the next request with the same text runs.
        let planted = "query Planted { __typename }";
        let document = async_graphql::parser::parse_query(planted).unwrap();
        documents().put(text.to_owned(), Arc::new(Known::new(planted, document)));
        let mut again = async_graphql::Request::new(text);
        prepare(&mut again);
        assert_eq!(operation_name(&mut again).as_deref(), Some("Planted"));

        let broken = "query { unclosed";
        let mut bad = async_graphql::Request::new(broken);
        prepare(&mut bad);
        assert!(!documents().contains(broken));
        assert!(bad.parsed_query().is_err(), "the executor still sees the syntax error");
    }

    /// What a remembered document's text decides is worked out once; what a request's
    /// variables decide is worked out for each request.
    #[test]
    fn a_documents_facts_are_remembered_but_never_what_its_variables_decide() {
        let model = cost::CostModel::from_sdl(
            "type Query { leads(first: Int): LeadConnection! } type LeadConnection { nodes: [Lead!]! } \
             type Lead { id: ID! note(text: String): String }",
        );
        let limits =
            cost::Limits { max_bytes: 10_000, max_tokens: 100, max_fields: 100, max_cost: 1_000, max_depth: 10 };
        let variables = |json| async_graphql::Variables::from_json(json);
        let cost_of = |known: &Known, json| known.walk(&model, &variables(json)).unwrap().judge(None, &limits);

        // The page size comes from a variable: walked again for every request.
        let paged = parse("query FactsPaged($n: Int) { leads(first: $n) { nodes { id } } }").unwrap();
        assert_eq!(cost_of(&paged, serde_json::json!({ "n": 10 })), Ok(2 + 10));
        assert_eq!(cost_of(&paged, serde_json::json!({ "n": 5 })), Ok(2 + 5));
        assert!(paged.walked.get().is_none());
        // A literal page size: walked once, judged against the limits of each request.
        let fixed = parse("query FactsFixed { leads(first: 3) { nodes { id } } }").unwrap();
        assert_eq!(cost_of(&fixed, serde_json::json!({})), Ok(2 + 3));
        assert!(fixed.walked.get().is_some());
        assert_eq!(cost_of(&fixed, serde_json::json!({ "n": 50 })), Ok(2 + 3));
        let strict = cost::Limits { max_cost: 4, ..limits };
        let walked = fixed.walk(&model, &variables(serde_json::json!({}))).unwrap();
        assert_eq!(walked.judge(None, &strict), Err(cost::Refusal::TooExpensive { cost: 5, limit: 4 }));
        assert_eq!(fixed.tokens, cost::count_tokens("query FactsFixed { leads(first: 3) { nodes { id } } }", 1_000));

        // Argument literals: a clean document is remembered clean; a refused one is refused
        // again, with the same error, on every request.
        let clean = parse("query FactsClean { leads(first: 1) { nodes { note(text: \"ok\") } } }").unwrap();
        assert!(clean.check_literals().is_ok());
        assert_eq!(clean.literals_clean.get(), Some(&true));
        let dirty = parse("query FactsDirty { leads(first: 1) { nodes { note(text: \"a\\u0000b\") } } }").unwrap();
        let first = dirty.check_literals().unwrap_err().to_string();
        assert_eq!(dirty.check_literals().unwrap_err().to_string(), first);
        assert!(remembered("query FactsDirty { leads(first: 1) { nodes { note(text: \"a\\u0000b\") } } }").is_some());
    }
}
