package onprem

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/openwaba/waba/internal/waerr"
)

// Version is the On-Prem client version waba reports in every `meta` object. v2.45.1 is the
// version of the reference's examples (shared/reference/onprem-api.md §3.1), and every feature
// waba emulates (phone numbers in `to` from v2.39, optional template namespace from v2.41)
// exists in it.
const Version = "v2.45.1"

// Meta is the `meta` object of every On-Prem response (§3.1).
type Meta struct {
	APIStatus string `json:"api_status"`
	Version   string `json:"version"`
}

var meta = Meta{APIStatus: "stable", Version: Version}

// ErrorObject is one entry of `errors` (§3.1). Meta's field is `details`; waba does not add the
// `detail` alias one client reads (§17), to stay byte-compatible with Meta.
type ErrorObject struct {
	Code    int    `json:"code"`
	Title   string `json:"title"`
	Details string `json:"details,omitempty"`
}

type errorEnvelope struct {
	Errors []ErrorObject `json:"errors"`
	Meta   Meta          `json:"meta"`
}

// writeJSON writes v with the given status. Every On-Prem response is JSON (§17).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"code":1000,"title":"Generic error"}],"meta":{"api_status":"stable","version":"` + Version + `"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// writePayload writes `{"<key>": payload, "meta": …}`; a nil payload writes `meta` only, as
// the On-Prem API does for logout, password change and similar (§3.1 "Null bodies").
func writePayload(w http.ResponseWriter, status int, key string, payload any) {
	if payload == nil {
		writeJSON(w, status, struct {
			Meta Meta `json:"meta"`
		}{meta})
		return
	}
	b, err := json.Marshal(payload)
	if err != nil {
		writeJSON(w, status, payload) // reports the encoding failure
		return
	}
	// Built by hand so the payload key comes first, as in Meta's examples.
	out := make([]byte, 0, len(b)+len(key)+80)
	out = append(out, `{"`...)
	out = append(out, key...)
	out = append(out, `":`...)
	out = append(out, b...)
	out = append(out, `,"meta":{"api_status":"stable","version":"`+Version+`"}}`...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(out)
}

// writeError renders err in the On-Prem envelope with the catalogue's HTTP status. Errors that
// are not catalogue errors are logged and answered as 1000 Generic error, without internals.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := waerr.As(err)
	if !ok {
		if errors.Is(err, r.Context().Err()) && r.Context().Err() != nil {
			return // the client went away; nobody to answer
		}
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = waerr.New(waerr.Generic, "Internal server error; the server log has the cause")
	}
	status := e.Cond.OnPrem.HTTP
	if status == 0 {
		status = http.StatusBadRequest
	}
	code, title := e.Cond.OnPrem.Code, e.Cond.OnPrem.Title
	if code == 0 { // a Cloud-only condition reached the On-Prem dialect: report it generically
		code, title = waerr.Generic.OnPrem.Code, waerr.Generic.OnPrem.Title
	}
	writeJSON(w, status, errorEnvelope{Errors: []ErrorObject{{Code: code, Title: title, Details: e.Details}}, Meta: meta})
}

// requestIDs makes X-Request-ID values (§2.1: every response carries one): a per-process
// prefix from the start time plus a counter, unique and cheap on the hot path.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	return &requestIDs{prefix: strconv.FormatInt(time.Now().UnixNano(), 36) + "-"}
}

func (g *requestIDs) next() string {
	return g.prefix + strconv.FormatUint(g.n.Add(1), 36)
}
