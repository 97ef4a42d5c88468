// Package media holds the rules for media files and the service both dialects use to keep them:
// which MIME types each kind of message accepts and how large a file may be
// (shared/reference/cloud-api.md §5 "Supported types"; onprem-api.md §7), uploads that are
// checked while they stream in, media that simulated users send, downloads, deletion and expiry
// on the virtual clock. Bytes are never held whole in memory on the upload path: they go from
// the request body through a counting, hashing limit straight into the store.
package media

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/waerr"
)

// Kind is the kind of message a media file is sent in.
type Kind string

// The media kinds (the message types that carry media). Voice notes are audio files sent as
// `voice` messages (On-Prem inbound, onprem-api.md §12.3).
const (
	Image    Kind = "image"
	Audio    Kind = "audio"
	Voice    Kind = "voice"
	Video    Kind = "video"
	Document Kind = "document"
	Sticker  Kind = "sticker"
)

// MB and KB are binary units: the references write "5 MB" without saying which, and the larger
// reading never refuses a file WhatsApp would take.
const (
	KB = 1 << 10
	MB = 1 << 20
)

// Limits of the references.
const (
	// OnPremUploadLimit is the largest body POST /v1/media accepts: "the docs give a 64 MB
	// maximum upload (per-type post-processing limits are lower)" (onprem-api.md §7; §19 item
	// 12 notes the 2019 WebApp took 100 MB — waba follows the docs).
	OnPremUploadLimit = 64 * MB
	// CloudUploadLimit is the largest file POST /{phone-number-id}/media takes: the document
	// limit, the largest of cloud-api.md §5's table (per-kind limits are lower).
	CloudUploadLimit = 100 * MB
	// InboundLimit is the largest file a user can send: Cloud's "Inbound size cap 100 MB"
	// (cloud-api.md §5); On-Prem names none, and the document limit is the same.
	InboundLimit = 100 * MB
	// StaticStickerLimit and AnimatedStickerLimit: "Sticker | image/webp static / animated
	// (512×512) | 100 KB / 500 KB" (cloud-api.md §5; onprem-api.md §7 for static stickers).
	StaticStickerLimit   = 100 * KB
	AnimatedStickerLimit = 500 * KB
	// Retention is how long a media stays: "uploaded media: 30 days unless deleted"
	// (cloud-api.md §5), "outgoing media are generally safe to delete after 30 days"
	// (onprem-api.md §7). Inbound media are kept as long.
	Retention = 30 * 24 * time.Hour
)

// VoiceMIME is the type of a voice note (onprem-api.md §12.3; webhooks.md §2.2).
const VoiceMIME = "audio/ogg; codecs=opus"

// Rule is what one kind accepts.
type Rule struct {
	Kind  Kind
	Types []string // base MIME types, lower case
	Max   int64    // bytes (for stickers: animated; static ones are StaticStickerLimit)
}

// Rules are the supported types and sizes per kind, from cloud-api.md §5 "Supported types",
// the one table the references give (On-Prem's pages point to the same list):
//
//	Audio    | audio/aac, audio/amr, audio/mpeg, audio/mp4, audio/ogg (OPUS, mono), audio/opus | 16 MB
//	Document | text/plain, application/vnd.ms-excel, …spreadsheetml.sheet, application/msword,
//	           …wordprocessingml.document, application/vnd.ms-powerpoint,
//	           …presentationml.presentation, application/pdf                              | 100 MB
//	Image    | image/jpeg, image/png (8-bit RGB/RGBA)                                      | 5 MB
//	Sticker  | image/webp static / animated (512×512)                                      | 100 KB / 500 KB
//	Video    | video/mp4, video/3gpp (H.264 + AAC, single or no audio stream)              | 16 MB
var Rules = []Rule{
	{Image, []string{"image/jpeg", "image/png"}, 5 * MB},
	{Audio, []string{"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg", "audio/opus"}, 16 * MB},
	{Video, []string{"video/mp4", "video/3gpp"}, 16 * MB},
	{Document, []string{
		"text/plain",
		"application/pdf",
		"application/msword",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/vnd.ms-excel",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"application/vnd.ms-powerpoint",
		"application/vnd.openxmlformats-officedocument.presentationml.presentation",
	}, 100 * MB},
	{Sticker, []string{"image/webp"}, AnimatedStickerLimit},
}

