package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/store/pgtest"
	"github.com/openwaba/waba/internal/store/postgres"
	"github.com/openwaba/waba/internal/store/sqlite"
	"github.com/openwaba/waba/internal/waerr"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var start = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const business = "16315551019"

// env is a Service over a real store; dir is the SQLite media folder ("" for PostgreSQL).
type env struct {
	st  store.Store
	clk *clock.Virtual
	svc *Service
	dir string
}

// eachStore runs fn against SQLite and PostgreSQL.
func eachStore(t *testing.T, o Options, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		st, err := sqlite.Open(t.Context(), filepath.Join(dir, "waba.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		clk := clock.NewVirtual(start)
		fn(t, &env{st: st, clk: clk, svc: New(st, clk, o), dir: filepath.Join(dir, "media")})
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(t.Context(), pgtest.URL(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		clk := clock.NewVirtual(start)
		fn(t, &env{st: st, clk: clk, svc: New(st, clk, o)})
	})
}

// files lists the SQLite media folder.
func (e *env) files(t *testing.T) []string {
	t.Helper()
	if e.dir == "" {
		return nil
	}
	entries, err := os.ReadDir(e.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		out = append(out, en.Name())
	}
	return out
}

// wantNothingStored checks that no media row and no file exist. It deletes every row to count
// them, so call it last.
func (e *env) wantNothingStored(t *testing.T) {
	t.Helper()
	if f := e.files(t); len(f) != 0 {
		t.Errorf("media folder holds %q, want nothing", f)
	}
	n, err := e.st.DeleteExpiredMedia(context.Background(), start.Add(10*365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d media rows stored, want none", n)
	}
}

func wantErr(t *testing.T, err error, cond *waerr.Condition, details string) {
	t.Helper()
	e, ok := waerr.As(err)
	if !ok {
		t.Fatalf("error = %v, want %s", err, cond.Name)
	}
	if e.Cond != cond || e.Details != details {
		t.Errorf("error = %s %q\n want %s %q", e.Cond.Name, e.Details, cond.Name, details)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func readAll(t *testing.T, e *env, id string) (store.Media, []byte) {
	t.Helper()
	m, rc, err := e.svc.Open(context.Background(), id)
	if err != nil {
		t.Fatalf("Open(%s): %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return m, b
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !uuidV4.MatchString(id) || !store.ValidMediaID(id) {
			t.Fatalf("NewID() = %q, want a lower-case version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		mime string
		kind Kind
		ok   bool
	}{
		{"image/jpeg", Image, true},
		{"IMAGE/PNG", Image, true},
		{"image/webp", Sticker, true},
		{"image/gif", "", false},
		{"audio/ogg; codecs=opus", Audio, true},
		{"audio/aac", Audio, true},
		{"audio/amr", Audio, true},
		{"audio/mpeg", Audio, true},
		{"audio/mp4", Audio, true},
		{"audio/opus", Audio, true},
		{"video/mp4", Video, true},
		{"video/3gpp", Video, true},
		{"video/quicktime", "", false},
		{"application/pdf", Document, true},
		{"text/plain; charset=utf-8", Document, true},
		{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Document, true},
		{"application/zip", "", false},
		{"", "", false},
		{"not a type", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.mime, func(t *testing.T) {
			k, ok := KindOf(tc.mime)
			if k != tc.kind || ok != tc.ok {
				t.Errorf("KindOf(%q) = %q, %v; want %q, %v", tc.mime, k, ok, tc.kind, tc.ok)
			}
		})
	}
}

// The limits of cloud-api.md §5 and onprem-api.md §7.
func TestRules(t *testing.T) {
	want := map[Kind]int64{Image: 5 << 20, Audio: 16 << 20, Voice: 16 << 20, Video: 16 << 20, Document: 100 << 20, Sticker: 500 << 10}
	for k, max := range want {
		r, ok := RuleFor(k)
		if !ok || r.Max != max {
			t.Errorf("RuleFor(%s) = %+v, %v; want Max %d", k, r, ok, max)
		}
	}
	if OnPremUploadLimit != 64<<20 || StaticStickerLimit != 100<<10 || InboundLimit != 100<<20 || Retention != 30*24*time.Hour {
		t.Error("a limit constant differs from the references")
	}
	seen := map[string]Kind{}
	for _, r := range Rules {
		for _, typ := range r.Types {
			if other, dup := seen[typ]; dup {
				t.Errorf("%s is in both %s and %s", typ, other, r.Kind)
			}
			seen[typ] = r.Kind
		}
	}
}

func TestUpload(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		body := append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte("jpeg"), 5000)...)
		m, err := e.svc.Upload(ctx, business, "Image/JPEG", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("Upload: %v", err)
		}
		if !uuidV4.MatchString(m.ID) || m.Business != business || m.MimeType != "image/jpeg" || m.Size != int64(len(body)) ||
			m.SHA256 != sha(body) || m.Origin != store.MediaUpload || m.CreatedAt.Before(start) || m.CreatedAt.Sub(start) > time.Minute {
			t.Errorf("Upload = %+v", m)
		}
		if got := m.ExpiresAt.Sub(m.CreatedAt); got != 30*24*time.Hour {
			t.Errorf("ExpiresAt - CreatedAt = %v, want 30 days", got)
		}
		got, b := readAll(t, e, m.ID)
		if !bytes.Equal(b, body) || got.SHA256 != sha(body) || got.MimeType != "image/jpeg" {
			t.Errorf("read back %d bytes, sha %s, type %s", len(b), got.SHA256, got.MimeType)
		}
		if e.dir != "" {
			info, err := os.Stat(filepath.Join(e.dir, m.ID))
			if err != nil {
				t.Fatalf("media file: %v", err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("media file mode = %v, want 0600", info.Mode().Perm())
			}
			if f := e.files(t); len(f) != 1 || f[0] != m.ID {
				t.Errorf("media folder = %q, want only %s", f, m.ID)
			}
		}

		// Parameters are kept: a voice note's type comes back as it went in.
		v, err := e.svc.Upload(ctx, business, "audio/ogg; codecs=opus", strings.NewReader("OggS"))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := readAll(t, e, v.ID); got.MimeType != "audio/ogg; codecs=opus" {
			t.Errorf("voice type = %q", got.MimeType)
		}
	})
}

// exactly yields n bytes without holding them.
type exactly struct{ n int64 }

func (r *exactly) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n)
	for i := range p[:k] {
		p[i] = byte(i)
	}
	r.n -= k
	return int(k), nil
}

func TestUploadLimits(t *testing.T) {
	staticWebP := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00")
	animatedWebP := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02\x00\x00\x00")
	pad := func(head []byte, n int) io.Reader {
		return io.MultiReader(bytes.NewReader(head), &exactly{int64(n - len(head))})
	}
	tests := []struct {
		name    string
		mime    string
		body    func() io.Reader
		ok      bool
		details string
	}{
		{"image at the limit", "image/png", func() io.Reader { return &exactly{5 << 20} }, true, ""},
		{"image over the limit", "image/png", func() io.Reader { return &exactly{5<<20 + 1} }, false, "The file is larger than 5 MB, the limit for image/png (image)"},
		{"audio over the limit", "audio/aac", func() io.Reader { return &exactly{16<<20 + 1} }, false, "The file is larger than 16 MB, the limit for audio/aac (audio)"},
		{"video over the limit", "video/3gpp", func() io.Reader { return &exactly{16<<20 + 1} }, false, "The file is larger than 16 MB, the limit for video/3gpp (video)"},
		{"document at the upload limit", "application/pdf", func() io.Reader { return &exactly{64 << 20} }, true, ""},
		{"document over the upload limit", "application/pdf", func() io.Reader { return &exactly{64<<20 + 1} }, false, "The file is larger than 64 MB, the limit for application/pdf (document)"},
		{"static sticker at the limit", "image/webp", func() io.Reader { return pad(staticWebP, 100<<10) }, true, ""},
		{"static sticker over the limit", "image/webp", func() io.Reader { return pad(staticWebP, 100<<10+1) }, false, "The file is larger than 100 KB, the limit for image/webp (static sticker)"},
		{"animated sticker at the limit", "image/webp", func() io.Reader { return pad(animatedWebP, 500<<10) }, true, ""},
		{"animated sticker over the limit", "image/webp", func() io.Reader { return pad(animatedWebP, 500<<10+1) }, false, "The file is larger than 500 KB, the limit for image/webp (animated sticker)"},
		{"empty", "image/jpeg", func() io.Reader { return strings.NewReader("") }, false, "The request body is empty; send the file's bytes as the body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, Options{}, func(t *testing.T, e *env) {
				m, err := e.svc.Upload(context.Background(), business, tc.mime, tc.body())
				if tc.ok {
					if err != nil {
						t.Fatalf("Upload: %v", err)
					}
					if _, b := readAll(t, e, m.ID); int64(len(b)) != m.Size {
						t.Errorf("read %d bytes, stored size %d", len(b), m.Size)
					}
					return
				}
				wantErr(t, err, waerr.MediaUpload, tc.details)
				e.wantNothingStored(t)
			})
		})
	}
}

