package app

import (
	"context"
	"fmt"
	"io"
	"strings"
)

func (a *App) banner(w io.Writer) {
	url := a.URL()
	db := "SQLite " + a.cfg.SQLitePath()
	if a.cfg.IsPostgres() {
		db = "PostgreSQL " + a.cfg.Redacted()
	}
	curl, trust := "curl", ""
	if a.cfg.TLS {
		curl, trust = a.tlsBanner()
	}
	if a.cfg.WebhookInsecure {
		trust += "\nWARNING: webhook certificate verification is OFF (webhook_insecure_skip_verify); for local testing only.\n"
	}
	dialect := a.cfg.WebhookDialect
	if reg, err := a.eng.Registry(context.Background()); err == nil {
		if n, ok := reg.Number(a.cfg.PhoneNumber); ok {
			dialect = n.WebhookDialect
		}
	}
	login := curl + ` -s -u admin:secret -H 'Content-Type: application/json' \
      -d '{"new_password":"N3w-Passw0rd!"}' ` + url + `/v1/users/login`
	if a.cfg.AdminPassword != "" {
		login = curl + ` -s -u admin:"$WABA_ADMIN_PASSWORD" -X POST ` + url + `/v1/users/login`
	}
	fmt.Fprintf(w, `
waba is running — a WhatsApp Business API you can test against.

  On-Premises API  %s/v1/
  Cloud API        %s/v24.0/%s/messages
  Phone-number id  %s
  WABA id          %s
  Access token     %s
  App secret       %s
  Verify token     %s
  Webhook dialect  %s
  Web UI           %s/
  Health           %s/healthz
  Database         %s
  Business number  +%s
%s
Log in (the first admin login must set a new password; WABA_ADMIN_PASSWORD skips that):
  %s
Keep the token it returns: TOKEN=…
Point the webhooks at your endpoint (sent_status adds "sent" callbacks):
  %s -s -X PATCH -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      -d '{"webhooks":{"url":"http://127.0.0.1:8080/webhook"},"sent_status":true}' %s/v1/settings/application
A simulated customer writes first — as on WhatsApp, a free-form reply needs the 24-hour window
their message opens (without it the send fails with 470):
  %s -s -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      -d '{"type":"text","text":{"body":"Hi! Is my order on its way?"}}' %s/sandbox/v1/users/15551230001/messages
Then answer them; sent, delivered and read arrive at your webhook within seconds:
  %s -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      -d '{"to":"15551230001","type":"text","text":{"body":"Yes, it ships today"}}' %s/v1/messages

Or, through the Cloud API, the approved template hello_world (en_US), delivered outside any window:
  %s -s -H "Authorization: Bearer %s" -H 'Content-Type: application/json' \
      -d '{"messaging_product":"whatsapp","to":"15551230002","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}' %s/v24.0/%s/messages

Magic numbers for every failure: docs/magic-numbers.md. Sandbox API: %s/sandbox/v1/openapi.yaml
Stop with Ctrl-C; accepted messages are committed before it exits.
`, url, url, a.cfg.PhoneNumberID, a.cfg.PhoneNumberID, a.cfg.WABAID, a.cfg.AccessToken, a.cfg.AppSecret, a.cfg.VerifyToken, dialect, url, url, db, a.cfg.PhoneNumber, trust, login, curl, url, curl, url, curl, url,
		curl, a.cfg.AccessToken, url, a.cfg.PhoneNumberID, url)
}

// tlsBanner is the curl command that trusts the server's certificate, and the lines that tell
// each common client how to trust it.
func (a *App) tlsBanner() (curl, trust string) {
	ca := a.CAPath()
	if ca == "" { // the operator's own certificate: clients trust its CA already
		return "curl", fmt.Sprintf("  HTTPS            certificate %s (HTTP/2 and HTTP/1.1)\n", a.cfg.TLSCert)
	}
	curl = "curl --cacert " + shellQuote(ca)
	q := shellQuote(ca)
	trust = fmt.Sprintf(`  HTTPS            HTTP/2 and HTTP/1.1, certificate from the local CA below
  CA certificate   %s

Trust the CA once per client (or add it to the system store):
  curl              curl --cacert %s %s/healthz
  Node.js           NODE_EXTRA_CA_CERTS=%s node app.js
  Go, Python        SSL_CERT_FILE=%s ./app   (Python requests: REQUESTS_CA_BUNDLE=%s)
`, ca, q, a.URL(), q, q, q)
	return curl, trust
}

// shellQuote quotes a path for a copy-and-paste shell line when it needs it.
func shellQuote(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@", r)) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}
