package cloud

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/waerr"
)

// Template management (shared/reference/cloud-api.md §6):
//
//	GET    /{waba-id}/message_templates[?name=&status=&limit=&after=&fields=]
//	POST   /{waba-id}/message_templates  {"name","category","language","parameter_format","components":[…]}
//	DELETE /{waba-id}/message_templates?name=<n>[&hsm_id=<id>]
//	GET    /{template-id}[?fields=]
//	POST   /{template-id}                {"category"} and/or {"components":[…]}
//
// Letter case: category, parameter_format and component types are accepted in any case and
// answered in upper case (§3b). parameter_format POSITIONAL (the default) writes variables
// {{1}} … {{n}}; NAMED writes {{order_id}} and gives every variable an example in
// example.body_text_named_params / header_text_named_params: [{"param_name","example"}] (§6).
// Mixing the two (a {{1}} in a NAMED template, body_text examples for it, or the reverse) is
// 100 with details, like every other definition problem.

// mgmtError gives a management-route validation error Graph's generic code 100 "Invalid
// parameter": the message-send codes (131008, 131009) belong to the messages route, and Graph's
// management endpoints answer 100 with the reason in the details.
func mgmtError(err error) error {
	if e, ok := waerr.As(err); ok {
		switch e.Cond {
		case waerr.InvalidParam, waerr.MissingParam, waerr.UnexpectedParam:
			return waerr.New(waerr.InvalidRequest, "%s", e.Details)
		}
	}
	return err
}

// serveTemplates answers the template routes when segs names one and reports whether it did.
func (h *Handler) serveTemplates(w http.ResponseWriter, r *http.Request, segs []string) bool {
	switch {
	case len(segs) == 2 && segs[1] == "message_templates":
		reg, err := h.eng.Registry(r.Context())
		if err != nil {
			h.writeError(w, r, err)
			return true
		}
		if _, ok := reg.WABA(segs[0]); !ok {
			return false
		}
		if err := Require(r.Context(), engine.PermManagement); err != nil {
			h.writeError(w, r, err)
			return true
		}
		switch r.Method {
		case http.MethodGet:
			h.listTemplates(w, r)
		case http.MethodPost:
			h.createTemplate(w, r)
		case http.MethodDelete:
			h.deleteTemplates(w, r)
		default:
			h.unsupported(w, r)
		}
		return true
	case len(segs) == 1 && segs[0] != "" && strings.Trim(segs[0], "0123456789") == "":
		t, err := h.eng.TemplateByID(r.Context(), segs[0])
		if errors.Is(err, store.ErrNotFound) {
			return false
		}
		if err != nil {
			h.writeError(w, r, err)
			return true
		}
		if err := Require(r.Context(), engine.PermManagement); err != nil {
			h.writeError(w, r, err)
			return true
		}
		switch r.Method {
		case http.MethodGet:
			out, err := templateNode(r, graphTemplate(t))
			if err != nil {
				h.writeError(w, r, err)
				return true
			}
			writeJSON(w, http.StatusOK, out)
		case http.MethodPost:
			h.editTemplate(w, r, t)
		default:
			h.unsupported(w, r)
		}
		return true
	}
	return false
}

// graphComponent is a component as Graph writes and reads it.
type graphComponent struct {
	Type    string          `json:"type"`
	Format  string          `json:"format,omitempty"`
	Text    string          `json:"text,omitempty"`
	Buttons []graphButton   `json:"buttons,omitempty"`
	Example json.RawMessage `json:"example,omitempty"`
}

// graphExample is a component's `example` (cloud-api.md §6). Positional templates give
// body_text [[…]] / header_text […] (accepted and not kept), named ones the *_named_params
// lists (kept: GET answers them). Other keys, such as a media header's header_handle, are
// accepted and not kept.
type graphExample struct {
	BodyText        json.RawMessage       `json:"body_text,omitempty"`
	HeaderText      json.RawMessage       `json:"header_text,omitempty"`
	BodyTextNamed   []engine.NamedExample `json:"body_text_named_params,omitempty"`
	HeaderTextNamed []engine.NamedExample `json:"header_text_named_params,omitempty"`
}

type graphButton struct {
	Type        string          `json:"type"`
	Text        string          `json:"text,omitempty"`
	URL         string          `json:"url,omitempty"`
	PhoneNumber string          `json:"phone_number,omitempty"`
	Example     json.RawMessage `json:"example,omitempty"`
}

