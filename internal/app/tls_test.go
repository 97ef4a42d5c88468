package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/tlsutil"
)

// trustingClient is an HTTPS client whose only trusted root is the PEM in caFile: no system
// pool. h2 selects HTTP/2 (else HTTP/1.1 only).
func trustingClient(t *testing.T, caFile string, h2 bool) *http.Client {
	t.Helper()
	pemText, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemText) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // HTTP/1.1 only
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// doWith is do (harness_test.go) through a given client; it also returns the protocol and
// the certificate the server presented.
func doWith(t *testing.T, c *http.Client, base string, r request) (response, string, *x509.Certificate) {
	t.Helper()
	var rd io.Reader
	if r.body != "" {
		rd = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, base+r.path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if r.body != "" {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.basic[0] != "" {
		req.SetBasicAuth(r.basic[0], r.basic[1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %v\n%s", r.method, r.path, err, raw)
		}
	}
	return out, resp.Proto, resp.TLS.PeerCertificates[0]
}

func tlsConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.Data = filepath.Join(t.TempDir(), "data")
	cfg.AdminPassword = testAdminPassword
	cfg.TLS = true
	return cfg
}

func readTLSFiles(t *testing.T, data string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range []string{tlsutil.CAFile, tlsutil.CAKeyFile, tlsutil.CertFile, tlsutil.KeyFile} {
		b, err := os.ReadFile(filepath.Join(tlsutil.Dir(data), f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	return out
}

// TestHTTPS: with --tls, a client that trusts only tls/ca.pem completes /healthz, the On-Prem
// login and a send, over HTTP/2 and HTTP/1.1; a client without the CA fails verification; a
// restart reuses the files byte for byte.
func TestHTTPS(t *testing.T) {
	cfg := tlsConfig(t)
	a := start(t, cfg)
	if !strings.HasPrefix(a.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL = %s", a.URL())
	}
	caFile := filepath.Join(cfg.Data, "tls", "ca.pem")
	if abs, _ := filepath.Abs(caFile); a.CAPath() != abs {
		t.Fatalf("CAPath = %q, want %q", a.CAPath(), abs)
	}
	for _, f := range []string{"key.pem", "ca-key.pem"} {
		fi, err := os.Stat(filepath.Join(cfg.Data, "tls", f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v mode %v, want 0600", f, err, fi.Mode().Perm())
		}
	}

	for _, tc := range []struct {
		name  string
		h2    bool
		proto string
	}{{"HTTP/2", true, "HTTP/2.0"}, {"HTTP/1.1", false, "HTTP/1.1"}} {
		t.Run(tc.name, func(t *testing.T) {
			c := trustingClient(t, caFile, tc.h2)
			r, proto, _ := doWith(t, c, a.URL(), request{method: "GET", path: "/healthz"})
			if r.status != 200 || string(r.raw) != `{"status":"ok"}` || proto != tc.proto {
				t.Fatalf("healthz: %d %s over %s", r.status, r.raw, proto)
			}
			r, _, _ = doWith(t, c, a.URL(), request{method: "POST", path: "/v1/users/login", basic: [2]string{"admin", testAdminPassword}})
			if r.status != 200 {
				t.Fatalf("login: %d %s", r.status, r.raw)
			}
			token := r.body["users"].([]any)[0].(map[string]any)["token"].(string)
			r, _, _ = doWith(t, c, a.URL(), request{method: "POST", path: "/v1/messages", token: token,
				body: `{"to":"15551230001","type":"text","text":{"body":"over HTTPS"}}`})
			if r.status != 201 || r.body["messages"] == nil {
				t.Fatalf("send: %d %s", r.status, r.raw)
			}
		})
	}

	t.Run("without the CA", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}, Timeout: 10 * time.Second}
		_, err := c.Get(a.URL() + "/healthz")
		var verr *tls.CertificateVerificationError
		if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") || !errors.As(err, &verr) {
			t.Fatalf("err = %v, want a certificate verification failure", err)
		}
		// Plain HTTP on the HTTPS port is refused, not served.
		resp, err := http.Get(strings.Replace(a.URL(), "https://", "http://", 1) + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Fatal("plain HTTP was served on the HTTPS port")
			}
		}
	})

	// A restart with the same data folder reuses every file unchanged.
	before := readTLSFiles(t, cfg.Data)
	_, _, served := doWith(t, trustingClient(t, caFile, true), a.URL(), request{method: "GET", path: "/healthz"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	a2 := start(t, cfg)
	for f, b := range readTLSFiles(t, cfg.Data) {
		if !bytes.Equal(b, before[f]) {
			t.Errorf("%s changed across a restart", f)
		}
	}
	_, _, served2 := doWith(t, trustingClient(t, caFile, true), a2.URL(), request{method: "GET", path: "/healthz"})
	if !served2.Equal(served) {
		t.Fatal("the restarted server presents a different certificate")
	}

	var banner bytes.Buffer
	a2.banner(&banner)
	abs, _ := filepath.Abs(caFile)
	for _, want := range []string{a2.URL() + "/v1/", "CA certificate   " + abs, "curl --cacert " + abs,
		"NODE_EXTRA_CA_CERTS=" + abs, "SSL_CERT_FILE=" + abs} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, banner.String())
		}
	}
}

