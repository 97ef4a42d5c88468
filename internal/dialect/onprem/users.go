package onprem

import (
	"io"
	"net/http"
	"strings"

	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/waerr"
)

// expiresLayout is the On-Prem `expires_after` format `Y-m-d H:i:sP`, e.g.
// "2018-03-01 15:29:26+00:00" (shared/reference/onprem-api.md §2.4).
const expiresLayout = "2006-01-02 15:04:05-07:00"

// login: POST /v1/users/login with Basic auth; body empty, `{}` or `{"new_password":…}` (§2.4, §17).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		h.writeError(w, r, waerr.New(waerr.AuthMissing, "Missing or invalid authentication credentials"))
		return
	}
	var req struct {
		NewPassword string `json:"new_password"`
	}
	// Login is lenient about the body: clients send nothing, `{}`, or the new password, and not
	// always with a Content-Type.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		h.writeError(w, r, waerr.New(waerr.InvalidRequest, "Request body could not be read or is larger than %d bytes", h.maxBody))
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := decodeJSON(body, &req); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	res, err := h.eng.Login(r.Context(), clientIP(r), user, pass, req.NewPassword)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	type tokenOut struct {
		Token        string `json:"token"`
		ExpiresAfter string `json:"expires_after"`
	}
	writePayload(w, http.StatusOK, "users", []tokenOut{{Token: res.Token, ExpiresAfter: res.Expires.UTC().Format(expiresLayout)}})
}

// logout: POST /v1/users/logout revokes the caller's token; 200 with `meta` only (§2.5).
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	tok, _ := bearer(r)
	if err := h.eng.Logout(r.Context(), tok); err != nil {
		h.writeError(w, r, err)
		return
	}
	writePayload(w, http.StatusOK, "", nil)
}

// createUser: POST /v1/users (admin) → 201 {"users":[{"username"}]} (§2.5).
func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := h.readJSON(w, r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.eng.CreateUser(r.Context(), clientIP(r), req.Username, req.Password); err != nil {
		h.writeError(w, r, err)
		return
	}
	writePayload(w, http.StatusCreated, "users", []map[string]string{{"username": req.Username}})
}

// user: GET, PUT and DELETE /v1/users/{username} (§2.5). GET and PUT are allowed to admins and
// to the user themselves; DELETE only to admins.
func (h *Handler) user(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("username")
	me := caller(r)
	self := me.Username == name
	admin := me.Role == store.RoleAdmin
	switch r.Method {
	case http.MethodGet:
		if !admin && !self {
			h.writeError(w, r, waerr.New(waerr.Forbidden, "Only admins may read other users"))
			return
		}
		u, err := h.eng.GetUser(r.Context(), name)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		writePayload(w, http.StatusOK, "users", []map[string]string{{"ROLES": string(u.Role), "username": u.Username}})
	case http.MethodPut:
		if !admin && !self {
			h.writeError(w, r, waerr.New(waerr.Forbidden, "Only admins may change other users' passwords"))
			return
		}
		var req struct {
			Password string `json:"password"`
		}
		if err := h.readJSON(w, r, &req); err != nil {
			h.writeError(w, r, err)
			return
		}
		if err := h.eng.SetPassword(r.Context(), clientIP(r), name, req.Password); err != nil {
			h.writeError(w, r, err)
			return
		}
		writePayload(w, http.StatusOK, "", nil)
	case http.MethodDelete:
		if !admin {
			h.writeError(w, r, waerr.New(waerr.Forbidden, "Deleting users needs the admin role"))
			return
		}
		if err := h.eng.DeleteUser(r.Context(), name); err != nil {
			h.writeError(w, r, err)
			return
		}
		writePayload(w, http.StatusOK, "", nil)
	default:
		h.methodNotAllowed(w, r, http.MethodGet, http.MethodPut, http.MethodDelete)
	}
}
