// Package sandbox is the control API of the simulated world, under /sandbox/v1/: simulated users
// and what they do (send, tap, go offline, block, change identity), the virtual clock, the
// network switch, message inspection, webhook attempts and redelivery, reset, the business
// numbers and the Cloud API access tokens. The UI and
// tests drive waba through it; docs/sandbox.md documents it and /sandbox/v1/openapi.yaml
// describes it. It needs an admin credential like every other API: the On-Prem bearer token.
package sandbox

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/media"
	"github.com/openwaba/waba/internal/network/simnet"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

//go:embed openapi.yaml
var openapi []byte

// Inbound stores a user's message to a business (dispatch.Dispatcher.Inbound).
type Inbound func(ctx context.Context, business, from string, body map[string]any) (int64, error)

// Webhooks is the part of the webhook dispatcher the sandbox drives.
type Webhooks interface {
	Redeliver(ctx context.Context, ids []int64) (int, error)
	RetryNow(ctx context.Context) (int, error)
	// RequestBody is the body an attempt POSTed (a delivered attempt's is rebuilt).
	RequestBody(ctx context.Context, a store.Attempt) ([]byte, error)
}

// Options are the sandbox's dependencies.
type Options struct {
	Engine   *engine.Engine
	Store    store.Store
	Clock    *clock.Virtual
	Net      *simnet.Net
	Inbound  Inbound
	Webhooks Webhooks
	// Rescheduled is called after held messages were made due (wakes the dispatcher).
	Rescheduled func()
	// Media stores the files of users' media messages, downloadable with GET /v1/media/{id}.
	// Without it media messages carry only a mime_type, as before media existed.
	Media  *media.Service
	Logger *slog.Logger
}

// Handler serves /sandbox/v1/.
type Handler struct {
	o   Options
	log *slog.Logger
	mux *http.ServeMux
}

// New builds the handler.
func New(o Options) *Handler {
	h := &Handler{o: o, log: o.Logger.With("component", "sandbox"), mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /sandbox/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(openapi)
	})
	h.mux.HandleFunc("GET /sandbox/v1/users", h.listUsers)
	h.mux.HandleFunc("GET /sandbox/v1/users/{wa_id}", h.getUser)
	h.mux.HandleFunc("PUT /sandbox/v1/users/{wa_id}", h.putUser)
	h.mux.HandleFunc("DELETE /sandbox/v1/users/{wa_id}", h.deleteUser)
	h.mux.HandleFunc("POST /sandbox/v1/users/{wa_id}/messages", h.userSends)
	h.mux.HandleFunc("POST /sandbox/v1/users/{wa_id}/online", h.online(true))
	h.mux.HandleFunc("POST /sandbox/v1/users/{wa_id}/offline", h.online(false))
	h.mux.HandleFunc("POST /sandbox/v1/users/{wa_id}/identity", h.changeIdentity)
	h.mux.HandleFunc("POST /sandbox/v1/users/{wa_id}/number", h.changeNumber)
	h.mux.HandleFunc("POST /sandbox/v1/outage", h.outage)
	h.mux.HandleFunc("GET /sandbox/v1/magic-numbers", h.magic)
	h.mux.HandleFunc("GET /sandbox/v1/clock", h.getClock)
	h.mux.HandleFunc("POST /sandbox/v1/clock/advance", h.advance)
	h.mux.HandleFunc("POST /sandbox/v1/clock/set", h.setClock)
	h.mux.HandleFunc("POST /sandbox/v1/network/down", h.network(true))
	h.mux.HandleFunc("POST /sandbox/v1/network/up", h.network(false))
	h.mux.HandleFunc("GET /sandbox/v1/messages", h.listMessages)
	h.mux.HandleFunc("GET /sandbox/v1/messages/{id}", h.getMessage)
	h.mux.HandleFunc("GET /sandbox/v1/webhooks", h.listWebhooks)
	h.mux.HandleFunc("GET /sandbox/v1/webhooks/{id}/attempts", h.webhookAttempts)
	h.mux.HandleFunc("GET /sandbox/v1/attempts", h.attempts)
	h.mux.HandleFunc("POST /sandbox/v1/webhooks/redeliver", h.redeliver)
	h.mux.HandleFunc("POST /sandbox/v1/reset", h.reset)
	h.mux.HandleFunc("GET /sandbox/v1/numbers", h.listNumbers)
	h.mux.HandleFunc("POST /sandbox/v1/numbers", h.addNumber)
	h.mux.HandleFunc("PATCH /sandbox/v1/numbers/{phone}", h.updateNumber)
	h.mux.HandleFunc("GET /sandbox/v1/cloud/tokens", h.listTokens)
	h.mux.HandleFunc("POST /sandbox/v1/cloud/tokens", h.createToken)
	h.mux.HandleFunc("DELETE /sandbox/v1/cloud/tokens/{id}", h.revokeToken)
	h.mux.HandleFunc("GET /sandbox/v1/templates", h.listTemplates)
	h.mux.HandleFunc("POST /sandbox/v1/templates/{name}/{language}/status", h.templateStatus)
	h.mux.HandleFunc("PUT /sandbox/v1/templates/review", h.templateReview)
	h.mux.HandleFunc("PUT /sandbox/v1/templates/{name}/{language}", h.importTemplate)
	h.mux.HandleFunc("/sandbox/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "No sandbox route "+r.Method+" "+r.URL.Path+"; see /sandbox/v1/openapi.yaml")
	})
	return h
}

