package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

const to = `"to":"15551230001"`

func textMsg(extra string) string {
	return `{` + to + `,"type":"text","text":{"body":"hi"}` + extra + `}`
}

func mediaMsg(kind, obj string) string {
	return `{` + to + `,"type":"` + kind + `","` + kind + `":` + obj + `}`
}

func interactive(obj string) string {
	return `{` + to + `,"type":"interactive","interactive":` + obj + `}`
}

// list builds a list message with the given action.sections JSON.
func list(sections string) string {
	return interactive(`{"type":"list","body":{"text":"b"},"action":{"button":"Choose","sections":` + sections + `}}`)
}

func rows(n int, prefix string) string {
	r := make([]string, n)
	for i := range r {
		r[i] = fmt.Sprintf(`{"id":"%s%d","title":"t%d"}`, prefix, i, i)
	}
	return "[" + strings.Join(r, ",") + "]"
}

func buttons(bs ...string) string {
	return interactive(`{"type":"button","body":{"text":"b"},"action":{"buttons":[` + strings.Join(bs, ",") + `]}}`)
}

func reply(id, title string) string {
	return fmt.Sprintf(`{"type":"reply","reply":{"id":%q,"title":%q}}`, id, title)
}

func productList(sections string) string {
	return interactive(`{"type":"product_list","header":{"type":"text","text":"h"},"body":{"text":"b"},"action":{"catalog_id":"c1","sections":` + sections + `}}`)
}

func items(n int) string {
	r := make([]string, n)
	for i := range r {
		r[i] = fmt.Sprintf(`{"product_retailer_id":"sku%d"}`, i)
	}
	return "[" + strings.Join(r, ",") + "]"
}

func flow(action string) string {
	return interactive(`{"type":"flow","body":{"text":"b"},"action":` + action + `}`)
}

const flowOK = `"flow_message_version":"3","flow_token":"tok","flow_id":"123","flow_cta":"Book","flow_action_payload":{"screen":"START"}`

func template(components string) string {
	return `{` + to + `,"type":"template","template":{"name":"order_update","language":{"policy":"deterministic","code":"en_US"},"components":` + components + `}}`
}

func body(params string) string {
	return template(`[{"type":"body","parameters":[` + params + `]}]`)
}

func hsm(obj string) string {
	return `{` + to + `,"type":"hsm","hsm":` + obj + `}`
}

const hsmOK = `"namespace":"ns","element_name":"el","language":{"policy":"deterministic","code":"en_US"},"localizable_params":[{"default":"$10"}]`

func cloud(rest string) string {
	return `{"messaging_product":"whatsapp",` + to + `,` + rest + `}`
}

func decode(t *testing.T, s string) *wa.Message {
	t.Helper()
	m := new(wa.Message)
	if err := json.Unmarshal([]byte(s), m); err != nil {
		t.Fatalf("test body does not decode: %v\n%s", err, s)
	}
	return m
}

type rule struct {
	name    string
	d       wa.Dialect // 0: On-Prem
	body    string
	code    int // On-Prem code of the condition; 0 = accepted
	details string
}

func runRules(t *testing.T, rules []rule) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.name] {
			t.Fatalf("duplicate case name %q", r.name)
		}
		seen[r.name] = true
		t.Run(r.name, func(t *testing.T) {
			d := r.d
			if d == 0 {
				d = wa.OnPrem
			}
			m := decode(t, r.body)
			err := Validate(m, d)
			if r.code == 0 {
				if err != nil {
					t.Fatalf("want acceptance, got %v", err)
				}
				return
			}
			e, ok := waerr.As(err)
			if !ok {
				t.Fatalf("want %d %q, got %v", r.code, r.details, err)
			}
			if e.Cond.OnPrem.Code != r.code || e.Details != r.details {
				t.Errorf("got  %d %s\nwant %d %s", e.Cond.OnPrem.Code, e.Details, r.code, r.details)
			}
		})
	}
}

// TestValidateEnvelope: onprem-api.md §8.1 top-level rules, in the WebApp's order.
func TestValidateEnvelope(t *testing.T) {
	runRules(t, []rule{
		{"accepted text", 0, textMsg(``), 0, ""},
		{"to missing", 0, `{"type":"text","text":{"body":"hi"}}`, 1008, "Missing mandatory parameter 'to'"},
		{"to empty", 0, `{"to":"","text":{"body":"hi"}}`, 1008, "Missing mandatory parameter 'to'"},
		{"to is checked before type", 0, `{"type":"xyz"}`, 1008, "Missing mandatory parameter 'to'"},
		{"type unknown", 0, `{` + to + `,"type":"xyz"}`, 1009, "Parameter 'type' has invalid value 'xyz'; the On-Premises API supports: text, image, audio, video, document, sticker, location, contacts, interactive, template, hsm"},
		{"type reaction is not On-Prem", 0, `{` + to + `,"type":"reaction","reaction":{"message_id":"x","emoji":"👍"}}`, 1009, "Parameter 'type' has invalid value 'reaction'; the On-Premises API supports: text, image, audio, video, document, sticker, location, contacts, interactive, template, hsm"},
		{"type defaults to text", 0, `{` + to + `,"text":{"body":"hi"}}`, 0, ""},
		{"recipient_type group", 0, textMsg(`,"recipient_type":"group"`), 1002, "Parameter 'recipient_type' has invalid value 'group'; the only supported value is 'individual'"},
		{"recipient_type other", 0, textMsg(`,"recipient_type":"business"`), 1002, "Parameter 'recipient_type' has invalid value 'business'; the only supported value is 'individual'"},
		{"recipient_type individual", 0, textMsg(`,"recipient_type":"individual"`), 0, ""},
		{"status is not part of a send", 0, textMsg(`,"status":"read"`), 1010, "Parameter 'status' is not required for type 'text'; to mark a message read, send PUT /v1/messages/{message-id} with {\"status\":\"read\"}"},
		{"messaging_product is Cloud only", 0, textMsg(`,"messaging_product":"whatsapp"`), 1010, "Parameter 'messaging_product' is not a parameter of the On-Premises API (it belongs to the Cloud API)"},
		{"context is Cloud only", 0, textMsg(`,"context":{"message_id":"gBEG"}`), 1010, "Parameter 'context' is not a parameter of the On-Premises API (it belongs to the Cloud API)"},
		{"biz_opaque_callback_data is Cloud only", 0, textMsg(`,"biz_opaque_callback_data":"c42"`), 1010, "Parameter 'biz_opaque_callback_data' is not a parameter of the On-Premises API (it belongs to the Cloud API)"},
		{"recipient_identity_key_hash is Cloud only", 0, textMsg(`,"recipient_identity_key_hash":"h"`), 1010, "Parameter 'recipient_identity_key_hash' is not a parameter of the On-Premises API (it belongs to the Cloud API)"},
		{"ttl empty", 0, textMsg(`,"ttl":""`), 1009, "Parameter 'ttl' has invalid value '': empty TTL value not allowed"},
		{"ttl not a duration", 0, textMsg(`,"ttl":"4 days"`), 1009, "Parameter 'ttl' has invalid value '4 days'; send a positive number of seconds or an ISO-8601 duration such as 'P4D'"},
		{"ttl zero seconds", 0, textMsg(`,"ttl":0`), 1009, "Parameter 'ttl' has invalid value '0'; send a positive number of seconds or an ISO-8601 duration such as 'P4D'"},
		{"ttl ISO-8601", 0, textMsg(`,"ttl":"P1DT12H"`), 0, ""},
		{"ttl seconds as a number", 0, textMsg(`,"ttl":3600`), 0, ""},
		{"ttl seconds as a string", 0, textMsg(`,"ttl":"3600"`), 0, ""},
		{"type object missing", 0, `{` + to + `,"type":"image"}`, 1008, "Parameter 'image' is mandatory for type 'image'"},
		{"another type's object", 0, textMsg(`,"image":{"id":"m1"}`), 1010, "Parameter 'image' is not required for type 'text'"},
		{"another type's empty object is ignored", 0, textMsg(`,"image":{}`), 0, ""},
		{"hsm object with type text", 0, textMsg(`,"hsm":{"namespace":"ns"}`), 1010, "Parameter 'hsm' is not required for type 'text'"},
		{"to not a phone number", 0, `{"to":"whatsapp-id","text":{"body":"hi"}}`, 1009, "Parameter 'to' has invalid value 'whatsapp-id'; send a WhatsApp ID or a phone number in international format: 8 to 15 digits, optionally with '+', spaces, '-', '.', '(' and ')' (e.g. '+1 631 555 1234')"},
		{"to is checked after the shape", 0, `{"to":"whatsapp-id","text":{}}`, 1008, "Missing mandatory parameter 'text.body'"},
		{"to formatted phone number", 0, `{"to":"+1 (555) 123-0001","text":{"body":"hi"}}`, 0, ""},
	})
}

