package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/wa"
)

// The issue 5 leftovers of the template work, end to end on a real waba (SQLite and
// PostgreSQL): NAMED templates, the header format-character policy (2007 / 132007), a
// template's invalid phone number (2011), Cloud pricing of template messages, and the review
// delay surviving a restart.

// graphCall is a Graph request with the management token.
func graphCall(t *testing.T, w *world, method, path, body string) response {
	t.Helper()
	return do(t, w.base, request{method: method, path: "/v24.0/" + path, token: moreToken, body: body})
}

// storedRender is the rendered text and category of an accepted message.
func storedRender(t *testing.T, w *world, storeID int64) (string, string) {
	t.Helper()
	stored, err := w.app.Store().GetMessage(t.Context(), storeID)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Rendered struct {
			Text string `json:"text"`
		} `json:"waba_rendered"`
		Category string `json:"waba_category"`
	}
	mustUnmarshal(t, stored.Payload, &p)
	return p.Rendered.Text, p.Category
}

// approve waits for the review to approve template id after moving the virtual clock past it.
func approve(t *testing.T, w *world, id string) {
	t.Helper()
	w.advance(engine.DefaultTemplateReview + time.Second)
	var r response
	waitFor(t, func() bool {
		r = graphCall(t, w, "GET", id+"?fields=status", "")
		return r.body["status"] == "APPROVED"
	}, "template approved")
}

