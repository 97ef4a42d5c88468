package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/wa"
)

// TestCloudTemplates drives template management (cloud-api.md §6) through the Graph routes:
// create → PENDING (a send is refused with 132001 while it is) → reviewed APPROVED on the
// virtual clock → a delivered message with the rendered text and its category → paused →
// 132015; listing, paging, fetching by id, editing, rejection by name and deletion.
func TestCloudTemplates(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cloudConfig(cfg))
		waba := "102290129340398"
		graph := func(method, path, body string) response {
			t.Helper()
			return do(t, w.base, request{method: method, path: "/v24.0/" + path, token: moreToken, body: body})
		}
		create := `{"name":"order_ready","language":"en_US","category":"utility","components":[
			{"type":"header","format":"text","text":"Order {{1}}"},
			{"type":"BODY","text":"Hi {{1}}, your order {{2}} is ready.","example":{"body_text":[["Ana","A-1"]]}},
			{"type":"FOOTER","text":"Thanks"},
			{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"OK"}]}]}`
		r := graph("POST", waba+"/message_templates", create)
		id := engine.TemplateID("order_ready", "en_US")
		if r.status != 200 || !jsonEqual(r.body, map[string]any{"id": id, "status": "PENDING", "category": "UTILITY"}) {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		// The same name and language again is refused.
		r = graph("POST", waba+"/message_templates", create)
		wantGraphCode(t, r, 400, 100, "Invalid parameter", 0, "Content in this language already exists")

		sendTmpl := `{"messaging_product":"whatsapp","to":"15551230030","type":"template","template":{"name":"order_ready","language":{"code":"en_US"},"components":[
			{"type":"header","parameters":[{"type":"text","text":"A-1"}]},
			{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"A-1"}]}]}}`
		wantGraphCode(t, cloudSend(t, w, sendTmpl), 404, 132001, "Template does not exist", 0, "PENDING")

		// GET by id while pending; then the review approves it once its delay has passed.
		r = graph("GET", id+"?fields=status,name", "")
		if r.status != 200 || !jsonEqual(r.body, map[string]any{"id": id, "status": "PENDING", "name": "order_ready"}) {
			t.Fatalf("get: %d %s", r.status, r.raw)
		}
		w.advance(engine.DefaultTemplateReview + time.Second)
		waitFor(t, func() bool {
			r = graph("GET", id+"?fields=status", "")
			return r.body["status"] == "APPROVED"
		}, "template approved: "+string(r.raw))

		wamid := cloudSendOK(t, w, "15551230030", sendTmpl)
		stored, err := w.app.Store().GetMessage(t.Context(), mustCloudNum(t, wamid))
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Rendered struct {
				Text string `json:"text"`
			} `json:"waba_rendered"`
			Category string `json:"waba_category"`
		}
		mustUnmarshal(t, stored.Payload, &p)
		if p.Rendered.Text != "Order A-1\nHi Ana, your order A-1 is ready.\nThanks" || p.Category != "UTILITY" {
			t.Fatalf("rendered %q category %q", p.Rendered, p.Category)
		}
		w.expectStatuses(onPremOf(t, wamid), "sent", "delivered", "read")

		// List with a filter, and paging with limit=1.
		r = graph("GET", waba+"/message_templates?fields=name,status&status=approved&limit=1", "")
		data, _ := r.body["data"].([]any)
		paging, _ := r.body["paging"].(map[string]any)
		if r.status != 200 || len(data) != 1 || paging["next"] == nil {
			t.Fatalf("list: %d %s", r.status, r.raw)
		}
		if !jsonEqual(data[0], map[string]any{"id": engine.TemplateID("hello_world", "en_US"), "name": "hello_world", "status": "APPROVED"}) {
			t.Fatalf("first page: %s", r.raw)
		}
		next, _ := url.Parse(paging["next"].(string))
		r = do(t, w.base, request{method: "GET", path: next.RequestURI(), token: moreToken})
		data, _ = r.body["data"].([]any)
		if r.status != 200 || len(data) != 1 || data[0].(map[string]any)["name"] != "order_ready" {
			t.Fatalf("second page: %d %s", r.status, r.raw)
		}
		wantGraphCode(t, graph("GET", waba+"/message_templates?after=bogus", ""), 400, 131059, "(invalid cursor)", 0, "bogus")
		wantGraphCode(t, graph("GET", waba+"/message_templates?fields=name,bogus", ""), 400, 100, "Invalid parameter", 0,
			"Tried accessing nonexisting field (bogus) on node type (WhatsAppBusinessHSM)")

		// Paused by the sandbox → 132015 at send.
		r = w.sandbox("POST", "/templates/order_ready/en_US/status", `{"status":"PAUSED"}`)
		if r.status != 200 || !jsonEqual(r.body, map[string]any{"id": id, "name": "order_ready", "language": "en_US", "status": "PAUSED", "reason": ""}) {
			t.Fatalf("sandbox pause: %d %s", r.status, r.raw)
		}
		if r := w.sandbox("POST", "/templates/nope/en_US/status", `{"status":"PAUSED"}`); r.status != 404 {
			t.Fatalf("sandbox pause of a missing template: %d %s", r.status, r.raw)
		}
		waitFor(t, func() bool {
			r = cloudSend(t, w, sendTmpl)
			return r.status == 400
		}, "paused template refused")
		wantGraphCode(t, r, 400, 132015, "Template is Paused", 0, "order_ready")

		// Edit: an approved template's category cannot change; a paused one can be edited and
		// goes back to review.
		r = graph("POST", id, `{"components":[{"type":"BODY","text":"Hello {{1}}"}]}`)
		if r.status != 200 || !jsonEqual(r.body, map[string]any{"success": true}) {
			t.Fatalf("edit: %d %s", r.status, r.raw)
		}
		r = graph("GET", id+"?fields=status,components", "")
		if r.body["status"] != "PENDING" || !jsonEqual(r.body["components"], []any{map[string]any{"type": "BODY", "text": "Hello {{1}}"}}) {
			t.Fatalf("after edit: %s", r.raw)
		}

		// A name starting with reject_ is rejected by the review, with a reason.
		r = graph("POST", waba+"/message_templates", `{"name":"reject_me","language":"en","category":"MARKETING","components":[{"type":"BODY","text":"Buy"}]}`)
		if r.status != 200 {
			t.Fatalf("create reject_me: %d %s", r.status, r.raw)
		}
		w.advance(engine.DefaultTemplateReview + time.Second)
		rid := engine.TemplateID("reject_me", "en")
		waitFor(t, func() bool {
			r = graph("GET", rid+"?fields=status,rejected_reason", "")
			return r.body["status"] == "REJECTED"
		}, "template rejected")
		if !jsonEqual(r.body, map[string]any{"id": rid, "status": "REJECTED", "rejected_reason": "INVALID_FORMAT"}) {
			t.Fatalf("rejected: %s", r.raw)
		}

		// Management needs whatsapp_business_management: a messaging-only token gets 200.
		msgOnly := cloudToken(t, w, `{"permissions":["whatsapp_business_messaging"]}`)
		r = do(t, w.base, request{method: "GET", path: "/v24.0/" + waba + "/message_templates", token: msgOnly})
		wantGraphCode(t, r, 403, 200, "API Permission", 0, "whatsapp_business_management")

		// Bad definitions.
		wantGraphCode(t, graph("POST", waba+"/message_templates", `{"name":"x","language":"en","category":"UTILITY","components":[{"type":"HEADER","format":"TEXT","text":"h"}]}`),
			400, 100, "Invalid parameter", 0, "BODY")
		wantGraphCode(t, graph("POST", waba+"/message_templates", `{"name":"Bad Name","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"b"}]}`),
			400, 100, "Invalid parameter", 0, "name")
		wantGraphCode(t, graph("POST", waba+"/message_templates", `{"name":"y","language":"en","category":"PROMO","components":[{"type":"BODY","text":"b"}]}`),
			400, 100, "Invalid parameter", 0, "category")

		// Delete one language by hsm_id, then the name is gone.
		r = graph("DELETE", fmt.Sprintf("%s/message_templates?name=reject_me&hsm_id=%s", waba, rid), "")
		if r.status != 200 || !jsonEqual(r.body, map[string]any{"success": true}) {
			t.Fatalf("delete: %d %s", r.status, r.raw)
		}
		wantGraphCode(t, graph("DELETE", waba+"/message_templates?name=reject_me", ""), 400, 100, "Invalid parameter", 0, "reject_me")
		r = graph("GET", rid, "")
		if r.status != 400 {
			t.Fatalf("deleted template still served: %d %s", r.status, r.raw)
		}
	})
}

