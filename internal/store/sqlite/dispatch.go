package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

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

// Apply writes the batch in the shared write transaction (see writer): the messages, then the
// transitions in order, then the webhooks. The batch is all or nothing.
func (s *Store) Apply(ctx context.Context, b store.Batch) error {
	if len(b.Messages) == 0 && len(b.Transitions) == 0 && len(b.Webhooks) == 0 {
		return nil
	}
	what := fmt.Sprintf("sqlite: apply %d messages, %d transitions, %d webhooks", len(b.Messages), len(b.Transitions), len(b.Webhooks))
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if len(b.Messages) > 0 {
			if err := s.insertMessages(ctx, tx, b.Messages); err != nil {
				return err
			}
		}
		if len(b.Transitions) > 0 {
			stmt := tx.StmtContext(ctx, s.transition)
			for i := range b.Transitions {
				t := &b.Transitions[i]
				res, err := stmt.ExecContext(ctx, t.Status, nonNil(t.State), nullTime(t.NextAt), toDB(t.At), t.ID)
				if err != nil {
					return fmt.Errorf("transition of message %d: %w", t.ID, err)
				}
				if err := affected(res, fmt.Sprintf("transition of message %d", t.ID)); err != nil {
					return err
				}
			}
		}
		if len(b.Webhooks) > 0 {
			hooks := b.Webhooks
			if err := s.insertHook.exec(ctx, tx, len(hooks), func(args []any, i int) []any {
				w := &hooks[i]
				state := w.State
				if state == "" {
					state = store.WebhookPending
				}
				return append(args, w.Business, w.MessageID, w.Kind, nonNil(w.Payload), state, int64(w.Attempts),
					toDB(w.DueAt), w.LastError, toDB(w.CreatedAt), toDB(w.UpdatedAt))
			}); err != nil {
				return fmt.Errorf("webhooks: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// The hot reads, prepared once (see Store).
const (
	dueMessagesQuery = "SELECT " + messageList + " FROM messages WHERE shard = ? AND next_at IS NOT NULL AND next_at <= ? ORDER BY next_at, id LIMIT ?"
	nextDueQuery     = "SELECT min(next_at) FROM messages WHERE shard = ? AND next_at IS NOT NULL"
	lastInboundQuery = "SELECT max(created_at) FROM messages WHERE peer = ? AND business = ? AND direction = 'in'"
)

func (s *Store) queryMessages(ctx context.Context, what, query string, args ...any) ([]store.Message, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	return s.scanMessages(what, rows, err)
}

func (s *Store) queryMessagesStmt(ctx context.Context, what string, stmt *sql.Stmt, args ...any) ([]store.Message, error) {
	rows, err := stmt.QueryContext(ctx, args...)
	return s.scanMessages(what, rows, err)
}

func (s *Store) scanMessages(what string, rows *sql.Rows, err error) ([]store.Message, error) {
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	msgs := []store.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return msgs, nil
}

// DueMessages reads the due messages of a shard through the messages_due index.
func (s *Store) DueMessages(ctx context.Context, shard int, now time.Time, limit int) ([]store.Message, error) {
	if limit <= 0 {
		return []store.Message{}, nil
	}
	return s.queryMessagesStmt(ctx, fmt.Sprintf("due messages of shard %d", shard), s.dueMessages,
		int64(shard), toDB(now), limit)
}

// NextDue returns the earliest next_at of a shard.
func (s *Store) NextDue(ctx context.Context, shard int) (time.Time, bool, error) {
	var t sql.NullInt64
	if err := s.nextDue.QueryRowContext(ctx, int64(shard)).Scan(&t); err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: next due of shard %d: %w", shard, err)
	}
	if !t.Valid {
		return time.Time{}, false, nil
	}
	return fromDB(t.Int64), true, nil
}

// RescheduleHeld brings the held outbound messages of peer forward to at.
func (s *Store) RescheduleHeld(ctx context.Context, peer, status string, at time.Time) (int, error) {
	n, err := s.execCount(ctx,
		"UPDATE messages SET next_at = ? WHERE peer = ? AND direction = 'out' AND status = ? AND next_at > ?",
		toDB(at), peer, status, toDB(at))
	if err != nil {
		return 0, fmt.Errorf("sqlite: reschedule %s messages to %s: %w", status, peer, err)
	}
	return n, nil
}

// execCount runs one statement in the shared write transaction and returns the rows it changed.
func (s *Store) execCount(ctx context.Context, q string, args ...any) (int, error) {
	var n int64
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// LastInbound is one seek in the messages_inbound index.
func (s *Store) LastInbound(ctx context.Context, business, peer string) (time.Time, bool, error) {
	var t sql.NullInt64
	if err := s.lastInbound.QueryRowContext(ctx, peer, business).Scan(&t); err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: last inbound from %s to %s: %w", peer, business, err)
	}
	if !t.Valid {
		return time.Time{}, false, nil
	}
	return fromDB(t.Int64), true, nil
}

// ListMessages lists by descending id (ids grow with time).
func (s *Store) ListMessages(ctx context.Context, peer string, limit int) ([]store.Message, error) {
	if peer == "" {
		return s.queryMessages(ctx, "list messages", "SELECT "+messageList+" FROM messages ORDER BY id DESC LIMIT ?", listLimit(limit))
	}
	return s.queryMessages(ctx, "list messages with "+peer,
		"SELECT "+messageList+" FROM messages WHERE peer = ? ORDER BY id DESC LIMIT ?", peer, listLimit(limit))
}

func scanWebhook(row scanner) (store.Webhook, error) {
	var w store.Webhook
	var attempts, due, created, updated int64
	if err := row.Scan(&w.ID, &w.Business, &w.MessageID, &w.Kind, &w.Payload, &w.State, &attempts, &due,
		&w.LastError, &created, &updated); err != nil {
		return store.Webhook{}, err
	}
	w.Payload = nonNil(w.Payload)
	w.Attempts = int(attempts)
	w.DueAt = fromDB(due)
	w.CreatedAt = fromDB(created)
	w.UpdatedAt = fromDB(updated)
	return w, nil
}

func (s *Store) queryWebhooks(ctx context.Context, what, query string, args ...any) ([]store.Webhook, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	return s.scanWebhooks(what, rows, err)
}

func (s *Store) scanWebhooks(what string, rows *sql.Rows, err error) ([]store.Webhook, error) {
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	hooks := []store.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		hooks = append(hooks, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return hooks, nil
}

// claimable is the per-message order rule (store.Store.DueWebhooks): a pending webhook w may go
// out unless an older pending webhook of its message is due later than w (a seek in
// webhooks_message). An older one due no later than w comes before it in (due_at, id) order, so
// it is in the same read and the caller sends both in one POST. The state literal lets SQLite
// use the partial indexes.
const claimable = `w.state = 'pending' AND (w.message_id = 0 OR NOT EXISTS (
	SELECT 1 FROM webhooks AS o WHERE o.state = 'pending' AND o.message_id = w.message_id AND o.id < w.id AND o.due_at > w.due_at))`

// The outbox's hot reads, prepared once (see Store).
var (
	dueWebhooksQuery       = "SELECT " + prefixed("w.", webhookList) + " FROM webhooks AS w WHERE w.due_at <= ? AND " + claimable + " ORDER BY w.due_at, w.id LIMIT ?"
	dueWebhooksExceptQuery = "SELECT " + prefixed("w.", webhookList) + " FROM webhooks AS w WHERE w.due_at <= ? AND w.id NOT IN (SELECT value FROM json_each(?)) AND " +
		claimable + " ORDER BY w.due_at, w.id LIMIT ?"
	nextWebhookDueQuery = "SELECT w.due_at FROM webhooks AS w WHERE " + claimable + " ORDER BY w.due_at, w.id LIMIT 1"
)

// DueWebhooks walks webhooks_due in (due_at, id) order.
func (s *Store) DueWebhooks(ctx context.Context, now time.Time, limit int) ([]store.Webhook, error) {
	if limit <= 0 {
		return []store.Webhook{}, nil
	}
	rows, err := s.dueWebhooks.QueryContext(ctx, toDB(now), limit)
	return s.durable(s.scanWebhooks("due webhooks", rows, err))
}

// durable returns what a read of the outbox found once it is on disk (see syncer): the caller
// POSTs it, and a receiver must never see a webhook that a power loss could take back.
func (s *Store) durable(hooks []store.Webhook, err error) ([]store.Webhook, error) {
	if err != nil || len(hooks) == 0 {
		return hooks, err
	}
	if err := s.sync.waitDurable(); err != nil {
		return nil, fmt.Errorf("sqlite: due webhooks: %w", err)
	}
	return hooks, nil
}

// DueWebhooksExcept is DueWebhooks without the webhooks in skip (store.DueWebhooksSkipper).
func (s *Store) DueWebhooksExcept(ctx context.Context, now time.Time, limit int, skip []int64) ([]store.Webhook, error) {
	if len(skip) == 0 {
		return s.DueWebhooks(ctx, now, limit)
	}
	if limit <= 0 {
		return []store.Webhook{}, nil
	}
	rows, err := s.dueWebhooksExcept.QueryContext(ctx, toDB(now), jsonIDs(skip), limit)
	return s.durable(s.scanWebhooks("due webhooks", rows, err))
}

// NextWebhookDue returns the earliest due_at among the webhooks DueWebhooks could return.
func (s *Store) NextWebhookDue(ctx context.Context) (time.Time, bool, error) {
	var due int64
	err := s.nextWebhookDue.QueryRowContext(ctx).Scan(&due)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: next webhook due: %w", err)
	}
	return fromDB(due), true, nil
}

// RecordAttempt logs the attempt and applies r in the shared write transaction (see writer).
func (s *Store) RecordAttempt(ctx context.Context, a store.Attempt, r store.WebhookResult) (int64, error) {
	var id int64
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO attempts (business, url, request, status, response, latency_ms, error, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			a.Business, a.URL, nonNil(a.Request), int64(a.Status), nonNil(a.Response), a.LatencyMS, a.Error, toDB(a.At))
		if err != nil {
			return fmt.Errorf("sqlite: record attempt: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("sqlite: record attempt: %w", err)
		}
		if carried := attemptWebhooks(a, r); len(carried) > 0 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO attempt_webhooks (attempt_id, webhook_id) SELECT ?, value FROM json_each(?)",
				id, jsonIDs(carried)); err != nil {
				return fmt.Errorf("sqlite: record attempt %d: webhooks: %w", id, err)
			}
		}
		if len(r.IDs) > 0 {
			if r.Delivered {
				_, err = tx.ExecContext(ctx, "UPDATE webhooks SET state = 'delivered', updated_at = ? WHERE id IN (SELECT value FROM json_each(?))",
					toDB(r.At), jsonIDs(r.IDs))
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE webhooks SET attempts = attempts + 1, due_at = ?, last_error = ?, updated_at = ?
					WHERE id IN (SELECT value FROM json_each(?))`,
					toDB(r.NextDue), r.Error, toDB(r.At), jsonIDs(r.IDs))
			}
			if err != nil {
				return fmt.Errorf("sqlite: record attempt %d: update webhooks: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// attemptWebhooks is the set of webhooks an attempt carried: a.WebhookIDs and r.IDs, sorted,
// without duplicates.
func attemptWebhooks(a store.Attempt, r store.WebhookResult) []int64 {
	ids := append(slices.Clone(a.WebhookIDs), r.IDs...)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// jsonIDs renders ids as a JSON array for json_each: one bound parameter for any count.
func jsonIDs(ids []int64) string {
	b := make([]byte, 0, 2+len(ids)*20)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// GetWebhook reads one webhook.
func (s *Store) GetWebhook(ctx context.Context, id int64) (store.Webhook, error) {
	w, err := scanWebhook(s.read.QueryRowContext(ctx, "SELECT "+webhookList+" FROM webhooks WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Webhook{}, fmt.Errorf("sqlite: webhook %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Webhook{}, fmt.Errorf("sqlite: webhook %d: %w", id, err)
	}
	return w, nil
}

// ListWebhooks lists by descending id.
func (s *Store) ListWebhooks(ctx context.Context, f store.WebhookFilter) ([]store.Webhook, error) {
	var where []string
	var args []any
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, f.State)
	}
	if f.MessageID != 0 {
		where, args = append(where, "message_id = ?"), append(args, f.MessageID)
	}
	if f.IDs != nil {
		where, args = append(where, "id IN (SELECT value FROM json_each(?))"), append(args, jsonIDs(f.IDs))
	}
	q := "SELECT " + webhookList + " FROM webhooks"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return s.queryWebhooks(ctx, "list webhooks", q+" ORDER BY id DESC LIMIT ?", append(args, listLimit(f.Limit))...)
}

// Redeliver makes the given webhooks pending again.
func (s *Store) Redeliver(ctx context.Context, ids []int64, at time.Time) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := s.execCount(ctx, "UPDATE webhooks SET state = 'pending', due_at = ? WHERE id IN (SELECT value FROM json_each(?))",
		toDB(at), jsonIDs(ids))
	if err != nil {
		return 0, fmt.Errorf("sqlite: redeliver %d webhooks: %w", len(ids), err)
	}
	return n, nil
}

// RescheduleWebhooks brings every pending webhook due after at forward to at.
func (s *Store) RescheduleWebhooks(ctx context.Context, at time.Time) (int, error) {
	n, err := s.execCount(ctx, "UPDATE webhooks SET due_at = ? WHERE state = 'pending' AND due_at > ?", toDB(at), toDB(at))
	if err != nil {
		return 0, fmt.Errorf("sqlite: reschedule webhooks: %w", err)
	}
	return n, nil
}

const attemptList = `a.id, a.business, a.url, a.request, a.status, a.response, a.latency_ms, a.error, a.at,
	(SELECT group_concat(j.webhook_id) FROM attempt_webhooks AS j WHERE j.attempt_id = a.id)`

// ListAttempts lists by descending id, each with the webhooks it carried, in one statement.
func (s *Store) ListAttempts(ctx context.Context, webhookID int64, limit int) ([]store.Attempt, error) {
	q, args := "SELECT "+attemptList+" FROM attempts AS a ORDER BY a.id DESC LIMIT ?", []any{listLimit(limit)}
	if webhookID > 0 {
		q = "SELECT " + attemptList + ` FROM attempt_webhooks AS k JOIN attempts AS a ON a.id = k.attempt_id
			WHERE k.webhook_id = ? ORDER BY k.attempt_id DESC LIMIT ?`
		args = []any{webhookID, listLimit(limit)}
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list attempts: %w", err)
	}
	defer rows.Close()
	out := []store.Attempt{}
	for rows.Next() {
		var a store.Attempt
		var status, at int64
		var hooks sql.NullString
		if err := rows.Scan(&a.ID, &a.Business, &a.URL, &a.Request, &status, &a.Response, &a.LatencyMS, &a.Error, &at, &hooks); err != nil {
			return nil, fmt.Errorf("sqlite: list attempts: %w", err)
		}
		a.Request, a.Response = nonNil(a.Request), nonNil(a.Response)
		a.Status = int(status)
		a.At = fromDB(at)
		a.WebhookIDs = []int64{}
		if hooks.Valid && hooks.String != "" {
			for f := range strings.SplitSeq(hooks.String, ",") {
				id, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("sqlite: list attempts: webhook id %q: %w", f, err)
				}
				a.WebhookIDs = append(a.WebhookIDs, id)
			}
			slices.Sort(a.WebhookIDs)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list attempts: %w", err)
	}
	return out, nil
}

// CountWebhooks counts webhooks in a state; pending ones are counted from their partial index.
func (s *Store) CountWebhooks(ctx context.Context, state string) (int64, error) {
	q, args := "SELECT count(*) FROM webhooks WHERE state = ?", []any{state}
	if state == store.WebhookPending {
		q, args = "SELECT count(*) FROM webhooks WHERE state = 'pending'", nil
	}
	var n int64
	if err := s.read.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count %s webhooks: %w", state, err)
	}
	return n, nil
}

// ResetTraffic empties the traffic tables in one transaction. AUTOINCREMENT keeps counting, so
// no webhook or attempt id is ever reused.
func (s *Store) ResetTraffic(ctx context.Context) error {
	return s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, table := range []string{"messages", "webhooks", "attempts", "attempt_webhooks"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
				return fmt.Errorf("sqlite: reset traffic: %s: %w", table, err)
			}
		}
		return nil
	})
}

// DeleteSetting removes a setting; a missing one is not an error.
func (s *Store) DeleteSetting(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, "DELETE FROM settings WHERE key = ?", key); err != nil {
		return fmt.Errorf("sqlite: delete setting %q: %w", key, err)
	}
	return nil
}

// ListSettings selects the keys in [prefix, prefixEnd(prefix)): a range on the primary key in
// byte order, so no character of the prefix is special (LIKE would treat % and _ as wildcards).
func (s *Store) ListSettings(ctx context.Context, prefix string) (map[string][]byte, error) {
	q, args := "SELECT key, value FROM settings WHERE key >= ?", []any{prefix}
	if end, ok := prefixEnd(prefix); ok {
		q, args = q+" AND key < ?", append(args, end)
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list settings %q: %w", prefix, err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("sqlite: list settings %q: %w", prefix, err)
		}
		out[k] = nonNil(v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list settings %q: %w", prefix, err)
	}
	return out, nil
}

// prefixEnd returns the least string greater than every string that starts with prefix, in
// byte order, or ok=false when there is none (prefix is empty or all 0xff bytes).
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// prefixed qualifies every column of a comma-separated list with p.
func prefixed(p, list string) string {
	cols := strings.Split(list, ", ")
	for i := range cols {
		cols[i] = p + cols[i]
	}
	return strings.Join(cols, ", ")
}
