package webhook

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/openwaba/waba/internal/store"
)

// Sign returns the value of SignatureHeader for body: "sha256=" and the lowercase hex
// HMAC-SHA256 of the raw body under secret (the same form as Cloud's X-Hub-Signature-256).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Body builds the On-Prem callback body for webhooks of one kind (shared/reference/onprem-api.md
// §12.2): `{"statuses":[…]}`, `{"contacts":[…],"messages":[…]}` or `{"errors":[…]}`. Each status
// or error payload is one entry; each message payload is `{"contact":{…},"message":{…}}`, whose
// contact goes into `contacts` (once per distinct contact; none for a system message, which has
// no contact, §12.2) and message into `messages`. It returns the body and the ids it carries;
// webhooks whose payload cannot be used are returned in bad, with the reason.
func Body(hooks []store.Webhook) (body []byte, ids []int64, bad []store.Webhook, reason string) {
	if len(hooks) == 0 {
		return nil, nil, nil, ""
	}
	var entries, contacts [][]byte
	kind := hooks[0].Kind
	for _, w := range hooks {
		var e, c []byte
		var err error
		switch {
		case w.Kind != kind:
			err = fmt.Errorf("kind %q in a batch of %q", w.Kind, kind)
		case kind == store.WebhookStatus || kind == store.WebhookError:
			e, err = compact(w.Payload)
		case kind == store.WebhookMessage:
			e, c, err = splitMessage(w.Payload)
		default:
			err = fmt.Errorf("unknown webhook kind %q", w.Kind)
		}
		if err != nil {
			bad = append(bad, w)
			reason = fmt.Sprintf("not sent: webhook %d has an unusable payload: %v", w.ID, err)
			continue
		}
		entries = append(entries, e)
		if c != nil && !containsBytes(contacts, c) {
			contacts = append(contacts, c)
		}
		ids = append(ids, w.ID)
	}
	if len(ids) == 0 {
		return nil, nil, bad, reason
	}
	var b bytes.Buffer
	b.WriteByte('{')
	switch kind {
	case store.WebhookStatus:
		writeArray(&b, "statuses", entries)
	case store.WebhookError:
		writeArray(&b, "errors", entries)
	case store.WebhookMessage:
		if len(contacts) > 0 {
			writeArray(&b, "contacts", contacts)
			b.WriteByte(',')
		}
		writeArray(&b, "messages", entries)
	}
	b.WriteByte('}')
	return b.Bytes(), ids, bad, reason
}

func writeArray(b *bytes.Buffer, key string, items [][]byte) {
	b.WriteString(`"` + key + `":[`)
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteByte(']')
}

func containsBytes(list [][]byte, x []byte) bool {
	for _, y := range list {
		if bytes.Equal(x, y) {
			return true
		}
	}
	return false
}

// compact validates one JSON object and removes insignificant space.
func compact(raw []byte) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("payload is not a JSON object")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("payload is not valid JSON: %w", err)
	}
	return b.Bytes(), nil
}

// splitMessage takes `{"contact":{…},"message":{…}}` apart; contact is nil when absent or null.
func splitMessage(raw []byte) (message, contact []byte, err error) {
	var p struct {
		Contact json.RawMessage `json:"contact"`
		Message json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, fmt.Errorf("payload is not a {\"contact\",\"message\"} object: %w", err)
	}
	if message, err = compact(p.Message); err != nil {
		return nil, nil, fmt.Errorf("message: %w", err)
	}
	if len(p.Contact) > 0 && string(p.Contact) != "null" {
		if contact, err = compact(p.Contact); err != nil {
			return nil, nil, fmt.Errorf("contact: %w", err)
		}
	}
	return message, contact, nil
}

// buildBody is the POST body of hooks in their dialect: Cloud's envelope with wabaID as the
// entry id, or On-Prem's batch.
func buildBody(wabaID string, hooks []store.Webhook) (body []byte, ids []int64, bad []store.Webhook, reason string) {
	if isCloudKind(hooks[0].Kind) {
		return CloudBody(wabaID, hooks)
	}
	return Body(hooks)
}

