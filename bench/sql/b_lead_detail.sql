-- The hand-written queries equivalent to scenario (b).
SELECT l.id, l.email, l.lifecycle_stage FROM leads l WHERE l.org_id = :org AND l.id = :lead;
SELECT a.kind, a.occurred_at, a.duration_minutes, u.name
FROM activities a JOIN users u ON u.id = a.user_id
WHERE a.org_id = :org AND a.lead_id = :lead
ORDER BY a.occurred_at DESC, a.id DESC LIMIT 21;
SELECT t.from_stage, t.to_stage, t.at, t.reason, t.actor_name
FROM lead_stage_transitions t WHERE t.org_id = :org AND t.lead_id = :lead ORDER BY t.at, t.id;