// graphTemplate is a template in the shape of GET …/message_templates (§6).
func graphTemplate(t engine.Template) map[string]any {
	var comps []graphComponent
	c := t.Components
	example := func(key string, xs []engine.NamedExample) json.RawMessage {
		if len(xs) == 0 {
			return nil
		}
		b, _ := json.Marshal(map[string][]engine.NamedExample{key: xs})
		return b
	}
	if c.Header != nil {
		comps = append(comps, graphComponent{Type: "HEADER", Format: c.Header.Format, Text: c.Header.Text,
			Example: example("header_text_named_params", c.HeaderExamples)})
	}
	comps = append(comps, graphComponent{Type: "BODY", Text: c.Body, Example: example("body_text_named_params", c.BodyExamples)})
	if c.Footer != "" {
		comps = append(comps, graphComponent{Type: "FOOTER", Text: c.Footer})
	}
	if len(c.Buttons) > 0 {
		bs := make([]graphButton, len(c.Buttons))
		for i, b := range c.Buttons {
			bs[i] = graphButton{Type: b.Type, Text: b.Text, URL: b.URL, PhoneNumber: b.PhoneNumber}
		}
		comps = append(comps, graphComponent{Type: "BUTTONS", Buttons: bs})
	}
	out := map[string]any{
		"id":               engine.TemplateID(t.Name, t.Language),
		"name":             t.Name,
		"language":         t.Language,
		"status":           t.Status,
		"category":         t.Category,
		"parameter_format": cmp.Or(t.ParameterFormat, engine.FormatPositional),
		"components":       comps,
	}
	if t.Status == engine.StatusRejected {
		out["rejected_reason"] = t.Reason
	}
	return out
}

// templateNode applies Graph's `fields=` to a template (cloud-api.md §3b: id always, an unknown
// field is 100); without it every field is answered, rejected_reason only when rejected.
func templateNode(r *http.Request, t map[string]any) (map[string]any, error) {
	defaults := []string{"name", "parameter_format", "components", "language", "status", "category"}
	if _, ok := t["rejected_reason"]; ok {
		defaults = append(defaults, "rejected_reason")
	}
	return fields(r, "WhatsAppBusinessHSM", t, defaults)
}

// components turns Graph components into the engine's definition; format is the template's
// parameter format (POSITIONAL or NAMED), which decides which examples belong.
func components(in []graphComponent, format string) (engine.TemplateComponents, error) {
	var c engine.TemplateComponents
	seen := map[string]bool{}
	for i, g := range in {
		typ := strings.ToUpper(g.Type)
		if seen[typ] {
			return c, waerr.New(waerr.InvalidParam, "components[%d]: a template has at most one %s component", i, typ)
		}
		seen[typ] = true
		var ex graphExample
		if len(g.Example) > 0 && (typ == "HEADER" || typ == "BODY") {
			if err := json.Unmarshal(g.Example, &ex); err != nil {
				return c, waerr.New(waerr.InvalidParam, "components[%d].example is not valid: give an object with body_text [[…]] (POSITIONAL) or body_text_named_params [{\"param_name\":\"…\",\"example\":\"…\"}] (NAMED), both lists of strings", i)
			}
		}
		named, positional := "body_text_named_params", "body_text"
		hasNamed, hasPositional := ex.BodyTextNamed != nil, ex.BodyText != nil
		if typ == "HEADER" {
			named, positional = "header_text_named_params", "header_text"
			hasNamed, hasPositional = ex.HeaderTextNamed != nil, ex.HeaderText != nil
		}
		switch {
		case format == engine.FormatNamed && hasPositional:
			return c, waerr.New(waerr.InvalidParam, "components[%d].example.%s mixes positional and named parameters: the template's parameter_format is NAMED; give %s: [{\"param_name\",\"example\"}]", i, positional, named)
		case format != engine.FormatNamed && hasNamed:
			return c, waerr.New(waerr.InvalidParam, "components[%d].example.%s mixes positional and named parameters: the template's parameter_format is POSITIONAL; set parameter_format NAMED or give %s", i, named, positional)
		}
		switch typ {
		case "HEADER":
			c.Header = &engine.TemplateHeader{Format: strings.ToUpper(g.Format), Text: g.Text}
			c.HeaderExamples = ex.HeaderTextNamed
		case "BODY":
			c.Body = g.Text
			c.BodyExamples = ex.BodyTextNamed
		case "FOOTER":
			c.Footer = g.Text
		case "BUTTONS":
			for _, b := range g.Buttons {
				c.Buttons = append(c.Buttons, engine.TemplateButton{Type: strings.ToUpper(b.Type), Text: b.Text, URL: b.URL, PhoneNumber: b.PhoneNumber})
			}
		default:
			return c, waerr.New(waerr.InvalidParam, "components[%d].type has invalid value '%s'; use HEADER, BODY, FOOTER or BUTTONS", i, g.Type)
		}
	}
	if !seen["BODY"] {
		return c, waerr.New(waerr.MissingParam, "A template needs a BODY component")
	}
	return c, nil
}

type templateRequest struct {
	Name            string           `json:"name"`
	Category        string           `json:"category"`
	Language        string           `json:"language"`
	ParameterFormat string           `json:"parameter_format"`
	Components      []graphComponent `json:"components"`
	// AllowCategoryChange is accepted and ignored: the sandbox never recategorises.
	AllowCategoryChange *bool `json:"allow_category_change,omitempty"`
}

