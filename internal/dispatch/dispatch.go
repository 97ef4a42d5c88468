// Package dispatch hands accepted messages to the network and records what comes back.
//
// Work is partitioned into shards (crc32(recipient) % shards, as On-Prem multiconnect). Each
// shard has one loop, which claims the shard's due messages from the store, asks the network for
// the next step of each, and writes the new statuses together with their webhooks in one
// transaction. The schedule lives in the store (messages.next_at), so nothing is lost across a
// crash: a restarted loop finds the same due messages and the network recomputes the same
// receipts (DESIGN §3). One process owns every shard for now; Options.Shards is the seam where
// leases will hand shards to nodes (DESIGN §6).
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/network"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/wa"
)

// Renderer turns events into webhook payloads in the dialect of the message's business number
// (m.Business, business). It returns the stored webhook kind with the payload, so that the
// kind names the format: store.WebhookStatus/WebhookMessage for On-Prem entries,
// store.WebhookCloudStatus/WebhookCloudMessage for Cloud values.
type Renderer interface {
	// Status renders a status event of the outbound message m; name is the recipient's
	// profile name.
	Status(ctx context.Context, m store.Message, name string, ev network.Event) (kind string, payload []byte, err error)
	// Inbound renders a message from a user to business.
	Inbound(ctx context.Context, business string, messageID int64, from, name string, at time.Time, body map[string]any) (kind string, payload []byte, err error)
}

// Options are the dispatcher's dependencies.
type Options struct {
	Store   store.Store
	Clock   clock.Clock
	Network network.Network
	Render  Renderer
	IDs     *wa.IDs
	Logger  *slog.Logger
	// Shards is the shard count; every shard is owned by this process.
	Shards int
	// WantStatus says whether a status webhook of business is wanted (On-Prem sent_status and
	// webhooks.message.*; Cloud numbers get every status); failed statuses are always sent.
	WantStatus func(ctx context.Context, business, status string) bool
	// ProfileName is the name a user shows in inbound webhooks.
	ProfileName func(waID string) string
	// WebhooksAdded is called after new webhooks are committed (wakes the webhook dispatcher).
	WebhooksAdded func()
	// Observe is called for every status event committed (metrics); may be nil.
	Observe func(status, msgType string)
	// Batch caps how many messages one loop iteration takes (default 256).
	Batch int
}

// Dispatcher runs the shard loops.
type Dispatcher struct {
	o      Options
	log    *slog.Logger
	wake   []chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New builds a dispatcher.
func New(o Options) *Dispatcher {
	if o.Shards < 1 {
		o.Shards = 1
	}
	if o.Batch < 1 {
		o.Batch = 256
	}
	d := &Dispatcher{o: o, log: o.Logger.With("component", "dispatch"), wake: make([]chan struct{}, o.Shards)}
	for i := range d.wake {
		d.wake[i] = make(chan struct{}, 1)
	}
	return d
}

// Start runs one loop per shard until Stop.
func (d *Dispatcher) Start(ctx context.Context) error {
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for shard := range d.o.Shards {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.loop(ctx, shard)
		}()
	}
	return nil
}

// Stop ends the loops after their current transaction. Idempotent.
func (d *Dispatcher) Stop() {
	d.once.Do(func() {
		if d.cancel != nil {
			d.cancel()
		}
		d.wg.Wait()
	})
}

// Notify tells a shard's loop that new work may be due (a message was accepted, a user came
// online).
func (d *Dispatcher) Notify(shard int) {
	if shard < 0 || shard >= len(d.wake) {
		return
	}
	select {
	case d.wake[shard] <- struct{}{}:
	default:
	}
}

// NotifyAll wakes every shard.
func (d *Dispatcher) NotifyAll() {
	for i := range d.wake {
		d.Notify(i)
	}
}

const (
	idleWait   = 5 * time.Second      // re-check the store at least this often (real time)
	errorWait  = time.Second          // after a store error
	retryDown  = time.Second          // network unreachable: try again after (virtual)
	retryError = 5 * time.Second      // network error: try again after (virtual)
	maxWait    = 365 * 24 * time.Hour // sanity cap for timers
	_          = maxWait - 0*time.Nanosecond
)

func (d *Dispatcher) loop(ctx context.Context, shard int) {
	jumps, cancelJumps := d.o.Clock.Subscribe()
	defer cancelJumps()
	for ctx.Err() == nil {
		n, err := d.runOnce(ctx, shard)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.Error("dispatch step failed", "shard", shard, "err", err)
			d.sleep(ctx, shard, jumps, errorWait)
			continue
		}
		if n > 0 {
			continue // more may be due
		}
		wait := idleWait
		if next, ok, err := d.o.Store.NextDue(ctx, shard); err == nil && ok {
			if w := next.Sub(d.o.Clock.Now()); w < wait {
				wait = w
			}
		}
		if wait <= 0 {
			continue
		}
		d.sleep(ctx, shard, jumps, wait)
	}
}

// sleep waits for d of clock time, a notification, or a clock jump.
func (d *Dispatcher) sleep(ctx context.Context, shard int, jumps <-chan clock.Jump, wait time.Duration) {
	t := d.o.Clock.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C():
	case <-d.wake[shard]:
	case <-jumps:
	}
}

