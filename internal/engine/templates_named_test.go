package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// The issue 5 leftovers at the engine level: NAMED templates (cloud-api.md §6, §2.3), the
// header format-character policy (2007 / 132007), the definition's phone number at send time
// (2011) and the stored review delay. The HTTP envelopes are asserted in internal/app.

func namedOrder() Template {
	return Template{Name: "order_named", Language: "en_US", Category: CategoryUtility, Status: StatusApproved, ParameterFormat: FormatNamed,
		Components: TemplateComponents{
			Header:         &TemplateHeader{Format: "TEXT", Text: "Order {{order_id}}"},
			Body:           "Hi {{first_name}}, order {{order_id}} ships {{ship_date}}.",
			HeaderExamples: []NamedExample{{"order_id", "A-1"}},
			BodyExamples:   []NamedExample{{"first_name", "Ana"}, {"order_id", "A-1"}, {"ship_date", "today"}},
		}}
}

func TestNamedTemplateDefinition(t *testing.T) {
	e, _ := templateEngine(t)
	ctx := context.Background()
	const bodyEx = "components.body.example.body_text_named_params"
	cases := []struct {
		name    string
		mod     func(*Template)
		code    int
		details string
	}{
		{"ok", func(*Template) {}, 0, ""},
		{"positional variable in a NAMED body", func(t *Template) { t.Components.Body = "Hi {{first_name}}, order {{1}}" }, 1009,
			"Template 'components.body' mixes positional and named variables: {{1}} is positional but the template's parameter_format is NAMED; name every variable, e.g. {{order_id}}"},
		{"upper-case name", func(t *Template) { t.Components.Body = "Hi {{First_Name}}" }, 1009,
			"Template 'components.body' has the invalid variable {{First_Name}}; variable names are lowercase letters, digits and '_', e.g. {{order_id}}"},
		{"hyphen in a name", func(t *Template) { t.Components.Body = "Hi {{first-name}}" }, 1009,
			"Template 'components.body' has the invalid variable {{first-name}}; variable names are lowercase letters, digits and '_', e.g. {{order_id}}"},
		{"name twice", func(t *Template) { t.Components.Body = "{{first_name}} {{first_name}}" }, 1009,
			"Template 'components.body' has the variable {{first_name}} more than once; each name may appear once"},
		{"example missing", func(t *Template) { t.Components.BodyExamples = t.Components.BodyExamples[:2] }, 1008,
			"Missing mandatory parameter '" + bodyEx + "': variable {{ship_date}} of 'components.body' needs an example, {\"param_name\":\"ship_date\",\"example\":\"…\"}"},
		{"no examples at all", func(t *Template) { t.Components.BodyExamples = nil }, 1008,
			"Missing mandatory parameter '" + bodyEx + "': variable {{first_name}} of 'components.body' needs an example, {\"param_name\":\"first_name\",\"example\":\"…\"}"},
		{"example for no variable", func(t *Template) {
			t.Components.BodyExamples = append(t.Components.BodyExamples, NamedExample{"coupon", "X"})
		}, 1009, "Template '" + bodyEx + "[3].param_name' has the value 'coupon', which is not a variable of 'components.body'; its variables are: first_name, order_id, ship_date"},
		{"example given twice", func(t *Template) {
			t.Components.BodyExamples = append(t.Components.BodyExamples, NamedExample{"order_id", "B"})
		}, 1009, "Template '" + bodyEx + "[3].param_name' has the value 'order_id' already given; give each variable one example"},
		{"empty example", func(t *Template) { t.Components.BodyExamples[1].Example = " " }, 1008,
			"Missing mandatory parameter '" + bodyEx + "[1].example': the example value of {{order_id}}"},
		{"header example missing", func(t *Template) { t.Components.HeaderExamples = nil }, 1008,
			"Missing mandatory parameter 'components.header.example.header_text_named_params': variable {{order_id}} of 'components.header.text' needs an example, {\"param_name\":\"order_id\",\"example\":\"…\"}"},
		{"two header variables", func(t *Template) { t.Components.Header.Text = "{{a}} {{b}}" }, 1009,
			"Template 'components.header.text' has 2 variables; the maximum is 1"},
		{"header examples without a text header", func(t *Template) { t.Components.Header = &TemplateHeader{Format: "IMAGE"} }, 1010,
			"Parameter 'components.header.example.header_text_named_params' is not required: the template has no TEXT header"},
		{"named variable in a POSITIONAL template", func(t *Template) {
			t.ParameterFormat, t.Components = FormatPositional, TemplateComponents{Body: "Hi {{1}}, order {{order_id}}"}
		}, 1009, "Template 'components.body' mixes positional and named variables: {{order_id}} is a named variable but the template's parameter_format is POSITIONAL; use {{1}} to {{n}}, or create the template with parameter_format NAMED"},
		{"named examples in a POSITIONAL template", func(t *Template) { t.ParameterFormat = "" }, 1009,
			"Template 'components' mixes positional and named parameters: named examples (param_name) belong to a template whose parameter_format is NAMED"},
		{"unknown format", func(t *Template) { t.ParameterFormat = "MIXED" }, 1009,
			"Template 'parameter_format' has invalid value 'MIXED'; use POSITIONAL or NAMED"},
		{"variable in a NAMED footer", func(t *Template) { t.Components.Footer = "Bye {{first_name}}" }, 1009,
			"Template 'components.footer' has variables; a footer is fixed text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := namedOrder()
			c.mod(&d)
			err := e.PutTemplate(ctx, d)
			if c.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				got, err := e.GetTemplate(ctx, d.Name, d.Language)
				if err != nil || got.ParameterFormat != FormatNamed || len(got.Components.BodyExamples) != 3 {
					t.Fatalf("stored %+v %v", got, err)
				}
				return
			}
			we, isW := waerr.As(err)
			if !isW || we.Cond.OnPrem.Code != c.code || we.Details != c.details {
				t.Fatalf("got %v\nwant %d %q", err, c.code, c.details)
			}
			// Nothing half-stored: a refused definition leaves no template of a new name.
			if _, err := e.GetTemplate(ctx, "never_"+c.name, "en_US"); err == nil {
				t.Fatal("stored")
			}
		})
	}
}

