package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestURLGivesFreshDatabases(t *testing.T) {
	ctx := t.Context()
	a, b := connect(t, URL(t)), connect(t, URL(t))
	var nameA, nameB string
	if err := a.QueryRow(ctx, "SELECT current_database()").Scan(&nameA); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT current_database()").Scan(&nameB); err != nil {
		t.Fatal(err)
	}
	if nameA == nameB {
		t.Fatalf("two calls gave the same database %q", nameA)
	}
	var tables int
	if err := a.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("new database has %d tables, want 0", tables)
	}
	if _, err := a.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("a table created in one database is visible in the other")
	}

	// A database is dropped when its test ends, even with a connection still open.
	var dropped string
	t.Run("inner", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, URL(t))
		if err != nil {
			t.Fatal(err)
		}
		// Left open on purpose: DROP DATABASE … WITH (FORCE) ends it.
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&dropped); err != nil {
			t.Fatal(err)
		}
	})
	var n int
	if err := a.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", dropped).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %q still exists after its test ended", dropped)
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		name, base, want string
	}{
		{"url", "postgres://u:p%40ss@db.example:5433/postgres?sslmode=disable",
			"postgres://u:p%40ss@db.example:5433/waba_test_x?sslmode=disable"},
		{"url without a database", "postgresql://localhost", "postgresql://localhost/waba_test_x"},
		{"key=value", "host=/tmp port=5432 dbname=postgres user=u", "host=/tmp port=5432 dbname=postgres user=u dbname=waba_test_x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := withDatabase(tc.base, "waba_test_x")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("withDatabase = %q, want %q", got, tc.want)
			}
			cfg, err := pgx.ParseConfig(got)
			if err != nil {
				t.Fatalf("pgx cannot parse %q: %v", got, err)
			}
			if cfg.Database != "waba_test_x" {
				t.Errorf("pgx reads database %q, want waba_test_x", cfg.Database)
			}
		})
	}
}
