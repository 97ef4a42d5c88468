package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/store"
)

// The dispatch schedule, the webhook outbox, the attempt log and the settings listing.

func apply(t *testing.T, s store.Store, b store.Batch) {
	t.Helper()
	if err := s.Apply(ctxFor(t), b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func insert(t *testing.T, s store.Store, msgs ...store.Message) {
	t.Helper()
	if err := s.InsertMessages(ctxFor(t), msgs); err != nil {
		t.Fatalf("InsertMessages: %v", err)
	}
}

// scheduled returns textMessage(id, shard) due at next with some network state.
func scheduled(id int64, shard int, next time.Time) store.Message {
	m := textMessage(id, shard)
	m.NextAt = next
	m.State = []byte(fmt.Sprintf(`{"attempt":%d}`, id))
	return m
}

func inbound(id int64, business, peer string, at time.Time) store.Message {
	return store.Message{
		ID: id, Direction: store.Inbound, Business: business, Peer: peer, Type: "text",
		Payload: []byte(`{"text":{"body":"hello"}}`), Status: store.StatusReceived,
		CreatedAt: at, UpdatedAt: at,
	}
}

func ids(msgs []store.Message) []int64 {
	out := []int64{}
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

func hookIDs(hooks []store.Webhook) []int64 {
	out := []int64{}
	for _, w := range hooks {
		out = append(out, w.ID)
	}
	return out
}

func wantIDs(t *testing.T, what string, got, want []int64) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func testMessageNextAtAndState(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	next := base.Add(30 * 24 * time.Hour)
	a := scheduled(1, 2, next)
	a.State = []byte{0, 1, '"', 0xff} // opaque bytes
	b := textMessage(2, 2)            // unscheduled, nil state
	c := textMessage(3, 2)
	c.State = []byte{} // empty reads back as nil
	d := scheduled(4, 3, time.Unix(0, 0))
	insert(t, s, a, b, c, d)
	checkMessage(t, mustGet(t, s, 1), a)
	checkMessage(t, mustGet(t, s, 2), b)
	want := c
	want.State = nil
	checkMessage(t, mustGet(t, s, 3), want)
	checkMessage(t, mustGet(t, s, 4), d) // the epoch is a time, not "unscheduled"

	// UpdateMessageStatus leaves the schedule and the state alone.
	if err := s.UpdateMessageStatus(ctx, 1, store.Outbound, store.StatusSent, base.Add(time.Second)); err != nil {
		t.Fatalf("UpdateMessageStatus: %v", err)
	}
	a.Status, a.UpdatedAt = store.StatusSent, base.Add(time.Second)
	checkMessage(t, mustGet(t, s, 1), a)
}

func testApply(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	old := scheduled(10, 1, base)
	insert(t, s, old)

	at := base.Add(5 * time.Second)
	fresh := scheduled(11, 1, base.Add(time.Second))
	inb := inbound(12, "15550001111", "15551112222", base)
	hooks := []store.Webhook{
		{Business: "15550001111", MessageID: 10, Kind: store.WebhookStatus, Payload: []byte(`{"status":"sent"}`),
			DueAt: at, CreatedAt: at, UpdatedAt: at}, // State empty: pending
		{Business: "15550001111", MessageID: 12, Kind: store.WebhookMessage, Payload: []byte{0, 0xfe},
			State: store.WebhookDelivered, Attempts: 3, DueAt: at.Add(time.Minute), LastError: "earlier: 500",
			CreatedAt: at.Add(-time.Hour), UpdatedAt: at.Add(time.Millisecond)},
		{Business: "15550002222", Kind: store.WebhookError, DueAt: at, CreatedAt: at, UpdatedAt: at}, // nil payload, message 0
	}
	apply(t, s, store.Batch{
		Messages: []store.Message{fresh, inb},
		Transitions: []store.Transition{
			{ID: 10, Status: store.StatusSent, State: []byte(`{"devices":2}`), NextAt: base.Add(time.Hour), At: at},
			// A message inserted by the same batch can be moved on by it.
			{ID: 11, Status: store.StatusFailed, At: at.Add(time.Millisecond)},
		},
		Webhooks: hooks,
	})

	wantOld := old
	wantOld.Status, wantOld.State, wantOld.NextAt, wantOld.UpdatedAt = store.StatusSent, []byte(`{"devices":2}`), base.Add(time.Hour), at
	checkMessage(t, mustGet(t, s, 10), wantOld)
	wantFresh := fresh
	wantFresh.Status, wantFresh.State, wantFresh.NextAt, wantFresh.UpdatedAt = store.StatusFailed, nil, time.Time{}, at.Add(time.Millisecond)
	checkMessage(t, mustGet(t, s, 11), wantFresh)
	checkMessage(t, mustGet(t, s, 12), inb)

	got, err := s.ListWebhooks(ctx, store.WebhookFilter{})
	if err != nil {
		t.Fatalf("ListWebhooks: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("ListWebhooks returned %d webhooks, want 3", len(got))
	}
	slices.Reverse(got) // newest first → batch order
	for i := range hooks {
		want := hooks[i]
		if want.State == "" {
			want.State = store.WebhookPending
		}
		if want.Payload == nil {
			want.Payload = []byte{}
		}
		want.ID = got[i].ID
		checkWebhook(t, got[i], want)
	}
	// Listing by ids: only those (an unknown id is no error), newest first; an empty list is none.
	if byID, err := s.ListWebhooks(ctx, store.WebhookFilter{IDs: []int64{got[2].ID, 999999, got[0].ID}}); err != nil ||
		len(byID) != 2 || byID[0].ID != got[2].ID || byID[1].ID != got[0].ID {
		t.Errorf("ListWebhooks by ids: %v, %v; want ids [%d %d]", hookIDs(byID), err, got[2].ID, got[0].ID)
	}
	if none, err := s.ListWebhooks(ctx, store.WebhookFilter{IDs: []int64{}}); err != nil || len(none) != 0 {
		t.Errorf("ListWebhooks with an empty id list: %v, %v; want none", hookIDs(none), err)
	}
	if !(got[0].ID > 0 && got[0].ID < got[1].ID && got[1].ID < got[2].ID) {
		t.Errorf("webhook ids %v: want positive and increasing in batch order", hookIDs(got))
	}

	// Several transitions of one message in one batch: the last one wins.
	apply(t, s, store.Batch{Transitions: []store.Transition{
		{ID: 10, Status: store.StatusDelivered, State: []byte("x"), NextAt: base.Add(2 * time.Hour), At: at.Add(time.Second)},
		{ID: 10, Status: store.StatusRead, State: []byte("y"), At: at.Add(2 * time.Second)},
	}})
	wantOld.Status, wantOld.State, wantOld.NextAt, wantOld.UpdatedAt = store.StatusRead, []byte("y"), time.Time{}, at.Add(2*time.Second)
	checkMessage(t, mustGet(t, s, 10), wantOld)
	wantCount(t, s, store.Outbound, 2)
	wantCount(t, s, store.Inbound, 1)
}

func checkWebhook(t *testing.T, got, want store.Webhook) {
	t.Helper()
	if got.ID != want.ID || got.Business != want.Business || got.MessageID != want.MessageID || got.Kind != want.Kind ||
		got.State != want.State || got.Attempts != want.Attempts || got.LastError != want.LastError {
		t.Errorf("webhook:\n got id=%d business=%s message=%d kind=%s state=%s attempts=%d last_error=%q\nwant id=%d business=%s message=%d kind=%s state=%s attempts=%d last_error=%q",
			got.ID, got.Business, got.MessageID, got.Kind, got.State, got.Attempts, got.LastError,
			want.ID, want.Business, want.MessageID, want.Kind, want.State, want.Attempts, want.LastError)
	}
	if !bytes.Equal(got.Payload, want.Payload) || got.Payload == nil {
		t.Errorf("webhook %d payload = %#v, want %#v (never nil)", want.ID, got.Payload, want.Payload)
	}
	checkTime(t, fmt.Sprintf("webhook %d DueAt", want.ID), got.DueAt, want.DueAt)
	checkTime(t, fmt.Sprintf("webhook %d CreatedAt", want.ID), got.CreatedAt, want.CreatedAt)
	checkTime(t, fmt.Sprintf("webhook %d UpdatedAt", want.ID), got.UpdatedAt, want.UpdatedAt)
}

func mustGetWebhook(t *testing.T, s store.Store, id int64) store.Webhook {
	t.Helper()
	w, err := s.GetWebhook(ctxFor(t), id)
	if err != nil {
		t.Fatalf("GetWebhook(%d): %v", id, err)
	}
	return w
}

func wantWebhookCount(t *testing.T, s store.Store, state string, want int64) {
	t.Helper()
	n, err := s.CountWebhooks(ctxFor(t), state)
	if err != nil {
		t.Fatalf("CountWebhooks(%q): %v", state, err)
	}
	if n != want {
		t.Errorf("CountWebhooks(%q) = %d, want %d", state, n, want)
	}
}

func testApplyEmpty(t *testing.T, s store.Store) {
	apply(t, s, store.Batch{})
	apply(t, s, store.Batch{Messages: []store.Message{}, Transitions: []store.Transition{}, Webhooks: []store.Webhook{}})
	wantCount(t, s, store.Outbound, 0)
	wantWebhookCount(t, s, store.WebhookPending, 0)
}

func statusHook(msgID int64, due time.Time) store.Webhook {
	return store.Webhook{
		Business: "15550001111", MessageID: msgID, Kind: store.WebhookStatus,
		Payload: []byte(fmt.Sprintf(`{"id":"%d","status":"sent"}`, msgID)), DueAt: due, CreatedAt: due, UpdatedAt: due,
	}
}

func testApplyMissingTransitionWritesNothing(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	old := scheduled(1, 0, base)
	insert(t, s, old)
	for _, missingFirst := range []bool{false, true} {
		trans := []store.Transition{
			{ID: 1, Status: store.StatusSent, State: []byte("moved"), At: base.Add(time.Minute)},
			{ID: 999, Status: store.StatusSent, At: base.Add(time.Minute)},
		}
		if missingFirst {
			slices.Reverse(trans)
		}
		err := s.Apply(ctx, store.Batch{
			Messages:    []store.Message{scheduled(2, 0, base), scheduled(3, 0, base)},
			Transitions: trans,
			Webhooks:    []store.Webhook{statusHook(1, base), statusHook(2, base)},
		})
		wantNotFound(t, fmt.Sprintf("Apply with a transition of a missing message (missing first: %v)", missingFirst), err)
		for _, id := range []int64{2, 3} {
			_, err := s.GetMessage(ctx, id)
			wantNotFound(t, fmt.Sprintf("GetMessage(%d) after a failed Apply", id), err)
		}
		checkMessage(t, mustGet(t, s, 1), old)
		hooks, err := s.ListWebhooks(ctx, store.WebhookFilter{})
		if err != nil {
			t.Fatalf("ListWebhooks: %v", err)
		}
		if len(hooks) != 0 {
			t.Errorf("a failed Apply left %d webhooks", len(hooks))
		}
		wantWebhookCount(t, s, store.WebhookPending, 0)
	}
	// The store still takes batches.
	apply(t, s, store.Batch{Messages: []store.Message{scheduled(2, 0, base)}, Webhooks: []store.Webhook{statusHook(2, base)}})
	checkMessage(t, mustGet(t, s, 2), scheduled(2, 0, base))
	wantWebhookCount(t, s, store.WebhookPending, 1)
}

func testApplyDuplicateMessageWritesNothing(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	old := scheduled(1, 0, base)
	insert(t, s, old)
	err := s.Apply(ctx, store.Batch{
		Messages:    []store.Message{scheduled(2, 0, base), scheduled(1, 5, base.Add(time.Hour))},
		Transitions: []store.Transition{{ID: 1, Status: store.StatusSent, At: base}},
		Webhooks:    []store.Webhook{statusHook(1, base)},
	})
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("Apply with a duplicate message id: error = %v, want store.ErrExists", err)
	}
	_, err = s.GetMessage(ctx, 2)
	wantNotFound(t, "GetMessage(2) after a failed Apply", err)
	checkMessage(t, mustGet(t, s, 1), old)
	wantWebhookCount(t, s, store.WebhookPending, 0)
}

// Batches of the size the dispatcher writes, larger than any prepared chunk.
func testApplyLargeBatch(t *testing.T, s store.Store) {
	const n = 333
	var b store.Batch
	for i := range n {
		id := int64(1 + i)
		b.Messages = append(b.Messages, scheduled(id, i%4, base.Add(time.Duration(i)*time.Millisecond)))
		b.Webhooks = append(b.Webhooks, statusHook(id, base))
	}
	apply(t, s, b)
	var next store.Batch
	for i := range n {
		id := int64(1 + i)
		next.Transitions = append(next.Transitions, store.Transition{ID: id, Status: store.StatusSent,
			State: []byte(fmt.Sprint(i)), NextAt: base.Add(time.Hour + time.Duration(i)*time.Second), At: base.Add(time.Minute)})
		next.Webhooks = append(next.Webhooks, statusHook(id, base.Add(time.Second)))
	}
	apply(t, s, next)
	for i, m := range b.Messages {
		want := m
		want.Status, want.State, want.NextAt, want.UpdatedAt = store.StatusSent, []byte(fmt.Sprint(i)), base.Add(time.Hour+time.Duration(i)*time.Second), base.Add(time.Minute)
		checkMessage(t, mustGet(t, s, m.ID), want)
	}
	wantWebhookCount(t, s, store.WebhookPending, 2*n)
	hooks, err := s.ListWebhooks(ctxFor(t), store.WebhookFilter{Limit: 2 * n})
	if err != nil {
		t.Fatalf("ListWebhooks: %v", err)
	}
	slices.Reverse(hooks)
	for i, w := range hooks {
		if want := int64(i%n + 1); w.MessageID != want {
			t.Fatalf("webhook #%d (id %d) is about message %d, want %d: ids must follow batch order", i, w.ID, w.MessageID, want)
		}
	}
}

func testApplyConcurrent(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const writers, batches, size = 6, 10, 8
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				var batch store.Batch
				for i := range size {
					id := int64(w*batches*size + b*size + i + 1)
					batch.Messages = append(batch.Messages, scheduled(id, w, base))
					batch.Webhooks = append(batch.Webhooks, statusHook(id, base))
				}
				if err := s.Apply(ctx, batch); err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, b, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wantCount(t, s, store.Outbound, writers*batches*size)
	hooks, err := s.ListWebhooks(ctx, store.WebhookFilter{Limit: 1000})
	if err != nil {
		t.Fatalf("ListWebhooks: %v", err)
	}
	seen := map[int64]bool{}
	for _, w := range hooks {
		if seen[w.MessageID] {
			t.Errorf("two webhooks for message %d", w.MessageID)
		}
		seen[w.MessageID] = true
	}
	if len(hooks) != writers*batches*size {
		t.Errorf("%d webhooks, want %d", len(hooks), writers*batches*size)
	}
}

func testDueMessagesAndNextDue(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	due := func(shard int, now time.Time, limit int) []int64 {
		t.Helper()
		msgs, err := s.DueMessages(ctx, shard, now, limit)
		if err != nil {
			t.Fatalf("DueMessages(%d): %v", shard, err)
		}
		if msgs == nil {
			t.Errorf("DueMessages returned nil, want an empty slice")
		}
		return ids(msgs)
	}
	nextDue := func(shard int, wantOK bool, want time.Time) {
		t.Helper()
		got, ok, err := s.NextDue(ctx, shard)
		if err != nil {
			t.Fatalf("NextDue(%d): %v", shard, err)
		}
		if ok != wantOK {
			t.Fatalf("NextDue(%d) ok = %v, want %v", shard, ok, wantOK)
		}
		if ok {
			checkTime(t, fmt.Sprintf("NextDue(%d)", shard), got, want)
		}
	}
	nextDue(1, false, time.Time{})
	wantIDs(t, "DueMessages on an empty store", due(1, base.Add(time.Hour), 10), []int64{})

	t0 := base
	msgs := []store.Message{
		scheduled(1, 1, t0.Add(3*time.Second)),
		scheduled(2, 1, t0.Add(1*time.Second)),
		scheduled(3, 1, t0.Add(2*time.Second)),
		scheduled(4, 1, t0.Add(1*time.Second)), // same time as 2: id breaks the tie
		scheduled(5, 1, t0.Add(time.Hour)),     // not due yet
		textMessage(6, 1),                      // unscheduled
		scheduled(7, 2, t0),                    // another shard
	}
	insert(t, s, msgs...)
	// The stored message comes back whole.
	got, err := s.DueMessages(ctx, 2, t0, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("DueMessages(2) = %v, %v; want message 7", got, err)
	}
	checkMessage(t, got[0], msgs[6])

	now := t0.Add(3 * time.Second) // exactly message 1's time: due (not after now)
	wantIDs(t, "DueMessages(1, now, 10)", due(1, now, 10), []int64{2, 4, 3, 1})
	wantIDs(t, "DueMessages(1, now, 3)", due(1, now, 3), []int64{2, 4, 3})
	wantIDs(t, "DueMessages(1, now-1µs, 10)", due(1, now.Add(-time.Microsecond), 10), []int64{2, 4, 3})
	wantIDs(t, "DueMessages(1, before all, 10)", due(1, t0, 10), []int64{})
	wantIDs(t, "DueMessages(1, now, 0)", due(1, now, 0), []int64{})
	wantIDs(t, "DueMessages(3, now, 10)", due(3, now, 10), []int64{})
	wantIDs(t, "DueMessages(1, far future, 100)", due(1, t0.Add(24*time.Hour), 100), []int64{2, 4, 3, 1, 5})
	nextDue(1, true, t0.Add(time.Second))
	nextDue(2, true, t0)
	nextDue(3, false, time.Time{})

	// Taking messages off the schedule (zero NextAt) and moving one later.
	apply(t, s, store.Batch{Transitions: []store.Transition{
		{ID: 2, Status: store.StatusSent, At: now},
		{ID: 4, Status: store.StatusSent, NextAt: t0.Add(10 * time.Second), At: now},
		{ID: 7, Status: store.StatusFailed, At: now},
	}})
	wantIDs(t, "DueMessages(1) after transitions", due(1, now, 10), []int64{3, 1})
	wantIDs(t, "DueMessages(1, +10s) after transitions", due(1, t0.Add(10*time.Second), 10), []int64{3, 1, 4})
	nextDue(1, true, t0.Add(2*time.Second))
	nextDue(2, false, time.Time{})
}

func testRescheduleHeld(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const peer, other = "15557654321", "15550009999"
	held := base.Add(30 * 24 * time.Hour)
	at := base.Add(time.Minute)
	mk := func(id int64, peer string, dir store.Direction, status string, next time.Time) store.Message {
		m := scheduled(id, 0, next)
		m.Peer, m.Direction, m.Status = peer, dir, status
		return m
	}
	msgs := []store.Message{
		mk(1, peer, store.Outbound, store.StatusSent, held),                     // moved
		mk(2, peer, store.Outbound, store.StatusSent, held.Add(time.Hour)),      // moved
		mk(3, peer, store.Outbound, store.StatusSent, at.Add(-time.Second)),     // already earlier: stays
		mk(4, peer, store.Outbound, store.StatusSent, at),                       // exactly at: stays
		mk(5, peer, store.Outbound, store.StatusDelivered, held),                // other status
		mk(6, peer, store.Inbound, store.StatusSent, held),                      // inbound
		mk(7, other, store.Outbound, store.StatusSent, held),                    // other peer
		mk(8, peer, store.Outbound, store.StatusSent, time.Time{}),              // unscheduled
		mk(9, peer+"0", store.Outbound, store.StatusSent, held),                 // a longer number
		mk(10, peer, store.Outbound, store.StatusAccepted, held.Add(time.Hour)), // other status
	}
	insert(t, s, msgs...)
	n, err := s.RescheduleHeld(ctx, peer, store.StatusSent, at)
	if err != nil {
		t.Fatalf("RescheduleHeld: %v", err)
	}
	if n != 2 {
		t.Errorf("RescheduleHeld = %d, want 2", n)
	}
	for _, m := range msgs {
		want := m
		if m.ID == 1 || m.ID == 2 {
			want.NextAt = at
		}
		checkMessage(t, mustGet(t, s, m.ID), want)
	}
	if n, err := s.RescheduleHeld(ctx, peer, store.StatusSent, at); err != nil || n != 0 {
		t.Errorf("RescheduleHeld again = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.RescheduleHeld(ctx, "nobody", store.StatusSent, at); err != nil || n != 0 {
		t.Errorf("RescheduleHeld(unknown peer) = %d, %v; want 0, nil", n, err)
	}
}

func testLastInbound(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const biz, peer = "15550001111", "15557654321"
	last := func(business, peer string, wantOK bool, want time.Time) {
		t.Helper()
		got, ok, err := s.LastInbound(ctx, business, peer)
		if err != nil {
			t.Fatalf("LastInbound(%s, %s): %v", business, peer, err)
		}
		if ok != wantOK {
			t.Fatalf("LastInbound(%s, %s) ok = %v, want %v", business, peer, ok, wantOK)
		}
		if ok {
			checkTime(t, "LastInbound", got, want)
		}
	}
	last(biz, peer, false, time.Time{})
	out := textMessage(1, 0)
	out.Business, out.Peer, out.CreatedAt = biz, peer, base.Add(time.Hour)
	insert(t, s, out) // outbound messages do not open the window
	last(biz, peer, false, time.Time{})

	t1, t2 := base.Add(time.Minute), base.Add(2*time.Minute)
	insert(t, s,
		inbound(2, biz, peer, t2),
		inbound(3, biz, peer, t1),                            // a larger id with an older time: the time counts
		inbound(4, "15550002222", peer, base.Add(time.Hour)), // another business
		inbound(5, biz, "15550009999", base.Add(time.Hour)),  // another peer
	)
	last(biz, peer, true, t2)
	last("15550002222", peer, true, base.Add(time.Hour))
	last("15550003333", peer, false, time.Time{})
	last(biz, "1555765432", false, time.Time{})
}

func testListMessages(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	list := func(peer string, limit int) []int64 {
		t.Helper()
		msgs, err := s.ListMessages(ctx, peer, limit)
		if err != nil {
			t.Fatalf("ListMessages(%q, %d): %v", peer, limit, err)
		}
		if msgs == nil {
			t.Errorf("ListMessages returned nil, want an empty slice")
		}
		return ids(msgs)
	}
	wantIDs(t, "ListMessages on an empty store", list("", 10), []int64{})
	const peer = "15557654321"
	var msgs []store.Message
	for i := range 6 {
		m := scheduled(int64(10+i), i, base.Add(time.Duration(i)*time.Second))
		if i%2 == 0 {
			m.Peer = peer
		}
		if i == 4 {
			m = inbound(m.ID, "15550001111", peer, m.CreatedAt)
		}
		msgs = append(msgs, m)
	}
	insert(t, s, msgs...)
	got, err := s.ListMessages(ctx, peer, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "ListMessages(peer)", ids(got), []int64{14, 12, 10})
	for i, m := range got {
		checkMessage(t, m, msgs[4-2*i])
	}
	wantIDs(t, "ListMessages(peer, 2)", list(peer, 2), []int64{14, 12})
	wantIDs(t, "ListMessages(all)", list("", 10), []int64{15, 14, 13, 12, 11, 10})
	wantIDs(t, "ListMessages(all, 4)", list("", 4), []int64{15, 14, 13, 12})
	wantIDs(t, "ListMessages(unknown)", list("1", 10), []int64{})

	// limit <= 0 means 100.
	var many []store.Message
	for i := range 120 {
		many = append(many, textMessage(int64(100+i), 0))
	}
	insert(t, s, many...)
	if n := len(list("", 0)); n != 100 {
		t.Errorf("ListMessages(all, 0) returned %d, want 100", n)
	}
}

func testWebhookRoundTrip(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	_, err := s.GetWebhook(ctx, 1)
	wantNotFound(t, "GetWebhook on an empty store", err)
	w := store.Webhook{Business: "15550001111", MessageID: 1 << 62, Kind: store.WebhookMessage,
		Payload: []byte(`{"contact":{"wa_id":"1555"},"message":{"text":{"body":"héllo 👋"}}}`),
		State:   store.WebhookPending, Attempts: 2, DueAt: base.Add(time.Hour), LastError: "dial tcp: refused",
		CreatedAt: base, UpdatedAt: base.Add(time.Second)}
	apply(t, s, store.Batch{Webhooks: []store.Webhook{w}})
	hooks, err := s.ListWebhooks(ctx, store.WebhookFilter{})
	if err != nil || len(hooks) != 1 {
		t.Fatalf("ListWebhooks = %v, %v", hooks, err)
	}
	w.ID = hooks[0].ID
	checkWebhook(t, hooks[0], w)
	checkWebhook(t, mustGetWebhook(t, s, w.ID), w)
	_, err = s.GetWebhook(ctx, w.ID+1)
	wantNotFound(t, "GetWebhook(missing)", err)
}

// addHooks applies the webhooks and returns their ids, in order.
func addHooks(t *testing.T, s store.Store, hooks ...store.Webhook) []int64 {
	t.Helper()
	before, err := s.ListWebhooks(ctxFor(t), store.WebhookFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	apply(t, s, store.Batch{Webhooks: hooks})
	after, err := s.ListWebhooks(ctxFor(t), store.WebhookFilter{Limit: len(hooks)})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(hooks) || (len(before) > 0 && after[len(after)-1].ID <= before[0].ID) {
		t.Fatalf("addHooks: listed %v after %v", hookIDs(after), hookIDs(before))
	}
	out := hookIDs(after)
	slices.Reverse(out)
	return out
}

func due(t *testing.T, s store.Store, now time.Time, limit int) []int64 {
	t.Helper()
	hooks, err := s.DueWebhooks(ctxFor(t), now, limit)
	if err != nil {
		t.Fatalf("DueWebhooks: %v", err)
	}
	if hooks == nil {
		t.Errorf("DueWebhooks returned nil, want an empty slice")
	}
	return hookIDs(hooks)
}

func nextWebhookDue(t *testing.T, s store.Store, wantOK bool, want time.Time) {
	t.Helper()
	got, ok, err := s.NextWebhookDue(ctxFor(t))
	if err != nil {
		t.Fatalf("NextWebhookDue: %v", err)
	}
	if ok != wantOK {
		t.Fatalf("NextWebhookDue ok = %v (%v), want %v", ok, got, wantOK)
	}
	if ok {
		checkTime(t, "NextWebhookDue", got, want)
	}
}

func record(t *testing.T, s store.Store, a store.Attempt, r store.WebhookResult) int64 {
	t.Helper()
	id, err := s.RecordAttempt(ctxFor(t), a, r)
	if err != nil {
		t.Fatalf("RecordAttempt: %v", err)
	}
	return id
}

func recordDelivered(t *testing.T, s store.Store, ids []int64, at time.Time) int64 {
	t.Helper()
	a, r := delivered(ids, at)
	return record(t, s, a, r)
}

func recordFailed(t *testing.T, s store.Store, ids []int64, at, next time.Time, why string) int64 {
	t.Helper()
	a, r := failed(ids, at, next, why)
	return record(t, s, a, r)
}

func delivered(ids []int64, at time.Time) (store.Attempt, store.WebhookResult) {
	return store.Attempt{Business: "15550001111", URL: "https://example.com/hook", Request: []byte(`{}`), Status: 200,
			Response: []byte("ok"), LatencyMS: 12, WebhookIDs: ids, At: at},
		store.WebhookResult{IDs: ids, Delivered: true, At: at}
}

func failed(ids []int64, at, next time.Time, why string) (store.Attempt, store.WebhookResult) {
	return store.Attempt{Business: "15550001111", URL: "https://example.com/hook", Request: []byte(`{}`), Status: 503,
			Response: []byte("busy"), LatencyMS: 40, Error: why, WebhookIDs: ids, At: at},
		store.WebhookResult{IDs: ids, NextDue: next, Error: why, At: at}
}

func testWebhookPerMessageOrder(t *testing.T, s store.Store) {
	t0 := base
	nextWebhookDue(t, s, false, time.Time{})
	wantIDs(t, "DueWebhooks on an empty store", due(t, s, t0, 10), []int64{})

	// Three statuses of message 7, one of message 8, two errors about no message. Message 8's
	// webhook is due first; every other one at t0.
	h := addHooks(t, s,
		statusHook(7, t0), statusHook(7, t0), statusHook(7, t0),
		statusHook(8, t0.Add(-time.Second)),
		statusHook(0, t0), statusHook(0, t0))
	s7a, s7b, s7c, s8, e1, e2 := h[0], h[1], h[2], h[3], h[4], h[5]

	// All three of message 7 are due at once (zero receipt latency): they come together, in
	// id order, for the caller to send in one POST; a limit cuts a message's run after its
	// older webhooks, never before.
	wantIDs(t, "DueWebhooks(t0)", due(t, s, t0, 10), []int64{s8, s7a, s7b, s7c, e1, e2})
	wantIDs(t, "DueWebhooks(t0, limit 2)", due(t, s, t0, 2), []int64{s8, s7a})
	wantIDs(t, "DueWebhooks(t0, limit 3)", due(t, s, t0, 3), []int64{s8, s7a, s7b})
	wantIDs(t, "DueWebhooks(t0-1s)", due(t, s, t0.Add(-time.Second), 10), []int64{s8})
	wantIDs(t, "DueWebhooks(t0-2s)", due(t, s, t0.Add(-2*time.Second), 10), []int64{})
	wantIDs(t, "DueWebhooks(t0, 0)", due(t, s, t0, 0), []int64{})
	nextWebhookDue(t, s, true, t0.Add(-time.Second))
	if sk, ok := s.(store.DueWebhooksSkipper); ok {
		except := func(limit int, skip ...int64) []int64 {
			t.Helper()
			hooks, err := sk.DueWebhooksExcept(ctxFor(t), t0, limit, skip)
			if err != nil {
				t.Fatalf("DueWebhooksExcept: %v", err)
			}
			if hooks == nil {
				t.Errorf("DueWebhooksExcept returned nil, want an empty slice")
			}
			return hookIDs(hooks)
		}
		wantIDs(t, "DueWebhooksExcept(t0, 10)", except(10), []int64{s8, s7a, s7b, s7c, e1, e2})
		wantIDs(t, "DueWebhooksExcept(t0, 2, s8)", except(2, s8), []int64{s7a, s7b})
		// A skipped (in flight) webhook is only left out: the caller, which is sending it,
		// holds back the rest of its message.
		wantIDs(t, "DueWebhooksExcept(t0, 10, s7a, e1)", except(10, s7a, e1), []int64{s8, s7b, s7c, e2})
		wantIDs(t, "DueWebhooksExcept(t0, 10, s7b)", except(10, s7b), []int64{s8, s7a, s7c, e1, e2})
		wantIDs(t, "DueWebhooksExcept(t0, 10, all but 7b and 7c)", except(10, s8, s7a, e1, e2, 999999), []int64{s7b, s7c})
		wantIDs(t, "DueWebhooksExcept(t0, 0, s8)", except(0, s8), []int64{})
	}

	// Delivering the oldest of message 7 alone leaves the other two, due together.
	recordDelivered(t, s, []int64{s7a, s8, e1, e2}, t0)
	wantIDs(t, "DueWebhooks after delivering the head of 7", due(t, s, t0, 10), []int64{s7b, s7c})
	nextWebhookDue(t, s, true, t0)

	// While the older one backs off with a later DueAt, the younger one stays held back
	// although due, and it still is when the older one falls due: it is due earlier, so it
	// would come first in a read.
	retry := t0.Add(time.Minute)
	recordFailed(t, s, []int64{s7b}, t0, retry, "503")
	wantIDs(t, "DueWebhooks while the head of 7 backs off", due(t, s, t0.Add(30*time.Second), 10), []int64{})
	nextWebhookDue(t, s, true, retry) // not t0: s7c is due but cannot be claimed
	wantIDs(t, "DueWebhooks at the retry", due(t, s, retry, 10), []int64{s7b})

	recordDelivered(t, s, []int64{s7b}, retry)
	wantIDs(t, "DueWebhooks after the retry succeeds", due(t, s, retry, 10), []int64{s7c})
	recordDelivered(t, s, []int64{s7c}, retry)
	wantIDs(t, "DueWebhooks with everything delivered", due(t, s, retry.Add(time.Hour), 10), []int64{})
	nextWebhookDue(t, s, false, time.Time{})
}

func testRecordAttempt(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	t0 := base
	h := addHooks(t, s, statusHook(1, t0), statusHook(2, t0), statusHook(3, t0))
	w1, w2, w3 := h[0], h[1], h[2]

	// Not delivered: attempts+1, due later, the error kept.
	retry := t0.Add(30 * time.Second)
	fa := store.Attempt{Business: "15550001111", URL: "https://example.com/hook?x=1", Request: []byte(`{"entry":[1,2]}`),
		Status: 0, Response: nil, LatencyMS: 10000, Error: "context deadline exceeded", WebhookIDs: []int64{w2, w1}, At: t0}
	fr := store.WebhookResult{IDs: []int64{w1, w2}, NextDue: retry, Error: "timeout", At: t0.Add(10 * time.Second)}
	id1 := record(t, s, fa, fr)
	if id1 <= 0 {
		t.Errorf("RecordAttempt id = %d, want > 0", id1)
	}
	if len(fa.WebhookIDs) != 2 || fa.ID != 0 {
		t.Errorf("RecordAttempt changed its argument: %+v", fa)
	}
	for _, id := range []int64{w1, w2} {
		want := statusHook(int64(map[int64]int{w1: 1, w2: 2}[id]), t0)
		want.ID, want.State, want.Attempts, want.DueAt, want.LastError, want.UpdatedAt = id, store.WebhookPending, 1, retry, "timeout", t0.Add(10*time.Second)
		checkWebhook(t, mustGetWebhook(t, s, id), want)
	}
	untouched := statusHook(3, t0)
	untouched.ID, untouched.State = w3, store.WebhookPending
	checkWebhook(t, mustGetWebhook(t, s, w3), untouched)

	// A second failure counts again.
	retry2 := t0.Add(2 * time.Minute)
	id2 := record(t, s, store.Attempt{Business: "15550001111", URL: "https://example.com/hook?x=1", Request: []byte(`{"entry":[2]}`),
		Status: 500, Response: []byte("oops"), LatencyMS: 3, WebhookIDs: []int64{w2}, At: retry},
		store.WebhookResult{IDs: []int64{w2}, NextDue: retry2, Error: "HTTP 500", At: retry})
	if id2 <= id1 {
		t.Errorf("second attempt id %d not after first %d", id2, id1)
	}
	want2 := statusHook(2, t0)
	want2.ID, want2.State, want2.Attempts, want2.DueAt, want2.LastError, want2.UpdatedAt = w2, store.WebhookPending, 2, retry2, "HTTP 500", retry
	checkWebhook(t, mustGetWebhook(t, s, w2), want2)

	// Delivered: state and updated_at only.
	da := store.Attempt{Business: "15550001111", URL: "https://example.com/hook?x=1", Request: []byte(`{"entry":[1,2,3]}`),
		Status: 200, Response: []byte(`{"ok":true}`), LatencyMS: 25, WebhookIDs: []int64{w1, w2, w3}, At: retry2}
	id3 := record(t, s, da, store.WebhookResult{IDs: []int64{w1, w2, w3}, Delivered: true, At: retry2.Add(25 * time.Millisecond)})
	want2.State, want2.UpdatedAt = store.WebhookDelivered, retry2.Add(25*time.Millisecond)
	checkWebhook(t, mustGetWebhook(t, s, w2), want2)
	untouched.State, untouched.UpdatedAt = store.WebhookDelivered, retry2.Add(25*time.Millisecond)
	checkWebhook(t, mustGetWebhook(t, s, w3), untouched)
	wantWebhookCount(t, s, store.WebhookDelivered, 3)
	wantWebhookCount(t, s, store.WebhookPending, 0)

	// An attempt carrying nothing, and one naming a webhook that no longer exists.
	id4 := record(t, s, store.Attempt{Business: "15550002222", URL: "http://127.0.0.1:9/", Error: "connection refused", At: retry2},
		store.WebhookResult{NextDue: retry2, Error: "connection refused", At: retry2})
	id5 := record(t, s, store.Attempt{Business: "15550002222", URL: "http://127.0.0.1:9/", WebhookIDs: []int64{w3 + 100}, At: retry2},
		store.WebhookResult{IDs: []int64{w3 + 100}, Delivered: true, At: retry2})

	// The log, newest first.
	all, err := s.ListAttempts(ctx, 0, 0)
	if err != nil {
		t.Fatalf("ListAttempts: %v", err)
	}
	wantIDs(t, "ListAttempts(0) ids", attemptIDs(all), []int64{id5, id4, id3, id2, id1})
	fa.ID, fa.WebhookIDs = id1, []int64{min(w1, w2), max(w1, w2)}
	da.ID = id3
	checkAttempt(t, all[4], fa)
	checkAttempt(t, all[2], da)
	checkAttempt(t, all[1], store.Attempt{ID: id4, Business: "15550002222", URL: "http://127.0.0.1:9/", Error: "connection refused",
		WebhookIDs: []int64{}, At: retry2})
	wantIDs(t, "attempt 5 webhooks", all[0].WebhookIDs, []int64{w3 + 100})

	byHook, err := s.ListAttempts(ctx, w2, 10)
	if err != nil {
		t.Fatalf("ListAttempts(w2): %v", err)
	}
	wantIDs(t, "ListAttempts(w2) ids", attemptIDs(byHook), []int64{id3, id2, id1})
	checkAttempt(t, byHook[2], fa)
	byHook, err = s.ListAttempts(ctx, w2, 2)
	if err != nil {
		t.Fatalf("ListAttempts(w2, 2): %v", err)
	}
	wantIDs(t, "ListAttempts(w2, 2) ids", attemptIDs(byHook), []int64{id3, id2})
	byHook, err = s.ListAttempts(ctx, w3, 10)
	if err != nil {
		t.Fatalf("ListAttempts(w3): %v", err)
	}
	wantIDs(t, "ListAttempts(w3) ids", attemptIDs(byHook), []int64{id3})
	checkAttempt(t, byHook[0], da)
	byHook, err = s.ListAttempts(ctx, w3+1000, 10)
	if err != nil || byHook == nil || len(byHook) != 0 {
		t.Errorf("ListAttempts(unknown webhook) = %v, %v; want an empty slice", byHook, err)
	}
	all, err = s.ListAttempts(ctx, 0, 2)
	if err != nil {
		t.Fatalf("ListAttempts(0, 2): %v", err)
	}
	wantIDs(t, "ListAttempts(0, 2) ids", attemptIDs(all), []int64{id5, id4})
}

func attemptIDs(as []store.Attempt) []int64 {
	out := []int64{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func checkAttempt(t *testing.T, got, want store.Attempt) {
	t.Helper()
	if got.ID != want.ID || got.Business != want.Business || got.URL != want.URL || got.Status != want.Status ||
		got.LatencyMS != want.LatencyMS || got.Error != want.Error {
		t.Errorf("attempt:\n got %d %s %s %d %dms %q\nwant %d %s %s %d %dms %q", got.ID, got.Business, got.URL, got.Status,
			got.LatencyMS, got.Error, want.ID, want.Business, want.URL, want.Status, want.LatencyMS, want.Error)
	}
	if !bytes.Equal(got.Request, want.Request) || got.Request == nil {
		t.Errorf("attempt %d request = %#v, want %q (never nil)", want.ID, got.Request, want.Request)
	}
	if !bytes.Equal(got.Response, want.Response) || got.Response == nil {
		t.Errorf("attempt %d response = %#v, want %q (never nil)", want.ID, got.Response, want.Response)
	}
	if !slices.Equal(got.WebhookIDs, want.WebhookIDs) || got.WebhookIDs == nil {
		t.Errorf("attempt %d webhooks = %#v, want %v", want.ID, got.WebhookIDs, want.WebhookIDs)
	}
	checkTime(t, fmt.Sprintf("attempt %d At", want.ID), got.At, want.At)
}

func testListWebhooks(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	list := func(f store.WebhookFilter) []int64 {
		t.Helper()
		hooks, err := s.ListWebhooks(ctx, f)
		if err != nil {
			t.Fatalf("ListWebhooks(%+v): %v", f, err)
		}
		if hooks == nil {
			t.Errorf("ListWebhooks returned nil, want an empty slice")
		}
		return hookIDs(hooks)
	}
	wantIDs(t, "ListWebhooks on an empty store", list(store.WebhookFilter{}), []int64{})
	h := addHooks(t, s, statusHook(7, base), statusHook(8, base), statusHook(7, base), statusHook(0, base))
	recordDelivered(t, s, []int64{h[0]}, base)
	wantIDs(t, "ListWebhooks(all)", list(store.WebhookFilter{}), []int64{h[3], h[2], h[1], h[0]})
	wantIDs(t, "ListWebhooks(limit 2)", list(store.WebhookFilter{Limit: 2}), []int64{h[3], h[2]})
	wantIDs(t, "ListWebhooks(pending)", list(store.WebhookFilter{State: store.WebhookPending}), []int64{h[3], h[2], h[1]})
	wantIDs(t, "ListWebhooks(delivered)", list(store.WebhookFilter{State: store.WebhookDelivered}), []int64{h[0]})
	wantIDs(t, "ListWebhooks(message 7)", list(store.WebhookFilter{MessageID: 7}), []int64{h[2], h[0]})
	wantIDs(t, "ListWebhooks(message 7, pending)", list(store.WebhookFilter{MessageID: 7, State: store.WebhookPending}), []int64{h[2]})
	wantIDs(t, "ListWebhooks(message 9)", list(store.WebhookFilter{MessageID: 9}), []int64{})
	wantIDs(t, "ListWebhooks(state nonsense)", list(store.WebhookFilter{State: "nonsense"}), []int64{})

	var many []store.Webhook
	for i := range 120 {
		many = append(many, statusHook(int64(1000+i), base))
	}
	apply(t, s, store.Batch{Webhooks: many})
	if n := len(list(store.WebhookFilter{})); n != 100 {
		t.Errorf("ListWebhooks with no limit returned %d, want the default 100", n)
	}
	if n := len(list(store.WebhookFilter{Limit: 110})); n != 110 {
		t.Errorf("ListWebhooks(limit 110) returned %d", n)
	}
}

func testRedeliver(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	t0 := base
	h := addHooks(t, s, statusHook(7, t0), statusHook(7, t0), statusHook(8, t0))
	w1, w2, w3 := h[0], h[1], h[2]
	recordDelivered(t, s, []int64{w1}, t0)
	recordFailed(t, s, []int64{w2}, t0, t0.Add(time.Hour), "HTTP 502")
	wantIDs(t, "DueWebhooks before Redeliver", due(t, s, t0, 10), []int64{w3})

	if n, err := s.Redeliver(ctx, nil, t0); err != nil || n != 0 {
		t.Errorf("Redeliver(nil) = %d, %v; want 0, nil", n, err)
	}
	at := t0.Add(time.Second)
	n, err := s.Redeliver(ctx, []int64{w1, w3 + 1000, w1}, at)
	if err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	if n != 1 {
		t.Errorf("Redeliver(delivered, missing, duplicate) = %d, want 1", n)
	}
	want := statusHook(7, t0)
	want.ID, want.State, want.DueAt = w1, store.WebhookPending, at // attempts, error, updated_at unchanged
	checkWebhook(t, mustGetWebhook(t, s, w1), want)
	// The redelivered webhook is the oldest pending one of message 7 again, so it goes first.
	wantIDs(t, "DueWebhooks after Redeliver", due(t, s, at, 10), []int64{w3, w1})
	nextWebhookDue(t, s, true, t0)

	// Redelivering a pending webhook moves its due time.
	if n, err := s.Redeliver(ctx, []int64{w2, w3}, at); err != nil || n != 2 {
		t.Errorf("Redeliver(pending) = %d, %v; want 2, nil", n, err)
	}
	want2 := statusHook(7, t0)
	want2.ID, want2.State, want2.Attempts, want2.DueAt, want2.LastError = w2, store.WebhookPending, 1, at, "HTTP 502"
	checkWebhook(t, mustGetWebhook(t, s, w2), want2)
	// w2 is now due with w1, the older webhook of its message, so it comes right after it.
	wantIDs(t, "DueWebhooks after the second Redeliver", due(t, s, at, 10), []int64{w1, w2, w3})
}

func testRescheduleWebhooks(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	at := base.Add(time.Minute)
	h := addHooks(t, s,
		statusHook(1, base.Add(time.Hour)),   // later: moved
		statusHook(2, base.Add(time.Second)), // earlier: stays
		statusHook(3, at),                    // exactly at: stays
		statusHook(4, base.Add(2*time.Hour)), // delivered below: stays
		statusHook(5, base.Add(3*time.Hour)), // later: moved
	)
	recordDelivered(t, s, []int64{h[3]}, base)
	n, err := s.RescheduleWebhooks(ctx, at)
	if err != nil {
		t.Fatalf("RescheduleWebhooks: %v", err)
	}
	if n != 2 {
		t.Errorf("RescheduleWebhooks = %d, want 2", n)
	}
	wantDue := []time.Time{at, base.Add(time.Second), at, base.Add(2 * time.Hour), at}
	for i, id := range h {
		checkTime(t, fmt.Sprintf("webhook %d DueAt", id), mustGetWebhook(t, s, id).DueAt, wantDue[i])
	}
	if n, err := s.RescheduleWebhooks(ctx, at); err != nil || n != 0 {
		t.Errorf("RescheduleWebhooks again = %d, %v; want 0, nil", n, err)
	}
}

func testCountWebhooks(t *testing.T, s store.Store) {
	wantWebhookCount(t, s, store.WebhookPending, 0)
	wantWebhookCount(t, s, store.WebhookDelivered, 0)
	h := addHooks(t, s, statusHook(1, base), statusHook(2, base), statusHook(3, base))
	wantWebhookCount(t, s, store.WebhookPending, 3)
	recordDelivered(t, s, h[:2], base)
	wantWebhookCount(t, s, store.WebhookPending, 1)
	wantWebhookCount(t, s, store.WebhookDelivered, 2)
	wantWebhookCount(t, s, "", 0)
}

func testResetTraffic(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	usr := user("admin", store.RoleAdmin, base)
	if err := s.CreateUser(ctx, usr); err != nil {
		t.Fatal(err)
	}
	tok := token(1, "admin")
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSetting(ctx, "webhook", []byte(`{"url":"x"}`)); err != nil {
		t.Fatal(err)
	}
	insert(t, s, scheduled(1, 0, base), inbound(2, "15550001111", "15557654321", base))
	h := addHooks(t, s, statusHook(1, base), statusHook(2, base))
	recordDelivered(t, s, h, base)

	if err := s.ResetTraffic(ctx); err != nil {
		t.Fatalf("ResetTraffic: %v", err)
	}
	wantCount(t, s, store.Outbound, 0)
	wantCount(t, s, store.Inbound, 0)
	_, err := s.GetMessage(ctx, 1)
	wantNotFound(t, "GetMessage after ResetTraffic", err)
	wantWebhookCount(t, s, store.WebhookPending, 0)
	wantWebhookCount(t, s, store.WebhookDelivered, 0)
	_, err = s.GetWebhook(ctx, h[0])
	wantNotFound(t, "GetWebhook after ResetTraffic", err)
	if as, err := s.ListAttempts(ctx, 0, 10); err != nil || len(as) != 0 {
		t.Errorf("ListAttempts after ResetTraffic = %v, %v; want none", as, err)
	}
	if _, ok, err := s.LastInbound(ctx, "15550001111", "15557654321"); err != nil || ok {
		t.Errorf("LastInbound after ResetTraffic: ok=%v err=%v, want false", ok, err)
	}
	nextWebhookDue(t, s, false, time.Time{})
	// Users, tokens and settings stay.
	checkUser(t, mustGetUser(t, s, "admin"), usr)
	checkToken(t, mustGetToken(t, s, tok.Hash), tok)
	if v, err := s.GetSetting(ctx, "webhook"); err != nil || string(v) != `{"url":"x"}` {
		t.Errorf("setting after ResetTraffic = %q, %v", v, err)
	}
	// The store works as before, and ids are not reused.
	insert(t, s, scheduled(1, 0, base))
	h2 := addHooks(t, s, statusHook(1, base))
	if h2[0] <= h[1] {
		t.Errorf("webhook id after ResetTraffic = %d, want > %d (ids are never reused)", h2[0], h[1])
	}
	id := recordDelivered(t, s, h2, base)
	if as, err := s.ListAttempts(ctx, 0, 10); err != nil || len(as) != 1 || as[0].ID != id {
		t.Errorf("ListAttempts after reset and one attempt = %v, %v", as, err)
	}
}

func testDeleteSetting(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	for _, k := range []string{"a", "b"} {
		if err := s.PutSetting(ctx, k, []byte(`"`+k+`"`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteSetting(ctx, "a"); err != nil {
		t.Fatalf("DeleteSetting: %v", err)
	}
	_, err := s.GetSetting(ctx, "a")
	wantNotFound(t, "GetSetting after DeleteSetting", err)
	if v, err := s.GetSetting(ctx, "b"); err != nil || string(v) != `"b"` {
		t.Errorf("GetSetting(b) = %q, %v", v, err)
	}
	if err := s.DeleteSetting(ctx, "a"); err != nil {
		t.Errorf("DeleteSetting(missing) = %v, want nil", err)
	}
	if err := s.PutSetting(ctx, "a", []byte(`2`)); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetSetting(ctx, "a"); err != nil || string(v) != `2` {
		t.Errorf("GetSetting(a) after re-put = %q, %v", v, err)
	}
}

func testListSettings(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	got, err := s.ListSettings(ctx, "")
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("ListSettings on an empty store = %#v, %v; want an empty map", got, err)
	}
	all := map[string][]byte{
		"a%b_":                []byte(`1`),
		"a%b_1":               []byte(`2`),
		"a%b_2":               {},
		"a%bx":                []byte(`4`), // LIKE 'a%b_%' would match these three
		"axbc":                []byte(`5`),
		"axb_zz":              []byte(`6`),
		"A%b_1":               []byte(`7`), // case matters
		"a%b":                 []byte(`8`), // shorter than the prefix
		"a%b`":                []byte(`9`), // '`' follows '_' in byte order
		"a%b^":                []byte(`10`),
		"webhook.":            []byte(`11`),
		"webhook.15550001111": []byte(`12`),
		"webhooks":            []byte(`13`),
		"é1":                  []byte(`14`),
		"éé":                  []byte(`15`),
		"ê":                   []byte(`16`), // the byte after é's last byte
		"e":                   []byte(`17`),
	}
	for k, v := range all {
		if err := s.PutSetting(ctx, k, v); err != nil {
			t.Fatalf("PutSetting(%q): %v", k, err)
		}
	}
	pick := func(keys ...string) map[string][]byte {
		m := map[string][]byte{}
		for _, k := range keys {
			m[k] = all[k]
		}
		return m
	}
	cases := []struct {
		prefix string
		want   map[string][]byte
	}{
		{"a%b_", pick("a%b_", "a%b_1", "a%b_2")},
		{"a%b_1", pick("a%b_1")},
		{"a%", pick("a%b_", "a%b_1", "a%b_2", "a%bx", "a%b", "a%b`", "a%b^")},
		{"_", pick()},
		{"%", pick()},
		{"webhook.", pick("webhook.", "webhook.15550001111")},
		{"é", pick("é1", "éé")},
		{"", all},
		{"zzz", pick()},
	}
	for _, tc := range cases {
		got, err := s.ListSettings(ctx, tc.prefix)
		if err != nil {
			t.Fatalf("ListSettings(%q): %v", tc.prefix, err)
		}
		if !maps.EqualFunc(got, tc.want, bytes.Equal) {
			t.Errorf("ListSettings(%q) keys = %q, want %q", tc.prefix, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(tc.want)))
		}
		if got == nil {
			t.Errorf("ListSettings(%q) = nil, want a map", tc.prefix)
		}
		for k, v := range got {
			if v == nil {
				t.Errorf("ListSettings(%q)[%q] = nil, want a non-nil value", tc.prefix, k)
			}
		}
	}
	if err := s.DeleteSetting(ctx, "a%b_1"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ListSettings(ctx, "a%b_"); err != nil || !maps.EqualFunc(got, pick("a%b_", "a%b_2"), bytes.Equal) {
		t.Errorf("ListSettings after DeleteSetting = %q, %v", slices.Sorted(maps.Keys(got)), err)
	}
}
