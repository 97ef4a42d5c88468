-- Dispatch schedule and webhook outbox.
--
-- messages.next_at is when the dispatch loop next has work for a message (unix µs, NULL when
-- nothing is scheduled); messages.state is the network's opaque progress for it.
ALTER TABLE messages ADD COLUMN next_at INTEGER;
ALTER TABLE messages ADD COLUMN state BLOB NOT NULL DEFAULT x'';

-- The dispatcher claims by next_at only, so the partial index on status = 'accepted' has no reader
-- left; dropping it saves an index insert and delete on every outbound message. Messages still
-- waiting from before this migration are put on the schedule so they are not stranded.
UPDATE messages SET next_at = created_at WHERE status = 'accepted' AND direction = 'out';
DROP INDEX messages_accepted;

-- Due work by shard in (next_at, id) order (the rowid is the implicit tail of every index); only
-- scheduled rows are in it, so finished messages cost nothing.
CREATE INDEX messages_due ON messages (shard, next_at) WHERE next_at IS NOT NULL;

-- A conversation newest first (ListMessages, RescheduleHeld): (peer, rowid).
CREATE INDEX messages_peer ON messages (peer);

-- The customer-service window (LastInbound): max(created_at) is one index seek, and outbound
-- inserts, the hot path, do not touch this index.
CREATE INDEX messages_inbound ON messages (peer, business, created_at) WHERE direction = 'in';

-- The durable webhook outbox. AUTOINCREMENT: ids are never reused, even after ResetTraffic, so
-- an id seen in an old attempt log never names a different event.
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    business   TEXT    NOT NULL,
    message_id INTEGER NOT NULL, -- 0: about no message
    kind       TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    state      TEXT    NOT NULL,
    attempts   INTEGER NOT NULL,
    due_at     INTEGER NOT NULL,
    last_error TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- Claims: pending webhooks, oldest due first.
CREATE INDEX webhooks_due ON webhooks (due_at, id) WHERE state = 'pending';
-- The per-message order check: is there an older pending webhook of the same message?
CREATE INDEX webhooks_message ON webhooks (message_id, id) WHERE state = 'pending';

-- The attempt log: one row per POST.
CREATE TABLE attempts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    business   TEXT    NOT NULL,
    url        TEXT    NOT NULL,
    request    BLOB    NOT NULL,
    status     INTEGER NOT NULL,
    response   BLOB    NOT NULL,
    latency_ms INTEGER NOT NULL,
    error      TEXT    NOT NULL,
    at         INTEGER NOT NULL
) STRICT;

-- Which webhooks each attempt carried. No foreign keys: the log outlives nothing it points to,
-- and ResetTraffic clears all four tables together.
CREATE TABLE attempt_webhooks (
    attempt_id INTEGER NOT NULL,
    webhook_id INTEGER NOT NULL,
    PRIMARY KEY (attempt_id, webhook_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX attempt_webhooks_webhook ON attempt_webhooks (webhook_id, attempt_id);
