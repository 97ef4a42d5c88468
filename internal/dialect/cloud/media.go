package cloud

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/media"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/waerr"
)

// The Cloud media routes (shared/reference/cloud-api.md §5):
//
//	POST   /{phone-number-id}/media   multipart upload → {"id":"<MEDIA_ID>"}
//	GET    /{media-id}                → {"messaging_product":"whatsapp","url":…,"mime_type":…,
//	                                     "sha256":…,"file_size":303833,"id":…}
//	DELETE /{media-id}                → {"success":true}
//	GET    /waba-media/{media-id}/{expires}/{signature}   the download URL: the bytes
//
// Media ids are numeric Graph ids derived from the store's UUIDs (media.GraphID), so media
// uploaded through /v1/media and media that simulated users sent are served here too.
//
// The download path starts with "waba-media", which no Graph id can be (ids are digits), so it
// cannot collide with another route; it works with a version prefix too. {expires} is the Unix
// second on the virtual clock after which the URL is dead (5 minutes after the GET that made
// it, §5 "Media URL lifetime"); {signature} is an HMAC-SHA256 of the media id and {expires},
// keyed by a hash of the access token, so every node of a deployment accepts the URLs the others
// make and a new token retires the old URLs. A forged, expired or deleted URL answers 404 with
// no body (§5 "A failure → 404"). The bearer token is required as on every Graph route.

// urlLifetime is how long a media URL works (cloud-api.md §5).
const urlLifetime = 5 * time.Minute

// WebhookMediaLifetime is how long Graph serves a media id that arrived in a webhook:
// "Media ID lifetime | uploaded media: 30 days unless deleted; IDs from webhooks: 7 days"
// (cloud-api.md §5). It is the Cloud view of media simulated users sent (store.MediaInbound):
// the Graph routes answer them as unknown (100/33) once it has passed on the virtual clock,
// whatever the number's webhook dialect, while /v1/media keeps serving them for the On-Prem
// retention (media.Retention, 30 days: On-Prem keeps inbound media in its own media volume
// until its garbage collector, off by default, removes them; onprem-api.md §7, §9.1). The
// stored file is swept at its own expiry.
const WebhookMediaLifetime = 7 * 24 * time.Hour

// downloadSeg is the first path segment of media download URLs.
const downloadSeg = "waba-media"

// WithMedia serves the Cloud media routes from svc, with Cloud's 100 MB upload cap. Until it
// is used the media paths are answered like any unknown path.
func (h *Handler) WithMedia(svc *media.Service) *Handler {
	if svc == nil {
		panic("cloud: WithMedia needs a media.Service")
	}
	h.media = svc.WithUploadLimit(media.CloudUploadLimit)
	return h
}

// serveMedia answers the Cloud media routes (cloud-api.md §5) when segs names one and reports
// whether it did.
func (h *Handler) serveMedia(w http.ResponseWriter, r *http.Request, segs []string) bool {
	svc := h.media
	if svc == nil {
		return false
	}
	switch {
	case len(segs) == 4 && segs[0] == downloadSeg:
		if r.Method != http.MethodGet {
			h.unsupported(w, r)
			return true
		}
		h.download(w, r, svc, segs[1], segs[2], segs[3])
		return true
	case len(segs) == 2 && segs[1] == "media":
		n, ok, err := h.numberByID(r.Context(), segs[0])
		if err != nil {
			h.writeError(w, r, err)
			return true
		}
		if !ok {
			return false // not our number: the handler's unknown-id answer
		}
		if r.Method != http.MethodPost {
			h.unsupported(w, r)
			return true
		}
		if err := Require(r.Context(), engine.PermMessaging); err != nil {
			h.writeError(w, r, err)
			return true
		}
		h.upload(w, r, svc, n.Phone)
		return true
	case len(segs) == 1:
		id, ok := media.ParseGraphID(segs[0])
		if !ok {
			return false
		}
		if err := Require(r.Context(), engine.PermMessaging); err != nil {
			h.writeError(w, r, err)
			return true
		}
		switch r.Method {
		case http.MethodGet:
			h.mediaURL(w, r, svc, segs[0], id)
		case http.MethodDelete:
			h.deleteMedia(w, r, svc, segs[0], id)
		default:
			h.unsupported(w, r)
		}
		return true
	}
	return false
}

