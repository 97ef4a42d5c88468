// Package cloud is the Cloud API (Graph) dialect: routes under `/{version}/…` and unversioned,
// bearer authentication, request decoding and the `{"error":{…}}` envelope
// (shared/reference/cloud-api.md §1–§4, §3b; shared/reference/errors.md §1.2). It translates
// only; the rules live in package engine.
//
// Routes: `POST /{phone-number-id}/messages` (send, mark read, typing indicator) from any
// business number of the engine's Registry, `GET|POST /{phone-number-id}` (the number and its
// webhook override), `GET /{waba-id}`, `GET /{waba-id}/phone_numbers` and
// `GET|POST|DELETE /{waba-id}/subscribed_apps` (account.go); the send-rate limits are in
// limits.go; media upload, URL, download and delete (media.go); template management
// (templates.go). Access tokens carry permissions (Require) and may expire on the virtual clock.
package cloud

import (
	"context"
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
	"time"

	"github.com/openwaba/waba/internal/dialect/onprem"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/media"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// Options are the handler's dependencies.
type Options struct {
	Engine  *engine.Engine
	Logger  *slog.Logger
	MaxBody int64
	// PhoneNumberID and WABAID are the default number's ids. Routes resolve every id through
	// the engine's Registry; these only name the default in error details.
	PhoneNumberID string
	WABAID        string
	// AccessToken is the configured (or generated) token: both permissions, never expires.
	// Tokens made through the sandbox are looked up in the engine (Engine.CloudToken).
	AccessToken string
	// Now is the virtual clock for the send-rate limits; nil means time.Now.
	Now func() time.Time
	// Outage reports a simulated API outage (the sandbox's POST /sandbox/v1/outage): every
	// Graph call then answers 503 with code 2; nil means never.
	Outage func() bool
	// Client sends the hub.challenge verification GET of subscribed_apps and number overrides;
	// nil means http.DefaultClient.
	Client *http.Client
}

// Handler serves the Graph paths.
type Handler struct {
	eng       *engine.Engine
	log       *slog.Logger
	maxBody   int64
	phoneID   string
	wabaID    string
	tokenHash [32]byte
	now       func() time.Time
	outage    func() bool
	client    *http.Client
	limits    *limiter
	media     *media.Service // Cloud media routes (media.go); nil: not served
}

// New builds the Cloud handler.
func New(o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Handler{eng: o.Engine, log: o.Logger.With("component", "cloud"), maxBody: o.MaxBody,
		phoneID: o.PhoneNumberID, wabaID: o.WABAID, tokenHash: sha256.Sum256([]byte(o.AccessToken)),
		now: o.Now, outage: o.Outage, client: o.Client, limits: newLimiter()}
}

// version is a Graph API version segment: `v24.0`, `v20.0`… (cloud-api.md §1: any is accepted).
var version = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,2}$`)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Auth comes before routing: Graph answers 104/190 whatever the path (cloud-api.md §1).
	tok, err := h.authenticate(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok))
	if h.outage != nil && h.outage() {
		// errors.md §5 row 10: every Graph call answers 2 / 503 during the window.
		h.writeError(w, r, waerr.New(waerr.Overloaded, "The API is temporarily unavailable for maintenance; retry in a few minutes"))
		return
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) > 0 && version.MatchString(segs[0]) {
		segs = segs[1:] // unversioned paths work too (cloud-api.md §1)
	}
	if len(segs) == 0 {
		segs = []string{""}
	}
	reg, err := h.eng.Registry(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var (
		num, isNum   = reg.NumberByID(segs[0])
		acct, isWABA = reg.WABA(segs[0])
	)
	if segs[0] == "" {
		isNum, isWABA = false, false
	}
	route := func(perm string, methods map[string]func()) {
		fn, ok := methods[r.Method]
		if !ok {
			h.unsupported(w, r)
			return
		}
		if err := Require(r.Context(), perm); err != nil {
			h.writeError(w, r, err)
			return
		}
		fn()
	}
	switch {
	case len(segs) == 2 && segs[1] == "messages" && isNum:
		route(engine.PermMessaging, map[string]func(){
			http.MethodPost: func() { h.messages(w, r, num) }})
	case len(segs) == 1 && isNum:
		route(engine.PermManagement, map[string]func(){
			http.MethodGet:  func() { h.phoneNumber(w, r, reg, num) },
			http.MethodPost: func() { h.setNumberWebhook(w, r, num) }})
	case len(segs) == 1 && isWABA:
		route(engine.PermManagement, map[string]func(){
			http.MethodGet: func() { h.waba(w, r, acct) }})
	case len(segs) == 2 && segs[1] == "phone_numbers" && isWABA:
		route(engine.PermManagement, map[string]func(){
			http.MethodGet: func() { h.phoneNumbers(w, r, reg, acct) }})
	case len(segs) == 2 && segs[1] == "subscribed_apps" && isWABA:
		route(engine.PermManagement, map[string]func(){
			http.MethodGet:    func() { h.subscribedApps(w, r, reg, acct) },
			http.MethodPost:   func() { h.subscribe(w, r, acct) },
			http.MethodDelete: func() { h.unsubscribe(w, r, acct) }})
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

// numberByID resolves a phone-number id through the registry (media and template routes use
// it for `/{phone-number-id}/…` paths); ok is false for an id that names no number.
func (h *Handler) numberByID(ctx context.Context, id string) (n engine.Number, ok bool, err error) {
	reg, err := h.eng.Registry(ctx)
	if err != nil {
		return engine.Number{}, false, err
	}
	n, ok = reg.NumberByID(id)
	return n, ok, nil
}

// wabaByID resolves a WABA id through the registry.
func (h *Handler) wabaByID(ctx context.Context, id string) (a engine.WABA, ok bool, err error) {
	reg, err := h.eng.Registry(ctx)
	if err != nil {
		return engine.WABA{}, false, err
	}
	a, ok = reg.WABA(id)
	return a, ok, nil
}

// origin is the scheme and host the client used, for the absolute URLs Graph answers with
// (paging.next, media URLs: cloud-api.md §3b, §5).
func origin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// unsupported is Graph's "Unsupported <method> request" (code 100).
func (h *Handler) unsupported(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, r, waerr.New(waerr.InvalidRequest, "Unsupported %s request on %s: waba serves POST /{phone-number-id}/messages, GET and POST /{phone-number-id}, GET /{waba-id}, GET /{waba-id}/phone_numbers, GET, POST and DELETE /{waba-id}/subscribed_apps, POST /{phone-number-id}/media, GET and DELETE /{media-id}, GET, POST and DELETE /{waba-id}/message_templates and GET and POST /{template-id}", strings.ToLower(r.Method), r.URL.Path))
}

// errInvalidToken is the 190 answer; its message is free text (errors.md §2.1).
var errInvalidToken = waerr.New(waerr.AuthInvalid, "Invalid OAuth access token - Cannot parse access token")

// tokenKey is the context key of the request's engine.CloudToken.
type tokenKey struct{}

// Require answers nil when the request's token (ServeHTTP put it in ctx) carries perm, else
// the Graph permission error. Which code: errors.md §2.1 lists 10 "Permission Denied" and the
// 200–299 "API Permission" family, both HTTP 403, without saying which call gets which. Graph
// answers a send without whatsapp_business_messaging with "(#10) Application does not have
// permission for this action" and a management read without whatsapp_business_management with
// "(#200) …permission", so: messaging → 10, management → 200.
func Require(ctx context.Context, perm string) error {
	tok, _ := ctx.Value(tokenKey{}).(engine.CloudToken)
	if tok.Has(perm) {
		return nil
	}
	if perm == engine.PermMessaging {
		return waerr.New(waerr.Forbidden, "Application does not have permission for this action: the access token lacks the %s permission", perm)
	}
	return waerr.New(waerr.APIPermission, "The access token lacks the %s permission this call requires", perm)
}

// authenticate checks `Authorization: Bearer <token>` or `?access_token=` (cloud-api.md §1):
// the configured token (compared in constant time) carries every permission and never
// expires; any other token is looked up among those made through the sandbox.
func (h *Handler) authenticate(r *http.Request) (engine.CloudToken, error) {
	tok := r.URL.Query().Get("access_token")
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, t, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(t) == "" {
			return engine.CloudToken{}, errInvalidToken
		}
		tok = strings.TrimSpace(t)
	}
	if tok == "" {
		return engine.CloudToken{}, waerr.New(waerr.AuthMissing, "Send the access token as 'Authorization: Bearer <token>'")
	}
	got := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) == 1 {
		return engine.CloudToken{ID: "configured", Permissions: engine.AllPermissions}, nil
	}
	return h.eng.CloudToken(r.Context(), tok)
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

// messages: POST /{phone-number-id}/messages sends a message (§2) from number n or marks one
// read (§3). Every call counts against the number's throughput (§8: "inbound and outbound of
// every type count"); sends also count against the pair rate of their recipient.
func (h *Handler) messages(w http.ResponseWriter, r *http.Request, n engine.Number) {
	now := h.now()
	if !h.limits.allowNumber(n.Phone, n.Throughput, now) {
		tp := n.Throughput
		if tp == 0 {
			tp = engine.DefaultThroughput
		}
		h.writeError(w, r, waerr.New(waerr.ThroughputLimit, "Cloud API message throughput has been reached: +%s sends at most %d messages per second", n.Phone, tp))
		return
	}
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
	waID, counted := wa.NormalizePhone(m.To)
	if counted && !h.limits.allowPair(n.Phone, waID, now) {
		h.writeError(w, r, waerr.New(waerr.PairRateLimit, "Too many messages from +%s to %s: about 1 message every 6 seconds to the same user, bursts of up to 45; retry after 4^X seconds (X = 0, 1, 2, …)", n.Phone, waID))
		return
	}
	acc, err := h.eng.SendFrom(r.Context(), n.Phone, m, wa.Cloud)
	if err != nil {
		if counted {
			h.limits.refundPair(n.Phone, waID)
		}
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
