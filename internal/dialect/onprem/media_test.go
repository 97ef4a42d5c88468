package onprem

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/media"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/store/sqlite"
	"github.com/openwaba/waba/internal/wa"
)

type mediaEnv struct {
	h     http.Handler
	url   string
	token string
	clk   *clock.Virtual
	st    store.Store
	dir   string // the media folder
}

// mediaServer serves /v1 with media from an engine on a fresh SQLite store.
func mediaServer(t *testing.T) *mediaEnv {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "waba.db"), log)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewVirtual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	eng := engine.New(engine.Options{Store: st, Clock: clk, IDs: wa.NewIDs(1), Logger: log, Business: "16315551019"})
	if err := eng.EnsureAdmin(ctx, settingsAdminPassword); err != nil {
		t.Fatal(err)
	}
	if err := eng.CreateUser(ctx, "127.0.0.1", "jdoe", "Passw0rd!x"); err != nil {
		t.Fatal(err)
	}
	res, err := eng.Login(ctx, "127.0.0.1", "jdoe", "Passw0rd!x", "")
	if err != nil {
		t.Fatalf("user login: %v", err)
	}
	h := New(eng, log, 1<<20).WithMedia(media.New(st, clk, media.Options{}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &mediaEnv{h: h, url: srv.URL, token: res.Token, clk: clk, st: st, dir: filepath.Join(dir, "media")}
}

type mediaResp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; body may be any reader (a non-*bytes.Reader body is sent chunked, with no
// Content-Length).
func (e *mediaEnv) do(t *testing.T, method, path, contentType string, body io.Reader) mediaResp {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mediaResp{resp.StatusCode, resp.Header, b}
}

func wantMediaJSON(t *testing.T, r mediaResp, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	sameJSON(t, string(r.body), want)
}

func mediaError(code int, title, details string) string {
	b, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{"code": code, "title": title, "details": details}}})
	return strings.TrimSuffix(string(b), "}") + `,"meta":` + metaJSON + `}`
}

var uploadAnswer = regexp.MustCompile(`^\{"media":\[\{"id":"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})"\}\],"meta":\{"api_status":"stable","version":"` + regexp.QuoteMeta(Version) + `"\}\}$`)

// upload posts body and returns the new media id.
func (e *mediaEnv) upload(t *testing.T, contentType string, body []byte) string {
	t.Helper()
	r := e.do(t, http.MethodPost, "/v1/media", contentType, bytes.NewReader(body))
	if r.status != http.StatusCreated {
		t.Fatalf("POST /v1/media: %d %s", r.status, r.body)
	}
	m := uploadAnswer.FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("POST /v1/media answered %s, want {\"media\":[{\"id\":\"<uuid>\"}],\"meta\":…}", r.body)
	}
	return string(m[1])
}

// wantNothingStored checks that no media row and no media file exist.
func (e *mediaEnv) wantNothingStored(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(e.dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, en := range entries {
		t.Errorf("media folder holds %s, want nothing", en.Name())
	}
	n, err := e.st.DeleteExpiredMedia(context.Background(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d media rows stored, want none", n)
	}
}

func TestMediaUploadDownloadDelete(t *testing.T) {
	e := mediaServer(t)
	body := append([]byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0}, bytes.Repeat([]byte{0, 1, 2, 0xff}, 3000)...)
	id := e.upload(t, "image/jpeg", body)

	r := e.do(t, http.MethodGet, "/v1/media/"+id, "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET: %d %s", r.status, r.body)
	}
	if !bytes.Equal(r.body, body) {
		t.Errorf("GET returned %d bytes, want the %d uploaded", len(r.body), len(body))
	}
	if ct := r.header.Get("Content-Type"); ct != "image/jpeg" {
		t.Errorf("GET Content-Type = %q, want image/jpeg", ct)
	}
	if cl := r.header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
		t.Errorf("GET Content-Length = %q, want %d", cl, len(body))
	}
	m, rc, err := e.st.OpenMedia(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	sum := sha256.Sum256(body)
	if m.SHA256 != hex.EncodeToString(sum[:]) || m.Size != int64(len(body)) || m.Business != "16315551019" || m.Origin != store.MediaUpload {
		t.Errorf("stored %+v; want sha256 %x, size %d", m, sum, len(body))
	}

	wantMediaJSON(t, e.do(t, http.MethodDelete, "/v1/media/"+id, "", nil), http.StatusOK, `{"meta":`+metaJSON+`}`)
	r = e.do(t, http.MethodGet, "/v1/media/"+id, "", nil)
	if r.status != http.StatusNotFound || len(r.body) != 0 {
		t.Errorf("GET after DELETE: %d %q, want 404 with no body", r.status, r.body)
	}
	wantMediaJSON(t, e.do(t, http.MethodDelete, "/v1/media/"+id, "", nil), http.StatusNotFound,
		mediaError(1006, "Resource not found", "Media "+id+" not found"))
	e.wantNothingStored(t)
}

