package onprem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/openwaba/waba/internal/tlsutil"
	"github.com/openwaba/waba/internal/waerr"
)

// CertStore keeps the certificates of the /v1/certificates routes
// (shared/reference/onprem-api.md §9.6). The app implements it on the store's settings, so
// every node sharing a database sees the same certificates. Bundles reach it already checked
// with tlsutil; an error it returns is a failure of the store (1000), not of the input.
type CertStore interface {
	// SetExternal stores the HTTPS certificate bundle (PEM: private key, certificate,
	// intermediate CAs) and serves it from the next TLS handshake on.
	SetExternal(ctx context.Context, bundle []byte) error
	// DeleteExternal forgets the uploaded bundle; the generated (or --tls-cert) certificate is
	// served again. Forgetting when there is none is not an error.
	DeleteExternal(ctx context.Context) error
	// ExternalCA is the PEM of the CA of the certificate being served (or that would be, when
	// waba runs without --tls); nil when there is none.
	ExternalCA(ctx context.Context) ([]byte, error)
	// WebhookCA is the CA bundle webhook delivery trusts besides the system pool; nil when
	// none is set.
	WebhookCA(ctx context.Context) ([]byte, error)
	// SetWebhookCA replaces that bundle; deliveries use it from their next connection.
	SetWebhookCA(ctx context.Context, bundle []byte) error
	// DeleteWebhookCA removes it; removing a missing one is not an error.
	DeleteWebhookCA(ctx context.Context) error
}

// WithCertificates registers the certificate routes of §9.6 on c. Call it once, before
// serving. Until it is called those paths answer 404 (1006) like any unknown path.
//
//   - POST /v1/certificates/external (admin): a text/plain PEM bundle of the private key, the
//     certificate and at least one intermediate CA, in any order. It is checked (parseable,
//     the key matches the certificate, valid now), stored, and — unlike the real WebApp, which
//     needs a restart — served at once: the next TLS handshake on every node of this database
//     (within a few seconds on the others) uses it. 201 with `meta` only (errors.md §4.2).
//   - DELETE /v1/certificates/external (admin; waba's extension, the real API has none): go
//     back to the generated or --tls-cert certificate.
//   - GET /v1/certificates/external/ca (any user): the CA PEM of the served certificate; 404
//     with no body when there is none.
//   - GET|POST|DELETE /v1/certificates/webhooks/ca (admin): the CA bundle webhook delivery
//     trusts besides the system pool, for endpoints signed by an internal CA. GET is 404 with
//     no body when none is set. It applies from the next delivery, with no restart.
//
// Malformed PEM, a key that does not match, or an expired certificate is 400 with 1009
// Parameter value is not valid (§16: 1009 is the code for a wrong value; errors.md §4.2), with
// details saying what to fix; nothing is stored. An empty body is 1008.
func (h *Handler) WithCertificates(c CertStore) *Handler {
	if c == nil {
		panic("onprem: WithCertificates needs a CertStore")
	}
	cr := &certRoutes{Handler: h, certs: c}
	h.mux.HandleFunc("/v1/certificates/external", h.authed(true, cr.external))
	h.mux.HandleFunc("/v1/certificates/external/ca", h.authed(false, cr.externalCA))
	h.mux.HandleFunc("/v1/certificates/webhooks/ca", h.authed(true, cr.webhooksCA))
	return h
}

type certRoutes struct {
	*Handler
	certs CertStore
}

// external: POST|DELETE /v1/certificates/external.
func (cr *certRoutes) external(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		bundle, err := cr.readPEM(w, r)
		if err != nil {
			cr.writeError(w, r, err)
			return
		}
		if _, err := tlsutil.ParseBundle(bundle, time.Now()); err != nil {
			cr.writeError(w, r, pemError("certificate bundle", bundle, err))
			return
		}
		if err := cr.certs.SetExternal(r.Context(), bundle); err != nil {
			cr.writeError(w, r, fmt.Errorf("store the external certificate: %w", err))
			return
		}
		cr.log.Info("external HTTPS certificate uploaded; serving it from the next handshake")
		writePayload(w, http.StatusCreated, "", nil)
	case http.MethodDelete:
		if err := cr.certs.DeleteExternal(r.Context()); err != nil {
			cr.writeError(w, r, fmt.Errorf("delete the external certificate: %w", err))
			return
		}
		writePayload(w, http.StatusOK, "", nil)
	default:
		cr.methodNotAllowed(w, r, http.MethodPost, http.MethodDelete)
	}
}

