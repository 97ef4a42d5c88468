package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/tlsutil"
)

// TestTLSSettings: each TLS setting through the file, the environment and the flags.
func TestTLSSettings(t *testing.T) {
	dir := t.TempDir()
	if _, err := tlsutil.Ensure(dir, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(dir, tlsutil.CertFile), filepath.Join(dir, tlsutil.KeyFile)
	file := filepath.Join(dir, "waba.yaml")
	os.WriteFile(file, []byte("tls: true\ntls_hosts: [from.file]\nwebhook_insecure_skip_verify: true\n"), 0o600)

	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		tls      bool
		hosts    []string
		insecure bool
		cert     string
	}{
		{"defaults", nil, nil, false, nil, false, ""},
		{"file", []string{"--config", file}, nil, true, []string{"from.file"}, true, ""},
		{"env", nil, map[string]string{"WABA_TLS": "1", "WABA_TLS_HOSTS": "a.test, 10.0.0.2,", "WABA_WEBHOOK_INSECURE": "true"},
			true, []string{"a.test", "10.0.0.2"}, true, ""},
		{"flags beat env", []string{"--tls=false", "--tls-hosts", "b.test"}, map[string]string{"WABA_TLS": "1", "WABA_TLS_HOSTS": "a.test"},
			false, []string{"b.test"}, false, ""},
		{"flag", []string{"--tls"}, nil, true, nil, false, ""},
		{"own certificate implies tls", []string{"--tls-cert", cert, "--tls-key", key}, nil, true, nil, false, cert},
		{"own certificate from env", nil, map[string]string{"WABA_TLS_CERT": cert, "WABA_TLS_KEY": key}, true, nil, false, cert},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.TLS != tc.tls || !slices.Equal(c.TLSHosts, tc.hosts) || c.WebhookInsecure != tc.insecure || c.TLSCert != tc.cert {
				t.Fatalf("tls=%v hosts=%q insecure=%v cert=%q", c.TLS, c.TLSHosts, c.WebhookInsecure, c.TLSCert)
			}
		})
	}
}

// TestTLSProblemsListedWithTheOthers: bad TLS settings are reported with every other problem.
func TestTLSProblemsListedWithTheOthers(t *testing.T) {
	dir := t.TempDir()
	_, err := Load([]string{"--shards", "3", "--tls-hosts", "good.test,bad host", "--tls-cert", filepath.Join(dir, "missing.pem"), "--tls-key", filepath.Join(dir, "k.pem")},
		env(map[string]string{"WABA_TLS": "maybe", "WABA_WEBHOOK_INSECURE": "sure"}), io.Discard)
	var p Problems
	if !errors.As(err, &p) {
		t.Fatalf("err = %v, want Problems", err)
	}
	all := strings.Join(p, "\n")
	for _, want := range []string{"shards 3", `WABA_TLS "maybe"`, `WABA_WEBHOOK_INSECURE "sure"`, `tls_hosts "bad host"`, "tls_cert: cannot read the certificate"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
	if _, err := Load([]string{"--tls-key", "k.pem"}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "tls_key is set but tls_cert is not") {
		t.Fatalf("key without cert: %v", err)
	}
}