// runOnce processes the shard's due messages once and returns how many it took.
func (d *Dispatcher) runOnce(ctx context.Context, shard int) (int, error) {
	now := d.o.Clock.Now()
	msgs, err := d.o.Store.DueMessages(ctx, shard, now, d.o.Batch)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	var b store.Batch
	// Statuses to count once the batch is committed (nothing is counted for a failed Apply).
	var observed []observedStatus
	for _, m := range msgs {
		step, err := d.o.Network.Step(ctx, m, now)
		var unreachable *network.ErrUnreachable
		switch {
		case errors.As(err, &unreachable):
			// Not acknowledged: keep trying, with no deadline but the 408 rule (seed 004 FAQ).
			b.Transitions = append(b.Transitions, store.Transition{ID: m.ID, Status: m.Status, State: m.State, NextAt: now.Add(retryDown), At: now})
			continue
		case err != nil && ctx.Err() != nil:
			return 0, ctx.Err() // stopping: nothing of this step is applied, the next start redoes it
		case err != nil:
			d.log.Error("network step failed; will retry", "message", m.ID, "err", err)
			b.Transitions = append(b.Transitions, store.Transition{ID: m.ID, Status: m.Status, State: m.State, NextAt: now.Add(retryError), At: now})
			continue
		}
		b.Transitions = append(b.Transitions, store.Transition{ID: m.ID, Status: step.Status, State: step.State, NextAt: step.NextAt, At: now})
		for _, ev := range step.Events {
			observed = append(observed, observedStatus{ev.Status, m.Type})
			if ev.Status != store.StatusFailed && d.o.WantStatus != nil && !d.o.WantStatus(ctx, m.Business, ev.Status) {
				continue
			}
			kind, payload, err := d.o.Render.Status(ctx, m, d.profileName(m.Peer), ev)
			if err != nil {
				return 0, fmt.Errorf("render status webhook of message %d: %w", m.ID, err)
			}
			b.Webhooks = append(b.Webhooks, store.Webhook{
				Business: m.Business, MessageID: m.ID, Kind: kind,
				Payload: payload, State: store.WebhookPending,
				DueAt: now, CreatedAt: now, UpdatedAt: now,
			})
		}
		for _, r := range step.Replies {
			in, hook, err := d.inbound(ctx, m.Business, r.From, r.Body, now)
			if err != nil {
				return 0, err
			}
			b.Messages = append(b.Messages, in)
			b.Webhooks = append(b.Webhooks, hook)
		}
	}
	if err := d.o.Store.Apply(ctx, b); err != nil {
		return 0, fmt.Errorf("apply %d transitions: %w", len(b.Transitions), err)
	}
	if len(b.Webhooks) > 0 && d.o.WebhooksAdded != nil {
		d.o.WebhooksAdded()
	}
	if d.o.Observe != nil {
		for _, o := range observed {
			d.o.Observe(o.status, o.msgType)
		}
	}
	return len(msgs), nil
}

type observedStatus struct{ status, msgType string }

// inbound builds the stored row and the webhook of a message a user sends to business.
func (d *Dispatcher) inbound(ctx context.Context, business, from string, body map[string]any, now time.Time) (store.Message, store.Webhook, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return store.Message{}, store.Webhook{}, fmt.Errorf("encode inbound message: %w", err)
	}
	typ, _ := body["type"].(string)
	id := d.o.IDs.Next()
	msg := store.Message{ID: id, Direction: store.Inbound, Business: business, Peer: from, Type: typ,
		Payload: payload, Status: store.StatusReceived, Shard: 0, CreatedAt: now, UpdatedAt: now}
	kind, rendered, err := d.o.Render.Inbound(ctx, business, id, from, d.profileName(from), now, body)
	if err != nil {
		return store.Message{}, store.Webhook{}, fmt.Errorf("render inbound webhook: %w", err)
	}
	hook := store.Webhook{Business: business, MessageID: id, Kind: kind,
		Payload: rendered, State: store.WebhookPending,
		DueAt: now, CreatedAt: now, UpdatedAt: now}
	return msg, hook, nil
}

// profileName is the name a user shows; their wa_id without Options.ProfileName.
func (d *Dispatcher) profileName(waID string) string {
	if d.o.ProfileName != nil {
		return d.o.ProfileName(waID)
	}
	return waID
}

// Inbound stores a message from a simulated user to the business, with its webhook, in one
// transaction, and returns its id. It opens or extends the 24-hour service window (the window
// is read from the newest inbound message).
func (d *Dispatcher) Inbound(ctx context.Context, business, from string, body map[string]any) (int64, error) {
	now := d.o.Clock.Now()
	msg, hook, err := d.inbound(ctx, business, from, body, now)
	if err != nil {
		return 0, err
	}
	if err := d.o.Store.Apply(ctx, store.Batch{Messages: []store.Message{msg}, Webhooks: []store.Webhook{hook}}); err != nil {
		return 0, fmt.Errorf("store inbound message: %w", err)
	}
	if d.o.WebhooksAdded != nil {
		d.o.WebhooksAdded()
	}
	return msg.ID, nil
}