// fieldLimit caps the form fields of an upload (messaging_product, type): they are short words.
const fieldLimit = 1 << 10

// upload: POST /{phone-number-id}/media (cloud-api.md §5, §12 item 3):
//
//	curl -X POST 'https://graph.facebook.com/v24.0/<PHONE_NUMBER_ID>/media' \
//	  -H 'Authorization: Bearer <ACCESS_TOKEN>' \
//	  -F 'file=@"2jC60Vdjn/cross-trainers-summer-sale.jpg";type=image/jpeg' \
//	  -F 'type="image/jpeg"' -F 'messaging_product="whatsapp"'
//
// The file part streams into the media service as it is read. Its type is the `type` field
// when that came before the file, else the file part's own Content-Type (whatsapp-api-js sends
// no `type`); a `type` field after the file must agree with it. messaging_product may be a
// field anywhere or a query parameter (whatsapp-api-js). Whatever is wrong after the file was
// stored removes it again, so a refused upload stores nothing.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request, svc *media.Service, business string) {
	mr, err := r.MultipartReader()
	if err != nil {
		h.writeError(w, r, waerr.New(waerr.InvalidRequest, "Send the upload as multipart/form-data with a 'file' part and messaging_product=whatsapp (Content-Type was %q)", r.Header.Get("Content-Type")))
		return
	}
	product := r.URL.Query().Get("messaging_product")
	var typ, fileType string // the type field, and the type the file was stored with
	var stored *store.Media
	fail := func(err error) {
		if stored != nil {
			if derr := svc.Delete(r.Context(), stored.ID); derr != nil {
				h.log.Error("remove refused upload", "media_id", stored.ID, "err", derr)
			}
		}
		h.writeMediaError(w, r, err)
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail(waerr.New(waerr.InvalidRequest, "The multipart/form-data body is malformed: %v", err))
			return
		}
		switch p.FormName() {
		case "messaging_product", "type":
			b, err := io.ReadAll(io.LimitReader(p, fieldLimit+1))
			if err != nil || len(b) > fieldLimit {
				fail(waerr.New(waerr.InvalidRequest, "Param %s must be a short string", p.FormName()))
				return
			}
			v := strings.Trim(strings.TrimSpace(string(b)), `"`) // curl's -F 'type="image/jpeg"'
			if p.FormName() == "messaging_product" {
				product = v
				continue
			}
			typ = v
			if stored != nil && !sameType(typ, fileType) {
				fail(waerr.New(waerr.InvalidRequest, "Param type '%s' differs from the file part's Content-Type '%s'; send the same type in both, or the type field before the file", typ, fileType))
				return
			}
		case "file":
			if stored != nil {
				fail(waerr.New(waerr.InvalidRequest, "Send one file per upload; this request has more than one 'file' part"))
				return
			}
			fileType = typ
			if fileType == "" {
				fileType = p.Header.Get("Content-Type")
			}
			if fileType == "" {
				fileType = "application/octet-stream" // what curl and FormData send for an unknown file
			}
			if _, ok := media.KindOf(fileType); !ok {
				fail(unsupportedType(fileType))
				return
			}
			m, err := svc.Upload(r.Context(), business, fileType, p)
			if err != nil {
				fail(err)
				return
			}
			stored = &m
		}
	}
	switch {
	case stored == nil:
		fail(waerr.New(waerr.InvalidRequest, "Param file is required: send the media as a multipart/form-data part named 'file'"))
	case product == "":
		fail(waerr.New(waerr.InvalidRequest, "Param messaging_product is required: send messaging_product=whatsapp as a form field or in the query"))
	case product != "whatsapp":
		fail(waerr.New(waerr.InvalidRequest, "Param messaging_product has invalid value '%s'; the only supported value is 'whatsapp'", product))
	default:
		gid, _ := media.GraphID(stored.ID)
		writeJSON(w, http.StatusOK, map[string]string{"id": gid})
	}
}

