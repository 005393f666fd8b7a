//! The explainable score: a pure function of a scoring model and a lead's stored
//! inputs (the lead, its account, its persona, its engagement events) at a moment.
//!
//! Every point names the rule that gave it and says why in a sentence. Points are
//! kept in integer hundredths: each contribution is rounded once, and the fit,
//! engagement and total scores are sums of those rounded contributions, so the
//! breakdown always adds up to the score exactly.
//!
//! Engagement events are folded per rule in the order they occurred ([`Engagement`]):
//! stored with the score, the fold takes a new event without the lead's history.

use chrono::{DateTime, Utc};
use entity::{EngagementKind, Temperature};
use serde::{Deserialize, Serialize};

use super::{EngagementRule, FitAttribute, FitRule, RuleOperator, ScoringModel};
use crate::agreements::icps::{self, AccountFacts, AgreedIcp};

/// Which half of the score a contribution belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Fit,
    Engagement,
}

/// One rule's share of a score.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    /// Name of the rule.
    pub rule: String,
    pub category: Category,
    /// Points in hundredths (exact).
    pub cents: i64,
    /// Why, in a sentence: "account.industry is Fintech".
    pub explanation: String,
}

impl Contribution {
    pub fn points(&self) -> f64 {
        cents_to_points(self.cents)
    }
}

/// A lead's score under one model at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub fit: f64,
    pub engagement: f64,
    pub total: f64,
    pub temperature: Temperature,
    pub contributions: Vec<Contribution>,
}

/// What a lead looks like to the fit rules.
#[derive(Debug, Clone, Default)]
pub struct LeadFacts<'a> {
    pub title: Option<&'a str>,
    pub source: Option<&'a str>,
    pub campaign: Option<&'a str>,
    pub industry: Option<&'a str>,
    pub employee_count: Option<i32>,
    pub region: Option<&'a str>,
    /// Annual revenue in minor units (cents).
    pub annual_revenue_minor: Option<i64>,
    /// Name of the lead's persona.
    pub persona: Option<&'a str>,
    /// Currency of the account's annual revenue.
    pub currency: Option<&'a str>,
    /// Whether the lead has an account (ICP rules need one).
    pub has_account: bool,
    /// The ideal customer profiles in force (read only for models with an ICP rule).
    pub icps: &'a [AgreedIcp],
}

impl<'a> LeadFacts<'a> {
    /// The lead columns [`LeadFacts::of`] reads, with those its account and persona
    /// are found by.
    pub const LEAD_COLUMNS: [entity::lead::Column; 5] = {
        use entity::lead::Column::*;
        [Title, Source, Campaign, AccountId, PersonaId]
    };

    /// The facts of a stored lead, its account and the name of its persona.
    pub fn of(
        lead: &'a entity::lead::Model,
        account: Option<&'a entity::account::Model>,
        persona: Option<&'a str>,
        icps: &'a [AgreedIcp],
    ) -> Self {
        Self {
            title: lead.title.as_deref(),
            source: lead.source.as_deref(),
            campaign: lead.campaign.as_deref(),
            industry: account.and_then(|a| a.industry.as_deref()),
            employee_count: account.and_then(|a| a.employee_count),
            region: account.and_then(|a| a.region.as_deref()),
            annual_revenue_minor: account.and_then(|a| a.annual_revenue_minor),
            persona,
            currency: account.and_then(|a| a.currency.as_deref()),
            has_account: account.is_some(),
            icps,
        }
    }

    fn account(&self) -> AccountFacts<'a> {
        AccountFacts {
            industry: self.industry,
            employee_count: self.employee_count,
            annual_revenue_minor: self.annual_revenue_minor,
            currency: self.currency,
            region: self.region,
        }
    }
}

/// One engagement event as scoring sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    pub kind: EngagementKind,
    pub occurred_at: DateTime<Utc>,
}

/// A value a fit rule tests.
#[derive(Debug, Clone, PartialEq)]
enum Fact<'a> {
    Text(&'a str),
    Number(f64),
}

impl Fact<'_> {
    fn display(&self) -> String {
        match self {
            Fact::Text(t) => (*t).to_owned(),
            Fact::Number(n) => format_points(*n),
        }
    }
}