func TestValidateUnknownParams(t *testing.T) {
	m := decode(t, textMsg(``))
	m.UnknownParams = []wa.UnknownParam{{Path: "interactive.Header", Suggestion: "header"}, {Path: "foo"}}
	e, _ := waerr.As(Validate(m, wa.OnPrem))
	if e == nil || e.Cond != waerr.UnexpectedParam || e.Details != "Parameter 'interactive.Header' is not a parameter of the On-Premises API; did you mean 'header'? Parameter names are case-sensitive" {
		t.Fatalf("got %v", e)
	}
	m = decode(t, textMsg(``))
	m.UnknownParams = []wa.UnknownParam{{Path: "foo"}}
	e, _ = waerr.As(Validate(m, wa.OnPrem))
	if e == nil || e.Cond != waerr.UnexpectedParam || e.Details != "Parameter 'foo' is not a parameter of the On-Premises API" {
		t.Fatalf("got %v", e)
	}
	// `to`, `type` and `recipient_type` come first, as in the WebApp.
	m = decode(t, `{"type":"text"}`)
	m.UnknownParams = []wa.UnknownParam{{Path: "foo"}}
	e, _ = waerr.As(Validate(m, wa.OnPrem))
	if e == nil || e.Cond != waerr.MissingParam {
		t.Fatalf("got %v", e)
	}
}

// TestValidateText: onprem-api.md §8.3.
func TestValidateText(t *testing.T) {
	runRules(t, []rule{
		{"body missing", 0, `{` + to + `,"type":"text","text":{}}`, 1008, "Missing mandatory parameter 'text.body'"},
		{"text missing", 0, `{` + to + `,"type":"text"}`, 1008, "Parameter 'text' is mandatory for type 'text'"},
		{"body of 4096 characters", 0, `{` + to + `,"text":{"body":"` + strings.Repeat("é", 4096) + `"}}`, 0, ""},
		{"body over 4096 characters", 0, `{` + to + `,"text":{"body":"` + strings.Repeat("a", 4097) + `"}}`, 1001, "Parameter 'text.body' is too long: 4097 characters, the maximum is 4096"},
		{"body counted in characters, not bytes", 0, `{` + to + `,"text":{"body":"` + strings.Repeat("😀", 4097) + `"}}`, 1001, "Parameter 'text.body' is too long: 4097 characters, the maximum is 4096"},
		{"preview_url at the top level", 0, textMsg(`,"preview_url":true`), 0, ""},
		{"preview_url in text too", 0, `{` + to + `,"preview_url":true,"text":{"body":"hi","preview_url":true}}`, 0, ""},
		{"preview_url conflict", 0, `{` + to + `,"preview_url":true,"text":{"body":"hi","preview_url":false}}`, 1009, "Parameter 'preview_url' has value true but 'text.preview_url' has false; send one of them"},
		{"preview_url on a media message is dropped", 0, `{` + to + `,"type":"image","preview_url":true,"image":{"id":"m1"}}`, 0, ""},
	})
}

// TestValidateMedia: onprem-api.md §8.4, §8.7b.
func TestValidateMedia(t *testing.T) {
	runRules(t, []rule{
		{"image by id", 0, mediaMsg("image", `{"id":"m1","caption":"c"}`), 0, ""},
		{"image by link", 0, mediaMsg("image", `{"link":"https://e.com/a.png"}`), 0, ""},
		{"link with provider", 0, mediaMsg("video", `{"link":"http://e.com/a.mp4","provider":{"name":"p"}}`), 0, ""},
		{"id and link", 0, mediaMsg("image", `{"id":"m1","link":"https://e.com/a.png"}`), 1010, "Exactly one of the following parameters must be present: 'image.id', 'image.link'"},
		{"neither id nor link", 0, mediaMsg("image", `{"caption":"c"}`), 1008, "Missing mandatory parameter: one of 'image.id', 'image.link' must be present"},
		{"link not http", 0, mediaMsg("audio", `{"link":"ftp://e.com/a.ogg"}`), 1009, "Parameter 'audio.link' has invalid value 'ftp://e.com/a.ogg'; the link must be an http:// or https:// URL"},
		{"link without host", 0, mediaMsg("image", `{"link":"https:///a.png"}`), 1009, "Parameter 'image.link' has invalid value 'https:///a.png'; the link must be an http:// or https:// URL"},
		{"caption on audio", 0, mediaMsg("audio", `{"id":"m1","caption":"c"}`), 1010, "Parameter 'audio.caption' is not required for type 'audio'"},
		{"caption on sticker", 0, mediaMsg("sticker", `{"id":"m1","caption":"c"}`), 1010, "Parameter 'sticker.caption' is not required for type 'sticker'"},
		{"filename on image", 0, mediaMsg("image", `{"id":"m1","filename":"a.png"}`), 1010, "Parameter 'image.filename' is not required for type 'image'"},
		{"filename on document", 0, mediaMsg("document", `{"id":"m1","filename":"a.pdf"}`), 0, ""},
		{"caption of 1024 characters", 0, mediaMsg("video", `{"id":"m1","caption":"`+strings.Repeat("ü", 1024)+`"}`), 0, ""},
		{"caption over 1024 characters", 0, mediaMsg("image", `{"id":"m1","caption":"`+strings.Repeat("a", 1025)+`"}`), 1009, "Parameter 'image.caption' is too long: 1025 characters, the maximum is 1024"},
		{"document caption is accepted on On-Prem", 0, mediaMsg("document", `{"id":"m1","caption":"c"}`), 0, ""},
		{"document caption over 1024", 0, mediaMsg("document", `{"id":"m1","caption":"`+strings.Repeat("a", 1025)+`"}`), 1009, "Parameter 'document.caption' is too long: 1025 characters, the maximum is 1024"},
		{"provider with id", 0, mediaMsg("image", `{"id":"m1","provider":{"name":"p"}}`), 1010, "Parameter 'image.provider' is only used with 'image.link'"},
		{"provider without name", 0, mediaMsg("image", `{"link":"https://e.com/a.png","provider":{}}`), 1008, "Missing mandatory parameter 'image.provider.name'"},
		{"voice is Cloud only", 0, mediaMsg("audio", `{"id":"m1","voice":true}`), 1010, "Parameter 'audio.voice' is not a parameter of the On-Premises API (it belongs to the Cloud API)"},
	})
}

func TestValidateDocumentCaptionDropped(t *testing.T) {
	m := decode(t, mediaMsg("document", `{"id":"m1","caption":"Invoice 42"}`))
	if err := Validate(m, wa.OnPrem); err != nil {
		t.Fatal(err)
	}
	if m.Document.Caption != "" || m.DroppedCaption != "Invoice 42" {
		t.Fatalf("caption %q, dropped %q", m.Document.Caption, m.DroppedCaption)
	}
	if err := Validate(m, wa.OnPrem); err != nil || m.DroppedCaption != "Invoice 42" {
		t.Fatalf("second validation: %v, dropped %q", err, m.DroppedCaption)
	}
	// Cloud delivers document captions.
	m = decode(t, cloud(`"type":"document","document":{"id":"m1","caption":"Invoice 42"}`))
	if err := Validate(m, wa.Cloud); err != nil {
		t.Fatal(err)
	}
	if m.Document.Caption != "Invoice 42" || m.DroppedCaption != "" {
		t.Fatalf("cloud: caption %q, dropped %q", m.Document.Caption, m.DroppedCaption)
	}
}

func TestValidateDefaults(t *testing.T) {
	m := decode(t, `{`+to+`,"preview_url":true,"text":{"body":"hi"}}`)
	if err := Validate(m, wa.OnPrem); err != nil {
		t.Fatal(err)
	}
	if m.Type != "text" || m.RecipientType != "individual" || m.PreviewURL != nil || m.Text.PreviewURL == nil || !*m.Text.PreviewURL {
		t.Fatalf("defaults not applied: %+v %+v", m, m.Text)
	}
}

// TestValidateLocation: onprem-api.md §8.5, §19 item 4.
func TestValidateLocation(t *testing.T) {
	loc := func(obj string) string { return `{` + to + `,"type":"location","location":` + obj + `}` }
	runRules(t, []rule{
		{"all four fields", 0, loc(`{"latitude":37.7,"longitude":-122.4,"name":"HQ","address":"1 Hacker Way"}`), 0, ""},
		{"coordinates as strings", 0, loc(`{"latitude":"37.7","longitude":"-122.4","name":"HQ","address":"1 Hacker Way"}`), 0, ""},
		{"latitude missing", 0, loc(`{"longitude":-122.4,"name":"HQ","address":"a"}`), 1008, "Missing mandatory parameter 'location.latitude'"},
		{"longitude missing", 0, loc(`{"latitude":37.7,"name":"HQ","address":"a"}`), 1008, "Missing mandatory parameter 'location.longitude'"},
		{"latitude out of range", 0, loc(`{"latitude":91,"longitude":0,"name":"HQ","address":"a"}`), 1009, "Parameter 'location.latitude' has invalid value '91'; it must be between -90 and 90"},
		{"longitude out of range", 0, loc(`{"latitude":0,"longitude":-180.5,"name":"HQ","address":"a"}`), 1009, "Parameter 'location.longitude' has invalid value '-180.5'; it must be between -180 and 180"},
		{"name missing on On-Prem", 0, loc(`{"latitude":1,"longitude":2,"address":"a"}`), 1008, "Missing mandatory parameter 'location.name'"},
		{"address missing on On-Prem", 0, loc(`{"latitude":1,"longitude":2,"name":"n"}`), 1008, "Missing mandatory parameter 'location.address'"},
		{"name and address optional on Cloud", wa.Cloud, cloud(`"type":"location","location":{"latitude":"1","longitude":"2"}`), 0, ""},
	})
}