// ServeHTTP requires an admin bearer token (the On-Prem login token) and routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Send Authorization: Bearer <token> from POST /v1/users/login")
		return
	}
	u, err := h.o.Engine.Authenticate(r.Context(), strings.TrimSpace(tok))
	if err != nil {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Missing or invalid authentication credentials")
		return
	}
	if u.Role != store.RoleAdmin {
		writeError(w, http.StatusForbidden, "forbidden", "The sandbox API needs the admin role")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// writeError answers `{"error":{"code","message"}}`. The sandbox is waba's own API, so it has
// its own plain envelope rather than either Meta dialect's.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encoding failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	if e, ok := waerr.As(err); ok {
		status := e.Cond.OnPrem.HTTP
		if status == 0 {
			status = http.StatusBadRequest
		}
		writeError(w, status, e.Cond.Name, e.Details)
		return
	}
	h.log.Error("sandbox call failed", "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "Internal error; the server log has the cause")
}

func readJSON(r *http.Request, dst any) error {
	return readJSONLimit(r, dst, 1<<20)
}

// errBodyTooLarge is readJSONLimit's error for a body over its limit.
var errBodyTooLarge = errors.New("request body too large")

func readJSONLimit(r *http.Request, dst any, limit int64) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return err
	}
	if int64(len(body)) > limit {
		return errBodyTooLarge
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("request body: %v", err)
	}
	return nil
}

func waID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, ok := wa.NormalizePhone(r.PathValue("wa_id"))
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_wa_id", fmt.Sprintf("%q is not a phone number in international format", r.PathValue("wa_id")))
	}
	return id, ok
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"users": h.o.Net.Users()})
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) {
	id, ok := waID(w, r)
	if ok {
		writeJSON(w, http.StatusOK, h.o.Net.User(id))
	}
}

// putUser creates or replaces a simulated user; fields left out take the healthy defaults.
func (h *Handler) putUser(w http.ResponseWriter, r *http.Request) {
	id, ok := waID(w, r)
	if !ok {
		return
	}
	u := h.o.Net.User(id)
	u.Magic = ""
	if err := readJSON(r, &u); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", err.Error())
		return
	}
	u.WaID = id
	if err := h.o.Net.PutUser(r.Context(), u); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_user", err.Error())
		return
	}
	if u.Online {
		h.release(r.Context(), id)
	}
	writeJSON(w, http.StatusOK, h.o.Net.User(id))
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	id, ok := waID(w, r)
	if !ok {
		return
	}
	if err := h.o.Net.DeleteUser(r.Context(), id); err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": id})
}

