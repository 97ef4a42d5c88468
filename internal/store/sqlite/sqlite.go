// Package sqlite is the embedded store driver: pure-Go SQLite (modernc.org/sqlite), no cgo.
//
// The database runs in WAL mode with synchronous=FULL, so a nil error from a write means the
// rows survive a power loss. All writes go through exactly one connection (SQLite allows one
// writer at a time; a pool of writers would only fight over the file lock), reads through a
// small pool of read-only connections that WAL lets run alongside the writer. Callers that care
// about throughput batch their writes: one InsertMessages call is one transaction and one fsync
// (shared/reference/performance.md, "group commit").
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/openwaba/waba/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// readers is the size of the read-only connection pool.
const readers = 4

// busyTimeout is how long a connection waits for a lock held by another process (a second
// `waba migrate`, say) before it gives up with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// insertChunks are the row counts of the prepared multi-row INSERT statements, largest first.
// A batch is written as a sequence of these (a batch of 100 is 64+32+4), so any batch size
// takes at most a handful of statement executions and no statement is ever prepared on the
// hot path. 64 rows × 12 columns stays far below SQLite's limit on bound parameters.
var insertChunks = []int{64, 32, 16, 8, 4, 2, 1}

const (
	messageColumns = 12
	messageList    = "id, direction, business, peer, type, payload, status, shard, next_at, state, created_at, updated_at"
	webhookColumns = 10 // inserted: all but id
	webhookList    = "id, business, message_id, kind, payload, state, attempts, due_at, last_error, created_at, updated_at"
)

// Store is the SQLite implementation of store.Store.
type Store struct {
	write  *sql.DB // exactly one connection: every write, in order
	read   *sql.DB // read-only connections
	logger *slog.Logger

	insert     bulk      // multi-row INSERTs of messages on the writer
	insertHook bulk      // multi-row INSERTs of webhooks on the writer
	transition *sql.Stmt // one Transition on the writer
	w          *writer   // merges concurrent writes into one transaction
	sync       *syncer   // makes the writer's commits durable before they are answered

	// Hot reads, prepared once on the read pool (each connection keeps its own copy).
	dueMessages, nextDue, lastInbound, dueWebhooks, dueWebhooksExcept, nextWebhookDue *sql.Stmt

	closeOnce sync.Once
	closeErr  error
}

var (
	_ store.Store              = (*Store)(nil)
	_ store.DueWebhooksSkipper = (*Store)(nil)
	_ store.WriterStatser      = (*Store)(nil)
)

// WriterStats is what the single writer has done since the store opened.
func (s *Store) WriterStats() store.WriterStats {
	if s.w == nil {
		return store.WriterStats{}
	}
	return s.w.stats()
}

// Open opens (creating if needed) the database file at path, applies the migrations that have
// not run yet and returns the store. The directory of path must exist.
func Open(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: resolve %q: %w", path, err)
	}
	// A file: URI, so that a path containing '?' or '#' still names the file.
	name := "file:" + (&url.URL{Path: abs}).EscapedPath()
	busy := strconv.FormatInt(busyTimeout.Milliseconds(), 10)
	writeDSN := name + "?" + url.Values{
		"_pragma": {
			"busy_timeout(" + busy + ")",
			"foreign_keys(1)",
			"journal_mode(WAL)",
			// Commits write the WAL without fsync; the syncer fsyncs it before any caller is
			// answered (syncer.go), so an answered write survives a power loss as with FULL.
			"synchronous(NORMAL)",
			// Multi-row INSERTs inside a transaction keep a statement journal so that a failing
			// row can undo its statement; in memory it costs no write syscalls.
			"temp_store(MEMORY)",
		},
		// The writer takes the write lock when a transaction starts, not at its first write, so
		// a transaction never fails halfway with SQLITE_BUSY when another process writes.
		"_txlock": {"immediate"},
	}.Encode()
	readDSN := name + "?" + url.Values{
		"_pragma": {
			"busy_timeout(" + busy + ")",
			"foreign_keys(1)",
			"query_only(1)",
		},
	}.Encode()

	write, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	read, err := sql.Open("sqlite", readDSN)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)

	s := &Store{
		write:  write,
		read:   read,
		logger: logger.With("component", "store", "driver", "sqlite"),
	}
	if err := s.open(ctx, abs); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, path string) (err error) {
	// The writer connects first: it switches the file to WAL before any reader opens it.
	var mode string
	if err := s.write.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlite: open %s: journal_mode is %q, want wal", path, mode)
	}
	s.sync = newSyncer(path)
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	if s.insert, err = s.prepareBulk(ctx, "INSERT INTO messages ("+messageList+") VALUES ", messageColumns); err != nil {
		return fmt.Errorf("sqlite: prepare insert of messages: %w", err)
	}
	if s.insertHook, err = s.prepareBulk(ctx, "INSERT INTO webhooks ("+strings.TrimPrefix(webhookList, "id, ")+") VALUES ", webhookColumns); err != nil {
		return fmt.Errorf("sqlite: prepare insert of webhooks: %w", err)
	}
	if s.transition, err = s.write.PrepareContext(ctx,
		"UPDATE messages SET status = ?, state = ?, next_at = ?, updated_at = ? WHERE id = ?"); err != nil {
		return fmt.Errorf("sqlite: prepare transition: %w", err)
	}
	for _, p := range []struct {
		stmt **sql.Stmt
		q    string
	}{
		{&s.dueMessages, dueMessagesQuery},
		{&s.nextDue, nextDueQuery},
		{&s.lastInbound, lastInboundQuery},
		{&s.dueWebhooks, dueWebhooksQuery},
		{&s.dueWebhooksExcept, dueWebhooksExceptQuery},
		{&s.nextWebhookDue, nextWebhookDueQuery},
	} {
		if *p.stmt, err = s.read.PrepareContext(ctx, p.q); err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", p.q, err)
		}
	}
	if s.w, err = newWriter(ctx, s.write, s.sync); err != nil {
		return fmt.Errorf("sqlite: start writer: %w", err)
	}
	return nil
}

