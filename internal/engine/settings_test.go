package engine

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/store/sqlite"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

const settingsBusiness = "15550001111"

func settingsStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "waba.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func settingsEngine(t *testing.T, st store.Store) *Engine {
	t.Helper()
	return New(Options{
		Store:    st,
		Clock:    clock.NewVirtual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)),
		IDs:      wa.NewIDs(1),
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Business: settingsBusiness,
	})
}

// The default settings, in the exact wire shape of §9.1 (plus waba's signature_secret_set).
const defaultSettingsJSON = `{
  "callback_backoff_delay_ms": 3000,
  "callback_persist": true,
  "garbagecollector_enable": {"media": false, "messages": true},
  "heartbeat_interval": 5,
  "max_callback_backoff_delay_ms": 900000,
  "media": {"auto_download": ["image", "video", "voice", "sticker", "audio", "document"]},
  "notify_user_change_number": true,
  "pass_through": true,
  "sent_status": false,
  "show_security_notifications": true,
  "skip_referral_media_download": false,
  "unhealthy_interval": 30,
  "wa_id": "15550001111",
  "webhooks": {"max_concurrent_requests": 6, "message": {"sent": false, "delivered": true, "read": true},
               "signature_secret_set": false},
  "verbose_logging": false,
  "log_level": "info"
}`

func jsonEqual(t *testing.T, got any, want string) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(g, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatalf("bad want JSON: %v", err)
	}
	ga, _ := json.Marshal(a)
	wb, _ := json.Marshal(b)
	if string(ga) != string(wb) {
		t.Errorf("JSON mismatch\n got: %s\nwant: %s", ga, wb)
	}
}

func TestAppSettingsDefaults(t *testing.T) {
	e := settingsEngine(t, settingsStore(t))
	s, err := e.AppSettings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, s, defaultSettingsJSON)
	for status, want := range map[string]bool{"sent": false, "delivered": true, "read": true, "failed": true, "deleted": true, "warning": true} {
		if got := s.WantStatus(status); got != want {
			t.Errorf("WantStatus(%q) = %v, want %v", status, got, want)
		}
	}
	if s.BackoffStep() != 3*time.Second || s.MaxBackoff() != 15*time.Minute {
		t.Errorf("backoff %v / %v, want 3s / 15m", s.BackoffStep(), s.MaxBackoff())
	}
}

func TestPatchAppSettingsMergesOnlyWhatIsSent(t *testing.T) {
	ctx := context.Background()
	st := settingsStore(t)
	e := settingsEngine(t, st)
	got, err := e.PatchAppSettings(ctx, []byte(`{"webhooks":{"url":"https://example.com/wa-callback","max_concurrent_requests":"12"},
		"callback_backoff_delay_ms":"1000","max_callback_backoff_delay_ms":60000,"sent_status":true,
		"garbagecollector_enable":{"media":true},"media":{"auto_download":["image","image","audio"]},"on_call_pager":"+1 555 000 2222"}`))
	if err != nil {
		t.Fatalf("PatchAppSettings: %v", err)
	}
	want := strings.NewReplacer(
		`"callback_backoff_delay_ms": 3000`, `"callback_backoff_delay_ms": 1000`,
		`"max_callback_backoff_delay_ms": 900000`, `"max_callback_backoff_delay_ms": 60000`,
		`"sent_status": false`, `"sent_status": true`,
		`{"media": false, "messages": true}`, `{"media": true, "messages": true}`,
		`["image", "video", "voice", "sticker", "audio", "document"]`, `["image", "audio"]`,
		`"notify_user_change_number": true,`, `"notify_user_change_number": true, "on_call_pager": "15550002222",`,
		`"webhooks": {"max_concurrent_requests": 6, "message": {"sent": false,`,
		`"webhooks": {"url": "https://example.com/wa-callback", "max_concurrent_requests": 12, "message": {"sent": true,`,
	).Replace(defaultSettingsJSON)
	jsonEqual(t, got, want)

	// Cached read, then a fresh engine on the same store (no cache): the same settings.
	cached, _ := e.AppSettings(ctx)
	jsonEqual(t, cached, want)
	fresh, err := settingsEngine(t, st).AppSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, fresh, want)
	if !fresh.WantStatus("sent") {
		t.Error("sent_status true: WantStatus(sent) = false")
	}

	// A second patch keeps the first one's fields.
	if _, err := e.PatchAppSettings(ctx, []byte(`{"webhooks":{"message":{"read":false}}}`)); err != nil {
		t.Fatal(err)
	}
	s, _ := e.AppSettings(ctx)
	if s.Webhooks.URL != "https://example.com/wa-callback" || s.Webhooks.MaxConcurrentRequests != 12 || s.Webhooks.Message.Read || !s.Webhooks.Message.Delivered {
		t.Errorf("after second patch: %+v", s.Webhooks)
	}
	if s.WantStatus("read") {
		t.Error("webhooks.message.read false: WantStatus(read) = true")
	}
	// An empty URL unsets it; http is accepted for local receivers.
	if _, err := e.PatchAppSettings(ctx, []byte(`{"webhooks":{"url":""}}`)); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.AppSettings(ctx); s.Webhooks.URL != "" {
		t.Errorf("url after clearing = %q", s.Webhooks.URL)
	}
	if _, err := e.PatchAppSettings(ctx, []byte(`{"webhooks":{"url":"http://127.0.0.1:8080/hook?x=1"}}`)); err != nil {
		t.Errorf("http URL refused: %v", err)
	}
}

