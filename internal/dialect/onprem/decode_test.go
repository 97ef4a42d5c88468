package onprem

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// seedCase is one entry of testdata/seed004/cases.json.
type seedCase struct {
	File   string `json:"file"`
	Status int    `json:"status"`
	Code   int    `json:"code,omitempty"`
}

func loadSeedCases(t testing.TB) []seedCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "seed004", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []seedCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("cases.json: %v", err)
	}
	return cases
}

// decodeAndValidate is what POST /v1/messages does before storing: decode, then validate.
func decodeAndValidate(body []byte) (*wa.Message, error) {
	m, err := DecodeMessage(body)
	if err != nil {
		return nil, err
	}
	if err := engine.Validate(m, wa.OnPrem); err != nil {
		return m, err
	}
	return m, nil
}

// TestSeed004Cases runs every request example of seed 004 (and the manifest's reference
// examples) through DecodeMessage and engine.Validate and checks the answer the manifest gives.
func TestSeed004Cases(t *testing.T) {
	cases := loadSeedCases(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "seed004", "*.json"))
	listed := map[string]bool{"cases.json": true}
	for _, c := range cases {
		listed[c.File] = true
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is not in cases.json", filepath.Base(f))
		}
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.File, ".json"), func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "seed004", c.File))
			if err != nil {
				t.Fatal(err)
			}
			_, err = decodeAndValidate(body)
			if c.Status == 201 {
				if err != nil {
					t.Fatalf("want 201, got %v", err)
				}
				return
			}
			e, ok := waerr.As(err)
			if !ok {
				t.Fatalf("want %d/%d, got %v", c.Status, c.Code, err)
			}
			if e.Cond.OnPrem.Code != c.Code || e.Cond.OnPrem.HTTP != c.Status {
				t.Fatalf("want %d/%d, got %d/%d: %s", c.Status, c.Code, e.Cond.OnPrem.HTTP, e.Cond.OnPrem.Code, e.Details)
			}
			t.Logf("%d %s", e.Cond.OnPrem.Code, e.Details)
		})
	}
}

// TestSeed004Details pins the details of the seed examples that are refused, so a change in the
// order of the checks shows up.
func TestSeed004Details(t *testing.T) {
	for file, want := range map[string]string{
		"01-audio.raw.json":                  "Request body is not valid JSON: invalid character '}' looking for beginning of object key string (at byte 123, line 7, column 3)",
		"03-document-link.syntax-fixed.json": "Parameter 'document.link' has invalid value 'http(s)://the-url'; the link must be an http:// or https:// URL",
		"06-list.syntax-fixed.json":          "Parameter 'interactive.action.button' is too long: 23 characters, the maximum is 20",
		"07-reply-buttons.syntax-fixed.json": "Parameter 'interactive.action.buttons[1].reply.id' has the value 'unique-postback-id' already used at 'interactive.action.buttons[0].reply.id'; button ids must be unique",
		"09-product-list.syntax-fixed.json":  "Parameter 'interactive.Header' is not a parameter of the On-Premises API; did you mean 'header'? Parameter names are case-sensitive",
		"10-contacts.syntax-fixed.json":      "Parameter 'contacts[0].birthday' has invalid value 'birthday'; use the format YYYY-MM-DD",
		"11-template-quick-reply.raw.json":   "Missing mandatory parameter 'to'",
		"13-hsm.raw.json":                    "Parameter 'type' has invalid value 'hsm': the hsm type was retired in v2.39 of the On-Premises API; send type 'template' with a 'template' object (name, language, components) instead",
		"10-contacts.raw.json":               "Request body is not valid JSON: invalid character ':' after top-level value (at byte 11, line 1, column 11)",
		"07-reply-buttons.raw.json":          "Request body is not valid JSON: invalid character '#' looking for beginning of object key string (at byte 142, line 7, column 17)",
		"09-product-list.raw.json":           "Request body is not valid JSON: invalid character '.' looking for beginning of value (at byte 685, line 26, column 29)",
		"04-video-link.syntax-fixed.json":    "Parameter 'video.link' has invalid value 'http(s)://the-url'; the link must be an http:// or https:// URL",
		"12-template-copy-code.raw.json":     "Missing mandatory parameter 'to'",
		"06-list.raw.json":                   "Request body is not valid JSON: invalid character '}' looking for beginning of object key string (at byte 698, line 27, column 13)",
		"03-document-link.raw.json":          "Request body is not valid JSON: invalid character '\"' after object key:value pair (at byte 138, line 7, column 7)",
		"04-video-link.raw.json":             "Request body is not valid JSON: invalid character '\"' after object key:value pair (at byte 134, line 7, column 7)",
	} {
		t.Run(file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "seed004", file))
			if err != nil {
				t.Fatal(err)
			}
			_, err = decodeAndValidate(body)
			e, ok := waerr.As(err)
			if !ok {
				t.Fatalf("want an error, got %v", err)
			}
			if e.Details != want {
				t.Errorf("details:\n got %s\nwant %s", e.Details, want)
			}
		})
	}
}

