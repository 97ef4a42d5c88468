package onprem

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/store/sqlite"
	"github.com/openwaba/waba/internal/wa"
)

const settingsAdminPassword = "T3st-Passw0rd!"

// settingsServer serves /v1 from an engine on a fresh SQLite store and returns its URL, an
// admin token and a ROLE_USER token.
func settingsServer(t *testing.T) (base, admin, user string) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "waba.db"), log)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	eng := engine.New(engine.Options{
		Store: st, Clock: clock.NewVirtual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)),
		IDs: wa.NewIDs(1), Logger: log, Business: "16315551019",
	})
	if err := eng.EnsureAdmin(ctx, settingsAdminPassword); err != nil {
		t.Fatal(err)
	}
	res, err := eng.Login(ctx, "127.0.0.1", engine.AdminUser, settingsAdminPassword, "")
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	admin = res.Token
	if err := eng.CreateUser(ctx, "127.0.0.1", "jdoe", "Passw0rd!x"); err != nil {
		t.Fatal(err)
	}
	if res, err = eng.Login(ctx, "127.0.0.1", "jdoe", "Passw0rd!x", ""); err != nil {
		t.Fatalf("user login: %v", err)
	}
	srv := httptest.NewServer(New(eng, log, 1<<20))
	t.Cleanup(srv.Close)
	return srv.URL, admin, res.Token
}

func call(t *testing.T, method, url, token, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, url, ct)
	}
	return resp.StatusCode, string(b)
}

// sameJSON compares two JSON texts ignoring key order and spacing.
func sameJSON(t *testing.T, got, want string) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal([]byte(got), &a); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	ga, _ := json.Marshal(a)
	wb, _ := json.Marshal(b)
	if string(ga) != string(wb) {
		t.Errorf("body mismatch\n got: %s\nwant: %s", ga, wb)
	}
}

const metaJSON = `{"api_status":"stable","version":"` + Version + `"}`

func TestAppSettingsEndpoint(t *testing.T) {
	base, admin, _ := settingsServer(t)
	url := base + "/v1/settings/application"
	defaults := `{"settings":{"application":{
		"callback_backoff_delay_ms":3000,"callback_persist":true,
		"garbagecollector_enable":{"media":false,"messages":true},"heartbeat_interval":5,
		"max_callback_backoff_delay_ms":900000,
		"media":{"auto_download":["image","video","voice","sticker","audio","document"]},
		"notify_user_change_number":true,"pass_through":true,"sent_status":false,
		"show_security_notifications":true,"skip_referral_media_download":false,"unhealthy_interval":30,
		"wa_id":"16315551019",
		"webhooks":{"max_concurrent_requests":6,"message":{"sent":false,"delivered":true,"read":true},"signature_secret_set":false},
		"verbose_logging":false,"log_level":"info"}},"meta":` + metaJSON + `}`

	status, body := call(t, http.MethodGet, url, admin, "", "")
	if status != http.StatusOK {
		t.Fatalf("GET: %d %s", status, body)
	}
	sameJSON(t, body, defaults)
	if !strings.HasPrefix(body, `{"settings":`) {
		t.Errorf("GET body should start with the payload key: %s", body)
	}

	// PATCH: 200 with meta only; GET shows the change and never the secret.
	status, body = call(t, http.MethodPatch, url, admin, "application/json",
		`{"webhooks":{"url":"https://example.com/wa-callback","max_concurrent_requests":12,"signature_secret":"hush-hush"},"callback_backoff_delay_ms":"5000"}`)
	if status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", status, body)
	}
	sameJSON(t, body, `{"meta":`+metaJSON+`}`)
	status, body = call(t, http.MethodGet, url, admin, "", "")
	if status != http.StatusOK {
		t.Fatalf("GET: %d %s", status, body)
	}
	sameJSON(t, body, strings.NewReplacer(
		`"callback_backoff_delay_ms":3000`, `"callback_backoff_delay_ms":5000`,
		`"webhooks":{"max_concurrent_requests":6,`, `"webhooks":{"url":"https://example.com/wa-callback","max_concurrent_requests":12,`,
		`"signature_secret_set":false`, `"signature_secret_set":true`,
	).Replace(defaults))
	if strings.Contains(body, "hush-hush") {
		t.Errorf("GET shows the signature secret: %s", body)
	}

	// DELETE: 200 with meta only, then the defaults again.
	status, body = call(t, http.MethodDelete, url, admin, "", "")
	if status != http.StatusOK {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	sameJSON(t, body, `{"meta":`+metaJSON+`}`)
	_, body = call(t, http.MethodGet, url, admin, "", "")
	sameJSON(t, body, defaults)
}

