// Package storetest is the conformance suite every store driver passes. A driver's tests call
// Run with a function that opens a fresh, empty, migrated store; every subtest opens its own.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/store"
)

// Run runs the conformance suite. open must return a new store on an empty database of its
// own and arrange (with t.Cleanup) for it to be closed when t ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"PingAndMigrateTwice", testPingAndMigrateTwice},
		{"InsertMessagesThenGet", testInsertMessagesThenGet},
		{"InsertMessagesEmptyBatch", testInsertMessagesEmptyBatch},
		{"InsertMessagesLargeBatch", testInsertMessagesLargeBatch},
		{"InsertMessagesDuplicateStoresNone", testInsertMessagesDuplicateStoresNone},
		{"GetMessageMissing", testGetMessageMissing},
		{"UpdateMessageStatus", testUpdateMessageStatus},
		{"CountMessages", testCountMessages},
		{"InsertMessagesConcurrent", testInsertMessagesConcurrent},
		{"Users", testUsers},
		{"UsersErrors", testUsersErrors},
		{"ListUsersOrder", testListUsersOrder},
		{"Tokens", testTokens},
		{"DeleteUserDeletesTokens", testDeleteUserDeletesTokens},
		{"Settings", testSettings},

		{"MessageNextAtAndState", testMessageNextAtAndState},
		{"Apply", testApply},
		{"ApplyEmpty", testApplyEmpty},
		{"ApplyMissingTransitionWritesNothing", testApplyMissingTransitionWritesNothing},
		{"ApplyDuplicateMessageWritesNothing", testApplyDuplicateMessageWritesNothing},
		{"ApplyLargeBatch", testApplyLargeBatch},
		{"ApplyConcurrent", testApplyConcurrent},
		{"DueMessagesAndNextDue", testDueMessagesAndNextDue},
		{"RescheduleHeld", testRescheduleHeld},
		{"LastInbound", testLastInbound},
		{"ListMessages", testListMessages},
		{"WebhookRoundTrip", testWebhookRoundTrip},
		{"WebhookPerMessageOrder", testWebhookPerMessageOrder},
		{"RecordAttempt", testRecordAttempt},
		{"ListWebhooks", testListWebhooks},
		{"Redeliver", testRedeliver},
		{"RescheduleWebhooks", testRescheduleWebhooks},
		{"CountWebhooks", testCountWebhooks},
		{"ResetTraffic", testResetTraffic},
		{"DeleteSetting", testDeleteSetting},
		{"ListSettings", testListSettings},

		{"MediaRoundTrip", testMediaRoundTrip},
		{"MediaLarge", testMediaLarge},
		{"MediaEmpty", testMediaEmpty},
		{"MediaDelete", testMediaDelete},
		{"MediaExpiry", testMediaExpiry},
		{"MediaNotFound", testMediaNotFound},
		{"MediaDuplicateID", testMediaDuplicateID},
		{"MediaFailedBodyStoresNothing", testMediaFailedBodyStoresNothing},
		{"MediaInvalidID", testMediaInvalidID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t))
		})
	}
}

// base is a time with sub-microsecond digits in a zone other than UTC: drivers must hand back
// the same instant, in UTC, to at least the millisecond.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("IST", 5*3600+1800))

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// textMessage returns a realistic outbound text message.
func textMessage(id int64, shard int) store.Message {
	peer := fmt.Sprintf("1555%07d", id%10000000)
	return store.Message{
		ID:        id,
		Direction: store.Outbound,
		Business:  "15550001111",
		Peer:      peer,
		Type:      "text",
		Payload:   []byte(`{"to":"` + peer + `","type":"text","text":{"body":"Your order #` + fmt.Sprint(id) + ` has shipped"}}`),
		Status:    store.StatusAccepted,
		Shard:     shard,
		CreatedAt: base.Add(time.Duration(id) * time.Millisecond),
		UpdatedAt: base.Add(time.Duration(id) * time.Millisecond),
	}
}

