package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/media"
)

// TestCloudInboundMedia: media a simulated user sends to a number with Cloud webhooks arrive
// with a numeric id and, as in newer payloads (webhooks.md §2.2), an absolute signed `url` of
// the form GET /{media-id} answers, which downloads the exact bytes with the bearer token and
// dies after five minutes of virtual time (cloud-api.md §5 "Media URL lifetime"); then GET
// /{media-id} makes a fresh one. The id itself lives seven days on the Graph routes ("IDs from
// webhooks: 7 days", §5) and is then the unknown-object error 100/33, while /v1/media keeps
// the file for On-Prem's 30 days and an uploaded media's Graph id lives on.
func TestCloudInboundMedia(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		const secret = "cloud-app-secret-0123456789"
		cfg = cloudConfig(cfg)
		cfg.AppSecret = secret
		w := newWorld(t, cfg)
		rcv := newRawReceiver(t)
		setCloudHooks(t, w, rcv.URL(), "")
		// inbound waits for the Cloud message from a user and returns it.
		inbound := func(from string) map[string]any {
			t.Helper()
			var msg map[string]any
			waitFor(t, func() bool {
				for _, req := range rcv.requests() {
					p := checkCloudPost(t, req, secret, cfg.WABAID)
					if msgs, _ := p.value["messages"].([]any); len(msgs) == 1 && msgs[0].(map[string]any)["from"] == from {
						msg = msgs[0].(map[string]any)
						return true
					}
				}
				return false
			}, "the inbound message from "+from)
			return msg
		}
		png := []byte("\x89PNG\r\n\x1a\n-cloud-inbound-bytes")
		sum := sha256.Sum256(png)
		if r := w.sandbox("POST", "/users/15551230081/messages",
			`{"type":"image","image":{"mime_type":"image/png","caption":"my receipt","data":"`+base64.StdEncoding.EncodeToString(png)+`"}}`); r.status != 201 {
			t.Fatalf("user sends: %d %s", r.status, r.raw)
		}
		img, _ := inbound("15551230081")["image"].(map[string]any)
		gid, _ := img["id"].(string)
		url, _ := img["url"].(string)
		want := map[string]any{"caption": "my receipt", "id": gid, "mime_type": "image/png", "sha256": hex.EncodeToString(sum[:]), "url": url}
		if !mediaIDShape.MatchString(gid) || !jsonEqual(img, want) {
			t.Fatalf("image object: %s", mustJSON(img))
		}
		// The same form as GET /{media-id}: origin, /waba-media/<gid>/<expiry>/<signature>, the
		// expiry five minutes after the webhook was rendered (between the media's arrival and
		// now: the virtual clock flows).
		uuid, ok := media.ParseGraphID(gid)
		if !ok {
			t.Fatalf("id %q is not a Graph media id", gid)
		}
		stored, rc, err := w.app.store.OpenMedia(t.Context(), uuid)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		parts := strings.Split(strings.TrimPrefix(url, w.base+"/waba-media/"), "/")
		var exp int64
		if len(parts) == 3 {
			exp, _ = strconv.ParseInt(parts[1], 10, 64)
		}
		if !strings.HasPrefix(url, w.base+"/waba-media/"+gid+"/") || len(parts) != 3 || len(parts[2]) != 43 ||
			exp < stored.CreatedAt.Add(5*time.Minute).Unix() || exp > w.app.eng.Now().Add(5*time.Minute).Unix() {
			t.Fatalf("url %q: want %s/waba-media/%s/<arrival + 5 min>/<signature>", url, w.base, gid)
		}
		status, h, b := get(t, url, cmToken)
		if status != 200 || h.Get("Content-Type") != "image/png" || !bytes.Equal(b, png) {
			t.Fatalf("download: %d %q %q", status, h.Get("Content-Type"), b)
		}
		wantGraphError(t, do(t, url, request{method: "GET"}), 401, 104,
			"(#104) An access token is required to request this resource", "Send the access token as 'Authorization: Bearer <token>'")

		// A voice note: audio with voice:true, and its url works too.
		if r := w.sandbox("POST", "/users/15551230082/messages", `{"type":"voice","voice":{"data":"`+base64.StdEncoding.EncodeToString([]byte("OggS voice"))+`"}}`); r.status != 201 {
			t.Fatalf("user sends voice: %d %s", r.status, r.raw)
		}
		audio, _ := inbound("15551230082")["audio"].(map[string]any)
		if audio["voice"] != true || audio["mime_type"] != "audio/ogg; codecs=opus" {
			t.Fatalf("audio object: %s", mustJSON(audio))
		}
		if status, _, b := get(t, audio["url"].(string), cmToken); status != 200 || string(b) != "OggS voice" {
			t.Fatalf("voice download: %d %q", status, b)
		}

		// The URL dies after five minutes; GET /{media-id} gives a fresh one (cloud-api.md §5).
		w.advance(5 * time.Minute)
		if status, _, b := get(t, url, cmToken); status != 404 || len(b) != 0 {
			t.Fatalf("expired url: %d %q", status, b)
		}
		r := do(t, w.base, request{method: "GET", path: "/v24.0/" + gid, token: cmToken})
		fresh, _ := r.body["url"].(string)
		if r.status != 200 || fresh == url || !jsonEqual(r.body, map[string]any{"messaging_product": "whatsapp", "url": fresh,
			"mime_type": "image/png", "sha256": hex.EncodeToString(sum[:]), "file_size": float64(len(png)), "id": gid}) {
			t.Fatalf("GET media: %d %s", r.status, r.raw)
		}
		if status, _, b := get(t, fresh, cmToken); status != 200 || !bytes.Equal(b, png) {
			t.Fatalf("fresh url: %d", status)
		}

		// An uploaded media, for contrast: its id lives 30 days.
		up := multipartUpload(t, w.base, "", field("messaging_product", "whatsapp"), filePart("image/png", png))
		upID, _ := up.body["id"].(string)
		if up.status != 200 || upID == "" {
			t.Fatalf("upload: %d %s", up.status, up.raw)
		}

		// Half a minute before seven days after it arrived the id works; half a minute after,
		// it is unknown. (The virtual clock flows with real time between the steps.)
		w.advance(stored.CreatedAt.Add(7*24*time.Hour - 30*time.Second).Sub(w.app.eng.Now()))
		r = do(t, w.base, request{method: "GET", path: "/v24.0/" + gid, token: cmToken})
		lastURL, _ := r.body["url"].(string)
		if r.status != 200 || r.body["id"] != gid {
			t.Fatalf("GET media at 7 days - 1 s: %d %s", r.status, r.raw)
		}
		w.advance(time.Minute)
		wantObjectError(t, do(t, w.base, request{method: "GET", path: "/v24.0/" + gid, token: cmToken}), "get", gid)
		wantObjectError(t, do(t, w.base, request{method: "GET", path: "/" + gid + "?phone_number_id=" + morePhoneID, token: cmToken}), "get", gid)
		// A URL made a minute earlier, within its five minutes, stops working with the id.
		if status, _, b := get(t, lastURL, cmToken); status != 404 || len(b) != 0 {
			t.Fatalf("url after 7 days: %d %q", status, b)
		}
		// The uploaded media's id still works; On-Prem still serves the inbound file (its own
		// retention, onprem-api.md §7).
		if r := do(t, w.base, request{method: "GET", path: "/v24.0/" + upID, token: cmToken}); r.status != 200 {
			t.Fatalf("uploaded media after 7 days: %d %s", r.status, r.raw)
		}
		if status, _, b := get(t, w.base+"/v1/media/"+uuid, w.tok); status != 200 || !bytes.Equal(b, png) {
			t.Fatalf("On-Prem download after 7 days: %d", status)
		}
		// DELETE answers the same unknown-object error for the expired id.
		wantObjectError(t, do(t, w.base, request{method: "DELETE", path: "/v24.0/" + gid, token: cmToken}), "delete", gid)
	})
}

// TestPublicOrigin: the origin of inbound media URLs is public_url when set, else the listener
// with a connectable host.
func TestPublicOrigin(t *testing.T) {
	for _, c := range []struct {
		configured string
		tls        bool
		addr, want string
	}{
		{"https://waba.example.com/", false, "127.0.0.1:9090", "https://waba.example.com"},
		{"https://example.com/waba", true, "", "https://example.com/waba"},
		{"", false, "127.0.0.1:9090", "http://127.0.0.1:9090"},
		{"", true, "0.0.0.0:9443", "https://127.0.0.1:9443"},
		{"", false, "[::]:9090", "http://127.0.0.1:9090"},
		{"", false, "[::1]:9090", "http://[::1]:9090"},
		{"", false, "", ""},
	} {
		if got := publicOrigin(c.configured, c.tls, c.addr); got != c.want {
			t.Errorf("publicOrigin(%q, %v, %q) = %q, want %q", c.configured, c.tls, c.addr, got, c.want)
		}
	}
}
