package onprem

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/tlsutil"
)

// fakeCerts implements CertStore in memory.
type fakeCerts struct {
	mu        sync.Mutex
	external  []byte
	webhookCA []byte
	defaultCA []byte // the CA of the generated certificate, when "TLS is on"
	writes    int
}

func (f *fakeCerts) SetExternal(_ context.Context, b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.external = b
	f.writes++
	return nil
}

func (f *fakeCerts) DeleteExternal(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.external = nil
	f.writes++
	return nil
}

func (f *fakeCerts) ExternalCA(context.Context) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.external != nil {
		p, err := tlsutil.ParseBundle(f.external, time.Now())
		return p.CAPEM, err
	}
	return f.defaultCA, nil
}

func (f *fakeCerts) WebhookCA(context.Context) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.webhookCA, nil
}

func (f *fakeCerts) SetWebhookCA(_ context.Context, b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.webhookCA = b
	f.writes++
	return nil
}

func (f *fakeCerts) DeleteWebhookCA(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.webhookCA = nil
	f.writes++
	return nil
}

// pemSet is a generated CA with its server certificate (cert.pem holds the leaf and the CA).
type pemSet struct{ ca, cert, key []byte }

func newPEMSet(t *testing.T, at time.Time) pemSet {
	t.Helper()
	dir := t.TempDir()
	if _, err := tlsutil.Ensure(dir, nil, at); err != nil {
		t.Fatal(err)
	}
	read := func(f string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return pemSet{ca: read(tlsutil.CAFile), cert: read(tlsutil.CertFile), key: read(tlsutil.KeyFile)}
}

const tInvalidParam = "Parameter value is not valid"

func TestCertificateRoutes(t *testing.T) {
	base := newNetBase(t)
	good := newPEMSet(t, time.Now())
	other := newPEMSet(t, time.Now())
	expired := newPEMSet(t, time.Now().Add(-2*tlsutil.ServerValidity))
	bundle := string(good.key) + string(good.cert) // key, leaf, CA

	newEnv := func() (*Handler, *fakeCerts) {
		fc := &fakeCerts{}
		return New(base.eng, base.log, 1<<20).WithCertificates(fc), fc
	}
	tok := base.token

	t.Run("no CA yet: 404 with no body", func(t *testing.T) {
		h, _ := newEnv()
		for _, p := range []string{"/v1/certificates/external/ca", "/v1/certificates/webhooks/ca"} {
			r := serveNet(t, h, netReq{method: http.MethodGet, path: p, token: tok})
			if r.status != http.StatusNotFound || len(r.raw) != 0 {
				t.Fatalf("GET %s: %d %q, want 404 with no body", p, r.status, r.raw)
			}
		}
	})

	t.Run("external upload", func(t *testing.T) {
		h, fc := newEnv()
		r := serveNet(t, h, netReq{method: http.MethodPost, path: "/v1/certificates/external", body: bundle, contentType: "text/plain", token: tok})
		wantNetJSON(t, r, http.StatusCreated, `{"meta":`+netMeta+`}`)
		if !bytes.Equal(fc.external, []byte(bundle)) {
			t.Fatal("bundle not stored as sent")
		}
		r = serveNet(t, h, netReq{method: http.MethodGet, path: "/v1/certificates/external/ca", token: tok})
		if r.status != http.StatusOK || !bytes.Equal(r.raw, good.ca) || r.header.Get("Content-Type") != "application/x-pem-file" {
			t.Fatalf("GET ca: %d %q %s", r.status, r.header.Get("Content-Type"), r.raw)
		}
		r = serveNet(t, h, netReq{method: http.MethodDelete, path: "/v1/certificates/external", token: tok})
		wantNetJSON(t, r, http.StatusOK, `{"meta":`+netMeta+`}`)
		if fc.external != nil {
			t.Fatal("DELETE kept the bundle")
		}
	})

	t.Run("webhook CA upload, read, delete", func(t *testing.T) {
		h, fc := newEnv()
		cas := string(good.ca) + string(other.ca)
		r := serveNet(t, h, netReq{method: http.MethodPost, path: "/v1/certificates/webhooks/ca", body: cas, contentType: "text/plain", token: tok})
		wantNetJSON(t, r, http.StatusOK, `{"meta":`+netMeta+`}`)
		r = serveNet(t, h, netReq{method: http.MethodGet, path: "/v1/certificates/webhooks/ca", token: tok})
		if r.status != http.StatusOK || string(r.raw) != cas {
			t.Fatalf("GET: %d %s", r.status, r.raw)
		}
		r = serveNet(t, h, netReq{method: http.MethodDelete, path: "/v1/certificates/webhooks/ca", token: tok})
		wantNetJSON(t, r, http.StatusOK, `{"meta":`+netMeta+`}`)
		if fc.webhookCA != nil {
			t.Fatal("DELETE kept the CA")
		}
		r = serveNet(t, h, netReq{method: http.MethodGet, path: "/v1/certificates/webhooks/ca", token: tok})
		if r.status != http.StatusNotFound || len(r.raw) != 0 {
			t.Fatalf("GET after DELETE: %d %q", r.status, r.raw)
		}
	})

	// Bad input: the exact error, and nothing stored.
	bad := []struct {
		name, path, body, ct string
		status, code         int
		title, details       string
	}{
		{"external garbage", "/v1/certificates/external", "hello", "text/plain", 400, 1009, tInvalidParam,
			"Invalid certificate bundle: the body is not PEM: no -----BEGIN …----- block found"},
		{"external mismatch", "/v1/certificates/external", string(other.key) + string(good.cert), "text/plain", 400, 1009, tInvalidParam,
			"Invalid certificate bundle: the private key matches none of the 2 certificates"},
		{"external expired", "/v1/certificates/external", string(expired.key) + string(expired.cert), "text/plain", 400, 1009, tInvalidParam,
			""},
		{"external without CA", "/v1/certificates/external", string(good.key) + string(bytes.TrimSuffix(good.cert, good.ca)), "text/plain", 400, 1009, tInvalidParam,
			"Invalid certificate bundle: no intermediate CA certificate found; the bundle needs the private key, the certificate and at least one intermediate CA (onprem-api.md §9.6)"},
		{"external flattened by curl -d", "/v1/certificates/external", string(bytes.ReplaceAll([]byte(bundle), []byte("\n"), nil)), "application/x-www-form-urlencoded", 400, 1009, tInvalidParam,
			"Invalid certificate bundle: the body is not PEM: no -----BEGIN …----- block found (the line breaks are gone: send the file with curl --data-binary @file.pem, not -d)"},
		{"external empty", "/v1/certificates/external", " ", "text/plain", 400, 1008, "Required parameter is missing",
			"The body is empty: send the PEM text (curl -H 'Content-Type: text/plain' --data-binary @file.pem)"},
		{"external JSON", "/v1/certificates/external", `{"cert":"x"}`, "application/json", 400, 1025, "Invalid Request",
			"Content-Type must be text/plain: send the PEM file as it is (curl -H 'Content-Type: text/plain' --data-binary @file.pem)"},
		{"webhook CA garbage", "/v1/certificates/webhooks/ca", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "text/plain", 400, 1009, tInvalidParam,
			"Invalid CA bundle: the body is not PEM: no -----BEGIN …----- block found"},
		{"webhook CA with a key", "/v1/certificates/webhooks/ca", string(good.ca) + string(good.key), "text/plain", 400, 1009, tInvalidParam,
			`Invalid CA bundle: PEM block 2 is a "PRIVATE KEY"; send only CERTIFICATE blocks (never a private key)`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			h, fc := newEnv()
			r := serveNet(t, h, netReq{method: http.MethodPost, path: tc.path, body: tc.body, contentType: tc.ct, token: tok})
			if tc.details == "" { // the date in the text varies
				wantCodeNet(t, r, tc.status, tc.code, "expired on")
			} else {
				wantNetError(t, r, tc.status, tc.code, tc.title, tc.details)
			}
			if fc.writes != 0 || fc.external != nil || fc.webhookCA != nil {
				t.Fatal("bad input was stored")
			}
		})
	}
}

