package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/store"
)

func TestASCII(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain ASCII is unchanged", `{"a":"b c ~"}`, `{"a":"b c ~"}`},
		{"html characters are left alone", `{"t":"<a>&</a>"}`, `{"t":"<a>&</a>"}`},
		{"accents", `{"n":"Lucía Ñandú"}`, `{"n":"Luc\u00eda \u00d1and\u00fa"}`},
		{"DEL is escaped", "{\"d\":\"a\x7fb\"}", `{"d":"a\u007fb"}`},
		{"emoji becomes a lowercase surrogate pair", `{"e":"👍"}`, `{"e":"\ud83d\udc4d"}`},
		{"BMP symbol", `{"e":"€✓"}`, `{"e":"\u20ac\u2713"}`},
		{"invalid UTF-8 becomes U+FFFD", "{\"x\":\"\xff\"}", `{"x":"\ufffd"}`},
		{"escapes already there stay", `{"x":"\u00e9\n"}`, `{"x":"\u00e9\n"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ASCII([]byte(tc.in))
			if string(got) != tc.want {
				t.Fatalf("ASCII(%q) = %s, want %s", tc.in, got, tc.want)
			}
			if n := asciiLen([]byte(tc.in)); n != len(got) {
				t.Errorf("asciiLen = %d, want %d", n, len(got))
			}
			for _, c := range got {
				if c > 0x7e {
					t.Fatalf("byte %#x above 0x7E in %q", c, got)
				}
			}
			// The meaning is unchanged.
			var a, b any
			if json.Valid([]byte(tc.in)) {
				if err := json.Unmarshal([]byte(tc.in), &a); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(got, &b); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(a) != fmt.Sprint(b) {
					t.Errorf("decoded %v, want %v", b, a)
				}
			}
		})
	}
}

func TestSignKnownAnswer(t *testing.T) {
	// HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog") (RFC 4231 style vector).
	got := Sign("key", []byte("The quick brown fox jumps over the lazy dog"))
	want := "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestCloudBackoff(t *testing.T) {
	want := []time.Duration{time.Second, 4 * time.Second, 16 * time.Second, 64 * time.Second,
		256 * time.Second, 1024 * time.Second, time.Hour, time.Hour}
	for i, w := range want {
		if got := CloudBackoff(i + 1); got != w {
			t.Errorf("CloudBackoff(%d) = %v, want %v", i+1, got, w)
		}
		if got := (Endpoint{Dialect: DialectCloud}).Backoff(i + 1); got != w {
			t.Errorf("Endpoint.Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := CloudBackoff(1000); got != CloudMaxBackoff {
		t.Errorf("CloudBackoff(1000) = %v, want the cap", got)
	}
	// On-Prem endpoints keep the linear schedule.
	if got := (Endpoint{}).Backoff(2); got != 6*time.Second {
		t.Errorf("On-Prem Backoff(2) = %v, want 6s", got)
	}
}

const cloudMeta = `"messaging_product":"whatsapp","metadata":{"display_phone_number":"16315551019","phone_number_id":"106540352242922"}`

func cloudStatus(msg int64, status string) string {
	return fmt.Sprintf(`{%s,"contacts":[{"profile":{"name":"Zoë 👍"},"wa_id":"15551230001"}],"statuses":[{"id":"wamid.%d","status":%q,"timestamp":"1740830400","recipient_id":"15551230001"}]}`, cloudMeta, msg, status)
}

func cloudMessage(msg int64) string {
	return fmt.Sprintf(`{%s,"contacts":[{"profile":{"name":"Zoë"},"wa_id":"15551230001"}],"messages":[{"from":"15551230001","id":"wamid.%d","timestamp":"1740830400","type":"text","text":{"body":"olá"}}]}`, cloudMeta, msg)
}

func TestCloudBody(t *testing.T) {
	t.Run("one status", func(t *testing.T) {
		body, ids, bad, _ := CloudBody("419561257915477", []store.Webhook{{ID: 5, Kind: store.WebhookCloudStatus, Payload: []byte(cloudStatus(7, "sent"))}})
		want := `{"object":"whatsapp_business_account","entry":[{"id":"419561257915477","changes":[{"value":{` + cloudMeta +
			`,"contacts":[{"profile":{"name":"Zo\u00eb \ud83d\udc4d"},"wa_id":"15551230001"}],"statuses":[{"id":"wamid.7","status":"sent","timestamp":"1740830400","recipient_id":"15551230001"}]},"field":"messages"}]}]}`
		if string(body) != want {
			t.Fatalf("body\n%s\nwant\n%s", body, want)
		}
		if len(ids) != 1 || ids[0] != 5 || len(bad) != 0 {
			t.Fatalf("ids %v bad %v", ids, bad)
		}
	})
	t.Run("batched messages share one value and deduplicate contacts", func(t *testing.T) {
		body, ids, _, _ := CloudBody("1", []store.Webhook{
			{ID: 1, Kind: store.WebhookCloudMessage, Payload: []byte(cloudMessage(1))},
			{ID: 2, Kind: store.WebhookCloudMessage, Payload: []byte(cloudMessage(2))},
		})
		want := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{` + cloudMeta +
			`,"contacts":[{"profile":{"name":"Zo\u00eb"},"wa_id":"15551230001"}],"messages":[` +
			`{"from":"15551230001","id":"wamid.1","timestamp":"1740830400","type":"text","text":{"body":"ol\u00e1"}},` +
			`{"from":"15551230001","id":"wamid.2","timestamp":"1740830400","type":"text","text":{"body":"ol\u00e1"}}]},"field":"messages"}]}]}`
		if string(body) != want {
			t.Fatalf("body\n%s\nwant\n%s", body, want)
		}
		if len(ids) != 2 {
			t.Fatalf("ids %v", ids)
		}
	})
	t.Run("bad payloads are set aside", func(t *testing.T) {
		body, ids, bad, reason := CloudBody("1", []store.Webhook{
			{ID: 1, Kind: store.WebhookCloudStatus, Payload: []byte(`{"statuses":[{}]}`)}, // no metadata
			{ID: 2, Kind: store.WebhookCloudStatus, Payload: []byte(cloudStatus(2, "read"))},
			{ID: 3, Kind: store.WebhookCloudMessage, Payload: []byte(cloudMessage(3))}, // other kind
		})
		if len(ids) != 1 || ids[0] != 2 || len(bad) != 2 || !strings.Contains(reason, "webhook 3") || !strings.Contains(string(body), `"wamid.2"`) {
			t.Fatalf("ids %v bad %d reason %q body %s", ids, len(bad), reason, body)
		}
	})
}

