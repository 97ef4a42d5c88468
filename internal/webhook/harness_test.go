package webhook

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/store/pgtest"
	"github.com/openwaba/waba/internal/store/postgres"
	"github.com/openwaba/waba/internal/store/sqlite"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const business = "16315551019"

var start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func testLogger() *slog.Logger {
	if os.Getenv("WABA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// opener opens a new handle on the same database each time it is called; the handles are
// closed when the test ends (or earlier by the test).
type opener func(t *testing.T) store.Store

// drivers runs fn on SQLite and on PostgreSQL, each with a fresh database.
func drivers(t *testing.T, fn func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "waba.db")
		fn(t, func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), path, testLogger())
			if err != nil {
				t.Fatalf("open SQLite: %v", err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.URL(t)
		fn(t, func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), url, testLogger())
			if err != nil {
				t.Fatalf("open PostgreSQL: %v", err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}

// received is one request the receiver got.
type received struct {
	path   string
	header http.Header
	body   string
}

// receiver is a real webhook endpoint on 127.0.0.1. respond picks the status of the i-th
// request (0-based); gate, when set, holds every request until it is closed.
type receiver struct {
	srv *httptest.Server

	mu      sync.Mutex
	reqs    []received
	respond func(i int) int
	gate    chan struct{}
	cur     int // requests being handled now
	maxCur  int
	strays  int // requests to any path but /hook
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{respond: func(int) int { return http.StatusOK }}
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", r.hook)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		r.mu.Lock()
		r.strays++
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	r.srv = httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) hook(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	i := len(r.reqs)
	r.reqs = append(r.reqs, received{path: req.URL.Path, header: req.Header.Clone(), body: string(body)})
	r.cur++
	r.maxCur = max(r.maxCur, r.cur)
	gate, respond := r.gate, r.respond
	r.mu.Unlock()
	if gate != nil {
		<-gate
	}
	status := respond(i)
	r.mu.Lock()
	r.cur--
	r.mu.Unlock()
	if status >= 300 && status < 400 {
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"answer":%d}`, i)
}

func (r *receiver) url() string { return r.srv.URL + "/hook" }

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func (r *receiver) setRespond(f func(i int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.respond = f
}

// statuses answers the i-th request with codes[i], and 200 after the list.
func statuses(codes ...int) func(int) int {
	return func(i int) int {
		if i < len(codes) {
			return codes[i]
		}
		return http.StatusOK
	}
}

// endpoint is a settable Options.Settings.
type endpoint struct {
	mu sync.Mutex
	ep Endpoint
}

func (e *endpoint) set(ep Endpoint) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ep = ep
}

func (e *endpoint) settings(_ context.Context, b string) (Endpoint, error) {
	if b != business {
		return Endpoint{}, fmt.Errorf("unknown business %s", b)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ep, nil
}

// newDispatcher starts a Dispatcher and stops it when the test ends.
func newDispatcher(t *testing.T, st store.Store, clk clock.Clock, ep *endpoint, maxBatch int) *Dispatcher {
	t.Helper()
	d := New(Options{Store: st, Clock: clk, Logger: testLogger(), Settings: ep.settings, MaxBatch: maxBatch, Timeout: 5 * time.Second})
	if err := d.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(d.Stop)
	return d
}

// hook is a pending webhook due at at.
func hook(messageID int64, kind, payload string, at time.Time) store.Webhook {
	return store.Webhook{Business: business, MessageID: messageID, Kind: kind, Payload: []byte(payload),
		State: store.WebhookPending, DueAt: at, CreatedAt: at, UpdatedAt: at}
}

func insert(t *testing.T, st store.Store, hooks ...store.Webhook) {
	t.Helper()
	if err := st.Apply(context.Background(), store.Batch{Webhooks: hooks}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func statusPayload(msg int64, status string) string {
	return fmt.Sprintf(`{"id":"gBEG%d","recipient_id":"15551230001","status":%q,"timestamp":"1740830400","type":"message","message":{"recipient_id":"15551230001"}}`, msg, status)
}

// webhooksOf lists the webhooks of a message, oldest first.
func webhooksOf(t *testing.T, st store.Store, messageID int64) []store.Webhook {
	t.Helper()
	ws, err := st.ListWebhooks(context.Background(), store.WebhookFilter{MessageID: messageID})
	if err != nil {
		t.Fatalf("ListWebhooks: %v", err)
	}
	for i, j := 0, len(ws)-1; i < j; i, j = i+1, j-1 {
		ws[i], ws[j] = ws[j], ws[i]
	}
	return ws
}

func count(t *testing.T, st store.Store, state string) int64 {
	t.Helper()
	n, err := st.CountWebhooks(context.Background(), state)
	if err != nil {
		t.Fatalf("CountWebhooks: %v", err)
	}
	return n
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stays checks that cond keeps holding for a while (nothing happens that should not).
func stays(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(250 * time.Millisecond)
	for time.Now().Before(deadline) {
		if !cond() {
			t.Fatalf("%s: no longer true", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// attempts lists the attempts that carried a webhook, oldest first.
func attemptsOf(t *testing.T, st store.Store, webhookID int64) []store.Attempt {
	t.Helper()
	as, err := st.ListAttempts(context.Background(), webhookID, 100)
	if err != nil {
		t.Fatalf("ListAttempts: %v", err)
	}
	for i, j := 0, len(as)-1; i < j; i, j = i+1, j-1 {
		as[i], as[j] = as[j], as[i]
	}
	return as
}
