package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// receiver is the built-in webhook endpoint: it accepts On-Prem webhook POSTs
// (shared/reference/onprem-api.md §12.2: {"statuses":[…],"messages":[…]} with no wrapper), answers
// 200, counts them, and matches `delivered` statuses to the sends the load recorded, for the
// end-to-end latency.
type receiver struct {
	clk *clock
	srv *http.Server
	ln  net.Listener
	cur atomic.Pointer[hookRound]
	out chan error
}

// webhookPayload is the part of an On-Prem webhook the receiver reads. Example
// (shared/reference/onprem-api.md §12.4):
//
//	{ "statuses": [ { "id": "gBGGEgFVUXl_AgkUBIUqicVXyZY", "recipient_id": "12015551797",
//	    "status": "sent", "timestamp": "1609879800", "type": "message", … } ] }
type webhookPayload struct {
	Statuses []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"statuses"`
	Messages []json.RawMessage `json:"messages"`
	Errors   []json.RawMessage `json:"errors"`
}

func startReceiver(clk *clock, addr string) (*receiver, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: listen on %s: %w", addr, err)
	}
	r := &receiver{clk: clk, ln: ln, out: make(chan error, 1)}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	r.cur.Store(newHookRound(window{}, newTracker(1, 0, window{})))
	go func() { r.out <- r.srv.Serve(ln) }()
	return r, nil
}

// URL is where a waba should POST its webhooks.
func (r *receiver) URL() string { return "http://" + r.ln.Addr().String() + "/" }

func (r *receiver) stop(ctx context.Context) error {
	err := r.srv.Shutdown(ctx)
	if serr := <-r.out; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// begin starts counting for a new round and returns its counters.
func (r *receiver) begin(w window, t *tracker) *hookRound {
	h := newHookRound(w, t)
	r.cur.Store(h)
	return h
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhooks are POSTed", http.StatusMethodNotAllowed)
		return
	}
	at := r.clk.now()
	h := r.cur.Load()
	body, err := io.ReadAll(io.LimitReader(req.Body, 64<<20))
	var p webhookPayload
	if err == nil {
		err = json.Unmarshal(body, &p)
	}
	// Always 200: a bench receiver that refused a payload would only make the server retry it.
	// Malformed payloads are counted and shown in the report instead.
	w.WriteHeader(http.StatusOK)
	h.record(at, &p, err != nil)
}

// window is the measured part of a round, as offsets on the bench clock.
type window struct{ start, end time.Duration }

func (w window) contains(t time.Duration) bool { return t >= w.start && t < w.end }

// hookRound counts the webhooks of one round.
type hookRound struct {
	win window

	posts, postsIn, invalid atomic.Int64
	statusesIn, deliveredIn atomic.Int64
	statuses, messages      atomic.Int64
	lastArrival             atomic.Int64 // offset in ns

	mu       sync.Mutex
	byStatus map[string]int64
	track    *tracker
}

func newHookRound(w window, t *tracker) *hookRound {
	return &hookRound{win: w, byStatus: map[string]int64{}, track: t}
}

func (h *hookRound) record(at time.Duration, p *webhookPayload, invalid bool) {
	h.posts.Add(1)
	h.lastArrival.Store(int64(at))
	if invalid {
		h.invalid.Add(1)
		return
	}
	in := h.win.contains(at)
	if in {
		h.postsIn.Add(1)
		h.statusesIn.Add(int64(len(p.Statuses)))
	}
	h.messages.Add(int64(len(p.Messages)))
	if len(p.Statuses) == 0 {
		return
	}
	h.statuses.Add(int64(len(p.Statuses)))
	h.mu.Lock()
	for _, s := range p.Statuses {
		h.byStatus[s.Status]++
	}
	h.mu.Unlock()
	for _, s := range p.Statuses {
		if s.Status == "delivered" {
			if in {
				h.deliveredIn.Add(1)
			}
			h.track.delivered(s.ID, at)
		}
	}
}

// WebhookResult is what the receiver saw during one round against waba.
type WebhookResult struct {
	URL string `json:"url"`
	// Posts and Statuses count every webhook received in the round, including after the
	// measured window (while draining).
	Posts    int64            `json:"posts"`
	Statuses int64            `json:"statuses"`
	ByStatus map[string]int64 `json:"by_status"`
	Messages int64            `json:"messages"`
	Invalid  int64            `json:"invalid"`
	// PostsPerSec and StatusesPerSec count only what arrived inside the measured window.
	PostsPerSec     float64 `json:"posts_per_sec"`
	StatusesPerSec  float64 `json:"statuses_per_sec"`
	DeliveredPerSec float64 `json:"delivered_per_sec"`
	// EndToEnd is send → first `delivered` webhook, over the sampled messages sent in the
	// measured window; nil when no delivered status was matched.
	EndToEnd *Latency `json:"end_to_end_ms"`
	// E2ESamples is how many messages EndToEnd covers; SampleEvery is k in "1 in k message ids
	// tracked"; Untracked counts sampled ids not tracked because the bounded table was full;
	// Undelivered counts tracked messages with no delivered status by the end of the drain.
	E2ESamples  int64  `json:"e2e_samples"`
	SampleEvery int    `json:"sample_every"`
	Untracked   int64  `json:"untracked"`
	Undelivered int64  `json:"undelivered"`
	Note        string `json:"note,omitempty"`
}

func (h *hookRound) result(url string, measured time.Duration) *WebhookResult {
	res := &WebhookResult{
		URL:         url,
		Posts:       h.posts.Load(),
		Statuses:    h.statuses.Load(),
		ByStatus:    map[string]int64{},
		Messages:    h.messages.Load(),
		Invalid:     h.invalid.Load(),
		SampleEvery: int(h.track.k),
	}
	h.mu.Lock()
	for k, v := range h.byStatus {
		res.ByStatus[k] = v
	}
	h.mu.Unlock()
	if s := measured.Seconds(); s > 0 {
		res.PostsPerSec = round1(float64(h.postsIn.Load()) / s)
		res.StatusesPerSec = round1(float64(h.statusesIn.Load()) / s)
		res.DeliveredPerSec = round1(float64(h.deliveredIn.Load()) / s)
	}
	t := h.track
	t.mu.Lock()
	defer t.mu.Unlock()
	res.E2ESamples = int64(t.hist.Count())
	res.Untracked = t.untracked
	res.Undelivered = int64(t.pendingIn)
	if t.hist.Count() > 0 {
		l := t.hist.Summary()
		res.EndToEnd = &l
	}
	if res.Statuses == 0 {
		res.Note = "end-to-end: not measured (server has no webhook configured)"
	} else if res.EndToEnd == nil {
		res.Note = "end-to-end: not measured (no delivered status matched a message sent in the measured window)"
	}
	return res
}

// tracker matches sends to their first `delivered` status. It keeps 1 in k message ids, chosen
// by a hash of the id so that the sender and the receiver agree without talking, and at most
// limit of them at a time, so its memory is bounded however long the run.
type tracker struct {
	k     uint64
	limit int
	win   window

	mu        sync.Mutex
	pending   map[string]pendingSend   // id → send time, awaiting delivered
	early     map[string]time.Duration // id → delivered arrival, seen before the 201
	hist      Histogram                // end-to-end, sends inside the window only
	done      map[string]struct{}      // ids already measured (dedupe at-least-once deliveries)
	doneQ     []string                 // FIFO of done, to bound it
	pendingIn int                      // entries of pending sent inside the window
	untracked int64
}

type pendingSend struct {
	at time.Duration
	in bool // sent inside the measured window
}

func newTracker(k uint64, limit int, w window) *tracker {
	return &tracker{
		k: max(k, 1), limit: limit, win: w,
		pending: map[string]pendingSend{}, early: map[string]time.Duration{}, done: map[string]struct{}{},
	}
}

func (t *tracker) sampled(id string) bool {
	if t.limit == 0 {
		return false
	}
	if t.k == 1 {
		return true
	}
	h := fnv.New64a()
	io.WriteString(h, id)
	return h.Sum64()%t.k == 0
}

// sent records that message id was sent at `at` (its send time, or its scheduled time in an
// open loop).
func (t *tracker) sent(id string, at time.Duration) {
	if !t.sampled(id) {
		return
	}
	in := t.win.contains(at)
	t.mu.Lock()
	defer t.mu.Unlock()
	if arr, ok := t.early[id]; ok {
		delete(t.early, id)
		t.measure(id, at, arr, in)
		return
	}
	if len(t.pending) >= t.limit {
		t.untracked++
		return
	}
	t.pending[id] = pendingSend{at, in}
	if in {
		t.pendingIn++
	}
}

func (t *tracker) delivered(id string, at time.Duration) {
	if !t.sampled(id) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.pending[id]; ok {
		delete(t.pending, id)
		if p.in {
			t.pendingIn--
		}
		t.measure(id, p.at, at, p.in)
		return
	}
	if _, ok := t.done[id]; ok {
		return // a duplicate delivery
	}
	if len(t.early) < t.limit {
		t.early[id] = at
	}
}

func (t *tracker) measure(id string, sent, delivered time.Duration, in bool) {
	if in {
		t.hist.Record(delivered - sent)
	}
	if len(t.doneQ) >= t.limit {
		delete(t.done, t.doneQ[0])
		t.doneQ = t.doneQ[1:]
	}
	t.done[id] = struct{}{}
	t.doneQ = append(t.doneQ, id)
}

// waiting is how many tracked messages sent in the window still wait for their delivered status.
func (t *tracker) waiting() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pendingIn
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// sortedStatuses lists a by-status map as "delivered 10, read 9, sent 10" in a stable order.
func sortedStatuses(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	order := map[string]int{"sent": 0, "delivered": 1, "read": 2, "failed": 3}
	sort.Slice(keys, func(i, j int) bool {
		oi, iok := order[keys[i]]
		oj, jok := order[keys[j]]
		switch {
		case iok && jok:
			return oi < oj
		case iok != jok:
			return iok
		}
		return keys[i] < keys[j]
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return out
}
