package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openwaba/waba/internal/store"
)

// Media bytes live in files beside the database, <dir of the database>/media/<id>, one file per
// media, mode 0600; the rows hold the metadata. A file is written under a temporary name first
// and gets its final name only after its row has committed, so a duplicate id never overwrites
// the existing media's file, and a failed upload leaves nothing behind. The name is the id, which
// the server generates and store.ValidMediaID checks, so no user input ever reaches a path.

const (
	mediaList = "id, business, mime_type, sha256, size, filename, origin, created_at, expires_at"
	// tempPrefix starts the name of a media file still being written.
	tempPrefix = ".tmp-"
	// staleTemp is the age after which DeleteExpiredMedia removes a temporary file that a crash
	// left behind (no upload takes this long: the HTTP server's read timeout is far shorter).
	staleTemp = time.Hour
)

// mediaDir returns the media folder: "media" beside the main database file. It is read from the
// connection rather than kept from Open, so that the driver's core needs no media state.
func (s *Store) mediaDir(ctx context.Context) (string, error) {
	var file string
	if err := s.read.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
		return "", fmt.Errorf("locate the database file: %w", err)
	}
	if file == "" {
		return "", errors.New("the database has no file (in memory?), so media have no folder")
	}
	return filepath.Join(filepath.Dir(file), "media"), nil
}

// mediaPath is the file of a media; id must have passed store.ValidMediaID.
func mediaPath(dir, id string) string { return filepath.Join(dir, id) }

// CreateMedia streams body into a temporary file while hashing and counting it, inserts the row
// and then renames the file into place. Any failure removes the temporary file.
func (s *Store) CreateMedia(ctx context.Context, m store.Media, body io.Reader) (_ store.Media, err error) {
	if !store.ValidMediaID(m.ID) {
		return store.Media{}, fmt.Errorf("sqlite: create media %q: %w", m.ID, store.ErrInvalidMediaID)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("sqlite: create media %s: %w", m.ID, err)
		}
	}()
	dir, err := s.mediaDir(ctx)
	if err != nil {
		return store.Media{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return store.Media{}, err
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+m.ID+"-*") // mode 0600
	if err != nil {
		return store.Media{}, err
	}
	placed := false
	defer func() {
		if !placed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, sum), body)
	if err != nil {
		return store.Media{}, fmt.Errorf("write bytes: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return store.Media{}, err
	}
	if err := tmp.Close(); err != nil {
		return store.Media{}, err
	}
	m.Size = n
	m.SHA256 = hex.EncodeToString(sum.Sum(nil))
	m.CreatedAt = fromDB(toDB(m.CreatedAt))
	m.ExpiresAt = fromDB(toDB(m.ExpiresAt))

	if _, err := s.exec(ctx, "INSERT INTO media ("+mediaList+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		m.ID, m.Business, m.MimeType, m.SHA256, m.Size, m.Filename, m.Origin, toDB(m.CreatedAt), toDB(m.ExpiresAt)); err != nil {
		if isUniqueViolation(err) {
			return store.Media{}, fmt.Errorf("%w: %w", store.ErrExists, err)
		}
		return store.Media{}, err
	}
	if err := os.Rename(tmp.Name(), mediaPath(dir, m.ID)); err != nil {
		// Without its file the row would name nothing: take it back.
		if _, derr := s.exec(context.WithoutCancel(ctx), "DELETE FROM media WHERE id = ?", m.ID); derr != nil {
			err = errors.Join(err, fmt.Errorf("remove the row again: %w", derr))
		}
		return store.Media{}, err
	}
	placed = true
	syncDir(dir)
	return m, nil
}

// syncDir makes a rename in dir durable; a failure only weakens durability, so it is ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func scanMedia(row scanner) (store.Media, error) {
	var m store.Media
	var created, expires int64
	if err := row.Scan(&m.ID, &m.Business, &m.MimeType, &m.SHA256, &m.Size, &m.Filename, &m.Origin, &created, &expires); err != nil {
		return store.Media{}, err
	}
	m.CreatedAt, m.ExpiresAt = fromDB(created), fromDB(expires)
	return m, nil
}

// OpenMedia returns the row and the open file. A row whose file is missing (a crash between
// commit and rename) reads as not found.
func (s *Store) OpenMedia(ctx context.Context, id string) (store.Media, io.ReadCloser, error) {
	if !store.ValidMediaID(id) {
		return store.Media{}, nil, fmt.Errorf("sqlite: media %q: %w", id, store.ErrNotFound)
	}
	m, err := scanMedia(s.read.QueryRowContext(ctx, "SELECT "+mediaList+" FROM media WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Media{}, nil, fmt.Errorf("sqlite: media %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Media{}, nil, fmt.Errorf("sqlite: media %s: %w", id, err)
	}
	dir, err := s.mediaDir(ctx)
	if err != nil {
		return store.Media{}, nil, fmt.Errorf("sqlite: media %s: %w", id, err)
	}
	f, err := os.Open(mediaPath(dir, id))
	if errors.Is(err, os.ErrNotExist) {
		return store.Media{}, nil, fmt.Errorf("sqlite: media %s: file missing: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Media{}, nil, fmt.Errorf("sqlite: media %s: %w", id, err)
	}
	return m, f, nil
}

// DeleteMedia deletes the row, then the file.
func (s *Store) DeleteMedia(ctx context.Context, id string) error {
	if !store.ValidMediaID(id) {
		return fmt.Errorf("sqlite: delete media %q: %w", id, store.ErrNotFound)
	}
	res, err := s.exec(ctx, "DELETE FROM media WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("sqlite: delete media %s: %w", id, err)
	}
	if err := affected(res, "sqlite: delete media "+id); err != nil {
		return err
	}
	dir, err := s.mediaDir(ctx)
	if err != nil {
		s.logger.Warn("media file not removed", "media_id", id, "err", err)
		return nil
	}
	s.removeMediaFile(dir, id)
	return nil
}

// removeMediaFile removes a media file whose row is gone. The row decides whether a media
// exists, so a failure here is logged, not returned: the orphan costs only disk space.
func (s *Store) removeMediaFile(dir, id string) {
	if err := os.Remove(mediaPath(dir, id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.logger.Warn("media file not removed", "media_id", id, "err", err)
	}
}

// DeleteExpiredMedia deletes the expired rows and their files, and also removes temporary files
// older than staleTemp that a crash left behind.
func (s *Store) DeleteExpiredMedia(ctx context.Context, before time.Time) (int, error) {
	var ids []string
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ids = ids[:0]
		rows, err := tx.QueryContext(ctx, "DELETE FROM media WHERE expires_at <= ? RETURNING id", toDB(before))
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		return errors.Join(rows.Err(), rows.Close())
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired media: %w", err)
	}
	dir, err := s.mediaDir(ctx)
	if err != nil {
		return len(ids), fmt.Errorf("sqlite: delete expired media files: %w", err)
	}
	for _, id := range ids {
		if store.ValidMediaID(id) {
			s.removeMediaFile(dir, id)
		}
	}
	s.removeStaleTemps(dir)
	return len(ids), nil
}

func (s *Store) removeStaleTemps(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // no folder yet: nothing was ever uploaded
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTemp {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
