// Package tlsutil makes and checks the certificates waba serves HTTPS with: a private CA and a
// server certificate it signs, kept in the data folder and reused across starts
// (Ensure); a certificate and key the operator brings (LoadPair); the PEM bundle uploaded
// through POST /v1/certificates/external (ParseBundle); and CA bundles trusted for webhook
// endpoints (ParseCAs).
//
// Every error says which file or block is wrong and how to fix it; callers show it as it is.
// Keys are ECDSA P-256, which every TLS client of the last decade accepts.
package tlsutil

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Lifetimes and the renewal margin of generated certificates.
const (
	// CAValidity is the lifetime of the generated CA. Clients trust it once, so it lives long.
	CAValidity = 10 * 365 * 24 * time.Hour
	// ServerValidity is the lifetime of a generated server certificate: 397 days, the most
	// that browsers and Apple platforms accept for a TLS server certificate.
	ServerValidity = 397 * 24 * time.Hour
	// RenewBefore is how long before expiry a start replaces the server certificate (and the
	// CA, which is then also near its end).
	RenewBefore = 30 * 24 * time.Hour
)

// File names inside the TLS folder (Dir).
const (
	CAFile    = "ca.pem"     // the CA certificate clients trust
	CAKeyFile = "ca-key.pem" // the CA's private key (0600), needed to renew the server certificate
	CertFile  = "cert.pem"   // the server certificate followed by the CA certificate
	KeyFile   = "key.pem"    // the server's private key (0600)
)

// DefaultHosts are the names every generated server certificate covers.
var DefaultHosts = []string{"127.0.0.1", "::1", "localhost"}

// Dir is the TLS folder inside a data folder.
func Dir(data string) string { return filepath.Join(data, "tls") }

// Generated describes the files Ensure prepared.
type Generated struct {
	Dir     string          // the TLS folder
	CAPath  string          // Dir/ca.pem
	CAPEM   []byte          // the contents of ca.pem
	Cert    tls.Certificate // the server certificate and key, ready to serve
	Created bool            // a new CA was made on this start
	Renewed bool            // a new server certificate was made on this start
}

// Ensure prepares the CA and the server certificate in dir: it makes what is missing, reuses
// what is there, and replaces the server certificate when it expires within RenewBefore, is
// not signed by the CA, or does not cover every host (DefaultHosts plus hosts). Files it writes
// are 0644 for certificates and 0600 for keys, written to a temporary name and renamed, so a
// crash never leaves half a file. A CA file that exists but cannot be used is an error rather
// than silently replaced: clients already trust it.
func Ensure(dir string, hosts []string, now time.Time) (Generated, error) {
	g := Generated{Dir: dir, CAPath: filepath.Join(dir, CAFile)}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return g, fmt.Errorf("create TLS folder: %w", err)
	}
	want := HostList(hosts)

	ca, caKey, caPEM, err := loadCA(dir, now)
	if err != nil {
		return g, err
	}
	if ca == nil {
		if ca, caKey, caPEM, err = newCA(now); err != nil {
			return g, err
		}
		keyPEM, err := encodeKey(caKey)
		if err != nil {
			return g, err
		}
		if err := writeFile(filepath.Join(dir, CAKeyFile), keyPEM, 0o600); err != nil {
			return g, err
		}
		if err := writeFile(g.CAPath, caPEM, 0o644); err != nil {
			return g, err
		}
		g.Created = true
	}
	g.CAPEM = caPEM

	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if !g.Created {
		if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && serverUsable(c, ca, want, now) {
			g.Cert = c
			return g, nil
		}
	}
	certPEM, keyPEM, err := newServer(ca, caKey, want, now)
	if err != nil {
		return g, err
	}
	certPEM = append(certPEM, caPEM...) // serve the chain, as a bought certificate would
	if err := writeFile(keyPath, keyPEM, 0o600); err != nil {
		return g, err
	}
	if err := writeFile(certPath, certPEM, 0o644); err != nil {
		return g, err
	}
	if g.Cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return g, fmt.Errorf("load the new server certificate: %w", err)
	}
	g.Renewed = true
	return g, nil
}

