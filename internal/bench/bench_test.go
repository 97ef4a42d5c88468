package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/store/sqlite"
	"github.com/openwaba/waba/internal/wa"
)

// shortRun is the smallest run the tests use: 1 s measured after a short warm-up, 4 workers.
func shortRun() Options {
	return Options{Concurrency: 4, Duration: time.Second, Warmup: 200 * time.Millisecond, Drain: 500 * time.Millisecond, Recipients: 50}
}

// TestEndToEndInProcess is the CI smoke of `waba bench`: about two seconds against an
// in-process waba that the run configures itself (webhooks to the receiver, windows open,
// zero receipt latency, the default). No timed assertion: only that nothing failed and that delivered webhooks came
// back and were matched to their sends.
func TestEndToEndInProcess(t *testing.T) {
	o := shortRun()
	o.Duration = 2 * time.Second
	o.Drain = 5 * time.Second
	o.Preload = 1500 // finished history: must neither be dispatched nor disturb the run
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Setup
	if s == nil || s.Skipped != "" || s.WebhookURL != rep.WebhookURL || s.Windows != 50 || s.Latency != "0 (receipt_latency 0s)" {
		t.Fatalf("setup: %+v (receiver %s)", s, rep.WebhookURL)
	}
	w := rep.Waba
	if w.Sent == 0 || w.Accepted != w.Sent || len(w.Errors) != 0 || w.Non2xx != 0 || w.TransportErrors != 0 {
		t.Fatalf("sent %d, accepted %d, errors %+v (last transport error %q)", w.Sent, w.Accepted, w.Errors, w.LastTransport)
	}
	h := w.Webhook
	if h == nil || h.Invalid != 0 || h.ByStatus["delivered"] == 0 || h.ByStatus["sent"] == 0 || h.ByStatus["failed"] != 0 {
		t.Fatalf("webhooks: %+v", h)
	}
	if h.EndToEnd == nil || h.E2ESamples == 0 || h.Note != "" {
		t.Fatalf("end to end not measured: %+v", h)
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	if wr := w.Writer; wr == nil || wr.TransactionsPerSecond <= 0 || wr.JobsPerTransaction < 1 || wr.Busy <= 0 || wr.CommitMs <= 0 {
		t.Errorf("store writer figures of an in-process SQLite run: %+v", wr)
	}
	if rep.Settings.Preloaded != 1500 {
		t.Errorf("settings.preloaded = %d, want 1500", rep.Settings.Preloaded)
	}
	for _, want := range []string{"setup (", "delivered and read latency: 0 (receipt_latency 0s); 50 service windows opened", "end-to-end (send → first delivered webhook", "store preloaded with 1500 finished messages", "store writer (SQLite's one write connection): "} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestRunInProcess(t *testing.T) {
	o := shortRun()
	o.Latency = "1ms" // given to each recipient by the setup
	var progress bytes.Buffer
	o.Progress = &progress
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	w := rep.Waba
	if w.Sent == 0 || w.Accepted != w.Sent {
		t.Fatalf("every measured request should be answered 201: sent %d, accepted %d, errors %+v (last transport error %q)",
			w.Sent, w.Accepted, w.Errors, w.LastTransport)
	}
	if len(w.Errors) != 0 || w.Non2xx != 0 || w.TransportErrors != 0 || w.Unsent != 0 {
		t.Fatalf("want no errors, got %+v non-2xx %d transport %d unsent %d", w.Errors, w.Non2xx, w.TransportErrors, w.Unsent)
	}
	l := w.Latency
	if w.AcceptedPerSec <= 0 || l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
		t.Fatalf("implausible figures: %g/s, latency %+v", w.AcceptedPerSec, l)
	}
	if w.MeasuredSeconds < 0.9 || w.MeasuredSeconds > 1.5 {
		t.Fatalf("measured %g s, want about 1", w.MeasuredSeconds)
	}
	if rep.Baseline != nil || rep.Ratio != nil || len(rep.Rounds) != 1 {
		t.Fatalf("baseline %v ratio %v rounds %d", rep.Baseline, rep.Ratio, len(rep.Rounds))
	}
	if w.RSS == nil || w.RSS.EndMiB <= 0 || w.RSS.PeakMiB < w.RSS.EndMiB || !strings.Contains(w.RSS.Note, "share the process") {
		t.Fatalf("RSS: %+v", w.RSS)
	}
	if w.CPU == nil || w.CPU.Process <= 0 || w.CPU.Server != 0 {
		t.Fatalf("CPU: %+v", w.CPU)
	}
	if w.Webhook == nil || !strings.HasPrefix(w.Webhook.URL, "http://127.0.0.1:") {
		t.Fatalf("webhook: %+v", w.Webhook)
	}
	if s := rep.Setup; s == nil || s.Skipped != "" || s.Latency != "1ms" {
		t.Fatalf("setup with a per-recipient latency: %+v", s)
	}
	if w.Webhook.Statuses == 0 && w.Webhook.Note != "end-to-end: not measured (server has no webhook configured)" {
		t.Fatalf("no statuses arrived, note = %q", w.Webhook.Note)
	}

	// The JSON report has the documented fields.
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	if err := json.Unmarshal(buf.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"machine.cpus", "machine.go", "settings.mode", "settings.concurrency", "settings.mix", "webhook_url",
		"waba.accepted", "waba.accepted_per_sec", "waba.latency_ms.p50", "waba.latency_ms.p90",
		"waba.latency_ms.p99", "waba.latency_ms.max", "waba.non_2xx", "waba.errors",
		"waba.webhook.statuses_per_sec", "waba.webhook.by_status", "waba.rss.end_mib", "waba.cpu_cores.process",
		"waba.cpu_cores.other", "rounds",
	} {
		if _, ok := lookup(j, path); !ok {
			t.Errorf("JSON report has no %s:\n%s", path, buf.Bytes())
		}
	}
	if v, _ := lookup(j, "settings.mode"); v != "closed" {
		t.Errorf("settings.mode = %v", v)
	}
	if v, _ := lookup(j, "waba.accepted"); v.(float64) != float64(w.Accepted) {
		t.Errorf("waba.accepted = %v, want %d", v, w.Accepted)
	}

	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"closed loop, 4 workers", "accepted/s", "errors: none", "server RSS (/proc/self/status)"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if !regexp.MustCompile(`(?m)^waba +round 1/1  (warm-up|measure) `).Match(progress.Bytes()) {
		t.Errorf("no progress line:\n%s", progress.String())
	}
}

func lookup(m map[string]any, path string) (any, bool) {
	var v any = m
	for key := range strings.SplitSeq(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = o[key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// TestErrorsCountedByCode: every third body lacks "to"; waba answers those 400 with code 1008,
// and the report counts them by status and code.
func TestErrorsCountedByCode(t *testing.T) {
	o := shortRun()
	o.invalidEvery = 3
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	w := rep.Waba
	if len(w.Errors) != 1 {
		t.Fatalf("want one kind of error, got %+v", w.Errors)
	}
	e := w.Errors[0]
	if e.Status != 400 || e.Code != 1008 || e.Title != "Required parameter is missing" || e.Count == 0 {
		t.Fatalf("error: %+v", e)
	}
	if w.Accepted == 0 || w.Accepted+e.Count != w.Sent || w.Non2xx != e.Count {
		t.Fatalf("sent %d, accepted %d, non-2xx %d, 1008 × %d", w.Sent, w.Accepted, w.Non2xx, e.Count)
	}
	// Roughly one in three (the window cuts the sequence anywhere).
	if third := float64(w.Sent) / 3; math.Abs(float64(e.Count)-third) > 2+third*0.05 {
		t.Fatalf("%d errors in %d sends, want about a third", e.Count, w.Sent)
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	if !strings.Contains(table.String(), "HTTP 400, code 1008 Required parameter is missing × ") {
		t.Fatalf("table:\n%s", table.String())
	}
}

var sendOK = regexp.MustCompile(`^\{"messages":\[\{"id":"(gBEG[A-Za-z0-9_-]{22})"\}\],"meta":\{"api_status":"stable","version":"v2\.45\.1"\}\}$`)

// TestBaselineShape: the bare server answers exactly as waba does, so the same client code and
// the same parsing work on both.
func TestBaselineShape(t *testing.T) {
	b, err := StartBaseline("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop(context.Background()) })
	client := newClient(2)

	tok, err := login(context.Background(), client, b.URL(), "admin", "x")
	if err != nil || tok == "" {
		t.Fatalf("login: %q %v", tok, err)
	}
	post := func(body, ct, auth string) (int, string, string) {
		req, _ := http.NewRequest("POST", b.URL()+"/v1/messages", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), string(raw)
	}
	g := &bodyGen{sched: DefaultMix().schedule(), recipients: 10}
	ids := map[string]bool{}
	for n := range int64(10) {
		status, ct, raw := post(string(g.appendBody(nil, n)), "application/json", "Bearer "+tok)
		m := sendOK.FindStringSubmatch(raw)
		if status != 201 || ct != "application/json" || m == nil {
			t.Fatalf("message %d: %d %s %s", n, status, ct, raw)
		}
		if _, inbound, ok := wa.ParseOnPremID(m[1]); !ok || inbound {
			t.Fatalf("id %s is not an outbound On-Prem id", m[1])
		}
		if ids[m[1]] {
			t.Fatalf("id %s given twice", m[1])
		}
		ids[m[1]] = true
		if messageID([]byte(raw)) != m[1] {
			t.Fatalf("messageID(%s) = %q", raw, messageID([]byte(raw)))
		}
	}
	for _, tc := range []struct {
		name, body, ct, auth string
		status               int
		want                 string
	}{
		{"no token", `{"to":"15551230001","text":{"body":"hi"}}`, "application/json", "", 401,
			`{"errors":[{"code":1005,"title":"Access denied"}],"meta":{"api_status":"stable","version":"v2.45.1"}}`},
		{"not JSON", `{"to":`, "application/json", "Bearer x", 400,
			`{"errors":[{"code":1025,"title":"Invalid Request"}],"meta":{"api_status":"stable","version":"v2.45.1"}}`},
		{"wrong content type", `{}`, "text/plain", "Bearer x", 400,
			`{"errors":[{"code":1025,"title":"Invalid Request"}],"meta":{"api_status":"stable","version":"v2.45.1"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, raw := post(tc.body, tc.ct, tc.auth)
			if status != tc.status || raw != tc.want {
				t.Fatalf("got %d %s\nwant %d %s", status, raw, tc.status, tc.want)
			}
		})
	}
}

// TestRunBaselineRounds: two rounds against both targets give medians, a ratio, and every round.
func TestRunBaselineRounds(t *testing.T) {
	o := shortRun()
	o.Duration = 300 * time.Millisecond
	o.Warmup = 100 * time.Millisecond
	o.Baseline = true
	o.Rounds = 2
	o.Rate = 200 // open loop
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rounds) != 2 || rep.Rounds[0].Baseline == nil || rep.Rounds[1].Waba == nil {
		t.Fatalf("rounds: %+v", rep.Rounds)
	}
	for _, x := range []*Result{rep.Baseline, rep.Waba} {
		if x.Sent == 0 || x.Accepted != x.Sent || len(x.Errors) != 0 {
			t.Fatalf("%s: sent %d accepted %d errors %+v", x.Target, x.Sent, x.Accepted, x.Errors)
		}
		if x.Sent != rep.Rounds[0].Waba.Sent+rep.Rounds[1].Waba.Sent && x.Target == "waba" {
			t.Fatalf("waba sent %d is not the sum of its rounds", x.Sent)
		}
	}
	if rep.Ratio == nil || rep.Ratio.Throughput <= 0 || rep.Ratio.P99 <= 0 {
		t.Fatalf("ratio: %+v", rep.Ratio)
	}
	if rep.Settings.Mode != "open" || rep.Settings.Rate != 200 {
		t.Fatalf("settings: %+v", rep.Settings)
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	for _, want := range []string{"open loop at 200 messages/s", "waba/baseline", "round 2 baseline", "medians shown"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// TestReceiver: the receiver answers 200, counts statuses, and matches delivered statuses to
// sends whichever arrives first; duplicates and statuses other than delivered are not measured.
func TestReceiver(t *testing.T) {
	clk := newClock()
	r, err := startReceiver(clk, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.stop(context.Background()) })
	win := window{start: 0, end: time.Hour}
	tr := newTracker(1, 100, win)
	h := r.begin(win, tr)

	hook := func(body string) {
		t.Helper()
		res, err := http.Post(r.URL(), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("receiver answered %d", res.StatusCode)
		}
	}
	st := func(id, status string) string {
		return fmt.Sprintf(`{"id":%q,"status":%q,"timestamp":"1609879800","recipient_id":"15551230001","type":"message"}`, id, status)
	}
	tr.sent("gBEGa", clk.now())
	hook(`{"statuses":[` + st("gBEGa", "sent") + `,` + st("gBEGa", "delivered") + `]}`)
	hook(`{"statuses":[` + st("gBEGb", "delivered") + `]}`) // before its 201
	tr.sent("gBEGb", clk.now())
	hook(`{"statuses":[` + st("gBEGa", "delivered") + `,` + st("gBEGa", "read") + `]}`) // duplicate
	hook(`{"messages":[{"from":"15551230001","id":"ABGG","timestamp":"1","type":"text","text":{"body":"hi"}}]}`)
	hook(`not json`)

	res := h.result(r.URL(), time.Second)
	if res.Posts != 5 || res.Statuses != 5 || res.Messages != 1 || res.Invalid != 1 {
		t.Fatalf("counts: %+v", res)
	}
	if res.ByStatus["sent"] != 1 || res.ByStatus["delivered"] != 3 || res.ByStatus["read"] != 1 {
		t.Fatalf("by status: %v", res.ByStatus)
	}
	if res.EndToEnd == nil || res.E2ESamples != 2 || res.Undelivered != 0 || res.Note != "" {
		t.Fatalf("end to end: %+v %+v", res, res.EndToEnd)
	}
	if got := strings.Join(sortedStatuses(res.ByStatus), ", "); got != "sent 1, delivered 3, read 1" {
		t.Fatalf("sortedStatuses = %q", got)
	}
	if len(tr.early) != 0 || len(tr.pending) != 0 {
		t.Fatalf("tables not emptied: early %v pending %v", tr.early, tr.pending)
	}
}

func TestTrackerBounded(t *testing.T) {
	tr := newTracker(1, 10, window{0, time.Hour})
	for i := range 100 {
		tr.sent(fmt.Sprint("id", i), time.Millisecond)
		tr.delivered(fmt.Sprint("other", i), time.Millisecond)
	}
	if len(tr.pending) != 10 || len(tr.early) != 10 || tr.untracked != 90 {
		t.Fatalf("pending %d early %d untracked %d", len(tr.pending), len(tr.early), tr.untracked)
	}
	// Sampling 1 in k keeps about 1/k of the ids, the same ones on both sides.
	tr = newTracker(8, 1000000, window{0, time.Hour})
	n := 0
	for i := range 80000 {
		if tr.sampled(wa.OnPremID(int64(i+1), false)) {
			n++
		}
	}
	if n < 9000 || n > 11000 {
		t.Fatalf("1 in 8 sampled %d of 80000", n)
	}
}

func TestHistogram(t *testing.T) {
	var h, a, b Histogram
	for i := 1; i <= 100000; i++ {
		d := time.Duration(i) * time.Microsecond // 1 µs … 100 ms, uniform
		h.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := q * 100 * float64(time.Millisecond)
		for _, x := range []*Histogram{&h, &a} {
			if got := float64(x.Quantile(q)); math.Abs(got-want)/want > 0.005 {
				t.Errorf("q%g = %v, want %v ±0.5%%", q, time.Duration(got), time.Duration(want))
			}
		}
	}
	if h.Max() != 100*time.Millisecond || h.Quantile(1) != h.Max() || h.Count() != 100000 || a.Count() != 100000 {
		t.Fatalf("max %v q1 %v count %d/%d", h.Max(), h.Quantile(1), h.Count(), a.Count())
	}
	var small Histogram
	small.Record(3 * time.Nanosecond)
	small.Record(-time.Second)
	small.Record(365 * 24 * time.Hour) // beyond the top bucket: clamped, max exact
	if small.Quantile(0.5) != 3 || small.Max() != 365*24*time.Hour || small.Quantile(1) != small.Max() {
		t.Fatalf("small: q50 %v max %v", small.Quantile(0.5), small.Max())
	}
	for i := range histBuckets {
		low, width := histBucket(i)
		if histIndex(low) != i || histIndex(low+width-1) != i {
			t.Fatalf("bucket %d [%d, %d) does not map back", i, low, low+width)
		}
	}
}

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // String() of the mix, or the error
	}{
		{"default", "text=70,template=10,media=10,interactive=10", "text=70,template=10,media=10,interactive=10"},
		{"spaces and zero", " text = 1 , media=0 ", "text=1,media=0"},
		{"unknown kind", "text=1,video=2", "mix: unknown kind \"video\"; use text, template, media, interactive"},
		{"no weight", "text", "mix \"text\": want kind=weight, e.g. text=70"},
		{"negative", "text=-1", "mix: weight of text must be a whole number from 0 to 1000000, got \"-1\""},
		{"twice", "text=1,text=2", "mix: text is given twice"},
		{"all zero", "text=0", "mix \"text=0\": at least one weight must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMix(tc.in)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = m.String()
			}
			if got != tc.want {
				t.Fatalf("ParseMix(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
	// The schedule spreads kinds: 7/1/1/1 over 10 slots, never two non-text kinds in a row.
	s := DefaultMix().schedule()
	count := map[string]int{}
	for i, k := range s {
		count[k]++
		if k != KindText && s[(i+1)%len(s)] != KindText {
			t.Fatalf("schedule %v puts two non-text kinds together", s)
		}
	}
	if len(s) != 10 || count[KindText] != 7 || count[KindTemplate] != 1 || count[KindMedia] != 1 || count[KindInteractive] != 1 {
		t.Fatalf("schedule %v", s)
	}
}

// TestBodies: every body is valid JSON with the fields its kind needs; invalidEvery drops "to".
func TestBodies(t *testing.T) {
	g := &bodyGen{sched: []string{KindText, KindTemplate, KindMedia, KindInteractive}, recipients: 10000, invalidEvery: 5}
	for n := range int64(10) {
		raw := g.appendBody(nil, n+1230)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("body %d is not JSON: %v\n%s", n, err, raw)
		}
		if n == 4 || n == 9 {
			if _, ok := m["to"]; ok {
				t.Fatalf("body %d should lack to: %s", n, raw)
			}
			continue
		}
		if m["to"] != fmt.Sprintf("1555123%04d", n+1230) {
			t.Fatalf("to = %v", m["to"])
		}
		want := map[string]string{KindText: "text", KindTemplate: "template", KindMedia: "image", KindInteractive: "interactive"}[g.sched[(n+1230)%4]]
		if m["type"] != want || m[want] == nil {
			t.Fatalf("body %d: want type %s: %s", n, want, raw)
		}
	}
}

func TestValidate(t *testing.T) {
	o := Options{URL: "127.0.0.1:9090", DB: "postgres://x", Concurrency: -1, Rate: -1, Recipients: 20000, PID: 1, Latency: "-1ms"}
	err := o.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"url \"127.0.0.1:9090\"", "db: only for the in-process", "password: needed", "concurrency -1", "rate -1", "recipients 20000", "latency \"-1ms\": want 0, a positive duration"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	o = Options{}
	if err := o.Validate(); err != nil || o.Concurrency != 64 || o.Duration != 10*time.Second || o.Warmup != 2*time.Second || o.Recipients != 1000 || o.Latency != "0" {
		t.Fatalf("defaults: %v %+v", err, o)
	}
}

// TestEndToEnd runs against a stand-in server that answers like waba and then POSTs sent and
// delivered statuses to the webhook receiver, some before its 201 is even read, as a real
// server may: the report must match every delivered status to its send.
func TestEndToEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hookAddr := ln.Addr().String()
	ln.Close()

	var next atomic.Int64
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/users/login":
			if u, p, _ := r.BasicAuth(); u != "admin" || p != "Secr3t!pass" {
				w.WriteHeader(401)
				io.WriteString(w, `{"errors":[{"code":1005,"title":"Access denied"}]}`)
				return
			}
			io.WriteString(w, `{"users":[{"token":"tok","expires_after":"2030-01-01 00:00:00+00:00"}],"meta":{"api_status":"stable","version":"v2.45.1"}}`)
		case "/v1/messages":
			if r.Header.Get("Authorization") != "Bearer tok" {
				w.WriteHeader(401)
				return
			}
			io.Copy(io.Discard, r.Body)
			id := wa.OnPremID(next.Add(1), false)
			wg.Add(1)
			go func() { // the statuses race the 201
				defer wg.Done()
				body := `{"statuses":[{"id":"` + id + `","status":"sent"},{"id":"` + id + `","status":"delivered"}]}`
				if res, err := http.Post("http://"+hookAddr+"/", "application/json", strings.NewReader(body)); err == nil {
					res.Body.Close()
				}
			}()
			w.WriteHeader(201)
			io.WriteString(w, `{"messages":[{"id":"`+id+`"}],"meta":{"api_status":"stable","version":"v2.45.1"}}`)
		}
	}))
	defer srv.Close()

	o := shortRun()
	o.URL = srv.URL
	o.NoSetup = true // the stand-in has no settings or sandbox API
	o.Password = "Secr3t!pass"
	o.WebhookAddr = hookAddr
	o.Rate = 300
	rep, err := Run(context.Background(), o)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	w := rep.Waba
	h := w.Webhook
	// 300 due in the window; a loaded machine may leave a few unsent at the end.
	if w.Accepted == 0 || w.Accepted+w.Unsent != 300 || w.Sent != w.Accepted || h == nil || h.EndToEnd == nil {
		t.Fatalf("accepted %d, unsent %d, webhook %+v", w.Accepted, w.Unsent, h)
	}
	if h.E2ESamples != w.Accepted || h.SampleEvery != 1 || h.Undelivered != 0 || h.Untracked != 0 || h.Note != "" {
		t.Fatalf("end to end: %+v", h)
	}
	if h.ByStatus["delivered"] < w.Accepted || h.ByStatus["sent"] != h.ByStatus["delivered"] || h.DeliveredPerSec <= 0 {
		t.Fatalf("statuses: %+v", h)
	}
	e := h.EndToEnd
	if e.P50 <= 0 || e.P50 > e.P99 || e.P99 > e.Max {
		t.Fatalf("end-to-end latency: %+v", e)
	}
	if w.RSS != nil || rep.Settings.Target != srv.URL {
		t.Fatalf("RSS without --pid: %+v; settings %+v", w.RSS, rep.Settings)
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	for _, want := range []string{fmt.Sprintf("end-to-end (send → first delivered webhook, 1 in 1 ids tracked, %d samples)", w.Accepted), "sent ", "server RSS: not measured (give --pid"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}

	// A wrong password is reported with the server's error.
	o.Password = "wrong"
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "1005 Access denied: check --user and --password") {
		t.Fatalf("wrong password: %v", err)
	}
}

// TestPreload stores a history through the real SQLite store and checks what it left: the
// count, finished rows that the dispatcher never claims, and ids that do not collide with the
// ids a running waba makes.
func TestPreload(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "waba.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const n = preloadBatch*2 + 17 // three InsertMessages calls, the last one short
	var progress bytes.Buffer
	if err := preload(ctx, st, "15550000000", n, &progress); err != nil {
		t.Fatal(err)
	}
	if got, err := st.CountMessages(ctx, store.Outbound); err != nil || got != n {
		t.Fatalf("CountMessages = %d, %v; want %d", got, err, n)
	}
	if due, err := st.DueMessages(ctx, 0, time.Now().Add(24*time.Hour), 10); err != nil || len(due) != 0 {
		t.Fatalf("DueMessages = %d rows, %v; want none (preloaded messages are finished)", len(due), err)
	}
	list, err := st.ListMessages(ctx, "15552000005", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Status != store.StatusRead || list[0].Type != "text" || list[0].Business != "15550000000" {
		t.Fatalf("peer 15552000005: %+v", list)
	}
	if live := wa.NewIDs(0xff).Next(); list[0].ID >= live {
		t.Fatalf("preloaded id %d is not older than a live id %d", list[0].ID, live)
	}
	if !strings.Contains(progress.String(), fmt.Sprintf("preload  %d of %d messages stored", n, n)) {
		t.Fatalf("progress: %q", progress.String())
	}
	// A second preload adds to the history: its ids are fresh, not a repeat of the first's.
	if err := preload(ctx, st, "15550000000", 10, nil); err != nil {
		t.Fatalf("second preload: %v", err)
	}
	if got, err := st.CountMessages(ctx, store.Outbound); err != nil || got != n+10 {
		t.Fatalf("after the second preload CountMessages = %d, %v; want %d", got, err, n+10)
	}
}
