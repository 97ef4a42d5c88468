package app

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/engine"
)

// linkFiles is a real file server on 127.0.0.1 for link media: a JPEG, a video, PDFs, a text
// file, an image over the 5 MB limit, JPEGs behind a bearer token (403 or 401 without it), a
// PDF behind basic credentials, and anything else 404.
func linkFiles(t *testing.T) *httptest.Server {
	t.Helper()
	jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte("x"), 1000)...)
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(jpeg)
		case "/clip.mp4":
			w.Header().Set("Content-Type", "video/mp4")
			w.Write([]byte("\x00\x00\x00\x18ftypmp42 tiny"))
		case "/menu.pdf":
			w.Header().Set("Content-Type", "application/pdf")
			w.Write([]byte("%PDF-1.4 menu"))
		case "/notes.txt":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("hello"))
		case "/big.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(bytes.Repeat([]byte{0}, 5<<20+1))
		case "/private.jpg":
			if r.Header.Get("Authorization") != "Bearer s3cret-token" {
				http.Error(w, "no", http.StatusForbidden)
				return
			}
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(jpeg)
		case "/bearer.jpg":
			if r.Header.Get("Authorization") != "Bearer s3cret-token" {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(jpeg)
		case "/basic.pdf":
			if u, p, ok := r.BasicAuth(); !ok || u != "files" || p != "pa55" {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/pdf")
			w.Write([]byte("%PDF-1.4 tiny"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(files.Close)
	return files
}

// closedPort is an address on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// putMediaTemplates adds approved templates with an IMAGE and a DOCUMENT header.
func putMediaTemplates(t *testing.T, w *world) {
	t.Helper()
	for _, tm := range []engine.Template{
		{Name: "photo_offer", Language: "en_US", Category: engine.CategoryMarketing, Status: engine.StatusApproved,
			Components: engine.TemplateComponents{Header: &engine.TemplateHeader{Format: "IMAGE"}, Body: "Look at this"}},
		{Name: "menu_pdf", Language: "en_US", Category: engine.CategoryUtility, Status: engine.StatusApproved,
			Components: engine.TemplateComponents{Header: &engine.TemplateHeader{Format: "DOCUMENT"}, Body: "Our menu"}},
	} {
		if err := w.app.Engine().PutTemplate(t.Context(), tm); err != nil {
			t.Fatal(err)
		}
	}
}

// headerTemplate is a template message whose header parameter is media of kind by link.
func headerTemplate(product, to, name, kind, link, extra string) string {
	return fmt.Sprintf(`{%s"to":%q,"type":"template","template":{"name":%q,"language":{"policy":"deterministic","code":"en_US"},`+
		`"components":[{"type":"header","parameters":[{"type":%q,%q:{"link":%q%s}}]}]}}`, product, to, name, kind, kind, link, extra)
}

// headerInteractive is a reply-button message whose header is media of kind by link.
func headerInteractive(product, to, kind, link, extra string) string {
	return fmt.Sprintf(`{%s"to":%q,"type":"interactive","interactive":{"type":"button","header":{"type":%q,%q:{"link":%q%s}},`+
		`"body":{"text":"Pick one"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"A"}}]}}}`, product, to, kind, kind, link, extra)
}

// TestLinkMediaHeaders: media named by `link` in a template's header parameter or an
// interactive message's header are fetched at hand-off like a media message's own (issue 5
// item 3 leftovers): an unreachable, missing, wrong-typed or oversized file fails the message
// asynchronously with 1014 (On-Prem) / 131053 (Cloud) and details naming the link and the
// problem, never the credentials (errors.md §2.6 "C: also A-st when sending by link"). A
// template's DOCUMENT header takes only PDF (cloud-api.md §2.4 "documents must be PDF";
// onprem-api.md §14), while a document message takes any document type.
func TestLinkMediaHeaders(t *testing.T) {
	files := linkFiles(t)
	dead := "http://" + closedPort(t) + "/gone.jpg"
	drivers(t, func(t *testing.T, cfg config.Config) {
		const secret = "cloud-app-secret-0123456789"
		cfg = cloudConfig(cfg)
		cfg.AppSecret = secret
		w := newWorld(t, cfg)
		putMediaTemplates(t, w)
		if r := do(t, w.base, request{method: "POST", path: "/v1/settings/application/media/providers", token: w.tok,
			body: `[{"name":"private","type":"www","config":{"bearer":"s3cret-token"}}]`}); r.status != 200 {
			t.Fatalf("POST provider: %d %s", r.status, r.raw)
		}
		const user = "15551230071"
		w.userSays(user, "show me") // interactive messages need the service window
		f := files.URL

		t.Run("onprem", func(t *testing.T) {
			w.t = t
			provider := `,"provider":{"name":"private"}`
			for _, ok := range []string{
				headerTemplate("", user, "photo_offer", "image", f+"/ok.jpg", ""),
				headerTemplate("", user, "photo_offer", "image", f+"/private.jpg", provider),
				headerTemplate("", user, "menu_pdf", "document", f+"/menu.pdf", `,"filename":"menu.pdf"`),
				headerInteractive("", user, "image", f+"/ok.jpg", ""),
				headerInteractive("", user, "video", f+"/clip.mp4", ""),
				headerInteractive("", user, "document", f+"/notes.txt", `,"filename":"notes.txt"`),
			} {
				w.expectStatuses(w.send(ok), "sent", "delivered", "read")
			}
			for _, c := range []struct{ name, body, details string }{
				{"template image 404", headerTemplate("", user, "photo_offer", "image", f+"/missing.jpg", ""),
					"Downloading the media from " + f + "/missing.jpg answered HTTP 404"},
				{"template image unreachable", headerTemplate("", user, "photo_offer", "image", dead, ""),
					"Downloading the media from " + dead + " failed: dial tcp " + strings.TrimPrefix(strings.TrimSuffix(dead, "/gone.jpg"), "http://") + ": connect: connection refused"},
				{"template document must be PDF", headerTemplate("", user, "menu_pdf", "document", f+"/notes.txt", ""),
					`The media at ` + f + `/notes.txt has type "text/plain", which template document headers do not support; supported: [application/pdf]`},
				{"template image too large", headerTemplate("", user, "photo_offer", "image", f+"/big.jpg", ""),
					"The media at " + f + "/big.jpg is larger than the 5 MB limit of template headers of type image"},
				{"interactive image wrong type", headerInteractive("", user, "image", f+"/menu.pdf", ""),
					`The media at ` + f + `/menu.pdf has type "application/pdf", which interactive headers of type image do not support; supported: [image/jpeg image/png]`},
				{"interactive image too large", headerInteractive("", user, "image", f+"/big.jpg", ""),
					"The media at " + f + "/big.jpg is larger than the 5 MB limit of interactive headers of type image"},
				// The provider's token is refused by the server: the details say so without it;
				// user info and query strings of the link are left out too.
				{"interactive header without the provider", headerInteractive("", user, "image", strings.Replace(f, "http://", "http://me:hunter2@", 1)+"/private.jpg?sig=s3cret-sig", ""),
					"Downloading the media from " + f + "/private.jpg answered HTTP 403"},
				{"interactive header, unknown provider", headerInteractive("", user, "image", f+"/private.jpg", `,"provider":{"name":"nobody"}`),
					"No media provider is named 'nobody'; configure it with POST /v1/settings/application/media/providers"},
			} {
				st := w.expectStatuses(w.send(c.body), "failed:1014")
				e := st[0]["errors"].([]any)[0]
				if want := map[string]any{"code": float64(1014), "title": "Internal error", "details": c.details}; !jsonEqual(e, want) {
					t.Fatalf("%s: error %s\nwant %s", c.name, mustJSON(e), mustJSON(want))
				}
				if raw := mustJSON(st); bytes.Contains(raw, []byte("s3cret")) || bytes.Contains(raw, []byte("hunter2")) {
					t.Fatalf("%s: a credential reached the webhook: %s", c.name, raw)
				}
			}
		})

		t.Run("cloud", func(t *testing.T) {
			w.t = t
			rcv := newRawReceiver(t)
			setCloudHooks(t, w, rcv.URL(), "")
			product := `"messaging_product":"whatsapp",`
			// outcome waits for wamid's first delivered or failed status; it returns the status
			// and, for failed, its one error.
			outcome := func(wamid string) (string, map[string]any) {
				t.Helper()
				st, p := waitCloudStatus(t, w, rcv, secret, cfg.WABAID, wamid, "delivered", "failed")
				if st["status"] == "delivered" {
					return "delivered", nil
				}
				errs, _ := st["errors"].([]any)
				if len(errs) != 1 || bytes.Contains(p.raw, []byte("s3cret")) {
					t.Fatalf("failed status: %s", p.raw)
				}
				return "failed", errs[0].(map[string]any)
			}
			for _, ok := range []string{
				headerTemplate(product, user, "photo_offer", "image", f+"/ok.jpg", ""),
				headerTemplate(product, user, "menu_pdf", "document", f+"/menu.pdf", `,"filename":"menu.pdf"`),
				headerInteractive(product, user, "video", f+"/clip.mp4", ""),
			} {
				if st, e := outcome(cloudSendOK(t, w, user, ok)); st != "delivered" {
					t.Fatalf("%s: %s %v", ok, st, e)
				}
			}
			for _, c := range []struct{ name, body, details string }{
				{"template image unreachable", headerTemplate(product, user, "photo_offer", "image", f+"/missing.jpg", ""),
					"Downloading the media from " + f + "/missing.jpg answered HTTP 404"},
				{"template document must be PDF", headerTemplate(product, user, "menu_pdf", "document", f+"/notes.txt", ""),
					`The media at ` + f + `/notes.txt has type "text/plain", which template document headers do not support; supported: [application/pdf]`},
				{"interactive document too large for an image", headerInteractive(product, user, "image", f+"/big.jpg", ""),
					"The media at " + f + "/big.jpg is larger than the 5 MB limit of interactive headers of type image"},
			} {
				st, e := outcome(cloudSendOK(t, w, user, c.body))
				want := map[string]any{"code": float64(131053), "title": "Media upload error", "message": "Media upload error",
					"error_data": map[string]any{"details": c.details}, "href": "/documentation/business-messaging/whatsapp/support/error-codes"}
				if st != "failed" || !jsonEqual(e, want) {
					t.Fatalf("%s: %s %s\nwant %s", c.name, st, mustJSON(e), mustJSON(want))
				}
			}
		})
	})
}