// bulk holds a multi-row INSERT prepared on the writer for each of insertChunks.
type bulk struct {
	cols  int
	stmts map[int]*sql.Stmt
}

func (s *Store) prepareBulk(ctx context.Context, head string, cols int) (bulk, error) {
	b := bulk{cols: cols, stmts: make(map[int]*sql.Stmt, len(insertChunks))}
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	for _, n := range insertChunks {
		stmt, err := s.write.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(row+",", n), ","))
		if err != nil {
			b.close()
			return bulk{}, fmt.Errorf("%d rows: %w", n, err)
		}
		b.stmts[n] = stmt
	}
	return b, nil
}

func (b bulk) close() []error {
	var errs []error
	for _, stmt := range b.stmts {
		errs = append(errs, stmt.Close())
	}
	return errs
}

// exec inserts n rows inside tx, as a few multi-row statements; appendRow appends row i's
// b.cols values to args.
func (b bulk) exec(ctx context.Context, tx *sql.Tx, n int, appendRow func(args []any, i int) []any) error {
	args := make([]any, 0, chunk(n)*b.cols)
	for done := 0; done < n; {
		k := chunk(n - done)
		args = args[:0]
		for i := done; i < done+k; i++ {
			args = appendRow(args, i)
		}
		if _, err := tx.StmtContext(ctx, b.stmts[k]).ExecContext(ctx, args...); err != nil {
			return err
		}
		done += k
	}
	return nil
}

// Close closes both connection pools. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.w != nil {
			errs = append(errs, s.w.close()...) // finishes the writes already queued
		} else if s.sync != nil {
			s.sync.stop()
		}
		for _, stmt := range []*sql.Stmt{s.dueMessages, s.nextDue, s.lastInbound, s.dueWebhooks, s.dueWebhooksExcept, s.nextWebhookDue} {
			if stmt != nil {
				errs = append(errs, stmt.Close())
			}
		}
		errs = append(errs, s.insert.close()...)
		errs = append(errs, s.insertHook.close()...)
		if s.transition != nil {
			errs = append(errs, s.transition.Close())
		}
		if err := s.read.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: close readers: %w", err))
		}
		if err := s.write.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: close writer: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Ping checks that both the writer and a reader answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping writer: %w", err)
	}
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping reader: %w", err)
	}
	return nil
}

// Migrate applies the embedded migrations that have not run yet, each in its own transaction.
// The transactions take SQLite's write lock when they begin, so two processes migrating the
// same file apply every migration once.
func (s *Store) Migrate(ctx context.Context) error {
	migrations, err := loadMigrations(migrationFS)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: migrate: create schema_migrations: %w", err)
	}
	for _, m := range migrations {
		if err := s.applyMigration(ctx, m); err != nil {
			return err
		}
	}
	var newest sql.NullInt64
	if err := s.write.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&newest); err != nil {
		return fmt.Errorf("sqlite: migrate: read schema version: %w", err)
	}
	if known := migrations[len(migrations)-1].version; newest.Int64 > int64(known) {
		s.logger.Warn("database schema is newer than this binary", "schema_version", newest.Int64, "binary_version", known)
	}
	// The migrations committed on the connection directly, without fsync (synchronous=NORMAL).
	if err := s.sync.syncNow(); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// exec runs one statement in the shared write transaction (see writer); it returns once the