func TestSentSwitchesAreOne(t *testing.T) {
	ctx := context.Background()
	e := settingsEngine(t, settingsStore(t))
	for _, tc := range []struct {
		patch string
		want  bool
	}{
		{`{"webhooks":{"message":{"sent":true}}}`, true},
		{`{"sent_status":false}`, false},
		{`{"sent_status":true,"webhooks":{"message":{"sent":true}}}`, true},
	} {
		s, err := e.PatchAppSettings(ctx, []byte(tc.patch))
		if err != nil {
			t.Fatalf("%s: %v", tc.patch, err)
		}
		if s.SentStatus != tc.want || s.Webhooks.Message.Sent != tc.want || s.WantStatus("sent") != tc.want {
			t.Errorf("%s: sent_status %v, webhooks.message.sent %v, want both %v", tc.patch, s.SentStatus, s.Webhooks.Message.Sent, tc.want)
		}
	}
}

func TestPatchAppSettingsRejects(t *testing.T) {
	tests := []struct {
		name   string
		patch  string
		cond   *waerr.Condition
		detail string // must appear in the details
	}{
		{"not JSON", `{"webhooks":`, waerr.InvalidRequest, "not valid JSON"},
		{"empty body", ``, waerr.InvalidRequest, "empty"},
		{"array body", `[1]`, waerr.InvalidRequest, "JSON object"},
		{"unknown top-level field", `{"webhook":{"url":"https://x.example"}}`, waerr.UnexpectedParam, "'webhook'"},
		{"unknown webhooks field", `{"webhooks":{"uri":"https://x.example"}}`, waerr.UnexpectedParam, "'webhooks.uri'"},
		{"unknown message switch", `{"webhooks":{"message":{"failed":true}}}`, waerr.UnexpectedParam, "'webhooks.message.failed'"},
		{"unknown gc field", `{"garbagecollector_enable":{"all":true}}`, waerr.UnexpectedParam, "'garbagecollector_enable.all'"},
		{"max_concurrent not allowed", `{"webhooks":{"max_concurrent_requests":7}}`, waerr.InvalidParam, "'webhooks.max_concurrent_requests'"},
		{"max_concurrent as text", `{"webhooks":{"max_concurrent_requests":"many"}}`, waerr.InvalidParam, "'webhooks.max_concurrent_requests'"},
		{"url ftp", `{"webhooks":{"url":"ftp://example.com/x"}}`, waerr.InvalidParam, "'webhooks.url'"},
		{"url relative", `{"webhooks":{"url":"/hook"}}`, waerr.InvalidParam, "'webhooks.url'"},
		{"url no host", `{"webhooks":{"url":"https:///hook"}}`, waerr.InvalidParam, "'webhooks.url'"},
		{"url number", `{"webhooks":{"url":42}}`, waerr.InvalidParam, "'webhooks.url'"},
		{"webhooks not an object", `{"webhooks":"https://x.example"}`, waerr.InvalidParam, "'webhooks'"},
		{"bool as string", `{"callback_persist":"true"}`, waerr.InvalidParam, "'callback_persist'"},
		{"bool null", `{"pass_through":null}`, waerr.InvalidParam, "'pass_through'"},
		{"backoff zero", `{"callback_backoff_delay_ms":0}`, waerr.InvalidParam, "'callback_backoff_delay_ms'"},
		{"backoff fraction", `{"callback_backoff_delay_ms":1.5}`, waerr.InvalidParam, "'callback_backoff_delay_ms'"},
		{"max backoff negative", `{"max_callback_backoff_delay_ms":"-1"}`, waerr.InvalidParam, "'max_callback_backoff_delay_ms'"},
		{"heartbeat bool", `{"heartbeat_interval":true}`, waerr.InvalidParam, "'heartbeat_interval'"},
		{"auto_download kind", `{"media":{"auto_download":["image","gif"]}}`, waerr.InvalidParam, "'media.auto_download[1]'"},
		{"auto_download not array", `{"media":{"auto_download":"image"}}`, waerr.InvalidParam, "'media.auto_download'"},
		{"wa_id changed", `{"wa_id":"15559999999"}`, waerr.InvalidParam, "read-only"},
		{"on_call_pager junk", `{"on_call_pager":"call me"}`, waerr.InvalidParam, "'on_call_pager'"},
		{"log_level empty", `{"log_level":""}`, waerr.InvalidParam, "'log_level'"},
		{"sent switches disagree", `{"sent_status":true,"webhooks":{"message":{"sent":false}}}`, waerr.InvalidParam, "same switch"},
		{"secret not a string", `{"webhooks":{"signature_secret":12345}}`, waerr.InvalidParam, "'webhooks.signature_secret'"},
		// A valid field before a bad one: nothing at all is stored (checked below).
		{"valid then invalid", `{"callback_persist":false,"webhooks":{"url":"https://ok.example","max_concurrent_requests":5}}`, waerr.InvalidParam, "'webhooks.max_concurrent_requests'"},
	}
	ctx := context.Background()
	e := settingsEngine(t, settingsStore(t))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.PatchAppSettings(ctx, []byte(tc.patch))
			we, ok := waerr.As(err)
			if !ok {
				t.Fatalf("err = %v, want a catalogue error", err)
			}
			if we.Cond != tc.cond {
				t.Errorf("condition %s (%d), want %s (%d): %s", we.Cond.Name, we.Cond.OnPrem.Code, tc.cond.Name, tc.cond.OnPrem.Code, we.Details)
			}
			if !strings.Contains(we.Details, tc.detail) {
				t.Errorf("details %q do not mention %q", we.Details, tc.detail)
			}
		})
	}
	s, err := e.AppSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, s, defaultSettingsJSON)
}