// release makes a user's held messages due now (they came online).
func (h *Handler) release(ctx context.Context, id string) {
	n, err := h.o.Store.RescheduleHeld(ctx, id, store.StatusSent, h.o.Clock.Now())
	if err != nil {
		h.log.Error("release held messages", "err", err)
		return
	}
	if n > 0 && h.o.Rescheduled != nil {
		h.o.Rescheduled()
	}
}

func (h *Handler) online(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := waID(w, r)
		if !ok {
			return
		}
		u, err := h.o.Net.SetOnline(r.Context(), id, on)
		if err != nil {
			h.fail(w, err)
			return
		}
		if on {
			h.release(r.Context(), id)
		}
		writeJSON(w, http.StatusOK, u)
	}
}

// changeIdentity gives the user a new identity key, as after a reinstall: the business must
// acknowledge it (PUT /v1/contacts/{wa_id}/identity) before messages reach the user again.
func (h *Handler) changeIdentity(w http.ResponseWriter, r *http.Request) {
	id, ok := waID(w, r)
	if !ok {
		return
	}
	u, err := h.o.Net.ChangeIdentity(r.Context(), id, h.o.Clock.Now())
	if err != nil {
		h.fail(w, err)
		return
	}
	// With show_security_notifications on, the business hears of it as a system message
	// (onprem-api.md §9.1, webhooks.md §2.8).
	if s, err := h.o.Engine.AppSettings(r.Context()); err == nil && s.ShowSecurityNotifications {
		body := map[string]any{"type": "system", "system": map[string]any{"identity": u.IdentityHash, "type": "user_identity_changed", "user": id}}
		if _, err := h.o.Inbound(r.Context(), h.o.Engine.Business(), id, body); err != nil {
			h.fail(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, u)
}

// changeNumber: {"new_wa_id": "…"} — the user moved to a new number. With
// notify_user_change_number on, the business gets the user_changed_number system message
// (webhooks.md §2.8); the new number starts as a copy of the user.
func (h *Handler) changeNumber(w http.ResponseWriter, r *http.Request) {
	id, ok := waID(w, r)
	if !ok {
		return
	}
	var req struct {
		NewWaID string `json:"new_wa_id"`
	}
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", err.Error())
		return
	}
	newID, ok := wa.NormalizePhone(req.NewWaID)
	if !ok || newID == id {
		writeError(w, http.StatusBadRequest, "invalid_body", `Send {"new_wa_id": "<another phone number>"}`)
		return
	}
	u := h.o.Net.User(id)
	u.WaID, u.Magic = newID, ""
	if err := h.o.Net.PutUser(r.Context(), u); err != nil {
		h.fail(w, err)
		return
	}
	if s, err := h.o.Engine.AppSettings(r.Context()); err == nil && s.NotifyUserChangeNumber {
		body := map[string]any{"type": "system", "system": map[string]any{
			"body": fmt.Sprintf("User %s changed from +%s to +%s", u.Name, id, newID), "new_wa_id": newID, "type": "user_changed_number"}}
		if _, err := h.o.Inbound(r.Context(), h.o.Engine.Business(), id, body); err != nil {
			h.fail(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, u)
}

// outage: {"seconds": N} (at most 300) schedules an API outage starting now, like the up to
// five minutes of downtime during API updates (seed 000, errors.md §5 row 10): sends answer
// 503 with 1016 and /v1/health shows connecting until it ends on the virtual clock.
func (h *Handler) outage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Seconds *float64 `json:"seconds"`
	}
	if err := readJSON(r, &req); err != nil || req.Seconds == nil || *req.Seconds < 0 || *req.Seconds > 300 {
		writeError(w, http.StatusBadRequest, "invalid_body", `Send {"seconds": N} with 0 ≤ N ≤ 300 (0 ends an outage)`)
		return
	}
	until := h.o.Clock.Now().Add(time.Duration(*req.Seconds * float64(time.Second)))
	h.o.Net.SetOutage(until)
	writeJSON(w, http.StatusOK, map[string]any{"outage_until": until.UTC().Format(time.RFC3339Nano)})
}

func (h *Handler) magic(w http.ResponseWriter, r *http.Request) {
	type row struct {
		Number  string `json:"number"`
		Name    string `json:"name"`
		Outcome string `json:"outcome"`
	}
	var out []row
	for _, m := range simnet.MagicNumbers() {
		out = append(out, row{m.Number, m.Name, m.Outcome})
	}
	writeJSON(w, http.StatusOK, map[string]any{"magic_numbers": out})
}

// inboundTypes are the message types a simulated user can send (onprem-api.md §12.3).
var inboundTypes = map[string]bool{
	"text": true, "image": true, "audio": true, "voice": true, "video": true, "document": true,
	"sticker": true, "location": true, "contacts": true, "button": true, "interactive": true,
	"system": true, "unknown": true,
}

// userSends: POST /sandbox/v1/users/{wa_id}/messages — the simulated user sends a message to
// the default business number. The body is the message part of a send request:
// {"type":"text","text":{"body":"hi"}}; a tap on a reply button is
// {"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id","title"}},"context":{"id":"gBEG…"}}.
// Answers 201 {"id":"ABGG…"}. This shape is fixed: scripts outside the repository use it.
func (h *Handler) userSends(w http.ResponseWriter, r *http.Request) {
	from, ok := waID(w, r)
	if !ok {
		return
	}
	business := h.o.Engine.Business()
	if to := r.URL.Query().Get("to"); to != "" && to != business {
		writeError(w, http.StatusNotFound, "unknown_business", fmt.Sprintf("%s is not a business number of this waba (the default is %s)", to, business))
		return
	}
	var body map[string]any
	if err := readJSONLimit(r, &body, maxUserMessage); errors.Is(err, errBodyTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("The message is larger than %d MB; send a smaller file in data", maxUserMessage>>20))
		return
	} else if err != nil || body == nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "Send the message part as JSON, e.g. {\"type\":\"text\",\"text\":{\"body\":\"hi\"}}")
		return
	}
	typ, _ := body["type"].(string)
	if typ == "" {
		typ = "text"
		body["type"] = typ
	}
	if !inboundTypes[typ] {
		writeError(w, http.StatusBadRequest, "invalid_type", fmt.Sprintf("type %q is not one a user can send; use one of text, image, audio, voice, video, document, sticker, location, contacts, button, interactive, system, unknown", typ))
		return
	}
	mediaID, err := h.shapeInbound(r.Context(), typ, body, business)
	var internal internalError
	if errors.As(err, &internal) {
		h.fail(w, internal.error)
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_message", err.Error())
		return
	}
	id, err := h.o.Inbound(r.Context(), business, from, body)
	if err != nil {
		if mediaID != "" {
			if derr := h.o.Media.Delete(context.WithoutCancel(r.Context()), mediaID); derr != nil {
				h.log.Warn("media of a failed inbound message not deleted", "media_id", mediaID, "err", derr)
			}
		}
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": wa.OnPremID(id, true)})
}

