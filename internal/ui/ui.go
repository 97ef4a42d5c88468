// Package ui is waba's web UI: one page of plain HTML, CSS and JavaScript embedded in the
// binary (no build step), plus a few small token-checked JSON endpoints and a server-sent
// events stream that tells the page when something changed.
//
// The static assets are public; every piece of data goes through an API that checks the admin
// bearer token: the On-Prem /v1 API, the sandbox API, /metrics, and the endpoints here. The
// events stream takes its token as `?token=` because EventSource cannot set headers.
package ui

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/wa"
)

//go:embed static
var staticFS embed.FS

// Authenticator checks a bearer token (engine.Engine implements it).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (store.User, error)
}

// Clock is the virtual clock.
type Clock interface {
	Now() time.Time
}

// Options configure the UI.
type Options struct {
	Store    store.Store
	Auth     Authenticator
	Clock    Clock
	Business string // the default business number (wa_id form)
	// Shards is the dispatch shard count; this process owns all of them (one node until
	// leases arrive, DESIGN §6).
	Shards int
	Logger *slog.Logger
	// Poll is how often the events stream looks at the store; 500 ms when zero.
	Poll time.Duration
}

// UI serves the page, its assets and its data endpoints.
type UI struct {
	o      Options
	static http.Handler
	index  []byte
	mux    *http.ServeMux
	done   chan struct{} // closed by Close: open event streams end
	once   sync.Once
}

// Close ends every open events stream (the HTTP server's Shutdown waits for them otherwise).
// Register it with http.Server.RegisterOnShutdown.
func (u *UI) Close() { u.once.Do(func() { close(u.done) }) }

// New builds the UI.
func New(o Options) *UI {
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	u := &UI{o: o, static: http.StripPrefix("/ui/", http.FileServerFS(sub)), index: index, mux: http.NewServeMux(), done: make(chan struct{})}
	u.mux.HandleFunc("GET /{$}", u.serveIndex)
	u.mux.HandleFunc("GET /ui/events", u.events)
	u.mux.HandleFunc("GET /ui/api/info", u.authed(u.info))
	u.mux.HandleFunc("GET /ui/api/conversations", u.authed(u.conversations))
	u.mux.HandleFunc("GET /ui/api/chat", u.authed(u.chat))
	u.mux.HandleFunc("GET /ui/api/stats", u.authed(u.statsJSON))
	u.mux.HandleFunc("/ui/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "No such UI endpoint")
	})
	u.mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		u.static.ServeHTTP(w, r)
	})
	return u
}

// ServeHTTP routes `/` (the page) and everything under `/ui/`.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	u.mux.ServeHTTP(w, r)
}

func (u *UI) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	w.Write(u.index)
}

// authed requires an admin bearer token, as the sandbox API does.
func (u *UI) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !u.check(w, r, strings.TrimSpace(tok)) {
			return
		}
		h(w, r)
	}
}

func (u *UI) check(w http.ResponseWriter, r *http.Request, tok string) bool {
	if tok == "" {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Send Authorization: Bearer <token> from POST /v1/users/login")
		return false
	}
	usr, err := u.o.Auth.Authenticate(r.Context(), tok)
	if err != nil {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Missing or invalid authentication credentials")
		return false
	}
	if usr.Role != store.RoleAdmin {
		writeError(w, http.StatusForbidden, "forbidden", "The web UI needs the admin role")
		return false
	}
	return true
}

func (u *UI) info(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"business": u.o.Business, "now": u.o.Clock.Now().UTC(),
		"shards": u.o.Shards, "nodes": 1})
}

// conversation is one peer's thread as the left column lists it.
type conversation struct {
	Peer      string    `json:"peer"`
	Business  string    `json:"business"`
	Count     int       `json:"count"`
	LastType  string    `json:"last_type"`
	LastDir   string    `json:"last_direction"`
	LastText  string    `json:"last_text"`
	Status    string    `json:"status"`
	ErrorCode int       `json:"error_code,omitempty"`
	At        time.Time `json:"at"`
}

