package simnet

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestLinks: every media a stored payload names by link is found, with its kind, provider and
// place; media by id and text headers are not.
func TestLinks(t *testing.T) {
	for _, c := range []struct {
		name    string
		payload string
		want    []MediaLink
	}{
		{"image message", `{"type":"image","image":{"link":"https://a/x.jpg","provider":{"name":"p"}}}`,
			[]MediaLink{{Kind: "image", Link: "https://a/x.jpg", Provider: "p", Place: PlaceMessage}}},
		{"image by id", `{"type":"image","image":{"id":"f043afd0-f0ae-4b9c-ab3d-696fb4c8cd68"}}`, nil},
		{"type decides", `{"type":"text","text":{"body":"hi"},"image":{"link":"https://a/x.jpg"}}`, nil},
		{"template header document", `{"type":"template","template":{"name":"t","components":[{"type":"body","parameters":[{"type":"text","text":"x"}]},` +
			`{"type":"HEADER","parameters":[{"type":"document","document":{"link":"https://a/m.pdf","filename":"m.pdf"}}]}]}}`,
			[]MediaLink{{Kind: "document", Link: "https://a/m.pdf", Place: PlaceTemplateHeader}}},
		{"template header, two links, one repeated", `{"type":"template","template":{"components":[{"type":"header","parameters":[` +
			`{"type":"image","image":{"link":"https://a/1.jpg"}},{"type":"video","video":{"link":"https://a/2.mp4"}},{"type":"image","image":{"link":"https://a/1.jpg"}}]}]}}`,
			[]MediaLink{{Kind: "image", Link: "https://a/1.jpg", Place: PlaceTemplateHeader}, {Kind: "video", Link: "https://a/2.mp4", Place: PlaceTemplateHeader}}},
		{"template body media is not a header", `{"type":"template","template":{"components":[{"type":"body","parameters":[{"type":"image","image":{"link":"https://a/1.jpg"}}]}]}}`, nil},
		{"interactive video header", `{"type":"interactive","interactive":{"type":"button","header":{"type":"video","video":{"link":"https://a/v.mp4","provider":{"name":"p"}}}}}`,
			[]MediaLink{{Kind: "video", Link: "https://a/v.mp4", Provider: "p", Place: PlaceInteractiveHeader}}},
		{"interactive text header", `{"type":"interactive","interactive":{"type":"list","header":{"type":"text","text":"Hi"}}}`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p payloadView
			if err := json.Unmarshal([]byte(c.payload), &p); err != nil {
				t.Fatal(err)
			}
			if got := p.links(); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("links() = %+v, want %+v", got, c.want)
			}
		})
	}
}
