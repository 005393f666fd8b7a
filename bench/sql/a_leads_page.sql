-- The single hand-written query equivalent to scenario (a).
SELECT l.id, l.email, l.first_name, l.last_name, l.score, l.lifecycle_stage, a.name, u.name, l.persona_id
FROM leads l
LEFT JOIN accounts a ON a.id = l.account_id
LEFT JOIN users u ON u.id = l.owner_id
WHERE l.org_id = :org AND l.archived_at IS NULL
ORDER BY l.score DESC, l.id DESC
LIMIT 51;
