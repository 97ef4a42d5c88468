package onprem

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openwaba/waba/internal/metrics"
	"github.com/openwaba/waba/internal/waerr"
)

func TestHealth(t *testing.T) {
	base := newNetBase(t)
	for _, status := range []string{"connected", "connecting", "disconnected", "uninitialized", "unregistered"} {
		t.Run(status, func(t *testing.T) {
			e := base.env()
			e.net.gateway = status
			r := e.do(t, netReq{method: http.MethodGet, path: "/v1/health", token: e.token})
			wantNetJSON(t, r, http.StatusOK, `{"health":{"gateway_status":"`+status+`"},"meta":`+netMeta+`}`)
		})
	}
	t.Run("D360-API-KEY alias", func(t *testing.T) {
		e := base.env()
		r := e.do(t, netReq{method: http.MethodGet, path: "/v1/health", header: map[string]string{"D360-API-KEY": e.token}})
		wantNetJSON(t, r, http.StatusOK, `{"health":{"gateway_status":"connected"},"meta":`+netMeta+`}`)
	})
	t.Run("POST", func(t *testing.T) {
		e := base.env()
		r := e.do(t, netReq{method: http.MethodPost, path: "/v1/health", body: `{}`, token: e.token})
		wantNetError(t, r, http.StatusMethodNotAllowed, 1025, tRequest, "Method POST is not allowed on /v1/health; use GET")
	})
}

func statsEnv(b *netBase) *netEnv {
	e := b.env()
	e.stats.app = AppStats{CallbackQueueSize: 450, CallbackRequests: map[string]int64{"success": 12, "500": 3, "error": 1}}
	e.stats.db = DBStats{MessagesOutbound: 40, MessagesInbound: 2, PendingMessages: 5, PendingCallbacks: 7}
	return e
}

const appStatsJSON = `{"callback_queue_size":{"data":[{"value":450}],"help":"Current callback queue size","type":"gauge"},` +
	`"callback_requests":{"data":[` +
	`{"labels":{"result":"500"},"value":3},` +
	`{"labels":{"result":"error"},"value":1},` +
	`{"labels":{"result":"success"},"value":12}],` +
	`"help":"Total number of callback requests made","type":"counter"}}`

const dbStatsJSON = `{"db_messages":{"data":[` +
	`{"labels":{"direction":"inbound"},"value":2},` +
	`{"labels":{"direction":"outbound"},"value":40}],` +
	`"help":"Current number of messages in DB","type":"gauge"},` +
	`"db_pending_callbacks":{"data":[{"value":7}],"help":"Current number of pending callbacks in DB","type":"gauge"},` +
	`"db_pending_messages":{"data":[{"value":5}],"help":"Current number of pending messages in DB","type":"gauge"}}`

const dbStatsText = `# HELP db_messages Current number of messages in DB
# TYPE db_messages gauge
db_messages{direction="inbound"} 2
db_messages{direction="outbound"} 40
# HELP db_pending_callbacks Current number of pending callbacks in DB
# TYPE db_pending_callbacks gauge
db_pending_callbacks 7
# HELP db_pending_messages Current number of pending messages in DB
# TYPE db_pending_messages gauge
db_pending_messages 5
`

func TestStatsJSON(t *testing.T) {
	base := newNetBase(t)
	cases := []struct{ path, want string }{
		{"/v1/stats/app", `{"stats":{"app":` + appStatsJSON + `},"meta":` + netMeta + `}`},
		{"/v1/stats/db", `{"stats":{"db":` + dbStatsJSON + `},"meta":` + netMeta + `}`},
		{"/v1/stats/db/internal", `{"stats":{"db":{"internal":` + dbStatsJSON + `}},"meta":` + netMeta + `}`},
		// Any format other than prometheus is JSON, as in the WebApp.
		{"/v1/stats/app?format=json", `{"stats":{"app":` + appStatsJSON + `},"meta":` + netMeta + `}`},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			e := statsEnv(base)
			r := e.do(t, netReq{method: http.MethodGet, path: c.path, token: e.token})
			wantNetJSON(t, r, http.StatusOK, c.want)
		})
	}
	t.Run("payload key first", func(t *testing.T) {
		e := statsEnv(base)
		r := e.do(t, netReq{method: http.MethodGet, path: "/v1/stats/db", token: e.token})
		if !strings.HasPrefix(string(r.raw), `{"stats":{"db":{"db_messages":`) {
			t.Fatalf("body starts %.40s", r.raw)
		}
	})
	t.Run("no callbacks yet", func(t *testing.T) {
		e := base.env()
		r := e.do(t, netReq{method: http.MethodGet, path: "/v1/stats/app", token: e.token})
		wantNetJSON(t, r, http.StatusOK, `{"stats":{"app":{`+
			`"callback_queue_size":{"data":[{"value":0}],"help":"Current callback queue size","type":"gauge"},`+
			`"callback_requests":{"data":[],"help":"Total number of callback requests made","type":"counter"}}},"meta":`+netMeta+`}`)
	})
}