func TestPatchAppSettingsAcceptsRoundTrip(t *testing.T) {
	// A client may PATCH back exactly what GET returned (read-only fields included).
	ctx := context.Background()
	e := settingsEngine(t, settingsStore(t))
	s, _ := e.AppSettings(ctx)
	b, _ := json.Marshal(s)
	got, err := e.PatchAppSettings(ctx, b)
	if err != nil {
		t.Fatalf("round trip refused: %v", err)
	}
	jsonEqual(t, got, defaultSettingsJSON)
}

func TestSignatureSecretIsWriteOnly(t *testing.T) {
	ctx := context.Background()
	st := settingsStore(t)
	e := settingsEngine(t, st)
	s, err := e.PatchAppSettings(ctx, []byte(`{"webhooks":{"signature_secret":"s3cr3t-value"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Webhooks.SignatureSecret != "s3cr3t-value" || !s.Webhooks.SignatureSecretSet {
		t.Errorf("secret not kept: set=%v", s.Webhooks.SignatureSecretSet)
	}
	b, _ := json.Marshal(s)
	if strings.Contains(string(b), "s3cr3t-value") || !strings.Contains(string(b), `"signature_secret_set":true`) {
		t.Errorf("wire JSON = %s: must show signature_secret_set and never the secret", b)
	}
	// Stored, so a restarted engine signs too.
	fresh, err := settingsEngine(t, st).AppSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Webhooks.SignatureSecret != "s3cr3t-value" {
		t.Errorf("secret lost across engines")
	}
	// signature_secret_set is accepted and ignored; "" clears the secret.
	if _, err := e.PatchAppSettings(ctx, []byte(`{"webhooks":{"signature_secret_set":false}}`)); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.AppSettings(ctx); s.Webhooks.SignatureSecret == "" {
		t.Error("signature_secret_set:false cleared the secret")
	}
	if _, err := e.PatchAppSettings(ctx, []byte(`{"webhooks":{"signature_secret":""}}`)); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.AppSettings(ctx); s.Webhooks.SignatureSecret != "" || s.Webhooks.SignatureSecretSet {
		t.Error("empty signature_secret did not clear it")
	}
}

func TestResetAppSettingsAndHooks(t *testing.T) {
	ctx := context.Background()
	st := settingsStore(t)
	e := settingsEngine(t, st)
	var mu sync.Mutex
	var calls []string
	e.OnAppSettingsChange(func(_ context.Context, old, cur AppSettings) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, old.Webhooks.URL+" -> "+cur.Webhooks.URL)
	})
	if _, err := e.PatchAppSettings(ctx, []byte(`{"webhooks":{"url":"https://a.example/h","signature_secret":"k"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PatchAppSettings(ctx, []byte(`{"webhooks":{"max_concurrent_requests":[1]}}`)); err == nil {
		t.Fatal("a bad patch was accepted")
	}
	if err := e.ResetAppSettings(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := e.AppSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, s, defaultSettingsJSON)
	if _, err := st.GetSetting(ctx, AppSettingsKey); err == nil {
		t.Error("reset left the stored settings")
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{" -> https://a.example/h", "https://a.example/h -> "}; strings.Join(calls, "|") != strings.Join(want, "|") {
		t.Errorf("hook calls %q, want %q (none for a rejected patch)", calls, want)
	}
}

func TestAppSettingsReadsStoredOverDefaults(t *testing.T) {
	// Settings stored by an older version lack newer fields: those get their defaults.
	ctx := context.Background()
	st := settingsStore(t)
	if err := st.PutSetting(ctx, AppSettingsKey, []byte(`{"callback_backoff_delay_ms":5000,"webhooks":{"url":"https://x.example"}}`)); err != nil {
		t.Fatal(err)
	}
	s, err := settingsEngine(t, st).AppSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.CallbackBackoffDelayMS != 5000 || s.Webhooks.URL != "https://x.example" || s.Webhooks.MaxConcurrentRequests != 6 ||
		!s.Webhooks.Message.Delivered || s.LogLevel != "info" || len(s.Media.AutoDownload) != 6 {
		t.Errorf("stored over defaults: %+v", s)
	}
}

func FuzzPatchAppSettings(f *testing.F) {
	for _, s := range []string{
		`{"webhooks":{"url":"https://example.com/h","max_concurrent_requests":"12","message":{"sent":true}}}`,
		`{"callback_backoff_delay_ms":"3000","media":{"auto_download":["image"]}}`,
		`{"sent_status":true,"on_call_pager":"+1 555 000 2222"}`, `[]`, `null`, `{"x":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s := DefaultAppSettings(settingsBusiness)
		err := applyAppSettingsPatch(&s, raw)
		if err != nil {
			if _, ok := waerr.As(err); !ok {
				t.Fatalf("not a catalogue error: %v", err)
			}
			return
		}
		s.normalize(settingsBusiness)
		// What was accepted renders, and PATCHing it back changes nothing.
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		again := s.clone()
		if err := applyAppSettingsPatch(&again, b); err != nil {
			t.Fatalf("round trip of %s refused: %v", b, err)
		}
		again.normalize(settingsBusiness)
		b2, _ := json.Marshal(again)
		if string(b) != string(b2) {
			t.Fatalf("round trip changed the settings:\n%s\n%s", b, b2)
		}
	})
}