// sameType compares two MIME types by their base type.
func sameType(a, b string) bool {
	ba, _, erra := mime.ParseMediaType(a)
	bb, _, errb := mime.ParseMediaType(b)
	return erra == nil && errb == nil && ba == bb
}

// cloudTypes are the supported types in the order of Graph's message (cloud-api.md §5 table:
// audio, document, image, sticker, video).
var cloudTypes = []string{
	"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg", "audio/opus",
	"text/plain", "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"application/pdf",
	"image/jpeg", "image/png",
	"image/webp",
	"video/mp4", "video/3gpp",
}

// mediaError is a Graph error whose message is not "(#code) title": the media answers of
// cloud-api.md §5 spell theirs out.
type mediaError struct {
	status, code, subcode int
	typ, message, details string
}

func (e *mediaError) Error() string { return e.message }

// unsupportedType is §5 "Upload of a type not in the table": HTTP 400, code 100, OAuthException.
func unsupportedType(t string) *mediaError {
	msg := "(#100) Param file must be a file with one of the following types: " + strings.Join(cloudTypes, ", ") +
		". Received file of type '" + t + "'."
	return &mediaError{status: http.StatusBadRequest, code: 100, typ: "OAuthException", message: msg,
		details: "Send the file part with one of these Content-Types, or name it in the type field before the file"}
}

// noMedia is §5 "Unknown or deleted media id (GET/DELETE)": Graph's object error.
func noMedia(r *http.Request, gid string) *mediaError {
	return &mediaError{status: http.StatusBadRequest, code: 100, subcode: 33, typ: "GraphMethodException",
		message: "Unsupported " + strings.ToLower(r.Method) + " request. Object with ID '" + gid +
			"' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
		details: "Media " + gid + " does not exist, was deleted or expired, or belongs to another phone number"}
}

// writeMediaError renders a *mediaError in the Graph envelope and any other error as the
// handler's writeError does.
func (h *Handler) writeMediaError(w http.ResponseWriter, r *http.Request, err error) {
	var e *mediaError
	if !errors.As(err, &e) {
		h.writeError(w, r, err)
		return
	}
	trace := newTraceID()
	w.Header().Set("x-fb-trace-id", trace)
	writeJSON(w, e.status, errorBody{Error: graphError{Message: e.message, Type: e.typ, Code: e.code,
		ErrorData: errorData{MessagingProduct: "whatsapp", Details: e.details}, Subcode: e.subcode, FBTraceID: trace}})
}

// openOwned opens media id for a GET or DELETE by Graph id gid, honouring ?phone_number_id=
// ("the call succeeds only if the media belongs to that number", §5). Unknown, expired, deleted
// and not-that-number media are all noMedia.
func (h *Handler) openOwned(r *http.Request, svc *media.Service, gid, id string) (store.Media, io.ReadCloser, error) {
	m, rc, err := h.open(r, svc, id)
	if e, ok := waerr.As(err); ok && e.Cond == waerr.NotFound {
		return store.Media{}, nil, noMedia(r, gid)
	}
	if err != nil {
		return store.Media{}, nil, err
	}
	if pid := r.URL.Query().Get("phone_number_id"); pid != "" {
		n, ok, err := h.numberByID(r.Context(), pid)
		if err == nil && (!ok || n.Phone != m.Business) {
			err = noMedia(r, gid)
		}
		if err != nil {
			rc.Close()
			return store.Media{}, nil, err
		}
	}
	return m, rc, nil
}

// open is svc.Open with the Cloud lifetime of media from webhooks (WebhookMediaLifetime): an
// inbound media older than that is NotFound here.
func (h *Handler) open(r *http.Request, svc *media.Service, id string) (store.Media, io.ReadCloser, error) {
	m, rc, err := svc.Open(r.Context(), id)
	if err != nil {
		return m, rc, err
	}
	if m.Origin == store.MediaInbound && !h.eng.Now().Before(m.CreatedAt.Add(WebhookMediaLifetime)) {
		rc.Close()
		return store.Media{}, nil, waerr.New(waerr.NotFound, "Media %s not found", id)
	}
	return m, rc, nil
}