func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !sameTime(got, want) {
		t.Errorf("%s = %v, want %v (to the millisecond)", what, got, want.UTC())
	}
	if got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
}

func checkMessage(t *testing.T, got, want store.Message) {
	t.Helper()
	if got.ID != want.ID || got.Direction != want.Direction || got.Business != want.Business ||
		got.Peer != want.Peer || got.Type != want.Type || got.Status != want.Status || got.Shard != want.Shard {
		row := func(m store.Message) string {
			return fmt.Sprintf("id=%d dir=%s business=%s peer=%s type=%s status=%s shard=%d",
				m.ID, m.Direction, m.Business, m.Peer, m.Type, m.Status, m.Shard)
		}
		t.Errorf("message %d:\n got %s\nwant %s", want.ID, row(got), row(want))
	}
	if !bytes.Equal(got.Payload, want.Payload) {
		t.Errorf("message %d payload = %q, want %q", want.ID, got.Payload, want.Payload)
	}
	if !bytes.Equal(got.State, want.State) {
		t.Errorf("message %d state = %q, want %q", want.ID, got.State, want.State)
	}
	if len(got.State) == 0 && got.State != nil {
		t.Errorf("message %d: empty state came back as %#v, want nil", want.ID, got.State)
	}
	if want.NextAt.IsZero() {
		if !got.NextAt.IsZero() {
			t.Errorf("message %d NextAt = %v, want zero (unscheduled)", want.ID, got.NextAt)
		}
	} else {
		checkTime(t, fmt.Sprintf("message %d NextAt", want.ID), got.NextAt, want.NextAt)
	}
	checkTime(t, fmt.Sprintf("message %d CreatedAt", want.ID), got.CreatedAt, want.CreatedAt)
	checkTime(t, fmt.Sprintf("message %d UpdatedAt", want.ID), got.UpdatedAt, want.UpdatedAt)
}

func mustGet(t *testing.T, s store.Store, id int64) store.Message {
	t.Helper()
	m, err := s.GetMessage(ctxFor(t), id)
	if err != nil {
		t.Fatalf("GetMessage(%d): %v", id, err)
	}
	return m
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: error = %v, want store.ErrNotFound", what, err)
	}
}

func wantCount(t *testing.T, s store.Store, dir store.Direction, want int64) {
	t.Helper()
	n, err := s.CountMessages(ctxFor(t), dir)
	if err != nil {
		t.Fatalf("CountMessages(%s): %v", dir, err)
	}
	if n != want {
		t.Errorf("CountMessages(%s) = %d, want %d", dir, n, want)
	}
}