// statement is durable.
func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, q, args...)
		return err
	})
	return res, err
}

func (s *Store) applyMigration(ctx context.Context, m migration) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate %04d_%s: %w", m.version, m.name, err)
	}
	defer tx.Rollback()
	var applied int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&applied); err != nil {
		return fmt.Errorf("sqlite: migrate %04d_%s: %w", m.version, m.name, err)
	}
	if applied > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("sqlite: migrate %04d_%s: %w", m.version, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, toDB(time.Now())); err != nil {
		return fmt.Errorf("sqlite: migrate %04d_%s: record: %w", m.version, m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate %04d_%s: commit: %w", m.version, m.name, err)
	}
	s.logger.Info("applied migration", "version", m.version, "name", m.name)
	return nil
}

// InsertMessages writes every message in the shared write transaction (see writer).
func (s *Store) InsertMessages(ctx context.Context, msgs []store.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.insertMessages(ctx, tx, msgs)
	}); err != nil {
		return fmt.Errorf("sqlite: insert %d messages: %w", len(msgs), err)
	}
	return nil
}

// insertMessages inserts msgs inside tx; a duplicate id is store.ErrExists.
func (s *Store) insertMessages(ctx context.Context, tx *sql.Tx, msgs []store.Message) error {
	err := s.insert.exec(ctx, tx, len(msgs), func(args []any, i int) []any {
		m := &msgs[i]
		return append(args, m.ID, string(m.Direction), m.Business, m.Peer, m.Type, nonNil(m.Payload),
			m.Status, int64(m.Shard), nullTime(m.NextAt), nonNil(m.State), toDB(m.CreatedAt), toDB(m.UpdatedAt))
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("%w: %w", store.ErrExists, err)
	}
	return err
}

// chunk returns the largest prepared statement size that fits n rows.
func chunk(n int) int {
	for _, c := range insertChunks {
		if c <= n {
			return c
		}
	}
	return 1
}

// GetMessage reads one message.
func (s *Store) GetMessage(ctx context.Context, id int64) (store.Message, error) {
	m, err := scanMessage(s.read.QueryRowContext(ctx, "SELECT "+messageList+" FROM messages WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Message{}, fmt.Errorf("sqlite: message %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Message{}, fmt.Errorf("sqlite: message %d: %w", id, err)
	}
	return m, nil
}

// scanMessage reads the columns of messageList.
func scanMessage(row scanner) (store.Message, error) {
	var m store.Message
	var dir string
	var shard, created, updated int64
	var next sql.NullInt64
	if err := row.Scan(&m.ID, &dir, &m.Business, &m.Peer, &m.Type, &m.Payload, &m.Status, &shard,
		&next, &m.State, &created, &updated); err != nil {
		return store.Message{}, err
	}
	m.Direction = store.Direction(dir)
	m.Payload = nonNil(m.Payload)
	if len(m.State) == 0 {
		m.State = nil
	}
	m.Shard = int(shard)
	if next.Valid {
		m.NextAt = fromDB(next.Int64)
	}
	m.CreatedAt = fromDB(created)
	m.UpdatedAt = fromDB(updated)
	return m, nil
}

// UpdateMessageStatus sets the status of a message of the given direction.
func (s *Store) UpdateMessageStatus(ctx context.Context, id int64, dir store.Direction, status string, at time.Time) error {
	return s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE messages SET status = ?, updated_at = ? WHERE id = ? AND direction = ?",
			status, toDB(at), id, string(dir))
		if err != nil {
			return fmt.Errorf("sqlite: set status of message %d: %w", id, err)
		}
		return affected(res, fmt.Sprintf("sqlite: set status of %s message %d", dir, id))
	})
}

// CountMessages counts the messages of one direction.
func (s *Store) CountMessages(ctx context.Context, dir store.Direction) (int64, error) {
	var n int64
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM messages WHERE direction = ?", string(dir)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count %s messages: %w", dir, err)
	}
	return n, nil
}

// CreateUser stores a new user, or returns store.ErrExists.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.exec(ctx, `INSERT INTO users (username, password_hash, role, must_change_password, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		u.Username, u.PasswordHash, string(u.Role), u.MustChangePassword, toDB(u.CreatedAt), toDB(u.UpdatedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlite: create user %q: %w", u.Username, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user %q: %w", u.Username, err)
	}
	return nil
}

const userColumns = "username, password_hash, role, must_change_password, created_at, updated_at"

type scanner interface{ Scan(dest ...any) error }

func scanUser(row scanner) (store.User, error) {
	var u store.User
	var role string
	var created, updated int64
	if err := row.Scan(&u.Username, &u.PasswordHash, &role, &u.MustChangePassword, &created, &updated); err != nil {
		return store.User{}, err
	}
	u.Role = store.Role(role)
	u.CreatedAt = fromDB(created)
	u.UpdatedAt = fromDB(updated)
	return u, nil
}

