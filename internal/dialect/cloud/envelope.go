package cloud

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/openwaba/waba/internal/waerr"
)

// errorBody is the synchronous Graph error (cloud-api.md §4; errors.md §1.2):
//
//	{ "error": { "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429,
//	    "error_data": { "messaging_product": "whatsapp", "details": "…" },
//	    "error_subcode": 2494055, "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam" } }
type errorBody struct {
	Error graphError `json:"error"`
}

type graphError struct {
	Message   string    `json:"message"`
	Type      string    `json:"type"`
	Code      int       `json:"code"`
	ErrorData errorData `json:"error_data"`
	Subcode   int       `json:"error_subcode,omitempty"`
	FBTraceID string    `json:"fbtrace_id"`
}

type errorData struct {
	MessagingProduct string `json:"messaging_product"`
	Details          string `json:"details"`
}

// writeError renders err in the Graph envelope with the catalogue's Cloud HTTP status.
//
// Conditions without a Cloud code (e.g. resource.not_found) fall back to 131009 "Parameter
// value is not valid" / 400 when their On-Prem status is a client error, and to 131000
// "Something went wrong" / 500 otherwise. Errors that are not catalogue errors are logged and
// answered as 131000 without internals. 190 carries free text in `message`
// rather than "(#code) title" (errors.md §2.1).
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := waerr.As(err)
	if !ok {
		if errors.Is(err, r.Context().Err()) && r.Context().Err() != nil {
			return
		}
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = waerr.New(waerr.Internal, "Internal server error; the server log has the cause")
	}
	c := e.Cond.Cloud
	if c.Code == 0 {
		if e.Cond.OnPrem.HTTP != 0 && e.Cond.OnPrem.HTTP < 500 {
			c = waerr.InvalidParam.Cloud
		} else {
			c = waerr.Internal.Cloud
		}
	}
	msg := fmt.Sprintf("(#%d) %s", c.Code, c.Title)
	switch e.Cond {
	case waerr.AuthInvalid, waerr.AuthExpired:
		msg = e.Details // free text, e.g. "Invalid OAuth access token - Cannot parse access token"
	}
	status, typ := c.HTTP, c.Type
	if status == 0 {
		status = http.StatusBadRequest
	}
	if typ == "" {
		typ = "OAuthException"
	}
	trace := newTraceID()
	w.Header().Set("x-fb-trace-id", trace)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token"`)
	}
	writeJSON(w, status, errorBody{Error: graphError{Message: msg, Type: typ, Code: c.Code,
		ErrorData: errorData{MessagingProduct: "whatsapp", Details: e.Details}, Subcode: c.Subcode, FBTraceID: trace}})
}
