package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/store"
)

// (a) Webhooks due together go out in one POST per kind, in the exact On-Prem body.
func TestBatchedOnPremBodies(t *testing.T) {
	drivers(t, func(t *testing.T, open opener) {
		st := open(t)
		clk := clock.NewVirtual(start)
		rcv := newReceiver(t)
		now := clk.Now()
		contactA := `{"profile":{"name":"Kerry Fisher"},"wa_id":"16315551234"}`
		contactB := `{"profile":{"name":"Ana"},"wa_id":"16315550000"}`
		msgA1 := `{"from":"16315551234","id":"ABGG1","timestamp":"1740830400","type":"text","text":{"body":"hi"}}`
		msgA2 := `{"from":"16315551234","id":"ABGG2","timestamp":"1740830401","type":"text","text":{"body":"again"}}`
		msgB := `{"from":"16315550000","id":"ABGG3","timestamp":"1740830402","type":"location","location":{"latitude":38.9,"longitude":-77.0}}`
		system := `{"from":"16315551234","id":"ABGG4","timestamp":"1740830403","type":"system","system":{"body":"User A changed from 16315551234 to 16315559999","new_wa_id":"16315559999","type":"user_changed_number"}}`
		errEntry := `{"code":400,"title":"Media download error","details":"Failed to download the media from the sender."}`
		insert(t, st,
			hook(101, store.WebhookStatus, statusPayload(101, "sent"), now),
			hook(102, store.WebhookStatus, statusPayload(102, "delivered"), now),
			hook(103, store.WebhookStatus, statusPayload(103, "read"), now),
			hook(201, store.WebhookMessage, `{"contact":`+contactA+`,"message":`+msgA1+`}`, now),
			hook(202, store.WebhookMessage, `{"contact":`+contactA+`,"message":`+msgA2+`}`, now),
			hook(203, store.WebhookMessage, `{"contact":`+contactB+`,"message":`+msgB+`}`, now),
			hook(204, store.WebhookMessage, `{"message":`+system+`}`, now),
			hook(0, store.WebhookError, errEntry, now),
		)
		ep := &endpoint{}
		ep.set(Endpoint{URL: rcv.url()})
		d := newDispatcher(t, st, clk, ep, 0)

		eventually(t, "every webhook delivered", func() bool { return count(t, st, store.WebhookDelivered) == 8 })
		stays(t, "three POSTs only", func() bool { return rcv.count() == 3 })
		var bodies []string
		for _, r := range rcv.requests() {
			bodies = append(bodies, r.body)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if sig := r.header.Get(SignatureHeader); sig != "" {
				t.Errorf("signature header %q without a secret", sig)
			}
		}
		slices.Sort(bodies)
		want := []string{
			`{"contacts":[` + contactA + `,` + contactB + `],"messages":[` + msgA1 + `,` + msgA2 + `,` + msgB + `,` + system + `]}`,
			`{"errors":[` + errEntry + `]}`,
			`{"statuses":[` + statusPayload(101, "sent") + `,` + statusPayload(102, "delivered") + `,` + statusPayload(103, "read") + `]}`,
		}
		for i := range want {
			if i >= len(bodies) || bodies[i] != want[i] {
				t.Errorf("POST bodies\n got: %q\nwant: %q", bodies, want)
				break
			}
		}
		// The attempt log has the answer; the delivered request is not stored twice but rebuilt,
		// byte for byte, from the webhooks the attempt carried.
		w := webhooksOf(t, st, 101)[0]
		as := attemptsOf(t, st, w.ID)
		if len(as) != 1 || as[0].Status != 200 || len(as[0].Request) != 0 || string(as[0].Response) == "" ||
			as[0].Error != "" || as[0].URL != rcv.url() || len(as[0].WebhookIDs) != 3 {
			t.Errorf("attempt log: %+v", as)
		}
		if body, err := d.RequestBody(context.Background(), as[0]); err != nil || string(body) != want[2] {
			t.Errorf("RequestBody = %q, %v; want the POSTed %q", body, err, want[2])
		}
		if s := d.Stats(); s.Posts != 3 || s.DeliveredPosts != 3 || s.DeliveredWebhooks != 8 || s.FailedPosts != 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

// (b) A failure is retried after callback_backoff_delay_ms × attempts on the dispatcher's
// clock: 3 s after the first failure, 6 s after the second.
func TestLinearBackoffFollowsTheClock(t *testing.T) {
	drivers(t, func(t *testing.T, open opener) {
		st := open(t)
		clk := clock.NewVirtual(start)
		rcv := newReceiver(t)
		rcv.setRespond(statuses(500, 500))
		insert(t, st, hook(7, store.WebhookStatus, statusPayload(7, "delivered"), clk.Now()))
		ep := &endpoint{}
		ep.set(Endpoint{URL: rcv.url(), BackoffStep: 3 * time.Second, MaxBackoff: 15 * time.Minute})
		newDispatcher(t, st, clk, ep, 0)

		webhook := func() store.Webhook { return webhooksOf(t, st, 7)[0] }
		eventually(t, "the first failure recorded", func() bool { return webhook().Attempts == 1 })
		as := attemptsOf(t, st, webhook().ID)
		if len(as) != 1 || as[0].Status != 500 || !strings.Contains(as[0].Error, "HTTP 500") {
			t.Fatalf("first attempt: %+v", as)
		}
		if w := webhook(); w.State != store.WebhookPending || w.DueAt.Sub(as[0].At) < 3*time.Second || w.DueAt.Sub(as[0].At) > 4*time.Second {
			t.Errorf("after the first failure: state %s, due %v after the attempt; want pending, 3 s", w.State, w.DueAt.Sub(as[0].At))
		}
		stays(t, "no retry before the backoff", func() bool { return rcv.count() == 1 })

		if err := clk.Advance(3 * time.Second); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the second failure recorded", func() bool { return webhook().Attempts == 2 })
		if rcv.count() != 2 {
			t.Fatalf("%d POSTs, want 2", rcv.count())
		}
		stays(t, "no retry before 6 s", func() bool { return rcv.count() == 2 })
		if err := clk.Advance(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		stays(t, "no retry 5 s after the second failure", func() bool { return rcv.count() == 2 })
		if err := clk.Advance(time.Second); err != nil {
			t.Fatal(err)
		}
		eventually(t, "delivered on the third attempt", func() bool { return webhook().State == store.WebhookDelivered })
		as = attemptsOf(t, st, webhook().ID)
		got := []int{}
		for _, a := range as {
			got = append(got, a.Status)
		}
		if !slices.Equal(got, []int{500, 500, 200}) {
			t.Errorf("attempt statuses %v, want [500 500 200]", got)
		}
		if gap := as[1].At.Sub(as[0].At); gap < 3*time.Second {
			t.Errorf("second attempt %v after the first, want ≥ 3 s", gap)
		}
		if gap := as[2].At.Sub(as[1].At); gap < 6*time.Second {
			t.Errorf("third attempt %v after the second, want ≥ 6 s", gap)
		}
		// Every attempt resends the same body.
		reqs := rcv.requests()
		if reqs[0].body != reqs[1].body || reqs[1].body != reqs[2].body {
			t.Errorf("retries changed the body: %q", reqs)
		}
	})
}

// (c) and (d): only HTTP 200 acknowledges; 201, 204 and a redirect (not followed) are failures.
func TestOnly200Acknowledges(t *testing.T) {
	for _, code := range []int{http.StatusCreated, http.StatusNoContent, http.StatusFound, http.StatusTemporaryRedirect, http.StatusBadRequest} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			drivers(t, func(t *testing.T, open opener) {
				st := open(t)
				clk := clock.NewVirtual(start)
				rcv := newReceiver(t)
				rcv.setRespond(statuses(code))
				insert(t, st, hook(9, store.WebhookStatus, statusPayload(9, "read"), clk.Now()))
				ep := &endpoint{}
				ep.set(Endpoint{URL: rcv.url()})
				d := newDispatcher(t, st, clk, ep, 0)

				webhook := func() store.Webhook { return webhooksOf(t, st, 9)[0] }
				eventually(t, "the failure recorded", func() bool { return webhook().Attempts == 1 })
				w := webhook()
				as := attemptsOf(t, st, w.ID)
				if w.State != store.WebhookPending || len(as) != 1 || as[0].Status != code || as[0].Error == "" || w.LastError != as[0].Error {
					t.Fatalf("HTTP %d: webhook %+v, attempts %+v; want pending with one failed attempt", code, w, as)
				}
				if code >= 300 && code < 400 && !strings.Contains(as[0].Error, "redirects are not followed") {
					t.Errorf("redirect error text %q", as[0].Error)
				}
				rcv.mu.Lock()
				strays := rcv.strays
				rcv.mu.Unlock()
				if strays != 0 {
					t.Errorf("the redirect was followed (%d requests elsewhere)", strays)
				}
				if s := d.Stats(); s.FailedPosts != 1 || s.DeliveredWebhooks != 0 {
					t.Errorf("stats %+v", s)
				}
				if err := clk.Advance(3 * time.Second); err != nil {
					t.Fatal(err)
				}
				eventually(t, "delivered on retry", func() bool { return webhook().State == store.WebhookDelivered })
			})
		})
	}
}

// (e) Statuses of one message go out in lifecycle order, one per POST: a 'delivered' inserted
// after a 'sent' waits while the 'sent' is being retried.
func TestPerMessageOrder(t *testing.T) {
	drivers(t, func(t *testing.T, open opener) {
		st := open(t)
		clk := clock.NewVirtual(start)
		rcv := newReceiver(t)
		rcv.setRespond(statuses(500))
		now := clk.Now()
		insert(t, st,
			hook(5, store.WebhookStatus, statusPayload(5, "sent"), now),
			hook(5, store.WebhookStatus, statusPayload(5, "delivered"), now),
			hook(6, store.WebhookStatus, statusPayload(6, "sent"), now.Add(time.Hour)), // not due
		)
		ep := &endpoint{}
		ep.set(Endpoint{URL: rcv.url()})
		newDispatcher(t, st, clk, ep, 0)

		// Both statuses of message 5 are due at once: they travel in one POST, in order, and
		// are retried together after its failure.
		eventually(t, "the first failure recorded", func() bool { return webhooksOf(t, st, 5)[0].Attempts == 1 })
		stays(t, "nothing goes out before the retry", func() bool { return rcv.count() == 1 })
		if err := clk.Advance(3 * time.Second); err != nil {
			t.Fatal(err)
		}
		eventually(t, "both statuses delivered", func() bool { return count(t, st, store.WebhookDelivered) == 2 })
		got := bodies(rcv.requests())
		both := statusBody(5, "sent", "delivered")
		if !slices.Equal(got, []string{both, both}) {
			t.Errorf("POSTs in this order:\n%q\nwant sent+delivered (500), sent+delivered (200)", got)
		}

		// A 'read' created while its message's 'sent' is being retried waits for it: the retry
		// is due later, so the store holds 'read' back, and it goes out alone afterwards.
		rcv.setRespond(func(i int) int {
			if i == 2 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		now = clk.Now()
		insert(t, st, hook(7, store.WebhookStatus, statusPayload(7, "sent"), now))
		eventually(t, "the failure of 7's sent recorded", func() bool { return webhooksOf(t, st, 7)[0].Attempts == 1 })
		insert(t, st, hook(7, store.WebhookStatus, statusPayload(7, "read"), clk.Now()))
		stays(t, "'read' waits behind the failed 'sent'", func() bool { return rcv.count() == 3 })
		if err := clk.Advance(3 * time.Second); err != nil {
			t.Fatal(err)
		}
		eventually(t, "7's statuses delivered", func() bool { return count(t, st, store.WebhookDelivered) == 4 })
		got = bodies(rcv.requests()[3:])
		if !slices.Equal(got, []string{statusBody(7, "sent"), statusBody(7, "read")}) {
			t.Errorf("POSTs after the failure:\n%q\nwant 7's sent, then 7's read", got)
		}
	})
}

// TestNoOvertakingAPostInFlight: a status created while an older one of its message is being
// POSTed waits for that POST to finish (the store does not hold it back: the dispatcher knows
// what it is sending and does), and then goes out in a POST of its own.
func TestNoOvertakingAPostInFlight(t *testing.T) {
	drivers(t, func(t *testing.T, open opener) {
		st := open(t)
		clk := clock.NewVirtual(start)
		rcv := newReceiver(t)
		gate := make(chan struct{})
		var once sync.Once
		release := func() { once.Do(func() { close(gate) }) }
		rcv.mu.Lock()
		rcv.gate = gate
		rcv.mu.Unlock()
		insert(t, st, hook(9, store.WebhookStatus, statusPayload(9, "sent"), clk.Now()))
		ep := &endpoint{}
		ep.set(Endpoint{URL: rcv.url()})
		d := newDispatcher(t, st, clk, ep, 0)
		t.Cleanup(release) // runs before the dispatcher's Stop (cleanups run last first), which waits for POSTs
		eventually(t, "9's sent on its way", func() bool { return rcv.count() == 1 })

		insert(t, st, hook(9, store.WebhookStatus, statusPayload(9, "read"), clk.Now()))
		d.Wake()
		stays(t, "'read' waits while 'sent' is in flight", func() bool { return rcv.count() == 1 })
		rcv.mu.Lock()
		rcv.gate = nil
		rcv.mu.Unlock()
		release()
		eventually(t, "both delivered", func() bool { return count(t, st, store.WebhookDelivered) == 2 })
		got := bodies(rcv.requests())
		if !slices.Equal(got, []string{statusBody(9, "sent"), statusBody(9, "read")}) {
			t.Errorf("POSTs:\n%q\nwant 9's sent, then 9's read", got)
		}
	})
}

// bodies are the bodies of reqs, in order.
func bodies(reqs []received) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.body
	}
	return out
}

// statusBody is the On-Prem body carrying the given statuses of message msg, in order.
func statusBody(msg int64, statuses ...string) string {
	entries := make([]string, len(statuses))
	for i, st := range statuses {
		entries[i] = statusPayload(msg, st)
	}
	return `{"statuses":[` + strings.Join(entries, ",") + `]}`
}

// (f) At most MaxConcurrent POSTs are in flight per endpoint.
func TestMaxConcurrent(t *testing.T) {
	drivers(t, func(t *testing.T, open opener) {
		st := open(t)
		clk := clock.NewVirtual(start)
		rcv := newReceiver(t)
		gate := make(chan struct{})
		rcv.gate = gate
		var hooks []store.Webhook
		for i := range int64(10) {
			hooks = append(hooks, hook(300+i, store.WebhookStatus, statusPayload(300+i, "delivered"), clk.Now()))
		}
		insert(t, st, hooks...)
		ep := &endpoint{}
		ep.set(Endpoint{URL: rcv.url(), MaxConcurrent: 3})
		d := newDispatcher(t, st, clk, ep, 1) // one entry per POST: ten POSTs

		eventually(t, "three POSTs in flight", func() bool { return rcv.count() == 3 })
		stays(t, "no fourth POST while three are in flight", func() bool { return rcv.count() == 3 && d.Stats().InFlight == 3 })
		close(gate)
		eventually(t, "all delivered", func() bool { return count(t, st, store.WebhookDelivered) == 10 })
		rcv.mu.Lock()
		maxCur := rcv.maxCur
		rcv.mu.Unlock()
		if maxCur != 3 || rcv.count() != 10 {
			t.Errorf("max concurrent %d over %d POSTs, want 3 over 10", maxCur, rcv.count())
		}
	})
}

// (g) Nothing is lost across a restart: a new Dispatcher on a reopened store delivers what the
// stopped one left pending, and what was added while none ran.
func TestRestartDeliversPending(t *testing.T) {
	drivers(t, func(t *testing.T, open opener) {
		clk := clock.NewVirtual(start)
		rcv := newReceiver(t)
		rcv.setRespond(func(int) int { return http.StatusServiceUnavailable })
		ep := &endpoint{}
		ep.set(Endpoint{URL: rcv.url()})

		st1 := open(t)
		insert(t, st1,
			hook(11, store.WebhookStatus, statusPayload(11, "sent"), clk.Now()),
			hook(12, store.WebhookStatus, statusPayload(12, "sent"), clk.Now()))
		d1 := newDispatcher(t, st1, clk, ep, 0)
		eventually(t, "the first attempt failed", func() bool { return webhooksOf(t, st1, 11)[0].Attempts == 1 })
		d1.Stop()
		d1.Stop() // idempotent
		// Added while no dispatcher runs.
		insert(t, st1, hook(13, store.WebhookStatus, statusPayload(13, "read"), clk.Now()))
		if err := st1.Close(); err != nil {
			t.Fatal(err)
		}

		rcv.setRespond(statuses())
		st2 := open(t)
		newDispatcher(t, st2, clk, ep, 0)
		eventually(t, "the webhook added while stopped delivered", func() bool { return webhooksOf(t, st2, 13)[0].State == store.WebhookDelivered })
		if n := count(t, st2, store.WebhookPending); n != 2 {
			t.Errorf("%d pending before the backoff elapsed, want 2", n)
		}
		if err := clk.Advance(3 * time.Second); err != nil {
			t.Fatal(err)
		}
		eventually(t, "everything delivered", func() bool { return count(t, st2, store.WebhookDelivered) == 3 })
		for _, id := range []int64{11, 12, 13} {
			w := webhooksOf(t, st2, id)[0]
			as := attemptsOf(t, st2, w.ID)
			if len(as) == 0 || as[len(as)-1].Status != 200 {
				t.Errorf("message %d: attempts %+v, want the last one 200", id, as)
			}
		}
	})
}

// (h) With a secret, each POST is signed: X-Waba-Signature-256: sha256=<hex HMAC-SHA256>.
func TestSignature(t *testing.T) {
	drivers(t, func(t *testing.T, open opener) {
		st := open(t)
		clk := clock.NewVirtual(start)
		rcv := newReceiver(t)
		const secret = "0123456789abcdef-test-secret"
		insert(t, st, hook(21, store.WebhookStatus, statusPayload(21, "read"), clk.Now()))
		ep := &endpoint{}
		ep.set(Endpoint{URL: rcv.url(), SignatureSecret: secret})
		newDispatcher(t, st, clk, ep, 0)
		eventually(t, "delivered", func() bool { return rcv.count() == 1 })
		r := rcv.requests()[0]
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(r.body))
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if got := r.header.Get(SignatureHeader); got != want {
			t.Errorf("%s = %q, want %q", SignatureHeader, got, want)
		}
		if got := r.header.Get("X-Hub-Signature-256"); got != "" {
			t.Errorf("X-Hub-Signature-256 = %q: On-Prem webhooks carry only waba's header", got)
		}
	})
}

