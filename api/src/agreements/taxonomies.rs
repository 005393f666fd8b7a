//! Agreed word lists: the feedback tags, the reasons sales hands a lead back, the
//! reasons deals are lost and the competitors deals are lost to. Each list is one
//! agreed document (kind TAXONOMY, keyed by the list), so changing what counts as a
//! reason goes through the same sign-off as any other rule.
//!
//! Two kinds of list:
//! - **Closed** (hand-back and lost reasons): a write must name an entry (by code or
//!   synonym) of the list in force, or of the default list while none is agreed.
//! - **Open** (feedback tags, competitors): anything may be written; a value the
//!   agreed list knows (by code or synonym) is stored as its entry's code, anything
//!   else as written and marked unlisted. Without an agreed list, values stay as
//!   written. The owning domains re-map what is stored when a list is agreed or retired.
//!
//! Matching folds case, spaces, hyphens and underscores: "Pricing too_high",
//! "pricing-too-high" and "PRICING_TOO_HIGH" are one word.

use std::collections::HashMap;

use async_graphql::Enum;
use entity::{AgreementStatus, DocumentKind};
use futures_util::future::BoxFuture;
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AgreedBody, DocumentCriteria};
use crate::auth::Actor;
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::validate::{self, Wording};

/// Most entries in one list.
pub const MAX_ENTRIES: usize = 200;
/// Most synonyms of one entry.
pub const MAX_SYNONYMS: usize = 50;
/// Longest code: reasons are stored in 32-character columns.
pub const CODE_MAX: usize = 32;
/// Longest synonym or written value.
pub const WORD_MAX: usize = 64;

/// Which agreed word list.
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaxonomyList {
    /// Feedback tags (open): a tag the list knows becomes its entry's code, so synonyms
    /// form one theme; other tags are kept as written and marked unlisted. Codes are
    /// lower-case words joined by hyphens, such as `pricing-too-high`.
    FeedbackTags,
    /// Why sales hands a lead back (closed): `handBack` must name one of them. Codes are
    /// upper-case words joined by underscores, such as `NO_BUDGET`.
    HandBackReasons,
    /// Why a deal was lost (closed): closing a deal as LOST must name one of them.
    LostReasons,
    /// Competitors deals are lost to (open): a competitor the list knows becomes its
    /// entry's code, so "SFDC" and "Salesforce" count as one.
    Competitors,
}

impl TaxonomyList {
    /// Every value must name an entry of the list in force.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::HandBackReasons | Self::LostReasons)
    }

    /// The public (GraphQL) name, such as `LOST_REASONS`, also the document's key.
    pub fn name(self) -> &'static str {
        match self {
            Self::FeedbackTags => "FEEDBACK_TAGS",
            Self::HandBackReasons => "HAND_BACK_REASONS",
            Self::LostReasons => "LOST_REASONS",
            Self::Competitors => "COMPETITORS",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::FeedbackTags => "Feedback tags",
            Self::HandBackReasons => "Hand-back reasons",
            Self::LostReasons => "Lost reasons",
            Self::Competitors => "Competitors",
        }
    }

    /// A code in this list's spelling: tags `lower-case-words`, the rest `UPPER_CASE_WORDS`.
    pub fn spell(self, value: &str) -> String {
        let words = words(value);
        match self {
            Self::FeedbackTags => words.join("-"),
            _ => words.join("_").to_uppercase(),
        }
    }
}

/// The lower-cased words of a value: runs of whitespace, `-` and `_` separate them.
fn words(value: &str) -> Vec<String> {
    value
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|part| !part.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The form two values are compared in.
pub fn fold(value: &str) -> String {
    words(value).join("-")
}

/// One word of a list.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaxonomyEntry {
    /// What is stored and grouped by, in the list's spelling.
    pub code: String,
    /// What people read, such as "No budget".
    pub label: String,
    /// When to use it.
    #[serde(default)]
    pub description: Option<String>,
    /// Other spellings that mean this entry.
    #[serde(default)]
    pub synonyms: Vec<String>,
    /// Using this entry needs a note saying more (such as OTHER).
    #[serde(default)]
    pub needs_note: bool,
    /// Lost reasons only: a deal lost for this reason must name the competitor.
    #[serde(default)]
    pub needs_competitor: bool,
}

