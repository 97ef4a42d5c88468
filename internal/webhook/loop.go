package webhook

import (
	"context"
	"time"

	"github.com/openwaba/waba/internal/store"
)

// run is the loop: one round, then sleep until the next due time (capped at maxIdle), a Wake,
// a finished POST or a jump of the clock.
//
// Rounds are at least roundGap of real time apart. Under load every finished POST and every
// commit of the dispatcher wakes the loop; a round per wake read the outbox hundreds of times a
// second and sent many small POSTs, each recorded in its own transaction. Gathering for a few
// milliseconds gives fuller batches, hence fewer POSTs, attempt records and outbox reads, for
// a delay far below the network's own receipt latencies.
func (d *Dispatcher) run(ctx context.Context) {
	defer close(d.loopDone)
	jumps, unsubscribe := d.clk.Subscribe()
	defer unsubscribe()
	gap := time.NewTimer(time.Hour)
	gap.Stop()
	for {
		started := time.Now()
		wait := d.round(ctx)
		if ctx.Err() != nil {
			return
		}
		t := d.clk.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-jumps:
		case <-t.C():
		}
		t.Stop()
		if ctx.Err() != nil {
			return
		}
		if rest := roundGap - time.Since(started); rest > 0 {
			gap.Reset(rest)
			select {
			case <-ctx.Done():
				gap.Stop()
				return
			case <-gap.C:
			}
		}
	}
}

// roundGap is the least real time between the starts of two rounds.
const roundGap = 5 * time.Millisecond

// round claims what is due, launches the POSTs there is room for, and returns how long to wait.
func (d *Dispatcher) round(ctx context.Context) time.Duration {
	// What is on its way is read BEFORE the outbox: a POST that finishes in between has
	// recorded its result before leaving the in-flight set, so the read below sees it
	// delivered (or rescheduled). Checking the set after the read would send it twice. Only
	// this goroutine launches POSTs, so nothing joins the set in between.
	d.mu.Lock()
	busy := make(map[int64]struct{}, len(d.inFlight))
	sending := map[int64]struct{}{} // messages with a webhook on its way
	for id, msg := range d.inFlight {
		busy[id] = struct{}{}
		if msg != 0 {
			sending[msg] = struct{}{}
		}
	}
	d.mu.Unlock()

	// The webhooks in flight are still pending, and being the oldest they come first: read
	// past them and a few full POSTs more, not a fixed thousand rows whatever is in flight.
	// A store that can leave them out in the query (store.DueWebhooksSkipper) reads only the
	// few full POSTs; the in-flight rows are then neither fetched nor decoded.
	now := d.clk.Now()
	var due []store.Webhook
	var err error
	if sk, ok := d.st.(store.DueWebhooksSkipper); ok && len(busy) > 0 {
		skip := make([]int64, 0, len(busy))
		for id := range busy {
			skip = append(skip, id)
		}
		due, err = sk.DueWebhooksExcept(ctx, now, min(fetchLimit, readAhead*d.o.MaxBatch), skip)
	} else {
		due, err = d.st.DueWebhooks(ctx, now, min(fetchLimit, len(busy)+readAhead*d.o.MaxBatch))
	}
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("read due webhooks", "err", err)
		}
		return storeRetry
	}

	// Group by business, oldest first, leaving out what is already on its way and what would
	// overtake an older webhook of its message.
	var order []string
	byBusiness := map[string][]store.Webhook{}
	for _, w := range inOrder(due, busy, sending) {
		if _, seen := byBusiness[w.Business]; !seen {
			order = append(order, w.Business)
		}
		byBusiness[w.Business] = append(byBusiness[w.Business], w)
	}

	for _, business := range order {
		// A business's webhooks go where their format belongs: Cloud kinds to its Cloud
		// endpoint, the others to its On-Prem endpoint (both exist around a dialect switch).
		var onprem, cloud []store.Webhook
		for _, w := range byBusiness[business] {
			if isCloudKind(w.Kind) {
				cloud = append(cloud, w)
			} else {
				onprem = append(onprem, w)
			}
		}
		for _, g := range []struct {
			dialect string
			hooks   []store.Webhook
		}{{"", onprem}, {DialectCloud, cloud}} {
			if len(g.hooks) == 0 {
				continue
			}
			ep, err := d.endpoint(ctx, business, g.dialect)
			if err != nil {
				if ctx.Err() == nil {
					d.log.Error("read webhook endpoint", "business", business, "err", err)
				}
				continue
			}
			ep = ep.withDefaults()
			if ep.URL == "" {
				d.park(ctx, business, g.hooks, now)
				continue
			}
			for _, b := range together(batches(g.hooks, d.o.MaxBatch, ep)) {
				if !d.launch(ctx, business, ep, b) {
					break // the endpoint is at max_concurrent_requests; a finished POST wakes us
				}
			}
		}
	}

	next, ok, err := d.st.NextWebhookDue(ctx)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			d.log.Error("read next webhook due time", "err", err)
		}
		return storeRetry
	case !ok:
		return maxIdle
	}
	wait := next.Sub(d.clk.Now())
	if wait <= 0 {
		// Due but not launched: in flight, waiting for a free slot, or its endpoint could
		// not be read. A finished POST or a Wake ends the wait early.
		return maxIdle
	}
	return min(wait, maxIdle)
}

// endpoint is the endpoint of business for webhooks of dialect: Options.SettingsFor when set,
// else Options.Settings (the business's one endpoint).
func (d *Dispatcher) endpoint(ctx context.Context, business, dialect string) (Endpoint, error) {
	if d.o.SettingsFor != nil {
		return d.o.SettingsFor(ctx, business, dialect)
	}
	return d.o.Settings(ctx, business)
}

