package app

import (
	"fmt"
	"testing"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/engine"
)

// TestCloudAsyncCodes: delivery outcomes the Cloud API reports asynchronously (cloud-api.md
// §3b "Synchronous or asynchronous") arrive as a failed status in a signed Cloud webhook with
// the Cloud code and error object — 131026 (receiver incapable) and 131049 (per-user marketing
// limit, MARKETING templates only) — while a disabled template is refused at once with 132016.
func TestCloudAsyncCodes(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		const secret = "cloud-app-secret-0123456789"
		cfg = cloudConfig(cfg)
		cfg.AppSecret = secret
		w := newWorld(t, cfg)
		rcv := newRawReceiver(t)
		setCloudHooks(t, w, rcv.URL(), "")
		promo := engine.Template{Name: "weekly_promo", Language: "en_US", Category: engine.CategoryMarketing,
			Status: engine.StatusApproved, Components: engine.TemplateComponents{Body: "Our deals of the week"}}
		if err := w.app.Engine().PutTemplate(t.Context(), promo); err != nil {
			t.Fatal(err)
		}
		tmpl := func(to, name string) string {
			return fmt.Sprintf(`{"messaging_product":"whatsapp","to":%q,"type":"template","template":{"name":%q,"language":{"code":"en_US"}}}`, to, name)
		}
		// failedStatus waits for the failed status of wamid and returns its single error.
		failedStatus := func(wamid string) map[string]any {
			t.Helper()
			st, p := waitCloudStatus(t, w, rcv, secret, cfg.WABAID, wamid, "failed")
			errs, _ := st["errors"].([]any)
			if len(errs) != 1 {
				t.Fatalf("failed status: %s", p.raw)
			}
			return errs[0].(map[string]any)
		}
		for _, c := range []struct {
			to, template string
			code         int
			title        string
		}{
			{"15550100404", "hello_world", 131026, "Message Undeliverable"},
			{"15550101049", "weekly_promo", 131049, "Meta chose not to deliver."},
		} {
			id := cloudSendOK(t, w, c.to, tmpl(c.to, c.template))
			e := failedStatus(id)
			ed, _ := e["error_data"].(map[string]any)
			details, _ := ed["details"].(string)
			want := map[string]any{"code": float64(c.code), "title": c.title, "message": c.title,
				"error_data": map[string]any{"details": details}, "href": e["href"]}
			if !jsonEqual(e, want) || details == "" || e["href"] == nil {
				t.Fatalf("%s: error %v, want code %d title %q", c.to, e, c.code, c.title)
			}
		}
		// A file over the 100 MB inbound cap: the message arrives with 131052 and no media.
		if r := w.sandbox("POST", "/users/15551230051/messages", `{"type":"document","document":{"file_size":104857601,"filename":"big.pdf"}}`); r.status != 201 {
			t.Fatalf("user sends: %d %s", r.status, r.raw)
		}
		var msg map[string]any
		waitFor(t, func() bool {
			for _, req := range rcv.requests() {
				p := checkCloudPost(t, req, secret, cfg.WABAID)
				if msgs, _ := p.value["messages"].([]any); len(msgs) == 1 && msgs[0].(map[string]any)["from"] == "15551230051" {
					msg = msgs[0].(map[string]any)
					return true
				}
			}
			return false
		}, "the inbound message with 131052")
		details := "The document the user sent is 104857601 bytes, more than the 100 MB that can be downloaded; ask the user to send a smaller file"
		wantErr := []any{map[string]any{"code": float64(131052), "title": "Media download error", "message": "Media download error",
			"error_data": map[string]any{"details": details}, "href": "/documentation/business-messaging/whatsapp/support/error-codes"}}
		if msg["type"] != "document" || msg["document"] != nil || !jsonEqual(msg["errors"], wantErr) {
			t.Fatalf("inbound message: %s", mustJSON(msg))
		}

		// A disabled template is refused synchronously.
		if r := w.sandbox("POST", "/templates/weekly_promo/en_US/status", `{"status":"DISABLED"}`); r.status != 200 {
			t.Fatalf("disable: %d %s", r.status, r.raw)
		}
		wantGraphCode(t, cloudSend(t, w, tmpl("15551230050", "weekly_promo")), 400, 132016, "Template is Disabled", 0, "weekly_promo")
	})
}
