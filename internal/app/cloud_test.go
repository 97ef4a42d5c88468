package app

import (
	"regexp"
	"testing"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/wa"
)

var wamidShape = regexp.MustCompile(`^wamid\.[A-Za-z0-9+/]{28}$`)

// wantGraphError asserts the exact Cloud envelope (cloud-api.md §4) and HTTP status.
func wantGraphError(t *testing.T, r response, status, code int, message, details string) {
	t.Helper()
	e, _ := r.body["error"].(map[string]any)
	trace, _ := e["fbtrace_id"].(string)
	if len(trace) != 23 {
		t.Fatalf("fbtrace_id %q in %s", trace, r.raw)
	}
	want := map[string]any{"error": map[string]any{"message": message, "type": "OAuthException", "code": float64(code),
		"error_data": map[string]any{"messaging_product": "whatsapp", "details": details}, "fbtrace_id": trace}}
	if r.status != status || !jsonEqual(r.body, want) {
		t.Fatalf("got %d %s\nwant %d %s", r.status, r.raw, status, mustJSON(want))
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
}

// TestCloudAPI drives the Cloud (Graph) routes of a real waba on 127.0.0.1.
func TestCloudAPI(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		cfg.PhoneNumberID = "106540352242922"
		cfg.WABAID = "102290129340398"
		cfg.AccessToken = "EAAG-test-token-0123456789"
		w := newWorld(t, cfg)
		tok := cfg.AccessToken

		// A text send, versioned and unversioned.
		for _, path := range []string{"/v24.0/106540352242922/messages", "/106540352242922/messages"} {
			r := do(t, w.base, request{method: "POST", path: path, token: tok,
				body: `{"messaging_product":"whatsapp","to":"+1 555 123 0020","type":"text","text":{"body":"Hello from Cloud"}}`})
			if r.status != 200 {
				t.Fatalf("%s: %d %s", path, r.status, r.raw)
			}
			msgs := r.body["messages"].([]any)
			id := msgs[0].(map[string]any)["id"].(string)
			want := map[string]any{"messaging_product": "whatsapp",
				"contacts": []any{map[string]any{"input": "+1 555 123 0020", "wa_id": "15551230020"}},
				"messages": []any{map[string]any{"id": id}}}
			if !wamidShape.MatchString(id) || !jsonEqual(r.body, want) || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("send body %s", r.raw)
			}
			n, in, ok := wa.ParseCloudID(id)
			if !ok || in {
				t.Fatalf("ParseCloudID(%q) = %d %v %v", id, n, in, ok)
			}
			m, err := w.app.Store().GetMessage(t.Context(), n)
			if err != nil || m.Peer != "15551230020" || m.Type != "text" {
				t.Fatalf("stored: %+v %v", m, err)
			}
		}

		// Auth: none → 104, wrong → 190 with free text (errors.md §2.1); the query form works.
		body := `{"messaging_product":"whatsapp","to":"15551230020","text":{"body":"x"}}`
		wantGraphError(t, do(t, w.base, request{method: "POST", path: "/v24.0/106540352242922/messages", body: body}),
			401, 104, "(#104) An access token is required to request this resource", "Send the access token as 'Authorization: Bearer <token>'")
		wantGraphError(t, do(t, w.base, request{method: "POST", path: "/v24.0/106540352242922/messages", token: "nope", body: body}),
			401, 190, "Invalid OAuth access token - Cannot parse access token", "Invalid OAuth access token - Cannot parse access token")
		if r := do(t, w.base, request{method: "POST", path: "/v24.0/106540352242922/messages?access_token=" + tok, body: body}); r.status != 200 {
			t.Fatalf("access_token query: %d %s", r.status, r.raw)
		}

		// Validation in Cloud codes.
		send := func(b string) response {
			return do(t, w.base, request{method: "POST", path: "/v24.0/106540352242922/messages", token: tok, body: b})
		}
		r := send(`{"to":"15551230020","type":"text","text":{"body":"x"}}`)
		wantGraphError(t, r, 400, 131008, "(#131008) Required parameter is missing", r.body["error"].(map[string]any)["error_data"].(map[string]any)["details"].(string))
		if d := r.body["error"].(map[string]any)["error_data"].(map[string]any)["details"].(string); !regexp.MustCompile(`messaging_product`).MatchString(d) {
			t.Fatalf("details %q", d)
		}
		r = send(`{"messaging_product":"facebook","to":"15551230020","type":"text","text":{"body":"x"}}`)
		wantGraphError(t, r, 400, 131009, "(#131009) Parameter value is not valid",
			"Parameter 'messaging_product' has invalid value 'facebook'; the only supported value is 'whatsapp'")
		r = send(`{"messaging_product":"whatsapp","to":"15551230020","type":"text","text":{"body":"x"},"ttl":"P1D"}`)
		if e := r.body["error"].(map[string]any); r.status != 400 || e["code"] != float64(100) || e["message"] != "(#100) Invalid parameter" {
			t.Fatalf("unknown param: %d %s", r.status, r.raw)
		}
		r = send(`{"messaging_product":"whatsapp","to":"15551230020","type":"text","text":{"body":"x"},"Bogus":1}`)
		if e := r.body["error"].(map[string]any); r.status != 400 || e["code"] != float64(100) {
			t.Fatalf("unknown key: %d %s", r.status, r.raw)
		}

		// An unknown phone-number id: 33 (errors.md §2.2).
		r = do(t, w.base, request{method: "POST", path: "/v24.0/999/messages", token: tok, body: body})
		wantGraphError(t, r, 400, 33, "(#33) Parameter value is not valid",
			"Object with ID '999' does not exist on this server: the phone-number id is 106540352242922 and the WABA id is 102290129340398")

		// Mark read an inbound message created through the sandbox, with a typing indicator.
		opID := w.userSays("15551230021", "Hi there")
		n, in, ok := wa.ParseOnPremID(opID)
		if !ok || !in {
			t.Fatalf("inbound id %q", opID)
		}
		wamid := wa.CloudID(n, true)
		r = send(`{"messaging_product":"whatsapp","status":"read","message_id":"` + wamid + `","typing_indicator":{"type":"text"}}`)
		if r.status != 200 || string(r.raw) != `{"success":true}` {
			t.Fatalf("mark read: %d %s", r.status, r.raw)
		}
		// An outbound id, or a made-up one, is not an inbound message of ours: 131009.
		out := wa.CloudID(n, false)
		r = send(`{"messaging_product":"whatsapp","status":"read","message_id":"` + out + `"}`)
		wantGraphError(t, r, 400, 131009, "(#131009) Parameter value is not valid",
			"Parameter 'message_id' has invalid value '"+out+"': no inbound message has this id")
		r = send(`{"messaging_product":"whatsapp","status":"read"}`)
		wantGraphError(t, r, 400, 131008, "(#131008) Required parameter is missing", "Missing mandatory parameter 'message_id'")

		// The number node and the WABA node.
		r = do(t, w.base, request{method: "GET", path: "/v24.0/106540352242922", token: tok})
		wantNode := map[string]any{"id": "106540352242922", "verified_name": "waba sandbox", "code_verification_status": "VERIFIED",
			"display_phone_number": "+15550001111", "quality_rating": "GREEN", "platform_type": "CLOUD_API",
			"throughput": map[string]any{"level": "STANDARD"},
			// cloud-api.md §3b: the default fields include webhook_configuration{application}.
			"webhook_configuration": map[string]any{"application": ""}}
		if r.status != 200 || !jsonEqual(r.body, wantNode) {
			t.Fatalf("number node: %d %s", r.status, r.raw)
		}
		ns, err := w.app.Engine().Namespace(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		r = do(t, w.base, request{method: "GET", path: "/102290129340398?fields=message_template_namespace", token: tok})
		if r.status != 200 || !jsonEqual(r.body, map[string]any{"id": "102290129340398", "message_template_namespace": ns}) {
			t.Fatalf("waba fields: %d %s", r.status, r.raw)
		}
		r = do(t, w.base, request{method: "GET", path: "/v20.0/102290129340398?fields=name,bogus", token: tok})
		wantGraphError(t, r, 400, 100, "(#100) Invalid parameter", "Tried accessing nonexisting field (bogus) on node type (WhatsAppBusinessAccount)")

		// The other routes keep priority.
		if r := do(t, w.base, request{method: "GET", path: "/healthz"}); r.status != 200 {
			t.Fatalf("healthz: %d", r.status)
		}
	})
}

// TestCloudIdentityPersists: generated ids and token survive a restart.
func TestCloudIdentityPersists(t *testing.T) {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	a := start(t, cfg)
	first := a.cfg
	if !regexp.MustCompile(`^\d{15}$`).MatchString(first.PhoneNumberID) || !regexp.MustCompile(`^\d{15}$`).MatchString(first.WABAID) ||
		len(first.AccessToken) < 40 {
		t.Fatalf("generated identity: %q %q %d", first.PhoneNumberID, first.WABAID, len(first.AccessToken))
	}
	if err := a.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := start(t, cfg)
	if b.cfg.PhoneNumberID != first.PhoneNumberID || b.cfg.WABAID != first.WABAID || b.cfg.AccessToken != first.AccessToken {
		t.Fatalf("identity changed across restart")
	}
}
