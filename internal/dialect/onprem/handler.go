// Package onprem is the On-Premises `/v1` dialect: its routes, authentication, request decoding
// and the `{"<payload>":…,"meta":…}` / `{"errors":[…]}` envelope
// (shared/reference/onprem-api.md). It translates only; the rules live in package engine.
package onprem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"

	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// Handler serves /v1/.
type Handler struct {
	eng     *engine.Engine
	log     *slog.Logger
	maxBody int64
	ids     *requestIDs
	mux     *http.ServeMux
}

// New builds the /v1 handler. maxBody caps JSON request bodies.
func New(eng *engine.Engine, log *slog.Logger, maxBody int64) *Handler {
	h := &Handler{eng: eng, log: log.With("component", "onprem"), maxBody: maxBody, ids: newRequestIDs(), mux: http.NewServeMux()}
	// Routes are matched on path only; each handler checks the method itself so that a wrong
	// method gets a JSON answer rather than the mux's plain-text 405.
	h.mux.HandleFunc("/v1/users/login", h.login)
	h.mux.HandleFunc("/v1/users/logout", h.authed(false, h.logout))
	h.mux.HandleFunc("/v1/users", h.authed(true, h.createUser))
	h.mux.HandleFunc("/v1/users/{username}", h.authed(false, h.user))
	h.mux.HandleFunc("/v1/messages", h.authed(false, h.messages))
	h.mux.HandleFunc("/v1/messages/{id}", h.authed(false, h.message))
	h.mux.HandleFunc("/v1/settings/application", h.authed(true, h.appSettings))
	h.mux.HandleFunc("/v1/settings/application/media/providers", h.authed(true, h.mediaProviders))
	h.mux.HandleFunc("/v1/settings/application/media/providers/{name}", h.authed(true, h.mediaProvider))
	h.mux.HandleFunc("/v1/", h.authed(false, h.notFound))
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Request-ID", h.ids.next())
	h.mux.ServeHTTP(w, r)
}

type userKey struct{}

// authed requires a valid bearer token (§2.2); with admin it also requires ROLE_ADMIN (§2.3).
// A missing or invalid token is 401 with 1005; a missing role is 403 with 1005.
func (h *Handler) authed(admin bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			h.writeError(w, r, waerr.New(waerr.AuthMissing, "Missing or invalid authentication credentials"))
			return
		}
		u, err := h.eng.Authenticate(r.Context(), token)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if admin && u.Role != store.RoleAdmin {
			h.writeError(w, r, waerr.New(waerr.Forbidden, "This call needs the admin role"))
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	}
}

func caller(r *http.Request) store.User {
	u, _ := r.Context().Value(userKey{}).(store.User)
	return u
}

// bearer reads `Authorization: Bearer <token>`. The 360dialog-style `D360-API-KEY: <token>`
// header is accepted as an alias, as some BSP collections send it (§2.2, §17).
func bearer(r *http.Request) (string, bool) {
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		if ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(tok) != "" {
			return strings.TrimSpace(tok), true
		}
		return "", false
	}
	if k := r.Header.Get("D360-API-KEY"); k != "" {
		return k, true
	}
	return "", false
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (h *Handler) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow ...string) {
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeJSON(w, http.StatusMethodNotAllowed, errorEnvelope{Errors: []ErrorObject{{
		Code: waerr.InvalidRequest.OnPrem.Code, Title: waerr.InvalidRequest.OnPrem.Title,
		Details: fmt.Sprintf("Method %s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")),
	}}, Meta: meta})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, r, waerr.New(waerr.NotFound, "Unknown path %s", r.URL.Path))
}

// readBody returns the request body of a JSON call. Every request with a body must send
// `Content-Type: application/json` (§2.1); a missing or different type, or a body over the
// limit, is 400 with 1025 Invalid Request and details saying what to fix.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return nil, waerr.New(waerr.InvalidRequest, "Content-Type must be application/json (got %q)", ct)
	}
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

// readJSON decodes a small JSON request body into dst.
func (h *Handler) readJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	return decodeJSON(body, dst)
}

func decodeJSON(body []byte, dst any) error {
	if err := json.Unmarshal(body, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return waerr.New(waerr.InvalidParam, "Parameter '%s' has the wrong type: want %s", te.Field, te.Type)
		}
		return waerr.New(waerr.InvalidRequest, "Request body is not valid JSON: %v", err)
	}
	return nil
}

// messages: POST /v1/messages sends a message (§8).
func (h *Handler) messages(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	m, err := DecodeMessage(body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	acc, err := h.eng.Send(r.Context(), m, wa.OnPrem)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// §8.2: 201 {"messages":[{"id"}],"meta"}. Written by hand: this is the hot path.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, `{"messages":[{"id":"`+wa.OnPremID(acc.ID, false)+`"}],"meta":{"api_status":"stable","version":"`+Version+`"}}`)
}

// message: PUT /v1/messages/{id} {"status":"read"} marks an inbound message read (§8.12).
func (h *Handler) message(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		h.methodNotAllowed(w, r, http.MethodPut)
		return
	}
	var req struct {
		Status *string `json:"status"`
	}
	if err := h.readJSON(w, r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	switch {
	case req.Status == nil:
		h.writeError(w, r, waerr.New(waerr.MissingParam, "Missing mandatory parameter 'status'"))
		return
	case *req.Status != "read":
		h.writeError(w, r, waerr.New(waerr.InvalidParam, "Parameter 'status' has invalid value '%s'; the only value is 'read'", *req.Status))
		return
	}
	// 1006 for anything that is not one of our stored inbound message ids (§8.12).
	notFound := waerr.New(waerr.NotFound, "No inbound message with id '%s'", r.PathValue("id"))
	id, inbound, ok := wa.ParseOnPremID(r.PathValue("id"))
	if !ok || !inbound {
		h.writeError(w, r, notFound)
		return
	}
	if err := h.eng.MarkRead(r.Context(), id); err != nil {
		if e, ok := waerr.As(err); ok && e.Cond == waerr.NotFound {
			err = notFound
		}
		h.writeError(w, r, err)
		return
	}
	writePayload(w, http.StatusOK, "", nil)
}
