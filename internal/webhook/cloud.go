package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openwaba/waba/internal/store"
)

// Cloud delivery (shared/reference/webhooks.md §1, §1.3; cloud-api.md §7.2–§7.4).
//
// A Cloud body is the Graph envelope around one change:
//
//	{"object":"whatsapp_business_account","entry":[{"id":"<WABA_ID>",
//	  "changes":[{"value":{…},"field":"messages"}]}]}
//
// By default each POST carries one status, one message or one error: clients such as pywa and
// whatsapp-api-js read only entry[0].changes[0].value and its first element (webhooks.md §1).
// With Endpoint.Batch, up to CloudMaxBatch values of one kind (and at most CloudMaxBody bytes)
// are merged into one value; messages and statuses never share a value.
//
// The body is ASCII-only (ASCII below) and signed with the app secret in CloudSignatureHeader.
// It is a pure function of the webhooks it carries and the WABA id, so a retry resends the
// same bytes with the same signature.

// CloudSignatureHeader is Cloud's webhook signature header (cloud-api.md §7.2).
const CloudSignatureHeader = "X-Hub-Signature-256"

// DialectCloud is Endpoint.Dialect for numbers whose webhooks are delivered in the Cloud format.
const DialectCloud = "cloud"

// Cloud limits (cloud-api.md §7.3).
const (
	CloudMaxBatch = 1000    // updates per POST, when batching is on
	CloudMaxBody  = 3 << 20 // bytes per POST
)

// Cloud retry schedule. Meta retries "with decreasing frequency" for up to 7 days (cloud-api.md
// §7.3, retry (A); retry (B) says 36 hours: the longer window is kept so nothing is dropped
// early). waba's schedule, as §7.3 suggests: a near-immediate first retry, then exponential
// growth, 4^(n-1) seconds after the n-th failure (1 s, 4 s, 16 s, 64 s, 4 min 16 s, 17 min,
// 68 min), capped at CloudMaxBackoff. Once the next attempt would fall more than CloudGiveUp
// after the webhook was created, it is given up: it stays in the outbox, pending but due only
// in the far future (givenUpFor), with its last error starting "given up", and the attempt log
// keeps every try. Redelivery or RetryNow brings it back.
const (
	CloudMaxBackoff = time.Hour
	CloudGiveUp     = 7 * 24 * time.Hour
	givenUpFor      = 100 * 365 * 24 * time.Hour
)

// GivenUpPrefix starts the last error of a Cloud webhook that is no longer retried.
const GivenUpPrefix = "given up after 7 days of retries: "

// CloudBackoff is the delay before the next attempt of a Cloud webhook that has now failed
// attempts times.
func CloudBackoff(attempts int) time.Duration {
	if attempts < 1 {
		attempts = 1
	}
	d := time.Second
	for i := 1; i < attempts; i++ {
		d *= 4
		if d >= CloudMaxBackoff {
			return CloudMaxBackoff
		}
	}
	return d
}

// isCloudKind reports whether a stored webhook kind holds a Cloud value.
func isCloudKind(kind string) bool { return strings.HasPrefix(kind, "cloud.") }

// ASCII rewrites JSON text so that it is ASCII-only (webhooks.md §1.3): every code point above
// 0x7E, DEL included, becomes a lowercase \uXXXX escape, and astral characters a UTF-16
// surrogate pair (👍 → \ud83d\udc4d). Such code points appear only inside JSON strings, where
// the escape means the same character, so the document's meaning is unchanged. Invalid UTF-8
// becomes \ufffd, as encoding/json would write it.
func ASCII(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < 0x7f {
		i++
	}
	if i == len(b) {
		return b
	}
	const hex = "0123456789abcdef"
	out := make([]byte, i, len(b)+16)
	copy(out, b[:i])
	u := func(r rune) {
		out = append(out, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	for i < len(b) {
		c := b[i]
		if c < 0x7f {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			u(0xd800 + r>>10)
			u(0xdc00 + r&0x3ff)
			continue
		}
		u(r) // DEL, the BMP, and RuneError for invalid bytes
	}
	return out
}

// asciiLen is len(ASCII(b)) without building it.
func asciiLen(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		if b[i] < 0x7f {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if r >= 0x10000 {
			n += 12
		} else {
			n += 6
		}
	}
	return n
}

// cloudValue is a stored Cloud value taken apart for merging.
type cloudValue struct {
	MessagingProduct string            `json:"messaging_product"`
	Metadata         json.RawMessage   `json:"metadata"`
	Contacts         []json.RawMessage `json:"contacts"`
	Messages         []json.RawMessage `json:"messages"`
	Statuses         []json.RawMessage `json:"statuses"`
	Errors           []json.RawMessage `json:"errors"`
}

// CloudBody builds the Cloud body for webhooks of one Cloud kind of one business: the envelope
// with entry id wabaID and one change whose value merges the webhooks' values (one webhook: its
// value as stored, compacted). The result is ASCII-only. It returns the body and the ids it
// carries; webhooks whose payload cannot be used are returned in bad, with the reason.
func CloudBody(wabaID string, hooks []store.Webhook) (body []byte, ids []int64, bad []store.Webhook, reason string) {
	if len(hooks) == 0 {
		return nil, nil, nil, ""
	}
	kind := hooks[0].Kind
	if kind == store.WebhookCloudTemplate {
		return templateBody(wabaID, hooks)
	}
	var merged cloudValue
	var items int
	for _, w := range hooks {
		var v cloudValue
		err := error(nil)
		if w.Kind != kind {
			err = fmt.Errorf("kind %q in a batch of %q", w.Kind, kind)
		} else if e := json.Unmarshal(w.Payload, &v); e != nil {
			err = fmt.Errorf("payload is not a Cloud value: %w", e)
		} else if len(v.Metadata) == 0 {
			err = fmt.Errorf("payload has no metadata")
		}
		var list []json.RawMessage
		if err == nil {
			switch kind {
			case store.WebhookCloudStatus:
				list = v.Statuses
			case store.WebhookCloudMessage:
				list = v.Messages
			case store.WebhookCloudError:
				list = v.Errors
			default:
				err = fmt.Errorf("unknown Cloud webhook kind %q", kind)
			}
			if err == nil && len(list) == 0 {
				err = fmt.Errorf("payload has no %s entry", strings.TrimPrefix(kind, "cloud."))
			}
		}
		if err != nil {
			bad = append(bad, w)
			reason = fmt.Sprintf("not sent: webhook %d has an unusable payload: %v", w.ID, err)
			continue
		}
		if items == 0 {
			merged.MessagingProduct, merged.Metadata = v.MessagingProduct, v.Metadata
		}
		for _, c := range v.Contacts {
			if !containsBytes(rawList(merged.Contacts), c) {
				merged.Contacts = append(merged.Contacts, c)
			}
		}
		switch kind {
		case store.WebhookCloudStatus:
			merged.Statuses = append(merged.Statuses, list...)
		case store.WebhookCloudMessage:
			merged.Messages = append(merged.Messages, list...)
		default:
			merged.Errors = append(merged.Errors, list...)
		}
		items++
		ids = append(ids, w.ID)
	}
	if len(ids) == 0 {
		return nil, nil, bad, reason
	}
	value, err := json.Marshal(struct {
		MessagingProduct string            `json:"messaging_product"`
		Metadata         json.RawMessage   `json:"metadata"`
		Contacts         []json.RawMessage `json:"contacts,omitempty"`
		Messages         []json.RawMessage `json:"messages,omitempty"`
		Statuses         []json.RawMessage `json:"statuses,omitempty"`
		Errors           []json.RawMessage `json:"errors,omitempty"`
	}(merged))
	if err != nil { // stored JSON that json.Unmarshal accepted always re-encodes
		return nil, nil, hooks, fmt.Sprintf("not sent: cannot encode the Cloud value: %v", err)
	}
	var b bytes.Buffer
	b.WriteString(`{"object":"whatsapp_business_account","entry":[{"id":`)
	id, _ := json.Marshal(wabaID)
	b.Write(id)
	b.WriteString(`,"changes":[{"value":`)
	b.Write(value)
	b.WriteString(`,"field":"messages"}]}]}`)
	return ASCII(b.Bytes()), ids, bad, reason
}

// templateBody is the body of a `message_template_status_update` webhook (webhooks.md §6): the
// entry carries `time`, the change's field names the template update. One per POST (cloudBatches
// never merges them); any further webhooks passed are left for their own POSTs.
func templateBody(wabaID string, hooks []store.Webhook) (body []byte, ids []int64, bad []store.Webhook, reason string) {
	w := hooks[0]
	var p struct {
		Time  int64           `json:"time"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(w.Payload, &p); err != nil || len(p.Value) == 0 || p.Value[0] != '{' {
		return nil, nil, []store.Webhook{w}, fmt.Sprintf("not sent: webhook %d has an unusable template payload", w.ID)
	}
	var v bytes.Buffer
	if err := json.Compact(&v, p.Value); err != nil {
		return nil, nil, []store.Webhook{w}, fmt.Sprintf("not sent: webhook %d has an unusable template payload: %v", w.ID, err)
	}
	var b bytes.Buffer
	id, _ := json.Marshal(wabaID)
	fmt.Fprintf(&b, `{"entry":[{"id":%s,"time":%d,"changes":[{"value":`, id, p.Time)
	b.Write(v.Bytes())
	b.WriteString(`,"field":"message_template_status_update"}]}],"object":"whatsapp_business_account"}`)
	return ASCII(b.Bytes()), []int64{w.ID}, nil, ""
}

func rawList(l []json.RawMessage) [][]byte {
	out := make([][]byte, len(l))
	for i, r := range l {
		out[i] = r
	}
	return out
}

// cloudBatches splits the webhooks of one POST group (one kind, one attempt count) into Cloud
// POSTs: one webhook each, or with batch up to CloudMaxBatch whose values fit CloudMaxBody.
func cloudBatches(g []store.Webhook, batch bool) [][]store.Webhook {
	var out [][]store.Webhook
	if !batch || g[0].Kind == store.WebhookCloudTemplate {
		for i := range g {
			out = append(out, g[i:i+1:i+1])
		}
		return out
	}
	const envelope = 512 // the envelope and merged value's own keys, generously
	for len(g) > 0 {
		n, size := 0, envelope
		for n < len(g) && n < CloudMaxBatch {
			s := asciiLen(g[n].Payload)
			if n > 0 && size+s > CloudMaxBody {
				break
			}
			size += s
			n++
		}
		out = append(out, g[:n:n])
		g = g[n:]
	}
	return out
}
