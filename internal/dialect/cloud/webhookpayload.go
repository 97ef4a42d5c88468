package cloud

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/openwaba/waba/internal/media"
	"github.com/openwaba/waba/internal/network"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// The Cloud webhook renderers below produce one change's `value` object, which the webhook
// dispatcher wraps in the `{"object":"whatsapp_business_account","entry":[…]}` envelope at
// delivery time (shared/reference/webhooks.md §1.1, cloud-api.md §7.4):
//
//	{"messaging_product":"whatsapp",
//	 "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
//	 "contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234","user_id":"US.…"}],
//	 "statuses":[…]}            (or "messages":[…], or "errors":[…])
//
// Each value carries exactly one status, message or error; batching several into one value is
// the dispatcher's job (opt-in, webhooks.md §1).

// DefaultGraphVersion is the webhook shape of a number without a GraphVersion.
const DefaultGraphVersion = "v24.0"

// ErrorHref is the `href` of Cloud webhook error objects (webhooks.md §3.4, §4).
const ErrorHref = "/documentation/business-messaging/whatsapp/support/error-codes"

// WebhookNumber is what a Cloud webhook says about the business number it concerns.
type WebhookNumber struct {
	Phone         string // display_phone_number, digits
	PhoneNumberID string
	GraphVersion  string // "v24.0"; empty means DefaultGraphVersion
}

type metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

type profile struct {
	Name string `json:"name"`
}

// contact is an entry of `contacts`, with the business-scoped user id clients read since 2026
// (webhooks.md §3.7).
type contact struct {
	Profile profile `json:"profile"`
	WaID    string  `json:"wa_id"`
	UserID  string  `json:"user_id,omitempty"`
}

// ErrorObject is a Cloud webhook error (webhooks.md §1.2, §3.4):
//
//	{"code":131049,"title":"…","message":"…","error_data":{"details":"…"},
//	 "href":"/documentation/business-messaging/whatsapp/support/error-codes"}
type ErrorObject struct {
	Code      int             `json:"code"`
	Title     string          `json:"title"`
	Message   string          `json:"message"`
	ErrorData ErrorObjectData `json:"error_data"`
	Href      string          `json:"href"`
}

// ErrorObjectData is an ErrorObject's error_data.
type ErrorObjectData struct {
	Details string `json:"details"`
}

// webhookError renders a catalogue condition as a Cloud webhook error. A condition without a
// Cloud code is reported as 131000 "Something went wrong" (errors.md), as the send route does.
func webhookError(c *waerr.Condition, details string) ErrorObject {
	cc := waerr.Internal.Cloud
	if c != nil && c.Cloud.Code != 0 {
		cc = c.Cloud
	}
	if details == "" {
		details = cc.Title
	}
	return ErrorObject{Code: cc.Code, Title: cc.Title, Message: cc.Title, ErrorData: ErrorObjectData{Details: details}, Href: ErrorHref}
}

// UserID is the business-scoped user id waba gives a user (webhooks.md §3.7): "US." and 19
// digits derived from the business and the user's wa_id, stable across restarts. Meta's
// format is opaque; this one only needs to be stable and distinct per business.
func UserID(business, waID string) string {
	h := sha256.Sum256([]byte(business + "|" + waID))
	n := binary.BigEndian.Uint64(h[:8]) % 9_000_000_000_000_000_000
	return "US." + strconv.FormatUint(n+1_000_000_000_000_000_000, 10)
}

// graphAtLeast reports whether version ("v24.0") is major or newer; an unreadable version is
// the default's.
func graphAtLeast(version string, major int) bool {
	if version == "" {
		version = DefaultGraphVersion
	}
	v := strings.TrimPrefix(version, "v")
	if i := strings.IndexByte(v, '.'); i >= 0 {
		v = v[:i]
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return true
	}
	return n >= major
}