// GetUser returns one user, or store.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, username string) (store.User, error) {
	u, err := scanUser(s.read.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE username = ?", username))
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, fmt.Errorf("sqlite: user %q: %w", username, store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: user %q: %w", username, err)
	}
	return u, nil
}

// ListUsers returns every user ordered by username (byte order).
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+userColumns+" FROM users ORDER BY username")
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	users := []store.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	return users, nil
}

// UpdatePassword replaces a user's hash and must-change flag.
func (s *Store) UpdatePassword(ctx context.Context, username, hash string, mustChange bool, at time.Time) error {
	res, err := s.exec(ctx, "UPDATE users SET password_hash = ?, must_change_password = ?, updated_at = ? WHERE username = ?",
		hash, mustChange, toDB(at), username)
	if err != nil {
		return fmt.Errorf("sqlite: update password of %q: %w", username, err)
	}
	return affected(res, fmt.Sprintf("sqlite: update password of %q", username))
}

// DeleteUser removes a user and their tokens in one transaction.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	return s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM users WHERE username = ?", username)
		if err != nil {
			return fmt.Errorf("sqlite: delete user %q: %w", username, err)
		}
		if err := affected(res, fmt.Sprintf("sqlite: delete user %q", username)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM tokens WHERE username = ?", username); err != nil {
			return fmt.Errorf("sqlite: delete tokens of %q: %w", username, err)
		}
		return nil
	})
}

// CreateToken stores a token; a token with the same hash is store.ErrExists.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	_, err := s.exec(ctx, "INSERT INTO tokens (hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)",
		nonNil(t.Hash), t.Username, toDB(t.CreatedAt), toDB(t.ExpiresAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlite: create token for %q: %w", t.Username, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create token for %q: %w", t.Username, err)
	}
	return nil
}

// GetToken returns the token with the given hash, or store.ErrNotFound.
func (s *Store) GetToken(ctx context.Context, hash []byte) (store.Token, error) {
	t := store.Token{Hash: append([]byte(nil), hash...)}
	var created, expires int64
	err := s.read.QueryRowContext(ctx, "SELECT username, created_at, expires_at FROM tokens WHERE hash = ?", nonNil(hash)).
		Scan(&t.Username, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("sqlite: token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("sqlite: token: %w", err)
	}
	t.CreatedAt = fromDB(created)
	t.ExpiresAt = fromDB(expires)
	return t, nil
}

// DeleteToken removes one token; a missing token is not an error.
func (s *Store) DeleteToken(ctx context.Context, hash []byte) error {
	if _, err := s.exec(ctx, "DELETE FROM tokens WHERE hash = ?", nonNil(hash)); err != nil {
		return fmt.Errorf("sqlite: delete token: %w", err)
	}
	return nil
}

// DeleteUserTokens removes every token of a user.
func (s *Store) DeleteUserTokens(ctx context.Context, username string) error {
	if _, err := s.exec(ctx, "DELETE FROM tokens WHERE username = ?", username); err != nil {
		return fmt.Errorf("sqlite: delete tokens of %q: %w", username, err)
	}
	return nil
}

// GetSetting returns a setting's value, or store.ErrNotFound.
func (s *Store) GetSetting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.read.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: setting %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: setting %q: %w", key, err)
	}
	return nonNil(v), nil
}

// PutSetting stores or replaces a setting.
func (s *Store) PutSetting(ctx context.Context, key string, value []byte) error {
	if _, err := s.exec(ctx, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		key, nonNil(value)); err != nil {
		return fmt.Errorf("sqlite: put setting %q: %w", key, err)
	}
	return nil
}

// toDB stores a time as unix microseconds: the precision PostgreSQL keeps, so both drivers
// round-trip the same values. The zero time.Time fits too (year 1 is -6.2e16 µs).
func toDB(t time.Time) int64 { return t.UnixMicro() }

func fromDB(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullTime stores the zero time as NULL (nothing scheduled).
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return toDB(t)
}

// nonNil turns a nil slice into an empty one: the driver binds nil as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func affected(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return true
	}
	return false
}

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads migrations/NNNN_name.sql in version order.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		file := e.Name()
		if e.IsDir() || !strings.HasSuffix(file, ".sql") {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(file, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || name == "" {
			return nil, fmt.Errorf("migration %s: name must look like 0001_what.sql", file)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s have the same version", other, file)
		}
		seen[v] = file
		body, err := fs.ReadFile(fsys, "migrations/"+file)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	if len(out) == 0 {
		return nil, errors.New("no migrations embedded")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}