// sendBoth sends js in dialect d and returns the condition (nil: accepted) and the rendered text.
func sendIn(t *testing.T, e *Engine, d wa.Dialect, js string) (*waerr.Error, string) {
	t.Helper()
	acc, err := e.Send(context.Background(), decodeMsg(t, js), d)
	if err != nil {
		we, ok := waerr.As(err)
		if !ok {
			t.Fatalf("not a catalogue error: %v", err)
		}
		return we, ""
	}
	row, err := e.st.GetMessage(context.Background(), acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Rendered RenderedTemplate `json:"waba_rendered"`
	}
	if err := json.Unmarshal(row.Payload, &p); err != nil {
		t.Fatal(err)
	}
	return nil, p.Rendered.Text
}

func cloudMsg(js string) string {
	return strings.Replace(js, `{"to"`, `{"messaging_product":"whatsapp","to"`, 1)
}

func TestNamedTemplateSend(t *testing.T) {
	e, _ := templateEngine(t, append(testTemplates(), namedOrder())...)
	np := func(name, v string) string {
		if name == "" {
			return `{"type":"text","text":"` + v + `"}`
		}
		return `{"type":"text","parameter_name":"` + name + `","text":"` + v + `"}`
	}
	header := func(p string) string { return `{"type":"header","parameters":[` + p + `]}` }
	body := func(ps ...string) string { return `{"type":"body","parameters":[` + strings.Join(ps, ",") + `]}` }
	const at = "Parameter 'template.components[1].parameters"
	cases := []struct {
		name     string
		d        wa.Dialect
		comps    string
		code     int // the dialect's code
		details  string
		rendered string
	}{
		{name: "cloud: by name, in any order", d: wa.Cloud,
			comps:    comps(header(np("order_id", "A-9")), body(np("ship_date", "Friday"), np("first_name", "Ana"), np("order_id", "A-9"))),
			rendered: "Order A-9\nHi Ana, order A-9 ships Friday."},
		{name: "cloud: name missing", d: wa.Cloud, code: 132000,
			comps:   comps(header(np("order_id", "A-9")), body(np("first_name", "Ana"), np("", "A-9"), np("ship_date", "Friday"))),
			details: at + "[1].parameter_name' is missing; template 'order_named' has named parameters: give each value the name of its variable (first_name, order_id, ship_date)"},
		{name: "cloud: unknown name", d: wa.Cloud, code: 132000,
			comps:   comps(header(np("order_id", "A-9")), body(np("first_name", "Ana"), np("order", "A-9"), np("ship_date", "Friday"))),
			details: at + "[1].parameter_name' has the value 'order', which is not a variable of the body of template 'order_named'; its variables are: first_name, order_id, ship_date"},
		{name: "cloud: name twice", d: wa.Cloud, code: 132000,
			comps:   comps(header(np("order_id", "A-9")), body(np("first_name", "Ana"), np("first_name", "Bo"), np("ship_date", "Friday"))),
			details: at + "[1].parameter_name' has the value 'first_name' already used at 'template.components[1].parameters[0]'; each variable takes one value"},
		{name: "cloud: header name is the header's", d: wa.Cloud, code: 132000,
			comps:   comps(header(np("first_name", "A-9")), body(np("first_name", "Ana"), np("order_id", "A-9"), np("ship_date", "Friday"))),
			details: "Parameter 'template.components[0].parameters[0].parameter_name' has the value 'first_name', which is not a variable of the header of template 'order_named'; its variables are: order_id"},
		{name: "cloud: count", d: wa.Cloud, code: 132000,
			comps:   comps(header(np("order_id", "A-9")), body(np("first_name", "Ana"))),
			details: at + "' has 1 parameters; template 'order_named' expects 3 in its body"},
		{name: "cloud: name for a positional template", d: wa.Cloud, code: 131009,
			comps:   comps(greetHeader, body(np("code", "1234"), np("", "noon"))),
			details: at + "[0].parameter_name' is not valid here: template 'greet' has positional parameters ({{1}} … {{n}}); send the values in order without parameter_name"},
		{name: "on-prem: in the order of the definition", d: wa.OnPrem,
			comps:    comps(header(np("", "A-9")), body(np("", "Ana"), np("", "A-9"), np("", "Friday"))),
			rendered: "Order A-9\nHi Ana, order A-9 ships Friday."},
		{name: "on-prem: parameter_name is Cloud's", d: wa.OnPrem, code: 1010,
			comps:   comps(header(np("order_id", "A-9")), body(np("", "Ana"), np("", "A-9"), np("", "Friday"))),
			details: "Parameter 'template.components[0].parameters[0].parameter_name' is not a parameter of the On-Premises API (it belongs to the Cloud API)"},
		{name: "on-prem: count", d: wa.OnPrem, code: 2000,
			comps:   comps(header(np("", "A-9")), body(np("", "Ana"))),
			details: at + "' has 1 parameters; template 'order_named' expects 3 in its body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "order_named"
			if strings.Contains(c.name, "positional") {
				name = "greet"
			}
			js := tmsg(name, "en_US", c.comps)
			if c.d == wa.Cloud {
				js = cloudMsg(js)
			}
			we, text := sendIn(t, e, c.d, js)
			if c.code == 0 {
				if we != nil || text != c.rendered {
					t.Fatalf("got %v %q, want %q", we, text, c.rendered)
				}
				return
			}
			code := we.Cond.OnPrem.Code
			if c.d == wa.Cloud {
				code = we.Cond.Cloud.Code
			}
			if we == nil || code != c.code || we.Details != c.details {
				t.Fatalf("got %v (%d)\nwant %d %q", we, code, c.code, c.details)
			}
		})
	}
}