// RuleFor returns the rule of a kind; voice follows audio's.
func RuleFor(k Kind) (Rule, bool) {
	if k == Voice {
		k = Audio
	}
	for _, r := range Rules {
		if r.Kind == k {
			return r, true
		}
	}
	return Rule{}, false
}

// KindOf returns the kind an uploaded file of this MIME type is for (each supported type
// belongs to exactly one kind), or false for an unsupported type. Parameters such as
// "; codecs=opus" are ignored.
func KindOf(mimeType string) (Kind, bool) {
	base, _, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return "", false
	}
	for _, r := range Rules {
		if slices.Contains(r.Types, base) {
			return r.Kind, true
		}
	}
	return "", false
}

// SupportedTypes lists every supported MIME type, for error details.
func SupportedTypes() []string {
	var out []string
	for _, r := range Rules {
		out = append(out, r.Types...)
	}
	return out
}

// normalize parses a Content-Type and returns it in canonical form (lower-case type, parameters
// kept: "audio/ogg; codecs=opus").
func normalize(mimeType string) (string, string, error) {
	base, params, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return "", "", err
	}
	if !strings.Contains(base, "/") {
		return "", "", errors.New("not type/subtype")
	}
	return mime.FormatMediaType(base, params), base, nil
}

// Options tune a Service; the zero value is On-Prem's rules.
type Options struct {
	// UploadLimit caps every upload whatever its kind; 0 means OnPremUploadLimit. (Cloud takes
	// documents up to 100 MB.)
	UploadLimit int64
	// Retention is how long a media lives; 0 means Retention (30 days).
	Retention time.Duration
}

// Service keeps media in the store. It is safe for concurrent use.
type Service struct {
	st        store.Store
	clk       clock.Clock
	limit     int64
	retention time.Duration
}

// New returns a Service over st; expiry follows clk.
func New(st store.Store, clk clock.Clock, o Options) *Service {
	if o.UploadLimit <= 0 {
		o.UploadLimit = OnPremUploadLimit
	}
	if o.Retention <= 0 {
		o.Retention = Retention
	}
	return &Service{st: st, clk: clk, limit: o.UploadLimit, retention: o.Retention}
}

// WithUploadLimit returns a Service over the same store and clock whose uploads are capped at
// n bytes instead (the Cloud routes take 100 MB documents where On-Prem stops at 64 MB).
func (s *Service) WithUploadLimit(n int64) *Service {
	c := *s
	if n > 0 {
		c.limit = n
	}
	return &c
}

// UploadLimit is the cap on any upload.
func (s *Service) UploadLimit() int64 { return s.limit }

// CheckLength refuses, before any byte is read, an upload of mimeType whose declared length n
// (Content-Length; negative when unknown) is already over its limit, and an unsupported or
// missing type, with the errors Upload would give. For image/webp it can only apply the
// animated sticker limit; Upload applies the static one once it has seen the file's header.
func (s *Service) CheckLength(mimeType string, n int64) error {
	_, base, rule, err := s.check(mimeType)
	if err != nil {
		return err
	}
	if limit := min(rule.Max, s.limit); n > limit {
		return tooLarge(limit, fmt.Sprintf("%s (%s)", base, rule.Kind))
	}
	return nil
}

func tooLarge(limit int64, what string) error {
	return waerr.New(waerr.MediaUpload, "The file is larger than %s, the limit for %s", size(limit), what)
}

func (s *Service) check(mimeType string) (string, string, Rule, error) {
	if strings.TrimSpace(mimeType) == "" {
		return "", "", Rule{}, waerr.New(waerr.MissingParam, "Content-Type missing: send the media's MIME type in the Content-Type header, e.g. Content-Type: image/jpeg")
	}
	full, base, err := normalize(mimeType)
	if err != nil {
		return "", "", Rule{}, waerr.New(waerr.MediaUpload, "Content-Type %q is not a valid MIME type", mimeType)
	}
	kind, ok := KindOf(base)
	if !ok {
		return "", "", Rule{}, waerr.New(waerr.MediaUpload, "Media type %s is not supported; use one of %s", base, strings.Join(SupportedTypes(), ", "))
	}
	rule, _ := RuleFor(kind)
	return full, base, rule, nil
}

// NewID returns a random (version 4) UUID in canonical lower-case form.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go ≥ 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexdigits[c>>4], hexdigits[c&0xf])
	}
	return string(out)
}

