package tlsutil

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range []string{CAFile, CAKeyFile, CertFile, KeyFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	return out
}

func TestEnsureCreatesThenReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	g, err := Ensure(dir, []string{"waba.test", "10.1.2.3"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Created || !g.Renewed {
		t.Fatalf("first start: Created=%v Renewed=%v, want both", g.Created, g.Renewed)
	}
	for f, mode := range map[string]os.FileMode{CAFile: 0o644, CertFile: 0o644, CAKeyFile: 0o600, KeyFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", f, fi.Mode().Perm(), mode)
		}
	}
	leaf := g.Cert.Leaf
	for _, h := range []string{"127.0.0.1", "::1", "localhost", "waba.test", "10.1.2.3"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not cover %s: %v", h, err)
		}
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(g.CAPEM)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost", CurrentTime: now}); err != nil {
		t.Fatalf("server certificate does not verify against ca.pem: %v", err)
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA", leaf.PublicKeyAlgorithm)
	}

	before := readAll(t, dir)
	g2, err := Ensure(dir, []string{"waba.test", "10.1.2.3"}, now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if g2.Created || g2.Renewed {
		t.Fatalf("second start: Created=%v Renewed=%v, want neither", g2.Created, g2.Renewed)
	}
	for f, b := range readAll(t, dir) {
		if !bytes.Equal(b, before[f]) {
			t.Errorf("%s changed on a restart", f)
		}
	}
}

