package sqlite

import (
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/store/storetest"
)

func openTB(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(tb.Context(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTB(t, filepath.Join(t.TempDir(), "waba.db"))
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "dir with space?and#marks", "waba.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 12, 0, 0, 123_000_000, time.UTC)
	msg := store.Message{ID: 1 << 40, Direction: store.Outbound, Business: "15550001111", Peer: "15557654321",
		Type: "text", Payload: []byte(`{"text":{"body":"hi"}}`), Status: store.StatusAccepted, Shard: 7, CreatedAt: at, UpdatedAt: at}
	usr := store.User{Username: "admin", PasswordHash: "$2a$10$x", Role: store.RoleAdmin, MustChangePassword: true, CreatedAt: at, UpdatedAt: at}
	tok := store.Token{Hash: []byte("0123456789abcdef0123456789abcdef"), Username: "admin", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}

	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.InsertMessages(ctx, []store.Message{msg}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, usr); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSetting(ctx, "k", []byte(`"v"`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s = openTB(t, path)
	got, err := s.GetMessage(ctx, msg.ID)
	if err != nil {
		t.Fatalf("GetMessage after reopen: %v", err)
	}
	if got.Peer != msg.Peer || string(got.Payload) != string(msg.Payload) || !got.CreatedAt.Equal(at) || got.Shard != 7 {
		t.Errorf("message after reopen = %+v, want %+v", got, msg)
	}
	u, err := s.GetUser(ctx, "admin")
	if err != nil || u.PasswordHash != usr.PasswordHash || !u.MustChangePassword || u.Role != store.RoleAdmin {
		t.Errorf("user after reopen = %+v, %v", u, err)
	}
	gt, err := s.GetToken(ctx, tok.Hash)
	if err != nil || gt.Username != "admin" || !gt.ExpiresAt.Equal(tok.ExpiresAt) {
		t.Errorf("token after reopen = %+v, %v", gt, err)
	}
	v, err := s.GetSetting(ctx, "k")
	if err != nil || string(v) != `"v"` {
		t.Errorf("setting after reopen = %q, %v", v, err)
	}
	var versions []int
	rows, err := s.read.QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	migrations, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, m := range migrations {
		want = append(want, m.version)
	}
	if !slices.Equal(versions, want) {
		t.Errorf("schema_migrations = %v, want %v (each applied once)", versions, want)
	}
}

// The settings the durability and throughput claims rest on.
func TestPragmasAndSchema(t *testing.T) {
	s := openTB(t, filepath.Join(t.TempDir(), "waba.db"))
	ctx := t.Context()
	pragmas := []struct {
		db   *sql.DB
		name string
		want string
	}{
		{s.write, "journal_mode", "wal"},
		{s.write, "synchronous", "1"}, // NORMAL: the syncer fsyncs the WAL before answering (syncer.go)
		{s.write, "foreign_keys", "1"},
		{s.write, "busy_timeout", "10000"},
		{s.read, "query_only", "1"},
		{s.read, "busy_timeout", "10000"},
	}
	for _, p := range pragmas {
		var got string
		if err := p.db.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", p.name, err)
		}
		if got != p.want {
			t.Errorf("PRAGMA %s = %q, want %q", p.name, got, p.want)
		}
	}
	if got, want := s.write.Stats().MaxOpenConnections, 1; got != want {
		t.Errorf("writer MaxOpenConnections = %d, want %d", got, want)
	}

	// The messages table has exactly the secondary indexes its queries need: the partial one for
	// due work, the conversation index and the partial one for the customer-service window.
	rows, err := s.read.QueryContext(ctx, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var indexes []string
	for rows.Next() {
		var name string
		var def *string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, name)
	}
	if want := []string{"messages_due", "messages_inbound", "messages_peer"}; !slices.Equal(indexes, want) {
		t.Errorf("indexes on messages = %q, want %q", indexes, want)
	}

	// Readers cannot write.
	if _, err := s.read.ExecContext(ctx, "DELETE FROM settings"); err == nil {
		t.Error("a reader connection accepted a write")
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	_, err := Open(t.Context(), filepath.Join(t.TempDir(), "no", "such", "dir", "waba.db"), nil)
	if err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
	if errors.Is(err, store.ErrNotFound) {
		t.Errorf("Open error %v should not be store.ErrNotFound", err)
	}
}

func BenchmarkInsertMessages(b *testing.B) {
	storetest.BenchInsertMessages(b, func(b *testing.B) store.Store {
		return openTB(b, filepath.Join(b.TempDir(), "waba.db"))
	})
}

// A database created by migration 1 alone upgrades in place: messages still waiting for the
// network (accepted, outbound) are put on the dispatch schedule, nothing else is.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "waba.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	initSQL, err := migrationFS.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, q := range []string{
		"CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT",
		string(initSQL),
		"INSERT INTO schema_migrations VALUES (1, 'init', 0)",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for i, st := range []string{store.StatusAccepted, store.StatusSent} {
		if _, err := db.ExecContext(ctx, `INSERT INTO messages (id, direction, business, peer, type, payload, status, shard, created_at, updated_at)
			VALUES (?, 'out', 'b', 'p', 'text', x'', ?, 0, ?, ?)`, i+1, st, toDB(at), toDB(at.Add(time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openTB(t, path)
	accepted, err := s.GetMessage(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !accepted.NextAt.Equal(at) || accepted.State != nil {
		t.Errorf("accepted message after upgrade: NextAt %v state %q, want %v and nil", accepted.NextAt, accepted.State, at)
	}
	sent, err := s.GetMessage(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !sent.NextAt.IsZero() {
		t.Errorf("sent message after upgrade: NextAt %v, want unscheduled", sent.NextAt)
	}
	if due, err := s.DueMessages(ctx, 0, at, 10); err != nil || len(due) != 1 || due[0].ID != 1 {
		t.Errorf("DueMessages after upgrade = %v, %v; want message 1", due, err)
	}
}