// inOrder is what of due may go out this round, in due's order. Meta guarantees no order
// between webhooks (shared/reference/webhooks.md §1, "Ordering"); waba keeps each message's
// lifecycle order anyway, so a test against it is never flaky on sent/delivered/read. The store
// returns a webhook
// only together with, and after, every older pending webhook of its message that is not being
// sent (store.Store.DueWebhooks), so a message's webhooks keep their order if they travel in
// one POST (deliver sends a POST's entries in id order) after the ones already on their way.
// So of a message with a webhook on its way (sending) nothing goes now, and a webhook on its way
// itself (busy) is left out. batches groups by kind and attempt count, so of each other message
// this keeps the run of webhooks that share the kind and attempt count of its first, and leaves
// the rest, and everything behind them, for a later round; together then keeps each run in one
// POST.
func inOrder(due []store.Webhook, busy, sending map[int64]struct{}) []store.Webhook {
	type run struct {
		kind     string
		attempts int
		closed   bool
	}
	runs := map[int64]*run{}
	out := make([]store.Webhook, 0, len(due))
	for _, w := range due {
		_, onItsWay := busy[w.ID]
		if w.MessageID == 0 {
			if !onItsWay {
				out = append(out, w)
			}
			continue
		}
		r := runs[w.MessageID]
		_, held := sending[w.MessageID]
		switch {
		case r == nil && (onItsWay || held):
			runs[w.MessageID] = &run{closed: true}
			continue
		case r == nil:
			runs[w.MessageID] = &run{kind: w.Kind, attempts: w.Attempts}
		case r.closed:
			continue
		case onItsWay || w.Kind != r.kind || w.Attempts != r.attempts:
			r.closed = true
			continue
		}
		out = append(out, w)
	}
	return out
}

// together keeps each message's webhooks in the first POST that carries one of them: a later
// POST may be sent at the same time and must not overtake it. What it drops stays pending and
// goes out in a later round (a Cloud endpoint without batching takes one webhook per POST, so
// a message's statuses go one round after another, as before).
func together(posts [][]store.Webhook) [][]store.Webhook {
	first := map[int64]int{}
	out := posts[:0:0]
	for i, p := range posts {
		kept := p[:0:0]
		for _, w := range p {
			if w.MessageID != 0 {
				if j, seen := first[w.MessageID]; seen && j != i {
					continue
				}
				first[w.MessageID] = i
			}
			kept = append(kept, w)
		}
		if len(kept) > 0 {
			out = append(out, kept)
		}
	}
	return out
}

// readAhead is how many full POSTs beyond those in flight one round reads.
const readAhead = 6

// park sets aside the webhooks of a business that has no URL: they stay pending and visible,
// due again after parkFor, or at once when RetryNow runs after the URL is set.
func (d *Dispatcher) park(ctx context.Context, business string, hooks []store.Webhook, now time.Time) {
	ids := make([]int64, len(hooks))
	for i, w := range hooks {
		ids[i] = w.ID
	}
	if _, err := d.st.Redeliver(ctx, ids, now.Add(parkFor)); err != nil {
		if ctx.Err() == nil {
			d.log.Error("set aside webhooks of a business without a webhook URL", "business", business, "err", err)
		}
		return
	}
	d.log.Debug("no webhook URL set: webhooks wait in the outbox", "business", business, "webhooks", len(ids))
}

// batches splits the due webhooks of one business into POSTs: entries of the same kind and the
// same attempt count (so that one failure gives each the backoff its own count calls for), in
// due order, at most max per POST. Cloud kinds follow the Cloud rules instead (cloudBatches):
// one per POST unless the endpoint opted into batching.
func batches(hooks []store.Webhook, max int, ep Endpoint) [][]store.Webhook {
	type key struct {
		kind     string
		attempts int
	}
	var order []key
	groups := map[key][]store.Webhook{}
	for _, w := range hooks {
		k := key{w.Kind, w.Attempts}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], w)
	}
	var out [][]store.Webhook
	for _, k := range order {
		g := groups[k]
		if isCloudKind(k.kind) {
			out = append(out, cloudBatches(g, ep.Batch)...)
			continue
		}
		for len(g) > 0 {
			n := min(len(g), max)
			out = append(out, g[:n:n])
			g = g[n:]
		}
	}
	return out
}

// launch starts one POST if the endpoint has a free slot, and reports whether it did.
func (d *Dispatcher) launch(ctx context.Context, business string, ep Endpoint, hooks []store.Webhook) bool {
	d.mu.Lock()
	if d.busy[ep.URL] >= ep.MaxConcurrent {
		d.mu.Unlock()
		return false
	}
	d.busy[ep.URL]++
	for _, w := range hooks {
		d.inFlight[w.ID] = w.MessageID
	}
	d.posts.Add(1)
	d.mu.Unlock()
	d.nInFlight.Add(1)

	go func() {
		defer func() {
			d.mu.Lock()
			d.busy[ep.URL]--
			if d.busy[ep.URL] <= 0 {
				delete(d.busy, ep.URL)
			}
			for _, w := range hooks {
				delete(d.inFlight, w.ID)
			}
			d.mu.Unlock()
			d.nInFlight.Add(-1)
			d.posts.Done()
			d.Wake()
		}()
		// A POST under way when Stop is called finishes (within Options.Timeout) and is
		// recorded, so the attempt log never misses a request the receiver may have seen.
		d.deliver(context.WithoutCancel(ctx), business, ep, hooks)
	}()
	return true
}