// TestValidateContacts: onprem-api.md §8.6.
func TestValidateContacts(t *testing.T) {
	cs := func(arr string) string { return `{` + to + `,"type":"contacts","contacts":` + arr + `}` }
	runRules(t, []rule{
		{"full card", 0, cs(`[{"name":{"formatted_name":"A B","first_name":"A"},"birthday":"1999-01-23","phones":[{"phone":"+1 555","type":"Mobile","wa_id":"1555"}],"emails":[{"email":"a@b.c","type":"Office"}]}]`), 0, ""},
		{"contacts missing", 0, `{` + to + `,"type":"contacts"}`, 1008, "Parameter 'contacts' is mandatory for type 'contacts'"},
		{"contacts empty", 0, cs(`[]`), 1008, "Parameter 'contacts' is mandatory for type 'contacts'"},
		{"name missing", 0, cs(`[{"birthday":"1999-01-23"}]`), 1008, "Missing mandatory parameter 'contacts[0].name'"},
		{"formatted_name missing", 0, cs(`[{"name":{"first_name":"A"}}]`), 1008, "Missing mandatory parameter 'contacts[0].name.formatted_name'"},
		{"formatted_name alone", 0, cs(`[{"name":{"formatted_name":"A"}},{"name":{"formatted_name":"B"}}]`), 1008, "Missing mandatory parameter: 'contacts[0].name' needs at least one of 'first_name', 'last_name', 'middle_name', 'suffix', 'prefix' besides 'formatted_name'"},
		{"second card checked", 0, cs(`[{"name":{"formatted_name":"A","prefix":"Dr."}},{"name":{"last_name":"B"}}]`), 1008, "Missing mandatory parameter 'contacts[1].name.formatted_name'"},
		{"birthday not YYYY-MM-DD", 0, cs(`[{"name":{"formatted_name":"A","suffix":"Jr."},"birthday":"23/01/1999"}]`), 1009, "Parameter 'contacts[0].birthday' has invalid value '23/01/1999'; use the format YYYY-MM-DD"},
		{"non-standard type values are accepted", 0, cs(`[{"name":{"formatted_name":"A","middle_name":"M"},"addresses":[{"type":"Office"}],"urls":[{"url":"u","type":"Company"}]}]`), 0, ""},
	})
}

// TestValidateInteractive: onprem-api.md §8.7 with the codes of §8.7b.
func TestValidateInteractive(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	runRules(t, []rule{
		// interactive.type
		{"type missing", 0, interactive(`{"body":{"text":"b"},"action":{}}`), 1008, "Missing mandatory parameter 'interactive.type'"},
		{"type unknown", 0, interactive(`{"type":"carousel","body":{"text":"b"},"action":{}}`), 1009, "Parameter 'interactive.type' has invalid value 'carousel'; the On-Premises API supports: list, button, product, product_list, catalog_message, flow"},
		{"cta_url is Cloud only", 0, interactive(`{"type":"cta_url","body":{"text":"b"},"action":{}}`), 1009, "Parameter 'interactive.type' has invalid value 'cta_url'; the On-Premises API supports: list, button, product, product_list, catalog_message, flow"},

		// header
		{"header not allowed for product", 0, interactive(`{"type":"product","header":{"type":"text","text":"h"},"action":{"catalog_id":"c","product_retailer_id":"p"}}`), 1010, "Parameter 'interactive.header' is not required for interactive type 'product'"},
		{"header required for product_list", 0, interactive(`{"type":"product_list","body":{"text":"b"},"action":{"catalog_id":"c","sections":[{"product_items":[{"product_retailer_id":"p"}]}]}}`), 1008, "Parameter 'interactive.header' is mandatory for interactive type 'product_list'"},
		{"header type missing", 0, interactive(`{"type":"list","header":{"text":"h"},"body":{"text":"b"},"action":{}}`), 1008, "Missing mandatory parameter 'interactive.header.type'"},
		{"header type not allowed for list", 0, interactive(`{"type":"list","header":{"type":"image","image":{"id":"m"}},"body":{"text":"b"},"action":{}}`), 1009, "Parameter 'interactive.header.type' has invalid value 'image'; interactive type 'list' allows: text"},
		{"header text missing", 0, buttonsWithHeader(`{"type":"text"}`), 1008, "Missing mandatory parameter 'interactive.header.text'"},
		{"header media missing", 0, buttonsWithHeader(`{"type":"video"}`), 1008, "Missing mandatory parameter 'interactive.header.video'"},
		{"header with a second kind of content", 0, buttonsWithHeader(`{"type":"text","text":"h","image":{"id":"m"}}`), 2036, "Parameter 'interactive.header.image' does not belong in a header of type 'text'; a header holds only the content of its type"},
		{"header text of 60 characters", 0, buttonsWithHeader(`{"type":"text","text":"` + long(60) + `"}`), 0, ""},
		{"header text over 60", 0, buttonsWithHeader(`{"type":"text","text":"` + long(61) + `"}`), 1009, "Parameter 'interactive.header.text' is too long: 61 characters, the maximum is 60"},
		{"header text with markdown", 0, buttonsWithHeader(`{"type":"text","text":"*Sale* today"}`), 2017, "Parameter 'interactive.header.text' contains markdown ('*…*'); markdown is not allowed"},
		{"header text with a newline", 0, buttonsWithHeader(`{"type":"text","text":"a\nb"}`), 2017, "Parameter 'interactive.header.text' contains a newline; newlines are not allowed"},
		{"header text with emoji and underscores", 0, buttonsWithHeader(`{"type":"text","text":"Order_42 😀 5 * 3"}`), 0, ""},
		{"header document with filename", 0, buttonsWithHeader(`{"type":"document","document":{"link":"https://e.com/a.pdf","provider":{"name":"p"},"filename":"a.pdf"}}`), 0, ""},
		{"header media caption", 0, buttonsWithHeader(`{"type":"image","image":{"id":"m","caption":"c"}}`), 1010, "Parameter 'interactive.header.image.caption' is not required for interactive header 'image'"},
		{"header media link not http", 0, buttonsWithHeader(`{"type":"image","image":{"link":"http(s)://the-url"}}`), 1009, "Parameter 'interactive.header.image.link' has invalid value 'http(s)://the-url'; the link must be an http:// or https:// URL"},

		// body and footer
		{"body missing", 0, interactive(`{"type":"button","action":{"buttons":[` + reply("a", "A") + `]}}`), 1008, "Parameter 'interactive.body' is mandatory for interactive type 'button'"},
		{"body optional for product", 0, interactive(`{"type":"product","action":{"catalog_id":"c","product_retailer_id":"p"}}`), 0, ""},
		{"body text missing", 0, interactive(`{"type":"product","body":{},"action":{"catalog_id":"c","product_retailer_id":"p"}}`), 1008, "Missing mandatory parameter 'interactive.body.text'"},
		{"body over 1024", 0, interactive(`{"type":"button","body":{"text":"` + long(1025) + `"},"action":{"buttons":[` + reply("a", "A") + `]}}`), 1009, "Parameter 'interactive.body.text' is too long: 1025 characters, the maximum is 1024"},
		{"footer text missing", 0, interactive(`{"type":"button","body":{"text":"b"},"footer":{},"action":{"buttons":[` + reply("a", "A") + `]}}`), 1008, "Missing mandatory parameter 'interactive.footer.text'"},
		{"footer over 60", 0, interactive(`{"type":"button","body":{"text":"b"},"footer":{"text":"` + long(61) + `"},"action":{"buttons":[` + reply("a", "A") + `]}}`), 1009, "Parameter 'interactive.footer.text' is too long: 61 characters, the maximum is 60"},
		{"footer with markdown and a link", 0, interactive(`{"type":"button","body":{"text":"b"},"footer":{"text":"*Shop* https://e.com"},"action":{"buttons":[` + reply("a", "A") + `]}}`), 0, ""},

		// action
		{"action missing", 0, interactive(`{"type":"list","body":{"text":"b"}}`), 1008, "Missing mandatory parameter 'interactive.action'"},
		{"action field of another type", 0, interactive(`{"type":"list","body":{"text":"b"},"action":{"button":"B","buttons":[],"sections":[]}}`), 1010, "Parameter 'interactive.action.buttons' is not required for interactive type 'list'"},
		{"flow field on a list", 0, interactive(`{"type":"list","body":{"text":"b"},"action":{"button":"B","flow_cta":"x","sections":[]}}`), 1010, "Parameter 'interactive.action.flow_cta' is not required for interactive type 'list'"},
	})
}

func buttonsWithHeader(h string) string {
	return interactive(`{"type":"button","header":` + h + `,"body":{"text":"b"},"action":{"buttons":[` + reply("a", "A") + `]}}`)
}

