package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
)

// waitMessages waits until the receiver holds n inbound messages from waID.
func (w *world) waitMessages(waID string, n int) ([]map[string]any, []map[string]any) {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		msgs, contacts := w.recv.messagesFrom(waID)
		if len(msgs) == n {
			return msgs, contacts
		}
		if len(msgs) > n || time.Now().After(deadline) {
			w.t.Fatalf("inbound from %s: got %d messages, want %d", waID, len(msgs), n)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

var inboundID = regexp.MustCompile(`^ABGG[A-Za-z0-9_-]{22}$`)

// TestInbound: what a simulated user sends arrives as the On-Prem `messages` webhook
// (onprem-api.md §12.3), on both stores.
func TestInbound(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cfg)
		w.sandbox("PUT", "/users/15551230010", `{"name":"Ana"}`)

		id := w.userSays("15551230010", "Hello there")
		if !inboundID.MatchString(id) {
			t.Fatalf("inbound id %q", id)
		}
		msgs, contacts := w.waitMessages("15551230010", 1)
		m := msgs[0]
		if m["id"] != id || m["type"] != "text" || m["text"].(map[string]any)["body"] != "Hello there" ||
			!regexp.MustCompile(`^\d{10}$`).MatchString(m["timestamp"].(string)) {
			t.Fatalf("text message: %s", mustJSON(m))
		}
		if len(contacts) != 1 || contacts[0]["wa_id"] != "15551230010" || contacts[0]["profile"].(map[string]any)["name"] != "Ana" {
			t.Fatalf("contacts: %s", mustJSON(contacts))
		}

		// A tap on a reply button of one of our messages, quoting it.
		out := w.text("15551230010", "Pick one")
		r := w.sandbox("POST", "/users/15551230010/messages",
			`{"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes"}},"context":{"id":"`+out+`"}}`)
		if r.status != 201 {
			t.Fatalf("tap: %d %s", r.status, r.raw)
		}
		msgs, _ = w.waitMessages("15551230010", 2)
		tap := msgs[1]
		ctx := tap["context"].(map[string]any)
		reply := tap["interactive"].(map[string]any)
		if tap["type"] != "interactive" || reply["type"] != "button_reply" || reply["button_reply"].(map[string]any)["id"] != "yes" ||
			ctx["id"] != out || ctx["from"] != "15550001111" {
			t.Fatalf("button tap: %s", mustJSON(tap))
		}

		// A list row.
		w.sandbox("POST", "/users/15551230010/messages", `{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"row-2","title":"Tuesday","description":"after 2pm"}}}`)
		msgs, _ = w.waitMessages("15551230010", 3)
		if lr := msgs[2]["interactive"].(map[string]any)["list_reply"].(map[string]any); lr["id"] != "row-2" || lr["description"] != "after 2pm" {
			t.Fatalf("list reply: %s", mustJSON(msgs[2]))
		}

		// An unsupported type arrives as `unknown` with error 501 (§12.3).
		w.sandbox("POST", "/users/15551230010/messages", `{"type":"unknown"}`)
		msgs, _ = w.waitMessages("15551230010", 4)
		if msgs[3]["type"] != "unknown" ||
			string(mustJSON(msgs[3]["errors"])) != `[{"code":501,"details":"Message type is not currently supported","title":"Unknown message type"}]` {
			t.Fatalf("unknown: %s", mustJSON(msgs[3]))
		}

		// Bad input to the sandbox is refused with its reason.
		r = w.sandbox("POST", "/users/15551230010/messages", `{"type":"poll"}`)
		if r.status != 400 || r.body["error"].(map[string]any)["code"] != "invalid_type" {
			t.Fatalf("bad type: %d %s", r.status, r.raw)
		}

		// Marking the inbound message read works through the On-Prem API.
		pr := do(t, w.base, request{method: "PUT", path: "/v1/messages/" + id, token: w.tok, body: `{"status":"read"}`})
		if pr.status != 200 {
			t.Fatalf("mark read: %d %s", pr.status, pr.raw)
		}
	})
}

// TestInboundMediaDownloadable: an image a simulated user sends is stored; the webhook carries
// its media object and GET /v1/media/{id} returns the exact bytes (issue 3 item 5).
func TestInboundMediaDownloadable(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cfg)
		png := []byte("\x89PNG\r\n\x1a\n-not-really-but-bytes-are-bytes")
		r := w.sandbox("POST", "/users/15551230020/messages",
			`{"type":"image","image":{"mime_type":"image/png","caption":"my receipt","data":"`+base64.StdEncoding.EncodeToString(png)+`"}}`)
		if r.status != 201 {
			t.Fatalf("send image: %d %s", r.status, r.raw)
		}
		msgs, _ := w.waitMessages("15551230020", 1)
		img := msgs[0]["image"].(map[string]any)
		sum := sha256.Sum256(png)
		if img["mime_type"] != "image/png" || img["caption"] != "my receipt" || img["sha256"] != hex.EncodeToString(sum[:]) {
			t.Fatalf("image object: %s", mustJSON(img))
		}
		req, _ := http.NewRequest("GET", w.base+"/v1/media/"+img["id"].(string), nil)
		req.Header.Set("Authorization", "Bearer "+w.tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(got, png) {
			t.Fatalf("download: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), got)
		}
	})
}

// TestInboundMediaTooLarge: a user's file over the 100 MB inbound cap cannot be downloaded;
// On-Prem reports it as a top-level error webhook (errors.md §2.6: 400 "Media download error"),
// with no message and no stored file.
func TestInboundMediaTooLarge(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cfg)
		r := w.sandbox("POST", "/users/15551230012/messages", `{"type":"video","video":{"file_size":104857601,"caption":"our trip"}}`)
		if r.status != 201 {
			t.Fatalf("user sends: %d %s", r.status, r.raw)
		}
		want := map[string]any{"errors": []any{map[string]any{"code": float64(400), "title": "Media download error",
			"details": "The video the user sent is 104857601 bytes, more than the 100 MB that can be downloaded; ask the user to send a smaller file"}}}
		deadline := time.Now().Add(10 * time.Second)
		for {
			w.recv.mu.Lock()
			var found bool
			for _, b := range w.recv.bodies {
				if _, ok := b["errors"]; ok {
					found = true
					if !jsonEqual(b, want) {
						w.recv.mu.Unlock()
						t.Fatalf("error webhook %s, want %s", mustJSON(b), mustJSON(want))
					}
				}
			}
			w.recv.mu.Unlock()
			if found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no error webhook")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if msgs, _ := w.recv.messagesFrom("15551230012"); len(msgs) != 0 {
			t.Fatalf("a message webhook too: %s", mustJSON(msgs))
		}
		if r := w.sandbox("POST", "/users/15551230012/messages", `{"type":"video","video":{"file_size":"big"}}`); r.status != 400 {
			t.Fatalf("bad file_size: %d %s", r.status, r.raw)
		}
	})
}