func TestUploadBadType(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, err := e.svc.Upload(ctx, business, "", strings.NewReader("x"))
		wantErr(t, err, waerr.MissingParam, "Content-Type missing: send the media's MIME type in the Content-Type header, e.g. Content-Type: image/jpeg")
		_, err = e.svc.Upload(ctx, business, "image/gif", strings.NewReader("GIF89a"))
		wantErr(t, err, waerr.MediaUpload, "Media type image/gif is not supported; use one of "+strings.Join(SupportedTypes(), ", "))
		_, err = e.svc.Upload(ctx, business, "jpeg", strings.NewReader("x"))
		wantErr(t, err, waerr.MediaUpload, `Content-Type "jpeg" is not a valid MIME type`)
		e.wantNothingStored(t)
	})
}

func TestCheckLength(t *testing.T) {
	svc := New(nil, clock.NewVirtual(start), Options{})
	if err := svc.CheckLength("image/jpeg", 5<<20); err != nil {
		t.Errorf("CheckLength at the limit: %v", err)
	}
	if err := svc.CheckLength("image/jpeg", -1); err != nil {
		t.Errorf("CheckLength of an unknown length: %v", err)
	}
	wantErr(t, svc.CheckLength("image/jpeg", 5<<20+1), waerr.MediaUpload, "The file is larger than 5 MB, the limit for image/jpeg (image)")
	wantErr(t, svc.CheckLength("application/pdf", 1<<30), waerr.MediaUpload, "The file is larger than 64 MB, the limit for application/pdf (document)")
	wantErr(t, svc.CheckLength("", 10), waerr.MissingParam, "Content-Type missing: send the media's MIME type in the Content-Type header, e.g. Content-Type: image/jpeg")
	// A smaller upload limit caps every kind.
	small := New(nil, clock.NewVirtual(start), Options{UploadLimit: 1000})
	wantErr(t, small.CheckLength("image/png", 1001), waerr.MediaUpload, "The file is larger than 1000 bytes, the limit for image/png (image)")
	// The Cloud copy takes 100 MB documents and leaves the original alone.
	cloud := svc.WithUploadLimit(CloudUploadLimit)
	if err := cloud.CheckLength("application/pdf", 100<<20); err != nil || cloud.UploadLimit() != 100<<20 {
		t.Errorf("Cloud CheckLength at 100 MB: %v (limit %d)", err, cloud.UploadLimit())
	}
	wantErr(t, cloud.CheckLength("application/pdf", 100<<20+1), waerr.MediaUpload, "The file is larger than 100 MB, the limit for application/pdf (document)")
	if svc.UploadLimit() != OnPremUploadLimit {
		t.Errorf("original limit changed to %d", svc.UploadLimit())
	}
}

