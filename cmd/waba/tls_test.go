package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/app"
	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/tlsutil"
)

// TestServeRefusesABadCertificate: a certificate that does not match its key, has expired or
// cannot be read stops `waba serve` before anything starts, with exit 2 and the reason.
func TestServeRefusesABadCertificate(t *testing.T) {
	dir := t.TempDir()
	good, other, old := filepath.Join(dir, "good"), filepath.Join(dir, "other"), filepath.Join(dir, "old")
	for d, at := range map[string]time.Time{good: time.Now(), other: time.Now(), old: time.Now().Add(-2 * tlsutil.ServerValidity)} {
		if _, err := tlsutil.Ensure(d, nil, at); err != nil {
			t.Fatal(err)
		}
	}
	cert := func(d string) string { return filepath.Join(d, tlsutil.CertFile) }
	key := func(d string) string { return filepath.Join(d, tlsutil.KeyFile) }
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"mismatch", []string{"--tls-cert", cert(good), "--tls-key", key(other)}, nil, "the private key does not match the certificate"},
		{"expired", nil, map[string]string{"WABA_TLS_CERT": cert(old), "WABA_TLS_KEY": key(old)}, "expired on"},
		{"unreadable", []string{"--tls", "--tls-cert", filepath.Join(dir, "nope.pem"), "--tls-key", key(good)}, nil, "cannot read the certificate"},
		{"key missing", []string{"--tls-cert", cert(good)}, nil, "tls_cert is set but tls_key is not"},
		{"bad host", []string{"--tls", "--tls-hosts", "ok.test,bad host"}, nil, `tls_hosts "bad host"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data")}, tc.args...)
			code, out, errOut := runCmd(t, tc.env, args...)
			if code != 2 || !strings.Contains(errOut, tc.want) || out != "" {
				t.Fatalf("exit %d, stderr %q, stdout %q; want exit 2 mentioning %q", code, errOut, out, tc.want)
			}
		})
	}
}

// TestHealthcheckOverHTTPS: with TLS configured, `waba healthcheck` speaks HTTPS and trusts
// the data folder's tls/ca.pem; without it, it fails against the HTTPS listener.
func TestHealthcheckOverHTTPS(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	cfg := config.Default()
	cfg.Addr, cfg.Data, cfg.TLS = "127.0.0.1:0", data, true
	ctx := context.Background()
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	if _, err := os.Stat(filepath.Join(data, "tls", "ca.pem")); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"WABA_ADDR": a.Addr(), "WABA_DATA": data, "WABA_TLS": "1"}
	if code, out, errOut := runCmd(t, env, "healthcheck"); code != 0 || strings.TrimSpace(out) != "ok" {
		t.Fatalf("healthcheck over HTTPS: exit %d %q %q", code, out, errOut)
	}
	delete(env, "WABA_TLS")
	if code, _, _ := runCmd(t, env, "healthcheck"); code != 1 {
		t.Fatalf("plain-HTTP healthcheck against HTTPS: exit %d, want 1", code)
	}
	// Trusting a CA that did not sign the certificate fails verification.
	other := filepath.Join(t.TempDir(), "other")
	if _, err := tlsutil.Ensure(filepath.Join(other, "tls"), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	env = map[string]string{"WABA_ADDR": a.Addr(), "WABA_DATA": other, "WABA_TLS": "1"}
	if code, _, errOut := runCmd(t, env, "healthcheck"); code != 1 || !strings.Contains(errOut, "certificate") {
		t.Fatalf("healthcheck trusting another CA: exit %d %q", code, errOut)
	}
}