// externalCA: GET /v1/certificates/external/ca.
func (cr *certRoutes) externalCA(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		cr.methodNotAllowed(w, r, http.MethodGet)
		return
	}
	ca, err := cr.certs.ExternalCA(r.Context())
	if err != nil {
		cr.writeError(w, r, fmt.Errorf("read the certificate's CA: %w", err))
		return
	}
	writePEM(w, ca)
}

// webhooksCA: GET|POST|DELETE /v1/certificates/webhooks/ca, all admin (§2.3).
func (cr *certRoutes) webhooksCA(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		ca, err := cr.certs.WebhookCA(r.Context())
		if err != nil {
			cr.writeError(w, r, fmt.Errorf("read the webhook CA: %w", err))
			return
		}
		writePEM(w, ca)
	case http.MethodPost:
		bundle, err := cr.readPEM(w, r)
		if err != nil {
			cr.writeError(w, r, err)
			return
		}
		if _, err := tlsutil.ParseCAs(bundle); err != nil {
			cr.writeError(w, r, pemError("CA bundle", bundle, err))
			return
		}
		if err := cr.certs.SetWebhookCA(r.Context(), bundle); err != nil {
			cr.writeError(w, r, fmt.Errorf("store the webhook CA: %w", err))
			return
		}
		cr.log.Info("webhook CA bundle uploaded; deliveries trust it from now on")
		writePayload(w, http.StatusOK, "", nil)
	case http.MethodDelete:
		if err := cr.certs.DeleteWebhookCA(r.Context()); err != nil {
			cr.writeError(w, r, fmt.Errorf("delete the webhook CA: %w", err))
			return
		}
		writePayload(w, http.StatusOK, "", nil)
	default:
		cr.methodNotAllowed(w, r, http.MethodGet, http.MethodPost, http.MethodDelete)
	}
}

// readPEM reads a text/plain PEM body (§9.6). A JSON Content-Type is 1025 (the caller sent the
// wrong thing); other types are read as they are, since curl's --data-binary sends
// application/x-www-form-urlencoded unless told otherwise.
func (cr *certRoutes) readPEM(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		return nil, waerr.New(waerr.InvalidRequest, "Content-Type must be text/plain: send the PEM file as it is (curl -H 'Content-Type: text/plain' --data-binary @file.pem)")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, cr.maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, waerr.New(waerr.InvalidRequest, "Request body is larger than %d bytes", cr.maxBody)
	}
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, waerr.New(waerr.MissingParam, "The body is empty: send the PEM text (curl -H 'Content-Type: text/plain' --data-binary @file.pem)")
	}
	return body, nil
}

// pemError is the 1009 for input tlsutil refused; a PEM flattened onto one line (curl -d drops
// line breaks) gets a hint.
func pemError(what string, body []byte, err error) error {
	hint := ""
	if bytes.Contains(body, []byte("-----BEGIN")) && !bytes.Contains(bytes.TrimSpace(body), []byte("\n")) {
		hint = " (the line breaks are gone: send the file with curl --data-binary @file.pem, not -d)"
	}
	return waerr.New(waerr.InvalidParam, "Invalid %s: %v%s", what, err, hint)
}

// writePEM answers 200 with PEM text, or 404 with no body when there is none (§9.6).
func writePEM(w http.ResponseWriter, pemText []byte) {
	if len(pemText) == 0 {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.WriteHeader(http.StatusOK)
	w.Write(pemText)
}
