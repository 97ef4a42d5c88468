package webhook

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/store"
)

func TestBackoff(t *testing.T) {
	ep := Endpoint{BackoffStep: 3 * time.Second, MaxBackoff: 15 * time.Minute}
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{
		{0, 3 * time.Second}, {1, 3 * time.Second}, {2, 6 * time.Second}, {3, 9 * time.Second},
		{300, 15 * time.Minute}, {301, 15 * time.Minute}, {1 << 40, 15 * time.Minute},
	} {
		if got := ep.Backoff(tc.attempts); got != tc.want {
			t.Errorf("Backoff(%d) = %v, want %v", tc.attempts, got, tc.want)
		}
	}
	if got := (Endpoint{}).Backoff(2); got != 6*time.Second {
		t.Errorf("default Backoff(2) = %v, want 6s", got)
	}
	if got := (Endpoint{BackoffStep: time.Minute, MaxBackoff: 30 * time.Second}).Backoff(1); got != 30*time.Second {
		t.Errorf("a step above the cap = %v, want the cap", got)
	}
}

func TestBody(t *testing.T) {
	w := func(id int64, kind, payload string) store.Webhook {
		return store.Webhook{ID: id, Kind: kind, Payload: []byte(payload)}
	}
	tests := []struct {
		name    string
		hooks   []store.Webhook
		body    string
		ids     []int64
		bad     []int64
		because string
	}{
		{
			name:  "statuses, space removed",
			hooks: []store.Webhook{w(1, "status", `{ "id": "a" }`), w(2, "status", `{"id":"b"}`)},
			body:  `{"statuses":[{"id":"a"},{"id":"b"}]}`, ids: []int64{1, 2},
		},
		{
			name: "messages with a repeated contact and a system message",
			hooks: []store.Webhook{
				w(1, "message", `{"contact":{"wa_id":"1"},"message":{"id":"m1"}}`),
				w(2, "message", `{"contact":{"wa_id":"1"},"message":{"id":"m2"}}`),
				w(3, "message", `{"contact":null,"message":{"id":"m3","type":"system"}}`),
			},
			body: `{"contacts":[{"wa_id":"1"}],"messages":[{"id":"m1"},{"id":"m2"},{"id":"m3","type":"system"}]}`, ids: []int64{1, 2, 3},
		},
		{
			name:  "system message alone has no contacts",
			hooks: []store.Webhook{w(3, "message", `{"message":{"id":"m3","type":"system"}}`)},
			body:  `{"messages":[{"id":"m3","type":"system"}]}`, ids: []int64{3},
		},
		{
			name:  "errors",
			hooks: []store.Webhook{w(4, "error", `{"code":400,"title":"Media download error"}`)},
			body:  `{"errors":[{"code":400,"title":"Media download error"}]}`, ids: []int64{4},
		},
		{
			name:  "a broken payload is left out",
			hooks: []store.Webhook{w(1, "status", `{"id":"a"}`), w(2, "status", `{"id":`), w(3, "status", `[1]`)},
			body:  `{"statuses":[{"id":"a"}]}`, ids: []int64{1}, bad: []int64{2, 3}, because: "webhook 3",
		},
		{
			name:  "a message without message",
			hooks: []store.Webhook{w(1, "message", `{"contact":{"wa_id":"1"}}`)},
			bad:   []int64{1}, because: "message",
		},
		{
			name:  "unknown kind",
			hooks: []store.Webhook{w(1, "template", `{}`)},
			bad:   []int64{1}, because: "unknown webhook kind",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, ids, bad, reason := Body(tc.hooks)
			if string(body) != tc.body {
				t.Errorf("body %s, want %s", body, tc.body)
			}
			if !slices.Equal(ids, tc.ids) {
				t.Errorf("ids %v, want %v", ids, tc.ids)
			}
			var badIDs []int64
			for _, b := range bad {
				badIDs = append(badIDs, b.ID)
			}
			if !slices.Equal(badIDs, tc.bad) || !strings.Contains(reason, tc.because) {
				t.Errorf("bad %v (%q), want %v (%q)", badIDs, reason, tc.bad, tc.because)
			}
		})
	}
}