func TestTemplateHeaderFormatCharacters(t *testing.T) {
	e, _ := templateEngine(t, testTemplates()...)
	send := func(d wa.Dialect, header, body string) (*waerr.Error, string) {
		js := tmsg("greet", "en_US", comps(`{"type":"header","parameters":[{"type":"text","text":`+header+`}]}`,
			`{"type":"body","parameters":[{"type":"text","text":`+body+`},{"type":"text","text":"noon"}]}`))
		if d == wa.Cloud {
			js = cloudMsg(js)
		}
		return sendIn(t, e, d, js)
	}
	const rule = "; a template header's text parameter cannot contain newlines, emoji or the formatting characters * _ ~ `"
	const p = "Parameter 'template.components[0].parameters[0].text' "
	cases := []struct {
		name, header string
		code, cloud  int
		details      string
	}{
		{"bold", `"*Ann*"`, 2007, 132007, p + "contains the formatting character '*'" + rule},
		{"italic", `"_Ann_"`, 2007, 132007, p + "contains the formatting character '_'" + rule},
		{"strike", `"A~nn"`, 2007, 132007, p + "contains the formatting character '~'" + rule},
		{"mono", "\"A`nn\"", 2007, 132007, p + "contains the formatting character '`'" + rule},
		{"emoji", `"Ann 🎉"`, 2007, 132007, p + "contains an emoji" + rule},
		// The whitespace rule runs first: a newline is 2006 even beside an emoji (Cloud has no
		// 2006 and answers 131009, see TestTemplateFormatPolicies).
		{"newline and emoji", `"Ann\n🎉"`, 2006, 0, p + "contains a newline; template parameters cannot contain newlines, tabs or more than 4 consecutive spaces"},
		{"plain", `"Ann Lee-Smith (VIP)"`, 0, 0, ""},
	}
	for _, c := range cases {
		for _, d := range []wa.Dialect{wa.OnPrem, wa.Cloud} {
			t.Run(c.name+"/"+d.String(), func(t *testing.T) {
				we, _ := send(d, c.header, `"1234"`)
				if c.code == 0 {
					if we != nil {
						t.Fatal(we)
					}
					return
				}
				if we == nil || we.Cond.OnPrem.Code != c.code || we.Cond.Cloud.Code != c.cloud || we.Details != c.details {
					t.Fatalf("got %v\nwant %d/%d %q", we, c.code, c.cloud, c.details)
				}
			})
		}
	}
	// The body is not a header: formatting and emoji pass there.
	if we, text := send(wa.OnPrem, `"Ann"`, `"*1234* 🎉"`); we != nil || text != "Hi Ann\nYour code is *1234* 🎉, valid until noon." {
		t.Fatalf("body: %v %q", we, text)
	}
}

