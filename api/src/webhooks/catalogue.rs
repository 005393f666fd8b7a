//! The event types a webhook endpoint may ask for: every kind the outbox carries, by
//! the record it is about. An endpoint names exact types (`lead.stageChanged`), every
//! type of a record (`lead.*`) or everything (`*`).

/// Every event type, grouped by record, as `(record, verbs)`.
pub const EVENT_TYPES: &[(&str, &[&str])] = &[
    ("lead", &["stageChanged", "qualified", "temperatureChanged", "ownerChanged", "archived"]),
    ("handover", &["created", "accepted", "handedBack", "cancelled", "overdue"]),
    ("account", &["archived"]),
    ("opportunity", &["archived"]),
    ("campaign", &["created", "updated", "archived"]),
    ("contentAsset", &["created", "updated", "archived"]),
    ("contentUsage", &["recorded"]),
    ("feedback", &["submitted", "endorsed", "statusChanged"]),
    ("reviewMeeting", &["started", "updated"]),
    ("actionItem", &["created", "updated"]),
    ("goal", &["created", "updated"]),
    ("journeyStage", &["renamed", "reordered"]),
    ("rescoreJob", &["queued", "finished"]),
    (
        "sla",
        &["created", "revised", "proposed", "approved", "approvalWithdrawn", "agreed", "retired", "periodBreached"],
    ),
    ("definition", AGREEMENT_VERBS),
    ("idealCustomerProfile", AGREEMENT_VERBS),
    ("persona", AGREEMENT_VERBS),
    ("scoringModel", AGREEMENT_VERBS),
    ("message", AGREEMENT_VERBS),
    ("taxonomy", AGREEMENT_VERBS),
    ("webhook", &["test"]),
];

/// What happens to every agreed document (`agreements`).
const AGREEMENT_VERBS: &[&str] =
    &["created", "revised", "proposed", "approved", "approvalWithdrawn", "agreed", "retired"];

/// The type of a test delivery (`sendTestWebhook`).
pub const TEST_EVENT: &str = "webhook.test";

/// Whether `pattern` is an exact event type, `<record>.*` or `*`.
pub fn is_known(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let Some((record, verb)) = pattern.split_once('.') else { return false };
    EVENT_TYPES.iter().any(|(r, verbs)| *r == record && (verb == "*" || verbs.contains(&verb)))
}

/// Whether an endpoint asking for `patterns` hears `kind`. A test delivery goes to an
/// endpoint whatever it asked for, by [`TEST_EVENT`] directly.
pub fn wants(patterns: &[String], kind: &str) -> bool {
    patterns.iter().any(|pattern| {
        pattern == "*"
            || pattern == kind
            || pattern.strip_suffix(".*").is_some_and(|record| kind.split_once('.').is_some_and(|(r, _)| r == record))
    })
}

/// Every exact event type, in catalogue order.
pub fn all() -> impl Iterator<Item = String> {
    EVENT_TYPES.iter().flat_map(|(record, verbs)| verbs.iter().map(move |verb| format!("{record}.{verb}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_exact_types_a_records_types_or_everything() {
        assert!(is_known("lead.stageChanged") && is_known("lead.*") && is_known("*") && is_known("sla.periodBreached"));
        assert!(!is_known("lead.created") && !is_known("nothing.*") && !is_known("lead") && !is_known(""));
        let patterns = vec!["lead.*".to_owned(), "sla.periodBreached".to_owned()];
        assert!(wants(&patterns, "lead.qualified") && wants(&patterns, "sla.periodBreached"));
        assert!(!wants(&patterns, "sla.agreed") && !wants(&patterns, "leadX.qualified"));
        assert!(wants(&["*".to_owned()], "handover.created"));
        assert!(all().all(|kind| is_known(&kind)));
    }
}