impl TaxonomyEntry {
    fn new(code: &str, label: &str, synonyms: &[&str]) -> Self {
        Self {
            code: code.into(),
            label: label.into(),
            description: None,
            synonyms: synonyms.iter().map(|s| (*s).to_owned()).collect(),
            needs_note: false,
            needs_competitor: false,
        }
    }
}

/// The body of one version of a word list.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Taxonomy {
    /// Which list; one document per list and organization.
    pub list: TaxonomyList,
    /// The entries, in the order pickers show them.
    pub entries: Vec<TaxonomyEntry>,
}

impl AgreedBody for Taxonomy {
    const KIND: DocumentKind = DocumentKind::Taxonomy;

    fn validate(self) -> Result<Self> {
        let list = self.list;
        if self.entries.is_empty() || self.entries.len() > MAX_ENTRIES {
            return Err(ApiError::bad_input("entries", format!("must hold 1 to {MAX_ENTRIES} entries")));
        }
        // Every code and synonym, folded, names exactly one entry.
        let mut owner: HashMap<String, String> = HashMap::new();
        let mut entries = Vec::with_capacity(self.entries.len());
        for (i, entry) in self.entries.into_iter().enumerate() {
            let at = |field: &str| format!("entries[{i}].{field}");
            let max = if list == TaxonomyList::FeedbackTags { WORD_MAX } else { CODE_MAX };
            let code = list.spell(&validate::text(&at("code"), &entry.code, max)?);
            if code.is_empty() || !code.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
                return Err(ApiError::bad_input(&at("code"), "must be letters and digits, words joined by - or _"));
            }
            let label = validate::text_with(&at("label"), &entry.label, 100, Wording::Range)?;
            let description = validate::optional_text(&at("description"), entry.description.as_deref(), 500)?;
            let synonyms = validate::text_list(&at("synonyms"), entry.synonyms, MAX_SYNONYMS, WORD_MAX)?;
            if entry.needs_competitor && list != TaxonomyList::LostReasons {
                return Err(ApiError::bad_input(&at("needsCompetitor"), "only lost reasons name a competitor"));
            }
            if entry.needs_note && !list.is_closed() {
                return Err(ApiError::bad_input(&at("needsNote"), "only reasons take a note"));
            }
            for (field, word) in std::iter::once(("code", &code)).chain(synonyms.iter().map(|s| ("synonyms", s))) {
                let folded = fold(word);
                if folded.is_empty() {
                    return Err(ApiError::bad_input(&at(field), "must contain a letter or a digit"));
                }
                match owner.get(&folded) {
                    Some(other) if *other != code => {
                        return Err(ApiError::bad_input(&at(field), format!("\"{word}\" already means {other}")));
                    }
                    Some(_) if field == "code" => {
                        return Err(ApiError::bad_input(&at(field), format!("{code} is listed twice")));
                    }
                    _ => {
                        owner.insert(folded, code.clone());
                    }
                }
            }
            entries.push(TaxonomyEntry {
                code,
                label,
                description,
                synonyms,
                needs_note: entry.needs_note,
                needs_competitor: entry.needs_competitor,
            });
        }
        Ok(Self { list, entries })
    }

    fn key(&self) -> String {
        self.list.name().to_owned()
    }

    fn title(&self) -> String {
        self.list.title().to_owned()
    }
}

