package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// pendingFloor is a time no pending webhook is due before, so that the webhook claims start
// their walk of webhooks_due there instead of at the index's first entry.
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

// forget drops the floor (ResetTraffic): claims walk from the start until the next refresh.
func (f *pendingFloor) forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.known = false
	f.refreshed = time.Time{}
}

// get returns the floor, refreshing it first when it is unknown or older than floorRefresh and
// no other refresh is running. ok=false means no bound: walk from the start.
func (f *pendingFloor) get(ctx context.Context, s *Store) (time.Time, bool) {
	f.mu.Lock()
	every := f.every
	if every == 0 {
		every = floorRefresh
	}
	if f.refreshing || (f.known && time.Since(f.refreshed) < every) {
		at, known := f.at, f.known
		f.mu.Unlock()
		return at, known
	}
	f.refreshing, f.lowSet = true, false
	f.refreshed = time.Now()
	f.mu.Unlock()

	var min pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, "SELECT min(due_at) FROM webhooks WHERE state = 'pending'").Scan(&min)

	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshing = false
	if err != nil {
		// Keep what was known; without a floor the claims still work, only slower.
		if ctx.Err() == nil {
			s.logger.Warn("read the earliest pending webhook", "err", err)
		}
		f.refreshed = time.Time{}
		return f.at, f.known
	}
	at := noPending
	if min.Valid {
		at = min.Time
	}
	if f.lowSet && f.lowered.Before(at) {
		at = f.lowered
	}
	f.at, f.known = at, true
	return f.at, true
}
