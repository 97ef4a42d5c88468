package onprem

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/network"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// benchBodies are the bodies `waba bench` sends (internal/bench/mix.go), one per kind.
// BenchmarkDecodeMessage covers the seed files (text, list, reference template).
var benchBodies = []struct{ name, body string }{
	{"text", `{"to":"15551230001","type":"text","text":{"body":"waba bench message 12345"}}`},
	{"template", `{"to":"15551230001","type":"template","template":{"name":"hello_world","language":{"policy":"deterministic","code":"en_US"}}}`},
	{"image-link", `{"to":"15551230001","type":"image","image":{"link":"https://example.com/waba-bench.jpg","caption":"waba bench 12345"}}`},
	{"interactive-buttons", `{"to":"15551230001","type":"interactive","interactive":{"type":"button","body":{"text":"waba bench 12345: confirm?"},"action":{"buttons":[{"type":"reply","reply":{"id":"bench-yes","title":"Yes"}},{"type":"reply","reply":{"id":"bench-no","title":"No"}}]}}}`},
}

// BenchmarkDecodeValidate is the CPU of the accept path before the commit, per message type:
// decode, validate, and the encode of the stored payload (engine.Send's json.Marshal).
func BenchmarkDecodeValidate(b *testing.B) {
	for _, c := range benchBodies {
		body := []byte(c.body)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				m, err := DecodeMessage(body)
				if err != nil {
					b.Fatal(err)
				}
				if err := engine.Validate(m, wa.OnPrem); err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStatusEntry renders one status webhook entry (dispatch calls it per event).
func BenchmarkStatusEntry(b *testing.B) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	conv := &network.Conversation{ID: "532b57b5f6e63595ccd74c6010e5c5c7", Origin: "business_initiated", Expires: at.Add(24 * time.Hour)}
	for _, c := range []struct {
		name string
		ev   network.Event
	}{
		{"delivered", network.Event{Status: "delivered", At: at, Conversation: conv}},
		{"failed", network.Event{Status: "failed", At: at, Err: waerr.WindowClosed, Details: "More than 24 hours have passed since the customer last replied to this number; use a template"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if len(StatusEntry(123456789, "15551230001", c.ev)) == 0 {
					b.Fatal("empty")
				}
			}
		})
	}
}