// RequestBody is the body attempt a POSTed. A failed attempt stored it; a delivered one did
// not (see deliver), and its body is rebuilt from the webhooks it carried, which are never
// changed, in id order as deliver sent them. A Cloud body takes the business's current WABA
// id as its entry id: the one it was sent with unless the number has moved to another WABA.
func (d *Dispatcher) RequestBody(ctx context.Context, a store.Attempt) ([]byte, error) {
	if len(a.Request) > 0 || a.Status != http.StatusOK || a.Error != "" || len(a.WebhookIDs) == 0 {
		return a.Request, nil
	}
	hooks, err := d.o.Store.ListWebhooks(ctx, store.WebhookFilter{IDs: a.WebhookIDs, Limit: len(a.WebhookIDs)})
	if err != nil {
		return nil, fmt.Errorf("webhook: rebuild the body of attempt %d: %w", a.ID, err)
	}
	if len(hooks) != len(a.WebhookIDs) {
		return nil, fmt.Errorf("webhook: rebuild the body of attempt %d: %d of its %d webhooks are gone", a.ID, len(a.WebhookIDs)-len(hooks), len(a.WebhookIDs))
	}
	slices.Reverse(hooks) // newest first → id order, as deliver built the body
	wabaID := ""
	if isCloudKind(hooks[0].Kind) {
		ep, err := d.endpoint(ctx, a.Business, DialectCloud)
		if err != nil {
			return nil, fmt.Errorf("webhook: rebuild the body of attempt %d: %w", a.ID, err)
		}
		wabaID = ep.WABAID
	}
	body, _, _, _ := buildBody(wabaID, hooks)
	return body, nil
}

// deliver POSTs one batch and records the attempt and its result.
func (d *Dispatcher) deliver(ctx context.Context, business string, ep Endpoint, hooks []store.Webhook) {
	var body []byte
	var ids []int64
	var bad []store.Webhook
	var reason string
	// In id order: a message's webhooks keep their order (ids grow with creation), and the store
	// lists an attempt's webhooks by id, so RequestBody can rebuild exactly this body.
	hooks = slices.SortedFunc(slices.Values(hooks), func(a, b store.Webhook) int { return cmp.Compare(a.ID, b.ID) })
	cloud := isCloudKind(hooks[0].Kind)
	body, ids, bad, reason = buildBody(ep.WABAID, hooks)
	if len(bad) > 0 {
		// A payload waba cannot send is a bug in its producer, not the receiver's fault: log
		// it, and keep the webhooks pending at the longest backoff so they stay visible.
		badIDs := make([]int64, len(bad))
		for i, w := range bad {
			badIDs[i] = w.ID
		}
		d.log.Error("webhook payload cannot be sent", "business", business, "webhooks", badIDs, "reason", reason)
		now := d.clk.Now()
		d.record(ctx, store.Attempt{Business: business, URL: redacted(ep.URL), Error: reason, WebhookIDs: badIDs, At: now},
			store.WebhookResult{IDs: badIDs, NextDue: now.Add(ep.MaxBackoff), Error: reason, At: now})
	}
	if len(ids) == 0 {
		return
	}
	attempts := hooks[0].Attempts

	at := d.clk.Now()
	start := time.Now() // latency is real time, whatever the virtual clock does
	status, resp, errText := d.post(ctx, ep, body, cloud)
	latency := time.Since(start)
	ok := errText == ""

	d.nPosts.Add(1)
	d.lastLatency.Store(int64(latency))
	if d.o.OnAttempt != nil {
		d.o.OnAttempt(ok, latency)
	}
	now := d.clk.Now()
	res := store.WebhookResult{IDs: ids, Delivered: ok, At: now}
	if ok {
		d.nOK.Add(1)
		d.nDelivered.Add(int64(len(ids)))
		d.log.Debug("webhooks delivered", "business", business, "url", logURL(ep.URL), "webhooks", len(ids), "latency", latency)
	} else {
		d.nFailed.Add(1)
		delay := ep.Backoff(attempts + 1)
		res.NextDue, res.Error = now.Add(delay), errText
		if cloud && ep.Dialect == DialectCloud && res.NextDue.Sub(oldest(hooks)) > CloudGiveUp {
			// Meta stops retrying after 7 days (cloud-api.md §7.3): the webhook stays in the
			// outbox, visibly given up, until redelivered.
			res.NextDue, res.Error = now.Add(givenUpFor), GivenUpPrefix+errText
			d.log.Warn("webhook delivery given up after 7 days", "business", business, "url", logURL(ep.URL), "webhooks", len(ids))
		}
		d.log.Info("webhook delivery failed; will retry", "business", business, "url", logURL(ep.URL),
			"webhooks", len(ids), "status", status, "err", errText, "attempt", attempts+1, "retry_in", delay)
	}
	// A delivered attempt keeps no copy of its body: the webhooks it carried hold the same bytes,
	// and writing them twice cost 7–10 % of end-to-end throughput on SQLite
	// (docs/benchmarks.md, third session). RequestBody rebuilds it; a failed attempt keeps it.
	kept := body
	if ok {
		kept = nil
	}
	d.record(ctx, store.Attempt{
		Business:   business,
		URL:        redacted(ep.URL),
		Request:    kept,
		Status:     status,
		Response:   resp,
		LatencyMS:  latency.Milliseconds(),
		Error:      errText,
		WebhookIDs: ids,
		At:         at,
	}, res)
}

