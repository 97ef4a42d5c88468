package onprem

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/store/sqlite"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// fakeNetwork implements Network for the dialect's tests. The real simulated network lives in
// internal/network/simnet; this fake only lets each test set the answers it needs.
type fakeNetwork struct {
	mu         sync.Mutex
	gateway    string
	down       bool            // IsUser fails for every number
	failing    map[string]bool // IsUser fails for these numbers
	notUsers   map[string]bool // not on WhatsApp
	identities map[string]Identity
	isUser     []string // every IsUser call, in order
}

func newFakeNetwork() *fakeNetwork {
	return &fakeNetwork{gateway: "connected", failing: map[string]bool{}, notUsers: map[string]bool{}, identities: map[string]Identity{}}
}

func (f *fakeNetwork) IsUser(ctx context.Context, waID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.isUser = append(f.isUser, waID)
	if f.down || f.failing[waID] {
		return false, errors.New("network unreachable")
	}
	return !f.notUsers[waID], nil
}

func (f *fakeNetwork) Identity(ctx context.Context, waID string) (Identity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.identities[waID]
	if !ok {
		return Identity{}, waerr.New(waerr.NotFound, "No WhatsApp user %s", waID)
	}
	return id, nil
}

func (f *fakeNetwork) AckIdentity(ctx context.Context, waID, hash string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.identities[waID]
	if !ok {
		return waerr.New(waerr.NotFound, "No WhatsApp user %s", waID)
	}
	if hash != id.Hash {
		return waerr.New(waerr.InvalidParam, "Parameter 'hash' does not match the current identity of %s", waID)
	}
	id.Acknowledged = true
	f.identities[waID] = id
	return nil
}

func (f *fakeNetwork) GatewayStatus() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gateway
}

func (f *fakeNetwork) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.isUser...)
}

// fakeStats implements StatsSource with fixed answers.
type fakeStats struct {
	app    AppStats
	db     DBStats
	appErr error
	dbErr  error
}

func (f *fakeStats) AppStats(context.Context) (AppStats, error) { return f.app, f.appErr }
func (f *fakeStats) DBStats(context.Context) (DBStats, error)   { return f.db, f.dbErr }

const netTestPassword = "T3st-Passw0rd!"

// netEnv is one /v1 handler on a real engine and SQLite store, with the fakes behind WithNetwork.
type netEnv struct {
	h     *Handler
	eng   *engine.Engine
	net   *fakeNetwork
	stats *fakeStats
	token string // the admin's bearer token
}

func newNetEnv(t *testing.T) *netEnv { return newNetBase(t).env() }

// netBase is the expensive part of a netEnv (a store, an engine, a bcrypt login), shared by the
// subtests of one table; each subtest takes a fresh handler and fakes from it with env.
type netBase struct {
	eng   *engine.Engine
	log   *slog.Logger
	token string
}

func newNetBase(t *testing.T) *netBase {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "waba.db"), log)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	eng := engine.New(engine.Options{Store: st, Clock: clock.NewVirtual(time.Now()), IDs: wa.NewIDs(1),
		Logger: log, Business: "15550001111", Shards: 1, CommitBatch: 16})
	if err := eng.EnsureAdmin(ctx, netTestPassword); err != nil {
		t.Fatalf("EnsureAdmin: %v", err)
	}
	res, err := eng.Login(ctx, "127.0.0.1", engine.AdminUser, netTestPassword, "")
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return &netBase{eng: eng, log: log, token: res.Token}
}

func (b *netBase) env() *netEnv {
	e := &netEnv{eng: b.eng, net: newFakeNetwork(), stats: &fakeStats{}, token: b.token}
	e.h = New(b.eng, b.log, 1<<20).WithNetwork(e.net, e.stats)
	return e
}

// netReq is one request to the handler; token "" sends no Authorization header, and the body is
// sent as application/json unless contentType says otherwise ("-" for none).
type netReq struct {
	method, path, body string
	token              string
	contentType        string
	header             map[string]string
}

type netResp struct {
	status int
	header http.Header
	raw    []byte
}

func (e *netEnv) do(t *testing.T, r netReq) netResp {
	t.Helper()
	return serveNet(t, e.h, r)
}