// mediaURL: GET /{media-id}[?phone_number_id=] (cloud-api.md §5, §12 item 4). file_size is a
// number, as in real responses (the OpenAPI spec's string is not what Graph sends).
func (h *Handler) mediaURL(w http.ResponseWriter, r *http.Request, svc *media.Service, gid, id string) {
	m, rc, err := h.openOwned(r, svc, gid, id)
	if err != nil {
		h.writeMediaError(w, r, err)
		return
	}
	rc.Close()
	u := signedURL(origin(r), h.tokenHash, gid, h.eng.Now())
	writeJSON(w, http.StatusOK, map[string]any{"messaging_product": "whatsapp", "url": u,
		"mime_type": m.MimeType, "sha256": m.SHA256, "file_size": m.Size, "id": gid})
}

// MediaURL is the download URL of media gid exactly as GET /{media-id} makes it, for the `url`
// of inbound media in Cloud webhooks (webhooks.md §2.2 "newer payloads also carry url"): base
// is the server's public origin (no trailing slash needed), accessToken the configured token
// (Options.AccessToken: its hash keys the signature), now the virtual time; the URL works for
// five minutes from now (cloud-api.md §5 "Media URL lifetime").
func MediaURL(base, accessToken, gid string, now time.Time) string {
	return signedURL(strings.TrimRight(base, "/"), sha256.Sum256([]byte(accessToken)), gid, now)
}

// signedURL is origin + /waba-media/{gid}/{expires}/{signature}, expiring urlLifetime after now.
func signedURL(origin string, tokenHash [32]byte, gid string, now time.Time) string {
	exp := strconv.FormatInt(now.Add(urlLifetime).Unix(), 10)
	return origin + "/" + downloadSeg + "/" + gid + "/" + exp + "/" + urlSignature(tokenHash, gid, exp)
}

// urlSignature signs a download URL: HMAC-SHA256 over "<media id>/<expires>" keyed by a hash of
// the access token's hash, in unpadded URL-safe base64.
func urlSignature(tokenHash [32]byte, gid, exp string) string {
	key := sha256.Sum256(append([]byte("waba media url\x00"), tokenHash[:]...))
	mac := hmac.New(sha256.New, key[:])
	mac.Write([]byte(gid + "/" + exp))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// download: GET /waba-media/{media-id}/{expires}/{signature} answers the bytes with their
// Content-Type; anything wrong is 404 with no body (§5 "A failure → 404").
func (h *Handler) download(w http.ResponseWriter, r *http.Request, svc *media.Service, gid, exp, sig string) {
	notFound := func() { w.WriteHeader(http.StatusNotFound) }
	id, ok := media.ParseGraphID(gid)
	if !ok || !hmac.Equal([]byte(sig), []byte(urlSignature(h.tokenHash, gid, exp))) {
		notFound()
		return
	}
	until, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !h.eng.Now().Before(time.Unix(until, 0)) {
		notFound()
		return
	}
	m, rc, err := h.open(r, svc, id)
	if e, ok := waerr.As(err); ok && e.Cond == waerr.NotFound {
		notFound()
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := media.WriteFile(w, r, m, rc); err != nil {
		h.log.Error("media download failed", "media_id", m.ID, "err", err)
	}
}

// deleteMedia: DELETE /{media-id}[?phone_number_id=] → {"success":true} (cloud-api.md §5).
func (h *Handler) deleteMedia(w http.ResponseWriter, r *http.Request, svc *media.Service, gid, id string) {
	_, rc, err := h.openOwned(r, svc, gid, id)
	if err == nil {
		rc.Close()
		err = svc.Delete(r.Context(), id)
		if e, ok := waerr.As(err); ok && e.Cond == waerr.NotFound {
			err = noMedia(r, gid)
		}
	}
	if err != nil {
		h.writeMediaError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}