// errTooLarge is what the limited body returns once it passes its limit; it never leaves the
// package.
type errTooLarge struct{ limit int64 }

func (e *errTooLarge) Error() string { return fmt.Sprintf("media: body larger than %d bytes", e.limit) }

// limited reads at most limit bytes from r and fails with *errTooLarge as soon as there is
// more, so the store stops writing and removes what it wrote.
type limited struct {
	r     io.Reader
	limit int64
	n     int64
}

func (l *limited) Read(p []byte) (int, error) {
	if room := l.limit + 1 - l.n; int64(len(p)) > room {
		p = p[:room] // read one byte past the limit at most, to tell "exactly at" from "over"
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.limit {
		return 0, &errTooLarge{l.limit}
	}
	return n, err
}

// Upload stores an uploaded file of the given Content-Type for business, reading body once: the
// type must be supported (cloud-api.md §5), and the size is checked while the bytes stream into
// the store, so an oversized body stores nothing and is never held whole in memory. The digest
// and size are computed on the way in. The media expires after the retention period on the
// service's clock.
//
// Errors are catalogue errors: a missing type is MissingParam (On-Prem 1008, onprem-api.md §7
// "missing → 1008"); an unsupported type, an empty body or one over the limit is MediaUpload
// (On-Prem 1014, errors.md §2.6 "Media upload failed / unsupported or mismatched MIME"); an id
// clash is AlreadyExists (1004, onprem-api.md §7).
func (s *Service) Upload(ctx context.Context, business, mimeType string, body io.Reader) (store.Media, error) {
	full, base, rule, err := s.check(mimeType)
	if err != nil {
		return store.Media{}, err
	}
	limit := min(rule.Max, s.limit)
	// Read the first bytes to learn what the header says (an animated WebP may be larger than a
	// static one), then stream the rest behind them.
	head := make([]byte, 32)
	n, err := io.ReadFull(body, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return store.Media{}, fmt.Errorf("media: read upload: %w", err)
	}
	head = head[:n]
	if n == 0 {
		return store.Media{}, waerr.New(waerr.MediaUpload, "The request body is empty; send the file's bytes as the body")
	}
	what := fmt.Sprintf("%s (%s)", base, rule.Kind)
	if rule.Kind == Sticker {
		if animatedWebP(head) {
			what = base + " (animated sticker)"
		} else {
			limit = min(StaticStickerLimit, s.limit)
			what = base + " (static sticker)"
		}
	}
	m := store.Media{ID: NewID(), Business: business, MimeType: full, Origin: store.MediaUpload}
	body = &limited{r: io.MultiReader(bytes.NewReader(head), body), limit: limit}
	m, err = s.create(ctx, m, body)
	var big *errTooLarge
	if errors.As(err, &big) {
		return store.Media{}, tooLarge(limit, what)
	}
	return m, err
}

func (s *Service) create(ctx context.Context, m store.Media, body io.Reader) (store.Media, error) {
	now := s.clk.Now()
	m.CreatedAt, m.ExpiresAt = now, now.Add(s.retention)
	got, err := s.st.CreateMedia(ctx, m, body)
	switch {
	case errors.Is(err, store.ErrExists):
		return store.Media{}, waerr.New(waerr.AlreadyExists, "Media %s already exists; upload again", m.ID)
	case err != nil:
		return store.Media{}, fmt.Errorf("media: store: %w", err)
	}
	return got, nil
}

// size writes a limit the way the references do: "5 MB", "100 KB", else bytes.
func size(n int64) string {
	switch {
	case n%MB == 0:
		return fmt.Sprintf("%d MB", n/MB)
	case n%KB == 0:
		return fmt.Sprintf("%d KB", n/KB)
	}
	return fmt.Sprintf("%d bytes", n)
}

// animatedWebP reports whether a WebP file's header has the animation flag: an extended
// ("VP8X") file whose flags byte has bit 1 set (RIFF container, Google's WebP container
// specification).
func animatedWebP(head []byte) bool {
	return len(head) >= 21 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WEBP" &&
		string(head[12:16]) == "VP8X" && head[20]&0x02 != 0
}

// StoreInbound stores a file a (simulated) user sent in a message of the given kind (image,
// audio, voice, video, document, sticker). An empty mimeType takes the kind's usual one. The
// type must be one of the kind's (documents: any valid type, as users send any file as a
// document); the size must be within InboundLimit and, for stickers, the animated limit.
// Errors are InvalidParam catalogue errors saying what to fix.
func (s *Service) StoreInbound(ctx context.Context, business string, kind Kind, mimeType, filename string, data []byte) (store.Media, error) {
	rule, ok := RuleFor(kind)
	if !ok {
		return store.Media{}, waerr.New(waerr.InvalidParam, "%q is not a media kind; use image, audio, voice, video, document or sticker", kind)
	}
	if mimeType == "" {
		mimeType = DefaultMIME(kind)
	}
	full, base, err := normalize(mimeType)
	if err != nil {
		return store.Media{}, waerr.New(waerr.InvalidParam, "%s.mime_type %q is not a valid MIME type", kind, mimeType)
	}
	if kind != Document && !slices.Contains(rule.Types, base) {
		return store.Media{}, waerr.New(waerr.InvalidParam, "%s.mime_type %s is not one of %s", kind, base, strings.Join(rule.Types, ", "))
	}
	limit := int64(InboundLimit)
	if kind == Sticker {
		limit = AnimatedStickerLimit
	}
	if len(data) == 0 {
		return store.Media{}, waerr.New(waerr.InvalidParam, "%s.data is empty; send base64 bytes or leave it out for a placeholder", kind)
	}
	if int64(len(data)) > limit {
		return store.Media{}, waerr.New(waerr.InvalidParam, "%s.data is %d bytes, more than the %s a user can send", kind, len(data), size(limit))
	}
	m := store.Media{ID: NewID(), Business: business, MimeType: full, Filename: filename, Origin: store.MediaInbound}
	return s.create(ctx, m, bytes.NewReader(data))
}

// DefaultMIME is the usual type of a kind: what a simulated user's media is when no mime_type
// is given.
func DefaultMIME(kind Kind) string {
	switch kind {
	case Image:
		return "image/jpeg"
	case Audio:
		return "audio/mpeg"
	case Voice:
		return VoiceMIME
	case Video:
		return "video/mp4"
	case Document:
		return "application/pdf"
	case Sticker:
		return "image/webp"
	}
	return "application/octet-stream"
}

// Open returns a live media and its bytes, which the caller closes. An unknown, malformed or
// expired id is a NotFound catalogue error (1006).
func (s *Service) Open(ctx context.Context, id string) (store.Media, io.ReadCloser, error) {
	notFound := waerr.New(waerr.NotFound, "Media %s not found", id)
	if !store.ValidMediaID(id) {
		return store.Media{}, nil, notFound
	}
	m, rc, err := s.st.OpenMedia(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Media{}, nil, notFound
	}
	if err != nil {
		return store.Media{}, nil, fmt.Errorf("media: open %s: %w", id, err)
	}
	if !s.clk.Now().Before(m.ExpiresAt) {
		rc.Close()
		return store.Media{}, nil, notFound
	}
	return m, rc, nil
}

// Delete removes a media; an unknown or malformed id is a NotFound catalogue error (1006). An
// expired media not yet swept is deleted like a live one.
func (s *Service) Delete(ctx context.Context, id string) error {
	if !store.ValidMediaID(id) {
		return waerr.New(waerr.NotFound, "Media %s not found", id)
	}
	err := s.st.DeleteMedia(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return waerr.New(waerr.NotFound, "Media %s not found", id)
	}
	if err != nil {
		return fmt.Errorf("media: delete %s: %w", id, err)
	}
	return nil
}

// Sweep deletes every media expired on the service's clock and returns how many. The app calls
// it periodically (and after the virtual clock jumps).
func (s *Service) Sweep(ctx context.Context) (int, error) {
	n, err := s.st.DeleteExpiredMedia(ctx, s.clk.Now())
	if err != nil {
		return n, fmt.Errorf("media: sweep: %w", err)
	}
	return n, nil
}

// WriteFile answers 200 with a stored media's bytes, its type and length, and closes rc. The
// error is the copy's, when the client is still there: the status line is out by then, so the
// caller can only log it.
func WriteFile(w http.ResponseWriter, r *http.Request, m store.Media, rc io.ReadCloser) error {
	defer rc.Close()
	w.Header().Set("Content-Type", m.MimeType)
	w.Header().Set("Content-Length", strconv.FormatInt(m.Size, 10))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil && r.Context().Err() == nil {
		return err
	}
	return nil
}