func TestCloudBatches(t *testing.T) {
	var hooks []store.Webhook
	for i := range 5 {
		hooks = append(hooks, store.Webhook{ID: int64(i + 1), Kind: store.WebhookCloudStatus, Payload: []byte(cloudStatus(int64(i), "sent"))})
	}
	hooks = append(hooks, store.Webhook{ID: 6, Kind: store.WebhookCloudMessage, Payload: []byte(cloudMessage(9))})
	sizes := func(bs [][]store.Webhook) []int {
		var out []int
		for _, b := range bs {
			out = append(out, len(b))
		}
		return out
	}
	if got := sizes(batches(hooks, 100, Endpoint{Dialect: DialectCloud})); fmt.Sprint(got) != "[1 1 1 1 1 1]" {
		t.Errorf("default: POST sizes %v, want one webhook each", got)
	}
	if got := sizes(batches(hooks, 100, Endpoint{Dialect: DialectCloud, Batch: true})); fmt.Sprint(got) != "[5 1]" {
		t.Errorf("batching: POST sizes %v, want statuses together and the message apart", got)
	}
	// The 3 MB cap splits a batch.
	big := strings.Repeat("é", 300_000) // 600 kB of UTF-8, 1.8 MB escaped
	huge := []store.Webhook{
		{ID: 1, Kind: store.WebhookCloudError, Payload: []byte(`{"e":"` + big + `"}`)},
		{ID: 2, Kind: store.WebhookCloudError, Payload: []byte(`{"e":"` + big + `"}`)},
	}
	if got := sizes(batches(huge, 100, Endpoint{Dialect: DialectCloud, Batch: true})); fmt.Sprint(got) != "[1 1]" {
		t.Errorf("3 MB cap: POST sizes %v, want [1 1]", got)
	}
	// The 1,000-update cap.
	many := make([]store.Webhook, 2500)
	for i := range many {
		many[i] = store.Webhook{ID: int64(i), Kind: store.WebhookCloudStatus, Payload: []byte(`{}`)}
	}
	if got := sizes(cloudBatches(many, true)); fmt.Sprint(got) != "[1000 1000 500]" {
		t.Errorf("1000 cap: POST sizes %v", got)
	}
}

