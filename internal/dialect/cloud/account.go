package cloud

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/waerr"
	"github.com/openwaba/waba/internal/webhook"
)

// The account routes of cloud-api.md §3b: the number node and its webhook override, the WABA
// node, a WABA's numbers and its app subscription.

// verifiedName is the display name of a number that has none, and of every WABA.
const verifiedName = "waba sandbox"

// maxCallbackURI is subscribed_apps' limit on override_callback_uri (cloud-api.md §3b).
const maxCallbackURI = 200

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

// numberNode is a WhatsAppBusinessPhoneNumber with every field waba serves.
// display_phone_number is given as "+<digits>".
//
//	{ "verified_name": "Jasper's Market", "code_verification_status": "VERIFIED",
//	  "display_phone_number": "+1 631-555-5555", "quality_rating": "GREEN",
//	  "platform_type": "CLOUD_API", "throughput": { "level": "STANDARD" },
//	  "webhook_configuration": { "application": "https://…" }, "id": "106540352242922" }
func numberNode(reg engine.Registry, n engine.Number) map[string]any {
	name := n.VerifiedName
	if name == "" {
		name = verifiedName
	}
	level := "STANDARD"
	if n.Throughput > engine.DefaultThroughput {
		level = "HIGH"
	}
	// webhook_configuration: the number's override, its WABA's, and the app's callback
	// (cloud-api.md §3b, "read back with ?fields=webhook_configuration").
	wc := map[string]string{"application": reg.App.CallbackURL}
	if n.CallbackURL != "" {
		wc["phone_number"] = n.CallbackURL
	}
	if a, ok := reg.WABA(n.WABAID); ok && a.CallbackURL != "" {
		wc["whatsapp_business_account"] = a.CallbackURL
	}
	return map[string]any{
		"id":                       n.PhoneNumberID,
		"verified_name":            name,
		"code_verification_status": "VERIFIED",
		"display_phone_number":     "+" + n.Phone,
		"quality_rating":           "GREEN",
		"platform_type":            "CLOUD_API",
		"throughput":               map[string]string{"level": level},
		"webhook_configuration":    wc,
	}
}

var numberDefaults = []string{"verified_name", "code_verification_status", "display_phone_number", "quality_rating", "platform_type", "throughput"}

