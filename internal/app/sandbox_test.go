package app

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
)

// TestOutageAndHealth: a scheduled API outage answers sends with 503/1016 and shows
// `connecting` in /v1/health until it ends on the virtual clock (errors.md §5 row 10).
func TestOutageAndHealth(t *testing.T) {
	cfg := config.Default()
	cfg.Addr, cfg.Data = "127.0.0.1:0", t.TempDir()
	w := newWorld(t, cfg)
	health := func() string {
		r := do(t, w.base, request{method: "GET", path: "/v1/health", token: w.tok})
		return string(r.raw)
	}
	if h := health(); h != `{"health":{"gateway_status":"connected"},"meta":{"api_status":"stable","version":"v2.45.1"}}` {
		t.Fatalf("health: %s", h)
	}
	if r := w.sandbox("POST", "/outage", `{"seconds":120}`); r.status != 200 {
		t.Fatalf("outage: %d %s", r.status, r.raw)
	}
	r := do(t, w.base, request{method: "POST", path: "/v1/messages", token: w.tok, body: `{"to":"15551230001","type":"template","template":{"name":"hello_world","language":{"policy":"deterministic","code":"en_US"}}}`})
	wantError(t, r, 503, 1016, "System overloaded", "The API is temporarily unavailable for maintenance; retry in a few minutes")
	if h := health(); !strings.Contains(h, `"gateway_status":"connecting"`) {
		t.Fatalf("health during the outage: %s", h)
	}
	w.advance(121 * time.Second)
	w.template("15551230001")
	if r := w.sandbox("POST", "/outage", `{"seconds":301}`); r.status != 400 {
		t.Fatalf("an outage over 5 minutes must be refused: %d %s", r.status, r.raw)
	}
	// Network down: health says disconnected and contacts cannot be checked.
	w.sandbox("POST", "/network/down", "")
	if h := health(); !strings.Contains(h, `"gateway_status":"disconnected"`) {
		t.Fatalf("health with the network down: %s", h)
	}
	r = do(t, w.base, request{method: "POST", path: "/v1/contacts", token: w.tok, body: `{"blocking":"wait","contacts":["+1 555 123 0005"]}`})
	if r.status != 200 || !strings.Contains(string(r.raw), `{"input":"+1 555 123 0005","status":"failed"}`) {
		t.Fatalf("contacts with the network down: %d %s", r.status, r.raw)
	}
	w.sandbox("POST", "/network/up", "")
	r = do(t, w.base, request{method: "POST", path: "/v1/contacts", token: w.tok, body: `{"blocking":"wait","contacts":["+1 555 123 0005"]}`})
	if r.status != 200 || !strings.Contains(string(r.raw), `{"input":"+1 555 123 0005","status":"valid","wa_id":"15551230005"}`) {
		t.Fatalf("contacts: %d %s", r.status, r.raw)
	}
}

// TestSystemMessages: identity and number changes reach the business as On-Prem system
// messages, without a contacts block (webhooks.md §2.8).
func TestSystemMessages(t *testing.T) {
	cfg := config.Default()
	cfg.Addr, cfg.Data = "127.0.0.1:0", t.TempDir()
	w := newWorld(t, cfg)
	u := w.sandbox("POST", "/users/15551236000/identity", "")
	if u.status != 200 {
		t.Fatalf("identity: %d %s", u.status, u.raw)
	}
	msgs, contacts := w.waitMessages("15551236000", 1)
	sys := msgs[0]["system"].(map[string]any)
	if msgs[0]["type"] != "system" || sys["type"] != "user_identity_changed" || sys["user"] != "15551236000" ||
		sys["identity"] != u.body["identity_hash"] || len(contacts) != 0 {
		t.Fatalf("identity system message: %s contacts %s", mustJSON(msgs[0]), mustJSON(contacts))
	}
	if r := w.sandbox("POST", "/users/15551236001/number", `{"new_wa_id":"15551236002"}`); r.status != 200 {
		t.Fatalf("number change: %d %s", r.status, r.raw)
	}
	msgs, _ = w.waitMessages("15551236001", 1)
	sys = msgs[0]["system"].(map[string]any)
	if sys["type"] != "user_changed_number" || sys["new_wa_id"] != "15551236002" || !strings.HasPrefix(sys["body"].(string), "User ") {
		t.Fatalf("number system message: %s", mustJSON(msgs[0]))
	}
}

// TestSanctionedBusinessRefused: a business number in a sanctioned country does not start
// (seed 000; errors.md §5 row 7).
func TestSanctionedBusinessRefused(t *testing.T) {
	cfg := config.Default()
	cfg.Addr, cfg.Data = "127.0.0.1:0", t.TempDir()
	cfg.PhoneNumber = "5351234567" // Cuba
	_, err := New(context.Background(), cfg, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "sanctioned country") {
		t.Fatalf("New with a Cuban business number: %v", err)
	}
}

// TestMetrics: /metrics needs the bearer token and counts accepted messages, statuses and
// webhook deliveries.
func TestMetrics(t *testing.T) {
	cfg := config.Default()
	cfg.Addr, cfg.Data = "127.0.0.1:0", t.TempDir()
	w := newWorld(t, cfg)
	w.expectStatuses(w.template("15551230001"), "sent", "delivered", "read")
	wantError(t, do(t, w.base, request{method: "GET", path: "/metrics"}), 401, 1005, "Access denied", accessDenied)
	text := getText(t, w.base+"/metrics", w.tok)
	for _, want := range []string{
		`waba_messages_accepted_total{type="template"} 1`,
		`waba_messages_status_total{status="read",type="template"} 1`,
		`waba_messages_status_total{status="delivered",type="template"} 1`,
		`waba_webhook_deliveries_total{result="delivered"}`,
		`waba_webhook_queue_depth 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The SQLite writer's counters: the accepted message, its transitions and webhook results
	// all went through it.
	for _, name := range []string{"waba_store_write_transactions_total", "waba_store_write_jobs_total", "waba_store_writer_busy_seconds_total", "waba_store_commit_seconds_total", "waba_store_wal_syncs_total", "waba_store_wal_sync_seconds_total"} {
		m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Errorf("/metrics lacks %s", name)
			continue
		}
		if v, err := strconv.ParseFloat(m[1], 64); err != nil || v <= 0 {
			t.Errorf("%s = %q, want > 0", name, m[1])
		}
	}
}

func getText(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}
