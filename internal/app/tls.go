package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/tlsutil"
)

// Settings keys of the certificates uploaded through /v1/certificates (onprem-api.md §9.6).
// They live in the store so that every node sharing a database serves and trusts the same.
const (
	externalCertKey = "tls.external_bundle" // PEM: key, certificate, intermediates
	webhookCAKey    = "tls.webhook_ca"      // PEM: CA certificates
)

// certRefresh is how often a node re-reads the uploaded certificates, to pick up an upload
// made through another node. An upload through this node applies at once.
const certRefresh = 5 * time.Second

// certs is the TLS state of one App: the certificate the HTTPS listener serves, and the
// transport webhook deliveries use, whose trusted roots follow the uploaded webhook CA. It
// implements onprem.CertStore, http.RoundTripper (for the webhook client) and
// tls.Config.GetCertificate.
type certs struct {
	st       store.Store
	log      *slog.Logger
	insecure bool // webhook_insecure_skip_verify

	// Set once by newCerts; nil/empty when TLS is off.
	base   *tls.Certificate // generated, or --tls-cert/--tls-key
	baseCA []byte           // its CA PEM
	caPath string           // the generated ca.pem (absolute); "" with --tls-cert

	mu        sync.RWMutex
	extRaw    []byte // the uploaded bundle as stored
	ext       *tls.Certificate
	extCA     []byte
	hookRaw   []byte // the uploaded webhook CA bundle as stored
	transport *http.Transport

	stop chan struct{}
	done chan struct{}
}

// newCerts prepares the server certificate when cfg.TLS (generating or renewing the files in
// the data folder, or loading --tls-cert/--tls-key) and reads the uploaded certificates.
func newCerts(ctx context.Context, cfg config.Config, st store.Store, log *slog.Logger) (*certs, error) {
	c := &certs{st: st, log: log.With("component", "tls"), insecure: cfg.WebhookInsecure}
	switch {
	case cfg.TLS && cfg.TLSCert != "":
		p, err := tlsutil.LoadPair(cfg.TLSCert, cfg.TLSKey, time.Now())
		if err != nil {
			return nil, err
		}
		c.base, c.baseCA = &p.Cert, p.CAPEM
		c.log.Info("serving HTTPS with the given certificate", "cert", cfg.TLSCert, "expires", p.Cert.Leaf.NotAfter)
	case cfg.TLS:
		g, err := tlsutil.Ensure(tlsutil.Dir(cfg.Data), cfg.TLSHosts, time.Now())
		if err != nil {
			return nil, fmt.Errorf("prepare the HTTPS certificate: %w", err)
		}
		c.base, c.baseCA = &g.Cert, g.CAPEM
		if c.caPath, err = filepath.Abs(g.CAPath); err != nil {
			c.caPath = g.CAPath
		}
		switch {
		case g.Created:
			c.log.Info("made a new local CA and server certificate; clients must trust the CA", "ca", c.caPath)
		case g.Renewed:
			c.log.Info("issued a new server certificate from the existing CA", "ca", c.caPath, "hosts", g.Cert.Leaf.DNSNames, "ips", g.Cert.Leaf.IPAddresses)
		}
	}
	if c.insecure {
		c.log.Warn("WEBHOOK CERTIFICATE VERIFICATION IS OFF (webhook_insecure_skip_verify): deliveries accept any certificate. " +
			"Use it only for local testing; upload the endpoint's CA with POST /v1/certificates/webhooks/ca instead.")
	}
	c.transport = c.newTransport(nil)
	if err := c.reload(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// serverConfig is the listener's TLS configuration: HTTP/2 and HTTP/1.1, TLS 1.2 and up, and
// the certificate chosen per handshake, so an upload applies without a restart.
func (c *certs) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: c.getCertificate,
	}
}

func (c *certs) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ext != nil {
		return c.ext, nil
	}
	if c.base != nil {
		return c.base, nil
	}
	return nil, errors.New("no certificate to serve")
}

// RoundTrip makes webhook POSTs through the current transport. A certificate the endpoint
// presents that does not verify is an error naming the reason and the fix; the attempt log
// records it and the webhook is retried like any failure.
func (c *certs) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.RLock()
	t := c.transport
	c.mu.RUnlock()
	resp, err := t.RoundTrip(req)
	var verr *tls.CertificateVerificationError
	if err != nil && errors.As(err, &verr) {
		err = fmt.Errorf("%w (if the endpoint's certificate is signed by your own CA, upload that CA with POST /v1/certificates/webhooks/ca)", err)
	}
	return resp, err
}

