package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/store"
)

func syncTestMessage(id int64, now time.Time) store.Message {
	return store.Message{ID: id, Direction: store.Outbound, Business: "15550001111", Peer: "15551234567",
		Type: "text", Payload: []byte(`{}`), Status: store.StatusAccepted, NextAt: now, CreatedAt: now, UpdatedAt: now}
}

// TestWriterAnswersAfterSync holds the syncer's fsync and checks that a committed write is not
// answered, and a webhook it created not handed to the outbox reader, until the WAL is synced:
// "accepted" and "POSTed" both mean durable, although the commit itself no longer fsyncs.
func TestWriterAnswersAfterSync(t *testing.T) {
	s := openTB(t, filepath.Join(t.TempDir(), "waba.db"))
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.InsertMessages(ctx, []store.Message{syncTestMessage(1, now)}); err != nil {
		t.Fatal(err)
	}
	held := make(chan struct{}, 16)
	release := make(chan struct{})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	t.Cleanup(let) // a failing test must not leave the store's Close waiting on the held fsync
	s.sync.mu.Lock()
	s.sync.beforeSync = func() error {
		held <- struct{}{}
		<-release
		return nil
	}
	s.sync.mu.Unlock()
	syncsBefore, _ := s.sync.stats()

	applied := make(chan error, 1)
	go func() {
		applied <- s.Apply(ctx, store.Batch{
			Messages: []store.Message{syncTestMessage(2, now)},
			Webhooks: []store.Webhook{{Business: "15550001111", MessageID: 2, Kind: store.WebhookStatus, Payload: []byte(`{}`),
				State: store.WebhookPending, DueAt: now, CreatedAt: now, UpdatedAt: now}},
		})
	}()
	<-held // the transaction committed and its fsync is under way

	if _, err := s.GetMessage(ctx, 2); err != nil {
		t.Fatalf("a reader sees the committed row: %v", err)
	}
	read := make(chan []store.Webhook, 1)
	go func() {
		hooks, err := s.DueWebhooks(ctx, now, 10)
		if err != nil {
			t.Error(err)
		}
		read <- hooks
	}()
	select {
	case err := <-applied:
		t.Fatalf("Apply answered (%v) before its transaction was synced", err)
	case hooks := <-read:
		t.Fatalf("DueWebhooks returned %d webhooks before they were synced", len(hooks))
	case <-time.After(300 * time.Millisecond):
	}

	let()
	if err := <-applied; err != nil {
		t.Fatalf("Apply after the sync: %v", err)
	}
	if hooks := <-read; len(hooks) != 1 || hooks[0].MessageID != 2 {
		t.Fatalf("DueWebhooks after the sync = %+v, want the webhook of message 2", hooks)
	}
	if syncs, _ := s.sync.stats(); syncs <= syncsBefore {
		t.Fatalf("fsyncs %d → %d: the answer came without one", syncsBefore, syncs)
	}
	st := s.WriterStats()
	if st.Syncs < 2 || st.Sync <= 0 {
		t.Fatalf("writer stats: %+v", st)
	}
}

// TestSyncFailureIsSticky: after a failed fsync the waiting write gets the error, and every
// later write and outbox read fails too, since what the WAL holds on disk is unknown.
func TestSyncFailureIsSticky(t *testing.T) {
	s := openTB(t, filepath.Join(t.TempDir(), "waba.db"))
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	disk := errors.New("EIO from the test")
	s.sync.mu.Lock()
	s.sync.beforeSync = func() error { return disk }
	s.sync.mu.Unlock()

	err := s.InsertMessages(ctx, []store.Message{syncTestMessage(1, now)})
	if !errors.Is(err, disk) || !strings.Contains(err.Error(), "could not be synced to disk") {
		t.Fatalf("InsertMessages with a failing fsync: %v", err)
	}
	if err := s.PutSetting(ctx, "k", []byte("v")); !errors.Is(err, disk) {
		t.Fatalf("a later write: %v, want the sync error", err)
	}
	if _, err := s.DueWebhooks(ctx, now, 10); err != nil {
		t.Fatalf("an empty outbox read needs no sync: %v", err)
	}
	if err := s.sync.waitDurable(); !errors.Is(err, disk) {
		t.Fatalf("waitDurable: %v", err)
	}
}

// TestAnswerAfterTheLoopSynced: the syncer loop is woken by the commit itself, so it can sync a
// transaction before the writer hands over that transaction's callers. Those callers must then
// be answered at once; they once waited forever (a media upload hung a CI run).
func TestAnswerAfterTheLoopSynced(t *testing.T) {
	s := openTB(t, filepath.Join(t.TempDir(), "waba.db"))
	ctx := t.Context()
	s.w.afterCommit = func() {
		// Hold the hand-over until the loop has synced this commit.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			s.sync.mu.Lock()
			caughtUp := s.sync.synced >= s.sync.done
			s.sync.mu.Unlock()
			if caughtUp {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	done := make(chan error, 1)
	go func() { done <- s.PutSetting(ctx, "k", []byte("v")) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("PutSetting was never answered although its transaction was synced")
	}
	if v, err := s.GetSetting(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("GetSetting = %q, %v; want the answered write", v, err)
	}
}
