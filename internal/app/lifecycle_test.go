package app

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/engine"
)

// world is a running waba with a logged-in admin and a real webhook receiver configured.
type world struct {
	t    *testing.T
	app  *App
	base string
	tok  string
	recv *receiver
}

func newWorld(t *testing.T, cfg config.Config) *world {
	t.Helper()
	cfg.AdminPassword = testAdminPassword
	a := start(t, cfg)
	w := &world{t: t, app: a, base: a.URL(), recv: newReceiver(t)}
	w.tok = login(t, w.base, "admin", testAdminPassword)
	// sent callbacks are off by default (onprem-api.md §12.1); the tests want the whole lifecycle.
	w.patchSettings(fmt.Sprintf(`{"webhooks":{"url":%q},"sent_status":true}`, w.recv.URL()))
	return w
}

func (w *world) patchSettings(body string) {
	w.t.Helper()
	r := do(w.t, w.base, request{method: "PATCH", path: "/v1/settings/application", token: w.tok, body: body})
	if r.status != 200 {
		w.t.Fatalf("PATCH settings: %d %s", r.status, r.raw)
	}
}

func (w *world) sandbox(method, path, body string) response {
	w.t.Helper()
	return do(w.t, w.base, request{method: method, path: "/sandbox/v1" + path, token: w.tok, body: body})
}

// userSays has the simulated user write to the business (opening the 24-hour window).
func (w *world) userSays(waID, text string) string {
	w.t.Helper()
	r := w.sandbox("POST", "/users/"+waID+"/messages", fmt.Sprintf(`{"type":"text","text":{"body":%q}}`, text))
	if r.status != 201 {
		w.t.Fatalf("user %s says: %d %s", waID, r.status, r.raw)
	}
	return r.body["id"].(string)
}

func (w *world) send(body string) string {
	w.t.Helper()
	r := do(w.t, w.base, request{method: "POST", path: "/v1/messages", token: w.tok, body: body})
	m := sendOK.FindSubmatch(r.raw)
	if r.status != 201 || m == nil {
		w.t.Fatalf("send %s: %d %s", body, r.status, r.raw)
	}
	return string(m[1])
}

func (w *world) text(to, body string) string {
	return w.send(fmt.Sprintf(`{"to":%q,"type":"text","text":{"body":%q}}`, to, body))
}

func (w *world) template(to string) string {
	return w.send(fmt.Sprintf(`{"to":%q,"type":"template","template":{"name":"hello_world","language":{"policy":"deterministic","code":"en_US"}}}`, to))
}

func (w *world) advance(d time.Duration) {
	w.t.Helper()
	r := w.sandbox("POST", "/clock/advance", fmt.Sprintf(`{"seconds":%g}`, d.Seconds()))
	if r.status != 200 {
		w.t.Fatalf("advance: %d %s", r.status, r.raw)
	}
}

// describe turns status entries into "sent", "failed:470" … for comparison.
func describe(entries []map[string]any) []string {
	var out []string
	for _, e := range entries {
		s := e["status"].(string)
		if errs, ok := e["errors"].([]any); ok && len(errs) > 0 {
			s += fmt.Sprintf(":%v", errs[0].(map[string]any)["code"])
		}
		out = append(out, s)
	}
	return out
}

