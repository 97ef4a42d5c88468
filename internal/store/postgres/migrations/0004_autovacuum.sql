-- Autovacuum sooner on the two tables the claim queries walk.
--
-- Each transition of a message and each delivered webhook leaves a dead row version behind,
-- and its entry in the partial indexes messages_due and webhooks_due stays until a vacuum
-- removes it. Those entries sit where the claim queries start (the oldest due rows), so every
-- claim steps over all of them: with 256,343 dead webhooks the webhook claim took 17.5 ms, and
-- 2.3 ms after a VACUUM (docs/benchmarks.md, fifth session). By default autovacuum waits until
-- a fifth of a table is dead; at 1 % it comes each time the outbox has delivered that much,
-- at most once a naptime (a minute by default), whatever the size of the history. Analysis
-- follows at 2 % (the claim plans need a fresh view of how many rows are pending).
ALTER TABLE webhooks SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_analyze_scale_factor = 0.02
);
ALTER TABLE messages SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_analyze_scale_factor = 0.02
);
