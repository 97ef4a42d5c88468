// Package webhook delivers the durable webhook outbox to the customer's endpoint: it claims due
// webhooks from the store, batches them into On-Prem callback bodies, optionally signs them,
// POSTs them, classifies the answer, backs off and records every attempt. Webhooks of the
// Cloud kinds (store.WebhookCloud*) follow the Cloud rules instead: see cloud.go.
//
// Delivery follows the On-Prem rules (shared/reference/onprem-api.md §12.1, webhooks.md §1):
//
//   - One POST carries several entries of one kind when they are due together: `{"statuses":[…]}`,
//     `{"contacts":[…],"messages":[…]}` or `{"errors":[…]}`, at most Options.MaxBatch entries.
//   - Success is HTTP 200 and nothing else: 201, 204, any 3xx (redirects are not followed), 4xx,
//     5xx, a timeout or a network error are failures.
//   - A failed webhook is retried with linear backoff, Endpoint.BackoffStep × attempts (3 s, 6 s,
//     9 s, …), capped at Endpoint.MaxBackoff, forever. Backoff follows the Clock, so moving a
//     virtual clock forward moves retries forward.
//   - At most Endpoint.MaxConcurrent POSTs are in flight per endpoint.
//   - Webhooks of one message go out in lifecycle order: the store does not hand out a webhook
//     while an older one of the same message is pending, so a `delivered` never overtakes its
//     `sent`, and two statuses of one message never share a POST (webhooks.md §3.5).
//   - Without a URL nothing is POSTed; webhooks stay pending in the outbox, visibly, and go out
//     once a URL is set (RetryNow).
//
// Signing is waba's extension: On-Prem documents no webhook signature (§12.1). When
// Endpoint.SignatureSecret is set, each POST carries
//
//	X-Waba-Signature-256: sha256=<lowercase hex HMAC-SHA256(secret, raw body)>
//
// computed over exactly the bytes sent; a retry resends the same batch body, so it carries the
// same signature.
//
// Delivery is at least once: a POST whose answer is lost, or a process killed after the
// receiver answered 200 but before the result was recorded, is sent again.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/store"
)

// SignatureHeader is the header of waba's optional HMAC signature (an extension: On-Prem has
// none).
const SignatureHeader = "X-Waba-Signature-256"

// Defaults of Endpoint and Options (shared/reference/onprem-api.md §9.1).
const (
	DefaultBackoffStep   = 3 * time.Second
	DefaultMaxBackoff    = 15 * time.Minute
	DefaultMaxConcurrent = 6
	DefaultTimeout       = 10 * time.Second
	// DefaultMaxBatch caps the statuses (or messages) of one On-Prem POST. On-Prem's own batch
	// size is undocumented (onprem-api.md §12.1 and §19 item 14); 1000 is Meta's documented ceiling for
	// one Cloud POST (webhooks.md §1, "Batch"). A POST only carries what is due when the loop
	// looks, so under light load POSTs stay small. At 100 the outbox fell behind its input
	// above about 3,300 messages/s (three statuses each), six POSTs at a time; at 1000 it kept
	// up at 6,100/s (docs/benchmarks.md, session 4).
	DefaultMaxBatch = 1000
	// maxResponse is how much of an answer the attempt log keeps.
	maxResponse = 4 << 10
	// maxIdle caps every wait, so the loop re-reads the outbox at least this often (webhooks
	// written by another node, a settings change made elsewhere).
	maxIdle = 3 * time.Second
	// parkFor is how long webhooks of a business without a URL are set aside before the loop
	// looks at them again; setting the URL through this node brings them back at once.
	parkFor = time.Minute
	// fetchLimit is how many due webhooks one round reads.
	fetchLimit = 1000
	// storeRetry is the wait after the store failed.
	storeRetry = time.Second
)

// Endpoint is where and how one business's webhooks are delivered.
type Endpoint struct {
	URL             string        // empty: no endpoint, webhooks wait
	BackoffStep     time.Duration // linear step; ≤ 0 means DefaultBackoffStep
	MaxBackoff      time.Duration // cap of the delay; ≤ 0 means DefaultMaxBackoff
	MaxConcurrent   int           // POSTs in flight; ≤ 0 means DefaultMaxConcurrent
	SignatureSecret string        // HMAC key; empty: no signature header
	// Dialect is DialectCloud for a Cloud number: Cloud bodies, SignatureSecret (the app
	// secret) in CloudSignatureHeader, the Cloud retry schedule (CloudBackoff, given up after
	// CloudGiveUp). Empty means On-Prem.
	Dialect string
	WABAID  string // Cloud: the entry id
	Batch   bool   // Cloud: merge up to CloudMaxBatch updates into one POST (opt-in)
}

func (e Endpoint) withDefaults() Endpoint {
	if e.BackoffStep <= 0 {
		e.BackoffStep = DefaultBackoffStep
	}
	if e.MaxBackoff <= 0 {
		e.MaxBackoff = DefaultMaxBackoff
	}
	if e.MaxConcurrent <= 0 {
		e.MaxConcurrent = DefaultMaxConcurrent
	}
	return e
}

// Backoff is the delay before the next attempt of a webhook that has now failed attempts
// times: BackoffStep × attempts, capped at MaxBackoff (§9.1: 3 s, 6 s, 9 s, … up to 15 min);
// for a Cloud endpoint, CloudBackoff.
func (e Endpoint) Backoff(attempts int) time.Duration {
	if e.Dialect == DialectCloud {
		return CloudBackoff(attempts)
	}
	e = e.withDefaults()
	if attempts < 1 {
		attempts = 1
	}
	if int64(attempts) > int64(e.MaxBackoff/e.BackoffStep) {
		return e.MaxBackoff
	}
	return min(e.BackoffStep*time.Duration(attempts), e.MaxBackoff)
}