// HostList is DefaultHosts followed by the extra hosts, trimmed, without duplicates.
func HostList(extra []string) []string {
	out := slices.Clone(DefaultHosts)
	for _, h := range extra {
		h = strings.TrimSpace(h)
		if h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// CheckHost reports what is wrong with a --tls-hosts entry: it must be an IP address or a DNS
// name (a leading "*." wildcard allowed). It returns "" for a good one.
func CheckHost(h string) string {
	if net.ParseIP(h) != nil {
		return ""
	}
	name := strings.TrimPrefix(h, "*.")
	if name == "" || len(name) > 253 {
		return "not an IP address or a DNS name"
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "not an IP address or a DNS name"
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Sprintf("not an IP address or a DNS name (character %q)", r)
			}
		}
	}
	return ""
}

// loadCA reads ca.pem and ca-key.pem. Both missing: (nil, nil, nil, nil), make a new one. The CA
// near its end is replaced as if missing (every client must then trust the new one).
func loadCA(dir string, now time.Time) (*x509.Certificate, crypto.Signer, []byte, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	certPEM, errC := os.ReadFile(certPath)
	keyPEM, errK := os.ReadFile(keyPath)
	if errors.Is(errC, os.ErrNotExist) && errors.Is(errK, os.ErrNotExist) {
		return nil, nil, nil, nil
	}
	fix := fmt.Sprintf("; fix it, or delete the folder %s to make a new CA (clients must then trust the new %s)", dir, CAFile)
	if errC != nil {
		return nil, nil, nil, fmt.Errorf("read the CA certificate: %v%s", errC, fix)
	}
	if errK != nil {
		return nil, nil, nil, fmt.Errorf("read the CA key: %v%s", errK, fix)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the CA in %s cannot be used: %v%s", dir, err, fix)
	}
	ca := pair.Leaf
	if !ca.IsCA {
		return nil, nil, nil, fmt.Errorf("%s is not a CA certificate%s", certPath, fix)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil, nil, fmt.Errorf("the CA key in %s cannot sign%s", keyPath, fix)
	}
	if now.Add(RenewBefore).After(ca.NotAfter) {
		return nil, nil, nil, nil
	}
	return ca, signer, certPEM, nil
}

// serverUsable reports whether a stored server certificate can be served as it is.
func serverUsable(c tls.Certificate, ca *x509.Certificate, hosts []string, now time.Time) bool {
	leaf := c.Leaf
	if leaf == nil || now.Before(leaf.NotBefore) || now.Add(RenewBefore).After(leaf.NotAfter) {
		return false
	}
	if leaf.CheckSignatureFrom(ca) != nil {
		return false
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(leaf.DNSNames, h) {
			return false
		}
	}
	return true
}

func newKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

