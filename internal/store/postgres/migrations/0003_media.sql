-- Media metadata and bytes, both in the database so that every node can serve every media.
-- The server generates every id (a lower-case UUID); it is TEXT so both drivers agree on it.
CREATE TABLE media (
    id         TEXT        PRIMARY KEY,
    size       BIGINT      NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    business   TEXT        NOT NULL,
    mime_type  TEXT        NOT NULL,
    sha256     TEXT        NOT NULL, -- hex
    filename   TEXT        NOT NULL,
    origin     TEXT        NOT NULL  -- upload | inbound
);

-- The expiry sweep.
CREATE INDEX media_expires ON media (expires_at);

-- The bytes, in chunks (seq 0, 1, …) so that neither writing nor reading holds a whole file in
-- memory. Media are mostly compressed already: EXTERNAL storage skips TOAST's compression.
CREATE TABLE media_blobs (
    media_id TEXT    NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    data     BYTEA   NOT NULL,
    PRIMARY KEY (media_id, seq)
);
ALTER TABLE media_blobs ALTER COLUMN data SET STORAGE EXTERNAL;