func testPingAndMigrateTwice(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	m := textMessage(1, 3)
	if err := s.InsertMessages(ctx, []store.Message{m}); err != nil {
		t.Fatalf("InsertMessages: %v", err)
	}
	// Open has migrated already; two more runs change nothing and lose nothing.
	for i := range 2 {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	checkMessage(t, mustGet(t, s, 1), m)
	wantCount(t, s, store.Outbound, 1)
}

func testInsertMessagesThenGet(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	huge := int64(1)<<62 | 12345 // ids are 63-bit: ms<<22 | node<<14 | seq
	msgs := []store.Message{
		textMessage(huge, 0),
		{
			ID:        huge + 1,
			Direction: store.Inbound,
			Business:  "15550001111",
			Peer:      "447700900123",
			Type:      "image",
			Payload:   []byte{0, 1, 2, 0xff, 0xfe, '\'', '"', '\\', 0}, // not UTF-8, has NULs
			Status:    store.StatusReceived,
			Shard:     31,
			CreatedAt: time.Date(2030, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
			UpdatedAt: base,
		},
		{
			ID:        7,
			Direction: store.Outbound,
			Business:  "15550002222",
			Peer:      "5511987654321",
			Type:      "template",
			Payload:   []byte(`{"name":"héllo ✓ 👋","language":{"code":"pt_BR"}}`),
			Status:    store.StatusFailed,
			Shard:     1023,
			CreatedAt: time.Unix(0, 0),
			UpdatedAt: time.Unix(1700000000, 123_000_000).In(time.FixedZone("PST", -8*3600)),
		},
		{
			ID:        8,
			Direction: store.Outbound,
			Business:  "15550002222",
			Peer:      "5511987654321",
			Type:      "text",
			Payload:   []byte{}, // empty, not NULL
			Status:    store.StatusSent,
			Shard:     0,
			CreatedAt: base,
			UpdatedAt: base.Add(time.Hour),
		},
	}
	if err := s.InsertMessages(ctx, msgs); err != nil {
		t.Fatalf("InsertMessages: %v", err)
	}
	for _, want := range msgs {
		checkMessage(t, mustGet(t, s, want.ID), want)
	}
	if got := mustGet(t, s, 8); got.Payload == nil {
		t.Errorf("empty payload came back nil, want empty non-nil slice")
	}
	wantCount(t, s, store.Outbound, 3)
	wantCount(t, s, store.Inbound, 1)
}

func testInsertMessagesEmptyBatch(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	if err := s.InsertMessages(ctx, nil); err != nil {
		t.Fatalf("InsertMessages(nil): %v", err)
	}
	if err := s.InsertMessages(ctx, []store.Message{}); err != nil {
		t.Fatalf("InsertMessages(empty): %v", err)
	}
	wantCount(t, s, store.Outbound, 0)
	wantCount(t, s, store.Inbound, 0)
}

// A batch larger than any one statement a driver is likely to prepare, of an odd size.
func testInsertMessagesLargeBatch(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const n = 1237
	msgs := make([]store.Message, n)
	for i := range msgs {
		msgs[i] = textMessage(int64(1000+i), i%32)
		if i%3 == 0 {
			msgs[i].Direction = store.Inbound
			msgs[i].Status = store.StatusReceived
		}
	}
	if err := s.InsertMessages(ctx, msgs); err != nil {
		t.Fatalf("InsertMessages(%d): %v", n, err)
	}
	for _, want := range msgs {
		checkMessage(t, mustGet(t, s, want.ID), want)
	}
	wantCount(t, s, store.Inbound, (n+2)/3)
	wantCount(t, s, store.Outbound, n-(n+2)/3)
}

func testInsertMessagesDuplicateStoresNone(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	first := textMessage(100, 5)
	if err := s.InsertMessages(ctx, []store.Message{first}); err != nil {
		t.Fatalf("InsertMessages: %v", err)
	}

	cases := []struct {
		name  string
		batch []store.Message
	}{
		{"duplicate of a stored row in the middle", func() []store.Message {
			dup := textMessage(100, 9)
			dup.Payload = []byte(`{"other":true}`)
			return []store.Message{textMessage(101, 1), textMessage(102, 2), dup, textMessage(103, 3)}
		}()},
		{"duplicate of a stored row at the end of a long batch", func() []store.Message {
			var b []store.Message
			for i := range 200 {
				b = append(b, textMessage(int64(200+i), i))
			}
			return append(b, textMessage(100, 0))
		}()},
		{"duplicate within the batch", []store.Message{textMessage(104, 4), textMessage(105, 5), textMessage(104, 4)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.InsertMessages(ctx, tc.batch)
			if err == nil {
				t.Fatal("InsertMessages with a duplicate id succeeded, want an error")
			}
			if !errors.Is(err, store.ErrExists) {
				t.Errorf("error = %v, want store.ErrExists", err)
			}
			for _, m := range tc.batch {
				if m.ID == first.ID {
					continue
				}
				_, err := s.GetMessage(ctx, m.ID)
				wantNotFound(t, fmt.Sprintf("GetMessage(%d) after failed batch", m.ID), err)
			}
			checkMessage(t, mustGet(t, s, first.ID), first)
			wantCount(t, s, store.Outbound, 1)
		})
	}
	// The store still takes writes after the failed transactions.
	next := textMessage(101, 1)
	if err := s.InsertMessages(ctx, []store.Message{next}); err != nil {
		t.Fatalf("InsertMessages after failures: %v", err)
	}
	checkMessage(t, mustGet(t, s, 101), next)
}

func testGetMessageMissing(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	_, err := s.GetMessage(ctx, 42)
	wantNotFound(t, "GetMessage(42) on an empty store", err)
	if err := s.InsertMessages(ctx, []store.Message{textMessage(41, 0), textMessage(43, 0)}); err != nil {
		t.Fatalf("InsertMessages: %v", err)
	}
	_, err = s.GetMessage(ctx, 42)
	wantNotFound(t, "GetMessage(42) between stored ids", err)
}

func testUpdateMessageStatus(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	out := textMessage(10, 2)
	in := textMessage(11, 3)
	in.Direction, in.Status = store.Inbound, store.StatusReceived
	if err := s.InsertMessages(ctx, []store.Message{out, in}); err != nil {
		t.Fatalf("InsertMessages: %v", err)
	}

	at := base.Add(90*time.Second + 250*time.Millisecond)
	if err := s.UpdateMessageStatus(ctx, out.ID, store.Outbound, store.StatusDelivered, at); err != nil {
		t.Fatalf("UpdateMessageStatus(out, delivered): %v", err)
	}
	want := out
	want.Status, want.UpdatedAt = store.StatusDelivered, at
	checkMessage(t, mustGet(t, s, out.ID), want)

	// The wrong direction is not found and changes nothing.
	err := s.UpdateMessageStatus(ctx, out.ID, store.Inbound, store.StatusRead, at.Add(time.Second))
	wantNotFound(t, "UpdateMessageStatus(outbound id, Inbound)", err)
	checkMessage(t, mustGet(t, s, out.ID), want)

	err = s.UpdateMessageStatus(ctx, in.ID, store.Outbound, store.StatusRead, at.Add(time.Second))
	wantNotFound(t, "UpdateMessageStatus(inbound id, Outbound)", err)
	checkMessage(t, mustGet(t, s, in.ID), in)

	if err := s.UpdateMessageStatus(ctx, in.ID, store.Inbound, store.StatusRead, at.Add(2*time.Second)); err != nil {
		t.Fatalf("UpdateMessageStatus(in, read): %v", err)
	}
	wantIn := in
	wantIn.Status, wantIn.UpdatedAt = store.StatusRead, at.Add(2*time.Second)
	checkMessage(t, mustGet(t, s, in.ID), wantIn)

	err = s.UpdateMessageStatus(ctx, 999, store.Outbound, store.StatusSent, at)
	wantNotFound(t, "UpdateMessageStatus(missing id)", err)

	// Setting the same status again is still an update of an existing row.
	if err := s.UpdateMessageStatus(ctx, out.ID, store.Outbound, store.StatusDelivered, at); err != nil {
		t.Errorf("UpdateMessageStatus with an unchanged status: %v", err)
	}
}

func testCountMessages(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	wantCount(t, s, store.Outbound, 0)
	wantCount(t, s, store.Inbound, 0)
	var batch []store.Message
	for i := range 5 {
		m := textMessage(int64(i+1), i)
		if i >= 3 {
			m.Direction, m.Status = store.Inbound, store.StatusReceived
		}
		batch = append(batch, m)
	}
	if err := s.InsertMessages(ctx, batch); err != nil {
		t.Fatalf("InsertMessages: %v", err)
	}
	wantCount(t, s, store.Outbound, 3)
	wantCount(t, s, store.Inbound, 2)
	// Status changes do not move messages between directions.
	if err := s.UpdateMessageStatus(ctx, 1, store.Outbound, store.StatusFailed, base); err != nil {
		t.Fatalf("UpdateMessageStatus: %v", err)
	}
	wantCount(t, s, store.Outbound, 3)
	wantCount(t, s, store.Direction("sideways"), 0)
}

func testInsertMessagesConcurrent(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const writers, batches, size = 8, 20, 16
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				batch := make([]store.Message, size)
				for i := range batch {
					id := int64(w*batches*size + b*size + i + 1)
					batch[i] = textMessage(id, w)
				}
				if err := s.InsertMessages(ctx, batch); err != nil {
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
	for id := int64(1); id <= writers*batches*size; id++ {
		w := int((id - 1) / (batches * size))
		checkMessage(t, mustGet(t, s, id), textMessage(id, w))
	}
}

func user(name string, role store.Role, at time.Time) store.User {
	return store.User{
		Username:           name,
		PasswordHash:       "$2a$10$" + name + "NZ5t0Qs1hO1zGQrWd3Q7uQdVqBUzLr7e1M6w5nCq",
		Role:               role,
		MustChangePassword: role == store.RoleAdmin,
		CreatedAt:          at,
		UpdatedAt:          at.Add(time.Minute),
	}
}

func checkUser(t *testing.T, got, want store.User) {
	t.Helper()
	if got.Username != want.Username || got.PasswordHash != want.PasswordHash || got.Role != want.Role ||
		got.MustChangePassword != want.MustChangePassword {
		t.Errorf("user:\n got %q %q %q %v\nwant %q %q %q %v",
			got.Username, got.PasswordHash, got.Role, got.MustChangePassword,
			want.Username, want.PasswordHash, want.Role, want.MustChangePassword)
	}
	checkTime(t, "user "+want.Username+" CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "user "+want.Username+" UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func mustGetUser(t *testing.T, s store.Store, name string) store.User {
	t.Helper()
	u, err := s.GetUser(ctxFor(t), name)
	if err != nil {
		t.Fatalf("GetUser(%q): %v", name, err)
	}
	return u
}

func testUsers(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	admin := user("admin", store.RoleAdmin, base)
	alice := user("alice", store.RoleUser, base.Add(time.Hour))
	for _, u := range []store.User{admin, alice} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%q): %v", u.Username, err)
		}
	}
	checkUser(t, mustGetUser(t, s, "admin"), admin)
	checkUser(t, mustGetUser(t, s, "alice"), alice)

	at := base.Add(48*time.Hour + 777*time.Millisecond)
	if err := s.UpdatePassword(ctx, "admin", "$2a$10$newhash", false, at); err != nil {
		t.Fatalf("UpdatePassword: %v", err)
	}
	want := admin
	want.PasswordHash, want.MustChangePassword, want.UpdatedAt = "$2a$10$newhash", false, at
	checkUser(t, mustGetUser(t, s, "admin"), want)
	checkUser(t, mustGetUser(t, s, "alice"), alice) // untouched

	if err := s.UpdatePassword(ctx, "alice", "$2a$10$reset", true, at); err != nil {
		t.Fatalf("UpdatePassword: %v", err)
	}
	wantAlice := alice
	wantAlice.PasswordHash, wantAlice.MustChangePassword, wantAlice.UpdatedAt = "$2a$10$reset", true, at
	checkUser(t, mustGetUser(t, s, "alice"), wantAlice)

	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err := s.GetUser(ctx, "alice")
	wantNotFound(t, "GetUser after DeleteUser", err)
	checkUser(t, mustGetUser(t, s, "admin"), want)

	// A deleted name can be used again.
	again := user("alice", store.RoleAdmin, base.Add(72*time.Hour))
	if err := s.CreateUser(ctx, again); err != nil {
		t.Fatalf("CreateUser after DeleteUser: %v", err)
	}
	checkUser(t, mustGetUser(t, s, "alice"), again)
}

func testUsersErrors(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	orig := user("admin", store.RoleAdmin, base)
	if err := s.CreateUser(ctx, orig); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	dup := user("admin", store.RoleUser, base.Add(time.Hour))
	dup.PasswordHash = "other"
	if err := s.CreateUser(ctx, dup); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateUser(duplicate) error = %v, want store.ErrExists", err)
	}
	checkUser(t, mustGetUser(t, s, "admin"), orig) // the first one is kept

	// Usernames are compared exactly.
	if _, err := s.GetUser(ctx, "Admin"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser(%q) error = %v, want store.ErrNotFound", "Admin", err)
	}
	_, err := s.GetUser(ctx, "nobody")
	wantNotFound(t, "GetUser(missing)", err)
	wantNotFound(t, "UpdatePassword(missing)", s.UpdatePassword(ctx, "nobody", "x", false, base))
	wantNotFound(t, "DeleteUser(missing)", s.DeleteUser(ctx, "nobody"))
	checkUser(t, mustGetUser(t, s, "admin"), orig)
}

func testListUsersOrder(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatalf("ListUsers on an empty store: %v", err)
	}
	if len(users) != 0 {
		t.Fatalf("ListUsers on an empty store returned %d users", len(users))
	}
	// Created out of order; listed in byte order of the username (upper case before lower).
	names := []string{"carol", "alice", "Zed", "bob", "alice2", "_svc"}
	created := map[string]store.User{}
	for i, n := range names {
		u := user(n, store.RoleUser, base.Add(time.Duration(i)*time.Second))
		created[n] = u
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%q): %v", n, err)
		}
	}
	users, err = s.ListUsers(ctx)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	var got []string
	for _, u := range users {
		got = append(got, u.Username)
	}
	want := []string{"Zed", "_svc", "alice", "alice2", "bob", "carol"}
	if !slices.Equal(got, want) {
		t.Fatalf("ListUsers order = %q, want %q", got, want)
	}
	for _, u := range users {
		checkUser(t, u, created[u.Username])
	}
}

