-- The single hand-written query equivalent to scenario (a).
SELECT l.id, l.email, l.first_name, l.last_name, s.score, l.lifecycle_stage, a.name, u.name, l.persona_id
FROM lead_scores s
JOIN leads l ON l.id = s.lead_id
LEFT JOIN accounts a ON a.id = l.account_id
LEFT JOIN users u ON u.id = l.owner_id
WHERE s.org_id = :org AND l.archived_at IS NULL
ORDER BY s.score DESC, s.lead_id DESC
LIMIT 51;