fn fact<'a>(facts: &LeadFacts<'a>, attribute: FitAttribute) -> Option<Fact<'a>> {
    let text = |v: Option<&'a str>| v.map(str::trim).filter(|v| !v.is_empty()).map(Fact::Text);
    match attribute {
        FitAttribute::LeadTitle => text(facts.title),
        FitAttribute::LeadSource => text(facts.source),
        FitAttribute::LeadCampaign => text(facts.campaign),
        FitAttribute::AccountIndustry => text(facts.industry),
        FitAttribute::AccountRegion => text(facts.region),
        FitAttribute::Persona => text(facts.persona),
        FitAttribute::AccountEmployeeCount => facts.employee_count.map(|n| Fact::Number(f64::from(n))),
        FitAttribute::AccountAnnualRevenue => facts.annual_revenue_minor.map(|n| Fact::Number(n as f64 / 100.0)),
        FitAttribute::Icp => None,
    }
}

/// Whether the lead's account fits a profile in force (the one the rule names, or
/// any), and the sentence naming the profile (the first by name that fits) when
/// `explain`, else an empty one.
fn icp_match(rule: &FitRule, facts: &LeadFacts<'_>, explain: bool) -> Option<String> {
    if !facts.has_account {
        return None;
    }
    let named = match rule.operator {
        RuleOperator::Equals => Some(rule.value.as_deref()?.trim().to_lowercase()),
        _ => None,
    };
    let account = facts.account();
    facts.icps.iter().filter(|i| named.as_ref().is_none_or(|id| i.id.to_string() == *id)).find_map(|icp| {
        let fit = icps::fit(&icp.profile, &account);
        fit.fits.then(|| {
            if !explain {
                return String::new();
            }
            let reasons: Vec<&str> = fit.matched.iter().map(|c| c.reason.as_str()).collect();
            let why = if reasons.is_empty() { "it sets no criteria".to_owned() } else { reasons.join("; ") };
            format!("account fits ICP \"{}\" v{} ({}): {why}", icp.profile.name, icp.version, icp.id)
        })
    })
}

fn equals(fact: &Fact<'_>, value: &str) -> bool {
    match fact {
        Fact::Text(t) => t.to_lowercase() == value.trim().to_lowercase(),
        Fact::Number(n) => value.trim().parse::<f64>().is_ok_and(|v| v == *n),
    }
}

/// Whether a fit rule holds, and the sentence saying so when `explain` (else an empty
/// one: rescoring and simulation store and count figures, never the sentences).
fn fit_match(rule: &FitRule, facts: &LeadFacts<'_>, explain: bool) -> Option<String> {
    if rule.attribute == FitAttribute::Icp {
        return icp_match(rule, facts, explain);
    }
    let fact = fact(facts, rule.attribute)?;
    let holds = match rule.operator {
        RuleOperator::IsSet => true,
        RuleOperator::Equals => equals(&fact, rule.value.as_deref()?),
        RuleOperator::OneOf => rule.values.iter().any(|v| equals(&fact, v)),
        RuleOperator::Contains => {
            let Fact::Text(text) = fact else { return None };
            text.to_lowercase().contains(&rule.value.as_deref()?.trim().to_lowercase())
        }
        RuleOperator::Range => {
            let Fact::Number(n) = fact else { return None };
            rule.min.is_none_or(|min| n >= min) && rule.max.is_none_or(|max| n <= max)
        }
    };
    match (holds, explain) {
        (false, _) => None,
        (true, false) => Some(String::new()),
        (true, true) => Some(fit_sentence(rule, &fact)),
    }
}

/// The sentence saying why a fit rule that holds holds.
fn fit_sentence(rule: &FitRule, fact: &Fact<'_>) -> String {
    let name = rule.attribute.path();
    let shown = fact.display();
    match rule.operator {
        RuleOperator::IsSet => format!("{name} is set ({shown})"),
        RuleOperator::Equals => format!("{name} is {shown}"),
        RuleOperator::OneOf => format!("{name} is {shown}, one of {}", rule.values.join(", ")),
        RuleOperator::Contains => {
            let needle = rule.value.as_deref().unwrap_or_default().trim().to_lowercase();
            format!("{name} \"{shown}\" contains \"{needle}\"")
        }
        RuleOperator::Range => {
            let bounds = match (rule.min, rule.max) {
                (Some(min), Some(max)) => format!("within {}–{}", format_points(min), format_points(max)),
                (Some(min), None) => format!("at least {}", format_points(min)),
                (None, Some(max)) => format!("at most {}", format_points(max)),
                (None, None) => "any".to_owned(),
            };
            format!("{name} is {shown}, {bounds}")
        }
    }
}