// TestValidateList: list messages (§8.7; 2015 and 2016 per §8.7b).
func TestValidateList(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	withButton := func(b string) string {
		return interactive(`{"type":"list","body":{"text":"b"},"action":{"button":"` + b + `","sections":[{"rows":[{"id":"1","title":"t"}]}]}}`)
	}
	runRules(t, []rule{
		{"one section of one row", 0, list(`[{"rows":[{"id":"1","title":"t"}]}]`), 0, ""},
		{"ten rows in two sections", 0, list(`[{"title":"A","rows":` + rows(5, "a") + `},{"title":"B","rows":` + rows(5, "b") + `}]`), 0, ""},
		{"button missing", 0, interactive(`{"type":"list","body":{"text":"b"},"action":{"sections":[{"rows":[{"id":"1","title":"t"}]}]}}`), 1008, "Missing mandatory parameter 'interactive.action.button'"},
		{"button over 20", 0, withButton(long(21)), 1009, "Parameter 'interactive.action.button' is too long: 21 characters, the maximum is 20"},
		{"button with markdown", 0, withButton("_Pick_"), 2017, "Parameter 'interactive.action.button' contains markdown ('_…_'); markdown is not allowed"},
		{"sections missing", 0, interactive(`{"type":"list","body":{"text":"b"},"action":{"button":"B"}}`), 1008, "Missing mandatory parameter 'interactive.action.sections'"},
		{"no sections", 0, list(`[]`), 2015, "Parameter 'interactive.action.sections' has 0 sections; it must have 1 to 10"},
		{"eleven sections", 0, list(`[` + strings.Repeat(`{"title":"s","rows":[{"id":"1","title":"t"}]},`, 10) + `{"title":"s","rows":[{"id":"2","title":"t"}]}]`), 2015, "Parameter 'interactive.action.sections' has 11 sections; it must have 1 to 10"},
		{"section without rows", 0, list(`[{"title":"A","rows":[{"id":"1","title":"t"}]},{"title":"B","rows":[]}]`), 2016, "Parameter 'interactive.action.sections[1].rows' has no rows; every section needs at least 1 row"},
		{"eleven rows in all", 0, list(`[{"title":"A","rows":` + rows(6, "a") + `},{"title":"B","rows":` + rows(5, "b") + `}]`), 2016, "Parameter 'interactive.action.sections' has 11 rows in total; at most 10 rows are allowed across all sections"},
		{"product_items in a list", 0, list(`[{"rows":[{"id":"1","title":"t"}],"product_items":[{"product_retailer_id":"p"}]}]`), 1010, "Parameter 'interactive.action.sections[0].product_items' is not required for interactive type 'list'"},
		{"section title required with two sections", 0, list(`[{"title":"A","rows":[{"id":"1","title":"t"}]},{"rows":[{"id":"2","title":"t"}]}]`), 1008, "Missing mandatory parameter 'interactive.action.sections[1].title': a title is required when there is more than one section"},
		{"section title over 24", 0, list(`[{"title":"` + long(25) + `","rows":[{"id":"1","title":"t"}]}]`), 1009, "Parameter 'interactive.action.sections[0].title' is too long: 25 characters, the maximum is 24"},
		{"row id missing", 0, list(`[{"rows":[{"title":"t"}]}]`), 1008, "Missing mandatory parameter 'interactive.action.sections[0].rows[0].id'"},
		{"row id over 200", 0, list(`[{"rows":[{"id":"` + long(201) + `","title":"t"}]}]`), 1009, "Parameter 'interactive.action.sections[0].rows[0].id' is too long: 201 characters, the maximum is 200"},
		{"row ids repeat across sections", 0, list(`[{"title":"A","rows":[{"id":"r","title":"t"}]},{"title":"B","rows":[{"id":"x","title":"t"},{"id":"r","title":"u"}]}]`), 1009, "Parameter 'interactive.action.sections[1].rows[1].id' has the value 'r' already used at 'interactive.action.sections[0].rows[0].id'; row ids must be unique"},
		{"row title missing", 0, list(`[{"rows":[{"id":"1"}]}]`), 1008, "Missing mandatory parameter 'interactive.action.sections[0].rows[0].title'"},
		{"row title over 24", 0, list(`[{"title":"A","rows":[{"id":"1","title":"t"}]},{"title":"B","rows":[{"id":"2","title":"` + long(25) + `"}]}]`), 1009, "Parameter 'interactive.action.sections[1].rows[0].title' is too long: 25 characters, the maximum is 24"},
		{"row description over 72", 0, list(`[{"rows":[{"id":"1","title":"t","description":"` + long(73) + `"}]}]`), 1009, "Parameter 'interactive.action.sections[0].rows[0].description' is too long: 73 characters, the maximum is 72"},
	})
}

// TestValidateReplyButtons: reply buttons (§8.7; counts and duplicates 1009, characters 2017).
func TestValidateReplyButtons(t *testing.T) {
	runRules(t, []rule{
		{"three buttons", 0, buttons(reply("a", "A"), reply("b", "B"), reply("c", "C")), 0, ""},
		{"buttons missing", 0, interactive(`{"type":"button","body":{"text":"b"},"action":{}}`), 1008, "Missing mandatory parameter 'interactive.action.buttons'"},
		{"no buttons", 0, buttons(), 1009, "Parameter 'interactive.action.buttons' has 0 buttons; it must have 1 to 3"},
		{"four buttons", 0, buttons(reply("a", "A"), reply("b", "B"), reply("c", "C"), reply("d", "D")), 1009, "Parameter 'interactive.action.buttons' has 4 buttons; it must have 1 to 3"},
		{"button type missing", 0, buttons(`{"reply":{"id":"a","title":"A"}}`), 1008, "Missing mandatory parameter 'interactive.action.buttons[0].type'"},
		{"button type not reply", 0, buttons(`{"type":"url","reply":{"id":"a","title":"A"}}`), 1009, "Parameter 'interactive.action.buttons[0].type' has invalid value 'url'; the only supported value is 'reply'"},
		{"reply missing", 0, buttons(`{"type":"reply"}`), 1008, "Missing mandatory parameter 'interactive.action.buttons[0].reply'"},
		{"id missing", 0, buttons(`{"type":"reply","reply":{"title":"A"}}`), 1008, "Missing mandatory parameter 'interactive.action.buttons[0].reply.id'"},
		{"id of 256 characters", 0, buttons(reply(strings.Repeat("i", 256), "A")), 0, ""},
		{"id over 256", 0, buttons(reply(strings.Repeat("i", 257), "A")), 1009, "Parameter 'interactive.action.buttons[0].reply.id' is too long: 257 characters, the maximum is 256"},
		{"id with a leading space", 0, buttons(reply(" a", "A")), 2017, "Parameter 'interactive.action.buttons[0].reply.id' has leading or trailing spaces"},
		{"id with a trailing space", 0, buttons(reply("a", "A"), reply("b ", "B")), 2017, "Parameter 'interactive.action.buttons[1].reply.id' has leading or trailing spaces"},
		{"duplicate ids", 0, buttons(reply("a", "A"), reply("a", "B")), 1009, "Parameter 'interactive.action.buttons[1].reply.id' has the value 'a' already used at 'interactive.action.buttons[0].reply.id'; button ids must be unique"},
		{"title missing", 0, buttons(`{"type":"reply","reply":{"id":"a"}}`), 1008, "Missing mandatory parameter 'interactive.action.buttons[0].reply.title'"},
		{"title of 20 characters with emoji", 0, buttons(reply("a", strings.Repeat("x", 19)+"👍")), 0, ""},
		{"title over 20", 0, buttons(reply("a", "Second Button’s Title")), 1009, "Parameter 'interactive.action.buttons[0].reply.title' is too long: 21 characters, the maximum is 20"},
		{"title with markdown", 0, buttons(reply("a", "~Old~ New")), 2017, "Parameter 'interactive.action.buttons[0].reply.title' contains markdown ('~…~'); markdown is not allowed"},
		{"title with monospace", 0, buttons(reply("a", "```code```")), 2017, "Parameter 'interactive.action.buttons[0].reply.title' contains markdown ('```'); markdown is not allowed"},
		{"title with a newline", 0, buttons(reply("a", "Yes\nNo")), 2017, "Parameter 'interactive.action.buttons[0].reply.title' contains a newline; newlines are not allowed"},
		{"duplicate titles", 0, buttons(reply("a", "Yes"), reply("b", "Yes")), 1009, "Parameter 'interactive.action.buttons[1].reply.title' has the value 'Yes' already used at 'interactive.action.buttons[0].reply.title'; button titles must be unique"},
	})
}

