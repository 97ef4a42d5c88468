package cloud

import (
	"encoding/json"
	"github.com/openwaba/waba/internal/media"
	"regexp"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/network"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

const (
	business  = "15550783881"
	recipient = "16505551234"
)

var (
	at   = time.Unix(1750030073, 0).UTC()
	num  = WebhookNumber{Phone: business, PhoneNumberID: "106540352242922"}
	meta = `"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}`
)

func TestUserID(t *testing.T) {
	a, b := UserID(business, recipient), UserID(business, recipient)
	if a != b || !regexp.MustCompile(`^US\.[1-9]\d{18}$`).MatchString(a) {
		t.Fatalf("UserID = %q, %q", a, b)
	}
	if UserID("15550000000", recipient) == a {
		t.Error("user ids are not business-scoped")
	}
}

func TestStatusValue(t *testing.T) {
	uid := UserID(business, recipient)
	conv := &network.Conversation{ID: "72b14d6bd5407799e66f64d1b338e567", Origin: "business_initiated", Expires: at.Add(24 * time.Hour)}
	template := []byte(`{"to":"16505551234","type":"template","biz_opaque_callback_data":"campaign-42","waba_category":"MARKETING"}`)
	for _, tc := range []struct {
		name    string
		n       WebhookNumber
		payload []byte
		ev      network.Event
		want    string
	}{
		{
			name: "v24 sent: contacts, pricing, no conversation, opaque data echoed", n: num, payload: template,
			ev: network.Event{Status: "sent", At: at, Conversation: conv},
			want: `{` + meta + `,"contacts":[{"profile":{"name":"Zoë"},"wa_id":"16505551234","user_id":"` + uid + `"}],` +
				`"statuses":[{"id":"` + wa.CloudID(9, false) + `","status":"sent","timestamp":"1750030073","recipient_id":"16505551234","recipient_user_id":"` + uid + `",` +
				`"biz_opaque_callback_data":"campaign-42","pricing":{"billable":true,"pricing_model":"PMP","category":"marketing","type":"regular"}}]}`,
		},
		{
			name: "v24 read: no pricing", n: num, payload: []byte(`{"type":"text"}`),
			ev: network.Event{Status: "read", At: at, Conversation: conv},
			want: `{` + meta + `,"contacts":[{"profile":{"name":"Zoë"},"wa_id":"16505551234","user_id":"` + uid + `"}],` +
				`"statuses":[{"id":"` + wa.CloudID(9, false) + `","status":"read","timestamp":"1750030073","recipient_id":"16505551234","recipient_user_id":"` + uid + `"}]}`,
		},
		{
			name: "v23 sent in the window: conversation with a string expiration, free service", n: WebhookNumber{Phone: business, PhoneNumberID: "106540352242922", GraphVersion: "v23.0"},
			payload: []byte(`{"type":"text"}`),
			ev:      network.Event{Status: "sent", At: at, Conversation: &network.Conversation{ID: "c1", Origin: "user_initiated", Expires: at.Add(time.Hour)}},
			want: `{` + meta + `,"contacts":[{"profile":{"name":"Zoë"},"wa_id":"16505551234"}],` +
				`"statuses":[{"id":"` + wa.CloudID(9, false) + `","status":"sent","timestamp":"1750030073","recipient_id":"16505551234",` +
				`"conversation":{"id":"c1","expiration_timestamp":"1750033673","origin":{"type":"service"}},` +
				`"pricing":{"billable":false,"pricing_model":"PMP","category":"service","type":"free_customer_service"}}]}`,
		},
		{
			name: "failed: Cloud error object, no contacts", n: num, payload: []byte(`{"type":"text"}`),
			ev: network.Event{Status: "failed", At: at, Err: waerr.WindowClosed, Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
			want: `{` + meta + `,"statuses":[{"id":"` + wa.CloudID(9, false) + `","status":"failed","timestamp":"1750030073","recipient_id":"16505551234","recipient_user_id":"` + uid + `",` +
				`"errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message",` +
				`"error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},` +
				`"href":"/documentation/business-messaging/whatsapp/support/error-codes"}]}]}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := StatusValue(tc.n, business, 9, recipient, "Zoë", tc.payload, tc.ev)
			if string(got) != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestInboundValue(t *testing.T) {
	uid := UserID(business, recipient)
	id := wa.CloudID(5, true)
	contacts := `"contacts":[{"profile":{"name":"Sheena"},"wa_id":"16505551234","user_id":"` + uid + `"}]`
	gid, _ := media.GraphID("0b6f4a3c-5d2e-4f10-9a8b-7c6d5e4f3a2b")
	mediaURL := func(g string) string { return "https://waba.example.com/waba-media/" + g + "/1750030373/sig" }
	for _, tc := range []struct {
		name     string
		body     string
		mediaURL func(string) string
		want     string
	}{
		{
			name: "text reply quoting an outbound message",
			body: `{"type":"text","text":{"body":"hi"},"context":{"from":"15550783881","id":"` + wa.OnPremID(3, false) + `"}}`,
			want: `{` + contacts + `,"messages":[{"context":{"from":"15550783881","id":"` + wa.CloudID(3, false) + `"},"from":"16505551234","from_user_id":"` + uid + `","id":"` + id +
				`","text":{"body":"hi"},"timestamp":"1750030073","type":"text"}],` + meta + `}`,
		},
		{
			name: "voice note becomes audio with voice:true, without the local file",
			body: `{"type":"voice","voice":{"id":"m1","mime_type":"audio/ogg; codecs=opus","sha256":"abc","file":"/usr/local/wamedia/x"}}`,
			want: `{` + contacts + `,"messages":[{"audio":{"id":"m1","mime_type":"audio/ogg; codecs=opus","sha256":"abc","voice":true},"from":"16505551234","from_user_id":"` + uid + `","id":"` + id +
				`","timestamp":"1750030073","type":"audio"}],` + meta + `}`,
		},
		{
			name:     "stored image: Graph id and the signed url (webhooks.md §2.2 newer payloads)",
			body:     `{"type":"image","image":{"id":"0b6f4a3c-5d2e-4f10-9a8b-7c6d5e4f3a2b","mime_type":"image/jpeg","sha256":"abc","caption":"Taj Mahal"}}`,
			mediaURL: mediaURL,
			want: `{` + contacts + `,"messages":[{"from":"16505551234","from_user_id":"` + uid + `","id":"` + id + `","image":{"caption":"Taj Mahal","id":"` + gid +
				`","mime_type":"image/jpeg","sha256":"abc","url":"https://waba.example.com/waba-media/` + gid + `/1750030373/sig"},"timestamp":"1750030073","type":"image"}],` + meta + `}`,
		},
		{
			name:     "an id that is not a stored media gets no url",
			body:     `{"type":"sticker","sticker":{"id":"m2","mime_type":"image/webp","sha256":"abc"}}`,
			mediaURL: mediaURL,
			want:     `{` + contacts + `,"messages":[{"from":"16505551234","from_user_id":"` + uid + `","id":"` + id + `","sticker":{"id":"m2","mime_type":"image/webp","sha256":"abc"},"timestamp":"1750030073","type":"sticker"}],` + meta + `}`,
		},
		{
			name: "unknown becomes unsupported with 131051",
			body: `{"type":"unknown"}`,
			want: `{` + contacts + `,"messages":[{"errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown",` +
				`"error_data":{"details":"Message type is currently not supported."},"href":"/documentation/business-messaging/whatsapp/support/error-codes"}],` +
				`"from":"16505551234","from_user_id":"` + uid + `","id":"` + id + `","timestamp":"1750030073","type":"unsupported","unsupported":{"type":"unknown"}}],` + meta + `}`,
		},
		{
			name: "number change: wa_id, no contacts",
			body: `{"type":"system","system":{"body":"User A changed from +1 650-555-1234 to +1 219-555-5358","new_wa_id":"12195555358","type":"user_changed_number"}}`,
			want: `{"messages":[{"from":"16505551234","from_user_id":"` + uid + `","id":"` + id + `","system":{"body":"User A changed from +1 650-555-1234 to +1 219-555-5358","type":"user_changed_number","wa_id":"12195555358"},` +
				`"timestamp":"1750030073","type":"system"}],` + meta + `}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body map[string]any
			if err := json.Unmarshal([]byte(tc.body), &body); err != nil {
				t.Fatal(err)
			}
			got := InboundValue(num, business, 5, recipient, "Sheena", at, body, tc.mediaURL)
			if string(got) != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestErrorValue(t *testing.T) {
	got := ErrorValue(num, waerr.WindowClosed, "")
	want := `{` + meta + `,"errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"Re-engagement message"},"href":"/documentation/business-messaging/whatsapp/support/error-codes"}]}`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