// waitFor polls cond for up to 10 s (background loops run on wall time).
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// mustCloudNum is the store id of an outbound wamid.
func mustCloudNum(t *testing.T, wamid string) int64 {
	t.Helper()
	n, in, ok := wa.ParseCloudID(wamid)
	if !ok || in {
		t.Fatalf("ParseCloudID(%q)", wamid)
	}
	return n
}

// TestCloudTemplateStatusWebhook: a template's review and the sandbox's pause reach a Cloud
// number's callback as signed `message_template_status_update` webhooks (webhooks.md §6), one
// per POST, with `time` on the entry and an integer template id.
func TestCloudTemplateStatusWebhook(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		const secret = "cloud-app-secret-0123456789"
		cfg = cloudConfig(cfg)
		cfg.AppSecret = secret
		w := newWorld(t, cfg)
		rcv := newRawReceiver(t)
		setCloudHooks(t, w, rcv.URL(), "")
		r := do(t, w.base, request{method: "POST", path: "/v24.0/" + cfg.WABAID + "/message_templates", token: moreToken,
			body: `{"name":"shipping_update","language":"pt_BR","category":"UTILITY","components":[{"type":"BODY","text":"Seu pedido {{1}} saiu para entrega"}]}`})
		if r.status != 200 {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		w.advance(engine.DefaultTemplateReview + time.Second)
		waitFor(t, func() bool {
			r := w.sandbox("GET", "/templates", "")
			list, _ := r.body["templates"].([]any)
			for _, x := range list {
				if m, _ := x.(map[string]any); m["name"] == "shipping_update" {
					return m["status"] == "APPROVED"
				}
			}
			return false
		}, "shipping_update approved")
		if r := w.sandbox("POST", "/templates/shipping_update/pt_BR/status", `{"status":"PAUSED"}`); r.status != 200 {
			t.Fatalf("pause: %d %s", r.status, r.raw)
		}
		var templ []rawRequest
		waitFor(t, func() bool {
			templ = templ[:0]
			for _, req := range rcv.requests() {
				if strings.Contains(string(req.body), "message_template_status_update") {
					templ = append(templ, req)
				}
			}
			return len(templ) == 2
		}, "two template status webhooks: "+string(w.sandbox("GET", "/webhooks", "").raw)+string(w.sandbox("GET", "/attempts", "").raw))
		id, _ := strconv.ParseInt(engine.TemplateID("shipping_update", "pt_BR"), 10, 64)
		for i, event := range []string{"APPROVED", "PAUSED"} {
			req := templ[i]
			m := hmac.New(sha256.New, []byte(secret))
			m.Write(req.body)
			if got := req.header.Get("X-Hub-Signature-256"); got != "sha256="+hex.EncodeToString(m.Sum(nil)) {
				t.Fatalf("signature %q of %s", got, req.body)
			}
			var env struct {
				Object string `json:"object"`
				Entry  []struct {
					ID      string  `json:"id"`
					Time    float64 `json:"time"`
					Changes []struct {
						Field string         `json:"field"`
						Value map[string]any `json:"value"`
					} `json:"changes"`
				} `json:"entry"`
			}
			mustUnmarshal(t, req.body, &env)
			want := map[string]any{"event": event, "message_template_id": float64(id), "message_template_name": "shipping_update",
				"message_template_language": "pt_BR", "reason": "NONE", "message_template_category": "UTILITY"}
			if env.Object != "whatsapp_business_account" || len(env.Entry) != 1 || env.Entry[0].ID != cfg.WABAID || env.Entry[0].Time < 1e9 ||
				len(env.Entry[0].Changes) != 1 || env.Entry[0].Changes[0].Field != "message_template_status_update" ||
				!jsonEqual(env.Entry[0].Changes[0].Value, want) {
				t.Fatalf("webhook %d: %s", i, req.body)
			}
		}
	})
}

