package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/store"
)

// scrape fetches the exposition through Handler, as Prometheus would, and returns its lines.
func scrape(t *testing.T, m *Metrics) (int, string, map[string]bool) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	lines := map[string]bool{}
	for _, l := range strings.Split(string(body), "\n") {
		lines[l] = true
	}
	return rec.Code, rec.Header().Get("Content-Type"), lines
}

func wantLines(t *testing.T, lines map[string]bool, want ...string) {
	t.Helper()
	for _, w := range want {
		if !lines[w] {
			t.Errorf("exposition has no line %q", w)
		}
	}
}

func TestNilMetricsDoesNothing(t *testing.T) {
	var m *Metrics
	m.Accepted("text")
	m.Status("sent", "text")
	m.WebhookDelivery(true, time.Second)
	m.SetQueueDepth("dispatch", func() float64 { return 1 })
	if m.Registry() != nil {
		t.Fatalf("nil Metrics has a registry")
	}
	code, _, _ := scrape(t, m)
	if code != http.StatusNotFound {
		t.Fatalf("nil Metrics handler answered %d, want 404", code)
	}
}

func TestExposition(t *testing.T) {
	m := New()

	// Before anything happens: both delivery results exist at 0, the histogram is empty.
	code, ct, lines := scrape(t, m)
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("Content-Type = %q", ct)
	}
	wantLines(t, lines,
		`# TYPE waba_webhook_deliveries_total counter`,
		`waba_webhook_deliveries_total{result="delivered"} 0`,
		`waba_webhook_deliveries_total{result="failed"} 0`,
		`# TYPE waba_webhook_delivery_seconds histogram`,
		`waba_webhook_delivery_seconds_count 0`,
	)

	m.Accepted("text")
	m.Accepted("text")
	m.Accepted("template")
	m.Accepted("16315551000") // never a label value: counted as other
	m.Status("sent", "text")
	m.Status("delivered", "text")
	m.Status("read", "image")
	m.Status("failed", "template")
	m.Status("bogus", "bogus")
	m.WebhookDelivery(true, 250*time.Millisecond)
	m.WebhookDelivery(false, 2*time.Second)
	m.WebhookDelivery(true, 2*time.Millisecond)

	_, _, lines = scrape(t, m)
	wantLines(t, lines,
		`# HELP waba_messages_accepted_total Outbound messages accepted by the API (stored and answered with an id), by message type.`,
		`# TYPE waba_messages_accepted_total counter`,
		`waba_messages_accepted_total{type="text"} 2`,
		`waba_messages_accepted_total{type="template"} 1`,
		`waba_messages_accepted_total{type="other"} 1`,
		`# TYPE waba_messages_status_total counter`,
		`waba_messages_status_total{status="sent",type="text"} 1`,
		`waba_messages_status_total{status="delivered",type="text"} 1`,
		`waba_messages_status_total{status="read",type="image"} 1`,
		`waba_messages_status_total{status="failed",type="template"} 1`,
		`waba_messages_status_total{status="other",type="other"} 1`,
		`waba_webhook_deliveries_total{result="delivered"} 2`,
		`waba_webhook_deliveries_total{result="failed"} 1`,
		`waba_webhook_delivery_seconds_bucket{le="0.005"} 1`,
		`waba_webhook_delivery_seconds_bucket{le="0.25"} 2`,
		`waba_webhook_delivery_seconds_bucket{le="2.5"} 3`,
		`waba_webhook_delivery_seconds_bucket{le="+Inf"} 3`,
		`waba_webhook_delivery_seconds_sum 2.252`,
		`waba_webhook_delivery_seconds_count 3`,
		`# TYPE go_goroutines gauge`,
	)
	if runtime.GOOS == "linux" {
		wantLines(t, lines, `# TYPE process_cpu_seconds_total counter`)
	}
	for l := range lines {
		if strings.Contains(l, "16315551000") {
			t.Errorf("a phone number reached a label: %q", l)
		}
	}
}

func TestQueueDepth(t *testing.T) {
	m := New()
	m.SetQueueDepth("dispatch", func() float64 { return 7 })
	m.SetQueueDepth("webhook", func() float64 { return 0 })
	_, _, lines := scrape(t, m)
	wantLines(t, lines,
		`# HELP waba_dispatch_queue_depth Items waiting in the dispatch queue.`,
		`# TYPE waba_dispatch_queue_depth gauge`,
		`waba_dispatch_queue_depth 7`,
		`# TYPE waba_webhook_queue_depth gauge`,
		`waba_webhook_queue_depth 0`,
	)

	// Registering the same name again replaces the function instead of panicking.
	m.SetQueueDepth("dispatch", func() float64 { return 42 })
	_, _, lines = scrape(t, m)
	wantLines(t, lines, `waba_dispatch_queue_depth 42`)
	if lines[`waba_dispatch_queue_depth 7`] {
		t.Fatalf("the old function is still read")
	}
}

func TestQueueDepthRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "Dispatch", "webhook-queue", "1x", `a"b`} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatalf("SetQueueDepth(%q) did not panic", name)
				}
			}()
			New().SetQueueDepth(name, func() float64 { return 0 })
		})
	}
}

// Two registries in one process do not clash: nothing is registered globally.
func TestIndependentRegistries(t *testing.T) {
	a, b := New(), New()
	a.Accepted("text")
	_, _, la := scrape(t, a)
	_, _, lb := scrape(t, b)
	wantLines(t, la, `waba_messages_accepted_total{type="text"} 1`)
	if lb[`waba_messages_accepted_total{type="text"} 1`] {
		t.Fatalf("registries share state")
	}
}

func TestConcurrentUse(t *testing.T) {
	m := New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				m.Accepted("text")
				m.Status("sent", "text")
				m.WebhookDelivery(i%2 == 0, time.Millisecond)
				m.SetQueueDepth("dispatch", func() float64 { return float64(i) })
			}
		}()
	}
	wg.Wait()
	_, _, lines := scrape(t, m)
	wantLines(t, lines,
		`waba_messages_accepted_total{type="text"} 800`,
		`waba_messages_status_total{status="sent",type="text"} 800`,
		`waba_webhook_deliveries_total{result="delivered"} 400`,
		`waba_webhook_deliveries_total{result="failed"} 400`,
	)
}

// TestWriterStats: the writer's counters are read from the store at each scrape, in seconds.
func TestWriterStats(t *testing.T) {
	m := New()
	stats := store.WriterStats{Transactions: 3, Jobs: 7, Busy: 1500 * time.Millisecond, Commit: 250 * time.Millisecond,
		Syncs: 2, Sync: 3 * time.Millisecond}
	m.SetWriterStats(func() store.WriterStats { return stats })
	_, _, lines := scrape(t, m)
	wantLines(t, lines,
		`# TYPE waba_store_write_transactions_total counter`,
		`waba_store_write_transactions_total 3`,
		`waba_store_write_jobs_total 7`,
		`waba_store_writer_busy_seconds_total 1.5`,
		`waba_store_commit_seconds_total 0.25`,
		`waba_store_wal_syncs_total 2`,
		`waba_store_wal_sync_seconds_total 0.003`,
	)
	stats.Transactions, stats.Busy = 4, 2*time.Second
	_, _, lines = scrape(t, m)
	wantLines(t, lines, `waba_store_write_transactions_total 4`, `waba_store_writer_busy_seconds_total 2`)
	var nilM *Metrics
	nilM.SetWriterStats(func() store.WriterStats { return stats }) // no panic on a nil *Metrics
}
