package onprem

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// FuzzDecodeMessage: DecodeMessage followed by engine.Validate never panics and answers nil or a
// *waerr.Error; an accepted message marshals, passes validation again unchanged, and its stored
// form decodes and validates to the same bytes.
func FuzzDecodeMessage(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "seed004", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"to":5}`, `{"to":"+1 (631) 555-1004","text":{"body":"hi"}}`,
		`{"to":"15551230001","type":"interactive","interactive":{"type":"flow","body":{"text":"b"},"action":{"flow_message_version":"3","flow_token":"t","flow_id":"1","flow_cta":"Go","flow_action_payload":{"screen":"S","data":{"k":1}}}}}`,
		`{"to":"15551230001","type":"location","location":{"latitude":"1e2","longitude":"-0","name":"n","address":"a"}}`,
		`{"to":"15551230001","type":"template","template":{"name":"t","language":{"policy":"fallback","code":"en"},"components":[{"type":"header","parameters":[{"type":"image","image":{"link":"https://e.com/a.png"}}]}]}}`,
		`{"to":"15551230001","type":"document","document":{"id":"x","caption":"c"},"preview_url":false}`,
		`{"\u0074o":"1","Type":"text","contacts":[{"phones":[{"wa-id":"1","wa_id":"2"}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := DecodeMessage(body)
		if err != nil {
			if _, ok := err.(*waerr.Error); !ok {
				t.Fatalf("DecodeMessage returned %T %v", err, err)
			}
			if m != nil {
				t.Fatal("DecodeMessage returned a message with an error")
			}
			return
		}
		if m == nil {
			t.Fatal("DecodeMessage returned neither a message nor an error")
		}
		err = engine.Validate(m, wa.OnPrem)
		if err != nil {
			if _, ok := err.(*waerr.Error); !ok {
				t.Fatalf("Validate returned %T %v", err, err)
			}
			return
		}
		stored, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("an accepted message does not marshal: %v", err)
		}
		if err := engine.Validate(m, wa.OnPrem); err != nil {
			t.Fatalf("validation is not idempotent: %v\n%s", err, stored)
		}
		if again, _ := json.Marshal(m); string(again) != string(stored) {
			t.Fatalf("a second validation changed the message:\n%s\n%s", stored, again)
		}
		if m.DroppedCaption != "" {
			return // the waba_ annotation is not accepted from clients
		}
		m2, err := DecodeMessage(stored)
		if err != nil {
			t.Fatalf("the stored form does not decode: %v\n%s", err, stored)
		}
		if err := engine.Validate(m2, wa.OnPrem); err != nil {
			t.Fatalf("the stored form is refused: %v\n%s", err, stored)
		}
		if again, _ := json.Marshal(m2); string(again) != string(stored) {
			t.Fatalf("the stored form is not stable:\n%s\n%s", stored, again)
		}
	})
}
