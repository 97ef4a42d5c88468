package app

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/wa"
)

const (
	morePhoneID = "106540352242922"
	moreToken   = "EAAG-test-token-0123456789"
)

func cloudConfig(cfg config.Config) config.Config {
	cfg.PhoneNumberID = morePhoneID
	cfg.WABAID = "102290129340398"
	cfg.AccessToken = moreToken
	return cfg
}

func cloudSend(t *testing.T, w *world, body string) response {
	t.Helper()
	return do(t, w.base, request{method: "POST", path: "/v24.0/" + morePhoneID + "/messages", token: moreToken, body: body})
}

// cloudSendOK sends through the Cloud route, asserts the §2.2 body and returns the wamid.
func cloudSendOK(t *testing.T, w *world, to, body string) string {
	t.Helper()
	r := cloudSend(t, w, body)
	if r.status != 200 {
		t.Fatalf("send %s: %d %s", body, r.status, r.raw)
	}
	msgs, _ := r.body["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("send body %s", r.raw)
	}
	id, _ := msgs[0].(map[string]any)["id"].(string)
	want := map[string]any{"messaging_product": "whatsapp",
		"contacts": []any{map[string]any{"input": to, "wa_id": strings.TrimPrefix(to, "+")}},
		"messages": []any{map[string]any{"id": id}}}
	if !wamidShape.MatchString(id) || !jsonEqual(r.body, want) || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("send %s: body %s", body, r.raw)
	}
	return id
}

// wantGraphCode asserts the exact Graph envelope (cloud-api.md §4) for a code, HTTP status and
// title, with error_data.details naming want and error_subcode only when subcode != 0.
func wantGraphCode(t *testing.T, r response, status, code int, title string, subcode int, detailsHas string) {
	t.Helper()
	e, _ := r.body["error"].(map[string]any)
	trace, _ := e["fbtrace_id"].(string)
	ed, _ := e["error_data"].(map[string]any)
	details, _ := ed["details"].(string)
	want := map[string]any{"message": "(#" + strconv.Itoa(code) + ") " + title, "type": "OAuthException", "code": float64(code),
		"error_data": map[string]any{"messaging_product": "whatsapp", "details": details}, "fbtrace_id": trace}
	if subcode != 0 {
		want["error_subcode"] = float64(subcode)
	}
	if r.status != status || len(trace) != 23 || !jsonEqual(r.body, map[string]any{"error": want}) ||
		!strings.Contains(details, detailsHas) || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %s\nwant %d %s (details containing %q)", r.status, r.raw, status, mustJSON(want), detailsHas)
	}
}

// onPremOf turns a Cloud wamid into the On-Prem id the webhooks carry today.
func onPremOf(t *testing.T, wamid string) string {
	t.Helper()
	n, in, ok := wa.ParseCloudID(wamid)
	if !ok || in {
		t.Fatalf("ParseCloudID(%q)", wamid)
	}
	return wa.OnPremID(n, false)
}