// TestCloudNamedTemplates: parameter_format NAMED (cloud-api.md §6, §2.3) through Graph's
// create, GET and list, then sends on both dialects: Cloud by parameter_name (missing, unknown
// or repeated names are 132000), On-Prem in the order of the definition.
func TestCloudNamedTemplates(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cloudConfig(cfg))
		waba := "102290129340398"
		create := `{"name":"order_named","language":"en_US","category":"utility","parameter_format":"named","components":[
			{"type":"header","format":"text","text":"Order {{order_id}}","example":{"header_text_named_params":[{"param_name":"order_id","example":"A-1"}]}},
			{"type":"body","text":"Hi {{first_name}}, order {{order_id}} ships {{ship_date}}.","example":{"body_text_named_params":[
				{"param_name":"first_name","example":"Ana"},{"param_name":"order_id","example":"A-1"},{"param_name":"ship_date","example":"today"}]}}]}`
		r := graphCall(t, w, "POST", waba+"/message_templates", create)
		id := engine.TemplateID("order_named", "en_US")
		if r.status != 200 || !jsonEqual(r.body, map[string]any{"id": id, "status": "PENDING", "category": "UTILITY"}) {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		wantComps := []any{
			map[string]any{"type": "HEADER", "format": "TEXT", "text": "Order {{order_id}}",
				"example": map[string]any{"header_text_named_params": []any{map[string]any{"param_name": "order_id", "example": "A-1"}}}},
			map[string]any{"type": "BODY", "text": "Hi {{first_name}}, order {{order_id}} ships {{ship_date}}.",
				"example": map[string]any{"body_text_named_params": []any{
					map[string]any{"param_name": "first_name", "example": "Ana"}, map[string]any{"param_name": "order_id", "example": "A-1"},
					map[string]any{"param_name": "ship_date", "example": "today"}}}},
		}
		r = graphCall(t, w, "GET", id+"?fields=parameter_format,components", "")
		if r.status != 200 || !jsonEqual(r.body, map[string]any{"id": id, "parameter_format": "NAMED", "components": wantComps}) {
			t.Fatalf("get: %d %s", r.status, r.raw)
		}
		r = graphCall(t, w, "GET", waba+"/message_templates?fields=name,parameter_format", "")
		if r.status != 200 || !jsonEqual(r.body["data"], []any{
			map[string]any{"id": engine.TemplateID("hello_world", "en_US"), "name": "hello_world", "parameter_format": "POSITIONAL"},
			map[string]any{"id": id, "name": "order_named", "parameter_format": "NAMED"}}) {
			t.Fatalf("list: %d %s", r.status, r.raw)
		}

		// Bad definitions: 100 with details, nothing stored.
		bad := func(format, comps, details string) {
			t.Helper()
			body := fmt.Sprintf(`{"name":"bad_one","language":"en","category":"UTILITY","parameter_format":%q,"components":%s}`, format, comps)
			wantGraphError(t, graphCall(t, w, "POST", waba+"/message_templates", body), 400, 100, "(#100) Invalid parameter", details)
			if r := graphCall(t, w, "GET", engine.TemplateID("bad_one", "en"), ""); r.status != 400 {
				t.Fatalf("a refused template was stored: %d %s", r.status, r.raw)
			}
		}
		bad("NAMED", `[{"type":"BODY","text":"Hi {{name}}, order {{1}}","example":{"body_text_named_params":[{"param_name":"name","example":"Ana"}]}}]`,
			"Template 'components.body' mixes positional and named variables: {{1}} is positional but the template's parameter_format is NAMED; name every variable, e.g. {{order_id}}")
		bad("positional", `[{"type":"BODY","text":"Hi {{1}}, order {{order_id}}"}]`,
			"Template 'components.body' mixes positional and named variables: {{order_id}} is a named variable but the template's parameter_format is POSITIONAL; use {{1}} to {{n}}, or create the template with parameter_format NAMED")
		bad("Named", `[{"type":"BODY","text":"Hi {{name}}","example":{"body_text":[["Ana"]]}}]`,
			`components[0].example.body_text mixes positional and named parameters: the template's parameter_format is NAMED; give body_text_named_params: [{"param_name","example"}]`)
		bad("", `[{"type":"BODY","text":"Hi {{1}}","example":{"body_text_named_params":[{"param_name":"name","example":"Ana"}]}}]`,
			"components[0].example.body_text_named_params mixes positional and named parameters: the template's parameter_format is POSITIONAL; set parameter_format NAMED or give body_text")
		bad("NAMED", `[{"type":"BODY","text":"Hi {{name}}"}]`,
			`Missing mandatory parameter 'components.body.example.body_text_named_params': variable {{name}} of 'components.body' needs an example, {"param_name":"name","example":"…"}`)
		bad("NAMED", `[{"type":"BODY","text":"Hi {{Name}}","example":{"body_text_named_params":[{"param_name":"Name","example":"Ana"}]}}]`,
			"Template 'components.body' has the invalid variable {{Name}}; variable names are lowercase letters, digits and '_', e.g. {{order_id}}")
		bad("NAMED", `[{"type":"BODY","text":"Hi {{name}}","example":{"body_text_named_params":[{"param_name":"name","example":""}]}}]`,
			"Missing mandatory parameter 'components.body.example.body_text_named_params[0].example': the example value of {{name}}")
		bad("NAMED", `[{"type":"BODY","text":"Hi {{name}}","example":{"body_text_named_params":[{"param_name":1,"example":"Ana"}]}}]`,
			`components[0].example is not valid: give an object with body_text [[…]] (POSITIONAL) or body_text_named_params [{"param_name":"…","example":"…"}] (NAMED), both lists of strings`)
		bad("NAMED", `[{"type":"BODY","text":"Hi {{name}}","example":"Ana"}]`,
			`components[0].example is not valid: give an object with body_text [[…]] (POSITIONAL) or body_text_named_params [{"param_name":"…","example":"…"}] (NAMED), both lists of strings`)
		bad("keyed", `[{"type":"BODY","text":"Hi"}]`,
			"parameter_format 'keyed' is not valid; use NAMED ({{order_id}}) or POSITIONAL ({{1}} … {{n}}, the default)")

		approve(t, w, id)
		named := func(header, body string) string {
			return `{"messaging_product":"whatsapp","to":"15551230040","type":"template","template":{"name":"order_named","language":{"code":"en_US"},"components":[
				{"type":"header","parameters":[` + header + `]},{"type":"body","parameters":[` + body + `]}]}}`
		}
		p := func(name, v string) string {
			if name == "" {
				return fmt.Sprintf(`{"type":"text","text":%q}`, v)
			}
			return fmt.Sprintf(`{"type":"text","parameter_name":%q,"text":%q}`, name, v)
		}
		hdr := p("order_id", "A-9")
		wamid := cloudSendOK(t, w, "15551230040", named(hdr, p("ship_date", "Friday")+","+p("first_name", "Ana")+","+p("order_id", "A-9")))
		if text, cat := storedRender(t, w, mustCloudNum(t, wamid)); text != "Order A-9\nHi Ana, order A-9 ships Friday." || cat != "UTILITY" {
			t.Fatalf("rendered %q, category %q", text, cat)
		}
		const at = "Parameter 'template.components[1].parameters"
		wantGraphError(t, cloudSend(t, w, named(hdr, p("first_name", "Ana")+","+p("", "A-9")+","+p("ship_date", "Friday"))),
			400, 132000, "(#132000) Template Param Count Mismatch",
			at+"[1].parameter_name' is missing; template 'order_named' has named parameters: give each value the name of its variable (first_name, order_id, ship_date)")
		wantGraphError(t, cloudSend(t, w, named(hdr, p("first_name", "Ana")+","+p("order", "A-9")+","+p("ship_date", "Friday"))),
			400, 132000, "(#132000) Template Param Count Mismatch",
			at+"[1].parameter_name' has the value 'order', which is not a variable of the body of template 'order_named'; its variables are: first_name, order_id, ship_date")
		wantGraphError(t, cloudSend(t, w, named(hdr, p("first_name", "Ana")+","+p("first_name", "Bo")+","+p("ship_date", "Friday"))),
			400, 132000, "(#132000) Template Param Count Mismatch",
			at+"[1].parameter_name' has the value 'first_name' already used at 'template.components[1].parameters[0]'; each variable takes one value")
		wantGraphError(t, cloudSend(t, w, named(hdr, p("first_name", "Ana"))),
			400, 132000, "(#132000) Template Param Count Mismatch", at+"' has 1 parameters; template 'order_named' expects 3 in its body")

		// On-Prem has no parameter_name: the values fill the variables in the order of the
		// definition; a parameter_name is a Cloud field there (1010).
		onprem := func(header, body string) response {
			return do(t, w.base, request{method: "POST", path: "/v1/messages", token: w.tok, body: `{"to":"15551230041","type":"template","template":{"name":"order_named","language":{"policy":"deterministic","code":"en_US"},"components":[
				{"type":"header","parameters":[` + header + `]},{"type":"body","parameters":[` + body + `]}]}}`})
		}
		r = onprem(p("", "B-2"), p("", "Bo")+","+p("", "B-2")+","+p("", "Monday"))
		m := sendOK.FindSubmatch(r.raw)
		if r.status != 201 || m == nil {
			t.Fatalf("on-prem send: %d %s", r.status, r.raw)
		}
		w.expectStatuses(string(m[1]), "sent", "delivered", "read")
		n, _, _ := wa.ParseOnPremID(string(m[1]))
		if text, _ := storedRender(t, w, n); text != "Order B-2\nHi Bo, order B-2 ships Monday." {
			t.Fatalf("on-prem rendered %q", text)
		}
		wantError(t, onprem(p("order_id", "B-2"), p("", "Bo")+","+p("", "B-2")+","+p("", "Monday")), 400, 1010, "Parameter is not required",
			"Parameter 'template.components[0].parameters[0].parameter_name' is not a parameter of the On-Premises API (it belongs to the Cloud API)")
		wantError(t, onprem(p("", "B-2"), p("", "Bo")), 400, 2000, "Template Param Count Mismatch",
			at+"' has 1 parameters; template 'order_named' expects 3 in its body")

		// Editing keeps the format unless the edit gives one: a NAMED body edits as NAMED; a
		// switch to POSITIONAL that leaves named variables is 100 and changes nothing.
		wantGraphError(t, graphCall(t, w, "POST", id, `{"parameter_format":"POSITIONAL"}`), 400, 100, "(#100) Invalid parameter",
			"Template 'components' mixes positional and named parameters: named examples (param_name) belong to a template whose parameter_format is NAMED")
		r = graphCall(t, w, "POST", id, `{"components":[{"type":"BODY","text":"Bye {{first_name}}","example":{"body_text_named_params":[{"param_name":"first_name","example":"Ana"}]}}]}`)
		if r.status != 200 || !jsonEqual(r.body, map[string]any{"success": true}) {
			t.Fatalf("edit: %d %s", r.status, r.raw)
		}
		r = graphCall(t, w, "GET", id+"?fields=parameter_format,status,components", "")
		if !jsonEqual(r.body, map[string]any{"id": id, "parameter_format": "NAMED", "status": "PENDING", "components": []any{
			map[string]any{"type": "BODY", "text": "Bye {{first_name}}",
				"example": map[string]any{"body_text_named_params": []any{map[string]any{"param_name": "first_name", "example": "Ana"}}}}}}) {
			t.Fatalf("after edits: %s", r.raw)
		}
	})
}

