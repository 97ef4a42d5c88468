package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openwaba/waba/internal/store"
)

// Media live in the database, so every node serves every media: metadata in media, the bytes in
// media_blobs as chunks of mediaChunk bytes. Neither direction holds a whole file in memory.
//
// An upload inserts its row first (a duplicate id fails there, before any byte is read), with
// an empty sha256 that marks it incomplete, then one chunk per statement, then the size and
// digest. No transaction spans the upload, so a slow client never pins a pooled connection; a
// failed upload deletes its row (the chunks go with it), and the row of an upload a crash cut
// short is never served and goes at its expiry.

const (
	mediaChunk = 1 << 20
	mediaList  = "id, business, mime_type, sha256, size, filename, origin, created_at, expires_at"
)

// CreateMedia streams body into media_blobs while hashing and counting it.
func (s *Store) CreateMedia(ctx context.Context, m store.Media, body io.Reader) (_ store.Media, err error) {
	if !store.ValidMediaID(m.ID) {
		return store.Media{}, fmt.Errorf("postgres: create media %q: %w", m.ID, store.ErrInvalidMediaID)
	}
	m.SHA256, m.Size = "", 0
	m.CreatedAt = m.CreatedAt.UTC().Truncate(time.Microsecond)
	m.ExpiresAt = m.ExpiresAt.UTC().Truncate(time.Microsecond)
	if _, err := s.pool.Exec(ctx, "INSERT INTO media ("+mediaList+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		m.ID, m.Business, m.MimeType, m.SHA256, m.Size, m.Filename, m.Origin, m.CreatedAt, m.ExpiresAt); err != nil {
		if isUniqueViolation(err) {
			return store.Media{}, fmt.Errorf("postgres: create media %s: %w: %w", m.ID, store.ErrExists, err)
		}
		return store.Media{}, fmt.Errorf("postgres: create media %s: %w", m.ID, err)
	}
	defer func() {
		if err != nil {
			if _, derr := s.pool.Exec(context.WithoutCancel(ctx), "DELETE FROM media WHERE id = $1", m.ID); derr != nil {
				err = errors.Join(err, fmt.Errorf("remove the incomplete media: %w", derr))
			}
			err = fmt.Errorf("postgres: create media %s: %w", m.ID, err)
		}
	}()
	sum := sha256.New()
	buf := make([]byte, mediaChunk)
	for seq := int32(0); ; seq++ {
		n, rerr := io.ReadFull(body, buf)
		if n > 0 {
			sum.Write(buf[:n])
			m.Size += int64(n)
			if _, err := s.pool.Exec(ctx, "INSERT INTO media_blobs (media_id, seq, data) VALUES ($1, $2, $3)", m.ID, seq, buf[:n]); err != nil {
				return store.Media{}, fmt.Errorf("write chunk %d: %w", seq, err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return store.Media{}, fmt.Errorf("read bytes: %w", rerr)
		}
	}
	m.SHA256 = hex.EncodeToString(sum.Sum(nil))
	if _, err := s.pool.Exec(ctx, "UPDATE media SET size = $2, sha256 = $3 WHERE id = $1", m.ID, m.Size, m.SHA256); err != nil {
		return store.Media{}, err
	}
	return m, nil
}

// OpenMedia returns a complete media's row and a reader that fetches one chunk at a time with
// ctx.
func (s *Store) OpenMedia(ctx context.Context, id string) (store.Media, io.ReadCloser, error) {
	var m store.Media
	err := s.pool.QueryRow(ctx, "SELECT "+mediaList+" FROM media WHERE id = $1 AND sha256 <> ''", id).
		Scan(&m.ID, &m.Business, &m.MimeType, &m.SHA256, &m.Size, &m.Filename, &m.Origin, &m.CreatedAt, &m.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Media{}, nil, fmt.Errorf("postgres: media %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Media{}, nil, fmt.Errorf("postgres: media %q: %w", id, err)
	}
	m.CreatedAt, m.ExpiresAt = m.CreatedAt.UTC(), m.ExpiresAt.UTC()
	return m, &chunkReader{s: s, ctx: ctx, id: id, left: m.Size}, nil
}

// chunkReader reads a media's chunks in order, one query per chunk.
type chunkReader struct {
	s    *Store
	ctx  context.Context
	id   string
	seq  int32
	left int64  // bytes not yet returned
	buf  []byte // the rest of the current chunk
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.buf) == 0 {
		if r.left <= 0 {
			return 0, io.EOF
		}
		err := r.s.pool.QueryRow(r.ctx, "SELECT data FROM media_blobs WHERE media_id = $1 AND seq = $2", r.id, r.seq).Scan(&r.buf)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("postgres: media %s: chunk %d missing (deleted while read?): %w", r.id, r.seq, io.ErrUnexpectedEOF)
		}
		if err != nil {
			return 0, fmt.Errorf("postgres: media %s: read chunk %d: %w", r.id, r.seq, err)
		}
		if len(r.buf) == 0 || int64(len(r.buf)) > r.left {
			return 0, fmt.Errorf("postgres: media %s: chunk %d has %d bytes, %d expected at most", r.id, r.seq, len(r.buf), r.left)
		}
		r.seq++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	r.left -= int64(n)
	return n, nil
}

func (r *chunkReader) Close() error {
	r.buf, r.left = nil, 0
	return nil
}

// DeleteMedia deletes a media; its chunks go with it (ON DELETE CASCADE).
func (s *Store) DeleteMedia(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM media WHERE id = $1 AND sha256 <> ''", id)
	if err != nil {
		return fmt.Errorf("postgres: delete media %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: delete media %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// DeleteExpiredMedia deletes the expired media with their chunks (incomplete ones included).
func (s *Store) DeleteExpiredMedia(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM media WHERE expires_at <= $1", before)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired media: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