/// How an engagement kind reads in a sentence: (one, many).
fn kind_words(kind: EngagementKind) -> (&'static str, &'static str) {
    match kind {
        EngagementKind::WebVisit => ("web visit", "web visits"),
        EngagementKind::PricingPageVisit => ("pricing page visit", "pricing page visits"),
        EngagementKind::EmailOpen => ("e-mail open", "e-mail opens"),
        EngagementKind::EmailClick => ("e-mail click", "e-mail clicks"),
        EngagementKind::FormSubmit => ("form submission", "form submissions"),
        EngagementKind::ContentDownload => ("content download", "content downloads"),
        EngagementKind::WebinarAttended => ("webinar attended", "webinars attended"),
        EngagementKind::EventAttended => ("event attended", "events attended"),
        EngagementKind::DemoRequest => ("demo request", "demo requests"),
        EngagementKind::TrialSignup => ("trial signup", "trial signups"),
    }
}

/// One engagement rule's events, folded in the order they occurred: all that scoring
/// needs of them, so that a new event updates it instead of reading every event again.
/// Each event is worth 1 when it occurs and halves every half-life; `weight` is the
/// events' worth at the newest of them. Folding the same events always gives the
/// same state, bit for bit, whether all at once or one write at a time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RuleState {
    /// Events of the rule's kind.
    pub count: i64,
    /// Their worth at `last`: Σ 0.5^((last − occurred) / half-life).
    pub weight: f64,
    /// The oldest and the newest event, in microseconds since the epoch (what both
    /// databases store of a timestamp).
    pub first: i64,
    pub last: i64,
}

/// Microseconds per day.
const DAY_MICROS: f64 = 86_400_000_000.0;

/// How much an event's worth keeps after `micros`: 0.5^(days / half-life). Never more
/// than 1: an event up to the few minutes ahead that recording allows counts as now.
fn decay(micros: i64, half_life_days: f64) -> f64 {
    0.5_f64.powf((micros.max(0) as f64 / DAY_MICROS) / half_life_days)
}

impl RuleState {
    /// The state after one more event at `at` (microseconds), which must not be older
    /// than the newest folded so far.
    fn then(state: Option<Self>, at: i64, half_life_days: f64) -> Self {
        match state {
            None => Self { count: 1, weight: 1.0, first: at, last: at },
            Some(s) => Self {
                count: s.count + 1,
                weight: s.weight * decay(at - s.last, half_life_days) + 1.0,
                first: s.first,
                last: at,
            },
        }
    }
}

/// A lead's engagement under one model: each engagement rule's folded events, in the
/// order of the model's rules (`None` for a rule without events).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Engagement(pub Vec<Option<RuleState>>);

impl Engagement {
    /// Fold `events` (in any order) for every engagement rule of `model`.
    pub fn fold(model: &ScoringModel, events: &[Event]) -> Self {
        let mut out = Self(vec![None; model.engagement_rules.len()]);
        // From nothing and oldest first: no event is older than one folded before it.
        out.fold_in(model, &in_order(events));
        out
    }

    /// This state, folded for `from`'s engagement rules, as `to`'s rules fold the same
    /// events: a rule's state depends on its kind and half-life alone (its points and
    /// cap apply when scoring). `None` when a rule of `to` has no rule of `from` with
    /// both, or this state is not `from`'s.
    pub fn for_rules(&self, from: &ScoringModel, to: &ScoringModel) -> Option<Self> {
        if self.0.len() != from.engagement_rules.len() {
            return None;
        }
        let same = |a: &EngagementRule, b: &EngagementRule| {
            a.kind == b.kind && a.half_life_days.to_bits() == b.half_life_days.to_bits()
        };
        to.engagement_rules
            .iter()
            .map(|rule| from.engagement_rules.iter().position(|r| same(r, rule)).map(|at| self.0[at]))
            .collect::<Option<Vec<_>>>()
            .map(Self)
    }

    /// This state with `events` folded in: `None` when one of them is older than the
    /// newest event already folded for its rule, which only a fold of every event
    /// places right. (Events occurring at the same moment may come in any order: each
    /// adds 1 to a weight decayed by exactly 1.)
    pub fn absorb(mut self, model: &ScoringModel, events: &[Event]) -> Option<Self> {
        if self.0.len() != model.engagement_rules.len() {
            return None;
        }
        let times = in_order(events);
        let older = model.engagement_rules.iter().zip(&self.0).any(|(rule, state)| {
            state.is_some_and(|s| times.iter().any(|(kind, at)| *kind == rule.kind && *at < s.last))
        });
        if older {
            return None;
        }
        self.fold_in(model, &times);
        Some(self)
    }