// TestTemplateFormatPolicies: 2007 / 132007 "Template Format Character Policy Violated" for a
// header text parameter with a formatting character or an emoji (our trigger, errors.md §2.7
// names the code only); the whitespace rule (2006; Cloud has no 2006 and answers 131009) runs
// first.
func TestTemplateFormatPolicies(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cloudConfig(cfg))
		r := w.sandbox("PUT", "/templates/greet_header/en_US", `{"category":"utility","components":{"header":{"format":"TEXT","text":"Hi {{1}}"},"body":"Welcome."}}`)
		if r.status != 200 || r.body["status"] != "APPROVED" || r.body["id"] != engine.TemplateID("greet_header", "en_US") {
			t.Fatalf("import: %d %s", r.status, r.raw)
		}
		body := func(product, header string) string {
			return fmt.Sprintf(`{%s"to":"15551230042","type":"template","template":{"name":"greet_header","language":{"policy":"deterministic","code":"en_US"},"components":[{"type":"header","parameters":[{"type":"text","text":%s}]}]}}`, product, header)
		}
		const product = `"messaging_product":"whatsapp",`
		onprem := func(header string) response {
			return do(t, w.base, request{method: "POST", path: "/v1/messages", token: w.tok, body: body("", header)})
		}
		const rule = "; a template header's text parameter cannot contain newlines, emoji or the formatting characters * _ ~ `"
		const p = "Parameter 'template.components[0].parameters[0].text' "
		for _, c := range []struct{ header, details string }{
			{`"*Ann*"`, p + "contains the formatting character '*'" + rule},
			{`"Ann_Lee"`, p + "contains the formatting character '_'" + rule},
			{`"~Ann"`, p + "contains the formatting character '~'" + rule},
			{"\"`Ann`\"", p + "contains the formatting character '`'" + rule},
			{`"Ann \ud83c\udf89"`, p + "contains an emoji" + rule},
		} {
			wantError(t, onprem(c.header), 400, 2007, "Template Format Character Policy Violated", c.details)
			wantGraphError(t, cloudSend(t, w, body(product, c.header)), 400, 132007, "(#132007) Template Format Character Policy Violated", c.details)
		}
		ws := p + "contains a newline; template parameters cannot contain newlines, tabs or more than 4 consecutive spaces"
		wantError(t, onprem(`"Ann\n\ud83c\udf89"`), 400, 2006, "Template White Space Policy Violated", ws)
		wantGraphError(t, cloudSend(t, w, body(product, `"Ann\n\ud83c\udf89"`)), 400, 131009, "(#131009) Parameter value is not valid", ws)
		// A clean header goes through on both.
		w.send(body("", `"Ann Lee-Smith"`))
		cloudSendOK(t, w, "15551230042", body(product, `"Ann Lee-Smith"`))
	})
}