func (h *Handler) decodeTemplate(w http.ResponseWriter, r *http.Request) (templateRequest, bool) {
	var req templateRequest
	body, err := h.readBody(w, r)
	if err != nil {
		h.writeError(w, r, mgmtError(err))
		return req, false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		h.writeError(w, r, waerr.New(waerr.InvalidRequest, "The template request is not valid JSON of the expected shape: %v", err))
		return req, false
	}
	if pf := strings.ToUpper(req.ParameterFormat); pf != "" && pf != engine.FormatPositional && pf != engine.FormatNamed {
		h.writeError(w, r, waerr.New(waerr.InvalidRequest, "parameter_format '%s' is not valid; use NAMED ({{order_id}}) or POSITIONAL ({{1}} … {{n}}, the default)", req.ParameterFormat))
		return req, false
	}
	req.ParameterFormat = strings.ToUpper(req.ParameterFormat)
	return req, true
}

func (h *Handler) createTemplate(w http.ResponseWriter, r *http.Request) {
	req, ok := h.decodeTemplate(w, r)
	if !ok {
		return
	}
	for _, f := range []struct{ name, v string }{{"name", req.Name}, {"category", req.Category}, {"language", req.Language}} {
		if f.v == "" {
			h.writeError(w, r, waerr.New(waerr.InvalidRequest, "Missing mandatory parameter '%s'", f.name))
			return
		}
	}
	format := cmp.Or(req.ParameterFormat, engine.FormatPositional)
	comps, err := components(req.Components, format)
	if err != nil {
		h.writeError(w, r, mgmtError(err))
		return
	}
	t, err := h.eng.CreateTemplate(r.Context(), engine.Template{Name: req.Name, Language: req.Language,
		Category: strings.ToUpper(req.Category), ParameterFormat: format, Components: comps})
	if err != nil {
		h.writeError(w, r, mgmtError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": engine.TemplateID(t.Name, t.Language), "status": t.Status, "category": t.Category})
}

func (h *Handler) editTemplate(w http.ResponseWriter, r *http.Request, t engine.Template) {
	id := engine.TemplateID(t.Name, t.Language)
	req, ok := h.decodeTemplate(w, r)
	if !ok {
		return
	}
	if req.Name != "" || req.Language != "" {
		h.writeError(w, r, waerr.New(waerr.InvalidRequest, "A template's name and language cannot be edited; send category and/or components"))
		return
	}
	var comps *engine.TemplateComponents
	if req.Components != nil {
		c, err := components(req.Components, cmp.Or(req.ParameterFormat, t.ParameterFormat, engine.FormatPositional))
		if err != nil {
			h.writeError(w, r, mgmtError(err))
			return
		}
		comps = &c
	}
	if err := h.eng.EditTemplate(r.Context(), id, req.Category, req.ParameterFormat, comps); err != nil {
		h.writeError(w, r, mgmtError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (h *Handler) deleteTemplates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name, id := q.Get("name"), q.Get("hsm_id")
	if name == "" {
		h.writeError(w, r, waerr.New(waerr.InvalidRequest, "Missing mandatory parameter 'name'"))
		return
	}
	n, err := h.eng.DeleteTemplates(r.Context(), name, id)
	if err != nil {
		h.writeError(w, r, mgmtError(err))
		return
	}
	if n == 0 {
		h.writeError(w, r, waerr.New(waerr.InvalidRequest, "Message template '%s' not found", name))
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// listTemplates pages through the registry: limit (default 25, at most 1000), after/before
// cursors that are base64 offsets, filters name (substring, as Graph's name filter) and status.
func (h *Handler) listTemplates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	all, err := h.eng.Templates(r.Context())
	if err != nil {
		h.writeError(w, r, mgmtError(err))
		return
	}
	var list []map[string]any
	for _, t := range all {
		if n := q.Get("name"); n != "" && !strings.Contains(t.Name, n) {
			continue
		}
		if s := q.Get("status"); s != "" && !strings.EqualFold(s, t.Status) {
			continue
		}
		if c := q.Get("category"); c != "" && !strings.EqualFold(c, t.Category) {
			continue
		}
		if l := q.Get("language"); l != "" && l != t.Language {
			continue
		}
		list = append(list, graphTemplate(t))
	}
	limit := 25
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			h.writeError(w, r, waerr.New(waerr.InvalidRequest, "Parameter 'limit' must be a whole number from 1 to 1000"))
			return
		}
		limit = n
	}
	start := 0
	if c := q.Get("after"); c != "" {
		n, ok := decodeCursor(c)
		if !ok || n > len(list) {
			h.writeError(w, r, waerr.New(waerr.InvalidCursor, "The 'after' cursor '%s' is not one this list gave", c))
			return
		}
		start = n
	}
	end := min(start+limit, len(list))
	data := make([]map[string]any, 0, end-start)
	for _, t := range list[start:end] {
		out, err := templateNode(r, t)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		data = append(data, out)
	}
	paging := map[string]any{"cursors": map[string]string{"before": encodeCursor(start), "after": encodeCursor(end)}}
	if end < len(list) {
		next := *r.URL
		nq := next.Query()
		nq.Set("after", encodeCursor(end))
		nq.Del("access_token")
		next.RawQuery = nq.Encode()
		paging["next"] = origin(r) + next.RequestURI()
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "paging": paging})
}

func encodeCursor(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("off:" + strconv.Itoa(n)))
}

func decodeCursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "off:") {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[4:]))
	return n, err == nil && n >= 0
}