// maxUserMessage caps the JSON of a simulated user's message: base64 media in `data` of up to
// about 24 MB. (The whole body is decoded in memory; this is a test tool, not the upload path.)
const maxUserMessage = 32 << 20

// internalError marks a shapeInbound failure that is waba's, not the request's.
type internalError struct{ error }

// shapeInbound checks the message part and completes what the network adds: the quoted
// message's sender in context, the 501 error of an unsupported type (§12.3), and for media the
// stored file (see inboundMedia), whose id it returns.
func (h *Handler) shapeInbound(ctx context.Context, typ string, body map[string]any, business string) (mediaID string, err error) {
	obj, _ := body[typ].(map[string]any)
	switch typ {
	case "text":
		if s, _ := obj["body"].(string); s == "" {
			return "", errors.New(`text needs {"body": "…"}`)
		}
	case "interactive":
		kind, _ := obj["type"].(string)
		if kind != "button_reply" && kind != "list_reply" {
			return "", errors.New(`interactive.type must be button_reply or list_reply`)
		}
		reply, _ := obj[kind].(map[string]any)
		if id, _ := reply["id"].(string); id == "" {
			return "", fmt.Errorf("interactive.%s needs id and title", kind)
		}
	case "button":
		if p, _ := obj["payload"].(string); p == "" {
			return "", errors.New(`button needs {"payload": "…", "text": "…"}`)
		}
	case "location":
		if _, ok := obj["latitude"].(float64); !ok {
			return "", errors.New("location needs latitude and longitude")
		}
	case "unknown":
		body["errors"] = []any{map[string]any{"code": 501, "title": "Unknown message type", "details": "Message type is not currently supported"}}
		delete(body, "unknown")
	case "image", "audio", "voice", "video", "document", "sticker":
		if obj == nil {
			obj = map[string]any{}
			body[typ] = obj
		}
		if mediaID, err = h.inboundMedia(ctx, media.Kind(typ), obj, business); err != nil {
			return "", err
		}
	}
	if c, ok := body["context"].(map[string]any); ok {
		if _, has := c["from"]; !has {
			c["from"] = business
		}
	}
	return mediaID, nil
}

