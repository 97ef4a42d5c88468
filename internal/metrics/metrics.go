// Package metrics is waba's Prometheus registry: the `waba_*` counters, histogram and gauges the
// components report into, plus the Go runtime and process collectors, served at /metrics.
//
// It uses a registry of its own, never prometheus.DefaultRegisterer, so several apps can run in
// one test process. Every method is safe on a nil *Metrics and then does nothing, so a component
// built without metrics (in a unit test, say) needs no stub.
//
// Labels are low-cardinality by construction: message types and statuses outside the known sets
// are counted as "other", so a client sending odd values cannot grow the series without bound.
// No label ever carries a phone number, a message id or a URL.
package metrics

import (
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openwaba/waba/internal/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds waba's collectors. Build it with New; the zero value is not usable, a nil one is.
type Metrics struct {
	reg        *prometheus.Registry
	accepted   *prometheus.CounterVec
	status     *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	latency    prometheus.Histogram

	mu     sync.Mutex
	depths map[string]*atomic.Pointer[func() float64]
}

// Label values of waba_webhook_deliveries_total.
const (
	ResultDelivered = "delivered"
	ResultFailed    = "failed"
)

// other replaces a label value outside its known set.
const other = "other"

// messageTypes are the message types of both dialects, outbound and inbound
// (shared/reference/onprem-api.md §8, §12.3; cloud-api.md).
var messageTypes = set("text", "image", "audio", "video", "document", "sticker", "voice", "location",
	"contacts", "interactive", "template", "hsm", "reaction", "button", "order", "system", "unknown")

// statuses are the outbound statuses a message reaches (onprem-api.md §12.4).
var statuses = set("sent", "delivered", "read", "failed", "deleted", "warning")

func set(vs ...string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

func known(m map[string]bool, v string) string {
	if m[v] {
		return v
	}
	return other
}

// New builds the registry with every waba_* collector and the Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waba_messages_accepted_total",
			Help: "Outbound messages accepted by the API (stored and answered with an id), by message type.",
		}, []string{"type"}),
		status: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waba_messages_status_total",
			Help: "Outbound message statuses reached (sent, delivered, read, failed), by status and message type.",
		}, []string{"status", "type"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waba_webhook_deliveries_total",
			Help: "Webhook POSTs to the customer's endpoint, by result: delivered (HTTP 200) or failed (anything else, retried).",
		}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "waba_webhook_delivery_seconds",
			Help:    "Time from sending a webhook POST to its answer (or failure), delivered or not.",
			Buckets: prometheus.DefBuckets,
		}),
		depths: map[string]*atomic.Pointer[func() float64]{},
	}
	m.reg.MustRegister(m.accepted, m.status, m.deliveries, m.latency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Both results exist from the start, so a dashboard shows 0 rather than no data.
	m.deliveries.WithLabelValues(ResultDelivered)
	m.deliveries.WithLabelValues(ResultFailed)
	return m
}

// Accepted counts one outbound message of msgType accepted by the API.
func (m *Metrics) Accepted(msgType string) {
	if m == nil {
		return
	}
	m.accepted.WithLabelValues(known(messageTypes, msgType)).Inc()
}

// Status counts one outbound message of msgType reaching status (sent, delivered, read, failed).
func (m *Metrics) Status(status, msgType string) {
	if m == nil {
		return
	}
	m.status.WithLabelValues(known(statuses, status), known(messageTypes, msgType)).Inc()
}

// WebhookDelivery records one webhook POST: ok when the endpoint answered HTTP 200, and how
// long the attempt took.
func (m *Metrics) WebhookDelivery(ok bool, d time.Duration) {
	if m == nil {
		return
	}
	result := ResultFailed
	if ok {
		result = ResultDelivered
	}
	m.deliveries.WithLabelValues(result).Inc()
	m.latency.Observe(d.Seconds())
}

var queueName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// SetQueueDepth exposes the gauge waba_<name>_queue_depth (e.g. "dispatch", "webhook"), read
// from f at each scrape. f must be cheap and safe for concurrent use. Calling it again for the
// same name replaces f, so a restarted component can re-register. A name that is not a
// lower-case identifier is a programming error and panics, as a bad registration does in the
// Prometheus client.
func (m *Metrics) SetQueueDepth(name string, f func() float64) {
	if m == nil {
		return
	}
	if !queueName.MatchString(name) {
		panic(fmt.Sprintf("metrics: queue name %q is not a lower-case identifier", name))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.depths[name]; ok {
		p.Store(&f)
		return
	}
	p := new(atomic.Pointer[func() float64])
	p.Store(&f)
	m.depths[name] = p
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "waba_" + name + "_queue_depth",
		Help: "Items waiting in the " + name + " queue.",
	}, func() float64 { return (*p.Load())() }))
}

// SetWriterStats exposes the single store writer's counters (SQLite; store.WriterStats),
// read from f at each scrape: waba_store_write_transactions_total,
// waba_store_write_jobs_total, waba_store_writer_busy_seconds_total,
// waba_store_commit_seconds_total, waba_store_wal_syncs_total and
// waba_store_wal_sync_seconds_total. The rate of busy seconds near 1 means writes queue behind
// the writer (docs/benchmarks.md). Call it once.
func (m *Metrics) SetWriterStats(f func() store.WriterStats) {
	if m == nil {
		return
	}
	counter := func(name, help string, v func(store.WriterStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return v(f()) })
	}
	m.reg.MustRegister(
		counter("waba_store_write_transactions_total", "Transactions of the store's single writer (each one commit).",
			func(s store.WriterStats) float64 { return float64(s.Transactions) }),
		counter("waba_store_write_jobs_total", "Callers' writes (group-commit batches, dispatch steps, webhook results …) the writer's transactions carried.",
			func(s store.WriterStats) float64 { return float64(s.Jobs) }),
		counter("waba_store_writer_busy_seconds_total", "Time the store's single writer spent running writes and committing them.",
			func(s store.WriterStats) float64 { return s.Busy.Seconds() }),
		counter("waba_store_commit_seconds_total", "Part of the writer's busy time spent committing (writing the WAL).",
			func(s store.WriterStats) float64 { return s.Commit.Seconds() }),
		counter("waba_store_wal_syncs_total", "fsyncs of the write-ahead log that made the writer's commits durable before their callers were answered.",
			func(s store.WriterStats) float64 { return float64(s.Syncs) }),
		counter("waba_store_wal_sync_seconds_total", "Time spent in those fsyncs (beside the writer, not part of its busy time).",
			func(s store.WriterStats) float64 { return s.Sync.Seconds() }),
	)
}

// Handler serves the registry in the Prometheus text exposition format (or OpenMetrics when
// the scraper asks for it). A nil *Metrics serves 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// Registry is the underlying registry, for tests and for components that bring collectors of
// their own.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}
