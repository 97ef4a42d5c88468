package onprem

import (
	"net/http"

	"github.com/openwaba/waba/internal/engine"
)

// appSettingsOut is the GET body's payload: `{"settings":{"application":{…}}}`
// (shared/reference/onprem-api.md §9.1).
type appSettingsOut struct {
	Application engine.AppSettings `json:"application"`
}

// appSettings serves /v1/settings/application (admin only, §2.3):
//
//   - GET returns 200 `{"settings":{"application":{…}},"meta":…}`. The webhook signature
//     secret (waba's extension) is never shown, only `webhooks.signature_secret_set`.
//   - PATCH changes only the fields sent and returns 200 with `meta` only: the reference gives
//     the status (§9.1 "returns 200") and no body, so waba answers like the other On-Prem
//     updates with a null body (§3.1); GET shows the result.
//   - DELETE resets every setting to its default and returns 200 with `meta` only.
func (h *Handler) appSettings(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s, err := h.eng.AppSettings(r.Context())
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		writePayload(w, http.StatusOK, "settings", appSettingsOut{Application: s})
	case http.MethodPatch:
		body, err := h.readBody(w, r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if _, err := h.eng.PatchAppSettings(r.Context(), body); err != nil {
			h.writeError(w, r, err)
			return
		}
		writePayload(w, http.StatusOK, "", nil)
	case http.MethodDelete:
		if err := h.eng.ResetAppSettings(r.Context()); err != nil {
			h.writeError(w, r, err)
			return
		}
		writePayload(w, http.StatusOK, "", nil)
	default:
		h.methodNotAllowed(w, r, http.MethodGet, http.MethodPatch, http.MethodDelete)
	}
}
