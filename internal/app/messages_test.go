package app

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/wa"
)

var sendOK = regexp.MustCompile(`^\{"messages":\[\{"id":"(gBEG[A-Za-z0-9_-]{22})"\}\],"meta":\{"api_status":"stable","version":"v2\.45\.1"\}\}$`)

// sent asserts a 201 with the exact On-Prem send body and returns the internal id.
func sent(t *testing.T, r response) int64 {
	t.Helper()
	m := sendOK.FindSubmatch(r.raw)
	if r.status != 201 || m == nil {
		t.Fatalf("want 201 with a message id, got %d %s", r.status, r.raw)
	}
	id, inbound, ok := wa.ParseOnPremID(string(m[1]))
	if !ok || inbound {
		t.Fatalf("id %s does not parse as an outbound id", m[1])
	}
	return id
}

func TestSendText(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		cfg.AdminPassword = testAdminPassword
		a := start(t, cfg)
		base := a.URL()
		tok := login(t, base, "admin", testAdminPassword)

		id := sent(t, do(t, base, request{method: "POST", path: "/v1/messages", token: tok,
			body: `{"to":"+1 (555) 123-0001","type":"text","preview_url":true,"text":{"body":"Order *#1234* shipped"}}`}))
		m, err := a.Store().GetMessage(context.Background(), id)
		if err != nil {
			t.Fatalf("the accepted message is not in the store: %v", err)
		}
		if m.Direction != store.Outbound || m.Peer != "15551230001" || m.Business != "15550001111" || m.Type != "text" ||
			(m.Status != store.StatusAccepted && m.Status != store.StatusFailed) {
			// accepted, or already failed by the network (the user never wrote: 470) when the
			// dispatcher was quicker than this read.
			t.Fatalf("stored row: %+v", m)
		}
		var payload map[string]any
		if err := json.Unmarshal(m.Payload, &payload); err != nil {
			t.Fatal(err)
		}
		text, _ := payload["text"].(map[string]any)
		if text["body"] != "Order *#1234* shipped" || payload["type"] != "text" {
			t.Fatalf("stored payload: %s", m.Payload)
		}

		// type defaults to text and recipient_type to individual.
		sent(t, do(t, base, request{method: "POST", path: "/v1/messages", token: tok, body: `{"to":"15551230002","text":{"body":"hi"}}`}))
	})
}

// TestSendErrors covers the transport-level errors of POST /v1/messages; the per-field rules are
// covered by the validation tests in package engine and the seed table below.
func TestSendErrors(t *testing.T) {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	cfg.AdminPassword = testAdminPassword
	cfg.MaxBodyBytes = 4096
	a := start(t, cfg)
	base := a.URL()
	tok := login(t, base, "admin", testAdminPassword)
	post := func(body, ct string) response {
		return do(t, base, request{method: "POST", path: "/v1/messages", token: tok, body: body, contentType: ct})
	}
	wantError(t, post(`{"to":"15551230001","text":{"body":"hi"}}`, "text/plain"), 400, 1025, "Invalid Request", `Content-Type must be application/json (got "text/plain")`)
	wantError(t, post(`{"to":"15551230001","text":{"body":"hi"}}`, "-"), 400, 1025, "Invalid Request", `Content-Type must be application/json (got "")`)
	wantCode(t, post(`{"to":"15551230001",`, ""), 400, 1025)
	wantCode(t, post(`[1,2]`, ""), 400, 1025)
	wantError(t, post(`{"to":"15551230001","text":{"body":"`+strings.Repeat("a", 5000)+`"}}`, ""), 400, 1025, "Invalid Request", "Request body is larger than 4096 bytes")
	wantError(t, post(`{"type":"text","text":{"body":"hi"}}`, ""), 400, 1008, "Required parameter is missing", "Missing mandatory parameter 'to'")
	// Sending to the business's own number (onprem-api.md §8.1).
	wantError(t, post(`{"to":"+1 555 000 1111","text":{"body":"hi"}}`, ""), 400, 1021, "Bad User", "Cannot send a message to yourself: 'to' is the business number 15550001111")
	// charset parameters are fine.
	sent(t, post(`{"to":"15551230001","text":{"body":"hi"}}`, "application/json; charset=utf-8"))

	r := do(t, base, request{method: "GET", path: "/v1/messages", token: tok})
	wantError(t, r, 405, 1025, "Invalid Request", "Method GET is not allowed on /v1/messages; use POST")
	if r.header.Get("Allow") != "POST" {
		t.Fatalf("Allow = %q", r.header.Get("Allow"))
	}
	wantError(t, do(t, base, request{method: "GET", path: "/v1/nothing/here", token: tok}), 404, 1006, "Resource not found", "Unknown path /v1/nothing/here")
}

