package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openwaba/waba/internal/config"
)

// TestLinkMedia: media sent by `link` are fetched at hand-off (issue 5 item 3) from a real
// server on 127.0.0.1, with the named media provider's credentials (onprem-api.md §9.2); a
// link that cannot be used fails the message with 1014 and details saying why.
func TestLinkMedia(t *testing.T) {
	files := linkFiles(t)

	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cfg)
		admin := func(method, path, body string) response {
			t.Helper()
			return do(t, w.base, request{method: method, path: "/v1/settings/application/media/providers" + path, token: w.tok, body: body})
		}
		// The providers API: one provider per POST, credentials write-only.
		for _, body := range []string{
			`[{"name":"private","type":"www","config":{"bearer":"s3cret-token"}}]`,
			`[{"name":"basic-files","type":"www","config":{"basic":{"username":"files","password":"pa55"}}}]`,
		} {
			if r := admin("POST", "", body); r.status != 200 {
				t.Fatalf("POST provider: %d %s", r.status, r.raw)
			}
		}
		r := admin("GET", "", "")
		want := map[string]any{"application": map[string]any{"media": map[string]any{"providers": []any{
			map[string]any{"name": "basic-files", "type": "www", "config": map[string]any{"basic": map[string]any{"username": "files", "password": "********"}}},
			map[string]any{"name": "private", "type": "www", "config": map[string]any{"bearer": "********"}},
		}}}}
		if r.status != 200 || !jsonEqual(r.body["settings"], want) || strings.Contains(string(r.raw), "s3cret") {
			t.Fatalf("GET providers: %d %s", r.status, r.raw)
		}
		wantError(t, admin("POST", "", `[{"name":"a","type":"www","config":{"bearer":"x"}},{"name":"b","type":"www","config":{"bearer":"y"}}]`),
			400, 1009, "Parameter value is not valid", "The body must be an array of exactly one provider; it has 2")
		wantError(t, admin("POST", "", `[{"name":"c","type":"ftp","config":{"bearer":"x"}}]`),
			400, 1009, "Parameter value is not valid", "Provider 'type' has invalid value 'ftp'; the only type is 'www'")
		wantError(t, admin("POST", "", `[{"name":"d","type":"www","config":{}}]`),
			400, 1008, "Required parameter is missing", "Missing mandatory parameter 'config.bearer' or 'config.basic'")
		wantError(t, admin("DELETE", "/nobody", ""), 404, 1006, "Resource not found", "No media provider is named 'nobody'")

		user := "15551230041"
		w.userSays(user, "send me the pictures")
		image := func(link, provider string) string {
			p := ""
			if provider != "" {
				p = fmt.Sprintf(`,"provider":{"name":%q}`, provider)
			}
			return w.send(fmt.Sprintf(`{"to":%q,"type":"image","image":{"link":%q%s}}`, user, files.URL+link, p))
		}
		w.expectStatuses(image("/ok.jpg", ""), "sent", "delivered", "read")
		w.expectStatuses(image("/bearer.jpg", "private"), "sent", "delivered", "read")
		w.expectStatuses(w.send(fmt.Sprintf(`{"to":%q,"type":"document","document":{"link":%q,"provider":{"name":"basic-files"},"filename":"a.pdf"}}`, user, files.URL+"/basic.pdf")),
			"sent", "delivered", "read")

		failures := []struct{ link, provider, details string }{
			{"/bearer.jpg", "", "answered HTTP 401"},
			{"/missing.jpg", "", "answered HTTP 404"},
			{"/notes.txt", "", `has type "text/plain", which image messages do not support`},
			{"/big.jpg", "", "is larger than the 5 MB limit of image messages"},
			{"/ok.jpg", "unknown-provider", "No media provider is named 'unknown-provider'"},
		}
		for _, f := range failures {
			st := w.expectStatuses(image(f.link, f.provider), "failed:1014")
			e := st[0]["errors"].([]any)[0].(map[string]any)
			if e["title"] != "Internal error" || !strings.Contains(e["details"].(string), f.details) {
				t.Fatalf("%s: error %v, want details containing %q", f.link, e, f.details)
			}
		}
		// Deleting a provider makes its links fail.
		if r := admin("DELETE", "/private", ""); r.status != 200 {
			t.Fatalf("DELETE provider: %d %s", r.status, r.raw)
		}
		w.expectStatuses(image("/bearer.jpg", "private"), "failed:1014")
	})
}