func TestImportedTemplateInvalidPhone(t *testing.T) {
	e, _ := templateEngine(t)
	ctx := context.Background()
	bad := Template{Name: "call_us", Language: "en_US", Category: CategoryUtility,
		Components: TemplateComponents{Body: "Questions?", Buttons: []TemplateButton{
			{Type: "QUICK_REPLY", Text: "Later"}, {Type: "PHONE_NUMBER", Text: "Call", PhoneNumber: "call-us-now"}}}}
	// Graph's path (PutTemplate) refuses it; the sandbox import keeps it, APPROVED.
	if err := e.PutTemplate(ctx, bad); err == nil || !strings.Contains(err.Error(), "phone_number") {
		t.Fatalf("PutTemplate: %v", err)
	}
	got, err := e.ImportTemplate(ctx, bad)
	if err != nil || got.Status != StatusApproved {
		t.Fatalf("import: %+v %v", got, err)
	}
	want := "Template 'call_us' button 1 ('Call') has the phone number 'call-us-now', which is not a phone number in international format (up to 20 characters); fix the template"
	for _, d := range []wa.Dialect{wa.OnPrem, wa.Cloud} {
		js := tmsg("call_us", "en_US", "")
		if d == wa.Cloud {
			js = cloudMsg(js)
		}
		we, _ := sendIn(t, e, d, js)
		if we == nil || we.Cond != waerr.TemplateInvalidPhone || we.Details != want {
			t.Fatalf("%s: got %v, want 2011 %q", d, we, want)
		}
	}
	// Status changes keep an imported definition as it is.
	if _, err := e.SetTemplateStatus(ctx, "call_us", "en_US", "PAUSED", ""); err != nil {
		t.Fatalf("pause an imported template: %v", err)
	}
	// The import still checks everything else, and stores nothing when it refuses.
	bad.Name, bad.Components.Buttons[1].PhoneNumber = "too_long", strings.Repeat("1", 21)
	if _, err := e.ImportTemplate(ctx, bad); err == nil {
		t.Fatal("a 21-character number imported")
	}
	if _, err := e.GetTemplate(ctx, "too_long", "en_US"); err == nil {
		t.Fatal("a refused import was stored")
	}
}

func TestTemplateReviewStored(t *testing.T) {
	ctx := context.Background()
	st := settingsStore(t)
	e := settingsEngine(t, st)
	if d, err := e.TemplateReview(ctx); err != nil || d != DefaultTemplateReview {
		t.Fatalf("default: %v %v", d, err)
	}
	if err := e.SetTemplateReview(ctx, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	// Another engine on the same store (a restart, or another node) sees it.
	e2 := settingsEngine(t, st)
	if d, err := e2.TemplateReview(ctx); err != nil || d != 90*time.Second {
		t.Fatalf("after restart: %v %v", d, err)
	}
	if err := e2.SetTemplateReview(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if d, err := e.TemplateReview(ctx); err != nil || d != DefaultTemplateReview {
		t.Fatalf("reset: %v %v", d, err)
	}
	if err := e.SetTemplateReview(ctx, 0); err != nil { // resetting twice is fine
		t.Fatal(err)
	}
}
