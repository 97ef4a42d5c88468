package sandbox

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/network/simnet"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// graphVersion is a Graph API version such as "v24.0" (shared/reference/cloud-api.md §1).
var graphVersion = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,2}$`)

// numberFields are the settable fields of a business number; nil means "leave as is".
type numberFields struct {
	VerifiedName   *string `json:"verified_name"`
	WebhookDialect *string `json:"webhook_dialect"`
	Throughput     *int    `json:"throughput"`
	BatchWebhooks  *bool   `json:"batch_webhooks"`
	GraphVersion   *string `json:"graph_version"`
}

// apply sets f's fields on n; the registry's own check validates dialect and throughput.
func (f numberFields) apply(n *engine.Number) error {
	if f.VerifiedName != nil {
		n.VerifiedName = *f.VerifiedName
	}
	if f.WebhookDialect != nil {
		n.WebhookDialect = *f.WebhookDialect
	}
	if f.Throughput != nil {
		n.Throughput = *f.Throughput
	}
	if f.BatchWebhooks != nil {
		n.BatchWebhooks = *f.BatchWebhooks
	}
	if f.GraphVersion != nil {
		if *f.GraphVersion != "" && !graphVersion.MatchString(*f.GraphVersion) {
			return waerr.New(waerr.InvalidParam, "graph_version '%s' must look like v24.0", *f.GraphVersion)
		}
		n.GraphVersion = *f.GraphVersion
	}
	return nil
}

// listNumbers: GET /sandbox/v1/numbers → {"numbers":[…]}, the default number first.
func (h *Handler) listNumbers(w http.ResponseWriter, r *http.Request) {
	reg, err := h.o.Engine.Registry(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"numbers": reg.Numbers})
}

// addNumber: POST /sandbox/v1/numbers {"phone", "waba_id"?, "verified_name"?, "webhook_dialect"?,
// "throughput"?, "batch_webhooks"?, "graph_version"?} adds a business number with a generated
// phone_number_id → 201 and the number. waba_id defaults to the default number's WABA and
// webhook_dialect to the default number's dialect.
func (h *Handler) addNumber(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Phone  string `json:"phone"`
		WABAID string `json:"waba_id"`
		numberFields
	}
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", err.Error()+`; send {"phone":"15550002222","webhook_dialect":"cloud"}`)
		return
	}
	phone, ok := wa.NormalizePhone(req.Phone)
	if !ok || req.Phone == "" {
		writeError(w, http.StatusBadRequest, "invalid_phone", "phone '"+req.Phone+"' is not a phone number in international format")
		return
	}
	if bad, why := simnet.RestrictedBusiness(phone); bad {
		writeError(w, http.StatusBadRequest, "restricted_business", "+"+phone+": "+why+"; such businesses may not use the platform")
		return
	}
	if req.WABAID != "" && !digits.MatchString(req.WABAID) {
		writeError(w, http.StatusBadRequest, "invalid_waba_id", "waba_id '"+req.WABAID+"' must be digits")
		return
	}
	var added engine.Number
	_, err := h.o.Engine.UpdateRegistry(r.Context(), func(reg *engine.Registry) error {
		n := engine.Number{Phone: phone, WABAID: req.WABAID, WebhookDialect: engine.DialectOnPrem}
		if def, ok := reg.Number(h.o.Engine.Business()); ok {
			n.WebhookDialect = def.WebhookDialect
			if n.WABAID == "" {
				n.WABAID = def.WABAID
			}
		}
		if n.WABAID == "" { // no default number to share a WABA with: a WABA of its own
			id, err := engine.NewGraphID()
			if err != nil {
				return err
			}
			n.WABAID = id
		}
		for {
			id, err := engine.NewGraphID()
			if err != nil {
				return err
			}
			if _, taken := reg.NumberByID(id); !taken && id != n.WABAID && !slices.ContainsFunc(reg.Numbers, func(x engine.Number) bool { return x.WABAID == id }) {
				n.PhoneNumberID = id
				break
			}
		}
		if err := req.numberFields.apply(&n); err != nil {
			return err
		}
		reg.Numbers = append(reg.Numbers, n)
		added = n
		return nil
	})
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, added)
}

var digits = regexp.MustCompile(`^[0-9]{1,20}$`)

// updateNumber: PATCH /sandbox/v1/numbers/{phone} with any of verified_name, webhook_dialect,
// throughput, batch_webhooks, graph_version → 200 and the number; 404 for an unknown phone.
func (h *Handler) updateNumber(w http.ResponseWriter, r *http.Request) {
	phone, ok := wa.NormalizePhone(r.PathValue("phone"))
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_phone", "'"+r.PathValue("phone")+"' is not a phone number in international format")
		return
	}
	var req numberFields
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", err.Error()+`; send e.g. {"throughput":200}`)
		return
	}
	var updated engine.Number
	errUnknown := errors.New("unknown number")
	_, err := h.o.Engine.UpdateRegistry(r.Context(), func(reg *engine.Registry) error {
		i := slices.IndexFunc(reg.Numbers, func(n engine.Number) bool { return n.Phone == phone })
		if i < 0 {
			return errUnknown
		}
		if err := req.apply(&reg.Numbers[i]); err != nil {
			return err
		}
		updated = reg.Numbers[i]
		return nil
	})
	if errors.Is(err, errUnknown) {
		writeError(w, http.StatusNotFound, "not_found", "+"+phone+" is not a business number of this deployment; GET /sandbox/v1/numbers lists them")
		return
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, updated)
}

// tokenView is a Cloud token as listed: never its secret.
type tokenView struct {
	engine.CloudToken
	Token string `json:"token,omitempty"` // only in the answer that created it
}

// listTokens: GET /sandbox/v1/cloud/tokens → {"tokens":[{"id","permissions","created_at","expires_at"?}]}.
// The configured access token is not listed: it is in the configuration and the banner.
func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request) {
	toks, err := h.o.Engine.CloudTokens(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": toks})
}

// createToken: POST /sandbox/v1/cloud/tokens {"permissions":[…]?, "expires_in": seconds?} → 201
// with the token, shown this once. permissions default to both; expires_in 0 or absent: never.
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Permissions *[]string `json:"permissions"`
		ExpiresIn   float64   `json:"expires_in"`
	}
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", err.Error()+`; send {"permissions":["whatsapp_business_messaging"],"expires_in":3600}`)
		return
	}
	perms := engine.AllPermissions
	if req.Permissions != nil {
		perms = *req.Permissions
	}
	secret, tok, err := h.o.Engine.CreateCloudToken(r.Context(), perms, time.Duration(req.ExpiresIn*float64(time.Second)))
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, tokenView{CloudToken: tok, Token: secret})
}

// revokeToken: DELETE /sandbox/v1/cloud/tokens/{id} → {"revoked":"<id>"}; 404 for an unknown id.
func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.o.Engine.RevokeCloudToken(r.Context(), id); err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"revoked": id})
}