func TestMediaUploadKeepsTypeParameters(t *testing.T) {
	e := mediaServer(t)
	id := e.upload(t, "audio/ogg; codecs=opus", []byte("OggS\x00\x02"))
	if r := e.do(t, http.MethodGet, "/v1/media/"+id, "", nil); r.header.Get("Content-Type") != "audio/ogg; codecs=opus" {
		t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
	}
}

// sized is a body of n bytes that is not a *bytes.Reader, so the client sends it chunked (no
// Content-Length) and the server only learns its size by reading.
type sized struct{ n int64 }

func (r *sized) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n)
	clear(p[:k])
	r.n -= k
	return int(k), nil
}

func TestMediaUploadErrors(t *testing.T) {
	supported := strings.Join(media.SupportedTypes(), ", ")
	tests := []struct {
		name   string
		ctype  string
		body   func() io.Reader
		status int
		want   string
	}{
		{"no Content-Type", "", func() io.Reader { return strings.NewReader("x") }, 400,
			mediaError(1008, "Required parameter is missing", "Content-Type missing: send the media's MIME type in the Content-Type header, e.g. Content-Type: image/jpeg")},
		{"unsupported type", "image/gif", func() io.Reader { return strings.NewReader("GIF89a") }, 500,
			mediaError(1014, "Internal error", "Media type image/gif is not supported; use one of "+supported)},
		{"invalid type", "jpeg", func() io.Reader { return strings.NewReader("x") }, 500,
			mediaError(1014, "Internal error", `Content-Type "jpeg" is not a valid MIME type`)},
		{"empty body", "image/png", func() io.Reader { return bytes.NewReader(nil) }, 500,
			mediaError(1014, "Internal error", "The request body is empty; send the file's bytes as the body")},
		// Refused from the Content-Length, before the body is read.
		{"image over the limit, declared", "image/png", func() io.Reader { return bytes.NewReader(make([]byte, 5<<20+1)) }, 500,
			mediaError(1014, "Internal error", "The file is larger than 5 MB, the limit for image/png (image)")},
		// Cut off while streaming.
		{"image over the limit, chunked", "image/png", func() io.Reader { return &sized{5<<20 + 1} }, 500,
			mediaError(1014, "Internal error", "The file is larger than 5 MB, the limit for image/png (image)")},
		{"document over the 64 MB upload limit, declared", "application/pdf", func() io.Reader { return bytes.NewReader(make([]byte, 64<<20+1)) }, 500,
			mediaError(1014, "Internal error", "The file is larger than 64 MB, the limit for application/pdf (document)")},
		{"document over the 64 MB upload limit, chunked", "application/pdf", func() io.Reader { return &sized{64<<20 + 1} }, 500,
			mediaError(1014, "Internal error", "The file is larger than 64 MB, the limit for application/pdf (document)")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mediaServer(t)
			wantMediaJSON(t, e.do(t, http.MethodPost, "/v1/media", tc.ctype, tc.body()), tc.status, tc.want)
			e.wantNothingStored(t)
		})
	}
}

// untouchable is a body that must not be read.
type untouchable struct{ t *testing.T }

func (u untouchable) Read([]byte) (int, error) {
	u.t.Error("the body of an upload declared too large was read")
	return 0, io.ErrUnexpectedEOF
}

