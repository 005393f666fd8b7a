//! Matching a job title to the agreed persona whose title keywords it names.
//!
//! Titles and keywords are compared as words: lower-cased runs of letters and digits,
//! everything else (spaces, commas, hyphens, slashes) separating them. A keyword
//! matches when its words appear in the title consecutively, so "CFO" matches
//! "Group CFO" and "cfo, EMEA" but not "CFOx", and "Head of Operations" matches
//! "Head of Operations, DACH" but not "Head of IT Operations". The most specific
//! matching keyword wins: the most words, then the most characters. When keywords of
//! two or more personas tie for most specific, the match is ambiguous: no persona is
//! assigned and the candidates are reported, for a person to choose.

use std::cmp::Reverse;

use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Persona;
use crate::agreements::{self, DocumentCriteria};
use crate::auth::Actor;
use crate::error::Result;
use entity::AgreementStatus;

/// A persona tied for a title, with the keyword that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub persona_id: Uuid,
    pub keyword: String,
}

/// What a title matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TitleMatch {
    /// No keyword of any agreed persona is in the title (or there is no title).
    None,
    /// One persona's keyword is the most specific in the title.
    Persona { persona_id: Uuid, keyword: String },
    /// Keywords of several personas tie for most specific: none is assigned.
    Ambiguous(Vec<Candidate>),
}

/// One keyword as agreed and as words.
#[derive(Debug, Clone)]
struct Keyword {
    text: String,
    words: Vec<String>,
    /// Characters of the words, without separators.
    chars: usize,
}

/// The agreed personas of an organization, ready to match titles against.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    personas: Vec<(Uuid, Vec<Keyword>)>,
}

/// The words of a title or keyword: lower-cased runs of letters and digits.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

impl Matcher {
    /// A matcher over `(persona id, title keywords)`. Keywords without a word are ignored.
    pub fn new(personas: impl IntoIterator<Item = (Uuid, Vec<String>)>) -> Self {
        let personas = personas
            .into_iter()
            .map(|(id, keywords)| {
                let keywords = keywords
                    .into_iter()
                    .filter_map(|text| {
                        let words = words(&text);
                        let chars = words.iter().map(|w| w.chars().count()).sum();
                        (!words.is_empty()).then(|| Keyword { text: text.trim().to_owned(), words, chars })
                    })
                    .collect();
                (id, keywords)
            })
            .collect();
        Self { personas }
    }

    /// The agreed personas of `org_id` (the version in force of each).
    pub async fn of_org(db: &impl ConnectionTrait, org_id: Uuid) -> Result<Self> {
        let criteria = DocumentCriteria { statuses: vec![AgreementStatus::Agreed], search: None };
        let docs = agreements::list::<Persona>(db, &Actor::system(org_id), &criteria).await?;
        Ok(Self::new(docs.iter().filter_map(|d| d.in_force().map(|v| (d.model.id, v.body.title_keywords.clone())))))
    }

    /// True when no agreed persona has a keyword: every title matches nothing.
    pub fn is_empty(&self) -> bool {
        self.personas.iter().all(|(_, k)| k.is_empty())
    }