// TestCloudSendTypes: every send type of cloud-api.md §2.3 is accepted through the Cloud route
// with the §2.2 body.
func TestCloudSendTypes(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cloudConfig(cfg))
		const to = "15551230030"
		w.userSays(to, "hello, business")
		env := func(typ, obj string) string {
			return `{"messaging_product":"whatsapp","recipient_type":"individual","to":"` + to + `","type":"` + typ + `","` + typ + `":` + obj + `}`
		}
		first := cloudSendOK(t, w, to, env("text", `{"preview_url":true,"body":"Link: https://www.meta.com/quest/quest-3/"}`))
		cases := []struct{ name, body string }{
			{"image by link", env("image", `{"link":"https://example.com/aloe.png","caption":"The best succulent ever?"}`)},
			{"document by link", env("document", `{"link":"https://example.com/order_abc123.pdf","filename":"order_abc123.pdf","caption":"Your order (PDF)"}`)},
			{"location", env("location", `{"latitude":"37.44216251868683","longitude":"-122.16153582049394","name":"Philz Coffee","address":"101 Forest Ave, Palo Alto, CA 94301"}`)},
			{"location without name and address", env("location", `{"latitude":37.44216251868683,"longitude":-122.16153582049394}`)},
			{"contacts", env("contacts", `[{"name":{"formatted_name":"Barbara J. Johnson","first_name":"Barbara","last_name":"Johnson"},
				"phones":[{"phone":"+19175559999","type":"Mobile","wa_id":"19175559999"}],"emails":[{"email":"bjohnson@luckyshrub.com","type":"Work"}]}]`)},
			{"interactive button", env("interactive", `{"type":"button","body":{"text":"Your workshop is at 9am tomorrow."},"footer":{"text":"Lucky Shrub"},
				"action":{"buttons":[{"type":"reply","reply":{"id":"change-button","title":"Change"}},{"type":"reply","reply":{"id":"cancel-button","title":"Cancel"}}]}}`)},
			{"interactive list", env("interactive", `{"type":"list","header":{"type":"text","text":"Choose Shipping Option"},"body":{"text":"Which shipping option do you prefer?"},
				"footer":{"text":"Lucky Shrub"},"action":{"button":"Shipping Options","sections":[{"title":"I want it ASAP!","rows":[{"id":"priority_express","title":"Priority Mail Express","description":"Next Day to 2 Days"}]}]}}`)},
			{"interactive product", env("interactive", `{"type":"product","body":{"text":"optional"},"footer":{"text":"optional"},"action":{"catalog_id":"CATALOG_ID","product_retailer_id":"SKU_1"}}`)},
			{"interactive product_list", env("interactive", `{"type":"product_list","header":{"type":"text","text":"HEADER"},"body":{"text":"BODY"},"footer":{"text":"FOOTER"},
				"action":{"catalog_id":"CATALOG_ID","sections":[{"title":"SECTION","product_items":[{"product_retailer_id":"SKU"}]}]}}`)},
			{"interactive cta_url", env("interactive", `{"type":"cta_url","header":{"type":"image","image":{"link":"https://www.luckyshrub.com/assets/banner.png"}},
				"body":{"text":"Tap the button below to see available dates."},"action":{"name":"cta_url","parameters":{"display_text":"See Dates","url":"https://www.luckyshrub.com?clickID=kq"}},
				"footer":{"text":"Dates subject to change."}}`)},
			{"interactive location_request_message", env("interactive", `{"type":"location_request_message","body":{"text":"Let's start with your pickup..."},"action":{"name":"send_location"}}`)},
			{"interactive flow", env("interactive", `{"type":"flow","header":{"type":"text","text":"Flow message header"},"body":{"text":"Flow message body"},
				"footer":{"text":"Flow message footer"},"action":{"name":"flow","parameters":{"flow_message_version":"3","flow_id":"1234567890","flow_cta":"Book!",
				"flow_token":"tok-1","mode":"published","flow_action":"navigate","flow_action_payload":{"screen":"FIRST","data":{"k":"v"}}}}}`)},
			{"template hello_world", env("template", `{"name":"hello_world","language":{"code":"en_US"}}`)},
			{"template hello_world with policy", env("template", `{"name":"hello_world","language":{"policy":"deterministic","code":"en_US"}}`)},
			{"reaction", env("reaction", `{"message_id":"`+first+`","emoji":"\uD83D\uDE00"}`)},
			{"reply with context", `{"messaging_product":"whatsapp","to":"` + to + `","context":{"message_id":"` + first + `"},"type":"text","text":{"body":"a reply"}}`},
			{"type omitted defaults to text", `{"messaging_product":"whatsapp","to":"` + to + `","text":{"body":"no type"}}`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cloudSendOK(t, w, to, c.body)
			})
		}
	})
}