// TestValidateProducts: single and multi-product messages (§8.7; 2015 and 2023 per §8.7b).
func TestValidateProducts(t *testing.T) {
	product := func(action string) string {
		return interactive(`{"type":"product","body":{"text":"b"},"action":` + action + `}`)
	}
	runRules(t, []rule{
		{"product", 0, product(`{"catalog_id":"c","product_retailer_id":"p"}`), 0, ""},
		{"product catalog_id missing", 0, product(`{"product_retailer_id":"p"}`), 1008, "Missing mandatory parameter 'interactive.action.catalog_id'"},
		{"product retailer id missing", 0, product(`{"catalog_id":"c"}`), 1008, "Missing mandatory parameter 'interactive.action.product_retailer_id'"},
		{"product retailer id over 100", 0, product(`{"catalog_id":"c","product_retailer_id":"` + strings.Repeat("p", 101) + `"}`), 1009, "Parameter 'interactive.action.product_retailer_id' is too long: 101 characters, the maximum is 100"},
		{"product with sections", 0, product(`{"catalog_id":"c","product_retailer_id":"p","sections":[]}`), 1010, "Parameter 'interactive.action.sections' is not required for interactive type 'product'"},
		{"product list of 30 products", 0, productList(`[{"title":"A","product_items":` + items(15) + `},{"title":"B","product_items":` + items(15) + `}]`), 0, ""},
		{"product list header must be text", 0, interactive(`{"type":"product_list","header":{"type":"image","image":{"id":"m"}},"body":{"text":"b"},"action":{"catalog_id":"c","sections":[{"product_items":[{"product_retailer_id":"p"}]}]}}`), 1009, "Parameter 'interactive.header.type' has invalid value 'image'; interactive type 'product_list' allows: text"},
		{"product list catalog_id missing", 0, interactive(`{"type":"product_list","header":{"type":"text","text":"h"},"body":{"text":"b"},"action":{"sections":[{"product_items":[{"product_retailer_id":"p"}]}]}}`), 1008, "Missing mandatory parameter 'interactive.action.catalog_id'"},
		{"product list without sections", 0, productList(`[]`), 2015, "Parameter 'interactive.action.sections' has 0 sections; it must have 1 to 10"},
		{"product list section without products", 0, productList(`[{"title":"A","product_items":[{"product_retailer_id":"p"}]},{"title":"B"}]`), 2023, "Parameter 'interactive.action.sections[1].product_items' has no products; every section needs at least 1 product"},
		{"product list of 31 products", 0, productList(`[{"title":"A","product_items":` + items(16) + `},{"title":"B","product_items":` + items(15) + `}]`), 2023, "Parameter 'interactive.action.sections' has 31 products in total; at most 30 products are allowed across all sections"},
		{"product list rows", 0, productList(`[{"product_items":[{"product_retailer_id":"p"}],"rows":[{"id":"1","title":"t"}]}]`), 1010, "Parameter 'interactive.action.sections[0].rows' is not required for interactive type 'product_list'"},
		{"product list retailer id missing", 0, productList(`[{"product_items":[{}]}]`), 1008, "Missing mandatory parameter 'interactive.action.sections[0].product_items[0].product_retailer_id'"},
		{"product list retailer id over 100", 0, productList(`[{"product_items":[{"product_retailer_id":"` + strings.Repeat("p", 101) + `"}]}]`), 1009, "Parameter 'interactive.action.sections[0].product_items[0].product_retailer_id' is too long: 101 characters, the maximum is 100"},
		{"product list section title required with two sections", 0, productList(`[{"title":"A","product_items":[{"product_retailer_id":"p"}]},{"product_items":[{"product_retailer_id":"q"}]}]`), 1008, "Missing mandatory parameter 'interactive.action.sections[1].title': a title is required when there is more than one section"},
		{"catalog message", 0, interactive(`{"type":"catalog_message","body":{"text":"b"},"action":{"name":"catalog_message","parameters":{"thumbnail_product_retailer_id":"sku"}}}`), 0, ""},
		{"catalog message name missing", 0, interactive(`{"type":"catalog_message","body":{"text":"b"},"action":{}}`), 1008, "Missing mandatory parameter 'interactive.action.name'"},
		{"catalog message name wrong", 0, interactive(`{"type":"catalog_message","body":{"text":"b"},"action":{"name":"catalog"}}`), 1009, "Parameter 'interactive.action.name' has invalid value 'catalog'; use 'catalog_message'"},
		{"catalog message thumbnail over 100", 0, interactive(`{"type":"catalog_message","body":{"text":"b"},"action":{"name":"catalog_message","parameters":{"thumbnail_product_retailer_id":"` + strings.Repeat("p", 101) + `"}}}`), 1009, "Parameter 'interactive.action.parameters.thumbnail_product_retailer_id' is too long: 101 characters, the maximum is 100"},
		{"catalog message header", 0, interactive(`{"type":"catalog_message","header":{"type":"text","text":"h"},"body":{"text":"b"},"action":{"name":"catalog_message"}}`), 1010, "Parameter 'interactive.header' is not required for interactive type 'catalog_message'"},
	})
}

// TestValidateFlow: Flow messages (§8.7 flow action fields; 2017 for emoji per §8.7b).
func TestValidateFlow(t *testing.T) {
	runRules(t, []rule{
		{"seed shape", 0, flow(`{` + flowOK + `}`), 0, ""},
		{"Cloud shape on On-Prem", 0, flow(`{"name":"flow","parameters":{` + flowOK + `}}`), 0, ""},
		{"both shapes", 0, flow(`{"flow_cta":"Go","parameters":{` + flowOK + `}}`), 1010, "Parameter 'interactive.action.flow_cta' is not required: send the Flow parameters either in 'interactive.action' or in 'interactive.action.parameters', not both"},
		{"name not flow", 0, flow(`{"name":"cta_url","parameters":{` + flowOK + `}}`), 1009, "Parameter 'interactive.action.name' has invalid value 'cta_url'; use 'flow'"},
		{"no parameters at all", 0, flow(`{"name":"flow"}`), 1008, "Missing mandatory parameter 'interactive.action.parameters'"},
		{"flow_message_version missing", 0, flow(`{"flow_token":"t","flow_id":"1","flow_cta":"Go","flow_action_payload":{"screen":"S"}}`), 1008, "Missing mandatory parameter 'interactive.action.flow_message_version'"},
		{"flow_message_version not 3", 0, flow(`{"flow_message_version":"2","flow_token":"t","flow_id":"1","flow_cta":"Go"}`), 1009, "Parameter 'interactive.action.flow_message_version' has invalid value '2'; the only supported value is '3'"},
		{"flow_token missing", 0, flow(`{"flow_message_version":"3","flow_id":"1","flow_cta":"Go"}`), 1008, "Missing mandatory parameter 'interactive.action.flow_token'"},
		{"flow_id missing", 0, flow(`{"name":"flow","parameters":{"flow_message_version":"3","flow_token":"t","flow_cta":"Go"}}`), 1008, "Missing mandatory parameter 'interactive.action.parameters.flow_id'"},
		{"flow_name is Cloud only", 0, flow(`{"flow_message_version":"3","flow_token":"t","flow_name":"n","flow_cta":"Go"}`), 1010, "Parameter 'interactive.action.flow_name' is not a parameter of the On-Premises API (it belongs to the Cloud API)"},
		{"flow_cta missing", 0, flow(`{"flow_message_version":"3","flow_token":"t","flow_id":"1"}`), 1008, "Missing mandatory parameter 'interactive.action.flow_cta'"},
		{"flow_cta over 20", 0, flow(`{"flow_message_version":"3","flow_token":"t","flow_id":"1","flow_cta":"Book your appointment"}`), 1009, "Parameter 'interactive.action.flow_cta' is too long: 21 characters, the maximum is 20"},
		{"flow_cta with emoji", 0, flow(`{"flow_message_version":"3","flow_token":"t","flow_id":"1","flow_cta":"Book 📅"}`), 2017, "Parameter 'interactive.action.flow_cta' contains an emoji; emoji are not allowed"},
		{"flow_cta with markdown", 0, flow(`{"flow_message_version":"3","flow_token":"t","flow_id":"1","flow_cta":"*Book*"}`), 2017, "Parameter 'interactive.action.flow_cta' contains markdown ('*…*'); markdown is not allowed"},
		{"mode invalid", 0, flow(`{` + flowOK + `,"mode":"live"}`), 1009, "Parameter 'interactive.action.mode' has invalid value 'live'; use 'draft' or 'published'"},
		{"mode draft", 0, flow(`{` + flowOK + `,"mode":"draft"}`), 0, ""},
		{"flow_action invalid", 0, flow(`{` + flowOK + `,"flow_action":"open"}`), 1009, "Parameter 'interactive.action.flow_action' has invalid value 'open'; use 'navigate' or 'data_exchange'"},
		{"payload required for navigate", 0, flow(`{"flow_message_version":"3","flow_token":"t","flow_id":"1","flow_cta":"Go"}`), 1008, "Missing mandatory parameter 'interactive.action.flow_action_payload': it is required when flow_action is 'navigate' (the default)"},
		{"payload not for data_exchange", 0, flow(`{` + flowOK + `,"flow_action":"data_exchange"}`), 1010, "Parameter 'interactive.action.flow_action_payload' is not required for flow_action 'data_exchange'"},
		{"data_exchange without payload", 0, flow(`{"flow_message_version":"3","flow_token":"t","flow_id":"1","flow_cta":"Go","flow_action":"data_exchange"}`), 0, ""},
		{"screen missing", 0, flow(`{"flow_message_version":"3","flow_token":"t","flow_id":"1","flow_cta":"Go","flow_action_payload":{"data":{"a":1}}}`), 1008, "Missing mandatory parameter 'interactive.action.flow_action_payload.screen'"},
		{"data empty", 0, flow(`{"flow_message_version":"3","flow_token":"t","flow_id":"1","flow_cta":"Go","flow_action_payload":{"screen":"S","data":{}}}`), 1009, "Parameter 'interactive.action.flow_action_payload.data' has invalid value '{}'; it must be a non-empty JSON object"},
		{"data not an object", 0, flow(`{"flow_message_version":"3","flow_token":"t","flow_id":"1","flow_cta":"Go","flow_action_payload":{"screen":"S","data":[1]}}`), 1009, "Parameter 'interactive.action.flow_action_payload.data' has invalid value '[1]'; it must be a non-empty JSON object"},
		{"flow header text", 0, interactive(`{"type":"flow","header":{"type":"text","text":"h"},"body":{"text":"b"},"action":{` + flowOK + `}}`), 0, ""},
		{"flow body missing", 0, interactive(`{"type":"flow","action":{` + flowOK + `}}`), 1008, "Parameter 'interactive.body' is mandatory for interactive type 'flow'"},
	})
}

