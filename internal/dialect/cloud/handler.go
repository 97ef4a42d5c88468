// Package cloud is the Cloud API (Graph) dialect: routes under `/{version}/…` and unversioned,
// bearer authentication, request decoding and the `{"error":{…}}` envelope
// (shared/reference/cloud-api.md §1–§4, §3b; shared/reference/errors.md §1.2). It translates
// only; the rules live in package engine.
//
// Scope of this slice of issue 10: one business number (the engine's) with its phone-number id,
// WABA id and one access token; `POST /{phone-number-id}/messages` (send, mark read, typing
// indicator), `GET /{phone-number-id}` and `GET /{waba-id}`. Limits, written down on purpose:
// statuses and webhooks of messages sent here are NOT in the Cloud format — they go out as
// On-Prem webhooks like every other message; media, subscribed_apps, phone_numbers, token
// permissions and expiry are not served yet.
package cloud

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/openwaba/waba/internal/dialect/onprem"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// Options are the handler's dependencies and the Cloud identity of the business number.
type Options struct {
	Engine        *engine.Engine
	Logger        *slog.Logger
	MaxBody       int64
	PhoneNumberID string
	WABAID        string
	AccessToken   string
}

// Handler serves the Graph paths.
type Handler struct {
	eng       *engine.Engine
	log       *slog.Logger
	maxBody   int64
	phoneID   string
	wabaID    string
	tokenHash [32]byte
}

// New builds the Cloud handler.
func New(o Options) *Handler {
	return &Handler{eng: o.Engine, log: o.Logger.With("component", "cloud"), maxBody: o.MaxBody,
		phoneID: o.PhoneNumberID, wabaID: o.WABAID, tokenHash: sha256.Sum256([]byte(o.AccessToken))}
}