// TestTemplateInvalidPhone: Graph's create refuses a malformed PHONE_NUMBER (100); the
// sandbox's import ("approved on Meta's side") keeps it, and a send of that template answers
// 2011 "Template Invalid Phone Number" on /v1 and, as Cloud has no such code, 131009 on Graph.
func TestTemplateInvalidPhone(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cloudConfig(cfg))
		waba := "102290129340398"
		wantGraphError(t, graphCall(t, w, "POST", waba+"/message_templates", `{"name":"call_us","language":"en_US","category":"UTILITY","components":[
			{"type":"BODY","text":"Questions?"},{"type":"BUTTONS","buttons":[{"type":"PHONE_NUMBER","text":"Call","phone_number":"call-us-now"}]}]}`),
			400, 100, "(#100) Invalid parameter",
			"Template 'components.buttons[0].phone_number' has invalid value 'call-us-now'; use a phone number in international format, up to 20 characters")

		// The sandbox import: bad bodies and definitions are refused and store nothing.
		r := w.sandbox("PUT", "/templates/call_us/en_US", `{"components":{"body":"x"}}`)
		if r.status != 400 || r.body["error"].(map[string]any)["code"] != "invalid_body" {
			t.Fatalf("import without category: %d %s", r.status, r.raw)
		}
		r = w.sandbox("PUT", "/templates/call_us/en_US", `{"category":"UTILITY","components":{"body":"x","buttons":[{"type":"PHONE_NUMBER","text":"Call","phone_number":"123456789012345678901"}]}}`)
		if r.status != 400 || !strings.Contains(string(r.raw), "phone_number") {
			t.Fatalf("import of a 21-character number: %d %s", r.status, r.raw)
		}
		if r := graphCall(t, w, "GET", engine.TemplateID("call_us", "en_US"), ""); r.status != 400 {
			t.Fatalf("refused import stored: %d %s", r.status, r.raw)
		}
		r = w.sandbox("PUT", "/templates/call_us/en_US", `{"category":"utility","components":{"body":"Questions?","buttons":[{"type":"QUICK_REPLY","text":"Later"},{"type":"PHONE_NUMBER","text":"Call","phone_number":"call-us-now"}]}}`)
		if r.status != 200 || r.body["status"] != "APPROVED" || r.body["category"] != "UTILITY" {
			t.Fatalf("import: %d %s", r.status, r.raw)
		}
		details := "Template 'call_us' button 1 ('Call') has the phone number 'call-us-now', which is not a phone number in international format (up to 20 characters); fix the template"
		send := `{"to":"15551230043","type":"template","template":{"name":"call_us","language":{"policy":"deterministic","code":"en_US"}}}`
		wantError(t, do(t, w.base, request{method: "POST", path: "/v1/messages", token: w.tok, body: send}), 400, 2011, "Template Invalid Phone Number", details)
		wantGraphError(t, cloudSend(t, w, strings.Replace(send, `{"to"`, `{"messaging_product":"whatsapp","to"`, 1)),
			400, 131009, "(#131009) Parameter value is not valid", details)

		// Fixed through the same import, it sends.
		r = w.sandbox("PUT", "/templates/call_us/en_US", `{"category":"UTILITY","components":{"body":"Questions?","buttons":[{"type":"QUICK_REPLY","text":"Later"},{"type":"PHONE_NUMBER","text":"Call","phone_number":"+1 555 010 2000"}]}}`)
		if r.status != 200 {
			t.Fatalf("re-import: %d %s", r.status, r.raw)
		}
		w.send(send)
	})
}