// conversations groups the newest messages by peer, newest conversation first.
func (u *UI) conversations(w http.ResponseWriter, r *http.Request) {
	msgs, err := u.o.Store.ListMessages(r.Context(), "", 1000)
	if err != nil {
		u.fail(w, err)
		return
	}
	out := []*conversation{}
	byPeer := map[string]*conversation{}
	for _, m := range msgs { // newest first
		c, ok := byPeer[m.Peer]
		if !ok {
			c = &conversation{Peer: m.Peer, Business: m.Business, LastType: m.Type, LastDir: string(m.Direction),
				LastText: summary(m.Type, m.Payload), Status: m.Status, At: m.CreatedAt}
			if m.Status == "failed" {
				c.ErrorCode, _ = u.failure(r.Context(), m.ID)
			}
			byPeer[m.Peer] = c
			out = append(out, c)
		}
		c.Count++
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": out})
}

// failure finds the error code and title of a failed outbound message in its status webhooks.
func (u *UI) failure(ctx context.Context, id int64) (int, string) {
	hooks, err := u.o.Store.ListWebhooks(ctx, store.WebhookFilter{MessageID: id, Limit: 20})
	if err != nil {
		return 0, ""
	}
	for _, h := range hooks {
		if code, title := errorOf(h.Payload); code != 0 {
			return code, title
		}
	}
	return 0, ""
}

func errorOf(payload []byte) (int, string) {
	var p struct {
		Status string `json:"status"`
		Errors []struct {
			Code    int    `json:"code"`
			Title   string `json:"title"`
			Details string `json:"details"`
		} `json:"errors"`
	}
	if json.Unmarshal(payload, &p) != nil || len(p.Errors) == 0 {
		return 0, ""
	}
	e := p.Errors[0]
	t := e.Title
	if e.Details != "" {
		t += ": " + e.Details
	}
	return e.Code, t
}

// summary is a one-line preview of a message.
func summary(typ string, payload []byte) string {
	var p map[string]json.RawMessage
	if json.Unmarshal(payload, &p) != nil {
		return typ
	}
	str := func(raw json.RawMessage, path ...string) string {
		for _, k := range path {
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) != nil {
				return ""
			}
			raw = m[k]
		}
		var s string
		json.Unmarshal(raw, &s)
		return s
	}
	var s string
	switch typ {
	case "text":
		s = str(p["text"], "body")
	case "template":
		s = "📄 " + str(p["template"], "name")
	case "interactive":
		s = str(p["interactive"], "body", "text")
		if s == "" {
			s = str(p["interactive"], "button_reply", "title") + str(p["interactive"], "list_reply", "title")
		}
	case "image", "video", "document", "audio", "voice", "sticker":
		s = "📎 " + typ
		if c := str(p[typ], "caption"); c != "" {
			s += ": " + c
		}
	case "location":
		s = "📍 " + str(p["location"], "name")
	case "button":
		s = str(p["button"], "text")
	}
	if s == "" {
		s = typ
	}
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80]) + "…"
	}
	return s
}

type hookView struct {
	ID        int64           `json:"id"`
	Kind      string          `json:"kind"`
	State     string          `json:"state"`
	Attempts  int             `json:"attempts"`
	LastError string          `json:"last_error,omitempty"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt time.Time       `json:"created_at"`
	// The newest attempt that carried it, if any.
	HTTPStatus int    `json:"http_status"`
	LatencyMS  int64  `json:"latency_ms"`
	Response   string `json:"response,omitempty"`
	Tried      bool   `json:"tried"`
}

type chatMessage struct {
	ID         string          `json:"id"`
	Direction  string          `json:"direction"`
	Business   string          `json:"business"`
	Peer       string          `json:"peer"`
	Type       string          `json:"type"`
	Status     string          `json:"status"`
	Payload    json.RawMessage `json:"payload"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	ErrorCode  int             `json:"error_code,omitempty"`
	ErrorTitle string          `json:"error_title,omitempty"`
	Webhooks   []hookView      `json:"webhooks"`
}

// chat answers one peer's newest messages, oldest first, each with its webhooks and the
// newest attempt of each.
func (u *UI) chat(w http.ResponseWriter, r *http.Request) {
	peer, ok := wa.NormalizePhone(r.URL.Query().Get("peer"))
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_peer", "peer must be a phone number")
		return
	}
	msgs, err := u.o.Store.ListMessages(r.Context(), peer, 60)
	if err != nil {
		u.fail(w, err)
		return
	}
	out := make([]chatMessage, 0, len(msgs))
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		cm := chatMessage{ID: wa.OnPremID(m.ID, m.Direction == store.Inbound), Direction: string(m.Direction),
			Business: m.Business, Peer: m.Peer, Type: m.Type, Status: m.Status, Payload: json.RawMessage(m.Payload),
			CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, Webhooks: []hookView{}}
		if len(cm.Payload) == 0 {
			cm.Payload = json.RawMessage("null")
		}
		hooks, err := u.o.Store.ListWebhooks(r.Context(), store.WebhookFilter{MessageID: m.ID, Limit: 20})
		if err != nil {
			u.fail(w, err)
			return
		}
		for j := len(hooks) - 1; j >= 0; j-- { // oldest first, as they happened
			h := hooks[j]
			hv := hookView{ID: h.ID, Kind: h.Kind, State: h.State, Attempts: h.Attempts, LastError: h.LastError,
				Payload: json.RawMessage(h.Payload), CreatedAt: h.CreatedAt}
			if code, title := errorOf(h.Payload); code != 0 && cm.ErrorCode == 0 {
				cm.ErrorCode, cm.ErrorTitle = code, title
			}
			if as, err := u.o.Store.ListAttempts(r.Context(), h.ID, 1); err == nil && len(as) > 0 {
				hv.Tried, hv.HTTPStatus, hv.LatencyMS, hv.Response = true, as[0].Status, as[0].LatencyMS, clip(string(as[0].Response), 500)
				if as[0].Error != "" && hv.Response == "" {
					hv.Response = as[0].Error
				}
			}
			cm.Webhooks = append(cm.Webhooks, hv)
		}
		out = append(out, cm)
	}
	writeJSON(w, http.StatusOK, map[string]any{"peer": peer, "messages": out})
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (u *UI) fail(w http.ResponseWriter, err error) {
	u.o.Logger.Error("ui call failed", "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "Internal error; the server log has the cause")
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encoding failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