    /// The persona `title` points at; see the module documentation.
    pub fn match_title(&self, title: Option<&str>) -> TitleMatch {
        let Some(title) = title else { return TitleMatch::None };
        let title = words(title);
        if title.is_empty() {
            return TitleMatch::None;
        }
        // Each persona's most specific keyword found in the title.
        let mut best: Vec<(Uuid, &Keyword)> = self
            .personas
            .iter()
            .filter_map(|(id, keywords)| {
                keywords
                    .iter()
                    .filter(|k| title.windows(k.words.len()).any(|w| w == k.words.as_slice()))
                    .max_by_key(|k| (k.words.len(), k.chars, Reverse(k.text.clone())))
                    .map(|k| (*id, k))
            })
            .collect();
        let Some(top) = best.iter().map(|(_, k)| (k.words.len(), k.chars)).max() else {
            return TitleMatch::None;
        };
        best.retain(|(_, k)| (k.words.len(), k.chars) == top);
        match best.as_slice() {
            [(id, keyword)] => TitleMatch::Persona { persona_id: *id, keyword: keyword.text.clone() },
            _ => {
                let mut candidates: Vec<Candidate> =
                    best.iter().map(|(id, k)| Candidate { persona_id: *id, keyword: k.text.clone() }).collect();
                candidates.sort_by_key(|c| c.persona_id);
                TitleMatch::Ambiguous(candidates)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn matcher() -> Matcher {
        let list = |k: &[&str]| k.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Matcher::new([
            (id(1), list(&["CFO", "VP Finance"])),
            (id(2), list(&["COO", "Head of Operations", "Operations"])),
            (id(3), list(&["CTO", "Head of IT"])),
        ])
    }

    fn persona(title: &str) -> Option<(Uuid, String)> {
        match matcher().match_title(Some(title)) {
            TitleMatch::Persona { persona_id, keyword } => Some((persona_id, keyword)),
            _ => None,
        }
    }

    #[test]
    fn a_keyword_matches_whole_words_whatever_the_case() {
        assert_eq!(persona("Group CFO"), Some((id(1), "CFO".into())));
        assert_eq!(persona("cfo, EMEA"), Some((id(1), "CFO".into())));
        assert_eq!(persona("Deputy-CFO/Treasurer"), Some((id(1), "CFO".into())));
        assert_eq!(persona("CFOx"), None);
        assert_eq!(persona("Acfo"), None);
        assert_eq!(matcher().match_title(None), TitleMatch::None);
        assert_eq!(matcher().match_title(Some("  ,, ")), TitleMatch::None);
    }

    #[test]
    fn a_phrase_matches_its_words_in_order_and_next_to_each_other() {
        assert_eq!(persona("Head of Operations, DACH"), Some((id(2), "Head of Operations".into())));
        assert_eq!(persona("head  of   operations"), Some((id(2), "Head of Operations".into())));
        assert_eq!(persona("VP, Finance"), Some((id(1), "VP Finance".into())));
        assert_eq!(persona("Finance VP"), None);
        // "Operations" alone still matches: the phrase did not, the single word did.
        assert_eq!(persona("Head of IT Operations"), Some((id(3), "Head of IT".into())));
    }

    #[test]
    fn the_most_specific_keyword_wins_by_words_then_characters() {
        let m = Matcher::new([
            (id(1), vec!["Operations".into()]),
            (id(2), vec!["Head of Operations".into()]),
            (id(3), vec!["Ops".into(), "Revenue".into()]),
        ]);
        let hit = |t: &str| m.match_title(Some(t));
        assert_eq!(
            hit("Head of Operations"),
            TitleMatch::Persona { persona_id: id(2), keyword: "Head of Operations".into() }
        );
        // One word each: "Operations" has more characters than "Revenue" and "Ops".
        assert_eq!(hit("Revenue Operations"), TitleMatch::Persona { persona_id: id(1), keyword: "Operations".into() });
    }

    #[test]
    fn a_tie_between_personas_is_ambiguous_and_names_every_candidate() {
        // "Director" would beat "CFO" (more characters); "Dir" is no word of it.
        let m = Matcher::new([
            (id(2), vec!["VP Sales".into(), "CFO".into()]),
            (id(1), vec!["VP Finance".into(), "CFO".into()]),
            (id(3), vec!["Director".into()]),
        ]);
        assert_eq!(
            m.match_title(Some("CFO and Dir")),
            TitleMatch::Ambiguous(vec![
                Candidate { persona_id: id(1), keyword: "CFO".into() },
                Candidate { persona_id: id(2), keyword: "CFO".into() },
            ])
        );
        // Two words each, but "VP Finance" has more characters than "VP Sales": no tie.
        assert_eq!(
            m.match_title(Some("VP Sales & VP Finance")),
            TitleMatch::Persona { persona_id: id(1), keyword: "VP Finance".into() }
        );
        // Two keywords of one persona tying is no ambiguity.
        let m = Matcher::new([(id(1), vec!["CFO".into(), "CEO".into()])]);
        assert_eq!(m.match_title(Some("CEO & CFO")), TitleMatch::Persona { persona_id: id(1), keyword: "CEO".into() });
    }

    #[test]
    fn keywords_without_words_are_ignored() {
        let m = Matcher::new([(id(1), vec![" - ".into()])]);
        assert!(m.is_empty());
        assert_eq!(m.match_title(Some("Anything - at all")), TitleMatch::None);
    }
}