/// The entries of a list while no version of it is agreed: the reasons Accord always
/// offered, so nothing changes for an organization until both teams agree their own.
pub fn defaults(list: TaxonomyList) -> Vec<TaxonomyEntry> {
    let entry = TaxonomyEntry::new;
    match list {
        TaxonomyList::FeedbackTags | TaxonomyList::Competitors => Vec::new(),
        TaxonomyList::HandBackReasons => vec![
            entry("BAD_CONTACT_DATA", "Bad contact data", &["wrong number", "bounced"]),
            entry("NOT_ICP", "Not our ideal customer", &["not a fit"]),
            entry("NO_BUDGET", "No budget", &[]),
            entry("NO_AUTHORITY", "No authority to buy", &[]),
            entry("NO_NEED", "No need", &[]),
            entry("BAD_TIMING", "Bad timing", &["timing"]),
            entry("DUPLICATE", "Duplicate of another lead", &[]),
            entry("COMPETITOR", "Committed to a competitor", &[]),
            entry("ALREADY_CUSTOMER", "Already a customer", &[]),
            TaxonomyEntry { needs_note: true, ..entry("OTHER", "Other (say why in the note)", &[]) },
        ],
        TaxonomyList::LostReasons => vec![
            entry("PRICE", "Price", &["too expensive"]),
            TaxonomyEntry {
                needs_competitor: true,
                ..entry("COMPETITOR", "Chose a competitor", &["chose a competitor", "lost to competitor"])
            },
            entry("NO_DECISION", "No decision", &["went dark", "status quo"]),
            entry("TIMING", "Timing", &["bad timing"]),
            entry("NO_BUDGET", "No budget", &["budget cut"]),
            entry("PRODUCT_GAP", "Missing capability", &["missing integration", "missing feature"]),
            TaxonomyEntry { needs_note: true, ..entry("OTHER", "Other (say why in the note)", &[]) },
        ],
    }
}

/// A list as it applies now: the agreed version, or the defaults.
#[derive(Debug, Clone)]
pub struct InForce {
    pub list: TaxonomyList,
    /// The agreed document and version; `None` while the defaults apply.
    pub agreed: Option<(Uuid, i32)>,
    pub entries: Vec<TaxonomyEntry>,
    /// Folded code or synonym → index into `entries`.
    index: HashMap<String, usize>,
}

/// How a written value of an open list maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// What is stored and grouped by: the entry's code, or the value as written.
    pub value: String,
    /// Whether the agreed list knows it; `None` while no list is agreed.
    pub listed: Option<bool>,
}

impl InForce {
    fn new(list: TaxonomyList, agreed: Option<(Uuid, i32)>, entries: Vec<TaxonomyEntry>) -> Self {
        let mut index = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            for word in std::iter::once(&e.code).chain(&e.synonyms) {
                index.entry(fold(word)).or_insert(i);
            }
        }
        Self { list, agreed, entries, index }
    }

    /// The entry a written value names, by code or synonym.
    pub fn lookup(&self, written: &str) -> Option<&TaxonomyEntry> {
        self.index.get(&fold(written)).map(|&i| &self.entries[i])
    }

    /// The entry of a closed list that `written` names; BAD_USER_INPUT on `field`
    /// listing the codes otherwise.
    pub fn require(&self, field: &str, written: &str) -> Result<&TaxonomyEntry> {
        self.lookup(written).ok_or_else(|| {
            let codes: Vec<&str> = self.entries.iter().map(|e| e.code.as_str()).collect();
            let source = match self.agreed {
                Some(_) => "the agreed list",
                None => "the default list (no list is agreed)",
            };
            ApiError::bad_input(
                field,
                format!(
                    "\"{}\" is not in {source} of {}: use one of {}",
                    written.trim(),
                    self.list.name(),
                    codes.join(", ")
                ),
            )
        })
    }

    /// How a written value of an open list is stored (already trimmed and checked).
    pub fn map(&self, written: &str) -> Mapped {
        match (self.agreed, self.lookup(written)) {
            (None, _) => Mapped { value: written.to_owned(), listed: None },
            (Some(_), Some(entry)) => Mapped { value: entry.code.clone(), listed: Some(true) },
            (Some(_), None) => Mapped { value: written.to_owned(), listed: Some(false) },
        }
    }

    /// The label of a stored code; the code itself when the list no longer has it.
    pub fn label<'a>(&'a self, code: &'a str) -> &'a str {
        self.entries.iter().find(|e| e.code == code).map_or(code, |e| e.label.as_str())
    }
}