// A Cloud endpoint gets one signed, ASCII-only POST per status; a failure is retried with the
// same bytes after CloudBackoff.
func TestCloudDelivery(t *testing.T) {
	drivers(t, func(t *testing.T, open opener) {
		st := open(t)
		clk := clock.NewVirtual(start)
		rcv := newReceiver(t)
		var failed atomic.Bool // the first POST of `sent` fails
		rcv.setRespond(func(i int) int {
			if strings.Contains(rcv.requests()[i].body, `"status":"sent"`) && failed.CompareAndSwap(false, true) {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		insert(t, st,
			hook(7, store.WebhookCloudStatus, cloudStatus(7, "sent"), clk.Now()),
			hook(7, store.WebhookCloudStatus, cloudStatus(7, "delivered"), clk.Now()),
			hook(8, store.WebhookCloudMessage, cloudMessage(8), clk.Now()))
		ep := &endpoint{}
		ep.set(Endpoint{URL: rcv.url(), Dialect: DialectCloud, SignatureSecret: "app-secret", WABAID: "419561257915477"})
		d := newDispatcher(t, st, clk, ep, 0)

		// The message goes out, the first status fails once.
		eventually(t, "two POSTs", func() bool { return rcv.count() == 2 })
		stays(t, "no retry before 1 s", func() bool { return rcv.count() == 2 })
		if err := clk.Advance(time.Second); err != nil {
			t.Fatal(err)
		}
		eventually(t, "all delivered", func() bool { return count(t, st, store.WebhookDelivered) == 3 })
		reqs := rcv.requests()
		if len(reqs) != 4 {
			t.Fatalf("%d POSTs, want 4 (one failed)", len(reqs))
		}
		var sentBodies []string
		for _, r := range reqs {
			if got, want := r.header.Get(CloudSignatureHeader), Sign("app-secret", []byte(r.body)); got != want {
				t.Errorf("signature %q, want %q", got, want)
			}
			if r.header.Get(SignatureHeader) != "" {
				t.Errorf("Cloud POST carries the On-Prem extension header")
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			for _, c := range []byte(r.body) {
				if c > 0x7e {
					t.Fatalf("non-ASCII byte in %s", r.body)
				}
			}
			var env struct {
				Object string `json:"object"`
				Entry  []struct {
					ID      string `json:"id"`
					Changes []struct {
						Field string `json:"field"`
						Value struct {
							Statuses []json.RawMessage `json:"statuses"`
							Messages []json.RawMessage `json:"messages"`
						} `json:"value"`
					} `json:"changes"`
				} `json:"entry"`
			}
			if err := json.Unmarshal([]byte(r.body), &env); err != nil {
				t.Fatal(err)
			}
			if env.Object != "whatsapp_business_account" || len(env.Entry) != 1 || env.Entry[0].ID != "419561257915477" ||
				len(env.Entry[0].Changes) != 1 || env.Entry[0].Changes[0].Field != "messages" {
				t.Fatalf("envelope %s", r.body)
			}
			v := env.Entry[0].Changes[0].Value
			if len(v.Statuses)+len(v.Messages) != 1 {
				t.Errorf("POST carries %d statuses and %d messages, want one in all", len(v.Statuses), len(v.Messages))
			}
			if strings.Contains(r.body, `"status":"sent"`) {
				sentBodies = append(sentBodies, r.body)
			}
		}
		if len(sentBodies) != 2 || sentBodies[0] != sentBodies[1] {
			t.Errorf("the retry of sent is not byte-identical: %q", sentBodies)
		}
		if !strings.Contains(reqs[len(reqs)-1].body, `"status":"delivered"`) {
			t.Errorf("delivered overtook sent: last POST %s", reqs[len(reqs)-1].body)
		}
		// The attempt log gives every POST's exact bytes: the failed one as stored, the
		// delivered ones rebuilt from their webhooks (so their signatures still verify).
		as, err := st.ListAttempts(context.Background(), 0, 10)
		if err != nil || len(as) != 4 {
			t.Fatalf("attempts: %d, %v", len(as), err)
		}
		posted := map[string]bool{}
		for _, r := range reqs {
			posted[r.body] = true
		}
		for _, a := range as {
			if stored := len(a.Request) > 0; stored != (a.Status != http.StatusOK) {
				t.Errorf("attempt %d (HTTP %d): request stored = %v", a.ID, a.Status, stored)
			}
			body, err := d.RequestBody(context.Background(), a)
			if err != nil || !posted[string(body)] {
				t.Errorf("attempt %d: RequestBody = %s, %v; not a body that was POSTed", a.ID, body, err)
			}
		}
	})
}

// After 7 days of failures a Cloud webhook is given up: pending, due in the far future, its
// last error saying so; no more POSTs.
func TestCloudGivesUpAfter7Days(t *testing.T) {
	drivers(t, func(t *testing.T, open opener) {
		st := open(t)
		clk := clock.NewVirtual(start)
		rcv := newReceiver(t)
		rcv.setRespond(func(int) int { return http.StatusServiceUnavailable })
		created := clk.Now().Add(-CloudGiveUp + 15*time.Second)
		w := hook(7, store.WebhookCloudStatus, cloudStatus(7, "sent"), clk.Now())
		w.CreatedAt = created
		insert(t, st, w)
		ep := &endpoint{}
		ep.set(Endpoint{URL: rcv.url(), Dialect: DialectCloud, SignatureSecret: "s", WABAID: "1"})
		newDispatcher(t, st, clk, ep, 0)

		get := func() store.Webhook { return webhooksOf(t, st, 7)[0] }
		eventually(t, "first failure", func() bool { return get().Attempts == 1 })
		if w := get(); strings.HasPrefix(w.LastError, GivenUpPrefix) || w.DueAt.Sub(clk.Now()) > time.Minute {
			t.Fatalf("given up too early: %+v", w)
		}
		// 1 s, 4 s, 16 s: the third failure's next try would be past the 7 days.
		for _, step := range []time.Duration{time.Second, 4 * time.Second} {
			n := get().Attempts
			if err := clk.Advance(step); err != nil {
				t.Fatal(err)
			}
			eventually(t, "next failure", func() bool { return get().Attempts == n+1 })
		}
		w = get()
		if w.State != store.WebhookPending || !strings.HasPrefix(w.LastError, GivenUpPrefix) || !strings.Contains(w.LastError, "HTTP 503") ||
			w.DueAt.Before(clk.Now().Add(365*24*time.Hour)) {
			t.Fatalf("after 7 days: state %s, error %q, due %v", w.State, w.LastError, w.DueAt)
		}
		if err := clk.Advance(30 * 24 * time.Hour); err != nil {
			t.Fatal(err)
		}
		stays(t, "no POST after giving up", func() bool { return rcv.count() == 3 })
		if as := attemptsOf(t, st, w.ID); len(as) != 3 {
			t.Errorf("%d attempts logged, want 3", len(as))
		}
	})
}

// Around a dialect switch a business has webhooks of both formats: each goes to the endpoint
// of its own dialect (Options.SettingsFor), never an On-Prem body to the Cloud URL.
func TestMixedDialectsGoToTheirEndpoints(t *testing.T) {
	drivers(t, func(t *testing.T, open opener) {
		st := open(t)
		clk := clock.NewVirtual(start)
		onprem, cloud := newReceiver(t), newReceiver(t)
		insert(t, st,
			hook(7, store.WebhookStatus, statusPayload(7, "sent"), clk.Now()),
			hook(8, store.WebhookCloudStatus, cloudStatus(8, "sent"), clk.Now()))
		d := New(Options{Store: st, Clock: clk, Logger: testLogger(), Timeout: 5 * time.Second,
			SettingsFor: func(_ context.Context, b, dialect string) (Endpoint, error) {
				if dialect == DialectCloud {
					return Endpoint{URL: cloud.url(), Dialect: DialectCloud, SignatureSecret: "app", WABAID: "9"}, nil
				}
				return Endpoint{URL: onprem.url()}, nil
			}})
		if err := d.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Stop)
		eventually(t, "both delivered", func() bool { return count(t, st, store.WebhookDelivered) == 2 })
		o, c := onprem.requests(), cloud.requests()
		if len(o) != 1 || len(c) != 1 {
			t.Fatalf("%d On-Prem and %d Cloud POSTs, want one each", len(o), len(c))
		}
		if want := `{"statuses":[` + statusPayload(7, "sent") + `]}`; o[0].body != want || o[0].header.Get(CloudSignatureHeader) != "" {
			t.Errorf("On-Prem POST %s", o[0].body)
		}
		if !strings.HasPrefix(c[0].body, `{"object":"whatsapp_business_account","entry":[{"id":"9",`) || c[0].header.Get(CloudSignatureHeader) != Sign("app", []byte(c[0].body)) {
			t.Errorf("Cloud POST %s", c[0].body)
		}
	})
}

// FuzzASCII: the output is ASCII-only, asciiLen predicts its length, and a JSON document keeps
// its meaning.
func FuzzASCII(f *testing.F) {
	for _, s := range []string{`{"a":"Lucía 👍"}`, "\x7f", "\xff\xfe", `"\u00e9"`, `[1,"€"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := ASCII(in)
		for _, c := range out {
			if c > 0x7e {
				t.Fatalf("byte %#x in %q", c, out)
			}
		}
		if asciiLen(in) != len(out) {
			t.Fatalf("asciiLen %d, len %d", asciiLen(in), len(out))
		}
		if !json.Valid(in) {
			return
		}
		// UseNumber: valid JSON may hold numbers beyond float64 (a 300-digit integer).
		decode := func(b []byte) (any, error) {
			d := json.NewDecoder(bytes.NewReader(b))
			d.UseNumber()
			var v any
			return v, d.Decode(&v)
		}
		a, err := decode(in)
		if err != nil {
			t.Fatal(err)
		}
		b, err := decode(out)
		if err != nil {
			t.Fatalf("escaped JSON is invalid: %v: %q", err, out)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Fatalf("meaning changed: %s vs %s", ja, jb)
		}
	})
}