func TestBatches(t *testing.T) {
	var hooks []store.Webhook
	for i := range int64(5) {
		hooks = append(hooks, store.Webhook{ID: i, Kind: store.WebhookStatus})
	}
	hooks = append(hooks, store.Webhook{ID: 10, Kind: store.WebhookMessage}, store.Webhook{ID: 11, Kind: store.WebhookStatus, Attempts: 2})
	var got [][]int64
	for _, b := range batches(hooks, 2, Endpoint{}) {
		var ids []int64
		for _, w := range b {
			ids = append(ids, w.ID)
		}
		got = append(got, ids)
	}
	want := [][]int64{{0, 1}, {2, 3}, {4}, {10}, {11}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches %v, want %v", got, want)
	}
}

func FuzzSign(f *testing.F) {
	f.Add("secret", []byte(`{"statuses":[]}`))
	f.Fuzz(func(t *testing.T, secret string, body []byte) {
		s := Sign(secret, body)
		if !strings.HasPrefix(s, "sha256=") || len(s) != len("sha256=")+64 || strings.ToLower(s) != s {
			t.Fatalf("Sign = %q", s)
		}
	})
}

func FuzzBody(f *testing.F) {
	f.Add("status", `{"id":"a"}`, "message", `{"contact":{"wa_id":"1"},"message":{"id":"m"}}`)
	f.Fuzz(func(t *testing.T, k1, p1, k2, p2 string) {
		hooks := []store.Webhook{{ID: 1, Kind: k1, Payload: []byte(p1)}, {ID: 2, Kind: k2, Payload: []byte(p2)}}
		body, ids, bad, _ := Body(hooks)
		if len(ids)+len(bad) != 2 {
			t.Fatalf("%d sent + %d bad of 2", len(ids), len(bad))
		}
		if len(ids) > 0 && !json.Valid(body) {
			t.Fatalf("body is not JSON: %s", body)
		}
	})
}

// TestInOrderAndTogether checks the two halves of the per-message order on the sending side: of
// each message only the run that shares its first webhook's kind and attempt count goes out,
// nothing of a message with a webhook in flight, and a message's run never spans two POSTs.
func TestInOrderAndTogether(t *testing.T) {
	st := store.WebhookStatus
	due := []store.Webhook{
		{ID: 1, MessageID: 7, Kind: st},
		{ID: 2, MessageID: 8, Kind: st},
		{ID: 3, MessageID: 7, Kind: st},
		{ID: 4, MessageID: 0, Kind: store.WebhookError},
		{ID: 5, MessageID: 7, Kind: st, Attempts: 1}, // another attempt count: waits, and so does 6
		{ID: 6, MessageID: 7, Kind: st},
		{ID: 7, MessageID: 9, Kind: st},                 // 9's first is in flight: nothing of 9 goes
		{ID: 8, MessageID: 10, Kind: st},                // another webhook of 10 is on its way
		{ID: 9, MessageID: 0, Kind: store.WebhookError}, // in flight
	}
	busy := map[int64]struct{}{7: {}, 9: {}}
	sending := map[int64]struct{}{10: {}} // message 10 has a webhook on its way: 8 waits
	var got []int64
	for _, w := range inOrder(due, busy, sending) {
		got = append(got, w.ID)
	}
	if want := []int64{1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("inOrder = %v, want %v", got, want)
	}

	// Message 7's run is cut by the POST size: its second webhook must wait for a later round
	// rather than race the first in a concurrent POST; message 8's lies in one POST.
	posts := together([][]store.Webhook{
		{{ID: 1, MessageID: 7}, {ID: 2, MessageID: 8}},
		{{ID: 3, MessageID: 8}, {ID: 4, MessageID: 0}},
		{{ID: 5, MessageID: 7}},
		{{ID: 6, MessageID: 11}, {ID: 7, MessageID: 11}},
	})
	var sizes [][]int64
	for _, p := range posts {
		var ids []int64
		for _, w := range p {
			ids = append(ids, w.ID)
		}
		sizes = append(sizes, ids)
	}
	want := [][]int64{{1, 2}, {4}, {6, 7}}
	if !slices.EqualFunc(sizes, want, slices.Equal) {
		t.Errorf("together = %v, want %v", sizes, want)
	}
}