func TestDecodeMessage(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		code    int    // 0: no error
		details string // exact, when code != 0
	}{
		{"empty body", ``, 1025, "Request body is empty; send a JSON object"},
		{"blank body", " \n\t", 1025, "Request body is empty; send a JSON object"},
		{"truncated", `{"to":"15551230001"`, 1025, "Request body is not valid JSON: unexpected end of JSON input (after byte 19, at the end of the body)"},
		{"trailing comma", "{\"to\":\"15551230001\",\n}", 1025, "Request body is not valid JSON: invalid character '}' looking for beginning of object key string (at byte 22, line 2, column 1)"},
		{"trailing data", `{"to":"15551230001"} {}`, 1025, "Request body is not valid JSON: invalid character '{' after top-level value (at byte 22, line 1, column 22)"},
		{"array", `[{"to":"15551230001"}]`, 1025, "Request body must be a JSON object, not an array"},
		{"string", `"hello"`, 1025, "Request body must be a JSON object, not a string"},
		{"number", `5`, 1025, "Request body must be a JSON object, not a number"},
		{"null", `null`, 1025, "Request body must be a JSON object, not null"},
		{"to is a number", `{"to":5}`, 1009, "Parameter 'to' has a value of the wrong type: expected a string, got a number"},
		{"text is a string", `{"to":"1","text":"hi"}`, 1009, "Parameter 'text' has a value of the wrong type: expected an object, got a string"},
		{"preview_url is a string", `{"to":"1","preview_url":"true"}`, 1009, "Parameter 'preview_url' has a value of the wrong type: expected a boolean, got a string"},
		{"nested wrong type has an indexed path", `{"interactive":{"action":{"sections":[{"rows":[]},{"rows":[{"id":"a"},{"title":7}]}]}}}`, 1009, "Parameter 'interactive.action.sections[1].rows[1].title' has a value of the wrong type: expected a string, got a number"},
		{"contacts is an object", `{"contacts":{"name":{}}}`, 1009, "Parameter 'contacts' has a value of the wrong type: expected an array, got an object"},
		{"integer field with a fraction", `{"template":{"components":[{"parameters":[{"currency":{"amount_1000":1.5}}]}]}}`, 1009, "Parameter 'template.components[0].parameters[0].currency.amount_1000' has invalid value 1.5; it must be an integer"},
		{"index is a boolean", `{"template":{"components":[{"index":true}]}}`, 1009, "Parameter 'template.components[0].index' has a value of the wrong type: expected a string or a number, got a boolean"},
		{"ttl is a boolean", `{"ttl":true}`, 1009, "Parameter 'ttl' has a value of the wrong type: expected a string or a number, got a boolean"},
		{"latitude is not a number", `{"location":{"latitude":"north"}}`, 1009, "Parameter 'location.latitude' has invalid value \"north\"; it must be a decimal number"},
		{"latitude overflows", `{"location":{"latitude":1e400}}`, 1009, "Parameter 'location.latitude' has invalid value 1e400; it must be a decimal number"},
		{"latitude NaN", `{"location":{"latitude":"NaN"}}`, 1009, "Parameter 'location.latitude' has invalid value \"NaN\"; it must be a decimal number"},
		{"provider is a number", `{"image":{"provider":5}}`, 1009, "Parameter 'image.provider' has a value of the wrong type: expected a string or an object, got a number"},
		{"ttl is an object", `{"ttl":{}}`, 1009, "Parameter 'ttl' has a value of the wrong type: expected a string or a number, got an object"},
		{"hsm may be anything here", `{"hsm":[1,{"a":2}]}`, 0, ""},
		{"nulls are absent members", `{"to":null,"text":null,"contacts":null,"location":{"latitude":null}}`, 0, ""},
		{"escaped key", `{"\u0074o":"15551230001"}`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeMessage([]byte(tt.body))
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if m == nil {
					t.Fatal("nil message")
				}
				return
			}
			e, ok := waerr.As(err)
			if !ok {
				t.Fatalf("want %d, got %v", tt.code, err)
			}
			if e.Cond.OnPrem.Code != tt.code || e.Details != tt.details {
				t.Errorf("got %d %q\nwant %d %q", e.Cond.OnPrem.Code, e.Details, tt.code, tt.details)
			}
			if m != nil {
				t.Error("a message came back with the error")
			}
		})
	}
}

