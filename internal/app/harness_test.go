package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testAdminPassword = "T3st-Passw0rd!"

// drivers runs fn once on SQLite and once on PostgreSQL, each with a fresh database.
func drivers(t *testing.T, fn func(t *testing.T, cfg config.Config)) {
	t.Run("sqlite", func(t *testing.T) {
		cfg := config.Default()
		cfg.Addr = "127.0.0.1:0"
		cfg.Data = filepath.Join(t.TempDir(), "data")
		fn(t, cfg)
	})
	t.Run("postgres", func(t *testing.T) {
		cfg := config.Default()
		cfg.Addr = "127.0.0.1:0"
		cfg.Data = filepath.Join(t.TempDir(), "data")
		cfg.DB = pgtest.URL(t)
		fn(t, cfg)
	})
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("WABA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// start runs a real waba on 127.0.0.1 with cfg and stops it when the test ends.
func start(t *testing.T, cfg config.Config) *App {
	t.Helper()
	ctx := context.Background()
	a, err := New(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return a
}

// response is a decoded HTTP answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

type request struct {
	method, path string
	body         string
	contentType  string // default application/json when body is set
	token        string
	basic        [2]string
	header       map[string]string
}

func do(t *testing.T, base string, r request) response {
	t.Helper()
	var rd io.Reader
	if r.body != "" {
		rd = bytes.NewBufferString(r.body)
	}
	req, err := http.NewRequest(r.method, base+r.path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if r.body != "" {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		if ct != "-" {
			req.Header.Set("Content-Type", ct)
		}
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.basic[0] != "" {
		req.SetBasicAuth(r.basic[0], r.basic[1])
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %v\n%s", r.method, r.path, err, raw)
		}
	}
	return out
}

// wantError asserts the exact On-Prem error envelope: status, one error with code, title and
// details, and the meta object.
func wantError(t *testing.T, r response, status, code int, title, details string) {
	t.Helper()
	want := map[string]any{
		"errors": []any{map[string]any{"code": float64(code), "title": title, "details": details}},
		"meta":   map[string]any{"api_status": "stable", "version": "v2.45.1"},
	}
	if r.status != status || !jsonEqual(r.body, want) {
		t.Fatalf("got %d %s\nwant %d %s", r.status, r.raw, status, mustJSON(want))
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if r.header.Get("X-Request-ID") == "" {
		t.Fatalf("no X-Request-ID header")
	}
}

// wantCode asserts status and error code only, for table cases whose details are checked in
// the validation unit tests.
func wantCode(t *testing.T, r response, status, code int) {
	t.Helper()
	errs, _ := r.body["errors"].([]any)
	if r.status != status || len(errs) != 1 || errs[0].(map[string]any)["code"] != float64(code) {
		t.Fatalf("got %d %s, want %d with code %d", r.status, r.raw, status, code)
	}
}

func jsonEqual(a, b any) bool {
	return bytes.Equal(mustJSON(a), mustJSON(b))
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// login logs in with username/password and returns the token.
func login(t *testing.T, base, user, pass string) string {
	t.Helper()
	r := do(t, base, request{method: "POST", path: "/v1/users/login", basic: [2]string{user, pass}})
	if r.status != 200 {
		t.Fatalf("login %s: %d %s", user, r.status, r.raw)
	}
	users := r.body["users"].([]any)
	return users[0].(map[string]any)["token"].(string)
}
