-- Messages: the caller's int64 id is the primary key; no index on any text column
-- (shared/reference/performance.md). Fixed-width columns come first so rows pack without padding.
CREATE TABLE messages (
    id         BIGINT      PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    shard      INTEGER     NOT NULL,
    direction  TEXT        NOT NULL,
    business   TEXT        NOT NULL,
    peer       TEXT        NOT NULL,
    type       TEXT        NOT NULL,
    status     TEXT        NOT NULL,
    payload    BYTEA       NOT NULL
);

-- The dispatch loop claims accepted messages by shard in id order (FOR UPDATE SKIP LOCKED); the
-- partial index holds only the rows still waiting.
CREATE INDEX messages_accepted ON messages (shard, id) WHERE status = 'accepted';

CREATE TABLE users (
    username             TEXT        PRIMARY KEY,
    password_hash        TEXT        NOT NULL,
    role                 TEXT        NOT NULL,
    must_change_password BOOLEAN     NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

-- tokens.username is deliberately not a foreign key: DeleteUser removes a user's tokens in the
-- same transaction, and a token need not belong to an On-Prem user.
CREATE TABLE tokens (
    hash       BYTEA       PRIMARY KEY,
    username   TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX tokens_username ON tokens (username);

CREATE TABLE settings (
    key   TEXT  PRIMARY KEY,
    value BYTEA NOT NULL
);
