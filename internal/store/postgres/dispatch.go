package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openwaba/waba/internal/store"
)

// defaultLimit is the page size of the List methods when the caller gives none.
const defaultLimit = 100

func listLimit(limit int) int {
	if limit <= 0 {
		return defaultLimit
	}
	return limit
}

const transitionSQL = `UPDATE messages AS m SET status = t.status, state = t.state, next_at = t.next_at, updated_at = t.at
FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::timestamptz[], $5::timestamptz[]) AS t(id, status, state, next_at, at)
WHERE m.id = t.id`

const webhookList = "id, business, message_id, kind, payload, state, attempts, due_at, last_error, created_at, updated_at"

// The ORDER BY makes the identity follow the batch order, which is the delivery order of the
// webhooks of one message.
const insertWebhooksSQL = `INSERT INTO webhooks (business, message_id, kind, payload, state, attempts, due_at, last_error, created_at, updated_at)
SELECT b, m, k, p, s, a, d, e, c, u
FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bytea[], $5::text[], $6::integer[], $7::timestamptz[], $8::text[],
	$9::timestamptz[], $10::timestamptz[]) WITH ORDINALITY AS w(b, m, k, p, s, a, d, e, c, u, ord)
ORDER BY ord`

// Apply writes the batch in one transaction: BEGIN, one pipelined round trip with at most three
// statements (messages, transitions, webhooks, each a single unnest), COMMIT.
func (s *Store) Apply(ctx context.Context, b store.Batch) error {
	if len(b.Messages) == 0 && len(b.Transitions) == 0 && len(b.Webhooks) == 0 {
		return nil
	}
	// Several transitions of one message: the last one wins, as if applied in order.
	trans := b.Transitions
	if len(trans) > 1 {
		seen := make(map[int64]bool, len(trans))
		trans = make([]store.Transition, 0, len(b.Transitions))
		for i := len(b.Transitions) - 1; i >= 0; i-- {
			if t := b.Transitions[i]; !seen[t.ID] {
				seen[t.ID] = true
				trans = append(trans, t)
			}
		}
	}
	// After the commit (or a failure, harmless): the floors of the claims (floor.go).
	defer s.lowerFloor(b.Webhooks)
	defer s.lowerShards(b.Messages)
	var firstNext time.Time
	for i := range trans {
		if t := trans[i].NextAt; !t.IsZero() && (firstNext.IsZero() || t.Before(firstNext)) {
			firstNext = t
		}
	}
	if !firstNext.IsZero() {
		defer s.msgFloors.lower(-1, firstNext) // a transition does not say its shard
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var batch pgx.Batch
		if n := len(b.Messages); n == 1 {
			m := &b.Messages[0]
			batch.Queue(insertMessageSQL, m.ID, string(m.Direction), m.Business, m.Peer, m.Type,
				nonNil(m.Payload), m.Status, int32(m.Shard), nullTime(m.NextAt), nonNil(m.State), m.CreatedAt, m.UpdatedAt)
		} else if n > 1 {
			batch.Queue(insertMessagesSQL, messageArrays(b.Messages)...)
		}
		if len(trans) > 0 {
			batch.Queue(transitionSQL, transitionArrays(trans)...)
		}
		if len(b.Webhooks) > 0 {
			batch.Queue(insertWebhooksSQL, webhookArrays(b.Webhooks)...)
		}
		br := tx.SendBatch(ctx, &batch)
		err := func() error {
			if len(b.Messages) > 0 {
				if _, err := br.Exec(); err != nil {
					if isUniqueViolation(err) {
						return fmt.Errorf("messages: %w: %w", store.ErrExists, err)
					}
					return fmt.Errorf("messages: %w", err)
				}
			}
			if len(trans) > 0 {
				tag, err := br.Exec()
				if err != nil {
					return fmt.Errorf("transitions: %w", err)
				}
				if missing := len(trans) - int(tag.RowsAffected()); missing > 0 {
					return fmt.Errorf("transitions: %d of %d messages: %w", missing, len(trans), store.ErrNotFound)
				}
			}
			if len(b.Webhooks) > 0 {
				if _, err := br.Exec(); err != nil {
					return fmt.Errorf("webhooks: %w", err)
				}
			}
			return nil
		}()
		return errors.Join(err, br.Close())
	})
	if err != nil {
		return fmt.Errorf("postgres: apply %d messages, %d transitions, %d webhooks: %w",
			len(b.Messages), len(b.Transitions), len(b.Webhooks), err)
	}
	s.analyze.grew(len(b.Messages) + len(b.Webhooks))
	return nil
}