func serveNet(t *testing.T, h http.Handler, r netReq) netResp {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = bytes.NewBufferString(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != "" && r.contentType != "-" {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, hr)
	return netResp{status: rec.Code, header: rec.Header(), raw: rec.Body.Bytes()}
}

const netMeta = `{"api_status":"stable","version":"v2.45.1"}`

// wantNetJSON asserts the status, the JSON content type, an X-Request-ID and a body equal (as
// JSON) to want.
func wantNetJSON(t *testing.T, r netResp, status int, want string) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal(r.raw, &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.raw)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if r.status != status || !reflect.DeepEqual(got, exp) {
		t.Fatalf("got %d %s\nwant %d %s", r.status, r.raw, status, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if r.header.Get("X-Request-ID") == "" {
		t.Fatalf("no X-Request-ID header")
	}
}

// wantNetError asserts the exact On-Prem error envelope.
func wantNetError(t *testing.T, r netResp, status, code int, title, details string) {
	t.Helper()
	e, _ := json.Marshal(ErrorObject{Code: code, Title: title, Details: details})
	wantNetJSON(t, r, status, `{"errors":[`+string(e)+`],"meta":`+netMeta+`}`)
}

const (
	tAccess      = "Access denied"
	tMissing     = "Required parameter is missing"
	tInvalid     = "Parameter value is not valid"
	tNotFound    = "Resource not found"
	tRequest     = "Invalid Request"
	tAuthDetails = "Missing or invalid authentication credentials"
)

// Every route WithNetwork adds needs a bearer token: none, a wrong one, or another scheme
// (Apikey, which waba does not support yet) is 401 with 1005.
func TestNetworkRoutesNeedAuth(t *testing.T) {
	e := newNetEnv(t)
	routes := []struct{ method, path, body string }{
		{http.MethodPost, "/v1/contacts", `{"contacts":["16315551000"]}`},
		{http.MethodGet, "/v1/contacts/16315551000/identity", ""},
		{http.MethodPut, "/v1/contacts/16315551000/identity", `{"hash":"x"}`},
		{http.MethodGet, "/v1/health", ""},
		{http.MethodGet, "/v1/stats/app", ""},
		{http.MethodGet, "/v1/stats/app?format=prometheus", ""},
		{http.MethodGet, "/v1/stats/db", ""},
		{http.MethodGet, "/v1/stats/db/internal", ""},
	}
	creds := []struct {
		name   string
		header map[string]string
	}{
		{"none", nil},
		{"wrong bearer", map[string]string{"Authorization": "Bearer not-a-token"}},
		{"apikey", map[string]string{"Authorization": "Apikey some-long-api-key-value"}},
		{"basic", map[string]string{"Authorization": "Basic YWRtaW46c2VjcmV0"}},
	}
	for _, rt := range routes {
		for _, c := range creds {
			t.Run(rt.method+" "+rt.path+" "+c.name, func(t *testing.T) {
				r := e.do(t, netReq{method: rt.method, path: rt.path, body: rt.body, header: c.header})
				wantNetError(t, r, http.StatusUnauthorized, 1005, tAccess, tAuthDetails)
			})
		}
	}
}

// A plain ROLE_USER may use every route here (none is admin-only, §4).
func TestNetworkRoutesAllowPlainUsers(t *testing.T) {
	e := newNetEnv(t)
	ctx := context.Background()
	if err := e.eng.CreateUser(ctx, "127.0.0.1", "jdoe", netTestPassword); err != nil {
		t.Fatal(err)
	}
	res, err := e.eng.Login(ctx, "127.0.0.1", "jdoe", netTestPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	e.net.identities["16315551000"] = Identity{Hash: "h", CreatedAt: time.UnixMilli(1600132094000)}
	for _, rt := range []struct{ method, path, body string }{
		{http.MethodPost, "/v1/contacts", `{"contacts":["16315551000"]}`},
		{http.MethodGet, "/v1/contacts/16315551000/identity", ""},
		{http.MethodPut, "/v1/contacts/16315551000/identity", `{"hash":"h"}`},
		{http.MethodGet, "/v1/health", ""},
		{http.MethodGet, "/v1/stats/app", ""},
		{http.MethodGet, "/v1/stats/db", ""},
		{http.MethodGet, "/v1/stats/db/internal", ""},
	} {
		r := e.do(t, netReq{method: rt.method, path: rt.path, body: rt.body, token: res.Token})
		if r.status != http.StatusOK {
			t.Errorf("%s %s as ROLE_USER: %d %s", rt.method, rt.path, r.status, r.raw)
		}
	}
}

// Without WithNetwork the paths are unknown, like any other: 404 with 1006.
func TestNetworkRoutesNeedWithNetwork(t *testing.T) {
	e := newNetEnv(t)
	h := New(e.eng, slog.New(slog.DiscardHandler), 1<<20)
	r := serveNet(t, h, netReq{method: http.MethodGet, path: "/v1/health", token: e.token})
	wantNetError(t, r, http.StatusNotFound, 1006, tNotFound, "Unknown path /v1/health")
}

func TestWithNetworkNeedsBoth(t *testing.T) {
	e := &netEnv{net: newFakeNetwork(), stats: &fakeStats{}} // New needs no engine to register routes
	for name, f := range map[string]func(){
		"network": func() { New(e.eng, slog.New(slog.DiscardHandler), 1<<20).WithNetwork(nil, e.stats) },
		"stats":   func() { New(e.eng, slog.New(slog.DiscardHandler), 1<<20).WithNetwork(e.net, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatalf("WithNetwork with a nil %s did not panic", name)
				}
			}()
			f()
		})
	}
}

// Authed puts the /v1 bearer check in front of any handler (the app mounts /metrics with it).
func TestAuthed(t *testing.T) {
	e := newNetEnv(t)
	h := e.h.Authed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "scraped")
	}))
	for _, c := range []struct {
		name   string
		header map[string]string
	}{
		{"none", nil},
		{"wrong bearer", map[string]string{"Authorization": "Bearer nope"}},
		{"apikey", map[string]string{"Authorization": "Apikey some-long-api-key-value"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := serveNet(t, h, netReq{method: http.MethodGet, path: "/metrics", header: c.header})
			wantNetError(t, r, http.StatusUnauthorized, 1005, tAccess, tAuthDetails)
		})
	}
	t.Run("bearer", func(t *testing.T) {
		r := serveNet(t, h, netReq{method: http.MethodGet, path: "/metrics", token: e.token})
		if r.status != http.StatusOK || string(r.raw) != "scraped" {
			t.Fatalf("got %d %q", r.status, r.raw)
		}
		if r.header.Get("X-Request-ID") == "" {
			t.Fatalf("no X-Request-ID header")
		}
	})
	t.Run("D360-API-KEY alias", func(t *testing.T) {
		r := serveNet(t, h, netReq{method: http.MethodGet, path: "/metrics", header: map[string]string{"D360-API-KEY": e.token}})
		if r.status != http.StatusOK {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
	})
}
