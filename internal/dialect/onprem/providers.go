package onprem

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/waerr"
)

// mediaProviders serves /v1/settings/application/media/providers (admin only; onprem-api.md
// §9.2):
//
//   - POST takes an array of exactly one provider `[{"name","type":"www","config":{"bearer"}|
//     {"basic":{"username","password"}}}]`, adds or replaces it, and answers 200 with `meta`.
//   - GET answers `{"settings":{"application":{"media":{"providers":[…]}}}}` (the wrapper is
//     UNCONFIRMED in §9.2; it follows GET /v1/settings/application). Credentials are
//     write-only: waba answers them masked, so a token never travels back out.
func (h *Handler) mediaProviders(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		list, err := h.eng.MediaProviders(r.Context())
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		out := make([]engine.MediaProvider, len(list))
		for i, p := range list {
			out[i] = p.Masked()
		}
		writePayload(w, http.StatusOK, "settings", map[string]any{"application": map[string]any{"media": map[string]any{"providers": out}}})
	case http.MethodPost:
		body, err := h.readBody(w, r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		var list []engine.MediaProvider
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&list); err != nil {
			h.writeError(w, r, waerr.New(waerr.InvalidParam, "The body must be an array of one provider {\"name\",\"type\":\"www\",\"config\":{…}}: %v", err))
			return
		}
		if len(list) != 1 {
			h.writeError(w, r, waerr.New(waerr.InvalidParam, "The body must be an array of exactly one provider; it has %d", len(list)))
			return
		}
		if err := h.eng.PutMediaProvider(r.Context(), list[0]); err != nil {
			h.writeError(w, r, err)
			return
		}
		writePayload(w, http.StatusOK, "", nil)
	default:
		h.methodNotAllowed(w, r, http.MethodGet, http.MethodPost)
	}
}

// mediaProvider serves DELETE /v1/settings/application/media/providers/{name}.
func (h *Handler) mediaProvider(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodDelete {
		h.methodNotAllowed(w, r, http.MethodDelete)
		return
	}
	if err := h.eng.DeleteMediaProvider(r.Context(), r.PathValue("name")); err != nil {
		h.writeError(w, r, err)
		return
	}
	writePayload(w, http.StatusOK, "", nil)
}