// inboundMedia stores the file of a user's media message and turns obj into the On-Prem inbound
// media object, {"id","mime_type","sha256","caption"?,"filename"? (document)}
// (onprem-api.md §12.3; webhooks.md §2.2). The file is `data` (standard base64) when given,
// else a small placeholder of the type (media.Placeholder). `mime_type` defaults to the kind's
// usual one (voice: "audio/ogg; codecs=opus"). Captions are dropped from audio, voice and
// stickers and file names from all but documents, as WhatsApp sends them.
func (h *Handler) inboundMedia(ctx context.Context, kind media.Kind, obj map[string]any, business string) (string, error) {
	mimeType := media.DefaultMIME(kind)
	if v, ok := obj["mime_type"]; ok {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%s.mime_type must be a string such as %q", kind, mimeType)
		}
		if s != "" {
			mimeType = s
		}
	}
	var data []byte
	if v, ok := obj["data"]; ok {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%s.data must be the file's bytes in base64", kind)
		}
		var err error
		if data, err = base64.StdEncoding.DecodeString(s); err != nil {
			if data, err = base64.RawStdEncoding.DecodeString(s); err != nil {
				return "", fmt.Errorf("%s.data is not valid base64: %v", kind, err)
			}
		}
	}
	delete(obj, "data")
	// file_size simulates a file too large for WhatsApp to fetch from the user's phone: over
	// the 100 MB inbound cap the message arrives with a media download error (errors.md §2.6:
	// 131052 on the Cloud message, a top-level 400 webhook on On-Prem) and no file.
	if v, ok := obj["file_size"]; ok {
		n, ok := v.(float64)
		if !ok || n < 0 || n != float64(int64(n)) {
			return "", fmt.Errorf("%s.file_size must be a whole number of bytes", kind)
		}
		delete(obj, "file_size")
		if int64(n) > media.InboundLimit {
			for k := range obj {
				delete(obj, k)
			}
			obj[media.DownloadErrorKey] = fmt.Sprintf("The %s the user sent is %d bytes, more than the %d MB that can be downloaded; ask the user to send a smaller file", kind, int64(n), media.InboundLimit/media.MB)
			return "", nil
		}
	}
	if kind != media.Document {
		delete(obj, "filename")
	}
	if kind == media.Audio || kind == media.Voice || kind == media.Sticker {
		delete(obj, "caption")
	}
	if h.o.Media == nil {
		obj["mime_type"] = mimeType
		return "", nil
	}
	if data == nil {
		data = media.Placeholder(mimeType)
	}
	filename, _ := obj["filename"].(string)
	m, err := h.o.Media.StoreInbound(ctx, business, kind, mimeType, filename, data)
	if e, ok := waerr.As(err); ok {
		return "", errors.New(e.Details)
	}
	if err != nil {
		return "", internalError{err}
	}
	obj["id"] = m.ID
	obj["mime_type"] = m.MimeType
	obj["sha256"] = m.SHA256
	return m.ID, nil
}

func (h *Handler) getClock(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, clockView(h.o.Clock.Now()))
}

func clockView(t time.Time) map[string]any {
	return map[string]any{"now": t.UTC().Format(time.RFC3339Nano), "unix": t.Unix()}
}

