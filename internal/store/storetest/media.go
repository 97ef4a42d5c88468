package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/store"
)

const (
	mediaID1 = "0b6f2a4e-8c1d-4f3a-9e7b-2d5c6a1f0e93"
	mediaID2 = "7f3e9d21-5a4b-4c6d-8e2f-1a0b9c8d7e6f"
	mediaID3 = "c4a1e8f2-3b7d-4e9a-a5c6-0f1e2d3c4b5a"
)

func mediaRow(id string, expires time.Time) store.Media {
	return store.Media{
		ID:        id,
		Business:  "15550001111",
		MimeType:  "audio/ogg; codecs=opus",
		Filename:  "",
		Origin:    store.MediaUpload,
		CreatedAt: base,
		ExpiresAt: expires,
		// Ignored by CreateMedia: the driver computes both from the bytes.
		SHA256: "not the digest",
		Size:   -5,
	}
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func createMedia(t *testing.T, s store.Store, m store.Media, body []byte) store.Media {
	t.Helper()
	got, err := s.CreateMedia(ctxFor(t), m, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("CreateMedia(%s): %v", m.ID, err)
	}
	return got
}

// readMedia opens a media and reads all of it.
func readMedia(t *testing.T, s store.Store, id string) (store.Media, []byte) {
	t.Helper()
	m, rc, err := s.OpenMedia(ctxFor(t), id)
	if err != nil {
		t.Fatalf("OpenMedia(%s): %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read media %s: %v", id, err)
	}
	return m, b
}

func checkMedia(t *testing.T, got, want store.Media) {
	t.Helper()
	if got.ID != want.ID || got.Business != want.Business || got.MimeType != want.MimeType || got.SHA256 != want.SHA256 ||
		got.Size != want.Size || got.Filename != want.Filename || got.Origin != want.Origin {
		t.Errorf("media:\n got %+v\nwant %+v", got, want)
	}
	checkTime(t, "media CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "media ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

func testMediaRoundTrip(t *testing.T, s store.Store) {
	body := []byte("OggS\x00\x02 binary \x00\xff\xfe bytes")
	in := mediaRow(mediaID1, base.Add(30*24*time.Hour))
	doc := mediaRow(mediaID2, base.Add(time.Hour))
	doc.MimeType, doc.Filename, doc.Origin = "application/pdf", "Invoice #7 (final).pdf", store.MediaInbound
	docBody := []byte("%PDF-1.4\n%%EOF\n")

	want := in
	want.SHA256, want.Size = hexSHA(body), int64(len(body))
	checkMedia(t, createMedia(t, s, in, body), want)
	wantDoc := doc
	wantDoc.SHA256, wantDoc.Size = hexSHA(docBody), int64(len(docBody))
	checkMedia(t, createMedia(t, s, doc, docBody), wantDoc)

	m, b := readMedia(t, s, mediaID1)
	checkMedia(t, m, want)
	if !bytes.Equal(b, body) {
		t.Errorf("bytes = %q, want %q", b, body)
	}
	m, b = readMedia(t, s, mediaID2)
	checkMedia(t, m, wantDoc)
	if !bytes.Equal(b, docBody) {
		t.Errorf("bytes = %q, want %q", b, docBody)
	}
	// A second reader reads the same bytes again.
	if _, b = readMedia(t, s, mediaID1); !bytes.Equal(b, body) {
		t.Errorf("second read = %q, want %q", b, body)
	}
}

// A media of several megabytes, not a multiple of any plausible chunk size, read back in small
// reads.
func testMediaLarge(t *testing.T, s store.Store) {
	body := make([]byte, 2<<20+12345)
	for i := range body {
		body[i] = byte(i*7 + i>>11)
	}
	got := createMedia(t, s, mediaRow(mediaID1, base.Add(time.Hour)), body)
	if got.Size != int64(len(body)) || got.SHA256 != hexSHA(body) {
		t.Fatalf("CreateMedia = size %d sha %s, want %d %s", got.Size, got.SHA256, len(body), hexSHA(body))
	}
	_, rc, err := s.OpenMedia(ctxFor(t), mediaID1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out bytes.Buffer
	buf := make([]byte, 1000)
	if _, err := io.CopyBuffer(&out, struct{ io.Reader }{rc}, buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), body) {
		t.Errorf("read back %d bytes (sha %s), want %d (sha %s)", out.Len(), hexSHA(out.Bytes()), len(body), hexSHA(body))
	}
}

func testMediaEmpty(t *testing.T, s store.Store) {
	got := createMedia(t, s, mediaRow(mediaID1, base.Add(time.Hour)), nil)
	if got.Size != 0 || got.SHA256 != hexSHA(nil) {
		t.Errorf("empty media: size %d sha %s", got.Size, got.SHA256)
	}
	if _, b := readMedia(t, s, mediaID1); len(b) != 0 {
		t.Errorf("empty media read %q", b)
	}
}

func testMediaDelete(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	createMedia(t, s, mediaRow(mediaID1, base.Add(time.Hour)), []byte("one"))
	createMedia(t, s, mediaRow(mediaID2, base.Add(time.Hour)), []byte("two"))
	if err := s.DeleteMedia(ctx, mediaID1); err != nil {
		t.Fatalf("DeleteMedia: %v", err)
	}
	_, _, err := s.OpenMedia(ctx, mediaID1)
	wantNotFound(t, "OpenMedia after delete", err)
	wantNotFound(t, "second DeleteMedia", s.DeleteMedia(ctx, mediaID1))
	if _, b := readMedia(t, s, mediaID2); string(b) != "two" {
		t.Errorf("other media = %q, want %q", b, "two")
	}
	// The id is free again.
	createMedia(t, s, mediaRow(mediaID1, base.Add(time.Hour)), []byte("again"))
	if _, b := readMedia(t, s, mediaID1); string(b) != "again" {
		t.Errorf("re-created media = %q", b)
	}
}

func testMediaExpiry(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	createMedia(t, s, mediaRow(mediaID1, base.Add(time.Hour)), []byte("one"))
	createMedia(t, s, mediaRow(mediaID2, base.Add(2*time.Hour)), []byte("two"))
	createMedia(t, s, mediaRow(mediaID3, base.Add(3*time.Hour)), []byte("three"))

	sweep := func(before time.Time, want int) {
		t.Helper()
		n, err := s.DeleteExpiredMedia(ctx, before)
		if err != nil {
			t.Fatalf("DeleteExpiredMedia(%v): %v", before, err)
		}
		if n != want {
			t.Errorf("DeleteExpiredMedia(%v) = %d, want %d", before, n, want)
		}
	}
	sweep(base, 0)
	sweep(base.Add(time.Hour-time.Millisecond), 0)
	sweep(base.Add(2*time.Hour), 2) // at the expiry instant: expired
	_, _, err := s.OpenMedia(ctx, mediaID1)
	wantNotFound(t, "OpenMedia of expired media 1", err)
	_, _, err = s.OpenMedia(ctx, mediaID2)
	wantNotFound(t, "OpenMedia of expired media 2", err)
	if _, b := readMedia(t, s, mediaID3); string(b) != "three" {
		t.Errorf("live media = %q", b)
	}
	sweep(base.Add(2*time.Hour), 0)
	sweep(base.Add(100*time.Hour), 1)
}

func testMediaNotFound(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	_, _, err := s.OpenMedia(ctx, mediaID1)
	wantNotFound(t, "OpenMedia of a missing media", err)
	wantNotFound(t, "DeleteMedia of a missing media", s.DeleteMedia(ctx, mediaID1))
	for _, id := range []string{"", "../waba.db", "nope", strings.ToUpper(mediaID1)} {
		_, _, err := s.OpenMedia(ctx, id)
		wantNotFound(t, "OpenMedia("+id+")", err)
		wantNotFound(t, "DeleteMedia("+id+")", s.DeleteMedia(ctx, id))
	}
}

func testMediaDuplicateID(t *testing.T, s store.Store) {
	createMedia(t, s, mediaRow(mediaID1, base.Add(time.Hour)), []byte("first"))
	dup := mediaRow(mediaID1, base.Add(5*time.Hour))
	dup.MimeType = "image/png"
	_, err := s.CreateMedia(ctxFor(t), dup, strings.NewReader("second"))
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateMedia with a duplicate id: %v, want store.ErrExists", err)
	}
	m, b := readMedia(t, s, mediaID1)
	if string(b) != "first" || m.MimeType != "audio/ogg; codecs=opus" || m.Size != 5 {
		t.Errorf("after a duplicate: %+v %q, want the first media untouched", m, b)
	}
}

// failingReader yields some bytes, then an error, like a client that goes away or a body over a
// limit.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

var errBody = errors.New("storetest: body failed")

func testMediaFailedBodyStoresNothing(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	_, err := s.CreateMedia(ctx, mediaRow(mediaID1, base.Add(time.Hour)), &failingReader{data: make([]byte, 3<<20), err: errBody})
	if !errors.Is(err, errBody) {
		t.Fatalf("CreateMedia with a failing body: %v, want it to wrap the body's error", err)
	}
	_, _, err = s.OpenMedia(ctx, mediaID1)
	wantNotFound(t, "OpenMedia after a failed upload", err)
	wantNotFound(t, "DeleteMedia after a failed upload", s.DeleteMedia(ctx, mediaID1))
	if n, err := s.DeleteExpiredMedia(ctx, base.Add(1000*time.Hour)); err != nil || n != 0 {
		t.Errorf("DeleteExpiredMedia after a failed upload = %d, %v; want 0 (no row left)", n, err)
	}
	// The id can still be used.
	createMedia(t, s, mediaRow(mediaID1, base.Add(time.Hour)), []byte("ok"))
}

func testMediaInvalidID(t *testing.T, s store.Store) {
	for _, id := range []string{"", "../../etc/passwd", "0B6F2A4E-8C1D-4F3A-9E7B-2D5C6A1F0E93", mediaID1 + "x", "0b6f2a4e/8c1d-4f3a-9e7b-2d5c6a1f0e93"} {
		_, err := s.CreateMedia(ctxFor(t), mediaRow(id, base.Add(time.Hour)), strings.NewReader("x"))
		if !errors.Is(err, store.ErrInvalidMediaID) {
			t.Errorf("CreateMedia(%q): %v, want store.ErrInvalidMediaID", id, err)
		}
	}
}