// oldest is the earliest creation time of hooks.
func oldest(hooks []store.Webhook) time.Time {
	t := hooks[0].CreatedAt
	for _, w := range hooks[1:] {
		if w.CreatedAt.Before(t) {
			t = w.CreatedAt
		}
	}
	return t
}

// post sends body and classifies the answer: errText is empty only for HTTP 200 (§12.1). A
// Cloud body is signed in CloudSignatureHeader with the app secret.
func (d *Dispatcher) post(ctx context.Context, ep Endpoint, body []byte, cloud bool) (status int, resp []byte, errText string) {
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Sprintf("cannot build the request to the webhook URL: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "waba-webhook")
	switch {
	case cloud && ep.SignatureSecret != "":
		req.Header.Set(CloudSignatureHeader, Sign(ep.SignatureSecret, body))
	case ep.SignatureSecret != "":
		req.Header.Set(SignatureHeader, Sign(ep.SignatureSecret, body))
	}
	r, err := d.client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, nil, fmt.Sprintf("no answer within %s", d.o.Timeout)
		}
		return 0, nil, err.Error()
	}
	defer r.Body.Close()
	resp, _ = io.ReadAll(io.LimitReader(r.Body, maxResponse))
	// Read a little more so the connection can be reused; a huge answer is cut off.
	io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
	switch {
	case r.StatusCode == http.StatusOK:
		return r.StatusCode, resp, ""
	case r.StatusCode >= 300 && r.StatusCode < 400:
		return r.StatusCode, resp, fmt.Sprintf("HTTP %d: redirects are not followed; only HTTP 200 acknowledges a webhook", r.StatusCode)
	default:
		return r.StatusCode, resp, fmt.Sprintf("HTTP %d: only HTTP 200 acknowledges a webhook", r.StatusCode)
	}
}

// record stores an attempt and its result. If the store fails, the webhooks stay pending as
// they were and go out again: at least once.
func (d *Dispatcher) record(ctx context.Context, a store.Attempt, r store.WebhookResult) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := d.st.RecordAttempt(ctx, a, r); err != nil {
		d.log.Error("record webhook attempt", "business", a.Business, "webhooks", len(r.IDs), "err", err)
	}
}

// redacted is the URL for the attempt log: without a password.
func redacted(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

// logURL is the URL for the log: scheme, host and path, no credentials or query (either may
// hold a token).
func logURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}