// TestCloudSendErrors: the synchronous codes of issue 10 item 4 that the engine produces, in
// the exact Graph envelope.
func TestCloudSendErrors(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cloudConfig(cfg))
		send := func(b string) response { return cloudSend(t, w, b) }

		// 100: an unknown key, and On-Prem's top-level preview_url.
		wantGraphCode(t, send(`{"messaging_product":"whatsapp","to":"15551230031","type":"text","text":{"body":"x"},"Bogus":1}`),
			400, 100, "Invalid parameter", 0, "Bogus")
		wantGraphCode(t, send(`{"messaging_product":"whatsapp","to":"15551230031","type":"text","preview_url":true,"text":{"body":"x"}}`),
			400, 100, "Invalid parameter", 0, "Parameter 'preview_url' is not a parameter of the Cloud API at the top level; send 'text.preview_url'")
		// A reaction may not carry context (cloud-api.md §2.1).
		wantGraphCode(t, send(`{"messaging_product":"whatsapp","to":"15551230031","type":"reaction","context":{"message_id":"wamid.x"},"reaction":{"message_id":"wamid.x","emoji":"x"}}`),
			400, 100, "Invalid parameter", 0, "Parameter 'context' is not required for type 'reaction'")
		// 131008: missing to; missing messaging_product.
		wantGraphCode(t, send(`{"messaging_product":"whatsapp","type":"text","text":{"body":"x"}}`),
			400, 131008, "Required parameter is missing", 0, "Missing mandatory parameter 'to'")
		wantGraphCode(t, send(`{"to":"15551230031","type":"text","text":{"body":"x"}}`),
			400, 131008, "Required parameter is missing", 0, "messaging_product")
		// 131009: a bad value.
		wantGraphCode(t, send(`{"messaging_product":"whatsapp","to":"15551230031","type":"text","text":{"body":"x"},"recipient_type":"crowd"}`),
			400, 131009, "Parameter value is not valid", 0, "Parameter 'recipient_type' has invalid value 'crowd'; the only supported value is 'individual'")
		// On-Prem's hsm type is not a Cloud type: 131051 Unsupported message type (errors.md §2.2
		// "Unsupported outbound message type").
		wantGraphCode(t, send(`{"messaging_product":"whatsapp","to":"15551230031","type":"hsm","hsm":{"namespace":"x"}}`),
			400, 131051, "Unsupported message type", 0, "Parameter 'type' has invalid value 'hsm'")
		wantGraphCode(t, send(`{"messaging_product":"whatsapp","to":"15551230031","type":"poll","text":{"body":"x"}}`),
			400, 131051, "Unsupported message type", 0, "Parameter 'type' has invalid value 'poll'")
		wantGraphCode(t, send(`{"messaging_product":"whatsapp","to":"15551230031","type":"image","image":{"link":"ftp://example.com/a.png"}}`),
			400, 131009, "Parameter value is not valid", 0, "link")
		// Templates: an unknown name is 132001 with HTTP 404.
		wantGraphCode(t, send(`{"messaging_product":"whatsapp","to":"15551230031","type":"template","template":{"name":"no_such_template","language":{"code":"en_US"}}}`),
			404, 132001, "Template does not exist", 0, "Template 'template.name' 'no_such_template' does not exist in language 'en_US'")
		wantGraphCode(t, send(`{"messaging_product":"whatsapp","to":"15551230031","type":"template","template":{"name":"hello_world","language":{"code":"xx_YY"}}}`),
			404, 132001, "Template does not exist", 0, "has no translation for 'template.language.code' 'xx_YY'")
		wantGraphCode(t, send(`{"messaging_product":"whatsapp","to":"15551230031","type":"template","template":{"name":"hello_world","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"a"}]}]}}`),
			400, 132000, "Template Param Count Mismatch", 0, "template 'hello_world' expects 0 in its body")
		// 2 during the sandbox's scheduled outage.
		if r := w.sandbox("POST", "/outage", `{"seconds":60}`); r.status != 200 {
			t.Fatalf("outage: %d %s", r.status, r.raw)
		}
		wantGraphCode(t, send(`{"messaging_product":"whatsapp","to":"15551230031","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}`),
			503, 2, "API Service", 0, "The API is temporarily unavailable for maintenance; retry in a few minutes")
		w.advance(61 * time.Second)
		cloudSendOK(t, w, "15551230031", `{"messaging_product":"whatsapp","to":"15551230031","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}`)
	})
}

// TestCloudSharesWindow: a message sent through /v1 and one sent through the Cloud route to the
// same user share one conversation window (issue 10 "Done when").
func TestCloudSharesWindow(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cloudConfig(cfg))
		const user = "15551230032"
		w.userSays(user, "hi, one window please")
		text := `{"messaging_product":"whatsapp","to":"` + user + `","type":"text","text":{"body":"from Cloud"}}`

		opID := w.text(user, "from /v1")
		w.expectStatuses(opID, "sent", "delivered", "read")
		cloudID := onPremOf(t, cloudSendOK(t, w, user, text))
		got := w.expectStatuses(cloudID, "sent", "delivered", "read")
		first := w.recv.statuses(opID)[0]["conversation"].(map[string]any)["id"]
		if c := got[0]["conversation"].(map[string]any)["id"]; c != first {
			t.Fatalf("conversation ids differ: /v1 %v, Cloud %v", first, c)
		}

		w.advance(25 * time.Hour)
		w.expectStatuses(w.text(user, "late from /v1"), "failed:470")
		w.expectStatuses(onPremOf(t, cloudSendOK(t, w, user, text)), "failed:470")
	})
}