// Without a URL nothing is POSTed and webhooks stay pending; once a URL is set and RetryNow
// runs, they go out. Redeliver sends a delivered webhook again.
func TestNoURLThenRetryNowAndRedeliver(t *testing.T) {
	drivers(t, func(t *testing.T, open opener) {
		st := open(t)
		clk := clock.NewVirtual(start)
		rcv := newReceiver(t)
		insert(t, st, hook(31, store.WebhookStatus, statusPayload(31, "sent"), clk.Now()))
		ep := &endpoint{}
		d := newDispatcher(t, st, clk, ep, 0)

		eventually(t, "set aside for want of a URL", func() bool { return webhooksOf(t, st, 31)[0].DueAt.After(clk.Now()) })
		stays(t, "nothing POSTed, still pending", func() bool {
			w := webhooksOf(t, st, 31)[0]
			return rcv.count() == 0 && w.State == store.WebhookPending && w.Attempts == 0
		})
		if as := attemptsOf(t, st, webhooksOf(t, st, 31)[0].ID); len(as) != 0 {
			t.Errorf("attempts without a URL: %+v", as)
		}

		ep.set(Endpoint{URL: rcv.url()})
		if n, err := d.RetryNow(context.Background()); err != nil || n != 1 {
			t.Fatalf("RetryNow = %d, %v; want 1", n, err)
		}
		eventually(t, "delivered once a URL is set", func() bool { return webhooksOf(t, st, 31)[0].State == store.WebhookDelivered })

		id := webhooksOf(t, st, 31)[0].ID
		if n, err := d.Redeliver(context.Background(), []int64{id, 999999}); err != nil || n != 1 {
			t.Fatalf("Redeliver = %d, %v; want 1", n, err)
		}
		eventually(t, "redelivered", func() bool { return rcv.count() == 2 && webhooksOf(t, st, 31)[0].State == store.WebhookDelivered })
		if len(attemptsOf(t, st, id)) != 2 {
			t.Errorf("attempts after redelivery: %+v", attemptsOf(t, st, id))
		}
	})
}

// A receiver that does not answer within the timeout is a failure.
func TestTimeoutIsFailure(t *testing.T) {
	drivers(t, func(t *testing.T, open opener) {
		st := open(t)
		clk := clock.NewVirtual(start)
		rcv := newReceiver(t)
		gate := make(chan struct{})
		rcv.gate = gate
		t.Cleanup(func() { close(gate) })
		insert(t, st, hook(41, store.WebhookStatus, statusPayload(41, "read"), clk.Now()))
		ep := &endpoint{}
		ep.set(Endpoint{URL: rcv.url()})
		d := New(Options{Store: st, Clock: clk, Logger: testLogger(), Settings: ep.settings, Timeout: 200 * time.Millisecond})
		if err := d.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Stop)
		eventually(t, "the timeout recorded", func() bool { return webhooksOf(t, st, 41)[0].Attempts == 1 })
		as := attemptsOf(t, st, webhooksOf(t, st, 41)[0].ID)
		if len(as) != 1 || as[0].Status != 0 || !strings.Contains(as[0].Error, "no answer within 200ms") {
			t.Errorf("attempt %+v", as)
		}
	})
}