func transitionArrays(trans []store.Transition) []any {
	n := len(trans)
	ids, statuses, states := make([]int64, n), make([]string, n), make([][]byte, n)
	next, at := make([]pgtype.Timestamptz, n), make([]time.Time, n)
	for i := range trans {
		t := &trans[i]
		ids[i], statuses[i], states[i], next[i], at[i] = t.ID, t.Status, nonNil(t.State), nullTime(t.NextAt), t.At
	}
	return []any{ids, statuses, states, next, at}
}

func webhookArrays(hooks []store.Webhook) []any {
	n := len(hooks)
	business, msgIDs, kinds, payloads := make([]string, n), make([]int64, n), make([]string, n), make([][]byte, n)
	states, attempts, due, lastErr := make([]string, n), make([]int32, n), make([]time.Time, n), make([]string, n)
	created, updated := make([]time.Time, n), make([]time.Time, n)
	for i := range hooks {
		w := &hooks[i]
		business[i], msgIDs[i], kinds[i], payloads[i] = w.Business, w.MessageID, w.Kind, nonNil(w.Payload)
		states[i] = w.State
		if states[i] == "" {
			states[i] = store.WebhookPending
		}
		attempts[i], due[i], lastErr[i] = int32(w.Attempts), w.DueAt, w.LastError
		created[i], updated[i] = w.CreatedAt, w.UpdatedAt
	}
	return []any{business, msgIDs, kinds, payloads, states, attempts, due, lastErr, created, updated}
}