// TestValidateTemplate: onprem-api.md §14.1.
func TestValidateTemplate(t *testing.T) {
	tpl := func(tmpl string) string { return `{` + to + `,"type":"template","template":` + tmpl + `}` }
	button := func(subType, index, params string) string {
		return template(`[{"type":"button","sub_type":"` + subType + `","index":` + index + `,"parameters":` + params + `}]`)
	}
	runRules(t, []rule{
		{"name and language only", 0, tpl(`{"name":"hello_world","language":{"policy":"deterministic","code":"en_US"}}`), 0, ""},
		{"namespace is optional", 0, tpl(`{"namespace":"cdb2df51_9816_c754_c5a4_64cdabdcad3e","name":"hello_world","language":{"policy":"deterministic","code":"en"}}`), 0, ""},
		{"name missing", 0, tpl(`{"language":{"policy":"deterministic","code":"en_US"}}`), 1008, "Missing mandatory parameter 'template.name'"},
		{"name with capitals", 0, tpl(`{"name":"Hello_World","language":{"policy":"deterministic","code":"en_US"}}`), 1009, "Parameter 'template.name' has invalid value 'Hello_World'; template names are lowercase letters, digits and '_'"},
		{"name over 512", 0, tpl(`{"name":"` + strings.Repeat("n", 513) + `","language":{"policy":"deterministic","code":"en_US"}}`), 1009, "Parameter 'template.name' is too long: 513 characters, the maximum is 512"},
		{"language missing", 0, tpl(`{"name":"t"}`), 1008, "Missing mandatory parameter 'template.language'"},
		{"language code missing", 0, tpl(`{"name":"t","language":{"policy":"deterministic"}}`), 1008, "Missing mandatory parameter 'template.language.code'"},
		{"language code invalid", 0, tpl(`{"name":"t","language":{"policy":"deterministic","code":"english"}}`), 1009, "Parameter 'template.language.code' has invalid value 'english'; use a language code such as 'en' or 'en_US'"},
		{"language policy missing on On-Prem", 0, tpl(`{"name":"t","language":{"code":"en_US"}}`), 1008, "Missing mandatory parameter 'template.language.policy'"},
		{"language policy invalid", 0, tpl(`{"name":"t","language":{"policy":"strict","code":"en_US"}}`), 1009, "Parameter 'template.language.policy' has invalid value 'strict'; use 'deterministic' ('fallback' is deprecated since v2.27.8)"},
		{"language policy fallback", 0, tpl(`{"name":"t","language":{"policy":"fallback","code":"en_US"}}`), 0, ""},
		{"fallback with a media header", 0, tpl(`{"name":"t","language":{"policy":"fallback","code":"en_US"},"components":[{"type":"header","parameters":[{"type":"image","image":{"id":"m"}}]}]}`), 1009, "Parameter 'template.language.policy' has invalid value 'fallback'; media templates allow only 'deterministic'"},

		{"component type missing", 0, template(`[{"parameters":[]}]`), 1008, "Missing mandatory parameter 'template.components[0].type'"},
		{"component type invalid", 0, template(`[{"type":"carousel"}]`), 1009, "Parameter 'template.components[0].type' has invalid value 'carousel'; use one of: header, body, footer, button"},
		{"component type in capitals", 0, template(`[{"type":"BODY","parameters":[{"type":"text","text":"x"}]}]`), 0, ""},
		{"two body components", 0, template(`[{"type":"body"},{"type":"body"}]`), 1009, "Parameter 'template.components[1].type' has the value 'body' already used at 'template.components[0]'; a template has one body component"},
		{"sub_type on a body", 0, template(`[{"type":"body","sub_type":"url"}]`), 1010, "Parameter 'template.components[0].sub_type' is not required for component type 'body'"},
		{"index on a header", 0, template(`[{"type":"header","index":0}]`), 1010, "Parameter 'template.components[0].index' is not required for component type 'header'"},
		{"footer parameters", 0, template(`[{"type":"footer","parameters":[{"type":"text","text":"x"}]}]`), 1010, "Parameter 'template.components[0].parameters' is not required for component type 'footer'"},

		{"quick_reply with an integer index", 0, button("quick_reply", `0`, `[{"type":"payload","payload":"Yes"}]`), 0, ""},
		{"url with a string index", 0, button("url", `"1"`, `[{"type":"text","text":"suffix"}]`), 0, ""},
		{"copy_code", 0, button("copy_code", `9`, `[{"type":"coupon_code","coupon_code":"DISCOUNT20"}]`), 0, ""},
		{"sub_type missing", 0, template(`[{"type":"button","index":0,"parameters":[{"type":"payload","payload":"p"}]}]`), 1008, "Missing mandatory parameter 'template.components[0].sub_type'"},
		{"sub_type invalid", 0, button("flow", `0`, `[]`), 1009, "Parameter 'template.components[0].sub_type' has invalid value 'flow'; the On-Premises API supports: quick_reply, url, copy_code"},
		{"index missing", 0, template(`[{"type":"button","sub_type":"url","parameters":[{"type":"text","text":"s"}]}]`), 1008, "Missing mandatory parameter 'template.components[0].index'"},
		{"index 10", 0, button("url", `10`, `[{"type":"text","text":"s"}]`), 1009, "Parameter 'template.components[0].index' has invalid value '10'; it must be a button position from 0 to 9"},
		{"index not a number", 0, button("url", `"first"`, `[{"type":"text","text":"s"}]`), 1009, "Parameter 'template.components[0].index' has invalid value 'first'; it must be a button position from 0 to 9"},
		{"index with a fraction", 0, button("url", `1.5`, `[{"type":"text","text":"s"}]`), 1009, "Parameter 'template.components[0].index' has invalid value '1.5'; it must be a button position from 0 to 9"},
		{"duplicate index", 0, template(`[{"type":"button","sub_type":"quick_reply","index":0,"parameters":[{"type":"payload","payload":"a"}]},{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"b"}]}]`), 1009, "Parameter 'template.components[1].index' has the value '0' already used at 'template.components[0].index'; each button index may appear once"},
		{"button parameters missing", 0, button("quick_reply", `0`, `[]`), 1008, "Missing mandatory parameter 'template.components[0].parameters': a quick_reply button needs a 'payload' parameter"},
		{"quick_reply with a text parameter", 0, button("quick_reply", `0`, `[{"type":"text","text":"x"}]`), 1009, "Parameter 'template.components[0].parameters[0].type' has invalid value 'text'; a quick_reply button takes a 'payload' parameter"},
		{"payload missing", 0, button("quick_reply", `0`, `[{"type":"payload"}]`), 1008, "Missing mandatory parameter 'template.components[0].parameters[0].payload'"},
		{"url text missing", 0, button("url", `0`, `[{"type":"text"}]`), 1008, "Missing mandatory parameter 'template.components[0].parameters[0].text'"},
		{"coupon_code missing", 0, button("copy_code", `0`, `[{"type":"coupon_code"}]`), 1008, "Missing mandatory parameter 'template.components[0].parameters[0].coupon_code'"},
		{"button parameter type missing", 0, button("url", `0`, `[{"text":"s"}]`), 1008, "Missing mandatory parameter 'template.components[0].parameters[0].type'"},

		{"parameter type missing", 0, body(`{"text":"x"}`), 1008, "Missing mandatory parameter 'template.components[0].parameters[0].type'"},
		{"parameter type invalid", 0, body(`{"type":"payload","payload":"x"}`), 1009, "Parameter 'template.components[0].parameters[0].type' has invalid value 'payload'; the On-Premises API supports: text, currency, date_time, image, document, video"},
		{"media parameter in the body", 0, body(`{"type":"image","image":{"id":"m"}}`), 1009, "Parameter 'template.components[0].parameters[0].type' has invalid value 'image'; media parameters belong in the header component"},
		{"text missing", 0, body(`{"type":"text"}`), 1008, "Missing mandatory parameter 'template.components[0].parameters[0].text'"},
		{"text with a newline", 0, body(`{"type":"text","text":"a\nb"}`), 2006, "Parameter 'template.components[0].parameters[0].text' contains a newline; template parameters cannot contain newlines, tabs or more than 4 consecutive spaces"},
		{"text with a tab", 0, body(`{"type":"text","text":"a\tb"}`), 2006, "Parameter 'template.components[0].parameters[0].text' contains a tab; template parameters cannot contain newlines, tabs or more than 4 consecutive spaces"},
		{"text with five spaces", 0, body(`{"type":"text","text":"a     b"}`), 2006, "Parameter 'template.components[0].parameters[0].text' contains more than 4 consecutive spaces; template parameters cannot contain newlines, tabs or more than 4 consecutive spaces"},
		{"text with four spaces", 0, body(`{"type":"text","text":"a    b"}`), 0, ""},
		{"value of another type", 0, body(`{"type":"text","text":"x","currency":{"code":"USD"}}`), 1010, "Parameter 'template.components[0].parameters[0].currency' is not required for parameter type 'text'"},
		{"parameter_name is Cloud only", 0, body(`{"type":"text","parameter_name":"order_id","text":"x"}`), 1010, "Parameter 'template.components[0].parameters[0].parameter_name' is not a parameter of the On-Premises API (it belongs to the Cloud API)"},
		{"currency", 0, body(`{"type":"currency","currency":{"fallback_value":"$100.99","code":"USD","amount_1000":100990}}`), 0, ""},
		{"currency object missing", 0, body(`{"type":"currency"}`), 1008, "Missing mandatory parameter 'template.components[0].parameters[0].currency'"},
		{"currency fallback_value missing", 0, body(`{"type":"currency","currency":{"code":"USD","amount_1000":1}}`), 1008, "Missing mandatory parameter 'template.components[0].parameters[0].currency.fallback_value'"},
		{"currency code missing", 0, body(`{"type":"currency","currency":{"fallback_value":"$1","amount_1000":1}}`), 1008, "Missing mandatory parameter 'template.components[0].parameters[0].currency.code'"},
		{"currency code invalid", 0, body(`{"type":"currency","currency":{"fallback_value":"$1","code":"usd","amount_1000":1}}`), 1009, "Parameter 'template.components[0].parameters[0].currency.code' has invalid value 'usd'; use an ISO 4217 currency code such as 'USD'"},
		{"currency amount missing", 0, body(`{"type":"currency","currency":{"fallback_value":"$1","code":"USD"}}`), 1008, "Missing mandatory parameter 'template.components[0].parameters[0].currency.amount_1000'"},
		{"date_time by components", 0, body(`{"type":"date_time","date_time":{"fallback_value":"February 25, 1977","day_of_week":5,"day_of_month":25,"year":1977,"month":2,"hour":15,"minute":33}}`), 0, ""},
		{"date_time by timestamp", 0, body(`{"type":"date_time","date_time":{"fallback_value":"February 25, 1977","timestamp":1485470276}}`), 0, ""},
		{"date_time object missing", 0, body(`{"type":"date_time"}`), 1008, "Missing mandatory parameter 'template.components[0].parameters[0].date_time'"},
		{"date_time fallback_value missing", 0, body(`{"type":"date_time","date_time":{"timestamp":1}}`), 1008, "Missing mandatory parameter 'template.components[0].parameters[0].date_time.fallback_value'"},
		{"date_time timestamp and components", 0, body(`{"type":"date_time","date_time":{"fallback_value":"x","timestamp":1,"year":1977}}`), 1010, "Parameter 'template.components[0].parameters[0].date_time.timestamp' is not required when date components are given; send either 'timestamp' or the components"},
		{"date_time day_of_week 8", 0, body(`{"type":"date_time","date_time":{"fallback_value":"x","day_of_week":8}}`), 1009, "Parameter 'template.components[0].parameters[0].date_time.day_of_week' has invalid value '8'; it must be from 1 to 7"},
		{"date_time month 13", 0, body(`{"type":"date_time","date_time":{"fallback_value":"x","month":13}}`), 1009, "Parameter 'template.components[0].parameters[0].date_time.month' has invalid value '13'; it must be from 1 to 12"},
		{"date_time negative timestamp", 0, body(`{"type":"date_time","date_time":{"fallback_value":"x","timestamp":-1}}`), 1009, "Parameter 'template.components[0].parameters[0].date_time.timestamp' has invalid value '-1'; use seconds since 1970-01-01 UTC"},
		{"header media parameter", 0, template(`[{"type":"header","parameters":[{"type":"document","document":{"link":"https://e.com/a.pdf","filename":"a.pdf"}}]}]`), 0, ""},
		{"header media object missing", 0, template(`[{"type":"header","parameters":[{"type":"video"}]}]`), 1008, "Missing mandatory parameter 'template.components[0].parameters[0].video'"},
		{"header media link invalid", 0, template(`[{"type":"header","parameters":[{"type":"image","image":{"link":"example.com/a.png"}}]}]`), 1009, "Parameter 'template.components[0].parameters[0].image.link' has invalid value 'example.com/a.png'; the link must be an http:// or https:// URL"},
	})
}