// A 60 MB upload streams: the heap grows by a small fraction of it.
func TestUploadStreams(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "waba.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := New(st, clock.NewVirtual(start), Options{})
	const size = 60 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := svc.Upload(context.Background(), business, "application/pdf", &exactly{size})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != size {
		t.Fatalf("size = %d", m.Size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("uploading %d MB allocated %d MB; the body must stream, not be held", size>>20, alloc>>20)
	}
}

func TestExpiryAndSweep(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		old, err := e.svc.Upload(ctx, business, "image/png", strings.NewReader("old"))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.clk.Advance(20 * 24 * time.Hour); err != nil {
			t.Fatal(err)
		}
		young, err := e.svc.Upload(ctx, business, "image/png", strings.NewReader("young"))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := e.svc.Sweep(ctx); err != nil || n != 0 {
			t.Errorf("Sweep after 20 days = %d, %v; want 0", n, err)
		}
		if err := e.clk.Advance(10*24*time.Hour + time.Minute); err != nil {
			t.Fatal(err)
		}
		// Expired but not swept yet: not found already.
		_, _, err = e.svc.Open(ctx, old.ID)
		wantErr(t, err, waerr.NotFound, "Media "+old.ID+" not found")
		if n, err := e.svc.Sweep(ctx); err != nil || n != 1 {
			t.Errorf("Sweep after 30 days = %d, %v; want 1", n, err)
		}
		if _, b := readAll(t, e, young.ID); string(b) != "young" {
			t.Errorf("young media = %q", b)
		}
		if f := e.files(t); e.dir != "" && (len(f) != 1 || f[0] != young.ID) {
			t.Errorf("media folder after sweep = %q, want only %s", f, young.ID)
		}
	})
}

func TestOpenDeleteNotFound(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		m, err := e.svc.Upload(ctx, business, "video/mp4", strings.NewReader("ftyp"))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Delete(ctx, m.ID); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		for _, id := range []string{m.ID, "../waba.db", "nope", strings.ToUpper(NewID())} {
			_, _, err := e.svc.Open(ctx, id)
			wantErr(t, err, waerr.NotFound, "Media "+id+" not found")
			wantErr(t, e.svc.Delete(ctx, id), waerr.NotFound, "Media "+id+" not found")
		}
		e.wantNothingStored(t)
	})
}