func TestAppSettingsEndpointErrors(t *testing.T) {
	base, admin, user := settingsServer(t)
	url := base + "/v1/settings/application"
	errBody := func(code int, title, details string) string {
		b, _ := json.Marshal(errorEnvelope{Errors: []ErrorObject{{Code: code, Title: title, Details: details}}, Meta: meta})
		return string(b)
	}
	tests := []struct {
		name, method, token, contentType, body string
		status                                 int
		want                                   string
	}{
		{"no token", http.MethodGet, "", "", "", 401,
			errBody(1005, "Access denied", "Missing or invalid authentication credentials")},
		{"not an admin", http.MethodGet, user, "", "", 403,
			errBody(1005, "Access denied", "This call needs the admin role")},
		{"not an admin patch", http.MethodPatch, user, "application/json", `{"sent_status":true}`, 403,
			errBody(1005, "Access denied", "This call needs the admin role")},
		{"wrong method", http.MethodPost, admin, "application/json", `{}`, 405,
			errBody(1025, "Invalid Request", "Method POST is not allowed on /v1/settings/application; use GET or PATCH or DELETE")},
		{"no content type", http.MethodPatch, admin, "", `{"sent_status":true}`, 400,
			errBody(1025, "Invalid Request", `Content-Type must be application/json (got "")`)},
		{"unknown field", http.MethodPatch, admin, "application/json", `{"webhooks":{"urll":"https://x.example"}}`, 400,
			errBody(1010, "Parameter is not required", "Parameter 'webhooks.urll' is not a known application setting (shared/reference/onprem-api.md §9.1 lists them)")},
		{"bad max_concurrent", http.MethodPatch, admin, "application/json", `{"webhooks":{"max_concurrent_requests":10}}`, 400,
			errBody(1009, "Parameter value is not valid", "Parameter 'webhooks.max_concurrent_requests' has invalid value '10': must be one of 6, 12, 18, 24")},
		{"bad url", http.MethodPatch, admin, "application/json", `{"webhooks":{"url":"example.com/hook"}}`, 400,
			errBody(1009, "Parameter value is not valid", `Parameter 'webhooks.url' has invalid value '"example.com/hook"': must be an absolute https:// (or, for local testing, http://) URL with a host`)},
		{"bad type", http.MethodPatch, admin, "application/json", `{"callback_persist":1}`, 400,
			errBody(1009, "Parameter value is not valid", "Parameter 'callback_persist' has invalid value '1': must be true or false")},
		{"not json", http.MethodPatch, admin, "application/json", `{"callback_persist":`, 400,
			errBody(1025, "Invalid Request", "Request body is not valid JSON")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, tc.method, url, tc.token, tc.contentType, tc.body)
			if status != tc.status {
				t.Errorf("status %d, want %d: %s", status, tc.status, body)
			}
			sameJSON(t, body, tc.want)
		})
	}
	// Nothing above changed anything.
	_, body := call(t, http.MethodGet, url, admin, "", "")
	if !strings.Contains(body, `"sent_status":false`) || strings.Contains(body, `"url"`) || !strings.Contains(body, `"callback_persist":true`) {
		t.Errorf("a rejected request changed the settings: %s", body)
	}
}