func TestDecodeMessageUnknownParams(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []wa.UnknownParam
	}{
		{"none", `{"to":"1","type":"text","text":{"body":"x"},"preview_url":true}`, nil},
		{"misspelt top level", `{"to":"1","typ":"text"}`, []wa.UnknownParam{{Path: "typ"}}},
		{"wrong case", `{"To":"1","interactive":{"Header":{"type":"text"}}}`, []wa.UnknownParam{{Path: "To", Suggestion: "to"}, {Path: "interactive.Header", Suggestion: "header"}}},
		{"wrong case and wrong type", `{"to":"1","TEXT":5}`, []wa.UnknownParam{{Path: "TEXT", Suggestion: "text"}}},
		{"in an array", `{"contacts":[{"name":{"formatted_name":"a"}},{"name":{"nickname":"b"}}]}`, []wa.UnknownParam{{Path: "contacts[1].name.nickname"}}},
		{"wa-id alias is known", `{"contacts":[{"phones":[{"wa-id":"1"},{"wa_id":"2"}]}]}`, nil},
		{"waba's own annotation is not accepted", `{"waba_dropped_caption":"x"}`, []wa.UnknownParam{{Path: "waba_dropped_caption"}}},
		{"Go-only field names are not accepted", `{"UnknownParams":[]}`, []wa.UnknownParam{{Path: "UnknownParams"}}},
		{"Flow fields in action and in parameters", `{"interactive":{"action":{"flow_cta":"a","parameters":{"flow_id":"1","display_text":"x"}}}}`, nil},
		{"opaque data is not checked", `{"interactive":{"action":{"flow_action_payload":{"data":{"Any":{"Key":1}}}}},"hsm":{"Whatever":1}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeMessage([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(m.UnknownParams) != len(tt.want) {
				t.Fatalf("got %v, want %v", m.UnknownParams, tt.want)
			}
			for i := range tt.want {
				if m.UnknownParams[i] != tt.want[i] {
					t.Errorf("[%d] got %+v, want %+v", i, m.UnknownParams[i], tt.want[i])
				}
			}
		})
	}
}

// TestDecodeMessageNormalised checks the stored form: decode, validate, marshal.
func TestDecodeMessageNormalised(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{
			"defaults and preview_url moved into text",
			`{"to":"15551230001","preview_url":true,"text":{"body":"https://example.com"}}`,
			`{"recipient_type":"individual","to":"15551230001","type":"text","text":{"body":"https://example.com","preview_url":true}}`,
		},
		{
			"document caption dropped and noted",
			`{"to":"15551230001","type":"document","document":{"id":"m1","caption":"Invoice","filename":"inv.pdf"}}`,
			`{"recipient_type":"individual","to":"15551230001","type":"document","document":{"id":"m1","filename":"inv.pdf"},"waba_dropped_caption":"Invoice"}`,
		},
		{
			"wa-id alias stored as wa_id, provider string stored as object",
			`{"to":"15551230001","type":"contacts","contacts":[{"name":{"formatted_name":"A B","first_name":"A"},"phones":[{"phone":"+1 555","wa-id":"1555"}],"ims":[]}]}`,
			`{"recipient_type":"individual","to":"15551230001","type":"contacts","contacts":[{"name":{"formatted_name":"A B","first_name":"A"},"phones":[{"phone":"+1 555","wa_id":"1555"}]}]}`,
		},
		{
			"provider given as a string",
			`{"to":"15551230001","type":"image","image":{"link":"https://e.com/a.png","provider":"p1"}}`,
			`{"recipient_type":"individual","to":"15551230001","type":"image","image":{"link":"https://e.com/a.png","provider":{"name":"p1"}}}`,
		},
		{
			"coordinates given as strings, index as a number",
			`{"to":"15551230001","type":"location","location":{"latitude":"37.75","longitude":-122.4,"name":"n","address":"a"}}`,
			`{"recipient_type":"individual","to":"15551230001","type":"location","location":{"longitude":-122.4,"latitude":37.75,"name":"n","address":"a"}}`,
		},
		{
			"seed-shaped Flow stored in Cloud's shape",
			`{"to":"15551230001","type":"interactive","interactive":{"type":"flow","body":{"text":"b"},"action":{"flow_message_version":"3","flow_token":"t","flow_id":"1","flow_cta":"Go","flow_action_payload":{"screen":"S"}}}}`,
			`{"recipient_type":"individual","to":"15551230001","type":"interactive","interactive":{"type":"flow","body":{"text":"b"},"action":{"name":"flow","parameters":{"flow_message_version":"3","flow_token":"t","flow_id":"1","flow_cta":"Go","flow_action_payload":{"screen":"S"}}}}}`,
		},
		{
			"template button index kept as written",
			`{"to":"15551230001","type":"template","template":{"name":"t","language":{"policy":"deterministic","code":"en"},"components":[{"type":"button","sub_type":"quick_reply","index":0,"parameters":[{"type":"payload","payload":"p"}]}]}}`,
			`{"recipient_type":"individual","to":"15551230001","type":"template","template":{"name":"t","language":{"policy":"deterministic","code":"en"},"components":[{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"p"}]}]}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := decodeAndValidate([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			// Validation is idempotent: the normalised message passes again, unchanged.
			if err := engine.Validate(m, wa.OnPrem); err != nil {
				t.Fatalf("normalised message refused: %v", err)
			}
			again, _ := json.Marshal(m)
			if string(again) != string(got) {
				t.Errorf("not stable:\n%s\n%s", got, again)
			}
		})
	}
}

func BenchmarkDecodeMessage(b *testing.B) {
	for _, file := range []string{"05-text.raw.json", "06-list.fixed.json", "templates/14-ref-template.raw.json"} {
		body, err := os.ReadFile(filepath.Join("testdata", "seed004", file))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(file, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				m, err := DecodeMessage(body)
				if err != nil {
					b.Fatal(err)
				}
				if err := engine.Validate(m, wa.OnPrem); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