func TestEnsureRenews(t *testing.T) {
	tests := []struct {
		name  string
		when  time.Time
		hosts []string
	}{
		{"near expiry", now.Add(ServerValidity - RenewBefore + time.Hour), nil},
		{"new host", now.Add(time.Hour), []string{"api.waba.test"}},
		{"new IP", now.Add(time.Hour), []string{"192.0.2.7"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Ensure(dir, nil, now); err != nil {
				t.Fatal(err)
			}
			before := readAll(t, dir)
			g, err := Ensure(dir, tc.hosts, tc.when)
			if err != nil {
				t.Fatal(err)
			}
			if g.Created || !g.Renewed {
				t.Fatalf("Created=%v Renewed=%v, want a renewed server certificate only", g.Created, g.Renewed)
			}
			after := readAll(t, dir)
			if !bytes.Equal(after[CAFile], before[CAFile]) || !bytes.Equal(after[CAKeyFile], before[CAKeyFile]) {
				t.Fatal("the CA changed; clients would have to trust it again")
			}
			if bytes.Equal(after[CertFile], before[CertFile]) {
				t.Fatal("cert.pem did not change")
			}
			if !g.Cert.Leaf.NotAfter.After(tc.when.Add(RenewBefore)) {
				t.Fatalf("renewed certificate ends %v", g.Cert.Leaf.NotAfter)
			}
			for _, h := range tc.hosts {
				if err := g.Cert.Leaf.VerifyHostname(h); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestEnsureRefusesABrokenCA(t *testing.T) {
	dir := t.TempDir()
	if _, err := Ensure(dir, nil, now); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, CAFile), []byte("garbage"), 0o644)
	_, err := Ensure(dir, nil, now)
	if err == nil || !strings.Contains(err.Error(), "delete the folder") {
		t.Fatalf("err = %v, want a clear error telling how to start over", err)
	}
	os.Remove(filepath.Join(dir, CAFile))
	_, err = Ensure(dir, nil, now)
	if err == nil || !strings.Contains(err.Error(), "read the CA certificate") {
		t.Fatalf("err = %v, want a clear error about the missing ca.pem", err)
	}
}

// fixture is a CA and a server certificate made with the package's own generators.
type fixture struct {
	caPEM, certPEM, keyPEM []byte
}

func newFixture(t *testing.T, at time.Time, hosts ...string) fixture {
	t.Helper()
	ca, caKey, caPEM, err := newCA(at)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := newServer(ca, caKey, HostList(hosts), at)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{caPEM: caPEM, certPEM: certPEM, keyPEM: keyPEM}
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, []byte("\n")) }

func TestParseBundle(t *testing.T) {
	good := newFixture(t, now)
	other := newFixture(t, now)
	old := newFixture(t, now.Add(-2*ServerValidity))
	tests := []struct {
		name    string
		bundle  []byte
		wantErr string
	}{
		{"key cert ca", join(good.keyPEM, good.certPEM, good.caPEM), ""},
		{"any order", join(good.caPEM, good.certPEM, good.keyPEM), ""},
		{"empty", []byte("  \n"), "body is empty"},
		{"garbage", []byte("hello world"), "not PEM"},
		{"trailing garbage", join(good.keyPEM, good.certPEM, good.caPEM, []byte("oops")), "text after PEM block 3"},
		{"no key", join(good.certPEM, good.caPEM), "no private key"},
		{"no cert", good.keyPEM, "no certificate"},
		{"no CA", join(good.keyPEM, good.certPEM), "no intermediate CA"},
		{"mismatch", join(other.keyPEM, good.certPEM, good.caPEM), "matches none of the 2 certificates"},
		{"expired", join(old.keyPEM, old.certPEM, old.caPEM), "expired on"},
		{"two keys", join(good.keyPEM, good.keyPEM, good.certPEM, good.caPEM), "second private key"},
		{"bad cert bytes", join(good.keyPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("xx")})), "not a valid X.509 certificate"},
		{"other block", join(good.keyPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("xx")})), `"PUBLIC KEY"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseBundle(tc.bundle, now)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(p.CAPEM, good.caPEM) || len(p.Cert.Certificate) != 2 {
					t.Fatalf("CAPEM/chain wrong: %d certificates", len(p.Cert.Certificate))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadPair(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	good := newFixture(t, now)
	other := newFixture(t, now)
	old := newFixture(t, now.Add(-2*ServerValidity))
	certOnly := write("cert.pem", good.certPEM)
	chain := write("chain.pem", join(good.certPEM, good.caPEM))
	key := write("key.pem", good.keyPEM)
	tests := []struct {
		name, cert, key, wantErr string
	}{
		{"leaf only", certOnly, key, ""},
		{"with chain", chain, key, ""},
		{"mismatch", chain, write("other-key.pem", other.keyPEM), "does not match"},
		{"expired", write("old.pem", old.certPEM), write("old-key.pem", old.keyPEM), "expired on"},
		{"unreadable cert", filepath.Join(dir, "missing.pem"), key, "cannot read the certificate"},
		{"unreadable key", certOnly, filepath.Join(dir, "missing-key.pem"), "cannot read the private key"},
		{"garbage", write("junk.pem", []byte("junk")), key, "not PEM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := LoadPair(tc.cert, tc.key, now)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.cert == chain && !bytes.Equal(p.CAPEM, good.caPEM) {
					t.Fatal("CAPEM is not the chain's CA")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseCAs(t *testing.T) {
	a, b := newFixture(t, now), newFixture(t, now)
	if cas, err := ParseCAs(join(a.caPEM, b.caPEM)); err != nil || len(cas) != 2 {
		t.Fatalf("two CAs: %d, %v", len(cas), err)
	}
	for name, tc := range map[string]struct {
		in   []byte
		want string
	}{
		"empty":       {nil, "body is empty"},
		"not PEM":     {[]byte("-----BEGIN CERTIFICATE----- abc"), "not PEM"},
		"private key": {join(a.caPEM, a.keyPEM), "never a private key"},
		"bad DER":     {pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}}), "PEM block 1 is not a valid X.509 certificate"},
	} {
		if _, err := ParseCAs(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}

func TestCheckHostAndHostList(t *testing.T) {
	for _, h := range []string{"waba.test", "*.waba.test", "10.0.0.1", "fe80::1", "my-host"} {
		if why := CheckHost(h); why != "" {
			t.Errorf("CheckHost(%q) = %q, want ok", h, why)
		}
	}
	for _, h := range []string{"", "bad host", "-x.test", "a..b", "http://x"} {
		if CheckHost(h) == "" {
			t.Errorf("CheckHost(%q) accepted", h)
		}
	}
	got := HostList([]string{" localhost ", "x.test", "", "x.test"})
	if !slices.Equal(got, []string{"127.0.0.1", "::1", "localhost", "x.test"}) {
		t.Fatalf("HostList = %v", got)
	}
	if net.ParseIP(got[1]) == nil {
		t.Fatal("::1 must be an IP")
	}
}
