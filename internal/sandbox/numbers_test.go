package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/store/sqlite"
	"github.com/openwaba/waba/internal/wa"
)

// numbersEnv serves the sandbox over an engine whose registry holds one default number.
type numbersEnv struct {
	url, token string
	eng        *engine.Engine
	clk        *clock.Virtual
}

func newNumbersEnv(t *testing.T) *numbersEnv {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "waba.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewVirtual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	eng := engine.New(engine.Options{Store: st, Clock: clk, IDs: wa.NewIDs(1), Logger: log, Business: "16315551019"})
	if err := eng.EnsureAdmin(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	res, err := eng.Login(ctx, "127.0.0.1", engine.AdminUser, adminPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.UpdateRegistry(ctx, func(r *engine.Registry) error {
		r.Numbers = []engine.Number{{Phone: "16315551019", PhoneNumberID: "106540352242922", WABAID: "102290129340398", WebhookDialect: engine.DialectCloud}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Options{Engine: eng, Store: st, Clock: clk, Logger: log}))
	t.Cleanup(srv.Close)
	return &numbersEnv{url: srv.URL, token: res.Token, eng: eng, clk: clk}
}

func (e *numbersEnv) call(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %v\n%s", method, path, err, raw)
	}
	return resp.StatusCode, out
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

var graphIDShape = regexp.MustCompile(`^[1-9][0-9]{14}$`)

func TestSandboxNumbers(t *testing.T) {
	e := newNumbersEnv(t)

	status, body := e.call(t, "POST", "/sandbox/v1/numbers", `{"phone":"+1 555 000 2222","throughput":200,"batch_webhooks":true,"graph_version":"v23.0"}`)
	id, _ := body["phone_number_id"].(string)
	want := map[string]any{"phone": "15550002222", "phone_number_id": id, "waba_id": "102290129340398", "verified_name": "",
		"webhook_dialect": "cloud", "batch_webhooks": true, "throughput": float64(200), "graph_version": "v23.0"}
	if status != 201 || !graphIDShape.MatchString(id) || mustEqual(body, want) != "" {
		t.Fatalf("add: %d %v", status, mustEqual(body, want))
	}
	reg, _ := e.eng.Registry(t.Context())
	if n, ok := reg.NumberByID(id); !ok || n.Phone != "15550002222" {
		t.Fatalf("registry: %+v", reg)
	}

	for _, c := range []struct{ name, body, code string }{
		{"not JSON", `{`, "invalid_body"},
		{"unknown field", `{"phone":"15550003333","colour":"red"}`, "invalid_body"},
		{"no phone", `{}`, "invalid_phone"},
		{"bad phone", `{"phone":"abc"}`, "invalid_phone"},
		{"sanctioned", `{"phone":"+98 912 345 6789"}`, "restricted_business"},
		{"twice", `{"phone":"15550002222"}`, "req.invalid_value"},
		{"dialect", `{"phone":"15550003333","webhook_dialect":"telex"}`, "req.invalid_value"},
		{"throughput", `{"phone":"15550003333","throughput":5}`, "req.invalid_value"},
		{"graph version", `{"phone":"15550003333","graph_version":"24"}`, "req.invalid_value"},
		{"waba id", `{"phone":"15550003333","waba_id":"x1"}`, "invalid_waba_id"},
	} {
		if status, body := e.call(t, "POST", "/sandbox/v1/numbers", c.body); status != 400 || errCode(body) != c.code {
			t.Errorf("%s: %d %v, want 400 %s", c.name, status, body, c.code)
		}
	}

	status, body = e.call(t, "PATCH", "/sandbox/v1/numbers/15550002222", `{"throughput":1000,"webhook_dialect":"onprem"}`)
	if status != 200 || body["throughput"] != float64(1000) || body["webhook_dialect"] != "onprem" || body["graph_version"] != "v23.0" {
		t.Fatalf("update: %d %v", status, body)
	}
	if status, body := e.call(t, "PATCH", "/sandbox/v1/numbers/15559999999", `{}`); status != 404 || errCode(body) != "not_found" {
		t.Fatalf("update unknown: %d %v", status, body)
	}
	if status, body := e.call(t, "PATCH", "/sandbox/v1/numbers/15550002222", `{"throughput":2000}`); status != 400 || errCode(body) != "req.invalid_value" {
		t.Fatalf("update bad throughput: %d %v", status, body)
	}

	status, body = e.call(t, "GET", "/sandbox/v1/numbers", "")
	nums, _ := body["numbers"].([]any)
	if status != 200 || len(nums) != 2 || nums[0].(map[string]any)["phone"] != "16315551019" {
		t.Fatalf("list: %d %v", status, body)
	}
}

func TestSandboxCloudTokens(t *testing.T) {
	e := newNumbersEnv(t)

	status, body := e.call(t, "POST", "/sandbox/v1/cloud/tokens", `{"permissions":["whatsapp_business_messaging"],"expires_in":60}`)
	secret, _ := body["token"].(string)
	id, _ := body["id"].(string)
	created, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(body["created_at"]))
	expires, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(body["expires_at"]))
	// 60 s after creation on the virtual clock (which moves with real time: compare the two,
	// not a fixed instant, so a slow run under -race passes too).
	if status != 201 || !strings.HasPrefix(secret, "EAAG") || len(id) != 16 || created.IsZero() || expires.Sub(created) != time.Minute {
		t.Fatalf("create: %d %v", status, body)
	}
	if tok, err := e.eng.CloudToken(t.Context(), secret); err != nil || !tok.Has(engine.PermMessaging) || tok.Has(engine.PermManagement) {
		t.Fatalf("engine sees %+v %v", tok, err)
	}
	status, body = e.call(t, "POST", "/sandbox/v1/cloud/tokens", ``)
	if perms, _ := body["permissions"].([]any); status != 201 || len(perms) != 2 || body["expires_at"] != nil {
		t.Fatalf("create with defaults: %d %v", status, body)
	}
	for _, c := range []struct{ name, body, code string }{
		{"unknown permission", `{"permissions":["ads_management"]}`, "req.invalid_value"},
		{"no permission", `{"permissions":[]}`, "req.invalid_value"},
		{"negative expiry", `{"expires_in":-1}`, "req.invalid_value"},
		{"unknown field", `{"scope":"all"}`, "invalid_body"},
	} {
		if status, body := e.call(t, "POST", "/sandbox/v1/cloud/tokens", c.body); status != 400 || errCode(body) != c.code {
			t.Errorf("%s: %d %v, want 400 %s", c.name, status, body, c.code)
		}
	}

	status, body = e.call(t, "GET", "/sandbox/v1/cloud/tokens", "")
	toks, _ := body["tokens"].([]any)
	if status != 200 || len(toks) != 2 || toks[0].(map[string]any)["id"] != id || strings.Contains(mustJSONString(body), secret) {
		t.Fatalf("list: %d %v", status, body)
	}
	if status, body := e.call(t, "DELETE", "/sandbox/v1/cloud/tokens/"+id, ""); status != 200 || body["revoked"] != id {
		t.Fatalf("revoke: %d %v", status, body)
	}
	if status, body := e.call(t, "DELETE", "/sandbox/v1/cloud/tokens/"+id, ""); status != 404 || errCode(body) != "resource.not_found" {
		t.Fatalf("revoke again: %d %v", status, body)
	}
	if _, err := e.eng.CloudToken(t.Context(), secret); err == nil {
		t.Fatal("revoked token still valid")
	}
}

func mustJSONString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// mustEqual returns "" when got and want marshal alike, else both.
func mustEqual(got, want any) string {
	g, w := mustJSONString(got), mustJSONString(want)
	if g == w {
		return ""
	}
	return "got " + g + "\nwant " + w
}
