package postgres

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openwaba/waba/internal/store"
)

// pendingFloor is a time no pending webhook is due before, so that the webhook claims start
// their walk of webhooks_due there instead of at the index's first entry. (shardFloors applies
// the same to the dispatch claims and messages_due.)
//
// Why: every delivered webhook leaves a dead entry in webhooks_due until a vacuum removes it,
// and those entries sort first (they were due earliest). A claim that starts at the beginning
// steps over all of them: 17.5 ms a claim with 256,343 dead entries against 2.3 ms after a
// VACUUM (docs/benchmarks.md, fifth session), and the outbox claims tens of times a second. With
// `due_at >= floor` PostgreSQL descends the B-tree straight to the first live pending entry.
//
// How it stays a true lower bound: a refresh reads min(due_at) of the pending webhooks (one
// walk over the dead entries, at most once a floorRefresh), and every write of this store that
// makes a webhook pending, or moves a pending one earlier, lowers the floor to its due time
// after the write (lower). A write that commits after the refresh's snapshot lowers the floor
// either during the refresh (remembered in lowered and applied when it ends) or after it. A
// write by another node does not lower this node's floor: its webhook waits at most until the
// next refresh. Starting the walk a little too early only costs time, never a webhook.
type pendingFloor struct {
	mu         sync.Mutex
	at         time.Time // no pending webhook is due before at (valid when known)
	known      bool
	refreshing bool
	lowered    time.Time // the earliest lower() during the running refresh (when lowSet)
	lowSet     bool
	refreshed  time.Time     // when the last refresh began
	every      time.Duration // refresh interval; 0: floorRefresh (tests set it longer)
}

// floorRefresh is how often the floor is read again from the table.
const floorRefresh = time.Second

// noPending stands for "no pending webhook": later than any due time.
var noPending = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// lower records that a webhook may now be pending and due at t.
func (f *pendingFloor) lower(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.known && t.Before(f.at) {
		f.at = t
	}
	if f.refreshing && (!f.lowSet || t.Before(f.lowered)) {
		f.lowered, f.lowSet = t, true
	}
}

// get returns the floor as a query argument, refreshing it first with read (the earliest due
// time in the table, NULL for none) when it is unknown or older than floorRefresh and no other
// refresh is running. While none is known it is -infinity: the walk starts at the index's start.
func (f *pendingFloor) get(ctx context.Context, log *slog.Logger, read func(context.Context) (pgtype.Timestamptz, error)) pgtype.Timestamptz {
	f.mu.Lock()
	every := f.every
	if every == 0 {
		every = floorRefresh
	}
	if f.refreshing || (f.known && time.Since(f.refreshed) < every) {
		defer f.mu.Unlock()
		return f.arg()
	}
	f.refreshing, f.lowSet = true, false
	f.refreshed = time.Now()
	f.mu.Unlock()

	min, err := read(ctx)

	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshing = false
	if err != nil {
		// Keep what was known; without a floor the claims still work, only slower.
		if ctx.Err() == nil {
			log.Warn("read the earliest due time for a claim's floor", "err", err)
		}
		f.refreshed = time.Time{}
		return f.arg()
	}
	at := noPending
	if min.Valid {
		at = min.Time
	}
	if f.lowSet && f.lowered.Before(at) {
		at = f.lowered
	}
	f.at, f.known = at, true
	return f.arg()
}

// arg is the floor as a query argument. Called with mu.
func (f *pendingFloor) arg() pgtype.Timestamptz {
	if !f.known {
		return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	}
	return pgtype.Timestamptz{Time: f.at, Valid: true}
}

// webhookFloor is the floor of the webhook claims.
func (s *Store) webhookFloor(ctx context.Context) pgtype.Timestamptz {
	return s.floor.get(ctx, s.logger, func(ctx context.Context) (pgtype.Timestamptz, error) {
		var min pgtype.Timestamptz
		err := s.pool.QueryRow(ctx, "SELECT min(due_at) FROM webhooks WHERE state = 'pending'").Scan(&min)
		return min, err
	})
}

// shardFloors are the same floors for the dispatch claims (DueMessages, NextDue), one per shard,
// over messages.next_at and the partial index messages_due, where each transition of a message
// leaves a dead entry at the head of its shard's part until a vacuum.
type shardFloors struct {
	mu     sync.Mutex
	shards map[int]*pendingFloor
	every  time.Duration // as pendingFloor.every, for the floors made from now on (tests)
}

// of returns the floor of shard, made on first use.
func (sf *shardFloors) of(shard int) *pendingFloor {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if sf.shards == nil {
		sf.shards = map[int]*pendingFloor{}
	}
	f := sf.shards[shard]
	if f == nil {
		f = &pendingFloor{every: sf.every}
		sf.shards[shard] = f
	}
	return f
}

// lower lowers the floor of shard, or of every shard when shard < 0 (a write that does not say
// which shard its messages are in).
func (sf *shardFloors) lower(shard int, t time.Time) {
	if shard >= 0 {
		sf.of(shard).lower(t)
		return
	}
	sf.mu.Lock()
	floors := make([]*pendingFloor, 0, len(sf.shards))
	for _, f := range sf.shards {
		floors = append(floors, f)
	}
	sf.mu.Unlock()
	for _, f := range floors {
		f.lower(t)
	}
}

// messageFloor is the floor of shard's dispatch claims.
func (s *Store) messageFloor(ctx context.Context, shard int) pgtype.Timestamptz {
	return s.msgFloors.of(shard).get(ctx, s.logger, func(ctx context.Context) (pgtype.Timestamptz, error) {
		var min pgtype.Timestamptz
		err := s.pool.QueryRow(ctx, "SELECT min(next_at) FROM messages WHERE shard = $1 AND next_at IS NOT NULL", int32(shard)).Scan(&min)
		return min, err
	})
}

// lowerShards lowers each shard's floor to the earliest next_at among msgs in it.
func (s *Store) lowerShards(msgs []store.Message) {
	first := map[int]time.Time{}
	for i := range msgs {
		m := &msgs[i]
		if m.NextAt.IsZero() {
			continue
		}
		if t, ok := first[m.Shard]; !ok || m.NextAt.Before(t) {
			first[m.Shard] = m.NextAt
		}
	}
	for shard, t := range first {
		s.msgFloors.lower(shard, t)
	}
}

// lowerFloor lowers the webhook floor to the earliest due time among the pending webhooks in
// hooks.
func (s *Store) lowerFloor(hooks []store.Webhook) {
	var first time.Time
	for i := range hooks {
		w := &hooks[i]
		if (w.State == "" || w.State == store.WebhookPending) && (first.IsZero() || w.DueAt.Before(first)) {
			first = w.DueAt
		}
	}
	if !first.IsZero() {
		s.floor.lower(first)
	}
}