// Options are the Dispatcher's dependencies.
type Options struct {
	Store  store.Store
	Clock  clock.Clock // the (possibly virtual) time that due times and backoff follow
	Logger *slog.Logger
	// Settings returns the endpoint of a business number. It is called on every round for
	// each business with due webhooks, so it should be cached (engine.AppSettings is).
	Settings func(ctx context.Context, business string) (Endpoint, error)
	// SettingsFor, when set, is used instead of Settings: the endpoint of a business for
	// webhooks of one dialect ("" On-Prem, DialectCloud). Webhooks rendered before a number
	// switched dialects then still go where their format belongs.
	SettingsFor func(ctx context.Context, business, dialect string) (Endpoint, error)
	// Client makes the POSTs; nil means a client with default transport. Its CheckRedirect is
	// replaced (redirects are never followed) and its Timeout is left alone: Timeout below
	// bounds each POST.
	Client *http.Client
	// Timeout bounds each POST, answer included; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxBatch caps the entries of one POST; 0 means DefaultMaxBatch.
	MaxBatch int
	// OnAttempt, when set, is told about every POST (for the metrics): whether it was
	// delivered and how long it took.
	OnAttempt func(delivered bool, latency time.Duration)
}

// Stats are counters for the metrics and the UI.
type Stats struct {
	Posts             int64         // POSTs made
	DeliveredPosts    int64         // POSTs answered with HTTP 200
	FailedPosts       int64         // POSTs that failed (will be retried)
	DeliveredWebhooks int64         // webhooks acknowledged
	LastLatency       time.Duration // of the most recent POST
	InFlight          int           // POSTs in flight now
}

// Dispatcher is the webhook delivery loop. Build it with New, Start it, Stop it.
type Dispatcher struct {
	o      Options
	st     store.Store
	clk    clock.Clock
	log    *slog.Logger
	client *http.Client

	wake chan struct{} // Wake and finished POSTs; holds at most one signal

	mu       sync.Mutex
	started  bool
	stopped  bool
	inFlight map[int64]int64 // webhook ids being POSTed → their message ids
	busy     map[string]int  // endpoint URL → POSTs in flight
	cancel   context.CancelFunc
	loopDone chan struct{}
	posts    sync.WaitGroup
	stopOnce sync.Once

	nPosts, nOK, nFailed, nDelivered, lastLatency atomic.Int64
	nInFlight                                     atomic.Int64
}

// New builds a Dispatcher; it does no I/O.
func New(o Options) *Dispatcher {
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	client := &http.Client{}
	if o.Client != nil {
		c := *o.Client
		client = &c
	}
	// §12.1: redirects are not followed; a 3xx is the answer, and a failure.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Dispatcher{
		o:        o,
		st:       o.Store,
		clk:      o.Clock,
		log:      o.Logger.With("component", "webhook"),
		client:   client,
		wake:     make(chan struct{}, 1),
		inFlight: map[int64]int64{},
		busy:     map[string]int{},
		loopDone: make(chan struct{}),
	}
}

// Start runs the loop in the background until Stop is called or ctx is cancelled. Webhooks
// left pending by an earlier run are delivered as they fall due.
func (d *Dispatcher) Start(ctx context.Context) error {
	if d.o.Store == nil || (d.o.Settings == nil && d.o.SettingsFor == nil) {
		return errors.New("webhook: Options.Store and Options.Settings (or SettingsFor) are required")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return errors.New("webhook: dispatcher stopped; build a new one with New")
	}
	if d.started {
		return errors.New("webhook: dispatcher already started")
	}
	d.started = true
	ctx, d.cancel = context.WithCancel(ctx)
	go d.run(ctx)
	return nil
}

// Stop ends the loop and waits for the POSTs in flight to finish (each is bounded by
// Options.Timeout) and their attempts to be recorded. It is safe to call more than once, and
// before Start.
func (d *Dispatcher) Stop() {
	d.stopOnce.Do(func() {
		d.mu.Lock()
		started, cancel := d.started, d.cancel
		d.stopped = true // a Start after Stop is refused
		d.mu.Unlock()
		if !started {
			return
		}
		cancel()
		<-d.loopDone
		d.posts.Wait()
	})
}

// Wake tells the loop that webhooks were added or rescheduled. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counters so far.
func (d *Dispatcher) Stats() Stats {
	return Stats{
		Posts:             d.nPosts.Load(),
		DeliveredPosts:    d.nOK.Load(),
		FailedPosts:       d.nFailed.Load(),
		DeliveredWebhooks: d.nDelivered.Load(),
		LastLatency:       time.Duration(d.lastLatency.Load()),
		InFlight:          int(d.nInFlight.Load()),
	}
}

// Redeliver makes the given webhooks pending and due now, delivered ones included (the
// sandbox's redelivery), and wakes the loop. It returns how many of the ids exist.
func (d *Dispatcher) Redeliver(ctx context.Context, ids []int64) (int, error) {
	n, err := d.st.Redeliver(ctx, ids, d.clk.Now())
	if err != nil {
		return 0, fmt.Errorf("webhook: redeliver: %w", err)
	}
	d.Wake()
	return n, nil
}

// RetryNow makes every pending webhook due now, cutting short every backoff and bringing back
// webhooks set aside for want of a URL (call it when the endpoint changes, or when the
// operator asks), and wakes the loop. It returns how many webhooks moved.
func (d *Dispatcher) RetryNow(ctx context.Context) (int, error) {
	n, err := d.st.RescheduleWebhooks(ctx, d.clk.Now())
	if err != nil {
		return 0, fmt.Errorf("webhook: retry now: %w", err)
	}
	d.Wake()
	return n, nil
}