    /// Fold `times` (oldest first, none older than what each rule holds) into each rule.
    fn fold_in(&mut self, model: &ScoringModel, times: &[(EngagementKind, i64)]) {
        for (rule, state) in model.engagement_rules.iter().zip(self.0.iter_mut()) {
            for (_, at) in times.iter().filter(|(kind, _)| *kind == rule.kind) {
                *state = Some(RuleState::then(*state, *at, rule.half_life_days));
            }
        }
    }
}

/// Events as (kind, microseconds since the epoch), oldest first.
fn in_order(events: &[Event]) -> Vec<(EngagementKind, i64)> {
    let mut times: Vec<(EngagementKind, i64)> =
        events.iter().map(|e| (e.kind, e.occurred_at.timestamp_micros())).collect();
    times.sort_unstable_by_key(|(_, at)| *at);
    times
}

/// An engagement rule's decayed, capped points at `now`, and the sentence when
/// `explain` (else an empty one).
fn engagement(rule: &EngagementRule, state: &RuleState, now: DateTime<Utc>, explain: bool) -> (f64, String) {
    let now = now.timestamp_micros();
    let decayed = rule.points_per_event * state.weight * decay(now - state.last, rule.half_life_days);
    let points = decayed.min(rule.cap);
    if !explain {
        return (points, String::new());
    }
    let raw = rule.points_per_event * state.count as f64;
    let oldest = (now - state.first).max(0) as f64 / DAY_MICROS;
    let days = (oldest.round() as i64).max(1);
    let (one, many) = kind_words(rule.kind);
    let what = if state.count == 1 { one } else { many };
    let day_word = if days == 1 { "day" } else { "days" };
    let mut sentence = format!(
        "{} {what} in {days} {day_word}, {} points decayed to {}",
        state.count,
        format_points(raw),
        format_points(round_cents(decayed) as f64 / 100.0)
    );
    if decayed > rule.cap {
        sentence.push_str(&format!(", capped at {}", format_points(rule.cap)));
    }
    (points, sentence)
}

/// Points to integer hundredths, rounding half away from zero.
pub fn round_cents(points: f64) -> i64 {
    (points * 100.0).round() as i64
}