// TestValidateHSM: onprem-api.md §14.2; shape first, then the retirement (§8.7b's 1008 for a
// missing localizable_params must be reachable).
func TestValidateHSM(t *testing.T) {
	runRules(t, []rule{
		{"well-formed hsm is retired", 0, hsm(`{` + hsmOK + `}`), 1009, "Parameter 'type' has invalid value 'hsm': the hsm type was retired in v2.39 of the On-Premises API; send type 'template' with a 'template' object (name, language, components) instead"},
		{"hsm object missing", 0, `{` + to + `,"type":"hsm"}`, 1008, "Parameter 'hsm' is mandatory for type 'hsm'"},
		{"hsm not an object", 0, hsm(`[1]`), 1009, "Parameter 'hsm' has invalid value: expected a JSON object, got array"},
		{"namespace missing", 0, hsm(`{"element_name":"el","language":{"policy":"deterministic","code":"en"},"localizable_params":[]}`), 1008, "Missing mandatory parameter 'hsm.namespace'"},
		{"element_name missing", 0, hsm(`{"namespace":"ns","language":{"policy":"deterministic","code":"en"},"localizable_params":[]}`), 1008, "Missing mandatory parameter 'hsm.element_name'"},
		{"language missing", 0, hsm(`{"namespace":"ns","element_name":"el","localizable_params":[]}`), 1008, "Missing mandatory parameter 'hsm.language'"},
		{"language and fallback_lg", 0, hsm(`{"namespace":"ns","element_name":"el","language":{"policy":"deterministic","code":"en"},"fallback_lg":"en","localizable_params":[]}`), 1010, "Exactly one of the following parameters must be present: 'hsm.language', 'hsm.fallback_lg'"},
		{"language code missing", 0, hsm(`{"namespace":"ns","element_name":"el","language":{"policy":"deterministic"},"localizable_params":[]}`), 1008, "Missing mandatory parameter 'hsm.language.code'"},
		{"language policy missing", 0, hsm(`{"namespace":"ns","element_name":"el","language":{"code":"en"},"localizable_params":[]}`), 1008, "Missing mandatory parameter 'hsm.language.policy'"},
		{"localizable_params missing", 0, hsm(`{"namespace":"ns","element_name":"el","language":{"policy":"deterministic","code":"en"}}`), 1008, "Missing mandatory parameter 'hsm.localizable_params'"},
		{"default missing", 0, hsm(`{"namespace":"ns","element_name":"el","language":{"policy":"deterministic","code":"en"},"localizable_params":[{"default":"a"},{"currency":{"currency_code":"USD","amount_1000":1}}]}`), 1008, "Missing mandatory parameter 'hsm.localizable_params[1].default'"},
	})
}