// TestExternalCertificateReloadsAtOnce: POST /v1/certificates/external over HTTPS; the next
// connection presents the uploaded certificate, GET …/external/ca returns its CA, and DELETE
// goes back to the generated one. A bad bundle changes nothing.
func TestExternalCertificateReloadsAtOnce(t *testing.T) {
	cfg := tlsConfig(t)
	a := start(t, cfg)
	caFile := filepath.Join(cfg.Data, "tls", "ca.pem")
	c := trustingClient(t, caFile, true)
	token := func() string {
		r, _, _ := doWith(t, c, a.URL(), request{method: "POST", path: "/v1/users/login", basic: [2]string{"admin", testAdminPassword}})
		return r.body["users"].([]any)[0].(map[string]any)["token"].(string)
	}()
	r, _, _ := doWith(t, c, a.URL(), request{method: "GET", path: "/v1/certificates/external/ca", token: token})
	if generated, _ := os.ReadFile(caFile); r.status != 200 || !bytes.Equal(r.raw, generated) {
		t.Fatalf("external/ca before the upload: %d, want the generated ca.pem", r.status)
	}

	// A bundle from another CA, for 127.0.0.1.
	other := t.TempDir()
	if _, err := tlsutil.Ensure(other, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(filepath.Join(other, tlsutil.KeyFile))
	chain, _ := os.ReadFile(filepath.Join(other, tlsutil.CertFile))
	otherCA := filepath.Join(other, tlsutil.CAFile)

	r, _, _ = doWith(t, c, a.URL(), request{method: "POST", path: "/v1/certificates/external", token: token,
		contentType: "text/plain", body: "garbage"})
	wantCode(t, r, 400, 1009)
	if v, _ := a.Store().GetSetting(context.Background(), externalCertKey); v != nil {
		t.Fatal("a bad bundle was stored")
	}

	r, _, _ = doWith(t, c, a.URL(), request{method: "POST", path: "/v1/certificates/external", token: token,
		contentType: "text/plain", body: string(key) + string(chain)})
	if r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.raw)
	}
	c2 := trustingClient(t, otherCA, true)
	r, _, served := doWith(t, c2, a.URL(), request{method: "GET", path: "/v1/certificates/external/ca", token: token})
	if want, _ := os.ReadFile(otherCA); r.status != 200 || !bytes.Equal(r.raw, want) {
		t.Fatalf("external/ca after the upload: %d %s", r.status, r.raw)
	}
	if !strings.HasPrefix(served.Issuer.CommonName, "waba local CA") || served.CheckSignatureFrom(mustCert(t, otherCA)) != nil {
		t.Fatal("the uploaded certificate is not the one served")
	}

	r, _, _ = doWith(t, c2, a.URL(), request{method: "DELETE", path: "/v1/certificates/external", token: token})
	if r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	c3 := trustingClient(t, caFile, true)
	if r, _, _ := doWith(t, c3, a.URL(), request{method: "GET", path: "/healthz"}); r.status != 200 {
		t.Fatalf("healthz after DELETE: %d", r.status)
	}
}

func mustCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBringYourOwnCertificate: --tls-cert/--tls-key are served; a pair that does not match, or
// has expired, stops New with a clear message.
func TestBringYourOwnCertificate(t *testing.T) {
	dir := t.TempDir()
	good, other, old := filepath.Join(dir, "good"), filepath.Join(dir, "other"), filepath.Join(dir, "old")
	for d, at := range map[string]time.Time{good: time.Now(), other: time.Now(), old: time.Now().Add(-2 * tlsutil.ServerValidity)} {
		if _, err := tlsutil.Ensure(d, nil, at); err != nil {
			t.Fatal(err)
		}
	}
	cert := func(d string) string { return filepath.Join(d, tlsutil.CertFile) }
	key := func(d string) string { return filepath.Join(d, tlsutil.KeyFile) }

	cfg := tlsConfig(t)
	cfg.TLSCert, cfg.TLSKey = cert(good), key(good)
	a := start(t, cfg)
	if a.CAPath() != "" {
		t.Fatalf("CAPath = %q with the operator's own certificate", a.CAPath())
	}
	if _, err := os.Stat(tlsutil.Dir(cfg.Data)); err == nil {
		t.Fatal("a CA was generated although a certificate was given")
	}
	c := trustingClient(t, filepath.Join(good, tlsutil.CAFile), true)
	if r, _, _ := doWith(t, c, a.URL(), request{method: "GET", path: "/healthz"}); r.status != 200 {
		t.Fatalf("healthz: %d", r.status)
	}

	for _, tc := range []struct{ name, cert, key, want string }{
		{"mismatch", cert(good), key(other), "the private key does not match the certificate"},
		{"expired", cert(old), key(old), "expired on"},
		{"unreadable", filepath.Join(dir, "nope.pem"), key(good), "cannot read the certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tlsConfig(t)
			cfg.TLSCert, cfg.TLSKey = tc.cert, tc.key
			a, err := New(context.Background(), cfg, testLogger(t))
			if err == nil {
				a.Stop(context.Background())
				t.Fatal("New accepted the certificate")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// tlsReceiver is a webhook endpoint on 127.0.0.1 with its own self-signed certificate
// (httptest's), which nothing trusts until its CA is uploaded.
type tlsReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newTLSReceiver(t *testing.T) *tlsReceiver {
	r := &tlsReceiver{}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body map[string]any
		json.NewDecoder(req.Body).Decode(&body)
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.mu.Unlock()
	}))
	r.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // our failed handshakes are expected
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *tlsReceiver) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw}))
}

