-- The database's own work for scenario (f), one call of 1,000 new leads: the leads
-- (of known accounts, by domain), their first transitions, audit rows and score rows,
-- in one transaction. Values come from generate_series, not from a client: a ceiling
-- for what the server's multi-row inserts can reach. Ids are time-ordered like the
-- server's UUIDv7 (microseconds, then random): random ids (gen_random_uuid) land all
-- over the primary keys and ran at 70 % of this rate.
\set run random(1, 2000000000)
BEGIN;
WITH rows AS (
  SELECT g, 'raw' || g || '.' || :run || '.' || :client_id || '@bench' || (g % 97) || '.example' AS email
  FROM generate_series(1, 1000) g
), created AS (
  INSERT INTO leads (id, org_id, account_id, email, first_name, last_name, source, lifecycle_stage,
                     stage_entered_at, version, created_at, updated_at)
  SELECT (lpad(to_hex((extract(epoch from clock_timestamp()) * 1000000)::bigint), 16, '0') || substr(md5(random()::text), 1, 16))::uuid, :org,
         (SELECT a.id FROM accounts a WHERE a.org_id = :org AND a.domain = 'bench' || (g % 97) || '.example'),
         email, 'Bench', 'Row' || g, 'bench', 'NEW', now(), 1, now(), now()
  FROM rows
  RETURNING id, email, first_name, last_name, account_id
), transitions AS (
  INSERT INTO lead_stage_transitions (id, org_id, lead_id, from_stage, to_stage, actor_kind, actor_id, actor_name, reason, at)
  SELECT (lpad(to_hex((extract(epoch from clock_timestamp()) * 1000000)::bigint), 16, '0') || substr(md5(random()::text), 1, 16))::uuid, :org, id, NULL, 'NEW', 'user', NULL, 'Bench Admin', 'created', now() FROM created
), audits AS (
  INSERT INTO audit_log (id, org_id, actor_kind, actor_id, actor_name, action, entity, entity_id, changes, at)
  SELECT (lpad(to_hex((extract(epoch from clock_timestamp()) * 1000000)::bigint), 16, '0') || substr(md5(random()::text), 1, 16))::uuid, :org, 'user', NULL, 'Bench Admin', 'lead.create', 'lead', id,
         jsonb_build_object('email', jsonb_build_object('to', email), 'firstName', jsonb_build_object('to', first_name),
                            'lastName', jsonb_build_object('to', last_name), 'source', jsonb_build_object('to', 'bench'),
                            'accountId', jsonb_build_object('to', account_id), 'lifecycleStage', jsonb_build_object('to', 'NEW')),
         now()
  FROM created
)
INSERT INTO lead_scores (lead_id, org_id, fit_score, engagement_score, score, temperature)
SELECT id, :org, 0, 0, 0, 'COLD' FROM created;
COMMIT;
