package sqlite

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/store"
)

// Media bytes are files named by id in <dir of the database>/media (0700), mode 0600; a failed
// upload leaves no file, not even a temporary one; a stale temporary file goes at the sweep.
func TestMediaFiles(t *testing.T) {
	dir := t.TempDir()
	s := openTB(t, filepath.Join(dir, "waba.db"))
	ctx := t.Context()
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	const id = "0b6f2a4e-8c1d-4f3a-9e7b-2d5c6a1f0e93"
	m := store.Media{ID: id, Business: "15550001111", MimeType: "image/png", Origin: store.MediaUpload, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	if _, err := s.CreateMedia(ctx, m, strings.NewReader("png bytes")); err != nil {
		t.Fatal(err)
	}
	media := filepath.Join(dir, "media")
	if info, err := os.Stat(media); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("media folder: %v, %v; want mode 0700", info, err)
	}
	b, err := os.ReadFile(filepath.Join(media, id))
	if err != nil || string(b) != "png bytes" {
		t.Fatalf("media file = %q, %v", b, err)
	}
	if info, _ := os.Stat(filepath.Join(media, id)); info.Mode().Perm() != 0o600 {
		t.Errorf("media file mode = %v, want 0600", info.Mode().Perm())
	}

	failed := m
	failed.ID = "7f3e9d21-5a4b-4c6d-8e2f-1a0b9c8d7e6f"
	boom := errors.New("boom")
	if _, err := s.CreateMedia(ctx, failed, &errReader{boom}); !errors.Is(err, boom) {
		t.Fatalf("CreateMedia with a failing body: %v", err)
	}
	// A duplicate id writes its bytes to a temporary file, then must not replace the original.
	if _, err := s.CreateMedia(ctx, m, strings.NewReader("other")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	entries, _ := os.ReadDir(media)
	if len(entries) != 1 || entries[0].Name() != id {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("media folder = %q, want only %s", names, id)
	}
	if b, _ := os.ReadFile(filepath.Join(media, id)); string(b) != "png bytes" {
		t.Errorf("after a duplicate the file holds %q", b)
	}

	stale := filepath.Join(media, tempPrefix+"crashed")
	if err := os.WriteFile(stale, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(media, tempPrefix+"uploading")
	if err := os.WriteFile(fresh, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleTemp)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpiredMedia(ctx, at.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredMedia = %d, %v; want 1", n, err)
	}
	for path, want := range map[string]bool{filepath.Join(media, id): false, stale: false, fresh: true} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(path), err == nil, want)
		}
	}
}

type errReader struct{ err error }

func (r *errReader) Read(p []byte) (int, error) { return 0, r.err }