func token(b byte, username string) store.Token {
	h := bytes.Repeat([]byte{b}, 32) // a SHA-256 is 32 bytes
	h[0] = 0                         // and may start with a zero byte
	return store.Token{
		Hash:      h,
		Username:  username,
		CreatedAt: base.Add(time.Duration(b) * time.Second),
		ExpiresAt: base.Add(7*24*time.Hour + time.Duration(b)*time.Second),
	}
}

func checkToken(t *testing.T, got, want store.Token) {
	t.Helper()
	if !bytes.Equal(got.Hash, want.Hash) || got.Username != want.Username {
		t.Errorf("token = %x %q, want %x %q", got.Hash, got.Username, want.Hash, want.Username)
	}
	checkTime(t, "token CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "token ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

func mustGetToken(t *testing.T, s store.Store, hash []byte) store.Token {
	t.Helper()
	tok, err := s.GetToken(ctxFor(t), hash)
	if err != nil {
		t.Fatalf("GetToken(%x): %v", hash, err)
	}
	return tok
}

func testTokens(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	for _, u := range []store.User{user("alice", store.RoleUser, base), user("bob", store.RoleUser, base)} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	a1, a2, a3, b1 := token(1, "alice"), token(2, "alice"), token(3, "alice"), token(4, "bob")
	for _, tok := range []store.Token{a1, a2, a3, b1} {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken(%x): %v", tok.Hash, err)
		}
	}
	for _, tok := range []store.Token{a1, a2, a3, b1} {
		checkToken(t, mustGetToken(t, s, tok.Hash), tok)
	}
	if err := s.CreateToken(ctx, token(1, "bob")); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateToken(duplicate hash) error = %v, want store.ErrExists", err)
	}
	checkToken(t, mustGetToken(t, s, a1.Hash), a1)

	_, err := s.GetToken(ctx, token(9, "alice").Hash)
	wantNotFound(t, "GetToken(missing)", err)
	_, err = s.GetToken(ctx, a1.Hash[:31])
	wantNotFound(t, "GetToken(prefix of a stored hash)", err)

	if err := s.DeleteToken(ctx, a1.Hash); err != nil {
		t.Fatalf("DeleteToken: %v", err)
	}
	_, err = s.GetToken(ctx, a1.Hash)
	wantNotFound(t, "GetToken after DeleteToken", err)
	checkToken(t, mustGetToken(t, s, a2.Hash), a2)
	if err := s.DeleteToken(ctx, a1.Hash); err != nil {
		t.Errorf("DeleteToken(already deleted) = %v, want nil", err)
	}

	if err := s.DeleteUserTokens(ctx, "alice"); err != nil {
		t.Fatalf("DeleteUserTokens: %v", err)
	}
	for _, tok := range []store.Token{a2, a3} {
		_, err := s.GetToken(ctx, tok.Hash)
		wantNotFound(t, "GetToken after DeleteUserTokens", err)
	}
	checkToken(t, mustGetToken(t, s, b1.Hash), b1)
	checkUser(t, mustGetUser(t, s, "alice"), user("alice", store.RoleUser, base)) // the user stays
	if err := s.DeleteUserTokens(ctx, "alice"); err != nil {
		t.Errorf("DeleteUserTokens(no tokens left) = %v, want nil", err)
	}
	if err := s.DeleteUserTokens(ctx, "nobody"); err != nil {
		t.Errorf("DeleteUserTokens(unknown user) = %v, want nil", err)
	}
}