// TestCloudTemplatePricing: a template created through Graph, approved by the review and sent
// through Graph to a healthy user with no open window, on a Cloud-dialect number, gets signed
// `sent` and `delivered` webhooks priced per message (webhooks.md §5, PMP): billable, type
// regular, the template's category (utility; marketing for a MARKETING template). From v24.0
// there is no `conversation`; a number on v23.0 gets one whose origin is the same category.
func TestCloudTemplatePricing(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		const secret = "cloud-app-secret-0123456789"
		cfg = cloudConfig(cfg)
		cfg.AppSecret = secret
		w := newWorld(t, cfg)
		rcv := newRawReceiver(t)
		setCloudHooks(t, w, rcv.URL(), "")
		for _, c := range []struct{ name, category string }{{"ship_notice", "UTILITY"}, {"spring_sale", "MARKETING"}} {
			r := graphCall(t, w, "POST", cfg.WABAID+"/message_templates", fmt.Sprintf(`{"name":%q,"language":"en_US","category":%q,"components":[{"type":"BODY","text":"Hello {{1}}","example":{"body_text":[["Ana"]]}}]}`, c.name, c.category))
			if r.status != 200 {
				t.Fatalf("create %s: %d %s", c.name, r.status, r.raw)
			}
		}
		approve(t, w, engine.TemplateID("ship_notice", "en_US"))
		approve(t, w, engine.TemplateID("spring_sale", "en_US"))

		// statusesOf waits for the sent, delivered and read webhooks of wamid and returns them.
		statusesOf := func(wamid string) []map[string]any {
			t.Helper()
			var out []map[string]any
			deadline := time.Now().Add(20 * time.Second)
			for {
				out = out[:0]
				for _, req := range rcv.requests() {
					if !strings.Contains(string(req.body), wamid) {
						continue
					}
					post := checkCloudPost(t, req, secret, cfg.WABAID)
					sts, _ := post.value["statuses"].([]any)
					if len(sts) != 1 {
						t.Fatalf("statuses: %s", post.raw)
					}
					out = append(out, sts[0].(map[string]any))
				}
				if len(out) >= 3 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d status webhooks of %s", len(out), wamid)
				}
				w.advance(time.Second)
				time.Sleep(30 * time.Millisecond)
			}
			return out
		}
		check := func(to, name, category string, v23 bool) {
			t.Helper()
			wamid := cloudSendOK(t, w, to, fmt.Sprintf(`{"messaging_product":"whatsapp","to":%q,"type":"template","template":{"name":%q,"language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"Ana"}]}]}}`, to, name))
			sts := statusesOf(wamid)
			var convID string
			for i, want := range []string{"sent", "delivered", "read"} {
				st := sts[i]
				if st["status"] != want || st["id"] != wamid || st["recipient_id"] != to {
					t.Fatalf("%s %d: %v", name, i, st)
				}
				wantPricing := any(map[string]any{"billable": true, "pricing_model": "PMP", "category": category, "type": "regular"})
				if want == "read" {
					wantPricing = nil
				}
				if !jsonEqual(st["pricing"], wantPricing) {
					t.Fatalf("%s %s: pricing %v, want %v", name, want, st["pricing"], wantPricing)
				}
				conv, _ := st["conversation"].(map[string]any)
				switch {
				case !v23 || want == "read":
					if st["conversation"] != nil {
						t.Fatalf("%s %s: conversation %v", name, want, st["conversation"])
					}
				case conv == nil || !jsonEqual(conv["origin"], map[string]any{"type": category}) || conv["id"] == "" ||
					(want == "sent") != (conv["expiration_timestamp"] != nil):
					t.Fatalf("%s %s: conversation %v", name, want, st["conversation"])
				default:
					if convID != "" && conv["id"] != convID {
						t.Fatalf("%s: conversation id %v, then %v", name, convID, conv["id"])
					}
					convID, _ = conv["id"].(string)
				}
			}
		}
		check("15551230050", "ship_notice", "utility", false)
		check("15551230051", "spring_sale", "marketing", false)
		setCloudHooks(t, w, rcv.URL(), "v23.0")
		check("15551230052", "ship_notice", "utility", true)
		check("15551230053", "spring_sale", "marketing", true)
	})
}

