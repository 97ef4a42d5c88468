package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openwaba/waba/internal/store"
)

// clock gives every time in a run as a monotonic offset from one origin, so the load workers,
// the webhook receiver and the report agree on windows without comparing wall clocks.
type clock struct{ t0 time.Time }

func newClock() *clock { return &clock{t0: time.Now()} }

func (c *clock) now() time.Duration { return time.Since(c.t0) }

// target is one server under load: waba or the bare baseline.
type target struct {
	name  string // "waba" or "baseline"
	base  string // http://host:port
	token string
	auth  []string // ["Bearer <token>"], shared read-only by every request
}

var jsonContentType = []string{"application/json"}

// newClient returns the one http.Client of a run: keep-alive connections to few hosts, as many
// idle connections per host as there are workers, so no request pays for a new connection.
func newClient(concurrency int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          4*concurrency + 16,
			MaxIdleConnsPerHost:   concurrency,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			DisableCompression:    true,
			ForceAttemptHTTP2:     false,
			WriteBufferSize:       16 << 10,
			ReadBufferSize:        16 << 10,
		},
	}
}

// ErrorCount is how many measured requests ended with one HTTP status and error code. Status 0
// means no HTTP answer (a transport error); code 0 means the body had no error code.
type ErrorCount struct {
	Status int    `json:"status"`
	Code   int    `json:"code"`
	Title  string `json:"title,omitempty"`
	Count  int64  `json:"count"`
}

type errKey struct{ status, code int }

// workerStats is one worker's share of a round; merged when the round ends.
type workerStats struct {
	sent, accepted int64
	hist           Histogram
	errs           map[errKey]int64
	titles         map[errKey]string
	lastTransport  string
}

func (w *workerStats) fail(status, code int, title string) {
	k := errKey{status, code}
	w.errs[k]++
	if _, ok := w.titles[k]; !ok && title != "" {
		w.titles[k] = title
	}
}

// round is one timed load against one target.
type round struct {
	opt    *Options
	clk    *clock
	client *http.Client
	tgt    *target
	gen    *bodyGen
	track  *tracker // nil against the baseline
	url    string

	runStart time.Duration
	win      window
	pid      int       // the server's process, for CPU use (0: none)
	cpu0     cpuSample // at the start of the window

	seq      atomic.Int64 // next message number
	started  atomic.Int64 // open loop: sends started with a schedule inside the window
	done     atomic.Int64 // every answer (progress)
	failed   atomic.Int64 // every non-201 answer or transport error (progress)
	inflight atomic.Int64
}

// errorEnvelope is the On-Prem error shape (shared/reference/onprem-api.md §3.1):
//
//	{"errors":[{"code":1008,"title":"Required parameter is missing","details":"…"}],"meta":{…}}
type errorEnvelope struct {
	Errors []struct {
		Code  int    `json:"code"`
		Title string `json:"title"`
	} `json:"errors"`
}

var idKey = []byte(`"id":"`)

