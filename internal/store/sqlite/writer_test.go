package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/store"
)

// TestWriterMergesCallers holds the writer inside one job until many callers are queued, so
// that they share the next transaction, and checks that a failing caller's part is undone
// and reported to it alone while every other caller's rows are durable.
func TestWriterMergesCallers(t *testing.T) {
	s := openTB(t, filepath.Join(t.TempDir(), "waba.db"))
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	msg := func(id int64) store.Message {
		return store.Message{ID: id, Direction: store.Outbound, Business: "15550001111", Peer: "15551234567",
			Type: "text", Payload: []byte(`{}`), Status: store.StatusAccepted, NextAt: now, CreatedAt: now, UpdatedAt: now}
	}
	if err := s.InsertMessages(ctx, []store.Message{msg(1)}); err != nil {
		t.Fatal(err)
	}

	before := s.WriterStats()
	if before.Transactions != 1 || before.Jobs != 1 || before.Busy <= 0 || before.Commit <= 0 || before.Commit > before.Busy {
		t.Fatalf("writer stats after one insert: %+v", before)
	}
	release := make(chan struct{})
	held := make(chan struct{})
	go s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		close(held)
		<-release
		return nil
	})
	<-held

	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%10 == 3 {
				// A duplicate of message 1 together with a new row: all of it must be undone.
				errs[i] = s.InsertMessages(ctx, []store.Message{msg(int64(1000 + i)), msg(1)})
				return
			}
			if i%10 == 7 {
				// The insert succeeds, then a transition of a missing message fails the batch.
				errs[i] = s.Apply(ctx, store.Batch{Messages: []store.Message{msg(int64(1000 + i))},
					Transitions: []store.Transition{{ID: 999999, Status: store.StatusSent, At: now}}})
				return
			}
			errs[i] = s.Apply(ctx, store.Batch{Messages: []store.Message{msg(int64(100 + i))},
				Webhooks: []store.Webhook{{Business: "15550001111", MessageID: int64(100 + i), Kind: store.WebhookStatus,
					Payload: []byte(`{}`), DueAt: now, CreatedAt: now, UpdatedAt: now}}})
		}()
	}
	// Wait until every caller is queued behind the held job.
	for deadline := time.Now().Add(10 * time.Second); len(s.w.in) < n && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if len(s.w.in) < n {
		t.Fatalf("only %d of %d callers queued", len(s.w.in), n)
	}
	close(release)
	wg.Wait()

	for i, err := range errs {
		if i%10 == 3 || i%10 == 7 {
			want := store.ErrExists
			if i%10 == 7 {
				want = store.ErrNotFound
			}
			if !errors.Is(err, want) {
				t.Errorf("caller %d: err = %v, want %v", i, err, want)
			}
			if _, err := s.GetMessage(ctx, int64(1000+i)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("message %d of the failed caller: err = %v, want ErrNotFound", 1000+i, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
		if _, err := s.GetMessage(ctx, int64(100+i)); err != nil {
			t.Errorf("message %d: %v", 100+i, err)
		}
	}
	if got, err := s.CountMessages(ctx, store.Outbound); err != nil || got != 1+n-2*n/10 {
		t.Errorf("CountMessages = %d, %v; want %d", got, err, 1+n-2*n/10)
	}
	if got, err := s.CountWebhooks(ctx, store.WebhookPending); err != nil || got != n-2*n/10 {
		t.Errorf("pending webhooks = %d, %v; want %d", got, err, n-2*n/10)
	}
	// The held job was one transaction and the n callers queued behind it shared the next.
	after := s.WriterStats()
	if tx, jobs := after.Transactions-before.Transactions, after.Jobs-before.Jobs; tx != 2 || jobs != n+1 {
		t.Errorf("writer stats: %d transactions carrying %d jobs, want 2 carrying %d", tx, jobs, n+1)
	}
	if after.Commit <= before.Commit || after.Busy-before.Busy < after.Commit-before.Commit {
		t.Errorf("writer times: before %+v, after %+v", before, after)
	}
}

// TestWriterAfterClose refuses writes once the store is closed.
func TestWriterAfterClose(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "waba.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertMessages(t.Context(), []store.Message{{ID: 1}}); !errors.Is(err, errClosed) {
		t.Fatalf("InsertMessages after Close: %v, want errClosed", err)
	}
}