// advance: POST /sandbox/v1/clock/advance {"seconds":N} moves virtual time forward and answers
// the new time. Fixed shape: scripts outside the repository use it.
func (h *Handler) advance(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Seconds *float64 `json:"seconds"`
	}
	if err := readJSON(r, &req); err != nil || req.Seconds == nil || *req.Seconds < 0 {
		writeError(w, http.StatusBadRequest, "invalid_body", `Send {"seconds": N} with N ≥ 0`)
		return
	}
	if err := h.o.Clock.Advance(time.Duration(*req.Seconds * float64(time.Second))); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_advance", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, clockView(h.o.Clock.Now()))
}

func (h *Handler) setClock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Now time.Time `json:"now"`
	}
	if err := readJSON(r, &req); err != nil || req.Now.IsZero() {
		writeError(w, http.StatusBadRequest, "invalid_body", `Send {"now": "2026-12-01T10:00:00Z"} (RFC 3339, later than the current virtual time)`)
		return
	}
	if err := h.o.Clock.Set(req.Now); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_time", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, clockView(h.o.Clock.Now()))
}

func (h *Handler) network(down bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.o.Net.SetDown(down)
		if !down && h.o.Rescheduled != nil {
			h.o.Rescheduled()
		}
		writeJSON(w, http.StatusOK, map[string]any{"network": map[bool]string{true: "down", false: "up"}[down], "gateway_status": h.o.Net.GatewayStatus()})
	}
}

// messageView is a stored message as the sandbox shows it.
type messageView struct {
	ID        string          `json:"id"`
	Direction string          `json:"direction"`
	Business  string          `json:"business"`
	Peer      string          `json:"peer"`
	Type      string          `json:"type"`
	Status    string          `json:"status"`
	Payload   json.RawMessage `json:"payload"`
	NextAt    *time.Time      `json:"next_at,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func viewMessage(m store.Message) messageView {
	v := messageView{ID: wa.OnPremID(m.ID, m.Direction == store.Inbound), Direction: string(m.Direction), Business: m.Business,
		Peer: m.Peer, Type: m.Type, Status: m.Status, Payload: m.Payload, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
	if !m.NextAt.IsZero() {
		t := m.NextAt
		v.NextAt = &t
	}
	return v
}

func limitParam(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || n <= 0 || n > 1000 {
		return 100
	}
	return n
}

func (h *Handler) listMessages(w http.ResponseWriter, r *http.Request) {
	peer := r.URL.Query().Get("peer")
	if peer != "" {
		p, ok := wa.NormalizePhone(peer)
		if !ok {
			writeError(w, http.StatusBadRequest, "invalid_peer", "peer must be a phone number")
			return
		}
		peer = p
	}
	msgs, err := h.o.Store.ListMessages(r.Context(), peer, limitParam(r))
	if err != nil {
		h.fail(w, err)
		return
	}
	out := make([]messageView, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, viewMessage(m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

func (h *Handler) getMessage(w http.ResponseWriter, r *http.Request) {
	id, _, ok := wa.ParseOnPremID(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "No message with id "+r.PathValue("id"))
		return
	}
	m, err := h.o.Store.GetMessage(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "No message with id "+r.PathValue("id"))
		return
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	hooks, err := h.o.Store.ListWebhooks(r.Context(), store.WebhookFilter{MessageID: id, Limit: 100})
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": viewMessage(m), "webhooks": viewWebhooks(hooks)})
}

type webhookView struct {
	ID        int64           `json:"id"`
	MessageID string          `json:"message_id,omitempty"`
	Kind      string          `json:"kind"`
	State     string          `json:"state"`
	Attempts  int             `json:"attempts"`
	DueAt     time.Time       `json:"due_at"`
	LastError string          `json:"last_error,omitempty"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt time.Time       `json:"created_at"`
}