// StatusValue renders a status webhook's value (webhooks.md §3, §5; cloud-api.md §7.6):
//
//	{"id":"wamid.…","status":"sent","timestamp":"1750030073","recipient_id":"16505551234",
//	 "recipient_user_id":"US.…","biz_opaque_callback_data":"…",
//	 "pricing":{"billable":true,"pricing_model":"PMP","category":"marketing","type":"regular"}}
//
// payload is the message as stored (its biz_opaque_callback_data is echoed, and a template's
// waba_category sets the pricing category); name is the recipient's profile name for the
// `contacts` block, which non-failed statuses carry (webhooks.md §3.7). Conversation and
// pricing follow §5: `pricing` on sent and delivered; `conversation` on the same statuses only
// before v24.0 (from v24.0 it is omitted; waba has no free-entry-point windows). Failed
// statuses carry `errors` and neither. A reaction's status is rendered like any other; the
// network reports only `sent` for reactions (webhooks.md §3.6).
func StatusValue(n WebhookNumber, business string, messageID int64, recipient, name string, payload []byte, ev network.Event) []byte {
	type origin struct {
		Type string `json:"type"`
	}
	type conversation struct {
		ID                  string `json:"id"`
		ExpirationTimestamp string `json:"expiration_timestamp,omitempty"`
		Origin              origin `json:"origin"`
	}
	type pricing struct {
		Billable     bool   `json:"billable"`
		PricingModel string `json:"pricing_model"`
		Category     string `json:"category"`
		Type         string `json:"type"`
	}
	type status struct {
		ID              string        `json:"id"`
		Status          string        `json:"status"`
		Timestamp       string        `json:"timestamp"`
		RecipientID     string        `json:"recipient_id"`
		RecipientUserID string        `json:"recipient_user_id,omitempty"`
		BizOpaque       string        `json:"biz_opaque_callback_data,omitempty"`
		Conversation    *conversation `json:"conversation,omitempty"`
		Pricing         *pricing      `json:"pricing,omitempty"`
		Errors          []ErrorObject `json:"errors,omitempty"`
	}
	var msg struct {
		BizOpaque string `json:"biz_opaque_callback_data"`
		Category  string `json:"waba_category"`
	}
	_ = json.Unmarshal(payload, &msg) // a payload without these keys renders without them
	v24 := graphAtLeast(n.GraphVersion, 24)
	st := status{
		ID:          wa.CloudID(messageID, false),
		Status:      ev.Status,
		Timestamp:   unixString(ev.At),
		RecipientID: recipient,
		BizOpaque:   msg.BizOpaque,
	}
	if v24 {
		st.RecipientUserID = UserID(business, recipient)
	}
	if c := ev.Conversation; c != nil && (ev.Status == "sent" || ev.Status == "delivered") {
		category, billable, typ := pricingOf(c.Origin, msg.Category)
		st.Pricing = &pricing{Billable: billable, PricingModel: "PMP", Category: category, Type: typ}
		if !v24 {
			st.Conversation = &conversation{ID: c.ID, Origin: origin{Type: category}}
			if ev.Status == "sent" {
				st.Conversation.ExpirationTimestamp = unixString(c.Expires)
			}
		}
	}
	out := struct {
		MessagingProduct string    `json:"messaging_product"`
		Metadata         metadata  `json:"metadata"`
		Contacts         []contact `json:"contacts,omitempty"`
		Statuses         []status  `json:"statuses"`
	}{MessagingProduct: "whatsapp", Metadata: metadata{n.Phone, n.PhoneNumberID}}
	if ev.Status == "failed" || ev.Err != nil {
		st.Errors = []ErrorObject{webhookError(ev.Err, ev.Details)}
	} else {
		out.Contacts = []contact{{Profile: profile{Name: name}, WaID: recipient}}
		if v24 {
			out.Contacts[0].UserID = st.RecipientUserID
		}
	}
	out.Statuses = []status{st}
	b, _ := json.Marshal(out)
	return b
}

// pricingOf is the per-message pricing of a message (webhooks.md §5, PMP): the template's
// category, else `service` for a free-form reply; inside the customer service window
// (user_initiated) service and utility messages are free (`free_customer_service`).
func pricingOf(origin, templateCategory string) (category string, billable bool, typ string) {
	category = strings.ToLower(templateCategory)
	if category == "" {
		category = "service"
	}
	if origin == "user_initiated" && (category == "service" || category == "utility") {
		return category, false, "free_customer_service"
	}
	return category, true, "regular"
}

