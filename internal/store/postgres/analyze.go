package postgres

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// analyzer keeps the planner's statistics of the busy tables fresh while they grow.
//
// The two claim queries (DueMessages, DueWebhooks) read "the oldest due rows, up to a limit".
// With statistics, PostgreSQL walks the partial index in order and stops at the limit. Without
// them (a new database: autovacuum first looks after a minute, and then only once a tenth of
// the table has changed) it guesses that few rows are due, reads every due row through a
// bitmap, checks each, sorts them and keeps the first ones: with a backlog of 30,000 pending
// webhooks that took 107 ms a claim against 24 ms after ANALYZE, and 3.2 s against 5.8 ms in a
// longer run (docs/benchmarks.md, fifth session). So the store counts the rows it adds and runs
// ANALYZE itself each time the tables have grown fourfold since the last one (from
// minAnalyzeRows on): half a dozen times on the way to millions of rows, after which
// autovacuum's own analyses keep up. Each ANALYZE samples up to 30,000 rows of each table and
// cost the server about a third of a second in a loaded run; analyzing at each doubling ran it
// 9 times in the first 17 s of a 7,000 messages/s run (17 % of the server's time), at each
// tenth of growth 33 times in 20 s. Only the columns the claim and lookup queries filter or
// sort on are analyzed. ANALYZE takes no lock that blocks reads or writes, and a second node
// doing the same is harmless.
type analyzer struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	min  int64 // rows that call for the first ANALYZE, and the least between two

	added     atomic.Int64 // rows added since the last ANALYZE began
	threshold atomic.Int64 // added rows that call for the next one

	kick   chan struct{}
	ctx    context.Context // cancelled by stop
	cancel context.CancelFunc
	done   chan struct{}

	runs atomic.Int64 // ANALYZEs finished (tests)
}

// minAnalyzeRows is the growth that calls for an ANALYZE of a new (or emptied) database.
const minAnalyzeRows = 1000

// analyzeTables are the tables whose claim queries depend on fresh statistics, with the
// columns those queries (and the lookups by peer and message) filter and sort on.
const analyzeTables = "messages (shard, next_at, id, peer, business, direction, created_at), webhooks (due_at, id, state, message_id)"

// analyzeGrowth is how much the tables grow between two analyses.
const analyzeGrowth = 4

func newAnalyzer(pool *pgxpool.Pool, log *slog.Logger, min int64) *analyzer {
	a := &analyzer{pool: pool, log: log, min: min, kick: make(chan struct{}, 1), done: make(chan struct{})}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.threshold.Store(min)
	go a.loop()
	return a
}

// grew records n rows added to the analyzed tables.
func (a *analyzer) grew(n int) {
	if n <= 0 {
		return
	}
	if a.added.Add(int64(n)) >= a.threshold.Load() {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
}

// emptied starts the count again, as for a new database (after ResetTraffic).
func (a *analyzer) emptied() {
	a.threshold.Store(a.min)
}

// stop ends the loop, cutting short an ANALYZE under way. It is safe to call more than once.
func (a *analyzer) stop() {
	a.cancel()
	<-a.done
}

func (a *analyzer) loop() {
	defer close(a.done)
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-a.kick:
		}
		if a.added.Load() >= a.threshold.Load() { // not a kick left over from the last run
			a.run()
		}
	}
}

// run analyzes the tables and sets the next threshold: rows added until they are analyzeGrowth
// times their size now.
func (a *analyzer) run() {
	ctx, cancel := context.WithTimeout(a.ctx, time.Minute)
	defer cancel()
	a.added.Store(0)
	start := time.Now()
	if _, err := a.pool.Exec(ctx, "ANALYZE "+analyzeTables); err != nil {
		if ctx.Err() == nil {
			a.log.Warn("analyze for the claim queries' plans", "tables", analyzeTables, "err", err)
		}
		return
	}
	var rows float64
	if err := a.pool.QueryRow(ctx,
		"SELECT coalesce(sum(greatest(reltuples, 0)), 0) FROM pg_class WHERE oid IN ('messages'::regclass, 'webhooks'::regclass)").Scan(&rows); err != nil {
		if ctx.Err() == nil {
			a.log.Warn("read table sizes after analyze", "err", err)
		}
		return
	}
	next := max(a.min, int64(rows)*(analyzeGrowth-1))
	a.threshold.Store(next)
	a.runs.Add(1)
	a.log.Debug("analyzed", "tables", analyzeTables, "rows", int64(rows), "next_after", next, "took", time.Since(start))
}
