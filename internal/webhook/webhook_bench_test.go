package webhook

import (
	"fmt"
	"testing"

	"github.com/openwaba/waba/internal/store"
)

// statusHooks is n status webhooks with entries of the size waba renders.
func statusHooks(n int) []store.Webhook {
	hooks := make([]store.Webhook, n)
	for i := range hooks {
		hooks[i] = store.Webhook{ID: int64(i + 1), MessageID: int64(i + 1), Kind: store.WebhookStatus, Payload: []byte(fmt.Sprintf(
			`{"id":"gBEGkYiEB1VXAglK1ZEqA1YKPr%02d","recipient_id":"15551230001","status":"delivered","timestamp":"1796119200","type":"message","conversation":{"id":"532b57b5f6e63595ccd74c6010e5c5c7","expiration_timestamp":"1796205600","origin":{"type":"business_initiated"}},"pricing":{"billable":true,"category":"business_initiated","pricing_model":"CBP"}}`, i%100))}
	}
	return hooks
}

// BenchmarkBody builds the POST body of a batch of status webhooks (the default batch is 100).
func BenchmarkBody(b *testing.B) {
	for _, n := range []int{1, 10, DefaultMaxBatch} {
		hooks := statusHooks(n)
		b.Run(fmt.Sprintf("statuses=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				body, ids, bad, _ := Body(hooks)
				if len(ids) != n || len(bad) != 0 || len(body) == 0 {
					b.Fatal("bad body")
				}
			}
		})
	}
}

// BenchmarkSign signs a body of one status and of a full batch.
func BenchmarkSign(b *testing.B) {
	for _, n := range []int{1, DefaultMaxBatch} {
		body, _, _, _ := Body(statusHooks(n))
		b.Run(fmt.Sprintf("statuses=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if len(Sign("bench-secret", body)) != 71 {
					b.Fatal("bad signature")
				}
			}
		})
	}
}