// messageID finds the first "id" of a 201 body {"messages":[{"id":"gBEG…"}],"meta":…} without a
// full decode: the load generator shares the CPU with the server and must stay cheap.
func messageID(body []byte) string {
	i := bytes.Index(body, idKey)
	if i < 0 {
		return ""
	}
	rest := body[i+len(idKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// worker sends until the round ends. Closed loop: the next request leaves as soon as the last
// answer arrives, and latency is measured from the moment it was sent. Open loop: message n is
// due at runStart + n/rate whether or not earlier answers have come back, and latency is measured
// from that due time, so a server that falls behind shows it in the latency (no coordinated
// omission) instead of quietly slowing the load down.
func (r *round) worker(ctx context.Context, st *workerStats) {
	var (
		body []byte
		resp bytes.Buffer
	)
	open := r.opt.Rate > 0
	var interval float64
	if open {
		interval = float64(time.Second) / r.opt.Rate
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	post := r.post
	if lc, err := newLoadConn(r.url, [][2]string{{"Content-Type", jsonContentType[0]}, {"Authorization", r.tgt.auth[0]}}, r.client.Timeout); err == nil {
		defer lc.close()
		post = lc.post
	}
	for ctx.Err() == nil {
		var start time.Duration
		var n int64
		if open {
			n = r.seq.Add(1) - 1
			start = r.runStart + time.Duration(float64(n)*interval)
			if start >= r.win.end {
				return
			}
			if wait := start - r.clk.now(); wait > 0 {
				timer.Reset(wait)
				select {
				case <-ctx.Done():
					timer.Stop()
					return
				case <-timer.C:
				}
			}
			if r.clk.now() >= r.win.end {
				return // behind schedule at the end: counted as unsent
			}
			if start >= r.win.start {
				r.started.Add(1)
			}
		} else {
			if r.clk.now() >= r.win.end {
				return
			}
			n = r.seq.Add(1) - 1
		}
		body = r.gen.appendBody(body[:0], n)
		if !open {
			start = r.clk.now()
		}
		r.inflight.Add(1)
		status, err := post(body, &resp)
		r.inflight.Add(-1)
		end := r.clk.now()
		r.done.Add(1)
		measured := start >= r.win.start
		if err != nil {
			r.failed.Add(1)
			if measured {
				st.sent++
				st.fail(0, 0, "")
				st.lastTransport = err.Error()
			}
			continue
		}
		if status != http.StatusCreated {
			r.failed.Add(1)
		}
		if !measured {
			if status == http.StatusCreated && r.track != nil {
				if id := messageID(resp.Bytes()); id != "" {
					r.track.sent(id, start) // keeps warm-up deliveries out of the early table
				}
			}
			continue
		}
		st.sent++
		if status == http.StatusCreated {
			st.accepted++
			st.hist.Record(end - start)
			if r.track != nil {
				if id := messageID(resp.Bytes()); id != "" {
					r.track.sent(id, start)
				}
			}
			continue
		}
		var env errorEnvelope
		code, title := 0, ""
		if json.Unmarshal(resp.Bytes(), &env) == nil && len(env.Errors) > 0 {
			code, title = env.Errors[0].Code, env.Errors[0].Title
		}
		st.fail(status, code, title)
	}
}

// post sends one request through net/http: the load on https:// targets (plain ones use a
// loadConn each).
func (r *round) post(body []byte, resp *bytes.Buffer) (int, error) {
	req, err := http.NewRequest(http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = http.Header{"Content-Type": jsonContentType, "Authorization": r.tgt.auth}
	res, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Reset()
	_, err = resp.ReadFrom(res.Body)
	res.Body.Close()
	if err != nil {
		return 0, fmt.Errorf("read the answer: %w", err)
	}
	return res.StatusCode, nil
}

// Result is the outcome of one target's load: one round, or the median of several.
type Result struct {
	Target string `json:"target"`
	URL    string `json:"url"`
	// MeasuredSeconds is the length of the measured window (the warm-up excluded).
	MeasuredSeconds float64 `json:"measured_seconds"`
	// Sent counts requests whose send (or, in an open loop, due) time fell in the window and
	// that got an answer or a transport error; Accepted those answered 201.
	Sent     int64 `json:"sent"`
	Accepted int64 `json:"accepted"`
	// AcceptedPerSec is Accepted over the window.
	AcceptedPerSec float64 `json:"accepted_per_sec"`
	// Latency is of the accept call (201 answers only), from send — or, in an open loop, from
	// the due time — to the end of the answer.
	Latency Latency `json:"latency_ms"`
	// Non2xx counts HTTP answers outside 200–299; TransportErrors requests with no HTTP answer.
	Non2xx          int64        `json:"non_2xx"`
	TransportErrors int64        `json:"transport_errors"`
	LastTransport   string       `json:"last_transport_error,omitempty"`
	Errors          []ErrorCount `json:"errors"`
	// Unsent (open loop) counts sends due in the window that had not started when it ended:
	// the server (or the load generator) could not keep up with the rate.
	Unsent int64 `json:"unsent"`
	// Webhook is what the built-in receiver saw (waba only).
	Webhook *WebhookResult `json:"webhook,omitempty"`
	// CPU is how busy the machine was during the window (nil where /proc cannot be read).
	CPU *CPUUse `json:"cpu_cores,omitempty"`
	// RSS is the server's resident memory at the end of the round and its peak during the
	// round, sampled every second (waba only, when it can be read).
	RSS *RSS `json:"rss,omitempty"`
	// Writer is what the in-process store's single writer did in the window (SQLite only).
	Writer *WriterUse `json:"store_writer,omitempty"`
}

// WriterUse is the single store writer over the measured window: transactions per second,
// callers' writes per transaction, the fraction of the window it was busy (near 1: writes
// queue behind it), and the mean time per transaction spent running the writes and committing.
type WriterUse struct {
	TransactionsPerSecond float64 `json:"transactions_per_second"`
	JobsPerTransaction    float64 `json:"jobs_per_transaction"`
	Busy                  float64 `json:"busy"`
	RunMs                 float64 `json:"run_ms"`
	CommitMs              float64 `json:"commit_ms"`
	// SyncsPerSecond and SyncMs are the WAL fsyncs that made the commits durable (off the
	// writer goroutine, so not part of Busy) and their mean time.
	SyncsPerSecond float64 `json:"syncs_per_second"`
	SyncMs         float64 `json:"sync_ms"`
}

// writerUse is WriterUse between two readings taken window apart.
func writerUse(a, b store.WriterStats, window time.Duration) *WriterUse {
	tx := b.Transactions - a.Transactions
	if tx <= 0 || window <= 0 {
		return nil
	}
	busy, commit := b.Busy-a.Busy, b.Commit-a.Commit
	return &WriterUse{
		TransactionsPerSecond: round2(float64(tx) / window.Seconds()),
		JobsPerTransaction:    round2(float64(b.Jobs-a.Jobs) / float64(tx)),
		Busy:                  round2(busy.Seconds() / window.Seconds()),
		RunMs:                 round3(float64(busy-commit) / float64(tx) / 1e6),
		CommitMs:              round3(float64(commit) / float64(tx) / 1e6),
		SyncsPerSecond:        round2(float64(b.Syncs-a.Syncs) / window.Seconds()),
		SyncMs:                round3(perCall(b.Sync-a.Sync, b.Syncs-a.Syncs)),
	}
}

// perCall is total/n in milliseconds, 0 when n is 0.
func perCall(total time.Duration, n int64) float64 {
	if n <= 0 {
		return 0
	}
	return float64(total) / float64(n) / 1e6
}

// RSS is resident memory in MiB, with where it was read and what it includes.
type RSS struct {
	EndMiB  float64 `json:"end_mib"`
	PeakMiB float64 `json:"peak_mib"`
	Source  string  `json:"source"`
	Note    string  `json:"note,omitempty"`
}

// run drives one round: warm-up, then the measured window, then it waits for the answers in
// flight. progress is called about once a second.
func (r *round) run(ctx context.Context, onMeasure func(), progress func(phase string)) *Result {
	conc := r.opt.Concurrency
	stats := make([]*workerStats, conc)
	var wg sync.WaitGroup
	labels := pprof.Labels("bench", "loadgen", "target", r.tgt.name)
	for i := range conc {
		st := &workerStats{errs: map[errKey]int64{}, titles: map[errKey]string{}}
		stats[i] = st
		wg.Add(1)
		go pprof.Do(ctx, labels, func(ctx context.Context) {
			defer wg.Done()
			r.worker(ctx, st)
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	measuring := false
	var measureTimer <-chan time.Time
	if d := r.win.start - r.clk.now(); d > 0 {
		measureTimer = time.After(d)
	} else {
		measuring = true
		r.cpu0 = readCPU(r.pid)
		if onMeasure != nil {
			onMeasure()
		}
	}
loop:
	for {
		select {
		case <-finished:
			break loop
		case <-measureTimer:
			measuring = true
			r.cpu0 = readCPU(r.pid)
			if onMeasure != nil {
				onMeasure()
			}
		case <-tick.C:
			if progress != nil {
				if measuring {
					progress("measure")
				} else {
					progress("warm-up")
				}
			}
		}
	}
	end := r.win.end // an open loop's last send may leave a little before the end
	if ctx.Err() != nil {
		end = min(r.clk.now(), r.win.end)
	}
	measured := max(end-r.win.start, 0)

	res := &Result{Target: r.tgt.name, URL: r.tgt.base, MeasuredSeconds: round3(measured.Seconds())}
	if measuring {
		res.CPU = cpuUse(r.cpu0, readCPU(r.pid), runtime.NumCPU())
	}
	var hist Histogram
	errs := map[errKey]int64{}
	titles := map[errKey]string{}
	for _, st := range stats {
		res.Sent += st.sent
		res.Accepted += st.accepted
		hist.Merge(&st.hist)
		for k, v := range st.errs {
			errs[k] += v
		}
		for k, v := range st.titles {
			titles[k] = v
		}
		if st.lastTransport != "" {
			res.LastTransport = st.lastTransport
		}
	}
	if s := measured.Seconds(); s > 0 {
		res.AcceptedPerSec = round1(float64(res.Accepted) / s)
	}
	res.Latency = hist.Summary()
	res.Errors = errorList(errs, titles)
	for _, e := range res.Errors {
		if e.Status == 0 {
			res.TransportErrors += e.Count
		} else if e.Status < 200 || e.Status > 299 {
			res.Non2xx += e.Count
		}
	}
	if r.opt.Rate > 0 {
		due := int64(float64(measured) / (float64(time.Second) / r.opt.Rate))
		res.Unsent = max(due-r.started.Load(), 0)
	}
	return res
}

func errorList(errs map[errKey]int64, titles map[errKey]string) []ErrorCount {
	out := make([]ErrorCount, 0, len(errs))
	for k, v := range errs {
		out = append(out, ErrorCount{Status: k.status, Code: k.code, Title: titles[k], Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		if out[i].Status != out[j].Status {
			return out[i].Status < out[j].Status
		}
		return out[i].Code < out[j].Code
	})
	return out
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// login gets a bearer token: POST /v1/users/login with Basic credentials
// (shared/reference/onprem-api.md §2.4) answers {"users":[{"token":…,"expires_after":…}],"meta":…}.
func login(ctx context.Context, client *http.Client, base, user, password string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/users/login", nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(user, password)
	res, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("log in to %s: %w", base, err)
	}
	defer res.Body.Close()
	var body struct {
		Users []struct {
			Token string `json:"token"`
		} `json:"users"`
		errorEnvelope
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, res.Body, 1<<20))
	derr := dec.Decode(&body)
	if res.StatusCode == http.StatusOK && derr == nil && len(body.Users) > 0 && body.Users[0].Token != "" {
		return body.Users[0].Token, nil
	}
	if len(body.Errors) > 0 {
		e := body.Errors[0]
		hint := ""
		switch e.Code {
		case 1024:
			hint = ": the admin password must be changed first; log in once with new_password, or start waba with WABA_ADMIN_PASSWORD"
		case 1005:
			hint = ": check --user and --password (or WABA_ADMIN_PASSWORD)"
		}
		return "", fmt.Errorf("log in to %s as %s: %s %d %s%s", base, user, res.Status, e.Code, e.Title, hint)
	}
	if derr != nil {
		return "", fmt.Errorf("log in to %s as %s: %s, body is not the login answer: %v", base, user, res.Status, derr)
	}
	return "", errors.New("log in to " + base + ": " + res.Status + " without a token")
}