pub fn cents_to_points(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// `6` → "6", `4.2` → "4.2", `4.175` → "4.18".
pub fn format_points(points: f64) -> String {
    let text = format!("{points:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_owned() } else { text.to_owned() }
}

/// The temperature a total reaches under the model's thresholds.
pub fn temperature(model: &ScoringModel, total: f64) -> Temperature {
    if total >= model.thresholds.hot {
        Temperature::Hot
    } else if total >= model.thresholds.warm {
        Temperature::Warm
    } else {
        Temperature::Cold
    }
}

/// Score a lead: fit rules that hold, plus each engagement rule's decayed and capped
/// points. `now` is the moment the decay is measured at.
pub fn score(model: &ScoringModel, facts: &LeadFacts<'_>, events: &[Event], now: DateTime<Utc>) -> Score {
    score_folded(model, facts, &Engagement::fold(model, events), now)
}

/// [`score`] from the lead's engagement already folded for `model`: the same score,
/// without the events.
pub fn score_folded(model: &ScoringModel, facts: &LeadFacts<'_>, engaged: &Engagement, now: DateTime<Utc>) -> Score {
    let mut contributions = Vec::new();
    let Totals { fit, engagement, total, temperature } = tally(model, facts, engaged, now, Some(&mut contributions));
    Score { fit, engagement, total, temperature, contributions }
}

/// A lead's figures under one model at one moment, without the contributions: what
/// rescoring stores and a simulation counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    pub fit: f64,
    pub engagement: f64,
    pub total: f64,
    pub temperature: Temperature,
}

/// The figures of [`score_folded`], computed the same way without writing the sentences
/// (which were a fifth of the CPU of simulating every lead).
pub fn totals_folded(model: &ScoringModel, facts: &LeadFacts<'_>, engaged: &Engagement, now: DateTime<Utc>) -> Totals {
    tally(model, facts, engaged, now, None)
}

/// Sum the rules' points in hundredths; each rule that gives any is pushed to
/// `explained`, with its sentence, when given.
fn tally(
    model: &ScoringModel,
    facts: &LeadFacts<'_>,
    engaged: &Engagement,
    now: DateTime<Utc>,
    mut explained: Option<&mut Vec<Contribution>>,
) -> Totals {
    let explain = explained.is_some();
    let (mut fit, mut engagement_cents) = (0_i64, 0_i64);
    for rule in &model.fit_rules {
        if let Some(explanation) = fit_match(rule, facts, explain) {
            let cents = round_cents(rule.points);
            fit += cents;
            if let Some(out) = explained.as_deref_mut() {
                out.push(Contribution { rule: rule.name.clone(), category: Category::Fit, cents, explanation });
            }
        }
    }
    for (rule, state) in model.engagement_rules.iter().zip(&engaged.0) {
        if let Some(state) = state {
            let (points, explanation) = engagement(rule, state, now, explain);
            let cents = round_cents(points);
            engagement_cents += cents;
            if let Some(out) = explained.as_deref_mut() {
                out.push(Contribution { rule: rule.name.clone(), category: Category::Engagement, cents, explanation });
            }
        }
    }
    let total = cents_to_points(fit + engagement_cents);
    Totals {
        fit: cents_to_points(fit),
        engagement: cents_to_points(engagement_cents),
        total,
        temperature: temperature(model, total),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;
    use crate::scoring::Thresholds;
    use entity::EngagementKind as Kind;

    fn rule(name: &str, attribute: FitAttribute, operator: RuleOperator, value: Option<&str>, points: f64) -> FitRule {
        FitRule {
            name: name.into(),
            attribute,
            operator,
            value: value.map(Into::into),
            values: Vec::new(),
            min: None,
            max: None,
            points,
        }
    }

    fn model(fit_rules: Vec<FitRule>, engagement_rules: Vec<EngagementRule>) -> ScoringModel {
        ScoringModel {
            name: "Default".into(),
            description: None,
            fit_rules,
            engagement_rules,
            thresholds: Thresholds { warm: 20.0, hot: 50.0, mql: 60.0 },
        }
    }

    fn visits(rule_points: f64, cap: f64) -> EngagementRule {
        EngagementRule {
            name: "Web visits".into(),
            kind: Kind::WebVisit,
            points_per_event: rule_points,
            cap,
            half_life_days: 30.0,
        }
    }

    #[test]
    fn a_matching_fit_rule_names_the_attribute_and_value() {
        let m = model(
            vec![rule("Fintech", FitAttribute::AccountIndustry, RuleOperator::Equals, Some("fintech"), 15.0)],
            vec![],
        );
        let facts = LeadFacts { industry: Some("Fintech"), ..Default::default() };
        let s = score(&m, &facts, &[], Utc::now());
        assert_eq!(s.total, 15.0);
        assert_eq!(s.contributions[0].explanation, "account.industry is Fintech");
        assert_eq!(s.temperature, Temperature::Cold);
    }

    #[test]
    fn engagement_decays_by_half_life_and_says_so() {
        let now = Utc::now();
        let m = model(vec![], vec![visits(2.0, 100.0)]);
        let events: Vec<Event> = [0, 30, 30]
            .iter()
            .map(|d| Event { kind: EngagementKind::WebVisit, occurred_at: now - Duration::days(*d) })
            .collect();
        let s = score(&m, &LeadFacts::default(), &events, now);
        // 2 + 1 + 1
        assert_eq!(s.engagement, 4.0);
        assert_eq!(s.contributions[0].explanation, "3 web visits in 30 days, 6 points decayed to 4");
    }

    #[test]
    fn engagement_is_capped() {
        let now = Utc::now();
        let m = model(vec![], vec![visits(5.0, 8.0)]);
        let events = vec![Event { kind: EngagementKind::WebVisit, occurred_at: now }; 3];
        let s = score(&m, &LeadFacts::default(), &events, now);
        assert_eq!(s.engagement, 8.0);
        assert!(s.contributions[0].explanation.ends_with("capped at 8"), "{}", s.contributions[0].explanation);
    }

    #[test]
    fn ranges_one_of_contains_and_is_set() {
        let mut size = rule("Mid-market", FitAttribute::AccountEmployeeCount, RuleOperator::Range, None, 10.0);
        size.min = Some(100.0);
        size.max = Some(1000.0);
        let mut sources = rule("Good source", FitAttribute::LeadSource, RuleOperator::OneOf, None, 5.0);
        sources.values = vec!["webinar".into(), "referral".into()];
        let vp = rule("VP", FitAttribute::LeadTitle, RuleOperator::Contains, Some("vp"), 7.5);
        let persona = rule("Has persona", FitAttribute::Persona, RuleOperator::IsSet, None, 2.25);
        let m = model(vec![size, sources, vp, persona], vec![]);
        let facts = LeadFacts {
            employee_count: Some(250),
            source: Some("Referral"),
            title: Some("VP Sales"),
            persona: Some("Ops Olivia"),
            ..Default::default()
        };
        let s = score(&m, &facts, &[], Utc::now());
        assert_eq!(s.total, 24.75);
        assert_eq!(s.temperature, Temperature::Warm);
        let why: Vec<&str> = s.contributions.iter().map(|c| c.explanation.as_str()).collect();
        assert_eq!(
            why,
            [
                "account.employeeCount is 250, within 100–1000",
                "lead.source is Referral, one of webinar, referral",
                "lead.title \"VP Sales\" contains \"vp\"",
                "persona is set (Ops Olivia)",
            ]
        );
        let small = LeadFacts { employee_count: Some(20), ..Default::default() };
        assert!(score(&m, &small, &[], Utc::now()).contributions.is_empty());
    }

    #[test]
    fn an_icp_rule_gives_points_when_the_account_fits_and_names_the_profile() {
        use crate::agreements::icps::IdealCustomerProfile;
        let icp = AgreedIcp {
            id: uuid::Uuid::now_v7(),
            version: 2,
            profile: IdealCustomerProfile {
                name: "EMEA software".into(),
                industries: vec!["Software".into()],
                employee_range: None,
                revenue_range: None,
                regions: vec!["EMEA".into()],
                extra_criteria: None,
            },
        };
        let icps = [icp.clone()];
        let any = rule("Fits the ICP", FitAttribute::Icp, RuleOperator::IsSet, None, 25.0);
        let other =
            rule("Another ICP", FitAttribute::Icp, RuleOperator::Equals, Some(&uuid::Uuid::nil().to_string()), 5.0);
        let m = model(vec![any, other], vec![]);
        let fits = LeadFacts {
            industry: Some("software"),
            region: Some("EMEA"),
            has_account: true,
            icps: &icps,
            ..Default::default()
        };
        let s = score(&m, &fits, &[], Utc::now());
        assert_eq!(s.fit, 25.0);
        assert_eq!(
            s.contributions[0].explanation,
            format!(
                "account fits ICP \"EMEA software\" v2 ({}): industry software is one of Software; region EMEA is one of EMEA",
                icp.id
            )
        );
        let elsewhere = LeadFacts { region: Some("NA"), ..fits.clone() };
        assert!(score(&m, &elsewhere, &[], Utc::now()).contributions.is_empty());
        let no_account = LeadFacts { has_account: false, ..fits };
        assert!(score(&m, &no_account, &[], Utc::now()).contributions.is_empty());
    }

    #[test]
    fn thresholds_set_the_temperature() {
        let m = model(vec![], vec![]);
        assert_eq!(temperature(&m, 19.99), Temperature::Cold);
        assert_eq!(temperature(&m, 20.0), Temperature::Warm);
        assert_eq!(temperature(&m, 50.0), Temperature::Hot);
    }

    #[test]
    fn points_format_without_trailing_zeros() {
        assert_eq!(format_points(6.0), "6");
        assert_eq!(format_points(4.2), "4.2");
        assert_eq!(format_points(4.176), "4.18");
        assert_eq!(format_points(-0.001), "0");
    }

    const ATTRIBUTES: [FitAttribute; 8] = [
        FitAttribute::LeadTitle,
        FitAttribute::LeadSource,
        FitAttribute::LeadCampaign,
        FitAttribute::AccountIndustry,
        FitAttribute::AccountEmployeeCount,
        FitAttribute::AccountRegion,
        FitAttribute::AccountAnnualRevenue,
        FitAttribute::Persona,
    ];
    const OPERATORS: [RuleOperator; 5] =
        [RuleOperator::Equals, RuleOperator::OneOf, RuleOperator::Range, RuleOperator::Contains, RuleOperator::IsSet];
    const KINDS: [Kind; 4] = [Kind::WebVisit, Kind::EmailOpen, Kind::FormSubmit, Kind::DemoRequest];
    const WORDS: [&str; 5] = ["fintech", "vp", "emea", "webinar", "100"];

    fn word() -> impl Strategy<Value = String> {
        prop::sample::select(WORDS.to_vec()).prop_map(str::to_owned)
    }

    prop_compose! {
        fn fit_rule()(
            i in 0..1000u32, attribute in prop::sample::select(ATTRIBUTES.to_vec()),
            operator in prop::sample::select(OPERATORS.to_vec()), value in prop::option::of(word()),
            values in prop::collection::vec(word(), 0..3), min in prop::option::of(0.0..500.0f64),
            span in 0.0..5000.0f64, points in -50.0..50.0f64,
        ) -> FitRule {
            FitRule { name: format!("fit {i}"), attribute, operator, value, values, min, max: min.map(|m| m + span), points }
        }
    }

    prop_compose! {
        fn engagement_rule()(
            i in 0..1000u32, kind in prop::sample::select(KINDS.to_vec()), points_per_event in 0.01..20.0f64,
            cap in 0.01..100.0f64, half_life_days in 0.5..365.0f64,
        ) -> EngagementRule {
            EngagementRule { name: format!("engagement {i}"), kind, points_per_event, cap, half_life_days }
        }
    }

    proptest! {
        /// Contributions add up to the score exactly; every point comes from a rule of
        /// the model and says why.
        #[test]
        fn every_point_is_explained_and_the_breakdown_sums_to_the_score(
            fit_rules in prop::collection::vec(fit_rule(), 0..8),
            engagement_rules in prop::collection::vec(engagement_rule(), 0..5),
            title in prop::option::of(word()), source in prop::option::of(word()),
            industry in prop::option::of(word()), region in prop::option::of(word()),
            persona in prop::option::of(word()),
            employee_count in prop::option::of(0..100_000i32), revenue in prop::option::of(0..10_000_000_000i64),
            ages in prop::collection::vec((prop::sample::select(KINDS.to_vec()), 0..1_000_000i64), 0..40),
        ) {
            let now = Utc::now();
            let events: Vec<Event> = ages.iter()
                .map(|(k, minutes)| Event { kind: *k, occurred_at: now - Duration::minutes(*minutes) })
                .collect();
            let facts = LeadFacts {
                title: title.as_deref(), source: source.as_deref(), campaign: None, industry: industry.as_deref(),
                employee_count, region: region.as_deref(), annual_revenue_minor: revenue, persona: persona.as_deref(),
                ..Default::default()
            };
            let m = model(fit_rules, engagement_rules);
            let s = score(&m, &facts, &events, now);
            let cents: i64 = s.contributions.iter().map(|c| c.cents).sum();
            prop_assert_eq!(round_cents(s.total), cents);
            prop_assert_eq!(s.total, cents_to_points(cents));
            prop_assert_eq!(round_cents(s.fit) + round_cents(s.engagement), cents);
            let summed: f64 = s.contributions.iter().map(Contribution::points).sum();
            prop_assert_eq!(round_cents(summed), round_cents(s.total));
            for c in &s.contributions {
                if c.cents != 0 {
                    prop_assert!(!c.explanation.trim().is_empty());
                }
                let from_rule = match c.category {
                    Category::Fit => m.fit_rules.iter().any(|r| r.name == c.rule),
                    Category::Engagement => m.engagement_rules.iter().any(|r| r.name == c.rule),
                };
                prop_assert!(from_rule, "{} names no rule", c.rule);
            }
            prop_assert_eq!(s.temperature, temperature(&m, s.total));
            let totals = totals_folded(&m, &facts, &Engagement::fold(&m, &events), now);
            prop_assert_eq!(totals, Totals { fit: s.fit, engagement: s.engagement, total: s.total, temperature: s.temperature });
        }
    }

    proptest! {
        /// Events folded in as they are recorded, batch after batch, give the state and
        /// the score that folding every event at once gives, bit for bit; a batch
        /// with an event older than one folded already is refused (and then folded
        /// from every event).
        #[test]
        fn engagement_folded_batch_by_batch_is_engagement_folded_at_once(
            engagement_rules in prop::collection::vec(engagement_rule(), 0..5),
            batches in prop::collection::vec(
                prop::collection::vec((prop::sample::select(KINDS.to_vec()), 0..5_000_000_000i64), 1..6), 1..12),
            later in 0..100_000_000_000i64,
        ) {
            let m = model(vec![], engagement_rules);
            let start = DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap();
            let mut all: Vec<Event> = Vec::new();
            let mut state = Engagement::fold(&m, &[]);
            for batch in &batches {
                let events: Vec<Event> = batch.iter()
                    .map(|(kind, micros)| Event { kind: *kind, occurred_at: start + Duration::microseconds(*micros) })
                    .collect();
                all.extend(&events);
                state = match state.clone().absorb(&m, &events) {
                    Some(next) => next,
                    None => {
                        let newest = |kind| state.0.iter().zip(&m.engagement_rules)
                            .filter(|(_, r)| r.kind == kind).filter_map(|(s, _)| s.map(|s| s.last)).max();
                        prop_assert!(events.iter().any(|e| newest(e.kind).is_some_and(|last| e.occurred_at.timestamp_micros() < last)),
                            "refused a batch that was in order");
                        Engagement::fold(&m, &all)
                    }
                };
                prop_assert_eq!(&state, &Engagement::fold(&m, &all));
            }
            let now = start + Duration::microseconds(later);
            let facts = LeadFacts::default();
            prop_assert_eq!(score_folded(&m, &facts, &state, now), score(&m, &facts, &all, now));
        }

        /// A state folded for one model's rules, carried over to another's with the
        /// same kinds and half-lives (in any order, other points and caps), is the state
        /// that folding the events for the other gives; without a rule of the same kind
        /// and half-life it is not carried over.
        #[test]
        fn engagement_carried_to_rules_of_the_same_kinds_and_half_lives_is_folded_afresh(
            rules in prop::collection::vec(engagement_rule(), 1..5),
            order in prop::collection::vec(0..100usize, 1..5),
            points in 0.01..20.0f64,
            micros in prop::collection::vec((prop::sample::select(KINDS.to_vec()), 0..5_000_000_000i64), 0..30),
        ) {
            let start = DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap();
            let events: Vec<Event> = micros.iter()
                .map(|(kind, m)| Event { kind: *kind, occurred_at: start + Duration::microseconds(*m) })
                .collect();
            let from = model(vec![], rules.clone());
            let picked: Vec<EngagementRule> = order.iter()
                .map(|i| EngagementRule { points_per_event: points, cap: points * 3.0, ..rules[i % rules.len()].clone() })
                .collect();
            let to = model(vec![], picked.clone());
            let carried = Engagement::fold(&from, &events).for_rules(&from, &to);
            prop_assert_eq!(carried, Some(Engagement::fold(&to, &events)));
            let mut other = picked;
            other[0].half_life_days += 0.5;
            let other = model(vec![], other);
            let unmatched = !from.engagement_rules.iter()
                .any(|r| r.kind == other.engagement_rules[0].kind && r.half_life_days == other.engagement_rules[0].half_life_days);
            prop_assert_eq!(Engagement::fold(&from, &events).for_rules(&from, &other).is_none(), unmatched);
        }

        /// Folding changes no figure: the points are the events' decayed worth summed
        /// one by one, to within a millionth of a point.
        #[test]
        fn folded_points_are_the_sum_of_each_events_decayed_points(
            rule in engagement_rule(),
            micros in prop::collection::vec(0..5_000_000_000i64, 1..30),
            later in 0..100_000_000_000i64,
        ) {
            let start = DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap();
            let events: Vec<Event> = micros.iter()
                .map(|m| Event { kind: rule.kind, occurred_at: start + Duration::microseconds(*m) })
                .collect();
            let now = start + Duration::microseconds(5_000_000_000 + later);
            let m = model(vec![], vec![rule.clone()]);
            let folded = Engagement::fold(&m, &events);
            let state = folded.0[0].unwrap();
            let by_event: f64 = events.iter()
                .map(|e| 0.5_f64.powf((now - e.occurred_at).num_microseconds().unwrap() as f64 / 86_400_000_000.0 / rule.half_life_days))
                .sum();
            let weight = state.weight * decay(now.timestamp_micros() - state.last, rule.half_life_days);
            prop_assert!((weight - by_event).abs() <= 1e-9 * by_event.max(1.0), "{} vs {}", weight, by_event);
            prop_assert_eq!(state.count, events.len() as i64);
        }
    }
}