func (s *Store) queryMessages(ctx context.Context, what, query string, args ...any) ([]store.Message, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	msgs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Message, error) { return scanMessage(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	if msgs == nil {
		msgs = []store.Message{}
	}
	return msgs, nil
}

// DueMessages reads the due messages of a shard through the messages_due index.
func (s *Store) DueMessages(ctx context.Context, shard int, now time.Time, limit int) ([]store.Message, error) {
	if limit <= 0 {
		return []store.Message{}, nil
	}
	return s.queryMessages(ctx, fmt.Sprintf("due messages of shard %d", shard),
		"SELECT "+messageList+" FROM messages WHERE shard = $1 AND next_at IS NOT NULL AND next_at >= $4 AND next_at <= $2 ORDER BY next_at, id LIMIT $3",
		int32(shard), now, limit, s.messageFloor(ctx, shard))
}

// NextDue returns the earliest next_at of a shard.
func (s *Store) NextDue(ctx context.Context, shard int) (time.Time, bool, error) {
	var t pgtype.Timestamptz
	if err := s.pool.QueryRow(ctx, "SELECT min(next_at) FROM messages WHERE shard = $1 AND next_at IS NOT NULL AND next_at >= $2",
		int32(shard), s.messageFloor(ctx, shard)).Scan(&t); err != nil {
		return time.Time{}, false, fmt.Errorf("postgres: next due of shard %d: %w", shard, err)
	}
	if !t.Valid {
		return time.Time{}, false, nil
	}
	return t.Time.UTC(), true, nil
}

// RescheduleHeld brings the held outbound messages of peer forward to at.
func (s *Store) RescheduleHeld(ctx context.Context, peer, status string, at time.Time) (int, error) {
	defer s.msgFloors.lower(-1, at)
	tag, err := s.pool.Exec(ctx,
		"UPDATE messages SET next_at = $1 WHERE peer = $2 AND direction = 'out' AND status = $3 AND next_at > $1",
		at, peer, status)
	if err != nil {
		return 0, fmt.Errorf("postgres: reschedule %s messages to %s: %w", status, peer, err)
	}
	return int(tag.RowsAffected()), nil
}

// LastInbound is one seek in the messages_inbound index.
func (s *Store) LastInbound(ctx context.Context, business, peer string) (time.Time, bool, error) {
	var t pgtype.Timestamptz
	if err := s.pool.QueryRow(ctx,
		"SELECT max(created_at) FROM messages WHERE peer = $1 AND business = $2 AND direction = 'in'",
		peer, business).Scan(&t); err != nil {
		return time.Time{}, false, fmt.Errorf("postgres: last inbound from %s to %s: %w", peer, business, err)
	}
	if !t.Valid {
		return time.Time{}, false, nil
	}
	return t.Time.UTC(), true, nil
}

// ListMessages lists by descending id (ids grow with time).
func (s *Store) ListMessages(ctx context.Context, peer string, limit int) ([]store.Message, error) {
	if peer == "" {
		return s.queryMessages(ctx, "list messages", "SELECT "+messageList+" FROM messages ORDER BY id DESC LIMIT $1", listLimit(limit))
	}
	return s.queryMessages(ctx, "list messages with "+peer,
		"SELECT "+messageList+" FROM messages WHERE peer = $1 ORDER BY id DESC LIMIT $2", peer, listLimit(limit))
}

func scanWebhook(row pgx.Row) (store.Webhook, error) {
	var w store.Webhook
	var attempts int32
	if err := row.Scan(&w.ID, &w.Business, &w.MessageID, &w.Kind, &w.Payload, &w.State, &attempts, &w.DueAt,
		&w.LastError, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return store.Webhook{}, err
	}
	w.Payload = nonNil(w.Payload)
	w.Attempts = int(attempts)
	w.DueAt = w.DueAt.UTC()
	w.CreatedAt = w.CreatedAt.UTC()
	w.UpdatedAt = w.UpdatedAt.UTC()
	return w, nil
}

func (s *Store) queryWebhooks(ctx context.Context, what, query string, args ...any) ([]store.Webhook, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	hooks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Webhook, error) { return scanWebhook(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	if hooks == nil {
		hooks = []store.Webhook{}
	}
	return hooks, nil
}

// claimable is the per-message order rule (store.Store.DueWebhooks): a pending webhook w may go
// out unless an older pending webhook of its message is due later than w (a seek in
// webhooks_message). An older one due no later than w comes before it in (due_at, id) order, so
// it is in the same read and the caller sends both in one POST. The state literal lets the
// planner use the partial indexes.
const claimable = `w.state = 'pending' AND (w.message_id = 0 OR NOT EXISTS (
	SELECT 1 FROM webhooks AS o WHERE o.state = 'pending' AND o.message_id = w.message_id AND o.id < w.id AND o.due_at > w.due_at))`

var webhookListW = "w." + strings.ReplaceAll(webhookList, ", ", ", w.")

// DueWebhooks walks webhooks_due in (due_at, id) order.
func (s *Store) DueWebhooks(ctx context.Context, now time.Time, limit int) ([]store.Webhook, error) {
	if limit <= 0 {
		return []store.Webhook{}, nil
	}
	return s.queryWebhooks(ctx, "due webhooks",
		"SELECT "+webhookListW+" FROM webhooks AS w WHERE w.due_at >= $3 AND w.due_at <= $1 AND "+claimable+" ORDER BY w.due_at, w.id LIMIT $2",
		now, limit, s.webhookFloor(ctx))
}

// DueWebhooksExcept is DueWebhooks without the webhooks in skip (store.DueWebhooksSkipper).
func (s *Store) DueWebhooksExcept(ctx context.Context, now time.Time, limit int, skip []int64) ([]store.Webhook, error) {
	if len(skip) == 0 {
		return s.DueWebhooks(ctx, now, limit)
	}
	if limit <= 0 {
		return []store.Webhook{}, nil
	}
	return s.queryWebhooks(ctx, "due webhooks",
		"SELECT "+webhookListW+" FROM webhooks AS w WHERE w.due_at >= $4 AND w.due_at <= $1 AND w.id NOT IN (SELECT unnest($3::bigint[])) AND "+claimable+" ORDER BY w.due_at, w.id LIMIT $2",
		now, limit, skip, s.webhookFloor(ctx))
}

// NextWebhookDue returns the earliest due_at among the webhooks DueWebhooks could return.
func (s *Store) NextWebhookDue(ctx context.Context) (time.Time, bool, error) {
	var due time.Time
	err := s.pool.QueryRow(ctx, "SELECT w.due_at FROM webhooks AS w WHERE w.due_at >= $1 AND "+claimable+" ORDER BY w.due_at, w.id LIMIT 1",
		s.webhookFloor(ctx)).Scan(&due)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("postgres: next webhook due: %w", err)
	}
	return due.UTC(), true, nil
}

// One statement, so one implicit transaction and one round trip: data-modifying CTEs all run
// to completion whether or not the outer query reads them.
const (
	recordAttemptHead = `WITH a AS (
	INSERT INTO attempts (business, url, request, status, response, latency_ms, error, at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
), j AS (
	INSERT INTO attempt_webhooks (attempt_id, webhook_id) SELECT a.id, w FROM a, unnest($9::bigint[]) AS w
), u AS (
	`
	recordDeliveredSQL = recordAttemptHead + `UPDATE webhooks SET state = 'delivered', updated_at = $11 WHERE id = ANY($10::bigint[])
)
SELECT id FROM a`
	recordFailedSQL = recordAttemptHead + `UPDATE webhooks SET attempts = attempts + 1, due_at = $11, last_error = $12, updated_at = $13
	WHERE id = ANY($10::bigint[])
)
SELECT id FROM a`
)

// RecordAttempt logs the attempt and applies r in one statement.
func (s *Store) RecordAttempt(ctx context.Context, a store.Attempt, r store.WebhookResult) (int64, error) {
	carried := append(slices.Clone(a.WebhookIDs), r.IDs...)
	slices.Sort(carried)
	carried = slices.Compact(carried)
	if carried == nil {
		carried = []int64{}
	}
	ids := r.IDs
	if ids == nil {
		ids = []int64{}
	}
	args := []any{a.Business, a.URL, nonNil(a.Request), int32(a.Status), nonNil(a.Response), a.LatencyMS, a.Error, a.At, carried, ids}
	q := recordDeliveredSQL
	if r.Delivered {
		args = append(args, r.At)
	} else {
		q = recordFailedSQL
		args = append(args, r.NextDue, r.Error, r.At)
	}
	if !r.Delivered && len(ids) > 0 {
		defer s.floor.lower(r.NextDue)
	}
	var id int64
	if err := s.pool.QueryRow(ctx, q, args...).Scan(&id); err != nil {
		return 0, fmt.Errorf("postgres: record attempt: %w", err)
	}
	return id, nil
}

// GetWebhook reads one webhook.
func (s *Store) GetWebhook(ctx context.Context, id int64) (store.Webhook, error) {
	w, err := scanWebhook(s.pool.QueryRow(ctx, "SELECT "+webhookList+" FROM webhooks WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Webhook{}, fmt.Errorf("postgres: webhook %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Webhook{}, fmt.Errorf("postgres: webhook %d: %w", id, err)
	}
	return w, nil
}

// ListWebhooks lists by descending id.
func (s *Store) ListWebhooks(ctx context.Context, f store.WebhookFilter) ([]store.Webhook, error) {
	var where []string
	var args []any
	if f.State != "" {
		args = append(args, f.State)
		where = append(where, fmt.Sprintf("state = $%d", len(args)))
	}
	if f.MessageID != 0 {
		args = append(args, f.MessageID)
		where = append(where, fmt.Sprintf("message_id = $%d", len(args)))
	}
	if f.IDs != nil {
		args = append(args, f.IDs)
		where = append(where, fmt.Sprintf("id = ANY($%d::bigint[])", len(args)))
	}
	q := "SELECT " + webhookList + " FROM webhooks"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, listLimit(f.Limit))
	return s.queryWebhooks(ctx, "list webhooks", q+fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args)), args...)
}