func TestMarkRead(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		cfg.AdminPassword = testAdminPassword
		a := start(t, cfg)
		base := a.URL()
		tok := login(t, base, "admin", testAdminPassword)

		// An inbound message as the simulated network will store it.
		now := time.Now().UTC().Truncate(time.Millisecond)
		in := store.Message{ID: 4242, Direction: store.Inbound, Business: "15550001111", Peer: "15551230001", Type: "text",
			Payload: []byte(`{"text":{"body":"hello"}}`), Status: store.StatusReceived, CreatedAt: now, UpdatedAt: now}
		if err := a.Store().InsertMessages(context.Background(), []store.Message{in}); err != nil {
			t.Fatal(err)
		}
		inID := wa.OnPremID(4242, true)
		put := func(id, body string) response {
			return do(t, base, request{method: "PUT", path: "/v1/messages/" + id, token: tok, body: body})
		}
		wantError(t, put(inID, `{}`), 400, 1008, "Required parameter is missing", "Missing mandatory parameter 'status'")
		wantError(t, put(inID, `{"status":"delivered"}`), 400, 1009, "Parameter value is not valid", "Parameter 'status' has invalid value 'delivered'; the only value is 'read'")
		r := put(inID, `{"status":"read"}`)
		if r.status != 200 || string(r.raw) != `{"meta":{"api_status":"stable","version":"v2.45.1"}}` {
			t.Fatalf("mark read: %d %s", r.status, r.raw)
		}
		got, err := a.Store().GetMessage(context.Background(), 4242)
		if err != nil || got.Status != store.StatusRead {
			t.Fatalf("status after mark read: %+v %v", got, err)
		}
		// Unknown ids, outbound ids and made-up strings are 1006 (§8.12).
		wantError(t, put(wa.OnPremID(4343, true), `{"status":"read"}`), 404, 1006, "Resource not found", fmt.Sprintf("No inbound message with id '%s'", wa.OnPremID(4343, true)))
		out := sent(t, do(t, base, request{method: "POST", path: "/v1/messages", token: tok, body: `{"to":"15551230001","text":{"body":"hi"}}`}))
		wantError(t, put(wa.OnPremID(out, false), `{"status":"read"}`), 404, 1006, "Resource not found", fmt.Sprintf("No inbound message with id '%s'", wa.OnPremID(out, false)))
		wantError(t, put("not-an-id", `{"status":"read"}`), 404, 1006, "Resource not found", "No inbound message with id 'not-an-id'")
	})
}

// TestConcurrentSendsShareCommits: many concurrent sends all get 201 and every id is stored.
func TestConcurrentSendsShareCommits(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		cfg.AdminPassword = testAdminPassword
		a := start(t, cfg)
		base := a.URL()
		tok := login(t, base, "admin", testAdminPassword)
		const n = 300
		ids := make([]int64, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ids[i] = sent(t, do(t, base, request{method: "POST", path: "/v1/messages", token: tok,
					body: fmt.Sprintf(`{"to":"1555123%04d","text":{"body":"m%d"}}`, i, i)}))
			}()
		}
		wg.Wait()
		seen := map[int64]bool{}
		for i, id := range ids {
			if seen[id] {
				t.Fatalf("duplicate id %d", id)
			}
			seen[id] = true
			m, err := a.Store().GetMessage(context.Background(), id)
			if err != nil || m.Peer != fmt.Sprintf("1555123%04d", i) {
				t.Fatalf("message %d: %+v %v", i, m, err)
			}
		}
		if c, err := a.Store().CountMessages(context.Background(), store.Outbound); err != nil || c != n {
			t.Fatalf("CountMessages = %d, %v; want %d", c, err, n)
		}
	})
}

// TestGracefulStopKeepsAccepted: a stop while sends are in flight loses nothing that was
// answered 201; after a restart on the same data every such id is there.
func TestGracefulStopKeepsAccepted(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		cfg.AdminPassword = testAdminPassword
		ctx := context.Background()
		a, err := New(ctx, cfg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		base := a.URL()
		tok := login(t, base, "admin", testAdminPassword)

		var (
			mu       sync.Mutex
			accepted []int64
			wg       sync.WaitGroup
		)
		stop := make(chan struct{})
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					r, err := tryPost(base, tok, fmt.Sprintf(`{"to":"1555123%02d%02d","text":{"body":"x"}}`, w, i%100))
					if err != nil {
						return // the listener closed
					}
					if m := sendOK.FindSubmatch(r); m != nil {
						id, _, _ := wa.ParseOnPremID(string(m[1]))
						mu.Lock()
						accepted = append(accepted, id)
						mu.Unlock()
					}
				}
			}()
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := len(accepted)
			mu.Unlock()
			if n >= 200 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := a.Stop(stopCtx); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		close(stop)
		wg.Wait()
		if len(accepted) < 200 {
			t.Fatalf("only %d sends were accepted before the stop", len(accepted))
		}

		b, err := New(ctx, cfg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Stop(ctx)
		for _, id := range accepted {
			if _, err := b.Store().GetMessage(ctx, id); err != nil {
				t.Fatalf("accepted message %d is missing after restart: %v", id, err)
			}
		}
	})
}