// version is a Graph API version segment: `v24.0`, `v20.0`… (cloud-api.md §1: any is accepted).
var version = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,2}$`)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Auth comes before routing: Graph answers 104/190 whatever the path (cloud-api.md §1).
	if err := h.authenticate(r); err != nil {
		h.writeError(w, r, err)
		return
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) > 0 && version.MatchString(segs[0]) {
		segs = segs[1:] // unversioned paths work too (cloud-api.md §1)
	}
	switch {
	case len(segs) == 2 && segs[1] == "messages" && segs[0] == h.phoneID:
		if r.Method != http.MethodPost {
			h.unsupported(w, r)
			return
		}
		h.messages(w, r)
	case len(segs) == 1 && segs[0] == h.phoneID:
		if r.Method != http.MethodGet {
			h.unsupported(w, r)
			return
		}
		h.phoneNumber(w, r)
	case len(segs) == 1 && segs[0] == h.wabaID:
		if r.Method != http.MethodGet {
			h.unsupported(w, r)
			return
		}
		h.waba(w, r)
	case h.serveMedia(w, r, segs), h.serveTemplates(w, r, segs):
		// media.go and templates.go answered (their routes are theirs to match)
	case len(segs) >= 1 && segs[0] != "" && strings.Trim(segs[0], "0123456789") == "":
		// An id that is not ours: errors.md §2.2 "Business phone number deleted" (33) is the
		// catalogue's condition for a phone-number id that names no number.
		h.writeError(w, r, waerr.New(waerr.PhoneNumberDeleted, "Object with ID '%s' does not exist on this server: the phone-number id is %s and the WABA id is %s", segs[0], h.phoneID, h.wabaID))
	default:
		h.unsupported(w, r)
	}
}

// unsupported is Graph's "Unsupported <method> request" (code 100).
func (h *Handler) unsupported(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, r, waerr.New(waerr.InvalidRequest, "Unsupported %s request on %s: waba serves POST /{phone-number-id}/messages, GET /{phone-number-id} and GET /{waba-id}", strings.ToLower(r.Method), r.URL.Path))
}

// errInvalidToken is the 190 answer; its message is free text (errors.md §2.1).
var errInvalidToken = waerr.New(waerr.AuthInvalid, "Invalid OAuth access token - Cannot parse access token")

// authenticate checks `Authorization: Bearer <token>` or `?access_token=` (cloud-api.md §1)
// against the configured token in constant time.
func (h *Handler) authenticate(r *http.Request) error {
	tok := r.URL.Query().Get("access_token")
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, t, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(t) == "" {
			return errInvalidToken
		}
		tok = strings.TrimSpace(t)
	}
	if tok == "" {
		return waerr.New(waerr.AuthMissing, "Send the access token as 'Authorization: Bearer <token>'")
	}
	got := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) != 1 {
		return errInvalidToken
	}
	return nil
}

// readBody reads a request body up to the limit. Graph does not insist on a Content-Type for
// JSON bodies, so none is required here.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, waerr.New(waerr.InvalidRequest, "Request body is larger than %d bytes", h.maxBody)
	}
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return body, nil
}

// sendResponse is cloud-api.md §2.2:
//
//	{ "messaging_product": "whatsapp",
//	  "contacts": [ { "input": "+16505551234", "wa_id": "16505551234" } ],
//	  "messages": [ { "id": "wamid.HBgL…" } ] }
//
// message_status is left out, as in most of Meta's examples (§2.2 CONFLICT).
type sendResponse struct {
	MessagingProduct string        `json:"messaging_product"`
	Contacts         []sendContact `json:"contacts"`
	Messages         []sendMessage `json:"messages"`
}

type sendContact struct {
	Input string `json:"input"`
	WaID  string `json:"wa_id"`
}

type sendMessage struct {
	ID string `json:"id"`
}

// messages: POST /{phone-number-id}/messages sends a message (§2) or marks one read (§3).
func (h *Handler) messages(w http.ResponseWriter, r *http.Request) {
	body, err := h.readBody(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(body, &probe) == nil {
		_, hasStatus := probe["status"]
		_, hasType := probe["type"]
		if hasStatus && !hasType { // §3: the discriminator is status + message_id, no type
			h.markRead(w, r, probe)
			return
		}
	}
	// The On-Prem decoder is dialect-neutral (it decodes wa.Message and records unknown keys);
	// engine.Validate(m, wa.Cloud) then applies the Cloud rules and codes.
	m, err := onprem.DecodeMessage(body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	acc, err := h.eng.Send(r.Context(), m, wa.Cloud)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sendResponse{MessagingProduct: "whatsapp",
		Contacts: []sendContact{{Input: m.To, WaID: acc.WaID}},
		Messages: []sendMessage{{ID: wa.CloudID(acc.ID, false)}}})
}

// markRead handles §3: {"messaging_product":"whatsapp","status":"read","message_id":"wamid.…"}
// with an optional "typing_indicator":{"type":"text"} → {"success":true}.
func (h *Handler) markRead(w http.ResponseWriter, r *http.Request, f map[string]json.RawMessage) {
	str := func(key string) (string, bool, error) {
		raw, ok := f[key]
		if !ok {
			return "", false, nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", true, waerr.New(waerr.InvalidParam, "Parameter '%s' must be a string", key)
		}
		return s, true, nil
	}
	for _, k := range sortedKeys(f) {
		switch k {
		case "messaging_product", "status", "message_id", "typing_indicator", "recipient_type", "to":
		default:
			h.writeError(w, r, waerr.New(waerr.UnexpectedParam, "Parameter '%s' is not a parameter of a mark-as-read request", k))
			return
		}
	}
	mp, ok, err := str("messaging_product")
	switch {
	case err != nil:
	case !ok:
		err = waerr.New(waerr.MissingParam, "Missing mandatory parameter 'messaging_product'")
	case mp != "whatsapp":
		err = waerr.New(waerr.InvalidParam, "Parameter 'messaging_product' has invalid value '%s'; the only supported value is 'whatsapp'", mp)
	}
	if err == nil {
		var st string
		st, _, err = str("status")
		if err == nil && st != "read" {
			err = waerr.New(waerr.InvalidParam, "Parameter 'status' has invalid value '%s'; the only value is 'read'", st)
		}
	}
	var mid string
	if err == nil {
		mid, ok, err = str("message_id")
		if err == nil && !ok {
			err = waerr.New(waerr.MissingParam, "Missing mandatory parameter 'message_id'")
		}
	}
	if raw, has := f["typing_indicator"]; err == nil && has {
		var ti struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(raw, &ti) != nil || ti.Type != "text" {
			err = waerr.New(waerr.InvalidParam, "Parameter 'typing_indicator' must be {\"type\":\"text\"}")
		}
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// Only inbound messages can be marked read; anything else is 131009 naming the id.
	notOurs := waerr.New(waerr.InvalidParam, "Parameter 'message_id' has invalid value '%s': no inbound message has this id", mid)
	id, inbound, ok := wa.ParseCloudID(mid)
	if !ok || !inbound {
		h.writeError(w, r, notOurs)
		return
	}
	if err := h.eng.MarkRead(r.Context(), id); err != nil {
		if e, ok := waerr.As(err); ok && e.Cond == waerr.NotFound {
			err = notOurs
		}
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func sortedKeys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// fields parses Graph's `fields=a,b` (nested selections are not served). Unknown names are 100
// "Tried accessing nonexisting field" as on Graph (cloud-api.md §3b). id is always returned.
func fields(r *http.Request, node string, all map[string]any, defaults []string) (map[string]any, error) {
	asked := defaults
	if v := r.URL.Query().Get("fields"); v != "" {
		asked = strings.Split(v, ",")
	}
	out := map[string]any{"id": all["id"]}
	for _, f := range asked {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, ok := all[f]
		if !ok {
			return nil, waerr.New(waerr.UnexpectedParam, "Tried accessing nonexisting field (%s) on node type (%s)", f, node)
		}
		out[f] = v
	}
	return out, nil
}

// verifiedName is the display name of the simulated number.
const verifiedName = "waba sandbox"

// phoneNumber: GET /{phone-number-id} (cloud-api.md §3b). display_phone_number is given as
// "+<digits>". webhook_configuration is not served: Cloud webhooks are not in this slice.
func (h *Handler) phoneNumber(w http.ResponseWriter, r *http.Request) {
	all := map[string]any{
		"id":                       h.phoneID,
		"verified_name":            verifiedName,
		"code_verification_status": "VERIFIED",
		"display_phone_number":     "+" + h.eng.Business(),
		"quality_rating":           "GREEN",
		"platform_type":            "CLOUD_API",
		"throughput":               map[string]string{"level": "STANDARD"},
	}
	out, err := fields(r, "WhatsAppBusinessPhoneNumber", all,
		[]string{"verified_name", "code_verification_status", "display_phone_number", "quality_rating", "platform_type", "throughput"})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// waba: GET /{waba-id}[?fields=…] (cloud-api.md §3b), message_template_namespace being the
// engine's On-Prem namespace.
func (h *Handler) waba(w http.ResponseWriter, r *http.Request) {
	ns, err := h.eng.Namespace(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	all := map[string]any{
		"id":                         h.wabaID,
		"name":                       verifiedName,
		"timezone_id":                "1",
		"message_template_namespace": ns,
		"currency":                   "USD",
		"account_review_status":      "APPROVED",
	}
	out, err := fields(r, "WhatsAppBusinessAccount", all, []string{"name", "timezone_id", "message_template_namespace"})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"(#1) API Unknown","type":"OAuthException","code":1,"error_data":{"messaging_product":"whatsapp","details":"encode response"},"fbtrace_id":"waba"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// newTraceID is an fbtrace_id: 23 URL-safe characters like Meta's "Az8or2yhqkZfEZ-_4Qn_Bam".
func newTraceID() string {
	var b [18]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])[:23]
}