func serial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func newCA(now time.Time) (*x509.Certificate, crypto.Signer, []byte, error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{Organization: []string{"waba development CA"}, CommonName: "waba local CA " + host},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create the CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	return ca, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func newServer(ca *x509.Certificate, caKey crypto.Signer, hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{Organization: []string{"waba development certificate"}, CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ServerValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create the server certificate: %w", err)
	}
	if keyPEM, err = encodeKey(key); err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

func encodeKey(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// writeFile writes data to path with perm, through a temporary file renamed into place.
func writeFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Pair is a certificate with its key, checked and ready to serve.
type Pair struct {
	Cert tls.Certificate
	// CAPEM is the PEM of the CA certificates that came with it (the chain after the leaf), or
	// of the leaf itself when it is self-signed; nil when neither (a client then needs a CA
	// it already trusts). GET /v1/certificates/external/ca serves it.
	CAPEM []byte
}

// LoadPair reads a certificate (PEM, the leaf first, then any intermediates) and its private
// key (PEM) the operator brings with --tls-cert/--tls-key, and checks them as ParseBundle does.
func LoadPair(certFile, keyFile string, now time.Time) (Pair, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return Pair{}, fmt.Errorf("tls_cert: cannot read the certificate: %v", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return Pair{}, fmt.Errorf("tls_key: cannot read the private key: %v", err)
	}
	certs, err := ParseCAs(certPEM) // only CERTIFICATE blocks, the leaf first
	if err != nil {
		return Pair{}, fmt.Errorf("tls_cert %s: %v", certFile, err)
	}
	blocks, err := decodeAll(keyPEM)
	if err != nil {
		return Pair{}, fmt.Errorf("tls_key %s: %v", keyFile, err)
	}
	if len(blocks) != 1 || !strings.HasSuffix(blocks[0].Type, "PRIVATE KEY") {
		return Pair{}, fmt.Errorf("tls_key %s: want exactly one PRIVATE KEY block", keyFile)
	}
	key, err := parseKey(blocks[0])
	if err != nil {
		return Pair{}, fmt.Errorf("tls_key %s: %v", keyFile, err)
	}
	if pub, ok := key.Public().(publicKey); !ok || !pub.Equal(certs[0].PublicKey) {
		return Pair{}, fmt.Errorf("tls_cert %s / tls_key %s: the private key does not match the certificate (CN %q); "+
			"the certificate file must start with the server certificate", certFile, keyFile, certs[0].Subject.CommonName)
	}
	p, err := pair(certs, key, now, false)
	if err != nil {
		return Pair{}, fmt.Errorf("tls_cert %s / tls_key %s: %v", certFile, keyFile, err)
	}
	return p, nil
}

// ParseBundle checks a PEM bundle uploaded with POST /v1/certificates/external
// (shared/reference/onprem-api.md §9.6): one private key, the server certificate, and at least
// one intermediate CA certificate, in any order. The server certificate is the one whose public
// key matches the private key; it must be valid now; the others form its chain. The error says
// what is wrong, for the 1009 details.
func ParseBundle(bundle []byte, now time.Time) (Pair, error) {
	certs, key, err := splitPEM(bundle)
	if err != nil {
		return Pair{}, err
	}
	return pair(certs, key, now, true)
}

// ParseCAs checks a PEM bundle of one or more CA certificates (POST
// /v1/certificates/webhooks/ca) and returns them. Anything other than CERTIFICATE blocks, text
// that is not PEM, or a certificate that does not parse is an error saying which.
func ParseCAs(bundle []byte) ([]*x509.Certificate, error) {
	blocks, err := decodeAll(bundle)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for i, b := range blocks {
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %q; send only CERTIFICATE blocks (never a private key)", i+1, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d is not a valid X.509 certificate: %v", i+1, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// decodeAll splits PEM text into blocks; it fails on text without blocks and on anything but
// white space between and around them.
func decodeAll(data []byte) ([]*pem.Block, error) {
	rest := bytes.TrimSpace(data)
	if len(rest) == 0 {
		return nil, errors.New("the body is empty; send PEM text (-----BEGIN CERTIFICATE----- …)")
	}
	var blocks []*pem.Block
	for len(rest) > 0 {
		b, r := pem.Decode(rest)
		if b == nil {
			if len(blocks) == 0 {
				return nil, errors.New("the body is not PEM: no -----BEGIN …----- block found")
			}
			return nil, fmt.Errorf("text after PEM block %d is not a PEM block", len(blocks))
		}
		blocks = append(blocks, b)
		rest = bytes.TrimSpace(r)
	}
	return blocks, nil
}

// splitPEM returns the certificates and the one private key of a PEM bundle.
func splitPEM(data []byte) ([]*x509.Certificate, crypto.Signer, error) {
	blocks, err := decodeAll(data)
	if err != nil {
		return nil, nil, err
	}
	var certs []*x509.Certificate
	var key crypto.Signer
	for i, b := range blocks {
		switch {
		case b.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("PEM block %d is not a valid X.509 certificate: %v", i+1, err)
			}
			certs = append(certs, c)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			if key != nil {
				return nil, nil, fmt.Errorf("PEM block %d is a second private key; send exactly one", i+1)
			}
			k, err := parseKey(b)
			if err != nil {
				return nil, nil, fmt.Errorf("PEM block %d (%s): %v", i+1, b.Type, err)
			}
			key = k
		default:
			return nil, nil, fmt.Errorf("PEM block %d is a %q; expected CERTIFICATE or PRIVATE KEY", i+1, b.Type)
		}
	}
	if key == nil {
		return nil, nil, errors.New("no private key found; add the server's PRIVATE KEY block")
	}
	if len(certs) == 0 {
		return nil, nil, errors.New("no certificate found; add the server's CERTIFICATE block")
	}
	return certs, key, nil
}

func parseKey(b *pem.Block) (crypto.Signer, error) {
	if b.Headers["Proc-Type"] != "" {
		return nil, errors.New("the key is encrypted; send it without a passphrase")
	}
	var k any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	default:
		return nil, errors.New("unsupported key type; use an RSA, ECDSA or Ed25519 key in PKCS#8, PKCS#1 or SEC 1 form")
	}
	if err != nil {
		return nil, fmt.Errorf("the key does not parse: %v", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("unsupported key type")
	}
	return s, nil
}

type publicKey interface{ Equal(crypto.PublicKey) bool }

// pair finds the certificate that matches key, checks its dates, and orders the chain.
func pair(certs []*x509.Certificate, key crypto.Signer, now time.Time, needCA bool) (Pair, error) {
	pub, ok := key.Public().(publicKey)
	if !ok {
		return Pair{}, errors.New("unsupported key type")
	}
	leafAt := -1
	for i, c := range certs {
		if pub.Equal(c.PublicKey) {
			leafAt = i
			break
		}
	}
	if leafAt < 0 {
		if len(certs) == 1 {
			return Pair{}, fmt.Errorf("the private key does not match the certificate (CN %q)", certs[0].Subject.CommonName)
		}
		return Pair{}, fmt.Errorf("the private key matches none of the %d certificates", len(certs))
	}
	leaf := certs[leafAt]
	const day = "2006-01-02 15:04:05 MST"
	if now.After(leaf.NotAfter) {
		return Pair{}, fmt.Errorf("the certificate (CN %q) expired on %s", leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(day))
	}
	if now.Before(leaf.NotBefore) {
		return Pair{}, fmt.Errorf("the certificate (CN %q) is not valid before %s", leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(day))
	}
	chain := append(slices.Clip(certs[:leafAt]), certs[leafAt+1:]...)
	if needCA && len(chain) == 0 {
		return Pair{}, errors.New("no intermediate CA certificate found; the bundle needs the private key, the certificate and at least one intermediate CA (onprem-api.md §9.6)")
	}
	for _, c := range chain {
		if now.After(c.NotAfter) {
			return Pair{}, fmt.Errorf("the CA certificate (CN %q) in the chain expired on %s", c.Subject.CommonName, c.NotAfter.UTC().Format(day))
		}
	}
	p := Pair{Cert: tls.Certificate{PrivateKey: key, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}}
	for _, c := range chain {
		p.Cert.Certificate = append(p.Cert.Certificate, c.Raw)
		p.CAPEM = append(p.CAPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if len(chain) == 0 && bytes.Equal(leaf.RawIssuer, leaf.RawSubject) && leaf.CheckSignatureFrom(leaf) == nil {
		p.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	}
	return p, nil
}

// Pool is the system's trusted roots plus cas. Without a system pool (a scratch container) it
// is cas alone.
func Pool(cas []*x509.Certificate) *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, c := range cas {
		pool.AddCert(c)
	}
	return pool
}
