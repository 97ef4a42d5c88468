-- Dispatch schedule and webhook outbox.
--
-- messages.next_at is when the dispatch loop next has work for a message (NULL when nothing is
-- scheduled); messages.state is the network's opaque progress for it. Both are added without a
-- table rewrite (a NULL column, and a constant default).
ALTER TABLE messages
    ADD COLUMN next_at TIMESTAMPTZ,
    ADD COLUMN state   BYTEA NOT NULL DEFAULT ''::bytea;

-- The dispatcher claims by next_at only, so the partial index on status = 'accepted' has no reader
-- left; dropping it saves an index insert and delete on every outbound message. Messages still
-- waiting from before this migration are put on the schedule so they are not stranded.
UPDATE messages SET next_at = created_at WHERE status = 'accepted' AND direction = 'out';
DROP INDEX messages_accepted;

-- Due work by shard in (next_at, id) order; id is in the key so the claim query needs no sort.
-- Only scheduled rows are in it, so finished messages cost nothing.
CREATE INDEX messages_due ON messages (shard, next_at, id) WHERE next_at IS NOT NULL;

-- A conversation newest first (ListMessages, RescheduleHeld).
CREATE INDEX messages_peer ON messages (peer, id);

-- The customer-service window (LastInbound): max(created_at) is one index seek, and outbound
-- inserts, the hot path, do not touch this index.
CREATE INDEX messages_inbound ON messages (peer, business, created_at) WHERE direction = 'in';

-- The durable webhook outbox. Identity ids are never reused, even after ResetTraffic.
CREATE TABLE webhooks (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id BIGINT      NOT NULL, -- 0: about no message
    due_at     TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    attempts   INTEGER     NOT NULL,
    business   TEXT        NOT NULL,
    kind       TEXT        NOT NULL,
    state      TEXT        NOT NULL,
    last_error TEXT        NOT NULL,
    payload    BYTEA       NOT NULL
);

-- Claims: pending webhooks, oldest due first.
CREATE INDEX webhooks_due ON webhooks (due_at, id) WHERE state = 'pending';
-- The per-message order check: is there an older pending webhook of the same message?
CREATE INDEX webhooks_message ON webhooks (message_id, id) WHERE state = 'pending';

-- The attempt log: one row per POST.
CREATE TABLE attempts (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    latency_ms BIGINT      NOT NULL,
    status     INTEGER     NOT NULL,
    business   TEXT        NOT NULL,
    url        TEXT        NOT NULL,
    error      TEXT        NOT NULL,
    request    BYTEA       NOT NULL,
    response   BYTEA       NOT NULL
);

-- Which webhooks each attempt carried. No foreign keys: ResetTraffic clears all four tables
-- together.
CREATE TABLE attempt_webhooks (
    attempt_id BIGINT NOT NULL,
    webhook_id BIGINT NOT NULL,
    PRIMARY KEY (attempt_id, webhook_id)
);

CREATE INDEX attempt_webhooks_webhook ON attempt_webhooks (webhook_id, attempt_id);