func testDeleteUserDeletesTokens(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	for _, u := range []store.User{user("alice", store.RoleUser, base), user("bob", store.RoleAdmin, base)} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	a1, a2, b1 := token(1, "alice"), token(2, "alice"), token(3, "bob")
	for _, tok := range []store.Token{a1, a2, b1} {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
	}
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	for _, tok := range []store.Token{a1, a2} {
		_, err := s.GetToken(ctx, tok.Hash)
		wantNotFound(t, "GetToken of a deleted user's token", err)
	}
	checkToken(t, mustGetToken(t, s, b1.Hash), b1)

	// A failed DeleteUser (no such user) leaves every token alone.
	wantNotFound(t, "DeleteUser(missing)", s.DeleteUser(ctx, "carol"))
	checkToken(t, mustGetToken(t, s, b1.Hash), b1)
}

func testSettings(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	_, err := s.GetSetting(ctx, "webhook")
	wantNotFound(t, "GetSetting(missing)", err)

	get := func(key string) []byte {
		t.Helper()
		v, err := s.GetSetting(ctx, key)
		if err != nil {
			t.Fatalf("GetSetting(%q): %v", key, err)
		}
		return v
	}
	put := func(key string, v []byte) {
		t.Helper()
		if err := s.PutSetting(ctx, key, v); err != nil {
			t.Fatalf("PutSetting(%q): %v", key, err)
		}
	}

	v1 := []byte(`{"url":"https://example.com/hook","secret":"s3cret"}`)
	put("webhook", v1)
	if got := get("webhook"); !bytes.Equal(got, v1) {
		t.Errorf("GetSetting = %q, want %q", got, v1)
	}
	v2 := []byte(`{"url":"https://example.org/other"}`) // shorter than v1: nothing of v1 may remain
	put("webhook", v2)
	if got := get("webhook"); !bytes.Equal(got, v2) {
		t.Errorf("GetSetting after replace = %q, want %q", got, v2)
	}
	put("shards", []byte(`32`))
	if got := get("shards"); string(got) != "32" {
		t.Errorf("GetSetting(shards) = %q, want %q", got, "32")
	}
	if got := get("webhook"); !bytes.Equal(got, v2) {
		t.Errorf("GetSetting(webhook) after another key = %q, want %q", got, v2)
	}
	put("empty", nil)
	if got := get("empty"); got == nil || len(got) != 0 {
		t.Errorf("GetSetting(empty) = %#v, want an empty non-nil slice", got)
	}
	_, err = s.GetSetting(ctx, "Webhook")
	wantNotFound(t, "GetSetting(other case)", err)
}

// BenchInsertMessages measures InsertMessages with batches of 1, 64 and 512 text messages. open
// returns a fresh store; each batch size gets its own.
func BenchInsertMessages(b *testing.B, open func(b *testing.B) store.Store) {
	for _, size := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := open(b)
			ctx := b.Context()
			batch := make([]store.Message, size)
			for i := range batch {
				batch[i] = textMessage(int64(i+1), i%32)
			}
			next := int64(1)
			b.ReportAllocs()
			for b.Loop() {
				for i := range batch {
					batch[i].ID = next
					next++
				}
				if err := s.InsertMessages(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(next-1)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