/// The list `list` as it applies in an organization now.
#[tracing::instrument(skip(db))]
pub async fn in_force(db: &impl ConnectionTrait, org_id: Uuid, list: TaxonomyList) -> Result<InForce> {
    let criteria = DocumentCriteria { statuses: vec![AgreementStatus::Agreed], search: None };
    let docs = super::list::<Taxonomy>(db, &Actor::system(org_id), &criteria).await?;
    let agreed = docs.iter().find_map(|d| d.in_force().filter(|v| v.body.list == list).map(|v| (d.model.id, v)));
    Ok(match agreed {
        Some((id, v)) => InForce::new(list, Some((id, v.model.version)), v.body.entries.clone()),
        None => InForce::new(list, None, defaults(list)),
    })
}

/// The list a TAXONOMY document holds, from its stored body (for the effects of
/// agreeing or retiring it).
pub async fn list_of(db: &impl ConnectionTrait, doc_id: Uuid) -> Result<Option<TaxonomyList>> {
    let key = entity::document::Entity::find_by_id(doc_id).one(db).await?.map(|d| d.key);
    Ok(key.and_then(|k| {
        [
            TaxonomyList::FeedbackTags,
            TaxonomyList::HandBackReasons,
            TaxonomyList::LostReasons,
            TaxonomyList::Competitors,
        ]
        .into_iter()
        .find(|l| l.name() == k)
    }))
}

/// Where an open list's values are stored: a table with the value as written, the
/// stored (grouped-by) value and whether the list knew it, all in one organization's
/// rows. The domain owning the table registers it (`inventory::submit!`), and agreeing
/// or retiring the list re-maps it in that transaction.
#[derive(Debug, Clone, Copy)]
pub struct Stored {
    pub list: TaxonomyList,
    pub table: &'static str,
    pub written: &'static str,
    pub value: &'static str,
    pub listed: &'static str,
}

/// Re-map every stored value of an open list after a version of it was agreed or the
/// list was retired, inside that transaction: each distinct written value gets the
/// value and flag [`InForce::map`] gives it now. Returns the rows changed.
pub async fn remap(txn: &impl ConnectionTrait, org_id: Uuid, stored: &Stored) -> Result<u64> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let now = in_force(txn, org_id, stored.list).await?;
    let distinct = Query::select()
        .distinct()
        .column(Alias::new(stored.written))
        .from(Alias::new(stored.table))
        .and_where(Expr::col(Alias::new("org_id")).eq(org_id))
        .and_where(Expr::col(Alias::new(stored.written)).is_not_null())
        .to_owned();
    let mut changed = 0;
    for row in txn.query_all(&distinct).await? {
        let written: String = row.try_get_by_index(0)?;
        let mapped = now.map(&written);
        let update = Query::update()
            .table(Alias::new(stored.table))
            .value(Alias::new(stored.value), mapped.value)
            .value(Alias::new(stored.listed), mapped.listed)
            .and_where(Expr::col(Alias::new("org_id")).eq(org_id))
            .and_where(Expr::col(Alias::new(stored.written)).eq(written))
            .to_owned();
        changed += txn.execute(&update).await?.rows_affected();
    }
    Ok(changed)
}

inventory::collect!(Stored);

/// Re-map every registered table of the list document `doc_id` holds.
async fn remap_all(txn: &DatabaseTransaction, actor: &Actor, doc_id: Uuid) -> Result<()> {
    let Some(list) = list_of(txn, doc_id).await? else { return Ok(()) };
    for stored in inventory::iter::<Stored>.into_iter().filter(|s| s.list == list) {
        let changed = remap(txn, actor.org_id, stored).await?;
        if changed > 0 {
            let changes =
                Changes::new().created("list", &list).created("table", &stored.table).created("rows", &changed);
            audit::record(txn, actor, "taxonomy.remap", "taxonomy", Some(doc_id), changes).await?;
        }
    }
    Ok(())
}