func (r *tlsReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// TestWebhookVerifiesCertificates: deliveries to an HTTPS endpoint signed by an unknown CA
// fail with the verification error in the attempt log (and are retried) until the CA is
// uploaded through /v1/certificates/webhooks/ca; then they arrive. Deleting the CA brings
// the failure back.
func TestWebhookVerifiesCertificates(t *testing.T) {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.Data = filepath.Join(t.TempDir(), "data")
	cfg.AdminPassword = testAdminPassword
	a := start(t, cfg)
	base := a.URL()
	token := login(t, base, "admin", testAdminPassword)
	recv := newTLSReceiver(t)

	r := do(t, base, request{method: "PATCH", path: "/v1/settings/application", token: token,
		body: `{"webhooks":{"url":"` + recv.srv.URL + `/hook"},"sent_status":true}`})
	if r.status != 200 {
		t.Fatalf("settings: %d %s", r.status, r.raw)
	}
	r = do(t, base, request{method: "POST", path: "/sandbox/v1/users/15551230001/messages", token: token,
		body: `{"type":"text","text":{"body":"hi"}}`})
	if r.status != 201 {
		t.Fatalf("user message: %d %s", r.status, r.raw)
	}

	// The attempt log shows the verification failure, with its reason.
	failure := waitAttempt(t, base, token, func(at map[string]any) bool {
		e, _ := at["error"].(string)
		return strings.Contains(e, "certificate")
	})
	e := failure["error"].(string)
	t.Logf("attempt error: %s", e)
	for _, want := range []string{"tls: failed to verify certificate", "x509: certificate signed by unknown authority", "POST /v1/certificates/webhooks/ca"} {
		if !strings.Contains(e, want) {
			t.Errorf("attempt error %q lacks %q", e, want)
		}
	}
	if recv.count() != 0 {
		t.Fatal("the receiver got a request although its certificate does not verify")
	}

	// Malformed PEM is refused with 1009 and stores nothing.
	r = do(t, base, request{method: "POST", path: "/v1/certificates/webhooks/ca", token: token, contentType: "text/plain", body: "not a certificate"})
	wantError(t, r, 400, 1009, "Parameter value is not valid", "Invalid CA bundle: the body is not PEM: no -----BEGIN …----- block found")
	if r := rawGet(t, base+"/v1/certificates/webhooks/ca", token); r.status != 404 || len(r.raw) != 0 {
		t.Fatalf("GET webhooks/ca after a refused upload: %d %q", r.status, r.raw)
	}

	// Upload the receiver's CA; the retry goes through.
	r = do(t, base, request{method: "POST", path: "/v1/certificates/webhooks/ca", token: token, contentType: "text/plain", body: recv.caPEM()})
	if r.status != 200 {
		t.Fatalf("upload CA: %d %s", r.status, r.raw)
	}
	if r := rawGet(t, base+"/v1/certificates/webhooks/ca", token); r.status != 200 || string(r.raw) != recv.caPEM() {
		t.Fatalf("GET webhooks/ca: %d %s", r.status, r.raw)
	}
	r = do(t, base, request{method: "POST", path: "/sandbox/v1/webhooks/redeliver", token: token, body: `{"all_pending":true}`})
	if r.status != 200 {
		t.Fatalf("redeliver: %d %s", r.status, r.raw)
	}
	deadline := time.Now().Add(15 * time.Second)
	for recv.count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the webhook never arrived after the CA was uploaded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	recv.mu.Lock()
	msgs, _ := recv.bodies[0]["messages"].([]any)
	recv.mu.Unlock()
	if len(msgs) != 1 || msgs[0].(map[string]any)["from"] != "15551230001" {
		t.Fatalf("delivered body: %s", mustJSON(recv.bodies[0]))
	}
	// The delivered attempt's body is not stored twice: the sandbox rebuilds it from the
	// webhooks it carried, and it is the body the receiver got.
	at := waitAttempt(t, base, token, func(at map[string]any) bool { return at["status"] == float64(200) })
	var rebuilt map[string]any
	if err := json.Unmarshal([]byte(at["request"].(string)), &rebuilt); err != nil {
		t.Fatalf("attempt request %q: %v", at["request"], err)
	}
	recv.mu.Lock()
	got := mustJSON(recv.bodies[0])
	recv.mu.Unlock()
	if string(mustJSON(rebuilt)) != string(got) {
		t.Fatalf("attempt request %s, want the delivered body %s", mustJSON(rebuilt), got)
	}
}

// waitAttempt polls GET /sandbox/v1/attempts until one matches.
func waitAttempt(t *testing.T, base, token string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := do(t, base, request{method: "GET", path: "/sandbox/v1/attempts", token: token})
		list, _ := r.body["attempts"].([]any)
		for _, x := range list {
			if at := x.(map[string]any); match(at) {
				return at
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching attempt; attempts: %s", r.raw)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// rawGet is a GET whose body need not be JSON (PEM, or none).
func rawGet(t *testing.T, url, token string) response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, raw: raw}
}