// phoneNumber: GET /{phone-number-id}[?fields=…] (cloud-api.md §3b). Without fields= the
// answer has webhook_configuration{application} only, as Graph's default; asked for, it has
// every level that is set.
func (h *Handler) phoneNumber(w http.ResponseWriter, r *http.Request, reg engine.Registry, n engine.Number) {
	all := numberNode(reg, n)
	out, err := fields(r, "WhatsAppBusinessPhoneNumber", all, append(slices.Clone(numberDefaults), "webhook_configuration"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if r.URL.Query().Get("fields") == "" {
		out["webhook_configuration"] = map[string]string{"application": reg.App.CallbackURL}
	}
	writeJSON(w, http.StatusOK, out)
}

// waba: GET /{waba-id}[?fields=…] (cloud-api.md §3b), message_template_namespace being the
// engine's On-Prem namespace.
func (h *Handler) waba(w http.ResponseWriter, r *http.Request, a engine.WABA) {
	ns, err := h.eng.Namespace(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	all := map[string]any{
		"id":                         a.ID,
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

// phoneNumbers: GET /{waba-id}/phone_numbers[?limit=&after=&before=&fields=] (cloud-api.md §3b):
//
//	{ "data": [ { "verified_name", "code_verification_status", "display_phone_number",
//	              "quality_rating", "platform_type", "throughput": { "level" }, "id" } ],
//	  "paging": { "cursors": { "before": "…", "after": "…" } } }
//
// Cursors are the base64 of the first and last phone-number id of the page; paging.next is
// there only when a further page exists.
func (h *Handler) phoneNumbers(w http.ResponseWriter, r *http.Request, reg engine.Registry, a engine.WABA) {
	var nums []engine.Number
	for _, n := range reg.Numbers {
		if n.WABAID == a.ID {
			nums = append(nums, n)
		}
	}
	q := r.URL.Query()
	limit := 25
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			h.writeError(w, r, waerr.New(waerr.InvalidRequest, "Parameter 'limit' must be a positive integer, got '%s'", v))
			return
		}
		limit = n
	}
	cursor := func(name string) (int, bool) {
		v := q.Get(name)
		if v == "" {
			return 0, false
		}
		id, _ := base64.RawURLEncoding.DecodeString(v)
		return slices.IndexFunc(nums, func(n engine.Number) bool { return n.PhoneNumberID == string(id) }), true
	}
	from, to := 0, len(nums)
	if i, ok := cursor("after"); ok {
		from = i + 1 // an unknown cursor (-1) starts at the beginning
	}
	if i, ok := cursor("before"); ok && i >= 0 {
		to = i
		from = max(0, to-limit)
	}
	to = min(to, from+limit)
	page := nums[from:to]
	data := make([]map[string]any, 0, len(page))
	for _, n := range page {
		node, err := fields(r, "WhatsAppBusinessPhoneNumber", numberNode(reg, n), numberDefaults)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		data = append(data, node)
	}
	out := map[string]any{"data": data}
	if len(page) > 0 {
		enc := func(n engine.Number) string { return base64.RawURLEncoding.EncodeToString([]byte(n.PhoneNumberID)) }
		paging := map[string]any{"cursors": map[string]string{"before": enc(page[0]), "after": enc(page[len(page)-1])}}
		if to < len(nums) {
			nq := url.Values{}
			for k, v := range q {
				if k != "access_token" && k != "before" {
					nq[k] = v
				}
			}
			nq.Set("after", enc(page[len(page)-1]))
			paging["next"] = origin(r) + r.URL.Path + "?" + nq.Encode()
		}
		out["paging"] = paging
	}
	writeJSON(w, http.StatusOK, out)
}

// params collects a POST's parameters from the query string and the body, JSON or form
// (cloud-api.md §3b: "POST parameters may come in the query string as well as the body"); the
// body wins. JSON values that are not strings stay JSON text.
func (h *Handler) params(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return nil, err
	}
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0:
	case body[0] == '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, waerr.New(waerr.InvalidRequest, "The request body is not a valid JSON object: %v", err)
		}
		for k, raw := range m {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				out[k] = s
			} else {
				out[k] = string(raw)
			}
		}
	default:
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, waerr.New(waerr.InvalidRequest, "The request body is neither JSON nor form-encoded: %v", err)
		}
		for k, v := range vals {
			if len(v) > 0 {
				out[k] = v[0]
			}
		}
	}
	delete(out, "access_token")
	return out, nil
}

// verifyCallback checks a new override and performs Meta's hub.challenge GET on it before the
// override is stored (cloud-api.md §3b, §7.1).
//
// Which error for a failed handshake: Graph's webhook subscription API is known to answer 2200
// "Callback verification failed", but neither shared/reference file nor the catalogue lists it,
// so waba answers 100 "Invalid parameter" (the code of every other bad parameter of these
// calls) with details quoting what the receiver did.
func (h *Handler) verifyCallback(r *http.Request, uri, verifyToken string) error {
	if len(uri) > maxCallbackURI {
		return waerr.New(waerr.InvalidRequest, "Parameter 'override_callback_uri' is %d characters long; at most %d are allowed", len(uri), maxCallbackURI)
	}
	if u, err := url.Parse(uri); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return waerr.New(waerr.InvalidRequest, "Parameter 'override_callback_uri' must be an absolute https URL, got '%s'", uri)
	}
	if verifyToken == "" {
		return waerr.New(waerr.InvalidRequest, "Parameter 'verify_token' is required with 'override_callback_uri'")
	}
	if err := webhook.Handshake(r.Context(), h.client, uri, verifyToken); err != nil {
		return waerr.New(waerr.InvalidRequest, "Callback verification failed: %v", err)
	}
	return nil
}