func TestStoreInbound(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		tests := []struct {
			kind     Kind
			mime     string
			filename string
			data     []byte
			wantMIME string
			details  string // an InvalidParam error
		}{
			{kind: Image, data: []byte("jpeg"), wantMIME: "image/jpeg"},
			{kind: Voice, data: []byte("OggS"), wantMIME: "audio/ogg; codecs=opus"},
			{kind: Audio, mime: "audio/aac", data: []byte("aac"), wantMIME: "audio/aac"},
			{kind: Document, mime: "application/zip", filename: "all.zip", data: []byte("PK"), wantMIME: "application/zip"},
			{kind: Sticker, data: bytes.Repeat([]byte{1}, 500<<10), wantMIME: "image/webp"},
			{kind: Sticker, data: bytes.Repeat([]byte{1}, 500<<10+1), details: "sticker.data is 512001 bytes, more than the 500 KB a user can send"},
			{kind: Image, mime: "image/gif", data: []byte("GIF"), details: "image.mime_type image/gif is not one of image/jpeg, image/png"},
			{kind: Image, mime: "jpeg", data: []byte("x"), details: `image.mime_type "jpeg" is not a valid MIME type`},
			{kind: Video, data: nil, details: "video.data is empty; send base64 bytes or leave it out for a placeholder"},
			{kind: "location", data: []byte("x"), details: `"location" is not a media kind; use image, audio, voice, video, document or sticker`},
		}
		for _, tc := range tests {
			m, err := e.svc.StoreInbound(ctx, business, tc.kind, tc.mime, tc.filename, tc.data)
			if tc.details != "" {
				wantErr(t, err, waerr.InvalidParam, tc.details)
				continue
			}
			if err != nil {
				t.Errorf("StoreInbound(%s, %q): %v", tc.kind, tc.mime, err)
				continue
			}
			got, b := readAll(t, e, m.ID)
			if got.MimeType != tc.wantMIME || got.Filename != tc.filename || got.Origin != store.MediaInbound ||
				got.SHA256 != sha(tc.data) || !bytes.Equal(b, tc.data) || got.Business != business {
				t.Errorf("StoreInbound(%s, %q) stored %+v", tc.kind, tc.mime, got)
			}
		}
	})
}

func TestPlaceholders(t *testing.T) {
	tests := []struct {
		mime  string
		magic string
	}{
		{"image/jpeg", "\xff\xd8\xff"},
		{"image/png", "\x89PNG\r\n\x1a\n"},
		{"image/webp", "RIFF"},
		{"audio/ogg; codecs=opus", "OggS"},
		{"audio/mpeg", "\xff\xfb"},
		{"video/mp4", "\x00\x00\x00\x18ftyp"},
		{"video/3gpp", "\x00\x00\x00\x18ftyp3gp4"},
		{"application/pdf", "%PDF-1.4\n"},
		{"text/plain", "A placeholder"},
	}
	for _, tc := range tests {
		b := Placeholder(tc.mime)
		if !bytes.HasPrefix(b, []byte(tc.magic)) {
			t.Errorf("Placeholder(%s) starts %q, want %q", tc.mime, b[:min(len(b), 12)], tc.magic)
		}
	}
	if _, err := jpeg.Decode(bytes.NewReader(Placeholder("image/jpeg"))); err != nil {
		t.Errorf("placeholder JPEG: %v", err)
	}
	if _, err := png.Decode(bytes.NewReader(Placeholder("image/png"))); err != nil {
		t.Errorf("placeholder PNG: %v", err)
	}
	webp := Placeholder("image/webp")
	if string(webp[8:12]) != "WEBP" || int(binary.LittleEndian.Uint32(webp[4:])) != len(webp)-8 {
		t.Errorf("placeholder WebP has a bad RIFF header: % x", webp)
	}
	// The Ogg page's CRC checks out: recompute it with the field zeroed.
	ogg := bytes.Clone(Placeholder("audio/ogg"))
	crc := binary.LittleEndian.Uint32(ogg[22:])
	copy(ogg[22:26], []byte{0, 0, 0, 0})
	if got := oggCRC(ogg); got != crc || !bytes.Contains(ogg, []byte("OpusHead")) {
		t.Errorf("Ogg page CRC %08x, recomputed %08x", crc, got)
	}
	// The PDF's startxref points at its xref table.
	pdf := string(Placeholder("application/pdf"))
	_, tail, _ := strings.Cut(pdf, "startxref\n")
	off, err := strconv.Atoi(strings.Fields(tail)[0])
	if err != nil || off >= len(pdf) || !strings.HasPrefix(pdf[off:], "xref\n") {
		t.Errorf("placeholder PDF: startxref does not point at xref\n%s", pdf)
	}
}
