-- Media metadata. The bytes are files in the media folder beside the database, named by id
-- (see media.go); the server generates every id, so no user input names a file.
CREATE TABLE media (
    id         TEXT    NOT NULL PRIMARY KEY, -- a lower-case UUID
    business   TEXT    NOT NULL,
    mime_type  TEXT    NOT NULL,
    sha256     TEXT    NOT NULL, -- hex
    size       INTEGER NOT NULL,
    filename   TEXT    NOT NULL,
    origin     TEXT    NOT NULL, -- upload | inbound
    created_at INTEGER NOT NULL, -- unix µs
    expires_at INTEGER NOT NULL  -- unix µs
) STRICT, WITHOUT ROWID;

-- The expiry sweep.
CREATE INDEX media_expires ON media (expires_at);
