package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/wa"
)

// rawReceiver is a Cloud webhook endpoint that keeps every POST's exact bytes and headers.
type rawReceiver struct {
	addr string
	mu   sync.Mutex
	reqs []rawRequest
}

type rawRequest struct {
	header http.Header
	body   []byte
}

// setCloudHooks makes the default number's webhooks Cloud ones (on Graph version, "" for the
// default) delivered to url as the app's callback.
func setCloudHooks(t *testing.T, w *world, url, version string) {
	t.Helper()
	if _, err := w.app.Engine().UpdateRegistry(t.Context(), func(r *engine.Registry) error {
		r.Numbers[0].WebhookDialect = engine.DialectCloud
		r.Numbers[0].GraphVersion = version
		r.App.CallbackURL = url
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func newRawReceiver(t *testing.T) *rawReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rawReceiver{addr: ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if req.Method == http.MethodPost {
			r.mu.Lock()
			r.reqs = append(r.reqs, rawRequest{req.Header.Clone(), body})
			r.mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *rawReceiver) URL() string { return "http://" + r.addr + "/cloud-hook" }

func (r *rawReceiver) requests() []rawRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rawRequest(nil), r.reqs...)
}

// cloudPost is a decoded Cloud webhook POST.
type cloudPost struct {
	raw   []byte
	value map[string]any
}

// waitCloudStatus waits, advancing the virtual clock, for the first status of wamid whose
// `status` is one of statuses among the Cloud POSTs rcv got (each checked by checkCloudPost),
// and returns it with its POST. A status POST carries one status (webhooks.md §1), else Fatal.
func waitCloudStatus(t *testing.T, w *world, rcv *rawReceiver, secret, wabaID, wamid string, statuses ...string) (map[string]any, cloudPost) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, req := range rcv.requests() {
			p := checkCloudPost(t, req, secret, wabaID)
			sts, _ := p.value["statuses"].([]any)
			for _, s := range sts {
				st := s.(map[string]any)
				if st["id"] == wamid && slices.Contains(statuses, st["status"].(string)) {
					if len(sts) != 1 {
						t.Fatalf("a status POST with %d statuses: %s", len(sts), p.raw)
					}
					return st, p
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %v status for %s", statuses, wamid)
		}
		w.advance(time.Second)
		time.Sleep(30 * time.Millisecond)
	}
}

// checkCloudPost verifies what every Cloud POST must be: signed with the app secret over the
// exact bytes, ASCII-only, JSON, one entry (the WABA) with one `messages` change.
func checkCloudPost(t *testing.T, req rawRequest, secret, wabaID string) cloudPost {
	t.Helper()
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(req.body)
	if got, want := req.header.Get("X-Hub-Signature-256"), "sha256="+hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("X-Hub-Signature-256 %q, want %q", got, want)
	}
	if ct := req.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	for i, c := range req.body {
		if c > 0x7e {
			t.Fatalf("byte %d of the body is %#x, not ASCII: %s", i, c, req.body)
		}
	}
	var env struct {
		Object string `json:"object"`
		Entry  []struct {
			ID      string `json:"id"`
			Changes []struct {
				Field string         `json:"field"`
				Value map[string]any `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(req.body, &env); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, req.body)
	}
	if env.Object != "whatsapp_business_account" || len(env.Entry) != 1 || env.Entry[0].ID != wabaID ||
		len(env.Entry[0].Changes) != 1 || env.Entry[0].Changes[0].Field != "messages" {
		t.Fatalf("envelope: %s", req.body)
	}
	return cloudPost{raw: req.body, value: env.Entry[0].Changes[0].Value}
}

var unixSeconds = regexp.MustCompile(`^\d{10}$`)

// TestCloudWebhooks: a number switched to the Cloud dialect gets its inbound messages and
// every status as Cloud webhooks, one signed ASCII-only POST each, at the registry's callback
// URL; the On-Prem endpoint gets nothing.
func TestCloudWebhooks(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		const (
			phoneID = "106540352242922"
			wabaID  = "102290129340398"
			secret  = "cloud-app-secret-0123456789"
			user    = "15551230031"
			name    = "Zoë Ñandú 👍"
		)
		cfg.PhoneNumberID, cfg.WABAID, cfg.AccessToken, cfg.AppSecret = phoneID, wabaID, "EAAG-test-token-0123456789", secret
		w := newWorld(t, cfg)
		// On-Prem's sent_status does not apply to Cloud numbers: they get every status.
		w.patchSettings(`{"sent_status":false}`)
		rcv := newRawReceiver(t)
		ctx := context.Background()
		// Cloud dialect, no callback URL yet: the inbound webhook waits, visibly.
		reg, err := w.app.Engine().UpdateRegistry(ctx, func(r *engine.Registry) error {
			for i := range r.Numbers {
				if r.Numbers[i].PhoneNumberID == phoneID {
					r.Numbers[i].WebhookDialect = engine.DialectCloud
				}
			}
			r.App.CallbackURL = ""
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		number, ok := reg.NumberByID(phoneID)
		if !ok || number.WebhookDialect != engine.DialectCloud {
			t.Fatalf("registry: %+v", reg)
		}
		metadata := map[string]any{"display_phone_number": number.Phone, "phone_number_id": phoneID}
		if r := w.sandbox("PUT", "/users/"+user, fmt.Sprintf(`{"name":%q}`, name)); r.status != 200 {
			t.Fatalf("PUT user: %d %s", r.status, r.raw)
		}
		said := w.userSays(user, "Olá, tudo bem? 😀")
		pending := w.sandbox("GET", "/webhooks?state=pending", "")
		hooks, _ := pending.body["webhooks"].([]any)
		n, _, _ := wa.ParseOnPremID(said)
		if pending.status != 200 || len(hooks) != 1 || hooks[0].(map[string]any)["kind"] != "cloud.message" ||
			hooks[0].(map[string]any)["message_id"] != wa.CloudID(n, true) {
			t.Fatalf("pending webhooks: %d %s", pending.status, pending.raw)
		}
		time.Sleep(200 * time.Millisecond)
		if n := len(rcv.requests()); n != 0 {
			t.Fatalf("%d POSTs before a callback URL was set", n)
		}

		// Setting the app's callback URL sends the backlog at once (no clock advance).
		if _, err := w.app.Engine().UpdateRegistry(ctx, func(r *engine.Registry) error {
			r.App.CallbackURL = rcv.URL()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for len(rcv.requests()) < 1 {
			if time.Now().After(deadline) {
				t.Fatal("no inbound webhook")
			}
			time.Sleep(10 * time.Millisecond)
		}
		in := checkCloudPost(t, rcv.requests()[0], secret, wabaID)
		if !strings.Contains(string(in.raw), `"name":"Zo\u00eb \u00d1and\u00fa \ud83d\udc4d"`) ||
			!strings.Contains(string(in.raw), `"body":"Ol\u00e1, tudo bem? \ud83d\ude00"`) {
			t.Errorf("inbound body not escaped as expected: %s", in.raw)
		}
		msgs, _ := in.value["messages"].([]any)
		contacts, _ := in.value["contacts"].([]any)
		if len(msgs) != 1 || len(contacts) != 1 || in.value["statuses"] != nil || in.value["messaging_product"] != "whatsapp" ||
			!jsonEqual(in.value["metadata"], metadata) {
			t.Fatalf("inbound value: %s", in.raw)
		}
		msg := msgs[0].(map[string]any)
		mid, _ := msg["id"].(string)
		if _, inbound, ok := wa.ParseCloudID(mid); !ok || !inbound {
			t.Errorf("inbound id %q is not an inbound wamid", mid)
		}
		ts, _ := msg["timestamp"].(string)
		if msg["from"] != user || msg["type"] != "text" || !unixSeconds.MatchString(ts) ||
			!jsonEqual(msg["text"], map[string]any{"body": "Olá, tudo bem? 😀"}) || len(msg) != 6 {
			t.Errorf("inbound message: %v", msg)
		}
		c := contacts[0].(map[string]any)
		if !jsonEqual(c["profile"], map[string]any{"name": name}) || c["wa_id"] != user || msg["from_user_id"] != c["user_id"] ||
			!regexp.MustCompile(`^US\.\d{19}$`).MatchString(fmt.Sprint(c["user_id"])) {
			t.Errorf("inbound contact: %v", c)
		}

		// Outbound through the Cloud route: sent, delivered and read, each its own POST.
		r := do(t, w.base, request{method: "POST", path: "/v24.0/" + phoneID + "/messages", token: cfg.AccessToken,
			body: fmt.Sprintf(`{"messaging_product":"whatsapp","to":%q,"type":"text","text":{"body":"Olá Zoë!"},"biz_opaque_callback_data":"campaign-42"}`, user)})
		if r.status != 200 {
			t.Fatalf("send: %d %s", r.status, r.raw)
		}
		id := r.body["messages"].([]any)[0].(map[string]any)["id"].(string)
		statusPosts := func() []cloudPost {
			var out []cloudPost
			for _, req := range rcv.requests()[1:] {
				out = append(out, checkCloudPost(t, req, secret, wabaID))
			}
			return out
		}
		deadline = time.Now().Add(20 * time.Second)
		for len(statusPosts()) < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("%d status POSTs, want 3", len(statusPosts()))
			}
			w.advance(time.Second)
			time.Sleep(30 * time.Millisecond)
		}
		for range 5 { // nothing more follows
			w.advance(5 * time.Second)
			time.Sleep(30 * time.Millisecond)
		}
		posts := statusPosts()
		if len(posts) != 3 {
			t.Fatalf("%d status POSTs, want 3", len(posts))
		}
		for i, want := range []string{"sent", "delivered", "read"} {
			p := posts[i]
			sts, _ := p.value["statuses"].([]any)
			cs, _ := p.value["contacts"].([]any)
			if len(sts) != 1 || p.value["messages"] != nil || !jsonEqual(p.value["metadata"], metadata) ||
				p.value["messaging_product"] != "whatsapp" || len(cs) != 1 {
				t.Fatalf("%s: value %s", want, p.raw)
			}
			if !jsonEqual(cs[0], c) {
				t.Errorf("%s: contacts %v, want %v", want, cs[0], c)
			}
			if !strings.Contains(string(p.raw), `"name":"Zo\u00eb \u00d1and\u00fa \ud83d\udc4d"`) {
				t.Errorf("%s: name not escaped: %s", want, p.raw)
			}
			st := sts[0].(map[string]any)
			ts, _ := st["timestamp"].(string)
			if st["id"] != id || st["status"] != want || st["recipient_id"] != user || !unixSeconds.MatchString(ts) ||
				st["recipient_user_id"] != c["user_id"] || st["biz_opaque_callback_data"] != "campaign-42" ||
				st["conversation"] != nil || st["errors"] != nil {
				t.Errorf("%s: status %v", want, st)
			}
			// Inside the service window a free-form reply is free (PMP, webhooks.md §5);
			// pricing comes with sent and delivered.
			wantPricing := any(map[string]any{"billable": false, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"})
			if want == "read" {
				wantPricing = nil
			}
			if !jsonEqual(st["pricing"], wantPricing) {
				t.Errorf("%s: pricing %v, want %v", want, st["pricing"], wantPricing)
			}
		}

		// A free-form message to a user who never wrote fails with the Cloud code 131047.
		before := len(rcv.requests())
		r = do(t, w.base, request{method: "POST", path: "/v24.0/" + phoneID + "/messages", token: cfg.AccessToken,
			body: `{"messaging_product":"whatsapp","to":"15551230032","type":"text","text":{"body":"hello?"}}`})
		if r.status != 200 {
			t.Fatalf("send: %d %s", r.status, r.raw)
		}
		failedID := r.body["messages"].([]any)[0].(map[string]any)["id"].(string)
		deadline = time.Now().Add(20 * time.Second)
		for len(rcv.requests()) == before {
			if time.Now().After(deadline) {
				t.Fatal("no failed status")
			}
			w.advance(time.Second)
			time.Sleep(30 * time.Millisecond)
		}
		p := checkCloudPost(t, rcv.requests()[before], secret, wabaID)
		sts, _ := p.value["statuses"].([]any)
		if len(sts) != 1 || p.value["contacts"] != nil {
			t.Fatalf("failed value: %s", p.raw)
		}
		st := sts[0].(map[string]any)
		errs, _ := st["errors"].([]any)
		if st["id"] != failedID || st["status"] != "failed" || st["pricing"] != nil || len(errs) != 1 {
			t.Fatalf("failed status: %s", p.raw)
		}
		e := errs[0].(map[string]any)
		details, _ := e["error_data"].(map[string]any)["details"].(string)
		if e["code"] != float64(131047) || e["title"] != "Re-engagement message" || e["message"] != "Re-engagement message" ||
			details == "" || e["href"] != "/documentation/business-messaging/whatsapp/support/error-codes" {
			t.Errorf("failed error object: %v", e)
		}

		if n := w.recv.count(); n != 0 {
			t.Errorf("the On-Prem endpoint got %d webhooks of a Cloud number", n)
		}
	})
}