func wantCodeNet(t *testing.T, r netResp, status, code int, detailsContain string) {
	t.Helper()
	if r.status != status || !bytes.Contains(r.raw, []byte(`"code":`+strconv.Itoa(code))) || !bytes.Contains(r.raw, []byte(detailsContain)) {
		t.Fatalf("got %d %s, want %d with code %d mentioning %q", r.status, r.raw, status, code, detailsContain)
	}
}

// Roles (shared/reference/onprem-api.md §2.3): POST|DELETE /v1/certificates* and GET
// /v1/certificates/webhooks* need ROLE_ADMIN; GET /v1/certificates/external/ca does not.
func TestCertificateRoles(t *testing.T) {
	base := newNetBase(t)
	ctx := context.Background()
	if err := base.eng.CreateUser(ctx, "127.0.0.1", "jdoe", netTestPassword); err != nil {
		t.Fatal(err)
	}
	res, err := base.eng.Login(ctx, "127.0.0.1", "jdoe", netTestPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeCerts{defaultCA: newPEMSet(t, time.Now()).ca}
	h := New(base.eng, base.log, 1<<20).WithCertificates(fc)
	for _, rt := range []struct{ method, path string }{
		{http.MethodPost, "/v1/certificates/external"},
		{http.MethodDelete, "/v1/certificates/external"},
		{http.MethodGet, "/v1/certificates/webhooks/ca"},
		{http.MethodPost, "/v1/certificates/webhooks/ca"},
		{http.MethodDelete, "/v1/certificates/webhooks/ca"},
	} {
		r := serveNet(t, h, netReq{method: rt.method, path: rt.path, body: "x", contentType: "text/plain", token: res.Token})
		wantNetError(t, r, http.StatusForbidden, 1005, tAccess, "This call needs the admin role")
		r = serveNet(t, h, netReq{method: rt.method, path: rt.path})
		wantNetError(t, r, http.StatusUnauthorized, 1005, tAccess, tAuthDetails)
	}
	r := serveNet(t, h, netReq{method: http.MethodGet, path: "/v1/certificates/external/ca", token: res.Token})
	if r.status != http.StatusOK || !bytes.Equal(r.raw, fc.defaultCA) {
		t.Fatalf("GET external/ca as ROLE_USER: %d %s", r.status, r.raw)
	}
	r = serveNet(t, h, netReq{method: http.MethodPut, path: "/v1/certificates/external/ca", token: res.Token})
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET" {
		t.Fatalf("PUT external/ca: %d %s", r.status, r.raw)
	}
}