// Redeliver makes the given webhooks pending again.
func (s *Store) Redeliver(ctx context.Context, ids []int64, at time.Time) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	defer s.floor.lower(at)
	tag, err := s.pool.Exec(ctx, "UPDATE webhooks SET state = 'pending', due_at = $1 WHERE id = ANY($2::bigint[])", at, ids)
	if err != nil {
		return 0, fmt.Errorf("postgres: redeliver %d webhooks: %w", len(ids), err)
	}
	return int(tag.RowsAffected()), nil
}

// RescheduleWebhooks brings every pending webhook due after at forward to at.
func (s *Store) RescheduleWebhooks(ctx context.Context, at time.Time) (int, error) {
	defer s.floor.lower(at)
	tag, err := s.pool.Exec(ctx, "UPDATE webhooks SET due_at = $1 WHERE state = 'pending' AND due_at > $1", at)
	if err != nil {
		return 0, fmt.Errorf("postgres: reschedule webhooks: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

const attemptList = `a.id, a.business, a.url, a.request, a.status, a.response, a.latency_ms, a.error, a.at,
	ARRAY(SELECT j.webhook_id FROM attempt_webhooks AS j WHERE j.attempt_id = a.id ORDER BY j.webhook_id)`

// ListAttempts lists by descending id, each with the webhooks it carried, in one statement.
func (s *Store) ListAttempts(ctx context.Context, webhookID int64, limit int) ([]store.Attempt, error) {
	q, args := "SELECT "+attemptList+" FROM attempts AS a ORDER BY a.id DESC LIMIT $1", []any{listLimit(limit)}
	if webhookID > 0 {
		q = "SELECT " + attemptList + ` FROM attempt_webhooks AS k JOIN attempts AS a ON a.id = k.attempt_id
			WHERE k.webhook_id = $1 ORDER BY k.attempt_id DESC LIMIT $2`
		args = []any{webhookID, listLimit(limit)}
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list attempts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Attempt, error) {
		var a store.Attempt
		var status int32
		if err := row.Scan(&a.ID, &a.Business, &a.URL, &a.Request, &status, &a.Response, &a.LatencyMS, &a.Error, &a.At, &a.WebhookIDs); err != nil {
			return store.Attempt{}, err
		}
		a.Request, a.Response = nonNil(a.Request), nonNil(a.Response)
		a.Status = int(status)
		a.At = a.At.UTC()
		if a.WebhookIDs == nil {
			a.WebhookIDs = []int64{}
		}
		return a, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list attempts: %w", err)
	}
	if out == nil {
		out = []store.Attempt{}
	}
	return out, nil
}

// CountWebhooks counts webhooks in a state; pending ones are counted from their partial index.
func (s *Store) CountWebhooks(ctx context.Context, state string) (int64, error) {
	q, args := "SELECT count(*) FROM webhooks WHERE state = $1", []any{state}
	if state == store.WebhookPending {
		q, args = "SELECT count(*) FROM webhooks WHERE state = 'pending'", nil
	}
	var n int64
	if err := s.pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count %s webhooks: %w", state, err)
	}
	return n, nil
}

// ResetTraffic empties the traffic tables with one TRUNCATE (transactional in PostgreSQL). The
// identities keep counting, so no webhook or attempt id is ever reused.
func (s *Store) ResetTraffic(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, "TRUNCATE messages, webhooks, attempts, attempt_webhooks"); err != nil {
		return fmt.Errorf("postgres: reset traffic: %w", err)
	}
	s.analyze.emptied() // the floors stay lower bounds: nothing is pending after the reset
	return nil
}

// DeleteSetting removes a setting; a missing one is not an error.
func (s *Store) DeleteSetting(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, "DELETE FROM settings WHERE key = $1", key); err != nil {
		return fmt.Errorf("postgres: delete setting %q: %w", key, err)
	}
	return nil
}

// ListSettings uses starts_with, which has no wildcards (LIKE would treat % and _ as such) and
// does not depend on the database's collation.
func (s *Store) ListSettings(ctx context.Context, prefix string) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx, "SELECT key, value FROM settings WHERE starts_with(key, $1)", prefix)
	if err != nil {
		return nil, fmt.Errorf("postgres: list settings %q: %w", prefix, err)
	}
	out := map[string][]byte{}
	var k string
	var v []byte
	if _, err := pgx.ForEachRow(rows, []any{&k, &v}, func() error {
		out[k] = append([]byte{}, v...)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: list settings %q: %w", prefix, err)
	}
	return out, nil
}
