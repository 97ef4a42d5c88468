package sandbox

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/store"
)

// The sandbox's template controls (issue 5 item 6): Meta decides a template's status; here the
// tester does. GET lists every template with its status; POST …/status moves one to APPROVED,
// REJECTED (with a reason), PAUSED or DISABLED, which sends the Cloud
// `message_template_status_update` webhook and changes what a send answers (2060–2062 /
// 132015–132016); PUT /templates/review sets how long new templates stay PENDING (stored, so it
// survives a restart); PUT /templates/{name}/{language} puts a template in the registry as if
// Meta had approved it, skipping Graph's phone-number check (engine.ImportTemplate).

func (h *Handler) listTemplates(w http.ResponseWriter, r *http.Request) {
	list, err := h.o.Engine.Templates(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	type row struct {
		engine.Template
		ID string `json:"id"`
	}
	out := make([]row, len(list))
	for i, t := range list {
		out[i] = row{Template: t, ID: engine.TemplateID(t.Name, t.Language)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"templates": out})
}

func (h *Handler) templateStatus(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if err := readJSON(r, &req); err != nil || req.Status == "" {
		writeError(w, http.StatusBadRequest, "invalid_body", `Send {"status": "APPROVED"|"REJECTED"|"PAUSED"|"DISABLED"|"PENDING", "reason": "INVALID_FORMAT"} (reason for REJECTED only)`)
		return
	}
	t, err := h.o.Engine.SetTemplateStatus(r.Context(), r.PathValue("name"), r.PathValue("language"), req.Status, req.Reason)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "No template "+r.PathValue("name")+" in language "+r.PathValue("language"))
		return
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": engine.TemplateID(t.Name, t.Language), "name": t.Name, "language": t.Language, "status": t.Status, "reason": t.Reason})
}

func (h *Handler) templateReview(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Seconds *float64 `json:"seconds"`
	}
	if err := readJSON(r, &req); err != nil || req.Seconds == nil || *req.Seconds < 0 || *req.Seconds > 30*24*3600 {
		writeError(w, http.StatusBadRequest, "invalid_body", `Send {"seconds": N} with 0 ≤ N ≤ 2592000: how long new templates stay PENDING on the virtual clock (0: the default)`)
		return
	}
	d := time.Duration(*req.Seconds * float64(time.Second))
	if err := h.o.Engine.SetTemplateReview(r.Context(), d); err != nil {
		h.fail(w, err)
		return
	}
	if d <= 0 {
		d = engine.DefaultTemplateReview
	}
	writeJSON(w, http.StatusOK, map[string]any{"review_seconds": d.Seconds()})
}

// importTemplate is PUT /templates/{name}/{language}: the body is a template as GET /templates
// lists it (category, parameter_format, components, status), without name and language, which
// the path gives. It simulates a template approved on Meta's side: status APPROVED unless
// given, no review, no status webhook, and a PHONE_NUMBER button's number is not checked, so a
// /v1 send of a template with a malformed one answers 2011 (Cloud: 131009).
func (h *Handler) importTemplate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Category        string                    `json:"category"`
		ParameterFormat string                    `json:"parameter_format"`
		Status          string                    `json:"status"`
		Components      engine.TemplateComponents `json:"components"`
	}
	if err := readJSON(r, &req); err != nil || req.Category == "" {
		writeError(w, http.StatusBadRequest, "invalid_body", `Send {"category": "UTILITY", "components": {"body": "Hi {{1}}", "buttons": [{"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+1 555 010 2000"}]}}; optional: "parameter_format" (POSITIONAL|NAMED), "status" (default APPROVED)`)
		return
	}
	t, err := h.o.Engine.ImportTemplate(r.Context(), engine.Template{
		Name: r.PathValue("name"), Language: r.PathValue("language"),
		Category: strings.ToUpper(req.Category), ParameterFormat: strings.ToUpper(req.ParameterFormat),
		Status: strings.ToUpper(req.Status), Components: req.Components,
	})
	if err != nil {
		h.fail(w, err)
		return
	}
	type row struct {
		engine.Template
		ID string `json:"id"`
	}
	writeJSON(w, http.StatusOK, row{Template: t, ID: engine.TemplateID(t.Name, t.Language)})
}