func viewWebhooks(hooks []store.Webhook) []webhookView {
	out := make([]webhookView, 0, len(hooks))
	for _, w := range hooks {
		v := webhookView{ID: w.ID, Kind: w.Kind, State: w.State, Attempts: w.Attempts, DueAt: w.DueAt,
			LastError: w.LastError, Payload: w.Payload, CreatedAt: w.CreatedAt}
		if w.MessageID != 0 {
			// The id in the format the webhook itself carries: a wamid for Cloud kinds. Message
			// and error webhooks are about inbound messages (errors: a media download failure).
			inbound := w.Kind == store.WebhookMessage || w.Kind == store.WebhookCloudMessage || w.Kind == store.WebhookError
			if strings.HasPrefix(w.Kind, "cloud.") {
				v.MessageID = wa.CloudID(w.MessageID, inbound)
			} else {
				v.MessageID = wa.OnPremID(w.MessageID, inbound)
			}
		}
		out = append(out, v)
	}
	return out
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request) {
	f := store.WebhookFilter{State: r.URL.Query().Get("state"), Limit: limitParam(r)}
	hooks, err := h.o.Store.ListWebhooks(r.Context(), f)
	if err != nil {
		h.fail(w, err)
		return
	}
	pending, _ := h.o.Store.CountWebhooks(r.Context(), store.WebhookPending)
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": viewWebhooks(hooks), "pending": pending})
}

type attemptView struct {
	ID         int64     `json:"id"`
	URL        string    `json:"url"`
	Status     int       `json:"status"`
	LatencyMS  int64     `json:"latency_ms"`
	Error      string    `json:"error,omitempty"`
	Request    string    `json:"request"`
	Response   string    `json:"response,omitempty"`
	WebhookIDs []int64   `json:"webhook_ids"`
	At         time.Time `json:"at"`
}

// viewAttempts shows attempts with the bodies they POSTed (webhook.Dispatcher.RequestBody).
func (h *Handler) viewAttempts(ctx context.Context, as []store.Attempt) ([]attemptView, error) {
	out := make([]attemptView, 0, len(as))
	for _, a := range as {
		req := a.Request
		if h.o.Webhooks != nil {
			var err error
			if req, err = h.o.Webhooks.RequestBody(ctx, a); err != nil {
				return nil, err
			}
		}
		out = append(out, attemptView{a.ID, a.URL, a.Status, a.LatencyMS, a.Error, string(req), string(a.Response), a.WebhookIDs, a.At})
	}
	return out, nil
}

func (h *Handler) webhookAttempts(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "No webhook "+r.PathValue("id"))
		return
	}
	as, err := h.o.Store.ListAttempts(r.Context(), id, limitParam(r))
	if err != nil {
		h.fail(w, err)
		return
	}
	view, err := h.viewAttempts(r.Context(), as)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"attempts": view})
}

func (h *Handler) attempts(w http.ResponseWriter, r *http.Request) {
	as, err := h.o.Store.ListAttempts(r.Context(), 0, limitParam(r))
	if err != nil {
		h.fail(w, err)
		return
	}
	view, err := h.viewAttempts(r.Context(), as)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"attempts": view})
}

// redeliver: {"ids":[…]} sends those webhooks again (delivered ones included); {"all_pending":true}
// retries every pending webhook now instead of waiting for its back-off.
func (h *Handler) redeliver(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IDs        []int64 `json:"ids"`
		AllPending bool    `json:"all_pending"`
	}
	if err := readJSON(r, &req); err != nil || (len(req.IDs) == 0) == !req.AllPending {
		writeError(w, http.StatusBadRequest, "invalid_body", `Send {"ids":[1,2]} or {"all_pending":true}`)
		return
	}
	var n int
	var err error
	if req.AllPending {
		n, err = h.o.Webhooks.RetryNow(r.Context())
	} else {
		n, err = h.o.Webhooks.Redeliver(r.Context(), req.IDs)
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"scheduled": n})
}

// reset deletes every message, webhook and attempt and brings the network up; users,
// credentials and settings stay.
func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	if err := h.o.Store.ResetTraffic(r.Context()); err != nil {
		h.fail(w, err)
		return
	}
	h.o.Net.SetDown(false)
	h.o.Net.ForgetWindows() // the inbound messages that opened them are gone
	writeJSON(w, http.StatusOK, map[string]any{"reset": true})
}