// A body whose Content-Length is over the limit is refused without reading a byte of it.
func TestMediaUploadRefusedFromContentLength(t *testing.T) {
	e := mediaServer(t)
	req := httptest.NewRequest(http.MethodPost, "/v1/media", untouchable{t})
	req.ContentLength = 64<<20 + 1
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/pdf")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	wantMediaJSON(t, mediaResp{rec.Code, rec.Header(), rec.Body.Bytes()}, http.StatusInternalServerError,
		mediaError(1014, "Internal error", "The file is larger than 64 MB, the limit for application/pdf (document)"))
	e.wantNothingStored(t)
}

func TestMediaNotFound(t *testing.T) {
	e := mediaServer(t)
	for _, id := range []string{"f043afd0-f0ae-4b9c-ab3d-696fb4c8cd68", "nope", "..%2Fwaba.db", "F043AFD0-F0AE-4B9C-AB3D-696FB4C8CD68"} {
		r := e.do(t, http.MethodGet, "/v1/media/"+id, "", nil)
		if r.status != http.StatusNotFound || len(r.body) != 0 {
			t.Errorf("GET /v1/media/%s: %d %q, want 404 with no body", id, r.status, r.body)
		}
	}
	const id = "f043afd0-f0ae-4b9c-ab3d-696fb4c8cd68"
	wantMediaJSON(t, e.do(t, http.MethodDelete, "/v1/media/"+id, "", nil), http.StatusNotFound,
		mediaError(1006, "Resource not found", "Media "+id+" not found"))
}

// Uploaded media live 30 days on the virtual clock (onprem-api.md §7).
func TestMediaExpires(t *testing.T) {
	e := mediaServer(t)
	id := e.upload(t, "video/mp4", []byte("\x00\x00\x00\x18ftypisom"))
	if err := e.clk.Advance(30*24*time.Hour - time.Minute); err != nil {
		t.Fatal(err)
	}
	if r := e.do(t, http.MethodGet, "/v1/media/"+id, "", nil); r.status != http.StatusOK {
		t.Fatalf("GET before 30 days: %d", r.status)
	}
	if err := e.clk.Advance(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if r := e.do(t, http.MethodGet, "/v1/media/"+id, "", nil); r.status != http.StatusNotFound || len(r.body) != 0 {
		t.Errorf("GET after 30 days: %d %q, want 404 with no body", r.status, r.body)
	}
}

func TestMediaRoutes(t *testing.T) {
	e := mediaServer(t)
	wantMediaJSON(t, e.do(t, http.MethodGet, "/v1/media", "", nil), http.StatusMethodNotAllowed,
		mediaError(1025, "Invalid Request", "Method GET is not allowed on /v1/media; use POST"))
	wantMediaJSON(t, e.do(t, http.MethodPut, "/v1/media/f043afd0-f0ae-4b9c-ab3d-696fb4c8cd68", "image/png", strings.NewReader("x")), http.StatusMethodNotAllowed,
		mediaError(1025, "Invalid Request", "Method PUT is not allowed on /v1/media/f043afd0-f0ae-4b9c-ab3d-696fb4c8cd68; use GET or DELETE"))

	// Every media call needs a token.
	for _, r := range []struct{ method, path string }{{"POST", "/v1/media"}, {"GET", "/v1/media/f043afd0-f0ae-4b9c-ab3d-696fb4c8cd68"}, {"DELETE", "/v1/media/f043afd0-f0ae-4b9c-ab3d-696fb4c8cd68"}} {
		req, _ := http.NewRequest(r.method, e.url+r.path, strings.NewReader("x"))
		req.Header.Set("Content-Type", "image/png")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantMediaJSON(t, mediaResp{resp.StatusCode, resp.Header, b}, http.StatusUnauthorized,
			mediaError(1005, "Access denied", "Missing or invalid authentication credentials"))
	}
	e.wantNothingStored(t)

	// Without WithMedia the paths are unknown.
	plain := httptest.NewServer(New(engine.New(engine.Options{Store: e.st, Clock: e.clk, IDs: wa.NewIDs(2), Logger: slog.New(slog.DiscardHandler), Business: "16315551019"}), slog.New(slog.DiscardHandler), 1<<20))
	defer plain.Close()
	req, _ := http.NewRequest(http.MethodPost, plain.URL+"/v1/media", strings.NewReader("x"))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "image/png")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantMediaJSON(t, mediaResp{resp.StatusCode, resp.Header, b}, http.StatusNotFound,
		mediaError(1006, "Resource not found", "Unknown path /v1/media"))
}