// expectStatuses moves virtual time forward in small steps until message id has exactly the
// wanted statuses, then keeps going for a further settle period to prove nothing else arrives.
func (w *world) expectStatuses(id string, want ...string) []map[string]any {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := describe(w.recv.statuses(id))
		if strings.Join(got, ",") == strings.Join(want, ",") {
			break
		}
		if len(got) > len(want) || time.Now().After(deadline) {
			w.t.Fatalf("message %s: statuses %v, want %v", id, got, want)
		}
		w.advance(time.Second)
		time.Sleep(30 * time.Millisecond)
	}
	// Nothing more may follow: advance well past every simulated latency.
	for range 5 {
		w.advance(5 * time.Second)
		time.Sleep(30 * time.Millisecond)
	}
	if got := describe(w.recv.statuses(id)); strings.Join(got, ",") != strings.Join(want, ",") {
		w.t.Fatalf("message %s: after settling, statuses %v, want %v", id, got, want)
	}
	return w.recv.statuses(id)
}

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestLifecycle checks, on both stores, the exact webhook sequence and codes of every scenario
// of the seeds through the magic numbers (docs/magic-numbers.md) and the rules of the network.
func TestLifecycle(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cfg)

		t.Run("healthy user inside the window: sent, delivered, read", func(t *testing.T) {
			w.t = t
			w.userSays("15551230001", "hi, I need help")
			id := w.text("15551230001", "How can we help?")
			got := w.expectStatuses(id, "sent", "delivered", "read")
			sent := got[0]
			conv := sent["conversation"].(map[string]any)
			if sent["recipient_id"] != "15551230001" || sent["type"] != "message" ||
				sent["message"].(map[string]any)["recipient_id"] != "15551230001" ||
				!regexp.MustCompile(`^\d{10}$`).MatchString(sent["timestamp"].(string)) ||
				!hexID.MatchString(conv["id"].(string)) || conv["expiration_timestamp"] == nil ||
				conv["origin"].(map[string]any)["type"] != "user_initiated" {
				t.Fatalf("sent entry shape: %s", mustJSON(sent))
			}
			pricing := sent["pricing"].(map[string]any)
			if pricing["billable"] != true || pricing["pricing_model"] != "CBP" || pricing["category"] != "user_initiated" {
				t.Fatalf("pricing: %s", mustJSON(pricing))
			}
			if _, ok := got[1]["conversation"].(map[string]any)["expiration_timestamp"]; ok {
				t.Fatalf("expiration_timestamp is for sent only: %s", mustJSON(got[1]))
			}
		})
		t.Run("free-form to a user who never wrote fails with 470", func(t *testing.T) {
			w.t = t
			id := w.text("15551230002", "hello?")
			got := w.expectStatuses(id, "failed:470")
			e := got[0]["errors"].([]any)[0].(map[string]any)
			if e["title"] != "Re-engagement message" || got[0]["conversation"] != nil || got[0]["pricing"] != nil {
				t.Fatalf("failed entry: %s", mustJSON(got[0]))
			}
		})
		t.Run("template outside the window is business initiated", func(t *testing.T) {
			w.t = t
			id := w.template("15551230003")
			got := w.expectStatuses(id, "sent", "delivered", "read")
			if got[0]["conversation"].(map[string]any)["origin"].(map[string]any)["type"] != "business_initiated" {
				t.Fatalf("origin: %s", mustJSON(got[0]))
			}
		})
		t.Run("window closes after 24 hours", func(t *testing.T) {
			w.t = t
			w.userSays("15551230004", "hello")
			w.advance(25 * time.Hour)
			w.expectStatuses(w.text("15551230004", "late answer"), "failed:470")
		})
		for _, c := range []struct {
			number string
			want   []string
		}{
			{"15550100001", []string{"sent"}},                                    // blocked the business
			{"15550100002", []string{"sent", "delivered"}},                       // read receipts off
			{"15550100007", []string{"sent"}},                                    // sanctioned region
			{"15550100404", []string{"failed:1026"}},                             // not on WhatsApp
			{"15550100471", []string{"failed:471"}},                              // spam limit
			{"15550100472", []string{"failed:472"}},                              // experiment group
			{"15550100500", []string{"sent", "delivered", "failed:500", "read"}}, // multi-device
			{"15550101026", []string{"failed:1026"}},                             // terms not accepted
			{"15550101027", []string{"failed:1026"}},                             // old Android
			{"15550101028", []string{"failed:1026"}},                             // old iOS
			{"15550101029", []string{"failed:1026"}},                             // old KaiOS
			{"15550101030", []string{"failed:1026"}},                             // old Web
			{"989121234567", []string{"sent"}},                                   // Iran: sanctioned country
			{"905321234567", []string{"sent", "delivered", "read"}},              // Turkey, after 2024-05-15
		} {
			t.Run("template to "+c.number, func(t *testing.T) {
				w.t = t
				w.expectStatuses(w.template(c.number), c.want...)
			})
		}
		t.Run("marketing limit: a MARKETING template fails, a UTILITY one is delivered", func(t *testing.T) {
			w.t = t
			promo := engine.Template{Name: "weekly_promo", Language: "en_US", Category: engine.CategoryMarketing,
				Status: engine.StatusApproved, Components: engine.TemplateComponents{Body: "Our deals of the week"}}
			if err := w.app.Engine().PutTemplate(t.Context(), promo); err != nil {
				t.Fatal(err)
			}
			w.expectStatuses(w.send(`{"to":"15550101049","type":"template","template":{"name":"weekly_promo","language":{"policy":"deterministic","code":"en_US"}}}`), "failed:1026")
			w.expectStatuses(w.template("15550101049"), "sent", "delivered", "read")
		})
		t.Run("offline user: held, then delivered when back within 30 days", func(t *testing.T) {
			w.t = t
			id := w.template("15550100000")
			w.expectStatuses(id, "sent")
			w.advance(29 * 24 * time.Hour)
			w.expectStatuses(id, "sent")
			if r := w.sandbox("POST", "/users/15550100000/online", ""); r.status != 200 {
				t.Fatalf("online: %d %s", r.status, r.raw)
			}
			w.expectStatuses(id, "sent", "delivered", "read")
		})
		t.Run("offline user: dropped after 30 days, stays sent", func(t *testing.T) {
			w.t = t
			w.sandbox("PUT", "/users/15551239000", `{"online":false}`)
			id := w.template("15551239000")
			w.expectStatuses(id, "sent")
			w.advance(31 * 24 * time.Hour)
			w.expectStatuses(id, "sent")
			w.sandbox("POST", "/users/15551239000/online", "")
			w.expectStatuses(id, "sent")
		})
		t.Run("identity change blocks with 1028 until acknowledged", func(t *testing.T) {
			w.t = t
			r := do(t, w.base, request{method: "POST", path: "/v1/messages", token: w.tok,
				body: `{"to":"15550100480","type":"template","template":{"name":"hello_world","language":{"policy":"deterministic","code":"en_US"}}}`})
			wantCode(t, r, 400, 1028)
			id := do(t, w.base, request{method: "GET", path: "/v1/contacts/15550100480/identity", token: w.tok})
			hash := mustIdentityHash(t, id)
			if r := do(t, w.base, request{method: "PUT", path: "/v1/contacts/15550100480/identity", token: w.tok, body: fmt.Sprintf(`{"hash":%q}`, hash)}); r.status != 200 {
				t.Fatalf("ack identity: %d %s", r.status, r.raw)
			}
			w.expectStatuses(w.template("15550100480"), "sent", "delivered", "read")
		})
		t.Run("identity change without security notifications fails with 480", func(t *testing.T) {
			w.t = t
			w.sandbox("POST", "/users/15551238000/identity", "")
			w.patchSettings(`{"show_security_notifications":false}`)
			defer w.patchSettings(`{"show_security_notifications":true}`)
			w.expectStatuses(w.template("15551238000"), "failed:480")
		})
		t.Run("network down: pending, then 408 after a day", func(t *testing.T) {
			w.t = t
			w.sandbox("POST", "/network/down", "")
			id := w.template("15551237000")
			w.advance(10 * time.Second)
			time.Sleep(100 * time.Millisecond)
			if got := w.recv.statuses(id); len(got) != 0 {
				t.Fatalf("statuses while the network is down: %v", describe(got))
			}
			w.advance(25 * time.Hour)
			w.sandbox("POST", "/network/up", "")
			w.expectStatuses(id, "failed:408")
		})
		t.Run("network down and up again within the day: delivered", func(t *testing.T) {
			w.t = t
			w.sandbox("POST", "/network/down", "")
			id := w.template("15551237001")
			w.advance(time.Hour)
			w.sandbox("POST", "/network/up", "")
			w.expectStatuses(id, "sent", "delivered", "read")
		})
		t.Run("echo user replies after reading", func(t *testing.T) {
			w.t = t
			w.expectStatuses(w.template("15550100003"), "sent", "delivered", "read")
			deadline := time.Now().Add(10 * time.Second)
			for {
				msgs, _ := w.recv.messagesFrom("15550100003")
				if len(msgs) == 1 {
					if msgs[0]["type"] != "text" || msgs[0]["text"].(map[string]any)["body"] != "Got your template message" {
						t.Fatalf("echo reply: %s", mustJSON(msgs[0]))
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no echo reply; got %d messages", len(msgs))
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	})
}

func mustIdentityHash(t *testing.T, r response) string {
	t.Helper()
	raw := string(r.raw)
	m := regexp.MustCompile(`"hash":"([^"]+)"`).FindStringSubmatch(raw)
	if r.status != 200 || m == nil {
		t.Fatalf("identity: %d %s", r.status, raw)
	}
	return m[1]
}