// TestValidateCloud: the Cloud dialect's differences (cloud-api.md §2).
func TestValidateCloud(t *testing.T) {
	runRules(t, []rule{
		{"text", wa.Cloud, cloud(`"type":"text","text":{"body":"hi","preview_url":true}`), 0, ""},
		{"messaging_product missing", wa.Cloud, `{` + to + `,"type":"text","text":{"body":"hi"}}`, 1008, "Missing mandatory parameter 'messaging_product'"},
		{"messaging_product wrong", wa.Cloud, `{"messaging_product":"sms",` + to + `,"text":{"body":"hi"}}`, 1009, "Parameter 'messaging_product' has invalid value 'sms'; the only supported value is 'whatsapp'"},
		{"type hsm", wa.Cloud, cloud(`"type":"hsm","hsm":{}`), 501, "Parameter 'type' has invalid value 'hsm'; the Cloud API supports: text, image, audio, video, document, sticker, location, contacts, interactive, template, reaction"},
		{"hsm object", wa.Cloud, cloud(`"type":"text","text":{"body":"hi"},"hsm":{"namespace":"ns"}`), 1010, "Parameter 'hsm' is not a parameter of the Cloud API (it belongs to the On-Premises API)"},
		{"recipient_type group", wa.Cloud, cloud(`"recipient_type":"group","text":{"body":"hi"}`), 1002, "Parameter 'recipient_type' has invalid value 'group': the Groups API is not emulated by waba; use 'individual'"},
		{"top-level preview_url", wa.Cloud, cloud(`"preview_url":true,"text":{"body":"hi"}`), 1010, "Parameter 'preview_url' is not a parameter of the Cloud API at the top level; send 'text.preview_url'"},
		{"ttl", wa.Cloud, cloud(`"ttl":"P1D","text":{"body":"hi"}`), 1010, "Parameter 'ttl' is not a parameter of the Cloud API (it belongs to the On-Premises API)"},
		{"context", wa.Cloud, cloud(`"context":{"message_id":"wamid.x"},"text":{"body":"hi"}`), 0, ""},
		{"context message_id missing", wa.Cloud, cloud(`"context":{},"text":{"body":"hi"}`), 1008, "Missing mandatory parameter 'context.message_id'"},
		{"biz_opaque_callback_data of 512", wa.Cloud, cloud(`"biz_opaque_callback_data":"` + strings.Repeat("b", 512) + `","text":{"body":"hi"}`), 0, ""},
		{"biz_opaque_callback_data over 512", wa.Cloud, cloud(`"biz_opaque_callback_data":"` + strings.Repeat("b", 513) + `","text":{"body":"hi"}`), 1009, "Parameter 'biz_opaque_callback_data' is too long: 513 characters, the maximum is 512"},
		{"provider is On-Prem only", wa.Cloud, cloud(`"type":"image","image":{"link":"https://e.com/a.png","provider":{"name":"p"}}`), 1010, "Parameter 'image.provider' is not a parameter of the Cloud API (it belongs to the On-Premises API)"},
		{"voice note", wa.Cloud, cloud(`"type":"audio","audio":{"id":"m","voice":true}`), 0, ""},
		{"voice on an image", wa.Cloud, cloud(`"type":"image","image":{"id":"m","voice":true}`), 1010, "Parameter 'image.voice' is not required for type 'image'"},
		{"reaction", wa.Cloud, cloud(`"type":"reaction","reaction":{"message_id":"wamid.x","emoji":"👍"}`), 0, ""},
		{"reaction removed", wa.Cloud, cloud(`"type":"reaction","reaction":{"message_id":"wamid.x","emoji":""}`), 0, ""},
		{"reaction message_id missing", wa.Cloud, cloud(`"type":"reaction","reaction":{"emoji":"👍"}`), 1008, "Missing mandatory parameter 'reaction.message_id'"},
		{"reaction emoji missing", wa.Cloud, cloud(`"type":"reaction","reaction":{"message_id":"wamid.x"}`), 1008, "Missing mandatory parameter 'reaction.emoji'"},
		{"context on a reaction", wa.Cloud, cloud(`"type":"reaction","context":{"message_id":"wamid.y"},"reaction":{"message_id":"wamid.x","emoji":"👍"}`), 1010, "Parameter 'context' is not required for type 'reaction'"},
		{"too many contacts", wa.Cloud, cloud(`"type":"contacts","contacts":[` + strings.TrimSuffix(strings.Repeat(`{"name":{"formatted_name":"A","first_name":"A"}},`, 258), ",") + `]`), 1009, "Parameter 'contacts' has 258 contact cards; at most 257 are allowed"},
		{"list body of 4096", wa.Cloud, cloud(`"type":"interactive","interactive":{"type":"list","body":{"text":"` + strings.Repeat("b", 4096) + `"},"action":{"button":"B","sections":[{"rows":[{"id":"1","title":"t"}]}]}}`), 0, ""},
		{"button body over 1024", wa.Cloud, cloud(`"type":"interactive","interactive":{"type":"button","body":{"text":"` + strings.Repeat("b", 1025) + `"},"action":{"buttons":[` + reply("a", "A") + `]}}`), 1009, "Parameter 'interactive.body.text' is too long: 1025 characters, the maximum is 1024"},
		{"cta_url", wa.Cloud, cloud(`"type":"interactive","interactive":{"type":"cta_url","header":{"type":"image","image":{"link":"https://e.com/a.png"}},"body":{"text":"b"},"action":{"name":"cta_url","parameters":{"display_text":"See Dates","url":"https://e.com"}}}`), 0, ""},
		{"cta_url name missing", wa.Cloud, cloud(`"type":"interactive","interactive":{"type":"cta_url","body":{"text":"b"},"action":{"parameters":{"display_text":"x","url":"https://e.com"}}}`), 1008, "Missing mandatory parameter 'interactive.action.name'"},
		{"cta_url display_text over 20", wa.Cloud, cloud(`"type":"interactive","interactive":{"type":"cta_url","body":{"text":"b"},"action":{"name":"cta_url","parameters":{"display_text":"` + strings.Repeat("d", 21) + `","url":"https://e.com"}}}`), 1009, "Parameter 'interactive.action.parameters.display_text' is too long: 21 characters, the maximum is 20"},
		{"cta_url url invalid", wa.Cloud, cloud(`"type":"interactive","interactive":{"type":"cta_url","body":{"text":"b"},"action":{"name":"cta_url","parameters":{"display_text":"Go","url":"mailto:a@b.c"}}}`), 1009, "Parameter 'interactive.action.parameters.url' has invalid value 'mailto:a@b.c'; it must be an http:// or https:// URL"},
		{"location request", wa.Cloud, cloud(`"type":"interactive","interactive":{"type":"location_request_message","body":{"text":"b"},"action":{"name":"send_location"}}`), 0, ""},
		{"location request name wrong", wa.Cloud, cloud(`"type":"interactive","interactive":{"type":"location_request_message","body":{"text":"b"},"action":{"name":"location"}}`), 1009, "Parameter 'interactive.action.name' has invalid value 'location'; use 'send_location'"},
		{"flow with defaults", wa.Cloud, cloud(`"type":"interactive","interactive":{"type":"flow","body":{"text":"b"},"action":{"name":"flow","parameters":{"flow_message_version":"3","flow_name":"signup","flow_cta":"Sign up for the beta now"}}}`), 0, ""},
		{"flow name missing", wa.Cloud, cloud(`"type":"interactive","interactive":{"type":"flow","body":{"text":"b"},"action":{"parameters":{"flow_message_version":"3","flow_id":"1","flow_cta":"Go"}}}`), 1008, "Missing mandatory parameter 'interactive.action.name'"},
		{"flow_cta over 30", wa.Cloud, cloud(`"type":"interactive","interactive":{"type":"flow","body":{"text":"b"},"action":{"name":"flow","parameters":{"flow_message_version":"3","flow_id":"1","flow_cta":"` + strings.Repeat("c", 31) + `"}}}`), 1009, "Parameter 'interactive.action.parameters.flow_cta' is too long: 31 characters, the maximum is 30"},
		{"flow_id and flow_name", wa.Cloud, cloud(`"type":"interactive","interactive":{"type":"flow","body":{"text":"b"},"action":{"name":"flow","parameters":{"flow_message_version":"3","flow_id":"1","flow_name":"n","flow_cta":"Go"}}}`), 1010, "Exactly one of the following parameters must be present: 'interactive.action.parameters.flow_id', 'interactive.action.parameters.flow_name'"},
		{"template without policy", wa.Cloud, cloud(`"type":"template","template":{"name":"t","language":{"code":"en_US"}}`), 0, ""},
		{"template policy fallback", wa.Cloud, cloud(`"type":"template","template":{"name":"t","language":{"policy":"fallback","code":"en_US"}}`), 1009, "Parameter 'template.language.policy' has invalid value 'fallback'; the only supported value is 'deterministic'"},
		{"template sub_type in capitals", wa.Cloud, cloud(`"type":"template","template":{"name":"t","language":{"code":"en"},"components":[{"type":"button","sub_type":"COPY_CODE","index":"0","parameters":[{"type":"coupon_code","coupon_code":"X"}]}]}`), 0, ""},
		{"template named parameter", wa.Cloud, cloud(`"type":"template","template":{"name":"t","language":{"code":"en"},"components":[{"type":"body","parameters":[{"type":"text","parameter_name":"order_id","text":"X"}]}]}`), 0, ""},
		{"template media caption", wa.Cloud, cloud(`"type":"template","template":{"name":"t","language":{"code":"en"},"components":[{"type":"header","parameters":[{"type":"image","image":{"id":"m","caption":"c"}}]}]}`), 1010, "Parameter 'template.components[0].parameters[0].image.caption' is not required for template parameter 'image'"},
	})
}

// TestValidateIdempotent: a message that passes, passes again unchanged.
func TestValidateIdempotent(t *testing.T) {
	for _, body := range []string{
		textMsg(`,"preview_url":true`),
		mediaMsg("document", `{"id":"m1","caption":"c","filename":"a.pdf"}`),
		flow(`{` + flowOK + `}`),
		list(`[{"rows":[{"id":"1","title":"t"}]}]`),
	} {
		m := decode(t, body)
		if err := Validate(m, wa.OnPrem); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		first, _ := json.Marshal(m)
		if err := Validate(m, wa.OnPrem); err != nil {
			t.Fatalf("second validation of %s: %v", first, err)
		}
		second, _ := json.Marshal(m)
		if string(first) != string(second) {
			t.Errorf("changed:\n%s\n%s", first, second)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	body := list(`[{"title":"A","rows":` + rows(5, "a") + `},{"title":"B","rows":` + rows(5, "b") + `}]`)
	var proto wa.Message
	if err := json.Unmarshal([]byte(body), &proto); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m := proto
		if err := Validate(&m, wa.OnPrem); err != nil {
			b.Fatal(err)
		}
	}
}
