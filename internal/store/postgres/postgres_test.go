package postgres

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/store/pgtest"
	"github.com/openwaba/waba/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func openTB(tb testing.TB, url string) *Store {
	tb.Helper()
	s, err := Open(tb.Context(), url, nil)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTB(t, pgtest.URL(t))
	})
}

// Several nodes starting at once on an empty database all succeed, and each migration is
// applied exactly once (the advisory lock serialises them).
func TestConcurrentOpen(t *testing.T) {
	url := pgtest.URL(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	const nodes = 4
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i := range nodes {
		wg.Go(func() {
			<-ready
			stores[i], errs[i] = Open(ctx, url, nil)
		})
	}
	close(ready)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d: %v", i, err)
			continue
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	if t.Failed() {
		return
	}

	// Every node sees the one schema.
	msg := store.Message{ID: 1, Direction: store.Outbound, Business: "15550001111", Peer: "15557654321", Type: "text",
		Payload: []byte(`{}`), Status: store.StatusAccepted, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := stores[0].InsertMessages(ctx, []store.Message{msg}); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if _, err := s.GetMessage(ctx, 1); err != nil {
			t.Errorf("node %d: GetMessage: %v", i, err)
		}
	}

	rows, err := stores[1].pool.Query(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	migrations, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	var want []int32
	for _, m := range migrations {
		want = append(want, int32(m.version))
	}
	if !slices.Equal(got, want) {
		t.Errorf("schema_migrations = %v, want %v", got, want)
	}

	// No node still holds the migration lock.
	var held int
	if err := stores[0].pool.QueryRow(ctx,
		`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
			AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid`, migrationLock).
		Scan(&held); err != nil {
		t.Fatal(err)
	}
	if held != 0 {
		t.Errorf("%d sessions still hold the migration advisory lock", held)
	}
}

// The messages table has exactly the secondary indexes its queries need: the partial one for
// due work, the conversation index and the partial one for the customer-service window.
func TestMessagesIndexes(t *testing.T) {
	s := openTB(t, pgtest.URL(t))
	rows, err := s.pool.Query(t.Context(), "SELECT indexname FROM pg_indexes WHERE tablename = 'messages' ORDER BY indexname")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"messages_due", "messages_inbound", "messages_peer", "messages_pkey"}; !slices.Equal(got, want) {
		t.Errorf("indexes on messages = %q, want %q", got, want)
	}
}

func TestOpenBadURL(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://waba:hunter2@127.0.0.1:1/none?connect_timeout=2", nil)
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if msg := err.Error(); strings.Contains(msg, "hunter2") {
		t.Errorf("error leaks the password: %s", msg)
	}
}

func BenchmarkInsertMessages(b *testing.B) {
	storetest.BenchInsertMessages(b, func(b *testing.B) store.Store {
		return openTB(b, pgtest.URL(b))
	})
}

// A database created by migration 1 alone upgrades in place: messages still waiting for the
// network (accepted, outbound) are put on the dispatch schedule, nothing else is.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := t.Context()
	url := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	initSQL, err := migrationFS.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, q := range []string{
		"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
		string(initSQL),
		"INSERT INTO schema_migrations (version, name) VALUES (1, 'init')",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for i, st := range []string{store.StatusAccepted, store.StatusSent} {
		if _, err := conn.Exec(ctx, `INSERT INTO messages (id, direction, business, peer, type, payload, status, shard, created_at, updated_at)
			VALUES ($1, 'out', 'b', 'p', 'text', '', $2, 0, $3, $4)`, i+1, st, at, at.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}

	s := openTB(t, url)
	accepted, err := s.GetMessage(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !accepted.NextAt.Equal(at) || accepted.State != nil {
		t.Errorf("accepted message after upgrade: NextAt %v state %q, want %v and nil", accepted.NextAt, accepted.State, at)
	}
	sent, err := s.GetMessage(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !sent.NextAt.IsZero() {
		t.Errorf("sent message after upgrade: NextAt %v, want unscheduled", sent.NextAt)
	}
	if due, err := s.DueMessages(ctx, 0, at, 10); err != nil || len(due) != 1 || due[0].ID != 1 {
		t.Errorf("DueMessages after upgrade = %v, %v; want message 1", due, err)
	}
}

// A new database has no planner statistics, and PostgreSQL then answers the webhook claim by
// reading every due row and sorting them instead of walking webhooks_due to the limit: linear
// in the backlog. The store analyzes the tables itself once they have grown (analyzer), so the
// claim plan is the ordered index walk long before autovacuum would have looked.
func TestAnalyzeAsTablesGrow(t *testing.T) {
	s := openTB(t, pgtest.URL(t))
	ctx := t.Context()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const msgs, perMsg = 2000, 3
	var b store.Batch
	for i := range msgs {
		id := int64(i + 1)
		peer := "1555" + strconv.Itoa(1000000+i%1000)
		b.Messages = append(b.Messages, store.Message{ID: id, Direction: store.Outbound, Business: "15550001111",
			Peer: peer, Type: "text", Payload: []byte(`{}`), Status: store.StatusSent, CreatedAt: t0, UpdatedAt: t0})
		for k := range perMsg {
			b.Webhooks = append(b.Webhooks, store.Webhook{Business: "15550001111", MessageID: id, Kind: "status",
				Payload: []byte(`{}`), Attempts: 0, DueAt: t0.Add(time.Duration(i*perMsg+k) * time.Millisecond),
				CreatedAt: t0, UpdatedAt: t0})
		}
	}
	if err := s.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.analyze.runs.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no ANALYZE 20 s after %d rows were added", msgs*(1+perMsg))
		}
		time.Sleep(20 * time.Millisecond)
	}
	var analyzed float64
	if err := s.pool.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE oid = 'webhooks'::regclass").Scan(&analyzed); err != nil {
		t.Fatal(err)
	}
	if analyzed != msgs*perMsg {
		t.Errorf("pg_class.reltuples of webhooks = %v after the analyzer ran, want %d", analyzed, msgs*perMsg)
	}
	if got, want := s.analyze.threshold.Load(), int64(msgs*(1+perMsg)*(analyzeGrowth-1)); got != want {
		t.Errorf("next threshold = %d, want %d (until the tables have grown %d-fold)", got, want, analyzeGrowth)
	}
	// The first line is the top of the plan: a Limit fed directly by the index walk.
	rows, err := s.pool.Query(ctx, "EXPLAIN SELECT "+webhookListW+
		" FROM webhooks AS w WHERE w.due_at <= $1 AND "+claimable+" ORDER BY w.due_at, w.id LIMIT $2", t0.Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(lines, "\n")
	if strings.Contains(all, "Sort") || !strings.Contains(lines[1], "Index Scan using webhooks_due on webhooks w") {
		t.Errorf("claim plan after the analyzer ran:\n%s\nwant a Limit over an Index Scan using webhooks_due, no Sort", all)
	}
}

// The migrations make autovacuum come sooner to the tables whose dead index entries the claim
// queries step over (0004_autovacuum.sql).
func TestAutovacuumSettings(t *testing.T) {
	s := openTB(t, pgtest.URL(t))
	want := []string{"autovacuum_vacuum_scale_factor=0.01", "autovacuum_vacuum_threshold=10000", "autovacuum_analyze_scale_factor=0.02"}
	for _, table := range []string{"messages", "webhooks"} {
		var opts []string
		if err := s.pool.QueryRow(t.Context(), "SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = $1::regclass", table).Scan(&opts); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(opts, want) {
			t.Errorf("reloptions of %s = %q, want %q", table, opts, want)
		}
	}
}

// The claims start at the pending floor (floor.go), so every write that makes a webhook due
// earlier than the floor must lower it at once: here the floor is not read again during the
// test, and each step's webhook, due before everything else, must be the first one claimed.
func TestPendingFloor(t *testing.T) {
	s := openTB(t, pgtest.URL(t))
	s.floor.every = time.Hour
	ctx := t.Context()
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	now := t0.Add(time.Minute)
	var b store.Batch
	for i := range 3 {
		id := int64(i + 1)
		b.Messages = append(b.Messages, store.Message{ID: id, Direction: store.Outbound, Business: "15550001111",
			Peer: "15551230000", Type: "text", Payload: []byte(`{}`), Status: store.StatusSent, CreatedAt: t0, UpdatedAt: t0})
		b.Webhooks = append(b.Webhooks, store.Webhook{Business: "15550001111", MessageID: id, Kind: "status",
			Payload: []byte(`{}`), DueAt: t0.Add(time.Duration(i+1) * time.Second), CreatedAt: t0, UpdatedAt: t0})
	}
	if err := s.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	first := func(step string, wantID int64, wantDue time.Time) {
		t.Helper()
		due, err := s.DueWebhooks(ctx, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) == 0 || due[0].ID != wantID || !due[0].DueAt.Equal(wantDue) {
			t.Fatalf("%s: claimed %+v, want webhook %d due %s first", step, due, wantID, wantDue)
		}
		next, ok, err := s.NextWebhookDue(ctx)
		if err != nil || !ok || !next.Equal(wantDue) {
			t.Fatalf("%s: NextWebhookDue = %s %v %v, want %s", step, next, ok, err, wantDue)
		}
		if floor := s.webhookFloor(ctx); floor.InfinityModifier != pgtype.Finite || floor.Time.After(wantDue) {
			t.Fatalf("%s: floor %+v is unknown or after a pending webhook due %s", step, floor, wantDue)
		}
	}
	// While no floor is known (another claim reading it, say) the claims walk from -infinity.
	s.floor.mu.Lock()
	s.floor.refreshing = true
	s.floor.mu.Unlock()
	if due, err := s.DueWebhooks(ctx, now, 10); err != nil || len(due) != 3 || due[0].ID != 1 {
		t.Fatalf("with no floor known: %+v, %v, want the three webhooks", due, err)
	}
	s.floor.mu.Lock()
	s.floor.refreshing = false
	s.floor.mu.Unlock()
	first("three pending", 1, t0.Add(time.Second))
	if floor := s.webhookFloor(ctx); floor.InfinityModifier != pgtype.Finite || !floor.Time.Equal(t0.Add(time.Second)) {
		t.Fatalf("floor = %+v, want the earliest pending due time %s", floor, t0.Add(time.Second))
	}
	// Webhook 1 delivered; webhook 2 fails and is due again before anything else.
	if _, err := s.RecordAttempt(ctx, store.Attempt{Business: "15550001111", URL: "http://127.0.0.1:1/", Status: 200, At: now, WebhookIDs: []int64{1}},
		store.WebhookResult{IDs: []int64{1}, Delivered: true, At: now}); err != nil {
		t.Fatal(err)
	}
	early := t0.Add(-time.Hour)
	if _, err := s.RecordAttempt(ctx, store.Attempt{Business: "15550001111", URL: "http://127.0.0.1:1/", Status: 500, At: now, WebhookIDs: []int64{2}},
		store.WebhookResult{IDs: []int64{2}, NextDue: early, Error: "HTTP 500", At: now}); err != nil {
		t.Fatal(err)
	}
	first("a retry due early", 2, early)
	// Webhook 1 redelivered, due earlier still.
	early = early.Add(-time.Hour)
	if n, err := s.Redeliver(ctx, []int64{1}, early); err != nil || n != 1 {
		t.Fatalf("Redeliver = %d, %v", n, err)
	}
	first("a redelivery", 1, early)
	// A new webhook due before all of them.
	early = early.Add(-time.Hour)
	if err := s.Apply(ctx, store.Batch{Webhooks: []store.Webhook{{Business: "15550001111", MessageID: 0, Kind: "message",
		Payload: []byte(`{}`), DueAt: early, CreatedAt: t0, UpdatedAt: t0}}}); err != nil {
		t.Fatal(err)
	}
	first("a new webhook", 4, early)
	// Everything pending due later than the floor of a retry-now moves to it.
	if _, err := s.RecordAttempt(ctx, store.Attempt{Business: "15550001111", URL: "http://127.0.0.1:1/", Status: 200, At: now, WebhookIDs: []int64{1, 2, 4}},
		store.WebhookResult{IDs: []int64{1, 2, 4}, Delivered: true, At: now}); err != nil {
		t.Fatal(err)
	}
	early = early.Add(-time.Hour)
	if n, err := s.RescheduleWebhooks(ctx, early); err != nil || n != 1 {
		t.Fatalf("RescheduleWebhooks = %d, %v, want webhook 3 moved", n, err)
	}
	first("a retry-now", 3, early)
	// After the reset nothing is pending, and the next webhook is found again.
	if err := s.ResetTraffic(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, store.Batch{Webhooks: []store.Webhook{{Business: "15550001111", Kind: "message",
		Payload: []byte(`{}`), DueAt: t0, CreatedAt: t0, UpdatedAt: t0}}}); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueWebhooks(ctx, now, 10)
	if err != nil || len(due) != 1 || !due[0].DueAt.Equal(t0) {
		t.Fatalf("after the reset: %+v, %v", due, err)
	}
}

// The dispatch claims start at their shard's floor (shardFloors), so every write that makes a
// message due earlier than the floor must lower it at once; the floors are not read again
// during the test.
func TestShardFloors(t *testing.T) {
	s := openTB(t, pgtest.URL(t))
	s.msgFloors.every = time.Hour
	ctx := t.Context()
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	now := t0.Add(time.Minute)
	msg := func(id int64, shard int, next time.Time) store.Message {
		return store.Message{ID: id, Direction: store.Outbound, Business: "15550001111", Peer: "1555123000" + strconv.Itoa(int(id)),
			Type: "text", Payload: []byte(`{}`), Status: store.StatusSent, Shard: shard, NextAt: next, CreatedAt: t0, UpdatedAt: t0}
	}
	if err := s.InsertMessages(ctx, []store.Message{msg(1, 0, t0.Add(time.Second)), msg(2, 0, t0.Add(2*time.Second)),
		msg(3, 0, t0.Add(3*time.Second)), msg(4, 1, t0)}); err != nil {
		t.Fatal(err)
	}
	first := func(step string, wantID int64, wantNext time.Time) {
		t.Helper()
		due, err := s.DueMessages(ctx, 0, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) == 0 || due[0].ID != wantID || !due[0].NextAt.Equal(wantNext) {
			t.Fatalf("%s: shard 0 claimed %v, want message %d due %s first", step, ids(due), wantID, wantNext)
		}
		next, ok, err := s.NextDue(ctx, 0)
		if err != nil || !ok || !next.Equal(wantNext) {
			t.Fatalf("%s: NextDue(0) = %s %v %v, want %s", step, next, ok, err, wantNext)
		}
	}
	first("three scheduled", 1, t0.Add(time.Second))
	if due, err := s.DueMessages(ctx, 1, now, 10); err != nil || len(due) != 1 || due[0].ID != 4 {
		t.Fatalf("shard 1: %v %v, want message 4", ids(due), err)
	}
	// Message 1 is done; message 2 is rescheduled before everything else.
	early := t0.Add(-time.Hour)
	if err := s.Apply(ctx, store.Batch{Transitions: []store.Transition{
		{ID: 1, Status: store.StatusSent, At: now},
		{ID: 2, Status: store.StatusSent, NextAt: early, At: now},
	}}); err != nil {
		t.Fatal(err)
	}
	first("a transition", 2, early)
	// Message 3's peer comes back: its held message is brought forward.
	early = early.Add(-time.Hour)
	if n, err := s.RescheduleHeld(ctx, "15551230003", store.StatusSent, early); err != nil || n != 1 {
		t.Fatalf("RescheduleHeld = %d, %v", n, err)
	}
	first("a held message", 3, early)
	// A new message, accepted due earlier still, and one written by the dispatcher.
	early = early.Add(-time.Hour)
	if err := s.InsertMessages(ctx, []store.Message{msg(5, 0, early)}); err != nil {
		t.Fatal(err)
	}
	first("an accepted message", 5, early)
	early = early.Add(-time.Hour)
	if err := s.Apply(ctx, store.Batch{Messages: []store.Message{msg(6, 0, early)}}); err != nil {
		t.Fatal(err)
	}
	first("a message of a batch", 6, early)
	if err := s.ResetTraffic(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertMessages(ctx, []store.Message{msg(7, 0, t0)}); err != nil {
		t.Fatal(err)
	}
	first("after the reset", 7, t0)
}

func ids(msgs []store.Message) []int64 {
	out := []int64{}
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}