// TestTemplateReviewSurvivesRestart: the review delay set through the sandbox is stored, so a
// restarted waba keeps it; without that a template created after the restart would be approved
// after the default 10 s.
func TestTemplateReviewSurvivesRestart(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		cfg = cloudConfig(cfg)
		cfg.AdminPassword = testAdminPassword
		ctx := context.Background()
		a, err := New(ctx, cfg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		w := &world{t: t, app: a, base: a.URL()}
		w.tok = login(t, w.base, "admin", testAdminPassword)
		if r := w.sandbox("PUT", "/templates/review", `{"seconds":60}`); r.status != 200 || !jsonEqual(r.body, map[string]any{"review_seconds": 60}) {
			t.Fatalf("set review: %d %s", r.status, r.raw)
		}
		if err := a.Stop(ctx); err != nil {
			t.Fatal(err)
		}

		b := start(t, cfg)
		w = &world{t: t, app: b, base: b.URL()}
		w.tok = login(t, w.base, "admin", testAdminPassword)
		r := graphCall(t, w, "POST", cfg.WABAID+"/message_templates", `{"name":"slow_review","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"Hi"}]}`)
		if r.status != 200 {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		id := engine.TemplateID("slow_review", "en")
		w.advance(engine.DefaultTemplateReview + 5*time.Second)
		// The review runs every 500 ms of wall time: give it several rounds to (wrongly) decide.
		time.Sleep(4 * reviewEvery)
		if r := graphCall(t, w, "GET", id+"?fields=status", ""); r.body["status"] != "PENDING" {
			t.Fatalf("15 s after creation with a 60 s review: %s", r.raw)
		}
		w.advance(50 * time.Second)
		waitFor(t, func() bool {
			r = graphCall(t, w, "GET", id+"?fields=status", "")
			return r.body["status"] == "APPROVED"
		}, "approved after 60 s")
		// 0 restores the default, and that is stored too.
		if r := w.sandbox("PUT", "/templates/review", `{"seconds":0}`); r.status != 200 || !jsonEqual(r.body, map[string]any{"review_seconds": 10}) {
			t.Fatalf("reset review: %d %s", r.status, r.raw)
		}
		if d, err := b.Engine().TemplateReview(ctx); err != nil || d != engine.DefaultTemplateReview {
			t.Fatalf("review after reset: %v %v", d, err)
		}
	})
}
