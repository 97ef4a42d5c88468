package app

import (
	"fmt"
	"io"
	"net/http"
)

func (a *App) banner(w io.Writer) {
	url := a.URL()
	db := "SQLite " + a.cfg.SQLitePath()
	if a.cfg.IsPostgres() {
		db = "PostgreSQL " + a.cfg.Redacted()
	}
	login := `curl -s -u admin:secret -H 'Content-Type: application/json' \
      -d '{"new_password":"N3w-Passw0rd!"}' ` + url + `/v1/users/login`
	if a.cfg.AdminPassword != "" {
		login = `curl -s -u admin:"$WABA_ADMIN_PASSWORD" -X POST ` + url + `/v1/users/login`
	}
	fmt.Fprintf(w, `
waba is running — a WhatsApp Business API you can test against.

  On-Premises API  %s/v1/
  Web UI           %s/
  Health           %s/healthz
  Database         %s
  Business number  +%s

Log in (the first admin login must set a new password; WABA_ADMIN_PASSWORD skips that):
  %s
Then send a message with the token it returns:
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      -d '{"to":"15551230001","type":"text","text":{"body":"Hello from waba"}}' %s/v1/messages

Stop with Ctrl-C; accepted messages are committed before it exits.
`, url, url, url, db, a.cfg.PhoneNumber, login, url)
}

// home is the placeholder front page until the web UI lands: how to start, in one screen.
func (a *App) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	a.banner(w)
}