fn remap_after_agreement<'a>(
    txn: &'a DatabaseTransaction,
    actor: &'a Actor,
    doc_id: Uuid,
    _version: i32,
    _confirmed: &'a super::Confirmations,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(remap_all(txn, actor, doc_id))
}

fn remap_after_retirement<'a>(
    txn: &'a DatabaseTransaction,
    actor: &'a Actor,
    doc_id: Uuid,
    _retired_version: i32,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(remap_all(txn, actor, doc_id))
}

inventory::submit! { super::OnAgreed::effect(DocumentKind::Taxonomy, remap_after_agreement) }
inventory::submit! { super::OnRetired::effect(DocumentKind::Taxonomy, remap_after_retirement) }

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(code: &str, synonyms: &[&str]) -> TaxonomyEntry {
        TaxonomyEntry::new(code, code, synonyms)
    }

    #[test]
    fn codes_are_spelled_the_way_of_their_list() {
        let tags = Taxonomy { list: TaxonomyList::FeedbackTags, entries: vec![entry(" Pricing too_HIGH ", &[])] };
        assert_eq!(tags.validate().unwrap().entries[0].code, "pricing-too-high");
        let reasons = Taxonomy { list: TaxonomyList::LostReasons, entries: vec![entry("no-decision", &[])] };
        assert_eq!(reasons.validate().unwrap().entries[0].code, "NO_DECISION");
    }

    #[test]
    fn a_word_means_one_entry() {
        let list = Taxonomy {
            list: TaxonomyList::FeedbackTags,
            entries: vec![entry("pricing", &["too expensive"]), entry("cost", &["Too_Expensive"])],
        };
        let err = list.validate().unwrap_err();
        assert!(matches!(&err, ApiError::BadUserInput { field: Some(f), .. } if f == "entries[1].synonyms"), "{err:?}");
        let twice =
            Taxonomy { list: TaxonomyList::LostReasons, entries: vec![entry("PRICE", &[]), entry("price", &[])] };
        assert!(twice.validate().is_err());
        let competitor_on_tags = Taxonomy {
            list: TaxonomyList::FeedbackTags,
            entries: vec![TaxonomyEntry { needs_competitor: true, ..entry("x", &[]) }],
        };
        assert!(competitor_on_tags.validate().is_err());
    }

    #[test]
    fn open_lists_map_known_words_and_keep_the_rest() {
        let none = InForce::new(TaxonomyList::FeedbackTags, None, vec![]);
        assert_eq!(none.map("pricing-too-high"), Mapped { value: "pricing-too-high".into(), listed: None });
        let agreed = InForce::new(
            TaxonomyList::FeedbackTags,
            Some((Uuid::nil(), 1)),
            vec![entry("pricing", &["pricing-too-high", "too expensive"])],
        );
        assert_eq!(agreed.map("pricing-too-high"), Mapped { value: "pricing".into(), listed: Some(true) });
        assert_eq!(agreed.map("Too Expensive").value, "pricing");
        assert_eq!(agreed.map("onboarding"), Mapped { value: "onboarding".into(), listed: Some(false) });
    }

    #[test]
    fn closed_lists_refuse_unknown_words_naming_the_codes() {
        let reasons = InForce::new(TaxonomyList::LostReasons, None, defaults(TaxonomyList::LostReasons));
        assert_eq!(reasons.require("lostReason", "chose a competitor").unwrap().code, "COMPETITOR");
        assert_eq!(reasons.require("lostReason", "no_decision").unwrap().code, "NO_DECISION");
        let err = reasons.require("lostReason", "bad vibes").unwrap_err();
        assert!(err.to_string().contains("PRICE, COMPETITOR"), "{err}");
    }

    #[test]
    fn the_defaults_are_valid_lists() {
        for list in [TaxonomyList::HandBackReasons, TaxonomyList::LostReasons] {
            let body = Taxonomy { list, entries: defaults(list) };
            assert_eq!(body.clone().validate().unwrap(), body);
        }
    }
}