// TestTemplateHeaderMediaFormat: a media header whose uploaded file is of a type its kind does
// not take (a PDF for an IMAGE header) is refused at send: 2008 on /v1, 131053 on Graph
// (errors.md §2.6, the closest Cloud code); a JPEG passes.
func TestTemplateHeaderMediaFormat(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cloudConfig(cfg))
		promo := engine.Template{Name: "photo_offer", Language: "en_US", Category: engine.CategoryMarketing, Status: engine.StatusApproved,
			Components: engine.TemplateComponents{Header: &engine.TemplateHeader{Format: "IMAGE"}, Body: "Look at this"}}
		if err := w.app.Engine().PutTemplate(t.Context(), promo); err != nil {
			t.Fatal(err)
		}
		upload := func(ct, body string) string {
			r := do(t, w.base, request{method: "POST", path: "/v1/media", token: w.tok, contentType: ct, body: body})
			id, _ := r.body["media"].([]any)
			if r.status != 201 || len(id) != 1 {
				t.Fatalf("upload %s: %d %s", ct, r.status, r.raw)
			}
			return id[0].(map[string]any)["id"].(string)
		}
		pdf := upload("application/pdf", "%PDF-1.4 not a picture")
		jpeg := upload("image/jpeg", "\xff\xd8\xff\xe0 a picture")
		body := func(product, id string) string {
			return fmt.Sprintf(`{%s"to":"15551230060","type":"template","template":{"name":"photo_offer","language":{"policy":"deterministic","code":"en_US"},"components":[{"type":"header","parameters":[{"type":"image","image":{"id":%q}}]}]}}`, product, id)
		}
		details := "Parameter 'template.components[0].parameters[0].image.id' names a application/pdf file; the IMAGE header of template 'photo_offer' takes image/jpeg, image/png"
		wantError(t, do(t, w.base, request{method: "POST", path: "/v1/messages", token: w.tok, body: body("", pdf)}),
			400, 2008, "Template Media Format Unsupported", details)
		wantGraphCode(t, cloudSend(t, w, body(`"messaging_product":"whatsapp",`, pdf)), 400, 131053, "Media upload error", 0, details)
		w.send(body("", jpeg))
	})
}