// newTransport is a transport like http.DefaultTransport whose roots are the system pool plus
// the webhook CA bundle.
func (c *certs) newTransport(bundle []byte) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	var cas = tlsutil.Pool(nil)
	if len(bundle) > 0 {
		parsed, err := tlsutil.ParseCAs(bundle)
		if err != nil {
			c.log.Error("the stored webhook CA bundle cannot be used; trusting the system pool only", "err", err)
		} else {
			cas = tlsutil.Pool(parsed)
		}
	}
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cas, InsecureSkipVerify: c.insecure}
	return t
}

// reload reads the uploaded certificates from the store and applies any that changed.
func (c *certs) reload(ctx context.Context) error {
	ext, err := c.setting(ctx, externalCertKey)
	if err != nil {
		return err
	}
	hook, err := c.setting(ctx, webhookCAKey)
	if err != nil {
		return err
	}
	c.applyExternal(ext)
	c.applyWebhookCA(hook)
	return nil
}

func (c *certs) setting(ctx context.Context, key string) ([]byte, error) {
	v, err := c.st.GetSetting(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, nil
}

// applyExternal serves raw from the next handshake. A stored bundle that no longer passes
// (it expired since) is not served: the generated certificate is, and the log says why.
func (c *certs) applyExternal(raw []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bytes.Equal(raw, c.extRaw) {
		return
	}
	c.extRaw, c.ext, c.extCA = raw, nil, nil
	if len(raw) == 0 {
		c.log.Info("no uploaded HTTPS certificate; serving the generated or configured one")
		return
	}
	p, err := tlsutil.ParseBundle(raw, time.Now())
	if err != nil {
		c.log.Error("the uploaded HTTPS certificate cannot be served; serving the generated or configured one", "err", err)
		return
	}
	c.ext, c.extCA = &p.Cert, p.CAPEM
	if c.base == nil {
		c.log.Info("uploaded HTTPS certificate stored; it is served when waba runs with --tls")
	}
}

func (c *certs) applyWebhookCA(raw []byte) {
	c.mu.Lock()
	if bytes.Equal(raw, c.hookRaw) {
		c.mu.Unlock()
		return
	}
	old := c.transport
	c.hookRaw = raw
	c.transport = c.newTransport(raw)
	c.mu.Unlock()
	old.CloseIdleConnections() // connections verified against the old roots are not reused
}

// start re-reads the uploaded certificates every certRefresh until stopped.
func (c *certs) start() {
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.done)
		t := time.NewTicker(certRefresh)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), certRefresh)
				if err := c.reload(ctx); err != nil {
					c.log.Warn("re-read uploaded certificates", "err", err)
				}
				cancel()
			}
		}
	}()
}

func (c *certs) close() {
	if c.stop != nil {
		close(c.stop)
		<-c.done
		c.stop = nil
	}
	c.mu.RLock()
	c.transport.CloseIdleConnections()
	c.mu.RUnlock()
}

// SetExternal implements onprem.CertStore.
func (c *certs) SetExternal(ctx context.Context, bundle []byte) error {
	if err := c.st.PutSetting(ctx, externalCertKey, bundle); err != nil {
		return err
	}
	c.applyExternal(bundle)
	return nil
}

// DeleteExternal implements onprem.CertStore.
func (c *certs) DeleteExternal(ctx context.Context) error {
	if err := c.st.DeleteSetting(ctx, externalCertKey); err != nil {
		return err
	}
	c.applyExternal(nil)
	return nil
}

// ExternalCA implements onprem.CertStore.
func (c *certs) ExternalCA(ctx context.Context) ([]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ext != nil {
		return c.extCA, nil
	}
	return c.baseCA, nil
}

// WebhookCA implements onprem.CertStore.
func (c *certs) WebhookCA(ctx context.Context) ([]byte, error) {
	return c.setting(ctx, webhookCAKey)
}

// SetWebhookCA implements onprem.CertStore.
func (c *certs) SetWebhookCA(ctx context.Context, bundle []byte) error {
	if err := c.st.PutSetting(ctx, webhookCAKey, bundle); err != nil {
		return err
	}
	c.applyWebhookCA(bundle)
	return nil
}

// DeleteWebhookCA implements onprem.CertStore.
func (c *certs) DeleteWebhookCA(ctx context.Context) error {
	if err := c.st.DeleteSetting(ctx, webhookCAKey); err != nil {
		return err
	}
	c.applyWebhookCA(nil)
	return nil
}
