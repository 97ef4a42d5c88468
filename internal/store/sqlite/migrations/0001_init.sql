-- Messages: the caller's int64 id is the rowid, so the table has no second b-tree for its key and
-- no index on any text column (shared/reference/performance.md: the writer's CPU is the limit).
-- Times are unix microseconds, UTC.
CREATE TABLE messages (
    id         INTEGER PRIMARY KEY,
    direction  TEXT    NOT NULL,
    business   TEXT    NOT NULL,
    peer       TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    status     TEXT    NOT NULL,
    shard      INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- The dispatch loop claims accepted messages by shard in id order; the index holds only the rows
-- still waiting, so it stays small and costs nothing once a message moves on.
CREATE INDEX messages_accepted ON messages (shard, id) WHERE status = 'accepted';

CREATE TABLE users (
    username             TEXT    NOT NULL PRIMARY KEY,
    password_hash        TEXT    NOT NULL,
    role                 TEXT    NOT NULL,
    must_change_password INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- tokens.username is deliberately not a foreign key: DeleteUser removes a user's tokens in the
-- same transaction, and a token need not belong to an On-Prem user.
CREATE TABLE tokens (
    hash       BLOB    NOT NULL PRIMARY KEY,
    username   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX tokens_username ON tokens (username);

CREATE TABLE settings (
    key   TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
) STRICT, WITHOUT ROWID;
