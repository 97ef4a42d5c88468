package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// templateEngine is a started engine on a fresh SQLite store with the test templates.
func templateEngine(t *testing.T, defs ...Template) (*Engine, store.Store) {
	t.Helper()
	st := settingsStore(t)
	e := settingsEngine(t, st)
	if err := e.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(e.Stop)
	for _, d := range defs {
		if err := e.PutTemplate(context.Background(), d); err != nil {
			t.Fatalf("put %s: %v", d.Name, err)
		}
	}
	return e, st
}

func testTemplates() []Template {
	body := func(name, status string) Template {
		return Template{Name: name, Language: "en_US", Category: CategoryUtility, Status: status,
			Components: TemplateComponents{Body: "Hello"}}
	}
	greet := Template{Name: "greet", Language: "en_US", Category: CategoryUtility, Status: StatusApproved,
		Components: TemplateComponents{
			Header: &TemplateHeader{Format: "TEXT", Text: "Hi {{1}}"},
			Body:   "Your code is {{1}}, valid until {{2}}.",
			Buttons: []TemplateButton{
				{Type: "PHONE_NUMBER", Text: "Call us", PhoneNumber: "+15551234567"},
				{Type: "URL", Text: "Help", URL: "https://example.com/help"},
			}}}
	greetFr := greet
	greetFr.Language = "fr"
	return []Template{
		{Name: "order_update", Language: "en_US", Category: CategoryMarketing, Status: StatusApproved,
			Components: TemplateComponents{
				Header: &TemplateHeader{Format: "IMAGE"},
				Body:   "Hi {{1}}, your order of {{2}} ships on {{3}} ({{4}}).",
				Footer: "Reply STOP to opt out",
				Buttons: []TemplateButton{
					{Type: "QUICK_REPLY", Text: "Yes"},
					{Type: "URL", Text: "Track", URL: "https://example.com/track/{{1}}"},
					{Type: "COPY_CODE", Text: "Copy code"},
				}}},
		greet, greetFr,
		body("paused_one", StatusPaused), body("rejected_one", StatusRejected),
		body("disabled_one", StatusDisabled), body("pending_one", StatusPending),
		{Name: "body_only", Language: "en_US", Category: CategoryUtility, Status: StatusApproved,
			Components: TemplateComponents{Body: "{{1}}"}},
		{Name: "two_vars", Language: "en_US", Category: CategoryUtility, Status: StatusApproved,
			Components: TemplateComponents{Body: "{{1}} and {{2}}", Footer: "f"}},
	}
}

func decodeMsg(t *testing.T, js string) *wa.Message {
	t.Helper()
	var m wa.Message
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("bad test message: %v\n%s", err, js)
	}
	return &m
}

// tmsg builds a template message; comps is the JSON of template.components (or "").
func tmsg(name, lang, comps string) string {
	s := `{"to":"15551230001","type":"template","template":{"name":"` + name + `","language":{"policy":"deterministic","code":"` + lang + `"}`
	if comps != "" {
		s += `,"components":` + comps
	}
	return s + `}}`
}

const (
	orderHeader = `{"type":"header","parameters":[{"type":"image","image":{"link":"https://example.com/h.jpg"}}]}`
	orderBody   = `{"type":"body","parameters":[{"type":"text","text":"Jessica"},{"type":"currency","currency":{"fallback_value":"$100.99","code":"USD","amount_1000":100990}},{"type":"date_time","date_time":{"fallback_value":"February 25, 1977","timestamp":1485470276}},{"type":"text","text":"express"}]}`
	orderURL    = `{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"url-suffix"}]}`
	orderCode   = `{"type":"button","sub_type":"copy_code","index":2,"parameters":[{"type":"coupon_code","coupon_code":"DISCOUNT20"}]}`
	greetHeader = `{"type":"header","parameters":[{"type":"text","text":"Ann"}]}`
	greetBody   = `{"type":"body","parameters":[{"type":"text","text":"1234"},{"type":"text","text":"noon"}]}`
)

func comps(cs ...string) string { return "[" + strings.Join(cs, ",") + "]" }

