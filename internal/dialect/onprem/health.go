package onprem

import (
	"bytes"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/openwaba/waba/internal/waerr"
)

// health: GET /v1/health → 200 {"health":{"gateway_status":"connected"},"meta"} (§10, single
// instance). The status follows the network: connected, connecting, disconnected,
// uninitialized or unregistered. It is 200 whatever the status; clients read the field.
//
// Not emulated: the 2019 WebApp's global limit of 10 health checks per 60 s (1015/429, §2.4),
// which would break container probes and test suites that poll, and the multiconnect shape
// keyed by node (waba answers as a single instance).
func (h *netRoutes) health(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		h.methodNotAllowed(w, r, http.MethodGet)
		return
	}
	writePayload(w, http.StatusOK, "health", struct {
		GatewayStatus string `json:"gateway_status"`
	}{h.net.GatewayStatus()})
}

// stat is one metric of /v1/stats in Coreapp's JSON form (§11), e.g.
//
//	"callback_queue_size": { "data": [ { "value": 450 } ], "help": "Current callback queue size", "type": "gauge" }
type stat struct {
	Data []sample `json:"data"`
	Help string   `json:"help"`
	Type string   `json:"type"`
}

type sample struct {
	Labels map[string]string `json:"labels,omitempty"`
	Value  int64             `json:"value"`
}

// Help texts are Meta's, from the stats and stats/db pages (§11).
func appStats(as AppStats) map[string]stat {
	requests := stat{Data: []sample{}, Help: "Total number of callback requests made", Type: "counter"}
	for _, result := range slices.Sorted(maps.Keys(as.CallbackRequests)) {
		requests.Data = append(requests.Data, sample{Labels: map[string]string{"result": result}, Value: as.CallbackRequests[result]})
	}
	return map[string]stat{
		"callback_queue_size": {Data: []sample{{Value: as.CallbackQueueSize}}, Help: "Current callback queue size", Type: "gauge"},
		// Meta also labels callback_requests with the callback `type` (inbound_message,
		// status_change); waba POSTs batches that mix both, so it counts by result only.
		"callback_requests": requests,
	}
}

// dbStats renders DBStats. db_messages is labelled by direction (outbound, inbound), where Meta
// labels by a message `type`; db_contacts and db_message_receipts are not reported, as waba keeps
// neither a contacts cache nor receipt rows.
func dbStats(ds DBStats) map[string]stat {
	return map[string]stat{
		"db_messages": {Data: []sample{
			{Labels: map[string]string{"direction": "inbound"}, Value: ds.MessagesInbound},
			{Labels: map[string]string{"direction": "outbound"}, Value: ds.MessagesOutbound},
		}, Help: "Current number of messages in DB", Type: "gauge"},
		"db_pending_callbacks": {Data: []sample{{Value: ds.PendingCallbacks}}, Help: "Current number of pending callbacks in DB", Type: "gauge"},
		"db_pending_messages":  {Data: []sample{{Value: ds.PendingMessages}}, Help: "Current number of pending messages in DB", Type: "gauge"},
	}
}

// statsApp: GET /v1/stats/app → {"stats":{"app":{…}}} (§11).
func (h *netRoutes) statsApp(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		h.methodNotAllowed(w, r, http.MethodGet)
		return
	}
	as, err := h.stats.AppStats(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeStats(w, r, "app", "", appStats(as))
}

// statsDB: GET /v1/stats/db → {"stats":{"db":{…}}} (§11).
func (h *netRoutes) statsDB(w http.ResponseWriter, r *http.Request) { h.serveDBStats(w, r, "") }

// statsDBInternal: GET /v1/stats/db/internal → {"stats":{"db":{"internal":{…}}}}, the nesting
// the WebApp reads (StatsController: `stats.db.internal`). What Coreapp puts there is
// undocumented; waba reports the same metrics as /v1/stats/db.
func (h *netRoutes) statsDBInternal(w http.ResponseWriter, r *http.Request) {
	h.serveDBStats(w, r, "internal")
}

func (h *netRoutes) serveDBStats(w http.ResponseWriter, r *http.Request, sub string) {
	if r.Method != http.MethodGet {
		h.methodNotAllowed(w, r, http.MethodGet)
		return
	}
	ds, err := h.stats.DBStats(r.Context())
	if err != nil {
		if _, ok := waerr.As(err); !ok && r.Context().Err() == nil {
			h.log.Error("database stats", "err", err)
			err = waerr.New(waerr.DatabaseError, "The database did not answer the stats query; the server log has the cause")
		}
		h.writeError(w, r, err)
		return
	}
	h.writeStats(w, r, "db", sub, dbStats(ds))
}

// writeStats answers {"stats":{"<kind>":{…}}} (or {"stats":{"<kind>":{"<sub>":{…}}}}), or with
// ?format=prometheus the same metrics in the text exposition format. Any other `format` value
// gets JSON, as in the WebApp.
func (h *netRoutes) writeStats(w http.ResponseWriter, r *http.Request, kind, sub string, stats map[string]stat) {
	if r.URL.Query().Get("format") == "prometheus" {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write(prometheusText(stats))
		return
	}
	var inner any = stats
	if sub != "" {
		inner = map[string]any{sub: stats}
	}
	writePayload(w, http.StatusOK, "stats", map[string]any{kind: inner})
}

// prometheusText renders stats as the WebApp does (StatsController::printStat): per metric, by
// name, `# HELP` and `# TYPE` lines and one line per sample with its labels; metrics without
// samples are left out. Label names are sorted so the output is stable.
//
//	# HELP callback_queue_size Current callback queue size
//	# TYPE callback_queue_size gauge
//	callback_queue_size 450
func prometheusText(stats map[string]stat) []byte {
	var b bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(stats)) {
		st := stats[name]
		if len(st.Data) == 0 {
			continue
		}
		b.WriteString("# HELP " + name + " " + escapeHelp(st.Help) + "\n")
		b.WriteString("# TYPE " + name + " " + st.Type + "\n")
		for _, s := range st.Data {
			b.WriteString(name)
			if len(s.Labels) > 0 {
				b.WriteByte('{')
				for i, k := range slices.Sorted(maps.Keys(s.Labels)) {
					if i > 0 {
						b.WriteByte(',')
					}
					b.WriteString(k + `="` + escapeLabel(s.Labels[k]) + `"`)
				}
				b.WriteByte('}')
			}
			b.WriteString(" " + strconv.FormatInt(s.Value, 10) + "\n")
		}
	}
	return b.Bytes()
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }
