package onprem

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/openwaba/waba/internal/network"
	"github.com/openwaba/waba/internal/wa"
)

// StatusEntry renders one entry of a status webhook's `statuses` in the On-Prem shape
// (shared/reference/onprem-api.md §12.4, webhooks.md §3):
//
//	{"id":"gBEG…","recipient_id":"15551230001","status":"sent","timestamp":"1609879800",
//	 "type":"message","message":{"recipient_id":"15551230001"},
//	 "conversation":{"id":"…","expiration_timestamp":1609966200,"origin":{"type":"business_initiated"}},
//	 "pricing":{"billable":true,"pricing_model":"CBP","category":"business_initiated"}}
//
// `recipient_id` is emitted both at the top level and in `message`, as §12.4 advises for
// clients on either side of v2.45. `expiration_timestamp` appears on `sent` only, as an integer.
// Failed entries carry `errors` and no conversation or pricing.
func StatusEntry(messageID int64, recipient string, ev network.Event) []byte {
	type origin struct {
		Type string `json:"type"`
	}
	type conversation struct {
		ID                  string `json:"id"`
		ExpirationTimestamp int64  `json:"expiration_timestamp,omitempty"`
		Origin              origin `json:"origin"`
	}
	type pricing struct {
		Billable     bool   `json:"billable"`
		PricingModel string `json:"pricing_model"`
		Category     string `json:"category"`
	}
	type message struct {
		RecipientID string `json:"recipient_id"`
	}
	out := struct {
		ID           string        `json:"id"`
		RecipientID  string        `json:"recipient_id"`
		Status       string        `json:"status"`
		Timestamp    string        `json:"timestamp"`
		Type         string        `json:"type"`
		Message      message       `json:"message"`
		Conversation *conversation `json:"conversation,omitempty"`
		Pricing      *pricing      `json:"pricing,omitempty"`
		Errors       []ErrorObject `json:"errors,omitempty"`
	}{
		ID:          wa.OnPremID(messageID, false),
		RecipientID: recipient,
		Status:      ev.Status,
		Timestamp:   unixString(ev.At),
		Type:        "message",
		Message:     message{RecipientID: recipient},
	}
	if c := ev.Conversation; c != nil && ev.Status != "failed" {
		out.Conversation = &conversation{ID: c.ID, Origin: origin{Type: c.Origin}}
		if ev.Status == "sent" {
			out.Conversation.ExpirationTimestamp = c.Expires.Unix()
		}
		out.Pricing = &pricing{Billable: true, PricingModel: "CBP", Category: c.Origin}
	}
	if ev.Err != nil {
		code, title := ev.Err.OnPrem.Code, ev.Err.OnPrem.Title
		out.Errors = []ErrorObject{{Code: code, Title: title, Details: ev.Details}}
	}
	b, _ := json.Marshal(out)
	return b
}

// InboundEntry renders an inbound message for the webhook outbox as
// `{"contact":{"profile":{"name"},"wa_id"},"message":{"from","id","timestamp","type",<type>:…}}`;
// the webhook dispatcher puts the contact into `contacts` and the message into `messages`
// (onprem-api.md §12.2–§12.3). body is the message part as the user sent it ({"type":"text",
// "text":{…}}, possibly with "context").
func InboundEntry(messageID int64, from, name string, at time.Time, body map[string]any) []byte {
	msg := make(map[string]any, len(body)+4)
	for k, v := range body {
		msg[k] = v
	}
	msg["from"] = from
	msg["id"] = wa.OnPremID(messageID, true)
	msg["timestamp"] = unixString(at)
	entry := map[string]any{"message": msg}
	if body["type"] != "system" {
		// System messages come without a `contacts` block (webhooks.md §2.8).
		entry["contact"] = map[string]any{"profile": map[string]any{"name": name}, "wa_id": from}
	}
	b, _ := json.Marshal(entry)
	return b
}

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
