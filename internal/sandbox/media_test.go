package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/dialect/onprem"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/media"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/store/sqlite"
	"github.com/openwaba/waba/internal/wa"
)

const adminPassword = "T3st-Passw0rd!"

// inboundEnv serves the sandbox and /v1 over one SQLite store and media service. Inbound
// messages are recorded as the dispatcher would receive them (the body becomes the webhook's
// message).
type inboundEnv struct {
	url   string
	token string
	st    store.Store

	mu      sync.Mutex
	bodies  []map[string]any
	failNow bool
}

func newInboundEnv(t *testing.T) *inboundEnv {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "waba.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewVirtual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	eng := engine.New(engine.Options{Store: st, Clock: clk, IDs: wa.NewIDs(1), Logger: log, Business: "16315551019"})
	if err := eng.EnsureAdmin(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	res, err := eng.Login(ctx, "127.0.0.1", engine.AdminUser, adminPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	svc := media.New(st, clk, media.Options{})
	e := &inboundEnv{token: res.Token, st: st}
	mux := http.NewServeMux()
	mux.Handle("/v1/", onprem.New(eng, log, 1<<20).WithMedia(svc))
	mux.Handle("/sandbox/", New(Options{Engine: eng, Store: st, Clock: clk, Media: svc, Logger: log,
		Inbound: func(ctx context.Context, business, from string, body map[string]any) (int64, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			if e.failNow {
				return 0, errors.New("inbound failed")
			}
			e.bodies = append(e.bodies, body)
			return int64(len(e.bodies)), nil
		}}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

func (e *inboundEnv) send(t *testing.T, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/sandbox/v1/users/447700900123/messages", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// last returns the media object of the last inbound message, as JSON, with its id replaced by
// "ID" (returned separately).
func (e *inboundEnv) last(t *testing.T, typ string) (obj string, id string) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.bodies) == 0 {
		t.Fatal("no inbound message")
	}
	o, _ := e.bodies[len(e.bodies)-1][typ].(map[string]any)
	id, _ = o["id"].(string)
	c := map[string]any{}
	for k, v := range o {
		c[k] = v
	}
	c["id"] = "ID"
	b, _ := json.Marshal(c)
	return string(b), id
}

func (e *inboundEnv) download(t *testing.T, id string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/media/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

var createdID = regexp.MustCompile(`^\{\s*"id": "ABGG[^"]+"\s*\}\n$`)

// A user's image with base64 bytes becomes the On-Prem inbound media object, and its bytes are
// downloadable with GET /v1/media/{id} exactly as sent.
func TestInboundImageIsDownloadable(t *testing.T) {
	e := newInboundEnv(t)
	img := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0, 0xff, 7}, 10000)...)
	status, body := e.send(t, `{"type":"image","image":{"caption":"The parcel","mime_type":"image/png","data":"`+base64.StdEncoding.EncodeToString(img)+`"}}`)
	if status != http.StatusCreated || !createdID.MatchString(body) {
		t.Fatalf("send: %d %s", status, body)
	}
	obj, id := e.last(t, "image")
	if want := `{"caption":"The parcel","id":"ID","mime_type":"image/png","sha256":"` + hexSHA(img) + `"}`; obj != want {
		t.Errorf("image object:\n got %s\nwant %s", obj, want)
	}
	if !store.ValidMediaID(id) {
		t.Fatalf("image.id = %q, want a media UUID", id)
	}
	st, ct, got := e.download(t, id)
	if st != http.StatusOK || ct != "image/png" || !bytes.Equal(got, img) {
		t.Errorf("GET /v1/media/%s: %d %s, %d bytes equal=%v; want 200 image/png and the %d bytes sent", id, st, ct, len(got), bytes.Equal(got, img), len(img))
	}
}

// Without data each kind gets a placeholder of its type; captions and file names stay only
// where WhatsApp sends them.
func TestInboundMediaPlaceholders(t *testing.T) {
	e := newInboundEnv(t)
	tests := []struct {
		typ, body, wantObj, wantType string
	}{
		{"image", `{"type":"image","image":{}}`, `{"id":"ID","mime_type":"image/jpeg","sha256":"%s"}`, "image/jpeg"},
		{"voice", `{"type":"voice","voice":{"caption":"dropped"}}`, `{"id":"ID","mime_type":"audio/ogg; codecs=opus","sha256":"%s"}`, "audio/ogg; codecs=opus"},
		{"audio", `{"type":"audio"}`, `{"id":"ID","mime_type":"audio/mpeg","sha256":"%s"}`, "audio/mpeg"},
		{"video", `{"type":"video","video":{"caption":"Look","filename":"dropped.mp4"}}`, `{"caption":"Look","id":"ID","mime_type":"video/mp4","sha256":"%s"}`, "video/mp4"},
		{"document", `{"type":"document","document":{"filename":"invoice.pdf","caption":"My invoice"}}`, `{"caption":"My invoice","filename":"invoice.pdf","id":"ID","mime_type":"application/pdf","sha256":"%s"}`, "application/pdf"},
		{"sticker", `{"type":"sticker","sticker":{}}`, `{"id":"ID","mime_type":"image/webp","sha256":"%s"}`, "image/webp"},
	}
	for _, tc := range tests {
		t.Run(tc.typ, func(t *testing.T) {
			if status, body := e.send(t, tc.body); status != http.StatusCreated {
				t.Fatalf("send: %d %s", status, body)
			}
			obj, id := e.last(t, tc.typ)
			st, ct, got := e.download(t, id)
			if st != http.StatusOK || ct != tc.wantType {
				t.Fatalf("GET /v1/media/%s: %d %s", id, st, ct)
			}
			if !bytes.Equal(got, media.Placeholder(tc.wantType)) {
				t.Errorf("downloaded %d bytes, want the %s placeholder", len(got), tc.wantType)
			}
			if want := strings.Replace(tc.wantObj, "%s", hexSHA(got), 1); obj != want {
				t.Errorf("%s object:\n got %s\nwant %s", tc.typ, obj, want)
			}
		})
	}
}

func TestInboundMediaErrors(t *testing.T) {
	e := newInboundEnv(t)
	tests := []struct{ name, body, want string }{
		{"bad base64", `{"type":"image","image":{"data":"not base64!"}}`, "image.data is not valid base64: illegal base64 data at input byte 3"},
		{"data not a string", `{"type":"image","image":{"data":12}}`, "image.data must be the file's bytes in base64"},
		{"wrong type for the kind", `{"type":"image","image":{"mime_type":"image/gif","data":"R0lG"}}`, "image.mime_type image/gif is not one of image/jpeg, image/png"},
		{"mime_type not a string", `{"type":"voice","voice":{"mime_type":1}}`, `voice.mime_type must be a string such as "audio/ogg; codecs=opus"`},
		{"sticker too large", `{"type":"sticker","sticker":{"data":"` + base64.StdEncoding.EncodeToString(make([]byte, 500<<10+1)) + `"}}`, "sticker.data is 512001 bytes, more than the 500 KB a user can send"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.send(t, tc.body)
			want := `{"error":{"code":"invalid_message","message":` + mustJSON(tc.want) + `}}`
			if status != http.StatusBadRequest || compact(body) != want {
				t.Errorf("send: %d %s\nwant 400 %s", status, body, want)
			}
		})
	}
	if n, err := e.st.DeleteExpiredMedia(context.Background(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || n != 0 {
		t.Errorf("%d media stored by refused messages (err %v), want none", n, err)
	}
}

// A message the dispatcher fails to store leaves no media behind.
func TestInboundMediaRemovedWhenInboundFails(t *testing.T) {
	e := newInboundEnv(t)
	e.failNow = true
	if status, body := e.send(t, `{"type":"image","image":{"data":"aGVsbG8="}}`); status != http.StatusInternalServerError {
		t.Fatalf("send: %d %s, want 500", status, body)
	}
	if n, err := e.st.DeleteExpiredMedia(context.Background(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || n != 0 {
		t.Errorf("%d media left by a failed message (err %v), want none", n, err)
	}
}

func TestInboundMessageTooLarge(t *testing.T) {
	e := newInboundEnv(t)
	status, body := e.send(t, `{"type":"document","document":{"data":"`+strings.Repeat("A", 32<<20)+`"}}`)
	want := `{"error":{"code":"body_too_large","message":"The message is larger than 32 MB; send a smaller file in data"}}`
	if status != http.StatusRequestEntityTooLarge || compact(body) != want {
		t.Errorf("send: %d %s, want 413 %s", status, body, want)
	}
}

func mustJSON(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSpace(b.String())
}

func compact(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}