func TestTemplateSendChecks(t *testing.T) {
	e, st := templateEngine(t, testTemplates()...)
	ctx := context.Background()
	ns, err := e.Namespace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	long := func(n int) string { return strings.Repeat("a", n) }
	textParams := func(vs ...string) string {
		ps := make([]string, len(vs))
		for i, v := range vs {
			ps[i] = `{"type":"text","text":"` + v + `"}`
		}
		return "[" + strings.Join(ps, ",") + "]"
	}
	cases := []struct {
		name    string
		msg     string
		code    int
		details string
		// for accepted sends
		rendered string
		category string
	}{
		{name: "hello_world without components", msg: tmsg("hello_world", "en_US", ""),
			rendered: "Hello World\n" + HelloWorld().Components.Body + "\nWhatsApp Business Platform sample message", category: "UTILITY"},
		{name: "our namespace", msg: strings.Replace(tmsg("hello_world", "en_US", ""), `"name"`, `"namespace":"`+ns+`","name"`, 1),
			rendered: "Hello World\n" + HelloWorld().Components.Body + "\nWhatsApp Business Platform sample message", category: "UTILITY"},
		{name: "foreign namespace", msg: strings.Replace(tmsg("hello_world", "en_US", ""), `"name"`, `"namespace":"cdb2df51_9816_c754_c5a4_64cdabdcad3e","name"`, 1),
			code: 1009, details: "The namespace does not correspond to the WABA id"},
		{name: "unknown name", msg: tmsg("nope", "en_US", ""),
			code: 2001, details: "Template 'template.name' 'nope' does not exist in language 'en_US'"},
		{name: "unknown language", msg: tmsg("greet", "de", ""),
			code: 2003, details: "Template 'template.name' 'greet' has no translation for 'template.language.code' 'de'; it exists in: en_US, fr"},
		{name: "hello_world in en", msg: tmsg("hello_world", "en", ""),
			code: 2003, details: "Template 'template.name' 'hello_world' has no translation for 'template.language.code' 'en'; it exists in: en_US"},
		{name: "rejected", msg: tmsg("rejected_one", "en_US", ""), code: 2060, details: "Template 'template.name' 'rejected_one' (en_US) was rejected"},
		{name: "paused", msg: tmsg("paused_one", "en_US", ""), code: 2061, details: "Template 'template.name' 'paused_one' (en_US) is paused"},
		{name: "disabled", msg: tmsg("disabled_one", "en_US", ""), code: 2062, details: "Template 'template.name' 'disabled_one' (en_US) is disabled"},
		{name: "pending", msg: tmsg("pending_one", "en_US", ""), code: 2001, details: "Template 'template.name' 'pending_one' (en_US) is not active: its status is PENDING"},
		{name: "greet ok", msg: tmsg("greet", "en_US", comps(greetHeader, greetBody)),
			rendered: "Hi Ann\nYour code is 1234, valid until noon.", category: "UTILITY"},
		{name: "body count low", msg: tmsg("greet", "en_US", comps(greetHeader, `{"type":"body","parameters":`+textParams("1234")+`}`)),
			code: 2000, details: "Parameter 'template.components[1].parameters' has 1 parameters; template 'greet' expects 2 in its body"},
		{name: "body count high", msg: tmsg("greet", "en_US", comps(greetHeader, `{"type":"body","parameters":`+textParams("a", "b", "c")+`}`)),
			code: 2000, details: "Parameter 'template.components[1].parameters' has 3 parameters; template 'greet' expects 2 in its body"},
		{name: "body parameters for a template without variables", msg: tmsg("hello_world", "en_US", comps(`{"type":"body","parameters":`+textParams("x")+`}`)),
			code: 2000, details: "Parameter 'template.components[0].parameters' has 1 parameters; template 'hello_world' expects 0 in its body"},
		{name: "header count", msg: tmsg("greet", "en_US", comps(`{"type":"header","parameters":`+textParams("a", "b")+`}`, greetBody)),
			code: 2000, details: "Parameter 'template.components[0].parameters' has 2 parameters; template 'greet' expects 1 in its header"},
		{name: "body missing", msg: tmsg("greet", "en_US", comps(greetHeader)),
			code: 2009, details: "Template 'greet' has 2 variables in its body: 'template.components' needs a body component with 2 parameters"},
		{name: "header missing", msg: tmsg("greet", "en_US", comps(greetBody)),
			code: 2009, details: "Template 'greet' has 1 variables in its header: 'template.components' needs a header component with 1 parameters"},
		{name: "header param too long", msg: tmsg("greet", "en_US", comps(`{"type":"header","parameters":`+textParams(long(61))+`}`, greetBody)),
			code: 2004, details: "Parameter 'template.components[0].parameters[0].text' is too long: 61 characters, the maximum is 60"},
		{name: "body param too long", msg: tmsg("greet", "en_US", comps(greetHeader, `{"type":"body","parameters":`+textParams(long(1025), "x")+`}`)),
			code: 2004, details: "Parameter 'template.components[1].parameters[0].text' is too long: 1025 characters, the maximum is 1024"},
		{name: "body-only template allows long parameters", msg: tmsg("body_only", "en_US", comps(`{"type":"body","parameters":`+textParams(long(5000))+`}`)),
			rendered: long(5000), category: "UTILITY"},
		{name: "body-only parameter over 32768", msg: tmsg("body_only", "en_US", comps(`{"type":"body","parameters":`+textParams(long(32769))+`}`)),
			code: 2004, details: "Parameter 'template.components[0].parameters[0].text' is too long: 32769 characters, the maximum is 32768"},
		{name: "rendered body too long", msg: tmsg("two_vars", "en_US", comps(`{"type":"body","parameters":`+textParams(long(600), long(600))+`}`)),
			code: 2005, details: "The body of template 'two_vars' is 1205 characters long once its parameters are filled in; the maximum is 1024"},
		{name: "order ok", msg: tmsg("order_update", "en_US", comps(orderHeader, orderBody, orderURL, orderCode)),
			rendered: "Hi Jessica, your order of $100.99 ships on February 25, 1977 (express).\nReply STOP to opt out", category: "MARKETING"},
		{name: "media header missing", msg: tmsg("order_update", "en_US", comps(orderBody, orderURL, orderCode)),
			code: 2009, details: "Template 'order_update' has a IMAGE header: 'template.components' needs a header component with one 'image' parameter"},
		{name: "media header wrong kind", msg: tmsg("order_update", "en_US", comps(`{"type":"header","parameters":[{"type":"video","video":{"link":"https://example.com/v.mp4"}}]}`, orderBody, orderURL, orderCode)),
			code: 2012, details: "Parameter 'template.components[0].parameters[0].type' has the value 'video'; template 'order_update' has a IMAGE header and expects 'image'"},
		{name: "media for a text header", msg: tmsg("greet", "en_US", comps(`{"type":"header","parameters":[{"type":"image","image":{"id":"1"}}]}`, greetBody)),
			code: 2012, details: "Parameter 'template.components[0].parameters[0].type' has the value 'image'; variable {{1}} of the header of template 'greet' takes text, currency or date_time"},
		{name: "button index the template lacks", msg: tmsg("order_update", "en_US", comps(orderHeader, orderBody, orderURL, orderCode, `{"type":"button","sub_type":"quick_reply","index":5,"parameters":[{"type":"payload","payload":"p"}]}`)),
			code: 1009, details: "Parameter 'template.components[4].index' has invalid value '5'; template 'order_update' has 3 buttons"},
		{name: "button sub_type not the template's", msg: tmsg("order_update", "en_US", comps(orderHeader, orderBody, orderURL, orderCode, `{"type":"button","sub_type":"url","index":0,"parameters":[{"type":"text","text":"x"}]}`)),
			code: 1009, details: "Parameter 'template.components[4].sub_type' has invalid value 'url'; button 0 of template 'order_update' is a quick_reply button"},
		{name: "url suffix missing", msg: tmsg("order_update", "en_US", comps(orderHeader, orderBody, orderCode)),
			code: 2009, details: "Template 'order_update' button 1 has a dynamic URL: 'template.components' needs a button component with sub_type 'url', index 1 and a 'text' parameter (the URL suffix)"},
		{name: "coupon missing", msg: tmsg("order_update", "en_US", comps(orderHeader, orderBody, orderURL)),
			code: 2009, details: "Template 'order_update' button 2 is a COPY_CODE button: 'template.components' needs a button component with sub_type 'copy_code', index 2 and a 'coupon_code' parameter"},
		{name: "url suffix makes a bad URL", msg: tmsg("order_update", "en_US", comps(orderHeader, orderBody, `{"type":"button","sub_type":"url","index":1,"parameters":[{"type":"text","text":"a b"}]}`, orderCode)),
			code: 2010, details: "Parameter 'template.components[2].parameters[0].text' makes the URL of button 1 invalid: 'https://example.com/track/a b'"},
		{name: "suffix for a static URL", msg: tmsg("greet", "en_US", comps(greetHeader, greetBody, `{"type":"button","sub_type":"url","index":1,"parameters":[{"type":"text","text":"x"}]}`)),
			code: 1009, details: "Parameter 'template.components[2].parameters' is not required: the URL of button 1 of template 'greet' has no variable"},
		{name: "parameters for a phone button", msg: tmsg("greet", "en_US", comps(greetHeader, greetBody, `{"type":"button","sub_type":"quick_reply","index":0,"parameters":[{"type":"payload","payload":"x"}]}`)),
			code: 1009, details: "Parameter 'template.components[2].sub_type' has invalid value 'quick_reply'; button 0 of template 'greet' is a PHONE_NUMBER button and takes no parameters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			acc, err := e.Send(ctx, decodeMsg(t, c.msg), wa.OnPrem)
			if c.code != 0 {
				we, ok := waerr.As(err)
				if !ok {
					t.Fatalf("want %d, got %v", c.code, err)
				}
				if we.Cond.OnPrem.Code != c.code || we.Details != c.details {
					t.Fatalf("got %d %q\nwant %d %q", we.Cond.OnPrem.Code, we.Details, c.code, c.details)
				}
				return
			}
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			row, err := st.GetMessage(ctx, acc.ID)
			if err != nil {
				t.Fatal(err)
			}
			var p struct {
				Type     string           `json:"type"`
				Rendered RenderedTemplate `json:"waba_rendered"`
				Category string           `json:"waba_category"`
			}
			if err := json.Unmarshal(row.Payload, &p); err != nil {
				t.Fatalf("payload %s: %v", row.Payload, err)
			}
			if p.Type != "template" || p.Rendered.Text != c.rendered || p.Category != c.category {
				t.Fatalf("payload: type %q category %q rendered %q\nwant rendered %q category %q", p.Type, p.Category, p.Rendered.Text, c.rendered, c.category)
			}
		})
	}
}