// InboundValue renders an inbound message's value (webhooks.md §2, cloud-api.md §7.5): the
// `contacts` block (none for system messages, §2.8) and one Cloud message. body is the message
// part as the user sent it, in the On-Prem vocabulary the network speaks; it is translated:
// a voice note becomes `audio` with `voice:true`, an unknown type becomes `unsupported` with
// error 131051 (§2.9), a number change names the new number in `wa_id`, local media paths
// (`file`) are dropped and a quoted On-Prem id in `context` becomes a wamid. From v24.0 the
// message carries `from_user_id` and the contact `user_id` (§3.7).
//
// mediaURL, when not nil, makes the `url` a stored media's object carries next to its Graph id
// (webhooks.md §2.2: "newer payloads also carry url"; the voice and sticker examples show it):
// the signed download URL GET /{media-id} would answer (MediaURL), fetched with the bearer
// token. It is made when the message is rendered and lives five minutes of virtual time like
// any media URL (cloud-api.md §5); a webhook delivered later (retries, an endpoint that was
// down) carries an expired URL, and the client calls GET /{media-id} for a fresh one, as on
// Meta. waba adds it for every Graph version: the references do not say which version began it.
func InboundValue(n WebhookNumber, business string, messageID int64, from, name string, at time.Time, body map[string]any, mediaURL func(graphID string) string) []byte {
	typ, _ := body["type"].(string)
	msg := make(map[string]any, len(body)+4)
	for k, v := range body {
		msg[k] = v
	}
	if kind, details, ok := media.DownloadError(body); ok {
		// errors.md §2.6: 131052 rides on the inbound message; there is no file to name.
		delete(msg, kind)
		msg["errors"] = []ErrorObject{webhookError(waerr.MediaDownload, details)}
	}
	switch typ {
	case "voice":
		audio := map[string]any{}
		if v, ok := body["voice"].(map[string]any); ok {
			for k, x := range v {
				audio[k] = x
			}
		}
		audio["voice"] = true
		delete(msg, "voice")
		msg["type"], msg["audio"] = "audio", audio
	case "unknown", "unsupported":
		delete(msg, "unknown")
		msg["type"] = "unsupported"
		if _, ok := msg["unsupported"]; !ok {
			msg["unsupported"] = map[string]any{"type": "unknown"}
		}
		msg["errors"] = []ErrorObject{webhookError(waerr.UnknownMessageType, "Message type is currently not supported.")}
	case "system":
		if s, ok := body["system"].(map[string]any); ok {
			sys := make(map[string]any, len(s))
			for k, v := range s {
				sys[k] = v
			}
			if nw, ok := sys["new_wa_id"]; ok {
				delete(sys, "new_wa_id")
				sys["wa_id"] = nw
			}
			if sys["type"] == "user_identity_changed" {
				// No current Cloud system message; the older SDK enum (webhooks.md §2.8).
				sys["type"] = "customer_identity_changed"
			}
			msg["system"] = sys
		}
	}
	for _, kind := range []string{"image", "video", "audio", "document", "sticker"} {
		if m, ok := msg[kind].(map[string]any); ok {
			// Cloud media ids are numeric (cloud-api.md §5; webhooks.md §1.2): the stored
			// UUID becomes the Graph id GET /{media-id} answers; the local path is On-Prem's.
			c := make(map[string]any, len(m))
			for k, v := range m {
				if k != "file" {
					c[k] = v
				}
			}
			if id, ok := m["id"].(string); ok {
				if gid, ok := media.GraphID(id); ok {
					c["id"] = gid
					if mediaURL != nil {
						if u := mediaURL(gid); u != "" {
							c["url"] = u
						}
					}
				}
			}
			msg[kind] = c
		}
	}
	if ctx, ok := body["context"].(map[string]any); ok {
		c := make(map[string]any, len(ctx))
		for k, v := range ctx {
			c[k] = v
		}
		if s, ok := c["id"].(string); ok {
			if id, inbound, ok := wa.ParseOnPremID(s); ok {
				c["id"] = wa.CloudID(id, inbound)
			}
		}
		msg["context"] = c
	}
	msg["from"] = from
	msg["id"] = wa.CloudID(messageID, true)
	msg["timestamp"] = unixString(at)
	value := map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          metadata{n.Phone, n.PhoneNumberID},
		"messages":          []any{msg},
	}
	v24 := graphAtLeast(n.GraphVersion, 24)
	if v24 {
		msg["from_user_id"] = UserID(business, from) // webhooks.md §3.7
	}
	if typ != "system" {
		c := contact{Profile: profile{Name: name}, WaID: from}
		if v24 {
			c.UserID = UserID(business, from)
		}
		value["contacts"] = []contact{c}
	}
	b, _ := json.Marshal(value)
	return b
}

// ErrorValue renders a top-level error webhook's value (webhooks.md §4).
func ErrorValue(n WebhookNumber, c *waerr.Condition, details string) []byte {
	b, _ := json.Marshal(struct {
		MessagingProduct string        `json:"messaging_product"`
		Metadata         metadata      `json:"metadata"`
		Errors           []ErrorObject `json:"errors"`
	}{"whatsapp", metadata{n.Phone, n.PhoneNumberID}, []ErrorObject{webhookError(c, details)}})
	return b
}

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