// setNumberWebhook: POST /{phone-number-id}
// {"webhook_configuration":{"override_callback_uri":"https://…","verify_token":"…"}} →
// {"success":true} once the new URL answered the handshake. An empty override_callback_uri
// removes the number's override.
func (h *Handler) setNumberWebhook(w http.ResponseWriter, r *http.Request, n engine.Number) {
	p, err := h.params(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	raw, ok := p["webhook_configuration"]
	var wc struct {
		OverrideCallbackURI *string `json:"override_callback_uri"`
		VerifyToken         string  `json:"verify_token"`
	}
	if !ok {
		h.writeError(w, r, waerr.New(waerr.InvalidRequest, `Parameter 'webhook_configuration' is required: {"webhook_configuration":{"override_callback_uri":"https://…","verify_token":"…"}}`))
		return
	}
	if err := json.Unmarshal([]byte(raw), &wc); err != nil || wc.OverrideCallbackURI == nil {
		h.writeError(w, r, waerr.New(waerr.InvalidRequest, `Parameter 'webhook_configuration' must be an object with 'override_callback_uri' and 'verify_token'`))
		return
	}
	uri := *wc.OverrideCallbackURI
	if uri != "" {
		if err := h.verifyCallback(r, uri, wc.VerifyToken); err != nil {
			h.writeError(w, r, err)
			return
		}
	} else {
		wc.VerifyToken = ""
	}
	_, err = h.eng.UpdateRegistry(r.Context(), func(reg *engine.Registry) error {
		i := slices.IndexFunc(reg.Numbers, func(x engine.Number) bool { return x.PhoneNumberID == n.PhoneNumberID })
		if i < 0 {
			return waerr.New(waerr.PhoneNumberDeleted, "Object with ID '%s' does not exist: it was removed meanwhile", n.PhoneNumberID)
		}
		reg.Numbers[i].CallbackURL, reg.Numbers[i].VerifyToken = uri, wc.VerifyToken
		return nil
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// wabaEntry returns the registry's entry for id, adding it when only numbers pointed at it.
func wabaEntry(reg *engine.Registry, id string) *engine.WABA {
	i := slices.IndexFunc(reg.WABAs, func(a engine.WABA) bool { return a.ID == id })
	if i < 0 {
		reg.WABAs = append(reg.WABAs, engine.WABA{ID: id})
		i = len(reg.WABAs) - 1
	}
	return &reg.WABAs[i]
}

// subscribedApps: GET /{waba-id}/subscribed_apps (cloud-api.md §3b):
//
//	{ "data": [ { "whatsapp_business_api_data": { "id": "…", "name": "…", "link": "…" },
//	              "override_callback_uri": "https://…" } ] }
func (h *Handler) subscribedApps(w http.ResponseWriter, r *http.Request, reg engine.Registry, a engine.WABA) {
	data := []map[string]any{}
	if a.Subscribed {
		app := map[string]any{"whatsapp_business_api_data": map[string]string{
			"id":   reg.App.ID,
			"name": verifiedName,
			"link": "https://www.facebook.com/games/?app_id=" + reg.App.ID,
		}}
		if a.CallbackURL != "" {
			app["override_callback_uri"] = a.CallbackURL
		}
		data = append(data, app)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

// subscribe: POST /{waba-id}/subscribed_apps [override_callback_uri, verify_token] (form, JSON
// or query) subscribes the app; with an override the handshake runs first, and a POST without
// one clears the override.
func (h *Handler) subscribe(w http.ResponseWriter, r *http.Request, a engine.WABA) {
	p, err := h.params(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	uri, vt := p["override_callback_uri"], p["verify_token"]
	if uri != "" {
		if err := h.verifyCallback(r, uri, vt); err != nil {
			h.writeError(w, r, err)
			return
		}
	} else {
		vt = ""
	}
	_, err = h.eng.UpdateRegistry(r.Context(), func(reg *engine.Registry) error {
		e := wabaEntry(reg, a.ID)
		e.Subscribed, e.CallbackURL, e.VerifyToken = true, uri, vt
		return nil
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// unsubscribe: DELETE /{waba-id}/subscribed_apps → {"success":true}; the override goes too.
func (h *Handler) unsubscribe(w http.ResponseWriter, r *http.Request, a engine.WABA) {
	_, err := h.eng.UpdateRegistry(r.Context(), func(reg *engine.Registry) error {
		e := wabaEntry(reg, a.ID)
		e.Subscribed, e.CallbackURL, e.VerifyToken = false, "", ""
		return nil
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}