func TestStatsPrometheus(t *testing.T) {
	base := newNetBase(t)
	cases := []struct{ path, want string }{
		{"/v1/stats/app?format=prometheus", `# HELP callback_queue_size Current callback queue size
# TYPE callback_queue_size gauge
callback_queue_size 450
# HELP callback_requests Total number of callback requests made
# TYPE callback_requests counter
callback_requests{result="500"} 3
callback_requests{result="error"} 1
callback_requests{result="success"} 12
`},
		{"/v1/stats/db?format=prometheus", dbStatsText},
		{"/v1/stats/db/internal?format=prometheus", dbStatsText},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			e := statsEnv(base)
			r := e.do(t, netReq{method: http.MethodGet, path: c.path, token: e.token})
			if r.status != http.StatusOK || string(r.raw) != c.want {
				t.Fatalf("got %d\n%s\nwant\n%s", r.status, r.raw, c.want)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
				t.Fatalf("Content-Type = %q", ct)
			}
		})
	}
	t.Run("metrics without samples are left out", func(t *testing.T) {
		e := base.env()
		r := e.do(t, netReq{method: http.MethodGet, path: "/v1/stats/app?format=prometheus", token: e.token})
		want := "# HELP callback_queue_size Current callback queue size\n# TYPE callback_queue_size gauge\ncallback_queue_size 0\n"
		if r.status != http.StatusOK || string(r.raw) != want {
			t.Fatalf("got %d\n%s", r.status, r.raw)
		}
	})
}

func TestPrometheusTextEscapes(t *testing.T) {
	got := string(prometheusText(map[string]stat{
		"m": {Data: []sample{{Labels: map[string]string{"b": `q"uo\te`, "a": "new\nline"}, Value: -1}}, Help: "a\\b\nc", Type: "gauge"},
	}))
	want := "# HELP m a\\\\b\\nc\n# TYPE m gauge\nm{a=\"new\\nline\",b=\"q\\\"uo\\\\te\"} -1\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestStatsErrors(t *testing.T) {
	base := newNetBase(t)
	cases := []struct {
		name           string
		method, path   string
		appErr, dbErr  error
		status, code   int
		title, details string
	}{
		{name: "db stats: database down", method: http.MethodGet, path: "/v1/stats/db", dbErr: errors.New("connection refused"),
			status: 500, code: 1023, title: "Database error occurred",
			details: "The database did not answer the stats query; the server log has the cause"},
		{name: "db stats internal: database down, prometheus asked", method: http.MethodGet, path: "/v1/stats/db/internal?format=prometheus",
			dbErr: errors.New("connection refused"), status: 500, code: 1023, title: "Database error occurred",
			details: "The database did not answer the stats query; the server log has the cause"},
		{name: "db stats: a catalogue error passes through", method: http.MethodGet, path: "/v1/stats/db",
			dbErr: waerr.New(waerr.ServiceNotReady, "starting"), status: 500, code: 1011, title: "Service not ready", details: "starting"},
		{name: "app stats: unexpected error", method: http.MethodGet, path: "/v1/stats/app", appErr: errors.New("boom"),
			status: 500, code: 1000, title: "Generic error", details: "Internal server error; the server log has the cause"},
		{name: "POST app", method: http.MethodPost, path: "/v1/stats/app", status: 405, code: 1025, title: tRequest,
			details: "Method POST is not allowed on /v1/stats/app; use GET"},
		{name: "DELETE db", method: http.MethodDelete, path: "/v1/stats/db", status: 405, code: 1025, title: tRequest,
			details: "Method DELETE is not allowed on /v1/stats/db; use GET"},
		{name: "PUT db internal", method: http.MethodPut, path: "/v1/stats/db/internal", status: 405, code: 1025, title: tRequest,
			details: "Method PUT is not allowed on /v1/stats/db/internal; use GET"},
		{name: "unknown stats path", method: http.MethodGet, path: "/v1/stats/nope", status: 404, code: 1006, title: tNotFound,
			details: "Unknown path /v1/stats/nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := statsEnv(base)
			e.stats.appErr, e.stats.dbErr = c.appErr, c.dbErr
			r := e.do(t, netReq{method: c.method, path: c.path, token: e.token})
			wantNetError(t, r, c.status, c.code, c.title, c.details)
		})
	}
}

// The app mounts the metrics registry behind Authed: with a token it scrapes, without it is 401.
func TestMetricsBehindAuthed(t *testing.T) {
	e := newNetEnv(t)
	m := metrics.New()
	m.Accepted("text")
	h := e.h.Authed(m.Handler())
	r := serveNet(t, h, netReq{method: http.MethodGet, path: "/metrics"})
	wantNetError(t, r, http.StatusUnauthorized, 1005, tAccess, tAuthDetails)
	r = serveNet(t, h, netReq{method: http.MethodGet, path: "/metrics", token: e.token})
	if r.status != http.StatusOK || !strings.Contains(string(r.raw), "waba_messages_accepted_total{type=\"text\"} 1\n") {
		t.Fatalf("got %d\n%s", r.status, r.raw)
	}
}