func TestTemplateRenderedButtons(t *testing.T) {
	e, st := templateEngine(t, testTemplates()...)
	ctx := context.Background()
	acc, err := e.Send(ctx, decodeMsg(t, tmsg("order_update", "en_US", comps(orderHeader, orderBody, orderURL, orderCode))), wa.OnPrem)
	if err != nil {
		t.Fatal(err)
	}
	row, _ := st.GetMessage(ctx, acc.ID)
	var p struct {
		Rendered RenderedTemplate `json:"waba_rendered"`
	}
	if err := json.Unmarshal(row.Payload, &p); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(p.Rendered.Buttons)
	want := `[{"type":"QUICK_REPLY","text":"Yes"},{"type":"URL","text":"Track","url":"https://example.com/track/url-suffix"},{"type":"COPY_CODE","text":"Copy code","coupon_code":"DISCOUNT20"}]`
	if string(got) != want {
		t.Fatalf("buttons\n got %s\nwant %s", got, want)
	}
	if p.Rendered.Format != "IMAGE" || p.Rendered.Header != "" {
		t.Fatalf("header: %+v", p.Rendered)
	}
}

func TestTemplateSeedAndNamespace(t *testing.T) {
	ctx := context.Background()
	st := settingsStore(t)
	e := settingsEngine(t, st)
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	ns, err := e.Namespace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}$`).MatchString(ns) {
		t.Fatalf("namespace %q", ns)
	}
	h, err := e.GetTemplate(ctx, "hello_world", "en_US")
	if err != nil || h.Status != StatusApproved || h.Category != CategoryUtility {
		t.Fatalf("hello_world: %+v %v", h, err)
	}
	// The sandbox pauses hello_world; a restart (a second engine on the same store) keeps it
	// paused and keeps the namespace.
	h.Status = StatusPaused
	if err := e.PutTemplate(ctx, h); err != nil {
		t.Fatal(err)
	}
	e2 := settingsEngine(t, st)
	if err := e2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e2.Stop()
	if ns2, _ := e2.Namespace(ctx); ns2 != ns {
		t.Fatalf("namespace changed: %s → %s", ns, ns2)
	}
	if h2, _ := e2.GetTemplate(ctx, "hello_world", "en_US"); h2.Status != StatusPaused {
		t.Fatalf("reseeding overwrote hello_world: %+v", h2)
	}
	_, err = e2.Send(ctx, decodeMsg(t, tmsg("hello_world", "en_US", "")), wa.OnPrem)
	if we, ok := waerr.As(err); !ok || we.Cond.OnPrem.Code != 2061 {
		t.Fatalf("paused hello_world: %v", err)
	}
	all, err := e2.Templates(ctx)
	if err != nil || len(all) != 1 || all[0].Name != "hello_world" {
		t.Fatalf("templates: %+v %v", all, err)
	}
	if raw, err := st.GetSetting(ctx, "templates.hello_world.en_US"); err != nil || !json.Valid(raw) {
		t.Fatalf("stored under templates.<name>.<language>: %s %v", raw, err)
	}
}

func TestPutTemplateValidation(t *testing.T) {
	e, _ := templateEngine(t)
	ctx := context.Background()
	ok := func() Template {
		return Template{Name: "t", Language: "en_US", Category: CategoryUtility, Status: StatusApproved,
			Components: TemplateComponents{Body: "Hi {{1}}"}}
	}
	cases := []struct {
		name    string
		mod     func(*Template)
		code    int
		details string
	}{
		{"name", func(t *Template) { t.Name = "Bad Name" }, 1009, "Template 'name' has invalid value 'Bad Name'; use up to 512 lowercase letters, digits and '_'"},
		{"language", func(t *Template) { t.Language = "english" }, 1009, "Template 'language' has invalid value 'english'; use a language code such as 'en' or 'en_US'"},
		{"category", func(t *Template) { t.Category = "PROMO" }, 1009, "Template 'category' has invalid value 'PROMO'; use one of: MARKETING, UTILITY, AUTHENTICATION"},
		{"status", func(t *Template) { t.Status = "LIVE" }, 1009, "Template 'status' has invalid value 'LIVE'; use one of: APPROVED, PENDING, REJECTED, PAUSED, DISABLED"},
		{"no body", func(t *Template) { t.Components.Body = "" }, 1008, "Missing mandatory parameter 'components.body'"},
		{"gap in variables", func(t *Template) { t.Components.Body = "{{1}} {{3}}" }, 1009, "Template 'components.body' has invalid variables: use {{1}} to {{2}}, each once"},
		{"body too long", func(t *Template) { t.Components.Body = strings.Repeat("a", 1025) }, 1009, "Parameter 'components.body' is too long: 1025 characters, the maximum is 1024"},
		{"header format", func(t *Template) { t.Components.Header = &TemplateHeader{Format: "AUDIO"} }, 1009, "Template 'components.header.format' has invalid value 'AUDIO'; use one of: TEXT, IMAGE, VIDEO, DOCUMENT"},
		{"header two variables", func(t *Template) { t.Components.Header = &TemplateHeader{Format: "TEXT", Text: "{{1}} {{2}}"} }, 1009, "Template 'components.header.text' has 2 variables; the maximum is 1"},
		{"footer variable", func(t *Template) { t.Components.Footer = "{{1}}" }, 1009, "Template 'components.footer' has variables; a footer is fixed text"},
		{"button type", func(t *Template) { t.Components.Buttons = []TemplateButton{{Type: "FLOW", Text: "x"}} }, 1009, "Template 'components.buttons[0].type' has invalid value 'FLOW'; use one of: QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE"},
		{"url variable not a suffix", func(t *Template) {
			t.Components.Buttons = []TemplateButton{{Type: "URL", Text: "x", URL: "https://e.com/{{1}}/x"}}
		}, 1009, "Template 'components.buttons[0].url' has invalid value 'https://e.com/{{1}}/x'; use an http(s) URL, optionally ending in the variable {{1}}"},
		{"phone", func(t *Template) {
			t.Components.Buttons = []TemplateButton{{Type: "PHONE_NUMBER", Text: "x", PhoneNumber: "call me"}}
		}, 1009, "Template 'components.buttons[0].phone_number' has invalid value 'call me'; use a phone number in international format, up to 20 characters"},
		{"eleven buttons", func(t *Template) {
			for range 11 {
				t.Components.Buttons = append(t.Components.Buttons, TemplateButton{Type: "QUICK_REPLY", Text: "x"})
			}
		}, 1009, "Template 'components.buttons' has 11 buttons; the maximum is 10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := ok()
			c.mod(&d)
			err := e.PutTemplate(ctx, d)
			we, isW := waerr.As(err)
			if !isW || we.Cond.OnPrem.Code != c.code || we.Details != c.details {
				t.Fatalf("got %v\nwant %d %q", err, c.code, c.details)
			}
		})
	}
	d := ok()
	d.Status = ""
	if err := e.PutTemplate(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.GetTemplate(ctx, "t", "en_US"); got.Status != StatusPending {
		t.Fatalf("default status %q, want PENDING", got.Status)
	}
}

// TestSeed004TemplateExamples runs the seed's template examples (testdata/seed004/templates,
// see its README) through Send: refused with the registry's code while their templates do not
// exist, accepted once they are registered (and, for the reference's namespace, once it is
// the WABA's).
func TestSeed004TemplateExamples(t *testing.T) {
	dir := filepath.Join("..", "dialect", "onprem", "testdata", "seed004", "templates")
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		File      string     `json:"file"`
		Namespace string     `json:"namespace"`
		Templates []Template `json:"templates"`
		Missing   int        `json:"missing_code"`
		Rendered  string     `json:"rendered"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(cases) != len(files)-1 {
		t.Fatalf("%d cases for %d example files", len(cases), len(files)-1)
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.File, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, c.File))
			if err != nil {
				t.Fatal(err)
			}
			e, _ := templateEngine(t)
			_, err = e.Send(ctx, decodeMsg(t, string(body)), wa.OnPrem)
			if we, ok := waerr.As(err); !ok || we.Cond.OnPrem.Code != c.Missing {
				t.Fatalf("without its template: got %v, want %d", err, c.Missing)
			}

			st := settingsStore(t)
			if c.Namespace != "" {
				v, _ := json.Marshal(c.Namespace)
				if err := st.PutSetting(ctx, "waba.namespace", v); err != nil {
					t.Fatal(err)
				}
			}
			e2 := settingsEngine(t, st)
			if err := e2.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer e2.Stop()
			for _, d := range c.Templates {
				if err := e2.PutTemplate(ctx, d); err != nil {
					t.Fatalf("put %s: %v", d.Name, err)
				}
			}
			acc, err := e2.Send(ctx, decodeMsg(t, string(body)), wa.OnPrem)
			if err != nil {
				t.Fatalf("with its template: %v", err)
			}
			row, _ := st.GetMessage(ctx, acc.ID)
			var p struct {
				Rendered RenderedTemplate `json:"waba_rendered"`
			}
			_ = json.Unmarshal(row.Payload, &p)
			if p.Rendered.Text != c.Rendered {
				t.Fatalf("rendered %q, want %q", p.Rendered.Text, c.Rendered)
			}
		})
	}
}
